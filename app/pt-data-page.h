/* pt-data-page.h: the Data page: choose a dataset, browse it, read its
 * sanity report. The dataset chosen here is what the other pages use. */
#pragma once

#include <gtk/gtk.h>

#include "pt-dataset.h"

G_BEGIN_DECLS

#define PT_TYPE_DATA_PAGE (pt_data_page_get_type ())
G_DECLARE_FINAL_TYPE (PtDataPage, pt_data_page, PT, DATA_PAGE, GtkWidget)

/* The loaded dataset, or NULL while none is (or while loading). Borrowed. */
PtDataset  *pt_data_page_get_dataset  (PtDataPage *self);
gboolean    pt_data_page_get_loading  (PtDataPage *self);
/* The message shown when the last load failed, or NULL. */
const char *pt_data_page_get_error    (PtDataPage *self);
/* Loads spec (as on the command line) in the background. */
void        pt_data_page_load         (PtDataPage *self,
                                       const char *spec,
                                       PtSplit     split);
/* The grid's model (a GtkSingleSelection over a PtImageList), or NULL. */
GtkSelectionModel *pt_data_page_get_selection (PtDataPage *self);
/* Starts loading the default dataset unless one was asked for already. */
void        pt_data_page_ensure_loaded (PtDataPage *self);
void        pt_data_page_set_class_filter (PtDataPage *self,
                                           int         klass);

G_END_DECLS
