/* pt-cli-methods.c: the methods pretext-cli can train, registered once. */
#include "pt-cli.h"
#include "pt-methods.h"

void
pt_cli_register_methods (void)
{
  pt_methods_register_builtin ();
}
