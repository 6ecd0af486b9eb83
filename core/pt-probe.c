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

typedef struct
{
  float     *logits; /* in: logits; out: (softmax - onehot) / n */
  const int *labels;
  float     *row_loss;
  int        k;
  float      inv_n;
} SoftmaxJob;

static void
softmax_ce_run (int begin, int end, gpointer data)
{
  SoftmaxJob *job = data;
  int k = job->k;

  for (int i = begin; i < end; i++)
    {
      float *zi = job->logits + (gsize) i * k;
      float zmax = zi[0];
      for (int c = 1; c < k; c++)
        zmax = MAX (zmax, zi[c]);
      int y = job->labels[i];
      float zy = zi[y] - zmax;
      float sum = 0.0f;
      for (int c = 0; c < k; c++)
        {
          zi[c] = expf (zi[c] - zmax);
          sum += zi[c];
        }
      /* log-sum-exp - z_y on shifted logits: no overflow, no log (0). */
      job->row_loss[i] = logf (sum) - zy;
      float scale = job->inv_n / sum;
      for (int c = 0; c < k; c++)
        zi[c] *= scale;
      zi[y] -= job->inv_n;
    }
}

double
pt_logreg_loss_backward (float       *dweight,
                         float       *dbias,
                         float       *logits,
                         const float *x,
                         const int   *labels,
                         const float *weight,
                         const float *bias,
                         double       l2,
                         int          n,
                         int          d,
                         int          k)
{
  g_return_val_if_fail (logits && x && labels && weight && bias, NAN);
  g_return_val_if_fail (n > 0 && d > 0 && k > 0, NAN);

  g_autofree float *row_loss = g_new (float, n);
  logits_forward (logits, x, weight, bias, n, d, k);

  SoftmaxJob job = { logits, labels, row_loss, k, 1.0f / n };
  _pt_parallel_for (n, pt_threads_get (), softmax_ce_run, &job);

  double loss = 0.0;
  for (int i = 0; i < n; i++)
    loss += row_loss[i];
  loss /= n;
  double wsq = 0.0;
  for (gsize i = 0; i < (gsize) d * k; i++)
    wsq += (double) weight[i] * weight[i];
  loss += 0.5 * l2 * wsq;

  if (dweight)
    {
      /* dW = X^T G + l2 W */
      for (gsize i = 0; i < (gsize) d * k; i++)
        dweight[i] = (float) (l2 * weight[i]);
      cblas_sgemm (CblasRowMajor, CblasTrans, CblasNoTrans, d, k, n,
                   1.0f, x, d, logits, k, 1.0f, dweight, k);
    }
  if (dbias)
    {
      g_autofree double *acc = g_new0 (double, k);
      for (int i = 0; i < n; i++)
        for (int c = 0; c < k; c++)
          acc[c] += logits[(gsize) i * k + c];
      for (int c = 0; c < k; c++)
        dbias[c] = (float) acc[c];
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
  float       *w, *b, *dw, *db, *logits;
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
  double f = pt_logreg_loss_backward (pb->dw, pb->db, pb->logits, pb->x,
                                      pb->labels, pb->w, pb->b, pb->l2,
                                      pb->n, pb->d, pb->k);
  for (gsize i = 0; i < nw; i++)
    grad[i] = pb->dw[i];
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
  g_autofree float *logits = g_new (float, (gsize) n * k);

  if (init)
    {
      for (gsize i = 0; i < nw; i++)
        theta[i] = init->weight[i];
      for (int j = 0; j < k; j++)
        theta[nw + j] = init->bias[j];
    }

  LogregProblem pb = { x, labels, n, d, k, 1.0 / (c * n), w, b, dw, db, logits };
  PtLbfgsResult local;
  if (!pt_lbfgs_minimize (theta, n_params, logreg_eval, &pb, params,
                          progress, progress_data, result ? result : &local,
                          cancellable, error))
    return NULL;

  PtLinearModel *model = pt_linear_model_new (d, k);
  for (gsize i = 0; i < nw; i++)
    model->weight[i] = (float) theta[i];
  for (int j = 0; j < k; j++)
    model->bias[j] = (float) theta[nw + j];
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
      for (int g = 0; g < n_grid; g++)
        {
          pp.fit_index = g;
          g_autoptr(PtLinearModel) m =
            pt_logreg_fit (fx, fy, n_fit, d, k, grid[g], warm, &options->lbfgs,
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
