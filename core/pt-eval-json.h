/* pt-eval-json.h: evaluation results as JSON for a run's eval/ folder. */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "pt-knn.h"
#include "pt-metrics.h"
#include "pt-probe.h"
#include "pt-subsets.h"

G_BEGIN_DECLS

#define PT_EVAL_JSON_ERROR (pt_eval_json_error_quark ())
typedef enum
{
  PT_EVAL_JSON_ERROR_PARSE,   /* not JSON, or not an evaluation record */
  PT_EVAL_JSON_ERROR_INVALID, /* fields missing or inconsistent */
} PtEvalJsonError;
GQuark pt_eval_json_error_quark (void);

#define PT_EVAL_RECORD_VERSION 1

/* One evaluation: a probe or kNN result, its settings and subset size,
 * and optionally a label-efficiency curve. Fields that do not apply are
 * NAN / 0 / NULL and are not written. */
typedef struct
{
  char              *kind;           /* "linear-probe", "knn", ... */
  char              *features;       /* e.g. "checkpoint:last", "raw-pixels", or NULL */
  double             accuracy;       /* [0, 1] */
  int                n_train;        /* labeled training items used */
  int                n_test;
  double             label_fraction; /* NAN when not a subset by fraction */
  int                per_class;      /* 0 when not a subset by count */
  guint64            seed;
  double             c;              /* probe: C chosen; NAN otherwise */
  int                knn_k;          /* kNN: k; 0 otherwise */
  double             knn_t;          /* kNN: temperature; NAN otherwise */
  PtClassReport     *report;         /* owned, may be NULL */
  int                n_curve;
  PtLabelCurvePoint *curve;          /* owned, n_curve */
} PtEvalRecord;

PtEvalRecord *pt_eval_record_new       (const char          *kind);
/* From a probe result (copies its report). */
PtEvalRecord *pt_eval_record_new_probe (const PtProbeResult *result,
                                        guint64              seed);
/* From a kNN report (copied) and its settings. */
PtEvalRecord *pt_eval_record_new_knn   (const PtClassReport *report,
                                        int                  n_train,
                                        int                  k,
                                        double               t);
void          pt_eval_record_free      (PtEvalRecord        *record);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtEvalRecord, pt_eval_record_free)

JsonNode     *pt_eval_record_to_json   (const PtEvalRecord  *record);
PtEvalRecord *pt_eval_record_from_json (JsonNode            *node,
                                        GError             **error);

/* Writes atomically and durably (temp file, fsync, rename). */
gboolean      pt_eval_record_save      (const PtEvalRecord  *record,
                                        const char          *path,
                                        GError             **error);
/* Reads back; the error names the file. */
PtEvalRecord *pt_eval_record_load      (const char          *path,
                                        GError             **error);

G_END_DECLS
