/* pretext-cli as a user meets it: help, version, usage errors. */
#include <sys/wait.h>
#include "pt-test-cli.h"

static void
test_cli_help (void)
{
  PtCliResult r = pt_test_run_cli ("--help", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_nonnull (strstr (r.out, "Usage: pretext-cli COMMAND"));
  g_assert_nonnull (strstr (r.out, "Commands:"));
  pt_cli_result_clear (&r);
}

static void
test_cli_version (void)
{
  PtCliResult r = pt_test_run_cli ("--version", NULL);

  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (g_str_has_prefix (r.out, "pretext-cli "));
  g_assert_cmpuint (pt_test_count_lines (r.out), ==, 1);
  pt_cli_result_clear (&r);
}

static void
test_cli_no_command (void)
{
  PtCliResult r = pt_test_run_cli (NULL, NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_nonnull (strstr (r.err, "Usage:"));
  pt_cli_result_clear (&r);
}

static void
test_cli_unknown_command (void)
{
  PtCliResult r = pt_test_run_cli ("frobnicate", NULL);

  g_assert_cmpint (r.status, ==, 2);
  g_assert_cmpstr (r.out, ==, "");
  g_assert_nonnull (strstr (r.err, "frobnicate"));
  g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
  pt_cli_result_clear (&r);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/cli/help", test_cli_help);
  g_test_add_func ("/app/cli/version", test_cli_version);
  g_test_add_func ("/app/cli/no-command", test_cli_no_command);
  g_test_add_func ("/app/cli/unknown-command", test_cli_unknown_command);
  return g_test_run ();
}
