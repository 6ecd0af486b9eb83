/* pretext-cli inspect end to end on sets made here: three well separated
 * clusters (so kNN and the probe must be perfect), labels as .npy and as
 * class names in text, images in a folder, neighbours, PCA and t-SNE CSVs,
 * and bad files refused with the file named. */
#define _GNU_SOURCE
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <json-glib/json-glib.h>

#include "pt-npy.h"
#include "pt-test-cli.h"
#include "pt-test-util.h"

#define N 30
#define D 8

static char *dir;
static char *npy;
static char *labels_npy;
static char *labels_txt;
static char *images;

static JsonObject *
last_json (JsonParser *parser,
           const char *out)
{
  g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
  guint n = g_strv_length (lines);
  const char *last = NULL;

  for (guint i = 0; i < n; i++)
    if (lines[i][0] != '\0')
      last = lines[i];
  g_assert_nonnull (last);
  g_assert_true (json_parser_load_from_data (parser, last, -1, NULL));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
  return json_node_get_object (json_parser_get_root (parser));
}

/* Row i belongs to class i % 3: a one-hot direction plus small noise. */
static void
make_set (void)
{
  float x[N * D];
  gint64 y[N];
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const char *names[3] = { "cat", "dog", "fish" };
  guint32 s = 12345;

  for (int i = 0; i < N; i++)
    {
      for (int j = 0; j < D; j++)
        {
          s = s * 1664525u + 1013904223u;
          x[i * D + j] = 0.05f * ((float) (s >> 8) / (1 << 24) - 0.5f);
        }
      x[i * D + i % 3] += 1.0f;
      y[i] = i % 3;
      g_string_append_printf (text, "%s\n", names[i % 3]);
    }
  g_assert_true (pt_npy_save_f32 (npy, x, N, D, &error));
  g_assert_no_error (error);
  g_assert_true (pt_npy_save_i64 (labels_npy, y, N, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (labels_txt, text->str, text->len, NULL));

  g_assert_cmpint (g_mkdir (images, 0755), ==, 0);
  for (int i = 0; i < N; i++)
    {
      g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 8, 8);
      g_autofree char *name = g_strdup_printf ("img-%03d.png", i);
      g_autofree char *path = g_build_filename (images, name, NULL);

      gdk_pixbuf_fill (pb, 0x10203000u + (guint32) i * 0x01000000u);
      g_assert_true (gdk_pixbuf_save (pb, path, "png", &error, NULL));
      g_assert_no_error (error);
    }
}

static void
test_scores (void)
{
  PtCliResult r = pt_test_run_cli ("inspect", npy, "--labels", labels_npy, "--knn-k", "5",
                                   "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o, *knn, *probe;
  JsonArray *classes;

  g_assert_cmpint (r.status, ==, 0);
  o = last_json (parser, r.out);
  g_assert_cmpint (json_object_get_int_member (o, "rows"), ==, N);
  g_assert_cmpint (json_object_get_int_member (o, "dim"), ==, D);
  g_assert_cmpint (json_object_get_int_member (o, "labeled"), ==, N);
  classes = json_object_get_array_member (o, "classes");
  g_assert_cmpuint (json_array_get_length (classes), ==, 3);
  for (guint c = 0; c < 3; c++)
    g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (classes, c),
                                                 "count"), ==, N / 3);
  knn = json_object_get_object_member (o, "knn");
  g_assert_cmpstr (json_object_get_string_member (knn, "protocol"), ==, "leave-one-out");
  g_assert_cmpint (json_object_get_int_member (knn, "k"), ==, 5);
  g_assert_cmpfloat (json_object_get_double_member (knn, "accuracy"), ==, 1.0);
  probe = json_object_get_object_member (o, "probe");
  g_assert_cmpint (json_object_get_int_member (probe, "train"), ==, 24);
  g_assert_cmpint (json_object_get_int_member (probe, "test"), ==, 6);
  g_assert_cmpfloat (json_object_get_double_member (probe, "accuracy"), ==, 1.0);
  pt_cli_result_clear (&r);

  /* The same in words, with class names from a text file. */
  r = pt_test_run_cli ("inspect", npy, "--labels", labels_txt, NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "30 embeddings of dimension 8"));
  g_assert_nonnull (strstr (r.out, "fish"));
  g_assert_nonnull (strstr (r.out, "leave-one-out"));
  g_assert_nonnull (strstr (r.out, "100.00%"));
  pt_cli_result_clear (&r);

  /* Without labels: shape only. */
  r = pt_test_run_cli ("inspect", npy, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  o = last_json (parser, r.out);
  g_assert_false (json_object_has_member (o, "knn"));
  g_assert_cmpint (json_object_get_int_member (o, "rows"), ==, N);
  pt_cli_result_clear (&r);
}

static void
test_neighbours (void)
{
  PtCliResult r = pt_test_run_cli ("inspect", npy, "--labels", labels_txt, "--images", images,
                                   "--neighbours", "4", "--count", "3", "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *o, *nb;
  JsonArray *items;

  g_assert_cmpint (r.status, ==, 0);
  o = last_json (parser, r.out);
  g_assert_true (json_object_get_boolean_member (o, "images"));
  nb = json_object_get_object_member (o, "neighbours");
  g_assert_cmpint (json_object_get_int_member (nb, "of"), ==, 4);
  items = json_object_get_array_member (nb, "items");
  g_assert_cmpuint (json_array_get_length (items), ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *it = json_array_get_object_element (items, i);
      gint64 idx = json_object_get_int_member (it, "index");
      g_autofree char *file = g_strdup_printf ("img-%03d.png", (int) idx);

      /* row 4 is a "dog" (4 % 3 == 1): its neighbours are dogs, not itself */
      g_assert_cmpint (idx, !=, 4);
      g_assert_cmpint (idx % 3, ==, 1);
      g_assert_cmpstr (json_object_get_string_member (it, "label"), ==, "dog");
      g_assert_true (g_str_has_suffix (json_object_get_string_member (it, "image"), file));
      g_assert_cmpfloat (json_object_get_double_member (it, "similarity"), >, 0.9);
    }
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("inspect", npy, "--neighbours", "30", NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, npy));
  pt_cli_result_clear (&r);
}

static void
check_layout (const char *path,
              gboolean    with_images)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  double cx[3] = { 0 }, cy[3] = { 0 }, spread = 0, gap = INFINITY;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, N + 2);   /* header, rows, "" */
  g_assert_cmpstr (lines[0], ==, with_images ? "index,x,y,label,image" : "index,x,y,label");
  for (int i = 0; i < N; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i + 1], ",", -1);

      g_assert_cmpuint (g_strv_length (f), ==, with_images ? 5 : 4);
      g_assert_cmpint (atoi (f[0]), ==, i);
      g_assert_cmpint (atoi (f[3]), ==, i % 3);
      cx[i % 3] += g_ascii_strtod (f[1], NULL) / (N / 3);
      cy[i % 3] += g_ascii_strtod (f[2], NULL) / (N / 3);
    }
  /* clusters stay apart: every point nearer its own centre than the
   * centres are to each other */
  for (int a = 0; a < 3; a++)
    for (int b = a + 1; b < 3; b++)
      gap = MIN (gap, hypot (cx[a] - cx[b], cy[a] - cy[b]));
  for (int i = 0; i < N; i++)
    {
      g_auto(GStrv) f = g_strsplit (lines[i + 1], ",", -1);

      spread = MAX (spread, hypot (g_ascii_strtod (f[1], NULL) - cx[i % 3],
                                   g_ascii_strtod (f[2], NULL) - cy[i % 3]));
    }
  g_assert_cmpfloat (spread, <, gap / 2);
}

static void
test_layouts (void)
{
  g_autofree char *pca = g_build_filename (dir, "pca.csv", NULL);
  g_autofree char *tsne = g_build_filename (dir, "tsne.csv", NULL);
  PtCliResult r = pt_test_run_cli ("inspect", npy, "--labels", labels_npy, "--pca", pca,
                                   "--tsne", tsne, NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, pca));
  g_assert_nonnull (strstr (r.out, tsne));
  pt_cli_result_clear (&r);
  check_layout (pca, FALSE);
  check_layout (tsne, FALSE);

  r = pt_test_run_cli ("inspect", npy, "--labels", labels_npy, "--images", images, "--pca", pca,
                       NULL);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);
  check_layout (pca, TRUE);
}

static void
test_errors (void)
{
  g_autofree char *bad = g_build_filename (dir, "bad.npy", NULL);
  g_autofree char *fortran = g_build_filename (dir, "fortran.npy", NULL);
  g_autofree char *short_labels = g_build_filename (dir, "short.txt", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.npy", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  PtCliResult r;
  char *p;

  /* wrong magic */
  g_assert_true (g_file_set_contents (bad, "\x92NUMPY\x01\x00junkjunk", 16, NULL));
  r = pt_test_run_cli ("inspect", bad, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, bad));
  pt_cli_result_clear (&r);

  /* fortran order */
  g_assert_true (g_file_get_contents (npy, &contents, &len, NULL));
  p = memmem (contents, len, "False", 5);   /* the magic holds a NUL */
  g_assert_nonnull (p);
  memcpy (p, "True ", 5);
  g_assert_true (g_file_set_contents (fortran, contents, len, NULL));
  r = pt_test_run_cli ("inspect", fortran, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, fortran));
  pt_cli_result_clear (&r);

  /* labels of another length */
  g_assert_true (g_file_set_contents (short_labels, "a\nb\n", -1, NULL));
  r = pt_test_run_cli ("inspect", npy, "--labels", short_labels, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, short_labels));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("inspect", missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, missing));
  pt_cli_result_clear (&r);

  /* usage */
  r = pt_test_run_cli ("inspect", NULL);
  g_assert_cmpint (r.status, ==, 2);
  pt_cli_result_clear (&r);
  r = pt_test_run_cli ("inspect", npy, "--knn-k", "0", NULL);
  g_assert_cmpint (r.status, ==, 2);
  pt_cli_result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  dir = g_dir_make_tmp ("pt-cli-inspect-XXXXXX", NULL);
  npy = g_build_filename (dir, "emb.npy", NULL);
  labels_npy = g_build_filename (dir, "labels.npy", NULL);
  labels_txt = g_build_filename (dir, "labels.txt", NULL);
  images = g_build_filename (dir, "images", NULL);
  make_set ();

  g_test_add_func ("/app/cli-inspect/scores", test_scores);
  g_test_add_func ("/app/cli-inspect/neighbours", test_neighbours);
  g_test_add_func ("/app/cli-inspect/layouts", test_layouts);
  g_test_add_func ("/app/cli-inspect/errors", test_errors);
  status = g_test_run ();
  pt_test_remove_tree (dir);
  g_free (npy);
  g_free (labels_npy);
  g_free (labels_txt);
  g_free (images);
  g_free (dir);
  return status;
}
