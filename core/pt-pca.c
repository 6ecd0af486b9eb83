/* pt-pca.c: PCA from the covariance matrix and LAPACK's ssyevd. */
#include "pt-pca.h"
#include "pt-eval-private.h"

#include <cblas.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-pca-error-quark, pt_pca_error)

PtPca *
pt_pca_fit (const float *x,
            int          n,
            int          d,
            int          n_components,
            GError     **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n < 2 || d < 1 || n_components < 1 || n_components > d)
    {
      g_set_error (error, PT_PCA_ERROR, PT_PCA_ERROR_INVALID,
                   _("Cannot compute %d principal components of %d points "
                     "with %d features"), n_components, n, d);
      return NULL;
    }

  g_autofree double *mean = g_new0 (double, d);
  for (int i = 0; i < n; i++)
    for (int j = 0; j < d; j++)
      mean[j] += x[(gsize) i * d + j];
  for (int j = 0; j < d; j++)
    mean[j] /= n;

  /* Centre by blocks and accumulate the covariance with sgemm. */
  const int block = 8192;
  g_autofree float *xc = g_new (float, (gsize) MIN (n, block) * d);
  g_autofree float *cov = g_new0 (float, (gsize) d * d);
  for (int b0 = 0; b0 < n; b0 += block)
    {
      int nb = MIN (block, n - b0);
      for (int i = 0; i < nb; i++)
        for (int j = 0; j < d; j++)
          xc[(gsize) i * d + j] = (float) (x[(gsize) (b0 + i) * d + j] - mean[j]);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, d, d, nb,
                   1.0f / (n - 1), xc, d, xc, d, 1.0f, cov, d);
    }

  g_autofree float *w = g_new (float, d);
  g_autofree float *vecs = g_new (float, (gsize) d * d);
  if (!_pt_symmetric_eigen (w, vecs, cov, d))
    {
      g_set_error (error, PT_PCA_ERROR, PT_PCA_ERROR_FAILED,
                   _("The eigen-decomposition of the %d x %d covariance "
                     "failed"), d, d);
      return NULL;
    }

  PtPca *pca = g_new0 (PtPca, 1);
  double total = 0.0;
  for (int j = 0; j < d; j++)
    total += MAX (w[j], 0.0f);
  pca->dim = d;
  pca->n_components = n_components;
  pca->mean = g_new (float, d);
  for (int j = 0; j < d; j++)
    pca->mean[j] = (float) mean[j];
  pca->components = g_memdup2 (vecs, sizeof (float) * n_components * d);
  pca->explained_variance = g_new (double, n_components);
  pca->explained_variance_ratio = g_new (double, n_components);
  for (int c = 0; c < n_components; c++)
    {
      pca->explained_variance[c] = MAX (w[c], 0.0f);
      pca->explained_variance_ratio[c] = total > 0.0 ? MAX (w[c], 0.0f) / total : 0.0;
    }
  return pca;
}

void
pt_pca_transform (const PtPca *pca,
                  float       *out,
                  const float *x,
                  int          n)
{
  g_return_if_fail (pca != NULL && out != NULL && x != NULL);

  int d = pca->dim, k = pca->n_components;
  const int block = 8192;
  g_autofree float *xc = g_new (float, (gsize) MAX (MIN (n, block), 1) * d);

  for (int b0 = 0; b0 < n; b0 += block)
    {
      int nb = MIN (block, n - b0);
      for (int i = 0; i < nb; i++)
        for (int j = 0; j < d; j++)
          xc[(gsize) i * d + j] = x[(gsize) (b0 + i) * d + j] - pca->mean[j];
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nb, k, d,
                   1.0f, xc, d, pca->components, d, 0.0f,
                   out + (gsize) b0 * k, k);
    }
}

void
pt_pca_free (PtPca *pca)
{
  if (pca == NULL)
    return;
  g_free (pca->mean);
  g_free (pca->components);
  g_free (pca->explained_variance);
  g_free (pca->explained_variance_ratio);
  g_free (pca);
}
