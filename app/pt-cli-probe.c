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
  PT_EVAL_KIND_SSL, PT_EVAL_KIND_RAW_PIXELS, PT_EVAL_KIND_RANDOM_INIT, PT_EVAL_KIND_SUPERVISED,
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

/* "5,10,100,all": labels per class; "all" is 0 (the largest class). */
static gboolean
parse_curve (const char *text,
             int        *points,
             int        *n_points)
{
  g_auto(GStrv) parts = g_strsplit (text, ",", -1);

  *n_points = 0;
  for (int i = 0; parts[i] != NULL; i++)
    {
      const char *p = g_strstrip (parts[i]);
      guint64 v;

      if (*n_points >= 16)
        return FALSE;
      if (g_str_equal (p, "all"))
        points[(*n_points)++] = 0;
      else if (g_ascii_string_to_unsigned (p, 10, 1, G_MAXINT, &v, NULL))
        points[(*n_points)++] = (int) v;
      else
        return FALSE;
    }
  return *n_points > 0;
}

/* Runs and prints the label-efficiency curve of every kind; saves it. */
static gboolean
run_curves (PtRunEval              *ev,
            guint                   n_kinds,
            const PtRunEvalOptions *options,
            const int              *points,
            int                     n_points,
            gboolean                json,
            char                  **path,
            GError                **error)
{
  PtLabelCurvePoint *curves[PT_EVAL_N_KINDS] = { NULL };
  int max_count = pt_run_eval_get_max_class_count (ev);
  int per_class[16];
  gboolean ok = TRUE;

  for (int i = 0; i < n_points; i++)
    per_class[i] = points[i] > 0 ? MIN (points[i], max_count) : max_count;

  for (guint k = 0; k < n_kinds && ok; k++)
    {
      curves[kinds[k]] = pt_run_eval_curve (ev, kinds[k], options, NULL, per_class, n_points, NULL, error);
      if (curves[kinds[k]] == NULL)
        ok = FALSE;
    }
  if (ok)
    {
      if (!json)
        {
          printf (_("Label efficiency (linear probe / kNN, top-1 %%):\n"));
          printf ("%-10s", _("labels"));
          for (guint k = 0; k < n_kinds; k++)
            printf ("  %-20s", pt_eval_kind_to_string (kinds[k]));
          printf ("\n");
          for (int i = 0; i < n_points; i++)
            {
              printf ("%-10d", curves[kinds[0]][i].n_labeled);
              for (guint k = 0; k < n_kinds; k++)
                printf ("  %6.2f / %6.2f       ", 100.0 * curves[kinds[k]][i].probe_accuracy,
                        100.0 * curves[kinds[k]][i].knn_accuracy);
              printf ("\n");
            }
        }
      ok = pt_run_eval_save_curves (ev, options, curves, n_points, path, error);
      if (ok && !json)
        printf (_("Curve written to %s\n"), *path);
    }
  for (guint k = 0; k < PT_EVAL_N_KINDS; k++)
    g_free (curves[k]);
  return ok;
}

int
pt_cli_probe_main (int    argc,
                   char **argv)
{
  g_autofree char *labels = NULL;
  int knn_k = PT_KNN_DEFAULT_K, threads = 0;
  double knn_t = PT_KNN_DEFAULT_T, c = 0;
  gint64 seed = 0;
  gboolean json = FALSE, projection = FALSE, no_supervised = FALSE;
  int supervised_steps = 0;
  g_autofree char *curve = NULL;
  g_autofree char *curve_path = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = NULL;
  g_autofree char *path = NULL;
  PtRunEvalResult *results[G_N_ELEMENTS (kinds)] = { NULL };
  PtRunEvalOptions options;
  double fraction = 1.0;
  int per_class = 0, n_sub = 0, n_done = 0, n_curve = 0;
  int curve_points[16];
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
    { "no-supervised", 0, 0, G_OPTION_ARG_NONE, &no_supervised, N_("Skip the supervised baseline (training the encoder from scratch on the labels)"), NULL },
    { "supervised-steps", 0, 0, G_OPTION_ARG_INT, &supervised_steps, N_("Training steps of the supervised baseline (default: 30 passes over the labels, 300 to 1500 steps)"), N_("N") },
    { "curve", 0, 0, G_OPTION_ARG_STRING, &curve, N_("Also the label-efficiency curve at these labels per class, e.g. 5,10,100,all"), N_("LIST") },
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
  if (supervised_steps < 0 || supervised_steps > 1000000)
    return pt_cli_usage_error ("probe", _("--supervised-steps must be between 1 and 1000000"));
  if (curve != NULL && !parse_curve (curve, curve_points, &n_curve))
    return pt_cli_usage_error ("probe", _("--curve must be a comma-separated list of up to 16 whole numbers of labels per class, or “all”"));
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
  options.supervised_steps = supervised_steps;
  g_free (pt_run_eval_subset (ev, &options, &n_sub));
  if (n_sub < 2)
    {
      g_printerr (_("pretext-cli probe: too few labeled images in “%s” for --labels.\n"),
                  pt_dataset_get_spec (pt_run_eval_get_train (ev)));
      return PT_EXIT_INPUT;
    }

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      if (kinds[k] == PT_EVAL_KIND_SUPERVISED && no_supervised)
        break;
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
  if (n_curve > 0 &&
      !run_curves (ev, n_done, &options, curve_points, n_curve, json, &curve_path, &error))
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
          if (isfinite (results[k]->linear->c))
            json_object_set_double_member (o, "C", results[k]->linear->c);
          if (results[k]->train_steps > 0)
            json_object_set_int_member (o, "steps", results[k]->train_steps);
        }
      json_object_set_string_member (json_node_get_object (brief), "file", path);
      if (curve_path != NULL)
        {
          g_autoptr(JsonParser) parser = json_parser_new ();

          if (json_parser_load_from_file (parser, curve_path, NULL))
            json_object_set_member (json_node_get_object (brief), "curve",
                                    json_node_copy (json_parser_get_root (parser)));
        }
      pt_cli_print_json (brief);
    }
  else
    printf (_("Results written to %s\n"), path);

out:
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    g_clear_pointer (&results[k], pt_run_eval_result_free);
  return status;
}
