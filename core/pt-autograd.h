/* pt-autograd.h: the define-by-run reverse-mode tape.
 *
 * Each tape-level op (pt_op_*, see pt-ops.h) computes its output at once and,
 * when the tape records and some input requires a gradient, appends a node:
 * a backward function, the output, up to PT_TAPE_MAX_INPUTS inputs, a few
 * integer/float arguments and an op-specific context allocated from the
 * tape's arena. pt_tape_backward() seeds d(loss) = 1 and runs the nodes in
 * reverse. Every backward ACCUMULATES (+=) into the inputs' gradients,
 * allocating them zeroed on first use (pt_tensor_ensure_grad); parameter
 * gradients live in the flat gradient buffer of PtParams (pt-nn.h).
 *
 * Adding an op (for example in a new core/pt-ops-<family>.c):
 *   1. write the kernels pt_<op>_forward (out, cache, inp, weights, dims) and
 *      pt_<op>_backward (dinp, dweights, dout, cache, inp, weights, dims);
 *   2. write a static backward callback `static void op_backward (PtTapeNode *node)`
 *      that reads node->out->grad (never NULL when called) and accumulates into
 *      pt_tensor_ensure_grad (node->in[i]) for each input with requires_grad;
 *   3. write the wrapper: allocate the output with pt_tensor_new (pt_tape_get_arena (tape), ...),
 *      run the forward kernel, then `node = pt_tape_record (tape, op_backward, out, n, inputs)`;
 *      when node != NULL fill node->iarg / node->farg / node->ctx with what backward needs.
 * Nodes and contexts live until pt_tape_reset().
 */
#pragma once

#include "pt-tensor.h"

G_BEGIN_DECLS

#define PT_TAPE_MAX_INPUTS 4
#define PT_TAPE_MAX_IARGS  8
#define PT_TAPE_MAX_FARGS  4

typedef struct _PtTape PtTape;
typedef struct _PtTapeNode PtTapeNode;

typedef void (*PtBackwardFunc) (PtTapeNode *node);

struct _PtTapeNode
{
  PtBackwardFunc  backward;
  const char     *name;                         /* op name, for debugging */
  PtTensor       *out;
  PtTensor       *in[PT_TAPE_MAX_INPUTS];
  int             n_in;
  int             iarg[PT_TAPE_MAX_IARGS];
  float           farg[PT_TAPE_MAX_FARGS];
  gpointer        ctx;                          /* arena memory, op-specific */
};

/* A tape owns an arena for activations (initial_bytes may be 0). */
PtTape     *pt_tape_new               (gsize        initial_bytes);
void        pt_tape_free              (PtTape      *tape);
/* Forgets all nodes and resets the arena (tensors from it become invalid). */
void        pt_tape_reset             (PtTape      *tape);
PtArena    *pt_tape_get_arena         (PtTape      *tape);
/* Shortcut for pt_arena_alloc (pt_tape_get_arena (tape), n_bytes). */
gpointer    pt_tape_alloc             (PtTape      *tape,
                                       gsize        n_bytes);

/* One scratch buffer shared by all ops (im2col columns, partial sums):
 * at least n_bytes, 64-byte aligned, valid until the next call. It grows
 * and never shrinks, so it stops allocating after the first step. */
gpointer    pt_tape_get_scratch       (PtTape      *tape,
                                       gsize        n_bytes);

/* Gradient recording (default TRUE). FALSE: ops record nothing (inference,
 * feature extraction, teacher forward passes). */
void        pt_tape_set_grad_enabled  (PtTape      *tape,
                                       gboolean     enabled);
gboolean    pt_tape_get_grad_enabled  (PtTape      *tape);
/* Training mode (default TRUE): batchnorm uses batch statistics and updates
 * its running statistics; FALSE uses the running statistics. */
void        pt_tape_set_training      (PtTape      *tape,
                                       gboolean     training);
gboolean    pt_tape_get_training      (PtTape      *tape);

/* Called by op wrappers after the forward pass. When grad is enabled and one
 * of the inputs requires a gradient, marks out->requires_grad and returns a
 * new node (inputs copied, args zeroed); otherwise returns NULL. */
PtTapeNode *pt_tape_record            (PtTape         *tape,
                                       const char     *name,
                                       PtBackwardFunc  backward,
                                       PtTensor       *out,
                                       int             n_in,
                                       PtTensor      **in);
guint       pt_tape_get_n_nodes       (PtTape      *tape);

/* Reverse pass from a scalar loss (numel 1): adds 1 to d(loss), then runs
 * every node in reverse order. Gradients accumulate; zero parameter
 * gradients yourself (pt_params_zero_grad) before the step. Gradients of
 * intermediate op outputs are recycled as soon as their producer has run
 * (their grad becomes NULL); leaves (parameters, inputs) and the loss keep
 * theirs. Call it once per recording (then pt_tape_reset). */
void        pt_tape_backward          (PtTape      *tape,
                                       PtTensor    *loss);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtTape, pt_tape_free)

G_END_DECLS
