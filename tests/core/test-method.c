/* Tests for the method interface: registry, hyperparameters, batches,
 * visuals, state listing, through the test double. */
#include <math.h>
#include <string.h>

#include "pt-method.h"
#include "pt-test-method.h"

static void
test_registry (void)
{
  g_autofree const PtMethodClass **list = NULL;
  g_autoptr(GError) error = NULL;
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(PtMethod) method = NULL;
  guint n = 0, before;
  gboolean found = FALSE;

  g_free (pt_method_list (&before));
  g_assert_null (pt_method_lookup ("test-linear"));
  g_assert_null (pt_method_new ("test-linear", &config, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNKNOWN);
  g_assert_nonnull (strstr (error->message, "test-linear"));
  g_clear_error (&error);

  pt_method_register (&pt_test_method_class);
  pt_method_register (&pt_test_method_class);   /* twice is harmless */
  g_assert_true (pt_method_lookup ("test-linear") == &pt_test_method_class);
  list = pt_method_list (&n);
  g_assert_cmpuint (n, ==, before + 1);
  g_assert_null (list[n]);
  for (guint i = 0; i < n; i++)
    found |= list[i] == &pt_test_method_class;
  g_assert_true (found);

  method = pt_method_new ("test-linear", &config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pt_method_get_name (method), ==, "test-linear");
  g_assert_nonnull (pt_method_get_title (method));
}

static void
test_params (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GKeyFile) saved = g_key_file_new ();
  g_autoptr(PtMethod) method = NULL;
  g_autoptr(PtMethod) again = NULL;
  g_autoptr(GError) error = NULL;
  const PtMethodParam *params;
  g_autofree char *name = NULL;
  guint n;

  /* Overrides from a key file; the rest are defaults. */
  g_key_file_set_value (keyfile, "m", "lr", "0.0123456789012345");
  g_key_file_set_value (keyfile, "m", "dropout", "0");
  config.params = keyfile;
  config.params_group = "m";
  method = pt_method_new_for_class (&pt_test_method_class, &config, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pt_method_get_param (method, "lr"), ==, 0.0123456789012345);
  g_assert_cmpfloat (pt_method_get_param (method, "dropout"), ==, 0.0);
  g_assert_cmpfloat (pt_method_get_param (method, "momentum"), ==, 0.9);

  params = pt_method_get_params (method, &n);
  g_assert_cmpuint (n, ==, 4);
  g_assert_cmpstr (params[0].name, ==, "lr");
  g_assert_true (pt_method_is_param_live (method, "lr"));
  g_assert_true (pt_method_is_param_live (method, "temperature"));
  g_assert_false (pt_method_is_param_live (method, "momentum"));
  g_assert_false (pt_method_has_param (method, "queue_size"));

  /* Live changes, range and liveness checks. */
  g_assert_true (pt_method_set_param (method, "lr", 0.5, TRUE, &error));
  g_assert_cmpfloat (pt_method_get_param (method, "lr"), ==, 0.5);
  g_assert_false (pt_method_set_param (method, "momentum", 0.5, TRUE, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_true (pt_method_set_param (method, "momentum", 0.5, FALSE, &error));
  g_assert_false (pt_method_set_param (method, "lr", 100, FALSE, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_false (pt_method_set_param (method, "lr", NAN, FALSE, &error));
  g_clear_error (&error);
  g_assert_false (pt_method_set_param (method, "nope", 1, FALSE, &error));
  g_assert_nonnull (strstr (error->message, "nope"));
  g_clear_error (&error);
  g_assert_cmpfloat (pt_method_get_param (method, "lr"), ==, 0.5);

  /* Saved parameters recreate the same values, bit for bit. */
  pt_method_save_params (method, saved, NULL);
  name = g_key_file_get_string (saved, "method", "name", NULL);
  g_assert_cmpstr (name, ==, "test-linear");
  config.params = saved;
  config.params_group = NULL;
  again = pt_method_new_for_class (&pt_test_method_class, &config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < n; i++)
    g_assert_cmpfloat (pt_method_get_param (again, params[i].name), ==,
                       pt_method_get_param (method, params[i].name));

  /* A bad override is refused at creation. */
  g_key_file_set_value (keyfile, "m", "lr", "fast");
  config.params = keyfile;
  config.params_group = "m";
  g_assert_null (pt_method_new_for_class (&pt_test_method_class, &config, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_key_file_set_value (keyfile, "m", "lr", "-1");
  g_assert_null (pt_method_new_for_class (&pt_test_method_class, &config, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
}

static void
test_step_embed_state (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(PtMethod) method = pt_method_new_for_class (&pt_test_method_class, &config, NULL);
  g_autoptr(PtBatchSource) source = pt_test_source_new (1, 0);
  g_autoptr(PtBatch) batch = NULL;
  g_autoptr(GArray) blobs = NULL;
  g_autoptr(PtVisuals) visuals = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *arch = NULL;
  g_autofree float *features = NULL;
  PtViewShape shapes[PT_MAX_VIEWS];
  PtStepResult result;
  int n_views;
  gboolean has_weights = FALSE;

  n_views = pt_method_get_views (method, shapes);
  g_assert_cmpint (n_views, ==, 2);
  g_assert_cmpint (shapes[1].channels, ==, 3);
  g_assert_cmpint (shapes[1].height, ==, 8);
  arch = pt_method_dup_architecture (method);
  g_assert_cmpstr (arch, ==, "test-linear 192->4");

  batch = pt_batch_new (config.batch_size, n_views, shapes);
  g_assert_cmpuint (pt_batch_view_size (batch, 0), ==, 8 * 3 * 8 * 8);
  g_assert_true (pt_batch_source_next (source, batch, &error));
  g_assert_true (pt_method_step (method, batch, &result, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (result.loss));
  g_assert_true (result.grad_finite);
  g_assert_cmpint (result.n_parts, ==, 2);
  g_assert_cmpstr (result.parts[0].name, ==, "view0");
  g_assert_cmpfloat_with_epsilon (result.loss, (result.parts[0].value + result.parts[1].value) / 2,
                                  1e-12);
  g_assert_cmpint (result.n_stats, ==, 2);

  features = g_new0 (float, 2 * pt_method_get_feature_dim (method));
  g_assert_true (pt_method_embed (method, batch->views[0], 2, features, &error));
  g_assert_no_error (error);
  g_assert_true (isfinite (features[0]) && features[0] != 0.0f);

  visuals = pt_method_visuals (method);
  g_assert_nonnull (visuals);
  g_assert_cmpuint (pt_visuals_get_step (visuals), ==, 1);
  g_assert_cmpuint (pt_visuals_get_n_items (visuals), ==, 1);
  g_assert_cmpint (pt_visuals_get_item (visuals, 0)->shape[1], ==, 192);
  g_assert_null (pt_visuals_lookup (visuals, "nothing"));

  blobs = pt_method_list_state (method);
  g_assert_cmpuint (blobs->len, ==, 4);
  for (guint i = 0; i < blobs->len; i++)
    {
      PtBlob *b = &g_array_index (blobs, PtBlob, i);

      g_assert_nonnull (b->data);
      g_assert_cmpuint (pt_blob_type_size (b->type), >, 0);
      has_weights |= strcmp (b->name, "linear/weights") == 0 && b->count == 4 * 192 + 4;
    }
  g_assert_true (has_weights);

  /* NaN input gives a non-finite loss, which the trainer must catch. */
  for (gsize i = 0; i < pt_batch_view_size (batch, 0); i++)
    batch->views[0][i] = NAN;
  g_assert_true (pt_method_step (method, batch, &result, &error));
  g_assert_false (isfinite (result.loss) && result.grad_finite);
}

static void
test_visuals_ref (void)
{
  PtVisuals *v = pt_visuals_new (3);
  float data[6] = { 1, 2, 3, 4, 5, 6 };
  int shape[2] = { 2, 3 };
  const PtVisualItem *item;

  pt_visuals_add (v, "sim", PT_VISUAL_MATRIX, 2, shape, data);
  data[0] = 100;   /* copied, not borrowed */
  pt_visuals_ref (v);
  pt_visuals_unref (v);
  item = pt_visuals_lookup (v, "sim");
  g_assert_nonnull (item);
  g_assert_cmpint (item->rank, ==, 2);
  g_assert_cmpfloat (item->data[0], ==, 1);
  g_assert_cmpfloat (item->data[5], ==, 6);
  pt_visuals_unref (v);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/method/registry", test_registry);
  g_test_add_func ("/core/method/params", test_params);
  g_test_add_func ("/core/method/step-embed-state", test_step_embed_state);
  g_test_add_func ("/core/method/visuals", test_visuals_ref);
  return g_test_run ();
}
