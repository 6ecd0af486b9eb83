/* pt-preferences-window.h: colour scheme and compute threads. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PT_TYPE_PREFERENCES_WINDOW (pt_preferences_window_get_type ())
G_DECLARE_FINAL_TYPE (PtPreferencesWindow, pt_preferences_window, PT, PREFERENCES_WINDOW, GtkWindow)

/* settings may be NULL: the controls then work for this session only. */
PtPreferencesWindow *pt_preferences_window_new (GtkWindow *parent,
                                                GSettings *settings);

G_END_DECLS
