/* pt-features.h: features of a dataset split through a frozen encoder.
 *
 * What evaluation (probe, kNN, maps) and export work on: one row per image.
 * A method's features come from pt_method_embed (eval mode: batchnorm with
 * its running statistics, no state change), fed in batches with the pixels
 * scaled to [0, 1] and normalized as in training. The baselines that keep a
 * result honest come from the same place: raw pixels, and the same method
 * class created with the same configuration and seed but never trained.
 *
 * For a run directory, features are cached per checkpoint as
 * eval/features-<split>-step<N>.npy (random init: -random.npy; the
 * projection head's: features-<split>-proj-step<N>.npy, -proj-random.npy),
 * written atomically and reused while the checkpoint step and the row and
 * column counts match.
 */
#pragma once

#include <gio/gio.h>

#include "pt-dataset.h"
#include "pt-loader-source.h"
#include "pt-method.h"

G_BEGIN_DECLS

typedef enum {
  PT_FEATURES_TRAINED,       /* the run's last good checkpoint */
  PT_FEATURES_RANDOM_INIT,   /* the same encoder, untrained */
  PT_FEATURES_RAW_PIXELS,    /* the pixels themselves, scaled to [0, 1] */
} PtFeatureKind;

/* Which output of the encoder: the backbone (what pt_method_embed gives,
 * the features SSL evaluations use) or the projection head the loss sees
 * (pt_method_embed_projection; SimCLR, MoCo and SwAV have one). */
typedef enum {
  PT_FEATURE_LAYER_BACKBONE,
  PT_FEATURE_LAYER_PROJECTION,
} PtFeatureLayer;

/* "ssl", "random-init", "raw-pixels" */
const char *pt_feature_kind_to_string (PtFeatureKind kind);

/* Features of every image of dataset through method: [n][*dim]. norm NULL:
 * pixels in [0, 1]. The dataset's image shape must be the method's.
 * cancellable is checked between batches. */
float      *pt_features_extract      (PtMethod              *method,
                                      PtDataset             *dataset,
                                      const PtNormalization *norm,
                                      int                   *dim,
                                      GCancellable          *cancellable,
                                      GError               **error);

/* Pixels scaled to [0, 1]: [n][C*H*W]. */
float      *pt_features_raw_pixels   (PtDataset             *dataset,
                                      int                   *dim);

/* Opens split of the dataset the run in run_dir was trained on. */
PtDataset  *pt_features_open_split   (const char            *run_dir,
                                      PtSplit                split,
                                      GCancellable          *cancellable,
                                      GError               **error);

/* Features of dataset (a split of the run's dataset) for the run in
 * run_dir, cached in its eval/ folder. step (optional) receives the
 * checkpoint step (0 for the baselines); cached (optional) whether they
 * came from the cache. */
float      *pt_features_for_run      (const char            *run_dir,
                                      PtDataset             *dataset,
                                      PtFeatureKind          kind,
                                      int                   *dim,
                                      guint64               *step,
                                      gboolean              *cached,
                                      GCancellable          *cancellable,
                                      GError               **error);

/* The same for a chosen layer. pt_features_for_run is layer BACKBONE.
 * PROJECTION features are cached apart (eval/features-<split>-proj-...);
 * raw pixels ignore the layer; a run whose method has no projection head
 * fails with PT_METHOD_ERROR_UNSUPPORTED. */
float      *pt_features_for_run_layer (const char           *run_dir,
                                       PtDataset            *dataset,
                                       PtFeatureKind         kind,
                                       PtFeatureLayer        layer,
                                       int                  *dim,
                                       guint64              *step,
                                       gboolean             *cached,
                                       GCancellable         *cancellable,
                                       GError              **error);

/* Whether the method of the run in run_dir has a projection head, from the
 * method's class (cheap: reads the run's config, builds nothing); FALSE
 * too when the run cannot be read or its method is unknown. */
gboolean    pt_features_run_has_projection (const char      *run_dir);

/* The run's method with its last good checkpoint loaded (kind TRAINED) or
 * untrained (RANDOM_INIT); norm (optional) receives its normalization. */
PtMethod   *pt_features_load_method  (const char            *run_dir,
                                      PtFeatureKind          kind,
                                      PtNormalization       *norm,
                                      guint64               *step,
                                      GError               **error);

G_END_DECLS
