/* pt-cli-bench-methods.c: `pretext-cli bench --method M` for the SSL methods
 * of core/pt-ssl.h other than the SimCLR workload of pt-cli-bench.c.
 *
 * The method's own step on random views of its view shapes (the same input
 * every step, warm-up steps first), with its default parameters except
 * DeepCluster's clusters (4, so that it trains from the first step).
 * Reports ms/step and images/s (B source images per step); compare with
 * `pretext-cli bench --method simclr` at the same width and batch, or run
 * tests/bench/bench-methods for all five ratios in one process.
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"

#include "pt-cli.h"
#include "pt-ssl.h"

int
pt_cli_bench_ssl_method (const char *method,
                         int         channels,
                         int         size,
                         int         width,
                         int         batch,
                         int         steps,
                         int         warmup,
                         int         threads,
                         gboolean    json)
{
  const PtSslMethodClass *klass = pt_ssl_method_lookup (method);
  PtSslConfig config = { channels, size, size, batch, 10, width, 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSslMethod) m = NULL;
  g_autofree guint32 *indices = g_new (guint32, batch);
  PtSslViewShape shapes[PT_SSL_MAX_VIEWS];
  float *views[PT_SSL_MAX_VIEWS] = { NULL };
  PtSslBatch b = { 0 };
  double seconds, loss = 0.0;
  gint64 t0 = 0;
  PtRng rng;
  int V;

  g_return_val_if_fail (klass != NULL, PT_EXIT_USAGE);
  m = strcmp (method, "deepcluster") == 0
      /* clustered at the first (warm-up) step, then never among the timed
       * ones (by epoch, the default, the random views never leave epoch 0) */
      ? pt_ssl_method_new (klass, &config, &error, "clusters", 4.0, "recluster_every", 1e9, NULL)
      : pt_ssl_method_new (klass, &config, &error, NULL);
  if (m == NULL)
    return pt_cli_usage_error ("bench", "%s", error->message);
  V = klass->get_views (m, shapes);
  pt_rng_init (&rng, 0);
  b.batch_size = batch;
  b.n_views = V;
  b.indices = indices;
  for (int v = 0; v < V; v++)
    {
      gsize n = (gsize) batch * shapes[v].channels * shapes[v].height * shapes[v].width;

      views[v] = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        views[v][i] = pt_rng_uniform (&rng);
      b.shape[v] = shapes[v];
      b.views[v] = views[v];
    }
  for (int s = 0; s < warmup + steps; s++)
    {
      PtSslResult result = { 0 };

      for (int i = 0; i < batch; i++)
        indices[i] = (guint32) (s * batch + i);
      if (s == warmup)
        t0 = g_get_monotonic_time ();
      if (!klass->step (m, &b, &result, &error))
        {
          for (int v = 0; v < V; v++)
            g_free (views[v]);
          return pt_cli_report_error ("bench", error);
        }
      loss = result.loss;
    }
  seconds = (g_get_monotonic_time () - t0) / 1e6;
  for (int v = 0; v < V; v++)
    g_free (views[v]);

  if (json)
    {
      g_autoptr(JsonBuilder) builder = json_builder_new ();

      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "method");
      json_builder_add_string_value (builder, method);
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
      json_builder_set_member_name (builder, "views");
      json_builder_add_int_value (builder, V);
      json_builder_set_member_name (builder, "images_per_s");
      json_builder_add_double_value (builder, steps * (double) batch / seconds);
      json_builder_set_member_name (builder, "ms_per_step");
      json_builder_add_double_value (builder, seconds / steps * 1000.0);
      json_builder_set_member_name (builder, "loss");
      json_builder_add_double_value (builder, loss);
      json_builder_end_object (builder);
      pt_cli_print_json_builder (builder);
    }
  else
    {
      char buf[2][G_ASCII_DTOSTR_BUF_SIZE];

      /* TRANSLATORS: a benchmark summary; the numbers are already formatted */
      printf (_("%s cnn width=%d batch=%d threads=%d: %s images/s (%s ms/step)\n"),
              method, width, batch, threads,
              g_ascii_formatd (buf[0], sizeof buf[0], "%.1f", steps * (double) batch / seconds),
              g_ascii_formatd (buf[1], sizeof buf[1], "%.1f", seconds / steps * 1000.0));
    }
  return PT_EXIT_OK;
}
