/* pt-cli-methods.c: the methods pretext-cli can train, registered once.
 *
 * The five methods of core/pt-method-*.c implement the small PtSsl
 * interface (pt-ssl.h); until a core adapter to the trainer's PtMethod
 * lands, this file wraps them here. TEMPORARY: replace the body of
 * pt_cli_register_methods with the core registration when it exists.
 */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-cli.h"
#include "pt-method.h"
#include "pt-ssl.h"

#define MAX_SSL 8
#define MAX_SSL_PARAMS 16

typedef struct {
  PtMethod     parent;
  PtSslMethod *ssl;
} SslAdapter;

static PtMethodClass adapter_classes[MAX_SSL];
static const PtSslMethodClass *ssl_classes[MAX_SSL];

G_STATIC_ASSERT (sizeof (PtSslParam) == sizeof (PtMethodParam));
G_STATIC_ASSERT (sizeof (PtSslViewShape) == sizeof (PtViewShape));

static const PtSslMethodClass *
ssl_class_of (PtMethod *self)
{
  for (int i = 0; i < MAX_SSL; i++)
    if (self->klass == &adapter_classes[i])
      return ssl_classes[i];
  g_assert_not_reached ();
}

static PtMethod *
adapter_alloc (void)
{
  return (PtMethod *) g_new0 (SslAdapter, 1);
}

static gboolean
adapter_init (PtMethod             *method,
              const PtMethodConfig *config,
              GError              **error)
{
  SslAdapter *self = (SslAdapter *) method;
  const PtSslMethodClass *klass = ssl_class_of (method);
  const char *names[MAX_SSL_PARAMS] = { NULL };
  double values[MAX_SSL_PARAMS] = { 0 };
  PtSslConfig sc = { 0 };
  g_autoptr(GError) local = NULL;
  int n = 0;

  if (config->encoder != NULL && *config->encoder != '\0' && strcmp (config->encoder, "cnn") != 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("%s trains the cnn encoder only, not “%s”."), klass->title, config->encoder);
      return FALSE;
    }
  for (const PtSslParam *p = klass->params; p->name != NULL && n < MAX_SSL_PARAMS; p++, n++)
    {
      names[n] = p->name;
      values[n] = pt_method_get_param (method, p->name);
    }
  sc.channels = config->channels;
  sc.height = config->height;
  sc.width = config->width;
  sc.batch_size = config->batch_size;
  sc.n_classes = config->n_classes;
  sc.encoder_width = config->encoder_width;
  sc.seed = config->seed;
  /* Unused name slots are NULL and end the list. */
  self->ssl = pt_ssl_method_new (klass, &sc, &local,
                                 names[0], values[0], names[1], values[1], names[2], values[2],
                                 names[3], values[3], names[4], values[4], names[5], values[5],
                                 names[6], values[6], names[7], values[7], names[8], values[8],
                                 names[9], values[9], names[10], values[10], names[11], values[11],
                                 names[12], values[12], names[13], values[13], names[14], values[14],
                                 names[15], values[15], NULL);
  if (self->ssl == NULL)
    {
      g_set_error (error, PT_METHOD_ERROR,
                   g_error_matches (local, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM)
                     ? PT_METHOD_ERROR_INVALID_PARAM : PT_METHOD_ERROR_UNSUPPORTED,
                   "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

static void
adapter_finalize (PtMethod *method)
{
  SslAdapter *self = (SslAdapter *) method;

  g_clear_pointer (&self->ssl, pt_ssl_method_free);
}

static int
adapter_get_views (PtMethod    *method,
                   PtViewShape *shapes)
{
  SslAdapter *self = (SslAdapter *) method;
  PtSslViewShape s[PT_SSL_MAX_VIEWS];
  int n = self->ssl->klass->get_views (self->ssl, s);

  g_assert (n <= PT_MAX_VIEWS);
  for (int v = 0; v < n; v++)
    shapes[v] = (PtViewShape) { s[v].channels, s[v].height, s[v].width };
  return n;
}

static char *
adapter_dup_architecture (PtMethod *method)
{
  SslAdapter *self = (SslAdapter *) method;
  const PtSslConfig *c = &self->ssl->config;

  return g_strdup_printf ("%s cnn w%d %dx%dx%d b%d", self->ssl->klass->name, c->encoder_width,
                          c->channels, c->height, c->width, c->batch_size);
}

static gboolean
adapter_step (PtMethod      *method,
              const PtBatch *batch,
              PtStepResult  *result,
              GError       **error)
{
  SslAdapter *self = (SslAdapter *) method;
  PtSslBatch sb = { 0 };
  PtSslResult sr = { 0 };
  g_autoptr(GError) local = NULL;

  sb.batch_size = batch->batch_size;
  sb.n_views = batch->n_views;
  for (int v = 0; v < batch->n_views; v++)
    {
      sb.shape[v] = (PtSslViewShape) { batch->shape[v].channels, batch->shape[v].height,
                                       batch->shape[v].width };
      sb.views[v] = batch->views[v];
    }
  sb.labels = batch->labels;
  sb.indices = batch->indices;
  sb.epoch = batch->epoch;
  sr.grad_finite = TRUE;
  if (!self->ssl->klass->step (self->ssl, &sb, &sr, &local))
    {
      /* A non-finite loss is the trainer's to handle, not a failure. */
      if (g_error_matches (local, PT_SSL_ERROR, PT_SSL_ERROR_FAILED))
        {
          result->loss = NAN;
          result->grad_finite = FALSE;
          return TRUE;
        }
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_FAILED, "%s", local->message);
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
adapter_get_feature_dim (PtMethod *method)
{
  SslAdapter *self = (SslAdapter *) method;

  return self->ssl->klass->get_feature_dim (self->ssl, FALSE);
}

static gboolean
adapter_embed (PtMethod    *method,
               const float *images,
               int          n,
               float       *features,
               GError     **error)
{
  SslAdapter *self = (SslAdapter *) method;

  self->ssl->klass->embed (self->ssl, images, n, features, FALSE);
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
adapter_visuals (PtMethod *method)
{
  SslAdapter *self = (SslAdapter *) method;
  PtVisuals *visuals;

  if (self->ssl->klass->visuals == NULL)
    return NULL;
  visuals = pt_visuals_new (self->ssl->step);
  self->ssl->klass->visuals (self->ssl, add_visual_cb, visuals);
  if (pt_visuals_get_n_items (visuals) == 0)
    g_clear_pointer (&visuals, pt_visuals_unref);
  return visuals;
}

static void
add_state_cb (const char *name,
              gboolean    is_u64,
              gsize       count,
              gpointer    data,
              gpointer    user_data)
{
  PtBlob blob = { name, is_u64 ? PT_BLOB_U64 : PT_BLOB_F32, count, data };

  g_array_append_val ((GArray *) user_data, blob);
}

static void
adapter_list_state (PtMethod *method,
                    GArray   *blobs)
{
  SslAdapter *self = (SslAdapter *) method;

  self->ssl->klass->list_state (self->ssl, add_state_cb, blobs);
}

static void
adapter_param_changed (PtMethod   *method,
                       const char *name)
{
  SslAdapter *self = (SslAdapter *) method;

  if (self->ssl != NULL)
    pt_ssl_method_set_param (self->ssl, name, pt_method_get_param (method, name), NULL);
}

void
pt_cli_register_methods (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      const PtSslMethodClass **list = pt_ssl_method_list ();

      for (int i = 0; list[i] != NULL && i < MAX_SSL; i++)
        {
          PtMethodClass *k = &adapter_classes[i];

          ssl_classes[i] = list[i];
          k->name = list[i]->name;
          k->title = list[i]->title;
          k->description = list[i]->description;
          k->params = (const PtMethodParam *) list[i]->params;
          k->alloc = adapter_alloc;
          k->init = adapter_init;
          k->finalize = adapter_finalize;
          k->get_views = adapter_get_views;
          k->dup_architecture = adapter_dup_architecture;
          k->step = adapter_step;
          k->get_feature_dim = adapter_get_feature_dim;
          k->embed = adapter_embed;
          k->visuals = adapter_visuals;
          k->list_state = adapter_list_state;
          k->param_changed = adapter_param_changed;
          pt_method_register (k);
        }
      g_once_init_leave (&done, 1);
    }
}
