/* test-cli-bench-methods.c: `pretext-cli bench --method M` for MoCo, SwAV,
 * DeepCluster and RotNet (app/pt-cli-bench-methods.c): one JSON result with
 * the method, its view count and a positive step time; text output; a
 * method that does not exist is a usage error naming the available ones. */
#include <math.h>
#include <json-glib/json-glib.h>

#include "pt-test-cli.h"

static void
test_bench_methods_json (void)
{
  static const struct { const char *name; int views; } methods[] = {
    { "moco", 2 }, { "swav", 8 }, { "deepcluster", 2 }, { "rotnet", 1 },
  };

  for (guint i = 0; i < G_N_ELEMENTS (methods); i++)
    {
      PtCliResult r = pt_test_run_cli ("bench", "--method", methods[i].name,
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
      g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, methods[i].name);
      g_assert_cmpint (json_object_get_int_member (o, "views"), ==, methods[i].views);
      g_assert_cmpint (json_object_get_int_member (o, "batch"), ==, 4);
      g_assert_cmpfloat (json_object_get_double_member (o, "ms_per_step"), >, 0.0);
      g_assert_true (isfinite (json_object_get_double_member (o, "loss")));
      pt_cli_result_clear (&r);
    }
}

static void
test_bench_methods_text_and_usage (void)
{
  PtCliResult r = pt_test_run_cli ("bench", "--method", "rotnet", "--width", "2",
                                   "--batch", "4", "--steps", "1", "--warmup", "0",
                                   "--threads", "1", "--size", "16", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "rotnet cnn width=2 batch=4"));
  g_assert_nonnull (strstr (r.out, "ms/step"));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("bench", "--method", "byol", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "deepcluster"));
  pt_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/cli/bench-methods/json", test_bench_methods_json);
  g_test_add_func ("/cli/bench-methods/text-and-usage", test_bench_methods_text_and_usage);
  return g_test_run ();
}
