/* pt-run-eval.h: evaluating a run, the same way from the CLI and the window.
 *
 * `pretext-cli probe` and the Evaluate page both sit on this module, so
 * the numbers they show for one run and one setting are the same numbers.
 *
 * A PtRunEval holds the run's train and test splits. For each kind of
 * features (the run's encoder, and the baselines that keep a result honest:
 * raw pixels, the same encoder at random initialization, the same encoder
 * trained from scratch with cross-entropy on the labeled subset only), it
 * runs the linear probe and the weighted kNN on one class-balanced labeled
 * subset of train, and scores on test. The kNN keeps its top-200
 * neighbours, so another k or temperature re-scores without a search.
 *
 * Results are written as eval/probe.json in the run (atomically): the
 * format `pretext-cli probe --json` prints, documented in README.md.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pt-dataset.h"
#include "pt-eval-json.h"
#include "pt-features.h"
#include "pt-knn.h"
#include "pt-probe.h"
#include "pt-subsets.h"

G_BEGIN_DECLS

#define PT_RUN_EVAL_ERROR (pt_run_eval_error_quark ())
typedef enum
{
  PT_RUN_EVAL_ERROR_NO_LABELS,   /* the dataset has no classes */
  PT_RUN_EVAL_ERROR_TOO_FEW,     /* the labeled subset is too small */
  PT_RUN_EVAL_ERROR_UNSUPPORTED, /* e.g. projector features of a method without one */
} PtRunEvalError;
GQuark pt_run_eval_error_quark (void);

typedef enum
{
  PT_EVAL_KIND_SSL,          /* the run's encoder at its last good checkpoint */
  PT_EVAL_KIND_RAW_PIXELS,
  PT_EVAL_KIND_RANDOM_INIT,
  PT_EVAL_KIND_SUPERVISED,   /* same encoder, cross-entropy on the labeled subset */
  PT_EVAL_N_KINDS
} PtEvalKind;

/* "ssl", "raw-pixels", "random-init", "supervised" (as in probe.json) */
const char *pt_eval_kind_to_string   (PtEvalKind   kind);
/* -1 when unknown */
int         pt_eval_kind_from_string (const char  *name);
/* Translated, for people: "SSL encoder", "Raw pixels", ... */
const char *pt_eval_kind_get_title   (PtEvalKind   kind);

typedef struct
{
  double              label_fraction;  /* 1.0: every label */
  int                 per_class;       /* > 0: this many labels per class instead */
  guint64             seed;            /* subset, validation split, supervised init */
  int                 knn_k;           /* PT_KNN_DEFAULT_K */
  double              knn_t;           /* PT_KNN_DEFAULT_T */
  double              c;               /* <= 0: chosen on a validation split */
  gboolean            projection;      /* the projector's output instead of the backbone's */
  int                 supervised_steps;/* 0: the automatic budget */
  PtProbeProgressFunc probe_progress;  /* called from the evaluating thread */
  gpointer            probe_progress_data;
  /* supervised training progress: step, n_steps, loss; FALSE stops */
  gboolean          (*train_progress) (int step, int n_steps, double loss, gpointer user_data);
  gpointer            train_progress_data;
} PtRunEvalOptions;

void pt_run_eval_options_init (PtRunEvalOptions *options);

typedef struct _PtRunEval PtRunEval;

/* Opens the run's train and test splits; fails when the dataset has no
 * class labels or no test split. */
PtRunEval  *pt_run_eval_open       (const char        *run_dir,
                                    GCancellable      *cancellable,
                                    GError           **error);
/* Reference counted: the window hands one to a worker thread; both only
 * read it (one pt_run_eval_kind/_curve call at a time). free drops a
 * reference. */
PtRunEval  *pt_run_eval_ref        (PtRunEval         *ev);
void        pt_run_eval_free       (PtRunEval         *ev);
const char *pt_run_eval_get_dir    (PtRunEval         *ev);
PtDataset  *pt_run_eval_get_train  (PtRunEval         *ev);
PtDataset  *pt_run_eval_get_test   (PtRunEval         *ev);
int         pt_run_eval_get_n_classes (PtRunEval      *ev);
/* Whether the run's method has a projector whose output can be probed. */
gboolean    pt_run_eval_has_projection (PtRunEval     *ev);
/* Training images in the largest class: labels per class that mean "all". */
int         pt_run_eval_get_max_class_count (PtRunEval    *ev);
/* The labeled subset options select (indices into train, ascending). */
int        *pt_run_eval_subset     (PtRunEval               *ev,
                                    const PtRunEvalOptions  *options,
                                    int                     *n_subset);

typedef struct
{
  PtEvalKind     kind;
  int            dim;           /* feature dimension */
  guint64        step;          /* checkpoint step (0 for baselines) */
  int            n_subset;
  int           *subset_labels; /* n_subset, labels of the labeled subset */
  PtEvalRecord  *linear;        /* probe (supervised: its own linear head) */
  PtEvalRecord  *knn;           /* at options' k and t */
  PtKnnCache    *knn_cache;     /* test x min(200, n_subset) neighbours in the subset */
  int            n_test;
  int           *linear_pred;   /* n_test predictions of the probe, or NULL */
  int           *knn_pred;      /* n_test predictions of the kNN at its k and t, or NULL */
  int            train_steps;   /* supervised: steps trained (0 otherwise) */
} PtRunEvalResult;

/* Features of kind, then the probe and kNN. Runs on any thread (one call
 * at a time per PtRunEval). */
PtRunEvalResult *pt_run_eval_kind  (PtRunEval               *ev,
                                    PtEvalKind               kind,
                                    const PtRunEvalOptions  *options,
                                    GCancellable            *cancellable,
                                    GError                 **error);
/* Replaces result->knn by a re-scoring from the cache at k and t. */
void             pt_run_eval_result_rescore_knn (PtRunEvalResult *result,
                                                 PtRunEval       *ev,
                                                 int              k,
                                                 double           t);
void             pt_run_eval_result_free (PtRunEvalResult *result);

/* The label-efficiency curve of one kind: a probe and a kNN per subset
 * size (fractions[i], or per_class[i] when fractions is NULL). */
PtLabelCurvePoint *pt_run_eval_curve (PtRunEval              *ev,
                                      PtEvalKind              kind,
                                      const PtRunEvalOptions *options,
                                      const double           *fractions,
                                      const int              *per_class,
                                      int                     n_points,
                                      GCancellable           *cancellable,
                                      GError                **error);

/* The probe.json document for results (any subset of kinds, in order):
 * top-level "accuracy"/"knn_accuracy" are those of the SSL result when
 * present. */
JsonNode   *pt_run_eval_to_json    (PtRunEval               *ev,
                                    const PtRunEvalOptions  *options,
                                    PtRunEvalResult * const *results,
                                    int                      n_results);
/* Writes it to eval/probe.json (atomically); *path_out (optional) gets the path. */
gboolean    pt_run_eval_save       (PtRunEval               *ev,
                                    const PtRunEvalOptions  *options,
                                    PtRunEvalResult * const *results,
                                    int                      n_results,
                                    char                   **path_out,
                                    GError                 **error);

/* The label-curve.json document for curves (PT_EVAL_N_KINDS, NULL when not
 * run; at least one not NULL). */
JsonNode   *pt_run_eval_curves_to_json (PtRunEval                 *ev,
                                        const PtRunEvalOptions    *options,
                                        PtLabelCurvePoint * const *curves,
                                        int                        n_points);
/* The curves as eval/label-curve.json: {"points": [...], "series": {kind: [...]}}. */
gboolean    pt_run_eval_save_curves (PtRunEval               *ev,
                                     const PtRunEvalOptions  *options,
                                     PtLabelCurvePoint * const *curves, /* PT_EVAL_N_KINDS, NULL when not run */
                                     int                      n_points,
                                     char                   **path_out,
                                     GError                 **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtRunEval, pt_run_eval_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtRunEvalResult, pt_run_eval_result_free)

G_END_DECLS
