/* pt-import-dialog.c: the "Open Embeddings" window. */
#include <glib/gi18n.h>

#include "pt-import-dialog.h"

typedef struct {
  GtkWindow          *window;
  GtkWidget          *open_button;
  GtkWidget          *buttons[3];    /* npy, labels, images */
  char               *paths[3];
  PtImportChosenFunc  func;
  gpointer            user_data;
  GDestroyNotify      destroy;
} ImportDialog;

static const char *row_names[3] = { "npy", "labels", "images" };

static void
import_dialog_free (ImportDialog *d)
{
  for (int i = 0; i < 3; i++)
    g_free (d->paths[i]);
  if (d->destroy != NULL)
    d->destroy (d->user_data);
  g_free (d);
}

static void
update_row (ImportDialog *d,
            int           row)
{
  g_autofree char *base = d->paths[row] != NULL ? g_path_get_basename (d->paths[row]) : NULL;

  gtk_button_set_label (GTK_BUTTON (d->buttons[row]),
                        base != NULL ? base : row == 0 ? _("Choose…") : _("(none)"));
  if (d->paths[row] != NULL)
    gtk_widget_set_tooltip_text (d->buttons[row], d->paths[row]);
  gtk_widget_set_sensitive (d->open_button, d->paths[0] != NULL);
}

static int
row_index (const char *row)
{
  for (int i = 0; i < 3; i++)
    if (g_strcmp0 (row, row_names[i]) == 0)
      return i;
  g_return_val_if_reached (0);
}

static void
on_chooser_response_cb (GtkNativeDialog *chooser,
                        int              response,
                        gpointer         user_data)
{
  ImportDialog *d = user_data;
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (chooser), "pt-row"));

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));

      g_free (d->paths[row]);
      d->paths[row] = file != NULL ? g_file_get_path (file) : NULL;
      update_row (d, row);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
}

static void
on_row_clicked_cb (GtkButton *button,
                   gpointer   user_data)
{
  ImportDialog *d = user_data;
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "pt-row"));
  const char *titles[3] = { _("Embeddings (.npy)"), _("Labels"), _("Image Folder") };
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (titles[row], d->window,
                                         row == 2 ? GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER
                                                  : GTK_FILE_CHOOSER_ACTION_OPEN,
                                         _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  if (row == 0)
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("NumPy arrays"));
      gtk_file_filter_add_pattern (filter, "*.npy");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    }
  g_object_set_data (G_OBJECT (chooser), "pt-row", GINT_TO_POINTER (row));
  g_signal_connect (chooser, "response", G_CALLBACK (on_chooser_response_cb), d);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_clear_clicked_cb (GtkButton *button,
                     gpointer   user_data)
{
  ImportDialog *d = user_data;
  int row = GPOINTER_TO_INT (g_object_get_data (G_OBJECT (button), "pt-row"));

  g_clear_pointer (&d->paths[row], g_free);
  update_row (d, row);
}

static void
on_open_clicked_cb (GtkButton *button,
                    gpointer   user_data)
{
  ImportDialog *d = user_data;

  if (d->paths[0] == NULL)
    return;
  d->func (d->paths[0], d->paths[1], d->paths[2], d->user_data);
  gtk_window_destroy (d->window);
}

static void
on_cancel_clicked_cb (GtkButton *button,
                      gpointer   user_data)
{
  gtk_window_destroy (((ImportDialog *) user_data)->window);
}

GtkWindow *
pt_import_dialog_present (GtkWindow          *parent,
                          PtImportChosenFunc  func,
                          gpointer            user_data,
                          GDestroyNotify      destroy)
{
  ImportDialog *d = g_new0 (ImportDialog, 1);
  GtkWidget *grid, *header, *cancel;
  const char *labels[3] = { _("_Embeddings"), _("_Labels (optional)"), _("_Images (optional)") };
  const char *hints[3] = {
    N_("A float .npy of N rows, one embedding each"),
    N_("A .npy of integers or a text file with one label per line, in the rows’ order"),
    N_("A folder of PNG or JPEG images, sorted by name, one per row"),
  };

  d->func = func;
  d->user_data = user_data;
  d->destroy = destroy;
  d->window = GTK_WINDOW (gtk_window_new ());
  gtk_window_set_title (d->window, _("Open Embeddings"));
  gtk_window_set_modal (d->window, TRUE);
  gtk_window_set_resizable (d->window, FALSE);
  if (parent != NULL)
    gtk_window_set_transient_for (d->window, parent);
  g_object_set_data_full (G_OBJECT (d->window), "pt-import-dialog", d,
                          (GDestroyNotify) import_dialog_free);

  header = gtk_header_bar_new ();
  gtk_header_bar_set_show_title_buttons (GTK_HEADER_BAR (header), FALSE);
  cancel = gtk_button_new_with_mnemonic (_("_Cancel"));
  d->open_button = gtk_button_new_with_mnemonic (_("_Open"));
  gtk_widget_add_css_class (d->open_button, "suggested-action");
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), cancel);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), d->open_button);
  gtk_window_set_titlebar (d->window, header);
  gtk_window_set_default_widget (d->window, d->open_button);
  g_signal_connect (cancel, "clicked", G_CALLBACK (on_cancel_clicked_cb), d);
  g_signal_connect (d->open_button, "clicked", G_CALLBACK (on_open_clicked_cb), d);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 10);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_widget_set_margin_start (grid, 18);
  gtk_widget_set_margin_end (grid, 18);
  gtk_widget_set_margin_top (grid, 18);
  gtk_widget_set_margin_bottom (grid, 18);
  for (int i = 0; i < 3; i++)
    {
      GtkWidget *label = gtk_label_new_with_mnemonic (labels[i]);

      gtk_label_set_xalign (GTK_LABEL (label), 1);
      d->buttons[i] = gtk_button_new ();
      gtk_widget_set_size_request (d->buttons[i], 260, -1);
      gtk_label_set_mnemonic_widget (GTK_LABEL (label), d->buttons[i]);
      g_object_set_data (G_OBJECT (d->buttons[i]), "pt-row", GINT_TO_POINTER (i));
      g_signal_connect (d->buttons[i], "clicked", G_CALLBACK (on_row_clicked_cb), d);
      gtk_grid_attach (GTK_GRID (grid), label, 0, i, 1, 1);
      gtk_widget_set_tooltip_text (label, _(hints[i]));
      gtk_widget_set_tooltip_text (d->buttons[i], _(hints[i]));
      gtk_grid_attach (GTK_GRID (grid), d->buttons[i], 1, i, 1, 1);
      if (i > 0)
        {
          GtkWidget *clear = gtk_button_new_from_icon_name ("edit-clear-symbolic");

          gtk_widget_set_tooltip_text (clear, _("Do without"));
          gtk_widget_add_css_class (clear, "flat");
          g_object_set_data (G_OBJECT (clear), "pt-row", GINT_TO_POINTER (i));
          g_signal_connect (clear, "clicked", G_CALLBACK (on_clear_clicked_cb), d);
          gtk_grid_attach (GTK_GRID (grid), clear, 2, i, 1, 1);
        }
      update_row (d, i);
    }
  gtk_window_set_child (d->window, grid);
  gtk_window_present (d->window);
  return d->window;
}

void
pt_import_dialog_set_path (GtkWindow  *dialog,
                           const char *row,
                           const char *path)
{
  ImportDialog *d = g_object_get_data (G_OBJECT (dialog), "pt-import-dialog");
  int i = row_index (row);

  g_return_if_fail (d != NULL);
  g_free (d->paths[i]);
  d->paths[i] = g_strdup (path);
  update_row (d, i);
}

void
pt_import_dialog_activate (GtkWindow *dialog)
{
  ImportDialog *d = g_object_get_data (G_OBJECT (dialog), "pt-import-dialog");

  g_return_if_fail (d != NULL);
  on_open_clicked_cb (NULL, d);
}
