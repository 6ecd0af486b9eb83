/* Tests for standardization, logistic regression and the linear probe. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-probe.h"
#include "pt-threads.h"
#include "eval-test-util.h"

static void
test_probe_standardizer (void)
{
  const int n = 500, d = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);

  for (int i = 0; i < n; i++)
    {
      x[i * d + 0] = (float) (1000.0 + 3.0 * gauss (rand));
      x[i * d + 1] = (float) (-2.0 + 0.01 * gauss (rand));
      x[i * d + 2] = (float) gauss (rand);
      x[i * d + 3] = 7.0f; /* constant: must not blow up */
    }
  g_autoptr(PtStandardizer) std = pt_standardizer_fit (x, n, d);
  pt_standardizer_apply (std, x, x, n);
  for (int j = 0; j < d; j++)
    {
      double m = 0.0, s = 0.0;
      for (int i = 0; i < n; i++)
        m += x[i * d + j];
      m /= n;
      for (int i = 0; i < n; i++)
        s += (x[i * d + j] - m) * (x[i * d + j] - m);
      s = sqrt (s / n);
      g_assert_cmpfloat_with_epsilon (m, 0.0, 1e-4);
      g_assert_cmpfloat_with_epsilon (s, j == 3 ? 0.0 : 1.0, 1e-3);
    }
}

/* Central finite differences of the objective against the analytic
 * gradient, on a small random problem. */
static void
test_probe_gradient (void)
{
  const int n = 40, d = 5, k = 4;
  const double l2 = 0.05;
  g_autoptr(GRand) rand = g_rand_new_with_seed (2);
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *w = g_new (float, d * k);
  g_autofree float *b = g_new (float, k);
  g_autofree float *dw = g_new (float, d * k);
  g_autofree float *db = g_new (float, k);

  for (int i = 0; i < n * d; i++)
    x[i] = (float) gauss (rand);
  for (int i = 0; i < n; i++)
    y[i] = g_rand_int_range (rand, 0, k);
  for (int i = 0; i < d * k; i++)
    w[i] = (float) (0.5 * gauss (rand));
  for (int i = 0; i < k; i++)
    b[i] = (float) (0.5 * gauss (rand));

  double f0 = pt_logreg_loss_backward (dw, db, x, y, w, b, l2, n, d, k);
  g_assert_true (isfinite (f0) && f0 > 0.0);

  const float h = 1e-2f;
  for (int p = 0; p < d * k + k; p++)
    {
      float *param = p < d * k ? &w[p] : &b[p - d * k];
      float analytic = p < d * k ? dw[p] : db[p - d * k];
      float saved = *param;
      *param = saved + h;
      double fp = pt_logreg_loss_backward (NULL, NULL, x, y, w, b, l2, n, d, k);
      *param = saved - h;
      double fm = pt_logreg_loss_backward (NULL, NULL, x, y, w, b, l2, n, d, k);
      *param = saved;
      double numeric = (fp - fm) / (2.0 * h);
      g_assert_cmpfloat (fabs (numeric - analytic), <=, 2e-4 + 1e-2 * fabs (numeric));
    }

  /* Huge logits: no overflow, the loss stays finite. */
  for (int i = 0; i < d * k; i++)
    w[i] *= 1e4f;
  double fbig = pt_logreg_loss_backward (dw, db, x, y, w, b, 0.0, n, d, k);
  g_assert_true (isfinite (fbig));
}

/* The fused objective against a plain double-precision reference: row
 * counts that are not a multiple of the 8-row blocks, widths that are not
 * a multiple of 8, and logit gaps wide enough that some exponentials
 * underflow (the vector exp flushes below -87). Two threads. */
static void
test_probe_objective_reference (void)
{
  const int cases[][3] = { { 37, 13, 7 }, { 64, 16, 10 }, { 9, 3, 2 }, { 300, 40, 12 } };

  for (guint t = 0; t < G_N_ELEMENTS (cases); t++)
    {
      int n = cases[t][0], d = cases[t][1], k = cases[t][2];
      g_autoptr(GRand) rand = g_rand_new_with_seed (40 + t);
      g_autofree float *x = g_new (float, n * d);
      g_autofree int *y = g_new (int, n);
      g_autofree float *w = g_new (float, d * k);
      g_autofree float *b = g_new (float, k);
      g_autofree float *dw = g_new (float, d * k);
      g_autofree float *db = g_new (float, k);
      g_autofree double *rdw = g_new0 (double, d * k);
      g_autofree double *rdb = g_new0 (double, k);
      g_autofree double *z = g_new (double, k);
      double scale = t == 1 ? 30.0 : 1.0;   /* case 1: logits spread over hundreds */
      double rloss = 0.0, f;

      for (int i = 0; i < n * d; i++)
        x[i] = (float) gauss (rand);
      for (int i = 0; i < n; i++)
        y[i] = g_rand_int_range (rand, 0, k);
      for (int i = 0; i < d * k; i++)
        w[i] = (float) (scale * gauss (rand));
      for (int i = 0; i < k; i++)
        b[i] = (float) gauss (rand);

      for (int i = 0; i < n; i++)
        {
          double zmax = -INFINITY, sum = 0.0;

          for (int c = 0; c < k; c++)
            {
              z[c] = b[c];
              for (int j = 0; j < d; j++)
                z[c] += (double) x[i * d + j] * w[j * k + c];
              zmax = MAX (zmax, z[c]);
            }
          for (int c = 0; c < k; c++)
            sum += exp (z[c] - zmax);
          rloss += log (sum) - (z[y[i]] - zmax);
          for (int c = 0; c < k; c++)
            {
              double g = exp (z[c] - zmax) / sum - (c == y[i] ? 1.0 : 0.0);

              rdb[c] += g / n;
              for (int j = 0; j < d; j++)
                rdw[j * k + c] += g * x[i * d + j] / n;
            }
        }
      rloss /= n;

      f = pt_logreg_loss_backward (dw, db, x, y, w, b, 0.0, n, d, k);
      g_assert_cmpfloat (fabs (f - rloss), <=, 1e-5 * MAX (1.0, fabs (rloss)));
      for (int i = 0; i < d * k; i++)
        g_assert_cmpfloat (fabs (dw[i] - rdw[i]), <=, 1e-5 * MAX (1.0, fabs (rdw[i])));
      for (int c = 0; c < k; c++)
        g_assert_cmpfloat (fabs (db[c] - rdb[c]), <=, 1e-5);
    }
}

static void
test_probe_separable (void)
{
  const int n = 600, nt = 300, d = 16, k = 5;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *xt = g_new (float, nt * d);
  g_autofree int *yt = g_new (int, nt);
  g_autoptr(GError) error = NULL;

  make_clusters (x, y, n, d, k, 5.0, 0.3, 3);
  make_clusters (xt, yt, nt, d, k, 5.0, 0.3, 3); /* same centres (same seed) */
  g_autoptr(PtProbeResult) res = pt_probe_run (x, y, n, xt, yt, nt, d, k, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (res);
  g_assert_cmpfloat (res->report->accuracy, ==, 1.0);
  g_assert_cmpint (res->report->n, ==, nt);
  g_assert_cmpint (res->n_c, ==, 6);
  gboolean found = FALSE;
  for (int i = 0; i < res->n_c; i++)
    {
      g_assert_cmpfloat (res->val_accuracy[i], >=, 0.0);
      g_assert_cmpfloat (res->val_accuracy[i], <=, 1.0);
      found |= res->c_values[i] == res->c;
    }
  g_assert_true (found);
}

/* Agreement with scikit-learn's LogisticRegression(lbfgs) on the committed
 * fixture: the same objective value, coefficients and test predictions. */
static void
test_probe_sklearn_fixture (void)
{
  JsonObject *o = eval_fixture ("probe");
  int k = (int) json_object_get_int_member (o, "n_classes");
  int d = (int) json_object_get_int_member (o, "dim");
  double c = json_object_get_double_member (o, "C");
  guint n_x, n_t;
  g_autofree float *x = fixture_floats (o, "train_x", &n_x);
  g_autofree int *y = fixture_ints (o, "train_y", NULL);
  g_autofree float *xt = fixture_floats (o, "test_x", &n_t);
  g_autofree int *yt = fixture_ints (o, "test_y", NULL);
  g_autofree double *w_ref = fixture_doubles (o, "weight", NULL);
  g_autofree double *b_ref = fixture_doubles (o, "bias", NULL);
  g_autofree int *pred_ref = fixture_ints (o, "test_pred", NULL);
  double obj_ref = json_object_get_double_member (o, "objective");
  double acc_ref = json_object_get_double_member (o, "test_accuracy");
  int n = n_x / d, nt = n_t / d;
  PtLbfgsParams p;
  PtLbfgsResult r;
  g_autoptr(GError) error = NULL;

  pt_lbfgs_params_init (&p);
  p.max_iter = 1000;
  p.gtol = 1e-7;
  p.ftol = 1e-14;
  g_autoptr(PtLinearModel) m = pt_logreg_fit (x, y, n, d, k, c, NULL, &p, NULL, NULL,
                                              &r, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (fabs (r.f - obj_ref), <=, 1e-5 * obj_ref);
  /* scikit-learn's coefficients are defined up to a common shift per
   * feature across classes; the L2 penalty pins them, so compare directly. */
  for (int i = 0; i < d * k; i++)
    g_assert_cmpfloat (fabs (m->weight[i] - w_ref[i]), <=, 2e-3);
  /* The intercept is unpenalized: only differences between classes matter. */
  for (int c2 = 1; c2 < k; c2++)
    g_assert_cmpfloat (fabs ((m->bias[c2] - m->bias[0]) - (b_ref[c2] - b_ref[0])), <=, 2e-3);

  /* Warm start from the solution: the preconditioned coordinates map the
   * model in and out exactly, so it lands on the same optimum at once.
   * The iteration count varies with the build (3 on the eval branch, 8 on
   * main, cause not yet found), so the bound is loose; the objective and
   * weights below are the real check. */
  PtLbfgsResult r2;
  g_autoptr(PtLinearModel) m2 = pt_logreg_fit (x, y, n, d, k, c, m, &p, NULL, NULL,
                                               &r2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (r2.n_iter, <=, 10);
  g_assert_cmpfloat (fabs (r2.f - r.f), <=, 1e-6 * r.f);
  for (int i = 0; i < d * k; i++)
    g_assert_cmpfloat (fabs (m2->weight[i] - m->weight[i]), <=, 1e-3);

  g_autofree int *pred = g_new (int, nt);
  pt_linear_model_predict (m, pred, xt, nt);
  int correct = 0;
  for (int i = 0; i < nt; i++)
    {
      g_assert_cmpint (pred[i], ==, pred_ref[i]);
      correct += pred[i] == yt[i];
    }
  g_assert_cmpfloat ((double) correct / nt, ==, acc_ref);

  /* The probe with the same C and no standardization agrees too. */
  PtProbeOptions opt;
  pt_probe_options_init (&opt);
  opt.c = c;
  opt.standardize = FALSE;
  opt.lbfgs = p;
  g_autoptr(PtProbeResult) res = pt_probe_run (x, y, n, xt, yt, nt, d, k, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (res->report->accuracy, ==, acc_ref);
  g_assert_cmpint (res->n_c, ==, 0);
  g_assert_cmpfloat (res->c, ==, c);
}

typedef struct
{
  int calls;
  int last_fit;
  int n_fits;
  GCancellable *cancel_at_second_fit;
} ProgressLog;

static gboolean
on_probe_progress_cb (int fit, int n_fits, int iter, double loss, gpointer data)
{
  ProgressLog *log = data;

  log->calls++;
  g_assert_cmpint (fit, >=, log->last_fit);
  g_assert_cmpint (fit, <, n_fits);
  g_assert_cmpint (iter, >=, 1);
  g_assert_true (isfinite (loss));
  log->last_fit = fit;
  log->n_fits = n_fits;
  if (log->cancel_at_second_fit && fit == 1)
    g_cancellable_cancel (log->cancel_at_second_fit);
  return TRUE;
}

static void
test_probe_search_deterministic (void)
{
  const int n = 400, nt = 200, d = 8, k = 3;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *xt = g_new (float, nt * d);
  g_autofree int *yt = g_new (int, nt);
  g_autoptr(GError) error = NULL;
  const double grid[] = { 0.01, 0.1, 1.0 };
  PtProbeOptions opt;
  ProgressLog log = { 0 };

  make_clusters (x, y, n, d, k, 1.0, 1.0, 4); /* overlapping classes */
  make_clusters (xt, yt, nt, d, k, 1.0, 1.0, 4);
  pt_probe_options_init (&opt);
  opt.c_grid = grid;
  opt.n_c_grid = 3;
  opt.seed = 99;
  opt.progress = on_probe_progress_cb;
  opt.progress_data = &log;
  g_autoptr(PtProbeResult) a = pt_probe_run (x, y, n, xt, yt, nt, d, k, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (log.n_fits, ==, 4);
  g_assert_cmpint (log.last_fit, ==, 3);
  g_assert_cmpint (log.calls, >, 4);

  opt.progress = NULL;
  g_autoptr(PtProbeResult) b = pt_probe_run (x, y, n, xt, yt, nt, d, k, &opt, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (a->c, ==, b->c);
  g_assert_cmpfloat (a->report->accuracy, ==, b->report->accuracy);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (a->val_accuracy[i], ==, b->val_accuracy[i]);
  g_assert_cmpmem (a->pred, nt * sizeof (int), b->pred, nt * sizeof (int));
  g_assert_cmpfloat (a->report->accuracy, >, 0.5);

  /* Cancelled during the search: an error, no result. */
  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  ProgressLog log2 = { 0, 0, 0, cancel };
  opt.progress = on_probe_progress_cb;
  opt.progress_data = &log2;
  g_autoptr(PtProbeResult) c = pt_probe_run (x, y, n, xt, yt, nt, d, k, &opt, cancel, &error);
  g_assert_null (c);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_probe_bad_labels (void)
{
  float x[8] = { 0, 1, 2, 3, 4, 5, 6, 7 };
  int y[4] = { 0, 1, 5, 0 };
  g_autoptr(GError) error = NULL;

  g_autoptr(PtProbeResult) r = pt_probe_run (x, y, 4, x, y, 4, 2, 2, NULL, NULL, &error);
  g_assert_null (r);
  g_assert_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID);
}

/* The objective and gradient do not depend on the thread count (fixed
 * chunks summed in order): the window (2 threads) and the CLI (1 by
 * default) give the same probe. */
static void
test_probe_thread_independent (void)
{
  const int n = 3000, d = 37, k = 7;
  g_autofree float *x = g_new (float, (gsize) n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *w = g_new (float, (gsize) d * k);
  g_autofree float *b = g_new (float, k);
  g_autofree float *dw1 = g_new (float, (gsize) d * k);
  g_autofree float *dw3 = g_new (float, (gsize) d * k);
  float db1[7], db3[7];
  double l1, l3;
  int saved = pt_threads_get ();
  guint32 s = 12345;

  for (gsize i = 0; i < (gsize) n * d; i++)
    {
      s = s * 1664525u + 1013904223u;
      x[i] = (float) ((s >> 8) / 16777216.0 - 0.5);
    }
  for (int i = 0; i < n; i++)
    y[i] = i % k;
  for (int i = 0; i < d * k; i++)
    w[i] = 0.01f * (float) ((i * 37) % 11 - 5);
  for (int c = 0; c < k; c++)
    b[c] = 0.1f * c;

  pt_threads_set (1);
  l1 = pt_logreg_loss_backward (dw1, db1, x, y, w, b, 1e-3, n, d, k);
  pt_threads_set (3);
  l3 = pt_logreg_loss_backward (dw3, db3, x, y, w, b, 1e-3, n, d, k);
  pt_threads_set (saved);
  g_assert_cmpfloat (l1, ==, l3);
  g_assert_cmpmem (dw1, sizeof (float) * d * k, dw3, sizeof (float) * d * k);
  g_assert_cmpmem (db1, sizeof db1, db3, sizeof db3);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/probe/standardizer", test_probe_standardizer);
  g_test_add_func ("/core/probe/gradient", test_probe_gradient);
  g_test_add_func ("/core/probe/objective-reference", test_probe_objective_reference);
  g_test_add_func ("/core/probe/separable", test_probe_separable);
  g_test_add_func ("/core/probe/sklearn-fixture", test_probe_sklearn_fixture);
  g_test_add_func ("/core/probe/search-deterministic", test_probe_search_deterministic);
  g_test_add_func ("/core/probe/bad-labels", test_probe_bad_labels);
  g_test_add_func ("/core/probe/thread-independent", test_probe_thread_independent);
  return g_test_run ();
}
