/* Tests for importing embeddings made elsewhere. */
#include <string.h>
#include <glib/gstdio.h>
#include "pt-embedding-set.h"
#include "pt-npy.h"

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, "interop", name, NULL);
}

static char *
make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("pt-embset-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_tree (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      if (g_file_test (p, G_FILE_TEST_IS_DIR))
        remove_tree (p);
      else
        g_unlink (p);
    }
  g_rmdir (dir);
}

static char *
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

static void
test_labels_text (void)
{
  g_autoptr(GError) error = NULL;

  /* Integers, CRLF, spaces, final line break. */
  const char *numeric = "3\r\n 0\n-1\n12\n";
  g_autoptr(PtLabels) a = pt_labels_parse_text (numeric, strlen (numeric), "n.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (a->n, ==, 4);
  g_assert_cmpint (a->values[0], ==, 3);
  g_assert_cmpint (a->values[1], ==, 0);
  g_assert_cmpint (a->values[2], ==, -1);
  g_assert_cmpint (a->values[3], ==, 12);
  g_assert_cmpuint (a->n_classes, ==, 13);
  g_assert_null (a->class_names);

  /* Class names: numbered in sorted order, names kept; no final newline. */
  const char *named = "dog\ncat\nbird\ncat\n7";
  g_autoptr(PtLabels) b = pt_labels_parse_text (named, strlen (named), "c.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (b->n, ==, 5);
  g_assert_cmpuint (b->n_classes, ==, 4);
  g_assert_cmpstr (b->class_names[0], ==, "7");
  g_assert_cmpstr (b->class_names[1], ==, "bird");
  g_assert_cmpstr (b->class_names[2], ==, "cat");
  g_assert_cmpstr (b->class_names[3], ==, "dog");
  g_assert_null (b->class_names[4]);
  int expected[5] = { 3, 2, 1, 2, 0 };
  g_assert_cmpmem (b->values, sizeof expected, expected, sizeof expected);

  /* Empty text: no labels. */
  g_autoptr(PtLabels) c = pt_labels_parse_text ("", 0, "e.txt", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (c->n, ==, 0);

  struct { const char *text; gsize len; const char *fragment; } bad[] = {
    { "1\n\n2\n", 5, "line 2 is empty" },
    { "1\n-2\n", 5, "-2" },
    { "99999999999999999999999\n", 24, "line 1" },
    { "1\n70000\n", 8, "70000" },
    { "a\0b\n", 4, "binary" },
    { "\xff\xfe\n", 3, "binary" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) e = NULL;
      g_assert_null (pt_labels_parse_text (bad[i].text, bad[i].len, "bad.txt", &e));
      g_assert_error (e, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
      g_test_message ("%s", e->message);
      g_assert_nonnull (strstr (e->message, "bad.txt"));
      g_assert_nonnull (strstr (e->message, bad[i].fragment));
    }
}

static void
test_labels_npy (void)
{
  g_autoptr(GError) error = NULL;
  const char *files[] = { "i64_5.npy", "i4_4.npy", "u1_4.npy" };
  int expected[3][5] = { { 0, 3, -1, 9, 2 }, { 1, 0, 7, -1 }, { 255, 0, 1, 2 } };
  guint counts[3] = { 5, 4, 4 };
  guint classes[3] = { 10, 8, 256 };

  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *path = fixture_path (files[i]);
      g_autoptr(PtLabels) l = pt_labels_load (path, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (l->n, ==, counts[i]);
      g_assert_cmpmem (l->values, counts[i] * sizeof (int), expected[i], counts[i] * sizeof (int));
      g_assert_cmpuint (l->n_classes, ==, classes[i]);
      g_assert_null (l->class_names);
    }

  /* Floats are not labels; out-of-range integers are refused. */
  g_autofree char *f = fixture_path ("f32_3x4.npy");
  g_assert_null (pt_labels_load (f, &error));
  g_assert_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED);
  g_clear_error (&error);

  g_autofree char *dir = make_dir ();
  g_autofree char *big = g_build_filename (dir, "big.npy", NULL);
  gint64 values[2] = { 1, (gint64) 1 << 40 };
  g_assert_true (pt_npy_save_i64 (big, values, 2, &error));
  g_assert_null (pt_labels_load (big, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "index 1"));
  g_clear_error (&error);

  g_assert_null (pt_labels_load ("/nonexistent-pt/labels.txt", &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_NOT_FOUND);
  remove_tree (dir);
}

static void
test_embedding_set_load (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = make_dir ();
  g_autofree char *images = g_build_filename (dir, "images", NULL);
  float emb[12] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };

  g_mkdir (images, 0755);
  g_autofree char *npy = g_build_filename (dir, "emb.npy", NULL);
  g_assert_true (pt_npy_save_f32 (npy, emb, 4, 3, &error));
  g_assert_no_error (error);
  g_autofree char *labels = write_file (dir, "labels.txt", "b\na\nb\nc\n");
  g_autofree char *short_labels = write_file (dir, "short.txt", "1\n2\n");
  /* Four images in byte order B.jpg, a.PNG, b.png, c.jpeg; the rest ignored. */
  const char *names[] = { "b.png", "a.PNG", "c.jpeg", "B.jpg", "notes.txt", ".hidden.png" };
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_free (write_file (images, names[i], "x"));
  g_autofree char *sub = g_build_filename (images, "sub.png", NULL);
  g_mkdir (sub, 0755);   /* a folder named like an image is not one */

  g_autoptr(PtEmbeddingSet) set = pt_embedding_set_load (npy, labels, images, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (set->n, ==, 4);
  g_assert_cmpuint (set->d, ==, 3);
  g_assert_cmpmem (set->data, sizeof emb, emb, sizeof emb);
  g_assert_cmpuint (set->labels->n, ==, 4);
  g_assert_cmpstr (set->labels->class_names[set->labels->values[3]], ==, "c");
  g_assert_cmpuint (g_strv_length (set->image_paths), ==, 4);
  const char *order[] = { "B.jpg", "a.PNG", "b.png", "c.jpeg" };
  for (guint i = 0; i < 4; i++)
    {
      g_autofree char *base = g_path_get_basename (set->image_paths[i]);
      g_assert_cmpstr (base, ==, order[i]);
    }

  /* Optional parts may be left out. */
  g_autoptr(PtEmbeddingSet) bare = pt_embedding_set_load (npy, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (bare->labels);
  g_assert_null (bare->image_paths);

  /* Mismatched counts name both files. */
  g_assert_null (pt_embedding_set_load (npy, short_labels, NULL, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "short.txt"));
  g_assert_nonnull (strstr (error->message, "emb.npy"));
  g_clear_error (&error);

  g_free (write_file (images, "d.png", "x"));
  g_assert_null (pt_embedding_set_load (npy, NULL, images, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "5 PNG or JPEG"));
  g_clear_error (&error);

  g_autofree char *missing = g_build_filename (dir, "nope", NULL);
  g_assert_null (pt_embedding_set_load (npy, NULL, missing, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Vectors, integer arrays and empty matrices are not embeddings. */
  g_autofree char *vec = fixture_path ("i64_5.npy");
  g_assert_null (pt_embedding_set_load (vec, NULL, NULL, &error));
  g_assert_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  g_autofree char *empty = fixture_path ("f32_123456x0.npy");
  g_assert_null (pt_embedding_set_load (empty, NULL, NULL, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "123456 x 0"));
  g_clear_error (&error);

  /* A float64 matrix made by numpy imports, converted. */
  g_autofree char *f64 = fixture_path ("f64_2x3.npy");
  g_autoptr(PtEmbeddingSet) s64 = pt_embedding_set_load (f64, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (s64->n, ==, 2);
  g_assert_cmpfloat (s64->data[3], ==, 1e10f);

  remove_tree (dir);
}

typedef struct {
  PtEmbeddingSet *set;
  GError         *error;
  gboolean        done;
} AsyncResult;

static void
on_loaded_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  AsyncResult *r = user_data;
  r->set = pt_embedding_set_load_finish (result, &r->error);
  r->done = TRUE;
}

static void
test_embedding_set_async (void)
{
  g_autofree char *npy = fixture_path ("f32_3x4.npy");
  g_autofree char *labels = fixture_path ("i64_5.npy");
  AsyncResult r = { NULL, NULL, FALSE };

  pt_embedding_set_load_async (npy, NULL, NULL, NULL, on_loaded_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (r.error);
  g_assert_cmpuint (r.set->n, ==, 3);
  g_assert_cmpuint (r.set->d, ==, 4);
  g_clear_pointer (&r.set, pt_embedding_set_free);

  /* 5 labels for 3 rows: the mismatch travels back as an error. */
  r.done = FALSE;
  pt_embedding_set_load_async (npy, labels, NULL, NULL, on_loaded_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (r.set);
  g_assert_error (r.error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_MISMATCH);
  g_clear_error (&r.error);

  /* Cancelled: no set. */
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_cancellable_cancel (cancellable);
  r.done = FALSE;
  pt_embedding_set_load_async (npy, NULL, NULL, cancellable, on_loaded_cb, &r);
  while (!r.done)
    g_main_context_iteration (NULL, TRUE);
  g_assert_null (r.set);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/embedding-set/labels-text", test_labels_text);
  g_test_add_func ("/core/embedding-set/labels-npy", test_labels_npy);
  g_test_add_func ("/core/embedding-set/load", test_embedding_set_load);
  g_test_add_func ("/core/embedding-set/async", test_embedding_set_async);
  return g_test_run ();
}
