/* pt-data-page.c: the Data page.
 *
 * Loading runs on a GTask worker; a 10 Hz timeout shows its progress, and a
 * generation counter drops the result of a load that was superseded. The
 * grid is a GtkGridView over a PtImageList, so only visible thumbnails are
 * ever made.
 */
#include <glib/gi18n.h>

#include "pt-app-task.h"
#include "pt-build-config.h"
#include "pt-application.h"
#include "pt-bar-chart.h"
#include "pt-data-page.h"
#include "pt-image-list.h"

#define THUMB_SIZE 72
#define PREVIEW_SIZE 224
#define MAX_RECENT 6

struct _PtDataPage
{
  GtkWidget          parent_instance;

  GtkWidget         *content;
  GtkDropDown       *dataset_dropdown;
  GtkToggleButton   *train_toggle;
  GtkToggleButton   *test_toggle;
  GtkDropDown       *class_dropdown;
  GtkProgressBar    *progress_bar;
  GtkLabel          *count_label;
  GtkStack          *grid_stack;
  GtkGridView       *grid_view;
  GtkLabel          *message_label;
  GtkPicture        *preview;
  GtkLabel          *preview_label;
  GtkGrid           *facts_grid;
  GtkWidget         *classes_heading;
  PtBarChart        *class_chart;
  GtkWidget         *quarantine_box;
  GtkLabel          *quarantine_heading;
  GtkLabel          *quarantine_label;

  GPtrArray         *specs;          /* spec of each dataset_dropdown row */
  PtDataset         *dataset;
  PtImageList       *images;
  GtkSingleSelection *selection;
  char              *spec;
  PtSplit            split;
  char              *error;

  GCancellable      *cancellable;
  guint              generation;
  guint              progress_source;
  double            *progress;       /* shared with the worker, atomic-ish */
  gboolean           updating_dropdown;
};

G_DEFINE_FINAL_TYPE (PtDataPage, pt_data_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DATASET,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static GSettings *
get_settings (void)
{
  GApplication *app = g_application_get_default ();

  return PT_IS_APPLICATION (app) ? pt_application_get_settings (PT_APPLICATION (app)) : NULL;
}

/* Is a named IDX dataset installed where pt_dataset_open looks? */
static gboolean
idx_dataset_available (const char *name)
{
  const char *env = g_getenv ("PRETEXT_DATA");
  g_autofree char *a = env ? g_build_filename (env, name, NULL) : NULL;
  g_autofree char *b = g_build_filename ("/usr/share/datasets", name, NULL);

  return (a != NULL && g_file_test (a, G_FILE_TEST_IS_DIR)) || g_file_test (b, G_FILE_TEST_IS_DIR);
}

static char *
spec_title (const char *spec)
{
  if (g_str_equal (spec, "shapes"))
    return g_strdup (_("Shapes (built-in)"));
  if (g_str_equal (spec, "fashion-mnist"))
    return g_strdup (_("Fashion-MNIST"));
  if (g_str_equal (spec, "mnist"))
    return g_strdup (_("MNIST"));
  if (g_str_has_prefix (spec, "cifar10:"))
    {
      g_autofree char *base = g_path_get_basename (spec + strlen ("cifar10:"));
      /* TRANSLATORS: %s is a folder name */
      return g_strdup_printf (_("CIFAR-10 (%s)"), base);
    }
  return g_path_get_basename (spec);
}

static void
pt_data_page_fill_dropdown (PtDataPage *self)
{
  GSettings *settings = get_settings ();
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  g_auto(GStrv) recent = settings ? g_settings_get_strv (settings, "recent-datasets") : NULL;
  const char *builtin[] = { "shapes", "fashion-mnist", "mnist" };
  guint selected = 0;

  g_ptr_array_set_size (self->specs, 0);
  for (guint i = 0; i < G_N_ELEMENTS (builtin); i++)
    if (i == 0 || idx_dataset_available (builtin[i]))
      g_ptr_array_add (self->specs, g_strdup (builtin[i]));
  for (guint i = 0; recent && recent[i]; i++)
    if (!g_ptr_array_find_with_equal_func (self->specs, recent[i], g_str_equal, NULL))
      g_ptr_array_add (self->specs, g_strdup (recent[i]));
  if (self->spec != NULL &&
      !g_ptr_array_find_with_equal_func (self->specs, self->spec, g_str_equal, NULL))
    g_ptr_array_add (self->specs, g_strdup (self->spec));

  for (guint i = 0; i < self->specs->len; i++)
    {
      g_autofree char *title = spec_title (self->specs->pdata[i]);

      gtk_string_list_append (titles, title);
      if (self->spec != NULL && g_str_equal (self->spec, self->specs->pdata[i]))
        selected = i;
    }

  self->updating_dropdown = TRUE;
  gtk_drop_down_set_model (self->dataset_dropdown, G_LIST_MODEL (titles));
  gtk_drop_down_set_selected (self->dataset_dropdown, selected);
  self->updating_dropdown = FALSE;
}

static void
pt_data_page_remember (PtDataPage *self,
                       const char *spec)
{
  GSettings *settings = get_settings ();
  g_auto(GStrv) recent = NULL;
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) updated = NULL;
  guint n = 1;

  if (settings == NULL || g_str_equal (spec, "shapes") ||
      g_str_equal (spec, "fashion-mnist") || g_str_equal (spec, "mnist"))
    return;

  recent = g_settings_get_strv (settings, "recent-datasets");
  builder = g_strv_builder_new ();
  g_strv_builder_add (builder, spec);
  for (guint i = 0; recent[i] && n < MAX_RECENT; i++)
    if (!g_str_equal (recent[i], spec))
      {
        g_strv_builder_add (builder, recent[i]);
        n++;
      }
  updated = g_strv_builder_end (builder);
  g_settings_set_strv (settings, "recent-datasets", (const char * const *) updated);
}

static void
add_fact (PtDataPage *self,
          int         row,
          const char *name,
          const char *value,
          gboolean    selectable)
{
  GtkWidget *k = gtk_label_new (name);
  GtkWidget *v = gtk_label_new (value);

  gtk_label_set_xalign (GTK_LABEL (k), 0);
  gtk_widget_add_css_class (k, "dim-label");
  gtk_label_set_xalign (GTK_LABEL (v), 0);
  gtk_label_set_selectable (GTK_LABEL (v), selectable);
  gtk_label_set_ellipsize (GTK_LABEL (v), PANGO_ELLIPSIZE_MIDDLE);
  gtk_widget_set_hexpand (v, TRUE);
  gtk_widget_set_tooltip_text (v, value);
  gtk_grid_attach (self->facts_grid, k, 0, row, 1, 1);
  gtk_grid_attach (self->facts_grid, v, 1, row, 1, 1);
}

static void
pt_data_page_clear_facts (PtDataPage *self)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->facts_grid))) != NULL)
    gtk_grid_remove (self->facts_grid, child);
}

static void
pt_data_page_show_preview (PtDataPage *self,
                           guint       index)
{
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *text = NULL;
  int label;

  if (self->dataset == NULL || index >= pt_dataset_get_n_images (self->dataset))
    {
      gtk_picture_set_paintable (self->preview, NULL);
      gtk_label_set_label (self->preview_label, _("Select an image to see it larger"));
      return;
    }

  texture = pt_dataset_dup_texture (self->dataset, index, PREVIEW_SIZE);
  gtk_picture_set_paintable (self->preview, GDK_PAINTABLE (texture));

  label = pt_dataset_get_label (self->dataset, index);
  if (label >= 0)
    /* TRANSLATORS: image number and its class name */
    text = g_strdup_printf (_("Image %u · %s"), index, pt_dataset_get_class_name (self->dataset, label));
  else
    text = g_strdup_printf (_("Image %u · unlabeled"), index);
  if (pt_dataset_get_image_path (self->dataset, index) != NULL)
    {
      g_autofree char *with_path = g_strdup_printf ("%s\n%s", text, pt_dataset_get_image_path (self->dataset, index));
      g_free (text);
      text = g_steal_pointer (&with_path);
    }
  gtk_label_set_label (self->preview_label, text);
}

static void
on_selection_changed_cb (PtDataPage *self)
{
  g_autoptr(PtImageItem) item = NULL;

  item = gtk_single_selection_get_selected_item (self->selection)
         ? g_object_ref (gtk_single_selection_get_selected_item (self->selection)) : NULL;
  pt_data_page_show_preview (self, item ? pt_image_item_get_index (item) : G_MAXUINT);
}

static void
pt_data_page_update_count (PtDataPage *self)
{
  g_autofree char *text = NULL;
  guint n;

  if (self->images == NULL)
    {
      gtk_label_set_label (self->count_label, "");
      return;
    }
  n = g_list_model_get_n_items (G_LIST_MODEL (self->images));
  text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u image", "%u images", n), n);
  gtk_label_set_label (self->count_label, text);
}

static void
on_class_selected_cb (PtDataPage *self)
{
  guint selected = gtk_drop_down_get_selected (self->class_dropdown);

  if (self->images == NULL || selected == GTK_INVALID_LIST_POSITION)
    return;
  pt_image_list_set_class_filter (self->images, (int) selected - 1);
  pt_bar_chart_set_highlight (self->class_chart, (int) selected - 1);
  pt_data_page_update_count (self);
}

void
pt_data_page_set_class_filter (PtDataPage *self,
                               int         klass)
{
  g_return_if_fail (PT_IS_DATA_PAGE (self));

  gtk_drop_down_set_selected (self->class_dropdown, klass < 0 ? 0 : (guint) klass + 1);
}

static void
pt_data_page_show_dataset (PtDataPage *self)
{
  PtDataset *ds = self->dataset;
  g_autoptr(GtkStringList) classes = gtk_string_list_new (NULL);
  g_autofree char *size = NULL, *count = NULL, *classes_text = NULL;
  int n_classes = pt_dataset_get_n_classes (ds);
  guint n_bad = pt_dataset_get_n_quarantined (ds);
  int row = 0;

  g_clear_object (&self->images);
  g_clear_object (&self->selection);
  self->images = pt_image_list_new (ds);
  self->selection = gtk_single_selection_new (g_object_ref (G_LIST_MODEL (self->images)));
  gtk_single_selection_set_autoselect (self->selection, FALSE);
  gtk_single_selection_set_can_unselect (self->selection, TRUE);
  g_signal_connect_object (self->selection, "notify::selected",
                           G_CALLBACK (on_selection_changed_cb), self, G_CONNECT_SWAPPED);
  gtk_grid_view_set_model (self->grid_view, GTK_SELECTION_MODEL (self->selection));
  gtk_stack_set_visible_child_name (self->grid_stack, "grid");
  /* Show the first image large, so the preview is never an empty box. */
  gtk_single_selection_set_selected (self->selection, 0);
  on_selection_changed_cb (self);

  /* Class filter. */
  gtk_string_list_append (classes, _("All classes"));
  for (int c = 0; c < n_classes; c++)
    gtk_string_list_append (classes, pt_dataset_get_class_name (ds, c));
  gtk_drop_down_set_model (self->class_dropdown, G_LIST_MODEL (classes));
  gtk_drop_down_set_selected (self->class_dropdown, 0);
  gtk_widget_set_sensitive (GTK_WIDGET (self->class_dropdown), n_classes > 0);
  pt_data_page_update_count (self);

  /* Facts. */
  pt_data_page_clear_facts (self);
  add_fact (self, row++, _("Name"), pt_dataset_get_title (ds), FALSE);
  count = g_strdup_printf ("%u", pt_dataset_get_n_images (ds));
  add_fact (self, row++, _("Images"), count, FALSE);
  size = g_strdup_printf (pt_dataset_get_channels (ds) == 1 ? _("%d × %d, grey") : _("%d × %d, colour"),
                          pt_dataset_get_width (ds), pt_dataset_get_height (ds));
  add_fact (self, row++, _("Size"), size, FALSE);
  classes_text = n_classes > 0 ? g_strdup_printf ("%d", n_classes) : g_strdup (_("unlabeled"));
  add_fact (self, row++, _("Classes"), classes_text, FALSE);
  add_fact (self, row++, _("Content hash"), pt_dataset_get_content_hash (ds), TRUE);

  /* Class counts. */
  {
    g_autofree double *values = g_new0 (double, MAX (1, n_classes));
    g_autofree const char **names = g_new0 (const char *, MAX (1, n_classes));
    const guint *counts = pt_dataset_get_class_counts (ds);

    for (int c = 0; c < n_classes; c++)
      {
        values[c] = counts[c];
        names[c] = pt_dataset_get_class_name (ds, c);
      }
    pt_bar_chart_set_data (self->class_chart, (guint) n_classes, names, values);
    pt_bar_chart_set_highlight (self->class_chart, -1);
    gtk_widget_set_visible (self->classes_heading, n_classes > 0);
    gtk_widget_set_visible (GTK_WIDGET (self->class_chart), n_classes > 0);
  }

  /* Quarantine. */
  gtk_widget_set_visible (self->quarantine_box, n_bad > 0);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "data.copy-quarantine", n_bad > 0);
  if (n_bad > 0)
    {
      g_autoptr(GString) text = g_string_new (NULL);
      g_autofree char *heading =
        g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u file skipped", "%u files skipped", n_bad), n_bad);

      for (guint i = 0; i < n_bad; i++)
        g_string_append_printf (text, "%s%s: %s", i ? "\n" : "",
                                pt_dataset_get_quarantined_path (ds, i),
                                pt_dataset_get_quarantined_reason (ds, i));
      gtk_label_set_label (self->quarantine_heading, heading);
      gtk_label_set_label (self->quarantine_label, text->str);
    }
}

static void
pt_data_page_set_loading (PtDataPage *self,
                          gboolean    loading)
{
  gtk_widget_set_visible (GTK_WIDGET (self->progress_bar), loading);
  gtk_widget_set_visible (GTK_WIDGET (self->count_label), !loading);
  if (!loading)
    g_clear_handle_id (&self->progress_source, g_source_remove);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

typedef struct {
  guint       generation;
  char       *spec;
} LoadData;

static void
load_data_free (LoadData *data)
{
  g_free (data->spec);
  g_free (data);
}

static void
on_dataset_loaded_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  LoadData *data = g_object_get_data (G_OBJECT (result), "pt-load-data");
  g_autoptr(PtDataPage) self = pt_app_task_dup_owner (result);
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) ds = g_task_propagate_pointer (G_TASK (result), &error);

  /* The page is gone, or a newer load superseded this one. */
  if (self == NULL || data->generation != self->generation)
    return;

  pt_data_page_set_loading (self, FALSE);
  g_atomic_pointer_set (&self->progress, NULL);
  g_clear_pointer (&self->error, g_free);

  if (ds == NULL)
    {
      self->error = g_strdup (error->message);
      gtk_label_set_label (self->message_label, error->message);
      gtk_stack_set_visible_child_name (self->grid_stack, "message");
      gtk_grid_view_set_model (self->grid_view, NULL);
      g_clear_object (&self->images);
      g_clear_object (&self->selection);
      g_clear_object (&self->dataset);
      pt_data_page_clear_facts (self);
      gtk_widget_set_visible (self->quarantine_box, FALSE);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
      return;
    }

  g_set_object (&self->dataset, ds);
  pt_data_page_remember (self, data->spec);
  pt_data_page_show_dataset (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
}

static gboolean
on_progress_tick_cb (gpointer user_data)
{
  PtDataPage *self = user_data;

  gtk_progress_bar_set_fraction (self->progress_bar, g_atomic_pointer_get (&self->progress) ? *self->progress : 0.0);
  return G_SOURCE_CONTINUE;
}

static void
on_progress_cb (double   fraction,
                gpointer user_data)
{
  double *progress = user_data;

  /* A torn read of a double only makes the bar flicker; it holds no state. */
  *progress = fraction;
}

typedef struct {
  char             *spec;
  PtSplit           split;
  double           *progress;
} OpenTaskData;

static void
open_task_data_free (OpenTaskData *d)
{
  g_free (d->spec);
  g_free (d->progress);
  g_free (d);
}

static void
open_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OpenTaskData *d = task_data;
  GError *error = NULL;
  PtDataset *ds = pt_dataset_open (d->spec, d->split, NULL, cancellable,
                                   on_progress_cb, d->progress, &error);

  if (ds == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ds, g_object_unref);
}

void
pt_data_page_load (PtDataPage *self,
                   const char *spec_in,
                   PtSplit     split)
{
  /* spec_in may point into self->specs, which refilling the drop-down frees. */
  g_autofree char *spec = g_strdup (spec_in);
  g_autoptr(GTask) task = NULL;
  OpenTaskData *d;
  LoadData *data;
  g_autofree char *text = NULL, *title = NULL;

  g_return_if_fail (PT_IS_DATA_PAGE (self));
  g_return_if_fail (spec_in != NULL);

  g_debug ("loading %s (%s)", spec, split == PT_SPLIT_TEST ? "test" : "train");
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;

  if (self->spec == NULL || !g_str_equal (self->spec, spec))
    {
      g_free (self->spec);
      self->spec = g_strdup (spec);
      pt_data_page_fill_dropdown (self);
    }
  self->split = split;
  self->updating_dropdown = TRUE;
  gtk_toggle_button_set_active (split == PT_SPLIT_TEST ? self->test_toggle : self->train_toggle, TRUE);
  self->updating_dropdown = FALSE;

  /* Each load gets its own progress cell: a superseded worker may still write
   * to its old one, which the task data keeps alive. */
  d = g_new0 (OpenTaskData, 1);
  d->spec = g_strdup (spec);
  d->split = split;
  d->progress = g_new0 (double, 1);
  g_atomic_pointer_set (&self->progress, d->progress);

  title = spec_title (spec);
  /* TRANSLATORS: %s is a dataset name */
  text = g_strdup_printf (_("Loading %s…"), title);
  gtk_progress_bar_set_text (self->progress_bar, text);
  gtk_progress_bar_set_fraction (self->progress_bar, 0);
  pt_data_page_set_loading (self, TRUE);
  if (self->progress_source == 0)
    self->progress_source = g_timeout_add (100, on_progress_tick_cb, self);

  data = g_new0 (LoadData, 1);
  data->generation = self->generation;
  data->spec = g_strdup (spec);

  task = pt_app_task_new (self, self->cancellable, on_dataset_loaded_cb);
  g_object_set_data_full (G_OBJECT (task), "pt-load-data", data, (GDestroyNotify) load_data_free);
  g_task_set_source_tag (task, pt_data_page_load);
  g_task_set_task_data (task, d, (GDestroyNotify) open_task_data_free);
  g_task_run_in_thread (task, open_thread);
}

PtDataset *
pt_data_page_get_dataset (PtDataPage *self)
{
  g_return_val_if_fail (PT_IS_DATA_PAGE (self), NULL);
  return self->dataset;
}

gboolean
pt_data_page_get_loading (PtDataPage *self)
{
  g_return_val_if_fail (PT_IS_DATA_PAGE (self), FALSE);
  return gtk_widget_get_visible (GTK_WIDGET (self->progress_bar));
}

const char *
pt_data_page_get_error (PtDataPage *self)
{
  g_return_val_if_fail (PT_IS_DATA_PAGE (self), NULL);
  return self->error;
}

GtkSelectionModel *
pt_data_page_get_selection (PtDataPage *self)
{
  g_return_val_if_fail (PT_IS_DATA_PAGE (self), NULL);
  return self->selection ? GTK_SELECTION_MODEL (self->selection) : NULL;
}

static void
on_dataset_selected_cb (PtDataPage *self)
{
  guint i = gtk_drop_down_get_selected (self->dataset_dropdown);

  if (self->updating_dropdown || i >= self->specs->len)
    return;
  if (self->spec != NULL && g_str_equal (self->spec, self->specs->pdata[i]))
    return;
  pt_data_page_load (self, self->specs->pdata[i], self->split);
}

static void
on_split_toggled_cb (PtDataPage *self)
{
  PtSplit split = gtk_toggle_button_get_active (self->test_toggle) ? PT_SPLIT_TEST : PT_SPLIT_TRAIN;

  if (self->updating_dropdown || split == self->split || self->spec == NULL)
    return;
  pt_data_page_load (self, self->spec, split);
}

/* A folder holding CIFAR-10 binary batches opens as cifar10:, any other
 * folder as an image folder. */
static char *
spec_for_folder (GFile *folder)
{
  g_autofree char *path = g_file_get_path (folder);
  g_autofree char *a = NULL, *b = NULL, *c = NULL;

  if (path == NULL)
    return NULL;
  a = g_build_filename (path, "data_batch_1.bin", NULL);
  b = g_build_filename (path, "test_batch.bin", NULL);
  c = g_build_filename (path, "cifar-10-batches-bin", NULL);
  if (g_file_test (a, G_FILE_TEST_EXISTS) || g_file_test (b, G_FILE_TEST_EXISTS) ||
      g_file_test (c, G_FILE_TEST_IS_DIR))
    return g_strconcat ("cifar10:", path, NULL);
  return g_steal_pointer (&path);
}

static void
on_folder_chosen_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  PtDataPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) folder = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *spec = folder ? spec_for_folder (folder) : NULL;

      if (spec != NULL)
        pt_data_page_load (self, spec, PT_SPLIT_TRAIN);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
pt_data_page_open_folder_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *parameter)
{
  PtDataPage *self = PT_DATA_PAGE (widget);
  GtkRoot *root = gtk_widget_get_root (widget);
  GtkFileChooserNative *dialog;

  dialog = gtk_file_chooser_native_new (_("Open Image Folder"),
                                        GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER,
                                        _("_Open"), _("_Cancel"));
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  g_signal_connect (dialog, "response", G_CALLBACK (on_folder_chosen_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
pt_data_page_copy_quarantine_action (GtkWidget  *widget,
                                     const char *action_name,
                                     GVariant   *parameter)
{
  PtDataPage *self = PT_DATA_PAGE (widget);

  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget),
                          gtk_label_get_label (self->quarantine_label));
}

static gboolean
on_drop_cb (GtkDropTarget *target,
            const GValue  *value,
            double         x,
            double         y,
            gpointer       user_data)
{
  PtDataPage *self = user_data;
  GSList *files;
  g_autofree char *spec = NULL;

  if (!G_VALUE_HOLDS (value, GDK_TYPE_FILE_LIST))
    return FALSE;
  files = g_value_get_boxed (value);
  if (files == NULL || g_file_query_file_type (files->data, G_FILE_QUERY_INFO_NONE, NULL) != G_FILE_TYPE_DIRECTORY)
    return FALSE;
  spec = spec_for_folder (files->data);
  if (spec == NULL)
    return FALSE;
  pt_data_page_load (self, spec, PT_SPLIT_TRAIN);
  return TRUE;
}

static void
on_thumb_setup_cb (GtkSignalListItemFactory *factory,
                   GtkListItem              *item,
                   gpointer                  user_data)
{
  GtkWidget *picture = gtk_picture_new ();

  gtk_widget_set_size_request (picture, THUMB_SIZE, THUMB_SIZE);
  gtk_picture_set_can_shrink (GTK_PICTURE (picture), TRUE);
  gtk_list_item_set_child (item, picture);
}

static void
on_thumb_bind_cb (GtkSignalListItemFactory *factory,
                  GtkListItem              *item,
                  gpointer                  user_data)
{
  PtImageItem *image = gtk_list_item_get_item (item);
  GtkWidget *picture = gtk_list_item_get_child (item);
  g_autoptr(GdkTexture) texture = pt_image_item_dup_texture (image, THUMB_SIZE);
  PtDataset *ds = pt_image_item_get_dataset (image);
  int label = pt_image_item_get_label (image);

  gtk_picture_set_paintable (GTK_PICTURE (picture), GDK_PAINTABLE (texture));
  gtk_widget_set_tooltip_text (picture, label >= 0 ? pt_dataset_get_class_name (ds, label) : NULL);
}

static void
on_thumb_unbind_cb (GtkSignalListItemFactory *factory,
                    GtkListItem              *item,
                    gpointer                  user_data)
{
  gtk_picture_set_paintable (GTK_PICTURE (gtk_list_item_get_child (item)), NULL);
}

void
pt_data_page_ensure_loaded (PtDataPage *self)
{
  g_return_if_fail (PT_IS_DATA_PAGE (self));

  if (self->spec == NULL)
    pt_data_page_load (self, self->specs->len > 0 ? self->specs->pdata[0] : "shapes", PT_SPLIT_TRAIN);
}

static void
pt_data_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (pt_data_page_parent_class)->map (widget);

  /* The first time the page is shown, if nothing asked for a dataset yet. */
  pt_data_page_ensure_loaded (PT_DATA_PAGE (widget));
}

static void
pt_data_page_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PtDataPage *self = PT_DATA_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATASET:
      g_value_set_object (value, self->dataset);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, pt_data_page_get_loading (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_data_page_dispose (GObject *object)
{
  PtDataPage *self = PT_DATA_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->progress_source, g_source_remove);
  if (self->grid_view != NULL)
    gtk_grid_view_set_model (self->grid_view, NULL);
  g_clear_object (&self->selection);
  g_clear_object (&self->images);
  g_clear_object (&self->dataset);
  gtk_widget_dispose_template (GTK_WIDGET (self), PT_TYPE_DATA_PAGE);
  {
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
      gtk_widget_unparent (child);
  }

  G_OBJECT_CLASS (pt_data_page_parent_class)->dispose (object);
}

static void
pt_data_page_finalize (GObject *object)
{
  PtDataPage *self = PT_DATA_PAGE (object);

  g_ptr_array_unref (self->specs);
  g_free (self->spec);
  g_free (self->error);

  G_OBJECT_CLASS (pt_data_page_parent_class)->finalize (object);
}

static void
pt_data_page_class_init (PtDataPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_data_page_dispose;
  object_class->finalize = pt_data_page_finalize;
  object_class->get_property = pt_data_page_get_property;
  widget_class->map = pt_data_page_map;

  properties[PROP_DATASET] =
    g_param_spec_object ("dataset", NULL, NULL, PT_TYPE_DATASET,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (PT_TYPE_BAR_CHART);
  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-data-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, content);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, dataset_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, train_toggle);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, test_toggle);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, class_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, progress_bar);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, count_label);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, grid_stack);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, grid_view);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, message_label);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, preview);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, preview_label);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, facts_grid);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, classes_heading);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, class_chart);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, quarantine_box);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, quarantine_heading);
  gtk_widget_class_bind_template_child (widget_class, PtDataPage, quarantine_label);

  gtk_widget_class_install_action (widget_class, "data.open-folder", NULL,
                                   pt_data_page_open_folder_action);
  gtk_widget_class_install_action (widget_class, "data.copy-quarantine", NULL,
                                   pt_data_page_copy_quarantine_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
pt_data_page_init (PtDataPage *self)
{
  g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();
  GtkDropTarget *drop;

  self->specs = g_ptr_array_new_with_free_func (g_free);

  gtk_widget_init_template (GTK_WIDGET (self));

  g_signal_connect (factory, "setup", G_CALLBACK (on_thumb_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (on_thumb_bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (on_thumb_unbind_cb), NULL);
  gtk_grid_view_set_factory (self->grid_view, factory);

  g_signal_connect_object (self->dataset_dropdown, "notify::selected",
                           G_CALLBACK (on_dataset_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->class_dropdown, "notify::selected",
                           G_CALLBACK (on_class_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->test_toggle, "notify::active",
                           G_CALLBACK (on_split_toggled_cb), self, G_CONNECT_SWAPPED);

  drop = gtk_drop_target_new (GDK_TYPE_FILE_LIST, GDK_ACTION_COPY);
  g_signal_connect (drop, "drop", G_CALLBACK (on_drop_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (drop));

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "data.copy-quarantine", FALSE);
  gtk_widget_add_css_class (GTK_WIDGET (self), "pt-data-page");

  pt_data_page_fill_dropdown (self);
}
