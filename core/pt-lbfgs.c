/* pt-lbfgs.c: L-BFGS with a strong-Wolfe line search (bracketing, then
 * zoom by safeguarded cubic interpolation; Nocedal & Wright, ch. 3 and 7). */
#include "pt-lbfgs.h"

#include <math.h>
#include <string.h>

void
pt_lbfgs_params_init (PtLbfgsParams *params)
{
  g_return_if_fail (params != NULL);

  params->m = 10;
  params->max_iter = 100;
  params->gtol = 1e-5;
  params->ftol = 2.2e-9;
  params->max_line_search = 40;
  params->c1 = 1e-4;
  params->c2 = 0.9;
}

static double
dot (const double *a, const double *b, int n)
{
  double s = 0.0;
  for (int i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}

static double
abs_max (const double *a, int n)
{
  double m = 0.0;
  for (int i = 0; i < n; i++)
    m = MAX (m, fabs (a[i]));
  return m;
}

typedef struct
{
  const double    *x0;
  const double    *dir;
  int              n;
  PtLbfgsEvalFunc  eval;
  gpointer         user_data;
  double          *xt;   /* trial point */
  double          *gt;   /* trial gradient */
  int              n_eval;
} LineFunc;

/* phi(a) = f(x0 + a dir); returns phi and phi'(a) in *dphi. */
static double
line_eval (LineFunc *lf, double a, double *dphi)
{
  for (int i = 0; i < lf->n; i++)
    lf->xt[i] = lf->x0[i] + a * lf->dir[i];
  double f = lf->eval (lf->xt, lf->gt, lf->n, lf->user_data);
  lf->n_eval++;
  *dphi = dot (lf->gt, lf->dir, lf->n);
  return f;
}

/* Minimizer of the cubic matching (a, fa, da), (b, fb, db), kept inside
 * the safeguarded interval; falls back to bisection. */
static double
cubic_step (double a, double fa, double da, double b, double fb, double db)
{
  double lo = MIN (a, b), hi = MAX (a, b);
  double margin = 0.1 * (hi - lo);
  double d1 = da + db - 3.0 * (fa - fb) / (a - b);
  double disc = d1 * d1 - da * db;
  double t;

  if (disc < 0.0 || !isfinite (disc))
    return 0.5 * (a + b);
  double d2 = (b > a ? 1.0 : -1.0) * sqrt (disc);
  double denom = db - da + 2.0 * d2;
  if (denom == 0.0 || !isfinite (denom))
    return 0.5 * (a + b);
  t = b - (b - a) * (db + d2 - d1) / denom;
  if (!isfinite (t) || t < lo + margin || t > hi - margin)
    return 0.5 * (a + b);
  return t;
}

/* Strong-Wolfe line search. On success the accepted point is in lf->xt /
 * lf->gt and its value in *f_out. Returns FALSE when no point satisfying
 * both conditions was found within the budget; then *f_out, lf->xt and
 * lf->gt hold the best point with sufficient decrease if there was one
 * (*decreased TRUE). */
static gboolean
line_search (LineFunc            *lf,
             double               f0,
             double               dphi0,
             double               a_init,
             const PtLbfgsParams *p,
             double              *f_out,
             gboolean            *decreased)
{
  double a_prev = 0.0, f_prev = f0, d_prev = dphi0;
  double a = a_init;
  double lo, f_lo, d_lo, hi, f_hi, d_hi;
  int evals = 0;
  g_autofree double *best_x = g_new (double, lf->n);
  g_autofree double *best_g = g_new (double, lf->n);
  double best_f = f0;

  *decreased = FALSE;

#define REMEMBER_BEST(fv) \
  if ((fv) < best_f && (fv) <= f0 + p->c1 * a * dphi0) \
    { \
      best_f = (fv); \
      memcpy (best_x, lf->xt, sizeof (double) * lf->n); \
      memcpy (best_g, lf->gt, sizeof (double) * lf->n); \
      *decreased = TRUE; \
    }

  for (;;)
    {
      double da;
      double fa = line_eval (lf, a, &da);
      evals++;

      if (!isfinite (fa))
        {
          /* Overshot into overflow: shrink and try again. */
          if (evals >= p->max_line_search)
            goto fail;
          a = a_prev + 0.1 * (a - a_prev);
          continue;
        }
      REMEMBER_BEST (fa);
      if (fa > f0 + p->c1 * a * dphi0 || (evals > 1 && fa >= f_prev))
        {
          lo = a_prev; f_lo = f_prev; d_lo = d_prev;
          hi = a; f_hi = fa; d_hi = da;
          break;
        }
      if (fabs (da) <= -p->c2 * dphi0)
        {
          *f_out = fa;
          return TRUE;
        }
      if (da >= 0.0)
        {
          lo = a; f_lo = fa; d_lo = da;
          hi = a_prev; f_hi = f_prev; d_hi = d_prev;
          break;
        }
      if (evals >= p->max_line_search)
        goto fail;
      a_prev = a; f_prev = fa; d_prev = da;
      a = MIN (a * 4.0, 1e20);
    }

  /* Zoom: lo satisfies sufficient decrease, the minimizer lies between. */
  while (evals < p->max_line_search)
    {
      double dj;
      double aj = cubic_step (lo, f_lo, d_lo, hi, f_hi, d_hi);

      if (fabs (hi - lo) <= 1e-16 * MAX (1.0, fabs (lo)))
        break;
      double fj = line_eval (lf, aj, &dj);
      evals++;
      if (!isfinite (fj) || fj > f0 + p->c1 * aj * dphi0 || fj >= f_lo)
        {
          hi = aj; f_hi = isfinite (fj) ? fj : f_lo + 1e30; d_hi = isfinite (dj) ? dj : 0.0;
          continue;
        }
      a = aj;
      REMEMBER_BEST (fj);
      if (fabs (dj) <= -p->c2 * dphi0)
        {
          *f_out = fj;
          return TRUE;
        }
      if (dj * (hi - lo) >= 0.0)
        {
          hi = lo; f_hi = f_lo; d_hi = d_lo;
        }
      lo = aj; f_lo = fj; d_lo = dj;
    }

fail:
  if (*decreased)
    {
      memcpy (lf->xt, best_x, sizeof (double) * lf->n);
      memcpy (lf->gt, best_g, sizeof (double) * lf->n);
      *f_out = best_f;
    }
  return FALSE;
#undef REMEMBER_BEST
}

gboolean
pt_lbfgs_minimize (double              *x,
                   int                  n,
                   PtLbfgsEvalFunc      eval,
                   gpointer             user_data,
                   const PtLbfgsParams *params,
                   PtLbfgsProgressFunc  progress,
                   gpointer             progress_data,
                   PtLbfgsResult       *result,
                   GCancellable        *cancellable,
                   GError             **error)
{
  PtLbfgsParams defaults;
  PtLbfgsResult local_result;

  g_return_val_if_fail (x != NULL && n > 0 && eval != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (params == NULL)
    {
      pt_lbfgs_params_init (&defaults);
      params = &defaults;
    }
  if (result == NULL)
    result = &local_result;
  memset (result, 0, sizeof *result);

  int m = MAX (1, params->m);
  g_autofree double *g = g_new (double, n);
  g_autofree double *d = g_new (double, n);
  g_autofree double *xt = g_new (double, n);
  g_autofree double *gt = g_new (double, n);
  g_autofree double *s = g_new (double, (gsize) m * n);
  g_autofree double *y = g_new (double, (gsize) m * n);
  g_autofree double *rho = g_new (double, m);
  g_autofree double *alpha = g_new (double, m);
  int hist_len = 0, hist_head = 0; /* ring buffer; head = next slot */

  double f = eval (x, g, n, user_data);
  result->n_eval = 1;
  result->f = f;
  result->grad_max = abs_max (g, n);
  if (result->grad_max <= params->gtol)
    {
      result->status = PT_LBFGS_CONVERGED_GRAD;
      return TRUE;
    }

  for (int iter = 1; ; iter++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (iter > params->max_iter)
        {
          result->status = PT_LBFGS_MAX_ITER;
          break;
        }

      /* Two-loop recursion: d = -H g. */
      memcpy (d, g, sizeof (double) * n);
      for (int k = 0; k < hist_len; k++)
        {
          int j = (hist_head - 1 - k + m) % m;
          alpha[j] = rho[j] * dot (s + (gsize) j * n, d, n);
          const double *yj = y + (gsize) j * n;
          for (int i = 0; i < n; i++)
            d[i] -= alpha[j] * yj[i];
        }
      if (hist_len > 0)
        {
          int j = (hist_head - 1 + m) % m;
          const double *yj = y + (gsize) j * n;
          double gamma = dot (s + (gsize) j * n, yj, n) / dot (yj, yj, n);
          for (int i = 0; i < n; i++)
            d[i] *= gamma;
        }
      for (int k = hist_len - 1; k >= 0; k--)
        {
          int j = (hist_head - 1 - k + m) % m;
          double beta = rho[j] * dot (y + (gsize) j * n, d, n);
          const double *sj = s + (gsize) j * n;
          for (int i = 0; i < n; i++)
            d[i] += sj[i] * (alpha[j] - beta);
        }
      for (int i = 0; i < n; i++)
        d[i] = -d[i];

      double dphi0 = dot (g, d, n);
      if (!(dphi0 < 0.0))
        {
          /* Not a descent direction: forget the history. */
          hist_len = 0;
          for (int i = 0; i < n; i++)
            d[i] = -g[i];
          dphi0 = dot (g, d, n);
        }
      double a_init = hist_len == 0 ? MIN (1.0, 1.0 / sqrt (dot (g, g, n))) : 1.0;

      LineFunc lf = { x, d, n, eval, user_data, xt, gt, 0 };
      double f_new = f;
      gboolean decreased = FALSE;
      gboolean ok = line_search (&lf, f, dphi0, a_init, params, &f_new, &decreased);
      result->n_eval += lf.n_eval;
      if (!ok && !decreased)
        {
          if (hist_len > 0)
            {
              hist_len = 0; /* retry once along -g */
              iter--;
              continue;
            }
          result->status = PT_LBFGS_LINE_SEARCH_FAILED;
          break;
        }

      /* Update the history with s = x_new - x, y = g_new - g. */
      double *sj = s + (gsize) hist_head * n;
      double *yj = y + (gsize) hist_head * n;
      for (int i = 0; i < n; i++)
        {
          sj[i] = xt[i] - x[i];
          yj[i] = gt[i] - g[i];
        }
      double sy = dot (sj, yj, n);
      if (sy > 1e-12 * dot (yj, yj, n) && sy > 0.0)
        {
          rho[hist_head] = 1.0 / sy;
          hist_head = (hist_head + 1) % m;
          hist_len = MIN (hist_len + 1, m);
        }

      double f_old = f;
      memcpy (x, xt, sizeof (double) * n);
      memcpy (g, gt, sizeof (double) * n);
      f = f_new;
      result->n_iter = iter;
      result->f = f;
      result->grad_max = abs_max (g, n);

      if (progress && !progress (iter, f, result->grad_max, progress_data))
        {
          result->status = PT_LBFGS_STOPPED;
          break;
        }
      if (result->grad_max <= params->gtol)
        {
          result->status = PT_LBFGS_CONVERGED_GRAD;
          break;
        }
      if ((f_old - f) <= params->ftol * MAX (MAX (fabs (f_old), fabs (f)), 1.0))
        {
          result->status = PT_LBFGS_CONVERGED_F;
          break;
        }
      if (!ok && hist_len == 0)
        {
          result->status = PT_LBFGS_LINE_SEARCH_FAILED;
          break;
        }
    }
  return TRUE;
}
