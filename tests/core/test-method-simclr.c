/* test-method-simclr.c: the simclr method on `shapes`: a short real run raises the
 * cosine kNN accuracy of the frozen encoder (see pt-test-ssl.h), the same
 * seed gives the same losses, and the visuals are well formed. */
#include "pt-test-ssl.h"

/* Setting: batch 32, width 8, 800 steps, the `simclr` recipe with crops
 * of 0.3-1 (not 0.08: a crop that misses the shape has nothing to match)
 * and, test-only, every view grey (pt_test_recipe_grey: why it is needed
 * on shapes is said there), temperature 0.2 (the default is 0.5) and
 * weight decay 1e-4 (the default is 5e-4 since the Fashion-MNIST search
 * in docs/methods.md; at 5e-4 this run reaches 0.112 -> 0.172, z 3.83:
 * it learns, more slowly, and the margins below were set at 1e-4) and
 * no batchnorm in the projector (projector_bn 0; the default is 1 since
 * the Fashion-MNIST runs of 2026-12-08, docs/methods.md; at batch 32 this
 * run with it reaches 0.112 -> 0.162, z 3.27: it learns, more slowly).
 * With the recipe's own colours (grayscale p = 0.2), 300 steps gave kNN
 * 0.112 -> 0.122 (z 0.72) and the loss stayed near chance (4.06 -> 3.99):
 * colour was learned, not shape. Grey views also need the steps: at 300
 * the loss has not left chance (4.125 -> 4.097, kNN 0.165, z 3.55); at
 * 800 it falls and the kNN accuracy with it.
 *
 * Margin. Observed, on the 1000 test queries (see pt-test-ssl.h):
 *   seeds 7/11 (the test's): kNN 0.112 -> 0.260, 226 queries turned right
 *     and 78 wrong, paired z = 8.49; loss 4.126 -> 3.712 (2026-12-08;
 *     0.240, z 7.39 when the margins were set, 2026-11-23);
 *   seeds 8/12:              kNN 0.134 -> 0.309, z = 9.37; loss 4.134 -> 3.735
 *     (2026-11-23).
 * Required: +8 points, z >= 4, and a final loss below 3.9 (chance, every
 * similarity equal, is ln 63 = 4.143 at batch 32). */
static const PtTestSslRun run = { "simclr", 32, 8, 800, 0, 0.08, 0.3, { "temperature", "weight_decay", "projector_bn" },
                                  { 0.2, 1e-4, 0 },
                                  4.0, FALSE, pt_test_recipe_grey, 3.9 };

static void
test_visuals (void)
{
  PtTestShapes s;
  PtSslMethod *m;
  g_autoptr(GHashTable) v = pt_test_ssl_visuals (&run, 2, &m, &s);
  const float *sim = g_hash_table_lookup (v, "similarity");
  const float *pos = g_hash_table_lookup (v, "positive_index");
  const float *soft = g_hash_table_lookup (v, "probe_softmax");
  double total = 0.0;

  /* batch 16: the first 16 images, 2 views each -> 32 x 32 */
  g_assert_nonnull (sim);
  g_assert_nonnull (pos);
  g_assert_nonnull (soft);
  for (int i = 0; i < 32; i++)
    {
      g_assert_cmpfloat_with_epsilon (sim[i * 32 + i], 1.0, 1e-5);
      g_assert_cmpfloat (pos[i], ==, (i + 16) % 32);
      for (int j = 0; j < 32; j++)
        {
          g_assert_cmpfloat_with_epsilon (sim[i * 32 + j], sim[j * 32 + i], 1e-6);
          g_assert_cmpfloat (fabsf (sim[i * 32 + j]), <=, 1.0f + 1e-5f);
        }
      total += soft[i];
    }
  g_assert_cmpfloat (soft[0], ==, 0.0f);   /* probe row 0 excludes itself */
  g_assert_cmpfloat_with_epsilon (total, 1.0, 1e-5);
  pt_ssl_method_free (m);
  pt_test_shapes_close (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/core/method-simclr/knn-gain", &run, pt_test_ssl_behaviour);
  g_test_add_data_func ("/core/method-simclr/determinism", &run, pt_test_ssl_determinism);
  g_test_add_func ("/core/method-simclr/visuals", test_visuals);
  return g_test_run ();
}
