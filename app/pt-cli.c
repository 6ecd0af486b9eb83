/* pt-cli.c: shared plumbing of pretext-cli subcommands. */
#include <stdio.h>
#include <unistd.h>
#include <glib/gi18n.h>

#include "pt-cli.h"

gboolean
pt_cli_parse (GOptionContext *context,
              int            *argc,
              char         ***argv,
              const char     *command)
{
  g_autoptr(GError) error = NULL;

  if (!g_option_context_parse (context, argc, argv, &error))
    {
      pt_cli_usage_error (command, "%s", error->message);
      return FALSE;
    }
  return TRUE;
}

int
pt_cli_usage_error (const char *command,
                    const char *format,
                    ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  /* TRANSLATORS: pretext-cli COMMAND: MESSAGE (see --help) */
  g_printerr (_("pretext-cli %s: %s (see “pretext-cli %s --help”)\n"),
              command, message, command);
  return PT_EXIT_USAGE;
}

int
pt_cli_report_error (const char   *command,
                     const GError *error)
{
  g_printerr ("pretext-cli %s: %s\n", command, error->message);
  if (error->domain == G_OPTION_ERROR)
    return PT_EXIT_USAGE;
  return PT_EXIT_INPUT;
}

void
pt_cli_print_json (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autofree char *text = NULL;

  json_generator_set_root (generator, node);
  text = json_generator_to_data (generator, NULL);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

void
pt_cli_print_json_builder (JsonBuilder *builder)
{
  g_autoptr(JsonNode) root = json_builder_get_root (builder);

  pt_cli_print_json (root);
}

struct _PtCliProgress
{
  gboolean  enabled;
  gint64    start_us;
  gint64    last_draw_us;
  int       last_len;
};

PtCliProgress *
pt_cli_progress_new (gboolean enabled)
{
  PtCliProgress *progress = g_new0 (PtCliProgress, 1);

  progress->enabled = enabled && isatty (STDERR_FILENO);
  progress->start_us = g_get_monotonic_time ();
  return progress;
}

void
pt_cli_progress_update (PtCliProgress *progress,
                        guint64        done,
                        guint64        total,
                        const char    *extra)
{
  const int width = 28;
  gint64 now = g_get_monotonic_time ();
  g_autoptr(GString) line = NULL;
  double fraction;
  int filled;

  if (progress == NULL || !progress->enabled)
    return;
  /* Redraw at most 10 times a second, and always at the end. */
  if (done < total && now - progress->last_draw_us < 100000)
    return;
  progress->last_draw_us = now;

  fraction = total > 0 ? (double) done / total : 0.0;
  fraction = CLAMP (fraction, 0.0, 1.0);
  filled = (int) (fraction * width + 0.5);

  line = g_string_new ("\r[");
  for (int i = 0; i < width; i++)
    g_string_append (line, i < filled ? "#" : "-");
  g_string_append_printf (line, "] %" G_GUINT64_FORMAT "/%" G_GUINT64_FORMAT, done, total);

  if (done > 0 && done < total)
    {
      double elapsed = (now - progress->start_us) / 1e6;
      double eta = elapsed / done * (total - done);

      g_string_append_printf (line, "  ETA %d:%02d", (int) eta / 60, (int) eta % 60);
    }
  if (extra != NULL)
    g_string_append_printf (line, "  %s", extra);

  /* Blank out what a longer previous line left behind. */
  for (int i = (int) line->len; i < progress->last_len; i++)
    g_string_append_c (line, ' ');
  progress->last_len = (int) line->len;

  fputs (line->str, stderr);
  fflush (stderr);
}

void
pt_cli_progress_free (PtCliProgress *progress)
{
  if (progress == NULL)
    return;
  if (progress->enabled && progress->last_len > 0)
    fputc ('\n', stderr);
  g_free (progress);
}
