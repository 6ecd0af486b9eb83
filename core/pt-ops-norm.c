/* pt-ops-norm.c: batchnorm (over the last dimension) and L2 normalization. */
#include "pt-ops-private.h"

#include <math.h>
#include <string.h>

/* Statistics use a fixed number of row ranges (not the thread count) and
 * sum their partials in order, so results do not depend on threads. */
#define PT_BN_RANGES 16

typedef struct
{
  const float *inp;
  const float *dout;
  const float *out;
  const float *mean;
  const float *rstd;
  double      *partials;   /* [PT_BN_RANGES][2][C] */
  gsize        N;
  int          C;
  gboolean     relu;
} BnStatJob;

/* Sums over rows [n0, n1) of one range: s1 += sum x, s2 += sum x^2 (forward)
 * or s1 += sum g, s2 += sum g * xhat with g = dout masked by out > 0 when
 * relu (backward). Float accumulators over 64 rows, then double. */
PT_HOT static void
bn_stats_range (const BnStatJob *j,
                gsize            n0,
                gsize            n1,
                double *restrict s1,
                double *restrict s2,
                float  *restrict acc1,
                float  *restrict acc2)
{
  int C = j->C;

  for (gsize n = n0; n < n1; n += 64)
    {
      gsize m = MIN (n1, n + 64);

      for (int c = 0; c < C; c++)
        acc1[c] = acc2[c] = 0.0f;
      if (j->dout == NULL)
        {
          for (gsize i = n; i < m; i++)
            {
              const float *restrict x = j->inp + i * C;

              for (int c = 0; c < C; c++)
                {
                  acc1[c] += x[c];
                  acc2[c] += x[c] * x[c];
                }
            }
        }
      else
        {
          const float *restrict mu = j->mean;
          const float *restrict rs = j->rstd;

          for (gsize i = n; i < m; i++)
            {
              const float *restrict x = j->inp + i * C;
              const float *restrict d = j->dout + i * C;
              const float *restrict o = j->out + i * C;

              if (j->relu)
                for (int c = 0; c < C; c++)
                  {
                    float g = o[c] > 0.0f ? d[c] : 0.0f;

                    acc1[c] += g;
                    acc2[c] += g * (x[c] - mu[c]) * rs[c];
                  }
              else
                for (int c = 0; c < C; c++)
                  {
                    acc1[c] += d[c];
                    acc2[c] += d[c] * (x[c] - mu[c]) * rs[c];
                  }
            }
        }
      for (int c = 0; c < C; c++)
        {
          s1[c] += acc1[c];
          s2[c] += acc2[c];
        }
    }
}

static void
bn_stats_run (gsize    begin,
              gsize    end,
              gpointer data)
{
  BnStatJob *j = data;
  int C = j->C;
  float acc[2 * 1024];
  float *acc1 = C <= 1024 ? acc : g_new (float, 2 * C);

  for (gsize r = begin; r < end; r++)
    {
      double *s1 = j->partials + r * 2 * C, *s2 = s1 + C;

      memset (s1, 0, 2 * C * sizeof (double));
      bn_stats_range (j, j->N * r / PT_BN_RANGES, j->N * (r + 1) / PT_BN_RANGES, s1, s2,
                      acc1, acc1 + C);
    }
  if (acc1 != acc)
    g_free (acc1);
}

static void
bn_sums (BnStatJob *j,
         double    *s1,
         double    *s2)
{
  int C = j->C;

  pt_par (PT_BN_RANGES, j->N * C / PT_BN_RANGES + 1, bn_stats_run, j);
  memset (s1, 0, C * sizeof (double));
  memset (s2, 0, C * sizeof (double));
  for (int r = 0; r < PT_BN_RANGES; r++)
    for (int c = 0; c < C; c++)
      {
        s1[c] += j->partials[(gsize) r * 2 * C + c];
        s2[c] += j->partials[(gsize) r * 2 * C + C + c];
      }
}

typedef struct
{
  float       *out;
  const float *inp;
  const float *scale;
  const float *shift;
  int          C;
  gboolean     relu;
} BnApplyJob;

PT_HOT static void
bn_apply_run (gsize    begin,
              gsize    end,
              gpointer data)
{
  BnApplyJob *j = data;
  int C = j->C;

  for (gsize i = begin; i < end; i++)
    {
      const float *restrict x = j->inp + i * C;
      float *restrict y = j->out + i * C;

      if (j->relu)
        for (int c = 0; c < C; c++)
          {
            float v = x[c] * j->scale[c] + j->shift[c];

            y[c] = v > 0.0f ? v : 0.0f;
          }
      else
        for (int c = 0; c < C; c++)
          y[c] = x[c] * j->scale[c] + j->shift[c];
    }
}

gsize
pt_batchnorm_work_doubles (int C)
{
  /* partials, two double sums, then up to 5 float vectors (3 C doubles) */
  return (gsize) PT_BN_RANGES * 2 * C + 2 * C + 3 * C;
}

/* Statistics (batch or running), running update, and the folded affine
 * y = x * scale + shift. */
static void
bn_prepare (float       *mean,
            float       *rstd,
            float       *scale,
            float       *shift,
            const float *inp,
            const float *weight,
            const float *bias,
            float       *running_mean,
            float       *running_var,
            int          N,
            int          C,
            float        eps,
            float        momentum,
            gboolean     training,
            double      *work)
{
  if (training || running_mean == NULL)
    {
      double *partials = work;
      double *s1 = partials + (gsize) PT_BN_RANGES * 2 * C, *s2 = s1 + C;
      BnStatJob sj = { inp, NULL, NULL, NULL, NULL, partials, N, C, FALSE };

      bn_sums (&sj, s1, s2);
      for (int c = 0; c < C; c++)
        {
          double m = s1[c] / N;
          double v = MAX (s2[c] / N - m * m, 0.0);

          mean[c] = (float) m;
          rstd[c] = (float) (1.0 / sqrt (v + eps));
          if (training && running_mean != NULL)
            {
              double unbiased = N > 1 ? v * N / (N - 1) : v;

              running_mean[c] = (1.0f - momentum) * running_mean[c] + momentum * (float) m;
              running_var[c] = (1.0f - momentum) * running_var[c] + momentum * (float) unbiased;
            }
        }
    }
  else
    {
      for (int c = 0; c < C; c++)
        {
          mean[c] = running_mean[c];
          rstd[c] = 1.0f / sqrtf (running_var[c] + eps);
        }
    }

  for (int c = 0; c < C; c++)
    {
      scale[c] = rstd[c] * (weight != NULL ? weight[c] : 1.0f);
      shift[c] = (bias != NULL ? bias[c] : 0.0f) - mean[c] * scale[c];
    }
}

void
pt_batchnorm_forward (float       *out,           /* [N,C] */
                      float       *mean,          /* [C] */
                      float       *rstd,          /* [C] */
                      const float *inp,           /* [N,C] */
                      const float *weight,        /* [C] or NULL */
                      const float *bias,          /* [C] or NULL */
                      float       *running_mean,  /* [C] or NULL */
                      float       *running_var,   /* [C] or NULL */
                      int          N,
                      int          C,
                      float        eps,
                      float        momentum,
                      gboolean     training,
                      gboolean     relu,
                      double      *work)
{
  float *scale = (float *) (work + (gsize) PT_BN_RANGES * 2 * C + 2 * C);
  float *shift = scale + C;
  BnApplyJob aj = { out, inp, scale, shift, C, relu };

  bn_prepare (mean, rstd, scale, shift, inp, weight, bias, running_mean, running_var, N, C,
              eps, momentum, training, work);
  pt_par (N, C, bn_apply_run, &aj);
}

typedef struct
{
  float       *dinp;
  const float *inp;
  const float *dout;
  const float *out;
  const float *mean;
  const float *k;      /* weight * rstd */
  const float *a;      /* mean of dout */
  const float *bterm;  /* mean of dout * xhat, times rstd */
  const float *rstd;
  int          C;
  gboolean     relu;
  gboolean     training;
} BnBackJob;

PT_HOT static void
bn_backward_run (gsize    begin,
                 gsize    end,
                 gpointer data)
{
  BnBackJob *j = data;
  int C = j->C;
  const float *restrict mean = j->mean;
  const float *restrict rstd = j->rstd;
  const float *restrict k = j->k;
  const float *restrict a = j->a;
  const float *restrict bt = j->bterm;

  for (gsize i = begin; i < end; i++)
    {
      const float *restrict x = j->inp + i * C;
      const float *restrict d = j->dout + i * C;
      const float *restrict o = j->out + i * C;
      float *restrict dx = j->dinp + i * C;

      if (!j->training)
        {
          for (int c = 0; c < C; c++)
            dx[c] += k[c] * ((!j->relu || o[c] > 0.0f) ? d[c] : 0.0f);
        }
      else if (j->relu)
        {
          for (int c = 0; c < C; c++)
            {
              float g = o[c] > 0.0f ? d[c] : 0.0f;

              dx[c] += k[c] * (g - a[c] - (x[c] - mean[c]) * rstd[c] * bt[c]);
            }
        }
      else
        {
          for (int c = 0; c < C; c++)
            dx[c] += k[c] * (d[c] - a[c] - (x[c] - mean[c]) * rstd[c] * bt[c]);
        }
    }
}

void
pt_batchnorm_backward (float       *dinp,
                       float       *dweight,
                       float       *dbias,
                       const float *dout,
                       const float *out,
                       const float *inp,
                       const float *mean,
                       const float *rstd,
                       const float *weight,
                       int          N,
                       int          C,
                       gboolean     training,
                       gboolean     relu,
                       double      *work)
{
  double *partials = work;
  float *tmp = (float *) (work + (gsize) PT_BN_RANGES * 2 * C + 2 * C);
  double *s1 = partials + (gsize) PT_BN_RANGES * 2 * C, *s2 = s1 + C;
  BnStatJob sj = { inp, dout, out, mean, rstd, partials, N, C, relu };

  bn_sums (&sj, s1, s2);   /* s1 = sum g, s2 = sum g * xhat */
  if (dbias != NULL)
    for (int c = 0; c < C; c++)
      dbias[c] += (float) s1[c];
  if (dweight != NULL)
    for (int c = 0; c < C; c++)
      dweight[c] += (float) s2[c];
  if (dinp != NULL)
    {
      float *k = tmp, *a = tmp + C, *bterm = tmp + 2 * C;
      BnBackJob bj = { dinp, inp, dout, out, mean, k, a, bterm, rstd, C, relu, training };

      for (int c = 0; c < C; c++)
        {
          k[c] = rstd[c] * (weight != NULL ? weight[c] : 1.0f);
          a[c] = (float) (s1[c] / N);
          bterm[c] = (float) (s2[c] / N);
        }
      pt_par (N, C, bn_backward_run, &bj);
    }
}

void
pt_l2_normalize_forward (float       *out,
                         float       *norms,
                         const float *inp,
                         int          N,
                         int          D,
                         float        eps)
{
  for (int i = 0; i < N; i++)
    {
      const float *x = inp + (gsize) i * D;
      float *y = out + (gsize) i * D;
      double ss = 0.0;
      float r;

      for (int d = 0; d < D; d++)
        ss += (double) x[d] * x[d];
      norms[i] = (float) sqrt (ss);
      r = 1.0f / MAX (norms[i], eps);
      for (int d = 0; d < D; d++)
        y[d] = x[d] * r;
    }
}

void
pt_l2_normalize_backward (float       *dinp,
                          const float *dout,
                          const float *out,
                          const float *norms,
                          int          N,
                          int          D,
                          float        eps)
{
  for (int i = 0; i < N; i++)
    {
      const float *y = out + (gsize) i * D, *dy = dout + (gsize) i * D;
      float *dx = dinp + (gsize) i * D;
      float r = 1.0f / MAX (norms[i], eps);

      if (norms[i] > eps)
        {
          double dot = 0.0;

          for (int d = 0; d < D; d++)
            dot += (double) y[d] * dy[d];
          for (int d = 0; d < D; d++)
            dx[d] += r * (dy[d] - y[d] * (float) dot);
        }
      else
        for (int d = 0; d < D; d++)
          dx[d] += r * dy[d];
    }
}

/* ---- batchnorm + relu + max-pool, fused ------------------------------- */

typedef struct
{
  float        *out;
  gint32       *argmax;
  float        *dinp;
  const float  *dout;
  const float  *inp;
  const float  *scale;
  const float  *shift;
  const float  *mean;
  const float  *rstd;
  const float  *k;       /* backward: weight * rstd */
  const float  *a;       /* backward: mean of g */
  const float  *bt;      /* backward: mean of g * xhat */
  double       *partials;
  int           B, H, W, C, K, stride, OH, OW;
  gboolean      training;
} BrpJob;

PT_HOT static void
brp_forward_run (gsize    begin,
                 gsize    end,
                 gpointer data)
{
  BrpJob *j = data;
  int C = j->C, K = j->K;
  const float *restrict scale = j->scale;
  const float *restrict shift = j->shift;

  for (gsize b = begin; b < end; b++)
    for (int oy = 0; oy < j->OH; oy++)
      for (int ox = 0; ox < j->OW; ox++)
        {
          gsize o = ((b * j->OH + oy) * j->OW + ox) * C;
          float *restrict out = j->out + o;
          gint32 *restrict am = j->argmax + o;

          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
              {
                gsize i = ((b * j->H + oy * j->stride + ky) * j->W + ox * j->stride + kx) * C;
                const float *restrict in = j->inp + i;
                gint32 base = (gint32) i;

                if (ky == 0 && kx == 0)
                  for (int c = 0; c < C; c++)
                    {
                      float y = in[c] * scale[c] + shift[c];

                      out[c] = y > 0.0f ? y : 0.0f;
                      am[c] = base + c;
                    }
                else
                  for (int c = 0; c < C; c++)
                    {
                      float y = in[c] * scale[c] + shift[c];
                      gboolean gt = y > out[c];

                      out[c] = gt ? y : out[c];
                      am[c] = gt ? base + c : am[c];
                    }
              }
        }
}

/* Gradient reaching the winner of pooled output o (0 where the ReLU was off). */
static inline float
brp_g (const BrpJob *j,
       gsize         o,
       int           c,
       float        *x_out)
{
  float x = j->inp[j->argmax[o]];

  *x_out = x;
  return x * j->scale[c] + j->shift[c] > 0.0f ? j->dout[o] : 0.0f;
}

/* Sums over pooled outputs, fixed ranges of pooled pixels. */
static void
brp_sums_run (gsize    begin,
              gsize    end,
              gpointer data)
{
  BrpJob *j = data;
  int C = j->C;
  gsize P = (gsize) j->B * j->OH * j->OW;

  for (gsize r = begin; r < end; r++)
    {
      double *s1 = j->partials + r * 2 * C, *s2 = s1 + C;
      gsize p0 = P * r / PT_BN_RANGES, p1 = P * (r + 1) / PT_BN_RANGES;

      memset (s1, 0, 2 * C * sizeof (double));
      for (gsize p = p0; p < p1; p++)
        for (int c = 0; c < C; c++)
          {
            float x, g = brp_g (j, p * C + c, c, &x);

            if (g != 0.0f)
              {
                s1[c] += g;
                s2[c] += (double) g * (x - j->mean[c]) * j->rstd[c];
              }
          }
    }
}

/* dinp for a range of images: the dense batchnorm terms, then the pooled
 * gradient scattered to the winners. */
PT_HOT static void
brp_backward_run (gsize    begin,
                  gsize    end,
                  gpointer data)
{
  BrpJob *j = data;
  int C = j->C;
  gsize plane = (gsize) j->H * j->W, pooled = (gsize) j->OH * j->OW;

  for (gsize b = begin; b < end; b++)
    {
      if (j->training)
        {
          const float *restrict mean = j->mean;
          const float *restrict rstd = j->rstd;
          const float *restrict k = j->k;
          const float *restrict a = j->a;
          const float *restrict bt = j->bt;

          for (gsize i = b * plane; i < (b + 1) * plane; i++)
            {
              const float *restrict x = j->inp + i * C;
              float *restrict dx = j->dinp + i * C;

              for (int c = 0; c < C; c++)
                dx[c] -= k[c] * (a[c] + (x[c] - mean[c]) * rstd[c] * bt[c]);
            }
        }
      for (gsize p = b * pooled; p < (b + 1) * pooled; p++)
        for (int c = 0; c < C; c++)
          {
            gsize o = p * C + c;
            float x, g = brp_g (j, o, c, &x);

            if (g != 0.0f)
              j->dinp[j->argmax[o]] += j->k[c] * g;
          }
    }
}

void
pt_batchnorm_relu_maxpool_forward (float       *out,
                                   gint32      *argmax,
                                   float       *mean,
                                   float       *rstd,
                                   const float *inp,
                                   const float *weight,
                                   const float *bias,
                                   float       *running_mean,
                                   float       *running_var,
                                   int          B,
                                   int          H,
                                   int          W,
                                   int          C,
                                   int          K,
                                   int          stride,
                                   float        eps,
                                   float        momentum,
                                   gboolean     training,
                                   double      *work)
{
  float *scale = (float *) (work + (gsize) PT_BN_RANGES * 2 * C + 2 * C);
  float *shift = scale + C;
  BrpJob j = { 0 };

  g_assert ((gsize) B * H * W * C <= G_MAXINT32);
  bn_prepare (mean, rstd, scale, shift, inp, weight, bias, running_mean, running_var,
              B * H * W, C, eps, momentum, training, work);
  j.out = out;
  j.argmax = argmax;
  j.inp = inp;
  j.scale = scale;
  j.shift = shift;
  j.B = B;
  j.H = H;
  j.W = W;
  j.C = C;
  j.K = K;
  j.stride = stride;
  j.OH = pt_conv_out_size (H, K, stride, 0);
  j.OW = pt_conv_out_size (W, K, stride, 0);
  pt_par (B, (gsize) H * W * C, brp_forward_run, &j);
}

void
pt_batchnorm_relu_maxpool_backward (float        *dinp,
                                    float        *dweight,
                                    float        *dbias,
                                    const float  *dout,
                                    const gint32 *argmax,
                                    const float  *inp,
                                    const float  *mean,
                                    const float  *rstd,
                                    const float  *weight,
                                    const float  *bias,
                                    int           B,
                                    int           H,
                                    int           W,
                                    int           C,
                                    int           K,
                                    int           stride,
                                    gboolean      training,
                                    double       *work)
{
  double *partials = work;
  double *s1 = partials + (gsize) PT_BN_RANGES * 2 * C, *s2 = s1 + C;
  float *tmp = (float *) (work + (gsize) PT_BN_RANGES * 2 * C + 2 * C);
  float *scale = tmp, *shift = tmp + C, *k = tmp + 2 * C, *a = tmp + 3 * C, *bt = tmp + 4 * C;
  int N = B * H * W;
  BrpJob j = { 0 };

  for (int c = 0; c < C; c++)
    {
      scale[c] = rstd[c] * (weight != NULL ? weight[c] : 1.0f);
      shift[c] = (bias != NULL ? bias[c] : 0.0f) - mean[c] * scale[c];
      k[c] = scale[c];
    }
  j.argmax = (gint32 *) argmax;
  j.dinp = dinp;
  j.dout = dout;
  j.inp = inp;
  j.scale = scale;
  j.shift = shift;
  j.mean = mean;
  j.rstd = rstd;
  j.k = k;
  j.a = a;
  j.bt = bt;
  j.partials = partials;
  j.B = B;
  j.H = H;
  j.W = W;
  j.C = C;
  j.K = K;
  j.stride = stride;
  j.OH = pt_conv_out_size (H, K, stride, 0);
  j.OW = pt_conv_out_size (W, K, stride, 0);
  j.training = training;

  pt_par (PT_BN_RANGES, (gsize) B * j.OH * j.OW * C / PT_BN_RANGES + 1, brp_sums_run, &j);
  memset (s1, 0, 2 * C * sizeof (double));
  for (int r = 0; r < PT_BN_RANGES; r++)
    for (int c = 0; c < C; c++)
      {
        s1[c] += partials[(gsize) r * 2 * C + c];
        s2[c] += partials[(gsize) r * 2 * C + C + c];
      }
  if (dbias != NULL)
    for (int c = 0; c < C; c++)
      dbias[c] += (float) s1[c];
  if (dweight != NULL)
    for (int c = 0; c < C; c++)
      dweight[c] += (float) s2[c];
  if (dinp != NULL)
    {
      for (int c = 0; c < C; c++)
        {
          a[c] = (float) (s1[c] / N);
          bt[c] = (float) (s2[c] / N);
        }
      pt_par (B, (gsize) H * W * C, brp_backward_run, &j);
    }
}

/* ---- tape wrappers ------------------------------------------------------ */

typedef struct
{
  float  *mean;
  float  *rstd;
  PtTape *tape;
} BnCtx;

static void
batchnorm_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
  BnCtx *ctx = node->ctx;
  int C = x->shape[x->ndim - 1];
  int N = (int) (x->numel / C);

  pt_batchnorm_backward (x->requires_grad ? pt_tensor_ensure_grad (x) : NULL,
                         w != NULL && w->requires_grad ? pt_tensor_ensure_grad (w) : NULL,
                         b != NULL && b->requires_grad ? pt_tensor_ensure_grad (b) : NULL,
                         node->out->grad, node->out->data, x->data, ctx->mean, ctx->rstd,
                         w != NULL ? w->data : NULL, N, C, node->iarg[0], node->iarg[1],
                         pt_tape_get_scratch (ctx->tape, pt_batchnorm_work_doubles (C)
                                                         * sizeof (double)));
}

PtTensor *
pt_op_batchnorm (PtTape   *tape,
                 PtTensor *x,
                 PtTensor *weight,
                 PtTensor *bias,
                 float    *running_mean,
                 float    *running_var,
                 float     momentum,
                 float     eps,
                 gboolean  relu)
{
  int C = x->shape[x->ndim - 1];
  int N = (int) (x->numel / MAX (C, 1));
  gboolean training = pt_tape_get_training (tape) || running_mean == NULL;
  PtTensor *out, *in[3] = { x, weight, bias };
  PtTapeNode *node;
  BnCtx *ctx;

  g_return_val_if_fail (x->ndim == 2 || x->ndim == 4, NULL);
  g_return_val_if_fail (weight == NULL || weight->numel == (gsize) C, NULL);
  g_return_val_if_fail (bias == NULL || bias->numel == (gsize) C, NULL);
  g_return_val_if_fail ((running_mean == NULL) == (running_var == NULL), NULL);
  g_return_val_if_fail (!training || N > 1, NULL);

  out = pt_op_new_out (tape, x->ndim, x->shape);
  ctx = pt_tape_alloc (tape, sizeof (BnCtx));
  ctx->mean = pt_tape_alloc (tape, 2 * C * sizeof (float));
  ctx->rstd = ctx->mean + C;
  ctx->tape = tape;
  pt_batchnorm_forward (out->data, ctx->mean, ctx->rstd, x->data,
                        weight != NULL ? weight->data : NULL, bias != NULL ? bias->data : NULL,
                        running_mean, running_var, N, C, eps, momentum, training, relu,
                        pt_tape_get_scratch (tape, pt_batchnorm_work_doubles (C)
                                                   * sizeof (double)));
  node = pt_tape_record (tape, relu ? "batchnorm_relu" : "batchnorm", batchnorm_backward,
                         out, 3, in);
  if (node != NULL)
    {
      node->ctx = ctx;
      node->iarg[0] = training;
      node->iarg[1] = relu;
    }
  return out;
}

static void
l2_normalize_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];

  pt_l2_normalize_backward (pt_tensor_ensure_grad (x), node->out->grad, node->out->data,
                            node->ctx, pt_rows (x), pt_cols (x), 1e-12f);
}

PtTensor *
pt_op_l2_normalize (PtTape   *tape,
                    PtTensor *x)
{
  PtTensor *out = pt_op_new_out (tape, x->ndim, x->shape);
  float *norms = pt_tape_alloc (tape, pt_rows (x) * sizeof (float));
  PtTapeNode *node;

  pt_l2_normalize_forward (out->data, norms, x->data, pt_rows (x), pt_cols (x), 1e-12f);
  node = pt_tape_record (tape, "l2_normalize", l2_normalize_backward, out, 1, &x);
  if (node != NULL)
    node->ctx = norms;
  return out;
}

PtTensor *
pt_op_cosine_similarity (PtTape   *tape,
                         PtTensor *a,
                         PtTensor *b)
{
  PtTensor *an = pt_op_l2_normalize (tape, a);
  PtTensor *bn = a == b ? an : pt_op_l2_normalize (tape, b);

  return pt_op_matmul (tape, an, bn, TRUE);
}

typedef struct
{
  float  *mean;
  float  *rstd;
  gint32 *argmax;
  PtTape *tape;
} BrpCtx;

static void
batchnorm_relu_maxpool_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
  BrpCtx *ctx = node->ctx;
  int C = x->shape[3];

  pt_batchnorm_relu_maxpool_backward (
    x->requires_grad ? pt_tensor_ensure_grad (x) : NULL,
    w != NULL && w->requires_grad ? pt_tensor_ensure_grad (w) : NULL,
    b != NULL && b->requires_grad ? pt_tensor_ensure_grad (b) : NULL,
    node->out->grad, ctx->argmax, x->data, ctx->mean, ctx->rstd,
    w != NULL ? w->data : NULL, b != NULL ? b->data : NULL,
    x->shape[0], x->shape[1], x->shape[2], C, node->iarg[1], node->iarg[2], node->iarg[0],
    pt_tape_get_scratch (ctx->tape, pt_batchnorm_work_doubles (C) * sizeof (double)));
}

PtTensor *
pt_op_batchnorm_relu_maxpool (PtTape   *tape,
                              PtTensor *x,
                              PtTensor *weight,
                              PtTensor *bias,
                              float    *running_mean,
                              float    *running_var,
                              float     momentum,
                              float     eps,
                              int       k,
                              int       stride)
{
  gboolean training = pt_tape_get_training (tape) || running_mean == NULL;
  PtTensor *out, *in[3] = { x, weight, bias };
  PtTapeNode *node;
  BrpCtx *ctx;
  int C, shape[4];

  g_return_val_if_fail (x->ndim == 4 && k >= 1 && stride >= 1, NULL);
  C = x->shape[3];
  g_return_val_if_fail (weight == NULL || weight->numel == (gsize) C, NULL);
  g_return_val_if_fail (bias == NULL || bias->numel == (gsize) C, NULL);
  g_return_val_if_fail ((running_mean == NULL) == (running_var == NULL), NULL);
  g_return_val_if_fail (!training || x->numel / C > 1, NULL);
  shape[0] = x->shape[0];
  shape[1] = pt_conv_out_size (x->shape[1], k, stride, 0);
  shape[2] = pt_conv_out_size (x->shape[2], k, stride, 0);
  shape[3] = C;
  g_return_val_if_fail (shape[1] > 0 && shape[2] > 0, NULL);

  out = pt_op_new_out (tape, 4, shape);
  ctx = pt_tape_alloc (tape, sizeof (BrpCtx));
  ctx->mean = pt_tape_alloc (tape, 2 * C * sizeof (float));
  ctx->rstd = ctx->mean + C;
  ctx->argmax = pt_tape_alloc (tape, out->numel * sizeof (gint32));
  ctx->tape = tape;
  pt_batchnorm_relu_maxpool_forward (out->data, ctx->argmax, ctx->mean, ctx->rstd, x->data,
                                     weight != NULL ? weight->data : NULL,
                                     bias != NULL ? bias->data : NULL,
                                     running_mean, running_var, x->shape[0], x->shape[1],
                                     x->shape[2], C, k, stride, eps, momentum, training,
                                     pt_tape_get_scratch (tape, pt_batchnorm_work_doubles (C)
                                                                * sizeof (double)));
  node = pt_tape_record (tape, "batchnorm_relu_maxpool", batchnorm_relu_maxpool_backward,
                         out, 3, in);
  if (node != NULL)
    {
      node->ctx = ctx;
      node->iarg[0] = training;
      node->iarg[1] = k;
      node->iarg[2] = stride;
    }
  return out;
}
