/* pt-line-plot.c: live curves with axes, legend, markers and a threshold. */
#include <math.h>
#include <glib/gi18n.h>

#include "pt-line-plot.h"
#include "pt-plot-util.h"

#define PAD_LEFT 56
#define PAD_RIGHT 14
#define PAD_TOP 26
#define PAD_BOTTOM 34

void
pt_line_plot_get_area (const PtLinePlotModel *model,
                       int                    width,
                       int                    height,
                       double                *x0,
                       double                *y0,
                       double                *x1,
                       double                *y1)
{
  *x0 = PAD_LEFT;
  *y0 = PAD_TOP;
  *x1 = MAX (PAD_LEFT + 10, width - PAD_RIGHT);
  *y1 = MAX (PAD_TOP + 10, height - PAD_BOTTOM);
}

static double
tr_y (const PtLinePlotModel *m,
      double                 y)
{
  return m->log_y ? log10 (MAX (y, 1e-12)) : y;
}

static double
tr_x (const PtLinePlotModel *m,
      double                 x)
{
  return m->log_x ? log10 (MAX (x, 1e-12)) : x;
}

static void
data_range (const PtLinePlotModel *m,
            double                *xmin,
            double                *xmax,
            double                *ymin,
            double                *ymax)
{
  *xmin = *ymin = INFINITY;
  *xmax = *ymax = -INFINITY;
  for (guint s = 0; s < m->n_series; s++)
    for (guint i = 0; i < m->series[s].n; i++)
      {
        double x = m->series[s].x[i], y = m->series[s].y[i];
        if (!isfinite (x) || !isfinite (y) || (m->log_y && y <= 0) || (m->log_x && x <= 0))
          continue;
        *xmin = MIN (*xmin, tr_x (m, x));
        *xmax = MAX (*xmax, tr_x (m, x));
        *ymin = MIN (*ymin, tr_y (m, y));
        *ymax = MAX (*ymax, tr_y (m, y));
      }
  if (isfinite (m->threshold))
    {
      *ymin = MIN (*ymin, tr_y (m, m->threshold));
      *ymax = MAX (*ymax, tr_y (m, m->threshold));
    }
  if (!isfinite (*xmin))
    {
      *xmin = 0;
      *xmax = 1;
    }
  if (isfinite (m->y_min) && isfinite (m->y_max) && m->y_max > m->y_min)
    {
      *ymin = tr_y (m, m->y_min);
      *ymax = tr_y (m, m->y_max);
      return;
    }
  if (!isfinite (*ymin))
    {
      *ymin = 0;
      *ymax = 1;
    }
  if (*xmax <= *xmin)
    *xmax = *xmin + 1;
  if (*ymax <= *ymin)
    {
      double d = fabs (*ymin) > 0 ? fabs (*ymin) * 0.1 : 1;
      *ymin -= d;
      *ymax += d;
    }
  else
    {
      double pad = (*ymax - *ymin) * 0.05;
      *ymin -= pad;
      *ymax += pad;
    }
}

static void
format_tick (char   *buf,
             gsize   size,
             double  v,
             gboolean log_y)
{
  if (log_y)
    v = pow (10, v);
  if (log_y && v >= 1 && v < 1e7 && fabs (v - round (v)) < 1e-6)
    g_snprintf (buf, size, "%.0f", v);
  else if (v != 0 && fabs (v) >= 1e5)
    g_snprintf (buf, size, "%.1e", v);
  else
    g_snprintf (buf, size, "%.3g", v);
}

void
pt_line_plot_draw (cairo_t       *cr,
                   int            width,
                   int            height,
                   gconstpointer  model_ptr)
{
  const PtLinePlotModel *m = model_ptr;
  double x0, y0, x1, y1, xmin, xmax, ymin, ymax;
  double ticks[12];
  guint n;
  GdkRGBA grid = m->fg;

  pt_line_plot_get_area (m, width, height, &x0, &y0, &x1, &y1);
  data_range (m, &xmin, &xmax, &ymin, &ymax);

#define SX(x) (x0 + (tr_x (m, x) - xmin) / (xmax - xmin) * (x1 - x0))
#define SY(y) (y1 - ((y) - ymin) / (ymax - ymin) * (y1 - y0))

  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, 11);

  /* Grid and tick labels. */
  grid.alpha = 0.12;
  n = pt_plot_nice_ticks (ymin, ymax, 6, ticks);
  for (guint i = 0; i < n; i++)
    {
      char buf[32];
      gdk_cairo_set_source_rgba (cr, &grid);
      cairo_set_line_width (cr, 1);
      cairo_move_to (cr, x0, floor (SY (ticks[i])) + 0.5);
      cairo_line_to (cr, x1, floor (SY (ticks[i])) + 0.5);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, ticks[i], m->log_y);
      gdk_cairo_set_source_rgba (cr, &m->fg);
      pt_plot_text (cr, x0 - 6, SY (ticks[i]), 1.0, buf);
    }
  n = 0;
  if (m->log_x)
    /* Decades, when the range spans at least two. */
    for (double d = ceil (xmin - 1e-9); d <= xmax + 1e-9 && n < G_N_ELEMENTS (ticks); d++)
      ticks[n++] = d;
  if (n < 2)
    n = pt_plot_nice_ticks (xmin, xmax, 7, ticks);
  for (guint i = 0; i < n; i++)
    {
      char buf[32];
      /* ticks are in the transformed space */
      double px = x0 + (ticks[i] - xmin) / (xmax - xmin) * (x1 - x0);

      gdk_cairo_set_source_rgba (cr, &grid);
      cairo_move_to (cr, floor (px) + 0.5, y0);
      cairo_line_to (cr, floor (px) + 0.5, y1);
      cairo_stroke (cr);
      format_tick (buf, sizeof buf, ticks[i], m->log_x);
      gdk_cairo_set_source_rgba (cr, &m->fg);
      pt_plot_text (cr, px, y1 + 12, 0.5, buf);
    }

  /* Axes box. */
  grid.alpha = 0.35;
  gdk_cairo_set_source_rgba (cr, &grid);
  cairo_rectangle (cr, x0 + 0.5, y0 + 0.5, x1 - x0 - 1, y1 - y0 - 1);
  cairo_stroke (cr);

  if (m->x_label)
    {
      gdk_cairo_set_source_rgba (cr, &m->fg);
      pt_plot_text (cr, (x0 + x1) / 2, y1 + 26, 0.5, m->x_label);
    }

  cairo_save (cr);
  cairo_rectangle (cr, x0, y0, x1 - x0, y1 - y0);
  cairo_clip (cr);

  /* Threshold line (for example the collapse level). */
  if (isfinite (m->threshold))
    {
      GdkRGBA warn = { 0.88, 0.11, 0.14, 0.8 };
      double dash[] = { 4, 3 };
      gdk_cairo_set_source_rgba (cr, &warn);
      cairo_set_dash (cr, dash, 2, 0);
      cairo_move_to (cr, x0, SY (tr_y (m, m->threshold)));
      cairo_line_to (cr, x1, SY (tr_y (m, m->threshold)));
      cairo_stroke (cr);
      cairo_set_dash (cr, NULL, 0, 0);
      if (m->threshold_label)
        pt_plot_text (cr, x1 - 4, SY (tr_y (m, m->threshold)) - 8, 1.0, m->threshold_label);
    }

  /* Event markers. */
  for (guint i = 0; i < m->n_markers; i++)
    {
      GdkRGBA mk = { 0.90, 0.38, 0.0, 0.9 };
      double mx = SX (m->markers[i].x);
      gdk_cairo_set_source_rgba (cr, &mk);
      cairo_set_line_width (cr, 1.5);
      cairo_move_to (cr, floor (mx) + 0.5, y0);
      cairo_line_to (cr, floor (mx) + 0.5, y1);
      cairo_stroke (cr);
      if (m->markers[i].label)
        pt_plot_text (cr, mx + 3, y0 + 10 + 12 * (i % 3), 0.0, m->markers[i].label);
    }

  /* Series. Dense series are drawn as one min/max pair per pixel column,
   * so a 100,000-step curve costs what the screen shows. */
  for (guint s = 0; s < m->n_series; s++)
    {
      const PtPlotSeries *ser = &m->series[s];
      gboolean started = FALSE;

      gdk_cairo_set_source_rgba (cr, &ser->color);
      cairo_set_line_width (cr, 1.6);
      cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);

      if (ser->points)
        {
          for (guint i = 0; i < ser->n; i++)
            if (isfinite (ser->y[i]) && (!m->log_y || ser->y[i] > 0))
              {
                cairo_arc (cr, SX (ser->x[i]), SY (tr_y (m, ser->y[i])), 3, 0, 2 * G_PI);
                cairo_fill (cr);
              }
        }

      if (ser->n > 2 * (guint) (x1 - x0))
        {
          double col = -1, lo = 0, hi = 0;
          for (guint i = 0; i <= ser->n; i++)
            {
              double px = i < ser->n ? floor (SX (ser->x[i])) : -2;
              double py = i < ser->n ? SY (tr_y (m, ser->y[i])) : 0;
              gboolean ok = i < ser->n && isfinite (ser->y[i]) && (!m->log_y || ser->y[i] > 0);

              if (i == ser->n || (ok && px != col))
                {
                  if (col >= 0)
                    {
                      if (!started)
                        cairo_move_to (cr, col, lo);
                      else
                        cairo_line_to (cr, col, lo);
                      cairo_line_to (cr, col, hi);
                      started = TRUE;
                    }
                  col = px;
                  lo = hi = py;
                }
              else if (ok)
                {
                  lo = MIN (lo, py);
                  hi = MAX (hi, py);
                }
            }
        }
      else
        for (guint i = 0; i < ser->n; i++)
          {
            if (!isfinite (ser->y[i]) || (m->log_y && ser->y[i] <= 0))
              {
                started = FALSE;
                continue;
              }
            if (!started)
              cairo_move_to (cr, SX (ser->x[i]), SY (tr_y (m, ser->y[i])));
            else
              cairo_line_to (cr, SX (ser->x[i]), SY (tr_y (m, ser->y[i])));
            started = TRUE;
          }
      cairo_stroke (cr);
    }
  cairo_restore (cr);

  /* Title and legend on the top line. */
  {
    double lx = x0;
    if (m->title)
      {
        cairo_set_font_size (cr, 12);
        cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
        gdk_cairo_set_source_rgba (cr, &m->fg);
        pt_plot_text (cr, lx, 12, 0.0, m->title);
        {
          cairo_text_extents_t ext;
          cairo_text_extents (cr, m->title, &ext);
          lx += ext.x_advance + 16;
        }
        cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size (cr, 11);
      }
    for (guint s = 0; s < m->n_series && m->n_series > 1; s++)
      {
        cairo_text_extents_t ext;
        gdk_cairo_set_source_rgba (cr, &m->series[s].color);
        cairo_rectangle (cr, lx, 8, 10, 6);
        cairo_fill (cr);
        gdk_cairo_set_source_rgba (cr, &m->fg);
        pt_plot_text (cr, lx + 14, 12, 0.0, m->series[s].name);
        cairo_text_extents (cr, m->series[s].name, &ext);
        lx += ext.x_advance + 28;
      }
  }

  cairo_restore (cr);
#undef SX
#undef SY
}

typedef struct {
  char    *name;
  GdkRGBA  color;
  gboolean points;
  GArray  *x;
  GArray  *y;
} Series;

typedef struct {
  double  x;
  char   *label;
} Marker;

struct _PtLinePlot
{
  GtkWidget  parent_instance;

  char      *title;
  char      *x_label;
  GArray    *series;    /* Series */
  GArray    *markers;   /* Marker */
  double     threshold;
  char      *threshold_label;
  gboolean   log_y;
  gboolean   log_x;
  double     y_min, y_max;
};

G_DEFINE_FINAL_TYPE (PtLinePlot, pt_line_plot, GTK_TYPE_WIDGET)

static void
series_clear (gpointer data)
{
  Series *s = data;
  g_free (s->name);
  g_array_unref (s->x);
  g_array_unref (s->y);
}

static void
marker_clear (gpointer data)
{
  g_free (((Marker *) data)->label);
}

/* Fills a model whose arrays point into the widget; free with g_free (series/markers). */
static void
pt_line_plot_fill_model (PtLinePlot      *self,
                         PtLinePlotModel *m,
                         GdkRGBA         *fg)
{
  PtPlotSeries *series = g_new0 (PtPlotSeries, MAX (1, self->series->len));
  PtPlotMarker *markers = g_new0 (PtPlotMarker, MAX (1, self->markers->len));

  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = &g_array_index (self->series, Series, i);
      series[i] = (PtPlotSeries) { s->name, s->color, (double *) (gpointer) s->x->data,
                                   (double *) (gpointer) s->y->data, s->x->len, s->points };
    }
  for (guint i = 0; i < self->markers->len; i++)
    {
      Marker *mk = &g_array_index (self->markers, Marker, i);
      markers[i] = (PtPlotMarker) { mk->x, mk->label };
    }
  *m = (PtLinePlotModel) {
    .n_series = self->series->len, .series = series, .n_markers = self->markers->len,
    .markers = markers, .title = self->title, .x_label = self->x_label, .log_y = self->log_y, .log_x = self->log_x,
    .threshold = self->threshold, .threshold_label = self->threshold_label, .fg = *fg,
    .y_min = self->y_min, .y_max = self->y_max,
  };
}

static void
free_model (PtLinePlotModel *m)
{
  g_free ((gpointer) m->series);
  g_free ((gpointer) m->markers);
}

static void
pt_line_plot_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  PtLinePlot *self = PT_LINE_PLOT (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  PtLinePlotModel m;
  GdkRGBA fg;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  pt_line_plot_fill_model (self, &m, &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  pt_line_plot_draw (cr, w, h, &m);
  cairo_destroy (cr);
  free_model (&m);
}

static void
pt_line_plot_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  *minimum = orientation == GTK_ORIENTATION_HORIZONTAL ? 200 : 140;
  *natural = orientation == GTK_ORIENTATION_HORIZONTAL ? 420 : 220;
}

static void
pt_line_plot_finalize (GObject *object)
{
  PtLinePlot *self = PT_LINE_PLOT (object);

  g_free (self->title);
  g_free (self->x_label);
  g_free (self->threshold_label);
  g_array_unref (self->series);
  g_array_unref (self->markers);
  G_OBJECT_CLASS (pt_line_plot_parent_class)->finalize (object);
}

static void
pt_line_plot_class_init (PtLinePlotClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_line_plot_finalize;
  widget_class->snapshot = pt_line_plot_snapshot;
  widget_class->measure = pt_line_plot_measure;
  gtk_widget_class_set_css_name (widget_class, "lineplot");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pt_line_plot_init (PtLinePlot *self)
{
  self->series = g_array_new (FALSE, TRUE, sizeof (Series));
  g_array_set_clear_func (self->series, series_clear);
  self->markers = g_array_new (FALSE, TRUE, sizeof (Marker));
  g_array_set_clear_func (self->markers, marker_clear);
  self->threshold = NAN;
  self->y_min = self->y_max = NAN;
}

GtkWidget *
pt_line_plot_new (const char *title,
                  const char *x_label)
{
  PtLinePlot *self = g_object_new (PT_TYPE_LINE_PLOT, NULL);

  self->title = g_strdup (title);
  self->x_label = g_strdup (x_label);
  return GTK_WIDGET (self);
}

guint
pt_line_plot_add_series (PtLinePlot    *self,
                         const char    *name,
                         const GdkRGBA *color,
                         gboolean       points)
{
  Series s = { 0 };

  g_return_val_if_fail (PT_IS_LINE_PLOT (self), 0);

  s.name = g_strdup (name);
  if (color)
    s.color = *color;
  else
    pt_plot_category_color (self->series->len, &s.color);
  s.points = points;
  s.x = g_array_new (FALSE, FALSE, sizeof (double));
  s.y = g_array_new (FALSE, FALSE, sizeof (double));
  g_array_append_val (self->series, s);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  return self->series->len - 1;
}

guint
pt_line_plot_ensure_series (PtLinePlot *self,
                            const char *name)
{
  g_return_val_if_fail (PT_IS_LINE_PLOT (self), 0);

  for (guint i = 0; i < self->series->len; i++)
    if (g_strcmp0 (g_array_index (self->series, Series, i).name, name) == 0)
      return i;
  return pt_line_plot_add_series (self, name, NULL, FALSE);
}

void
pt_line_plot_append (PtLinePlot *self,
                     guint       series,
                     double      x,
                     double      y)
{
  Series *s;

  g_return_if_fail (PT_IS_LINE_PLOT (self));
  g_return_if_fail (series < self->series->len);

  s = &g_array_index (self->series, Series, series);
  g_array_append_val (s->x, x);
  g_array_append_val (s->y, y);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
pt_line_plot_get_n_series (PtLinePlot *self)
{
  g_return_val_if_fail (PT_IS_LINE_PLOT (self), 0);
  return self->series->len;
}

guint
pt_line_plot_get_n_points (PtLinePlot *self,
                           guint       series)
{
  g_return_val_if_fail (PT_IS_LINE_PLOT (self), 0);
  g_return_val_if_fail (series < self->series->len, 0);
  return g_array_index (self->series, Series, series).x->len;
}

void
pt_line_plot_add_marker (PtLinePlot *self,
                         double      x,
                         const char *label)
{
  Marker mk = { x, g_strdup (label) };

  g_return_if_fail (PT_IS_LINE_PLOT (self));
  g_array_append_val (self->markers, mk);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
pt_line_plot_get_n_markers (PtLinePlot *self)
{
  g_return_val_if_fail (PT_IS_LINE_PLOT (self), 0);
  return self->markers->len;
}

void
pt_line_plot_set_threshold (PtLinePlot *self,
                            double      y,
                            const char *label)
{
  g_return_if_fail (PT_IS_LINE_PLOT (self));

  self->threshold = y;
  g_free (self->threshold_label);
  self->threshold_label = g_strdup (label);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_line_plot_set_y_range (PtLinePlot *self,
                          double      y_min,
                          double      y_max)
{
  g_return_if_fail (PT_IS_LINE_PLOT (self));

  self->y_min = y_min;
  self->y_max = y_max;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_line_plot_set_log_y (PtLinePlot *self,
                        gboolean    log_y)
{
  g_return_if_fail (PT_IS_LINE_PLOT (self));

  self->log_y = !!log_y;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_line_plot_set_log_x (PtLinePlot *self,
                        gboolean    log_x)
{
  g_return_if_fail (PT_IS_LINE_PLOT (self));

  self->log_x = !!log_x;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_line_plot_clear (PtLinePlot *self)
{
  g_return_if_fail (PT_IS_LINE_PLOT (self));

  for (guint i = 0; i < self->series->len; i++)
    {
      Series *s = &g_array_index (self->series, Series, i);
      g_array_set_size (s->x, 0);
      g_array_set_size (s->y, 0);
    }
  g_array_set_size (self->markers, 0);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

gboolean
pt_line_plot_export (PtLinePlot  *self,
                     const char  *path,
                     int          width,
                     int          height,
                     GError     **error)
{
  GdkRGBA fg = { 0.1, 0.1, 0.1, 1 };
  PtLinePlotModel m;
  gboolean ok;

  g_return_val_if_fail (PT_IS_LINE_PLOT (self), FALSE);

  /* Exports are for documents: dark ink on the white page, whatever the theme. */
  pt_line_plot_fill_model (self, &m, &fg);
  ok = pt_plot_export (pt_line_plot_draw, &m, width, height, path, error);
  free_model (&m);
  return ok;
}
