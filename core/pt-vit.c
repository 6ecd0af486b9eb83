/* pt-vit.c: the `vit` encoder and MAE, built from pt-ops-transformer. */
#include "pt-vit.h"

#include <math.h>
#include <string.h>

static char *
join_name (const char *prefix,
           const char *name)
{
  if (prefix == NULL || prefix[0] == '\0')
    return g_strdup (name);
  return g_strconcat (prefix, ".", name, NULL);
}

static void
xavier_uniform (float *p,
                int    fan_out,
                int    fan_in,
                PtRng *rng)
{
  float bound = sqrtf (6.0f / (float) (fan_in + fan_out));

  for (gsize i = 0; i < (gsize) fan_in * fan_out; i++)
    p[i] = pt_rng_range (rng, -bound, bound);
}

/* MAE's rule for nn.Linear: Xavier-uniform weight, zero bias. */
static void
linear_reset_xavier (const PtLinear *lin,
                     PtParams       *params,
                     PtRng          *rng)
{
  xavier_uniform (pt_params_data (params, lin->weight), lin->out, lin->in, rng);
  if (lin->bias >= 0)
    memset (pt_params_data (params, lin->bias), 0, lin->out * sizeof (float));
}

static PtTensor *
linear_tokens_apply (PtTape         *tape,
                     PtParams       *params,
                     const PtLinear *lin,
                     PtTensor       *x)
{
  return pt_op_linear_tokens (tape, x, pt_params_tensor (params, lin->weight),
                              lin->bias >= 0 ? pt_params_tensor (params, lin->bias) : NULL);
}

/* ---- LayerNorm and blocks ------------------------------------------------ */

void
pt_layernorm_init (PtLayerNorm *ln,
                   PtParams    *params,
                   const char  *prefix,
                   int          dim)
{
  g_autofree char *wname = join_name (prefix, "weight");
  g_autofree char *bname = join_name (prefix, "bias");
  int shape[1] = { dim };

  ln->dim = dim;
  ln->eps = 1e-5f;
  ln->weight = pt_params_add (params, wname, 1, shape, PT_PARAM_NO_DECAY);
  ln->bias = pt_params_add (params, bname, 1, shape, PT_PARAM_NO_DECAY);
}

void
pt_layernorm_reset (const PtLayerNorm *ln,
                    PtParams          *params)
{
  float *w = pt_params_data (params, ln->weight);

  for (int i = 0; i < ln->dim; i++)
    w[i] = 1.0f;
  memset (pt_params_data (params, ln->bias), 0, ln->dim * sizeof (float));
}

PtTensor *
pt_layernorm_apply (PtTape            *tape,
                    PtParams          *params,
                    const PtLayerNorm *ln,
                    PtTensor          *x)
{
  return pt_op_layernorm (tape, x, pt_params_tensor (params, ln->weight),
                          pt_params_tensor (params, ln->bias), ln->eps);
}

void
pt_vit_block_init (PtVitBlock *blk,
                   PtParams   *params,
                   const char *prefix,
                   int         dim,
                   int         heads,
                   int         mlp_ratio)
{
  g_autofree char *n1 = join_name (prefix, "norm1");
  g_autofree char *ipw = join_name (prefix, "attn.in_proj_weight");
  g_autofree char *ipb = join_name (prefix, "attn.in_proj_bias");
  g_autofree char *op = join_name (prefix, "attn.out_proj");
  g_autofree char *n2 = join_name (prefix, "norm2");
  g_autofree char *m0 = join_name (prefix, "mlp.0");
  g_autofree char *m2 = join_name (prefix, "mlp.2");
  int wshape[2] = { 3 * dim, dim }, bshape[1] = { 3 * dim };

  blk->dim = dim;
  blk->heads = heads;
  pt_layernorm_init (&blk->norm1, params, n1, dim);
  blk->in_proj_weight = pt_params_add (params, ipw, 2, wshape, PT_PARAM_DEFAULT);
  blk->in_proj_bias = pt_params_add (params, ipb, 1, bshape, PT_PARAM_NO_DECAY);
  pt_linear_init (&blk->out_proj, params, op, dim, dim, TRUE);
  pt_layernorm_init (&blk->norm2, params, n2, dim);
  pt_linear_init (&blk->fc1, params, m0, dim, mlp_ratio * dim, TRUE);
  pt_linear_init (&blk->fc2, params, m2, mlp_ratio * dim, dim, TRUE);
}

void
pt_vit_block_reset (const PtVitBlock *blk,
                    PtParams         *params,
                    PtRng            *rng)
{
  pt_layernorm_reset (&blk->norm1, params);
  xavier_uniform (pt_params_data (params, blk->in_proj_weight), 3 * blk->dim, blk->dim, rng);
  memset (pt_params_data (params, blk->in_proj_bias), 0, 3 * blk->dim * sizeof (float));
  linear_reset_xavier (&blk->out_proj, params, rng);
  pt_layernorm_reset (&blk->norm2, params);
  linear_reset_xavier (&blk->fc1, params, rng);
  linear_reset_xavier (&blk->fc2, params, rng);
}

PtTensor *
pt_vit_block_apply (PtTape           *tape,
                    PtParams         *params,
                    const PtVitBlock *blk,
                    PtTensor         *x)
{
  PtTensor *h;

  h = pt_layernorm_apply (tape, params, &blk->norm1, x);
  h = pt_op_self_attention (tape, h, pt_params_tensor (params, blk->in_proj_weight),
                            pt_params_tensor (params, blk->in_proj_bias),
                            pt_params_tensor (params, blk->out_proj.weight),
                            pt_params_tensor (params, blk->out_proj.bias), blk->heads);
  x = pt_op_add (tape, x, h);
  h = pt_layernorm_apply (tape, params, &blk->norm2, x);
  h = linear_tokens_apply (tape, params, &blk->fc1, h);
  h = pt_op_gelu (tape, h);
  h = linear_tokens_apply (tape, params, &blk->fc2, h);
  return pt_op_add (tape, x, h);
}

static double
block_macs (const PtVitBlock *blk,
            int               T)
{
  double D = blk->dim, hidden = blk->fc1.out;

  return T * D * 3 * D + 2.0 * T * T * D + T * D * D + 2.0 * T * D * hidden;
}

/* ---- position embedding -------------------------------------------------- */

/* MAE's 1-D table: half sin, half cos of pos * 10000^(-i / (dim/2)). */
static void
sincos_1d (float *out,
           int    dim,
           double pos)
{
  int half = dim / 2;

  for (int i = 0; i < half; i++)
    {
      double omega = 1.0 / pow (10000.0, (double) i / half);

      out[i] = (float) sin (pos * omega);
      out[half + i] = (float) cos (pos * omega);
    }
}

void
pt_sincos_pos_embed_2d (float *out,
                        int    dim,
                        int    gh,
                        int    gw)
{
  g_return_if_fail (dim % 4 == 0);

  memset (out, 0, dim * sizeof (float));
  /* np.meshgrid (grid_w, grid_h): the first half encodes the column. */
  for (int i = 0; i < gh; i++)
    for (int j = 0; j < gw; j++)
      {
        float *row = out + (gsize) (1 + i * gw + j) * dim;

        sincos_1d (row, dim / 2, j);
        sincos_1d (row + dim / 2, dim / 2, i);
      }
}

/* ---- vit ------------------------------------------------------------------ */

void
pt_vit_config_init (PtVitConfig *config,
                    int          channels,
                    int          height,
                    int          width)
{
  config->channels = channels;
  config->height = height;
  config->width = width;
  config->patch = 4;
  config->dim = 128;
  config->depth = 4;
  config->heads = 4;
  config->mlp_ratio = 4;
}

gboolean
pt_vit_config_is_valid (const PtVitConfig *c)
{
  return c->channels > 0 && c->patch > 0 && c->height >= c->patch && c->width >= c->patch
         && c->height % c->patch == 0 && c->width % c->patch == 0
         && c->dim > 0 && c->dim % 4 == 0 && c->heads > 0 && c->dim % c->heads == 0
         && c->depth >= 1 && c->depth <= PT_VIT_MAX_DEPTH && c->mlp_ratio >= 1
         && (c->height / c->patch) * (c->width / c->patch) + 1 <= PT_ATTENTION_MAX_T;
}

void
pt_vit_init (PtVit             *vit,
             PtParams          *params,
             const char        *prefix,
             const PtVitConfig *config)
{
  g_autofree char *pe = join_name (prefix, "patch_embed");
  g_autofree char *cls = join_name (prefix, "cls_token");
  g_autofree char *pos = join_name (prefix, "pos_embed");
  g_autofree char *norm = join_name (prefix, "norm");
  int D = config->dim;
  int cshape[3] = { 1, 1, D }, pshape[3];

  g_return_if_fail (pt_vit_config_is_valid (config));

  memset (vit, 0, sizeof *vit);
  vit->config = *config;
  vit->n_patches = (config->height / config->patch) * (config->width / config->patch);
  vit->patch_dim = config->patch * config->patch * config->channels;
  pt_linear_init (&vit->patch_embed, params, pe, vit->patch_dim, D, TRUE);
  vit->cls_token = pt_params_add (params, cls, 3, cshape, PT_PARAM_NO_DECAY);
  pshape[0] = 1;
  pshape[1] = vit->n_patches + 1;
  pshape[2] = D;
  vit->pos_embed = pt_params_add (params, pos, 3, pshape, PT_PARAM_BUFFER);
  for (int i = 0; i < config->depth; i++)
    {
      g_autofree char *b = g_strdup_printf ("blocks.%d", i);
      g_autofree char *bp = join_name (prefix, b);

      pt_vit_block_init (&vit->blocks[i], params, bp, D, config->heads, config->mlp_ratio);
    }
  pt_layernorm_init (&vit->norm, params, norm, D);
}

void
pt_vit_reset (const PtVit *vit,
              PtParams    *params,
              PtRng       *rng)
{
  const PtVitConfig *c = &vit->config;
  float *cls = pt_params_data (params, vit->cls_token);

  /* MAE: the patch embedding as a Linear of its flattened weight. */
  linear_reset_xavier (&vit->patch_embed, params, rng);
  for (int i = 0; i < c->dim; i++)
    cls[i] = 0.02f * pt_rng_normal (rng);
  pt_sincos_pos_embed_2d (pt_params_data (params, vit->pos_embed), c->dim,
                          c->height / c->patch, c->width / c->patch);
  for (int i = 0; i < c->depth; i++)
    pt_vit_block_reset (&vit->blocks[i], params, rng);
  pt_layernorm_reset (&vit->norm, params);
}

int
pt_vit_get_out_dim (const PtVit *vit)
{
  return vit->config.dim;
}

/* A {rows, D} view of part of a parameter (no gradient: position tables). */
static PtTensor *
param_rows (PtTape   *tape,
            PtParams *params,
            int       index,
            int       first,
            int       n,
            int       D)
{
  PtTensor *t = pt_arena_alloc (pt_tape_get_arena (tape), sizeof (PtTensor));
  int shape[2] = { n, D };

  pt_tensor_init (t, pt_params_data (params, index) + (gsize) first * D, NULL, 2, shape);
  t->arena = pt_tape_get_arena (tape);
  return t;
}

PtTensor *
pt_vit_forward_tokens (PtTape       *tape,
                       PtParams     *params,
                       const PtVit  *vit,
                       PtTensor     *x,
                       const gint32 *keep,
                       int           K)
{
  const PtVitConfig *c = &vit->config;
  int D = c->dim, N = vit->n_patches;
  PtTensor *h, *cls;

  g_return_val_if_fail (x->ndim == 4 && x->shape[1] == c->channels
                        && x->shape[2] == c->height && x->shape[3] == c->width, NULL);

  h = pt_op_patchify (tape, x, c->patch);
  h = linear_tokens_apply (tape, params, &vit->patch_embed, h);
  h = pt_op_add_broadcast (tape, h, param_rows (tape, params, vit->pos_embed, 1, N, D));
  if (keep != NULL)
    h = pt_op_gather_tokens (tape, h, keep, K);
  cls = pt_op_add_broadcast (tape, pt_params_tensor (params, vit->cls_token),
                             param_rows (tape, params, vit->pos_embed, 0, 1, D));
  h = pt_op_concat_tokens (tape, cls, h);
  for (int i = 0; i < c->depth; i++)
    h = pt_vit_block_apply (tape, params, &vit->blocks[i], h);
  return pt_layernorm_apply (tape, params, &vit->norm, h);
}

PtTensor *
pt_vit_apply (PtTape      *tape,
              PtParams    *params,
              const PtVit *vit,
              PtTensor    *x)
{
  PtTensor *t = pt_vit_forward_tokens (tape, params, vit, x, NULL, 0);
  int shape[2] = { t->shape[0], t->shape[2] };

  t = pt_op_slice_tokens (tape, t, 0, 1);
  return pt_op_reshape (tape, t, 2, shape);
}

double
pt_vit_forward_macs (const PtVit *vit,
                     int          n_tokens)
{
  double macs = (double) vit->n_patches * vit->patch_dim * vit->config.dim;

  for (int i = 0; i < vit->config.depth; i++)
    macs += block_macs (&vit->blocks[i], n_tokens);
  return macs;
}

/* ---- MAE ------------------------------------------------------------------ */

void
pt_mae_config_init (PtMaeConfig *config,
                    int          channels,
                    int          height,
                    int          width)
{
  pt_vit_config_init (&config->encoder, channels, height, width);
  config->decoder_dim = 64;
  config->decoder_depth = 2;
  config->decoder_heads = 4;
  config->norm_pix_loss = FALSE;
}

gboolean
pt_mae_config_is_valid (const PtMaeConfig *c)
{
  return pt_vit_config_is_valid (&c->encoder)
         && c->decoder_dim > 0 && c->decoder_dim % 4 == 0 && c->decoder_heads > 0
         && c->decoder_dim % c->decoder_heads == 0
         && c->decoder_depth >= 1 && c->decoder_depth <= PT_VIT_MAX_DEPTH;
}

void
pt_mae_init (PtMae             *mae,
             PtParams          *params,
             const PtMaeConfig *config)
{
  int Dd = config->decoder_dim, N;
  int mshape[3] = { 1, 1, Dd }, pshape[3];

  g_return_if_fail (pt_mae_config_is_valid (config));

  memset (mae, 0, sizeof *mae);
  mae->config = *config;
  pt_vit_init (&mae->encoder, params, "encoder", &config->encoder);
  N = mae->encoder.n_patches;
  pt_linear_init (&mae->decoder_embed, params, "decoder_embed", config->encoder.dim, Dd, TRUE);
  mae->mask_token = pt_params_add (params, "mask_token", 3, mshape, PT_PARAM_NO_DECAY);
  pshape[0] = 1;
  pshape[1] = N + 1;
  pshape[2] = Dd;
  mae->decoder_pos_embed = pt_params_add (params, "decoder_pos_embed", 3, pshape,
                                          PT_PARAM_BUFFER);
  for (int i = 0; i < config->decoder_depth; i++)
    {
      g_autofree char *b = g_strdup_printf ("decoder_blocks.%d", i);

      pt_vit_block_init (&mae->decoder_blocks[i], params, b, Dd, config->decoder_heads,
                         config->encoder.mlp_ratio);
    }
  pt_layernorm_init (&mae->decoder_norm, params, "decoder_norm", Dd);
  pt_linear_init (&mae->decoder_pred, params, "decoder_pred", Dd, mae->encoder.patch_dim, TRUE);
}

void
pt_mae_reset (const PtMae *mae,
              PtParams    *params,
              PtRng       *rng)
{
  const PtVitConfig *e = &mae->config.encoder;
  float *mask = pt_params_data (params, mae->mask_token);

  pt_vit_reset (&mae->encoder, params, rng);
  linear_reset_xavier (&mae->decoder_embed, params, rng);
  for (int i = 0; i < mae->config.decoder_dim; i++)
    mask[i] = 0.02f * pt_rng_normal (rng);
  pt_sincos_pos_embed_2d (pt_params_data (params, mae->decoder_pos_embed),
                          mae->config.decoder_dim, e->height / e->patch, e->width / e->patch);
  for (int i = 0; i < mae->config.decoder_depth; i++)
    pt_vit_block_reset (&mae->decoder_blocks[i], params, rng);
  pt_layernorm_reset (&mae->decoder_norm, params);
  linear_reset_xavier (&mae->decoder_pred, params, rng);
}

int
pt_mae_n_keep (int    n_patches,
               double mask_ratio)
{
  int K = (int) (n_patches * (1.0 - mask_ratio));

  return CLAMP (K, 1, n_patches);
}

typedef struct
{
  float  key;
  gint32 index;
} SortItem;

static int
sort_item_cmp (gconstpointer a,
               gconstpointer b)
{
  const SortItem *x = a, *y = b;

  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->index - y->index;
}

void
pt_mae_random_shuffle (PtRng  *rng,
                       int     B,
                       int     N,
                       gint32 *ids_shuffle)
{
  g_autofree SortItem *items = g_new (SortItem, N);

  for (int b = 0; b < B; b++)
    {
      for (int n = 0; n < N; n++)
        {
          items[n].key = pt_rng_uniform (rng);
          items[n].index = n;
        }
      qsort (items, N, sizeof (SortItem), sort_item_cmp);
      for (int n = 0; n < N; n++)
        ids_shuffle[(gsize) b * N + n] = items[n].index;
    }
}

/* Per-patch mean and (unbiased) variance of target[R,P]: MAE's norm_pix. */
static void
patch_stats (float       *mean,
             float       *std,
             const float *target,
             int          R,
             int          P)
{
  for (int r = 0; r < R; r++)
    {
      const float *t = target + (gsize) r * P;
      double m = 0.0, v = 0.0;

      for (int i = 0; i < P; i++)
        m += t[i];
      m /= P;
      for (int i = 0; i < P; i++)
        v += (t[i] - m) * (t[i] - m);
      v /= MAX (P - 1, 1);
      mean[r] = (float) m;
      std[r] = (float) sqrt (v + 1e-6);
    }
}

/* The decoder on encoder tokens z {B,1+K,D}: predictions {B,N,P}. */
static PtTensor *
mae_decode (PtTape       *tape,
            PtParams     *params,
            const PtMae  *mae,
            PtTensor     *z,
            const gint32 *keep,
            int           K)
{
  int N = mae->encoder.n_patches, Dd = mae->config.decoder_dim;
  PtTensor *y, *ycls, *yvis, *pos;

  y = linear_tokens_apply (tape, params, &mae->decoder_embed, z);
  ycls = pt_op_slice_tokens (tape, y, 0, 1);
  yvis = pt_op_slice_tokens (tape, y, 1, 1 + K);
  y = pt_op_scatter_tokens (tape, yvis, keep, N, pt_params_tensor (params, mae->mask_token));
  y = pt_op_concat_tokens (tape, ycls, y);
  pos = param_rows (tape, params, mae->decoder_pos_embed, 0, N + 1, Dd);
  y = pt_op_add_broadcast (tape, y, pos);
  for (int i = 0; i < mae->config.decoder_depth; i++)
    y = pt_vit_block_apply (tape, params, &mae->decoder_blocks[i], y);
  y = pt_layernorm_apply (tape, params, &mae->decoder_norm, y);
  y = linear_tokens_apply (tape, params, &mae->decoder_pred, y);
  return pt_op_slice_tokens (tape, y, 1, 1 + N);
}

/* The kept columns of ids_shuffle as a contiguous [B,K] array. */
static gint32 *
keep_ids (PtTape       *tape,
          const gint32 *ids_shuffle,
          int           B,
          int           N,
          int           K)
{
  gint32 *keep = pt_tape_alloc (tape, (gsize) MAX (B * K, 1) * sizeof (gint32));

  for (int b = 0; b < B; b++)
    memcpy (keep + (gsize) b * K, ids_shuffle + (gsize) b * N, K * sizeof (gint32));
  return keep;
}

PtTensor *
pt_mae_forward (PtTape       *tape,
                PtParams     *params,
                const PtMae  *mae,
                PtTensor     *x,
                const gint32 *ids_shuffle,
                int           K,
                PtTensor    **pred_out,
                PtTensor    **latent_out)
{
  const PtVitConfig *c = &mae->config.encoder;
  int B, N = mae->encoder.n_patches, P = mae->encoder.patch_dim;
  int tshape[2] = { 0, P };
  gint32 *keep;
  PtTensor *z, *pred, *target;
  float *mask;

  g_return_val_if_fail (x->ndim == 4, NULL);
  g_return_val_if_fail (K >= 1 && K <= N, NULL);
  B = x->shape[0];
  keep = keep_ids (tape, ids_shuffle, B, N, K);
  z = pt_vit_forward_tokens (tape, params, &mae->encoder, x, keep, K);
  pred = mae_decode (tape, params, mae, z, keep, K);

  /* Target pixels (constant), normalized per patch when asked. */
  tshape[0] = B * N;
  target = pt_tensor_new (pt_tape_get_arena (tape), 2, tshape);
  pt_patchify_forward (target->data, x->data, B, c->channels, c->height, c->width, c->patch);
  if (mae->config.norm_pix_loss)
    {
      float *mean = pt_tape_alloc (tape, (gsize) B * N * sizeof (float));
      float *std = pt_tape_alloc (tape, (gsize) B * N * sizeof (float));

      patch_stats (mean, std, target->data, B * N, P);
      for (gsize r = 0; r < (gsize) B * N; r++)
        for (int i = 0; i < P; i++)
          target->data[r * P + i] = (target->data[r * P + i] - mean[r]) / std[r];
    }
  /* mask 1 = removed (the loss is on those only) */
  mask = pt_tape_alloc (tape, (gsize) B * N * sizeof (float));
  for (gsize i = 0; i < (gsize) B * N; i++)
    mask[i] = 1.0f;
  for (int b = 0; b < B; b++)
    for (int k = 0; k < K; k++)
      mask[(gsize) b * N + keep[(gsize) b * K + k]] = 0.0f;
  if (pred_out != NULL)
    *pred_out = pred;
  if (latent_out != NULL)
    *latent_out = z;
  return pt_op_mse (tape, pt_op_reshape (tape, pred, 2, tshape), target, mask);
}

void
pt_mae_reconstruct (PtTape       *tape,
                    PtParams     *params,
                    const PtMae  *mae,
                    const float  *images,
                    int           n,
                    const gint32 *ids_shuffle,
                    int           K,
                    float         fill_value,
                    float        *out)
{
  const PtVitConfig *c = &mae->config.encoder;
  int N = mae->encoder.n_patches, P = mae->encoder.patch_dim;
  int xshape[4] = { n, c->channels, c->height, c->width };
  gsize img = (gsize) c->channels * c->height * c->width, all = img * n;
  gboolean was_enabled = pt_tape_get_grad_enabled (tape);
  gboolean was_training = pt_tape_get_training (tape);
  PtTensor *x, *z, *pred;
  gint32 *keep;
  float *orig, *masked, *recon, *pasted, *mean, *std;
  guint8 *visible;

  g_return_if_fail (n >= 1 && K >= 1 && K <= N);

  pt_tape_set_grad_enabled (tape, FALSE);
  pt_tape_set_training (tape, FALSE);
  x = pt_tensor_new (pt_tape_get_arena (tape), 4, xshape);
  memcpy (x->data, images, all * sizeof (float));
  keep = keep_ids (tape, ids_shuffle, n, N, K);
  z = pt_vit_forward_tokens (tape, params, &mae->encoder, x, keep, K);
  pred = mae_decode (tape, params, mae, z, keep, K);

  orig = pt_tape_alloc (tape, all * sizeof (float));
  masked = pt_tape_alloc (tape, all * sizeof (float));
  recon = pt_tape_alloc (tape, all * sizeof (float));
  pasted = pt_tape_alloc (tape, all * sizeof (float));
  mean = pt_tape_alloc (tape, (gsize) n * N * sizeof (float));
  std = pt_tape_alloc (tape, (gsize) n * N * sizeof (float));
  visible = pt_tape_alloc (tape, (gsize) n * N);

  pt_patchify_forward (orig, images, n, c->channels, c->height, c->width, c->patch);
  patch_stats (mean, std, orig, n * N, P);
  memset (visible, 0, (gsize) n * N);
  for (int b = 0; b < n; b++)
    for (int k = 0; k < K; k++)
      visible[(gsize) b * N + keep[(gsize) b * K + k]] = 1;
  for (gsize r = 0; r < (gsize) n * N; r++)
    for (int i = 0; i < P; i++)
      {
        gsize j = r * P + i;
        float p = pred->data[j];

        if (mae->config.norm_pix_loss)
          p = p * std[r] + mean[r];
        recon[j] = p;
        masked[j] = visible[r] ? orig[j] : fill_value;
        pasted[j] = visible[r] ? orig[j] : p;
      }
  memcpy (out, images, all * sizeof (float));
  memset (out + all, 0, 3 * all * sizeof (float));
  pt_unpatchify_add (out + all, masked, n, c->channels, c->height, c->width, c->patch);
  pt_unpatchify_add (out + 2 * all, recon, n, c->channels, c->height, c->width, c->patch);
  pt_unpatchify_add (out + 3 * all, pasted, n, c->channels, c->height, c->width, c->patch);
  pt_tape_set_grad_enabled (tape, was_enabled);
  pt_tape_set_training (tape, was_training);
}

double
pt_mae_forward_macs (const PtMae *mae,
                     int          K)
{
  int N = mae->encoder.n_patches, D = mae->config.encoder.dim, Dd = mae->config.decoder_dim;
  double macs = pt_vit_forward_macs (&mae->encoder, 1 + K);

  macs += (double) (1 + K) * D * Dd;
  for (int i = 0; i < mae->config.decoder_depth; i++)
    macs += block_macs (&mae->decoder_blocks[i], 1 + N);
  macs += (double) (1 + N) * Dd * mae->encoder.patch_dim;
  return macs;
}
