/* pretext-cli runs: listing past runs, as text and as JSON. */
#include <math.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-test-cli.h"
#include "pt-test-util.h"

static void
write_run (const char *root,
           const char *name,
           const char *created,
           const char *method,
           const char *metrics,
           const char *probe)
{
  g_autofree char *dir = g_build_filename (root, name, NULL);
  g_autofree char *eval = g_build_filename (dir, "eval", NULL);
  g_autofree char *ini = g_build_filename (dir, "config.ini", NULL);
  g_autofree char *jsonl = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *config =
    g_strdup_printf ("[run]\nmethod=%s\ndataset=shapes\ncreated=%s\n", method, created);

  g_assert_cmpint (g_mkdir_with_parents (eval, 0755), ==, 0);
  g_assert_true (g_file_set_contents (ini, config, -1, NULL));
  if (metrics != NULL)
    g_assert_true (g_file_set_contents (jsonl, metrics, -1, NULL));
  if (probe != NULL)
    {
      g_autofree char *path = g_build_filename (eval, "linear.json", NULL);

      g_assert_true (g_file_set_contents (path, probe, -1, NULL));
    }
}

static JsonObject *
parse_line (JsonParser *parser,
            const char *line)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (json_parser_load_from_data (parser, line, -1, &error));
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

static void
test_runs_json (void)
{
  g_autofree char *home = g_dir_make_tmp ("pt-cli-runs-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (home, "pretext", "runs", NULL);
  g_auto(GStrv) lines = NULL;
  PtCliResult r;
  JsonObject *o;

  write_run (root, "20261123-100000-simclr-shapes", "2026-11-23T10:00:00Z", "simclr",
             "{\"step\":1,\"loss\":4.5}\n{\"step\":2,\"loss\":4.25}\n", "{\"accuracy\":0.625}");
  write_run (root, "20261122-090000-mae-shapes", "2026-11-22T09:00:00Z", "mae", NULL, NULL);

  /* The default root is under $XDG_DATA_HOME. */
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  r = pt_test_run_cli ("runs", "--json", NULL);
  g_unsetenv ("XDG_DATA_HOME");
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  lines = g_strsplit (r.out, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 4);   /* 3 lines and the empty tail */

  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    o = parse_line (parser, lines[0]);
    g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "mae");
    g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 0);
    g_assert_true (json_object_get_null_member (o, "last_loss"));
    g_assert_true (json_object_get_null_member (o, "probe"));
  }
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    o = parse_line (parser, lines[1]);
    g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "simclr");
    g_assert_cmpstr (json_object_get_string_member (o, "dataset"), ==, "shapes");
    g_assert_cmpstr (json_object_get_string_member (o, "name"), ==, "20261123-100000-simclr-shapes");
    g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 2);
    g_assert_cmpfloat (json_object_get_double_member (o, "last_loss"), ==, 4.25);
    g_assert_cmpfloat (json_object_get_double_member (o, "probe"), ==, 0.625);
    g_assert_cmpstr (json_object_get_string_member (o, "probe_file"), ==, "linear.json");
  }
  {
    g_autoptr(JsonParser) parser = json_parser_new ();

    o = parse_line (parser, lines[2]);
    g_assert_cmpint (json_object_get_int_member (o, "count"), ==, 2);
    g_assert_cmpstr (json_object_get_string_member (o, "root"), ==, root);
  }
  pt_cli_result_clear (&r);

  /* The same as text with --root. */
  r = pt_test_run_cli ("runs", "--root", root, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 3);
  g_assert_nonnull (strstr (r.out, "simclr"));
  g_assert_nonnull (strstr (r.out, "4.2500"));
  g_assert_nonnull (strstr (r.out, "0.625"));
  g_assert_nonnull (strstr (r.out, "2026-11-22 09:00"));
  pt_cli_result_clear (&r);
  pt_test_remove_tree (home);
}

static void
test_runs_empty (void)
{
  g_autofree char *home = g_dir_make_tmp ("pt-cli-runs-XXXXXX", NULL);
  g_autofree char *root = g_build_filename (home, "none", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  PtCliResult r = pt_test_run_cli ("runs", "--json", "--root", root, NULL);
  JsonObject *o;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 1);
  o = parse_line (parser, g_strstrip (r.out));
  g_assert_cmpint (json_object_get_int_member (o, "count"), ==, 0);
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("runs", "--root", root, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, root));
  pt_cli_result_clear (&r);
  pt_test_remove_tree (home);
}

static void
test_runs_usage (void)
{
  PtCliResult r = pt_test_run_cli ("runs", "extra", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "extra"));
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("runs", "--bogus", NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("runs", "--help", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "--root"));
  pt_cli_result_clear (&r);
}

static void
test_runs_unreadable_root (void)
{
  g_autofree char *home = g_dir_make_tmp ("pt-cli-runs-XXXXXX", NULL);
  g_autofree char *file = g_build_filename (home, "a-file", NULL);
  PtCliResult r;

  g_assert_true (g_file_set_contents (file, "x", -1, NULL));
  r = pt_test_run_cli ("runs", "--root", file, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, file));
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);
  pt_test_remove_tree (home);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/cli/runs/json", test_runs_json);
  g_test_add_func ("/app/cli/runs/empty", test_runs_empty);
  g_test_add_func ("/app/cli/runs/usage", test_runs_usage);
  g_test_add_func ("/app/cli/runs/unreadable-root", test_runs_unreadable_root);
  return g_test_run ();
}
