/* Tests for the seeded RNG. */
#include <math.h>

#include "pt-rng.h"

static void
test_rng_reproducible (void)
{
  PtRng a, b, c;
  guint64 x[8];

  pt_rng_init (&a, 42);
  pt_rng_init (&b, 42);
  for (int i = 0; i < 8; i++)
    {
      x[i] = pt_rng_next (&a);
      g_assert_cmpuint (x[i], ==, pt_rng_next (&b));
    }
  /* The state is the whole story: a copy continues the same stream. */
  c = a;
  for (int i = 0; i < 8; i++)
    g_assert_cmpuint (pt_rng_next (&a), ==, pt_rng_next (&c));
  pt_rng_init (&c, 43);
  g_assert_cmpuint (pt_rng_next (&c), !=, x[0]);
  /* Keyed streams differ by key and repeat by key. */
  pt_rng_init_keyed (&a, 1, 2, 3);
  pt_rng_init_keyed (&b, 1, 2, 3);
  pt_rng_init_keyed (&c, 1, 3, 2);
  g_assert_cmpuint (pt_rng_next (&a), ==, pt_rng_next (&b));
  g_assert_cmpuint (pt_rng_next (&a), !=, pt_rng_next (&c));
}

static void
test_rng_distributions (void)
{
  PtRng rng;
  double sum = 0.0, sum2 = 0.0, usum = 0.0;
  int counts[5] = { 0 };
  const int n = 200000;

  pt_rng_init (&rng, 7);
  for (int i = 0; i < n; i++)
    {
      float u = pt_rng_uniform (&rng);
      float g = pt_rng_normal (&rng);
      guint32 k = pt_rng_below (&rng, 5);

      g_assert_cmpfloat (u, >=, 0.0f);
      g_assert_cmpfloat (u, <, 1.0f);
      g_assert_true (isfinite (g));
      g_assert_cmpuint (k, <, 5);
      usum += u;
      sum += g;
      sum2 += (double) g * g;
      counts[k]++;
    }
  g_assert_cmpfloat (fabs (usum / n - 0.5), <, 0.005);
  g_assert_cmpfloat (fabs (sum / n), <, 0.01);
  g_assert_cmpfloat (fabs (sum2 / n - 1.0), <, 0.02);
  for (int k = 0; k < 5; k++)
    g_assert_cmpint (abs (counts[k] - n / 5), <, n / 100);
  for (int i = 0; i < 1000; i++)
    {
      float r = pt_rng_range (&rng, -2.0f, 3.0f);

      g_assert_cmpfloat (r, >=, -2.0f);
      g_assert_cmpfloat (r, <, 3.0f);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/rng/reproducible", test_rng_reproducible);
  g_test_add_func ("/core/rng/distributions", test_rng_distributions);
  return g_test_run ();
}
