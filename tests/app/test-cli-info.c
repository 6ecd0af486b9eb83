/* pretext-cli info, end to end: JSON fields, bad datasets, bad usage. */
#include <json-glib/json-glib.h>
#include "pt-test-cli.h"
#include "../core/pt-test-files.h"

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
test_info_shapes_json (void)
{
  PtCliResult r = pt_test_run_cli ("info", "shapes", "--json", NULL);
  g_autoptr(JsonObject) o = NULL;
  JsonArray *classes;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 1);
  o = parse_last_line (r.out);
  g_assert_cmpstr (json_object_get_string_member (o, "spec"), ==, "shapes");
  g_assert_cmpstr (json_object_get_string_member (o, "split"), ==, "train");
  g_assert_cmpint (json_object_get_int_member (o, "count"), ==, 10000);
  g_assert_cmpint (json_object_get_int_member (o, "channels"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (o, "width"), ==, 32);
  g_assert_cmpint (json_object_get_int_member (o, "n_classes"), ==, 10);
  classes = json_object_get_array_member (o, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (classes, 0), "name"), ==, "circle");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (classes, 9), "count"), ==, 1000);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "quarantined")), ==, 0);
  g_assert_cmpuint (strlen (json_object_get_string_member (o, "content_hash")), ==, 64);
  g_assert_cmpfloat (json_object_get_double_member (o, "load_seconds"), >=, 0.0);
  /* Sanity report: colours spread evenly, nothing repeated or blank. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "pixel_mean")), ==, 3);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (o, "pixel_std")), ==, 3);
  g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (o, "pixel_mean"), 0), >, 0.3);
  g_assert_cmpfloat (json_array_get_double_element (json_object_get_array_member (o, "pixel_mean"), 0), <, 0.7);
  g_assert_cmpint (json_object_get_int_member (o, "duplicates"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (o, "constant_images"), ==, 0);
  pt_cli_result_clear (&r);

  /* The test split, and the same hash twice. */
  {
    PtCliResult a = pt_test_run_cli ("info", "shapes", "--split", "test", "--json", NULL);
    PtCliResult b = pt_test_run_cli ("info", "shapes", "--split=test", "--json", NULL);
    g_autoptr(JsonObject) oa = NULL;
    g_autoptr(JsonObject) ob = NULL;

    g_assert_cmpint (a.status, ==, 0);
    g_assert_cmpint (b.status, ==, 0);
    oa = parse_last_line (a.out);
    ob = parse_last_line (b.out);
    g_assert_cmpint (json_object_get_int_member (oa, "count"), ==, 2000);
    g_assert_cmpstr (json_object_get_string_member (oa, "split"), ==, "test");
    g_assert_cmpstr (json_object_get_string_member (oa, "content_hash"), ==,
                     json_object_get_string_member (ob, "content_hash"));
    pt_cli_result_clear (&a);
    pt_cli_result_clear (&b);
  }
}

static void
test_info_folder (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GdkPixbuf) pixbuf = pt_test_make_pixbuf (20, 20, FALSE, 1);
  g_autoptr(GBytes) png = pt_test_pixbuf_to_bytes (pixbuf, "png");
  g_autoptr(GBytes) jpeg = pt_test_pixbuf_to_bytes (pixbuf, "jpeg");
  g_autofree char *a = pt_test_write_bytes (dir, "apples/1.png", png);
  g_autofree char *b = pt_test_write_bytes (dir, "pears/2.jpg", jpeg);
  g_autofree char *c = pt_test_write_bytes (dir, "pears/3.png", png);
  g_autofree char *bad = pt_test_write (dir, "pears/broken.png", "not a png", 9);
  PtCliResult r = pt_test_run_cli ("info", dir, "--json", "--resolution", "16", NULL);
  g_autoptr(JsonObject) o = NULL;
  JsonArray *q;
  JsonArray *classes;

  g_assert_cmpint (r.status, ==, 0);
  o = parse_last_line (r.out);
  g_assert_cmpint (json_object_get_int_member (o, "count"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (o, "height"), ==, 16);
  g_assert_cmpint (json_object_get_int_member (o, "channels"), ==, 3);
  classes = json_object_get_array_member (o, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (classes, 1), "name"), ==, "pears");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (classes, 1), "count"), ==, 2);
  /* apples/1.png and pears/3.png are the same file: one duplicate. */
  g_assert_cmpint (json_object_get_int_member (o, "duplicates"), ==, 1);
  q = json_object_get_array_member (o, "quarantined");
  g_assert_cmpuint (json_array_get_length (q), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (q, 0), "path"), ==, bad);
  g_assert_nonnull (strstr (json_object_get_string_member (json_array_get_object_element (q, 0), "reason"),
                            "not a PNG or JPEG"));
  pt_cli_result_clear (&r);

  /* Text output names the bad file and prints the hash. */
  r = pt_test_run_cli ("info", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "broken.png"));
  g_assert_nonnull (strstr (r.out, "pears"));
  g_assert_nonnull (strstr (r.out, "32 x 32"));
  pt_cli_result_clear (&r);

  /* A folder without train/ and test/ has no test split: exit 1. */
  r = pt_test_run_cli ("info", dir, "--split", "test", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, dir));
  pt_cli_result_clear (&r);
  pt_test_rm_rf (dir);
}

static void
test_info_bad_input (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) labels = pt_test_make_idx_labels (5, 3);
  g_autofree char *idx = pt_test_write_bytes (dir, "train-images-idx3-ubyte", labels);
  g_autofree char *missing = g_build_filename (dir, "missing", NULL);
  PtCliResult r = pt_test_run_cli ("info", idx, "--json", NULL);

  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, idx));
  g_assert_nonnull (strstr (r.err, "magic 0x00000801, expected 0x00000803"));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("info", missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, missing));
  pt_cli_result_clear (&r);
  pt_test_rm_rf (dir);
}

static void
test_info_usage (void)
{
  const char *cases[][4] = {
    { "info", NULL, NULL, NULL },
    { "info", "shapes", "--split", "validation" },
    { "info", "shapes", "--resolution", "0" },
    { "info", "shapes", "extra", NULL },
    { "info", "--no-such-option", "shapes", NULL },
  };

  for (guint k = 0; k < G_N_ELEMENTS (cases); k++)
    {
      PtCliResult r = pt_test_run_cli (cases[k][0], cases[k][1], cases[k][2], cases[k][3], NULL);

      g_assert_cmpint (r.status, ==, 2);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
      g_assert_nonnull (strstr (r.err, "pretext-cli info"));
      pt_cli_result_clear (&r);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/cli/info/shapes-json", test_info_shapes_json);
  g_test_add_func ("/app/cli/info/folder", test_info_folder);
  g_test_add_func ("/app/cli/info/bad-input", test_info_bad_input);
  g_test_add_func ("/app/cli/info/usage", test_info_usage);
  return g_test_run ();
}
