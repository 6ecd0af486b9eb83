/* PtLinePlot and the plot utilities: ticks, drawing, export, widget. */
#include <glib/gstdio.h>

#include "pt-line-plot.h"
#include "pt-plot-export.h"
#include "pt-plot-util.h"
#include "pt-test-ui.h"

static void
test_plot_nice_ticks (void)
{
  double t[12];
  guint n = pt_plot_nice_ticks (0, 1, 6, t);

  g_assert_cmpuint (n, ==, 6);
  g_assert_cmpfloat (t[0], ==, 0);
  g_assert_cmpfloat_with_epsilon (t[1], 0.2, 1e-12);
  g_assert_cmpfloat_with_epsilon (t[5], 1.0, 1e-12);

  n = pt_plot_nice_ticks (3.7, 2870, 7, t);
  g_assert_cmpuint (n, >=, 3);
  for (guint i = 0; i < n; i++)
    {
      g_assert_cmpfloat (t[i], >=, 3.7);
      g_assert_cmpfloat (t[i], <=, 2870);
      g_assert_cmpfloat (fmod (t[i], 500), ==, 0);   /* steps of 500 */
    }
  g_assert_cmpuint (pt_plot_nice_ticks (NAN, 1, 6, t), ==, 0);
  g_assert_cmpuint (pt_plot_nice_ticks (2, 2, 6, t), ==, 1);
}

static const double xs[] = { 0, 5, 10 };
static const double ys[] = { 1, 0.5, 0 };

static PtLinePlotModel
make_model (PtPlotSeries *series, PtPlotMarker *marker)
{
  *series = (PtPlotSeries) { "loss", { 1, 0, 0, 1 }, xs, ys, 3, FALSE };
  *marker = (PtPlotMarker) { 5, "lr 0.1" };
  return (PtLinePlotModel) { .n_series = 1, .series = series, .n_markers = 1, .markers = marker,
                             .title = "Loss", .x_label = "step", .threshold = 0.25,
                             .threshold_label = "collapse", .fg = { 0, 0, 0, 1 },
                             .y_min = NAN, .y_max = NAN };
}

static void
test_line_plot_draw (void)
{
  PtPlotSeries series;
  PtPlotMarker marker;
  PtLinePlotModel m = make_model (&series, &marker);
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 300);
  cairo_t *cr = cairo_create (s);
  double x0, y0, x1, y1;
  GdkRGBA red = { 1, 0, 0, 1 }, orange = { 0.90, 0.38, 0.0, 1 };
  gboolean found;

  pt_line_plot_draw (cr, 400, 300, &m);
  cairo_destroy (cr);
  pt_line_plot_get_area (&m, 400, 300, &x0, &y0, &x1, &y1);

  /* The straight line from (0, 1) to (10, 0) passes the area's centre column
   * half-way down the data range: look for red pixels near the middle. */
  found = FALSE;
  for (int dy = -8; dy <= 8 && !found; dy++)
    found = pt_test_pixel_is (s, (int) ((x0 + x1) / 2), (int) ((y0 + y1) / 2) + dy, &red, 0.2);
  g_assert_true (found);

  /* The marker at x = 5 is a vertical orange line through the area. */
  found = FALSE;
  for (int dx = -2; dx <= 2 && !found; dx++)
    found = pt_test_pixel_is (s, (int) ((x0 + x1) / 2) + dx, (int) (y0 + (y1 - y0) * 0.9), &orange, 0.1);
  g_assert_true (found);

  /* Tick labels left of the area. */
  g_assert_cmpuint (pt_test_count_ink (s, 0, (int) y0, (int) x0 - 2, (int) y1), >, 30);
  cairo_surface_destroy (s);

  /* A fixed range 0..10 squeezes the 1 -> 0 line into the bottom tenth. */
  m.y_min = 0;
  m.y_max = 10;
  m.threshold = NAN;
  m.n_markers = 0;
  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 300);
  cr = cairo_create (s);
  pt_line_plot_draw (cr, 400, 300, &m);
  cairo_destroy (cr);
  found = FALSE;
  for (int y = (int) (y1 - (y1 - y0) * 0.1); y <= (int) y1 && !found; y++)
    found = pt_test_pixel_is (s, (int) ((x0 + x1) / 2), y, &red, 0.2);
  g_assert_true (found);
  for (int y = (int) y0; y < (int) (y0 + (y1 - y0) * 0.5); y++)
    g_assert_false (pt_test_pixel_is (s, (int) ((x0 + x1) / 2), y, &red, 0.2));
  cairo_surface_destroy (s);
}

/* The label-efficiency curve: counts 10, 100, 1000 on a log axis put 100
 * at the centre column; a linear axis would put it near the left edge. */
static void
test_line_plot_log_x (void)
{
  static const double cx[] = { 10, 100, 1000 };
  static const double cy[] = { 0.2, 0.5, 0.8 };
  PtPlotSeries series = { "ssl", { 1, 0, 0, 1 }, cx, cy, 3, TRUE };
  PtLinePlotModel m = { .n_series = 1, .series = &series, .title = "Labels", .x_label = "labels",
                        .fg = { 0, 0, 0, 1 }, .y_min = 0, .y_max = 1, .threshold = NAN,
                        .log_x = TRUE };
  GdkRGBA red = { 1, 0, 0, 1 };
  double x0, y0, x1, y1, cxp, cyp;
  gboolean found = FALSE;

  for (int pass = 0; pass < 2; pass++)
    {
      cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 300);
      cairo_t *cr = cairo_create (s);

      pt_line_plot_draw (cr, 400, 300, &m);
      cairo_destroy (cr);
      pt_line_plot_get_area (&m, 400, 300, &x0, &y0, &x1, &y1);
      cxp = (x0 + x1) / 2;
      cyp = (y0 + y1) / 2;
      found = FALSE;
      for (int dy = -2; dy <= 2 && !found; dy++)
        for (int dx = -2; dx <= 2 && !found; dx++)
          found = pt_test_pixel_is (s, (int) cxp + dx, (int) cyp + dy, &red, 0.2);
      if (pass == 0)
        {
          g_assert_true (found);
          /* Decade labels under the axis. */
          g_assert_cmpuint (pt_test_count_ink (s, (int) x0, (int) y1 + 4, (int) x1, (int) y1 + 18), >, 20);
        }
      else
        g_assert_false (found);
      cairo_surface_destroy (s);
      m.log_x = FALSE;
    }
}

static void
test_line_plot_export (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pretext-plot-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "loss.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "loss.svg", NULL);
  g_autofree char *bad = g_build_filename (dir, "loss.bmp", NULL);
  g_autofree char *text = NULL;
  g_autoptr(GdkPixbuf) pb = NULL;
  g_autoptr(GError) error = NULL;
  PtPlotSeries series;
  PtPlotMarker marker;
  PtLinePlotModel m = make_model (&series, &marker);

  g_assert_true (pt_plot_export (pt_line_plot_draw, &m, 640, 360, png, &error));
  g_assert_no_error (error);
  pb = gdk_pixbuf_new_from_file (png, &error);
  g_assert_no_error (error);
  g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, 640);
  g_assert_cmpint (gdk_pixbuf_get_height (pb), ==, 360);

  g_assert_true (pt_plot_export (pt_line_plot_draw, &m, 640, 360, svg, &error));
  g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
  g_assert_nonnull (strstr (text, "<svg"));
  g_assert_nonnull (strstr (text, "640"));

  g_assert_false (pt_plot_export (pt_line_plot_draw, &m, 640, 360, bad, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "loss.bmp"));
  g_assert_false (g_file_test (bad, G_FILE_TEST_EXISTS));

  g_unlink (png);
  g_unlink (svg);
  g_rmdir (dir);
}

static void
test_line_plot_widget (void)
{
  PtLinePlot *plot = PT_LINE_PLOT (g_object_ref_sink (pt_line_plot_new ("Loss", "step")));
  guint a, b;

  a = pt_line_plot_ensure_series (plot, "loss");
  b = pt_line_plot_ensure_series (plot, "lr");
  g_assert_cmpuint (a, !=, b);
  g_assert_cmpuint (pt_line_plot_ensure_series (plot, "loss"), ==, a);
  for (int i = 0; i < 1000; i++)
    pt_line_plot_append (plot, a, i, exp (-i / 100.0));
  pt_line_plot_add_marker (plot, 500, "T 0.2");
  g_assert_cmpuint (pt_line_plot_get_n_points (plot, a), ==, 1000);
  g_assert_cmpuint (pt_line_plot_get_n_points (plot, b), ==, 0);
  g_assert_cmpuint (pt_line_plot_get_n_markers (plot), ==, 1);
  /* The menu's export path writes the widget as it is. */
  {
    g_autofree char *dir = g_dir_make_tmp ("pretext-plot-XXXXXX", NULL);
    g_autofree char *png = g_build_filename (dir, "w.png", NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GdkPixbuf) pb = NULL;

    pt_plot_export_attach (GTK_WIDGET (plot));
    g_assert_true (pt_plot_export_widget (GTK_WIDGET (plot), png, &error));
    g_assert_no_error (error);
    pb = gdk_pixbuf_new_from_file (png, &error);
    g_assert_no_error (error);
    g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, 640);
    g_unlink (png);
    g_rmdir (dir);
  }
  pt_line_plot_clear (plot);
  g_assert_cmpuint (pt_line_plot_get_n_points (plot, a), ==, 0);
  g_assert_cmpuint (pt_line_plot_get_n_markers (plot), ==, 0);
  g_assert_cmpuint (pt_line_plot_get_n_series (plot), ==, 2);
  g_assert_finalize_object (plot);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/plot/nice-ticks", test_plot_nice_ticks);
  g_test_add_func ("/ui/line-plot/draw", test_line_plot_draw);
  g_test_add_func ("/ui/line-plot/log-x", test_line_plot_log_x);
  g_test_add_func ("/ui/line-plot/export", test_line_plot_export);
  pt_test_add_display_func ("/ui/line-plot/widget", test_line_plot_widget);
  return g_test_run ();
}
