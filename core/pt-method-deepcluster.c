/* pt-method-deepcluster.c: DeepCluster (Caron, Bojanowski, Joulin, Douze,
 * "Deep Clustering for Unsupervised Learning of Visual Features", ECCV
 * 2018), the original form (k-means pseudo-labels and a classifier), with
 * two changes for a one-process workbench that only sees batches:
 *
 * - Features come from a memory bank instead of a separate pass over the
 *   dataset: each step stores the L2-normalized, detached cnn features of
 *   its images under their dataset index; every recluster_every steps
 *   k-means (k-means++ initialisation from the seeded stream, Lloyd rounds,
 *   empty clusters re-seeded by splitting the largest, as the paper does)
 *   runs on the bank and gives the pseudo-labels. Images not in the bank
 *   at clustering time take the nearest centroid. No PCA whitening (the
 *   features are 8w-dimensional already).
 * - The paper samples images uniformly over the clusters; here the
 *   cross-entropy is weighted by 1 / cluster size instead (the same
 *   expected gradient without a special sampler).
 *
 * The linear classifier head (8w -> clusters) is re-initialised after every
 * re-clustering, since the cluster numbering is arbitrary. Until the bank
 * holds 2 x clusters features the steps only fill it (loss 0, no update).
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
};

static const PtSslParam deepcluster_params[] = {
  { "clusters", "k-means clusters (pseudo-classes)", 50, 2, 65536, FALSE, TRUE },
  { "recluster_every", "steps between two k-means runs", 100, 1, 1e9, TRUE, TRUE },
  { "kmeans_iterations", "Lloyd rounds per k-means run", 20, 1, 1000, TRUE, TRUE },
  { "base_lr", "learning rate for a batch of 256 (scaled by B / 256)", 0.1, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", "weight decay (not on biases and batchnorm)", 1e-5, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", "linear warmup steps", 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", "end of the cosine schedule (0: constant after warmup)", 0, 0, 1e12, FALSE, TRUE },
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
  GHashTable  *rows;            /* dataset index -> bank row + 1 */
  GArray      *bank;            /* float [rows][D] */
  GArray      *bank_index;      /* guint32 dataset index per row */
  GArray      *bank_label;      /* int true label per row (-1) */
  int         *assign;          /* per bank row at the last clustering, -1 after */
  int          n_assigned;      /* rows that existed at the last clustering */
  float       *centroids;       /* [K][D] */
  float       *sizes;           /* [K] */
  float       *weights;         /* [K] loss weights, 1 / size */
  float       *samples;         /* [K][N_SAMPLES] */
  gboolean     clustered;
  guint64      last_cluster;    /* step of the last clustering */
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
  self->bank = g_array_new (FALSE, FALSE, sizeof (float));
  self->bank_index = g_array_new (FALSE, FALSE, sizeof (guint32));
  self->bank_label = g_array_new (FALSE, FALSE, sizeof (int));
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
  g_clear_pointer (&self->bank, g_array_unref);
  g_clear_pointer (&self->bank_index, g_array_unref);
  g_clear_pointer (&self->bank_label, g_array_unref);
  g_clear_pointer (&self->assign, g_free);
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

/* Stores normalized features of the batch; returns each image's bank row. */
static void
bank_store (PtDeepCluster    *self,
            int              *row_of,
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
      else
        {
          row = self->bank_index->len;
          g_array_set_size (self->bank, (gsize) (row + 1) * D);
          g_array_append_val (self->bank_index, idx);
          g_array_append_val (self->bank_label, label);
          g_hash_table_insert (self->rows, GUINT_TO_POINTER (idx), GINT_TO_POINTER (row + 1));
        }
      dst = &g_array_index (self->bank, float, (gsize) row * D);
      for (int d = 0; d < D; d++)
        s += (double) h[(gsize) b * D + d] * h[(gsize) b * D + d];
      s = 1.0 / MAX (sqrt (s), 1e-12);
      for (int d = 0; d < D; d++)
        dst[d] = (float) (h[(gsize) b * D + d] * s);
      g_array_index (self->bank_label, int, row) = label;
      row_of[b] = row;
    }
}

static void
recluster (PtDeepCluster *self)
{
  PtSslMethod *m = &self->parent;
  int N = self->bank_index->len, K = self->K, D = self->D, n_labeled = 0, max_label = -1;
  const int *labels = (const int *) self->bank_label->data;

  g_free (self->assign);
  self->assign = g_new (int, N);
  self->n_split = pt_kmeans (self->centroids, self->assign, (const float *) self->bank->data,
                             N, D, K, (int) m->p[P_KMEANS_ITERS], &self->rng);
  self->n_assigned = N;
  memset (self->sizes, 0, K * sizeof (float));
  for (gsize i = 0; i < (gsize) K * N_SAMPLES; i++)
    self->samples[i] = -1.0f;
  for (int i = 0; i < N; i++)
    {
      int c = self->assign[i];

      if (self->sizes[c] < N_SAMPLES)
        self->samples[c * N_SAMPLES + (int) self->sizes[c]] =
          (float) g_array_index (self->bank_index, guint32, i);
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
  PtTensor *h, *logits, *loss;
  float lr, value;

  pt_ssl_net_begin_step (net);
  h = pt_cnn_apply (net->tape, net->params, &net->cnn,
                    pt_ssl_net_input (net, batch->views[0], B, &batch->shape[0]));
  bank_store (self, row_of, h->data, batch);
  if ((!self->clustered || m->step - self->last_cluster >= (guint64) m->p[P_RECLUSTER]) &&
      (int) self->bank_index->len >= 2 * K)
    recluster (self);

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
    targets[b] = row_of[b] < self->n_assigned
                 ? self->assign[row_of[b]]
                 : nearest_centroid (self, &g_array_index (self->bank, float, (gsize) row_of[b] * D));
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

  /* The memory bank is not saved: after a resume it refills and the next
   * clustering comes recluster_every steps later. */
  pt_ssl_net_list_state (&self->net, "", func, data);
  func ("centroids", FALSE, (gsize) self->K * self->D, self->centroids, data);
  func ("kmeans.rng", TRUE, 1, &self->rng.state, data);
  func ("step", TRUE, 1, &m->step, data);
}

const PtSslMethodClass pt_method_deepcluster_class = {
  .name = "deepcluster",
  .title = "DeepCluster",
  .description = "Alternate k-means pseudo-labels of the features and training a classifier on them",
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
};
