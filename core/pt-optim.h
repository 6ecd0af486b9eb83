/* pt-optim.h: optimizers as flat loops over PtParams, and the LR schedule.
 *
 * State lives in flat buffers parallel to the parameter buffer (slot 0:
 * momentum / Adam first moment, slot 1: Adam second moment) plus a step
 * counter, so a checkpoint saves and restores them as plain arrays.
 * Buffers (PT_PARAM_BUFFER) are never touched. The formulas are PyTorch's:
 *  - SGD: g += wd p; buf = momentum buf + g; g = nesterov ? g + momentum buf : buf;
 *    p -= lr g (dampening 0);
 *  - AdamW: p *= 1 - lr wd; m, v moments; p -= lr / (1 - b1^t) m / (sqrt (v) / sqrt (1 - b2^t) + eps);
 *  - LARS (You et al. 2017, as in SimCLR): for entries without PT_PARAM_NO_DECAY,
 *    g += wd p and g *= trust * ||p|| / ||g|| (when both norms are > 0);
 *    entries with PT_PARAM_NO_DECAY get neither; then SGD momentum as above.
 */
#pragma once

#include "pt-nn.h"

G_BEGIN_DECLS

typedef enum
{
  PT_OPTIM_SGD,
  PT_OPTIM_ADAMW,
  PT_OPTIM_LARS,
} PtOptimKind;

typedef struct
{
  PtOptimKind kind;
  float       momentum;           /* SGD, LARS (0.9) */
  gboolean    nesterov;           /* SGD */
  float       weight_decay;
  float       beta1, beta2, eps;  /* AdamW (0.9, 0.999, 1e-8) */
  float       trust_coefficient;  /* LARS (0.001) */
  gboolean    decay_all;          /* SGD/AdamW: also decay NO_DECAY entries (PyTorch's default) */
} PtOptimConfig;

typedef struct _PtOptim PtOptim;

/* Fills the defaults for a kind (momentum 0.9, weight decay 0, ...). */
void      pt_optim_config_init     (PtOptimConfig       *config,
                                    PtOptimKind          kind);
/* The optimizer keeps a borrowed pointer to params; it must outlive it. */
PtOptim  *pt_optim_new             (PtParams            *params,
                                    const PtOptimConfig *config);
void      pt_optim_free            (PtOptim             *optim);
/* One update with learning rate lr from the gradients in params. */
void      pt_optim_step            (PtOptim             *optim,
                                    float                lr);
const PtOptimConfig *pt_optim_get_config (PtOptim       *optim);
/* Steps taken so far (Adam's t). set_step restores it from a checkpoint. */
guint64   pt_optim_get_step        (PtOptim             *optim);
void      pt_optim_set_step        (PtOptim             *optim,
                                    guint64              step);
/* State slots: 1 for SGD and LARS, 2 for AdamW. */
int       pt_optim_get_n_slots     (PtOptim             *optim);
/* Slot buffer of pt_params_get_n_floats () floats, writable (restore). */
float    *pt_optim_get_slot        (PtOptim             *optim,
                                    int                  slot);

/* Linear warmup (step s < warmup_steps gets base_lr (s + 1) / warmup_steps), then cosine from base_lr down to
 * final_lr at total_steps (and final_lr after). step counts from 0. */
float     pt_schedule_warmup_cosine (float    base_lr,
                                     float    final_lr,
                                     guint64  warmup_steps,
                                     guint64  total_steps,
                                     guint64  step);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtOptim, pt_optim_free)

G_END_DECLS
