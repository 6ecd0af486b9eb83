/* pt-nn.c: flat parameter registry and modules. */
#include "pt-nn.h"

#include <math.h>
#include <string.h>

struct _PtParams
{
  GArray   *infos;        /* PtParamInfo */
  PtTensor *tensors;      /* one per entry, after finalize */
  float    *data;
  float    *grad;
  gsize     n_floats;
  gboolean  finalized;
};

PtParams *
pt_params_new (void)
{
  PtParams *params = g_new0 (PtParams, 1);

  params->infos = g_array_new (FALSE, TRUE, sizeof (PtParamInfo));
  return params;
}

void
pt_params_free (PtParams *params)
{
  if (params == NULL)
    return;
  for (guint i = 0; i < params->infos->len; i++)
    g_free (g_array_index (params->infos, PtParamInfo, i).name);
  g_array_unref (params->infos);
  g_free (params->tensors);
  g_free (params->data);
  g_free (params->grad);
  g_free (params);
}

int
pt_params_add (PtParams     *params,
               const char   *name,
               int           ndim,
               const int    *shape,
               PtParamFlags  flags)
{
  PtParamInfo info = { 0 };

  g_return_val_if_fail (!params->finalized, -1);
  g_return_val_if_fail (ndim >= 1 && ndim <= PT_MAX_DIMS, -1);
  g_return_val_if_fail (pt_params_find (params, name) < 0, -1);

  info.name = g_strdup (name);
  info.offset = params->n_floats;
  info.ndim = ndim;
  memcpy (info.shape, shape, ndim * sizeof (int));
  info.numel = pt_shape_numel (ndim, shape);
  info.flags = flags;
  /* Keep every entry 16-float (64-byte) aligned. */
  params->n_floats += (info.numel + 15) / 16 * 16;
  g_array_append_val (params->infos, info);
  return (int) params->infos->len - 1;
}

void
pt_params_finalize (PtParams *params)
{
  g_return_if_fail (!params->finalized);

  params->data = g_new0 (float, MAX (params->n_floats, 1));
  params->grad = g_new0 (float, MAX (params->n_floats, 1));
  params->tensors = g_new0 (PtTensor, MAX (params->infos->len, 1));
  for (guint i = 0; i < params->infos->len; i++)
    {
      PtParamInfo *info = &g_array_index (params->infos, PtParamInfo, i);
      PtTensor *t = &params->tensors[i];

      pt_tensor_init (t, params->data + info->offset, params->grad + info->offset,
                      info->ndim, info->shape);
      t->requires_grad = !(info->flags & PT_PARAM_BUFFER);
    }
  params->finalized = TRUE;
}

gboolean
pt_params_is_finalized (PtParams *params)
{
  return params->finalized;
}

guint
pt_params_get_n (PtParams *params)
{
  return params->infos->len;
}

const PtParamInfo *
pt_params_get_info (PtParams *params,
                    int       index)
{
  g_return_val_if_fail (index >= 0 && (guint) index < params->infos->len, NULL);
  return &g_array_index (params->infos, PtParamInfo, index);
}

int
pt_params_find (PtParams   *params,
                const char *name)
{
  for (guint i = 0; i < params->infos->len; i++)
    if (strcmp (g_array_index (params->infos, PtParamInfo, i).name, name) == 0)
      return (int) i;
  return -1;
}

PtTensor *
pt_params_tensor (PtParams *params,
                  int       index)
{
  g_return_val_if_fail (params->finalized, NULL);
  g_return_val_if_fail (index >= 0 && (guint) index < params->infos->len, NULL);
  return &params->tensors[index];
}

float *
pt_params_data (PtParams *params,
                int       index)
{
  return pt_params_tensor (params, index)->data;
}

float *
pt_params_get_data (PtParams *params)
{
  return params->data;
}

float *
pt_params_get_grad (PtParams *params)
{
  return params->grad;
}

gsize
pt_params_get_n_floats (PtParams *params)
{
  return params->n_floats;
}

gsize
pt_params_get_n_trainable (PtParams *params)
{
  gsize n = 0;

  for (guint i = 0; i < params->infos->len; i++)
    {
      PtParamInfo *info = &g_array_index (params->infos, PtParamInfo, i);

      if (!(info->flags & PT_PARAM_BUFFER))
        n += info->numel;
    }
  return n;
}

void
pt_params_zero_grad (PtParams *params)
{
  g_return_if_fail (params->finalized);
  memset (params->grad, 0, params->n_floats * sizeof (float));
}

gboolean
pt_params_same_layout (PtParams *a,
                       PtParams *b)
{
  if (a->infos->len != b->infos->len || a->n_floats != b->n_floats)
    return FALSE;
  for (guint i = 0; i < a->infos->len; i++)
    {
      PtParamInfo *x = &g_array_index (a->infos, PtParamInfo, i);
      PtParamInfo *y = &g_array_index (b->infos, PtParamInfo, i);

      if (strcmp (x->name, y->name) != 0 || x->numel != y->numel || x->ndim != y->ndim ||
          memcmp (x->shape, y->shape, x->ndim * sizeof (int)) != 0)
        return FALSE;
    }
  return TRUE;
}

void
pt_params_copy (PtParams *dst,
                PtParams *src)
{
  g_return_if_fail (dst->finalized && src->finalized);
  g_return_if_fail (pt_params_same_layout (dst, src));
  memcpy (dst->data, src->data, src->n_floats * sizeof (float));
}

void
pt_params_ema (PtParams *teacher,
               PtParams *student,
               float     momentum)
{
  g_return_if_fail (teacher->finalized && student->finalized);
  g_return_if_fail (pt_params_same_layout (teacher, student));

  for (guint i = 0; i < teacher->infos->len; i++)
    {
      PtParamInfo *info = &g_array_index (teacher->infos, PtParamInfo, i);
      float *t = teacher->data + info->offset;
      const float *s = student->data + info->offset;

      if (info->flags & PT_PARAM_BUFFER)
        continue;
      for (gsize k = 0; k < info->numel; k++)
        t[k] = momentum * t[k] + (1.0f - momentum) * s[k];
    }
}

/* ---- modules ------------------------------------------------------------ */

static char *
join_name (const char *prefix,
           const char *name)
{
  if (prefix == NULL || prefix[0] == '\0')
    return g_strdup (name);
  return g_strconcat (prefix, ".", name, NULL);
}

static void
fill_uniform (float *p,
              gsize  n,
              float  bound,
              PtRng *rng)
{
  for (gsize i = 0; i < n; i++)
    p[i] = pt_rng_range (rng, -bound, bound);
}

void
pt_linear_init (PtLinear   *lin,
                PtParams   *params,
                const char *prefix,
                int         in,
                int         out,
                gboolean    bias)
{
  g_autofree char *wname = join_name (prefix, "weight");
  g_autofree char *bname = join_name (prefix, "bias");
  int wshape[2] = { out, in }, bshape[1] = { out };

  lin->in = in;
  lin->out = out;
  lin->weight = pt_params_add (params, wname, 2, wshape, PT_PARAM_DEFAULT);
  lin->bias = bias ? pt_params_add (params, bname, 1, bshape, PT_PARAM_NO_DECAY) : -1;
}

void
pt_linear_reset (const PtLinear *lin,
                 PtParams       *params,
                 PtRng          *rng)
{
  float bound = 1.0f / sqrtf ((float) lin->in);

  fill_uniform (pt_params_data (params, lin->weight), (gsize) lin->in * lin->out, bound, rng);
  if (lin->bias >= 0)
    fill_uniform (pt_params_data (params, lin->bias), lin->out, bound, rng);
}

PtTensor *
pt_linear_apply (PtTape         *tape,
                 PtParams       *params,
                 const PtLinear *lin,
                 PtTensor       *x)
{
  return pt_op_linear (tape, x, pt_params_tensor (params, lin->weight),
                       lin->bias >= 0 ? pt_params_tensor (params, lin->bias) : NULL);
}

void
pt_conv2d_init (PtConv2d   *conv,
                PtParams   *params,
                const char *prefix,
                int         in,
                int         out,
                int         k,
                int         stride,
                int         pad)
{
  g_autofree char *wname = join_name (prefix, "weight");
  int shape[4] = { out, in, k, k };

  conv->in = in;
  conv->out = out;
  conv->k = k;
  conv->stride = stride;
  conv->pad = pad;
  conv->weight = pt_params_add (params, wname, 4, shape, PT_PARAM_DEFAULT);
  conv->bias = -1;
}

void
pt_conv2d_reset (const PtConv2d *conv,
                 PtParams       *params,
                 PtRng          *rng)
{
  int fan_in = conv->in * conv->k * conv->k;

  fill_uniform (pt_params_data (params, conv->weight), (gsize) conv->out * fan_in,
                1.0f / sqrtf ((float) fan_in), rng);
}

PtTensor *
pt_conv2d_apply (PtTape         *tape,
                 PtParams       *params,
                 const PtConv2d *conv,
                 PtTensor       *x)
{
  return pt_op_conv2d (tape, x, pt_params_tensor (params, conv->weight), conv->stride,
                       conv->pad);
}

void
pt_batchnorm_init (PtBatchNorm *bn,
                   PtParams    *params,
                   const char  *prefix,
                   int          channels,
                   gboolean     affine)
{
  g_autofree char *w = join_name (prefix, "weight");
  g_autofree char *b = join_name (prefix, "bias");
  g_autofree char *rm = join_name (prefix, "running_mean");
  g_autofree char *rv = join_name (prefix, "running_var");
  int shape[1] = { channels };

  bn->channels = channels;
  bn->eps = 1e-5f;
  bn->momentum = 0.1f;
  bn->weight = affine ? pt_params_add (params, w, 1, shape, PT_PARAM_NO_DECAY) : -1;
  bn->bias = affine ? pt_params_add (params, b, 1, shape, PT_PARAM_NO_DECAY) : -1;
  bn->running_mean = pt_params_add (params, rm, 1, shape, PT_PARAM_BUFFER | PT_PARAM_NO_DECAY);
  bn->running_var = pt_params_add (params, rv, 1, shape, PT_PARAM_BUFFER | PT_PARAM_NO_DECAY);
}

void
pt_batchnorm_reset (const PtBatchNorm *bn,
                    PtParams          *params)
{
  for (int c = 0; c < bn->channels; c++)
    {
      if (bn->weight >= 0)
        {
          pt_params_data (params, bn->weight)[c] = 1.0f;
          pt_params_data (params, bn->bias)[c] = 0.0f;
        }
      pt_params_data (params, bn->running_mean)[c] = 0.0f;
      pt_params_data (params, bn->running_var)[c] = 1.0f;
    }
}

PtTensor *
pt_batchnorm_apply (PtTape            *tape,
                    PtParams          *params,
                    const PtBatchNorm *bn,
                    PtTensor          *x,
                    gboolean           relu)
{
  return pt_op_batchnorm (tape, x,
                          bn->weight >= 0 ? pt_params_tensor (params, bn->weight) : NULL,
                          bn->bias >= 0 ? pt_params_tensor (params, bn->bias) : NULL,
                          pt_params_data (params, bn->running_mean),
                          pt_params_data (params, bn->running_var),
                          bn->momentum, bn->eps, relu);
}

void
pt_mlp_head_init (PtMlpHead  *head,
                  PtParams   *params,
                  const char *prefix,
                  int         in,
                  int         hidden,
                  int         out,
                  gboolean    use_bn)
{
  g_autofree char *n0 = join_name (prefix, "0");
  g_autofree char *n1 = join_name (prefix, "1");
  g_autofree char *nl = join_name (prefix, use_bn ? "3" : "2");

  memset (head, 0, sizeof *head);
  head->use_bn = use_bn;
  pt_linear_init (&head->fc1, params, n0, in, hidden, TRUE);
  if (use_bn)
    pt_batchnorm_init (&head->bn, params, n1, hidden, TRUE);
  pt_linear_init (&head->fc2, params, nl, hidden, out, TRUE);
}

void
pt_mlp_head_reset (const PtMlpHead *head,
                   PtParams        *params,
                   PtRng           *rng)
{
  pt_linear_reset (&head->fc1, params, rng);
  if (head->use_bn)
    pt_batchnorm_reset (&head->bn, params);
  pt_linear_reset (&head->fc2, params, rng);
}

PtTensor *
pt_mlp_head_apply (PtTape          *tape,
                   PtParams        *params,
                   const PtMlpHead *head,
                   PtTensor        *x)
{
  PtTensor *h = pt_linear_apply (tape, params, &head->fc1, x);

  if (head->use_bn)
    h = pt_batchnorm_apply (tape, params, &head->bn, h, TRUE);
  else
    h = pt_op_relu (tape, h);
  return pt_linear_apply (tape, params, &head->fc2, h);
}

void
pt_projector_init (PtMlpHead  *head,
                   PtParams   *params,
                   const char *prefix,
                   int         in_features,
                   int         out_features)
{
  pt_mlp_head_init (head, params, prefix, in_features, in_features, out_features, FALSE);
}

void
pt_cnn_init (PtCnn      *cnn,
             PtParams   *params,
             const char *prefix,
             int         in_channels,
             int         width)
{
  int in = in_channels;

  cnn->in_channels = in_channels;
  cnn->width = width;
  for (int i = 0; i < 4; i++)
    {
      int out = width << i;
      g_autofree char *block = g_strdup_printf ("blocks.%d", i);
      g_autofree char *bprefix = join_name (prefix, block);
      g_autofree char *cname = join_name (bprefix, "conv");
      g_autofree char *bname = join_name (bprefix, "bn");

      pt_conv2d_init (&cnn->conv[i], params, cname, in, out, 3, 1, 1);
      pt_batchnorm_init (&cnn->bn[i], params, bname, out, TRUE);
      in = out;
    }
}

void
pt_cnn_reset (const PtCnn *cnn,
              PtParams    *params,
              PtRng       *rng)
{
  for (int i = 0; i < 4; i++)
    {
      pt_conv2d_reset (&cnn->conv[i], params, rng);
      pt_batchnorm_reset (&cnn->bn[i], params);
    }
}

int
pt_cnn_get_out_dim (const PtCnn *cnn)
{
  return 8 * cnn->width;
}

PtTensor *
pt_cnn_apply (PtTape      *tape,
              PtParams    *params,
              const PtCnn *cnn,
              PtTensor    *x)
{
  PtTensor *h;

  g_return_val_if_fail (x->ndim == 4 && x->shape[1] == cnn->in_channels, NULL);

  h = pt_op_nchw_to_nhwc (tape, x);
  for (int i = 0; i < 4; i++)
    {
      const PtBatchNorm *bn = &cnn->bn[i];

      h = pt_conv2d_apply (tape, params, &cnn->conv[i], h);
      if (i == 1 || i == 2)
        /* BN -> ReLU -> 2x2 max-pool fused: the full-size activation and
         * its gradient are never stored. */
        h = pt_op_batchnorm_relu_maxpool (tape, h, pt_params_tensor (params, bn->weight),
                                          pt_params_tensor (params, bn->bias),
                                          pt_params_data (params, bn->running_mean),
                                          pt_params_data (params, bn->running_var),
                                          bn->momentum, bn->eps, 2, 2);
      else
        h = pt_batchnorm_apply (tape, params, bn, h, TRUE);
    }
  return pt_op_global_avgpool (tape, h);
}

double
pt_cnn_forward_macs (const PtCnn *cnn,
                     int          H,
                     int          W)
{
  double macs = 0.0;

  for (int i = 0; i < 4; i++)
    {
      macs += (double) H * W * cnn->conv[i].out * cnn->conv[i].in * 9;
      if (i == 1 || i == 2)
        {
          H /= 2;
          W /= 2;
        }
    }
  return macs;
}
