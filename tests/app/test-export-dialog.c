/* File > Export…: the dialog's own export (not the native chooser) on a
 * small SimCLR run made here: every format written where asked, readable by
 * Pretext's readers and consistent with each other; mistakes reported in
 * the dialog, nothing half-written. */
#include <signal.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-application.h"
#include "pt-encoder.h"
#include "pt-export-dialog.h"
#include "pt-methods.h"
#include "pt-npy.h"
#include "pt-safetensors.h"
#include "pt-test-gtk.h"
#include "pt-threads.h"
#include "pt-train-spec.h"
#include "pt-ui.h"
#include "pt-window.h"
#include "pt-test-util.h"

static char *tmp;
static char *runs_root;
static char *run_dir;

static gboolean
not_busy (gpointer data)
{
  return !pt_export_dialog_get_busy (data);
}

static void
wait_done (PtExportDialog *dialog)
{
  gint64 deadline = g_get_monotonic_time () + 120 * G_USEC_PER_SEC;

  while (!not_busy (dialog) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  g_assert_false (pt_export_dialog_get_busy (dialog));
  /* let the last progress idles run */
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

static void
make_run (void)
{
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  volatile sig_atomic_t stop = 0;

  spec->method = g_strdup ("simclr");
  spec->dataset = g_strdup ("shapes");
  spec->encoder = g_strdup ("cnn");
  spec->width = 4;
  spec->batch_size = 16;
  spec->steps = 2;
  spec->out_dir = g_strdup (run_dir);
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, &stop, &error));
  g_assert_no_error (error);
}

static void
test_export_all (void)
{
  g_autofree char *dest = g_build_filename (tmp, "out", NULL);
  g_autofree char *npy = g_build_filename (dest, "emb.npy", NULL);
  g_autofree char *labels = g_build_filename (dest, "emb.labels.npy", NULL);
  g_autofree char *csv = g_build_filename (dest, "emb.csv", NULL);
  g_autofree char *weights = g_build_filename (dest, "emb.safetensors", NULL);
  g_autofree char *projector = g_build_filename (dest, "emb-projector", NULL);
  const char *bundle[] = { "tensors.tsv", "metadata.tsv", "sprite.png", "projector_config.pbtxt" };
  PtExportDialog *dialog;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(PtSafetensors) st = NULL;
  g_autofree float *x = NULL;
  g_autofree gint64 *y = NULL;
  g_autofree char *csv_text = NULL;
  g_auto(GStrv) csv_lines = NULL;
  guint64 rows = 0, dim = 0, n_labels = 0;

  g_assert_cmpint (g_mkdir (dest, 0755), ==, 0);
  dialog = pt_export_dialog_new (NULL, runs_root, NULL);
  g_assert_cmpstr (pt_export_dialog_get_run (dialog), ==, run_dir);
  gtk_window_present (GTK_WINDOW (dialog));
  pt_export_dialog_set_formats (dialog, PT_EXPORT_NPY | PT_EXPORT_PROJECTOR | PT_EXPORT_CSV
                                        | PT_EXPORT_SAFETENSORS);
  pt_export_dialog_set_destination (dialog, dest);
  pt_export_dialog_set_name (dialog, "emb");
  pt_export_dialog_export (dialog);
  g_assert_true (pt_export_dialog_get_busy (dialog));
  wait_done (dialog);
  g_test_message ("%s", pt_export_dialog_get_message (dialog));
  g_assert_true (pt_export_dialog_get_succeeded (dialog));
  g_assert_nonnull (strstr (pt_export_dialog_get_message (dialog), dest));

  x = pt_npy_load_f32 (npy, &rows, &dim, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (dim, ==, 8 * 4);
  g_assert_cmpuint (rows, >, 0);
  y = pt_npy_load_i64 (labels, &n_labels, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n_labels, ==, rows);
  for (guint64 i = 0; i < n_labels; i++)
    g_assert_cmpint (y[i], >=, 0);
  for (guint i = 0; i < G_N_ELEMENTS (bundle); i++)
    {
      g_autofree char *f = g_build_filename (projector, bundle[i], NULL);

      g_assert_true (g_file_test (f, G_FILE_TEST_IS_REGULAR));
    }
  g_assert_true (g_file_get_contents (csv, &csv_text, NULL, NULL));
  csv_lines = g_strsplit (csv_text, "\n", -1);
  g_assert_cmpuint (g_strv_length (csv_lines), ==, rows + 2);   /* header, rows, "" */

  st = pt_safetensors_load (weights, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "method"), ==, "simclr");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "encoder"), ==, "cnn");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "step"), ==, "2");
  enc = pt_encoder_load_safetensors (weights, 32, 32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (enc->cnn_width, ==, 4);
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
test_export_errors (void)
{
  g_autofree char *missing = g_build_filename (tmp, "no", "such", "folder", NULL);
  g_autofree char *dest = g_build_filename (tmp, "out2", NULL);
  PtExportDialog *dialog = pt_export_dialog_new (NULL, runs_root, run_dir);
  g_autoptr(GDir) d = NULL;

  /* nothing chosen yet: no folder */
  pt_export_dialog_export (dialog);
  g_assert_false (pt_export_dialog_get_busy (dialog));
  g_assert_false (pt_export_dialog_get_succeeded (dialog));
  g_assert_nonnull (strstr (pt_export_dialog_get_message (dialog), "folder"));

  /* nothing to export */
  g_assert_cmpint (g_mkdir (dest, 0755), ==, 0);
  pt_export_dialog_set_destination (dialog, dest);
  pt_export_dialog_set_formats (dialog, 0);
  pt_export_dialog_export (dialog);
  g_assert_false (pt_export_dialog_get_succeeded (dialog));

  /* a folder that does not exist: the error comes back from the worker */
  pt_export_dialog_set_formats (dialog, PT_EXPORT_NPY | PT_EXPORT_CSV);
  pt_export_dialog_set_destination (dialog, missing);
  pt_export_dialog_export (dialog);
  wait_done (dialog);
  g_assert_false (pt_export_dialog_get_succeeded (dialog));
  g_assert_nonnull (strstr (pt_export_dialog_get_message (dialog), missing));

  /* and nothing was left in the folder that does exist */
  d = g_dir_open (dest, 0, NULL);
  g_assert_null (g_dir_read_name (d));
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static void
test_no_runs (void)
{
  g_autofree char *empty = g_build_filename (tmp, "empty-root", NULL);
  PtExportDialog *dialog = pt_export_dialog_new (NULL, empty, NULL);

  g_assert_null (pt_export_dialog_get_run (dialog));
  pt_export_dialog_set_destination (dialog, tmp);
  pt_export_dialog_export (dialog);
  g_assert_false (pt_export_dialog_get_succeeded (dialog));
  g_assert_nonnull (strstr (pt_export_dialog_get_message (dialog), "no run"));
  gtk_window_destroy (GTK_WINDOW (dialog));
}

static gboolean
menu_has_action (GMenuModel *model,
                 const char *action)
{
  for (int i = 0; i < g_menu_model_get_n_items (model); i++)
    {
      g_autofree char *name = NULL;
      g_autoptr(GMenuModel) section = g_menu_model_get_item_link (model, i, G_MENU_LINK_SECTION);

      if (g_menu_model_get_item_attribute (model, i, G_MENU_ATTRIBUTE_ACTION, "s", &name) &&
          g_strcmp0 (name, action) == 0)
        return TRUE;
      if (section != NULL && menu_has_action (section, action))
        return TRUE;
    }
  return FALSE;
}

/* The primary menu's Export… opens the dialog over the window. */
static void
test_window_menu (void)
{
  g_autoptr(PtApplication) app = pt_application_new ();
  PtWindow *window;
  GtkWidget *menu_button;
  GtkWindow *dialog = NULL;
  g_autoptr(GListModel) toplevels = NULL;

  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));
  window = pt_window_new (app, NULL, NULL);
  gtk_window_present (GTK_WINDOW (window));
  menu_button = pt_test_find_widget (gtk_window_get_titlebar (GTK_WINDOW (window)),
                                     GTK_TYPE_MENU_BUTTON, NULL, NULL);
  g_assert_nonnull (menu_button);
  g_assert_true (menu_has_action (gtk_menu_button_get_menu_model (GTK_MENU_BUTTON (menu_button)),
                                  "win.export"));
  g_assert_true (gtk_widget_activate_action (GTK_WIDGET (window), "win.export", NULL));
  toplevels = gtk_window_get_toplevels ();
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GtkWindow) w = g_list_model_get_item (toplevels, i);

      if (PT_IS_EXPORT_DIALOG (w))
        dialog = w;
    }
  g_assert_nonnull (dialog);
  g_assert_true (gtk_window_get_transient_for (dialog) == GTK_WINDOW (window));
  gtk_window_destroy (dialog);
  gtk_window_destroy (GTK_WINDOW (window));
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/export-dialog/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }
  pt_ui_init ();
  pt_methods_register_builtin ();
  pt_threads_set (1);
  tmp = g_dir_make_tmp ("pt-export-dialog-XXXXXX", NULL);
  runs_root = g_build_filename (tmp, "runs", NULL);
  run_dir = g_build_filename (runs_root, "simclr-shapes", NULL);
  make_run ();

  g_test_add_func ("/app/export-dialog/all-formats", test_export_all);
  g_test_add_func ("/app/export-dialog/errors", test_export_errors);
  g_test_add_func ("/app/export-dialog/no-runs", test_no_runs);
  g_test_add_func ("/app/export-dialog/window-menu", test_window_menu);
  ret = g_test_run ();
  pt_test_remove_tree (tmp);
  g_free (run_dir);
  g_free (runs_root);
  g_free (tmp);
  return ret;
}
