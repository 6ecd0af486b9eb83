/* pt-cli.h: shared plumbing of pretext-cli subcommands.
 *
 * Each subcommand lives in app/pt-cli-<name>.c with one entry point
 * `int pt_cli_<name>_main (int argc, char **argv)` (argv[0] is the
 * subcommand name) and one row in the table in pretext-cli.c. Exit status:
 * 0 success, 1 bad input (files, data), 2 bad usage.
 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define PT_EXIT_OK     0
#define PT_EXIT_INPUT  1
#define PT_EXIT_USAGE  2

/* Parses options with GOptionContext; on failure prints one line and
 * returns FALSE (exit with PT_EXIT_USAGE). Handles --help itself (exit 0). */
gboolean  pt_cli_parse            (GOptionContext *context,
                                   int            *argc,
                                   char         ***argv,
                                   const char     *command);

/* "pretext-cli CMD: message" on stderr; returns PT_EXIT_USAGE. */
int       pt_cli_usage_error      (const char     *command,
                                   const char     *format,
                                   ...) G_GNUC_PRINTF (2, 3);

/* The error's message (one sentence naming the file and the problem) on
 * stderr; returns PT_EXIT_INPUT, or PT_EXIT_USAGE for G_OPTION_ERROR. */
int       pt_cli_report_error     (const char     *command,
                                   const GError   *error);

/* Prints one JSON object on one line to stdout. */
void      pt_cli_print_json       (JsonNode       *node);
void      pt_cli_print_json_builder (JsonBuilder  *builder);

/* A one-line progress bar on stderr when it is a terminal (and not --json);
 * silent otherwise. */
typedef struct _PtCliProgress PtCliProgress;

PtCliProgress *pt_cli_progress_new    (gboolean        enabled);
/* extra: text after the bar (loss, images/s, ETA), may be NULL. */
void           pt_cli_progress_update (PtCliProgress  *progress,
                                       guint64         done,
                                       guint64         total,
                                       const char     *extra);
void           pt_cli_progress_free   (PtCliProgress  *progress);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtCliProgress, pt_cli_progress_free)

/* Subcommands (app/pt-cli-<name>.c). */
int       pt_cli_augment_main     (int             argc,
                                   char          **argv);
int       pt_cli_bench_main       (int             argc,
                                   char          **argv);
/* bench for the SSL methods of core/pt-ssl.h (app/pt-cli-bench-methods.c);
 * arguments already validated. */
int       pt_cli_bench_ssl_method (const char     *method,
                                   int             channels,
                                   int             size,
                                   int             width,
                                   int             batch,
                                   int             steps,
                                   int             warmup,
                                   int             threads,
                                   gboolean        json);
int       pt_cli_info_main        (int             argc,
                                   char          **argv);
int       pt_cli_runs_main        (int             argc,
                                   char          **argv);
/* The MAE half of bench (pt-cli-bench-mae.c), after option parsing. */
int       pt_cli_bench_mae        (const char     *encoder,
                                   int             batch,
                                   int             steps,
                                   int             warmup,
                                   int             threads,
                                   int             size,
                                   int             channels,
                                   gboolean        json);
int       pt_cli_train_main       (int             argc,
                                   char          **argv);
int       pt_cli_probe_main       (int             argc,
                                   char          **argv);
int       pt_cli_embed_main       (int             argc,
                                   char          **argv);
int       pt_cli_export_main      (int             argc,
                                   char          **argv);
int       pt_cli_inspect_main     (int             argc,
                                   char          **argv);

/* Registers the built-in methods (once; pt-cli-methods.c). */
void      pt_cli_register_methods (void);

G_END_DECLS
