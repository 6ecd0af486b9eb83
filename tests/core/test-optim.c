/* Tests for the optimizers (three steps each against PyTorch: SGD momentum
 * with weight decay, Nesterov, AdamW; LARS against the generator's reference)
 * and the warmup-cosine schedule. */
#include <math.h>
#include <string.h>

#include "pt-optim.h"
#include "pt-test-fixture.h"

static const char *names[] = { "fc.weight", "fc.bias", "bn.weight" };

static void
check_optim (const char  *tag,
             PtOptimKind  kind,
             gboolean     nesterov,
             float        weight_decay)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("engine-optim.ptfx");
  g_autoptr(PtParams) params = pt_params_new ();
  g_autoptr(PtOptim) optim = NULL;
  PtOptimConfig config;
  int idx[3];
  const float *lrs = pt_fixture_get (fx, "lrs")->data;

  idx[0] = pt_params_add (params, names[0], 2, (int[]) { 4, 6 }, PT_PARAM_DEFAULT);
  idx[1] = pt_params_add (params, names[1], 1, (int[]) { 4 }, PT_PARAM_NO_DECAY);
  idx[2] = pt_params_add (params, names[2], 1, (int[]) { 6 }, PT_PARAM_NO_DECAY);
  /* A buffer the optimizer must leave alone. */
  pt_params_add (params, "bn.running_mean", 1, (int[]) { 6 }, PT_PARAM_BUFFER);
  pt_params_finalize (params);
  for (int i = 0; i < 3; i++)
    {
      g_autofree char *key = g_strconcat ("init.", names[i], NULL);
      PtFixtureTensor *t = pt_fixture_get (fx, key);

      memcpy (pt_params_data (params, idx[i]), t->data, t->numel * sizeof (float));
    }
  pt_params_data (params, 3)[0] = 7.0f;
  pt_params_tensor (params, 3)->grad[0] = 1.0f;

  pt_optim_config_init (&config, kind);
  config.nesterov = nesterov;
  config.weight_decay = weight_decay;
  optim = pt_optim_new (params, &config);
  for (int step = 0; step < 3; step++)
    {
      for (int i = 0; i < 3; i++)
        {
          g_autofree char *key = g_strdup_printf ("grad%d.%s", step, names[i]);
          PtFixtureTensor *t = pt_fixture_get (fx, key);

          memcpy (pt_params_tensor (params, idx[i])->grad, t->data, t->numel * sizeof (float));
        }
      pt_optim_step (optim, lrs[step]);
      for (int i = 0; i < 3; i++)
        {
          g_autofree char *key = g_strdup_printf ("%s.step%d.%s", tag, step, names[i]);
          PtFixtureTensor *t = pt_fixture_get (fx, key);

          pt_assert_close (key, pt_params_data (params, idx[i]), t->data, t->numel, 1e-6, 1e-5);
        }
    }
  g_assert_cmpuint (pt_optim_get_step (optim), ==, 3);
  g_assert_cmpfloat (pt_params_data (params, 3)[0], ==, 7.0f);
}

static void
test_sgd (void)
{
  check_optim ("sgd", PT_OPTIM_SGD, FALSE, 1e-2f);
}

static void
test_nesterov (void)
{
  check_optim ("nesterov", PT_OPTIM_SGD, TRUE, 1e-2f);
}

static void
test_adamw (void)
{
  check_optim ("adamw", PT_OPTIM_ADAMW, FALSE, 0.05f);
}

static void
test_lars (void)
{
  check_optim ("lars", PT_OPTIM_LARS, FALSE, 1e-2f);
}

/* Restoring slots and step count continues the exact same trajectory. */
static void
test_state_restore (void)
{
  g_autoptr(PtParams) a = pt_params_new ();
  g_autoptr(PtParams) b = pt_params_new ();
  g_autoptr(PtOptim) oa = NULL;
  g_autoptr(PtOptim) ob = NULL;
  PtOptimConfig config;
  gsize n;

  pt_params_add (a, "w", 1, (int[]) { 10 }, PT_PARAM_DEFAULT);
  pt_params_add (b, "w", 1, (int[]) { 10 }, PT_PARAM_DEFAULT);
  pt_params_finalize (a);
  pt_params_finalize (b);
  pt_optim_config_init (&config, PT_OPTIM_ADAMW);
  oa = pt_optim_new (a, &config);
  ob = pt_optim_new (b, &config);
  n = pt_params_get_n_floats (a);
  for (int s = 0; s < 5; s++)
    {
      if (s == 2)
        {
          /* b takes over a's full state */
          pt_params_copy (b, a);
          for (int k = 0; k < pt_optim_get_n_slots (oa); k++)
            memcpy (pt_optim_get_slot (ob, k), pt_optim_get_slot (oa, k), n * sizeof (float));
          pt_optim_set_step (ob, pt_optim_get_step (oa));
        }
      for (gsize i = 0; i < 10; i++)
        pt_params_get_grad (a)[i] = pt_params_get_grad (b)[i] = sinf (s + i);
      pt_optim_step (oa, 0.01f);
      if (s >= 2)
        pt_optim_step (ob, 0.01f);
    }
  g_assert_cmpmem (pt_params_get_data (a), n * 4, pt_params_get_data (b), n * 4);
}

static void
test_schedule (void)
{
  /* warmup: linear up to base */
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.0f, 10, 110, 0), 0.1, 1e-6);
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.0f, 10, 110, 9), 1.0, 1e-6);
  /* cosine: base at the end of warmup, half way at the middle, final at the end */
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.0f, 10, 110, 10), 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.2f, 10, 110, 60), 0.6, 1e-6);
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.2f, 10, 110, 110), 0.2, 1e-6);
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (1.0f, 0.2f, 10, 110, 500), 0.2, 1e-6);
  /* no warmup */
  g_assert_cmpfloat_with_epsilon (pt_schedule_warmup_cosine (0.5f, 0.0f, 0, 100, 0), 0.5, 1e-6);
  /* monotone after warmup */
  for (int s = 11; s < 110; s++)
    g_assert_cmpfloat (pt_schedule_warmup_cosine (1.0f, 0.0f, 10, 110, s), <=,
                       pt_schedule_warmup_cosine (1.0f, 0.0f, 10, 110, s - 1));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/optim/sgd", test_sgd);
  g_test_add_func ("/core/optim/nesterov", test_nesterov);
  g_test_add_func ("/core/optim/adamw", test_adamw);
  g_test_add_func ("/core/optim/lars", test_lars);
  g_test_add_func ("/core/optim/state-restore", test_state_restore);
  g_test_add_func ("/core/optim/schedule", test_schedule);
  return g_test_run ();
}
