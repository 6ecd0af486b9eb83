/* Tests for the compute thread setting. */
#include <cblas.h>
#include "pt-threads.h"

static void
test_threads_set (void)
{
  g_assert_cmpint (pt_threads_set (1), ==, 1);
  g_assert_cmpint (pt_threads_get (), ==, 1);
  g_assert_cmpint (openblas_get_num_threads (), ==, 1);

  g_assert_cmpint (pt_threads_set (2), ==, 2);
  g_assert_cmpint (pt_threads_get (), ==, 2);

  /* 0 means every online processor. */
  g_assert_cmpint (pt_threads_set (0), ==, pt_threads_n_online ());

  /* Absurd requests are clamped, not obeyed. */
  g_assert_cmpint (pt_threads_set (100000), ==, PT_THREADS_MAX);
  pt_threads_set (1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/threads/set", test_threads_set);
  return g_test_run ();
}
