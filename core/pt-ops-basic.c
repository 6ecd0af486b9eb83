/* pt-ops-basic.c: linear, matmul, elementwise, shape ops. */
#include "pt-ops-private.h"

#include <string.h>

/* ---- linear / matmul ---------------------------------------------------- */

void
pt_linear_forward (float       *out,     /* [B,OC] */
                   const float *inp,     /* [B,C] */
                   const float *weight,  /* [OC,C] */
                   const float *bias,    /* [OC] or NULL */
                   int          B,
                   int          C,
                   int          OC)
{
  if (bias != NULL)
    {
      for (int b = 0; b < B; b++)
        memcpy (out + (gsize) b * OC, bias, OC * sizeof (float));
    }
  pt_sgemm (FALSE, TRUE, B, OC, C, 1.0f, inp, C, weight, C,
            bias != NULL ? 1.0f : 0.0f, out, OC);
}

void
pt_linear_backward (float       *dinp,     /* [B,C] */
                    float       *dweight,  /* [OC,C] */
                    float       *dbias,    /* [OC] */
                    const float *dout,     /* [B,OC] */
                    const float *inp,
                    const float *weight,
                    int          B,
                    int          C,
                    int          OC)
{
  if (dinp != NULL)
    pt_sgemm (FALSE, FALSE, B, C, OC, 1.0f, dout, OC, weight, C, 1.0f, dinp, C);
  if (dweight != NULL)
    pt_sgemm (TRUE, FALSE, OC, C, B, 1.0f, dout, OC, inp, C, 1.0f, dweight, C);
  if (dbias != NULL)
    for (int b = 0; b < B; b++)
      for (int o = 0; o < OC; o++)
        dbias[o] += dout[(gsize) b * OC + o];
}

void
pt_matmul_forward (float       *out,   /* [M,N] */
                   const float *a,     /* [M,K] */
                   const float *b,     /* [K,N] or [N,K] */
                   int          M,
                   int          K,
                   int          N,
                   gboolean     trans_b)
{
  pt_sgemm (FALSE, trans_b, M, N, K, 1.0f, a, K, b, trans_b ? K : N, 0.0f, out, N);
}

void
pt_matmul_backward (float       *da,
                    float       *db,
                    const float *dout,
                    const float *a,
                    const float *b,
                    int          M,
                    int          K,
                    int          N,
                    gboolean     trans_b)
{
  /* da[M,K] += dout[M,N] @ op(b)^T */
  if (da != NULL)
    pt_sgemm (FALSE, !trans_b, M, K, N, 1.0f, dout, N, b, trans_b ? K : N, 1.0f, da, K);
  if (db != NULL)
    {
      if (trans_b)   /* db[N,K] += dout^T[N,M] @ a[M,K] */
        pt_sgemm (TRUE, FALSE, N, K, M, 1.0f, dout, N, a, K, 1.0f, db, K);
      else           /* db[K,N] += a^T[K,M] @ dout[M,N] */
        pt_sgemm (TRUE, FALSE, K, N, M, 1.0f, a, K, dout, N, 1.0f, db, N);
    }
}

/* ---- elementwise -------------------------------------------------------- */

typedef struct
{
  float       *out;
  const float *a;
  const float *b;
  float        s;
  int          kind;
} EltJob;

enum { ELT_RELU, ELT_RELU_BACK, ELT_ADD_TO, ELT_MUL, ELT_SCALE, ELT_COPY,
       ELT_MUL_ACC, ELT_AXPY };

PT_HOT static void
elt_run (gsize    begin,
         gsize    end,
         gpointer data)
{
  EltJob *j = data;
  float *restrict out = j->out;
  const float *restrict a = j->a;
  const float *restrict b = j->b;
  float s = j->s;

  switch (j->kind)
    {
    case ELT_RELU:
      for (gsize i = begin; i < end; i++)
        out[i] = a[i] > 0.0f ? a[i] : 0.0f;
      break;
    case ELT_RELU_BACK:   /* out += a (dout) where b (fwd out) > 0 */
      for (gsize i = begin; i < end; i++)
        out[i] += b[i] > 0.0f ? a[i] : 0.0f;
      break;
    case ELT_ADD_TO:      /* out = a + b */
      for (gsize i = begin; i < end; i++)
        out[i] = a[i] + b[i];
      break;
    case ELT_MUL:
      for (gsize i = begin; i < end; i++)
        out[i] = a[i] * b[i];
      break;
    case ELT_SCALE:
      for (gsize i = begin; i < end; i++)
        out[i] = s * a[i];
      break;
    case ELT_COPY:
      memcpy (out + begin, a + begin, (end - begin) * sizeof (float));
      break;
    case ELT_MUL_ACC:     /* out += a * b */
      for (gsize i = begin; i < end; i++)
        out[i] += a[i] * b[i];
      break;
    case ELT_AXPY:        /* out += s * a */
      for (gsize i = begin; i < end; i++)
        out[i] += s * a[i];
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
elt (int          kind,
     float       *out,
     const float *a,
     const float *b,
     float        s,
     gsize        n)
{
  EltJob job = { out, a, b, s, kind };

  pt_par (n, 1, elt_run, &job);
}

void
pt_relu_forward (float       *out,
                 const float *inp,
                 gsize        n)
{
  elt (ELT_RELU, out, inp, NULL, 0.0f, n);
}

void
pt_relu_backward (float       *dinp,
                  const float *dout,
                  const float *out,
                  gsize        n)
{
  elt (ELT_RELU_BACK, dinp, dout, out, 0.0f, n);
}

/* ---- tape wrappers ------------------------------------------------------ */

static void
linear_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
  int B = pt_rows (x), C = pt_cols (x), OC = w->shape[0];

  pt_linear_backward (x->requires_grad ? pt_tensor_ensure_grad (x) : NULL,
                      w->requires_grad ? pt_tensor_ensure_grad (w) : NULL,
                      b != NULL && b->requires_grad ? pt_tensor_ensure_grad (b) : NULL,
                      node->out->grad, x->data, w->data, B, C, OC);
}

PtTensor *
pt_op_linear (PtTape   *tape,
              PtTensor *x,
              PtTensor *weight,
              PtTensor *bias)
{
  int B = pt_rows (x), C = pt_cols (x), OC = weight->shape[0];
  int shape[2] = { B, OC };
  PtTensor *out, *in[3] = { x, weight, bias };

  g_return_val_if_fail (weight->ndim == 2 && weight->shape[1] == C, NULL);
  g_return_val_if_fail (bias == NULL || bias->numel == (gsize) OC, NULL);

  out = pt_op_new_out (tape, 2, shape);
  pt_linear_forward (out->data, x->data, weight->data, bias ? bias->data : NULL, B, C, OC);
  pt_tape_record (tape, "linear", linear_backward, out, 3, in);
  return out;
}

static void
matmul_backward (PtTapeNode *node)
{
  PtTensor *a = node->in[0], *b = node->in[1];
  gboolean trans_b = node->iarg[0];
  int M = a->shape[0], K = a->shape[1], N = node->out->shape[1];

  pt_matmul_backward (a->requires_grad ? pt_tensor_ensure_grad (a) : NULL,
                      b->requires_grad ? pt_tensor_ensure_grad (b) : NULL,
                      node->out->grad, a->data, b->data, M, K, N, trans_b);
}

PtTensor *
pt_op_matmul (PtTape   *tape,
              PtTensor *a,
              PtTensor *b,
              gboolean  trans_b)
{
  int M, K, N, shape[2];
  PtTensor *out, *in[2] = { a, b };
  PtTapeNode *node;

  g_return_val_if_fail (a->ndim == 2 && b->ndim == 2, NULL);
  M = a->shape[0];
  K = a->shape[1];
  N = trans_b ? b->shape[0] : b->shape[1];
  g_return_val_if_fail ((trans_b ? b->shape[1] : b->shape[0]) == K, NULL);
  shape[0] = M;
  shape[1] = N;
  out = pt_op_new_out (tape, 2, shape);
  pt_matmul_forward (out->data, a->data, b->data, M, K, N, trans_b);
  node = pt_tape_record (tape, "matmul", matmul_backward, out, 2, in);
  if (node != NULL)
    node->iarg[0] = !!trans_b;
  return out;
}

static void
relu_backward (PtTapeNode *node)
{
  pt_relu_backward (pt_tensor_ensure_grad (node->in[0]), node->out->grad,
                    node->out->data, node->out->numel);
}

PtTensor *
pt_op_relu (PtTape   *tape,
            PtTensor *x)
{
  PtTensor *out = pt_op_new_out (tape, x->ndim, x->shape);

  pt_relu_forward (out->data, x->data, x->numel);
  pt_tape_record (tape, "relu", relu_backward, out, 1, &x);
  return out;
}

static void
add_backward (PtTapeNode *node)
{
  for (int i = 0; i < 2; i++)
    if (node->in[i]->requires_grad)
      elt (ELT_AXPY, pt_tensor_ensure_grad (node->in[i]), node->out->grad, NULL, 1.0f,
           node->out->numel);
}

PtTensor *
pt_op_add (PtTape   *tape,
           PtTensor *a,
           PtTensor *b)
{
  PtTensor *out, *in[2] = { a, b };

  g_return_val_if_fail (a->numel == b->numel, NULL);
  out = pt_op_new_out (tape, a->ndim, a->shape);
  elt (ELT_ADD_TO, out->data, a->data, b->data, 0.0f, a->numel);
  pt_tape_record (tape, "add", add_backward, out, 2, in);
  return out;
}

static void
mul_backward (PtTapeNode *node)
{
  PtTensor *a = node->in[0], *b = node->in[1];

  if (a->requires_grad)
    elt (ELT_MUL_ACC, pt_tensor_ensure_grad (a), node->out->grad, b->data, 0.0f, a->numel);
  if (b->requires_grad)
    elt (ELT_MUL_ACC, pt_tensor_ensure_grad (b), node->out->grad, a->data, 0.0f, b->numel);
}

PtTensor *
pt_op_mul (PtTape   *tape,
           PtTensor *a,
           PtTensor *b)
{
  PtTensor *out, *in[2] = { a, b };

  g_return_val_if_fail (a->numel == b->numel, NULL);
  out = pt_op_new_out (tape, a->ndim, a->shape);
  elt (ELT_MUL, out->data, a->data, b->data, 0.0f, a->numel);
  pt_tape_record (tape, "mul", mul_backward, out, 2, in);
  return out;
}

static void
scale_backward (PtTapeNode *node)
{
  elt (ELT_AXPY, pt_tensor_ensure_grad (node->in[0]), node->out->grad, NULL,
       node->farg[0], node->out->numel);
}

PtTensor *
pt_op_scale (PtTape   *tape,
             PtTensor *x,
             float     s)
{
  PtTensor *out = pt_op_new_out (tape, x->ndim, x->shape);
  PtTapeNode *node;

  elt (ELT_SCALE, out->data, x->data, NULL, s, x->numel);
  node = pt_tape_record (tape, "scale", scale_backward, out, 1, &x);
  if (node != NULL)
    node->farg[0] = s;
  return out;
}

static void
weighted_sum_backward (PtTapeNode *node)
{
  const float *w = node->ctx;
  float *dx = pt_tensor_ensure_grad (node->in[0]);
  float d = node->out->grad[0];

  for (gsize i = 0; i < node->in[0]->numel; i++)
    dx[i] += d * (w != NULL ? w[i] : 1.0f);
}

PtTensor *
pt_op_weighted_sum (PtTape      *tape,
                    PtTensor    *x,
                    const float *w)
{
  int shape[1] = { 1 };
  PtTensor *out = pt_op_new_out (tape, 1, shape);
  PtTapeNode *node;
  double sum = 0.0;

  for (gsize i = 0; i < x->numel; i++)
    sum += (double) x->data[i] * (w != NULL ? w[i] : 1.0f);
  out->data[0] = (float) sum;
  node = pt_tape_record (tape, "weighted_sum", weighted_sum_backward, out, 1, &x);
  if (node != NULL && w != NULL)
    {
      node->ctx = pt_tape_alloc (tape, x->numel * sizeof (float));
      memcpy (node->ctx, w, x->numel * sizeof (float));
    }
  return out;
}

PtTensor *
pt_op_reshape (PtTape    *tape,
               PtTensor  *x,
               int        ndim,
               const int *shape)
{
  PtTensor *out = pt_arena_alloc (pt_tape_get_arena (tape), sizeof (PtTensor));

  g_return_val_if_fail (pt_shape_numel (ndim, shape) == x->numel, NULL);
  pt_tensor_init (out, x->data, NULL, ndim, shape);
  out->arena = pt_tape_get_arena (tape);
  /* A view: share the gradient buffer, so gradients reach x with no node. */
  if (x->requires_grad && pt_tape_get_grad_enabled (tape))
    {
      out->grad = pt_tensor_ensure_grad (x);
      out->requires_grad = TRUE;
    }
  return out;
}

PtTensor *
pt_op_detach (PtTape   *tape,
              PtTensor *x)
{
  PtTensor *out = pt_arena_alloc (pt_tape_get_arena (tape), sizeof (PtTensor));

  pt_tensor_init (out, x->data, NULL, x->ndim, x->shape);
  out->arena = pt_tape_get_arena (tape);
  return out;
}

static void
concat0_backward (PtTapeNode *node)
{
  gsize offset = 0;

  for (int i = 0; i < node->n_in; i++)
    {
      PtTensor *x = node->in[i];

      if (x->requires_grad)
        elt (ELT_AXPY, pt_tensor_ensure_grad (x), node->out->grad + offset, NULL, 1.0f, x->numel);
      offset += x->numel;
    }
}

PtTensor *
pt_op_concat0 (PtTape    *tape,
               int        n,
               PtTensor **xs)
{
  int shape[PT_MAX_DIMS];
  PtTensor *out;
  gsize offset = 0;

  g_return_val_if_fail (n >= 1 && n <= PT_TAPE_MAX_INPUTS, NULL);
  memcpy (shape, xs[0]->shape, sizeof shape);
  shape[0] = 0;
  for (int i = 0; i < n; i++)
    {
      g_return_val_if_fail (xs[i]->ndim == xs[0]->ndim, NULL);
      for (int d = 1; d < xs[0]->ndim; d++)
        g_return_val_if_fail (xs[i]->shape[d] == xs[0]->shape[d], NULL);
      shape[0] += xs[i]->shape[0];
    }
  out = pt_op_new_out (tape, xs[0]->ndim, shape);
  for (int i = 0; i < n; i++)
    {
      elt (ELT_COPY, out->data + offset, xs[i]->data, NULL, 0.0f, xs[i]->numel);
      offset += xs[i]->numel;
    }
  pt_tape_record (tape, "concat0", concat0_backward, out, n, xs);
  return out;
}

static void
slice0_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];
  gsize row = x->numel / (gsize) x->shape[0];

  elt (ELT_AXPY, pt_tensor_ensure_grad (x) + row * node->iarg[0], node->out->grad, NULL, 1.0f,
       node->out->numel);
}

PtTensor *
pt_op_slice0 (PtTape   *tape,
              PtTensor *x,
              int       begin,
              int       end)
{
  int shape[PT_MAX_DIMS];
  PtTensor *out;
  PtTapeNode *node;
  gsize row;

  g_return_val_if_fail (0 <= begin && begin <= end && end <= x->shape[0], NULL);
  memcpy (shape, x->shape, sizeof shape);
  shape[0] = end - begin;
  row = x->shape[0] > 0 ? x->numel / (gsize) x->shape[0] : 0;
  out = pt_op_new_out (tape, x->ndim, shape);
  elt (ELT_COPY, out->data, x->data + row * begin, NULL, 0.0f, out->numel);
  node = pt_tape_record (tape, "slice0", slice0_backward, out, 1, &x);
  if (node != NULL)
    node->iarg[0] = begin;
  return out;
}

/* Permutes [B, P, Q] to [B, Q, P] (a batch of transposes). */
typedef struct
{
  float       *out;
  const float *inp;
  int          P, Q;
  gboolean     accumulate;
} TransposeJob;

static void
transpose_run (gsize    begin,
               gsize    end,
               gpointer data)
{
  TransposeJob *j = data;
  gsize plane = (gsize) j->P * j->Q;

  for (gsize b = begin; b < end; b++)
    {
      const float *src = j->inp + b * plane;
      float *dst = j->out + b * plane;

      for (int p = 0; p < j->P; p++)
        for (int q = 0; q < j->Q; q++)
          {
            if (j->accumulate)
              dst[(gsize) q * j->P + p] += src[(gsize) p * j->Q + q];
            else
              dst[(gsize) q * j->P + p] = src[(gsize) p * j->Q + q];
          }
    }
}

static void
batch_transpose (float       *out,
                 const float *inp,
                 int          B,
                 int          P,
                 int          Q,
                 gboolean     accumulate)
{
  TransposeJob job = { out, inp, P, Q, accumulate };

  pt_par (B, (gsize) P * Q, transpose_run, &job);
}

static void
permute_backward (PtTapeNode *node)
{
  /* Forward mapped [B,P,Q] -> [B,Q,P]; backward maps [B,Q,P] -> [B,P,Q]. */
  batch_transpose (pt_tensor_ensure_grad (node->in[0]), node->out->grad,
                   node->iarg[0], node->iarg[2], node->iarg[1], TRUE);
}

static PtTensor *
permute_op (PtTape   *tape,
            PtTensor *x,
            int       B,
            int       P,
            int       Q,
            const int shape[4])
{
  PtTensor *out = pt_op_new_out (tape, 4, shape);
  PtTapeNode *node;

  batch_transpose (out->data, x->data, B, P, Q, FALSE);
  node = pt_tape_record (tape, "permute", permute_backward, out, 1, &x);
  if (node != NULL)
    {
      node->iarg[0] = B;
      node->iarg[1] = P;
      node->iarg[2] = Q;
    }
  return out;
}

PtTensor *
pt_op_nchw_to_nhwc (PtTape   *tape,
                    PtTensor *x)
{
  int shape[4];

  g_return_val_if_fail (x->ndim == 4, NULL);
  shape[0] = x->shape[0];
  shape[1] = x->shape[2];
  shape[2] = x->shape[3];
  shape[3] = x->shape[1];
  if (x->shape[1] == 1)
    return pt_op_reshape (tape, x, 4, shape);
  return permute_op (tape, x, x->shape[0], x->shape[1], x->shape[2] * x->shape[3], shape);
}

PtTensor *
pt_op_nhwc_to_nchw (PtTape   *tape,
                    PtTensor *x)
{
  int shape[4];

  g_return_val_if_fail (x->ndim == 4, NULL);
  shape[0] = x->shape[0];
  shape[1] = x->shape[3];
  shape[2] = x->shape[1];
  shape[3] = x->shape[2];
  if (x->shape[3] == 1)
    return pt_op_reshape (tape, x, 4, shape);
  return permute_op (tape, x, x->shape[0], x->shape[1] * x->shape[2], x->shape[3], shape);
}
