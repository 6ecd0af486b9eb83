/* pt-encoder.h: a run's encoder (cnn or vit) on its own, in and out of
 * safetensors.
 *
 * PtEncoder is either default encoder of ARCHITECTURE.md on its own
 * parameter registry, with the names it has inside every method, so its
 * safetensors file is the state_dict of the PyTorch modules in README.md
 * (tests/fixtures/make_export_check.py loads both with strict=True):
 *
 *   cnn  encoder.blocks.<i>.conv.weight, encoder.blocks.<i>.bn.{weight,
 *        bias,running_mean,running_var} (F32) and bn.num_batches_tracked
 *        (I64, a scalar, as PyTorch keeps it);
 *   vit  encoder.patch_embed.{weight,bias}, encoder.cls_token,
 *        encoder.pos_embed (the fixed sin-cos table, a buffer),
 *        encoder.blocks.<i>.{norm1,attn.in_proj_weight,attn.in_proj_bias,
 *        attn.out_proj,norm2,mlp.0,mlp.2}.*, encoder.norm.* (all F32).
 *
 * Import (pt_encoder_seed_method) is strict: the file must hold exactly the
 * tensors of the method's encoder, same names, shapes and dtypes (F32; the
 * I64 num_batches_tracked scalars are the only others allowed), and its
 * metadata, when it names an encoder kind, input shape or head count, must
 * agree. Every check runs before any weight of the method is written.
 *
 * Taking the encoder out of a method (and putting one in) relies on the
 * methods declaring their encoder first in each flat parameter buffer
 * ("params", and a momentum encoder's "key.params"); both directions verify
 * it by comparing features with pt_method_embed on probe images.
 */
#pragma once

#include "pt-method.h"
#include "pt-nn.h"
#include "pt-vit.h"

G_BEGIN_DECLS

#define PT_ENCODER_ERROR (pt_encoder_error_quark ())

typedef enum {
  PT_ENCODER_ERROR_UNSUPPORTED,   /* an encoder Pretext cannot take out or put in */
  PT_ENCODER_ERROR_MISMATCH,      /* a weights file that is not this encoder */
} PtEncoderError;

GQuark pt_encoder_error_quark (void);

typedef enum {
  PT_ENCODER_CNN,
  PT_ENCODER_VIT,
} PtEncoderKind;

typedef struct {
  PtEncoderKind kind;
  int           channels, height, width;   /* input images */
  int           cnn_width;                 /* cnn only */
  PtVitConfig   vit_config;                /* vit only */
  PtParams     *params;
  PtCnn         cnn;
  PtVit         vit;
  PtTape       *tape;
} PtEncoder;

/* A cnn of width cnn_width with zeroed weights (batchnorm at its defaults). */
PtEncoder  *pt_encoder_new_cnn          (int                 channels,
                                         int                 height,
                                         int                 width,
                                         int                 cnn_width);
/* A vit of that configuration (must be valid) with zeroed weights and the
 * fixed position table written. */
PtEncoder  *pt_encoder_new_vit          (const PtVitConfig  *config);
/* An encoder of the layout method uses (zero weights). */
PtEncoder  *pt_encoder_new_for_method   (PtMethod           *method,
                                         GError            **error);
void        pt_encoder_free             (PtEncoder          *enc);

/* "cnn" or "vit". */
const char *pt_encoder_get_kind_name    (PtEncoder          *enc);
int         pt_encoder_get_dim          (PtEncoder          *enc);
/* Eval-mode features: images [n][C][H][W] -> features [n][dim]. */
void        pt_encoder_embed            (PtEncoder          *enc,
                                         const float        *images,
                                         int                 n,
                                         float              *features);

/* The trained encoder of method, verified against pt_method_embed. */
PtEncoder  *pt_encoder_from_method      (PtMethod           *method,
                                         GError            **error);
/* Writes every tensor (see above) and metadata: NULL-terminated key, value
 * pairs of strings for "__metadata__", to which the encoder's own
 * description (format, encoder, input_shape, and width or patch, dim,
 * depth, heads, mlp_ratio) is added first. steps fills num_batches_tracked.
 * Atomic. */
gboolean    pt_encoder_save_safetensors (PtEncoder          *enc,
                                         const char         *path,
                                         const char * const *metadata,
                                         guint64             steps,
                                         GError            **error);
/* Reads path into enc's weights, all or nothing, if it holds exactly enc's
 * tensors (names, shapes, F32) and its metadata agrees; on error enc is
 * unchanged. */
gboolean    pt_encoder_read_safetensors (PtEncoder          *enc,
                                         const char         *path,
                                         GError            **error);
/* An encoder whose layout is read from the file's tensor shapes (and its
 * "heads" metadata for a vit, 4 when absent) for images height x width. */
PtEncoder  *pt_encoder_load_safetensors (const char         *path,
                                         int                 height,
                                         int                 width,
                                         GError            **error);
/* Seeds method's encoder (and a momentum encoder that copies it) with the
 * weights in path, after every check above; verified by comparing features.
 * On error before the copy, method is unchanged. */
gboolean    pt_encoder_seed_method      (PtMethod           *method,
                                         const char         *path,
                                         GError            **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtEncoder, pt_encoder_free)

G_END_DECLS
