/* pt-threads.c: the process-wide compute thread setting. */
#include "pt-threads.h"

#include <cblas.h>

static int pt_n_threads = 1;

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
