/* pt-export-dialog.c: File > Export…. */
#include <string.h>
#include <glib/gi18n.h>

#include "pt-app-task.h"
#include "pt-export-dialog.h"
#include "pt-run-export.h"
#include "pt-run.h"

struct _PtExportDialog
{
  GtkWindow        parent_instance;

  GtkDropDown     *run_dropdown;
  GtkCheckButton  *checks[4];
  GtkButton       *dest_button;
  GtkEntry        *name_entry;
  GtkProgressBar  *progress;
  GtkLabel        *message_label;
  GtkWidget       *export_button;

  GPtrArray       *run_dirs;     /* char *, dropdown order */
  char            *dest;
  GCancellable    *cancellable;
  char            *message;
  gboolean         succeeded;
  gboolean         busy;
};

G_DEFINE_FINAL_TYPE (PtExportDialog, pt_export_dialog, GTK_TYPE_WINDOW)

static const PtExportFormats check_formats[4] = {
  PT_EXPORT_NPY, PT_EXPORT_PROJECTOR, PT_EXPORT_CSV, PT_EXPORT_SAFETENSORS,
};

/* ---- the job ------------------------------------------------------------ */

typedef struct {
  char     *run_dir;
  char     *npy, *projector, *csv, *safetensors;
  GWeakRef  dialog;
  /* the latest progress, handed to the main loop by at most one idle */
  GMutex    lock;
  double    fraction;
  char     *stage;
  gboolean  pending;
  PtRunExportResult result;
} ExportJob;

/* Reference-counted (g_rc_box): the task and each pending progress idle
 * hold one, so neither outlives the other's use. */
static void
export_job_clear (ExportJob *job)
{
  g_free (job->run_dir);
  g_free (job->npy);
  g_free (job->projector);
  g_free (job->csv);
  g_free (job->safetensors);
  g_weak_ref_clear (&job->dialog);
  g_mutex_clear (&job->lock);
  g_free (job->stage);
  pt_run_export_result_clear (&job->result);
}

static void
export_job_release (gpointer job)
{
  g_rc_box_release_full (job, (GDestroyNotify) export_job_clear);
}

static gboolean
show_progress_cb (gpointer data)
{
  ExportJob *job = data;
  g_autoptr(PtExportDialog) self = g_weak_ref_get (&job->dialog);
  g_autofree char *stage = NULL;
  double fraction;

  g_mutex_lock (&job->lock);
  job->pending = FALSE;
  stage = g_steal_pointer (&job->stage);
  fraction = job->fraction;
  g_mutex_unlock (&job->lock);
  if (self != NULL && self->busy)
    {
      gtk_progress_bar_set_fraction (self->progress, CLAMP (fraction, 0.0, 1.0));
      if (stage != NULL)
        gtk_progress_bar_set_text (self->progress, stage);
    }
  export_job_release (job);
  return G_SOURCE_REMOVE;
}

static void
on_progress_cb (double      fraction,
                const char *stage,
                gpointer    user_data)
{
  ExportJob *job = user_data;
  gboolean schedule;

  g_mutex_lock (&job->lock);
  job->fraction = fraction;
  g_free (job->stage);
  job->stage = g_strdup (stage);
  schedule = !job->pending;
  job->pending = TRUE;
  g_mutex_unlock (&job->lock);
  if (schedule)
    g_idle_add (show_progress_cb, g_rc_box_acquire (job));
}

static void
export_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ExportJob *job = task_data;
  PtRunExportOptions options = { 0 };
  GError *error = NULL;

  options.npy = job->npy;
  options.projector = job->projector;
  options.csv = job->csv;
  options.safetensors = job->safetensors;
  options.split = PT_SPLIT_TEST;
  if (!pt_run_export (job->run_dir, &options, &job->result, on_progress_cb, job, cancellable,
                      &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
pt_export_dialog_finish (PtExportDialog *self,
                         gboolean        ok,
                         const char     *message)
{
  self->busy = FALSE;
  self->succeeded = ok;
  g_free (self->message);
  self->message = g_strdup (message);
  gtk_label_set_label (self->message_label, message);
  gtk_widget_remove_css_class (GTK_WIDGET (self->message_label), ok ? "error" : "success");
  gtk_widget_add_css_class (GTK_WIDGET (self->message_label), ok ? "success" : "error");
  gtk_progress_bar_set_fraction (self->progress, ok ? 1.0 : 0.0);
  gtk_progress_bar_set_text (self->progress, ok ? _("Done") : _("Failed"));
  gtk_widget_set_sensitive (self->export_button, TRUE);
}

static void
on_export_done_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(PtExportDialog) self = pt_app_task_dup_owner (result);
  ExportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (self == NULL)
    return;
  g_clear_object (&self->cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      pt_export_dialog_finish (self, FALSE, error->message);
      return;
    }
  if (job->result.n > 0)
    /* TRANSLATORS: rows, dimension, checkpoint step, folder */
    text = g_strdup_printf (_("Exported %u embeddings of dimension %d (step %llu) to %s."),
                            job->result.n, job->result.dim,
                            (unsigned long long) job->result.step, self->dest);
  else
    /* TRANSLATORS: encoder kind, checkpoint step, folder */
    text = g_strdup_printf (_("Exported the %s encoder of step %llu to %s."),
                            job->result.encoder, (unsigned long long) job->result.step,
                            self->dest);
  pt_export_dialog_finish (self, TRUE, text);
}

void
pt_export_dialog_export (PtExportDialog *self)
{
  g_autoptr(GTask) task = NULL;
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_entry));
  const char *run = pt_export_dialog_get_run (self);
  guint formats = 0;
  ExportJob *job;

  g_return_if_fail (PT_IS_EXPORT_DIALOG (self));
  if (self->busy)
    return;
  for (int i = 0; i < 4; i++)
    if (gtk_check_button_get_active (self->checks[i]))
      formats |= check_formats[i];
  if (run == NULL || self->dest == NULL || formats == 0 || name == NULL || *name == '\0' ||
      strchr (name, G_DIR_SEPARATOR) != NULL)
    {
      pt_export_dialog_finish (self, FALSE,
                               run == NULL ? _("There is no run to export.")
                               : self->dest == NULL ? _("Choose a folder to export to.")
                               : formats == 0 ? _("Choose at least one thing to export.")
                               : _("The name must be a file name, without “/”."));
      return;
    }

  job = g_rc_box_new0 (ExportJob);
  g_mutex_init (&job->lock);
  g_weak_ref_init (&job->dialog, self);
  job->run_dir = g_strdup (run);
  if (formats & PT_EXPORT_NPY)
    {
      g_autofree char *file = g_strconcat (name, ".npy", NULL);

      job->npy = g_build_filename (self->dest, file, NULL);
    }
  if (formats & PT_EXPORT_PROJECTOR)
    {
      g_autofree char *file = g_strconcat (name, "-projector", NULL);

      job->projector = g_build_filename (self->dest, file, NULL);
    }
  if (formats & PT_EXPORT_CSV)
    {
      g_autofree char *file = g_strconcat (name, ".csv", NULL);

      job->csv = g_build_filename (self->dest, file, NULL);
    }
  if (formats & PT_EXPORT_SAFETENSORS)
    {
      g_autofree char *file = g_strconcat (name, ".safetensors", NULL);

      job->safetensors = g_build_filename (self->dest, file, NULL);
    }

  self->busy = TRUE;
  self->succeeded = FALSE;
  gtk_widget_set_sensitive (self->export_button, FALSE);
  gtk_label_set_label (self->message_label, "");
  gtk_progress_bar_set_fraction (self->progress, 0.0);
  gtk_progress_bar_set_text (self->progress, _("Starting"));
  self->cancellable = g_cancellable_new ();
  task = pt_app_task_new (self, self->cancellable, on_export_done_cb);
  g_task_set_task_data (task, job, export_job_release);
  g_task_run_in_thread (task, export_thread);
}

/* ---- the window --------------------------------------------------------- */

static void
update_dest_button (PtExportDialog *self)
{
  g_autofree char *base = self->dest != NULL ? g_path_get_basename (self->dest) : NULL;

  gtk_button_set_label (self->dest_button, base != NULL ? base : _("Choose…"));
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->dest_button), self->dest);
}

static void
on_dest_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     gpointer         user_data)
{
  PtExportDialog *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser));
      g_autofree char *path = file != NULL ? g_file_get_path (file) : NULL;

      if (path != NULL)
        pt_export_dialog_set_destination (self, path);
    }
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  g_object_unref (self);
}

static void
on_dest_clicked_cb (PtExportDialog *self)
{
  GtkFileChooserNative *chooser;

  chooser = gtk_file_chooser_native_new (_("Export To"), GTK_WINDOW (self),
                                         GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                         _("_Select"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_signal_connect (chooser, "response", G_CALLBACK (on_dest_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (chooser));
}

static void
on_run_selected_cb (PtExportDialog *self)
{
  const char *run = pt_export_dialog_get_run (self);
  g_autofree char *base = run != NULL ? g_path_get_basename (run) : NULL;

  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), base != NULL ? base : "");
}

static void
pt_export_dialog_fill_runs (PtExportDialog *self,
                            const char     *runs_root,
                            const char     *run_dir)
{
  g_autoptr(GPtrArray) runs = pt_run_list (runs_root, NULL);
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  guint selected = 0;

  for (guint i = runs != NULL ? runs->len : 0; i-- > 0;)
    {
      PtRunInfo *info = runs->pdata[i];
      g_autofree char *title = g_strdup_printf ("%s · %s · %s", info->name, info->method,
                                                info->dataset);

      if (run_dir != NULL && g_strcmp0 (info->dir, run_dir) == 0)
        selected = self->run_dirs->len;
      g_ptr_array_add (self->run_dirs, g_strdup (info->dir));
      gtk_string_list_append (titles, title);
    }
  gtk_drop_down_set_model (self->run_dropdown, G_LIST_MODEL (titles));
  if (self->run_dirs->len > 0)
    gtk_drop_down_set_selected (self->run_dropdown, selected);
  on_run_selected_cb (self);
}

static GtkWidget *
row_label (const char *text)
{
  GtkWidget *label = gtk_label_new_with_mnemonic (text);

  gtk_label_set_xalign (GTK_LABEL (label), 1);
  gtk_widget_set_valign (label, GTK_ALIGN_CENTER);
  return label;
}

static void
pt_export_dialog_dispose (GObject *object)
{
  PtExportDialog *self = PT_EXPORT_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (pt_export_dialog_parent_class)->dispose (object);
}

static void
pt_export_dialog_finalize (GObject *object)
{
  PtExportDialog *self = PT_EXPORT_DIALOG (object);

  g_ptr_array_unref (self->run_dirs);
  g_free (self->dest);
  g_free (self->message);
  G_OBJECT_CLASS (pt_export_dialog_parent_class)->finalize (object);
}

static void
pt_export_dialog_class_init (PtExportDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pt_export_dialog_dispose;
  object_class->finalize = pt_export_dialog_finalize;
}

static void
pt_export_dialog_init (PtExportDialog *self)
{
  const char *check_labels[4] = {
    N_("_Embeddings (.npy, labels beside them)"),
    N_("_TensorBoard projector folder"),
    N_("_CSV (file names, embeddings, labels)"),
    N_("Encoder _weights (.safetensors)"),
  };
  GtkWidget *grid, *header, *cancel, *box, *label;
  int row = 0;

  self->run_dirs = g_ptr_array_new_with_free_func (g_free);
  gtk_window_set_title (GTK_WINDOW (self), _("Export"));
  gtk_window_set_modal (GTK_WINDOW (self), TRUE);
  gtk_window_set_resizable (GTK_WINDOW (self), FALSE);

  header = gtk_header_bar_new ();
  gtk_header_bar_set_show_title_buttons (GTK_HEADER_BAR (header), FALSE);
  cancel = gtk_button_new_with_mnemonic (_("_Close"));
  self->export_button = gtk_button_new_with_mnemonic (_("_Export"));
  gtk_widget_add_css_class (self->export_button, "suggested-action");
  gtk_header_bar_pack_start (GTK_HEADER_BAR (header), cancel);
  gtk_header_bar_pack_end (GTK_HEADER_BAR (header), self->export_button);
  gtk_window_set_titlebar (GTK_WINDOW (self), header);
  g_signal_connect_swapped (cancel, "clicked", G_CALLBACK (gtk_window_destroy), self);
  g_signal_connect_swapped (self->export_button, "clicked",
                            G_CALLBACK (pt_export_dialog_export), self);

  grid = gtk_grid_new ();
  gtk_grid_set_row_spacing (GTK_GRID (grid), 10);
  gtk_grid_set_column_spacing (GTK_GRID (grid), 12);
  gtk_widget_set_margin_start (grid, 18);
  gtk_widget_set_margin_end (grid, 18);
  gtk_widget_set_margin_top (grid, 18);
  gtk_widget_set_margin_bottom (grid, 18);

  self->run_dropdown = GTK_DROP_DOWN (gtk_drop_down_new (NULL, NULL));
  label = row_label (_("_Run"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->run_dropdown));
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->run_dropdown), 1, row++, 1, 1);

  box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  for (int i = 0; i < 4; i++)
    {
      self->checks[i] = GTK_CHECK_BUTTON (gtk_check_button_new_with_mnemonic (_(check_labels[i])));
      gtk_check_button_set_active (self->checks[i], i == 0 || i == 3);
      gtk_box_append (GTK_BOX (box), GTK_WIDGET (self->checks[i]));
    }
  label = row_label (_("Export"));
  /* level with the first check box's text */
  gtk_widget_set_valign (label, GTK_ALIGN_START);
  gtk_widget_set_margin_top (label, 2);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), box, 1, row++, 1, 1);

  self->dest_button = GTK_BUTTON (gtk_button_new ());
  label = row_label (_("_Folder"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->dest_button));
  g_signal_connect_swapped (self->dest_button, "clicked", G_CALLBACK (on_dest_clicked_cb), self);
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->dest_button), 1, row++, 1, 1);

  self->name_entry = GTK_ENTRY (gtk_entry_new ());
  gtk_widget_set_tooltip_text (GTK_WIDGET (self->name_entry),
                               _("Files are named NAME.npy, NAME.labels.npy, NAME-projector, NAME.csv and NAME.safetensors"));
  label = row_label (_("_Name"));
  gtk_label_set_mnemonic_widget (GTK_LABEL (label), GTK_WIDGET (self->name_entry));
  gtk_grid_attach (GTK_GRID (grid), label, 0, row, 1, 1);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->name_entry), 1, row++, 1, 1);

  self->progress = GTK_PROGRESS_BAR (gtk_progress_bar_new ());
  gtk_progress_bar_set_show_text (self->progress, TRUE);
  gtk_progress_bar_set_text (self->progress, "");
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->progress), 0, row++, 2, 1);

  self->message_label = GTK_LABEL (gtk_label_new (NULL));
  gtk_label_set_wrap (self->message_label, TRUE);
  gtk_label_set_max_width_chars (self->message_label, 50);
  gtk_label_set_xalign (self->message_label, 0);
  gtk_label_set_selectable (self->message_label, TRUE);
  gtk_grid_attach (GTK_GRID (grid), GTK_WIDGET (self->message_label), 0, row++, 2, 1);

  gtk_window_set_child (GTK_WINDOW (self), grid);
  g_signal_connect_object (self->run_dropdown, "notify::selected",
                           G_CALLBACK (on_run_selected_cb), self, G_CONNECT_SWAPPED);
  update_dest_button (self);
}

PtExportDialog *
pt_export_dialog_new (GtkWindow  *parent,
                      const char *runs_root,
                      const char *run_dir)
{
  PtExportDialog *self = g_object_new (PT_TYPE_EXPORT_DIALOG, NULL);

  if (parent != NULL)
    gtk_window_set_transient_for (GTK_WINDOW (self), parent);
  pt_export_dialog_fill_runs (self, runs_root, run_dir);
  return self;
}

const char *
pt_export_dialog_get_run (PtExportDialog *self)
{
  guint i;

  g_return_val_if_fail (PT_IS_EXPORT_DIALOG (self), NULL);
  i = gtk_drop_down_get_selected (self->run_dropdown);
  return i < self->run_dirs->len ? self->run_dirs->pdata[i] : NULL;
}

void
pt_export_dialog_set_formats (PtExportDialog  *self,
                              PtExportFormats  formats)
{
  g_return_if_fail (PT_IS_EXPORT_DIALOG (self));
  for (int i = 0; i < 4; i++)
    gtk_check_button_set_active (self->checks[i], (formats & check_formats[i]) != 0);
}

void
pt_export_dialog_set_destination (PtExportDialog *self,
                                  const char     *dir)
{
  g_return_if_fail (PT_IS_EXPORT_DIALOG (self));
  g_free (self->dest);
  self->dest = g_strdup (dir);
  update_dest_button (self);
}

void
pt_export_dialog_set_name (PtExportDialog *self,
                           const char     *name)
{
  g_return_if_fail (PT_IS_EXPORT_DIALOG (self));
  gtk_editable_set_text (GTK_EDITABLE (self->name_entry), name);
}

gboolean
pt_export_dialog_get_busy (PtExportDialog *self)
{
  g_return_val_if_fail (PT_IS_EXPORT_DIALOG (self), FALSE);
  return self->busy;
}

const char *
pt_export_dialog_get_message (PtExportDialog *self)
{
  g_return_val_if_fail (PT_IS_EXPORT_DIALOG (self), NULL);
  return self->message;
}

gboolean
pt_export_dialog_get_succeeded (PtExportDialog *self)
{
  g_return_val_if_fail (PT_IS_EXPORT_DIALOG (self), FALSE);
  return self->succeeded;
}
