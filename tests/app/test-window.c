/* The workbench window under a real display (Xvfb in `make test`). */
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-application.h"
#include "pt-evaluate-page.h"
#include "pt-pages.h"
#include "pt-test-gtk.h"
#include "pt-threads.h"
#include "pt-window.h"

static PtApplication *app;

static void
wait_mapped (GtkWidget *widget)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (!gtk_widget_get_mapped (widget) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (gtk_widget_get_mapped (widget));
}

static void
close_window (GtkWindow *window)
{
  gtk_window_close (window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
test_window_opens (void)
{
  PtWindow *window = pt_window_new (app, NULL, NULL);
  GtkWidget *titlebar, *menu_button, *sidebar, *stack;

  gtk_window_present (GTK_WINDOW (window));
  wait_mapped (GTK_WIDGET (window));

  titlebar = gtk_window_get_titlebar (GTK_WINDOW (window));
  g_assert_true (GTK_IS_HEADER_BAR (titlebar));
  menu_button = pt_test_find_widget (titlebar, GTK_TYPE_MENU_BUTTON, NULL, NULL);
  g_assert_nonnull (menu_button);
  g_assert_nonnull (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (menu_button)));

  sidebar = pt_test_find_widget (GTK_WIDGET (window), GTK_TYPE_STACK_SIDEBAR, NULL, NULL);
  g_assert_nonnull (sidebar);
  g_assert_true (gtk_widget_get_mapped (sidebar));
  stack = GTK_WIDGET (gtk_stack_sidebar_get_stack (GTK_STACK_SIDEBAR (sidebar)));
  g_assert_nonnull (stack);

  /* Every registered page is in the stack, in order, with its title. */
  {
    g_autoptr(GtkSelectionModel) pages = gtk_stack_get_pages (GTK_STACK (stack));
    g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (pages)), ==, pt_pages_get_count ());
    for (guint i = 0; i < pt_pages_get_count (); i++)
      {
        g_autoptr(GObject) page_obj = g_list_model_get_item (G_LIST_MODEL (pages), i);
        g_assert_cmpstr (gtk_stack_page_get_name (GTK_STACK_PAGE (page_obj)), ==, pt_pages_get_all ()[i].name);
        g_assert_nonnull (gtk_stack_page_get_title (GTK_STACK_PAGE (page_obj)));
      }
  }

  /* The app actions the primary menu points at exist. */
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "preferences"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "about"));
  g_assert_true (g_action_group_has_action (G_ACTION_GROUP (app), "quit"));

  close_window (GTK_WINDOW (window));
}

static void
test_window_pages_switch (void)
{
  PtWindow *window;

  if (pt_pages_get_count () == 0)
    {
      g_test_skip ("no page has landed yet");
      return;
    }

  for (guint i = 0; i < pt_pages_get_count (); i++)
    {
      const char *name = pt_pages_get_all ()[i].name;

      window = pt_window_new (app, name, NULL);
      gtk_window_present (GTK_WINDOW (window));
      wait_mapped (GTK_WIDGET (window));
      g_assert_cmpstr (pt_window_get_page (window), ==, name);
      close_window (GTK_WINDOW (window));
    }
}

/* The Runs page's Evaluate… (win.evaluate-run) opens that run on the
 * Evaluate page. A run folder needs only its config.ini to be listed. */
static void
test_window_evaluate_run (void)
{
  g_autofree char *root = g_build_filename (g_get_user_data_dir (), "pretext", "runs", NULL);
  g_autofree char *dir = g_build_filename (root, "window-test-run", NULL);
  g_autofree char *config = g_build_filename (dir, "config.ini", NULL);
  PtWindow *window;
  GtkWidget *page;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (g_file_set_contents (config, "[run]\nmethod=simclr\ndataset=shapes\ncreated=2026-11-23T00:00:00Z\n", -1, NULL));

  window = pt_window_new (app, "runs", NULL);
  gtk_window_present (GTK_WINDOW (window));
  wait_mapped (GTK_WIDGET (window));
  gtk_widget_activate_action (GTK_WIDGET (window), "win.evaluate-run", "s", dir);
  g_assert_cmpstr (pt_window_get_page (window), ==, "evaluate");
  page = pt_test_find_widget (GTK_WIDGET (window), PT_TYPE_EVALUATE_PAGE, NULL, NULL);
  g_assert_nonnull (page);
  g_assert_cmpstr (pt_evaluate_page_get_run_dir (PT_EVALUATE_PAGE (page)), ==, dir);
  close_window (GTK_WINDOW (window));

  g_unlink (config);
  g_rmdir (dir);
}

static void
test_window_state_persists (void)
{
  GSettings *settings = pt_application_get_settings (app);
  PtWindow *window;
  int w, h;

  g_assert_nonnull (settings);

  window = pt_window_new (app, NULL, NULL);
  gtk_window_set_default_size (GTK_WINDOW (window), 1240, 760);
  gtk_window_present (GTK_WINDOW (window));
  wait_mapped (GTK_WIDGET (window));
  close_window (GTK_WINDOW (window));

  g_assert_cmpint (g_settings_get_int (settings, "window-width"), ==, 1240);
  g_assert_cmpint (g_settings_get_int (settings, "window-height"), ==, 760);

  window = pt_window_new (app, NULL, NULL);
  gtk_window_get_default_size (GTK_WINDOW (window), &w, &h);
  g_assert_cmpint (w, ==, 1240);
  g_assert_cmpint (h, ==, 760);
  gtk_window_destroy (GTK_WINDOW (window));
}

static void
test_window_preferences_threads (void)
{
  GSettings *settings = pt_application_get_settings (app);

  g_action_group_activate_action (G_ACTION_GROUP (app), "preferences", NULL);
  g_settings_set_int (settings, "compute-threads", 1);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
  g_assert_cmpint (pt_threads_get (), ==, 1);
  g_settings_set_int (settings, "compute-threads", 2);
  g_assert_cmpint (pt_threads_get (), ==, 2);
  g_settings_reset (settings, "compute-threads");

  /* The preferences window opened as a real toplevel. */
  {
    g_autoptr(GListModel) toplevels = gtk_window_get_toplevels ();
    gboolean found = FALSE;

    for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
      {
        g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);
        if (g_str_equal (G_OBJECT_TYPE_NAME (w), "PtPreferencesWindow"))
          {
            found = TRUE;
            gtk_window_destroy (w);
          }
      }
    g_assert_true (found);
  }
}

static void
test_window_unknown_page (void)
{
  const char *argv[] = { g_getenv ("PRETEXT"), "--page", "no-such-page", NULL };
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  int status = 0;

  g_assert_nonnull (argv[0]);
  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &out, &err, &status, &error);
  g_assert_no_error (error);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 2);
  g_assert_nonnull (strstr (err, "no-such-page"));
  g_assert_nonnull (strstr (err, "Valid pages"));
  for (guint i = 0; i < pt_pages_get_count (); i++)
    g_assert_nonnull (strstr (err, pt_pages_get_all ()[i].name));
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  /* The pure CLI check needs no display. */
  g_test_add_func ("/app/window/unknown-page", test_window_unknown_page);

  if (!pt_test_gtk_init ())
    {
      g_test_skip ("no display");
      return g_test_run ();
    }

  app = pt_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));

  g_test_add_func ("/app/window/opens", test_window_opens);
  g_test_add_func ("/app/window/pages-switch", test_window_pages_switch);
  g_test_add_func ("/app/window/state-persists", test_window_state_persists);
  g_test_add_func ("/app/window/evaluate-run", test_window_evaluate_run);
  g_test_add_func ("/app/window/preferences-threads", test_window_preferences_threads);

  ret = g_test_run ();
  g_clear_object (&app);
  return ret;
}
