/* pt-ssl.h: what the self-supervised methods share.
 *
 * - PtSslMethodClass: a small vtable every method in core/pt-method-*.c
 *   fills (SimCLR, MoCo v2, SwAV, DeepCluster, RotNet). It mirrors the
 *   trainer's PtMethod interface (pt-method.h) closely enough that one
 *   generic adapter wraps all five; tests and benches drive the methods
 *   through it directly.
 * - Health metrics logged every step: the standard deviation of
 *   L2-normalized embeddings and their effective rank.
 * - Loss kernels with a PyTorch reference (tests/fixtures/make_method_fixtures.py):
 *   InfoNCE against a queue (MoCo), Sinkhorn-Knopp and swapped prediction
 *   (SwAV), cross-entropy to k-means centroids (DeepCluster-v2), cross-
 *   entropy (RotNet, the supervised baseline), exact 90-degree rotations
 *   (RotNet); and seeded spherical k-means.
 * - pt_op_precomputed_loss(): a tape op for losses whose gradient is
 *   cheapest computed in the forward pass (all of the above).
 */
#pragma once

#include "pt-optim.h"

G_BEGIN_DECLS

#define PT_SSL_ERROR (pt_ssl_error_quark ())

typedef enum {
  PT_SSL_ERROR_INVALID_PARAM,   /* a hyperparameter is out of range */
  PT_SSL_ERROR_UNSUPPORTED,     /* an image shape or option the method cannot do */
  PT_SSL_ERROR_FAILED,          /* a step produced a non-finite loss */
} PtSslError;

GQuark pt_ssl_error_quark (void);

/* ---- method interface ---------------------------------------------------- */

#define PT_SSL_MAX_VIEWS  8    /* PT_MAX_VIEWS */
#define PT_SSL_MAX_PARTS  8
#define PT_SSL_MAX_STATS  16

/* Same fields as PtMethodParam (pt-method.h). */
typedef struct {
  const char *name;
  const char *description;
  double      default_value;
  double      min_value;
  double      max_value;
  gboolean    live;
  gboolean    integer;
} PtSslParam;

typedef struct {
  int channels, height, width;
} PtSslViewShape;

typedef struct {
  int         channels, height, width;   /* input images */
  int         batch_size;
  int         n_classes;                 /* 0 when unknown */
  int         encoder_width;             /* cnn width w; 0 = 16 */
  guint64     seed;
} PtSslConfig;

typedef struct {
  const char *name;          /* static string */
  double      value;
} PtSslValue;

typedef struct {
  double      loss;
  int         n_parts;
  PtSslValue  parts[PT_SSL_MAX_PARTS];
  int         n_stats;
  PtSslValue  stats[PT_SSL_MAX_STATS];
  gboolean    grad_finite;
} PtSslResult;

/* One batch: views[v] holds B images of shape[v], [B][C][H][W] floats;
 * labels[b] -1 when unknown (or labels NULL); indices[b] the dataset index. */
typedef struct {
  int              batch_size;
  int              n_views;
  PtSslViewShape   shape[PT_SSL_MAX_VIEWS];
  const float     *views[PT_SSL_MAX_VIEWS];
  const int       *labels;
  const guint32   *indices;
  guint64          epoch;
} PtSslBatch;

typedef enum {
  PT_SSL_VISUAL_IMAGES,   /* same order as PtVisualKind */
  PT_SSL_VISUAL_MATRIX,
  PT_SSL_VISUAL_VECTOR,
  PT_SSL_VISUAL_POINTS,
} PtSslVisualKind;

/* Receives one named array of a visual snapshot (data is copied by the callee). */
typedef void (*PtSslVisualFunc) (const char      *name,
                                 PtSslVisualKind  kind,
                                 int              rank,
                                 const int       *shape,
                                 const float     *data,
                                 gpointer         user_data);

/* A named state array (parameters, optimizer slots, queues, counters). */
typedef void (*PtSslStateFunc) (const char *name,
                                gboolean    is_u64,   /* else float32 */
                                gsize       count,
                                gpointer    data,
                                gpointer    user_data);

typedef struct _PtSslMethod PtSslMethod;
typedef struct _PtSslNet PtSslNet;

typedef struct {
  const char       *name;          /* "simclr" */
  const char       *title;         /* "SimCLR" */
  const char       *description;
  const char       *recipe;        /* the augmentation preset it expects; NULL: crop + flip */
  int               projection_dim; /* get_feature_dim (self, TRUE) of every instance */
  const PtSslParam *params;        /* ends with a NULL name */
  gsize             instance_size;

  gboolean (*init)            (PtSslMethod *self, GError **error);
  void     (*finalize)        (PtSslMethod *self);
  int      (*get_views)       (PtSslMethod *self, PtSslViewShape *shapes);
  gboolean (*step)            (PtSslMethod *self, const PtSslBatch *batch,
                               PtSslResult *result, GError **error);
  /* Output dim of embed with projector FALSE / TRUE (0: no projector). */
  int      (*get_feature_dim) (PtSslMethod *self, gboolean projector);
  void     (*embed)           (PtSslMethod *self, const float *images, int n,
                               float *features, gboolean projector);
  void     (*visuals)         (PtSslMethod *self, PtSslVisualFunc func, gpointer data);
  void     (*list_state)      (PtSslMethod *self, PtSslStateFunc func, gpointer data);
  /* May be NULL: after the blobs of list_state were overwritten by a load. */
  void     (*state_loaded)    (PtSslMethod *self);
} PtSslMethodClass;

/* The shared part of every instance (first member of each method struct). */
struct _PtSslMethod
{
  const PtSslMethodClass *klass;
  PtSslConfig             config;
  double                 *p;         /* one value per klass->params entry */
  guint64                 step;      /* optimisation steps taken */
  PtSslNet               *net;       /* the trained network (set by init) */
};

/* The five classes, NULL-terminated. */
const PtSslMethodClass **pt_ssl_method_list      (void);
const PtSslMethodClass  *pt_ssl_method_lookup    (const char *name);

/* Creates a method; params_kv may be NULL, else "name", value pairs
 * ending with NULL override the defaults. Errors: bad value, bad shape. */
PtSslMethod *pt_ssl_method_new        (const PtSslMethodClass *klass,
                                       const PtSslConfig      *config,
                                       GError                **error,
                                       ...) G_GNUC_NULL_TERMINATED;
/* The same with every parameter value given (values[i] for params[i],
 * range-checked). */
PtSslMethod *pt_ssl_method_new_with_values (const PtSslMethodClass *klass,
                                            const PtSslConfig      *config,
                                            const double           *values,
                                            GError                **error);
void         pt_ssl_method_free       (PtSslMethod *self);
/* After a checkpoint load overwrote the listed state: restores the
 * optimizer's step counter from its listed mirror. */
void         pt_ssl_method_state_loaded (PtSslMethod *self);
/* "simclr cnn w16 3x32x32 ..." with every non-live whole-number parameter:
 * changes whenever saved state would not fit. */
char        *pt_ssl_method_dup_architecture (PtSslMethod *self);

/* Registers the five methods with the trainer's registry (pt-method.h);
 * idempotent. */
void         pt_ssl_methods_register  (void);
/* Index of a parameter, or -1. */
int          pt_ssl_method_find_param (const PtSslMethodClass *klass,
                                       const char             *name);
/* Range-checked; only live parameters may change (between steps): the
 * others shape the model and are fixed at creation. */
gboolean     pt_ssl_method_set_param  (PtSslMethod *self,
                                       const char  *name,
                                       double       value,
                                       GError     **error);
double       pt_ssl_method_get_param  (PtSslMethod *self,
                                       const char  *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtSslMethod, pt_ssl_method_free)

void         pt_ssl_result_add_part   (PtSslResult *result, const char *name, double value);
void         pt_ssl_result_add_stat   (PtSslResult *result, const char *name, double value);

/* ---- the network every method trains ----------------------------------- */

/* A cnn encoder, an optional head, its tape and optimizer. */
struct _PtSslNet
{
  PtParams  *params;
  PtCnn      cnn;
  PtTape    *tape;
  PtOptim   *optim;
  guint64    optim_step;   /* mirror of the optimizer's counter, for list_state */
};

/* Declares the cnn in params ("encoder."). */
void      pt_ssl_net_init_encoder (PtSslNet *net, const PtSslConfig *config);
/* Finalizes params, draws initial values from rng, creates the tape and
 * the optimizer (kind 0 SGD, 1 LARS, 2 AdamW). Call after declaring heads. */
void      pt_ssl_net_finish       (PtSslNet *net, PtRng *rng, int optim_kind,
                                   float weight_decay);
void      pt_ssl_net_clear        (PtSslNet *net);
/* Tensor over external NCHW images (no gradient). */
PtTensor *pt_ssl_net_input        (PtSslNet *net, const float *images, int n,
                                   const PtSslViewShape *shape);
/* Warmup + cosine learning rate: base_lr * B / 256. */
float     pt_ssl_lr               (double base_lr, int batch_size, guint64 warmup,
                                   guint64 total, guint64 step);
/* Every gradient finite? */
gboolean  pt_ssl_net_grad_finite  (PtSslNet *net);
/* Backbone features (head NULL) or head outputs in eval mode (running BN
 * statistics), no gradient, in chunks of 256: features [n][dim]. */
void      pt_ssl_net_embed        (PtSslNet *net, const PtMlpHead *head, const float *images,
                                   int n, const PtSslViewShape *shape, float *features);
/* Starts a training step: tape reset, training mode, gradients on and zeroed. */
void      pt_ssl_net_begin_step   (PtSslNet *net);
/* Backward from loss, then (gradients finite) one optimizer step at lr.
 * Fills result->loss, grad_finite and the "lr" stat. */
void      pt_ssl_net_end_step     (PtSslNet *net, PtTensor *loss, float lr,
                                   PtSslResult *result);
/* The two halves of end_step, for methods that edit gradients in between
 * (SwAV's frozen prototypes). */
void      pt_ssl_net_backward     (PtSslNet *net, PtTensor *loss, PtSslResult *result);
void      pt_ssl_net_update       (PtSslNet *net, float lr, PtSslResult *result);
/* Parameters, optimizer slots and counters as named state arrays. */
void      pt_ssl_net_list_state   (PtSslNet *net, const char *prefix,
                                   PtSslStateFunc func, gpointer data);

/* ---- health -------------------------------------------------------------- */

/* Mean over dimensions of the std (over rows) of the L2-normalized rows of
 * z[N,D]: 0 when collapsed, about 1/sqrt(D) when spread out. */
double    pt_ssl_embedding_std    (const float *z, int N, int D);
/* exp (entropy of p), p the singular values of the centred z[N,D]
 * normalized to sum 1 (from ssyevd_ on the D x D covariance): 1 for a
 * rank-one batch, up to min (N, D). */
double    pt_ssl_effective_rank   (const float *z, int N, int D);
/* Both, as stats "embed_std" and "effective_rank". */
void      pt_ssl_add_health       (PtSslResult *result, const float *z, int N, int D);

/* ---- generic loss op ----------------------------------------------------- */

/* A scalar {1} whose value is `value` and whose backward adds
 * d(out) * grad_x (x->numel floats, copied) into x's gradient. */
PtTensor *pt_op_precomputed_loss  (PtTape *tape, PtTensor *x, float value,
                                   const float *grad_x);

/* ---- MoCo ------------------------------------------------------------------ */

/* InfoNCE of L2-normalized queries qn[N,D] against their keys kn[N,D]
 * (positives) and a queue[K,D] of negatives (K may be 0), temperature t:
 * mean over rows of CE over logits [qn.kn, qn queue^T] / t with target 0.
 * dqn[N,D] (may be NULL): d(loss)/d(qn). pos[N] and neg[N*K] (may be NULL)
 * receive the cosine similarities. */
float     pt_infonce_forward      (float *dqn, float *pos, float *neg,
                                   const float *qn, const float *kn, const float *queue,
                                   int N, int K, int D, float t);

/* ---- SwAV ------------------------------------------------------------------ */

/* Sinkhorn-Knopp as in SwAV: Q = exp (scores / eps)^T, normalized to sum 1,
 * then iters rounds of rows (prototypes) to 1/K and columns (samples) to
 * 1/B; q[B,K] = B Q^T (each sample's code sums to 1). scores[B,K]. */
void      pt_sinkhorn             (float *q, const float *scores, int B, int K,
                                   float eps, int iters);
/* Swapped prediction. scores [V][B][K] (prototype scores of every view,
 * the first G views are the global ones with codes q[G][B][K]):
 * loss = 1/G sum_g 1/(V-1) sum_{v != g} mean_b -sum_k q_g log softmax (scores_v / t).
 * dscores [V][B][K] (may be NULL). */
float     pt_swav_loss_forward    (float *dscores, const float *scores, const float *q,
                                   int V, int G, int B, int K, float t);

/* ---- DeepCluster / RotNet / supervised ------------------------------------------------- */

/* PyTorch F.cross_entropy (logits, targets, weight = class_weight):
 * sum_b w[t_b] CE_b / sum_b w[t_b]; class_weight NULL = unweighted.
 * dlogits [B,K] may be NULL. */
float     pt_weighted_cross_entropy_forward (float *dlogits, const float *logits,
                                             const int *targets, const float *class_weight,
                                             int B, int K);
/* out = torch.rot90 (inp, k, dims = (1, 2)) for one image inp[C][S][S]
 * (square): k quarter turns counter-clockwise, exact (a permutation). */
void      pt_rotate90             (float *out, const float *inp, int C, int S, int k);

/* DeepCluster-v2's loss: z[N,D] (unit rows) against H sets of K unit
 * centroids[H][K][D] with targets[H][N]: 1/H sum_h mean_n CE (z_n . C_h^T
 * / t, targets[h][n]). dz[N,D] (may be NULL): d(loss)/dz, the centroids
 * being constants. */
float     pt_centroid_ce_forward  (float *dz, const float *z, const float *centroids,
                                   const int *targets, int H, int N, int K, int D,
                                   float t);
/* Spherical k-means (DeepCluster-v2) on unit rows x[N,D]: k-means++
 * seeding from rng (squared distance 2 - 2 cos), then iters rounds of assigning
 * each row to its most similar centroid (dot product) and setting each
 * centroid to the normalized mean of its rows; an empty cluster restarts
 * at a random row of the largest one. assign[N] is the assignment to the
 * final centroids[K,D] (unit rows). Returns the restarts. */
int       pt_spherical_kmeans     (float *centroids, int *assign, const float *x,
                                   int N, int D, int K, int iters, PtRng *rng);
/* Normalized mutual information (arithmetic mean normalization, as
 * sklearn's default) of two labelings a[N] in [0,Ka), b[N] in [0,Kb). */
double    pt_nmi                  (const int *a, const int *b, int N, int Ka, int Kb);

/* ---- classes ------------------------------------------------------------------ */

extern const PtSslMethodClass pt_method_simclr_class;
extern const PtSslMethodClass pt_method_moco_class;
extern const PtSslMethodClass pt_method_swav_class;
extern const PtSslMethodClass pt_method_deepcluster_class;
extern const PtSslMethodClass pt_method_rotnet_class;

G_END_DECLS
