/* pt-vit.h: the `vit` encoder and the MAE model (ARCHITECTURE.md).
 *
 * `vit`: images {B,C,H,W} cut into p x p patches (pt_op_patchify order),
 * a Linear patch embedding (the same numbers as MAE's stride-p conv, kept as
 * a Linear {D, p p C} so it maps onto the PyTorch twin), a fixed 2-D sin-cos
 * position embedding (MAE's get_2d_sincos_pos_embed: first half of the
 * channels encodes the column, second half the row; zeros for the class
 * token), a learned class token, `depth` pre-norm blocks
 *   x = x + attn (norm1 (x)),  x = x + mlp.2 (gelu (mlp.0 (norm2 (x))))
 * with nn.MultiheadAttention's fused in_proj, and a final LayerNorm (eps 1e-5).
 * Default: patch 4, dim 128, depth 4, 4 heads, MLP ratio 4.
 *
 * FEATURES exposed (pt_vit_apply, probes, kNN, MAE's embed): the class
 * token after the final LayerNorm, {B, dim}. (The mean of the patch tokens
 * is available from pt_vit_forward_tokens for callers who want it.)
 *
 * Parameter names (prefix "encoder" in MAE): patch_embed.weight/bias,
 * cls_token {1,1,D}, pos_embed {1,N+1,D} (buffer), blocks.<i>.norm1.weight,
 * blocks.<i>.attn.in_proj_weight {3D,D}, blocks.<i>.attn.in_proj_bias,
 * blocks.<i>.attn.out_proj.weight/bias, blocks.<i>.norm2.*,
 * blocks.<i>.mlp.0.* (D -> rD), blocks.<i>.mlp.2.* (rD -> D), norm.*:
 * a PyTorch module with these attribute names loads them one-to-one.
 *
 * Initialization follows MAE: Linear and in_proj weights Xavier-uniform,
 * biases 0, LayerNorm 1/0, class and mask tokens normal (std 0.02); drawn
 * from a PtRng in declaration order.
 *
 * MAE (He et al. 2021): the encoder sees only the kept patches of a random
 * shuffle (keep = int (N (1 - mask_ratio)) first entries); the decoder
 * (decoder_embed, mask_token, decoder_pos_embed, decoder_blocks.<i>,
 * decoder_norm, decoder_pred) restores the token order with mask tokens,
 * predicts p p C pixels per patch; loss = MSE over masked patches only,
 * against the pixels or, with norm_pix, each patch normalized by its own
 * mean and (unbiased) variance + 1e-6, as MAE's reference code.
 */
#pragma once

#include "pt-nn.h"
#include "pt-ops-transformer.h"

G_BEGIN_DECLS

#define PT_VIT_MAX_DEPTH 12

typedef struct
{
  int   weight, bias;     /* {D} each */
  int   dim;
  float eps;              /* 1e-5 */
} PtLayerNorm;

typedef struct
{
  PtLayerNorm norm1;
  int         in_proj_weight;   /* {3D, D} */
  int         in_proj_bias;     /* {3D} */
  PtLinear    out_proj;
  PtLayerNorm norm2;
  PtLinear    fc1;              /* mlp.0 */
  PtLinear    fc2;              /* mlp.2 */
  int         dim, heads;
} PtVitBlock;

typedef struct
{
  int channels, height, width;
  int patch;
  int dim, depth, heads, mlp_ratio;
} PtVitConfig;

typedef struct
{
  PtVitConfig config;
  int         n_patches;            /* (H/p) (W/p) */
  int         patch_dim;            /* p p C */
  PtLinear    patch_embed;
  int         cls_token;            /* {1,1,D} */
  int         pos_embed;            /* {1,N+1,D}, buffer */
  PtVitBlock  blocks[PT_VIT_MAX_DEPTH];
  PtLayerNorm norm;
} PtVit;

typedef struct
{
  PtVitConfig encoder;
  int         decoder_dim, decoder_depth, decoder_heads;
  gboolean    norm_pix_loss;
} PtMaeConfig;

typedef struct
{
  PtMaeConfig config;
  PtVit       encoder;
  PtLinear    decoder_embed;
  int         mask_token;           /* {1,1,Dd} */
  int         decoder_pos_embed;    /* {1,N+1,Dd}, buffer */
  PtVitBlock  decoder_blocks[PT_VIT_MAX_DEPTH];
  PtLayerNorm decoder_norm;
  PtLinear    decoder_pred;         /* Dd -> p p C */
} PtMae;

/* ---- LayerNorm module and one transformer block -------------------------- */

void      pt_layernorm_init      (PtLayerNorm *ln, PtParams *params, const char *prefix,
                                  int dim);
void      pt_layernorm_reset     (const PtLayerNorm *ln, PtParams *params);
PtTensor *pt_layernorm_apply     (PtTape *tape, PtParams *params, const PtLayerNorm *ln,
                                  PtTensor *x);
void      pt_vit_block_init      (PtVitBlock *blk, PtParams *params, const char *prefix,
                                  int dim, int heads, int mlp_ratio);
void      pt_vit_block_reset     (const PtVitBlock *blk, PtParams *params, PtRng *rng);
/* x {B,T,D} -> {B,T,D} */
PtTensor *pt_vit_block_apply     (PtTape *tape, PtParams *params, const PtVitBlock *blk,
                                  PtTensor *x);

/* MAE's fixed 2-D sin-cos table {1 + gh gw, dim} (row 0, the class token,
 * zero). dim must be a multiple of 4. */
void      pt_sincos_pos_embed_2d (float *out, int dim, int gh, int gw);

/* ---- vit ----------------------------------------------------------------- */

/* The ARCHITECTURE.md defaults for an image shape. */
void      pt_vit_config_init     (PtVitConfig *config, int channels, int height, int width);
/* FALSE when the image does not divide into patches or dims do not fit
 * (dim % (4) != 0, dim % heads != 0, depth > PT_VIT_MAX_DEPTH). */
gboolean  pt_vit_config_is_valid (const PtVitConfig *config);
void      pt_vit_init            (PtVit *vit, PtParams *params, const char *prefix,
                                  const PtVitConfig *config);
/* Draws the weights and writes the position table. */
void      pt_vit_reset           (const PtVit *vit, PtParams *params, PtRng *rng);
int       pt_vit_get_out_dim     (const PtVit *vit);
/* x {B,C,H,W} -> tokens {B, 1+K, D} after the final LayerNorm; token 0 is
 * the class token, then the patches keep[b*K + k] (NULL: all N patches in
 * order, K ignored). */
PtTensor *pt_vit_forward_tokens  (PtTape *tape, PtParams *params, const PtVit *vit,
                                  PtTensor *x, const gint32 *keep, int K);
/* x {B,C,H,W} -> class-token features {B, D}. */
PtTensor *pt_vit_apply           (PtTape *tape, PtParams *params, const PtVit *vit,
                                  PtTensor *x);
/* Multiply-adds of one image's forward pass with T tokens in the blocks. */
double    pt_vit_forward_macs    (const PtVit *vit, int n_tokens);

/* ---- MAE ----------------------------------------------------------------- */

/* Defaults: the vit defaults, decoder dim 64, depth 2, 4 heads, norm_pix off. */
void      pt_mae_config_init     (PtMaeConfig *config, int channels, int height, int width);
gboolean  pt_mae_config_is_valid (const PtMaeConfig *config);
/* Declares everything; the encoder's names start with "encoder.". */
void      pt_mae_init            (PtMae *mae, PtParams *params, const PtMaeConfig *config);
void      pt_mae_reset           (const PtMae *mae, PtParams *params, PtRng *rng);
/* Patches kept for a mask ratio: int (N (1 - ratio)), at least 1, at most N. */
int       pt_mae_n_keep          (int n_patches, double mask_ratio);
/* ids_shuffle[B,N]: each row the argsort of N uniform draws from rng
 * (MAE's random masking); the first K entries of a row are kept. */
void      pt_mae_random_shuffle  (PtRng *rng, int B, int N, gint32 *ids_shuffle);
/* Training forward: the scalar loss. ids_shuffle[B,N] (copied) with the
 * first K of each row visible. pred_out (may be NULL) receives the
 * prediction {B, N, p p C} (normalized units when norm_pix_loss);
 * latent_out (may be NULL) the encoder's tokens {B, 1+K, D} after its final
 * LayerNorm (token 0: the class token). */
PtTensor *pt_mae_forward         (PtTape *tape, PtParams *params, const PtMae *mae,
                                  PtTensor *x, const gint32 *ids_shuffle, int K,
                                  PtTensor **pred_out, PtTensor **latent_out);
/* The reconstruction visual for images[n,C,H,W] with the given shuffle and
 * K: out[4][n][C][H][W] = original, masked (masked patches set to
 * fill_value), reconstruction (de-normalized with each patch's own
 * mean/std from the original when norm_pix_loss), reconstruction with the
 * visible patches pasted. Runs without gradients on tape (reset first). */
void      pt_mae_reconstruct     (PtTape *tape, PtParams *params, const PtMae *mae,
                                  const float *images, int n, const gint32 *ids_shuffle,
                                  int K, float fill_value, float *out);
/* Multiply-adds of one training forward pass of one image with K kept. */
double    pt_mae_forward_macs    (const PtMae *mae, int K);

G_END_DECLS
