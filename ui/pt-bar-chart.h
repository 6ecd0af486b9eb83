/* pt-bar-chart.h: horizontal bars with labels and values.
 *
 * Used for class counts (Data page) and accuracy comparisons. Drawing is the
 * pure function pt_bar_chart_draw(), testable on an image surface.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  guint         n_bars;
  const char  **labels;      /* n_bars strings */
  const double *values;      /* n_bars values, >= 0 */
  double        max_value;   /* bar scale; <= 0 means the largest value */
  int           highlight;   /* bar drawn in the accent colour, or -1 */
  GdkRGBA       bar_color;
  GdkRGBA       highlight_color;
  GdkRGBA       text_color;
  const char   *value_format;  /* printf format for one double, e.g. "%.0f" */
} PtBarChartModel;

/* Row height the chart wants per bar, in pixels. */
#define PT_BAR_CHART_ROW_HEIGHT 22

/* Draws model into a width x height area of cr. */
void pt_bar_chart_draw (cairo_t               *cr,
                        int                    width,
                        int                    height,
                        const PtBarChartModel *model);

/* Index of the bar under y, or -1. */
int  pt_bar_chart_bar_at (const PtBarChartModel *model,
                          int                    height,
                          double                 y);

#define PT_TYPE_BAR_CHART (pt_bar_chart_get_type ())
G_DECLARE_FINAL_TYPE (PtBarChart, pt_bar_chart, PT, BAR_CHART, GtkWidget)

GtkWidget *pt_bar_chart_new        (void);
/* Copies labels and values. */
void       pt_bar_chart_set_data   (PtBarChart         *self,
                                    guint               n_bars,
                                    const char * const *labels,
                                    const double       *values);
void       pt_bar_chart_set_value_format (PtBarChart   *self,
                                          const char   *format);
guint      pt_bar_chart_get_n_bars (PtBarChart         *self);
int        pt_bar_chart_get_highlight (PtBarChart      *self);
void       pt_bar_chart_set_highlight (PtBarChart      *self,
                                       int              highlight);

/* Bar scale: a value drawn full width (100 for percentages); <= 0: the largest value. */
void       pt_bar_chart_set_max_value (PtBarChart      *self,
                                       double           max_value);
/* PNG or SVG by extension, dark text on white. */
gboolean   pt_bar_chart_export     (PtBarChart         *self,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    GError            **error);

G_END_DECLS
