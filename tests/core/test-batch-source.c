/* Tests for batch sources: the augmentation loader adapter gives the
 * loader's batches, restores its position exactly, refuses a method whose
 * views do not match, and drives a trainer to a bit-exact resume. */
#include <string.h>
#include <glib/gstdio.h>

#include "pt-aug-rng.h"
#include "pt-batch-source.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-trainer.h"

#define N_IMAGES 40
#define SIDE 16

static guint8 pixels[N_IMAGES * 3 * SIDE * SIDE];

static const guint8 *
raw_get_image (gpointer data,
               guint    i)
{
  return pixels + (gsize) i * 3 * SIDE * SIDE;
}

static int
raw_get_label (gpointer data,
               guint    i)
{
  return (int) (i % 4);
}

static PtLoader *
new_loader (guint batch_size)
{
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(GError) error = NULL;
  PtLoaderSource source = { 0 };
  PtLoaderOptions options;
  PtLoader *loader;

  recipe = pt_augment_recipe_load ("simclr", &error);
  g_assert_no_error (error);
  source.n_images = N_IMAGES;
  source.channels = 3;
  source.height = SIDE;
  source.width = SIDE;
  source.get_image = raw_get_image;
  source.get_label = raw_get_label;
  pt_loader_options_init (&options);
  options.batch_size = batch_size;
  options.seed = 99;
  options.n_threads = 1;
  loader = pt_loader_new_for_source (&source, recipe, &options, &error);
  g_assert_no_error (error);
  return loader;
}

/* The shapes the "simclr" recipe makes from 3 x SIDE x SIDE. */
static int
recipe_views (PtViewShape *shapes)
{
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("simclr", NULL);
  guint n = pt_augment_recipe_get_n_views (recipe);

  g_assert_cmpuint (n, >=, 1);
  g_assert_cmpuint (n, <=, PT_MAX_VIEWS);
  for (guint v = 0; v < n; v++)
    pt_augment_recipe_get_view_shape (recipe, v, 3, SIDE, SIDE, &shapes[v].channels,
                                      &shapes[v].height, &shapes[v].width);
  return (int) n;
}

static void
assert_batch_is (const PtBatch       *batch,
                 const PtLoaderBatch *lb)
{
  g_assert_cmpuint (batch->epoch, ==, lb->epoch);
  for (int v = 0; v < batch->n_views; v++)
    g_assert_cmpmem (batch->views[v], pt_batch_view_size (batch, v) * sizeof (float),
                     lb->views[v], pt_batch_view_size (batch, v) * sizeof (float));
  for (int b = 0; b < batch->batch_size; b++)
    {
      g_assert_cmpint (batch->labels[b], ==, lb->labels[b]);
      g_assert_cmpuint (batch->indices[b], ==, lb->indices[b]);
    }
}

static void
test_loader_batches (void)
{
  g_autoptr(PtBatchSource) source = pt_batch_source_new_for_loader (new_loader (8));
  PtLoader *direct = new_loader (8);
  g_autoptr(PtBatch) batch = NULL;
  g_autoptr(GError) error = NULL;
  PtViewShape shapes[PT_MAX_VIEWS];
  int n_views = recipe_views (shapes);

  batch = pt_batch_new (8, n_views, shapes);
  /* Across an epoch boundary (5 batches of 8 per epoch). */
  for (int i = 0; i < 7; i++)
    {
      g_autoptr(PtLoaderBatch) lb = pt_loader_next (direct);

      g_assert_true (pt_batch_source_next (source, batch, &error));
      g_assert_no_error (error);
      assert_batch_is (batch, lb);
    }
  pt_loader_free (direct);
}

static void
test_loader_position (void)
{
  g_autoptr(PtBatchSource) source = pt_batch_source_new_for_loader (new_loader (8));
  g_autoptr(PtBatch) batch = NULL;
  g_autoptr(PtBatch) again = NULL;
  g_autoptr(GBytes) position = NULL;
  g_autoptr(GBytes) bad = g_bytes_new ("xyz", 3);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) saved = g_ptr_array_new_with_free_func (g_free);
  PtViewShape shapes[PT_MAX_VIEWS];
  int n_views = recipe_views (shapes);

  batch = pt_batch_new (8, n_views, shapes);
  again = pt_batch_new (8, n_views, shapes);
  for (int i = 0; i < 3; i++)
    g_assert_true (pt_batch_source_next (source, batch, NULL));
  position = pt_batch_source_get_position (source);
  g_assert_cmpuint (g_bytes_get_size (position), ==, 16);
  for (int i = 0; i < 4; i++)
    {
      g_assert_true (pt_batch_source_next (source, batch, NULL));
      g_ptr_array_add (saved, g_memdup2 (batch->views[0], pt_batch_view_size (batch, 0) * 4));
    }
  g_assert_true (pt_batch_source_set_position (source, position, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 4; i++)
    {
      g_assert_true (pt_batch_source_next (source, again, NULL));
      g_assert_cmpmem (again->views[0], pt_batch_view_size (again, 0) * 4,
                       saved->pdata[i], pt_batch_view_size (again, 0) * 4);
    }

  g_assert_false (pt_batch_source_set_position (source, bad, &error));
  g_assert_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_POSITION);
}

static void
test_loader_mismatch (void)
{
  g_autoptr(PtBatchSource) source = pt_batch_source_new_for_loader (new_loader (8));
  g_autoptr(PtBatch) wrong_count = NULL;
  g_autoptr(PtBatch) wrong_shape = NULL;
  g_autoptr(PtBatch) wrong_size = NULL;
  g_autoptr(GError) error = NULL;
  PtViewShape shapes[PT_MAX_VIEWS];
  int n_views = recipe_views (shapes);

  shapes[n_views] = shapes[0];
  wrong_count = pt_batch_new (8, n_views + 1, shapes);
  g_assert_false (pt_batch_source_next (source, wrong_count, &error));
  g_assert_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_MISMATCH);
  g_clear_error (&error);

  wrong_size = pt_batch_new (4, n_views, shapes);
  g_assert_false (pt_batch_source_next (source, wrong_size, &error));
  g_assert_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_MISMATCH);
  g_clear_error (&error);

  shapes[n_views - 1].height += 1;
  wrong_shape = pt_batch_new (8, n_views, shapes);
  g_assert_false (pt_batch_source_next (source, wrong_shape, &error));
  g_assert_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "View"));
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
collect_cb (PtTrainer           *trainer,
            const PtStepMetrics *metrics,
            gpointer             user_data)
{
  GArray *losses = user_data;

  g_array_set_size (losses, MAX (losses->len, metrics->step));
  g_array_index (losses, double, metrics->step - 1) = metrics->loss;
}

/* Trains the test double on loader batches to `steps`, fresh or resumed. */
static GArray *
train (const char *dir,
       guint64     steps,
       gboolean    resume)
{
  PtViewShape shapes[PT_MAX_VIEWS];
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  PtTrainerOptions options = { steps, 4, 0 };
  GArray *losses = g_array_new (FALSE, TRUE, sizeof (double));
  PtRun *run;

  /* The test double wants 2 views of its input shape: the recipe's. */
  g_assert_cmpint (recipe_views (shapes), ==, 2);
  config.channels = shapes[0].channels;
  config.height = shapes[0].height;
  config.width = shapes[0].width;
  method = pt_method_new_for_class (&pt_test_method_class, &config, &error);
  g_assert_no_error (error);
  if (resume)
    run = pt_run_open (dir, &error);
  else
    {
      PtRunSpec spec = { .method = "test-linear", .dataset = "raw", .batch_size = 8,
                         .augment_name = "simclr" };
      g_autoptr(GKeyFile) keyfile = pt_run_config_new (&spec, method);

      run = pt_run_create (dir, keyfile, &error);
    }
  g_assert_no_error (error);
  trainer = pt_trainer_new (method, pt_batch_source_new_for_loader (new_loader (8)), run,
                            &options);
  if (resume)
    g_assert_true (pt_trainer_load_checkpoint (trainer, NULL, &error));
  g_assert_no_error (error);
  pt_trainer_set_step_func (trainer, collect_cb, losses);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
  return losses;
}

static void
test_loader_resume (void)
{
  g_autofree char *a = g_dir_make_tmp ("pt-source-XXXXXX", NULL);
  g_autofree char *b = g_dir_make_tmp ("pt-source-XXXXXX", NULL);
  g_autoptr(GArray) whole = train (a, 14, FALSE);
  g_autoptr(GArray) first = train (b, 7, FALSE);
  g_autoptr(GArray) rest = train (b, 14, TRUE);

  g_assert_cmpuint (whole->len, ==, 14);
  g_assert_cmpuint (rest->len, ==, 14);
  for (guint s = 0; s < 7; s++)
    g_assert_true (memcmp (&g_array_index (whole, double, s),
                           &g_array_index (first, double, s), sizeof (double)) == 0);
  for (guint s = 7; s < 14; s++)
    if (memcmp (&g_array_index (whole, double, s), &g_array_index (rest, double, s),
                sizeof (double)) != 0)
      g_error ("step %u: %.17g after resume, %.17g uninterrupted", s + 1,
               g_array_index (rest, double, s), g_array_index (whole, double, s));
  remove_tree (a);
  remove_tree (b);
}

int
main (int argc, char **argv)
{
  PtAugRng rng;

  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_aug_rng_init (&rng, 5, 0, 0, 0, 0);
  for (gsize i = 0; i < sizeof pixels; i++)
    pixels[i] = (guint8) pt_aug_rng_below (&rng, 256);
  g_test_add_func ("/core/batch-source/loader-batches", test_loader_batches);
  g_test_add_func ("/core/batch-source/loader-position", test_loader_position);
  g_test_add_func ("/core/batch-source/loader-mismatch", test_loader_mismatch);
  g_test_add_func ("/core/batch-source/loader-resume", test_loader_resume);
  return g_test_run ();
}
