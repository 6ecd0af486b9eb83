/* pt-plot-export.c: "Export as PNG/SVG…" on any plot widget. */
#include <glib/gi18n.h>

#include "pt-bar-chart.h"
#include "pt-heatmap.h"
#include "pt-image-grid.h"
#include "pt-line-plot.h"
#include "pt-plot-export.h"
#include "pt-scatter-map.h"

gboolean
pt_plot_export_widget (GtkWidget   *plot,
                       const char  *path,
                       GError     **error)
{
  int w = MAX (640, gtk_widget_get_width (plot));
  int h = MAX (400, gtk_widget_get_height (plot));

  if (PT_IS_LINE_PLOT (plot))
    return pt_line_plot_export (PT_LINE_PLOT (plot), path, w, h, error);
  if (PT_IS_HEATMAP (plot))
    return pt_heatmap_export (PT_HEATMAP (plot), path, MAX (w, h), MAX (w, h), error);
  if (PT_IS_SCATTER_MAP (plot))
    return pt_scatter_map_export (PT_SCATTER_MAP (plot), path, w, h, error);
  if (PT_IS_BAR_CHART (plot))
    return pt_bar_chart_export (PT_BAR_CHART (plot), path, w,
                                MAX (gtk_widget_get_height (plot), 2 * PT_BAR_CHART_ROW_HEIGHT), error);
  if (PT_IS_IMAGE_GRID (plot))
    return pt_image_grid_export (PT_IMAGE_GRID (plot), path, w, h, error);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, _("This view cannot be exported."));
  return FALSE;
}

static void
on_save_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  GtkWidget *plot = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL && !pt_plot_export_widget (plot, path, &error))
        {
          GtkRoot *root = gtk_widget_get_root (plot);
          GtkWidget *msg = gtk_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                                   GTK_DIALOG_MODAL | GTK_DIALOG_DESTROY_WITH_PARENT,
                                                   GTK_MESSAGE_ERROR, GTK_BUTTONS_CLOSE,
                                                   "%s", error->message);
          g_signal_connect (msg, "response", G_CALLBACK (gtk_window_destroy), NULL);
          gtk_window_present (GTK_WINDOW (msg));
        }
    }
  g_object_unref (dialog);
  g_object_unref (plot);
}

static void
export_action (GtkWidget  *plot,
               const char *extension)
{
  GtkRoot *root = gtk_widget_get_root (plot);
  GtkFileChooserNative *dialog;
  g_autofree char *name = g_strdup_printf ("plot.%s", extension);

  dialog = gtk_file_chooser_native_new (_("Export Plot"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response_cb), g_object_ref (plot));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
on_export_png_cb (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       plot)
{
  export_action (plot, "png");
}

static void
on_export_svg_cb (GSimpleAction *action,
                  GVariant      *parameter,
                  gpointer       plot)
{
  export_action (plot, "svg");
}

static void
on_pressed_cb (GtkGestureClick *gesture,
               int              n_press,
               double           x,
               double           y,
               GtkWidget       *popover)
{
  gtk_popover_set_pointing_to (GTK_POPOVER (popover), &(GdkRectangle) { (int) x, (int) y, 1, 1 });
  gtk_popover_popup (GTK_POPOVER (popover));
}

static void
on_plot_destroy_cb (GtkWidget *plot,
                    GtkWidget *popover)
{
  gtk_widget_unparent (popover);
}

void
pt_plot_export_attach (GtkWidget *plot)
{
  g_autoptr(GSimpleActionGroup) group = g_simple_action_group_new ();
  g_autoptr(GMenu) menu = g_menu_new ();
  const GActionEntry entries[] = {
    { "png", on_export_png_cb },
    { "svg", on_export_svg_cb },
  };
  GtkWidget *popover;
  GtkGesture *click;

  g_return_if_fail (GTK_IS_WIDGET (plot));

  g_action_map_add_action_entries (G_ACTION_MAP (group), entries, G_N_ELEMENTS (entries), plot);
  gtk_widget_insert_action_group (plot, "plot", G_ACTION_GROUP (group));
  g_menu_append (menu, _("Export as PNG…"), "plot.png");
  g_menu_append (menu, _("Export as SVG…"), "plot.svg");

  popover = gtk_popover_menu_new_from_model (G_MENU_MODEL (menu));
  gtk_popover_set_has_arrow (GTK_POPOVER (popover), FALSE);
  gtk_widget_set_parent (popover, plot);
  g_signal_connect (plot, "destroy", G_CALLBACK (on_plot_destroy_cb), popover);

  click = gtk_gesture_click_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), GDK_BUTTON_SECONDARY);
  g_signal_connect (click, "pressed", G_CALLBACK (on_pressed_cb), popover);
  gtk_widget_add_controller (plot, GTK_EVENT_CONTROLLER (click));
  gtk_widget_set_tooltip_text (plot, _("Right-click to export as PNG or SVG"));
}
