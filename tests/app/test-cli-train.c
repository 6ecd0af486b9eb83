/* pretext-cli train end to end with SimCLR on shapes (batch 32, width 8,
 * 20 steps): the run directory, exact resume after a graceful stop and
 * after kill -9, exit statuses and one-line errors. */
#include <math.h>
#include <signal.h>
#include <sys/wait.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-test-cli.h"
#include "pt-test-util.h"

static char *tmp;

/* Losses of metrics.jsonl, by line; every line must parse. */
static GArray *
read_losses (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GArray *losses = g_array_new (FALSE, FALSE, sizeof (double));

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;
      double loss;

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpint (json_object_get_int_member (o, "step"), ==, i + 1);
      loss = json_object_get_double_member (o, "loss");
      g_assert_true (isfinite (loss));
      g_array_append_val (losses, loss);
    }
  return losses;
}

static void
assert_same_losses (GArray *a,
                    GArray *b)
{
  g_assert_cmpuint (a->len, ==, b->len);
  for (guint i = 0; i < a->len; i++)
    g_assert_cmpmem (&g_array_index (a, double, i), sizeof (double),
                     &g_array_index (b, double, i), sizeof (double));
}

#define TRAIN_ARGS "train", "--method", "simclr", "--dataset", "shapes", "--batch", "32", \
                   "--width", "8", "--steps", "20", "--threads", "1"

static GArray *
reference (void)
{
  static GArray *losses;

  if (losses == NULL)
    {
      g_autofree char *dir = g_build_filename (tmp, "reference", NULL);
      PtCliResult r = pt_test_run_cli (TRAIN_ARGS, "--out", dir, "--json", NULL);
      g_auto(GStrv) lines = NULL;
      guint n;
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *o;
      const char *files[] = { "config.ini", "metrics.jsonl", "checkpoints/last",
                              "checkpoints/previous" };

      g_assert_cmpint (r.status, ==, 0);
      /* 20 step lines, then the result. */
      lines = g_strsplit (g_strchomp (r.out), "\n", -1);
      n = g_strv_length (lines);
      g_assert_cmpuint (n, ==, 21);
      g_assert_true (json_parser_load_from_data (parser, lines[n - 1], -1, NULL));
      o = json_node_get_object (json_parser_get_root (parser));
      g_assert_cmpstr (json_object_get_string_member (o, "result"), ==, "finished");
      g_assert_cmpint (json_object_get_int_member (o, "steps"), ==, 20);
      g_assert_cmpint (json_object_get_int_member (o, "checkpoint_step"), ==, 20);
      g_assert_cmpstr (json_object_get_string_member (o, "method"), ==, "simclr");
      for (guint i = 0; i < G_N_ELEMENTS (files); i++)
        {
          g_autofree char *p = g_build_filename (dir, files[i], NULL);

          g_assert_true (g_file_test (p, G_FILE_TEST_IS_REGULAR));
        }
      losses = read_losses (dir);
      g_assert_cmpuint (losses->len, ==, 20);
      pt_cli_result_clear (&r);
    }
  return losses;
}

static void
test_train (void)
{
  g_autofree char *dir = g_build_filename (tmp, "reference", NULL);
  g_autofree char *ini = g_build_filename (dir, "config.ini", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *content = NULL;

  reference ();
  g_assert_true (g_key_file_load_from_file (kf, ini, G_KEY_FILE_NONE, NULL));
  g_assert_cmpuint (g_key_file_get_uint64 (kf, "run", "steps", NULL), ==, 20);
  g_assert_cmpint (g_key_file_get_integer (kf, "run", "batch_size", NULL), ==, 32);
  g_assert_cmpint (g_key_file_get_integer (kf, "run", "encoder_width", NULL), ==, 8);
  g_assert_cmpint (g_key_file_get_integer (kf, "method", "total_steps", NULL), ==, 20);
  g_assert_true (g_key_file_has_key (kf, "method", "temperature", NULL));
  content = g_key_file_get_string (kf, "augment", "content", NULL);
  g_assert_nonnull (strstr (content, "[recipe]"));
}

static void
test_resume_equal (void)
{
  g_autofree char *dir = g_build_filename (tmp, "stopped", NULL);
  g_autoptr(GArray) first = NULL;
  g_autoptr(GArray) all = NULL;
  PtCliResult r;

  r = pt_test_run_cli (TRAIN_ARGS, "--out", dir, "--checkpoint-every", "5", "--stop-at", "10",
                       NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Stopped at step 10"));
  pt_cli_result_clear (&r);
  first = read_losses (dir);
  g_assert_cmpuint (first->len, ==, 10);

  r = pt_test_run_cli ("train", "--resume", dir, "--threads", "1", "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "\"result\":\"finished\""));
  pt_cli_result_clear (&r);
  all = read_losses (dir);
  assert_same_losses (reference (), all);

  /* Nothing left to do: a usage error that says so. */
  r = pt_test_run_cli ("train", "--resume", dir, NULL);
  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "already done 20 of 20"));
  pt_cli_result_clear (&r);
}

static guint
count_metrics (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *contents = NULL;
  guint n = 0;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return 0;
  for (const char *p = contents; *p; p++)
    n += *p == '\n';
  return n;
}

static void
test_kill_resume (void)
{
  g_autofree char *dir = g_build_filename (tmp, "killed", NULL);
  const char *cli = g_getenv ("PRETEXT_CLI");
  const char *argv[] = { cli, TRAIN_ARGS, "--out", dir, "--checkpoint-every", "5", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) all = NULL;
  GPid pid;
  int status = 0;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  PtCliResult r;

  g_assert_true (g_spawn_async (NULL, (char **) argv, NULL,
                                G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL |
                                G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &pid, &error));
  g_assert_no_error (error);
  /* Past the checkpoint at 5, before the one at 10. */
  while (count_metrics (dir) < 7 && g_get_monotonic_time () < deadline)
    g_usleep (2000);
  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFSIGNALED (status));

  r = pt_test_run_cli ("train", "--resume", dir, "--threads", "1", NULL);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);
  all = read_losses (dir);
  assert_same_losses (reference (), all);
}

static void
test_sigterm (void)
{
  g_autofree char *dir = g_build_filename (tmp, "terminated", NULL);
  const char *cli = g_getenv ("PRETEXT_CLI");
  const char *argv[] = { cli, TRAIN_ARGS, "--out", dir, "--json", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) losses = NULL;
  g_autofree char *out = NULL;
  GPid pid;
  int out_fd = -1, status = 0;
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  g_autoptr(GIOChannel) channel = NULL;
  gsize len = 0;

  g_assert_true (g_spawn_async_with_pipes (NULL, (char **) argv, NULL,
                                           G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDERR_TO_DEV_NULL,
                                           NULL, NULL, &pid, NULL, &out_fd, NULL, &error));
  g_assert_no_error (error);
  while (count_metrics (dir) < 3 && g_get_monotonic_time () < deadline)
    g_usleep (2000);
  g_assert_cmpint (kill (pid, SIGTERM), ==, 0);
  channel = g_io_channel_unix_new (out_fd);
  g_io_channel_set_close_on_unref (channel, TRUE);
  g_assert_cmpint (g_io_channel_read_to_end (channel, &out, &len, &error), ==, G_IO_STATUS_NORMAL);
  g_assert_cmpint (waitpid (pid, &status, 0), ==, pid);
  g_spawn_close_pid (pid);
  g_assert_true (WIFEXITED (status));
  g_assert_cmpint (WEXITSTATUS (status), ==, 0);
  g_assert_nonnull (strstr (out, "\"result\":\"stopped\""));

  /* Stopped with a checkpoint at the last step logged. */
  losses = read_losses (dir);
  g_assert_cmpuint (losses->len, <, 20);
  {
    g_autofree char *needle = g_strdup_printf ("\"checkpoint_step\":%u", losses->len);

    g_assert_nonnull (strstr (out, needle));
  }
}

static void
test_non_finite (void)
{
  g_autofree char *dir = g_build_filename (tmp, "poisoned", NULL);
  PtCliResult r;

  g_setenv ("PRETEXT_POISON_STEP", "4", TRUE);
  r = pt_test_run_cli (TRAIN_ARGS, "--out", dir, "--checkpoint-every", "2", NULL);
  g_unsetenv ("PRETEXT_POISON_STEP");
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "--resume"));
  pt_cli_result_clear (&r);

  /* The run continues from its last good checkpoint. */
  r = pt_test_run_cli ("train", "--resume", dir, NULL);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);
}

static void
test_usage (void)
{
  const char *cases[][10] = {
    { "train", NULL },
    { "train", "--method", "simclr", NULL },
    { "train", "--dataset", "shapes", NULL },
    { "train", "--method", "simclr", "--dataset", "shapes", "--steps", "5", "--epochs", "1" },
    { "train", "--resume", "x", "--method", "simclr", NULL },
    { "train", "--method", "simclr", "--dataset", "shapes", "--encoder", "rnn", NULL },
    { "train", "--method", "simclr", "--dataset", "shapes", "--set", "temperature", NULL },
    { "train", "--bogus", NULL },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      const char **c = cases[i];
      PtCliResult r = pt_test_run_cli (c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8],
                                       c[9], NULL);

      g_assert_cmpint (r.status, ==, 2);
      g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
      g_assert_true (g_str_has_prefix (r.err, "pretext-cli train"));
      pt_cli_result_clear (&r);
    }
}

static void
test_bad_input (void)
{
  g_autofree char *missing = g_build_filename (tmp, "no-such-run", NULL);
  g_autofree char *bad = g_build_filename (tmp, "no-such-data", NULL);
  g_autofree char *out = g_build_filename (tmp, "bad-out", NULL);
  PtCliResult r;

  r = pt_test_run_cli ("train", "--resume", missing, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, missing));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("train", "--method", "simclr", "--dataset", bad, "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  g_assert_nonnull (strstr (r.err, bad));
  g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("train", "--method", "nope", "--dataset", "shapes", "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "simclr"));   /* lists what exists */
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("train", "--method", "simclr", "--dataset", "shapes", "--set",
                       "speed=3", "--out", out, NULL);
  g_assert_cmpint (r.status, ==, 1);
  g_assert_nonnull (strstr (r.err, "speed"));
  pt_cli_result_clear (&r);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  tmp = g_dir_make_tmp ("pt-cli-train-XXXXXX", NULL);
  g_test_add_func ("/app/cli-train/train", test_train);
  g_test_add_func ("/app/cli-train/resume-equal", test_resume_equal);
  g_test_add_func ("/app/cli-train/kill-resume", test_kill_resume);
  g_test_add_func ("/app/cli-train/sigterm", test_sigterm);
  g_test_add_func ("/app/cli-train/non-finite", test_non_finite);
  g_test_add_func ("/app/cli-train/usage", test_usage);
  g_test_add_func ("/app/cli-train/bad-input", test_bad_input);
  status = g_test_run ();
  pt_test_remove_tree (tmp);
  g_free (tmp);
  return status;
}
