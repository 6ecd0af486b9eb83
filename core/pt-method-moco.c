/* pt-method-moco.c: MoCo v2 (He et al., CVPR 2020; Chen, Fan, Girshick, He,
 * "Improved Baselines with Momentum Contrastive Learning", 2020).
 *
 * A query encoder (cnn + MLP projector Linear(8w, 8w) -> ReLU -> Linear(8w,
 * 128)) is trained; a key encoder of the same layout follows it as an
 * exponential moving average (momentum 0.99 for short runs; the paper's
 * 0.999 assumes hundreds of thousands of steps). InfoNCE: each normalized
 * query against its own key (positive) and a FIFO queue of K keys of
 * earlier batches (negatives), temperature 0.2. With symmetric = 1 both
 * views serve as queries and as keys and the two losses are averaged (both
 * key sets are enqueued).
 *
 * Batchnorm leakage, and the shuffled BN done here. The key of image i and
 * its query differ only by augmentation. If the key encoder normalised the
 * whole key batch with one set of batch statistics, those statistics (shared
 * by all B keys, and in the query encoder by all B queries of the same
 * images) carry information about which images are in the batch, and the
 * model can lower the loss by recognising "same batch statistics" instead
 * of learning features: the intra-batch communication that MoCo's paper
 * names as leaking the positive. MoCo breaks it with shuffling BN across 8
 * GPUs. With one process we do the same thing by hand: the key batch is
 * permuted at random (a seeded stream kept in the state), cut into G groups
 * (bn_groups, default 4), each group goes through the key encoder on its
 * own, so each key is normalised with statistics of a random subset that is
 * not the subset its query sees, then the keys are put back in order.
 *
 * The queue starts with random unit vectors (MoCo's initialisation) that
 * real keys replace oldest first.
 *
 * Visuals: queue fill (real keys, size) and two histograms (40 bins over
 * [-1, 1], densities) of the last batch's query similarities to their
 * positives and to the queue.
 */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-ssl.h"

enum {
  P_TEMPERATURE,
  P_QUEUE,
  P_MOMENTUM,
  P_SYMMETRIC,
  P_BN_GROUPS,
  P_BASE_LR,
  P_WEIGHT_DECAY,
  P_WARMUP,
  P_TOTAL,
};

static const PtSslParam moco_params[] = {
  { "temperature", N_("InfoNCE temperature"), 0.2, 0.01, 10.0, TRUE, FALSE },
  { "queue_size", N_("negatives kept in the queue (K)"), 4096, 0, 1 << 20, FALSE, TRUE },
  { "momentum", N_("EMA momentum of the key encoder"), 0.99, 0.0, 1.0, TRUE, FALSE },
  { "symmetric", N_("1: both views as queries and keys, losses averaged"), 0, 0, 1, FALSE, TRUE },
  { "bn_groups", N_("groups of the shuffled batchnorm of the key encoder"), 4, 1, 64, FALSE, TRUE },
  { "base_lr", N_("learning rate for a batch of 256 (scaled by B / 256)"), 0.12, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", N_("weight decay (not on biases and batchnorm)"), 1e-4, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", N_("end of the cosine schedule (0: constant after warmup)"), 0, 0, 1e12, FALSE, TRUE },
  { NULL },
};

#define DIM 128
#define N_BINS 40
#define SIM_N 16

typedef struct {
  PtSslMethod  parent;
  PtSslNet     net;            /* the query encoder */
  PtMlpHead    proj;
  PtParams    *key_params;     /* the key encoder, same layout */
  PtCnn        key_cnn;
  PtMlpHead    key_proj;
  float       *queue;          /* [K][DIM] */
  int          queue_size;
  guint64      queue_ptr;      /* next slot */
  guint64      queue_filled;
  PtRng        shuffle_rng;
  float        hist_pos[N_BINS];
  float        hist_neg[N_BINS];
  /* The visual: cosine similarity of the first queries of the last batch
   * to the keys of the same images (positives on the diagonal). */
  float        sim[SIM_N * SIM_N];
  int          sim_n;
} PtMoco;

static gboolean
moco_init (PtSslMethod *m,
           GError     **error)
{
  PtMoco *self = (PtMoco *) m;
  PtRng rng;
  int feat;

  pt_ssl_net_init_encoder (&self->net, &m->config);
  m->net = &self->net;
  feat = pt_cnn_get_out_dim (&self->net.cnn);
  pt_projector_init (&self->proj, self->net.params, "projector", feat, DIM);
  pt_rng_init (&rng, m->config.seed);
  pt_ssl_net_finish (&self->net, &rng, 0, (float) m->p[P_WEIGHT_DECAY]);
  pt_mlp_head_reset (&self->proj, self->net.params, &rng);

  self->key_params = pt_params_new ();
  pt_cnn_init (&self->key_cnn, self->key_params, "encoder", m->config.channels,
               m->config.encoder_width);
  pt_projector_init (&self->key_proj, self->key_params, "projector", feat, DIM);
  pt_params_finalize (self->key_params);
  pt_params_copy (self->key_params, self->net.params);

  /* as in MoCo, the queue starts full of random unit vectors, replaced by
   * real keys oldest first; queue_filled counts the real ones */
  self->queue_size = (int) m->p[P_QUEUE];
  self->queue = g_new0 (float, (gsize) MAX (self->queue_size, 1) * DIM);
  for (int k = 0; k < self->queue_size; k++)
    {
      float *row = self->queue + (gsize) k * DIM;
      double s = 0.0;

      for (int d = 0; d < DIM; d++)
        {
          row[d] = pt_rng_normal (&rng);
          s += (double) row[d] * row[d];
        }
      for (int d = 0; d < DIM; d++)
        row[d] = (float) (row[d] / sqrt (s));
    }
  pt_rng_init_keyed (&self->shuffle_rng, m->config.seed, 0x6d6f636f, 0);
  return TRUE;
}

static void
moco_finalize (PtSslMethod *m)
{
  PtMoco *self = (PtMoco *) m;

  pt_ssl_net_clear (&self->net);
  g_clear_pointer (&self->key_params, pt_params_free);
  g_clear_pointer (&self->queue, g_free);
}

static int
moco_get_views (PtSslMethod    *m,
                PtSslViewShape *shapes)
{
  for (int v = 0; v < 2; v++)
    shapes[v] = (PtSslViewShape) { m->config.channels, m->config.height, m->config.width };
  return 2;
}

/* Keys of B images with shuffled BN: kn [B][DIM], normalized. Uses the
 * tape with recording off (its arena holds the activations). */
static void
moco_keys (PtMoco               *self,
           float                *kn,
           const float          *images,
           int                   B,
           const PtSslViewShape *shape)
{
  PtSslNet *net = &self->net;
  gsize per = (gsize) shape->channels * shape->height * shape->width;
  int G = CLAMP ((int) self->parent.p[P_BN_GROUPS], 1, B / 2 > 0 ? B / 2 : 1);
  g_autofree guint *perm = g_new (guint, B);

  for (int i = 0; i < B; i++)
    perm[i] = i;
  for (int i = B - 1; i > 0; i--)
    {
      guint j = pt_rng_below (&self->shuffle_rng, i + 1), t = perm[i];

      perm[i] = perm[j];
      perm[j] = t;
    }
  pt_tape_set_grad_enabled (net->tape, FALSE);
  for (int g = 0; g < G; g++)
    {
      int begin = g * B / G, end = (g + 1) * B / G, n = end - begin;
      PtTensor *x = pt_tensor_new_4d (pt_tape_get_arena (net->tape), n, shape->channels,
                                      shape->height, shape->width);
      PtTensor *k;

      for (int i = 0; i < n; i++)
        memcpy (x->data + i * per, images + perm[begin + i] * per, per * sizeof (float));
      k = pt_cnn_apply (net->tape, self->key_params, &self->key_cnn, x);
      k = pt_mlp_head_apply (net->tape, self->key_params, &self->key_proj, k);
      k = pt_op_l2_normalize (net->tape, k);
      for (int i = 0; i < n; i++)   /* un-shuffle */
        memcpy (kn + (gsize) perm[begin + i] * DIM, k->data + (gsize) i * DIM, DIM * sizeof (float));
    }
  pt_tape_set_grad_enabled (net->tape, TRUE);
}

static void
histogram (float *hist, const float *x, gsize n)
{
  memset (hist, 0, N_BINS * sizeof (float));
  for (gsize i = 0; i < n; i++)
    {
      int b = (int) floorf ((x[i] + 1.0f) * 0.5f * N_BINS);

      hist[CLAMP (b, 0, N_BINS - 1)] += 1.0f;
    }
  for (int b = 0; b < N_BINS && n > 0; b++)
    hist[b] /= n * (2.0f / N_BINS);   /* density: integrates to 1 over [-1, 1] */
}

static gboolean
moco_step (PtSslMethod      *m,
           const PtSslBatch *batch,
           PtSslResult      *result,
           GError          **error)
{
  PtMoco *self = (PtMoco *) m;
  PtSslNet *net = &self->net;
  int B = batch->batch_size, sym = m->p[P_SYMMETRIC] > 0.5, NQ = sym ? 2 * B : B;
  int K = self->queue_size;
  PtTensor *x[2], *q, *qn, *loss;
  g_autofree float *kn = g_new (float, (gsize) NQ * DIM);
  g_autofree float *dqn = g_new (float, (gsize) NQ * DIM);
  g_autofree float *pos = g_new (float, NQ);
  g_autofree float *neg = g_new (float, (gsize) NQ * MAX (K, 1));
  double pos_mean = 0.0, neg_mean = 0.0;
  float lr, value;

  pt_ssl_net_begin_step (net);
  for (int v = 0; v < 2; v++)
    x[v] = pt_ssl_net_input (net, batch->views[v], B, &batch->shape[v]);
  /* queries: view 0 (and view 1 when symmetric) */
  q = pt_cnn_apply (net->tape, net->params, &net->cnn, sym ? pt_op_concat0 (net->tape, 2, x) : x[0]);
  q = pt_mlp_head_apply (net->tape, net->params, &self->proj, q);
  qn = pt_op_l2_normalize (net->tape, q);

  /* keys from the momentum encoder, updated first as in MoCo */
  pt_params_ema (self->key_params, net->params, (float) m->p[P_MOMENTUM]);
  moco_keys (self, kn, batch->views[1], B, &batch->shape[1]);
  if (sym)
    moco_keys (self, kn + (gsize) B * DIM, batch->views[0], B, &batch->shape[0]);

  value = pt_infonce_forward (dqn, pos, neg, qn->data, kn, self->queue, NQ, K, DIM,
                              (float) m->p[P_TEMPERATURE]);
  loss = pt_op_precomputed_loss (net->tape, qn, value, dqn);
  lr = pt_ssl_lr (m->p[P_BASE_LR], B, (guint64) m->p[P_WARMUP], (guint64) m->p[P_TOTAL], m->step);
  pt_ssl_net_end_step (net, loss, lr, result);
  pt_ssl_result_add_part (result, "infonce", value);
  if (!result->grad_finite)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_FAILED,
                   _("MoCo: the loss or a gradient is not finite at step %llu"),
                   (unsigned long long) m->step);
      return FALSE;
    }

  for (int i = 0; i < NQ; i++)
    pos_mean += pos[i] / NQ;
  for (gsize i = 0; i < (gsize) NQ * K; i++)
    neg_mean += neg[i] / ((double) NQ * K);
  histogram (self->hist_pos, pos, NQ);
  histogram (self->hist_neg, neg, (gsize) NQ * K);
  self->sim_n = MIN (B, SIM_N);
  for (int i = 0; i < self->sim_n; i++)
    for (int j = 0; j < self->sim_n; j++)
      {
        double dot = 0;
        for (int d = 0; d < DIM; d++)
          dot += (double) qn->data[(gsize) i * DIM + d] * kn[(gsize) j * DIM + d];
        self->sim[i * self->sim_n + j] = (float) dot;
      }
  pt_ssl_result_add_stat (result, "positive_similarity", pos_mean);
  pt_ssl_result_add_stat (result, "queue_similarity", K > 0 ? neg_mean : 0.0);

  /* enqueue the keys: the oldest entries go first */
  for (int i = 0; i < NQ && self->queue_size > 0; i++)
    {
      memcpy (self->queue + (self->queue_ptr % self->queue_size) * DIM,
              kn + (gsize) i * DIM, DIM * sizeof (float));
      self->queue_ptr = (self->queue_ptr + 1) % self->queue_size;
      self->queue_filled++;
    }
  pt_ssl_result_add_stat (result, "queue_fill",
                          self->queue_size > 0
                          ? (double) MIN (self->queue_filled, (guint64) self->queue_size) / self->queue_size
                          : 0.0);
  pt_ssl_add_health (result, qn->data, NQ, DIM);
  m->step++;
  return TRUE;
}

static int
moco_get_feature_dim (PtSslMethod *m,
                      gboolean     projector)
{
  return projector ? m->klass->projection_dim : pt_cnn_get_out_dim (&((PtMoco *) m)->net.cnn);
}

static void
moco_embed (PtSslMethod *m,
            const float *images,
            int          n,
            float       *features,
            gboolean     projector)
{
  PtMoco *self = (PtMoco *) m;
  PtSslViewShape shape = { m->config.channels, m->config.height, m->config.width };

  pt_ssl_net_embed (&self->net, projector ? &self->proj : NULL, images, n, &shape, features);
}

static void
moco_visuals (PtSslMethod     *m,
              PtSslVisualFunc  func,
              gpointer         data)
{
  PtMoco *self = (PtMoco *) m;
  int two = 2, bins = N_BINS;
  float fill[2] = { (float) MIN (self->queue_filled, (guint64) self->queue_size),
                    (float) self->queue_size };
  float edges[2] = { -1.0f, 1.0f };

  func ("queue_fill", PT_SSL_VISUAL_VECTOR, 1, &two, fill, data);
  func ("histogram_range", PT_SSL_VISUAL_VECTOR, 1, &two, edges, data);
  func ("positive_similarity", PT_SSL_VISUAL_VECTOR, 1, &bins, self->hist_pos, data);
  func ("queue_similarity", PT_SSL_VISUAL_VECTOR, 1, &bins, self->hist_neg, data);
  if (self->sim_n > 0)
    {
      int shape[2] = { self->sim_n, self->sim_n };
      float positive[SIM_N];

      for (int i = 0; i < self->sim_n; i++)
        positive[i] = (float) i;
      func ("similarity", PT_SSL_VISUAL_MATRIX, 2, shape, self->sim, data);
      func ("positive_index", PT_SSL_VISUAL_VECTOR, 1, &self->sim_n, positive, data);
    }
}

static void
moco_list_state (PtSslMethod    *m,
                 PtSslStateFunc  func,
                 gpointer        data)
{
  PtMoco *self = (PtMoco *) m;

  pt_ssl_net_list_state (&self->net, "", func, data);
  func ("key.params", FALSE, pt_params_get_n_floats (self->key_params),
        pt_params_get_data (self->key_params), data);
  func ("queue", FALSE, (gsize) MAX (self->queue_size, 1) * DIM, self->queue, data);
  func ("queue.ptr", TRUE, 1, &self->queue_ptr, data);
  func ("queue.filled", TRUE, 1, &self->queue_filled, data);
  func ("shuffle.rng", TRUE, 1, &self->shuffle_rng.state, data);
  func ("step", TRUE, 1, &m->step, data);
}

const PtSslMethodClass pt_method_moco_class = {
  .name = "moco",
  .title = "MoCo v2",
  .description = N_("Contrast queries with keys of a momentum encoder and a queue of negatives"),
  .recipe = "moco-v2",
  .projection_dim = DIM,
  .params = moco_params,
  .instance_size = sizeof (PtMoco),
  .init = moco_init,
  .finalize = moco_finalize,
  .get_views = moco_get_views,
  .step = moco_step,
  .get_feature_dim = moco_get_feature_dim,
  .embed = moco_embed,
  .visuals = moco_visuals,
  .list_state = moco_list_state,
};
