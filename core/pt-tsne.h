/* pt-tsne.h: Barnes-Hut t-SNE in 2-D, advanced a few iterations at a time.
 *
 * Input affinities: exact k nearest neighbours (3 * perplexity, squared
 * Euclidean, by sgemm), per-point bandwidth by binary search on the
 * perplexity, symmetrized and normalized. Optimization follows the
 * scikit-learn / openTSNE convention: early exaggeration 12 for the first
 * 250 iterations with momentum 0.5, then momentum 0.8; per-coordinate gains;
 * learning rate max(N / exaggeration / 4, 50). The repulsive forces use a
 * quadtree with the Barnes-Hut criterion (cell width / distance < theta),
 * computed on pt_threads_get () threads.
 *
 * The state lives in a PtTsne, so a GUI can call pt_tsne_step (tsne, 10)
 * repeatedly and redraw the layout in between, or warm-start from a layout.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PT_TSNE_ERROR (pt_tsne_error_quark ())
typedef enum
{
  PT_TSNE_ERROR_INVALID,
  PT_TSNE_ERROR_FAILED,
} PtTsneError;
GQuark pt_tsne_error_quark (void);

typedef struct
{
  double  perplexity;         /* 30 */
  double  theta;              /* 0.5; 0 is exact (slow, for tests) */
  double  early_exaggeration; /* 12 */
  int     exaggeration_iters; /* 250: also the momentum switch */
  double  momentum_early;     /* 0.5 */
  double  momentum_late;      /* 0.8 */
  double  learning_rate;      /* <= 0: max(N / early_exaggeration / 4, 50) */
  gboolean pca_init;          /* TRUE: PCA scaled to std 1e-4; else N(0, 1e-4) */
  guint64 seed;               /* for the random init */
} PtTsneOptions;

void pt_tsne_options_init (PtTsneOptions *options);

typedef struct _PtTsne PtTsne;

/* Computes the input affinities of x (n x d, n >= 4) and the initial
 * layout. options NULL: defaults. */
PtTsne      *pt_tsne_new            (const float         *x,
                                     int                  n,
                                     int                  d,
                                     const PtTsneOptions *options,
                                     GCancellable        *cancellable,
                                     GError             **error);
void         pt_tsne_free           (PtTsne              *tsne);

/* Warm start: replaces the layout (n x 2) and continues as if at
 * `iteration` (which decides exaggeration and momentum: pass at least
 * exaggeration_iters to skip the early phase). Velocities and gains reset. */
void         pt_tsne_set_layout     (PtTsne              *tsne,
                                     const float         *layout,
                                     int                  iteration);

/* Runs n_iter gradient iterations. FALSE only when cancelled (the layout
 * is then the last complete iteration). */
gboolean     pt_tsne_step           (PtTsne              *tsne,
                                     int                  n_iter,
                                     GCancellable        *cancellable,
                                     GError             **error);

/* The current layout, n x 2 (borrowed; valid until the next step). */
const float *pt_tsne_get_layout     (PtTsne              *tsne);
int          pt_tsne_get_n          (PtTsne              *tsne);
/* Iterations done so far (including the warm-start offset). */
int          pt_tsne_get_iteration  (PtTsne              *tsne);
double       pt_tsne_get_learning_rate (PtTsne           *tsne);

/* KL(P || Q) of the current layout, exact O(N^2) normalization over
 * threads (about 0.1 s for 10,000 points); P without exaggeration. */
double       pt_tsne_kl_divergence  (PtTsne              *tsne);

/* KL(P || Q) of any layout (n x 2) against this object's P. */
double       pt_tsne_kl_divergence_of (PtTsne            *tsne,
                                       const float       *layout);

/* Low-level, for tests: the exact gradient of KL (theta = 0) or the
 * Barnes-Hut one (theta > 0) at layout (n x 2) with exaggeration 1, into
 * grad (n x 2). */
void         pt_tsne_gradient       (PtTsne              *tsne,
                                     const float         *layout,
                                     double               theta,
                                     double              *grad);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtTsne, pt_tsne_free)

G_END_DECLS
