/* pt-image-grid.h: float images in rows and columns, with optional row
 * titles: MAE's original / masked / reconstruction rows, cluster galleries.
 * Drawing is the pure function pt_image_grid_draw(). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  int                 n;            /* images */
  int                 c, h, w;      /* each image C x H x W, values in [0, 1] */
  const float        *images;       /* n x C x H x W */
  int                 cols;         /* images per row */
  const char * const *row_titles;   /* one per row or NULL */
  GdkRGBA             fg;
} PtImageGridModel;

void pt_image_grid_draw      (cairo_t       *cr,
                              int            width,
                              int            height,
                              gconstpointer  model);   /* const PtImageGridModel * */
/* Index of the image at (x, y), or -1. */
int  pt_image_grid_image_at  (const PtImageGridModel *model,
                              int                     width,
                              int                     height,
                              double                  x,
                              double                  y);

#define PT_TYPE_IMAGE_GRID (pt_image_grid_get_type ())
G_DECLARE_FINAL_TYPE (PtImageGrid, pt_image_grid, PT, IMAGE_GRID, GtkWidget)

GtkWidget *pt_image_grid_new        (void);
/* Copies the images and titles. */
void       pt_image_grid_set_images (PtImageGrid        *self,
                                     int                 n,
                                     int                 c,
                                     int                 h,
                                     int                 w,
                                     const float        *images,
                                     int                 cols,
                                     const char * const *row_titles);
int        pt_image_grid_get_n_images (PtImageGrid      *self);
gboolean   pt_image_grid_export     (PtImageGrid        *self,
                                     const char         *path,
                                     int                 width,
                                     int                 height,
                                     GError            **error);

G_END_DECLS
