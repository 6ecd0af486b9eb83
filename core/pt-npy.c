/* pt-npy.c: NumPy .npy files. */
#include "pt-npy.h"

#include <string.h>
#include <glib/gi18n.h>

#define NPY_MAGIC      "\x93NUMPY"
#define NPY_MAGIC_LEN  6
#define NPY_ALIGN      64
/* numpy leaves room for the first dimension to grow to 21 digits. */
#define NPY_GROWTH_DIGITS 21
/* numpy's own reader refuses headers over 10000 bytes by default; allow more
 * but keep a bound so a hostile length cannot make us scan gigabytes. */
#define NPY_MAX_HEADER (1024 * 1024)

G_DEFINE_QUARK (pt-npy-error-quark, pt_npy_error)

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "pt-npy assumes a little-endian host"
#endif

static const struct {
  const char *descr;
  PtNpyDtype  dtype;
  gsize       size;
} npy_dtypes[] = {
  { "<f4", PT_NPY_F4, 4 },
  { "<f8", PT_NPY_F8, 8 },
  { "<i8", PT_NPY_I8, 8 },
  { "<i4", PT_NPY_I4, 4 },
  { "|u1", PT_NPY_U1, 1 },
};

/* ---- Writing ---------------------------------------------------------- */

GBytes *
pt_npy_build_header (const char    *descr,
                     const guint64 *shape,
                     guint          ndim)
{
  g_return_val_if_fail (descr != NULL, NULL);
  g_return_val_if_fail (shape != NULL, NULL);
  g_return_val_if_fail (ndim >= 1 && ndim <= 8, NULL);

  g_autoptr(GString) dict = g_string_new (NULL);
  g_string_append_printf (dict, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
  for (guint i = 0; i < ndim; i++)
    {
      if (i > 0)
        g_string_append (dict, ", ");
      g_string_append_printf (dict, "%" G_GUINT64_FORMAT, shape[i]);
    }
  g_string_append (dict, ndim == 1 ? ",), }" : "), }");

  /* Exactly numpy 1.24's spare space and alignment. */
  g_autofree char *first = g_strdup_printf ("%" G_GUINT64_FORMAT, shape[0]);
  gsize first_len = strlen (first);
  for (gsize i = first_len; i < NPY_GROWTH_DIGITS; i++)
    g_string_append_c (dict, ' ');

  gsize hlen = dict->len + 1;
  gsize padlen = NPY_ALIGN - ((NPY_MAGIC_LEN + 2 + 2 + hlen) % NPY_ALIGN);
  for (gsize i = 0; i < padlen; i++)
    g_string_append_c (dict, ' ');
  g_string_append_c (dict, '\n');
  g_assert (dict->len <= G_MAXUINT16);

  GByteArray *out = g_byte_array_sized_new (10 + dict->len);
  guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                     (guint8) (dict->len & 0xff), (guint8) (dict->len >> 8) };
  g_byte_array_append (out, pre, sizeof pre);
  g_byte_array_append (out, (const guint8 *) dict->str, dict->len);
  return g_byte_array_free_to_bytes (out);
}

static gboolean
write_array (PtAtomicFile  *file,
             const char    *descr,
             const guint64 *shape,
             guint          ndim,
             const void    *data,
             gsize          item_size,
             GError       **error)
{
  guint64 count = 1;

  for (guint i = 0; i < ndim; i++)
    if (!g_uint64_checked_mul (&count, count, shape[i]))
      g_return_val_if_reached (FALSE);

  guint64 bytes;
  if (!g_uint64_checked_mul (&bytes, count, item_size) || bytes > G_MAXSIZE)
    g_return_val_if_reached (FALSE);

  g_autoptr(GBytes) header = pt_npy_build_header (descr, shape, ndim);
  gsize header_len;
  const void *header_data = g_bytes_get_data (header, &header_len);

  if (!pt_atomic_file_write (file, header_data, header_len, error))
    return FALSE;
  return pt_atomic_file_write (file, data, (gsize) bytes, error);
}

gboolean
pt_npy_write_f32 (PtAtomicFile *file,
                  const float  *data,
                  guint64       n_rows,
                  guint64       n_cols,
                  GError      **error)
{
  guint64 shape[2] = { n_rows, n_cols };

  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (data != NULL || n_rows == 0 || n_cols == 0, FALSE);
  return write_array (file, "<f4", shape, 2, data, sizeof (float), error);
}

gboolean
pt_npy_write_i64 (PtAtomicFile *file,
                  const gint64 *data,
                  guint64       n,
                  GError      **error)
{
  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (data != NULL || n == 0, FALSE);
  return write_array (file, "<i8", &n, 1, data, sizeof (gint64), error);
}

gboolean
pt_npy_save_f32 (const char  *path,
                 const float *data,
                 guint64      n_rows,
                 guint64      n_cols,
                 GError     **error)
{
  g_autoptr(PtAtomicFile) file = pt_atomic_file_new (path, error);

  if (file == NULL)
    return FALSE;
  if (!pt_npy_write_f32 (file, data, n_rows, n_cols, error))
    return FALSE;
  return pt_atomic_file_commit (file, error);
}

gboolean
pt_npy_save_i64 (const char   *path,
                 const gint64 *data,
                 guint64       n,
                 GError      **error)
{
  g_autoptr(PtAtomicFile) file = pt_atomic_file_new (path, error);

  if (file == NULL)
    return FALSE;
  if (!pt_npy_write_i64 (file, data, n, error))
    return FALSE;
  return pt_atomic_file_commit (file, error);
}

/* ---- Reading ---------------------------------------------------------- */

typedef struct {
  const char *p;
  const char *end;
} Cursor;

static void
skip_ws (Cursor *c)
{
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static gboolean
accept (Cursor *c,
        char    ch)
{
  skip_ws (c);
  if (c->p < c->end && *c->p == ch)
    {
      c->p++;
      return TRUE;
    }
  return FALSE;
}

/* A Python string literal in single or double quotes, no escapes (none of
 * the values numpy writes has any). */
static char *
parse_string (Cursor *c)
{
  skip_ws (c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return NULL;
  char quote = *c->p++;
  const char *start = c->p;
  while (c->p < c->end && *c->p != quote)
    {
      if (*c->p == '\\' || *c->p == '\n' || *c->p == '\0')
        return NULL;
      c->p++;
    }
  if (c->p >= c->end)
    return NULL;
  char *s = g_strndup (start, (gsize) (c->p - start));
  c->p++;
  return s;
}

static gboolean
parse_uint (Cursor  *c,
            guint64 *out)
{
  guint64 v = 0;
  const char *start;

  skip_ws (c);
  start = c->p;
  while (c->p < c->end && g_ascii_isdigit (*c->p))
    {
      if (!g_uint64_checked_mul (&v, v, 10) ||
          !g_uint64_checked_add (&v, v, (guint64) (*c->p - '0')))
        return FALSE;
      c->p++;
    }
  if (c->p == start)
    return FALSE;
  /* Python 2 era numpy wrote long integers as 3L. */
  if (c->p < c->end && *c->p == 'L')
    c->p++;
  *out = v;
  return TRUE;
}

static gboolean
accept_word (Cursor     *c,
             const char *word)
{
  gsize len = strlen (word);

  skip_ws (c);
  if ((gsize) (c->end - c->p) >= len && memcmp (c->p, word, len) == 0)
    {
      const char *after = c->p + len;
      if (after < c->end && (g_ascii_isalnum (*after) || *after == '_'))
        return FALSE;
      c->p = after;
      return TRUE;
    }
  return FALSE;
}

static gboolean
invalid (GError    **error,
         const char *name,
         const char *problem)
{
  g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_INVALID,
               _("“%s” is not a valid .npy file: %s."), name, problem);
  return FALSE;
}

static gboolean
parse_dict (Cursor      *c,
            const char  *name,
            PtNpyInfo   *info,
            GError     **error)
{
  gboolean have_descr = FALSE, have_order = FALSE, have_shape = FALSE;

  if (!accept (c, '{'))
    return invalid (error, name, _("the header is not a dictionary"));

  while (!accept (c, '}'))
    {
      g_autofree char *key = parse_string (c);

      if (key == NULL)
        return invalid (error, name, _("a header key is not a quoted string"));
      if (!accept (c, ':'))
        return invalid (error, name, _("a header key is not followed by “:”"));

      if (strcmp (key, "descr") == 0)
        {
          g_autofree char *descr = NULL;
          gboolean found = FALSE;

          if (have_descr)
            return invalid (error, name, _("the header has “descr” twice"));
          have_descr = TRUE;
          descr = parse_string (c);
          if (descr == NULL)
            return invalid (error, name, _("“descr” is not a plain data type string"));
          for (guint i = 0; i < G_N_ELEMENTS (npy_dtypes); i++)
            if (strcmp (descr, npy_dtypes[i].descr) == 0)
              {
                info->dtype = npy_dtypes[i].dtype;
                info->item_size = npy_dtypes[i].size;
                found = TRUE;
              }
          if (!found)
            {
              g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                           _("“%s” holds data of type “%s”; Pretext reads "
                             "little-endian float32, float64, int64, int32 and uint8 (“<f4”, "
                             "“<f8”, “<i8”, “<i4”, “|u1”)."), name, descr);
              return FALSE;
            }
        }
      else if (strcmp (key, "fortran_order") == 0)
        {
          if (have_order)
            return invalid (error, name, _("the header has “fortran_order” twice"));
          have_order = TRUE;
          if (accept_word (c, "True"))
            {
              g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                           _("“%s” stores its array in Fortran (column-major) order; "
                             "save it in C order (numpy.ascontiguousarray) and try again."),
                           name);
              return FALSE;
            }
          if (!accept_word (c, "False"))
            return invalid (error, name, _("“fortran_order” is neither True nor False"));
        }
      else if (strcmp (key, "shape") == 0)
        {
          guint n = 0;

          if (have_shape)
            return invalid (error, name, _("the header has “shape” twice"));
          have_shape = TRUE;
          if (!accept (c, '('))
            return invalid (error, name, _("“shape” is not a tuple"));
          while (!accept (c, ')'))
            {
              guint64 dim;

              if (!parse_uint (c, &dim))
                return invalid (error, name, _("“shape” holds something other than "
                                               "non-negative integers"));
              if (n >= 2)
                {
                  g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                               _("“%s” holds an array of more than 2 dimensions; "
                                 "Pretext reads vectors and N x D matrices."), name);
                  return FALSE;
                }
              info->shape[n++] = dim;
              if (!accept (c, ','))
                {
                  if (!accept (c, ')'))
                    return invalid (error, name, _("“shape” is not a well-formed tuple"));
                  /* (3) is not a tuple in Python: one element needs a comma. */
                  if (n == 1)
                    return invalid (error, name, _("“shape” is not a well-formed tuple"));
                  break;
                }
            }
          if (n == 0)
            {
              g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                           _("“%s” holds a single number, not a vector or a matrix."), name);
              return FALSE;
            }
          info->ndim = n;
          if (n == 1)
            info->shape[1] = 1;
        }
      else
        {
          g_autofree char *problem = g_strdup_printf (_("the header has an unknown key “%s”"), key);
          return invalid (error, name, problem);
        }

      if (!accept (c, ','))
        {
          if (!accept (c, '}'))
            return invalid (error, name, _("the header dictionary is not well formed"));
          break;
        }
    }

  if (!have_descr || !have_order || !have_shape)
    return invalid (error, name, _("the header lacks one of “descr”, “fortran_order” and “shape”"));
  return TRUE;
}

gboolean
pt_npy_parse_header (const guint8 *contents,
                     gsize         length,
                     const char   *name,
                     PtNpyInfo    *info,
                     GError      **error)
{
  g_return_val_if_fail (contents != NULL || length == 0, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (info != NULL, FALSE);

  memset (info, 0, sizeof *info);

  if (length < NPY_MAGIC_LEN + 2 || memcmp (contents, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
    return invalid (error, name, _("it does not start with the .npy signature"));

  guint8 major = contents[6], minor = contents[7];
  gsize header_len, header_start;

  if (minor != 0 || major < 1 || major > 3)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                   _("“%s” is a .npy file of version %u.%u; Pretext reads versions 1.0 to 3.0."),
                   name, major, minor);
      return FALSE;
    }
  info->major_version = major;

  if (major == 1)
    {
      if (length < 10)
        return invalid (error, name, _("the file ends inside the header"));
      header_len = (gsize) contents[8] | ((gsize) contents[9] << 8);
      header_start = 10;
    }
  else
    {
      if (length < 12)
        return invalid (error, name, _("the file ends inside the header"));
      header_len = (gsize) contents[8] | ((gsize) contents[9] << 8)
                   | ((gsize) contents[10] << 16) | ((gsize) contents[11] << 24);
      header_start = 12;
      if (header_len > NPY_MAX_HEADER)
        return invalid (error, name, _("the header length is absurdly large"));
    }

  if (header_len > length - header_start)
    return invalid (error, name, _("the header length points past the end of the file"));
  if (header_len == 0 || contents[header_start + header_len - 1] != '\n')
    return invalid (error, name, _("the header does not end with a newline"));

  const char *header = (const char *) contents + header_start;
  for (gsize i = 0; i < header_len; i++)
    if (header[i] == '\0')
      return invalid (error, name, _("the header contains a NUL byte"));

  Cursor c = { header, header + header_len };
  if (!parse_dict (&c, name, info, error))
    return FALSE;
  skip_ws (&c);
  if (c.p != c.end)
    return invalid (error, name, _("the header has text after the dictionary"));

  info->data_offset = header_start + header_len;

  guint64 count, bytes;
  if (!g_uint64_checked_mul (&count, info->shape[0], info->shape[1]) ||
      !g_uint64_checked_mul (&bytes, count, info->item_size) ||
      bytes > G_MAXSIZE)
    return invalid (error, name, _("its shape describes more bytes than any file can hold"));
  info->data_size = (gsize) bytes;

  gsize available = length - info->data_offset;
  if (available < info->data_size)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_INVALID,
                   _("“%s” is truncated: its shape needs %zu bytes of data but the file "
                     "holds %zu."),
                   name, (size_t) info->data_size, (size_t) available);
      return FALSE;
    }
  if (available > info->data_size)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_INVALID,
                   _("“%s” does not match its shape: %zu bytes follow the data it "
                     "describes."),
                   name, (size_t) (available - info->data_size));
      return FALSE;
    }
  return TRUE;
}

float *
pt_npy_parse_f32 (const guint8 *contents,
                  gsize         length,
                  const char   *name,
                  guint64      *n_rows,
                  guint64      *n_cols,
                  GError      **error)
{
  PtNpyInfo info;

  g_return_val_if_fail (n_rows != NULL && n_cols != NULL, NULL);

  if (!pt_npy_parse_header (contents, length, name, &info, error))
    return NULL;
  if (info.dtype != PT_NPY_F4 && info.dtype != PT_NPY_F8)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                   _("“%s” holds integers; embeddings must be float32 or float64."), name);
      return NULL;
    }
  if (info.ndim != 2)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                   _("“%s” holds a vector; embeddings must be an N x D matrix."), name);
      return NULL;
    }

  gsize count = info.data_size / info.item_size;
  float *out = g_new (float, MAX (count, 1));
  const guint8 *src = contents + info.data_offset;

  if (info.dtype == PT_NPY_F4)
    memcpy (out, src, info.data_size);
  else
    for (gsize i = 0; i < count; i++)
      {
        double v;
        memcpy (&v, src + i * 8, 8);
        out[i] = (float) v;
      }
  *n_rows = info.shape[0];
  *n_cols = info.shape[1];
  return out;
}

gint64 *
pt_npy_parse_i64 (const guint8 *contents,
                  gsize         length,
                  const char   *name,
                  guint64      *n,
                  GError      **error)
{
  PtNpyInfo info;

  g_return_val_if_fail (n != NULL, NULL);

  if (!pt_npy_parse_header (contents, length, name, &info, error))
    return NULL;
  if (info.dtype != PT_NPY_I8 && info.dtype != PT_NPY_I4 && info.dtype != PT_NPY_U1)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                   _("“%s” holds floating-point numbers; labels must be integers "
                     "(int64, int32 or uint8)."), name);
      return NULL;
    }
  if (info.ndim == 2 && info.shape[1] != 1)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED,
                   _("“%s” holds a matrix with %llu columns; labels must be a vector."),
                   name, (unsigned long long) info.shape[1]);
      return NULL;
    }

  gsize count = info.data_size / info.item_size;
  gint64 *out = g_new (gint64, MAX (count, 1));
  const guint8 *src = contents + info.data_offset;

  for (gsize i = 0; i < count; i++)
    {
      switch (info.dtype)
        {
        case PT_NPY_I8:
          memcpy (&out[i], src + i * 8, 8);
          break;
        case PT_NPY_I4:
          {
            gint32 v;
            memcpy (&v, src + i * 4, 4);
            out[i] = v;
          }
          break;
        case PT_NPY_U1:
          out[i] = src[i];
          break;
        case PT_NPY_F4:
        case PT_NPY_F8:
        default:
          g_assert_not_reached ();
        }
    }
  *n = info.shape[0];
  return out;
}

static GMappedFile *
map_file (const char *path,
          GError    **error)
{
  g_autoptr(GError) local = NULL;
  GMappedFile *mapped = g_mapped_file_new (path, FALSE, &local);

  if (mapped == NULL)
    {
      g_set_error (error, PT_NPY_ERROR, PT_NPY_ERROR_INVALID,
                   _("Could not read “%s”: %s"), path, local->message);
      return NULL;
    }
  return mapped;
}

float *
pt_npy_load_f32 (const char *path,
                 guint64    *n_rows,
                 guint64    *n_cols,
                 GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GMappedFile) mapped = map_file (path, error);
  if (mapped == NULL)
    return NULL;
  return pt_npy_parse_f32 ((const guint8 *) g_mapped_file_get_contents (mapped),
                           g_mapped_file_get_length (mapped), path, n_rows, n_cols, error);
}

gint64 *
pt_npy_load_i64 (const char *path,
                 guint64    *n,
                 GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GMappedFile) mapped = map_file (path, error);
  if (mapped == NULL)
    return NULL;
  return pt_npy_parse_i64 ((const guint8 *) g_mapped_file_get_contents (mapped),
                           g_mapped_file_get_length (mapped), path, n, error);
}
