/* pt-window.h: the workbench window: header bar, page sidebar, page stack. */
#pragma once

#include <gtk/gtk.h>

#include "pt-application.h"

G_BEGIN_DECLS

#define PT_TYPE_WINDOW (pt_window_get_type ())
G_DECLARE_FINAL_TYPE (PtWindow, pt_window, PT, WINDOW, GtkApplicationWindow)

/* page: the page to show first, or NULL for the last one used;
 * dataset: a dataset spec to open, or NULL for the default. */
PtWindow   *pt_window_new        (PtApplication *application,
                                  const char    *page,
                                  const char    *dataset);
/* Opens a dataset spec on the Data page (every page follows it). */
void        pt_window_open_dataset (PtWindow    *self,
                                    const char  *dataset);
void        pt_window_set_page   (PtWindow      *self,
                                  const char    *page);
const char *pt_window_get_page   (PtWindow      *self);

G_END_DECLS
