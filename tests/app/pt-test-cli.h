/* pt-test-cli.h: run pretext-cli from a test and look at what it did. */
#pragma once

#include <string.h>
#include <sys/wait.h>
#include <glib.h>

typedef struct {
  char *out;
  char *err;
  int   status;   /* exit status, or -1 when killed by a signal */
} PtCliResult;

static inline void
pt_cli_result_clear (PtCliResult *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
}

/* Runs $PRETEXT_CLI with the NULL-terminated arguments. */
static inline PtCliResult
pt_test_run_cli (const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;
  const char *cli = g_getenv ("PRETEXT_CLI");
  PtCliResult r = { NULL, NULL, -1 };
  int wait_status = 0;
  va_list args;

  g_assert_nonnull (cli);
  g_ptr_array_add (argv, (gpointer) cli);
  va_start (args, first);
  for (const char *a = first; a != NULL; a = va_arg (args, const char *))
    g_ptr_array_add (argv, (gpointer) a);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  g_spawn_sync (NULL, (char **) argv->pdata, NULL, G_SPAWN_DEFAULT, NULL, NULL,
                &r.out, &r.err, &wait_status, &error);
  g_assert_no_error (error);
  if (WIFEXITED (wait_status))
    r.status = WEXITSTATUS (wait_status);
  return r;
}

/* Number of lines in s (a last line without '\n' counts). */
static inline guint
pt_test_count_lines (const char *s)
{
  guint n = 0;

  for (const char *p = s; *p; p++)
    if (*p == '\n' || p[1] == '\0')
      n++;
  return n;
}
