/* Tests for the `vit` encoder and MAE: parameter names and counts, the
 * sin-cos table, the whole encoder and one MAE step (plain and norm_pix)
 * against PyTorch with weights loaded by name, determinism, random
 * masking, and the reconstruction visual. */
#include <math.h>
#include <string.h>

#include "pt-vit.h"
#include "pt-threads.h"
#include "pt-test-fixture.h"

#define FX(t, n) pt_fixture_get ((t), (n))

/* Tolerances against PyTorch: float32 through several layers, so an
 * absolute floor relative to the largest value of each array plus 1e-4
 * relative. */
static void
assert_close_scaled (const char  *what,
                     const float *actual,
                     const float *expected,
                     gsize        n,
                     double       rel_floor)
{
  double scale = 0.0;

  for (gsize i = 0; i < n; i++)
    scale = MAX (scale, fabs (expected[i]));
  pt_assert_close (what, actual, expected, n, rel_floor * scale + 1e-7, 1e-4);
}

/* Copies every "init.<name>" of the fixture into params; checks the
 * buffers (position tables) we computed ourselves first. */
static void
load_params (PtParams   *params,
             GHashTable *fx,
             const char *prefix)
{
  for (guint i = 0; i < pt_params_get_n (params); i++)
    {
      const PtParamInfo *info = pt_params_get_info (params, i);
      g_autofree char *key = g_strconcat (prefix, info->name, NULL);
      PtFixtureTensor *t = FX (fx, key);

      g_assert_cmpuint (t->numel, ==, info->numel);
      if (info->flags & PT_PARAM_BUFFER)
        pt_assert_close (key, pt_params_data (params, i), t->data, t->numel, 1e-6, 1e-5);
      memcpy (pt_params_data (params, i), t->data, t->numel * sizeof (float));
    }
}

static void
check_grads (PtParams   *params,
             GHashTable *fx,
             const char *prefix)
{
  for (guint i = 0; i < pt_params_get_n (params); i++)
    {
      const PtParamInfo *info = pt_params_get_info (params, i);
      g_autofree char *key = NULL;

      if (info->flags & PT_PARAM_BUFFER)
        continue;
      key = g_strconcat (prefix, info->name, NULL);
      assert_close_scaled (key, pt_params_get_grad (params) + info->offset, FX (fx, key)->data,
                           info->numel, 1e-5);
    }
}

static void
test_vit_names (void)
{
  g_autoptr(PtParams) params = pt_params_new ();
  PtVitConfig config;
  PtVit vit;
  gsize n = 0;

  pt_vit_config_init (&config, 1, 28, 28);
  pt_vit_init (&vit, params, "", &config);
  pt_params_finalize (params);
  g_assert_cmpint (vit.n_patches, ==, 49);
  g_assert_cmpint (vit.patch_dim, ==, 16);
  g_assert_cmpint (pt_vit_get_out_dim (&vit), ==, 128);
  g_assert_cmpint (pt_params_find (params, "blocks.0.attn.in_proj_weight"), >=, 0);
  g_assert_cmpint (pt_params_find (params, "blocks.3.attn.out_proj.bias"), >=, 0);
  g_assert_cmpint (pt_params_find (params, "blocks.2.mlp.2.weight"), >=, 0);
  g_assert_cmpint (pt_params_find (params, "pos_embed"), >=, 0);
  g_assert_cmpint (pt_params_get_info (params, pt_params_find (params, "pos_embed"))->flags
                   & PT_PARAM_BUFFER, !=, 0);
  g_assert_cmpint (pt_params_find (params, "blocks.4.norm1.weight"), <, 0);
  /* 16*128+128 + 128 + 4 * (12*128^2 + 13*128) + 256, pos_embed not trained */
  for (guint i = 0; i < pt_params_get_n (params); i++)
    if (!(pt_params_get_info (params, i)->flags & PT_PARAM_BUFFER))
      n += pt_params_get_info (params, i)->numel;
  g_assert_cmpuint (n, ==, 16 * 128 + 128 + 128 + 4 * (12 * 128 * 128 + 13 * 128) + 256);

  pt_vit_config_init (&config, 3, 32, 32);
  g_assert_true (pt_vit_config_is_valid (&config));
  config.height = 30;
  g_assert_false (pt_vit_config_is_valid (&config));
}

/* The table is MAE's: row 0 zero, first half sin/cos of the column. */
static void
test_sincos (void)
{
  enum { D = 8, G = 3 };
  float t[(G * G + 1) * D];

  pt_sincos_pos_embed_2d (t, D, G, G);
  for (int d = 0; d < D; d++)
    g_assert_cmpfloat (t[d], ==, 0.0f);
  /* patch (row 1, col 2) = token 1 + 1*3 + 2 = 6; omega_0 = 1, omega_1 = 0.01 */
  g_assert_cmpfloat_with_epsilon (t[6 * D + 0], sinf (2.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (t[6 * D + 1], sinf (0.02f), 1e-6);
  g_assert_cmpfloat_with_epsilon (t[6 * D + 2], cosf (2.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (t[6 * D + 4], sinf (1.0f), 1e-6);
  g_assert_cmpfloat_with_epsilon (t[6 * D + 7], cosf (0.01f), 1e-6);
}

static void
test_vit_fixture (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("vit-encoder.ptfx");
  g_autoptr(PtParams) params = pt_params_new ();
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtFixtureTensor *fxx = FX (fx, "x");
  PtVitConfig config;
  PtVit vit;
  PtRng rng;
  PtTensor *x, *feats;

  pt_vit_config_init (&config, 1, 28, 28);
  pt_vit_init (&vit, params, "", &config);
  pt_params_finalize (params);
  pt_rng_init (&rng, 1);
  pt_vit_reset (&vit, params, &rng);
  load_params (params, fx, "init.");

  x = pt_tensor_new (pt_tape_get_arena (tape), 4, fxx->shape);
  memcpy (x->data, fxx->data, fxx->numel * sizeof (float));
  feats = pt_vit_apply (tape, params, &vit, x);
  g_assert_cmpint (feats->ndim, ==, 2);
  g_assert_cmpint (feats->shape[0], ==, 2);
  g_assert_cmpint (feats->shape[1], ==, 128);
  assert_close_scaled ("features", feats->data, FX (fx, "features")->data, feats->numel, 1e-5);
  pt_params_zero_grad (params);
  pt_tape_backward (tape, pt_op_weighted_sum (tape, feats, FX (fx, "r")->data));
  check_grads (params, fx, "grad.");
}

static void
mae_from_fixture (PtMae      *mae,
                  PtParams   *params,
                  GHashTable *fx,
                  gboolean    norm_pix)
{
  const float *c = FX (fx, "config")->data;
  PtMaeConfig config;
  PtRng rng;

  pt_mae_config_init (&config, (int) c[0], (int) c[1], (int) c[1]);
  config.encoder.patch = (int) c[2];
  config.encoder.dim = (int) c[3];
  config.encoder.depth = (int) c[4];
  config.encoder.heads = (int) c[5];
  config.decoder_dim = (int) c[6];
  config.decoder_depth = (int) c[7];
  config.decoder_heads = (int) c[8];
  config.norm_pix_loss = norm_pix;
  pt_mae_init (mae, params, &config);
  pt_params_finalize (params);
  pt_rng_init (&rng, 2);
  pt_mae_reset (mae, params, &rng);
  load_params (params, fx, "init.");
}

static void
test_mae_fixture (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("vit-mae.ptfx");
  PtFixtureTensor *fxx = FX (fx, "x"), *fids = FX (fx, "ids_shuffle");
  int K = (int) FX (fx, "keep")->data[0];
  g_autofree gint32 *ids = g_new (gint32, fids->numel);

  for (gsize i = 0; i < fids->numel; i++)
    ids[i] = (gint32) fids->data[i];
  for (int v = 0; v < 2; v++)
    {
      const char *tag = v == 0 ? "pix" : "normpix";
      g_autoptr(PtParams) params = pt_params_new ();
      g_autoptr(PtTape) tape = pt_tape_new (0);
      g_autofree char *kloss = g_strconcat (tag, ".loss", NULL);
      g_autofree char *kpred = g_strconcat (tag, ".pred", NULL);
      g_autofree char *kgrad = g_strconcat (tag, ".grad.", NULL);
      PtMae mae;
      PtTensor *x, *loss, *pred = NULL;

      mae_from_fixture (&mae, params, fx, v == 1);
      x = pt_tensor_new (pt_tape_get_arena (tape), 4, fxx->shape);
      memcpy (x->data, fxx->data, fxx->numel * sizeof (float));
      loss = pt_mae_forward (tape, params, &mae, x, ids, K, &pred, NULL);
      pt_assert_close (kloss, loss->data, FX (fx, kloss)->data, 1, 1e-6, 1e-4);
      assert_close_scaled (kpred, pred->data, FX (fx, kpred)->data, pred->numel, 1e-5);
      pt_params_zero_grad (params);
      pt_tape_backward (tape, loss);
      check_grads (params, fx, kgrad);
    }
}

/* A default-size MAE, random images. */
typedef struct
{
  PtParams *params;
  PtMae     mae;
  float    *images;
  int       n;
} MaeSetup;

static void
mae_setup (MaeSetup *s,
           int       n,
           gboolean  norm_pix,
           guint64   seed)
{
  PtMaeConfig config;
  PtRng rng;

  pt_mae_config_init (&config, 1, 28, 28);
  config.norm_pix_loss = norm_pix;
  s->params = pt_params_new ();
  pt_mae_init (&s->mae, s->params, &config);
  pt_params_finalize (s->params);
  pt_rng_init (&rng, seed);
  pt_mae_reset (&s->mae, s->params, &rng);
  s->n = n;
  s->images = g_new (float, n * 28 * 28);
  for (int i = 0; i < n * 28 * 28; i++)
    s->images[i] = pt_rng_uniform (&rng);
}

static void
mae_teardown (MaeSetup *s)
{
  pt_params_free (s->params);
  g_free (s->images);
}

static void
test_mae_masking (void)
{
  enum { B = 5, N = 49 };
  gint32 ids[B * N], ids2[B * N];
  PtRng rng;

  g_assert_cmpint (pt_mae_n_keep (49, 0.75), ==, 12);
  g_assert_cmpint (pt_mae_n_keep (64, 0.75), ==, 16);
  g_assert_cmpint (pt_mae_n_keep (49, 0.0), ==, 49);
  g_assert_cmpint (pt_mae_n_keep (49, 1.0), ==, 1);
  pt_rng_init (&rng, 3);
  pt_mae_random_shuffle (&rng, B, N, ids);
  for (int b = 0; b < B; b++)
    {
      gboolean seen[N] = { FALSE };

      for (int n = 0; n < N; n++)
        {
          g_assert_cmpint (ids[b * N + n], >=, 0);
          g_assert_cmpint (ids[b * N + n], <, N);
          g_assert_false (seen[ids[b * N + n]]);
          seen[ids[b * N + n]] = TRUE;
        }
    }
  /* rows differ from each other, and the same seed repeats */
  g_assert_true (memcmp (ids, ids + N, N * sizeof (gint32)) != 0);
  pt_rng_init (&rng, 3);
  pt_mae_random_shuffle (&rng, B, N, ids2);
  g_assert_cmpmem (ids, sizeof ids, ids2, sizeof ids2);
}

/* Same seed, one thread: bit-identical losses over training steps. */
static double
run_steps (int     n_steps,
           float  *losses)
{
  MaeSetup s;
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtRng rng;
  gint32 *ids;
  int N = 49, K = pt_mae_n_keep (49, 0.75), shape[4] = { 8, 1, 28, 28 };

  mae_setup (&s, 8, TRUE, 5);
  ids = g_new (gint32, 8 * N);
  pt_rng_init (&rng, 9);
  for (int step = 0; step < n_steps; step++)
    {
      PtTensor *x, *loss;
      float *grad = pt_params_get_grad (s.params), *data = pt_params_get_data (s.params);

      pt_tape_reset (tape);
      x = pt_tensor_new (pt_tape_get_arena (tape), 4, shape);
      memcpy (x->data, s.images, 8 * 28 * 28 * sizeof (float));
      pt_mae_random_shuffle (&rng, 8, N, ids);
      loss = pt_mae_forward (tape, s.params, &s.mae, x, ids, K, NULL, NULL);
      losses[step] = loss->data[0];
      pt_params_zero_grad (s.params);
      pt_tape_backward (tape, loss);
      /* plain SGD on trained entries */
      for (guint i = 0; i < pt_params_get_n (s.params); i++)
        {
          const PtParamInfo *info = pt_params_get_info (s.params, i);

          if (info->flags & PT_PARAM_BUFFER)
            continue;
          for (gsize k = 0; k < info->numel; k++)
            data[info->offset + k] -= 0.05f * grad[info->offset + k];
        }
    }
  g_free (ids);
  mae_teardown (&s);
  return losses[n_steps - 1];
}

static void
test_mae_determinism (void)
{
  float a[6], b[6];

  pt_threads_set (1);
  run_steps (6, a);
  run_steps (6, b);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  for (int i = 0; i < 6; i++)
    g_assert_true (isfinite (a[i]) && a[i] > 0.0f);
  /* it learns: the loss on these 8 images goes down */
  g_assert_cmpfloat (a[5], <, a[0]);
}

/* After the first steps the tape's arena stops allocating. */
static void
test_mae_arena (void)
{
  MaeSetup s;
  g_autoptr(PtTape) tape = pt_tape_new (0);
  int N = 49, K = 12, shape[4] = { 4, 1, 28, 28 };
  gint32 ids[4 * 49];
  guint mallocs[4];
  PtRng rng;

  mae_setup (&s, 4, TRUE, 8);
  pt_rng_init (&rng, 2);
  for (int step = 0; step < 4; step++)
    {
      PtTensor *x, *loss;

      pt_tape_reset (tape);
      x = pt_tensor_new (pt_tape_get_arena (tape), 4, shape);
      memcpy (x->data, s.images, 4 * 28 * 28 * sizeof (float));
      pt_mae_random_shuffle (&rng, 4, N, ids);
      loss = pt_mae_forward (tape, s.params, &s.mae, x, ids, K, NULL, NULL);
      pt_params_zero_grad (s.params);
      pt_tape_backward (tape, loss);
      mallocs[step] = pt_arena_get_n_mallocs (pt_tape_get_arena (tape));
    }
  g_assert_cmpuint (mallocs[3], ==, mallocs[2]);
  g_assert_cmpuint (mallocs[2], ==, mallocs[1]);
  mae_teardown (&s);
}

static void
test_mae_reconstruct (void)
{
  for (int norm_pix = 0; norm_pix < 2; norm_pix++)
    for (int r = 0; r < 3; r++)
      {
        double ratios[3] = { 0.75, 0.3, 0.95 };
        MaeSetup s;
        g_autoptr(PtTape) tape = pt_tape_new (0);
        int n = 3, N = 49, K = pt_mae_n_keep (N, ratios[r]);
        gsize img = 28 * 28, all = n * img;
        g_autofree gint32 *ids = g_new (gint32, n * N);
        g_autofree float *out = g_new (float, 4 * all);
        g_autofree float *pred_img = g_new0 (float, all);
        PtRng rng;
        int n_masked_pixels = 0;

        mae_setup (&s, n, norm_pix, 11);
        pt_rng_init (&rng, 4);
        pt_mae_random_shuffle (&rng, n, N, ids);
        pt_mae_reconstruct (tape, s.params, &s.mae, s.images, n, ids, K, 0.5f, out);
        g_assert_true (pt_tape_get_grad_enabled (tape));
        g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 0);
        /* row 0 is the original */
        g_assert_cmpmem (out, all * sizeof (float), s.images, all * sizeof (float));
        /* The prediction in pixel units, from a training forward with the
         * same shuffle: with norm_pix each patch de-normalized by the
         * original's own statistics. */
        {
          int shape[4] = { n, 1, 28, 28 };
          PtTensor *x, *pred = NULL;
          g_autofree float *patches = g_new (float, all);

          pt_tape_reset (tape);
          x = pt_tensor_new (pt_tape_get_arena (tape), 4, shape);
          memcpy (x->data, s.images, all * sizeof (float));
          pt_mae_forward (tape, s.params, &s.mae, x, ids, K, &pred, NULL);
          pt_patchify_forward (patches, s.images, n, 1, 28, 28, 4);
          for (int p = 0; p < n * N; p++)
            {
              const float *t = patches + p * 16;
              float *q = pred->data + p * 16;
              double m = 0, v = 0;

              for (int i = 0; i < 16; i++)
                m += t[i];
              m /= 16;
              for (int i = 0; i < 16; i++)
                v += (t[i] - m) * (t[i] - m);
              v /= 15;
              if (norm_pix)
                for (int i = 0; i < 16; i++)
                  q[i] = q[i] * sqrt (v + 1e-6) + m;
            }
          pt_unpatchify_add (pred_img, pred->data, n, 1, 28, 28, 4);
        }
        pt_assert_close ("reconstruction", out + 2 * all, pred_img, all, 1e-5, 1e-4);
        for (int b = 0; b < n; b++)
          for (int py = 0; py < 28; py++)
            for (int px = 0; px < 28; px++)
              {
                int patch = (py / 4) * 7 + px / 4;
                gboolean visible = FALSE;
                gsize k = b * img + py * 28 + px;

                for (int j = 0; j < K; j++)
                  visible |= ids[b * N + j] == patch;
                if (visible)
                  {
                    g_assert_cmpfloat (out[all + k], ==, s.images[k]);
                    g_assert_cmpfloat (out[3 * all + k], ==, s.images[k]);
                  }
                else
                  {
                    g_assert_cmpfloat (out[all + k], ==, 0.5f);
                    g_assert_cmpfloat (out[3 * all + k], ==, out[2 * all + k]);
                    n_masked_pixels++;
                  }
              }
        g_assert_cmpint (n_masked_pixels, ==, n * (N - K) * 16);
        mae_teardown (&s);
      }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/vit/names", test_vit_names);
  g_test_add_func ("/core/vit/sincos", test_sincos);
  g_test_add_func ("/core/vit/fixture", test_vit_fixture);
  g_test_add_func ("/core/vit/mae/fixture", test_mae_fixture);
  g_test_add_func ("/core/vit/mae/masking", test_mae_masking);
  g_test_add_func ("/core/vit/mae/determinism", test_mae_determinism);
  g_test_add_func ("/core/vit/mae/reconstruct", test_mae_reconstruct);
  g_test_add_func ("/core/vit/mae/arena", test_mae_arena);
  return g_test_run ();
}
