/* pt-cli-probe.c: `pretext-cli probe DIR`, how good the run's features are.
 *
 * Linear probe and weighted kNN top-1 on the run's dataset (train split to
 * fit, optionally a class-balanced labeled subset of it; test split to
 * score) for the run's features AND the baselines that keep the result
 * honest: raw pixels and the same encoder at random initialization. The
 * result goes to DIR/eval/probe.json (atomically; "accuracy" is the linear
 * probe of the SSL features, which `pretext-cli runs` shows). The work is
 * core/pt-run-eval's, shared with the window's Evaluate page.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-run-eval.h"
#include "pt-threads.h"

static const PtEvalKind kinds[] = {
  PT_EVAL_KIND_SSL, PT_EVAL_KIND_RAW_PIXELS, PT_EVAL_KIND_RANDOM_INIT,
};

/* "0.1" or "10%" is a fraction; a whole number above 1 is per class. */
static gboolean
parse_labels (const char *text,
              double     *fraction,
              int        *per_class)
{
  char *end = NULL;
  double v = g_ascii_strtod (text, &end);

  if (end == text || !isfinite (v) || v <= 0)
    return FALSE;
  if (*end == '%' && end[1] == '\0')
    {
      if (v > 100)
        return FALSE;
      *fraction = v / 100.0;
      *per_class = 0;
      return TRUE;
    }
  if (*end != '\0')
    return FALSE;
  if (v <= 1.0)
    {
      *fraction = v;
      *per_class = 0;
      return TRUE;
    }
  if (v != floor (v) || v > G_MAXINT)
    return FALSE;
  *fraction = 0;
  *per_class = (int) v;
  return TRUE;
}

int
pt_cli_probe_main (int    argc,
                   char **argv)
{
  g_autofree char *labels = NULL;
  int knn_k = PT_KNN_DEFAULT_K, threads = 0;
  double knn_t = PT_KNN_DEFAULT_T, c = 0;
  gint64 seed = 0;
  gboolean json = FALSE, projection = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = NULL;
  g_autofree char *path = NULL;
  PtRunEvalResult *results[G_N_ELEMENTS (kinds)] = { NULL };
  PtRunEvalOptions options;
  double fraction = 1.0;
  int per_class = 0, n_sub = 0, n_done = 0;
  const char *run_dir;
  int status = PT_EXIT_OK;
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_STRING, &labels, N_("Labeled training images: a fraction (0.01, 10%) or a count per class (default all)"), N_("FRACTION|N") },
    { "knn-k", 0, 0, G_OPTION_ARG_INT, &knn_k, N_("Neighbours that vote in kNN (default 20)"), N_("K") },
    { "knn-t", 0, 0, G_OPTION_ARG_DOUBLE, &knn_t, N_("kNN temperature (default 0.07)"), N_("T") },
    { "c", 0, 0, G_OPTION_ARG_DOUBLE, &c, N_("Inverse L2 strength of the probe (default: chosen on a validation split)"), N_("C") },
    { "projection", 0, 0, G_OPTION_ARG_NONE, &projection, N_("Evaluate the projector’s output instead of the backbone’s"), NULL },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed of the labeled subset and the validation split (default 0)"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Compute threads (default 1)"), N_("T") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the results as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("DIR — linear probe and kNN of a run, beside the baselines"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "probe"))
    return PT_EXIT_USAGE;

  if (argc < 2)
    return pt_cli_usage_error ("probe", _("the run directory is required"));
  if (argc > 2)
    return pt_cli_usage_error ("probe", _("unexpected argument “%s”"), argv[2]);
  if (labels != NULL && !parse_labels (labels, &fraction, &per_class))
    return pt_cli_usage_error ("probe", _("--labels must be a fraction in (0, 1], a percentage or a whole number of images per class"));
  if (knn_k < 1 || knn_k > PT_KNN_DEFAULT_CACHE_K)
    return pt_cli_usage_error ("probe", _("--knn-k must be between 1 and 200"));
  if (!(knn_t > 0) || !isfinite (knn_t))
    return pt_cli_usage_error ("probe", _("--knn-t must be positive"));
  if (c < 0 || !isfinite (c))
    return pt_cli_usage_error ("probe", _("--c must be positive"));
  if (seed < 0)
    return pt_cli_usage_error ("probe", _("--seed must not be negative"));
  if (threads < 0 || threads > 256)
    return pt_cli_usage_error ("probe", _("--threads must be between 1 and 256"));
  if (threads > 0)
    pt_threads_set (threads);
  run_dir = argv[1];
  if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr (_("pretext-cli probe: the run directory “%s” does not exist.\n"), run_dir);
      return PT_EXIT_INPUT;
    }

  pt_cli_register_methods ();
  ev = pt_run_eval_open (run_dir, NULL, &error);
  if (ev == NULL)
    return pt_cli_report_error ("probe", error);

  pt_run_eval_options_init (&options);
  options.label_fraction = fraction;
  options.per_class = per_class;
  options.seed = (guint64) seed;
  options.knn_k = knn_k;
  options.knn_t = knn_t;
  options.c = c;
  options.projection = projection;
  g_free (pt_run_eval_subset (ev, &options, &n_sub));
  if (n_sub < 2)
    {
      g_printerr (_("pretext-cli probe: too few labeled images in “%s” for --labels.\n"),
                  pt_dataset_get_spec (pt_run_eval_get_train (ev)));
      return PT_EXIT_INPUT;
    }

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      results[k] = pt_run_eval_kind (ev, kinds[k], &options, NULL, &error);
      if (results[k] == NULL)
        {
          status = pt_cli_report_error ("probe", error);
          goto out;
        }
      n_done++;
      if (json)
        {
          g_autoptr(JsonBuilder) line = json_builder_new ();

          json_builder_begin_object (line);
          json_builder_set_member_name (line, "features");
          json_builder_add_string_value (line, pt_eval_kind_to_string (kinds[k]));
          json_builder_set_member_name (line, "linear");
          json_builder_add_double_value (line, results[k]->linear->accuracy);
          json_builder_set_member_name (line, "knn");
          json_builder_add_double_value (line, results[k]->knn->accuracy);
          json_builder_end_object (line);
          pt_cli_print_json_builder (line);
        }
      else
        printf (_("%-12s linear %6.2f%%   kNN %6.2f%%\n"), pt_eval_kind_to_string (kinds[k]),
                100.0 * results[k]->linear->accuracy, 100.0 * results[k]->knn->accuracy);
      fflush (stdout);
    }

  if (!pt_run_eval_save (ev, &options, results, n_done, &path, &error))
    {
      status = pt_cli_report_error ("probe", error);
      goto out;
    }
  if (json)
    {
      /* The full records (confusion, misclassified) stay in the file. */
      g_autoptr(JsonNode) brief = pt_run_eval_to_json (ev, &options, results, n_done);
      JsonObject *res = json_object_get_object_member (json_node_get_object (brief), "results");

      for (int k = 0; k < n_done; k++)
        {
          JsonObject *o = json_object_get_object_member (res, pt_eval_kind_to_string (kinds[k]));

          json_object_set_double_member (o, "linear", results[k]->linear->accuracy);
          json_object_set_double_member (o, "knn", results[k]->knn->accuracy);
          json_object_set_double_member (o, "C", results[k]->linear->c);
        }
      json_object_set_string_member (json_node_get_object (brief), "file", path);
      pt_cli_print_json (brief);
    }
  else
    printf (_("Results written to %s\n"), path);

out:
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    g_clear_pointer (&results[k], pt_run_eval_result_free);
  return status;
}
