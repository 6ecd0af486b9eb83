/* pt-parallel.h: Pretext's own parallel loops, and the one way to call sgemm.
 *
 * pt_parallel_for() splits [0, n) into pt_threads_get() contiguous ranges and
 * runs them on a small persistent pool of GLib threads (the caller runs the
 * first range). Calls are serialized process-wide; a call made from inside
 * fn (on any thread of the call) runs inline. No OpenMP. fn must not call
 * pt_sgemm() (which itself uses the pool).
 *
 * pt_sgemm() is the only entry to cblas_sgemm in the engine: it holds a
 * process-wide mutex, because concurrent multi-threaded sgemm calls from two
 * threads give wrong results in some OpenBLAS builds. Inside, a large product
 * is split into pt_threads_get() row (or column) blocks, each computed by a
 * single-threaded cblas_sgemm on the pool (OpenBLAS is kept at one thread,
 * see pt-threads.h); tests/core/test-parallel.c checks these concurrent
 * single-threaded calls against a double-precision reference.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Runs fn (begin, end, data) over disjoint ranges covering [0, n). */
typedef void (*PtParallelFunc) (gsize    begin,
                                gsize    end,
                                gpointer data);

void  pt_parallel_for      (gsize           n,
                            PtParallelFunc  fn,
                            gpointer        data);

/* Row-major C = alpha * op(A) @ op(B) + beta * C, op(A) M x K, op(B) K x N. */
void  pt_sgemm             (gboolean     trans_a,
                            gboolean     trans_b,
                            int          m,
                            int          n,
                            int          k,
                            float        alpha,
                            const float *a,
                            int          lda,
                            const float *b,
                            int          ldb,
                            float        beta,
                            float       *c,
                            int          ldc);

/* pt_parallel_for() holding the BLAS lock, for work that partitions itself
 * (e.g. a convolution over batch slices, one sync per call instead of one
 * per product): fn may call pt_sgemm_serial() and must not call pt_sgemm().
 * With OpenBLAS threading (PT_BLAS_THREADS=openblas) fn runs on the caller
 * alone, over the whole of [0, n). */
void  pt_parallel_for_blas (gsize           n,
                            PtParallelFunc  fn,
                            gpointer        data);

/* Single-threaded cblas_sgemm, only from inside pt_parallel_for_blas(). */
void  pt_sgemm_serial      (gboolean     trans_a,
                            gboolean     trans_b,
                            int          m,
                            int          n,
                            int          k,
                            float        alpha,
                            const float *a,
                            int          lda,
                            const float *b,
                            int          ldb,
                            float        beta,
                            float       *c,
                            int          ldc);

G_END_DECLS
