/* pt-runs-page.h: every run (running and past) with its method, dataset,
 * steps, last loss and probe result; select runs to overlay their curves. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PT_TYPE_RUNS_PAGE (pt_runs_page_get_type ())
G_DECLARE_FINAL_TYPE (PtRunsPage, pt_runs_page, PT, RUNS_PAGE, GtkWidget)

/* Where runs are listed from (NULL: the default root); refreshes. */
void   pt_runs_page_set_runs_root (PtRunsPage *self,
                                   const char *root);
void   pt_runs_page_refresh       (PtRunsPage *self);
guint  pt_runs_page_get_n_runs    (PtRunsPage *self);
/* Selects run i (adding to the selection when extend) and plots it. */
void   pt_runs_page_select        (PtRunsPage *self,
                                   guint       i,
                                   gboolean    extend);
/* Series in the loss overlay (one per selected run, once loaded). */
guint  pt_runs_page_get_n_curves  (PtRunsPage *self);
/* Points of the kNN-monitor curve of overlaid run `series` (tests). */
guint  pt_runs_page_get_n_knn_points (PtRunsPage *self,
                                      guint       series);

G_END_DECLS
