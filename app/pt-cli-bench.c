/* pt-cli-bench.c: `pretext-cli bench`, the training-step benchmark.
 *
 * Runs the SimCLR step with the same workload as the PyTorch twin
 * (../shared/bench/torch_simclr_ref.py): 2B random views through the encoder
 * and projector, NT-Xent (t = 0.5), backward, SGD momentum 0.9 with weight
 * decay 1e-4, on the same input every step; warm-up steps first. Reports
 * images/s (source images: B per step, like the twin), ms/step, achieved
 * GFLOP/s, this machine's sgemm GFLOP/s and the peak RSS.
 */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"

#include "pt-cli.h"
#include "pt-nn.h"
#include "pt-optim.h"
#include "pt-parallel.h"
#include "pt-ssl.h"
#include "pt-threads.h"

typedef struct
{
  PtParams  *params;
  PtTape    *tape;
  PtOptim   *optim;
  PtCnn      cnn;
  PtMlpHead  proj;
  float     *images;     /* [2B, C, S, S] */
  int        n_views, channels, size;
} Bench;

static float
bench_step (Bench *b)
{
  PtTensor *x, *z, *loss;
  int shape[4] = { b->n_views, b->channels, b->size, b->size };

  pt_tape_reset (b->tape);
  x = pt_tensor_new (pt_tape_get_arena (b->tape), 4, shape);
  memcpy (x->data, b->images, x->numel * sizeof (float));
  pt_params_zero_grad (b->params);
  z = pt_mlp_head_apply (b->tape, b->params, &b->proj,
                         pt_cnn_apply (b->tape, b->params, &b->cnn, x));
  loss = pt_op_nt_xent (b->tape, z, 0.5f);
  pt_tape_backward (b->tape, loss);
  pt_optim_step (b->optim, 0.1f);
  return loss->data[0];
}

/* Best of a few 1024^3 sgemm runs. */
static double
measure_sgemm_gflops (void)
{
  const int n = 1024;
  g_autofree float *a = g_new (float, n * n);
  g_autofree float *bm = g_new (float, n * n);
  g_autofree float *c = g_new (float, n * n);
  double best = 0.0;

  for (int i = 0; i < n * n; i++)
    {
      a[i] = (float) (i % 17) * 0.01f;
      bm[i] = (float) (i % 13) * 0.01f;
    }
  for (int rep = 0; rep < 4; rep++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double dt;

      pt_sgemm (FALSE, FALSE, n, n, n, 1.0f, a, n, bm, n, 0.0f, c, n);
      dt = (g_get_monotonic_time () - t0) / 1e6;
      if (rep > 0)
        best = MAX (best, 2.0 * n * n * n / dt / 1e9);
    }
  return best;
}

int
pt_cli_bench_main (int    argc,
                   char **argv)
{
  g_autofree char *method = NULL;
  g_autofree char *encoder = NULL;
  int width = 16, batch = 256, steps = 20, threads = 2, size = 28, channels = 1, warmup = 3;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "method", 0, 0, G_OPTION_ARG_STRING, &method, N_("Method to benchmark (simclr)"), "M" },
    { "encoder", 0, 0, G_OPTION_ARG_STRING, &encoder, N_("Encoder (cnn)"), "E" },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, N_("Encoder width (16)"), "W" },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Source images per step (256)"), "B" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, N_("Timed steps (20)"), "N" },
    { "warmup", 0, 0, G_OPTION_ARG_INT, &warmup, N_("Untimed steps first (3)"), "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Compute threads, 0 for all (2)"), "T" },
    { "size", 0, 0, G_OPTION_ARG_INT, &size, N_("Image side in pixels (28)"), "S" },
    { "channels", 0, 0, G_OPTION_ARG_INT, &channels, N_("Image channels (1)"), "C" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(PtParams) params = NULL;
  g_autoptr(PtTape) tape = NULL;
  g_autoptr(PtOptim) optim = NULL;
  g_autoptr(PtCliProgress) progress = NULL;
  g_autofree float *images = NULL;
  PtOptimConfig config;
  Bench b = { 0 };
  PtRng rng;
  struct rusage usage;
  double seconds, ms_per_step, images_per_s, flops, gflops, sgemm_gflops, peak_rss_mb;
  float loss = 0.0f;
  gint64 t0;
  int d;

  g_option_context_set_summary (context, _("Time the training step of a method."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "bench"))
    return PT_EXIT_USAGE;
  if (argc > 1)
    return pt_cli_usage_error ("bench", _("unexpected argument “%s”"), argv[1]);
  if (method == NULL)
    return pt_cli_usage_error ("bench", _("--method is required"));
  if (strcmp (method, "mae") == 0)
    return pt_cli_bench_mae (encoder, batch, steps, warmup, threads, size, channels, json);
  if (strcmp (method, "simclr") != 0 && pt_ssl_method_lookup (method) == NULL)
    return pt_cli_usage_error ("bench", _("method “%s” cannot be benchmarked yet (available: simclr, moco, swav, deepcluster, rotnet, mae)"),
                               method);
  if (encoder != NULL && strcmp (encoder, "cnn") != 0)
    return pt_cli_usage_error ("bench", _("encoder “%s” cannot be benchmarked yet (available: cnn)"),
                               encoder);
  if (width < 1 || width > 512)
    return pt_cli_usage_error ("bench", _("--width must be between 1 and 512"));
  if (batch < 2 || batch > 8192)
    return pt_cli_usage_error ("bench", _("--batch must be between 2 and 8192"));
  if (steps < 1 || steps > 100000 || warmup < 0 || warmup > 1000)
    return pt_cli_usage_error ("bench", _("--steps must be between 1 and 100000 and --warmup between 0 and 1000"));
  if (threads < 0 || threads > PT_THREADS_MAX)
    return pt_cli_usage_error ("bench", _("--threads must be between 0 and %d"), PT_THREADS_MAX);
  if (size < 8 || size > 256 || size % 4 != 0)
    return pt_cli_usage_error ("bench", _("--size must be a multiple of 4 between 8 and 256"));
  if (channels < 1 || channels > 4)
    return pt_cli_usage_error ("bench", _("--channels must be between 1 and 4"));

  threads = pt_threads_set (threads);
  if (strcmp (method, "simclr") != 0)
    return pt_cli_bench_ssl_method (method, channels, size, width, batch, steps, warmup,
                                    threads, json);

  params = pt_params_new ();
  pt_cnn_init (&b.cnn, params, "encoder", channels, width);
  pt_projector_init (&b.proj, params, "projector", pt_cnn_get_out_dim (&b.cnn), 128);
  pt_params_finalize (params);
  pt_rng_init (&rng, 0);
  pt_cnn_reset (&b.cnn, params, &rng);
  pt_mlp_head_reset (&b.proj, params, &rng);
  pt_optim_config_init (&config, PT_OPTIM_SGD);
  config.momentum = 0.9f;
  config.weight_decay = 1e-4f;
  optim = pt_optim_new (params, &config);
  tape = pt_tape_new (0);

  b.n_views = 2 * batch;
  b.channels = channels;
  b.size = size;
  images = g_new (float, (gsize) b.n_views * channels * size * size);
  for (gsize i = 0; i < (gsize) b.n_views * channels * size * size; i++)
    images[i] = pt_rng_uniform (&rng);
  b.images = images;
  b.params = params;
  b.tape = tape;
  b.optim = optim;

  progress = pt_cli_progress_new (!json);
  for (int s = 0; s < warmup; s++)
    bench_step (&b);
  t0 = g_get_monotonic_time ();
  for (int s = 0; s < steps; s++)
    {
      loss = bench_step (&b);
      pt_cli_progress_update (progress, s + 1, steps, NULL);
    }
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  g_clear_pointer (&progress, pt_cli_progress_free);

  ms_per_step = seconds / steps * 1000.0;
  images_per_s = (double) steps * batch / seconds;
  /* Convolutions: forward 1x, backward 2x (data and weights; the first layer
   * needs no input gradient); projector likewise. */
  d = pt_cnn_get_out_dim (&b.cnn);
  flops = 2.0 * b.n_views * (3.0 * pt_cnn_forward_macs (&b.cnn, size, size)
                             - (double) size * size * width * channels * 9
                             + 3.0 * ((double) d * d + (double) d * 128));
  gflops = flops / (seconds / steps) / 1e9;
  sgemm_gflops = measure_sgemm_gflops ();
  getrusage (RUSAGE_SELF, &usage);
  peak_rss_mb = usage.ru_maxrss / 1024.0;

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, "simclr");
      json_builder_set_member_name (builder, "encoder");
      json_builder_add_string_value (builder, "cnn");
      json_builder_set_member_name (builder, "width");
      json_builder_add_int_value (builder, width);
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
      json_builder_set_member_name (builder, "sgemm_gflops");
      json_builder_add_double_value (builder, sgemm_gflops);
      json_builder_set_member_name (builder, "peak_rss_mb");
      json_builder_add_double_value (builder, peak_rss_mb);
      json_builder_set_member_name (builder, "loss");
      json_builder_add_double_value (builder, loss);
      json_builder_end_object (builder);
      pt_cli_print_json_builder (builder);
    }
  else
    {
      char buf[5][G_ASCII_DTOSTR_BUF_SIZE];

      /* TRANSLATORS: a benchmark summary; the numbers are already formatted */
      printf (_("simclr cnn width=%d batch=%d threads=%d: %s images/s (%s ms/step), %s GFLOP/s (sgemm %s GFLOP/s), peak RSS %s MB\n"),
              width, batch, threads,
              g_ascii_formatd (buf[0], sizeof buf[0], "%.1f", images_per_s),
              g_ascii_formatd (buf[1], sizeof buf[1], "%.1f", ms_per_step),
              g_ascii_formatd (buf[2], sizeof buf[2], "%.1f", gflops),
              g_ascii_formatd (buf[3], sizeof buf[3], "%.1f", sgemm_gflops),
              g_ascii_formatd (buf[4], sizeof buf[4], "%.0f", peak_rss_mb));
    }
  return PT_EXIT_OK;
}
