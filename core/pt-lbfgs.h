/* pt-lbfgs.h: limited-memory BFGS minimizer (two-loop recursion with a
 * strong-Wolfe line search), on double vectors.
 *
 * Used by the linear probe; generic enough for any smooth objective.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Objective: returns f(x) and writes the gradient into grad (n). */
typedef double   (*PtLbfgsEvalFunc)     (const double *x,
                                         double       *grad,
                                         int           n,
                                         gpointer      user_data);

/* Called after each accepted iteration (iter counts from 1); return FALSE
 * to stop early (status PT_LBFGS_STOPPED, not an error). */
typedef gboolean (*PtLbfgsProgressFunc) (int           iter,
                                         double        f,
                                         double        grad_max,
                                         gpointer      user_data);

typedef enum
{
  PT_LBFGS_CONVERGED_GRAD,    /* max |g_i| <= gtol */
  PT_LBFGS_CONVERGED_F,       /* relative decrease of f <= ftol */
  PT_LBFGS_MAX_ITER,
  PT_LBFGS_STOPPED,           /* the progress callback returned FALSE */
  PT_LBFGS_LINE_SEARCH_FAILED /* no acceptable step (x is the best found) */
} PtLbfgsStatus;

typedef struct
{
  int    m;              /* history size (default 10) */
  int    max_iter;       /* default 100 */
  double gtol;           /* default 1e-5 */
  double ftol;           /* default 2.2e-9 (SciPy's factr 1e7 * eps) */
  int    max_line_search;/* evaluations per line search (default 40) */
  double c1;             /* sufficient decrease (default 1e-4) */
  double c2;             /* curvature (default 0.9) */
} PtLbfgsParams;

typedef struct
{
  PtLbfgsStatus status;
  double        f;
  double        grad_max;
  int           n_iter;
  int           n_eval;
} PtLbfgsResult;

void     pt_lbfgs_params_init (PtLbfgsParams       *params);

/* Minimizes from x (n) in place. params NULL means the defaults. Returns
 * FALSE only when cancelled (G_IO_ERROR_CANCELLED; x is the last iterate). */
gboolean pt_lbfgs_minimize    (double              *x,
                               int                  n,
                               PtLbfgsEvalFunc      eval,
                               gpointer             user_data,
                               const PtLbfgsParams *params,
                               PtLbfgsProgressFunc  progress,
                               gpointer             progress_data,
                               PtLbfgsResult       *result,
                               GCancellable        *cancellable,
                               GError             **error);

G_END_DECLS
