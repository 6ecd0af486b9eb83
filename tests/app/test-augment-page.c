/* The Augment page end to end: real dataset, real pipeline, controls. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-augment-page.h"
#include "pt-run.h"
#include "pt-test-gtk.h"
#include "pt-test-method.h"
#include "pt-train-spec.h"
#include "pt-ui.h"
#include "pt-view-grid.h"

static PtDataset *dataset;

/* A scale whose row label reads `data`. */
static gboolean
scale_labelled (GtkWidget *scale, gpointer data)
{
  GtkWidget *label = gtk_widget_get_prev_sibling (scale);
  return GTK_IS_LABEL (label) && g_str_equal (gtk_label_get_label (GTK_LABEL (label)), data);
}

static PtAugmentPage *
make_page (GtkWindow **out)
{
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  PtAugmentPage *page = g_object_new (PT_TYPE_AUGMENT_PAGE, NULL);

  gtk_window_set_default_size (window, 1200, 800);
  gtk_window_set_child (window, GTK_WIDGET (page));
  gtk_window_present (window);
  *out = window;
  return page;
}

static void
test_augment_page_renders (void)
{
  GtkWindow *window;
  PtAugmentPage *page = make_page (&window);
  PtViewGrid *grid;
  guint before;

  /* Nothing to render without a dataset. */
  g_assert_cmpuint (pt_augment_page_get_render_count (page), ==, 0);
  pt_augment_page_set_dataset (page, dataset);
  g_assert_cmpuint (pt_augment_page_get_render_count (page), ==, 1);
  grid = PT_VIEW_GRID (pt_test_find_widget (GTK_WIDGET (page), PT_TYPE_VIEW_GRID, NULL, NULL));
  g_assert_nonnull (grid);
  g_assert_cmpuint (pt_view_grid_get_n_rows (grid), ==, 8);
  g_assert_cmpstr (pt_augment_page_get_recipe (page)->name, ==, "simclr");

  /* A seed change re-renders. */
  before = pt_augment_page_get_render_count (page);
  pt_augment_page_set_seed (page, 7);
  g_assert_cmpuint (pt_augment_page_get_render_count (page), ==, before + 1);

  gtk_window_destroy (window);
}

static void
test_augment_page_slider (void)
{
  GtkWindow *window;
  PtAugmentPage *page = make_page (&window);
  GtkWidget *scale;
  guint before;

  pt_augment_page_set_dataset (page, dataset);
  before = pt_augment_page_get_render_count (page);

  /* Moving the "Smallest area" slider of the crop changes the recipe the
   * pipeline uses, and the views are drawn again. */
  scale = pt_test_find_widget (GTK_WIDGET (page), GTK_TYPE_SCALE, scale_labelled, (gpointer) "Smallest area");
  g_assert_nonnull (scale);
  gtk_range_set_value (GTK_RANGE (scale), 0.6);
  g_assert_cmpfloat_with_epsilon (pt_augment_page_get_recipe (page)->groups[0].ops[PT_AUG_CROP].min, 0.6, 1e-9);
  g_assert_cmpuint (pt_augment_page_get_render_count (page), ==, before + 1);

  /* The API path used by demos does the same and enables an op that was off. */
  g_assert_true (pt_augment_page_set_param (page, 0, PT_AUG_SOLARIZE, "p", 1.0));
  g_assert_true (pt_augment_page_get_recipe (page)->groups[0].ops[PT_AUG_SOLARIZE].enabled);
  g_assert_false (pt_augment_page_set_param (page, 0, PT_AUG_SOLARIZE, "no-such-key", 1.0));
  g_assert_cmpuint (pt_augment_page_get_render_count (page), ==, before + 2);

  gtk_window_destroy (window);
}

static void
test_augment_page_recipes (void)
{
  GtkWindow *window;
  PtAugmentPage *page = make_page (&window);
  g_autofree char *dir = g_dir_make_tmp ("pretext-augment-XXXXXX", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.ini", NULL);
  const char *bad_text = "[recipe]\nname=bad\nviews=pair;\n[view:pair]\ncount=2\n[pair:wobble]\np=0.5\n";

  pt_augment_page_set_dataset (page, dataset);

  /* Multi-crop sizes are controls too: SwAV's local group can grow. */
  g_assert_true (pt_augment_page_load_recipe (page, "swav"));
  {
    GtkWidget *views_spin = NULL;
    guint before = pt_augment_recipe_get_n_views (pt_augment_page_get_recipe (page));
    gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    PtViewGrid *grid = PT_VIEW_GRID (pt_test_find_widget (GTK_WIDGET (page), PT_TYPE_VIEW_GRID, NULL, NULL));

    /* The last "Views" spin belongs to the last group (the local views). */
    for (GtkWidget *w = pt_test_find_widget (GTK_WIDGET (page), GTK_TYPE_SPIN_BUTTON, NULL, NULL); w != NULL;
         w = NULL)
      views_spin = w;
    {
      GtkWidget *box = gtk_widget_get_parent (gtk_widget_get_parent (views_spin));
      for (GtkWidget *c = gtk_widget_get_first_child (box); c; c = gtk_widget_get_next_sibling (c))
        {
          GtkWidget *maybe = gtk_widget_get_last_child (c);
          if (GTK_IS_BOX (c) && GTK_IS_SPIN_BUTTON (maybe))
            views_spin = maybe;
        }
    }
    gtk_spin_button_set_value (GTK_SPIN_BUTTON (views_spin), gtk_spin_button_get_value (GTK_SPIN_BUTTON (views_spin)) + 1);
    while (pt_augment_recipe_get_n_views (pt_augment_page_get_recipe (page)) == before &&
           g_get_monotonic_time () < deadline)
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpuint (pt_augment_recipe_get_n_views (pt_augment_page_get_recipe (page)), ==, before + 1);
    while (g_main_context_pending (NULL))
      g_main_context_iteration (NULL, FALSE);
    g_assert_cmpuint (pt_view_grid_get_n_rows (grid), >, 0);
  }

  g_assert_true (pt_augment_page_load_recipe (page, "byol"));
  g_assert_cmpstr (pt_augment_page_get_recipe (page)->name, ==, "byol");
  g_assert_cmpuint (pt_augment_page_get_recipe (page)->n_groups, ==, 2);

  /* A bad recipe keeps the current one and says what is wrong, naming the file. */
  g_assert_true (g_file_set_contents (bad, bad_text, -1, NULL));
  g_assert_false (pt_augment_page_load_recipe (page, bad));
  g_assert_cmpstr (pt_augment_page_get_recipe (page)->name, ==, "byol");
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "bad.ini"));

  g_unlink (bad);
  g_rmdir (dir);
  gtk_window_destroy (window);
}

static gboolean
scored (gpointer data)
{
  return pt_augment_page_get_n_scored (data) > 0;
}

/* With a trained encoder chosen, each pair shows the cosine similarity of
 * its two views' embeddings. The encoder is a run of the runtime's test
 * double, trained for a few steps here into the user's runs folder (the
 * test's private XDG_DATA_HOME). */
static void
test_augment_page_encoder_similarity (void)
{
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autofree char *root = pt_run_default_root ();
  GtkWindow *window;
  PtAugmentPage *page = make_page (&window);
  PtViewGrid *grid;
  const char *dir;
  gint64 deadline;

  spec->method = g_strdup ("test-linear");
  spec->dataset = g_strdup ("shapes");
  spec->steps = 5;
  spec->batch_size = 16;
  spec->out_dir = pt_run_default_dir (root, "test-linear", "shapes");
  trainer = pt_train_spec_build (spec, dataset, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
  dir = pt_run_get_dir (pt_trainer_get_run (trainer));

  pt_augment_page_set_dataset (page, dataset);
  pt_augment_page_set_encoder_run (page, dir);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!scored (page) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  g_assert_true (scored (page));

  grid = PT_VIEW_GRID (pt_test_find_widget (GTK_WIDGET (page), PT_TYPE_VIEW_GRID, NULL, NULL));
  for (guint r = 0; r < pt_view_grid_get_n_rows (grid); r++)
    {
      double s = pt_view_grid_get_similarity (grid, r);
      g_assert_true (isfinite (s));
      g_assert_cmpfloat (s, >=, -1.0001);
      g_assert_cmpfloat (s, <=, 1.0001);
    }

  /* No encoder: no score. */
  pt_augment_page_set_encoder_run (page, NULL);
  g_assert_true (isnan (pt_view_grid_get_similarity (grid, 0)));
  gtk_window_destroy (window);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  PtDatasetOptions options = { .shapes_train = 200, .shapes_test = 50 };
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/augment-page/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }

  pt_ui_init ();
  pt_method_register (&pt_test_method_class);
  dataset = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &options, NULL, NULL, NULL, &error);
  g_assert_no_error (error);

  g_test_add_func ("/app/augment-page/renders", test_augment_page_renders);
  g_test_add_func ("/app/augment-page/slider", test_augment_page_slider);
  g_test_add_func ("/app/augment-page/recipes", test_augment_page_recipes);
  g_test_add_func ("/app/augment-page/encoder-similarity", test_augment_page_encoder_similarity);

  ret = g_test_run ();
  g_clear_object (&dataset);
  return ret;
}
