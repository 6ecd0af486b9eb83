/* pt-run-export.c: a run's features and encoder as files other tools read. */
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-atomic.h"
#include "pt-encoder.h"
#include "pt-features.h"
#include "pt-npy.h"
#include "pt-projector.h"
#include "pt-run-export.h"
#include "pt-run.h"

void
pt_run_export_result_clear (PtRunExportResult *result)
{
  g_clear_pointer (&result->labels_path, g_free);
}

char *
pt_run_export_labels_path (const char *npy)
{
  if (g_str_has_suffix (npy, ".npy"))
    {
      g_autofree char *stem = g_strndup (npy, strlen (npy) - 4);

      return g_strconcat (stem, ".labels.npy", NULL);
    }
  return g_strconcat (npy, ".labels.npy", NULL);
}

static void
report (PtRunExportProgressFunc  progress,
        gpointer                 data,
        double                   fraction,
        const char              *stage)
{
  if (progress != NULL)
    progress (fraction, stage, data);
}

static GdkPixbuf *
thumb_cb (guint    index,
          gpointer user_data)
{
  return pt_dataset_dup_pixbuf (user_data, index);
}

/* The features files, as one atomic set. */
static gboolean
export_features (const char                *run_dir,
                 const PtRunExportOptions  *o,
                 PtRunExportResult         *result,
                 PtRunExportProgressFunc    progress,
                 gpointer                   progress_data,
                 GCancellable              *cancellable,
                 GError                   **error)
{
  g_autoptr(PtDataset) data = NULL;
  g_autofree float *features = NULL;
  g_autofree gint64 *labels64 = NULL;
  g_autofree const char **class_names = NULL;
  g_autofree const char **filenames = NULL;
  PtAtomicSet *set = NULL;
  PtProjectorExport exp = { 0 };
  int dim = 0, n_classes;
  guint n;

  report (progress, progress_data, 0.05, _("Opening the run’s dataset"));
  data = pt_features_open_split (run_dir, o->split, cancellable, error);
  if (data == NULL)
    return FALSE;
  report (progress, progress_data, 0.15, _("Computing features"));
  features = pt_features_for_run (run_dir, data,
                                  o->random_init ? PT_FEATURES_RANDOM_INIT : PT_FEATURES_TRAINED,
                                  &dim, &result->step, NULL, cancellable, error);
  if (features == NULL)
    return FALSE;

  n = pt_dataset_get_n_images (data);
  if (o->count > 0 && o->count < n)
    n = o->count;   /* the first rows of the cached features */
  n_classes = pt_dataset_get_n_classes (data);
  labels64 = g_new (gint64, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    labels64[i] = pt_dataset_get_label (data, i);
  class_names = g_new0 (const char *, n_classes + 1);
  for (int k = 0; k < n_classes; k++)
    class_names[k] = pt_dataset_get_class_name (data, k);
  if (pt_dataset_get_image_path (data, 0) != NULL)
    {
      filenames = g_new0 (const char *, n + 1);
      for (guint i = 0; i < n; i++)
        filenames[i] = pt_dataset_get_image_path (data, i);
    }
  result->n = n;
  result->dim = dim;

  exp.embeddings = features;
  exp.n = n;
  exp.d = (guint) dim;
  exp.labels = pt_dataset_get_labels (data);
  exp.class_names = n_classes > 0 ? class_names : NULL;
  exp.n_classes = (guint) n_classes;
  exp.filenames = filenames;
  exp.thumb_func = thumb_cb;
  exp.thumb_data = data;
  exp.cancellable = cancellable;

  report (progress, progress_data, 0.6, _("Writing files"));
  set = pt_atomic_set_new ();
  if (o->npy != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, o->npy, error);

      result->labels_path = pt_run_export_labels_path (o->npy);
      if (file == NULL || !pt_npy_write_f32 (file, features, n, (guint64) dim, error))
        goto fail;
      file = pt_atomic_set_add (set, result->labels_path, error);
      if (file == NULL || !pt_npy_write_i64 (file, labels64, n, error))
        goto fail;
    }
  if (o->projector != NULL)
    {
      if (g_mkdir_with_parents (o->projector, 0755) != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("Cannot create the folder “%s”."), o->projector);
          goto fail;
        }
      if (!pt_projector_add_to_set (&exp, set, o->projector, error))
        goto fail;
    }
  if (o->images != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, o->images, error);
      g_autofree float *pixels = NULL;
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autofree char *ini = g_build_filename (run_dir, "config.ini", NULL);
      PtNormalization norm;
      gsize size = pt_dataset_get_image_size (data);
      int dim_pixels = 0;

      if (file == NULL ||
          !g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, error) ||
          !pt_normalization_load (&norm, kf, "run", error))
        goto fail;
      pixels = pt_features_raw_pixels (data, &dim_pixels);
      for (guint i = 0; i < n; i++)
        for (gsize k = 0; k < size; k++)
          {
            int c = (int) (k / (size / pt_dataset_get_channels (data)));

            pixels[i * size + k] = (pixels[i * size + k] - norm.mean[c]) / norm.std[c];
          }
      if (!pt_npy_write_f32 (file, pixels, n, size, error))
        goto fail;
    }
  if (o->csv != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, o->csv, error);

      if (file == NULL || !pt_csv_write_embeddings (&exp, file, error))
        goto fail;
    }
  if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
      !pt_atomic_set_commit (set, error))
    goto fail;
  pt_atomic_set_free (set);
  return TRUE;

fail:
  pt_atomic_set_free (set);   /* removes every temporary file */
  return FALSE;
}

static gboolean
export_weights (const char          *run_dir,
                const char          *path,
                PtRunExportResult   *result,
                GError             **error)
{
  g_autoptr(PtRun) run = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(GPtrArray) meta = g_ptr_array_new_with_free_func (g_free);
  const char *keys[] = { "method", "dataset", "dataset_hash", "created", "app_version",
                         "normalize_mean", "normalize_std" };
  PtNormalization norm;
  GKeyFile *config;
  guint64 step = 0;

  run = pt_run_open (run_dir, error);
  if (run == NULL)
    return FALSE;
  config = pt_run_get_config (run);
  method = pt_features_load_method (run_dir, PT_FEATURES_TRAINED, &norm, &step, error);
  if (method == NULL)
    return FALSE;
  enc = pt_encoder_from_method (method, error);
  if (enc == NULL)
    return FALSE;
  g_ptr_array_add (meta, g_strdup ("step"));
  g_ptr_array_add (meta, g_strdup_printf ("%llu", (unsigned long long) step));
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      char *value = g_key_file_get_string (config, "run", keys[i], NULL);

      if (value == NULL)
        continue;
      g_ptr_array_add (meta, g_strdup (keys[i]));
      g_ptr_array_add (meta, value);
    }
  g_ptr_array_add (meta, NULL);
  if (!pt_encoder_save_safetensors (enc, path, (const char * const *) meta->pdata, step, error))
    return FALSE;
  result->step = step;
  result->encoder = enc->kind == PT_ENCODER_VIT ? "vit" : "cnn";
  result->n_tensors = pt_params_get_n (enc->params) + (enc->kind == PT_ENCODER_CNN ? 4 : 0);
  return TRUE;
}

gboolean
pt_run_export (const char                *run_dir,
               const PtRunExportOptions  *options,
               PtRunExportResult         *result,
               PtRunExportProgressFunc    progress,
               gpointer                   progress_data,
               GCancellable              *cancellable,
               GError                   **error)
{
  PtRunExportResult local = { 0 };
  gboolean features;

  g_return_val_if_fail (run_dir != NULL && options != NULL, FALSE);

  if (result == NULL)
    result = &local;
  features = options->npy != NULL || options->projector != NULL || options->csv != NULL ||
             options->images != NULL;
  g_return_val_if_fail (features || options->safetensors != NULL, FALSE);

  if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   _("The run directory “%s” does not exist."), run_dir);
      return FALSE;
    }
  if (features && !export_features (run_dir, options, result, progress, progress_data,
                                    cancellable, error))
    {
      pt_run_export_result_clear (result);
      return FALSE;
    }
  if (options->safetensors != NULL)
    {
      report (progress, progress_data, 0.9, _("Writing the encoder’s weights"));
      if (g_cancellable_set_error_if_cancelled (cancellable, error) ||
          !export_weights (run_dir, options->safetensors, result, error))
        {
          pt_run_export_result_clear (result);
          return FALSE;
        }
    }
  report (progress, progress_data, 1.0, _("Done"));
  pt_run_export_result_clear (&local);
  return TRUE;
}
