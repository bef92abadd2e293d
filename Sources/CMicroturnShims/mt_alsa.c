#include "mt_shims.h"

#include <alsa/asoundlib.h>
#include <stdarg.h>
#include <stdio.h>

static __thread char mt_last_error[512];

/* alsa-lib calls this with printf-style arguments; keep the formatted text. */
static void mt_alsa_error_handler(const char *file, int line, const char *function, int err,
                                  const char *fmt, ...) {
    (void)file; (void)line; (void)err;
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(mt_last_error, sizeof mt_last_error, "%s: ", function ? function : "alsa");
    if (n < 0 || (size_t)n >= sizeof mt_last_error) n = 0;
    vsnprintf(mt_last_error + n, sizeof mt_last_error - (size_t)n, fmt, ap);
    va_end(ap);
}

void mt_alsa_capture_errors(void) {
    snd_lib_error_set_handler(mt_alsa_error_handler);
}

const char *mt_alsa_take_last_error(void) {
    static __thread char copy[512];
    snprintf(copy, sizeof copy, "%s", mt_last_error);
    mt_last_error[0] = 0;
    return copy;
}
