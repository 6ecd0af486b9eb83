/* pt-plot-util.h: shared pieces of the plot widgets: nice axis ticks,
 * colour palettes, text, and PNG/SVG export of any drawing function. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* A drawing function of the widget library's pure-function kind. */
typedef void (*PtDrawFunc) (cairo_t *cr, int width, int height, gconstpointer model);

/* Up to max_ticks "nice" tick values (1, 2, 5 x 10^k steps) covering
 * [lo, hi]. Returns the count written to ticks. */
guint    pt_plot_nice_ticks     (double   lo,
                                 double   hi,
                                 guint    max_ticks,
                                 double  *ticks);
/* Categorical colour i (10 distinct colours, then repeating). */
void     pt_plot_category_color (guint    i,
                                 GdkRGBA *color);
/* Maps t in [0, 1] to a perceptual sequential colour (dark blue to yellow). */
void     pt_plot_sequential_color (double  t,
                                   GdkRGBA *color);
/* Maps t in [-1, 1] to a diverging colour (blue, white, red). */
void     pt_plot_diverging_color (double   t,
                                  GdkRGBA *color);
/* Text with its left (align 0), centre (0.5) or right (1) at x, baseline-centred on y. */
void     pt_plot_text           (cairo_t    *cr,
                                 double      x,
                                 double      y,
                                 double      align,
                                 const char *text);
/* Renders draw(model) at width x height into a .png or .svg file (by the
 * extension), written atomically. */
gboolean pt_plot_export         (PtDrawFunc     draw,
                                 gconstpointer  model,
                                 int            width,
                                 int            height,
                                 const char    *path,
                                 GError       **error);

G_END_DECLS
