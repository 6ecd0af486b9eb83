/* pt-method-mae.h: MAE (He et al. 2021) as a PtMethod.
 *
 * One view per image at the dataset's shape. The model is pt-vit.h's MAE
 * with the default `vit` encoder (patch 4) and decoder (dim 64, depth 2,
 * 4 heads). Optimizer as the paper: AdamW, betas 0.9/0.95, weight decay
 * 0.05 (not on biases, norms and tokens), lr = base_lr * batch / 256 with a
 * linear warmup then a cosine to 0 over total_steps.
 *
 * Step stats: "lr", "grad_norm", "feature_std" (std of the L2-normalized
 * class-token features of the step's visible patches; about 1/sqrt(128) is
 * healthy, 0 is collapse) and "effective_rank" of those features.
 * embed: class token after the encoder's final LayerNorm, all patches
 * visible, no gradient (128 features).
 * Visuals: "reconstruction", PT_VISUAL_IMAGES {32, C, H, W}, four rows of
 * the same 8 probe images (the first 8 images the method trained on, kept
 * in its state): original, masked (masked patches grey), reconstruction,
 * reconstruction with the visible patches pasted; de-normalized per patch
 * when norm_pix_loss is on; clamped to [0, 1]. The probe mask is fixed
 * (from the seed) and its ratio is the live parameter visual_mask_ratio.
 */
#pragma once

#include "pt-method.h"

G_BEGIN_DECLS

extern const PtMethodClass pt_method_mae_class;

/* Reconstruction of images[n,C,H,W] (the method's shape) at any mask
 * ratio, the random mask drawn from seed: out[4][n][C][H][W] as the
 * "reconstruction" visual (not clamped). self must be an MAE instance. */
gboolean pt_method_mae_reconstruct (PtMethod     *self,
                                    const float  *images,
                                    int           n,
                                    double        mask_ratio,
                                    guint64       seed,
                                    float        *out,
                                    GError      **error);

G_END_DECLS
