/* pt-ui.h: shared helpers of the widget library. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Registers the GResource bundle and the widget types used in templates.
 * Safe to call more than once. */
void pt_ui_init (void);

G_END_DECLS
