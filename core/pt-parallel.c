/* pt-parallel.c: a persistent thread pool and the serialized sgemm. */
#include "pt-parallel.h"

#include <string.h>
#include <cblas.h>

#include "pt-threads.h"

typedef struct
{
  GMutex          lock;
  GCond           work_cond;
  GCond           done_cond;
  guint           generation;
  int             n_workers;    /* threads started so far (never stopped) */
  int             n_parts;      /* ranges of the current call */
  int             pending;      /* worker ranges not finished yet */
  gsize           n;
  PtParallelFunc  fn;
  gpointer        data;
} PtPool;

static PtPool pool;
static GMutex call_lock;        /* one pt_parallel_for at a time */
static GMutex blas_lock;
static __thread gboolean in_worker;   /* a pool thread, or a caller inside a call */

static void
run_part (PtParallelFunc fn,
          gpointer       data,
          gsize          n,
          int            n_parts,
          int            part)
{
  gsize begin = n * (gsize) part / (gsize) n_parts;
  gsize end = n * (gsize) (part + 1) / (gsize) n_parts;

  if (begin < end)
    fn (begin, end, data);
}

typedef struct
{
  int   index;        /* runs part index + 1 */
  guint generation;   /* the generation current when it was started */
} WorkerStart;

static gpointer
worker_main (gpointer user_data)
{
  WorkerStart *start = user_data;
  int index = start->index;
  guint seen = start->generation;

  g_free (start);
  in_worker = TRUE;
  g_mutex_lock (&pool.lock);
  for (;;)
    {
      PtParallelFunc fn;
      gpointer data;
      gsize n;
      int n_parts;

      while (pool.generation == seen)
        g_cond_wait (&pool.work_cond, &pool.lock);
      seen = pool.generation;
      if (index + 1 >= pool.n_parts)
        continue;
      fn = pool.fn;
      data = pool.data;
      n = pool.n;
      n_parts = pool.n_parts;
      g_mutex_unlock (&pool.lock);

      run_part (fn, data, n, n_parts, index + 1);

      g_mutex_lock (&pool.lock);
      if (--pool.pending == 0)
        g_cond_signal (&pool.done_cond);
    }
  return NULL;
}

void
pt_parallel_for (gsize           n,
                 PtParallelFunc  fn,
                 gpointer        data)
{
  int n_parts = pt_threads_get ();

  if (n == 0)
    return;
  n_parts = (int) MIN ((gsize) n_parts, n);
  if (n_parts <= 1 || in_worker)
    {
      fn (0, n, data);
      return;
    }

  g_mutex_lock (&call_lock);
  in_worker = TRUE;   /* nested calls from fn run inline instead of deadlocking */
  g_mutex_lock (&pool.lock);
  while (pool.n_workers < n_parts - 1)
    {
      WorkerStart *start = g_new (WorkerStart, 1);
      GThread *thread;

      start->index = pool.n_workers;
      start->generation = pool.generation;
      thread = g_thread_new ("pt-worker", worker_main, start);

      g_thread_unref (thread);
      pool.n_workers++;
    }
  pool.fn = fn;
  pool.data = data;
  pool.n = n;
  pool.n_parts = n_parts;
  pool.pending = n_parts - 1;
  pool.generation++;
  g_cond_broadcast (&pool.work_cond);
  g_mutex_unlock (&pool.lock);

  run_part (fn, data, n, n_parts, 0);

  g_mutex_lock (&pool.lock);
  while (pool.pending > 0)
    g_cond_wait (&pool.done_cond, &pool.lock);
  g_mutex_unlock (&pool.lock);
  in_worker = FALSE;
  g_mutex_unlock (&call_lock);
}

typedef struct
{
  gboolean     trans_a, trans_b, split_m, split_k;
  float       *partial;   /* split_k: (n_parts - 1) m x n results */
  int          m, n, k;
  float        alpha, beta;
  const float *a, *b;
  float       *c;
  int          lda, ldb, ldc;
  int          n_parts;
} GemmJob;

static void
gemm_part_run (gsize    begin,
               gsize    end,
               gpointer data)
{
  GemmJob *j = data;

  for (gsize part = begin; part < end; part++)
    {
      int dim = j->split_k ? j->k : j->split_m ? j->m : j->n;
      /* Part boundaries rounded to 16 for the kernels' blocking. */
      int p0 = (int) ((gsize) dim * part / j->n_parts) / 16 * 16;
      int p1 = part + 1 == (gsize) j->n_parts ? dim
               : (int) ((gsize) dim * (part + 1) / j->n_parts) / 16 * 16;

      if (p1 <= p0 && !j->split_k)
        continue;
      if (j->split_k)
        {
          /* Part 0 accumulates into C with beta; the others into their own
           * buffer, summed afterwards in part order (deterministic). */
          float *dst = part == 0 ? j->c : j->partial + (part - 1) * (gsize) j->m * j->n;
          int ld = part == 0 ? j->ldc : j->n;

          if (p1 <= p0)
            {
              if (part > 0)
                memset (dst, 0, (gsize) j->m * j->n * sizeof (float));
              else
                for (int i = 0; i < j->m; i++)
                  for (int q = 0; q < j->n; q++)
                    dst[(gsize) i * ld + q] *= j->beta;
              continue;
            }
          cblas_sgemm (CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                       j->trans_b ? CblasTrans : CblasNoTrans, j->m, j->n, p1 - p0, j->alpha,
                       j->trans_a ? j->a + (gsize) p0 * j->lda : j->a + p0, j->lda,
                       j->trans_b ? j->b + p0 : j->b + (gsize) p0 * j->ldb, j->ldb,
                       part == 0 ? j->beta : 0.0f, dst, ld);
        }
      else if (j->split_m)
        cblas_sgemm (CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                     j->trans_b ? CblasTrans : CblasNoTrans, p1 - p0, j->n, j->k, j->alpha,
                     j->trans_a ? j->a + p0 : j->a + (gsize) p0 * j->lda, j->lda,
                     j->b, j->ldb, j->beta, j->c + (gsize) p0 * j->ldc, j->ldc);
      else
        cblas_sgemm (CblasRowMajor, j->trans_a ? CblasTrans : CblasNoTrans,
                     j->trans_b ? CblasTrans : CblasNoTrans, j->m, p1 - p0, j->k, j->alpha,
                     j->a, j->lda,
                     j->trans_b ? j->b + (gsize) p0 * j->ldb : j->b + p0, j->ldb,
                     j->beta, j->c + p0, j->ldc);
    }
}

void
pt_sgemm (gboolean     trans_a,
          gboolean     trans_b,
          int          m,
          int          n,
          int          k,
          float        alpha,
          const float *a,
          int          lda,
          const float *b,
          int          ldb,
          float        beta,
          float       *c,
          int          ldc)
{
  int n_threads = pt_threads_get ();
  double flops = 2.0 * m * n * k;

  if (m == 0 || n == 0)
    return;
  g_mutex_lock (&blas_lock);
  if (n_threads > 1 && pt_threads_blas_uses_pool () && flops >= 4e6 &&
      k >= 4 * MAX (m, n) && (gsize) m * n <= ((gsize) 1 << 20))
    {
      /* Long inner dimension (weight gradients): split k, so no thread packs
       * the other's operands again. */
      static float *partial;          /* guarded by blas_lock; grows only */
      static gsize partial_size;
      gsize need = (gsize) (n_threads - 1) * m * n;
      GemmJob job = { trans_a, trans_b, FALSE, TRUE, NULL, m, n, k, alpha, beta, a, b, c,
                      lda, ldb, ldc, n_threads };

      if (need > partial_size)
        {
          g_free (partial);
          partial = g_new (float, need);
          partial_size = need;
        }
      job.partial = partial;
      pt_parallel_for (n_threads, gemm_part_run, &job);
      for (int part = 1; part < n_threads; part++)
        for (int i = 0; i < m; i++)
          {
            float *restrict dst = c + (gsize) i * ldc;
            const float *restrict src = partial + ((gsize) (part - 1) * m + i) * n;

            for (int q = 0; q < n; q++)
              dst[q] += src[q];
          }
    }
  else if (n_threads > 1 && pt_threads_blas_uses_pool () && flops >= 4e6 &&
           MAX (m, n) >= 32 * n_threads)
    {
      GemmJob job = { trans_a, trans_b, m >= n, FALSE, NULL, m, n, k, alpha, beta, a, b, c,
                      lda, ldb, ldc, n_threads };

      pt_parallel_for (n_threads, gemm_part_run, &job);
    }
  else
    cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
                 trans_b ? CblasTrans : CblasNoTrans,
                 m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
  g_mutex_unlock (&blas_lock);
}

void
pt_parallel_for_blas (gsize           n,
                      PtParallelFunc  fn,
                      gpointer        data)
{
  if (n == 0)
    return;
  g_mutex_lock (&blas_lock);
  if (pt_threads_blas_uses_pool ())
    pt_parallel_for (n, fn, data);
  else
    fn (0, n, data);
  g_mutex_unlock (&blas_lock);
}

void
pt_sgemm_serial (gboolean     trans_a,
                 gboolean     trans_b,
                 int          m,
                 int          n,
                 int          k,
                 float        alpha,
                 const float *a,
                 int          lda,
                 const float *b,
                 int          ldb,
                 float        beta,
                 float       *c,
                 int          ldc)
{
  if (m == 0 || n == 0)
    return;
  cblas_sgemm (CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans,
               m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
