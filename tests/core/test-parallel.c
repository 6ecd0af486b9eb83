/* Tests for the thread pool and the serialized sgemm. */
#include <math.h>
#include <string.h>

#include "pt-parallel.h"
#include "pt-rng.h"
#include "pt-threads.h"

typedef struct
{
  gint   *hits;
  gint    calls;
} CoverJob;

static void
cover_run (gsize    begin,
           gsize    end,
           gpointer data)
{
  CoverJob *j = data;

  g_assert_cmpuint (begin, <, end);
  for (gsize i = begin; i < end; i++)
    g_atomic_int_inc (&j->hits[i]);
  g_atomic_int_inc (&j->calls);
}

static void
test_parallel_cover (void)
{
  const int sizes[] = { 1, 2, 3, 7, 1000, 100003 };
  const int threads[] = { 1, 2, 3, 4 };

  for (guint t = 0; t < G_N_ELEMENTS (threads); t++)
    {
      pt_threads_set (threads[t]);
      for (guint s = 0; s < G_N_ELEMENTS (sizes); s++)
        for (int rep = 0; rep < 20; rep++)
          {
            g_autofree gint *hits = g_new0 (gint, sizes[s]);
            CoverJob job = { hits, 0 };

            pt_parallel_for (sizes[s], cover_run, &job);
            for (int i = 0; i < sizes[s]; i++)
              g_assert_cmpint (hits[i], ==, 1);
            g_assert_cmpint (job.calls, ==, MIN (threads[t], sizes[s]));
          }
    }
  pt_parallel_for (0, cover_run, NULL);   /* nothing to do, no call */
  pt_threads_set (1);
}

typedef struct
{
  int          n;
  const float *a;
  const float *b;
  float       *c;
} GemmJob;

static gpointer
gemm_thread (gpointer data)
{
  GemmJob *j = data;

  for (int rep = 0; rep < 20; rep++)
    pt_sgemm (FALSE, FALSE, j->n, j->n, j->n, 1.0f, j->a, j->n, j->b, j->n, 0.0f, j->c, j->n);
  return NULL;
}

/* Two threads calling sgemm at once get the results they would alone. */
static void
test_sgemm_concurrent (void)
{
  const int n = 160;   /* above the split threshold */
  g_autofree float *a = g_new (float, n * n);
  g_autofree float *b = g_new (float, n * n);
  g_autofree float *ref = g_new (float, n * n);
  g_autofree float *c1 = g_new (float, n * n);
  g_autofree float *c2 = g_new (float, n * n);
  GemmJob j1 = { n, a, b, c1 }, j2 = { n, b, a, c2 };
  GThread *t1, *t2;
  PtRng rng;

  pt_threads_set (2);
  pt_rng_init (&rng, 3);
  for (int i = 0; i < n * n; i++)
    {
      a[i] = pt_rng_normal (&rng);
      b[i] = pt_rng_normal (&rng);
    }
  t1 = g_thread_new ("gemm1", gemm_thread, &j1);
  t2 = g_thread_new ("gemm2", gemm_thread, &j2);
  g_thread_join (t1);
  g_thread_join (t2);
  for (int i = 0; i < n; i++)
    for (int k = 0; k < n; k++)
      {
        double s1 = 0.0, s2 = 0.0;

        for (int l = 0; l < n; l++)
          {
            s1 += (double) a[i * n + l] * b[l * n + k];
            s2 += (double) b[i * n + l] * a[l * n + k];
          }
        g_assert_cmpfloat (fabs (c1[i * n + k] - s1), <, 1e-3);
        g_assert_cmpfloat (fabs (c2[i * n + k] - s2), <, 1e-3);
      }
  /* Transpose flags. */
  pt_sgemm (TRUE, TRUE, n, n, n, 1.0f, a, n, b, n, 0.0f, ref, n);
  {
    double s = 0.0;

    for (int l = 0; l < n; l++)
      s += (double) a[l * n + 2] * b[5 * n + l];
    g_assert_cmpfloat (fabs (ref[2 * n + 5] - s), <, 1e-3);
  }
  pt_threads_set (1);
}

/* The split paths (rows, columns, every transpose combination, alpha and
 * beta) against a double reference, with 2 and 3 threads. */
static void
test_sgemm_split (void)
{
  /* split m, split n, small (no split), split k (k >= 4 max (m, n)) */
  const int shapes[][3] = { { 300, 40, 70 }, { 24, 500, 90 }, { 1000, 16, 9 }, { 17, 19, 23 },
                            { 64, 64, 2000 }, { 16, 144, 3000 }, { 40, 30, 50000 } };
  PtRng rng;

  pt_rng_init (&rng, 11);
  for (int nt = 2; nt <= 3; nt++)
    {
      pt_threads_set (nt);
      for (guint s = 0; s < G_N_ELEMENTS (shapes); s++)
        for (int ta = 0; ta < 2; ta++)
          for (int tb = 0; tb < 2; tb++)
            {
              int m = shapes[s][0], n = shapes[s][1], k = shapes[s][2];
              g_autofree float *a = g_new (float, m * k);
              g_autofree float *b = g_new (float, k * n);
              g_autofree float *c = g_new (float, m * n);
              g_autofree float *c0 = g_new (float, m * n);
              int lda = ta ? m : k, ldb = tb ? k : n;

              for (int i = 0; i < m * k; i++)
                a[i] = pt_rng_normal (&rng);
              for (int i = 0; i < k * n; i++)
                b[i] = pt_rng_normal (&rng);
              for (int i = 0; i < m * n; i++)
                c0[i] = c[i] = pt_rng_normal (&rng);
              pt_sgemm (ta, tb, m, n, k, 0.5f, a, lda, b, ldb, 2.0f, c, n);
              for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                  {
                    double sum = 0.0;

                    for (int l = 0; l < k; l++)
                      sum += (double) (ta ? a[l * lda + i] : a[i * lda + l])
                             * (tb ? b[j * ldb + l] : b[l * ldb + j]);
                    sum = 0.5 * sum + 2.0 * c0[i * n + j];
                    g_assert_cmpfloat (fabs (c[i * n + j] - sum), <=, 1e-3 + 1e-4 * fabs (sum));
                  }
            }
    }
  pt_threads_set (1);
}

/* pt_parallel_for_blas: each part runs its own pt_sgemm_serial on its rows
 * of one product, concurrently; every row against a double reference. */
typedef struct
{
  const float *a, *b;
  float       *c;
  int          m, n, k;
  gint         parts;
} BlasJob;

static void
blas_part_run (gsize    begin,
               gsize    end,
               gpointer data)
{
  BlasJob *j = data;

  for (gsize part = begin; part < end; part++)
    {
      int r0 = (int) ((gsize) j->m * part / 4), r1 = (int) ((gsize) j->m * (part + 1) / 4);

      pt_sgemm_serial (FALSE, TRUE, r1 - r0, j->n, j->k, 1.0f, j->a + (gsize) r0 * j->k, j->k,
                       j->b, j->k, 0.0f, j->c + (gsize) r0 * j->n, j->n);
      g_atomic_int_inc (&j->parts);
    }
}

static void
test_parallel_for_blas (void)
{
  int m = 403, n = 37, k = 150;
  g_autofree float *a = g_new (float, m * k);
  g_autofree float *b = g_new (float, n * k);
  g_autofree float *c = g_new (float, m * n);
  PtRng rng;

  pt_rng_init (&rng, 21);
  for (int i = 0; i < m * k; i++)
    a[i] = pt_rng_normal (&rng);
  for (int i = 0; i < n * k; i++)
    b[i] = pt_rng_normal (&rng);
  for (int nt = 1; nt <= 3; nt++)
    {
      BlasJob j = { a, b, c, m, n, k, 0 };

      pt_threads_set (nt);
      memset (c, 0xff, m * n * sizeof (float));   /* NaN: every row must be written */
      pt_parallel_for_blas (4, blas_part_run, &j);
      g_assert_cmpint (j.parts, ==, 4);
      for (int i = 0; i < m; i++)
        for (int q = 0; q < n; q++)
          {
            double sum = 0.0;

            for (int l = 0; l < k; l++)
              sum += (double) a[i * k + l] * b[q * k + l];
            g_assert_cmpfloat (fabs (c[i * n + q] - sum), <=, 1e-3 + 1e-4 * fabs (sum));
          }
    }
  pt_threads_set (1);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/parallel/cover", test_parallel_cover);
  g_test_add_func ("/core/parallel/sgemm-concurrent", test_sgemm_concurrent);
  g_test_add_func ("/core/parallel/sgemm-split", test_sgemm_split);
  g_test_add_func ("/core/parallel/for-blas", test_parallel_for_blas);
  return g_test_run ();
}
