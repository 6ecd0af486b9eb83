/* pt-test-grad.h: finite-difference gradient checks for tape ops.
 *
 * The op under test is built by a callback from input tensors; the check
 * reduces its output to L = sum (out * r) with a fixed random r (accumulated
 * in double), takes the tape's gradient of L for every input, and compares
 * it with central differences (L(x + h) - L(x - h)) / 2h computed in double
 * from float forward passes, on every element (or a sample of 64 for big
 * inputs), with an absolute and a relative tolerance. */
#pragma once

#include <math.h>
#include <string.h>

#include "pt-ops.h"
#include "pt-rng.h"

#define PT_GRAD_MAX_INPUTS 4

typedef PtTensor *(*PtGradBuildFunc) (PtTape    *tape,
                                      PtTensor **inputs,
                                      gpointer   data);

typedef struct
{
  const char *name;
  int         n_inputs;
  int         ndim[PT_GRAD_MAX_INPUTS];
  int         shape[PT_GRAD_MAX_INPUTS][4];
  float      *values[PT_GRAD_MAX_INPUTS];   /* owned by the caller */
  gboolean    no_grad[PT_GRAD_MAX_INPUTS];  /* constant inputs */
  double      h, atol, rtol;
} PtGradCheck;

static inline double
pt_grad_eval (PtGradCheck     *check,
              PtGradBuildFunc  build,
              gpointer         data,
              PtTape          *tape,
              const float     *r,
              gboolean         backward,
              float          **grads_out)
{
  PtTensor *inputs[PT_GRAD_MAX_INPUTS];
  PtTensor *out, *loss;
  double value;

  pt_tape_reset (tape);
  pt_tape_set_grad_enabled (tape, backward);
  for (int i = 0; i < check->n_inputs; i++)
    {
      inputs[i] = pt_tensor_new (pt_tape_get_arena (tape), check->ndim[i], check->shape[i]);
      memcpy (inputs[i]->data, check->values[i], inputs[i]->numel * sizeof (float));
      inputs[i]->requires_grad = !check->no_grad[i];
    }
  out = build (tape, inputs, data);
  g_assert_nonnull (out);
  value = 0.0;
  for (gsize k = 0; k < out->numel; k++)
    value += (double) out->data[k] * r[k % 4099];
  if (backward)
    {
      float *w = pt_tape_alloc (tape, out->numel * sizeof (float));

      for (gsize k = 0; k < out->numel; k++)
        w[k] = r[k % 4099];
      loss = pt_op_weighted_sum (tape, out, w);
      pt_tape_backward (tape, loss);
      for (int i = 0; i < check->n_inputs; i++)
        {
          if (check->no_grad[i])
            continue;
          grads_out[i] = g_new0 (float, inputs[i]->numel);
          if (inputs[i]->grad != NULL)
            memcpy (grads_out[i], inputs[i]->grad, inputs[i]->numel * sizeof (float));
        }
    }
  pt_tape_set_grad_enabled (tape, TRUE);
  return value;
}

/* Runs the check; fails the test with the first mismatches on error. */
static inline void
pt_grad_check (PtGradCheck     *check,
               PtGradBuildFunc  build,
               gpointer         data)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  float r[4099];
  float *grads[PT_GRAD_MAX_INPUTS] = { NULL };
  PtRng rng;
  guint n_checked = 0, n_bad = 0;
  double worst = 0.0;

  pt_rng_init (&rng, 12345);
  for (int k = 0; k < 4099; k++)
    r[k] = pt_rng_range (&rng, -1.0f, 1.0f);

  pt_grad_eval (check, build, data, tape, r, TRUE, grads);

  for (int i = 0; i < check->n_inputs; i++)
    {
      gsize n = pt_shape_numel (check->ndim[i], check->shape[i]);
      gsize n_try = MIN (n, 64);

      if (check->no_grad[i])
        continue;
      for (gsize s = 0; s < n_try; s++)
        {
          gsize k = n <= 64 ? s : pt_rng_below (&rng, (guint32) n);
          float saved = check->values[i][k];
          double plus, minus, numeric, analytic, err, tol;

          check->values[i][k] = (float) (saved + check->h);
          plus = pt_grad_eval (check, build, data, tape, r, FALSE, NULL);
          check->values[i][k] = (float) (saved - check->h);
          minus = pt_grad_eval (check, build, data, tape, r, FALSE, NULL);
          check->values[i][k] = saved;
          numeric = (plus - minus) / (2.0 * check->h);
          analytic = grads[i][k];
          err = fabs (numeric - analytic);
          tol = check->atol + check->rtol * fabs (numeric);
          n_checked++;
          worst = MAX (worst, err / tol);
          if (!(err <= tol))
            {
              if (n_bad < 5)
                g_printerr ("# %s: input %d [%" G_GSIZE_FORMAT "]: analytic %.7g numeric %.7g\n",
                            check->name, i, k, analytic, numeric);
              n_bad++;
            }
        }
    }
  for (int i = 0; i < check->n_inputs; i++)
    g_free (grads[i]);
  if (n_bad > 0)
    g_error ("%s: %u of %u gradient entries out of tolerance", check->name, n_bad, n_checked);
  g_assert_cmpuint (n_checked, >, 0);
  g_test_message ("%s: %u entries, worst error/tolerance %.3f", check->name, n_checked, worst);
}

/* Fills an input slot with normal values (scale) from a seed. */
static inline void
pt_grad_input (PtGradCheck *check,
               int          i,
               int          ndim,
               const int   *shape,
               float       *values,
               guint64      seed,
               float        scale)
{
  PtRng rng;
  gsize n = pt_shape_numel (ndim, shape);

  check->ndim[i] = ndim;
  memcpy (check->shape[i], shape, ndim * sizeof (int));
  check->values[i] = values;
  pt_rng_init (&rng, seed);
  for (gsize k = 0; k < n; k++)
    values[k] = scale * pt_rng_normal (&rng);
  if (i + 1 > check->n_inputs)
    check->n_inputs = i + 1;
}
