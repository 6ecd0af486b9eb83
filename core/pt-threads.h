/* pt-threads.h: the process-wide compute thread setting.
 *
 * One number governs OpenBLAS and Pretext's own parallel loops. It is set
 * once at start-up (--threads, or the preference in the app) and may be
 * changed between runs, never while a BLAS call is in flight.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Largest thread count accepted; more than this on a laptop only adds noise. */
#define PT_THREADS_MAX 64

/* Sets the compute thread count (0 means "all online processors") and
 * applies it to OpenBLAS. Returns the count in effect.
 *
 * By default OpenBLAS itself is kept at one thread and pt_sgemm()
 * (pt-parallel.h) splits each product over Pretext's own pool: OpenBLAS's
 * idle workers spin on sched_yield between calls, which on a 2-core machine
 * steals the core our parallel loops need (measured: 20% of the step).
 * PT_BLAS_THREADS=openblas in the environment restores OpenBLAS threading
 * (then pt_sgemm does not split). */
int  pt_threads_set       (int n_threads);

/* TRUE unless PT_BLAS_THREADS=openblas: see pt_threads_set(). */
gboolean pt_threads_blas_uses_pool (void);

/* The compute thread count in effect (at least 1). */
int  pt_threads_get       (void);

/* Number of online processors, at least 1. */
int  pt_threads_n_online  (void);

G_END_DECLS
