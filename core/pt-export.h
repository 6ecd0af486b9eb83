/* pt-export.h: a trained encoder as a standalone model and as safetensors.
 *
 * PtCnnEncoder is the default `cnn` encoder (ARCHITECTURE.md) on its own
 * parameter registry, with the same PyTorch-like names as inside every
 * method ("encoder.blocks.0.conv.weight", "encoder.blocks.0.bn.running_var",
 * ...), so its safetensors file loads into the PyTorch module documented in
 * README.md with strict=True (tests/fixtures/make_export_check.py checks it
 * by hand; a committed fixture made that way is matched in `make test`).
 *
 * Taking the encoder out of a method relies on the methods declaring the
 * cnn first in their flat parameter buffer; pt_cnn_encoder_from_method
 * verifies it by comparing features with pt_method_embed on probe images,
 * and fails rather than export the wrong numbers.
 */
#pragma once

#include "pt-method.h"
#include "pt-nn.h"

G_BEGIN_DECLS

#define PT_EXPORT_ERROR (pt_export_error_quark ())

typedef enum {
  PT_EXPORT_ERROR_UNSUPPORTED,   /* an encoder Pretext cannot export */
  PT_EXPORT_ERROR_INVALID,       /* a weights file that does not hold the encoder */
} PtExportError;

GQuark pt_export_error_quark (void);

typedef struct {
  int       channels, height, width;   /* input images */
  int       cnn_width;
  PtParams *params;
  PtCnn     cnn;
  PtTape   *tape;
} PtCnnEncoder;

/* A cnn encoder with zeroed weights (batchnorm at its defaults). */
PtCnnEncoder *pt_cnn_encoder_new              (int             channels,
                                               int             height,
                                               int             width,
                                               int             cnn_width);
void          pt_cnn_encoder_free             (PtCnnEncoder   *enc);
int           pt_cnn_encoder_get_dim          (PtCnnEncoder   *enc);
/* Eval-mode features: images [n][C][H][W] -> features [n][8w]. */
void          pt_cnn_encoder_embed            (PtCnnEncoder   *enc,
                                               const float    *images,
                                               int             n,
                                               float          *features);
/* The encoder of method (which must use the cnn), verified against
 * pt_method_embed. */
PtCnnEncoder *pt_cnn_encoder_from_method      (PtMethod       *method,
                                               GError        **error);
/* Every entry as F32 (plus an I64 num_batches_tracked = steps per
 * batchnorm, as PyTorch keeps); metadata: NULL-terminated key, value pairs
 * of strings for "__metadata__". Atomic. */
gboolean      pt_cnn_encoder_save_safetensors (PtCnnEncoder   *enc,
                                               const char     *path,
                                               const char * const *metadata,
                                               guint64         steps,
                                               GError        **error);
/* Reads a file written as above (or by PyTorch with the same names): the
 * width and input channels come from the tensors' shapes. */
PtCnnEncoder *pt_cnn_encoder_load_safetensors (const char     *path,
                                               int             height,
                                               int             width,
                                               GError        **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtCnnEncoder, pt_cnn_encoder_free)

G_END_DECLS
