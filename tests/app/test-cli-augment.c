/* pretext-cli augment, end to end: the grid PNG, --json records,
 * reproducibility, bad recipes and datasets (exit 1), bad usage (exit 2). */
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "pt-test-cli.h"
#include "pt-test-util.h"

static char *tmp_dir;

static char *
tmp_path (const char *name)
{
  return g_build_filename (tmp_dir, name, NULL);
}

static JsonObject *
parse_line (const char *line)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  JsonNode *root;

  json_parser_load_from_data (parser, line, -1, &error);
  g_assert_no_error (error);
  root = json_parser_get_root (parser);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (root));
  return json_object_ref (json_node_get_object (root));
}

/* SimCLR on shapes (3x32x32), 3 images at scale 4: a source cell and two
 * views of 128 px each, 6 px apart. */
static void
test_augment_png (void)
{
  g_autofree char *out = tmp_path ("grid.png");
  PtCliResult r = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", "simclr",
                                   "--count", "3", "--seed", "5", "--out", out, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;

  g_assert_cmpint (r.status, ==, 0);
  g_assert_cmpstr (r.err, ==, "");
  g_assert_nonnull (strstr (r.out, out));
  pixbuf = gdk_pixbuf_new_from_file (out, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, 6 + 128 + 6 + 2 * (128 + 6));
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, 6 + 3 * (128 + 6));
  pt_cli_result_clear (&r);

  /* Multi-crop: local views are smaller cells (14 px * 4). */
  {
    g_autofree char *out2 = tmp_path ("swav.png");
    PtCliResult s = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", "swav",
                                     "--count", "2", "--out", out2, NULL);
    g_autoptr(GdkPixbuf) p2 = NULL;

    g_assert_cmpint (s.status, ==, 0);
    p2 = gdk_pixbuf_new_from_file (out2, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_pixbuf_get_width (p2), ==, 6 + 128 + 6 + 2 * (128 + 6) + 6 * (56 + 6));
    g_assert_cmpint (gdk_pixbuf_get_height (p2), ==, 6 + 2 * (128 + 6));
    pt_cli_result_clear (&s);
  }
}

static void
test_augment_json (void)
{
  g_autofree char *out = tmp_path ("json.png");
  PtCliResult r = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", "byol",
                                   "--count", "4", "--out", out, "--json", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(JsonObject) last = NULL;

  g_assert_cmpint (r.status, ==, 0);
  text = g_strchomp (g_strdup (r.out));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 5);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(JsonObject) o = parse_line (lines[i]);
      JsonArray *views = json_object_get_array_member (o, "views");

      g_assert_cmpint (json_object_get_int_member (o, "index"), ==, i);
      g_assert_cmpuint (json_array_get_length (views), ==, 2);
      for (guint v = 0; v < 2; v++)
        {
          JsonObject *view = json_array_get_object_element (views, v);
          JsonObject *crop = json_object_get_object_member (view, "crop");

          g_assert_cmpint (json_object_get_int_member (view, "view"), ==, v);
          g_assert_cmpint (json_object_get_int_member (crop, "x") +
                           json_object_get_int_member (crop, "w"), <=, 32);
          g_assert_cmpint (json_object_get_int_member (crop, "w"), >, 0);
          /* BYOL view 1 always blurs. */
          if (v == 0)
            g_assert_true (json_object_has_member (view, "blur"));
        }
    }
  last = parse_line (lines[4]);
  g_assert_cmpstr (json_object_get_string_member (last, "out"), ==, out);
  g_assert_cmpstr (json_object_get_string_member (last, "recipe"), ==, "byol");
  g_assert_cmpint (json_object_get_int_member (last, "images"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (last, "views"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (last, "width"), ==, 6 + 128 + 6 + 2 * (128 + 6));
  pt_cli_result_clear (&r);
}

static void
test_augment_reproducible (void)
{
  g_autofree char *a = tmp_path ("a.png");
  g_autofree char *b = tmp_path ("b.png");
  g_autofree char *c = tmp_path ("c.png");
  PtCliResult ra = pt_test_run_cli ("augment", "--dataset", "shapes", "--count", "3",
                                    "--seed", "9", "--epoch", "2", "--out", a, NULL);
  PtCliResult rb = pt_test_run_cli ("augment", "--dataset", "shapes", "--count", "3",
                                    "--seed", "9", "--epoch", "2", "--out", b, NULL);
  PtCliResult rc = pt_test_run_cli ("augment", "--dataset", "shapes", "--count", "3",
                                    "--seed", "9", "--epoch", "3", "--out", c, NULL);
  g_autofree char *da = NULL, *db = NULL, *dc = NULL;
  gsize la, lb, lc;

  g_assert_cmpint (ra.status, ==, 0);
  g_assert_cmpint (rb.status, ==, 0);
  g_assert_cmpint (rc.status, ==, 0);
  g_assert_true (g_file_get_contents (a, &da, &la, NULL));
  g_assert_true (g_file_get_contents (b, &db, &lb, NULL));
  g_assert_true (g_file_get_contents (c, &dc, &lc, NULL));
  g_assert_cmpmem (da, la, db, lb);
  g_assert_true (la != lc || memcmp (da, dc, la) != 0);
  pt_cli_result_clear (&ra);
  pt_cli_result_clear (&rb);
  pt_cli_result_clear (&rc);
}

static void
test_augment_bad_input (void)
{
  g_autofree char *out = tmp_path ("bad.png");
  g_autofree char *recipe = tmp_path ("bad-recipe.ini");
  PtCliResult r;

  /* A recipe with an unknown op: the file, the group, no PNG. */
  g_assert_true (g_file_set_contents (recipe, "[recipe]\nname=x\nviews=a;\n[a:sharpen]\np=1\n",
                                      -1, NULL));
  r = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", recipe, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, recipe));
  g_assert_nonnull (strstr (r.err, "[a:sharpen]"));
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  pt_cli_result_clear (&r);

  /* An out-of-range value names the key. */
  g_assert_true (g_file_set_contents (recipe, "[recipe]\nname=x\nviews=a;\n[a:hflip]\np=2\n",
                                      -1, NULL));
  r = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", recipe, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "“p”"));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("augment", "--dataset", "shapes", "--augment", "no-such-preset",
                       "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "no-such-preset"));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("augment", "--dataset", "/nonexistent/folder", "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent/folder"));
  pt_cli_result_clear (&r);

  /* An output folder that does not exist. */
  r = pt_test_run_cli ("augment", "--dataset", "shapes", "--count", "1",
                       "--out", "/nonexistent/dir/grid.png", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "/nonexistent/dir/grid.png"));
  pt_cli_result_clear (&r);
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
}

static void
test_augment_usage (void)
{
  g_autofree char *out = tmp_path ("usage.png");
  const char *cases[][8] = {
    { "augment", "--out", out, NULL },                                  /* no --dataset */
    { "augment", "--dataset", "shapes", NULL },                         /* no --out */
    { "augment", "--dataset", "shapes", "--out", out, "--count", "0", NULL },
    { "augment", "--dataset", "shapes", "--out", out, "--count", "x", NULL },
    { "augment", "--dataset", "shapes", "--out", out, "--frobnicate", NULL },
    { "augment", "--dataset", "shapes", "--out", out, "extra", NULL },
    { "augment", "--dataset", "shapes", "--out", out, "--split", "validation", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      PtCliResult r = pt_test_run_cli (cases[i][0], cases[i][1], cases[i][2], cases[i][3],
                                       cases[i][4], cases[i][5], cases[i][6], cases[i][7], NULL);

      if (r.status != 2)
        g_error ("case %u: exit %d, stderr: %s", i, r.status, r.err);
      g_assert_cmpstr (r.out, ==, "");
      g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
      pt_cli_result_clear (&r);
    }
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));

  /* The command is listed in the help. */
  {
    PtCliResult r = pt_test_run_cli ("--help", NULL);

    g_assert_nonnull (strstr (r.out, "augment"));
    pt_cli_result_clear (&r);
  }
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp ("pt-cli-augment-XXXXXX", NULL);
  g_assert_nonnull (tmp_dir);
  g_test_add_func ("/app/cli/augment/png", test_augment_png);
  g_test_add_func ("/app/cli/augment/json", test_augment_json);
  g_test_add_func ("/app/cli/augment/reproducible", test_augment_reproducible);
  g_test_add_func ("/app/cli/augment/bad-input", test_augment_bad_input);
  g_test_add_func ("/app/cli/augment/usage", test_augment_usage);
  status = g_test_run ();
  pt_test_remove_tree (tmp_dir);
  g_free (tmp_dir);
  return status;
}
