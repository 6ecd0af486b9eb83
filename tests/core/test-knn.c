/* Tests for cosine nearest neighbours and the weighted kNN classifier. */
#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "pt-knn.h"
#include "pt-threads.h"
#include "eval-test-util.h"

typedef struct
{
  double sim;
  int    idx;
} Pair;

static int
cmp_pair_desc (gconstpointer a, gconstpointer b)
{
  const Pair *x = a, *y = b;
  if (x->sim != y->sim)
    return x->sim < y->sim ? 1 : -1;
  return (x->idx > y->idx) - (x->idx < y->idx);
}

/* Brute force in double: all similarities of query q, sorted. */
static Pair *
brute_force (const float *train, int n, const float *query, int d)
{
  Pair *p = g_new (Pair, n);
  double qn = 0.0;

  for (int j = 0; j < d; j++)
    qn += (double) query[j] * query[j];
  for (int i = 0; i < n; i++)
    {
      double dot = 0.0, tn = 0.0;
      for (int j = 0; j < d; j++)
        {
          dot += (double) train[i * d + j] * query[j];
          tn += (double) train[i * d + j] * train[i * d + j];
        }
      p[i].sim = dot / sqrt (qn * tn);
      p[i].idx = i;
    }
  qsort (p, n, sizeof (Pair), cmp_pair_desc);
  return p;
}

static int
brute_vote (const Pair *p, const int *labels, int n_classes, int k, double t)
{
  double votes[16] = { 0 };
  int best = 0;

  g_assert_cmpint (n_classes, <=, 16);
  for (int j = 0; j < k; j++)
    votes[labels[p[j].idx]] += exp (p[j].sim / t);
  for (int c = 1; c < n_classes; c++)
    if (votes[c] > votes[best])
      best = c;
  return best;
}

static void
test_knn_brute_force (void)
{
  const int n = 3000, nq = 300, d = 24, n_classes = 6, kmax = 200;
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autofree float *train = g_new (float, n * d);
  g_autofree float *queries = g_new (float, nq * d);
  g_autofree int *labels = g_new (int, n);
  g_autofree int *qlabels = g_new (int, nq);
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < n * d; i++)
    train[i] = (float) gauss (rand);
  for (int i = 0; i < nq * d; i++)
    queries[i] = (float) gauss (rand);
  for (int i = 0; i < n; i++)
    labels[i] = g_rand_int_range (rand, 0, n_classes);
  for (int i = 0; i < nq; i++)
    qlabels[i] = g_rand_int_range (rand, 0, n_classes);

  g_autoptr(PtKnnIndex) index = pt_knn_index_new (train, n, d);
  g_autoptr(PtKnnCache) cache = pt_knn_cache_new (index, queries, nq, kmax, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cache->k_max, ==, kmax);

  g_autofree int *pred = g_new (int, nq);
  g_autofree int *pred2 = g_new (int, nq);
  g_autofree float *scores = g_new (float, nq * n_classes);
  pt_knn_cache_predict (cache, labels, n_classes, 20, 0.07, pred, scores);
  pt_knn_cache_predict (cache, labels, n_classes, 5, 0.5, pred2, NULL);

  int mismatched_votes = 0;
  for (int q = 0; q < nq; q++)
    {
      g_autofree Pair *ref = brute_force (train, n, queries + q * d, d);
      const int *ci = cache->idx + q * kmax;
      const float *cs = cache->sim + q * kmax;
      for (int j = 0; j < kmax; j++)
        {
          g_assert_cmpfloat (fabs (cs[j] - ref[j].sim), <=, 1e-5);
          /* Same item unless two similarities are within float noise. */
          if (ci[j] != ref[j].idx)
            {
              double gap_prev = j > 0 ? ref[j - 1].sim - ref[j].sim : 1.0;
              double gap_next = j + 1 < n ? ref[j].sim - ref[j + 1].sim : 1.0;
              g_assert_cmpfloat (MIN (gap_prev, gap_next), <=, 1e-5);
            }
          if (j > 0)
            g_assert_cmpfloat (cs[j], <=, cs[j - 1]);
        }
      /* The votes from the cache agree with brute force for both (k, T). */
      mismatched_votes += pred[q] != brute_vote (ref, labels, n_classes, 20, 0.07);
      mismatched_votes += pred2[q] != brute_vote (ref, labels, n_classes, 5, 0.5);
      double s = 0.0;
      for (int c = 0; c < n_classes; c++)
        s += scores[q * n_classes + c];
      g_assert_cmpfloat_with_epsilon (s, 1.0, 1e-5);
      g_assert_cmpfloat (scores[q * n_classes + pred[q]], >=, 1.0 / n_classes);
    }
  g_assert_cmpint (mismatched_votes, ==, 0);

  /* Re-scoring from the cache gives a report consistent with pred. */
  g_autoptr(PtClassReport) rep = pt_knn_cache_evaluate (cache, labels, qlabels, n_classes, 5, 0.5);
  int correct = 0;
  for (int q = 0; q < nq; q++)
    correct += pred2[q] == qlabels[q];
  g_assert_cmpint (rep->n_correct, ==, correct);
}

static void
test_knn_clusters (void)
{
  const int n = 1000, nq = 200, d = 32, k = 4;
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *y = g_new (int, n);
  g_autofree float *xq = g_new (float, nq * d);
  g_autofree int *yq = g_new (int, nq);
  g_autoptr(GError) error = NULL;

  make_clusters (x, y, n, d, k, 3.0, 0.5, 11);
  make_clusters (xq, yq, nq, d, k, 3.0, 0.5, 11);
  g_autoptr(PtKnnIndex) index = pt_knn_index_new (x, n, d);
  g_autoptr(PtKnnCache) cache = pt_knn_cache_new (index, xq, nq, 200, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(PtClassReport) rep = pt_knn_cache_evaluate (cache, y, yq, k, 20, 0.07);
  g_assert_cmpfloat (rep->accuracy, ==, 1.0);
}

static void
test_knn_neighbours (void)
{
  const int n = 500, d = 8, k = 10;
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autofree float *x = g_new (float, n * d);
  int idx[10];
  float sim[10];

  for (int i = 0; i < n * d; i++)
    x[i] = (float) gauss (rand);
  g_autoptr(PtKnnIndex) index = pt_knn_index_new (x, n, d);
  pt_knn_index_neighbours (index, 42, k, idx, sim);
  g_autofree Pair *ref = brute_force (x, n, x + 42 * d, d);
  g_assert_cmpint (ref[0].idx, ==, 42); /* itself first in brute force */
  for (int j = 0; j < k; j++)
    {
      g_assert_cmpint (idx[j], !=, 42);
      g_assert_cmpint (idx[j], ==, ref[j + 1].idx);
      g_assert_cmpfloat (fabs (sim[j] - ref[j + 1].sim), <=, 1e-5);
    }

  /* Asking for more neighbours than items: the tail is marked empty. */
  g_autoptr(PtKnnIndex) small = pt_knn_index_new (x, 3, d);
  pt_knn_index_neighbours (small, 0, 4, idx, sim);
  g_assert_cmpint (idx[0], >=, 1);
  g_assert_cmpint (idx[1], >=, 1);
  g_assert_cmpint (idx[2], ==, -1);
  g_assert_true (isinf (sim[3]) && sim[3] < 0);
}

/* Random data full of exact ties (each training row is one of 150 base
 * vectors, so many items share a similarity), over several query blocks
 * and index tiles: the result is the brute-force top k, sorted by
 * similarity then index, and of tied items the lowest indices are kept;
 * one and two threads give the same bits. */
static void
test_knn_ties (void)
{
  const int n = 3000, nq = 300, d = 12, n_base = 150, k = 200;
  g_autoptr(GRand) rand = g_rand_new_with_seed (17);
  g_autofree float *base = g_new (float, n_base * d);
  g_autofree float *x = g_new (float, n * d);
  g_autofree int *which = g_new (int, n);
  g_autofree float *xq = g_new (float, nq * d);
  g_autofree int *exclude = g_new (int, nq);
  g_autofree int *idx1 = g_new (int, nq * k), *idx2 = g_new (int, nq * k);
  g_autofree float *sim1 = g_new (float, nq * k), *sim2 = g_new (float, nq * k);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtKnnIndex) index = NULL;

  for (int i = 0; i < n_base * d; i++)
    base[i] = (float) gauss (rand);
  for (int i = 0; i < n; i++)
    {
      which[i] = g_rand_int_range (rand, 0, n_base);
      memcpy (x + i * d, base + which[i] * d, d * sizeof (float));
    }
  for (int i = 0; i < nq * d; i++)
    xq[i] = (float) gauss (rand);
  for (int q = 0; q < nq; q++)
    exclude[q] = q % 3 == 0 ? g_rand_int_range (rand, 0, n) : -1;
  index = pt_knn_index_new (x, n, d);

  pt_threads_set (1);
  g_assert_true (pt_knn_index_search (index, xq, nq, k, exclude, idx1, sim1, NULL, &error));
  g_assert_no_error (error);
  pt_threads_set (2);
  g_assert_true (pt_knn_index_search (index, xq, nq, k, exclude, idx2, sim2, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (idx1, nq * k * sizeof (int), idx2, nq * k * sizeof (int));
  g_assert_cmpmem (sim1, nq * k * sizeof (float), sim2, nq * k * sizeof (float));

  for (int q = 0; q < nq; q++)
    {
      const int *qi = idx2 + q * k;
      const float *qs = sim2 + q * k;
      g_autofree Pair *ref = brute_force (x, n, xq + q * d, d);
      g_autofree gboolean *in = g_new0 (gboolean, n);
      int r = 0;

      for (int j = 0; j < k; j++)
        {
          g_assert_cmpint (qi[j], >=, 0);
          g_assert_cmpint (qi[j], <, n);
          g_assert_cmpint (qi[j], !=, exclude[q]);
          g_assert_false (in[qi[j]]);
          in[qi[j]] = TRUE;
          if (j > 0)
            g_assert_true (qs[j - 1] > qs[j] || (qs[j - 1] == qs[j] && qi[j - 1] < qi[j]));
        }
      for (int j = 0; j < k; j++)
        {
          /* the true top k by value (brute force in double, the excluded item skipped) */
          if (ref[r].idx == exclude[q])
            r++;
          g_assert_cmpfloat (fabs (qs[j] - ref[r].sim), <=, 1e-5);
          r++;
        }
      for (int j = 0; j < k; j++)
        for (int a = 0; a < qi[j]; a++)
          /* a lower-index duplicate of a kept item is kept too */
          if (which[a] == which[qi[j]] && a != exclude[q])
            g_assert_true (in[a]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (2);
  g_test_add_func ("/core/knn/brute-force", test_knn_brute_force);
  g_test_add_func ("/core/knn/clusters", test_knn_clusters);
  g_test_add_func ("/core/knn/neighbours", test_knn_neighbours);
  g_test_add_func ("/core/knn/ties", test_knn_ties);
  return g_test_run ();
}
