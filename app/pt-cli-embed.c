/* pt-cli-embed.c: `pretext-cli embed DIR`, the run's features as files.
 *
 *   --out FILE.npy     features, float32 N x D (NumPy .npy v1.0), and the
 *                      labels beside it as int64 in FILE.labels.npy (the
 *                      name without ".npy", plus ".labels.npy")
 *   --projector DIR    a TensorBoard projector bundle (tensors.tsv,
 *                      metadata.tsv, sprite.png, projector_config.pbtxt)
 *   --csv FILE         filenames,embedding_0..,labels
 *   --images FILE.npy  the encoder's input, float32 N x (C*H*W), normalized
 *                      as in training (for checks against other frameworks)
 *   --count N          only the first N images of the split
 *
 * Everything asked for is written as one atomic set: all files or none.
 * Features come from the run's last good checkpoint (cached in eval/).
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-atomic.h"
#include "pt-cli.h"
#include "pt-features.h"
#include "pt-npy.h"
#include "pt-projector.h"
#include "pt-threads.h"

static GdkPixbuf *
thumb_cb (guint    index,
          gpointer user_data)
{
  return pt_dataset_dup_pixbuf (user_data, index);
}

/* FILE.npy -> FILE.labels.npy; FILE -> FILE.labels.npy */
static char *
labels_path_for (const char *out)
{
  if (g_str_has_suffix (out, ".npy"))
    {
      g_autofree char *stem = g_strndup (out, strlen (out) - 4);

      return g_strconcat (stem, ".labels.npy", NULL);
    }
  return g_strconcat (out, ".labels.npy", NULL);
}

int
pt_cli_embed_main (int    argc,
                   char **argv)
{
  g_autofree char *out = NULL;
  g_autofree char *projector = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *images_path = NULL;
  g_autofree char *split_name = NULL;
  g_autofree char *labels_path = NULL;
  g_autofree float *features = NULL;
  g_autofree gint64 *labels64 = NULL;
  g_autofree const char **class_names = NULL;
  g_autofree const char **filenames = NULL;
  gboolean json = FALSE, random_init = FALSE;
  int threads = 0, dim = 0, count = 0, dim_pixels = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) data = NULL;
  PtAtomicSet *set = NULL;
  PtProjectorExport exp = { 0 };
  PtSplit split = PT_SPLIT_TEST;
  guint64 step = 0;
  guint n;
  int n_classes;
  const char *run_dir;
  int status = PT_EXIT_OK;
  const GOptionEntry entries[] = {
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Features as .npy (labels beside it as FILE.labels.npy)"), N_("FILE.npy") },
    { "projector", 0, 0, G_OPTION_ARG_FILENAME, &projector, N_("Write a TensorBoard projector bundle into DIR"), N_("DIR") },
    { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv, N_("Write filenames, features and labels as CSV"), N_("FILE") },
    { "images", 0, 0, G_OPTION_ARG_FILENAME, &images_path, N_("Also write the encoder’s input images, normalized, as .npy"), N_("FILE.npy") },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, N_("Only the first N images of the split"), N_("N") },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_("Split: test or train (default test)"), N_("SPLIT") },
    { "random-init", 0, 0, G_OPTION_ARG_NONE, &random_init, N_("Features of the untrained encoder (the baseline)"), NULL },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Compute threads (default 1)"), N_("T") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("DIR — write a run’s features as .npy, a projector bundle or CSV"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "embed"))
    return PT_EXIT_USAGE;

  if (argc < 2)
    return pt_cli_usage_error ("embed", _("the run directory is required"));
  if (argc > 2)
    return pt_cli_usage_error ("embed", _("unexpected argument “%s”"), argv[2]);
  if (out == NULL && projector == NULL && csv == NULL && images_path == NULL)
    return pt_cli_usage_error ("embed", _("give at least one of --out, --projector, --csv and --images"));
  if (count < 0)
    return pt_cli_usage_error ("embed", _("--count must be positive"));
  if (split_name != NULL)
    {
      if (strcmp (split_name, "test") == 0)
        split = PT_SPLIT_TEST;
      else if (strcmp (split_name, "train") == 0)
        split = PT_SPLIT_TRAIN;
      else
        return pt_cli_usage_error ("embed", _("--split must be train or test"));
    }
  if (threads < 0 || threads > 256)
    return pt_cli_usage_error ("embed", _("--threads must be between 1 and 256"));
  if (threads > 0)
    pt_threads_set (threads);
  run_dir = argv[1];
  if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr (_("pretext-cli embed: the run directory “%s” does not exist.\n"), run_dir);
      return PT_EXIT_INPUT;
    }

  pt_cli_register_methods ();
  data = pt_features_open_split (run_dir, split, NULL, &error);
  if (data == NULL)
    return pt_cli_report_error ("embed", error);
  features = pt_features_for_run (run_dir, data,
                                  random_init ? PT_FEATURES_RANDOM_INIT : PT_FEATURES_TRAINED,
                                  &dim, &step, NULL, NULL, &error);
  if (features == NULL)
    return pt_cli_report_error ("embed", error);

  n = pt_dataset_get_n_images (data);
  if (count > 0 && (guint) count < n)
    n = (guint) count;   /* the first rows of the cached features */
  n_classes = pt_dataset_get_n_classes (data);
  labels64 = g_new (gint64, MAX (n, 1));
  for (guint i = 0; i < n; i++)
    labels64[i] = pt_dataset_get_label (data, i);
  class_names = g_new0 (const char *, n_classes + 1);
  for (int k = 0; k < n_classes; k++)
    class_names[k] = pt_dataset_get_class_name (data, k);
  if (pt_dataset_get_image_path (data, 0) != NULL)
    {
      filenames = g_new0 (const char *, n + 1);
      for (guint i = 0; i < n; i++)
        filenames[i] = pt_dataset_get_image_path (data, i);
    }

  exp.embeddings = features;
  exp.n = n;
  exp.d = (guint) dim;
  exp.labels = pt_dataset_get_labels (data);
  exp.class_names = n_classes > 0 ? class_names : NULL;
  exp.n_classes = (guint) n_classes;
  exp.filenames = filenames;
  exp.thumb_func = thumb_cb;
  exp.thumb_data = data;

  set = pt_atomic_set_new ();
  if (out != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, out, &error);

      labels_path = labels_path_for (out);
      if (file == NULL || !pt_npy_write_f32 (file, features, n, (guint64) dim, &error))
        goto fail;
      file = pt_atomic_set_add (set, labels_path, &error);
      if (file == NULL || !pt_npy_write_i64 (file, labels64, n, &error))
        goto fail;
    }
  if (projector != NULL)
    {
      if (g_mkdir_with_parents (projector, 0755) != 0)
        {
          g_set_error (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                       _("Cannot create the folder “%s”."), projector);
          goto fail;
        }
      if (!pt_projector_add_to_set (&exp, set, projector, &error))
        goto fail;
    }
  if (images_path != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, images_path, &error);
      g_autofree float *pixels = NULL;
      g_autoptr(GKeyFile) kf = g_key_file_new ();
      g_autofree char *ini = g_build_filename (run_dir, "config.ini", NULL);
      PtNormalization norm;
      gsize size = pt_dataset_get_image_size (data);

      if (file == NULL ||
          !g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, &error) ||
          !pt_normalization_load (&norm, kf, "run", &error))
        goto fail;
      pixels = pt_features_raw_pixels (data, &dim_pixels);
      for (guint i = 0; i < n; i++)
        for (gsize k = 0; k < size; k++)
          {
            int c = (int) (k / (size / pt_dataset_get_channels (data)));

            pixels[i * size + k] = (pixels[i * size + k] - norm.mean[c]) / norm.std[c];
          }
      if (!pt_npy_write_f32 (file, pixels, n, size, &error))
        goto fail;
    }
  if (csv != NULL)
    {
      PtAtomicFile *file = pt_atomic_set_add (set, csv, &error);

      if (file == NULL || !pt_csv_write_embeddings (&exp, file, &error))
        goto fail;
    }
  if (!pt_atomic_set_commit (set, &error))
    goto fail;
  pt_atomic_set_free (set);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, run_dir);
      json_builder_set_member_name (b, "split");
      json_builder_add_string_value (b, split == PT_SPLIT_TEST ? "test" : "train");
      json_builder_set_member_name (b, "features");
      json_builder_add_string_value (b, pt_feature_kind_to_string (random_init ? PT_FEATURES_RANDOM_INIT : PT_FEATURES_TRAINED));
      json_builder_set_member_name (b, "step");
      json_builder_add_int_value (b, (gint64) step);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, n);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, dim);
      if (out != NULL)
        {
          json_builder_set_member_name (b, "out");
          json_builder_add_string_value (b, out);
          json_builder_set_member_name (b, "labels");
          json_builder_add_string_value (b, labels_path);
        }
      if (projector != NULL)
        {
          json_builder_set_member_name (b, "projector");
          json_builder_add_string_value (b, projector);
        }
      if (csv != NULL)
        {
          json_builder_set_member_name (b, "csv");
          json_builder_add_string_value (b, csv);
        }
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
    }
  else
    printf (_("Wrote %u features of dimension %d (checkpoint at step %llu).\n"),
            n, dim, (unsigned long long) step);
  return PT_EXIT_OK;

fail:
  pt_atomic_set_free (set);   /* removes every temporary file */
  status = pt_cli_report_error ("embed", error);
  return status;
}
