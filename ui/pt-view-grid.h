/* pt-view-grid.h: source images with their augmented views side by side.
 *
 * Each row is one source image, drawn with the crop box of each view in that
 * view's colour, followed by the views themselves. Views smaller than the
 * source (multi-crop local views) are drawn proportionally smaller. The
 * drawing is the pure function pt_view_grid_draw().
 */
#pragma once

#include <gtk/gtk.h>

#include "pt-augment.h"

G_BEGIN_DECLS

typedef struct {
  const guint8        *image;      /* C x H x W bytes */
  int                  c, h, w;
  guint                n_views;
  const float * const *views;      /* each out_channels x out_height x out_width, [0, 1] */
  const PtViewRecord  *records;    /* n_views; shapes and crop boxes */
  double               similarity; /* cosine similarity of the first two views' embeddings, or NAN */
} PtViewGridRow;

typedef struct {
  guint                n_rows;
  const PtViewGridRow *rows;
  int                  cell;       /* side of a source image on screen, pixels */
  GdkRGBA              text_color;
} PtViewGridModel;

/* The colour of view v (a fixed palette, also used for crop boxes). */
void     pt_view_grid_view_color (guint           v,
                                  GdkRGBA        *color);
/* Size the grid wants for a model. */
void     pt_view_grid_get_size   (const PtViewGridModel *model,
                                  int            *width,
                                  int            *height);
void     pt_view_grid_draw       (cairo_t               *cr,
                                  const PtViewGridModel *model);
/* What is at (x, y): returns TRUE with the row and the view (-1 for the
 * source image) when over an image. */
gboolean pt_view_grid_hit        (const PtViewGridModel *model,
                                  double                 x,
                                  double                 y,
                                  guint                 *row,
                                  int                   *view);
/* The tooltip of a view: number, size and what it drew (translated). */
char    *pt_view_grid_describe_view (const PtViewRecord *record);

#define PT_TYPE_VIEW_GRID (pt_view_grid_get_type ())
G_DECLARE_FINAL_TYPE (PtViewGrid, pt_view_grid, PT, VIEW_GRID, GtkWidget)

GtkWidget *pt_view_grid_new       (void);
/* Takes a snapshot copy of the rows (images, views and records). */
void       pt_view_grid_set_rows  (PtViewGrid          *self,
                                   guint                n_rows,
                                   const PtViewGridRow *rows);
guint      pt_view_grid_get_n_rows (PtViewGrid         *self);
/* Sets the cosine similarity shown after each row (NAN hides it); rows
 * beyond n, or all when similarities is NULL, are hidden. */
void       pt_view_grid_set_similarities (PtViewGrid   *self,
                                          guint         n,
                                          const double *similarities);
double     pt_view_grid_get_similarity (PtViewGrid     *self,
                                        guint           row);
void       pt_view_grid_set_cell  (PtViewGrid          *self,
                                   int                  cell);

G_END_DECLS
