/* Tests for the parameter registry and modules: names, flags, flat buffers,
 * clone and EMA, PyTorch-default initialization, the cnn encoder and SimCLR
 * projector against PyTorch (outputs, loss, every gradient, running stats),
 * determinism of a training loop, and no allocation after the first step. */
#include <math.h>
#include <string.h>

#include "pt-nn.h"
#include "pt-optim.h"
#include "pt-threads.h"
#include "pt-test-fixture.h"

static void
test_params_registry (void)
{
  g_autoptr(PtParams) params = pt_params_new ();
  PtLinear lin;
  PtBatchNorm bn;
  const PtParamInfo *info;

  pt_linear_init (&lin, params, "head", 5, 3, TRUE);
  pt_batchnorm_init (&bn, params, "head.bn", 3, TRUE);
  g_assert_cmpuint (pt_params_get_n (params), ==, 6);
  pt_params_finalize (params);

  info = pt_params_get_info (params, lin.weight);
  g_assert_cmpstr (info->name, ==, "head.weight");
  g_assert_cmpint (info->ndim, ==, 2);
  g_assert_cmpint (info->shape[0], ==, 3);
  g_assert_cmpint (info->shape[1], ==, 5);
  g_assert_cmpuint (info->offset, ==, 0);
  g_assert_cmpint (info->flags, ==, PT_PARAM_DEFAULT);
  info = pt_params_get_info (params, lin.bias);
  g_assert_cmpstr (info->name, ==, "head.bias");
  g_assert_cmpuint (info->offset % 16, ==, 0);
  g_assert_true (info->flags & PT_PARAM_NO_DECAY);
  g_assert_cmpint (pt_params_find (params, "head.bn.running_var"), ==, bn.running_var);
  g_assert_true (pt_params_get_info (params, bn.running_var)->flags & PT_PARAM_BUFFER);
  g_assert_true (pt_params_get_info (params, bn.weight)->flags & PT_PARAM_NO_DECAY);
  g_assert_cmpint (pt_params_find (params, "nope"), ==, -1);
  g_assert_cmpuint (pt_params_get_n_trainable (params), ==, 15 + 3 + 3 + 3);

  /* Tensors view the flat buffers. */
  g_assert_true (pt_params_tensor (params, lin.bias)->data ==
                 pt_params_get_data (params) + pt_params_get_info (params, lin.bias)->offset);
  g_assert_true (pt_params_tensor (params, lin.bias)->grad ==
                 pt_params_get_grad (params) + pt_params_get_info (params, lin.bias)->offset);
  g_assert_true (pt_params_tensor (params, lin.weight)->requires_grad);
  g_assert_false (pt_params_tensor (params, bn.running_mean)->requires_grad);

  pt_params_get_grad (params)[3] = 2.0f;
  pt_params_zero_grad (params);
  for (gsize i = 0; i < pt_params_get_n_floats (params); i++)
    g_assert_cmpfloat (pt_params_get_grad (params)[i], ==, 0.0f);
}

static void
build_simclr (PtParams  *params,
              PtCnn     *cnn,
              PtMlpHead *proj,
              int        in_channels,
              int        width)
{
  pt_cnn_init (cnn, params, "encoder", in_channels, width);
  pt_projector_init (proj, params, "projector", pt_cnn_get_out_dim (cnn), 128);
  pt_params_finalize (params);
}

static void
test_params_clone_ema (void)
{
  g_autoptr(PtParams) a = pt_params_new ();
  g_autoptr(PtParams) b = pt_params_new ();
  PtCnn ca, cb;
  PtMlpHead pa, pb;
  PtRng rng;
  float *da, *db;
  int rv;

  build_simclr (a, &ca, &pa, 1, 2);
  build_simclr (b, &cb, &pb, 1, 2);
  g_assert_true (pt_params_same_layout (a, b));
  pt_rng_init (&rng, 1);
  pt_cnn_reset (&ca, a, &rng);
  pt_mlp_head_reset (&pa, a, &rng);
  pt_params_copy (b, a);
  g_assert_cmpmem (pt_params_get_data (a), pt_params_get_n_floats (a) * 4,
                   pt_params_get_data (b), pt_params_get_n_floats (b) * 4);

  /* Student moves; teacher follows by EMA, buffers untouched. */
  da = pt_params_get_data (a);
  db = pt_params_get_data (b);
  rv = ca.bn[0].running_var;
  for (gsize i = 0; i < pt_params_get_n_floats (a); i++)
    da[i] += 1.0f;
  pt_params_ema (b, a, 0.75f);
  for (guint e = 0; e < pt_params_get_n (a); e++)
    {
      const PtParamInfo *info = pt_params_get_info (a, (int) e);

      for (gsize k = 0; k < info->numel; k++)
        {
          float s = da[info->offset + k];
          float expect = (info->flags & PT_PARAM_BUFFER) ? s - 1.0f : 0.75f * (s - 1.0f) + 0.25f * s;

          g_assert_cmpfloat_with_epsilon (db[info->offset + k], expect, 1e-6);
        }
    }
  g_assert_cmpfloat (pt_params_data (b, rv)[0], ==, 1.0f);
}

static void
test_init_defaults (void)
{
  g_autoptr(PtParams) params = pt_params_new ();
  PtCnn cnn;
  PtMlpHead proj;
  PtRng rng;
  const float *w;
  gsize n;
  double mean = 0.0, var = 0.0, bound;

  build_simclr (params, &cnn, &proj, 3, 16);
  pt_rng_init (&rng, 42);
  pt_cnn_reset (&cnn, params, &rng);
  pt_mlp_head_reset (&proj, params, &rng);

  /* conv weights: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), variance bound^2 / 3 */
  w = pt_params_data (params, cnn.conv[3].weight);
  n = pt_params_get_info (params, cnn.conv[3].weight)->numel;
  bound = 1.0 / sqrt (64 * 9);
  for (gsize i = 0; i < n; i++)
    {
      g_assert_cmpfloat (fabs (w[i]), <=, bound);
      mean += w[i];
      var += (double) w[i] * w[i];
    }
  mean /= n;
  var /= n;
  g_assert_cmpfloat (fabs (mean), <, 0.05 * bound);
  g_assert_cmpfloat (fabs (var / (bound * bound / 3.0) - 1.0), <, 0.05);
  /* linear bias within 1/sqrt(fan_in) */
  w = pt_params_data (params, proj.fc2.bias);
  for (int i = 0; i < 128; i++)
    g_assert_cmpfloat (fabs (w[i]), <=, 1.0 / sqrt (128.0));
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpfloat (pt_params_data (params, cnn.bn[i].weight)[0], ==, 1.0f);
      g_assert_cmpfloat (pt_params_data (params, cnn.bn[i].bias)[0], ==, 0.0f);
      g_assert_cmpfloat (pt_params_data (params, cnn.bn[i].running_var)[0], ==, 1.0f);
    }
  g_assert_cmpstr (pt_params_get_info (params, cnn.conv[2].weight)->name, ==,
                   "encoder.blocks.2.conv.weight");
  g_assert_cmpstr (pt_params_get_info (params, proj.fc2.weight)->name, ==, "projector.2.weight");
}

static void
check_cnn_fixture (const char *file,
                   int         in_channels,
                   int         width,
                   int         n_threads)
{
  g_autoptr(GHashTable) fx = pt_fixture_load (file);
  g_autoptr(PtParams) params = pt_params_new ();
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtCnn cnn;
  PtMlpHead proj;
  PtFixtureTensor *x = pt_fixture_get (fx, "x");
  int xshape[4] = { x->shape[0], x->shape[1], x->shape[2], x->shape[3] };
  PtTensor *tx, *feats, *z, *loss;
  guint n_checked = 0;

  pt_threads_set (n_threads);
  build_simclr (params, &cnn, &proj, in_channels, width);
  /* Load every entry by name from the PyTorch state dict. */
  for (guint e = 0; e < pt_params_get_n (params); e++)
    {
      const PtParamInfo *info = pt_params_get_info (params, (int) e);
      g_autofree char *key = g_strconcat ("init.", info->name, NULL);
      PtFixtureTensor *t = pt_fixture_get (fx, key);

      g_assert_cmpuint (t->numel, ==, info->numel);
      g_assert_cmpint (t->ndim, ==, info->ndim);
      for (int d = 0; d < t->ndim; d++)
        g_assert_cmpint (t->shape[d], ==, info->shape[d]);
      memcpy (pt_params_get_data (params) + info->offset, t->data, t->numel * sizeof (float));
    }

  tx = pt_tensor_new (pt_tape_get_arena (tape), 4, xshape);
  memcpy (tx->data, x->data, x->numel * sizeof (float));
  pt_params_zero_grad (params);
  feats = pt_cnn_apply (tape, params, &cnn, tx);
  z = pt_mlp_head_apply (tape, params, &proj, feats);
  loss = pt_op_nt_xent (tape, z, 0.5f);
  pt_assert_close ("features", feats->data, pt_fixture_get (fx, "features")->data, feats->numel,
                   1e-5, 1e-4);
  pt_assert_close ("z", z->data, pt_fixture_get (fx, "z")->data, z->numel, 1e-5, 1e-4);
  pt_assert_close ("loss", loss->data, pt_fixture_get (fx, "loss")->data, 1, 1e-6, 1e-5);
  pt_tape_backward (tape, loss);

  for (guint e = 0; e < pt_params_get_n (params); e++)
    {
      const PtParamInfo *info = pt_params_get_info (params, (int) e);
      g_autofree char *gkey = g_strconcat ("grad.", info->name, NULL);
      g_autofree char *akey = g_strconcat ("after.", info->name, NULL);

      if (info->flags & PT_PARAM_BUFFER)
        {
          /* running statistics after one training forward */
          pt_assert_close (akey, pt_params_get_data (params) + info->offset,
                           pt_fixture_get (fx, akey)->data, info->numel, 1e-6, 1e-4);
        }
      else
        {
          /* 1e-4 relative; entries near zero are sums of many terms that
           * cancel, so the absolute floor is 2e-5 of the tensor's largest
           * entry (float32 summation order differs from PyTorch's). */
          PtFixtureTensor *g = pt_fixture_get (fx, gkey);
          double gmax = 0.0;

          for (gsize k = 0; k < g->numel; k++)
            gmax = MAX (gmax, fabs (g->data[k]));
          pt_assert_close (gkey, pt_params_get_grad (params) + info->offset, g->data,
                           info->numel, 2e-5 * gmax + 1e-8, 1e-4);
        }
      n_checked++;
    }
  g_assert_cmpuint (n_checked, ==, pt_params_get_n (params));

  /* Eval mode: running statistics, no tape. */
  pt_tape_reset (tape);
  pt_tape_set_training (tape, FALSE);
  pt_tape_set_grad_enabled (tape, FALSE);
  tx = pt_tensor_new (pt_tape_get_arena (tape), 4, xshape);
  memcpy (tx->data, x->data, x->numel * sizeof (float));
  feats = pt_cnn_apply (tape, params, &cnn, tx);
  g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 0);
  pt_assert_close ("features_eval", feats->data, pt_fixture_get (fx, "features_eval")->data,
                   feats->numel, 1e-5, 1e-4);
  pt_threads_set (1);
}

static void
test_cnn_fixture (void)
{
  check_cnn_fixture ("engine-cnn-1x28.ptfx", 1, 4, 1);
  check_cnn_fixture ("engine-cnn-1x28.ptfx", 1, 4, 2);
  check_cnn_fixture ("engine-cnn-3x32.ptfx", 3, 2, 2);
}

/* A small SimCLR training loop; returns the losses. */
static void
run_training_sized (guint64  seed,
                    int      width,
                    int      size,
                    int      n_steps,
                    float   *losses,
                    guint   *mallocs_after_first,
                    guint   *mallocs_end)
{
  g_autoptr(PtParams) params = pt_params_new ();
  g_autoptr(PtTape) tape = pt_tape_new (0);
  g_autoptr(PtOptim) optim = NULL;
  PtOptimConfig config;
  PtCnn cnn;
  PtMlpHead proj;
  PtRng rng;

  build_simclr (params, &cnn, &proj, 1, width);
  pt_rng_init (&rng, seed);
  pt_cnn_reset (&cnn, params, &rng);
  pt_mlp_head_reset (&proj, params, &rng);
  pt_optim_config_init (&config, PT_OPTIM_SGD);
  config.weight_decay = 1e-4f;
  optim = pt_optim_new (params, &config);

  for (int s = 0; s < n_steps; s++)
    {
      PtTensor *x, *z, *loss;

      pt_tape_reset (tape);
      x = pt_tensor_new_4d (pt_tape_get_arena (tape), 8, 1, size, size);
      /* Views 4..7 are noisy copies of views 0..3: positives to find. */
      for (gsize i = 0; i < x->numel / 2; i++)
        {
          x->data[i] = pt_rng_uniform (&rng);
          x->data[i + x->numel / 2] = x->data[i] + 0.1f * pt_rng_normal (&rng);
        }
      pt_params_zero_grad (params);
      z = pt_mlp_head_apply (tape, params, &proj, pt_cnn_apply (tape, params, &cnn, x));
      loss = pt_op_nt_xent (tape, z, 0.5f);
      pt_tape_backward (tape, loss);
      pt_optim_step (optim, pt_schedule_warmup_cosine (0.1f, 0.0f, 3, n_steps, s));
      losses[s] = loss->data[0];
      if (s == 1)
        *mallocs_after_first = pt_arena_get_n_mallocs (pt_tape_get_arena (tape));
    }
  *mallocs_end = pt_arena_get_n_mallocs (pt_tape_get_arena (tape));
}

static void
run_training (guint64  seed,
              int      n_steps,
              float   *losses,
              guint   *mallocs_after_first,
              guint   *mallocs_end)
{
  run_training_sized (seed, 4, 12, n_steps, losses, mallocs_after_first, mallocs_end);
}

static void
test_determinism (void)
{
  float a[20], b[20], c[20];
  guint m1, m2;

  pt_threads_set (1);
  run_training (99, 20, a, &m1, &m2);
  g_assert_cmpuint (m1, ==, m2);   /* no arena growth after the first step */
  run_training (99, 20, b, &m1, &m2);
  g_assert_cmpmem (a, sizeof a, b, sizeof b);
  run_training (100, 20, c, &m1, &m2);
  g_assert_true (memcmp (a, c, sizeof a) != 0);
  for (int i = 0; i < 20; i++)
    g_assert_true (isfinite (a[i]));
  /* With 2 threads as well, on a size that takes the parallel paths (split
   * sgemm, parallel batchnorm): reductions use fixed ranges, not per-thread
   * ones. */
  pt_threads_set (2);
  run_training_sized (99, 16, 28, 20, b, &m1, &m2);
  run_training_sized (99, 16, 28, 20, c, &m1, &m2);
  pt_threads_set (1);
  g_assert_cmpmem (b, sizeof b, c, sizeof c);
  /* It learns: the loss on fresh random views goes down on average. */
  g_assert_cmpfloat ((a[15] + a[16] + a[17] + a[18] + a[19]), <, (a[0] + a[1] + a[2] + a[3] + a[4]));
}

/* MLP head with batchnorm: PyTorch Sequential names, and the module's
 * parameter gradients against central differences of the loss. */
static double
head_loss (PtTape          *tape,
           PtParams        *params,
           const PtMlpHead *head,
           const float     *xv,
           gboolean         backward)
{
  PtTensor *x, *loss;
  int targets[6] = { 0, 1, 2, 3, 0, 1 };

  pt_tape_reset (tape);
  x = pt_tensor_new_2d (pt_tape_get_arena (tape), 6, 5);
  pt_tape_set_grad_enabled (tape, backward);
  memcpy (x->data, xv, sizeof (float) * 30);
  loss = pt_op_cross_entropy (tape, pt_mlp_head_apply (tape, params, head, x), targets, 0.1f);
  if (backward)
    {
      pt_params_zero_grad (params);
      pt_tape_backward (tape, loss);
    }
  pt_tape_set_grad_enabled (tape, TRUE);
  return loss->data[0];
}

static void
test_mlp_head_bn (void)
{
  g_autoptr(PtParams) params = pt_params_new ();
  g_autoptr(PtTape) tape = pt_tape_new (0);
  g_autofree float *grad = NULL;
  PtMlpHead head;
  PtRng rng;
  float xv[30];
  gsize n;

  pt_mlp_head_init (&head, params, "head", 5, 7, 4, TRUE);
  pt_params_finalize (params);
  g_assert_cmpstr (pt_params_get_info (params, head.fc1.weight)->name, ==, "head.0.weight");
  g_assert_cmpstr (pt_params_get_info (params, head.bn.weight)->name, ==, "head.1.weight");
  g_assert_cmpstr (pt_params_get_info (params, head.bn.running_mean)->name, ==,
                   "head.1.running_mean");
  g_assert_cmpstr (pt_params_get_info (params, head.fc2.bias)->name, ==, "head.3.bias");
  pt_rng_init (&rng, 5);
  pt_mlp_head_reset (&head, params, &rng);
  for (int i = 0; i < 30; i++)
    xv[i] = pt_rng_normal (&rng);

  head_loss (tape, params, &head, xv, TRUE);
  n = pt_params_get_n_floats (params);
  grad = g_memdup2 (pt_params_get_grad (params), n * sizeof (float));
  for (guint e = 0; e < pt_params_get_n (params); e++)
    {
      const PtParamInfo *info = pt_params_get_info (params, (int) e);

      if (info->flags & PT_PARAM_BUFFER)
        continue;
      for (gsize k = 0; k < info->numel; k++)
        {
          float *p = pt_params_get_data (params) + info->offset + k;
          float saved = *p;
          double plus, minus, numeric, analytic = grad[info->offset + k];

          *p = saved + 1e-3f;
          plus = head_loss (tape, params, &head, xv, FALSE);
          *p = saved - 1e-3f;
          minus = head_loss (tape, params, &head, xv, FALSE);
          *p = saved;
          numeric = (plus - minus) / 2e-3;
          if (!(fabs (numeric - analytic) <= 1e-3 + 2e-2 * fabs (numeric)))
            g_error ("%s[%" G_GSIZE_FORMAT "]: analytic %g numeric %g", info->name, k,
                     analytic, numeric);
        }
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/nn/params/registry", test_params_registry);
  g_test_add_func ("/core/nn/params/clone-ema", test_params_clone_ema);
  g_test_add_func ("/core/nn/init", test_init_defaults);
  g_test_add_func ("/core/nn/cnn/fixture", test_cnn_fixture);
  g_test_add_func ("/core/nn/determinism", test_determinism);
  g_test_add_func ("/core/nn/mlp-head-bn", test_mlp_head_bn);
  return g_test_run ();
}
