#include <opus/opus.h>
#include "mt_shims.h"

int mt_opus_set_bitrate(void *encoder, int bits_per_second) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_BITRATE(bits_per_second));
}

int mt_opus_set_vbr(void *encoder, int on) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_VBR(on));
}

int mt_opus_set_inband_fec(void *encoder, int on) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_INBAND_FEC(on));
}

int mt_opus_set_packet_loss_perc(void *encoder, int percent) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_PACKET_LOSS_PERC(percent));
}

int mt_opus_set_complexity(void *encoder, int complexity) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_COMPLEXITY(complexity));
}

int mt_opus_set_signal_voice(void *encoder) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
}

int mt_opus_get_lookahead(void *encoder, int *samples) {
    return opus_encoder_ctl((OpusEncoder *)encoder, OPUS_GET_LOOKAHEAD(samples));
}
