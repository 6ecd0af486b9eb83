/* pt-cli-bench-mae.c: `pretext-cli bench --method mae --encoder vit`.
 *
 * The same workload as the PyTorch twin (../shared/bench/torch_mae_ref.py):
 * the default MAE (vit dim 128 depth 4 heads 4, patch 4, decoder dim 64
 * depth 2, mask ratio 0.75) on B random images, a fresh random mask every
 * step, MSE on masked patches, backward, AdamW (lr 1.5e-4, weight decay 0.05
 * on every parameter, betas 0.9/0.999, as torch.optim.AdamW's defaults),
 * the same input every step, warm-up steps first.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"

#include "pt-cli.h"
#include "pt-optim.h"
#include "pt-parallel.h"
#include "pt-threads.h"
#include "pt-vit.h"

typedef struct
{
  PtParams *params;
  PtTape   *tape;
  PtOptim  *optim;
  PtMae     mae;
  PtRng     rng;
  float    *images;     /* [B, C, S, S] */
  gint32   *ids;        /* [B, N] */
  int       batch, channels, size, keep;
} MaeBench;

static float
mae_bench_step (MaeBench *b)
{
  PtTensor *x, *loss;
  int shape[4] = { b->batch, b->channels, b->size, b->size };

  pt_tape_reset (b->tape);
  x = pt_tensor_new (pt_tape_get_arena (b->tape), 4, shape);
  memcpy (x->data, b->images, x->numel * sizeof (float));
  pt_params_zero_grad (b->params);
  pt_mae_random_shuffle (&b->rng, b->batch, b->mae.encoder.n_patches, b->ids);
  loss = pt_mae_forward (b->tape, b->params, &b->mae, x, b->ids, b->keep, NULL, NULL);
  pt_tape_backward (b->tape, loss);
  pt_optim_step (b->optim, 1.5e-4f);
  return loss->data[0];
}

int
pt_cli_bench_mae (const char *encoder,
                  int         batch,
                  int         steps,
                  int         warmup,
                  int         threads,
                  int         size,
                  int         channels,
                  gboolean    json)
{
  g_autoptr(PtParams) params = NULL;
  g_autoptr(PtTape) tape = NULL;
  g_autoptr(PtOptim) optim = NULL;
  g_autoptr(PtCliProgress) progress = NULL;
  g_autofree float *images = NULL;
  g_autofree gint32 *ids = NULL;
  PtOptimConfig config;
  PtMaeConfig mconfig;
  MaeBench b = { 0 };
  struct rusage usage;
  double seconds, ms_per_step, images_per_s, flops, gflops, peak_rss_mb;
  float loss = 0.0f;
  gint64 t0;

  if (encoder != NULL && strcmp (encoder, "vit") != 0)
    return pt_cli_usage_error ("bench", _("method “mae” needs --encoder vit"));
  if (batch < 1 || batch > 8192)
    return pt_cli_usage_error ("bench", _("--batch must be between 1 and 8192"));
  if (steps < 1 || steps > 100000 || warmup < 0 || warmup > 1000)
    return pt_cli_usage_error ("bench", _("--steps must be between 1 and 100000 and --warmup between 0 and 1000"));
  if (threads < 0 || threads > PT_THREADS_MAX)
    return pt_cli_usage_error ("bench", _("--threads must be between 0 and %d"), PT_THREADS_MAX);
  if (size < 8 || size > 128 || size % 4 != 0)
    return pt_cli_usage_error ("bench", _("--size must be a multiple of 4 between 8 and 128"));
  if (channels < 1 || channels > 4)
    return pt_cli_usage_error ("bench", _("--channels must be between 1 and 4"));

  threads = pt_threads_set (threads);

  params = pt_params_new ();
  pt_mae_config_init (&mconfig, channels, size, size);
  pt_mae_init (&b.mae, params, &mconfig);
  pt_params_finalize (params);
  pt_rng_init (&b.rng, 0);
  pt_mae_reset (&b.mae, params, &b.rng);
  pt_optim_config_init (&config, PT_OPTIM_ADAMW);
  config.weight_decay = 0.05f;
  config.decay_all = TRUE;
  optim = pt_optim_new (params, &config);
  tape = pt_tape_new (0);

  images = g_new (float, (gsize) batch * channels * size * size);
  for (gsize i = 0; i < (gsize) batch * channels * size * size; i++)
    images[i] = pt_rng_uniform (&b.rng);
  ids = g_new (gint32, (gsize) batch * b.mae.encoder.n_patches);
  b.images = images;
  b.ids = ids;
  b.params = params;
  b.tape = tape;
  b.optim = optim;
  b.batch = batch;
  b.channels = channels;
  b.size = size;
  b.keep = pt_mae_n_keep (b.mae.encoder.n_patches, 0.75);

  progress = pt_cli_progress_new (!json);
  for (int s = 0; s < warmup; s++)
    mae_bench_step (&b);
  t0 = g_get_monotonic_time ();
  for (int s = 0; s < steps; s++)
    {
      loss = mae_bench_step (&b);
      pt_cli_progress_update (progress, s + 1, steps, NULL);
    }
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_clear_pointer (&progress, pt_cli_progress_free);

  ms_per_step = seconds / steps * 1000.0;
  images_per_s = (double) steps * batch / seconds;
  /* forward 1x, backward 2x (data and weights) */
  flops = 2.0 * batch * 3.0 * pt_mae_forward_macs (&b.mae, b.keep);
  gflops = flops / (seconds / steps) / 1e9;
  getrusage (RUSAGE_SELF, &usage);
  peak_rss_mb = usage.ru_maxrss / 1024.0;

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, "mae");
      json_builder_set_member_name (builder, "encoder");
      json_builder_add_string_value (builder, "vit");
      json_builder_set_member_name (builder, "batch");
      json_builder_add_int_value (builder, batch);
      json_builder_set_member_name (builder, "steps");
      json_builder_add_int_value (builder, steps);
      json_builder_set_member_name (builder, "threads");
      json_builder_add_int_value (builder, threads);
      json_builder_set_member_name (builder, "size");
      json_builder_add_int_value (builder, size);
      json_builder_set_member_name (builder, "channels");
      json_builder_add_int_value (builder, channels);
      json_builder_set_member_name (builder, "images_per_s");
      json_builder_add_double_value (builder, images_per_s);
      json_builder_set_member_name (builder, "ms_per_step");
      json_builder_add_double_value (builder, ms_per_step);
      json_builder_set_member_name (builder, "gflops");
      json_builder_add_double_value (builder, gflops);
      json_builder_set_member_name (builder, "peak_rss_mb");
      json_builder_add_double_value (builder, peak_rss_mb);
      json_builder_set_member_name (builder, "loss");
      json_builder_add_double_value (builder, loss);
      json_builder_end_object (builder);
      pt_cli_print_json_builder (builder);
    }
  else
    {
      char buf[4][G_ASCII_DTOSTR_BUF_SIZE];

      /* TRANSLATORS: a benchmark summary; the numbers are already formatted */
      printf (_("mae vit batch=%d threads=%d: %s images/s (%s ms/step), %s GFLOP/s, peak RSS %s MB\n"),
              batch, threads,
              g_ascii_formatd (buf[0], sizeof buf[0], "%.1f", images_per_s),
              g_ascii_formatd (buf[1], sizeof buf[1], "%.1f", ms_per_step),
              g_ascii_formatd (buf[2], sizeof buf[2], "%.1f", gflops),
              g_ascii_formatd (buf[3], sizeof buf[3], "%.0f", peak_rss_mb));
    }
  return PT_EXIT_OK;
}
