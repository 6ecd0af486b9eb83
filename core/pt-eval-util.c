/* pt-eval-util.c: threads, top-k selection and LAPACK glue shared by the
 * evaluation modules. */
#include "pt-eval-private.h"
#include "pt-threads.h"

#include <math.h>
#include <string.h>

typedef struct
{
  PtParallelFunc func;
  gpointer       data;
  int            begin;
  int            end;
} PtParallelChunk;

static gpointer
parallel_chunk_run (gpointer user_data)
{
  PtParallelChunk *chunk = user_data;

  chunk->func (chunk->begin, chunk->end, chunk->data);
  return NULL;
}

void
_pt_parallel_for (int            n,
                  int            n_threads,
                  PtParallelFunc func,
                  gpointer       data)
{
  PtParallelChunk chunks[PT_THREADS_MAX];
  GThread *threads[PT_THREADS_MAX];

  if (n <= 0)
    return;
  n_threads = CLAMP (n_threads, 1, PT_THREADS_MAX);
  n_threads = MIN (n_threads, n);
  if (n_threads == 1)
    {
      func (0, n, data);
      return;
    }

  for (int t = 0; t < n_threads; t++)
    {
      chunks[t].func = func;
      chunks[t].data = data;
      chunks[t].begin = (int) ((gint64) n * t / n_threads);
      chunks[t].end = (int) ((gint64) n * (t + 1) / n_threads);
    }
  for (int t = 1; t < n_threads; t++)
    threads[t] = g_thread_new ("pt-eval", parallel_chunk_run, &chunks[t]);
  parallel_chunk_run (&chunks[0]);
  for (int t = 1; t < n_threads; t++)
    g_thread_join (threads[t]);
}

/* GCC / Clang vector extensions: SIMD compares without intrinsics. */
typedef float PtV8f __attribute__ ((vector_size (32)));
typedef int   PtV8i __attribute__ ((vector_size (32)));

typedef struct
{
  int         *idx;
  float       *val;
  const float *scores;
  int          cols;
  int          ld;
  int          k;
  const int   *skip;
} TopkJob;

/* Min-heap on value (ties: larger column index is "smaller", so that the
 * smaller index wins and results are deterministic). */
static inline gboolean
heap_less (float va, int ia, float vb, int ib)
{
  return va < vb || (va == vb && ia > ib);
}

static void
heap_sift_down (float *hv, int *hi, int k, int pos)
{
  float v = hv[pos];
  int id = hi[pos];

  for (;;)
    {
      int c = 2 * pos + 1;
      if (c >= k)
        break;
      if (c + 1 < k && heap_less (hv[c + 1], hi[c + 1], hv[c], hi[c]))
        c++;
      if (!heap_less (hv[c], hi[c], v, id))
        break;
      hv[pos] = hv[c];
      hi[pos] = hi[c];
      pos = c;
    }
  hv[pos] = v;
  hi[pos] = id;
}

static void
topk_run (int begin, int end, gpointer data)
{
  TopkJob *job = data;
  int k = job->k;

  for (int r = begin; r < end; r++)
    {
      const float *row = job->scores + (gsize) r * job->ld;
      float *hv = job->val + (gsize) r * k;
      int *hi = job->idx + (gsize) r * k;
      int skip = job->skip ? job->skip[r] : -1;
      int filled = 0;
      int c = 0;

      for (; c < job->cols && filled < k; c++)
        {
          if (c == skip)
            continue;
          hv[filled] = row[c];
          hi[filled] = c;
          filled++;
        }
      for (int i = filled; i < k; i++)
        {
          hv[i] = -INFINITY;
          hi[i] = -1;
        }
      for (int i = k / 2 - 1; i >= 0; i--)
        heap_sift_down (hv, hi, k, i);

      /* The hot loop: most entries fail the first comparison, so scan
       * 16 at a time with vector compares and look closer only at chunks
       * holding a candidate. */
      float threshold = hv[0];
      for (; c < job->cols && (c & 15); c++)
        if (row[c] > threshold && c != skip)
          {
            hv[0] = row[c];
            hi[0] = c;
            heap_sift_down (hv, hi, k, 0);
            threshold = hv[0];
          }
      for (; c + 16 <= job->cols; c += 16)
        {
          PtV8f a, b;
          memcpy (&a, row + c, sizeof a);
          memcpy (&b, row + c + 8, sizeof b);
          PtV8f t = { threshold, threshold, threshold, threshold,
                      threshold, threshold, threshold, threshold };
          PtV8i hit = (a > t) | (b > t);
          if (!(hit[0] | hit[1] | hit[2] | hit[3] | hit[4] | hit[5] | hit[6] | hit[7]))
            continue;
          for (int u = c; u < c + 16; u++)
            if (row[u] > threshold && u != skip)
              {
                hv[0] = row[u];
                hi[0] = u;
                heap_sift_down (hv, hi, k, 0);
                threshold = hv[0];
              }
        }
      for (; c < job->cols; c++)
        if (row[c] > threshold && c != skip)
          {
            hv[0] = row[c];
            hi[0] = c;
            heap_sift_down (hv, hi, k, 0);
            threshold = hv[0];
          }

      /* Heap sort into decreasing order. */
      for (int n = k - 1; n > 0; n--)
        {
          float tv = hv[0];
          int ti = hi[0];
          hv[0] = hv[n];
          hi[0] = hi[n];
          hv[n] = tv;
          hi[n] = ti;
          heap_sift_down (hv, hi, n, 0);
        }
    }
}

void
_pt_topk_rows (int         *idx,
               float       *val,
               const float *scores,
               int          rows,
               int          cols,
               int          ld,
               int          k,
               const int   *skip)
{
  TopkJob job = { idx, val, scores, cols, ld, k, skip };

  g_assert (k > 0);
  _pt_parallel_for (rows, pt_threads_get (), topk_run, &job);
}

void
_pt_l2_normalize_rows (float       *out,
                       const float *x,
                       int          n,
                       int          d)
{
  for (int i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      float *oi = out + (gsize) i * d;
      double s = 0.0;

      for (int j = 0; j < d; j++)
        s += (double) xi[j] * xi[j];
      float inv = s > 0.0 ? (float) (1.0 / sqrt (s)) : 0.0f;
      for (int j = 0; j < d; j++)
        oi[j] = xi[j] * inv;
    }
}

gboolean
_pt_symmetric_eigen (float       *w,
                     float       *vecs,
                     const float *a,
                     int          d)
{
  g_autofree float *m = g_memdup2 (a, sizeof (float) * d * d);
  g_autofree float *wa = g_new (float, d);
  const char jobz = vecs ? 'V' : 'N';
  const char uplo = 'L';
  float work_query;
  int iwork_query;
  int lwork = -1, liwork = -1, info = 0;

  /* Row-major symmetric == column-major symmetric: no transpose needed. */
  ssyevd_ (&jobz, &uplo, &d, m, &d, wa, &work_query, &lwork, &iwork_query,
           &liwork, &info);
  if (info != 0)
    return FALSE;
  lwork = (int) work_query + 1;
  liwork = iwork_query;
  g_autofree float *work = g_new (float, lwork);
  g_autofree int *iwork = g_new (int, MAX (liwork, 1));
  ssyevd_ (&jobz, &uplo, &d, m, &d, wa, work, &lwork, iwork, &liwork, &info);
  if (info != 0)
    return FALSE;

  /* LAPACK: ascending eigenvalues, eigenvector j in column j, i.e. in
   * memory at m[j * d ...]: already a row in our row-major view. */
  for (int r = 0; r < d; r++)
    {
      int src = d - 1 - r;
      w[r] = wa[src];
      if (vecs == NULL)
        continue;
      const float *v = m + (gsize) src * d;
      int amax = 0;
      for (int j = 1; j < d; j++)
        if (fabsf (v[j]) > fabsf (v[amax]))
          amax = j;
      float sign = v[amax] < 0.0f ? -1.0f : 1.0f;
      for (int j = 0; j < d; j++)
        vecs[(gsize) r * d + j] = sign * v[j];
    }
  return TRUE;
}
