/* pt-train-spec.c: from a description of a run to a ready PtTrainer. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-checkpoint.h"
#include "pt-encoder.h"
#include "pt-train-spec.h"

G_DEFINE_QUARK (pt-train-spec-error-quark, pt_train_spec_error)

PtTrainSpec *
pt_train_spec_new (void)
{
  PtTrainSpec *spec = g_new0 (PtTrainSpec, 1);

  spec->width = PT_TRAIN_SPEC_DEFAULT_WIDTH;
  spec->batch_size = PT_TRAIN_SPEC_DEFAULT_BATCH;
  spec->epochs = PT_TRAIN_SPEC_DEFAULT_EPOCHS;
  return spec;
}

void
pt_train_spec_free (PtTrainSpec *spec)
{
  if (spec == NULL)
    return;
  g_free (spec->method);
  g_free (spec->dataset);
  g_free (spec->encoder);
  g_free (spec->augment);
  g_free (spec->out_dir);
  g_free (spec->init);
  g_clear_pointer (&spec->params, g_key_file_unref);
  g_free (spec);
}

gboolean
pt_train_spec_set_param (PtTrainSpec *spec,
                         const char  *assignment,
                         GError     **error)
{
  const char *eq = strchr (assignment, '=');
  g_autofree char *key = NULL;
  char *end = NULL;
  double value;

  if (eq == NULL || eq == assignment)
    {
      g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                   _("“%s” is not of the form KEY=VALUE."), assignment);
      return FALSE;
    }
  key = g_strstrip (g_strndup (assignment, eq - assignment));
  value = g_ascii_strtod (eq + 1, &end);
  if (end == eq + 1 || *end != '\0' || !isfinite (value))
    {
      g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                   _("The value of “%s” is not a number: “%s”."), key, eq + 1);
      return FALSE;
    }
  if (spec->params == NULL)
    spec->params = g_key_file_new ();
  g_key_file_set_double (spec->params, "method", key, value);
  return TRUE;
}

const char *
pt_train_spec_default_augment (const char *method)
{
  static const struct { const char *method, *preset; } table[] = {
    { "simclr", "simclr-small" },
    { "moco", "moco-v2" },
    { "swav", "swav" },
    { "mae", "mae" },
    { "rotnet", "rotnet" },
    { "deepcluster", "simclr-small" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (table); i++)
    if (g_strcmp0 (method, table[i].method) == 0)
      return table[i].preset;
  return NULL;
}

/* Crop + horizontal flip, one view group per run of equal view shapes. */
static PtAugRecipe *
plain_recipe (PtMethod  *method,
              PtDataset *dataset)
{
  PtViewShape shapes[PT_MAX_VIEWS];
  int n = pt_method_get_views (method, shapes);
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_new ("crop-flip");
  int H = pt_dataset_get_height (dataset);

  recipe->title = g_strdup ("Random resized crop and horizontal flip");
  if (n > 0 && shapes[0].channels != pt_dataset_get_channels (dataset))
    recipe->channels = shapes[0].channels;
  for (int v = 0; v < n;)
    {
      int count = 1;
      g_autofree char *name = g_strdup_printf ("view%d", v + 1);
      PtAugViewGroup *group;
      PtAugOpParams *crop;

      while (v + count < n && memcmp (&shapes[v], &shapes[v + count], sizeof shapes[0]) == 0)
        count++;
      group = pt_augment_recipe_add_group (recipe, name, count, 1.0);
      if (shapes[v].height != H)
        group->pixels = shapes[v].height;
      crop = pt_aug_view_group_enable (group, PT_AUG_CROP);
      crop->min = 0.2;
      pt_aug_view_group_enable (group, PT_AUG_HFLIP);
      v += count;
    }
  return g_steal_pointer (&recipe);
}

PtAugRecipe *
pt_train_spec_load_recipe (const char  *augment,
                           PtMethod    *method,
                           PtDataset   *dataset,
                           char       **name,
                           GError     **error)
{
  const char *preset = augment;
  PtAugRecipe *recipe;

  if (preset == NULL)
    preset = pt_train_spec_default_augment (pt_method_get_name (method));
  if (preset == NULL)
    {
      recipe = plain_recipe (method, dataset);
      if (name != NULL)
        *name = g_strdup (recipe->name);
      return recipe;
    }
  recipe = pt_augment_recipe_load (preset, error);
  if (recipe != NULL && name != NULL)
    *name = g_strdup (preset);
  return recipe;
}

/* Every key of the overrides must be a parameter of the method. */
static gboolean
check_overrides (const PtMethodClass *klass,
                 GKeyFile            *params,
                 GError             **error)
{
  g_auto(GStrv) keys = NULL;

  if (params == NULL || !g_key_file_has_group (params, "method"))
    return TRUE;
  keys = g_key_file_get_keys (params, "method", NULL, NULL);
  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    {
      gboolean found = g_strcmp0 (keys[k], "name") == 0;
      g_autoptr(GString) names = g_string_new (NULL);

      for (const PtMethodParam *p = klass->params; p != NULL && p->name != NULL; p++)
        {
          if (g_strcmp0 (p->name, keys[k]) == 0)
            found = TRUE;
          g_string_append_printf (names, "%s%s", names->len > 0 ? ", " : "", p->name);
        }
      if (!found)
        {
          g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                       _("%s has no parameter “%s” (it has: %s)."),
                       klass->title, keys[k], names->len > 0 ? names->str : "none");
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
lookup_method (const char           *name,
               const PtMethodClass **klass,
               GError              **error)
{
  guint n = 0;
  g_autofree const PtMethodClass **list = NULL;
  g_autoptr(GString) names = g_string_new (NULL);

  *klass = name != NULL ? pt_method_lookup (name) : NULL;
  if (*klass != NULL)
    return TRUE;
  list = pt_method_list (&n);
  for (guint i = 0; i < n; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? ", " : "", list[i]->name);
  g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNKNOWN,
               _("There is no method “%s” (available: %s)."),
               name != NULL ? name : "", names->len > 0 ? names->str : "none");
  return FALSE;
}

/* Seeds method's encoder from path (every check in pt-encoder.c) and says
 * what config.ini records about it. */
static gboolean
seed_encoder (PtMethod    *method,
              const char  *path,
              char       **abs_path,
              char       **sha256,
              GError     **error)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GMappedFile) mapped = NULL;

  if (!pt_encoder_seed_method (method, path, error))
    return FALSE;
  mapped = g_mapped_file_new (path, FALSE, error);
  if (mapped == NULL)
    return FALSE;
  *abs_path = g_file_get_path (file);
  *sha256 = g_compute_checksum_for_data (G_CHECKSUM_SHA256,
                                         (const guchar *) g_mapped_file_get_contents (mapped),
                                         g_mapped_file_get_length (mapped));
  return TRUE;
}

PtTrainer *
pt_train_spec_build (const PtTrainSpec *spec,
                     PtDataset         *dataset,
                     GCancellable      *cancellable,
                     GError           **error)
{
  g_autoptr(PtDataset) data = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(GKeyFile) params = NULL;
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(PtBatchSource) source = NULL;
  g_autoptr(PtRun) run = NULL;
  g_autofree char *recipe_name = NULL;
  g_autofree char *recipe_text = NULL;
  g_autofree char *out_dir = NULL;
  g_autofree char *init_abs = NULL;
  g_autofree char *init_sha = NULL;
  const PtMethodClass *klass;
  PtMethodConfig mc = { 0 };
  PtRunSpec rs = { 0 };
  PtNormalization norm;
  PtTrainerOptions options = { 0 };
  guint64 steps, per_epoch;
  int batch = spec->batch_size > 0 ? spec->batch_size : PT_TRAIN_SPEC_DEFAULT_BATCH;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (dataset == NULL || PT_IS_DATASET (dataset), NULL);

  if (!lookup_method (spec->method, &klass, error))
    return NULL;
  if (!check_overrides (klass, spec->params, error))
    return NULL;
  if (spec->steps == 0 && !(spec->epochs > 0 && isfinite (spec->epochs)))
    {
      g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                   _("The number of epochs must be positive."));
      return NULL;
    }

  if (dataset != NULL)
    data = g_object_ref (dataset);
  else
    {
      if (spec->dataset == NULL)
        {
          g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                       _("No dataset was given."));
          return NULL;
        }
      data = pt_dataset_open (spec->dataset, PT_SPLIT_TRAIN, NULL, cancellable,
                              NULL, NULL, error);
      if (data == NULL)
        return NULL;
    }
  if (pt_dataset_get_n_images (data) < (guint) batch)
    {
      g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_INVALID,
                   _("The dataset “%s” has %u images, fewer than one batch of %d."),
                   pt_dataset_get_title (data), pt_dataset_get_n_images (data), batch);
      return NULL;
    }

  per_epoch = pt_loader_source_batches_per_epoch (pt_dataset_get_n_images (data), batch);
  steps = spec->steps;
  if (steps == 0)
    steps = MAX ((guint64) ceil (spec->epochs * per_epoch), 1);

  /* The cosine schedule ends where the run does, and a memory bank
   * (DeepCluster's) holds the dataset, unless told otherwise. */
  params = g_key_file_new ();
  if (spec->params != NULL)
    {
      g_autofree char *text = g_key_file_to_data (spec->params, NULL, NULL);

      g_key_file_load_from_data (params, text, (gsize) -1, G_KEY_FILE_NONE, NULL);
    }
  for (const PtMethodParam *p = klass->params; p != NULL && p->name != NULL; p++)
    if (g_strcmp0 (p->name, "total_steps") == 0 &&
        !g_key_file_has_key (params, "method", "total_steps", NULL))
      g_key_file_set_uint64 (params, "method", "total_steps", steps);
    else if (g_strcmp0 (p->name, "bank_size") == 0 &&
             !g_key_file_has_key (params, "method", "bank_size", NULL))
      g_key_file_set_uint64 (params, "method", "bank_size",
                             (guint64) CLAMP ((double) pt_dataset_get_n_images (data),
                                              p->min_value, p->max_value));

  mc.channels = pt_dataset_get_channels (data);
  mc.height = pt_dataset_get_height (data);
  mc.width = pt_dataset_get_width (data);
  mc.batch_size = batch;
  mc.n_classes = pt_dataset_get_n_classes (data);
  mc.seed = spec->seed;
  mc.encoder = spec->encoder;
  mc.encoder_width = spec->width > 0 ? spec->width : PT_TRAIN_SPEC_DEFAULT_WIDTH;
  mc.params = params;
  mc.params_group = "method";
  method = pt_method_new_for_class (klass, &mc, error);
  if (method == NULL)
    return NULL;

  recipe = pt_train_spec_load_recipe (spec->augment, method, data, &recipe_name, error);
  if (recipe == NULL)
    return NULL;
  if (!pt_loader_source_check_views (recipe, method, data, error))
    return NULL;
  recipe_text = pt_augment_recipe_to_data (recipe, NULL);
  /* Before the run directory exists, so a bad file leaves nothing behind. */
  if (spec->init != NULL && !seed_encoder (method, spec->init, &init_abs, &init_sha, error))
    return NULL;

  pt_normalization_from_dataset (&norm, data);
  rs.method = klass->name;
  rs.dataset = spec->dataset != NULL ? spec->dataset : pt_dataset_get_spec (data);
  rs.dataset_hash = pt_dataset_get_content_hash (data);
  rs.encoder = spec->encoder;
  rs.encoder_width = mc.encoder_width;
  rs.batch_size = batch;
  rs.seed = spec->seed;
  rs.steps = steps;
  rs.augment_name = recipe_name;
  rs.augment_content = recipe_text;
  config = pt_run_config_new (&rs, method);
  pt_normalization_save (&norm, config, "run");
  g_key_file_set_integer (config, "run", "channels", mc.channels);
  g_key_file_set_integer (config, "run", "height", mc.height);
  g_key_file_set_integer (config, "run", "width", mc.width);
  g_key_file_set_integer (config, "run", "n_classes", mc.n_classes);
  g_key_file_set_integer (config, "run", "checkpoint_every",
                          spec->checkpoint_every > 0 ? spec->checkpoint_every : 500);
  if (init_abs != NULL)
    {
      g_key_file_set_string (config, "run", "init", init_abs);
      g_key_file_set_string (config, "run", "init_sha256", init_sha);
    }

  out_dir = spec->out_dir != NULL ? g_strdup (spec->out_dir)
                                  : pt_run_default_dir (NULL, klass->name, rs.dataset);
  run = pt_run_create (out_dir, config, error);
  if (run == NULL)
    return NULL;

  source = pt_loader_source_new (data, recipe, method, spec->seed, &norm, 0, error);
  if (source == NULL)
    return NULL;

  options.total_steps = steps;
  options.checkpoint_every = spec->checkpoint_every > 0 ? spec->checkpoint_every : 500;
  options.visuals_every = spec->visuals_every > 0 ? spec->visuals_every
                                                  : PT_TRAIN_SPEC_DEFAULT_VISUALS;
  return pt_trainer_new (method, g_steal_pointer (&source), g_steal_pointer (&run), &options);
}

static int
config_int (GKeyFile   *config,
            const char *key,
            int         fallback)
{
  g_autoptr(GError) local = NULL;
  int v = g_key_file_get_integer (config, "run", key, &local);

  return local != NULL ? fallback : v;
}

PtMethod *
pt_train_method_from_config (GKeyFile        *config,
                             PtNormalization *norm,
                             GError         **error)
{
  g_autofree char *name = g_key_file_get_string (config, "run", "method", NULL);
  g_autofree char *encoder = g_key_file_get_string (config, "run", "encoder", NULL);
  const PtMethodClass *klass;
  PtMethodConfig mc = { 0 };

  if (!lookup_method (name, &klass, error))
    return NULL;
  if (norm != NULL && !pt_normalization_load (norm, config, "run", error))
    return NULL;
  mc.channels = config_int (config, "channels", 0);
  mc.height = config_int (config, "height", 0);
  mc.width = config_int (config, "width", 0);
  mc.batch_size = config_int (config, "batch_size", 0);
  mc.n_classes = config_int (config, "n_classes", 0);
  mc.seed = g_key_file_get_uint64 (config, "run", "seed", NULL);
  mc.encoder = encoder != NULL && *encoder != '\0' ? encoder : NULL;
  mc.encoder_width = config_int (config, "encoder_width", 0);
  mc.params = config;
  mc.params_group = "method";
  if (mc.channels <= 0 || mc.height <= 0 || mc.width <= 0 || mc.batch_size <= 0)
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The run configuration lacks the image shape or the batch size."));
      return NULL;
    }
  return pt_method_new_for_class (klass, &mc, error);
}

gboolean
pt_train_load_weights (PtMethod    *method,
                       const char  *run_dir,
                       guint64     *step,
                       char       **warning,
                       GError     **error)
{
  g_autoptr(PtRun) run = pt_run_open (run_dir, error);

  if (run == NULL)
    return FALSE;
  /* The trainer knows its own checkpoint layout. */
  return pt_trainer_load_method_state (method, run, step, warning, error);
}

PtTrainer *
pt_train_resume (const char  *run_dir,
                 guint64      total_steps,
                 char       **warning,
                 GError     **error)
{
  g_autoptr(PtRun) run = NULL;
  g_autoptr(PtDataset) data = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(PtBatchSource) source = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *recipe_text = NULL;
  g_autofree char *origin = NULL;
  PtNormalization norm;
  PtTrainerOptions options = { 0 };
  GKeyFile *config;
  const char *now_hash;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (run_dir != NULL, NULL);

  run = pt_run_open (run_dir, error);
  if (run == NULL)
    return NULL;
  config = pt_run_get_config (run);
  dataset = g_key_file_get_string (config, "run", "dataset", NULL);
  hash = g_key_file_get_string (config, "run", "dataset_hash", NULL);
  recipe_text = g_key_file_get_string (config, "augment", "content", NULL);
  if (dataset == NULL || *dataset == '\0' || recipe_text == NULL || *recipe_text == '\0')
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The run in “%s” does not record its dataset or augmentation recipe."),
                   run_dir);
      return NULL;
    }

  method = pt_train_method_from_config (config, &norm, error);
  if (method == NULL)
    return NULL;

  data = pt_dataset_open (dataset, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, error);
  if (data == NULL)
    return NULL;
  now_hash = pt_dataset_get_content_hash (data);
  if (hash != NULL && *hash != '\0' && g_strcmp0 (hash, now_hash) != 0)
    {
      g_set_error (error, PT_TRAIN_SPEC_ERROR, PT_TRAIN_SPEC_ERROR_MISMATCH,
                   _("The dataset “%s” is not the one the run in “%s” was trained on (its content hash changed), so the run cannot resume."),
                   dataset, run_dir);
      return NULL;
    }

  origin = g_build_filename (run_dir, "config.ini", NULL);
  recipe = pt_augment_recipe_load_data (recipe_text, (gsize) -1, origin, error);
  if (recipe == NULL)
    return NULL;
  source = pt_loader_source_new (data, recipe, method,
                                 g_key_file_get_uint64 (config, "run", "seed", NULL),
                                 &norm, 0, &local_error);
  if (source == NULL)
    {
      /* the run trained with this recipe, so the method changed since */
      if (g_error_matches (local_error, PT_LOADER_SOURCE_ERROR, PT_LOADER_SOURCE_ERROR_VIEWS))
        g_prefix_error (&local_error,
                        _("The run in “%s” was made by an earlier form of %s and cannot resume with this one. "),
                        run_dir, pt_method_get_title (method));
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  options.total_steps = total_steps > 0 ? total_steps
                                        : g_key_file_get_uint64 (config, "run", "steps", NULL);
  options.checkpoint_every = 500;
  if (g_key_file_has_key (config, "run", "checkpoint_every", NULL))
    options.checkpoint_every = config_int (config, "checkpoint_every", 500);
  options.visuals_every = PT_TRAIN_SPEC_DEFAULT_VISUALS;
  trainer = pt_trainer_new (method, g_steal_pointer (&source), g_steal_pointer (&run), &options);
  if (!pt_trainer_load_checkpoint (trainer, warning, error))
    return NULL;
  return g_steal_pointer (&trainer);
}
