/* Tests for the MAE method: interface (views, parameters, stats, embed,
 * visuals), checkpoint round trip through list_state, and a behaviour
 * test: after a short run on `shapes`, the reconstruction error on masked
 * patches of held-out images is well below predicting each image's mean. */
#include <math.h>
#include <string.h>

#include "pt-dataset.h"
#include "pt-method-mae.h"
#include "pt-threads.h"
#include "pt-vit.h"

static PtMethodConfig
mae_test_config (int batch)
{
  PtMethodConfig config = { 0 };

  config.channels = 1;
  config.height = 28;
  config.width = 28;
  config.batch_size = batch;
  config.seed = 3;
  config.encoder = "vit";
  return config;
}

static PtBatch *
random_batch (int      B,
              int      C,
              int      S,
              guint64  seed)
{
  PtViewShape shape = { C, S, S };
  PtBatch *batch = pt_batch_new (B, 1, &shape);
  PtRng rng;

  pt_rng_init (&rng, seed);
  for (gsize i = 0; i < pt_batch_view_size (batch, 0); i++)
    batch->views[0][i] = pt_rng_uniform (&rng);
  for (int b = 0; b < B; b++)
    batch->labels[b] = -1;
  return batch;
}

static double
find_stat (const PtStepResult *r,
           const char         *name)
{
  for (int i = 0; i < r->n_stats; i++)
    if (strcmp (r->stats[i].name, name) == 0)
      return r->stats[i].value;
  g_error ("no stat %s", name);
  return NAN;
}

static void
test_interface (void)
{
  PtMethodConfig config = mae_test_config (16);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtMethod) method = pt_method_new_for_class (&pt_method_mae_class, &config, &error);
  g_autoptr(PtBatch) batch = random_batch (16, 1, 28, 1);
  g_autoptr(PtVisuals) before = NULL;
  g_autoptr(PtVisuals) visuals = NULL;
  g_autofree char *arch = NULL;
  g_autofree float *f1 = g_new (float, 3 * 128);
  g_autofree float *f2 = g_new (float, 3 * 128);
  PtViewShape shapes[PT_MAX_VIEWS];
  const PtVisualItem *item;
  PtStepResult result;

  g_assert_no_error (error);
  g_assert_cmpint (pt_method_get_views (method, shapes), ==, 1);
  g_assert_cmpint (shapes[0].channels, ==, 1);
  g_assert_cmpint (shapes[0].height, ==, 28);
  arch = pt_method_dup_architecture (method);
  g_assert_nonnull (strstr (arch, "vit p4 d128 x4 h4"));
  g_assert_cmpint (pt_method_get_feature_dim (method), ==, 128);
  g_assert_cmpfloat (pt_method_get_param (method, "mask_ratio"), ==, 0.75);
  g_assert_true (pt_method_is_param_live (method, "visual_mask_ratio"));

  /* nothing to show before the first step */
  before = pt_method_visuals (method);
  g_assert_null (before);

  for (int s = 0; s < 2; s++)
    {
      g_assert_true (pt_method_step (method, batch, &result, &error));
      g_assert_no_error (error);
      g_assert_true (result.grad_finite);
      g_assert_true (isfinite (result.loss) && result.loss > 0.0);
      g_assert_cmpint (result.n_parts, ==, 1);
      g_assert_cmpstr (result.parts[0].name, ==, "mse");
      g_assert_cmpfloat (find_stat (&result, "feature_std"), >, 0.0);
      g_assert_cmpfloat (find_stat (&result, "feature_std"), <, 1.0);
      g_assert_cmpfloat (find_stat (&result, "effective_rank"), >=, 1.0);
      g_assert_cmpfloat (find_stat (&result, "effective_rank"), <=, 16.0 + 1e-6);
      g_assert_cmpfloat (find_stat (&result, "grad_norm"), >, 0.0);
      /* warmup: lr = 1.5e-4 * 16/256 * (s + 1) / 200 */
      g_assert_cmpfloat_with_epsilon (find_stat (&result, "lr"),
                                      1.5e-4 * 16 / 256 * (s + 1) / 200, 1e-12);
    }

  visuals = pt_method_visuals (method);
  g_assert_nonnull (visuals);
  item = pt_visuals_lookup (visuals, "reconstruction");
  g_assert_nonnull (item);
  g_assert_cmpint (item->kind, ==, PT_VISUAL_IMAGES);
  g_assert_cmpint (item->rank, ==, 4);
  g_assert_cmpint (item->shape[0], ==, 32);
  g_assert_cmpint (item->shape[1], ==, 1);
  g_assert_cmpint (item->shape[2], ==, 28);
  /* row 0: the first 8 images of the first batch */
  g_assert_cmpmem (item->data, 8 * 784 * sizeof (float), batch->views[0], 8 * 784 * sizeof (float));
  for (gsize i = 0; i < 32 * 784; i++)
    g_assert_true (isfinite (item->data[i]));

  /* embed: deterministic, eval mode, and a live ratio change is harmless */
  g_assert_true (pt_method_embed (method, batch->views[0], 3, f1, &error));
  g_assert_true (pt_method_set_param (method, "visual_mask_ratio", 0.5, TRUE, &error));
  g_assert_true (pt_method_embed (method, batch->views[0], 3, f2, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (f1, 3 * 128 * sizeof (float), f2, 3 * 128 * sizeof (float));
  for (int i = 0; i < 3 * 128; i++)
    g_assert_true (isfinite (f1[i]));

  /* any mask ratio at inference */
  {
    g_autofree float *out = g_new (float, 4 * 2 * 784);

    for (int r = 0; r < 3; r++)
      {
        double ratio = (double[]) { 0.0, 0.5, 0.95 }[r];

        g_assert_true (pt_method_mae_reconstruct (method, batch->views[0], 2, ratio, 1, out,
                                                  &error));
        g_assert_no_error (error);
        g_assert_cmpmem (out, 2 * 784 * sizeof (float), batch->views[0], 2 * 784 * sizeof (float));
        if (r == 0)   /* nothing masked: masked and pasted rows are the original */
          {
            g_assert_cmpmem (out + 2 * 784, 2 * 784 * sizeof (float), out, 2 * 784 * sizeof (float));
            g_assert_cmpmem (out + 6 * 784, 2 * 784 * sizeof (float), out, 2 * 784 * sizeof (float));
          }
      }
    g_assert_false (pt_method_mae_reconstruct (method, batch->views[0], 2, 1.0, 1, out, &error));
    g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  }
}

static void
test_unsupported (void)
{
  PtMethodConfig config = mae_test_config (8);
  g_autoptr(GError) error = NULL;
  PtMethod *method;

  config.encoder = "cnn";
  method = pt_method_new_for_class (&pt_method_mae_class, &config, &error);
  g_assert_null (method);
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  config.encoder = NULL;
  config.height = 30;
  method = pt_method_new_for_class (&pt_method_mae_class, &config, &error);
  g_assert_null (method);
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
  g_assert_nonnull (strstr (error->message, "30"));
}

/* list_state gives everything: copying it into a fresh instance makes the
 * next steps identical. */
static void
test_state_roundtrip (void)
{
  PtMethodConfig config = mae_test_config (8);
  g_autoptr(PtMethod) a = pt_method_new_for_class (&pt_method_mae_class, &config, NULL);
  g_autoptr(PtMethod) b = NULL;
  g_autoptr(GArray) sa = NULL;
  g_autoptr(GArray) sb = NULL;
  g_autoptr(PtBatch) batch = random_batch (8, 1, 28, 2);
  PtStepResult ra, rb;

  for (int s = 0; s < 2; s++)
    g_assert_true (pt_method_step (a, batch, &ra, NULL));
  config.seed = 99;   /* different init: the load must overwrite all of it */
  b = pt_method_new_for_class (&pt_method_mae_class, &config, NULL);
  sa = pt_method_list_state (a);
  sb = pt_method_list_state (b);
  g_assert_cmpuint (sa->len, ==, sb->len);
  for (guint i = 0; i < sa->len; i++)
    {
      PtBlob *x = &g_array_index (sa, PtBlob, i), *y = &g_array_index (sb, PtBlob, i);

      g_assert_cmpstr (x->name, ==, y->name);
      g_assert_cmpuint (x->count, ==, y->count);
      memcpy (y->data, x->data, x->count * pt_blob_type_size (x->type));
    }
  pt_method_state_loaded (b);
  for (int s = 0; s < 2; s++)
    {
      g_assert_true (pt_method_step (a, batch, &ra, NULL));
      g_assert_true (pt_method_step (b, batch, &rb, NULL));
      g_assert_cmpfloat (ra.loss, ==, rb.loss);
    }
}

/* Behaviour: a short run on shapes (3x32x32). Held-out images, a fixed
 * mask at 0.75: the MSE of the reconstruction on masked patches must fall
 * below 0.65 of the MSE of predicting each image's mean pixel there
 * (measured: 0.49 after these 240 steps of batch 32; 20 after one step). */
static void
test_learns_shapes (void)
{
  PtDatasetOptions options = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) train = NULL;
  g_autoptr(PtDataset) test = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  PtMethodConfig config = { 0 };
  enum { B = 32, STEPS = 240, NT = 32, S = 32, C = 3 };
  gsize img = C * S * S;
  g_autoptr(PtBatch) batch = NULL;
  g_autofree float *held = g_new (float, NT * img);
  g_autofree float *out = g_new (float, 4 * NT * img);
  PtViewShape shape = { C, S, S };
  PtStepResult result;
  double err_model = 0.0, err_mean = 0.0;
  PtRng rng;

  options.shapes_train = 1024;
  options.shapes_test = NT;
  train = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  test = pt_dataset_open ("shapes", PT_SPLIT_TEST, &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (pt_dataset_get_channels (train), ==, C);
  g_assert_cmpint (pt_dataset_get_height (train), ==, S);

  g_key_file_set_value (keyfile, "method", "lr", "8e-3");   /* 1e-3 at batch 32 */
  g_key_file_set_value (keyfile, "method", "warmup_steps", "20");
  g_key_file_set_value (keyfile, "method", "total_steps", "240");
  config.channels = C;
  config.height = S;
  config.width = S;
  config.batch_size = B;
  config.seed = 1;
  config.params = keyfile;
  method = pt_method_new_for_class (&pt_method_mae_class, &config, &error);
  g_assert_no_error (error);

  batch = pt_batch_new (B, 1, &shape);
  pt_rng_init (&rng, 5);
  for (int s = 0; s < STEPS; s++)
    {
      for (int b = 0; b < B; b++)
        {
          guint i = pt_rng_below (&rng, pt_dataset_get_n_images (train));
          const guint8 *px = pt_dataset_get_image (train, i);

          for (gsize k = 0; k < img; k++)
            batch->views[0][b * img + k] = px[k] / 255.0f;
          batch->labels[b] = -1;
        }
      g_assert_true (pt_method_step (method, batch, &result, &error));
      g_assert_no_error (error);
    }

  for (int t = 0; t < NT; t++)
    {
      const guint8 *px = pt_dataset_get_image (test, t);

      for (gsize k = 0; k < img; k++)
        held[t * img + k] = px[k] / 255.0f;
    }
  g_assert_true (pt_method_mae_reconstruct (method, held, NT, 0.75, 77, out, &error));
  /* The same shuffle pt_method_mae_reconstruct draws from its seed: the
   * masked patches are all but the first K of each row. */
  {
    enum { N = 64, G = 8, P = 4 };
    int K = pt_mae_n_keep (N, 0.75);
    gint32 ids[NT * N];
    PtRng mrng;

    pt_rng_init (&mrng, 77);
    pt_mae_random_shuffle (&mrng, NT, N, ids);
    for (int t = 0; t < NT; t++)
      {
        double mean = 0.0;

        for (gsize k = 0; k < img; k++)
          mean += held[t * img + k];
        mean /= img;
        for (int j = K; j < N; j++)
          {
            int patch = ids[t * N + j], gy = patch / G, gx = patch % G;

            for (int c = 0; c < C; c++)
              for (int y = 0; y < P; y++)
                for (int x = 0; x < P; x++)
                  {
                    gsize k = t * img + ((gsize) c * S + gy * P + y) * S + gx * P + x;
                    float orig = held[k], recon = out[2 * NT * img + k];

                    g_assert_cmpfloat (out[NT * img + k], ==, 0.5f);
                    g_assert_cmpfloat (out[3 * NT * img + k], ==, recon);
                    err_model += (recon - orig) * (recon - orig);
                    err_mean += (mean - orig) * (mean - orig);
                  }
          }
      }
  }
  g_test_message ("masked-patch MSE sum: model %.3f, image mean %.3f (ratio %.3f)",
                  err_model, err_mean, err_model / err_mean);
  g_assert_cmpfloat (err_mean, >, 0.0);
  g_assert_cmpfloat (err_model, <, 0.65 * err_mean);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/method-mae/interface", test_interface);
  g_test_add_func ("/core/method-mae/unsupported", test_unsupported);
  g_test_add_func ("/core/method-mae/state", test_state_roundtrip);
  g_test_add_func ("/core/method-mae/learns-shapes", test_learns_shapes);
  return g_test_run ();
}
