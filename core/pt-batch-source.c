/* pt-batch-source.c: where the trainer gets its batches. */
#include "pt-batch-source.h"

struct _PtBatchSource
{
  const PtBatchSourceFuncs *funcs;
  gpointer                  self;
};

PtBatchSource *
pt_batch_source_new (const PtBatchSourceFuncs *funcs,
                     gpointer                  self)
{
  PtBatchSource *source;

  g_return_val_if_fail (funcs != NULL && funcs->next != NULL, NULL);
  g_return_val_if_fail (funcs->get_position != NULL && funcs->set_position != NULL, NULL);

  source = g_new0 (PtBatchSource, 1);
  source->funcs = funcs;
  source->self = self;
  return source;
}

void
pt_batch_source_free (PtBatchSource *source)
{
  if (source == NULL)
    return;
  if (source->funcs->free != NULL)
    source->funcs->free (source->self);
  g_free (source);
}

gboolean
pt_batch_source_next (PtBatchSource *source,
                      PtBatch       *batch,
                      GError       **error)
{
  return source->funcs->next (source->self, batch, error);
}

GBytes *
pt_batch_source_get_position (PtBatchSource *source)
{
  return source->funcs->get_position (source->self);
}

gboolean
pt_batch_source_set_position (PtBatchSource *source,
                              GBytes        *position,
                              GError       **error)
{
  return source->funcs->set_position (source->self, position, error);
}
