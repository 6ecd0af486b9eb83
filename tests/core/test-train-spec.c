/* Tests for pt-train-spec: a run described by a PtTrainSpec becomes a
 * trainer whose config.ini records everything; resume rebuilds the same
 * trainer (bit-for-bit losses); bad specs fail with clear errors. Method:
 * the test double, registered here, over the built-in shapes dataset. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-methods.h"
#include "pt-test-files.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

static PtDataset *
shapes (void)
{
  static PtDataset *data;
  g_autoptr(GError) error = NULL;

  if (data == NULL)
    {
      data = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
      g_assert_no_error (error);
    }
  return data;
}

static PtTrainSpec *
new_spec (const char *out_dir,
          guint64     steps)
{
  PtTrainSpec *spec = pt_train_spec_new ();

  spec->method = g_strdup ("test-linear");
  spec->dataset = g_strdup ("shapes");
  spec->batch_size = 16;
  spec->steps = steps;
  spec->seed = 11;
  spec->out_dir = g_strdup (out_dir);
  spec->checkpoint_every = 4;
  return spec;
}

/* new_spec for DeepCluster at width 4 (the built-in methods registered). */
static PtTrainSpec *
new_deepcluster_spec (const char *out_dir,
                      guint64     steps)
{
  PtTrainSpec *spec = new_spec (out_dir, steps);

  pt_methods_register_builtin ();
  g_free (spec->method);
  spec->method = g_strdup ("deepcluster");
  spec->width = 4;
  return spec;
}

static void
collect_cb (PtTrainer           *trainer,
            const PtStepMetrics *metrics,
            gpointer             user_data)
{
  GArray *losses = user_data;

  if (losses->len < metrics->step)
    g_array_set_size (losses, metrics->step);
  g_array_index (losses, double, metrics->step - 1) = metrics->loss;
}

static volatile sig_atomic_t stop_flag;
static guint64 stop_at;

static void
stop_cb (PtTrainer           *trainer,
         const PtStepMetrics *metrics,
         gpointer             user_data)
{
  collect_cb (trainer, metrics, user_data);
  if (metrics->step == stop_at)
    stop_flag = 1;
}

static void
run_to_end (PtTrainer *trainer,
            GArray    *losses,
            guint64    stop)
{
  g_autoptr(GError) error = NULL;

  stop_flag = 0;
  stop_at = stop;
  pt_trainer_set_step_func (trainer, stop_cb, losses);
  g_assert_true (pt_trainer_run_blocking (trainer, &stop_flag, &error));
  g_assert_no_error (error);
}

static void
test_defaults (void)
{
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (spec->width, ==, 16);
  g_assert_cmpint (spec->batch_size, ==, 128);
  g_assert_cmpfloat (spec->epochs, ==, 10.0);
  g_assert_null (spec->method);
  g_assert_null (spec->params);
  g_assert_true (pt_train_spec_set_param (spec, "lr=0.25", &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (g_key_file_get_double (spec->params, "method", "lr", NULL), ==, 0.25);
  g_assert_false (pt_train_spec_set_param (spec, "lr", &error));
  g_assert_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pt_train_spec_set_param (spec, "lr=fast", &error));
  g_assert_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID);
  g_assert_cmpstr (pt_train_spec_default_augment ("simclr"), ==, "simclr-small");
  g_assert_null (pt_train_spec_default_augment ("test-linear"));
}

static void
test_build_config (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *out = g_build_filename (dir, "run", NULL);
  g_autoptr(PtTrainSpec) spec = new_spec (out, 0);
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) losses = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *config_path = g_build_filename (out, "config.ini", NULL);
  g_autofree char *last = g_build_filename (out, "checkpoints", "last", NULL);
  g_autofree char *metrics = g_build_filename (out, "metrics.jsonl", NULL);
  g_autofree char *content = NULL;
  g_autofree char *value = NULL;
  PtNormalization norm;

  spec->epochs = 0.01;   /* 10000 / 16 = 625 batches an epoch -> 7 steps */
  g_assert_true (pt_train_spec_set_param (spec, "lr=0.01", &error));
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);
  run_to_end (trainer, losses, 0);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 7);
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (losses->len, ==, 7);
  for (guint i = 0; i < losses->len; i++)
    g_assert_true (isfinite (g_array_index (losses, double, i)));
  g_assert_true (g_file_test (last, G_FILE_TEST_IS_REGULAR));
  g_assert_true (g_file_test (metrics, G_FILE_TEST_IS_REGULAR));

  g_assert_true (g_key_file_load_from_file (kf, config_path, G_KEY_FILE_NONE, &error));
  g_assert_no_error (error);
  value = g_key_file_get_string (kf, "run", "method", NULL);
  g_assert_cmpstr (value, ==, "test-linear");
  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (kf, "run", "dataset", NULL);
  g_assert_cmpstr (value, ==, "shapes");
  g_clear_pointer (&value, g_free);
  value = g_key_file_get_string (kf, "run", "dataset_hash", NULL);
  g_assert_cmpstr (value, ==, pt_dataset_get_content_hash (shapes ()));
  g_clear_pointer (&value, g_free);
  g_assert_cmpint (g_key_file_get_integer (kf, "run", "batch_size", NULL), ==, 16);
  g_assert_cmpint (g_key_file_get_integer (kf, "run", "encoder_width", NULL), ==, 16);
  g_assert_cmpuint (g_key_file_get_uint64 (kf, "run", "seed", NULL), ==, 11);
  g_assert_cmpuint (g_key_file_get_uint64 (kf, "run", "steps", NULL), ==, 7);
  g_assert_true (g_key_file_has_key (kf, "run", "app_version", NULL));
  g_assert_cmpfloat (g_key_file_get_double (kf, "method", "lr", NULL), ==, 0.01);
  g_assert_cmpfloat (g_key_file_get_double (kf, "method", "momentum", NULL), ==, 0.9);
  value = g_key_file_get_string (kf, "augment", "name", NULL);
  g_assert_cmpstr (value, ==, "crop-flip");
  content = g_key_file_get_string (kf, "augment", "content", NULL);
  g_assert_nonnull (strstr (content, "[view1:crop]"));
  g_assert_true (pt_normalization_load (&norm, kf, "run", &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (norm.std[0], >, 0.01);

  pt_test_rm_rf (dir);
}

static void
test_resume_equal (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *a = g_build_filename (dir, "a", NULL);
  g_autofree char *b = g_build_filename (dir, "b", NULL);
  g_autoptr(PtTrainSpec) sa = new_spec (a, 20);
  g_autoptr(PtTrainSpec) sb = new_spec (b, 20);
  g_autoptr(GArray) whole = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GArray) parts = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  PtTrainer *trainer;

  trainer = pt_train_spec_build (sa, shapes (), NULL, &error);
  g_assert_no_error (error);
  run_to_end (trainer, whole, 0);
  g_assert_cmpuint (whole->len, ==, 20);
  g_object_unref (trainer);

  trainer = pt_train_spec_build (sb, shapes (), NULL, &error);
  g_assert_no_error (error);
  run_to_end (trainer, parts, 10);   /* graceful stop with a checkpoint at 10 */
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 10);
  g_object_unref (trainer);

  trainer = pt_train_resume (b, 0, &warning, &error);
  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 10);
  run_to_end (trainer, parts, 0);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 20);
  g_object_unref (trainer);

  g_assert_cmpuint (parts->len, ==, 20);
  for (guint i = 0; i < 20; i++)
    g_assert_cmpmem (&g_array_index (whole, double, i), sizeof (double),
                     &g_array_index (parts, double, i), sizeof (double));

  /* Further than planned. */
  trainer = pt_train_resume (b, 24, NULL, &error);
  g_assert_no_error (error);
  run_to_end (trainer, parts, 0);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 24);
  g_object_unref (trainer);
  pt_test_rm_rf (dir);
}

static void
test_weights (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(PtTrainSpec) spec = new_spec (dir, 6);
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GArray) losses = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRun) run = NULL;
  g_autoptr(PtMethod) fresh = NULL;
  PtMethod *trained;
  PtNormalization norm;
  guint64 step = 0;
  int dim;
  g_autofree float *images = g_new0 (float, 4 * 3 * 32 * 32);
  g_autofree float *f1 = NULL, *f2 = NULL, *f3 = NULL;

  g_free (spec->out_dir);
  spec->out_dir = g_build_filename (dir, "run", NULL);
  trainer = pt_train_spec_build (spec, shapes (), NULL, &error);
  g_assert_no_error (error);
  run_to_end (trainer, losses, 0);
  trained = pt_trainer_get_method (trainer);

  run = pt_run_open (spec->out_dir, &error);
  g_assert_no_error (error);
  fresh = pt_train_method_from_config (pt_run_get_config (run), &norm, &error);
  g_assert_no_error (error);
  dim = pt_method_get_feature_dim (fresh);
  g_assert_cmpint (dim, ==, pt_method_get_feature_dim (trained));
  for (int i = 0; i < 4 * 3 * 32 * 32; i++)
    images[i] = (float) ((i * 37) % 101) / 101.0f;
  f1 = g_new (float, 4 * dim);
  f2 = g_new (float, 4 * dim);
  f3 = g_new (float, 4 * dim);
  g_assert_true (pt_method_embed (trained, images, 4, f1, &error));
  g_assert_true (pt_method_embed (fresh, images, 4, f2, &error));
  g_assert_no_error (error);
  g_assert_true (memcmp (f1, f2, 4 * dim * sizeof (float)) != 0);   /* untrained */
  g_assert_true (pt_train_load_weights (fresh, spec->out_dir, &step, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (step, ==, 6);
  g_assert_true (pt_method_embed (fresh, images, 4, f3, &error));
  g_assert_cmpmem (f1, 4 * dim * sizeof (float), f3, 4 * dim * sizeof (float));
  pt_test_rm_rf (dir);
}

static void
test_errors (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *out = g_build_filename (dir, "run", NULL);
  g_autoptr(PtTrainSpec) spec = new_spec (out, 5);
  g_autoptr(GError) error = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *config_path = g_build_filename (out, "config.ini", NULL);
  g_autofree char *missing = g_build_filename (dir, "nothing", NULL);
  PtTrainer *trainer;

  g_free (spec->method);
  spec->method = g_strdup ("no-such-method");
  g_assert_null (pt_train_spec_build (spec, shapes (), NULL, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "test-linear"));
  g_clear_error (&error);
  g_free (spec->method);
  spec->method = g_strdup ("test-linear");

  g_assert_true (pt_train_spec_set_param (spec, "speed=2", &error));
  g_assert_null (pt_train_spec_build (spec, shapes (), NULL, &error));
  g_assert_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "speed"));
  g_clear_error (&error);
  g_clear_pointer (&spec->params, g_key_file_unref);

  g_assert_true (pt_train_spec_set_param (spec, "lr=1000", &error));
  g_assert_null (pt_train_spec_build (spec, shapes (), NULL, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_clear_pointer (&spec->params, g_key_file_unref);

  spec->augment = g_strdup ("mae");   /* one view; the test method needs two */
  g_assert_null (pt_train_spec_build (spec, shapes (), NULL, &error));
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS);
  g_clear_error (&error);
  g_clear_pointer (&spec->augment, g_free);

  g_free (spec->dataset);
  spec->dataset = g_strdup (missing);
  g_assert_null (pt_train_spec_build (spec, NULL, NULL, &error));
  g_assert_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_free (spec->dataset);
  spec->dataset = g_strdup ("shapes");

  g_assert_null (pt_train_resume (missing, 0, NULL, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* A run whose dataset changed since: refused with a sentence. */
  trainer = pt_train_spec_build (spec, shapes (), NULL, &error);
  g_assert_no_error (error);
  g_object_unref (trainer);
  g_assert_true (g_key_file_load_from_file (kf, config_path, G_KEY_FILE_KEEP_COMMENTS, &error));
  g_key_file_set_string (kf, "run", "dataset_hash", "0123");
  g_assert_true (g_key_file_save_to_file (kf, config_path, &error));
  g_assert_null (pt_train_resume (out, 0, NULL, &error));
  g_assert_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "shapes"));
  pt_test_rm_rf (dir);
}

/* A method with a memory bank (DeepCluster) gets one row per image of the
 * dataset unless the spec says otherwise, and DeepCluster's two views come
 * from the simclr-small recipe. */
static void
test_memory_bank (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();

  pt_threads_set (1);
  g_assert_cmpstr (pt_train_spec_default_augment ("deepcluster"), ==, "simclr-small");
  for (int explicit = 0; explicit < 2; explicit++)
    {
      g_autofree char *out = g_strdup_printf ("%s/run%d", dir, explicit);
      g_autoptr(PtTrainSpec) spec = new_deepcluster_spec (out, 2);
      g_autoptr(PtTrainer) trainer = NULL;
      g_autoptr(GError) error = NULL;

      if (explicit)
        g_assert_true (pt_train_spec_set_param (spec, "bank_size=200", &error));
      trainer = pt_train_spec_build (spec, shapes (), NULL, &error);
      g_assert_no_error (error);
      g_assert_cmpfloat (pt_method_get_param (pt_trainer_get_method (trainer), "bank_size"), ==,
                         explicit ? 200.0 : (double) pt_dataset_get_n_images (shapes ()));
    }
  pt_test_rm_rf (dir);
}

/* A run whose recorded recipe no longer fits its method (DeepCluster
 * trained on one view before it became DeepCluster-v2, which needs two)
 * fails to resume with a sentence naming the run and saying why. */
static void
test_resume_changed_method (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *out = g_build_filename (dir, "run", NULL);
  g_autofree char *ini = g_build_filename (out, "config.ini", NULL);
  g_autoptr(PtTrainSpec) spec = new_deepcluster_spec (out, 2);
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtTrainer) resumed = NULL;
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autoptr(PtAugRecipe) one_view = pt_augment_recipe_new ("crop-flip");
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autoptr(GArray) losses = g_array_new (FALSE, TRUE, sizeof (double));

  pt_threads_set (1);
  trainer = pt_train_spec_build (spec, shapes (), NULL, &error);
  g_assert_no_error (error);
  run_to_end (trainer, losses, 0);
  g_clear_object (&trainer);

  pt_aug_view_group_enable (pt_augment_recipe_add_group (one_view, "view1", 1, 1.0), PT_AUG_CROP);
  text = pt_augment_recipe_to_data (one_view, NULL);
  g_assert_true (g_key_file_load_from_file (config, ini, G_KEY_FILE_KEEP_COMMENTS, NULL));
  g_key_file_set_string (config, "augment", "content", text);
  g_assert_true (g_key_file_save_to_file (config, ini, NULL));

  resumed = pt_train_resume (out, 4, NULL, &error);
  g_assert_null (resumed);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, out));
  g_assert_nonnull (strstr (error->message, "earlier form of DeepCluster"));
  pt_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_method_register (&pt_test_method_class);
  g_test_add_func ("/core/train-spec/defaults", test_defaults);
  g_test_add_func ("/core/train-spec/build-config", test_build_config);
  g_test_add_func ("/core/train-spec/resume-equal", test_resume_equal);
  g_test_add_func ("/core/train-spec/weights", test_weights);
  g_test_add_func ("/core/train-spec/errors", test_errors);
  g_test_add_func ("/core/train-spec/memory-bank", test_memory_bank);
  g_test_add_func ("/core/train-spec/resume-changed-method", test_resume_changed_method);
  return g_test_run ();
}
