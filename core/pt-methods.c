/* pt-methods.c: the built-in SSL methods. */
#include "pt-method.h"
#include "pt-method-mae.h"
#include "pt-methods.h"
#include "pt-ssl.h"

void
pt_methods_register_builtin (void)
{
  static gsize done = 0;

  if (g_once_init_enter (&done))
    {
      pt_ssl_methods_register ();   /* simclr, moco, swav, deepcluster, rotnet */
      pt_method_register (&pt_method_mae_class);
      g_once_init_leave (&done, 1);
    }
}
