/* pt-run-eval.c: evaluating a run, the same way from the CLI and the window. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-atomic.h"
#include "pt-run-eval.h"
#include "pt-supervised.h"

G_DEFINE_QUARK (pt-run-eval-error-quark, pt_run_eval_error)

struct _PtRunEval
{
  char      *run_dir;
  PtDataset *train;
  PtDataset *test;
  int        n_classes;
  gboolean   has_projection;
};

static const char *const kind_names[PT_EVAL_N_KINDS] = {
  "ssl", "raw-pixels", "random-init", "supervised",
};

const char *
pt_eval_kind_to_string (PtEvalKind kind)
{
  g_return_val_if_fail (kind < PT_EVAL_N_KINDS, NULL);
  return kind_names[kind];
}

int
pt_eval_kind_from_string (const char *name)
{
  for (int k = 0; k < PT_EVAL_N_KINDS; k++)
    if (g_strcmp0 (name, kind_names[k]) == 0)
      return k;
  return -1;
}

const char *
pt_eval_kind_get_title (PtEvalKind kind)
{
  switch (kind)
    {
    case PT_EVAL_KIND_SSL: return _("SSL encoder");
    case PT_EVAL_KIND_RAW_PIXELS: return _("Raw pixels");
    case PT_EVAL_KIND_RANDOM_INIT: return _("Random init");
    case PT_EVAL_KIND_SUPERVISED: return _("Supervised");
    case PT_EVAL_N_KINDS: default: break;
    }
  g_return_val_if_reached (NULL);
}

void
pt_run_eval_options_init (PtRunEvalOptions *options)
{
  memset (options, 0, sizeof *options);
  options->label_fraction = 1.0;
  options->knn_k = PT_KNN_DEFAULT_K;
  options->knn_t = PT_KNN_DEFAULT_T;
}

PtRunEval *
pt_run_eval_open (const char   *run_dir,
                  GCancellable *cancellable,
                  GError      **error)
{
  g_autoptr(PtDataset) train = NULL;
  g_autoptr(PtDataset) test = NULL;
  PtRunEval *ev;

  g_return_val_if_fail (run_dir != NULL, NULL);

  train = pt_features_open_split (run_dir, PT_SPLIT_TRAIN, cancellable, error);
  if (train == NULL)
    return NULL;
  if (pt_dataset_get_n_classes (train) < 2)
    {
      g_set_error (error, PT_RUN_EVAL_ERROR, PT_RUN_EVAL_ERROR_NO_LABELS,
                   _("The dataset “%s” has no class labels to evaluate with."),
                   pt_dataset_get_spec (train));
      return NULL;
    }
  test = pt_features_open_split (run_dir, PT_SPLIT_TEST, cancellable, error);
  if (test == NULL)
    return NULL;

  ev = g_atomic_rc_box_new0 (PtRunEval);
  ev->run_dir = g_strdup (run_dir);
  ev->train = g_steal_pointer (&train);
  ev->test = g_steal_pointer (&test);
  ev->n_classes = pt_dataset_get_n_classes (ev->train);
  ev->has_projection = pt_features_run_has_projection (run_dir);
  return ev;
}

static void
pt_run_eval_clear (gpointer data)
{
  PtRunEval *ev = data;

  g_free (ev->run_dir);
  g_clear_object (&ev->train);
  g_clear_object (&ev->test);
}

PtRunEval *
pt_run_eval_ref (PtRunEval *ev)
{
  return g_atomic_rc_box_acquire (ev);
}

void
pt_run_eval_free (PtRunEval *ev)
{
  if (ev != NULL)
    g_atomic_rc_box_release_full (ev, pt_run_eval_clear);
}

const char *
pt_run_eval_get_dir (PtRunEval *ev)
{
  return ev->run_dir;
}

PtDataset *
pt_run_eval_get_train (PtRunEval *ev)
{
  return ev->train;
}

PtDataset *
pt_run_eval_get_test (PtRunEval *ev)
{
  return ev->test;
}

int
pt_run_eval_get_n_classes (PtRunEval *ev)
{
  return ev->n_classes;
}

gboolean
pt_run_eval_has_projection (PtRunEval *ev)
{
  return ev->has_projection;
}

int
pt_run_eval_get_max_class_count (PtRunEval *ev)
{
  const guint *counts = pt_dataset_get_class_counts (ev->train);
  guint max_count = 0;

  for (int c = 0; c < ev->n_classes; c++)
    max_count = MAX (max_count, counts[c]);
  return (int) max_count;
}

int *
pt_run_eval_subset (PtRunEval              *ev,
                    const PtRunEvalOptions *options,
                    int                    *n_subset)
{
  return pt_subset_balanced (pt_dataset_get_labels (ev->train),
                             (int) pt_dataset_get_n_images (ev->train), ev->n_classes,
                             options->per_class > 0 ? 0 : options->label_fraction,
                             options->per_class, options->seed, n_subset);
}

static void
set_too_few (PtRunEval *ev,
             int        n_sub,
             GError   **error)
{
  g_set_error (error, PT_RUN_EVAL_ERROR, PT_RUN_EVAL_ERROR_TOO_FEW,
               _("Only %d labeled training images in “%s”: too few to evaluate."),
               n_sub, pt_dataset_get_spec (ev->train));
}

/* Features of both splits for a kind that is a fixed function of the
 * images (everything but the supervised baseline). */
static gboolean
features_for (PtRunEval              *ev,
              PtEvalKind              kind,
              const PtRunEvalOptions *options,
              float                 **train_x,
              float                 **test_x,
              int                    *dim,
              guint64                *step,
              GCancellable           *cancellable,
              GError                **error)
{
  PtFeatureKind fk;
  PtFeatureLayer layer;
  int d2 = 0;

  switch (kind)
    {
    case PT_EVAL_KIND_SSL: fk = PT_FEATURES_TRAINED; break;
    case PT_EVAL_KIND_RAW_PIXELS: fk = PT_FEATURES_RAW_PIXELS; break;
    case PT_EVAL_KIND_RANDOM_INIT: fk = PT_FEATURES_RANDOM_INIT; break;
    case PT_EVAL_KIND_SUPERVISED: case PT_EVAL_N_KINDS: default:
      g_return_val_if_reached (FALSE);
    }
  if (options->projection && kind != PT_EVAL_KIND_RAW_PIXELS && !ev->has_projection)
    {
      g_set_error (error, PT_RUN_EVAL_ERROR, PT_RUN_EVAL_ERROR_UNSUPPORTED,
                   _("The run in “%s” has no projector output to evaluate."), ev->run_dir);
      return FALSE;
    }
  layer = options->projection ? PT_FEATURE_LAYER_PROJECTION : PT_FEATURE_LAYER_BACKBONE;

  *train_x = pt_features_for_run_layer (ev->run_dir, ev->train, fk, layer, dim, step, NULL,
                                        cancellable, error);
  if (*train_x == NULL)
    return FALSE;
  *test_x = pt_features_for_run_layer (ev->run_dir, ev->test, fk, layer, &d2, NULL, NULL,
                                       cancellable, error);
  if (*test_x == NULL)
    {
      g_clear_pointer (train_x, g_free);
      return FALSE;
    }
  g_assert (*dim == d2);
  return TRUE;
}

static void
set_features_name (PtEvalRecord *rec,
                   PtEvalKind    kind,
                   const PtRunEvalOptions *options)
{
  g_free (rec->features);
  rec->features = g_strdup (pt_eval_kind_to_string (kind));
  if (options->per_class > 0)
    {
      rec->per_class = options->per_class;
      rec->label_fraction = NAN;
    }
  else
    rec->label_fraction = MIN (options->label_fraction, 1.0);
}

/* Probe and kNN of one kind on the subset, from features. */
static PtRunEvalResult *
evaluate_features (PtRunEval              *ev,
                   PtEvalKind              kind,
                   const PtRunEvalOptions *options,
                   const float            *train_x,
                   const float            *test_x,
                   int                     d,
                   const int              *subset,
                   int                     n_sub,
                   gboolean                run_probe,
                   GCancellable           *cancellable,
                   GError                **error)
{
  g_autoptr(PtRunEvalResult) res = g_new0 (PtRunEvalResult, 1);
  g_autofree float *sub_x = g_new (float, (gsize) n_sub * d);
  g_autoptr(PtKnnIndex) index = NULL;
  const int *train_y = pt_dataset_get_labels (ev->train);
  const int *test_y = pt_dataset_get_labels (ev->test);
  int n_test = (int) pt_dataset_get_n_images (ev->test);

  res->kind = kind;
  res->dim = d;
  res->n_test = n_test;
  res->n_subset = n_sub;
  res->subset_labels = g_new (int, n_sub);
  pt_subset_gather (sub_x, train_x, d, subset, n_sub);
  for (int i = 0; i < n_sub; i++)
    res->subset_labels[i] = train_y[subset[i]];

  if (run_probe)
    {
      g_autoptr(PtProbeResult) probe = NULL;
      PtProbeOptions po;

      pt_probe_options_init (&po);
      po.seed = options->seed;
      po.c = options->c;
      po.progress = options->probe_progress;
      po.progress_data = options->probe_progress_data;
      probe = pt_probe_run (sub_x, res->subset_labels, n_sub, test_x, test_y, n_test,
                            d, ev->n_classes, &po, cancellable, error);
      if (probe == NULL)
        return NULL;
      res->linear = pt_eval_record_new_probe (probe, options->seed);
      res->linear_pred = g_memdup2 (probe->pred, sizeof (int) * (gsize) n_test);
      set_features_name (res->linear, kind, options);
    }

  index = pt_knn_index_new (sub_x, n_sub, d);
  res->knn_cache = pt_knn_cache_new (index, test_x, n_test, MIN (PT_KNN_DEFAULT_CACHE_K, n_sub),
                                     cancellable, error);
  if (res->knn_cache == NULL)
    return NULL;
  pt_run_eval_result_rescore_knn (res, ev, options->knn_k, options->knn_t);
  res->knn->seed = options->seed;
  set_features_name (res->knn, kind, options);
  return g_steal_pointer (&res);
}

/* The supervised baseline: the run's encoder trained from scratch with
 * cross-entropy on the subset; "linear" is its own head's accuracy, the
 * kNN runs on its features like every other kind's. */
static PtRunEvalResult *
supervised_kind (PtRunEval              *ev,
                 const PtRunEvalOptions *options,
                 const int              *subset,
                 int                     n_sub,
                 GCancellable           *cancellable,
                 GError                **error)
{
  g_autoptr(PtSupervisedResult) sr = NULL;
  PtSupervisedOptions so;
  PtRunEvalResult *res;
  PtEvalRecord *rec;

  pt_supervised_options_init (&so);
  so.n_steps = options->supervised_steps;
  so.seed = options->seed;
  so.progress = options->train_progress;
  so.progress_data = options->train_progress_data;
  sr = pt_supervised_run (ev->run_dir, ev->train, subset, n_sub, ev->test, &so, cancellable, error);
  if (sr == NULL)
    return NULL;
  res = evaluate_features (ev, PT_EVAL_KIND_SUPERVISED, options, sr->train_features,
                           sr->test_features, sr->dim, subset, n_sub, FALSE, cancellable, error);
  if (res == NULL)
    return NULL;
  rec = pt_eval_record_new ("supervised");
  rec->accuracy = sr->report->accuracy;
  rec->n_train = n_sub;
  rec->n_test = sr->report->n;
  rec->seed = options->seed;
  rec->report = pt_class_report_copy (sr->report);
  set_features_name (rec, PT_EVAL_KIND_SUPERVISED, options);
  res->linear = rec;
  res->linear_pred = g_memdup2 (sr->pred, sizeof (int) * (gsize) sr->n_test);
  res->train_steps = sr->n_steps;
  return res;
}

PtRunEvalResult *
pt_run_eval_kind (PtRunEval              *ev,
                  PtEvalKind              kind,
                  const PtRunEvalOptions *options,
                  GCancellable           *cancellable,
                  GError                **error)
{
  g_autofree int *subset = NULL;
  g_autofree float *train_x = NULL;
  g_autofree float *test_x = NULL;
  PtRunEvalResult *res;
  int n_sub = 0, d = 0;
  guint64 step = 0;

  g_return_val_if_fail (ev != NULL && options != NULL, NULL);
  g_return_val_if_fail (kind < PT_EVAL_N_KINDS, NULL);

  subset = pt_run_eval_subset (ev, options, &n_sub);
  if (n_sub < 2)
    {
      set_too_few (ev, n_sub, error);
      return NULL;
    }

  if (kind == PT_EVAL_KIND_SUPERVISED)
    return supervised_kind (ev, options, subset, n_sub, cancellable, error);

  if (!features_for (ev, kind, options, &train_x, &test_x, &d, &step, cancellable, error))
    return NULL;
  res = evaluate_features (ev, kind, options, train_x, test_x, d, subset, n_sub, TRUE,
                           cancellable, error);
  if (res != NULL)
    res->step = step;
  return res;
}

void
pt_run_eval_result_rescore_knn (PtRunEvalResult *result,
                                PtRunEval       *ev,
                                int              k,
                                double           t)
{
  g_autoptr(PtClassReport) report = NULL;
  PtEvalRecord *old = result->knn;
  PtEvalRecord *rec;

  g_return_if_fail (result->knn_cache != NULL);
  k = CLAMP (k, 1, result->knn_cache->k_max);
  if (result->knn_pred == NULL)
    result->knn_pred = g_new (int, result->knn_cache->n_queries);
  pt_knn_cache_predict (result->knn_cache, result->subset_labels, ev->n_classes, k, t,
                        result->knn_pred, NULL);
  report = pt_class_report_new (pt_dataset_get_labels (ev->test), result->knn_pred,
                                result->knn_cache->n_queries, ev->n_classes);
  rec = pt_eval_record_new_knn (report, result->n_subset, k, t);
  if (old != NULL)
    {
      rec->features = g_strdup (old->features);
      rec->label_fraction = old->label_fraction;
      rec->per_class = old->per_class;
      rec->seed = old->seed;
      pt_eval_record_free (old);
    }
  result->knn = rec;
}

void
pt_run_eval_result_free (PtRunEvalResult *result)
{
  if (result == NULL)
    return;
  g_free (result->subset_labels);
  g_free (result->linear_pred);
  g_free (result->knn_pred);
  g_clear_pointer (&result->linear, pt_eval_record_free);
  g_clear_pointer (&result->knn, pt_eval_record_free);
  g_clear_pointer (&result->knn_cache, pt_knn_cache_free);
  g_free (result);
}

PtLabelCurvePoint *
pt_run_eval_curve (PtRunEval              *ev,
                   PtEvalKind              kind,
                   const PtRunEvalOptions *options,
                   const double           *fractions,
                   const int              *per_class,
                   int                     n_points,
                   GCancellable           *cancellable,
                   GError                **error)
{
  g_autofree float *train_x = NULL;
  g_autofree float *test_x = NULL;
  PtLabelCurveOptions co;
  int d = 0;
  guint64 step = 0;

  g_return_val_if_fail (n_points > 0, NULL);
  g_return_val_if_fail ((fractions == NULL) != (per_class == NULL), NULL);

  if (kind == PT_EVAL_KIND_SUPERVISED)
    {
      /* One training per point: the baseline only ever sees its labels. */
      g_autofree PtLabelCurvePoint *points = g_new0 (PtLabelCurvePoint, n_points);

      for (int i = 0; i < n_points; i++)
        {
          PtRunEvalOptions po = *options;
          g_autofree int *subset = NULL;
          g_autoptr(PtRunEvalResult) r = NULL;
          int n_sub = 0;

          po.label_fraction = fractions != NULL ? fractions[i] : 0;
          po.per_class = fractions != NULL ? 0 : per_class[i];
          subset = pt_run_eval_subset (ev, &po, &n_sub);
          if (n_sub < 2)
            {
              set_too_few (ev, n_sub, error);
              return NULL;
            }
          r = supervised_kind (ev, &po, subset, n_sub, cancellable, error);
          if (r == NULL)
            return NULL;
          points[i].fraction = po.per_class > 0 ? 0 : po.label_fraction;
          points[i].per_class = po.per_class;
          points[i].n_labeled = n_sub;
          points[i].probe_accuracy = r->linear->accuracy;
          points[i].probe_c = NAN;
          points[i].knn_accuracy = r->knn->accuracy;
        }
      return g_steal_pointer (&points);
    }
  if (!features_for (ev, kind, options, &train_x, &test_x, &d, &step, cancellable, error))
    return NULL;

  pt_label_curve_options_init (&co);
  co.fractions = fractions;
  co.per_class = per_class;
  co.n_points = n_points;
  co.seed = options->seed;
  co.knn_k = options->knn_k;
  co.knn_t = options->knn_t;
  co.probe.c = options->c;
  co.probe.progress = options->probe_progress;
  co.probe.progress_data = options->probe_progress_data;
  return pt_label_curve_run (train_x, pt_dataset_get_labels (ev->train),
                             (int) pt_dataset_get_n_images (ev->train),
                             test_x, pt_dataset_get_labels (ev->test),
                             (int) pt_dataset_get_n_images (ev->test),
                             d, ev->n_classes, &co, cancellable, error);
}

/* ---- JSON -------------------------------------------------------------- */

JsonNode *
pt_run_eval_to_json (PtRunEval               *ev,
                     const PtRunEvalOptions  *options,
                     PtRunEvalResult * const *results,
                     int                      n_results)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const PtRunEvalResult *ssl = NULL;
  int n_sub = 0;

  for (int i = 0; i < n_results; i++)
    {
      if (results[i]->kind == PT_EVAL_KIND_SSL)
        ssl = results[i];
      n_sub = results[i]->n_subset;
    }

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "accuracy");
  if (ssl != NULL && ssl->linear != NULL)
    json_builder_add_double_value (b, ssl->linear->accuracy);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "knn_accuracy");
  if (ssl != NULL && ssl->knn != NULL)
    json_builder_add_double_value (b, ssl->knn->accuracy);
  else
    json_builder_add_null_value (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, ev->run_dir);
  json_builder_set_member_name (b, "dataset");
  json_builder_add_string_value (b, pt_dataset_get_spec (ev->train));
  json_builder_set_member_name (b, "step");
  json_builder_add_int_value (b, ssl != NULL ? (gint64) ssl->step : 0);
  json_builder_set_member_name (b, "features_layer");
  json_builder_add_string_value (b, options->projection ? "projection" : "backbone");
  json_builder_set_member_name (b, "n_labeled");
  json_builder_add_int_value (b, n_sub);
  json_builder_set_member_name (b, "n_test");
  json_builder_add_int_value (b, pt_dataset_get_n_images (ev->test));
  json_builder_set_member_name (b, "label_fraction");
  if (options->per_class > 0)
    json_builder_add_null_value (b);
  else
    json_builder_add_double_value (b, MIN (options->label_fraction, 1.0));
  json_builder_set_member_name (b, "per_class");
  json_builder_add_int_value (b, MAX (options->per_class, 0));
  json_builder_set_member_name (b, "knn_k");
  json_builder_add_int_value (b, options->knn_k);
  json_builder_set_member_name (b, "knn_t");
  json_builder_add_double_value (b, options->knn_t);
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) options->seed);
  json_builder_set_member_name (b, "results");
  json_builder_begin_object (b);
  for (int i = 0; i < n_results; i++)
    {
      json_builder_set_member_name (b, pt_eval_kind_to_string (results[i]->kind));
      json_builder_begin_object (b);
      if (results[i]->linear != NULL)
        {
          json_builder_set_member_name (b, "linear");
          json_builder_add_value (b, pt_eval_record_to_json (results[i]->linear));
        }
      if (results[i]->knn != NULL)
        {
          json_builder_set_member_name (b, "knn");
          json_builder_add_value (b, pt_eval_record_to_json (results[i]->knn));
        }
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
save_node (PtRunEval   *ev,
           JsonNode    *root,
           const char  *name,
           char       **path_out,
           GError     **error)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *eval_dir = g_build_filename (ev->run_dir, "eval", NULL);
  g_autofree char *path = g_build_filename (eval_dir, name, NULL);
  g_autofree char *text = NULL;

  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);
  if (g_mkdir_with_parents (eval_dir, 0755) != 0)
    {
      int errsv = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errsv),
                   _("Could not create the folder “%s”: %s"), eval_dir, g_strerror (errsv));
      return FALSE;
    }
  if (!pt_atomic_write_contents (path, text, strlen (text), error))
    return FALSE;
  if (path_out != NULL)
    *path_out = g_steal_pointer (&path);
  return TRUE;
}

gboolean
pt_run_eval_save (PtRunEval               *ev,
                  const PtRunEvalOptions  *options,
                  PtRunEvalResult * const *results,
                  int                      n_results,
                  char                   **path_out,
                  GError                 **error)
{
  g_autoptr(JsonNode) root = pt_run_eval_to_json (ev, options, results, n_results);

  return save_node (ev, root, "probe.json", path_out, error);
}

static void
add_number_or_null (JsonBuilder *b,
                    double       v)
{
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

JsonNode *
pt_run_eval_curves_to_json (PtRunEval                 *ev,
                            const PtRunEvalOptions    *options,
                            PtLabelCurvePoint * const *curves,
                            int                        n_points)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const PtLabelCurvePoint *any = NULL;

  for (int k = 0; k < PT_EVAL_N_KINDS && any == NULL; k++)
    any = curves[k];
  g_return_val_if_fail (any != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "run");
  json_builder_add_string_value (b, ev->run_dir);
  json_builder_set_member_name (b, "dataset");
  json_builder_add_string_value (b, pt_dataset_get_spec (ev->train));
  json_builder_set_member_name (b, "seed");
  json_builder_add_int_value (b, (gint64) options->seed);
  json_builder_set_member_name (b, "knn_k");
  json_builder_add_int_value (b, options->knn_k);
  json_builder_set_member_name (b, "knn_t");
  json_builder_add_double_value (b, options->knn_t);
  json_builder_set_member_name (b, "features_layer");
  json_builder_add_string_value (b, options->projection ? "projection" : "backbone");
  json_builder_set_member_name (b, "n_labeled");
  json_builder_begin_array (b);
  for (int i = 0; i < n_points; i++)
    json_builder_add_int_value (b, any[i].n_labeled);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "series");
  json_builder_begin_object (b);
  for (int k = 0; k < PT_EVAL_N_KINDS; k++)
    {
      if (curves[k] == NULL)
        continue;
      json_builder_set_member_name (b, pt_eval_kind_to_string (k));
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "linear");
      json_builder_begin_array (b);
      for (int i = 0; i < n_points; i++)
        add_number_or_null (b, curves[k][i].probe_accuracy);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "knn");
      json_builder_begin_array (b);
      for (int i = 0; i < n_points; i++)
        add_number_or_null (b, curves[k][i].knn_accuracy);
      json_builder_end_array (b);
      json_builder_end_object (b);
    }
  json_builder_end_object (b);
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

gboolean
pt_run_eval_save_curves (PtRunEval                 *ev,
                         const PtRunEvalOptions    *options,
                         PtLabelCurvePoint * const *curves,
                         int                        n_points,
                         char                     **path_out,
                         GError                   **error)
{
  g_autoptr(JsonNode) root = pt_run_eval_curves_to_json (ev, options, curves, n_points);

  g_return_val_if_fail (root != NULL, FALSE);
  return save_node (ev, root, "label-curve.json", path_out, error);
}
