/* pt-cli-info.c: `pretext-cli info D`, what a dataset holds.
 *
 * Count, image size and channels, classes with counts, quarantined files
 * with reasons, a sanity report (per-channel mean and std, duplicate and
 * blank images), the content hash a run records, and the time to load.
 */
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-dataset.h"

static void
on_progress_cb (double   fraction,
                gpointer user_data)
{
  pt_cli_progress_update (user_data, (guint64) (fraction * 100), 100, NULL);
}

typedef struct {
  double mean[3];
  double std[3];
  guint  duplicates;
  guint  constant;
} SanityReport;

static void
sanity_report (PtDataset    *dataset,
               SanityReport *report)
{
  pt_dataset_compute_channel_stats (dataset, report->mean, report->std);
  report->duplicates = pt_dataset_count_duplicates (dataset);
  report->constant = pt_dataset_count_constant (dataset);
}

static void
print_json (PtDataset          *dataset,
            const SanityReport *report,
            double              seconds)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  const guint *counts = pt_dataset_get_class_counts (dataset);
  int channels = pt_dataset_get_channels (dataset);
  g_autofree char *spec_shown = g_utf8_make_valid (pt_dataset_get_spec (dataset), -1);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "spec");
  json_builder_add_string_value (b, spec_shown);
  json_builder_set_member_name (b, "title");
  json_builder_add_string_value (b, pt_dataset_get_title (dataset));
  json_builder_set_member_name (b, "split");
  json_builder_add_string_value (b, pt_dataset_get_split (dataset) == PT_SPLIT_TRAIN ? "train" : "test");
  json_builder_set_member_name (b, "count");
  json_builder_add_int_value (b, pt_dataset_get_n_images (dataset));
  json_builder_set_member_name (b, "channels");
  json_builder_add_int_value (b, pt_dataset_get_channels (dataset));
  json_builder_set_member_name (b, "height");
  json_builder_add_int_value (b, pt_dataset_get_height (dataset));
  json_builder_set_member_name (b, "width");
  json_builder_add_int_value (b, pt_dataset_get_width (dataset));
  json_builder_set_member_name (b, "n_classes");
  json_builder_add_int_value (b, pt_dataset_get_n_classes (dataset));
  json_builder_set_member_name (b, "classes");
  json_builder_begin_array (b);
  for (int k = 0; k < pt_dataset_get_n_classes (dataset); k++)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "name");
      json_builder_add_string_value (b, pt_dataset_get_class_name (dataset, k));
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, counts[k]);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "quarantined");
  json_builder_begin_array (b);
  for (guint i = 0; i < pt_dataset_get_n_quarantined (dataset); i++)
    {
      g_autofree char *shown = g_filename_display_name (pt_dataset_get_quarantined_path (dataset, i));

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "path");
      json_builder_add_string_value (b, shown);
      json_builder_set_member_name (b, "reason");
      json_builder_add_string_value (b, pt_dataset_get_quarantined_reason (dataset, i));
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_set_member_name (b, "pixel_mean");
  json_builder_begin_array (b);
  for (int c = 0; c < channels; c++)
    json_builder_add_double_value (b, report->mean[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "pixel_std");
  json_builder_begin_array (b);
  for (int c = 0; c < channels; c++)
    json_builder_add_double_value (b, report->std[c]);
  json_builder_end_array (b);
  json_builder_set_member_name (b, "duplicates");
  json_builder_add_int_value (b, report->duplicates);
  json_builder_set_member_name (b, "constant_images");
  json_builder_add_int_value (b, report->constant);
  json_builder_set_member_name (b, "content_hash");
  json_builder_add_string_value (b, pt_dataset_get_content_hash (dataset));
  json_builder_set_member_name (b, "load_seconds");
  json_builder_add_double_value (b, seconds);
  json_builder_end_object (b);
  pt_cli_print_json_builder (b);
}

static void
print_text (PtDataset          *dataset,
            const SanityReport *report,
            double              seconds)
{
  const guint *counts = pt_dataset_get_class_counts (dataset);
  int n_classes = pt_dataset_get_n_classes (dataset);
  guint n_quarantined = pt_dataset_get_n_quarantined (dataset);
  char secs[G_ASCII_DTOSTR_BUF_SIZE];

  printf ("%s\n", pt_dataset_get_title (dataset));
  printf (_("  images:      %u\n"), pt_dataset_get_n_images (dataset));
  printf (_("  image size:  %d x %d, %d channel(s)\n"),
          pt_dataset_get_width (dataset), pt_dataset_get_height (dataset),
          pt_dataset_get_channels (dataset));
  if (n_classes == 0)
    printf (_("  classes:     none (unlabeled)\n"));
  else
    {
      printf (_("  classes:     %d\n"), n_classes);
      for (int k = 0; k < n_classes; k++)
        printf ("    %-20s %u\n", pt_dataset_get_class_name (dataset, k), counts[k]);
    }
  for (int c = 0; c < pt_dataset_get_channels (dataset); c++)
    {
      char m[G_ASCII_DTOSTR_BUF_SIZE], sd[G_ASCII_DTOSTR_BUF_SIZE];

      g_ascii_formatd (m, sizeof m, "%.4f", report->mean[c]);
      g_ascii_formatd (sd, sizeof sd, "%.4f", report->std[c]);
      /* TRANSLATORS: channel number, mean, standard deviation of pixels in 0..1 */
      printf (_("  channel %d:   mean %s, std %s\n"), c, m, sd);
    }
  printf (_("  duplicates:  %u\n"), report->duplicates);
  printf (_("  blank:       %u\n"), report->constant);
  printf (_("  quarantined: %u\n"), n_quarantined);
  for (guint i = 0; i < n_quarantined; i++)
    printf ("    %s\n", pt_dataset_get_quarantined_reason (dataset, i));
  printf (_("  hash:        %s\n"), pt_dataset_get_content_hash (dataset));
  g_ascii_formatd (secs, sizeof secs, "%.3f", seconds);
  printf (_("  loaded in:   %s s\n"), secs);
}

int
pt_cli_info_main (int    argc,
                  char **argv)
{
  gboolean json = FALSE;
  g_autofree char *split_name = NULL;
  int resolution = -1;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) dataset = NULL;
  g_autoptr(PtCliProgress) progress = NULL;
  PtDatasetOptions options = { 0 };
  PtSplit split = PT_SPLIT_TRAIN;
  SanityReport report = { { 0 } };
  gint64 start;
  double seconds;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON object"), NULL },
    { "split", 0, 0, G_OPTION_ARG_STRING, &split_name, N_("Split to load: train or test"), N_("SPLIT") },
    { "resolution", 0, 0, G_OPTION_ARG_INT, &resolution, N_("Working size of image folders (default 32)"), N_("N") },
    { NULL }
  };

  context = g_option_context_new (_("D — describe a dataset"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  g_option_context_set_description (context,
    _("D is shapes, fashion-mnist, mnist, cifar10:PATH, a folder of images or an IDX file."));
  if (!pt_cli_parse (context, &argc, &argv, "info"))
    return PT_EXIT_USAGE;

  if (argc < 2)
    return pt_cli_usage_error ("info", _("missing the dataset D"));
  if (argc > 2)
    return pt_cli_usage_error ("info", _("unexpected argument “%s”"), argv[2]);
  if (split_name != NULL)
    {
      if (strcmp (split_name, "train") == 0)
        split = PT_SPLIT_TRAIN;
      else if (strcmp (split_name, "test") == 0)
        split = PT_SPLIT_TEST;
      else
        return pt_cli_usage_error ("info", _("--split must be train or test, not “%s”"), split_name);
    }
  if (resolution != -1 && (resolution < 4 || resolution > 1024))
    return pt_cli_usage_error ("info", _("--resolution must be between 4 and 1024"));
  options.resolution = MAX (resolution, 0);

  progress = pt_cli_progress_new (!json);
  start = g_get_monotonic_time ();
  dataset = pt_dataset_open (argv[1], split, &options, NULL, on_progress_cb, progress, &error);
  g_clear_pointer (&progress, pt_cli_progress_free);
  if (dataset == NULL)
    return pt_cli_report_error ("info", error);

  seconds = (g_get_monotonic_time () - start) / 1e6;
  sanity_report (dataset, &report);
  if (json)
    print_json (dataset, &report, seconds);
  else
    print_text (dataset, &report, seconds);
  return PT_EXIT_OK;
}
