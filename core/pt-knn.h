/* pt-knn.h: cosine-similarity nearest neighbours and the weighted kNN
 * classifier (InstDisc / DINO convention: the k most similar training items
 * vote for their class with weight exp(sim / T); k = 20, T = 0.07).
 *
 * Similarities come from single-threaded sgemm tiles (blocks of queries
 * against blocks of the L2-normalized training features), each streamed
 * through a per-query top-k selector while still in cache. A PtKnnCache keeps the top neighbours
 * (200 by default) of every query, so that a change of k or T re-scores
 * without recomputing any similarity.
 */
#pragma once

#include <gio/gio.h>

#include "pt-metrics.h"

G_BEGIN_DECLS

#define PT_KNN_DEFAULT_K        20
#define PT_KNN_DEFAULT_T        0.07
#define PT_KNN_DEFAULT_CACHE_K  200

#define PT_KNN_ERROR (pt_knn_error_quark ())
typedef enum
{
  PT_KNN_ERROR_INVALID,
} PtKnnError;
GQuark pt_knn_error_quark (void);

/* ---- index: L2-normalized copy of a feature matrix ---- */

typedef struct _PtKnnIndex PtKnnIndex;

/* Copies and L2-normalizes x (n x d). */
PtKnnIndex  *pt_knn_index_new      (const float      *x,
                                    int               n,
                                    int               d);
void         pt_knn_index_free     (PtKnnIndex       *index);
int          pt_knn_index_get_n    (const PtKnnIndex *index);
int          pt_knn_index_get_dim  (const PtKnnIndex *index);
/* The normalized rows (n x d), borrowed. */
const float *pt_knn_index_get_data (const PtKnnIndex *index);

/* For each query row (n_queries x d, need not be normalized): the k most
 * cosine-similar items, decreasing, into idx and sim (n_queries x k).
 * exclude (n_queries, may be NULL): an item index to skip per query (the
 * query itself when querying the index with its own items; -1 for none).
 * Fewer than k items: the tail is idx -1, sim -INF. Order: similarity
 * decreasing, equal similarities by increasing item index (so of tied items
 * at the k-th place the lowest indices are kept); a NaN similarity is never
 * a neighbour. Threads over query blocks (pt_threads_get ()); the result
 * does not depend on the thread count. Returns FALSE only when cancelled. */
gboolean     pt_knn_index_search   (const PtKnnIndex *index,
                                    const float      *queries,
                                    int               n_queries,
                                    int               k,
                                    const int        *exclude,
                                    int              *idx,
                                    float            *sim,
                                    GCancellable     *cancellable,
                                    GError          **error);

/* Retrieval of one item of the index: its k nearest other items. */
void         pt_knn_index_neighbours (const PtKnnIndex *index,
                                      int               item,
                                      int               k,
                                      int              *idx,
                                      float            *sim);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtKnnIndex, pt_knn_index_free)

/* ---- cache and classifier ---- */

typedef struct
{
  int    n_queries;
  int    k_max;
  int   *idx;  /* n_queries x k_max, into the training items */
  float *sim;  /* n_queries x k_max, decreasing per row */
} PtKnnCache;

/* Top k_max neighbours of every query among the index items. */
PtKnnCache *pt_knn_cache_new     (const PtKnnIndex *train,
                                  const float      *queries,
                                  int               n_queries,
                                  int               k_max,
                                  GCancellable     *cancellable,
                                  GError          **error);
void        pt_knn_cache_free    (PtKnnCache       *cache);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtKnnCache, pt_knn_cache_free)

/* Weighted vote over the first k (<= k_max) cached neighbours with weights
 * exp(sim / t); training labels in [0, n_classes) (negative: no vote).
 * pred (n_queries); scores (n_queries x n_classes, normalized to sum 1,
 * may be NULL). Ties go to the lowest class. */
void        pt_knn_cache_predict (const PtKnnCache *cache,
                                  const int        *train_labels,
                                  int               n_classes,
                                  int               k,
                                  double            t,
                                  int              *pred,
                                  float            *scores);

/* Predicts and scores against test_labels (n_queries) in one call. */
PtClassReport *pt_knn_cache_evaluate (const PtKnnCache *cache,
                                      const int        *train_labels,
                                      const int        *test_labels,
                                      int               n_classes,
                                      int               k,
                                      double            t);

G_END_DECLS
