/* Tests for the one-call evaluation facade. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-eval.h"
#include "pt-threads.h"
#include "eval-test-util.h"

static void
test_eval_features (void)
{
  const int n = 1000, nt = 200, d = 16, k = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *xt = g_new (float, nt * d);
  g_autofree int *yt = g_new (int, nt);
  g_autoptr(GError) error = NULL;
  PtEvalOptions opt;
  g_autoptr(PtEvalRecord) probe = NULL;
  g_autoptr(PtEvalRecord) knn = NULL;

  make_clusters (x, y, n, d, k, 4.0, 0.6, 61);
  make_clusters (xt, yt, nt, d, k, 4.0, 0.6, 61);
  pt_eval_options_init (&opt);
  opt.label_fraction = 0.1;
  opt.seed = 5;
  g_assert_true (pt_eval_features (x, y, n, xt, yt, nt, d, k, &opt, "raw-pixels",
                                   &probe, &knn, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (probe->kind, ==, "linear-probe");
  g_assert_cmpstr (knn->kind, ==, "knn");
  g_assert_cmpstr (probe->features, ==, "raw-pixels");
  g_assert_cmpint (probe->n_train, ==, 100);
  g_assert_cmpint (knn->n_train, ==, 100);
  g_assert_cmpint (probe->n_test, ==, nt);
  g_assert_cmpfloat (probe->label_fraction, ==, 0.1);
  g_assert_cmpfloat (probe->accuracy, ==, 1.0);
  g_assert_cmpfloat (knn->accuracy, ==, 1.0);
  g_assert_cmpint (knn->knn_k, ==, 20);
  g_assert_true (probe->c > 0.0);

  /* The subset is the one pt_subset_balanced gives: per-class counts. */
  g_assert_cmpint (probe->report->n, ==, nt);

  /* A NaN feature is refused with a clear error. */
  g_clear_pointer (&probe, pt_eval_record_free);
  g_clear_pointer (&knn, pt_eval_record_free);
  xt[3 * d + 2] = NAN;
  g_assert_false (pt_eval_features (x, y, n, xt, yt, nt, d, k, &opt, NULL,
                                    &probe, &knn, NULL, &error));
  g_assert_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "test features"));
  g_assert_null (probe);
  g_assert_null (knn);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/eval/features", test_eval_features);
  return g_test_run ();
}
