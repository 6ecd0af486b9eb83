/* pt-ops-transformer.c: layernorm, GELU, softmax, attention, patchify and
 * the token gathers of MAE. Row loops run in parallel over rows (or over
 * (image, head) pairs for attention); each output element is written by one
 * thread with a fixed summation order, so results do not depend on the
 * number of threads. */
#include "pt-ops-transformer.h"
#include "pt-ops-private.h"

#include <math.h>
#include <string.h>

/* ---- layernorm ---------------------------------------------------------- */

typedef struct
{
  float       *out;
  float       *dinp;
  float       *mean;
  float       *rstd;
  const float *inp;
  const float *dout;
  const float *cmean;
  const float *crstd;
  const float *weight;
  const float *bias;
  int          D;
  float        eps;
} LnJob;

/* Row sums in 8 interleaved partial sums (they vectorize; a single running
 * sum is one long dependency chain), added up in a fixed order. */
static inline __attribute__ ((always_inline)) float
row_sum (const float *restrict x,
         int                   D)
{
  float acc[8] = { 0 }, s;
  int d = 0;

  for (; d + 8 <= D; d += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += x[d + k];
  s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; d < D; d++)
    s += x[d];
  return s;
}

/* sum (x - m)^2 */
static inline __attribute__ ((always_inline)) float
row_sum_sq_dev (const float *restrict x,
                float                 m,
                int                   D)
{
  float acc[8] = { 0 }, s;
  int d = 0;

  for (; d + 8 <= D; d += 8)
    for (int k = 0; k < 8; k++)
      acc[k] += (x[d + k] - m) * (x[d + k] - m);
  s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; d < D; d++)
    s += (x[d] - m) * (x[d] - m);
  return s;
}

/* sum g w and sum g w (x - m), w NULL meaning 1 */
static inline __attribute__ ((always_inline)) void
row_sums_backward (const float *restrict g,
                   const float *restrict w,
                   const float *restrict x,
                   float                 m,
                   int                   D,
                   float                *sum_g,
                   float                *sum_gx)
{
  float a[8] = { 0 }, b[8] = { 0 };
  int d = 0;

  for (; d + 8 <= D; d += 8)
    for (int k = 0; k < 8; k++)
      {
        float dxh = g[d + k] * (w != NULL ? w[d + k] : 1.0f);

        a[k] += dxh;
        b[k] += dxh * (x[d + k] - m);
      }
  *sum_g = ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
  *sum_gx = ((b[0] + b[1]) + (b[2] + b[3])) + ((b[4] + b[5]) + (b[6] + b[7]));
  for (; d < D; d++)
    {
      float dxh = g[d] * (w != NULL ? w[d] : 1.0f);

      *sum_g += dxh;
      *sum_gx += dxh * (x[d] - m);
    }
}

PT_HOT static void
ln_forward_run (gsize    begin,
                gsize    end,
                gpointer data)
{
  LnJob *j = data;
  int D = j->D;

  for (gsize n = begin; n < end; n++)
    {
      const float *restrict x = j->inp + n * D;
      float *restrict o = j->out + n * D;
      float m, v, rs;

      m = row_sum (x, D) / D;
      v = row_sum_sq_dev (x, m, D) / D;
      rs = 1.0f / sqrtf (v + j->eps);
      if (j->weight != NULL)
        {
          const float *restrict w = j->weight, *restrict b = j->bias;

          for (int d = 0; d < D; d++)
            o[d] = (x[d] - m) * rs * w[d] + (b != NULL ? b[d] : 0.0f);
        }
      else
        {
          for (int d = 0; d < D; d++)
            o[d] = (x[d] - m) * rs;
        }
      j->mean[n] = m;
      j->rstd[n] = rs;
    }
}

void
pt_layernorm_forward (float       *out,     /* [N,D] */
                      float       *mean,    /* [N] */
                      float       *rstd,    /* [N] */
                      const float *inp,     /* [N,D] */
                      const float *weight,  /* [D] or NULL */
                      const float *bias,    /* [D] or NULL */
                      int          N,
                      int          D,
                      float        eps)
{
  LnJob job = { .out = out, .mean = mean, .rstd = rstd, .inp = inp, .weight = weight,
                .bias = bias, .D = D, .eps = eps };

  pt_par (N, 4 * D, ln_forward_run, &job);
}

PT_HOT static void
ln_backward_run (gsize    begin,
                 gsize    end,
                 gpointer data)
{
  LnJob *j = data;
  int D = j->D;

  for (gsize n = begin; n < end; n++)
    {
      const float *restrict x = j->inp + n * D;
      const float *restrict g = j->dout + n * D;
      const float *restrict w = j->weight;
      float *restrict dx = j->dinp + n * D;
      float m = j->cmean[n], rs = j->crstd[n];
      float sum_g, sum_gx;

      /* dxhat = dout * w; dx = rstd (dxhat - mean (dxhat) - xhat mean (dxhat xhat)) */
      row_sums_backward (g, w, x, m, D, &sum_g, &sum_gx);
      sum_g /= D;
      sum_gx = sum_gx * rs / D;
      for (int d = 0; d < D; d++)
        {
          float dxh = g[d] * (w != NULL ? w[d] : 1.0f);

          dx[d] += rs * (dxh - sum_g - (x[d] - m) * rs * sum_gx);
        }
    }
}

void
pt_layernorm_backward (float       *dinp,     /* [N,D] */
                       float       *dweight,  /* [D] */
                       float       *dbias,    /* [D] */
                       const float *dout,     /* [N,D] */
                       const float *inp,      /* [N,D] */
                       const float *mean,     /* [N] */
                       const float *rstd,     /* [N] */
                       const float *weight,   /* [D] or NULL */
                       int          N,
                       int          D)
{
  if (dinp != NULL)
    {
      LnJob job = { .dinp = dinp, .inp = inp, .dout = dout, .cmean = mean, .crstd = rstd,
                    .weight = weight, .D = D };

      pt_par (N, 6 * D, ln_backward_run, &job);
    }
  /* Parameter gradients: a serial pass over rows (cheap next to the
   * matmuls around it, and its summation order is fixed). */
  if (dweight != NULL || dbias != NULL)
    {
      for (int n = 0; n < N; n++)
        {
          const float *restrict x = inp + (gsize) n * D;
          const float *restrict g = dout + (gsize) n * D;
          float m = mean[n], rs = rstd[n];

          if (dweight != NULL)
            for (int d = 0; d < D; d++)
              dweight[d] += g[d] * (x[d] - m) * rs;
          if (dbias != NULL)
            for (int d = 0; d < D; d++)
              dbias[d] += g[d];
        }
    }
}

/* ---- GELU --------------------------------------------------------------- */

typedef struct
{
  float       *out;
  const float *inp;
  const float *dout;
} GeluJob;

#define PT_SQRT1_2      0.70710678118654752440f
#define PT_INV_SQRT_2PI 0.39894228040143267794f

/* Eight floats in GCC's generic vectors: AVX in the x86-64-v3 clones, pairs
 * of SSE registers otherwise. Explicit vectors because the scalar forms of
 * these loops do not vectorize (a clamp is a comparison, which may trap). */
#pragma GCC diagnostic ignored "-Wpsabi"   /* the helpers are inlined, no ABI */
typedef float  PtV8f __attribute__ ((vector_size (32)));
typedef gint32 PtV8i __attribute__ ((vector_size (32)));

static inline PtV8f
v8_load (const float *p)
{
  PtV8f v;

  memcpy (&v, p, sizeof v);
  return v;
}

static inline void
v8_store (float *p,
          PtV8f  v)
{
  memcpy (p, &v, sizeof v);
}

static inline PtV8f
v8_select (PtV8i mask,
           PtV8f a,
           PtV8f b)
{
  return (PtV8f) (((PtV8i) a & mask) | ((PtV8i) b & ~mask));
}

/* exp (x) for x <= 0: 2^i times a degree-7 Taylor polynomial of e^f on
 * |f| <= ln 2 / 2 (relative error < 1e-7); inputs below -87 give ~0. */
static inline PtV8f
v8_exp_neg (PtV8f x)
{
  const PtV8f lo = (PtV8f) { 0 } - 87.0f;
  PtV8f t, r, f, p;
  PtV8i i;

  x = v8_select (x < lo, lo, x);
  t = x * 1.44269504088896341f;
  r = (t + 12582912.0f) - 12582912.0f;     /* round to nearest */
  f = (t - r) * 0.69314718055994531f;
  p = 1.0f + f * (1.0f + f * (0.5f + f * (1.0f / 6 + f * (1.0f / 24 + f * (1.0f / 120
      + f * (1.0f / 720 + f * (1.0f / 5040)))))));
  i = __builtin_convertvector (r, PtV8i);
  return p * (PtV8f) ((i + 127) << 23);
}

/* Phi (x) = 0.5 (1 + erf (x / sqrt 2)) and the normal density, sharing one
 * exp: erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7), i.e. the
 * exact-erf GELU to float precision (not the tanh approximation). */
static inline void
v8_gelu_cdf_pdf (PtV8f  x,
                 PtV8f *cdf,
                 PtV8f *pdf)
{
  const PtV8i sign_bit = (PtV8i) { 0 } + G_MININT32;
  PtV8i sign = (PtV8i) x & sign_bit;
  PtV8f z = (PtV8f) ((PtV8i) x & ~sign_bit) * PT_SQRT1_2;
  PtV8f t = 1.0f / (1.0f + 0.3275911f * z);
  PtV8f e = v8_exp_neg (-(z * z));
  PtV8f poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f
               + t * (-1.453152027f + t * 1.061405429f))));
  PtV8f erf_abs = 1.0f - poly * e;

  *cdf = 0.5f + 0.5f * (PtV8f) ((PtV8i) erf_abs | sign);
  *pdf = PT_INV_SQRT_2PI * e;
}

/* In place x[i] = exp (x[i]) for x <= 0, n >= 0; the tail is padded to a
 * full vector so every element gets the same arithmetic. */
PT_HOT static void
exp_neg_inplace (float *x,
                 int    n)
{
  int i = 0;

  for (; i + 8 <= n; i += 8)
    v8_store (x + i, v8_exp_neg (v8_load (x + i)));
  if (i < n)
    {
      float tail[8] = { 0 };

      memcpy (tail, x + i, (n - i) * sizeof (float));
      v8_store (tail, v8_exp_neg (v8_load (tail)));
      memcpy (x + i, tail, (n - i) * sizeof (float));
    }
}

/* out = x Phi (x) (forward, dout NULL) or dinp += dout (Phi + x phi). */
PT_HOT static void
gelu_run_range (float       *out,
                const float *inp,
                const float *dout,
                gsize        begin,
                gsize        end)
{
  gsize i = begin;

  for (; i + 8 <= end; i += 8)
    {
      PtV8f x = v8_load (inp + i), cdf, pdf;

      v8_gelu_cdf_pdf (x, &cdf, &pdf);
      if (dout == NULL)
        v8_store (out + i, x * cdf);
      else
        v8_store (out + i, v8_load (out + i) + v8_load (dout + i) * (cdf + x * pdf));
    }
  if (i < end)
    {
      float tx[8] = { 0 }, to[8] = { 0 }, td[8] = { 0 };
      PtV8f x, cdf, pdf;
      gsize n = end - i;

      memcpy (tx, inp + i, n * sizeof (float));
      x = v8_load (tx);
      v8_gelu_cdf_pdf (x, &cdf, &pdf);
      if (dout == NULL)
        v8_store (to, x * cdf);
      else
        {
          memcpy (to, out + i, n * sizeof (float));
          memcpy (td, dout + i, n * sizeof (float));
          v8_store (to, v8_load (to) + v8_load (td) * (cdf + x * pdf));
        }
      memcpy (out + i, to, n * sizeof (float));
    }
}

static void
gelu_forward_run (gsize    begin,
                  gsize    end,
                  gpointer data)
{
  GeluJob *j = data;

  gelu_run_range (j->out, j->inp, NULL, begin, end);
}

static void
gelu_backward_run (gsize    begin,
                   gsize    end,
                   gpointer data)
{
  GeluJob *j = data;

  gelu_run_range (j->out, j->inp, j->dout, begin, end);
}

void
pt_gelu_forward (float       *out,
                 const float *inp,
                 gsize        n)
{
  GeluJob job = { out, inp, NULL };

  pt_par (n, 8, gelu_forward_run, &job);
}

void
pt_gelu_backward (float       *dinp,
                  const float *dout,
                  const float *inp,
                  gsize        n)
{
  GeluJob job = { dinp, inp, dout };

  pt_par (n, 16, gelu_backward_run, &job);
}

/* ---- softmax ------------------------------------------------------------ */

typedef struct
{
  float       *out;
  const float *inp;
  const float *dout;
  int          D;
} SoftmaxJob;

static inline void
softmax_row (float       *restrict o,
             const float *restrict x,
             int          D)
{
  float mx = -INFINITY, sum = 0.0f, inv;

  for (int d = 0; d < D; d++)
    mx = MAX (mx, x[d]);
  for (int d = 0; d < D; d++)
    {
      o[d] = expf (x[d] - mx);
      sum += o[d];
    }
  inv = 1.0f / sum;
  for (int d = 0; d < D; d++)
    o[d] *= inv;
}

static void
softmax_forward_run (gsize    begin,
                     gsize    end,
                     gpointer data)
{
  SoftmaxJob *j = data;

  for (gsize n = begin; n < end; n++)
    softmax_row (j->out + n * j->D, j->inp + n * j->D, j->D);
}

static void
softmax_backward_run (gsize    begin,
                      gsize    end,
                      gpointer data)
{
  SoftmaxJob *j = data;
  int D = j->D;

  /* dx = y (dy - sum (dy y)); here out is dinp and inp is y */
  for (gsize n = begin; n < end; n++)
    {
      const float *restrict y = j->inp + n * D;
      const float *restrict g = j->dout + n * D;
      float *restrict dx = j->out + n * D;
      float s = 0.0f;

      for (int d = 0; d < D; d++)
        s += g[d] * y[d];
      for (int d = 0; d < D; d++)
        dx[d] += y[d] * (g[d] - s);
    }
}

void
pt_softmax_forward (float       *out,
                    const float *inp,
                    int          N,
                    int          D)
{
  SoftmaxJob job = { out, inp, NULL, D };

  pt_par (N, 8 * D, softmax_forward_run, &job);
}

void
pt_softmax_backward (float       *dinp,
                     const float *dout,
                     const float *out,
                     int          N,
                     int          D)
{
  SoftmaxJob job = { dinp, out, dout, D };

  pt_par (N, 4 * D, softmax_backward_run, &job);
}

/* ---- attention ---------------------------------------------------------- */

typedef struct
{
  float       *out;     /* forward: out; backward: dqkv */
  float       *att;
  const float *catt;
  const float *qkv;
  const float *dout;
  int          T, D, NH;
} AttJob;

/* Work floats per (image, head) pair: a transposed K or V of the head. */
#define ATT_STACK_FLOATS 8192

/* dst[d*Tp + t] = src[t*ld + d] for t < T, 0 up to Tp (T rounded up to 8):
 * one head's keys or values, transposed and padded so the score loops run
 * over t in whole vectors (and vectorize without reassociating sums). */
static inline void
transpose_head (float       *restrict dst,
                const float *restrict src,
                int          T,
                int          Tp,
                int          dh,
                int          ld)
{
  for (int d = 0; d < dh; d++)
    {
      for (int t = 0; t < T; t++)
        dst[(gsize) d * Tp + t] = src[(gsize) t * ld + d];
      for (int t = T; t < Tp; t++)
        dst[(gsize) d * Tp + t] = 0.0f;
    }
}

/* dst[0, dh) += sum_k coef[k * cs] * rows[k * rs + (0, dh)], k < n, in
 * order. With nv = dh / 8 a constant 1..4 (inlined per case) the sums stay
 * in registers instead of a load and store per term. */
static inline __attribute__ ((always_inline)) void
accumulate_rows_v (float       *dst,
                   const float *coef,
                   gsize        cs,
                   const float *rows,
                   gsize        rs,
                   int          n,
                   int          nv)
{
  PtV8f acc[4] = { { 0 } };

  for (int k = 0; k < n; k++)
    {
      float c = coef[k * cs];

      for (int v = 0; v < nv; v++)
        acc[v] += c * v8_load (rows + k * rs + 8 * v);
    }
  for (int v = 0; v < nv; v++)
    v8_store (dst + 8 * v, v8_load (dst + 8 * v) + acc[v]);
}

static inline __attribute__ ((always_inline)) void
accumulate_rows (float       *dst,
                 const float *coef,
                 gsize        cs,
                 const float *rows,
                 gsize        rs,
                 int          n,
                 int          dh)
{
  switch (dh)
    {
    case 8:
      accumulate_rows_v (dst, coef, cs, rows, rs, n, 1);
      break;
    case 16:
      accumulate_rows_v (dst, coef, cs, rows, rs, n, 2);
      break;
    case 24:
      accumulate_rows_v (dst, coef, cs, rows, rs, n, 3);
      break;
    case 32:
      accumulate_rows_v (dst, coef, cs, rows, rs, n, 4);
      break;
    default:
      for (int k = 0; k < n; k++)
        {
          float c = coef[k * cs];

          for (int e = 0; e < dh; e++)
            dst[e] += c * rows[k * rs + e];
        }
    }
}

/* dst[t] = s * sum_d q[d] kt[d * Tp + t] for t < Tp (a multiple of 8), in
 * blocks of up to 64 columns held in registers (nv constant per case). */
static inline __attribute__ ((always_inline)) void
scores_block_v (float       *dst,
                const float *q,
                const float *kt,
                gsize        ldk,
                int          dh,
                float        s,
                int          nv)
{
  PtV8f acc[8] = { { 0 } };

  for (int d = 0; d < dh; d++)
    {
      float qd = q[d] * s;

      for (int v = 0; v < nv; v++)
        acc[v] += qd * v8_load (kt + d * ldk + 8 * v);
    }
  for (int v = 0; v < nv; v++)
    v8_store (dst + 8 * v, acc[v]);
}

static inline __attribute__ ((always_inline)) void
head_scores (float       *dst,
             const float *q,
             const float *kt,
             int          Tp,
             int          dh,
             float        s)
{
  for (int t0 = 0; t0 < Tp; t0 += 64)
    {
      const float *k = kt + t0;
      float *o = dst + t0;

      switch (MIN (8, (Tp - t0) / 8))
        {
        case 1: scores_block_v (o, q, k, Tp, dh, s, 1); break;
        case 2: scores_block_v (o, q, k, Tp, dh, s, 2); break;
        case 3: scores_block_v (o, q, k, Tp, dh, s, 3); break;
        case 4: scores_block_v (o, q, k, Tp, dh, s, 4); break;
        case 5: scores_block_v (o, q, k, Tp, dh, s, 5); break;
        case 6: scores_block_v (o, q, k, Tp, dh, s, 6); break;
        case 7: scores_block_v (o, q, k, Tp, dh, s, 7); break;
        default: scores_block_v (o, q, k, Tp, dh, s, 8); break;
        }
    }
}

PT_HOT static void
attention_forward_run (gsize    begin,
                       gsize    end,
                       gpointer data)
{
  AttJob *j = data;
  int T = j->T, D = j->D, NH = j->NH, dh = D / NH, D3 = 3 * D;
  float scale = 1.0f / sqrtf ((float) dh);
  int Tp = (T + 7) / 8 * 8;
  float stack[ATT_STACK_FLOATS], srow[PT_ATTENTION_MAX_T + 8];
  float *kt = (gsize) dh * Tp <= ATT_STACK_FLOATS ? stack : g_new (float, (gsize) dh * Tp);

  for (gsize bh = begin; bh < end; bh++)
    {
      gsize b = bh / NH;
      int h = (int) (bh % NH);
      const float *base = j->qkv + b * T * D3 + h * dh;

      transpose_head (kt, base + D, T, Tp, dh, D3);
      for (int i = 0; i < T; i++)
        {
          const float *restrict q = base + (gsize) i * D3;
          float *restrict row = j->att + (bh * T + i) * T;
          float *restrict o = j->out + (b * T + i) * D + h * dh;
          float mx = -INFINITY, sum = 0.0f, inv;

          head_scores (srow, q, kt, Tp, dh, scale);
          for (int t = 0; t < T; t++)
            mx = MAX (mx, srow[t]);
          for (int t = 0; t < T; t++)
            srow[t] -= mx;
          exp_neg_inplace (srow, T);
          for (int t = 0; t < T; t++)
            sum += srow[t];
          inv = 1.0f / sum;
          for (int t = 0; t < T; t++)
            row[t] = srow[t] * inv;
          /* o_i = sum_t p_t v_t */
          for (int d = 0; d < dh; d++)
            o[d] = 0.0f;
          accumulate_rows (o, row, 1, base + 2 * D, D3, T, dh);
        }
    }
  if (kt != stack)
    g_free (kt);
}

void
pt_attention_forward (float       *out,   /* [B,T,D] */
                      float       *att,   /* [B,NH,T,T] */
                      const float *qkv,   /* [B,T,3D] */
                      int          B,
                      int          T,
                      int          D,
                      int          NH)
{
  AttJob job = { .out = out, .att = att, .qkv = qkv, .T = T, .D = D, .NH = NH };

  g_assert (D % NH == 0);
  g_assert (T <= PT_ATTENTION_MAX_T);
  pt_par ((gsize) B * NH, (gsize) 2 * T * D / NH * T + 1, attention_forward_run, &job);
}

PT_HOT static void
attention_backward_run (gsize    begin,
                        gsize    end,
                        gpointer data)
{
  AttJob *j = data;
  int T = j->T, D = j->D, NH = j->NH, dh = D / NH, D3 = 3 * D;
  float scale = 1.0f / sqrtf ((float) dh);
  int Tp = (T + 7) / 8 * 8;
  float stack[ATT_STACK_FLOATS];
  gsize need = (gsize) dh * Tp + (gsize) T * Tp;
  float *vt = need <= ATT_STACK_FLOATS ? stack : g_new (float, need);
  float *ds = vt + (gsize) dh * Tp;     /* [T, Tp]: d(scores) of one head */

  for (gsize bh = begin; bh < end; bh++)
    {
      gsize b = bh / NH;
      int h = (int) (bh % NH);
      const float *base = j->qkv + b * T * D3 + h * dh;
      const float *att = j->catt + bh * T * T;
      const float *gbase = j->dout + b * T * D + h * dh;
      float *dbase = j->out + b * T * D3 + h * dh;

      transpose_head (vt, base + 2 * D, T, Tp, dh, D3);
      for (int i = 0; i < T; i++)
        {
          const float *restrict row = att + (gsize) i * T;
          const float *restrict g = gbase + (gsize) i * D;
          float *restrict dp = ds + (gsize) i * Tp;
          float s = 0.0f;

          /* o_i = sum_t p_t v_t: dp_t = g . v_t */
          head_scores (dp, g, vt, Tp, dh, 1.0f);
          for (int t = 0; t < T; t++)
            s += dp[t] * row[t];
          /* softmax backward, times the 1/sqrt (dh) of the scores */
          for (int t = 0; t < T; t++)
            dp[t] = row[t] * (dp[t] - s) * scale;
        }
      /* dq_i = sum_t ds_it k_t, dk_t = sum_i ds_it q_i, dv_t = sum_i p_it g_i */
      for (int i = 0; i < T; i++)
        accumulate_rows (dbase + (gsize) i * D3, ds + (gsize) i * Tp, 1, base + D, D3, T, dh);
      for (int t = 0; t < T; t++)
        {
          accumulate_rows (dbase + (gsize) t * D3 + D, ds + t, Tp, base, D3, T, dh);
          accumulate_rows (dbase + (gsize) t * D3 + 2 * D, att + t, T, gbase, D, T, dh);
        }
    }
  if (vt != stack)
    g_free (vt);
}

void
pt_attention_backward (float       *dqkv,  /* [B,T,3D] */
                       const float *dout,  /* [B,T,D] */
                       const float *att,   /* [B,NH,T,T] */
                       const float *qkv,   /* [B,T,3D] */
                       int          B,
                       int          T,
                       int          D,
                       int          NH)
{
  AttJob job = { .out = dqkv, .catt = att, .qkv = qkv, .dout = dout, .T = T, .D = D,
                 .NH = NH };

  g_assert (D % NH == 0);
  g_assert (T <= PT_ATTENTION_MAX_T);
  pt_par ((gsize) B * NH, (gsize) 4 * T * D / NH * T + 1, attention_backward_run, &job);
}

/* ---- patchify ----------------------------------------------------------- */

void
pt_patchify_forward (float       *out,   /* [B, N, p*p*C] */
                     const float *inp,   /* [B,C,H,W] */
                     int          B,
                     int          C,
                     int          H,
                     int          W,
                     int          p)
{
  int Hp = H / p, Wp = W / p, P = p * p * C;

  for (int b = 0; b < B; b++)
    for (int gh = 0; gh < Hp; gh++)
      for (int gw = 0; gw < Wp; gw++)
        {
          float *o = out + ((gsize) b * Hp * Wp + gh * Wp + gw) * P;

          for (int pi = 0; pi < p; pi++)
            for (int pj = 0; pj < p; pj++)
              for (int c = 0; c < C; c++)
                o[(pi * p + pj) * C + c] =
                  inp[(((gsize) b * C + c) * H + gh * p + pi) * W + gw * p + pj];
        }
}

void
pt_unpatchify_add (float       *img,      /* [B,C,H,W] */
                   const float *patches,  /* [B, N, p*p*C] */
                   int          B,
                   int          C,
                   int          H,
                   int          W,
                   int          p)
{
  int Hp = H / p, Wp = W / p, P = p * p * C;

  for (int b = 0; b < B; b++)
    for (int gh = 0; gh < Hp; gh++)
      for (int gw = 0; gw < Wp; gw++)
        {
          const float *s = patches + ((gsize) b * Hp * Wp + gh * Wp + gw) * P;

          for (int pi = 0; pi < p; pi++)
            for (int pj = 0; pj < p; pj++)
              for (int c = 0; c < C; c++)
                img[(((gsize) b * C + c) * H + gh * p + pi) * W + gw * p + pj] +=
                  s[(pi * p + pj) * C + c];
        }
}

/* ---- token gathers ------------------------------------------------------ */

void
pt_gather_tokens_forward (float        *out,  /* [B,K,D] */
                          const float  *inp,  /* [B,T,D] */
                          const gint32 *idx,  /* [B,K] */
                          int           B,
                          int           T,
                          int           K,
                          int           D)
{
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      {
        gint32 t = idx[(gsize) b * K + k];

        g_assert (t >= 0 && t < T);
        memcpy (out + ((gsize) b * K + k) * D, inp + ((gsize) b * T + t) * D,
                D * sizeof (float));
      }
}

void
pt_gather_tokens_backward (float        *dinp,  /* [B,T,D] */
                           const float  *dout,  /* [B,K,D] */
                           const gint32 *idx,
                           int           B,
                           int           T,
                           int           K,
                           int           D)
{
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      {
        float *restrict d = dinp + ((gsize) b * T + idx[(gsize) b * K + k]) * D;
        const float *restrict g = dout + ((gsize) b * K + k) * D;

        for (int c = 0; c < D; c++)
          d[c] += g[c];
      }
}

/* A bitmap of the tokens each row of idx names: used[b*T + t]. */
static void
mark_used (guint8       *used,
           const gint32 *idx,
           int           B,
           int           T,
           int           K)
{
  memset (used, 0, (gsize) B * T);
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      {
        gint32 t = idx[(gsize) b * K + k];

        g_assert (t >= 0 && t < T);
        g_assert (!used[(gsize) b * T + t]);
        used[(gsize) b * T + t] = 1;
      }
}

void
pt_scatter_tokens_forward (float        *out,   /* [B,T,D] */
                           const float  *inp,   /* [B,K,D] */
                           const float  *fill,  /* [D] or NULL */
                           const gint32 *idx,   /* [B,K] */
                           int           B,
                           int           T,
                           int           K,
                           int           D)
{
  /* Fill every row first, then overwrite the named ones. */
  for (gsize r = 0; r < (gsize) B * T; r++)
    {
      if (fill != NULL)
        memcpy (out + r * D, fill, D * sizeof (float));
      else
        memset (out + r * D, 0, D * sizeof (float));
    }
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      {
        gint32 t = idx[(gsize) b * K + k];

        g_assert (t >= 0 && t < T);
        memcpy (out + ((gsize) b * T + t) * D, inp + ((gsize) b * K + k) * D,
                D * sizeof (float));
      }
}

void
pt_scatter_tokens_backward (float        *dinp,   /* [B,K,D] */
                            float        *dfill,  /* [D] */
                            const float  *dout,   /* [B,T,D] */
                            const gint32 *idx,
                            int           B,
                            int           T,
                            int           K,
                            int           D)
{
  if (dinp != NULL)
    for (int b = 0; b < B; b++)
      for (int k = 0; k < K; k++)
        {
          float *restrict d = dinp + ((gsize) b * K + k) * D;
          const float *restrict g = dout + ((gsize) b * T + idx[(gsize) b * K + k]) * D;

          for (int c = 0; c < D; c++)
            d[c] += g[c];
        }
  if (dfill != NULL)
    {
      guint8 *used = g_malloc ((gsize) B * T);

      mark_used (used, idx, B, T, K);
      for (gsize r = 0; r < (gsize) B * T; r++)
        if (!used[r])
          for (int c = 0; c < D; c++)
            dfill[c] += dout[r * D + c];
      g_free (used);
    }
}

/* ---- tape wrappers ------------------------------------------------------ */

static int
last_dim (const PtTensor *t)
{
  return t->shape[t->ndim - 1];
}

static float *
grad_or_null (PtTensor *t)
{
  return t != NULL && t->requires_grad ? pt_tensor_ensure_grad (t) : NULL;
}

typedef struct
{
  float *mean;
  float *rstd;
} LnCtx;

static void
layernorm_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1];
  LnCtx *ctx = node->ctx;
  int D = last_dim (x), N = (int) (x->numel / D);

  pt_layernorm_backward (grad_or_null (x), grad_or_null (w), grad_or_null (node->in[2]),
                         node->out->grad, x->data, ctx->mean, ctx->rstd,
                         w != NULL ? w->data : NULL, N, D);
}

PtTensor *
pt_op_layernorm (PtTape   *tape,
                 PtTensor *x,
                 PtTensor *weight,
                 PtTensor *bias,
                 float     eps)
{
  int D = last_dim (x), N = (int) (x->numel / D);
  PtTensor *out, *in[3] = { x, weight, bias };
  LnCtx *ctx;
  PtTapeNode *node;

  g_return_val_if_fail (weight == NULL || weight->numel == (gsize) D, NULL);
  g_return_val_if_fail (bias == NULL || bias->numel == (gsize) D, NULL);
  g_return_val_if_fail (bias == NULL || weight != NULL, NULL);

  out = pt_op_new_out (tape, x->ndim, x->shape);
  ctx = pt_tape_alloc (tape, sizeof *ctx);
  ctx->mean = pt_tape_alloc (tape, N * sizeof (float));
  ctx->rstd = pt_tape_alloc (tape, N * sizeof (float));
  pt_layernorm_forward (out->data, ctx->mean, ctx->rstd, x->data,
                        weight != NULL ? weight->data : NULL,
                        bias != NULL ? bias->data : NULL, N, D, eps);
  node = pt_tape_record (tape, "layernorm", layernorm_backward, out, 3, in);
  if (node != NULL)
    node->ctx = ctx;
  return out;
}

static void
gelu_backward (PtTapeNode *node)
{
  pt_gelu_backward (pt_tensor_ensure_grad (node->in[0]), node->out->grad,
                    node->in[0]->data, node->out->numel);
}

PtTensor *
pt_op_gelu (PtTape   *tape,
            PtTensor *x)
{
  PtTensor *out = pt_op_new_out (tape, x->ndim, x->shape);

  pt_gelu_forward (out->data, x->data, x->numel);
  pt_tape_record (tape, "gelu", gelu_backward, out, 1, &x);
  return out;
}

static void
softmax_backward (PtTapeNode *node)
{
  PtTensor *o = node->out;
  int D = last_dim (o);

  pt_softmax_backward (pt_tensor_ensure_grad (node->in[0]), o->grad, o->data,
                       (int) (o->numel / D), D);
}

PtTensor *
pt_op_softmax (PtTape   *tape,
               PtTensor *x)
{
  PtTensor *out = pt_op_new_out (tape, x->ndim, x->shape);
  int D = last_dim (x);

  pt_softmax_forward (out->data, x->data, (int) (x->numel / D), D);
  pt_tape_record (tape, "softmax", softmax_backward, out, 1, &x);
  return out;
}

static void
linear_tokens_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1], *b = node->in[2];
  int C = last_dim (x), OC = w->shape[0], R = (int) (x->numel / C);

  pt_linear_backward (grad_or_null (x), grad_or_null (w), grad_or_null (b),
                      node->out->grad, x->data, w->data, R, C, OC);
}

PtTensor *
pt_op_linear_tokens (PtTape   *tape,
                     PtTensor *x,
                     PtTensor *weight,
                     PtTensor *bias)
{
  int C = last_dim (x), OC = weight->shape[0], R = (int) (x->numel / C);
  int shape[PT_MAX_DIMS];
  PtTensor *out, *in[3] = { x, weight, bias };

  g_return_val_if_fail (weight->ndim == 2 && weight->shape[1] == C, NULL);
  g_return_val_if_fail (bias == NULL || bias->numel == (gsize) OC, NULL);
  memcpy (shape, x->shape, sizeof shape);
  shape[x->ndim - 1] = OC;
  out = pt_op_new_out (tape, x->ndim, shape);
  pt_linear_forward (out->data, x->data, weight->data, bias != NULL ? bias->data : NULL,
                     R, C, OC);
  pt_tape_record (tape, "linear_tokens", linear_tokens_backward, out, 3, in);
  return out;
}

static void
attention_backward (PtTapeNode *node)
{
  PtTensor *qkv = node->in[0];
  int B = qkv->shape[0], T = qkv->shape[1], D = qkv->shape[2] / 3;

  pt_attention_backward (pt_tensor_ensure_grad (qkv), node->out->grad, node->ctx,
                         qkv->data, B, T, D, node->iarg[0]);
}

PtTensor *
pt_op_attention (PtTape   *tape,
                 PtTensor *qkv,
                 int       n_heads)
{
  int B, T, D, shape[3];
  PtTensor *out;
  float *att;
  PtTapeNode *node;

  g_return_val_if_fail (qkv->ndim == 3 && qkv->shape[2] % 3 == 0, NULL);
  B = qkv->shape[0];
  T = qkv->shape[1];
  D = qkv->shape[2] / 3;
  g_return_val_if_fail (n_heads > 0 && D % n_heads == 0, NULL);
  g_return_val_if_fail (T <= PT_ATTENTION_MAX_T, NULL);
  shape[0] = B;
  shape[1] = T;
  shape[2] = D;
  out = pt_op_new_out (tape, 3, shape);
  att = pt_tape_alloc (tape, (gsize) B * n_heads * T * T * sizeof (float));
  pt_attention_forward (out->data, att, qkv->data, B, T, D, n_heads);
  node = pt_tape_record (tape, "attention", attention_backward, out, 1, &qkv);
  if (node != NULL)
    {
      node->iarg[0] = n_heads;
      node->ctx = att;
    }
  return out;
}

PtTensor *
pt_op_self_attention (PtTape   *tape,
                      PtTensor *x,
                      PtTensor *in_proj_weight,
                      PtTensor *in_proj_bias,
                      PtTensor *out_weight,
                      PtTensor *out_bias,
                      int       n_heads)
{
  PtTensor *qkv, *a;

  g_return_val_if_fail (x->ndim == 3, NULL);
  qkv = pt_op_linear_tokens (tape, x, in_proj_weight, in_proj_bias);
  a = pt_op_attention (tape, qkv, n_heads);
  return pt_op_linear_tokens (tape, a, out_weight, out_bias);
}

static void
patchify_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];

  pt_unpatchify_add (pt_tensor_ensure_grad (x), node->out->grad, x->shape[0], x->shape[1],
                     x->shape[2], x->shape[3], node->iarg[0]);
}

PtTensor *
pt_op_patchify (PtTape   *tape,
                PtTensor *x,
                int       p)
{
  int B, C, H, W, shape[3];
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (x->ndim == 4 && p > 0, NULL);
  B = x->shape[0];
  C = x->shape[1];
  H = x->shape[2];
  W = x->shape[3];
  g_return_val_if_fail (H % p == 0 && W % p == 0, NULL);
  shape[0] = B;
  shape[1] = (H / p) * (W / p);
  shape[2] = p * p * C;
  out = pt_op_new_out (tape, 3, shape);
  pt_patchify_forward (out->data, x->data, B, C, H, W, p);
  node = pt_tape_record (tape, "patchify", patchify_backward, out, 1, &x);
  if (node != NULL)
    node->iarg[0] = p;
  return out;
}

static void
unpatchify_backward (PtTapeNode *node)
{
  PtTensor *o = node->out;
  float *d = pt_tensor_ensure_grad (node->in[0]);
  float *tmp = pt_arena_alloc (o->arena, node->in[0]->numel * sizeof (float));
  int B = o->shape[0], C = o->shape[1], H = o->shape[2], W = o->shape[3];

  pt_patchify_forward (tmp, o->grad, B, C, H, W, node->iarg[0]);
  for (gsize i = 0; i < node->in[0]->numel; i++)
    d[i] += tmp[i];
}

PtTensor *
pt_op_unpatchify (PtTape   *tape,
                  PtTensor *x,
                  int       C,
                  int       H,
                  int       W,
                  int       p)
{
  int shape[4];
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (x->ndim == 3 && p > 0 && H % p == 0 && W % p == 0, NULL);
  g_return_val_if_fail (x->shape[1] == (H / p) * (W / p) && x->shape[2] == p * p * C, NULL);
  shape[0] = x->shape[0];
  shape[1] = C;
  shape[2] = H;
  shape[3] = W;
  out = pt_tensor_new0 (pt_tape_get_arena (tape), 4, shape);
  pt_unpatchify_add (out->data, x->data, shape[0], C, H, W, p);
  node = pt_tape_record (tape, "unpatchify", unpatchify_backward, out, 1, &x);
  if (node != NULL)
    node->iarg[0] = p;
  return out;
}

static gint32 *
copy_idx (PtTape       *tape,
          const gint32 *idx,
          gsize         n)
{
  gint32 *copy = pt_tape_alloc (tape, MAX (n, 1) * sizeof (gint32));

  memcpy (copy, idx, n * sizeof (gint32));
  return copy;
}

static void
gather_tokens_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];

  pt_gather_tokens_backward (pt_tensor_ensure_grad (x), node->out->grad, node->ctx,
                             x->shape[0], x->shape[1], node->out->shape[1], x->shape[2]);
}

PtTensor *
pt_op_gather_tokens (PtTape       *tape,
                     PtTensor     *x,
                     const gint32 *idx,
                     int           K)
{
  int shape[3];
  PtTensor *out;
  PtTapeNode *node;
  gint32 *copy;

  g_return_val_if_fail (x->ndim == 3 && K >= 0, NULL);
  shape[0] = x->shape[0];
  shape[1] = K;
  shape[2] = x->shape[2];
  copy = copy_idx (tape, idx, (gsize) shape[0] * K);
  out = pt_op_new_out (tape, 3, shape);
  pt_gather_tokens_forward (out->data, x->data, copy, shape[0], x->shape[1], K, shape[2]);
  node = pt_tape_record (tape, "gather_tokens", gather_tokens_backward, out, 1, &x);
  if (node != NULL)
    node->ctx = copy;
  return out;
}

static void
scatter_tokens_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *o = node->out;

  pt_scatter_tokens_backward (grad_or_null (x), grad_or_null (node->in[1]), o->grad,
                              node->ctx, x->shape[0], o->shape[1], x->shape[1],
                              x->shape[2]);
}

PtTensor *
pt_op_scatter_tokens (PtTape       *tape,
                      PtTensor     *x,
                      const gint32 *idx,
                      int           T,
                      PtTensor     *fill)
{
  int shape[3];
  PtTensor *out, *in[2] = { x, fill };
  PtTapeNode *node;
  gint32 *copy;

  g_return_val_if_fail (x->ndim == 3 && x->shape[1] <= T, NULL);
  g_return_val_if_fail (fill == NULL || fill->numel == (gsize) x->shape[2], NULL);
  shape[0] = x->shape[0];
  shape[1] = T;
  shape[2] = x->shape[2];
  copy = copy_idx (tape, idx, (gsize) x->shape[0] * x->shape[1]);
  out = pt_op_new_out (tape, 3, shape);
  pt_scatter_tokens_forward (out->data, x->data, fill != NULL ? fill->data : NULL, copy,
                             shape[0], T, x->shape[1], shape[2]);
  node = pt_tape_record (tape, "scatter_tokens", scatter_tokens_backward, out, 2, in);
  if (node != NULL)
    node->ctx = copy;
  return out;
}

static void
slice_tokens_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *o = node->out;
  float *dx = pt_tensor_ensure_grad (x);
  int B = x->shape[0], T = x->shape[1], D = x->shape[2], n = o->shape[1];

  for (int b = 0; b < B; b++)
    {
      float *restrict d = dx + ((gsize) b * T + node->iarg[0]) * D;
      const float *restrict g = o->grad + (gsize) b * n * D;

      for (gsize i = 0; i < (gsize) n * D; i++)
        d[i] += g[i];
    }
}

PtTensor *
pt_op_slice_tokens (PtTape   *tape,
                    PtTensor *x,
                    int       begin,
                    int       end)
{
  int shape[3], B, T, D;
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (x->ndim == 3, NULL);
  g_return_val_if_fail (0 <= begin && begin <= end && end <= x->shape[1], NULL);
  B = x->shape[0];
  T = x->shape[1];
  D = x->shape[2];
  shape[0] = B;
  shape[1] = end - begin;
  shape[2] = D;
  out = pt_op_new_out (tape, 3, shape);
  for (int b = 0; b < B; b++)
    memcpy (out->data + (gsize) b * shape[1] * D, x->data + ((gsize) b * T + begin) * D,
            (gsize) shape[1] * D * sizeof (float));
  node = pt_tape_record (tape, "slice_tokens", slice_tokens_backward, out, 1, &x);
  if (node != NULL)
    node->iarg[0] = begin;
  return out;
}

static void
concat_tokens_backward (PtTapeNode *node)
{
  PtTensor *a = node->in[0], *b = node->in[1], *o = node->out;
  int B = o->shape[0], T = o->shape[1], D = o->shape[2];
  int Ta = a->shape[1], Tb = b->shape[1];

  for (int i = 0; i < B; i++)
    {
      const float *g = o->grad + (gsize) i * T * D;

      if (a->requires_grad)
        {
          float *restrict d = pt_tensor_ensure_grad (a) + (a->shape[0] == 1 ? 0 : (gsize) i * Ta * D);

          for (gsize k = 0; k < (gsize) Ta * D; k++)
            d[k] += g[k];
        }
      if (b->requires_grad)
        {
          float *restrict d = pt_tensor_ensure_grad (b) + (gsize) i * Tb * D;

          for (gsize k = 0; k < (gsize) Tb * D; k++)
            d[k] += g[(gsize) Ta * D + k];
        }
    }
}

PtTensor *
pt_op_concat_tokens (PtTape   *tape,
                     PtTensor *a,
                     PtTensor *b)
{
  int shape[3], B, Ta, Tb, D;
  PtTensor *out, *in[2] = { a, b };

  g_return_val_if_fail (a->ndim == 3 && b->ndim == 3 && a->shape[2] == b->shape[2], NULL);
  g_return_val_if_fail (a->shape[0] == 1 || a->shape[0] == b->shape[0], NULL);
  B = b->shape[0];
  Ta = a->shape[1];
  Tb = b->shape[1];
  D = b->shape[2];
  shape[0] = B;
  shape[1] = Ta + Tb;
  shape[2] = D;
  out = pt_op_new_out (tape, 3, shape);
  for (int i = 0; i < B; i++)
    {
      float *o = out->data + (gsize) i * (Ta + Tb) * D;

      memcpy (o, a->data + (a->shape[0] == 1 ? 0 : (gsize) i * Ta * D),
              (gsize) Ta * D * sizeof (float));
      memcpy (o + (gsize) Ta * D, b->data + (gsize) i * Tb * D, (gsize) Tb * D * sizeof (float));
    }
  pt_tape_record (tape, "concat_tokens", concat_tokens_backward, out, 2, in);
  return out;
}

static void
add_broadcast_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *e = node->in[1];
  const float *g = node->out->grad;
  gsize n = e->numel, B = x->numel / n;

  if (x->requires_grad)
    {
      float *restrict d = pt_tensor_ensure_grad (x);

      for (gsize i = 0; i < x->numel; i++)
        d[i] += g[i];
    }
  if (e->requires_grad)
    {
      float *restrict d = pt_tensor_ensure_grad (e);

      for (gsize b = 0; b < B; b++)
        for (gsize i = 0; i < n; i++)
          d[i] += g[b * n + i];
    }
}

PtTensor *
pt_op_add_broadcast (PtTape   *tape,
                     PtTensor *x,
                     PtTensor *e)
{
  PtTensor *out, *in[2] = { x, e };
  gsize n = e->numel;

  g_return_val_if_fail (n > 0 && x->numel % n == 0, NULL);
  out = pt_op_new_out (tape, x->ndim, x->shape);
  for (gsize b = 0; b < x->numel / n; b++)
    {
      float *restrict o = out->data + b * n;
      const float *restrict s = x->data + b * n;

      for (gsize i = 0; i < n; i++)
        o[i] = s[i] + e->data[i];
    }
  pt_tape_record (tape, "add_broadcast", add_broadcast_backward, out, 2, in);
  return out;
}
