/* pt-threads.c: the process-wide compute thread setting. */
#include "pt-threads.h"

#include <cblas.h>

static int pt_n_threads = 1;

/* OpenBLAS starts with one thread per core. A process that computes without
 * ever calling pt_threads_set() (a test, a tool) would then run OpenBLAS's
 * own thread server while Pretext's pool calls sgemm from several threads,
 * and OpenBLAS 0.3.21 does not survive that together with its fork handler:
 * any fork (GLib spawning dbus-launch, say) shuts its server down from the
 * forking thread, the next threaded call restarts it from whichever thread
 * comes first, and the process can then hang in OpenBLAS's exit handler or
 * crash in it (seen in test-pretrain-page, in CI and here). So OpenBLAS
 * agrees with pt_threads_get() from the moment the program is loaded: one
 * thread, until pt_threads_set() says otherwise. Shared libraries' own
 * constructors run first, so OpenBLAS is initialized by now. */
__attribute__ ((constructor)) static void
pt_threads_init_blas (void)
{
  openblas_set_num_threads (1);
}

int
pt_threads_n_online (void)
{
  return MAX (1, (int) g_get_num_processors ());
}

int
pt_threads_set (int n_threads)
{
  g_return_val_if_fail (n_threads >= 0, pt_n_threads);

  if (n_threads == 0)
    n_threads = pt_threads_n_online ();
  n_threads = CLAMP (n_threads, 1, PT_THREADS_MAX);

  g_atomic_int_set (&pt_n_threads, n_threads);
  openblas_set_num_threads (pt_threads_blas_uses_pool () ? 1 : n_threads);

  return n_threads;
}

gboolean
pt_threads_blas_uses_pool (void)
{
  static gsize mode = 0;   /* 0 unknown, 1 pool, 2 OpenBLAS threads */

  if (g_once_init_enter (&mode))
    g_once_init_leave (&mode, g_strcmp0 (g_getenv ("PT_BLAS_THREADS"), "openblas") == 0 ? 2 : 1);
  return mode == 1;
}

int
pt_threads_get (void)
{
  return g_atomic_int_get (&pt_n_threads);
}
