/* pt-train-setup.c: a trainer from a request or from a run folder. */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-augment.h"
#include "pt-batch-source.h"
#include "pt-loader.h"
#include "pt-train-setup.h"

/* The method's views must be exactly the recipe's for this input shape. */
static gboolean
check_views (PtMethod           *method,
             const PtAugRecipe  *recipe,
             const char         *recipe_name,
             int                 C,
             int                 H,
             int                 W,
             GError            **error)
{
  PtViewShape want[PT_MAX_VIEWS];
  int n_want = pt_method_get_views (method, want);
  guint n_have = pt_augment_recipe_get_n_views (recipe);

  if ((guint) n_want != n_have)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                   _("The augmentation “%s” makes %u views per image, but %s needs %d."),
                   recipe_name, n_have, pt_method_get_title (method), n_want);
      return FALSE;
    }
  for (int v = 0; v < n_want; v++)
    {
      int c, h, w;

      pt_augment_recipe_get_view_shape (recipe, (guint) v, C, H, W, &c, &h, &w);
      if (c != want[v].channels || h != want[v].height || w != want[v].width)
        {
          g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                       _("View %d of the augmentation “%s” is %d×%d×%d, but %s needs %d×%d×%d."),
                       v + 1, recipe_name, c, h, w, pt_method_get_title (method),
                       want[v].channels, want[v].height, want[v].width);
          return FALSE;
        }
    }
  return TRUE;
}

static void
method_config_for (PtMethodConfig *config,
                   PtDataset      *dataset,
                   int             batch_size,
                   guint64         seed,
                   const char     *encoder,
                   int             encoder_width,
                   GKeyFile       *params)
{
  memset (config, 0, sizeof *config);
  config->channels = pt_dataset_get_channels (dataset);
  config->height = pt_dataset_get_height (dataset);
  config->width = pt_dataset_get_width (dataset);
  config->batch_size = batch_size;
  config->n_classes = pt_dataset_get_n_classes (dataset);
  config->seed = seed;
  config->encoder = encoder != NULL && *encoder != '\0' ? encoder : NULL;
  config->encoder_width = encoder_width;
  config->params = params;
  config->params_group = "method";
}

static PtLoader *
loader_for (PtDataset         *dataset,
            const PtAugRecipe *recipe,
            int                batch_size,
            guint64            seed,
            gboolean           normalize,
            const float       *mean,
            const float       *std,
            GError           **error)
{
  PtLoaderOptions options;

  pt_loader_options_init (&options);
  options.batch_size = (guint) batch_size;
  options.seed = seed;
  options.normalize = normalize;
  memcpy (options.mean, mean, sizeof options.mean);
  memcpy (options.std, std, sizeof options.std);
  return pt_loader_new (dataset, recipe, &options, error);
}

PtTrainer *
pt_train_setup_new (const PtTrainRequest   *request,
                    PtDataset              *dataset,
                    const PtTrainerOptions *options,
                    GError                **error)
{
  g_autoptr(PtDataset) owned = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(PtRun) run = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *recipe_text = NULL;
  const char *augment;
  PtLoader *loader;
  PtMethodConfig mconfig;
  PtRunSpec spec = { 0 };
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (request != NULL && request->method != NULL, NULL);
  g_return_val_if_fail (request->batch_size > 0, NULL);

  if (dataset == NULL)
    {
      g_return_val_if_fail (request->dataset != NULL, NULL);
      owned = pt_dataset_open (request->dataset, PT_SPLIT_TRAIN, &request->dataset_options,
                               NULL, NULL, NULL, error);
      if (owned == NULL)
        return NULL;
      dataset = owned;
    }

  augment = request->augment != NULL ? request->augment : request->method;
  recipe = pt_augment_recipe_load (augment, error);
  if (recipe == NULL)
    return NULL;

  method_config_for (&mconfig, dataset, request->batch_size, request->seed, request->encoder,
                     request->encoder_width, request->params);
  method = pt_method_new (request->method, &mconfig, error);
  if (method == NULL)
    return NULL;
  if (!check_views (method, recipe, augment, pt_dataset_get_channels (dataset),
                    pt_dataset_get_height (dataset), pt_dataset_get_width (dataset), error))
    return NULL;

  recipe_text = pt_augment_recipe_to_data (recipe, NULL);
  spec.method = request->method;
  spec.dataset = pt_dataset_get_spec (dataset);
  spec.dataset_hash = pt_dataset_get_content_hash (dataset);
  spec.encoder = request->encoder;
  spec.encoder_width = request->encoder_width;
  spec.batch_size = request->batch_size;
  spec.seed = request->seed;
  spec.steps = request->steps;
  spec.augment_name = augment;
  spec.augment_content = recipe_text;
  config = pt_run_config_new (&spec, method);
  g_key_file_set_string (config, "dataset", "spec", pt_dataset_get_spec (dataset));
  g_key_file_set_string (config, "dataset", "hash", pt_dataset_get_content_hash (dataset));
  g_key_file_set_integer (config, "dataset", "resolution", request->dataset_options.resolution);
  g_key_file_set_integer (config, "dataset", "shapes_train", request->dataset_options.shapes_train);
  g_key_file_set_integer (config, "dataset", "shapes_test", request->dataset_options.shapes_test);
  g_key_file_set_uint64 (config, "dataset", "shapes_seed", request->dataset_options.shapes_seed);
  g_key_file_set_boolean (config, "loader", "normalize", request->normalize);
  for (int c = 0; c < 3; c++)
    {
      g_autofree char *mean_key = g_strdup_printf ("mean%d", c);
      g_autofree char *std_key = g_strdup_printf ("std%d", c);

      g_key_file_set_value (config, "loader", mean_key,
                            g_ascii_dtostr (buf, sizeof buf, request->mean[c]));
      g_key_file_set_value (config, "loader", std_key,
                            g_ascii_dtostr (buf, sizeof buf, request->std[c]));
    }

  dir = request->out_dir != NULL
          ? g_strdup (request->out_dir)
          : pt_run_default_dir (request->runs_root, request->method, pt_dataset_get_spec (dataset));
  run = pt_run_create (dir, config, error);
  if (run == NULL)
    return NULL;

  loader = loader_for (dataset, recipe, request->batch_size, request->seed, request->normalize,
                       request->mean, request->std, error);
  if (loader == NULL)
    return NULL;
  return pt_trainer_new (method, pt_batch_source_new_for_loader (loader),
                         g_steal_pointer (&run), options);
}

static gboolean
get_int (GKeyFile    *config,
         const char  *path,
         const char  *group,
         const char  *key,
         int         *value,
         GError     **error)
{
  g_autoptr(GError) local_error = NULL;

  *value = g_key_file_get_integer (config, group, key, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                   _("The file %s lacks a valid “%s” in [%s]."), path, key, group);
      return FALSE;
    }
  return TRUE;
}

PtTrainer *
pt_train_setup_resume (const char             *dir,
                       PtDataset              *dataset,
                       const PtTrainerOptions *options,
                       char                  **warning,
                       GError                **error)
{
  g_autoptr(PtRun) run = NULL;
  g_autoptr(PtDataset) owned = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autofree char *path = NULL;
  g_autofree char *spec = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *encoder = NULL;
  g_autofree char *augment_name = NULL;
  g_autofree char *augment = NULL;
  GKeyFile *config;
  PtDatasetOptions dopts = { 0 };
  PtMethodConfig mconfig;
  PtLoader *loader;
  int batch_size, encoder_width;
  guint64 seed;
  gboolean normalize;
  float mean[3], std[3];

  g_return_val_if_fail (dir != NULL, NULL);

  run = pt_run_open (dir, error);
  if (run == NULL)
    return NULL;
  config = pt_run_get_config (run);
  path = g_build_filename (dir, "config.ini", NULL);

  spec = g_key_file_get_string (config, "dataset", "spec", NULL);
  hash = g_key_file_get_string (config, "dataset", "hash", NULL);
  augment = g_key_file_get_string (config, "augment", "content", NULL);
  augment_name = g_key_file_get_string (config, "augment", "name", NULL);
  if (spec == NULL || hash == NULL || augment == NULL)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                   _("The file %s lacks the dataset or augmentation of the run."), path);
      return NULL;
    }
  if (!get_int (config, path, "run", "batch_size", &batch_size, error) ||
      !get_int (config, path, "run", "encoder_width", &encoder_width, error) ||
      !get_int (config, path, "dataset", "resolution", &dopts.resolution, error) ||
      !get_int (config, path, "dataset", "shapes_train", &dopts.shapes_train, error) ||
      !get_int (config, path, "dataset", "shapes_test", &dopts.shapes_test, error))
    return NULL;
  if (batch_size <= 0)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                   _("The file %s has an invalid batch size %d."), path, batch_size);
      return NULL;
    }
  dopts.shapes_seed = (guint32) g_key_file_get_uint64 (config, "dataset", "shapes_seed", NULL);
  seed = g_key_file_get_uint64 (config, "run", "seed", NULL);
  encoder = g_key_file_get_string (config, "run", "encoder", NULL);
  normalize = g_key_file_get_boolean (config, "loader", "normalize", NULL);
  for (int c = 0; c < 3; c++)
    {
      g_autofree char *mean_key = g_strdup_printf ("mean%d", c);
      g_autofree char *std_key = g_strdup_printf ("std%d", c);

      mean[c] = (float) g_key_file_get_double (config, "loader", mean_key, NULL);
      std[c] = (float) g_key_file_get_double (config, "loader", std_key, NULL);
    }

  if (dataset == NULL)
    {
      owned = pt_dataset_open (spec, PT_SPLIT_TRAIN, &dopts, NULL, NULL, NULL, error);
      if (owned == NULL)
        return NULL;
      dataset = owned;
    }
  if (g_strcmp0 (pt_dataset_get_content_hash (dataset), hash) != 0)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP,
                   _("The dataset “%s” is not the one the run in %s was trained on "
                     "(its content hash differs)."), pt_dataset_get_spec (dataset), dir);
      return NULL;
    }

  recipe = pt_augment_recipe_load_data (augment, strlen (augment), path, error);
  if (recipe == NULL)
    return NULL;
  method_config_for (&mconfig, dataset, batch_size, seed, encoder, encoder_width, config);
  method = pt_method_new (pt_run_get_method (run), &mconfig, error);
  if (method == NULL)
    return NULL;
  if (!check_views (method, recipe, augment_name != NULL ? augment_name : path,
                    pt_dataset_get_channels (dataset), pt_dataset_get_height (dataset),
                    pt_dataset_get_width (dataset), error))
    return NULL;
  loader = loader_for (dataset, recipe, batch_size, seed, normalize, mean, std, error);
  if (loader == NULL)
    return NULL;
  trainer = pt_trainer_new (method, pt_batch_source_new_for_loader (loader),
                            g_steal_pointer (&run), options);
  if (!pt_trainer_load_checkpoint (trainer, warning, error))
    return NULL;
  return g_steal_pointer (&trainer);
}
