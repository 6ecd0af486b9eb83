/* pretext-cli bench end to end: a tiny run in JSON and in text, and usage
 * errors. No timings are asserted (benchmarks live in tests/bench). */
#include <json-glib/json-glib.h>

#include "pt-test-cli.h"

static void
test_bench_json (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "simclr", "--encoder", "cnn",
                                   "--width", "2", "--batch", "4", "--steps", "2",
                                   "--warmup", "1", "--threads", "1", "--size", "16",
                                   "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) lines = NULL;
  JsonObject *o;
  guint n;

  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  n = g_strv_length (lines);
  g_assert_cmpuint (n, >=, 1);
  json_parser_load_from_data (parser, lines[n - 1], -1, &error);
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "simclr");
  g_assert_cmpstr (json_object_get_string_member (o, "encoder"), ==, "cnn");
  g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "batch"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (o, "threads"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (o, "size"), ==, 16);
  g_assert_cmpfloat (json_object_get_double_member (o, "images_per_s"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "ms_per_step"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "gflops"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "sgemm_gflops"), >, 0.0);
  g_assert_cmpfloat (json_object_get_double_member (o, "peak_rss_mb"), >, 0.0);
  /* NT-Xent over 8 views starts near log(7) */
  g_assert_cmpfloat (json_object_get_double_member (o, "loss"), >, 0.5);
  g_assert_cmpfloat (json_object_get_double_member (o, "loss"), <, 5.0);
  pt_cli_result_clear (&r);
}

static void
test_bench_text (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "simclr", "--width", "2",
                                   "--batch", "2", "--steps", "1", "--warmup", "0",
                                   "--channels", "3", "--size", "8", "--threads", "2", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "images/s"));
  g_assert_nonnull (strstr (r.out, "threads=2"));
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 1);
  pt_cli_result_clear (&r);
}

static void
check_usage_error (const char *what,
                   ...)
{
  const char *args[16];
  PtCliResult r;
  va_list ap;
  int n = 0;

  va_start (ap, what);
  for (const char *a = va_arg (ap, const char *); a != NULL && n < 15; a = va_arg (ap, const char *))
    args[n++] = a;
  va_end (ap);
  args[n] = NULL;
  r = pt_test_run_cli ("bench", args[0], args[1], args[2], args[3], args[4], args[5], NULL);
  g_test_message ("%s: %s", what, r.err);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);
}

static void
test_bench_usage (void)
{
  check_usage_error ("no method", "--width", "4", NULL, NULL, NULL, NULL, NULL);
  check_usage_error ("unknown method", "--method", "frob", NULL, NULL, NULL, NULL, NULL);
  check_usage_error ("unknown encoder", "--method", "simclr", "--encoder", "resnet", NULL,
                     NULL, NULL);
  check_usage_error ("width 0", "--method", "simclr", "--width", "0", NULL, NULL, NULL);
  check_usage_error ("batch 1", "--method", "simclr", "--batch", "1", NULL, NULL, NULL);
  check_usage_error ("bad size", "--method", "simclr", "--size", "30", NULL, NULL, NULL);
  check_usage_error ("not a number", "--method", "simclr", "--steps", "many", NULL, NULL, NULL);
  check_usage_error ("extra argument", "--method", "simclr", "extra", NULL, NULL, NULL, NULL);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/cli/bench/json", test_bench_json);
  g_test_add_func ("/app/cli/bench/text", test_bench_text);
  g_test_add_func ("/app/cli/bench/usage", test_bench_usage);
  return g_test_run ();
}
