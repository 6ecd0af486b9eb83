/* test-conv.c: every path of pt_conv2d_forward/backward against a naive
 * double-precision loop, on whole outputs and whole gradients:
 *
 *   - one input channel: the row kernels (3x3 with 8/16/32 outputs in
 *     vector registers, the generic row loop for other shapes, stride 2,
 *     5x5) and the per-pixel fallback for rows too wide for the row buffer;
 *   - several input channels: im2col + sgemm on one thread and the batch
 *     sliced split on 2 and 3 threads (3 threads share the work area);
 *   - the direct 3x3 forward for 8/16/32 -> 32 channels, with rows that
 *     leave a remainder after the blocks of pixels;
 *
 * with and without each gradient, checking that backward accumulates (+=),
 * that a split run is bit-reproducible, and finite-difference gradient
 * checks through the tape for the new kernels. */
#include <math.h>
#include <string.h>

#include "pt-ops.h"
#include "pt-rng.h"
#include "pt-threads.h"
#include "pt-test-fixture.h"
#include "pt-test-grad.h"

typedef struct
{
  int B, H, W, C, OC, K, stride, pad;
} ConvShape;

static void
naive_forward (double          *out,
               const float     *inp,
               const float     *w,
               const ConvShape *s)
{
  int OH = pt_conv_out_size (s->H, s->K, s->stride, s->pad);
  int OW = pt_conv_out_size (s->W, s->K, s->stride, s->pad);

  for (int b = 0; b < s->B; b++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        for (int o = 0; o < s->OC; o++)
          {
            double acc = 0.0;

            for (int c = 0; c < s->C; c++)
              for (int ky = 0; ky < s->K; ky++)
                for (int kx = 0; kx < s->K; kx++)
                  {
                    int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;

                    if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W)
                      continue;
                    acc += (double) inp[(((gsize) b * s->H + iy) * s->W + ix) * s->C + c]
                           * w[(((gsize) o * s->C + c) * s->K + ky) * s->K + kx];
                  }
            out[(((gsize) b * OH + oy) * OW + ox) * s->OC + o] = acc;
          }
}

/* dinp and dweight of sum (out * r), in double */
static void
naive_backward (double          *dinp,
                double          *dw,
                const float     *r,
                const float     *inp,
                const float     *w,
                const ConvShape *s)
{
  int OH = pt_conv_out_size (s->H, s->K, s->stride, s->pad);
  int OW = pt_conv_out_size (s->W, s->K, s->stride, s->pad);

  for (int b = 0; b < s->B; b++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        for (int o = 0; o < s->OC; o++)
          {
            double g = r[(((gsize) b * OH + oy) * OW + ox) * s->OC + o];

            for (int c = 0; c < s->C; c++)
              for (int ky = 0; ky < s->K; ky++)
                for (int kx = 0; kx < s->K; kx++)
                  {
                    int iy = oy * s->stride - s->pad + ky, ix = ox * s->stride - s->pad + kx;
                    gsize xi = (((gsize) b * s->H + iy) * s->W + ix) * s->C + c;
                    gsize wi = (((gsize) o * s->C + c) * s->K + ky) * s->K + kx;

                    if (iy < 0 || iy >= s->H || ix < 0 || ix >= s->W)
                      continue;
                    dinp[xi] += g * w[wi];
                    dw[wi] += g * inp[xi];
                  }
          }
}

static float *
to_float (const double *v,
          gsize         n,
          float         offset)
{
  float *f = g_new (float, n);

  for (gsize i = 0; i < n; i++)
    f[i] = (float) v[i] + offset;
  return f;
}

/* Tolerances: float sums of n products of unit normals have rounding error
 * growing like sqrt(n) * 1e-7 * the terms; 1e-5 * sqrt(n) absolute leaves a
 * wide margin while a wrong tap or a lost slice is off by O(1). */
static void
check_conv (const char      *name,
            const ConvShape *s,
            int              n_threads,
            gboolean         want_dx,
            gboolean         want_dw)
{
  int OH = pt_conv_out_size (s->H, s->K, s->stride, s->pad);
  int OW = pt_conv_out_size (s->W, s->K, s->stride, s->pad);
  gsize nin = (gsize) s->B * s->H * s->W * s->C, nout = (gsize) s->B * OH * OW * s->OC;
  gsize nw = (gsize) s->OC * s->C * s->K * s->K;
  gsize nwork = pt_conv2d_work_floats (s->B, s->H, s->W, s->C, s->OC, s->K, s->stride, s->pad);
  g_autofree float *x = g_new (float, nin);
  g_autofree float *w = g_new (float, nw);
  g_autofree float *r = g_new (float, nout);
  g_autofree float *y = g_new (float, nout);
  g_autofree float *dx = g_new (float, nin);
  g_autofree float *dw = g_new (float, nw);
  g_autofree float *work = g_new (float, nwork);
  g_autofree double *ref = g_new0 (double, nout);
  g_autofree double *dx_ref = g_new0 (double, nin);
  g_autofree double *dw_ref = g_new0 (double, nw);
  g_autofree float *ref_f = NULL, *dx_ref_f = NULL, *dw_ref_f = NULL;
  g_autofree char *what = NULL;
  double terms_fwd = (double) s->C * s->K * s->K;
  double terms_dw = (double) s->B * OH * OW, terms_dx = (double) s->OC * s->K * s->K;
  PtRng rng;

  pt_rng_init (&rng, 31 + s->C * 7 + s->OC);
  for (gsize i = 0; i < nin; i++)
    x[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nw; i++)
    w[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nout; i++)
    r[i] = pt_rng_normal (&rng);
  /* backward accumulates: start the gradients at 0.5 */
  for (gsize i = 0; i < nin; i++)
    dx[i] = 0.5f;
  for (gsize i = 0; i < nw; i++)
    dw[i] = 0.5f;

  pt_threads_set (n_threads);
  pt_conv2d_forward (y, work, x, w, s->B, s->H, s->W, s->C, s->OC, s->K, s->stride, s->pad);
  pt_conv2d_backward (want_dx ? dx : NULL, want_dw ? dw : NULL, work, r, x, w,
                      s->B, s->H, s->W, s->C, s->OC, s->K, s->stride, s->pad);
  pt_threads_set (1);

  naive_forward (ref, x, w, s);
  naive_backward (dx_ref, dw_ref, r, x, w, s);
  ref_f = to_float (ref, nout, 0.0f);
  dx_ref_f = to_float (dx_ref, nin, 0.5f);
  dw_ref_f = to_float (dw_ref, nw, 0.5f);

  what = g_strdup_printf ("%s/%d-threads/forward", name, n_threads);
  pt_assert_close (what, y, ref_f, nout, 1e-5 * sqrt (terms_fwd), 1e-5);
  g_free (what);
  what = g_strdup_printf ("%s/%d-threads/dinp", name, n_threads);
  if (want_dx)
    pt_assert_close (what, dx, dx_ref_f, nin, 1e-5 * sqrt (terms_dx), 1e-5);
  else
    for (gsize i = 0; i < nin; i++)
      g_assert_cmpfloat (dx[i], ==, 0.5f);
  g_free (what);
  what = g_strdup_printf ("%s/%d-threads/dweight", name, n_threads);
  if (want_dw)
    pt_assert_close (what, dw, dw_ref_f, nw, 1e-5 * sqrt (terms_dw), 1e-5);
  else
    for (gsize i = 0; i < nw; i++)
      g_assert_cmpfloat (dw[i], ==, 0.5f);
}

static void
check_conv_all (const char      *name,
                const ConvShape *s)
{
  for (int t = 1; t <= 3; t++)
    {
      check_conv (name, s, t, TRUE, TRUE);
      check_conv (name, s, t, FALSE, TRUE);
      check_conv (name, s, t, TRUE, FALSE);
    }
}

static void
test_one_channel (void)
{
  /* 3x3 with 8, 16, 32 outputs: the vector row kernels (dW alone, i.e.
   * without dinp, takes the vector dW kernel); 12 outputs, 5x5: generic rows */
  check_conv_all ("c1-3x3-oc16", &(ConvShape) { 5, 28, 28, 1, 16, 3, 1, 1 });
  check_conv_all ("c1-3x3-oc8", &(ConvShape) { 3, 9, 13, 1, 8, 3, 1, 1 });
  check_conv_all ("c1-3x3-oc32", &(ConvShape) { 3, 10, 7, 1, 32, 3, 1, 1 });
  check_conv_all ("c1-3x3-oc12", &(ConvShape) { 3, 10, 7, 1, 12, 3, 1, 1 });
  check_conv_all ("c1-3x3-stride2", &(ConvShape) { 3, 11, 12, 1, 16, 3, 2, 1 });
  check_conv_all ("c1-3x3-pad0", &(ConvShape) { 3, 8, 9, 1, 16, 3, 1, 0 });
  check_conv_all ("c1-5x5-pad2", &(ConvShape) { 2, 9, 9, 1, 16, 5, 1, 2 });
  /* padded rows of 3 x 1102 floats do not fit: the per-pixel kernels */
  check_conv_all ("c1-wide", &(ConvShape) { 2, 4, 1100, 1, 16, 3, 1, 1 });
}

static void
test_split (void)
{
  /* several channels: one thread runs im2col + sgemm, 2 and 3 threads the
   * batch slices (3 share the work area sized for 2: smaller chunks) */
  check_conv_all ("c16-oc32", &(ConvShape) { 9, 12, 12, 16, 32, 3, 1, 1 });
  check_conv_all ("c24-oc8-chunks", &(ConvShape) { 40, 16, 16, 24, 8, 3, 1, 1 });
  check_conv_all ("c3-oc5-stride2", &(ConvShape) { 7, 9, 10, 3, 5, 3, 2, 1 });
  check_conv_all ("c4-oc6-1x1", &(ConvShape) { 5, 6, 6, 4, 6, 1, 1, 0 });
  /* fewer images than threads */
  check_conv ("c8-oc8-one-image", &(ConvShape) { 1, 6, 6, 8, 8, 3, 1, 1 }, 2, TRUE, TRUE);
  check_conv ("c8-oc8-two-images", &(ConvShape) { 2, 6, 6, 8, 8, 3, 1, 1 }, 3, TRUE, TRUE);
}

static void
test_direct3 (void)
{
  /* forward by the direct kernel; backward by im2col + sgemm */
  check_conv_all ("direct-c16-oc32", &(ConvShape) { 5, 28, 28, 16, 32, 3, 1, 1 });
  check_conv_all ("direct-c8-oc32-w13", &(ConvShape) { 3, 7, 13, 8, 32, 3, 1, 1 });
  check_conv_all ("direct-c8-oc32", &(ConvShape) { 3, 4, 4, 8, 32, 3, 1, 1 });
  check_conv_all ("direct-c32-oc32", &(ConvShape) { 2, 9, 11, 32, 32, 3, 1, 1 });
  check_conv_all ("direct-c16-oc32-w5", &(ConvShape) { 3, 6, 5, 16, 32, 3, 1, 1 });
  check_conv_all ("direct-one-pixel", &(ConvShape) { 2, 1, 1, 16, 32, 3, 1, 1 });
  /* not taken: stride 2, 24 channels, 16 outputs */
  check_conv_all ("c16-oc32-stride2", &(ConvShape) { 3, 9, 9, 16, 32, 3, 2, 1 });
  check_conv_all ("c24-oc32", &(ConvShape) { 3, 6, 6, 24, 32, 3, 1, 1 });
  check_conv_all ("c16-oc16", &(ConvShape) { 3, 5, 8, 16, 16, 3, 1, 1 });
}

/* A split run gives bit-identical results when repeated. */
static void
test_split_repeatable (void)
{
  ConvShape s = { 12, 14, 14, 16, 32, 3, 1, 1 };
  gsize nin = (gsize) s.B * s.H * s.W * s.C, nw = (gsize) s.OC * s.C * 9;
  gsize nout = (gsize) s.B * s.H * s.W * s.OC;
  g_autofree float *x = g_new (float, nin);
  g_autofree float *w = g_new (float, nw);
  g_autofree float *r = g_new (float, nout);
  float *y[2] = { g_new (float, nout), g_new (float, nout) };
  float *dx[2] = { g_new0 (float, nin), g_new0 (float, nin) };
  float *dw[2] = { g_new0 (float, nw), g_new0 (float, nw) };
  g_autofree float *work = g_new (float, pt_conv2d_work_floats (s.B, s.H, s.W, s.C, s.OC, 3,
                                                                1, 1));
  PtRng rng;

  pt_rng_init (&rng, 5);
  for (gsize i = 0; i < nin; i++)
    x[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nw; i++)
    w[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nout; i++)
    r[i] = pt_rng_normal (&rng);
  pt_threads_set (2);
  for (int k = 0; k < 2; k++)
    {
      pt_conv2d_forward (y[k], work, x, w, s.B, s.H, s.W, s.C, s.OC, 3, 1, 1);
      pt_conv2d_backward (dx[k], dw[k], work, r, x, w, s.B, s.H, s.W, s.C, s.OC, 3, 1, 1);
    }
  pt_threads_set (1);
  g_assert_cmpmem (y[0], nout * sizeof (float), y[1], nout * sizeof (float));
  g_assert_cmpmem (dx[0], nin * sizeof (float), dx[1], nin * sizeof (float));
  g_assert_cmpmem (dw[0], nw * sizeof (float), dw[1], nw * sizeof (float));
  for (int k = 0; k < 2; k++)
    {
      g_free (y[k]);
      g_free (dx[k]);
      g_free (dw[k]);
    }
}

/* ---- finite differences through the tape -------------------------------- */

typedef struct
{
  int stride, pad;
} ConvArgs;

static PtTensor *
build_conv (PtTape    *tape,
            PtTensor **in,
            gpointer   data)
{
  ConvArgs *a = data;

  return pt_op_conv2d (tape, in[0], in[1], a->stride, a->pad);
}

static void
grad_case (const char *name,
           const int   xshape[4],
           const int   wshape[4],
           gboolean    x_const,
           int         n_threads)
{
  PtGradCheck check = { 0 };
  ConvArgs args = { 1, 1 };
  g_autofree float *xv = g_new (float, pt_shape_numel (4, xshape));
  g_autofree float *wv = g_new (float, pt_shape_numel (4, wshape));

  check.name = name;
  check.h = 1e-2;
  check.atol = 2e-3;
  check.rtol = 1e-2;
  pt_grad_input (&check, 0, 4, xshape, xv, 11, 1.0f);
  pt_grad_input (&check, 1, 4, wshape, wv, 12, 0.5f);
  check.no_grad[0] = x_const;
  pt_threads_set (n_threads);
  pt_grad_check (&check, build_conv, &args);
  pt_threads_set (1);
}

static void
test_grad (void)
{
  /* NHWC input, {OC, C, K, K} weight */
  grad_case ("conv2d-c1-oc16-rows", (int[]) { 2, 6, 7, 1 }, (int[]) { 16, 1, 3, 3 }, FALSE, 1);
  grad_case ("conv2d-c1-oc16-vector-dw", (int[]) { 2, 6, 7, 1 }, (int[]) { 16, 1, 3, 3 },
             TRUE, 1);
  grad_case ("conv2d-c1-oc8-vector-dw", (int[]) { 3, 5, 5, 1 }, (int[]) { 8, 1, 3, 3 }, TRUE, 2);
  grad_case ("conv2d-c8-oc32-direct", (int[]) { 2, 5, 7, 8 }, (int[]) { 32, 8, 3, 3 }, FALSE,
             2);
  grad_case ("conv2d-c4-oc8-split", (int[]) { 4, 5, 6, 4 }, (int[]) { 8, 4, 3, 3 }, FALSE, 2);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/conv2d/one-channel", test_one_channel);
  g_test_add_func ("/core/conv2d/split", test_split);
  g_test_add_func ("/core/conv2d/direct3", test_direct3);
  g_test_add_func ("/core/conv2d/split-repeatable", test_split_repeatable);
  g_test_add_func ("/core/conv2d/grad", test_grad);
  return g_test_run ();
}
