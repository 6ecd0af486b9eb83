/* pt-supervised.c: the supervised-from-scratch baseline (see the header). */
#include "pt-build-config.h"

#include <math.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-loader-source.h"
#include "pt-run.h"
#include "pt-ssl.h"
#include "pt-supervised.h"

#define EVAL_CHUNK 256

G_DEFINE_QUARK (pt-supervised-error-quark, pt_supervised_error)

void
pt_supervised_options_init (PtSupervisedOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->n_steps = 0;
  options->batch = 128;
  options->lr = 0.1;
  options->weight_decay = 5e-4;
  options->augment = TRUE;
  options->seed = 0;
}

int
pt_supervised_auto_steps (int n_subset,
                          int batch)
{
  gint64 steps;

  g_return_val_if_fail (n_subset > 0 && batch > 0, PT_SUPERVISED_MIN_STEPS);

  batch = MIN (batch, n_subset);
  steps = ((gint64) PT_SUPERVISED_EPOCHS * n_subset + batch - 1) / batch;
  return (int) CLAMP (steps, PT_SUPERVISED_MIN_STEPS, PT_SUPERVISED_MAX_STEPS);
}

void
pt_supervised_result_free (PtSupervisedResult *result)
{
  if (result == NULL)
    return;
  g_free (result->train_features);
  g_free (result->test_features);
  g_free (result->pred);
  g_clear_pointer (&result->report, pt_class_report_free);
  g_free (result);
}

/* What the baseline needs from the run's config.ini. */
typedef struct {
  PtSslConfig     config;
  PtNormalization norm;
} RunShape;

static int
config_int (GKeyFile   *config,
            const char *key)
{
  g_autoptr(GError) local = NULL;
  int v = g_key_file_get_integer (config, "run", key, &local);

  return local != NULL ? 0 : v;
}

static gboolean
read_run (RunShape    *shape,
          const char  *run_dir,
          GError     **error)
{
  g_autoptr(PtRun) run = pt_run_open (run_dir, error);
  g_autofree char *method = NULL;
  g_autofree char *encoder = NULL;
  GKeyFile *config;

  if (run == NULL)
    return FALSE;
  config = pt_run_get_config (run);
  method = g_key_file_get_string (config, "run", "method", NULL);
  encoder = g_key_file_get_string (config, "run", "encoder", NULL);
  /* An empty encoder is the method's default: cnn for all but MAE. */
  if ((encoder != NULL && *encoder != '\0' && strcmp (encoder, "cnn") != 0) ||
      ((encoder == NULL || *encoder == '\0') && g_strcmp0 (method, "mae") == 0))
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_UNSUPPORTED,
                   _("The supervised baseline needs a cnn encoder, but the run in “%s” uses “%s”."),
                   run_dir, encoder != NULL && *encoder != '\0' ? encoder : "vit");
      return FALSE;
    }
  memset (shape, 0, sizeof *shape);
  shape->config.channels = config_int (config, "channels");
  shape->config.height = config_int (config, "height");
  shape->config.width = config_int (config, "width");
  shape->config.encoder_width = config_int (config, "encoder_width");
  if (shape->config.channels <= 0 || shape->config.height <= 0 || shape->config.width <= 0 ||
      shape->config.encoder_width < 0)
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                   _("The configuration of the run in “%s” lacks the image shape or the encoder width."),
                   run_dir);
      return FALSE;
    }
  if (!pt_normalization_load (&shape->norm, config, "run", error))
    return FALSE;
  return TRUE;
}

static gboolean
check_dataset (PtDataset       *data,
               const RunShape  *shape,
               const char      *run_dir,
               GError         **error)
{
  if (pt_dataset_get_channels (data) != shape->config.channels ||
      pt_dataset_get_height (data) != shape->config.height ||
      pt_dataset_get_width (data) != shape->config.width)
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                   _("The images of “%s” are %dx%dx%d but the run in “%s” trained on %dx%dx%d."),
                   pt_dataset_get_title (data), pt_dataset_get_channels (data),
                   pt_dataset_get_height (data), pt_dataset_get_width (data), run_dir,
                   shape->config.channels, shape->config.height, shape->config.width);
      return FALSE;
    }
  return TRUE;
}

/* One normalized image into out[C][H][W]; with rng, shifted by (dy, dx)
 * in [-pad, pad] (black border) and flipped left-right with probability
 * 1/2. */
static void
load_image (float                 *out,
            PtDataset             *data,
            guint                  index,
            const PtNormalization *norm,
            PtRng                 *rng,
            int                    pad)
{
  int C = pt_dataset_get_channels (data), H = pt_dataset_get_height (data);
  int W = pt_dataset_get_width (data);
  const guint8 *img = pt_dataset_get_image (data, index);
  int dy = 0, dx = 0;
  gboolean flip = FALSE;

  if (rng != NULL)
    {
      dy = (int) pt_rng_below (rng, 2 * pad + 1) - pad;
      dx = (int) pt_rng_below (rng, 2 * pad + 1) - pad;
      flip = pt_rng_below (rng, 2) == 1;
    }
  for (int c = 0; c < C; c++)
    {
      float m = norm->mean[MIN (c, 2)], s = 1.0f / norm->std[MIN (c, 2)];
      float black = -m * s;
      const guint8 *p = img + (gsize) c * H * W;
      float *o = out + (gsize) c * H * W;

      for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
          {
            int sy = y + dy, sx = (flip ? W - 1 - x : x) + dx;

            o[y * W + x] = sy >= 0 && sy < H && sx >= 0 && sx < W
                           ? (p[sy * W + sx] / 255.0f - m) * s : black;
          }
    }
}

/* Backbone features of every image of data in eval mode: [n][dim]. */
static float *
embed_all (PtSslNet               *net,
           PtDataset              *data,
           const PtNormalization  *norm,
           GCancellable           *cancellable,
           GError                **error)
{
  guint n = pt_dataset_get_n_images (data);
  int dim = pt_cnn_get_out_dim (&net->cnn);
  gsize per = pt_dataset_get_image_size (data);
  PtSslViewShape shape = { pt_dataset_get_channels (data), pt_dataset_get_height (data),
                           pt_dataset_get_width (data) };
  g_autofree float *images = g_new (float, (gsize) EVAL_CHUNK * per);
  g_autofree float *features = g_new (float, (gsize) MAX (n, 1) * dim);

  for (guint first = 0; first < n; first += EVAL_CHUNK)
    {
      guint count = MIN (EVAL_CHUNK, n - first);

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return NULL;
      for (guint i = 0; i < count; i++)
        load_image (images + i * per, data, first + i, norm, NULL, 0);
      pt_ssl_net_embed (net, NULL, images, (int) count, &shape, features + (gsize) first * dim);
    }
  return g_steal_pointer (&features);
}

PtSupervisedResult *
pt_supervised_run (const char                *run_dir,
                   PtDataset                 *train,
                   const int                 *subset,
                   int                        n_subset,
                   PtDataset                 *test,
                   const PtSupervisedOptions *options,
                   GCancellable              *cancellable,
                   GError                   **error)
{
  PtSupervisedOptions defaults;
  g_autoptr(PtSupervisedResult) result = NULL;
  g_autofree int *labels = NULL;
  g_autofree int *order = NULL;
  g_autofree int *targets = NULL;
  g_autofree float *dlogits = NULL;
  g_autofree int *test_truth = NULL;
  RunShape shape;
  PtSslNet net = { 0 };
  PtLinear head;
  PtRng rng;
  PtSslViewShape view;
  guint n_train, n_test;
  int K, B, n_steps, dim, pos, warmup, pad;
  gsize per;
  double last_loss = NAN;
  gboolean ok = FALSE;

  g_return_val_if_fail (run_dir != NULL, NULL);
  g_return_val_if_fail (PT_IS_DATASET (train) && PT_IS_DATASET (test), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    {
      pt_supervised_options_init (&defaults);
      options = &defaults;
    }
  if (options->batch <= 0 || options->n_steps < 0 || !(options->lr > 0.0) ||
      !(options->weight_decay >= 0.0))
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                   _("The supervised baseline needs a positive batch size and learning rate, "
                     "and a non-negative step count and weight decay."));
      return NULL;
    }
  if (!read_run (&shape, run_dir, error) ||
      !check_dataset (train, &shape, run_dir, error) ||
      !check_dataset (test, &shape, run_dir, error))
    return NULL;

  n_train = pt_dataset_get_n_images (train);
  n_test = pt_dataset_get_n_images (test);
  K = pt_dataset_get_n_classes (train);
  if (K <= 0)
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                   _("The dataset “%s” has no labels: the supervised baseline needs them."),
                   pt_dataset_get_title (train));
      return NULL;
    }
  if (subset == NULL || n_subset <= 0)
    {
      g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                   _("The labeled subset of “%s” is empty."), pt_dataset_get_title (train));
      return NULL;
    }
  labels = g_new (int, n_subset);
  for (int i = 0; i < n_subset; i++)
    {
      if (subset[i] < 0 || (guint) subset[i] >= n_train)
        {
          g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                       _("Labeled subset item %d is image %d, but “%s” has %u images."),
                       i, subset[i], pt_dataset_get_title (train), n_train);
          return NULL;
        }
      labels[i] = pt_dataset_get_label (train, (guint) subset[i]);
      if (labels[i] < 0 || labels[i] >= K)
        {
          g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_INVALID,
                       _("Image %d of “%s” has no label in [0, %d): the labeled subset "
                         "must hold labeled images only."),
                       subset[i], pt_dataset_get_title (train), K);
          return NULL;
        }
    }

  B = MIN (options->batch, n_subset);
  n_steps = options->n_steps > 0 ? options->n_steps : pt_supervised_auto_steps (n_subset, B);
  warmup = MAX (1, n_steps / 20);
  pad = MAX (1, shape.config.height / 8);
  per = pt_dataset_get_image_size (train);
  view = (PtSslViewShape) { shape.config.channels, shape.config.height, shape.config.width };

  /* encoder + linear head, initialized from the seed */
  shape.config.seed = options->seed;
  pt_ssl_net_init_encoder (&net, &shape.config);
  dim = pt_cnn_get_out_dim (&net.cnn);
  pt_linear_init (&head, net.params, "head", dim, K, TRUE);
  pt_rng_init (&rng, options->seed);
  pt_ssl_net_finish (&net, &rng, 0, (float) options->weight_decay);
  pt_linear_reset (&head, net.params, &rng);

  /* batch order: a seeded permutation of the subset per pass */
  pt_rng_init_keyed (&rng, options->seed, 0x5eed0bde, 0);
  order = g_new (int, n_subset);
  for (int i = 0; i < n_subset; i++)
    order[i] = i;
  pos = n_subset;
  targets = g_new (int, B);
  dlogits = g_new (float, (gsize) B * K);

  result = g_new0 (PtSupervisedResult, 1);
  result->n_classes = K;
  for (int step = 0; step < n_steps; step++)
    {
      PtTensor *x, *h, *logits, *loss;
      PtSslResult sr = { 0 };
      float lr, value;

      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        goto out;
      pt_ssl_net_begin_step (&net);
      x = pt_tensor_new_4d (pt_tape_get_arena (net.tape), B, view.channels, view.height,
                            view.width);
      for (int b = 0; b < B; b++)
        {
          PtRng arng;
          int j;

          if (pos == n_subset)
            {
              /* Fisher-Yates */
              for (int i = n_subset - 1; i > 0; i--)
                {
                  int r = (int) pt_rng_below (&rng, (guint32) i + 1), t = order[i];

                  order[i] = order[r];
                  order[r] = t;
                }
              pos = 0;
            }
          j = order[pos++];
          targets[b] = labels[j];
          pt_rng_init_keyed (&arng, options->seed, (guint64) step, (guint64) b);
          load_image (x->data + (gsize) b * per, train, (guint) subset[j], &shape.norm,
                      options->augment ? &arng : NULL, pad);
        }
      h = pt_cnn_apply (net.tape, net.params, &net.cnn, x);
      logits = pt_linear_apply (net.tape, net.params, &head, h);
      value = pt_weighted_cross_entropy_forward (dlogits, logits->data, targets, NULL, B, K);
      loss = pt_op_precomputed_loss (net.tape, logits, value, dlogits);
      lr = pt_schedule_warmup_cosine ((float) options->lr, 0.0f, (guint64) warmup,
                                      (guint64) n_steps, (guint64) step);
      pt_ssl_net_end_step (&net, loss, lr, &sr);
      if (!sr.grad_finite)
        {
          g_set_error (error, PT_SUPERVISED_ERROR, PT_SUPERVISED_ERROR_FAILED,
                       _("The supervised baseline diverged at step %d (the loss or a gradient "
                         "is not finite): try a lower learning rate than %g."),
                       step + 1, options->lr);
          goto out;
        }
      last_loss = value;
      result->n_steps = step + 1;
      if (options->progress != NULL &&
          !options->progress (step + 1, n_steps, value, options->progress_data))
        break;
    }
  pt_tape_reset (net.tape);

  /* evaluation: eval-mode features of both splits, then the head */
  result->dim = dim;
  result->final_loss = last_loss;
  result->n_train = (int) n_train;
  result->n_test = (int) n_test;
  result->train_features = embed_all (&net, train, &shape.norm, cancellable, error);
  if (result->train_features == NULL)
    goto out;
  result->test_features = embed_all (&net, test, &shape.norm, cancellable, error);
  if (result->test_features == NULL)
    goto out;
  result->pred = g_new (int, MAX (n_test, 1));
  {
    const float *w = pt_params_data (net.params, head.weight);   /* {K, dim} */
    const float *bias = pt_params_data (net.params, head.bias);

    for (guint i = 0; i < n_test; i++)
      {
        const float *f = result->test_features + (gsize) i * dim;
        double best = -INFINITY;
        int arg = 0;

        for (int k = 0; k < K; k++)
          {
            double z = bias[k];

            for (int d = 0; d < dim; d++)
              z += (double) w[(gsize) k * dim + d] * f[d];
            if (z > best)
              {
                best = z;
                arg = k;
              }
          }
        result->pred[i] = arg;
      }
  }
  test_truth = g_new (int, MAX (n_test, 1));
  for (guint i = 0; i < n_test; i++)
    {
      int y = pt_dataset_get_label (test, i);

      test_truth[i] = y < K ? y : -1;
    }
  result->report = pt_class_report_new (test_truth, result->pred, (int) n_test, K);
  ok = TRUE;

out:
  pt_ssl_net_clear (&net);
  return ok ? g_steal_pointer (&result) : NULL;
}
