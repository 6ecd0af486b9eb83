/* PtBarChart: drawing and widget behaviour. */
#include <string.h>
#include <glib/gstdio.h>

#include "pt-bar-chart.h"
#include "pt-test-ui.h"

static const char *labels[] = { "T-shirt/top", "Trouser", "Bag" };
static const double values[] = { 10, 5, 0 };

static PtBarChartModel
make_model (void)
{
  PtBarChartModel m = {
    .n_bars = 3, .labels = labels, .values = values, .max_value = 0, .highlight = 1,
    .bar_color = { 0, 0, 1, 1 }, .highlight_color = { 1, 0, 0, 1 },
    .text_color = { 0, 0, 0, 1 }, .value_format = "%.0f",
  };
  return m;
}

static void
test_bar_chart_draw (void)
{
  PtBarChartModel m = make_model ();
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 400, 66);
  cairo_t *cr = cairo_create (s);
  GdkRGBA blue = { 0, 0, 1, 1 }, red = { 1, 0, 0, 1 };
  int y0 = 11, y1 = 33, y2 = 55;   /* row centres: 22 px per row */
  int blue_end = -1, red_end = -1;

  pt_bar_chart_draw (cr, 400, 66, &m);
  cairo_destroy (cr);

  /* Find where each bar ends by scanning its row centre. */
  for (int x = 0; x < 400; x++)
    {
      if (pt_test_pixel_is (s, x, y0, &blue, 0.05))
        blue_end = x;
      if (pt_test_pixel_is (s, x, y1, &red, 0.05))
        red_end = x;
      /* The zero bar has no bar colour anywhere on its row. */
      g_assert_false (pt_test_pixel_is (s, x, y2, &blue, 0.05));
      g_assert_false (pt_test_pixel_is (s, x, y2, &red, 0.05));
    }

  /* Bar 0 (the max) is blue, bar 1 is highlighted red and half as long. */
  g_assert_cmpint (blue_end, >, 150);
  g_assert_cmpint (red_end, >, 0);
  {
    int start = 0;
    while (!pt_test_pixel_is (s, start, y0, &blue, 0.05))
      start++;
    g_assert_cmpfloat (fabs ((red_end - start) - 0.5 * (blue_end - start)), <, 3.0);
  }

  /* Labels are drawn left of the bars. */
  g_assert_cmpuint (pt_test_count_ink (s, 0, 0, 40, 22), >, 10);

  cairo_surface_destroy (s);
}

static void
test_bar_chart_bar_at (void)
{
  PtBarChartModel m = make_model ();

  g_assert_cmpint (pt_bar_chart_bar_at (&m, 66, 5), ==, 0);
  g_assert_cmpint (pt_bar_chart_bar_at (&m, 66, 30), ==, 1);
  g_assert_cmpint (pt_bar_chart_bar_at (&m, 66, 60), ==, 2);
  g_assert_cmpint (pt_bar_chart_bar_at (&m, 66, 70), ==, -1);
  g_assert_cmpint (pt_bar_chart_bar_at (&m, 66, -1), ==, -1);
}

static void
on_notify_cb (GObject *object, GParamSpec *pspec, int *count)
{
  (*count)++;
}

static void
test_bar_chart_widget (void)
{
  PtBarChart *chart = PT_BAR_CHART (g_object_ref_sink (pt_bar_chart_new ()));
  int notified = 0;

  g_signal_connect (chart, "notify::highlight", G_CALLBACK (on_notify_cb), &notified);

  pt_bar_chart_set_data (chart, 3, labels, values);
  g_assert_cmpuint (pt_bar_chart_get_n_bars (chart), ==, 3);

  pt_bar_chart_set_highlight (chart, 2);
  pt_bar_chart_set_highlight (chart, 2);   /* no change: no notify */
  g_assert_cmpint (notified, ==, 1);
  g_assert_cmpint (pt_bar_chart_get_highlight (chart), ==, 2);

  /* Fewer bars drop a highlight that no longer exists. */
  pt_bar_chart_set_data (chart, 1, labels, values);
  g_assert_cmpint (pt_bar_chart_get_highlight (chart), ==, -1);
  g_assert_cmpint (notified, ==, 2);

  g_assert_finalize_object (chart);
}

/* A fixed scale (percentages): 50 of 100 fills half the bar area, where
 * the largest-value scale would fill all of it. Export writes PNG and SVG. */
static void
test_bar_chart_max_and_export (void)
{
  static const char *one[] = { "SSL" };
  static const double half[] = { 50 };
  PtBarChart *chart = PT_BAR_CHART (g_object_ref_sink (pt_bar_chart_new ()));
  g_autofree char *dir = g_dir_make_tmp ("pretext-bars-XXXXXX", NULL);
  g_autofree char *png = g_build_filename (dir, "bars.png", NULL);
  g_autofree char *svg = g_build_filename (dir, "bars.svg", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbuf) pb = NULL;
  int end_fixed = -1, end_auto = -1;

  pt_bar_chart_set_data (chart, 1, one, half);
  pt_bar_chart_set_highlight (chart, -1);
  for (int pass = 0; pass < 2; pass++)
    {
      const guint8 *px;
      int stride;

      pt_bar_chart_set_max_value (chart, pass == 0 ? 100 : 0);
      g_assert_true (pt_bar_chart_export (chart, png, 400, 22, &error));
      g_assert_no_error (error);
      g_clear_object (&pb);
      pb = gdk_pixbuf_new_from_file (png, &error);
      g_assert_no_error (error);
      px = gdk_pixbuf_read_pixels (pb);
      stride = gdk_pixbuf_get_rowstride (pb);
      for (int x = 0; x < gdk_pixbuf_get_width (pb); x++)
        {
          const guint8 *p = px + 11 * stride + x * gdk_pixbuf_get_n_channels (pb);
          /* the bar colour: blue dominant */
          if (p[2] > 150 && p[0] < 120)
            {
              if (pass == 0)
                end_fixed = x;
              else
                end_auto = x;
            }
        }
    }
  g_assert_cmpint (end_fixed, >, 0);
  g_assert_cmpint (end_auto, >, end_fixed + 40);

  g_assert_true (pt_bar_chart_export (chart, svg, 400, 22, &error));
  g_assert_no_error (error);
  {
    g_autofree char *text = NULL;
    g_assert_true (g_file_get_contents (svg, &text, NULL, NULL));
    g_assert_nonnull (strstr (text, "<svg"));
  }
  g_unlink (png);
  g_unlink (svg);
  g_rmdir (dir);
  g_object_unref (chart);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/bar-chart/draw", test_bar_chart_draw);
  g_test_add_func ("/ui/bar-chart/bar-at", test_bar_chart_bar_at);
  pt_test_add_display_func ("/ui/bar-chart/max-and-export", test_bar_chart_max_and_export);
  pt_test_add_display_func ("/ui/bar-chart/widget", test_bar_chart_widget);
  return g_test_run ();
}
