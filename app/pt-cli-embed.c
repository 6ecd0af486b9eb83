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
 * Everything asked for is written as one atomic set: all files or none
 * (pt_run_export, the same code as the window's File > Export…).
 * Features come from the run's last good checkpoint (cached in eval/).
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-features.h"
#include "pt-run-export.h"
#include "pt-threads.h"

int
pt_cli_embed_main (int    argc,
                   char **argv)
{
  g_autofree char *out = NULL;
  g_autofree char *projector = NULL;
  g_autofree char *csv = NULL;
  g_autofree char *images_path = NULL;
  g_autofree char *split_name = NULL;
  gboolean json = FALSE, random_init = FALSE;
  int threads = 0, count = 0;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  PtRunExportOptions options = { 0 };
  PtRunExportResult result = { 0 };
  PtSplit split = PT_SPLIT_TEST;
  const char *run_dir;
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
  options.npy = out;
  options.projector = projector;
  options.csv = csv;
  options.images = images_path;
  options.split = split;
  options.count = (guint) count;
  options.random_init = random_init;
  if (!pt_run_export (run_dir, &options, &result, NULL, NULL, NULL, &error))
    return pt_cli_report_error ("embed", error);

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
      json_builder_add_int_value (b, (gint64) result.step);
      json_builder_set_member_name (b, "n");
      json_builder_add_int_value (b, result.n);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, result.dim);
      if (out != NULL)
        {
          json_builder_set_member_name (b, "out");
          json_builder_add_string_value (b, out);
          json_builder_set_member_name (b, "labels");
          json_builder_add_string_value (b, result.labels_path);
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
            result.n, result.dim, (unsigned long long) result.step);
  pt_run_export_result_clear (&result);
  return PT_EXIT_OK;
}
