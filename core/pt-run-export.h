/* pt-run-export.h: a run's features and encoder in the formats other tools
 * read, one function for `pretext-cli embed`, `pretext-cli export` and the
 * window's File > Export….
 *
 * Features come from the run's last good checkpoint (pt_features_for_run,
 * cached in eval/) on a split of its dataset:
 *   npy          float32 N x D (NumPy .npy v1.0), labels beside it as int64
 *                in FILE.labels.npy (pt_run_export_labels_path);
 *   projector    a TensorBoard projector bundle in a folder (created);
 *   csv          filenames,embedding_0..,labels;
 *   images       the encoder's inputs, normalized as in training, float32
 *                N x (C H W), for checks against other frameworks;
 * all written as ONE atomic set (every file or none). Then
 *   safetensors  the encoder's weights (pt-encoder.h), with the run's
 *                information in __metadata__, itself atomic.
 */
#pragma once

#include <gio/gio.h>

#include "pt-dataset.h"

G_BEGIN_DECLS

typedef struct {
  const char *npy;
  const char *projector;
  const char *csv;
  const char *images;
  const char *safetensors;
  PtSplit     split;         /* of the features (PT_SPLIT_TEST) */
  guint       count;         /* 0: every image of the split, else the first count */
  gboolean    random_init;   /* features of the untrained encoder (the baseline) */
} PtRunExportOptions;

typedef struct {
  guint    n;                /* feature rows written (0 when none asked) */
  int      dim;
  guint64  step;             /* checkpoint step of the features or weights */
  char    *labels_path;      /* where the labels went (npy), or NULL */
  const char *encoder;       /* "cnn" or "vit" when weights were written (static) */
  guint    n_tensors;        /* tensors in the weights file */
} PtRunExportResult;

void      pt_run_export_result_clear (PtRunExportResult *result);

/* Called from the exporting thread: what is being done and how far
 * (0..1, or -1 when unknown). */
typedef void (*PtRunExportProgressFunc) (double      fraction,
                                         const char *stage,
                                         gpointer    user_data);

/* FILE.npy -> FILE.labels.npy; FILE -> FILE.labels.npy */
char     *pt_run_export_labels_path  (const char *npy);

/* Every output asked for in options (at least one). The methods must be
 * registered. result may be NULL. */
gboolean  pt_run_export              (const char                *run_dir,
                                      const PtRunExportOptions  *options,
                                      PtRunExportResult         *result,
                                      PtRunExportProgressFunc    progress,
                                      gpointer                   progress_data,
                                      GCancellable              *cancellable,
                                      GError                   **error);

G_END_DECLS
