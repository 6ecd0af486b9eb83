/* pt-eval.c: one-call evaluation of frozen features. */
#include "pt-eval.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-eval-error-quark, pt_eval_error)

void
pt_eval_options_init (PtEvalOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->label_fraction = 1.0;
  options->run_probe = TRUE;
  options->run_knn = TRUE;
  options->knn_k = PT_KNN_DEFAULT_K;
  options->knn_t = PT_KNN_DEFAULT_T;
  pt_probe_options_init (&options->probe);
}

gboolean
pt_eval_check_input (const float *x,
                     const int   *labels,
                     int          n,
                     int          d,
                     int          n_classes,
                     gboolean     allow_unlabeled,
                     const char  *what,
                     GError     **error)
{
  g_return_val_if_fail (what != NULL, FALSE);

  if (n <= 0 || d <= 0 || x == NULL || labels == NULL)
    {
      g_set_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID,
                   _("The %s are empty (%d items of %d features)"), what, n, d);
      return FALSE;
    }
  for (gsize i = 0; i < (gsize) n * d; i++)
    if (!isfinite (x[i]))
      {
        g_set_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID,
                     _("Item %d of the %s has a non-finite feature (%g); the "
                       "encoder may have diverged"), (int) (i / d), what,
                     (double) x[i]);
        return FALSE;
      }
  for (int i = 0; i < n; i++)
    if (labels[i] >= n_classes || (labels[i] < 0 && !allow_unlabeled))
      {
        g_set_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID,
                     _("Item %d of the %s has label %d, outside the %d classes"),
                     i, what, labels[i], n_classes);
        return FALSE;
      }
  return TRUE;
}

gboolean
pt_eval_features (const float          *train_x,
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
                  GError              **error)
{
  PtEvalOptions defaults;

  g_return_val_if_fail (probe_out != NULL && knn_out != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  *probe_out = NULL;
  *knn_out = NULL;
  if (options == NULL)
    {
      pt_eval_options_init (&defaults);
      options = &defaults;
    }
  if (n_classes <= 0)
    {
      g_set_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID,
                   _("The dataset has no classes to evaluate against"));
      return FALSE;
    }
  if (!pt_eval_check_input (train_x, train_y, n_train, d, n_classes, TRUE,
                            _("train features"), error) ||
      !pt_eval_check_input (test_x, test_y, n_test, d, n_classes, FALSE,
                            _("test features"), error))
    return FALSE;

  /* The labeled subset (all labeled items at fraction 1). */
  int n_sub = 0;
  g_autofree int *idx = pt_subset_balanced (train_y, n_train, n_classes,
                                            options->label_fraction,
                                            options->per_class, options->seed,
                                            &n_sub);
  if (n_sub < 2)
    {
      g_set_error (error, PT_EVAL_ERROR, PT_EVAL_ERROR_INVALID,
                   _("Only %d labeled training items: too few to evaluate"), n_sub);
      return FALSE;
    }
  g_autofree float *sx = NULL;
  g_autofree int *sy = g_new (int, n_sub);
  const float *ex = train_x;
  if (n_sub != n_train)
    {
      sx = g_new (float, (gsize) n_sub * d);
      pt_subset_gather (sx, train_x, d, idx, n_sub);
      ex = sx;
    }
  for (int i = 0; i < n_sub; i++)
    sy[i] = train_y[idx[i]];

  g_autoptr(PtEvalRecord) probe_rec = NULL;
  g_autoptr(PtEvalRecord) knn_rec = NULL;
  if (options->run_probe)
    {
      PtProbeOptions po = options->probe;
      po.seed = options->seed;
      g_autoptr(PtProbeResult) res = pt_probe_run (ex, sy, n_sub, test_x, test_y,
                                                   n_test, d, n_classes, &po,
                                                   cancellable, error);
      if (res == NULL)
        return FALSE;
      probe_rec = pt_eval_record_new_probe (res, options->seed);
    }
  if (options->run_knn)
    {
      g_autoptr(PtKnnIndex) index = pt_knn_index_new (ex, n_sub, d);
      g_autoptr(PtKnnCache) cache = pt_knn_cache_new (index, test_x, n_test,
                                                      MAX (options->knn_k, 1),
                                                      cancellable, error);
      if (cache == NULL)
        return FALSE;
      g_autoptr(PtClassReport) rep = pt_knn_cache_evaluate (cache, sy, test_y, n_classes,
                                                            options->knn_k,
                                                            options->knn_t);
      knn_rec = pt_eval_record_new_knn (rep, n_sub, options->knn_k, options->knn_t);
      knn_rec->seed = options->seed;
    }

  PtEvalRecord *recs[2] = { probe_rec, knn_rec };
  for (int r = 0; r < 2; r++)
    {
      if (recs[r] == NULL)
        continue;
      recs[r]->features = g_strdup (features);
      if (options->per_class > 0)
        recs[r]->per_class = options->per_class;
      else
        recs[r]->label_fraction = MIN (options->label_fraction, 1.0);
    }
  *probe_out = g_steal_pointer (&probe_rec);
  *knn_out = g_steal_pointer (&knn_rec);
  return TRUE;
}
