/* pt-method-swav.c: SwAV (Caron, Misra, Mairal, Goyal, Bojanowski, Joulin,
 * "Unsupervised Learning of Visual Features by Contrasting Cluster
 * Assignments", NeurIPS 2020).
 *
 * Multi-crop: 2 global views at the image size and local_views small views
 * (the `swav` recipe: 6 views at 3/7 of the side), each resolution group
 * through the cnn in its own forward pass as SwAV does. Projector
 * Linear(8w, 8w) -> BatchNorm -> ReLU -> Linear(8w, 128), L2-normalized;
 * scores against K prototypes (a bias-free linear layer whose rows are
 * re-normalized before every step). Codes: Sinkhorn-Knopp (epsilon 0.005,
 * 3 iterations) on the detached scores of each global view, optionally
 * with a queue of earlier global embeddings (queue_length > 0, from epoch
 * queue_start_epoch) for the equipartition; swapped prediction: every other
 * view predicts a global view's code through softmax (scores / 0.1).
 * The prototypes stay frozen (gradient zeroed) for the first
 * freeze_prototypes steps, as SwAV does for its first epoch.
 *
 * Defaults for small images: 100 prototypes (SwAV uses 3000 for ImageNet;
 * a few times the expected number of classes), SGD (LARS = optimizer 1),
 * and epsilon 0.005, not the paper's 0.05 (at batch 4096): at batch 128
 * and no queue, 0.05 leaves the codes of a batch so flat that the swapped
 * prediction settles near ln K and learns little; 1 epoch of Fashion-
 * MNIST, linear / kNN %, seeds 0 and 1: 84.63 / 79.97 and 84.54 / 80.63
 * with 0.05, 85.94 / 82.83 and 86.12 / 82.95 with 0.005 (0.02: 85.93 /
 * 82.71); docs/methods.md.
 *
 * Visuals: prototype usage (argmax of the codes of the last batch, counts)
 * and, per prototype, up to 8 dataset indices of samples assigned to it
 * ([K][8], -1 where empty).
 */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-parallel.h"
#include "pt-ssl.h"

enum {
  P_PROTOTYPES,
  P_TEMPERATURE,
  P_EPSILON,
  P_SINKHORN_ITERS,
  P_LOCAL_VIEWS,
  P_FREEZE,
  P_QUEUE_LENGTH,
  P_QUEUE_START,
  P_OPTIMIZER,
  P_BASE_LR,
  P_WEIGHT_DECAY,
  P_WARMUP,
  P_TOTAL,
};

static const PtSslParam swav_params[] = {
  { "prototypes", N_("number of prototypes K"), 100, 2, 65536, FALSE, TRUE },
  { "temperature", N_("softmax temperature of the swapped prediction"), 0.1, 0.01, 10.0, TRUE, FALSE },
  { "epsilon", N_("Sinkhorn-Knopp entropy regularisation"), 0.005, 0.001, 10.0, TRUE, FALSE },
  { "sinkhorn_iterations", N_("Sinkhorn-Knopp iterations"), 3, 1, 100, TRUE, TRUE },
  { "local_views", N_("small views besides the 2 global ones (multi-crop)"), 6, 0, PT_SSL_MAX_VIEWS - 2, FALSE, TRUE },
  { "freeze_prototypes", N_("steps during which the prototypes are not updated"), 100, 0, 1e9, FALSE, TRUE },
  { "queue_length", N_("global embeddings kept for Sinkhorn (0: no queue)"), 0, 0, 1 << 20, FALSE, TRUE },
  { "queue_start_epoch", N_("epoch from which the queue is used"), 1, 0, 1e6, TRUE, TRUE },
  { "optimizer", N_("0 SGD with momentum, 1 LARS, 2 AdamW"), 0, 0, 2, FALSE, TRUE },
  { "base_lr", N_("learning rate for a batch of 256 (scaled by B / 256)"), 0.3, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", N_("weight decay (not on biases and batchnorm)"), 1e-6, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", N_("end of the cosine schedule (0: constant after warmup)"), 0, 0, 1e12, FALSE, TRUE },
  { NULL },
};

#define DIM 128
#define N_SAMPLES 8

typedef struct {
  PtSslMethod  parent;
  PtSslNet     net;
  PtMlpHead    proj;
  PtLinear     protos;          /* {K, DIM} */
  int          K;
  int          n_local;         /* local views, fixed at creation */
  float       *queue;           /* [2][L][DIM] */
  int          queue_length;
  guint64      queue_filled;    /* entries written per global view */
  guint64      queue_ptr;
  float       *usage;           /* [K] */
  float       *samples;         /* [K][N_SAMPLES] */
} PtSwav;

static gboolean
swav_init (PtSslMethod *m,
           GError     **error)
{
  PtSwav *self = (PtSwav *) m;
  PtRng rng;
  int feat;

  self->K = (int) m->p[P_PROTOTYPES];
  self->n_local = (int) m->p[P_LOCAL_VIEWS];
  pt_ssl_net_init_encoder (&self->net, &m->config);
  m->net = &self->net;
  feat = pt_cnn_get_out_dim (&self->net.cnn);
  pt_mlp_head_init (&self->proj, self->net.params, "projector", feat, feat, DIM, TRUE);
  pt_linear_init (&self->protos, self->net.params, "prototypes", DIM, self->K, FALSE);
  pt_rng_init (&rng, m->config.seed);
  pt_ssl_net_finish (&self->net, &rng, (int) m->p[P_OPTIMIZER], (float) m->p[P_WEIGHT_DECAY]);
  pt_mlp_head_reset (&self->proj, self->net.params, &rng);
  pt_linear_reset (&self->protos, self->net.params, &rng);

  self->queue_length = (int) m->p[P_QUEUE_LENGTH];
  self->queue = g_new0 (float, (gsize) 2 * MAX (self->queue_length, 1) * DIM);
  self->usage = g_new0 (float, self->K);
  self->samples = g_new (float, (gsize) self->K * N_SAMPLES);
  for (gsize i = 0; i < (gsize) self->K * N_SAMPLES; i++)
    self->samples[i] = -1.0f;
  return TRUE;
}

static void
swav_finalize (PtSslMethod *m)
{
  PtSwav *self = (PtSwav *) m;

  pt_ssl_net_clear (&self->net);
  g_clear_pointer (&self->queue, g_free);
  g_clear_pointer (&self->usage, g_free);
  g_clear_pointer (&self->samples, g_free);
}

static int
swav_get_views (PtSslMethod    *m,
                PtSslViewShape *shapes)
{
  int nl = ((PtSwav *) m)->n_local;
  /* the `swav` recipe: local side 3/7 of the global one (96 / 224) */
  int lh = (int) floor (m->config.height * 3.0 / 7.0 + 0.5);
  int lw = (int) floor (m->config.width * 3.0 / 7.0 + 0.5);

  for (int v = 0; v < 2; v++)
    shapes[v] = (PtSslViewShape) { m->config.channels, m->config.height, m->config.width };
  for (int v = 0; v < nl; v++)
    shapes[2 + v] = (PtSslViewShape) { m->config.channels, lh, lw };
  return 2 + nl;
}

/* cnn + projector + normalize for views [first, first + n) (same shape). */
static PtTensor *
swav_embed_views (PtSwav           *self,
                  const PtSslBatch *batch,
                  int               first,
                  int               n)
{
  PtSslNet *net = &self->net;
  int B = batch->batch_size;
  const PtSslViewShape *s = &batch->shape[first];
  gsize per = (gsize) s->channels * s->height * s->width;
  PtTensor *x = pt_tensor_new_4d (pt_tape_get_arena (net->tape), n * B, s->channels,
                                  s->height, s->width);
  PtTensor *h;

  for (int v = 0; v < n; v++)
    memcpy (x->data + (gsize) v * B * per, batch->views[first + v], B * per * sizeof (float));
  h = pt_cnn_apply (net->tape, net->params, &net->cnn, x);
  h = pt_mlp_head_apply (net->tape, net->params, &self->proj, h);
  return pt_op_l2_normalize (net->tape, h);
}

static void
normalize_prototypes (PtSwav *self)
{
  float *w = pt_params_data (self->net.params, self->protos.weight);

  for (int k = 0; k < self->K; k++)
    {
      double s = 0.0;

      for (int d = 0; d < DIM; d++)
        s += (double) w[k * DIM + d] * w[k * DIM + d];
      s = 1.0 / MAX (sqrt (s), 1e-12);
      for (int d = 0; d < DIM; d++)
        w[k * DIM + d] = (float) (w[k * DIM + d] * s);
    }
}

static gboolean
swav_step (PtSslMethod      *m,
           const PtSslBatch *batch,
           PtSslResult      *result,
           GError          **error)
{
  PtSwav *self = (PtSwav *) m;
  PtSslNet *net = &self->net;
  int B = batch->batch_size, K = self->K, V = batch->n_views, L = self->queue_length;
  gboolean use_queue = L > 0 && batch->epoch >= (guint64) m->p[P_QUEUE_START] &&
                       self->queue_filled >= (guint64) L;
  PtTensor *zs[2], *z, *scores, *loss;
  PtTensor *w = pt_params_tensor (net->params, self->protos.weight);
  g_autofree float *q = g_new (float, (gsize) 2 * B * K);
  g_autofree float *dscores = NULL;
  g_autofree float *qscores = NULL;
  g_autofree float *qcodes = NULL;
  float lr, value;
  double ent = 0.0;

  if (V < 2 || V > PT_SSL_MAX_VIEWS)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_UNSUPPORTED,
                   _("SwAV needs at least 2 views, not %d"), V);
      return FALSE;
    }
  normalize_prototypes (self);
  pt_ssl_net_begin_step (net);
  zs[0] = swav_embed_views (self, batch, 0, 2);
  z = zs[0];
  if (V > 2)
    {
      zs[1] = swav_embed_views (self, batch, 2, V - 2);
      z = pt_op_concat0 (net->tape, 2, zs);
    }
  scores = pt_op_linear (net->tape, z, w, NULL);   /* [V*B][K], global views first */

  /* codes of the two global views, from detached scores (and the queue) */
  if (use_queue)
    {
      qscores = g_new (float, (gsize) (L + B) * K);
      qcodes = g_new (float, (gsize) (L + B) * K);
    }
  for (int g = 0; g < 2; g++)
    {
      const float *sg = scores->data + (gsize) g * B * K;

      if (use_queue)
        {
          pt_sgemm (FALSE, TRUE, L, K, DIM, 1.0f, self->queue + (gsize) g * L * DIM, DIM,
                    w->data, DIM, 0.0f, qscores, K);
          memcpy (qscores + (gsize) L * K, sg, (gsize) B * K * sizeof (float));
          pt_sinkhorn (qcodes, qscores, L + B, K, (float) m->p[P_EPSILON],
                       (int) m->p[P_SINKHORN_ITERS]);
          /* SwAV keeps the batch's rows of the joint assignment (each sums to 1) */
          memcpy (q + (gsize) g * B * K, qcodes + (gsize) L * K, (gsize) B * K * sizeof (float));
        }
      else
        pt_sinkhorn (q + (gsize) g * B * K, sg, B, K, (float) m->p[P_EPSILON],
                     (int) m->p[P_SINKHORN_ITERS]);
    }

  dscores = g_new (float, scores->numel);
  value = pt_swav_loss_forward (dscores, scores->data, q, V, 2, B, K,
                                (float) m->p[P_TEMPERATURE]);
  loss = pt_op_precomputed_loss (net->tape, scores, value, dscores);
  pt_ssl_net_backward (net, loss, result);
  if (m->step < (guint64) m->p[P_FREEZE])
    memset (w->grad, 0, w->numel * sizeof (float));
  lr = pt_ssl_lr (m->p[P_BASE_LR], B, (guint64) m->p[P_WARMUP], (guint64) m->p[P_TOTAL], m->step);
  pt_ssl_net_update (net, lr, result);
  pt_ssl_result_add_part (result, "swapped_prediction", value);
  if (!result->grad_finite)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_FAILED,
                   _("SwAV: the loss or a gradient is not finite at step %llu"),
                   (unsigned long long) m->step);
      return FALSE;
    }

  /* usage and samples per prototype (argmax of the first global view's codes) */
  memset (self->usage, 0, K * sizeof (float));
  for (gsize i = 0; i < (gsize) K * N_SAMPLES; i++)
    self->samples[i] = -1.0f;
  for (int g = 0; g < 2; g++)
    for (int b = 0; b < B; b++)
      {
        const float *qb = q + ((gsize) g * B + b) * K;
        int arg = 0;

        for (int k = 1; k < K; k++)
          if (qb[k] > qb[arg])
            arg = k;
        self->usage[arg] += 1.0f;
        if (g == 0)
          for (int j = 0; j < N_SAMPLES; j++)
            if (self->samples[arg * N_SAMPLES + j] < 0.0f)
              {
                self->samples[arg * N_SAMPLES + j] = batch->indices != NULL ? (float) batch->indices[b] : (float) b;
                break;
              }
      }
  for (int k = 0; k < K; k++)
    if (self->usage[k] > 0)
      {
        double p = self->usage[k] / (2.0 * B);
        ent -= p * log (p);
      }
  pt_ssl_result_add_stat (result, "prototype_perplexity", exp (ent));
  pt_ssl_result_add_stat (result, "queue_used", use_queue ? 1.0 : 0.0);

  /* enqueue the global embeddings (ring buffer: Sinkhorn ignores order) */
  if (L > 0)
    {
      for (int b = 0; b < B; b++)
        {
          for (int g = 0; g < 2; g++)
            memcpy (self->queue + ((gsize) g * L + self->queue_ptr) * DIM,
                    zs[0]->data + ((gsize) g * B + b) * DIM, DIM * sizeof (float));
          self->queue_ptr = (self->queue_ptr + 1) % L;
        }
      self->queue_filled += B;
    }
  pt_ssl_add_health (result, zs[0]->data, 2 * B, DIM);
  m->step++;
  return TRUE;
}

static int
swav_get_feature_dim (PtSslMethod *m,
                      gboolean     projector)
{
  return projector ? m->klass->projection_dim : pt_cnn_get_out_dim (&((PtSwav *) m)->net.cnn);
}

static void
swav_embed (PtSslMethod *m,
            const float *images,
            int          n,
            float       *features,
            gboolean     projector)
{
  PtSwav *self = (PtSwav *) m;
  PtSslViewShape shape = { m->config.channels, m->config.height, m->config.width };

  pt_ssl_net_embed (&self->net, projector ? &self->proj : NULL, images, n, &shape, features);
}

static void
swav_visuals (PtSslMethod     *m,
              PtSslVisualFunc  func,
              gpointer         data)
{
  PtSwav *self = (PtSwav *) m;
  int shape[2] = { self->K, N_SAMPLES };

  func ("prototype_usage", PT_SSL_VISUAL_VECTOR, 1, &self->K, self->usage, data);
  func ("prototype_samples", PT_SSL_VISUAL_MATRIX, 2, shape, self->samples, data);
}

static void
swav_list_state (PtSslMethod    *m,
                 PtSslStateFunc  func,
                 gpointer        data)
{
  PtSwav *self = (PtSwav *) m;

  pt_ssl_net_list_state (&self->net, "", func, data);
  func ("queue", FALSE, (gsize) 2 * MAX (self->queue_length, 1) * DIM, self->queue, data);
  func ("queue.ptr", TRUE, 1, &self->queue_ptr, data);
  func ("queue.filled", TRUE, 1, &self->queue_filled, data);
  func ("step", TRUE, 1, &m->step, data);
}

const PtSslMethodClass pt_method_swav_class = {
  .name = "swav",
  .title = "SwAV",
  .description = N_("Predict the Sinkhorn cluster code of one view from another (multi-crop)"),
  .recipe = "swav",
  .projection_dim = DIM,
  .params = swav_params,
  .instance_size = sizeof (PtSwav),
  .init = swav_init,
  .finalize = swav_finalize,
  .get_views = swav_get_views,
  .step = swav_step,
  .get_feature_dim = swav_get_feature_dim,
  .embed = swav_embed,
  .visuals = swav_visuals,
  .list_state = swav_list_state,
};
