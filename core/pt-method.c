/* pt-method.c: the method interface, its registry, batches and visuals. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-method.h"

G_DEFINE_QUARK (pt-method-error-quark, pt_method_error)

/* ---- Batches ---------------------------------------------------------- */

PtBatch *
pt_batch_new (int                batch_size,
              int                n_views,
              const PtViewShape *shapes)
{
  PtBatch *batch;

  g_return_val_if_fail (batch_size > 0, NULL);
  g_return_val_if_fail (n_views > 0 && n_views <= PT_MAX_VIEWS, NULL);

  batch = g_new0 (PtBatch, 1);
  batch->batch_size = batch_size;
  batch->n_views = n_views;
  for (int v = 0; v < n_views; v++)
    {
      batch->shape[v] = shapes[v];
      batch->views[v] = g_new0 (float, pt_batch_view_size (batch, v));
    }
  batch->labels = g_new0 (int, batch_size);
  batch->indices = g_new0 (guint32, batch_size);
  return batch;
}

void
pt_batch_free (PtBatch *batch)
{
  if (batch == NULL)
    return;
  for (int v = 0; v < batch->n_views; v++)
    g_free (batch->views[v]);
  g_free (batch->labels);
  g_free (batch->indices);
  g_free (batch);
}

gsize
pt_batch_view_size (const PtBatch *batch,
                    int            v)
{
  const PtViewShape *s = &batch->shape[v];

  return (gsize) batch->batch_size * s->channels * s->height * s->width;
}

/* ---- Step results ----------------------------------------------------- */

void
pt_step_result_add_part (PtStepResult *result,
                         const char   *name,
                         double        value)
{
  g_return_if_fail (result->n_parts < PT_MAX_LOSS_PARTS);
  result->parts[result->n_parts].name = name;
  result->parts[result->n_parts].value = value;
  result->n_parts++;
}

void
pt_step_result_add_stat (PtStepResult *result,
                         const char   *name,
                         double        value)
{
  g_return_if_fail (result->n_stats < PT_MAX_STATS);
  result->stats[result->n_stats].name = name;
  result->stats[result->n_stats].value = value;
  result->n_stats++;
}

/* ---- Visuals ---------------------------------------------------------- */

struct _PtVisuals
{
  gatomicrefcount  ref_count;
  guint64          step;
  GArray          *items;   /* PtVisualItem */
};

static void
visual_item_clear (gpointer data)
{
  PtVisualItem *item = data;

  g_free (item->name);
  g_free (item->data);
}

PtVisuals *
pt_visuals_new (guint64 step)
{
  PtVisuals *visuals = g_new0 (PtVisuals, 1);

  g_atomic_ref_count_init (&visuals->ref_count);
  visuals->step = step;
  visuals->items = g_array_new (FALSE, TRUE, sizeof (PtVisualItem));
  g_array_set_clear_func (visuals->items, visual_item_clear);
  return visuals;
}

PtVisuals *
pt_visuals_ref (PtVisuals *visuals)
{
  g_return_val_if_fail (visuals != NULL, NULL);
  g_atomic_ref_count_inc (&visuals->ref_count);
  return visuals;
}

void
pt_visuals_unref (PtVisuals *visuals)
{
  if (visuals == NULL)
    return;
  if (g_atomic_ref_count_dec (&visuals->ref_count))
    {
      g_array_unref (visuals->items);
      g_free (visuals);
    }
}

void
pt_visuals_add (PtVisuals    *visuals,
                const char   *name,
                PtVisualKind  kind,
                int           rank,
                const int    *shape,
                const float  *data)
{
  PtVisualItem item = { 0 };
  gsize n = 1;

  g_return_if_fail (visuals != NULL && name != NULL);
  g_return_if_fail (rank >= 1 && rank <= 4);

  item.name = g_strdup (name);
  item.kind = kind;
  item.rank = rank;
  for (int i = 0; i < rank; i++)
    {
      g_return_if_fail (shape[i] > 0);
      item.shape[i] = shape[i];
      n *= shape[i];
    }
  item.data = g_memdup2 (data, n * sizeof (float));
  g_array_append_val (visuals->items, item);
}

guint64
pt_visuals_get_step (PtVisuals *visuals)
{
  return visuals->step;
}

guint
pt_visuals_get_n_items (PtVisuals *visuals)
{
  return visuals->items->len;
}

const PtVisualItem *
pt_visuals_get_item (PtVisuals *visuals,
                     guint      i)
{
  g_return_val_if_fail (i < visuals->items->len, NULL);
  return &g_array_index (visuals->items, PtVisualItem, i);
}

const PtVisualItem *
pt_visuals_lookup (PtVisuals  *visuals,
                   const char *name)
{
  for (guint i = 0; i < visuals->items->len; i++)
    {
      const PtVisualItem *item = &g_array_index (visuals->items, PtVisualItem, i);

      if (g_strcmp0 (item->name, name) == 0)
        return item;
    }
  return NULL;
}

/* ---- Blobs ------------------------------------------------------------ */

gsize
pt_blob_type_size (PtBlobType type)
{
  switch (type)
    {
    case PT_BLOB_F32: return 4;
    case PT_BLOB_F64: return 8;
    case PT_BLOB_U64: return 8;
    case PT_BLOB_U8:  return 1;
    default:          return 0;
    }
}

const char *
pt_blob_type_name (PtBlobType type)
{
  switch (type)
    {
    case PT_BLOB_F32: return "f32";
    case PT_BLOB_F64: return "f64";
    case PT_BLOB_U64: return "u64";
    case PT_BLOB_U8:  return "u8";
    default:          return "unknown";
    }
}

/* ---- Registry --------------------------------------------------------- */

static GMutex registry_mutex;
static GPtrArray *registry;   /* const PtMethodClass *, never freed */

void
pt_method_register (const PtMethodClass *klass)
{
  g_return_if_fail (klass != NULL && klass->name != NULL);
  g_return_if_fail (klass->alloc != NULL && klass->init != NULL && klass->step != NULL);
  g_return_if_fail (klass->get_views != NULL && klass->list_state != NULL);

  g_mutex_lock (&registry_mutex);
  if (registry == NULL)
    registry = g_ptr_array_new ();
  for (guint i = 0; i < registry->len; i++)
    if (strcmp (((const PtMethodClass *) registry->pdata[i])->name, klass->name) == 0)
      {
        /* Registering the same class twice is harmless; a clash is a bug. */
        g_assert (registry->pdata[i] == klass);
        g_mutex_unlock (&registry_mutex);
        return;
      }
  g_ptr_array_add (registry, (gpointer) klass);
  g_mutex_unlock (&registry_mutex);
}

const PtMethodClass *
pt_method_lookup (const char *name)
{
  const PtMethodClass *found = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  g_mutex_lock (&registry_mutex);
  for (guint i = 0; registry != NULL && i < registry->len; i++)
    if (strcmp (((const PtMethodClass *) registry->pdata[i])->name, name) == 0)
      found = registry->pdata[i];
  g_mutex_unlock (&registry_mutex);
  return found;
}

const PtMethodClass **
pt_method_list (guint *n_methods)
{
  const PtMethodClass **list;
  guint n;

  g_mutex_lock (&registry_mutex);
  n = registry != NULL ? registry->len : 0;
  list = g_new0 (const PtMethodClass *, n + 1);
  for (guint i = 0; i < n; i++)
    list[i] = registry->pdata[i];
  g_mutex_unlock (&registry_mutex);
  if (n_methods != NULL)
    *n_methods = n;
  return list;
}

/* ---- Instances -------------------------------------------------------- */

static guint
count_params (const PtMethodClass *klass)
{
  guint n = 0;

  while (klass->params != NULL && klass->params[n].name != NULL)
    n++;
  return n;
}

static int
param_index (const PtMethodClass *klass,
             const char          *name)
{
  for (guint i = 0; klass->params != NULL && klass->params[i].name != NULL; i++)
    if (strcmp (klass->params[i].name, name) == 0)
      return (int) i;
  return -1;
}

static gboolean
check_param_value (const PtMethodClass *klass,
                   const PtMethodParam *param,
                   double               value,
                   GError             **error)
{
  if (!isfinite (value) || value < param->min_value || value > param->max_value)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The value %g of %s parameter “%s” is outside %g to %g."),
                   value, klass->title, param->name, param->min_value, param->max_value);
      return FALSE;
    }
  if (param->integer && value != floor (value))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The %s parameter “%s” must be a whole number, not %g."),
                   klass->title, param->name, value);
      return FALSE;
    }
  return TRUE;
}

PtMethod *
pt_method_new (const char           *name,
               const PtMethodConfig *config,
               GError              **error)
{
  const PtMethodClass *klass;

  g_return_val_if_fail (name != NULL, NULL);

  klass = pt_method_lookup (name);
  if (klass == NULL)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNKNOWN,
                   _("There is no method called “%s”."), name);
      return NULL;
    }
  return pt_method_new_for_class (klass, config, error);
}

PtMethod *
pt_method_new_for_class (const PtMethodClass  *klass,
                         const PtMethodConfig *config,
                         GError              **error)
{
  g_autoptr(PtMethod) self = NULL;
  const char *group;
  guint n_params;

  g_return_val_if_fail (klass != NULL && config != NULL, NULL);

  n_params = count_params (klass);
  self = klass->alloc ();
  self->klass = klass;
  self->ref_count = 1;
  self->param_values = g_new0 (double, MAX (n_params, 1));
  self->config = *config;
  self->config.params = NULL;
  self->config.params_group = NULL;
  self->encoder = g_strdup (config->encoder);
  self->config.encoder = self->encoder;

  group = config->params_group != NULL ? config->params_group : "method";
  for (guint i = 0; i < n_params; i++)
    {
      const PtMethodParam *param = &klass->params[i];
      double value = param->default_value;

      if (config->params != NULL &&
          g_key_file_has_key (config->params, group, param->name, NULL))
        {
          g_autoptr(GError) local_error = NULL;

          value = g_key_file_get_double (config->params, group, param->name, &local_error);
          if (local_error != NULL)
            {
              g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                           _("The %s parameter “%s” is not a number."),
                           klass->title, param->name);
              return NULL;
            }
        }
      if (!check_param_value (klass, param, value, error))
        return NULL;
      self->param_values[i] = value;
    }

  if (!klass->init (self, &self->config, error))
    return NULL;
  return g_steal_pointer (&self);
}

PtMethod *
pt_method_ref (PtMethod *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_int_inc (&self->ref_count);
  return self;
}

void
pt_method_unref (PtMethod *self)
{
  if (self == NULL)
    return;
  if (!g_atomic_int_dec_and_test (&self->ref_count))
    return;
  if (self->klass->finalize != NULL)
    self->klass->finalize (self);
  g_free (self->param_values);
  g_free (self->encoder);
  g_free (self);
}

const char *
pt_method_get_name (PtMethod *self)
{
  return self->klass->name;
}

const char *
pt_method_get_title (PtMethod *self)
{
  return self->klass->title;
}

const PtMethodConfig *
pt_method_get_config (PtMethod *self)
{
  return &self->config;
}

int
pt_method_get_views (PtMethod    *self,
                     PtViewShape *shapes)
{
  int n = self->klass->get_views (self, shapes);

  g_assert (n >= 1 && n <= PT_MAX_VIEWS);
  return n;
}

char *
pt_method_dup_architecture (PtMethod *self)
{
  if (self->klass->dup_architecture != NULL)
    return self->klass->dup_architecture (self);
  return g_strdup (self->klass->name);
}

gboolean
pt_method_step (PtMethod      *self,
                const PtBatch *batch,
                PtStepResult  *result,
                GError       **error)
{
  g_return_val_if_fail (self != NULL && batch != NULL && result != NULL, FALSE);

  memset (result, 0, sizeof *result);
  result->grad_finite = TRUE;
  return self->klass->step (self, batch, result, error);
}

int
pt_method_get_feature_dim (PtMethod *self)
{
  return self->klass->get_feature_dim != NULL ? self->klass->get_feature_dim (self) : 0;
}

gboolean
pt_method_embed (PtMethod    *self,
                 const float *images,
                 int          n,
                 float       *features,
                 GError     **error)
{
  if (self->klass->embed == NULL)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("The method %s cannot compute features."), self->klass->title);
      return FALSE;
    }
  return self->klass->embed (self, images, n, features, error);
}

int
pt_method_get_projection_dim (PtMethod *self)
{
  g_return_val_if_fail (self != NULL, 0);

  if (self->klass->get_projection_dim == NULL || self->klass->embed_projection == NULL)
    return 0;
  return MAX (self->klass->get_projection_dim (self), 0);
}

gboolean
pt_method_class_has_projection (const PtMethodClass *klass)
{
  g_return_val_if_fail (klass != NULL, FALSE);

  return klass->has_projection && klass->get_projection_dim != NULL &&
         klass->embed_projection != NULL;
}

gboolean
pt_method_has_projection (PtMethod *self)
{
  return pt_method_get_projection_dim (self) > 0;
}

gboolean
pt_method_embed_projection (PtMethod    *self,
                            const float *images,
                            int          n,
                            float       *features,
                            GError     **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (n >= 0 && (n == 0 || (images != NULL && features != NULL)), FALSE);

  if (!pt_method_has_projection (self))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("The method %s has no projection head."), self->klass->title);
      return FALSE;
    }
  return self->klass->embed_projection (self, images, n, features, error);
}

PtVisuals *
pt_method_visuals (PtMethod *self)
{
  return self->klass->visuals != NULL ? self->klass->visuals (self) : NULL;
}

GArray *
pt_method_list_state (PtMethod *self)
{
  GArray *blobs = g_array_new (FALSE, TRUE, sizeof (PtBlob));

  self->klass->list_state (self, blobs);
  return blobs;
}

void
pt_method_state_loaded (PtMethod *self)
{
  if (self->klass->state_loaded != NULL)
    self->klass->state_loaded (self);
}

const PtMethodParam *
pt_method_get_params (PtMethod *self,
                      guint    *n_params)
{
  if (n_params != NULL)
    *n_params = count_params (self->klass);
  return self->klass->params;
}

const PtMethodParam *
pt_method_find_param (PtMethod   *self,
                      const char *name)
{
  int i = param_index (self->klass, name);

  return i >= 0 ? &self->klass->params[i] : NULL;
}

gboolean
pt_method_has_param (PtMethod   *self,
                     const char *name)
{
  return param_index (self->klass, name) >= 0;
}

double
pt_method_get_param (PtMethod   *self,
                     const char *name)
{
  int i = param_index (self->klass, name);

  g_return_val_if_fail (i >= 0, NAN);
  return self->param_values[i];
}

gboolean
pt_method_is_param_live (PtMethod   *self,
                         const char *name)
{
  int i = param_index (self->klass, name);

  return i >= 0 && self->klass->params[i].live;
}

gboolean
pt_method_set_param (PtMethod    *self,
                     const char  *name,
                     double       value,
                     gboolean     only_live,
                     GError     **error)
{
  int i;

  g_return_val_if_fail (self != NULL && name != NULL, FALSE);

  i = param_index (self->klass, name);
  if (i < 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The method %s has no parameter “%s”."), self->klass->title, name);
      return FALSE;
    }
  if (only_live && !self->klass->params[i].live)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The %s parameter “%s” cannot change during a run."),
                   self->klass->title, name);
      return FALSE;
    }
  if (!check_param_value (self->klass, &self->klass->params[i], value, error))
    return FALSE;
  if (self->param_values[i] == value)
    return TRUE;
  self->param_values[i] = value;
  if (self->klass->param_changed != NULL)
    self->klass->param_changed (self, name);
  return TRUE;
}

void
pt_method_save_params (PtMethod   *self,
                       GKeyFile   *keyfile,
                       const char *group)
{
  guint n = count_params (self->klass);

  if (group == NULL)
    group = "method";
  g_key_file_set_string (keyfile, group, "name", self->klass->name);
  for (guint i = 0; i < n; i++)
    {
      char buf[G_ASCII_DTOSTR_BUF_SIZE];

      g_ascii_dtostr (buf, sizeof buf, self->param_values[i]);
      g_key_file_set_value (keyfile, group, self->klass->params[i].name, buf);
    }
}
