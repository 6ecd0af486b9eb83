/* pt-batch-source.h: where the trainer gets its batches.
 *
 * A tiny interface (a table of functions over an opaque instance) so the
 * trainer can be driven by the augmentation loader, a synthetic source in
 * tests, or anything else. The position is an opaque fixed-size byte string
 * that, restored, makes the source produce exactly the batches that followed
 * it: the trainer stores it in every checkpoint for exact resume.
 *
 * All functions are called on the training thread only.
 */
#pragma once

#include <glib.h>
#include "pt-method.h"

G_BEGIN_DECLS

typedef struct {
  /* Fills batch (allocated by the trainer for the method's views and batch
   * size): views, labels, indices and epoch. */
  gboolean  (*next)         (gpointer       self,
                             PtBatch       *batch,
                             GError       **error);
  /* The position before the next batch; same size every time. */
  GBytes   *(*get_position) (gpointer       self);
  gboolean  (*set_position) (gpointer       self,
                             GBytes        *position,
                             GError       **error);
  /* May be NULL. */
  void      (*free)         (gpointer       self);
} PtBatchSourceFuncs;

typedef struct _PtBatchSource PtBatchSource;

/* Wraps self; funcs must outlive the source (usually static). */
PtBatchSource *pt_batch_source_new          (const PtBatchSourceFuncs *funcs,
                                             gpointer                  self);
void           pt_batch_source_free         (PtBatchSource            *source);

gboolean       pt_batch_source_next         (PtBatchSource            *source,
                                             PtBatch                  *batch,
                                             GError                  **error);
GBytes        *pt_batch_source_get_position (PtBatchSource            *source);
gboolean       pt_batch_source_set_position (PtBatchSource            *source,
                                             GBytes                   *position,
                                             GError                  **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtBatchSource, pt_batch_source_free)

G_END_DECLS
