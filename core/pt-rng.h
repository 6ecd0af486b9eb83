/* pt-rng.h: Pretext's own seeded random numbers.
 *
 * splitmix64 (Steele, Lea, Flood 2014): the state is one 64-bit counter that
 * advances by a fixed odd constant; each output is a bijective mix of the
 * counter. The whole state is the `state` field, so a checkpoint saves and
 * restores it exactly, and pt_rng_init (seed) always gives the same stream.
 * Not for cryptography.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct
{
  guint64 state;
} PtRng;

void     pt_rng_init     (PtRng   *rng,
                          guint64  seed);
/* Next 64 random bits. */
guint64  pt_rng_next     (PtRng   *rng);
/* Uniform in [0, 1) with 24 random bits. */
float    pt_rng_uniform  (PtRng   *rng);
/* Uniform in [lo, hi). */
float    pt_rng_range    (PtRng   *rng,
                          float    lo,
                          float    hi);
/* Standard normal (Box-Muller, one draw per call, two uniforms consumed). */
float    pt_rng_normal   (PtRng   *rng);
/* Uniform integer in [0, n), n > 0 (Lemire's multiply, negligible bias). */
guint32  pt_rng_below    (PtRng   *rng,
                          guint32  n);
/* A stream derived from (seed, a, b), e.g. per (epoch, sample). */
void     pt_rng_init_keyed (PtRng *rng,
                            guint64 seed,
                            guint64 a,
                            guint64 b);

G_END_DECLS
