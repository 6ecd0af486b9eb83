/* bench-ui-latency: does the window stay smooth while a run trains?
 *
 * Puts the Pretrain page in a window, starts a real run (SimCLR on shapes by
 * default), and for SECONDS measures how late a 16 ms timer on the main loop
 * fires (the lateness a user sees as stutter), while the page draws every
 * metrics and visuals event. Prints the lateness distribution and the run's
 * images/s; compare the latter with `pretext-cli train` on the same settings.
 *
 * Usage: xvfb-run -a bench-ui-latency [SECONDS] [METHOD] [DATASET] [THREADS]
 */
#include <stdlib.h>
#include <gtk/gtk.h>

#include "pt-methods.h"
#include "pt-pretrain-page.h"
#include "pt-threads.h"
#include "pt-ui.h"

static GArray *lateness;   /* double, ms */
static gint64 last_us;
static gint64 end_us;
static double last_images_per_s;
static gint64 first_metrics_us;
static guint64 first_step, last_step;

static gboolean
on_tick_cb (gpointer data)
{
  gint64 now = g_get_monotonic_time ();

  if (last_us != 0)
    {
      double late = (now - last_us) / 1000.0 - 16.0;
      g_array_append_val (lateness, late);
    }
  last_us = now;
  return now < end_us ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE;
}

static void
on_metrics_cb (PtTrainer *trainer, GPtrArray *steps, gpointer data)
{
  const PtStepMetrics *m = g_ptr_array_index (steps, steps->len - 1);

  last_images_per_s = m->images_per_s;
  if (first_metrics_us == 0)
    {
      first_metrics_us = g_get_monotonic_time ();
      first_step = m->step;
    }
  last_step = m->step;
}

static int
cmp_double (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  int seconds = argc > 1 ? atoi (argv[1]) : 60;
  const char *method = argc > 2 ? argv[2] : "simclr";
  const char *spec = argc > 3 ? argv[3] : "shapes";
  int threads = argc > 4 ? atoi (argv[4]) : 2;
  g_autofree char *root = g_dir_make_tmp ("pretext-latency-XXXXXX", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) dataset = NULL;
  GtkWindow *window;
  PtPretrainPage *page;
  gboolean connected = FALSE;
  double *v;
  guint n;

  gtk_init ();
  pt_ui_init ();
  pt_methods_register_builtin ();
  pt_threads_set (threads);

  dataset = pt_dataset_open (spec, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
  if (dataset == NULL)
    g_error ("%s", error->message);

  window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_default_size (window, 1280, 820);
  page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  gtk_window_set_child (window, GTK_WIDGET (page));
  gtk_window_present (window);
  pt_pretrain_page_set_runs_root (page, root);
  pt_pretrain_page_set_dataset (page, dataset);
  if (!pt_pretrain_page_set_method (page, method))
    g_error ("no method %s", method);
  pt_pretrain_page_set_value (page, "steps", 1000000);
  pt_pretrain_page_set_value (page, "batch", 128);   /* as the throughput below assumes */
  pt_pretrain_page_start (page);

  /* Let the run start, then measure. */
  end_us = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < end_us)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);

  lateness = g_array_new (FALSE, FALSE, sizeof (double));
  end_us = g_get_monotonic_time () + (gint64) seconds * G_USEC_PER_SEC;
  g_timeout_add (16, on_tick_cb, NULL);
  while (g_get_monotonic_time () < end_us)
    {
      if (!connected && pt_pretrain_page_get_trainer (page))
        {
          g_signal_connect (pt_pretrain_page_get_trainer (page), "metrics", G_CALLBACK (on_metrics_cb), NULL);
          connected = TRUE;
        }
      g_main_context_iteration (NULL, TRUE);
    }

  g_array_sort (lateness, cmp_double);
  v = (double *) (gpointer) lateness->data;
  n = lateness->len;
  if (n == 0)
    g_error ("no timer ticks");
  g_print ("method %s on %s, %d threads, %d s: %u ticks of a 16 ms timer\n", method, spec, threads, seconds, n);
  g_print ("lateness ms: p50 %.2f  p90 %.2f  p99 %.2f  max %.2f\n",
           v[n / 2], v[n * 9 / 10], v[MIN (n - 1, n * 99 / 100)], v[n - 1]);
  g_print ("training images/s with the window: %.1f on average over the measurement (%llu steps of 128), %.1f at the last step\n",
           (double) (last_step - first_step) * 128 / ((g_get_monotonic_time () - first_metrics_us) / 1e6),
           (unsigned long long) (last_step - first_step), last_images_per_s);

  gtk_window_destroy (window);
  return 0;
}
