/* pt-optim.c: SGD, AdamW, LARS and the warmup-cosine schedule. */
#include "pt-optim.h"

#include <math.h>
#include <string.h>

struct _PtOptim
{
  PtParams      *params;
  PtOptimConfig  config;
  float         *slots[2];
  int            n_slots;
  guint64        step;
};

void
pt_optim_config_init (PtOptimConfig *config,
                      PtOptimKind    kind)
{
  memset (config, 0, sizeof *config);
  config->kind = kind;
  config->momentum = 0.9f;
  config->beta1 = 0.9f;
  config->beta2 = 0.999f;
  config->eps = 1e-8f;
  config->trust_coefficient = 0.001f;
  config->decay_all = TRUE;
}

PtOptim *
pt_optim_new (PtParams            *params,
              const PtOptimConfig *config)
{
  PtOptim *optim;
  gsize n;

  g_return_val_if_fail (pt_params_is_finalized (params), NULL);
  optim = g_new0 (PtOptim, 1);
  optim->params = params;
  optim->config = *config;
  optim->n_slots = config->kind == PT_OPTIM_ADAMW ? 2 : 1;
  n = MAX (pt_params_get_n_floats (params), 1);
  for (int s = 0; s < optim->n_slots; s++)
    optim->slots[s] = g_new0 (float, n);
  return optim;
}

void
pt_optim_free (PtOptim *optim)
{
  if (optim == NULL)
    return;
  for (int s = 0; s < 2; s++)
    g_free (optim->slots[s]);
  g_free (optim);
}

const PtOptimConfig *
pt_optim_get_config (PtOptim *optim)
{
  return &optim->config;
}

guint64
pt_optim_get_step (PtOptim *optim)
{
  return optim->step;
}

void
pt_optim_set_step (PtOptim *optim,
                   guint64  step)
{
  optim->step = step;
}

int
pt_optim_get_n_slots (PtOptim *optim)
{
  return optim->n_slots;
}

float *
pt_optim_get_slot (PtOptim *optim,
                   int      slot)
{
  g_return_val_if_fail (slot >= 0 && slot < optim->n_slots, NULL);
  return optim->slots[slot];
}

static void
sgd_update (float       *p,
            const float *grad,
            float       *buf,
            gsize        n,
            float        lr,
            float        momentum,
            gboolean     nesterov,
            float        wd,
            float        scale)     /* LARS trust ratio, 1 otherwise */
{
  for (gsize i = 0; i < n; i++)
    {
      float g = (grad[i] + wd * p[i]) * scale;

      if (momentum != 0.0f)
        {
          buf[i] = momentum * buf[i] + g;
          g = nesterov ? g + momentum * buf[i] : buf[i];
        }
      p[i] -= lr * g;
    }
}

void
pt_optim_step (PtOptim *optim,
               float    lr)
{
  PtParams *params = optim->params;
  const PtOptimConfig *c = &optim->config;
  float *data = pt_params_get_data (params), *grad = pt_params_get_grad (params);
  double bc1, bc2;

  optim->step++;
  bc1 = 1.0 - pow (c->beta1, (double) optim->step);
  bc2 = 1.0 - pow (c->beta2, (double) optim->step);

  for (guint e = 0; e < pt_params_get_n (params); e++)
    {
      const PtParamInfo *info = pt_params_get_info (params, (int) e);
      float *p = data + info->offset;
      const float *g = grad + info->offset;
      gboolean excluded = (info->flags & PT_PARAM_NO_DECAY) != 0;
      float wd = (excluded && !c->decay_all) ? 0.0f : c->weight_decay;
      gsize n = info->numel;

      if (info->flags & PT_PARAM_BUFFER)
        continue;

      switch (c->kind)
        {
        case PT_OPTIM_SGD:
          sgd_update (p, g, optim->slots[0] + info->offset, n, lr, c->momentum, c->nesterov,
                      wd, 1.0f);
          break;

        case PT_OPTIM_LARS:
          {
            float scale = 1.0f;

            wd = excluded ? 0.0f : c->weight_decay;
            if (!excluded)
              {
                double pn = 0.0, gn = 0.0;

                for (gsize i = 0; i < n; i++)
                  {
                    double gi = (double) g[i] + (double) wd * p[i];

                    pn += (double) p[i] * p[i];
                    gn += gi * gi;
                  }
                pn = sqrt (pn);
                gn = sqrt (gn);
                if (pn > 0.0 && gn > 0.0)
                  scale = (float) (c->trust_coefficient * pn / gn);
              }
            sgd_update (p, g, optim->slots[0] + info->offset, n, lr, c->momentum, FALSE,
                        wd, scale);
          }
          break;

        case PT_OPTIM_ADAMW:
          {
            float *m = optim->slots[0] + info->offset, *v = optim->slots[1] + info->offset;
            float step_size = (float) (lr / bc1);
            float sqrt_bc2 = (float) sqrt (bc2);

            for (gsize i = 0; i < n; i++)
              {
                p[i] *= 1.0f - lr * wd;
                m[i] = c->beta1 * m[i] + (1.0f - c->beta1) * g[i];
                v[i] = c->beta2 * v[i] + (1.0f - c->beta2) * g[i] * g[i];
                p[i] -= step_size * m[i] / (sqrtf (v[i]) / sqrt_bc2 + c->eps);
              }
          }
          break;

        default:
          g_assert_not_reached ();
        }
    }
}

float
pt_schedule_warmup_cosine (float   base_lr,
                           float   final_lr,
                           guint64 warmup_steps,
                           guint64 total_steps,
                           guint64 step)
{
  double t;

  if (step < warmup_steps)
    return base_lr * (float) (step + 1) / (float) warmup_steps;
  if (step >= total_steps || total_steps <= warmup_steps)
    return final_lr;
  t = (double) (step - warmup_steps) / (double) (total_steps - warmup_steps);
  return (float) (final_lr + 0.5 * (base_lr - final_lr) * (1.0 + cos (G_PI * t)));
}
