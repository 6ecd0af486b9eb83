/* pt-loader-source.c: the augmentation loader behind PtBatchSource. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-loader.h"
#include "pt-loader-source.h"

G_DEFINE_QUARK (pt-loader-source-error-quark, pt_loader_source_error)

#define POSITION_MAGIC 0x50544c53u   /* "PTLS" */

typedef struct {
  PtLoader *loader;
  guint64   seed;
  int       batch_size;
  guint     n_views;
} LoaderSource;

void
pt_normalization_from_dataset (PtNormalization *norm,
                               PtDataset       *dataset)
{
  int C = pt_dataset_get_channels (dataset);
  guint n = pt_dataset_get_n_images (dataset);
  gsize plane = (gsize) pt_dataset_get_height (dataset) * pt_dataset_get_width (dataset);

  g_return_if_fail (norm != NULL && PT_IS_DATASET (dataset));

  for (int c = 0; c < MIN (C, 3); c++)
    {
      /* Integer histogram: exact and independent of summation order. */
      guint64 hist[256] = { 0 };
      double count = 0, sum = 0, sq = 0, mean, var;

      for (guint i = 0; i < n; i++)
        {
          const guint8 *p = pt_dataset_get_image (dataset, i) + (gsize) c * plane;

          for (gsize k = 0; k < plane; k++)
            hist[p[k]]++;
        }
      for (int v = 0; v < 256; v++)
        {
          double x = v / 255.0;

          count += hist[v];
          sum += hist[v] * x;
          sq += hist[v] * x * x;
        }
      mean = count > 0 ? sum / count : 0.5;
      var = count > 0 ? sq / count - mean * mean : 0.0;
      norm->mean[c] = (float) mean;
      norm->std[c] = (float) MAX (sqrt (MAX (var, 0.0)), 1e-3);
    }
  for (int c = MIN (C, 3); c < 3; c++)
    {
      norm->mean[c] = norm->mean[0];
      norm->std[c] = norm->std[0];
    }
}

void
pt_normalization_save (const PtNormalization *norm,
                       GKeyFile              *keyfile,
                       const char            *group)
{
  char buf[3][G_ASCII_DTOSTR_BUF_SIZE];
  g_autofree char *mean = NULL, *std = NULL;

  for (int c = 0; c < 3; c++)
    g_ascii_dtostr (buf[c], sizeof buf[c], norm->mean[c]);
  mean = g_strdup_printf ("%s;%s;%s", buf[0], buf[1], buf[2]);
  for (int c = 0; c < 3; c++)
    g_ascii_dtostr (buf[c], sizeof buf[c], norm->std[c]);
  std = g_strdup_printf ("%s;%s;%s", buf[0], buf[1], buf[2]);
  g_key_file_set_string (keyfile, group, "normalize_mean", mean);
  g_key_file_set_string (keyfile, group, "normalize_std", std);
}

static gboolean
load_triple (float      *out,
             GKeyFile   *keyfile,
             const char *group,
             const char *key,
             GError    **error)
{
  g_autofree char *text = g_key_file_get_string (keyfile, group, key, NULL);
  g_auto(GStrv) parts = NULL;

  if (text == NULL)
    {
      g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                   _("The run configuration has no “%s” in group “%s”."), key, group);
      return FALSE;
    }
  parts = g_strsplit (text, ";", -1);
  if (g_strv_length (parts) < 3)
    goto bad;
  for (int c = 0; c < 3; c++)
    {
      char *end = NULL;
      double v = g_ascii_strtod (parts[c], &end);

      if (end == parts[c] || *end != '\0' || !isfinite (v))
        goto bad;
      out[c] = (float) v;
    }
  return TRUE;

bad:
  g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
               _("The run configuration’s “%s” is not three numbers: “%s”."), key, text);
  return FALSE;
}

void
pt_normalization_to_pixels (const PtNormalization *norm,
                            float                 *images,
                            int                    n,
                            int                    channels,
                            gsize                  plane)
{
  g_return_if_fail (norm != NULL && channels >= 1 && channels <= 3);

  for (int i = 0; i < n; i++)
    for (int c = 0; c < channels; c++)
      {
        float *p = images + ((gsize) i * channels + c) * plane;

        for (gsize k = 0; k < plane; k++)
          p[k] = p[k] * norm->std[c] + norm->mean[c];
      }
}

gboolean
pt_normalization_load (PtNormalization *norm,
                       GKeyFile        *keyfile,
                       const char      *group,
                       GError         **error)
{
  if (!load_triple (norm->mean, keyfile, group, "normalize_mean", error) ||
      !load_triple (norm->std, keyfile, group, "normalize_std", error))
    return FALSE;
  for (int c = 0; c < 3; c++)
    if (!(norm->std[c] > 0))
      {
        g_set_error (error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                     _("The run configuration’s normalize_std must be positive."));
        return FALSE;
      }
  return TRUE;
}

gboolean
pt_loader_source_check_views (const PtAugRecipe *recipe,
                              PtMethod          *method,
                              PtDataset         *dataset,
                              GError           **error)
{
  PtViewShape shapes[PT_MAX_VIEWS];
  int n = pt_method_get_views (method, shapes);
  guint nr = pt_augment_recipe_get_n_views (recipe);
  int C = pt_dataset_get_channels (dataset);
  int H = pt_dataset_get_height (dataset);
  int W = pt_dataset_get_width (dataset);

  if ((guint) n != nr)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS,
                   _("The augmentation recipe “%s” makes %u views per image but %s needs %d."),
                   recipe->name, nr, pt_method_get_name (method), n);
      return FALSE;
    }
  for (int v = 0; v < n; v++)
    {
      int oc, oh, ow;

      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &oc, &oh, &ow);
      if (oc != shapes[v].channels || oh != shapes[v].height || ow != shapes[v].width)
        {
          g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS,
                       _("View %d of the augmentation recipe “%s” is %dx%dx%d but %s needs %dx%dx%d."),
                       v + 1, recipe->name, oc, oh, ow, pt_method_get_name (method),
                       shapes[v].channels, shapes[v].height, shapes[v].width);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
source_next (gpointer  data,
             PtBatch  *batch,
             GError  **error)
{
  LoaderSource *self = data;
  g_autoptr(PtLoaderBatch) lb = pt_loader_next (self->loader);

  if ((int) lb->batch_size != batch->batch_size || (int) lb->n_views != batch->n_views)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS,
                   _("The loader made batches of %u x %u views but the trainer expects %d x %d."),
                   lb->batch_size, lb->n_views, batch->batch_size, batch->n_views);
      return FALSE;
    }
  for (guint v = 0; v < lb->n_views; v++)
    {
      gsize n = (gsize) lb->batch_size * lb->channels[v] * lb->heights[v] * lb->widths[v];

      g_assert (n == pt_batch_view_size (batch, v));
      memcpy (batch->views[v], lb->views[v], n * sizeof (float));
    }
  for (guint b = 0; b < lb->batch_size; b++)
    {
      batch->labels[b] = lb->labels[b];
      batch->indices[b] = (guint32) lb->indices[b];
    }
  batch->epoch = lb->epoch;
  return TRUE;
}

static GBytes *
source_get_position (gpointer data)
{
  LoaderSource *self = data;
  guint64 epoch, index;
  guint8 buf[PT_LOADER_SOURCE_POSITION_SIZE] = { 0 };
  guint32 magic = GUINT32_TO_LE (POSITION_MAGIC);
  guint64 le[3];

  pt_loader_get_position (self->loader, &epoch, &index);
  le[0] = GUINT64_TO_LE (self->seed);
  le[1] = GUINT64_TO_LE (epoch);
  le[2] = GUINT64_TO_LE (index);
  memcpy (buf, &magic, 4);
  memcpy (buf + 8, le, sizeof le);
  return g_bytes_new (buf, sizeof buf);
}

static gboolean
source_set_position (gpointer  data,
                     GBytes   *position,
                     GError  **error)
{
  LoaderSource *self = data;
  gsize size = 0;
  const guint8 *buf = g_bytes_get_data (position, &size);
  guint32 magic;
  guint64 le[3];

  if (size != PT_LOADER_SOURCE_POSITION_SIZE)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION,
                   _("The saved loader position has %zu bytes instead of %d."),
                   size, PT_LOADER_SOURCE_POSITION_SIZE);
      return FALSE;
    }
  memcpy (&magic, buf, 4);
  memcpy (le, buf + 8, sizeof le);
  if (GUINT32_FROM_LE (magic) != POSITION_MAGIC)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION,
                   _("The saved loader position was not written by the augmentation loader."));
      return FALSE;
    }
  if (GUINT64_FROM_LE (le[0]) != self->seed)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_POSITION,
                   _("The saved loader position belongs to seed %llu, not %llu."),
                   (unsigned long long) GUINT64_FROM_LE (le[0]),
                   (unsigned long long) self->seed);
      return FALSE;
    }
  pt_loader_set_position (self->loader, GUINT64_FROM_LE (le[1]), GUINT64_FROM_LE (le[2]));
  return TRUE;
}

static void
source_free (gpointer data)
{
  LoaderSource *self = data;

  g_clear_pointer (&self->loader, pt_loader_free);
  g_free (self);
}

static const PtBatchSourceFuncs loader_source_funcs = {
  .next = source_next,
  .get_position = source_get_position,
  .set_position = source_set_position,
  .free = source_free,
};

PtBatchSource *
pt_loader_source_new (PtDataset             *dataset,
                      const PtAugRecipe     *recipe,
                      PtMethod              *method,
                      guint64                seed,
                      const PtNormalization *norm,
                      int                    n_threads,
                      GError               **error)
{
  PtLoaderOptions options;
  g_autoptr(GError) local = NULL;
  LoaderSource *self;
  PtLoader *loader;

  g_return_val_if_fail (PT_IS_DATASET (dataset), NULL);
  g_return_val_if_fail (recipe != NULL && method != NULL, NULL);

  if (!pt_loader_source_check_views (recipe, method, dataset, error))
    return NULL;

  pt_loader_options_init (&options);
  options.batch_size = pt_method_get_config (method)->batch_size;
  options.seed = seed;
  options.n_threads = n_threads;
  if (norm != NULL)
    {
      options.normalize = TRUE;
      memcpy (options.mean, norm->mean, sizeof options.mean);
      memcpy (options.std, norm->std, sizeof options.std);
    }
  loader = pt_loader_new (dataset, recipe, &options, &local);
  if (loader == NULL)
    {
      g_set_error (error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_FAILED,
                   _("Cannot load batches from “%s”: %s"),
                   pt_dataset_get_title (dataset), local->message);
      return NULL;
    }
  self = g_new0 (LoaderSource, 1);
  self->loader = loader;
  self->seed = seed;
  self->batch_size = options.batch_size;
  self->n_views = pt_loader_get_n_views (loader);
  return pt_batch_source_new (&loader_source_funcs, self);
}

guint64
pt_loader_source_batches_per_epoch (guint n_images,
                                    int   batch_size)
{
  return batch_size > 0 ? n_images / (guint) batch_size : 0;
}
