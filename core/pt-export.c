/* pt-export.c: a trained encoder as a standalone model and as safetensors. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-export.h"
#include "pt-safetensors.h"

G_DEFINE_QUARK (pt-export-error-quark, pt_export_error)

PtCnnEncoder *
pt_cnn_encoder_new (int channels,
                    int height,
                    int width,
                    int cnn_width)
{
  PtCnnEncoder *enc = g_new0 (PtCnnEncoder, 1);

  enc->channels = channels;
  enc->height = height;
  enc->width = width;
  enc->cnn_width = cnn_width;
  enc->params = pt_params_new ();
  pt_cnn_init (&enc->cnn, enc->params, "encoder", channels, cnn_width);
  pt_params_finalize (enc->params);
  for (int i = 0; i < 4; i++)
    pt_batchnorm_reset (&enc->cnn.bn[i], enc->params);
  enc->tape = pt_tape_new (0);
  pt_tape_set_training (enc->tape, FALSE);
  pt_tape_set_grad_enabled (enc->tape, FALSE);
  return enc;
}

void
pt_cnn_encoder_free (PtCnnEncoder *enc)
{
  if (enc == NULL)
    return;
  g_clear_pointer (&enc->tape, pt_tape_free);
  g_clear_pointer (&enc->params, pt_params_free);
  g_free (enc);
}

int
pt_cnn_encoder_get_dim (PtCnnEncoder *enc)
{
  return pt_cnn_get_out_dim (&enc->cnn);
}

void
pt_cnn_encoder_embed (PtCnnEncoder *enc,
                      const float  *images,
                      int           n,
                      float        *features)
{
  gsize per = (gsize) enc->channels * enc->height * enc->width;
  int dim = pt_cnn_get_out_dim (&enc->cnn);

  for (int b = 0; b < n; b += 256)
    {
      int m = MIN (256, n - b);
      PtTensor *x, *f;

      pt_tape_reset (enc->tape);
      x = pt_tensor_new_4d (pt_tape_get_arena (enc->tape), m, enc->channels, enc->height,
                            enc->width);
      memcpy (x->data, images + b * per, (gsize) m * per * sizeof (float));
      f = pt_cnn_apply (enc->tape, enc->params, &enc->cnn, x);
      memcpy (features + (gsize) b * dim, f->data, (gsize) m * dim * sizeof (float));
    }
  pt_tape_reset (enc->tape);
}

/* The method's features and ours on a few fixed images agree. */
static gboolean
same_features (PtCnnEncoder *enc,
               PtMethod     *method)
{
  const int n = 4;
  gsize per = (gsize) enc->channels * enc->height * enc->width;
  int dim = pt_cnn_encoder_get_dim (enc);
  g_autofree float *images = g_new (float, n * per);
  g_autofree float *a = g_new (float, (gsize) n * dim);
  g_autofree float *b = g_new (float, (gsize) n * dim);
  guint32 s = 2463534242u;
  double worst = 0, scale = 0;

  for (gsize i = 0; i < n * per; i++)
    {
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      images[i] = (float) (s >> 8) / (1 << 24) * 2.0f - 1.0f;
    }
  if (!pt_method_embed (method, images, n, a, NULL))
    return FALSE;
  pt_cnn_encoder_embed (enc, images, n, b);
  for (gsize i = 0; i < (gsize) n * dim; i++)
    {
      worst = MAX (worst, fabs ((double) a[i] - b[i]));
      scale = MAX (scale, fabs ((double) a[i]));
    }
  return worst <= 1e-5 * MAX (scale, 1.0);
}

PtCnnEncoder *
pt_cnn_encoder_from_method (PtMethod  *method,
                            GError   **error)
{
  const PtMethodConfig *config = pt_method_get_config (method);
  g_autoptr(PtCnnEncoder) enc = NULL;
  g_autoptr(GArray) blobs = NULL;
  gsize need;

  if (config->encoder != NULL && g_strcmp0 (config->encoder, "cnn") != 0)
    {
      g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_UNSUPPORTED,
                   _("Only the cnn encoder can be exported for now, not “%s”."),
                   config->encoder);
      return NULL;
    }
  enc = pt_cnn_encoder_new (config->channels, config->height, config->width,
                            config->encoder_width > 0 ? config->encoder_width : 16);
  if (pt_method_get_feature_dim (method) != pt_cnn_encoder_get_dim (enc))
    goto not_found;
  need = pt_params_get_n_floats (enc->params);
  blobs = pt_method_list_state (method);
  for (guint i = 0; i < blobs->len; i++)
    {
      const PtBlob *blob = &g_array_index (blobs, PtBlob, i);

      if (blob->type != PT_BLOB_F32 || blob->count < need || !g_str_has_suffix (blob->name, "params"))
        continue;
      memcpy (pt_params_get_data (enc->params), blob->data, need * sizeof (float));
      if (same_features (enc, method))
        return g_steal_pointer (&enc);
    }

not_found:
  g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_UNSUPPORTED,
               _("The %s method’s encoder is not a cnn whose weights Pretext can identify, so it cannot be exported yet."),
               pt_method_get_title (method));
  return NULL;
}

gboolean
pt_cnn_encoder_save_safetensors (PtCnnEncoder        *enc,
                                 const char          *path,
                                 const char * const  *metadata,
                                 guint64              steps,
                                 GError             **error)
{
  g_autoptr(PtSafetensorsWriter) writer = pt_safetensors_writer_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gint64 tracked = (gint64) steps;
  guint n = pt_params_get_n (enc->params);

  for (guint i = 0; metadata != NULL && metadata[i] != NULL && metadata[i + 1] != NULL; i += 2)
    pt_safetensors_writer_set_metadata (writer, metadata[i], metadata[i + 1]);
  for (guint i = 0; i < n; i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);
      guint64 shape[PT_MAX_DIMS];

      for (int d = 0; d < info->ndim; d++)
        shape[d] = (guint64) info->shape[d];
      pt_safetensors_writer_add_f32 (writer, info->name, pt_params_data (enc->params, i),
                                     shape, info->ndim);
      if (g_str_has_suffix (info->name, ".running_var"))
        {
          g_autofree char *stem = g_strndup (info->name,
                                             strlen (info->name) - strlen ("running_var"));
          char *name = g_strconcat (stem, "num_batches_tracked", NULL);

          g_ptr_array_add (names, name);
          pt_safetensors_writer_add_i64 (writer, name, &tracked, NULL, 0);
        }
    }
  return pt_safetensors_writer_save (writer, path, error);
}

PtCnnEncoder *
pt_cnn_encoder_load_safetensors (const char  *path,
                                 int          height,
                                 int          width,
                                 GError     **error)
{
  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, error);
  g_autoptr(PtCnnEncoder) enc = NULL;
  const guint64 *shape;
  guint ndim = 0;
  int first;

  if (st == NULL)
    return NULL;
  first = pt_safetensors_lookup (st, "encoder.blocks.0.conv.weight");
  if (first < 0)
    {
      g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_INVALID,
                   _("“%s” holds no cnn encoder (no tensor “encoder.blocks.0.conv.weight”)."),
                   path);
      return NULL;
    }
  shape = pt_safetensors_get_shape (st, first, &ndim);
  if (ndim != 4 || shape[0] < 1 || shape[0] > 1024 || (shape[1] != 1 && shape[1] != 3))
    {
      g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_INVALID,
                   _("“%s”: encoder.blocks.0.conv.weight has an unexpected shape."), path);
      return NULL;
    }
  enc = pt_cnn_encoder_new ((int) shape[1], height, width, (int) shape[0]);
  for (guint i = 0; i < pt_params_get_n (enc->params); i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);
      int k = pt_safetensors_lookup (st, info->name);
      const guint64 *s;
      guint nd = 0;
      gboolean ok;

      if (k < 0)
        {
          g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_INVALID,
                       _("“%s” has no tensor “%s”."), path, info->name);
          return NULL;
        }
      s = pt_safetensors_get_shape (st, k, &nd);
      ok = nd == (guint) info->ndim;
      for (guint d = 0; ok && d < nd; d++)
        ok = s[d] == (guint64) info->shape[d];
      if (!ok)
        {
          g_set_error (error, PT_EXPORT_ERROR, PT_EXPORT_ERROR_INVALID,
                       _("“%s”: the tensor “%s” does not have the shape of the encoder’s."),
                       path, info->name);
          return NULL;
        }
      if (!pt_safetensors_read_f32 (st, info->name, pt_params_data (enc->params, i),
                                    info->numel, error))
        return NULL;
    }
  return g_steal_pointer (&enc);
}
