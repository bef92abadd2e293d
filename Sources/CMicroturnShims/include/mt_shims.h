#ifndef MT_SHIMS_H
#define MT_SHIMS_H

/* Why this target exists: alsa-lib's error handler type is variadic
 * (snd_lib_error_handler_t takes "..."), which Swift cannot implement or pass.
 * These wrappers install a C handler that keeps alsa-lib's own diagnostic
 * text for Microturn's errors instead of printing it to stderr. */

/* Route alsa-lib's error messages into a per-thread buffer (instead of stderr). */
void mt_alsa_capture_errors(void);

/* The last alsa-lib message seen on this thread ("" when none), then clears it. */
const char *mt_alsa_take_last_error(void);

/* Why these exist: opus_encoder_ctl and opus_decoder_ctl are variadic and their requests
 * (OPUS_SET_BITRATE, ...) are macros, neither of which Swift can call. Each returns libopus's
 * status (OPUS_OK is 0). The encoder and decoder are passed as void * so that this header needs
 * no opus include of its own. */
int mt_opus_set_bitrate(void *encoder, int bits_per_second);
int mt_opus_set_vbr(void *encoder, int on);
int mt_opus_set_inband_fec(void *encoder, int on);
int mt_opus_set_packet_loss_perc(void *encoder, int percent);
int mt_opus_set_complexity(void *encoder, int complexity);
int mt_opus_set_signal_voice(void *encoder);
int mt_opus_get_lookahead(void *encoder, int *samples);

/* The kernel's clock discipline (adjtimex, read only): 1 synchronised, 0 not, -1 not allowed.
   max_error_us gets the kernel's estimate of the clock's error. */
int mt_clock_synchronised(long *max_error_us);

#endif
