/* Tests for Barnes-Hut t-SNE. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-tsne.h"
#include "pt-threads.h"
#include "eval-test-util.h"

/* Leave-one-out 5-NN majority accuracy of a 2-D layout. */
static double
layout_knn_accuracy (const float *y, const int *labels, int n, int n_classes)
{
  int correct = 0;
  for (int i = 0; i < n; i++)
    {
      double best_d[5];
      int best_l[5];
      for (int j = 0; j < 5; j++)
        {
          best_d[j] = INFINITY;
          best_l[j] = -1;
        }
      for (int j = 0; j < n; j++)
        {
          if (j == i)
            continue;
          double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
          double d2 = dx * dx + dy * dy;
          int pos = 5;
          while (pos > 0 && d2 < best_d[pos - 1])
            pos--;
          if (pos == 5)
            continue;
          for (int t = 4; t > pos; t--)
            {
              best_d[t] = best_d[t - 1];
              best_l[t] = best_l[t - 1];
            }
          best_d[pos] = d2;
          best_l[pos] = labels[j];
        }
      int votes[8] = { 0 }, arg = 0;
      for (int t = 0; t < 5; t++)
        votes[best_l[t]]++;
      for (int c = 1; c < n_classes; c++)
        if (votes[c] > votes[arg])
          arg = c;
      correct += arg == labels[i];
    }
  return (double) correct / n;
}

static void
test_tsne_clusters (void)
{
  const int n = 600, d = 20, k = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autoptr(GError) error = NULL;

  make_clusters (x, y, n, d, k, 6.0, 1.0, 31);
  g_autoptr(PtTsne) tsne = pt_tsne_new (x, n, d, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pt_tsne_get_learning_rate (tsne), ==, 50.0);

  g_assert_true (pt_tsne_step (tsne, 250, NULL, &error));
  g_assert_cmpint (pt_tsne_get_iteration (tsne), ==, 250);
  double kl_early = pt_tsne_kl_divergence (tsne);
  for (int i = 0; i < 3; i++)
    g_assert_true (pt_tsne_step (tsne, 50, NULL, &error));
  double kl_mid = pt_tsne_kl_divergence (tsne);
  g_assert_true (pt_tsne_step (tsne, 350, NULL, &error));
  double kl_late = pt_tsne_kl_divergence (tsne);
  g_assert_cmpint (pt_tsne_get_iteration (tsne), ==, 750);
  g_assert_cmpfloat (kl_mid, <, kl_early);
  g_assert_cmpfloat (kl_late, <=, kl_mid);
  g_assert_cmpfloat (kl_late, >, 0.0);

  const float *layout = pt_tsne_get_layout (tsne);
  for (int i = 0; i < 2 * n; i++)
    g_assert_true (isfinite (layout[i]));
  g_assert_cmpfloat (layout_knn_accuracy (layout, y, n, k), >=, 0.99);
}

static void
test_tsne_warm_start (void)
{
  const int n = 300, d = 10, k = 3;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autoptr(GError) error = NULL;
  PtTsneOptions opt;

  make_clusters (x, y, n, d, k, 6.0, 1.0, 41);
  pt_tsne_options_init (&opt);
  opt.pca_init = FALSE;
  opt.seed = 3;
  g_autoptr(PtTsne) a = pt_tsne_new (x, n, d, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_tsne_step (a, 500, NULL, &error));
  g_autofree float *saved = g_memdup2 (pt_tsne_get_layout (a), sizeof (float) * 2 * n);
  double kl_saved = pt_tsne_kl_divergence (a);

  /* A fresh object warm-started from the saved layout. */
  g_autoptr(PtTsne) b = pt_tsne_new (x, n, d, &opt, NULL, &error);
  g_assert_no_error (error);
  pt_tsne_set_layout (b, saved, 500);
  g_assert_cmpint (pt_tsne_get_iteration (b), ==, 500);
  g_assert_cmpmem (pt_tsne_get_layout (b), sizeof (float) * 2 * n, saved, sizeof (float) * 2 * n);
  g_assert_cmpfloat_with_epsilon (pt_tsne_kl_divergence (b), kl_saved, 1e-9);
  g_assert_true (pt_tsne_step (b, 5, NULL, &error));
  g_assert_cmpint (pt_tsne_get_iteration (b), ==, 505);

  /* It continues from there: small moves compared with the layout's
   * extent, and the KL does not get worse. */
  const float *lb = pt_tsne_get_layout (b);
  double extent = 0.0, moved = 0.0;
  for (int i = 0; i < 2 * n; i++)
    {
      extent = MAX (extent, fabs (saved[i]));
      moved = MAX (moved, fabs (lb[i] - saved[i]));
    }
  g_assert_cmpfloat (moved, <, 0.05 * extent);
  g_assert_cmpfloat (pt_tsne_kl_divergence (b), <=, kl_saved * 1.001);
  g_assert_true (pt_tsne_step (b, 100, NULL, &error));
  g_assert_cmpfloat (pt_tsne_kl_divergence (b), <, kl_saved);

  /* Cancellation. */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_false (pt_tsne_step (b, 5, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

/* The exact gradient against finite differences of the exact KL, and the
 * Barnes-Hut gradient against the exact one. */
static void
test_tsne_gradient (void)
{
  const int n = 60, d = 5;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autoptr(GError) error = NULL;
  PtTsneOptions opt;
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);

  make_clusters (x, y, n, d, 3, 3.0, 1.0, 51);
  pt_tsne_options_init (&opt);
  opt.perplexity = 10.0;
  g_autoptr(PtTsne) tsne = pt_tsne_new (x, n, d, &opt, NULL, &error);
  g_assert_no_error (error);
  g_autofree float *layout = g_new (float, 2 * n);
  for (int i = 0; i < 2 * n; i++)
    layout[i] = (float) (3.0 * gauss (rand));
  g_autofree double *grad = g_new (double, 2 * n);
  g_autofree double *grad_bh = g_new (double, 2 * n);
  pt_tsne_gradient (tsne, layout, 0.0, grad);
  pt_tsne_gradient (tsne, layout, 0.5, grad_bh);

  double gmax = 0.0, err = 0.0, norm = 0.0;
  for (int i = 0; i < 2 * n; i++)
    {
      gmax = MAX (gmax, fabs (grad[i]));
      err += (grad_bh[i] - grad[i]) * (grad_bh[i] - grad[i]);
      norm += grad[i] * grad[i];
    }
  g_assert_cmpfloat (sqrt (err / norm), <, 0.05);

  const float h = 1e-2f;
  for (int i = 0; i < 2 * n; i += 7)
    {
      float saved = layout[i];
      layout[i] = saved + h;
      double fp = pt_tsne_kl_divergence_of (tsne, layout);
      layout[i] = saved - h;
      double fm = pt_tsne_kl_divergence_of (tsne, layout);
      layout[i] = saved;
      double numeric = (fp - fm) / (2.0 * h);
      g_assert_cmpfloat (fabs (numeric - grad[i]), <=, 1e-3 * gmax + 1e-2 * fabs (grad[i]));
    }
}

static void
test_tsne_invalid (void)
{
  float x[12] = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTsne) t = pt_tsne_new (x, 3, 4, NULL, NULL, &error);
  g_assert_null (t);
  g_assert_error (error, PT_TSNE_ERROR, PT_TSNE_ERROR_INVALID);

  g_clear_error (&error);
  float bad[40];
  for (int i = 0; i < 40; i++)
    bad[i] = (float) i;
  bad[13] = NAN;
  PtTsneOptions opt;
  pt_tsne_options_init (&opt);
  opt.perplexity = 2.0;
  g_autoptr(PtTsne) t2 = pt_tsne_new (bad, 10, 4, &opt, NULL, &error);
  g_assert_null (t2);
  g_assert_error (error, PT_TSNE_ERROR, PT_TSNE_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/tsne/clusters", test_tsne_clusters);
  g_test_add_func ("/core/tsne/warm-start", test_tsne_warm_start);
  g_test_add_func ("/core/tsne/gradient", test_tsne_gradient);
  g_test_add_func ("/core/tsne/invalid", test_tsne_invalid);
  return g_test_run ();
}
