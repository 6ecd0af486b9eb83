/* pt-scatter-map.h: a 2-D map of embeddings coloured by class, with a
 * legend; hovering a point shows its image, clicking activates it (the
 * Embeddings page then shows its nearest neighbours). Drawing is the pure
 * function pt_scatter_map_draw(). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  guint               n;
  const float        *xy;          /* n x 2 */
  const int          *labels;      /* n class indices (-1 unlabeled), may be NULL */
  int                 n_classes;
  const char * const *class_names; /* n_classes or NULL */
  int                 selected;    /* point drawn ringed, or -1 */
  const guint        *highlight;   /* points drawn ringed in orange (neighbours), may be NULL */
  guint               n_highlight;
  GdkRGBA             fg;
} PtScatterMapModel;

void     pt_scatter_map_draw      (cairo_t       *cr,
                                   int            width,
                                   int            height,
                                   gconstpointer  model);   /* const PtScatterMapModel * */
/* Index of the point nearest (x, y) within radius pixels, or -1. */
int      pt_scatter_map_point_at  (const PtScatterMapModel *model,
                                   int                      width,
                                   int                      height,
                                   double                   x,
                                   double                   y,
                                   double                   radius);
/* Where point i is drawn. */
void     pt_scatter_map_to_screen (const PtScatterMapModel *model,
                                   int                      width,
                                   int                      height,
                                   guint                    i,
                                   double                  *sx,
                                   double                  *sy);

/* Returns a new texture of point i's image, for the hover tooltip. */
typedef GdkTexture *(*PtScatterThumbFunc) (guint i, gpointer user_data);

#define PT_TYPE_SCATTER_MAP (pt_scatter_map_get_type ())
G_DECLARE_FINAL_TYPE (PtScatterMap, pt_scatter_map, PT, SCATTER_MAP, GtkWidget)

GtkWidget *pt_scatter_map_new          (void);
/* Copies the points; labels may be NULL. The view keeps its zoom when only
 * positions move (t-SNE animation). */
void       pt_scatter_map_set_points   (PtScatterMap       *self,
                                        guint               n,
                                        const float        *xy,
                                        const int          *labels,
                                        int                 n_classes,
                                        const char * const *class_names);
guint      pt_scatter_map_get_n_points (PtScatterMap       *self);
void       pt_scatter_map_set_selected (PtScatterMap       *self,
                                        int                 index);
int        pt_scatter_map_get_selected (PtScatterMap       *self);
void       pt_scatter_map_set_highlight (PtScatterMap      *self,
                                         const guint       *indices,
                                         guint              n);
void       pt_scatter_map_set_thumb_func (PtScatterMap     *self,
                                          PtScatterThumbFunc func,
                                          gpointer          user_data,
                                          GDestroyNotify    destroy);
gboolean   pt_scatter_map_export       (PtScatterMap       *self,
                                        const char         *path,
                                        int                 width,
                                        int                 height,
                                        GError            **error);

G_END_DECLS
