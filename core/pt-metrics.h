/* pt-metrics.h: classification reports (accuracy, per-class accuracy,
 * confusion matrix, misclassified indices) and SSL health metrics
 * (embedding standard deviation, effective rank). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PT_METRICS_ERROR (pt_metrics_error_quark ())
typedef enum
{
  PT_METRICS_ERROR_FAILED,
} PtMetricsError;
GQuark pt_metrics_error_quark (void);

typedef struct
{
  int     n_classes;
  int     n;              /* items scored */
  int     n_correct;
  double  accuracy;       /* n_correct / n, in [0, 1] (0 when n == 0) */
  double *class_accuracy; /* n_classes; NAN for a class absent from truth */
  int    *class_count;    /* n_classes: items per true class */
  gint64 *confusion;      /* n_classes x n_classes: [truth][pred] */
  int     n_wrong;
  int    *wrong;          /* n_wrong indices (ascending) with pred != truth */
} PtClassReport;

/* truth and pred (n) in [0, n_classes); a truth < 0 (unlabeled) is
 * skipped. */
PtClassReport *pt_class_report_new  (const int     *truth,
                                     const int     *pred,
                                     int            n,
                                     int            n_classes);
PtClassReport *pt_class_report_copy (const PtClassReport *report);
void           pt_class_report_free (PtClassReport *report);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtClassReport, pt_class_report_free)

/* Mean over dimensions of the per-dimension standard deviation of the
 * L2-normalized rows of x (n x d): 0 means collapse, about 1/sqrt(d) is
 * healthy. */
double   pt_embedding_std    (const float *x,
                              int          n,
                              int          d);

/* Effective rank (Roy & Vetterli; RankMe): exp of the Shannon entropy of
 * the singular values of x (n x d, not centered) normalized to sum 1.
 * Between 1 and min(n, d). Returns FALSE with an error if LAPACK fails. */
gboolean pt_effective_rank   (const float *x,
                              int          n,
                              int          d,
                              double      *erank,
                              GError     **error);

G_END_DECLS
