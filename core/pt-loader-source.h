/* pt-loader-source.h: the augmentation loader as the trainer's batch source.
 *
 * Wraps a PtLoader (prefetching worker, deterministic order and views from
 * the seed) behind PtBatchSource. The recipe's views must be exactly the
 * views the method asks for (count and C x H x W of each, in order); the
 * constructor says which one differs otherwise. Views are normalized per
 * channel, (x - mean[c]) / std[c], with the dataset's statistics.
 *
 * The position is 32 bytes: a magic, the seed, the epoch and the index in
 * the epoch of the next batch. Restoring it drops whatever the worker had
 * prefetched and recomputes from there, so a resumed run sees the same
 * batches, bit for bit.
 */
#pragma once

#include "pt-augment.h"
#include "pt-batch-source.h"
#include "pt-dataset.h"
#include "pt-method.h"

G_BEGIN_DECLS

#define PT_LOADER_SOURCE_ERROR (pt_loader_source_error_quark ())

typedef enum {
  PT_LOADER_SOURCE_ERROR_VIEWS,      /* the recipe's views are not the method's */
  PT_LOADER_SOURCE_ERROR_POSITION,   /* a position from another source */
  PT_LOADER_SOURCE_ERROR_FAILED,     /* the loader could not start */
} PtLoaderSourceError;

GQuark pt_loader_source_error_quark (void);

#define PT_LOADER_SOURCE_POSITION_SIZE 32

/* Per-channel normalization, as the loader and the feature extractor apply
 * it to pixels scaled to [0, 1]. A grey dataset repeats its one channel. */
typedef struct {
  float mean[3];
  float std[3];
} PtNormalization;

/* Mean and standard deviation per channel over every pixel of dataset
 * (std at least 1e-3). Deterministic. */
void           pt_normalization_from_dataset (PtNormalization *norm,
                                              PtDataset       *dataset);
/* Fills mean and std into group ("normalize_mean", "normalize_std") of
 * keyfile, locale-independent, and reads them back. */
void           pt_normalization_save         (const PtNormalization *norm,
                                              GKeyFile              *keyfile,
                                              const char            *group);
gboolean       pt_normalization_load         (PtNormalization *norm,
                                              GKeyFile        *keyfile,
                                              const char      *group,
                                              GError         **error);
/* The inverse of the loader's normalization, in place: images [n][C][plane]
 * in the model's input space back to pixels in [0, 1] (not clamped), for
 * display (MAE's reconstructions). C is at most 3. */
void           pt_normalization_to_pixels    (const PtNormalization *norm,
                                              float                 *images,
                                              int                    n,
                                              int                    channels,
                                              gsize                  plane);

/* Checks that recipe gives the views method asks for on images of dataset's
 * shape; the error names the recipe and the first mismatch. */
gboolean       pt_loader_source_check_views  (const PtAugRecipe *recipe,
                                              PtMethod          *method,
                                              PtDataset         *dataset,
                                              GError           **error);

/* A batch source over dataset with recipe (copied), batches of the
 * method's batch size, shuffled and augmented from seed. norm NULL: no
 * normalization. n_threads: augmentation threads per batch (0: the global
 * count). */
PtBatchSource *pt_loader_source_new          (PtDataset             *dataset,
                                              const PtAugRecipe     *recipe,
                                              PtMethod              *method,
                                              guint64                seed,
                                              const PtNormalization *norm,
                                              int                    n_threads,
                                              GError               **error);

/* Batches per epoch of such a source (images / batch, rounded down). */
guint64        pt_loader_source_batches_per_epoch (guint n_images,
                                                   int   batch_size);

G_END_DECLS
