/* pt-method-rotnet.c: rotation prediction (Gidaris, Singh, Komodakis,
 * "Unsupervised Representation Learning by Predicting Image Rotations",
 * ICLR 2018).
 *
 * Each image of the batch (one augmented view of the "rotnet" recipe: mild
 * crop and flip, never a rotation, which would change the image and not the
 * label) is presented at 0, 90, 180 and 270 degrees, exact quarter turns
 * of the tensor (pt_rotate90, as torch.rot90), all 4B in one forward pass
 * as the paper does; a linear 4-way head on the cnn features is trained
 * with cross-entropy. The paper's optimiser: SGD momentum 0.9, weight decay
 * 5e-4, lr 0.1 at batch 128 (base_lr 0.2 per 256).
 *
 * Visual: the 4 x 4 confusion matrix (true rotation x predicted) of the last
 * batch and its most ambiguous rotated images: dataset index, rotation and
 * entropy of the prediction, highest entropy first.
 */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-ssl.h"

enum {
  P_BASE_LR,
  P_WEIGHT_DECAY,
  P_WARMUP,
  P_TOTAL,
};

static const PtSslParam rotnet_params[] = {
  { "base_lr", N_("learning rate for a batch of 256 (scaled by B / 256)"), 0.2, 0.0, 100.0, TRUE, FALSE },
  { "weight_decay", N_("weight decay (not on biases and batchnorm)"), 5e-4, 0.0, 1.0, FALSE, FALSE },
  { "warmup_steps", N_("linear warmup steps"), 10, 0, 1e9, FALSE, TRUE },
  { "total_steps", N_("end of the cosine schedule (0: constant after warmup)"), 0, 0, 1e12, FALSE, TRUE },
  { NULL },
};

#define N_AMBIGUOUS 8

typedef struct {
  PtSslMethod  parent;
  PtSslNet     net;
  PtLinear     head;
  float        confusion[16];
  float        amb_index[N_AMBIGUOUS];
  float        amb_rotation[N_AMBIGUOUS];
  float        amb_entropy[N_AMBIGUOUS];
  int          n_amb;
} PtRotnet;

static gboolean
rotnet_init (PtSslMethod *m,
             GError     **error)
{
  PtRotnet *self = (PtRotnet *) m;
  PtRng rng;

  if (m->config.height != m->config.width)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_UNSUPPORTED,
                   _("RotNet needs square images, not %d x %d"),
                   m->config.height, m->config.width);
      return FALSE;
    }
  pt_ssl_net_init_encoder (&self->net, &m->config);
  m->net = &self->net;
  pt_linear_init (&self->head, self->net.params, "head", pt_cnn_get_out_dim (&self->net.cnn),
                  4, TRUE);
  pt_rng_init (&rng, m->config.seed);
  pt_ssl_net_finish (&self->net, &rng, 0, (float) m->p[P_WEIGHT_DECAY]);
  pt_linear_reset (&self->head, self->net.params, &rng);
  return TRUE;
}

static void
rotnet_finalize (PtSslMethod *m)
{
  pt_ssl_net_clear (&((PtRotnet *) m)->net);
}

static int
rotnet_get_views (PtSslMethod    *m,
                  PtSslViewShape *shapes)
{
  shapes[0] = (PtSslViewShape) { m->config.channels, m->config.height, m->config.width };
  return 1;
}

static gboolean
rotnet_step (PtSslMethod      *m,
             const PtSslBatch *batch,
             PtSslResult      *result,
             GError          **error)
{
  PtRotnet *self = (PtRotnet *) m;
  PtSslNet *net = &self->net;
  int B = batch->batch_size, C = batch->shape[0].channels, S = batch->shape[0].height;
  gsize per = (gsize) C * S * S;
  PtSslViewShape shape = batch->shape[0];
  PtTensor *x, *h, *logits, *loss;
  g_autofree int *targets = g_new (int, 4 * B);
  g_autofree float *dlogits = g_new (float, 4 * B * 4);
  float lr, value;
  int correct = 0;

  g_return_val_if_fail (shape.height == shape.width, FALSE);
  pt_ssl_net_begin_step (net);
  /* rows r * B + b: image b rotated by r quarter turns */
  x = pt_tensor_new_4d (pt_tape_get_arena (net->tape), 4 * B, C, S, S);
  for (int r = 0; r < 4; r++)
    for (int b = 0; b < B; b++)
      {
        pt_rotate90 (x->data + ((gsize) r * B + b) * per, batch->views[0] + b * per, C, S, r);
        targets[r * B + b] = r;
      }
  h = pt_cnn_apply (net->tape, net->params, &net->cnn, x);
  logits = pt_linear_apply (net->tape, net->params, &self->head, h);
  value = pt_weighted_cross_entropy_forward (dlogits, logits->data, targets, NULL, 4 * B, 4);
  loss = pt_op_precomputed_loss (net->tape, logits, value, dlogits);

  lr = pt_ssl_lr (m->p[P_BASE_LR], B, (guint64) m->p[P_WARMUP], (guint64) m->p[P_TOTAL], m->step);
  pt_ssl_net_end_step (net, loss, lr, result);
  pt_ssl_result_add_part (result, "rotation_ce", value);
  if (!result->grad_finite)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_FAILED,
                   _("RotNet: the loss or a gradient is not finite at step %llu"),
                   (unsigned long long) m->step);
      return FALSE;
    }

  /* confusion matrix and the most ambiguous rotated images */
  memset (self->confusion, 0, sizeof self->confusion);
  self->n_amb = 0;
  for (int i = 0; i < 4 * B; i++)
    {
      const float *l = logits->data + i * 4;
      double mx = MAX (MAX (l[0], l[1]), MAX (l[2], l[3])), z = 0.0, ent = 0.0, p[4];
      int arg = 0, pos;

      for (int k = 0; k < 4; k++)
        {
          p[k] = exp (l[k] - mx);
          z += p[k];
          if (l[k] > l[arg])
            arg = k;
        }
      for (int k = 0; k < 4; k++)
        {
          p[k] /= z;
          if (p[k] > 0)
            ent -= p[k] * log (p[k]);
        }
      self->confusion[targets[i] * 4 + arg] += 1.0f;
      correct += arg == targets[i];
      /* insertion into the top list, highest entropy first */
      pos = self->n_amb;
      while (pos > 0 && self->amb_entropy[pos - 1] < ent)
        pos--;
      if (pos < N_AMBIGUOUS)
        {
          int last = MIN (self->n_amb, N_AMBIGUOUS - 1);

          for (int j = last; j > pos; j--)
            {
              self->amb_entropy[j] = self->amb_entropy[j - 1];
              self->amb_index[j] = self->amb_index[j - 1];
              self->amb_rotation[j] = self->amb_rotation[j - 1];
            }
          self->amb_entropy[pos] = (float) ent;
          self->amb_index[pos] = batch->indices != NULL ? (float) batch->indices[i % B] : (float) (i % B);
          self->amb_rotation[pos] = (float) (90 * (i / B));
          self->n_amb = MIN (self->n_amb + 1, N_AMBIGUOUS);
        }
    }
  pt_ssl_result_add_stat (result, "rotation_accuracy", (double) correct / (4 * B));
  pt_ssl_add_health (result, h->data, 4 * B, pt_cnn_get_out_dim (&net->cnn));
  m->step++;
  return TRUE;
}

static int
rotnet_get_feature_dim (PtSslMethod *m,
                        gboolean     projector)
{
  return projector ? 0 : pt_cnn_get_out_dim (&((PtRotnet *) m)->net.cnn);
}

static void
rotnet_embed (PtSslMethod *m,
              const float *images,
              int          n,
              float       *features,
              gboolean     projector)
{
  PtRotnet *self = (PtRotnet *) m;
  PtSslViewShape shape = { m->config.channels, m->config.height, m->config.width };

  pt_ssl_net_embed (&self->net, NULL, images, n, &shape, features);
}

static void
rotnet_visuals (PtSslMethod     *m,
                PtSslVisualFunc  func,
                gpointer         data)
{
  PtRotnet *self = (PtRotnet *) m;
  int shape[2] = { 4, 4 };

  func ("confusion", PT_SSL_VISUAL_MATRIX, 2, shape, self->confusion, data);
  if (self->n_amb > 0)
    {
      func ("ambiguous_index", PT_SSL_VISUAL_VECTOR, 1, &self->n_amb, self->amb_index, data);
      func ("ambiguous_rotation", PT_SSL_VISUAL_VECTOR, 1, &self->n_amb, self->amb_rotation, data);
      func ("ambiguous_entropy", PT_SSL_VISUAL_VECTOR, 1, &self->n_amb, self->amb_entropy, data);
    }
}

static void
rotnet_list_state (PtSslMethod    *m,
                   PtSslStateFunc  func,
                   gpointer        data)
{
  pt_ssl_net_list_state (&((PtRotnet *) m)->net, "", func, data);
  func ("step", TRUE, 1, &m->step, data);
}

const PtSslMethodClass pt_method_rotnet_class = {
  .name = "rotnet",
  .title = "RotNet",
  .description = N_("Predict which of four quarter turns was applied to an image"),
  .recipe = "rotnet",   /* one view, mild crop + flip, no rotation: the step rotates */
  .params = rotnet_params,
  .instance_size = sizeof (PtRotnet),
  .init = rotnet_init,
  .finalize = rotnet_finalize,
  .get_views = rotnet_get_views,
  .step = rotnet_step,
  .get_feature_dim = rotnet_get_feature_dim,
  .embed = rotnet_embed,
  .visuals = rotnet_visuals,
  .list_state = rotnet_list_state,
};
