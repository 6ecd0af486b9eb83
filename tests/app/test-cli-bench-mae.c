/* pretext-cli bench --method mae --encoder vit, end to end: the JSON
 * result of a tiny run, text output, and bad usage. No timings asserted. */
#include <json-glib/json-glib.h>
#include "pt-test-cli.h"

static JsonObject *
parse_last_line (const char *out)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = g_strchomp (g_strdup (out));
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  guint n = g_strv_length (lines);
  JsonNode *root;

  g_assert_cmpuint (n, >=, 1);
  json_parser_load_from_data (parser, lines[n - 1], -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

static void
test_bench_mae_json (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "mae", "--encoder", "vit", "--batch", "4",
                                   "--steps", "2", "--warmup", "1", "--threads", "1", "--json",
                                   NULL);
  g_autoptr(JsonObject) o = NULL;
  double loss;

  g_assert_cmpint (r.status, ==, 0);
  o = parse_last_line (r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "mae");
  g_assert_cmpstr (json_object_get_string_member (o, "encoder"), ==, "vit");
  g_assert_cmpint (json_object_get_int_member (o, "batch"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "threads"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "size"), ==, 28);
  g_assert_cmpfloat (json_object_get_double_member (o, "images_per_s"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "gflops"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "peak_rss_mb"), >, 0.0);
  loss = json_object_get_double_member (o, "loss");
  g_assert_true (loss > 0.0 && loss < 100.0);
  pt_cli_result_clear (&r);
}

static void
test_bench_mae_text (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "mae", "--batch", "2", "--steps", "1",
                                   "--warmup", "0", "--size", "32", "--channels", "3", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "mae vit batch=2"));
  g_assert_nonnull (strstr (r.out, "images/s"));
  pt_cli_result_clear (&r);
}

static void
test_bench_mae_usage (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "mae", "--encoder", "cnn", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "vit"));
  pt_cli_result_clear (&r);
  r = pt_test_run_cli ("bench", "--method", "mae", "--size", "30", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "--size"));
  pt_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/cli/bench-mae/json", test_bench_mae_json);
  g_test_add_func ("/app/cli/bench-mae/text", test_bench_mae_text);
  g_test_add_func ("/app/cli/bench-mae/usage", test_bench_mae_usage);
  return g_test_run ();
}
