/* pt-rng.c: splitmix64. */
#include "pt-rng.h"

#include <math.h>

#define PT_GOLDEN G_GUINT64_CONSTANT (0x9E3779B97F4A7C15)

static inline guint64
mix64 (guint64 z)
{
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94D049BB133111EB);
  return z ^ (z >> 31);
}

void
pt_rng_init (PtRng   *rng,
             guint64  seed)
{
  rng->state = seed;
}

void
pt_rng_init_keyed (PtRng   *rng,
                   guint64  seed,
                   guint64  a,
                   guint64  b)
{
  rng->state = mix64 (mix64 (seed + PT_GOLDEN) ^ (a * PT_GOLDEN)) ^ mix64 (b + 0x632BE59BD9B4E019);
}

guint64
pt_rng_next (PtRng *rng)
{
  rng->state += PT_GOLDEN;
  return mix64 (rng->state);
}

float
pt_rng_uniform (PtRng *rng)
{
  return (float) (pt_rng_next (rng) >> 40) * (1.0f / 16777216.0f);
}

float
pt_rng_range (PtRng *rng,
              float  lo,
              float  hi)
{
  return lo + (hi - lo) * pt_rng_uniform (rng);
}

float
pt_rng_normal (PtRng *rng)
{
  /* u1 in (0, 1] so the log is finite. */
  double u1 = ((pt_rng_next (rng) >> 11) + 1) * (1.0 / 9007199254740992.0);
  double u2 = (pt_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);

  return (float) (sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
}

guint32
pt_rng_below (PtRng   *rng,
              guint32  n)
{
  g_return_val_if_fail (n > 0, 0);
  return (guint32) (((pt_rng_next (rng) >> 32) * (guint64) n) >> 32);
}
