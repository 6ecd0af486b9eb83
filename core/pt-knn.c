/* pt-knn.c: cosine nearest neighbours by fused sgemm tiles + streaming top-k. */
#include "pt-knn.h"
#include "pt-eval-private.h"
#include "pt-threads.h"

#include <cblas.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
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

/* ---- search: fused sgemm tiles and streaming top-k ----
 *
 * Queries are taken KNN_QBLOCK at a time by the workers of pt_parallel_for
 * (dynamically, through an atomic counter; the threads of
 * _pt_parallel_for, one per compute thread). A worker computes the block's
 * similarities against KNN_TILE index items at a time with a
 * single-threaded sgemm, so a tile of scores stays in cache, and streams
 * every row of the tile through its query's selector before the next tile.
 *
 * Selector: a buffer of up to KNN_CAP_FACTOR * k candidates and a
 * threshold. Columns arrive in increasing index order; a column enters only
 * if its similarity is above the threshold (chunks of 32 with no such value
 * are skipped with one vector compare of their maximum). When the buffer is full it is cut
 * to the best k by a quickselect on integer keys, and the threshold becomes the k-th best
 * value. Order: similarity decreasing, ties by increasing index; since a
 * later column has a larger index, a similarity equal to the threshold can
 * never beat the k-th best, so the strict compare is exact. */

#define KNN_QBLOCK      256
#define KNN_TILE        1024
#define KNN_CAP_FACTOR  4

typedef float KnnV8f __attribute__ ((vector_size (32)));
typedef int KnnV8i __attribute__ ((vector_size (32)));

/* A candidate as one integer key: the similarity's bits made
 * order-preserving in the high half, the complemented index in the low
 * half, so that a larger key is a better neighbour (larger similarity,
 * then smaller index) and selection compares one integer. */
typedef guint64 KnnKey;

static inline KnnKey
key_make (float v,
          int   i)
{
  guint32 u;

  v += 0.0f;   /* -0 and +0 are the same similarity */
  memcpy (&u, &v, sizeof u);
  u = (u & 0x80000000u) ? ~u : (u | 0x80000000u);
  return ((KnnKey) u << 32) | (guint32) ~(guint32) i;
}

static inline float
key_value (KnnKey key)
{
  guint32 u = (guint32) (key >> 32);
  float v;

  u = (u & 0x80000000u) ? (u & 0x7fffffffu) : ~u;
  memcpy (&v, &u, sizeof v);
  return v;
}

static inline int
key_index (KnnKey key)
{
  return (int) ~(guint32) key;
}

static int
key_cmp_desc (gconstpointer a,
              gconstpointer b)
{
  KnnKey x = *(const KnnKey *) a, y = *(const KnnKey *) b;

  return x > y ? -1 : x < y ? 1 : 0;
}

static inline void
key_swap (KnnKey *a,
          KnnKey *b)
{
  KnnKey t = *a;

  *a = *b;
  *b = t;
}

/* Reorders p[0..n) so that p[0..k) are the k best (largest) keys, in any
 * order, and p[k - 1] is the k-th best. 0 < k <= n. */
static void
key_select (KnnKey *p,
            int     n,
            int     k)
{
  int lo = 0, hi = n - 1, target = k - 1;

  while (hi > lo)
    {
      int mid = lo + (hi - lo) / 2, i;
      KnnKey pivot;

      /* median of three into p[hi] */
      if (p[mid] > p[lo])
        key_swap (&p[mid], &p[lo]);
      if (p[hi] > p[lo])
        key_swap (&p[hi], &p[lo]);
      if (p[mid] > p[hi])
        key_swap (&p[mid], &p[hi]);
      pivot = p[hi];
      i = lo;
      for (int j = lo; j < hi; j++)
        if (p[j] > pivot)
          key_swap (&p[i++], &p[j]);
      key_swap (&p[i], &p[hi]);
      if (i == target)
        return;
      if (i < target)
        lo = i + 1;
      else
        hi = i - 1;
    }
}

typedef struct
{
  KnnKey  *buf;        /* cap entries */
  int      count;
  float    threshold;  /* enter if sim > threshold */
} KnnSelector;

static inline void
selector_prune (KnnSelector *s,
                int          k)
{
  key_select (s->buf, s->count, k);
  s->count = k;
  s->threshold = key_value (s->buf[k - 1]);
}

/* Streams row[0..n) (columns first + c) through s. */
static void
selector_scan (KnnSelector *s,
               const float *row,
               int          n,
               int          first,
               int          skip,
               int          k,
               int          cap)
{
  int c = 0;

  /* Chunks of 32: one compare of their maximum against the threshold. */
  for (; c + 32 <= n; c += 32)
    {
#ifdef __SSE2__
      __m128 m0 = _mm_max_ps (_mm_loadu_ps (row + c), _mm_loadu_ps (row + c + 4));
      __m128 m1 = _mm_max_ps (_mm_loadu_ps (row + c + 8), _mm_loadu_ps (row + c + 12));
      __m128 m2 = _mm_max_ps (_mm_loadu_ps (row + c + 16), _mm_loadu_ps (row + c + 20));
      __m128 m3 = _mm_max_ps (_mm_loadu_ps (row + c + 24), _mm_loadu_ps (row + c + 28));
      __m128 m = _mm_max_ps (_mm_max_ps (m0, m1), _mm_max_ps (m2, m3));

      __m128 t = _mm_set1_ps (s->threshold);

      /* NaN lanes compare false, as in the scalar test below */
      if (_mm_movemask_ps (_mm_cmpgt_ps (m, t)) == 0)
        continue;
      /* Visit only the lanes above the threshold. One that a prune made
       * obsolete within the chunk is still taken: a spare candidate is
       * harmless, the next prune drops it. */
      for (int h = 0; h < 32; h += 4)
        {
          int mask = _mm_movemask_ps (_mm_cmpgt_ps (_mm_loadu_ps (row + c + h), t));

          while (mask != 0)
            {
              int u = c + h + __builtin_ctz (mask);

              mask &= mask - 1;
              if (first + u == skip)
                continue;
              s->buf[s->count] = key_make (row[u], first + u);
              if (++s->count == cap)
                {
                  selector_prune (s, k);
                  t = _mm_set1_ps (s->threshold);
                }
            }
        }
#else
      KnnV8f a, b, t;
      KnnV8i hit = { 0 };

      t = (KnnV8f) { s->threshold, s->threshold, s->threshold, s->threshold,
                     s->threshold, s->threshold, s->threshold, s->threshold };
      for (int h = 0; h < 32; h += 16)
        {
          memcpy (&a, row + c + h, sizeof a);
          memcpy (&b, row + c + h + 8, sizeof b);
          hit |= (a > t) | (b > t);
        }
      if (!(hit[0] | hit[1] | hit[2] | hit[3] | hit[4] | hit[5] | hit[6] | hit[7]))
        continue;
      for (int u = c; u < c + 32; u++)
        if (row[u] > s->threshold && first + u != skip)
          {
            s->buf[s->count] = key_make (row[u], first + u);
            if (++s->count == cap)
              selector_prune (s, k);
          }
#endif
    }
  for (; c < n; c++)
    if (row[c] > s->threshold && first + c != skip)
      {
        s->buf[s->count] = key_make (row[c], first + c);
        if (++s->count == cap)
          selector_prune (s, k);
      }
}

typedef struct
{
  const PtKnnIndex *index;
  const float      *queries;
  int               n_queries;
  int               k;
  const int        *exclude;
  int              *idx;
  float            *sim;
  int               n_blocks;
  gint              next_block;   /* atomic */
  gint              cancelled;    /* atomic */
  GCancellable     *cancellable;
} SearchJob;

static void
search_worker (int      begin,
               int      end,
               gpointer data)
{
  SearchJob *job = data;
  int n = job->index->n, d = job->index->d, k = job->k;
  int cap = KNN_CAP_FACTOR * k + 16;
  g_autofree float *q = g_new (float, (gsize) KNN_QBLOCK * d);
  g_autofree float *scores = g_new (float, (gsize) KNN_QBLOCK * KNN_TILE);
  g_autofree KnnKey *pairs = g_new (KnnKey, (gsize) KNN_QBLOCK * cap);
  KnnSelector sel[KNN_QBLOCK];

  for (;;)
    {
      int block = g_atomic_int_add (&job->next_block, 1), q0, nb;

      if (block >= job->n_blocks || g_atomic_int_get (&job->cancelled))
        break;
      if (g_cancellable_is_cancelled (job->cancellable))
        {
          g_atomic_int_set (&job->cancelled, 1);
          break;
        }
      q0 = block * KNN_QBLOCK;
      nb = MIN (KNN_QBLOCK, job->n_queries - q0);
      _pt_l2_normalize_rows (q, job->queries + (gsize) q0 * d, nb, d);
      for (int r = 0; r < nb; r++)
        {
          sel[r].buf = pairs + (gsize) r * cap;
          sel[r].count = 0;
          sel[r].threshold = -INFINITY;
        }
      for (int t0 = 0; t0 < n; t0 += KNN_TILE)
        {
          int nt = MIN (KNN_TILE, n - t0);

          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nb, nt, d, 1.0f, q, d,
                         job->index->data + (gsize) t0 * d, d, 0.0f, scores, KNN_TILE);
          for (int r = 0; r < nb; r++)
            selector_scan (&sel[r], scores + (gsize) r * KNN_TILE, nt, t0,
                           job->exclude != NULL ? job->exclude[q0 + r] : -1, k, cap);
        }
      for (int r = 0; r < nb; r++)
        {
          int *oi = job->idx + (gsize) (q0 + r) * k;
          float *os = job->sim + (gsize) (q0 + r) * k;
          int m;

          if (sel[r].count > k)
            selector_prune (&sel[r], k);
          m = sel[r].count;
          qsort (sel[r].buf, m, sizeof (KnnKey), key_cmp_desc);
          for (int j = 0; j < m; j++)
            {
              oi[j] = key_index (sel[r].buf[j]);
              os[j] = key_value (sel[r].buf[j]);
            }
          for (int j = m; j < k; j++)
            {
              oi[j] = -1;
              os[j] = -INFINITY;
            }
        }
    }
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
  SearchJob job = { 0 };
  int n_threads = pt_threads_get ();

  g_return_val_if_fail (index != NULL && queries != NULL, FALSE);
  g_return_val_if_fail (idx != NULL && sim != NULL && k > 0, FALSE);

  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return FALSE;
  job.index = index;
  job.queries = queries;
  job.n_queries = n_queries;
  job.k = k;
  job.exclude = exclude;
  job.idx = idx;
  job.sim = sim;
  job.n_blocks = (n_queries + KNN_QBLOCK - 1) / KNN_QBLOCK;
  job.cancellable = cancellable;
  /* Concurrent single-threaded sgemm calls are safe (pt-parallel.h, checked
   * by tests/core/test-parallel.c); with OpenBLAS's own threading
   * (PT_BLAS_THREADS=openblas) one caller only. */
  if (!pt_threads_blas_uses_pool ())
    n_threads = 1;
  n_threads = MIN (n_threads, job.n_blocks);
  _pt_parallel_for (n_threads, n_threads, search_worker, &job);
  if (job.cancelled)
    {
      g_cancellable_set_error_if_cancelled (cancellable, error);
      return FALSE;
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
