/* pt-ops-loss.c: cross-entropy with label smoothing, MSE, NT-Xent. */
#include "pt-ops-private.h"

#include <math.h>
#include <string.h>

/* probs row = softmax (logits row); returns log of the normalizer (max + log sum). */
static double
softmax_row (float       *probs,
             const float *logits,
             int          K,
             int          skip)     /* column excluded (probability 0), or -1 */
{
  float mx = -INFINITY;
  double sum = 0.0;

  for (int k = 0; k < K; k++)
    if (k != skip && logits[k] > mx)
      mx = logits[k];
  for (int k = 0; k < K; k++)
    {
      float e = k == skip ? 0.0f : expf (logits[k] - mx);

      probs[k] = e;
      sum += e;
    }
  for (int k = 0; k < K; k++)
    probs[k] = (float) (probs[k] / sum);
  return mx + log (sum);
}

float
pt_cross_entropy_forward (float       *probs,     /* [B,K] */
                          const float *logits,    /* [B,K] */
                          const int   *targets,   /* [B] */
                          int          B,
                          int          K,
                          float        smoothing)
{
  double total = 0.0;

  for (int b = 0; b < B; b++)
    {
      const float *l = logits + (gsize) b * K;
      double lse = softmax_row (probs + (gsize) b * K, l, K, -1);
      double nll = lse - l[targets[b]];

      if (smoothing > 0.0f)
        {
          double mean_nll = 0.0;

          for (int k = 0; k < K; k++)
            mean_nll += lse - l[k];
          mean_nll /= K;
          total += (1.0 - smoothing) * nll + smoothing * mean_nll;
        }
      else
        total += nll;
    }
  return (float) (total / B);
}

void
pt_cross_entropy_backward (float       *dlogits,
                           float        dloss,
                           const float *probs,
                           const int   *targets,
                           int          B,
                           int          K,
                           float        smoothing)
{
  float s = dloss / B;

  for (int b = 0; b < B; b++)
    {
      const float *p = probs + (gsize) b * K;
      float *d = dlogits + (gsize) b * K;

      for (int k = 0; k < K; k++)
        {
          float q = smoothing / K + (k == targets[b] ? 1.0f - smoothing : 0.0f);

          d[k] += s * (p[k] - q);
        }
    }
}

static double
mse_denominator (const float *mask,
                 int          R,
                 int          D)
{
  double n = 0.0;

  if (mask == NULL)
    return (double) R * D;
  for (int r = 0; r < R; r++)
    n += mask[r];
  return n * D;
}

float
pt_mse_forward (const float *pred,
                const float *target,
                const float *mask,
                int          R,
                int          D)
{
  double total = 0.0, denom = mse_denominator (mask, R, D);

  if (denom <= 0.0)
    return 0.0f;
  for (int r = 0; r < R; r++)
    {
      double row = 0.0;

      if (mask != NULL && mask[r] == 0.0f)
        continue;
      for (int d = 0; d < D; d++)
        {
          double e = (double) pred[(gsize) r * D + d] - target[(gsize) r * D + d];

          row += e * e;
        }
      total += (mask != NULL ? mask[r] : 1.0f) * row;
    }
  return (float) (total / denom);
}

void
pt_mse_backward (float       *dpred,
                 float        dloss,
                 const float *pred,
                 const float *target,
                 const float *mask,
                 int          R,
                 int          D)
{
  double denom = mse_denominator (mask, R, D);

  if (denom <= 0.0)
    return;
  for (int r = 0; r < R; r++)
    {
      float s = (float) (2.0 * dloss * (mask != NULL ? mask[r] : 1.0f) / denom);

      if (s == 0.0f)
        continue;
      for (int d = 0; d < D; d++)
        {
          gsize i = (gsize) r * D + d;

          dpred[i] += s * (pred[i] - target[i]);
        }
    }
}

float
pt_nt_xent_forward (float       *zn,      /* [M,D] */
                    float       *norms,   /* [M] */
                    float       *probs,   /* [M,M] */
                    const float *z,       /* [M,D] */
                    int          M,
                    int          D,
                    float        temperature)
{
  int N = M / 2;
  double total = 0.0;

  g_return_val_if_fail (M % 2 == 0 && M >= 2, NAN);

  pt_l2_normalize_forward (zn, norms, z, M, D, 1e-12f);
  /* logits = zn zn^T / t, stored in probs then turned into softmax rows */
  pt_sgemm (FALSE, TRUE, M, M, D, 1.0f / temperature, zn, D, zn, D, 0.0f, probs, M);
  for (int i = 0; i < M; i++)
    {
      float *row = probs + (gsize) i * M;
      int pos = (i + N) % M;
      float positive = row[pos];
      double lse = softmax_row (row, row, M, i);

      total += lse - positive;
    }
  return (float) (total / M);
}

void
pt_nt_xent_backward (float       *dz,
                     float        dloss,
                     const float *zn,
                     const float *norms,
                     const float *probs,
                     int          M,
                     int          D,
                     float        temperature,
                     float       *work)      /* [M*M + M*D] */
{
  int N = M / 2;
  float *g = work, *dzn = work + (gsize) M * M;
  float s = dloss / M;

  /* g = d loss / d logits = (P - Y) / M */
  for (int i = 0; i < M; i++)
    for (int j = 0; j < M; j++)
      g[(gsize) i * M + j] = s * (probs[(gsize) i * M + j] - (j == (i + N) % M ? 1.0f : 0.0f));
  /* logits = zn zn^T / t: dzn = (g + g^T) zn / t */
  pt_sgemm (FALSE, FALSE, M, D, M, 1.0f / temperature, g, M, zn, D, 0.0f, dzn, D);
  pt_sgemm (TRUE, FALSE, M, D, M, 1.0f / temperature, g, M, zn, D, 1.0f, dzn, D);
  pt_l2_normalize_backward (dz, dzn, zn, norms, M, D, 1e-12f);
}

/* ---- tape wrappers ------------------------------------------------------ */

static PtTensor *
new_scalar (PtTape *tape,
            float   value)
{
  int shape[1] = { 1 };
  PtTensor *out = pt_op_new_out (tape, 1, shape);

  out->data[0] = value;
  return out;
}

typedef struct
{
  float *probs;
  int   *targets;
} CeCtx;

static void
cross_entropy_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];
  CeCtx *ctx = node->ctx;

  pt_cross_entropy_backward (pt_tensor_ensure_grad (x), node->out->grad[0], ctx->probs,
                             ctx->targets, pt_rows (x), pt_cols (x), node->farg[0]);
}

PtTensor *
pt_op_cross_entropy (PtTape    *tape,
                     PtTensor  *logits,
                     const int *targets,
                     float      smoothing)
{
  int B = pt_rows (logits), K = pt_cols (logits);
  CeCtx *ctx = pt_tape_alloc (tape, sizeof (CeCtx));
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (smoothing >= 0.0f && smoothing <= 1.0f, NULL);
  for (int b = 0; b < B; b++)
    g_return_val_if_fail (targets[b] >= 0 && targets[b] < K, NULL);

  ctx->probs = pt_tape_alloc (tape, logits->numel * sizeof (float));
  ctx->targets = pt_tape_alloc (tape, B * sizeof (int));
  memcpy (ctx->targets, targets, B * sizeof (int));
  out = new_scalar (tape, pt_cross_entropy_forward (ctx->probs, logits->data, targets, B, K,
                                                    smoothing));
  node = pt_tape_record (tape, "cross_entropy", cross_entropy_backward, out, 1, &logits);
  if (node != NULL)
    {
      node->ctx = ctx;
      node->farg[0] = smoothing;
    }
  return out;
}

static void
mse_backward (PtTapeNode *node)
{
  PtTensor *p = node->in[0], *t = node->in[1];

  pt_mse_backward (pt_tensor_ensure_grad (p), node->out->grad[0], p->data, t->data, node->ctx,
                   pt_rows (p), pt_cols (p));
}

PtTensor *
pt_op_mse (PtTape      *tape,
           PtTensor    *pred,
           PtTensor    *target,
           const float *mask)
{
  int R = pt_rows (pred), D = pt_cols (pred);
  PtTensor *out;
  PtTapeNode *node;
  float *mask_copy = NULL;

  g_return_val_if_fail (pred->numel == target->numel, NULL);
  if (mask != NULL)
    {
      mask_copy = pt_tape_alloc (tape, R * sizeof (float));
      memcpy (mask_copy, mask, R * sizeof (float));
    }
  out = new_scalar (tape, pt_mse_forward (pred->data, target->data, mask, R, D));
  /* The target is a constant: only pred takes part in recording. */
  node = pt_tape_record (tape, "mse", mse_backward, out, 1, &pred);
  if (node != NULL)
    {
      node->in[1] = target;
      node->ctx = mask_copy;
    }
  return out;
}

typedef struct
{
  float  *zn;
  float  *norms;
  float  *probs;
  PtTape *tape;
} NtXentCtx;

static void
nt_xent_backward (PtTapeNode *node)
{
  PtTensor *z = node->in[0];
  NtXentCtx *ctx = node->ctx;
  int M = pt_rows (z), D = pt_cols (z);
  float *work = pt_tape_get_scratch (ctx->tape, ((gsize) M * M + (gsize) M * D) * sizeof (float));

  pt_nt_xent_backward (pt_tensor_ensure_grad (z), node->out->grad[0], ctx->zn, ctx->norms,
                       ctx->probs, M, D, node->farg[0], work);
}

PtTensor *
pt_op_nt_xent (PtTape   *tape,
               PtTensor *z,
               float     temperature)
{
  int M = pt_rows (z), D = pt_cols (z);
  NtXentCtx *ctx;
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (M >= 2 && M % 2 == 0 && temperature > 0.0f, NULL);
  ctx = pt_tape_alloc (tape, sizeof (NtXentCtx));
  ctx->zn = pt_tape_alloc (tape, z->numel * sizeof (float));
  ctx->norms = pt_tape_alloc (tape, M * sizeof (float));
  ctx->probs = pt_tape_alloc (tape, (gsize) M * M * sizeof (float));
  ctx->tape = tape;
  out = new_scalar (tape, pt_nt_xent_forward (ctx->zn, ctx->norms, ctx->probs, z->data, M, D,
                                              temperature));
  node = pt_tape_record (tape, "nt_xent", nt_xent_backward, out, 1, &z);
  if (node != NULL)
    {
      node->ctx = ctx;
      node->farg[0] = temperature;
    }
  return out;
}
