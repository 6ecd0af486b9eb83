/* pt-loader.h: batches of augmented views, prefetched on a worker thread.
 *
 * The loader walks a dataset in a deterministic order: each epoch is a
 * permutation drawn from (seed, epoch) (or the plain order), cut into
 * batches of B images; the last incomplete batch is dropped. One worker
 * thread keeps a bounded queue of ready batches (2 by default) while the
 * training step runs; within a batch the views are computed on
 * pt_threads_get () threads. A batch is a pure function of (seed, epoch,
 * position), so the position (epoch, index in epoch) saved in a checkpoint
 * restores the exact stream of batches.
 */
#pragma once

#include <glib.h>

#include "pt-augment.h"
#include "pt-dataset.h"

G_BEGIN_DECLS

#define PT_LOADER_ERROR (pt_loader_error_quark ())

typedef enum {
  PT_LOADER_ERROR_TOO_SMALL,    /* fewer images than one batch */
  PT_LOADER_ERROR_INVALID,      /* options that cannot work */
} PtLoaderError;

typedef struct {
  guint    batch_size;     /* B > 0 */
  guint64  seed;           /* shuffling and augmentation */
  gboolean sequential;     /* TRUE: dataset order, no shuffle */
  gboolean records;        /* fill PtLoaderBatch.records */
  gboolean normalize;      /* (x - mean[c]) / std[c] after augmenting */
  float    mean[3];
  float    std[3];
  guint    prefetch;       /* ready batches kept ahead, 1..3; 0 = 2 */
  int      n_threads;      /* threads per batch; 0 = pt_threads_get () */
} PtLoaderOptions;

/* Where images come from, for sources other than a PtDataset (tests). */
typedef struct {
  guint           n_images;
  int             channels, height, width;
  const guint8 *(*get_image) (gpointer data, guint i);
  int           (*get_label) (gpointer data, guint i);   /* may be NULL: -1 */
  gpointer        data;
  GDestroyNotify  destroy;     /* called on data when the loader is freed */
} PtLoaderSource;

typedef struct {
  guint64        epoch;
  guint64        index;       /* position in the epoch of its first image */
  guint          batch_size;
  guint          n_views;
  int           *channels;    /* [n_views] */
  int           *heights;     /* [n_views] */
  int           *widths;      /* [n_views] */
  float        **views;       /* [n_views] -> [B][C][H][W], contiguous per view */
  guint         *indices;     /* [B] dataset indices */
  int           *labels;      /* [B], -1 when unlabeled */
  PtViewRecord  *records;     /* [n_views][B], or NULL */
} PtLoaderBatch;

typedef struct _PtLoader PtLoader;

GQuark        pt_loader_error_quark         (void);

/* Zeroed options with the defaults filled in (batch 256, shuffle, prefetch 2). */
void          pt_loader_options_init        (PtLoaderOptions *options);

/* A loader over a dataset (kept alive by a reference) with the recipe
 * (copied). Starts prefetching at epoch 0, index 0. */
PtLoader     *pt_loader_new                 (PtDataset             *dataset,
                                             const PtAugRecipe     *recipe,
                                             const PtLoaderOptions *options,
                                             GError               **error);
/* The same over any source. The loader owns source->data from here on,
 * even when it fails (destroy is called). */
PtLoader     *pt_loader_new_for_source      (const PtLoaderSource  *source,
                                             const PtAugRecipe     *recipe,
                                             const PtLoaderOptions *options,
                                             GError               **error);
/* Stops the worker (mid-epoch is fine) and frees everything. */
void          pt_loader_free                (PtLoader *loader);

/* The next batch, waiting for the worker if needed. Free with pt_loader_batch_free. */
PtLoaderBatch      *pt_loader_next                (PtLoader *loader);

/* Position of the batch pt_loader_next will return. */
void          pt_loader_get_position        (PtLoader *loader,
                                             guint64  *epoch,
                                             guint64  *index);
/* Continues from a saved position; prefetched batches are dropped. An index
 * past the last full batch moves to the start of the next epoch. */
void          pt_loader_set_position        (PtLoader *loader,
                                             guint64   epoch,
                                             guint64   index);

guint         pt_loader_get_batches_per_epoch (PtLoader *loader);
guint         pt_loader_get_n_views         (PtLoader *loader);

/* The image order of an epoch: a permutation of 0..n-1 from (seed, epoch). */
void          pt_loader_epoch_order         (guint    *order,
                                             guint     n,
                                             guint64   seed,
                                             guint64   epoch);

void          pt_loader_batch_free                 (PtLoaderBatch *batch);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtLoaderBatch, pt_loader_batch_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtLoader, pt_loader_free)

G_END_DECLS
