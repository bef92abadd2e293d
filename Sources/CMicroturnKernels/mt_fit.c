// Dense linear algebra for fitting (MoEfication's routers and clusters): small, in double where
// sums run long, and in C so the loops vectorize in every build (the Swift tests run unoptimized).
#include "mt_kernels.h"
#include <math.h>

void mt_gram_add(const float *x, int rows, int n, double *g) {
    // Rows are taken 16 at a time, summed in float and added to g in double: g's rows (n doubles
    // each) are read and written once a block instead of once a row, which for n in the
    // thousands is what the time went to, and the float loop runs twice as wide.
    enum { BLOCK = 16 };
    float acc[n];  // n floats: a hidden width, tens of KB at most
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
        int rn = rows - r0 < BLOCK ? rows - r0 : BLOCK;
        for (int i = 0; i < n; i++) {
            int any = 0;
            for (int k = i; k < n; k++) acc[k] = 0;
            for (int r = 0; r < rn; r++) {
                const float *v = x + (size_t)(r0 + r) * n;
                float vi = v[i];
                if (vi == 0) continue;
                any = 1;
                for (int k = i; k < n; k++) acc[k] += vi * v[k];
            }
            if (!any) continue;
            double *gi = g + (size_t)i * n;
            for (int k = i; k < n; k++) gi[k] += acc[k];
        }
    }
}

void mt_cross_add(const float *x, int rows, int n, const float *y, int m, double *out) {
    // Blocks of rows, as mt_gram_add, for the same reason (out is m x n doubles).
    enum { BLOCK = 16 };
    float acc[n];
    for (int r0 = 0; r0 < rows; r0 += BLOCK) {
        int rn = rows - r0 < BLOCK ? rows - r0 : BLOCK;
        for (int e = 0; e < m; e++) {
            for (int i = 0; i < n; i++) acc[i] = 0;
            for (int r = 0; r < rn; r++) {
                const float *v = x + (size_t)(r0 + r) * n;
                float te = y[(size_t)(r0 + r) * m + e];
                for (int i = 0; i < n; i++) acc[i] += te * v[i];
            }
            double *o = out + (size_t)e * n;
            for (int i = 0; i < n; i++) o[i] += acc[i];
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
