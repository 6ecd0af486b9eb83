/* pretext-cli probe, embed and export end to end on one small SimCLR run
 * (shapes, batch 32, width 8, 20 steps): files written, read back with
 * Pretext's own readers, and consistent with each other. */
#include <math.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-dataset.h"
#include "pt-encoder.h"
#include "pt-loader-source.h"
#include "pt-npy.h"
#include "pt-safetensors.h"
#include "pt-test-cli.h"
#include "pt-test-util.h"

static char *home;
static char *run_dir;

static JsonObject *
parse (JsonParser *parser,
       const char *line)
{
  g_assert_true (json_parser_load_from_data (parser, line, -1, NULL));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
assert_accuracy (JsonObject *o,
                 const char *member)
{
  double a = json_object_get_double_member (o, member);

  g_assert_cmpfloat (a, >=, 0.0);
  g_assert_cmpfloat (a, <=, 1.0);
}

static void
test_probe (void)
{
  PtCliResult r = pt_test_run_cli ("probe", run_dir, "--labels", "20", "--c", "1", "--no-supervised",
                                   "--json", NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) file_parser = json_parser_new ();
  g_autofree char *path = g_build_filename (run_dir, "eval", "probe.json", NULL);
  const char *kinds[] = { "ssl", "raw-pixels", "random-init" };
  JsonObject *o, *results, *saved;
  double accuracy;

  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);
  for (guint i = 0; i < 3; i++)
    {
      o = parse (parser, lines[i]);
      g_assert_cmpstr (json_object_get_string_member (o, "features"), ==, kinds[i]);
      assert_accuracy (o, "linear");
      assert_accuracy (o, "knn");
    }
  o = parse (parser, lines[3]);
  accuracy = json_object_get_double_member (o, "accuracy");
  assert_accuracy (o, "accuracy");
  assert_accuracy (o, "knn_accuracy");
  g_assert_cmpint (json_object_get_int_member (o, "step"), ==, 20);
  g_assert_cmpint (json_object_get_int_member (o, "n_labeled"), ==, 200);
  g_assert_cmpint (json_object_get_int_member (o, "n_test"), ==, 2000);
  results = json_object_get_object_member (o, "results");
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *k = json_object_get_object_member (results, kinds[i]);

      g_assert_nonnull (k);
      assert_accuracy (k, "linear");
      assert_accuracy (k, "knn");
      g_assert_cmpfloat (json_object_get_double_member (k, "C"), ==, 1.0);
    }
  pt_cli_result_clear (&r);

  /* The file has the same headline and the full records. */
  g_assert_true (json_parser_load_from_file (file_parser, path, NULL));
  saved = json_node_get_object (json_parser_get_root (file_parser));
  g_assert_cmpfloat (json_object_get_double_member (saved, "accuracy"), ==, accuracy);
  results = json_object_get_object_member (saved, "results");
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *k = json_object_get_object_member (results, kinds[i]);
      JsonObject *lin = json_object_get_object_member (k, "linear");

      g_assert_cmpstr (json_object_get_string_member (lin, "kind"), ==, "linear-probe");
      g_assert_cmpstr (json_object_get_string_member (lin, "features"), ==, kinds[i]);
      g_assert_true (json_object_has_member (lin, "confusion"));
      g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (k, "knn"),
                                                      "kind"), ==, "knn");
    }

  /* `runs` shows it. */
  r = pt_test_run_cli ("runs", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "probe.json"));
  pt_cli_result_clear (&r);
}

/* --curve: the label-efficiency curve, in the result and in
 * eval/label-curve.json; its 20-per-class point is the --labels 20 probe. */
static void
test_probe_curve (void)
{
  PtCliResult r = pt_test_run_cli ("probe", run_dir, "--labels", "20", "--c", "1", "--curve", "5,20",
                                   "--no-supervised", "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *path = g_build_filename (run_dir, "eval", "label-curve.json", NULL);
  const char *kinds[] = { "ssl", "raw-pixels", "random-init" };
  const char *last;
  JsonObject *o, *curve, *results;
  JsonArray *nl;

  g_assert_cmpint (r.status, ==, 0);
  last = strrchr (g_strchomp (r.out), '\n');
  o = parse (parser, last != NULL ? last + 1 : r.out);
  curve = json_object_get_object_member (o, "curve");
  g_assert_nonnull (curve);
  nl = json_object_get_array_member (curve, "n_labeled");
  g_assert_cmpuint (json_array_get_length (nl), ==, 2);
  g_assert_cmpint (json_array_get_int_element (nl, 0), ==, 50);
  g_assert_cmpint (json_array_get_int_element (nl, 1), ==, 200);
  results = json_object_get_object_member (o, "results");
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *series = json_object_get_object_member (json_object_get_object_member (curve, "series"), kinds[i]);
      JsonObject *res = json_object_get_object_member (results, kinds[i]);

      g_assert_nonnull (series);
      g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (series, "linear"), 1), ==,
                         json_object_get_double_member (res, "linear"));
      g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (series, "knn"), 1), ==,
                         json_object_get_double_member (res, "knn"));
    }
  g_assert_true (g_file_test (path, G_FILE_TEST_EXISTS));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("probe", run_dir, "--curve", "5,x", NULL);
  g_assert_cmpint (r.status, ==, 2);
  pt_cli_result_clear (&r);
}

/* The supervised baseline: the same encoder trained on the labels only,
 * a row of its own, its head's accuracy as "linear". */
static void
test_probe_supervised (void)
{
  PtCliResult r = pt_test_run_cli ("probe", run_dir, "--labels", "10", "--supervised-steps", "30",
                                   "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(JsonParser) file_parser = json_parser_new ();
  g_autofree char *path = g_build_filename (run_dir, "eval", "probe.json", NULL);
  g_auto(GStrv) lines = NULL;
  JsonObject *o, *sup, *lin;

  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (g_strchomp (r.out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  o = parse (parser, lines[3]);
  g_assert_cmpstr (json_object_get_string_member (o, "features"), ==, "supervised");
  assert_accuracy (o, "linear");
  o = parse (parser, lines[4]);
  sup = json_object_get_object_member (json_object_get_object_member (o, "results"), "supervised");
  g_assert_nonnull (sup);
  g_assert_cmpint (json_object_get_int_member (sup, "steps"), ==, 30);
  g_assert_false (json_object_has_member (sup, "C"));
  pt_cli_result_clear (&r);

  g_assert_true (json_parser_load_from_file (file_parser, path, NULL));
  lin = json_object_get_object_member (json_object_get_object_member (json_object_get_object_member (
          json_node_get_object (json_parser_get_root (file_parser)), "results"), "supervised"), "linear");
  g_assert_cmpstr (json_object_get_string_member (lin, "kind"), ==, "supervised");
  g_assert_cmpint (json_object_get_int_member (lin, "n_train"), ==, 100);
  g_assert_true (json_object_has_member (lin, "confusion"));
}

static void
test_probe_errors (void)
{
  g_autofree char *missing = g_build_filename (home, "missing-run", NULL);
  const char *usage[][4] = {
    { "probe", NULL },
    { "probe", run_dir, "--labels", "0" },
    { "probe", run_dir, "--labels", "x" },
    { "probe", run_dir, "--knn-k", "0" },
    { "probe", run_dir, "--knn-t", "-1" },
    { "probe", run_dir, "extra", NULL },
    { "probe", run_dir, "--supervised-steps", "-1" },
  };
  PtCliResult r;

  for (guint i = 0; i < G_N_ELEMENTS (usage); i++)
    {
      r = pt_test_run_cli (usage[i][0], usage[i][1], usage[i][2], usage[i][3], NULL);
      g_assert_cmpint (r.status, ==, 2);
      g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
      pt_cli_result_clear (&r);
    }
  r = pt_test_run_cli ("probe", missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, missing));
  pt_cli_result_clear (&r);
}

static void
test_embed (void)
{
  g_autofree char *npy = g_build_filename (home, "emb.npy", NULL);
  g_autofree char *labels_npy = g_build_filename (home, "emb.labels.npy", NULL);
  g_autofree char *proj = g_build_filename (home, "proj", NULL);
  g_autofree char *csv = g_build_filename (home, "emb.csv", NULL);
  g_autofree char *cache = g_build_filename (run_dir, "eval", "features-test-step20.npy", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) test = NULL;
  g_autofree float *x = NULL, *cached = NULL;
  g_autofree gint64 *labels = NULL;
  guint64 rows = 0, cols = 0, n = 0, r2 = 0, c2 = 0;
  const char *files[] = { "tensors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt" };
  g_autoptr(JsonParser) parser = json_parser_new ();
  PtCliResult r;
  JsonObject *o;

  r = pt_test_run_cli ("embed", run_dir, "--out", npy, "--projector", proj, "--csv", csv,
                       "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 1);
  o = parse (parser, r.out);
  g_assert_cmpint (json_object_get_int_member (o, "n"), ==, 2000);
  g_assert_cmpint (json_object_get_int_member (o, "dim"), ==, 64);
  g_assert_cmpstr (json_object_get_string_member (o, "labels"), ==, labels_npy);
  pt_cli_result_clear (&r);

  x = pt_npy_load_f32 (npy, &rows, &cols, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows, ==, 2000);
  g_assert_cmpuint (cols, ==, 64);
  for (guint64 i = 0; i < rows * cols; i++)
    g_assert_true (isfinite (x[i]));
  cached = pt_npy_load_f32 (cache, &r2, &c2, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (x, rows * cols * sizeof (float), cached, r2 * c2 * sizeof (float));

  labels = pt_npy_load_i64 (labels_npy, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2000);
  test = pt_dataset_open ("shapes", PT_SPLIT_TEST, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_assert_cmpint (labels[i], ==, pt_dataset_get_label (test, i));

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *p = g_build_filename (proj, files[i], NULL);

      g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
    }
  g_assert_true (g_file_test (csv, G_FILE_TEST_IS_REGULAR));

  /* Nothing to write is a usage error; a run that is not one is bad input. */
  r = pt_test_run_cli ("embed", run_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  pt_cli_result_clear (&r);
  r = pt_test_run_cli ("embed", home, "--out", npy, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);
}

static void
test_export (void)
{
  g_autofree char *path = g_build_filename (home, "encoder.safetensors", NULL);
  g_autofree char *npy = g_build_filename (home, "emb.npy", NULL);
  g_autofree char *ini = g_build_filename (run_dir, "config.ini", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSafetensors) st = NULL;
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(PtDataset) test = NULL;
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree float *expected = NULL, *images = NULL, *got = NULL;
  PtNormalization norm;
  guint64 rows = 0, cols = 0;
  const int n = 64;
  double worst = 0;
  PtCliResult r;

  r = pt_test_run_cli ("export", run_dir, "--safetensors", path, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"step\":20"));
  pt_cli_result_clear (&r);

  st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, 24);
  for (int b = 0; b < 4; b++)
    {
      const char *parts[] = { "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var" };
      g_autofree char *conv = g_strdup_printf ("encoder.blocks.%d.conv.weight", b);
      g_autofree char *tracked = g_strdup_printf ("encoder.blocks.%d.bn.num_batches_tracked", b);
      const guint64 *shape;
      guint ndim = 0;
      int k = pt_safetensors_lookup (st, conv);

      g_assert_cmpint (k, >=, 0);
      shape = pt_safetensors_get_shape (st, k, &ndim);
      g_assert_cmpuint (ndim, ==, 4);
      g_assert_cmpuint (shape[0], ==, 8u << b);
      g_assert_cmpuint (shape[1], ==, b == 0 ? 3u : 4u << b);
      g_assert_cmpuint (shape[2], ==, 3);
      g_assert_cmpuint (shape[3], ==, 3);
      for (guint p = 0; p < G_N_ELEMENTS (parts); p++)
        {
          g_autofree char *name = g_strdup_printf ("encoder.blocks.%d.%s", b, parts[p]);

          k = pt_safetensors_lookup (st, name);
          g_assert_cmpint (k, >=, 0);
          g_assert_cmpint (pt_safetensors_get_dtype (st, k), ==, PT_SAFETENSORS_F32);
          shape = pt_safetensors_get_shape (st, k, &ndim);
          g_assert_cmpuint (ndim, ==, 1);
          g_assert_cmpuint (shape[0], ==, 8u << b);
        }
      k = pt_safetensors_lookup (st, tracked);
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (pt_safetensors_get_dtype (st, k), ==, PT_SAFETENSORS_I64);
    }

  /* The weights alone give the features embed wrote. */
  enc = pt_encoder_load_safetensors (path, 32, 32, &error);
  g_assert_no_error (error);
  g_assert_true (g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, NULL));
  g_assert_true (pt_normalization_load (&norm, kf, "run", &error));
  test = pt_dataset_open ("shapes", PT_SPLIT_TEST, NULL, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  images = g_new (float, n * 3 * 1024);
  for (int i = 0; i < n; i++)
    {
      const guint8 *p = pt_dataset_get_image (test, i);

      for (int j = 0; j < 3 * 1024; j++)
        images[i * 3 * 1024 + j] = (p[j] / 255.0f - norm.mean[j / 1024]) / norm.std[j / 1024];
    }
  got = g_new (float, n * 64);
  pt_encoder_embed (enc, images, n, got);
  expected = pt_npy_load_f32 (npy, &rows, &cols, &error);
  g_assert_no_error (error);
  for (int i = 0; i < n * 64; i++)
    worst = MAX (worst, fabs (got[i] - expected[i]));
  g_assert_cmpfloat (worst, <=, 1e-5);

  r = pt_test_run_cli ("export", run_dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  pt_cli_result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  int status;
  PtCliResult r;

  g_test_init (&argc, &argv, NULL);
  home = g_dir_make_tmp ("pt-cli-eval-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  run_dir = g_build_filename (home, "pretext", "runs", "simclr-shapes", NULL);
  r = pt_test_run_cli ("train", "--method", "simclr", "--dataset", "shapes", "--batch", "32",
                       "--width", "8", "--steps", "20", "--out", run_dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);

  g_test_add_func ("/app/cli-eval/probe", test_probe);
  g_test_add_func ("/app/cli-eval/probe-curve", test_probe_curve);
  g_test_add_func ("/app/cli-eval/probe-supervised", test_probe_supervised);
  g_test_add_func ("/app/cli-eval/probe-errors", test_probe_errors);
  g_test_add_func ("/app/cli-eval/embed", test_embed);
  g_test_add_func ("/app/cli-eval/export", test_export);
  status = g_test_run ();
  pt_test_remove_tree (home);
  g_free (run_dir);
  g_free (home);
  return status;
}
