/* pt-dataset.h: every image source behind one interface.
 *
 * A PtDataset is an immutable, in-memory set of 8-bit images of one size
 * (C x H x W, planar CHW, C = 1 or 3) with integer labels (-1 when unlabeled)
 * and class names. Sources: the procedural "shapes" set, IDX files
 * (Fashion-MNIST, MNIST; plain or gzip), CIFAR-10 binary batches, and image
 * folders (PNG/JPEG, subfolders are classes). Bad files in a folder are
 * quarantined with a reason while the rest loads.
 *
 * Dataset specs (as on the command line):
 *   shapes               built-in procedural set (10 classes)
 *   fashion-mnist        /usr/share/datasets/fashion-mnist or $PRETEXT_DATA
 *   mnist                /usr/share/datasets/mnist or $PRETEXT_DATA
 *   cifar10:PATH         folder holding data_batch_*.bin / test_batch.bin
 *   PATH/                a folder of images, or of MNIST-style IDX files
 *                        (train-images-idx3-ubyte[.gz], t10k-..., labels beside)
 *   FILE                 an IDX images file (labels beside it when found)
 *
 * Splits: a folder's test split is its test/ subfolder (when it has both
 * train/ and test/); a folder without them, or a bare IDX file, has no test
 * split and PT_SPLIT_TEST fails with PT_DATASET_ERROR_UNSUPPORTED.
 *
 * Opening is synchronous and may take seconds (a big folder): call it from a
 * worker (GTask) and pass a progress callback, which runs on that worker.
 */
#pragma once

#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

#define PT_DATASET_ERROR (pt_dataset_error_quark ())

typedef enum {
  PT_DATASET_ERROR_NOT_FOUND,     /* a path or named dataset does not exist */
  PT_DATASET_ERROR_INVALID,       /* a file is malformed (magic, size, labels) */
  PT_DATASET_ERROR_EMPTY,         /* no usable image */
  PT_DATASET_ERROR_UNSUPPORTED,   /* a spec or format Pretext does not read */
} PtDatasetError;

typedef enum {
  PT_SPLIT_TRAIN,
  PT_SPLIT_TEST,
} PtSplit;

/* Options for opening; a zeroed struct (or NULL) means the defaults. */
typedef struct {
  int     resolution;     /* image folders: square working size, default 32 */
  int     shapes_train;   /* shapes: train split size, default 10000 */
  int     shapes_test;    /* shapes: test split size, default 2000 */
  guint32 shapes_seed;    /* shapes: generator seed, default 0 */
  gboolean shapes_upright; /* shapes: every shape at angle 0 (FALSE: a random angle);
                            * everything else drawn as without it. For rotation
                            * prediction, which a random angle makes impossible */
} PtDatasetOptions;

/* Called on the loading thread with the fraction done (0..1). */
typedef void (*PtProgressFunc) (double fraction, gpointer user_data);

#define PT_TYPE_DATASET (pt_dataset_get_type ())
G_DECLARE_FINAL_TYPE (PtDataset, pt_dataset, PT, DATASET, GObject)

GQuark        pt_dataset_error_quark        (void);

/* Opens a dataset split. Errors name the file and the problem (valid UTF-8). */
PtDataset    *pt_dataset_open               (const char             *spec,
                                             PtSplit                 split,
                                             const PtDatasetOptions *options,
                                             GCancellable           *cancellable,
                                             PtProgressFunc          progress,
                                             gpointer                progress_data,
                                             GError                **error);

/* The same on a GTask worker thread. */
void          pt_dataset_open_async         (const char             *spec,
                                             PtSplit                 split,
                                             const PtDatasetOptions *options,
                                             GCancellable           *cancellable,
                                             GAsyncReadyCallback     callback,
                                             gpointer                user_data);
PtDataset    *pt_dataset_open_finish        (GAsyncResult           *result,
                                             GError                **error);

/* pt_dataset_open_async () with progress delivered on the caller's
 * thread-default main context (coalesced to at most one pending idle; none
 * after the callback has run). Finish with pt_dataset_open_finish (). */
void          pt_dataset_open_async_with_progress (const char             *spec,
                                                   PtSplit                 split,
                                                   const PtDatasetOptions *options,
                                                   GCancellable           *cancellable,
                                                   PtProgressFunc          progress,
                                                   gpointer                progress_data,
                                                   GAsyncReadyCallback     callback,
                                                   gpointer                user_data);

const char   *pt_dataset_get_spec           (PtDataset *self);
/* Human-readable name, e.g. "Fashion-MNIST (train)". */
const char   *pt_dataset_get_title          (PtDataset *self);
PtSplit       pt_dataset_get_split          (PtDataset *self);

guint         pt_dataset_get_n_images       (PtDataset *self);
int           pt_dataset_get_channels       (PtDataset *self);
int           pt_dataset_get_height         (PtDataset *self);
int           pt_dataset_get_width          (PtDataset *self);

/* Pixels of image i: C x H x W bytes, planar. Borrowed, valid while self lives. */
const guint8 *pt_dataset_get_image          (PtDataset *self, guint i);
/* Label of image i, or -1 when unlabeled. */
int           pt_dataset_get_label          (PtDataset *self, guint i);
/* Source file of image i for folder datasets, else NULL. */
const char   *pt_dataset_get_image_path     (PtDataset *self, guint i);

/* 0 when the dataset is unlabeled. */
int           pt_dataset_get_n_classes      (PtDataset *self);
const char   *pt_dataset_get_class_name     (PtDataset *self, int klass);
/* Images per class (n_classes entries). */
const guint  *pt_dataset_get_class_counts   (PtDataset *self);

/* Hex SHA-256 over the shape, pixels and labels: the identity a run records. */
const char   *pt_dataset_get_content_hash   (PtDataset *self);

/* Files skipped while loading a folder, each with a one-sentence reason.
 * Paths are in the file-name encoding (g_filename_display_name () to show
 * them); reasons are valid UTF-8. */
guint         pt_dataset_get_n_quarantined  (PtDataset *self);
const char   *pt_dataset_get_quarantined_path   (PtDataset *self, guint i);
const char   *pt_dataset_get_quarantined_reason (PtDataset *self, guint i);

/* A new RGB pixbuf of image i (grey images are expanded). */
GdkPixbuf    *pt_dataset_dup_pixbuf         (PtDataset *self, guint i);

/* A dataset over a copy of caller memory (tests, augmentation): pixels are
 * n x C x H x W bytes; labels (n entries, -1 or < n_classes) may be NULL for
 * unlabeled; class_names (n_classes entries) may be NULL for "0", "1", ... */
PtDataset    *pt_dataset_new_from_memory    (const char    *title,
                                             int            channels,
                                             int            height,
                                             int            width,
                                             guint          n_images,
                                             const guint8  *pixels,
                                             const int     *labels,
                                             int            n_classes,
                                             const char * const *class_names);

/* A new dataset of up to n images of self, the same number per class, in
 * dataset order (the first ones of each class): a fixed labeled subset for
 * maps and monitors. Unlabeled datasets give their first n images. */
PtDataset    *pt_dataset_new_balanced_subset (PtDataset    *self,
                                              guint         n);

/* All pixels: n x C x H x W bytes, planar. Borrowed. */
const guint8 *pt_dataset_get_pixels         (PtDataset *self);
/* All labels (n entries, -1 when unlabeled). Borrowed. */
const int    *pt_dataset_get_labels         (PtDataset *self);
/* Bytes of one image: C x H x W. */
gsize         pt_dataset_get_image_size     (PtDataset *self);

/* Sanity report. Per-channel pixel mean and standard deviation on a 0..1
 * scale (C entries each; the normalisation a training run uses). */
void          pt_dataset_compute_channel_stats (PtDataset *self,
                                                double    *mean,
                                                double    *std);
/* Images that repeat an earlier image byte for byte. */
guint         pt_dataset_count_duplicates   (PtDataset *self);
/* Images whose pixels all have one value (blank frames, failed scans). */
guint         pt_dataset_count_constant     (PtDataset *self);

G_END_DECLS
