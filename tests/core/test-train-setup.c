/* Tests for building a trainer from a request and from a run folder: a run
 * resumed from config.ini alone continues bit for bit; a changed dataset,
 * views that do not fit and unknown methods are refused with a sentence.
 * The method is the test double, registered in this test process only. */
#include <string.h>
#include <glib/gstdio.h>

#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-train-setup.h"

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static PtTrainRequest
make_request (const char *out_dir)
{
  PtTrainRequest request = { 0 };

  request.method = "test-linear";
  request.dataset = "shapes";
  request.dataset_options.shapes_train = 48;
  request.dataset_options.shapes_test = 8;
  request.augment = "simclr";
  request.batch_size = 8;
  request.seed = 5;
  request.steps = 12;
  request.out_dir = out_dir;
  request.normalize = TRUE;
  for (int c = 0; c < 3; c++)
    {
      request.mean[c] = 0.5f;
      request.std[c] = 0.25f;
    }
  return request;
}

static void
collect_cb (PtTrainer           *trainer,
            const PtStepMetrics *metrics,
            gpointer             user_data)
{
  GArray *losses = user_data;

  g_array_set_size (losses, MAX (losses->len, metrics->step));
  g_array_index (losses, double, metrics->step - 1) = metrics->loss;
}

static GArray *
run_to (PtTrainer *trainer)
{
  g_autoptr(GError) error = NULL;
  GArray *losses = g_array_new (FALSE, TRUE, sizeof (double));

  pt_trainer_set_step_func (trainer, collect_cb, losses);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
  return losses;
}

static void
test_new_and_resume (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-setup-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (root, "a", NULL);
  g_autofree char *b = g_build_filename (root, "b", NULL);
  PtTrainRequest request;
  PtTrainerOptions options = { 12, 4, 0 };
  g_autoptr(PtTrainer) whole = NULL;
  g_autoptr(PtTrainer) half = NULL;
  g_autoptr(PtTrainer) rest = NULL;
  g_autoptr(GArray) whole_losses = NULL;
  g_autoptr(GArray) half_losses = NULL;
  g_autoptr(GArray) rest_losses = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  GKeyFile *config;

  request = make_request (a);
  whole = pt_train_setup_new (&request, NULL, &options, &error);
  g_assert_no_error (error);
  whole_losses = run_to (whole);
  g_assert_cmpuint (whole_losses->len, ==, 12);

  config = pt_run_get_config (pt_trainer_get_run (whole));
  g_assert_true (g_key_file_get_boolean (config, "loader", "normalize", NULL));
  g_assert_cmpint (g_key_file_get_integer (config, "dataset", "shapes_train", NULL), ==, 48);
  g_assert_true (g_key_file_has_key (config, "augment", "content", NULL));
  g_assert_cmpfloat (g_key_file_get_double (config, "method", "lr", NULL), ==, 0.05);

  request = make_request (b);
  options.total_steps = 5;
  half = pt_train_setup_new (&request, NULL, &options, &error);
  g_assert_no_error (error);
  half_losses = run_to (half);
  g_clear_object (&half);

  /* From config.ini and the checkpoint alone. */
  options.total_steps = 12;
  rest = pt_train_setup_resume (b, NULL, &options, &warning, &error);
  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_cmpuint (pt_trainer_get_step (rest), ==, 5);
  rest_losses = run_to (rest);
  for (guint s = 0; s < 5; s++)
    g_assert_true (memcmp (&g_array_index (half_losses, double, s),
                           &g_array_index (whole_losses, double, s), sizeof (double)) == 0);
  for (guint s = 5; s < 12; s++)
    if (memcmp (&g_array_index (rest_losses, double, s),
                &g_array_index (whole_losses, double, s), sizeof (double)) != 0)
      g_error ("step %u: %.17g resumed, %.17g uninterrupted", s + 1,
               g_array_index (rest_losses, double, s), g_array_index (whole_losses, double, s));
  g_clear_object (&whole);
  g_clear_object (&rest);
  remove_tree (root);
}

static void
test_refusals (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-setup-XXXXXX", NULL);
  g_autofree char *a = g_build_filename (root, "a", NULL);
  g_autofree char *b = g_build_filename (root, "b", NULL);
  PtTrainRequest request = make_request (a);
  PtTrainerOptions options = { 2, 0, 0 };
  PtDatasetOptions other = request.dataset_options;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtDataset) dataset = NULL;
  g_autoptr(GError) error = NULL;

  /* Views that do not fit: swav makes 8 views, the test double wants 2. */
  request.augment = "swav";
  g_assert_null (pt_train_setup_new (&request, NULL, &options, &error));
  g_assert_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP);
  g_assert_nonnull (strstr (error->message, "swav"));
  g_clear_error (&error);
  g_assert_false (g_file_test (a, G_FILE_TEST_EXISTS));   /* nothing written */

  request = make_request (a);
  request.method = "no-such-method";
  g_assert_null (pt_train_setup_new (&request, NULL, &options, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNKNOWN);
  g_clear_error (&error);

  request = make_request (a);
  request.augment = "no-such-recipe";
  g_assert_null (pt_train_setup_new (&request, NULL, &options, &error));
  g_assert_nonnull (error);
  g_clear_error (&error);

  /* A resume on another dataset is refused. */
  request = make_request (b);
  trainer = pt_train_setup_new (&request, NULL, &options, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_clear_object (&trainer);
  other.shapes_seed = 99;
  dataset = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &other, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (pt_train_setup_resume (b, dataset, &options, NULL, &error));
  g_assert_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_SETUP);
  g_assert_nonnull (strstr (error->message, "hash"));
  g_clear_error (&error);

  /* Not a run folder. */
  g_assert_null (pt_train_setup_resume (root, NULL, &options, NULL, &error));
  g_assert_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID);
  remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_method_register (&pt_test_method_class);
  g_test_add_func ("/core/train-setup/new-and-resume", test_new_and_resume);
  g_test_add_func ("/core/train-setup/refusals", test_refusals);
  return g_test_run ();
}
