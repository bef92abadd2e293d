// Dense linear algebra for fitting (MoEfication's routers and clusters): small, in double where
// sums run long, and in C so the loops vectorize in every build (the Swift tests run unoptimized).
#include "mt_kernels.h"
#include <math.h>
#include <stdlib.h>

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

// a = L L^T in place (lower triangle; the upper is what mt_gram_add filled, mirrored first);
// 0, or -1 when a is not positive definite.
static int cholesky(double *a, int n) {
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
    return 0;
}

int mt_cholesky_solve(double *a, int n, double *b, int m) {
    if (cholesky(a, n) != 0) return -1;
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

// Solves L L^T x = y in place for the factor l of cholesky(), reading l by rows only (the
// backward pass as row updates rather than column sums); y's first `zeros` values are 0.
static void solve_rows(const double *l, int n, double *y, int zeros) {
    for (int i = zeros; i < n; i++) {  // L z = y
        const double *li = l + (size_t)i * n;
        double s = y[i];
        for (int k = zeros; k < i; k++) s -= li[k] * y[k];
        y[i] = s / li[i];
    }
    for (int i = n - 1; i >= 0; i--) {  // L^T x = z
        const double *li = l + (size_t)i * n;
        double xi = y[i] / li[i];
        y[i] = xi;
        for (int k = 0; k < i; k++) y[k] -= li[k] * xi;
    }
}

int mt_eliminate(double *gram, const double *cross, int n, int m, int keep, unsigned char *alive) {
    // Backward elimination of least-squares columns (the Optimal Brain Surgeon step, for whole
    // columns): dropping column i and refitting the rest raises the squared error by
    // |w_i|^2 / h_ii, where w_i is column i's row of the current solution and h = gram^-1; after
    // the drop, w -= h[:, i] w_i / h_ii and h -= h[:, i] h[i, :] / h_ii, so each step costs
    // n (n + m) instead of a new solve.
    if (cholesky(gram, n) != 0) return -1;
    double *h = calloc((size_t)n * n, sizeof(double)), *wt = malloc(sizeof(double) * (size_t)m * n);
    double *cost = malloc(sizeof(double) * (size_t)n);
    if (!h || !wt || !cost) { free(h); free(wt); free(cost); return -1; }
    for (int i = 0; i < n; i++) { h[(size_t)i * n + i] = 1; solve_rows(gram, n, h + (size_t)i * n, i); }
    for (int o = 0; o < m; o++) {
        for (int i = 0; i < n; i++) wt[(size_t)o * n + i] = cross[(size_t)o * n + i];
        solve_rows(gram, n, wt + (size_t)o * n, 0);
    }
    int live = 0;
    for (int i = 0; i < n; i++) live += alive[i] != 0;
    while (live > keep) {
        for (int i = 0; i < n; i++) cost[i] = 0;
        for (int o = 0; o < m; o++) {
            const double *w = wt + (size_t)o * n;
            for (int i = 0; i < n; i++) cost[i] += w[i] * w[i];
        }
        int drop = -1;
        double best = INFINITY;
        for (int i = 0; i < n; i++) {
            if (!alive[i]) continue;
            double c = cost[i] / h[(size_t)i * n + i];
            if (drop < 0 || c < best) { best = c; drop = i; }
        }
        const double *hd = h + (size_t)drop * n;  // row = column (h is symmetric)
        double hdd = hd[drop];
        if (!(hdd > 0)) { free(h); free(wt); free(cost); return -1; }
        for (int o = 0; o < m; o++) {
            double *w = wt + (size_t)o * n;
            double f = w[drop] / hdd;
            for (int j = 0; j < n; j++) w[j] -= hd[j] * f;
        }
        double col[n];  // h[:, drop] before the update changes it
        for (int j = 0; j < n; j++) col[j] = hd[j];
        for (int i = 0; i < n; i++) {
            double f = col[i] / hdd;
            if (f == 0) continue;
            double *hi = h + (size_t)i * n;
            for (int j = 0; j < n; j++) hi[j] -= col[j] * f;
        }
        alive[drop] = 0;
        live--;
    }
    free(h); free(wt); free(cost);
    return 0;
}
