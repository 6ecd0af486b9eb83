/* pt-cli-methods.c: the methods pretext-cli can train, registered once. */
#include "pt-cli.h"
#include "pt-method.h"

void
pt_cli_register_methods (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      /* The built-in methods register here as they land. */
      g_once_init_leave (&done, 1);
    }
}
