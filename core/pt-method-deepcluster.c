/* pt-method-deepcluster.c: DeepCluster (Caron, Bojanowski, Joulin, Douze,
 * "Deep Clustering for Unsupervised Learning of Visual Features", ECCV
 * 2018), the original form (k-means pseudo-labels and a classifier), with
 * two changes for a one-process workbench that only sees batches:
 *
 * - Features come from a memory bank instead of a separate pass over the
 *   dataset: each step stores the L2-normalized, detached cnn features of
 *   its images under their dataset index; at the start of every epoch, as
 *   the paper does (or every recluster_every steps when it is not 0),
 *   k-means (k-means++ initialisation from the seeded stream, Lloyd rounds,
 *   empty clusters re-seeded by splitting the largest, as the paper does)
 *   runs on the bank and gives the pseudo-labels. By epoch, the first
 *   epoch only fills the bank (the paper's pass over the dataset before
 *   the first epoch): clustering sooner, on the first batches' features,
 *   fits the first epoch to a few hundred images' clusters (Fashion-MNIST,
 *   3 epochs, docs/methods.md: NMI of the first full clustering 0.13 ->
 *   0.23, kNN 71.8% -> 72.8%). Images not in the bank at clustering time
 *   take the nearest centroid. No PCA whitening (the features are
 *   8w-dimensional already; whitening did not help on shapes).
 * - The paper samples images uniformly over the clusters; here the
 *   cross-entropy is weighted by 1 / cluster size instead (the same
 *   expected gradient without a special sampler).
 *
 * The linear classifier head (8w -> clusters) is re-initialised after every
 * re-clustering, since the cluster numbering is arbitrary. Until the first
 * clustering (and the bank holds at least 2 x clusters features) the steps
 * only fill it (loss 0, no update).
 *
 * Exact resume: the bank has a fixed capacity (bank_size rows, enough for
 * Fashion-MNIST's 60000 or CIFAR's 50000 images by default; images beyond
 * it are not remembered and take the nearest centroid), so it, the
 * assignments, the cluster sizes and weights and the clustering counters
 * are fixed-size state blobs; a checkpoint restores them and the run goes
 * on exactly as without the interruption.
 *
 * Visuals: cluster sizes, up to 8 dataset indices per cluster ([K][8], -1
 * where empty), and the NMI between clusters and true labels (when the
 * batches carry labels) at the last clustering.
 */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-ssl.h"

enum {
  P_CLUSTERS,
  P_RECLUSTER,
  P_KMEANS_ITERS,
  P_BASE_LR,
  P_WEIGHT_DECAY,
  P_WARMUP,
  P_TOTAL,
  P_BANK,
};

static const PtSslParam deepcluster_params[] = {
  { "clusters", N_("k-means clusters (pseudo-classes)"), 50, 2, 65536, FALSE, TRUE },
  { "recluster_every", N_("steps between two k-means runs (0: at the start of every epoch, the first after one epoch of features)"), 0, 0, 1e9, TRUE, TRUE },
  { "kmeans_iterations", N_("Lloyd rounds per k-means run"), 20, 1, 1000, TRUE, TRUE },
  { "base_lr", N_("learning rate for a batch of 256 (scaled by B / 256)"), 0.1, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", N_("weight decay (not on biases and batchnorm)"), 1e-5, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", N_("end of the cosine schedule (0: constant after warmup)"), 0, 0, 1e12, FALSE, TRUE },
  { "bank_size", N_("memory bank rows (images whose features are kept, saved in checkpoints)"), 65536, 16, 1 << 20, FALSE, TRUE },
  { NULL },
};

#define N_SAMPLES 8
#define MAX_BANK (1 << 18)

typedef struct {
  PtSslMethod  parent;
  PtSslNet     net;
  PtLinear     head;
  int          K, D;
  PtRng        rng;             /* k-means and head re-initialisation */
  GHashTable  *rows;            /* dataset index -> bank row + 1 (rebuilt on load) */
  int          cap;             /* bank capacity in rows */
  int          n_rows;          /* rows in use */
  float       *bank;            /* [cap][D] */
  guint32     *bank_index;      /* [cap] dataset index per row */
  int         *bank_label;      /* [cap] true label per row (-1) */
  int         *assign;          /* [cap] per bank row at the last clustering */
  int          n_assigned;      /* rows that existed at the last clustering */
  /* state blobs for what is not already a fixed-size float array: filled
   * by list_state, read back by state_loaded */
  guint64     *saved_rows;      /* [cap] index | (label + 1) << 32 */
  guint64     *saved_assign;    /* [cap] */
  guint64      saved_counters[6];
  float       *centroids;       /* [K][D] */
  float       *sizes;           /* [K] */
  float       *weights;         /* [K] loss weights, 1 / size */
  float       *samples;         /* [K][N_SAMPLES] */
  gboolean     clustered;
  guint64      last_cluster;    /* step of the last clustering */
  guint64      cluster_epoch;   /* epoch of the last clustering */
  double       nmi;             /* -1 when unknown */
  int          n_split;
} PtDeepCluster;

static gboolean
deepcluster_init (PtSslMethod *m,
                  GError     **error)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  PtRng rng;

  self->K = (int) m->p[P_CLUSTERS];
  pt_ssl_net_init_encoder (&self->net, &m->config);
  m->net = &self->net;
  self->D = pt_cnn_get_out_dim (&self->net.cnn);
  pt_linear_init (&self->head, self->net.params, "head", self->D, self->K, TRUE);
  pt_rng_init (&rng, m->config.seed);
  pt_ssl_net_finish (&self->net, &rng, 0, (float) m->p[P_WEIGHT_DECAY]);
  pt_linear_reset (&self->head, self->net.params, &rng);
  pt_rng_init_keyed (&self->rng, m->config.seed, 0x6b6d65616e73, 0);

  self->rows = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->cap = (int) m->p[P_BANK];
  self->bank = g_new0 (float, (gsize) self->cap * self->D);
  self->bank_index = g_new0 (guint32, self->cap);
  self->bank_label = g_new0 (int, self->cap);
  self->assign = g_new0 (int, self->cap);
  self->saved_rows = g_new0 (guint64, self->cap);
  self->saved_assign = g_new0 (guint64, self->cap);
  self->centroids = g_new0 (float, (gsize) self->K * self->D);
  self->sizes = g_new0 (float, self->K);
  self->weights = g_new0 (float, self->K);
  self->samples = g_new (float, (gsize) self->K * N_SAMPLES);
  for (gsize i = 0; i < (gsize) self->K * N_SAMPLES; i++)
    self->samples[i] = -1.0f;
  self->nmi = -1.0;
  return TRUE;
}

static void
deepcluster_finalize (PtSslMethod *m)
{
  PtDeepCluster *self = (PtDeepCluster *) m;

  pt_ssl_net_clear (&self->net);
  g_clear_pointer (&self->rows, g_hash_table_unref);
  g_clear_pointer (&self->bank, g_free);
  g_clear_pointer (&self->bank_index, g_free);
  g_clear_pointer (&self->bank_label, g_free);
  g_clear_pointer (&self->assign, g_free);
  g_clear_pointer (&self->saved_rows, g_free);
  g_clear_pointer (&self->saved_assign, g_free);
  g_clear_pointer (&self->centroids, g_free);
  g_clear_pointer (&self->sizes, g_free);
  g_clear_pointer (&self->weights, g_free);
  g_clear_pointer (&self->samples, g_free);
}

static int
deepcluster_get_views (PtSslMethod    *m,
                       PtSslViewShape *shapes)
{
  shapes[0] = (PtSslViewShape) { m->config.channels, m->config.height, m->config.width };
  return 1;
}

/* Normalizes the features of the batch into hn [B][D] and stores them in
 * the bank; row_of[b] is each image's bank row, -1 when the bank is full. */
static void
bank_store (PtDeepCluster    *self,
            int              *row_of,
            float            *hn,
            const float      *h,
            const PtSslBatch *batch)
{
  int B = batch->batch_size, D = self->D;

  for (int b = 0; b < B; b++)
    {
      guint32 idx = batch->indices != NULL ? batch->indices[b]
                                           : (guint32) ((self->parent.step * B + b) % MAX_BANK);
      gpointer v = g_hash_table_lookup (self->rows, GUINT_TO_POINTER (idx));
      int row, label = batch->labels != NULL ? batch->labels[b] : -1;
      double s = 0.0;
      float *dst;

      if (v != NULL)
        row = GPOINTER_TO_INT (v) - 1;
      else if (self->n_rows < self->cap)
        {
          row = self->n_rows++;
          self->bank_index[row] = idx;
          g_hash_table_insert (self->rows, GUINT_TO_POINTER (idx), GINT_TO_POINTER (row + 1));
        }
      else
        row = -1;
      dst = hn + (gsize) b * D;
      for (int d = 0; d < D; d++)
        s += (double) h[(gsize) b * D + d] * h[(gsize) b * D + d];
      s = 1.0 / MAX (sqrt (s), 1e-12);
      for (int d = 0; d < D; d++)
        dst[d] = (float) (h[(gsize) b * D + d] * s);
      if (row >= 0)
        {
          memcpy (self->bank + (gsize) row * D, dst, D * sizeof (float));
          self->bank_label[row] = label;
        }
      row_of[b] = row;
    }
}

static void
recluster (PtDeepCluster *self)
{
  PtSslMethod *m = &self->parent;
  int N = self->n_rows, K = self->K, D = self->D, n_labeled = 0, max_label = -1;
  const int *labels = self->bank_label;

  self->n_split = pt_kmeans (self->centroids, self->assign, self->bank,
                             N, D, K, (int) m->p[P_KMEANS_ITERS], &self->rng);
  self->n_assigned = N;
  memset (self->sizes, 0, K * sizeof (float));
  for (gsize i = 0; i < (gsize) K * N_SAMPLES; i++)
    self->samples[i] = -1.0f;
  for (int i = 0; i < N; i++)
    {
      int c = self->assign[i];

      if (self->sizes[c] < N_SAMPLES)
        self->samples[c * N_SAMPLES + (int) self->sizes[c]] = (float) self->bank_index[i];
      self->sizes[c] += 1.0f;
      if (labels[i] >= 0)
        {
          n_labeled++;
          max_label = MAX (max_label, labels[i]);
        }
    }
  for (int c = 0; c < K; c++)
    self->weights[c] = 1.0f / MAX (self->sizes[c], 1.0f);
  self->nmi = -1.0;
  if (n_labeled == N && max_label >= 0)
    self->nmi = pt_nmi (self->assign, labels, N, K, max_label + 1);
  /* the cluster numbering changed: a fresh classifier */
  pt_linear_reset (&self->head, self->net.params, &self->rng);
  self->clustered = TRUE;
  self->last_cluster = m->step;
}

static int
nearest_centroid (PtDeepCluster *self,
                  const float   *x)
{
  double best = INFINITY;
  int arg = 0;

  for (int c = 0; c < self->K; c++)
    {
      double s = 0.0;

      for (int d = 0; d < self->D; d++)
        {
          double e = (double) x[d] - self->centroids[(gsize) c * self->D + d];
          s += e * e;
        }
      if (s < best)
        {
          best = s;
          arg = c;
        }
    }
  return arg;
}

/* Whether k-means runs before this step: every recluster_every steps
 * (the first time as soon as the bank can be clustered), or, with 0, at
 * the first step of every epoch after the first, which only fills the
 * bank (the paper clusters the whole dataset before each epoch). */
static gboolean
due (PtDeepCluster    *self,
     const PtSslBatch *batch)
{
  PtSslMethod *m = &self->parent;
  guint64 every = (guint64) m->p[P_RECLUSTER];

  if (every == 0)
    return batch->epoch > (self->clustered ? self->cluster_epoch : 0);
  return !self->clustered || m->step - self->last_cluster >= every;
}

static gboolean
deepcluster_step (PtSslMethod      *m,
                  const PtSslBatch *batch,
                  PtSslResult      *result,
                  GError          **error)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  PtSslNet *net = &self->net;
  int B = batch->batch_size, K = self->K, D = self->D;
  g_autofree int *row_of = g_new (int, B);
  g_autofree int *targets = g_new (int, B);
  g_autofree float *dlogits = g_new (float, (gsize) B * K);
  g_autofree float *hn = g_new (float, (gsize) B * self->D);
  PtTensor *h, *logits, *loss;
  float lr, value;

  pt_ssl_net_begin_step (net);
  h = pt_cnn_apply (net->tape, net->params, &net->cnn,
                    pt_ssl_net_input (net, batch->views[0], B, &batch->shape[0]));
  bank_store (self, row_of, hn, h->data, batch);
  if (due (self, batch) && self->n_rows >= 2 * K)
    {
      recluster (self);
      self->cluster_epoch = batch->epoch;
    }

  lr = pt_ssl_lr (m->p[P_BASE_LR], B, (guint64) m->p[P_WARMUP], (guint64) m->p[P_TOTAL], m->step);
  if (!self->clustered)
    {
      /* still filling the bank */
      result->loss = 0.0;
      result->grad_finite = TRUE;
      pt_ssl_result_add_part (result, "cluster_ce", 0.0);
      pt_ssl_result_add_stat (result, "lr", lr);
      pt_ssl_add_health (result, h->data, B, D);
      m->step++;
      return TRUE;
    }

  for (int b = 0; b < B; b++)
    targets[b] = row_of[b] >= 0 && row_of[b] < self->n_assigned
                 ? self->assign[row_of[b]]
                 : nearest_centroid (self, hn + (gsize) b * D);
  logits = pt_linear_apply (net->tape, net->params, &self->head, h);
  value = pt_weighted_cross_entropy_forward (dlogits, logits->data, targets, self->weights, B, K);
  loss = pt_op_precomputed_loss (net->tape, logits, value, dlogits);
  pt_ssl_net_end_step (net, loss, lr, result);
  pt_ssl_result_add_part (result, "cluster_ce", value);
  if (!result->grad_finite)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_FAILED,
                   _("DeepCluster: the loss or a gradient is not finite at step %llu"),
                   (unsigned long long) m->step);
      return FALSE;
    }
  if (self->nmi >= 0.0)
    pt_ssl_result_add_stat (result, "nmi", self->nmi);
  pt_ssl_result_add_stat (result, "empty_clusters_split", self->n_split);
  pt_ssl_add_health (result, h->data, B, D);
  m->step++;
  return TRUE;
}

static int
deepcluster_get_feature_dim (PtSslMethod *m,
                             gboolean     projector)
{
  return projector ? 0 : ((PtDeepCluster *) m)->D;
}

static void
deepcluster_embed (PtSslMethod *m,
                   const float *images,
                   int          n,
                   float       *features,
                   gboolean     projector)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  PtSslViewShape shape = { m->config.channels, m->config.height, m->config.width };

  pt_ssl_net_embed (&self->net, NULL, images, n, &shape, features);
}

static void
deepcluster_visuals (PtSslMethod     *m,
                     PtSslVisualFunc  func,
                     gpointer         data)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  int shape[2] = { self->K, N_SAMPLES }, one = 1;
  float nmi = (float) self->nmi;

  func ("cluster_sizes", PT_SSL_VISUAL_VECTOR, 1, &self->K, self->sizes, data);
  func ("cluster_samples", PT_SSL_VISUAL_MATRIX, 2, shape, self->samples, data);
  if (self->nmi >= 0.0)
    func ("nmi", PT_SSL_VISUAL_VECTOR, 1, &one, &nmi, data);
}

static void
deepcluster_list_state (PtSslMethod    *m,
                        PtSslStateFunc  func,
                        gpointer        data)
{
  PtDeepCluster *self = (PtDeepCluster *) m;

  double nmi = self->nmi;

  /* everything a later step reads: the bank, the assignments and the
   * clustering, so a resumed run continues exactly */
  for (int i = 0; i < self->cap; i++)
    {
      self->saved_rows[i] = i < self->n_rows
                            ? self->bank_index[i] | (guint64) (self->bank_label[i] + 1) << 32 : 0;
      self->saved_assign[i] = i < self->n_assigned ? (guint64) self->assign[i] : 0;
    }
  self->saved_counters[0] = (guint64) self->n_rows;
  self->saved_counters[1] = (guint64) self->n_assigned;
  /* 0: not clustered yet; else 1 + the epoch of the last clustering */
  self->saved_counters[2] = self->clustered ? self->cluster_epoch + 1 : 0;
  self->saved_counters[3] = self->last_cluster;
  self->saved_counters[4] = (guint64) self->n_split;
  memcpy (&self->saved_counters[5], &nmi, sizeof nmi);

  pt_ssl_net_list_state (&self->net, "", func, data);
  func ("centroids", FALSE, (gsize) self->K * self->D, self->centroids, data);
  func ("kmeans.rng", TRUE, 1, &self->rng.state, data);
  func ("step", TRUE, 1, &m->step, data);
  func ("bank.features", FALSE, (gsize) self->cap * self->D, self->bank, data);
  func ("bank.rows", TRUE, self->cap, self->saved_rows, data);
  func ("bank.assign", TRUE, self->cap, self->saved_assign, data);
  func ("clusters.sizes", FALSE, self->K, self->sizes, data);
  func ("clusters.weights", FALSE, self->K, self->weights, data);
  func ("clusters.samples", FALSE, (gsize) self->K * N_SAMPLES, self->samples, data);
  func ("clusters.counters", TRUE, G_N_ELEMENTS (self->saved_counters), self->saved_counters, data);
}

static void
deepcluster_state_loaded (PtSslMethod *m)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  double nmi;

  self->n_rows = (int) MIN (self->saved_counters[0], (guint64) self->cap);
  self->n_assigned = (int) MIN (self->saved_counters[1], (guint64) self->n_rows);
  self->clustered = self->saved_counters[2] != 0;
  self->cluster_epoch = self->clustered ? self->saved_counters[2] - 1 : 0;
  self->last_cluster = self->saved_counters[3];
  self->n_split = (int) self->saved_counters[4];
  memcpy (&nmi, &self->saved_counters[5], sizeof nmi);
  self->nmi = nmi;
  g_hash_table_remove_all (self->rows);
  for (int i = 0; i < self->n_rows; i++)
    {
      self->bank_index[i] = (guint32) (self->saved_rows[i] & 0xffffffffu);
      self->bank_label[i] = (int) (self->saved_rows[i] >> 32) - 1;
      g_hash_table_insert (self->rows, GUINT_TO_POINTER (self->bank_index[i]),
                           GINT_TO_POINTER (i + 1));
    }
  for (int i = 0; i < self->n_assigned; i++)
    self->assign[i] = (int) MIN (self->saved_assign[i], (guint64) self->K - 1);
}

const PtSslMethodClass pt_method_deepcluster_class = {
  .name = "deepcluster",
  .title = "DeepCluster",
  .description = N_("Alternate k-means pseudo-labels of the features and training a classifier on them"),
  .recipe = NULL,
  .params = deepcluster_params,
  .instance_size = sizeof (PtDeepCluster),
  .init = deepcluster_init,
  .finalize = deepcluster_finalize,
  .get_views = deepcluster_get_views,
  .step = deepcluster_step,
  .get_feature_dim = deepcluster_get_feature_dim,
  .embed = deepcluster_embed,
  .visuals = deepcluster_visuals,
  .list_state = deepcluster_list_state,
  .state_loaded = deepcluster_state_loaded,
};
