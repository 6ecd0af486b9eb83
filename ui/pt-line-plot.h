/* pt-line-plot.h: live curves (loss and its parts, learning rate, health,
 * kNN accuracy) with axes, a legend, event markers and an optional
 * threshold line. Drawing is the pure function pt_line_plot_draw(). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  const char   *name;
  GdkRGBA       color;
  const double *x;
  const double *y;
  guint         n;
  gboolean      points;     /* draw dots (sparse series such as kNN accuracy) */
} PtPlotSeries;

typedef struct {
  double        x;
  const char   *label;
} PtPlotMarker;

typedef struct {
  guint               n_series;
  const PtPlotSeries *series;
  guint               n_markers;
  const PtPlotMarker *markers;
  const char         *title;
  const char         *x_label;
  gboolean            log_y;
  gboolean            log_x;            /* decades on the x axis (label counts) */
  double              y_min, y_max;     /* fixed y range; NAN: from the data */
  double              threshold;        /* horizontal line, NAN for none */
  const char         *threshold_label;
  GdkRGBA             fg;
} PtLinePlotModel;

/* The plot area inside width x height (for hit testing). */
void pt_line_plot_get_area (const PtLinePlotModel *model,
                            int                    width,
                            int                    height,
                            double                *x0,
                            double                *y0,
                            double                *x1,
                            double                *y1);
void pt_line_plot_draw     (cairo_t               *cr,
                            int                    width,
                            int                    height,
                            gconstpointer          model);   /* const PtLinePlotModel * */

#define PT_TYPE_LINE_PLOT (pt_line_plot_get_type ())
G_DECLARE_FINAL_TYPE (PtLinePlot, pt_line_plot, PT, LINE_PLOT, GtkWidget)

GtkWidget *pt_line_plot_new          (const char  *title,
                                      const char  *x_label);
/* Adds a series (colour: NULL picks the next categorical colour); returns its index. */
guint      pt_line_plot_add_series   (PtLinePlot    *self,
                                      const char    *name,
                                      const GdkRGBA *color,
                                      gboolean       points);
/* Index of the series called name, adding it when absent. */
guint      pt_line_plot_ensure_series (PtLinePlot   *self,
                                       const char   *name);
void       pt_line_plot_append       (PtLinePlot    *self,
                                      guint          series,
                                      double         x,
                                      double         y);
guint      pt_line_plot_get_n_series (PtLinePlot    *self);
guint      pt_line_plot_get_n_points (PtLinePlot    *self,
                                      guint          series);
void       pt_line_plot_add_marker   (PtLinePlot    *self,
                                      double         x,
                                      const char    *label);
guint      pt_line_plot_get_n_markers (PtLinePlot   *self);
void       pt_line_plot_set_threshold (PtLinePlot   *self,
                                       double        y,
                                       const char   *label);
/* A fixed y range (accuracies: 0..1), or NAN, NAN to follow the data. */
void       pt_line_plot_set_y_range  (PtLinePlot    *self,
                                      double         y_min,
                                      double         y_max);
void       pt_line_plot_set_log_y    (PtLinePlot    *self,
                                      gboolean       log_y);
void       pt_line_plot_set_log_x    (PtLinePlot    *self,
                                      gboolean       log_x);
/* Removes every point and marker (keeps the series). */
void       pt_line_plot_clear        (PtLinePlot    *self);
/* PNG or SVG by extension. */
gboolean   pt_line_plot_export       (PtLinePlot    *self,
                                      const char    *path,
                                      int            width,
                                      int            height,
                                      GError       **error);

G_END_DECLS
