/* pt-test-ui.h: helpers for widget tests. */
#pragma once

#include "../pt-test-display.h"
#include <math.h>
#include <gtk/gtk.h>

/* Colour of pixel (x, y) of an ARGB32 image surface, unpremultiplied. */
static inline void
pt_test_pixel (cairo_surface_t *surface,
               int              x,
               int              y,
               double          *r,
               double          *g,
               double          *b,
               double          *a)
{
  const guint8 *data = cairo_image_surface_get_data (surface);
  int stride = cairo_image_surface_get_stride (surface);
  guint32 p;

  cairo_surface_flush (surface);
  p = *(const guint32 *) (data + y * stride + x * 4);
  *a = ((p >> 24) & 0xff) / 255.0;
  if (*a == 0)
    {
      *r = *g = *b = 0;
      return;
    }
  *r = ((p >> 16) & 0xff) / 255.0 / *a;
  *g = ((p >> 8) & 0xff) / 255.0 / *a;
  *b = (p & 0xff) / 255.0 / *a;
}

/* Is the pixel within tol of the colour (alpha ignored when fully opaque)? */
static inline gboolean
pt_test_pixel_is (cairo_surface_t *surface,
                  int              x,
                  int              y,
                  const GdkRGBA   *c,
                  double           tol)
{
  double r, g, b, a;

  pt_test_pixel (surface, x, y, &r, &g, &b, &a);
  return a > 0.5 && fabs (r - c->red) < tol && fabs (g - c->green) < tol && fabs (b - c->blue) < tol;
}

/* Number of non-transparent pixels in a rectangle. */
static inline guint
pt_test_count_ink (cairo_surface_t *surface,
                   int x0, int y0, int x1, int y1)
{
  guint n = 0;

  for (int y = y0; y < y1; y++)
    for (int x = x0; x < x1; x++)
      {
        double r, g, b, a;
        pt_test_pixel (surface, x, y, &r, &g, &b, &a);
        if (a > 0.1)
          n++;
      }
  return n;
}

static void
pt_test_skip_no_display (void)
{
  g_test_skip ("no display");
}

/* Adds a test that needs a display; without one it is reported skipped. */
static inline void
pt_test_add_display_func (const char    *path,
                          GTestFunc      func)
{
  static int have_display = -1;

  if (have_display < 0)
    have_display = pt_test_gtk_init ();
  g_test_add_func (path, have_display ? func : pt_test_skip_no_display);
}
