/* pt-dataset-folder.c: a folder of PNG and JPEG images.
 *
 * Layout: subfolders are classes (sorted names), a flat folder is
 * unlabeled. A folder with both train/ and test/ subfolders has splits;
 * any other folder is train only, and asking it for the test split is an
 * error (no silent hold-out: a run's test set should be one the user chose).
 * Every file is checked and decoded by pt_image_load_square () on two
 * threads; a bad file is quarantined with its reason while the rest loads.
 */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-dataset-private.h"
#include "pt-image-check.h"

typedef struct {
  char     *path;
  int       label;
  guint8   *rgb;       /* 3 x res x res planar, NULL when quarantined */
  gboolean  grey;
  char     *reason;
} FolderItem;

typedef struct {
  FolderItem *items;
  int         resolution;
} FolderJob;

static void
folder_item_clear (FolderItem *item)
{
  g_free (item->path);
  g_free (item->rgb);
  g_free (item->reason);
}

static void
decode_item (guint    i,
             gpointer user_data)
{
  FolderJob *job = user_data;
  FolderItem *item = &job->items[i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pixbuf = NULL;
  const int res = job->resolution;
  const guint8 *src;
  int stride;

  pixbuf = pt_image_load_square (item->path, res, &item->grey, &error);
  if (pixbuf == NULL)
    {
      item->reason = g_strdup (error->message);
      return;
    }
  g_assert (gdk_pixbuf_get_n_channels (pixbuf) == 3);
  src = gdk_pixbuf_read_pixels (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  item->rgb = g_malloc ((gsize) 3 * res * res);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < res; y++)
      for (int x = 0; x < res; x++)
        item->rgb[(gsize) c * res * res + y * res + x] = src[(gsize) y * stride + x * 3 + c];
}

/* Names of the visible entries of dir; files and folders apart. */
static gboolean
list_dir (const char  *dir,
          GPtrArray   *files,
          GPtrArray   *subdirs,
          GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GDir) d = g_dir_open (dir, 0, &local_error);
  const char *name;

  if (d == NULL)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("The folder “%s” cannot be read: %s."), dir, local_error->message);
      return FALSE;
    }
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *full = NULL;

      if (name[0] == '.')
        continue;
      full = g_build_filename (dir, name, NULL);
      /* Without subdirs (inside a class folder), a folder is listed as a
       * file so that it is reported rather than silently skipped. */
      if (subdirs != NULL && g_file_test (full, G_FILE_TEST_IS_DIR))
        g_ptr_array_add (subdirs, g_strdup (name));
      else
        g_ptr_array_add (files, g_strdup (name));
    }
  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

gboolean
_pt_dataset_load_folder (PtDatasetData          *data,
                         const char             *path,
                         PtSplit                 split,
                         const PtDatasetOptions *options,
                         GCancellable           *cancellable,
                         PtProgressFunc          progress,
                         gpointer                progress_data,
                         GError                **error)
{
  const int res = options->resolution > 0 ? options->resolution : 32;
  g_autofree char *train_dir = g_build_filename (path, "train", NULL);
  g_autofree char *test_dir = g_build_filename (path, "test", NULL);
  g_autofree char *root = NULL;
  g_autofree char *base = NULL;
  g_autoptr(GPtrArray) top_files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) classes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) items = g_array_new (FALSE, TRUE, sizeof (FolderItem));
  g_autoptr(GPtrArray) q_paths = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) q_reasons = g_ptr_array_new_with_free_func (g_free);
  gboolean has_splits, all_grey = TRUE;
  FolderJob job;
  guint n_good = 0, k;
  gsize plane = (gsize) res * res;
  int channels;

  g_array_set_clear_func (items, (GDestroyNotify) folder_item_clear);

  has_splits = g_file_test (train_dir, G_FILE_TEST_IS_DIR) && g_file_test (test_dir, G_FILE_TEST_IS_DIR);
  if (has_splits)
    root = g_strdup (split == PT_SPLIT_TRAIN ? train_dir : test_dir);
  else if (split == PT_SPLIT_TEST)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("The folder “%s” has no test split (it needs both train/ and test/ subfolders)."),
                   path);
      return FALSE;
    }
  else
    root = g_strdup (path);

  if (!list_dir (root, top_files, classes, error))
    return FALSE;
  g_ptr_array_sort (top_files, compare_names);
  g_ptr_array_sort (classes, compare_names);

  if (classes->len > 0)
    {
      /* Loose files beside class folders have no class: list them. */
      for (guint f = 0; f < top_files->len; f++)
        {
          g_autofree char *file = g_build_filename (root, g_ptr_array_index (top_files, f), NULL);

          g_autofree char *reason =
            g_strdup_printf (_("“%s” lies outside the class subfolders, so it has no class."), file);

          g_ptr_array_add (q_reasons, g_utf8_make_valid (reason, -1));
          g_ptr_array_add (q_paths, g_steal_pointer (&file));
        }
      for (k = 0; k < classes->len; k++)
        {
          g_autofree char *dir = g_build_filename (root, g_ptr_array_index (classes, k), NULL);
          g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

          if (!list_dir (dir, files, NULL, error))
            return FALSE;
          g_ptr_array_sort (files, compare_names);
          for (guint f = 0; f < files->len; f++)
            {
              FolderItem item = { 0 };

              item.path = g_build_filename (dir, g_ptr_array_index (files, f), NULL);
              item.label = (int) k;
              g_array_append_val (items, item);
            }
        }
    }
  else
    {
      for (guint f = 0; f < top_files->len; f++)
        {
          FolderItem item = { 0 };

          item.path = g_build_filename (root, g_ptr_array_index (top_files, f), NULL);
          item.label = -1;
          g_array_append_val (items, item);
        }
    }

  if (items->len == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_EMPTY,
                   _("The folder “%s” holds no image files."), root);
      return FALSE;
    }
  if (items->len > 10000000)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("The folder “%s” holds more than 10 million files."), root);
      return FALSE;
    }

  job.items = (FolderItem *) items->data;
  job.resolution = res;
  _pt_dataset_parallel_for (items->len, 1, _pt_dataset_n_threads (), decode_item, &job,
                            cancellable, progress, progress_data);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;

  for (guint i = 0; i < items->len; i++)
    {
      FolderItem *item = &job.items[i];

      if (item->rgb != NULL)
        {
          n_good++;
          all_grey = all_grey && item->grey;
        }
      else
        {
          g_assert (item->reason != NULL);
          g_ptr_array_add (q_paths, g_strdup (item->path));
          /* Reasons are shown: make a non-UTF-8 file name displayable. */
          g_ptr_array_add (q_reasons, g_utf8_make_valid (item->reason, -1));
        }
    }

  if (n_good == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_EMPTY,
                   _("The folder “%s” holds no usable image: all %u files were quarantined (the first: %s)"),
                   root, q_reasons->len, (char *) g_ptr_array_index (q_reasons, 0));
      return FALSE;
    }

  channels = all_grey ? 1 : 3;
  data->pixels = g_malloc ((gsize) n_good * channels * plane);
  data->labels = g_new (int, n_good);
  data->image_paths = g_new0 (char *, n_good + 1);
  for (guint i = 0, j = 0; i < items->len; i++)
    {
      FolderItem *item = &job.items[i];

      if (item->rgb == NULL)
        continue;
      /* A grey file decodes to R = G = B, so the first plane is the grey one. */
      memcpy (data->pixels + (gsize) j * channels * plane, item->rgb, channels * plane);
      data->labels[j] = item->label;
      data->image_paths[j] = g_strdup (item->path);
      j++;
    }

  base = g_filename_display_basename (path);
  if (has_splits)
    data->title = g_strdup_printf ("%s (%s)", base, split == PT_SPLIT_TRAIN ? _("train") : _("test"));
  else
    data->title = g_strdup (base);
  data->channels = channels;
  data->height = res;
  data->width = res;
  data->n_images = n_good;
  data->n_classes = (int) classes->len;
  if (classes->len > 0)
    {
      g_ptr_array_add (classes, NULL);
      data->class_names = (char **) g_ptr_array_free (g_steal_pointer (&classes), FALSE);
    }
  else
    {
      g_clear_pointer (&data->labels, g_free);
    }
  data->quarantined_paths = g_steal_pointer (&q_paths);
  data->quarantined_reasons = g_steal_pointer (&q_reasons);
  return TRUE;
}
