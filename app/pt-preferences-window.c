/* pt-preferences-window.c: colour scheme and compute threads. */
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-preferences-window.h"
#include "pt-threads.h"

struct _PtPreferencesWindow
{
  GtkWindow       parent_instance;

  GtkDropDown    *color_scheme_dropdown;
  GtkSpinButton  *threads_spin;
  GtkLabel       *threads_hint;
};

G_DEFINE_FINAL_TYPE (PtPreferencesWindow, pt_preferences_window, GTK_TYPE_WINDOW)

/* The schema enum nicks in drop-down order. */
static const char *color_scheme_nicks[] = { "default", "light", "dark" };

static gboolean
color_scheme_get_mapping (GValue   *value,
                          GVariant *variant,
                          gpointer  user_data)
{
  const char *nick = g_variant_get_string (variant, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (color_scheme_nicks); i++)
    if (g_str_equal (nick, color_scheme_nicks[i]))
      {
        g_value_set_uint (value, i);
        return TRUE;
      }
  return FALSE;
}

static GVariant *
color_scheme_set_mapping (const GValue       *value,
                          const GVariantType *expected_type,
                          gpointer            user_data)
{
  guint i = g_value_get_uint (value);

  if (i >= G_N_ELEMENTS (color_scheme_nicks))
    return NULL;
  return g_variant_new_string (color_scheme_nicks[i]);
}

static void
pt_preferences_window_class_init (PtPreferencesWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               PT_RESOURCE_PATH "/ui/pt-preferences-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PtPreferencesWindow, color_scheme_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtPreferencesWindow, threads_spin);
  gtk_widget_class_bind_template_child (widget_class, PtPreferencesWindow, threads_hint);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
pt_preferences_window_init (PtPreferencesWindow *self)
{
  g_autofree char *hint = NULL;

  gtk_widget_init_template (GTK_WIDGET (self));

  /* TRANSLATORS: %d is the number of processors of this computer */
  hint = g_strdup_printf (_("0 uses all %d processors. Takes effect for the next run."),
                          pt_threads_n_online ());
  gtk_label_set_label (self->threads_hint, hint);
}

PtPreferencesWindow *
pt_preferences_window_new (GtkWindow *parent,
                           GSettings *settings)
{
  PtPreferencesWindow *self = g_object_new (PT_TYPE_PREFERENCES_WINDOW,
                                            "transient-for", parent,
                                            "application", parent ? gtk_window_get_application (parent) : NULL,
                                            NULL);

  if (settings != NULL)
    {
      g_settings_bind_with_mapping (settings, "color-scheme",
                                    self->color_scheme_dropdown, "selected",
                                    G_SETTINGS_BIND_DEFAULT,
                                    color_scheme_get_mapping, color_scheme_set_mapping,
                                    NULL, NULL);
      g_settings_bind (settings, "compute-threads",
                       self->threads_spin, "value", G_SETTINGS_BIND_DEFAULT);
    }

  return self;
}
