/* bench-supervised: the supervised-from-scratch baseline next to the SSL
 * linear probe, on the same class-balanced labeled subset of a run's
 * dataset (the "with 1% labels, the SSL probe beats the supervised
 * baseline" figure).
 *
 *   bench-supervised RUN_DIR [--labels F] [--steps N] [--seed S]
 *                    [--threads T] [--no-augment] [--probes-only]
 *
 * F: fraction of the train split (0.01), N: supervised steps (0: the
 * automatic budget). --probes-only skips the supervised training (it does
 * not depend on the run's checkpoint, only on its architecture). Progress
 * on stderr, one JSON object on stdout.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "pt-features.h"
#include "pt-methods.h"
#include "pt-probe.h"
#include "pt-subsets.h"
#include "pt-supervised.h"
#include "pt-threads.h"

static double
now (void)
{
  return g_get_monotonic_time () / 1e6;
}

static gboolean
on_progress_cb (int      step,
                int      n_steps,
                double   loss,
                gpointer user_data)
{
  if (step % 50 == 0 || step == n_steps)
    fprintf (stderr, "supervised step %d/%d loss %.4f\n", step, n_steps, loss);
  return TRUE;
}

/* Linear probe of the run's features of kind on train[subset], scored on test. */
static double
probe_accuracy (const char    *run_dir,
                PtDataset     *train,
                PtDataset     *test,
                PtFeatureKind  kind,
                const int     *subset,
                int            n_subset,
                guint64        seed,
                double        *seconds)
{
  g_autoptr(GError) error = NULL;
  g_autofree float *tr = NULL, *te = NULL, *sub = NULL;
  g_autofree int *sub_y = NULL;
  g_autoptr(PtProbeResult) probe = NULL;
  PtProbeOptions options;
  int dim = 0;
  double t0 = now ();

  tr = pt_features_for_run (run_dir, train, kind, &dim, NULL, NULL, NULL, &error);
  if (tr != NULL)
    te = pt_features_for_run (run_dir, test, kind, &dim, NULL, NULL, NULL, &error);
  if (te == NULL)
    g_error ("%s", error->message);
  sub = g_new (float, (gsize) n_subset * dim);
  sub_y = g_new (int, n_subset);
  pt_subset_gather (sub, tr, dim, subset, n_subset);
  for (int i = 0; i < n_subset; i++)
    sub_y[i] = pt_dataset_get_label (train, (guint) subset[i]);
  pt_probe_options_init (&options);
  options.seed = seed;
  probe = pt_probe_run (sub, sub_y, n_subset, te, pt_dataset_get_labels (test),
                        (int) pt_dataset_get_n_images (test), dim,
                        pt_dataset_get_n_classes (train), &options, NULL, &error);
  if (probe == NULL)
    g_error ("%s", error->message);
  *seconds = now () - t0;
  return probe->report->accuracy;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) train = NULL;
  g_autoptr(PtDataset) test = NULL;
  g_autoptr(PtSupervisedResult) result = NULL;
  g_autofree int *subset = NULL;
  PtSupervisedOptions options;
  const char *run_dir = NULL;
  double labels = 0.01, t0, t_sup, t_ssl, t_rand, ssl, rand_acc;
  int threads = 2, n_subset = 0;
  gboolean probes_only = FALSE;

  pt_supervised_options_init (&options);
  for (int i = 1; i < argc; i++)
    {
      if (g_str_equal (argv[i], "--labels") && i + 1 < argc)
        labels = g_ascii_strtod (argv[++i], NULL);
      else if (g_str_equal (argv[i], "--steps") && i + 1 < argc)
        options.n_steps = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--seed") && i + 1 < argc)
        options.seed = g_ascii_strtoull (argv[++i], NULL, 10);
      else if (g_str_equal (argv[i], "--threads") && i + 1 < argc)
        threads = atoi (argv[++i]);
      else if (g_str_equal (argv[i], "--no-augment"))
        options.augment = FALSE;
      else if (g_str_equal (argv[i], "--probes-only"))
        probes_only = TRUE;
      else if (argv[i][0] != '-' && run_dir == NULL)
        run_dir = argv[i];
      else
        {
          fprintf (stderr, "usage: bench-supervised RUN_DIR [--labels F] [--steps N] [--seed S] "
                   "[--threads T] [--no-augment] [--probes-only]\n");
          return 2;
        }
    }
  if (run_dir == NULL)
    {
      fprintf (stderr, "bench-supervised: no run directory given (nothing to measure)\n");
      return 77;   /* skipped under `meson test --benchmark` */
    }
  pt_threads_set (threads);
  pt_methods_register_builtin ();
  train = pt_features_open_split (run_dir, PT_SPLIT_TRAIN, NULL, &error);
  if (train != NULL)
    test = pt_features_open_split (run_dir, PT_SPLIT_TEST, NULL, &error);
  if (test == NULL)
    g_error ("%s", error->message);
  subset = pt_subset_balanced (pt_dataset_get_labels (train), (int) pt_dataset_get_n_images (train),
                               pt_dataset_get_n_classes (train), labels, 0, options.seed,
                               &n_subset);

  ssl = probe_accuracy (run_dir, train, test, PT_FEATURES_TRAINED, subset, n_subset,
                        options.seed, &t_ssl);
  rand_acc = probe_accuracy (run_dir, train, test, PT_FEATURES_RANDOM_INIT, subset, n_subset,
                             options.seed, &t_rand);
  fprintf (stderr, "ssl probe %.4f, random-init probe %.4f\n", ssl, rand_acc);
  if (probes_only)
    {
      printf ("{\"run\": \"%s\", \"labels\": %g, \"n_labeled\": %d, \"threads\": %d, "
              "\"ssl_probe_accuracy\": %.4f, \"ssl_probe_seconds\": %.1f, "
              "\"random_init_probe_accuracy\": %.4f}\n",
              run_dir, labels, n_subset, threads, ssl, t_ssl, rand_acc);
      return 0;
    }

  options.progress = on_progress_cb;
  t0 = now ();
  result = pt_supervised_run (run_dir, train, subset, n_subset, test, &options, NULL, &error);
  if (result == NULL)
    g_error ("%s", error->message);
  t_sup = now () - t0;

  printf ("{\"run\": \"%s\", \"labels\": %g, \"n_labeled\": %d, \"threads\": %d, "
          "\"ssl_probe_accuracy\": %.4f, \"ssl_probe_seconds\": %.1f, "
          "\"random_init_probe_accuracy\": %.4f, "
          "\"supervised_accuracy\": %.4f, \"supervised_steps\": %d, "
          "\"supervised_final_loss\": %.4f, \"supervised_augment\": %s, "
          "\"supervised_seconds\": %.1f}\n",
          run_dir, labels, n_subset, threads, ssl, t_ssl, rand_acc,
          result->report->accuracy, result->n_steps, result->final_loss,
          options.augment ? "true" : "false", t_sup);
  return 0;
}
