/* pt-cli-augment.c: `pretext-cli augment`, the views training would see.
 *
 * Renders a grid PNG: each row is a source image (upscaled, nearest) with
 * the crop boxes of its views drawn in each view's colour, then the views
 * themselves framed in the same colour. The views are exactly what the
 * loader produces for (seed, epoch, image index, view index). --json prints
 * what each view drew, one line per image, and the result last.
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

#include "pt-build-config.h"
#include "pt-augment.h"
#include "pt-cli.h"
#include "pt-dataset.h"

#define PAD 6

/* Distinct colours for views, cycled past ten. */
static const guint8 view_colours[10][3] = {
  { 230, 25, 75 }, { 60, 180, 75 }, { 255, 225, 25 }, { 0, 130, 200 }, { 245, 130, 48 },
  { 145, 30, 180 }, { 70, 240, 240 }, { 240, 50, 230 }, { 210, 245, 60 }, { 250, 190, 212 },
};

static void
put_pixel (GdkPixbuf    *pixbuf,
           int           x,
           int           y,
           const guint8 *rgb)
{
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  int n_channels = gdk_pixbuf_get_n_channels (pixbuf);
  guint8 *p;

  if (x < 0 || y < 0 || x >= gdk_pixbuf_get_width (pixbuf) || y >= gdk_pixbuf_get_height (pixbuf))
    return;
  p = gdk_pixbuf_get_pixels (pixbuf) + (gsize) y * stride + (gsize) x * n_channels;
  p[0] = rgb[0];
  p[1] = rgb[1];
  p[2] = rgb[2];
}

/* A rectangle outline of the given thickness, inside (x, y, w, h). */
static void
draw_rect (GdkPixbuf    *pixbuf,
           int           x,
           int           y,
           int           w,
           int           h,
           int           thickness,
           const guint8 *rgb)
{
  for (int t = 0; t < thickness; t++)
    {
      for (int i = x; i < x + w; i++)
        {
          put_pixel (pixbuf, i, y + t, rgb);
          put_pixel (pixbuf, i, y + h - 1 - t, rgb);
        }
      for (int j = y; j < y + h; j++)
        {
          put_pixel (pixbuf, x + t, j, rgb);
          put_pixel (pixbuf, x + w - 1 - t, j, rgb);
        }
    }
}

/* Planar C x H x W bytes, upscaled by scale (nearest), at (x0, y0). */
static void
blit_u8 (GdkPixbuf    *pixbuf,
         const guint8 *image,
         int           C,
         int           H,
         int           W,
         int           scale,
         int           x0,
         int           y0)
{
  for (int y = 0; y < H * scale; y++)
    for (int x = 0; x < W * scale; x++)
      {
        gsize k = (gsize) (y / scale) * W + x / scale;
        guint8 rgb[3];

        for (int c = 0; c < 3; c++)
          rgb[c] = image[(gsize) (C == 3 ? c : 0) * H * W + k];
        put_pixel (pixbuf, x0 + x, y0 + y, rgb);
      }
}

static void
blit_float (GdkPixbuf   *pixbuf,
            const float *view,
            int          C,
            int          H,
            int          W,
            int          scale,
            int          x0,
            int          y0)
{
  for (int y = 0; y < H * scale; y++)
    for (int x = 0; x < W * scale; x++)
      {
        gsize k = (gsize) (y / scale) * W + x / scale;
        guint8 rgb[3];

        for (int c = 0; c < 3; c++)
          {
            float v = view[(gsize) (C == 3 ? c : 0) * H * W + k];
            rgb[c] = (guint8) (CLAMP (v, 0.0f, 1.0f) * 255.0f + 0.5f);
          }
        put_pixel (pixbuf, x0 + x, y0 + y, rgb);
      }
}

static void
print_image_json (guint               index,
                  int                 label,
                  const PtViewRecord *records,
                  guint               n_views)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "index");
  json_builder_add_int_value (b, index);
  json_builder_set_member_name (b, "label");
  json_builder_add_int_value (b, label);
  json_builder_set_member_name (b, "views");
  json_builder_begin_array (b);
  for (guint v = 0; v < n_views; v++)
    pt_view_record_to_json (&records[v], b);
  json_builder_end_array (b);
  json_builder_end_object (b);
  pt_cli_print_json_builder (b);
}

int
pt_cli_augment_main (int    argc,
                     char **argv)
{
  g_autofree char *spec = NULL;
  g_autofree char *recipe_name = NULL;
  g_autofree char *out_path = NULL;
  g_autofree char *split_name = NULL;
  gint64 seed = 0, epoch = 0;
  int count = 8, scale = 4;
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_autoptr(PtDataset) dataset = NULL;
  g_autoptr(GdkPixbuf) grid = NULL;
  g_autofree char *png = NULL;
  g_autofree PtViewRecord *records = NULL;
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func (g_free);
  g_autofree int *vc = NULL, *vh = NULL, *vw = NULL;
  PtSplit split = PT_SPLIT_TRAIN;
  gsize png_len = 0;
  guint n_views, n;
  int C, H, W, row_h, width, height, x;
  const GOptionEntry entries[] = {
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &spec, N_("Dataset: shapes, fashion-mnist, mnist, cifar10:PATH, a folder or an IDX file"), N_("D") },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &recipe_name, N_("Preset name or .ini recipe file (default simclr)"), N_("PRESET|FILE") },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, N_("Number of source images, 1 to 64 (default 8)"), N_("N") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed (default 0)"), N_("S") },
    { "epoch", 0, 0, G_OPTION_ARG_INT64, &epoch, N_("Epoch (default 0)"), N_("E") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_("Split: train or test (default train)"), N_("SPLIT") },
    { "scale", 0, 0, G_OPTION_ARG_INT, &scale, N_("Upscaling of the images in the grid, 1 to 16 (default 4)"), N_("K") },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out_path, N_("PNG file to write"), N_("FILE.png") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print what each view drew as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("— render augmented views of a dataset as a grid PNG"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "augment"))
    return PT_EXIT_USAGE;

  if (argc > 1)
    return pt_cli_usage_error ("augment", _("unexpected argument “%s”"), argv[1]);
  if (spec == NULL)
    return pt_cli_usage_error ("augment", _("--dataset is required"));
  if (out_path == NULL)
    return pt_cli_usage_error ("augment", _("--out is required"));
  if (count < 1 || count > 64)
    return pt_cli_usage_error ("augment", _("--count must be between 1 and 64"));
  if (scale < 1 || scale > 16)
    return pt_cli_usage_error ("augment", _("--scale must be between 1 and 16"));
  if (seed < 0 || epoch < 0)
    return pt_cli_usage_error ("augment", _("--seed and --epoch must not be negative"));
  if (split_name != NULL)
    {
      if (strcmp (split_name, "train") == 0)
        split = PT_SPLIT_TRAIN;
      else if (strcmp (split_name, "test") == 0)
        split = PT_SPLIT_TEST;
      else
        return pt_cli_usage_error ("augment", _("--split must be train or test, not “%s”"), split_name);
    }

  recipe = pt_augment_recipe_load (recipe_name != NULL ? recipe_name : "simclr", &error);
  if (recipe == NULL)
    return pt_cli_report_error ("augment", error);
  dataset = pt_dataset_open (spec, split, NULL, NULL, NULL, NULL, &error);
  if (dataset == NULL)
    return pt_cli_report_error ("augment", error);

  C = pt_dataset_get_channels (dataset);
  H = pt_dataset_get_height (dataset);
  W = pt_dataset_get_width (dataset);
  n = MIN ((guint) count, pt_dataset_get_n_images (dataset));
  n_views = pt_augment_recipe_get_n_views (recipe);
  vc = g_new (int, n_views);
  vh = g_new (int, n_views);
  vw = g_new (int, n_views);

  /* Layout: source, then every view, each row as tall as its tallest cell. */
  row_h = H * scale;
  width = PAD + W * scale + PAD;
  for (guint v = 0; v < n_views; v++)
    {
      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &vc[v], &vh[v], &vw[v]);
      g_ptr_array_add (views, g_new (float, (gsize) vc[v] * vh[v] * vw[v]));
      row_h = MAX (row_h, vh[v] * scale);
      width += vw[v] * scale + PAD;
    }
  height = PAD + (int) n * (row_h + PAD);
  if ((gint64) width * height > 8192 * 8192)
    {
      g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   _("the grid would be %d x %d pixels; use a smaller --scale or --count"),
                   width, height);
      return pt_cli_report_error ("augment", error);
    }

  grid = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, width, height);
  gdk_pixbuf_fill (grid, 0x282828ff);
  records = g_new0 (PtViewRecord, n_views);

  for (guint i = 0; i < n; i++)
    {
      const guint8 *image = pt_dataset_get_image (dataset, i);
      int y0 = PAD + (int) i * (row_h + PAD);

      blit_u8 (grid, image, C, H, W, scale, PAD, y0);
      x = PAD + W * scale + PAD;
      for (guint v = 0; v < n_views; v++)
        {
          const guint8 *colour = view_colours[v % G_N_ELEMENTS (view_colours)];
          PtViewRecord *r = &records[v];

          pt_augment_view (views->pdata[v], r, recipe, v, image, C, H, W,
                           (guint64) seed, (guint64) epoch, i);
          blit_float (grid, views->pdata[v], vc[v], vh[v], vw[v], scale, x, y0);
          /* A frame in the pad around the view, in its colour. */
          draw_rect (grid, x - 2, y0 - 2, vw[v] * scale + 4, vh[v] * scale + 4, 2, colour);
          x += vw[v] * scale + PAD;
        }
      /* Crop boxes on the source, drawn last so all stay visible. */
      for (guint v = 0; v < n_views; v++)
        draw_rect (grid, PAD + records[v].crop_x * scale, y0 + records[v].crop_y * scale,
                   records[v].crop_w * scale, records[v].crop_h * scale,
                   scale >= 3 ? 2 : 1, view_colours[v % G_N_ELEMENTS (view_colours)]);
      if (json)
        print_image_json (i, pt_dataset_get_label (dataset, i), records, n_views);
    }

  if (!gdk_pixbuf_save_to_buffer (grid, &png, &png_len, "png", &error, NULL) ||
      !g_file_set_contents_full (out_path, png, png_len,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &error))
    {
      g_autoptr(GError) named = g_error_new (G_FILE_ERROR, G_FILE_ERROR_FAILED,
                                             _("%s: cannot write the grid: %s"),
                                             out_path, error->message);
      return pt_cli_report_error ("augment", named);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "out");
      json_builder_add_string_value (b, out_path);
      json_builder_set_member_name (b, "width");
      json_builder_add_int_value (b, width);
      json_builder_set_member_name (b, "height");
      json_builder_add_int_value (b, height);
      json_builder_set_member_name (b, "images");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "views");
      json_builder_add_int_value (b, n_views);
      json_builder_set_member_name (b, "recipe");
      json_builder_add_string_value (b, recipe->name);
      json_builder_set_member_name (b, "dataset");
      json_builder_add_string_value (b, pt_dataset_get_spec (dataset));
      json_builder_set_member_name (b, "seed");
      json_builder_add_int_value (b, seed);
      json_builder_set_member_name (b, "epoch");
      json_builder_add_int_value (b, epoch);
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
    }
  else
    printf (_("Wrote %s (%d x %d): %u images x %u views of “%s”.\n"),
            out_path, width, height, n, n_views, recipe->name);
  return PT_EXIT_OK;
}
