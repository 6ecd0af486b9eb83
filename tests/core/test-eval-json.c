/* Tests for evaluation records in JSON. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "pt-eval-json.h"

static PtEvalRecord *
make_record (void)
{
  const int truth[] = { 0, 1, 2, 2, 1, 0, 2 };
  const int pred[]  = { 0, 2, 2, 2, 1, 1, 2 };
  g_autoptr(PtClassReport) rep = pt_class_report_new (truth, pred, 7, 4);
  PtEvalRecord *r = pt_eval_record_new_knn (rep, 600, 20, 0.07);

  r->features = g_strdup ("checkpoint:last");
  r->label_fraction = 0.01;
  r->seed = G_GUINT64_CONSTANT (18446744073709551557);
  r->n_curve = 2;
  r->curve = g_new0 (PtLabelCurvePoint, 2);
  r->curve[0] = (PtLabelCurvePoint) { 0.01, 0, 600, 0.71, 0.1, NAN };
  r->curve[1] = (PtLabelCurvePoint) { 1.0, 0, 60000, 0.885, 1.0, 0.85 };
  return r;
}

static void
test_eval_json_roundtrip (void)
{
  g_autoptr(PtEvalRecord) r = make_record ();
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-eval-json-XXXXXX", &error);
  g_assert_no_error (error);
  g_autofree char *path = g_build_filename (dir, "knn.json", NULL);

  g_assert_true (pt_eval_record_save (r, path, &error));
  g_assert_no_error (error);
  g_autoptr(PtEvalRecord) b = pt_eval_record_load (path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (b);

  g_assert_cmpstr (b->kind, ==, "knn");
  g_assert_cmpstr (b->features, ==, "checkpoint:last");
  g_assert_cmpfloat (b->accuracy, ==, r->accuracy);
  g_assert_cmpint (b->n_train, ==, 600);
  g_assert_cmpint (b->n_test, ==, 7);
  g_assert_cmpfloat (b->label_fraction, ==, 0.01);
  g_assert_cmpuint (b->seed, ==, r->seed);
  g_assert_cmpint (b->knn_k, ==, 20);
  g_assert_cmpfloat (b->knn_t, ==, 0.07);
  g_assert_true (isnan (b->c));
  g_assert_cmpint (b->per_class, ==, 0);

  const PtClassReport *x = r->report, *y = b->report;
  g_assert_nonnull (y);
  g_assert_cmpint (y->n_classes, ==, 4);
  g_assert_cmpint (y->n, ==, x->n);
  g_assert_cmpint (y->n_correct, ==, x->n_correct);
  g_assert_cmpmem (y->confusion, 16 * sizeof (gint64), x->confusion, 16 * sizeof (gint64));
  g_assert_cmpmem (y->class_count, 4 * sizeof (int), x->class_count, 4 * sizeof (int));
  g_assert_cmpint (y->n_wrong, ==, 2);
  g_assert_cmpmem (y->wrong, 2 * sizeof (int), x->wrong, 2 * sizeof (int));
  for (int c = 0; c < 3; c++)
    g_assert_cmpfloat (y->class_accuracy[c], ==, x->class_accuracy[c]);
  g_assert_true (isnan (y->class_accuracy[3]));

  g_assert_cmpint (b->n_curve, ==, 2);
  g_assert_cmpfloat (b->curve[0].fraction, ==, 0.01);
  g_assert_cmpint (b->curve[1].n_labeled, ==, 60000);
  g_assert_cmpfloat (b->curve[1].probe_accuracy, ==, 0.885);
  g_assert_true (isnan (b->curve[0].knn_accuracy));

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_eval_json_invalid (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-eval-json-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "bad.json", NULL);

  /* Not JSON: the message names the file. */
  g_file_set_contents (path, "{ nope", -1, &error);
  g_assert_no_error (error);
  g_autoptr(PtEvalRecord) a = pt_eval_record_load (path, &error);
  g_assert_null (a);
  g_assert_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_PARSE);
  g_assert_nonnull (strstr (error->message, "bad.json"));
  g_clear_error (&error);

  /* A confusion matrix that does not match its class counts. */
  g_autoptr(PtEvalRecord) r = make_record ();
  r->report->confusion[0] += 1;
  g_autoptr(JsonNode) node = pt_eval_record_to_json (r);
  g_autoptr(PtEvalRecord) b = pt_eval_record_from_json (node, &error);
  g_assert_null (b);
  g_assert_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID);
  g_clear_error (&error);

  /* A future version is refused. */
  g_file_set_contents (path, "{\"version\": 99, \"kind\": \"knn\"}", -1, &error);
  g_autoptr(PtEvalRecord) c = pt_eval_record_load (path, &error);
  g_assert_null (c);
  g_assert_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID);
  g_clear_error (&error);

  /* Missing file. */
  g_autofree char *missing = g_build_filename (dir, "missing.json", NULL);
  g_autoptr(PtEvalRecord) d = pt_eval_record_load (missing, &error);
  g_assert_null (d);
  g_assert_nonnull (strstr (error->message, "missing.json"));

  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/eval-json/roundtrip", test_eval_json_roundtrip);
  g_test_add_func ("/core/eval-json/invalid", test_eval_json_invalid);
  return g_test_run ();
}
