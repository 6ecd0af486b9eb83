/* pt-dataset-private.h: what the dataset sources share inside core/. */
#pragma once

#include "pt-dataset.h"

G_BEGIN_DECLS

/* Loaded data before it becomes a PtDataset; sources fill it, then
 * _pt_dataset_new_take () takes ownership of every field. */
typedef struct {
  char     *title;
  int       channels;
  int       height;
  int       width;
  guint     n_images;
  guint8   *pixels;        /* n x C x H x W */
  int      *labels;        /* n entries, -1 when unlabeled; may be NULL */
  int       n_classes;
  char    **class_names;   /* n_classes entries + NULL; may be NULL */
  char    **image_paths;   /* n entries + NULL; may be NULL */
  GPtrArray *quarantined_paths;    /* char *, may be NULL */
  GPtrArray *quarantined_reasons;  /* char *, may be NULL */
} PtDatasetData;

void        _pt_dataset_data_clear    (PtDatasetData *data);

PtDataset  *_pt_dataset_new_take      (const char    *spec,
                                       PtSplit        split,
                                       PtDatasetData *data);

/* Runs func (i, user_data) for i in 0..n-1 on up to n_threads threads (the
 * calling thread is one of them and alone reports progress), taking items in
 * chunks; stops early when cancellable is cancelled. */
typedef void (*PtParallelFunc) (guint i, gpointer user_data);

void        _pt_dataset_parallel_for  (guint           n,
                                       guint           chunk,
                                       int             n_threads,
                                       PtParallelFunc  func,
                                       gpointer        user_data,
                                       GCancellable   *cancellable,
                                       PtProgressFunc  progress,
                                       gpointer        progress_data);

/* Threads for loading work: at most 2 (the laptop target), at most online. */
int         _pt_dataset_n_threads     (void);

/* Sources: each fills data or sets error. */
gboolean    _pt_dataset_load_shapes   (PtDatasetData          *data,
                                       PtSplit                 split,
                                       const PtDatasetOptions *options,
                                       GCancellable           *cancellable,
                                       PtProgressFunc          progress,
                                       gpointer                progress_data,
                                       GError                **error);

gboolean    _pt_dataset_load_named_idx (PtDatasetData         *data,
                                        const char            *name,
                                        PtSplit                split,
                                        GCancellable          *cancellable,
                                        PtProgressFunc         progress,
                                        gpointer               progress_data,
                                        GError               **error);

/* A folder holding train-images-idx3-ubyte[.gz] (and t10k-...): MNIST-like. */
gboolean    _pt_dataset_is_idx_folder (const char             *path);
gboolean    _pt_dataset_load_idx_folder (PtDatasetData        *data,
                                         const char           *path,
                                         PtSplit               split,
                                         GCancellable         *cancellable,
                                         PtProgressFunc        progress,
                                         gpointer              progress_data,
                                         GError              **error);

gboolean    _pt_dataset_load_idx_file (PtDatasetData          *data,
                                       const char             *images_path,
                                       GCancellable           *cancellable,
                                       PtProgressFunc          progress,
                                       gpointer                progress_data,
                                       GError                **error);

gboolean    _pt_dataset_load_cifar10  (PtDatasetData          *data,
                                       const char             *path,
                                       PtSplit                 split,
                                       GCancellable           *cancellable,
                                       PtProgressFunc          progress,
                                       gpointer                progress_data,
                                       GError                **error);

gboolean    _pt_dataset_load_folder   (PtDatasetData          *data,
                                       const char             *path,
                                       PtSplit                 split,
                                       const PtDatasetOptions *options,
                                       GCancellable           *cancellable,
                                       PtProgressFunc          progress,
                                       gpointer                progress_data,
                                       GError                **error);

G_END_DECLS
