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

G_END_DECLS
