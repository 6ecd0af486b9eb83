/* pt-metrics.c: classification reports and embedding health metrics. */
#include "pt-metrics.h"
#include "pt-eval-private.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-metrics-error-quark, pt_metrics_error)

PtClassReport *
pt_class_report_new (const int *truth,
                     const int *pred,
                     int        n,
                     int        n_classes)
{
  g_return_val_if_fail (n_classes > 0 && n >= 0, NULL);
  g_return_val_if_fail (n == 0 || (truth != NULL && pred != NULL), NULL);

  PtClassReport *r = g_new0 (PtClassReport, 1);
  g_autoptr(GArray) wrong = g_array_new (FALSE, FALSE, sizeof (int));
  int k = n_classes;

  r->n_classes = k;
  r->class_accuracy = g_new0 (double, k);
  r->class_count = g_new0 (int, k);
  r->confusion = g_new0 (gint64, (gsize) k * k);
  for (int i = 0; i < n; i++)
    {
      int t = truth[i], p = pred[i];
      if (t < 0)
        continue;
      g_return_val_if_fail (t < k && p >= 0 && p < k, r);
      r->n++;
      r->class_count[t]++;
      r->confusion[(gsize) t * k + p]++;
      if (t == p)
        r->n_correct++;
      else
        g_array_append_val (wrong, i);
    }
  r->accuracy = r->n > 0 ? (double) r->n_correct / r->n : 0.0;
  for (int c = 0; c < k; c++)
    r->class_accuracy[c] = r->class_count[c] > 0
      ? (double) r->confusion[(gsize) c * k + c] / r->class_count[c] : NAN;
  r->n_wrong = (int) wrong->len;
  r->wrong = (int *) g_array_free (g_steal_pointer (&wrong), FALSE);
  return r;
}

PtClassReport *
pt_class_report_copy (const PtClassReport *report)
{
  g_return_val_if_fail (report != NULL, NULL);

  int k = report->n_classes;
  PtClassReport *r = g_memdup2 (report, sizeof *report);
  r->class_accuracy = g_memdup2 (report->class_accuracy, sizeof (double) * k);
  r->class_count = g_memdup2 (report->class_count, sizeof (int) * k);
  r->confusion = g_memdup2 (report->confusion, sizeof (gint64) * k * k);
  r->wrong = g_memdup2 (report->wrong, sizeof (int) * MAX (report->n_wrong, 1));
  return r;
}

void
pt_class_report_free (PtClassReport *report)
{
  if (report == NULL)
    return;
  g_free (report->class_accuracy);
  g_free (report->class_count);
  g_free (report->confusion);
  g_free (report->wrong);
  g_free (report);
}

double
pt_embedding_std (const float *x,
                  int          n,
                  int          d)
{
  g_return_val_if_fail (x != NULL && n > 0 && d > 0, NAN);

  g_autofree double *sum = g_new0 (double, d);
  g_autofree double *sq = g_new0 (double, d);
  g_autofree float *row = g_new (float, d);

  for (int i = 0; i < n; i++)
    {
      _pt_l2_normalize_rows (row, x + (gsize) i * d, 1, d);
      for (int j = 0; j < d; j++)
        {
          sum[j] += row[j];
          sq[j] += (double) row[j] * row[j];
        }
    }
  double total = 0.0;
  for (int j = 0; j < d; j++)
    {
      double mean = sum[j] / n;
      double var = sq[j] / n - mean * mean;
      total += sqrt (MAX (var, 0.0));
    }
  return total / d;
}

gboolean
pt_effective_rank (const float *x,
                   int          n,
                   int          d,
                   double      *erank,
                   GError     **error)
{
  g_return_val_if_fail (x != NULL && n > 0 && d > 0 && erank != NULL, FALSE);

  /* Row-major n x d is column-major d x n: same singular values. */
  int m = d, nn = n, lda = d, one = 1;
  int mn = MIN (m, nn);
  const char jobz = 'N';
  g_autofree float *a = g_memdup2 (x, sizeof (float) * n * d);
  g_autofree float *s = g_new (float, mn);
  g_autofree int *iwork = g_new (int, 8 * mn);
  float work_query, dummy = 0.0f;
  int lwork = -1, info = 0;

  sgesdd_ (&jobz, &m, &nn, a, &lda, s, &dummy, &one, &dummy, &one,
           &work_query, &lwork, iwork, &info);
  if (info == 0)
    {
      lwork = (int) work_query + 1;
      g_autofree float *work = g_new (float, lwork);
      sgesdd_ (&jobz, &m, &nn, a, &lda, s, &dummy, &one, &dummy, &one,
               work, &lwork, iwork, &info);
    }
  if (info != 0)
    {
      g_set_error (error, PT_METRICS_ERROR, PT_METRICS_ERROR_FAILED,
                   _("The singular value decomposition of the %d x %d "
                     "features failed (LAPACK error %d)"), n, d, info);
      return FALSE;
    }

  double total = 0.0;
  for (int i = 0; i < mn; i++)
    total += s[i];
  if (!(total > 0.0))
    {
      *erank = 1.0; /* all zero: fully collapsed */
      return TRUE;
    }
  double h = 0.0;
  for (int i = 0; i < mn; i++)
    {
      double p = s[i] / total;
      if (p > 0.0)
        h -= p * log (p);
    }
  *erank = exp (h);
  return TRUE;
}
