/* test-method-deepcluster.c: the deepcluster method on `shapes`: a short real run raises the
 * cosine kNN accuracy of the frozen encoder (see pt-test-ssl.h), the same
 * seed gives the same losses, and the visuals are well formed. */
#include "pt-test-ssl.h"

static const PtTestSslRun run = { "deepcluster", 32, 8, 200, 0, 0.03, 0.0, { NULL } };

static const PtTestSslRun small_run = { "deepcluster", 16, 8, 2, 0, 0.0, 0.0, { "clusters", NULL }, { 4 } };

static void
test_visuals (void)
{
  PtTestShapes s;
  PtSslMethod *m;
  g_autoptr(GHashTable) v = pt_test_ssl_visuals (&small_run, 2, &m, &s);
  const float *sizes = g_hash_table_lookup (v, "cluster_sizes");
  const float *samples = g_hash_table_lookup (v, "cluster_samples");
  const float *nmi = g_hash_table_lookup (v, "nmi");
  double total = 0.0;

  /* 4 clusters of the 16 features banked at step 0 (clustered at once) */
  g_assert_nonnull (sizes);
  g_assert_nonnull (samples);
  g_assert_nonnull (nmi);
  for (int k = 0; k < 4; k++)
    {
      total += sizes[k];
      for (int j = 0; j < 8; j++)
        g_assert_true ((j < sizes[k]) == (samples[k * 8 + j] >= 0.0f));
    }
  g_assert_cmpfloat (total, ==, 16.0);
  g_assert_cmpfloat (nmi[0], >=, 0.0f);
  g_assert_cmpfloat (nmi[0], <=, 1.0f);
  pt_ssl_method_free (m);
  pt_test_shapes_close (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/core/method-deepcluster/knn-gain", &run, pt_test_ssl_behaviour);
  g_test_add_data_func ("/core/method-deepcluster/determinism", &run, pt_test_ssl_determinism);
  g_test_add_func ("/core/method-deepcluster/visuals", test_visuals);
  return g_test_run ();
}
