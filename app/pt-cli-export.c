/* pt-cli-export.c: `pretext-cli export DIR --safetensors FILE`.
 *
 * The run's encoder (last good checkpoint; cnn or vit, see pt-encoder.h) as
 * safetensors: F32 tensors named exactly as inside Pretext
 * ("encoder.blocks.0.conv.weight", "encoder.patch_embed.weight", ...), which
 * are the state_dict names of the PyTorch modules in README.md, plus each
 * cnn batchnorm's num_batches_tracked (I64), and the run's information as
 * strings in __metadata__ (method, dataset and its hash, step, input shape,
 * the normalization to apply to pixels in [0, 1], app version).
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-run-export.h"

int
pt_cli_export_main (int    argc,
                    char **argv)
{
  g_autofree char *path = NULL;
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  PtRunExportOptions options = { 0 };
  PtRunExportResult result = { 0 };
  const char *run_dir;
  const GOptionEntry entries[] = {
    { "safetensors", 0, 0, G_OPTION_ARG_FILENAME, &path, N_("Write the encoder’s weights to FILE"), N_("FILE") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("DIR — write a run’s encoder weights as safetensors"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "export"))
    return PT_EXIT_USAGE;
  if (argc < 2)
    return pt_cli_usage_error ("export", _("the run directory is required"));
  if (argc > 2)
    return pt_cli_usage_error ("export", _("unexpected argument “%s”"), argv[2]);
  if (path == NULL)
    return pt_cli_usage_error ("export", _("--safetensors is required"));
  run_dir = argv[1];
  if (!g_file_test (run_dir, G_FILE_TEST_IS_DIR))
    {
      g_printerr (_("pretext-cli export: the run directory “%s” does not exist.\n"), run_dir);
      return PT_EXIT_INPUT;
    }

  pt_cli_register_methods ();
  options.safetensors = path;
  if (!pt_run_export (run_dir, &options, &result, NULL, NULL, NULL, &error))
    return pt_cli_report_error ("export", error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, run_dir);
      json_builder_set_member_name (b, "safetensors");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "step");
      json_builder_add_int_value (b, (gint64) result.step);
      json_builder_set_member_name (b, "encoder");
      json_builder_add_string_value (b, result.encoder);
      json_builder_set_member_name (b, "tensors");
      json_builder_add_int_value (b, result.n_tensors);
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
    }
  else
    printf (_("Wrote the encoder of step %llu to %s.\n"), (unsigned long long) result.step,
            path);
  pt_run_export_result_clear (&result);
  return PT_EXIT_OK;
}
