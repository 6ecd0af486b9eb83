/* pt-tensor.c: float32 tensors and the per-step arena. */
#include "pt-tensor.h"

#include <stdlib.h>
#include <string.h>

#define PT_ARENA_ALIGN 64

typedef struct
{
  char  *base;
  gsize  size;
  gsize  used;
} PtArenaBlock;

typedef struct
{
  gpointer p;
  gsize    size;
} PtArenaFree;

struct _PtArena
{
  GArray *blocks;        /* PtArenaBlock; the last one is the current block */
  GArray *free_list;     /* PtArenaFree: recycled regions, until reset */
  gsize   used_total;    /* since the last reset */
  gsize   high_water;    /* most bytes needed by one step */
  guint   n_mallocs;
};

static void
arena_add_block (PtArena *arena,
                 gsize    size)
{
  PtArenaBlock block = { 0 };

  size = MAX (size, (gsize) 1 << 16);
  size = (size + PT_ARENA_ALIGN - 1) / PT_ARENA_ALIGN * PT_ARENA_ALIGN;
  block.base = aligned_alloc (PT_ARENA_ALIGN, size);
  if (block.base == NULL)
    g_error ("pt_arena: out of memory allocating %" G_GSIZE_FORMAT " bytes", size);
  block.size = size;
  arena->n_mallocs++;
  g_array_append_val (arena->blocks, block);
}

PtArena *
pt_arena_new (gsize initial_bytes)
{
  PtArena *arena = g_new0 (PtArena, 1);

  arena->blocks = g_array_new (FALSE, TRUE, sizeof (PtArenaBlock));
  arena->free_list = g_array_sized_new (FALSE, TRUE, sizeof (PtArenaFree), 64);
  arena_add_block (arena, initial_bytes);
  return arena;
}

void
pt_arena_free (PtArena *arena)
{
  if (arena == NULL)
    return;
  for (guint i = 0; i < arena->blocks->len; i++)
    free (g_array_index (arena->blocks, PtArenaBlock, i).base);
  g_array_unref (arena->blocks);
  g_array_unref (arena->free_list);
  g_free (arena);
}

void
pt_arena_reset (PtArena *arena)
{
  g_return_if_fail (arena != NULL);

  arena->high_water = MAX (arena->high_water, arena->used_total);
  if (arena->blocks->len > 1)
    {
      /* The step overflowed: replace all blocks by one that holds it all. */
      for (guint i = 0; i < arena->blocks->len; i++)
        free (g_array_index (arena->blocks, PtArenaBlock, i).base);
      g_array_set_size (arena->blocks, 0);
      /* Alignment padding per allocation is included in used_total. */
      arena_add_block (arena, arena->high_water + arena->high_water / 16);
    }
  g_array_index (arena->blocks, PtArenaBlock, 0).used = 0;
  arena->used_total = 0;
  g_array_set_size (arena->free_list, 0);
}

void
pt_arena_recycle (PtArena  *arena,
                  gpointer  p,
                  gsize     n_bytes)
{
  PtArenaFree f = { p, n_bytes };

  g_return_if_fail (arena != NULL);
  if (p != NULL && n_bytes >= 4096)
    g_array_append_val (arena->free_list, f);
}

gpointer
pt_arena_alloc_reuse0 (PtArena *arena,
                       gsize    n_bytes)
{
  guint best = G_MAXUINT;

  /* Smallest recycled region that fits, within 2x of the request. */
  for (guint i = 0; i < arena->free_list->len; i++)
    {
      PtArenaFree *f = &g_array_index (arena->free_list, PtArenaFree, i);

      if (f->size >= n_bytes && f->size <= 2 * n_bytes &&
          (best == G_MAXUINT ||
           f->size < g_array_index (arena->free_list, PtArenaFree, best).size))
        best = i;
    }
  if (best != G_MAXUINT)
    {
      gpointer p = g_array_index (arena->free_list, PtArenaFree, best).p;

      g_array_remove_index_fast (arena->free_list, best);
      memset (p, 0, n_bytes);
      return p;
    }
  return pt_arena_alloc0 (arena, n_bytes);
}

gpointer
pt_arena_alloc (PtArena *arena,
                gsize    n_bytes)
{
  PtArenaBlock *block;
  gsize need;
  gpointer p;

  g_return_val_if_fail (arena != NULL, NULL);

  need = (MAX (n_bytes, 1) + PT_ARENA_ALIGN - 1) / PT_ARENA_ALIGN * PT_ARENA_ALIGN;
  block = &g_array_index (arena->blocks, PtArenaBlock, arena->blocks->len - 1);
  if (block->size - block->used < need)
    {
      gsize last = block->size;

      arena_add_block (arena, MAX (need, last));
      block = &g_array_index (arena->blocks, PtArenaBlock, arena->blocks->len - 1);
    }
  p = block->base + block->used;
  block->used += need;
  arena->used_total += need;
  return p;
}

gpointer
pt_arena_alloc0 (PtArena *arena,
                 gsize    n_bytes)
{
  gpointer p = pt_arena_alloc (arena, n_bytes);

  memset (p, 0, n_bytes);
  return p;
}

gsize
pt_arena_get_used (PtArena *arena)
{
  return arena->used_total;
}

gsize
pt_arena_get_capacity (PtArena *arena)
{
  gsize total = 0;

  for (guint i = 0; i < arena->blocks->len; i++)
    total += g_array_index (arena->blocks, PtArenaBlock, i).size;
  return total;
}

guint
pt_arena_get_n_mallocs (PtArena *arena)
{
  return arena->n_mallocs;
}

gsize
pt_shape_numel (int        ndim,
                const int *shape)
{
  gsize n = 1;

  for (int i = 0; i < ndim; i++)
    n *= (gsize) shape[i];
  return n;
}

void
pt_tensor_init (PtTensor  *t,
                float     *data,
                float     *grad,
                int        ndim,
                const int *shape)
{
  g_return_if_fail (ndim >= 1 && ndim <= PT_MAX_DIMS);

  memset (t, 0, sizeof *t);
  t->data = data;
  t->grad = grad;
  t->ndim = ndim;
  for (int i = 0; i < ndim; i++)
    {
      g_return_if_fail (shape[i] >= 0);
      t->shape[i] = shape[i];
    }
  t->numel = pt_shape_numel (ndim, shape);
}

PtTensor *
pt_tensor_new (PtArena   *arena,
               int        ndim,
               const int *shape)
{
  PtTensor *t = pt_arena_alloc (arena, sizeof (PtTensor));

  pt_tensor_init (t, NULL, NULL, ndim, shape);
  t->arena = arena;
  t->data = pt_arena_alloc (arena, t->numel * sizeof (float));
  return t;
}

PtTensor *
pt_tensor_new0 (PtArena   *arena,
                int        ndim,
                const int *shape)
{
  PtTensor *t = pt_tensor_new (arena, ndim, shape);

  memset (t->data, 0, t->numel * sizeof (float));
  return t;
}

PtTensor *
pt_tensor_new_2d (PtArena *arena,
                  int      d0,
                  int      d1)
{
  int shape[2] = { d0, d1 };

  return pt_tensor_new (arena, 2, shape);
}

PtTensor *
pt_tensor_new_4d (PtArena *arena,
                  int      d0,
                  int      d1,
                  int      d2,
                  int      d3)
{
  int shape[4] = { d0, d1, d2, d3 };

  return pt_tensor_new (arena, 4, shape);
}

float *
pt_tensor_ensure_grad (PtTensor *t)
{
  if (t->grad == NULL)
    {
      g_assert (t->arena != NULL);
      t->grad = pt_arena_alloc_reuse0 (t->arena, t->numel * sizeof (float));
    }
  return t->grad;
}

gboolean
pt_tensor_same_shape (const PtTensor *a,
                      const PtTensor *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->shape[i] != b->shape[i])
      return FALSE;
  return TRUE;
}

int
pt_tensor_dim (const PtTensor *t,
               int             d)
{
  if (d < 0)
    d += t->ndim;
  g_assert (d >= 0 && d < t->ndim);
  return t->shape[d];
}
