/* pt-ops-private.h: helpers shared by the pt-ops-*.c files. */
#pragma once

#include "pt-ops.h"
#include "pt-parallel.h"

/* Hot loops get an AVX2+FMA clone picked at load time (GCC ifunc), so the
 * build stays portable to any x86-64 and still uses the vector units. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && defined(__linux__)
#define PT_HOT __attribute__((target_clones ("default", "arch=x86-64-v3")))
#else
#define PT_HOT
#endif

/* Loops shorter than this run on the calling thread. */
#define PT_PARALLEL_MIN 32768

static inline void
pt_par (gsize          n,
        gsize          work_per_item,
        PtParallelFunc fn,
        gpointer       data)
{
  if (n * work_per_item < PT_PARALLEL_MIN)
    fn (0, n, data);
  else
    pt_parallel_for (n, fn, data);
}

/* Output tensor of the given shape from the tape's arena. */
static inline PtTensor *
pt_op_new_out (PtTape    *tape,
               int        ndim,
               const int *shape)
{
  return pt_tensor_new (pt_tape_get_arena (tape), ndim, shape);
}

/* Rows of a tensor seen as a matrix: shape[0]. Columns: the rest. */
static inline int
pt_rows (const PtTensor *t)
{
  return t->shape[0];
}

static inline int
pt_cols (const PtTensor *t)
{
  return t->shape[0] > 0 ? (int) (t->numel / (gsize) t->shape[0]) : 0;
}
