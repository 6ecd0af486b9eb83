/* pt-dataset-shapes.c: the procedural "shapes" dataset.
 *
 * 3 x 32 x 32 images of ten shape kinds (the class), each drawn with
 * analytic anti-aliasing (coverage from a signed distance) at a random size,
 * position and rotation, in a random foreground colour over a random
 * two-colour gradient, plus mild noise. Colours are drawn independently of
 * the class, so a method trained without colour augmentation can take the
 * colour shortcut.
 *
 * The angle is uniform over the full turn, so the dataset is invariant to
 * quarter turns: a rotated image is as likely as the original, and
 * predicting which quarter turn was applied (RotNet) is impossible on it,
 * its loss stays at ln 4. options->shapes_upright draws every shape at
 * angle 0 (all other draws unchanged) for rotation prediction.
 *
 * Image i depends only on (seed, split, i): every draw comes from a
 * counter-based generator keyed by those three numbers. Labels cycle
 * i % 10, so every class has the same count (to within one).
 */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-dataset-private.h"

#define SHAPES_SIZE      32
#define SHAPES_N_CLASSES 10

static const char * const shape_names[SHAPES_N_CLASSES + 1] = {
  "circle", "square", "triangle", "star", "cross",
  "ring", "diamond", "hexagon", "arrow", "crescent", NULL
};

typedef struct { float x, y; } Vec2;

/* Polygons in unit coordinates (all shapes fit in the unit disc). */
static Vec2 triangle[3];
static Vec2 star[10];
static Vec2 hexagon[6];
static const Vec2 diamond[4] = { { 0.f, 1.f }, { 0.55f, 0.f }, { 0.f, -1.f }, { -0.55f, 0.f } };
static const Vec2 arrow[7] = {
  { -0.9f, -0.22f }, { 0.1f, -0.22f }, { 0.1f, -0.65f }, { 0.95f, 0.f },
  { 0.1f, 0.65f }, { 0.1f, 0.22f }, { -0.9f, 0.22f },
};

static gpointer
init_polygons (gpointer unused)
{
  for (int k = 0; k < 3; k++)
    {
      double a = G_PI / 2 + k * 2 * G_PI / 3;
      triangle[k] = (Vec2) { (float) cos (a), (float) sin (a) };
    }
  for (int k = 0; k < 10; k++)
    {
      double a = G_PI / 2 + k * G_PI / 5;
      double r = k % 2 == 0 ? 1.0 : 0.42;
      star[k] = (Vec2) { (float) (r * cos (a)), (float) (r * sin (a)) };
    }
  for (int k = 0; k < 6; k++)
    {
      double a = k * G_PI / 3;
      hexagon[k] = (Vec2) { (float) (0.9 * cos (a)), (float) (0.9 * sin (a)) };
    }
  return NULL;
}

/* Signed distance to a simple polygon: the nearest edge gives the distance,
 * an even-odd crossing count gives the sign (negative inside). */
static float
sdf_polygon (const Vec2 *v,
             int         n,
             float       px,
             float       py)
{
  float best = G_MAXFLOAT;
  gboolean inside = FALSE;

  for (int i = 0, j = n - 1; i < n; j = i++)
    {
      float ex = v[j].x - v[i].x, ey = v[j].y - v[i].y;
      float wx = px - v[i].x, wy = py - v[i].y;
      float t = CLAMP ((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.f, 1.f);
      float bx = wx - ex * t, by = wy - ey * t;

      best = MIN (best, bx * bx + by * by);
      if ((v[i].y > py) != (v[j].y > py) &&
          px < v[i].x + (py - v[i].y) * ex / ey)
        inside = !inside;
    }
  return inside ? -sqrtf (best) : sqrtf (best);
}

static float
sdf_box (float px,
         float py,
         float hx,
         float hy)
{
  float qx = fabsf (px) - hx, qy = fabsf (py) - hy;
  float ox = MAX (qx, 0.f), oy = MAX (qy, 0.f);

  return sqrtf (ox * ox + oy * oy) + MIN (MAX (qx, qy), 0.f);
}

static float
sdf_shape (int   kind,
           float px,
           float py)
{
  float r = sqrtf (px * px + py * py);

  switch (kind)
    {
    case 0: return r - 0.85f;
    case 1: return sdf_box (px, py, 0.7f, 0.7f);
    case 2: return sdf_polygon (triangle, 3, px, py);
    case 3: return sdf_polygon (star, 10, px, py);
    case 4: return MIN (sdf_box (px, py, 0.95f, 0.3f), sdf_box (px, py, 0.3f, 0.95f));
    case 5: return fabsf (r - 0.7f) - 0.2f;
    case 6: return sdf_polygon (diamond, 4, px, py);
    case 7: return sdf_polygon (hexagon, 6, px, py);
    case 8: return sdf_polygon (arrow, 7, px, py);
    case 9:
      {
        float dx = px - 0.4f;
        return MAX (r - 0.9f, -(sqrtf (dx * dx + py * py) - 0.72f));
      }
    default:
      g_assert_not_reached ();
    }
}

/* Counter-based generator: a SplitMix64 stream keyed by (seed, split, i). */
typedef struct { guint64 state; } ShapesRng;

static guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static void
shapes_rng_init (ShapesRng *rng,
                 guint32    seed,
                 PtSplit    split,
                 guint      i)
{
  guint64 key = mix64 (((guint64) seed << 32) | (guint64) (split == PT_SPLIT_TEST ? 0x5e57 : 0x7a19));

  rng->state = mix64 (key ^ mix64 ((guint64) i + G_GUINT64_CONSTANT (0x632be59bd9b4e019)));
}

static guint64
shapes_rng_next (ShapesRng *rng)
{
  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  return mix64 (rng->state);
}

/* Uniform in [0, 1). */
static float
shapes_rng_float (ShapesRng *rng)
{
  return (float) (shapes_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

static void
random_colour (ShapesRng *rng,
               float      rgb[3])
{
  for (int c = 0; c < 3; c++)
    rgb[c] = 255.f * shapes_rng_float (rng);
}

static float
luma (const float rgb[3])
{
  return 0.299f * rgb[0] + 0.587f * rgb[1] + 0.114f * rgb[2];
}

typedef struct {
  guint8   *pixels;
  guint32   seed;
  PtSplit   split;
  gboolean  upright;
} ShapesJob;

static void
draw_shape (guint    i,
            gpointer user_data)
{
  ShapesJob *job = user_data;
  const int S = SHAPES_SIZE;
  guint8 *out = job->pixels + (gsize) i * 3 * S * S;
  int kind = i % SHAPES_N_CLASSES;
  ShapesRng rng;
  float fg[3], bg0[3], bg1[3];
  float scale, cx, cy, angle, ca, sa, gdx, gdy;

  shapes_rng_init (&rng, job->seed, job->split, i);

  scale = 7.5f + 5.5f * shapes_rng_float (&rng);             /* radius in pixels */
  cx = scale * 0.85f + (S - 1.7f * scale) * shapes_rng_float (&rng);
  cy = scale * 0.85f + (S - 1.7f * scale) * shapes_rng_float (&rng);
  angle = 2.f * (float) G_PI * shapes_rng_float (&rng);
  if (job->upright)
    angle = 0.f;   /* drawn all the same, so the other draws do not move */
  ca = cosf (angle);
  sa = sinf (angle);

  /* Background: a gradient between two colours along a random direction;
   * the foreground differs from both ends in luma so the shape is visible. */
  random_colour (&rng, bg0);
  for (int tries = 0; ; tries++)
    {
      float mix = 0.35f * shapes_rng_float (&rng);

      for (int c = 0; c < 3; c++)
        bg1[c] = bg0[c] + mix * (255.f * shapes_rng_float (&rng) - bg0[c]);
      random_colour (&rng, fg);
      if ((fabsf (luma (fg) - luma (bg0)) > 60.f && fabsf (luma (fg) - luma (bg1)) > 60.f) ||
          tries == 16)
        break;
    }
  if (fabsf (luma (fg) - luma (bg0)) <= 60.f || fabsf (luma (fg) - luma (bg1)) <= 60.f)
    {
      /* Rare: fall back to the complement of the background. */
      for (int c = 0; c < 3; c++)
        {
          fg[c] = 255.f - bg0[c];
          bg1[c] = bg0[c];
        }
      if (fabsf (luma (fg) - luma (bg0)) <= 60.f)
        for (int c = 0; c < 3; c++)
          fg[c] = luma (bg0) > 127.f ? 20.f : 235.f;
    }
  {
    float ga = 2.f * (float) G_PI * shapes_rng_float (&rng);
    gdx = cosf (ga) / S;
    gdy = sinf (ga) / S;
  }

  for (int y = 0; y < S; y++)
    for (int x = 0; x < S; x++)
      {
        float dx = x + 0.5f - cx, dy = y + 0.5f - cy;
        float alpha = 0.f;
        float g = 0.5f + (x - S / 2.f) * gdx + (y - S / 2.f) * gdy;
        guint64 bits = shapes_rng_next (&rng);

        g = CLAMP (g, 0.f, 1.f);
        if (dx * dx + dy * dy < (scale + 1.5f) * (scale + 1.5f))
          {
            /* Rotate into the shape's frame and scale to unit size; the
             * distance times scale is in pixels. */
            float ux = (ca * dx + sa * dy) / scale;
            float uy = (-sa * dx + ca * dy) / scale;
            float d = sdf_shape (kind, ux, uy) * scale;

            alpha = CLAMP (0.5f - d, 0.f, 1.f);
          }
        for (int c = 0; c < 3; c++)
          {
            float b = bg0[c] + g * (bg1[c] - bg0[c]);
            /* Triangular noise in about [-6, 6]. */
            float noise = ((float) ((bits >> (c * 16)) & 0xff) +
                           (float) ((bits >> (c * 16 + 8)) & 0xff) - 255.f) * (6.f / 255.f);
            float v = b + alpha * (fg[c] - b) + noise;

            out[(gsize) c * S * S + y * S + x] = (guint8) CLAMP (v + 0.5f, 0.f, 255.f);
          }
      }
}

gboolean
_pt_dataset_load_shapes (PtDatasetData          *data,
                         PtSplit                 split,
                         const PtDatasetOptions *options,
                         GCancellable           *cancellable,
                         PtProgressFunc          progress,
                         gpointer                progress_data,
                         GError                **error)
{
  static GOnce once = G_ONCE_INIT;
  int n = split == PT_SPLIT_TRAIN ? options->shapes_train : options->shapes_test;
  ShapesJob job;

  g_once (&once, init_polygons, NULL);

  if (n == 0)
    n = split == PT_SPLIT_TRAIN ? 10000 : 2000;

  job.pixels = g_malloc ((gsize) n * 3 * SHAPES_SIZE * SHAPES_SIZE);
  job.seed = options->shapes_seed;
  job.split = split;
  job.upright = options->shapes_upright;

  _pt_dataset_parallel_for (n, 64, _pt_dataset_n_threads (), draw_shape, &job,
                            cancellable, progress, progress_data);
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    {
      g_free (job.pixels);
      return FALSE;
    }

  data->title = g_strdup_printf (_("Shapes (%s)"), split == PT_SPLIT_TRAIN ? _("train") : _("test"));
  data->channels = 3;
  data->height = SHAPES_SIZE;
  data->width = SHAPES_SIZE;
  data->n_images = n;
  data->pixels = job.pixels;
  data->labels = g_new (int, n);
  for (int i = 0; i < n; i++)
    data->labels[i] = i % SHAPES_N_CLASSES;
  data->n_classes = SHAPES_N_CLASSES;
  data->class_names = g_strdupv ((char **) shape_names);
  return TRUE;
}
