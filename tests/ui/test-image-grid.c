/* PtImageGrid: layout, pixels, hit testing, widget. */
#include "pt-image-grid.h"
#include "pt-test-ui.h"

static void
test_image_grid_draw (void)
{
  /* Three 2x2 grey images in rows of 2: black, white, and a half-grey one. */
  float img[3 * 4];
  const char *titles[] = { "original", "masked" };
  PtImageGridModel m = { .n = 3, .c = 1, .h = 2, .w = 2, .images = img, .cols = 2,
                         .row_titles = titles, .fg = { 0, 0, 0, 1 } };
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_ARGB32, 330, 220);
  cairo_t *cr = cairo_create (s);
  GdkRGBA black = { 0, 0, 0, 1 }, white = { 1, 1, 1, 1 }, grey = { 0.5, 0.5, 0.5, 1 };

  for (int i = 0; i < 4; i++)
    {
      img[i] = 0;
      img[4 + i] = 1;
      img[8 + i] = 0.5f;
    }
  pt_image_grid_draw (cr, 330, 220, &m);
  cairo_destroy (cr);

  /* Titles take 110 px; two columns of ~108 px cells; two rows. */
  g_assert_cmpint (pt_image_grid_image_at (&m, 330, 220, 5, 5), ==, -1);
  g_assert_cmpint (pt_image_grid_image_at (&m, 330, 220, 150, 50), ==, 0);
  g_assert_cmpint (pt_image_grid_image_at (&m, 330, 220, 280, 50), ==, 1);
  g_assert_cmpint (pt_image_grid_image_at (&m, 330, 220, 150, 160), ==, 2);
  g_assert_cmpint (pt_image_grid_image_at (&m, 330, 220, 280, 160), ==, -1);
  g_assert_true (pt_test_pixel_is (s, 150, 50, &black, 0.01));
  g_assert_true (pt_test_pixel_is (s, 280, 50, &white, 0.01));
  g_assert_true (pt_test_pixel_is (s, 150, 160, &grey, 0.01));
  /* Row titles are drawn left of the images. */
  g_assert_cmpuint (pt_test_count_ink (s, 0, 0, 105, 108), >, 20);
  cairo_surface_destroy (s);
}

static void
test_image_grid_widget (void)
{
  PtImageGrid *grid = PT_IMAGE_GRID (g_object_ref_sink (pt_image_grid_new ()));
  float img[2 * 3 * 4 * 4] = { 0 };
  int h1, h2, unused;

  pt_image_grid_set_images (grid, 2, 3, 4, 4, img, 1, NULL);
  g_assert_cmpint (pt_image_grid_get_n_images (grid), ==, 2);
  /* Height follows width. */
  gtk_widget_measure (GTK_WIDGET (grid), GTK_ORIENTATION_VERTICAL, 100, &h1, &unused, NULL, NULL);
  gtk_widget_measure (GTK_WIDGET (grid), GTK_ORIENTATION_VERTICAL, 50, &h2, &unused, NULL, NULL);
  g_assert_cmpint (h1, >, h2);
  pt_image_grid_set_images (grid, 0, 0, 0, 0, NULL, 1, NULL);
  g_assert_cmpint (pt_image_grid_get_n_images (grid), ==, 0);
  g_assert_finalize_object (grid);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ui/image-grid/draw", test_image_grid_draw);
  pt_test_add_display_func ("/ui/image-grid/widget", test_image_grid_widget);
  return g_test_run ();
}
