/* pt-plot-util.c: shared pieces of the plot widgets. */
#include <math.h>
#include <cairo-svg.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-plot-util.h"

guint
pt_plot_nice_ticks (double  lo,
                    double  hi,
                    guint   max_ticks,
                    double *ticks)
{
  double span, raw, mag, step, first;
  guint n = 0;

  if (!isfinite (lo) || !isfinite (hi) || max_ticks < 2)
    return 0;
  if (hi <= lo)
    {
      ticks[0] = lo;
      return 1;
    }
  span = hi - lo;
  raw = span / (max_ticks - 1);
  mag = pow (10, floor (log10 (raw)));
  step = raw / mag <= 1 ? mag : raw / mag <= 2 ? 2 * mag : raw / mag <= 5 ? 5 * mag : 10 * mag;
  first = ceil (lo / step - 1e-9) * step;
  for (double t = first; t <= hi + step * 1e-9 && n < max_ticks; t += step)
    ticks[n++] = fabs (t) < step * 1e-9 ? 0.0 : t;
  return n;
}

static const GdkRGBA categories[] = {
  { 0.122, 0.467, 0.706, 1 }, { 1.000, 0.498, 0.055, 1 }, { 0.173, 0.627, 0.173, 1 },
  { 0.839, 0.153, 0.157, 1 }, { 0.580, 0.404, 0.741, 1 }, { 0.549, 0.337, 0.294, 1 },
  { 0.890, 0.467, 0.761, 1 }, { 0.498, 0.498, 0.498, 1 }, { 0.737, 0.741, 0.133, 1 },
  { 0.090, 0.745, 0.812, 1 },
};

void
pt_plot_category_color (guint    i,
                        GdkRGBA *color)
{
  *color = categories[i % G_N_ELEMENTS (categories)];
}

void
pt_plot_sequential_color (double   t,
                          GdkRGBA *color)
{
  /* A few stops of a viridis-like ramp, linearly interpolated. */
  static const double stops[][3] = {
    { 0.267, 0.005, 0.329 }, { 0.229, 0.322, 0.546 }, { 0.128, 0.567, 0.551 },
    { 0.369, 0.789, 0.383 }, { 0.993, 0.906, 0.144 },
  };
  double x = CLAMP (isfinite (t) ? t : 0.0, 0.0, 1.0) * 4;
  int i = MIN ((int) x, 3);
  double f = x - i;

  color->red = stops[i][0] + f * (stops[i + 1][0] - stops[i][0]);
  color->green = stops[i][1] + f * (stops[i + 1][1] - stops[i][1]);
  color->blue = stops[i][2] + f * (stops[i + 1][2] - stops[i][2]);
  color->alpha = 1;
}

void
pt_plot_diverging_color (double   t,
                         GdkRGBA *color)
{
  double x = CLAMP (isfinite (t) ? t : 0.0, -1.0, 1.0);

  if (x >= 0)
    *color = (GdkRGBA) { 1.0, 1.0 - 0.75 * x, 1.0 - 0.8 * x, 1 };
  else
    *color = (GdkRGBA) { 1.0 + 0.8 * x, 1.0 + 0.55 * x, 1.0, 1 };
}

void
pt_plot_text (cairo_t    *cr,
              double      x,
              double      y,
              double      align,
              const char *text)
{
  cairo_text_extents_t ext;
  cairo_font_extents_t fe;

  cairo_text_extents (cr, text, &ext);
  cairo_font_extents (cr, &fe);
  cairo_move_to (cr, x - align * ext.x_advance, y + (fe.ascent - fe.descent) / 2);
  cairo_show_text (cr, text);
}

gboolean
pt_plot_export (PtDrawFunc     draw,
                gconstpointer  model,
                int            width,
                int            height,
                const char    *path,
                GError       **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmp = NULL;
  gboolean svg = g_str_has_suffix (path, ".svg") || g_str_has_suffix (path, ".SVG");
  gboolean png = g_str_has_suffix (path, ".png") || g_str_has_suffix (path, ".PNG");
  cairo_surface_t *surface;
  cairo_status_t status;
  cairo_t *cr;

  if (!svg && !png)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   _("“%s” must end in .png or .svg."), path);
      return FALSE;
    }

  tmp = g_strdup_printf ("%s/.%s.%u.tmp", dir, base, g_random_int ());
  surface = svg ? cairo_svg_surface_create (tmp, width, height)
                : cairo_image_surface_create (CAIRO_FORMAT_ARGB32, width, height);
  cr = cairo_create (surface);
  if (png)
    {
      /* A PNG gets an opaque white page so it reads well anywhere. */
      cairo_set_source_rgb (cr, 1, 1, 1);
      cairo_paint (cr);
    }
  draw (cr, width, height, model);
  cairo_destroy (cr);

  if (png)
    status = cairo_surface_write_to_png (surface, tmp);
  else
    {
      cairo_surface_finish (surface);   /* flushes the SVG to the file */
      status = cairo_surface_status (surface);
    }
  cairo_surface_destroy (surface);

  if (status != CAIRO_STATUS_SUCCESS || g_rename (tmp, path) != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   _("“%s” cannot be written: %s."), path,
                   status != CAIRO_STATUS_SUCCESS ? cairo_status_to_string (status) : g_strerror (errno));
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}
