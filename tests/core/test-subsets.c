/* Tests for labeled subsets and the label-efficiency curve. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-subsets.h"
#include "pt-knn.h"
#include "pt-threads.h"
#include "eval-test-util.h"

static gboolean
contains_all (const int *big, int n_big, const int *small, int n_small)
{
  /* Both ascending. */
  int j = 0;
  for (int i = 0; i < n_small; i++)
    {
      while (j < n_big && big[j] < small[i])
        j++;
      if (j == n_big || big[j] != small[i])
        return FALSE;
    }
  return TRUE;
}

static void
test_subsets_balanced_nested (void)
{
  const int n = 6000, k = 10;
  g_autofree int *labels = g_new (int, n);
  g_autoptr(GRand) rand = g_rand_new_with_seed (3);

  for (int i = 0; i < n; i++)
    labels[i] = g_rand_int_range (rand, 0, k); /* roughly, not exactly, balanced */
  labels[17] = -1; /* unlabeled: never picked */

  const double fractions[] = { 0.01, 0.1, 0.5, 1.0 };
  int *prev = NULL, n_prev = 0;
  for (int f = 0; f < 4; f++)
    {
      int m = 0;
      int *idx = pt_subset_balanced (labels, n, k, fractions[f], 0, 1234, &m);
      int count[10] = { 0 };
      for (int i = 0; i < m; i++)
        {
          g_assert_cmpint (labels[idx[i]], >=, 0);
          count[labels[idx[i]]]++;
          if (i > 0)
            g_assert_cmpint (idx[i], >, idx[i - 1]);
        }
      if (fractions[f] < 1.0)
        {
          int per = (int) lround (fractions[f] * (n - 1) / k);
          for (int c = 0; c < k; c++)
            g_assert_cmpint (count[c], ==, per);
          g_assert_cmpint (m, ==, per * k);
        }
      else
        g_assert_cmpint (m, ==, n - 1);
      if (prev)
        g_assert_true (contains_all (idx, m, prev, n_prev));
      g_free (prev);
      prev = idx;
      n_prev = m;
    }
  g_free (prev);

  /* Deterministic for a seed, different for another. */
  int ma = 0, mb = 0, mc = 0;
  g_autofree int *a = pt_subset_balanced (labels, n, k, 0.1, 0, 5, &ma);
  g_autofree int *b = pt_subset_balanced (labels, n, k, 0.1, 0, 5, &mb);
  g_autofree int *c = pt_subset_balanced (labels, n, k, 0.1, 0, 6, &mc);
  g_assert_cmpint (ma, ==, mb);
  g_assert_cmpmem (a, ma * sizeof (int), b, mb * sizeof (int));
  g_assert_cmpint (ma, ==, mc);
  g_assert_false (memcmp (a, c, ma * sizeof (int)) == 0);

  /* n per class, nested with the fraction subsets of the same seed. */
  int mp = 0;
  g_autofree int *per = pt_subset_balanced (labels, n, k, 0.0, 6, 5, &mp);
  g_assert_cmpint (mp, ==, 60);
  g_assert_true (contains_all (a, ma, per, mp));
}

static void
test_subsets_small_class (void)
{
  /* Class 2 has only 3 items: it gives all it has. */
  int labels[40];
  for (int i = 0; i < 40; i++)
    labels[i] = i < 3 ? 2 : i % 2;
  int m = 0;
  g_autofree int *idx = pt_subset_balanced (labels, 40, 3, 0.0, 5, 1, &m);
  int count[3] = { 0 };
  for (int i = 0; i < m; i++)
    count[labels[idx[i]]]++;
  g_assert_cmpint (count[0], ==, 5);
  g_assert_cmpint (count[1], ==, 5);
  g_assert_cmpint (count[2], ==, 3);
}

static void
test_subsets_label_curve (void)
{
  const int n = 1000, nt = 300, d = 16, k = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *xt = g_new (float, nt * d);
  g_autofree int *yt = g_new (int, nt);
  g_autoptr(GError) error = NULL;
  PtLabelCurveOptions opt;
  const double fractions[] = { 0.02, 0.1, 1.0 };

  make_clusters (x, y, n, d, k, 4.0, 0.5, 21);
  make_clusters (xt, yt, nt, d, k, 4.0, 0.5, 21);
  pt_label_curve_options_init (&opt);
  opt.fractions = fractions;
  opt.n_points = 3;
  opt.seed = 8;
  opt.knn_k = 5;
  g_autofree PtLabelCurvePoint *pts =
    pt_label_curve_run (x, y, n, xt, yt, nt, d, k, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (pts);
  g_assert_cmpint (pts[0].n_labeled, ==, 20);
  g_assert_cmpint (pts[1].n_labeled, ==, 100);
  g_assert_cmpint (pts[2].n_labeled, ==, 1000);
  for (int i = 0; i < 3; i++)
    {
      g_assert_cmpfloat (pts[i].fraction, ==, fractions[i]);
      /* Well separated clusters: even 5 labels per class suffice. */
      g_assert_cmpfloat (pts[i].probe_accuracy, ==, 1.0);
      g_assert_cmpfloat (pts[i].knn_accuracy, ==, 1.0);
      g_assert_cmpfloat (pts[i].probe_c, >, 0.0);
    }

  /* Probe only: kNN stays NAN. */
  opt.run_knn = FALSE;
  g_autofree PtLabelCurvePoint *p2 =
    pt_label_curve_run (x, y, n, xt, yt, nt, d, k, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (p2[0].knn_accuracy));
  g_assert_cmpfloat (p2[0].probe_accuracy, ==, pts[0].probe_accuracy);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/subsets/balanced-nested", test_subsets_balanced_nested);
  g_test_add_func ("/core/subsets/small-class", test_subsets_small_class);
  g_test_add_func ("/core/subsets/label-curve", test_subsets_label_curve);
  return g_test_run ();
}
