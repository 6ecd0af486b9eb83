/* pt-cli-runs.c: `pretext-cli runs`, the past runs and how they ended.
 *
 * Lists every run folder under $XDG_DATA_HOME/pretext/runs (or --root DIR),
 * oldest first: date, method, dataset, steps, last loss, and the probe
 * accuracy when eval/NAME.json holds one. With --json, one object per run
 * and a last line {"root": ..., "count": N}.
 */
#include <math.h>
#include <stdio.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-run.h"

static void
add_number_or_null (JsonBuilder *b,
                    const char  *name,
                    double       value)
{
  json_builder_set_member_name (b, name);
  if (isfinite (value))
    json_builder_add_double_value (b, value);
  else
    json_builder_add_null_value (b);
}

static void
print_run_json (const PtRunInfo *info)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "name");
  json_builder_add_string_value (b, info->name);
  json_builder_set_member_name (b, "dir");
  json_builder_add_string_value (b, info->dir);
  json_builder_set_member_name (b, "created");
  json_builder_add_string_value (b, info->created);
  json_builder_set_member_name (b, "method");
  json_builder_add_string_value (b, info->method);
  json_builder_set_member_name (b, "dataset");
  json_builder_add_string_value (b, info->dataset);
  json_builder_set_member_name (b, "steps");
  json_builder_add_int_value (b, (gint64) info->steps);
  add_number_or_null (b, "last_loss", info->last_loss);
  add_number_or_null (b, "probe", info->probe);
  json_builder_set_member_name (b, "probe_file");
  if (info->probe_file != NULL)
    json_builder_add_string_value (b, info->probe_file);
  else
    json_builder_add_null_value (b);
  json_builder_end_object (b);
  pt_cli_print_json_builder (b);
}

static void
print_run_text (const PtRunInfo *info)
{
  char loss[G_ASCII_DTOSTR_BUF_SIZE] = "-";
  char probe[G_ASCII_DTOSTR_BUF_SIZE] = "-";
  g_autofree char *date = g_strndup (info->created, 16);   /* YYYY-mm-ddTHH:MM */

  if (isfinite (info->last_loss))
    g_ascii_formatd (loss, sizeof loss, "%.4f", info->last_loss);
  if (isfinite (info->probe))
    g_ascii_formatd (probe, sizeof probe, "%.3f", info->probe);
  g_strdelimit (date, "T", ' ');
  printf ("%-16s  %-10s  %-16s  %8" G_GUINT64_FORMAT "  %10s  %6s  %s\n",
          date, info->method, info->dataset, info->steps, loss, probe, info->name);
}

int
pt_cli_runs_main (int    argc,
                  char **argv)
{
  gboolean json = FALSE;
  g_autofree char *root = NULL;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) runs = NULL;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON, one object per line"), NULL },
    { "root", 0, 0, G_OPTION_ARG_FILENAME, &root,
      N_("Folder holding the runs (default $XDG_DATA_HOME/pretext/runs)"), N_("DIR") },
    { NULL }
  };

  context = g_option_context_new (_("— list past runs"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "runs"))
    return PT_EXIT_USAGE;
  if (argc > 1)
    return pt_cli_usage_error ("runs", _("unexpected argument “%s”"), argv[1]);

  if (root == NULL)
    root = pt_run_default_root ();
  runs = pt_run_list (root, &error);
  if (runs == NULL)
    return pt_cli_report_error ("runs", error);

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      for (guint i = 0; i < runs->len; i++)
        print_run_json (runs->pdata[i]);
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "root");
      json_builder_add_string_value (b, root);
      json_builder_set_member_name (b, "count");
      json_builder_add_int_value (b, runs->len);
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
      return PT_EXIT_OK;
    }

  if (runs->len == 0)
    {
      printf (_("No runs in %s.\n"), root);
      return PT_EXIT_OK;
    }
  /* TRANSLATORS: column headers of `pretext-cli runs`; keep the widths. */
  printf ("%-16s  %-10s  %-16s  %8s  %10s  %6s  %s\n", _("DATE"), _("METHOD"), _("DATASET"),
          _("STEPS"), _("LAST LOSS"), _("PROBE"), _("FOLDER"));
  for (guint i = 0; i < runs->len; i++)
    print_run_text (runs->pdata[i]);
  return PT_EXIT_OK;
}
