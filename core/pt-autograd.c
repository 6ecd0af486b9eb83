/* pt-autograd.c: the define-by-run tape. */
#include "pt-autograd.h"

#include <stdlib.h>
#include <string.h>

struct _PtTape
{
  PtArena  *arena;
  GArray   *nodes;        /* PtTapeNode; keeps its capacity across resets */
  gboolean  grad_enabled;
  gboolean  training;
  gpointer  scratch;
  gsize     scratch_size;
};

PtTape *
pt_tape_new (gsize initial_bytes)
{
  PtTape *tape = g_new0 (PtTape, 1);

  tape->arena = pt_arena_new (initial_bytes);
  tape->nodes = g_array_sized_new (FALSE, TRUE, sizeof (PtTapeNode), 256);
  tape->grad_enabled = TRUE;
  tape->training = TRUE;
  return tape;
}

void
pt_tape_free (PtTape *tape)
{
  if (tape == NULL)
    return;
  pt_arena_free (tape->arena);
  free (tape->scratch);
  g_array_unref (tape->nodes);
  g_free (tape);
}

void
pt_tape_reset (PtTape *tape)
{
  g_return_if_fail (tape != NULL);
  g_array_set_size (tape->nodes, 0);
  pt_arena_reset (tape->arena);
}

PtArena *
pt_tape_get_arena (PtTape *tape)
{
  return tape->arena;
}

gpointer
pt_tape_alloc (PtTape *tape,
               gsize   n_bytes)
{
  return pt_arena_alloc (tape->arena, n_bytes);
}

gpointer
pt_tape_get_scratch (PtTape *tape,
                     gsize   n_bytes)
{
  if (n_bytes > tape->scratch_size)
    {
      gsize size = (n_bytes + 63) / 64 * 64;

      free (tape->scratch);
      tape->scratch = aligned_alloc (64, size);
      if (tape->scratch == NULL)
        g_error ("pt_tape: out of memory for %" G_GSIZE_FORMAT " bytes of scratch", size);
      tape->scratch_size = size;
    }
  return tape->scratch;
}

void
pt_tape_set_grad_enabled (PtTape   *tape,
                          gboolean  enabled)
{
  tape->grad_enabled = !!enabled;
}

gboolean
pt_tape_get_grad_enabled (PtTape *tape)
{
  return tape->grad_enabled;
}

void
pt_tape_set_training (PtTape   *tape,
                      gboolean  training)
{
  tape->training = !!training;
}

gboolean
pt_tape_get_training (PtTape *tape)
{
  return tape->training;
}

guint
pt_tape_get_n_nodes (PtTape *tape)
{
  return tape->nodes->len;
}

PtTapeNode *
pt_tape_record (PtTape          *tape,
                const char      *name,
                PtBackwardFunc   backward,
                PtTensor        *out,
                int              n_in,
                PtTensor       **in)
{
  gboolean needed = FALSE;
  PtTapeNode *node;

  g_return_val_if_fail (n_in >= 0 && n_in <= PT_TAPE_MAX_INPUTS, NULL);

  if (!tape->grad_enabled)
    return NULL;
  for (int i = 0; i < n_in; i++)
    if (in[i] != NULL && in[i]->requires_grad)
      needed = TRUE;
  if (!needed)
    return NULL;

  out->requires_grad = TRUE;
  g_array_set_size (tape->nodes, tape->nodes->len + 1);
  node = &g_array_index (tape->nodes, PtTapeNode, tape->nodes->len - 1);
  memset (node, 0, sizeof *node);
  node->backward = backward;
  node->name = name;
  node->out = out;
  node->n_in = n_in;
  for (int i = 0; i < n_in; i++)
    node->in[i] = in[i];
  return node;
}

void
pt_tape_backward (PtTape   *tape,
                  PtTensor *loss)
{
  float *dloss;

  g_return_if_fail (tape != NULL);
  g_return_if_fail (loss != NULL && loss->numel == 1);

  if (!loss->requires_grad)
    return;
  dloss = pt_tensor_ensure_grad (loss);
  dloss[0] += 1.0f;

  for (guint i = tape->nodes->len; i-- > 0;)
    {
      PtTapeNode *node = &g_array_index (tape->nodes, PtTapeNode, i);

      /* No gradient reached this output: nothing flows to its inputs. */
      if (node->out->grad == NULL)
        continue;
      node->backward (node);
      /* Every consumer of out ran before its producer: its gradient is dead.
       * Recycle it (non-leaf gradients are not kept, as in PyTorch). */
      if (node->out->arena != NULL && node->out != loss)
        {
          pt_arena_recycle (node->out->arena, node->out->grad,
                            node->out->numel * sizeof (float));
          node->out->grad = NULL;
        }
    }
}
