/* pt-evaluate-page.c: the evaluation bench.
 *
 * One background job at a time (a GTask worker): either the evaluation of
 * the selected run (the SSL features, the compared run's, then the
 * baselines) or the label-efficiency curve. The worker posts messages
 * (stage, probe progress, a result, a curve) to an async queue that the
 * main loop drains every 50 ms, so results appear one by one and the probe
 * curve grows live while the window stays responsive. Each message carries
 * the job's generation: a result of a cancelled or superseded job is
 * dropped. Results are written to the run's eval/probe.json (the format
 * of `pretext-cli probe`) and eval/label-curve.json; selecting a run shows
 * what was saved.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-app-task.h"
#include "pt-atomic.h"
#include "pt-bar-chart.h"
#include "pt-build-config.h"
#include "pt-evaluate-page.h"
#include "pt-heatmap.h"
#include "pt-image-list.h"
#include "pt-line-plot.h"
#include "pt-plot-export.h"
#include "pt-run.h"

#define MAX_THUMBS 48

/* Curve points: labels per class, then every label. */
static const int default_curve_per_class[] = { 5, 10, 25, 50, 100, 250, 500, 1000 };
#define MAX_CURVE_POINTS 16

/* Bars and series in this order. */
static const guint slot_order[] = {
  PT_EVAL_KIND_SSL, PT_EVALUATE_SLOT_COMPARE, PT_EVAL_KIND_RAW_PIXELS,
  PT_EVAL_KIND_RANDOM_INIT, PT_EVAL_KIND_SUPERVISED,
};

struct _PtEvaluatePage
{
  GtkWidget         parent_instance;

  GtkWidget        *content;
  GtkDropDown      *run_dropdown;
  GtkDropDown      *compare_dropdown;
  GtkDropDown      *layer_dropdown;
  GtkDropDown      *labels_dropdown;
  GtkSpinButton    *per_class_spin;
  GtkCheckButton   *supervised_check;
  GtkButton        *evaluate_button;
  GtkButton        *curve_button;
  GtkButton        *cancel_button;
  GtkLabel         *status_label;
  GtkStack         *stack;
  GtkLabel         *empty_label;
  GtkLabel         *summary_label;
  PtBarChart       *linear_chart;
  PtBarChart       *knn_chart;
  GtkScale         *k_scale;
  GtkScale         *t_scale;
  PtLinePlot       *probe_plot;
  GtkStack         *curve_stack;
  PtLinePlot       *curve_plot;
  GtkDropDown      *confusion_dropdown;
  PtHeatmap        *confusion;
  GtkLabel         *wrong_label;
  GtkFlowBox       *wrong_box;

  char             *runs_root;
  GPtrArray        *run_dirs;        /* char *, dropdown order (newest first) */
  char             *run_dir;
  char             *compare_dir;
  gboolean          filling;

  PtRunEval        *ev;              /* of run_dir, once opened */
  PtRunEval        *ev_compare;      /* of compare_dir */
  PtRunEvalOptions  options;         /* of the shown results */
  PtRunEvalResult  *results[PT_EVALUATE_N_SLOTS];
  PtLabelCurvePoint *curves[PT_EVALUATE_N_SLOTS];
  int               n_curve_points;
  GArray           *confusion_sources; /* ConfusionSource */
  int               shown_confusion;

  GCancellable     *cancellable;
  GAsyncQueue      *queue;
  guint             drain_source;
  guint             generation;
  guint             n_done;
  guint             probe_x;         /* cumulative L-BFGS iterations plotted */
  char             *error;
  int               curve_per_class[MAX_CURVE_POINTS];
  int               n_curve_per_class;
  gboolean          curve_all;
};

G_DEFINE_FINAL_TYPE (PtEvaluatePage, pt_evaluate_page, GTK_TYPE_WIDGET)

typedef struct {
  guint    slot;
  gboolean knn;
} ConfusionSource;

static void pt_evaluate_page_show_results (PtEvaluatePage *self);
static void pt_evaluate_page_show_curve   (PtEvaluatePage *self);

/* ---- Names ------------------------------------------------------------- */

static char *
run_name (const char *dir)
{
  return dir != NULL ? g_path_get_basename (dir) : g_strdup ("");
}

static char *
slot_title (PtEvaluatePage *self,
            guint           slot)
{
  if (slot == PT_EVALUATE_SLOT_COMPARE || (slot == PT_EVAL_KIND_SSL && self->results[PT_EVALUATE_SLOT_COMPARE] != NULL))
    {
      g_autofree char *name = run_name (slot == PT_EVALUATE_SLOT_COMPARE ? self->compare_dir : self->run_dir);
      /* TRANSLATORS: a bar or curve for the SSL encoder of the run named %s */
      return g_strdup_printf (_("SSL: %s"), name);
    }
  return g_strdup (pt_eval_kind_get_title (slot));
}

/* ---- Messages from the worker ------------------------------------------ */

typedef enum {
  MSG_OPENED,
  MSG_STAGE,
  MSG_PROBE,
  MSG_TRAIN,
  MSG_RESULT,
  MSG_CURVE,
} MsgType;

typedef struct {
  MsgType            type;
  guint              generation;
  guint              slot;
  char              *text;
  int                fit, n_fits, iter, n_iter;
  double             loss;
  PtRunEvalResult   *result;
  PtLabelCurvePoint *curve;
  int                n_points;
  PtRunEval         *ev;          /* MSG_OPENED */
  PtRunEval         *ev_compare;
} Msg;

static void
msg_free (Msg *m)
{
  g_free (m->text);
  g_clear_pointer (&m->result, pt_run_eval_result_free);
  g_free (m->curve);
  g_clear_pointer (&m->ev, pt_run_eval_free);
  g_clear_pointer (&m->ev_compare, pt_run_eval_free);
  g_free (m);
}

typedef struct {
  GAsyncQueue      *queue;
  guint             generation;
  gboolean          curve;
  gboolean          supervised;
  char             *run_dir;
  char             *compare_dir;
  PtRunEval        *ev;            /* in: may be NULL; out: opened */
  PtRunEval        *ev_compare;
  PtRunEvalOptions  options;
  guint             slot;          /* being evaluated (for progress messages) */
  int               curve_per_class[MAX_CURVE_POINTS];
  int               n_curve_per_class;
  gboolean          curve_all;
  gint64            last_post;     /* throttles progress */
} Job;

static void
job_free (Job *job)
{
  g_async_queue_unref (job->queue);
  g_free (job->run_dir);
  g_free (job->compare_dir);
  g_clear_pointer (&job->ev, pt_run_eval_free);
  g_clear_pointer (&job->ev_compare, pt_run_eval_free);
  g_free (job);
}

static void
post (Job *job,
      Msg *m)
{
  m->generation = job->generation;
  g_async_queue_push (job->queue, m);
}

static void
post_stage (Job        *job,
            const char *text)
{
  Msg *m = g_new0 (Msg, 1);

  m->type = MSG_STAGE;
  m->text = g_strdup (text);
  post (job, m);
}

static gboolean
probe_progress_cb (int      fit_index,
                   int      n_fits,
                   int      iter,
                   double   loss,
                   gpointer user_data)
{
  Job *job = user_data;
  Msg *m = g_new0 (Msg, 1);

  m->type = MSG_PROBE;
  m->slot = job->slot;
  m->fit = fit_index;
  m->n_fits = n_fits;
  m->iter = iter;
  m->loss = loss;
  post (job, m);
  return TRUE;
}

static gboolean
train_progress_cb (int      step,
                   int      n_steps,
                   double   loss,
                   gpointer user_data)
{
  Job *job = user_data;
  gint64 now = g_get_monotonic_time ();
  Msg *m;

  if (step < n_steps && now - job->last_post < 100000)
    return TRUE;
  job->last_post = now;
  m = g_new0 (Msg, 1);
  m->type = MSG_TRAIN;
  m->slot = job->slot;
  m->iter = step;
  m->n_iter = n_steps;
  m->loss = loss;
  post (job, m);
  return TRUE;
}

/* The job's slots, in the order they are evaluated. */
static guint
job_slots (Job   *job,
           guint *slots)
{
  guint n = 0;

  slots[n++] = PT_EVAL_KIND_SSL;
  if (job->compare_dir != NULL)
    slots[n++] = PT_EVALUATE_SLOT_COMPARE;
  slots[n++] = PT_EVAL_KIND_RAW_PIXELS;
  slots[n++] = PT_EVAL_KIND_RANDOM_INIT;
  if (job->supervised)
    slots[n++] = PT_EVAL_KIND_SUPERVISED;
  return n;
}

static void
job_thread (GTask        *task,
            gpointer      source,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  guint slots[PT_EVALUATE_N_SLOTS];
  guint n_slots;
  GError *error = NULL;
  int per_class[MAX_CURVE_POINTS + 1];
  int n_points = 0;

  if (job->ev == NULL)
    {
      post_stage (job, _("Opening the run’s dataset…"));
      job->ev = pt_run_eval_open (job->run_dir, cancellable, &error);
      if (job->ev == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }
  if (job->compare_dir != NULL && job->ev_compare == NULL)
    {
      job->ev_compare = pt_run_eval_open (job->compare_dir, cancellable, &error);
      if (job->ev_compare == NULL)
        {
          g_task_return_error (task, error);
          return;
        }
    }

  {
    Msg *m = g_new0 (Msg, 1);

    m->type = MSG_OPENED;
    m->ev = pt_run_eval_ref (job->ev);
    m->ev_compare = job->ev_compare != NULL ? pt_run_eval_ref (job->ev_compare) : NULL;
    post (job, m);
  }
  job->options.probe_progress = probe_progress_cb;
  job->options.probe_progress_data = job;
  job->options.train_progress = train_progress_cb;
  job->options.train_progress_data = job;

  if (job->curve)
    {
      /* Labels per class up to the largest class (which is every label). */
      int max_count = pt_run_eval_get_max_class_count (job->ev);

      for (int i = 0; i < job->n_curve_per_class; i++)
        if (job->curve_per_class[i] < max_count)
          per_class[n_points++] = job->curve_per_class[i];
      if (job->curve_all || n_points == 0)
        per_class[n_points++] = max_count;
    }

  n_slots = job_slots (job, slots);
  for (guint i = 0; i < n_slots; i++)
    {
      guint slot = slots[i];
      PtRunEval *ev = slot == PT_EVALUATE_SLOT_COMPARE ? job->ev_compare : job->ev;
      PtEvalKind kind = slot == PT_EVALUATE_SLOT_COMPARE ? PT_EVAL_KIND_SSL : slot;
      g_autofree char *stage = NULL;
      g_autofree char *name = run_name (pt_run_eval_get_dir (ev));
      Msg *m = g_new0 (Msg, 1);

      job->slot = slot;
      if (kind == PT_EVAL_KIND_SUPERVISED)
        /* TRANSLATORS: stage i of n */
        stage = g_strdup_printf (_("Training the supervised baseline (%u of %u)…"), i + 1, n_slots);
      else if (slot == PT_EVALUATE_SLOT_COMPARE || kind == PT_EVAL_KIND_SSL)
        /* TRANSLATORS: a run's name, stage i of n */
        stage = g_strdup_printf (_("Evaluating the features of %s (%u of %u)…"), name, i + 1, n_slots);
      else
        /* TRANSLATORS: a baseline such as “Raw pixels”, stage i of n */
        stage = g_strdup_printf (_("Evaluating the baseline “%s” (%u of %u)…"),
                                 pt_eval_kind_get_title (kind), i + 1, n_slots);
      post_stage (job, stage);

      m->slot = slot;
      if (job->curve)
        {
          m->type = MSG_CURVE;
          m->n_points = n_points;
          m->curve = pt_run_eval_curve (ev, kind, &job->options, NULL, per_class, n_points,
                                        cancellable, &error);
          if (m->curve == NULL)
            {
              msg_free (m);
              g_task_return_error (task, error);
              return;
            }
        }
      else
        {
          m->type = MSG_RESULT;
          m->result = pt_run_eval_kind (ev, kind, &job->options, cancellable, &error);
          if (m->result == NULL)
            {
              msg_free (m);
              g_task_return_error (task, error);
              return;
            }
        }
      post (job, m);
    }
  g_task_return_boolean (task, TRUE);
}

static void
handle_msg (PtEvaluatePage *self,
            Msg            *m)
{
  if (m->generation != self->generation)
    return;

  switch (m->type)
    {
    case MSG_OPENED:
      /* The datasets, for class names and thumbnails while the job runs. */
      if (self->ev == NULL)
        self->ev = g_steal_pointer (&m->ev);
      if (self->ev_compare == NULL && self->compare_dir != NULL)
        self->ev_compare = g_steal_pointer (&m->ev_compare);
      break;
    case MSG_STAGE:
      gtk_label_set_label (self->status_label, m->text);
      break;
    case MSG_PROBE:
      {
        g_autofree char *title = slot_title (self, m->slot);
        guint s = pt_line_plot_ensure_series (self->probe_plot, title);

        pt_line_plot_append (self->probe_plot, s, self->probe_x++, m->loss);
        if (m->iter == 0 && m->fit > 0)
          {
            g_autofree char *text = NULL;
            /* TRANSLATORS: progress of the linear probe: fit i of n (the search over C, then the final fit) */
            text = g_strdup_printf (_("%s: probe fit %d of %d"), title, m->fit + 1, m->n_fits);
            gtk_label_set_label (self->status_label, text);
          }
      }
      break;
    case MSG_TRAIN:
      {
        g_autofree char *text = NULL;
        /* TRANSLATORS: supervised baseline training progress: step, steps, loss */
        text = g_strdup_printf (_("Training the supervised baseline: step %d of %d, loss %.3f"),
                                m->iter, m->n_iter, m->loss);
        gtk_label_set_label (self->status_label, text);
      }
      break;
    case MSG_RESULT:
      g_clear_pointer (&self->results[m->slot], pt_run_eval_result_free);
      self->results[m->slot] = g_steal_pointer (&m->result);
      pt_evaluate_page_show_results (self);
      break;
    case MSG_CURVE:
      g_clear_pointer (&self->curves[m->slot], g_free);
      self->curves[m->slot] = g_steal_pointer (&m->curve);
      self->n_curve_points = m->n_points;
      pt_evaluate_page_show_curve (self);
      break;
    default:
      g_assert_not_reached ();
    }
}

static gboolean
drain_cb (gpointer user_data)
{
  PtEvaluatePage *self = user_data;
  Msg *m;

  while ((m = g_async_queue_try_pop (self->queue)) != NULL)
    {
      handle_msg (self, m);
      msg_free (m);
    }
  return G_SOURCE_CONTINUE;
}

/* ---- Showing ----------------------------------------------------------- */

static void
set_busy (PtEvaluatePage *self,
          gboolean        busy)
{
  gtk_widget_set_visible (GTK_WIDGET (self->cancel_button), busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->evaluate_button), !busy && self->run_dir != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->curve_button), !busy && self->run_dir != NULL);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_dropdown), !busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->compare_dropdown), !busy);
}

static void
fill_confusion_sources (PtEvaluatePage *self)
{
  g_autoptr(GtkStringList) names = gtk_string_list_new (NULL);
  int keep = -1;
  ConfusionSource old = { 0, FALSE };

  if (self->shown_confusion >= 0 && (guint) self->shown_confusion < self->confusion_sources->len)
    old = g_array_index (self->confusion_sources, ConfusionSource, self->shown_confusion);
  g_array_set_size (self->confusion_sources, 0);
  for (guint i = 0; i < G_N_ELEMENTS (slot_order); i++)
    {
      guint slot = slot_order[i];
      const PtRunEvalResult *r = self->results[slot];
      g_autofree char *title = slot_title (self, slot);

      if (r == NULL)
        continue;
      for (int knn = 0; knn < 2; knn++)
        {
          const PtEvalRecord *rec = knn ? r->knn : r->linear;
          ConfusionSource src = { slot, knn };
          g_autofree char *name = NULL;

          if (rec == NULL || rec->report == NULL)
            continue;
          /* TRANSLATORS: e.g. “Raw pixels · linear probe” */
          name = g_strdup_printf (knn ? _("%s · kNN") : _("%s · linear probe"), title);
          if (src.slot == old.slot && src.knn == old.knn)
            keep = (int) self->confusion_sources->len;
          g_array_append_val (self->confusion_sources, src);
          gtk_string_list_append (names, name);
        }
    }
  self->filling = TRUE;
  gtk_drop_down_set_model (self->confusion_dropdown, G_LIST_MODEL (names));
  gtk_drop_down_set_selected (self->confusion_dropdown, keep >= 0 ? (guint) keep : 0);
  self->filling = FALSE;
  self->shown_confusion = self->confusion_sources->len > 0 ? MAX (keep, 0) : -1;
}

static const PtEvalRecord *
shown_confusion_record (PtEvaluatePage *self,
                        const int     **pred)
{
  ConfusionSource src;
  const PtRunEvalResult *r;

  if (self->shown_confusion < 0 || (guint) self->shown_confusion >= self->confusion_sources->len)
    return NULL;
  src = g_array_index (self->confusion_sources, ConfusionSource, self->shown_confusion);
  r = self->results[src.slot];
  if (r == NULL)
    return NULL;
  if (pred != NULL)
    *pred = src.knn ? r->knn_pred : r->linear_pred;
  return src.knn ? r->knn : r->linear;
}

static PtDataset *
confusion_dataset (PtEvaluatePage *self)
{
  ConfusionSource src;

  if (self->shown_confusion < 0 || (guint) self->shown_confusion >= self->confusion_sources->len)
    return NULL;
  src = g_array_index (self->confusion_sources, ConfusionSource, self->shown_confusion);
  if (src.slot == PT_EVALUATE_SLOT_COMPARE)
    return self->ev_compare != NULL ? pt_run_eval_get_test (self->ev_compare) : NULL;
  return self->ev != NULL ? pt_run_eval_get_test (self->ev) : NULL;
}

static void
clear_thumbs (PtEvaluatePage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->wrong_box))) != NULL)
    gtk_flow_box_remove (self->wrong_box, child);
}

static void
show_confusion (PtEvaluatePage *self)
{
  const PtEvalRecord *rec = shown_confusion_record (self, NULL);
  const PtClassReport *rep = rec != NULL ? rec->report : NULL;
  PtDataset *test = confusion_dataset (self);
  g_autofree float *values = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  int k;

  clear_thumbs (self);
  if (rep == NULL)
    {
      pt_heatmap_set_matrix (self->confusion, 0, 0, NULL, NULL, NULL);
      return;
    }
  k = rep->n_classes;
  values = g_new (float, (gsize) k * k);
  for (int i = 0; i < k * k; i++)
    values[i] = (float) rep->confusion[i];
  for (int c = 0; c < k; c++)
    {
      const char *name = test != NULL && c < pt_dataset_get_n_classes (test)
                         ? pt_dataset_get_class_name (test, c) : NULL;
      g_ptr_array_add (names, name != NULL ? g_strdup (name) : g_strdup_printf ("%d", c));
    }
  g_ptr_array_add (names, NULL);
  pt_heatmap_set_matrix (self->confusion, k, k, values,
                         (const char * const *) names->pdata, (const char * const *) names->pdata);
  pt_heatmap_set_show_values (self->confusion, k <= 12, "%.0f");
  gtk_label_set_label (self->wrong_label,
                       _("Rows: true class; columns: predicted. Click a cell to see those test images."));
}

static void
show_bars (PtEvaluatePage *self,
           PtBarChart     *chart,
           gboolean        knn)
{
  g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (double));

  for (guint i = 0; i < G_N_ELEMENTS (slot_order); i++)
    {
      const PtRunEvalResult *r = self->results[slot_order[i]];
      const PtEvalRecord *rec = r != NULL ? (knn ? r->knn : r->linear) : NULL;
      double v;

      if (rec == NULL)
        continue;
      v = 100.0 * rec->accuracy;
      g_ptr_array_add (labels, slot_title (self, slot_order[i]));
      g_array_append_val (values, v);
    }
  pt_bar_chart_set_data (chart, values->len, (const char * const *) labels->pdata,
                         (const double *) (gpointer) values->data);
  pt_bar_chart_set_highlight (chart, values->len > 0 && self->results[PT_EVAL_KIND_SSL] != NULL ? 0 : -1);
}

static void
show_summary (PtEvaluatePage *self)
{
  const PtRunEvalResult *ssl = self->results[PT_EVAL_KIND_SSL];
  const PtRunEvalResult *raw = self->results[PT_EVAL_KIND_RAW_PIXELS];
  g_autoptr(GString) s = g_string_new (NULL);

  if (ssl == NULL || ssl->linear == NULL)
    {
      gtk_label_set_label (self->summary_label, "");
      return;
    }
  /* TRANSLATORS: accuracy of the linear probe, number of labeled images, checkpoint step */
  g_string_append_printf (s, _("Linear probe of the SSL features: <b>%.1f%%</b> with %d labeled images (checkpoint at step %llu)."),
                          100.0 * ssl->linear->accuracy, ssl->n_subset, (unsigned long long) ssl->step);
  if (raw != NULL && raw->linear != NULL)
    {
      double d = 100.0 * (ssl->linear->accuracy - raw->linear->accuracy);

      g_string_append_c (s, ' ');
      if (d >= 0)
        /* TRANSLATORS: percentage points */
        g_string_append_printf (s, _("%.1f points above raw pixels."), d);
      else
        g_string_append_printf (s, _("%.1f points below raw pixels: these features are not better than the pixels yet."), -d);
    }
  gtk_label_set_markup (self->summary_label, s->str);
}

static void
pt_evaluate_page_show_results (PtEvaluatePage *self)
{
  gboolean any = FALSE, cached = FALSE;

  for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
    {
      any |= self->results[i] != NULL;
      cached |= self->results[i] != NULL && self->results[i]->knn_cache != NULL;
    }
  show_bars (self, self->linear_chart, FALSE);
  show_bars (self, self->knn_chart, TRUE);
  show_summary (self);
  fill_confusion_sources (self);
  show_confusion (self);
  gtk_widget_set_sensitive (GTK_WIDGET (self->k_scale), cached);
  gtk_widget_set_sensitive (GTK_WIDGET (self->t_scale), cached);
  if (any || self->n_curve_points > 0)
    gtk_stack_set_visible_child_name (self->stack, "results");
}

static void
pt_evaluate_page_show_curve (PtEvaluatePage *self)
{
  pt_line_plot_clear (self->curve_plot);
  for (guint i = 0; i < G_N_ELEMENTS (slot_order); i++)
    {
      guint slot = slot_order[i];
      g_autofree char *title = NULL;
      guint s;

      if (self->curves[slot] == NULL)
        continue;
      title = slot_title (self, slot);
      s = pt_line_plot_ensure_series (self->curve_plot, title);
      for (int p = 0; p < self->n_curve_points; p++)
        pt_line_plot_append (self->curve_plot, s, self->curves[slot][p].n_labeled,
                             self->curves[slot][p].probe_accuracy);
    }
  gtk_stack_set_visible_child_name (self->curve_stack, "plot");
  gtk_stack_set_visible_child_name (self->stack, "results");
}

static void
clear_results (PtEvaluatePage *self)
{
  for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
    {
      g_clear_pointer (&self->results[i], pt_run_eval_result_free);
      g_clear_pointer (&self->curves[i], g_free);
    }
  self->n_curve_points = 0;
  pt_line_plot_clear (self->curve_plot);
  gtk_stack_set_visible_child_name (self->curve_stack, "hint");
}

/* ---- Saved results ----------------------------------------------------- */

/* The controls as the saved results were made, so Evaluate redoes them. */
static void
restore_settings (PtEvaluatePage *self,
                  JsonObject     *root)
{
  gint64 per_class = json_object_get_int_member_with_default (root, "per_class", 0);
  double fraction = json_object_get_double_member_with_default (root, "label_fraction", NAN);
  const char *layer = json_object_get_string_member_with_default (root, "features_layer", "backbone");

  if (per_class > 0 && per_class <= 100000)
    pt_evaluate_page_set_labels (self, 0, (int) per_class);
  else if (fabs (fraction - 1.0) < 1e-9 || fabs (fraction - 0.1) < 1e-9 || fabs (fraction - 0.01) < 1e-9)
    pt_evaluate_page_set_labels (self, fraction, 0);
  if (gtk_widget_get_sensitive (GTK_WIDGET (self->layer_dropdown)))
    gtk_drop_down_set_selected (self->layer_dropdown, g_strcmp0 (layer, "projection") == 0 ? 1 : 0);
  gtk_range_set_value (GTK_RANGE (self->k_scale),
                       json_object_get_int_member_with_default (root, "knn_k", PT_KNN_DEFAULT_K));
  gtk_range_set_value (GTK_RANGE (self->t_scale),
                       json_object_get_double_member_with_default (root, "knn_t", PT_KNN_DEFAULT_T));
}

static void
load_saved (PtEvaluatePage *self)
{
  g_autofree char *path = g_build_filename (self->run_dir, "eval", "probe.json", NULL);
  g_autofree char *curve_path = g_build_filename (self->run_dir, "eval", "label-curve.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonObject *root, *res;
  GList *members;

  if (json_parser_load_from_file (parser, path, NULL) &&
      JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      root = json_node_get_object (json_parser_get_root (parser));
      res = json_object_get_object_member (root, "results");
      restore_settings (self, root);
      members = res != NULL ? json_object_get_members (res) : NULL;
      for (GList *l = members; l != NULL; l = l->next)
        {
          int kind = pt_eval_kind_from_string (l->data);
          JsonNode *node = json_object_get_member (res, l->data);
          JsonObject *o;
          PtRunEvalResult *r;

          if (kind < 0 || !JSON_NODE_HOLDS_OBJECT (node))
            continue;
          o = json_node_get_object (node);
          r = g_new0 (PtRunEvalResult, 1);
          r->kind = kind;
          r->step = json_object_get_int_member_with_default (root, "step", 0);
          r->n_subset = (int) json_object_get_int_member_with_default (root, "n_labeled", 0);
          if (json_object_has_member (o, "linear"))
            r->linear = pt_eval_record_from_json (json_object_get_member (o, "linear"), NULL);
          if (json_object_has_member (o, "knn"))
            r->knn = pt_eval_record_from_json (json_object_get_member (o, "knn"), NULL);
          if (r->linear == NULL && r->knn == NULL)
            {
              pt_run_eval_result_free (r);
              continue;
            }
          g_clear_pointer (&self->results[kind], pt_run_eval_result_free);
          self->results[kind] = r;
        }
      g_list_free (members);
    }

  /* The saved curve. */
  {
    g_autoptr(JsonParser) cp = json_parser_new ();
    JsonObject *croot, *series;
    JsonArray *nl;
    GList *names;

    if (!json_parser_load_from_file (cp, curve_path, NULL) ||
        !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (cp)))
      return;
    croot = json_node_get_object (json_parser_get_root (cp));
    nl = json_object_get_array_member (croot, "n_labeled");
    series = json_object_get_object_member (croot, "series");
    if (nl == NULL || series == NULL || json_array_get_length (nl) == 0)
      return;
    self->n_curve_points = (int) json_array_get_length (nl);
    names = json_object_get_members (series);
    for (GList *l = names; l != NULL; l = l->next)
      {
        int kind = pt_eval_kind_from_string (l->data);
        JsonObject *so = json_object_get_object_member (series, l->data);
        JsonArray *lin = so != NULL ? json_object_get_array_member (so, "linear") : NULL;
        JsonArray *knn = so != NULL ? json_object_get_array_member (so, "knn") : NULL;

        if (kind < 0 || lin == NULL || json_array_get_length (lin) != (guint) self->n_curve_points)
          continue;
        self->curves[kind] = g_new0 (PtLabelCurvePoint, self->n_curve_points);
        for (int p = 0; p < self->n_curve_points; p++)
          {
            JsonNode *v = json_array_get_element (lin, p);
            JsonNode *w = knn != NULL && (guint) p < json_array_get_length (knn) ? json_array_get_element (knn, p) : NULL;

            self->curves[kind][p].n_labeled = (int) json_array_get_int_element (nl, p);
            self->curves[kind][p].probe_accuracy = JSON_NODE_HOLDS_VALUE (v) ? json_node_get_double (v) : NAN;
            self->curves[kind][p].knn_accuracy = w != NULL && JSON_NODE_HOLDS_VALUE (w) ? json_node_get_double (w) : NAN;
          }
      }
    g_list_free (names);
    pt_evaluate_page_show_curve (self);
  }
}

/* ---- Jobs -------------------------------------------------------------- */

static void
read_options (PtEvaluatePage   *self,
              PtRunEvalOptions *o)
{
  pt_run_eval_options_init (o);
  switch (gtk_drop_down_get_selected (self->labels_dropdown))
    {
    case 1: o->label_fraction = 0.1; break;
    case 2: o->label_fraction = 0.01; break;
    case 3: o->per_class = gtk_spin_button_get_value_as_int (self->per_class_spin); break;
    default: o->label_fraction = 1.0; break;
    }
  o->knn_k = (int) gtk_range_get_value (GTK_RANGE (self->k_scale));
  o->knn_t = gtk_range_get_value (GTK_RANGE (self->t_scale));
  o->projection = gtk_drop_down_get_selected (self->layer_dropdown) == 1;
}

static void
save_text_thread (GTask        *task,
                  gpointer      source,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  char **pair = task_data;   /* path, text */
  GError *error = NULL;

  if (!pt_atomic_write_contents (pair[0], pair[1], strlen (pair[1]), &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_saved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(PtEvaluatePage) self = pt_app_task_dup_owner (result);
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) && self != NULL)
    {
      g_free (self->error);
      self->error = g_strdup (error->message);
      gtk_label_set_label (self->status_label, error->message);
    }
}

/* Writes node to the run's eval/NAME off the main thread. */
static void
save_json (PtEvaluatePage *self,
           JsonNode       *node,
           const char     *name)
{
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autofree char *dir = g_build_filename (self->run_dir, "eval", NULL);
  g_autoptr(GTask) task = NULL;
  char **pair = g_new0 (char *, 3);

  json_generator_set_root (gen, node);
  json_generator_set_pretty (gen, TRUE);
  g_mkdir_with_parents (dir, 0755);
  pair[0] = g_build_filename (dir, name, NULL);
  pair[1] = json_generator_to_data (gen, NULL);
  task = pt_app_task_new (self, NULL, on_saved_cb);
  g_task_set_task_data (task, pair, (GDestroyNotify) g_strfreev);
  g_task_run_in_thread (task, save_text_thread);
}

static void
save_results (PtEvaluatePage *self)
{
  PtRunEvalResult *mine[PT_EVAL_N_KINDS];
  g_autoptr(JsonNode) node = NULL;
  int n = 0;

  if (self->ev == NULL)
    return;
  for (guint k = 0; k < PT_EVAL_N_KINDS; k++)
    if (self->results[k] != NULL && self->results[k]->knn_cache != NULL)
      mine[n++] = self->results[k];
  if (n == 0)
    return;
  node = pt_run_eval_to_json (self->ev, &self->options, mine, n);
  save_json (self, node, "probe.json");
}

static void
save_curves (PtEvaluatePage *self)
{
  g_autoptr(JsonNode) node = NULL;
  PtLabelCurvePoint *mine[PT_EVAL_N_KINDS];
  gboolean any = FALSE;

  for (guint k = 0; k < PT_EVAL_N_KINDS; k++)
    {
      mine[k] = self->curves[k];
      any |= mine[k] != NULL;
    }
  if (!any || self->ev == NULL)
    return;
  node = pt_run_eval_curves_to_json (self->ev, &self->options, mine, self->n_curve_points);
  save_json (self, node, "label-curve.json");
}

static void
on_job_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(PtEvaluatePage) self = pt_app_task_dup_owner (result);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  gboolean ok = g_task_propagate_boolean (G_TASK (result), &error);

  if (self == NULL)
    return;
  if (job->generation != self->generation)
    {
      /* Superseded: a newer job owns the page, or none runs. */
      if (self->cancellable == NULL)
        g_clear_handle_id (&self->drain_source, g_source_remove);
      return;
    }

  drain_cb (self);
  g_clear_handle_id (&self->drain_source, g_source_remove);
  g_clear_object (&self->cancellable);
  set_busy (self, FALSE);

  /* Keep the opened datasets for the next job and the thumbnails. */
  if (job->ev != NULL && g_strcmp0 (job->run_dir, self->run_dir) == 0 && self->ev != job->ev)
    {
      g_clear_pointer (&self->ev, pt_run_eval_free);
      self->ev = pt_run_eval_ref (job->ev);
    }
  if (job->ev_compare != NULL && g_strcmp0 (job->compare_dir, self->compare_dir) == 0 && self->ev_compare != job->ev_compare)
    {
      g_clear_pointer (&self->ev_compare, pt_run_eval_free);
      self->ev_compare = pt_run_eval_ref (job->ev_compare);
    }

  if (!ok)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        gtk_label_set_label (self->status_label, _("Cancelled."));
      else
        {
          g_free (self->error);
          self->error = g_strdup (error->message);
          gtk_label_set_label (self->status_label, error->message);
          if (gtk_stack_get_visible_child_name (self->stack) != NULL &&
              g_str_equal (gtk_stack_get_visible_child_name (self->stack), "empty"))
            gtk_label_set_label (self->empty_label, error->message);
        }
      return;
    }

  self->n_done++;
  pt_evaluate_page_show_results (self);
  if (job->curve)
    {
      save_curves (self);
      gtk_label_set_label (self->status_label, _("Label curve done; saved with the run."));
    }
  else
    {
      save_results (self);
      gtk_label_set_label (self->status_label, _("Done; results saved with the run (eval/probe.json)."));
    }
}

static void
start_job (PtEvaluatePage *self,
           gboolean        curve)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (self->run_dir == NULL || self->cancellable != NULL)
    return;

  g_clear_pointer (&self->error, g_free);
  self->generation++;
  self->cancellable = g_cancellable_new ();
  job = g_new0 (Job, 1);
  job->queue = g_async_queue_ref (self->queue);
  job->generation = self->generation;
  job->curve = curve;
  job->supervised = gtk_check_button_get_active (self->supervised_check);
  memcpy (job->curve_per_class, self->curve_per_class, sizeof job->curve_per_class);
  job->n_curve_per_class = self->n_curve_per_class;
  job->curve_all = self->curve_all;
  job->run_dir = g_strdup (self->run_dir);
  job->compare_dir = g_strdup (self->compare_dir);
  job->ev = self->ev != NULL ? pt_run_eval_ref (self->ev) : NULL;
  job->ev_compare = self->ev_compare != NULL ? pt_run_eval_ref (self->ev_compare) : NULL;
  read_options (self, &job->options);

  if (curve)
    {
      for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
        g_clear_pointer (&self->curves[i], g_free);
      self->n_curve_points = 0;
      pt_line_plot_clear (self->curve_plot);
    }
  else
    {
      self->options = job->options;
      self->options.probe_progress = NULL;
      self->options.train_progress = NULL;
      for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
        g_clear_pointer (&self->results[i], pt_run_eval_result_free);
      pt_evaluate_page_show_results (self);
    }
  pt_line_plot_clear (self->probe_plot);
  self->probe_x = 0;
  gtk_stack_set_visible_child_name (self->stack, "results");
  set_busy (self, TRUE);
  if (self->drain_source == 0)
    self->drain_source = g_timeout_add (50, drain_cb, self);

  task = pt_app_task_new (self, self->cancellable, on_job_done_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  g_task_run_in_thread (task, job_thread);
}

static void
cancel_job (PtEvaluatePage *self)
{
  g_cancellable_cancel (self->cancellable);
}

/* ---- Runs -------------------------------------------------------------- */

static void
select_run (PtEvaluatePage *self,
            const char     *dir)
{
  if (g_strcmp0 (self->run_dir, dir) == 0)
    return;
  if (self->cancellable != NULL)
    {
      /* The running job's results are for the other run: drop them. */
      g_cancellable_cancel (self->cancellable);
      g_clear_object (&self->cancellable);
      self->generation++;
      set_busy (self, FALSE);
    }
  g_free (self->run_dir);
  self->run_dir = g_strdup (dir);
  g_clear_pointer (&self->ev, pt_run_eval_free);
  clear_results (self);
  pt_line_plot_clear (self->probe_plot);
  gtk_label_set_label (self->status_label, "");
  set_busy (self, FALSE);
  if (dir == NULL)
    return;
  {
    gboolean proj = pt_features_run_has_projection (dir);

    if (!proj)
      gtk_drop_down_set_selected (self->layer_dropdown, 0);
    gtk_widget_set_sensitive (GTK_WIDGET (self->layer_dropdown), proj);
  }
  load_saved (self);
  pt_evaluate_page_show_results (self);
  if (self->results[PT_EVAL_KIND_SSL] == NULL && self->n_curve_points == 0)
    {
      g_autofree char *name = run_name (dir);
      g_autofree char *text = g_strdup_printf (_("“%s” has not been evaluated yet. Press Evaluate to run the linear probe and kNN on its features, beside raw pixels, the same encoder at random initialization and the supervised baseline."), name);

      gtk_label_set_label (self->empty_label, text);
      gtk_stack_set_visible_child_name (self->stack, "empty");
    }
  else
    gtk_label_set_label (self->status_label, _("Saved results; press Evaluate to compute them again and use the kNN sliders."));
}

static void
on_run_selected_cb (PtEvaluatePage *self)
{
  guint i = gtk_drop_down_get_selected (self->run_dropdown);

  if (self->filling || i >= self->run_dirs->len)
    return;
  select_run (self, self->run_dirs->pdata[i]);
}

static void
set_compare_dir (PtEvaluatePage *self,
                 const char     *dir)
{
  if (g_strcmp0 (self->compare_dir, dir) == 0)
    return;
  g_free (self->compare_dir);
  self->compare_dir = g_strdup (dir);
  g_clear_pointer (&self->ev_compare, pt_run_eval_free);
  g_clear_pointer (&self->results[PT_EVALUATE_SLOT_COMPARE], pt_run_eval_result_free);
  g_clear_pointer (&self->curves[PT_EVALUATE_SLOT_COMPARE], g_free);
  pt_evaluate_page_show_results (self);
}

static void
on_compare_selected_cb (PtEvaluatePage *self)
{
  guint i = gtk_drop_down_get_selected (self->compare_dropdown);

  if (self->filling)
    return;
  set_compare_dir (self, i > 0 && i - 1 < self->run_dirs->len ? self->run_dirs->pdata[i - 1] : NULL);
}

static void
pt_evaluate_page_refresh (PtEvaluatePage *self)
{
  g_autoptr(GPtrArray) runs = pt_run_list (self->runs_root, NULL);
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) compare = gtk_string_list_new (NULL);
  guint selected = 0, compare_selected = 0;

  g_ptr_array_set_size (self->run_dirs, 0);
  gtk_string_list_append (compare, _("Nothing"));
  for (guint i = runs ? runs->len : 0; i-- > 0;)
    {
      PtRunInfo *info = runs->pdata[i];
      g_autofree char *title = g_strdup_printf ("%s · %s · %s", info->name, info->method, info->dataset);

      if (g_strcmp0 (info->dir, self->run_dir) == 0)
        selected = self->run_dirs->len;
      if (g_strcmp0 (info->dir, self->compare_dir) == 0)
        compare_selected = self->run_dirs->len + 1;
      g_ptr_array_add (self->run_dirs, g_strdup (info->dir));
      gtk_string_list_append (titles, title);
      gtk_string_list_append (compare, title);
    }

  self->filling = TRUE;
  gtk_drop_down_set_model (self->run_dropdown, G_LIST_MODEL (titles));
  gtk_drop_down_set_selected (self->run_dropdown, selected);
  gtk_drop_down_set_model (self->compare_dropdown, G_LIST_MODEL (compare));
  gtk_drop_down_set_selected (self->compare_dropdown, compare_selected);
  self->filling = FALSE;
  if (compare_selected == 0)
    set_compare_dir (self, NULL);

  if (self->run_dirs->len == 0)
    {
      select_run (self, NULL);
      gtk_label_set_label (self->empty_label, _("No run yet. Train an encoder on the Pretrain page (or with pretext-cli train), then evaluate it here against the baselines."));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      set_busy (self, FALSE);
      return;
    }
  select_run (self, self->run_dirs->pdata[selected]);
}

/* ---- kNN sliders ------------------------------------------------------- */

static void
on_knn_changed_cb (PtEvaluatePage *self)
{
  int k = (int) gtk_range_get_value (GTK_RANGE (self->k_scale));
  double t = gtk_range_get_value (GTK_RANGE (self->t_scale));
  gboolean any = FALSE;

  for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
    {
      PtRunEvalResult *r = self->results[i];
      PtRunEval *ev = i == PT_EVALUATE_SLOT_COMPARE ? self->ev_compare : self->ev;

      if (r == NULL || r->knn_cache == NULL || ev == NULL)
        continue;
      pt_run_eval_result_rescore_knn (r, ev, k, t);
      any = TRUE;
    }
  if (!any)
    return;
  self->options.knn_k = k;
  self->options.knn_t = t;
  show_bars (self, self->knn_chart, TRUE);
  show_confusion (self);
  if (self->cancellable == NULL)
    save_results (self);
}

/* ---- Confusion cells --------------------------------------------------- */

static guint
show_cell (PtEvaluatePage *self,
           int             truth,
           int             pred)
{
  const int *preds = NULL;
  const PtEvalRecord *rec = shown_confusion_record (self, &preds);
  PtDataset *test = confusion_dataset (self);
  g_autofree char *text = NULL;
  guint shown = 0, total = 0;

  clear_thumbs (self);
  if (rec == NULL || rec->report == NULL)
    return 0;
  if (preds == NULL || test == NULL)
    {
      gtk_label_set_label (self->wrong_label, _("Press Evaluate to see the images behind these saved results."));
      return 0;
    }
  for (guint i = 0; i < pt_dataset_get_n_images (test); i++)
    {
      if (pt_dataset_get_label (test, i) != truth || preds[i] != pred)
        continue;
      total++;
      if (shown < MAX_THUMBS)
        {
          g_autoptr(GdkTexture) tex = pt_dataset_dup_texture (test, i, 56);
          GtkWidget *pic = gtk_picture_new_for_paintable (GDK_PAINTABLE (tex));
          g_autofree char *tip = g_strdup_printf (_("Test image %u"), i);

          gtk_widget_set_size_request (pic, 56, 56);
          gtk_widget_set_tooltip_text (pic, tip);
          gtk_flow_box_append (self->wrong_box, pic);
          shown++;
        }
    }
  if (truth == pred)
    /* TRANSLATORS: count, class name */
    text = g_strdup_printf (ngettext ("%u test image of “%s” classified correctly.",
                                      "%u test images of “%s” classified correctly.", total),
                            total, pt_dataset_get_class_name (test, truth));
  else
    /* TRANSLATORS: count, true class, predicted class */
    text = g_strdup_printf (ngettext ("%u test image of “%s” taken for “%s”.",
                                      "%u test images of “%s” taken for “%s”.", total),
                            total, pt_dataset_get_class_name (test, truth),
                            pt_dataset_get_class_name (test, pred));
  if (total > shown)
    {
      g_autofree char *more = g_strdup_printf (_("%s The first %u are shown."), text, shown);
      gtk_label_set_label (self->wrong_label, more);
    }
  else
    gtk_label_set_label (self->wrong_label, text);
  return shown;
}

static void
on_cell_activated_cb (PtHeatmap      *heatmap,
                      int             row,
                      int             col,
                      PtEvaluatePage *self)
{
  show_cell (self, row, col);
}

static void
on_confusion_selected_cb (PtEvaluatePage *self)
{
  if (self->filling)
    return;
  self->shown_confusion = (int) gtk_drop_down_get_selected (self->confusion_dropdown);
  show_confusion (self);
}

static void
on_labels_selected_cb (PtEvaluatePage *self)
{
  gtk_widget_set_visible (GTK_WIDGET (self->per_class_spin),
                          gtk_drop_down_get_selected (self->labels_dropdown) == 3);
}

/* ---- Export ------------------------------------------------------------ */

static char *
results_csv (PtEvaluatePage *self)
{
  GString *s = g_string_new ("run,features,layer,n_labeled,linear_top1,knn_top1,knn_k,knn_t,probe_c\n");

  for (guint i = 0; i < G_N_ELEMENTS (slot_order); i++)
    {
      guint slot = slot_order[i];
      const PtRunEvalResult *r = self->results[slot];
      g_autofree char *name = run_name (slot == PT_EVALUATE_SLOT_COMPARE ? self->compare_dir : self->run_dir);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
      char t[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];

      if (r == NULL)
        continue;
      g_ascii_formatd (a, sizeof a, "%.6f", r->linear ? r->linear->accuracy : NAN);
      g_ascii_formatd (b, sizeof b, "%.6f", r->knn ? r->knn->accuracy : NAN);
      g_ascii_formatd (t, sizeof t, "%g", r->knn ? r->knn->knn_t : NAN);
      g_ascii_formatd (c, sizeof c, "%g", r->linear ? r->linear->c : NAN);
      g_string_append_printf (s, "%s,%s,%s,%d,%s,%s,%d,%s,%s\n", name,
                              pt_eval_kind_to_string (slot == PT_EVALUATE_SLOT_COMPARE ? PT_EVAL_KIND_SSL : slot),
                              self->options.projection ? "projection" : "backbone",
                              r->n_subset, a, b, r->knn ? r->knn->knn_k : 0, t, c);
    }
  if (self->n_curve_points > 0)
    {
      g_string_append (s, "\nfeatures,n_labeled,linear_top1,knn_top1\n");
      for (guint i = 0; i < G_N_ELEMENTS (slot_order); i++)
        {
          guint slot = slot_order[i];

          if (self->curves[slot] == NULL)
            continue;
          for (int p = 0; p < self->n_curve_points; p++)
            {
              char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

              g_ascii_formatd (a, sizeof a, "%.6f", self->curves[slot][p].probe_accuracy);
              g_ascii_formatd (b, sizeof b, "%.6f", self->curves[slot][p].knn_accuracy);
              g_string_append_printf (s, "%s,%d,%s,%s\n",
                                      slot == PT_EVALUATE_SLOT_COMPARE ? "ssl-compared" : pt_eval_kind_to_string (slot),
                                      self->curves[slot][p].n_labeled, a, b);
            }
        }
    }
  return g_string_free (s, FALSE);
}

gboolean
pt_evaluate_page_export (PtEvaluatePage *self,
                         const char     *what,
                         const char     *path,
                         GError        **error)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), FALSE);

  if (g_str_equal (what, "json") || g_str_equal (what, "csv"))
    {
      g_autofree char *text = NULL;
      PtRunEvalResult *mine[PT_EVALUATE_N_SLOTS];
      int n = 0;

      for (guint i = 0; i < PT_EVAL_N_KINDS; i++)
        if (self->results[i] != NULL)
          mine[n++] = self->results[i];
      if (n == 0 || self->ev == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, _("There are no results to export yet: press Evaluate first."));
          return FALSE;
        }
      if (g_str_equal (what, "json"))
        {
          g_autoptr(JsonNode) node = pt_run_eval_to_json (self->ev, &self->options, mine, n);
          g_autoptr(JsonGenerator) gen = json_generator_new ();

          if (self->results[PT_EVALUATE_SLOT_COMPARE] != NULL && self->ev_compare != NULL)
            {
              PtRunEvalResult *other = self->results[PT_EVALUATE_SLOT_COMPARE];
              JsonNode *c = pt_run_eval_to_json (self->ev_compare, &self->options, &other, 1);

              json_object_set_member (json_node_get_object (node), "compared", c);
            }
          json_generator_set_root (gen, node);
          json_generator_set_pretty (gen, TRUE);
          text = json_generator_to_data (gen, NULL);
        }
      else
        text = results_csv (self);
      return pt_atomic_write_contents (path, text, strlen (text), error);
    }
  if (g_str_has_prefix (what, "linear-"))
    return pt_plot_export_widget (GTK_WIDGET (self->linear_chart), path, error);
  if (g_str_has_prefix (what, "knn-"))
    return pt_plot_export_widget (GTK_WIDGET (self->knn_chart), path, error);
  if (g_str_has_prefix (what, "curve-"))
    return pt_plot_export_widget (GTK_WIDGET (self->curve_plot), path, error);
  if (g_str_has_prefix (what, "confusion-"))
    return pt_plot_export_widget (GTK_WIDGET (self->confusion), path, error);
  g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, _("Unknown export “%s”."), what);
  return FALSE;
}

typedef struct {
  PtEvaluatePage *page;
  char           *what;
} ExportRequest;

static void
on_export_response_cb (GtkNativeDialog *dialog,
                       int              response,
                       gpointer         user_data)
{
  ExportRequest *req = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL && !pt_evaluate_page_export (req->page, req->what, path, &error))
        gtk_label_set_label (req->page->status_label, error->message);
      else if (path != NULL)
        {
          g_autofree char *text = g_strdup_printf (_("Exported to %s"), path);
          gtk_label_set_label (req->page->status_label, text);
        }
    }
  g_object_unref (req->page);
  g_free (req->what);
  g_free (req);
  g_object_unref (dialog);
}

static void
pt_evaluate_page_export_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  PtEvaluatePage *self = PT_EVALUATE_PAGE (widget);
  const char *what = g_variant_get_string (parameter, NULL);
  GtkRoot *root = gtk_widget_get_root (widget);
  g_autofree char *name = run_name (self->run_dir);
  g_autofree char *suggested = NULL;
  const char *ext = strrchr (what, '-') != NULL ? strrchr (what, '-') + 1 : what;
  const char *stem = g_str_has_prefix (what, "curve") ? "label-curve"
                     : g_str_has_prefix (what, "confusion") ? "confusion"
                     : g_str_has_prefix (what, "linear") ? "linear-probe"
                     : g_str_has_prefix (what, "knn") ? "knn" : "evaluation";
  GtkFileChooserNative *dialog;
  ExportRequest *req;

  suggested = g_strdup_printf ("%s-%s.%s", name, stem, ext);
  dialog = gtk_file_chooser_native_new (_("Export"), GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SAVE, _("_Export"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), suggested);
  req = g_new0 (ExportRequest, 1);
  req->page = g_object_ref (self);
  req->what = g_strdup (what);
  g_signal_connect (dialog, "response", G_CALLBACK (on_export_response_cb), req);
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

/* ---- Actions ----------------------------------------------------------- */

static void
pt_evaluate_page_run_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  start_job (PT_EVALUATE_PAGE (widget), FALSE);
}

static void
pt_evaluate_page_curve_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  start_job (PT_EVALUATE_PAGE (widget), TRUE);
}

static void
pt_evaluate_page_cancel_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  cancel_job (PT_EVALUATE_PAGE (widget));
}

static void
pt_evaluate_page_refresh_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *parameter)
{
  pt_evaluate_page_refresh (PT_EVALUATE_PAGE (widget));
}

/* ---- Public ------------------------------------------------------------ */

void
pt_evaluate_page_set_runs_root (PtEvaluatePage *self,
                                const char     *root)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));

  g_free (self->runs_root);
  self->runs_root = g_strdup (root);
  pt_evaluate_page_refresh (self);
}

void
pt_evaluate_page_show_run (PtEvaluatePage *self,
                           const char     *dir)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));

  select_run (self, dir);
  pt_evaluate_page_refresh (self);
}

void
pt_evaluate_page_set_compare (PtEvaluatePage *self,
                              const char     *dir)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));

  set_compare_dir (self, dir);
  pt_evaluate_page_refresh (self);
}

void
pt_evaluate_page_set_labels (PtEvaluatePage *self,
                             double          fraction,
                             int             per_class)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));

  if (per_class > 0)
    {
      gtk_spin_button_set_value (self->per_class_spin, per_class);
      gtk_drop_down_set_selected (self->labels_dropdown, 3);
    }
  else
    gtk_drop_down_set_selected (self->labels_dropdown, fraction <= 0.011 ? 2 : fraction <= 0.11 ? 1 : 0);
}

void
pt_evaluate_page_set_projection (PtEvaluatePage *self,
                                 gboolean        projection)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));
  gtk_drop_down_set_selected (self->layer_dropdown, projection ? 1 : 0);
}

gboolean
pt_evaluate_page_get_projection_available (PtEvaluatePage *self)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), FALSE);
  return gtk_widget_get_sensitive (GTK_WIDGET (self->layer_dropdown));
}

void
pt_evaluate_page_set_supervised (PtEvaluatePage *self,
                                 gboolean        supervised)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));
  gtk_check_button_set_active (self->supervised_check, supervised);
}

void
pt_evaluate_page_evaluate (PtEvaluatePage *self)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));
  start_job (self, FALSE);
}

void
pt_evaluate_page_compute_curve (PtEvaluatePage *self)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));
  start_job (self, TRUE);
}

void
pt_evaluate_page_set_curve_points (PtEvaluatePage *self,
                                   const int      *per_class,
                                   int             n,
                                   gboolean        all)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));
  g_return_if_fail (n >= 0 && n <= MAX_CURVE_POINTS);

  memcpy (self->curve_per_class, per_class, sizeof (int) * n);
  self->n_curve_per_class = n;
  self->curve_all = all;
}

const char *
pt_evaluate_page_get_run_dir (PtEvaluatePage *self)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), NULL);
  return self->run_dir;
}

gboolean
pt_evaluate_page_get_busy (PtEvaluatePage *self)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), FALSE);
  return self->cancellable != NULL;
}

guint
pt_evaluate_page_get_n_done (PtEvaluatePage *self)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), 0);
  return self->n_done;
}

const char *
pt_evaluate_page_get_error (PtEvaluatePage *self)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), NULL);
  return self->error;
}

const PtRunEvalResult *
pt_evaluate_page_get_result (PtEvaluatePage *self,
                             guint           slot)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), NULL);
  g_return_val_if_fail (slot < PT_EVALUATE_N_SLOTS, NULL);
  return self->results[slot];
}

const PtLabelCurvePoint *
pt_evaluate_page_get_curve (PtEvaluatePage *self,
                            guint           slot,
                            int            *n_points)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), NULL);
  g_return_val_if_fail (slot < PT_EVALUATE_N_SLOTS, NULL);
  if (n_points != NULL)
    *n_points = self->n_curve_points;
  return self->curves[slot];
}

void
pt_evaluate_page_set_knn (PtEvaluatePage *self,
                          int             k,
                          double          t)
{
  g_return_if_fail (PT_IS_EVALUATE_PAGE (self));

  gtk_range_set_value (GTK_RANGE (self->k_scale), k);
  gtk_range_set_value (GTK_RANGE (self->t_scale), t);
}

guint
pt_evaluate_page_activate_cell (PtEvaluatePage *self,
                                int             truth,
                                int             pred)
{
  g_return_val_if_fail (PT_IS_EVALUATE_PAGE (self), 0);

  if (self->confusion_sources->len > 0 && self->shown_confusion < 0)
    self->shown_confusion = 0;
  return show_cell (self, truth, pred);
}

/* ---- Life cycle -------------------------------------------------------- */

static void
pt_evaluate_page_map (GtkWidget *widget)
{
  PtEvaluatePage *self = PT_EVALUATE_PAGE (widget);

  GTK_WIDGET_CLASS (pt_evaluate_page_parent_class)->map (widget);
  if (self->cancellable == NULL)
    pt_evaluate_page_refresh (self);
}

static void
pt_evaluate_page_dispose (GObject *object)
{
  PtEvaluatePage *self = PT_EVALUATE_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->drain_source, g_source_remove);
  gtk_widget_dispose_template (GTK_WIDGET (self), PT_TYPE_EVALUATE_PAGE);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (pt_evaluate_page_parent_class)->dispose (object);
}

static void
pt_evaluate_page_finalize (GObject *object)
{
  PtEvaluatePage *self = PT_EVALUATE_PAGE (object);
  Msg *m;

  for (guint i = 0; i < PT_EVALUATE_N_SLOTS; i++)
    {
      g_clear_pointer (&self->results[i], pt_run_eval_result_free);
      g_clear_pointer (&self->curves[i], g_free);
    }
  while ((m = g_async_queue_try_pop (self->queue)) != NULL)
    msg_free (m);
  g_async_queue_unref (self->queue);
  g_clear_pointer (&self->ev, pt_run_eval_free);
  g_clear_pointer (&self->ev_compare, pt_run_eval_free);
  g_array_unref (self->confusion_sources);
  g_ptr_array_unref (self->run_dirs);
  g_free (self->runs_root);
  g_free (self->run_dir);
  g_free (self->compare_dir);
  g_free (self->error);
  G_OBJECT_CLASS (pt_evaluate_page_parent_class)->finalize (object);
}

static void
pt_evaluate_page_class_init (PtEvaluatePageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_evaluate_page_dispose;
  object_class->finalize = pt_evaluate_page_finalize;
  widget_class->map = pt_evaluate_page_map;

  g_type_ensure (PT_TYPE_BAR_CHART);
  g_type_ensure (PT_TYPE_LINE_PLOT);
  g_type_ensure (PT_TYPE_HEATMAP);
  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-evaluate-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, content);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, run_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, compare_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, layer_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, labels_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, per_class_spin);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, supervised_check);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, evaluate_button);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, curve_button);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, cancel_button);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, stack);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, summary_label);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, linear_chart);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, knn_chart);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, k_scale);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, t_scale);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, probe_plot);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, curve_stack);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, curve_plot);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, confusion_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, confusion);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, wrong_label);
  gtk_widget_class_bind_template_child (widget_class, PtEvaluatePage, wrong_box);

  gtk_widget_class_install_action (widget_class, "evaluate.run", NULL, pt_evaluate_page_run_action);
  gtk_widget_class_install_action (widget_class, "evaluate.curve", NULL, pt_evaluate_page_curve_action);
  gtk_widget_class_install_action (widget_class, "evaluate.cancel", NULL, pt_evaluate_page_cancel_action);
  gtk_widget_class_install_action (widget_class, "evaluate.refresh", NULL, pt_evaluate_page_refresh_action);
  gtk_widget_class_install_action (widget_class, "evaluate.export", "s", pt_evaluate_page_export_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
pt_evaluate_page_init (PtEvaluatePage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->run_dirs = g_ptr_array_new_with_free_func (g_free);
  self->confusion_sources = g_array_new (FALSE, FALSE, sizeof (ConfusionSource));
  self->shown_confusion = -1;
  pt_evaluate_page_set_curve_points (self, default_curve_per_class, G_N_ELEMENTS (default_curve_per_class), TRUE);
  self->queue = g_async_queue_new ();
  pt_run_eval_options_init (&self->options);

  pt_bar_chart_set_value_format (self->linear_chart, "%.1f %%");
  pt_bar_chart_set_value_format (self->knn_chart, "%.1f %%");
  pt_bar_chart_set_max_value (self->linear_chart, 100);
  pt_bar_chart_set_max_value (self->knn_chart, 100);
  pt_line_plot_set_log_x (self->curve_plot, TRUE);
  pt_line_plot_set_y_range (self->curve_plot, 0, 1);
  pt_line_plot_set_log_y (self->probe_plot, TRUE);
  pt_plot_export_attach (GTK_WIDGET (self->linear_chart));
  pt_plot_export_attach (GTK_WIDGET (self->knn_chart));
  pt_plot_export_attach (GTK_WIDGET (self->probe_plot));
  pt_plot_export_attach (GTK_WIDGET (self->curve_plot));
  pt_plot_export_attach (GTK_WIDGET (self->confusion));
  gtk_widget_set_sensitive (GTK_WIDGET (self->k_scale), FALSE);
  gtk_widget_set_sensitive (GTK_WIDGET (self->t_scale), FALSE);

  g_signal_connect_object (self->run_dropdown, "notify::selected",
                           G_CALLBACK (on_run_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->compare_dropdown, "notify::selected",
                           G_CALLBACK (on_compare_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->labels_dropdown, "notify::selected",
                           G_CALLBACK (on_labels_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->confusion_dropdown, "notify::selected",
                           G_CALLBACK (on_confusion_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->k_scale, "value-changed",
                           G_CALLBACK (on_knn_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->t_scale, "value-changed",
                           G_CALLBACK (on_knn_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->confusion, "cell-activated",
                           G_CALLBACK (on_cell_activated_cb), self, 0);
  gtk_label_set_label (self->empty_label, _("Looking for runs…"));
  gtk_stack_set_visible_child_name (self->stack, "empty");
  set_busy (self, FALSE);
}
