/* pt-pretrain-page.c: pretraining with live curves and the method's views.
 *
 * Start builds a PtTrainer from the controls on a GTask worker (the run
 * directory and the method are made there), then starts it on the main
 * thread, so its events come back to this main context. Metrics arrive in
 * batches (the trainer coalesces them behind one idle); each batch appends
 * to the plots and queues one redraw. Visuals replace the widgets' data.
 */
#include <math.h>
#include <stdio.h>
#include <glib/gi18n.h>

#include "pt-app-task.h"
#include "pt-build-config.h"
#include "pt-augment.h"
#include "pt-bar-chart.h"
#include "pt-heatmap.h"
#include "pt-features.h"
#include "pt-image-grid.h"
#include "pt-knn.h"
#include "pt-metrics.h"
#include "pt-line-plot.h"
#include "pt-loader-source.h"
#include "pt-plot-export.h"
#include "pt-pretrain-page.h"
#include "pt-run.h"
#include "pt-scatter-map.h"
#include "pt-train-spec.h"

struct _PtPretrainPage
{
  GtkWidget        parent_instance;

  GtkWidget       *content;
  GtkDropDown     *method_dropdown;
  GtkLabel        *method_description;
  GtkGrid         *training_grid;
  GtkGrid         *params_grid;
  GtkWidget       *start_button;
  GtkWidget       *pause_button;
  GtkProgressBar  *progress_bar;
  GtkLabel        *status_label;
  GtkRevealer     *fault_revealer;
  GtkLabel        *fault_label;
  GtkRevealer     *collapse_revealer;
  GtkLabel        *collapse_label;
  GtkGrid         *plots_grid;
  GtkLabel        *visuals_heading;
  GtkBox          *visuals_box;

  /* Training controls. */
  GtkDropDown     *encoder_dropdown;
  GtkSpinButton   *width_spin;
  GtkSpinButton   *batch_spin;
  GtkSpinButton   *epochs_spin;
  GtkSpinButton   *steps_spin;
  GtkSpinButton   *seed_spin;
  GtkDropDown     *augment_dropdown;
  GtkButton       *init_button;     /* "Start from": random init or a weights file */
  GtkButton       *init_clear;
  char            *init_path;       /* encoder weights to start from, or NULL */
  char           **presets;
  char            *studio_recipe;   /* the Augment page's recipe (.ini text), or NULL */
  GHashTable      *param_spins;     /* name -> GtkSpinButton */

  PtLinePlot      *loss_plot;
  PtLinePlot      *lr_plot;
  PtLinePlot      *health_plot;
  PtLinePlot      *rank_plot;
  PtLinePlot      *knn_plot;
  GHashTable      *visual_widgets;  /* item name -> GtkWidget (owned by visuals_box) */
  PtVisuals       *last_visuals;
  GtkScale        *temperature_scale;

  const PtMethodClass **methods;
  guint            n_methods;
  PtDataset       *dataset;
  PtTrainer       *trainer;
  GCancellable    *cancellable;
  char            *runs_root;
  char            *message;
  guint64          total_steps;
  guint            n_logged;
  guint            n_visuals;
  double           first_std;
  gboolean         building;

  /* kNN monitor: at every new checkpoint, a fresh copy of the encoder (never
   * the training thread's) embeds a fixed labeled subset of the training
   * split and one of the test split on a worker, and the cosine kNN
   * accuracy of the second against the first is plotted. */
  PtDataset       *monitor_ref;
  PtDataset       *monitor_queries;
  GCancellable    *monitor_cancellable;
  guint64          monitor_step;
  gboolean         monitor_running;
  guint            n_monitored;
};

G_DEFINE_FINAL_TYPE (PtPretrainPage, pt_pretrain_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DATASET,
  PROP_STUDIO_RECIPE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static const char *
current_method_name (PtPretrainPage *self)
{
  guint i = gtk_drop_down_get_selected (self->method_dropdown);

  return i < self->n_methods ? self->methods[i]->name : NULL;
}

static const PtMethodClass *
current_method (PtPretrainPage *self)
{
  guint i = gtk_drop_down_get_selected (self->method_dropdown);

  return i < self->n_methods ? self->methods[i] : NULL;
}

static gboolean
trainer_active (PtPretrainPage *self)
{
  PtTrainerState s;

  if (self->trainer == NULL)
    return FALSE;
  s = pt_trainer_get_state (self->trainer);
  return s == PT_TRAINER_RUNNING || s == PT_TRAINER_PAUSED || s == PT_TRAINER_STOPPING;
}

static void
pt_pretrain_page_update_actions (PtPretrainPage *self)
{
  PtTrainerState s = self->trainer ? pt_trainer_get_state (self->trainer) : PT_TRAINER_IDLE;
  gboolean active = trainer_active (self);
  gboolean building = self->cancellable != NULL;
  GtkWidget *widget = GTK_WIDGET (self);

  gtk_widget_action_set_enabled (widget, "pretrain.start",
                                 !active && !building && self->dataset != NULL && current_method (self) != NULL);
  gtk_widget_action_set_enabled (widget, "pretrain.pause", s == PT_TRAINER_RUNNING || s == PT_TRAINER_PAUSED);
  gtk_widget_action_set_enabled (widget, "pretrain.step", s == PT_TRAINER_PAUSED);
  gtk_widget_action_set_enabled (widget, "pretrain.stop", s == PT_TRAINER_RUNNING || s == PT_TRAINER_PAUSED);
  gtk_button_set_icon_name (GTK_BUTTON (self->pause_button),
                            s == PT_TRAINER_PAUSED ? "media-playback-start-symbolic"
                                                   : "media-playback-pause-symbolic");
  gtk_widget_set_tooltip_text (self->pause_button, s == PT_TRAINER_PAUSED ? _("Resume") : _("Pause"));

  /* Settings that shape the run are fixed while it trains; live method
   * settings stay editable. */
  gtk_widget_set_sensitive (GTK_WIDGET (self->method_dropdown), !active && !building);
  gtk_widget_set_sensitive (GTK_WIDGET (self->training_grid), !active && !building);
  {
    GHashTableIter iter;
    gpointer key, value;
    PtMethod *method = self->trainer ? pt_trainer_get_method (self->trainer) : NULL;

    g_hash_table_iter_init (&iter, self->param_spins);
    while (g_hash_table_iter_next (&iter, &key, &value))
      gtk_widget_set_sensitive (value, !active || (method && pt_method_is_param_live (method, key)));
  }
}

static void
pt_pretrain_page_set_message (PtPretrainPage *self,
                              const char     *message)
{
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_label_set_label (self->fault_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->fault_revealer, message != NULL);
}

static GtkWidget *
add_row (GtkGrid    *grid,
         int         row,
         const char *label,
         GtkWidget  *control,
         const char *tooltip)
{
  GtkWidget *l = gtk_label_new_with_mnemonic (label);

  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_widget_set_hexpand (l, TRUE);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_END);
  if (tooltip)
    {
      gtk_widget_set_tooltip_text (l, tooltip);
      gtk_widget_set_tooltip_text (control, tooltip);
    }
  gtk_label_set_mnemonic_widget (GTK_LABEL (l), control);
  gtk_grid_attach (grid, l, 0, row, 1, 1);
  gtk_grid_attach (grid, control, 1, row, 1, 1);
  return l;
}

static GtkSpinButton *
make_spin (double lower,
           double upper,
           double step,
           double value,
           int    digits)
{
  GtkWidget *spin = gtk_spin_button_new_with_range (lower, upper, step);

  gtk_spin_button_set_digits (GTK_SPIN_BUTTON (spin), digits);
  gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), value);
  gtk_spin_button_set_numeric (GTK_SPIN_BUTTON (spin), TRUE);
  gtk_widget_set_size_request (spin, 110, -1);
  return GTK_SPIN_BUTTON (spin);
}

static void
on_param_changed_cb (GtkSpinButton  *spin,
                     PtPretrainPage *self)
{
  const char *name = g_object_get_data (G_OBJECT (spin), "pt-param");
  g_autoptr(GError) error = NULL;
  double value = gtk_spin_button_get_value (spin);

  if (self->building || name == NULL || !trainer_active (self))
    return;

  /* A live change mid-run: the trainer applies it at the next step boundary
   * and records it as an event, which the plots mark. */
  if (!pt_trainer_set_param (self->trainer, name, value, &error))
    pt_pretrain_page_set_message (self, error->message);
}

static void
pt_pretrain_page_rebuild_params (PtPretrainPage *self)
{
  const PtMethodClass *klass = current_method (self);
  GtkWidget *child;
  int row = 0;

  self->building = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->params_grid))) != NULL)
    gtk_grid_remove (self->params_grid, child);
  g_hash_table_remove_all (self->param_spins);

  gtk_label_set_label (self->method_description, klass && klass->description ? _(klass->description) : "");

  for (const PtMethodParam *p = klass ? klass->params : NULL; p && p->name; p++)
    {
      double span = p->max_value - p->min_value;
      int digits = p->integer ? 0 : (fabs (p->default_value) < 0.01 && p->default_value != 0 ? 5 : 3);
      double step = p->integer ? 1 : pow (10, -MIN (digits, 3));
      GtkSpinButton *spin = make_spin (p->min_value, p->max_value, step, p->default_value, digits);
      /* Doubled underscores: parameter names are not mnemonics. */
      g_auto(GStrv) parts = g_strsplit (p->name, "_", -1);
      g_autofree char *escaped = g_strjoinv ("__", parts);
      g_autofree char *label = g_strdup_printf ("%s%s", escaped, p->live ? " ●" : "");

      (void) span;
      g_object_set_data_full (G_OBJECT (spin), "pt-param", g_strdup (p->name), g_free);
      g_signal_connect (spin, "value-changed", G_CALLBACK (on_param_changed_cb), self);
      add_row (self->params_grid, row++, label, GTK_WIDGET (spin), p->description ? _(p->description) : NULL);
      g_hash_table_insert (self->param_spins, g_strdup (p->name), spin);
    }

  /* The encoder the method is made for. */
  if (klass != NULL)
    {
      gboolean vit = g_str_equal (klass->name, "mae");
      gtk_drop_down_set_selected (self->encoder_dropdown, vit ? 1 : 0);
    }
  self->building = FALSE;
  pt_pretrain_page_update_actions (self);
}

static void
on_method_selected_cb (PtPretrainPage *self)
{
  pt_pretrain_page_rebuild_params (self);
}

/* The "Start from" row: the weights file's name, or random initialization. */
static void
pt_pretrain_page_show_init (PtPretrainPage *self)
{
  GtkLabel *label = GTK_LABEL (gtk_button_get_child (self->init_button));
  g_autofree char *name = self->init_path ? g_path_get_basename (self->init_path) : NULL;

  gtk_label_set_label (label, name ? name : _("Random initialization"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->init_button), self->init_path);
  gtk_widget_set_visible (GTK_WIDGET (self->init_clear), self->init_path != NULL);
}

void
pt_pretrain_page_set_init (PtPretrainPage *self,
                           const char     *path)
{
  g_return_if_fail (PT_IS_PRETRAIN_PAGE (self));

  g_free (self->init_path);
  self->init_path = g_strdup (path);
  pt_pretrain_page_show_init (self);
}

const char *
pt_pretrain_page_get_init (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), NULL);

  return self->init_path;
}

static void
on_init_chosen_cb (GtkNativeDialog *dialog,
                   int              response,
                   gpointer         user_data)
{
  PtPretrainPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      /* the file is checked when the run is built: a bad one gets the
       * banner's one sentence then, naming it */
      if (path != NULL)
        pt_pretrain_page_set_init (self, path);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
pt_pretrain_page_choose_init_action (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *parameter)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (_("Encoder Weights to Start From"),
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_OPEN,
                                        _("_Open"), _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Encoder weights (.safetensors)"));
  gtk_file_filter_add_pattern (filter, "*.safetensors");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_init_chosen_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
pt_pretrain_page_clear_init_action (GtkWidget  *widget,
                                    const char *action_name,
                                    GVariant   *parameter)
{
  pt_pretrain_page_set_init (PT_PRETRAIN_PAGE (widget), NULL);
}

static void
pt_pretrain_page_build_training_grid (PtPretrainPage *self)
{
  g_autoptr(GtkStringList) encoders = gtk_string_list_new ((const char *[]) { "cnn", "vit", NULL });
  g_autoptr(GtkStringList) recipes = gtk_string_list_new (NULL);
  int row = 0;

  self->encoder_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (encoders)), NULL));
  add_row (self->training_grid, row++, _("_Encoder"), GTK_WIDGET (self->encoder_dropdown),
           _("cnn: four conv blocks; vit: a small vision transformer (for MAE)"));
  self->width_spin = make_spin (2, 128, 2, PT_TRAIN_SPEC_DEFAULT_WIDTH, 0);
  add_row (self->training_grid, row++, _("_Width"), GTK_WIDGET (self->width_spin),
           _("Channels of the first conv block; the encoder ends with 8 × width features"));
  self->batch_spin = make_spin (8, 2048, 8, PT_TRAIN_SPEC_DEFAULT_BATCH, 0);
  add_row (self->training_grid, row++, _("_Batch size"), GTK_WIDGET (self->batch_spin), NULL);
  self->epochs_spin = make_spin (0.1, 1000, 0.5, 5, 1);
  add_row (self->training_grid, row++, _("E_pochs"), GTK_WIDGET (self->epochs_spin), NULL);
  self->steps_spin = make_spin (0, 1e9, 10, 0, 0);
  add_row (self->training_grid, row++, _("S_teps"), GTK_WIDGET (self->steps_spin),
           _("0 trains for the epochs above"));
  self->seed_spin = make_spin (0, G_MAXINT, 1, 0, 0);
  add_row (self->training_grid, row++, _("See_d"), GTK_WIDGET (self->seed_spin), NULL);

  gtk_string_list_append (recipes, _("Method default"));
  gtk_string_list_append (recipes, _("As on the Augment page"));
  self->presets = pt_augment_recipe_list_presets ();
  for (guint i = 0; self->presets && self->presets[i]; i++)
    gtk_string_list_append (recipes, self->presets[i]);
  self->augment_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (G_LIST_MODEL (g_object_ref (recipes)), NULL));
  add_row (self->training_grid, row++, _("_Augmentation"), GTK_WIDGET (self->augment_dropdown),
           _("The recipe the loader applies; edit recipes on the Augment page"));

  {
    GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 0);
    GtkWidget *label;

    gtk_widget_add_css_class (box, "linked");
    self->init_button = GTK_BUTTON (gtk_button_new ());
    label = gtk_label_new (NULL);
    gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
    gtk_label_set_xalign (GTK_LABEL (label), 0);
    gtk_button_set_child (self->init_button, label);
    gtk_widget_set_hexpand (GTK_WIDGET (self->init_button), TRUE);
    gtk_actionable_set_action_name (GTK_ACTIONABLE (self->init_button), "pretrain.choose-init");
    self->init_clear = GTK_BUTTON (gtk_button_new_from_icon_name ("edit-clear-symbolic"));
    gtk_widget_set_tooltip_text (GTK_WIDGET (self->init_clear), _("Start from a random initialization"));
    gtk_actionable_set_action_name (GTK_ACTIONABLE (self->init_clear), "pretrain.clear-init");
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->init_button));
    gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->init_clear));
    /* the mnemonic opens the file chooser */
    gtk_label_set_mnemonic_widget (GTK_LABEL (add_row (self->training_grid, row++, _("Start _from"), box,
                                                       _("Encoder weights to start from instead of a random initialization: a .safetensors file exported by Pretext (or PyTorch, same names), e.g. to continue with another method"))),
                                   GTK_WIDGET (self->init_button));
    pt_pretrain_page_show_init (self);
  }
}

static void
pt_pretrain_page_build_plots (PtPretrainPage *self)
{
  self->loss_plot = PT_LINE_PLOT (pt_line_plot_new (_("Loss"), _("step")));
  self->lr_plot = PT_LINE_PLOT (pt_line_plot_new (_("Learning rate"), _("step")));
  self->health_plot = PT_LINE_PLOT (pt_line_plot_new (_("Embedding spread"), _("step")));
  self->rank_plot = PT_LINE_PLOT (pt_line_plot_new (_("Effective rank"), _("step")));

  pt_line_plot_add_series (self->loss_plot, _("loss"), NULL, FALSE);
  pt_line_plot_add_series (self->lr_plot, _("learning rate"), NULL, FALSE);
  pt_line_plot_add_series (self->health_plot, _("std"), NULL, FALSE);
  pt_line_plot_add_series (self->rank_plot, _("rank"), NULL, FALSE);
  self->knn_plot = PT_LINE_PLOT (pt_line_plot_new (_("kNN accuracy on held-out images (k = 20)"), _("step")));
  pt_line_plot_add_series (self->knn_plot, _("kNN accuracy"), NULL, TRUE);
  /* Accuracy on its true scale: a zoomed axis would make noise look like learning. */
  pt_line_plot_set_y_range (self->knn_plot, 0.0, 1.0);
  gtk_widget_set_size_request (GTK_WIDGET (self->knn_plot), -1, 180);
  gtk_widget_add_css_class (GTK_WIDGET (self->knn_plot), "pt-card");
  pt_plot_export_attach (GTK_WIDGET (self->knn_plot));
  gtk_grid_attach (self->plots_grid, GTK_WIDGET (self->knn_plot), 0, 2, 2, 1);

  PtLinePlot *plots[] = { self->loss_plot, self->lr_plot, self->health_plot, self->rank_plot };

  for (int i = 0; i < 4; i++)
    {
      GtkWidget *plot = GTK_WIDGET (plots[i]);
      gtk_widget_set_size_request (plot, -1, 200);
      gtk_widget_add_css_class (plot, "pt-card");
      pt_plot_export_attach (plot);
      gtk_grid_attach (self->plots_grid, plot, i % 2, i / 2, 1, 1);
    }
}

static void
pt_pretrain_page_reset_views (PtPretrainPage *self)
{
  GtkWidget *child;

  pt_line_plot_clear (self->loss_plot);
  pt_line_plot_clear (self->lr_plot);
  pt_line_plot_clear (self->health_plot);
  pt_line_plot_clear (self->rank_plot);
  pt_line_plot_clear (self->knn_plot);
  g_cancellable_cancel (self->monitor_cancellable);
  g_clear_object (&self->monitor_cancellable);
  g_clear_object (&self->monitor_queries);
  self->monitor_step = G_MAXUINT64;
  self->monitor_running = FALSE;
  pt_line_plot_set_threshold (self->health_plot, NAN, NULL);
  g_hash_table_remove_all (self->visual_widgets);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->visuals_box))) != NULL)
    gtk_box_remove (self->visuals_box, child);
  self->temperature_scale = NULL;
  g_clear_pointer (&self->last_visuals, pt_visuals_unref);
  gtk_widget_set_visible (GTK_WIDGET (self->visuals_heading), FALSE);
  gtk_revealer_set_reveal_child (self->collapse_revealer, FALSE);
  pt_pretrain_page_set_message (self, NULL);
  self->n_logged = 0;
  self->n_visuals = 0;
  self->first_std = NAN;
}

static double
find_value (const PtNamedValue *values,
            int                 n,
            const char         *name)
{
  for (int i = 0; i < n; i++)
    if (g_strcmp0 (values[i].name, name) == 0)
      return values[i].value;
  return NAN;
}

typedef struct {
  char      *run_dir;
  PtDataset *ref;
  PtDataset *queries;   /* NULL: open the test split and take a subset */
  guint64    step;
  double     accuracy;
} MonitorJob;

static void
monitor_job_free (MonitorJob *job)
{
  g_free (job->run_dir);
  g_clear_object (&job->ref);
  g_clear_object (&job->queries);
  g_free (job);
}

#define MONITOR_REF 2000
#define MONITOR_QUERIES 1000

static void
monitor_thread (GTask        *task,
                gpointer      source,
                gpointer      task_data,
                GCancellable *cancellable)
{
  MonitorJob *job = task_data;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtKnnIndex) index = NULL;
  g_autoptr(PtKnnCache) cache = NULL;
  g_autofree float *f_ref = NULL, *f_q = NULL;
  PtClassReport *report;
  PtNormalization norm;
  GError *error = NULL;
  int d = 0, d2 = 0;

  if (job->queries == NULL)
    {
      g_autoptr(PtDataset) test = pt_features_open_split (job->run_dir, PT_SPLIT_TEST, cancellable, NULL);

      /* A dataset without a test split: hold out nothing, measure on the
       * reference itself (leave-one-out is not worth it for a monitor). */
      job->queries = test ? pt_dataset_new_balanced_subset (test, MONITOR_QUERIES) : g_object_ref (job->ref);
    }
  method = pt_features_load_method (job->run_dir, PT_FEATURES_TRAINED, &norm, &job->step, &error);
  if (method == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  f_ref = pt_features_extract (method, job->ref, &norm, &d, cancellable, &error);
  if (f_ref != NULL)
    f_q = pt_features_extract (method, job->queries, &norm, &d2, cancellable, &error);
  if (f_q == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  index = pt_knn_index_new (f_ref, (int) pt_dataset_get_n_images (job->ref), d);
  cache = pt_knn_cache_new (index, f_q, (int) pt_dataset_get_n_images (job->queries),
                            MIN (20, (int) pt_dataset_get_n_images (job->ref)), cancellable, &error);
  if (cache == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  report = pt_knn_cache_evaluate (cache, pt_dataset_get_labels (job->ref), pt_dataset_get_labels (job->queries),
                                  pt_dataset_get_n_classes (job->ref), MIN (20, cache->k_max), 0.07);
  job->accuracy = report->accuracy;
  pt_class_report_free (report);

  /* Kept with the run, so the Runs page can overlay the kNN curves of runs. */
  {
    g_autofree char *dir = g_build_filename (job->run_dir, "eval", NULL);
    g_autofree char *path = g_build_filename (dir, "knn-monitor.jsonl", NULL);
    char acc[G_ASCII_DTOSTR_BUF_SIZE];
    g_autofree char *line = g_strdup_printf ("{\"step\":%llu,\"knn_accuracy\":%s}\n",
                                             (unsigned long long) job->step,
                                             g_ascii_formatd (acc, sizeof acc, "%.6f", job->accuracy));
    FILE *f;

    g_mkdir_with_parents (dir, 0755);
    f = fopen (path, "a");
    if (f != NULL)
      {
        fputs (line, f);
        fclose (f);
      }
  }
  g_task_return_boolean (task, TRUE);
}

static void pt_pretrain_page_monitor (PtPretrainPage *self);

static void
on_monitor_done_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(PtPretrainPage) self = pt_app_task_dup_owner (result);
  MonitorJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (self == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  self->monitor_running = FALSE;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      g_debug ("kNN monitor: %s", error->message);
      return;
    }
  g_set_object (&self->monitor_queries, job->queries);
  pt_line_plot_append (self->knn_plot, 0, (double) job->step, job->accuracy);
  self->n_monitored++;
  /* A checkpoint may have been written while this one was measured. */
  pt_pretrain_page_monitor (self);
}

static void
pt_pretrain_page_monitor (PtPretrainPage *self)
{
  g_autoptr(GTask) task = NULL;
  MonitorJob *job;
  guint64 step;

  if (self->trainer == NULL || self->monitor_running || self->dataset == NULL ||
      pt_dataset_get_n_classes (self->dataset) == 0)
    return;
  step = pt_trainer_get_checkpoint_step (self->trainer);
  if (step == G_MAXUINT64 || step == self->monitor_step)
    return;

  if (self->monitor_ref == NULL)
    self->monitor_ref = pt_dataset_new_balanced_subset (self->dataset, MONITOR_REF);
  if (self->monitor_cancellable == NULL)
    self->monitor_cancellable = g_cancellable_new ();
  self->monitor_step = step;
  self->monitor_running = TRUE;

  job = g_new0 (MonitorJob, 1);
  job->run_dir = g_strdup (pt_run_get_dir (pt_trainer_get_run (self->trainer)));
  job->ref = g_object_ref (self->monitor_ref);
  job->queries = self->monitor_queries ? g_object_ref (self->monitor_queries) : NULL;
  task = pt_app_task_new (self, self->monitor_cancellable, on_monitor_done_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) monitor_job_free);
  g_task_run_in_thread (task, monitor_thread);
}

static void
on_metrics_cb (PtTrainer      *trainer,
               GPtrArray      *steps,
               PtPretrainPage *self)
{
  const PtStepMetrics *last = NULL;

  for (guint i = 0; i < steps->len; i++)
    {
      const PtStepMetrics *m = g_ptr_array_index (steps, i);
      double x = (double) m->step;
      double std = find_value (m->stats, m->n_stats, "embed_std");
      double rank = find_value (m->stats, m->n_stats, "effective_rank");
      /* The scheduled rate a method reports beats its base parameter. */
      double lr = find_value (m->stats, m->n_stats, "lr");

      if (!isfinite (lr))
        lr = m->lr;
      if (!isfinite (std))
        std = find_value (m->stats, m->n_stats, "feature_std");

      pt_line_plot_append (self->loss_plot, 0, x, m->loss);
      if (m->n_parts > 1)
        for (int k = 0; k < m->n_parts; k++)
          pt_line_plot_append (self->loss_plot, pt_line_plot_ensure_series (self->loss_plot, m->parts[k].name),
                               x, m->parts[k].value);
      if (isfinite (lr))
        pt_line_plot_append (self->lr_plot, 0, x, lr);
      if (isfinite (std))
        {
          pt_line_plot_append (self->health_plot, 0, x, std);
          if (!isfinite (self->first_std))
            {
              self->first_std = std;
              pt_line_plot_set_threshold (self->health_plot, std * 0.2, _("collapse"));
            }
          /* Collapse: the features stop spreading out (every image maps to
           * nearly the same point). Flag a fall below a fifth of the start. */
          if (std < self->first_std * 0.2 && !gtk_revealer_get_reveal_child (self->collapse_revealer))
            {
              gtk_label_set_label (self->collapse_label,
                                   _("The embeddings are collapsing: every image is mapped to nearly the same point. "
                                     "A lower learning rate, a higher temperature or stronger augmentation usually helps."));
              gtk_revealer_set_reveal_child (self->collapse_revealer, TRUE);
            }
        }
      if (isfinite (rank))
        pt_line_plot_append (self->rank_plot, 0, x, rank);
      for (guint e = 0; m->events && m->events[e]; e++)
        {
          pt_line_plot_add_marker (self->loss_plot, x, m->events[e]);
          pt_line_plot_add_marker (self->lr_plot, x, m->events[e]);
        }
      self->n_logged++;
      last = m;
    }

  if (last != NULL)
    {
      g_autofree char *status = NULL;
      double frac = self->total_steps ? (double) last->step / self->total_steps : 0;
      double eta = last->images_per_s > 0 && self->total_steps > last->step
                   ? (self->total_steps - last->step) * gtk_spin_button_get_value (self->batch_spin) / last->images_per_s
                   : 0;

      gtk_progress_bar_set_fraction (self->progress_bar, CLAMP (frac, 0, 1));
      pt_pretrain_page_monitor (self);
      /* TRANSLATORS: epoch, step/total steps, images per second, minutes:seconds left */
      status = g_strdup_printf (_("epoch %u · %u/%u · %.0f img/s · %d:%02d left"),
                                (guint) last->epoch + 1, (guint) last->step, (guint) self->total_steps,
                                last->images_per_s, (int) eta / 60, (int) eta % 60);
      gtk_label_set_label (self->status_label, status);
    }
}

/* Softmax over row r of a similarity matrix at temperature t; with
 * skip_self the diagonal is left out (views against views, as NT-Xent
 * does), otherwise the row is queries against keys (MoCo). */
static void
rescore_row (const float *sim,
             int          n,
             int          r,
             double       t,
             gboolean     skip_self,
             double      *out)
{
  double max = -INFINITY, sum = 0;

  for (int j = 0; j < n; j++)
    if (!skip_self || j != r)
      max = MAX (max, sim[r * n + j] / t);
  for (int j = 0; j < n; j++)
    {
      out[j] = skip_self && j == r ? 0.0 : exp (sim[r * n + j] / t - max);
      sum += out[j];
    }
  for (int j = 0; j < n; j++)
    out[j] /= sum;
}

static void
pt_pretrain_page_update_softmax (PtPretrainPage *self)
{
  const PtVisualItem *sim, *positive;
  PtBarChart *chart;
  g_autofree double *p = NULL;
  g_autoptr(GPtrArray) labels = NULL;
  int n, pos;

  if (self->last_visuals == NULL || self->temperature_scale == NULL)
    return;
  sim = pt_visuals_lookup (self->last_visuals, "similarity");
  chart = g_hash_table_lookup (self->visual_widgets, "softmax");
  if (sim == NULL || chart == NULL || sim->rank != 2 || sim->shape[0] != sim->shape[1])
    return;
  n = sim->shape[0];
  positive = pt_visuals_lookup (self->last_visuals, "positive_index");
  pos = positive && positive->shape[0] > 0 ? (int) positive->data[0] : n / 2;
  p = g_new (double, n);
  rescore_row (sim->data, n, 0, gtk_range_get_value (GTK_RANGE (self->temperature_scale)), pos != 0, p);
  labels = g_ptr_array_new_with_free_func (g_free);
  for (int j = 0; j < n; j++)
    g_ptr_array_add (labels, j == pos ? g_strdup_printf (_("%d (positive)"), j) : g_strdup_printf ("%d", j));
  pt_bar_chart_set_data (chart, (guint) n, (const char * const *) labels->pdata, p);
  pt_bar_chart_set_highlight (chart, pos);
}

static void
on_mask_ratio_changed_cb (GtkRange       *range,
                          PtPretrainPage *self)
{
  g_autoptr(GError) error = NULL;

  if (self->trainer != NULL &&
      !pt_trainer_set_param (self->trainer, "visual_mask_ratio", gtk_range_get_value (range), &error))
    pt_pretrain_page_set_message (self, error->message);
}

static void
on_temperature_changed_cb (PtPretrainPage *self)
{
  pt_pretrain_page_update_softmax (self);
}

static GtkWidget *
visual_card (PtPretrainPage *self,
             const char     *name,
             const char     *title,
             GtkWidget      *child)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *label = gtk_label_new (title);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 60);
  gtk_widget_add_css_class (label, "heading");
  gtk_widget_add_css_class (box, "pt-card");
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), child);
  gtk_box_append (self->visuals_box, box);
  pt_plot_export_attach (child);
  g_hash_table_insert (self->visual_widgets, g_strdup (name), child);
  return child;
}

static const char *
visual_title (const char *name)
{
  static const struct { const char *name; const char *title; } titles[] = {
    { "similarity", N_("Cosine similarity of the batch's views (outlined: the positive pair)") },
    { "reconstruction", N_("Masked autoencoding: original, masked, reconstruction, reconstruction with visible patches") },
    { "prototype_usage", N_("How often each prototype is chosen") },
    { "cluster_sizes", N_("Cluster sizes at the last k-means run (by default the first is at epoch 2, on a whole epoch of features)") },
    { "rotation_confusion", N_("Rotation predicted (columns) against applied (rows)") },
    { "queue_similarity", N_("Similarity of queries to the queue") },
    { "prototype_samples", N_("Images assigned to the most used prototypes") },
    { "cluster_samples", N_("Images of the largest clusters") },
    { "nmi", N_("Agreement of the clusters with the true classes (normalized mutual information: 0 none, 1 the classes themselves)") },
    { "ambiguous_index", N_("The images whose rotation the network finds most ambiguous") },
    { "confusion", N_("Rotation predicted (columns) against applied (rows)") },
  };

  for (guint i = 0; i < G_N_ELEMENTS (titles); i++)
    if (g_str_equal (name, titles[i].name))
      return _(titles[i].title);
  return name;
}

/* Thumbnails of dataset images by index: rows of up to `cols` images. A
 * negative or out-of-range index leaves a black cell. */
static void
show_gallery (PtPretrainPage *self,
              const char     *name,
              const float    *indices,
              int             rows,
              int             cols,
              const char * const *row_titles)
{
  GtkWidget *w = g_hash_table_lookup (self->visual_widgets, name);
  int C = pt_dataset_get_channels (self->dataset);
  int H = pt_dataset_get_height (self->dataset);
  int W = pt_dataset_get_width (self->dataset);
  gsize size = (gsize) C * H * W;
  guint n_images = pt_dataset_get_n_images (self->dataset);
  g_autofree float *pixels = g_new0 (float, (gsize) rows * cols * size);

  for (int i = 0; i < rows * cols; i++)
    {
      double v = indices[i];
      const guint8 *img;

      if (!(v >= 0 && v < n_images))
        continue;
      img = pt_dataset_get_image (self->dataset, (guint) v);
      for (gsize k = 0; k < size; k++)
        pixels[(gsize) i * size + k] = img[k] / 255.0f;
    }
  if (w == NULL)
    w = visual_card (self, name, visual_title (name), pt_image_grid_new ());
  pt_image_grid_set_images (PT_IMAGE_GRID (w), rows * cols, C, H, W, pixels, cols, row_titles);
}

static void
on_visuals_cb (PtTrainer      *trainer,
               PtVisuals      *visuals,
               PtPretrainPage *self)
{
  const PtVisualItem *positive = pt_visuals_lookup (visuals, "positive_index");

  g_clear_pointer (&self->last_visuals, pt_visuals_unref);
  self->last_visuals = pt_visuals_ref (visuals);
  self->n_visuals++;

  for (guint i = 0; i < pt_visuals_get_n_items (visuals); i++)
    {
      const PtVisualItem *item = pt_visuals_get_item (visuals, i);
      GtkWidget *w = g_hash_table_lookup (self->visual_widgets, item->name);

      switch (item->kind)
        {
        case PT_VISUAL_MATRIX:
          if (item->rank != 2)
            break;
          /* Per-cluster samples are dataset indices: show the images of the
           * most used clusters (SwAV prototypes, DeepCluster clusters). */
          if (g_str_has_suffix (item->name, "_samples") && self->dataset != NULL)
            {
              const PtVisualItem *usage = pt_visuals_lookup (visuals, "prototype_usage");
              int rows = MIN (item->shape[0], 8), cols = MIN (item->shape[1], 8);
              g_autofree int *order = g_new (int, item->shape[0]);
              g_autofree float *picked = g_new (float, (gsize) rows * cols);
              g_autoptr(GPtrArray) titles = g_ptr_array_new_with_free_func (g_free);

              if (usage == NULL)
                usage = pt_visuals_lookup (visuals, "cluster_sizes");
              for (int r = 0; r < item->shape[0]; r++)
                order[r] = r;
              /* Most used first (a selection sort over a few hundred rows). */
              for (int a = 0; usage && usage->shape[0] == item->shape[0] && a < rows; a++)
                for (int b = a + 1; b < item->shape[0]; b++)
                  if (usage->data[order[b]] > usage->data[order[a]])
                    {
                      int t = order[a];
                      order[a] = order[b];
                      order[b] = t;
                    }
              for (int r = 0; r < rows; r++)
                {
                  for (int c = 0; c < cols; c++)
                    picked[r * cols + c] = item->data[order[r] * item->shape[1] + c];
                  g_ptr_array_add (titles, g_strdup_printf (_("cluster %d"), order[r]));
                }
              show_gallery (self, item->name, picked, rows, cols, (const char * const *) titles->pdata);
              break;
            }
          if (w == NULL)
            {
              gboolean sim = strstr (item->name, "similarity") != NULL;
              w = visual_card (self, item->name, visual_title (item->name),
                               pt_heatmap_new (sim ? PT_HEATMAP_DIVERGING : PT_HEATMAP_SEQUENTIAL));
              gtk_widget_set_size_request (w, -1, 320);
              if (!sim)
                pt_heatmap_set_show_values (PT_HEATMAP (w), TRUE, "%.0f");
              if (g_str_equal (item->name, "similarity"))
                {
                  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
                  GtkWidget *lab = gtk_label_new (_("Temperature for the softmax of row 0"));
                  GtkWidget *chart = pt_bar_chart_new ();

                  self->temperature_scale = GTK_SCALE (gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.02, 2.0, 0.01));
                  gtk_scale_set_digits (self->temperature_scale, 2);
                  gtk_scale_set_draw_value (self->temperature_scale, TRUE);
                  gtk_range_set_value (GTK_RANGE (self->temperature_scale), 0.5);
                  gtk_widget_set_hexpand (GTK_WIDGET (self->temperature_scale), TRUE);
                  g_signal_connect_object (self->temperature_scale, "value-changed",
                                           G_CALLBACK (on_temperature_changed_cb), self, G_CONNECT_SWAPPED);
                  gtk_box_append (GTK_BOX (row), lab);
                  gtk_box_append (GTK_BOX (row), GTK_WIDGET (self->temperature_scale));
                  gtk_box_append (GTK_BOX (gtk_widget_get_parent (w)), row);
                  pt_bar_chart_set_value_format (PT_BAR_CHART (chart), "%.3f");
                  gtk_box_append (GTK_BOX (gtk_widget_get_parent (w)), chart);
                  g_hash_table_insert (self->visual_widgets, g_strdup ("softmax"), chart);
                }
            }
          pt_heatmap_set_matrix (PT_HEATMAP (w), item->shape[0], item->shape[1], item->data, NULL, NULL);
          if (g_str_equal (item->name, "similarity") && positive && positive->shape[0] == item->shape[0])
            {
              g_autofree int *outline = g_new (int, item->shape[0]);
              for (int r = 0; r < item->shape[0]; r++)
                outline[r] = (int) positive->data[r];
              pt_heatmap_set_outline (PT_HEATMAP (w), outline);
            }
          break;

        case PT_VISUAL_IMAGES:
          if (item->rank != 4)
            break;
          if (w == NULL)
            {
              w = visual_card (self, item->name, visual_title (item->name), pt_image_grid_new ());
              /* MAE: the mask ratio of the shown reconstructions, any value at
               * inference; applied from the next snapshot. */
              if (pt_method_has_param (pt_trainer_get_method (trainer), "visual_mask_ratio"))
                {
                  GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
                  GtkWidget *lab = gtk_label_new (_("Mask ratio of the reconstructions"));
                  GtkWidget *scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, 0.0, 0.95, 0.05);

                  gtk_scale_set_digits (GTK_SCALE (scale), 2);
                  gtk_scale_set_draw_value (GTK_SCALE (scale), TRUE);
                  GtkSpinButton *spin = g_hash_table_lookup (self->param_spins, "visual_mask_ratio");

                  /* The value the run started with (the method itself belongs
                   * to the training thread while it runs). */
                  gtk_range_set_value (GTK_RANGE (scale), spin ? gtk_spin_button_get_value (spin) : 0.75);
                  gtk_widget_set_hexpand (scale, TRUE);
                  g_signal_connect_object (scale, "value-changed", G_CALLBACK (on_mask_ratio_changed_cb), self, 0);
                  gtk_box_append (GTK_BOX (row), lab);
                  gtk_box_append (GTK_BOX (row), scale);
                  gtk_box_append (GTK_BOX (gtk_widget_get_parent (w)), row);
                }
            }
          {
            gboolean mae = g_str_has_prefix (item->name, "reconstruction");
            const char *rows[] = { _("original"), _("masked"), _("reconstruction"), _("+ visible"), NULL };
            int n = item->shape[0], C = item->shape[1];
            int cols = mae && n % 4 == 0 ? n / 4 : MIN (n, 16);
            gsize plane = (gsize) item->shape[2] * item->shape[3];
            g_autofree float *shown = g_memdup2 (item->data, (gsize) n * C * plane * sizeof (float));
            PtNormalization norm;

            /* Images in the model's input space are normalized per channel
             * with the run's mean and std: back to [0, 1] pixels to be seen
             * as they are (the grid clamps). */
            if (trainer != NULL && C >= 1 && C <= 3 &&
                pt_normalization_load (&norm, pt_run_get_config (pt_trainer_get_run (trainer)), "run", NULL))
              pt_normalization_to_pixels (&norm, shown, n, C, plane);
            pt_image_grid_set_images (PT_IMAGE_GRID (w), n, C, item->shape[2], item->shape[3],
                                      shown, cols, mae && n % 4 == 0 ? rows : NULL);
          }
          break;

        case PT_VISUAL_VECTOR:
          if (g_str_equal (item->name, "ambiguous_index") && self->dataset != NULL && item->shape[0] > 0)
            {
              show_gallery (self, item->name, item->data, 1, MIN (item->shape[0], 16), NULL);
              break;
            }
          if (g_str_has_prefix (item->name, "ambiguous_"))
            break;
          if (g_str_equal (item->name, "positive_index") || g_str_equal (item->name, "probe_softmax") ||
              item->rank != 1 || item->shape[0] > 200)
            break;
          if (w == NULL)
            w = visual_card (self, item->name, visual_title (item->name), pt_bar_chart_new ());
          {
            g_autoptr(GPtrArray) labels = g_ptr_array_new_with_free_func (g_free);
            g_autofree double *v = g_new (double, MAX (1, item->shape[0]));
            gboolean counts = TRUE;
            gboolean nmi = g_str_equal (item->name, "nmi");

            for (int k = 0; k < item->shape[0]; k++)
              {
                g_ptr_array_add (labels, nmi ? g_strdup (_("NMI")) : g_strdup_printf ("%d", k));
                v[k] = item->data[k];
                counts = counts && v[k] == floor (v[k]) && fabs (v[k]) < 1e9;
              }
            /* cluster sizes and prototype usage are counts: 1040, not 1.04e+03 */
            pt_bar_chart_set_value_format (PT_BAR_CHART (w), nmi ? "%.2f" : counts ? "%.0f" : "%.3g");
            if (nmi)
              pt_bar_chart_set_max_value (PT_BAR_CHART (w), 1.0);
            pt_bar_chart_set_data (PT_BAR_CHART (w), (guint) item->shape[0],
                                   (const char * const *) labels->pdata, v);
          }
          break;

        case PT_VISUAL_POINTS:
          if (item->rank != 2 || item->shape[1] < 2)
            break;
          if (w == NULL)
            {
              w = visual_card (self, item->name, visual_title (item->name), pt_scatter_map_new ());
              gtk_widget_set_size_request (w, -1, 320);
            }
          {
            g_autofree float *xy = g_new (float, 2 * item->shape[0]);
            for (int k = 0; k < item->shape[0]; k++)
              {
                xy[2 * k] = item->data[k * item->shape[1]];
                xy[2 * k + 1] = item->data[k * item->shape[1] + 1];
              }
            pt_scatter_map_set_points (PT_SCATTER_MAP (w), (guint) item->shape[0], xy, NULL, 0, NULL);
          }
          break;
        }
    }

  if (g_hash_table_size (self->visual_widgets) > 0)
    {
      g_autofree char *heading = g_strdup_printf (_("What %s sees (step %u)"),
                                                  pt_method_get_title (pt_trainer_get_method (trainer)),
                                                  (guint) pt_visuals_get_step (visuals));
      gtk_label_set_label (self->visuals_heading, heading);
      gtk_widget_set_visible (GTK_WIDGET (self->visuals_heading), TRUE);
    }
  pt_pretrain_page_update_softmax (self);
}

static void
on_state_changed_cb (PtTrainer      *trainer,
                     PtTrainerState  old_state,
                     PtTrainerState  new_state,
                     PtPretrainPage *self)
{
  pt_pretrain_page_monitor (self);
  if (new_state == PT_TRAINER_FINISHED)
    {
      gtk_progress_bar_set_fraction (self->progress_bar, 1.0);
      gtk_label_set_label (self->status_label, _("Finished; the run is saved"));
    }
  else if (new_state == PT_TRAINER_FAILED)
    {
      const GError *error = pt_trainer_get_error (trainer);
      pt_pretrain_page_set_message (self, error ? error->message : _("The run failed."));
      gtk_label_set_label (self->status_label, _("Failed"));
    }
  else if (new_state == PT_TRAINER_PAUSED)
    gtk_label_set_label (self->status_label, _("Paused"));
  pt_pretrain_page_update_actions (self);
}

static void
on_fault_cb (PtTrainer      *trainer,
             guint64         step,
             const char     *message,
             const char     *hint,
             PtPretrainPage *self)
{
  g_autofree char *text = g_strdup_printf ("%s %s", message, hint ? hint : "");

  pt_pretrain_page_set_message (self, text);
  pt_pretrain_page_update_actions (self);
}

static void
pt_pretrain_page_drop_trainer (PtPretrainPage *self)
{
  if (self->trainer == NULL)
    return;
  g_signal_handlers_disconnect_by_data (self->trainer, self);
  if (trainer_active (self))
    {
      /* The page is going away mid-run: keep the work (checkpoint), then
       * wait for the thread so nothing outlives the page. */
      pt_trainer_stop (self->trainer);
      pt_trainer_wait (self->trainer, 30 * G_USEC_PER_SEC);
    }
  g_clear_object (&self->trainer);
}

static void
build_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  PtTrainSpec *spec = task_data;
  PtDataset *dataset = g_object_get_data (G_OBJECT (task), "pt-dataset");
  GError *error = NULL;
  PtTrainer *trainer = pt_train_spec_build (spec, dataset, cancellable, &error);

  if (trainer == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, trainer, g_object_unref);
}

static void
on_trainer_built_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(PtPretrainPage) self = pt_app_task_dup_owner (result);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = g_task_propagate_pointer (G_TASK (result), &error);

  /* The page was disposed (or the build superseded) while the worker ran:
   * the run directory exists but nothing trains; drop the trainer. */
  if (self == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_object (&self->cancellable);
  if (trainer == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        pt_pretrain_page_set_message (self, error->message);
      gtk_label_set_label (self->status_label, "");
      pt_pretrain_page_update_actions (self);
      return;
    }
  pt_pretrain_page_drop_trainer (self);
  self->trainer = g_steal_pointer (&trainer);
  g_signal_connect (self->trainer, "metrics", G_CALLBACK (on_metrics_cb), self);
  g_signal_connect (self->trainer, "visuals", G_CALLBACK (on_visuals_cb), self);
  g_signal_connect (self->trainer, "state-changed", G_CALLBACK (on_state_changed_cb), self);
  g_signal_connect (self->trainer, "fault", G_CALLBACK (on_fault_cb), self);

  if (!pt_trainer_start (self->trainer, &error))
    pt_pretrain_page_set_message (self, error->message);
  gtk_label_set_label (self->status_label, _("Training…"));
  pt_pretrain_page_update_actions (self);
}

void
pt_pretrain_page_start (PtPretrainPage *self)
{
  g_autoptr(GTask) task = NULL;
  PtTrainSpec *spec;
  const char *method = current_method_name (self);
  guint augment = gtk_drop_down_get_selected (self->augment_dropdown);
  double epochs;

  g_return_if_fail (PT_IS_PRETRAIN_PAGE (self));

  if (method == NULL || self->dataset == NULL || trainer_active (self) || self->cancellable != NULL)
    return;

  spec = pt_train_spec_new ();
  spec->method = g_strdup (method);
  spec->dataset = g_strdup (pt_dataset_get_spec (self->dataset));
  spec->encoder = g_strdup (gtk_drop_down_get_selected (self->encoder_dropdown) == 1 ? "vit" : "cnn");
  spec->width = gtk_spin_button_get_value_as_int (self->width_spin);
  spec->batch_size = gtk_spin_button_get_value_as_int (self->batch_spin);
  spec->steps = (guint64) gtk_spin_button_get_value (self->steps_spin);
  epochs = gtk_spin_button_get_value (self->epochs_spin);
  spec->epochs = epochs;
  spec->seed = (guint64) gtk_spin_button_get_value (self->seed_spin);
  spec->init = g_strdup (self->init_path);
  if (augment == 1 && self->studio_recipe != NULL)
    {
      /* The recipe being edited on the Augment page, written where the run
       * can read it; config.ini keeps its full text, so the run stays
       * reproducible when the file changes later. */
      g_autofree char *dir = g_build_filename (g_get_user_cache_dir (), "pretext", NULL);
      g_autofree char *path = g_build_filename (dir, "augment-page-recipe.ini", NULL);
      g_autoptr(GError) error = NULL;

      if (g_mkdir_with_parents (dir, 0700) != 0 ||
          !g_file_set_contents_full (path, self->studio_recipe, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                     0600, &error))
        {
          pt_pretrain_page_set_message (self, error ? error->message : _("The recipe of the Augment page cannot be saved."));
          pt_train_spec_free (spec);
          return;
        }
      spec->augment = g_steal_pointer (&path);
    }
  else if (augment > 1 && self->presets && augment - 2 < g_strv_length (self->presets))
    spec->augment = g_strdup (self->presets[augment - 2]);
  if (self->runs_root != NULL)
    spec->out_dir = pt_run_default_dir (self->runs_root, method, spec->dataset);
  /* Checkpoints every 100 steps: the kNN monitor and the Embeddings page
   * follow them, and a crash loses little. */
  spec->checkpoint_every = 100;
  /* Only the settings changed from the method's defaults: the run derives
   * the others from itself as `pretext-cli train` does (the cosine schedule
   * ends at the run's last step, DeepCluster's bank holds the dataset);
   * config.ini records every value either way. */
  spec->params = g_key_file_new ();
  for (const PtMethodParam *p = current_method (self)->params; p && p->name; p++)
    {
      GtkSpinButton *spin = g_hash_table_lookup (self->param_spins, p->name);

      if (spin != NULL && gtk_spin_button_get_value (spin) != p->default_value)
        g_key_file_set_double (spec->params, "method", p->name, gtk_spin_button_get_value (spin));
    }

  self->total_steps = spec->steps ? spec->steps
                      : (guint64) MAX (1.0, floor (epochs * pt_dataset_get_n_images (self->dataset) / spec->batch_size));

  pt_pretrain_page_reset_views (self);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  gtk_label_set_label (self->status_label, _("Preparing the run…"));

  self->cancellable = g_cancellable_new ();
  task = pt_app_task_new (self, self->cancellable, on_trainer_built_cb);
  g_task_set_task_data (task, spec, (GDestroyNotify) pt_train_spec_free);
  g_object_set_data_full (G_OBJECT (task), "pt-dataset", g_object_ref (self->dataset), g_object_unref);
  g_task_run_in_thread (task, build_thread);
  pt_pretrain_page_update_actions (self);
}

static void
pt_pretrain_page_start_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  pt_pretrain_page_start (PT_PRETRAIN_PAGE (widget));
}

static void
pt_pretrain_page_pause_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (widget);

  if (self->trainer == NULL)
    return;
  if (pt_trainer_get_state (self->trainer) == PT_TRAINER_PAUSED)
    {
      pt_pretrain_page_set_message (self, NULL);
      pt_trainer_resume (self->trainer);
    }
  else
    pt_trainer_pause (self->trainer);
}

static void
pt_pretrain_page_step_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (widget);

  if (self->trainer != NULL)
    pt_trainer_step (self->trainer);
}

static void
pt_pretrain_page_stop_action (GtkWidget  *widget,
                              const char *action_name,
                              GVariant   *parameter)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (widget);

  if (self->trainer != NULL && pt_trainer_stop (self->trainer))
    gtk_label_set_label (self->status_label, _("Stopping after this step…"));
}

void
pt_pretrain_page_set_dataset (PtPretrainPage *self,
                              PtDataset      *dataset)
{
  g_return_if_fail (PT_IS_PRETRAIN_PAGE (self));

  if (!g_set_object (&self->dataset, dataset))
    return;
  g_clear_object (&self->monitor_ref);
  g_clear_object (&self->monitor_queries);
  pt_pretrain_page_update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
}

gboolean
pt_pretrain_page_set_method (PtPretrainPage *self,
                             const char     *name)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), FALSE);

  for (guint i = 0; i < self->n_methods; i++)
    if (g_str_equal (self->methods[i]->name, name))
      {
        gtk_drop_down_set_selected (self->method_dropdown, i);
        return TRUE;
      }
  return FALSE;
}

gboolean
pt_pretrain_page_set_value (PtPretrainPage *self,
                            const char     *key,
                            double          value)
{
  GtkSpinButton *spin = NULL;

  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), FALSE);

  if (g_str_equal (key, "width"))
    spin = self->width_spin;
  else if (g_str_equal (key, "batch"))
    spin = self->batch_spin;
  else if (g_str_equal (key, "epochs"))
    spin = self->epochs_spin;
  else if (g_str_equal (key, "steps"))
    spin = self->steps_spin;
  else if (g_str_equal (key, "seed"))
    spin = self->seed_spin;
  else if (g_str_equal (key, "augment"))
    {
      /* 0 the method's default, 1 the Augment page's recipe, 2.. the presets. */
      gtk_drop_down_set_selected (self->augment_dropdown, (guint) value);
      return TRUE;
    }
  else
    spin = g_hash_table_lookup (self->param_spins, key);
  if (spin == NULL)
    return FALSE;
  gtk_spin_button_set_value (spin, value);
  return TRUE;
}

void
pt_pretrain_page_set_runs_root (PtPretrainPage *self,
                                const char     *root)
{
  g_return_if_fail (PT_IS_PRETRAIN_PAGE (self));

  g_free (self->runs_root);
  self->runs_root = g_strdup (root);
}

PtTrainer *
pt_pretrain_page_get_trainer (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), NULL);
  return self->trainer;
}

guint
pt_pretrain_page_get_n_logged (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), 0);
  return self->n_logged;
}

guint
pt_pretrain_page_get_n_monitored (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), 0);
  return self->n_monitored;
}

gboolean
pt_pretrain_page_is_monitoring (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), FALSE);
  return self->monitor_running;
}

guint
pt_pretrain_page_get_n_visuals (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), 0);
  return self->n_visuals;
}

const char *
pt_pretrain_page_get_message (PtPretrainPage *self)
{
  g_return_val_if_fail (PT_IS_PRETRAIN_PAGE (self), NULL);
  return self->message;
}

static void
pt_pretrain_page_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATASET:
      g_value_set_object (value, self->dataset);
      break;
    case PROP_STUDIO_RECIPE:
      g_value_set_string (value, self->studio_recipe);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_pretrain_page_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATASET:
      pt_pretrain_page_set_dataset (self, g_value_get_object (value));
      break;
    case PROP_STUDIO_RECIPE:
      g_free (self->studio_recipe);
      self->studio_recipe = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_pretrain_page_dispose (GObject *object)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_cancellable_cancel (self->monitor_cancellable);
  g_clear_object (&self->monitor_cancellable);
  g_clear_object (&self->monitor_ref);
  g_clear_object (&self->monitor_queries);
  pt_pretrain_page_drop_trainer (self);
  g_clear_pointer (&self->last_visuals, pt_visuals_unref);
  g_clear_object (&self->dataset);
  gtk_widget_dispose_template (GTK_WIDGET (self), PT_TYPE_PRETRAIN_PAGE);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);

  G_OBJECT_CLASS (pt_pretrain_page_parent_class)->dispose (object);
}

static void
pt_pretrain_page_finalize (GObject *object)
{
  PtPretrainPage *self = PT_PRETRAIN_PAGE (object);

  g_hash_table_unref (self->param_spins);
  g_hash_table_unref (self->visual_widgets);
  g_strfreev (self->presets);
  g_free (self->studio_recipe);
  g_free (self->init_path);
  g_free (self->methods);
  g_free (self->runs_root);
  g_free (self->message);

  G_OBJECT_CLASS (pt_pretrain_page_parent_class)->finalize (object);
}

static void
pt_pretrain_page_class_init (PtPretrainPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_pretrain_page_dispose;
  object_class->finalize = pt_pretrain_page_finalize;
  object_class->get_property = pt_pretrain_page_get_property;
  object_class->set_property = pt_pretrain_page_set_property;

  properties[PROP_DATASET] =
    g_param_spec_object ("dataset", NULL, NULL, PT_TYPE_DATASET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STUDIO_RECIPE] =
    g_param_spec_string ("studio-recipe", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-pretrain-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, content);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, method_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, method_description);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, training_grid);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, params_grid);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, start_button);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, pause_button);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, fault_revealer);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, fault_label);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, collapse_revealer);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, collapse_label);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, plots_grid);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, visuals_heading);
  gtk_widget_class_bind_template_child (widget_class, PtPretrainPage, visuals_box);

  gtk_widget_class_install_action (widget_class, "pretrain.start", NULL, pt_pretrain_page_start_action);
  gtk_widget_class_install_action (widget_class, "pretrain.pause", NULL, pt_pretrain_page_pause_action);
  gtk_widget_class_install_action (widget_class, "pretrain.step", NULL, pt_pretrain_page_step_action);
  gtk_widget_class_install_action (widget_class, "pretrain.stop", NULL, pt_pretrain_page_stop_action);
  gtk_widget_class_install_action (widget_class, "pretrain.choose-init", NULL, pt_pretrain_page_choose_init_action);
  gtk_widget_class_install_action (widget_class, "pretrain.clear-init", NULL, pt_pretrain_page_clear_init_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
pt_pretrain_page_init (PtPretrainPage *self)
{
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));

  self->param_spins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->visual_widgets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->first_std = NAN;
  self->monitor_step = G_MAXUINT64;

  pt_pretrain_page_build_training_grid (self);
  pt_pretrain_page_build_plots (self);

  self->methods = pt_method_list (&self->n_methods);
  for (guint i = 0; i < self->n_methods; i++)
    gtk_string_list_append (titles, self->methods[i]->title);
  gtk_drop_down_set_model (self->method_dropdown, G_LIST_MODEL (titles));
  g_signal_connect_object (self->method_dropdown, "notify::selected",
                           G_CALLBACK (on_method_selected_cb), self, G_CONNECT_SWAPPED);
  pt_pretrain_page_rebuild_params (self);
  pt_pretrain_page_update_actions (self);
}
