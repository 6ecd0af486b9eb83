/* pt-method-mae.c: MAE as a PtMethod (see pt-method-mae.h). */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-method-mae.h"
#include "pt-metrics.h"
#include "pt-optim.h"
#include "pt-vit.h"

#define N_PROBES 8
#define EMBED_CHUNK 256

typedef struct
{
  PtMethod  parent;
  PtMaeConfig mconfig;
  PtParams *params;
  PtMae     mae;
  PtOptim  *optim;
  PtTape   *tape;
  PtRng     rng;            /* masks */
  guint64   steps;
  guint64   optim_step;     /* mirror of the optimizer's t, for checkpoints */
  guint64   n_probes;       /* probe images kept so far (0 or N_PROBES) */
  float    *probes;         /* [N_PROBES, C, H, W] */
  gint32   *ids;            /* [batch, N] scratch */
  int       ids_rows;
  float    *features;       /* [batch, D] scratch */
} PtMethodMae;

static const PtMethodParam mae_params[] = {
  { "lr", N_("base learning rate (scaled by batch / 256)"), 1.5e-4, 1e-7, 1.0, TRUE, FALSE },
  { "weight_decay", N_("AdamW weight decay"), 0.05, 0.0, 1.0, FALSE, FALSE },
  { "beta2", N_("AdamW second-moment decay"), 0.95, 0.5, 0.99999, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 200, 0, 1e9, TRUE, TRUE },
  { "total_steps", N_("steps of the cosine schedule (lr 0 after)"), 10000, 1, 1e9, TRUE, TRUE },
  { "mask_ratio", N_("fraction of patches removed in training"), 0.75, 0.0, 0.98, TRUE, FALSE },
  { "norm_pix_loss", N_("1: predict per-patch normalized pixels"), 0, 0, 1, FALSE, TRUE },
  { "visual_mask_ratio", N_("mask ratio of the reconstruction visual"), 0.75, 0.0, 0.98, TRUE, FALSE },
  { NULL }
};

static PtMethod *
mae_alloc (void)
{
  return (PtMethod *) g_new0 (PtMethodMae, 1);
}

static gboolean
mae_init (PtMethod             *method,
          const PtMethodConfig *config,
          GError              **error)
{
  PtMethodMae *self = (PtMethodMae *) method;
  PtOptimConfig oconfig;

  if (config->encoder != NULL && strcmp (config->encoder, "vit") != 0)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("MAE needs the vit encoder, not “%s”."), config->encoder);
      return FALSE;
    }
  pt_mae_config_init (&self->mconfig, config->channels, config->height, config->width);
  self->mconfig.norm_pix_loss = pt_method_get_param (method, "norm_pix_loss") > 0.5;
  if (!pt_mae_config_is_valid (&self->mconfig))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("MAE cannot use %d×%d images with %d channels: the sides must be multiples of the patch size %d."),
                   config->width, config->height, config->channels, self->mconfig.encoder.patch);
      return FALSE;
    }
  if (config->batch_size < 1)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED,
                   _("MAE needs a batch size of at least 1, not %d."), config->batch_size);
      return FALSE;
    }

  self->params = pt_params_new ();
  pt_mae_init (&self->mae, self->params, &self->mconfig);
  pt_params_finalize (self->params);
  pt_rng_init_keyed (&self->rng, config->seed, 0x6d6165, 0);
  pt_mae_reset (&self->mae, self->params, &self->rng);

  pt_optim_config_init (&oconfig, PT_OPTIM_ADAMW);
  oconfig.beta1 = 0.9f;
  oconfig.beta2 = (float) pt_method_get_param (method, "beta2");
  oconfig.weight_decay = (float) pt_method_get_param (method, "weight_decay");
  oconfig.decay_all = FALSE;
  self->optim = pt_optim_new (self->params, &oconfig);
  self->tape = pt_tape_new (0);
  self->probes = g_new0 (float, (gsize) N_PROBES * config->channels * config->height
                                * config->width);
  return TRUE;
}

static void
mae_finalize (PtMethod *method)
{
  PtMethodMae *self = (PtMethodMae *) method;

  g_clear_pointer (&self->optim, pt_optim_free);
  g_clear_pointer (&self->params, pt_params_free);
  g_clear_pointer (&self->tape, pt_tape_free);
  g_clear_pointer (&self->probes, g_free);
  g_clear_pointer (&self->ids, g_free);
  g_clear_pointer (&self->features, g_free);
}

static int
mae_get_views (PtMethod    *method,
               PtViewShape *shapes)
{
  const PtMethodConfig *c = pt_method_get_config (method);

  shapes[0] = (PtViewShape) { c->channels, c->height, c->width };
  return 1;
}

static char *
mae_dup_architecture (PtMethod *method)
{
  PtMethodMae *self = (PtMethodMae *) method;
  const PtVitConfig *e = &self->mconfig.encoder;

  return g_strdup_printf ("mae vit p%d d%d x%d h%d mlp%d %dx%dx%d dec d%d x%d h%d",
                          e->patch, e->dim, e->depth, e->heads, e->mlp_ratio, e->channels,
                          e->height, e->width, self->mconfig.decoder_dim,
                          self->mconfig.decoder_depth, self->mconfig.decoder_heads);
}

static gint32 *
ensure_ids (PtMethodMae *self,
            int          rows)
{
  if (rows > self->ids_rows)
    {
      g_free (self->ids);
      g_free (self->features);
      self->ids = g_new (gint32, (gsize) rows * self->mae.encoder.n_patches);
      self->features = g_new (float, (gsize) rows * self->mconfig.encoder.dim);
      self->ids_rows = rows;
    }
  return self->ids;
}

/* A {B,C,H,W} tensor over caller memory (read only by the model). */
static PtTensor *
input_tensor (PtTape      *tape,
              const float *data,
              int          n,
              const PtVitConfig *e)
{
  PtTensor *x = pt_arena_alloc (pt_tape_get_arena (tape), sizeof (PtTensor));
  int shape[4] = { n, e->channels, e->height, e->width };

  pt_tensor_init (x, (float *) data, NULL, 4, shape);
  x->arena = pt_tape_get_arena (tape);
  return x;
}

static gboolean
mae_step (PtMethod      *method,
          const PtBatch *batch,
          PtStepResult  *result,
          GError       **error)
{
  PtMethodMae *self = (PtMethodMae *) method;
  const PtVitConfig *e = &self->mconfig.encoder;
  int B = batch->batch_size, N = self->mae.encoder.n_patches, D = e->dim;
  int K = pt_mae_n_keep (N, pt_method_get_param (method, "mask_ratio"));
  double base_lr = pt_method_get_param (method, "lr") * B / 256.0;
  double lr, grad_sq = 0.0, erank = 0.0;
  gsize img = (gsize) e->channels * e->height * e->width;
  PtTensor *loss, *latent = NULL;
  const float *grad;
  gint32 *ids;

  if (batch->n_views < 1 || batch->shape[0].channels != e->channels
      || batch->shape[0].height != e->height || batch->shape[0].width != e->width || B < 1)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_FAILED,
                   _("MAE got a batch of %d×%d×%d images, expected %d×%d×%d."),
                   batch->shape[0].channels, batch->shape[0].height, batch->shape[0].width,
                   e->channels, e->height, e->width);
      return FALSE;
    }

  /* The first images seen become the fixed probes of the visual. */
  if (self->n_probes == 0)
    {
      for (int i = 0; i < N_PROBES; i++)
        memcpy (self->probes + i * img, batch->views[0] + (gsize) (i % B) * img,
                img * sizeof (float));
      self->n_probes = N_PROBES;
    }

  ids = ensure_ids (self, B);
  pt_mae_random_shuffle (&self->rng, B, N, ids);
  pt_tape_reset (self->tape);
  pt_tape_set_training (self->tape, TRUE);
  pt_tape_set_grad_enabled (self->tape, TRUE);
  loss = pt_mae_forward (self->tape, self->params, &self->mae,
                         input_tensor (self->tape, batch->views[0], B, e), ids, K, NULL, &latent);
  pt_params_zero_grad (self->params);
  pt_tape_backward (self->tape, loss);

  grad = pt_params_get_grad (self->params);
  for (gsize i = 0; i < pt_params_get_n_floats (self->params); i++)
    grad_sq += (double) grad[i] * grad[i];
  result->grad_finite = isfinite (grad_sq);
  lr = pt_schedule_warmup_cosine ((float) base_lr, 0.0f,
                                  (guint64) pt_method_get_param (method, "warmup_steps"),
                                  (guint64) pt_method_get_param (method, "total_steps"),
                                  self->steps);
  if (result->grad_finite && isfinite (loss->data[0]))
    pt_optim_step (self->optim, (float) lr);
  self->optim_step = pt_optim_get_step (self->optim);
  self->steps++;

  /* Health on the class tokens of this step. */
  for (int b = 0; b < B; b++)
    memcpy (self->features + (gsize) b * D, latent->data + (gsize) b * latent->shape[1] * D,
            D * sizeof (float));
  result->loss = loss->data[0];
  pt_step_result_add_part (result, "mse", loss->data[0]);
  pt_step_result_add_stat (result, "lr", lr);
  pt_step_result_add_stat (result, "grad_norm", sqrt (grad_sq));
  pt_step_result_add_stat (result, "feature_std", pt_embedding_std (self->features, B, D));
  if (B >= 2 && pt_effective_rank (self->features, B, D, &erank, NULL))
    pt_step_result_add_stat (result, "effective_rank", erank);
  return TRUE;
}

static int
mae_get_feature_dim (PtMethod *method)
{
  return ((PtMethodMae *) method)->mconfig.encoder.dim;
}

static gboolean
mae_embed (PtMethod    *method,
           const float *images,
           int          n,
           float       *features,
           GError     **error)
{
  PtMethodMae *self = (PtMethodMae *) method;
  const PtVitConfig *e = &self->mconfig.encoder;
  gsize img = (gsize) e->channels * e->height * e->width;
  g_autoptr(PtTape) tape = pt_tape_new (0);

  pt_tape_set_grad_enabled (tape, FALSE);
  pt_tape_set_training (tape, FALSE);
  for (int i = 0; i < n; i += EMBED_CHUNK)
    {
      int m = MIN (EMBED_CHUNK, n - i);
      PtTensor *f;

      pt_tape_reset (tape);
      f = pt_vit_apply (tape, self->params, &self->mae.encoder,
                        input_tensor (tape, images + (gsize) i * img, m, e));
      memcpy (features + (gsize) i * e->dim, f->data, (gsize) m * e->dim * sizeof (float));
    }
  return TRUE;
}

gboolean
pt_method_mae_reconstruct (PtMethod    *method,
                           const float *images,
                           int          n,
                           double       mask_ratio,
                           guint64      seed,
                           float       *out,
                           GError     **error)
{
  PtMethodMae *self = (PtMethodMae *) method;
  int N;
  g_autofree gint32 *ids = NULL;
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtRng rng;

  g_return_val_if_fail (method != NULL && method->klass == &pt_method_mae_class, FALSE);
  g_return_val_if_fail (images != NULL && out != NULL && n >= 1, FALSE);

  if (!(mask_ratio >= 0.0 && mask_ratio < 1.0))
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The mask ratio must be at least 0 and below 1, not %g."), mask_ratio);
      return FALSE;
    }
  N = self->mae.encoder.n_patches;
  ids = g_new (gint32, (gsize) n * N);
  pt_rng_init (&rng, seed);
  pt_mae_random_shuffle (&rng, n, N, ids);
  pt_mae_reconstruct (tape, self->params, &self->mae, images, n, ids,
                      pt_mae_n_keep (N, mask_ratio), 0.5f, out);
  return TRUE;
}

static PtVisuals *
mae_visuals (PtMethod *method)
{
  PtMethodMae *self = (PtMethodMae *) method;
  const PtVitConfig *e = &self->mconfig.encoder;
  gsize n = (gsize) 4 * N_PROBES * e->channels * e->height * e->width;
  g_autofree float *out = g_new (float, n);
  int shape[4] = { 4 * N_PROBES, e->channels, e->height, e->width };
  PtVisuals *visuals;

  if (self->n_probes == 0)
    return NULL;
  if (!pt_method_mae_reconstruct (method, self->probes, N_PROBES,
                                  pt_method_get_param (method, "visual_mask_ratio"),
                                  pt_method_get_config (method)->seed ^ 0x70726f6265ull, out, NULL))
    return NULL;
  /* In the model's input space (the run's per-channel normalization), not
   * clamped: a viewer maps them back to pixels with that normalization. */
  visuals = pt_visuals_new (self->steps);
  pt_visuals_add (visuals, "reconstruction", PT_VISUAL_IMAGES, 4, shape, out);
  return visuals;
}

static void
mae_list_state (PtMethod *method,
                GArray   *blobs)
{
  PtMethodMae *self = (PtMethodMae *) method;
  const PtVitConfig *e = &self->mconfig.encoder;
  gsize nf = pt_params_get_n_floats (self->params);
  PtBlob list[] = {
    { "params", PT_BLOB_F32, nf, pt_params_get_data (self->params) },
    { "adamw/m", PT_BLOB_F32, nf, pt_optim_get_slot (self->optim, 0) },
    { "adamw/v", PT_BLOB_F32, nf, pt_optim_get_slot (self->optim, 1) },
    { "adamw/step", PT_BLOB_U64, 1, &self->optim_step },
    { "rng", PT_BLOB_U64, 1, &self->rng.state },
    { "steps", PT_BLOB_U64, 1, &self->steps },
    { "probes/count", PT_BLOB_U64, 1, &self->n_probes },
    { "probes/images", PT_BLOB_F32,
      (gsize) N_PROBES * e->channels * e->height * e->width, self->probes },
  };

  g_array_append_vals (blobs, list, G_N_ELEMENTS (list));
}

static void
mae_state_loaded (PtMethod *method)
{
  PtMethodMae *self = (PtMethodMae *) method;

  pt_optim_set_step (self->optim, self->optim_step);
}

const PtMethodClass pt_method_mae_class = {
  .name = "mae",
  .title = "MAE",
  .description = N_("Masked autoencoder: a ViT encodes a quarter of the patches, a light decoder repaints the rest."),
  .params = mae_params,
  .init = mae_init,
  .alloc = mae_alloc,
  .finalize = mae_finalize,
  .get_views = mae_get_views,
  .dup_architecture = mae_dup_architecture,
  .step = mae_step,
  .get_feature_dim = mae_get_feature_dim,
  .embed = mae_embed,
  .visuals = mae_visuals,
  .list_state = mae_list_state,
  .state_loaded = mae_state_loaded,
};
