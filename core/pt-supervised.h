/* pt-supervised.h: the supervised-from-scratch baseline.
 *
 * The honest comparison for a few-label result: the same encoder as a run
 * (its architecture, width, image shape and normalization, from the run's
 * config.ini) trained from a fresh random initialization with a linear
 * head and cross-entropy on the labeled subset only, then scored on the
 * test split in eval mode (batchnorm with its running statistics).
 *
 * Optimizer: SGD with momentum 0.9 (no weight decay on biases and
 * batchnorm), linear warmup over the first 5% of the steps (at least 1),
 * then cosine to 0. Batches are drawn without replacement from a seeded
 * permutation of the subset, reshuffled every pass. Light augmentation
 * (options->augment): a random translation of up to H/8 pixels (the
 * uncovered border filled with black) and a horizontal flip with
 * probability 1/2, from a stream keyed by (seed, step, row).
 *
 * Automatic budget (options->n_steps == 0): 30 passes over the subset,
 *   n_steps = clamp (ceil (30 * n_subset / batch), 300, 1500)
 * so 1% of Fashion-MNIST (600 images, batch 128) trains 300 steps (64
 * passes) and 10% or more is capped at 1500 steps (3.2 passes over 60,000).
 *
 * Deterministic for a seed with one compute thread (pt_threads_set (1)).
 * Only the `cnn` encoder is supported (MAE's vit: PT_SUPERVISED_ERROR_UNSUPPORTED).
 */
#pragma once

#include <gio/gio.h>

#include "pt-dataset.h"
#include "pt-metrics.h"

G_BEGIN_DECLS

#define PT_SUPERVISED_ERROR (pt_supervised_error_quark ())
typedef enum
{
  PT_SUPERVISED_ERROR_INVALID,      /* bad subset, no labels, shape mismatch, bad option */
  PT_SUPERVISED_ERROR_UNSUPPORTED,  /* an encoder the baseline cannot build */
  PT_SUPERVISED_ERROR_FAILED,       /* the loss or a gradient became non-finite */
} PtSupervisedError;
GQuark pt_supervised_error_quark (void);

#define PT_SUPERVISED_EPOCHS      30    /* passes over the subset of the automatic budget */
#define PT_SUPERVISED_MIN_STEPS   300
#define PT_SUPERVISED_MAX_STEPS   1500

/* Called after each step with step in [1, n_steps]. FALSE stops training
 * early; the encoder as trained so far is still evaluated. */
typedef gboolean (*PtSupervisedProgressFunc) (int      step,
                                              int      n_steps,
                                              double   loss,
                                              gpointer user_data);

typedef struct {
  int      n_steps;       /* 0: automatic budget from the subset size (rule above) */
  int      batch;         /* 128 (smaller subsets: the subset size) */
  double   lr;            /* 0.1: SGD momentum 0.9 + cosine schedule with warmup */
  double   weight_decay;  /* 5e-4 */
  gboolean augment;       /* TRUE: random translation + horizontal flip */
  guint64  seed;          /* init, batch order, augmentation */
  PtSupervisedProgressFunc progress;
  gpointer progress_data;
} PtSupervisedOptions;

typedef struct {
  int            n_steps;          /* steps trained */
  double         final_loss;       /* mean cross-entropy of the last step's batch */
  int            dim;              /* feature dim of the trained encoder (backbone output) */
  float         *train_features;   /* n_train_all x dim: EVERY image of the train split (for kNN on the subset and for maps) */
  float         *test_features;    /* n_test x dim */
  int           *pred;             /* n_test: predictions of the trained encoder + linear head */
  PtClassReport *report;           /* test accuracy of the head, per class, confusion (pt-metrics) */
  int            n_train;          /* rows of train_features */
  int            n_test;           /* rows of test_features */
  int            n_classes;
} PtSupervisedResult;

/* Defaults above; n_steps 0 (automatic), seed 0. */
void                pt_supervised_options_init (PtSupervisedOptions *options);
/* The automatic budget for a subset of n_subset images at batch size batch. */
int                 pt_supervised_auto_steps   (int n_subset,
                                                int batch);
/* Trains a fresh encoder with the architecture of the run in run_dir (its encoder, width, image
 * shape and normalization, from the run's config; random init from options->seed) plus a linear
 * head, with cross-entropy on train[subset[0..n_subset)] only, then evaluates on test (eval-mode
 * batchnorm). train/test are splits of the run's dataset (pt_features_open_split). Cancellable
 * between steps; the error names the problem. options NULL: defaults. */
PtSupervisedResult *pt_supervised_run  (const char                *run_dir,
                                        PtDataset                 *train,
                                        const int                 *subset,
                                        int                        n_subset,
                                        PtDataset                 *test,
                                        const PtSupervisedOptions *options,
                                        GCancellable              *cancellable,
                                        GError                   **error);
void                pt_supervised_result_free (PtSupervisedResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtSupervisedResult, pt_supervised_result_free)

G_END_DECLS
