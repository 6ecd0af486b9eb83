/* pretext-cli: the headless face of Pretext.
 *
 * Anything the window can do, a script can do here. Subcommands follow the
 * CLI contract in ARCHITECTURE.md; one appears in this table only once its
 * capability has landed.
 */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-threads.h"

typedef struct {
  const char *name;
  const char *summary;   /* translatable, N_() */
  int       (*main) (int argc, char **argv);
} PtCliCommand;

static const PtCliCommand commands[] = {
  { "train", N_("Pretrain an encoder with a self-supervised method"), pt_cli_train_main },
  { "probe", N_("Linear probe and kNN of a run’s features, beside the baselines"), pt_cli_probe_main },
  { "embed", N_("Write a run’s features as .npy, a projector bundle or CSV"), pt_cli_embed_main },
  { "export", N_("Write a run’s encoder weights as safetensors"), pt_cli_export_main },
  { "inspect", N_("Look at embeddings made elsewhere: kNN, probe, neighbours, layouts"), pt_cli_inspect_main },
  { "bench", N_("Time the training step of a method"), pt_cli_bench_main },
  { "augment", N_("Render augmented views of a dataset as a grid PNG"), pt_cli_augment_main },
  { "info", N_("Describe a dataset: images, classes, bad files, content hash"), pt_cli_info_main },
  { "runs", N_("List past runs: date, method, dataset, steps, last loss, probe"), pt_cli_runs_main },
  { NULL, NULL, NULL },
};

static void
print_help (FILE *out)
{
  fprintf (out, "%s\n\n", _("Usage: pretext-cli COMMAND [OPTION…]"));
  fprintf (out, "%s\n\n", _("Self-supervised visual representation learning, headless."));
  fprintf (out, "%s\n", _("Commands:"));
  for (const PtCliCommand *c = commands; c->name != NULL; c++)
    fprintf (out, "  %-10s %s\n", c->name, _(c->summary));
  fprintf (out, "\n%s\n", _("Options:"));
  fprintf (out, "  %-10s %s\n", "--help", _("Show this help"));
  fprintf (out, "  %-10s %s\n", "--version", _("Print the version"));
  fprintf (out, "\n%s\n", _("Run “pretext-cli COMMAND --help” for a command’s options."));
}

int
main (int   argc,
      char *argv[])
{
  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, PT_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("pretext-cli");

  if (argc < 2)
    {
      print_help (stderr);
      return PT_EXIT_USAGE;
    }

  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0)
    {
      print_help (stdout);
      return PT_EXIT_OK;
    }

  if (strcmp (argv[1], "--version") == 0)
    {
      printf ("pretext-cli %s\n", PT_VERSION);
      return PT_EXIT_OK;
    }

  pt_threads_set (1);

  for (const PtCliCommand *c = commands; c->name != NULL; c++)
    if (strcmp (argv[1], c->name) == 0)
      return c->main (argc - 1, argv + 1);

  g_printerr (_("pretext-cli: unknown command “%s” (see “pretext-cli --help”)\n"), argv[1]);
  return PT_EXIT_USAGE;
}
