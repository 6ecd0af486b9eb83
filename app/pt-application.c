/* pt-application.c: the Pretext GtkApplication.
 *
 * Owns the settings, the app-wide actions (preferences, about, quit), the
 * colour-scheme preference and the compute-thread preference. Windows are
 * PtWindow; `--page NAME` picks the page the first window shows.
 */
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-application.h"
#include "pt-pages.h"
#include "pt-methods.h"
#include "pt-preferences-window.h"
#include "pt-threads.h"
#include "pt-ui.h"
#include "pt-window.h"

struct _PtApplication
{
  GtkApplication  parent_instance;

  GSettings      *settings;
  GSettings      *desktop_settings;   /* org.gnome.desktop.interface, if any */
  char           *initial_page;
  char           *initial_dataset;
};

G_DEFINE_FINAL_TYPE (PtApplication, pt_application, GTK_TYPE_APPLICATION)

/* Looks the schema up where an installed app finds it, then in the build
 * tree (running from build/ without installing). */
static GSettings *
pt_application_create_settings (void)
{
  g_autoptr(GSettingsSchemaSource) build_source = NULL;
  g_autoptr(GSettingsSchema) schema = NULL;
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();

  if (source != NULL)
    schema = g_settings_schema_source_lookup (source, PT_APP_ID, TRUE);

  if (schema == NULL)
    {
      build_source = g_settings_schema_source_new_from_directory (PT_BUILD_SCHEMA_DIR,
                                                                  source, FALSE, NULL);
      if (build_source != NULL)
        schema = g_settings_schema_source_lookup (build_source, PT_APP_ID, FALSE);
    }

  if (schema == NULL)
    {
      g_message ("Settings schema %s not found; preferences will not be remembered", PT_APP_ID);
      return NULL;
    }

  return g_settings_new_full (schema, NULL, NULL);
}

static gboolean
pt_application_system_prefers_dark (PtApplication *self)
{
  g_autofree char *scheme = NULL;

  if (self->desktop_settings == NULL)
    return FALSE;
  scheme = g_settings_get_string (self->desktop_settings, "color-scheme");
  return g_strcmp0 (scheme, "prefer-dark") == 0;
}

static void
pt_application_update_color_scheme (PtApplication *self)
{
  GtkSettings *gtk_settings = gtk_settings_get_default ();
  gboolean dark = FALSE;

  if (gtk_settings == NULL)
    return;

  switch (self->settings ? g_settings_get_enum (self->settings, "color-scheme") : 0)
    {
    case 1: dark = FALSE; break;
    case 2: dark = TRUE; break;
    default: dark = pt_application_system_prefers_dark (self); break;
    }

  g_object_set (gtk_settings, "gtk-application-prefer-dark-theme", dark, NULL);
}

static void
on_color_scheme_changed_cb (PtApplication *self)
{
  pt_application_update_color_scheme (self);
}

static void
pt_application_update_threads (PtApplication *self)
{
  int n = self->settings ? g_settings_get_int (self->settings, "compute-threads") : 0;

  pt_threads_set (n);
}

static void
on_compute_threads_changed_cb (PtApplication *self)
{
  pt_application_update_threads (self);
}

static void
pt_application_watch_desktop (PtApplication *self)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source == NULL)
    return;
  schema = g_settings_schema_source_lookup (source, "org.gnome.desktop.interface", TRUE);
  if (schema == NULL || !g_settings_schema_has_key (schema, "color-scheme"))
    return;

  self->desktop_settings = g_settings_new_full (schema, NULL, NULL);
  g_signal_connect_object (self->desktop_settings, "changed::color-scheme",
                           G_CALLBACK (on_color_scheme_changed_cb), self,
                           G_CONNECT_SWAPPED);
}

static void
pt_application_quit_action (GSimpleAction *action,
                            GVariant      *parameter,
                            gpointer       user_data)
{
  PtApplication *self = user_data;
  GList *windows = gtk_application_get_windows (GTK_APPLICATION (self));

  /* Close windows properly so each saves its state. No g_application_quit():
   * it would end the main loop while background work still runs on worker
   * threads (the pages hold the application until their cancelled work has
   * returned, pt-app-task.h); with the last window gone and that work
   * returned, the application quits by itself. */
  for (GList *l = g_list_copy (windows); l != NULL; l = g_list_delete_link (l, l))
    gtk_window_close (GTK_WINDOW (l->data));
}

static void
pt_application_preferences_action (GSimpleAction *action,
                                   GVariant      *parameter,
                                   gpointer       user_data)
{
  PtApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  PtPreferencesWindow *prefs = pt_preferences_window_new (parent, self->settings);

  gtk_window_present (GTK_WINDOW (prefs));
}

static void
pt_application_about_action (GSimpleAction *action,
                             GVariant      *parameter,
                             gpointer       user_data)
{
  PtApplication *self = user_data;
  GtkWindow *parent = gtk_application_get_active_window (GTK_APPLICATION (self));
  const char *authors[] = { _("The Pretext developers"), NULL };

  gtk_show_about_dialog (parent,
                         "program-name", _("Pretext"),
                         "logo-icon-name", PT_APP_ID,
                         "version", PT_VERSION,
                         "comments", _("A workbench for self-supervised visual representation learning"),
                         "website", "https://github.com/pretext/pretext",
                         "license-type", GTK_LICENSE_GPL_3_0,
                         "authors", authors,
                         "translator-credits", _("translator-credits"),
                         "modal", TRUE,
                         NULL);
}

static const GActionEntry app_actions[] = {
  { "quit", pt_application_quit_action },
  { "preferences", pt_application_preferences_action },
  { "about", pt_application_about_action },
};

static void
pt_application_startup (GApplication *app)
{
  PtApplication *self = PT_APPLICATION (app);
  static const char *quit_accels[] = { "<Control>q", NULL };
  static const char *prefs_accels[] = { "<Control>comma", NULL };
  static const char *help_accels[] = { "<Control>question", "F1", NULL };
  static const char *close_accels[] = { "<Control>w", NULL };

  G_APPLICATION_CLASS (pt_application_parent_class)->startup (app);

  pt_ui_init ();
  pt_methods_register_builtin ();
  gtk_icon_theme_add_resource_path (gtk_icon_theme_get_for_display (gdk_display_get_default ()),
                                    PT_RESOURCE_PATH "/icons");
  gtk_window_set_default_icon_name (PT_APP_ID);

  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions,
                                   G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.preferences", prefs_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "win.show-help-overlay", help_accels);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "window.close", close_accels);

  for (guint i = 0; i < pt_pages_get_count () && i < 9; i++)
    {
      g_autofree char *action = g_strdup_printf ("win.page::%s", pt_pages_get_all ()[i].name);
      g_autofree char *accel = g_strdup_printf ("<Alt>%u", i + 1);
      const char *accels[] = { accel, NULL };

      gtk_application_set_accels_for_action (GTK_APPLICATION (self), action, accels);
    }

  self->settings = pt_application_create_settings ();
  pt_application_watch_desktop (self);
  if (self->settings != NULL)
    {
      g_signal_connect_object (self->settings, "changed::color-scheme",
                               G_CALLBACK (on_color_scheme_changed_cb), self,
                               G_CONNECT_SWAPPED);
      g_signal_connect_object (self->settings, "changed::compute-threads",
                               G_CALLBACK (on_compute_threads_changed_cb), self,
                               G_CONNECT_SWAPPED);
    }
  pt_application_update_color_scheme (self);
  pt_application_update_threads (self);
}

static void
pt_application_activate (GApplication *app)
{
  PtApplication *self = PT_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (self));

  if (window == NULL)
    window = GTK_WINDOW (pt_window_new (self, self->initial_page, self->initial_dataset));
  else
    {
      if (self->initial_page != NULL)
        pt_window_set_page (PT_WINDOW (window), self->initial_page);
      if (self->initial_dataset != NULL)
        pt_window_open_dataset (PT_WINDOW (window), self->initial_dataset);
    }

  g_clear_pointer (&self->initial_page, g_free);
  g_clear_pointer (&self->initial_dataset, g_free);
  gtk_window_present (window);
}

static int
pt_application_handle_local_options (GApplication *app,
                                     GVariantDict *options)
{
  PtApplication *self = PT_APPLICATION (app);
  const char *page = NULL;
  const char *dataset = NULL;

  if (g_variant_dict_contains (options, "version"))
    {
      g_print ("pretext %s\n", PT_VERSION);
      return 0;
    }

  if (g_variant_dict_lookup (options, "dataset", "&s", &dataset))
    {
      g_free (self->initial_dataset);
      self->initial_dataset = g_strdup (dataset);
    }

  if (g_variant_dict_lookup (options, "page", "&s", &page))
    {
      if (pt_pages_lookup (page) == NULL)
        {
          g_autofree char *names = pt_pages_dup_names ();

          /* TRANSLATORS: first %s is what the user typed, second the list of pages */
          g_printerr (_("Unknown page “%s”. Valid pages: %s.\n"), page,
                      *names ? names : _("none yet"));
          return 2;
        }
      g_free (self->initial_page);
      self->initial_page = g_strdup (page);
    }

  return -1;
}

static void
pt_application_dispose (GObject *object)
{
  PtApplication *self = PT_APPLICATION (object);

  g_clear_object (&self->settings);
  g_clear_object (&self->desktop_settings);

  G_OBJECT_CLASS (pt_application_parent_class)->dispose (object);
}

static void
pt_application_finalize (GObject *object)
{
  PtApplication *self = PT_APPLICATION (object);

  g_free (self->initial_page);
  g_free (self->initial_dataset);

  G_OBJECT_CLASS (pt_application_parent_class)->finalize (object);
}

static void
pt_application_class_init (PtApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = pt_application_dispose;
  object_class->finalize = pt_application_finalize;

  app_class->startup = pt_application_startup;
  app_class->activate = pt_application_activate;
  app_class->handle_local_options = pt_application_handle_local_options;
}

static void
pt_application_init (PtApplication *self)
{
  static const GOptionEntry entries[] = {
    { "page", 'p', 0, G_OPTION_ARG_STRING, NULL,
      N_("Open the window on this page"), N_("NAME") },
    { "dataset", 'd', 0, G_OPTION_ARG_STRING, NULL,
      N_("Open this dataset (shapes, fashion-mnist, a folder, …)"), N_("DATASET") },
    { "version", 0, 0, G_OPTION_ARG_NONE, NULL,
      N_("Print the version and exit"), NULL },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("A workbench for self-supervised visual representation learning."));
}

PtApplication *
pt_application_new (void)
{
  /* NON_UNIQUE: a second `pretext --page X` opens its own window on that
   * page, which is what demos and screenshot scripts expect. */
  return g_object_new (PT_TYPE_APPLICATION,
                       "application-id", PT_APP_ID,
                       "resource-base-path", PT_RESOURCE_PATH,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       NULL);
}

GSettings *
pt_application_get_settings (PtApplication *self)
{
  g_return_val_if_fail (PT_IS_APPLICATION (self), NULL);

  return self->settings;
}
