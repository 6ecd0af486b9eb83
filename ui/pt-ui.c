/* pt-ui.c: shared helpers of the widget library. */
#include "pt-ui.h"
#include "pt-resources.h"

void
pt_ui_init (void)
{
  static gsize initialized = 0;

  if (g_once_init_enter (&initialized))
    {
      g_resources_register (pt_get_resource ());
      g_once_init_leave (&initialized, 1);
    }
}
