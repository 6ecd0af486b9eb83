/* pt-cli-probe.c: `pretext-cli probe DIR`, how good the run's features are.
 *
 * Linear probe and weighted kNN top-1 on the run's dataset (train split to
 * fit, optionally a class-balanced labeled subset of it; test split to
 * score) for the run's features AND the baselines that keep the result
 * honest: raw pixels and the same encoder at random initialization. The
 * result goes to DIR/eval/probe.json (atomically; "accuracy" is the linear
 * probe of the SSL features, which `pretext-cli runs` shows).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-atomic.h"
#include "pt-cli.h"
#include "pt-eval-json.h"
#include "pt-features.h"
#include "pt-knn.h"
#include "pt-probe.h"
#include "pt-subsets.h"
#include "pt-threads.h"

static const PtFeatureKind kinds[] = {
  PT_FEATURES_TRAINED, PT_FEATURES_RAW_PIXELS, PT_FEATURES_RANDOM_INIT,
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

typedef struct {
  PtEvalRecord *linear;
  PtEvalRecord *knn;
} KindResult;

static gboolean
evaluate (const char  *run_dir,
          PtDataset   *train,
          PtDataset   *test,
          PtFeatureKind kind,
          const int   *subset,
          int          n_sub,
          int          n_classes,
          int          knn_k,
          double       knn_t,
          double       c,
          guint64      seed,
          KindResult  *out,
          guint64     *step,
          GError     **error)
{
  g_autofree float *train_x = NULL;
  g_autofree float *test_x = NULL;
  g_autofree float *sub_x = NULL;
  g_autofree int *sub_y = NULL;
  g_autoptr(PtProbeResult) probe = NULL;
  g_autoptr(PtKnnIndex) index = NULL;
  g_autoptr(PtKnnCache) cache = NULL;
  g_autoptr(PtClassReport) report = NULL;
  PtProbeOptions options;
  const int *train_labels = pt_dataset_get_labels (train);
  int d = 0, d2 = 0;
  int n_test = (int) pt_dataset_get_n_images (test);

  train_x = pt_features_for_run (run_dir, train, kind, &d, step, NULL, NULL, error);
  if (train_x == NULL)
    return FALSE;
  test_x = pt_features_for_run (run_dir, test, kind, &d2, NULL, NULL, NULL, error);
  if (test_x == NULL)
    return FALSE;
  g_assert (d == d2);

  sub_x = g_new (float, (gsize) n_sub * d);
  sub_y = g_new (int, n_sub);
  pt_subset_gather (sub_x, train_x, d, subset, n_sub);
  for (int i = 0; i < n_sub; i++)
    sub_y[i] = train_labels[subset[i]];
  g_clear_pointer (&train_x, g_free);

  pt_probe_options_init (&options);
  options.seed = seed;
  options.c = c;
  probe = pt_probe_run (sub_x, sub_y, n_sub, test_x, pt_dataset_get_labels (test), n_test,
                        d, n_classes, &options, NULL, error);
  if (probe == NULL)
    return FALSE;
  out->linear = pt_eval_record_new_probe (probe, seed);

  index = pt_knn_index_new (sub_x, n_sub, d);
  cache = pt_knn_cache_new (index, test_x, n_test, MIN (knn_k, n_sub), NULL, error);
  if (cache == NULL)
    return FALSE;
  report = pt_knn_cache_evaluate (cache, sub_y, pt_dataset_get_labels (test), n_classes,
                                  MIN (knn_k, n_sub), knn_t);
  out->knn = pt_eval_record_new_knn (report, n_sub, MIN (knn_k, n_sub), knn_t);
  for (guint r = 0; r < 2; r++)
    {
      PtEvalRecord *rec = r == 0 ? out->linear : out->knn;

      g_free (rec->features);
      rec->features = g_strdup (pt_feature_kind_to_string (kind));
    }
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
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) train = NULL;
  g_autoptr(PtDataset) test = NULL;
  g_autoptr(JsonBuilder) b = NULL;
  g_autoptr(JsonNode) root = NULL;
  g_autofree int *subset = NULL;
  g_autofree char *path = NULL;
  g_autofree char *text = NULL;
  KindResult results[G_N_ELEMENTS (kinds)] = { { 0 } };
  double fraction = 1.0;
  int per_class = 0, n_sub = 0, n_classes;
  guint64 step = 0;
  const char *run_dir;
  int status = PT_EXIT_OK;
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_STRING, &labels, N_("Labeled training images: a fraction (0.01, 10%) or a count per class (default all)"), N_("FRACTION|N") },
    { "knn-k", 0, 0, G_OPTION_ARG_INT, &knn_k, N_("Neighbours that vote in kNN (default 20)"), N_("K") },
    { "knn-t", 0, 0, G_OPTION_ARG_DOUBLE, &knn_t, N_("kNN temperature (default 0.07)"), N_("T") },
    { "c", 0, 0, G_OPTION_ARG_DOUBLE, &c, N_("Inverse L2 strength of the probe (default: chosen on a validation split)"), N_("C") },
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
  train = pt_features_open_split (run_dir, PT_SPLIT_TRAIN, NULL, &error);
  if (train == NULL)
    return pt_cli_report_error ("probe", error);
  test = pt_features_open_split (run_dir, PT_SPLIT_TEST, NULL, &error);
  if (test == NULL)
    return pt_cli_report_error ("probe", error);
  n_classes = pt_dataset_get_n_classes (train);
  if (n_classes < 2)
    {
      g_printerr (_("pretext-cli probe: the dataset “%s” has no class labels to probe with.\n"),
                  pt_dataset_get_spec (train));
      return PT_EXIT_INPUT;
    }
  subset = pt_subset_balanced (pt_dataset_get_labels (train),
                               (int) pt_dataset_get_n_images (train), n_classes,
                               fraction, per_class, (guint64) seed, &n_sub);
  if (n_sub < 2)
    {
      g_printerr (_("pretext-cli probe: too few labeled images in “%s” for --labels.\n"),
                  pt_dataset_get_spec (train));
      return PT_EXIT_INPUT;
    }

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      guint64 s = 0;

      if (!evaluate (run_dir, train, test, kinds[k], subset, n_sub, n_classes, knn_k, knn_t,
                     c, (guint64) seed, &results[k], &s, &error))
        {
          status = pt_cli_report_error ("probe", error);
          goto out;
        }
      if (kinds[k] == PT_FEATURES_TRAINED)
        step = s;
      if (json)
        {
          g_autoptr(JsonBuilder) line = json_builder_new ();

          json_builder_begin_object (line);
          json_builder_set_member_name (line, "features");
          json_builder_add_string_value (line, pt_feature_kind_to_string (kinds[k]));
          json_builder_set_member_name (line, "linear");
          json_builder_add_double_value (line, results[k].linear->accuracy);
          json_builder_set_member_name (line, "knn");
          json_builder_add_double_value (line, results[k].knn->accuracy);
          json_builder_end_object (line);
          pt_cli_print_json_builder (line);
        }
      else
        printf (_("%-12s linear %6.2f%%   kNN %6.2f%%\n"), pt_feature_kind_to_string (kinds[k]),
                100.0 * results[k].linear->accuracy, 100.0 * results[k].knn->accuracy);
      fflush (stdout);
    }

  b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "accuracy");
  json_builder_add_double_value (b, results[0].linear->accuracy);
  json_builder_set_member_name (b, "knn_accuracy");
  json_builder_add_double_value (b, results[0].knn->accuracy);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, run_dir);
  json_builder_set_member_name (b, "dataset");
  json_builder_add_string_value (b, pt_dataset_get_spec (train));
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, (gint64) step);
  json_builder_set_member_name (b, "n_labeled");
  json_builder_add_int_value (b, n_sub);
  json_builder_set_member_name (b, "n_test");
  json_builder_add_int_value (b, pt_dataset_get_n_images (test));
  json_builder_set_member_name (b, "label_fraction");
  if (per_class > 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, fraction);
  json_builder_set_member_name (b, "per_class");
  json_builder_add_int_value (b, per_class);
  json_builder_set_member_name (b, "knn_k");
  json_builder_add_int_value (b, knn_k);
  json_builder_set_member_name (b, "knn_t");
  json_builder_add_double_value (b, knn_t);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, seed);
  json_builder_set_member_name (b, "results");
  json_builder_begin_object (b);
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      json_builder_set_member_name (b, pt_feature_kind_to_string (kinds[k]));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "linear");
      json_builder_add_value (b, pt_eval_record_to_json (results[k].linear));
      json_builder_set_member_name (b, "knn");
      json_builder_add_value (b, pt_eval_record_to_json (results[k].knn));
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);

  {
    g_autoptr(JsonGenerator) gen = json_generator_new ();
    g_autofree char *eval_dir = g_build_filename (run_dir, "eval", NULL);

    json_generator_set_root (gen, root);
    json_generator_set_pretty (gen, TRUE);
    text = json_generator_to_data (gen, NULL);
    path = g_build_filename (eval_dir, "probe.json", NULL);
    g_mkdir_with_parents (eval_dir, 0755);
    if (!pt_atomic_write_contents (path, text, strlen (text), &error))
      {
        status = pt_cli_report_error ("probe", error);
        goto out;
      }
  }
  if (json)
    {
      /* The full records (confusion, misclassified) stay in the file. */
      g_autoptr(JsonNode) brief = json_node_copy (root);
      JsonObject *res = json_object_get_object_member (json_node_get_object (brief), "results");

      for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
        {
          JsonObject *o = json_object_get_object_member (res, pt_feature_kind_to_string (kinds[k]));

          json_object_set_double_member (o, "linear", results[k].linear->accuracy);
          json_object_set_double_member (o, "knn", results[k].knn->accuracy);
          json_object_set_double_member (o, "C", results[k].linear->c);
        }
      json_object_set_string_member (json_node_get_object (brief), "file", path);
      pt_cli_print_json (brief);
    }
  else
    printf (_("Results written to %s\n"), path);

out:
  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_clear_pointer (&results[k].linear, pt_eval_record_free);
      g_clear_pointer (&results[k].knn, pt_eval_record_free);
    }
  return status;
}
