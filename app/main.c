/* main.c: the pretext workbench. */
#include <locale.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(PtApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, PT_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  g_set_application_name (_("Pretext"));

  app = pt_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
