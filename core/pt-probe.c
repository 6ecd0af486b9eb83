/* pt-probe.c: standardization, multinomial logistic regression, the probe. */
#include "pt-probe.h"
#include "pt-eval-private.h"
#include "pt-threads.h"

#include <cblas.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-probe-error-quark, pt_probe_error)

/* ---- standardization ---- */

PtStandardizer *
pt_standardizer_fit (const float *x,
                     int          n,
                     int          d)
{
  g_return_val_if_fail (x != NULL && n > 0 && d > 0, NULL);

  PtStandardizer *std = g_new0 (PtStandardizer, 1);
  g_autofree double *sum = g_new0 (double, d);
  g_autofree double *sq = g_new0 (double, d);

  std->dim = d;
  std->mean = g_new (float, d);
  std->scale = g_new (float, d);
  for (int i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      for (int j = 0; j < d; j++)
        sum[j] += xi[j];
    }
  for (int j = 0; j < d; j++)
    sum[j] /= n;
  /* Two passes: the variance of features with a large mean stays exact. */
  for (int i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      for (int j = 0; j < d; j++)
        {
          double c = xi[j] - sum[j];
          sq[j] += c * c;
        }
    }
  for (int j = 0; j < d; j++)
    {
      double sd = sqrt (sq[j] / n);
      std->mean[j] = (float) sum[j];
      std->scale[j] = sd > 1e-12 ? (float) (1.0 / sd) : 1.0f;
    }
  return std;
}

void
pt_standardizer_apply (const PtStandardizer *std,
                       float                *out,
                       const float          *x,
                       int                   n)
{
  g_return_if_fail (std != NULL && out != NULL && x != NULL);

  int d = std->dim;
  for (int i = 0; i < n; i++)
    {
      const float *xi = x + (gsize) i * d;
      float *oi = out + (gsize) i * d;
      for (int j = 0; j < d; j++)
        oi[j] = (xi[j] - std->mean[j]) * std->scale[j];
    }
}

void
pt_standardizer_free (PtStandardizer *std)
{
  if (std == NULL)
    return;
  g_free (std->mean);
  g_free (std->scale);
  g_free (std);
}

/* ---- linear model ---- */

PtLinearModel *
pt_linear_model_new (int dim,
                     int n_classes)
{
  g_return_val_if_fail (dim > 0 && n_classes > 0, NULL);

  PtLinearModel *model = g_new0 (PtLinearModel, 1);
  model->dim = dim;
  model->n_classes = n_classes;
  model->weight = g_new0 (float, (gsize) dim * n_classes);
  model->bias = g_new0 (float, n_classes);
  return model;
}

void
pt_linear_model_free (PtLinearModel *model)
{
  if (model == NULL)
    return;
  g_free (model->weight);
  g_free (model->bias);
  g_free (model);
}

static void
logits_forward (float       *logits,
                const float *x,
                const float *weight,
                const float *bias,
                int          n,
                int          d,
                int          k)
{
  for (int i = 0; i < n; i++)
    memcpy (logits + (gsize) i * k, bias, sizeof (float) * k);
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, k, d,
               1.0f, x, d, weight, k, 1.0f, logits, k);
}

void
pt_linear_model_logits (const PtLinearModel *model,
                        float               *logits,
                        const float         *x,
                        int                  n)
{
  g_return_if_fail (model != NULL && logits != NULL && x != NULL);

  if (n > 0)
    logits_forward (logits, x, model->weight, model->bias, n, model->dim,
                    model->n_classes);
}

void
pt_linear_model_predict (const PtLinearModel *model,
                         int                 *pred,
                         const float         *x,
                         int                  n)
{
  g_return_if_fail (model != NULL && pred != NULL && x != NULL);

  int k = model->n_classes;
  const int block = 4096;
  g_autofree float *logits = g_new (float, (gsize) MIN (n, block) * k + 1);

  for (int b0 = 0; b0 < n; b0 += block)
    {
      int nb = MIN (block, n - b0);
      logits_forward (logits, x + (gsize) b0 * model->dim, model->weight,
                      model->bias, nb, model->dim, k);
      for (int i = 0; i < nb; i++)
        {
          const float *zi = logits + (gsize) i * k;
          int best = 0;
          for (int c = 1; c < k; c++)
            if (zi[c] > zi[best])
              best = c;
          pred[b0 + i] = best;
        }
    }
}

/* ---- loss ---- */

/* The objective is one fused pass per row (logits, softmax, gradient outer
 * product) on our own threads. With K ~ 10 classes, two skinny sgemm calls
 * spend their time packing the N x D matrix twice per evaluation and
 * synchronizing OpenBLAS threads; the fused pass reads each row once.
 * The pass is compiled twice, for baseline x86-64 and for AVX2 + FMA,
 * and picked at run time. */

#define LOGREG_MAX_CLASSES 64
#define LOGREG_FLUSH_ROWS  256

/* GCC / Clang vector extensions: 8 independent lanes, so the dot product
 * vectorizes without -ffast-math. */
typedef float PtV8f __attribute__ ((vector_size (32)));

typedef struct
{
  const float *x;
  const int   *labels;
  const float *wt;    /* K x D (transposed weights), D padded to dp */
  const float *bias;
  int          n, d, dp, k;
  gboolean     want_grad;
  int          n_chunks;
  double      *dwt;   /* n_chunks x K x dp */
  double      *db;    /* n_chunks x K */
  double      *loss;  /* n_chunks */
} LogregJob;

typedef int PtV8i __attribute__ ((vector_size (32)));

#ifdef __clang__
#define PT_SHUFFLE2(a, b, ...) __builtin_shufflevector (a, b, __VA_ARGS__)
#else
#define PT_SHUFFLE2(a, b, ...) __builtin_shuffle (a, b, (PtV8i) { __VA_ARGS__ })
#endif

/* The lane sums of v[0..8) (out[r]: sum of v[r]), by a
 * transpose-and-add in three rounds instead of eight horizontal sums. */
static inline __attribute__ ((always_inline)) void
hsum8 (float       *out,
       const PtV8f *v)
{
  PtV8f p[4], q[2], r;

  for (int i = 0; i < 4; i++)
    p[i] = PT_SHUFFLE2 (v[2 * i], v[2 * i + 1], 0, 8, 2, 10, 4, 12, 6, 14) +
           PT_SHUFFLE2 (v[2 * i], v[2 * i + 1], 1, 9, 3, 11, 5, 13, 7, 15);
  /* p[i] lanes: rows 2i, 2i+1 alternating, four partial sums each */
  for (int i = 0; i < 2; i++)
    q[i] = PT_SHUFFLE2 (p[2 * i], p[2 * i + 1], 0, 1, 8, 9, 4, 5, 12, 13) +
           PT_SHUFFLE2 (p[2 * i], p[2 * i + 1], 2, 3, 10, 11, 6, 7, 14, 15);
  /* q[i] lanes: rows 4i..4i+3, then the same rows again (two halves) */
  r = PT_SHUFFLE2 (q[0], q[1], 0, 1, 2, 3, 8, 9, 10, 11) +
      PT_SHUFFLE2 (q[0], q[1], 4, 5, 6, 7, 12, 13, 14, 15);
  memcpy (out, &r, sizeof r);
}

/* Lane-wise max (b when either is NaN). */
#define V8_MAX(a, b) \
  ((PtV8f) (((PtV8i) (a) & (PtV8i) ((a) > (b))) | ((PtV8i) (b) & ~(PtV8i) ((a) > (b)))))

/* exp (x) for x <= 0, lane-wise: Cephes' expf (range reduction by ln 2 in
 * two parts, degree-6 polynomial, relative error about 1e-7), flushed to 0
 * below -87 (where expf is below 2^-125 anyway). */
static inline __attribute__ ((always_inline)) void
v8_exp_nonpos (PtV8f *inout)
{
  PtV8f x = *inout;
  const PtV8f lo = { -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f, -87.0f };
  PtV8i tiny = (PtV8i) (x < lo);
  PtV8f t, nf, r, p, scale;
  PtV8i ni;

  x = V8_MAX (x, lo);
  t = x * 1.44269504088896341f + 0.5f;
  ni = __builtin_convertvector (t, PtV8i);          /* toward zero ... */
  nf = __builtin_convertvector (ni, PtV8f);
  ni -= (PtV8i) (nf > t) & 1;                       /* ... made floor */
  nf = __builtin_convertvector (ni, PtV8f);
  r = x - nf * 0.693359375f;
  r = r - nf * -2.12194440e-4f;
  p = 1.9875691500e-4f * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  scale = (PtV8f) ((ni + 127) << 23);
  *inout = (PtV8f) ((PtV8i) (p * scale) & ~tiny);
}

/* Rows are taken LOGREG_ROWS at a time so that every weight vector loaded
 * serves all of them in the forward pass, and every gradient accumulator
 * loaded takes all their contributions in the backward pass. */
#define LOGREG_ROWS 8

static inline __attribute__ ((always_inline)) void
logreg_chunk_body (LogregJob *job, int ch, float *acc, float *xrow)
{
  int d = job->d, dp = job->dp, k = job->k;
  int begin = (int) ((gint64) job->n * ch / job->n_chunks);
  int end = (int) ((gint64) job->n * (ch + 1) / job->n_chunks);
  double *dwt = job->dwt + (gsize) ch * k * dp;
  double *db = job->db + (gsize) ch * k;
  double loss = 0.0;
  int pending = 0;
  PtV8f zc[LOGREG_MAX_CLASSES];
  const float *xr[LOGREG_ROWS];

  for (int i0 = begin; i0 < end; i0 += LOGREG_ROWS)
    {
      int nr = MIN (LOGREG_ROWS, end - i0);

      /* Row pointers; rows past the end (and rows whose width is not a
       * multiple of 8) go through xrow, zero-padded. */
      for (int r = 0; r < LOGREG_ROWS; r++)
        {
          float *pad = xrow + (gsize) r * dp;

          if (r < nr && d == dp)
            xr[r] = job->x + (gsize) (i0 + r) * d;
          else
            {
              if (r < nr)
                memcpy (pad, job->x + (gsize) (i0 + r) * d, sizeof (float) * d);
              else
                memset (pad, 0, sizeof (float) * dp);
              xr[r] = pad;
            }
        }
      /* logits, class-major: lane r of zc[c] is row r's logit c */
      for (int c = 0; c < k; c++)
        {
          const float *wc = job->wt + (gsize) c * dp;
          PtV8f s8[LOGREG_ROWS] = { { 0 } };

          for (int j = 0; j < dp; j += 8)
            {
              PtV8f vb;

              memcpy (&vb, wc + j, sizeof vb);
              for (int r = 0; r < LOGREG_ROWS; r++)
                {
                  PtV8f va;

                  memcpy (&va, xr[r] + j, sizeof va);
                  s8[r] += va * vb;
                }
            }
          hsum8 ((float *) &zc[c], s8);
          zc[c] += job->bias[c];
        }
      /* softmax over the classes, eight rows at once */
      {
        PtV8f zmax = zc[0], sum = { 0 }, inv, valid;
        float sums[8], zmaxs[8], zys[8];

        for (int c = 1; c < k; c++)
          zmax = V8_MAX (zmax, zc[c]);
        memcpy (zmaxs, &zmax, sizeof zmaxs);
        for (int r = 0; r < nr; r++)
          zys[r] = zc[job->labels[i0 + r]][r] - zmaxs[r];
        for (int c = 0; c < k; c++)
          {
            zc[c] -= zmax;
            v8_exp_nonpos (&zc[c]);
            sum += zc[c];
          }
        inv = 1.0f / sum;
        for (int r = 0; r < LOGREG_ROWS; r++)
          valid[r] = r < nr ? 1.0f : 0.0f;   /* padding rows: no loss, no gradient */
        memcpy (sums, &sum, sizeof sums);
        /* log-sum-exp - z_y on shifted logits: no overflow, no log (0) */
        for (int r = 0; r < nr; r++)
          loss += logf (sums[r]) - zys[r];
        for (int c = 0; c < k; c++)
          zc[c] = zc[c] * inv * valid;   /* probabilities */
        for (int r = 0; r < nr; r++)
          zc[job->labels[i0 + r]][r] -= 1.0f;   /* dlogits */
        for (int c = 0; c < k; c++)
          db[c] += ((zc[c][0] + zc[c][1]) + (zc[c][2] + zc[c][3])) +
                   ((zc[c][4] + zc[c][5]) + (zc[c][6] + zc[c][7]));
      }
      if (!job->want_grad)
        continue;

      for (int c = 0; c < k; c++)
        {
          float *ac = acc + (gsize) c * dp;
          float g[LOGREG_ROWS];

          memcpy (g, &zc[c], sizeof g);
          for (int j = 0; j < dp; j += 8)
            {
              PtV8f va;

              memcpy (&va, ac + j, sizeof va);
              for (int r = 0; r < LOGREG_ROWS; r++)
                {
                  PtV8f vx;

                  memcpy (&vx, xr[r] + j, sizeof vx);
                  va += g[r] * vx;
                }
              memcpy (ac + j, &va, sizeof va);
            }
        }
      /* Float partial sums over a few hundred rows, then double. */
      pending += nr;
      if (pending >= LOGREG_FLUSH_ROWS || i0 + nr == end)
        {
          for (gsize t = 0; t < (gsize) k * dp; t++)
            {
              dwt[t] += acc[t];
              acc[t] = 0.0f;
            }
          pending = 0;
        }
    }
  job->loss[ch] = loss;
}

static void
logreg_chunk_generic (LogregJob *job, int ch, float *acc, float *xrow)
{
  logreg_chunk_body (job, ch, acc, xrow);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define LOGREG_HAVE_AVX2 1
__attribute__ ((target ("avx2,fma"))) static void
logreg_chunk_avx2 (LogregJob *job, int ch, float *acc, float *xrow)
{
  logreg_chunk_body (job, ch, acc, xrow);
}
#endif

static void
logreg_chunk_run (int chunk_begin, int chunk_end, gpointer data)
{
  LogregJob *job = data;
  g_autofree float *acc = g_new0 (float, (gsize) job->k * job->dp);
  g_autofree float *xrow = g_new0 (float, (gsize) LOGREG_ROWS * job->dp);
#ifdef LOGREG_HAVE_AVX2
  gboolean avx2 = __builtin_cpu_supports ("avx2") && __builtin_cpu_supports ("fma");
#endif

  for (int ch = chunk_begin; ch < chunk_end; ch++)
    {
#ifdef LOGREG_HAVE_AVX2
      if (avx2)
        {
          logreg_chunk_avx2 (job, ch, acc, xrow);
          continue;
        }
#endif
      logreg_chunk_generic (job, ch, acc, xrow);
    }
}

#define LOGREG_CHUNKS 16

double
pt_logreg_loss_backward (float       *dweight,
                         float       *dbias,
                         const float *x,
                         const int   *labels,
                         const float *weight,
                         const float *bias,
                         double       l2,
                         int          n,
                         int          d,
                         int          k)
{
  g_return_val_if_fail (x && labels && weight && bias, NAN);
  g_return_val_if_fail (n > 0 && d > 0 && k > 0 && k <= LOGREG_MAX_CLASSES, NAN);

  gboolean want_grad = dweight != NULL || dbias != NULL;
  int dp = (d + 7) & ~7;
  /* A fixed split, whatever the thread count: the partial sums are added
   * in chunk order, so the result is the same with 1 or 8 threads. */
  int n_chunks = MAX (1, MIN (LOGREG_CHUNKS, n / 64));
  g_autofree float *wt = g_new0 (float, (gsize) k * dp);
  g_autofree double *dwt = g_new0 (double, want_grad ? (gsize) n_chunks * k * dp : 1);
  g_autofree double *db = g_new0 (double, (gsize) n_chunks * k);
  g_autofree double *losses = g_new0 (double, n_chunks);

  for (int j = 0; j < d; j++)
    for (int c = 0; c < k; c++)
      wt[(gsize) c * dp + j] = weight[(gsize) j * k + c];

  LogregJob job = { x, labels, wt, bias, n, d, dp, k, want_grad, n_chunks, dwt, db, losses };
  _pt_parallel_for (n_chunks, pt_threads_get (), logreg_chunk_run, &job);

  double loss = 0.0;
  for (int ch = 0; ch < n_chunks; ch++)
    loss += losses[ch];
  loss /= n;
  double wsq = 0.0;
  for (gsize i = 0; i < (gsize) d * k; i++)
    wsq += (double) weight[i] * weight[i];
  loss += 0.5 * l2 * wsq;

  if (dweight)
    for (int j = 0; j < d; j++)
      for (int c = 0; c < k; c++)
        {
          double s = 0.0;
          for (int ch = 0; ch < n_chunks; ch++)
            s += dwt[((gsize) ch * k + c) * dp + j];
          dweight[(gsize) j * k + c] = (float) (s / n + l2 * weight[(gsize) j * k + c]);
        }
  if (dbias)
    for (int c = 0; c < k; c++)
      {
        double s = 0.0;
        for (int ch = 0; ch < n_chunks; ch++)
          s += db[(gsize) ch * k + c];
        dbias[c] = (float) (s / n);
      }
  return loss;
}

/* ---- fit ---- */

typedef struct
{
  const float *x;
  const int   *labels;
  int          n, d, k;
  double       l2;
  const double *pen;  /* d: per-row penalty weights (NULL: all 1) */
  float       *w, *b, *dw, *db;
} LogregProblem;

static double
logreg_eval (const double *params,
             double       *grad,
             int           n_params,
             gpointer      user_data)
{
  LogregProblem *pb = user_data;
  gsize nw = (gsize) pb->d * pb->k;

  for (gsize i = 0; i < nw; i++)
    pb->w[i] = (float) params[i];
  for (int c = 0; c < pb->k; c++)
    pb->b[c] = (float) params[nw + c];
  double f = pt_logreg_loss_backward (pb->dw, pb->db, pb->x,
                                      pb->labels, pb->w, pb->b, 0.0,
                                      pb->n, pb->d, pb->k);
  /* The L2 term in double, weighted per row in preconditioned space. */
  double pen_sum = 0.0;
  for (int j = 0; j < pb->d; j++)
    {
      double pj = pb->pen ? pb->pen[j] : 1.0;
      for (int c = 0; c < pb->k; c++)
        {
          gsize t = (gsize) j * pb->k + c;
          pen_sum += pj * params[t] * params[t];
          grad[t] = pb->dw[t] + pb->l2 * pj * params[t];
        }
    }
  f += 0.5 * pb->l2 * pen_sum;
  for (int c = 0; c < pb->k; c++)
    grad[nw + c] = pb->db[c];
  return f;
}

static gboolean
check_labels (const int *labels, int n, int k, GError **error)
{
  for (int i = 0; i < n; i++)
    if (labels[i] < 0 || labels[i] >= k)
      {
        g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID,
                     _("Label %d of item %d is outside the %d classes"),
                     labels[i], i, k);
        return FALSE;
      }
  return TRUE;
}

PtLinearModel *
pt_logreg_fit (const float          *x,
               const int            *labels,
               int                   n,
               int                   d,
               int                   k,
               double                c,
               const PtLinearModel  *init,
               const PtLbfgsParams  *params,
               PtLbfgsProgressFunc   progress,
               gpointer              progress_data,
               PtLbfgsResult        *result,
               GCancellable         *cancellable,
               GError              **error)
{
  g_return_val_if_fail (x != NULL && labels != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (n <= 0 || d <= 0 || k <= 0 || !(c > 0.0))
    {
      g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID,
                   _("Cannot fit a linear classifier on %d items of %d features "
                     "with %d classes and C = %g"), n, d, k, c);
      return NULL;
    }
  if (init && (init->dim != d || init->n_classes != k))
    {
      g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID,
                   _("The initial model has %d x %d weights, expected %d x %d"),
                   init->dim, init->n_classes, d, k);
      return NULL;
    }
  if (!check_labels (labels, n, k, error))
    return NULL;

  gsize nw = (gsize) d * k;
  int n_params = (int) (nw + k);
  g_autofree double *theta = g_new0 (double, n_params);
  g_autofree float *w = g_new (float, nw);
  g_autofree float *b = g_new (float, k);
  g_autofree float *dw = g_new (float, nw);
  g_autofree float *db = g_new (float, k);
  if (init)
    {
      for (gsize i = 0; i < nw; i++)
        theta[i] = init->weight[i];
      for (int j = 0; j < k; j++)
        theta[nw + j] = init->bias[j];
    }

  /* Preconditioning: correlated features make the problem ill-conditioned
   * and L-BFGS slow. We optimize in the eigenbasis of the feature
   * covariance, scaled by 1 / sqrt(lambda_i + eps): X' = (X - mu) P with
   * P = V diag(s), W = P W', b = b' - mu W. The penalty ||W||^2 becomes
   * sum_i s_i^2 ||W'_i||^2 (V is orthogonal), so the objective and its
   * minimizer are exactly those of the original problem. eps ~ 10 l2
   * balances the data and penalty curvatures (CE curvature ~ 0.1). */
  double l2 = 1.0 / (c * n);
  g_autofree float *xw = NULL;
  g_autofree float *pmat = NULL;   /* d x d: P[j][i] */
  g_autofree float *vecs = NULL;   /* d x d: eigenvectors as rows */
  g_autofree double *sdiag = NULL; /* d */
  g_autofree double *pen = NULL;   /* d: s_i^2 */
  g_autofree double *mu = NULL;    /* d */
  gboolean precond = n > d && d <= 4096;
  if (precond)
    {
      mu = g_new0 (double, d);
      for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
          mu[j] += x[(gsize) i * d + j];
      for (int j = 0; j < d; j++)
        mu[j] /= n;
      g_autofree float *xc = g_new (float, (gsize) n * d);
      for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
          xc[(gsize) i * d + j] = (float) (x[(gsize) i * d + j] - mu[j]);
      g_autofree float *cov = g_new0 (float, (gsize) d * d);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, d, d, n,
                   1.0f / n, xc, d, xc, d, 0.0f, cov, d);
      /* the preconditioner costs seconds for raw pixels (d in the
       * thousands): a cancelled probe stops between its stages */
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      g_autofree float *lambda = g_new (float, d);
      vecs = g_new (float, (gsize) d * d);
      if (!_pt_symmetric_eigen (lambda, vecs, cov, d))
        precond = FALSE;
      else
        {
          double eps = MAX (MAX (10.0 * l2, 1e-6 * MAX (lambda[0], 0.0f)), 1e-12);
          sdiag = g_new (double, d);
          pen = g_new (double, d);
          pmat = g_new (float, (gsize) d * d);
          for (int i = 0; i < d; i++)
            {
              sdiag[i] = 1.0 / sqrt (MAX (lambda[i], 0.0f) + eps);
              pen[i] = sdiag[i] * sdiag[i];
            }
          for (int j = 0; j < d; j++)
            for (int i = 0; i < d; i++)
              pmat[(gsize) j * d + i] = (float) (vecs[(gsize) i * d + j] * sdiag[i]);
          xw = g_new (float, (gsize) n * d);
          if (g_cancellable_set_error_if_cancelled (cancellable, error))
            return NULL;
          cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, d,
                       1.0f, xc, d, pmat, d, 0.0f, xw, d);
          if (init)
            {
              /* W' = diag(1/s) V W, b' = b + mu W */
              g_autofree double *wp = g_new0 (double, nw);
              for (int i = 0; i < d; i++)
                for (int j = 0; j < d; j++)
                  {
                    double v = vecs[(gsize) i * d + j] / sdiag[i];
                    for (int cc = 0; cc < k; cc++)
                      wp[(gsize) i * k + cc] += v * init->weight[(gsize) j * k + cc];
                  }
              for (int cc = 0; cc < k; cc++)
                {
                  double shift = 0.0;
                  for (int j = 0; j < d; j++)
                    shift += mu[j] * init->weight[(gsize) j * k + cc];
                  theta[nw + cc] = init->bias[cc] + shift;
                }
              memcpy (theta, wp, sizeof (double) * nw);
            }
        }
    }

  LogregProblem pb = { precond ? xw : x, labels, n, d, k, l2, precond ? pen : NULL,
                       w, b, dw, db };
  PtLbfgsResult local;
  if (!pt_lbfgs_minimize (theta, n_params, logreg_eval, &pb, params,
                          progress, progress_data, result ? result : &local,
                          cancellable, error))
    return NULL;

  PtLinearModel *model = pt_linear_model_new (d, k);
  if (precond)
    {
      /* Back to feature space: W = P W', b = b' - mu W. */
      for (int j = 0; j < d; j++)
        for (int cc = 0; cc < k; cc++)
          {
            double sum = 0.0;
            for (int i = 0; i < d; i++)
              sum += (double) pmat[(gsize) j * d + i] * theta[(gsize) i * k + cc];
            model->weight[(gsize) j * k + cc] = (float) sum;
          }
      for (int cc = 0; cc < k; cc++)
        {
          double shift = 0.0;
          for (int j = 0; j < d; j++)
            shift += mu[j] * model->weight[(gsize) j * k + cc];
          model->bias[cc] = (float) (theta[nw + cc] - shift);
        }
    }
  else
    {
      for (gsize i = 0; i < nw; i++)
        model->weight[i] = (float) theta[i];
      for (int j = 0; j < k; j++)
        model->bias[j] = (float) theta[nw + j];
    }
  for (gsize i = 0; i < nw + k; i++)
    if (!isfinite (theta[i]))
      {
        pt_linear_model_free (model);
        g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_FAILED,
                     _("The linear probe diverged (non-finite weights); the "
                       "features may contain NaN or infinite values"));
        return NULL;
      }
  return model;
}

/* ---- probe ---- */

static const double default_c_grid[] = { 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0 };

void
pt_probe_options_init (PtProbeOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->c = 0.0;
  options->c_grid = NULL;
  options->n_c_grid = 0;
  options->val_fraction = 0.1;
  options->seed = 0;
  options->standardize = TRUE;
  pt_lbfgs_params_init (&options->lbfgs);
  options->search_max_iter = 50;
}

void
pt_probe_result_free (PtProbeResult *result)
{
  if (result == NULL)
    return;
  g_free (result->c_values);
  g_free (result->val_accuracy);
  pt_standardizer_free (result->standardizer);
  pt_linear_model_free (result->model);
  g_free (result->pred);
  pt_class_report_free (result->report);
  g_free (result);
}

typedef struct
{
  const PtProbeOptions *options;
  int                   fit_index;
  int                   n_fits;
} ProbeProgress;

static gboolean
probe_progress_cb (int iter, double f, double grad_max, gpointer user_data)
{
  ProbeProgress *pp = user_data;

  return pp->options->progress (pp->fit_index, pp->n_fits, iter, f,
                                pp->options->progress_data);
}

/* A seeded permutation of [0, n). */
static int *
seeded_permutation (int n, guint64 seed)
{
  guint32 seed_words[2] = { (guint32) seed, (guint32) (seed >> 32) };
  g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed_words, 2);
  int *perm = g_new (int, MAX (n, 1));

  for (int i = 0; i < n; i++)
    perm[i] = i;
  for (int i = n - 1; i > 0; i--)
    {
      int j = g_rand_int_range (rand, 0, i + 1);
      int t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
  return perm;
}

PtProbeResult *
pt_probe_run (const float           *train_x,
              const int             *train_y,
              int                    n_train,
              const float           *test_x,
              const int             *test_y,
              int                    n_test,
              int                    d,
              int                    k,
              const PtProbeOptions  *options,
              GCancellable          *cancellable,
              GError               **error)
{
  PtProbeOptions defaults;

  g_return_val_if_fail (train_x != NULL && train_y != NULL, NULL);
  g_return_val_if_fail (n_test == 0 || (test_x != NULL && test_y != NULL), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    {
      pt_probe_options_init (&defaults);
      options = &defaults;
    }
  if (n_train < 2 || d <= 0 || k <= 0 || n_test < 0)
    {
      g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID,
                   _("Cannot run a linear probe on %d training items of %d "
                     "features"), n_train, d);
      return NULL;
    }
  if (!check_labels (train_y, n_train, k, error))
    return NULL;

  g_autoptr(PtProbeResult) res = g_new0 (PtProbeResult, 1);
  res->n_train = n_train;
  res->n_test = n_test;

  /* Standardize with train statistics only. */
  g_autofree float *xs = NULL;
  g_autofree float *ts = NULL;
  const float *xtr = train_x, *xte = test_x;
  if (options->standardize)
    {
      res->standardizer = pt_standardizer_fit (train_x, n_train, d);
      xs = g_new (float, (gsize) n_train * d);
      pt_standardizer_apply (res->standardizer, xs, train_x, n_train);
      xtr = xs;
      if (n_test > 0)
        {
          ts = g_new (float, (gsize) n_test * d);
          pt_standardizer_apply (res->standardizer, ts, test_x, n_test);
          xte = ts;
        }
    }

  const double *grid = options->c_grid ? options->c_grid : default_c_grid;
  int n_grid = options->c_grid ? options->n_c_grid : (int) G_N_ELEMENTS (default_c_grid);
  gboolean search = !(options->c > 0.0) && n_grid > 0;
  int n_fits = search ? n_grid + 1 : 1;
  ProbeProgress pp = { options, 0, n_fits };
  g_autoptr(PtLinearModel) warm = NULL;
  double best_c = options->c > 0.0 ? options->c : 1.0;

  if (search)
    {
      /* Carve a seeded validation split from train. */
      double vf = CLAMP (options->val_fraction, 0.01, 0.9);
      int n_val = CLAMP ((int) lround (vf * n_train), 1, n_train - 1);
      int n_fit = n_train - n_val;
      g_autofree int *perm = seeded_permutation (n_train, options->seed);
      g_autofree float *fx = g_new (float, (gsize) n_fit * d);
      g_autofree int *fy = g_new (int, n_fit);
      g_autofree float *vx = g_new (float, (gsize) n_val * d);
      g_autofree int *vy = g_new (int, n_val);
      g_autofree int *vpred = g_new (int, n_val);
      for (int i = 0; i < n_train; i++)
        {
          int src = perm[i];
          if (i < n_val)
            {
              memcpy (vx + (gsize) i * d, xtr + (gsize) src * d, sizeof (float) * d);
              vy[i] = train_y[src];
            }
          else
            {
              memcpy (fx + (gsize) (i - n_val) * d, xtr + (gsize) src * d,
                      sizeof (float) * d);
              fy[i - n_val] = train_y[src];
            }
        }

      /* Grid in the order given; each fit warm-starts from the previous
       * one (a path over C converges in far fewer iterations). */
      res->n_c = n_grid;
      res->c_values = g_memdup2 (grid, sizeof (double) * n_grid);
      res->val_accuracy = g_new0 (double, n_grid);
      double best_acc = -1.0;
      g_autoptr(PtLinearModel) best_model = NULL;
      PtLbfgsParams search_params = options->lbfgs;
      if (options->search_max_iter > 0)
        search_params.max_iter = options->search_max_iter;
      for (int g = 0; g < n_grid; g++)
        {
          pp.fit_index = g;
          g_autoptr(PtLinearModel) m =
            pt_logreg_fit (fx, fy, n_fit, d, k, grid[g], warm, &search_params,
                           options->progress ? probe_progress_cb : NULL, &pp,
                           NULL, cancellable, error);
          if (m == NULL)
            return NULL;
          pt_linear_model_predict (m, vpred, vx, n_val);
          int correct = 0;
          for (int i = 0; i < n_val; i++)
            correct += vpred[i] == vy[i];
          res->val_accuracy[g] = (double) correct / n_val;
          if (res->val_accuracy[g] > best_acc)
            {
              best_acc = res->val_accuracy[g];
              best_c = grid[g];
              pt_linear_model_free (best_model);
              best_model = pt_linear_model_new (d, k);
              memcpy (best_model->weight, m->weight, sizeof (float) * d * k);
              memcpy (best_model->bias, m->bias, sizeof (float) * k);
            }
          pt_linear_model_free (warm);
          warm = g_steal_pointer (&m);
        }
      pt_linear_model_free (warm);
      warm = g_steal_pointer (&best_model);
    }

  /* Refit on all of train with the chosen C. */
  PtLbfgsResult lres;
  pp.fit_index = n_fits - 1;
  res->c = best_c;
  res->model = pt_logreg_fit (xtr, train_y, n_train, d, k, best_c, warm,
                              &options->lbfgs,
                              options->progress ? probe_progress_cb : NULL, &pp,
                              &lres, cancellable, error);
  if (res->model == NULL)
    return NULL;
  res->n_iter = lres.n_iter;
  res->train_loss = lres.f;

  res->pred = g_new (int, MAX (n_test, 1));
  if (n_test > 0)
    pt_linear_model_predict (res->model, res->pred, xte, n_test);
  res->report = pt_class_report_new (test_y, res->pred, n_test, k);
  return g_steal_pointer (&res);
}
