/* pt-image-check.c: sniffing, structure checks and safe decoding of PNG and
 * JPEG files (see RELIABILITY.md for why each check exists). */
#include <errno.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-dataset.h"
#include "pt-image-check.h"

static const guint8 png_signature[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

static guint32
get_u32_be (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

static guint32 crc_table[256];

static gpointer
init_crc_table (gpointer unused)
{
  for (guint32 n = 0; n < 256; n++)
    {
      guint32 c = n;

      for (int k = 0; k < 8; k++)
        c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[n] = c;
    }
  return NULL;
}

/* CRC-32 as the PNG specification defines it. */
static guint32
png_crc (const guint8 *p,
         gsize         len)
{
  static GOnce once = G_ONCE_INIT;
  guint32 c = 0xffffffffu;

  g_once (&once, init_crc_table, NULL);
  for (gsize i = 0; i < len; i++)
    c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  return c ^ 0xffffffffu;
}

const char *
pt_image_sniff (const guint8 *data,
                gsize         len,
                const char   *path)
{
  if (len >= 8 && memcmp (data, png_signature, 8) == 0)
    return "PNG";
  if (len >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    return "JPEG";
  if (len >= 6 && (memcmp (data, "GIF87a", 6) == 0 || memcmp (data, "GIF89a", 6) == 0))
    return "GIF";
  if (len >= 2 && data[0] == 'B' && data[1] == 'M')
    return "BMP";
  if (len >= 4 && (memcmp (data, "II*\0", 4) == 0 || memcmp (data, "MM\0*", 4) == 0))
    return "TIFF";
  if (len >= 12 && memcmp (data, "RIFF", 4) == 0 && memcmp (data + 8, "WEBP", 4) == 0)
    return "WebP";
  if (len >= 4 && memcmp (data, "8BPS", 4) == 0)
    return "PSD";
  if (len >= 12 && memcmp (data + 4, "ftyp", 4) == 0)
    return "HEIF/AVIF";
  if (len >= 26 && memcmp (data + len - 18, "TRUEVISION-XFILE.", 17) == 0)
    return "TGA";
  if (path != NULL)
    {
      g_autofree char *lower = g_ascii_strdown (path, -1);

      /* TGA has no magic bytes: its name is the best hint. */
      if (g_str_has_suffix (lower, ".tga"))
        return "TGA";
      if (g_str_has_suffix (lower, ".svg"))
        return "SVG";
    }
  if (len >= 4 && data[0] == 0 && data[1] == 0 && (data[2] == 1 || data[2] == 2) && data[3] == 0)
    return "ICO";
  return NULL;
}

static gboolean
check_png (const guint8 *p,
           gsize         len,
           const char   *path,
           int          *width,
           int          *height,
           gboolean     *grey,
           GError      **error)
{
  gsize pos = 8;
  guint n_idat = 0;
  gboolean have_ihdr = FALSE;

  while (len - pos >= 12)
    {
      guint32 length = get_u32_be (p + pos);
      const guint8 *type = p + pos + 4;
      char name[5];

      for (int k = 0; k < 4; k++)
        name[k] = g_ascii_isalpha (type[k]) ? (char) type[k] : '?';
      name[4] = '\0';

      if (length > 0x7fffffffu || length > len - pos - 12)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” is a truncated or corrupt PNG (chunk “%s” runs past the end of the file)."),
                       path, name);
          return FALSE;
        }
      for (int k = 0; k < 4; k++)
        if (!g_ascii_isalpha (type[k]))
          {
            g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                         _("“%s” is a corrupt PNG (invalid chunk type at byte %zu)."),
                         path, pos + 4);
            return FALSE;
          }
      if (!have_ihdr)
        {
          guint32 w, h;

          if (memcmp (type, "IHDR", 4) != 0 || length != 13)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is a corrupt PNG (it does not start with an IHDR chunk)."), path);
              return FALSE;
            }
          w = get_u32_be (type + 4);
          h = get_u32_be (type + 8);
          if (w == 0 || h == 0 || w > 0x7fffffffu || h > 0x7fffffffu)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is a corrupt PNG (its size is %u x %u pixels)."), path, w, h);
              return FALSE;
            }
          /* Refuse huge images before reading any further. */
          if ((guint64) w * h > PT_IMAGE_MAX_PIXELS)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is too large (%u x %u pixels; the limit is %d megapixels)."),
                           path, w, h, PT_IMAGE_MAX_PIXELS / 1000000);
              return FALSE;
            }
          *width = (int) w;
          *height = (int) h;
          *grey = type[13] == 0 || type[13] == 4;   /* colour type: grey, grey + alpha */
          have_ihdr = TRUE;
        }
      if (png_crc (type, (gsize) length + 4) != get_u32_be (type + 4 + length))
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” is a corrupt PNG (CRC mismatch in chunk “%s”)."), path, name);
          return FALSE;
        }
      if (memcmp (type, "IDAT", 4) == 0)
        n_idat++;
      if (memcmp (type, "IEND", 4) == 0)
        {
          if (n_idat == 0)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is a corrupt PNG (it has no image data)."), path);
              return FALSE;
            }
          return TRUE;
        }
      pos += 12 + (gsize) length;
    }

  g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
               _("“%s” is a truncated PNG (it ends before its IEND chunk)."), path);
  return FALSE;
}

static gboolean
check_jpeg (const guint8 *p,
            gsize         len,
            const char   *path,
            int          *width,
            int          *height,
            gboolean     *grey,
            GError      **error)
{
  gsize end = len;
  gsize pos = 2;
  gboolean have_sof = FALSE;

  /* Some writers pad the file after the end marker with zeros. */
  while (end > 4 && p[end - 1] == 0)
    end--;
  if (end < 4 || p[end - 2] != 0xff || p[end - 1] != 0xd9)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is a truncated JPEG (it does not end with an end-of-image marker)."), path);
      return FALSE;
    }

  for (;;)
    {
      guint marker;
      gsize seglen;

      if (pos >= end || p[pos] != 0xff)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” is a corrupt JPEG (no marker at byte %zu)."), path, pos);
          return FALSE;
        }
      while (pos < end && p[pos] == 0xff)
        pos++;
      if (pos >= end)
        break;
      marker = p[pos++];
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
        continue;
      if (marker == 0xd8 || marker == 0xd9 || marker == 0x00)
        break;
      if (end - pos < 2)
        break;
      seglen = ((gsize) p[pos] << 8) | p[pos + 1];
      if (seglen < 2 || seglen > end - pos)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” is a truncated or corrupt JPEG (segment 0x%02x runs past the end of the file)."),
                       path, marker);
          return FALSE;
        }
      if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc)
        {
          int h, w, ncomp;

          if (seglen < 8)
            break;
          h = (p[pos + 3] << 8) | p[pos + 4];
          w = (p[pos + 5] << 8) | p[pos + 6];
          ncomp = p[pos + 7];
          if (w == 0 || h == 0 || (ncomp != 1 && ncomp != 3 && ncomp != 4))
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is a corrupt JPEG (frame of %d x %d pixels, %d components)."),
                           path, w, h, ncomp);
              return FALSE;
            }
          if ((guint64) w * h > PT_IMAGE_MAX_PIXELS)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                           _("“%s” is too large (%d x %d pixels; the limit is %d megapixels)."),
                           path, w, h, PT_IMAGE_MAX_PIXELS / 1000000);
              return FALSE;
            }
          *width = w;
          *height = h;
          *grey = ncomp == 1;
          have_sof = TRUE;
        }
      if (marker == 0xda)
        {
          if (!have_sof)
            break;
          return TRUE;
        }
      pos += seglen;
    }

  g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
               _("“%s” is a corrupt JPEG (no frame header before the image data)."), path);
  return FALSE;
}

gboolean
pt_image_check (const guint8 *data,
                gsize         len,
                const char   *path,
                int          *width,
                int          *height,
                gboolean     *grey,
                GError      **error)
{
  const char *format = pt_image_sniff (data, len, path);
  int w = 0, h = 0;
  gboolean g = FALSE;
  gboolean ok;

  if (len == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is empty (0 bytes)."), path);
      return FALSE;
    }
  if (format == NULL)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("“%s” is not a PNG or JPEG image."), path);
      return FALSE;
    }
  if (strcmp (format, "PNG") == 0)
    ok = check_png (data, len, path, &w, &h, &g, error);
  else if (strcmp (format, "JPEG") == 0)
    ok = check_jpeg (data, len, path, &w, &h, &g, error);
  else
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("“%s” is in %s format; only PNG and JPEG images are read."), path, format);
      return FALSE;
    }
  if (!ok)
    return FALSE;
  if (width != NULL)
    *width = w;
  if (height != NULL)
    *height = h;
  if (grey != NULL)
    *grey = g;
  return TRUE;
}

/* Alpha over white, into a new RGB pixbuf. */
static GdkPixbuf *
flatten_alpha (GdkPixbuf *src)
{
  int w = gdk_pixbuf_get_width (src), h = gdk_pixbuf_get_height (src);
  int sstride = gdk_pixbuf_get_rowstride (src);
  const guint8 *s = gdk_pixbuf_read_pixels (src);
  GdkPixbuf *dst = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, w, h);
  int dstride = gdk_pixbuf_get_rowstride (dst);
  guint8 *d = gdk_pixbuf_get_pixels (dst);

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        const guint8 *sp = s + (gsize) y * sstride + x * 4;
        guint8 *dp = d + (gsize) y * dstride + x * 3;

        for (int c = 0; c < 3; c++)
          dp[c] = (guint8) ((sp[c] * sp[3] + 255 * (255 - sp[3]) + 127) / 255);
      }
  return dst;
}

GdkPixbuf *
pt_image_load_square (const char  *path,
                      int          resolution,
                      gboolean    *grey,
                      GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GdkPixbuf) decoded = NULL;
  g_autoptr(GdkPixbuf) oriented = NULL;
  g_autoptr(GdkPixbuf) rgb = NULL;
  g_autoptr(GdkPixbuf) square = NULL;
  g_autofree char *contents = NULL;
  GdkPixbufFormat *info;
  g_autofree char *info_name = NULL;
  const char *format;
  GStatBuf st;
  gsize len = 0;
  int w = 0, h = 0, iw = 0, ih = 0, side;
  gboolean is_grey = FALSE;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (resolution > 0, NULL);

  if (g_stat (path, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("“%s” cannot be read: %s."), path, g_strerror (saved));
      return NULL;
    }
  if (S_ISDIR (st.st_mode))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("“%s” is a folder, not an image file (folders inside a class folder are not read)."), path);
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("“%s” is not a regular file."), path);
      return NULL;
    }
  if (st.st_size == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is empty (0 bytes)."), path);
      return NULL;
    }
  if ((guint64) st.st_size > PT_IMAGE_MAX_FILE_BYTES)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is too large (%llu MiB; the limit is %zu MiB)."),
                   path, (unsigned long long) st.st_size >> 20, PT_IMAGE_MAX_FILE_BYTES >> 20);
      return NULL;
    }
  if (!g_file_get_contents (path, &contents, &len, &local_error))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("“%s” cannot be read: %s."), path,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_ACCES)
                   ? g_strerror (EACCES) : local_error->message);
      return NULL;
    }
  if (!pt_image_check ((const guint8 *) contents, len, path, &w, &h, &is_grey, error))
    return NULL;
  format = pt_image_sniff ((const guint8 *) contents, len, path);
  g_clear_pointer (&contents, g_free);

  /* gdk-pixbuf must agree on the format and size (it only sees a file our
   * own checks passed, so only its PNG and JPEG loaders run). */
  info = gdk_pixbuf_get_file_info (path, &iw, &ih);
  if (info != NULL)
    info_name = gdk_pixbuf_format_get_name (info);
  if (info_name == NULL ||
      !((strcmp (format, "PNG") == 0 && strcmp (info_name, "png") == 0) ||
        (strcmp (format, "JPEG") == 0 && strcmp (info_name, "jpeg") == 0)) ||
      iw != w || ih != h)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is not recognised by gdk-pixbuf as the %s image its header describes."),
                   path, format);
      return NULL;
    }

  decoded = gdk_pixbuf_new_from_file (path, &local_error);
  if (decoded == NULL)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” cannot be decoded: %s."), path, local_error->message);
      return NULL;
    }
  if (gdk_pixbuf_get_width (decoded) != w || gdk_pixbuf_get_height (decoded) != h ||
      gdk_pixbuf_get_bits_per_sample (decoded) != 8 ||
      gdk_pixbuf_get_n_channels (decoded) != (gdk_pixbuf_get_has_alpha (decoded) ? 4 : 3))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” decodes to %d x %d pixels, not the %d x %d its header describes."),
                   path, gdk_pixbuf_get_width (decoded), gdk_pixbuf_get_height (decoded), w, h);
      return NULL;
    }

  oriented = gdk_pixbuf_apply_embedded_orientation (decoded);
  if (oriented == NULL)
    oriented = g_object_ref (decoded);
  g_clear_object (&decoded);

  if (gdk_pixbuf_get_has_alpha (oriented))
    rgb = flatten_alpha (oriented);
  else
    rgb = g_object_ref (oriented);
  g_clear_object (&oriented);

  w = gdk_pixbuf_get_width (rgb);
  h = gdk_pixbuf_get_height (rgb);
  side = MIN (w, h);
  square = gdk_pixbuf_new_subpixbuf (rgb, (w - side) / 2, (h - side) / 2, side, side);

  if (grey != NULL)
    *grey = is_grey;
  return gdk_pixbuf_scale_simple (square, resolution, resolution,
                                  side > resolution ? GDK_INTERP_HYPER : GDK_INTERP_BILINEAR);
}
