/* pt-application.h: the Pretext GtkApplication. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PT_TYPE_APPLICATION (pt_application_get_type ())
G_DECLARE_FINAL_TYPE (PtApplication, pt_application, PT, APPLICATION, GtkApplication)

PtApplication *pt_application_new          (void);

/* The application's settings, or NULL when the schema cannot be found (the
 * app then runs without remembering anything). Borrowed. */
GSettings     *pt_application_get_settings (PtApplication *self);

G_END_DECLS
