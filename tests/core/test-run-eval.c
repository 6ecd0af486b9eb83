/* Tests for pt-run-eval: the evaluation the CLI's probe and the Evaluate
 * page share. Each kind's numbers are checked against the modules it is
 * made of (features, subsets, probe, kNN) computed independently here, so
 * the facade can neither drop a setting nor mix up subsets; kNN re-scoring
 * from the cache equals a fresh search; the JSON written reads back.
 * Method: the test double over shapes. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-run-eval.h"
#include "pt-run.h"
#include "pt-test-files.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

static char *run_dir;
static char *tmp_dir;

static void
train (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();

  spec->method = g_strdup ("test-linear");
  spec->dataset = g_strdup ("shapes");
  spec->batch_size = 16;
  spec->steps = 4;
  spec->seed = 5;
  spec->out_dir = g_strdup (run_dir);
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
}

/* The same evaluation, done by hand from the parts. */
static void
reference (PtRunEval   *ev,
           PtFeatureKind fk,
           const PtRunEvalOptions *o,
           double      *linear,
           double      *knn)
{
  g_autoptr(GError) error = NULL;
  PtDataset *train = pt_run_eval_get_train (ev);
  PtDataset *test = pt_run_eval_get_test (ev);
  int n_classes = pt_dataset_get_n_classes (train), d = 0, d2 = 0, n_sub = 0;
  int n_test = (int) pt_dataset_get_n_images (test);
  g_autofree float *tx = pt_features_for_run (run_dir, train, fk, &d, NULL, NULL, NULL, &error);
  g_autofree float *sx = NULL;
  g_autofree float *qx = pt_features_for_run (run_dir, test, fk, &d2, NULL, NULL, NULL, &error);
  g_autofree int *idx = pt_subset_balanced (pt_dataset_get_labels (train),
                                            (int) pt_dataset_get_n_images (train), n_classes,
                                            o->label_fraction, o->per_class, o->seed, &n_sub);
  g_autofree int *sy = g_new (int, n_sub);
  g_autoptr(PtProbeResult) probe = NULL;
  g_autoptr(PtKnnIndex) index = NULL;
  g_autoptr(PtKnnCache) cache = NULL;
  g_autoptr(PtClassReport) report = NULL;
  PtProbeOptions po;

  g_assert_no_error (error);
  g_assert_cmpint (d, ==, d2);
  sx = g_new (float, (gsize) n_sub * d);
  pt_subset_gather (sx, tx, d, idx, n_sub);
  for (int i = 0; i < n_sub; i++)
    sy[i] = pt_dataset_get_labels (train)[idx[i]];
  pt_probe_options_init (&po);
  po.seed = o->seed;
  probe = pt_probe_run (sx, sy, n_sub, qx, pt_dataset_get_labels (test), n_test, d, n_classes,
                        &po, NULL, &error);
  g_assert_no_error (error);
  *linear = probe->report->accuracy;
  index = pt_knn_index_new (sx, n_sub, d);
  cache = pt_knn_cache_new (index, qx, n_test, o->knn_k, NULL, &error);
  g_assert_no_error (error);
  report = pt_knn_cache_evaluate (cache, sy, pt_dataset_get_labels (test), n_classes,
                                  o->knn_k, o->knn_t);
  *knn = report->accuracy;
}

static void
test_kinds (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = pt_run_eval_open (run_dir, NULL, &error);
  PtRunEvalOptions o;
  const PtEvalKind kinds[] = { PT_EVAL_KIND_SSL, PT_EVAL_KIND_RAW_PIXELS, PT_EVAL_KIND_RANDOM_INIT };
  const PtFeatureKind fks[] = { PT_FEATURES_TRAINED, PT_FEATURES_RAW_PIXELS, PT_FEATURES_RANDOM_INIT };
  g_assert_no_error (error);
  g_assert_cmpint (pt_run_eval_get_n_classes (ev), >=, 2);
  pt_run_eval_options_init (&o);
  o.label_fraction = 0.1;
  o.seed = 3;

  for (guint k = 0; k < G_N_ELEMENTS (kinds); k++)
    {
      g_autoptr(PtRunEvalResult) r = pt_run_eval_kind (ev, kinds[k], &o, NULL, &error);
      double linear = -1, knn = -1;
      int n_sub = 0;

      g_assert_no_error (error);
      g_free (pt_run_eval_subset (ev, &o, &n_sub));
      g_assert_cmpint (r->kind, ==, kinds[k]);
      g_assert_cmpint (r->n_subset, ==, n_sub);
      g_assert_cmpint (r->linear->n_train, ==, n_sub);
      g_assert_cmpint (r->knn->n_train, ==, n_sub);
      g_assert_cmpint (r->knn->knn_k, ==, PT_KNN_DEFAULT_K);
      g_assert_cmpstr (r->linear->features, ==, pt_eval_kind_to_string (kinds[k]));
      g_assert_cmpfloat (r->linear->label_fraction, ==, 0.1);
      g_assert_nonnull (r->linear->report);
      g_assert_cmpint (r->linear->report->n, ==, (int) pt_dataset_get_n_images (pt_run_eval_get_test (ev)));
      {
        const int *truth = pt_dataset_get_labels (pt_run_eval_get_test (ev));
        int wrong_l = 0, wrong_k = 0;

        g_assert_cmpint (r->n_test, ==, r->linear->report->n);
        for (int i = 0; i < r->n_test; i++)
          {
            wrong_l += r->linear_pred[i] != truth[i];
            wrong_k += r->knn_pred[i] != truth[i];
          }
        g_assert_cmpint (wrong_l, ==, r->linear->report->n_wrong);
        g_assert_cmpint (wrong_k, ==, r->knn->report->n_wrong);
      }
      reference (ev, fks[k], &o, &linear, &knn);
      g_assert_cmpfloat (r->linear->accuracy, ==, linear);
      g_assert_cmpfloat (r->knn->accuracy, ==, knn);
      g_assert_cmpfloat (r->linear->accuracy, >=, 0);
      g_assert_cmpfloat (r->linear->accuracy, <=, 1);
    }
}

static void
test_rescore (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = pt_run_eval_open (run_dir, NULL, &error);
  g_autoptr(PtRunEvalResult) r = NULL;
  PtRunEvalOptions o;
  double first, linear, knn;

  g_assert_no_error (error);
  pt_run_eval_options_init (&o);
  o.per_class = 30;
  r = pt_run_eval_kind (ev, PT_EVAL_KIND_RAW_PIXELS, &o, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (isnan (r->linear->label_fraction));
  g_assert_cmpint (r->linear->per_class, ==, 30);
  g_assert_cmpint (r->knn_cache->k_max, ==, MIN (PT_KNN_DEFAULT_CACHE_K, r->n_subset));
  first = r->knn->accuracy;

  /* Another k and t from the cache equal a fresh search at that k. */
  o.knn_k = 3;
  o.knn_t = 0.5;
  pt_run_eval_result_rescore_knn (r, ev, o.knn_k, o.knn_t);
  g_assert_cmpint (r->knn->knn_k, ==, 3);
  g_assert_cmpfloat (r->knn->knn_t, ==, 0.5);
  g_assert_cmpint (r->knn->per_class, ==, 30);
  reference (ev, PT_FEATURES_RAW_PIXELS, &o, &linear, &knn);
  g_assert_cmpfloat (r->knn->accuracy, ==, knn);
  g_assert_cmpfloat (r->linear->accuracy, ==, linear);

  /* Back to the defaults gives the first score again. */
  pt_run_eval_result_rescore_knn (r, ev, PT_KNN_DEFAULT_K, PT_KNN_DEFAULT_T);
  g_assert_cmpfloat (r->knn->accuracy, ==, first);
  /* k beyond the cache is clamped, not an overflow. */
  pt_run_eval_result_rescore_knn (r, ev, 100000, 0.07);
  g_assert_cmpint (r->knn->knn_k, ==, r->knn_cache->k_max);
}

static void
test_save (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = pt_run_eval_open (run_dir, NULL, &error);
  g_autoptr(PtRunEvalResult) ssl = NULL;
  g_autoptr(PtRunEvalResult) raw = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(PtRunInfo) info = NULL;
  g_autofree char *path = NULL;
  PtRunEvalResult *results[2];
  PtRunEvalOptions o;
  JsonObject *root, *res;

  g_assert_no_error (error);
  pt_run_eval_options_init (&o);
  o.label_fraction = 0.05;
  ssl = pt_run_eval_kind (ev, PT_EVAL_KIND_SSL, &o, NULL, &error);
  g_assert_no_error (error);
  raw = pt_run_eval_kind (ev, PT_EVAL_KIND_RAW_PIXELS, &o, NULL, &error);
  g_assert_no_error (error);
  results[0] = ssl;
  results[1] = raw;
  g_assert_true (pt_run_eval_save (ev, &o, results, 2, &path, &error));
  g_assert_no_error (error);
  g_assert_true (g_str_has_suffix (path, "eval/probe.json"));

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  root = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpfloat (json_object_get_double_member (root, "accuracy"), ==, ssl->linear->accuracy);
  g_assert_cmpfloat (json_object_get_double_member (root, "knn_accuracy"), ==, ssl->knn->accuracy);
  g_assert_cmpint (json_object_get_int_member (root, "step"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (root, "n_labeled"), ==, ssl->n_subset);
  g_assert_cmpstr (json_object_get_string_member (root, "features_layer"), ==, "backbone");
  res = json_object_get_object_member (root, "results");
  g_assert_true (json_object_has_member (res, "ssl"));
  g_assert_true (json_object_has_member (res, "raw-pixels"));
  g_assert_false (json_object_has_member (res, "random-init"));
  {
    g_autoptr(PtEvalRecord) rec =
      pt_eval_record_from_json (json_object_get_member (json_object_get_object_member (res, "raw-pixels"), "linear"), &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (rec->accuracy, ==, raw->linear->accuracy);
    g_assert_cmpint (rec->report->n_wrong, ==, raw->linear->report->n_wrong);
  }

  /* The Runs page and `pretext-cli runs` read it. */
  info = pt_run_info_read (run_dir, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (info->probe, ==, ssl->linear->accuracy);
}

static void
test_curve (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = pt_run_eval_open (run_dir, NULL, &error);
  const int per_class[] = { 2, 20 };
  PtLabelCurvePoint *curves[PT_EVAL_N_KINDS] = { NULL };
  g_autofree char *path = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *series;
  PtRunEvalOptions o;
  int n_classes;

  g_assert_no_error (error);
  n_classes = pt_run_eval_get_n_classes (ev);
  pt_run_eval_options_init (&o);
  curves[PT_EVAL_KIND_RAW_PIXELS] = pt_run_eval_curve (ev, PT_EVAL_KIND_RAW_PIXELS, &o, NULL,
                                                       per_class, 2, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (curves[PT_EVAL_KIND_RAW_PIXELS][0].n_labeled, ==, 2 * n_classes);
  g_assert_cmpint (curves[PT_EVAL_KIND_RAW_PIXELS][1].n_labeled, ==, 20 * n_classes);

  /* The curve's last point is the same evaluation as pt_run_eval_kind. */
  {
    g_autoptr(PtRunEvalResult) r = NULL;

    o.per_class = 20;
    r = pt_run_eval_kind (ev, PT_EVAL_KIND_RAW_PIXELS, &o, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpfloat (curves[PT_EVAL_KIND_RAW_PIXELS][1].probe_accuracy, ==, r->linear->accuracy);
    g_assert_cmpfloat (curves[PT_EVAL_KIND_RAW_PIXELS][1].knn_accuracy, ==, r->knn->accuracy);
    o.per_class = 0;
  }

  g_assert_true (pt_run_eval_save_curves (ev, &o, curves, 2, &path, &error));
  g_assert_no_error (error);
  g_assert_true (json_parser_load_from_file (parser, path, &error));
  g_assert_no_error (error);
  series = json_object_get_object_member (json_node_get_object (json_parser_get_root (parser)), "series");
  g_assert_cmpint (json_object_get_size (series), ==, 1);
  g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (json_object_get_object_member (series, "raw-pixels"), "linear"), 1),
                     ==, curves[PT_EVAL_KIND_RAW_PIXELS][1].probe_accuracy);
  g_free (curves[PT_EVAL_KIND_RAW_PIXELS]);
}

static void
test_errors (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtRunEval) ev = NULL;
  g_autofree char *missing = g_build_filename (tmp_dir, "missing", NULL);
  PtRunEvalOptions o;

  g_assert_null (pt_run_eval_open (missing, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "missing"));
  g_clear_error (&error);

  ev = pt_run_eval_open (run_dir, NULL, &error);
  g_assert_no_error (error);
  pt_run_eval_options_init (&o);
  o.projection = TRUE;
  g_assert_false (pt_run_eval_has_projection (ev));
  g_assert_null (pt_run_eval_kind (ev, PT_EVAL_KIND_SSL, &o, NULL, &error));
  g_assert_error (error, PT_RUN_EVAL_ERROR, PT_RUN_EVAL_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  g_assert_cmpint (pt_eval_kind_from_string ("random-init"), ==, PT_EVAL_KIND_RANDOM_INIT);
  g_assert_cmpint (pt_eval_kind_from_string ("nonsense"), ==, -1);
  for (int k = 0; k < PT_EVAL_N_KINDS; k++)
    g_assert_cmpint (pt_eval_kind_from_string (pt_eval_kind_to_string (k)), ==, k);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_method_register (&pt_test_method_class);
  tmp_dir = pt_test_make_tmpdir ();
  run_dir = g_build_filename (tmp_dir, "run", NULL);
  train ();
  g_test_add_func ("/core/run-eval/kinds", test_kinds);
  g_test_add_func ("/core/run-eval/rescore", test_rescore);
  g_test_add_func ("/core/run-eval/save", test_save);
  g_test_add_func ("/core/run-eval/curve", test_curve);
  g_test_add_func ("/core/run-eval/errors", test_errors);
  status = g_test_run ();
  pt_test_rm_rf (tmp_dir);
  g_free (run_dir);
  g_free (tmp_dir);
  return status;
}
