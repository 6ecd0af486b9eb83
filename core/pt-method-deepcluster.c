/* pt-method-deepcluster.c: DeepCluster in its v2 form (Caron, Misra,
 * Mairal, Goyal, Bojanowski, Joulin, "Unsupervised Learning of Visual
 * Features by Contrasting Cluster Assignments", NeurIPS 2020, section 4.3
 * and facebookresearch/swav main_deepclusterv2.py), which keeps the
 * original's loop (Caron et al., ECCV 2018: cluster the features with
 * k-means, train on the clusters as pseudo-labels, repeat) but makes its
 * two unstable parts well posed:
 *
 * - The classifier is not learned: its rows ARE the k-means centroids.
 *   The original re-initialises a linear classifier after every
 *   clustering (the cluster numbering is arbitrary) and the encoder then
 *   follows a random head until it is fitted again; with the centroids as
 *   the classifier, the targets mean something from the first step.
 * - Features and centroids are L2-normalized projections (cnn -> Linear
 *   (8w, 8w) -> BatchNorm -> ReLU -> Linear (8w, 128), as SwAV's head),
 *   the logits cosines over a temperature (0.1), and the clustering is
 *   spherical k-means (pt_spherical_kmeans).
 *
 * The loop: every step, two augmented views of each image go through
 * the network in one pass; their detached embeddings are written into a
 * memory bank under the image's dataset index (one bank per view). At
 * the first step of every epoch after the first (the first only fills the
 * bank, as the paper's pass over the dataset before training; or every
 * recluster_every steps when that is not 0), `heads` independent k-means
 * runs (head h clusters the bank of view h mod 2) each give a set of
 * centroids and every banked image's cluster. The loss of a step is the
 * mean over heads and views of the cross-entropy of softmax (z . C_h /
 * t) against the image's cluster in head h: both views of an image are
 * pulled to the centroid its earlier embedding fell in, so the encoder
 * must map views of one image, and images of one cluster, together.
 * Images not in the bank at the clustering (the bank is full, or they
 * were not drawn) take the centroid nearest their current embedding.
 * The centroids are constants between clusterings (no gradient), as in
 * DeepCluster-v2.
 *
 * Why v2 and not the original: built as the original (a learned,
 * re-initialised classifier on k-means of the backbone features) this
 * method did not learn useful features anywhere we measured it: on
 * `shapes` no setting gave a kNN gain beyond noise, and on Fashion-MNIST
 * it stayed below its own random encoder after 10 epochs (80.8% linear,
 * 73.1% kNN against 82.5 / 80.2): docs/methods.md.
 *
 * Exact resume: the bank has a fixed capacity (bank_size rows per view;
 * a training run sets it to its dataset's size unless told otherwise);
 * it, the assignments, the centroids and the clustering counters are
 * fixed-size state blobs, so a checkpoint restores them and the run goes
 * on exactly as without the interruption.
 *
 * Visuals (head 0): cluster sizes, up to 8 dataset indices per cluster
 * ([K][8], -1 where empty), and the NMI between clusters and true labels
 * at the last clustering (when the batches carry labels).
 */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-ssl.h"

enum {
  P_CLUSTERS,
  P_HEADS,
  P_TEMPERATURE,
  P_RECLUSTER,
  P_KMEANS_ITERS,
  P_BASE_LR,
  P_WEIGHT_DECAY,
  P_WARMUP,
  P_TOTAL,
  P_BANK,
};

static const PtSslParam deepcluster_params[] = {
  { "clusters", N_("k-means clusters (pseudo-classes) per head"), 100, 2, 65536, FALSE, TRUE },
  { "heads", N_("independent k-means clusterings, each a set of targets"), 3, 1, 8, FALSE, TRUE },
  { "temperature", N_("softmax temperature of the cosine logits to the centroids"), 0.1, 0.01, 10.0, TRUE, FALSE },
  { "recluster_every", N_("steps between two k-means runs (0: at the start of every epoch, the first after one epoch of features)"), 0, 0, 1e9, TRUE, TRUE },
  { "kmeans_iterations", N_("rounds per k-means run"), 10, 1, 1000, TRUE, TRUE },
  { "base_lr", N_("learning rate for a batch of 256 (scaled by B / 256)"), 0.6, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", N_("weight decay (not on biases and batchnorm)"), 1e-4, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", N_("end of the cosine schedule (0: constant after warmup)"), 0, 0, 1e12, FALSE, TRUE },
  { "bank_size", N_("memory bank rows per view (images whose embeddings are kept, saved in checkpoints; a run sets it to its dataset's size)"), 65536, 16, 1 << 20, FALSE, TRUE },
  { NULL },
};

#define DIM       128
#define N_VIEWS   2
#define N_SAMPLES 8
#define MAX_BANK  (1 << 18)

typedef struct {
  PtSslMethod  parent;
  PtSslNet     net;
  PtMlpHead    proj;
  int          K, H;
  PtRng        rng;             /* k-means */
  GHashTable  *rows;            /* dataset index -> bank row + 1 (rebuilt on load) */
  int          cap;             /* bank capacity in rows */
  int          n_rows;          /* rows in use */
  float       *bank;            /* [N_VIEWS][cap][DIM] */
  guint32     *bank_index;      /* [cap] dataset index per row */
  int         *bank_label;      /* [cap] true label per row (-1) */
  int         *assign;          /* [H][cap] per bank row at the last clustering */
  int          n_assigned;      /* rows that existed at the last clustering */
  /* state blobs for what is not already a fixed-size float array: filled
   * by list_state, read back by state_loaded */
  guint64     *saved_rows;      /* [cap] index | (label + 1) << 32 */
  guint64     *saved_assign;    /* [H][cap] */
  guint64      saved_counters[6];
  float       *centroids;       /* [H][K][DIM], unit rows */
  float       *sizes;           /* [K] head 0 */
  float       *samples;         /* [K][N_SAMPLES] head 0 */
  gboolean     clustered;
  guint64      last_cluster;    /* step of the last clustering */
  guint64      cluster_epoch;   /* epoch of the last clustering */
  double       nmi;             /* -1 when unknown */
  int          n_reseeded;
} PtDeepCluster;

static gboolean
deepcluster_init (PtSslMethod *m,
                  GError     **error)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  PtRng rng;
  int feat;

  self->K = (int) m->p[P_CLUSTERS];
  self->H = (int) m->p[P_HEADS];
  pt_ssl_net_init_encoder (&self->net, &m->config);
  m->net = &self->net;
  feat = pt_cnn_get_out_dim (&self->net.cnn);
  pt_mlp_head_init (&self->proj, self->net.params, "projector", feat, feat, DIM, TRUE);
  pt_rng_init (&rng, m->config.seed);
  pt_ssl_net_finish (&self->net, &rng, 0, (float) m->p[P_WEIGHT_DECAY]);
  pt_mlp_head_reset (&self->proj, self->net.params, &rng);
  pt_rng_init_keyed (&self->rng, m->config.seed, 0x6b6d65616e73, 0);

  self->rows = g_hash_table_new (g_direct_hash, g_direct_equal);
  self->cap = (int) m->p[P_BANK];
  self->bank = g_new0 (float, (gsize) N_VIEWS * self->cap * DIM);
  self->bank_index = g_new0 (guint32, self->cap);
  self->bank_label = g_new0 (int, self->cap);
  self->assign = g_new0 (int, (gsize) self->H * self->cap);
  self->saved_rows = g_new0 (guint64, self->cap);
  self->saved_assign = g_new0 (guint64, (gsize) self->H * self->cap);
  self->centroids = g_new0 (float, (gsize) self->H * self->K * DIM);
  self->sizes = g_new0 (float, self->K);
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
  g_clear_pointer (&self->samples, g_free);
}

static int
deepcluster_get_views (PtSslMethod    *m,
                       PtSslViewShape *shapes)
{
  for (int v = 0; v < N_VIEWS; v++)
    shapes[v] = (PtSslViewShape) { m->config.channels, m->config.height, m->config.width };
  return N_VIEWS;
}

/* Stores the embeddings z [N_VIEWS * B][DIM] (view-major, unit rows) of
 * the batch in the bank; row_of[b] is each image's bank row, -1 when the
 * bank is full. */
static void
bank_store (PtDeepCluster    *self,
            int              *row_of,
            const float      *z,
            const PtSslBatch *batch)
{
  int B = batch->batch_size;

  for (int b = 0; b < B; b++)
    {
      guint32 idx = batch->indices != NULL ? batch->indices[b]
                                           : (guint32) ((self->parent.step * B + b) % MAX_BANK);
      gpointer v = g_hash_table_lookup (self->rows, GUINT_TO_POINTER (idx));
      int row;

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
      if (row >= 0)
        {
          for (int w = 0; w < N_VIEWS; w++)
            memcpy (self->bank + ((gsize) w * self->cap + row) * DIM,
                    z + ((gsize) w * B + b) * DIM, DIM * sizeof (float));
          self->bank_label[row] = batch->labels != NULL ? batch->labels[b] : -1;
        }
      row_of[b] = row;
    }
}

static void
recluster (PtDeepCluster *self)
{
  PtSslMethod *m = &self->parent;
  int N = self->n_rows, K = self->K, n_labeled = 0, max_label = -1;
  const int *labels = self->bank_label;

  self->n_reseeded = 0;
  for (int h = 0; h < self->H; h++)
    self->n_reseeded += pt_spherical_kmeans (self->centroids + (gsize) h * K * DIM,
                                             self->assign + (gsize) h * self->cap,
                                             self->bank + (gsize) (h % N_VIEWS) * self->cap * DIM,
                                             N, DIM, K, (int) m->p[P_KMEANS_ITERS], &self->rng);
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
  self->nmi = -1.0;
  if (n_labeled == N && max_label >= 0)
    self->nmi = pt_nmi (self->assign, labels, N, K, max_label + 1);
  self->clustered = TRUE;
  self->last_cluster = m->step;
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

/* Each image's cluster in every head: targets [H][N_VIEWS * B], the same
 * for both views of an image. An image not banked at the clustering (the
 * bank was full, or the image was not drawn yet) takes the centroid
 * nearest its first view's embedding now. */
static void
get_targets (PtDeepCluster *self,
             int           *targets,
             const float   *z,
             const int     *row_of,
             int            B)
{
  int K = self->K, n = N_VIEWS * B;

  for (int h = 0; h < self->H; h++)
    {
      const float *C = self->centroids + (gsize) h * K * DIM;
      const int *assign = self->assign + (gsize) h * self->cap;

      for (int b = 0; b < B; b++)
        {
          int y = 0;

          if (row_of[b] >= 0 && row_of[b] < self->n_assigned)
            y = assign[row_of[b]];
          else
            {
              double best = -INFINITY;

              for (int k = 0; k < K; k++)
                {
                  double dot = 0.0;

                  for (int d = 0; d < DIM; d++)
                    dot += (double) z[(gsize) b * DIM + d] * C[(gsize) k * DIM + d];
                  if (dot > best)
                    {
                      best = dot;
                      y = k;
                    }
                }
            }
          for (int v = 0; v < N_VIEWS; v++)
            targets[(gsize) h * n + v * B + b] = y;
        }
    }
}

static gboolean
deepcluster_step (PtSslMethod      *m,
                  const PtSslBatch *batch,
                  PtSslResult      *result,
                  GError          **error)
{
  PtDeepCluster *self = (PtDeepCluster *) m;
  PtSslNet *net = &self->net;
  int B = batch->batch_size;
  g_autofree int *row_of = g_new (int, B);
  g_autofree float *dz = g_new (float, (gsize) N_VIEWS * B * DIM);
  g_autofree int *targets = g_new (int, (gsize) self->H * N_VIEWS * B);
  PtTensor *x[N_VIEWS], *h, *z, *loss;
  float lr, value;

  if (batch->n_views != N_VIEWS)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_UNSUPPORTED,
                   _("DeepCluster needs 2 views, not %d"), batch->n_views);
      return FALSE;
    }
  pt_ssl_net_begin_step (net);
  for (int v = 0; v < N_VIEWS; v++)
    x[v] = pt_ssl_net_input (net, batch->views[v], B, &batch->shape[v]);
  h = pt_cnn_apply (net->tape, net->params, &net->cnn, pt_op_concat0 (net->tape, N_VIEWS, x));
  z = pt_op_l2_normalize (net->tape, pt_mlp_head_apply (net->tape, net->params, &self->proj, h));
  bank_store (self, row_of, z->data, batch);
  if (due (self, batch) && self->n_rows >= 2 * self->K)
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
      pt_ssl_add_health (result, z->data, N_VIEWS * B, DIM);
      m->step++;
      return TRUE;
    }

  get_targets (self, targets, z->data, row_of, B);
  value = pt_centroid_ce_forward (dz, z->data, self->centroids, targets, self->H,
                                  N_VIEWS * B, self->K, DIM, (float) m->p[P_TEMPERATURE]);
  loss = pt_op_precomputed_loss (net->tape, z, value, dz);
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
  pt_ssl_result_add_stat (result, "empty_clusters_reseeded", self->n_reseeded);
  pt_ssl_add_health (result, z->data, N_VIEWS * B, DIM);
  m->step++;
  return TRUE;
}

static int
deepcluster_get_feature_dim (PtSslMethod *m,
                             gboolean     projector)
{
  return projector ? m->klass->projection_dim
                   : pt_cnn_get_out_dim (&((PtDeepCluster *) m)->net.cnn);
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

  pt_ssl_net_embed (&self->net, projector ? &self->proj : NULL, images, n, &shape, features);
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
    self->saved_rows[i] = i < self->n_rows
                          ? self->bank_index[i] | (guint64) (self->bank_label[i] + 1) << 32 : 0;
  for (int h = 0; h < self->H; h++)
    for (int i = 0; i < self->cap; i++)
      self->saved_assign[(gsize) h * self->cap + i] =
        i < self->n_assigned ? (guint64) self->assign[(gsize) h * self->cap + i] : 0;
  self->saved_counters[0] = (guint64) self->n_rows;
  self->saved_counters[1] = (guint64) self->n_assigned;
  /* 0: not clustered yet; else 1 + the epoch of the last clustering */
  self->saved_counters[2] = self->clustered ? self->cluster_epoch + 1 : 0;
  self->saved_counters[3] = self->last_cluster;
  self->saved_counters[4] = (guint64) self->n_reseeded;
  memcpy (&self->saved_counters[5], &nmi, sizeof nmi);

  pt_ssl_net_list_state (&self->net, "", func, data);
  func ("centroids", FALSE, (gsize) self->H * self->K * DIM, self->centroids, data);
  func ("kmeans.rng", TRUE, 1, &self->rng.state, data);
  func ("step", TRUE, 1, &m->step, data);
  func ("bank.features", FALSE, (gsize) N_VIEWS * self->cap * DIM, self->bank, data);
  func ("bank.rows", TRUE, self->cap, self->saved_rows, data);
  func ("bank.assign", TRUE, (gsize) self->H * self->cap, self->saved_assign, data);
  func ("clusters.sizes", FALSE, self->K, self->sizes, data);
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
  self->n_reseeded = (int) self->saved_counters[4];
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
  for (int h = 0; h < self->H; h++)
    for (int i = 0; i < self->n_assigned; i++)
      self->assign[(gsize) h * self->cap + i] =
        (int) MIN (self->saved_assign[(gsize) h * self->cap + i], (guint64) self->K - 1);
}

const PtSslMethodClass pt_method_deepcluster_class = {
  .name = "deepcluster",
  .title = "DeepCluster",
  .description = N_("Cluster the embeddings with k-means every epoch and pull both views of each image to its cluster's centroid (DeepCluster-v2)"),
  .recipe = "simclr-small",
  .projection_dim = DIM,
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
