/* pt-embedding-set.c: embeddings made elsewhere, brought into Pretext. */
#include "pt-embedding-set.h"
#include "pt-npy.h"

#include <string.h>
#include <glib/gi18n.h>

G_DEFINE_QUARK (pt-embedding-set-error-quark, pt_embedding_set_error)

void
pt_labels_free (PtLabels *labels)
{
  if (labels == NULL)
    return;
  g_free (labels->values);
  g_strfreev (labels->class_names);
  g_free (labels);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b,
                 gpointer      user_data)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

static gboolean
is_integer (const char *s)
{
  if (*s == '-')
    s++;
  if (*s == '\0')
    return FALSE;
  for (; *s != '\0'; s++)
    if (!g_ascii_isdigit (*s))
      return FALSE;
  return TRUE;
}

static gboolean
label_in_range (gint64      v,
                const char *name,
                gsize       index,
                GError    **error)
{
  if (v < -1 || v > PT_LABELS_MAX_CLASS)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s”: the label at index %zu is %lld; labels must be class numbers "
                     "from 0 to %d, or -1 for unlabeled."),
                   name, (size_t) index, (long long) v, PT_LABELS_MAX_CLASS);
      return FALSE;
    }
  return TRUE;
}

PtLabels *
pt_labels_parse_text (const char *text,
                      gsize       length,
                      const char *name,
                      GError    **error)
{
  g_return_val_if_fail (text != NULL || length == 0, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (length > 0 && (memchr (text, '\0', length) != NULL ||
                     !g_utf8_validate (text, (gssize) length, NULL)))
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s” is not a text file of labels (it holds binary data)."), name);
      return NULL;
    }

  g_autofree char *copy = g_strndup (text, length);
  g_auto(GStrv) lines = g_strsplit (copy, "\n", -1);
  guint n_lines = g_strv_length (lines);

  /* A final line break does not start another label. */
  if (n_lines > 0 && lines[n_lines - 1][0] == '\0')
    n_lines--;

  gboolean numeric = TRUE;
  for (guint i = 0; i < n_lines; i++)
    {
      g_strstrip (lines[i]);
      if (lines[i][0] == '\0')
        {
          g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                       _("“%s”: line %u is empty; give one label per line."), name, i + 1);
          return NULL;
        }
      if (!is_integer (lines[i]))
        numeric = FALSE;
    }

  g_autoptr(PtLabels) labels = g_new0 (PtLabels, 1);
  labels->n = n_lines;
  labels->values = g_new0 (int, MAX (n_lines, 1));

  if (numeric)
    {
      int max_label = -1;
      for (guint i = 0; i < n_lines; i++)
        {
          gint64 v = 0;
          if (!g_ascii_string_to_signed (lines[i], 10, -1, PT_LABELS_MAX_CLASS, &v, NULL))
            {
              g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                           _("“%s”: the label at line %u is %s; labels must be class numbers "
                             "from 0 to %d, or -1 for unlabeled."),
                           name, i + 1, lines[i], PT_LABELS_MAX_CLASS);
              return NULL;
            }
          labels->values[i] = (int) v;
          max_label = MAX (max_label, (int) v);
        }
      labels->n_classes = (guint) (max_label + 1);
      return g_steal_pointer (&labels);
    }

  /* Class names, numbered in sorted order. */
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < n_lines; i++)
    g_hash_table_add (seen, lines[i]);
  if (g_hash_table_size (seen) > PT_LABELS_MAX_CLASS + 1)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s” names %u different classes, more than %d."),
                   name, g_hash_table_size (seen), PT_LABELS_MAX_CLASS + 1);
      return NULL;
    }
  guint n_classes = 0;
  char **keys = (char **) g_hash_table_get_keys_as_array (seen, &n_classes);
  g_qsort_with_data (keys, (gint) n_classes, sizeof (char *), compare_strings, NULL);

  g_autoptr(GHashTable) index = g_hash_table_new (g_str_hash, g_str_equal);
  labels->class_names = g_new0 (char *, n_classes + 1);
  for (guint k = 0; k < n_classes; k++)
    {
      labels->class_names[k] = g_strdup (keys[k]);
      g_hash_table_insert (index, labels->class_names[k], GUINT_TO_POINTER (k));
    }
  g_free (keys);
  labels->n_classes = n_classes;
  for (guint i = 0; i < n_lines; i++)
    labels->values[i] = (int) GPOINTER_TO_UINT (g_hash_table_lookup (index, lines[i]));
  return g_steal_pointer (&labels);
}

static gboolean
has_npy_signature (const char *contents,
                   gsize       length)
{
  return length >= 6 && memcmp (contents, "\x93NUMPY", 6) == 0;
}

PtLabels *
pt_labels_load (const char *path,
                GError    **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autofree char *contents = NULL;
  gsize length = 0;
  g_autoptr(GError) local = NULL;

  if (!g_file_get_contents (path, &contents, &length, &local))
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_NOT_FOUND,
                   _("Could not read the labels “%s”: %s"), path, local->message);
      return NULL;
    }

  if (!has_npy_signature (contents, length))
    return pt_labels_parse_text (contents, length, path, error);

  guint64 n = 0;
  g_autofree gint64 *values = pt_npy_parse_i64 ((const guint8 *) contents, length, path, &n, error);
  if (values == NULL)
    return NULL;
  if (n > G_MAXINT)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s” holds more labels than Pretext can show."), path);
      return NULL;
    }

  g_autoptr(PtLabels) labels = g_new0 (PtLabels, 1);
  int max_label = -1;
  labels->n = (guint) n;
  labels->values = g_new0 (int, MAX (n, 1));
  for (guint64 i = 0; i < n; i++)
    {
      if (!label_in_range (values[i], path, (gsize) i, error))
        return NULL;
      labels->values[i] = (int) values[i];
      max_label = MAX (max_label, labels->values[i]);
    }
  labels->n_classes = (guint) (max_label + 1);
  return g_steal_pointer (&labels);
}

static gboolean
is_image_name (const char *name)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);

  if (name[0] == '.')
    return FALSE;
  return g_str_has_suffix (lower, ".png") || g_str_has_suffix (lower, ".jpg") ||
         g_str_has_suffix (lower, ".jpeg");
}

char **
pt_embedding_set_list_images (const char *dir,
                              GError    **error)
{
  g_return_val_if_fail (dir != NULL, NULL);

  g_autoptr(GError) local = NULL;
  g_autoptr(GDir) d = g_dir_open (dir, 0, &local);
  if (d == NULL)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_NOT_FOUND,
                   _("Could not open the image folder “%s”: %s"), dir, local->message);
      return NULL;
    }

  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *entry;
  while ((entry = g_dir_read_name (d)) != NULL)
    {
      if (!is_image_name (entry))
        continue;
      g_autofree char *path = g_build_filename (dir, entry, NULL);
      if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
        continue;
      g_ptr_array_add (names, g_strdup (entry));
    }
  g_ptr_array_sort_with_data (names, compare_strings, NULL);

  char **paths = g_new0 (char *, names->len + 1);
  for (guint i = 0; i < names->len; i++)
    paths[i] = g_build_filename (dir, g_ptr_array_index (names, i), NULL);
  return paths;
}

void
pt_embedding_set_free (PtEmbeddingSet *set)
{
  if (set == NULL)
    return;
  g_free (set->data);
  pt_labels_free (set->labels);
  g_strfreev (set->image_paths);
  g_free (set);
}

PtEmbeddingSet *
pt_embedding_set_load (const char *npy_path,
                       const char *labels_path,
                       const char *image_dir,
                       GError    **error)
{
  g_return_val_if_fail (npy_path != NULL, NULL);

  guint64 n = 0, d = 0;
  g_autofree float *data = pt_npy_load_f32 (npy_path, &n, &d, error);
  if (data == NULL)
    return NULL;

  if (n == 0 || d == 0)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s” holds no embeddings (its shape is %llu x %llu)."),
                   npy_path, (unsigned long long) n, (unsigned long long) d);
      return NULL;
    }
  if (n > G_MAXINT || d > G_MAXINT)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("“%s” holds more embeddings than Pretext can show."), npy_path);
      return NULL;
    }

  g_autoptr(PtEmbeddingSet) set = g_new0 (PtEmbeddingSet, 1);
  set->n = (guint) n;
  set->d = (guint) d;
  set->data = g_steal_pointer (&data);

  if (labels_path != NULL)
    {
      set->labels = pt_labels_load (labels_path, error);
      if (set->labels == NULL)
        return NULL;
      if (set->labels->n != set->n)
        {
          g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_MISMATCH,
                       _("“%s” holds %u labels but “%s” holds %u embeddings; "
                         "there must be one label per row."),
                       labels_path, set->labels->n, npy_path, set->n);
          return NULL;
        }
    }

  if (image_dir != NULL)
    {
      set->image_paths = pt_embedding_set_list_images (image_dir, error);
      if (set->image_paths == NULL)
        return NULL;
      guint n_images = g_strv_length (set->image_paths);
      if (n_images != set->n)
        {
          g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_MISMATCH,
                       _("The folder “%s” holds %u PNG or JPEG images but “%s” holds %u "
                         "embeddings; there must be one image per row, in file name order."),
                       image_dir, n_images, npy_path, set->n);
          return NULL;
        }
    }
  return g_steal_pointer (&set);
}

static void
load_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  char **paths = task_data;
  GError *error = NULL;
  PtEmbeddingSet *set = pt_embedding_set_load (paths[0],
                                               paths[1][0] != '\0' ? paths[1] : NULL,
                                               paths[2][0] != '\0' ? paths[2] : NULL,
                                               &error);

  if (set == NULL)
    g_task_return_error (task, error);
  else if (g_task_return_error_if_cancelled (task))
    pt_embedding_set_free (set);
  else
    g_task_return_pointer (task, set, (GDestroyNotify) pt_embedding_set_free);
}

void
pt_embedding_set_load_async (const char          *npy_path,
                             const char          *labels_path,
                             const char          *image_dir,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (npy_path != NULL);

  char **paths = g_new0 (char *, 4);
  paths[0] = g_strdup (npy_path);
  paths[1] = g_strdup (labels_path != NULL ? labels_path : "");
  paths[2] = g_strdup (image_dir != NULL ? image_dir : "");

  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pt_embedding_set_load_async);
  g_task_set_task_data (task, paths, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, load_thread);
}

PtEmbeddingSet *
pt_embedding_set_load_finish (GAsyncResult *result,
                              GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
