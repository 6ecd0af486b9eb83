/* The Evaluate page end to end: a short SimCLR run made by pretext-cli,
 * evaluated from the page, must show the numbers `pretext-cli probe` gives
 * for the same run and labels; the kNN sliders re-score from the cache;
 * a confusion cell shows its test images; the label curve is computed;
 * the results are saved with the run and read back by a fresh page; the
 * exports are written. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>
#include <json-glib/json-glib.h>

#include "../pt-test-display.h"
#include "pt-evaluate-page.h"
#include "pt-methods.h"
#include "pt-run.h"
#include "pt-threads.h"
#include "pt-ui.h"
#include "pt-test-cli.h"
#include "pt-test-util.h"

static char *runs_root;
static char *run_dir;
static char *other_dir;

static guint wanted_done;

static gboolean
done (gpointer data)
{
  return !pt_evaluate_page_get_busy (data) && pt_evaluate_page_get_n_done (data) >= wanted_done;
}

static gboolean
idle_page (gpointer data)
{
  return !pt_evaluate_page_get_busy (data);
}

static GtkWindow *
show (GtkWidget *page)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_default_size (window, 1200, 800);
  gtk_window_set_child (window, page);
  gtk_window_present (window);
  return window;
}

/* `pretext-cli probe DIR --labels 20 ... --json`: the last line's results. */
static JsonObject *
cli_probe (JsonParser *parser,
           const char *k,
           const char *t)
{
  PtCliResult r = pt_test_run_cli ("probe", run_dir, "--labels", "20", "--knn-k", k, "--knn-t", t,
                                   "--no-supervised", "--json", NULL);
  g_autoptr(GError) error = NULL;
  const char *last;

  g_assert_cmpint (r.status, ==, 0);
  last = strrchr (g_strchomp (r.out), '\n');
  last = last != NULL ? last + 1 : r.out;
  g_assert_true (json_parser_load_from_data (parser, last, -1, &error));
  g_assert_no_error (error);
  pt_cli_result_clear (&r);
  return json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "results");
}

static void
assert_same_as_cli (PtEvaluatePage *page,
                    JsonObject     *cli)
{
  for (guint kind = PT_EVAL_KIND_SSL; kind <= PT_EVAL_KIND_RANDOM_INIT; kind++)
    {
      const PtRunEvalResult *r = pt_evaluate_page_get_result (page, kind);
      JsonObject *o = json_object_get_object_member (cli, pt_eval_kind_to_string (kind));

      g_assert_nonnull (r);
      g_assert_nonnull (o);
      g_test_message ("%s: page linear %.4f knn %.4f, cli linear %.4f knn %.4f (C %g / %g)",
                      pt_eval_kind_to_string (kind), r->linear->accuracy, r->knn->accuracy,
                      json_object_get_double_member (o, "linear"), json_object_get_double_member (o, "knn"),
                      r->linear->c, json_object_get_double_member (o, "C"));
      g_assert_cmpfloat_with_epsilon (r->linear->accuracy, json_object_get_double_member (o, "linear"), 1e-12);
      g_assert_cmpfloat_with_epsilon (r->knn->accuracy, json_object_get_double_member (o, "knn"), 1e-12);
    }
}

static void
test_evaluate_matches_cli (void)
{
  PtEvaluatePage *page = g_object_new (PT_TYPE_EVALUATE_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autoptr(JsonParser) p1 = json_parser_new ();
  g_autoptr(JsonParser) p2 = json_parser_new ();
  g_autoptr(PtRunInfo) info = NULL;
  g_autoptr(GError) error = NULL;
  const PtRunEvalResult *ssl;
  const PtClassReport *rep;
  JsonObject *cli;
  double knn_default;
  int truth = -1, pred = -1;
  gint64 most = -1;
  guint shown;

  pt_evaluate_page_set_runs_root (page, runs_root);
  pt_evaluate_page_show_run (page, run_dir);
  pt_evaluate_page_set_labels (page, 0, 20);
  pt_evaluate_page_set_supervised (page, FALSE);
  pt_evaluate_page_evaluate (page);
  g_assert_true (pt_evaluate_page_get_busy (page));
  wanted_done = 1;
  g_assert_true (pt_test_wait_until (done, page, 240));
  g_assert_null (pt_evaluate_page_get_error (page));

  ssl = pt_evaluate_page_get_result (page, PT_EVAL_KIND_SSL);
  g_assert_nonnull (ssl);
  g_assert_cmpint (ssl->n_subset, ==, 20 * 10);
  g_assert_cmpuint (ssl->step, ==, 6);
  knn_default = ssl->knn->accuracy;

  /* The sliders re-score from the cache: k = 5, T = 0.5 as the CLI gives it. */
  pt_evaluate_page_set_knn (page, 5, 0.5);
  g_assert_cmpint (ssl->knn->knn_k, ==, 5);
  cli = cli_probe (p1, "5", "0.5");
  assert_same_as_cli (page, cli);
  /* ... and back to the defaults, as the CLI's defaults. */
  pt_evaluate_page_set_knn (page, 20, 0.07);
  g_assert_cmpfloat (ssl->knn->accuracy, ==, knn_default);
  cli = cli_probe (p2, "20", "0.07");
  assert_same_as_cli (page, cli);

  /* The largest off-diagonal cell of the SSL probe shows its images. */
  rep = ssl->linear->report;
  for (int a = 0; a < rep->n_classes; a++)
    for (int b = 0; b < rep->n_classes; b++)
      if (a != b && rep->confusion[a * rep->n_classes + b] > most)
        {
          most = rep->confusion[a * rep->n_classes + b];
          truth = a;
          pred = b;
        }
  g_assert_cmpint (most, >, 0);
  shown = pt_evaluate_page_activate_cell (page, truth, pred);
  g_assert_cmpuint (shown, ==, MIN (most, 48));

  /* Saved with the run: eval/probe.json as the Runs page reads it. The
   * CLI calls above rewrote it; the page writes it again on a slider move. */
  pt_evaluate_page_set_knn (page, 7, 0.07);
  g_assert_true (pt_test_wait_until (idle_page, page, 10));
  for (int i = 0; i < 200; i++)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (5000);
    }
  info = pt_run_info_read (run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (info->probe, ssl->linear->accuracy, 1e-12);
  {
    g_autoptr(JsonParser) saved = json_parser_new ();
    g_autofree char *path = g_build_filename (run_dir, "eval", "probe.json", NULL);
    JsonObject *root;

    g_assert_true (json_parser_load_from_file (saved, path, &error));
    root = json_node_get_object (json_parser_get_root (saved));
    g_assert_cmpint (json_object_get_int_member (root, "knn_k"), ==, 7);
    g_assert_cmpint (json_object_get_int_member (root, "per_class"), ==, 20);
  }

  gtk_window_destroy (window);
}

static void
test_evaluate_saved_compare_export (void)
{
  PtEvaluatePage *page = g_object_new (PT_TYPE_EVALUATE_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("pretext-eval-XXXXXX", NULL);
  const char *whats[] = { "json", "csv", "linear-png", "knn-svg", "curve-png", "confusion-svg" };
  const int points[] = { 2, 10 };
  const PtLabelCurvePoint *curve;
  const PtRunEvalResult *saved;
  int n_points = 0;

  /* A fresh page shows what was saved, without cache (sliders off). */
  pt_evaluate_page_set_runs_root (page, runs_root);
  pt_evaluate_page_show_run (page, run_dir);
  saved = pt_evaluate_page_get_result (page, PT_EVAL_KIND_SSL);
  g_assert_nonnull (saved);
  g_assert_null (saved->knn_cache);
  g_assert_cmpint (saved->knn->knn_k, ==, 7);

  g_assert_nonnull (pt_evaluate_page_get_result (page, PT_EVAL_KIND_RAW_PIXELS));
  /* Saved results have no predictions: a click explains instead of showing. */
  g_assert_cmpuint (pt_evaluate_page_activate_cell (page, 0, 1), ==, 0);

  /* Two runs side by side. */
  pt_evaluate_page_set_compare (page, other_dir);
  pt_evaluate_page_set_labels (page, 0, 10);
  pt_evaluate_page_set_supervised (page, FALSE);
  pt_evaluate_page_evaluate (page);
  wanted_done = 1;
  g_assert_true (pt_test_wait_until (done, page, 240));
  g_assert_null (pt_evaluate_page_get_error (page));
  g_assert_nonnull (pt_evaluate_page_get_result (page, PT_EVALUATE_SLOT_COMPARE));
  g_assert_cmpint (pt_evaluate_page_get_result (page, PT_EVALUATE_SLOT_COMPARE)->n_subset, ==, 100);
  /* Different runs, different features: not the same result copied. */
  g_assert_cmpuint (pt_evaluate_page_get_result (page, PT_EVALUATE_SLOT_COMPARE)->step, ==, 3);

  /* The label curve at 2 and 10 per class (every label, the page's last
   * point, would make this test slow). */
  pt_evaluate_page_set_curve_points (page, points, 2, FALSE);
  pt_evaluate_page_compute_curve (page);
  wanted_done = 2;
  g_assert_true (pt_test_wait_until (done, page, 240));
  g_assert_null (pt_evaluate_page_get_error (page));
  for (guint slot = 0; slot < PT_EVALUATE_N_SLOTS; slot++)
    {
      curve = pt_evaluate_page_get_curve (page, slot, &n_points);
      if (slot == PT_EVAL_KIND_SUPERVISED)
        {
          g_assert_null (curve);
          continue;
        }
      g_assert_nonnull (curve);
      g_assert_cmpint (n_points, ==, 2);
      g_assert_cmpint (curve[0].n_labeled, ==, 20);
      g_assert_cmpint (curve[1].n_labeled, ==, 100);
      for (int i = 0; i < n_points; i++)
        g_assert_true (curve[i].probe_accuracy >= 0 && curve[i].probe_accuracy <= 1);
    }
  /* The curve's 10-per-class point is the evaluation at 10 per class. */
  curve = pt_evaluate_page_get_curve (page, PT_EVAL_KIND_RAW_PIXELS, NULL);
  g_assert_cmpfloat (curve[1].probe_accuracy, ==,
                     pt_evaluate_page_get_result (page, PT_EVAL_KIND_RAW_PIXELS)->linear->accuracy);

  for (guint i = 0; i < G_N_ELEMENTS (whats); i++)
    {
      g_autofree char *name = g_strdup_printf ("out-%s.%s", whats[i],
                                               strchr (whats[i], '-') ? strchr (whats[i], '-') + 1 : whats[i]);
      g_autofree char *path = g_build_filename (tmp, name, NULL);
      g_autofree char *text = NULL;
      gsize len = 0;

      g_assert_true (pt_evaluate_page_export (page, whats[i], path, &error));
      g_assert_no_error (error);
      g_assert_true (g_file_get_contents (path, &text, &len, NULL));
      g_assert_cmpuint (len, >, 100);
      if (g_str_equal (whats[i], "csv"))
        {
          g_assert_true (g_str_has_prefix (text, "run,features,layer,n_labeled,linear_top1"));
          g_assert_nonnull (strstr (text, ",raw-pixels,backbone,100,"));
          g_assert_nonnull (strstr (text, "features,n_labeled,linear_top1,knn_top1"));
        }
      else if (g_str_equal (whats[i], "json"))
        {
          g_autoptr(JsonParser) p = json_parser_new ();
          g_assert_true (json_parser_load_from_data (p, text, -1, &error));
          g_assert_true (json_object_has_member (json_node_get_object (json_parser_get_root (p)), "compared"));
        }
      else if (g_str_has_suffix (path, ".svg"))
        g_assert_nonnull (strstr (text, "<svg"));
      else
        g_assert_true (memcmp (text, "\x89PNG", 4) == 0);
      g_unlink (path);
    }
  g_rmdir (tmp);
  {
    g_autofree char *curve_path = g_build_filename (run_dir, "eval", "label-curve.json", NULL);
    for (int i = 0; i < 400 && !g_file_test (curve_path, G_FILE_TEST_EXISTS); i++)
      {
        g_main_context_iteration (NULL, FALSE);
        g_usleep (5000);
      }
    g_assert_true (g_file_test (curve_path, G_FILE_TEST_EXISTS));
  }
  gtk_window_destroy (window);
}

/* Projector features: the SimCLR projector's output, as `probe --projection`. */
static void
test_evaluate_projection (void)
{
  PtEvaluatePage *page = g_object_new (PT_TYPE_EVALUATE_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autoptr(JsonParser) parser = json_parser_new ();
  PtCliResult r;
  const PtRunEvalResult *ssl;
  JsonObject *o;
  const char *last;
  guint before;

  pt_evaluate_page_set_runs_root (page, runs_root);
  pt_evaluate_page_show_run (page, run_dir);
  g_assert_true (pt_evaluate_page_get_projection_available (page));
  pt_evaluate_page_set_projection (page, TRUE);
  pt_evaluate_page_set_labels (page, 0, 5);
  /* The saved results brought back k = 7 (the previous test's); the CLI
   * below runs at its defaults. */
  pt_evaluate_page_set_knn (page, PT_KNN_DEFAULT_K, PT_KNN_DEFAULT_T);
  pt_evaluate_page_set_supervised (page, FALSE);
  before = pt_evaluate_page_get_n_done (page);
  pt_evaluate_page_evaluate (page);
  wanted_done = before + 1;
  g_assert_true (pt_test_wait_until (done, page, 240));
  g_assert_null (pt_evaluate_page_get_error (page));
  ssl = pt_evaluate_page_get_result (page, PT_EVAL_KIND_SSL);
  g_assert_cmpint (ssl->dim, ==, 128);   /* the projector's output, not the backbone's */

  r = pt_test_run_cli ("probe", run_dir, "--labels", "5", "--projection", "--no-supervised", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  last = strrchr (g_strchomp (r.out), '\n');
  g_assert_true (json_parser_load_from_data (parser, last != NULL ? last + 1 : r.out, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "features_layer"), ==, "projection");
  assert_same_as_cli (page, json_object_get_object_member (o, "results"));
  pt_cli_result_clear (&r);
  gtk_window_destroy (window);
}

static void
test_evaluate_errors (void)
{
  PtEvaluatePage *page = g_object_new (PT_TYPE_EVALUATE_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autofree char *config = g_build_filename (other_dir, "config.ini", NULL);
  g_autofree char *saved = NULL;
  gsize len;

  /* A run whose dataset cannot be opened: one clear sentence, no crash. */
  g_assert_true (g_file_get_contents (config, &saved, &len, NULL));
  {
    g_autofree char *broken = NULL;
    g_autoptr(GString) s = g_string_new (saved);
    g_string_replace (s, "dataset=shapes", "dataset=/nonexistent/images", 1);
    broken = g_string_free (g_steal_pointer (&s), FALSE);
    g_assert_true (g_file_set_contents (config, broken, -1, NULL));
  }
  pt_evaluate_page_set_runs_root (page, runs_root);
  pt_evaluate_page_show_run (page, other_dir);
  pt_evaluate_page_evaluate (page);
  g_assert_true (pt_test_wait_until (idle_page, page, 60));
  g_assert_nonnull (pt_evaluate_page_get_error (page));
  g_assert_nonnull (strstr (pt_evaluate_page_get_error (page), "/nonexistent/images"));
  g_assert_true (g_file_set_contents (config, saved, len, NULL));
  gtk_window_destroy (window);
}

static void
train (const char *dir,
       const char *steps,
       const char *seed)
{
  PtCliResult r = pt_test_run_cli ("train", "--method", "simclr", "--dataset", "shapes",
                                   "--steps", steps, "--batch", "32", "--seed", seed,
                                   "--out", dir, NULL);

  if (r.status != 0)
    g_printerr ("%s\n", r.err);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/evaluate-page/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }
  pt_ui_init ();
  pt_methods_register_builtin ();
  /* As the application does at start-up (its compute-threads setting);
   * the CLI runs with its default of 1: the numbers must not care. */
  pt_threads_set (2);
  runs_root = g_dir_make_tmp ("pretext-runs-XXXXXX", NULL);
  run_dir = g_build_filename (runs_root, "simclr-a", NULL);
  other_dir = g_build_filename (runs_root, "simclr-b", NULL);
  train (run_dir, "6", "1");
  train (other_dir, "3", "2");

  g_test_add_func ("/app/evaluate-page/matches-cli", test_evaluate_matches_cli);
  g_test_add_func ("/app/evaluate-page/saved-compare-export", test_evaluate_saved_compare_export);
  g_test_add_func ("/app/evaluate-page/projection", test_evaluate_projection);
  g_test_add_func ("/app/evaluate-page/errors", test_evaluate_errors);

  ret = g_test_run ();
  pt_test_remove_tree (runs_root);
  g_free (run_dir);
  g_free (other_dir);
  g_free (runs_root);
  return ret;
}
