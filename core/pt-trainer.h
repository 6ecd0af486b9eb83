/* pt-trainer.h: the training runtime.
 *
 * A PtTrainer drives one PtMethod over batches from a PtBatchSource, writing
 * into a PtRun (metrics.jsonl, checkpoints). It owns ONE training GThread per
 * run and the state machine
 *
 *   idle -> running <-> paused -> stopping -> finished | failed
 *
 * Every control (pause, resume, step, stop, cancel, set_param) is safe from
 * the main thread at any moment: it only sets a flag under a mutex; the
 * training thread acts on it at the next step boundary.
 *
 * Events go to the GMainContext that was thread-default when start() was
 * called: they are queued in a mutex-guarded buffer with at most one pending
 * idle, which emits on that context's thread:
 *
 *   metrics        (GPtrArray *steps)  PtStepMetrics of every step since the
 *                                      last emission, oldest first (borrowed)
 *   visuals        (PtVisuals *)       the newest snapshot (older pending ones
 *                                      are dropped)
 *   state-changed  (old, new)          PtTrainerState, in order
 *   fault          (step, message, hint)  a non-finite loss or gradient: the
 *                                      run was rewound to the last checkpoint
 *                                      and paused; resume continues from there
 *
 * Events of a disposed trainer are dropped. Disposing a running trainer
 * cancels it (no checkpoint) and joins the thread: stop it first.
 *
 * How `pretext-cli train` drives it (the command itself is wired by the
 * app once real methods exist):
 *
 *   fresh run:  method = pt_method_new (name, &config, &error);
 *               cfg = pt_run_config_new (&spec, method);
 *               run = pt_run_create (dir ? dir : pt_run_default_dir (NULL, m, d), cfg, &error);
 *   --resume:   run = pt_run_open (dir, &error); rebuild the method from
 *               pt_run_get_config (run) (group "method" holds every parameter,
 *               [run] the dataset, encoder, seed, batch size) and the source;
 *   then        trainer = pt_trainer_new (method, source, run, &options);
 *               [resume] pt_trainer_load_checkpoint (trainer, &warning, &error);
 *               pt_trainer_set_step_func (trainer, progress_cb, bar);   // progress bar / --json lines
 *               pt_trainer_install_stop_signals (&stop_flag);         // SIGINT/SIGTERM: graceful
 *               ok = pt_trainer_run_blocking (trainer, &stop_flag, &error);
 *
 * options.total_steps is the N of --steps (on resume: N total steps, not N
 * more). The step func runs on the calling thread, so it may print.
 *
 * Test hook: PRETEXT_POISON_STEP=N in the environment (read by
 * pt_trainer_new) or pt_trainer_poison_step() makes the input of step N NaN
 * once.
 */
#pragma once

#include <signal.h>
#include <glib-object.h>

#include "pt-batch-source.h"
#include "pt-method.h"
#include "pt-run.h"

G_BEGIN_DECLS

#define PT_TRAINER_ERROR (pt_trainer_error_quark ())

typedef enum {
  PT_TRAINER_ERROR_FAILED,       /* a step, the source or a file failed */
  PT_TRAINER_ERROR_NON_FINITE,   /* blocking run: loss or gradient not finite */
  PT_TRAINER_ERROR_CANCELLED,    /* hard cancel */
  PT_TRAINER_ERROR_STATE,        /* a call that the current state does not allow */
} PtTrainerError;

GQuark pt_trainer_error_quark (void);

typedef enum {
  PT_TRAINER_IDLE,
  PT_TRAINER_RUNNING,
  PT_TRAINER_PAUSED,
  PT_TRAINER_STOPPING,
  PT_TRAINER_FINISHED,
  PT_TRAINER_FAILED,
} PtTrainerState;

#define PT_TYPE_TRAINER_STATE (pt_trainer_state_get_type ())
GType       pt_trainer_state_get_type (void);
const char *pt_trainer_state_to_string (PtTrainerState state);

typedef struct {
  guint64   total_steps;        /* finish (with a checkpoint) at this step; 0: never */
  guint     checkpoint_every;   /* steps between checkpoints; 0: only at the end */
  guint     visuals_every;      /* steps between visuals events; 0: never */
} PtTrainerOptions;

/* One logged step, as in metrics.jsonl. */
typedef struct {
  guint64       step;           /* 1 for the first step */
  guint64       epoch;
  double        loss;
  int           n_parts;
  PtNamedValue  parts[PT_MAX_LOSS_PARTS];
  int           n_stats;
  PtNamedValue  stats[PT_MAX_STATS];
  double        lr;             /* the method's "lr" parameter, NAN if none */
  double        images_per_s;
  double        time;           /* wall clock, seconds since 1970 */
  char        **events;         /* NULL or NULL-terminated: "set lr 0.1 -> 0.05", ... */
} PtStepMetrics;

void     pt_step_metrics_free (PtStepMetrics *metrics);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtStepMetrics, pt_step_metrics_free)
/* One JSON object, no newline; non-finite numbers become null. */
char    *pt_step_metrics_to_json (const PtStepMetrics *metrics);

#define PT_TYPE_TRAINER (pt_trainer_get_type ())
G_DECLARE_FINAL_TYPE (PtTrainer, pt_trainer, PT, TRAINER, GObject)

/* Called on the training thread after every step (threaded or blocking). */
typedef void (*PtTrainerStepFunc) (PtTrainer           *trainer,
                                   const PtStepMetrics *metrics,
                                   gpointer             user_data);

/* Takes ownership of source and run; refs method. options NULL: defaults
 * (no step limit, checkpoint every 500 steps, visuals every 50). */
PtTrainer     *pt_trainer_new            (PtMethod               *method,
                                          PtBatchSource          *source,
                                          PtRun                  *run,
                                          const PtTrainerOptions *options);

/* Before start: loads checkpoints/last (or previous) into the method, the
 * source position and the counters, and drops metrics.jsonl lines after
 * it. warning (optional) explains a fall back to "previous". */
gboolean       pt_trainer_load_checkpoint (PtTrainer             *self,
                                           char                 **warning,
                                           GError               **error);

/* Without a trainer: loads the method's state (weights, optimizer, RNG) and
 * live parameter values from the newest good checkpoint of run, for probes,
 * embeddings and exports. The batch source's position is not needed. The
 * method must be built as the run's (same architecture; config.ini hash is
 * checked). step (optional) receives the checkpoint's step. */
gboolean       pt_trainer_load_method_state (PtMethod             *method,
                                             PtRun                *run,
                                             guint64              *step,
                                             char                **warning,
                                             GError              **error);

/* idle -> running: captures the thread-default main context and spawns the
 * training thread. A fresh run first writes a step-0 checkpoint. */
gboolean       pt_trainer_start          (PtTrainer              *self,
                                          GError                **error);

/* Controls; each returns FALSE when the state does not allow it (a no-op). */
gboolean       pt_trainer_pause          (PtTrainer *self);
gboolean       pt_trainer_resume         (PtTrainer *self);
/* While paused: run exactly one more step, then stay paused. */
gboolean       pt_trainer_step           (PtTrainer *self);
/* Graceful: finish the current step, write a checkpoint, finish. */
gboolean       pt_trainer_stop           (PtTrainer *self);
/* Hard: abandon at the next step boundary, no checkpoint; ends failed. */
gboolean       pt_trainer_cancel         (PtTrainer *self);

/* Changes a live hyperparameter at the next step boundary, recorded as an
 * event in metrics. Validated here (unknown, not live, out of range). */
gboolean       pt_trainer_set_param      (PtTrainer              *self,
                                          const char             *name,
                                          double                  value,
                                          GError                **error);

/* Test hook: make the input of step `step` (1-based) NaN once; 0 clears. */
void           pt_trainer_poison_step    (PtTrainer *self,
                                          guint64    step);
void           pt_trainer_set_step_func  (PtTrainer              *self,
                                          PtTrainerStepFunc       func,
                                          gpointer                user_data);

PtTrainerState pt_trainer_get_state      (PtTrainer *self);
/* Steps done (the last finished step). */
guint64        pt_trainer_get_step       (PtTrainer *self);
/* Step of the newest checkpoint written or loaded, G_MAXUINT64 when none. */
guint64        pt_trainer_get_checkpoint_step (PtTrainer *self);
/* The error that ended a failed run, or NULL. Borrowed. */
const GError  *pt_trainer_get_error      (PtTrainer *self);
/* Borrowed. Touch the method only while the trainer is idle or ended. */
PtMethod      *pt_trainer_get_method     (PtTrainer *self);
PtRun         *pt_trainer_get_run        (PtTrainer *self);

/* Blocks the caller until the training thread is parked (paused with no
 * single step pending) or the run has ended, at most timeout_us. Returns
 * FALSE on timeout. For tests and the CLI; never needed by a GUI. */
gboolean       pt_trainer_wait           (PtTrainer *self,
                                          gint64     timeout_us);

/* For a CLI: runs on the calling thread (no thread, no main-context
 * events) until options.total_steps, writing metrics and checkpoints, and
 * calling the step func after every step. When *stop_flag becomes non-zero
 * (set it from a SIGINT/SIGTERM handler, see pt_trainer_install_stop_signals)
 * it stops gracefully with a checkpoint and returns TRUE. A non-finite step
 * rewinds to the last checkpoint and returns FALSE with
 * PT_TRAINER_ERROR_NON_FINITE and the hint in the message. */
gboolean       pt_trainer_run_blocking   (PtTrainer              *self,
                                          volatile sig_atomic_t  *stop_flag,
                                          GError                **error);

/* Installs SIGINT and SIGTERM handlers that set *flag (async-signal-safe);
 * a second signal restores the default action, so a third kills. */
void           pt_trainer_install_stop_signals (volatile sig_atomic_t *flag);

G_END_DECLS
