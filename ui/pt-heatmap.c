/* pt-heatmap.c: a matrix as coloured cells.
 *
 * Signals: "cell-activated" (row, col) when a cell is clicked, so the
 * Evaluate page can show the images behind a confusion-matrix cell.
 */
#include <math.h>
#include <glib/gi18n.h>

#include "pt-heatmap.h"
#include "pt-plot-util.h"

typedef struct {
  double x0, y0, cell;
} Layout;

static double
label_width (cairo_t            *cr,
             const char * const *labels,
             int                 n)
{
  double w = 0;
  cairo_text_extents_t ext;

  for (int i = 0; labels && i < n; i++)
    {
      cairo_text_extents (cr, labels[i] ? labels[i] : "", &ext);
      w = MAX (w, ext.x_advance);
    }
  return labels ? MIN (w + 8, 130.0) : 4;
}

static Layout
compute_layout (cairo_t              *cr,
                const PtHeatmapModel *m,
                int                   width,
                int                   height)
{
  Layout l;
  double left, top;

  cairo_set_font_size (cr, 10);
  left = label_width (cr, m->row_labels, m->rows);
  top = m->col_labels ? label_width (cr, m->col_labels, m->cols) * 0.72 + 6 : 4;
  l.cell = MIN ((width - left - 4) / MAX (1, m->cols), (height - top - 4) / MAX (1, m->rows));
  l.cell = MAX (l.cell, 0.5);
  l.x0 = left;
  l.y0 = top;
  return l;
}

static void
value_range (const PtHeatmapModel *m,
             double               *lo,
             double               *hi)
{
  if (m->scale == PT_HEATMAP_DIVERGING)
    {
      *lo = -1;
      *hi = 1;
      return;
    }
  if (m->vmax > m->vmin)
    {
      *lo = m->vmin;
      *hi = m->vmax;
      return;
    }
  *lo = INFINITY;
  *hi = -INFINITY;
  for (int i = 0; i < m->rows * m->cols; i++)
    if (isfinite (m->values[i]))
      {
        *lo = MIN (*lo, m->values[i]);
        *hi = MAX (*hi, m->values[i]);
      }
  if (!isfinite (*lo) || *hi <= *lo)
    {
      *lo = 0;
      *hi = isfinite (*hi) && *hi > 0 ? *hi : 1;
    }
}

void
pt_heatmap_draw (cairo_t       *cr,
                 int            width,
                 int            height,
                 gconstpointer  model)
{
  const PtHeatmapModel *m = model;
  Layout l;
  double lo, hi;

  if (m->rows <= 0 || m->cols <= 0 || m->values == NULL)
    return;

  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  l = compute_layout (cr, m, width, height);
  value_range (m, &lo, &hi);

  /* The cells as one image, one pixel per cell, scaled up without
   * smoothing: a single paint whatever the matrix size. */
  {
    cairo_surface_t *img = cairo_image_surface_create (CAIRO_FORMAT_RGB24, m->cols, m->rows);
    guint8 *data = cairo_image_surface_get_data (img);
    int stride = cairo_image_surface_get_stride (img);

    for (int r = 0; r < m->rows; r++)
      for (int c = 0; c < m->cols; c++)
        {
          double v = m->values[r * m->cols + c];
          GdkRGBA col;

          if (m->scale == PT_HEATMAP_DIVERGING)
            pt_plot_diverging_color (v, &col);
          else
            pt_plot_sequential_color ((v - lo) / (hi - lo), &col);
          *(guint32 *) (data + r * stride + c * 4) =
            0xff000000u | ((guint32) lrint (col.red * 255) << 16) |
            ((guint32) lrint (col.green * 255) << 8) | (guint32) lrint (col.blue * 255);
        }
    cairo_surface_mark_dirty (img);
    cairo_save (cr);
    cairo_translate (cr, l.x0, l.y0);
    cairo_scale (cr, l.cell, l.cell);
    cairo_set_source_surface (cr, img, 0, 0);
    cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle (cr, 0, 0, m->cols, m->rows);
    cairo_fill (cr);
    cairo_restore (cr);
    cairo_surface_destroy (img);
  }

  if (m->show_values && l.cell >= 18)
    for (int r = 0; r < m->rows; r++)
      for (int c = 0; c < m->cols; c++)
        {
          double v = m->values[r * m->cols + c];
          GdkRGBA col;
          char buf[32];
          double lum;

          if (m->scale == PT_HEATMAP_DIVERGING)
            pt_plot_diverging_color (v, &col);
          else
            pt_plot_sequential_color ((v - lo) / (hi - lo), &col);
          lum = 0.2126 * col.red + 0.7152 * col.green + 0.0722 * col.blue;
          g_snprintf (buf, sizeof buf, m->value_format ? m->value_format : "%.2f", v);
          cairo_set_source_rgb (cr, lum > 0.55 ? 0 : 1, lum > 0.55 ? 0 : 1, lum > 0.55 ? 0 : 1);
          cairo_set_font_size (cr, MIN (11.0, l.cell * 0.36));
          pt_plot_text (cr, l.x0 + (c + 0.5) * l.cell, l.y0 + (r + 0.5) * l.cell, 0.5, buf);
        }

  /* Positive pairs outlined. */
  if (m->outline_col)
    {
      cairo_set_source_rgb (cr, 0.1, 0.1, 0.1);
      cairo_set_line_width (cr, MAX (1.0, l.cell * 0.12));
      for (int r = 0; r < m->rows; r++)
        if (m->outline_col[r] >= 0 && m->outline_col[r] < m->cols)
          {
            cairo_rectangle (cr, l.x0 + m->outline_col[r] * l.cell + 0.5, l.y0 + r * l.cell + 0.5,
                             l.cell - 1, l.cell - 1);
            cairo_stroke (cr);
          }
    }

  if (m->highlight_row >= 0 && m->highlight_row < m->rows)
    {
      GdkRGBA hl = { 0.90, 0.38, 0.0, 1 };
      gdk_cairo_set_source_rgba (cr, &hl);
      cairo_set_line_width (cr, 2);
      cairo_rectangle (cr, l.x0, l.y0 + m->highlight_row * l.cell, m->cols * l.cell, l.cell);
      cairo_stroke (cr);
    }

  /* Labels. */
  cairo_set_font_size (cr, MIN (10.0, MAX (6.0, l.cell * 0.8)));
  gdk_cairo_set_source_rgba (cr, &m->fg);
  for (int r = 0; m->row_labels && r < m->rows; r++)
    pt_plot_text (cr, l.x0 - 4, l.y0 + (r + 0.5) * l.cell, 1.0, m->row_labels[r] ? m->row_labels[r] : "");
  for (int c = 0; m->col_labels && c < m->cols; c++)
    {
      cairo_save (cr);
      cairo_translate (cr, l.x0 + (c + 0.5) * l.cell, l.y0 - 4);
      cairo_rotate (cr, -G_PI / 4);
      pt_plot_text (cr, 0, 0, 0.0, m->col_labels[c] ? m->col_labels[c] : "");
      cairo_restore (cr);
    }
  cairo_restore (cr);
}

gboolean
pt_heatmap_cell_at (const PtHeatmapModel *m,
                    int                   width,
                    int                   height,
                    double                x,
                    double                y,
                    int                  *row,
                    int                  *col)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_A8, 1, 1);
  cairo_t *cr = cairo_create (s);
  Layout l;
  int r, c;

  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  l = compute_layout (cr, m, width, height);
  cairo_destroy (cr);
  cairo_surface_destroy (s);

  if (x < l.x0 || y < l.y0)
    return FALSE;
  c = (int) ((x - l.x0) / l.cell);
  r = (int) ((y - l.y0) / l.cell);
  if (r >= m->rows || c >= m->cols)
    return FALSE;
  *row = r;
  *col = c;
  return TRUE;
}

struct _PtHeatmap
{
  GtkWidget       parent_instance;

  PtHeatmapScale  scale;
  int             rows, cols;
  float          *values;
  GStrv           row_labels;
  GStrv           col_labels;
  int            *outline;
  gboolean        show_values;
  char           *value_format;
  double          vmin, vmax;
  int             highlight_row;
};

G_DEFINE_FINAL_TYPE (PtHeatmap, pt_heatmap, GTK_TYPE_WIDGET)

enum {
  CELL_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pt_heatmap_fill_model (PtHeatmap      *self,
                       PtHeatmapModel *m,
                       const GdkRGBA  *fg)
{
  *m = (PtHeatmapModel) {
    .rows = self->rows, .cols = self->cols, .values = self->values, .scale = self->scale,
    .vmin = self->vmin, .vmax = self->vmax,
    .row_labels = (const char * const *) self->row_labels,
    .col_labels = (const char * const *) self->col_labels,
    .outline_col = self->outline, .show_values = self->show_values,
    .value_format = self->value_format, .highlight_row = self->highlight_row, .fg = *fg,
  };
}

static void
pt_heatmap_snapshot (GtkWidget   *widget,
                     GtkSnapshot *snapshot)
{
  PtHeatmap *self = PT_HEATMAP (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  PtHeatmapModel m;
  GdkRGBA fg;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  pt_heatmap_fill_model (self, &m, &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  pt_heatmap_draw (cr, w, h, &m);
  cairo_destroy (cr);
}

static void
pt_heatmap_measure (GtkWidget      *widget,
                    GtkOrientation  orientation,
                    int             for_size,
                    int            *minimum,
                    int            *natural,
                    int            *minimum_baseline,
                    int            *natural_baseline)
{
  *minimum = 120;
  *natural = 300;
}

static void
on_click_released_cb (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      PtHeatmap       *self)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA fg = { 0, 0, 0, 1 };
  PtHeatmapModel m;
  int r, c;

  pt_heatmap_fill_model (self, &m, &fg);
  if (m.values && pt_heatmap_cell_at (&m, gtk_widget_get_width (widget), gtk_widget_get_height (widget),
                                      x, y, &r, &c))
    g_signal_emit (self, signals[CELL_ACTIVATED], 0, r, c);
}

static void
pt_heatmap_finalize (GObject *object)
{
  PtHeatmap *self = PT_HEATMAP (object);

  g_free (self->values);
  g_strfreev (self->row_labels);
  g_strfreev (self->col_labels);
  g_free (self->outline);
  g_free (self->value_format);
  G_OBJECT_CLASS (pt_heatmap_parent_class)->finalize (object);
}

static void
pt_heatmap_class_init (PtHeatmapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_heatmap_finalize;
  widget_class->snapshot = pt_heatmap_snapshot;
  widget_class->measure = pt_heatmap_measure;

  signals[CELL_ACTIVATED] =
    g_signal_new ("cell-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_INT, G_TYPE_INT);

  gtk_widget_class_set_css_name (widget_class, "heatmap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pt_heatmap_init (PtHeatmap *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->highlight_row = -1;
  g_signal_connect (click, "released", G_CALLBACK (on_click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
pt_heatmap_new (PtHeatmapScale scale)
{
  PtHeatmap *self = g_object_new (PT_TYPE_HEATMAP, NULL);

  self->scale = scale;
  return GTK_WIDGET (self);
}

static GStrv
copy_labels (const char * const *labels,
             int                 n)
{
  GStrv out;

  if (labels == NULL)
    return NULL;
  out = g_new0 (char *, n + 1);
  for (int i = 0; i < n; i++)
    out[i] = g_strdup (labels[i]);
  return out;
}

void
pt_heatmap_set_matrix (PtHeatmap          *self,
                       int                 rows,
                       int                 cols,
                       const float        *values,
                       const char * const *row_labels,
                       const char * const *col_labels)
{
  g_return_if_fail (PT_IS_HEATMAP (self));
  g_return_if_fail (rows >= 0 && cols >= 0);

  g_clear_pointer (&self->values, g_free);
  g_clear_pointer (&self->row_labels, g_strfreev);
  g_clear_pointer (&self->col_labels, g_strfreev);
  if (rows != self->rows)
    g_clear_pointer (&self->outline, g_free);
  self->rows = rows;
  self->cols = cols;
  if (rows > 0 && cols > 0 && values != NULL)
    self->values = g_memdup2 (values, sizeof (float) * rows * cols);
  self->row_labels = copy_labels (row_labels, rows);
  self->col_labels = copy_labels (col_labels, cols);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_heatmap_set_outline (PtHeatmap *self,
                        const int *outline_col)
{
  g_return_if_fail (PT_IS_HEATMAP (self));

  g_clear_pointer (&self->outline, g_free);
  if (outline_col != NULL && self->rows > 0)
    self->outline = g_memdup2 (outline_col, sizeof (int) * self->rows);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_heatmap_set_show_values (PtHeatmap  *self,
                            gboolean    show,
                            const char *format)
{
  g_return_if_fail (PT_IS_HEATMAP (self));

  self->show_values = show;
  g_free (self->value_format);
  self->value_format = g_strdup (format);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_heatmap_set_range (PtHeatmap *self,
                      double     vmin,
                      double     vmax)
{
  g_return_if_fail (PT_IS_HEATMAP (self));

  self->vmin = vmin;
  self->vmax = vmax;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_heatmap_set_highlight_row (PtHeatmap *self,
                              int        row)
{
  g_return_if_fail (PT_IS_HEATMAP (self));

  self->highlight_row = row;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
pt_heatmap_get_rows (PtHeatmap *self)
{
  g_return_val_if_fail (PT_IS_HEATMAP (self), 0);
  return self->rows;
}

int
pt_heatmap_get_cols (PtHeatmap *self)
{
  g_return_val_if_fail (PT_IS_HEATMAP (self), 0);
  return self->cols;
}

gboolean
pt_heatmap_export (PtHeatmap   *self,
                   const char  *path,
                   int          width,
                   int          height,
                   GError     **error)
{
  GdkRGBA fg = { 0.1, 0.1, 0.1, 1 };
  PtHeatmapModel m;

  g_return_val_if_fail (PT_IS_HEATMAP (self), FALSE);

  pt_heatmap_fill_model (self, &m, &fg);
  return pt_plot_export (pt_heatmap_draw, &m, width, height, path, error);
}
