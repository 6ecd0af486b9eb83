/* Tests for the projection-head features (pt_method_embed_projection,
 * pt_features_for_run_layer): which built-in methods have a projection
 * head, that the run's projection features are the method's own projector
 * output on the same images, their cache apart from the backbone's, and the
 * error for a method without one (RotNet). Runs: tiny real SimCLR and RotNet
 * runs on shapes (width 4, batch 16, 3 steps). */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-features.h"
#include "pt-methods.h"
#include "pt-npy.h"
#include "pt-test-files.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

#define STEPS 3

static char *tmp_dir;
static char *simclr_dir;
static char *rotnet_dir;

static void
train (const char *method,
       const char *dir)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();

  spec->method = g_strdup (method);
  spec->dataset = g_strdup ("shapes");
  spec->batch_size = 16;
  spec->width = 4;
  spec->steps = STEPS;
  spec->seed = 3;
  spec->out_dir = g_strdup (dir);
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
}

/* Every blob of the method's state, copied. */
static GBytes *
state_bytes (PtMethod *method)
{
  g_autoptr(GArray) blobs = pt_method_list_state (method);
  GByteArray *all = g_byte_array_new ();

  for (guint i = 0; i < blobs->len; i++)
    {
      const PtBlob *b = &g_array_index (blobs, PtBlob, i);

      g_byte_array_append (all, b->data, b->count * pt_blob_type_size (b->type));
    }
  return g_byte_array_free_to_bytes (all);
}

/* SimCLR, MoCo, SwAV and DeepCluster (v2) have a 128-d projection head;
 * RotNet and MAE have none, and say so. */
static void
test_methods (void)
{
  static const struct {
    const char *name;
    int         proj_dim;
  } cases[] = {
    { "simclr", 128 }, { "moco", 128 }, { "swav", 128 },
    { "deepcluster", 128 }, { "rotnet", 0 }, { "mae", 0 },
  };
  PtMethodConfig config = { 3, 32, 32, 8, 0, 1, NULL, 4, NULL, NULL };
  g_autofree float *images = g_new (float, 2 * 3 * 32 * 32);
  g_autofree float *out = g_new (float, 2 * 128);

  for (int i = 0; i < 2 * 3 * 32 * 32; i++)
    images[i] = (float) ((i * 37) % 101) / 101.0f - 0.5f;
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PtMethod) m = pt_method_new (cases[c].name, &config, &error);

      g_assert_no_error (error);
      g_assert_cmpint (pt_method_get_projection_dim (m), ==, cases[c].proj_dim);
      /* the class answers the same without an instance */
      g_assert_true (pt_method_class_has_projection (pt_method_lookup (cases[c].name)) ==
                     (cases[c].proj_dim > 0));
      g_assert_true (pt_method_has_projection (m) == (cases[c].proj_dim > 0));
      if (cases[c].proj_dim > 0)
        {
          g_autoptr(GBytes) before = state_bytes (m);
          g_autoptr(GBytes) after = NULL;
          g_autofree float *again = g_new (float, 2 * 128);
          gboolean differ = FALSE;

          g_assert_true (pt_method_embed_projection (m, images, 2, out, &error));
          g_assert_no_error (error);
          /* eval mode, no state change: same output, same state */
          g_assert_true (pt_method_embed_projection (m, images, 2, again, &error));
          g_assert_cmpmem (out, 2 * 128 * sizeof (float), again, 2 * 128 * sizeof (float));
          after = state_bytes (m);
          g_assert_true (g_bytes_equal (before, after));
          for (int i = 0; i < 2 * 128; i++)
            {
              g_assert_true (isfinite (out[i]));
              differ |= out[i] != out[128 + i % 128];
            }
          g_assert_true (differ);   /* two different images, two outputs */
        }
      else
        {
          g_assert_false (pt_method_embed_projection (m, images, 2, out, &error));
          g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
          g_assert_nonnull (strstr (error->message, pt_method_get_title (m)));
        }
    }
}

/* The run's projection features, row by row, are the trained method's
 * embed_projection of the same normalized images; the backbone features
 * are something else (another width). */
static void
test_equal_projector (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = pt_features_open_split (simclr_dir, PT_SPLIT_TEST, NULL, &error);
  g_autoptr(PtMethod) method = NULL;
  g_autofree float *f = NULL;
  g_autofree float *one = g_new (float, 128);
  g_autofree float *image = g_new (float, 3 * 32 * 32);
  PtNormalization norm;
  guint64 step = 0;
  gboolean cached = TRUE;
  int dim = 0;
  const guint idx[] = { 0, 255, 256, 1999 };   /* across batch edges */

  g_assert_no_error (error);
  g_assert_cmpuint (pt_dataset_get_n_images (test), ==, 2000);
  f = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_TRAINED,
                                 PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_cmpint (dim, ==, 128);
  g_assert_cmpuint (step, ==, STEPS);
  g_assert_false (cached);

  method = pt_features_load_method (simclr_dir, PT_FEATURES_TRAINED, &norm, &step, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pt_method_get_projection_dim (method), ==, 128);
  g_assert_cmpint (pt_method_get_feature_dim (method), ==, 8 * 4);
  for (guint k = 0; k < G_N_ELEMENTS (idx); k++)
    {
      const guint8 *p = pt_dataset_get_image (test, idx[k]);

      for (int j = 0; j < 3 * 32 * 32; j++)
        image[j] = (p[j] / 255.0f - norm.mean[j / 1024]) / norm.std[j / 1024];
      g_assert_true (pt_method_embed_projection (method, image, 1, one, &error));
      g_assert_no_error (error);
      for (int d = 0; d < 128; d++)
        g_assert_cmpfloat_with_epsilon (f[(gsize) idx[k] * 128 + d], one[d], 1e-5);
    }
}

/* Projection caches have their own files: reused on the second call, never
 * mistaken for the backbone's (or the other way round); the random-init
 * baseline has one too; raw pixels ignore the layer. */
static void
test_cache (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = pt_features_open_split (simclr_dir, PT_SPLIT_TEST, NULL, &error);
  g_autofree char *proj_path = g_strdup_printf ("%s/eval/features-test-proj-step%d.npy",
                                                simclr_dir, STEPS);
  g_autofree char *back_path = g_strdup_printf ("%s/eval/features-test-step%d.npy",
                                                simclr_dir, STEPS);
  g_autofree char *rand_path = g_build_filename (simclr_dir, "eval",
                                                 "features-test-proj-random.npy", NULL);
  g_autofree float *a = NULL, *b = NULL, *back = NULL, *r = NULL, *r2 = NULL, *raw = NULL;
  g_autofree float *on_disk = NULL;
  guint64 step = 0, rows = 0, cols = 0;
  gboolean cached = FALSE;
  int dim = 0;
  gsize size = (gsize) 2000 * 128 * sizeof (float);

  g_assert_no_error (error);
  /* test_equal_projector ran first and wrote it */
  g_assert_true (g_file_test (proj_path, G_FILE_TEST_IS_REGULAR));
  a = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_TRAINED,
                                 PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cached);
  g_assert_cmpint (dim, ==, 128);
  g_assert_cmpuint (step, ==, STEPS);
  on_disk = pt_npy_load_f32 (proj_path, &rows, &cols, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows, ==, 2000);
  g_assert_cmpuint (cols, ==, 128);
  g_assert_cmpmem (on_disk, size, a, size);

  /* the backbone: its own file, not the projection's */
  g_assert_false (g_file_test (back_path, G_FILE_TEST_IS_REGULAR));
  back = pt_features_for_run (simclr_dir, test, PT_FEATURES_TRAINED, &dim, &step, &cached,
                              NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpint (dim, ==, 32);
  g_assert_true (g_file_test (back_path, G_FILE_TEST_IS_REGULAR));
  g_clear_pointer (&back, g_free);
  back = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_TRAINED,
                                    PT_FEATURE_LAYER_BACKBONE, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cached);
  g_assert_cmpint (dim, ==, 32);
  /* and the projection cache is still the projection */
  b = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_TRAINED,
                                 PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cached);
  g_assert_cmpint (dim, ==, 128);
  g_assert_cmpmem (a, size, b, size);

  /* a cache file of the wrong width is recomputed, not trusted */
  g_assert_true (pt_npy_save_f32 (proj_path, a, 2000, 64, &error));
  g_clear_pointer (&b, g_free);
  b = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_TRAINED,
                                 PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpint (dim, ==, 128);
  g_assert_cmpmem (a, size, b, size);

  /* random init: same class and seed, untrained; its own file */
  r = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_RANDOM_INIT,
                                 PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_false (cached);
  g_assert_cmpint (dim, ==, 128);
  g_assert_cmpuint (step, ==, 0);
  g_assert_true (g_file_test (rand_path, G_FILE_TEST_IS_REGULAR));
  g_assert_true (memcmp (a, r, size) != 0);
  r2 = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_RANDOM_INIT,
                                  PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (cached);
  g_assert_cmpmem (r, size, r2, size);

  /* raw pixels ignore the layer */
  raw = pt_features_for_run_layer (simclr_dir, test, PT_FEATURES_RAW_PIXELS,
                                   PT_FEATURE_LAYER_PROJECTION, &dim, &step, &cached, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (dim, ==, 3 * 32 * 32);
  g_assert_cmpfloat (raw[5], ==, pt_dataset_get_image (test, 0)[5] / 255.0f);
}

/* RotNet has no projection head: a clear error naming the run and the
 * method, no cache file; its backbone features still work. */
static void
test_rotnet_error (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = pt_features_open_split (rotnet_dir, PT_SPLIT_TEST, NULL, &error);
  g_autofree char *eval_dir = g_build_filename (rotnet_dir, "eval", NULL);
  g_autoptr(GDir) dir = NULL;
  g_autofree float *f = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing", NULL);
  const char *name;
  int dim = -1;

  g_assert_no_error (error);
  g_assert_true (pt_features_run_has_projection (simclr_dir));
  g_assert_false (pt_features_run_has_projection (rotnet_dir));
  g_assert_false (pt_features_run_has_projection (missing));
  g_assert_false (g_file_test (missing, G_FILE_TEST_EXISTS));   /* a read-only question */

  for (int kind = PT_FEATURES_TRAINED; kind <= PT_FEATURES_RANDOM_INIT; kind++)
    {
      f = pt_features_for_run_layer (rotnet_dir, test, kind, PT_FEATURE_LAYER_PROJECTION,
                                     &dim, NULL, NULL, NULL, &error);
      g_assert_null (f);
      g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
      g_assert_nonnull (strstr (error->message, rotnet_dir));
      g_assert_nonnull (strstr (error->message, "RotNet"));
      g_assert_nonnull (strstr (error->message, "projection"));
      g_clear_error (&error);
    }
  dir = g_dir_open (eval_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    g_assert_null (strstr (name, "proj"));

  f = pt_features_for_run_layer (rotnet_dir, test, PT_FEATURES_TRAINED,
                                 PT_FEATURE_LAYER_BACKBONE, &dim, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f);
  g_assert_cmpint (dim, ==, 32);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_methods_register_builtin ();
  tmp_dir = pt_test_make_tmpdir ();
  simclr_dir = g_build_filename (tmp_dir, "simclr", NULL);
  rotnet_dir = g_build_filename (tmp_dir, "rotnet", NULL);
  train ("simclr", simclr_dir);
  train ("rotnet", rotnet_dir);
  g_test_add_func ("/core/features-projection/methods", test_methods);
  g_test_add_func ("/core/features-projection/equal-projector", test_equal_projector);
  g_test_add_func ("/core/features-projection/cache", test_cache);
  g_test_add_func ("/core/features-projection/rotnet-error", test_rotnet_error);
  status = g_test_run ();
  pt_test_rm_rf (tmp_dir);
  g_free (simclr_dir);
  g_free (rotnet_dir);
  g_free (tmp_dir);
  return status;
}
