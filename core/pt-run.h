/* pt-run.h: the run directory.
 *
 *   <dir>/config.ini        everything needed to reproduce the run (GKeyFile):
 *                           [run] method, dataset, dataset_hash, encoder,
 *                           encoder_width, batch_size, seed, steps, created,
 *                           app_version; [method] name and every parameter;
 *                           [augment] name and content (the recipe .ini).
 *                           Written once, atomically; never edited after,
 *                           because checkpoints carry its SHA-256.
 *   <dir>/metrics.jsonl     one JSON object per logged step, appended and
 *                           flushed; numbers locale-independent
 *   <dir>/checkpoints/      "last" and "previous"
 *   <dir>/visuals/          snapshots the method chose to save
 *   <dir>/eval/NAME.json    probe results ({"accuracy": 0.71, ...})
 *
 * The default location is $XDG_DATA_HOME/pretext/runs/<date>-<method>-<dataset>/.
 * A PtRun is used by one thread at a time (the training thread while a run
 * goes).
 */
#pragma once

#include <glib.h>
#include "pt-method.h"

G_BEGIN_DECLS

#define PT_RUN_ERROR (pt_run_error_quark ())

typedef enum {
  PT_RUN_ERROR_IO,          /* cannot read or write a file */
  PT_RUN_ERROR_INVALID,     /* config.ini missing or malformed */
  PT_RUN_ERROR_EXISTS,      /* creating into a folder that already holds a run */
} PtRunError;

GQuark pt_run_error_quark (void);

/* What config.ini records besides the method's own parameters. */
typedef struct {
  const char *method;           /* registry name */
  const char *dataset;          /* spec as given, e.g. "shapes" */
  const char *dataset_hash;     /* pt_dataset_get_content_hash, may be NULL */
  const char *encoder;          /* may be NULL */
  int         encoder_width;    /* 0: default */
  int         batch_size;
  guint64     seed;
  guint64     steps;            /* planned total steps, 0 when unknown */
  const char *augment_name;     /* preset name or file, may be NULL */
  const char *augment_content;  /* the recipe text, may be NULL */
} PtRunSpec;

typedef struct _PtRun PtRun;

/* A new config: [run] from spec (plus created and app_version), [method]
 * from method's parameters when method is not NULL, [augment]. */
GKeyFile   *pt_run_config_new       (const PtRunSpec *spec,
                                     PtMethod        *method);

/* $XDG_DATA_HOME/pretext/runs */
char       *pt_run_default_root     (void);
/* root/<YYYYmmdd-HHMMSS>-<method>-<dataset>, made unique with -2, -3...;
 * dataset is reduced to a safe file name. root NULL: the default root. */
char       *pt_run_default_dir      (const char      *root,
                                     const char      *method,
                                     const char      *dataset);

/* Creates dir (and parents) with its layout and writes config.ini. Refuses a
 * folder that already has a config.ini. */
PtRun      *pt_run_create           (const char      *dir,
                                     GKeyFile        *config,
                                     GError         **error);
/* Opens an existing run (config.ini must parse and name a method). */
PtRun      *pt_run_open             (const char      *dir,
                                     GError         **error);
void        pt_run_free             (PtRun           *run);

const char *pt_run_get_dir          (PtRun           *run);
const char *pt_run_get_checkpoint_dir (PtRun         *run);
const char *pt_run_get_metrics_path (PtRun           *run);
/* Borrowed; do not modify. */
GKeyFile   *pt_run_get_config       (PtRun           *run);
/* Hex SHA-256 of config.ini as written. */
const char *pt_run_get_config_hash  (PtRun           *run);
const char *pt_run_get_method       (PtRun           *run);

/* Appends one line (a JSON object, no newline) to metrics.jsonl and hands it
 * to the kernel before returning. */
gboolean    pt_run_append_metrics   (PtRun           *run,
                                     const char      *json_line,
                                     GError         **error);
/* Drops lines whose "step" is greater than max_step (after a resume or a
 * rewind), rewriting the file atomically. A malformed last line (a cut
 * write) is dropped too. */
gboolean    pt_run_truncate_metrics (PtRun           *run,
                                     guint64          max_step,
                                     GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtRun, pt_run_free)

/* ---- Listing past runs ------------------------------------------------ */

typedef struct {
  char    *dir;
  char    *name;          /* folder name */
  char    *created;       /* ISO 8601, from config.ini */
  char    *method;
  char    *dataset;
  guint64  steps;         /* last logged step, 0 when none */
  double   last_loss;     /* NAN when none */
  double   probe;         /* "accuracy" of the newest eval/NAME.json, NAN when none */
  char    *probe_file;    /* its file name, or NULL */
} PtRunInfo;

void        pt_run_info_free        (PtRunInfo       *info);
/* Reads one run folder's summary. */
PtRunInfo  *pt_run_info_read        (const char      *dir,
                                     GError         **error);
/* Every run under root (NULL: the default root), oldest first; folders
 * without a readable config.ini are skipped. A missing root is an empty
 * list. Element type PtRunInfo. */
GPtrArray  *pt_run_list             (const char      *root,
                                     GError         **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtRunInfo, pt_run_info_free)

G_END_DECLS
