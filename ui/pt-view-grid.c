/* pt-view-grid.c: source images with their augmented views side by side. */
#include <math.h>
#include <glib/gi18n.h>

#include "pt-view-grid.h"

#define MARGIN 8
#define GAP 10
#define MAX_VIEW_SCALE 1.0

/* GNOME palette: blue, orange, green, purple, red, yellow, brown, teal. */
static const GdkRGBA palette[] = {
  { 0.21, 0.52, 0.89, 1 }, { 0.90, 0.38, 0.00, 1 }, { 0.20, 0.82, 0.48, 1 },
  { 0.57, 0.25, 0.67, 1 }, { 0.88, 0.11, 0.14, 1 }, { 0.96, 0.83, 0.18, 1 },
  { 0.60, 0.40, 0.20, 1 }, { 0.13, 0.62, 0.64, 1 },
};

void
pt_view_grid_view_color (guint    v,
                         GdkRGBA *color)
{
  *color = palette[v % G_N_ELEMENTS (palette)];
}

static double
view_side (const PtViewGridModel *model,
           const PtViewGridRow   *row,
           guint                  v)
{
  double s = (double) row->records[v].out_width / MAX (1, row->w);

  return model->cell * CLAMP (s, 0.1, MAX_VIEW_SCALE);
}

/* Views larger than the source are capped to the row (MAX_VIEW_SCALE >= 1
 * only widens them); a row is one source image high. */
static double
row_height (const PtViewGridModel *model)
{
  return model->cell;
}

/* x of view v in a row (v = -1: the source). */
static double
view_x (const PtViewGridModel *model,
        const PtViewGridRow   *row,
        int                    v)
{
  double x = MARGIN;

  if (v < 0)
    return x;
  x += model->cell + 2 * GAP;
  for (int i = 0; i < v; i++)
    x += view_side (model, row, i) + GAP;
  return x;
}

void
pt_view_grid_get_size (const PtViewGridModel *model,
                       int                   *width,
                       int                   *height)
{
  double w = 0;

  for (guint r = 0; r < model->n_rows; r++)
    {
      const PtViewGridRow *row = &model->rows[r];
      double end = view_x (model, row, (int) row->n_views) + 70;   /* room for the similarity */
      w = MAX (w, end);
    }
  *width = (int) ceil (w + MARGIN);
  *height = (int) ceil (2 * MARGIN + model->n_rows * (row_height (model) + GAP));
}

static cairo_surface_t *
surface_from_u8 (const guint8 *img, int c, int h, int w)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  gsize plane = (gsize) h * w;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        gsize i = (gsize) y * w + x;
        guint8 r = img[i], g = img[(c == 3 ? plane : 0) + i], b = img[(c == 3 ? 2 * plane : 0) + i];
        *(guint32 *) (data + y * stride + x * 4) = 0xff000000u | (r << 16) | (g << 8) | b;
      }
  cairo_surface_mark_dirty (s);
  return s;
}

static cairo_surface_t *
surface_from_float (const float *img, int c, int h, int w)
{
  cairo_surface_t *s = cairo_image_surface_create (CAIRO_FORMAT_RGB24, w, h);
  guint8 *data = cairo_image_surface_get_data (s);
  int stride = cairo_image_surface_get_stride (s);
  gsize plane = (gsize) h * w;

  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      {
        gsize i = (gsize) y * w + x;
        guint8 v[3];
        for (int k = 0; k < 3; k++)
          {
            float f = img[(c == 3 ? k * plane : 0) + i];
            v[k] = (guint8) lrintf (CLAMP (f, 0.0f, 1.0f) * 255.0f);
          }
        *(guint32 *) (data + y * stride + x * 4) = 0xff000000u | (v[0] << 16) | (v[1] << 8) | v[2];
      }
  cairo_surface_mark_dirty (s);
  return s;
}

static void
paint_surface (cairo_t         *cr,
               cairo_surface_t *s,
               double           x,
               double           y,
               double           side_w,
               double           side_h)
{
  int w = cairo_image_surface_get_width (s);
  int h = cairo_image_surface_get_height (s);

  cairo_save (cr);
  cairo_translate (cr, x, y);
  cairo_scale (cr, side_w / w, side_h / h);
  cairo_set_source_surface (cr, s, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, w, h);
  cairo_fill (cr);
  cairo_restore (cr);
}

void
pt_view_grid_draw (cairo_t               *cr,
                   const PtViewGridModel *model)
{
  double rh = row_height (model);

  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 12);

  for (guint r = 0; r < model->n_rows; r++)
    {
      const PtViewGridRow *row = &model->rows[r];
      double y = MARGIN + r * (rh + GAP);
      double scale = (double) model->cell / MAX (1, row->w);
      cairo_surface_t *src = surface_from_u8 (row->image, row->c, row->h, row->w);

      paint_surface (cr, src, MARGIN, y, model->cell, model->cell * row->h / (double) MAX (1, row->w));
      cairo_surface_destroy (src);

      /* Crop boxes of the views, each in its colour. */
      for (guint v = 0; v < row->n_views; v++)
        {
          const PtViewRecord *rec = &row->records[v];
          GdkRGBA c;

          if (rec->crop_w <= 0 || rec->crop_h <= 0)
            continue;
          pt_view_grid_view_color (v, &c);
          gdk_cairo_set_source_rgba (cr, &c);
          cairo_set_line_width (cr, 2.0);
          cairo_rectangle (cr, MARGIN + rec->crop_x * scale + 1, y + rec->crop_y * scale + 1,
                           MAX (1.0, rec->crop_w * scale - 2), MAX (1.0, rec->crop_h * scale - 2));
          cairo_stroke (cr);
        }

      /* The views, framed in their colour. */
      for (guint v = 0; v < row->n_views; v++)
        {
          const PtViewRecord *rec = &row->records[v];
          double x = view_x (model, row, (int) v);
          double side = view_side (model, row, v);
          double vy = y + (model->cell - side) / 2;
          cairo_surface_t *s = surface_from_float (row->views[v], rec->out_channels,
                                                   rec->out_height, rec->out_width);
          GdkRGBA c;

          paint_surface (cr, s, x, vy, side, side * rec->out_height / (double) MAX (1, rec->out_width));
          cairo_surface_destroy (s);
          pt_view_grid_view_color (v, &c);
          gdk_cairo_set_source_rgba (cr, &c);
          cairo_set_line_width (cr, 3.0);
          cairo_move_to (cr, x, vy + side + 3);
          cairo_line_to (cr, x + side, vy + side + 3);
          cairo_stroke (cr);
        }

      if (!isnan (row->similarity))
        {
          char buf[32];

          g_snprintf (buf, sizeof buf, "cos %.2f", row->similarity);
          gdk_cairo_set_source_rgba (cr, &model->text_color);
          cairo_move_to (cr, view_x (model, row, (int) row->n_views) + 4, y + model->cell / 2.0 + 4);
          cairo_show_text (cr, buf);
        }
    }
  cairo_restore (cr);
}

gboolean
pt_view_grid_hit (const PtViewGridModel *model,
                  double                 x,
                  double                 y,
                  guint                 *row_out,
                  int                   *view_out)
{
  double rh = row_height (model);
  double yy = y - MARGIN;
  guint r;
  const PtViewGridRow *row;

  if (yy < 0 || model->n_rows == 0)
    return FALSE;
  r = (guint) (yy / (rh + GAP));
  if (r >= model->n_rows || yy - r * (rh + GAP) > rh)
    return FALSE;
  row = &model->rows[r];

  if (x >= MARGIN && x < MARGIN + model->cell)
    {
      *row_out = r;
      *view_out = -1;
      return TRUE;
    }
  for (guint v = 0; v < row->n_views; v++)
    {
      double vx = view_x (model, row, (int) v);
      if (x >= vx && x < vx + view_side (model, row, v))
        {
          *row_out = r;
          *view_out = (int) v;
          return TRUE;
        }
    }
  return FALSE;
}

/* The tooltip of a view: its number and size, then what it drew
 * (pt_view_record_describe() of the pipeline itself). */
char *
pt_view_grid_describe_view (const PtViewRecord *rec)
{
  g_autofree char *drew = pt_view_record_describe (rec);

  /* TRANSLATORS: view number, then its size in pixels */
  return g_strdup_printf (_("View %u · %d × %d\n%s"), rec->view + 1, rec->out_width, rec->out_height, drew);
}

/* The widget keeps its own copy of everything it draws. */
typedef struct {
  guint8       *image;
  int           c, h, w;
  guint         n_views;
  float       **views;
  PtViewRecord *records;
  double        similarity;
} RowCopy;

struct _PtViewGrid
{
  GtkWidget      parent_instance;

  GArray        *rows;       /* RowCopy */
  PtViewGridRow *view_rows;  /* pointers into rows, for the model */
  int            cell;
};

G_DEFINE_FINAL_TYPE (PtViewGrid, pt_view_grid, GTK_TYPE_WIDGET)

static void
row_copy_clear (gpointer data)
{
  RowCopy *r = data;

  g_free (r->image);
  for (guint v = 0; v < r->n_views; v++)
    g_free (r->views[v]);
  g_free (r->views);
  g_free (r->records);
}

/* The largest cell (up to self->cell) at which the widest row fits width:
 * the grid grows with the window instead of leaving it empty. */
static int
pt_view_grid_cell_for_width (PtViewGrid *self,
                             int         width)
{
  PtViewGridModel probe = { .n_rows = self->rows->len, .rows = self->view_rows, .cell = 100 };
  int w100, h100, cell;

  if (width <= 0 || self->rows->len == 0)
    return self->cell;
  pt_view_grid_get_size (&probe, &w100, &h100);
  /* Width is affine in the cell: margins and gaps are fixed. */
  {
    PtViewGridModel probe2 = probe;
    int w200, h200;
    double per_cell, fixed;

    probe2.cell = 200;
    pt_view_grid_get_size (&probe2, &w200, &h200);
    per_cell = (w200 - w100) / 100.0;
    fixed = w100 - 100 * per_cell;
    cell = per_cell > 0 ? (int) floor ((width - fixed) / per_cell) : self->cell;
  }
  return CLAMP (cell, 32, self->cell);
}

static void
pt_view_grid_fill_model (PtViewGrid      *self,
                         PtViewGridModel *model)
{
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (self)), &model->text_color);
  model->n_rows = self->rows->len;
  model->rows = self->view_rows;
  model->cell = pt_view_grid_cell_for_width (self, gtk_widget_get_width (GTK_WIDGET (self)));
}

static void
pt_view_grid_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  PtViewGrid *self = PT_VIEW_GRID (widget);
  PtViewGridModel model;
  cairo_t *cr;

  pt_view_grid_fill_model (self, &model);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, gtk_widget_get_width (widget),
                                                                  gtk_widget_get_height (widget)));
  pt_view_grid_draw (cr, &model);
  cairo_destroy (cr);
}

static void
pt_view_grid_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  PtViewGrid *self = PT_VIEW_GRID (widget);
  PtViewGridModel model;
  int w, h;

  pt_view_grid_fill_model (self, &model);
  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      /* Natural: the largest cell; minimum: small cells. */
      model.cell = self->cell;
      pt_view_grid_get_size (&model, &w, &h);
      *natural = w;
      model.cell = 32;
      pt_view_grid_get_size (&model, &w, &h);
      *minimum = w;
    }
  else
    {
      model.cell = pt_view_grid_cell_for_width (self, for_size >= 0 ? for_size : G_MAXINT / 2);
      pt_view_grid_get_size (&model, &w, &h);
      *minimum = *natural = h;
    }
}

static GtkSizeRequestMode
pt_view_grid_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static gboolean
pt_view_grid_query_tooltip (GtkWidget  *widget,
                            int         x,
                            int         y,
                            gboolean    keyboard,
                            GtkTooltip *tooltip)
{
  PtViewGrid *self = PT_VIEW_GRID (widget);
  PtViewGridModel model;
  g_autofree char *text = NULL;
  guint row;
  int view;

  pt_view_grid_fill_model (self, &model);
  if (!pt_view_grid_hit (&model, x, y, &row, &view))
    return FALSE;
  if (view < 0)
    text = g_strdup (_("Source image; the boxes show where each view was cropped"));
  else
    text = pt_view_grid_describe_view (&model.rows[row].records[view]);
  gtk_tooltip_set_text (tooltip, text);
  return TRUE;
}

static void
pt_view_grid_finalize (GObject *object)
{
  PtViewGrid *self = PT_VIEW_GRID (object);

  g_array_unref (self->rows);
  g_free (self->view_rows);
  G_OBJECT_CLASS (pt_view_grid_parent_class)->finalize (object);
}

static void
pt_view_grid_class_init (PtViewGridClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_view_grid_finalize;
  widget_class->snapshot = pt_view_grid_snapshot;
  widget_class->measure = pt_view_grid_measure;
  widget_class->get_request_mode = pt_view_grid_get_request_mode;
  widget_class->query_tooltip = pt_view_grid_query_tooltip;
  gtk_widget_class_set_css_name (widget_class, "viewgrid");
}

static void
pt_view_grid_init (PtViewGrid *self)
{
  self->rows = g_array_new (FALSE, TRUE, sizeof (RowCopy));
  g_array_set_clear_func (self->rows, row_copy_clear);
  self->cell = 160;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
}

GtkWidget *
pt_view_grid_new (void)
{
  return g_object_new (PT_TYPE_VIEW_GRID, NULL);
}

void
pt_view_grid_set_rows (PtViewGrid          *self,
                       guint                n_rows,
                       const PtViewGridRow *rows)
{
  g_return_if_fail (PT_IS_VIEW_GRID (self));

  g_array_set_size (self->rows, 0);
  g_clear_pointer (&self->view_rows, g_free);
  self->view_rows = g_new0 (PtViewGridRow, MAX (1, n_rows));

  for (guint r = 0; r < n_rows; r++)
    {
      const PtViewGridRow *in = &rows[r];
      RowCopy copy = { 0 };

      copy.c = in->c;
      copy.h = in->h;
      copy.w = in->w;
      copy.image = g_memdup2 (in->image, (gsize) in->c * in->h * in->w);
      copy.n_views = in->n_views;
      copy.views = g_new0 (float *, MAX (1, in->n_views));
      copy.records = g_memdup2 (in->records, sizeof (PtViewRecord) * MAX (1, in->n_views));
      for (guint v = 0; v < in->n_views; v++)
        {
          const PtViewRecord *rec = &in->records[v];
          copy.views[v] = g_memdup2 (in->views[v], sizeof (float) * rec->out_channels * rec->out_height * rec->out_width);
        }
      copy.similarity = in->similarity;
      g_array_append_val (self->rows, copy);
    }

  for (guint r = 0; r < n_rows; r++)
    {
      RowCopy *c = &g_array_index (self->rows, RowCopy, r);

      self->view_rows[r] = (PtViewGridRow) {
        .image = c->image, .c = c->c, .h = c->h, .w = c->w, .n_views = c->n_views,
        .views = (const float * const *) c->views, .records = c->records, .similarity = c->similarity,
      };
    }

  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
pt_view_grid_set_similarities (PtViewGrid   *self,
                               guint         n,
                               const double *similarities)
{
  g_return_if_fail (PT_IS_VIEW_GRID (self));

  for (guint r = 0; r < self->rows->len; r++)
    {
      double s = similarities != NULL && r < n ? similarities[r] : NAN;

      g_array_index (self->rows, RowCopy, r).similarity = s;
      self->view_rows[r].similarity = s;
    }
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

double
pt_view_grid_get_similarity (PtViewGrid *self,
                             guint       row)
{
  g_return_val_if_fail (PT_IS_VIEW_GRID (self), NAN);
  return row < self->rows->len ? g_array_index (self->rows, RowCopy, row).similarity : NAN;
}

guint
pt_view_grid_get_n_rows (PtViewGrid *self)
{
  g_return_val_if_fail (PT_IS_VIEW_GRID (self), 0);
  return self->rows->len;
}

void
pt_view_grid_set_cell (PtViewGrid *self,
                       int         cell)
{
  g_return_if_fail (PT_IS_VIEW_GRID (self));

  cell = CLAMP (cell, 16, 512);
  if (cell == self->cell)
    return;
  self->cell = cell;
  gtk_widget_queue_resize (GTK_WIDGET (self));
}
