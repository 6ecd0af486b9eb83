/* pt-batch-source.c: where the trainer gets its batches. */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-batch-source.h"

G_DEFINE_QUARK (pt-batch-source-error-quark, pt_batch_source_error)

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

/* ---- The augmentation loader as a source ------------------------------ */

static gboolean
loader_next (gpointer  data,
             PtBatch  *batch,
             GError  **error)
{
  PtLoader *loader = data;
  g_autoptr(PtLoaderBatch) lb = pt_loader_next (loader);

  if ((int) lb->n_views != batch->n_views || (int) lb->batch_size != batch->batch_size)
    {
      g_set_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_MISMATCH,
                   _("The augmentation makes %u views per image in batches of %u, but the "
                     "method needs %d views in batches of %d."),
                   lb->n_views, lb->batch_size, batch->n_views, batch->batch_size);
      return FALSE;
    }
  for (int v = 0; v < batch->n_views; v++)
    {
      const PtViewShape *s = &batch->shape[v];

      if (lb->channels[v] != s->channels || lb->heights[v] != s->height ||
          lb->widths[v] != s->width)
        {
          g_set_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_MISMATCH,
                       _("View %d of the augmentation is %d×%d×%d, but the method needs "
                         "%d×%d×%d."),
                       v + 1, lb->channels[v], lb->heights[v], lb->widths[v],
                       s->channels, s->height, s->width);
          return FALSE;
        }
      memcpy (batch->views[v], lb->views[v], pt_batch_view_size (batch, v) * sizeof (float));
    }
  for (int b = 0; b < batch->batch_size; b++)
    {
      batch->labels[b] = lb->labels[b];
      batch->indices[b] = lb->indices[b];
    }
  batch->epoch = lb->epoch;
  return TRUE;
}

static GBytes *
loader_get_position (gpointer data)
{
  guint64 pos[2];

  pt_loader_get_position (data, &pos[0], &pos[1]);
  pos[0] = GUINT64_TO_LE (pos[0]);
  pos[1] = GUINT64_TO_LE (pos[1]);
  return g_bytes_new (pos, sizeof pos);
}

static gboolean
loader_set_position (gpointer  data,
                     GBytes   *position,
                     GError  **error)
{
  guint64 pos[2];

  if (g_bytes_get_size (position) != sizeof pos)
    {
      g_set_error (error, PT_BATCH_SOURCE_ERROR, PT_BATCH_SOURCE_ERROR_POSITION,
                   _("The saved loader position has %" G_GSIZE_FORMAT " bytes instead of %d."),
                   g_bytes_get_size (position), (int) sizeof pos);
      return FALSE;
    }
  memcpy (pos, g_bytes_get_data (position, NULL), sizeof pos);
  pt_loader_set_position (data, GUINT64_FROM_LE (pos[0]), GUINT64_FROM_LE (pos[1]));
  return TRUE;
}

static void
loader_free (gpointer data)
{
  pt_loader_free (data);
}

static const PtBatchSourceFuncs loader_funcs = {
  .next = loader_next,
  .get_position = loader_get_position,
  .set_position = loader_set_position,
  .free = loader_free,
};

PtBatchSource *
pt_batch_source_new_for_loader (PtLoader *loader)
{
  g_return_val_if_fail (loader != NULL, NULL);

  return pt_batch_source_new (&loader_funcs, loader);
}
