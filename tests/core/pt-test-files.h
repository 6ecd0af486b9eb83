/* pt-test-files.h: real files for dataset tests, made at run time in a
 * temporary folder: IDX, CIFAR-10 batches, PNG (including hand-made grey
 * and header-only ones), JPEG, GIF, BMP and TGA. */
#pragma once

#include <string.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

static inline void
pt_test_rm_rf (const char *path)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;

  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
    {
      dir = g_dir_open (path, 0, NULL);
      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);
          pt_test_rm_rf (child);
        }
      g_rmdir (path);
    }
  else
    g_unlink (path);
}

static inline char *
pt_test_make_tmpdir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("pt-dataset-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

/* Writes data to dir/name (creating parent folders); returns the path. */
static inline char *
pt_test_write (const char *dir,
               const char *name,
               const void *data,
               gsize       len)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_cmpint (g_mkdir_with_parents (parent, 0755), ==, 0);
  /* No fsync: the mutation test rewrites files thousands of times (and
   * NONE does not truncate, so remove the old file first). */
  g_unlink (path);
  g_file_set_contents_full (path, data, len, G_FILE_SET_CONTENTS_NONE, 0644, &error);
  g_assert_no_error (error);
  return path;
}

static inline char *
pt_test_write_bytes (const char *dir,
                     const char *name,
                     GBytes     *bytes)
{
  gsize len;
  const void *data = g_bytes_get_data (bytes, &len);

  return pt_test_write (dir, name, data, len);
}

static inline void
pt_test_put_u32_be (GByteArray *a,
                    guint32     v)
{
  guint8 b[4] = { v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff };

  g_byte_array_append (a, b, 4);
}

/* An IDX image file n x h x w with pixel (i, y, x) = (i * 31 + y * 7 + x) & 0xff. */
static inline GBytes *
pt_test_make_idx_images (guint n,
                         guint h,
                         guint w)
{
  GByteArray *a = g_byte_array_new ();

  pt_test_put_u32_be (a, 0x00000803);
  pt_test_put_u32_be (a, n);
  pt_test_put_u32_be (a, h);
  pt_test_put_u32_be (a, w);
  for (guint i = 0; i < n; i++)
    for (guint y = 0; y < h; y++)
      for (guint x = 0; x < w; x++)
        {
          guint8 v = (i * 31 + y * 7 + x) & 0xff;
          g_byte_array_append (a, &v, 1);
        }
  return g_byte_array_free_to_bytes (a);
}

/* An IDX label file of n labels, label i = i % modulo. */
static inline GBytes *
pt_test_make_idx_labels (guint n,
                         guint modulo)
{
  GByteArray *a = g_byte_array_new ();

  pt_test_put_u32_be (a, 0x00000801);
  pt_test_put_u32_be (a, n);
  for (guint i = 0; i < n; i++)
    {
      guint8 v = i % modulo;
      g_byte_array_append (a, &v, 1);
    }
  return g_byte_array_free_to_bytes (a);
}

static inline GBytes *
pt_test_convert (GBytes     *in,
                 GConverter *converter)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOutputStream) memory = g_memory_output_stream_new_resizable ();
  g_autoptr(GOutputStream) stream = g_converter_output_stream_new (memory, converter);
  gsize len, written = 0;
  const void *data = g_bytes_get_data (in, &len);

  g_output_stream_write_all (stream, data, len, &written, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_close (stream, NULL, &error);
  g_assert_no_error (error);
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (memory));
}

static inline GBytes *
pt_test_gzip (GBytes *in)
{
  g_autoptr(GZlibCompressor) c = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6);

  return pt_test_convert (in, G_CONVERTER (c));
}

/* n CIFAR-10 records: label (first + r) % 10, pixel (c, k) = (r + c * 50 + k) & 0xff. */
static inline GBytes *
pt_test_make_cifar (guint n,
                    guint first)
{
  GByteArray *a = g_byte_array_new ();

  for (guint r = 0; r < n; r++)
    {
      guint8 label = (first + r) % 10;

      g_byte_array_append (a, &label, 1);
      for (guint c = 0; c < 3; c++)
        for (guint k = 0; k < 1024; k++)
          {
            guint8 v = (r + c * 50 + k) & 0xff;
            g_byte_array_append (a, &v, 1);
          }
    }
  return g_byte_array_free_to_bytes (a);
}

static inline guint32
pt_test_crc32 (const guint8 *p,
               gsize         len)
{
  guint32 c = 0xffffffffu;

  for (gsize i = 0; i < len; i++)
    {
      c ^= p[i];
      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    }
  return c ^ 0xffffffffu;
}

static inline void
pt_test_png_chunk (GByteArray   *a,
                   const char   *type,
                   const guint8 *data,
                   guint32       len)
{
  g_autoptr(GByteArray) body = g_byte_array_new ();

  pt_test_put_u32_be (a, len);
  g_byte_array_append (body, (const guint8 *) type, 4);
  if (len > 0)
    g_byte_array_append (body, data, len);
  g_byte_array_append (a, body->data, body->len);
  pt_test_put_u32_be (a, pt_test_crc32 (body->data, body->len));
}

/* A PNG made by hand. colour_type 0 (grey) with pixel data, or any IHDR
 * with no_data = TRUE (header, IHDR and IEND only, for huge claimed sizes). */
static inline GBytes *
pt_test_make_png_raw (guint32  w,
                      guint32  h,
                      guint8   colour_type,
                      guint8   grey_value,
                      gboolean no_data)
{
  static const guint8 sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GByteArray *a = g_byte_array_new ();
  g_autoptr(GByteArray) ihdr = g_byte_array_new ();
  guint8 tail[5] = { 8, colour_type, 0, 0, 0 };

  g_byte_array_append (a, sig, 8);
  pt_test_put_u32_be (ihdr, w);
  pt_test_put_u32_be (ihdr, h);
  g_byte_array_append (ihdr, tail, 5);
  pt_test_png_chunk (a, "IHDR", ihdr->data, ihdr->len);
  if (!no_data)
    {
      g_autoptr(GByteArray) raw = g_byte_array_new ();
      g_autoptr(GBytes) raw_bytes = NULL;
      g_autoptr(GBytes) z = NULL;
      g_autoptr(GZlibCompressor) c = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
      gsize zlen;
      const guint8 *zdata;

      g_assert_cmpint (colour_type, ==, 0);
      for (guint32 y = 0; y < h; y++)
        {
          guint8 filter = 0;

          g_byte_array_append (raw, &filter, 1);
          for (guint32 x = 0; x < w; x++)
            {
              guint8 v = (guint8) (grey_value + ((x + y) & 3));
              g_byte_array_append (raw, &v, 1);
            }
        }
      raw_bytes = g_bytes_new (raw->data, raw->len);
      z = pt_test_convert (raw_bytes, G_CONVERTER (c));
      zdata = g_bytes_get_data (z, &zlen);
      pt_test_png_chunk (a, "IDAT", zdata, zlen);
    }
  pt_test_png_chunk (a, "IEND", NULL, 0);
  return g_byte_array_free_to_bytes (a);
}

/* An RGB(A) pixbuf w x h: a colour pattern with some noise so that JPEG
 * and PNG files are not trivially small. */
static inline GdkPixbuf *
pt_test_make_pixbuf (int      w,
                     int      h,
                     gboolean alpha,
                     guint32  seed)
{
  GdkPixbuf *p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, w, h);
  int stride = gdk_pixbuf_get_rowstride (p);
  int nc = gdk_pixbuf_get_n_channels (p);
  guint8 *d = gdk_pixbuf_get_pixels (p);
  GRand *rand = g_rand_new_with_seed (seed);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        guint8 *px = d + (gsize) y * stride + x * nc;

        px[0] = (guint8) (x * 255 / MAX (w - 1, 1));
        px[1] = (guint8) (y * 255 / MAX (h - 1, 1));
        px[2] = (guint8) g_rand_int_range (rand, 0, 256);
        if (alpha)
          px[3] = 255;
      }
  g_rand_free (rand);
  return p;
}

static inline GBytes *
pt_test_pixbuf_to_bytes (GdkPixbuf  *p,
                         const char *type)
{
  g_autoptr(GError) error = NULL;
  char *buf = NULL;
  gsize len = 0;

  if (strcmp (type, "jpeg") == 0)
    gdk_pixbuf_save_to_buffer (p, &buf, &len, type, &error, "quality", "90", NULL);
  else
    gdk_pixbuf_save_to_buffer (p, &buf, &len, type, &error, NULL);
  g_assert_no_error (error);
  return g_bytes_new_take (buf, len);
}

/* A 1x1 GIF and a 2x2 uncompressed true-colour TGA. */
static const guint8 pt_test_gif[] = {
  0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
  0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00,
  0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02, 0x02,
  0x44, 0x01, 0x00, 0x3b,
};

static const guint8 pt_test_tga[] = {
  0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 24, 0,
  10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120,
};
