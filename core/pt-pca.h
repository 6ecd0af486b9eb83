/* pt-pca.h: principal component analysis by LAPACK (covariance + ssyevd). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PT_PCA_ERROR (pt_pca_error_quark ())
typedef enum
{
  PT_PCA_ERROR_INVALID,
  PT_PCA_ERROR_FAILED,
} PtPcaError;
GQuark pt_pca_error_quark (void);

typedef struct
{
  int     dim;
  int     n_components;
  float  *mean;                     /* dim */
  float  *components;               /* n_components x dim, unit rows; the
                                     * largest-magnitude entry of each row
                                     * is positive */
  double *explained_variance;       /* n_components (divided by n - 1) */
  double *explained_variance_ratio; /* n_components: share of the total */
} PtPca;

/* Fits on x (n x d, n >= 2); n_components in [1, d]. */
PtPca *pt_pca_fit       (const float *x,
                         int          n,
                         int          d,
                         int          n_components,
                         GError     **error);
/* out (n x n_components) = (x - mean) components^T. */
void   pt_pca_transform (const PtPca *pca,
                         float       *out,
                         const float *x,
                         int          n);
void   pt_pca_free      (PtPca       *pca);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtPca, pt_pca_free)

G_END_DECLS
