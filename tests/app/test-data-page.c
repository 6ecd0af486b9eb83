/* The Data page end to end: load, browse, filter, and bad input. */
#include <string.h>
#include <glib/gstdio.h>
#include <gtk/gtk.h>

#include "../pt-test-display.h"
#include "pt-application.h"
#include "pt-data-page.h"
#include "pt-image-list.h"
#include "pt-test-gtk.h"

static PtApplication *app;

static void
wait_loaded (PtDataPage *page)
{
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;

  /* A load is queued on map; spin until it has finished one way or the other. */
  while ((pt_data_page_get_loading (page) ||
          (pt_data_page_get_dataset (page) == NULL && pt_data_page_get_error (page) == NULL)) &&
         g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (pt_data_page_get_loading (page));
}

static PtDataPage *
make_page (GtkWindow **out_window)
{
  GtkWindow *window = GTK_WINDOW (gtk_application_window_new (GTK_APPLICATION (app)));
  PtDataPage *page = g_object_new (PT_TYPE_DATA_PAGE, NULL);

  gtk_window_set_default_size (window, 1100, 700);
  gtk_window_set_child (window, GTK_WIDGET (page));
  gtk_window_present (window);
  *out_window = window;
  return page;
}

static void
test_data_page_shapes (void)
{
  GtkWindow *window;
  PtDataPage *page = make_page (&window);
  GtkSelectionModel *selection;
  PtDataset *ds;
  guint n;

  wait_loaded (page);
  ds = pt_data_page_get_dataset (page);
  g_assert_nonnull (ds);
  g_assert_cmpstr (pt_dataset_get_spec (ds), ==, "shapes");

  selection = pt_data_page_get_selection (page);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==, pt_dataset_get_n_images (ds));

  /* The first image is shown large with its class. */
  g_assert_true (gtk_selection_model_is_selected (selection, 0));
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page),
                                        pt_dataset_get_class_name (ds, pt_dataset_get_label (ds, 0))));

  /* Filter to class 3: exactly that class's images remain. */
  pt_data_page_set_class_filter (page, 3);
  n = g_list_model_get_n_items (G_LIST_MODEL (selection));
  g_assert_cmpuint (n, ==, pt_dataset_get_class_counts (ds)[3]);
  for (guint i = 0; i < n; i += 97)
    {
      g_autoptr(PtImageItem) item = g_list_model_get_item (G_LIST_MODEL (selection), i);
      g_assert_cmpint (pt_image_item_get_label (item), ==, 3);
    }
  pt_data_page_set_class_filter (page, -1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (selection)), ==, pt_dataset_get_n_images (ds));

  /* The test split. */
  pt_data_page_load (page, "shapes", PT_SPLIT_TEST);
  wait_loaded (page);
  g_assert_cmpint (pt_dataset_get_split (pt_data_page_get_dataset (page)), ==, PT_SPLIT_TEST);

  gtk_window_destroy (window);
}

static void
test_data_page_missing (void)
{
  GtkWindow *window;
  PtDataPage *page = make_page (&window);

  wait_loaded (page);
  pt_data_page_load (page, "/nonexistent/pretext-folder", PT_SPLIT_TRAIN);
  wait_loaded (page);
  g_assert_null (pt_data_page_get_dataset (page));
  g_assert_nonnull (pt_data_page_get_error (page));
  g_assert_nonnull (strstr (pt_data_page_get_error (page), "/nonexistent/pretext-folder"));
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "/nonexistent/pretext-folder"));
  gtk_window_destroy (window);
}

static void
write_png (const char *dir, const char *name, guint8 grey)
{
  g_autoptr(GdkPixbuf) pb = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 40, 40);
  g_autofree char *path = g_build_filename (dir, name, NULL);

  gdk_pixbuf_fill (pb, ((guint32) grey << 24) | ((guint32) grey << 16) | ((guint32) grey << 8) | 0xff);
  g_assert_true (gdk_pixbuf_save (pb, path, "png", NULL, NULL));
}

static void
test_data_page_quarantine (void)
{
  g_autofree char *root = g_dir_make_tmp ("pretext-data-page-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (root, "apples", NULL);
  g_autofree char *b = g_build_filename (root, "bananas", NULL);
  g_autofree char *empty = g_build_filename (b, "empty.png", NULL);
  GtkWindow *window;
  PtDataPage *page;
  PtDataset *ds;

  g_mkdir (a, 0700);
  g_mkdir (b, 0700);
  write_png (a, "a1.png", 10);
  write_png (a, "a2.png", 20);
  write_png (b, "b1.png", 200);
  g_assert_true (g_file_set_contents (empty, "", 0, NULL));

  page = make_page (&window);
  wait_loaded (page);
  pt_data_page_load (page, root, PT_SPLIT_TRAIN);
  wait_loaded (page);

  ds = pt_data_page_get_dataset (page);
  g_assert_nonnull (ds);
  g_assert_cmpuint (pt_dataset_get_n_images (ds), ==, 3);
  g_assert_cmpint (pt_dataset_get_n_classes (ds), ==, 2);
  g_assert_cmpuint (pt_dataset_get_n_quarantined (ds), ==, 1);
  /* The skipped file is listed with its reason, visibly. */
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "1 file skipped"));
  g_assert_nonnull (pt_test_find_label (GTK_WIDGET (page), "empty.png"));

  gtk_window_destroy (window);
  while (g_main_context_pending (NULL))
    g_main_context_iteration (NULL, FALSE);

  g_unlink (empty);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *p = g_strdup_printf ("%s/a%u.png", a, i + 1);
      g_unlink (p);
    }
  {
    g_autofree char *p = g_build_filename (b, "b1.png", NULL);
    g_unlink (p);
  }
  g_rmdir (a);
  g_rmdir (b);
  g_rmdir (root);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  if (!pt_test_gtk_init ())
    {
      g_test_add_func ("/app/data-page/skipped", (GTestFunc) g_test_skip);
      return g_test_run ();
    }

  app = pt_application_new ();
  g_assert_true (g_application_register (G_APPLICATION (app), NULL, NULL));

  g_test_add_func ("/app/data-page/shapes", test_data_page_shapes);
  g_test_add_func ("/app/data-page/missing", test_data_page_missing);
  g_test_add_func ("/app/data-page/quarantine", test_data_page_quarantine);

  ret = g_test_run ();
  g_clear_object (&app);
  return ret;
}
