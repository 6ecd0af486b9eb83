/* pt-plot-export.h: "Export as PNG/SVG…" on any plot widget (line plot,
 * heatmap, scatter map, image grid) through a right-click menu. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Adds the context menu to plot. */
void     pt_plot_export_attach (GtkWidget   *plot);
/* Exports plot to path (.png or .svg) at its current size (at least
 * 640 x 400): the same code the menu runs. */
gboolean pt_plot_export_widget (GtkWidget   *plot,
                                const char  *path,
                                GError     **error);

G_END_DECLS
