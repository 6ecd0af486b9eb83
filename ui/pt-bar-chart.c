/* pt-bar-chart.c: horizontal bars with labels and values. */
#include <glib/gi18n.h>

#include "pt-bar-chart.h"
#include "pt-plot-util.h"

struct _PtBarChart
{
  GtkWidget   parent_instance;

  GPtrArray  *labels;      /* char * */
  GArray     *values;      /* double */
  char       *value_format;
  int         highlight;
  double      max_value;
};

G_DEFINE_FINAL_TYPE (PtBarChart, pt_bar_chart, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_HIGHLIGHT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const int label_width_max = 120;
static const int pad = 4;

static double
model_max (const PtBarChartModel *model)
{
  double max = model->max_value;

  if (max <= 0)
    for (guint i = 0; i < model->n_bars; i++)
      max = MAX (max, model->values[i]);
  return max > 0 ? max : 1.0;
}

static double
row_height (const PtBarChartModel *model,
            int                    height)
{
  if (model->n_bars == 0)
    return 0;
  return MIN ((double) PT_BAR_CHART_ROW_HEIGHT, (double) height / model->n_bars);
}

int
pt_bar_chart_bar_at (const PtBarChartModel *model,
                     int                    height,
                     double                 y)
{
  double rh = row_height (model, height);
  int i;

  if (rh <= 0 || y < 0)
    return -1;
  i = (int) (y / rh);
  return i < (int) model->n_bars ? i : -1;
}

void
pt_bar_chart_draw (cairo_t               *cr,
                   int                    width,
                   int                    height,
                   const PtBarChartModel *model)
{
  const char *format = model->value_format ? model->value_format : "%.0f";
  double max = model_max (model);
  double rh = row_height (model, height);
  double label_w = 0, value_w = 0;
  cairo_text_extents_t ext;
  cairo_font_extents_t fe;
  double baseline;

  if (model->n_bars == 0 || width <= 0 || height <= 0)
    return;

  cairo_save (cr);
  cairo_select_font_face (cr, "Sans", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size (cr, MIN (12.0, rh * 0.62));

  /* Measure the widest label and value so columns line up. */
  for (guint i = 0; i < model->n_bars; i++)
    {
      char buf[64];

      cairo_text_extents (cr, model->labels[i] ? model->labels[i] : "", &ext);
      label_w = MAX (label_w, ext.x_advance);
      g_snprintf (buf, sizeof buf, format, model->values[i]);
      cairo_text_extents (cr, buf, &ext);
      value_w = MAX (value_w, ext.x_advance);
    }
  cairo_font_extents (cr, &fe);
  baseline = rh * 0.5 + (fe.ascent - fe.descent) * 0.5;
  label_w = MIN (label_w, (double) label_width_max);
  label_w = MIN (label_w, width * 0.4);

  for (guint i = 0; i < model->n_bars; i++)
    {
      double y = i * rh;
      double bar_x = label_w + 2 * pad;
      double bar_max_w = MAX (0.0, width - bar_x - value_w - 2 * pad);
      double bar_w = bar_max_w * CLAMP (model->values[i] / max, 0.0, 1.0);
      const GdkRGBA *c = (int) i == model->highlight ? &model->highlight_color : &model->bar_color;
      char buf[64];

      /* Label, right-aligned and clipped to its column. */
      cairo_save (cr);
      cairo_rectangle (cr, 0, y, label_w + pad, rh);
      cairo_clip (cr);
      gdk_cairo_set_source_rgba (cr, &model->text_color);
      cairo_text_extents (cr, model->labels[i] ? model->labels[i] : "", &ext);
      cairo_move_to (cr, MAX (0.0, label_w - ext.x_advance), y + baseline);
      cairo_show_text (cr, model->labels[i] ? model->labels[i] : "");
      cairo_restore (cr);

      /* Bar. */
      gdk_cairo_set_source_rgba (cr, c);
      cairo_rectangle (cr, bar_x, y + rh * 0.18, bar_w, rh * 0.64);
      cairo_fill (cr);

      /* Value after the bar. */
      g_snprintf (buf, sizeof buf, format, model->values[i]);
      cairo_text_extents (cr, buf, &ext);
      gdk_cairo_set_source_rgba (cr, &model->text_color);
      cairo_move_to (cr, bar_x + bar_w + pad, y + baseline);
      cairo_show_text (cr, buf);
    }

  cairo_restore (cr);
}

static void
pt_bar_chart_fill_model (PtBarChart      *self,
                         PtBarChartModel *model,
                         const GdkRGBA   *fg_override)
{
  GtkWidget *widget = GTK_WIDGET (self);
  GdkRGBA fg;

  if (fg_override != NULL)
    fg = *fg_override;
  else
    gtk_style_context_get_color (gtk_widget_get_style_context (widget), &fg);

  model->n_bars = self->values->len;
  model->labels = (const char **) self->labels->pdata;
  model->values = (const double *) (gpointer) self->values->data;
  model->max_value = self->max_value;
  model->highlight = self->highlight;
  model->text_color = fg;
  model->bar_color = (GdkRGBA) { 0.21, 0.52, 0.89, 0.85 };      /* GNOME blue 3 */
  model->highlight_color = (GdkRGBA) { 0.90, 0.38, 0.0, 0.95 }; /* GNOME orange 4 */
  model->value_format = self->value_format;
}

static void
pt_bar_chart_snapshot (GtkWidget   *widget,
                       GtkSnapshot *snapshot)
{
  PtBarChart *self = PT_BAR_CHART (widget);
  int width = gtk_widget_get_width (widget);
  int height = gtk_widget_get_height (widget);
  PtBarChartModel model;
  cairo_t *cr;

  pt_bar_chart_fill_model (self, &model, NULL);
  cr = gtk_snapshot_append_cairo (snapshot, &GRAPHENE_RECT_INIT (0, 0, width, height));
  pt_bar_chart_draw (cr, width, height, &model);
  cairo_destroy (cr);
}

static void
pt_bar_chart_measure (GtkWidget      *widget,
                      GtkOrientation  orientation,
                      int             for_size,
                      int            *minimum,
                      int            *natural,
                      int            *minimum_baseline,
                      int            *natural_baseline)
{
  PtBarChart *self = PT_BAR_CHART (widget);

  if (orientation == GTK_ORIENTATION_HORIZONTAL)
    {
      *minimum = 160;
      *natural = 280;
    }
  else
    {
      *minimum = *natural = (int) self->values->len * PT_BAR_CHART_ROW_HEIGHT;
    }
}

static void
pt_bar_chart_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PtBarChart *self = PT_BAR_CHART (object);

  switch (prop_id)
    {
    case PROP_HIGHLIGHT:
      g_value_set_int (value, self->highlight);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_bar_chart_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  PtBarChart *self = PT_BAR_CHART (object);

  switch (prop_id)
    {
    case PROP_HIGHLIGHT:
      pt_bar_chart_set_highlight (self, g_value_get_int (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_bar_chart_finalize (GObject *object)
{
  PtBarChart *self = PT_BAR_CHART (object);

  g_ptr_array_unref (self->labels);
  g_array_unref (self->values);
  g_free (self->value_format);

  G_OBJECT_CLASS (pt_bar_chart_parent_class)->finalize (object);
}

static void
pt_bar_chart_class_init (PtBarChartClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->finalize = pt_bar_chart_finalize;
  object_class->get_property = pt_bar_chart_get_property;
  object_class->set_property = pt_bar_chart_set_property;

  widget_class->snapshot = pt_bar_chart_snapshot;
  widget_class->measure = pt_bar_chart_measure;

  properties[PROP_HIGHLIGHT] =
    g_param_spec_int ("highlight", NULL, NULL, -1, G_MAXINT, -1,
                      G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_css_name (widget_class, "barchart");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
pt_bar_chart_init (PtBarChart *self)
{
  self->labels = g_ptr_array_new_with_free_func (g_free);
  self->values = g_array_new (FALSE, FALSE, sizeof (double));
  self->highlight = -1;
}

GtkWidget *
pt_bar_chart_new (void)
{
  return g_object_new (PT_TYPE_BAR_CHART, NULL);
}

void
pt_bar_chart_set_data (PtBarChart         *self,
                       guint               n_bars,
                       const char * const *labels,
                       const double       *values)
{
  g_return_if_fail (PT_IS_BAR_CHART (self));
  g_return_if_fail (n_bars == 0 || (labels != NULL && values != NULL));

  g_ptr_array_set_size (self->labels, 0);
  g_array_set_size (self->values, 0);
  for (guint i = 0; i < n_bars; i++)
    g_ptr_array_add (self->labels, g_strdup (labels[i]));
  g_array_append_vals (self->values, values, n_bars);

  if (self->highlight >= (int) n_bars)
    pt_bar_chart_set_highlight (self, -1);

  gtk_widget_queue_resize (GTK_WIDGET (self));
}

void
pt_bar_chart_set_value_format (PtBarChart *self,
                               const char *format)
{
  g_return_if_fail (PT_IS_BAR_CHART (self));

  g_free (self->value_format);
  self->value_format = g_strdup (format);
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

guint
pt_bar_chart_get_n_bars (PtBarChart *self)
{
  g_return_val_if_fail (PT_IS_BAR_CHART (self), 0);

  return self->values->len;
}

int
pt_bar_chart_get_highlight (PtBarChart *self)
{
  g_return_val_if_fail (PT_IS_BAR_CHART (self), -1);

  return self->highlight;
}

void
pt_bar_chart_set_highlight (PtBarChart *self,
                            int         highlight)
{
  g_return_if_fail (PT_IS_BAR_CHART (self));

  highlight = MAX (-1, highlight);
  if (self->highlight == highlight)
    return;
  self->highlight = highlight;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HIGHLIGHT]);
}

void
pt_bar_chart_set_max_value (PtBarChart *self,
                            double      max_value)
{
  g_return_if_fail (PT_IS_BAR_CHART (self));

  self->max_value = max_value;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
bar_chart_draw_cb (cairo_t       *cr,
                   int            width,
                   int            height,
                   gconstpointer  model)
{
  pt_bar_chart_draw (cr, width, height, model);
}

gboolean
pt_bar_chart_export (PtBarChart  *self,
                     const char  *path,
                     int          width,
                     int          height,
                     GError     **error)
{
  GdkRGBA fg = { 0.1, 0.1, 0.1, 1 };
  PtBarChartModel m;

  g_return_val_if_fail (PT_IS_BAR_CHART (self), FALSE);

  pt_bar_chart_fill_model (self, &m, &fg);
  return pt_plot_export (bar_chart_draw_cb, &m, width, height, path, error);
}
