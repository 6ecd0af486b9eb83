/* Tests for the L-BFGS minimizer. */
#include <gio/gio.h>
#include <math.h>

#include "pt-lbfgs.h"

/* f = 0.5 sum a_i (x_i - c_i)^2 with a spread of curvatures. */
static double
quadratic (const double *x, double *g, int n, gpointer data)
{
  double f = 0.0;
  for (int i = 0; i < n; i++)
    {
      double a = pow (10.0, 3.0 * i / (n - 1)), c = 1.0 + 0.1 * i;
      f += 0.5 * a * (x[i] - c) * (x[i] - c);
      g[i] = a * (x[i] - c);
    }
  return f;
}

/* Extended Rosenbrock: sum over pairs of 100 (x2 - x1^2)^2 + (1 - x1)^2. */
static double
rosenbrock (const double *x, double *g, int n, gpointer data)
{
  double f = 0.0;
  for (int i = 0; i < n; i += 2)
    {
      double t1 = 1.0 - x[i], t2 = x[i + 1] - x[i] * x[i];
      f += t1 * t1 + 100.0 * t2 * t2;
      g[i] = -2.0 * t1 - 400.0 * x[i] * t2;
      g[i + 1] = 200.0 * t2;
    }
  int *count = data;
  if (count)
    (*count)++;
  return f;
}

static void
test_lbfgs_quadratic (void)
{
  double x[20] = { 0 };
  PtLbfgsParams p;
  PtLbfgsResult r;
  g_autoptr(GError) error = NULL;

  pt_lbfgs_params_init (&p);
  p.gtol = 1e-9;
  p.ftol = 0.0;
  p.max_iter = 500;
  g_assert_true (pt_lbfgs_minimize (x, 20, quadratic, NULL, &p, NULL, NULL, &r, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.status, ==, PT_LBFGS_CONVERGED_GRAD);
  for (int i = 0; i < 20; i++)
    g_assert_cmpfloat_with_epsilon (x[i], 1.0 + 0.1 * i, 1e-8);
  g_assert_cmpfloat (r.f, <, 1e-14);
}

static void
test_lbfgs_rosenbrock (void)
{
  PtLbfgsParams p;
  PtLbfgsResult r;
  g_autoptr(GError) error = NULL;

  pt_lbfgs_params_init (&p);
  p.gtol = 1e-8;
  p.ftol = 0.0;
  p.max_iter = 1000;

  /* The classic start (-1.2, 1). */
  double x2[2] = { -1.2, 1.0 };
  int evals = 0;
  g_assert_true (pt_lbfgs_minimize (x2, 2, rosenbrock, &evals, &p, NULL, NULL, &r, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (r.status, ==, PT_LBFGS_CONVERGED_GRAD);
  g_assert_cmpfloat_with_epsilon (x2[0], 1.0, 1e-6);
  g_assert_cmpfloat_with_epsilon (x2[1], 1.0, 1e-6);
  g_assert_cmpint (r.n_eval, ==, evals);
  /* A decent line search needs well under a hundred iterations here. */
  g_assert_cmpint (r.n_iter, <, 100);

  /* 20-D extended Rosenbrock from (-1.2, 1, -1.2, 1, ...). */
  double x[20];
  for (int i = 0; i < 20; i += 2)
    {
      x[i] = -1.2;
      x[i + 1] = 1.0;
    }
  g_assert_true (pt_lbfgs_minimize (x, 20, rosenbrock, NULL, &p, NULL, NULL, &r, NULL, &error));
  g_assert_cmpint (r.status, ==, PT_LBFGS_CONVERGED_GRAD);
  for (int i = 0; i < 20; i++)
    g_assert_cmpfloat_with_epsilon (x[i], 1.0, 1e-6);
}

static gboolean
stop_at_3 (int iter, double f, double gmax, gpointer data)
{
  int *calls = data;
  (*calls)++;
  g_assert_cmpint (iter, ==, *calls);
  g_assert_true (isfinite (f));
  return iter < 3;
}

static void
test_lbfgs_progress_cancel (void)
{
  double x[2] = { -1.2, 1.0 };
  PtLbfgsResult r;
  int calls = 0;
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_lbfgs_minimize (x, 2, rosenbrock, NULL, NULL, stop_at_3, &calls, &r, NULL, &error));
  g_assert_cmpint (r.status, ==, PT_LBFGS_STOPPED);
  g_assert_cmpint (r.n_iter, ==, 3);
  g_assert_cmpint (calls, ==, 3);

  g_autoptr(GCancellable) cancel = g_cancellable_new ();
  g_cancellable_cancel (cancel);
  g_assert_false (pt_lbfgs_minimize (x, 2, rosenbrock, NULL, NULL, NULL, NULL, &r, cancel, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/lbfgs/quadratic", test_lbfgs_quadratic);
  g_test_add_func ("/core/lbfgs/rosenbrock", test_lbfgs_rosenbrock);
  g_test_add_func ("/core/lbfgs/progress-cancel", test_lbfgs_progress_cancel);
  return g_test_run ();
}
