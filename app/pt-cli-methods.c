/* pt-cli-methods.c: the methods pretext-cli can train, registered once. */
#include "pt-cli.h"
#include "pt-method-mae.h"
#include "pt-ssl.h"

void
pt_cli_register_methods (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      pt_ssl_methods_register ();   /* simclr, moco, swav, deepcluster, rotnet */
      pt_method_register (&pt_method_mae_class);
      g_once_init_leave (&done, 1);
    }
}
