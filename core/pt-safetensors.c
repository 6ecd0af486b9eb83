/* pt-safetensors.c: named tensors in the safetensors format. */
#include "pt-safetensors.h"
#include "pt-atomic.h"

#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include <glib/gi18n.h>

#if G_BYTE_ORDER != G_LITTLE_ENDIAN
#error "pt-safetensors assumes a little-endian host"
#endif

/* Our own structure needs depth 3; anything deeper is refused before
 * json-glib's recursive parser sees it. */
#define MAX_JSON_DEPTH 16

G_DEFINE_QUARK (pt-safetensors-error-quark, pt_safetensors_error)

static const struct {
  const char        *name;
  PtSafetensorsDtype dtype;
  gsize              size;
} dtypes[] = {
  { "F32",  PT_SAFETENSORS_F32,  4 },
  { "F16",  PT_SAFETENSORS_F16,  2 },
  { "BF16", PT_SAFETENSORS_BF16, 2 },
  { "F64",  PT_SAFETENSORS_F64,  8 },
  { "I64",  PT_SAFETENSORS_I64,  8 },
};

/* ---- Writer ---------------------------------------------------------- */

typedef struct {
  char        *name;
  const void  *data;
  gboolean     is_i64;
  guint64      shape[PT_SAFETENSORS_MAX_DIMS];
  guint        ndim;
  guint64      n_bytes;
} WriterTensor;

struct _PtSafetensorsWriter {
  GArray    *tensors;        /* WriterTensor */
  GPtrArray *meta_keys;
  GPtrArray *meta_values;
};

static void
writer_tensor_clear (gpointer p)
{
  WriterTensor *t = p;
  g_free (t->name);
}

PtSafetensorsWriter *
pt_safetensors_writer_new (void)
{
  PtSafetensorsWriter *w = g_new0 (PtSafetensorsWriter, 1);

  w->tensors = g_array_new (FALSE, TRUE, sizeof (WriterTensor));
  g_array_set_clear_func (w->tensors, writer_tensor_clear);
  w->meta_keys = g_ptr_array_new_with_free_func (g_free);
  w->meta_values = g_ptr_array_new_with_free_func (g_free);
  return w;
}

void
pt_safetensors_writer_free (PtSafetensorsWriter *writer)
{
  if (writer == NULL)
    return;
  g_array_unref (writer->tensors);
  g_ptr_array_unref (writer->meta_keys);
  g_ptr_array_unref (writer->meta_values);
  g_free (writer);
}

static void
writer_add (PtSafetensorsWriter *writer,
            const char          *name,
            const void          *data,
            gboolean             is_i64,
            const guint64       *shape,
            guint                ndim)
{
  WriterTensor t = { 0 };
  guint64 count = 1;

  g_return_if_fail (writer != NULL);
  g_return_if_fail (name != NULL && *name != '\0' && g_utf8_validate (name, -1, NULL));
  g_return_if_fail (strcmp (name, "__metadata__") != 0);
  g_return_if_fail (ndim <= PT_SAFETENSORS_MAX_DIMS);
  g_return_if_fail (shape != NULL || ndim == 0);

  for (guint i = 0; i < writer->tensors->len; i++)
    g_return_if_fail (strcmp (g_array_index (writer->tensors, WriterTensor, i).name, name) != 0);

  for (guint i = 0; i < ndim; i++)
    {
      gboolean ok = g_uint64_checked_mul (&count, count, shape[i]);
      g_return_if_fail (ok);
      t.shape[i] = shape[i];
    }
  g_return_if_fail (data != NULL || count == 0);
  g_return_if_fail (g_uint64_checked_mul (&t.n_bytes, count, is_i64 ? 8 : 4));

  t.name = g_strdup (name);
  t.data = data;
  t.is_i64 = is_i64;
  t.ndim = ndim;
  g_array_append_val (writer->tensors, t);
}

void
pt_safetensors_writer_add_f32 (PtSafetensorsWriter *writer,
                               const char          *name,
                               const float         *data,
                               const guint64       *shape,
                               guint                ndim)
{
  writer_add (writer, name, data, FALSE, shape, ndim);
}

void
pt_safetensors_writer_add_i64 (PtSafetensorsWriter *writer,
                               const char          *name,
                               const gint64        *data,
                               const guint64       *shape,
                               guint                ndim)
{
  writer_add (writer, name, data, TRUE, shape, ndim);
}

void
pt_safetensors_writer_set_metadata (PtSafetensorsWriter *writer,
                                    const char          *key,
                                    const char          *value)
{
  g_return_if_fail (writer != NULL);
  g_return_if_fail (key != NULL && g_utf8_validate (key, -1, NULL));
  g_return_if_fail (value != NULL && g_utf8_validate (value, -1, NULL));

  for (guint i = 0; i < writer->meta_keys->len; i++)
    if (strcmp (g_ptr_array_index (writer->meta_keys, i), key) == 0)
      {
        g_free (writer->meta_values->pdata[i]);
        writer->meta_values->pdata[i] = g_strdup (value);
        return;
      }
  g_ptr_array_add (writer->meta_keys, g_strdup (key));
  g_ptr_array_add (writer->meta_values, g_strdup (value));
}

static void
append_json_string (GString    *out,
                    const char *s)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) s; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

GBytes *
pt_safetensors_writer_build_header (PtSafetensorsWriter *writer)
{
  g_return_val_if_fail (writer != NULL, NULL);

  g_autoptr(GString) json = g_string_new ("{");
  gboolean first = TRUE;

  if (writer->meta_keys->len > 0)
    {
      g_string_append (json, "\"__metadata__\":{");
      for (guint i = 0; i < writer->meta_keys->len; i++)
        {
          if (i > 0)
            g_string_append_c (json, ',');
          append_json_string (json, g_ptr_array_index (writer->meta_keys, i));
          g_string_append_c (json, ':');
          append_json_string (json, g_ptr_array_index (writer->meta_values, i));
        }
      g_string_append_c (json, '}');
      first = FALSE;
    }

  guint64 offset = 0;
  for (guint i = 0; i < writer->tensors->len; i++)
    {
      WriterTensor *t = &g_array_index (writer->tensors, WriterTensor, i);

      if (!first)
        g_string_append_c (json, ',');
      first = FALSE;
      append_json_string (json, t->name);
      g_string_append_printf (json, ":{\"dtype\":\"%s\",\"shape\":[", t->is_i64 ? "I64" : "F32");
      for (guint d = 0; d < t->ndim; d++)
        g_string_append_printf (json, "%s%" G_GUINT64_FORMAT, d > 0 ? "," : "", t->shape[d]);
      g_string_append_printf (json, "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                              offset, offset + t->n_bytes);
      offset += t->n_bytes;
    }
  g_string_append_c (json, '}');

  while (json->len % 8 != 0)
    g_string_append_c (json, ' ');

  guint64 n = json->len;
  guint8 prefix[8];
  for (guint i = 0; i < 8; i++)
    prefix[i] = (guint8) (n >> (8 * i));

  GByteArray *out = g_byte_array_sized_new (8 + json->len);
  g_byte_array_append (out, prefix, 8);
  g_byte_array_append (out, (const guint8 *) json->str, json->len);
  return g_byte_array_free_to_bytes (out);
}

gboolean
pt_safetensors_writer_save (PtSafetensorsWriter *writer,
                            const char          *path,
                            GError             **error)
{
  g_return_val_if_fail (writer != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  g_autoptr(GBytes) header = pt_safetensors_writer_build_header (writer);
  g_autoptr(PtAtomicFile) file = pt_atomic_file_new (path, error);
  gsize header_len;
  const void *header_data = g_bytes_get_data (header, &header_len);

  if (file == NULL)
    return FALSE;
  if (!pt_atomic_file_write (file, header_data, header_len, error))
    return FALSE;
  for (guint i = 0; i < writer->tensors->len; i++)
    {
      WriterTensor *t = &g_array_index (writer->tensors, WriterTensor, i);

      if (t->n_bytes > G_MAXSIZE)
        g_return_val_if_reached (FALSE);
      if (!pt_atomic_file_write (file, t->data, (gsize) t->n_bytes, error))
        return FALSE;
    }
  return pt_atomic_file_commit (file, error);
}

/* ---- Reader ---------------------------------------------------------- */

typedef struct {
  char              *name;
  PtSafetensorsDtype dtype;
  gsize              item_size;
  guint              ndim;
  guint64            shape[PT_SAFETENSORS_MAX_DIMS];
  guint64            n_elements;
  guint64            begin;
  guint64            end;
} Tensor;

struct _PtSafetensors {
  char       *name;
  GBytes     *bytes;
  const guint8 *data;      /* start of the data area */
  gsize       data_len;
  GArray     *tensors;     /* Tensor, sorted by offset */
  GHashTable *index;       /* name -> index + 1 */
  GHashTable *metadata;    /* key -> value */
};

static void
tensor_clear (gpointer p)
{
  Tensor *t = p;
  g_free (t->name);
}

void
pt_safetensors_free (PtSafetensors *st)
{
  if (st == NULL)
    return;
  g_free (st->name);
  g_clear_pointer (&st->bytes, g_bytes_unref);
  g_clear_pointer (&st->tensors, g_array_unref);
  g_clear_pointer (&st->index, g_hash_table_unref);
  g_clear_pointer (&st->metadata, g_hash_table_unref);
  g_free (st);
}

static gboolean G_GNUC_PRINTF (3, 4)
invalid (GError    **error,
         const char *name,
         const char *format,
         ...)
{
  va_list args;
  g_autofree char *problem = NULL;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_INVALID,
               _("“%s” is not a valid safetensors file: %s."), name, problem);
  return FALSE;
}

/* Depth of brackets outside strings; -1 when unbalanced at some point. */
static int
json_max_depth (const char *s,
                gsize       len)
{
  int depth = 0, max_depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char ch = s[i];

      if (in_string)
        {
          if (ch == '\\')
            i++;
          else if (ch == '"')
            in_string = FALSE;
          continue;
        }
      if (ch == '"')
        in_string = TRUE;
      else if (ch == '{' || ch == '[')
        {
          depth++;
          max_depth = MAX (max_depth, depth);
        }
      else if (ch == '}' || ch == ']')
        {
          if (--depth < 0)
            return -1;
        }
    }
  return max_depth;
}

/* A JSON integer in [0, 2^63). json-glib turns out-of-range integers into
 * negative ones, which this refuses too. */
static gboolean
get_uint (JsonNode *node,
          guint64  *out)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int (node);
  if (v < 0)
    return FALSE;
  *out = (guint64) v;
  return TRUE;
}

static gboolean
parse_tensor (PtSafetensors *st,
              const char    *tname,
              JsonNode      *node,
              Tensor        *t,
              GError       **error)
{
  const char *name = st->name;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (error, name, _("the entry of tensor “%s” is not an object"), tname);

  JsonObject *obj = json_node_get_object (node);
  g_autoptr(GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    if (strcmp (l->data, "dtype") != 0 && strcmp (l->data, "shape") != 0 &&
        strcmp (l->data, "data_offsets") != 0)
      return invalid (error, name, _("tensor “%s” has an unknown field “%s”"),
                      tname, (const char *) l->data);

  JsonNode *dtype_node = json_object_get_member (obj, "dtype");
  JsonNode *shape_node = json_object_get_member (obj, "shape");
  JsonNode *offsets_node = json_object_get_member (obj, "data_offsets");
  if (dtype_node == NULL || shape_node == NULL || offsets_node == NULL)
    return invalid (error, name, _("tensor “%s” lacks one of dtype, shape and data_offsets"), tname);

  if (!JSON_NODE_HOLDS_VALUE (dtype_node) || json_node_get_value_type (dtype_node) != G_TYPE_STRING)
    return invalid (error, name, _("the dtype of tensor “%s” is not a string"), tname);
  const char *dtype = json_node_get_string (dtype_node);
  gboolean known = FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (dtypes); i++)
    if (strcmp (dtype, dtypes[i].name) == 0)
      {
        t->dtype = dtypes[i].dtype;
        t->item_size = dtypes[i].size;
        known = TRUE;
      }
  if (!known)
    {
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_UNSUPPORTED,
                   _("“%s”: tensor “%s” has the data type “%s”; Pretext reads F32, F16, "
                     "BF16, F64 and I64."), name, tname, dtype);
      return FALSE;
    }

  if (!JSON_NODE_HOLDS_ARRAY (shape_node))
    return invalid (error, name, _("the shape of tensor “%s” is not a list"), tname);
  JsonArray *shape = json_node_get_array (shape_node);
  guint ndim = json_array_get_length (shape);
  if (ndim > PT_SAFETENSORS_MAX_DIMS)
    return invalid (error, name, _("tensor “%s” has %u dimensions, more than %d"),
                    tname, ndim, PT_SAFETENSORS_MAX_DIMS);
  t->ndim = ndim;
  t->n_elements = 1;
  gboolean overflow = FALSE;
  for (guint i = 0; i < ndim; i++)
    {
      if (!get_uint (json_array_get_element (shape, i), &t->shape[i]))
        return invalid (error, name, _("the shape of tensor “%s” holds something other than "
                                       "non-negative integers"), tname);
      if (!g_uint64_checked_mul (&t->n_elements, t->n_elements, t->shape[i]))
        overflow = TRUE;
    }
  guint64 n_bytes = 0;
  if (overflow || !g_uint64_checked_mul (&n_bytes, t->n_elements, t->item_size))
    return invalid (error, name, _("the shape of tensor “%s” describes more bytes than "
                                   "a 64-bit size can count"), tname);

  if (!JSON_NODE_HOLDS_ARRAY (offsets_node) ||
      json_array_get_length (json_node_get_array (offsets_node)) != 2 ||
      !get_uint (json_array_get_element (json_node_get_array (offsets_node), 0), &t->begin) ||
      !get_uint (json_array_get_element (json_node_get_array (offsets_node), 1), &t->end))
    return invalid (error, name, _("the data_offsets of tensor “%s” are not two "
                                   "non-negative integers"), tname);
  if (t->end < t->begin)
    return invalid (error, name, _("tensor “%s” ends before it begins"), tname);
  if (t->end - t->begin != n_bytes)
    return invalid (error, name, _("tensor “%s” has a shape of %llu bytes but its offsets "
                                   "span %llu"),
                    tname, (unsigned long long) n_bytes,
                    (unsigned long long) (t->end - t->begin));
  t->name = g_strdup (tname);
  return TRUE;
}

static int
compare_tensors (gconstpointer a,
                 gconstpointer b)
{
  const Tensor *ta = a, *tb = b;

  if (ta->begin != tb->begin)
    return ta->begin < tb->begin ? -1 : 1;
  if (ta->end != tb->end)
    return ta->end < tb->end ? -1 : 1;
  return 0;
}

PtSafetensors *
pt_safetensors_new_from_bytes (GBytes     *bytes,
                               const char *name,
                               GError    **error)
{
  g_return_val_if_fail (bytes != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  gsize length;
  const guint8 *contents = g_bytes_get_data (bytes, &length);

  if (length < 8)
    {
      invalid (error, name, _("it is too short to hold a header length"));
      return NULL;
    }

  guint64 header_len = 0;
  for (guint i = 0; i < 8; i++)
    header_len |= (guint64) contents[i] << (8 * i);

  if (header_len > PT_SAFETENSORS_MAX_HEADER)
    {
      invalid (error, name, _("its header length %llu is over the limit of "
                              "100,000,000 bytes"), (unsigned long long) header_len);
      return NULL;
    }
  if (header_len > length - 8)
    {
      invalid (error, name, _("its header length %llu points past the end of the file "
                              "(%zu bytes)"), (unsigned long long) header_len, (size_t) length);
      return NULL;
    }

  const char *header = (const char *) contents + 8;
  gsize hlen = (gsize) header_len;
  if (hlen == 0 || header[0] != '{')
    {
      invalid (error, name, _("its header does not start with “{”"));
      return NULL;
    }
  if (!g_utf8_validate (header, (gssize) hlen, NULL))
    {
      invalid (error, name, _("its header is not UTF-8 text"));
      return NULL;
    }
  int depth = json_max_depth (header, hlen);
  if (depth < 0 || depth > MAX_JSON_DEPTH)
    {
      invalid (error, name, _("its header is not a JSON object of the expected shape"));
      return NULL;
    }

  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) json_error = NULL;
  if (!json_parser_load_from_data (parser, header, (gssize) hlen, &json_error))
    {
      invalid (error, name, _("its header is not valid JSON (%s)"), json_error->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      invalid (error, name, _("its header is not a JSON object"));
      return NULL;
    }

  g_autoptr(PtSafetensors) st = g_new0 (PtSafetensors, 1);
  st->name = g_strdup (name);
  st->tensors = g_array_new (FALSE, TRUE, sizeof (Tensor));
  g_array_set_clear_func (st->tensors, tensor_clear);
  st->index = g_hash_table_new (g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  st->data = contents + 8 + hlen;
  st->data_len = length - 8 - hlen;

  JsonObject *obj = json_node_get_object (root);
  g_autoptr(GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *key = l->data;
      JsonNode *node = json_object_get_member (obj, key);

      if (strcmp (key, "__metadata__") == 0)
        {
          if (!JSON_NODE_HOLDS_OBJECT (node))
            {
              invalid (error, name, _("its __metadata__ is not an object"));
              return NULL;
            }
          JsonObject *meta = json_node_get_object (node);
          g_autoptr(GList) mkeys = json_object_get_members (meta);
          for (GList *m = mkeys; m != NULL; m = m->next)
            {
              JsonNode *v = json_object_get_member (meta, m->data);

              if (!JSON_NODE_HOLDS_VALUE (v) || json_node_get_value_type (v) != G_TYPE_STRING)
                {
                  invalid (error, name, _("the __metadata__ value of “%s” is not a string"),
                           (const char *) m->data);
                  return NULL;
                }
              g_hash_table_replace (st->metadata, g_strdup (m->data),
                                    g_strdup (json_node_get_string (v)));
            }
          continue;
        }

      Tensor t = { 0 };
      if (!parse_tensor (st, key, node, &t, error))
        return NULL;
      g_array_append_val (st->tensors, t);
    }

  /* Offsets: sorted, they must tile [0, data_len) exactly. */
  g_array_sort (st->tensors, compare_tensors);
  guint64 expected = 0;
  for (guint i = 0; i < st->tensors->len; i++)
    {
      Tensor *t = &g_array_index (st->tensors, Tensor, i);

      if (t->begin < expected)
        {
          invalid (error, name, _("tensor “%s” overlaps the one before it"), t->name);
          return NULL;
        }
      if (t->begin > expected)
        {
          invalid (error, name, _("there is a gap of %llu bytes before tensor “%s”"),
                   (unsigned long long) (t->begin - expected), t->name);
          return NULL;
        }
      if (t->end > st->data_len)
        {
          invalid (error, name, _("tensor “%s” ends past the end of the file"), t->name);
          return NULL;
        }
      expected = t->end;
    }
  if (expected != st->data_len)
    {
      invalid (error, name, _("%llu bytes follow the last tensor"),
               (unsigned long long) (st->data_len - expected));
      return NULL;
    }

  for (guint i = 0; i < st->tensors->len; i++)
    {
      Tensor *t = &g_array_index (st->tensors, Tensor, i);
      g_hash_table_insert (st->index, t->name, GUINT_TO_POINTER (i + 1));
    }

  st->bytes = g_bytes_ref (bytes);
  return g_steal_pointer (&st);
}

PtSafetensors *
pt_safetensors_load (const char *path,
                     GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(GError) local = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (path, FALSE, &local);
  if (mapped == NULL)
    {
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_INVALID,
                   _("Could not read “%s”: %s"), path, local->message);
      return NULL;
    }
  g_autoptr(GBytes) bytes = g_mapped_file_get_bytes (mapped);
  return pt_safetensors_new_from_bytes (bytes, path, error);
}

guint
pt_safetensors_get_n_tensors (PtSafetensors *st)
{
  g_return_val_if_fail (st != NULL, 0);
  return st->tensors->len;
}

static Tensor *
get_tensor (PtSafetensors *st,
            guint          index)
{
  g_assert (index < st->tensors->len);
  return &g_array_index (st->tensors, Tensor, index);
}

const char *
pt_safetensors_get_name (PtSafetensors *st,
                         guint          index)
{
  g_return_val_if_fail (st != NULL && index < st->tensors->len, NULL);
  return get_tensor (st, index)->name;
}

int
pt_safetensors_lookup (PtSafetensors *st,
                       const char    *name)
{
  g_return_val_if_fail (st != NULL && name != NULL, -1);
  return (int) GPOINTER_TO_UINT (g_hash_table_lookup (st->index, name)) - 1;
}

PtSafetensorsDtype
pt_safetensors_get_dtype (PtSafetensors *st,
                          guint          index)
{
  g_return_val_if_fail (st != NULL && index < st->tensors->len, PT_SAFETENSORS_F32);
  return get_tensor (st, index)->dtype;
}

const guint64 *
pt_safetensors_get_shape (PtSafetensors *st,
                          guint          index,
                          guint         *ndim)
{
  g_return_val_if_fail (st != NULL && index < st->tensors->len, NULL);
  Tensor *t = get_tensor (st, index);
  if (ndim != NULL)
    *ndim = t->ndim;
  return t->shape;
}

guint64
pt_safetensors_get_n_elements (PtSafetensors *st,
                               guint          index)
{
  g_return_val_if_fail (st != NULL && index < st->tensors->len, 0);
  return get_tensor (st, index)->n_elements;
}

const guint8 *
pt_safetensors_get_data (PtSafetensors *st,
                         guint          index,
                         gsize         *size)
{
  g_return_val_if_fail (st != NULL && index < st->tensors->len, NULL);
  Tensor *t = get_tensor (st, index);
  if (size != NULL)
    *size = (gsize) (t->end - t->begin);
  return st->data + t->begin;
}

float
pt_half_to_float (guint16 h)
{
  guint32 sign = (guint32) (h >> 15) & 1;
  guint32 exp = (h >> 10) & 0x1f;
  guint32 mant = h & 0x3ff;
  float v;

  if (exp == 0)
    v = ldexpf ((float) mant, -24);                    /* zero and subnormals */
  else if (exp == 31)
    v = mant == 0 ? INFINITY : NAN;
  else
    v = ldexpf ((float) (mant | 0x400), (int) exp - 25);
  return sign ? -v : v;
}

float
pt_bfloat16_to_float (guint16 b)
{
  guint32 bits = (guint32) b << 16;
  float v;

  memcpy (&v, &bits, 4);
  return v;
}

static Tensor *
find_tensor (PtSafetensors *st,
             const char    *name,
             guint64        n_elements,
             GError       **error)
{
  int index = pt_safetensors_lookup (st, name);

  if (index < 0)
    {
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_NOT_FOUND,
                   _("“%s” has no tensor called “%s”."), st->name, name);
      return NULL;
    }
  Tensor *t = get_tensor (st, (guint) index);
  if (t->n_elements != n_elements)
    {
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                   _("“%s”: tensor “%s” has %llu elements where %llu are expected."),
                   st->name, name, (unsigned long long) t->n_elements,
                   (unsigned long long) n_elements);
      return NULL;
    }
  return t;
}

gboolean
pt_safetensors_read_f32 (PtSafetensors *st,
                         const char    *name,
                         float         *out,
                         guint64        n_elements,
                         GError       **error)
{
  g_return_val_if_fail (st != NULL && name != NULL, FALSE);
  g_return_val_if_fail (out != NULL || n_elements == 0, FALSE);

  Tensor *t = find_tensor (st, name, n_elements, error);
  if (t == NULL)
    return FALSE;

  const guint8 *src = st->data + t->begin;
  gsize n = (gsize) n_elements;
  switch (t->dtype)
    {
    case PT_SAFETENSORS_F32:
      if (n > 0)
        memcpy (out, src, n * 4);
      break;
    case PT_SAFETENSORS_F64:
      for (gsize i = 0; i < n; i++)
        {
          double v;
          memcpy (&v, src + 8 * i, 8);
          out[i] = (float) v;
        }
      break;
    case PT_SAFETENSORS_F16:
    case PT_SAFETENSORS_BF16:
      for (gsize i = 0; i < n; i++)
        {
          guint16 h = (guint16) (src[2 * i] | (src[2 * i + 1] << 8));
          out[i] = t->dtype == PT_SAFETENSORS_F16 ? pt_half_to_float (h) : pt_bfloat16_to_float (h);
        }
      break;
    case PT_SAFETENSORS_I64:
    default:
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                   _("“%s”: tensor “%s” holds integers where floating-point weights "
                     "are expected."), st->name, name);
      return FALSE;
    }
  return TRUE;
}

gboolean
pt_safetensors_read_i64 (PtSafetensors *st,
                         const char    *name,
                         gint64        *out,
                         guint64        n_elements,
                         GError       **error)
{
  g_return_val_if_fail (st != NULL && name != NULL, FALSE);
  g_return_val_if_fail (out != NULL || n_elements == 0, FALSE);

  Tensor *t = find_tensor (st, name, n_elements, error);
  if (t == NULL)
    return FALSE;
  if (t->dtype != PT_SAFETENSORS_I64)
    {
      g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                   _("“%s”: tensor “%s” holds floating-point numbers where integers "
                     "are expected."), st->name, name);
      return FALSE;
    }
  if (n_elements > 0)
    memcpy (out, st->data + t->begin, (gsize) n_elements * 8);
  return TRUE;
}

static char *
format_shape (const guint64 *shape,
              guint          ndim)
{
  GString *out = g_string_new ("[");
  for (guint i = 0; i < ndim; i++)
    g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, i > 0 ? ", " : "", shape[i]);
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}

gboolean
pt_safetensors_read_named (PtSafetensors       *st,
                           const PtNamedTensor *tensors,
                           guint                n_tensors,
                           gboolean             allow_extra,
                           GError             **error)
{
  g_return_val_if_fail (st != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL || n_tensors == 0, FALSE);

  g_autofree gboolean *used = g_new0 (gboolean, MAX (st->tensors->len, 1));

  for (guint i = 0; i < n_tensors; i++)
    {
      const PtNamedTensor *want = &tensors[i];
      int index = pt_safetensors_lookup (st, want->name);

      if (index < 0)
        {
          g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_NOT_FOUND,
                       _("“%s” has no tensor called “%s”; it was not made for this model."),
                       st->name, want->name);
          return FALSE;
        }
      Tensor *t = get_tensor (st, (guint) index);
      gboolean same = t->ndim == want->ndim;
      for (guint d = 0; same && d < t->ndim; d++)
        same = t->shape[d] == want->shape[d];
      if (!same)
        {
          g_autofree char *have = format_shape (t->shape, t->ndim);
          g_autofree char *need = format_shape (want->shape, want->ndim);
          g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                       _("“%s”: tensor “%s” has the shape %s where this model needs %s."),
                       st->name, want->name, have, need);
          return FALSE;
        }
      if (t->dtype == PT_SAFETENSORS_I64)
        {
          g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                       _("“%s”: tensor “%s” holds integers where floating-point weights "
                         "are expected."), st->name, want->name);
          return FALSE;
        }
      g_return_val_if_fail (want->data != NULL || t->n_elements == 0, FALSE);
      used[index] = TRUE;
    }

  if (!allow_extra)
    for (guint i = 0; i < st->tensors->len; i++)
      {
        Tensor *t = get_tensor (st, i);
        if (!used[i] && t->dtype != PT_SAFETENSORS_I64)
          {
            g_set_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH,
                         _("“%s” holds a tensor “%s” that this model does not have; "
                           "it was made for a different model."), st->name, t->name);
            return FALSE;
          }
      }

  for (guint i = 0; i < n_tensors; i++)
    {
      int index = pt_safetensors_lookup (st, tensors[i].name);
      gboolean ok = pt_safetensors_read_f32 (st, tensors[i].name, tensors[i].data,
                                             get_tensor (st, (guint) index)->n_elements, NULL);
      g_assert (ok);
    }
  return TRUE;
}

const char *
pt_safetensors_get_metadata (PtSafetensors *st,
                             const char    *key)
{
  g_return_val_if_fail (st != NULL && key != NULL, NULL);
  return g_hash_table_lookup (st->metadata, key);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

const char **
pt_safetensors_list_metadata (PtSafetensors *st)
{
  g_return_val_if_fail (st != NULL, NULL);

  const char **keys = (const char **) g_hash_table_get_keys_as_array (st->metadata, NULL);
  g_qsort_with_data (keys, (gint) g_hash_table_size (st->metadata), sizeof (char *),
                     compare_strings, NULL);
  return keys;
}
