/* pt-encoder.c: a run's encoder (cnn or vit) on its own, in and out of
 * safetensors. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-encoder.h"
#include "pt-safetensors.h"

G_DEFINE_QUARK (pt-encoder-error-quark, pt_encoder_error)

#define EMBED_CHUNK 256

static PtEncoder *
encoder_alloc (PtEncoderKind kind,
               int           channels,
               int           height,
               int           width)
{
  PtEncoder *enc = g_new0 (PtEncoder, 1);

  enc->kind = kind;
  enc->channels = channels;
  enc->height = height;
  enc->width = width;
  enc->params = pt_params_new ();
  enc->tape = pt_tape_new (0);
  pt_tape_set_training (enc->tape, FALSE);
  pt_tape_set_grad_enabled (enc->tape, FALSE);
  return enc;
}

PtEncoder *
pt_encoder_new_cnn (int channels,
                    int height,
                    int width,
                    int cnn_width)
{
  PtEncoder *enc;

  g_return_val_if_fail (channels > 0 && height > 0 && width > 0 && cnn_width > 0, NULL);

  enc = encoder_alloc (PT_ENCODER_CNN, channels, height, width);
  enc->cnn_width = cnn_width;
  pt_cnn_init (&enc->cnn, enc->params, "encoder", channels, cnn_width);
  pt_params_finalize (enc->params);
  for (int i = 0; i < 4; i++)
    pt_batchnorm_reset (&enc->cnn.bn[i], enc->params);
  return enc;
}

PtEncoder *
pt_encoder_new_vit (const PtVitConfig *config)
{
  PtEncoder *enc;

  g_return_val_if_fail (config != NULL && pt_vit_config_is_valid (config), NULL);

  enc = encoder_alloc (PT_ENCODER_VIT, config->channels, config->height, config->width);
  enc->vit_config = *config;
  pt_vit_init (&enc->vit, enc->params, "encoder", config);
  pt_params_finalize (enc->params);
  pt_sincos_pos_embed_2d (pt_params_data (enc->params, enc->vit.pos_embed), config->dim,
                          config->height / config->patch, config->width / config->patch);
  return enc;
}

void
pt_encoder_free (PtEncoder *enc)
{
  if (enc == NULL)
    return;
  g_clear_pointer (&enc->tape, pt_tape_free);
  g_clear_pointer (&enc->params, pt_params_free);
  g_free (enc);
}

const char *
pt_encoder_get_kind_name (PtEncoder *enc)
{
  return enc->kind == PT_ENCODER_VIT ? "vit" : "cnn";
}

int
pt_encoder_get_dim (PtEncoder *enc)
{
  return enc->kind == PT_ENCODER_VIT ? pt_vit_get_out_dim (&enc->vit)
                                     : pt_cnn_get_out_dim (&enc->cnn);
}

void
pt_encoder_embed (PtEncoder   *enc,
                  const float *images,
                  int          n,
                  float       *features)
{
  gsize per = (gsize) enc->channels * enc->height * enc->width;
  int dim = pt_encoder_get_dim (enc);

  for (int b = 0; b < n; b += EMBED_CHUNK)
    {
      int m = MIN (EMBED_CHUNK, n - b);
      PtTensor *x, *f;

      pt_tape_reset (enc->tape);
      x = pt_tensor_new_4d (pt_tape_get_arena (enc->tape), m, enc->channels, enc->height,
                            enc->width);
      memcpy (x->data, images + (gsize) b * per, (gsize) m * per * sizeof (float));
      if (enc->kind == PT_ENCODER_VIT)
        f = pt_vit_apply (enc->tape, enc->params, &enc->vit, x);
      else
        f = pt_cnn_apply (enc->tape, enc->params, &enc->cnn, x);
      memcpy (features + (gsize) b * dim, f->data, (gsize) m * dim * sizeof (float));
    }
  pt_tape_reset (enc->tape);
}

/* ---- the encoder inside a method ----------------------------------------- */

PtEncoder *
pt_encoder_new_for_method (PtMethod  *method,
                           GError   **error)
{
  const PtMethodConfig *config = pt_method_get_config (method);
  g_autofree char *arch = pt_method_dup_architecture (method);
  const char *kind = config->encoder;

  /* The method's default encoder when the run named none. */
  if (kind == NULL || *kind == '\0')
    kind = arch != NULL && strstr (arch, "vit") != NULL ? "vit" : "cnn";
  if (strcmp (kind, "cnn") == 0)
    return pt_encoder_new_cnn (config->channels, config->height, config->width,
                               config->encoder_width > 0 ? config->encoder_width : 16);
  if (strcmp (kind, "vit") == 0)
    {
      PtVitConfig vc;

      pt_vit_config_init (&vc, config->channels, config->height, config->width);
      if (pt_vit_config_is_valid (&vc))
        return pt_encoder_new_vit (&vc);
    }
  g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_UNSUPPORTED,
               _("The %s method’s “%s” encoder is not one Pretext can export or import."),
               pt_method_get_title (method), kind);
  return NULL;
}

/* The method's features and ours on a few fixed images agree. */
static gboolean
same_features (PtEncoder *enc,
               PtMethod  *method)
{
  const int n = 4;
  gsize per = (gsize) enc->channels * enc->height * enc->width;
  int dim = pt_encoder_get_dim (enc);
  g_autofree float *images = g_new (float, n * per);
  g_autofree float *a = g_new (float, (gsize) n * dim);
  g_autofree float *b = g_new (float, (gsize) n * dim);
  guint32 s = 2463534242u;
  double worst = 0, scale = 0;

  if (pt_method_get_feature_dim (method) != dim)
    return FALSE;
  for (gsize i = 0; i < n * per; i++)
    {
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      images[i] = (float) (s >> 8) / (1 << 24) * 2.0f - 1.0f;
    }
  if (!pt_method_embed (method, images, n, a, NULL))
    return FALSE;
  pt_encoder_embed (enc, images, n, b);
  for (gsize i = 0; i < (gsize) n * dim; i++)
    {
      if (!isfinite (a[i]) || !isfinite (b[i]))
        return FALSE;
      worst = MAX (worst, fabs ((double) a[i] - b[i]));
      scale = MAX (scale, fabs ((double) a[i]));
    }
  return worst <= 1e-5 * MAX (scale, 1.0);
}

/* F32 blobs holding a whole parameter buffer whose head may be the encoder. */
static gboolean
is_params_blob (const PtBlob *blob,
                gsize         need)
{
  return blob->type == PT_BLOB_F32 && blob->count >= need
         && g_str_has_suffix (blob->name, "params");
}

PtEncoder *
pt_encoder_from_method (PtMethod  *method,
                        GError   **error)
{
  g_autoptr(PtEncoder) enc = pt_encoder_new_for_method (method, error);
  g_autoptr(GArray) blobs = NULL;
  gsize need;

  if (enc == NULL)
    return NULL;
  need = pt_params_get_n_floats (enc->params);
  blobs = pt_method_list_state (method);
  for (guint i = 0; i < blobs->len; i++)
    {
      const PtBlob *blob = &g_array_index (blobs, PtBlob, i);

      if (!is_params_blob (blob, need))
        continue;
      memcpy (pt_params_get_data (enc->params), blob->data, need * sizeof (float));
      if (same_features (enc, method))
        return g_steal_pointer (&enc);
    }
  g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_UNSUPPORTED,
               _("The %s method’s encoder is not a %s whose weights Pretext can identify, so it cannot be exported."),
               pt_method_get_title (method), pt_encoder_get_kind_name (enc));
  return NULL;
}

gboolean
pt_encoder_seed_method (PtMethod    *method,
                        const char  *path,
                        GError     **error)
{
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(GArray) blobs = NULL;
  gsize need;
  guint copied = 0;

  g_return_val_if_fail (method != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  enc = pt_encoder_new_for_method (method, error);
  if (enc == NULL)
    return FALSE;
  if (!pt_encoder_read_safetensors (enc, path, error))
    return FALSE;

  /* Find the online encoder first (features must change to the file's),
   * then give a momentum encoder that mirrors it the same start. */
  need = pt_params_get_n_floats (enc->params);
  blobs = pt_method_list_state (method);
  for (guint i = 0; i < blobs->len; i++)
    {
      const PtBlob *blob = &g_array_index (blobs, PtBlob, i);

      if (!is_params_blob (blob, need))
        continue;
      memcpy (blob->data, pt_params_get_data (enc->params), need * sizeof (float));
      copied++;
    }
  pt_method_state_loaded (method);
  if (copied == 0 || !same_features (enc, method))
    {
      g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_UNSUPPORTED,
                   _("The weights in “%s” fit the %s encoder, but the %s method does not keep its encoder where Pretext can seed it."),
                   path, pt_encoder_get_kind_name (enc), pt_method_get_title (method));
      return FALSE;
    }
  return TRUE;
}

/* ---- safetensors --------------------------------------------------------- */

static gboolean
is_tracked_name (PtEncoder  *enc,
                 const char *name)
{
  g_autofree char *stem = NULL;
  g_autofree char *var = NULL;

  if (enc->kind != PT_ENCODER_CNN || !g_str_has_suffix (name, ".num_batches_tracked"))
    return FALSE;
  stem = g_strndup (name, strlen (name) - strlen ("num_batches_tracked"));
  var = g_strconcat (stem, "running_var", NULL);
  return pt_params_find (enc->params, var) >= 0;
}

static void
add_meta_int (PtSafetensorsWriter *writer,
              const char          *key,
              int                  value)
{
  g_autofree char *text = g_strdup_printf ("%d", value);

  pt_safetensors_writer_set_metadata (writer, key, text);
}

gboolean
pt_encoder_save_safetensors (PtEncoder           *enc,
                             const char          *path,
                             const char * const  *metadata,
                             guint64              steps,
                             GError             **error)
{
  g_autoptr(PtSafetensorsWriter) writer = pt_safetensors_writer_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *shape_text = NULL;
  gint64 tracked = (gint64) steps;
  guint n = pt_params_get_n (enc->params);

  g_return_val_if_fail (enc != NULL && path != NULL, FALSE);

  pt_safetensors_writer_set_metadata (writer, "format", "pretext-encoder");
  pt_safetensors_writer_set_metadata (writer, "encoder", pt_encoder_get_kind_name (enc));
  shape_text = g_strdup_printf ("%d,%d,%d", enc->channels, enc->height, enc->width);
  pt_safetensors_writer_set_metadata (writer, "input_shape", shape_text);
  if (enc->kind == PT_ENCODER_CNN)
    add_meta_int (writer, "width", enc->cnn_width);
  else
    {
      add_meta_int (writer, "patch", enc->vit_config.patch);
      add_meta_int (writer, "dim", enc->vit_config.dim);
      add_meta_int (writer, "depth", enc->vit_config.depth);
      add_meta_int (writer, "heads", enc->vit_config.heads);
      add_meta_int (writer, "mlp_ratio", enc->vit_config.mlp_ratio);
    }
  for (guint i = 0; metadata != NULL && metadata[i] != NULL && metadata[i + 1] != NULL; i += 2)
    {
      static const char *own[] = { "format", "encoder", "input_shape", "width", "patch",
                                   "dim", "depth", "heads", "mlp_ratio" };
      gboolean skip = FALSE;

      for (guint k = 0; k < G_N_ELEMENTS (own); k++)
        skip = skip || strcmp (metadata[i], own[k]) == 0;
      if (!skip)
        pt_safetensors_writer_set_metadata (writer, metadata[i], metadata[i + 1]);
    }

  for (guint i = 0; i < n; i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);
      guint64 shape[PT_MAX_DIMS];

      for (int d = 0; d < info->ndim; d++)
        shape[d] = (guint64) info->shape[d];
      pt_safetensors_writer_add_f32 (writer, info->name, pt_params_data (enc->params, i),
                                     shape, info->ndim);
      if (enc->kind == PT_ENCODER_CNN && g_str_has_suffix (info->name, ".running_var"))
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

static gboolean
check_meta_int (PtSafetensors *st,
                const char    *path,
                const char    *key,
                int            want,
                GError       **error)
{
  const char *value = pt_safetensors_get_metadata (st, key);
  g_autofree char *text = NULL;

  if (value == NULL)
    return TRUE;
  text = g_strdup_printf ("%d", want);
  if (strcmp (value, text) == 0)
    return TRUE;
  g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
               _("“%s” is an encoder with %s %s, but this one has %s %d."),
               path, key, value, key, want);
  return FALSE;
}

gboolean
pt_encoder_read_safetensors (PtEncoder   *enc,
                             const char  *path,
                             GError     **error)
{
  g_autoptr(PtSafetensors) st = NULL;
  g_autofree float *staged = NULL;
  g_autofree char *shape_text = NULL;
  const char *kind, *input_shape;
  guint n = pt_params_get_n (enc->params);
  guint n_file;

  g_return_val_if_fail (enc != NULL && path != NULL, FALSE);

  /* pt_safetensors_load checks the whole header before any data. */
  st = pt_safetensors_load (path, error);
  if (st == NULL)
    return FALSE;

  kind = pt_safetensors_get_metadata (st, "encoder");
  if (kind != NULL && strcmp (kind, pt_encoder_get_kind_name (enc)) != 0)
    {
      g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                   _("“%s” holds a %s encoder, but this run uses a %s."),
                   path, kind, pt_encoder_get_kind_name (enc));
      return FALSE;
    }
  input_shape = pt_safetensors_get_metadata (st, "input_shape");
  shape_text = g_strdup_printf ("%d,%d,%d", enc->channels, enc->height, enc->width);
  if (input_shape != NULL && strcmp (input_shape, shape_text) != 0)
    {
      g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                   _("“%s” was made for %s images (channels, height, width), but this run’s are %s."),
                   path, input_shape, shape_text);
      return FALSE;
    }
  if (enc->kind == PT_ENCODER_VIT &&
      (!check_meta_int (st, path, "heads", enc->vit_config.heads, error) ||
       !check_meta_int (st, path, "patch", enc->vit_config.patch, error)))
    return FALSE;

  /* Every tensor of the file is one of ours, with our dtype. */
  n_file = pt_safetensors_get_n_tensors (st);
  for (guint k = 0; k < n_file; k++)
    {
      const char *name = pt_safetensors_get_name (st, k);
      PtSafetensorsDtype dtype = pt_safetensors_get_dtype (st, k);

      if (is_tracked_name (enc, name))
        {
          if (dtype != PT_SAFETENSORS_I64 || pt_safetensors_get_n_elements (st, k) != 1)
            {
              g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                           _("“%s”: the tensor “%s” should be one I64 value."), path, name);
              return FALSE;
            }
          continue;
        }
      if (pt_params_find (enc->params, name) < 0)
        {
          g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                       _("“%s” has a tensor “%s” that the %s encoder does not have."),
                       path, name, pt_encoder_get_kind_name (enc));
          return FALSE;
        }
      if (dtype != PT_SAFETENSORS_F32)
        {
          g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                       _("“%s”: the tensor “%s” is not F32 (float32)."), path, name);
          return FALSE;
        }
    }

  /* Every tensor of ours is in the file, with our shape. */
  for (guint i = 0; i < n; i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);
      int k = pt_safetensors_lookup (st, info->name);
      g_autoptr(GString) want = g_string_new (NULL);
      const guint64 *s;
      guint nd = 0;
      gboolean ok;

      if (k < 0)
        {
          g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                       _("“%s” has no tensor “%s”, which the %s encoder needs."),
                       path, info->name, pt_encoder_get_kind_name (enc));
          return FALSE;
        }
      s = pt_safetensors_get_shape (st, k, &nd);
      ok = nd == (guint) info->ndim;
      for (guint d = 0; ok && d < nd; d++)
        ok = s[d] == (guint64) info->shape[d];
      if (!ok)
        {
          for (int d = 0; d < info->ndim; d++)
            g_string_append_printf (want, "%s%d", d > 0 ? ", " : "", info->shape[d]);
          g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                       _("“%s”: the tensor “%s” does not have the shape (%s) of this run’s encoder."),
                       path, info->name, want->str);
          return FALSE;
        }
    }

  /* Only now touch data: into a staging copy, then ours. Zeroed: the
   * flat buffer has alignment padding between entries that no tensor
   * fills, and the finiteness check below reads it (uninitialized, it
   * could fail a valid file). */
  staged = g_new0 (float, MAX (pt_params_get_n_floats (enc->params), 1));
  for (guint i = 0; i < n; i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);

      if (!pt_safetensors_read_f32 (st, info->name, staged + info->offset, info->numel, error))
        return FALSE;
    }
  for (gsize i = 0; i < pt_params_get_n_floats (enc->params); i++)
    if (!isfinite (staged[i]))
      {
        g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                     _("“%s” holds weights that are not finite numbers (NaN or infinity)."),
                     path);
        return FALSE;
      }
  memcpy (pt_params_get_data (enc->params), staged,
          pt_params_get_n_floats (enc->params) * sizeof (float));
  return TRUE;
}

static int
meta_int (PtSafetensors *st,
          const char    *key,
          int            fallback)
{
  const char *value = pt_safetensors_get_metadata (st, key);
  guint64 v;

  if (value == NULL || !g_ascii_string_to_unsigned (value, 10, 1, 4096, &v, NULL))
    return fallback;
  return (int) v;
}

PtEncoder *
pt_encoder_load_safetensors (const char  *path,
                             int          height,
                             int          width,
                             GError     **error)
{
  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, error);
  g_autoptr(PtEncoder) enc = NULL;
  const guint64 *shape;
  guint ndim = 0;
  int k;

  if (st == NULL)
    return NULL;
  if ((k = pt_safetensors_lookup (st, "encoder.blocks.0.conv.weight")) >= 0)
    {
      shape = pt_safetensors_get_shape (st, k, &ndim);
      if (ndim != 4 || shape[0] < 1 || shape[0] > 1024 || (shape[1] != 1 && shape[1] != 3))
        goto bad_shape;
      enc = pt_encoder_new_cnn ((int) shape[1], height, width, (int) shape[0]);
    }
  else if ((k = pt_safetensors_lookup (st, "encoder.patch_embed.weight")) >= 0)
    {
      PtVitConfig vc = { 0 };
      guint64 patch_dim;
      int depth = 0, m;

      shape = pt_safetensors_get_shape (st, k, &ndim);
      if (ndim != 2 || shape[0] < 4 || shape[0] > 4096 || shape[1] < 1 || shape[1] > 65536)
        goto bad_shape;
      vc.dim = (int) shape[0];
      patch_dim = shape[1];
      vc.heads = meta_int (st, "heads", 4);
      while (depth < PT_VIT_MAX_DEPTH)
        {
          g_autofree char *name = g_strdup_printf ("encoder.blocks.%d.norm1.weight", depth);

          if (pt_safetensors_lookup (st, name) < 0)
            break;
          depth++;
        }
      vc.depth = depth;
      vc.mlp_ratio = 4;
      if ((m = pt_safetensors_lookup (st, "encoder.blocks.0.mlp.0.weight")) >= 0)
        {
          const guint64 *ms = pt_safetensors_get_shape (st, m, &ndim);

          if (ndim == 2 && ms[0] % (guint64) vc.dim == 0 && ms[0] / vc.dim <= 64)
            vc.mlp_ratio = (int) (ms[0] / vc.dim);
        }
      /* p p C = patch_dim, with C 1 or 3 */
      for (int c = 1; c <= 3 && vc.patch == 0; c += 2)
        for (int p = 1; p <= 64; p++)
          if ((guint64) p * p * c == patch_dim)
            {
              vc.channels = c;
              vc.patch = p;
            }
      vc.height = height;
      vc.width = width;
      if (vc.patch == 0 || !pt_vit_config_is_valid (&vc))
        goto bad_shape;
      enc = pt_encoder_new_vit (&vc);
    }
  else
    {
      g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
                   _("“%s” holds neither a cnn nor a vit encoder (no “encoder.blocks.0.conv.weight” or “encoder.patch_embed.weight”)."),
                   path);
      return NULL;
    }
  if (!pt_encoder_read_safetensors (enc, path, error))
    return NULL;
  return g_steal_pointer (&enc);

bad_shape:
  g_set_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH,
               _("“%s”: the tensor “%s” has a shape no Pretext encoder has."),
               path, pt_safetensors_get_name (st, k));
  return NULL;
}
