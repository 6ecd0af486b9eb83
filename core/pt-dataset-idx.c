/* pt-dataset-idx.c: IDX files (MNIST, Fashion-MNIST; plain or gzip) and
 * CIFAR-10 binary batches.
 *
 * Every size is checked before a byte is used: IDX magic, dims (checked
 * multiplication), file size equal to header + data, label count equal to
 * image count, labels in range; CIFAR files a whole number of 3073-byte
 * records with labels below 10.
 */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-dataset-private.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
/* Decompressed IDX files larger than this are refused (a gzip bomb guard). */
#define IDX_MAX_BYTES    ((gsize) 2 << 30)
#define CIFAR_RECORD     3073
#define CIFAR_MAX_BYTES  ((gsize) 1 << 30)

static const char * const fashion_mnist_classes[] = {
  "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
  "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot", NULL
};

static const char * const cifar10_classes[] = {
  "airplane", "automobile", "bird", "cat", "deer",
  "dog", "frog", "horse", "ship", "truck", NULL
};

static guint32
get_u32_be (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

/* Reads a whole file, gunzipping it when it starts with the gzip magic. */
static GBytes *
read_maybe_gzip (const char    *path,
                 gsize          max_bytes,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GBytes) raw = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GZlibDecompressor) decompressor = NULL;
  g_autoptr(GInputStream) memory = NULL;
  g_autoptr(GInputStream) stream = NULL;
  g_autoptr(GByteArray) out = NULL;
  const guint8 *data;
  gsize len;

  raw = g_file_load_bytes (file, cancellable, NULL, &local_error);
  if (raw == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                     _("“%s” does not exist."), path);
      else
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                     _("“%s” cannot be read: %s"), path, local_error->message);
      return NULL;
    }

  data = g_bytes_get_data (raw, &len);
  if (len < 2 || data[0] != 0x1f || data[1] != 0x8b)
    return g_steal_pointer (&raw);

  decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  memory = g_memory_input_stream_new_from_bytes (raw);
  stream = g_converter_input_stream_new (memory, G_CONVERTER (decompressor));
  out = g_byte_array_new ();

  for (;;)
    {
      guint8 buf[65536];
      gssize n = g_input_stream_read (stream, buf, sizeof buf, cancellable, &local_error);

      if (n < 0)
        {
          if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                         _("“%s” is not a valid gzip file (%s)."), path, local_error->message);
          return NULL;
        }
      if (n == 0)
        break;
      if (out->len + (gsize) n > max_bytes)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” decompresses to more than %zu MiB."),
                       path, max_bytes >> 20);
          return NULL;
        }
      g_byte_array_append (out, buf, n);
    }

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/* Checks an IDX header and size. Sets *dims (ndims entries, at most 3) and
 * returns the data offset, or 0 with error set. */
static gsize
check_idx (const char   *path,
           GBytes       *bytes,
           guint32       expected_magic,
           guint32      *dims,
           GError      **error)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (bytes, &len);
  guint32 magic;
  guint ndims;
  gsize header, total = 1;
  guint expected_ndims = expected_magic == IDX_IMAGES_MAGIC ? 3 : 1;

  if (len < 4)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is too short to be an IDX file (%zu bytes)."),
                   path, len);
      return 0;
    }
  magic = get_u32_be (p);
  if (magic != expected_magic)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   expected_magic == IDX_IMAGES_MAGIC
                   ? _("“%s” is not an IDX image file (magic 0x%08x, expected 0x%08x).")
                   : _("“%s” is not an IDX label file (magic 0x%08x, expected 0x%08x)."),
                   path, magic, expected_magic);
      return 0;
    }
  ndims = p[3];
  g_assert (ndims == expected_ndims);
  header = 4 + 4 * (gsize) ndims;
  if (len < header)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is truncated inside its IDX header (%zu bytes)."),
                   path, len);
      return 0;
    }
  for (guint d = 0; d < ndims; d++)
    {
      dims[d] = get_u32_be (p + 4 + 4 * d);
      if (!g_size_checked_mul (&total, total, dims[d]))
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” has IDX dimensions whose product overflows."), path);
          return 0;
        }
    }
  if (ndims == 3 && (dims[1] == 0 || dims[2] == 0 || dims[1] > 4096 || dims[2] > 4096))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” has images of %u x %u pixels (each side must be 1 to 4096)."),
                   path, dims[1], dims[2]);
      return 0;
    }
  if (total > G_MAXSIZE - header || len != header + total)
    {
      if (ndims == 3)
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                     _("“%s” has %zu bytes, but its header (%u x %u x %u) needs %zu."),
                     path, len, dims[0], dims[1], dims[2], header + total);
      else
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                     _("“%s” has %zu bytes, but its header (%u labels) needs %zu."),
                     path, len, dims[0], header + total);
      return 0;
    }
  return header;
}

/* The magic is checked by value, so a wrong ndims byte already fails there. */

static gboolean
load_idx_pair (PtDatasetData *data,
               const char    *images_path,
               const char    *labels_path,      /* may be NULL */
               int            n_classes,        /* 0: from the labels */
               const char    *dataset_name,
               GCancellable  *cancellable,
               PtProgressFunc progress,
               gpointer       progress_data,
               GError       **error)
{
  g_autoptr(GBytes) images = NULL;
  g_autoptr(GBytes) labels = NULL;
  guint32 idims[3], ldims[1];
  gsize ioff, loff = 0;
  const guint8 *lp = NULL;
  guint n;

  images = read_maybe_gzip (images_path, IDX_MAX_BYTES, cancellable, error);
  if (images == NULL)
    return FALSE;
  ioff = check_idx (images_path, images, IDX_IMAGES_MAGIC, idims, error);
  if (ioff == 0)
    return FALSE;
  n = idims[0];
  if (n == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_EMPTY,
                   _("“%s” holds no image."), images_path);
      return FALSE;
    }
  if (progress != NULL)
    progress (0.6, progress_data);

  if (labels_path != NULL)
    {
      labels = read_maybe_gzip (labels_path, IDX_MAX_BYTES, cancellable, error);
      if (labels == NULL)
        return FALSE;
      loff = check_idx (labels_path, labels, IDX_LABELS_MAGIC, ldims, error);
      if (loff == 0)
        return FALSE;
      if (ldims[0] != n)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” holds %u labels, but “%s” holds %u images."),
                       labels_path, ldims[0], images_path, n);
          return FALSE;
        }
      lp = (const guint8 *) g_bytes_get_data (labels, NULL) + loff;
      if (n_classes > 0)
        {
          for (guint i = 0; i < n; i++)
            if (lp[i] >= n_classes)
              {
                g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                             _("“%s” has label %u at index %u, but %s has %d classes."),
                             labels_path, lp[i], i, dataset_name, n_classes);
                return FALSE;
              }
        }
      else
        {
          for (guint i = 0; i < n; i++)
            n_classes = MAX (n_classes, lp[i] + 1);
        }
    }

  data->channels = 1;
  data->height = idims[1];
  data->width = idims[2];
  data->n_images = n;
  data->pixels = g_memdup2 ((const guint8 *) g_bytes_get_data (images, NULL) + ioff,
                            (gsize) n * idims[1] * idims[2]);
  if (lp != NULL)
    {
      data->labels = g_new (int, n);
      for (guint i = 0; i < n; i++)
        data->labels[i] = lp[i];
      data->n_classes = n_classes;
    }
  return TRUE;
}

/* Looks for NAME or NAME.gz in dir. */
static char *
find_plain_or_gz (const char *dir,
                  const char *name)
{
  g_autofree char *plain = g_build_filename (dir, name, NULL);
  g_autofree char *gz = g_strconcat (plain, ".gz", NULL);

  if (g_file_test (gz, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&gz);
  if (g_file_test (plain, G_FILE_TEST_IS_REGULAR))
    return g_steal_pointer (&plain);
  return NULL;
}

/* Loads the split from the first of dirs holding its images file. */
static gboolean
load_idx_from_dirs (PtDatasetData *data,
                    GPtrArray     *dirs,
                    const char    *pretty,      /* "Fashion-MNIST" */
                    gboolean       fashion,
                    PtSplit        split,
                    GCancellable  *cancellable,
                    PtProgressFunc progress,
                    gpointer       progress_data,
                    GError       **error)
{
  const char *prefix = split == PT_SPLIT_TRAIN ? "train" : "t10k";
  g_autofree char *images_name = g_strdup_printf ("%s-images-idx3-ubyte", prefix);
  g_autofree char *labels_name = g_strdup_printf ("%s-labels-idx1-ubyte", prefix);
  g_autofree char *images_path = NULL;
  g_autofree char *labels_path = NULL;
  g_autofree char *searched = NULL;

  for (guint d = 0; d < dirs->len && images_path == NULL; d++)
    {
      images_path = find_plain_or_gz (g_ptr_array_index (dirs, d), images_name);
      if (images_path != NULL)
        {
          labels_path = find_plain_or_gz (g_ptr_array_index (dirs, d), labels_name);
          if (labels_path == NULL)
            {
              g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                           _("“%s” has %s images but no “%s.gz” labels beside them."),
                           (char *) g_ptr_array_index (dirs, d), pretty, labels_name);
              return FALSE;
            }
        }
    }

  if (images_path == NULL)
    {
      g_ptr_array_add (dirs, NULL);
      searched = g_strjoinv ("”, “", (char **) dirs->pdata);
      g_ptr_array_remove_index (dirs, dirs->len - 1);
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("%s is not installed: no “%s.gz” in “%s” (install the Debian package dataset-fashion-mnist for Fashion-MNIST, or put the IDX files in $PRETEXT_DATA/NAME/)."),
                   pretty, images_name, searched);
      return FALSE;
    }

  if (!load_idx_pair (data, images_path, labels_path, 10, pretty,
                      cancellable, progress, progress_data, error))
    return FALSE;

  data->title = g_strdup_printf ("%s (%s)", pretty, split == PT_SPLIT_TRAIN ? _("train") : _("test"));
  data->class_names = g_new0 (char *, 11);
  for (int k = 0; k < 10; k++)
    data->class_names[k] = fashion ? g_strdup (fashion_mnist_classes[k]) : g_strdup_printf ("%d", k);
  return TRUE;
}

gboolean
_pt_dataset_load_named_idx (PtDatasetData *data,
                            const char    *name,
                            PtSplit        split,
                            GCancellable  *cancellable,
                            PtProgressFunc progress,
                            gpointer       progress_data,
                            GError       **error)
{
  gboolean fashion = strcmp (name, "fashion-mnist") == 0;
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  const char *env = g_getenv ("PRETEXT_DATA");

  if (env != NULL && env[0] != '\0')
    g_ptr_array_add (dirs, g_build_filename (env, name, NULL));
  g_ptr_array_add (dirs, g_build_filename ("/usr/share/datasets", name, NULL));

  return load_idx_from_dirs (data, dirs, fashion ? "Fashion-MNIST" : "MNIST", fashion, split,
                             cancellable, progress, progress_data, error);
}

gboolean
_pt_dataset_is_idx_folder (const char *path)
{
  g_autofree char *images = find_plain_or_gz (path, "train-images-idx3-ubyte");

  return images != NULL;
}

gboolean
_pt_dataset_load_idx_folder (PtDatasetData *data,
                             const char    *path,
                             PtSplit        split,
                             GCancellable  *cancellable,
                             PtProgressFunc progress,
                             gpointer       progress_data,
                             GError       **error)
{
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *base = g_filename_display_basename (path);
  g_autofree char *lower = g_ascii_strdown (base, -1);

  g_ptr_array_add (dirs, g_strdup (path));
  /* The folder's name tells Fashion-MNIST (class names) from digits. */
  return load_idx_from_dirs (data, dirs, base, strstr (lower, "fashion") != NULL, split,
                             cancellable, progress, progress_data, error);
}

/* "train-images-idx3-ubyte[.gz]" -> "train-labels-idx1-ubyte[.gz]", also
 * the "train-images.idx3-ubyte" spelling of some mirrors. */
static char *
find_labels_beside (const char *images_path)
{
  g_autofree char *dir = g_path_get_dirname (images_path);
  g_autofree char *base = g_path_get_basename (images_path);
  static const struct { const char *from, *to; } pairs[] = {
    { "images-idx3", "labels-idx1" },
    { "images.idx3", "labels.idx1" },
  };

  for (guint k = 0; k < G_N_ELEMENTS (pairs); k++)
    {
      char *at = strstr (base, pairs[k].from);
      g_autofree char *stem = NULL;
      g_autofree char *labels = NULL;
      char *found;

      if (at == NULL)
        continue;
      labels = g_strdup (base);
      memcpy (labels + (at - base), pairs[k].to, strlen (pairs[k].to));
      if (g_str_has_suffix (labels, ".gz"))
        labels[strlen (labels) - 3] = '\0';
      found = find_plain_or_gz (dir, labels);
      if (found != NULL)
        return found;
    }
  return NULL;
}

gboolean
_pt_dataset_load_idx_file (PtDatasetData *data,
                           const char    *images_path,
                           GCancellable  *cancellable,
                           PtProgressFunc progress,
                           gpointer       progress_data,
                           GError       **error)
{
  g_autofree char *labels_path = find_labels_beside (images_path);
  g_autofree char *base = g_filename_display_basename (images_path);

  if (!load_idx_pair (data, images_path, labels_path, 0, base,
                      cancellable, progress, progress_data, error))
    return FALSE;
  data->title = g_strdup (base);
  return TRUE;
}

static gboolean
load_cifar_file (const char    *path,
                 GByteArray    *pixels,
                 GArray        *labels,
                 GCancellable  *cancellable,
                 GError       **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const guint8 *p;
  gsize len, n;

  bytes = g_file_load_bytes (file, cancellable, NULL, &local_error);
  if (bytes == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                     _("“%s” does not exist (a CIFAR-10 folder holds data_batch_1.bin to data_batch_5.bin and test_batch.bin)."),
                     path);
      else
        g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                     _("“%s” cannot be read: %s"), path, local_error->message);
      return FALSE;
    }
  p = g_bytes_get_data (bytes, &len);
  if (len == 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_EMPTY,
                   _("“%s” is empty (0 bytes)."), path);
      return FALSE;
    }
  if (len % CIFAR_RECORD != 0)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” is not a whole number of 3073-byte CIFAR-10 records (%zu bytes)."),
                   path, len);
      return FALSE;
    }
  if (pixels->len + len > CIFAR_MAX_BYTES)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                   _("“%s” makes the CIFAR-10 split larger than 1 GiB."), path);
      return FALSE;
    }
  n = len / CIFAR_RECORD;
  for (gsize r = 0; r < n; r++)
    {
      const guint8 *rec = p + r * CIFAR_RECORD;
      int label = rec[0];

      if (label >= 10)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_INVALID,
                       _("“%s” has label %d in record %zu; CIFAR-10 labels are 0 to 9."),
                       path, label, r);
          return FALSE;
        }
      g_array_append_val (labels, label);
      g_byte_array_append (pixels, rec + 1, CIFAR_RECORD - 1);
    }
  return TRUE;
}

static char **
read_cifar_class_names (const char *dir)
{
  g_autofree char *meta = g_build_filename (dir, "batches.meta.txt", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gsize len = 0;

  if (g_file_get_contents (meta, &text, &len, NULL) && len < 65536 &&
      g_utf8_validate (text, len, NULL))
    {
      lines = g_strsplit (text, "\n", -1);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          char *name = g_strstrip (lines[i]);

          if (name[0] != '\0')
            g_ptr_array_add (names, g_strdup (name));
        }
    }
  if (names->len != 10)
    return g_strdupv ((char **) cifar10_classes);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

gboolean
_pt_dataset_load_cifar10 (PtDatasetData *data,
                          const char    *path,
                          PtSplit        split,
                          GCancellable  *cancellable,
                          PtProgressFunc progress,
                          gpointer       progress_data,
                          GError       **error)
{
  g_autofree char *inner = g_build_filename (path, "cifar-10-batches-bin", NULL);
  g_autoptr(GByteArray) pixels = g_byte_array_new ();
  g_autoptr(GArray) labels = g_array_new (FALSE, FALSE, sizeof (int));
  const char *dir = path;
  int n_files = split == PT_SPLIT_TRAIN ? 5 : 1;

  if (path[0] == '\0' || !g_file_test (path, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("“%s” is not a folder (cifar10:PATH names the folder holding the CIFAR-10 binary batches)."),
                   path);
      return FALSE;
    }
  if (g_file_test (inner, G_FILE_TEST_IS_DIR))
    dir = inner;

  for (int f = 0; f < n_files; f++)
    {
      g_autofree char *name = split == PT_SPLIT_TRAIN
                              ? g_strdup_printf ("data_batch_%d.bin", f + 1)
                              : g_strdup ("test_batch.bin");
      g_autofree char *file = g_build_filename (dir, name, NULL);

      if (!load_cifar_file (file, pixels, labels, cancellable, error))
        return FALSE;
      if (progress != NULL)
        progress ((f + 1.0) / (n_files + 1.0), progress_data);
    }

  data->title = g_strdup_printf ("CIFAR-10 (%s)", split == PT_SPLIT_TRAIN ? _("train") : _("test"));
  data->channels = 3;
  data->height = 32;
  data->width = 32;
  data->n_images = labels->len;
  data->pixels = g_byte_array_steal (pixels, NULL);
  data->labels = (int *) g_array_free (g_steal_pointer (&labels), FALSE);
  data->n_classes = 10;
  data->class_names = read_cifar_class_names (dir);
  return TRUE;
}
