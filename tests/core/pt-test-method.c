/* pt-test-method.c: TEST DOUBLES for the training runtime (see the header). */
#include <math.h>
#include <string.h>
#include <gio/gio.h>

#include "pt-test-method.h"

typedef struct {
  PtMethod  parent;
  int       dim;          /* C*H*W */
  float    *weights;      /* [K][dim] then [K] bias */
  float    *velocity;     /* same size */
  float    *grad;         /* scratch, not state */
  guint64   rng;          /* xorshift64 state */
  guint64   steps;
} PtTestMethod;

static const PtMethodParam test_params[] = {
  { "lr", "learning rate", 0.05, 1e-6, 10.0, TRUE, FALSE },
  { "momentum", "SGD momentum", 0.9, 0.0, 0.999, FALSE, FALSE },
  { "temperature", "softmax temperature", 1.0, 0.01, 100.0, TRUE, FALSE },
  { "dropout", "input dropout probability", 0.1, 0.0, 0.9, FALSE, FALSE },
  { NULL }
};

static gsize
n_weights (PtTestMethod *self)
{
  return (gsize) PT_TEST_CLASSES * self->dim + PT_TEST_CLASSES;
}

static guint64
xorshift (guint64 *s)
{
  guint64 x = *s;

  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

static PtMethod *
test_alloc (void)
{
  return (PtMethod *) g_new0 (PtTestMethod, 1);
}

static gboolean
test_init (PtMethod             *method,
           const PtMethodConfig *config,
           GError              **error)
{
  PtTestMethod *self = (PtTestMethod *) method;
  guint64 s = config->seed * 2654435761u + 88172645463325252ull;

  if (config->channels <= 0 || config->height <= 0 || config->width <= 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED, "bad image shape");
      return FALSE;
    }
  self->dim = config->channels * config->height * config->width;
  self->weights = g_new0 (float, n_weights (self));
  self->velocity = g_new0 (float, n_weights (self));
  self->grad = g_new0 (float, n_weights (self));
  for (gsize i = 0; i < n_weights (self); i++)
    self->weights[i] = ((xorshift (&s) >> 40) / (double) (1 << 24) - 0.5) * 0.02;
  self->rng = xorshift (&s) | 1;
  return TRUE;
}

static void
test_finalize (PtMethod *method)
{
  PtTestMethod *self = (PtTestMethod *) method;

  g_free (self->weights);
  g_free (self->velocity);
  g_free (self->grad);
}

static int
test_get_views (PtMethod    *method,
                PtViewShape *shapes)
{
  const PtMethodConfig *c = pt_method_get_config (method);

  for (int v = 0; v < 2; v++)
    shapes[v] = (PtViewShape) { c->channels, c->height, c->width };
  return 2;
}

static char *
test_dup_architecture (PtMethod *method)
{
  PtTestMethod *self = (PtTestMethod *) method;

  return g_strdup_printf ("test-linear %d->%d", self->dim, PT_TEST_CLASSES);
}

/* logits = W x / T + b / T for one image. */
static void
forward_one (PtTestMethod *self,
             const float  *x,
             double        t,
             double       *logits)
{
  const float *bias = self->weights + (gsize) PT_TEST_CLASSES * self->dim;

  for (int k = 0; k < PT_TEST_CLASSES; k++)
    {
      const float *w = self->weights + (gsize) k * self->dim;
      double acc = bias[k];

      for (int i = 0; i < self->dim; i++)
        acc += (double) w[i] * x[i];
      logits[k] = acc / t;
    }
}

static gboolean
test_step (PtMethod      *method,
           const PtBatch *batch,
           PtStepResult  *result,
           GError       **error)
{
  PtTestMethod *self = (PtTestMethod *) method;
  double lr = pt_method_get_param (method, "lr");
  double mom = pt_method_get_param (method, "momentum");
  double t = pt_method_get_param (method, "temperature");
  double p = pt_method_get_param (method, "dropout");
  g_autofree float *x = g_new (float, self->dim);
  float *gbias = self->grad + (gsize) PT_TEST_CLASSES * self->dim;
  double total = 0, grad_sq = 0, w_sq = 0;
  int n = batch->batch_size * batch->n_views;

  memset (self->grad, 0, n_weights (self) * sizeof (float));
  for (int v = 0; v < batch->n_views; v++)
    {
      double view_loss = 0;

      for (int b = 0; b < batch->batch_size; b++)
        {
          const float *img = batch->views[v] + (gsize) b * self->dim;
          int y = batch->labels[b] >= 0 ? batch->labels[b] % PT_TEST_CLASSES : 0;
          double logits[PT_TEST_CLASSES], m = -INFINITY, z = 0;

          /* Input dropout from the method's own RNG: resume must restore it. */
          for (int i = 0; i < self->dim; i++)
            x[i] = ((xorshift (&self->rng) >> 11) * 0x1.0p-53 < p) ? 0.0f : img[i];
          forward_one (self, x, t, logits);
          for (int k = 0; k < PT_TEST_CLASSES; k++)
            m = MAX (m, logits[k]);
          if (isnan (logits[0]))
            m = NAN;
          for (int k = 0; k < PT_TEST_CLASSES; k++)
            z += exp (logits[k] - m);
          view_loss += -(logits[y] - m - log (z));
          for (int k = 0; k < PT_TEST_CLASSES; k++)
            {
              double d = (exp (logits[k] - m) / z - (k == y)) / t / n;
              float *g = self->grad + (gsize) k * self->dim;

              for (int i = 0; i < self->dim; i++)
                g[i] += (float) (d * x[i]);
              gbias[k] += (float) d;
            }
        }
      view_loss /= batch->batch_size;
      total += view_loss / batch->n_views;
      pt_step_result_add_part (result, v == 0 ? "view0" : "view1", view_loss);
    }

  for (gsize i = 0; i < n_weights (self); i++)
    {
      grad_sq += (double) self->grad[i] * self->grad[i];
      if (!isfinite (self->grad[i]))
        result->grad_finite = FALSE;
      self->velocity[i] = (float) (mom * self->velocity[i] + self->grad[i]);
      self->weights[i] -= (float) (lr * self->velocity[i]);
      w_sq += (double) self->weights[i] * self->weights[i];
    }
  self->steps++;
  result->loss = total;
  pt_step_result_add_stat (result, "grad_norm", sqrt (grad_sq));
  pt_step_result_add_stat (result, "weight_norm", sqrt (w_sq));
  return TRUE;
}

static int
test_get_feature_dim (PtMethod *method)
{
  return PT_TEST_CLASSES;
}

static gboolean
test_embed (PtMethod    *method,
            const float *images,
            int          n,
            float       *features,
            GError     **error)
{
  PtTestMethod *self = (PtTestMethod *) method;

  for (int b = 0; b < n; b++)
    {
      double logits[PT_TEST_CLASSES];

      forward_one (self, images + (gsize) b * self->dim, 1.0, logits);
      for (int k = 0; k < PT_TEST_CLASSES; k++)
        features[b * PT_TEST_CLASSES + k] = (float) logits[k];
    }
  return TRUE;
}

static PtVisuals *
test_visuals (PtMethod *method)
{
  PtTestMethod *self = (PtTestMethod *) method;
  PtVisuals *visuals = pt_visuals_new (self->steps);
  int shape[2] = { PT_TEST_CLASSES, self->dim };

  pt_visuals_add (visuals, "weights", PT_VISUAL_MATRIX, 2, shape, self->weights);
  return visuals;
}

static void
test_list_state (PtMethod *method,
                 GArray   *blobs)
{
  PtTestMethod *self = (PtTestMethod *) method;
  PtBlob list[] = {
    { "linear/weights", PT_BLOB_F32, n_weights (self), self->weights },
    { "sgd/velocity", PT_BLOB_F32, n_weights (self), self->velocity },
    { "rng", PT_BLOB_U64, 1, &self->rng },
    { "steps", PT_BLOB_U64, 1, &self->steps },
  };

  g_array_append_vals (blobs, list, G_N_ELEMENTS (list));
}

const PtMethodClass pt_test_method_class = {
  .name = "test-linear",
  .title = "Test double (linear)",
  .description = "A softmax regression used by the runtime's tests only.",
  .params = test_params,
  .init = test_init,
  .alloc = test_alloc,
  .finalize = test_finalize,
  .get_views = test_get_views,
  .dup_architecture = test_dup_architecture,
  .step = test_step,
  .get_feature_dim = test_get_feature_dim,
  .embed = test_embed,
  .visuals = test_visuals,
  .list_state = test_list_state,
};

PtMethodConfig
pt_test_method_config (void)
{
  PtMethodConfig config = { 0 };

  config.channels = 3;
  config.height = 8;
  config.width = 8;
  config.batch_size = 8;
  config.n_classes = PT_TEST_CLASSES;
  config.seed = 7;
  return config;
}

/* ---- Synthetic source ------------------------------------------------- */

typedef struct {
  guint64 seed;
  guint64 served;   /* batches handed out */
  gulong  delay_us;
} TestSource;

static guint64
mix (guint64 x)
{
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static gboolean
source_next (gpointer  data,
             PtBatch  *batch,
             GError  **error)
{
  TestSource *src = data;

  if (src->delay_us > 0)
    g_usleep (src->delay_us);
  for (int b = 0; b < batch->batch_size; b++)
    {
      guint64 flat = src->served * batch->batch_size + b;
      guint64 epoch = flat / PT_TEST_N_IMAGES;
      /* A seeded shuffle per epoch: a multiplicative permutation of 256. */
      guint32 index = (guint32) (((flat % PT_TEST_N_IMAGES) * 37 + mix (src->seed + epoch) % 256)
                                 % PT_TEST_N_IMAGES);
      int label = index % PT_TEST_CLASSES;

      batch->labels[b] = label;
      batch->indices[b] = index;
      batch->epoch = epoch;
      for (int v = 0; v < batch->n_views; v++)
        {
          const PtViewShape *s = &batch->shape[v];
          gsize size = (gsize) s->channels * s->height * s->width;
          float *out = batch->views[v] + (gsize) b * size;

          for (gsize i = 0; i < size; i++)
            {
              guint64 h = mix (src->seed ^ mix (epoch * 1000003 + index * 131 + v * 7 + i * 65537));
              double noise = (h >> 11) * 0x1.0p-53 - 0.5;

              out[i] = (float) (0.5 * sin (label * 1.7 + i * 0.3) + 0.3 * noise);
            }
        }
    }
  src->served++;
  return TRUE;
}

static GBytes *
source_get_position (gpointer data)
{
  TestSource *src = data;
  guint64 pos[2] = { src->seed, src->served };

  return g_bytes_new (pos, sizeof pos);
}

static gboolean
source_set_position (gpointer  data,
                     GBytes   *position,
                     GError  **error)
{
  TestSource *src = data;
  guint64 pos[2];

  if (g_bytes_get_size (position) != sizeof pos)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "bad test source position");
      return FALSE;
    }
  memcpy (pos, g_bytes_get_data (position, NULL), sizeof pos);
  if (pos[0] != src->seed)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "test source seed mismatch");
      return FALSE;
    }
  src->served = pos[1];
  return TRUE;
}

static const PtBatchSourceFuncs test_source_funcs = {
  .next = source_next,
  .get_position = source_get_position,
  .set_position = source_set_position,
  .free = g_free,
};

PtBatchSource *
pt_test_source_new (guint64 seed,
                    gulong  delay_us)
{
  TestSource *src = g_new0 (TestSource, 1);

  src->seed = seed;
  src->delay_us = delay_us;
  return pt_batch_source_new (&test_source_funcs, src);
}
