/* pt-evaluate-page.h: how good are a run's features, and compared to what?
 * Linear probe and kNN beside raw pixels, the random-init encoder and the
 * supervised baseline; kNN sliders; the label-efficiency curve; the
 * confusion matrix with the misclassified test images; a second run side
 * by side. The numbers are core/pt-run-eval's, as `pretext-cli probe`. */
#pragma once

#include <gtk/gtk.h>

#include "pt-run-eval.h"

G_BEGIN_DECLS

#define PT_TYPE_EVALUATE_PAGE (pt_evaluate_page_get_type ())
G_DECLARE_FINAL_TYPE (PtEvaluatePage, pt_evaluate_page, PT, EVALUATE_PAGE, GtkWidget)

/* Result slots: the evaluated run's kinds (PtEvalKind), then the compared run. */
#define PT_EVALUATE_SLOT_COMPARE PT_EVAL_N_KINDS
#define PT_EVALUATE_N_SLOTS      (PT_EVAL_N_KINDS + 1)

/* Where runs are listed from (NULL: the default root); refreshes. */
void      pt_evaluate_page_set_runs_root (PtEvaluatePage *self,
                                          const char     *root);
/* Selects the run in dir (and lists runs again). */
void      pt_evaluate_page_show_run      (PtEvaluatePage *self,
                                          const char     *dir);
/* The run to compare with, or NULL for none. */
void      pt_evaluate_page_set_compare   (PtEvaluatePage *self,
                                          const char     *dir);
/* Labels: fraction in (0, 1] (per_class 0), or per_class > 0. */
void      pt_evaluate_page_set_labels    (PtEvaluatePage *self,
                                          double          fraction,
                                          int             per_class);
/* The projector's features instead of the backbone's. */
void      pt_evaluate_page_set_projection (PtEvaluatePage *self,
                                           gboolean        projection);
/* Whether the selected run's method has a projector. */
gboolean  pt_evaluate_page_get_projection_available (PtEvaluatePage *self);
void      pt_evaluate_page_set_supervised (PtEvaluatePage *self,
                                           gboolean        supervised);
/* Starts the evaluation / the label curve (as the buttons do). */
void      pt_evaluate_page_evaluate      (PtEvaluatePage *self);
void      pt_evaluate_page_compute_curve (PtEvaluatePage *self);
/* The label curve's points in labels per class (at most 16), below the
 * largest class, then (all) every label. */
void      pt_evaluate_page_set_curve_points (PtEvaluatePage *self,
                                             const int      *per_class,
                                             int             n,
                                             gboolean        all);
/* The selected run, or NULL. */
const char *pt_evaluate_page_get_run_dir (PtEvaluatePage *self);
gboolean  pt_evaluate_page_get_busy      (PtEvaluatePage *self);
/* Evaluations and curves finished since creation. */
guint     pt_evaluate_page_get_n_done    (PtEvaluatePage *self);
/* The last error shown, or NULL. */
const char *pt_evaluate_page_get_error   (PtEvaluatePage *self);
/* The shown result in slot, or NULL. */
const PtRunEvalResult *pt_evaluate_page_get_result (PtEvaluatePage *self,
                                                    guint           slot);
/* The shown curve of slot (n_points points), or NULL. */
const PtLabelCurvePoint *pt_evaluate_page_get_curve (PtEvaluatePage *self,
                                                     guint           slot,
                                                     int            *n_points);
/* Moves the kNN sliders (re-scores every result from its cache). */
void      pt_evaluate_page_set_knn       (PtEvaluatePage *self,
                                          int             k,
                                          double          t);
/* Shows confusion source i (0: the SSL linear probe) and clicks cell
 * (truth, pred); returns the thumbnails shown. */
guint     pt_evaluate_page_activate_cell (PtEvaluatePage *self,
                                          int             truth,
                                          int             pred);
/* Export as the menu does: "json", "csv", "linear-png", "curve-svg", ... */
gboolean  pt_evaluate_page_export        (PtEvaluatePage *self,
                                          const char     *what,
                                          const char     *path,
                                          GError        **error);

G_END_DECLS
