/* pt-projector.c: embeddings for TensorBoard's projector and for spreadsheets. */
#include "pt-projector.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#define DEFAULT_THUMB 32

G_DEFINE_QUARK (pt-projector-error-quark, pt_projector_error)

gboolean
pt_projector_sprite_layout (guint  n,
                            guint  wanted_thumb,
                            guint *grid,
                            guint *thumb)
{
  g_return_val_if_fail (grid != NULL && thumb != NULL, FALSE);

  if (wanted_thumb == 0)
    wanted_thumb = DEFAULT_THUMB;

  guint g = (guint) ceil (sqrt ((double) n));
  /* sqrt rounding: make g the smallest with g * g >= n. */
  while ((guint64) g * g < n)
    g++;
  while (g > 0 && (guint64) (g - 1) * (g - 1) >= n)
    g--;
  g = MAX (g, 1);

  guint t = MIN (wanted_thumb, PT_PROJECTOR_MAX_SPRITE / g);
  *grid = g;
  *thumb = t;
  return t >= 1;
}

/* Checks what every export needs. */
static gboolean
check_export (const PtProjectorExport *exp,
              GError                 **error)
{
  g_return_val_if_fail (exp != NULL, FALSE);
  g_return_val_if_fail (exp->embeddings != NULL || exp->n == 0 || exp->d == 0, FALSE);
  g_return_val_if_fail (exp->class_names == NULL || exp->labels != NULL, FALSE);

  if (exp->n == 0 || exp->d == 0)
    {
      g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID,
                   _("There are no embeddings to export (%u points of dimension %u)."),
                   exp->n, exp->d);
      return FALSE;
    }

  gsize total = (gsize) exp->n * exp->d;
  for (gsize i = 0; i < total; i++)
    if (!isfinite (exp->embeddings[i]))
      {
        g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID,
                     _("The embedding of point %zu holds a value that is not a finite "
                       "number; the run probably diverged."), (size_t) (i / exp->d));
        return FALSE;
      }

  if (exp->labels != NULL)
    for (guint i = 0; i < exp->n; i++)
      {
        int l = exp->labels[i];
        if (l < -1 || (exp->class_names != NULL && l >= (int) exp->n_classes))
          {
            g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_INVALID,
                         _("Point %u has the label %d, outside the %u classes."),
                         i, l, exp->n_classes);
            return FALSE;
          }
      }
  return TRUE;
}

static gboolean
check_cancelled (const PtProjectorExport *exp,
                 GError                 **error)
{
  return g_cancellable_set_error_if_cancelled (exp->cancellable, error);
}

static void
format_float (char  *buf,
              gsize  size,
              float  v)
{
  g_ascii_formatd (buf, (int) size, "%.9g", (double) v);
}

/* TSV has no quoting: tabs and line breaks become spaces. */
static char *
tsv_field (const char *s)
{
  char *out = g_strdup (s != NULL ? s : "");
  for (char *p = out; *p != '\0'; p++)
    if (*p == '\t' || *p == '\n' || *p == '\r')
      *p = ' ';
  return out;
}

static const char *
label_name (const PtProjectorExport *exp,
            guint                    i)
{
  int l = exp->labels[i];
  if (l < 0)
    return "";
  return exp->class_names[l];
}

static gboolean
write_tensors_tsv (const PtProjectorExport *exp,
                   PtAtomicFile            *file,
                   GError                 **error)
{
  g_autoptr(GString) line = g_string_sized_new (16 * exp->d + 1);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  for (guint i = 0; i < exp->n; i++)
    {
      const float *row = exp->embeddings + (gsize) i * exp->d;

      if (i % 256 == 0 && check_cancelled (exp, error))
        return FALSE;
      g_string_truncate (line, 0);
      for (guint j = 0; j < exp->d; j++)
        {
          if (j > 0)
            g_string_append_c (line, '\t');
          format_float (buf, sizeof buf, row[j]);
          g_string_append (line, buf);
        }
      g_string_append_c (line, '\n');
      if (!pt_atomic_file_write (file, line->str, line->len, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
write_metadata_tsv (const PtProjectorExport *exp,
                    PtAtomicFile            *file,
                    GError                 **error)
{
  gboolean with_names = exp->labels != NULL && exp->class_names != NULL;
  gboolean with_index = exp->labels != NULL;
  gboolean with_files = exp->filenames != NULL;
  guint n_columns = with_names + with_index + with_files;
  g_autoptr(GString) line = g_string_new (NULL);

  g_assert (n_columns >= 1);
  if (n_columns >= 2)
    {
      g_autoptr(GPtrArray) header = g_ptr_array_new ();
      if (with_names)
        g_ptr_array_add (header, (gpointer) "label");
      if (with_index)
        g_ptr_array_add (header, (gpointer) "label_index");
      if (with_files)
        g_ptr_array_add (header, (gpointer) "filename");
      g_ptr_array_add (header, NULL);
      g_autofree char *joined = g_strjoinv ("\t", (char **) header->pdata);
      g_string_append_printf (line, "%s\n", joined);
    }

  for (guint i = 0; i < exp->n; i++)
    {
      gboolean first = TRUE;

      if (with_names)
        {
          g_autofree char *f = tsv_field (label_name (exp, i));
          g_string_append (line, f);
          first = FALSE;
        }
      if (with_index)
        {
          if (!first)
            g_string_append_c (line, '\t');
          g_string_append_printf (line, "%d", exp->labels[i]);
          first = FALSE;
        }
      if (with_files)
        {
          g_autofree char *f = tsv_field (exp->filenames[i]);
          if (!first)
            g_string_append_c (line, '\t');
          g_string_append (line, f);
        }
      g_string_append_c (line, '\n');
      if (line->len > 64 * 1024)
        {
          if (!pt_atomic_file_write (file, line->str, line->len, error))
            return FALSE;
          g_string_truncate (line, 0);
        }
    }
  return pt_atomic_file_write (file, line->str, line->len, error);
}

GdkPixbuf *
pt_projector_build_sprite (const PtProjectorExport *exp,
                           guint                   *thumb_out,
                           GError                 **error)
{
  guint grid, thumb;

  g_return_val_if_fail (exp != NULL && exp->thumb_func != NULL, NULL);

  if (!pt_projector_sprite_layout (exp->n, exp->thumb_size, &grid, &thumb))
    {
      g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_IMAGE,
                   _("%u images do not fit in a %d x %d sprite."), exp->n,
                   PT_PROJECTOR_MAX_SPRITE, PT_PROJECTOR_MAX_SPRITE);
      return NULL;
    }

  int edge = (int) (grid * thumb);
  g_autoptr(GdkPixbuf) sprite = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, edge, edge);
  if (sprite == NULL)
    {
      g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_IMAGE,
                   _("Not enough memory for a %d x %d sprite."), edge, edge);
      return NULL;
    }
  gdk_pixbuf_fill (sprite, 0xffffffff);

  for (guint i = 0; i < exp->n; i++)
    {
      if (check_cancelled (exp, error))
        return NULL;

      g_autoptr(GdkPixbuf) image = exp->thumb_func (i, exp->thumb_data);
      if (image == NULL)
        continue;

      int x = (int) ((i % grid) * thumb), y = (int) ((i / grid) * thumb);
      int w = gdk_pixbuf_get_width (image), h = gdk_pixbuf_get_height (image);
      double sx = (double) thumb / w, sy = (double) thumb / h;

      if (gdk_pixbuf_get_has_alpha (image))
        gdk_pixbuf_composite (image, sprite, x, y, (int) thumb, (int) thumb,
                              x, y, sx, sy, GDK_INTERP_BILINEAR, 255);
      else
        gdk_pixbuf_scale (image, sprite, x, y, (int) thumb, (int) thumb,
                          x, y, sx, sy, GDK_INTERP_BILINEAR);
    }

  if (thumb_out != NULL)
    *thumb_out = thumb;
  return g_steal_pointer (&sprite);
}

static char *
pbtxt_string (const char *s)
{
  g_autofree char *escaped = g_strescape (s, NULL);
  return g_strdup_printf ("\"%s\"", escaped);
}

gboolean
pt_projector_add_to_set (const PtProjectorExport *exp,
                         PtAtomicSet             *set,
                         const char              *dir,
                         GError                 **error)
{
  g_return_val_if_fail (set != NULL && dir != NULL, FALSE);

  if (!check_export (exp, error))
    return FALSE;

  g_autofree char *tensors_path = g_build_filename (dir, "tensors.tsv", NULL);
  PtAtomicFile *file = pt_atomic_set_add (set, tensors_path, error);
  if (file == NULL || !write_tensors_tsv (exp, file, error))
    return FALSE;

  gboolean with_metadata = exp->labels != NULL || exp->filenames != NULL;
  if (with_metadata)
    {
      g_autofree char *metadata_path = g_build_filename (dir, "metadata.tsv", NULL);
      file = pt_atomic_set_add (set, metadata_path, error);
      if (file == NULL || !write_metadata_tsv (exp, file, error))
        return FALSE;
    }

  guint thumb = 0;
  if (exp->thumb_func != NULL)
    {
      g_autoptr(GdkPixbuf) sprite = pt_projector_build_sprite (exp, &thumb, error);
      g_autofree char *png = NULL;
      gsize png_len = 0;
      g_autoptr(GError) local = NULL;

      if (sprite == NULL)
        return FALSE;
      if (!gdk_pixbuf_save_to_buffer (sprite, &png, &png_len, "png", &local, NULL))
        {
          g_set_error (error, PT_PROJECTOR_ERROR, PT_PROJECTOR_ERROR_IMAGE,
                       _("Could not encode the sprite image: %s"), local->message);
          return FALSE;
        }
      g_autofree char *sprite_path = g_build_filename (dir, "sprite.png", NULL);
      if (!pt_atomic_set_add_contents (set, sprite_path, png, png_len, error))
        return FALSE;
    }

  g_autoptr(GString) config = g_string_new ("embeddings {\n");
  g_autofree char *tensor_name = pbtxt_string (exp->tensor_name != NULL ? exp->tensor_name
                                                                         : "embeddings");
  g_string_append_printf (config, "  tensor_name: %s\n", tensor_name);
  g_string_append (config, "  tensor_path: \"tensors.tsv\"\n");
  if (with_metadata)
    g_string_append (config, "  metadata_path: \"metadata.tsv\"\n");
  if (exp->thumb_func != NULL)
    g_string_append_printf (config,
                            "  sprite {\n"
                            "    image_path: \"sprite.png\"\n"
                            "    single_image_dim: %u\n"
                            "    single_image_dim: %u\n"
                            "  }\n", thumb, thumb);
  g_string_append (config, "}\n");

  g_autofree char *config_path = g_build_filename (dir, "projector_config.pbtxt", NULL);
  return pt_atomic_set_add_contents (set, config_path, config->str, config->len, error);
}

gboolean
pt_projector_save (const PtProjectorExport *exp,
                   const char              *dir,
                   GError                 **error)
{
  g_return_val_if_fail (dir != NULL, FALSE);

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved),
                   _("Could not create the folder “%s”: %s"), dir, g_strerror (saved));
      return FALSE;
    }

  g_autoptr(PtAtomicSet) set = pt_atomic_set_new ();
  if (!pt_projector_add_to_set (exp, set, dir, error))
    return FALSE;
  return pt_atomic_set_commit (set, error);
}

typedef struct {
  PtProjectorExport exp;
  char             *dir;
} SaveData;

static void
save_data_free (gpointer p)
{
  SaveData *data = p;
  g_free (data->dir);
  g_free (data);
}

static void
save_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  SaveData *data = task_data;
  GError *error = NULL;

  if (pt_projector_save (&data->exp, data->dir, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

void
pt_projector_save_async (const PtProjectorExport *exp,
                         const char              *dir,
                         GAsyncReadyCallback      callback,
                         gpointer                 user_data)
{
  g_return_if_fail (exp != NULL && dir != NULL);

  SaveData *data = g_new0 (SaveData, 1);
  data->exp = *exp;
  data->dir = g_strdup (dir);

  g_autoptr(GTask) task = g_task_new (NULL, exp->cancellable, callback, user_data);
  g_task_set_source_tag (task, pt_projector_save_async);
  g_task_set_task_data (task, data, save_data_free);
  g_task_run_in_thread (task, save_thread);
}

gboolean
pt_projector_save_finish (GAsyncResult *result,
                          GError      **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

char *
pt_csv_quote (const char *field)
{
  g_return_val_if_fail (field != NULL, NULL);

  if (strpbrk (field, ",\"\r\n") == NULL)
    return g_strdup (field);

  GString *out = g_string_new ("\"");
  for (const char *p = field; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
  return g_string_free (out, FALSE);
}

gboolean
pt_csv_write_embeddings (const PtProjectorExport *exp,
                         PtAtomicFile            *file,
                         GError                 **error)
{
  g_return_val_if_fail (file != NULL, FALSE);

  if (!check_export (exp, error))
    return FALSE;

  g_autoptr(GString) line = g_string_new ("filenames");
  for (guint j = 0; j < exp->d; j++)
    g_string_append_printf (line, ",embedding_%u", j);
  g_string_append (line, ",labels\n");

  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (guint i = 0; i < exp->n; i++)
    {
      const float *row = exp->embeddings + (gsize) i * exp->d;

      if (i % 256 == 0 && check_cancelled (exp, error))
        return FALSE;
      if (exp->filenames != NULL && exp->filenames[i] != NULL)
        {
          g_autofree char *q = pt_csv_quote (exp->filenames[i]);
          g_string_append (line, q);
        }
      for (guint j = 0; j < exp->d; j++)
        {
          format_float (buf, sizeof buf, row[j]);
          g_string_append_c (line, ',');
          g_string_append (line, buf);
        }
      g_string_append_c (line, ',');
      if (exp->labels != NULL && exp->labels[i] >= 0)
        {
          if (exp->class_names != NULL)
            {
              g_autofree char *q = pt_csv_quote (exp->class_names[exp->labels[i]]);
              g_string_append (line, q);
            }
          else
            g_string_append_printf (line, "%d", exp->labels[i]);
        }
      g_string_append_c (line, '\n');
      if (line->len > 64 * 1024)
        {
          if (!pt_atomic_file_write (file, line->str, line->len, error))
            return FALSE;
          g_string_truncate (line, 0);
        }
    }
  return pt_atomic_file_write (file, line->str, line->len, error);
}

gboolean
pt_csv_save_embeddings (const PtProjectorExport *exp,
                        const char              *path,
                        GError                 **error)
{
  g_return_val_if_fail (path != NULL, FALSE);

  g_autoptr(PtAtomicFile) file = pt_atomic_file_new (path, error);
  if (file == NULL)
    return FALSE;
  if (!pt_csv_write_embeddings (exp, file, error))
    return FALSE;
  return pt_atomic_file_commit (file, error);
}
