/* pt-ops-transformer.h: the operators of vision transformers and MAE.
 *
 * Same two levels as pt-ops.h: llm.c-style kernels on raw float arrays
 * (backward kernels ACCUMULATE into every non-NULL gradient) and tape
 * wrappers pt_op_* that allocate the output from the tape's arena.
 *
 * Token tensors are {B, T, D}: B images, T tokens, D channels, contiguous
 * with D fastest. Images enter patchify as NCHW {B, C, H, W} (PyTorch's
 * layout). Index arrays (token gathers, MAE masks) are int32, copied into
 * the tape's arena by the wrappers.
 */
#pragma once

#include "pt-ops.h"

G_BEGIN_DECLS

/* Longest sequence the attention kernels accept (stack row buffers). */
#define PT_ATTENTION_MAX_T 1024

/* ---- kernels ------------------------------------------------------------ */

/* LayerNorm over the last dimension of inp[N,D] (biased variance, as
 * PyTorch): out = (x - mean) * rstd * weight + bias; caches mean[N], rstd[N].
 * weight/bias may be NULL (no affine). */
void  pt_layernorm_forward  (float *out, float *mean, float *rstd, const float *inp,
                             const float *weight, const float *bias, int N, int D, float eps);
void  pt_layernorm_backward (float *dinp, float *dweight, float *dbias, const float *dout,
                             const float *inp, const float *mean, const float *rstd,
                             const float *weight, int N, int D);

/* GELU, exact erf form: 0.5 x (1 + erf (x / sqrt 2)) (PyTorch's nn.GELU ()). */
void  pt_gelu_forward       (float *out, const float *inp, gsize n);
void  pt_gelu_backward      (float *dinp, const float *dout, const float *inp, gsize n);

/* Softmax over the last dimension of inp[N,D]; backward uses the output. */
void  pt_softmax_forward    (float *out, const float *inp, int N, int D);
void  pt_softmax_backward   (float *dinp, const float *dout, const float *out, int N, int D);

/* Scaled dot-product multi-head self-attention core, as in
 * nn.MultiheadAttention after its fused input projection:
 * qkv[B,T,3D] holds q | k | v per token; head h uses channels
 * [h dh, (h+1) dh) of each, dh = D / NH. out[B,T,D] = softmax (q k^T /
 * sqrt (dh)) v per head, heads side by side; att[B,NH,T,T] caches the
 * probabilities. T <= PT_ATTENTION_MAX_T. */
void  pt_attention_forward  (float *out, float *att, const float *qkv,
                             int B, int T, int D, int NH);
void  pt_attention_backward (float *dqkv, const float *dout, const float *att,
                             const float *qkv, int B, int T, int D, int NH);

/* Images inp[B,C,H,W] -> patches out[B, (H/p)(W/p), p p C], patch n =
 * row-major over the (H/p) x (W/p) grid, inside a patch (pi, pj, c) with c
 * fastest: torch's reshape (B,C,H/p,p,W/p,p).permute (0,2,4,3,5,1). */
void  pt_patchify_forward   (float *out, const float *inp, int B, int C, int H, int W, int p);
/* The inverse; accumulates into img (so it is also patchify's backward). */
void  pt_unpatchify_add     (float *img, const float *patches, int B, int C, int H, int W, int p);

/* out[b,k,:] = inp[b, idx[b,k], :] for idx[B,K] into T tokens. */
void  pt_gather_tokens_forward  (float *out, const float *inp, const gint32 *idx,
                                 int B, int T, int K, int D);
void  pt_gather_tokens_backward (float *dinp, const float *dout, const gint32 *idx,
                                 int B, int T, int K, int D);
/* out[B,T,D]: out[b, idx[b,k], :] = inp[b,k,:]; tokens no index names get
 * fill[D] (MAE's mask token), or zero when fill is NULL. idx rows must not
 * repeat. */
void  pt_scatter_tokens_forward  (float *out, const float *inp, const float *fill,
                                  const gint32 *idx, int B, int T, int K, int D);
void  pt_scatter_tokens_backward (float *dinp, float *dfill, const float *dout,
                                  const gint32 *idx, int B, int T, int K, int D);

/* ---- tape wrappers ------------------------------------------------------ */

/* LayerNorm over the last dimension (any shape); weight/bias {D} or NULL. */
PtTensor *pt_op_layernorm      (PtTape *tape, PtTensor *x, PtTensor *weight, PtTensor *bias,
                                float eps);
PtTensor *pt_op_gelu           (PtTape *tape, PtTensor *x);
/* Softmax over the last dimension. */
PtTensor *pt_op_softmax        (PtTape *tape, PtTensor *x);
/* x [..., IN] @ weight[OUT,IN]^T + bias[OUT]: one sgemm over every leading
 * row (B*T tokens); output keeps x's leading shape with OUT last. */
PtTensor *pt_op_linear_tokens  (PtTape *tape, PtTensor *x, PtTensor *weight, PtTensor *bias);
/* The attention core on qkv {B,T,3D} -> {B,T,D} (see pt_attention_forward). */
PtTensor *pt_op_attention      (PtTape *tape, PtTensor *qkv, int n_heads);
/* nn.MultiheadAttention (x, x, x) with batch_first: x {B,T,D},
 * in_proj_weight {3D,D}, in_proj_bias {3D}, out_proj weight {D,D}, bias {D}. */
PtTensor *pt_op_self_attention (PtTape *tape, PtTensor *x, PtTensor *in_proj_weight,
                                PtTensor *in_proj_bias, PtTensor *out_weight,
                                PtTensor *out_bias, int n_heads);
/* {B,C,H,W} -> {B, N, p p C} (see pt_patchify_forward). */
PtTensor *pt_op_patchify       (PtTape *tape, PtTensor *x, int p);
/* {B, N, p p C} -> {B,C,H,W}. */
PtTensor *pt_op_unpatchify     (PtTape *tape, PtTensor *x, int C, int H, int W, int p);
/* x {B,T,D}, idx B*K ints in [0,T) -> {B,K,D}. */
PtTensor *pt_op_gather_tokens  (PtTape *tape, PtTensor *x, const gint32 *idx, int K);
/* x {B,K,D}, idx B*K distinct-per-row ints in [0,T), fill {D} (numel D) or
 * NULL -> {B,T,D}. */
PtTensor *pt_op_scatter_tokens (PtTape *tape, PtTensor *x, const gint32 *idx, int T,
                                PtTensor *fill);
/* Tokens [begin, end) of x {B,T,D} -> {B, end - begin, D}. */
PtTensor *pt_op_slice_tokens   (PtTape *tape, PtTensor *x, int begin, int end);
/* a {Ba,Ta,D} then b {B,Tb,D} along the token dim -> {B, Ta+Tb, D}; Ba is 1
 * (broadcast over the batch, e.g. the class token) or B. */
PtTensor *pt_op_concat_tokens  (PtTape *tape, PtTensor *a, PtTensor *b);
/* x + e, e broadcast over x's first dimension: x {B, ...} with x->numel =
 * B * e->numel (position embeddings {T,D} on tokens {B,T,D}). */
PtTensor *pt_op_add_broadcast  (PtTape *tape, PtTensor *x, PtTensor *e);

G_END_DECLS
