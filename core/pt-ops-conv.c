/* pt-ops-conv.c: convolution and pooling on NHWC images.
 *
 * conv2d: the weight {OC,C,K,K} is first permuted to wp[OC, K*K*C] (tap-major,
 * channel-minor) so that one im2col row is K*K runs of C contiguous input
 * floats. Images are processed in chunks whose column matrix fits a few MB;
 * each chunk is one sgemm with M = images * OH * OW rows, whose NHWC output
 * rows are contiguous. Backward recomputes the columns instead of keeping
 * them (memory over a little time). With C == 1 a direct kernel replaces
 * im2col + a K = 9 sgemm, which would be bound by memory traffic.
 */
#include "pt-ops-private.h"

#include <string.h>

/* Column matrix budget per chunk, in floats (2 MB): small enough that the
 * columns are still in cache when sgemm packs them (measured: 15-20% less
 * CPU than 8 MB chunks), large enough to keep sync points few. */
#define PT_CONV_COL_FLOATS (1u << 19)

int
pt_conv_out_size (int H,
                  int K,
                  int stride,
                  int pad)
{
  return (H + 2 * pad - K) / stride + 1;
}

static int
conv_chunk_images (int B,
                   int OH,
                   int OW,
                   int KKC)
{
  gsize per_image = (gsize) OH * OW * KKC;
  int n = (int) MAX ((gsize) 1, PT_CONV_COL_FLOATS / MAX (per_image, 1));

  return MIN (n, B);
}

gsize
pt_conv2d_work_floats (int B,
                       int H,
                       int W,
                       int C,
                       int OC,
                       int K,
                       int stride,
                       int pad)
{
  int OH = pt_conv_out_size (H, K, stride, pad), OW = pt_conv_out_size (W, K, stride, pad);
  int KKC = K * K * C;
  int chunk = conv_chunk_images (B, OH, OW, KKC);

  /* wp + dwp + columns of one chunk (or, for C == 1, 8 partial dW) */
  return 2 * (gsize) OC * KKC + MAX ((gsize) chunk * OH * OW * KKC, 8 * (gsize) KKC * OC);
}

static void
permute_weight (float       *wp,      /* [OC, K*K*C] */
                const float *weight,  /* [OC, C, K, K] */
                int          OC,
                int          C,
                int          K)
{
  int KK = K * K;

  for (int o = 0; o < OC; o++)
    for (int c = 0; c < C; c++)
      for (int t = 0; t < KK; t++)
        wp[((gsize) o * KK + t) * C + c] = weight[((gsize) o * C + c) * KK + t];
}

typedef struct
{
  float       *col;
  const float *inp;     /* first image of the chunk */
  int          H, W, C, K, stride, pad, OH, OW;
} Im2colJob;

/* One column row per output pixel; range over the pixels of the chunk. */
PT_HOT static void
im2col_run (gsize    begin,
            gsize    end,
            gpointer data)
{
  Im2colJob *j = data;
  int C = j->C, K = j->K, OHW = j->OH * j->OW;
  gsize KKC = (gsize) K * K * C;

  for (gsize r = begin; r < end; r++)
    {
      int b = (int) (r / OHW), p = (int) (r % OHW);
      int oy = p / j->OW, ox = p % j->OW;
      const float *img = j->inp + (gsize) b * j->H * j->W * C;
      float *dst = j->col + r * KKC;

      for (int ky = 0; ky < K; ky++)
        {
          int iy = oy * j->stride - j->pad + ky;

          for (int kx = 0; kx < K; kx++, dst += C)
            {
              int ix = ox * j->stride - j->pad + kx;

              if (iy < 0 || iy >= j->H || ix < 0 || ix >= j->W)
                memset (dst, 0, C * sizeof (float));
              else
                memcpy (dst, img + ((gsize) iy * j->W + ix) * C, C * sizeof (float));
            }
        }
    }
}

typedef struct
{
  float       *dinp;    /* first image of the chunk */
  const float *col;
  int          H, W, C, K, stride, pad, OH, OW;
} Col2imJob;

/* Range over images, so threads never write the same input pixel. */
PT_HOT static void
col2im_run (gsize    begin,
            gsize    end,
            gpointer data)
{
  Col2imJob *j = data;
  int C = j->C, K = j->K, OHW = j->OH * j->OW;
  gsize KKC = (gsize) K * K * C;

  for (gsize b = begin; b < end; b++)
    {
      float *img = j->dinp + b * j->H * j->W * C;

      for (int p = 0; p < OHW; p++)
        {
          int oy = p / j->OW, ox = p % j->OW;
          const float *src = j->col + (b * OHW + p) * KKC;

          for (int ky = 0; ky < K; ky++)
            {
              int iy = oy * j->stride - j->pad + ky;

              for (int kx = 0; kx < K; kx++, src += C)
                {
                  int ix = ox * j->stride - j->pad + kx;
                  float *d;

                  if (iy < 0 || iy >= j->H || ix < 0 || ix >= j->W)
                    continue;
                  d = img + ((gsize) iy * j->W + ix) * C;
                  for (int c = 0; c < C; c++)
                    d[c] += src[c];
                }
            }
        }
    }
}

/* Direct kernel for one input channel: out[p, o] = sum_t wt[t, o] * patch[t]. */
typedef struct
{
  float       *out;
  float       *dwt;      /* backward: per-thread partial [n_parts][KK*OC] or NULL */
  float       *dinp;
  const float *dout;
  const float *inp;
  const float *wt;       /* [KK, OC] */
  int          B, H, W, OC, K, stride, pad, OH, OW;
} Direct1Job;

PT_HOT static void
direct1_forward_run (gsize    begin,
                     gsize    end,
                     gpointer data)
{
  Direct1Job *j = data;
  int OC = j->OC, K = j->K, OHW = j->OH * j->OW;
  float patch[64];

  for (gsize r = begin; r < end; r++)
    {
      int b = (int) (r / OHW), p = (int) (r % OHW);
      int oy = p / j->OW, ox = p % j->OW;
      const float *img = j->inp + (gsize) b * j->H * j->W;
      float *restrict o = j->out + r * OC;

      for (int ky = 0; ky < K; ky++)
        for (int kx = 0; kx < K; kx++)
          {
            int iy = oy * j->stride - j->pad + ky, ix = ox * j->stride - j->pad + kx;

            patch[ky * K + kx] = (iy < 0 || iy >= j->H || ix < 0 || ix >= j->W)
                                 ? 0.0f : img[(gsize) iy * j->W + ix];
          }
      for (int c = 0; c < OC; c++)
        o[c] = 0.0f;
      for (int t = 0; t < K * K; t++)
        {
          const float *restrict w = j->wt + (gsize) t * OC;
          float v = patch[t];

          for (int c = 0; c < OC; c++)
            o[c] += v * w[c];
        }
    }
}

/* Backward, range over images: dinp per image, dwt partial sums per range. */
typedef struct
{
  Direct1Job *j;
  float      *partials;  /* [n_ranges][KK*OC] */
  gsize       n_ranges;
  gsize       B;
} Direct1BackJob;

PT_HOT static void
direct1_backward_run (gsize    begin,
                      gsize    end,
                      gpointer data)
{
  Direct1BackJob *bj = data;
  Direct1Job *j = bj->j;
  int OC = j->OC, K = j->K, KK = K * K, OHW = j->OH * j->OW;
  for (gsize r = begin; r < end; r++)
    {
      float *dw = bj->partials + r * (gsize) KK * OC;
      gsize b0 = bj->B * r / bj->n_ranges, b1 = bj->B * (r + 1) / bj->n_ranges;

      memset (dw, 0, (gsize) KK * OC * sizeof (float));
      for (gsize b = b0; b < b1; b++)
        {
          const float *img = j->inp + b * j->H * j->W;
          float *dimg = j->dinp != NULL ? j->dinp + b * j->H * j->W : NULL;

          for (int p = 0; p < OHW; p++)
            {
              int oy = p / j->OW, ox = p % j->OW;
              const float *restrict d = j->dout + (b * OHW + p) * OC;

              for (int ky = 0; ky < K; ky++)
                for (int kx = 0; kx < K; kx++)
                  {
                    int iy = oy * j->stride - j->pad + ky, ix = ox * j->stride - j->pad + kx;
                    int t = ky * K + kx;
                    float v, acc = 0.0f;
                    float *restrict w;

                    if (iy < 0 || iy >= j->H || ix < 0 || ix >= j->W)
                      continue;
                    v = img[(gsize) iy * j->W + ix];
                    w = dw + (gsize) t * OC;
                    for (int c = 0; c < OC; c++)
                      w[c] += v * d[c];
                    if (dimg != NULL)
                      {
                        const float *wt = j->wt + (gsize) t * OC;

                        for (int c = 0; c < OC; c++)
                          acc += wt[c] * d[c];
                        dimg[(gsize) iy * j->W + ix] += acc;
                      }
                  }
            }
        }
    }
}

void
pt_conv2d_forward (float       *out,     /* [B,OH,OW,OC] */
                   float       *work,    /* pt_conv2d_work_floats () */
                   const float *inp,     /* [B,H,W,C] */
                   const float *weight,  /* [OC,C,K,K] */
                   int          B,
                   int          H,
                   int          W,
                   int          C,
                   int          OC,
                   int          K,
                   int          stride,
                   int          pad)
{
  int OH = pt_conv_out_size (H, K, stride, pad), OW = pt_conv_out_size (W, K, stride, pad);
  int KKC = K * K * C, chunk;
  float *wp = work, *col = work + 2 * (gsize) OC * KKC;

  g_assert (K * K <= 64 || C > 1);

  if (C == 1)
    {
      Direct1Job j = { out, NULL, NULL, NULL, inp, wp, B, H, W, OC, K, stride, pad, OH, OW };

      /* wt[t, o] */
      for (int o = 0; o < OC; o++)
        for (int t = 0; t < K * K; t++)
          wp[(gsize) t * OC + o] = weight[(gsize) o * K * K + t];
      pt_par ((gsize) B * OH * OW, (gsize) K * K * OC, direct1_forward_run, &j);
      return;
    }

  permute_weight (wp, weight, OC, C, K);
  chunk = conv_chunk_images (B, OH, OW, KKC);
  for (int b0 = 0; b0 < B; b0 += chunk)
    {
      int nb = MIN (chunk, B - b0);
      gsize rows = (gsize) nb * OH * OW;
      Im2colJob ij = { col, inp + (gsize) b0 * H * W * C, H, W, C, K, stride, pad, OH, OW };

      pt_par (rows, KKC, im2col_run, &ij);
      pt_sgemm (FALSE, TRUE, (int) rows, OC, KKC, 1.0f, col, KKC, wp, KKC, 0.0f,
                out + (gsize) b0 * OH * OW * OC, OC);
    }
}

void
pt_conv2d_backward (float       *dinp,     /* [B,H,W,C] or NULL */
                    float       *dweight,  /* [OC,C,K,K] or NULL */
                    float       *work,
                    const float *dout,     /* [B,OH,OW,OC] */
                    const float *inp,
                    const float *weight,
                    int          B,
                    int          H,
                    int          W,
                    int          C,
                    int          OC,
                    int          K,
                    int          stride,
                    int          pad)
{
  int OH = pt_conv_out_size (H, K, stride, pad), OW = pt_conv_out_size (W, K, stride, pad);
  int KKC = K * K * C, KK = K * K, chunk;
  float *wp = work, *dwp = work + (gsize) OC * KKC, *col = work + 2 * (gsize) OC * KKC;

  if (C == 1)
    {
      Direct1Job j = { NULL, NULL, dinp, dout, inp, wp, B, H, W, OC, K, stride, pad, OH, OW };
      /* Fixed number of ranges (not the thread count) so results do not
       * depend on how many threads ran them. */
      gsize n_ranges = MIN ((gsize) B, 8);
      Direct1BackJob bj = { &j, col, n_ranges, (gsize) B };

      for (int o = 0; o < OC; o++)
        for (int t = 0; t < KK; t++)
          wp[(gsize) t * OC + o] = weight[(gsize) o * KK + t];
      pt_parallel_for (n_ranges, direct1_backward_run, &bj);
      if (dweight != NULL)
        for (gsize r = 0; r < n_ranges; r++)
          for (int t = 0; t < KK; t++)
            for (int o = 0; o < OC; o++)
              dweight[(gsize) o * KK + t] += col[(r * KK + t) * OC + o];
      return;
    }

  permute_weight (wp, weight, OC, C, K);
  memset (dwp, 0, (gsize) OC * KKC * sizeof (float));
  chunk = conv_chunk_images (B, OH, OW, KKC);
  for (int b0 = 0; b0 < B; b0 += chunk)
    {
      int nb = MIN (chunk, B - b0);
      gsize rows = (gsize) nb * OH * OW;
      const float *d = dout + (gsize) b0 * OH * OW * OC;

      if (dweight != NULL)
        {
          Im2colJob ij = { col, inp + (gsize) b0 * H * W * C, H, W, C, K, stride, pad, OH, OW };

          pt_par (rows, KKC, im2col_run, &ij);
          /* dwp[OC,KKC] += d^T[OC,rows] @ col[rows,KKC] */
          pt_sgemm (TRUE, FALSE, OC, KKC, (int) rows, 1.0f, d, OC, col, KKC, 1.0f, dwp, KKC);
        }
      if (dinp != NULL)
        {
          Col2imJob cj = { dinp + (gsize) b0 * H * W * C, col, H, W, C, K, stride, pad, OH, OW };

          /* col[rows,KKC] = d[rows,OC] @ wp[OC,KKC] */
          pt_sgemm (FALSE, FALSE, (int) rows, KKC, OC, 1.0f, d, OC, wp, KKC, 0.0f, col, KKC);
          pt_par (nb, (gsize) OH * OW * KKC, col2im_run, &cj);
        }
    }
  if (dweight != NULL)
    for (int o = 0; o < OC; o++)
      for (int c = 0; c < C; c++)
        for (int t = 0; t < KK; t++)
          dweight[((gsize) o * C + c) * KK + t] += dwp[((gsize) o * KK + t) * C + c];
}

/* ---- pooling ------------------------------------------------------------ */

typedef struct
{
  float       *out;
  gint32      *argmax;
  const float *inp;
  int          H, W, C, K, stride, OH, OW;
  gboolean     average;
} PoolJob;

PT_HOT static void
pool_forward_run (gsize    begin,
                  gsize    end,
                  gpointer data)
{
  PoolJob *j = data;
  int C = j->C, K = j->K;
  float inv = 1.0f / (K * K);

  for (gsize b = begin; b < end; b++)
    for (int oy = 0; oy < j->OH; oy++)
      for (int ox = 0; ox < j->OW; ox++)
        {
          gsize o = ((b * j->OH + oy) * j->OW + ox) * C;
          float *restrict out = j->out + o;
          gint32 *restrict am = j->argmax != NULL ? j->argmax + o : NULL;

          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
              {
                gsize i = ((b * j->H + oy * j->stride + ky) * j->W + ox * j->stride + kx) * C;
                const float *restrict in = j->inp + i;
                gint32 base = (gint32) i;

                if (ky == 0 && kx == 0)
                  {
                    if (j->average)
                      for (int c = 0; c < C; c++)
                        out[c] = in[c] * inv;
                    else
                      for (int c = 0; c < C; c++)
                        {
                          out[c] = in[c];
                          am[c] = base + c;
                        }
                  }
                else if (j->average)
                  {
                    for (int c = 0; c < C; c++)
                      out[c] += in[c] * inv;
                  }
                else
                  {
                    /* Branch-free select, so the loop vectorizes. */
                    for (int c = 0; c < C; c++)
                      {
                        gboolean gt = in[c] > out[c];

                        out[c] = gt ? in[c] : out[c];
                        am[c] = gt ? base + c : am[c];
                      }
                  }
              }
        }
}

void
pt_maxpool2d_forward (float       *out,
                      gint32      *argmax,
                      const float *inp,
                      int          B,
                      int          H,
                      int          W,
                      int          C,
                      int          K,
                      int          stride)
{
  PoolJob j = { out, argmax, inp, H, W, C, K, stride,
                pt_conv_out_size (H, K, stride, 0), pt_conv_out_size (W, K, stride, 0), FALSE };

  g_assert ((gsize) B * H * W * C <= G_MAXINT32);
  pt_par (B, (gsize) H * W * C, pool_forward_run, &j);
}

typedef struct
{
  float        *dinp;
  const float  *dout;
  const gint32 *argmax;
  gsize         per_image;
} MaxBackJob;

static void
maxpool_backward_run (gsize    begin,
                      gsize    end,
                      gpointer data)
{
  MaxBackJob *j = data;

  /* Each output's argmax lies in its own image: ranges over images are disjoint. */
  for (gsize i = begin * j->per_image; i < end * j->per_image; i++)
    j->dinp[j->argmax[i]] += j->dout[i];
}

void
pt_maxpool2d_backward (float        *dinp,
                       const float  *dout,
                       const gint32 *argmax,
                       int           B,
                       int           OH,
                       int           OW,
                       int           C)
{
  MaxBackJob j = { dinp, dout, argmax, (gsize) OH * OW * C };

  pt_par (B, j.per_image, maxpool_backward_run, &j);
}

void
pt_avgpool2d_forward (float       *out,
                      const float *inp,
                      int          B,
                      int          H,
                      int          W,
                      int          C,
                      int          K,
                      int          stride)
{
  PoolJob j = { out, NULL, inp, H, W, C, K, stride,
                pt_conv_out_size (H, K, stride, 0), pt_conv_out_size (W, K, stride, 0), TRUE };

  pt_par (B, (gsize) H * W * C, pool_forward_run, &j);
}

void
pt_avgpool2d_backward (float       *dinp,
                       const float *dout,
                       int          B,
                       int          H,
                       int          W,
                       int          C,
                       int          K,
                       int          stride)
{
  int OH = pt_conv_out_size (H, K, stride, 0), OW = pt_conv_out_size (W, K, stride, 0);
  float inv = 1.0f / (K * K);

  for (int b = 0; b < B; b++)
    for (int oy = 0; oy < OH; oy++)
      for (int ox = 0; ox < OW; ox++)
        {
          const float *d = dout + (((gsize) b * OH + oy) * OW + ox) * C;

          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
              {
                float *di = dinp + (((gsize) b * H + oy * stride + ky) * W + ox * stride + kx) * C;

                for (int c = 0; c < C; c++)
                  di[c] += d[c] * inv;
              }
        }
}

void
pt_global_avgpool_forward (float       *out,
                           const float *inp,
                           int          B,
                           int          HW,
                           int          C)
{
  float inv = 1.0f / HW;

  for (int b = 0; b < B; b++)
    {
      float *restrict o = out + (gsize) b * C;

      for (int c = 0; c < C; c++)
        o[c] = 0.0f;
      for (int p = 0; p < HW; p++)
        {
          const float *restrict in = inp + ((gsize) b * HW + p) * C;

          for (int c = 0; c < C; c++)
            o[c] += in[c];
        }
      for (int c = 0; c < C; c++)
        o[c] *= inv;
    }
}

void
pt_global_avgpool_backward (float       *dinp,
                            const float *dout,
                            int          B,
                            int          HW,
                            int          C)
{
  float inv = 1.0f / HW;

  for (int b = 0; b < B; b++)
    for (int p = 0; p < HW; p++)
      {
        float *restrict d = dinp + ((gsize) b * HW + p) * C;
        const float *restrict g = dout + (gsize) b * C;

        for (int c = 0; c < C; c++)
          d[c] += g[c] * inv;
      }
}

/* ---- tape wrappers ------------------------------------------------------ */

#define CONV_DIMS(node) \
  node->iarg[0], node->iarg[1], node->iarg[2], node->iarg[3], node->iarg[4], \
  node->iarg[5], node->iarg[6], node->iarg[7]

static void
conv2d_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0], *w = node->in[1];
  gsize nw = pt_conv2d_work_floats (CONV_DIMS (node));
  float *work = pt_tape_get_scratch (node->ctx, nw * sizeof (float));

  pt_conv2d_backward (x->requires_grad ? pt_tensor_ensure_grad (x) : NULL,
                      w->requires_grad ? pt_tensor_ensure_grad (w) : NULL,
                      work, node->out->grad, x->data, w->data, CONV_DIMS (node));
}

PtTensor *
pt_op_conv2d (PtTape   *tape,
              PtTensor *x,
              PtTensor *weight,
              int       stride,
              int       pad)
{
  int B, H, W, C, OC, K, OH, OW, shape[4];
  PtTensor *out, *in[2] = { x, weight };
  PtTapeNode *node;
  float *work;

  g_return_val_if_fail (x->ndim == 4 && weight->ndim == 4, NULL);
  B = x->shape[0];
  H = x->shape[1];
  W = x->shape[2];
  C = x->shape[3];
  OC = weight->shape[0];
  K = weight->shape[2];
  g_return_val_if_fail (weight->shape[1] == C && weight->shape[3] == K, NULL);
  g_return_val_if_fail (stride >= 1 && pad >= 0 && K <= 8, NULL);
  OH = pt_conv_out_size (H, K, stride, pad);
  OW = pt_conv_out_size (W, K, stride, pad);
  g_return_val_if_fail (OH > 0 && OW > 0, NULL);

  shape[0] = B;
  shape[1] = OH;
  shape[2] = OW;
  shape[3] = OC;
  out = pt_op_new_out (tape, 4, shape);
  work = pt_tape_get_scratch (tape, pt_conv2d_work_floats (B, H, W, C, OC, K, stride, pad)
                                    * sizeof (float));
  pt_conv2d_forward (out->data, work, x->data, weight->data, B, H, W, C, OC, K, stride, pad);
  node = pt_tape_record (tape, "conv2d", conv2d_backward, out, 2, in);
  if (node != NULL)
    {
      int dims[8] = { B, H, W, C, OC, K, stride, pad };

      memcpy (node->iarg, dims, sizeof dims);
      node->ctx = tape;
    }
  return out;
}

static void
maxpool_backward (PtTapeNode *node)
{
  PtTensor *o = node->out;

  pt_maxpool2d_backward (pt_tensor_ensure_grad (node->in[0]), o->grad, node->ctx,
                         o->shape[0], o->shape[1], o->shape[2], o->shape[3]);
}

PtTensor *
pt_op_maxpool2d (PtTape   *tape,
                 PtTensor *x,
                 int       k,
                 int       stride)
{
  int shape[4];
  PtTensor *out;
  PtTapeNode *node;
  gint32 *argmax;

  g_return_val_if_fail (x->ndim == 4 && k >= 1 && stride >= 1, NULL);
  shape[0] = x->shape[0];
  shape[1] = pt_conv_out_size (x->shape[1], k, stride, 0);
  shape[2] = pt_conv_out_size (x->shape[2], k, stride, 0);
  shape[3] = x->shape[3];
  g_return_val_if_fail (shape[1] > 0 && shape[2] > 0, NULL);
  out = pt_op_new_out (tape, 4, shape);
  argmax = pt_tape_alloc (tape, out->numel * sizeof (gint32));
  pt_maxpool2d_forward (out->data, argmax, x->data, x->shape[0], x->shape[1], x->shape[2],
                        x->shape[3], k, stride);
  node = pt_tape_record (tape, "maxpool2d", maxpool_backward, out, 1, &x);
  if (node != NULL)
    node->ctx = argmax;
  return out;
}

static void
avgpool_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];

  pt_avgpool2d_backward (pt_tensor_ensure_grad (x), node->out->grad, x->shape[0], x->shape[1],
                         x->shape[2], x->shape[3], node->iarg[0], node->iarg[1]);
}

PtTensor *
pt_op_avgpool2d (PtTape   *tape,
                 PtTensor *x,
                 int       k,
                 int       stride)
{
  int shape[4];
  PtTensor *out;
  PtTapeNode *node;

  g_return_val_if_fail (x->ndim == 4 && k >= 1 && stride >= 1, NULL);
  shape[0] = x->shape[0];
  shape[1] = pt_conv_out_size (x->shape[1], k, stride, 0);
  shape[2] = pt_conv_out_size (x->shape[2], k, stride, 0);
  shape[3] = x->shape[3];
  g_return_val_if_fail (shape[1] > 0 && shape[2] > 0, NULL);
  out = pt_op_new_out (tape, 4, shape);
  pt_avgpool2d_forward (out->data, x->data, x->shape[0], x->shape[1], x->shape[2],
                        x->shape[3], k, stride);
  node = pt_tape_record (tape, "avgpool2d", avgpool_backward, out, 1, &x);
  if (node != NULL)
    {
      node->iarg[0] = k;
      node->iarg[1] = stride;
    }
  return out;
}

static void
global_avgpool_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];

  pt_global_avgpool_backward (pt_tensor_ensure_grad (x), node->out->grad, x->shape[0],
                              x->shape[1] * x->shape[2], x->shape[3]);
}

PtTensor *
pt_op_global_avgpool (PtTape   *tape,
                      PtTensor *x)
{
  int shape[2];
  PtTensor *out;

  g_return_val_if_fail (x->ndim == 4, NULL);
  shape[0] = x->shape[0];
  shape[1] = x->shape[3];
  out = pt_op_new_out (tape, 2, shape);
  pt_global_avgpool_forward (out->data, x->data, x->shape[0], x->shape[1] * x->shape[2],
                             x->shape[3]);
  pt_tape_record (tape, "global_avgpool", global_avgpool_backward, out, 1, &x);
  return out;
}
