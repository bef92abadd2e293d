#include "mt_shims.h"
#include <sys/timex.h>

int mt_clock_synchronised(long *max_error_us) {
    struct timex t = {0};  /* modes 0: read, change nothing */
    int state = adjtimex(&t);
    if (state < 0) return -1;
    *max_error_us = t.maxerror;
    return (state == TIME_ERROR || (t.status & STA_UNSYNC)) ? 0 : 1;
}
