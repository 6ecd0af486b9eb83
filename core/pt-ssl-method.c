/* pt-ssl-method.c: the five SSL methods (pt-ssl.h) as PtMethods (pt-method.h).
 *
 * One generic adapter: a PtMethodClass per PtSslMethodClass, filled at
 * registration (same name, title, description and parameter table), whose
 * instance holds the PtSslMethod and forwards every call to it.
 */
#include <math.h>
#include "pt-build-config.h"

#include <string.h>

#include <glib/gi18n.h>

#include "pt-method.h"
#include "pt-ssl.h"

typedef struct {
  PtMethod     parent;
  PtSslMethod *ssl;
} PtSslAdapter;

#define N_CLASSES 5

static PtMethodClass adapter_classes[N_CLASSES];
static PtMethodParam *adapter_params[N_CLASSES];

static const PtSslMethodClass *
ssl_class_of (PtMethod *self)
{
  const PtSslMethodClass *klass = pt_ssl_method_lookup (self->klass->name);

  g_assert (klass != NULL);
  return klass;
}

static PtMethod *
adapter_alloc (void)
{
  return (PtMethod *) g_new0 (PtSslAdapter, 1);
}

static gboolean
adapter_init (PtMethod             *self,
              const PtMethodConfig *config,
              GError              **error)
{
  PtSslAdapter *a = (PtSslAdapter *) self;
  const PtSslMethodClass *klass = ssl_class_of (self);
  PtSslConfig sc = { 0 };
  g_autoptr(GError) local_error = NULL;

  if (config->encoder != NULL && strcmp (config->encoder, "cnn") != 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("%s trains the cnn encoder, not “%s”."), klass->title, config->encoder);
      return FALSE;
    }
  sc.channels = config->channels;
  sc.height = config->height;
  sc.width = config->width;
  sc.batch_size = config->batch_size;
  sc.n_classes = config->n_classes;
  sc.encoder_width = config->encoder_width;
  sc.seed = config->seed;
  a->ssl = pt_ssl_method_new_with_values (klass, &sc, self->param_values, &local_error);
  if (a->ssl == NULL)
    {
      g_set_error_literal (error, PT_METHOD_ERROR,
                           local_error->code == PT_SSL_ERROR_UNSUPPORTED
                           ? PT_METHOD_ERROR_UNSUPPORTED : PT_METHOD_ERROR_INVALID_PARAM,
                           local_error->message);
      return FALSE;
    }
  return TRUE;
}

static void
adapter_finalize (PtMethod *self)
{
  g_clear_pointer (&((PtSslAdapter *) self)->ssl, pt_ssl_method_free);
}

static int
adapter_get_views (PtMethod    *self,
                   PtViewShape *shapes)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;
  PtSslViewShape s[PT_SSL_MAX_VIEWS];
  int n = m->klass->get_views (m, s);

  g_assert (n <= PT_MAX_VIEWS);
  for (int v = 0; v < n; v++)
    shapes[v] = (PtViewShape) { s[v].channels, s[v].height, s[v].width };
  return n;
}

static char *
adapter_dup_architecture (PtMethod *self)
{
  return pt_ssl_method_dup_architecture (((PtSslAdapter *) self)->ssl);
}

static gboolean
adapter_step (PtMethod      *self,
              const PtBatch *batch,
              PtStepResult  *result,
              GError       **error)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;
  PtSslViewShape want[PT_SSL_MAX_VIEWS];
  PtSslBatch sb = { 0 };
  PtSslResult sr = { 0 };
  g_autoptr(GError) local_error = NULL;
  int V = m->klass->get_views (m, want);

  if (batch->n_views != V || batch->batch_size != m->config.batch_size)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_FAILED,
                   _("%s expects batches of %d images with %d views, not %d with %d."),
                   m->klass->title, m->config.batch_size, V, batch->batch_size, batch->n_views);
      return FALSE;
    }
  sb.batch_size = batch->batch_size;
  sb.n_views = V;
  for (int v = 0; v < V; v++)
    {
      if (batch->shape[v].channels != want[v].channels ||
          batch->shape[v].height != want[v].height || batch->shape[v].width != want[v].width)
        {
          g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_FAILED,
                       _("%s expects view %d of %d x %d x %d, not %d x %d x %d."),
                       m->klass->title, v, want[v].channels, want[v].height, want[v].width,
                       batch->shape[v].channels, batch->shape[v].height, batch->shape[v].width);
          return FALSE;
        }
      sb.shape[v] = want[v];
      sb.views[v] = batch->views[v];
    }
  sb.labels = batch->labels;
  sb.indices = batch->indices;
  sb.epoch = batch->epoch;

  if (!m->klass->step (m, &sb, &sr, &local_error))
    {
      result->grad_finite = sr.grad_finite;
      result->loss = sr.loss;
      /* A non-finite loss or gradient is a result for the trainer's guard
       * (rewind to the last checkpoint, pause, hint), not a failure. */
      if (g_error_matches (local_error, PT_SSL_ERROR, PT_SSL_ERROR_FAILED))
        {
          if (isfinite (result->loss) && result->grad_finite)
            result->grad_finite = FALSE;
          return TRUE;
        }
      g_set_error_literal (error, PT_METHOD_ERROR, PT_METHOD_ERROR_FAILED, local_error->message);
      return FALSE;
    }
  result->loss = sr.loss;
  result->grad_finite = sr.grad_finite;
  for (int i = 0; i < sr.n_parts; i++)
    pt_step_result_add_part (result, sr.parts[i].name, sr.parts[i].value);
  for (int i = 0; i < sr.n_stats; i++)
    pt_step_result_add_stat (result, sr.stats[i].name, sr.stats[i].value);
  return TRUE;
}

static int
adapter_get_feature_dim (PtMethod *self)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;

  return m->klass->get_feature_dim (m, FALSE);
}

static gboolean
adapter_embed (PtMethod    *self,
               const float *images,
               int          n,
               float       *features,
               GError     **error)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;

  m->klass->embed (m, images, n, features, FALSE);
  return TRUE;
}

static int
adapter_get_projection_dim (PtMethod *self)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;

  return m->klass->get_feature_dim (m, TRUE);
}

static gboolean
adapter_embed_projection (PtMethod    *self,
                          const float *images,
                          int          n,
                          float       *features,
                          GError     **error)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;

  g_assert (m->klass->get_feature_dim (m, TRUE) > 0);
  m->klass->embed (m, images, n, features, TRUE);
  return TRUE;
}

static void
add_visual_cb (const char      *name,
               PtSslVisualKind  kind,
               int              rank,
               const int       *shape,
               const float     *data,
               gpointer         user_data)
{
  pt_visuals_add (user_data, name, (PtVisualKind) kind, rank, shape, data);
}

static PtVisuals *
adapter_visuals (PtMethod *self)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;
  PtVisuals *v = pt_visuals_new (m->step);

  m->klass->visuals (m, add_visual_cb, v);
  return v;
}

static void
add_blob_cb (const char *name,
             gboolean    is_u64,
             gsize       count,
             gpointer    data,
             gpointer    user_data)
{
  PtBlob blob = { name, is_u64 ? PT_BLOB_U64 : PT_BLOB_F32, count, data };

  g_array_append_val ((GArray *) user_data, blob);
}

static void
adapter_list_state (PtMethod *self,
                    GArray   *blobs)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;

  m->klass->list_state (m, add_blob_cb, blobs);
}

static void
adapter_state_loaded (PtMethod *self)
{
  pt_ssl_method_state_loaded (((PtSslAdapter *) self)->ssl);
}

static void
adapter_param_changed (PtMethod   *self,
                       const char *name)
{
  PtSslMethod *m = ((PtSslAdapter *) self)->ssl;
  int i = pt_ssl_method_find_param (m->klass, name);

  /* pt_method_set_param validated it (range, live); parameters that shape
   * the model (queue sizes, prototypes, views) were read at creation and a
   * later change of them has no effect */
  if (i >= 0)
    m->p[i] = pt_method_get_param (self, name);
}

void
pt_ssl_methods_register (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      const PtSslMethodClass **list = pt_ssl_method_list ();

      for (int c = 0; c < N_CLASSES && list[c] != NULL; c++)
        {
          const PtSslMethodClass *s = list[c];
          PtMethodClass *k = &adapter_classes[c];
          int n = 0;

          while (s->params[n].name != NULL)
            n++;
          adapter_params[c] = g_new0 (PtMethodParam, n + 1);
          for (int i = 0; i < n; i++)
            adapter_params[c][i] = (PtMethodParam) {
              s->params[i].name, s->params[i].description, s->params[i].default_value,
              s->params[i].min_value, s->params[i].max_value, s->params[i].live,
              s->params[i].integer,
            };
          k->name = s->name;
          k->title = s->title;
          k->description = s->description;
          k->params = adapter_params[c];
          k->init = adapter_init;
          k->alloc = adapter_alloc;
          k->finalize = adapter_finalize;
          k->get_views = adapter_get_views;
          k->dup_architecture = adapter_dup_architecture;
          k->step = adapter_step;
          k->get_feature_dim = adapter_get_feature_dim;
          k->embed = adapter_embed;
          k->visuals = adapter_visuals;
          k->list_state = adapter_list_state;
          k->state_loaded = adapter_state_loaded;
          k->param_changed = adapter_param_changed;
          /* methods whose get_feature_dim (projector) is 0 have none */
          k->get_projection_dim = adapter_get_projection_dim;
          k->embed_projection = adapter_embed_projection;
          k->has_projection = s->projection_dim > 0;
          pt_method_register (k);
        }
      g_once_init_leave (&done, 1);
    }
}
