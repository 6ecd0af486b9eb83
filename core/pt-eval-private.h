/* pt-eval-private.h: plumbing shared by the evaluation modules (not API).
 *
 * Debian's libopenblas carries LAPACK but bookworm ships no lapacke.h, so
 * the Fortran entry points we call are declared here by hand. Fortran
 * passes everything by reference and matrices are column-major.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void ssyevd_ (const char *jobz, const char *uplo, const int *n, float *a,
              const int *lda, float *w, float *work, const int *lwork,
              int *iwork, const int *liwork, int *info);
void sgesdd_ (const char *jobz, const int *m, const int *n, float *a,
              const int *lda, float *s, float *u, const int *ldu, float *vt,
              const int *ldvt, float *work, const int *lwork, int *iwork,
              int *info);

/* Runs func (begin, end, data) over [0, n) split into n_threads contiguous
 * chunks, one GThread each (the calling thread takes the first chunk).
 * Never call BLAS from func: OpenBLAS is not safe to enter concurrently. */
typedef void (*PtParallelFunc) (int begin, int end, gpointer data);
void _pt_parallel_for (int n, int n_threads, PtParallelFunc func, gpointer data);

/* For each of `rows` rows of scores (row r starts at scores + r * ld, has
 * `cols` entries), the k largest entries in decreasing order: column
 * indices into idx[r * k ..] and values into val[r * k ..]. Entries whose
 * column equals skip[r] (when skip is not NULL) are ignored. If cols
 * (minus the skipped one) is less than k, the tail is idx -1, val -INF.
 * Threads over rows with pt_threads_get (). */
void _pt_topk_rows (int *idx, float *val, const float *scores, int rows,
                    int cols, int ld, int k, const int *skip);

/* L2-normalizes each row of x (n x d) into out (may equal x); zero rows
 * stay zero. */
void _pt_l2_normalize_rows (float *out, const float *x, int n, int d);

/* Eigen-decomposition of a symmetric d x d matrix (row-major, either
 * triangle filled): eigenvalues in decreasing order into w (d), the unit
 * eigenvectors as ROWS of vecs (d x d) in the same order, each with its
 * largest-magnitude entry made positive. vecs may be NULL. Returns FALSE
 * when LAPACK fails. */
gboolean _pt_symmetric_eigen (float *w, float *vecs, const float *a, int d);

G_END_DECLS
