/* pt-probe.h: the linear probe. Standardization, multinomial logistic
 * regression with L2 (own L-BFGS, cblas_sgemm over the whole batch), and
 * the probe protocol: L2 strength chosen on a seeded validation split
 * carved from train, refit on all of train, scored on test.
 *
 * Features are float32 N x D row-major, labels int in [0, K). The L2
 * strength is given as scikit-learn's C: the objective is
 *   mean_i CE(x_i W + b, y_i) + ||W||^2 / (2 C N)
 * i.e. scikit-learn's sum-form objective divided by N (b not penalized).
 */
#pragma once

#include <gio/gio.h>

#include "pt-lbfgs.h"
#include "pt-metrics.h"

G_BEGIN_DECLS

#define PT_PROBE_ERROR (pt_probe_error_quark ())
typedef enum
{
  PT_PROBE_ERROR_INVALID,   /* bad shapes or labels */
  PT_PROBE_ERROR_FAILED,    /* numerical failure */
} PtProbeError;
GQuark pt_probe_error_quark (void);

/* ---- standardization ---- */

typedef struct
{
  int    dim;
  float *mean;  /* dim */
  float *scale; /* dim: 1 / std, or 1 for constant features */
} PtStandardizer;

/* Fits per-feature mean and standard deviation on x (n x d). */
PtStandardizer *pt_standardizer_fit   (const float          *x,
                                       int                   n,
                                       int                   d);
/* out = (x - mean) * scale; out may equal x. */
void            pt_standardizer_apply (const PtStandardizer *std,
                                       float                *out,
                                       const float          *x,
                                       int                   n);
void            pt_standardizer_free  (PtStandardizer       *std);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtStandardizer, pt_standardizer_free)

/* ---- logistic regression ---- */

typedef struct
{
  int    dim;
  int    n_classes;
  float *weight; /* dim x n_classes, row-major */
  float *bias;   /* n_classes */
} PtLinearModel;

PtLinearModel *pt_linear_model_new     (int                  dim,
                                        int                  n_classes);
void           pt_linear_model_free    (PtLinearModel       *model);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtLinearModel, pt_linear_model_free)

/* logits (n x K) = x W + b. */
void           pt_linear_model_logits  (const PtLinearModel *model,
                                        float               *logits,
                                        const float         *x,
                                        int                  n);
/* pred (n) = argmax of the logits (ties: lowest class). */
void           pt_linear_model_predict (const PtLinearModel *model,
                                        int                 *pred,
                                        const float         *x,
                                        int                  n);

/* Loss and gradient of the objective above with l2 = 1 / (C N):
 *   mean CE + 0.5 * l2 * ||W||^2.
 * dweight (d x K) and dbias (K) are OVERWRITTEN (not accumulated: this is
 * an objective, not a layer); either may be NULL (both NULL: loss only).
 * One fused pass over the rows on pt_threads_get () threads; K <= 64.
 * Returns the loss (double accumulation). */
double pt_logreg_loss_backward (float       *dweight,
                                float       *dbias,
                                const float *x,
                                const int   *labels,
                                const float *weight,
                                const float *bias,
                                double       l2,
                                int          n,
                                int          d,
                                int          k);

/* Progress of a fit: fit_index of n_fits (the C search, then the refit),
 * L-BFGS iteration and objective. Return FALSE to stop the current fit. */
typedef gboolean (*PtProbeProgressFunc) (int      fit_index,
                                         int      n_fits,
                                         int      iter,
                                         double   loss,
                                         gpointer user_data);

/* Fits W, b on x (n x d, used as given: standardize first) and labels in
 * [0, k). init may be NULL (zeros) or a model to warm-start from.
 * params NULL: L-BFGS defaults (100 iterations, like scikit-learn). */
PtLinearModel *pt_logreg_fit (const float          *x,
                              const int            *labels,
                              int                   n,
                              int                   d,
                              int                   k,
                              double                c,
                              const PtLinearModel  *init,
                              const PtLbfgsParams  *params,
                              PtLbfgsProgressFunc   progress,
                              gpointer              progress_data,
                              PtLbfgsResult        *result,
                              GCancellable         *cancellable,
                              GError              **error);

/* ---- the probe protocol ---- */

typedef struct
{
  double              c;             /* > 0: use this C; <= 0: search c_grid */
  const double       *c_grid;        /* NULL: 1e-3, 1e-2, 1e-1, 1, 10, 100 */
  int                 n_c_grid;
  double              val_fraction;  /* validation split for the search (0.1) */
  guint64             seed;          /* for the validation split */
  gboolean            standardize;   /* TRUE */
  PtLbfgsParams       lbfgs;         /* pt_lbfgs_params_init (the final fit) */
  int                 search_max_iter; /* iterations per search fit (50; the
                                        * grid is a warm-started path) */
  PtProbeProgressFunc progress;
  gpointer            progress_data;
} PtProbeOptions;

void pt_probe_options_init (PtProbeOptions *options);

typedef struct
{
  double          c;            /* the C used for the final fit */
  int             n_c;          /* the search (0 when C was given) */
  double         *c_values;     /* n_c */
  double         *val_accuracy; /* n_c, in [0, 1] */
  int             n_train;
  int             n_test;
  int             n_iter;       /* L-BFGS iterations of the final fit */
  double          train_loss;   /* objective at the final fit */
  PtStandardizer *standardizer; /* NULL when not standardizing */
  PtLinearModel  *model;
  int            *pred;         /* n_test */
  PtClassReport  *report;       /* test accuracy, per class, confusion */
} PtProbeResult;

/* Runs the probe: train (n_train x d, labels in [0, k)) and test
 * (n_test x d). options NULL: defaults. */
PtProbeResult *pt_probe_run (const float           *train_x,
                             const int             *train_y,
                             int                    n_train,
                             const float           *test_x,
                             const int             *test_y,
                             int                    n_test,
                             int                    d,
                             int                    k,
                             const PtProbeOptions  *options,
                             GCancellable          *cancellable,
                             GError               **error);
void           pt_probe_result_free (PtProbeResult *result);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtProbeResult, pt_probe_result_free)

G_END_DECLS
