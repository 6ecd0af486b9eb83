/* pt-ssl.c: the pieces the self-supervised methods share (see pt-ssl.h). */
#include "pt-build-config.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

#include <glib/gi18n.h>

#include "pt-parallel.h"
#include "pt-ssl.h"

G_DEFINE_QUARK (pt-ssl-error-quark, pt_ssl_error)

/* LAPACK (reference Fortran ABI; OpenBLAS ships it, there is no lapacke.h):
 * symmetric eigenvalues, divide and conquer. The trailing size_t are the
 * hidden lengths of the two character arguments. */
extern void ssyevd_ (const char *jobz, const char *uplo, const int *n, float *a,
                     const int *lda, float *w, float *work, const int *lwork,
                     int *iwork, const int *liwork, int *info,
                     size_t jobz_len, size_t uplo_len);

/* ---- method interface ---------------------------------------------------- */

const PtSslMethodClass **
pt_ssl_method_list (void)
{
  static const PtSslMethodClass *classes[] = {
    &pt_method_simclr_class,
    &pt_method_moco_class,
    &pt_method_swav_class,
    &pt_method_deepcluster_class,
    &pt_method_rotnet_class,
    NULL,
  };
  return classes;
}

const PtSslMethodClass *
pt_ssl_method_lookup (const char *name)
{
  const PtSslMethodClass **list = pt_ssl_method_list ();

  for (int i = 0; list[i] != NULL; i++)
    if (g_strcmp0 (list[i]->name, name) == 0)
      return list[i];
  return NULL;
}

int
pt_ssl_method_find_param (const PtSslMethodClass *klass,
                          const char             *name)
{
  for (int i = 0; klass->params[i].name != NULL; i++)
    if (strcmp (klass->params[i].name, name) == 0)
      return i;
  return -1;
}

static gboolean
check_param (const PtSslMethodClass *klass,
             const char             *name,
             double                  value,
             int                    *index,
             GError                **error)
{
  int i = pt_ssl_method_find_param (klass, name);
  const PtSslParam *p;

  if (i < 0)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM,
                   _("Method “%s” has no parameter “%s”"), klass->name, name);
      return FALSE;
    }
  p = &klass->params[i];
  if (!isfinite (value) || value < p->min_value || value > p->max_value ||
      (p->integer && value != floor (value)))
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM,
                   _("Parameter “%s” of method “%s” must be %s between %g and %g, not %g"),
                   name, klass->name, p->integer ? _("a whole number") : _("a number"),
                   p->min_value, p->max_value, value);
      return FALSE;
    }
  *index = i;
  return TRUE;
}

static PtSslMethod *
method_new (const PtSslMethodClass *klass,
            const PtSslConfig      *config,
            const double           *values,
            GError                **error)
{
  g_autoptr(PtSslMethod) self = NULL;
  int n = 0;

  g_return_val_if_fail (klass != NULL && config != NULL, NULL);

  while (klass->params[n].name != NULL)
    n++;
  for (int i = 0; i < n; i++)
    {
      int index;

      if (!check_param (klass, klass->params[i].name, values[i], &index, error))
        return NULL;
    }
  if (config->channels < 1 || config->height < 8 || config->width < 8 ||
      config->batch_size < 2)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_UNSUPPORTED,
                   _("Method “%s” needs images of at least 8 x 8 pixels and batches of at least 2, not %d x %d x %d in batches of %d"),
                   klass->name, config->channels, config->height, config->width,
                   config->batch_size);
      return NULL;
    }

  self = g_malloc0 (klass->instance_size);
  self->config = *config;
  if (self->config.encoder_width <= 0)
    self->config.encoder_width = 16;
  self->p = g_new0 (double, MAX (n, 1));
  memcpy (self->p, values, n * sizeof (double));
  self->klass = klass;
  /* init leaves a state finalize can clear, even when it fails */
  if (!klass->init (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

PtSslMethod *
pt_ssl_method_new_with_values (const PtSslMethodClass *klass,
                               const PtSslConfig      *config,
                               const double           *values,
                               GError                **error)
{
  return method_new (klass, config, values, error);
}

PtSslMethod *
pt_ssl_method_new (const PtSslMethodClass *klass,
                   const PtSslConfig      *config,
                   GError                **error,
                   ...)
{
  g_autofree double *values = NULL;
  const char *name;
  va_list ap;
  int n = 0;

  g_return_val_if_fail (klass != NULL && config != NULL, NULL);

  while (klass->params[n].name != NULL)
    n++;
  values = g_new0 (double, MAX (n, 1));
  for (int i = 0; i < n; i++)
    values[i] = klass->params[i].default_value;
  va_start (ap, error);
  while ((name = va_arg (ap, const char *)) != NULL)
    {
      double value = va_arg (ap, double);
      int i;

      if (!check_param (klass, name, value, &i, error))
        {
          va_end (ap);
          return NULL;
        }
      values[i] = value;
    }
  va_end (ap);
  return method_new (klass, config, values, error);
}

void
pt_ssl_method_state_loaded (PtSslMethod *self)
{
  if (self->net != NULL && self->net->optim != NULL)
    pt_optim_set_step (self->net->optim, self->net->optim_step);
  if (self->klass->state_loaded != NULL)
    self->klass->state_loaded (self);
}

char *
pt_ssl_method_dup_architecture (PtSslMethod *self)
{
  GString *s = g_string_new (NULL);

  g_string_append_printf (s, "%s cnn w%d %dx%dx%d", self->klass->name,
                          self->config.encoder_width, self->config.channels,
                          self->config.height, self->config.width);
  for (int i = 0; self->klass->params[i].name != NULL; i++)
    if (!self->klass->params[i].live && self->klass->params[i].integer)
      g_string_append_printf (s, " %s=%.0f", self->klass->params[i].name, self->p[i]);
  return g_string_free (s, FALSE);
}

void
pt_ssl_method_free (PtSslMethod *self)
{
  if (self == NULL)
    return;
  if (self->klass != NULL)
    self->klass->finalize (self);
  g_free (self->p);
  g_free (self);
}

gboolean
pt_ssl_method_set_param (PtSslMethod *self,
                         const char  *name,
                         double       value,
                         GError     **error)
{
  int i;

  if (!check_param (self->klass, name, value, &i, error))
    return FALSE;
  if (!self->klass->params[i].live && self->p[i] != value)
    {
      g_set_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM,
                   _("Parameter “%s” of method “%s” is fixed when the method is created"),
                   name, self->klass->name);
      return FALSE;
    }
  self->p[i] = value;
  return TRUE;
}

double
pt_ssl_method_get_param (PtSslMethod *self,
                         const char  *name)
{
  int i = pt_ssl_method_find_param (self->klass, name);

  g_return_val_if_fail (i >= 0, NAN);
  return self->p[i];
}

void
pt_ssl_result_add_part (PtSslResult *result,
                        const char  *name,
                        double       value)
{
  g_return_if_fail (result->n_parts < PT_SSL_MAX_PARTS);
  result->parts[result->n_parts].name = name;
  result->parts[result->n_parts++].value = value;
}

void
pt_ssl_result_add_stat (PtSslResult *result,
                        const char  *name,
                        double       value)
{
  g_return_if_fail (result->n_stats < PT_SSL_MAX_STATS);
  result->stats[result->n_stats].name = name;
  result->stats[result->n_stats++].value = value;
}

/* ---- net ------------------------------------------------------------------ */

void
pt_ssl_net_init_encoder (PtSslNet          *net,
                         const PtSslConfig *config)
{
  memset (net, 0, sizeof *net);
  net->params = pt_params_new ();
  pt_cnn_init (&net->cnn, net->params, "encoder", config->channels,
               config->encoder_width > 0 ? config->encoder_width : 16);
}

void
pt_ssl_net_finish (PtSslNet *net,
                   PtRng    *rng,
                   int       optim_kind,
                   float     weight_decay)
{
  PtOptimConfig oc;
  static const PtOptimKind kinds[] = { PT_OPTIM_SGD, PT_OPTIM_LARS, PT_OPTIM_ADAMW };

  pt_params_finalize (net->params);
  pt_cnn_reset (&net->cnn, net->params, rng);
  net->tape = pt_tape_new (0);
  pt_optim_config_init (&oc, kinds[CLAMP (optim_kind, 0, 2)]);
  oc.weight_decay = weight_decay;
  oc.decay_all = FALSE;   /* no decay on batchnorm and biases */
  net->optim = pt_optim_new (net->params, &oc);
}

void
pt_ssl_net_clear (PtSslNet *net)
{
  g_clear_pointer (&net->optim, pt_optim_free);
  g_clear_pointer (&net->tape, pt_tape_free);
  g_clear_pointer (&net->params, pt_params_free);
}

PtTensor *
pt_ssl_net_input (PtSslNet             *net,
                  const float          *images,
                  int                   n,
                  const PtSslViewShape *shape)
{
  PtTensor *x = pt_tensor_new_4d (pt_tape_get_arena (net->tape), n, shape->channels,
                                  shape->height, shape->width);

  memcpy (x->data, images, x->numel * sizeof (float));
  return x;
}

float
pt_ssl_lr (double  base_lr,
           int     batch_size,
           guint64 warmup,
           guint64 total,
           guint64 step)
{
  float lr = (float) (base_lr * batch_size / 256.0);

  if (total == 0)
    return step < warmup ? lr * (step + 1) / warmup : lr;
  return pt_schedule_warmup_cosine (lr, 0.0f, warmup, total, step);
}

gboolean
pt_ssl_net_grad_finite (PtSslNet *net)
{
  const float *g = pt_params_get_grad (net->params);
  gsize n = pt_params_get_n_floats (net->params);
  float acc = 0.0f;

  for (gsize i = 0; i < n; i++)
    acc += g[i] * 0.0f;   /* NaN or Inf poisons the sum */
  return acc == 0.0f;
}

void
pt_ssl_net_embed (PtSslNet             *net,
                  const PtMlpHead      *head,
                  const float          *images,
                  int                   n,
                  const PtSslViewShape *shape,
                  float                *features)
{
  int dim = head != NULL ? head->fc2.out : pt_cnn_get_out_dim (&net->cnn);
  gsize per = (gsize) shape->channels * shape->height * shape->width;
  gboolean was_training = pt_tape_get_training (net->tape);
  gboolean was_grad = pt_tape_get_grad_enabled (net->tape);

  pt_tape_set_training (net->tape, FALSE);
  pt_tape_set_grad_enabled (net->tape, FALSE);
  for (int b = 0; b < n; b += 256)
    {
      int m = MIN (256, n - b);
      PtTensor *f;

      pt_tape_reset (net->tape);
      f = pt_cnn_apply (net->tape, net->params, &net->cnn,
                        pt_ssl_net_input (net, images + b * per, m, shape));
      if (head != NULL)
        f = pt_mlp_head_apply (net->tape, net->params, head, f);
      memcpy (features + (gsize) b * dim, f->data, (gsize) m * dim * sizeof (float));
    }
  pt_tape_reset (net->tape);
  pt_tape_set_training (net->tape, was_training);
  pt_tape_set_grad_enabled (net->tape, was_grad);
}

void
pt_ssl_net_begin_step (PtSslNet *net)
{
  pt_tape_reset (net->tape);
  pt_tape_set_training (net->tape, TRUE);
  pt_tape_set_grad_enabled (net->tape, TRUE);
  pt_params_zero_grad (net->params);
}

void
pt_ssl_net_backward (PtSslNet    *net,
                     PtTensor    *loss,
                     PtSslResult *result)
{
  result->loss = loss->data[0];
  pt_tape_backward (net->tape, loss);
  result->grad_finite = isfinite (loss->data[0]) && pt_ssl_net_grad_finite (net);
}

void
pt_ssl_net_update (PtSslNet    *net,
                   float        lr,
                   PtSslResult *result)
{
  if (result->grad_finite)
    pt_optim_step (net->optim, lr);
  pt_ssl_result_add_stat (result, "lr", lr);
}

void
pt_ssl_net_end_step (PtSslNet    *net,
                     PtTensor    *loss,
                     float        lr,
                     PtSslResult *result)
{
  pt_ssl_net_backward (net, loss, result);
  pt_ssl_net_update (net, lr, result);
}

void
pt_ssl_net_list_state (PtSslNet       *net,
                       const char     *prefix,
                       PtSslStateFunc  func,
                       gpointer        data)
{
  static const char *slot_names[2] = { "optim.slot0", "optim.slot1" };
  g_autofree char *pname = g_strconcat (prefix, "params", NULL);
  g_autofree char *cname = g_strconcat (prefix, "optim.step", NULL);

  func (g_intern_string (pname), FALSE, pt_params_get_n_floats (net->params),
        pt_params_get_data (net->params), data);
  for (int s = 0; s < pt_optim_get_n_slots (net->optim); s++)
    {
      g_autofree char *sname = g_strconcat (prefix, slot_names[s], NULL);

      func (g_intern_string (sname), FALSE, pt_params_get_n_floats (net->params),
            pt_optim_get_slot (net->optim, s), data);
    }
  /* after a load, the owner hands optim_step back with pt_optim_set_step */
  net->optim_step = pt_optim_get_step (net->optim);
  func (g_intern_string (cname), TRUE, 1, &net->optim_step, data);
}

/* ---- health -------------------------------------------------------------- */

static void
normalize_rows (double *out, const float *z, int N, int D)
{
  for (int i = 0; i < N; i++)
    {
      double s = 0.0;

      for (int d = 0; d < D; d++)
        s += (double) z[(gsize) i * D + d] * z[(gsize) i * D + d];
      s = 1.0 / MAX (sqrt (s), 1e-12);
      for (int d = 0; d < D; d++)
        out[(gsize) i * D + d] = z[(gsize) i * D + d] * s;
    }
}

double
pt_ssl_embedding_std (const float *z,
                      int          N,
                      int          D)
{
  g_autofree double *zn = g_new (double, (gsize) N * D);
  double total = 0.0;

  g_return_val_if_fail (N >= 2 && D >= 1, 0.0);
  normalize_rows (zn, z, N, D);
  for (int d = 0; d < D; d++)
    {
      double mean = 0.0, var = 0.0;

      for (int i = 0; i < N; i++)
        mean += zn[(gsize) i * D + d];
      mean /= N;
      for (int i = 0; i < N; i++)
        var += (zn[(gsize) i * D + d] - mean) * (zn[(gsize) i * D + d] - mean);
      total += sqrt (var / (N - 1));
    }
  return total / D;
}

double
pt_ssl_effective_rank (const float *z,
                       int          N,
                       int          D)
{
  g_autofree float *cov = g_new0 (float, (gsize) D * D);
  g_autofree float *zc = g_new (float, (gsize) N * D);
  g_autofree float *w = g_new (float, D);
  int lwork = 2 * D + 1, liwork = 1, info = 0, iwork[1];
  g_autofree float *work = g_new (float, lwork);
  double sum = 0.0, h = 0.0;

  g_return_val_if_fail (N >= 1 && D >= 1, 0.0);
  for (int d = 0; d < D; d++)
    {
      double mean = 0.0;

      for (int i = 0; i < N; i++)
        mean += z[(gsize) i * D + d];
      mean /= N;
      for (int i = 0; i < N; i++)
        zc[(gsize) i * D + d] = (float) (z[(gsize) i * D + d] - mean);
    }
  /* cov = zc^T zc / N (symmetric, so row/column order does not matter) */
  pt_sgemm (TRUE, FALSE, D, D, N, 1.0f / N, zc, D, zc, D, 0.0f, cov, D);
  ssyevd_ ("N", "U", &D, cov, &D, w, work, &lwork, iwork, &liwork, &info, 1, 1);
  if (info != 0)
    return NAN;
  /* eigenvalues below 1e-6 of the largest are float round-off of zero
   * (their square roots would still add a little entropy) */
  for (int d = 0; d < D; d++)
    {
      w[d] = w[d] > 1e-6f * w[D - 1] ? sqrtf (w[d]) : 0.0f;   /* singular values / sqrt (N) */
      sum += w[d];
    }
  if (sum <= 0.0)
    return 1.0;
  for (int d = 0; d < D; d++)
    if (w[d] > 0.0f)
      {
        double p = w[d] / sum;
        h -= p * log (p);
      }
  return exp (h);
}

void
pt_ssl_add_health (PtSslResult *result,
                   const float *z,
                   int          N,
                   int          D)
{
  pt_ssl_result_add_stat (result, "embed_std", pt_ssl_embedding_std (z, N, D));
  pt_ssl_result_add_stat (result, "effective_rank", pt_ssl_effective_rank (z, N, D));
}

/* ---- generic loss op ------------------------------------------------------- */

static void
precomputed_loss_backward (PtTapeNode *node)
{
  PtTensor *x = node->in[0];
  const float *g = node->ctx;
  float *dx = pt_tensor_ensure_grad (x);
  float s = node->out->grad[0];

  for (gsize i = 0; i < x->numel; i++)
    dx[i] += s * g[i];
}

PtTensor *
pt_op_precomputed_loss (PtTape      *tape,
                        PtTensor    *x,
                        float        value,
                        const float *grad_x)
{
  int shape[1] = { 1 };
  PtTensor *out = pt_tensor_new (pt_tape_get_arena (tape), 1, shape);
  PtTapeNode *node;

  out->data[0] = value;
  node = pt_tape_record (tape, "precomputed_loss", precomputed_loss_backward, out, 1, &x);
  if (node != NULL)
    {
      float *g = pt_tape_alloc (tape, x->numel * sizeof (float));

      memcpy (g, grad_x, x->numel * sizeof (float));
      node->ctx = g;
    }
  return out;
}

/* ---- MoCo ------------------------------------------------------------------ */

float
pt_infonce_forward (float       *dqn,
                    float       *pos,
                    float       *neg,
                    const float *qn,
                    const float *kn,
                    const float *queue,
                    int          N,
                    int          K,
                    int          D,
                    float        t)
{
  g_autofree float *sim = g_new (float, (gsize) N * MAX (K, 1));
  g_autofree double *p = g_new (double, K + 1);
  double loss = 0.0;

  if (K > 0)
    pt_sgemm (FALSE, TRUE, N, K, D, 1.0f, qn, D, queue, D, 0.0f, sim, K);
  if (dqn != NULL)
    memset (dqn, 0, (gsize) N * D * sizeof (float));
  for (int i = 0; i < N; i++)
    {
      const float *q = qn + (gsize) i * D, *k = kn + (gsize) i * D;
      const float *s = sim + (gsize) i * K;
      double l0 = 0.0, mx, z = 0.0;

      for (int d = 0; d < D; d++)
        l0 += (double) q[d] * k[d];
      if (pos != NULL)
        pos[i] = (float) l0;
      if (neg != NULL && K > 0)
        memcpy (neg + (gsize) i * K, s, K * sizeof (float));
      p[0] = l0 / t;
      mx = p[0];
      for (int j = 0; j < K; j++)
        {
          p[j + 1] = s[j] / t;
          mx = MAX (mx, p[j + 1]);
        }
      for (int j = 0; j <= K; j++)
        {
          p[j] = exp (p[j] - mx);
          z += p[j];
        }
      for (int j = 0; j <= K; j++)
        p[j] /= z;
      loss -= log (MAX (p[0], 1e-300));
      if (dqn != NULL)
        {
          float *g = dqn + (gsize) i * D;
          float c0 = (float) ((p[0] - 1.0) / (t * N));

          for (int d = 0; d < D; d++)
            g[d] += c0 * k[d];
          for (int j = 0; j < K; j++)
            {
              float c = (float) (p[j + 1] / (t * N));
              const float *qu = queue + (gsize) j * D;

              for (int d = 0; d < D; d++)
                g[d] += c * qu[d];
            }
        }
    }
  return (float) (loss / N);
}

/* ---- SwAV ------------------------------------------------------------------ */

void
pt_sinkhorn (float       *q,
             const float *scores,
             int          B,
             int          K,
             float        eps,
             int          iters)
{
  g_autofree double *Q = g_new (double, (gsize) B * K);   /* [B][K]: Q^T */
  g_autofree double *acc = g_new (double, MAX (B, K));
  double mx = -INFINITY, total = 0.0;

  for (gsize i = 0; i < (gsize) B * K; i++)
    mx = MAX (mx, scores[i]);
  /* exp (s / eps) up to a common factor, which the first normalisation removes */
  for (gsize i = 0; i < (gsize) B * K; i++)
    {
      Q[i] = exp ((scores[i] - mx) / eps);
      total += Q[i];
    }
  for (gsize i = 0; i < (gsize) B * K; i++)
    Q[i] /= total;
  for (int it = 0; it < iters; it++)
    {
      /* each prototype (row of Q) to total mass 1/K */
      memset (acc, 0, K * sizeof (double));
      for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
          acc[k] += Q[(gsize) b * K + k];
      for (int b = 0; b < B; b++)
        for (int k = 0; k < K; k++)
          Q[(gsize) b * K + k] /= acc[k] > 0.0 ? acc[k] * K : 1.0;
      /* each sample (column of Q) to total mass 1/B */
      for (int b = 0; b < B; b++)
        {
          double s = 0.0;

          for (int k = 0; k < K; k++)
            s += Q[(gsize) b * K + k];
          for (int k = 0; k < K; k++)
            Q[(gsize) b * K + k] /= s > 0.0 ? s * B : 1.0;
        }
    }
  for (gsize i = 0; i < (gsize) B * K; i++)
    q[i] = (float) (Q[i] * B);
}

float
pt_swav_loss_forward (float       *dscores,
                      const float *scores,
                      const float *q,
                      int          V,
                      int          G,
                      int          B,
                      int          K,
                      float        t)
{
  gsize VK = (gsize) B * K;
  g_autofree float *logp = g_new (float, (gsize) V * VK);
  double loss = 0.0, c = 1.0 / ((double) G * (V - 1) * B);

  g_return_val_if_fail (V >= 2 && G >= 1 && G <= V, NAN);
  /* log softmax (scores / t) of every row of every view */
  for (gsize r = 0; r < (gsize) V * B; r++)
    {
      const float *s = scores + r * K;
      float *lp = logp + r * K;
      double mx = -INFINITY, z = 0.0, lz;

      for (int k = 0; k < K; k++)
        mx = MAX (mx, s[k] / t);
      for (int k = 0; k < K; k++)
        z += exp (s[k] / t - mx);
      lz = mx + log (z);
      for (int k = 0; k < K; k++)
        lp[k] = (float) (s[k] / t - lz);
    }
  if (dscores != NULL)
    memset (dscores, 0, (gsize) V * VK * sizeof (float));
  for (int g = 0; g < G; g++)
    for (int v = 0; v < V; v++)
      {
        const float *qg = q + g * VK, *lp = logp + v * VK;

        if (v == g)
          continue;
        for (gsize i = 0; i < VK; i++)
          loss -= c * qg[i] * lp[i];
        if (dscores != NULL)
          {
            float *ds = dscores + v * VK;

            /* d/ds of -sum_k q log softmax (s/t) = (softmax (s/t) - q) / t, q sums to 1 */
            for (gsize i = 0; i < VK; i++)
              ds[i] += (float) (c / t * (exp (lp[i]) - qg[i]));
          }
      }
  return (float) loss;
}

/* ---- DeepCluster / RotNet ------------------------------------------------- */

float
pt_weighted_cross_entropy_forward (float       *dlogits,
                                   const float *logits,
                                   const int   *targets,
                                   const float *class_weight,
                                   int          B,
                                   int          K)
{
  double loss = 0.0, wsum = 0.0;

  for (int b = 0; b < B; b++)
    wsum += class_weight != NULL ? class_weight[targets[b]] : 1.0;
  for (int b = 0; b < B; b++)
    {
      const float *l = logits + (gsize) b * K;
      int t = targets[b];
      double w = (class_weight != NULL ? class_weight[t] : 1.0) / wsum;
      double mx = -INFINITY, z = 0.0;

      g_assert (t >= 0 && t < K);
      for (int k = 0; k < K; k++)
        mx = MAX (mx, l[k]);
      for (int k = 0; k < K; k++)
        z += exp (l[k] - mx);
      loss -= w * (l[t] - mx - log (z));
      if (dlogits != NULL)
        for (int k = 0; k < K; k++)
          dlogits[(gsize) b * K + k] = (float) (w * (exp (l[k] - mx) / z - (k == t)));
    }
  return (float) loss;
}

void
pt_rotate90 (float       *out,
             const float *inp,
             int          C,
             int          S,
             int          k)
{
  k = ((k % 4) + 4) % 4;
  for (int c = 0; c < C; c++)
    {
      const float *a = inp + (gsize) c * S * S;
      float *o = out + (gsize) c * S * S;

      for (int i = 0; i < S; i++)
        for (int j = 0; j < S; j++)
          {
            int si, sj;

            switch (k)
              {
              case 0: si = i; sj = j; break;
              case 1: si = j; sj = S - 1 - i; break;
              case 2: si = S - 1 - i; sj = S - 1 - j; break;
              default: si = S - 1 - j; sj = i; break;
              }
            o[i * S + j] = a[si * S + sj];
          }
    }
}

float
pt_centroid_ce_forward (float       *dz,
                        const float *z,
                        const float *centroids,
                        const int   *targets,
                        int          H,
                        int          N,
                        int          K,
                        int          D,
                        float        t)
{
  g_autofree float *logits = g_new (float, (gsize) N * K);
  float scale = 1.0f / ((float) H * N);
  double total = 0.0;

  if (dz != NULL)
    memset (dz, 0, (gsize) N * D * sizeof (float));
  for (int h = 0; h < H; h++)
    {
      const float *C = centroids + (gsize) h * K * D;
      const int *y = targets + (gsize) h * N;

      pt_sgemm (FALSE, TRUE, N, K, D, 1.0f / t, z, D, C, D, 0.0f, logits, K);
      for (int r = 0; r < N; r++)
        {
          float *lr = logits + (gsize) r * K;
          double mx = -INFINITY, sum = 0.0;

          for (int k = 0; k < K; k++)
            mx = MAX (mx, lr[k]);
          for (int k = 0; k < K; k++)
            sum += exp (lr[k] - mx);
          total += mx + log (sum) - lr[y[r]];
          /* d CE / d logit = softmax - onehot, and the logit is z . c / t */
          for (int k = 0; k < K; k++)
            lr[k] = (float) ((exp (lr[k] - mx) / sum - (k == y[r])) * scale / t);
        }
      if (dz != NULL)
        pt_sgemm (FALSE, FALSE, N, D, K, 1.0f, logits, K, C, D, 1.0f, dz, D);
    }
  return (float) (total * scale);
}

int
pt_spherical_kmeans (float       *centroids,
                     int         *assign,
                     const float *x,
                     int          N,
                     int          D,
                     int          K,
                     int          iters,
                     PtRng       *rng)
{
  g_autofree float *scores = g_new (float, (gsize) MIN (N, 4096) * K);
  g_autofree double *sum = g_new (double, (gsize) K * D);
  g_autofree int *count = g_new (int, K);
  g_autofree float *mind = g_new (float, N);
  int n_reseeded = 0;

  g_return_val_if_fail (N >= 1 && K >= 1 && D >= 1, 0);

  /* k-means++ seeding: the first centre uniform, each next one drawn with
   * probability proportional to its squared distance 2 - 2 cos to the
   * nearest centre so far */
  memcpy (centroids, x + (gsize) pt_rng_below (rng, N) * D, D * sizeof (float));
  for (int c = 0; c + 1 < K; c++)
    {
      const float *cc = centroids + (gsize) c * D;
      double total = 0.0, r;
      int pick = N - 1;

      for (int i = 0; i < N; i++)
        {
          const float *xi = x + (gsize) i * D;
          float dot = 0.0f;

          for (int d = 0; d < D; d++)
            dot += xi[d] * cc[d];
          mind[i] = c == 0 ? 2.0f - 2.0f * dot : MIN (mind[i], 2.0f - 2.0f * dot);
          mind[i] = MAX (mind[i], 0.0f);
          total += mind[i];
        }
      r = pt_rng_uniform (rng) * total;
      if (total > 0.0)
        {
          for (int i = 0; i < N; i++)
            {
              r -= mind[i];
              if (r < 0.0)
                {
                  pick = i;
                  break;
                }
            }
        }
      else
        pick = (int) pt_rng_below (rng, N);
      memcpy (centroids + (gsize) (c + 1) * D, x + (gsize) pick * D, D * sizeof (float));
    }

  for (int it = 0; it <= MAX (iters, 1); it++)
    {
      /* assignment: the most similar centroid, in blocks of 4096 rows */
      for (int i0 = 0; i0 < N; i0 += 4096)
        {
          int n = MIN (4096, N - i0);

          pt_sgemm (FALSE, TRUE, n, K, D, 1.0f, x + (gsize) i0 * D, D, centroids, D,
                    0.0f, scores, K);
          for (int i = 0; i < n; i++)
            {
              const float *si = scores + (gsize) i * K;
              int arg = 0;

              for (int c = 1; c < K; c++)
                if (si[c] > si[arg])
                  arg = c;
              assign[i0 + i] = arg;
            }
        }
      if (it == MAX (iters, 1))
        break;   /* the last assignment goes with the final centroids */

      memset (sum, 0, (gsize) K * D * sizeof (double));
      memset (count, 0, K * sizeof (int));
      for (int i = 0; i < N; i++)
        {
          count[assign[i]]++;
          for (int d = 0; d < D; d++)
            sum[(gsize) assign[i] * D + d] += x[(gsize) i * D + d];
        }
      for (int c = 0; c < K; c++)
        {
          double s = 0.0;

          if (count[c] == 0)
            continue;
          for (int d = 0; d < D; d++)
            s += sum[(gsize) c * D + d] * sum[(gsize) c * D + d];
          s = 1.0 / MAX (sqrt (s), 1e-12);
          for (int d = 0; d < D; d++)
            centroids[(gsize) c * D + d] = (float) (sum[(gsize) c * D + d] * s);
        }
      /* an empty cluster restarts at a random member of the largest one,
       * which it then splits with at the next assignment */
      for (int c = 0; c < K; c++)
        if (count[c] == 0)
          {
            int big = 0, pick, seen = 0;

            for (int j = 1; j < K; j++)
              if (count[j] > count[big])
                big = j;
            if (count[big] < 2)
              continue;
            pick = (int) pt_rng_below (rng, count[big]);
            for (int i = 0; i < N; i++)
              if (assign[i] == big && seen++ == pick)
                {
                  memcpy (centroids + (gsize) c * D, x + (gsize) i * D, D * sizeof (float));
                  assign[i] = c;
                  break;
                }
            count[big]--;
            count[c] = 1;
            n_reseeded++;
          }
    }
  return n_reseeded;
}

double
pt_nmi (const int *a,
        const int *b,
        int        N,
        int        Ka,
        int        Kb)
{
  g_autofree double *joint = g_new0 (double, (gsize) Ka * Kb);
  g_autofree double *pa = g_new0 (double, Ka);
  g_autofree double *pb = g_new0 (double, Kb);
  double mi = 0.0, ha = 0.0, hb = 0.0;

  for (int i = 0; i < N; i++)
    {
      joint[(gsize) a[i] * Kb + b[i]] += 1.0 / N;
      pa[a[i]] += 1.0 / N;
      pb[b[i]] += 1.0 / N;
    }
  for (int i = 0; i < Ka; i++)
    if (pa[i] > 0)
      ha -= pa[i] * log (pa[i]);
  for (int j = 0; j < Kb; j++)
    if (pb[j] > 0)
      hb -= pb[j] * log (pb[j]);
  for (int i = 0; i < Ka; i++)
    for (int j = 0; j < Kb; j++)
      if (joint[(gsize) i * Kb + j] > 0)
        mi += joint[(gsize) i * Kb + j] * log (joint[(gsize) i * Kb + j] / (pa[i] * pb[j]));
  if (ha + hb <= 0.0)
    return 1.0;   /* both labelings constant: identical partitions */
  return MAX (0.0, mi / ((ha + hb) / 2.0));
}
