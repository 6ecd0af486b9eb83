/* pt-cli-train.c: `pretext-cli train`, a pretraining run on this thread.
 *
 *   pretext-cli train --method M --dataset D [--epochs N | --steps N] ...
 *   pretext-cli train --resume DIR [--steps N]
 *
 * The run is put together by pt_train_spec_build (the same code as the
 * window's Pretrain page) and driven by pt_trainer_run_blocking. SIGINT and
 * SIGTERM stop it gracefully with a checkpoint (a second one restores the
 * default action). --json prints every step as in metrics.jsonl, then the
 * result.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-threads.h"
#include "pt-train-spec.h"

static volatile sig_atomic_t stop_flag = 0;

typedef struct {
  guint64        stop_at;      /* --stop-at: stop gracefully after this step */
  PtCliProgress *progress;
  gboolean       json;
  guint64        first_step;   /* steps done before this process */
  guint64        total;
  double         last_loss;
} TrainState;

static void
on_step_cb (PtTrainer           *trainer,
            const PtStepMetrics *metrics,
            gpointer             user_data)
{
  TrainState *st = user_data;
  g_autofree char *extra = NULL;

  st->last_loss = metrics->loss;
  if (st->stop_at > 0 && metrics->step >= st->stop_at)
    stop_flag = 1;
  if (st->json)
    {
      g_autofree char *line = pt_step_metrics_to_json (metrics);

      fputs (line, stdout);
      fputc ('\n', stdout);
      fflush (stdout);
      return;
    }
  extra = g_strdup_printf (_("step %llu  loss %.4f  %.0f img/s"),
                           (unsigned long long) metrics->step, metrics->loss,
                           metrics->images_per_s);
  pt_cli_progress_update (st->progress, metrics->step - st->first_step,
                          st->total > st->first_step ? st->total - st->first_step : 0, extra);
}

int
pt_cli_train_main (int    argc,
                   char **argv)
{
  g_autofree char *method = NULL;
  g_autofree char *dataset = NULL;
  g_autofree char *encoder = NULL;
  g_autofree char *augment = NULL;
  g_autofree char *out = NULL;
  g_autofree char *resume = NULL;
  g_autofree char *init = NULL;
  g_auto(GStrv) sets = NULL;
  double epochs = 0;
  gint64 steps = 0, seed = 0, stop_at = 0;
  int batch = 0, width = 0, threads = 0, checkpoint_every = 0;
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtCliProgress) progress = NULL;
  g_autofree char *warning = NULL;
  TrainState st = { 0 };
  gboolean ok;
  const GOptionEntry entries[] = {
    { "method", 0, 0, G_OPTION_ARG_STRING, &method, N_("Method: simclr, moco, swav, deepcluster, rotnet, mae"), N_("M") },
    { "dataset", 0, 0, G_OPTION_ARG_STRING, &dataset, N_("Dataset: shapes, fashion-mnist, mnist, cifar10:PATH, a folder or an IDX file"), N_("D") },
    { "epochs", 0, 0, G_OPTION_ARG_DOUBLE, &epochs, N_("Epochs to train (default 10; fractions allowed)"), N_("N") },
    { "steps", 0, 0, G_OPTION_ARG_INT64, &steps, N_("Steps to train (instead of --epochs); with --resume, the new total"), N_("N") },
    { "batch", 0, 0, G_OPTION_ARG_INT, &batch, N_("Images per batch (default 128)"), N_("B") },
    { "encoder", 0, 0, G_OPTION_ARG_STRING, &encoder, N_("Encoder: cnn or vit (default: the method’s)"), N_("E") },
    { "width", 0, 0, G_OPTION_ARG_INT, &width, N_("Encoder width (default 16)"), N_("W") },
    { "augment", 0, 0, G_OPTION_ARG_STRING, &augment, N_("Augmentation preset or .ini recipe (default: the method’s)"), N_("PRESET|FILE") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed (default 0)"), N_("S") },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, N_("Compute threads (default 1)"), N_("T") },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &out, N_("Run directory (default under $XDG_DATA_HOME/pretext/runs)"), N_("DIR") },
    { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &sets, N_("Set a method parameter (repeatable)"), N_("KEY=VALUE") },
    { "checkpoint-every", 0, 0, G_OPTION_ARG_INT, &checkpoint_every, N_("Steps between checkpoints (default 500)"), N_("N") },
    { "stop-at", 0, 0, G_OPTION_ARG_INT64, &stop_at, N_("Stop gracefully with a checkpoint after step N, as Ctrl+C would"), N_("N") },
    { "init", 0, 0, G_OPTION_ARG_FILENAME, &init, N_("Start the encoder from weights exported by “pretext-cli export” (or PyTorch, same names)"), N_("FILE.safetensors") },
    { "resume", 0, 0, G_OPTION_ARG_FILENAME, &resume, N_("Continue the run in DIR from its last checkpoint"), N_("DIR") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print every step and the result as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("— pretrain an encoder with a self-supervised method"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "train"))
    return PT_EXIT_USAGE;

  if (argc > 1)
    return pt_cli_usage_error ("train", _("unexpected argument “%s”"), argv[1]);
  if (resume != NULL)
    {
      if (method != NULL || dataset != NULL || encoder != NULL || augment != NULL ||
          out != NULL || sets != NULL || epochs != 0 || batch != 0 || width != 0 ||
          seed != 0 || checkpoint_every != 0 || init != NULL)
        return pt_cli_usage_error ("train", _("--resume takes only --steps, --stop-at, --threads and --json"));
    }
  else
    {
      if (method == NULL)
        return pt_cli_usage_error ("train", _("--method is required"));
      if (dataset == NULL)
        return pt_cli_usage_error ("train", _("--dataset is required"));
      if (epochs != 0 && steps != 0)
        return pt_cli_usage_error ("train", _("give --epochs or --steps, not both"));
      if (epochs < 0 || !isfinite (epochs))
        return pt_cli_usage_error ("train", _("--epochs must be positive"));
      if (batch < 0 || batch > 65536)
        return pt_cli_usage_error ("train", _("--batch must be between 1 and 65536"));
      if (width < 0 || width > 1024)
        return pt_cli_usage_error ("train", _("--width must be between 1 and 1024"));
      if (seed < 0)
        return pt_cli_usage_error ("train", _("--seed must not be negative"));
      if (checkpoint_every < 0)
        return pt_cli_usage_error ("train", _("--checkpoint-every must not be negative"));
      if (encoder != NULL && strcmp (encoder, "cnn") != 0 && strcmp (encoder, "vit") != 0)
        return pt_cli_usage_error ("train", _("--encoder must be cnn or vit"));
    }
  if (steps < 0)
    return pt_cli_usage_error ("train", _("--steps must be positive"));
  if (stop_at < 0)
    return pt_cli_usage_error ("train", _("--stop-at must be positive"));
  if (threads < 0 || threads > 256)
    return pt_cli_usage_error ("train", _("--threads must be between 1 and 256"));
  if (threads > 0)
    pt_threads_set (threads);

  pt_cli_register_methods ();

  if (resume != NULL)
    {
      if (!g_file_test (resume, G_FILE_TEST_IS_DIR))
        {
          g_printerr (_("pretext-cli train: the run directory “%s” does not exist.\n"), resume);
          return PT_EXIT_INPUT;
        }
      trainer = pt_train_resume (resume, (guint64) steps, &warning, &error);
      if (trainer == NULL)
        return pt_cli_report_error ("train", error);
      if (warning != NULL)
        g_printerr ("pretext-cli train: %s\n", warning);
    }
  else
    {
      g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();

      spec->method = g_strdup (method);
      spec->dataset = g_strdup (dataset);
      spec->encoder = g_strdup (encoder);
      if (width > 0)
        spec->width = width;
      if (batch > 0)
        spec->batch_size = batch;
      spec->steps = (guint64) steps;
      if (epochs > 0)
        spec->epochs = epochs;
      spec->augment = g_strdup (augment);
      spec->seed = (guint64) seed;
      spec->out_dir = g_strdup (out);
      spec->init = g_strdup (init);
      spec->checkpoint_every = (guint) checkpoint_every;
      for (guint i = 0; sets != NULL && sets[i] != NULL; i++)
        if (!pt_train_spec_set_param (spec, sets[i], &error))
          return pt_cli_usage_error ("train", "%s", error->message);
      trainer = pt_train_spec_build (spec, NULL, NULL, &error);
      if (trainer == NULL)
        return pt_cli_report_error ("train", error);
    }

  {
    GKeyFile *config = pt_run_get_config (pt_trainer_get_run (trainer));
    guint64 planned = g_key_file_get_uint64 (config, "run", "steps", NULL);

    st.total = resume != NULL && steps > 0 ? (guint64) steps : planned;
  }
  st.first_step = pt_trainer_get_step (trainer);
  st.json = json;
  st.stop_at = (guint64) stop_at;
  st.last_loss = NAN;
  progress = pt_cli_progress_new (!json);
  st.progress = progress;
  if (!json)
    g_printerr (_("Training in %s\n"), pt_run_get_dir (pt_trainer_get_run (trainer)));
  if (st.first_step >= st.total)
    {
      g_printerr (_("pretext-cli train: the run in “%s” has already done %llu of %llu steps (give a larger --steps).\n"),
                  pt_run_get_dir (pt_trainer_get_run (trainer)),
                  (unsigned long long) st.first_step, (unsigned long long) st.total);
      return PT_EXIT_USAGE;
    }

  pt_trainer_set_step_func (trainer, on_step_cb, &st);
  pt_trainer_install_stop_signals (&stop_flag);
  ok = pt_trainer_run_blocking (trainer, &stop_flag, &error);
  g_clear_pointer (&progress, pt_cli_progress_free);

  if (!ok)
    {
      if (g_error_matches (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_NON_FINITE))
        {
          g_printerr ("pretext-cli train: %s\n", error->message);
          g_printerr (_("The run was rewound to its checkpoint at step %llu; continue with “pretext-cli train --resume %s”.\n"),
                      (unsigned long long) pt_trainer_get_checkpoint_step (trainer),
                      pt_run_get_dir (pt_trainer_get_run (trainer)));
          return PT_EXIT_INPUT;
        }
      return pt_cli_report_error ("train", error);
    }

  if (json)
    {
      g_autoptr(JsonBuilder) b = json_builder_new ();

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "result");
      json_builder_add_string_value (b, stop_flag ? "stopped" : "finished");
      json_builder_set_member_name (b, "run");
      json_builder_add_string_value (b, pt_run_get_dir (pt_trainer_get_run (trainer)));
      json_builder_set_member_name (b, "method");
      json_builder_add_string_value (b, pt_run_get_method (pt_trainer_get_run (trainer)));
      json_builder_set_member_name (b, "steps");
      json_builder_add_int_value (b, (gint64) pt_trainer_get_step (trainer));
      json_builder_set_member_name (b, "total_steps");
      json_builder_add_int_value (b, (gint64) st.total);
      json_builder_set_member_name (b, "checkpoint_step");
      json_builder_add_int_value (b, (gint64) pt_trainer_get_checkpoint_step (trainer));
      json_builder_set_member_name (b, "loss");
      if (isfinite (st.last_loss))
        json_builder_add_double_value (b, st.last_loss);
      else
        json_builder_add_null_value (b);
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
    }
  else
    {
      const char *dir = pt_run_get_dir (pt_trainer_get_run (trainer));
      unsigned long long done = pt_trainer_get_step (trainer);

      if (stop_flag)
        printf (_("Stopped at step %llu with a checkpoint in %s (last loss %.4f).\n"),
                done, dir, st.last_loss);
      else
        printf (_("Finished %llu steps in %s (last loss %.4f).\n"), done, dir, st.last_loss);
    }
  return PT_EXIT_OK;
}
