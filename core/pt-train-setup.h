/* pt-train-setup.h: a trainer from a request or from a run folder.
 *
 * The glue between dataset, augmentation recipe, loader, method, run
 * directory and trainer that `pretext-cli train` and the GUI both need:
 *
 *   pt_train_setup_new     a fresh run: opens (or takes) the dataset, loads
 *                          the recipe, creates the method, checks that the
 *                          recipe's views are the ones the method wants,
 *                          writes config.ini (everything needed to rebuild
 *                          all of this) and returns a trainer ready to start
 *   pt_train_setup_resume  the same from <dir>/config.ini alone, checks the
 *                          dataset's content hash, and loads the newest good
 *                          checkpoint: the run continues bit for bit
 *
 * config.ini, besides what pt-run.h lists, gets [dataset] (spec, hash and
 * the open options) and [loader] (normalize, mean, std).
 *
 * Both are synchronous (opening a dataset may take seconds): call them from
 * a worker in a GUI.
 */
#pragma once

#include "pt-dataset.h"
#include "pt-trainer.h"

G_BEGIN_DECLS

typedef struct {
  const char       *method;           /* registry name */
  const char       *dataset;          /* spec, e.g. "shapes" */
  PtDatasetOptions  dataset_options;  /* zeroed: defaults */
  const char       *augment;          /* preset name or .ini path; NULL: the preset named
                                         like the method */
  const char       *encoder;          /* NULL: the method's default */
  int               encoder_width;    /* 0: default */
  int               batch_size;       /* > 0 */
  guint64           seed;
  guint64           steps;            /* planned total, recorded in config.ini */
  GKeyFile         *params;           /* method parameter overrides in group "method", or NULL */
  const char       *out_dir;          /* NULL: pt_run_default_dir (runs_root, ...) */
  const char       *runs_root;        /* NULL: $XDG_DATA_HOME/pretext/runs */
  gboolean          normalize;        /* loader: (x - mean) / std per channel */
  float             mean[3];
  float             std[3];
} PtTrainRequest;

/* dataset may be NULL (opened from request->dataset, train split). */
PtTrainer  *pt_train_setup_new     (const PtTrainRequest   *request,
                                    PtDataset              *dataset,
                                    const PtTrainerOptions *options,
                                    GError                **error);

/* dataset may be NULL (opened from config.ini); a dataset whose content
 * hash differs from the recorded one is refused. warning: see
 * pt_trainer_load_checkpoint. */
PtTrainer  *pt_train_setup_resume  (const char             *dir,
                                    PtDataset              *dataset,
                                    const PtTrainerOptions *options,
                                    char                  **warning,
                                    GError                **error);

G_END_DECLS
