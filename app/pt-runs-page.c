/* pt-runs-page.c: the list of runs and the overlay of their curves.
 *
 * The list is a GtkColumnView over a GListStore of PtRunRow objects made
 * from pt_run_list(). Selecting rows reads their metrics.jsonl on a worker
 * and overlays the loss (and learning-rate) curves, one colour per run.
 */
#include <math.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pt-app-task.h"
#include "pt-build-config.h"
#include "pt-line-plot.h"
#include "pt-plot-export.h"
#include "pt-run.h"
#include "pt-runs-page.h"

/* ---- A row ------------------------------------------------------------- */

#define PT_TYPE_RUN_ROW (pt_run_row_get_type ())
G_DECLARE_FINAL_TYPE (PtRunRow, pt_run_row, PT, RUN_ROW, GObject)

struct _PtRunRow
{
  GObject    parent_instance;
  PtRunInfo *info;
};

G_DEFINE_FINAL_TYPE (PtRunRow, pt_run_row, G_TYPE_OBJECT)

static void
pt_run_row_finalize (GObject *object)
{
  g_clear_pointer (&PT_RUN_ROW (object)->info, pt_run_info_free);
  G_OBJECT_CLASS (pt_run_row_parent_class)->finalize (object);
}

static void
pt_run_row_class_init (PtRunRowClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pt_run_row_finalize;
}

static void
pt_run_row_init (PtRunRow *self)
{
}

/* ---- The page ---------------------------------------------------------- */

struct _PtRunsPage
{
  GtkWidget          parent_instance;

  GtkWidget         *content;
  GListStore        *store;
  GtkMultiSelection *selection;
  GtkWidget         *evaluate_button;
  char              *selected_dir;    /* the one selected run, or NULL */
  GtkColumnView     *view;
  PtLinePlot        *loss_plot;
  PtLinePlot        *lr_plot;
  PtLinePlot        *knn_plot;
  GtkLabel          *summary_label;
  char              *runs_root;
  GCancellable      *cancellable;
  guint              generation;
};

G_DEFINE_FINAL_TYPE (PtRunsPage, pt_runs_page, GTK_TYPE_WIDGET)

typedef enum {
  COL_NAME,
  COL_METHOD,
  COL_DATASET,
  COL_STEPS,
  COL_LOSS,
  COL_PROBE,
} Column;

static char *
cell_text (PtRunInfo *info,
           Column     col)
{
  switch (col)
    {
    case COL_NAME: return g_strdup (info->name);
    case COL_METHOD: return g_strdup (info->method);
    case COL_DATASET: return g_strdup (info->dataset);
    case COL_STEPS: return g_strdup_printf ("%llu", (unsigned long long) info->steps);
    case COL_LOSS: return isfinite (info->last_loss) ? g_strdup_printf ("%.4f", info->last_loss) : g_strdup ("—");
    case COL_PROBE: return isfinite (info->probe) ? g_strdup_printf ("%.1f %%", 100 * info->probe) : g_strdup ("—");
    }
  return NULL;
}

static void
on_cell_setup_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  gpointer                  data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), GPOINTER_TO_INT (data) >= COL_STEPS ? 1.0 : 0.0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (GPOINTER_TO_INT (data) >= COL_STEPS)
    gtk_widget_add_css_class (label, "pt-numeric");
  gtk_list_item_set_child (item, label);
}

static void
on_cell_bind_cb (GtkSignalListItemFactory *factory,
                 GtkListItem              *item,
                 gpointer                  data)
{
  PtRunRow *row = gtk_list_item_get_item (item);
  g_autofree char *text = cell_text (row->info, GPOINTER_TO_INT (data));

  gtk_label_set_label (GTK_LABEL (gtk_list_item_get_child (item)), text);
}

static void
add_column (PtRunsPage *self,
            const char *title,
            Column      col,
            gboolean    expand)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  g_autoptr(GtkColumnViewColumn) column = NULL;

  g_signal_connect (factory, "setup", G_CALLBACK (on_cell_setup_cb), GINT_TO_POINTER (col));
  g_signal_connect (factory, "bind", G_CALLBACK (on_cell_bind_cb), GINT_TO_POINTER (col));
  column = gtk_column_view_column_new (title, g_object_ref (factory));
  gtk_column_view_column_set_expand (column, expand);
  gtk_column_view_column_set_resizable (column, TRUE);
  gtk_column_view_append_column (self->view, column);
}

/* One run's curves, read on a worker. */
typedef struct {
  char   *dir;
  char   *name;
  GArray *step, *loss, *lr;   /* double */
  GArray *knn_step, *knn;     /* double: the Pretrain page's kNN monitor */
} Curves;

static void
curves_free (Curves *c)
{
  g_free (c->dir);
  g_free (c->name);
  g_array_unref (c->step);
  g_array_unref (c->loss);
  g_array_unref (c->lr);
  g_array_unref (c->knn_step);
  g_array_unref (c->knn);
  g_free (c);
}

static void
read_curves_thread (GTask        *task,
                    gpointer      source,
                    gpointer      task_data,
                    GCancellable *cancellable)
{
  GPtrArray *dirs = task_data;
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) curves_free);

  for (guint i = 0; i < dirs->len && !g_cancellable_is_cancelled (cancellable); i += 2)
    {
      g_autofree char *path = g_build_filename (dirs->pdata[i], "metrics.jsonl", NULL);
      g_autofree char *text = NULL;
      g_auto(GStrv) lines = NULL;
      g_autoptr(JsonParser) parser = json_parser_new ();
      Curves *c = g_new0 (Curves, 1);

      c->dir = g_strdup (dirs->pdata[i]);
      c->name = g_strdup (dirs->pdata[i + 1]);
      c->step = g_array_new (FALSE, FALSE, sizeof (double));
      c->loss = g_array_new (FALSE, FALSE, sizeof (double));
      c->lr = g_array_new (FALSE, FALSE, sizeof (double));
      c->knn_step = g_array_new (FALSE, FALSE, sizeof (double));
      c->knn = g_array_new (FALSE, FALSE, sizeof (double));
      g_ptr_array_add (out, c);

      {
        g_autofree char *knn_path = g_build_filename (dirs->pdata[i], "eval", "knn-monitor.jsonl", NULL);
        g_autofree char *knn_text = NULL;

        if (g_file_get_contents (knn_path, &knn_text, NULL, NULL))
          {
            g_auto(GStrv) knn_lines = g_strsplit (knn_text, "\n", -1);

            for (guint l = 0; knn_lines[l]; l++)
              {
                JsonObject *o;
                double st, acc;

                if (*knn_lines[l] == '\0' || !json_parser_load_from_data (parser, knn_lines[l], -1, NULL) ||
                    !JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
                  continue;
                o = json_node_get_object (json_parser_get_root (parser));
                st = json_object_get_double_member_with_default (o, "step", NAN);
                acc = json_object_get_double_member_with_default (o, "knn_accuracy", NAN);
                if (isfinite (st) && isfinite (acc))
                  {
                    g_array_append_val (c->knn_step, st);
                    g_array_append_val (c->knn, acc);
                  }
              }
          }
      }

      /* A run without metrics yet, or a torn last line while it trains,
       * simply shows what parses. */
      if (!g_file_get_contents (path, &text, NULL, NULL))
        continue;
      lines = g_strsplit (text, "\n", -1);
      for (guint l = 0; lines[l]; l++)
        {
          JsonObject *o;
          double step, loss, lr;

          if (*lines[l] == '\0' || !json_parser_load_from_data (parser, lines[l], -1, NULL))
            continue;
          if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
            continue;
          o = json_node_get_object (json_parser_get_root (parser));
          if (!json_object_has_member (o, "step") || !json_object_has_member (o, "loss"))
            continue;
          step = json_object_get_double_member_with_default (o, "step", NAN);
          loss = json_object_get_double_member_with_default (o, "loss", NAN);
          lr = json_object_get_double_member_with_default (o, "lr", NAN);
          g_array_append_val (c->step, step);
          g_array_append_val (c->loss, loss);
          g_array_append_val (c->lr, lr);
        }
    }
  g_task_return_pointer (task, out, (GDestroyNotify) g_ptr_array_unref);
}

static void
on_curves_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(PtRunsPage) self = pt_app_task_dup_owner (result);
  g_autoptr(GPtrArray) curves = g_task_propagate_pointer (G_TASK (result), NULL);
  guint gen = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (result), "pt-generation"));

  if (self == NULL || curves == NULL || gen != self->generation)
    return;

  /* Rebuild the overlay: one series per run (fresh plots, fresh colours). */
  {
    GtkWidget *lp = gtk_widget_get_parent (GTK_WIDGET (self->loss_plot));
    GtkWidget *rp = gtk_widget_get_parent (GTK_WIDGET (self->lr_plot));
    GtkWidget *new_loss = pt_line_plot_new (_("Loss"), _("step"));
    GtkWidget *new_lr = pt_line_plot_new (_("Learning rate"), _("step"));
    GtkWidget *kp = gtk_widget_get_parent (GTK_WIDGET (self->knn_plot));
    GtkWidget *new_knn = pt_line_plot_new (_("kNN accuracy on held-out images"), _("step"));

    pt_line_plot_set_y_range (PT_LINE_PLOT (new_knn), 0.0, 1.0);
    gtk_widget_set_size_request (new_knn, -1, 160);
    pt_plot_export_attach (new_knn);
    gtk_box_insert_child_after (GTK_BOX (kp), new_knn, GTK_WIDGET (self->knn_plot));
    gtk_box_remove (GTK_BOX (kp), GTK_WIDGET (self->knn_plot));
    self->knn_plot = PT_LINE_PLOT (new_knn);

    gtk_widget_set_vexpand (new_loss, TRUE);
    gtk_widget_set_size_request (new_lr, -1, 160);
    pt_plot_export_attach (new_loss);
    pt_plot_export_attach (new_lr);
    gtk_box_insert_child_after (GTK_BOX (lp), new_loss, GTK_WIDGET (self->loss_plot));
    gtk_box_remove (GTK_BOX (lp), GTK_WIDGET (self->loss_plot));
    gtk_box_insert_child_after (GTK_BOX (rp), new_lr, GTK_WIDGET (self->lr_plot));
    gtk_box_remove (GTK_BOX (rp), GTK_WIDGET (self->lr_plot));
    self->loss_plot = PT_LINE_PLOT (new_loss);
    self->lr_plot = PT_LINE_PLOT (new_lr);
  }

  for (guint i = 0; i < curves->len; i++)
    {
      Curves *c = curves->pdata[i];
      guint sl = pt_line_plot_add_series (self->loss_plot, c->name, NULL, FALSE);
      guint sr = pt_line_plot_add_series (self->lr_plot, c->name, NULL, FALSE);
      guint sk = pt_line_plot_add_series (self->knn_plot, c->name, NULL, TRUE);

      for (guint k = 0; k < c->knn->len; k++)
        pt_line_plot_append (self->knn_plot, sk, g_array_index (c->knn_step, double, k),
                             g_array_index (c->knn, double, k));

      for (guint k = 0; k < c->step->len; k++)
        {
          pt_line_plot_append (self->loss_plot, sl, g_array_index (c->step, double, k),
                               g_array_index (c->loss, double, k));
          if (isfinite (g_array_index (c->lr, double, k)))
            pt_line_plot_append (self->lr_plot, sr, g_array_index (c->step, double, k),
                                 g_array_index (c->lr, double, k));
        }
    }
}

static void
on_selection_changed_cb (PtRunsPage *self)
{
  g_autoptr(GTask) task = NULL;
  GPtrArray *dirs = g_ptr_array_new_with_free_func (g_free);
  guint n = g_list_model_get_n_items (G_LIST_MODEL (self->store));
  g_autofree char *summary = NULL;
  guint n_selected = 0;

  for (guint i = 0; i < n; i++)
    if (gtk_selection_model_is_selected (GTK_SELECTION_MODEL (self->selection), i))
      {
        g_autoptr(PtRunRow) row = g_list_model_get_item (G_LIST_MODEL (self->store), i);
        g_ptr_array_add (dirs, g_strdup (row->info->dir));
        g_ptr_array_add (dirs, g_strdup_printf ("%s (%s)", row->info->method, row->info->name));
        n_selected++;
      }

  g_clear_pointer (&self->selected_dir, g_free);
  if (n_selected == 1)
    self->selected_dir = g_strdup (dirs->pdata[0]);
  gtk_widget_set_sensitive (self->evaluate_button, n_selected == 1);

  summary = n_selected == 0 ? g_strdup (_("Select runs to compare their curves (Ctrl-click for several)."))
                            : g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u run selected", "%u runs selected", n_selected), n_selected);
  gtk_label_set_label (self->summary_label, summary);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;
  task = pt_app_task_new (self, self->cancellable, on_curves_read_cb);
  g_object_set_data (G_OBJECT (task), "pt-generation", GUINT_TO_POINTER (self->generation));
  g_task_set_task_data (task, dirs, (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, read_curves_thread);
}

void
pt_runs_page_refresh (PtRunsPage *self)
{
  g_autoptr(GPtrArray) runs = NULL;

  g_return_if_fail (PT_IS_RUNS_PAGE (self));

  runs = pt_run_list (self->runs_root, NULL);
  g_list_store_remove_all (self->store);
  /* Newest first. */
  for (guint i = runs ? runs->len : 0; i-- > 0;)
    {
      PtRunRow *row = g_object_new (PT_TYPE_RUN_ROW, NULL);
      row->info = g_steal_pointer (&runs->pdata[i]);
      g_list_store_append (self->store, row);
      g_object_unref (row);
    }
}

static void
pt_runs_page_refresh_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  pt_runs_page_refresh (PT_RUNS_PAGE (widget));
}

void
pt_runs_page_set_runs_root (PtRunsPage *self,
                            const char *root)
{
  g_return_if_fail (PT_IS_RUNS_PAGE (self));

  g_free (self->runs_root);
  self->runs_root = g_strdup (root);
  pt_runs_page_refresh (self);
}

guint
pt_runs_page_get_n_runs (PtRunsPage *self)
{
  g_return_val_if_fail (PT_IS_RUNS_PAGE (self), 0);
  return g_list_model_get_n_items (G_LIST_MODEL (self->store));
}

void
pt_runs_page_select (PtRunsPage *self,
                     guint       i,
                     gboolean    extend)
{
  g_return_if_fail (PT_IS_RUNS_PAGE (self));
  gtk_selection_model_select_item (GTK_SELECTION_MODEL (self->selection), i, !extend);
}

guint
pt_runs_page_get_n_knn_points (PtRunsPage *self,
                               guint       series)
{
  g_return_val_if_fail (PT_IS_RUNS_PAGE (self), 0);
  return series < pt_line_plot_get_n_series (self->knn_plot)
         ? pt_line_plot_get_n_points (self->knn_plot, series) : 0;
}

guint
pt_runs_page_get_n_curves (PtRunsPage *self)
{
  g_return_val_if_fail (PT_IS_RUNS_PAGE (self), 0);
  return pt_line_plot_get_n_series (self->loss_plot);
}

static void
pt_runs_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (pt_runs_page_parent_class)->map (widget);
  pt_runs_page_refresh (PT_RUNS_PAGE (widget));
}

static void
pt_runs_page_dispose (GObject *object)
{
  PtRunsPage *self = PT_RUNS_PAGE (object);
  GtkWidget *child;

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  g_clear_object (&self->selection);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (pt_runs_page_parent_class)->dispose (object);
}

static void
pt_runs_page_finalize (GObject *object)
{
  g_free (PT_RUNS_PAGE (object)->runs_root);
  g_free (PT_RUNS_PAGE (object)->selected_dir);
  G_OBJECT_CLASS (pt_runs_page_parent_class)->finalize (object);
}

static void
pt_runs_page_class_init (PtRunsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_runs_page_dispose;
  object_class->finalize = pt_runs_page_finalize;
  widget_class->map = pt_runs_page_map;
  gtk_widget_class_install_action (widget_class, "runs.refresh", NULL, pt_runs_page_refresh_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
on_evaluate_clicked_cb (PtRunsPage *self)
{
  if (self->selected_dir != NULL)
    gtk_widget_activate_action (GTK_WIDGET (self), "win.evaluate-run", "s", self->selected_dir);
}

static void
pt_runs_page_init (PtRunsPage *self)
{
  GtkWidget *paned = gtk_paned_new (GTK_ORIENTATION_VERTICAL);
  GtkWidget *top = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *bar = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
  GtkWidget *refresh = gtk_button_new_from_icon_name ("view-refresh-symbolic");
  GtkWidget *scroller = gtk_scrolled_window_new ();
  GtkWidget *plots = gtk_box_new (GTK_ORIENTATION_VERTICAL, 8);

  self->store = g_list_store_new (PT_TYPE_RUN_ROW);
  self->selection = gtk_multi_selection_new (G_LIST_MODEL (g_object_ref (self->store)));
  self->view = GTK_COLUMN_VIEW (gtk_column_view_new (GTK_SELECTION_MODEL (g_object_ref (self->selection))));
  gtk_column_view_set_show_column_separators (self->view, FALSE);
  add_column (self, _("Run"), COL_NAME, TRUE);
  add_column (self, _("Method"), COL_METHOD, FALSE);
  add_column (self, _("Dataset"), COL_DATASET, FALSE);
  add_column (self, _("Steps"), COL_STEPS, FALSE);
  add_column (self, _("Last loss"), COL_LOSS, FALSE);
  add_column (self, _("Probe"), COL_PROBE, FALSE);
  g_signal_connect_object (self->selection, "selection-changed",
                           G_CALLBACK (on_selection_changed_cb), self, G_CONNECT_SWAPPED);

  self->summary_label = GTK_LABEL (gtk_label_new (_("Select runs to compare their curves (Ctrl-click for several).")));
  gtk_label_set_xalign (self->summary_label, 0);
  gtk_widget_set_hexpand (GTK_WIDGET (self->summary_label), TRUE);
  gtk_widget_add_css_class (GTK_WIDGET (self->summary_label), "dim-label");
  gtk_widget_set_tooltip_text (refresh, _("Look for new runs"));
  gtk_actionable_set_action_name (GTK_ACTIONABLE (refresh), "runs.refresh");
  gtk_widget_set_margin_start (bar, 12);
  gtk_widget_set_margin_end (bar, 12);
  gtk_widget_set_margin_top (bar, 10);
  gtk_widget_set_margin_bottom (bar, 10);
  self->evaluate_button = gtk_button_new_with_mnemonic (_("E_valuate…"));
  gtk_widget_set_tooltip_text (self->evaluate_button, _("Open the selected run on the Evaluate page"));
  gtk_widget_set_sensitive (self->evaluate_button, FALSE);
  g_signal_connect_object (self->evaluate_button, "clicked",
                           G_CALLBACK (on_evaluate_clicked_cb), self, G_CONNECT_SWAPPED);
  gtk_box_append (GTK_BOX (bar), GTK_WIDGET (self->summary_label));
  gtk_box_append (GTK_BOX (bar), self->evaluate_button);
  gtk_box_append (GTK_BOX (bar), refresh);

  gtk_scrolled_window_set_child (GTK_SCROLLED_WINDOW (scroller), GTK_WIDGET (self->view));
  gtk_widget_set_vexpand (scroller, TRUE);
  gtk_box_append (GTK_BOX (top), bar);
  gtk_box_append (GTK_BOX (top), gtk_separator_new (GTK_ORIENTATION_HORIZONTAL));
  gtk_box_append (GTK_BOX (top), scroller);

  self->loss_plot = PT_LINE_PLOT (pt_line_plot_new (_("Loss"), _("step")));
  self->lr_plot = PT_LINE_PLOT (pt_line_plot_new (_("Learning rate"), _("step")));
  self->knn_plot = PT_LINE_PLOT (pt_line_plot_new (_("kNN accuracy on held-out images"), _("step")));
  pt_line_plot_set_y_range (self->knn_plot, 0.0, 1.0);
  gtk_widget_set_size_request (GTK_WIDGET (self->knn_plot), -1, 160);
  gtk_widget_set_vexpand (GTK_WIDGET (self->loss_plot), TRUE);
  gtk_widget_set_size_request (GTK_WIDGET (self->lr_plot), -1, 160);
  gtk_widget_set_margin_start (plots, 12);
  gtk_widget_set_margin_end (plots, 12);
  gtk_widget_set_margin_top (plots, 8);
  gtk_widget_set_margin_bottom (plots, 12);
  {
    GtkWidget *lp = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *rp = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 8);
    GtkWidget *lrb = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
    GtkWidget *kb = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);

    gtk_widget_set_vexpand (lp, TRUE);
    gtk_widget_set_hexpand (lrb, TRUE);
    gtk_widget_set_hexpand (kb, TRUE);
    gtk_box_set_homogeneous (GTK_BOX (rp), TRUE);
    gtk_box_append (GTK_BOX (lp), GTK_WIDGET (self->loss_plot));
    gtk_box_append (GTK_BOX (lrb), GTK_WIDGET (self->lr_plot));
    gtk_box_append (GTK_BOX (kb), GTK_WIDGET (self->knn_plot));
    gtk_box_append (GTK_BOX (rp), lrb);
    gtk_box_append (GTK_BOX (rp), kb);
    gtk_box_append (GTK_BOX (plots), lp);
    gtk_box_append (GTK_BOX (plots), rp);
  }

  gtk_paned_set_start_child (GTK_PANED (paned), top);
  gtk_paned_set_end_child (GTK_PANED (paned), plots);
  gtk_paned_set_position (GTK_PANED (paned), 260);
  gtk_widget_set_parent (paned, GTK_WIDGET (self));
  self->content = paned;
}
