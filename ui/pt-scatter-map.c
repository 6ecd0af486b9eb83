/* pt-scatter-map.c: a 2-D map of embeddings coloured by class.
 *
 * Signal "point-activated" (index) on click. The "selected" property is the
 * activated point.
 */
#include <math.h>
#include <glib/gi18n.h>

#include "pt-plot-util.h"
#include "pt-scatter-map.h"

#define PAD 12
#define LEGEND_W 130

typedef struct {
  double xmin, xmax, ymin, ymax;
  double ox, oy, scale;
} View;

static View
compute_view (const PtScatterMapModel *m,
              int                      width,
              int                      height)
{
  View v = { INFINITY, -INFINITY, INFINITY, -INFINITY, 0, 0, 1 };
  double aw, ah, sx, sy;
  gboolean legend = m->n_classes > 0 && m->class_names != NULL;

  for (guint i = 0; i < m->n; i++)
    {
      float x = m->xy[2 * i], y = m->xy[2 * i + 1];
      if (!isfinite (x) || !isfinite (y))
        continue;
      v.xmin = MIN (v.xmin, x);
      v.xmax = MAX (v.xmax, x);
      v.ymin = MIN (v.ymin, y);
      v.ymax = MAX (v.ymax, y);
    }
  if (!isfinite (v.xmin))
    {
      v.xmin = v.ymin = -1;
      v.xmax = v.ymax = 1;
    }
  if (v.xmax - v.xmin < 1e-9)
    {
      v.xmin -= 1;
      v.xmax += 1;
    }
  if (v.ymax - v.ymin < 1e-9)
    {
      v.ymin -= 1;
      v.ymax += 1;
    }
  aw = MAX (10.0, width - 2 * PAD - (legend ? LEGEND_W : 0));
  ah = MAX (10.0, height - 2 * PAD);
  /* One scale for both axes: distances in the map mean the same both ways. */
  sx = aw / (v.xmax - v.xmin);
  sy = ah / (v.ymax - v.ymin);
  v.scale = MIN (sx, sy);
  v.ox = PAD + (aw - v.scale * (v.xmax - v.xmin)) / 2;
  v.oy = PAD + (ah - v.scale * (v.ymax - v.ymin)) / 2;
  return v;
}

void
pt_scatter_map_to_screen (const PtScatterMapModel *m,
                          int                      width,
                          int                      height,
                          guint                    i,
                          double                  *sx,
                          double                  *sy)
{
  View v = compute_view (m, width, height);

  *sx = v.ox + (m->xy[2 * i] - v.xmin) * v.scale;
  *sy = v.oy + (v.ymax - m->xy[2 * i + 1]) * v.scale;
}

void
pt_scatter_map_draw (cairo_t       *cr,
                     int            width,
                     int            height,
                     gconstpointer  model)
{
  const PtScatterMapModel *m = model;
  View v = compute_view (m, width, height);
  double r = m->n > 5000 ? 1.6 : m->n > 1000 ? 2.3 : 3.2;

  cairo_save (cr);

  for (guint i = 0; i < m->n; i++)
    {
      int label = m->labels ? m->labels[i] : -1;
      GdkRGBA c;
      double x = v.ox + (m->xy[2 * i] - v.xmin) * v.scale;
      double y = v.oy + (v.ymax - m->xy[2 * i + 1]) * v.scale;

      if (!isfinite (x) || !isfinite (y))
        continue;
      if (label >= 0)
        pt_plot_category_color ((guint) label, &c);
      else
        c = (GdkRGBA) { 0.5, 0.5, 0.5, 1 };
      c.alpha = 0.8;
      gdk_cairo_set_source_rgba (cr, &c);
      cairo_arc (cr, x, y, r, 0, 2 * G_PI);
      cairo_fill (cr);
    }

  /* Neighbours, then the selected point, ringed on top. */
  cairo_set_line_width (cr, 2);
  for (guint k = 0; m->highlight && k < m->n_highlight; k++)
    if (m->highlight[k] < m->n)
      {
        double x, y;
        pt_scatter_map_to_screen (m, width, height, m->highlight[k], &x, &y);
        cairo_set_source_rgb (cr, 0.90, 0.38, 0.0);
        cairo_arc (cr, x, y, r + 3, 0, 2 * G_PI);
        cairo_stroke (cr);
      }
  if (m->selected >= 0 && (guint) m->selected < m->n)
    {
      double x, y;
      pt_scatter_map_to_screen (m, width, height, (guint) m->selected, &x, &y);
      gdk_cairo_set_source_rgba (cr, &m->fg);
      cairo_set_line_width (cr, 2.5);
      cairo_arc (cr, x, y, r + 5, 0, 2 * G_PI);
      cairo_stroke (cr);
    }

  /* Legend. */
  if (m->n_classes > 0 && m->class_names != NULL)
    {
      double lx = width - LEGEND_W + 4;
      cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
      cairo_set_font_size (cr, 11);
      for (int k = 0; k < m->n_classes; k++)
        {
          GdkRGBA c;
          double ly = PAD + 8 + k * 18;
          pt_plot_category_color ((guint) k, &c);
          gdk_cairo_set_source_rgba (cr, &c);
          cairo_arc (cr, lx + 5, ly, 5, 0, 2 * G_PI);
          cairo_fill (cr);
          gdk_cairo_set_source_rgba (cr, &m->fg);
          pt_plot_text (cr, lx + 16, ly, 0.0, m->class_names[k] ? m->class_names[k] : "");
        }
    }
  cairo_restore (cr);
}

int
pt_scatter_map_point_at (const PtScatterMapModel *m,
                         int                      width,
                         int                      height,
                         double                   x,
                         double                   y,
                         double                   radius)
{
  View v = compute_view (m, width, height);
  double best = radius * radius;
  int found = -1;

  for (guint i = 0; i < m->n; i++)
    {
      double px = v.ox + (m->xy[2 * i] - v.xmin) * v.scale;
      double py = v.oy + (v.ymax - m->xy[2 * i + 1]) * v.scale;
      double d = (px - x) * (px - x) + (py - y) * (py - y);
      if (d <= best)
        {
          best = d;
          found = (int) i;
        }
    }
  return found;
}

struct _PtScatterMap
{
  GtkWidget           parent_instance;

  GArray             *xy;       /* float */
  GArray             *labels;   /* int */
  int                 n_classes;
  GStrv               class_names;
  int                 selected;
  GArray             *highlight; /* guint */
  PtScatterThumbFunc  thumb_func;
  gpointer            thumb_data;
  GDestroyNotify      thumb_destroy;
};

G_DEFINE_FINAL_TYPE (PtScatterMap, pt_scatter_map, GTK_TYPE_WIDGET)

enum {
  POINT_ACTIVATED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
pt_scatter_map_fill_model (PtScatterMap      *self,
                           PtScatterMapModel *m,
                           const GdkRGBA     *fg)
{
  *m = (PtScatterMapModel) {
    .n = self->xy->len / 2, .xy = (const float *) (gpointer) self->xy->data,
    .labels = self->labels->len ? (const int *) (gpointer) self->labels->data : NULL,
    .n_classes = self->n_classes, .class_names = (const char * const *) self->class_names,
    .selected = self->selected,
    .highlight = (const guint *) (gpointer) self->highlight->data, .n_highlight = self->highlight->len,
    .fg = *fg,
  };
}

static void
pt_scatter_map_snapshot (GtkWidget   *widget,
                         GtkSnapshot *snapshot)
{
  PtScatterMap *self = PT_SCATTER_MAP (widget);
  int w = gtk_widget_get_width (widget), h = gtk_widget_get_height (widget);
  PtScatterMapModel m;
  GdkRGBA fg;
  cairo_t *cr;

  gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);
  pt_scatter_map_fill_model (self, &m, &fg);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, w, h));
  pt_scatter_map_draw (cr, w, h, &m);
  cairo_destroy (cr);
}

static void
pt_scatter_map_measure (GtkWidget      *widget,
                        GtkOrientation  orientation,
                        int             for_size,
                        int            *minimum,
                        int            *natural,
                        int            *minimum_baseline,
                        int            *natural_baseline)
{
  *minimum = 200;
  *natural = 480;
}

static int
pt_scatter_map_hit (PtScatterMap *self,
                    double        x,
                    double        y)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA fg = { 0, 0, 0, 1 };
  PtScatterMapModel m;

  pt_scatter_map_fill_model (self, &m, &fg);
  return pt_scatter_map_point_at (&m, gtk_widget_get_width (widget), gtk_widget_get_height (widget),
                                  x, y, 6);
}

static gboolean
pt_scatter_map_query_tooltip (GtkWidget  *widget,
                              int         x,
                              int         y,
                              gboolean    keyboard,
                              GtkTooltip *tooltip)
{
  PtScatterMap *self = PT_SCATTER_MAP (widget);
  int i = pt_scatter_map_hit (self, x, y);
  g_autofree char *text = NULL;
  int label;

  if (i < 0)
    return FALSE;
  label = self->labels->len ? g_array_index (self->labels, int, i) : -1;
  if (label >= 0 && self->class_names && label < self->n_classes)
    /* TRANSLATORS: image number and class name */
    text = g_strdup_printf (_("#%d · %s"), i, self->class_names[label]);
  else
    text = g_strdup_printf ("#%d", i);
  gtk_tooltip_set_text (tooltip, text);
  if (self->thumb_func)
    {
      g_autoptr(GdkTexture) tex = self->thumb_func ((guint) i, self->thumb_data);
      if (tex)
        gtk_tooltip_set_icon (tooltip, GDK_PAINTABLE (tex));
    }
  return TRUE;
}

static void
on_click_released_cb (GtkGestureClick *gesture,
                      int              n_press,
                      double           x,
                      double           y,
                      PtScatterMap    *self)
{
  int i = pt_scatter_map_hit (self, x, y);

  if (i >= 0)
    {
      pt_scatter_map_set_selected (self, i);
      g_signal_emit (self, signals[POINT_ACTIVATED], 0, (guint) i);
    }
}

static void
pt_scatter_map_finalize (GObject *object)
{
  PtScatterMap *self = PT_SCATTER_MAP (object);

  g_array_unref (self->xy);
  g_array_unref (self->labels);
  g_array_unref (self->highlight);
  g_strfreev (self->class_names);
  if (self->thumb_destroy)
    self->thumb_destroy (self->thumb_data);
  G_OBJECT_CLASS (pt_scatter_map_parent_class)->finalize (object);
}

static void
pt_scatter_map_class_init (PtScatterMapClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_scatter_map_finalize;
  widget_class->snapshot = pt_scatter_map_snapshot;
  widget_class->measure = pt_scatter_map_measure;
  widget_class->query_tooltip = pt_scatter_map_query_tooltip;

  signals[POINT_ACTIVATED] =
    g_signal_new ("point-activated", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);

  gtk_widget_class_set_css_name (widget_class, "scattermap");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pt_scatter_map_init (PtScatterMap *self)
{
  GtkGesture *click = gtk_gesture_click_new ();

  self->xy = g_array_new (FALSE, FALSE, sizeof (float));
  self->labels = g_array_new (FALSE, FALSE, sizeof (int));
  self->highlight = g_array_new (FALSE, FALSE, sizeof (guint));
  self->selected = -1;
  gtk_widget_set_has_tooltip (GTK_WIDGET (self), TRUE);
  g_signal_connect (click, "released", G_CALLBACK (on_click_released_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
}

GtkWidget *
pt_scatter_map_new (void)
{
  return g_object_new (PT_TYPE_SCATTER_MAP, NULL);
}

void
pt_scatter_map_set_points (PtScatterMap       *self,
                           guint               n,
                           const float        *xy,
                           const int          *labels,
                           int                 n_classes,
                           const char * const *class_names)
{
  g_return_if_fail (PT_IS_SCATTER_MAP (self));
  g_return_if_fail (n == 0 || xy != NULL);

  g_array_set_size (self->xy, 0);
  g_array_append_vals (self->xy, xy, 2 * n);
  g_array_set_size (self->labels, 0);
  if (labels)
    g_array_append_vals (self->labels, labels, n);
  self->n_classes = n_classes;
  g_clear_pointer (&self->class_names, g_strfreev);
  if (class_names)
    {
      self->class_names = g_new0 (char *, n_classes + 1);
      for (int k = 0; k < n_classes; k++)
        self->class_names[k] = g_strdup (class_names[k]);
    }
  if (self->selected >= (int) n)
    self->selected = -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
pt_scatter_map_get_n_points (PtScatterMap *self)
{
  g_return_val_if_fail (PT_IS_SCATTER_MAP (self), 0);
  return self->xy->len / 2;
}

void
pt_scatter_map_set_selected (PtScatterMap *self,
                             int           index)
{
  g_return_if_fail (PT_IS_SCATTER_MAP (self));

  self->selected = index < (int) (self->xy->len / 2) ? MAX (-1, index) : -1;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

int
pt_scatter_map_get_selected (PtScatterMap *self)
{
  g_return_val_if_fail (PT_IS_SCATTER_MAP (self), -1);
  return self->selected;
}

void
pt_scatter_map_set_highlight (PtScatterMap *self,
                              const guint  *indices,
                              guint         n)
{
  g_return_if_fail (PT_IS_SCATTER_MAP (self));

  g_array_set_size (self->highlight, 0);
  if (indices)
    g_array_append_vals (self->highlight, indices, n);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

void
pt_scatter_map_set_thumb_func (PtScatterMap       *self,
                               PtScatterThumbFunc  func,
                               gpointer            user_data,
                               GDestroyNotify      destroy)
{
  g_return_if_fail (PT_IS_SCATTER_MAP (self));

  if (self->thumb_destroy)
    self->thumb_destroy (self->thumb_data);
  self->thumb_func = func;
  self->thumb_data = user_data;
  self->thumb_destroy = destroy;
}

gboolean
pt_scatter_map_export (PtScatterMap  *self,
                       const char    *path,
                       int            width,
                       int            height,
                       GError       **error)
{
  GdkRGBA fg = { 0.1, 0.1, 0.1, 1 };
  PtScatterMapModel m;

  g_return_val_if_fail (PT_IS_SCATTER_MAP (self), FALSE);

  pt_scatter_map_fill_model (self, &m, &fg);
  return pt_plot_export (pt_scatter_map_draw, &m, width, height, path, error);
}
