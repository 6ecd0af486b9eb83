/* Tests for the loader batch source: views checked against the method,
 * determinism from the seed, exact positions (also after prefetching),
 * normalization, refused positions. Method: the test double. */
#include <math.h>
#include <string.h>

#include "pt-loader-source.h"
#include "pt-test-method.h"
#include "pt-threads.h"

#define N_IMAGES 64

static PtDataset *
new_dataset (void)
{
  g_autofree guint8 *pixels = g_new (guint8, N_IMAGES * 3 * 8 * 8);
  int labels[N_IMAGES];
  guint32 s = 12345;

  for (gsize i = 0; i < N_IMAGES * 3 * 8 * 8; i++)
    {
      s = s * 1664525u + 1013904223u;
      pixels[i] = s >> 24;
    }
  for (int i = 0; i < N_IMAGES; i++)
    labels[i] = i % 4;
  return pt_dataset_new_from_memory ("random", 3, 8, 8, N_IMAGES, pixels, labels, 4, NULL);
}

static PtMethod *
new_method (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(GError) error = NULL;
  PtMethod *method = pt_method_new_for_class (&pt_test_method_class, &config, &error);

  g_assert_no_error (error);
  return method;
}

/* Two views of the full size, crop + flip. */
static PtAugRecipe *
new_recipe (guint count)
{
  PtAugRecipe *recipe = pt_augment_recipe_new ("pair");
  PtAugViewGroup *group = pt_augment_recipe_add_group (recipe, "pair", count, 1.0);

  pt_aug_view_group_enable (group, PT_AUG_CROP);
  pt_aug_view_group_enable (group, PT_AUG_HFLIP);
  return recipe;
}

static PtBatch *
new_batch (PtMethod *method)
{
  PtViewShape shapes[PT_MAX_VIEWS];
  int n = pt_method_get_views (method, shapes);

  return pt_batch_new (pt_method_get_config (method)->batch_size, n, shapes);
}

static PtBatchSource *
new_source (PtDataset       *data,
            PtMethod        *method,
            guint64          seed,
            PtNormalization *norm)
{
  g_autoptr(PtAugRecipe) recipe = new_recipe (2);
  g_autoptr(GError) error = NULL;
  PtBatchSource *source = pt_loader_source_new (data, recipe, method, seed, norm, 1, &error);

  g_assert_no_error (error);
  g_assert_nonnull (source);
  return source;
}

static void
assert_batches_equal (const PtBatch *a,
                      const PtBatch *b)
{
  g_assert_cmpint (a->n_views, ==, b->n_views);
  g_assert_cmpuint (a->epoch, ==, b->epoch);
  for (int v = 0; v < a->n_views; v++)
    g_assert_cmpmem (a->views[v], pt_batch_view_size (a, v) * sizeof (float),
                     b->views[v], pt_batch_view_size (b, v) * sizeof (float));
  g_assert_cmpmem (a->indices, a->batch_size * sizeof (guint32),
                   b->indices, b->batch_size * sizeof (guint32));
  g_assert_cmpmem (a->labels, a->batch_size * sizeof (int),
                   b->labels, b->batch_size * sizeof (int));
}

static void
next_ok (PtBatchSource *source,
         PtBatch       *batch)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_batch_source_next (source, batch, &error));
  g_assert_no_error (error);
}

static void
test_views_mismatch (void)
{
  g_autoptr(PtDataset) data = new_dataset ();
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(PtAugRecipe) one = new_recipe (1);
  g_autoptr(PtAugRecipe) small = new_recipe (2);
  g_autoptr(GError) error = NULL;
  PtBatchSource *source;

  source = pt_loader_source_new (data, one, method, 1, NULL, 1, &error);
  g_assert_null (source);
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS);
  g_assert_nonnull (strstr (error->message, "1 views"));
  g_clear_error (&error);

  small->groups[0].size = 0.5;   /* 4x4 views; the method wants 8x8 */
  source = pt_loader_source_new (data, small, method, 1, NULL, 1, &error);
  g_assert_null (source);
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS);
  g_assert_nonnull (strstr (error->message, "3x4x4"));
}

static void
test_deterministic (void)
{
  g_autoptr(PtDataset) data = new_dataset ();
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(PtBatchSource) a = new_source (data, method, 7, NULL);
  g_autoptr(PtBatchSource) b = new_source (data, method, 7, NULL);
  g_autoptr(PtBatchSource) c = new_source (data, method, 8, NULL);
  g_autoptr(PtBatch) ba = new_batch (method);
  g_autoptr(PtBatch) bb = new_batch (method);
  g_autoptr(PtBatch) bc = new_batch (method);
  gboolean differs = FALSE;

  for (int i = 0; i < 12; i++)   /* past one epoch of 8 batches */
    {
      next_ok (a, ba);
      next_ok (b, bb);
      next_ok (c, bc);
      assert_batches_equal (ba, bb);
      g_assert_cmpuint (ba->epoch, ==, i / (N_IMAGES / 8));
      for (int k = 0; k < ba->batch_size; k++)
        {
          g_assert_cmpuint (ba->indices[k], <, N_IMAGES);
          g_assert_cmpint (ba->labels[k], ==, (int) ba->indices[k] % 4);
        }
      if (memcmp (ba->views[0], bc->views[0], pt_batch_view_size (ba, 0) * sizeof (float)) != 0)
        differs = TRUE;
    }
  g_assert_true (differs);   /* another seed, other batches */
}

static void
test_position (void)
{
  g_autoptr(PtDataset) data = new_dataset ();
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(PtBatchSource) a = new_source (data, method, 3, NULL);
  g_autoptr(PtBatchSource) b = new_source (data, method, 3, NULL);
  g_autoptr(PtBatch) batch = new_batch (method);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) p0 = pt_batch_source_get_position (a);
  g_autoptr(GBytes) p6 = NULL;
  g_autoptr(GBytes) again = NULL;
  PtBatch *expected[4];

  g_assert_cmpuint (g_bytes_get_size (p0), ==, PT_LOADER_SOURCE_POSITION_SIZE);
  for (int i = 0; i < 6; i++)
    next_ok (a, batch);
  p6 = pt_batch_source_get_position (a);
  g_assert_cmpuint (g_bytes_get_size (p6), ==, PT_LOADER_SOURCE_POSITION_SIZE);
  g_assert_false (g_bytes_equal (p0, p6));
  for (int i = 0; i < 4; i++)   /* batches 7..10 cross into epoch 1 */
    {
      expected[i] = new_batch (method);
      next_ok (a, expected[i]);
    }

  /* Another source restored to the position gives the same stream. */
  g_assert_true (pt_batch_source_set_position (b, p6, &error));
  g_assert_no_error (error);
  again = pt_batch_source_get_position (b);
  g_assert_true (g_bytes_equal (again, p6));
  for (int i = 0; i < 4; i++)
    {
      next_ok (b, batch);
      assert_batches_equal (expected[i], batch);
    }

  /* The same source, rewound after its worker prefetched further. */
  g_assert_true (pt_batch_source_set_position (a, p6, &error));
  g_assert_no_error (error);
  for (int i = 0; i < 4; i++)
    {
      next_ok (a, batch);
      assert_batches_equal (expected[i], batch);
    }
  for (int i = 0; i < 4; i++)
    pt_batch_free (expected[i]);
}

static void
test_bad_position (void)
{
  g_autoptr(PtDataset) data = new_dataset ();
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(PtBatchSource) a = new_source (data, method, 3, NULL);
  g_autoptr(PtBatchSource) other = new_source (data, method, 4, NULL);
  g_autoptr(GBytes) foreign = pt_batch_source_get_position (other);
  g_autoptr(GBytes) short_pos = g_bytes_new ("abc", 3);
  guint8 zeros[PT_LOADER_SOURCE_POSITION_SIZE] = { 0 };
  g_autoptr(GBytes) no_magic = g_bytes_new (zeros, sizeof zeros);
  g_autoptr(GError) error = NULL;

  g_assert_false (pt_batch_source_set_position (a, short_pos, &error));
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION);
  g_clear_error (&error);
  g_assert_false (pt_batch_source_set_position (a, no_magic, &error));
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION);
  g_clear_error (&error);
  g_assert_false (pt_batch_source_set_position (a, foreign, &error));
  g_assert_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION);
  g_assert_nonnull (strstr (error->message, "seed 4"));
}

static void
test_normalization (void)
{
  g_autoptr(PtDataset) data = new_dataset ();
  g_autoptr(PtMethod) method = new_method ();
  PtNormalization norm, back;
  g_autoptr(PtBatchSource) raw = NULL;
  g_autoptr(PtBatchSource) normed = NULL;
  g_autoptr(PtBatch) br = new_batch (method);
  g_autoptr(PtBatch) bn = new_batch (method);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  const guint8 *pixels = pt_dataset_get_pixels (data);

  pt_normalization_from_dataset (&norm, data);
  for (int c = 0; c < 3; c++)
    {
      double sum = 0, sq = 0;
      int n = 0;

      for (int i = 0; i < N_IMAGES; i++)
        for (int k = 0; k < 64; k++)
          {
            double x = pixels[(i * 3 + c) * 64 + k] / 255.0;

            sum += x;
            sq += x * x;
            n++;
          }
      g_assert_cmpfloat_with_epsilon (norm.mean[c], sum / n, 1e-6);
      g_assert_cmpfloat_with_epsilon (norm.std[c], sqrt (sq / n - (sum / n) * (sum / n)), 1e-5);
    }

  pt_normalization_save (&norm, kf, "run");
  g_assert_true (pt_normalization_load (&back, kf, "run", &error));
  g_assert_no_error (error);
  g_assert_cmpmem (&norm, sizeof norm, &back, sizeof back);
  g_key_file_set_string (kf, "run", "normalize_std", "1;x;2");
  g_assert_false (pt_normalization_load (&back, kf, "run", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  raw = new_source (data, method, 5, NULL);
  normed = new_source (data, method, 5, &norm);
  next_ok (raw, br);
  next_ok (normed, bn);
  for (int v = 0; v < br->n_views; v++)
    for (gsize k = 0; k < pt_batch_view_size (br, v); k++)
      {
        int c = (k / 64) % 3;
        float want = (br->views[v][k] - norm.mean[c]) / norm.std[c];

        g_assert_cmpfloat_with_epsilon (bn->views[v][k], want, 1e-5);
      }
  /* and back to pixels, as the MAE view shows them */
  for (int v = 0; v < br->n_views; v++)
    {
      gsize size = pt_batch_view_size (br, v);

      pt_normalization_to_pixels (&norm, bn->views[v], (int) (size / (3 * 64)), 3, 64);
      for (gsize k = 0; k < size; k++)
        g_assert_cmpfloat_with_epsilon (bn->views[v][k], br->views[v][k], 1e-5);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/loader-source/views-mismatch", test_views_mismatch);
  g_test_add_func ("/core/loader-source/deterministic", test_deterministic);
  g_test_add_func ("/core/loader-source/position", test_position);
  g_test_add_func ("/core/loader-source/bad-position", test_bad_position);
  g_test_add_func ("/core/loader-source/normalization", test_normalization);
  return g_test_run ();
}
