/* pt-aug-rng.c: counter-based random numbers for reproducible augmentation. */
#include "pt-aug-rng.h"

#include <math.h>

guint64
pt_aug_rng_hash (const guint64 *words,
             guint          n)
{
  /* A fixed non-zero start, so the all-zero key is not a fixed point. */
  guint64 h = G_GUINT64_CONSTANT (0x5072657465787431);

  for (guint i = 0; i < n; i++)
    h = pt_aug_rng_mix64 (h ^ pt_aug_rng_mix64 (words[i] + i));
  return h;
}

void
pt_aug_rng_init (PtAugRng   *rng,
             guint64  a,
             guint64  b,
             guint64  c,
             guint64  d,
             guint64  e)
{
  const guint64 words[5] = { a, b, c, d, e };

  rng->state = pt_aug_rng_hash (words, 5);
}

guint64
pt_aug_rng_below (PtAugRng   *rng,
              guint64  n)
{
  guint64 limit, x;

  g_assert (n > 0);
  /* Rejection keeps it exactly uniform. */
  limit = G_MAXUINT64 - G_MAXUINT64 % n;
  do
    x = pt_aug_rng_next (rng);
  while (x >= limit);
  return x % n;
}

double
pt_aug_rng_normal (PtAugRng *rng)
{
  double u1 = 1.0 - pt_aug_rng_uniform (rng);   /* (0, 1] */
  double u2 = pt_aug_rng_uniform (rng);

  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
