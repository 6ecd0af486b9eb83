/* Tests for the run directory: layout, config.ini round trip, metrics.jsonl
 * append and truncate, naming, listing past runs. */
#include <fcntl.h>
#include <locale.h>
#include <unistd.h>
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-run.h"
#include "pt-test-method.h"
#include "pt-trainer.h"

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

static PtRunSpec
make_spec (void)
{
  PtRunSpec spec = {
    .method = "test-linear",
    .dataset = "cifar10:/data/cifar-10-batches-bin/",
    .dataset_hash = "0123abcd",
    .encoder = "cnn",
    .encoder_width = 16,
    .batch_size = 256,
    .seed = G_GUINT64_CONSTANT (18446744073709551557),
    .steps = 1000,
    .augment_name = "simclr",
    .augment_content = "[crop]\nscale=0.2,1.0\n\n[jitter]\np=0.8\n",
  };

  return spec;
}

static void
test_config_round_trip (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-run-XXXXXX", NULL);
  g_autofree char *dir = g_build_filename (root, "a", "b", NULL);
  g_autofree char *ini = g_build_filename (dir, "config.ini", NULL);
  PtMethodConfig mconfig = pt_test_method_config ();
  g_autoptr(PtMethod) method = pt_method_new_for_class (&pt_test_method_class, &mconfig, NULL);
  PtRunSpec spec = make_spec ();
  g_autoptr(GKeyFile) config = NULL;
  g_autoptr(PtRun) run = NULL;
  g_autoptr(PtRun) opened = NULL;
  g_autoptr(PtMethod) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *content = NULL;
  g_autofree char *dataset = NULL;
  const char *subdirs[] = { "checkpoints", "visuals", "eval" };
  gsize len;
  GKeyFile *read;

  g_assert_true (pt_method_set_param (method, "lr", 0.1 / 3, FALSE, NULL));
  config = pt_run_config_new (&spec, method);
  run = pt_run_create (dir, config, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (dir, subdirs[i], NULL);

      g_assert_true (g_file_test (sub, G_FILE_TEST_IS_DIR));
    }
  g_assert_true (g_file_get_contents (ini, &text, &len, NULL));
  hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (guchar *) text, len);
  g_assert_cmpstr (pt_run_get_config_hash (run), ==, hash);
  g_assert_cmpstr (pt_run_get_method (run), ==, "test-linear");

  /* A second create in the same folder is refused. */
  g_assert_null (pt_run_create (dir, config, &error));
  g_assert_error (error, PT_RUN_ERROR, PT_RUN_ERROR_EXISTS);
  g_assert_nonnull (strstr (error->message, dir));
  g_clear_error (&error);

  opened = pt_run_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pt_run_get_config_hash (opened), ==, hash);
  read = pt_run_get_config (opened);
  dataset = g_key_file_get_string (read, "run", "dataset", NULL);
  g_assert_cmpstr (dataset, ==, spec.dataset);
  g_assert_cmpuint (g_key_file_get_uint64 (read, "run", "seed", NULL), ==, spec.seed);
  g_assert_cmpint (g_key_file_get_integer (read, "run", "batch_size", NULL), ==, 256);
  g_assert_cmpint (g_key_file_get_integer (read, "run", "encoder_width", NULL), ==, 16);
  content = g_key_file_get_string (read, "augment", "content", NULL);
  g_assert_cmpstr (content, ==, spec.augment_content);
  g_assert_true (g_key_file_has_key (read, "run", "app_version", NULL));
  g_assert_true (g_key_file_has_key (read, "run", "created", NULL));
  g_assert_true (g_key_file_has_key (read, "run", "dataset_hash", NULL));

  /* The method comes back with every parameter bit for bit. */
  mconfig.params = read;
  again = pt_method_new_for_class (&pt_test_method_class, &mconfig, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pt_method_get_param (again, "lr"), ==, 0.1 / 3);
  g_assert_cmpfloat (pt_method_get_param (again, "momentum"), ==, 0.9);

  g_clear_pointer (&run, pt_run_free);
  g_clear_pointer (&opened, pt_run_free);
  remove_tree (root);
}

static void
test_open_errors (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-run-XXXXXX", NULL);
  g_autofree char *ini = g_build_filename (root, "config.ini", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_null (pt_run_open (root, &error));
  g_assert_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, root));
  g_assert_nonnull (strstr (error->message, "config.ini"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (ini, "[run\nmethod=", -1, NULL));
  g_assert_null (pt_run_open (root, &error));
  g_assert_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, ini));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (ini, "[run]\nseed=1\n", -1, NULL));
  g_assert_null (pt_run_open (root, &error));
  g_assert_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "method"));
  remove_tree (root);
}

static char *
metrics_line (guint64 step,
              double  loss)
{
  PtStepMetrics m = { 0 };

  m.step = step;
  m.loss = loss;
  m.lr = 0.1;
  m.images_per_s = 1234.5;
  m.time = 1.7e9;
  return pt_step_metrics_to_json (&m);
}

static void
test_metrics (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-run-XXXXXX", NULL);
  PtRunSpec spec = make_spec ();
  g_autoptr(GKeyFile) config = pt_run_config_new (&spec, NULL);
  g_autoptr(PtRun) run = pt_run_create (root, config, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_nonnull (run);
  for (guint64 s = 1; s <= 10; s++)
    {
      g_autofree char *line = metrics_line (s, 1.0 / s);

      g_assert_true (pt_run_append_metrics (run, line, &error));
      g_assert_no_error (error);
    }
  /* A cut last line, as a kill during write() would leave. */
  {
    int fd = g_open (pt_run_get_metrics_path (run), O_WRONLY | O_APPEND, 0);

    g_assert_cmpint (write (fd, "{\"step\":11,\"lo", 14), ==, 14);
    close (fd);
  }
  g_assert_true (pt_run_truncate_metrics (run, 7, &error));
  g_assert_no_error (error);
  {
    g_autofree char *line = metrics_line (8, 0.5);

    g_assert_true (pt_run_append_metrics (run, line, &error));
  }

  g_assert_true (g_file_get_contents (pt_run_get_metrics_path (run), &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 9);   /* 8 lines and the empty tail */
  g_assert_cmpstr (lines[8], ==, "");
  for (guint i = 0; i < 8; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpint (json_object_get_int_member (o, "step"), ==, i + 1);
      g_assert_cmpfloat (json_object_get_double_member (o, "loss"), ==, i < 7 ? 1.0 / (i + 1) : 0.5);
      g_assert_cmpfloat (json_object_get_double_member (o, "lr"), ==, 0.1);
    }
  g_clear_pointer (&run, pt_run_free);
  remove_tree (root);
}

/* Numbers are written with '.', whatever the locale; NaN becomes null. */
static void
test_metrics_json (void)
{
  PtStepMetrics m = { 0 };
  char *events[] = { "set lr 0.1 -> 0.05", "quote \" and \\", NULL };
  g_autofree char *json = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  const char *locales[] = { "fr_FR.UTF-8", "de_DE.UTF-8", "fr_FR", NULL };
  g_autofree char *old = g_strdup (setlocale (LC_NUMERIC, NULL));
  JsonObject *o;

  for (guint i = 0; locales[i] != NULL; i++)
    if (setlocale (LC_NUMERIC, locales[i]) != NULL)
      break;

  m.step = 3;
  m.epoch = 1;
  m.loss = 0.25;
  m.n_parts = 1;
  m.parts[0] = (PtNamedValue) { "mse", NAN };
  m.n_stats = 1;
  m.stats[0] = (PtNamedValue) { "feature_std", 1.5 };
  m.lr = NAN;
  m.images_per_s = 812.75;
  m.time = 1763900000.125;
  m.events = events;
  json = pt_step_metrics_to_json (&m);
  setlocale (LC_NUMERIC, old);

  g_assert_null (strchr (json, '\n'));
  g_assert_nonnull (strstr (json, "0.25"));
  g_assert_nonnull (strstr (json, "812.75"));
  g_assert_true (json_parser_load_from_data (parser, json, -1, &error));
  g_assert_no_error (error);
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_true (json_object_get_null_member (o, "lr"));
  g_assert_true (json_object_get_null_member (json_object_get_object_member (o, "parts"), "mse"));
  g_assert_cmpfloat (json_object_get_double_member (json_object_get_object_member (o, "health"),
                                                    "feature_std"), ==, 1.5);
  g_assert_cmpfloat (json_object_get_double_member (o, "time"), ==, 1763900000.125);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (o, "events"), 1),
                   ==, events[1]);
}

static void
test_default_dir (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-run-XXXXXX", NULL);
  g_autofree char *a = pt_run_default_dir (root, "simclr", "cifar10:/data/cifar-10-batches-bin/");
  g_autofree char *b = NULL;
  g_autofree char *name = g_path_get_basename (a);
  g_autofree char *default_root = pt_run_default_root ();

  g_assert_true (g_str_has_prefix (a, root));
  g_assert_true (g_str_has_suffix (name, "-simclr-cifar10-cifar-10-batches-bin"));
  g_assert_null (strchr (name, ':'));
  g_assert_cmpint (g_mkdir (a, 0755), ==, 0);
  b = pt_run_default_dir (root, "simclr", "cifar10:/data/cifar-10-batches-bin/");
  g_assert_cmpstr (a, !=, b);
  g_assert_true (g_str_has_suffix (b, "-2"));
  g_assert_true (g_str_has_suffix (default_root, "pretext/runs"));
  remove_tree (root);
}

static void
write_run (const char *root,
           const char *name,
           const char *created,
           const char *metrics,
           const char *eval_json)
{
  g_autofree char *dir = g_build_filename (root, name, NULL);
  g_autofree char *eval = g_build_filename (dir, "eval", NULL);
  g_autofree char *ini = g_build_filename (dir, "config.ini", NULL);
  g_autofree char *jsonl = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *config = g_strdup_printf ("[run]\nmethod=simclr\ndataset=shapes\ncreated=%s\n",
                                             created);

  g_assert_cmpint (g_mkdir_with_parents (eval, 0755), ==, 0);
  g_assert_true (g_file_set_contents (ini, config, -1, NULL));
  if (metrics != NULL)
    g_assert_true (g_file_set_contents (jsonl, metrics, -1, NULL));
  if (eval_json != NULL)
    {
      g_autofree char *probe = g_build_filename (eval, "probe.json", NULL);

      g_assert_true (g_file_set_contents (probe, eval_json, -1, NULL));
    }
}

static void
test_list (void)
{
  g_autofree char *root = g_dir_make_tmp ("pt-run-XXXXXX", NULL);
  g_autofree char *missing = g_build_filename (root, "nothing-here", NULL);
  g_autofree char *junk = g_build_filename (root, "not-a-run", NULL);
  g_autoptr(GPtrArray) runs = NULL;
  g_autoptr(GError) error = NULL;
  PtRunInfo *info;

  runs = pt_run_list (missing, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 0);
  g_clear_pointer (&runs, g_ptr_array_unref);

  write_run (root, "b", "2026-11-23T10:00:00Z",
             "{\"step\":1,\"loss\":2.5}\n{\"step\":2,\"loss\":2.25}\n{\"step\":3,\"lo", NULL);
  write_run (root, "a", "2026-11-22T09:00:00Z", NULL, "{\"accuracy\":0.71,\"kind\":\"linear\"}");
  g_assert_cmpint (g_mkdir (junk, 0755), ==, 0);

  runs = pt_run_list (root, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (runs->len, ==, 2);

  info = runs->pdata[0];
  g_assert_cmpstr (info->name, ==, "a");
  g_assert_cmpstr (info->method, ==, "simclr");
  g_assert_cmpstr (info->dataset, ==, "shapes");
  g_assert_cmpuint (info->steps, ==, 0);
  g_assert_true (isnan (info->last_loss));
  g_assert_cmpfloat (info->probe, ==, 0.71);
  g_assert_cmpstr (info->probe_file, ==, "probe.json");

  info = runs->pdata[1];
  g_assert_cmpstr (info->name, ==, "b");
  g_assert_cmpuint (info->steps, ==, 2);   /* the cut line is skipped */
  g_assert_cmpfloat (info->last_loss, ==, 2.25);
  g_assert_true (isnan (info->probe));
  g_assert_null (info->probe_file);
  remove_tree (root);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/run/config-round-trip", test_config_round_trip);
  g_test_add_func ("/core/run/open-errors", test_open_errors);
  g_test_add_func ("/core/run/metrics", test_metrics);
  g_test_add_func ("/core/run/metrics-json", test_metrics_json);
  g_test_add_func ("/core/run/default-dir", test_default_dir);
  g_test_add_func ("/core/run/list", test_list);
  return g_test_run ();
}
