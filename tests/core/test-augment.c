/* Tests for the augmentation pipeline: each op on tiny images with known
 * results, the jitter formulas against an independent double-precision
 * reference, antialiasing, reproducibility, presets and bad recipes. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-augment.h"
#include "pt-aug-rng.h"

/* A recipe of one view group of one view at the input size, all ops off. */
static PtAugRecipe *
single_recipe (PtAugViewGroup **group)
{
  PtAugRecipe *recipe = pt_augment_recipe_new ("test");

  *group = pt_augment_recipe_add_group (recipe, "v", 1, 1.0);
  return recipe;
}

static guint8 *
random_image (int C, int H, int W, guint64 seed)
{
  guint8 *img = g_new (guint8, C * H * W);
  PtAugRng rng;

  pt_aug_rng_init (&rng, seed, 0, 0, 0, 0);
  for (int i = 0; i < C * H * W; i++)
    img[i] = (guint8) pt_aug_rng_below (&rng, 256);
  return img;
}

static void
assert_close (float got, double want, double tol)
{
  if (fabs (got - want) > tol)
    g_error ("got %.7f, want %.7f (tolerance %g)", got, want, tol);
}

static void
test_rng (void)
{
  PtAugRng a, b, c;
  double sum = 0;

  pt_aug_rng_init (&a, 1, 2, 3, 4, 5);
  pt_aug_rng_init (&b, 1, 2, 3, 4, 5);
  pt_aug_rng_init (&c, 1, 2, 3, 5, 4);
  for (int i = 0; i < 100; i++)
    g_assert_cmpuint (pt_aug_rng_next (&a), ==, pt_aug_rng_next (&b));
  pt_aug_rng_init (&a, 1, 2, 3, 4, 5);
  g_assert_cmpuint (pt_aug_rng_next (&a), !=, pt_aug_rng_next (&c));

  for (int i = 0; i < 20000; i++)
    {
      double u = pt_aug_rng_uniform (&a);
      g_assert_cmpfloat (u, >=, 0.0);
      g_assert_cmpfloat (u, <, 1.0);
      sum += u;
    }
  g_assert_cmpfloat (fabs (sum / 20000 - 0.5), <, 0.01);
  for (int i = 0; i < 1000; i++)
    g_assert_cmpuint (pt_aug_rng_below (&a, 7), <, 7);
}

/* No op: the view is the image in [0, 1] exactly. */
static void
test_identity (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (3, 5, 7, 1);
  float out[3 * 5 * 7];
  PtViewRecord rec;

  pt_augment_view (out, &rec, recipe, 0, img, 3, 5, 7, 0, 0, 0);
  for (int i = 0; i < 3 * 5 * 7; i++)
    assert_close (out[i], img[i] / 255.0, 1e-6);
  g_assert_cmpuint (rec.fired, ==, 0);
  g_assert_cmpint (rec.crop_w, ==, 7);
  g_assert_cmpint (rec.crop_h, ==, 5);
  g_assert_cmpint (rec.out_height, ==, 5);
  g_assert_cmpint (rec.out_width, ==, 7);
}

static void
test_flip (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (3, 4, 6, 2);
  float out[3 * 4 * 6];
  PtViewRecord rec;

  pt_aug_view_group_enable (group, PT_AUG_HFLIP)->p = 1.0;
  pt_augment_view (out, &rec, recipe, 0, img, 3, 4, 6, 0, 0, 0);
  g_assert_cmpuint (rec.fired, ==, 1u << PT_AUG_HFLIP);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 6; x++)
        assert_close (out[(c * 4 + y) * 6 + x], img[(c * 4 + y) * 6 + (5 - x)] / 255.0, 1e-6);

  group->ops[PT_AUG_HFLIP].enabled = FALSE;
  pt_aug_view_group_enable (group, PT_AUG_VFLIP)->p = 1.0;
  pt_augment_view (out, &rec, recipe, 0, img, 3, 4, 6, 0, 0, 0);
  g_assert_cmpuint (rec.fired, ==, 1u << PT_AUG_VFLIP);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 6; x++)
        assert_close (out[(c * 4 + y) * 6 + x], img[(c * 4 + (3 - y)) * 6 + x] / 255.0, 1e-6);

  /* p = 0 never fires. */
  group->ops[PT_AUG_VFLIP].p = 0.0;
  for (guint64 i = 0; i < 50; i++)
    {
      pt_augment_view (out, &rec, recipe, 0, img, 3, 4, 6, 0, 0, i);
      g_assert_cmpuint (rec.fired, ==, 0);
    }
}

static void
test_rotate_right_angles (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (1, 5, 5, 3);
  PtAugOpParams *rot = pt_aug_view_group_enable (group, PT_AUG_ROTATE);
  gboolean seen[4] = { FALSE, };
  float out[25];
  PtViewRecord rec;

  rot->right_angles = TRUE;
  for (guint64 i = 0; i < 64; i++)
    {
      int k;

      pt_augment_view (out, &rec, recipe, 0, img, 1, 5, 5, 7, 0, i);
      g_assert_true (rec.fired & (1u << PT_AUG_ROTATE));
      k = (int) (rec.angle / 90.0);
      g_assert_cmpfloat (rec.angle, ==, k * 90.0);
      g_assert_cmpint (k, >=, 0);
      g_assert_cmpint (k, <, 4);
      seen[k] = TRUE;
      for (int y = 0; y < 5; y++)
        for (int x = 0; x < 5; x++)
          {
            /* torch.rot90 (img, k, dims = (H, W)): counter-clockwise. */
            int sy = y, sx = x;

            for (int t = 0; t < k; t++)
              {
                /* One quarter: out[y][x] = in[x][N-1-y]. */
                int ny = sx, nx = 4 - sy;
                sy = ny;
                sx = nx;
              }
            assert_close (out[y * 5 + x], img[sy * 5 + sx] / 255.0, 1e-6);
          }
    }
  for (int k = 0; k < 4; k++)
    g_assert_true (seen[k]);
}

static void
test_rotate_angle (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  PtAugOpParams *rot = pt_aug_view_group_enable (group, PT_AUG_ROTATE);
  guint8 img[8 * 8];
  float out[8 * 8];
  PtViewRecord rec;

  /* A 45-degree turn of a white square leaves the corners at the fill. */
  memset (img, 255, sizeof img);
  rot->min = 45;
  rot->max = 45;
  rot->value = 0.25;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 8, 8, 0, 0, 0);
  g_assert_cmpfloat (rec.angle, ==, 45.0);
  assert_close (out[0], 0.25, 1e-6);
  assert_close (out[63], 0.25, 1e-6);
  assert_close (out[4 * 8 + 4], 1.0, 1e-6);
  assert_close (out[3 * 8 + 3], 1.0, 1e-6);

  /* The angle is drawn inside its range. */
  rot->min = -10;
  rot->max = 30;
  for (guint64 i = 0; i < 100; i++)
    {
      pt_augment_view (out, &rec, recipe, 0, img, 1, 8, 8, 0, 0, i);
      g_assert_cmpfloat (rec.angle, >=, -10);
      g_assert_cmpfloat (rec.angle, <=, 30);
    }
}

/* Off the square fast path (H != W): 180 degrees through bilinear
 * sampling lands on pixel centres, so it is an exact point reflection. */
static void
test_rotate_generic (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (3, 4, 6, 16);
  PtAugOpParams *rot = pt_aug_view_group_enable (group, PT_AUG_ROTATE);
  float out[3 * 4 * 6];
  PtViewRecord rec;

  rot->min = rot->max = 180;
  pt_augment_view (out, &rec, recipe, 0, img, 3, 4, 6, 0, 0, 0);
  for (int c = 0; c < 3; c++)
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 6; x++)
        assert_close (out[(c * 4 + y) * 6 + x], img[(c * 4 + 3 - y) * 6 + 5 - x] / 255.0, 1e-5);
}

/* Each op draws from its own stream: turning blur off leaves the crop,
 * flip and jitter of every view exactly as they were. */
static void
test_op_streams (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("simclr", &error);
  g_autoptr(PtAugRecipe) no_blur = NULL;
  g_autofree guint8 *img = random_image (3, 32, 32, 17);
  float out[3 * 32 * 32];

  g_assert_no_error (error);
  no_blur = pt_augment_recipe_copy (recipe);
  no_blur->groups[0].ops[PT_AUG_BLUR].enabled = FALSE;
  for (guint64 i = 0; i < 20; i++)
    {
      PtViewRecord a, b;

      pt_augment_view (out, &a, recipe, 0, img, 3, 32, 32, 1, 0, i);
      pt_augment_view (out, &b, no_blur, 0, img, 3, 32, 32, 1, 0, i);
      g_assert_cmpint (a.crop_x, ==, b.crop_x);
      g_assert_cmpint (a.crop_w, ==, b.crop_w);
      g_assert_cmpuint (a.fired & ~(1u << PT_AUG_BLUR), ==, b.fired);
      g_assert_cmpfloat (a.brightness, ==, b.brightness);
      g_assert_cmpmem (a.jitter_order, 4, b.jitter_order, 4);
    }
}

static JsonObject *
load_pillow_fixture (JsonParser *parser)
{
  g_autofree char *path = g_build_filename (g_getenv ("PT_TEST_FIXTURES"),
                                            "augment-pillow.json", NULL);
  g_autoptr(GError) error = NULL;

  json_parser_load_from_file (parser, path, &error);
  g_assert_no_error (error);
  return json_node_get_object (json_parser_get_root (parser));
}

/* The crop-box resize against Pillow's antialiased BILINEAR resize (what
 * torchvision's RandomResizedCrop calls on PIL images). */
static void
test_resize_pillow (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *cases = json_object_get_array_member (load_pillow_fixture (parser), "resize");

  g_assert_cmpuint (json_array_get_length (cases), >=, 6);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      int H = json_object_get_int_member (c, "height");
      int W = json_object_get_int_member (c, "width");
      int OH = json_object_get_int_member (c, "out_height");
      int OW = json_object_get_int_member (c, "out_width");
      JsonArray *box = json_object_get_array_member (c, "box");
      JsonArray *in = json_object_get_array_member (c, "input");
      JsonArray *want = json_object_get_array_member (c, "expected");
      g_autofree float *src = g_new (float, H * W);
      g_autofree float *dst = g_new (float, OH * OW);

      g_assert_cmpuint (json_array_get_length (in), ==, (guint) (H * W));
      g_assert_cmpuint (json_array_get_length (want), ==, (guint) (OH * OW));
      for (int k = 0; k < H * W; k++)
        src[k] = (float) json_array_get_double_element (in, k);
      pt_augment_resize (dst, src, 1, H, W,
                         json_array_get_int_element (box, 0), json_array_get_int_element (box, 1),
                         json_array_get_int_element (box, 2), json_array_get_int_element (box, 3),
                         OH, OW);
      for (int k = 0; k < OH * OW; k++)
        assert_close (dst[k], json_array_get_double_element (want, k), 2e-5);
    }
}

/* Equalize and solarize against Pillow's ImageOps (torchvision's equalize
 * is the same algorithm). */
static void
test_equalize_pillow (void)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonArray *cases = json_object_get_array_member (load_pillow_fixture (parser), "equalize");
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) eq = single_recipe (&group);
  g_autoptr(PtAugRecipe) sol = NULL;

  pt_aug_view_group_enable (group, PT_AUG_EQUALIZE)->p = 1.0;
  sol = pt_augment_recipe_new ("sol");
  group = pt_augment_recipe_add_group (sol, "v", 1, 1.0);
  pt_aug_view_group_enable (group, PT_AUG_SOLARIZE)->p = 1.0;

  g_assert_cmpuint (json_array_get_length (cases), >=, 3);
  for (guint i = 0; i < json_array_get_length (cases); i++)
    {
      JsonObject *c = json_array_get_object_element (cases, i);
      int H = json_object_get_int_member (c, "height");
      int W = json_object_get_int_member (c, "width");
      JsonArray *in = json_object_get_array_member (c, "input");
      JsonArray *want_eq = json_object_get_array_member (c, "equalize");
      JsonArray *want_sol = json_object_get_array_member (c, "solarize128");
      g_autofree guint8 *img = g_new (guint8, H * W);
      g_autofree float *out = g_new (float, H * W);

      for (int k = 0; k < H * W; k++)
        img[k] = (guint8) json_array_get_int_element (in, k);
      pt_augment_view (out, NULL, eq, 0, img, 1, H, W, 0, 0, 0);
      for (int k = 0; k < H * W; k++)
        assert_close (out[k], json_array_get_int_element (want_eq, k) / 255.0, 1e-6);
      pt_augment_view (out, NULL, sol, 0, img, 1, H, W, 0, 0, 0);
      for (int k = 0; k < H * W; k++)
        assert_close (out[k], json_array_get_int_element (want_sol, k) / 255.0, 1e-6);
    }
}

/* A box resized to its own size is an exact copy of the box. */
static void
test_resize_box (void)
{
  float src[2 * 6 * 9], dst[2 * 3 * 4];

  for (int i = 0; i < 2 * 6 * 9; i++)
    src[i] = (float) i;
  pt_augment_resize (dst, src, 2, 6, 9, 2, 1, 4, 3, 3, 4);
  for (int c = 0; c < 2; c++)
    for (int y = 0; y < 3; y++)
      for (int x = 0; x < 4; x++)
        assert_close (dst[(c * 3 + y) * 4 + x], src[(c * 6 + y + 1) * 9 + x + 2], 1e-4);

  /* 2x downscale of a ramp: the average of each pixel pair region. */
  {
    float ramp[8], half[4];

    for (int i = 0; i < 8; i++)
      ramp[i] = (float) i;
    pt_augment_resize (half, ramp, 1, 1, 8, 0, 0, 8, 1, 1, 4);
    /* Triangle of half-width 2 around 1, 3, 5, 7: interior outputs are
     * the centre of their pair, x.5. */
    assert_close (half[1], 2.5, 1e-5);
    assert_close (half[2], 4.5, 1e-5);
  }
}

/* Crop box mapping: the view at the crop's size is the source block. */
static void
test_crop_box (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (3, 16, 16, 4);
  PtAugOpParams *crop = pt_aug_view_group_enable (group, PT_AUG_CROP);
  float out[3 * 8 * 8];
  PtViewRecord rec;
  gboolean moved = FALSE;

  crop->min = crop->max = 0.25;
  crop->ratio_min = crop->ratio_max = 1.0;
  group->pixels = 8;
  for (guint64 i = 0; i < 20; i++)
    {
      pt_augment_view (out, &rec, recipe, 0, img, 3, 16, 16, 11, 0, i);
      g_assert_true (rec.fired & (1u << PT_AUG_CROP));
      g_assert_false (rec.crop_fallback);
      g_assert_cmpint (rec.crop_w, ==, 8);
      g_assert_cmpint (rec.crop_h, ==, 8);
      g_assert_cmpint (rec.crop_x, >=, 0);
      g_assert_cmpint (rec.crop_x + rec.crop_w, <=, 16);
      g_assert_cmpint (rec.crop_y + rec.crop_h, <=, 16);
      g_assert_cmpfloat (rec.crop_scale, ==, 0.25);
      g_assert_cmpfloat (rec.crop_ratio, ==, 1.0);
      moved |= rec.crop_x != 0 || rec.crop_y != 0;
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 8; y++)
          for (int x = 0; x < 8; x++)
            assert_close (out[(c * 8 + y) * 8 + x],
                          img[(c * 16 + rec.crop_y + y) * 16 + rec.crop_x + x] / 255.0, 1e-5);
    }
  g_assert_true (moved);
}

/* RandomResizedCrop statistics stay inside the configured ranges; an
 * impossible range falls back to torchvision's centre crop. */
static void
test_crop_statistics (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (1, 64, 64, 5);
  PtAugOpParams *crop = pt_aug_view_group_enable (group, PT_AUG_CROP);
  float out[8 * 8];
  PtViewRecord rec;
  double sum = 0, lo = 1, hi = 0;
  const int n = 2000;

  crop->min = 0.2;
  crop->max = 0.5;
  group->pixels = 8;
  for (int i = 0; i < n; i++)
    {
      pt_augment_view (out, &rec, recipe, 0, img, 1, 64, 64, 3, 1, (guint64) i);
      g_assert_false (rec.crop_fallback);
      /* Integer rounding of the sides moves the area by at most ~3%. */
      g_assert_cmpfloat (rec.crop_scale, >=, 0.2 * 0.97);
      g_assert_cmpfloat (rec.crop_scale, <=, 0.5 * 1.03);
      g_assert_cmpfloat (rec.crop_ratio, >=, 0.75 * 0.95);
      g_assert_cmpfloat (rec.crop_ratio, <=, (4.0 / 3.0) * 1.05);
      sum += rec.crop_scale;
      lo = MIN (lo, rec.crop_scale);
      hi = MAX (hi, rec.crop_scale);
    }
  /* Uniform in area: mean near 0.35, and the range is explored. */
  g_assert_cmpfloat (fabs (sum / n - 0.35), <, 0.01);
  g_assert_cmpfloat (lo, <, 0.21);
  g_assert_cmpfloat (hi, >, 0.49);

  /* Full area at ratio 2-3 never fits a square: centre crop of ratio 2. */
  crop->min = crop->max = 1.0;
  crop->ratio_min = 2.0;
  crop->ratio_max = 3.0;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 64, 64, 0, 0, 0);
  g_assert_true (rec.crop_fallback);
  g_assert_cmpint (rec.crop_w, ==, 64);
  g_assert_cmpint (rec.crop_h, ==, 32);
  g_assert_cmpint (rec.crop_x, ==, 0);
  g_assert_cmpint (rec.crop_y, ==, 16);
}

static void
test_solarize (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[4] = { 0, 100, 128, 255 };
  float out[4];
  PtViewRecord rec;
  PtAugOpParams *s = pt_aug_view_group_enable (group, PT_AUG_SOLARIZE);

  s->p = 1.0;
  s->value = 0.5;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 2, 2, 0, 0, 0);
  g_assert_true (rec.fired & (1u << PT_AUG_SOLARIZE));
  g_assert_cmpfloat (rec.solarize_threshold, ==, 0.5);
  assert_close (out[0], 0.0, 1e-6);
  assert_close (out[1], 100 / 255.0, 1e-6);
  assert_close (out[2], 1.0 - 128 / 255.0, 1e-6);   /* 128/255 >= 0.5 */
  assert_close (out[3], 0.0, 1e-6);
}

static void
test_grayscale (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[3 * 2] = { 255, 10, 0, 200, 0, 30 };   /* R plane, G plane, B plane */
  guint8 grey[2] = { 17, 240 };
  float out[3 * 2], gout[2];
  PtViewRecord rec;

  pt_aug_view_group_enable (group, PT_AUG_GRAYSCALE)->p = 1.0;
  pt_augment_view (out, &rec, recipe, 0, img, 3, 1, 2, 0, 0, 0);
  g_assert_true (rec.fired & (1u << PT_AUG_GRAYSCALE));
  for (int i = 0; i < 2; i++)
    {
      double want = (0.299 * img[i] + 0.587 * img[2 + i] + 0.114 * img[4 + i]) / 255.0;

      for (int c = 0; c < 3; c++)
        assert_close (out[c * 2 + i], want, 1e-6);
    }

  /* A grey image is left alone. */
  pt_augment_view (gout, &rec, recipe, 0, grey, 1, 1, 2, 0, 0, 0);
  assert_close (gout[0], 17 / 255.0, 1e-7);
  assert_close (gout[1], 240 / 255.0, 1e-7);
}

/* torchvision's equalize on a 512-pixel channel: step = (512 - 1) / 255 = 2,
 * lut[10] = 0, lut[20] = (256 + 1) / 2 = 128, lut[30] = 512 / 2 -> 255. */
static void
test_equalize (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[512];
  float out[512];
  PtViewRecord rec;

  for (int i = 0; i < 512; i++)
    img[i] = i < 256 ? 10 : (i < 511 ? 20 : 30);
  pt_aug_view_group_enable (group, PT_AUG_EQUALIZE)->p = 1.0;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 16, 32, 0, 0, 0);
  g_assert_true (rec.fired & (1u << PT_AUG_EQUALIZE));
  for (int i = 0; i < 512; i++)
    assert_close (out[i], i < 256 ? 0.0 : (i < 511 ? 128 / 255.0 : 1.0), 1e-6);

  /* Too few pixels for a step: unchanged. */
  {
    guint8 small[4] = { 0, 0, 128, 255 };
    float o[4];

    pt_augment_view (o, &rec, recipe, 0, small, 1, 2, 2, 0, 0, 0);
    for (int i = 0; i < 4; i++)
      assert_close (o[i], small[i] / 255.0, 1e-6);
  }
}

static void
test_erase (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[3 * 20 * 20];
  float out[3 * 20 * 20];
  PtViewRecord rec;
  PtAugOpParams *e = pt_aug_view_group_enable (group, PT_AUG_ERASE);

  memset (img, 255, sizeof img);
  e->p = 1.0;
  e->value = 0.25;
  for (guint64 i = 0; i < 30; i++)
    {
      int count = 0;

      pt_augment_view (out, &rec, recipe, 0, img, 3, 20, 20, 0, 0, i);
      if (!(rec.fired & (1u << PT_AUG_ERASE)))
        continue;
      g_assert_cmpfloat (rec.erase_value, ==, 0.25);
      g_assert_cmpint (rec.erase_x + rec.erase_w, <=, 20);
      g_assert_cmpint (rec.erase_y + rec.erase_h, <=, 20);
      for (int c = 0; c < 3; c++)
        for (int y = 0; y < 20; y++)
          for (int x = 0; x < 20; x++)
            {
              gboolean inside = x >= rec.erase_x && x < rec.erase_x + rec.erase_w &&
                                y >= rec.erase_y && y < rec.erase_y + rec.erase_h;
              float v = out[(c * 20 + y) * 20 + x];

              assert_close (v, inside ? 0.25 : 1.0, 1e-6);
              count += inside;
            }
      g_assert_cmpint (count, ==, 3 * rec.erase_w * rec.erase_h);
      g_assert_cmpint (rec.erase_w * rec.erase_h, <=, (int) (0.33 * 400 * 1.2));
    }
}

static void
test_noise (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[32 * 32];
  float out[32 * 32];
  PtViewRecord rec;
  double sum = 0, sum2 = 0;
  PtAugOpParams *n = pt_aug_view_group_enable (group, PT_AUG_NOISE);

  memset (img, 128, sizeof img);
  n->p = 1.0;
  n->value = 0.05;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 32, 32, 0, 0, 0);
  g_assert_true (rec.fired & (1u << PT_AUG_NOISE));
  g_assert_cmpfloat (rec.noise_std, ==, (float) 0.05);
  for (int i = 0; i < 1024; i++)
    {
      double d = out[i] - 128 / 255.0;
      sum += d;
      sum2 += d * d;
    }
  g_assert_cmpfloat (fabs (sum / 1024), <, 0.01);
  g_assert_cmpfloat (fabs (sqrt (sum2 / 1024) - 0.05), <, 0.006);
}

static void
test_blur (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[32 * 32];
  float out[32 * 32];
  PtViewRecord rec;
  PtAugOpParams *b = pt_aug_view_group_enable (group, PT_AUG_BLUR);
  double total = 0, sum_w = 0;

  b->p = 1.0;
  /* An impulse spreads symmetrically; the kernel is 10% of 32 made odd. */
  memset (img, 0, sizeof img);
  img[16 * 32 + 16] = 255;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 32, 32, 0, 0, 0);
  g_assert_true (rec.fired & (1u << PT_AUG_BLUR));
  g_assert_cmpint (rec.blur_kernel, ==, 3);
  g_assert_cmpfloat (rec.blur_sigma, >=, 0.1);
  g_assert_cmpfloat (rec.blur_sigma, <=, 2.0);
  for (int i = 0; i < 1024; i++)
    total += out[i];
  assert_close ((float) total, 1.0, 1e-5);
  assert_close (out[15 * 32 + 16], out[17 * 32 + 16], 1e-7);
  assert_close (out[16 * 32 + 15], out[16 * 32 + 17], 1e-7);
  g_assert_cmpfloat (out[16 * 32 + 16], <, 1.0);
  /* The centre weight is the 1-D Gaussian's centre tap squared. */
  for (int k = -1; k <= 1; k++)
    sum_w += exp (-0.5 * k * k / (rec.blur_sigma * rec.blur_sigma));
  assert_close (out[16 * 32 + 16], 1.0 / (sum_w * sum_w), 1e-5);
  /* Outside the 3x3 footprint nothing moved. */
  assert_close (out[14 * 32 + 16], 0.0, 1e-7);
}

/* Independent reference of ColorJitter in double precision. */
static void
ref_rgb_to_hsv (double r, double g, double b, double *h, double *s, double *v)
{
  double mx = fmax (r, fmax (g, b)), mn = fmin (r, fmin (g, b));

  *v = mx;
  if (mx == mn)
    {
      *h = 0;
      *s = 0;
      return;
    }
  *s = (mx - mn) / mx;
  {
    double rc = (mx - r) / (mx - mn), gc = (mx - g) / (mx - mn), bc = (mx - b) / (mx - mn);

    if (r == mx)
      *h = bc - gc;
    else if (g == mx)
      *h = 2.0 + rc - bc;
    else
      *h = 4.0 + gc - rc;
    *h = fmod (*h / 6.0, 1.0);
    if (*h < 0)
      *h += 1.0;
  }
}

static void
ref_hsv_to_rgb (double h, double s, double v, double *r, double *g, double *b)
{
  /* The continuous form: channel k at f(n) = v - v s max(0, min(k, 4-k, 1)). */
  double n[3] = { 5, 3, 1 };
  double *out[3] = { r, g, b };

  for (int c = 0; c < 3; c++)
    {
      double k = fmod (n[c] + h * 6.0, 6.0);
      *out[c] = v - v * s * fmax (0, fmin (fmin (k, 4 - k), 1));
    }
}

static void
ref_jitter (double *x, int n, const PtViewRecord *rec, gboolean on[4])
{
  for (int step = 0; step < 4; step++)
    {
      int comp = rec->jitter_order[step];

      if (!on[comp])
        continue;
      if (comp == PT_JITTER_BRIGHTNESS)
        for (int i = 0; i < 3 * n; i++)
          x[i] = fmin (1, fmax (0, x[i] * rec->brightness));
      else if (comp == PT_JITTER_CONTRAST)
        {
          double mean = 0;
          for (int i = 0; i < n; i++)
            mean += 0.299 * x[i] + 0.587 * x[n + i] + 0.114 * x[2 * n + i];
          mean /= n;
          for (int i = 0; i < 3 * n; i++)
            x[i] = fmin (1, fmax (0, rec->contrast * x[i] + (1 - rec->contrast) * mean));
        }
      else if (comp == PT_JITTER_SATURATION)
        for (int i = 0; i < n; i++)
          {
            double g = 0.299 * x[i] + 0.587 * x[n + i] + 0.114 * x[2 * n + i];
            for (int c = 0; c < 3; c++)
              x[c * n + i] = fmin (1, fmax (0, rec->saturation * x[c * n + i] +
                                            (1 - rec->saturation) * g));
          }
      else
        for (int i = 0; i < n; i++)
          {
            double h, s, v, r, g, b;
            ref_rgb_to_hsv (x[i], x[n + i], x[2 * n + i], &h, &s, &v);
            h = fmod (h + rec->hue + 1.0, 1.0);
            ref_hsv_to_rgb (h, s, v, &r, &g, &b);
            x[i] = r;
            x[n + i] = g;
            x[2 * n + i] = b;
          }
    }
}

static void
test_jitter (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (3, 6, 6, 9);
  PtAugOpParams *j = pt_aug_view_group_enable (group, PT_AUG_JITTER);
  gboolean orders_differ = FALSE;
  guint8 first_order[4];
  const int n = 36;

  j->p = 1.0;
  j->brightness = 0.8;
  j->contrast = 0.8;
  j->saturation = 0.8;
  j->hue = 0.2;
  for (guint64 i = 0; i < 40; i++)
    {
      float out[3 * 36];
      double ref[3 * 36];
      PtViewRecord rec;
      gboolean on[4] = { TRUE, TRUE, TRUE, TRUE };
      guint seen = 0;

      pt_augment_view (out, &rec, recipe, 0, img, 3, 6, 6, 0, 0, i);
      g_assert_true (rec.fired & (1u << PT_AUG_JITTER));
      g_assert_cmpfloat (rec.brightness, >=, 0.2);
      g_assert_cmpfloat (rec.brightness, <=, 1.8);
      g_assert_cmpfloat (rec.contrast, >=, 0.2);
      g_assert_cmpfloat (rec.saturation, <=, 1.8);
      g_assert_cmpfloat (fabs (rec.hue), <=, 0.2);
      for (int k = 0; k < 4; k++)
        seen |= 1u << rec.jitter_order[k];
      g_assert_cmpuint (seen, ==, 0xf);   /* a permutation */
      if (i == 0)
        memcpy (first_order, rec.jitter_order, 4);
      else
        orders_differ |= memcmp (first_order, rec.jitter_order, 4) != 0;

      for (int k = 0; k < 3 * n; k++)
        ref[k] = img[k] / 255.0;
      ref_jitter (ref, n, &rec, on);
      for (int k = 0; k < 3 * n; k++)
        assert_close (out[k], ref[k], 2e-5);
    }
  g_assert_true (orders_differ);
}

/* Contrast blends towards the mean of the grayscale image: a known case. */
static void
test_contrast_mean (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[3 * 2] = { 255, 0, 0, 0, 0, 0 };   /* a red and a black pixel */
  PtAugOpParams *j = pt_aug_view_group_enable (group, PT_AUG_JITTER);
  float out[6];
  PtViewRecord rec;
  double mean = 0.299 / 2;

  j->p = 1.0;
  j->contrast = 0.5;
  pt_augment_view (out, &rec, recipe, 0, img, 3, 1, 2, 0, 0, 0);
  assert_close (out[0], rec.contrast * 1.0 + (1 - rec.contrast) * mean, 1e-6);
  assert_close (out[1], (1 - rec.contrast) * mean, 1e-6);
  assert_close (out[2], (1 - rec.contrast) * mean, 1e-6);
  /* Only contrast was drawn; the other factors stay neutral. */
  g_assert_cmpfloat (rec.brightness, ==, 1.0);
  g_assert_cmpfloat (rec.saturation, ==, 1.0);
  g_assert_cmpfloat (rec.hue, ==, 0.0);
}

/* Grey images: saturation and hue are no-ops; brightness applies. */
static void
test_jitter_grey (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (1, 4, 4, 10);
  PtAugOpParams *j = pt_aug_view_group_enable (group, PT_AUG_JITTER);
  float out[16];
  PtViewRecord rec;

  j->p = 1.0;
  j->saturation = 0.9;
  j->hue = 0.5;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 4, 4, 0, 0, 0);
  for (int i = 0; i < 16; i++)
    assert_close (out[i], img[i] / 255.0, 1e-7);

  j->saturation = 0;
  j->hue = 0;
  j->brightness = 0.5;
  pt_augment_view (out, &rec, recipe, 0, img, 1, 4, 4, 0, 0, 0);
  for (int i = 0; i < 16; i++)
    assert_close (out[i], fmin (1.0, img[i] / 255.0 * rec.brightness), 1e-6);
}

/* Grey in, three channels out when the recipe asks. */
static void
test_grey_to_rgb (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autofree guint8 *img = random_image (1, 4, 4, 12);
  float out[3 * 16];
  PtViewRecord rec;
  int oc, oh, ow;

  recipe->channels = 3;
  pt_augment_recipe_get_view_shape (recipe, 0, 1, 4, 4, &oc, &oh, &ow);
  g_assert_cmpint (oc, ==, 3);
  pt_augment_view (out, &rec, recipe, 0, img, 1, 4, 4, 0, 0, 0);
  g_assert_cmpint (rec.out_channels, ==, 3);
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < 16; i++)
      assert_close (out[c * 16 + i], img[i] / 255.0, 1e-7);
}

/* A 1-pixel checkerboard downscaled 4x comes out uniform grey; plain
 * bilinear (2 taps) would give stripes of 0 and 1. */
static void
test_antialias (void)
{
  float src[32 * 32], dst[8 * 8];
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  guint8 img[32 * 32];
  float view[8 * 8];

  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      {
        src[y * 32 + x] = (float) ((x + y) & 1);
        img[y * 32 + x] = (x + y) & 1 ? 255 : 0;
      }
  pt_augment_resize (dst, src, 1, 32, 32, 0, 0, 32, 32, 8, 8);
  for (int i = 0; i < 64; i++)
    assert_close (dst[i], 0.5, 0.02);

  /* The same through a view at a quarter of the size. */
  group->size = 0.25;
  pt_augment_view (view, NULL, recipe, 0, img, 1, 32, 32, 0, 0, 0);
  for (int i = 0; i < 64; i++)
    assert_close (view[i], 0.5, 0.02);
}

static void
test_view_shapes (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) swav = pt_augment_recipe_load ("swav", &error);
  int oc, oh, ow;

  g_assert_no_error (error);
  g_assert_cmpuint (pt_augment_recipe_get_n_views (swav), ==, 8);
  pt_augment_recipe_get_view_shape (swav, 0, 3, 32, 32, &oc, &oh, &ow);
  g_assert_cmpint (oh, ==, 32);
  g_assert_cmpint (ow, ==, 32);
  pt_augment_recipe_get_view_shape (swav, 2, 3, 32, 32, &oc, &oh, &ow);
  g_assert_cmpint (oh, ==, 14);
  pt_augment_recipe_get_view_shape (swav, 7, 1, 28, 28, &oc, &oh, &ow);
  g_assert_cmpint (oc, ==, 1);
  g_assert_cmpint (oh, ==, 12);
  g_assert_cmpint (ow, ==, 12);
}

/* Same key, same bytes and record; another view index, another view. */
static void
test_reproducible (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("byol", &error);
  g_autofree guint8 *img = random_image (3, 32, 32, 13);
  float a[3 * 32 * 32], b[3 * 32 * 32];
  PtViewRecord ra, rb;

  g_assert_no_error (error);
  for (guint64 i = 0; i < 10; i++)
    {
      pt_augment_view (a, &ra, recipe, 0, img, 3, 32, 32, 42, 3, i);
      pt_augment_view (b, &rb, recipe, 0, img, 3, 32, 32, 42, 3, i);
      g_assert_cmpmem (a, sizeof a, b, sizeof b);
      g_assert_cmpmem (&ra, sizeof ra, &rb, sizeof rb);

      pt_augment_view (b, &rb, recipe, 1, img, 3, 32, 32, 42, 3, i);
      g_assert_true (memcmp (a, b, sizeof a) != 0);
      g_assert_true (ra.crop_x != rb.crop_x || ra.crop_y != rb.crop_y ||
                     ra.crop_w != rb.crop_w || ra.crop_h != rb.crop_h);

      /* Another epoch, another seed: other views. */
      pt_augment_view (b, &rb, recipe, 0, img, 3, 32, 32, 42, 4, i);
      g_assert_true (memcmp (a, b, sizeof a) != 0);
      pt_augment_view (b, &rb, recipe, 0, img, 3, 32, 32, 43, 3, i);
      g_assert_true (memcmp (a, b, sizeof a) != 0);
    }
}

/* A batch is the same with 1 or 3 threads and in any image order. */
static void
test_batch_threads (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("dino", &error);
  enum { B = 12, C = 3, H = 32, W = 32 };
  guint n_views;
  g_autofree guint8 *pixels = random_image (C, H * B, W, 14);
  const guint8 *images[B], *rimages[B];
  guint64 indices[B], rindices[B];
  g_autoptr(GPtrArray) v1 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) v2 = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) v3 = g_ptr_array_new_with_free_func (g_free);
  g_autofree PtViewRecord *r1 = NULL;
  g_autofree PtViewRecord *r2 = NULL;
  g_autofree PtViewRecord *r3 = NULL;
  g_autofree gsize *sizes = NULL;

  g_assert_no_error (error);
  n_views = pt_augment_recipe_get_n_views (recipe);
  g_assert_cmpuint (n_views, ==, 10);
  sizes = g_new (gsize, n_views);
  for (guint v = 0; v < n_views; v++)
    {
      int oc, oh, ow;

      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &oc, &oh, &ow);
      sizes[v] = (gsize) oc * oh * ow;
      g_ptr_array_add (v1, g_new (float, sizes[v] * B));
      g_ptr_array_add (v2, g_new (float, sizes[v] * B));
      g_ptr_array_add (v3, g_new (float, sizes[v] * B));
    }
  r1 = g_new (PtViewRecord, n_views * B);
  r2 = g_new (PtViewRecord, n_views * B);
  r3 = g_new (PtViewRecord, n_views * B);
  for (int b = 0; b < B; b++)
    {
      images[b] = pixels + (gsize) b * C * H * W;
      indices[b] = 1000 + b * 7;
      rimages[b] = pixels + (gsize) (B - 1 - b) * C * H * W;
      rindices[b] = 1000 + (B - 1 - b) * 7;
    }

  pt_augment_batch ((float * const *) v1->pdata, r1, recipe, images, indices, B, C, H, W, 5, 2, 1);
  pt_augment_batch ((float * const *) v2->pdata, r2, recipe, images, indices, B, C, H, W, 5, 2, 3);
  pt_augment_batch ((float * const *) v3->pdata, r3, recipe, rimages, rindices, B, C, H, W, 5, 2, 2);
  for (guint v = 0; v < n_views; v++)
    {
      g_assert_cmpmem (v1->pdata[v], sizes[v] * B * sizeof (float),
                       v2->pdata[v], sizes[v] * B * sizeof (float));
      for (int b = 0; b < B; b++)
        {
          g_assert_cmpmem ((float *) v1->pdata[v] + sizes[v] * b, sizes[v] * sizeof (float),
                           (float *) v3->pdata[v] + sizes[v] * (B - 1 - b), sizes[v] * sizeof (float));
          g_assert_cmpmem (&r1[v * B + b], sizeof (PtViewRecord),
                           &r3[v * B + (B - 1 - b)], sizeof (PtViewRecord));
        }
    }
  g_assert_cmpmem (r1, sizeof (PtViewRecord) * n_views * B, r2, sizeof (PtViewRecord) * n_views * B);
  /* The record says which group each view belongs to. */
  g_assert_cmpuint (r1[0].group, ==, 0);
  g_assert_cmpuint (r1[1 * B].group, ==, 1);
  g_assert_cmpuint (r1[2 * B].group, ==, 2);
  g_assert_cmpint (r1[2 * B].out_width, ==, 14);
  /* Global view 1 always blurs (p = 1). */
  for (int b = 0; b < B; b++)
    g_assert_true (r1[b].fired & (1u << PT_AUG_BLUR));
}

static const char *const preset_names[] = {
  "byol", "dino", "mae", "moco-v1", "moco-v2", "rotnet", "simclr",
  "simclr-cifar", "simclr-small", "swav", "vicreg",
};

static void
test_presets_round_trip (void)
{
  g_auto(GStrv) list = pt_augment_recipe_list_presets ();
  g_autofree char *dir = g_dir_make_tmp ("pt-augment-XXXXXX", NULL);

  g_assert_nonnull (dir);
  g_assert_cmpuint (g_strv_length (list), >=, G_N_ELEMENTS (preset_names));
  for (guint i = 0; i < G_N_ELEMENTS (preset_names); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load (preset_names[i], &error);
      g_autoptr(PtAugRecipe) again = NULL;
      g_autoptr(PtAugRecipe) from_file = NULL;
      g_autoptr(PtAugRecipe) copy = NULL;
      g_autofree char *data = NULL;
      g_autofree char *data2 = NULL;
      g_autofree char *file = g_strconcat (preset_names[i], ".ini", NULL);
      g_autofree char *path = g_build_filename (dir, file, NULL);
      gsize len;

      g_assert_no_error (error);
      g_assert_true (g_strv_contains ((const char * const *) list, preset_names[i]));
      g_assert_cmpstr (recipe->name, ==, preset_names[i]);
      g_assert_nonnull (recipe->reference);
      g_assert_nonnull (recipe->title);
      g_assert_nonnull (recipe->comment);
      g_assert_true (pt_augment_recipe_validate (recipe, preset_names[i], &error));

      data = pt_augment_recipe_to_data (recipe, &len);
      again = pt_augment_recipe_load_data (data, len, "memory", &error);
      g_assert_no_error (error);
      g_assert_true (pt_augment_recipe_equal (recipe, again));
      data2 = pt_augment_recipe_to_data (again, NULL);
      g_assert_cmpstr (data, ==, data2);

      /* The preset files are exactly what saving writes. */
      {
        g_autofree char *src = g_build_filename (g_getenv ("PT_SOURCE_DIR"), "data", "recipes",
                                                 file, NULL);
        g_autofree char *on_disk = NULL;

        g_assert_true (g_file_get_contents (src, &on_disk, NULL, NULL));
        g_assert_cmpstr (on_disk, ==, data);
      }

      g_assert_true (pt_augment_recipe_save (recipe, path, &error));
      g_assert_no_error (error);
      from_file = pt_augment_recipe_load (path, &error);
      g_assert_no_error (error);
      g_assert_true (pt_augment_recipe_equal (recipe, from_file));

      copy = pt_augment_recipe_copy (recipe);
      g_assert_true (pt_augment_recipe_equal (recipe, copy));
      copy->groups[0].ops[PT_AUG_HFLIP].p = 0.25;
      g_assert_false (pt_augment_recipe_equal (recipe, copy));
      g_assert_cmpint (g_remove (path), ==, 0);
    }
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* The published parameters, spot-checked. */
static void
test_presets_values (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) simclr = pt_augment_recipe_load ("simclr", &error);
  g_autoptr(PtAugRecipe) cifar = pt_augment_recipe_load ("simclr-cifar", NULL);
  g_autoptr(PtAugRecipe) byol = pt_augment_recipe_load ("byol", NULL);
  g_autoptr(PtAugRecipe) dino = pt_augment_recipe_load ("dino", NULL);
  g_autoptr(PtAugRecipe) mae = pt_augment_recipe_load ("mae", NULL);
  g_autoptr(PtAugRecipe) rotnet = pt_augment_recipe_load ("rotnet", NULL);
  const PtAugOpParams *ops;

  g_assert_no_error (error);
  g_assert_nonnull (cifar);
  g_assert_nonnull (byol);
  g_assert_nonnull (dino);
  g_assert_nonnull (mae);
  g_assert_nonnull (rotnet);

  g_assert_cmpuint (simclr->n_groups, ==, 1);
  g_assert_cmpuint (simclr->groups[0].count, ==, 2);
  ops = simclr->groups[0].ops;
  g_assert_cmpfloat (ops[PT_AUG_CROP].min, ==, 0.08);
  g_assert_cmpfloat (ops[PT_AUG_CROP].max, ==, 1.0);
  g_assert_cmpfloat (ops[PT_AUG_HFLIP].p, ==, 0.5);
  g_assert_cmpfloat (ops[PT_AUG_JITTER].p, ==, 0.8);
  g_assert_cmpfloat (ops[PT_AUG_JITTER].brightness, ==, 0.8);
  g_assert_cmpfloat (ops[PT_AUG_JITTER].hue, ==, 0.2);
  g_assert_cmpfloat (ops[PT_AUG_GRAYSCALE].p, ==, 0.2);
  g_assert_true (ops[PT_AUG_BLUR].enabled);
  g_assert_cmpfloat (ops[PT_AUG_BLUR].p, ==, 0.5);
  g_assert_cmpfloat (ops[PT_AUG_BLUR].min, ==, 0.1);
  g_assert_cmpfloat (ops[PT_AUG_BLUR].max, ==, 2.0);

  ops = cifar->groups[0].ops;
  g_assert_cmpfloat (ops[PT_AUG_JITTER].contrast, ==, 0.4);
  g_assert_cmpfloat (ops[PT_AUG_JITTER].hue, ==, 0.1);
  g_assert_false (ops[PT_AUG_BLUR].enabled);

  g_assert_cmpuint (byol->n_groups, ==, 2);
  g_assert_cmpfloat (byol->groups[0].ops[PT_AUG_BLUR].p, ==, 1.0);
  g_assert_cmpfloat (byol->groups[1].ops[PT_AUG_BLUR].p, ==, 0.1);
  g_assert_cmpfloat (byol->groups[0].ops[PT_AUG_SOLARIZE].p, ==, 0.0);
  g_assert_cmpfloat (byol->groups[1].ops[PT_AUG_SOLARIZE].p, ==, 0.2);

  g_assert_cmpuint (pt_augment_recipe_get_n_views (dino), ==, 10);
  g_assert_cmpfloat (dino->groups[2].ops[PT_AUG_CROP].max, ==, 0.4);

  g_assert_cmpfloat (mae->groups[0].ops[PT_AUG_CROP].min, ==, 0.2);
  g_assert_false (mae->groups[0].ops[PT_AUG_JITTER].enabled);
  /* one view, never rotated: the rotnet method rotates in its step */
  g_assert_cmpuint (pt_augment_recipe_get_n_views (rotnet), ==, 1);
  g_assert_false (rotnet->groups[0].ops[PT_AUG_ROTATE].enabled);
  g_assert_cmpfloat (rotnet->groups[0].ops[PT_AUG_CROP].min, ==, 0.6);
}

/* Four views of an image that are one augmented view turned by 0, 90, 180
 * and 270 degrees (shared draws, by-view angles), as a loader-side RotNet
 * would make them (the rotnet method rotates in its step instead). */
static void
test_rotnet_copies (void)
{
  static const char text[] =
    "[recipe]\nname=copies\nviews=main;\n"
    "[view:main]\ncount=4\nshared=true\n"
    "[main:crop]\np=1\nscale-min=0.6\n"
    "[main:hflip]\np=0.5\n"
    "[main:rotate]\np=1\ndegrees-min=0\ndegrees-max=0\nright-angles=true\nby-view=true\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load_data (text, (gsize) -1, "copies", &error);
  g_autofree guint8 *img = random_image (3, 16, 16, 18);
  float views[4][3 * 16 * 16];
  PtViewRecord rec[4];

  g_assert_no_error (error);
  for (guint64 i = 0; i < 8; i++)
    {
      for (guint v = 0; v < 4; v++)
        {
          pt_augment_view (views[v], &rec[v], recipe, v, img, 3, 16, 16, 4, 1, i);
          g_assert_cmpfloat (rec[v].angle, ==, 90.0 * v);
          g_assert_cmpint (rec[v].crop_x, ==, rec[0].crop_x);
          g_assert_cmpint (rec[v].crop_y, ==, rec[0].crop_y);
          g_assert_cmpint (rec[v].crop_w, ==, rec[0].crop_w);
          g_assert_cmpuint (rec[v].fired, ==, rec[0].fired);
        }
      /* View k is view 0 turned k quarters counter-clockwise. */
      for (guint v = 1; v < 4; v++)
        for (int c = 0; c < 3; c++)
          for (int y = 0; y < 16; y++)
            for (int x = 0; x < 16; x++)
              {
                int sy = y, sx = x;

                for (guint t = 0; t < v; t++)
                  {
                    int ny = sx, nx = 15 - sy;
                    sy = ny;
                    sx = nx;
                  }
                g_assert_cmpfloat (views[v][(c * 16 + y) * 16 + x], ==,
                                   views[0][(c * 16 + sy) * 16 + sx]);
              }
    }
}

typedef struct {
  const char *body;     /* after a valid [recipe] header */
  const char *needles[3];
} BadCase;

static void
test_bad_recipes (void)
{
  static const char *head = "[recipe]\nname=t\nviews=a;\n";
  static const BadCase cases[] = {
    { "[a:sharpen]\np=1\n", { "[a:sharpen]", "sharpen", NULL } },
    { "[a:crop]\nscal-min=0.2\n", { "[a:crop]", "“scal-min”", "unknown key" } },
    { "[a:hflip]\np=1.5\n", { "[a:hflip]", "“p”", "[0, 1]" } },
    { "[a:hflip]\np=-0.1\n", { "[a:hflip]", "“p”", "probability" } },
    { "[a:crop]\nscale-min=0.9\nscale-max=0.5\n", { "[a:crop]", "“scale-min”", "greater" } },
    { "[a:jitter]\nhue=0.7\n", { "[a:jitter]", "“hue”", "outside" } },
    { "[a:blur]\nsigma-min=abc\n", { "[a:blur]", "“sigma-min”", "not a number" } },
    { "[a:rotate]\nright-angles=maybe\n", { "[a:rotate]", "“right-angles”", NULL } },
    { "[view:a]\ncount=0\n", { "[view:a]", "“count”", NULL } },
    { "[view:a]\nsize=9\n", { "[view:a]", "“size”", NULL } },
    { "[view:a]\nzoom=2\n", { "[view:a]", "“zoom”", NULL } },
    { "[view:a]\nshared=often\n", { "[view:a]", "“shared”", NULL } },
    { "[a:rotate]\nby-view=2\n", { "[a:rotate]", "“by-view”", NULL } },
    { "[b:crop]\np=1\n", { "[b:crop]", "not listed", NULL } },
    { "[extra]\nx=1\n", { "[extra]", "unknown group", NULL } },
    { "[a:erase]\nratio-min=0\n", { "[a:erase]", "“ratio-min”", NULL } },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *text = g_strconcat (head, cases[i].body, NULL);
      g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load_data (text, -1, "bad.ini", &error);

      g_assert_null (recipe);
      g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID);
      g_assert_true (g_str_has_prefix (error->message, "bad.ini: "));
      for (guint k = 0; k < 3 && cases[i].needles[k]; k++)
        if (strstr (error->message, cases[i].needles[k]) == NULL)
          g_error ("case %u: “%s” does not mention “%s”", i, error->message, cases[i].needles[k]);
    }

  /* Problems in [recipe] itself. */
  {
    static const struct { const char *text; const char *needle; } top[] = {
      { "[view:a]\ncount=1\n", "[recipe] is missing" },
      { "[recipe]\nname=t\n", "“views”" },
      { "[recipe]\nviews=a;\n", "“name”" },
      { "[recipe]\nname=t\nviews=a;\ncolour=1\n", "“colour”" },
      { "[recipe]\nname=t\nviews=a;\nchannels=2\n", "“channels”" },
      { "[recipe]\nname=t\nviews=a;a;\n", "twice" },
      { "not an ini file\n", "bad.ini" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (top); i++)
      {
        g_autoptr(GError) error = NULL;
        g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load_data (top[i].text, -1, "bad.ini", &error);

        g_assert_null (recipe);
        g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID);
        if (strstr (error->message, top[i].needle) == NULL)
          g_error ("“%s” does not mention “%s”", error->message, top[i].needle);
      }
  }

  /* Missing preset and missing file: not found, named. */
  {
    g_autoptr(GError) error = NULL;

    g_assert_null (pt_augment_recipe_load ("no-such-preset", &error));
    g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "no-such-preset"));
    g_assert_nonnull (strstr (error->message, "simclr"));
    g_clear_error (&error);
    g_assert_null (pt_augment_recipe_load ("/nonexistent/x.ini", &error));
    g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_NOT_FOUND);
    g_assert_nonnull (strstr (error->message, "/nonexistent/x.ini"));
  }
}

/* Saving refuses an invalid recipe and leaves no file behind. */
static void
test_save_invalid (void)
{
  PtAugViewGroup *group;
  g_autoptr(PtAugRecipe) recipe = single_recipe (&group);
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-augment-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "bad.ini", NULL);
  g_autofree char *missing = g_build_filename (dir, "no", "such", "dir.ini", NULL);

  pt_aug_view_group_enable (group, PT_AUG_BLUR)->min = 3.0;   /* > max = 2 */
  g_assert_false (pt_augment_recipe_save (recipe, path, &error));
  g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "[v:blur]"));
  g_assert_nonnull (strstr (error->message, "“sigma-min”"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  g_clear_error (&error);

  group->ops[PT_AUG_BLUR].min = 0.5;
  g_assert_false (pt_augment_recipe_save (recipe, missing, &error));
  g_assert_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_WRITE);
  g_assert_nonnull (strstr (error->message, missing));
  g_clear_error (&error);

  g_assert_true (pt_augment_recipe_save (recipe, path, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_remove (path), ==, 0);
  g_assert_cmpint (g_rmdir (dir), ==, 0);
}

/* Bounded random mutations of every preset: each either loads into a
 * recipe that validates, or fails with an error naming the origin. */
static void
test_recipe_mutations (void)
{
  static const char alphabet[] = "[]:=;#\n -.0123456789aeprsxz\xff";
  PtAugRng rng;
  guint loaded = 0, rejected = 0;

  pt_aug_rng_init (&rng, 2024, 0, 0, 0, 0);
  for (guint i = 0; i < G_N_ELEMENTS (preset_names); i++)
    {
      g_autofree char *file = g_strconcat (preset_names[i], ".ini", NULL);
      g_autofree char *src = g_build_filename (g_getenv ("PT_SOURCE_DIR"), "data", "recipes",
                                               file, NULL);
      g_autofree char *text = NULL;
      gsize len;

      g_assert_true (g_file_get_contents (src, &text, &len, NULL));
      for (int round = 0; round < 300; round++)
        {
          g_autofree char *m = g_memdup2 (text, len + 1);
          g_autoptr(GError) error = NULL;
          g_autoptr(PtAugRecipe) recipe = NULL;
          int edits = 1 + (int) pt_aug_rng_below (&rng, 4);

          for (int e = 0; e < edits; e++)
            m[pt_aug_rng_below (&rng, len)] = alphabet[pt_aug_rng_below (&rng, sizeof alphabet - 1)];
          recipe = pt_augment_recipe_load_data (m, len, "mutant.ini", &error);
          if (recipe != NULL)
            {
              g_assert_no_error (error);
              g_assert_true (pt_augment_recipe_validate (recipe, "mutant.ini", NULL));
              loaded++;
            }
          else
            {
              g_assert_nonnull (error);
              g_assert_true (g_str_has_prefix (error->message, "mutant.ini: "));
              rejected++;
            }
        }
    }
  /* Both outcomes happen (comments absorb many edits). */
  g_assert_cmpuint (loaded, >, 0);
  g_assert_cmpuint (rejected, >, 0);
}

/* A minimal recipe gets the documented defaults. */
static void
test_defaults (void)
{
  static const char *text =
    "[recipe]\nname=t\nviews=a;\n[a:crop]\n[a:hflip]\n[a:jitter]\n[a:blur]\n";
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load_data (text, -1, "t.ini", &error);
  const PtAugOpParams *ops;

  g_assert_no_error (error);
  ops = recipe->groups[0].ops;
  g_assert_cmpuint (recipe->groups[0].count, ==, 1);
  g_assert_cmpfloat (recipe->groups[0].size, ==, 1.0);
  g_assert_cmpfloat (ops[PT_AUG_CROP].p, ==, 1.0);
  g_assert_cmpfloat (ops[PT_AUG_CROP].min, ==, 0.08);
  g_assert_cmpfloat (ops[PT_AUG_CROP].ratio_max, ==, 4.0 / 3.0);
  g_assert_cmpfloat (ops[PT_AUG_HFLIP].p, ==, 0.5);
  g_assert_cmpfloat (ops[PT_AUG_JITTER].p, ==, 0.8);
  g_assert_cmpfloat (ops[PT_AUG_BLUR].value, ==, 0.1);
  g_assert_false (ops[PT_AUG_SOLARIZE].enabled);
}

static void
test_record_json (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("simclr", &error);
  g_autofree guint8 *img = random_image (3, 32, 32, 15);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  float out[3 * 32 * 32];
  PtViewRecord rec;
  JsonObject *obj, *crop;

  g_assert_no_error (error);
  /* Find an index where jitter fired. */
  for (guint64 i = 0;; i++)
    {
      pt_augment_view (out, &rec, recipe, 1, img, 3, 32, 32, 0, 0, i);
      if (rec.fired & (1u << PT_AUG_JITTER))
        break;
    }
  pt_view_record_to_json (&rec, builder);
  root = json_builder_get_root (builder);
  obj = json_node_get_object (root);
  g_assert_cmpint (json_object_get_int_member (obj, "view"), ==, 1);
  crop = json_object_get_object_member (obj, "crop");
  g_assert_cmpint (json_object_get_int_member (crop, "w"), ==, rec.crop_w);
  g_assert_cmpint (json_object_get_int_member (crop, "x"), ==, rec.crop_x);
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (obj, "jitter"),
                                                    "brightness"), ==, rec.brightness);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
                      json_object_get_object_member (obj, "jitter"), "order")), ==, 4);
  g_assert_true (json_object_has_member (obj, "fired"));
}

static void
test_record_describe (void)
{
  PtViewRecord rec = { 0 };
  g_autofree char *plain = NULL;
  g_autofree char *text = NULL;

  rec.crop_x = 3;
  rec.crop_y = 4;
  rec.crop_w = 20;
  rec.crop_h = 10;
  rec.crop_scale = 0.25;
  rec.crop_ratio = 2.0;
  plain = pt_view_record_describe (&rec);
  g_assert_cmpstr (plain, ==, "crop 3, 4, 20 × 10 (scale 0.25, ratio 2.00)");

  rec.fired = (1u << PT_AUG_CROP) | (1u << PT_AUG_HFLIP) | (1u << PT_AUG_JITTER) |
              (1u << PT_AUG_BLUR);
  rec.brightness = 1.5;
  rec.contrast = 0.75;
  rec.saturation = 1.0;
  rec.hue = -0.05;
  rec.jitter_order[0] = PT_JITTER_HUE;
  rec.jitter_order[1] = PT_JITTER_BRIGHTNESS;
  rec.jitter_order[2] = PT_JITTER_SATURATION;
  rec.jitter_order[3] = PT_JITTER_CONTRAST;
  rec.blur_sigma = 1.25;
  rec.blur_kernel = 3;
  text = pt_view_record_describe (&rec);
  g_assert_nonnull (strstr (text, "\nhorizontal flip\n"));
  g_assert_nonnull (strstr (text, "brightness 1.50, contrast 0.75, saturation 1.00, hue -0.050"));
  g_assert_nonnull (strstr (text, "order: hue, brightness, saturation, contrast"));
  g_assert_nonnull (strstr (text, "σ 1.25 (kernel 3)"));
  g_assert_null (strstr (text, "vertical"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/augment/rng", test_rng);
  g_test_add_func ("/core/augment/identity", test_identity);
  g_test_add_func ("/core/augment/flip", test_flip);
  g_test_add_func ("/core/augment/rotate/right-angles", test_rotate_right_angles);
  g_test_add_func ("/core/augment/rotate/angle", test_rotate_angle);
  g_test_add_func ("/core/augment/rotate/generic", test_rotate_generic);
  g_test_add_func ("/core/augment/op-streams", test_op_streams);
  g_test_add_func ("/core/augment/resize/box", test_resize_box);
  g_test_add_func ("/core/augment/resize/antialias", test_antialias);
  g_test_add_func ("/core/augment/resize/pillow", test_resize_pillow);
  g_test_add_func ("/core/augment/equalize/pillow", test_equalize_pillow);
  g_test_add_func ("/core/augment/crop/box", test_crop_box);
  g_test_add_func ("/core/augment/crop/statistics", test_crop_statistics);
  g_test_add_func ("/core/augment/solarize", test_solarize);
  g_test_add_func ("/core/augment/grayscale", test_grayscale);
  g_test_add_func ("/core/augment/equalize", test_equalize);
  g_test_add_func ("/core/augment/erase", test_erase);
  g_test_add_func ("/core/augment/noise", test_noise);
  g_test_add_func ("/core/augment/blur", test_blur);
  g_test_add_func ("/core/augment/jitter/reference", test_jitter);
  g_test_add_func ("/core/augment/jitter/contrast-mean", test_contrast_mean);
  g_test_add_func ("/core/augment/jitter/grey", test_jitter_grey);
  g_test_add_func ("/core/augment/grey-to-rgb", test_grey_to_rgb);
  g_test_add_func ("/core/augment/view-shapes", test_view_shapes);
  g_test_add_func ("/core/augment/reproducible", test_reproducible);
  g_test_add_func ("/core/augment/batch-threads", test_batch_threads);
  g_test_add_func ("/core/augment/presets/round-trip", test_presets_round_trip);
  g_test_add_func ("/core/augment/presets/values", test_presets_values);
  g_test_add_func ("/core/augment/presets/rotnet-copies", test_rotnet_copies);
  g_test_add_func ("/core/augment/recipe/bad", test_bad_recipes);
  g_test_add_func ("/core/augment/recipe/defaults", test_defaults);
  g_test_add_func ("/core/augment/recipe/save-invalid", test_save_invalid);
  g_test_add_func ("/core/augment/recipe/mutations", test_recipe_mutations);
  g_test_add_func ("/core/augment/record-json", test_record_json);
  g_test_add_func ("/core/augment/record-describe", test_record_describe);
  return g_test_run ();
}
