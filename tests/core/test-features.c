/* Tests for pt-features: extraction through a frozen method (normalized,
 * batched), raw pixels, the random-init baseline, and the per-checkpoint
 * cache in a run's eval/ folder. Method: the test double over shapes. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-features.h"
#include "pt-npy.h"
#include "pt-test-files.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

static char *run_dir;
static char *tmp_dir;

static void
train (guint64 total)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;

  if (total == 0)
    {
      g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();

      spec->method = g_strdup ("test-linear");
      spec->dataset = g_strdup ("shapes");
      spec->batch_size = 16;
      spec->steps = 4;
      spec->seed = 5;
      spec->out_dir = g_strdup (run_dir);
      trainer = pt_train_spec_build (spec, NULL, NULL, &error);
    }
  else
    trainer = pt_train_resume (run_dir, total, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
}

static void
test_raw_pixels (void)
{
  guint8 pixels[2 * 3 * 2 * 2];
  g_autoptr(PtDataset) data = NULL;
  g_autofree float *f = NULL;
  int dim = 0;

  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) (i * 11);
  data = pt_dataset_new_from_memory ("tiny", 3, 2, 2, 2, pixels, NULL, 0, NULL);
  f = pt_features_raw_pixels (data, &dim);
  g_assert_cmpint (dim, ==, 12);
  for (guint i = 0; i < sizeof pixels; i++)
    g_assert_cmpfloat (f[i], ==, pixels[i] / 255.0f);
  g_assert_cmpstr (pt_feature_kind_to_string (PT_FEATURES_RANDOM_INIT), ==, "random-init");
}

static void
test_extract (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = pt_features_open_split (run_dir, PT_SPLIT_TEST, NULL, &error);
  g_autoptr(PtMethod) method = NULL;
  g_autofree float *f = NULL;
  g_autofree float *one = NULL;
  g_autofree float *image = NULL;
  PtNormalization norm;
  guint64 step = 99;
  int dim = 0;
  guint n;
  const guint idx[] = { 0, 255, 256, 1999 };   /* across batch edges */

  g_assert_no_error (error);
  n = pt_dataset_get_n_images (test);
  g_assert_cmpuint (n, ==, 2000);
  method = pt_features_load_method (run_dir, PT_FEATURES_TRAINED, &norm, &step, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (step, ==, 4);
  f = pt_features_extract (method, test, &norm, &dim, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dim, ==, PT_TEST_CLASSES);

  /* Row i is embed of image i, normalized as in training. */
  image = g_new (float, 3 * 32 * 32);
  one = g_new (float, dim);
  for (guint k = 0; k < G_N_ELEMENTS (idx); k++)
    {
      const guint8 *p = pt_dataset_get_image (test, idx[k]);

      for (int j = 0; j < 3 * 32 * 32; j++)
        image[j] = (p[j] / 255.0f - norm.mean[j / 1024]) / norm.std[j / 1024];
      g_assert_true (pt_method_embed (method, image, 1, one, &error));
      for (int d = 0; d < dim; d++)
        g_assert_cmpfloat_with_epsilon (f[(gsize) idx[k] * dim + d], one[d], 1e-5);
    }
}

static void
test_cache (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = pt_features_open_split (run_dir, PT_SPLIT_TEST, NULL, &error);
  g_autofree float *a = NULL, *b = NULL, *r = NULL, *c = NULL;
  g_autofree char *path = g_build_filename (run_dir, "eval", "features-test-step4.npy", NULL);
  g_autofree char *later = g_build_filename (run_dir, "eval", "features-test-step6.npy", NULL);
  g_autofree char *random = g_build_filename (run_dir, "eval", "features-test-random.npy", NULL);
  g_autofree float *on_disk = NULL;
  guint64 step = 0, rows = 0, cols = 0;
  gboolean cached = TRUE;
  int dim = 0;
  gsize size;

  g_assert_no_error (error);
  a = pt_features_for_run (run_dir, test, PT_FEATURES_TRAINED, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpuint (step, ==, 4);
  size = (gsize) 2000 * dim * sizeof (float);
  on_disk = pt_npy_load_f32 (path, &rows, &cols, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows, ==, 2000);
  g_assert_cmpuint (cols, ==, dim);
  g_assert_cmpmem (on_disk, size, a, size);

  b = pt_features_for_run (run_dir, test, PT_FEATURES_TRAINED, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cached);
  g_assert_cmpmem (a, size, b, size);

  /* The random-init baseline: same class and seed, untrained. */
  r = pt_features_for_run (run_dir, test, PT_FEATURES_RANDOM_INIT, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpuint (step, ==, 0);
  g_assert_true (g_file_test (random, G_FILE_TEST_IS_REGULAR));
  g_assert_true (memcmp (a, r, size) != 0);

  /* A newer checkpoint: new features, a new cache file. */
  train (6);
  c = pt_features_for_run (run_dir, test, PT_FEATURES_TRAINED, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpuint (step, ==, 6);
  g_assert_true (g_file_test (later, G_FILE_TEST_IS_REGULAR));
  g_assert_true (memcmp (a, c, size) != 0);

  /* A damaged cache file is recomputed, not trusted. */
  g_assert_true (g_file_set_contents (later, "junk", 4, NULL));
  g_clear_pointer (&b, g_free);
  b = pt_features_for_run (run_dir, test, PT_FEATURES_TRAINED, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpmem (b, size, c, size);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtDataset) small = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing", NULL);
  guint8 pixels[3 * 8 * 8] = { 0 };
  int dim = 0;

  g_assert_null (pt_features_open_split (missing, PT_SPLIT_TEST, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  method = pt_features_load_method (run_dir, PT_FEATURES_RANDOM_INIT, NULL, NULL, &error);
  g_assert_no_error (error);
  small = pt_dataset_new_from_memory ("small", 3, 8, 8, 1, pixels, NULL, 0, NULL);
  g_assert_null (pt_features_extract (method, small, NULL, &dim, NULL, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_method_register (&pt_test_method_class);
  tmp_dir = pt_test_make_tmpdir ();
  run_dir = g_build_filename (tmp_dir, "run", NULL);
  train (0);
  g_test_add_func ("/core/features/raw-pixels", test_raw_pixels);
  g_test_add_func ("/core/features/extract", test_extract);
  g_test_add_func ("/core/features/cache", test_cache);
  g_test_add_func ("/core/features/errors", test_errors);
  status = g_test_run ();
  pt_test_rm_rf (tmp_dir);
  g_free (run_dir);
  g_free (tmp_dir);
  return status;
}
