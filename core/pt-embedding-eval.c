/* pt-embedding-eval.c: kNN and probe scores of an imported embedding set. */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-embedding-eval.h"
#include "pt-knn.h"
#include "pt-rng.h"

int *
pt_embedding_set_labeled_rows (const PtEmbeddingSet *set,
                               int                  *n_out)
{
  int *rows = g_new (int, MAX (set->n, 1));
  int n = 0;

  for (guint i = 0; set->labels != NULL && i < set->n; i++)
    if (set->labels->values[i] >= 0 && (guint) set->labels->values[i] < set->labels->n_classes)
      rows[n++] = (int) i;
  *n_out = n;
  return rows;
}

static void
gather (float       *out,
        const float *x,
        const int   *rows,
        int          n,
        int          d)
{
  for (int i = 0; i < n; i++)
    memcpy (out + (gsize) i * d, x + (gsize) rows[i] * d, d * sizeof (float));
}

gboolean
pt_embedding_set_knn_accuracy (const PtEmbeddingSet *set,
                               int                   k,
                               double                t,
                               double               *accuracy,
                               GCancellable         *cancellable,
                               GError              **error)
{
  g_autofree int *rows = NULL;
  g_autofree float *x = NULL;
  g_autofree int *labels = NULL;
  g_autofree int *self = NULL;
  g_autofree int *idx = NULL;
  g_autofree float *sim = NULL;
  g_autoptr(PtKnnIndex) index = NULL;
  g_autoptr(PtClassReport) report = NULL;
  PtKnnCache cache = { 0 };
  int n = 0, d = (int) set->d, kk;

  g_return_val_if_fail (set != NULL && k >= 1 && t > 0, FALSE);

  rows = pt_embedding_set_labeled_rows (set, &n);
  if (n < 2)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("The kNN accuracy needs at least 2 labeled rows, not %d."), n);
      return FALSE;
    }
  kk = MIN (k, n - 1);
  x = g_new (float, (gsize) n * d);
  labels = g_new (int, n);
  self = g_new (int, n);
  gather (x, set->data, rows, n, d);
  for (int i = 0; i < n; i++)
    {
      labels[i] = set->labels->values[rows[i]];
      self[i] = i;
    }
  index = pt_knn_index_new (x, n, d);
  idx = g_new (int, (gsize) n * kk);
  sim = g_new (float, (gsize) n * kk);
  if (!pt_knn_index_search (index, x, n, kk, self, idx, sim, cancellable, error))
    return FALSE;
  cache.n_queries = n;
  cache.k_max = kk;
  cache.idx = idx;
  cache.sim = sim;
  report = pt_knn_cache_evaluate (&cache, labels, labels, (int) set->labels->n_classes, kk, t);
  *accuracy = report->accuracy;
  return TRUE;
}

PtProbeResult *
pt_embedding_set_probe (const PtEmbeddingSet *set,
                        guint64               seed,
                        GCancellable         *cancellable,
                        GError              **error)
{
  g_autofree int *order = NULL;
  g_autofree float *train_x = NULL, *test_x = NULL;
  g_autofree int *train_y = NULL, *test_y = NULL;
  int n = 0, d = (int) set->d, n_test, n_train;
  PtRng rng;

  g_return_val_if_fail (set != NULL, NULL);

  order = pt_embedding_set_labeled_rows (set, &n);
  if (n < 10 || set->labels->n_classes < 2)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("The linear probe needs at least 10 labeled rows of 2 or more classes."));
      return NULL;
    }
  n_test = MAX (1, n / 5);
  n_train = n - n_test;
  /* Fisher-Yates with Pretext's RNG: the same split on every machine. */
  pt_rng_init (&rng, seed);
  for (int i = n - 1; i > 0; i--)
    {
      int j = (int) pt_rng_below (&rng, (guint32) (i + 1));
      int tmp = order[i];

      order[i] = order[j];
      order[j] = tmp;
    }
  train_x = g_new (float, (gsize) n_train * d);
  test_x = g_new (float, (gsize) n_test * d);
  train_y = g_new (int, n_train);
  test_y = g_new (int, n_test);
  gather (train_x, set->data, order, n_train, d);
  gather (test_x, set->data, order + n_train, n_test, d);
  for (int i = 0; i < n_train; i++)
    train_y[i] = set->labels->values[order[i]];
  for (int i = 0; i < n_test; i++)
    test_y[i] = set->labels->values[order[n_train + i]];
  return pt_probe_run (train_x, train_y, n_train, test_x, test_y, n_test, d,
                       (int) set->labels->n_classes, NULL, cancellable, error);
}
