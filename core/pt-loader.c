/* pt-loader.c: batches of augmented views, prefetched on a worker thread.
 *
 * The worker produces batches in sequence from its own position; the
 * consumer's position is the batch it will get next. Restoring a position
 * bumps a generation counter, drops the queue and restarts the worker from
 * there, so a stale batch in flight is thrown away rather than returned.
 */
#include "pt-loader.h"

#include <string.h>
#include <glib/gi18n.h>

#include "pt-aug-rng.h"
#include "pt-threads.h"

G_DEFINE_QUARK (pt-loader-error-quark, pt_loader_error)

/* Stream tag of the epoch shuffle ("Shuffle"). */
#define PT_LOADER_SHUFFLE_STREAM G_GUINT64_CONSTANT (0x53687566666c65)

struct _PtLoader
{
  PtLoaderSource   source;
  PtAugRecipe     *recipe;
  PtLoaderOptions  options;
  guint            n_views;
  int             *channels, *heights, *widths;
  guint            per_epoch;       /* batches per epoch */

  GMutex           lock;
  GCond            cond;
  GThread         *thread;
  GQueue           queue;           /* ready PtLoaderBatch, oldest first */
  guint64          generation;
  guint64          epoch, index;    /* consumer: the next batch */
  guint64          prod_epoch, prod_index;
  gboolean         stop;

  /* Worker only: the order of prod_epoch. */
  guint           *order;
  guint64          order_epoch;
  gboolean         order_valid;
};

void
pt_loader_options_init (PtLoaderOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->batch_size = 256;
  options->prefetch = 2;
  for (int c = 0; c < 3; c++)
    options->std[c] = 1.0f;
}

void
pt_loader_epoch_order (guint    *order,
                       guint     n,
                       guint64   seed,
                       guint64   epoch)
{
  PtAugRng rng;

  for (guint i = 0; i < n; i++)
    order[i] = i;
  pt_aug_rng_init (&rng, seed, epoch, PT_LOADER_SHUFFLE_STREAM, 0, 0);
  /* Fisher-Yates. */
  for (guint i = n; i > 1; i--)
    {
      guint j = (guint) pt_aug_rng_below (&rng, i);
      guint t = order[i - 1];

      order[i - 1] = order[j];
      order[j] = t;
    }
}

void
pt_loader_batch_free (PtLoaderBatch *batch)
{
  if (batch == NULL)
    return;
  for (guint v = 0; v < batch->n_views; v++)
    g_free (batch->views[v]);
  g_free (batch->views);
  g_free (batch->channels);
  g_free (batch->heights);
  g_free (batch->widths);
  g_free (batch->indices);
  g_free (batch->labels);
  g_free (batch->records);
  g_free (batch);
}

/* The position after a batch at (epoch, index); drop_last. */
static void
advance (PtLoader *self,
         guint64  *epoch,
         guint64  *index)
{
  guint B = self->options.batch_size;

  *index += B;
  if (*index + B > self->source.n_images)
    {
      *epoch += 1;
      *index = 0;
    }
}

static PtLoaderBatch *
make_batch (PtLoader *self,
            guint64   epoch,
            guint64   index)
{
  const PtLoaderSource *src = &self->source;
  guint B = self->options.batch_size;
  PtLoaderBatch *batch = g_new0 (PtLoaderBatch, 1);
  g_autofree const guint8 **images = g_new (const guint8 *, B);
  g_autofree guint64 *keys = g_new (guint64, B);
  int n_threads;

  if (!self->options.sequential && (!self->order_valid || self->order_epoch != epoch))
    {
      pt_loader_epoch_order (self->order, src->n_images, self->options.seed, epoch);
      self->order_epoch = epoch;
      self->order_valid = TRUE;
    }

  batch->epoch = epoch;
  batch->index = index;
  batch->batch_size = B;
  batch->n_views = self->n_views;
  batch->channels = g_memdup2 (self->channels, sizeof (int) * self->n_views);
  batch->heights = g_memdup2 (self->heights, sizeof (int) * self->n_views);
  batch->widths = g_memdup2 (self->widths, sizeof (int) * self->n_views);
  batch->views = g_new0 (float *, self->n_views);
  batch->indices = g_new (guint, B);
  batch->labels = g_new (int, B);
  if (self->options.records)
    batch->records = g_new0 (PtViewRecord, (gsize) self->n_views * B);

  for (guint b = 0; b < B; b++)
    {
      guint i = self->options.sequential ? (guint) (index + b) : self->order[index + b];

      batch->indices[b] = i;
      batch->labels[b] = src->get_label != NULL ? src->get_label (src->data, i) : -1;
      images[b] = src->get_image (src->data, i);
      keys[b] = i;
    }
  for (guint v = 0; v < self->n_views; v++)
    batch->views[v] = g_new (float, (gsize) B * self->channels[v] * self->heights[v] *
                                     self->widths[v]);

  n_threads = self->options.n_threads > 0 ? self->options.n_threads : pt_threads_get ();
  pt_augment_batch (batch->views, batch->records, self->recipe, images, keys, B,
                    src->channels, src->height, src->width,
                    self->options.seed, epoch, n_threads);

  if (self->options.normalize)
    for (guint v = 0; v < self->n_views; v++)
      {
        gsize plane = (gsize) self->heights[v] * self->widths[v];

        for (guint b = 0; b < B; b++)
          for (int c = 0; c < self->channels[v]; c++)
            {
              float *p = batch->views[v] + ((gsize) b * self->channels[v] + c) * plane;
              float m = self->options.mean[MIN (c, 2)];
              float s = 1.0f / self->options.std[MIN (c, 2)];

              for (gsize k = 0; k < plane; k++)
                p[k] = (p[k] - m) * s;
            }
      }
  return batch;
}

static gpointer
worker_main (gpointer data)
{
  PtLoader *self = data;

  g_mutex_lock (&self->lock);
  while (!self->stop)
    {
      guint64 generation, epoch, index;
      PtLoaderBatch *batch;

      if (self->queue.length >= self->options.prefetch)
        {
          g_cond_wait (&self->cond, &self->lock);
          continue;
        }
      generation = self->generation;
      epoch = self->prod_epoch;
      index = self->prod_index;
      g_mutex_unlock (&self->lock);

      batch = make_batch (self, epoch, index);

      g_mutex_lock (&self->lock);
      if (self->stop || generation != self->generation)
        {
          pt_loader_batch_free (batch);
          continue;
        }
      g_queue_push_tail (&self->queue, batch);
      advance (self, &self->prod_epoch, &self->prod_index);
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->lock);
  return NULL;
}

PtLoader *
pt_loader_new_for_source (const PtLoaderSource  *source,
                          const PtAugRecipe     *recipe,
                          const PtLoaderOptions *options,
                          GError               **error)
{
  PtLoader *self;
  PtLoaderOptions defaults;

  g_return_val_if_fail (source != NULL && source->get_image != NULL, NULL);
  g_return_val_if_fail (recipe != NULL, NULL);

  if (options == NULL)
    {
      pt_loader_options_init (&defaults);
      options = &defaults;
    }
  if (options->batch_size == 0 || source->n_images < options->batch_size)
    {
      g_set_error (error, PT_LOADER_ERROR, PT_LOADER_ERROR_TOO_SMALL,
                   _("The dataset has %u images, fewer than one batch of %u."),
                   source->n_images, options->batch_size);
      if (source->destroy != NULL)
        source->destroy (source->data);
      return NULL;
    }
  if ((source->channels != 1 && source->channels != 3) || source->height <= 0 ||
      source->width <= 0)
    {
      g_set_error (error, PT_LOADER_ERROR, PT_LOADER_ERROR_INVALID,
                   _("Images of %d x %d x %d cannot be augmented (1 or 3 channels)."),
                   source->channels, source->height, source->width);
      if (source->destroy != NULL)
        source->destroy (source->data);
      return NULL;
    }
  if (options->normalize)
    for (int c = 0; c < 3; c++)
      if (!(options->std[c] > 0))
        {
          g_set_error (error, PT_LOADER_ERROR, PT_LOADER_ERROR_INVALID,
                       _("The normalization standard deviation must be positive."));
          if (source->destroy != NULL)
            source->destroy (source->data);
          return NULL;
        }

  self = g_new0 (PtLoader, 1);
  self->source = *source;
  self->recipe = pt_augment_recipe_copy (recipe);
  self->options = *options;
  if (self->options.prefetch == 0)
    self->options.prefetch = 2;
  self->options.prefetch = CLAMP (self->options.prefetch, 1, 3);
  self->n_views = pt_augment_recipe_get_n_views (recipe);
  self->channels = g_new (int, self->n_views);
  self->heights = g_new (int, self->n_views);
  self->widths = g_new (int, self->n_views);
  for (guint v = 0; v < self->n_views; v++)
    pt_augment_recipe_get_view_shape (recipe, v, source->channels, source->height,
                                      source->width, &self->channels[v], &self->heights[v],
                                      &self->widths[v]);
  self->per_epoch = source->n_images / options->batch_size;
  self->order = g_new (guint, source->n_images);

  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  self->thread = g_thread_new ("pt-loader", worker_main, self);
  return self;
}

static void
clear_queue (PtLoader *self)
{
  PtLoaderBatch *batch;

  while ((batch = g_queue_pop_head (&self->queue)) != NULL)
    pt_loader_batch_free (batch);
}

void
pt_loader_free (PtLoader *loader)
{
  if (loader == NULL)
    return;

  g_mutex_lock (&loader->lock);
  loader->stop = TRUE;
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->lock);
  g_thread_join (loader->thread);

  clear_queue (loader);
  g_mutex_clear (&loader->lock);
  g_cond_clear (&loader->cond);
  if (loader->source.destroy != NULL)
    loader->source.destroy (loader->source.data);
  pt_augment_recipe_free (loader->recipe);
  g_free (loader->channels);
  g_free (loader->heights);
  g_free (loader->widths);
  g_free (loader->order);
  g_free (loader);
}

PtLoaderBatch *
pt_loader_next (PtLoader *loader)
{
  PtLoaderBatch *batch;

  g_return_val_if_fail (loader != NULL, NULL);

  g_mutex_lock (&loader->lock);
  while (loader->queue.length == 0)
    g_cond_wait (&loader->cond, &loader->lock);
  batch = g_queue_pop_head (&loader->queue);
  g_assert (batch->epoch == loader->epoch && batch->index == loader->index);
  advance (loader, &loader->epoch, &loader->index);
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->lock);
  return batch;
}

void
pt_loader_get_position (PtLoader *loader,
                        guint64  *epoch,
                        guint64  *index)
{
  g_return_if_fail (loader != NULL);

  g_mutex_lock (&loader->lock);
  if (epoch != NULL)
    *epoch = loader->epoch;
  if (index != NULL)
    *index = loader->index;
  g_mutex_unlock (&loader->lock);
}

void
pt_loader_set_position (PtLoader *loader,
                        guint64   epoch,
                        guint64   index)
{
  g_return_if_fail (loader != NULL);

  if (index + loader->options.batch_size > loader->source.n_images)
    {
      epoch += 1;
      index = 0;
    }
  g_mutex_lock (&loader->lock);
  loader->generation++;
  clear_queue (loader);
  loader->epoch = loader->prod_epoch = epoch;
  loader->index = loader->prod_index = index;
  g_cond_broadcast (&loader->cond);
  g_mutex_unlock (&loader->lock);
}

guint
pt_loader_get_batches_per_epoch (PtLoader *loader)
{
  g_return_val_if_fail (loader != NULL, 0);
  return loader->per_epoch;
}

guint
pt_loader_get_n_views (PtLoader *loader)
{
  g_return_val_if_fail (loader != NULL, 0);
  return loader->n_views;
}
