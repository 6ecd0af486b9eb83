/* The Embeddings page showing embeddings made elsewhere: a .npy of three
 * clusters made here, with class names and an image folder, opened through
 * the Open Embeddings dialog's own code (not the native chooser): the map
 * has every point with its class, the kNN accuracy is shown, neighbours and
 * hover thumbnails work, t-SNE runs on it; a bad file shows a banner and
 * keeps the map. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-embeddings-page.h"
#include "pt-import-dialog.h"
#include "pt-npy.h"
#include "pt-ui.h"
#include "pt-test-util.h"

#define N 45
#define D 16

static char *dir;
static char *npy;
static char *labels_txt;
static char *images;

static gboolean
has_points (gpointer data)
{
  return pt_embeddings_page_get_n_points (data) == N;
}

static gboolean
has_banner (gpointer data)
{
  return pt_embeddings_page_get_banner (data) != NULL;
}

static gboolean
unlabeled_points (gpointer data)
{
  return pt_embeddings_page_get_labels (data, NULL) == NULL
         && pt_embeddings_page_get_n_points (data) == N;
}

static gboolean
has_frames (gpointer data)
{
  return pt_embeddings_page_get_n_frames (data) >= 3;
}

/* Row i: class i % 3 ("ant", "bee", "cow"), a one-hot direction plus noise;
 * image i a flat colour. */
static void
make_set (void)
{
  float x[N * D];
  g_autoptr(GString) text = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  const char *names[3] = { "bee", "ant", "cow" };   /* sorted: ant 0, bee 1, cow 2 */
  guint32 s = 777;

  for (int i = 0; i < N; i++)
    {
      for (int j = 0; j < D; j++)
        {
          s = s * 1664525u + 1013904223u;
          x[i * D + j] = 0.1f * ((float) (s >> 8) / (1 << 24) - 0.5f);
        }
      x[i * D + i % 3] += 1.0f;
      g_string_append_printf (text, "%s\n", names[i % 3]);
    }
  g_assert_true (pt_npy_save_f32 (npy, x, N, D, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (labels_txt, text->str, text->len, NULL));
  g_assert_cmpint (g_mkdir (images, 0755), ==, 0);
  for (int i = 0; i < N; i++)
    {
      g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 16, 16);
      g_autofree char *name = g_strdup_printf ("%03d.png", i);
      g_autofree char *path = g_build_filename (images, name, NULL);

      gdk_pixbuf_fill (pb, ((guint32) (i * 5) << 24) | 0x00ff00ffu);
      g_assert_true (gdk_pixbuf_save (pb, path, "png", &error, NULL));
      g_assert_no_error (error);
    }
}

static void
on_chosen_cb (const char *npy_path,
              const char *labels_path,
              const char *image_dir,
              gpointer    user_data)
{
  pt_embeddings_page_open_embeddings (user_data, npy_path, labels_path, image_dir);
}

static void
test_import (void)
{
  PtEmbeddingsPage *page = g_object_new (PT_TYPE_EMBEDDINGS_PAGE, NULL);
  GtkWindow *window = GTK_WINDOW (gtk_window_new ());
  GtkWindow *dialog;
  g_autofree char *bad = g_build_filename (dir, "bad.npy", NULL);
  g_autoptr(GArray) nn = NULL;
  g_autoptr(GdkTexture) thumb = NULL;
  const int *labels;
  int n_classes = 0;

  gtk_window_set_default_size (window, 1000, 700);
  gtk_window_set_child (window, GTK_WIDGET (page));
  gtk_window_present (window);

  /* Through the dialog, as a user would after the three choosers. */
  dialog = pt_import_dialog_present (window, on_chosen_cb, g_object_ref (page), g_object_unref);
  pt_import_dialog_set_path (dialog, "npy", npy);
  pt_import_dialog_set_path (dialog, "labels", labels_txt);
  pt_import_dialog_set_path (dialog, "images", images);
  pt_import_dialog_activate (dialog);
  g_assert_true (pt_test_wait_until (has_points, page, 30));

  labels = pt_embeddings_page_get_labels (page, &n_classes);
  g_assert_nonnull (labels);
  g_assert_cmpint (n_classes, ==, 3);
  g_assert_cmpstr (pt_embeddings_page_get_class_name (page, 0), ==, "ant");
  g_assert_cmpstr (pt_embeddings_page_get_class_name (page, 1), ==, "bee");
  g_assert_cmpstr (pt_embeddings_page_get_class_name (page, 2), ==, "cow");
  for (int i = 0; i < N; i++)
    {
      const int want[3] = { 1, 0, 2 };   /* bee, ant, cow */

      g_assert_cmpint (labels[i], ==, want[i % 3]);
    }
  g_assert_cmpfloat (pt_embeddings_page_get_knn_accuracy (page), ==, 1.0);
  /* 9 test rows of a seeded split; well above chance (1/3) */
  g_assert_cmpfloat (pt_embeddings_page_get_probe_accuracy (page), >=, 7.0 / 9);
  g_assert_cmpfloat (pt_embeddings_page_get_probe_accuracy (page), <=, 1.0);
  g_assert_null (pt_embeddings_page_get_banner (page));

  /* neighbours of point 4 (a bee) are bees */
  nn = pt_embeddings_page_dup_neighbours (page, 4);
  g_assert_cmpuint (nn->len, >, 0);
  for (guint k = 0; k < nn->len; k++)
    g_assert_cmpint (g_array_index (nn, guint, k) % 3, ==, 1);

  /* the hover thumbnail is image 7 of the folder */
  thumb = pt_embeddings_page_dup_thumbnail (page, 7);
  g_assert_nonnull (thumb);
  g_assert_cmpint (gdk_texture_get_width (thumb), ==, 64);

  pt_embeddings_page_set_tsne (page, TRUE);
  g_assert_true (pt_test_wait_until (has_frames, page, 30));

  /* A file that is not a .npy: banner naming it, the map unchanged. */
  g_assert_true (g_file_set_contents (bad, "not numpy at all", -1, NULL));
  pt_embeddings_page_open_embeddings (page, bad, NULL, NULL);
  g_assert_true (pt_test_wait_until (has_banner, page, 30));
  g_assert_nonnull (strstr (pt_embeddings_page_get_banner (page), bad));
  g_assert_cmpuint (pt_embeddings_page_get_n_points (page), ==, N);
  g_assert_cmpfloat (pt_embeddings_page_get_knn_accuracy (page), ==, 1.0);

  /* Labels of another length: refused too. */
  pt_embeddings_page_open_embeddings (page, npy, bad, NULL);
  g_assert_true (pt_test_wait_until (has_banner, page, 30));

  /* Without labels or images: points, no classes, no thumbnails. */
  gtk_widget_activate_action (GTK_WIDGET (page), "embeddings.dismiss", NULL);
  g_assert_null (pt_embeddings_page_get_banner (page));
  pt_embeddings_page_open_embeddings (page, npy, NULL, NULL);
  g_assert_true (pt_test_wait_until (unlabeled_points, page, 30));
  g_assert_true (isnan (pt_embeddings_page_get_knn_accuracy (page)));
  g_assert_true (isnan (pt_embeddings_page_get_probe_accuracy (page)));
  g_assert_null (pt_embeddings_page_dup_thumbnail (page, 0));

  gtk_window_destroy (window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/embeddings-import/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }
  pt_ui_init ();
  dir = g_dir_make_tmp ("pt-embeddings-import-XXXXXX", NULL);
  npy = g_build_filename (dir, "emb.npy", NULL);
  labels_txt = g_build_filename (dir, "labels.txt", NULL);
  images = g_build_filename (dir, "images", NULL);
  make_set ();

  g_test_add_func ("/app/embeddings-import/open", test_import);
  ret = g_test_run ();
  pt_test_remove_tree (dir);
  g_free (npy);
  g_free (labels_txt);
  g_free (images);
  g_free (dir);
  return ret;
}
