/* pt-nn.h: the parameter registry and the modules built on it.
 *
 * PtParams holds every parameter and buffer of a model in ONE flat float
 * buffer, with ONE flat gradient buffer of the same size, so zero-grad,
 * optimizers, EMA teachers and checkpoints are flat loops. Each entry has a
 * PyTorch-like dotted name ("encoder.blocks.0.conv.weight"), a shape, an
 * offset into the buffers and flags (buffer = not trained, e.g. batchnorm
 * running statistics; no-decay = excluded from weight decay and LARS
 * adaptation, e.g. biases and norm parameters).
 *
 * Life of a model: declare modules (pt_*_init: registers entries) ->
 * pt_params_finalize (allocates the buffers, zeroed) -> pt_*_reset (draws
 * the initial values with a PtRng; PyTorch's default rules) -> apply.
 *
 * Initialization matches PyTorch's defaults in distribution: conv and linear
 * weights Kaiming-uniform with a = sqrt(5) (bound 1/sqrt(fan_in)), biases
 * uniform in +-1/sqrt(fan_in), batchnorm weight 1, bias 0, running mean 0,
 * running var 1. Values come from our own splitmix64 (pt-rng.h), in
 * declaration order, so a seed reproduces a model exactly.
 */
#pragma once

#include "pt-ops.h"
#include "pt-rng.h"

G_BEGIN_DECLS

typedef enum
{
  PT_PARAM_DEFAULT   = 0,
  PT_PARAM_NO_DECAY  = 1 << 0,   /* no weight decay, no LARS adaptation */
  PT_PARAM_BUFFER    = 1 << 1,   /* state, not trained (no gradient) */
} PtParamFlags;

typedef struct
{
  char         *name;
  gsize         offset;    /* in floats, into the data and grad buffers */
  gsize         numel;
  int           ndim;
  int           shape[PT_MAX_DIMS];
  PtParamFlags  flags;
} PtParamInfo;

typedef struct _PtParams PtParams;

PtParams          *pt_params_new          (void);
void               pt_params_free         (PtParams       *params);
/* Declares an entry; returns its index. Only before finalize. */
int                pt_params_add          (PtParams       *params,
                                           const char     *name,
                                           int             ndim,
                                           const int      *shape,
                                           PtParamFlags    flags);
/* Allocates the zeroed data and gradient buffers. */
void               pt_params_finalize     (PtParams       *params);
gboolean           pt_params_is_finalized (PtParams       *params);
guint              pt_params_get_n        (PtParams       *params);
const PtParamInfo *pt_params_get_info     (PtParams       *params,
                                           int             index);
/* Index of an entry by name, or -1. */
int                pt_params_find         (PtParams       *params,
                                           const char     *name);
/* The tensor view of an entry (data and grad point into the flat buffers;
 * requires_grad unless it is a buffer). Borrowed, valid with params. */
PtTensor          *pt_params_tensor       (PtParams       *params,
                                           int             index);
float             *pt_params_data         (PtParams       *params,
                                           int             index);
/* The flat buffers, pt_params_get_n_floats () floats each. */
float             *pt_params_get_data     (PtParams       *params);
float             *pt_params_get_grad     (PtParams       *params);
gsize              pt_params_get_n_floats (PtParams       *params);
/* Number of trained floats (entries that are not buffers). */
gsize              pt_params_get_n_trainable (PtParams    *params);
void               pt_params_zero_grad    (PtParams       *params);
/* Same names and shapes in the same order. */
gboolean           pt_params_same_layout  (PtParams       *a,
                                           PtParams       *b);
/* dst's values (parameters and buffers) := src's. Same layout. */
void               pt_params_copy         (PtParams       *dst,
                                           PtParams       *src);
/* MoCo/BYOL teacher: t = momentum * t + (1 - momentum) * s for trained
 * entries; buffers are left to the teacher's own forward passes. */
void               pt_params_ema          (PtParams       *teacher,
                                           PtParams       *student,
                                           float           momentum);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtParams, pt_params_free)

/* ---- modules ------------------------------------------------------------ */

typedef struct
{
  int weight;          /* {OUT, IN} */
  int bias;            /* {OUT} or -1 */
  int in, out;
} PtLinear;

typedef struct
{
  int weight;          /* {OC, C, K, K} */
  int bias;            /* -1: the engine's convolutions have no bias */
  int in, out, k, stride, pad;
} PtConv2d;

typedef struct
{
  int      weight, bias;                 /* -1 when not affine */
  int      running_mean, running_var;    /* buffers */
  int      channels;
  float    eps;                          /* 1e-5 */
  float    momentum;                     /* 0.1, PyTorch's convention */
} PtBatchNorm;

/* Linear -> [BatchNorm1d] -> ReLU -> Linear. Names prefix.0, [prefix.1],
 * then the last Linear at prefix.2 (prefix.3 with batchnorm), as PyTorch's
 * nn.Sequential numbers them. */
typedef struct
{
  PtLinear    fc1;
  PtBatchNorm bn;
  gboolean    use_bn;
  PtLinear    fc2;
} PtMlpHead;

/* The default `cnn` encoder (ARCHITECTURE.md): four blocks conv3x3 pad 1
 * no bias -> BatchNorm -> ReLU with w, 2w, 4w, 8w channels, 2x2 max-pool
 * after blocks 2 and 3, global average pool -> 8w features. */
typedef struct
{
  int          in_channels;
  int          width;
  PtConv2d     conv[4];
  PtBatchNorm  bn[4];
} PtCnn;

/* prefix may be "" (names without a prefix). */
void      pt_linear_init      (PtLinear *lin, PtParams *params, const char *prefix,
                               int in, int out, gboolean bias);
void      pt_linear_reset     (const PtLinear *lin, PtParams *params, PtRng *rng);
/* x {B, IN} -> {B, OUT} */
PtTensor *pt_linear_apply     (PtTape *tape, PtParams *params, const PtLinear *lin,
                               PtTensor *x);

void      pt_conv2d_init      (PtConv2d *conv, PtParams *params, const char *prefix,
                               int in, int out, int k, int stride, int pad);
void      pt_conv2d_reset     (const PtConv2d *conv, PtParams *params, PtRng *rng);
/* x {B, H, W, C} (NHWC) -> {B, OH, OW, OC} */
PtTensor *pt_conv2d_apply     (PtTape *tape, PtParams *params, const PtConv2d *conv,
                               PtTensor *x);

void      pt_batchnorm_init   (PtBatchNorm *bn, PtParams *params, const char *prefix,
                               int channels, gboolean affine);
void      pt_batchnorm_reset  (const PtBatchNorm *bn, PtParams *params);
/* Over the last dimension; training mode is the tape's; relu fuses a ReLU. */
PtTensor *pt_batchnorm_apply  (PtTape *tape, PtParams *params, const PtBatchNorm *bn,
                               PtTensor *x, gboolean relu);

void      pt_mlp_head_init    (PtMlpHead *head, PtParams *params, const char *prefix,
                               int in, int hidden, int out, gboolean use_bn);
void      pt_mlp_head_reset   (const PtMlpHead *head, PtParams *params, PtRng *rng);
PtTensor *pt_mlp_head_apply   (PtTape *tape, PtParams *params, const PtMlpHead *head,
                               PtTensor *x);
/* The SimCLR/MoCo projector: Linear(8w, 8w) -> ReLU -> Linear(8w, 128). */
void      pt_projector_init   (PtMlpHead *head, PtParams *params, const char *prefix,
                               int in_features, int out_features);

void      pt_cnn_init         (PtCnn *cnn, PtParams *params, const char *prefix,
                               int in_channels, int width);
void      pt_cnn_reset        (const PtCnn *cnn, PtParams *params, PtRng *rng);
/* Features: 8 * width. */
int       pt_cnn_get_out_dim  (const PtCnn *cnn);
/* x {B, C, H, W} (NCHW, like PyTorch) -> features {B, 8w}. */
PtTensor *pt_cnn_apply        (PtTape *tape, PtParams *params, const PtCnn *cnn,
                               PtTensor *x);
/* Multiply-adds of one forward pass of one image of H x W (for GFLOP/s). */
double    pt_cnn_forward_macs (const PtCnn *cnn, int H, int W);

G_END_DECLS
