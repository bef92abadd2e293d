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

#endif
