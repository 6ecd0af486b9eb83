/* Tests for the engine's operators: a finite-difference gradient check for
 * every op, naive references for the chunked convolution, and PyTorch
 * fixtures (conv2d, batchnorm train/eval, cross-entropy, NT-Xent, MSE). */
#include <math.h>
#include <string.h>

#include "pt-ops.h"
#include "pt-parallel.h"
#include "pt-threads.h"
#include "pt-test-fixture.h"
#include "pt-test-grad.h"

typedef enum
{
  OP_LINEAR, OP_LINEAR_NOBIAS, OP_MATMUL, OP_MATMUL_T, OP_RELU, OP_ADD, OP_MUL, OP_SCALE,
  OP_RESHAPE, OP_CONCAT, OP_SLICE, OP_NCHW_NHWC, OP_NHWC_NCHW, OP_CONV, OP_MAXPOOL,
  OP_AVGPOOL, OP_GAP, OP_BN, OP_BRP, OP_BRP_UNFUSED, OP_L2, OP_COSINE, OP_CE, OP_MSE, OP_NTXENT, OP_WSUM,
} OpKind;

typedef struct
{
  OpKind   kind;
  int      a, b;          /* op arguments: stride/pad, k/stride, begin/end, ... */
  float    f;
  gboolean flag;
  gboolean training;
  gboolean relu;
  gboolean affine;
  gboolean running;
  int      targets[16];
  float    mask[16];
  float    running_mean[64];
  float    running_var[64];
} OpCase;

static PtTensor *
build_op (PtTape    *tape,
          PtTensor **in,
          gpointer   data)
{
  OpCase *c = data;

  switch (c->kind)
    {
    case OP_LINEAR:
      return pt_op_linear (tape, in[0], in[1], in[2]);
    case OP_LINEAR_NOBIAS:
      return pt_op_linear (tape, in[0], in[1], NULL);
    case OP_MATMUL:
      return pt_op_matmul (tape, in[0], in[1], FALSE);
    case OP_MATMUL_T:
      return pt_op_matmul (tape, in[0], in[1], TRUE);
    case OP_RELU:
      return pt_op_relu (tape, in[0]);
    case OP_ADD:
      return pt_op_add (tape, in[0], in[1]);
    case OP_MUL:
      return pt_op_mul (tape, in[0], in[1]);
    case OP_SCALE:
      return pt_op_scale (tape, in[0], c->f);
    case OP_RESHAPE:
      {
        /* A view in the middle of a chain: gradients must reach in[0]. */
        int shape[2] = { 2, (int) in[0]->numel / 2 };
        PtTensor *t = pt_op_scale (tape, in[0], 2.0f);
        PtTensor *v = pt_op_reshape (tape, t, 2, shape);

        return pt_op_mul (tape, v, pt_op_reshape (tape, in[1], 2, shape));
      }
    case OP_CONCAT:
      return pt_op_concat0 (tape, 2, in);
    case OP_SLICE:
      return pt_op_slice0 (tape, in[0], c->a, c->b);
    case OP_NCHW_NHWC:
      return pt_op_nchw_to_nhwc (tape, in[0]);
    case OP_NHWC_NCHW:
      return pt_op_nhwc_to_nchw (tape, in[0]);
    case OP_CONV:
      return pt_op_conv2d (tape, in[0], in[1], c->a, c->b);
    case OP_MAXPOOL:
      return pt_op_maxpool2d (tape, in[0], c->a, c->b);
    case OP_AVGPOOL:
      return pt_op_avgpool2d (tape, in[0], c->a, c->b);
    case OP_GAP:
      return pt_op_global_avgpool (tape, in[0]);
    case OP_BN:
      pt_tape_set_training (tape, c->training);
      {
        PtTensor *out = pt_op_batchnorm (tape, in[0], c->affine ? in[1] : NULL,
                                         c->affine ? in[2] : NULL,
                                         c->running ? c->running_mean : NULL,
                                         c->running ? c->running_var : NULL,
                                         0.1f, 1e-5f, c->relu);
        pt_tape_set_training (tape, TRUE);
        return out;
      }
    case OP_BRP:
    case OP_BRP_UNFUSED:
      pt_tape_set_training (tape, c->training);
      {
        PtTensor *out;

        if (c->kind == OP_BRP)
          out = pt_op_batchnorm_relu_maxpool (tape, in[0], in[1], in[2],
                                              c->running ? c->running_mean : NULL,
                                              c->running ? c->running_var : NULL,
                                              0.1f, 1e-5f, c->a, c->b);
        else
          out = pt_op_maxpool2d (tape,
                                 pt_op_batchnorm (tape, in[0], in[1], in[2],
                                                  c->running ? c->running_mean : NULL,
                                                  c->running ? c->running_var : NULL,
                                                  0.1f, 1e-5f, TRUE),
                                 c->a, c->b);
        pt_tape_set_training (tape, TRUE);
        return out;
      }
    case OP_L2:
      return pt_op_l2_normalize (tape, in[0]);
    case OP_COSINE:
      return pt_op_cosine_similarity (tape, in[0], in[1]);
    case OP_CE:
      return pt_op_cross_entropy (tape, in[0], c->targets, c->f);
    case OP_MSE:
      return pt_op_mse (tape, in[0], in[1], c->flag ? c->mask : NULL);
    case OP_NTXENT:
      return pt_op_nt_xent (tape, in[0], c->f);
    case OP_WSUM:
      return pt_op_weighted_sum (tape, in[0], NULL);
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

/* Values of an input slot: up to 4096 floats each. */
typedef struct
{
  float v[PT_GRAD_MAX_INPUTS][4096];
} Values;

static void
check_op (const char *name,
          OpCase     *c,
          int         n_inputs,
          const int  *ndims,
          const int   shapes[][4],
          double      h,
          double      atol,
          double      rtol)
{
  g_autofree Values *values = g_new0 (Values, 1);
  PtGradCheck check = { 0 };

  check.name = name;
  check.h = h;
  check.atol = atol;
  check.rtol = rtol;
  for (int i = 0; i < n_inputs; i++)
    {
      g_assert_cmpuint (pt_shape_numel (ndims[i], shapes[i]), <=, 4096);
      pt_grad_input (&check, i, ndims[i], shapes[i], values->v[i], 100 + i, 1.0f);
    }
  if (c->kind == OP_MSE)
    check.no_grad[1] = TRUE;
  pt_grad_check (&check, build_op, c);
}

static void
test_grad_basic (void)
{
  OpCase c = { 0 };

  c.kind = OP_LINEAR;
  check_op ("linear", &c, 3, (int[]) { 2, 2, 1 }, (int[][4]) { { 5, 7 }, { 4, 7 }, { 4 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_LINEAR_NOBIAS;
  check_op ("linear-nobias", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 3, 6 }, { 5, 6 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_MATMUL;
  check_op ("matmul", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 4, 5 }, { 5, 3 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_MATMUL_T;
  check_op ("matmul-trans-b", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 4, 5 }, { 6, 5 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_RELU;
  check_op ("relu", &c, 1, (int[]) { 2 }, (int[][4]) { { 6, 7 } }, 1e-3, 2e-3, 1e-2);
  c.kind = OP_ADD;
  check_op ("add", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 3, 4 }, { 3, 4 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_MUL;
  check_op ("mul", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 3, 4 }, { 3, 4 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_SCALE;
  c.f = -1.5f;
  check_op ("scale", &c, 1, (int[]) { 1 }, (int[][4]) { { 9 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_RESHAPE;
  check_op ("reshape", &c, 2, (int[]) { 4, 4 }, (int[][4]) { { 2, 2, 2, 3 }, { 2, 2, 2, 3 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_CONCAT;
  check_op ("concat0", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 3, 4 }, { 2, 4 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_SLICE;
  c.a = 1;
  c.b = 4;
  check_op ("slice0", &c, 1, (int[]) { 3 }, (int[][4]) { { 5, 2, 3 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_NCHW_NHWC;
  check_op ("nchw-to-nhwc", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 3, 4, 5 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_NHWC_NCHW;
  check_op ("nhwc-to-nchw", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 4, 5, 3 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_WSUM;
  check_op ("sum", &c, 1, (int[]) { 2 }, (int[][4]) { { 4, 4 } }, 1e-2, 1e-3, 1e-2);
}

static void
test_grad_conv (void)
{
  OpCase c = { 0 };

  c.kind = OP_CONV;
  c.a = 1;
  c.b = 1;
  check_op ("conv2d-3x3-pad1", &c, 2, (int[]) { 4, 4 },
            (int[][4]) { { 2, 5, 6, 3 }, { 4, 3, 3, 3 } }, 1e-2, 2e-3, 1e-2);
  c.a = 2;
  c.b = 0;
  check_op ("conv2d-3x3-stride2", &c, 2, (int[]) { 4, 4 },
            (int[][4]) { { 2, 7, 7, 2 }, { 3, 2, 3, 3 } }, 1e-2, 2e-3, 1e-2);
  c.a = 1;
  c.b = 1;
  check_op ("conv2d-1-channel", &c, 2, (int[]) { 4, 4 },
            (int[][4]) { { 3, 6, 5, 1 }, { 4, 1, 3, 3 } }, 1e-2, 2e-3, 1e-2);
  c.a = 1;
  c.b = 0;
  check_op ("conv2d-1x1", &c, 2, (int[]) { 4, 4 },
            (int[][4]) { { 2, 3, 3, 4 }, { 5, 4, 1, 1 } }, 1e-2, 2e-3, 1e-2);
}

static void
test_grad_pool (void)
{
  OpCase c = { 0 };

  c.kind = OP_MAXPOOL;
  c.a = 2;
  c.b = 2;
  check_op ("maxpool-2x2", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 4, 6, 3 } },
            1e-3, 2e-3, 1e-2);
  c.a = 3;
  c.b = 2;
  check_op ("maxpool-3-stride2", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 7, 5, 2 } },
            1e-3, 2e-3, 1e-2);
  c.kind = OP_AVGPOOL;
  c.a = 2;
  c.b = 2;
  check_op ("avgpool-2x2", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 4, 6, 3 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_GAP;
  check_op ("global-avgpool", &c, 1, (int[]) { 4 }, (int[][4]) { { 3, 4, 5, 6 } },
            1e-2, 1e-3, 1e-2);
}

static void
test_grad_batchnorm (void)
{
  OpCase c = { 0 };

  c.kind = OP_BN;
  for (int i = 0; i < 64; i++)
    {
      c.running_mean[i] = 0.1f * (i % 5);
      c.running_var[i] = 0.5f + 0.1f * (i % 7);
    }
  c.training = TRUE;
  c.affine = TRUE;
  c.running = TRUE;
  check_op ("batchnorm2d-train", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 3, 4, 5 }, { 5 }, { 5 } }, 1e-2, 2e-3, 2e-2);
  check_op ("batchnorm1d-train", &c, 3, (int[]) { 2, 1, 1 },
            (int[][4]) { { 6, 4 }, { 4 }, { 4 } }, 1e-2, 2e-3, 2e-2);
  c.relu = TRUE;
  check_op ("batchnorm2d-relu-train", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 3, 4, 5 }, { 5 }, { 5 } }, 1e-3, 3e-3, 2e-2);
  check_op ("batchnorm1d-relu-train", &c, 3, (int[]) { 2, 1, 1 },
            (int[][4]) { { 6, 7 }, { 7 }, { 7 } }, 1e-3, 3e-3, 2e-2);
  c.relu = FALSE;
  c.affine = FALSE;
  check_op ("batchnorm1d-train-no-affine", &c, 1, (int[]) { 2 }, (int[][4]) { { 7, 3 } },
            1e-2, 2e-3, 2e-2);
  c.affine = TRUE;
  c.training = FALSE;
  check_op ("batchnorm2d-eval", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 3, 4, 5 }, { 5 }, { 5 } }, 1e-2, 2e-3, 2e-2);
  c.running = FALSE;
  check_op ("batchnorm-untracked-eval", &c, 3, (int[]) { 2, 1, 1 },
            (int[][4]) { { 6, 4 }, { 4 }, { 4 } }, 1e-2, 2e-3, 2e-2);
}

static void
test_grad_bn_relu_maxpool (void)
{
  OpCase c = { 0 };

  c.kind = OP_BRP;
  for (int i = 0; i < 64; i++)
    {
      c.running_mean[i] = 0.1f * (i % 5);
      c.running_var[i] = 0.5f + 0.1f * (i % 7);
    }
  c.a = 2;
  c.b = 2;
  c.running = TRUE;
  c.training = TRUE;
  check_op ("bn-relu-maxpool-train", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 4, 6, 3 }, { 3 }, { 3 } }, 1e-3, 3e-3, 2e-2);
  c.a = 3;
  check_op ("bn-relu-maxpool-3-stride2", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 5, 7, 2 }, { 2 }, { 2 } }, 1e-3, 3e-3, 2e-2);
  c.a = 2;
  c.training = FALSE;
  check_op ("bn-relu-maxpool-eval", &c, 3, (int[]) { 4, 1, 1 },
            (int[][4]) { { 2, 4, 6, 3 }, { 3 }, { 3 } }, 1e-3, 3e-3, 2e-2);
}

/* The fused op gives the numbers of BN -> ReLU -> max-pool in sequence. */
static void
test_bn_relu_maxpool_matches (void)
{
  const int B = 3, H = 6, W = 8, C = 5;
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtArena *arena = pt_tape_get_arena (tape);
  float rm[2][5] = { { 0 } }, rv[2][5] = { { 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1 } };
  PtTensor *x[2], *w[2], *b[2], *out[2];
  float *r;
  PtRng rng;

  pt_rng_init (&rng, 4);
  for (int v = 0; v < 2; v++)
    {
      x[v] = pt_tensor_new_4d (arena, B, H, W, C);
      w[v] = pt_tensor_new (arena, 1, &C);
      b[v] = pt_tensor_new (arena, 1, &C);
      x[v]->requires_grad = w[v]->requires_grad = b[v]->requires_grad = TRUE;
    }
  for (gsize i = 0; i < x[0]->numel; i++)
    x[0]->data[i] = x[1]->data[i] = pt_rng_normal (&rng);
  for (int i = 0; i < C; i++)
    {
      w[0]->data[i] = w[1]->data[i] = 1.0f + 0.3f * pt_rng_normal (&rng);
      b[0]->data[i] = b[1]->data[i] = 0.3f * pt_rng_normal (&rng);
    }
  out[0] = pt_op_batchnorm_relu_maxpool (tape, x[0], w[0], b[0], rm[0], rv[0], 0.1f, 1e-5f, 2, 2);
  out[1] = pt_op_maxpool2d (tape, pt_op_batchnorm (tape, x[1], w[1], b[1], rm[1], rv[1], 0.1f,
                                                   1e-5f, TRUE), 2, 2);
  pt_assert_close ("fused-out", out[0]->data, out[1]->data, out[0]->numel, 1e-6, 1e-5);
  pt_assert_close ("fused-running-mean", rm[0], rm[1], C, 1e-7, 1e-6);
  pt_assert_close ("fused-running-var", rv[0], rv[1], C, 1e-7, 1e-6);
  r = pt_tape_alloc (tape, out[0]->numel * sizeof (float));
  for (gsize i = 0; i < out[0]->numel; i++)
    r[i] = pt_rng_normal (&rng);
  pt_tape_backward (tape, pt_op_add (tape, pt_op_weighted_sum (tape, out[0], r),
                                     pt_op_weighted_sum (tape, out[1], r)));
  pt_assert_close ("fused-dx", x[0]->grad, x[1]->grad, x[0]->numel, 1e-6, 1e-4);
  pt_assert_close ("fused-dweight", w[0]->grad, w[1]->grad, C, 1e-6, 1e-4);
  pt_assert_close ("fused-dbias", b[0]->grad, b[1]->grad, C, 1e-6, 1e-4);
}

static void
test_grad_losses (void)
{
  OpCase c = { 0 };

  c.kind = OP_L2;
  check_op ("l2-normalize", &c, 1, (int[]) { 2 }, (int[][4]) { { 4, 6 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_COSINE;
  check_op ("cosine-similarity", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 4, 6 }, { 3, 6 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_CE;
  for (int i = 0; i < 16; i++)
    c.targets[i] = (i * 7) % 5;
  c.f = 0.0f;
  check_op ("cross-entropy", &c, 1, (int[]) { 2 }, (int[][4]) { { 6, 5 } }, 1e-2, 1e-3, 1e-2);
  c.f = 0.1f;
  check_op ("cross-entropy-smoothing", &c, 1, (int[]) { 2 }, (int[][4]) { { 6, 5 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_MSE;
  c.flag = FALSE;
  check_op ("mse", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 5, 4 }, { 5, 4 } },
            1e-2, 1e-3, 1e-2);
  c.flag = TRUE;
  memcpy (c.mask, (float[]) { 1, 0, 1, 1, 0 }, 5 * sizeof (float));
  check_op ("mse-masked", &c, 2, (int[]) { 2, 2 }, (int[][4]) { { 5, 4 }, { 5, 4 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_NTXENT;
  c.f = 0.5f;
  check_op ("nt-xent", &c, 1, (int[]) { 2 }, (int[][4]) { { 8, 6 } }, 1e-2, 1e-3, 1e-2);
  c.f = 0.1f;
  check_op ("nt-xent-t0.1", &c, 1, (int[]) { 2 }, (int[][4]) { { 6, 5 } }, 1e-3, 2e-3, 2e-2);
}

/* ---- chunked convolution against a naive loop --------------------------- */

static void
naive_conv (float       *out,
            const float *inp,
            const float *w,
            int B, int H, int W, int C, int OC, int K, int stride, int pad)
{
  int OH = pt_conv_out_size (H, K, stride, pad), OW = pt_conv_out_size (W, K, stride, pad);

  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        for (int o = 0; o < OC; o++)
          {
            double s = 0.0;

            for (int c = 0; c < C; c++)
              for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++)
                  {
                    int iy = oy * stride - pad + ky, ix = ox * stride - pad + kx;

                    if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                      continue;
                    s += (double) inp[(((gsize) b * H + iy) * W + ix) * C + c]
                         * w[(((gsize) o * C + c) * K + ky) * K + kx];
                  }
            out[(((gsize) b * OH + oy) * OW + ox) * OC + o] = (float) s;
          }
}

static void
check_conv_chunked (int B, int H, int C, int OC, int n_threads)
{
  int K = 3, stride = 1, pad = 1, OH = H;
  gsize nin = (gsize) B * H * H * C, nout = (gsize) B * OH * OH * OC, nw = (gsize) OC * C * 9;
  g_autofree float *x = g_new (float, nin);
  g_autofree float *w = g_new (float, nw);
  g_autofree float *y = g_new (float, nout);
  g_autofree float *ref = g_new (float, nout);
  g_autofree float *r = g_new (float, nout);
  g_autofree float *dx = g_new0 (float, nin);
  g_autofree float *dw = g_new0 (float, nw);
  g_autofree float *work = g_new (float, pt_conv2d_work_floats (B, H, H, C, OC, K, stride, pad));
  double dw_ref = 0.0, dx_ref = 0.0;
  PtRng rng;

  pt_threads_set (n_threads);
  pt_rng_init (&rng, 7);
  for (gsize i = 0; i < nin; i++)
    x[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nw; i++)
    w[i] = pt_rng_normal (&rng);
  for (gsize i = 0; i < nout; i++)
    r[i] = pt_rng_normal (&rng);

  pt_conv2d_forward (y, work, x, w, B, H, H, C, OC, K, stride, pad);
  naive_conv (ref, x, w, B, H, H, C, OC, K, stride, pad);
  pt_assert_close ("conv2d-chunked-forward", y, ref, nout, 1e-4, 1e-4);

  /* Backward against sums that a naive loop gives: d/dw[0] and d/dx[last]. */
  pt_conv2d_backward (dx, dw, work, r, x, w, B, H, H, C, OC, K, stride, pad);
  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OH; ox++)
        {
          int iy = oy - 1, ix = ox - 1;   /* tap (0,0), channel 0, output channel 0 */

          if (iy >= 0 && ix >= 0)
            dw_ref += (double) r[(((gsize) b * OH + oy) * OH + ox) * OC]
                      * x[(((gsize) b * H + iy) * H + ix) * C];
        }
  {
    /* d/dx at the last image's pixel (H-1, H-1), channel C-1 */
    int b = B - 1, iy = H - 1, ix = H - 1, c = C - 1;

    for (int o = 0; o < OC; o++)
      for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++)
          {
            int oy = iy + pad - ky, ox = ix + pad - kx;

            if (oy < 0 || oy >= OH || ox < 0 || ox >= OH)
              continue;
            dx_ref += (double) r[(((gsize) b * OH + oy) * OH + ox) * OC + o]
                      * w[(((gsize) o * C + c) * K + ky) * K + kx];
          }
  }
  {
    float got[2] = { dw[0], dx[nin - 1] }, want[2] = { (float) dw_ref, (float) dx_ref };

    pt_assert_close ("conv2d-chunked-backward", got, want, 2, 1e-3, 1e-4);
  }
  pt_threads_set (1);
}

static void
test_conv_chunked (void)
{
  /* 40 images of 16 x 16 x 24 need several column chunks. */
  check_conv_chunked (40, 16, 24, 8, 1);
  check_conv_chunked (40, 16, 24, 8, 2);
  check_conv_chunked (30, 12, 1, 16, 2);
}

/* ---- PyTorch fixtures --------------------------------------------------- */

#define FX(t, name) pt_fixture_get (t, name)

static void
test_fixture_conv2d (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("engine-conv2d.ptfx");
  const char *tags[] = { "a", "b", "c" };

  for (guint i = 0; i < G_N_ELEMENTS (tags); i++)
    {
      g_autofree char *n_dims = g_strconcat (tags[i], ".dims", NULL);
      g_autofree char *n_x = g_strconcat (tags[i], ".x_nhwc", NULL);
      g_autofree char *n_w = g_strconcat (tags[i], ".weight", NULL);
      g_autofree char *n_y = g_strconcat (tags[i], ".y_nhwc", NULL);
      g_autofree char *n_r = g_strconcat (tags[i], ".r_nhwc", NULL);
      g_autofree char *n_dx = g_strconcat (tags[i], ".dx_nhwc", NULL);
      g_autofree char *n_dw = g_strconcat (tags[i], ".dweight", NULL);
      const float *d = FX (fx, n_dims)->data;
      int B = d[0], C = d[1], H = d[2], W = d[3], OC = d[4], K = d[5], s = d[6], p = d[7];
      PtFixtureTensor *x = FX (fx, n_x), *w = FX (fx, n_w), *y = FX (fx, n_y);
      PtFixtureTensor *r = FX (fx, n_r), *dx = FX (fx, n_dx), *dw = FX (fx, n_dw);
      g_autoptr(PtTape) tape = pt_tape_new (0);
      PtTensor *tx = pt_tensor_new_4d (pt_tape_get_arena (tape), B, H, W, C);
      PtTensor *tw = pt_tensor_new_4d (pt_tape_get_arena (tape), OC, C, K, K);
      PtTensor *out;

      memcpy (tx->data, x->data, x->numel * sizeof (float));
      memcpy (tw->data, w->data, w->numel * sizeof (float));
      tx->requires_grad = tw->requires_grad = TRUE;
      out = pt_op_conv2d (tape, tx, tw, s, p);
      g_assert_cmpuint (out->numel, ==, y->numel);
      pt_assert_close (n_y, out->data, y->data, y->numel, 1e-5, 1e-4);
      pt_tape_backward (tape, pt_op_weighted_sum (tape, out, r->data));
      pt_assert_close (n_dx, tx->grad, dx->data, dx->numel, 1e-5, 1e-4);
      pt_assert_close (n_dw, tw->grad, dw->data, dw->numel, 1e-5, 1e-4);
    }
}

static void
check_fixture_batchnorm (GHashTable *fx,
                         const char *tag,
                         gboolean    training)
{
  g_autofree char *n_x = g_strconcat (tag, ".x", NULL);
  g_autofree char *n_w = g_strconcat (tag, ".weight", NULL);
  g_autofree char *n_b = g_strconcat (tag, ".bias", NULL);
  g_autofree char *n_rm0 = g_strconcat (tag, ".running_mean0", NULL);
  g_autofree char *n_rv0 = g_strconcat (tag, ".running_var0", NULL);
  g_autofree char *n_rm1 = g_strconcat (tag, ".running_mean1", NULL);
  g_autofree char *n_rv1 = g_strconcat (tag, ".running_var1", NULL);
  g_autofree char *n_r = g_strconcat (tag, ".r", NULL);
  g_autofree char *n_y = g_strconcat (tag, training ? ".y_train" : ".y_eval", NULL);
  g_autofree char *n_dx = g_strconcat (tag, training ? ".dx" : ".dx_eval", NULL);
  g_autofree char *n_dw = g_strconcat (tag, training ? ".dweight" : ".dweight_eval", NULL);
  g_autofree char *n_db = g_strconcat (tag, ".dbias", NULL);
  PtFixtureTensor *x = FX (fx, n_x), *w = FX (fx, n_w), *b = FX (fx, n_b);
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtArena *arena = pt_tape_get_arena (tape);
  int C = (int) w->numel;
  int xshape[4];
  PtTensor *tx, *tw, *tb, *out;
  g_autofree float *rm = g_memdup2 (FX (fx, training ? n_rm0 : n_rm1)->data, C * sizeof (float));
  g_autofree float *rv = g_memdup2 (FX (fx, training ? n_rv0 : n_rv1)->data, C * sizeof (float));

  for (int d = 0; d < x->ndim; d++)
    xshape[d] = x->shape[d];
  tx = pt_tensor_new (arena, x->ndim, xshape);
  tw = pt_tensor_new (arena, 1, &C);
  tb = pt_tensor_new (arena, 1, &C);
  memcpy (tx->data, x->data, x->numel * sizeof (float));
  memcpy (tw->data, w->data, C * sizeof (float));
  memcpy (tb->data, b->data, C * sizeof (float));
  tx->requires_grad = tw->requires_grad = tb->requires_grad = TRUE;
  pt_tape_set_training (tape, training);
  out = pt_op_batchnorm (tape, tx, tw, tb, rm, rv, 0.1f, 1e-5f, FALSE);
  pt_assert_close (n_y, out->data, FX (fx, n_y)->data, x->numel, 1e-5, 1e-4);
  if (training)
    {
      pt_assert_close (n_rm1, rm, FX (fx, n_rm1)->data, C, 1e-6, 1e-5);
      pt_assert_close (n_rv1, rv, FX (fx, n_rv1)->data, C, 1e-6, 1e-5);
    }
  pt_tape_backward (tape, pt_op_weighted_sum (tape, out, FX (fx, n_r)->data));
  pt_assert_close (n_dx, tx->grad, FX (fx, n_dx)->data, x->numel, 1e-5, 1e-4);
  pt_assert_close (n_dw, tw->grad, FX (fx, n_dw)->data, C, 1e-5, 1e-4);
  if (training)
    pt_assert_close (n_db, tb->grad, FX (fx, n_db)->data, C, 1e-5, 1e-4);
}

static void
test_fixture_batchnorm (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("engine-batchnorm.ptfx");

  check_fixture_batchnorm (fx, "2d", TRUE);
  check_fixture_batchnorm (fx, "2d", FALSE);
  check_fixture_batchnorm (fx, "1d", TRUE);
  check_fixture_batchnorm (fx, "1d", FALSE);
}

static void
test_fixture_losses (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("engine-losses.ptfx");
  const char *ce[] = { "ce0", "ce1" };

  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *n_l = g_strconcat (ce[i], ".logits", NULL);
      g_autofree char *n_t = g_strconcat (ce[i], ".targets", NULL);
      g_autofree char *n_s = g_strconcat (ce[i], ".smoothing", NULL);
      g_autofree char *n_loss = g_strconcat (ce[i], ".loss", NULL);
      g_autofree char *n_d = g_strconcat (ce[i], ".dlogits", NULL);
      PtFixtureTensor *l = FX (fx, n_l), *t = FX (fx, n_t);
      g_autoptr(PtTape) tape = pt_tape_new (0);
      PtTensor *tl = pt_tensor_new_2d (pt_tape_get_arena (tape), l->shape[0], l->shape[1]);
      int targets[16];
      PtTensor *loss;

      for (gsize k = 0; k < t->numel; k++)
        targets[k] = (int) t->data[k];
      memcpy (tl->data, l->data, l->numel * sizeof (float));
      tl->requires_grad = TRUE;
      loss = pt_op_cross_entropy (tape, tl, targets, FX (fx, n_s)->data[0]);
      pt_assert_close (n_loss, loss->data, FX (fx, n_loss)->data, 1, 1e-6, 1e-5);
      pt_tape_backward (tape, loss);
      pt_assert_close (n_d, tl->grad, FX (fx, n_d)->data, l->numel, 1e-6, 1e-4);
    }

  {
    PtFixtureTensor *z = FX (fx, "ntxent.z");
    g_autoptr(PtTape) tape = pt_tape_new (0);
    PtTensor *tz = pt_tensor_new_2d (pt_tape_get_arena (tape), z->shape[0], z->shape[1]);
    PtTensor *loss;

    memcpy (tz->data, z->data, z->numel * sizeof (float));
    tz->requires_grad = TRUE;
    loss = pt_op_nt_xent (tape, tz, FX (fx, "ntxent.temperature")->data[0]);
    pt_assert_close ("ntxent.loss", loss->data, FX (fx, "ntxent.loss")->data, 1, 1e-6, 1e-5);
    pt_tape_backward (tape, loss);
    pt_assert_close ("ntxent.dz", tz->grad, FX (fx, "ntxent.dz")->data, z->numel, 1e-6, 1e-4);
  }

  {
    PtFixtureTensor *p = FX (fx, "mse.pred"), *t = FX (fx, "mse.target");
    g_autoptr(PtTape) tape = pt_tape_new (0);
    PtTensor *tp = pt_tensor_new_2d (pt_tape_get_arena (tape), p->shape[0], p->shape[1]);
    PtTensor *tt = pt_tensor_new_2d (pt_tape_get_arena (tape), t->shape[0], t->shape[1]);
    PtTensor *loss;

    memcpy (tp->data, p->data, p->numel * sizeof (float));
    memcpy (tt->data, t->data, t->numel * sizeof (float));
    tp->requires_grad = TRUE;
    loss = pt_op_mse (tape, tp, tt, FX (fx, "mse.mask")->data);
    pt_assert_close ("mse.loss", loss->data, FX (fx, "mse.loss")->data, 1, 1e-6, 1e-5);
    pt_tape_backward (tape, loss);
    pt_assert_close ("mse.dpred", tp->grad, FX (fx, "mse.dpred")->data, p->numel, 1e-6, 1e-4);
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/ops/grad/basic", test_grad_basic);
  g_test_add_func ("/core/ops/grad/conv2d", test_grad_conv);
  g_test_add_func ("/core/ops/grad/pool", test_grad_pool);
  g_test_add_func ("/core/ops/grad/batchnorm", test_grad_batchnorm);
  g_test_add_func ("/core/ops/grad/bn-relu-maxpool", test_grad_bn_relu_maxpool);
  g_test_add_func ("/core/ops/bn-relu-maxpool/matches", test_bn_relu_maxpool_matches);
  g_test_add_func ("/core/ops/grad/losses", test_grad_losses);
  g_test_add_func ("/core/ops/conv2d/chunked", test_conv_chunked);
  g_test_add_func ("/core/ops/fixture/conv2d", test_fixture_conv2d);
  g_test_add_func ("/core/ops/fixture/batchnorm", test_fixture_batchnorm);
  g_test_add_func ("/core/ops/fixture/losses", test_fixture_losses);
  return g_test_run ();
}
