/* bench-methods.c: step cost of each SSL method relative to SimCLR's, at the
 * same encoder width and batch size (a benchmark, not a test).
 *
 *   bench-methods [--width W] [--batch B] [--steps N] [--threads T] [--local L]
 *
 * Views are random images of the method's view shapes (augmentation is not
 * timed); 2 warm-up steps, then N timed steps; prints ms/step, images/s and
 * the ratio to SimCLR. SwAV runs with L local views (default 6, the `swav`
 * recipe). DeepCluster runs with 4 clusters, clustered at the first step
 * and never again (its k-means, once an epoch, is not timed). */
#include <stdlib.h>
#include <string.h>

#include "pt-ssl.h"
#include "pt-threads.h"

static double
bench_one (const PtSslMethodClass *klass,
           int                     width,
           int                     B,
           int                     steps,
           int                     n_local)
{
  PtSslConfig config = { 3, 32, 32, B, 10, width, 1 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSslMethod) m = strcmp (klass->name, "deepcluster") == 0
                             ? pt_ssl_method_new (klass, &config, &error, "clusters", 4.0,
                                                                 "recluster_every", 1e9, NULL)
                             : pt_ssl_method_new (klass, &config, &error, NULL);
  PtSslViewShape shapes[PT_SSL_MAX_VIEWS];
  float *views[PT_SSL_MAX_VIEWS];
  g_autofree guint32 *indices = g_new (guint32, B);
  PtSslBatch batch = { 0 };
  PtRng rng;
  GTimer *timer;
  double elapsed;
  int V;

  if (m == NULL)
    g_error ("%s: %s", klass->name, error->message);
  if (strcmp (klass->name, "swav") == 0 &&
      !pt_ssl_method_set_param (m, "local_views", n_local, &error))
    g_error ("%s", error->message);
  V = klass->get_views (m, shapes);
  pt_rng_init (&rng, 2);
  batch.batch_size = B;
  batch.n_views = V;
  for (int v = 0; v < V; v++)
    {
      gsize n = (gsize) B * shapes[v].channels * shapes[v].height * shapes[v].width;

      views[v] = g_new (float, n);
      for (gsize i = 0; i < n; i++)
        views[v][i] = pt_rng_uniform (&rng);
      batch.shape[v] = shapes[v];
      batch.views[v] = views[v];
    }
  batch.indices = indices;

  timer = g_timer_new ();
  for (int s = 0; s < steps + 2; s++)
    {
      PtSslResult result = { 0 };

      /* new dataset indices each step, as in an epoch (DeepCluster's bank) */
      for (int b = 0; b < B; b++)
        indices[b] = (guint32) (s * B + b);
      if (s == 2)
        g_timer_start (timer);
      if (!klass->step (m, &batch, &result, &error))
        g_error ("%s: %s", klass->name, error->message);
    }
  elapsed = g_timer_elapsed (timer, NULL) / steps;
  g_timer_destroy (timer);
  for (int v = 0; v < V; v++)
    g_free (views[v]);
  return elapsed;
}

int
main (int argc, char **argv)
{
  int width = 16, B = 64, steps = 10, threads = 2, n_local = 6;
  const PtSslMethodClass **list = pt_ssl_method_list ();
  double simclr = 0.0;

  for (int i = 1; i + 1 < argc; i += 2)
    {
      if (strcmp (argv[i], "--width") == 0)
        width = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--batch") == 0)
        B = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--steps") == 0)
        steps = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--threads") == 0)
        threads = atoi (argv[i + 1]);
      else if (strcmp (argv[i], "--local") == 0)
        n_local = atoi (argv[i + 1]);
    }
  pt_threads_set (threads);
  g_print ("# cnn width %d, batch %d, %d steps, %d threads, 3x32x32\n", width, B, steps, threads);
  for (int i = 0; list[i] != NULL; i++)
    {
      double t = bench_one (list[i], width, B, MAX (steps, 1), n_local);

      if (i == 0)
        simclr = t;
      g_print ("%-12s %8.1f ms/step %8.1f images/s  %.2fx SimCLR's step\n",
               list[i]->name, 1000.0 * t, B / t, t / simclr);
    }
  return 0;
}
