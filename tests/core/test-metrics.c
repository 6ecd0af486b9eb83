/* Tests for classification reports and embedding health metrics. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-metrics.h"
#include "eval-test-util.h"

static void
test_metrics_report (void)
{
  const int truth[] = { 0, 0, 1, 1, 1, 2, -1, 2, 0, 1 };
  const int pred[]  = { 0, 1, 1, 1, 0, 2,  0, 2, 0, 2 };
  g_autoptr(PtClassReport) r = pt_class_report_new (truth, pred, 10, 4);

  g_assert_cmpint (r->n, ==, 9); /* the unlabeled item is skipped */
  g_assert_cmpint (r->n_correct, ==, 6);
  g_assert_cmpfloat_with_epsilon (r->accuracy, 6.0 / 9.0, 1e-12);
  gint64 total = 0;
  for (int i = 0; i < 16; i++)
    total += r->confusion[i];
  g_assert_cmpint (total, ==, r->n);
  for (int t = 0; t < 4; t++)
    {
      gint64 row = 0;
      for (int p = 0; p < 4; p++)
        row += r->confusion[t * 4 + p];
      g_assert_cmpint (row, ==, r->class_count[t]);
    }
  g_assert_cmpint (r->confusion[0 * 4 + 1], ==, 1);
  g_assert_cmpint (r->confusion[1 * 4 + 0], ==, 1);
  g_assert_cmpint (r->confusion[1 * 4 + 2], ==, 1);
  g_assert_cmpfloat_with_epsilon (r->class_accuracy[0], 2.0 / 3.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (r->class_accuracy[1], 0.5, 1e-12);
  g_assert_cmpfloat (r->class_accuracy[2], ==, 1.0);
  g_assert_true (isnan (r->class_accuracy[3])); /* no items */
  const int wrong[] = { 1, 4, 9 };
  g_assert_cmpint (r->n_wrong, ==, 3);
  g_assert_cmpmem (r->wrong, 3 * sizeof (int), wrong, sizeof wrong);

  g_autoptr(PtClassReport) c = pt_class_report_copy (r);
  g_assert_cmpmem (c->confusion, 16 * sizeof (gint64), r->confusion, 16 * sizeof (gint64));
  g_assert_cmpmem (c->wrong, 3 * sizeof (int), wrong, sizeof wrong);
}

static void
test_metrics_embedding_std (void)
{
  const int n = 4000, d = 64;
  g_autofree float *x = g_new (float, n * d);
  g_autoptr(GRand) rand = g_rand_new_with_seed (9);

  for (int i = 0; i < n * d; i++)
    x[i] = (float) gauss (rand);
  double healthy = pt_embedding_std (x, n, d);
  g_assert_cmpfloat (fabs (healthy - 1.0 / sqrt (d)), <, 0.01);

  /* Collapse: every row the same direction (different norms). */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      x[i * d + j] = (float) ((1.0 + i % 7) * (j + 1));
  g_assert_cmpfloat (pt_embedding_std (x, n, d), <, 1e-5);
}

static void
test_metrics_effective_rank (void)
{
  const int n = 600, d = 32, r = 5;
  g_autofree float *x = g_new0 (float, n * d);
  g_autoptr(GError) error = NULL;
  double erank = 0.0;

  /* Rank r with equal singular values: rows cycle through r orthogonal
   * basis vectors, each used equally often. */
  for (int i = 0; i < n; i++)
    x[i * d + (i % r) * 3] = 1.0f;
  g_assert_true (pt_effective_rank (x, n, d, &erank, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (erank - r), <, 1e-3);

  /* A random rank-r matrix: close to r and never above it. */
  g_autoptr(GRand) rand = g_rand_new_with_seed (4);
  g_autofree float *a = g_new (float, n * r);
  g_autofree float *b = g_new (float, r * d);
  for (int i = 0; i < n * r; i++)
    a[i] = (float) gauss (rand);
  for (int i = 0; i < r * d; i++)
    b[i] = (float) gauss (rand);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      {
        double s = 0.0;
        for (int t = 0; t < r; t++)
          s += a[i * r + t] * b[t * d + j];
        x[i * d + j] = (float) s;
      }
  g_assert_true (pt_effective_rank (x, n, d, &erank, &error));
  g_assert_cmpfloat (erank, >, r - 1.0);
  g_assert_cmpfloat (erank, <, r + 0.05);

  /* Collapse: all rows equal -> 1. */
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      x[i * d + j] = (float) (0.1 * j + 1.0);
  g_assert_true (pt_effective_rank (x, n, d, &erank, &error));
  g_assert_cmpfloat (fabs (erank - 1.0), <, 0.01);

  /* Isotropic noise: close to full rank. */
  for (int i = 0; i < n * d; i++)
    x[i] = (float) gauss (rand);
  g_assert_true (pt_effective_rank (x, n, d, &erank, &error));
  g_assert_cmpfloat (erank, >, 0.9 * d);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/metrics/report", test_metrics_report);
  g_test_add_func ("/core/metrics/embedding-std", test_metrics_embedding_std);
  g_test_add_func ("/core/metrics/effective-rank", test_metrics_effective_rank);
  return g_test_run ();
}
