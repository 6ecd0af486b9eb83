/* Tests for the TensorBoard projector bundle and the CSV export. */
#include <locale.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "pt-projector.h"

static char *
make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("pt-projector-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static char *
read_text (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  return contents;
}

static GBytes *
read_bytes (const char *dir,
            const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static guint
count_entries (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  guint n = 0;
  while (g_dir_read_name (d) != NULL)
    n++;
  return n;
}

/* Solid colour per index; index 3 has no image. */
static GdkPixbuf *
thumb_cb (guint    index,
          gpointer user_data)
{
  if (index == 3)
    return NULL;
  gboolean alpha = index % 2 == 1;
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, 8, 8);
  guint32 rgb = ((index * 20) << 24) | ((255 - index * 20) << 16) | (((index * 7) & 0xff) << 8);
  gdk_pixbuf_fill (p, rgb | 0xff);
  return p;
}

static void
pixel_at (GdkPixbuf *p,
          int        x,
          int        y,
          guint8     rgb[3])
{
  const guint8 *px = gdk_pixbuf_read_pixels (p) + y * gdk_pixbuf_get_rowstride (p)
                     + x * gdk_pixbuf_get_n_channels (p);
  memcpy (rgb, px, 3);
}

static float *
make_embeddings (guint n,
                 guint d,
                 guint seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  float *e = g_new (float, n * d);
  for (guint i = 0; i < n * d; i++)
    {
      /* Finite values of every magnitude, subnormals included. */
      guint32 bits;
      float f;
      do
        {
          bits = g_rand_int (rand);
          memcpy (&f, &bits, 4);
        }
      while (!isfinite (f));
      e[i] = f;
    }
  return e;
}

static void
test_projector_layout (void)
{
  struct { guint n, wanted, grid, thumb; } cases[] = {
    { 1, 28, 1, 28 },
    { 10, 0, 4, 32 },
    { 16, 32, 4, 32 },
    { 17, 32, 5, 32 },
    { 60000, 28, 245, 28 },
    { 1000000, 32, 1000, 8 },
    { 300, 1000, 18, 455 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      guint grid, thumb;
      g_assert_true (pt_projector_sprite_layout (cases[i].n, cases[i].wanted, &grid, &thumb));
      g_assert_cmpuint (grid, ==, cases[i].grid);
      g_assert_cmpuint (thumb, ==, cases[i].thumb);
      g_assert_cmpuint (grid * thumb, <=, PT_PROJECTOR_MAX_SPRITE);
      g_assert_cmpuint ((guint64) grid * grid, >=, cases[i].n);
      g_assert_cmpuint ((guint64) (grid - 1) * (grid - 1), <, cases[i].n);
    }
  /* More images than 8192 x 8192 one-pixel cells. */
  guint grid, thumb;
  g_assert_false (pt_projector_sprite_layout (8193u * 8193u, 32, &grid, &thumb));
}

static void
test_projector_bundle (void)
{
  const guint n = 10, d = 3;
  g_autofree float *emb = make_embeddings (n, d, 3);
  int labels[10] = { 0, 1, 2, 0, -1, 1, 2, 0, 1, 2 };
  const char *names[] = { "cat", "dog\twith tab", "bird" };
  const char *files[10] = { "a.png", "b.png", "c.png", "d.png", "e.png",
                            "f.png", "g.png", "h.png", "i.png", "j\nk.png" };
  PtProjectorExport exp = {
    .embeddings = emb, .n = n, .d = d,
    .labels = labels, .class_names = names, .n_classes = 3,
    .filenames = files,
    .thumb_func = thumb_cb, .thumb_size = 16,
    .tensor_name = "SimCLR \"cnn\"",
  };
  g_autofree char *parent = make_dir ();
  g_autofree char *dir = g_build_filename (parent, "bundle", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_projector_save (&exp, dir, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 4);

  /* tensors.tsv: n rows of d tab-separated floats that read back exactly. */
  g_autofree char *tensors = read_text (dir, "tensors.tsv");
  g_assert_true (g_str_has_suffix (tensors, "\n"));
  g_auto(GStrv) rows = g_strsplit (tensors, "\n", -1);
  g_assert_cmpuint (g_strv_length (rows), ==, n + 1);
  g_assert_cmpstr (rows[n], ==, "");
  for (guint i = 0; i < n; i++)
    {
      g_auto(GStrv) cols = g_strsplit (rows[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (cols), ==, d);
      for (guint j = 0; j < d; j++)
        {
          char *end = NULL;
          float v = (float) g_ascii_strtod (cols[j], &end);
          g_assert_cmpint (*end, ==, '\0');
          g_assert_cmpmem (&v, 4, &emb[i * d + j], 4);
        }
    }

  /* metadata.tsv: a header (3 columns), then name, index, file name. */
  g_autofree char *meta = read_text (dir, "metadata.tsv");
  g_auto(GStrv) mrows = g_strsplit (meta, "\n", -1);
  g_assert_cmpuint (g_strv_length (mrows), ==, n + 2);
  g_assert_cmpstr (mrows[0], ==, "label\tlabel_index\tfilename");
  g_assert_cmpstr (mrows[1], ==, "cat\t0\ta.png");
  g_assert_cmpstr (mrows[2], ==, "dog with tab\t1\tb.png");
  g_assert_cmpstr (mrows[5], ==, "\t-1\te.png");
  g_assert_cmpstr (mrows[10], ==, "bird\t2\tj k.png");
  for (guint i = 1; i <= n; i++)
    {
      g_auto(GStrv) cols = g_strsplit (mrows[i], "\t", -1);
      g_assert_cmpuint (g_strv_length (cols), ==, 3);
    }

  /* sprite.png: grid 4 x thumb 16, each cell its image's colour. */
  g_autofree char *sprite_path = g_build_filename (dir, "sprite.png", NULL);
  g_autoptr(GdkPixbuf) sprite = gdk_pixbuf_new_from_file (sprite_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (sprite), ==, 4 * 16);
  g_assert_cmpint (gdk_pixbuf_get_height (sprite), ==, 4 * 16);
  for (guint i = 0; i < 16; i++)
    {
      guint8 rgb[3];
      pixel_at (sprite, (int) (i % 4) * 16 + 8, (int) (i / 4) * 16 + 8, rgb);
      if (i >= n || i == 3)
        {
          g_assert_cmpuint (rgb[0], ==, 255);
          g_assert_cmpuint (rgb[1], ==, 255);
          g_assert_cmpuint (rgb[2], ==, 255);
        }
      else
        {
          g_assert_cmpuint (rgb[0], ==, (i * 20) & 0xff);
          g_assert_cmpuint (rgb[1], ==, (255 - i * 20) & 0xff);
          g_assert_cmpuint (rgb[2], ==, (i * 7) & 0xff);
        }
    }

  g_autofree char *config = read_text (dir, "projector_config.pbtxt");
  g_assert_cmpstr (config, ==,
                   "embeddings {\n"
                   "  tensor_name: \"SimCLR \\\"cnn\\\"\"\n"
                   "  tensor_path: \"tensors.tsv\"\n"
                   "  metadata_path: \"metadata.tsv\"\n"
                   "  sprite {\n"
                   "    image_path: \"sprite.png\"\n"
                   "    single_image_dim: 16\n"
                   "    single_image_dim: 16\n"
                   "  }\n"
                   "}\n");
  remove_dir (dir);
  g_rmdir (parent);
}

/* A wish for huge thumbnails is shrunk to fit 8192 x 8192. */
static void
test_projector_sprite_clamp (void)
{
  float emb[5] = { 1, 2, 3, 4, 5 };
  PtProjectorExport exp = { .embeddings = emb, .n = 5, .d = 1,
                            .thumb_func = thumb_cb, .thumb_size = 5000 };
  g_autoptr(GError) error = NULL;
  guint thumb = 0;
  g_autoptr(GdkPixbuf) sprite = pt_projector_build_sprite (&exp, &thumb, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (thumb, ==, PT_PROJECTOR_MAX_SPRITE / 3);
  g_assert_cmpint (gdk_pixbuf_get_width (sprite), ==, 3 * thumb);
  g_assert_cmpint (gdk_pixbuf_get_height (sprite), ==, 3 * thumb);
  g_assert_cmpint (gdk_pixbuf_get_width (sprite), <=, PT_PROJECTOR_MAX_SPRITE);

  /* Cell 4 (row 1, column 1) holds image 4's colour, cell 5 is empty. */
  guint8 rgb[3];
  pixel_at (sprite, (int) (thumb + thumb / 2), (int) (thumb + thumb / 2), rgb);
  g_assert_cmpuint (rgb[0], ==, 80);
  g_assert_cmpuint (rgb[1], ==, 175);
  g_assert_cmpuint (rgb[2], ==, 28);
  pixel_at (sprite, (int) (2 * thumb + 1), (int) (thumb + 1), rgb);
  g_assert_cmpuint (rgb[0], ==, 255);
}

static void
test_projector_minimal (void)
{
  const guint n = 5, d = 2;
  float emb[10] = { 0.5f, -1, 2, 3, 1e-7f, 1e30f, -0.0f, 4, 5, 6 };
  int labels[5] = { 4, 3, 2, 1, 0 };
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;

  /* Embeddings only: no metadata, no sprite. */
  PtProjectorExport bare = { .embeddings = emb, .n = n, .d = d };
  g_assert_true (pt_projector_save (&bare, dir, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 2);
  g_autofree char *tensors = read_text (dir, "tensors.tsv");
  g_assert_cmpstr (tensors, ==, "0.5\t-1\n2\t3\n1.00000001e-07\t1.00000002e+30\n-0\t4\n5\t6\n");
  g_autofree char *config = read_text (dir, "projector_config.pbtxt");
  g_assert_cmpstr (config, ==, "embeddings {\n  tensor_name: \"embeddings\"\n"
                               "  tensor_path: \"tensors.tsv\"\n}\n");

  /* Numeric labels only: one column, so no header row. */
  PtProjectorExport labelled = { .embeddings = emb, .n = n, .d = d, .labels = labels };
  g_assert_true (pt_projector_save (&labelled, dir, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_entries (dir), ==, 3);
  g_autofree char *meta = read_text (dir, "metadata.tsv");
  g_assert_cmpstr (meta, ==, "4\n3\n2\n1\n0\n");
  remove_dir (dir);
}

static void
test_projector_refused (void)
{
  float emb[4] = { 1, NAN, 3, 4 };
  int labels[2] = { 0, 5 };
  const char *names[] = { "a", "b" };
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;

  PtProjectorExport nan_exp = { .embeddings = emb, .n = 2, .d = 2 };
  g_assert_false (pt_projector_save (&nan_exp, dir, &error));
  g_assert_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "point 0"));
  g_clear_error (&error);

  emb[1] = 2;
  PtProjectorExport bad_label = { .embeddings = emb, .n = 2, .d = 2, .labels = labels,
                                  .class_names = names, .n_classes = 2 };
  g_assert_false (pt_projector_save (&bad_label, dir, &error));
  g_assert_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID);
  g_clear_error (&error);

  PtProjectorExport empty = { .embeddings = emb, .n = 0, .d = 2 };
  g_assert_false (pt_csv_save_embeddings (&empty, "/nonexistent-pt/x.csv", &error));
  g_assert_nonnull (error);
  g_clear_error (&error);
  g_autofree char *csv = g_build_filename (dir, "x.csv", NULL);
  g_assert_false (pt_csv_save_embeddings (&empty, csv, &error));
  g_assert_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID);

  /* Nothing written by any refused export. */
  g_assert_cmpuint (count_entries (dir), ==, 0);
  remove_dir (dir);
}

/* A failed set write leaves the previous bundle intact and no temporaries. */
static void
test_projector_failed_write (void)
{
  const guint n = 6, d = 4;
  g_autofree float *old_emb = make_embeddings (n, d, 1);
  g_autofree float *new_emb = make_embeddings (n, d, 2);
  int labels[6] = { 0, 1, 0, 1, 0, 1 };
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;

  PtProjectorExport exp = { .embeddings = old_emb, .n = n, .d = d, .labels = labels,
                            .thumb_func = thumb_cb, .thumb_size = 8 };
  g_assert_true (pt_projector_save (&exp, dir, &error));
  g_assert_no_error (error);
  g_autofree char *old_tensors = read_text (dir, "tensors.tsv");
  g_autoptr(GBytes) old_sprite = read_bytes (dir, "sprite.png");

  exp.embeddings = new_emb;
  PtAtomicFailPoint points[] = { PT_ATOMIC_FAIL_WRITE, PT_ATOMIC_FAIL_FSYNC,
                                 PT_ATOMIC_FAIL_RENAME, PT_ATOMIC_FAIL_RENAME };
  guint nth[] = { 2, 2, 2, 4 };
  for (guint i = 0; i < G_N_ELEMENTS (points); i++)
    {
      pt_atomic_testing_fail (points[i], nth[i]);
      g_assert_false (pt_projector_save (&exp, dir, &error));
      pt_atomic_testing_fail (points[i], 0);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_clear_error (&error);

      g_assert_cmpuint (count_entries (dir), ==, 4);
      g_autofree char *tensors = read_text (dir, "tensors.tsv");
      g_autoptr(GBytes) sprite = read_bytes (dir, "sprite.png");
      g_assert_cmpstr (tensors, ==, old_tensors);
      g_assert_true (g_bytes_equal (sprite, old_sprite));
    }

  /* And it then succeeds. */
  g_assert_true (pt_projector_save (&exp, dir, &error));
  g_assert_no_error (error);
  g_autofree char *tensors = read_text (dir, "tensors.tsv");
  g_assert_cmpstr (tensors, !=, old_tensors);
  g_assert_cmpuint (count_entries (dir), ==, 4);
  remove_dir (dir);
}

/* Splits one CSV record (RFC 4180) starting at *p; advances past its line. */
static GPtrArray *
csv_record (const char **p)
{
  GPtrArray *fields = g_ptr_array_new_with_free_func (g_free);
  const char *s = *p;

  for (;;)
    {
      GString *f = g_string_new (NULL);
      if (*s == '"')
        {
          s++;
          for (;;)
            {
              g_assert_cmpint (*s, !=, '\0');
              if (*s == '"' && s[1] == '"')
                {
                  g_string_append_c (f, '"');
                  s += 2;
                }
              else if (*s == '"')
                {
                  s++;
                  break;
                }
              else
                g_string_append_c (f, *s++);
            }
        }
      else
        while (*s != ',' && *s != '\n' && *s != '\0')
          g_string_append_c (f, *s++);
      g_ptr_array_add (fields, g_string_free (f, FALSE));
      if (*s == ',')
        {
          s++;
          continue;
        }
      g_assert_cmpint (*s, ==, '\n');
      s++;
      break;
    }
  *p = s;
  return fields;
}

static void
test_projector_csv (void)
{
  const guint n = 4, d = 3;
  g_autofree float *emb = make_embeddings (n, d, 9);
  int labels[4] = { 1, -1, 0, 1 };
  const char *names[] = { "plain", "with, comma \"and quotes\"" };
  const char *files[4] = { "x.png", "a,b.png", "q\"uote.png", "line\nbreak.png" };
  PtProjectorExport exp = { .embeddings = emb, .n = n, .d = d, .labels = labels,
                            .class_names = names, .n_classes = 2, .filenames = files };
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "e.csv", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_csv_save_embeddings (&exp, path, &error));
  g_assert_no_error (error);
  g_autofree char *text = read_text (dir, "e.csv");
  const char *p = text;

  g_autoptr(GPtrArray) header = csv_record (&p);
  g_assert_cmpuint (header->len, ==, d + 2);
  g_assert_cmpstr (header->pdata[0], ==, "filenames");
  g_assert_cmpstr (header->pdata[1], ==, "embedding_0");
  g_assert_cmpstr (header->pdata[d], ==, "embedding_2");
  g_assert_cmpstr (header->pdata[d + 1], ==, "labels");
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GPtrArray) rec = csv_record (&p);
      g_assert_cmpuint (rec->len, ==, d + 2);
      g_assert_cmpstr (rec->pdata[0], ==, files[i]);
      for (guint j = 0; j < d; j++)
        {
          float v = (float) g_ascii_strtod (rec->pdata[1 + j], NULL);
          g_assert_cmpmem (&v, 4, &emb[i * d + j], 4);
        }
      g_assert_cmpstr (rec->pdata[d + 1], ==, labels[i] < 0 ? "" : names[labels[i]]);
    }
  g_assert_cmpint (*p, ==, '\0');

  g_autofree char *q = pt_csv_quote ("no quoting");
  g_assert_cmpstr (q, ==, "no quoting");
  g_autofree char *q2 = pt_csv_quote ("a\"b");
  g_assert_cmpstr (q2, ==, "\"a\"\"b\"");

  g_unlink (path);
  g_rmdir (dir);
}

/* Numbers are written the same whatever the locale. */
static void
test_projector_locale (void)
{
  const char *locales[] = { "fr_FR.UTF-8", "de_DE.UTF-8", "fr_FR", "de_DE" };
  const char *set = NULL;
  for (guint i = 0; i < G_N_ELEMENTS (locales) && set == NULL; i++)
    set = setlocale (LC_NUMERIC, locales[i]);
  if (set == NULL)
    {
      g_test_skip ("no locale with a decimal comma installed");
      return;
    }

  float emb[2] = { 0.25f, -1.5f };
  PtProjectorExport exp = { .embeddings = emb, .n = 1, .d = 2 };
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;
  gboolean ok = pt_projector_save (&exp, dir, &error);
  setlocale (LC_NUMERIC, "C");
  g_assert_true (ok);
  g_autofree char *tensors = read_text (dir, "tensors.tsv");
  g_assert_cmpstr (tensors, ==, "0.25\t-1.5\n");
  remove_dir (dir);
}

typedef struct {
  GError  *error;
  gboolean done;
} AsyncResult;

static void
on_saved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  AsyncResult *r = user_data;
  gboolean ok = pt_projector_save_finish (result, &r->error);
  g_assert_true (ok == (r->error == NULL));
  r->done = TRUE;
}

static void
test_projector_async_cancel (void)
{
  const guint n = 20, d = 5;
  g_autofree float *emb = make_embeddings (n, d, 4);
  g_autofree char *dir = make_dir ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GError *error = NULL;
  PtProjectorExport exp = { .embeddings = emb, .n = n, .d = d,
                            .thumb_func = thumb_cb, .thumb_size = 4,
                            .cancellable = cancellable };
  GMainContext *context = g_main_context_default ();

  /* Cancelled before it starts: an error, and nothing written. */
  g_cancellable_cancel (cancellable);
  g_assert_false (pt_projector_save (&exp, dir, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (count_entries (dir), ==, 0);
  g_autofree char *csv = g_build_filename (dir, "e.csv", NULL);
  g_assert_false (pt_csv_save_embeddings (&exp, csv, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&error);
  g_assert_cmpuint (count_entries (dir), ==, 0);

  /* On a worker: the result comes back to this thread's main context. */
  g_cancellable_reset (cancellable);
  AsyncResult r = { NULL, FALSE };
  pt_projector_save_async (&exp, dir, on_saved_cb, &r);
  while (!r.done)
    g_main_context_iteration (context, TRUE);
  g_assert_no_error (r.error);
  g_assert_cmpuint (count_entries (dir), ==, 3);
  g_autofree char *config = read_text (dir, "projector_config.pbtxt");
  g_assert_nonnull (strstr (config, "single_image_dim: 4"));
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/projector/layout", test_projector_layout);
  g_test_add_func ("/core/projector/bundle", test_projector_bundle);
  g_test_add_func ("/core/projector/sprite-clamp", test_projector_sprite_clamp);
  g_test_add_func ("/core/projector/minimal", test_projector_minimal);
  g_test_add_func ("/core/projector/refused", test_projector_refused);
  g_test_add_func ("/core/projector/failed-write", test_projector_failed_write);
  g_test_add_func ("/core/projector/csv", test_projector_csv);
  g_test_add_func ("/core/projector/locale", test_projector_locale);
  g_test_add_func ("/core/projector/async-cancel", test_projector_async_cancel);
  return g_test_run ();
}
