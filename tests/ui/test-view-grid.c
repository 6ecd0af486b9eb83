/* PtViewGrid: drawing, hit testing, record descriptions, widget copy. */
#include "pt-view-grid.h"
#include "pt-test-ui.h"

#define CELL 64

static guint8 source[3 * 8 * 8];
static float view0[3 * 8 * 8];
static float view1[1 * 4 * 4];
static PtViewRecord records[2];
static const float *views[2] = { view0, view1 };

static PtViewGridModel
make_model (PtViewGridRow *row)
{
  /* A red 8x8 source; view 0 is all blue at full size and was cropped from
   * (2, 2) 4x4; view 1 is a grey 4x4 local view (half size). */
  for (int i = 0; i < 64; i++)
    {
      source[i] = 255;
      source[64 + i] = 0;
      source[128 + i] = 0;
      view0[i] = 0;
      view0[64 + i] = 0;
      view0[128 + i] = 1;
    }
  for (int i = 0; i < 16; i++)
    view1[i] = 0.5f;

  memset (records, 0, sizeof records);
  records[0] = (PtViewRecord) { .view = 0, .fired = 1u << PT_AUG_CROP, .out_channels = 3,
                                .out_height = 8, .out_width = 8, .crop_x = 2, .crop_y = 2,
                                .crop_w = 4, .crop_h = 4, .crop_scale = 0.25, .crop_ratio = 1 };
  records[1] = (PtViewRecord) { .view = 1, .fired = (1u << PT_AUG_CROP) | (1u << PT_AUG_HFLIP),
                                .out_channels = 1, .out_height = 4, .out_width = 4,
                                .crop_x = 0, .crop_y = 0, .crop_w = 8, .crop_h = 8,
                                .crop_scale = 1, .crop_ratio = 1 };

  *row = (PtViewGridRow) { .image = source, .c = 3, .h = 8, .w = 8, .n_views = 2,
                           .views = views, .records = records, .similarity = NAN };
  return (PtViewGridModel) { .n_rows = 1, .rows = row, .cell = CELL, .text_color = { 0, 0, 0, 1 } };
}

static void
test_view_grid_draw (void)
{
  PtViewGridRow row;
  PtViewGridModel m = make_model (&row);
  GdkRGBA red = { 1, 0, 0, 1 }, blue = { 0, 0, 1, 1 }, grey = { 0.5, 0.5, 0.5, 1 }, c0;
  cairo_surface_t *s;
  cairo_t *cr;
  int w, h;
  guint r;
  int v, x0 = -1, x1 = -1;

  pt_view_grid_get_size (&m, &w, &h);
  g_assert_cmpint (w, >, 3 * CELL);
  g_assert_cmpint (h, >=, CELL);
  s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, w, h);
  cr = cairo_create (s);
  pt_view_grid_draw (cr, &m);
  cairo_destroy (cr);

  /* The source is red away from the crop box... */
  g_assert_true (pt_test_pixel_is (s, 8 + 4, 8 + 4, &red, 0.02));
  /* ...and the crop box (source pixels 2..6 -> screen 16..48) is outlined in view 0's colour. */
  pt_view_grid_view_color (0, &c0);
  g_assert_true (pt_test_pixel_is (s, 8 + 16 + 1, 8 + 32, &c0, 0.05));
  g_assert_true (pt_test_pixel_is (s, 8 + 32, 8 + 32, &red, 0.02));

  /* Find the views by hit testing along the row centre. */
  for (int x = 0; x < w; x++)
    if (pt_view_grid_hit (&m, x, 8 + CELL / 2, &r, &v))
      {
        if (v == 0 && x0 < 0)
          x0 = x;
        if (v == 1 && x1 < 0)
          x1 = x;
      }
  g_assert_cmpint (x0, >, 8 + CELL);
  g_assert_cmpint (x1, >, x0 + CELL);

  /* View 0 is blue over a full cell; the local view is grey and half as big. */
  g_assert_true (pt_test_pixel_is (s, x0 + CELL / 2, 8 + CELL / 2, &blue, 0.02));
  g_assert_true (pt_test_pixel_is (s, x1 + CELL / 4, 8 + CELL / 2, &grey, 0.02));
  g_assert_false (pt_test_pixel_is (s, x1 + CELL * 3 / 4, 8 + CELL / 2, &grey, 0.02));

  /* Nothing is hit above the rows or left of the source. */
  g_assert_false (pt_view_grid_hit (&m, 2, 2, &r, &v));
  g_assert_true (pt_view_grid_hit (&m, 20, 8 + CELL / 2, &r, &v));
  g_assert_cmpint (v, ==, -1);

  cairo_surface_destroy (s);
}

static void
test_view_grid_describe (void)
{
  PtViewGridRow row;
  PtViewGridModel m = make_model (&row);
  g_autofree char *d0 = pt_view_grid_describe_view (&m.rows[0].records[0]);
  g_autofree char *d1 = pt_view_grid_describe_view (&m.rows[0].records[1]);

  g_assert_nonnull (strstr (d0, "View 1 · 8 × 8"));
  g_assert_nonnull (strstr (d0, "crop 2, 2, 4 × 4 (scale 0.25"));
  g_assert_null (strstr (d0, "flip"));
  g_assert_nonnull (strstr (d1, "View 2 · 4 × 4"));
  g_assert_nonnull (strstr (d1, "horizontal flip"));
}

static void
test_view_grid_widget (void)
{
  PtViewGridRow row;
  PtViewGridModel m = make_model (&row);
  PtViewGrid *grid = PT_VIEW_GRID (g_object_ref_sink (pt_view_grid_new ()));
  int min_w, nat_w;

  pt_view_grid_set_rows (grid, 1, &row);
  /* The widget keeps its own copy: changing the caller's data changes nothing. */
  records[0].crop_w = 999;
  g_assert_cmpuint (pt_view_grid_get_n_rows (grid), ==, 1);
  gtk_widget_measure (GTK_WIDGET (grid), GTK_ORIENTATION_HORIZONTAL, -1, &min_w, &nat_w, NULL, NULL);
  /* Natural: big cells; minimum: small ones, so the grid fits narrow windows. */
  g_assert_cmpint (nat_w, >, 2 * 96);
  g_assert_cmpint (min_w, <, nat_w);
  {
    int h_narrow, h_wide, unused;
    /* Height follows width: a narrower grid has smaller cells, so it is shorter. */
    gtk_widget_measure (GTK_WIDGET (grid), GTK_ORIENTATION_VERTICAL, min_w, &h_narrow, &unused, NULL, NULL);
    gtk_widget_measure (GTK_WIDGET (grid), GTK_ORIENTATION_VERTICAL, nat_w, &h_wide, &unused, NULL, NULL);
    g_assert_cmpint (h_narrow, <, h_wide);
  }
  pt_view_grid_set_rows (grid, 0, NULL);
  g_assert_cmpuint (pt_view_grid_get_n_rows (grid), ==, 0);
  (void) m;
  g_assert_finalize_object (grid);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/view-grid/draw", test_view_grid_draw);
  g_test_add_func ("/ui/view-grid/describe", test_view_grid_describe);
  pt_test_add_display_func ("/ui/view-grid/widget", test_view_grid_widget);
  return g_test_run ();
}
