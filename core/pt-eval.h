/* pt-eval.h: one-call evaluation of frozen features (the facade that
 * `pretext-cli probe` and the GUI's evaluation page sit on).
 *
 * Given train and test feature matrices (float32 N x D, row-major) with
 * labels, runs the linear probe and the weighted kNN on a class-balanced
 * labeled subset of train and returns both as PtEvalRecord, ready for
 * pt_eval_record_save () under the run's eval/ folder.
 */
#pragma once

#include <gio/gio.h>

#include "pt-eval-json.h"
#include "pt-knn.h"
#include "pt-probe.h"
#include "pt-subsets.h"

G_BEGIN_DECLS

#define PT_EVAL_ERROR (pt_eval_error_quark ())
typedef enum
{
  PT_EVAL_ERROR_INVALID, /* non-finite features, bad labels, empty input */
} PtEvalError;
GQuark pt_eval_error_quark (void);

typedef struct
{
  double         label_fraction; /* 1.0: all labels */
  int            per_class;      /* > 0: this many labels per class instead */
  guint64        seed;           /* subset and validation split */
  gboolean       run_probe;      /* TRUE */
  gboolean       run_knn;        /* TRUE */
  int            knn_k;          /* PT_KNN_DEFAULT_K */
  double         knn_t;          /* PT_KNN_DEFAULT_T */
  PtProbeOptions probe;          /* pt_probe_options_init; seed overridden */
} PtEvalOptions;

void     pt_eval_options_init (PtEvalOptions *options);

/* Checks that every feature is finite and every label in [0, n_classes)
 * (or negative = unlabeled when allow_unlabeled). `what` names the matrix
 * in the error message ("train features"). */
gboolean pt_eval_check_input  (const float *x,
                               const int   *labels,
                               int          n,
                               int          d,
                               int          n_classes,
                               gboolean     allow_unlabeled,
                               const char  *what,
                               GError     **error);

/* Runs the probe and/or kNN. features (may be NULL) is stored in the
 * records' "features" field, e.g. "checkpoint:last" or "raw-pixels".
 * *probe_out / *knn_out receive new records (NULL when not run). */
gboolean pt_eval_features     (const float          *train_x,
                               const int            *train_y,
                               int                   n_train,
                               const float          *test_x,
                               const int            *test_y,
                               int                   n_test,
                               int                   d,
                               int                   n_classes,
                               const PtEvalOptions  *options,
                               const char           *features,
                               PtEvalRecord        **probe_out,
                               PtEvalRecord        **knn_out,
                               GCancellable         *cancellable,
                               GError              **error);

G_END_DECLS
