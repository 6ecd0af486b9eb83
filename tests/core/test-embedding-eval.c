/* Tests for pt-embedding-eval: leave-one-out kNN on a case worked by hand
 * (unlabeled rows neither vote nor count), the seeded probe split, and the
 * refusals. */
#include <math.h>
#include <glib/gstdio.h>

#include "pt-embedding-eval.h"
#include "pt-npy.h"
#include "pt-test-files.h"

static PtEmbeddingSet *
make_set (const char  *dir,
          const float *x,
          int          n,
          int          d,
          const char  *labels)
{
  g_autofree char *npy = g_build_filename (dir, "x.npy", NULL);
  g_autofree char *txt = g_build_filename (dir, "labels.txt", NULL);
  g_autoptr(GError) error = NULL;
  PtEmbeddingSet *set;

  g_assert_true (pt_npy_save_f32 (npy, x, n, d, &error));
  g_assert_no_error (error);
  if (labels != NULL)
    g_assert_true (g_file_set_contents (txt, labels, -1, NULL));
  set = pt_embedding_set_load (npy, labels != NULL ? txt : NULL, NULL, &error);
  g_assert_no_error (error);
  return set;
}

static void
test_knn_by_hand (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  /* a, b near (1, 0); c, d near (0, 1); e next to a but unlabeled */
  const float x[] = { 1, 0,   0.99f, 0.14f,   0, 1,   0.14f, 0.99f,   1, 0.01f };
  g_autoptr(PtEmbeddingSet) good = make_set (dir, x, 5, 2, "0\n0\n1\n1\n-1\n");
  g_autoptr(PtEmbeddingSet) swapped = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree int *rows = NULL;
  double acc = -1;
  int n = 0;

  rows = pt_embedding_set_labeled_rows (good, &n);
  g_assert_cmpint (n, ==, 4);
  g_assert_cmpint (rows[3], ==, 3);
  g_assert_true (pt_embedding_set_knn_accuracy (good, 1, 0.07, &acc, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (acc, ==, 1.0);

  /* d labeled 0: c's nearest labeled row is d (wrong), d's is c (wrong) */
  swapped = make_set (dir, x, 5, 2, "0\n0\n1\n0\n-1\n");
  g_assert_true (pt_embedding_set_knn_accuracy (swapped, 1, 0.07, &acc, NULL, &error));
  g_assert_cmpfloat (acc, ==, 0.5);
  /* k larger than the rows: capped, still a number in [0, 1] */
  g_assert_true (pt_embedding_set_knn_accuracy (swapped, 50, 0.07, &acc, NULL, &error));
  g_assert_cmpfloat (acc, >=, 0.0);
  g_assert_cmpfloat (acc, <=, 1.0);
  pt_test_rm_rf (dir);
}

static void
test_probe_split (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GString) labels = g_string_new (NULL);
  g_autoptr(PtEmbeddingSet) set = NULL;
  g_autoptr(PtProbeResult) a = NULL;
  g_autoptr(PtProbeResult) b = NULL;
  g_autoptr(GError) error = NULL;
  float x[40 * 3];
  double acc;

  /* three classes on three axes, one row unlabeled */
  for (int i = 0; i < 40; i++)
    {
      for (int j = 0; j < 3; j++)
        x[i * 3 + j] = (j == i % 3 ? 1.0f : 0.0f) + 0.01f * (float) ((i * 7 + j * 3) % 5);
      g_string_append_printf (labels, "%d\n", i == 39 ? -1 : i % 3);
    }
  set = make_set (dir, x, 40, 3, labels->str);
  a = pt_embedding_set_probe (set, 4, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (a->n_test, ==, 39 / 5);
  g_assert_cmpint (a->n_train, ==, 39 - 39 / 5);
  g_assert_cmpfloat (a->report->accuracy, ==, 1.0);
  b = pt_embedding_set_probe (set, 4, NULL, &error);
  g_assert_cmpmem (a->pred, a->n_test * sizeof (int), b->pred, b->n_test * sizeof (int));
  g_assert_true (pt_embedding_set_knn_accuracy (set, 5, 0.07, &acc, NULL, &error));
  g_assert_cmpfloat (acc, ==, 1.0);
  pt_test_rm_rf (dir);
}

static void
test_refused (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  const float x[] = { 1, 0, 0, 1, 1, 1 };
  g_autoptr(PtEmbeddingSet) unlabeled = make_set (dir, x, 3, 2, NULL);
  g_autoptr(PtEmbeddingSet) one = make_set (dir, x, 3, 2, "0\n-1\n-1\n");
  g_autoptr(GError) error = NULL;
  double acc = -1;

  g_assert_false (pt_embedding_set_knn_accuracy (unlabeled, 3, 0.07, &acc, NULL, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_false (pt_embedding_set_knn_accuracy (one, 3, 0.07, &acc, NULL, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_null (pt_embedding_set_probe (one, 0, NULL, &error));
  g_assert_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID);
  g_assert_cmpfloat (acc, ==, -1);
  pt_test_rm_rf (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/embedding-eval/knn-by-hand", test_knn_by_hand);
  g_test_add_func ("/core/embedding-eval/probe-split", test_probe_split);
  g_test_add_func ("/core/embedding-eval/refused", test_refused);
  return g_test_run ();
}
