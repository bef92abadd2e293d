// Dense linear algebra for fitting (MoEfication's routers and clusters): small, in double where
// sums run long, and in C so the loops vectorize in every build (the Swift tests run unoptimized).
#include "mt_kernels.h"
#include <math.h>

void mt_gram_add(const float *x, int rows, int n, double *g) {
    for (int r = 0; r < rows; r++) {
        const float *v = x + (size_t)r * n;
        for (int i = 0; i < n; i++) {
            double vi = v[i];
            if (vi == 0) continue;
            double *gi = g + (size_t)i * n;
            for (int k = i; k < n; k++) gi[k] += vi * v[k];
        }
    }
}

void mt_cross_add(const float *x, int rows, int n, const float *y, int m, double *out) {
    for (int r = 0; r < rows; r++) {
        const float *v = x + (size_t)r * n, *t = y + (size_t)r * m;
        for (int e = 0; e < m; e++) {
            double te = t[e];
            double *o = out + (size_t)e * n;
            for (int i = 0; i < n; i++) o[i] += te * v[i];
        }
    }
}

int mt_cholesky_solve(double *a, int n, double *b, int m) {
    // a = L L^T in place (lower triangle; the upper is what mt_gram_add filled, mirrored first).
    for (int i = 0; i < n; i++)
        for (int k = i + 1; k < n; k++) a[(size_t)k * n + i] = a[(size_t)i * n + k];
    for (int j = 0; j < n; j++) {
        double *aj = a + (size_t)j * n;
        double d = aj[j];
        for (int k = 0; k < j; k++) d -= aj[k] * aj[k];
        if (!(d > 0)) return -1;
        d = sqrt(d);
        aj[j] = d;
        for (int i = j + 1; i < n; i++) {
            double *ai = a + (size_t)i * n;
            double s = ai[j];
            for (int k = 0; k < j; k++) s -= ai[k] * aj[k];
            ai[j] = s / d;
        }
    }
    for (int c = 0; c < m; c++) {
        double *y = b + (size_t)c * n;
        for (int i = 0; i < n; i++) {  // L y = b
            const double *ai = a + (size_t)i * n;
            double s = y[i];
            for (int k = 0; k < i; k++) s -= ai[k] * y[k];
            y[i] = s / ai[i];
        }
        for (int i = n - 1; i >= 0; i--) {  // L^T x = y
            double s = y[i];
            for (int k = i + 1; k < n; k++) s -= a[(size_t)k * n + i] * y[k];
            y[i] = s / a[(size_t)i * n + i];
        }
    }
    return 0;
}
