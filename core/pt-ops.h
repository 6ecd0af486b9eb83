/* pt-ops.h: the engine's operators.
 *
 * Each operator comes at two levels:
 *  - kernels in llm.c style, on raw float arrays: pt_<op>_forward (outputs,
 *    caches, inputs, weights, dimensions) and pt_<op>_backward (dinputs,
 *    dweights, doutputs, caches, inputs, weights, dimensions). Backward kernels
 *    ACCUMULATE (+=) into every gradient they are given; a NULL gradient
 *    pointer means "not needed" and is skipped.
 *  - tape wrappers pt_op_<op> (tape, inputs...) that allocate the output from
 *    the tape's arena, run the forward kernel and record the backward.
 *
 * Layouts: images are NHWC {B, H, W, C} inside the engine (see pt-tensor.h);
 * weights keep PyTorch's layout (conv {OC, C, K, K}, linear {OUT, IN}).
 * Rows-and-columns ops ({N, D}) treat any tensor as shape[0] rows of
 * numel / shape[0] columns unless said otherwise.
 *
 * Adding a family of ops (e.g. transformer ops): put kernels and wrappers in
 * core/pt-ops-<family>.c with their declarations in core/pt-ops-<family>.h,
 * follow the recipe in pt-autograd.h, and use core/pt-ops-private.h:
 * pt_par() (parallel loop with a small-size cutoff), PT_HOT (AVX2 clone of
 * a hot loop), pt_op_new_out(), pt_rows()/pt_cols(); large products go
 * through pt_sgemm() (pt-parallel.h); temporary buffers come from
 * pt_tape_alloc() (lives until reset) or pt_tape_get_scratch() (one call).
 * Then add a gradient check to tests/core/test-ops.c (or a new test file)
 * and a PyTorch case to tests/fixtures/make_fixtures.py.
 */
#pragma once

#include "pt-autograd.h"

G_BEGIN_DECLS

/* ---- kernels: pt-ops-basic.c ------------------------------------------ */

/* out[B,OC] = inp[B,C] @ weight[OC,C]^T + bias[OC] (bias may be NULL). */
void  pt_linear_forward    (float *out, const float *inp, const float *weight,
                            const float *bias, int B, int C, int OC);
void  pt_linear_backward   (float *dinp, float *dweight, float *dbias,
                            const float *dout, const float *inp, const float *weight,
                            int B, int C, int OC);
/* out[M,N] = a[M,K] @ b, b is [K,N], or [N,K] when trans_b. */
void  pt_matmul_forward    (float *out, const float *a, const float *b,
                            int M, int K, int N, gboolean trans_b);
void  pt_matmul_backward   (float *da, float *db, const float *dout,
                            const float *a, const float *b,
                            int M, int K, int N, gboolean trans_b);
void  pt_relu_forward      (float *out, const float *inp, gsize n);
/* out is the forward output: its sign gives the mask. */
void  pt_relu_backward     (float *dinp, const float *dout, const float *out, gsize n);

/* ---- kernels: pt-ops-conv.c (NHWC) ------------------------------------ */

/* Output size of a window op: (H + 2 pad - K) / stride + 1. */
int   pt_conv_out_size     (int H, int K, int stride, int pad);
/* Floats of scratch the conv kernels need (work argument). */
gsize pt_conv2d_work_floats (int B, int H, int W, int C, int OC, int K, int stride, int pad);
/* out[B,OH,OW,OC] = conv (inp[B,H,W,C], weight[OC,C,K,K]); no bias. im2col
 * over chunks of images + one sgemm per chunk; direct kernel when C == 1. */
void  pt_conv2d_forward    (float *out, float *work, const float *inp, const float *weight,
                            int B, int H, int W, int C, int OC, int K, int stride, int pad);
void  pt_conv2d_backward   (float *dinp, float *dweight, float *work, const float *dout,
                            const float *inp, const float *weight,
                            int B, int H, int W, int C, int OC, int K, int stride, int pad);
/* Max over K x K windows, no padding; argmax[i] is the input index. */
void  pt_maxpool2d_forward (float *out, gint32 *argmax, const float *inp,
                            int B, int H, int W, int C, int K, int stride);
void  pt_maxpool2d_backward (float *dinp, const float *dout, const gint32 *argmax,
                             int B, int OH, int OW, int C);
/* Mean over K x K windows, no padding. */
void  pt_avgpool2d_forward (float *out, const float *inp,
                            int B, int H, int W, int C, int K, int stride);
void  pt_avgpool2d_backward (float *dinp, const float *dout,
                             int B, int H, int W, int C, int K, int stride);
/* out[B,C] = mean over HW of inp[B,HW,C]. */
void  pt_global_avgpool_forward  (float *out, const float *inp, int B, int HW, int C);
void  pt_global_avgpool_backward (float *dinp, const float *dout, int B, int HW, int C);

/* ---- kernels: pt-ops-norm.c ------------------------------------------- */

/* Batchnorm over the rows of inp[N,C] (NHWC images: N = B*H*W; 1-D: N = B).
 * training: batch statistics (biased variance to normalize), writes
 * mean[C], rstd[C] and, when running_mean/var are non-NULL, updates them as
 * PyTorch does: r = (1 - momentum) r + momentum * stat, with the unbiased
 * variance N/(N-1). Not training: uses the running statistics (and stores
 * them in mean/rstd). weight/bias NULL: no affine. relu: ReLU fused on output. */
gsize pt_batchnorm_work_doubles (int C);
void  pt_batchnorm_forward (float *out, float *mean, float *rstd, const float *inp,
                            const float *weight, const float *bias,
                            float *running_mean, float *running_var,
                            int N, int C, float eps, float momentum,
                            gboolean training, gboolean relu, double *work);
/* out is the forward output (needed only when relu was fused); work holds
 * pt_batchnorm_work_doubles (C) doubles. */
void  pt_batchnorm_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *out, const float *inp, const float *mean,
                             const float *rstd, const float *weight,
                             int N, int C, gboolean training, gboolean relu, double *work);
/* Fused batchnorm -> ReLU -> max-pool (K x K, stride, no padding) over NHWC
 * inp[B,H,W,C]: out[B,OH,OW,C], argmax as in pt_maxpool2d_forward. Neither
 * the normalized activations nor their gradient are stored: backward
 * recomputes the ReLU mask of each window's winner from inp. Same numbers
 * as the three ops in sequence. work: pt_batchnorm_work_doubles (C). */
void  pt_batchnorm_relu_maxpool_forward (float *out, gint32 *argmax, float *mean, float *rstd,
                                         const float *inp, const float *weight,
                                         const float *bias, float *running_mean,
                                         float *running_var, int B, int H, int W, int C,
                                         int K, int stride, float eps, float momentum,
                                         gboolean training, double *work);
void  pt_batchnorm_relu_maxpool_backward (float *dinp, float *dweight, float *dbias,
                                          const float *dout, const gint32 *argmax,
                                          const float *inp, const float *mean,
                                          const float *rstd, const float *weight,
                                          const float *bias, int B, int H, int W, int C,
                                          int K, int stride, gboolean training, double *work);
/* out[N,D] = inp / max (||inp row||, eps) (PyTorch F.normalize); norms[N]. */
void  pt_l2_normalize_forward  (float *out, float *norms, const float *inp,
                                int N, int D, float eps);
void  pt_l2_normalize_backward (float *dinp, const float *dout, const float *out,
                                const float *norms, int N, int D, float eps);

/* ---- kernels: pt-ops-loss.c ------------------------------------------- */

/* Mean cross-entropy of logits[B,K] against targets[B] in [0,K), with label
 * smoothing eps (PyTorch: target (1-eps) one-hot + eps/K). probs[B,K] cache. */
float pt_cross_entropy_forward  (float *probs, const float *logits, const int *targets,
                                 int B, int K, float smoothing);
void  pt_cross_entropy_backward (float *dlogits, float dloss, const float *probs,
                                 const int *targets, int B, int K, float smoothing);
/* Mean squared error over [R,D]. mask[R] (0/1 weights) may be NULL: with a
 * mask, the mean of the per-row mean over the rows with mask 1 (MAE). */
float pt_mse_forward       (const float *pred, const float *target, const float *mask,
                            int R, int D);
void  pt_mse_backward      (float *dpred, float dloss, const float *pred, const float *target,
                            const float *mask, int R, int D);
/* NT-Xent (SimCLR) on z[M,D], M = 2N: rows are L2-normalized, logits
 * zn zn^T / temperature with the diagonal excluded, row i's positive is
 * (i + N) mod M; mean cross-entropy over the M rows. Caches: zn[M,D],
 * norms[M], probs[M,M] (softmax rows, diagonal 0). */
float pt_nt_xent_forward   (float *zn, float *norms, float *probs, const float *z,
                            int M, int D, float temperature);
/* work: M*M + M*D floats. */
void  pt_nt_xent_backward  (float *dz, float dloss, const float *zn, const float *norms,
                            const float *probs, int M, int D, float temperature, float *work);

/* ---- tape wrappers ------------------------------------------------------ */

/* x[B,IN] @ weight[OUT,IN]^T + bias[OUT] (bias may be NULL). */
PtTensor *pt_op_linear         (PtTape *tape, PtTensor *x, PtTensor *weight, PtTensor *bias);
/* a[M,K] @ b ([K,N], or [N,K] transposed when trans_b). */
PtTensor *pt_op_matmul         (PtTape *tape, PtTensor *a, PtTensor *b, gboolean trans_b);
PtTensor *pt_op_relu           (PtTape *tape, PtTensor *x);
/* Elementwise, same shapes. */
PtTensor *pt_op_add            (PtTape *tape, PtTensor *a, PtTensor *b);
PtTensor *pt_op_mul            (PtTape *tape, PtTensor *a, PtTensor *b);
PtTensor *pt_op_scale          (PtTape *tape, PtTensor *x, float s);
/* sum (x * w) as a scalar; w (x->numel floats, constant) may be NULL: plain sum. */
PtTensor *pt_op_weighted_sum   (PtTape *tape, PtTensor *x, const float *w);
/* Same data, new shape (same numel); gradients flow straight through. */
PtTensor *pt_op_reshape        (PtTape *tape, PtTensor *x, int ndim, const int *shape);
/* Same data, no gradient (stop-gradient, e.g. BYOL/SimSiam targets). */
PtTensor *pt_op_detach         (PtTape *tape, PtTensor *x);
/* Concatenation of n tensors along dim 0 (same trailing shape), n <= 4. */
PtTensor *pt_op_concat0        (PtTape *tape, int n, PtTensor **xs);
/* Rows [begin, end) along dim 0 (a copy). */
PtTensor *pt_op_slice0         (PtTape *tape, PtTensor *x, int begin, int end);
/* {B,C,H,W} -> {B,H,W,C} and back. */
PtTensor *pt_op_nchw_to_nhwc   (PtTape *tape, PtTensor *x);
PtTensor *pt_op_nhwc_to_nchw   (PtTape *tape, PtTensor *x);

/* x {B,H,W,C}, weight {OC,C,K,K}: {B,OH,OW,OC}. */
PtTensor *pt_op_conv2d         (PtTape *tape, PtTensor *x, PtTensor *weight, int stride, int pad);
PtTensor *pt_op_maxpool2d      (PtTape *tape, PtTensor *x, int k, int stride);
PtTensor *pt_op_avgpool2d      (PtTape *tape, PtTensor *x, int k, int stride);
/* {B,H,W,C} -> {B,C}. */
PtTensor *pt_op_global_avgpool (PtTape *tape, PtTensor *x);

/* Batchnorm over the last dimension ({B,H,W,C} or {B,C}); training mode is
 * the tape's. weight/bias may be NULL (no affine); running_mean/var
 * (C floats each) may be NULL (no tracking: batch statistics even in eval).
 * relu: fuse a ReLU on the output. */
PtTensor *pt_op_batchnorm      (PtTape *tape, PtTensor *x, PtTensor *weight, PtTensor *bias,
                                float *running_mean, float *running_var,
                                float momentum, float eps, gboolean relu);
/* Batchnorm (as above) -> ReLU -> max-pool k x k / stride, fused; x {B,H,W,C}. */
PtTensor *pt_op_batchnorm_relu_maxpool (PtTape *tape, PtTensor *x, PtTensor *weight,
                                        PtTensor *bias, float *running_mean,
                                        float *running_var, float momentum, float eps,
                                        int k, int stride);
PtTensor *pt_op_l2_normalize   (PtTape *tape, PtTensor *x);
/* Cosine similarities of the rows of a[N,D] and b[M,D]: {N,M}. */
PtTensor *pt_op_cosine_similarity (PtTape *tape, PtTensor *a, PtTensor *b);

/* Scalar losses (shape {1}). targets: B ints (copied). */
PtTensor *pt_op_cross_entropy  (PtTape *tape, PtTensor *logits, const int *targets,
                                float smoothing);
/* target is a constant (no gradient); mask: R floats (copied) or NULL. */
PtTensor *pt_op_mse            (PtTape *tape, PtTensor *pred, PtTensor *target,
                                const float *mask);
PtTensor *pt_op_nt_xent        (PtTape *tape, PtTensor *z, float temperature);

G_END_DECLS
