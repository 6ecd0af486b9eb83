/* pt-test-display.h: opening the display for the GUI tests (tests/app,
 * tests/ui).
 *
 * Without a display (neither DISPLAY nor WAYLAND_DISPLAY set: `meson test`
 * run by hand outside X) the GUI tests report themselves skipped. With one
 * (`make test` runs the suite under xvfb-run) a display that cannot be
 * opened is a failure, not a skip: a CI run once reported a GUI test
 * skipped, and counted nothing, when one of its connections to Xvfb
 * failed. A few attempts first, since that failure was transient. */
#pragma once

#include <gtk/gtk.h>

/* TRUE when GTK is initialized; FALSE when no display is expected (skip);
 * aborts the test program when a display is expected but cannot be opened. */
static inline gboolean
pt_test_gtk_init (void)
{
  const char *x = g_getenv ("DISPLAY"), *wl = g_getenv ("WAYLAND_DISPLAY");

  if ((x == NULL || *x == '\0') && (wl == NULL || *wl == '\0'))
    return gtk_init_check ();
  /* gtk_init_check() counts GTK as initialized even when the display did
   * not open, so a second call would answer TRUE without one: later
   * attempts open the display themselves. */
  if (gtk_init_check () && gdk_display_get_default () != NULL)
    return TRUE;
  for (int attempt = 0; attempt < 4; attempt++)
    {
      GdkDisplay *display;

      g_usleep (500 * 1000);
      display = gdk_display_open (NULL);
      if (display != NULL)
        {
          gdk_display_manager_set_default_display (gdk_display_manager_get (), display);
          return TRUE;
        }
    }
  g_error ("the display %s is set but cannot be opened", x != NULL && *x != '\0' ? x : wl);
  return FALSE;
}
