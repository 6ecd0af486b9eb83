/* pt-tensor.h: float32 tensors and the per-step arena they live in.
 *
 * A PtTensor is a contiguous float32 array of up to 4 dimensions with an
 * optional gradient of the same shape. Image activations inside the engine
 * are NHWC ({B, H, W, C}): convolutions become one large sgemm per chunk of
 * images and per-channel loops (batchnorm) run over the last, contiguous
 * dimension. Model inputs arrive NCHW (PyTorch's convention) and are turned
 * into NHWC by pt_op_nchw_to_nhwc(); weights keep PyTorch's layouts so names,
 * shapes and bytes match a PyTorch state dict.
 *
 * Activations and their gradients are allocated from a PtArena that is reset
 * once per training step: after the first step (once the arena has grown to
 * the step's high-water mark) a step makes no malloc.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PT_MAX_DIMS 4

typedef struct _PtArena PtArena;
typedef struct _PtTensor PtTensor;

struct _PtTensor
{
  float    *data;              /* numel floats */
  float    *grad;              /* NULL until a gradient flows in */
  PtArena  *arena;             /* where a lazily created grad comes from */
  gsize     numel;
  int       ndim;
  int       shape[PT_MAX_DIMS];
  gboolean  requires_grad;     /* set by the tape for op outputs, by pt-nn for parameters */
};

/* Arena: a bump allocator. Blocks are 64-byte aligned. reset() forgets every
 * allocation; when the previous step needed more than one block, reset merges
 * them into one block of the high-water size, so later steps do not allocate. */
PtArena  *pt_arena_new            (gsize        initial_bytes);
void      pt_arena_free           (PtArena     *arena);
void      pt_arena_reset          (PtArena     *arena);
gpointer  pt_arena_alloc          (PtArena     *arena,
                                   gsize        n_bytes);
gpointer  pt_arena_alloc0         (PtArena     *arena,
                                   gsize        n_bytes);
/* Gives back a region (of at least 4096 bytes) for pt_arena_alloc_reuse0()
 * until the next reset. The tape recycles intermediate gradients this way. */
void      pt_arena_recycle        (PtArena     *arena,
                                   gpointer     p,
                                   gsize        n_bytes);
/* Zeroed memory: a recycled region that fits (at most 2x larger) or new. */
gpointer  pt_arena_alloc_reuse0   (PtArena     *arena,
                                   gsize        n_bytes);
/* Bytes handed out since the last reset. */
gsize     pt_arena_get_used       (PtArena     *arena);
/* Bytes reserved in all blocks. */
gsize     pt_arena_get_capacity   (PtArena     *arena);
/* How many times the arena called malloc for a block since it was made. */
guint     pt_arena_get_n_mallocs  (PtArena     *arena);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtArena, pt_arena_free)

/* A tensor (struct and data) from the arena; data is not initialized. */
PtTensor *pt_tensor_new           (PtArena     *arena,
                                   int          ndim,
                                   const int   *shape);
/* Same, data zeroed. */
PtTensor *pt_tensor_new0          (PtArena     *arena,
                                   int          ndim,
                                   const int   *shape);
PtTensor *pt_tensor_new_2d        (PtArena     *arena,
                                   int          d0,
                                   int          d1);
PtTensor *pt_tensor_new_4d        (PtArena     *arena,
                                   int          d0,
                                   int          d1,
                                   int          d2,
                                   int          d3);
/* Fills a tensor struct over memory owned elsewhere (parameters, inputs).
 * grad may be NULL. */
void      pt_tensor_init          (PtTensor    *t,
                                   float       *data,
                                   float       *grad,
                                   int          ndim,
                                   const int   *shape);
/* The gradient, allocated zeroed from t->arena on first use. */
float    *pt_tensor_ensure_grad   (PtTensor    *t);
/* Product of shape[0..ndim). */
gsize     pt_shape_numel          (int          ndim,
                                   const int   *shape);
gboolean  pt_tensor_same_shape    (const PtTensor *a,
                                   const PtTensor *b);
/* Size of dimension d; negative d counts from the end. */
int       pt_tensor_dim           (const PtTensor *t,
                                   int             d);

G_END_DECLS
