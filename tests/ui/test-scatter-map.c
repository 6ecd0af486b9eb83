/* PtScatterMap: class colours, equal axis scale, hit testing, widget. */
#include "pt-plot-util.h"
#include "pt-scatter-map.h"
#include "pt-test-ui.h"

static const float xy[] = { 0, 0, 10, 0, 0, 10, 10, 10 };
static const int labels[] = { 0, 1, 2, 1 };
static const char *names[] = { "circle", "square", "star" };

static void
test_scatter_map_draw (void)
{
  PtScatterMapModel m = { .n = 4, .xy = xy, .labels = labels, .n_classes = 3,
                          .class_names = names, .selected = -1, .fg = { 0, 0, 0, 1 } };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 500, 300);
  cairo_t *cr = cairo_create (s);
  double x0, y0, x1, y1;

  pt_scatter_map_draw (cr, 500, 300, &m);
  cairo_destroy (cr);

  /* Equal scales: the square of points stays square on screen. */
  pt_scatter_map_to_screen (&m, 500, 300, 0, &x0, &y0);
  pt_scatter_map_to_screen (&m, 500, 300, 3, &x1, &y1);
  g_assert_cmpfloat (fabs (fabs (x1 - x0) - fabs (y1 - y0)), <, 1.0);
  /* y grows upwards on screen. */
  g_assert_cmpfloat (y1, <, y0);

  /* Each point is drawn in its class colour (blended at alpha 0.8 over nothing). */
  for (guint i = 0; i < 4; i++)
    {
      GdkRGBA c;
      double px, py, r, g, b, a;

      pt_plot_category_color ((guint) labels[i], &c);
      pt_scatter_map_to_screen (&m, 500, 300, i, &px, &py);
      pt_test_pixel (s, (int) px, (int) py, &r, &g, &b, &a);
      g_assert_cmpfloat (fabs (r - c.red), <, 0.05);
      g_assert_cmpfloat (fabs (g - c.green), <, 0.05);
      g_assert_cmpfloat (fabs (b - c.blue), <, 0.05);
    }

  /* Hit testing finds the nearest point within the radius only. */
  g_assert_cmpint (pt_scatter_map_point_at (&m, 500, 300, x1 + 2, y1 - 1, 6), ==, 3);
  g_assert_cmpint (pt_scatter_map_point_at (&m, 500, 300, (x0 + x1) / 2, (y0 + y1) / 2, 6), ==, -1);

  /* The legend is on the right. */
  g_assert_cmpuint (pt_test_count_ink (s, 380, 0, 500, 80), >, 50);
  cairo_surface_destroy (s);
}

static guint activated = G_MAXUINT;

static void
on_point_activated_cb (PtScatterMap *map, guint i, gpointer data)
{
  activated = i;
}

static void
test_scatter_map_widget (void)
{
  PtScatterMap *map = PT_SCATTER_MAP (g_object_ref_sink (pt_scatter_map_new ()));
  const guint hl[] = { 1, 2 };

  g_signal_connect (map, "point-activated", G_CALLBACK (on_point_activated_cb), NULL);
  pt_scatter_map_set_points (map, 4, xy, labels, 3, names);
  g_assert_cmpuint (pt_scatter_map_get_n_points (map), ==, 4);
  pt_scatter_map_set_selected (map, 3);
  g_assert_cmpint (pt_scatter_map_get_selected (map), ==, 3);
  pt_scatter_map_set_highlight (map, hl, 2);
  g_signal_emit_by_name (map, "point-activated", 2u);
  g_assert_cmpuint (activated, ==, 2);
  /* Fewer points drop a selection that no longer exists. */
  pt_scatter_map_set_points (map, 2, xy, NULL, 0, NULL);
  g_assert_cmpint (pt_scatter_map_get_selected (map), ==, -1);
  g_assert_finalize_object (map);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/scatter-map/draw", test_scatter_map_draw);
  pt_test_add_display_func ("/ui/scatter-map/widget", test_scatter_map_widget);
  return g_test_run ();
}
