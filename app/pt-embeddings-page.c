/* pt-embeddings-page.c: the embedding map of a run's encoder.
 *
 * Two kinds of background work, both on GTask workers with a generation
 * counter so that stale results are dropped:
 *  - features: load the run's last checkpoint into a fresh method instance
 *    (never the training thread's), embed a fixed class-balanced subset of
 *    the test split, L2-normalize, and project with PCA;
 *  - t-SNE: from those features, warm-started from the current layout when
 *    there is one, advanced 25 iterations at a time; each layout is handed
 *    to the main loop as a frame (at most one pending).
 * A 2 s timeout while the page is mapped watches the run's checkpoint, so
 * the map follows a run that is training (from the window or the CLI).
 *
 * Embeddings made elsewhere (Open Embeddings…: a .npy, optional labels and
 * image folder, pt-embedding-set.h) are shown in the same map instead of a
 * run: loaded with pt_embedding_set_load_async, then prepared on a worker
 * (at most N_IMPORT_POINTS evenly spaced rows, L2-normalized, PCA; and over
 * all labeled rows the leave-one-out kNN and the seeded 80/20 linear-probe
 * accuracy, pt-embedding-eval.h).
 * A bad file shows a banner and leaves the map as it was.
 */
#include <math.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-app-task.h"
#include "pt-build-config.h"
#include "pt-embedding-eval.h"
#include "pt-embeddings-page.h"
#include "pt-features.h"
#include "pt-image-check.h"
#include "pt-import-dialog.h"
#include "pt-image-list.h"
#include "pt-pca.h"
#include "pt-plot-export.h"
#include "pt-run.h"
#include "pt-scatter-map.h"
#include "pt-tsne.h"

#define N_POINTS 1000
#define N_NEIGHBOURS 8
#define TSNE_ITERATIONS 750
#define TSNE_CHUNK 25
#define N_IMPORT_POINTS 2000

struct _PtEmbeddingsPage
{
  GtkWidget         parent_instance;

  GtkWidget        *content;
  GtkDropDown      *run_dropdown;
  GtkToggleButton  *pca_toggle;
  GtkToggleButton  *tsne_toggle;
  GtkLabel         *status_label;
  GtkStack         *stack;
  PtScatterMap     *map;
  GtkLabel         *empty_label;
  GtkLabel         *neighbours_label;
  GtkBox           *neighbours_box;
  GtkRevealer      *banner_revealer;
  GtkLabel         *banner_label;

  char             *runs_root;
  GPtrArray        *run_dirs;       /* char *, dropdown order */
  char             *run_dir;        /* shown run */
  gint64            checkpoint_mtime;

  PtDataset        *subset;
  float            *features;       /* n x dim, L2-normalized */
  int               dim;
  guint             n;
  float            *pca;            /* n x 2 */
  float            *layout;         /* n x 2, the t-SNE layout shown, or NULL */
  guint64           step;
  int              *labels;         /* n class indices of the points shown, or NULL */
  int               n_classes;
  char            **class_names;    /* n_classes names, or NULL */

  PtEmbeddingSet   *imported;       /* shown instead of a run, or NULL */
  char             *imported_name;
  char             *pending_name;   /* the file being opened */
  guint            *imported_rows;  /* point -> row of the set */
  double            knn_accuracy;   /* of the imported set, or NAN */
  double            probe_accuracy; /* of the imported set, or NAN */
  GCancellable     *import_cancellable;

  GCancellable     *features_cancellable;
  GCancellable     *tsne_cancellable;
  guint             generation;
  guint             poll_source;
  guint             n_updates;
  guint             n_frames;
  gboolean          filling;
};

G_DEFINE_FINAL_TYPE (PtEmbeddingsPage, pt_embeddings_page, GTK_TYPE_WIDGET)

static void pt_embeddings_page_compute (PtEmbeddingsPage *self);

static gint64
checkpoint_mtime (const char *run_dir)
{
  g_autofree char *path = g_build_filename (run_dir, "checkpoints", "last", NULL);
  GStatBuf st;

  if (g_stat (path, &st) != 0)
    return 0;
  return (gint64) st.st_mtime * 1000000 + (gint64) st.st_mtim.tv_nsec / 1000;
}

static void
pt_embeddings_page_show_empty (PtEmbeddingsPage *self,
                               const char       *message)
{
  gtk_label_set_label (self->empty_label, message);
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
pt_embeddings_page_show_banner (PtEmbeddingsPage *self,
                                const char       *message)
{
  gtk_label_set_label (self->banner_label, message);
  gtk_revealer_set_reveal_child (self->banner_revealer, message != NULL);
}

static void
pt_embeddings_page_clear_classes (PtEmbeddingsPage *self)
{
  g_clear_pointer (&self->labels, g_free);
  g_clear_pointer (&self->class_names, g_strfreev);
  self->n_classes = 0;
}

static const char *
pt_embeddings_page_class_name (PtEmbeddingsPage *self,
                               int               c)
{
  if (c < 0 || c >= self->n_classes)
    return NULL;
  return self->class_names != NULL ? self->class_names[c] : NULL;
}

static int
pt_embeddings_page_label (PtEmbeddingsPage *self,
                          guint             i)
{
  return self->labels != NULL && i < self->n ? self->labels[i] : -1;
}

/* Point i's image: from the run's subset, or the imported image folder
 * (checked and decoded by pt_image_load_square), or NULL. */
static GdkTexture *
pt_embeddings_page_dup_texture (PtEmbeddingsPage *self,
                                guint             i,
                                int               size)
{
  if (self->imported != NULL)
    {
      g_autoptr(GdkPixbuf) pixbuf = NULL;

      if (self->imported->image_paths == NULL || i >= self->n)
        return NULL;
      pixbuf = pt_image_load_square (self->imported->image_paths[self->imported_rows[i]], size,
                                     NULL, NULL);
      return pixbuf != NULL ? gdk_texture_new_for_pixbuf (pixbuf) : NULL;
    }
  if (self->subset == NULL || i >= pt_dataset_get_n_images (self->subset))
    return NULL;
  return pt_dataset_dup_texture (self->subset, i, size);
}

static void
pt_embeddings_page_forget_import (PtEmbeddingsPage *self)
{
  g_cancellable_cancel (self->import_cancellable);
  g_clear_object (&self->import_cancellable);
  g_clear_pointer (&self->imported, pt_embedding_set_free);
  g_clear_pointer (&self->imported_name, g_free);
  g_clear_pointer (&self->pending_name, g_free);
  g_clear_pointer (&self->imported_rows, g_free);
  self->knn_accuracy = NAN;
  self->probe_accuracy = NAN;
}

/* ---- Features ---------------------------------------------------------- */

typedef struct {
  char      *run_dir;
  guint      n_points;
  /* results */
  PtDataset *subset;
  float     *features;
  int        dim;
  guint      n;
  float     *pca;
  guint64    step;
} FeaturesJob;

static void
features_job_free (FeaturesJob *job)
{
  g_free (job->run_dir);
  g_clear_object (&job->subset);
  g_free (job->features);
  g_free (job->pca);
  g_free (job);
}

static void
features_thread (GTask        *task,
                 gpointer      source,
                 gpointer      task_data,
                 GCancellable *cancellable)
{
  FeaturesJob *job = task_data;
  g_autoptr(PtDataset) test = NULL;
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtPca) pca = NULL;
  PtNormalization norm;
  GError *error = NULL;

  test = pt_features_open_split (job->run_dir, PT_SPLIT_TEST, cancellable, &error);
  if (test == NULL)
    {
      /* A folder without a test split: map its training images instead. */
      g_clear_error (&error);
      test = pt_features_open_split (job->run_dir, PT_SPLIT_TRAIN, cancellable, &error);
    }
  if (test == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->subset = pt_dataset_new_balanced_subset (test, job->n_points);
  job->n = pt_dataset_get_n_images (job->subset);

  method = pt_features_load_method (job->run_dir, PT_FEATURES_TRAINED, &norm, &job->step, &error);
  if (method == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->features = pt_features_extract (method, job->subset, &norm, &job->dim, cancellable, &error);
  if (job->features == NULL)
    {
      g_task_return_error (task, error);
      return;
    }

  /* Cosine geometry: the map, the neighbours and t-SNE all use unit rows. */
  for (guint i = 0; i < job->n; i++)
    {
      float *row = job->features + (gsize) i * job->dim;
      double s = 0;
      for (int j = 0; j < job->dim; j++)
        s += (double) row[j] * row[j];
      s = s > 0 ? 1.0 / sqrt (s) : 0;
      for (int j = 0; j < job->dim; j++)
        row[j] *= (float) s;
    }

  pca = pt_pca_fit (job->features, (int) job->n, job->dim, MIN (2, job->dim), &error);
  if (pca == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->pca = g_new0 (float, 2 * job->n);
  if (pca->n_components == 2)
    pt_pca_transform (pca, job->pca, job->features, (int) job->n);
  g_task_return_boolean (task, TRUE);
}

/* ---- t-SNE ------------------------------------------------------------- */

typedef struct {
  float   *features;
  guint    n;
  int      dim;
  float   *warm;      /* n x 2 or NULL */
  GWeakRef *page;     /* shared with the frames (g_atomic_rc_box) */
  guint    generation;
} TsneJob;

static void
page_ref_clear (gpointer ref)
{
  g_weak_ref_clear (ref);
}

static void
tsne_job_free (TsneJob *job)
{
  g_free (job->features);
  g_free (job->warm);
  g_atomic_rc_box_release_full (job->page, page_ref_clear);
  g_free (job);
}

/* A layout for the main thread to show. The frame shares the job's weak
 * reference to the page rather than taking its own: that would need a
 * strong reference on the worker thread, whose release could then be the
 * last one and finalize the page there. */
typedef struct {
  GWeakRef *page;
  guint    generation;
  float   *xy;
  guint    n;
  int      iteration;
} Frame;

static gboolean
show_frame_cb (gpointer data)
{
  Frame *f = data;
  g_autoptr(PtEmbeddingsPage) self = g_weak_ref_get (f->page);

  if (self != NULL && f->generation == self->generation && f->n == self->n)
    {
      g_autofree char *status = NULL;

      g_free (self->layout);
      self->layout = g_steal_pointer (&f->xy);
      if (gtk_toggle_button_get_active (self->tsne_toggle))
        {
          pt_scatter_map_set_points (self->map, self->n, self->layout, self->labels,
                                     self->n_classes,
                                     (const char * const *) self->class_names);
          if (self->imported != NULL)
            /* TRANSLATORS: file name, points, t-SNE iteration */
            status = g_strdup_printf (_("%s · %u points · t-SNE iteration %d"),
                                      self->imported_name, self->n, f->iteration);
          else
            /* TRANSLATORS: checkpoint step, points, t-SNE iteration */
            status = g_strdup_printf (_("step %u · %u test images · t-SNE iteration %d"),
                                      (guint) self->step, self->n, f->iteration);
          gtk_label_set_label (self->status_label, status);
        }
      self->n_frames++;
    }
  g_atomic_rc_box_release_full (f->page, page_ref_clear);
  g_free (f->xy);
  g_free (f);
  return G_SOURCE_REMOVE;
}

static void
tsne_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TsneJob *job = task_data;
  PtTsneOptions options;
  g_autoptr(PtTsne) tsne = NULL;
  GError *error = NULL;
  int done = 0;

  pt_tsne_options_init (&options);
  options.perplexity = MIN (30.0, (job->n - 1) / 3.0);
  tsne = pt_tsne_new (job->features, (int) job->n, job->dim, &options, cancellable, &error);
  if (tsne == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (job->warm != NULL)
    {
      /* Continue from what is on screen, past the exaggeration phase, so the
       * map moves rather than jumps when the encoder changes. */
      pt_tsne_set_layout (tsne, job->warm, options.exaggeration_iters);
      done = options.exaggeration_iters;
    }

  while (done < TSNE_ITERATIONS && !g_cancellable_is_cancelled (cancellable))
    {
      Frame *f;

      if (!pt_tsne_step (tsne, TSNE_CHUNK, cancellable, &error))
        break;
      done += TSNE_CHUNK;
      /* the page is gone (its dispose cancels): stop working for it */
      if (g_cancellable_is_cancelled (cancellable))
        break;
      f = g_new0 (Frame, 1);
      f->page = g_atomic_rc_box_acquire (job->page);
      f->generation = job->generation;
      f->n = job->n;
      f->iteration = pt_tsne_get_iteration (tsne);
      f->xy = g_memdup2 (pt_tsne_get_layout (tsne), sizeof (float) * 2 * job->n);
      g_idle_add (show_frame_cb, f);
      /* At most ~30 frames a second: the map redraw is the cost. */
      g_usleep (30000);
    }
  g_clear_error (&error);
  g_task_return_boolean (task, TRUE);
}

static void
on_tsne_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error) &&
      !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("t-SNE failed: %s", error->message);
}

static void
pt_embeddings_page_start_tsne (PtEmbeddingsPage *self)
{
  g_autoptr(GTask) task = NULL;
  TsneJob *job;

  g_cancellable_cancel (self->tsne_cancellable);
  g_clear_object (&self->tsne_cancellable);
  if (self->features == NULL || self->n < 8)
    return;

  self->tsne_cancellable = g_cancellable_new ();
  job = g_new0 (TsneJob, 1);
  job->features = g_memdup2 (self->features, sizeof (float) * self->n * self->dim);
  job->n = self->n;
  job->dim = self->dim;
  job->warm = self->layout ? g_memdup2 (self->layout, sizeof (float) * 2 * self->n) : NULL;
  job->page = g_atomic_rc_box_new0 (GWeakRef);
  g_weak_ref_init (job->page, self);
  job->generation = self->generation;

  task = pt_app_task_new (self, self->tsne_cancellable, on_tsne_done_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) tsne_job_free);
  g_task_run_in_thread (task, tsne_thread);
}

/* ---- Showing ----------------------------------------------------------- */

static void
pt_embeddings_page_show_points (PtEmbeddingsPage *self)
{
  g_autofree char *status = NULL;
  const float *xy;

  if ((self->subset == NULL && self->imported == NULL) || self->pca == NULL)
    return;
  xy = gtk_toggle_button_get_active (self->tsne_toggle) && self->layout ? self->layout : self->pca;
  pt_scatter_map_set_points (self->map, self->n, xy, self->labels, self->n_classes,
                             (const char * const *) self->class_names);
  gtk_stack_set_visible_child_name (self->stack, "map");
  if (self->imported != NULL && !isnan (self->knn_accuracy) && !isnan (self->probe_accuracy))
    /* TRANSLATORS: file name, number of points, kNN and linear-probe accuracy in percent */
    status = g_strdup_printf (_("%s · %u points · kNN %.1f%% (leave-one-out) · probe %.1f%% (80/20 split) · PCA"),
                              self->imported_name, self->n, 100.0 * self->knn_accuracy,
                              100.0 * self->probe_accuracy);
  else if (self->imported != NULL && !isnan (self->knn_accuracy))
    /* TRANSLATORS: file name, number of points, kNN accuracy in percent */
    status = g_strdup_printf (_("%s · %u points · kNN %.1f%% (leave-one-out) · PCA"),
                              self->imported_name, self->n, 100.0 * self->knn_accuracy);
  else if (self->imported != NULL)
    /* TRANSLATORS: file name, number of points */
    status = g_strdup_printf (_("%s · %u points · PCA"), self->imported_name, self->n);
  else
    /* TRANSLATORS: checkpoint step, number of points */
    status = g_strdup_printf (_("step %u · %u test images · PCA"), (guint) self->step, self->n);
  gtk_label_set_label (self->status_label, status);
}

static void
on_features_done_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(PtEmbeddingsPage) self = pt_app_task_dup_owner (result);
  FeaturesJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  if (self == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_object (&self->features_cancellable);

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      pt_embeddings_page_show_empty (self, error->message);
      gtk_label_set_label (self->status_label, "");
      return;
    }

  /* A new subset (another run) starts the layout afresh. */
  if (self->subset == NULL || self->n != job->n ||
      g_strcmp0 (pt_dataset_get_content_hash (self->subset), pt_dataset_get_content_hash (job->subset)) != 0)
    g_clear_pointer (&self->layout, g_free);

  g_set_object (&self->subset, job->subset);
  pt_embeddings_page_clear_classes (self);
  self->labels = g_memdup2 (pt_dataset_get_labels (job->subset), sizeof (int) * MAX (job->n, 1));
  self->n_classes = pt_dataset_get_n_classes (job->subset);
  if (self->n_classes > 0)
    {
      self->class_names = g_new0 (char *, self->n_classes + 1);
      for (int c = 0; c < self->n_classes; c++)
        self->class_names[c] = g_strdup (pt_dataset_get_class_name (job->subset, c));
    }
  g_free (self->features);
  self->features = g_steal_pointer (&job->features);
  g_free (self->pca);
  self->pca = g_steal_pointer (&job->pca);
  self->dim = job->dim;
  self->n = job->n;
  self->step = job->step;
  self->generation++;
  self->n_updates++;

  pt_embeddings_page_show_points (self);
  if (gtk_toggle_button_get_active (self->tsne_toggle))
    pt_embeddings_page_start_tsne (self);
}

static void
pt_embeddings_page_compute (PtEmbeddingsPage *self)
{
  g_autoptr(GTask) task = NULL;
  FeaturesJob *job;

  if (self->run_dir == NULL)
    return;

  g_cancellable_cancel (self->features_cancellable);
  g_clear_object (&self->features_cancellable);
  self->features_cancellable = g_cancellable_new ();
  self->checkpoint_mtime = checkpoint_mtime (self->run_dir);

  job = g_new0 (FeaturesJob, 1);
  job->run_dir = g_strdup (self->run_dir);
  job->n_points = N_POINTS;
  gtk_label_set_label (self->status_label, _("Embedding the test images…"));

  task = pt_app_task_new (self, self->features_cancellable, on_features_done_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) features_job_free);
  g_task_run_in_thread (task, features_thread);
}

static gboolean
on_poll_cb (gpointer user_data)
{
  PtEmbeddingsPage *self = user_data;

  if (self->run_dir != NULL && self->features_cancellable == NULL &&
      checkpoint_mtime (self->run_dir) != self->checkpoint_mtime)
    pt_embeddings_page_compute (self);
  return G_SOURCE_CONTINUE;
}

/* ---- Runs -------------------------------------------------------------- */

static void
pt_embeddings_page_select_run (PtEmbeddingsPage *self,
                               const char       *dir)
{
  if (g_strcmp0 (self->run_dir, dir) == 0 && self->imported == NULL)
    return;
  pt_embeddings_page_forget_import (self);
  g_free (self->run_dir);
  self->run_dir = g_strdup (dir);
  g_clear_pointer (&self->layout, g_free);
  g_clear_object (&self->subset);
  pt_embeddings_page_compute (self);
}

static void
on_run_selected_cb (PtEmbeddingsPage *self)
{
  guint i = gtk_drop_down_get_selected (self->run_dropdown);

  if (self->filling || i >= self->run_dirs->len)
    return;
  pt_embeddings_page_select_run (self, self->run_dirs->pdata[i]);
}

static void
pt_embeddings_page_refresh (PtEmbeddingsPage *self)
{
  g_autoptr(GPtrArray) runs = pt_run_list (self->runs_root, NULL);
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  guint selected = 0;

  g_ptr_array_set_size (self->run_dirs, 0);
  /* Newest first. */
  for (guint i = runs ? runs->len : 0; i-- > 0;)
    {
      PtRunInfo *info = runs->pdata[i];
      g_autofree char *title = g_strdup_printf ("%s · %s · %s", info->name, info->method, info->dataset);

      if (g_strcmp0 (info->dir, self->run_dir) == 0)
        selected = self->run_dirs->len;
      g_ptr_array_add (self->run_dirs, g_strdup (info->dir));
      gtk_string_list_append (titles, title);
    }

  self->filling = TRUE;
  gtk_drop_down_set_model (self->run_dropdown, G_LIST_MODEL (titles));
  /* Imported embeddings stay until a run is picked. */
  gtk_drop_down_set_selected (self->run_dropdown,
                              self->imported != NULL || self->import_cancellable != NULL
                              ? GTK_INVALID_LIST_POSITION : selected);
  self->filling = FALSE;

  if (self->imported != NULL || self->import_cancellable != NULL)
    return;

  if (self->run_dirs->len == 0)
    {
      pt_embeddings_page_show_empty (self, _("No run yet. Train an encoder on the Pretrain page (or with pretext-cli train) and its embedding map appears here."));
      return;
    }
  pt_embeddings_page_select_run (self, self->run_dirs->pdata[selected]);
}

static void
pt_embeddings_page_refresh_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  pt_embeddings_page_refresh (PT_EMBEDDINGS_PAGE (widget));
}

/* ---- Neighbours -------------------------------------------------------- */

GArray *
pt_embeddings_page_dup_neighbours (PtEmbeddingsPage *self,
                                   guint             i)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (guint));
  g_autofree double *sims = NULL;

  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), out);
  if (self->features == NULL || i >= self->n)
    return out;

  sims = g_new (double, self->n);
  for (guint j = 0; j < self->n; j++)
    {
      double s = 0;
      for (int d = 0; d < self->dim; d++)
        s += (double) self->features[(gsize) i * self->dim + d] * self->features[(gsize) j * self->dim + d];
      sims[j] = j == i ? -INFINITY : s;
    }
  for (guint k = 0; k < MIN ((guint) N_NEIGHBOURS, self->n - 1); k++)
    {
      guint best = 0;
      for (guint j = 1; j < self->n; j++)
        if (sims[j] > sims[best])
          best = j;
      g_array_append_val (out, best);
      sims[best] = -INFINITY;
    }
  return out;
}

static void
on_point_activated_cb (PtScatterMap     *map,
                       guint             i,
                       PtEmbeddingsPage *self)
{
  g_autoptr(GArray) nn = pt_embeddings_page_dup_neighbours (self, i);
  g_autofree char *text = NULL;
  GtkWidget *child;
  int label = pt_embeddings_page_label (self, i);
  guint same = 0;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->neighbours_box))) != NULL)
    gtk_box_remove (self->neighbours_box, child);

  for (guint k = 0; k <= nn->len; k++)
    {
      guint idx = k == 0 ? i : g_array_index (nn, guint, k - 1);
      g_autoptr(GdkTexture) tex = pt_embeddings_page_dup_texture (self, idx, 64);
      GtkWidget *pic = tex != NULL ? gtk_picture_new_for_paintable (GDK_PAINTABLE (tex))
                                   : gtk_label_new (NULL);
      int l = pt_embeddings_page_label (self, idx);
      g_autofree char *number = NULL;

      if (tex == NULL)
        {
          /* no image folder: the row number stands in for the picture */
          number = g_strdup_printf ("%u", self->imported_rows != NULL ? self->imported_rows[idx] : idx);
          gtk_label_set_label (GTK_LABEL (pic), number);
        }
      gtk_widget_set_size_request (pic, 64, 64);
      if (l >= 0)
        gtk_widget_set_tooltip_text (pic, pt_embeddings_page_class_name (self, l));
      if (k == 0)
        gtk_widget_add_css_class (pic, "pt-card");
      else if (l == label)
        same++;
      gtk_box_append (self->neighbours_box, pic);
    }
  pt_scatter_map_set_highlight (self->map, (const guint *) (gpointer) nn->data, nn->len);

  if (label >= 0)
    /* TRANSLATORS: image number, its class, how many neighbours share it, how many neighbours */
    text = g_strdup_printf (_("Image %u (%s) and its nearest neighbours: %u of %u share its class."),
                            i, pt_embeddings_page_class_name (self, label) != NULL
                               ? pt_embeddings_page_class_name (self, label) : "?",
                            same, nn->len);
  else
    text = g_strdup_printf (_("Image %u and its nearest neighbours."), i);
  gtk_label_set_label (self->neighbours_label, text);
}

static GdkTexture *
thumb_cb (guint    i,
          gpointer user_data)
{
  return pt_embeddings_page_dup_texture (user_data, i, 64);
}

static void
on_projection_toggled_cb (PtEmbeddingsPage *self)
{
  if (gtk_toggle_button_get_active (self->tsne_toggle))
    {
      if (self->layout == NULL)
        pt_embeddings_page_start_tsne (self);
    }
  else
    {
      g_cancellable_cancel (self->tsne_cancellable);
      g_clear_object (&self->tsne_cancellable);
    }
  pt_embeddings_page_show_points (self);
}

/* ---- Imported embeddings ----------------------------------------------- */

typedef struct {
  PtEmbeddingSet *set;
  char           *name;
  /* results */
  guint           n;
  int             dim;
  guint          *rows;
  float          *features;
  float          *pca;
  double          knn;
  double          probe;
} ImportJob;

static void
import_job_free (ImportJob *job)
{
  g_clear_pointer (&job->set, pt_embedding_set_free);
  g_free (job->name);
  g_free (job->rows);
  g_free (job->features);
  g_free (job->pca);
  g_free (job);
}

static void
import_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  ImportJob *job = task_data;
  const PtEmbeddingSet *set = job->set;
  g_autoptr(PtPca) pca = NULL;
  GError *error = NULL;

  if (set->n < 2)
    {
      g_task_return_new_error (task, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                               _("“%s” has %u rows; the map needs at least 2."), job->name,
                               set->n);
      return;
    }
  /* Evenly spaced rows keep the map and t-SNE interactive. */
  job->n = MIN (set->n, N_IMPORT_POINTS);
  job->dim = (int) set->d;
  job->rows = g_new (guint, job->n);
  job->features = g_new (float, (gsize) job->n * job->dim);
  for (guint i = 0; i < job->n; i++)
    {
      float *row = job->features + (gsize) i * job->dim;
      double s = 0;

      job->rows[i] = (guint) ((guint64) i * set->n / job->n);
      memcpy (row, set->data + (gsize) job->rows[i] * set->d, sizeof (float) * set->d);
      /* Cosine geometry, as for a run's features. */
      for (int j = 0; j < job->dim; j++)
        s += (double) row[j] * row[j];
      s = s > 0 ? 1.0 / sqrt (s) : 0;
      for (int j = 0; j < job->dim; j++)
        row[j] *= (float) s;
    }
  pca = pt_pca_fit (job->features, (int) job->n, job->dim, MIN (2, job->dim), &error);
  if (pca == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  job->pca = g_new0 (float, 2 * job->n);
  if (pca->n_components == 2)
    pt_pca_transform (pca, job->pca, job->features, (int) job->n);
  else
    for (guint i = 0; i < job->n; i++)
      job->pca[2 * i] = job->features[i];

  /* kNN over every labeled row, not only the mapped ones. */
  job->knn = NAN;
  job->probe = NAN;
  if (set->labels != NULL &&
      !pt_embedding_set_knn_accuracy (set, 20, 0.07, &job->knn, cancellable, NULL))
    job->knn = NAN;
  if (set->labels != NULL && !g_cancellable_is_cancelled (cancellable))
    {
      g_autoptr(PtProbeResult) probe = pt_embedding_set_probe (set, 0, cancellable, NULL);

      if (probe != NULL)
        job->probe = probe->report->accuracy;
    }
  g_task_return_boolean (task, TRUE);
}

/* The banner says why; what was shown stays, with its status line. */
static void
pt_embeddings_page_import_failed (PtEmbeddingsPage *self,
                                  const char       *message)
{
  g_clear_pointer (&self->pending_name, g_free);
  pt_embeddings_page_show_banner (self, message);
  gtk_label_set_label (self->status_label, "");
  pt_embeddings_page_show_points (self);
  pt_embeddings_page_refresh (self);
}

static void
on_import_prepared_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(PtEmbeddingsPage) self = pt_app_task_dup_owner (result);
  ImportJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  const PtLabels *labels;

  if (self == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    return;
  g_clear_object (&self->import_cancellable);
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      pt_embeddings_page_import_failed (self, error->message);
      return;
    }

  /* Leave whatever was shown: a run's work stops. */
  g_cancellable_cancel (self->features_cancellable);
  g_clear_object (&self->features_cancellable);
  g_cancellable_cancel (self->tsne_cancellable);
  g_clear_object (&self->tsne_cancellable);
  g_clear_object (&self->subset);
  g_clear_pointer (&self->run_dir, g_free);
  g_clear_pointer (&self->layout, g_free);
  pt_embeddings_page_forget_import (self);
  pt_embeddings_page_clear_classes (self);

  self->imported = g_steal_pointer (&job->set);
  self->imported_name = g_steal_pointer (&job->name);
  self->imported_rows = g_steal_pointer (&job->rows);
  self->knn_accuracy = job->knn;
  self->probe_accuracy = job->probe;
  g_free (self->features);
  self->features = g_steal_pointer (&job->features);
  g_free (self->pca);
  self->pca = g_steal_pointer (&job->pca);
  self->dim = job->dim;
  self->n = job->n;
  self->step = 0;
  labels = self->imported->labels;
  if (labels != NULL)
    {
      self->labels = g_new (int, self->n);
      for (guint i = 0; i < self->n; i++)
        self->labels[i] = labels->values[self->imported_rows[i]];
      self->n_classes = (int) labels->n_classes;
      self->class_names = g_new0 (char *, self->n_classes + 1);
      for (int c = 0; c < self->n_classes; c++)
        self->class_names[c] = labels->class_names != NULL ? g_strdup (labels->class_names[c])
                                                           : g_strdup_printf ("%d", c);
    }
  self->generation++;
  self->n_updates++;
  pt_embeddings_page_show_banner (self, NULL);
  gtk_label_set_label (self->neighbours_label,
                       _("Click a point to see its nearest neighbours in feature space."));
  pt_embeddings_page_show_points (self);
  pt_embeddings_page_refresh (self);
  if (gtk_toggle_button_get_active (self->tsne_toggle))
    pt_embeddings_page_start_tsne (self);
}

static void
on_import_loaded_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(PtEmbeddingsPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtEmbeddingSet) set = pt_embedding_set_load_finish (result, &error);
  g_autoptr(GTask) task = NULL;
  GCancellable *cancellable = g_task_get_cancellable (G_TASK (result));
  ImportJob *job;

  if (g_cancellable_is_cancelled (cancellable) || cancellable != self->import_cancellable)
    return;
  if (set == NULL)
    {
      g_clear_object (&self->import_cancellable);
      pt_embeddings_page_import_failed (self, error->message);
      return;
    }
  job = g_new0 (ImportJob, 1);
  job->set = g_steal_pointer (&set);
  job->name = g_steal_pointer (&self->pending_name);
  task = pt_app_task_new (self, self->import_cancellable, on_import_prepared_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) import_job_free);
  g_task_run_in_thread (task, import_thread);
}

static void
on_import_chosen_cb (const char *npy,
                     const char *labels,
                     const char *images,
                     gpointer    user_data)
{
  pt_embeddings_page_open_embeddings (PT_EMBEDDINGS_PAGE (user_data), npy, labels, images);
}

static void
pt_embeddings_page_open_action (GtkWidget  *widget,
                                const char *action_name,
                                GVariant   *parameter)
{
  GtkRoot *root = gtk_widget_get_root (widget);

  pt_import_dialog_present (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                            on_import_chosen_cb, g_object_ref (widget), g_object_unref);
}

static void
pt_embeddings_page_dismiss_action (GtkWidget  *widget,
                                   const char *action_name,
                                   GVariant   *parameter)
{
  pt_embeddings_page_show_banner (PT_EMBEDDINGS_PAGE (widget), NULL);
}

void
pt_embeddings_page_open_embeddings (PtEmbeddingsPage *self,
                                    const char       *npy_path,
                                    const char       *labels_path,
                                    const char       *image_dir)
{
  g_autoptr(GTask) task = NULL;
  g_autofree char *status = NULL;
  g_autofree char *name = NULL;

  g_return_if_fail (PT_IS_EMBEDDINGS_PAGE (self));
  g_return_if_fail (npy_path != NULL);

  g_cancellable_cancel (self->import_cancellable);
  g_clear_object (&self->import_cancellable);
  self->import_cancellable = g_cancellable_new ();
  name = g_path_get_basename (npy_path);
  /* TRANSLATORS: a file name */
  status = g_strdup_printf (_("Opening %s…"), name);
  gtk_label_set_label (self->status_label, status);
  g_free (self->pending_name);
  self->pending_name = g_steal_pointer (&name);
  pt_embedding_set_load_async (npy_path, labels_path, image_dir, self->import_cancellable,
                               on_import_loaded_cb, g_object_ref (self));
}

double
pt_embeddings_page_get_knn_accuracy (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NAN);
  return self->imported != NULL ? self->knn_accuracy : NAN;
}

double
pt_embeddings_page_get_probe_accuracy (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NAN);
  return self->imported != NULL ? self->probe_accuracy : NAN;
}

const char *
pt_embeddings_page_get_banner (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NULL);
  if (!gtk_revealer_get_reveal_child (self->banner_revealer))
    return NULL;
  return gtk_label_get_label (self->banner_label);
}

const int *
pt_embeddings_page_get_labels (PtEmbeddingsPage *self,
                               int              *n_classes)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NULL);
  if (n_classes != NULL)
    *n_classes = self->n_classes;
  return self->labels;
}

const char *
pt_embeddings_page_get_class_name (PtEmbeddingsPage *self,
                                   int               c)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NULL);
  return pt_embeddings_page_class_name (self, c);
}

GdkTexture *
pt_embeddings_page_dup_thumbnail (PtEmbeddingsPage *self,
                                  guint             i)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), NULL);
  return pt_embeddings_page_dup_texture (self, i, 64);
}

/* ---- Public ------------------------------------------------------------ */

void
pt_embeddings_page_set_runs_root (PtEmbeddingsPage *self,
                                  const char       *root)
{
  g_return_if_fail (PT_IS_EMBEDDINGS_PAGE (self));

  g_free (self->runs_root);
  self->runs_root = g_strdup (root);
  pt_embeddings_page_refresh (self);
}

void
pt_embeddings_page_show_run (PtEmbeddingsPage *self,
                             const char       *dir)
{
  g_return_if_fail (PT_IS_EMBEDDINGS_PAGE (self));

  pt_embeddings_page_select_run (self, dir);
  pt_embeddings_page_refresh (self);
}

void
pt_embeddings_page_set_tsne (PtEmbeddingsPage *self,
                             gboolean          tsne)
{
  g_return_if_fail (PT_IS_EMBEDDINGS_PAGE (self));
  gtk_toggle_button_set_active (tsne ? self->tsne_toggle : self->pca_toggle, TRUE);
}

guint
pt_embeddings_page_get_n_points (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), 0);
  return pt_scatter_map_get_n_points (self->map);
}

guint
pt_embeddings_page_get_n_updates (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), 0);
  return self->n_updates;
}

guint
pt_embeddings_page_get_n_frames (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), 0);
  return self->n_frames;
}

gboolean
pt_embeddings_page_get_busy (PtEmbeddingsPage *self)
{
  g_return_val_if_fail (PT_IS_EMBEDDINGS_PAGE (self), FALSE);
  return self->features_cancellable != NULL;
}

static void
pt_embeddings_page_map (GtkWidget *widget)
{
  PtEmbeddingsPage *self = PT_EMBEDDINGS_PAGE (widget);

  GTK_WIDGET_CLASS (pt_embeddings_page_parent_class)->map (widget);
  pt_embeddings_page_refresh (self);
  if (self->poll_source == 0)
    self->poll_source = g_timeout_add_seconds (2, on_poll_cb, self);
}

static void
pt_embeddings_page_unmap (GtkWidget *widget)
{
  PtEmbeddingsPage *self = PT_EMBEDDINGS_PAGE (widget);

  g_clear_handle_id (&self->poll_source, g_source_remove);
  GTK_WIDGET_CLASS (pt_embeddings_page_parent_class)->unmap (widget);
}

static void
pt_embeddings_page_dispose (GObject *object)
{
  PtEmbeddingsPage *self = PT_EMBEDDINGS_PAGE (object);
  GtkWidget *child;

  g_clear_handle_id (&self->poll_source, g_source_remove);
  g_cancellable_cancel (self->features_cancellable);
  g_clear_object (&self->features_cancellable);
  g_cancellable_cancel (self->tsne_cancellable);
  g_clear_object (&self->tsne_cancellable);
  g_clear_object (&self->subset);
  pt_embeddings_page_forget_import (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), PT_TYPE_EMBEDDINGS_PAGE);
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (pt_embeddings_page_parent_class)->dispose (object);
}

static void
pt_embeddings_page_finalize (GObject *object)
{
  PtEmbeddingsPage *self = PT_EMBEDDINGS_PAGE (object);

  g_ptr_array_unref (self->run_dirs);
  g_free (self->runs_root);
  g_free (self->run_dir);
  g_free (self->features);
  g_free (self->pca);
  g_free (self->layout);
  pt_embeddings_page_clear_classes (self);
  G_OBJECT_CLASS (pt_embeddings_page_parent_class)->finalize (object);
}

static void
pt_embeddings_page_class_init (PtEmbeddingsPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_embeddings_page_dispose;
  object_class->finalize = pt_embeddings_page_finalize;
  widget_class->map = pt_embeddings_page_map;
  widget_class->unmap = pt_embeddings_page_unmap;

  g_type_ensure (PT_TYPE_SCATTER_MAP);
  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-embeddings-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, content);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, run_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, pca_toggle);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, tsne_toggle);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, map);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, empty_label);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, neighbours_label);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, neighbours_box);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, banner_revealer);
  gtk_widget_class_bind_template_child (widget_class, PtEmbeddingsPage, banner_label);

  gtk_widget_class_install_action (widget_class, "embeddings.refresh", NULL, pt_embeddings_page_refresh_action);
  gtk_widget_class_install_action (widget_class, "embeddings.open", NULL, pt_embeddings_page_open_action);
  gtk_widget_class_install_action (widget_class, "embeddings.dismiss", NULL, pt_embeddings_page_dismiss_action);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

static void
pt_embeddings_page_init (PtEmbeddingsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));

  self->run_dirs = g_ptr_array_new_with_free_func (g_free);
  self->knn_accuracy = NAN;
  self->probe_accuracy = NAN;
  pt_scatter_map_set_thumb_func (self->map, thumb_cb, self, NULL);
  pt_plot_export_attach (GTK_WIDGET (self->map));
  g_signal_connect_object (self->map, "point-activated", G_CALLBACK (on_point_activated_cb), self, 0);
  g_signal_connect_object (self->run_dropdown, "notify::selected",
                           G_CALLBACK (on_run_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->tsne_toggle, "notify::active",
                           G_CALLBACK (on_projection_toggled_cb), self, G_CONNECT_SWAPPED);
  pt_embeddings_page_show_empty (self, _("Looking for runs…"));
}
