/* pt-heatmap.h: a matrix as coloured cells: similarity matrices (diverging
 * scale, positives outlined) and confusion matrices (sequential scale,
 * counts, class names). Drawing is the pure function pt_heatmap_draw(). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  PT_HEATMAP_SEQUENTIAL,   /* values from vmin (dark) to vmax (bright) */
  PT_HEATMAP_DIVERGING,    /* values in [-1, 1], white at 0 */
} PtHeatmapScale;

typedef struct {
  int                rows;
  int                cols;
  const float       *values;        /* rows x cols, row-major */
  PtHeatmapScale     scale;
  double             vmin, vmax;    /* sequential range; vmax <= vmin: from the data */
  const char * const *row_labels;   /* rows strings or NULL */
  const char * const *col_labels;   /* cols strings or NULL */
  const int         *outline_col;   /* per row: a column to outline (positive pair), or -1; may be NULL */
  gboolean           show_values;   /* print each value in its cell (small matrices) */
  const char        *value_format;  /* e.g. "%.0f" or "%.2f" */
  int                highlight_row; /* -1 for none */
  GdkRGBA            fg;
} PtHeatmapModel;

void     pt_heatmap_draw     (cairo_t       *cr,
                              int            width,
                              int            height,
                              gconstpointer  model);    /* const PtHeatmapModel * */
/* The cell at (x, y), or FALSE outside the matrix. */
gboolean pt_heatmap_cell_at  (const PtHeatmapModel *model,
                              int                   width,
                              int                   height,
                              double                x,
                              double                y,
                              int                  *row,
                              int                  *col);

#define PT_TYPE_HEATMAP (pt_heatmap_get_type ())
G_DECLARE_FINAL_TYPE (PtHeatmap, pt_heatmap, PT, HEATMAP, GtkWidget)

GtkWidget *pt_heatmap_new          (PtHeatmapScale scale);
/* Copies values (and labels when given). */
void       pt_heatmap_set_matrix   (PtHeatmap          *self,
                                    int                 rows,
                                    int                 cols,
                                    const float        *values,
                                    const char * const *row_labels,
                                    const char * const *col_labels);
/* Copies rows entries (-1 for none). */
void       pt_heatmap_set_outline  (PtHeatmap          *self,
                                    const int          *outline_col);
void       pt_heatmap_set_show_values (PtHeatmap       *self,
                                       gboolean         show,
                                       const char      *format);
void       pt_heatmap_set_range    (PtHeatmap          *self,
                                    double              vmin,
                                    double              vmax);
void       pt_heatmap_set_highlight_row (PtHeatmap     *self,
                                         int            row);
int        pt_heatmap_get_rows     (PtHeatmap          *self);
int        pt_heatmap_get_cols     (PtHeatmap          *self);
gboolean   pt_heatmap_export       (PtHeatmap          *self,
                                    const char         *path,
                                    int                 width,
                                    int                 height,
                                    GError            **error);

G_END_DECLS
