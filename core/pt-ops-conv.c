/* pt-ops-conv.c: convolution and pooling on NHWC images.
 *
 * conv2d: the weight {OC,C,K,K} is first permuted to wp[OC, K*K*C] (tap-major,
 * channel-minor) so that one im2col row is K*K runs of C contiguous input
 * floats. Images are processed in chunks whose column matrix fits a few MB;
 * each chunk is one sgemm with M = images * OH * OW rows, whose NHWC output
 * rows are contiguous. Backward recomputes the columns instead of keeping
 * them (memory over a little time). With C == 1 a direct kernel replaces
 * im2col + a K = 9 sgemm, which would be bound by memory traffic; for 3x3
 * with 8-32 -> 32 channels a direct forward kernel replaces the thin sgemm.
 *
 * Threads: with 2 or more, the batch is cut into one slice per thread and
 * each thread runs im2col, single-threaded sgemm and col2im on its slice
 * (pt_parallel_for_blas), so a convolution costs one sync, not several per
 * chunk; dW is summed from per-slice partials in slice order.
 */
#include "pt-ops-private.h"

#include <string.h>

#include "pt-threads.h"

/* Column matrix budget per chunk, in floats (2 MB): small enough that the
 * columns are still in cache when sgemm packs them (measured: 15-20% less
 * CPU than 8 MB chunks), large enough to keep sync points few. */
#define PT_CONV_COL_FLOATS (1u << 19)

/* Batch slices the work area holds at the full chunk size (the 2 cores the
 * workbench is made for); more threads share it. */
#define PT_CONV_WORK_PARTS 2

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

  gsize cols = MAX ((gsize) chunk * OH * OW * KKC, 8 * (gsize) KKC * OC);
  gsize split = PT_CONV_WORK_PARTS * ((gsize) OC * KKC + (gsize) chunk * OH * OW * KKC);

  /* wp + dwp + columns of one chunk (or, for C == 1, 8 partial dW), or room
   * for PT_CONV_WORK_PARTS batch slices, each a partial dW and its columns */
  return 2 * (gsize) OC * KKC + MAX (cols, split);
}

/* How a convolution is split over the pool: n_parts contiguous batch slices,
 * each run start to end by one thread with its own columns, single-threaded
 * sgemm and partial dW. One sync per call instead of several per chunk,
 * which on 2 cores is most of the gain (the products are small). */
typedef struct
{
  int   n_parts;
  int   chunk;    /* images per product within a slice */
  gsize slice;    /* floats of the column area per slice */
} ConvSplit;

static gboolean
conv_split_plan (ConvSplit *s,
                 int        B,
                 int        H,
                 int        W,
                 int        C,
                 int        OC,
                 int        K,
                 int        stride,
                 int        pad)
{
  int OH = pt_conv_out_size (H, K, stride, pad), OW = pt_conv_out_size (W, K, stride, pad);
  int KKC = K * K * C;
  gsize per_image = (gsize) OH * OW * KKC, wsz = (gsize) OC * KKC;
  gsize col_floats = pt_conv2d_work_floats (B, H, W, C, OC, K, stride, pad) - 2 * wsz;
  gsize n = MIN ((gsize) pt_threads_get (), (gsize) B);

  if (!pt_threads_blas_uses_pool ())
    return FALSE;
  /* Work sized for PT_CONV_WORK_PARTS slices; with more threads, the
   * slices share it (smaller chunks), while each still holds one image. */
  n = MIN (n, col_floats / (wsz + per_image));
  if (n < 2)
    return FALSE;
  s->n_parts = (int) n;
  s->slice = col_floats / n;
  s->chunk = (int) MIN ((s->slice - wsz) / per_image,
                        (gsize) conv_chunk_images (B, OH, OW, KKC));
  g_assert (s->chunk >= 1);
  return TRUE;
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

/* The taps kx of one kernel row that fall inside the image: [*lo, *hi). In
 * NHWC they are one contiguous run of (hi - lo) * C input floats, so im2col
 * and col2im move K runs per output pixel instead of K * K runs of C. */
static inline void
conv_row_span (int  ix0,
               int  K,
               int  W,
               int *lo,
               int *hi)
{
  *lo = MAX (0, -ix0);
  *hi = MIN (K, W - ix0);
  if (*hi < *lo)
    *hi = *lo;
}

/* One column row per output pixel; range over the pixels of the chunk. */
PT_HOT static void
im2col_run (gsize    begin,
            gsize    end,
            gpointer data)
{
  Im2colJob *j = data;
  int C = j->C, K = j->K, OHW = j->OH * j->OW;
  gsize KKC = (gsize) K * K * C, KC = (gsize) K * C;

  for (gsize r = begin; r < end; r++)
    {
      int b = (int) (r / OHW), p = (int) (r % OHW);
      int oy = p / j->OW, ox = p % j->OW;
      int ix0 = ox * j->stride - j->pad, lo, hi;
      const float *img = j->inp + (gsize) b * j->H * j->W * C;
      float *dst = j->col + r * KKC;

      conv_row_span (ix0, K, j->W, &lo, &hi);
      for (int ky = 0; ky < K; ky++, dst += KC)
        {
          int iy = oy * j->stride - j->pad + ky;
          const float *src;
          gsize n;

          if (iy < 0 || iy >= j->H || lo == hi)
            {
              for (gsize i = 0; i < KC; i++)
                dst[i] = 0.0f;
              continue;
            }
          for (gsize i = 0; i < (gsize) lo * C; i++)
            dst[i] = 0.0f;
          src = img + ((gsize) iy * j->W + ix0 + lo) * C;
          n = (gsize) (hi - lo) * C;
          for (gsize i = 0; i < n; i++)
            dst[(gsize) lo * C + i] = src[i];
          for (gsize i = (gsize) hi * C; i < KC; i++)
            dst[i] = 0.0f;
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
  gsize KKC = (gsize) K * K * C, KC = (gsize) K * C;

  for (gsize b = begin; b < end; b++)
    {
      float *img = j->dinp + b * j->H * j->W * C;

      for (int p = 0; p < OHW; p++)
        {
          int oy = p / j->OW, ox = p % j->OW;
          int ix0 = ox * j->stride - j->pad, lo, hi;
          const float *src = j->col + (b * OHW + p) * KKC;

          conv_row_span (ix0, K, j->W, &lo, &hi);
          for (int ky = 0; ky < K; ky++, src += KC)
            {
              int iy = oy * j->stride - j->pad + ky;
              float *restrict d;
              const float *restrict s;
              gsize n;

              if (iy < 0 || iy >= j->H)
                continue;
              d = img + ((gsize) iy * j->W + ix0 + lo) * C;
              s = src + (gsize) lo * C;
              n = (gsize) (hi - lo) * C;
              for (gsize i = 0; i < n; i++)
                d[i] += s[i];
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

/* The row kernels below read K input rows copied, zero-padded, into a stack
 * buffer, so the inner loops have no bounds tests and no divisions (the
 * per-pixel kernels above spend most of their time on those). Images whose
 * padded rows do not fit use the per-pixel kernels. */
#define DIRECT1_ROW_FLOATS 2048

static gboolean
direct1_rows_fit (int W,
                  int K,
                  int pad)
{
  return (gsize) K * (W + 2 * (gsize) pad) <= DIRECT1_ROW_FLOATS;
}

/* rows[ky, 0 .. W + 2 pad) = input row iy0 + ky, zero outside the image. */
static void
direct1_load_rows (float       *rows,
                   const float *img,   /* [H, W] */
                   int          H,
                   int          W,
                   int          K,
                   int          pad,
                   int          iy0)
{
  int PW = W + 2 * pad;

  for (int ky = 0; ky < K; ky++)
    {
      float *r = rows + (gsize) ky * PW;
      int iy = iy0 + ky;

      if (iy < 0 || iy >= H)
        {
          memset (r, 0, PW * sizeof (float));
          continue;
        }
      memset (r, 0, pad * sizeof (float));
      memcpy (r + pad, img + (gsize) iy * W, W * sizeof (float));
      memset (r + pad + W, 0, pad * sizeof (float));
    }
}

/* 3x3 with 8, 16 or 32 output channels: accumulators in vector registers
 * (GCC vector extension; SSE2 in the default clone, AVX2 in the v3 one),
 * with the channel count a constant once inlined. */
typedef float PtV8 __attribute__ ((vector_size (32)));

static inline __attribute__ ((always_inline)) void
direct1_row_v8_n (float       *out,    /* [OW, OC] */
                  const float *rows,   /* [3, PW] */
                  int          PW,
                  const float *wt,     /* [9, OC] */
                  int          OW,
                  int          stride,
                  int          OC)
{
  for (int ox = 0; ox < OW; ox++)
    {
      const float *x = rows + ox * stride;
      PtV8 acc[4];

      for (int q = 0; q < OC / 8; q++)
        acc[q] = (PtV8) { 0 };
      for (int ky = 0; ky < 3; ky++)
        for (int kx = 0; kx < 3; kx++)
          {
            float v = x[ky * PW + kx];

            for (int q = 0; q < OC / 8; q++)
              {
                PtV8 w;

                memcpy (&w, wt + (ky * 3 + kx) * OC + 8 * q, sizeof w);
                acc[q] += v * w;
              }
          }
      for (int q = 0; q < OC / 8; q++)
        memcpy (out + (gsize) ox * OC + 8 * q, &acc[q], sizeof acc[q]);
    }
}

static inline __attribute__ ((always_inline)) gboolean
direct1_row_v8 (float       *out,
                const float *rows,
                int          PW,
                const float *wt,
                int          OW,
                int          stride,
                int          K,
                int          OC)
{
  if (K != 3)
    return FALSE;
  switch (OC)
    {
    case 8:
      direct1_row_v8_n (out, rows, PW, wt, OW, stride, 8);
      return TRUE;
    case 16:
      direct1_row_v8_n (out, rows, PW, wt, OW, stride, 16);
      return TRUE;
    case 32:
      direct1_row_v8_n (out, rows, PW, wt, OW, stride, 32);
      return TRUE;
    default:
      return FALSE;
    }
}

/* dw[t, :] += sum over the row of x[tap t] * d, for 3x3 and 8/16/32 output
 * channels: one kernel row (3 taps) at a time, accumulated in registers
 * across the whole output row. */
static inline __attribute__ ((always_inline)) void
direct1_dw_row_v8_n (float       *dw,     /* [9, OC] */
                     const float *rows,   /* [3, PW] */
                     int          PW,
                     const float *d,      /* [OW, OC] */
                     int          OW,
                     int          stride,
                     int          OC)
{
  for (int ky = 0; ky < 3; ky++)
    {
      PtV8 acc[3][4];

      for (int kx = 0; kx < 3; kx++)
        for (int q = 0; q < OC / 8; q++)
          acc[kx][q] = (PtV8) { 0 };
      for (int ox = 0; ox < OW; ox++)
        {
          const float *x = rows + ky * PW + ox * stride;

          for (int q = 0; q < OC / 8; q++)
            {
              PtV8 g;

              memcpy (&g, d + (gsize) ox * OC + 8 * q, sizeof g);
              for (int kx = 0; kx < 3; kx++)
                acc[kx][q] += x[kx] * g;
            }
        }
      for (int kx = 0; kx < 3; kx++)
        for (int q = 0; q < OC / 8; q++)
          {
            float *w = dw + (ky * 3 + kx) * OC + 8 * q;
            PtV8 old;

            memcpy (&old, w, sizeof old);
            old += acc[kx][q];
            memcpy (w, &old, sizeof old);
          }
    }
}

static inline __attribute__ ((always_inline)) gboolean
direct1_dw_row_v8 (float       *dw,
                   const float *rows,
                   int          PW,
                   const float *d,
                   int          OW,
                   int          stride,
                   int          K,
                   int          OC)
{
  if (K != 3)
    return FALSE;
  switch (OC)
    {
    case 8:
      direct1_dw_row_v8_n (dw, rows, PW, d, OW, stride, 8);
      return TRUE;
    case 16:
      direct1_dw_row_v8_n (dw, rows, PW, d, OW, stride, 16);
      return TRUE;
    case 32:
      direct1_dw_row_v8_n (dw, rows, PW, d, OW, stride, 32);
      return TRUE;
    default:
      return FALSE;
    }
}

/* Forward, range over output rows (b, oy). */
PT_HOT static void
direct1_rows_forward_run (gsize    begin,
                          gsize    end,
                          gpointer data)
{
  Direct1Job *j = data;
  int OC = j->OC, K = j->K, PW = j->W + 2 * j->pad;
  float rows[DIRECT1_ROW_FLOATS];

  for (gsize r = begin; r < end; r++)
    {
      int b = (int) (r / j->OH), oy = (int) (r % j->OH);

      direct1_load_rows (rows, j->inp + (gsize) b * j->H * j->W, j->H, j->W, K, j->pad,
                         oy * j->stride - j->pad);
      if (direct1_row_v8 (j->out + r * j->OW * OC, rows, PW, j->wt, j->OW, j->stride, K, OC))
        continue;
      for (int ox = 0; ox < j->OW; ox++)
        {
          float *restrict o = j->out + (r * j->OW + ox) * OC;
          const float *x = rows + ox * j->stride;

          for (int c = 0; c < OC; c++)
            o[c] = 0.0f;
          for (int ky = 0; ky < K; ky++)
            for (int kx = 0; kx < K; kx++)
              {
                const float *restrict w = j->wt + (gsize) (ky * K + kx) * OC;
                float v = x[ky * PW + kx];

                for (int c = 0; c < OC; c++)
                  o[c] += v * w[c];
              }
        }
    }
}

typedef struct _Direct1BackJob Direct1BackJob;

/* Backward, range over the fixed image ranges: dwt partial sums per range;
 * dinp row by row through a padded buffer. */
PT_HOT static void
direct1_rows_backward_run (gsize    begin,
                           gsize    end,
                           gpointer data);

/* Backward, range over images: dinp per image, dwt partial sums per range. */
struct _Direct1BackJob
{
  Direct1Job *j;
  float      *partials;  /* [n_ranges][KK*OC] */
  gsize       n_ranges;
  gsize       B;
};

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

typedef struct
{
  ConvSplit    s;
  float       *out;     /* forward */
  float       *dinp;    /* backward, or NULL */
  gboolean     want_dw;
  float       *area;    /* the column area: n_parts slices */
  const float *dout;
  const float *inp;
  const float *wp;      /* [OC, KKC] */
  int          B, H, W, C, OC, K, stride, pad, OH, OW;
} ConvSplitJob;

PT_HOT static void
conv_split_forward_run (gsize    begin,
                        gsize    end,
                        gpointer data)
{
  ConvSplitJob *j = data;
  int KKC = j->K * j->K * j->C, OHW = j->OH * j->OW;

  for (gsize part = begin; part < end; part++)
    {
      int b0 = (int) ((gsize) j->B * part / j->s.n_parts);
      int b1 = (int) ((gsize) j->B * (part + 1) / j->s.n_parts);
      float *col = j->area + part * j->s.slice + (gsize) j->OC * KKC;

      for (int b = b0; b < b1; b += j->s.chunk)
        {
          int nb = MIN (j->s.chunk, b1 - b);
          gsize rows = (gsize) nb * OHW;
          Im2colJob ij = { col, j->inp + (gsize) b * j->H * j->W * j->C, j->H, j->W, j->C,
                           j->K, j->stride, j->pad, j->OH, j->OW };

          im2col_run (0, rows, &ij);
          pt_sgemm_serial (FALSE, TRUE, (int) rows, j->OC, KKC, 1.0f, col, KKC, j->wp, KKC,
                           0.0f, j->out + (gsize) b * OHW * j->OC, j->OC);
        }
    }
}

PT_HOT static void
conv_split_backward_run (gsize    begin,
                         gsize    end,
                         gpointer data)
{
  ConvSplitJob *j = data;
  int KKC = j->K * j->K * j->C, OHW = j->OH * j->OW;

  for (gsize part = begin; part < end; part++)
    {
      int b0 = (int) ((gsize) j->B * part / j->s.n_parts);
      int b1 = (int) ((gsize) j->B * (part + 1) / j->s.n_parts);
      float *dw = j->area + part * j->s.slice;   /* this slice's dW [OC, KKC] */
      float *col = dw + (gsize) j->OC * KKC;

      if (j->want_dw)
        memset (dw, 0, (gsize) j->OC * KKC * sizeof (float));
      for (int b = b0; b < b1; b += j->s.chunk)
        {
          int nb = MIN (j->s.chunk, b1 - b);
          gsize rows = (gsize) nb * OHW;
          const float *d = j->dout + (gsize) b * OHW * j->OC;

          if (j->want_dw)
            {
              Im2colJob ij = { col, j->inp + (gsize) b * j->H * j->W * j->C, j->H, j->W, j->C,
                               j->K, j->stride, j->pad, j->OH, j->OW };

              im2col_run (0, rows, &ij);
              pt_sgemm_serial (TRUE, FALSE, j->OC, KKC, (int) rows, 1.0f, d, j->OC, col, KKC,
                               1.0f, dw, KKC);
            }
          if (j->dinp != NULL)
            {
              Col2imJob cj = { j->dinp + (gsize) b * j->H * j->W * j->C, col, j->H, j->W, j->C,
                               j->K, j->stride, j->pad, j->OH, j->OW };

              pt_sgemm_serial (FALSE, FALSE, (int) rows, KKC, j->OC, 1.0f, d, j->OC, j->wp, KKC,
                               0.0f, col, KKC);
              col2im_run (0, nb, &cj);
            }
        }
    }
}

PT_HOT static void
direct1_rows_backward_run (gsize    begin,
                           gsize    end,
                           gpointer data)
{
  Direct1BackJob *bj = data;
  Direct1Job *j = bj->j;
  int OC = j->OC, K = j->K, KK = K * K, PW = j->W + 2 * j->pad;
  float rows[DIRECT1_ROW_FLOATS], drows[DIRECT1_ROW_FLOATS];

  for (gsize r = begin; r < end; r++)
    {
      float *dw = bj->partials + r * (gsize) KK * OC;
      gsize b0 = bj->B * r / bj->n_ranges, b1 = bj->B * (r + 1) / bj->n_ranges;

      memset (dw, 0, (gsize) KK * OC * sizeof (float));
      for (gsize b = b0; b < b1; b++)
        {
          float *dimg = j->dinp != NULL ? j->dinp + b * j->H * j->W : NULL;

          for (int oy = 0; oy < j->OH; oy++)
            {
              int iy0 = oy * j->stride - j->pad;

              direct1_load_rows (rows, j->inp + b * j->H * j->W, j->H, j->W, K, j->pad, iy0);
              if (dimg != NULL)
                memset (drows, 0, (gsize) K * PW * sizeof (float));
              if (dimg == NULL
                  && direct1_dw_row_v8 (dw, rows, PW, j->dout + (b * j->OH + oy) * j->OW * OC,
                                        j->OW, j->stride, K, OC))
                continue;
              for (int ox = 0; ox < j->OW; ox++)
                {
                  const float *restrict d = j->dout + ((b * j->OH + oy) * j->OW + ox) * OC;
                  int x0 = ox * j->stride;

                  for (int ky = 0; ky < K; ky++)
                    for (int kx = 0; kx < K; kx++)
                      {
                        float *restrict w = dw + (gsize) (ky * K + kx) * OC;
                        float v = rows[ky * PW + x0 + kx];

                        for (int c = 0; c < OC; c++)
                          w[c] += v * d[c];
                      }
                  if (dimg != NULL)
                    for (int ky = 0; ky < K; ky++)
                      for (int kx = 0; kx < K; kx++)
                        {
                          const float *restrict wt = j->wt + (gsize) (ky * K + kx) * OC;
                          float acc = 0.0f;

                          for (int c = 0; c < OC; c++)
                            acc += wt[c] * d[c];
                          drows[ky * PW + x0 + kx] += acc;
                        }
                }
              if (dimg != NULL)
                for (int ky = 0; ky < K; ky++)
                  {
                    int iy = iy0 + ky;
                    float *restrict dst = dimg + (gsize) iy * j->W;
                    const float *restrict src = drows + ky * PW + j->pad;

                    if (iy < 0 || iy >= j->H)
                      continue;
                    for (int ix = 0; ix < j->W; ix++)
                      dst[ix] += src[ix];
                  }
            }
        }
    }
}

/* ---- direct 3x3 for few channels ----------------------------------------
 *
 * For 8, 16 or 32 input and 32 output channels (block 2 of the width-16
 * cnn), a direct kernel beats im2col + sgemm: the products are too thin for
 * sgemm's packing to pay off (measured, 16 -> 32 at 28 x 28: 42 ms against
 * 62 ms of CPU for 512 images). Each image is copied into a zero-padded
 * buffer; a block of P output pixels keeps P x OC/8 vector accumulators in
 * registers over the 9 * C products (C and OC compile-time constants once
 * inlined). With 16 outputs (P = 6) it measured slower than sgemm for 16
 * and 32 inputs, and level for 8, so those keep sgemm. */
#define DIRECT3_MAX_PIXELS 6

static gboolean
direct3_fits (int C,
              int OC,
              int K,
              int stride,
              int pad)
{
  return K == 3 && stride == 1 && pad == 1 && (C == 8 || C == 16 || C == 32) && OC == 32;
}

static inline __attribute__ ((always_inline)) void
direct3_block (float       *out,   /* [P, OC] */
               const float *xp,    /* padded image at the block's top-left tap */
               int          PW,
               const float *wk,    /* [9, C, OC] */
               int          C,
               int          OC,
               int          P)
{
  PtV8 acc[DIRECT3_MAX_PIXELS][4];

  for (int p = 0; p < P; p++)
    for (int q = 0; q < OC / 8; q++)
      acc[p][q] = (PtV8) { 0 };
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++)
      {
        const float *x = xp + ((gsize) ky * PW + kx) * C;
        const float *w = wk + (gsize) (ky * 3 + kx) * C * OC;

        for (int c = 0; c < C; c++)
          for (int q = 0; q < OC / 8; q++)
            {
              PtV8 wv;

              memcpy (&wv, w + c * OC + 8 * q, sizeof wv);
              for (int p = 0; p < P; p++)
                acc[p][q] += x[p * C + c] * wv;
            }
      }
  for (int p = 0; p < P; p++)
    for (int q = 0; q < OC / 8; q++)
      memcpy (out + p * OC + 8 * q, &acc[p][q], sizeof acc[p][q]);
}

/* One output row; P pixels per block (as many as the registers hold). */
static inline __attribute__ ((always_inline)) void
direct3_row_n (float       *out,   /* [W, OC] */
               const float *xp,    /* padded row oy (tap row 0) */
               int          PW,
               int          W,
               const float *wk,
               int          C,
               int          OC)
{
  const int P = 3;   /* 3 x 4 accumulators + weight + broadcast: 16 AVX2 registers */
  int ox = 0;

  for (; ox + P <= W; ox += P)
    direct3_block (out + (gsize) ox * OC, xp + (gsize) ox * C, PW, wk, C, OC, P);
  for (; ox < W; ox++)
    direct3_block (out + (gsize) ox * OC, xp + (gsize) ox * C, PW, wk, C, OC, 1);
}

typedef struct
{
  float       *out;
  float       *area;      /* per part: a padded image */
  gsize        slice;
  const float *inp;
  const float *wk;
  int          n_parts, B, H, W, C, OC;
} Direct3Job;

PT_HOT static void
direct3_forward_run (gsize    begin,
                     gsize    end,
                     gpointer data)
{
  Direct3Job *j = data;
  int H = j->H, W = j->W, C = j->C, OC = j->OC, PW = W + 2;

  for (gsize part = begin; part < end; part++)
    {
      int b0 = (int) ((gsize) j->B * part / j->n_parts);
      int b1 = (int) ((gsize) j->B * (part + 1) / j->n_parts);
      float *xp = j->area + part * j->slice;

      /* the border stays zero; the interior is overwritten per image */
      memset (xp, 0, (gsize) (H + 2) * PW * C * sizeof (float));
      for (int b = b0; b < b1; b++)
        {
          const float *img = j->inp + (gsize) b * H * W * C;

          for (int y = 0; y < H; y++)
            memcpy (xp + ((gsize) (y + 1) * PW + 1) * C, img + (gsize) y * W * C,
                    (gsize) W * C * sizeof (float));
          for (int oy = 0; oy < H; oy++)
            {
              float *o = j->out + ((gsize) b * H + oy) * W * OC;
              const float *x = xp + (gsize) oy * PW * C;

              /* constant channel counts, so each case unrolls */
              g_assert (OC == 32);
              if (C == 8)
                direct3_row_n (o, x, PW, W, j->wk, 8, 32);
              else if (C == 16)
                direct3_row_n (o, x, PW, W, j->wk, 16, 32);
              else
                direct3_row_n (o, x, PW, W, j->wk, 32, 32);
            }
        }
    }
}

/* Forward through the direct kernel if the shape and the work area allow. */
static gboolean
direct3_forward (float       *out,
                 float       *work,
                 const float *inp,
                 const float *weight,
                 int          B,
                 int          H,
                 int          W,
                 int          C,
                 int          OC)
{
  gsize wsz = (gsize) OC * 9 * C;
  gsize col_floats = pt_conv2d_work_floats (B, H, W, C, OC, 3, 1, 1) - 2 * wsz;
  gsize padded = (gsize) (H + 2) * (W + 2) * C;
  Direct3Job j = { out, work + 2 * wsz, 0, inp, work, 0, B, H, W, C, OC };
  float *wk = work;

  if (!direct3_fits (C, OC, 3, 1, 1) || padded > col_floats)
    return FALSE;
  j.n_parts = (int) MIN (MIN ((gsize) pt_threads_get (), (gsize) B), col_floats / padded);
  j.slice = col_floats / j.n_parts;
  /* wk[t, c, o] */
  for (int o = 0; o < OC; o++)
    for (int c = 0; c < C; c++)
      for (int t = 0; t < 9; t++)
        wk[((gsize) t * C + c) * OC + o] = weight[((gsize) o * C + c) * 9 + t];
  pt_parallel_for (j.n_parts, direct3_forward_run, &j);
  return TRUE;
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
  ConvSplitJob split = { .B = B, .H = H, .W = W, .C = C, .OC = OC, .K = K, .stride = stride,
                         .pad = pad, .OH = OH, .OW = OW };

  g_assert (K * K <= 64 || C > 1);

  if (C == 1)
    {
      Direct1Job j = { out, NULL, NULL, NULL, inp, wp, B, H, W, OC, K, stride, pad, OH, OW };

      /* wt[t, o] */
      for (int o = 0; o < OC; o++)
        for (int t = 0; t < K * K; t++)
          wp[(gsize) t * OC + o] = weight[(gsize) o * K * K + t];
      if (direct1_rows_fit (W, K, pad))
        pt_par ((gsize) B * OH, (gsize) OW * K * K * OC, direct1_rows_forward_run, &j);
      else
        pt_par ((gsize) B * OH * OW, (gsize) K * K * OC, direct1_forward_run, &j);
      return;
    }

  if (direct3_fits (C, OC, K, stride, pad)
      && direct3_forward (out, work, inp, weight, B, H, W, C, OC))
    return;
  permute_weight (wp, weight, OC, C, K);
  if (conv_split_plan (&split.s, B, H, W, C, OC, K, stride, pad))
    {
      split.out = out;
      split.area = col;
      split.inp = inp;
      split.wp = wp;
      pt_parallel_for_blas (split.s.n_parts, conv_split_forward_run, &split);
      return;
    }
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
  ConvSplitJob split = { .B = B, .H = H, .W = W, .C = C, .OC = OC, .K = K, .stride = stride,
                         .pad = pad, .OH = OH, .OW = OW };

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
      pt_parallel_for (n_ranges, direct1_rows_fit (W, K, pad) ? direct1_rows_backward_run
                                                             : direct1_backward_run, &bj);
      if (dweight != NULL)
        for (gsize r = 0; r < n_ranges; r++)
          for (int t = 0; t < KK; t++)
            for (int o = 0; o < OC; o++)
              dweight[(gsize) o * KK + t] += col[(r * KK + t) * OC + o];
      return;
    }

  permute_weight (wp, weight, OC, C, K);
  memset (dwp, 0, (gsize) OC * KKC * sizeof (float));
  if (conv_split_plan (&split.s, B, H, W, C, OC, K, stride, pad))
    {
      split.dinp = dinp;
      split.want_dw = dweight != NULL;
      split.area = col;
      split.dout = dout;
      split.inp = inp;
      split.wp = wp;
      pt_parallel_for_blas (split.s.n_parts, conv_split_backward_run, &split);
      /* Slices summed in order: deterministic for a given thread count. */
      if (dweight != NULL)
        for (int part = 0; part < split.s.n_parts; part++)
          {
            const float *restrict src = col + part * split.s.slice;

            for (gsize i = 0; i < (gsize) OC * KKC; i++)
              dwp[i] += src[i];
          }
    }
  else
    {
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
              Col2imJob cj = { dinp + (gsize) b0 * H * W * C, col, H, W, C, K, stride, pad,
                               OH, OW };

              /* col[rows,KKC] = d[rows,OC] @ wp[OC,KKC] */
              pt_sgemm (FALSE, FALSE, (int) rows, KKC, OC, 1.0f, d, OC, wp, KKC, 0.0f, col, KKC);
              pt_par (nb, (gsize) OH * OW * KKC, col2im_run, &cj);
            }
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
