/* pt-features.c: features of a dataset split through a frozen encoder. */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-features.h"
#include "pt-npy.h"
#include "pt-run.h"
#include "pt-train-spec.h"

#define CHUNK 256

const char *
pt_feature_kind_to_string (PtFeatureKind kind)
{
  switch (kind)
    {
    case PT_FEATURES_TRAINED:
      return "ssl";
    case PT_FEATURES_RANDOM_INIT:
      return "random-init";
    case PT_FEATURES_RAW_PIXELS:
      return "raw-pixels";
    default:
      g_return_val_if_reached ("unknown");
    }
}

/* Images first..first+n of dataset as floats, [n][C][H][W]. */
static void
fill_images (float                 *out,
             PtDataset             *dataset,
             guint                  first,
             guint                  n,
             const PtNormalization *norm)
{
  int C = pt_dataset_get_channels (dataset);
  gsize plane = (gsize) pt_dataset_get_height (dataset) * pt_dataset_get_width (dataset);

  for (guint i = 0; i < n; i++)
    {
      const guint8 *img = pt_dataset_get_image (dataset, first + i);

      for (int c = 0; c < C; c++)
        {
          float m = norm != NULL ? norm->mean[MIN (c, 2)] : 0.0f;
          float s = norm != NULL ? 1.0f / norm->std[MIN (c, 2)] : 1.0f;
          const guint8 *p = img + c * plane;
          float *o = out + ((gsize) i * C + c) * plane;

          for (gsize k = 0; k < plane; k++)
            o[k] = norm != NULL ? (p[k] / 255.0f - m) * s : p[k] / 255.0f;
        }
    }
}

static float *extract_layer (PtMethod              *method,
                             PtDataset             *dataset,
                             const PtNormalization *norm,
                             PtFeatureLayer         layer,
                             int                   *dim,
                             GCancellable          *cancellable,
                             GError               **error);

float *
pt_features_extract (PtMethod              *method,
                     PtDataset             *dataset,
                     const PtNormalization *norm,
                     int                   *dim,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_return_val_if_fail (method != NULL && PT_IS_DATASET (dataset) && dim != NULL, NULL);

  return extract_layer (method, dataset, norm, PT_FEATURE_LAYER_BACKBONE, dim,
                        cancellable, error);
}

static float *
extract_layer (PtMethod              *method,
               PtDataset             *dataset,
               const PtNormalization *norm,
               PtFeatureLayer         layer,
               int                   *dim,
               GCancellable          *cancellable,
               GError               **error)
{
  const PtMethodConfig *config;
  guint n;
  int d;
  gsize image_size;
  g_autofree float *images = NULL;
  g_autofree float *features = NULL;
  gboolean projection = layer == PT_FEATURE_LAYER_PROJECTION;

  config = pt_method_get_config (method);
  if (config->channels != pt_dataset_get_channels (dataset) ||
      config->height != pt_dataset_get_height (dataset) ||
      config->width != pt_dataset_get_width (dataset))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("The images of “%s” are %dx%dx%d but the encoder takes %dx%dx%d."),
                   pt_dataset_get_title (dataset), pt_dataset_get_channels (dataset),
                   pt_dataset_get_height (dataset), pt_dataset_get_width (dataset),
                   config->channels, config->height, config->width);
      return NULL;
    }
  n = pt_dataset_get_n_images (dataset);
  d = projection ? pt_method_get_projection_dim (method) : pt_method_get_feature_dim (method);
  if (projection && d <= 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("The method %s has no projection head."), pt_method_get_title (method));
      return NULL;
    }
  image_size = pt_dataset_get_image_size (dataset);
  images = g_new (float, (gsize) CHUNK * image_size);
  features = g_new (float, (gsize) MAX (n, 1) * d);
  for (guint first = 0; first < n; first += CHUNK)
    {
      guint count = MIN (CHUNK, n - first);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      fill_images (images, dataset, first, count, norm);
      if (!(projection
            ? pt_method_embed_projection (method, images, (int) count,
                                          features + (gsize) first * d, error)
            : pt_method_embed (method, images, (int) count,
                               features + (gsize) first * d, error)))
        return NULL;
    }
  *dim = d;
  return g_steal_pointer (&features);
}

float *
pt_features_raw_pixels (PtDataset *dataset,
                        int       *dim)
{
  guint n = pt_dataset_get_n_images (dataset);
  gsize size = pt_dataset_get_image_size (dataset);
  float *out = g_new (float, MAX ((gsize) n * size, 1));

  g_return_val_if_fail (PT_IS_DATASET (dataset) && dim != NULL, NULL);

  fill_images (out, dataset, 0, n, NULL);
  *dim = (int) size;
  return out;
}

PtDataset *
pt_features_open_split (const char   *run_dir,
                        PtSplit       split,
                        GCancellable *cancellable,
                        GError      **error)
{
  g_autoptr(PtRun) run = pt_run_open (run_dir, error);
  g_autofree char *spec = NULL;

  if (run == NULL)
    return NULL;
  spec = g_key_file_get_string (pt_run_get_config (run), "run", "dataset", NULL);
  if (spec == NULL || *spec == '\0')
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The run in “%s” does not record its dataset."), run_dir);
      return NULL;
    }
  return pt_dataset_open (spec, split, NULL, cancellable, NULL, NULL, error);
}

PtMethod *
pt_features_load_method (const char      *run_dir,
                         PtFeatureKind    kind,
                         PtNormalization *norm,
                         guint64         *step,
                         GError         **error)
{
  g_autoptr(PtRun) run = pt_run_open (run_dir, error);
  g_autoptr(PtMethod) method = NULL;
  PtNormalization local_norm;

  g_return_val_if_fail (kind != PT_FEATURES_RAW_PIXELS, NULL);

  if (run == NULL)
    return NULL;
  method = pt_train_method_from_config (pt_run_get_config (run),
                                        norm != NULL ? norm : &local_norm, error);
  if (method == NULL)
    return NULL;
  if (step != NULL)
    *step = 0;
  if (kind == PT_FEATURES_TRAINED &&
      !pt_train_load_weights (method, run_dir, step, NULL, error))
    return NULL;
  return g_steal_pointer (&method);
}

static const char *
split_name (PtDataset *dataset)
{
  return pt_dataset_get_split (dataset) == PT_SPLIT_TEST ? "test" : "train";
}

float *
pt_features_for_run (const char    *run_dir,
                     PtDataset     *dataset,
                     PtFeatureKind  kind,
                     int           *dim,
                     guint64       *step,
                     gboolean      *cached,
                     GCancellable  *cancellable,
                     GError       **error)
{
  return pt_features_for_run_layer (run_dir, dataset, kind, PT_FEATURE_LAYER_BACKBONE, dim,
                                    step, cached, cancellable, error);
}

gboolean
pt_features_run_has_projection (const char *run_dir)
{
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autofree char *path = NULL;
  g_autofree char *name = NULL;
  const PtMethodClass *klass;

  g_return_val_if_fail (run_dir != NULL, FALSE);

  /* from the method's class, read-only: building the method would cost
   * the caller (the Evaluate page, on the main thread) a whole network */
  path = g_build_filename (run_dir, "config.ini", NULL);
  if (!g_key_file_load_from_file (config, path, G_KEY_FILE_NONE, NULL))
    return FALSE;
  name = g_key_file_get_string (config, "run", "method", NULL);
  klass = name != NULL ? pt_method_lookup (name) : NULL;
  return klass != NULL && pt_method_class_has_projection (klass);
}

float *
pt_features_for_run_layer (const char     *run_dir,
                           PtDataset      *dataset,
                           PtFeatureKind   kind,
                           PtFeatureLayer  layer,
                           int            *dim,
                           guint64        *step,
                           gboolean       *cached,
                           GCancellable   *cancellable,
                           GError        **error)
{
  g_autoptr(PtMethod) method = NULL;
  g_autofree char *eval_dir = NULL;
  g_autofree char *name = NULL;
  g_autofree char *path = NULL;
  g_autofree float *features = NULL;
  PtNormalization norm;
  guint64 ckpt_step = 0;
  guint n;
  int d = 0, want;
  gboolean projection = layer == PT_FEATURE_LAYER_PROJECTION;

  g_return_val_if_fail (run_dir != NULL && PT_IS_DATASET (dataset) && dim != NULL, NULL);
  g_return_val_if_fail (layer == PT_FEATURE_LAYER_BACKBONE ||
                        layer == PT_FEATURE_LAYER_PROJECTION, NULL);

  if (cached != NULL)
    *cached = FALSE;
  if (step != NULL)
    *step = 0;
  if (kind == PT_FEATURES_RAW_PIXELS)
    return pt_features_raw_pixels (dataset, dim);

  method = pt_features_load_method (run_dir, kind, &norm, &ckpt_step, error);
  if (method == NULL)
    return NULL;
  if (projection && !pt_method_has_projection (method))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("The run in “%s” was trained with %s, which has no projection head: "
                     "only its encoder’s features exist."),
                   run_dir, pt_method_get_title (method));
      return NULL;
    }
  want = projection ? pt_method_get_projection_dim (method) : pt_method_get_feature_dim (method);
  n = pt_dataset_get_n_images (dataset);

  eval_dir = g_build_filename (run_dir, "eval", NULL);
  if (kind == PT_FEATURES_TRAINED)
    name = g_strdup_printf ("features-%s%s-step%llu.npy", split_name (dataset),
                            projection ? "-proj" : "", (unsigned long long) ckpt_step);
  else
    name = g_strdup_printf ("features-%s%s-random.npy", split_name (dataset),
                            projection ? "-proj" : "");
  path = g_build_filename (eval_dir, name, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      guint64 rows = 0, cols = 0;
      g_autoptr(GError) local = NULL;

      features = pt_npy_load_f32 (path, &rows, &cols, &local);
      if (features != NULL && rows == n && cols == (guint64) want)
        {
          *dim = (int) cols;
          if (step != NULL)
            *step = ckpt_step;
          if (cached != NULL)
            *cached = TRUE;
          return g_steal_pointer (&features);
        }
      g_clear_pointer (&features, g_free);   /* stale or damaged: recompute */
    }

  features = extract_layer (method, dataset, &norm, layer, &d, cancellable, error);
  if (features == NULL)
    return NULL;
  if (g_mkdir_with_parents (eval_dir, 0755) != 0 ||
      !pt_npy_save_f32 (path, features, n, (guint64) d, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                     _("Cannot create the folder “%s”."), eval_dir);
      return NULL;
    }
  *dim = d;
  if (step != NULL)
    *step = ckpt_step;
  return g_steal_pointer (&features);
}
