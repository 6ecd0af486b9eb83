/* pt-subsets.h: class-balanced labeled subsets and label-efficiency curves.
 *
 * Subsets are nested: for one seed every class's items are visited in one
 * fixed seeded order and a subset takes a prefix of it per class, so the
 * 1% subset lies inside the 10% subset, which lies inside 100%.
 */
#pragma once

#include <gio/gio.h>

#include "pt-probe.h"

G_BEGIN_DECLS

/* Indices (ascending) of a class-balanced subset of the items with labels
 * in [0, n_classes) (negative labels are never picked). Either per_class
 * > 0 items of each class, or (per_class <= 0) fraction of the labeled
 * items: round(fraction * n_labeled / n_classes) per class, at least 1;
 * fraction >= 1 takes everything. A class with fewer items gives all it
 * has. Returns the count in *n_out. */
int *pt_subset_balanced (const int *labels,
                         int        n,
                         int        n_classes,
                         double     fraction,
                         int        per_class,
                         guint64    seed,
                         int       *n_out);

/* Gathers rows: out (n_idx x d) = x[idx]. */
void pt_subset_gather   (float       *out,
                         const float *x,
                         int          d,
                         const int   *idx,
                         int          n_idx);

typedef struct
{
  double fraction;       /* requested fraction (or 0 with per_class) */
  int    per_class;      /* requested per class (or 0) */
  int    n_labeled;      /* items in the subset */
  double probe_accuracy; /* test top-1 in [0, 1]; NAN if not run */
  double probe_c;        /* C chosen */
  double knn_accuracy;   /* test top-1 in [0, 1]; NAN if not run */
} PtLabelCurvePoint;

typedef struct
{
  const double         *fractions;   /* fractions, or NULL ... */
  const int            *per_class;   /* ... per-class counts */
  int                   n_points;
  guint64               seed;
  gboolean              run_probe;
  gboolean              run_knn;
  int                   knn_k;       /* PT_KNN_DEFAULT_K */
  double                knn_t;       /* PT_KNN_DEFAULT_T */
  PtProbeOptions        probe;       /* seed forced to the curve's seed */
} PtLabelCurveOptions;

void pt_label_curve_options_init (PtLabelCurveOptions *options);

/* Runs a probe (and a kNN) per subset size on train and scores on test.
 * Returns n_points points, or NULL with error (cancelled, bad input). */
PtLabelCurvePoint *pt_label_curve_run (const float               *train_x,
                                       const int                 *train_y,
                                       int                        n_train,
                                       const float               *test_x,
                                       const int                 *test_y,
                                       int                        n_test,
                                       int                        d,
                                       int                        k,
                                       const PtLabelCurveOptions *options,
                                       GCancellable              *cancellable,
                                       GError                   **error);

G_END_DECLS
