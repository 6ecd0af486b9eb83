/* pt-embeddings-page.h: the embedding map of a run's encoder on a fixed
 * labeled subset of its test split: PCA, or t-SNE animated from a warm
 * start; hover shows the image, click its nearest neighbours. The map
 * follows a training run: when its checkpoint changes, the features are
 * recomputed on a worker and t-SNE continues from the current layout. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define PT_TYPE_EMBEDDINGS_PAGE (pt_embeddings_page_get_type ())
G_DECLARE_FINAL_TYPE (PtEmbeddingsPage, pt_embeddings_page, PT, EMBEDDINGS_PAGE, GtkWidget)

/* Where runs are listed from (NULL: the default root). */
void        pt_embeddings_page_set_runs_root (PtEmbeddingsPage *self,
                                              const char       *root);
/* Shows the run in dir (selecting it in the list). */
void        pt_embeddings_page_show_run      (PtEmbeddingsPage *self,
                                              const char       *dir);
void        pt_embeddings_page_set_tsne      (PtEmbeddingsPage *self,
                                              gboolean          tsne);
/* Points in the map, and how many times features were computed (tests). */
guint       pt_embeddings_page_get_n_points  (PtEmbeddingsPage *self);
guint       pt_embeddings_page_get_n_updates (PtEmbeddingsPage *self);
/* Layout snapshots shown so far (t-SNE animation frames, tests). */
guint       pt_embeddings_page_get_n_frames  (PtEmbeddingsPage *self);
gboolean    pt_embeddings_page_get_busy      (PtEmbeddingsPage *self);
/* Neighbours of point i (indices into the map), as the strip shows them. */
GArray     *pt_embeddings_page_dup_neighbours (PtEmbeddingsPage *self,
                                               guint             i);

/* Shows embeddings made elsewhere instead of a run (pt-embedding-set.h:
 * labels_path and image_dir may be NULL), loaded and prepared on workers;
 * a bad file shows a banner and keeps what was shown. */
void        pt_embeddings_page_open_embeddings (PtEmbeddingsPage *self,
                                                const char       *npy_path,
                                                const char       *labels_path,
                                                const char       *image_dir);
/* The imported set's leave-one-out kNN and 80/20 probe accuracy, or NAN. */
double      pt_embeddings_page_get_knn_accuracy (PtEmbeddingsPage *self);
double      pt_embeddings_page_get_probe_accuracy (PtEmbeddingsPage *self);
/* The banner's message, or NULL when it is hidden. */
const char *pt_embeddings_page_get_banner      (PtEmbeddingsPage *self);
/* Class of each point shown (borrowed, NULL when unlabeled) and the names. */
const int  *pt_embeddings_page_get_labels      (PtEmbeddingsPage *self,
                                                int              *n_classes);
const char *pt_embeddings_page_get_class_name  (PtEmbeddingsPage *self,
                                                int               c);
/* The hover thumbnail of point i (64 px), or NULL without images. */
GdkTexture *pt_embeddings_page_dup_thumbnail   (PtEmbeddingsPage *self,
                                                guint             i);

G_END_DECLS
