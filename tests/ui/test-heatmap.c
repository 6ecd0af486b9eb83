/* PtHeatmap: colours, outlines, hit testing, widget. */
#include "pt-heatmap.h"
#include "pt-plot-util.h"
#include "pt-test-ui.h"

static void
test_heatmap_diverging (void)
{
  /* 2x2 similarity: +1 on the diagonal, -1 off it; positives outlined. */
  const float v[] = { 1, -1, -1, 1 };
  const int outline[] = { 1, -1 };
  PtHeatmapModel m = { .rows = 2, .cols = 2, .values = v, .scale = PT_HEATMAP_DIVERGING,
                       .outline_col = outline, .highlight_row = -1, .fg = { 0, 0, 0, 1 } };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 104, 104);
  cairo_t *cr = cairo_create (s);
  GdkRGBA pos, neg, outline_ink = { 0.1, 0.1, 0.1, 1 };
  int r, c;

  pt_heatmap_draw (cr, 104, 104, &m);
  cairo_destroy (cr);
  pt_plot_diverging_color (1, &pos);
  pt_plot_diverging_color (-1, &neg);

  /* Cell (0,0) red-ish (+1), cell (0,1) blue-ish (-1), at their centres. */
  g_assert_true (pt_heatmap_cell_at (&m, 104, 104, 30, 30, &r, &c));
  g_assert_cmpint (r, ==, 0);
  g_assert_cmpint (c, ==, 0);
  g_assert_true (pt_test_pixel_is (s, 30, 30, &pos, 0.02));
  g_assert_true (pt_heatmap_cell_at (&m, 104, 104, 75, 30, &r, &c));
  g_assert_cmpint (c, ==, 1);
  g_assert_true (pt_test_pixel_is (s, 75, 30, &neg, 0.02));
  /* Row 0 outlines column 1: dark ink on that cell's border, none on cell (1,1)'s. */
  {
    gboolean found = FALSE;
    for (int x = 52; x < 60 && !found; x++)
      found = pt_test_pixel_is (s, x, 30, &outline_ink, 0.1);
    g_assert_true (found);
  }
  g_assert_true (pt_test_pixel_is (s, 75, 75, &pos, 0.02));
  g_assert_false (pt_heatmap_cell_at (&m, 104, 104, 1, 1, &r, &c));
  cairo_surface_destroy (s);
}

static void
test_heatmap_sequential_labels (void)
{
  const float v[] = { 0, 5, 10, 20 };
  const char *labels[] = { "cat", "dog" };
  PtHeatmapModel m = { .rows = 2, .cols = 2, .values = v, .scale = PT_HEATMAP_SEQUENTIAL,
                       .row_labels = labels, .col_labels = labels, .show_values = TRUE,
                       .value_format = "%.0f", .highlight_row = -1, .fg = { 0, 0, 0, 1 } };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 300, 300);
  cairo_t *cr = cairo_create (s);
  GdkRGBA lo, hi;
  int r0, c0, r1, c1;
  double x = 0, y = 0;

  pt_heatmap_draw (cr, 300, 300, &m);
  cairo_destroy (cr);
  pt_plot_sequential_color (0, &lo);
  pt_plot_sequential_color (1, &hi);

  /* Find the top-left cell and the bottom-right one by hit testing. */
  for (y = 0; y < 300; y++)
    {
      for (x = 0; x < 300; x++)
        if (pt_heatmap_cell_at (&m, 300, 300, x, y, &r0, &c0))
          break;
      if (x < 300)
        break;
    }
  g_assert_cmpint (r0, ==, 0);
  g_assert_cmpint (c0, ==, 0);
  /* The minimum is the darkest colour, the maximum the brightest (away from the printed value). */
  g_assert_true (pt_test_pixel_is (s, (int) x + 3, (int) y + 3, &lo, 0.02));
  {
    int d = 299;
    while (d > 0 && !pt_heatmap_cell_at (&m, 300, 300, d, d, &r1, &c1))
      d--;
    g_assert_cmpint (r1, ==, 1);
    g_assert_cmpint (c1, ==, 1);
    g_assert_true (pt_test_pixel_is (s, d - 3, d - 3, &hi, 0.05));
  }
  /* Row labels take room on the left. */
  g_assert_cmpuint (pt_test_count_ink (s, 0, (int) y, (int) x - 2, 300), >, 20);
  cairo_surface_destroy (s);
}

static int activated_row = -1, activated_col = -1;

static void
on_cell_activated_cb (PtHeatmap *h, int row, int col, gpointer data)
{
  activated_row = row;
  activated_col = col;
}

static void
test_heatmap_widget (void)
{
  PtHeatmap *h = PT_HEATMAP (g_object_ref_sink (pt_heatmap_new (PT_HEATMAP_SEQUENTIAL)));
  const float v[] = { 1, 2, 3, 4, 5, 6 };
  const int outline[] = { 0, 1 };

  g_signal_connect (h, "cell-activated", G_CALLBACK (on_cell_activated_cb), NULL);
  pt_heatmap_set_matrix (h, 2, 3, v, NULL, NULL);
  pt_heatmap_set_outline (h, outline);
  g_assert_cmpint (pt_heatmap_get_rows (h), ==, 2);
  g_assert_cmpint (pt_heatmap_get_cols (h), ==, 3);
  g_signal_emit_by_name (h, "cell-activated", 1, 2);
  g_assert_cmpint (activated_row, ==, 1);
  g_assert_cmpint (activated_col, ==, 2);
  /* A different row count drops the outline rather than reading past it. */
  pt_heatmap_set_matrix (h, 3, 2, v, NULL, NULL);
  g_assert_finalize_object (h);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/heatmap/diverging", test_heatmap_diverging);
  g_test_add_func ("/ui/heatmap/sequential-labels", test_heatmap_sequential_labels);
  pt_test_add_display_func ("/ui/heatmap/widget", test_heatmap_widget);
  return g_test_run ();
}
