/* test-method-rotnet.c: the rotnet method on `shapes`: a short real run raises the
 * cosine kNN accuracy of the frozen encoder (see pt-test-ssl.h), the same
 * seed gives the same losses, and the visuals are well formed. */
#include "pt-test-ssl.h"

/* observed at this setting: kNN 0.112 -> 0.153 (+4.1 points); required: +2 */
static const PtTestSslRun run = { "rotnet", 32, 8, 200, 0, 0.02, 0.0, { NULL } };

static void
test_visuals (void)
{
  PtTestShapes s;
  PtSslMethod *m;
  g_autoptr(GHashTable) v = pt_test_ssl_visuals (&run, 2, &m, &s);
  const float *conf = g_hash_table_lookup (v, "confusion");
  const float *ent = g_hash_table_lookup (v, "ambiguous_entropy");
  const float *rot = g_hash_table_lookup (v, "ambiguous_rotation");

  /* 16 images x 4 rotations: each true rotation is a row of 16 */
  for (int r = 0; r < 4; r++)
    {
      double row = 0.0;

      for (int c = 0; c < 4; c++)
        row += conf[r * 4 + c];
      g_assert_cmpfloat (row, ==, 16.0);
    }
  for (int i = 0; i < 8; i++)
    {
      g_assert_cmpfloat (ent[i], <=, logf (4.0f) + 1e-5f);
      g_assert_true (rot[i] == 0 || rot[i] == 90 || rot[i] == 180 || rot[i] == 270);
      if (i > 0)
        g_assert_cmpfloat (ent[i], <=, ent[i - 1]);
    }
  pt_ssl_method_free (m);
  pt_test_shapes_close (&s);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/core/method-rotnet/knn-gain", &run, pt_test_ssl_behaviour);
  g_test_add_data_func ("/core/method-rotnet/determinism", &run, pt_test_ssl_determinism);
  g_test_add_func ("/core/method-rotnet/visuals", test_visuals);
  return g_test_run ();
}
