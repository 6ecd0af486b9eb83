/* The training pages end to end with a real trainer: start a run from the
 * Pretrain page, pause, step, resume, stop; find it on the Runs page with
 * its curve; map it on the Embeddings page. The method is the runtime's
 * test double (tests/core/pt-test-method.c), registered only here, so the
 * GUI's wiring is tested independently of any SSL method's speed. */
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-augment.h"
#include "pt-bar-chart.h"
#include "pt-embeddings-page.h"
#include "pt-encoder.h"
#include "pt-methods.h"
#include "pt-pretrain-page.h"
#include "pt-run.h"
#include "pt-runs-page.h"
#include "pt-test-gtk.h"
#include "pt-test-method.h"
#include "pt-ui.h"
#include "pt-test-util.h"

static PtDataset *dataset;
static char *runs_root;

/* Lets queued trainer events (state changes arrive through an idle) reach
 * the page, as they would between a user's clicks. */
static void
drain (void)
{
  for (int i = 0; i < 50; i++)
    {
      while (g_main_context_pending (NULL))
        g_main_context_iteration (NULL, FALSE);
      g_usleep (2000);
    }
}

static gboolean
has_trainer_logged (gpointer data)
{
  PtPretrainPage *page = data;
  return pt_pretrain_page_get_trainer (page) != NULL && pt_pretrain_page_get_n_logged (page) >= 5;
}

static PtTrainerState wanted_state;

static gboolean
in_wanted_state (gpointer data)
{
  PtTrainer *t = pt_pretrain_page_get_trainer (data);
  return t != NULL && pt_trainer_get_state (t) == wanted_state;
}

static gboolean
logged_at_least (gpointer data)
{
  PtPretrainPage *page = data;
  PtTrainer *t = pt_pretrain_page_get_trainer (page);
  return t != NULL && pt_pretrain_page_get_n_logged (page) >= pt_trainer_get_step (t);
}

static gboolean
monitored (gpointer data)
{
  return pt_pretrain_page_get_n_monitored (data) >= 1;
}

static gboolean
embeddings_ready (gpointer data)
{
  return pt_embeddings_page_get_n_points (data) > 0;
}

static gboolean
runs_curves_ready (gpointer data)
{
  return pt_runs_page_get_n_curves (data) == 1;
}

static GtkWindow *
show (GtkWidget *page)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());

  gtk_window_set_default_size (window, 1200, 800);
  gtk_window_set_child (window, page);
  gtk_window_present (window);
  return window;
}

/* Destroys the page's window and checks that the page went with it, even
 * while work it started (the kNN monitor, a build) is still pending: a page
 * kept alive past its window keeps its trainer and the trainer's loader
 * thread running, and the process then exits under them. */
static void
close_window (GtkWindow      *window,
              PtPretrainPage *page)
{
  gpointer alive = page;

  g_object_add_weak_pointer (G_OBJECT (page), &alive);
  gtk_window_destroy (window);
  if (alive != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (page), &alive);
      g_error ("the Pretrain page outlived its window");
    }
}

static void
test_pretrain_run_controls (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  PtTrainer *trainer;
  guint64 step;

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "test-linear"));
  g_assert_false (pt_pretrain_page_set_method (page, "no-such-method"));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 128));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 100000));
  g_assert_true (pt_pretrain_page_set_value (page, "lr", 0.05));

  /* Start: the trainer is built on a worker, then runs on its own thread
   * while this (main) thread keeps receiving its metrics. */
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.start", NULL);
  if (!pt_test_wait_until (has_trainer_logged, page, 60))
    g_error ("no metrics from the run: %s", pt_pretrain_page_get_message (page));
  trainer = pt_pretrain_page_get_trainer (page);
  g_assert_null (pt_pretrain_page_get_message (page));

  /* Pause, then one step at a time. */
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.pause", NULL);
  wanted_state = PT_TRAINER_PAUSED;
  g_assert_true (pt_test_wait_until (in_wanted_state, page, 30));
  g_assert_true (pt_trainer_wait (trainer, 30 * G_USEC_PER_SEC));
  drain ();
  step = pt_trainer_get_step (trainer);
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.step", NULL);
  g_assert_true (pt_trainer_wait (trainer, 30 * G_USEC_PER_SEC));
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, step + 1);
  /* Every step the trainer made reaches the plots. */
  g_assert_true (pt_test_wait_until (logged_at_least, page, 30));

  /* Resume, then stop: the run ends finished with a checkpoint. */
  drain ();
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.pause", NULL);
  wanted_state = PT_TRAINER_RUNNING;
  g_assert_true (pt_test_wait_until (in_wanted_state, page, 30));
  drain ();
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.stop", NULL);
  wanted_state = PT_TRAINER_FINISHED;
  g_assert_true (pt_test_wait_until (in_wanted_state, page, 60));
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, pt_trainer_get_step (trainer));

  /* The kNN monitor measured the held-out accuracy of at least one checkpoint. */
  g_assert_true (pt_test_wait_until (monitored, page, 60));

  close_window (window, page);
}

static void
test_pretrain_runs_and_map (void)
{
  PtRunsPage *runs = g_object_new (PT_TYPE_RUNS_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (runs));
  PtEmbeddingsPage *emb;
  GtkWindow *window2;

  /* The run from the previous test is listed, and its loss curve loads. */
  pt_runs_page_set_runs_root (runs, runs_root);
  g_assert_cmpuint (pt_runs_page_get_n_runs (runs), ==, 1);
  pt_runs_page_select (runs, 0, FALSE);
  g_assert_true (pt_test_wait_until (runs_curves_ready, runs, 30));
  /* The kNN monitor's points were kept with the run and are overlaid too. */
  g_assert_cmpuint (pt_runs_page_get_n_knn_points (runs, 0), >=, 1);
  gtk_window_destroy (window);

  /* And its encoder maps the test images. */
  emb = g_object_new (PT_TYPE_EMBEDDINGS_PAGE, NULL);
  window2 = show (GTK_WIDGET (emb));
  pt_embeddings_page_set_runs_root (emb, runs_root);
  g_assert_true (pt_test_wait_until (embeddings_ready, emb, 60));
  g_assert_cmpuint (pt_embeddings_page_get_n_points (emb), >, 0);
  {
    g_autoptr(GArray) nn = pt_embeddings_page_dup_neighbours (emb, 0);
    g_assert_cmpuint (nn->len, ==, 8);
    for (guint k = 0; k < nn->len; k++)
      g_assert_cmpuint (g_array_index (nn, guint, k), !=, 0);
  }
  gtk_window_destroy (window2);
}

static gboolean
has_trainer (gpointer data)
{
  return pt_pretrain_page_get_trainer (data) != NULL;
}

/* Starts the page's run, waits for it to end, and returns its config.ini as
 * written on disk. */
static GKeyFile *
run_to_end (PtPretrainPage *page)
{
  GKeyFile *config = g_key_file_new ();
  g_autofree char *path = NULL;
  PtTrainer *trainer;

  pt_pretrain_page_start (page);
  g_assert_true (pt_test_wait_until (has_trainer, page, 60));
  trainer = pt_pretrain_page_get_trainer (page);
  g_assert_true (pt_trainer_wait (trainer, 60 * G_USEC_PER_SEC));
  path = g_build_filename (pt_run_get_dir (pt_trainer_get_run (trainer)), "config.ini", NULL);
  g_assert_true (g_key_file_load_from_file (config, path, G_KEY_FILE_NONE, NULL));
  return config;
}

/* "As on the Augment page": the run trains with the recipe being edited
 * there, and its config.ini keeps that recipe's full text. */
static void
test_pretrain_studio_recipe (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autoptr(PtAugRecipe) recipe = pt_augment_recipe_load ("simclr-cifar", NULL);
  g_autofree char *text = NULL;
  g_autofree char *recorded = NULL;
  g_autoptr(GKeyFile) config = NULL;

  g_assert_nonnull (recipe);
  recipe->groups[0].ops[PT_AUG_HFLIP].p = 0.25;   /* an edit only this recipe has */
  text = pt_augment_recipe_to_data (recipe, NULL);
  g_object_set (page, "studio-recipe", text, NULL);

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "test-linear"));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 16));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 3));
  g_assert_true (pt_pretrain_page_set_value (page, "augment", 1));
  config = run_to_end (page);
  recorded = g_key_file_get_string (config, "augment", "content", NULL);
  g_assert_cmpstr (recorded, ==, text);
  close_window (window, page);
}

static gboolean
has_message (gpointer data)
{
  return pt_pretrain_page_get_message (data) != NULL;
}

/* A non-finite loss: the banner says what happened and what helps, the run
 * is paused on its last good checkpoint, and resuming continues. */
static void
test_pretrain_fault (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  PtTrainer *trainer;

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "test-linear"));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 16));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 100000));
  pt_pretrain_page_start (page);
  g_assert_true (pt_test_wait_until (has_trainer, page, 60));
  trainer = pt_pretrain_page_get_trainer (page);
  pt_trainer_poison_step (trainer, pt_trainer_get_step (trainer) + 20);

  g_assert_true (pt_test_wait_until (has_message, page, 60));
  g_assert_nonnull (strstr (pt_pretrain_page_get_message (page), "NaN"));
  wanted_state = PT_TRAINER_PAUSED;
  g_assert_true (pt_test_wait_until (in_wanted_state, page, 30));
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, pt_trainer_get_checkpoint_step (trainer));

  /* The banner's button resumes (it is the pause/resume action). */
  drain ();
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.pause", NULL);
  wanted_state = PT_TRAINER_RUNNING;
  g_assert_true (pt_test_wait_until (in_wanted_state, page, 30));
  g_assert_null (pt_pretrain_page_get_message (page));
  pt_trainer_stop (trainer);
  pt_trainer_wait (trainer, 30 * G_USEC_PER_SEC);
  close_window (window, page);
}

static gboolean
has_action (GtkWidget *widget,
            gpointer   action)
{
  return g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (widget)), action) == 0;
}

/* The text of the "Start from" button (the one whose action is choose-init). */
static const char *
init_label (PtPretrainPage *page)
{
  GtkWidget *button = pt_test_find_widget (GTK_WIDGET (page), GTK_TYPE_BUTTON, has_action,
                                           (gpointer) "pretrain.choose-init");

  g_assert_nonnull (button);
  return gtk_label_get_label (GTK_LABEL (gtk_button_get_child (GTK_BUTTON (button))));
}

/* "Start from": the run starts from the chosen encoder weights and its
 * config.ini records the file and its SHA-256; clearing goes back to a
 * random initialization; a file that is not encoder weights stops the run
 * before it starts, with a message naming the file. */
static void
test_pretrain_init (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autofree char *dir = g_dir_make_tmp ("pretext-init-XXXXXX", NULL);
  g_autofree char *weights = g_build_filename (dir, "stage1.safetensors", NULL);
  g_autofree char *bad = g_build_filename (dir, "notes.safetensors", NULL);
  g_autofree char *recorded = NULL;
  g_autofree char *sha = NULL;
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(PtEncoder) enc = pt_encoder_new_cnn (3, 32, 32, 4);
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_encoder_save_safetensors (enc, weights, NULL, 0, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (bad, "these are not weights", -1, NULL));

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "simclr"));
  g_assert_true (pt_pretrain_page_set_value (page, "width", 4));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 16));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 2));
  g_assert_cmpstr (init_label (page), ==, "Random initialization");

  pt_pretrain_page_set_init (page, weights);
  g_assert_cmpstr (init_label (page), ==, "stage1.safetensors");
  config = run_to_end (page);
  g_assert_null (pt_pretrain_page_get_message (page));
  recorded = g_key_file_get_string (config, "run", "init", NULL);
  sha = g_key_file_get_string (config, "run", "init_sha256", NULL);
  g_assert_cmpstr (recorded, ==, weights);
  g_assert_nonnull (sha);
  g_assert_cmpuint (strlen (sha), ==, 64);
  drain ();

  /* Cleared: random initialization again. */
  gtk_widget_activate_action (GTK_WIDGET (page), "pretrain.clear-init", NULL);
  g_assert_null (pt_pretrain_page_get_init (page));
  g_assert_cmpstr (init_label (page), ==, "Random initialization");

  /* Not weights: one sentence naming the file, no run. */
  pt_pretrain_page_set_init (page, bad);
  pt_pretrain_page_start (page);
  g_assert_true (pt_test_wait_until (has_message, page, 60));
  g_assert_nonnull (strstr (pt_pretrain_page_get_message (page), "notes.safetensors"));

  close_window (window, page);
  pt_test_remove_tree (dir);
}

/* A DeepCluster run from the page gets the settings the CLI would give
 * it; its view, after its first clustering (epoch 1: step 32 of 512
 * images at batch 16), at the snapshot of step 50 shows the cluster sizes,
 * the images of the largest clusters and the NMI card, one bar on a 0-1
 * scale, labelled as such. */
static void
test_pretrain_deepcluster_view (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  g_autoptr(GKeyFile) config = NULL;
  GtkWidget *title, *chart;

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "deepcluster"));
  g_assert_true (pt_pretrain_page_set_value (page, "width", 4));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 16));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 60));
  g_assert_true (pt_pretrain_page_set_value (page, "clusters", 4));
  config = run_to_end (page);
  /* what the page set, and what the run derives as `pretext-cli train`
   * does: the cosine schedule ends at the last step, the bank holds the
   * dataset (the page used to pass its spins' 0 and 65536) */
  g_assert_cmpfloat (g_key_file_get_double (config, "method", "clusters", NULL), ==, 4);
  g_assert_cmpfloat (g_key_file_get_double (config, "method", "total_steps", NULL), ==, 60);
  g_assert_cmpfloat (g_key_file_get_double (config, "method", "bank_size", NULL), ==,
                     pt_dataset_get_n_images (dataset));
  drain ();
  g_assert_cmpuint (pt_pretrain_page_get_n_visuals (page), >=, 1);
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "Cluster sizes at the last k-means run"));
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "Images of the largest clusters"));
  title = pt_test_find_label (GTK_WIDGET (page), "Agreement of the clusters with the true classes");
  g_assert_nonnull (title);
  chart = pt_test_find_widget (gtk_widget_get_parent (title), PT_TYPE_BAR_CHART, NULL, NULL);
  g_assert_nonnull (chart);
  g_assert_cmpuint (pt_bar_chart_get_n_bars (PT_BAR_CHART (chart)), ==, 1);
  close_window (window, page);
}

static gboolean
is_monitoring (gpointer data)
{
  return pt_pretrain_page_is_monitoring (data);
}

/* Closing the window mid-run, while the kNN monitor measures a checkpoint on
 * a worker: the page goes at once, the run stops with its work checkpointed,
 * and nothing of it keeps running (dropping the last reference to the
 * trainer joins its loader thread). */
static void
test_pretrain_close_mid_run (void)
{
  PtPretrainPage *page = g_object_new (PT_TYPE_PRETRAIN_PAGE, NULL);
  GtkWindow *window = show (GTK_WIDGET (page));
  PtTrainer *trainer;
  gpointer trainer_alive;

  pt_pretrain_page_set_runs_root (page, runs_root);
  pt_pretrain_page_set_dataset (page, dataset);
  g_assert_true (pt_pretrain_page_set_method (page, "test-linear"));
  g_assert_true (pt_pretrain_page_set_value (page, "batch", 128));
  g_assert_true (pt_pretrain_page_set_value (page, "steps", 100000));
  pt_pretrain_page_start (page);
  g_assert_true (pt_test_wait_until (is_monitoring, page, 60));
  trainer = g_object_ref (pt_pretrain_page_get_trainer (page));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_RUNNING);

  close_window (window, page);
  g_assert_true (pt_trainer_get_state (trainer) == PT_TRAINER_FINISHED);
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, pt_trainer_get_step (trainer));
  trainer_alive = trainer;
  g_object_add_weak_pointer (G_OBJECT (trainer), &trainer_alive);
  g_object_unref (trainer);
  g_assert_null (trainer_alive);
  drain ();
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  PtDatasetOptions options = { .shapes_train = 512, .shapes_test = 128 };
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/pretrain-page/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }
  pt_ui_init ();
  pt_method_register (&pt_test_method_class);
  pt_methods_register_builtin ();
  dataset = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  runs_root = g_dir_make_tmp ("pretext-runs-XXXXXX", NULL);

  g_test_add_func ("/app/pretrain-page/run-controls", test_pretrain_run_controls);
  g_test_add_func ("/app/pretrain-page/runs-and-map", test_pretrain_runs_and_map);
  g_test_add_func ("/app/pretrain-page/studio-recipe", test_pretrain_studio_recipe);
  g_test_add_func ("/app/pretrain-page/fault", test_pretrain_fault);
  g_test_add_func ("/app/pretrain-page/init", test_pretrain_init);
  g_test_add_func ("/app/pretrain-page/close-mid-run", test_pretrain_close_mid_run);
  g_test_add_func ("/app/pretrain-page/deepcluster-view", test_pretrain_deepcluster_view);

  ret = g_test_run ();
  pt_test_remove_tree (runs_root);
  g_free (runs_root);
  g_clear_object (&dataset);
  return ret;
}
