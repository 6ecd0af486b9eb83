/* Tests for the prefetching loader over raw buffers: deterministic order,
 * batches equal to the views computed one by one, drop_last, a restorable
 * position, and a clean stop mid-epoch. */
#include <string.h>

#include "pt-loader.h"
#include "pt-aug-rng.h"

typedef struct {
  guint   n;
  int     C, H, W;
  guint8 *pixels;
  int     destroyed;   /* counts destroy calls (checked by the test) */
} RawSet;

static const guint8 *
raw_get_image (gpointer data, guint i)
{
  RawSet *set = data;

  g_assert_cmpuint (i, <, set->n);
  return set->pixels + (gsize) i * set->C * set->H * set->W;
}

static int
raw_get_label (gpointer data, guint i)
{
  return (int) (i % 10);
}

static void
raw_destroy (gpointer data)
{
  RawSet *set = data;

  set->destroyed++;
}

static void
raw_init (RawSet *set, guint n, int C, int H, int W)
{
  PtAugRng rng;

  set->n = n;
  set->C = C;
  set->H = H;
  set->W = W;
  set->destroyed = 0;
  set->pixels = g_new (guint8, (gsize) n * C * H * W);
  pt_aug_rng_init (&rng, 99, 0, 0, 0, 0);
  for (gsize i = 0; i < (gsize) n * C * H * W; i++)
    set->pixels[i] = (guint8) pt_aug_rng_below (&rng, 256);
}

static PtLoaderSource
raw_source (RawSet *set)
{
  PtLoaderSource source = { 0 };

  source.n_images = set->n;
  source.channels = set->C;
  source.height = set->H;
  source.width = set->W;
  source.get_image = raw_get_image;
  source.get_label = raw_get_label;
  source.data = set;
  source.destroy = raw_destroy;
  return source;
}

static PtAugRecipe *
load_recipe (const char *name)
{
  g_autoptr(GError) error = NULL;
  PtAugRecipe *recipe = pt_augment_recipe_load (name, &error);

  g_assert_no_error (error);
  return recipe;
}

static gsize
view_floats (const PtLoaderBatch *batch, guint v)
{
  return (gsize) batch->batch_size * batch->channels[v] * batch->heights[v] * batch->widths[v];
}

static void
assert_batches_equal (const PtLoaderBatch *a, const PtLoaderBatch *b)
{
  g_assert_cmpuint (a->epoch, ==, b->epoch);
  g_assert_cmpuint (a->index, ==, b->index);
  g_assert_cmpuint (a->n_views, ==, b->n_views);
  g_assert_cmpmem (a->indices, a->batch_size * sizeof (guint), b->indices, b->batch_size * sizeof (guint));
  for (guint v = 0; v < a->n_views; v++)
    g_assert_cmpmem (a->views[v], view_floats (a, v) * sizeof (float),
                     b->views[v], view_floats (b, v) * sizeof (float));
}

static void
test_epoch_order (void)
{
  guint a[100], b[100], c[100];
  gboolean seen[100] = { FALSE, };

  pt_loader_epoch_order (a, 100, 7, 3);
  pt_loader_epoch_order (b, 100, 7, 3);
  pt_loader_epoch_order (c, 100, 7, 4);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  g_assert_true (memcmp (a, c, sizeof a) != 0);
  for (int i = 0; i < 100; i++)
    {
      g_assert_false (seen[a[i]]);
      seen[a[i]] = TRUE;
    }
  pt_loader_epoch_order (c, 100, 8, 3);
  g_assert_true (memcmp (a, c, sizeof a) != 0);
}

/* Batches follow the epoch order, drop the last partial batch, and hold
 * exactly the views pt_augment_view computes for (seed, epoch, index, v). */
static void
test_batches (void)
{
  RawSet set;
  PtLoaderSource source;
  g_autoptr(PtAugRecipe) recipe = load_recipe ("swav");
  PtLoaderOptions options;
  PtLoader *loader;
  g_autoptr(GError) error = NULL;
  guint order[50];

  raw_init (&set, 50, 3, 16, 16);
  source = raw_source (&set);
  pt_loader_options_init (&options);
  options.batch_size = 16;
  options.seed = 1234;
  options.records = TRUE;
  options.n_threads = 2;
  loader = pt_loader_new_for_source (&source, recipe, &options, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_loader_get_batches_per_epoch (loader), ==, 3);
  g_assert_cmpuint (pt_loader_get_n_views (loader), ==, 8);

  for (guint step = 0; step < 7; step++)
    {
      g_autoptr(PtLoaderBatch) batch = pt_loader_next (loader);
      guint64 epoch = step / 3, index = (step % 3) * 16;
      guint64 pe, pi;

      g_assert_cmpuint (batch->epoch, ==, epoch);
      g_assert_cmpuint (batch->index, ==, index);
      pt_loader_epoch_order (order, 50, 1234, epoch);
      g_assert_cmpint (batch->heights[0], ==, 16);
      g_assert_cmpint (batch->heights[2], ==, 7);   /* 16 * 3/7, rounded */
      for (guint b = 0; b < 16; b++)
        {
          g_assert_cmpuint (batch->indices[b], ==, order[index + b]);
          g_assert_cmpint (batch->labels[b], ==, (int) (order[index + b] % 10));
        }
      /* Spot-check views against the one-by-one computation. */
      for (guint v = 0; v < batch->n_views; v += 3)
        for (guint b = 0; b < 16; b += 5)
          {
            gsize one = (gsize) batch->channels[v] * batch->heights[v] * batch->widths[v];
            g_autofree float *want = g_new (float, one);
            PtViewRecord rec;

            pt_augment_view (want, &rec, recipe, v, raw_get_image (&set, batch->indices[b]),
                             3, 16, 16, 1234, epoch, batch->indices[b]);
            g_assert_cmpmem (batch->views[v] + one * b, one * sizeof (float),
                             want, one * sizeof (float));
            g_assert_cmpmem (&batch->records[v * 16 + b], sizeof rec, &rec, sizeof rec);
          }
      pt_loader_get_position (loader, &pe, &pi);
      g_assert_cmpuint (pe, ==, (step + 1) / 3);
      g_assert_cmpuint (pi, ==, ((step + 1) % 3) * 16);
    }
  pt_loader_free (loader);
  g_assert_cmpint (set.destroyed, ==, 1);
  g_free (set.pixels);
}

/* A saved position restores the exact stream, in a new loader or the same. */
static void
test_restore (void)
{
  RawSet set;
  PtLoaderSource source;
  g_autoptr(PtAugRecipe) recipe = load_recipe ("simclr");
  PtLoaderOptions options;
  PtLoader *a, *b;
  g_autoptr(GPtrArray) first = g_ptr_array_new_with_free_func ((GDestroyNotify) pt_loader_batch_free);
  guint64 saved_epoch = 0, saved_index = 0;

  raw_init (&set, 40, 1, 12, 12);
  source = raw_source (&set);
  pt_loader_options_init (&options);
  options.batch_size = 8;
  options.seed = 77;
  options.n_threads = 1;

  a = pt_loader_new_for_source (&source, recipe, &options, NULL);
  for (int i = 0; i < 9; i++)
    {
      if (i == 3)
        pt_loader_get_position (a, &saved_epoch, &saved_index);
      g_ptr_array_add (first, pt_loader_next (a));
    }
  g_assert_cmpuint (saved_epoch, ==, 0);
  g_assert_cmpuint (saved_index, ==, 24);

  /* A new loader (another thread count) from the saved position. */
  options.n_threads = 2;
  b = pt_loader_new_for_source (&source, recipe, &options, NULL);
  pt_loader_set_position (b, saved_epoch, saved_index);
  for (int i = 3; i < 9; i++)
    {
      g_autoptr(PtLoaderBatch) batch = pt_loader_next (b);
      assert_batches_equal (batch, first->pdata[i]);
    }
  /* The same loader rewound while it has batches prefetched. */
  g_usleep (10000);
  pt_loader_set_position (b, 0, 8);
  for (int i = 1; i < 4; i++)
    {
      g_autoptr(PtLoaderBatch) batch = pt_loader_next (b);
      assert_batches_equal (batch, first->pdata[i]);
    }
  /* An index past the last full batch starts the next epoch. */
  pt_loader_set_position (b, 0, 36);
  {
    g_autoptr(PtLoaderBatch) batch = pt_loader_next (b);
    g_assert_cmpuint (batch->epoch, ==, 1);
    g_assert_cmpuint (batch->index, ==, 0);
    assert_batches_equal (batch, first->pdata[5]);
  }

  pt_loader_free (a);
  pt_loader_free (b);
  g_assert_cmpint (set.destroyed, ==, 2);
  g_free (set.pixels);
}

static void
test_sequential_normalize (void)
{
  RawSet set;
  PtLoaderSource source;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_new ("plain");
  PtLoaderOptions options;
  PtLoader *loader;

  pt_augment_recipe_add_group (recipe, "v", 1, 1.0);
  raw_init (&set, 10, 3, 4, 4);
  source = raw_source (&set);
  pt_loader_options_init (&options);
  options.batch_size = 4;
  options.sequential = TRUE;
  options.normalize = TRUE;
  options.mean[0] = 0.5f; options.mean[1] = 0.25f; options.mean[2] = 0.0f;
  options.std[0] = 0.5f; options.std[1] = 2.0f; options.std[2] = 1.0f;
  loader = pt_loader_new_for_source (&source, recipe, &options, NULL);
  for (guint step = 0; step < 3; step++)
    {
      g_autoptr(PtLoaderBatch) batch = pt_loader_next (loader);

      g_assert_null (batch->records);
      for (guint b = 0; b < 4; b++)
        {
          guint i = (step % 2) * 4 + b;
          const guint8 *img = raw_get_image (&set, i);

          g_assert_cmpuint (batch->indices[b], ==, i);
          for (int c = 0; c < 3; c++)
            for (int k = 0; k < 16; k++)
              {
                float want = (img[c * 16 + k] / 255.0f - options.mean[c]) / options.std[c];
                g_assert_cmpfloat_with_epsilon (batch->views[0][(b * 3 + c) * 16 + k], want, 1e-5);
              }
        }
    }
  pt_loader_free (loader);
  g_free (set.pixels);
}

/* Freed mid-epoch with the queue full and a batch in flight: no hang, no
 * leak (the sanitizer build checks the latter). */
static void
test_free_mid_epoch (void)
{
  RawSet set;
  PtLoaderSource source;
  g_autoptr(PtAugRecipe) recipe = load_recipe ("dino");
  PtLoaderOptions options;

  raw_init (&set, 64, 3, 32, 32);
  source = raw_source (&set);
  pt_loader_options_init (&options);
  options.batch_size = 16;
  options.prefetch = 3;
  for (int round = 0; round < 5; round++)
    {
      PtLoader *loader = pt_loader_new_for_source (&source, recipe, &options, NULL);

      if (round % 2)
        {
          PtLoaderBatch *batch = pt_loader_next (loader);
          pt_loader_batch_free (batch);
          g_usleep (20000);
        }
      pt_loader_free (loader);
    }
  g_assert_cmpint (set.destroyed, ==, 5);
  g_free (set.pixels);
}

static void
test_errors (void)
{
  RawSet set;
  PtLoaderSource source;
  g_autoptr(PtAugRecipe) recipe = load_recipe ("simclr");
  PtLoaderOptions options;
  g_autoptr(GError) error = NULL;

  raw_init (&set, 10, 3, 8, 8);
  source = raw_source (&set);
  pt_loader_options_init (&options);
  options.batch_size = 11;
  g_assert_null (pt_loader_new_for_source (&source, recipe, &options, &error));
  g_assert_error (error, PT_LOADER_ERROR, PT_LOADER_ERROR_TOO_SMALL);
  g_assert_nonnull (strstr (error->message, "10"));
  g_assert_cmpint (set.destroyed, ==, 1);
  g_clear_error (&error);

  options.batch_size = 2;
  options.normalize = TRUE;
  options.std[1] = 0;
  g_assert_null (pt_loader_new_for_source (&source, recipe, &options, &error));
  g_assert_error (error, PT_LOADER_ERROR, PT_LOADER_ERROR_INVALID);
  g_free (set.pixels);
}

/* Over a real dataset: the built-in shapes, small. The loader keeps the
 * dataset alive; labels and views match the dataset and pt_augment_view. */
static void
test_dataset (void)
{
  PtDatasetOptions dopts = { 0 };
  g_autoptr(GError) error = NULL;
  PtDataset *dataset;
  g_autoptr(PtAugRecipe) recipe = load_recipe ("byol");
  PtLoaderOptions options;
  PtLoader *loader;
  GWeakRef weak;

  dopts.shapes_train = 40;
  dopts.shapes_test = 10;
  dataset = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &dopts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_dataset_get_n_images (dataset), ==, 40);
  pt_loader_options_init (&options);
  options.batch_size = 16;
  options.seed = 3;
  loader = pt_loader_new (dataset, recipe, &options, &error);
  g_assert_no_error (error);
  g_weak_ref_init (&weak, dataset);
  g_object_unref (dataset);
  {
    GObject *alive = g_weak_ref_get (&weak);
    g_assert_nonnull (alive);
    g_object_unref (alive);
  }

  for (int step = 0; step < 3; step++)
    {
      g_autoptr(PtLoaderBatch) batch = pt_loader_next (loader);

      g_assert_cmpuint (batch->epoch, ==, step / 2);
      g_assert_cmpint (batch->channels[0], ==, 3);
      g_assert_cmpint (batch->heights[1], ==, 32);
      for (guint b = 0; b < 16; b += 3)
        {
          gsize one = 3 * 32 * 32;
          g_autofree float *want = g_new (float, one);

          g_assert_cmpint (batch->labels[b], ==, pt_dataset_get_label (dataset, batch->indices[b]));
          pt_augment_view (want, NULL, recipe, 1, pt_dataset_get_image (dataset, batch->indices[b]),
                           3, 32, 32, 3, batch->epoch, batch->indices[b]);
          g_assert_cmpmem (batch->views[1] + one * b, one * sizeof (float), want, one * sizeof (float));
        }
    }
  pt_loader_free (loader);
  g_assert_null (g_weak_ref_get (&weak));
  g_weak_ref_clear (&weak);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/loader/epoch-order", test_epoch_order);
  g_test_add_func ("/core/loader/batches", test_batches);
  g_test_add_func ("/core/loader/restore", test_restore);
  g_test_add_func ("/core/loader/sequential-normalize", test_sequential_normalize);
  g_test_add_func ("/core/loader/free-mid-epoch", test_free_mid_epoch);
  g_test_add_func ("/core/loader/errors", test_errors);
  g_test_add_func ("/core/loader/dataset", test_dataset);
  return g_test_run ();
}
