/* pt-aug-rng.h: counter-based random numbers for reproducible augmentation.
 *
 * A stream is keyed by a hash of small integers (seed, epoch, image index,
 * view index, op), never by the position in a shared sequence, so a view
 * comes out the same whatever the thread count or the order of work.
 * The key is a chain of splitmix64 finalizers; the stream is splitmix64
 * started at that key.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint64 state;
} PtAugRng;

/* The splitmix64 finalizer: a bijective 64-bit mix. */
static inline guint64
pt_aug_rng_mix64 (guint64 z)
{
  z += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Hashes n words into one key (order matters). */
guint64  pt_aug_rng_hash      (const guint64 *words,
                           guint          n);

/* Starts a stream at the key of (a, b, c, d, e). */
void     pt_aug_rng_init      (PtAugRng   *rng,
                           guint64  a,
                           guint64  b,
                           guint64  c,
                           guint64  d,
                           guint64  e);

/* Next 64 random bits. */
static inline guint64
pt_aug_rng_next (PtAugRng *rng)
{
  guint64 z;

  rng->state += G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);
  z = rng->state;
  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  return z ^ (z >> 31);
}

/* Uniform in [0, 1), 53 bits. */
static inline double
pt_aug_rng_uniform (PtAugRng *rng)
{
  return (double) (pt_aug_rng_next (rng) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform in [lo, hi) (lo when lo == hi). */
static inline double
pt_aug_rng_range (PtAugRng  *rng,
              double  lo,
              double  hi)
{
  return lo + (hi - lo) * pt_aug_rng_uniform (rng);
}

/* Uniform integer in [0, n), n > 0. */
guint64  pt_aug_rng_below     (PtAugRng   *rng,
                           guint64  n);

/* Standard normal (Box-Muller). */
double   pt_aug_rng_normal    (PtAugRng   *rng);

G_END_DECLS
