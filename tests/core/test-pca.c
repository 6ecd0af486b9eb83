/* Tests for PCA. */
#include <gio/gio.h>
#include <math.h>

#include "pt-pca.h"
#include "eval-test-util.h"

/* The four points (+-a, +-b) have covariance diag(4a^2/3, 4b^2/3) with
 * n - 1 = 3; rotated by 30 degrees the components rotate with them. */
static void
test_pca_known_covariance (void)
{
  const double a = 3.0, b = 1.0, th = G_PI / 6.0;
  const double cs = cos (th), sn = sin (th);
  float x[8];
  const int signs[4][2] = { { 1, 1 }, { 1, -1 }, { -1, 1 }, { -1, -1 } };
  g_autoptr(GError) error = NULL;

  for (int i = 0; i < 4; i++)
    {
      double u = signs[i][0] * a, v = signs[i][1] * b;
      x[2 * i] = (float) (cs * u - sn * v + 10.0);
      x[2 * i + 1] = (float) (sn * u + cs * v - 5.0);
    }
  g_autoptr(PtPca) pca = pt_pca_fit (x, 4, 2, 2, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat_with_epsilon (pca->mean[0], 10.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (pca->mean[1], -5.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (pca->explained_variance[0], 4.0 * a * a / 3.0, 1e-4);
  g_assert_cmpfloat_with_epsilon (pca->explained_variance[1], 4.0 * b * b / 3.0, 1e-4);
  g_assert_cmpfloat_with_epsilon (pca->explained_variance_ratio[0], 0.9, 1e-5);
  /* First component along (cos, sin) up to sign. */
  g_assert_cmpfloat_with_epsilon (fabs (pca->components[0] * cs + pca->components[1] * sn), 1.0, 1e-5);
  g_assert_cmpfloat_with_epsilon (fabs (pca->components[2] * -sn + pca->components[3] * cs), 1.0, 1e-5);

  float proj[8];
  pt_pca_transform (pca, proj, x, 4);
  for (int i = 0; i < 4; i++)
    {
      g_assert_cmpfloat_with_epsilon (fabs (proj[2 * i]), a, 1e-4);
      g_assert_cmpfloat_with_epsilon (fabs (proj[2 * i + 1]), b, 1e-4);
    }
}

static void
test_pca_sklearn_fixture (void)
{
  JsonObject *o = eval_fixture ("pca");
  int n = (int) json_object_get_int_member (o, "n");
  int d = (int) json_object_get_int_member (o, "dim");
  int k = (int) json_object_get_int_member (o, "n_components");
  g_autofree float *x = fixture_floats (o, "x", NULL);
  g_autofree double *comp = fixture_doubles (o, "components", NULL);
  g_autofree double *var = fixture_doubles (o, "explained_variance", NULL);
  g_autofree double *ratio = fixture_doubles (o, "explained_variance_ratio", NULL);
  g_autofree double *proj_ref = fixture_doubles (o, "projection_first5", NULL);
  g_autoptr(GError) error = NULL;

  g_autoptr(PtPca) pca = pt_pca_fit (x, n, d, k, &error);
  g_assert_no_error (error);
  g_autofree float *proj = g_new (float, 5 * k);
  pt_pca_transform (pca, proj, x, 5);
  for (int c = 0; c < k; c++)
    {
      g_assert_cmpfloat (fabs (pca->explained_variance[c] - var[c]), <=, 1e-4 * var[0]);
      g_assert_cmpfloat (fabs (pca->explained_variance_ratio[c] - ratio[c]), <=, 1e-5);
      /* Signs are a convention: align on the first component entry. */
      double dotp = 0.0;
      for (int j = 0; j < d; j++)
        dotp += pca->components[c * d + j] * comp[c * d + j];
      double sign = dotp < 0.0 ? -1.0 : 1.0;
      for (int j = 0; j < d; j++)
        g_assert_cmpfloat (fabs (sign * pca->components[c * d + j] - comp[c * d + j]), <=, 1e-4);
      for (int i = 0; i < 5; i++)
        g_assert_cmpfloat (fabs (sign * proj[i * k + c] - proj_ref[i * k + c]), <=,
                           1e-3 * MAX (1.0, fabs (proj_ref[i * k + c])));
    }
}

static void
test_pca_invalid (void)
{
  float x[6] = { 1, 2, 3, 4, 5, 6 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtPca) pca = pt_pca_fit (x, 3, 2, 3, &error);
  g_assert_null (pca);
  g_assert_error (error, PT_PCA_ERROR, PT_PCA_ERROR_INVALID);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/pca/known-covariance", test_pca_known_covariance);
  g_test_add_func ("/core/pca/sklearn-fixture", test_pca_sklearn_fixture);
  g_test_add_func ("/core/pca/invalid", test_pca_invalid);
  return g_test_run ();
}
