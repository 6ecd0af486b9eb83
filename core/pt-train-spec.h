/* pt-train-spec.h: from a description of a run to a ready PtTrainer.
 *
 * The one place where a method, a dataset, an augmentation recipe, a run
 * directory and a batch source are put together, used by `pretext-cli
 * train` and by the window's Pretrain page alike.
 *
 * config.ini records everything needed to reproduce the run: [run] method,
 * dataset spec and content hash, encoder, width, batch size, seed, steps,
 * app version, the dataset's per-channel normalization; [method] every
 * parameter; [augment] the recipe's name and full text. pt_train_resume
 * rebuilds the same trainer from it (and refuses a dataset whose content
 * changed).
 */
#pragma once

#include <gio/gio.h>

#include "pt-augment.h"
#include "pt-dataset.h"
#include "pt-loader-source.h"
#include "pt-trainer.h"

G_BEGIN_DECLS

#define PT_TRAIN_SPEC_ERROR (pt_train_spec_error_quark ())

typedef enum {
  PT_TRAIN_SPEC_ERROR_INVALID,    /* a value that cannot work (batch, steps, key) */
  PT_TRAIN_SPEC_ERROR_MISMATCH,   /* resume: the dataset changed since the run began */
} PtTrainSpecError;

GQuark pt_train_spec_error_quark (void);

#define PT_TRAIN_SPEC_DEFAULT_WIDTH       16
#define PT_TRAIN_SPEC_DEFAULT_BATCH       128
#define PT_TRAIN_SPEC_DEFAULT_EPOCHS      10.0
#define PT_TRAIN_SPEC_DEFAULT_VISUALS     50

typedef struct {
  char     *method;        /* "simclr", ... */
  char     *dataset;       /* dataset spec as on the CLI */
  char     *encoder;       /* NULL: the method's default */
  int       width;         /* 0: default (16) */
  int       batch_size;    /* 0: a CPU-sensible default (128) */
  guint64   steps;         /* 0: derived from epochs */
  double    epochs;        /* used when steps == 0 (default 10) */
  char     *augment;       /* preset name or .ini path; NULL: the method's default recipe */
  guint64   seed;
  char     *out_dir;       /* NULL: $XDG_DATA_HOME/pretext/runs/<date>-<method>-<dataset>/ */
  GKeyFile *params;        /* method parameter overrides (group "method"), may be NULL */
  guint     checkpoint_every, visuals_every;   /* 0: defaults */
  char     *init;          /* NULL, or encoder weights (.safetensors, pt-encoder.h) to start
                            * from; recorded in config.ini as [run] init and init_sha256 */
} PtTrainSpec;

/* A spec with the defaults filled in (method and dataset NULL). */
PtTrainSpec *pt_train_spec_new          (void);
void         pt_train_spec_free         (PtTrainSpec *spec);

/* Parses "KEY=VALUE" (a --set option) into spec->params, group "method".
 * The key is checked against the method when the trainer is built. */
gboolean     pt_train_spec_set_param    (PtTrainSpec *spec,
                                         const char  *assignment,
                                         GError     **error);

/* The augmentation preset a method trains with by default, or NULL when it
 * uses a plain crop + flip made to its views. */
const char  *pt_train_spec_default_augment (const char *method);

/* Loads spec->augment, or the method's default recipe (a preset, else crop +
 * flip per view group made from the method's views on dataset's shape).
 * name (optional) receives what config.ini records as its name. */
PtAugRecipe *pt_train_spec_load_recipe  (const char  *augment,
                                         PtMethod    *method,
                                         PtDataset   *dataset,
                                         char       **name,
                                         GError     **error);

/* Creates the run directory (config.ini) and the trainer, idle, with a
 * step limit. dataset: an already-open train split (the GUI has one) or
 * NULL to open spec->dataset. */
PtTrainer   *pt_train_spec_build        (const PtTrainSpec *spec,
                                         PtDataset         *dataset,
                                         GCancellable      *cancellable,
                                         GError           **error);

/* Reopens a run directory from its config.ini and last good checkpoint
 * (the trainer is idle, positioned after it). total_steps 0: the steps the
 * run planned. warning (optional): why "last" was skipped for "previous". */
PtTrainer   *pt_train_resume            (const char        *run_dir,
                                         guint64            total_steps,
                                         char             **warning,
                                         GError           **error);

/* The method of a run as recorded in its config.ini, untrained (the
 * random-initialization baseline): same class, parameters, shape and seed.
 * n_classes/normalization filled when not NULL. The caller loads weights
 * (pt_train_load_weights) to get the trained one. */
PtMethod    *pt_train_method_from_config (GKeyFile        *config,
                                          PtNormalization *norm,
                                          GError         **error);

/* Loads the run's last good checkpoint into method (created by
 * pt_train_method_from_config); step (optional) receives its step. */
gboolean     pt_train_load_weights      (PtMethod    *method,
                                         const char  *run_dir,
                                         guint64     *step,
                                         char       **warning,
                                         GError     **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtTrainSpec, pt_train_spec_free)

G_END_DECLS
