/* Tests for pt-supervised: the supervised-from-scratch baseline on a tiny
 * SimCLR run over Shapes (cnn of width 4, never trained: the baseline only
 * reads the run's architecture and normalization). One compute thread, so
 * every figure is deterministic. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-features.h"
#include "pt-methods.h"
#include "pt-probe.h"
#include "pt-subsets.h"
#include "pt-supervised.h"
#include "pt-test-files.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

#define PER_CLASS 100
#define STEPS     300
#define N_SMALL   40

static char *tmp_dir;
static char *run_dir;
static PtDataset *train_set;
static PtDataset *test_set;
static int *subset;
static int n_subset;
/* smaller splits: class-balanced parts of the real ones, for accuracy
 * (mid) and for the tests that do not measure it (small) */
static PtDataset *mid_train;
static PtDataset *mid_test;
static PtDataset *small_train;
static PtDataset *small_test;
static int small_subset[N_SMALL];

static void
make_run (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();
  g_autoptr(PtTrainer) trainer = NULL;

  spec->method = g_strdup ("simclr");
  spec->dataset = g_strdup ("shapes");
  spec->width = 4;
  spec->batch_size = 32;
  spec->steps = 1;
  spec->seed = 3;
  spec->out_dir = g_strdup (run_dir);
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);
}

static void
small_options (PtSupervisedOptions *options,
               int                  n_steps)
{
  pt_supervised_options_init (options);
  options->n_steps = n_steps;
  options->batch = 32;
  options->augment = TRUE;
  options->seed = 11;
}

static void
test_auto_steps (void)
{
  PtSupervisedOptions options;

  pt_supervised_options_init (&options);
  g_assert_cmpint (options.n_steps, ==, 0);
  g_assert_cmpint (options.batch, ==, 128);
  g_assert_true (options.augment);
  /* 30 passes, floor 300, cap 1500 */
  g_assert_cmpint (pt_supervised_auto_steps (600, 128), ==, 300);
  g_assert_cmpint (pt_supervised_auto_steps (10, 128), ==, 300);
  g_assert_cmpint (pt_supervised_auto_steps (6000, 128), ==, 1407);
  g_assert_cmpint (pt_supervised_auto_steps (60000, 128), ==, 1500);
}

static double
random_init_probe_accuracy (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *tr = NULL, *te = NULL, *sub = NULL;
  g_autofree int *sub_y = NULL;
  g_autoptr(PtProbeResult) probe = NULL;
  int dim = 0, dim2 = 0;

  tr = pt_features_for_run (run_dir, mid_train, PT_FEATURES_RANDOM_INIT, &dim, NULL, NULL,
                            NULL, &error);
  g_assert_no_error (error);
  te = pt_features_for_run (run_dir, mid_test, PT_FEATURES_RANDOM_INIT, &dim2, NULL, NULL,
                            NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dim, ==, dim2);
  sub = g_new (float, (gsize) n_subset * dim);
  sub_y = g_new (int, n_subset);
  pt_subset_gather (sub, tr, dim, subset, n_subset);
  for (int i = 0; i < n_subset; i++)
    sub_y[i] = pt_dataset_get_label (mid_train, (guint) subset[i]);
  probe = pt_probe_run (sub, sub_y, n_subset, te, pt_dataset_get_labels (mid_test),
                        (int) pt_dataset_get_n_images (mid_test), dim,
                        pt_dataset_get_n_classes (mid_train), NULL, NULL, &error);
  g_assert_no_error (error);
  return probe->report->accuracy;
}

static void
test_learns (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSupervisedResult) result = NULL;
  PtSupervisedOptions options;
  int K = pt_dataset_get_n_classes (mid_train);
  guint n_train = pt_dataset_get_n_images (mid_train);
  guint n_test = pt_dataset_get_n_images (mid_test);
  double chance = 1.0 / K, random_acc;
  int agree = 0;

  small_options (&options, STEPS);
  options.batch = 64;
  options.augment = FALSE;
  result = pt_supervised_run (run_dir, mid_train, subset, n_subset, mid_test, &options,
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (result);
  g_assert_cmpint (result->n_steps, ==, STEPS);
  g_assert_cmpint (result->dim, ==, 8 * 4);
  g_assert_cmpint (result->n_train, ==, (int) n_train);
  g_assert_cmpint (result->n_test, ==, (int) n_test);
  g_assert_cmpint (result->n_classes, ==, K);
  g_assert_true (isfinite (result->final_loss));
  for (gsize i = 0; i < (gsize) n_train * result->dim; i++)
    g_assert_true (isfinite (result->train_features[i]));
  for (gsize i = 0; i < (gsize) n_test * result->dim; i++)
    g_assert_true (isfinite (result->test_features[i]));
  g_assert_nonnull (result->report);
  g_assert_cmpint (result->report->n, ==, (int) n_test);
  for (guint i = 0; i < n_test; i++)
    {
      g_assert_cmpint (result->pred[i], >=, 0);
      g_assert_cmpint (result->pred[i], <, K);
      agree += result->pred[i] == pt_dataset_get_label (mid_test, i);
    }
  g_assert_cmpint (agree, ==, result->report->n_correct);

  /* A wide margin over chance (1/K), and better than a probe on the same
   * encoder at its random initialization, trained on the same labels. */
  random_acc = random_init_probe_accuracy ();
  g_test_message ("supervised %.4f, random-init probe %.4f, chance %.4f, final loss %.4f",
                  result->report->accuracy, random_acc, chance, result->final_loss);
  g_assert_cmpfloat (result->report->accuracy, >=, chance + 0.2);
  g_assert_cmpfloat (result->report->accuracy, >, random_acc);
  /* the loss went down from log K */
  g_assert_cmpfloat (result->final_loss, <, 0.8 * log (K));
}

static void
test_deterministic (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSupervisedResult) a = NULL, b = NULL, c = NULL;
  PtSupervisedOptions options;
  guint n_test = pt_dataset_get_n_images (small_test);
  gboolean differs = FALSE;

  small_options (&options, 15);
  a = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL,
                         small_test, &options, NULL, &error);
  g_assert_no_error (error);
  b = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL,
                         small_test, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (a->final_loss, ==, b->final_loss);
  g_assert_cmpmem (a->pred, n_test * sizeof (int), b->pred, n_test * sizeof (int));
  g_assert_cmpmem (a->test_features, (gsize) n_test * a->dim * sizeof (float),
                   b->test_features, (gsize) n_test * b->dim * sizeof (float));

  options.seed = 12;
  c = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL,
                         small_test, &options, NULL, &error);
  g_assert_no_error (error);
  for (gsize i = 0; i < (gsize) n_test * a->dim && !differs; i++)
    differs = a->test_features[i] != c->test_features[i];
  g_assert_true (differs);
}

typedef struct {
  int           calls;
  int           last_step;
  int           n_steps;
  int           stop_at;
  int           cancel_at;
  GCancellable *cancellable;
} Progress;

static gboolean
on_progress_cb (int      step,
                int      n_steps,
                double   loss,
                gpointer user_data)
{
  Progress *p = user_data;

  g_assert_cmpint (step, ==, p->last_step + 1);
  g_assert_true (isfinite (loss));
  if (p->calls > 0)
    g_assert_cmpint (n_steps, ==, p->n_steps);
  p->n_steps = n_steps;
  p->last_step = step;
  p->calls++;
  if (p->cancellable != NULL && step == p->cancel_at)
    g_cancellable_cancel (p->cancellable);
  return p->stop_at == 0 || step < p->stop_at;
}

static void
test_progress (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSupervisedResult) result = NULL;
  PtSupervisedOptions options;
  Progress p = { 0 };

  small_options (&options, 8);
  options.progress = on_progress_cb;
  options.progress_data = &p;
  result = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL,
                         small_test, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p.calls, ==, 8);
  g_assert_cmpint (p.n_steps, ==, 8);
  g_assert_cmpint (result->n_steps, ==, 8);
  g_clear_pointer (&result, pt_supervised_result_free);

  /* FALSE stops early; what was trained is still evaluated */
  memset (&p, 0, sizeof p);
  p.stop_at = 3;
  result = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL,
                         small_test, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (p.calls, ==, 3);
  g_assert_cmpint (result->n_steps, ==, 3);
  g_assert_nonnull (result->report);
  g_assert_cmpint (result->report->n, ==, (int) pt_dataset_get_n_images (small_test));
}

static void
test_cancel (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PtSupervisedResult *result;
  PtSupervisedOptions options;
  Progress p = { 0 };

  small_options (&options, 50);
  options.progress = on_progress_cb;
  options.progress_data = &p;
  p.cancellable = cancellable;
  p.cancel_at = 2;
  result = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL, small_test, &options,
                              cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 2);
  g_clear_error (&error);

  /* already cancelled: no step */
  memset (&p, 0, sizeof p);
  result = pt_supervised_run (run_dir, small_train, small_subset, N_SMALL, small_test, &options,
                              cancellable, &error);
  g_assert_null (result);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpint (p.calls, ==, 0);
}

static void
expect_invalid (PtDataset  *train,
                const int  *idx,
                int         n,
                const char *fragment)
{
  g_autoptr(GError) error = NULL;
  PtSupervisedOptions options;
  PtSupervisedResult *result;

  small_options (&options, 2);
  result = pt_supervised_run (run_dir, train, idx, n, test_set, &options, NULL, &error);
  g_assert_null (result);
  g_assert_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_bad_input (void)
{
  int n_train = (int) pt_dataset_get_n_images (train_set);
  int out_of_range[] = { 0, n_train };
  int negative[] = { -1 };
  int one[] = { 0 };
  g_autofree guint8 *pixels = g_new0 (guint8, 4 * 3 * 32 * 32);
  int some_labels[] = { 0, -1, 1, 2 };
  g_autoptr(PtDataset) unlabeled = NULL;
  g_autoptr(PtDataset) partly = NULL;
  g_autoptr(PtDataset) small = NULL;
  g_autoptr(GError) error = NULL;
  PtSupervisedOptions options;
  int two[] = { 0, 2 };

  expect_invalid (train_set, out_of_range, 2, "has 10000 images");
  expect_invalid (train_set, negative, 1, "image -1");
  expect_invalid (train_set, one, 0, "empty");
  expect_invalid (train_set, NULL, 0, "empty");

  unlabeled = pt_dataset_new_from_memory ("unlabeled", 3, 32, 32, 4, pixels, NULL, 0, NULL);
  expect_invalid (unlabeled, one, 1, "no labels");
  partly = pt_dataset_new_from_memory ("partly", 3, 32, 32, 4, pixels, some_labels, 3, NULL);
  expect_invalid (partly, (int[]) { 1 }, 1, "no label");
  small = pt_dataset_new_from_memory ("small", 1, 28, 28, 4, pixels, some_labels, 3, NULL);
  expect_invalid (small, two, 2, "1x28x28");

  /* bad options */
  small_options (&options, 2);
  options.lr = 0.0;
  g_assert_null (pt_supervised_run (run_dir, train_set, one, 1, test_set, &options, NULL, &error));
  g_assert_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID);
  g_clear_error (&error);

  /* not a run */
  small_options (&options, 2);
  g_assert_null (pt_supervised_run (tmp_dir, train_set, one, 1, test_set, &options, NULL, &error));
  g_assert_nonnull (error);
}

static void
test_single_image (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSupervisedResult) result = NULL;
  PtSupervisedOptions options;
  int one[] = { 5 };

  /* batch shrinks to the subset; batchnorm over one image still works */
  small_options (&options, 3);
  result = pt_supervised_run (run_dir, small_train, one, 1, small_test, &options, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (result->n_steps, ==, 3);
  g_assert_true (isfinite (result->final_loss));
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_methods_register_builtin ();
  tmp_dir = g_dir_make_tmp ("pt-supervised-XXXXXX", &error);
  g_assert_no_error (error);
  run_dir = g_build_filename (tmp_dir, "run", NULL);
  make_run ();
  train_set = pt_features_open_split (run_dir, PT_SPLIT_TRAIN, NULL, &error);
  g_assert_no_error (error);
  test_set = pt_features_open_split (run_dir, PT_SPLIT_TEST, NULL, &error);
  g_assert_no_error (error);
  mid_train = pt_dataset_new_balanced_subset (train_set, 3000);
  mid_test = pt_dataset_new_balanced_subset (test_set, 1000);
  subset = pt_subset_balanced (pt_dataset_get_labels (mid_train),
                               (int) pt_dataset_get_n_images (mid_train),
                               pt_dataset_get_n_classes (mid_train), 0.0, PER_CLASS, 7, &n_subset);

  small_train = pt_dataset_new_balanced_subset (train_set, 400);
  small_test = pt_dataset_new_balanced_subset (test_set, 300);
  for (guint i = 0; i < G_N_ELEMENTS (small_subset); i++)
    small_subset[i] = (int) (i * 7 % 400);

  g_test_add_func ("/core/supervised/auto-steps", test_auto_steps);
  g_test_add_func ("/core/supervised/learns", test_learns);
  g_test_add_func ("/core/supervised/deterministic", test_deterministic);
  g_test_add_func ("/core/supervised/progress", test_progress);
  g_test_add_func ("/core/supervised/cancel", test_cancel);
  g_test_add_func ("/core/supervised/bad-input", test_bad_input);
  g_test_add_func ("/core/supervised/single-image", test_single_image);
  status = g_test_run ();

  g_object_unref (train_set);
  g_object_unref (test_set);
  g_object_unref (mid_train);
  g_object_unref (mid_test);
  g_object_unref (small_train);
  g_object_unref (small_test);
  g_free (subset);
  pt_test_rm_rf (tmp_dir);
  g_free (run_dir);
  g_free (tmp_dir);
  return status;
}
