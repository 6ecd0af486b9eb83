/* pt-augment-page.c: the augmentation studio.
 *
 * The editor on the left is built from the recipe: per view group, each op
 * with an enable switch, its probability and its parameters. Every change
 * re-renders the views of the chosen images with pt_augment_batch(), the
 * very code the loader runs during training. Rendering 16 images x 2 views
 * takes about a millisecond, so it runs on the main thread; the time is
 * shown beside the controls.
 */
#include <math.h>
#include <stddef.h>
#include <glib/gi18n.h>

#include "pt-app-task.h"
#include "pt-build-config.h"
#include "pt-augment-page.h"
#include "pt-features.h"
#include "pt-run.h"
#include "pt-threads.h"
#include "pt-view-grid.h"

typedef struct {
  const char *key;        /* recipe key */
  const char *label;      /* N_() */
  gsize       offset;     /* double field in PtAugOpParams */
  double      lower, upper, step;
  int         digits;
} ParamInfo;

#define F(field) offsetof (PtAugOpParams, field)

static const ParamInfo crop_params[] = {
  { "scale-min", N_("Smallest area"), F (min), 0.01, 1, 0.01, 2 },
  { "scale-max", N_("Largest area"), F (max), 0.01, 1, 0.01, 2 },
  { "ratio-min", N_("Narrowest aspect"), F (ratio_min), 0.1, 10, 0.05, 2 },
  { "ratio-max", N_("Widest aspect"), F (ratio_max), 0.1, 10, 0.05, 2 },
  { NULL }
};
static const ParamInfo rotate_params[] = {
  { "degrees-min", N_("Smallest angle"), F (min), -180, 180, 1, 0 },
  { "degrees-max", N_("Largest angle"), F (max), -180, 180, 1, 0 },
  { "fill", N_("Fill"), F (value), 0, 1, 0.05, 2 },
  { NULL }
};
static const ParamInfo jitter_params[] = {
  { "brightness", N_("Brightness"), F (brightness), 0, 1, 0.05, 2 },
  { "contrast", N_("Contrast"), F (contrast), 0, 1, 0.05, 2 },
  { "saturation", N_("Saturation"), F (saturation), 0, 1, 0.05, 2 },
  { "hue", N_("Hue"), F (hue), 0, 0.5, 0.01, 2 },
  { NULL }
};
static const ParamInfo blur_params[] = {
  { "sigma-min", N_("Smallest σ"), F (min), 0.01, 5, 0.05, 2 },
  { "sigma-max", N_("Largest σ"), F (max), 0.01, 5, 0.05, 2 },
  { "kernel-fraction", N_("Kernel (of side)"), F (value), 0.01, 0.5, 0.01, 2 },
  { NULL }
};
static const ParamInfo solarize_params[] = {
  { "threshold", N_("Threshold"), F (value), 0, 1, 0.01, 2 },
  { NULL }
};
static const ParamInfo erase_params[] = {
  { "scale-min", N_("Smallest area"), F (min), 0.01, 1, 0.01, 2 },
  { "scale-max", N_("Largest area"), F (max), 0.01, 1, 0.01, 2 },
  { "ratio-min", N_("Narrowest aspect"), F (ratio_min), 0.1, 10, 0.05, 2 },
  { "ratio-max", N_("Widest aspect"), F (ratio_max), 0.1, 10, 0.05, 2 },
  { "value", N_("Fill"), F (value), 0, 1, 0.05, 2 },
  { NULL }
};
static const ParamInfo noise_params[] = {
  { "std", N_("Standard deviation"), F (value), 0, 0.5, 0.005, 3 },
  { NULL }
};
static const ParamInfo no_params[] = { { NULL } };

#undef F

static const struct {
  const char      *title;   /* N_() */
  const ParamInfo *params;
} op_info[PT_AUG_N_OPS] = {
  [PT_AUG_CROP] = { N_("Random resized crop"), crop_params },
  [PT_AUG_HFLIP] = { N_("Horizontal flip"), no_params },
  [PT_AUG_VFLIP] = { N_("Vertical flip"), no_params },
  [PT_AUG_ROTATE] = { N_("Rotation"), rotate_params },
  [PT_AUG_JITTER] = { N_("Colour jitter"), jitter_params },
  [PT_AUG_GRAYSCALE] = { N_("Grayscale"), no_params },
  [PT_AUG_BLUR] = { N_("Gaussian blur"), blur_params },
  [PT_AUG_SOLARIZE] = { N_("Solarize"), solarize_params },
  [PT_AUG_EQUALIZE] = { N_("Equalize"), no_params },
  [PT_AUG_ERASE] = { N_("Random erasing"), erase_params },
  [PT_AUG_NOISE] = { N_("Gaussian noise"), noise_params },
};

struct _PtAugmentPage
{
  GtkWidget        parent_instance;

  GtkDropDown     *preset_dropdown;
  GtkLabel        *reference_label;
  GtkRevealer     *error_revealer;
  GtkLabel        *error_label;
  GtkBox          *editor_box;
  GtkSpinButton   *count_spin;
  GtkSpinButton   *seed_spin;
  GtkLabel        *status_label;
  PtViewGrid      *view_grid;
  GtkDropDown     *encoder_dropdown;

  PtDataset       *dataset;
  PtAugRecipe     *recipe;
  char           **presets;
  guint            render_count;
  gboolean         building;    /* suppresses feedback while (re)building controls */

  /* A trained encoder scores each pair: the cosine similarity of the
   * embeddings of its first two views. The method is used by one worker at
   * a time; a render while one runs leaves a pending request. */
  GPtrArray       *encoder_dirs;  /* run dirs, dropdown row i+1 */
  PtMethod        *method;
  PtNormalization  norm;
  GCancellable    *encoder_cancellable;
  guint            embed_generation;
  gboolean         embed_running;
  gboolean         embed_pending;
  float           *pair_views[2]; /* last render's first two views, n_rows each */
  int              pair_shape[3];
  guint            pair_rows;
  guint            n_scored;
  char            *recipe_text;   /* the recipe as .ini text, for the Pretrain page */
};

G_DEFINE_FINAL_TYPE (PtAugmentPage, pt_augment_page, GTK_TYPE_WIDGET)

enum {
  PROP_0,
  PROP_DATASET,
  PROP_RECIPE_TEXT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void pt_augment_page_rebuild_editor (PtAugmentPage *self);
static void pt_augment_page_score_pairs (PtAugmentPage *self);

static void
pt_augment_page_show_error (PtAugmentPage *self,
                            const char    *message)
{
  gtk_label_set_label (self->error_label, message ? message : "");
  gtk_revealer_set_reveal_child (self->error_revealer, message != NULL);
}

/* Source images: a seeded, deterministic choice spread over the dataset. */
static guint
pick_index (guint seed,
            guint k,
            guint n)
{
  guint64 z = ((guint64) seed << 32) ^ (k + 1) * G_GUINT64_CONSTANT (0x9e3779b97f4a7c15);

  z = (z ^ (z >> 30)) * G_GUINT64_CONSTANT (0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * G_GUINT64_CONSTANT (0x94d049bb133111eb);
  z ^= z >> 31;
  return (guint) (z % n);
}

typedef struct {
  PtMethod        *method;
  PtNormalization  norm;
  float           *views[2];
  int              c, h, w;
  guint            n;
  guint            generation;
} ScoreJob;

static void
score_job_free (ScoreJob *job)
{
  pt_method_unref (job->method);
  g_free (job->views[0]);
  g_free (job->views[1]);
  g_free (job);
}

static void
score_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  ScoreJob *job = task_data;
  int dim = pt_method_get_feature_dim (job->method);
  gsize plane = (gsize) job->h * job->w;
  g_autofree float *f0 = g_new (float, (gsize) job->n * dim);
  g_autofree float *f1 = g_new (float, (gsize) job->n * dim);
  double *sims = g_new (double, job->n);
  GError *error = NULL;

  /* The views are in [0, 1]; the encoder was trained on normalized pixels. */
  for (int v = 0; v < 2; v++)
    for (guint i = 0; i < job->n; i++)
      for (int ch = 0; ch < job->c; ch++)
        {
          float *p = job->views[v] + ((gsize) i * job->c + ch) * plane;
          for (gsize k = 0; k < plane; k++)
            p[k] = (p[k] - job->norm.mean[ch]) / job->norm.std[ch];
        }

  if (!pt_method_embed (job->method, job->views[0], (int) job->n, f0, &error) ||
      !pt_method_embed (job->method, job->views[1], (int) job->n, f1, &error))
    {
      g_free (sims);
      g_task_return_error (task, error);
      return;
    }
  for (guint i = 0; i < job->n; i++)
    {
      double ab = 0, aa = 0, bb = 0;
      for (int d = 0; d < dim; d++)
        {
          double a = f0[(gsize) i * dim + d], b = f1[(gsize) i * dim + d];
          ab += a * b;
          aa += a * a;
          bb += b * b;
        }
      sims[i] = aa > 0 && bb > 0 ? ab / sqrt (aa * bb) : 0.0;
    }
  g_task_return_pointer (task, sims, g_free);
}

static void
on_scored_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PtAugmentPage) self = pt_app_task_dup_owner (result);
  ScoreJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;
  g_autofree double *sims = g_task_propagate_pointer (G_TASK (result), &error);

  if (self == NULL)
    return;
  self->embed_running = FALSE;
  if (sims != NULL && job->generation == self->embed_generation && self->method != NULL)
    {
      pt_view_grid_set_similarities (self->view_grid, job->n, sims);
      self->n_scored++;
    }
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    pt_augment_page_show_error (self, error->message);

  if (self->embed_pending)
    {
      self->embed_pending = FALSE;
      pt_augment_page_score_pairs (self);
    }
}

static void
pt_augment_page_score_pairs (PtAugmentPage *self)
{
  const PtMethodConfig *config;
  g_autoptr(GTask) task = NULL;
  ScoreJob *job;

  self->embed_generation++;
  if (self->method == NULL || self->pair_rows == 0)
    {
      pt_view_grid_set_similarities (self->view_grid, 0, NULL);
      return;
    }
  config = pt_method_get_config (self->method);
  if (config->channels != self->pair_shape[0] || config->height != self->pair_shape[1] ||
      config->width != self->pair_shape[2])
    {
      pt_view_grid_set_similarities (self->view_grid, 0, NULL);
      return;
    }
  if (self->embed_running)
    {
      self->embed_pending = TRUE;
      return;
    }

  job = g_new0 (ScoreJob, 1);
  job->method = pt_method_ref (self->method);
  job->norm = self->norm;
  job->c = self->pair_shape[0];
  job->h = self->pair_shape[1];
  job->w = self->pair_shape[2];
  job->n = self->pair_rows;
  for (int v = 0; v < 2; v++)
    job->views[v] = g_memdup2 (self->pair_views[v], sizeof (float) * job->n * job->c * job->h * job->w);
  job->generation = self->embed_generation;

  self->embed_running = TRUE;
  task = pt_app_task_new (self, NULL, on_scored_cb);
  g_task_set_task_data (task, job, (GDestroyNotify) score_job_free);
  g_task_run_in_thread (task, score_thread);
}

static void
on_encoder_loaded_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(PtAugmentPage) self = pt_app_task_dup_owner (result);
  g_autoptr(GError) error = NULL;
  PtMethod *method = g_task_propagate_pointer (G_TASK (result), &error);
  PtNormalization *norm = g_task_get_task_data (G_TASK (result));

  if (self == NULL || g_cancellable_is_cancelled (g_task_get_cancellable (G_TASK (result))))
    {
      g_clear_pointer (&method, pt_method_unref);
      return;
    }
  if (method == NULL)
    {
      pt_augment_page_show_error (self, error->message);
      return;
    }
  g_clear_pointer (&self->method, pt_method_unref);
  self->method = method;
  self->norm = *norm;
  pt_augment_page_score_pairs (self);
}

static void
load_encoder_thread (GTask        *task,
                     gpointer      source,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  const char *dir = g_object_get_data (G_OBJECT (task), "pt-run-dir");
  GError *error = NULL;
  PtMethod *method = pt_features_load_method (dir, PT_FEATURES_TRAINED, task_data, NULL, &error);

  if (method == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, method, (GDestroyNotify) pt_method_unref);
}

static void
on_encoder_selected_cb (PtAugmentPage *self)
{
  guint i = gtk_drop_down_get_selected (self->encoder_dropdown);
  g_autoptr(GTask) task = NULL;

  if (self->building)
    return;
  g_cancellable_cancel (self->encoder_cancellable);
  g_clear_object (&self->encoder_cancellable);
  g_clear_pointer (&self->method, pt_method_unref);
  pt_augment_page_score_pairs (self);
  if (i == 0 || i == GTK_INVALID_LIST_POSITION || i - 1 >= self->encoder_dirs->len)
    return;

  self->encoder_cancellable = g_cancellable_new ();
  task = pt_app_task_new (self, self->encoder_cancellable, on_encoder_loaded_cb);
  g_object_set_data_full (G_OBJECT (task), "pt-run-dir", g_strdup (self->encoder_dirs->pdata[i - 1]), g_free);
  g_task_set_task_data (task, g_new0 (PtNormalization, 1), g_free);
  g_task_run_in_thread (task, load_encoder_thread);
}

/* The runs trained on this dataset, newest first. */
static void
pt_augment_page_fill_encoders (PtAugmentPage *self)
{
  g_autoptr(GPtrArray) runs = pt_run_list (NULL, NULL);
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);
  const char *spec = self->dataset ? pt_dataset_get_spec (self->dataset) : NULL;
  guint keep = 0;
  g_autofree char *current = NULL;
  guint sel = gtk_drop_down_get_selected (self->encoder_dropdown);

  if (sel != GTK_INVALID_LIST_POSITION && sel > 0 && sel - 1 < self->encoder_dirs->len)
    current = g_strdup (self->encoder_dirs->pdata[sel - 1]);

  g_ptr_array_set_size (self->encoder_dirs, 0);
  gtk_string_list_append (titles, _("No encoder"));
  for (guint i = runs ? runs->len : 0; i-- > 0;)
    {
      PtRunInfo *info = runs->pdata[i];
      g_autofree char *title = NULL;

      if (spec == NULL || g_strcmp0 (info->dataset, spec) != 0)
        continue;
      /* TRANSLATORS: method, steps trained, run folder name */
      title = g_strdup_printf (_("%s, %u steps (%s)"), info->method, (guint) info->steps, info->name);
      if (g_strcmp0 (current, info->dir) == 0)
        keep = self->encoder_dirs->len + 1;
      g_ptr_array_add (self->encoder_dirs, g_strdup (info->dir));
      gtk_string_list_append (titles, title);
    }

  self->building = TRUE;
  gtk_drop_down_set_model (self->encoder_dropdown, G_LIST_MODEL (titles));
  gtk_drop_down_set_selected (self->encoder_dropdown, keep);
  self->building = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->encoder_dropdown), self->encoder_dirs->len > 0);
  if (keep == 0 && self->method != NULL)
    on_encoder_selected_cb (self);
}

static void
pt_augment_page_render (PtAugmentPage *self)
{
  guint n_rows, n_views, seed;
  int C, H, W;
  g_autofree const guint8 **images = NULL;
  g_autofree guint64 *indices = NULL;
  g_autofree float **views = NULL;
  g_autofree PtViewRecord *records = NULL;
  g_autofree PtViewGridRow *rows = NULL;
  g_autofree char *status = NULL;
  gint64 start;
  double ms;

  if (self->recipe != NULL && !self->building)
    {
      /* Every edit passes here: publish the recipe for the Pretrain page. */
      g_autofree char *text = pt_augment_recipe_to_data (self->recipe, NULL);

      if (g_strcmp0 (text, self->recipe_text) != 0)
        {
          g_free (self->recipe_text);
          self->recipe_text = g_steal_pointer (&text);
          g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECIPE_TEXT]);
        }
    }
  if (self->dataset == NULL || self->recipe == NULL || self->building)
    return;

  n_rows = MIN ((guint) gtk_spin_button_get_value_as_int (self->count_spin),
                pt_dataset_get_n_images (self->dataset));
  n_views = pt_augment_recipe_get_n_views (self->recipe);
  seed = (guint) gtk_spin_button_get_value (self->seed_spin);
  C = pt_dataset_get_channels (self->dataset);
  H = pt_dataset_get_height (self->dataset);
  W = pt_dataset_get_width (self->dataset);
  if (n_rows == 0 || n_views == 0)
    {
      pt_view_grid_set_rows (self->view_grid, 0, NULL);
      return;
    }

  images = g_new0 (const guint8 *, n_rows);
  indices = g_new0 (guint64, n_rows);
  for (guint r = 0; r < n_rows; r++)
    {
      indices[r] = pick_index (seed, r, pt_dataset_get_n_images (self->dataset));
      images[r] = pt_dataset_get_image (self->dataset, (guint) indices[r]);
    }

  views = g_new0 (float *, n_views);
  for (guint v = 0; v < n_views; v++)
    {
      int oc, oh, ow;
      pt_augment_recipe_get_view_shape (self->recipe, v, C, H, W, &oc, &oh, &ow);
      views[v] = g_new (float, (gsize) n_rows * oc * oh * ow);
    }
  records = g_new0 (PtViewRecord, (gsize) n_views * n_rows);

  start = g_get_monotonic_time ();
  pt_augment_batch (views, records, self->recipe, images, indices, n_rows, C, H, W,
                    seed, 0, pt_threads_get ());
  ms = (g_get_monotonic_time () - start) / 1000.0;

  /* Regroup per row for the grid: row r, view v. */
  rows = g_new0 (PtViewGridRow, n_rows);
  {
    g_autofree const float **row_views = g_new0 (const float *, (gsize) n_rows * n_views);
    g_autofree PtViewRecord *row_records = g_new0 (PtViewRecord, (gsize) n_rows * n_views);

    for (guint r = 0; r < n_rows; r++)
      {
        for (guint v = 0; v < n_views; v++)
          {
            const PtViewRecord *rec = &records[(gsize) v * n_rows + r];
            gsize size = (gsize) rec->out_channels * rec->out_height * rec->out_width;

            row_views[(gsize) r * n_views + v] = views[v] + r * size;
            row_records[(gsize) r * n_views + v] = *rec;
          }
        rows[r] = (PtViewGridRow) {
          .image = images[r], .c = C, .h = H, .w = W, .n_views = n_views,
          .views = &row_views[(gsize) r * n_views], .records = &row_records[(gsize) r * n_views],
          .similarity = NAN,
        };
      }
    pt_view_grid_set_rows (self->view_grid, n_rows, rows);
  }

  /* Keep the first two views for the encoder's similarity score. */
  g_clear_pointer (&self->pair_views[0], g_free);
  g_clear_pointer (&self->pair_views[1], g_free);
  self->pair_rows = 0;
  if (n_views >= 2 && records[0].out_width == records[n_rows].out_width &&
      records[0].out_height == records[n_rows].out_height)
    {
      self->pair_shape[0] = records[0].out_channels;
      self->pair_shape[1] = records[0].out_height;
      self->pair_shape[2] = records[0].out_width;
      self->pair_views[0] = g_steal_pointer (&views[0]);
      self->pair_views[1] = g_steal_pointer (&views[1]);
      self->pair_rows = n_rows;
    }
  pt_augment_page_score_pairs (self);

  for (guint v = 0; v < n_views; v++)
    g_free (views[v]);

  self->render_count++;
  /* TRANSLATORS: images, views per image, time to render them in milliseconds */
  status = g_strdup_printf (_("%u images × %u views in %.1f ms"), n_rows, n_views, ms);
  gtk_label_set_label (self->status_label, status);
}

static void
on_scale_changed_cb (GtkRange      *range,
                     PtAugmentPage *self)
{
  double *field = g_object_get_data (G_OBJECT (range), "pt-field");

  if (self->building || field == NULL)
    return;
  *field = gtk_range_get_value (range);
  pt_augment_page_render (self);
}

static void
on_op_toggled_cb (GtkCheckButton *check,
                  PtAugmentPage  *self)
{
  guint group = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (check), "pt-group"));
  PtAugOp op = GPOINTER_TO_UINT (g_object_get_data (G_OBJECT (check), "pt-op"));
  PtAugViewGroup *g;

  if (self->building)
    return;
  g = &self->recipe->groups[group];
  if (gtk_check_button_get_active (check))
    {
      if (!g->ops[op].enabled)
        pt_aug_view_group_enable (g, op);
    }
  else
    g->ops[op].enabled = FALSE;

  /* Rebuild after the signal returns: the controls of this op change. */
  pt_augment_page_rebuild_editor (self);
  pt_augment_page_render (self);
}

static void
on_right_angles_toggled_cb (GtkCheckButton *check,
                            PtAugmentPage  *self)
{
  gboolean *field = g_object_get_data (G_OBJECT (check), "pt-field");

  if (self->building || field == NULL)
    return;
  *field = gtk_check_button_get_active (check);
  pt_augment_page_render (self);
}

static gboolean
rebuild_idle_cb (gpointer data)
{
  PtAugmentPage *self = data;

  pt_augment_page_rebuild_editor (self);
  pt_augment_page_render (self);
  return G_SOURCE_REMOVE;
}

static void
on_count_changed_cb (GtkSpinButton *spin,
                     PtAugmentPage *self)
{
  guint *count = g_object_get_data (G_OBJECT (spin), "pt-field");

  if (self->building || count == NULL)
    return;
  *count = (guint) gtk_spin_button_get_value_as_int (spin);
  /* The heading and the view grid change shape: rebuild once the signal
   * that is running is over. */
  g_idle_add_full (G_PRIORITY_HIGH_IDLE, rebuild_idle_cb, g_object_ref (self), g_object_unref);
}

static GtkWidget *
make_scale_row (PtAugmentPage *self,
                const char    *label,
                double        *field,
                double         lower,
                double         upper,
                double         step,
                int            digits)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *l = gtk_label_new (label);
  GtkWidget *scale = gtk_scale_new_with_range (GTK_ORIENTATION_HORIZONTAL, lower, upper, step);

  gtk_label_set_xalign (GTK_LABEL (l), 0);
  gtk_label_set_width_chars (GTK_LABEL (l), 16);
  gtk_label_set_ellipsize (GTK_LABEL (l), PANGO_ELLIPSIZE_END);
  gtk_widget_add_css_class (l, "caption");
  gtk_widget_set_margin_start (box, 28);
  gtk_scale_set_digits (GTK_SCALE (scale), digits);
  gtk_scale_set_draw_value (GTK_SCALE (scale), TRUE);
  gtk_scale_set_value_pos (GTK_SCALE (scale), GTK_POS_RIGHT);
  gtk_range_set_value (GTK_RANGE (scale), *field);
  gtk_widget_set_hexpand (scale, TRUE);
  gtk_accessible_update_property (GTK_ACCESSIBLE (scale), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
  g_object_set_data (G_OBJECT (scale), "pt-field", field);
  g_signal_connect (scale, "value-changed", G_CALLBACK (on_scale_changed_cb), self);

  gtk_box_append (GTK_BOX (box), l);
  gtk_box_append (GTK_BOX (box), scale);
  return box;
}

static void
pt_augment_page_rebuild_editor (PtAugmentPage *self)
{
  GtkWidget *child;

  self->building = TRUE;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->editor_box))) != NULL)
    gtk_box_remove (self->editor_box, child);

  for (guint gi = 0; self->recipe != NULL && gi < self->recipe->n_groups; gi++)
    {
      PtAugViewGroup *g = &self->recipe->groups[gi];
      g_autofree char *heading = NULL;
      GtkWidget *h;

      if (g->pixels > 0)
        /* TRANSLATORS: view group name, number of views, size in pixels */
        heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %u view of %d px", "%s: %u views of %d px", g->count),
                                   g->name, g->count, g->pixels);
      else
        /* TRANSLATORS: view group name, number of views, size as a percentage of the image */
        heading = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%s: %u view at %.0f%% size", "%s: %u views at %.0f%% size", g->count),
                                   g->name, g->count, g->size * 100);
      h = gtk_label_new (heading);
      gtk_label_set_xalign (GTK_LABEL (h), 0);
      gtk_widget_add_css_class (h, "pt-heading");
      gtk_widget_set_margin_top (h, gi > 0 ? 14 : 4);
      gtk_box_append (self->editor_box, h);

      /* Multi-crop: how many views of this group, and their size. */
      {
        GtkWidget *row = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
        GtkWidget *l = gtk_label_new (_("Views"));
        GtkWidget *spin = gtk_spin_button_new_with_range (1, 16, 1);

        gtk_label_set_xalign (GTK_LABEL (l), 0);
        gtk_widget_set_hexpand (l, TRUE);
        gtk_widget_add_css_class (l, "caption");
        gtk_spin_button_set_value (GTK_SPIN_BUTTON (spin), g->count);
        gtk_accessible_update_property (GTK_ACCESSIBLE (spin), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Views"), -1);
        g_object_set_data (G_OBJECT (spin), "pt-field", &g->count);
        g_signal_connect (spin, "value-changed", G_CALLBACK (on_count_changed_cb), self);
        gtk_widget_set_margin_start (row, 28);
        gtk_box_append (GTK_BOX (row), l);
        gtk_box_append (GTK_BOX (row), spin);
        gtk_box_append (self->editor_box, row);
        if (g->pixels == 0)
          gtk_box_append (self->editor_box,
                          make_scale_row (self, _("Size (of the image)"), &g->size, 0.1, 1.0, 0.05, 2));
      }

      for (guint op = 0; op < PT_AUG_N_OPS; op++)
        {
          PtAugOpParams *p = &g->ops[op];
          GtkWidget *check = gtk_check_button_new_with_label (_(op_info[op].title));

          gtk_check_button_set_active (GTK_CHECK_BUTTON (check), p->enabled);
          gtk_widget_set_margin_top (check, 4);
          g_object_set_data (G_OBJECT (check), "pt-group", GUINT_TO_POINTER (gi));
          g_object_set_data (G_OBJECT (check), "pt-op", GUINT_TO_POINTER (op));
          g_signal_connect (check, "toggled", G_CALLBACK (on_op_toggled_cb), self);
          gtk_box_append (self->editor_box, check);

          if (!p->enabled)
            continue;

          gtk_box_append (self->editor_box,
                          make_scale_row (self, _("Probability"), &p->p, 0, 1, 0.05, 2));
          for (const ParamInfo *pi = op_info[op].params; pi->key != NULL; pi++)
            gtk_box_append (self->editor_box,
                            make_scale_row (self, _(pi->label), (double *) ((char *) p + pi->offset),
                                            pi->lower, pi->upper, pi->step, pi->digits));
          if (op == PT_AUG_ROTATE)
            {
              GtkWidget *ra = gtk_check_button_new_with_label (_("Right angles only"));

              gtk_widget_set_margin_start (ra, 28);
              gtk_check_button_set_active (GTK_CHECK_BUTTON (ra), p->right_angles);
              g_object_set_data (G_OBJECT (ra), "pt-field", &p->right_angles);
              g_signal_connect (ra, "toggled", G_CALLBACK (on_right_angles_toggled_cb), self);
              gtk_box_append (self->editor_box, ra);
            }
        }
    }
  self->building = FALSE;
}

static void
pt_augment_page_set_recipe (PtAugmentPage *self,
                            PtAugRecipe   *recipe)
{
  g_clear_pointer (&self->recipe, pt_augment_recipe_free);
  self->recipe = recipe;
  gtk_label_set_label (self->reference_label, recipe->reference ? recipe->reference : "");
  gtk_widget_set_visible (GTK_WIDGET (self->reference_label), recipe->reference != NULL);
  pt_augment_page_show_error (self, NULL);
  pt_augment_page_rebuild_editor (self);
  pt_augment_page_render (self);
}

gboolean
pt_augment_page_load_recipe (PtAugmentPage *self,
                             const char    *name_or_path)
{
  g_autoptr(GError) error = NULL;
  PtAugRecipe *recipe;

  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), FALSE);

  recipe = pt_augment_recipe_load (name_or_path, &error);
  if (recipe == NULL)
    {
      pt_augment_page_show_error (self, error->message);
      return FALSE;
    }
  pt_augment_page_set_recipe (self, recipe);

  /* Keep the preset drop-down in step when a preset was named. */
  for (guint i = 0; self->presets && self->presets[i]; i++)
    if (g_str_equal (self->presets[i], name_or_path))
      {
        self->building = TRUE;
        gtk_drop_down_set_selected (self->preset_dropdown, i);
        self->building = FALSE;
      }
  return TRUE;
}

static void
on_preset_selected_cb (PtAugmentPage *self)
{
  guint i = gtk_drop_down_get_selected (self->preset_dropdown);

  if (self->building || self->presets == NULL || i >= g_strv_length (self->presets))
    return;
  pt_augment_page_load_recipe (self, self->presets[i]);
}

static void
on_render_input_changed_cb (PtAugmentPage *self)
{
  pt_augment_page_render (self);
}

void
pt_augment_page_set_seed (PtAugmentPage *self,
                          guint          seed)
{
  g_return_if_fail (PT_IS_AUGMENT_PAGE (self));
  gtk_spin_button_set_value (self->seed_spin, seed);
}

static void
pt_augment_page_resample_action (GtkWidget  *widget,
                                 const char *action_name,
                                 GVariant   *parameter)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (widget);

  gtk_spin_button_set_value (self->seed_spin, g_random_int_range (0, G_MAXINT));
}

static void
pt_augment_page_copy_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (widget);
  g_autofree char *text = NULL;

  if (self->recipe == NULL)
    return;
  text = pt_augment_recipe_to_data (self->recipe, NULL);
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
}

static void
on_load_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  PtAugmentPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;

      if (path != NULL)
        pt_augment_page_load_recipe (self, path);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static void
on_save_response_cb (GtkNativeDialog *dialog,
                     int              response,
                     gpointer         user_data)
{
  PtAugmentPage *self = user_data;

  if (response == GTK_RESPONSE_ACCEPT && self->recipe != NULL)
    {
      g_autoptr(GFile) file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (dialog));
      g_autofree char *path = file ? g_file_get_path (file) : NULL;
      g_autoptr(GError) error = NULL;

      if (path != NULL && !pt_augment_recipe_save (self->recipe, path, &error))
        pt_augment_page_show_error (self, error->message);
    }
  g_object_unref (dialog);
  g_object_unref (self);
}

static GtkFileChooserNative *
make_recipe_chooser (PtAugmentPage        *self,
                     const char           *title,
                     GtkFileChooserAction  action,
                     const char           *accept)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *dialog;
  g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

  dialog = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                        action, accept, _("_Cancel"));
  gtk_file_filter_set_name (filter, _("Augmentation recipes"));
  gtk_file_filter_add_pattern (filter, "*.ini");
  gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (dialog), filter);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (dialog), TRUE);
  return dialog;
}

static void
pt_augment_page_load_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (widget);
  GtkFileChooserNative *dialog = make_recipe_chooser (self, _("Load Recipe"),
                                                      GTK_FILE_CHOOSER_ACTION_OPEN, _("_Open"));

  g_signal_connect (dialog, "response", G_CALLBACK (on_load_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

static void
pt_augment_page_save_action (GtkWidget  *widget,
                             const char *action_name,
                             GVariant   *parameter)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (widget);
  GtkFileChooserNative *dialog = make_recipe_chooser (self, _("Save Recipe"),
                                                      GTK_FILE_CHOOSER_ACTION_SAVE, _("_Save"));
  g_autofree char *name = g_strdup_printf ("%s.ini", self->recipe ? self->recipe->name : "recipe");

  gtk_file_chooser_set_current_name (GTK_FILE_CHOOSER (dialog), name);
  g_signal_connect (dialog, "response", G_CALLBACK (on_save_response_cb), g_object_ref (self));
  gtk_native_dialog_show (GTK_NATIVE_DIALOG (dialog));
}

gboolean
pt_augment_page_set_param (PtAugmentPage *self,
                           guint          group,
                           PtAugOp        op,
                           const char    *key,
                           double         value)
{
  PtAugOpParams *p;

  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), FALSE);
  g_return_val_if_fail (op < PT_AUG_N_OPS, FALSE);

  if (self->recipe == NULL || group >= self->recipe->n_groups)
    return FALSE;
  p = &self->recipe->groups[group].ops[op];
  if (!p->enabled)
    pt_aug_view_group_enable (&self->recipe->groups[group], op);

  if (g_str_equal (key, "p"))
    p->p = value;
  else
    {
      const ParamInfo *pi = op_info[op].params;
      while (pi->key != NULL && !g_str_equal (pi->key, key))
        pi++;
      if (pi->key == NULL)
        return FALSE;
      *(double *) ((char *) p + pi->offset) = value;
    }
  pt_augment_page_rebuild_editor (self);
  pt_augment_page_render (self);
  return TRUE;
}

void
pt_augment_page_set_dataset (PtAugmentPage *self,
                             PtDataset     *dataset)
{
  g_return_if_fail (PT_IS_AUGMENT_PAGE (self));

  if (!g_set_object (&self->dataset, dataset))
    return;
  pt_augment_page_fill_encoders (self);
  pt_augment_page_render (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATASET]);
}

PtDataset *
pt_augment_page_get_dataset (PtAugmentPage *self)
{
  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), NULL);
  return self->dataset;
}

const PtAugRecipe *
pt_augment_page_get_recipe (PtAugmentPage *self)
{
  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), NULL);
  return self->recipe;
}

void
pt_augment_page_set_encoder_run (PtAugmentPage *self,
                                 const char    *run_dir)
{
  g_return_if_fail (PT_IS_AUGMENT_PAGE (self));

  pt_augment_page_fill_encoders (self);
  for (guint i = 0; i < self->encoder_dirs->len; i++)
    if (run_dir != NULL && g_str_equal (self->encoder_dirs->pdata[i], run_dir))
      {
        gtk_drop_down_set_selected (self->encoder_dropdown, i + 1);
        return;
      }
  gtk_drop_down_set_selected (self->encoder_dropdown, 0);
}

guint
pt_augment_page_get_n_scored (PtAugmentPage *self)
{
  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), 0);
  return self->n_scored;
}

guint
pt_augment_page_get_render_count (PtAugmentPage *self)
{
  g_return_val_if_fail (PT_IS_AUGMENT_PAGE (self), 0);
  return self->render_count;
}

static void
pt_augment_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATASET:
      g_value_set_object (value, self->dataset);
      break;
    case PROP_RECIPE_TEXT:
      g_value_set_string (value, self->recipe_text);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_augment_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (object);

  switch (prop_id)
    {
    case PROP_DATASET:
      pt_augment_page_set_dataset (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_augment_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (pt_augment_page_parent_class)->map (widget);
  /* Runs may have finished since: offer their encoders. */
  pt_augment_page_fill_encoders (PT_AUGMENT_PAGE (widget));
}

static void
pt_augment_page_dispose (GObject *object)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (object);

  g_cancellable_cancel (self->encoder_cancellable);
  g_clear_object (&self->encoder_cancellable);
  g_clear_pointer (&self->method, pt_method_unref);
  g_clear_object (&self->dataset);
  gtk_widget_dispose_template (GTK_WIDGET (self), PT_TYPE_AUGMENT_PAGE);
  {
    GtkWidget *child;
    while ((child = gtk_widget_get_first_child (GTK_WIDGET (self))) != NULL)
      gtk_widget_unparent (child);
  }
  G_OBJECT_CLASS (pt_augment_page_parent_class)->dispose (object);
}

static void
pt_augment_page_finalize (GObject *object)
{
  PtAugmentPage *self = PT_AUGMENT_PAGE (object);

  g_clear_pointer (&self->recipe, pt_augment_recipe_free);
  g_strfreev (self->presets);
  g_ptr_array_unref (self->encoder_dirs);
  g_free (self->recipe_text);
  g_free (self->pair_views[0]);
  g_free (self->pair_views[1]);
  G_OBJECT_CLASS (pt_augment_page_parent_class)->finalize (object);
}

static void
pt_augment_page_class_init (PtAugmentPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = pt_augment_page_dispose;
  object_class->finalize = pt_augment_page_finalize;
  object_class->get_property = pt_augment_page_get_property;
  object_class->set_property = pt_augment_page_set_property;
  widget_class->map = pt_augment_page_map;

  properties[PROP_DATASET] =
    g_param_spec_object ("dataset", NULL, NULL, PT_TYPE_DATASET,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_RECIPE_TEXT] =
    g_param_spec_string ("recipe-text", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (PT_TYPE_VIEW_GRID);
  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-augment-page.ui");
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, preset_dropdown);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, reference_label);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, error_revealer);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, editor_box);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, count_spin);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, seed_spin);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, status_label);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, view_grid);
  gtk_widget_class_bind_template_child (widget_class, PtAugmentPage, encoder_dropdown);

  gtk_widget_class_install_action (widget_class, "augment.resample", NULL, pt_augment_page_resample_action);
  gtk_widget_class_install_action (widget_class, "augment.copy", NULL, pt_augment_page_copy_action);
  gtk_widget_class_install_action (widget_class, "augment.load", NULL, pt_augment_page_load_action);
  gtk_widget_class_install_action (widget_class, "augment.save", NULL, pt_augment_page_save_action);

  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
}

/* Drop-down rows that ellipsize, so a long run name cannot widen the page. */
static void
on_ellipsized_setup_cb (GtkSignalListItemFactory *factory,
                        GtkListItem              *item,
                        gpointer                  data)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_MIDDLE);
  gtk_label_set_width_chars (GTK_LABEL (label), 12);
  gtk_label_set_max_width_chars (GTK_LABEL (label), 30);
  gtk_list_item_set_child (item, label);
}

static void
on_ellipsized_bind_cb (GtkSignalListItemFactory *factory,
                       GtkListItem              *item,
                       gpointer                  data)
{
  GtkStringObject *s = gtk_list_item_get_item (item);

  gtk_label_set_label (GTK_LABEL (gtk_list_item_get_child (item)), gtk_string_object_get_string (s));
}

static void
pt_augment_page_init (PtAugmentPage *self)
{
  g_autoptr(GtkStringList) titles = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));

  self->encoder_dirs = g_ptr_array_new_with_free_func (g_free);
  {
    g_autoptr(GtkListItemFactory) factory = gtk_signal_list_item_factory_new ();

    g_signal_connect (factory, "setup", G_CALLBACK (on_ellipsized_setup_cb), NULL);
    g_signal_connect (factory, "bind", G_CALLBACK (on_ellipsized_bind_cb), NULL);
    gtk_drop_down_set_factory (self->encoder_dropdown, factory);
  }
  g_signal_connect_object (self->encoder_dropdown, "notify::selected",
                           G_CALLBACK (on_encoder_selected_cb), self, G_CONNECT_SWAPPED);
  self->presets = pt_augment_recipe_list_presets ();
  for (guint i = 0; self->presets && self->presets[i]; i++)
    {
      g_autoptr(PtAugRecipe) r = pt_augment_recipe_load (self->presets[i], NULL);
      gtk_string_list_append (titles, r && r->title ? r->title : self->presets[i]);
    }
  self->building = TRUE;
  gtk_drop_down_set_model (self->preset_dropdown, G_LIST_MODEL (titles));
  self->building = FALSE;

  g_signal_connect_object (self->preset_dropdown, "notify::selected",
                           G_CALLBACK (on_preset_selected_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->count_spin, "value-changed",
                           G_CALLBACK (on_render_input_changed_cb), self, G_CONNECT_SWAPPED);
  g_signal_connect_object (self->seed_spin, "value-changed",
                           G_CALLBACK (on_render_input_changed_cb), self, G_CONNECT_SWAPPED);

  if (!pt_augment_page_load_recipe (self, "simclr") && self->presets && self->presets[0])
    pt_augment_page_load_recipe (self, self->presets[0]);
}
