/* pt-image-grid.c: float images in rows and columns. */
#include <math.h>

#include "pt-image-grid.h"
#include "pt-plot-util.h"

#define GAP 4
#define TITLE_W 110

typedef struct {
  double x0, cell;
  int    rows;
} Layout;

static Layout
compute_layout (const PtImageGridModel *m,
                int                     width,
                int                     height)
{
  Layout l = { 0, 0, 0 };
  int cols = MAX (1, m->cols);

  l.rows = (m->n + cols - 1) / cols;
  l.x0 = m->row_titles ? TITLE_W : 0;
  if (l.rows == 0)
    return l;
  l.cell = MIN ((width - l.x0 - GAP * (cols - 1)) / (double) cols,
                (height - GAP * (l.rows - 1)) / (double) l.rows);
  l.cell = MAX (l.cell, 1.0);
  return l;
}

void
pt_image_grid_draw (cairo_t       *cr,
                    int            width,
                    int            height,
                    gconstpointer  model)
{
  const PtImageGridModel *m = model;
  Layout l = compute_layout (m, width, height);
  int cols = MAX (1, m->cols);
  cairo_surface_t *s;
  guint8 *data;
  int stride;
  gsize plane = (gsize) m->h * m->w;

  if (m->n <= 0 || m->images == NULL)
    return;

  cairo_save (cr);
  s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, m->w, m->h);
  data = cairo_image_surface_get_data (s);
  stride = cairo_image_surface_get_stride (s);

  for (int i = 0; i < m->n; i++)
    {
      const float *img = m->images + (gsize) i * m->c * plane;
      int r = i / cols, c = i % cols;
      double x = l.x0 + c * (l.cell + GAP), y = r * (l.cell + GAP);

      cairo_surface_flush (s);
      for (int yy = 0; yy < m->h; yy++)
        for (int xx = 0; xx < m->w; xx++)
          {
            gsize p = (gsize) yy * m->w + xx;
            guint8 v[3];
            for (int k = 0; k < 3; k++)
              {
                float f = img[(m->c == 3 ? k * plane : 0) + p];
                v[k] = (guint8) lrintf (CLAMP (isfinite (f) ? f : 0.0f, 0.0f, 1.0f) * 255.0f);
              }
            *(guint32 *) (data + yy * stride + xx * 4) = 0xff000000u | (v[0] << 16) | (v[1] << 8) | v[2];
          }
      cairo_surface_mark_dirty (s);

      cairo_save (cr);
      cairo_translate (cr, x, y);
      cairo_scale (cr, l.cell / m->w, l.cell / m->h);
      cairo_set_source_surface (cr, s, 0, 0);
      cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
      cairo_rectangle (cr, 0, 0, m->w, m->h);
      cairo_fill (cr);
      cairo_restore (cr);
    }
  cairo_surface_destroy (s);

  if (m->row_titles)
    {
      cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, 11);
      gdk_cairo_set_source_rgba (cr, &m->fg);
      for (int r = 0; r < l.rows; r++)
        if (m->row_titles[r])
          pt_plot_text (cr, l.x0 - 8, r * (l.cell + GAP) + l.cell / 2, 1.0, m->row_titles[r]);
    }
  cairo_restore (cr);
}

int
pt_image_grid_image_at (const PtImageGridModel *m,
                        int                     width,
                        int                     height,
                        double                  x,
                        double                  y)
{
  Layout l = compute_layout (m, width, height);
  int cols = MAX (1, m->cols), r, c, i;

  if (l.rows == 0 || x < l.x0 || y < 0)
    return -1;
  c = (int) ((x - l.x0) / (l.cell + GAP));
  r = (int) (y / (l.cell + GAP));
  if (c >= cols || r >= l.rows)
    return -1;
  if (x - l.x0 - c * (l.cell + GAP) > l.cell || y - r * (l.cell + GAP) > l.cell)
    return -1;
  i = r * cols + c;
  return i < m->n ? i : -1;
}

struct _PtImageGrid
{
  GtkWidget  parent_instance;

  int        n, c, h, w, cols;
  float     *images;
  GStrv      row_titles;
};

G_DEFINE_FINAL_TYPE (PtImageGrid, pt_image_grid, GTK_TYPE_WIDGET)

static void
pt_image_grid_fill_model (PtImageGrid      *self,
                          PtImageGridModel *m,
                          const GdkRGBA    *fg)
{
  *m = (PtImageGridModel) { self->n, self->c, self->h, self->w, self->images, self->cols,
                            (const char * const *) self->row_titles, *fg };
}

static void
pt_image_grid_snapshot (GtkWidget   *widget,
                        GtkSnapshot *snapshot)
{
  PtImageGrid *self = PT_IMAGE_GRID (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  PtImageGridModel m;
  GdkRGBA fg;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  pt_image_grid_fill_model (self, &m, &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  pt_image_grid_draw (cr, w, h, &m);
  cairo_destroy (cr);
}

static GtkSizeRequestMode
pt_image_grid_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
pt_image_grid_measure (GtkWidget      *widget,
                       GtkOrientation  orientation,
                       int             for_size,
                       int            *minimum,
                       int            *natural,
                       int            *minimum_baseline,
                       int            *natural_baseline)
{
  PtImageGrid *self = PT_IMAGE_GRID (widget);
  int cols = MAX (1, self->cols);
  int rows = self->n > 0 ? (self->n + cols - 1) / cols : 0;
  double x0 = self->row_titles ? TITLE_W : 0;

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = (int) x0 + cols * 16;
      *natural = (int) x0 + cols * 72;
    }
  else
    {
      double cell = for_size > 0 ? (for_size - x0 - GAP * (cols - 1)) / cols : 72;
      cell = CLAMP (cell, 8, 160);
      *minimum = *natural = rows > 0 ? (int) ceil (rows * cell + (rows - 1) * GAP) : 0;
    }
}

static void
pt_image_grid_finalize (GObject *object)
{
  PtImageGrid *self = PT_IMAGE_GRID (object);

  g_free (self->images);
  g_strfreev (self->row_titles);
  G_OBJECT_CLASS (pt_image_grid_parent_class)->finalize (object);
}

static void
pt_image_grid_class_init (PtImageGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_image_grid_finalize;
  widget_class->snapshot = pt_image_grid_snapshot;
  widget_class->measure = pt_image_grid_measure;
  widget_class->get_request_mode = pt_image_grid_get_request_mode;
  gtk_widget_class_set_css_name (widget_class, "imagegrid");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pt_image_grid_init (PtImageGrid *self)
{
  self->cols = 8;
}

GtkWidget *
pt_image_grid_new (void)
{
  return g_object_new (PT_TYPE_IMAGE_GRID, NULL);
}

void
pt_image_grid_set_images (PtImageGrid        *self,
                          int                 n,
                          int                 c,
                          int                 h,
                          int                 w,
                          const float        *images,
                          int                 cols,
                          const char * const *row_titles)
{
  int rows;

  g_return_if_fail (PT_IS_IMAGE_GRID (self));
  g_return_if_fail (n >= 0 && (n == 0 || (images != NULL && (c == 1 || c == 3) && h > 0 && w > 0)));

  g_clear_pointer (&self->images, g_free);
  g_clear_pointer (&self->row_titles, g_strfreev);
  self->n = n;
  self->c = c;
  self->h = h;
  self->w = w;
  self->cols = MAX (1, cols);
  if (n > 0)
    self->images = g_memdup2 (images, sizeof (float) * n * c * h * w);
  rows = n > 0 ? (n + self->cols - 1) / self->cols : 0;
  if (row_titles)
    {
      self->row_titles = g_new0 (char *, rows + 1);
      for (int r = 0; r < rows; r++)
        self->row_titles[r] = g_strdup (row_titles[r]);
    }
  gtk_widget_queue_resize (GTK_WIDGET (self));
}

int
pt_image_grid_get_n_images (PtImageGrid *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_GRID (self), 0);
  return self->n;
}

gboolean
pt_image_grid_export (PtImageGrid  *self,
                      const char   *path,
                      int           width,
                      int           height,
                      GError      **error)
{
  GdkRGBA fg = { 0.1, 0.1, 0.1, 1 };
  PtImageGridModel m;

  g_return_val_if_fail (PT_IS_IMAGE_GRID (self), FALSE);
  pt_image_grid_fill_model (self, &m, &fg);
  return pt_plot_export (pt_image_grid_draw, &m, width, height, path, error);
}
