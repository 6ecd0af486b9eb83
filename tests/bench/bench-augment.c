/* bench-augment: time to augment one batch of 256 images x 2 views with
 * the SimCLR preset, at 1x28x28 (Fashion-MNIST) and 3x32x32 (CIFAR, Shapes),
 * on 1 and 2 threads. Prints ms per batch (median of the repetitions).
 *
 *   meson compile -C build && ./build/tests/bench/bench-augment [REPS] [RECIPE]
 *   (or: meson test -C build --benchmark bench-augment -v)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pt-augment.h"
#include "pt-aug-rng.h"

static int
compare_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
cpu_ms (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Median wall-clock ms per batch; *cpu gets the median CPU ms (all threads),
 * which a busy machine disturbs less. */
static double
bench_one (const PtAugRecipe *recipe, int C, int H, int W, int n_threads, int reps,
           double *cpu)
{
  enum { B = 256 };
  guint n_views = pt_augment_recipe_get_n_views (recipe);
  g_autofree guint8 *pixels = g_new (guint8, (gsize) B * C * H * W);
  const guint8 *images[B];
  guint64 indices[B];
  g_autoptr(GPtrArray) views = g_ptr_array_new_with_free_func (g_free);
  g_autofree PtViewRecord *records = g_new (PtViewRecord, (gsize) n_views * B);
  g_autofree double *times = g_new (double, reps);
  g_autofree double *cpus = g_new (double, reps);
  PtAugRng rng;
  double median;

  pt_aug_rng_init (&rng, 1, 2, 3, 4, 5);
  for (gsize i = 0; i < (gsize) B * C * H * W; i++)
    pixels[i] = (guint8) pt_aug_rng_below (&rng, 256);
  for (int b = 0; b < B; b++)
    {
      images[b] = pixels + (gsize) b * C * H * W;
      indices[b] = (guint64) b;
    }
  for (guint v = 0; v < n_views; v++)
    {
      int oc, oh, ow;

      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &oc, &oh, &ow);
      g_ptr_array_add (views, g_new (float, (gsize) B * oc * oh * ow));
    }

  /* One warm-up batch, then the timed ones (a new epoch each: new draws). */
  pt_augment_batch ((float * const *) views->pdata, records, recipe, images, indices, B,
                    C, H, W, 0, 1000, n_threads);
  for (int r = 0; r < reps; r++)
    {
      gint64 t0 = g_get_monotonic_time ();
      double c0 = cpu_ms ();

      pt_augment_batch ((float * const *) views->pdata, records, recipe, images, indices, B,
                        C, H, W, 0, (guint64) r, n_threads);
      times[r] = (g_get_monotonic_time () - t0) / 1000.0;
      cpus[r] = cpu_ms () - c0;
    }
  qsort (times, reps, sizeof (double), compare_double);
  qsort (cpus, reps, sizeof (double), compare_double);
  *cpu = cpus[reps / 2];
  median = times[reps / 2];
  return median;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  int reps = argc > 1 ? atoi (argv[1]) : 20;
  const char *name = argc > 2 ? argv[2] : "simclr";
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load (name, &error);
  static const int shapes[2][3] = { { 1, 28, 28 }, { 3, 32, 32 } };

  if (recipe == NULL)
    {
      fprintf (stderr, "%s\n", error->message);
      return 1;
    }
  reps = CLAMP (reps, 1, 1000);
  printf ("recipe %s, batch 256 x %u views, median of %d\n", recipe->name,
          pt_augment_recipe_get_n_views (recipe), reps);
  for (int s = 0; s < 2; s++)
    for (int t = 1; t <= 2; t++)
      {
        double cpu;
        double ms = bench_one (recipe, shapes[s][0], shapes[s][1], shapes[s][2], t, reps, &cpu);

        printf ("%dx%dx%d  threads %d  %.2f ms/batch wall  %.2f ms CPU  (%.0f images/s)\n",
                shapes[s][0], shapes[s][1], shapes[s][2], t, ms, cpu, 256 / (ms / 1000.0));
      }
  return 0;
}
