/* pt-embedding-eval.h: how good are embeddings made elsewhere?
 *
 * The two label-based scores `pretext-cli inspect` and the Embeddings page
 * show for an imported set (pt-embedding-set.h), where there is no train /
 * test split to follow:
 *   - weighted kNN accuracy, LEAVE-ONE-OUT over the labeled rows: each row
 *     is voted on by its k most cosine-similar other labeled rows with
 *     weights exp (sim / t) (pt-knn.h); unlabeled rows neither vote nor
 *     count;
 *   - linear-probe accuracy (pt_probe_run: standardized, C searched) on a
 *     SEEDED random split of the labeled rows: a fifth (at least 1) for
 *     testing, the rest for training.
 */
#pragma once

#include "pt-embedding-set.h"
#include "pt-probe.h"

G_BEGIN_DECLS

/* Rows whose label is in [0, n_classes), ascending (a new array); *n_out
 * receives how many. */
int           *pt_embedding_set_labeled_rows (const PtEmbeddingSet *set,
                                              int                  *n_out);

/* Leave-one-out kNN accuracy in [0, 1]; needs labels and at least 2
 * labeled rows (FALSE with an error otherwise, or when cancelled). k is
 * capped at the labeled rows minus one. */
gboolean       pt_embedding_set_knn_accuracy (const PtEmbeddingSet *set,
                                              int                   k,
                                              double                t,
                                              double               *accuracy,
                                              GCancellable         *cancellable,
                                              GError              **error);

/* The linear probe on the seeded split; needs labels, at least 10 labeled
 * rows and 2 classes. */
PtProbeResult *pt_embedding_set_probe        (const PtEmbeddingSet *set,
                                              guint64               seed,
                                              GCancellable         *cancellable,
                                              GError              **error);

G_END_DECLS
