/* pt-knn.c: cosine nearest neighbours by sgemm blocks + top-k heaps. */
#include "pt-knn.h"
#include "pt-eval-private.h"

#include <cblas.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-knn-error-quark, pt_knn_error)

struct _PtKnnIndex
{
  int    n;
  int    d;
  float *data;
};

PtKnnIndex *
pt_knn_index_new (const float *x,
                  int          n,
                  int          d)
{
  g_return_val_if_fail (x != NULL && n > 0 && d > 0, NULL);

  PtKnnIndex *index = g_new0 (PtKnnIndex, 1);
  index->n = n;
  index->d = d;
  index->data = g_new (float, (gsize) n * d);
  _pt_l2_normalize_rows (index->data, x, n, d);
  return index;
}

void
pt_knn_index_free (PtKnnIndex *index)
{
  if (index == NULL)
    return;
  g_free (index->data);
  g_free (index);
}

int
pt_knn_index_get_n (const PtKnnIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->n;
}

int
pt_knn_index_get_dim (const PtKnnIndex *index)
{
  g_return_val_if_fail (index != NULL, 0);
  return index->d;
}

const float *
pt_knn_index_get_data (const PtKnnIndex *index)
{
  g_return_val_if_fail (index != NULL, NULL);
  return index->data;
}

gboolean
pt_knn_index_search (const PtKnnIndex *index,
                     const float      *queries,
                     int               n_queries,
                     int               k,
                     const int        *exclude,
                     int              *idx,
                     float            *sim,
                     GCancellable     *cancellable,
                     GError          **error)
{
  g_return_val_if_fail (index != NULL && queries != NULL, FALSE);
  g_return_val_if_fail (idx != NULL && sim != NULL && k > 0, FALSE);

  int n = index->n, d = index->d;
  /* Query block: large enough for sgemm to run at full speed (about
   * 512 rows), the score block capped near 128 MB. */
  int block = (int) CLAMP ((128 << 20) / ((gsize) n * sizeof (float)), 16, 512);
  block = MIN (block, n_queries);
  g_autofree float *q = g_new (float, (gsize) MAX (block, 1) * d);
  g_autofree float *scores = g_new (float, (gsize) MAX (block, 1) * n);

  for (int b0 = 0; b0 < n_queries; b0 += block)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      int nb = MIN (block, n_queries - b0);
      _pt_l2_normalize_rows (q, queries + (gsize) b0 * d, nb, d);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nb, n, d,
                   1.0f, q, d, index->data, d, 0.0f, scores, n);
      _pt_topk_rows (idx + (gsize) b0 * k, sim + (gsize) b0 * k, scores, nb,
                     n, n, k, exclude ? exclude + b0 : NULL);
    }
  return TRUE;
}

void
pt_knn_index_neighbours (const PtKnnIndex *index,
                         int               item,
                         int               k,
                         int              *idx,
                         float            *sim)
{
  g_return_if_fail (index != NULL && item >= 0 && item < index->n);

  pt_knn_index_search (index, index->data + (gsize) item * index->d, 1, k,
                       &item, idx, sim, NULL, NULL);
}

PtKnnCache *
pt_knn_cache_new (const PtKnnIndex *train,
                  const float      *queries,
                  int               n_queries,
                  int               k_max,
                  GCancellable     *cancellable,
                  GError          **error)
{
  g_return_val_if_fail (train != NULL && queries != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n_queries <= 0 || k_max <= 0)
    {
      g_set_error (error, PT_KNN_ERROR, PT_KNN_ERROR_INVALID,
                   _("Cannot search %d neighbours for %d queries"), k_max,
                   n_queries);
      return NULL;
    }
  k_max = MIN (k_max, train->n);

  g_autoptr(PtKnnCache) cache = g_new0 (PtKnnCache, 1);
  cache->n_queries = n_queries;
  cache->k_max = k_max;
  cache->idx = g_new (int, (gsize) n_queries * k_max);
  cache->sim = g_new (float, (gsize) n_queries * k_max);
  if (!pt_knn_index_search (train, queries, n_queries, k_max, NULL,
                            cache->idx, cache->sim, cancellable, error))
    return NULL;
  return g_steal_pointer (&cache);
}

void
pt_knn_cache_free (PtKnnCache *cache)
{
  if (cache == NULL)
    return;
  g_free (cache->idx);
  g_free (cache->sim);
  g_free (cache);
}

void
pt_knn_cache_predict (const PtKnnCache *cache,
                      const int        *train_labels,
                      int               n_classes,
                      int               k,
                      double            t,
                      int              *pred,
                      float            *scores)
{
  g_return_if_fail (cache != NULL && train_labels != NULL && pred != NULL);
  g_return_if_fail (n_classes > 0 && k > 0 && t > 0.0);

  k = MIN (k, cache->k_max);
  g_autofree double *votes = g_new (double, n_classes);

  for (int q = 0; q < cache->n_queries; q++)
    {
      const int *qi = cache->idx + (gsize) q * cache->k_max;
      const float *qs = cache->sim + (gsize) q * cache->k_max;
      /* Shift by the top similarity: same argmax, no overflow at small T. */
      double top = qs[0];

      memset (votes, 0, sizeof (double) * n_classes);
      for (int j = 0; j < k; j++)
        {
          if (qi[j] < 0)
            break;
          int label = train_labels[qi[j]];
          if (label < 0 || label >= n_classes)
            continue;
          votes[label] += exp ((qs[j] - top) / t);
        }
      int best = 0;
      double total = 0.0;
      for (int c = 0; c < n_classes; c++)
        {
          total += votes[c];
          if (votes[c] > votes[best])
            best = c;
        }
      pred[q] = best;
      if (scores)
        for (int c = 0; c < n_classes; c++)
          scores[(gsize) q * n_classes + c] =
            total > 0.0 ? (float) (votes[c] / total) : 0.0f;
    }
}

PtClassReport *
pt_knn_cache_evaluate (const PtKnnCache *cache,
                       const int        *train_labels,
                       const int        *test_labels,
                       int               n_classes,
                       int               k,
                       double            t)
{
  g_return_val_if_fail (cache != NULL && test_labels != NULL, NULL);

  g_autofree int *pred = g_new (int, cache->n_queries);
  pt_knn_cache_predict (cache, train_labels, n_classes, k, t, pred, NULL);
  return pt_class_report_new (test_labels, pred, cache->n_queries, n_classes);
}
