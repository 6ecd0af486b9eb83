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
 * applies it to OpenBLAS. Returns the count in effect. */
int  pt_threads_set       (int n_threads);

/* The compute thread count in effect (at least 1). */
int  pt_threads_get       (void);

/* Number of online processors, at least 1. */
int  pt_threads_n_online  (void);

G_END_DECLS
