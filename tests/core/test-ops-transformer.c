/* Tests for the transformer operators: a finite-difference gradient check
 * for every op (attention and layernorm included), the patchify order and
 * the MAE gathers on hand-made cases, and PyTorch fixtures for layernorm,
 * GELU and nn.MultiheadAttention. */
#include <math.h>
#include <string.h>

#include "pt-ops-transformer.h"
#include "pt-threads.h"
#include "pt-test-fixture.h"
#include "pt-test-grad.h"

typedef enum
{
  OP_LAYERNORM, OP_LAYERNORM_PLAIN, OP_GELU, OP_SOFTMAX, OP_LINEAR_TOKENS, OP_ATTENTION,
  OP_SELF_ATTENTION, OP_PATCHIFY, OP_UNPATCHIFY, OP_GATHER, OP_SCATTER, OP_SCATTER_ZERO,
  OP_SLICE, OP_CONCAT, OP_ADD_BROADCAST,
} OpKind;

typedef struct
{
  OpKind kind;
  int    a, b, c, d;
  float  scale;          /* of the random inputs; 0 means 1 */
  gint32 idx[64];
} OpCase;

static PtTensor *
build_op (PtTape    *tape,
          PtTensor **in,
          gpointer   data)
{
  OpCase *c = data;

  switch (c->kind)
    {
    case OP_LAYERNORM:
      return pt_op_layernorm (tape, in[0], in[1], in[2], 1e-5f);
    case OP_LAYERNORM_PLAIN:
      return pt_op_layernorm (tape, in[0], NULL, NULL, 1e-5f);
    case OP_GELU:
      return pt_op_gelu (tape, in[0]);
    case OP_SOFTMAX:
      return pt_op_softmax (tape, in[0]);
    case OP_LINEAR_TOKENS:
      return pt_op_linear_tokens (tape, in[0], in[1], in[2]);
    case OP_ATTENTION:
      return pt_op_attention (tape, in[0], c->a);
    case OP_SELF_ATTENTION:
      {
        /* in[1] packs in_proj_weight {3D,D} then in_proj_bias {3D};
         * in[2] packs out weight {D,D} then out bias {D}. */
        int D = in[0]->shape[2];
        int s_w[2] = { 3 * D, D }, s_b[1] = { 3 * D }, s_ow[2] = { D, D }, s_ob[1] = { D };
        PtTensor *w = pt_op_slice0 (tape, pt_op_reshape (tape, in[1], 1, (int[]) { (int) in[1]->numel }), 0, 3 * D * D);
        PtTensor *b = pt_op_slice0 (tape, pt_op_reshape (tape, in[1], 1, (int[]) { (int) in[1]->numel }), 3 * D * D, 3 * D * D + 3 * D);
        PtTensor *ow = pt_op_slice0 (tape, pt_op_reshape (tape, in[2], 1, (int[]) { (int) in[2]->numel }), 0, D * D);
        PtTensor *ob = pt_op_slice0 (tape, pt_op_reshape (tape, in[2], 1, (int[]) { (int) in[2]->numel }), D * D, D * D + D);

        return pt_op_self_attention (tape, in[0], pt_op_reshape (tape, w, 2, s_w),
                                     pt_op_reshape (tape, b, 1, s_b),
                                     pt_op_reshape (tape, ow, 2, s_ow),
                                     pt_op_reshape (tape, ob, 1, s_ob), c->a);
      }
    case OP_PATCHIFY:
      return pt_op_patchify (tape, in[0], c->a);
    case OP_UNPATCHIFY:
      return pt_op_unpatchify (tape, in[0], c->a, c->b, c->c, c->d);
    case OP_GATHER:
      return pt_op_gather_tokens (tape, in[0], c->idx, c->a);
    case OP_SCATTER:
      return pt_op_scatter_tokens (tape, in[0], c->idx, c->a, in[1]);
    case OP_SCATTER_ZERO:
      return pt_op_scatter_tokens (tape, in[0], c->idx, c->a, NULL);
    case OP_SLICE:
      return pt_op_slice_tokens (tape, in[0], c->a, c->b);
    case OP_CONCAT:
      return pt_op_concat_tokens (tape, in[0], in[1]);
    case OP_ADD_BROADCAST:
      return pt_op_add_broadcast (tape, in[0], in[1]);
    default:
      g_assert_not_reached ();
    }
}

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
      pt_grad_input (&check, i, ndims[i], shapes[i], values->v[i], 200 + i,
                     c->scale > 0.0f ? c->scale : 1.0f);
    }
  pt_grad_check (&check, build_op, c);
}

static void
test_grad_norm (void)
{
  OpCase c = { 0 };

  c.kind = OP_LAYERNORM;
  check_op ("layernorm", &c, 3, (int[]) { 3, 1, 1 },
            (int[][4]) { { 2, 3, 8 }, { 8 }, { 8 } }, 1e-2, 2e-3, 1e-2);
  c.kind = OP_LAYERNORM_PLAIN;
  check_op ("layernorm-plain", &c, 1, (int[]) { 2 }, (int[][4]) { { 5, 7 } },
            1e-2, 2e-3, 1e-2);
  c.kind = OP_GELU;
  check_op ("gelu", &c, 1, (int[]) { 2 }, (int[][4]) { { 6, 9 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_SOFTMAX;
  check_op ("softmax", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 3, 7 } }, 1e-2, 1e-3, 1e-2);
}

static void
test_grad_attention (void)
{
  OpCase c = { 0 };

  c.kind = OP_LINEAR_TOKENS;
  check_op ("linear-tokens", &c, 3, (int[]) { 3, 2, 1 },
            (int[][4]) { { 2, 3, 5 }, { 4, 5 }, { 4 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_ATTENTION;
  c.a = 2;
  check_op ("attention", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 5, 3 * 8 } },
            1e-2, 2e-3, 1e-2);
  c.a = 2;   /* dh = 16: the register-blocked path */
  check_op ("attention-dh16", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 11, 3 * 32 } },
            1e-2, 2e-3, 1e-2);
  c.a = 2;   /* T = 70: score blocks of 64 + 8 columns */
  check_op ("attention-long", &c, 1, (int[]) { 3 }, (int[][4]) { { 1, 70, 3 * 16 } },
            1e-2, 2e-3, 1e-2);
  c.a = 1;   /* dh = 8 */
  check_op ("attention-dh8", &c, 1, (int[]) { 3 }, (int[][4]) { { 1, 9, 3 * 8 } },
            1e-2, 2e-3, 1e-2);
  check_op ("attention-1head", &c, 1, (int[]) { 3 }, (int[][4]) { { 3, 4, 3 * 6 } },
            1e-2, 2e-3, 1e-2);
  c.kind = OP_SELF_ATTENTION;
  c.a = 2;
  /* Weights of scale 1 on 6 channels saturate the softmax, where central
   * differences with h = 1e-2 lose accuracy; 0.5 keeps it soft. */
  c.scale = 0.5f;
  check_op ("self-attention", &c, 3, (int[]) { 3, 1, 1 },
            (int[][4]) { { 2, 4, 6 }, { 3 * 6 * 6 + 3 * 6 }, { 6 * 6 + 6 } },
            1e-2, 2e-3, 1e-2);
}

static void
test_grad_tokens (void)
{
  OpCase c = { 0 };
  const gint32 idx[6] = { 4, 0, 2, 1, 3, 0 };

  c.kind = OP_PATCHIFY;
  c.a = 2;
  check_op ("patchify", &c, 1, (int[]) { 4 }, (int[][4]) { { 2, 3, 4, 6 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_UNPATCHIFY;
  c.a = 3;
  c.b = 4;
  c.c = 6;
  c.d = 2;
  check_op ("unpatchify", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 6, 12 } },
            1e-2, 1e-3, 1e-2);
  memcpy (c.idx, idx, sizeof idx);
  c.kind = OP_GATHER;
  c.a = 3;
  check_op ("gather-tokens", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 5, 4 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_SCATTER;
  c.a = 5;
  check_op ("scatter-tokens", &c, 2, (int[]) { 3, 3 },
            (int[][4]) { { 2, 3, 4 }, { 1, 1, 4 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_SCATTER_ZERO;
  check_op ("scatter-tokens-zero", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 3, 4 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_SLICE;
  c.a = 1;
  c.b = 4;
  check_op ("slice-tokens", &c, 1, (int[]) { 3 }, (int[][4]) { { 2, 5, 3 } },
            1e-2, 1e-3, 1e-2);
  c.kind = OP_CONCAT;
  check_op ("concat-tokens-broadcast", &c, 2, (int[]) { 3, 3 },
            (int[][4]) { { 1, 1, 4 }, { 3, 2, 4 } }, 1e-2, 1e-3, 1e-2);
  check_op ("concat-tokens", &c, 2, (int[]) { 3, 3 },
            (int[][4]) { { 3, 2, 4 }, { 3, 3, 4 } }, 1e-2, 1e-3, 1e-2);
  c.kind = OP_ADD_BROADCAST;
  check_op ("add-broadcast", &c, 2, (int[]) { 3, 2 },
            (int[][4]) { { 3, 2, 4 }, { 2, 4 } }, 1e-2, 1e-3, 1e-2);
}

/* Patchify on a numbered image, against the index arithmetic of torch's
 * reshape (B,C,H/p,p,W/p,p).permute (0,2,4,3,5,1), and back. */
static void
test_patchify_order (void)
{
  enum { B = 2, C = 3, H = 4, W = 6, p = 2 };
  float img[B * C * H * W], patches[B * C * H * W], back[B * C * H * W];
  int Hp = H / p, Wp = W / p;

  for (int i = 0; i < B * C * H * W; i++)
    img[i] = (float) i;
  pt_patchify_forward (patches, img, B, C, H, W, p);
  for (int b = 0; b < B; b++)
    for (int gh = 0; gh < Hp; gh++)
      for (int gw = 0; gw < Wp; gw++)
        for (int pi = 0; pi < p; pi++)
          for (int pj = 0; pj < p; pj++)
            for (int c = 0; c < C; c++)
              {
                int n = gh * Wp + gw;
                float got = patches[((b * Hp * Wp) + n) * p * p * C + (pi * p + pj) * C + c];
                float want = img[((b * C + c) * H + gh * p + pi) * W + gw * p + pj];

                g_assert_cmpfloat (got, ==, want);
              }
  memset (back, 0, sizeof back);
  pt_unpatchify_add (back, patches, B, C, H, W, p);
  g_assert_cmpmem (back, sizeof back, img, sizeof img);
}

static void
test_scatter_fill (void)
{
  enum { B = 1, T = 4, K = 2, D = 2 };
  const gint32 idx[K] = { 3, 1 };
  const float inp[K * D] = { 1, 2, 3, 4 };
  const float fill[D] = { -1, -2 };
  const float want[T * D] = { -1, -2, 3, 4, -1, -2, 1, 2 };
  float out[T * D];

  pt_scatter_tokens_forward (out, inp, fill, idx, B, T, K, D);
  g_assert_cmpmem (out, sizeof out, want, sizeof want);
}

/* Far tails and a ragged length (the vector tail path): against erf. */
static void
test_gelu_values (void)
{
  const float x[11] = { -1e4f, -40.0f, -9.0f, -2.5f, -1e-3f, 0.0f, 1e-3f, 0.7f, 3.0f, 40.0f, 1e4f };
  float y[11], dx[11] = { 0 }, ones[11];

  for (int i = 0; i < 11; i++)
    ones[i] = 1.0f;
  pt_gelu_forward (y, x, 11);
  pt_gelu_backward (dx, ones, x, 11);
  for (int i = 0; i < 11; i++)
    {
      double xd = x[i], cdf = 0.5 * (1.0 + erf (xd / sqrt (2.0)));
      double want = xd * cdf;
      double dwant = cdf + xd * exp (-0.5 * xd * xd) / sqrt (2.0 * G_PI);

      g_assert_true (isfinite (y[i]) && isfinite (dx[i]));
      g_assert_cmpfloat (fabs (y[i] - want), <=, 1e-6 + 1e-6 * fabs (want));
      g_assert_cmpfloat (fabs (dx[i] - dwant), <=, 1e-6 + 1e-6 * fabs (dwant));
    }
}

#define FX(t, n) pt_fixture_get ((t), (n))

static PtTensor *
fx_tensor (PtTape     *tape,
           GHashTable *fx,
           const char *name,
           gboolean    requires_grad)
{
  PtFixtureTensor *f = FX (fx, name);
  PtTensor *t = pt_tensor_new (pt_tape_get_arena (tape), f->ndim, f->shape);

  memcpy (t->data, f->data, f->numel * sizeof (float));
  t->requires_grad = requires_grad;
  return t;
}

static void
test_fixture_ops (void)
{
  g_autoptr(GHashTable) fx = pt_fixture_load ("vit-ops.ptfx");
  g_autoptr(PtTape) tape = pt_tape_new (0);

  /* layernorm */
  {
    PtTensor *x = fx_tensor (tape, fx, "ln.x", TRUE);
    PtTensor *w = fx_tensor (tape, fx, "ln.weight", TRUE);
    PtTensor *b = fx_tensor (tape, fx, "ln.bias", TRUE);
    PtTensor *y = pt_op_layernorm (tape, x, w, b, 1e-5f);

    pt_assert_close ("ln.y", y->data, FX (fx, "ln.y")->data, y->numel, 1e-5, 1e-4);
    pt_tape_backward (tape, pt_op_weighted_sum (tape, y, FX (fx, "ln.r")->data));
    pt_assert_close ("ln.dx", x->grad, FX (fx, "ln.dx")->data, x->numel, 1e-5, 1e-4);
    pt_assert_close ("ln.dweight", w->grad, FX (fx, "ln.dweight")->data, w->numel, 1e-5, 1e-4);
    pt_assert_close ("ln.dbias", b->grad, FX (fx, "ln.dbias")->data, b->numel, 1e-5, 1e-4);
  }
  pt_tape_reset (tape);
  /* GELU */
  {
    PtTensor *x = fx_tensor (tape, fx, "gelu.x", TRUE);
    PtTensor *y = pt_op_gelu (tape, x);

    pt_assert_close ("gelu.y", y->data, FX (fx, "gelu.y")->data, y->numel, 1e-6, 1e-5);
    pt_tape_backward (tape, pt_op_weighted_sum (tape, y, FX (fx, "gelu.r")->data));
    pt_assert_close ("gelu.dx", x->grad, FX (fx, "gelu.dx")->data, x->numel, 1e-6, 1e-5);
  }
  pt_tape_reset (tape);
  /* softmax */
  {
    PtTensor *x = fx_tensor (tape, fx, "softmax.x", TRUE);
    PtTensor *y = pt_op_softmax (tape, x);

    pt_assert_close ("softmax.y", y->data, FX (fx, "softmax.y")->data, y->numel, 1e-7, 1e-5);
    pt_tape_backward (tape, pt_op_weighted_sum (tape, y, FX (fx, "softmax.r")->data));
    pt_assert_close ("softmax.dx", x->grad, FX (fx, "softmax.dx")->data, x->numel, 1e-6, 1e-4);
  }
  pt_tape_reset (tape);
  /* nn.MultiheadAttention (batch_first, need_weights=False) */
  {
    PtTensor *x = fx_tensor (tape, fx, "mha.x", TRUE);
    PtTensor *w = fx_tensor (tape, fx, "mha.in_proj_weight", TRUE);
    PtTensor *b = fx_tensor (tape, fx, "mha.in_proj_bias", TRUE);
    PtTensor *ow = fx_tensor (tape, fx, "mha.out_proj.weight", TRUE);
    PtTensor *ob = fx_tensor (tape, fx, "mha.out_proj.bias", TRUE);
    int heads = (int) FX (fx, "mha.heads")->data[0];
    PtTensor *y = pt_op_self_attention (tape, x, w, b, ow, ob, heads);

    pt_assert_close ("mha.y", y->data, FX (fx, "mha.y")->data, y->numel, 1e-5, 1e-4);
    pt_tape_backward (tape, pt_op_weighted_sum (tape, y, FX (fx, "mha.r")->data));
    pt_assert_close ("mha.dx", x->grad, FX (fx, "mha.dx")->data, x->numel, 1e-5, 1e-4);
    pt_assert_close ("mha.din_proj_weight", w->grad, FX (fx, "mha.din_proj_weight")->data,
                     w->numel, 1e-5, 1e-4);
    pt_assert_close ("mha.din_proj_bias", b->grad, FX (fx, "mha.din_proj_bias")->data,
                     b->numel, 1e-5, 1e-4);
    pt_assert_close ("mha.dout_proj.weight", ow->grad, FX (fx, "mha.dout_proj.weight")->data,
                     ow->numel, 1e-5, 1e-4);
    pt_assert_close ("mha.dout_proj.bias", ob->grad, FX (fx, "mha.dout_proj.bias")->data,
                     ob->numel, 1e-5, 1e-4);
  }
  pt_tape_reset (tape);
  /* patchify as torch does it */
  {
    PtTensor *x = fx_tensor (tape, fx, "patchify.x", FALSE);
    int p = (int) FX (fx, "patchify.p")->data[0];
    PtTensor *y = pt_op_patchify (tape, x, p);

    pt_assert_close ("patchify.y", y->data, FX (fx, "patchify.y")->data, y->numel, 0, 0);
  }
}

/* The same attention with 1 and 2 threads: bit-identical. */
static void
test_attention_threads (void)
{
  enum { B = 8, T = 50, D = 64, NH = 4 };
  g_autofree float *qkv = g_new (float, B * T * 3 * D);
  g_autofree float *out1 = g_new (float, B * T * D);
  g_autofree float *out2 = g_new (float, B * T * D);
  g_autofree float *att = g_new (float, B * NH * T * T);
  g_autofree float *d1 = g_new0 (float, B * T * 3 * D);
  g_autofree float *d2 = g_new0 (float, B * T * 3 * D);
  PtRng rng;

  pt_rng_init (&rng, 7);
  for (int i = 0; i < B * T * 3 * D; i++)
    qkv[i] = pt_rng_normal (&rng);
  pt_threads_set (1);
  pt_attention_forward (out1, att, qkv, B, T, D, NH);
  pt_attention_backward (d1, out1, att, qkv, B, T, D, NH);
  pt_threads_set (2);
  pt_attention_forward (out2, att, qkv, B, T, D, NH);
  pt_attention_backward (d2, out2, att, qkv, B, T, D, NH);
  pt_threads_set (1);
  g_assert_cmpmem (out1, B * T * D * sizeof (float), out2, B * T * D * sizeof (float));
  g_assert_cmpmem (d1, B * T * 3 * D * sizeof (float), d2, B * T * 3 * D * sizeof (float));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/ops-transformer/grad/norm", test_grad_norm);
  g_test_add_func ("/core/ops-transformer/grad/attention", test_grad_attention);
  g_test_add_func ("/core/ops-transformer/grad/tokens", test_grad_tokens);
  g_test_add_func ("/core/ops-transformer/patchify/order", test_patchify_order);
  g_test_add_func ("/core/ops-transformer/scatter/fill", test_scatter_fill);
  g_test_add_func ("/core/ops-transformer/gelu/values", test_gelu_values);
  g_test_add_func ("/core/ops-transformer/attention/threads", test_attention_threads);
  g_test_add_func ("/core/ops-transformer/fixture", test_fixture_ops);
  return g_test_run ();
}
