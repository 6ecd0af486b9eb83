/* pt-test-util.h: small helpers shared by the tests under tests/app. */
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

/* Deletes a directory tree (symbolic links are removed, not followed). */
static inline void
pt_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        pt_test_remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

/* Runs the default main context until cond (data) holds or seconds pass;
 * returns cond (data). */
static inline gboolean
pt_test_wait_until (gboolean (*cond) (gpointer),
                    gpointer   data,
                    int        seconds)
{
  gint64 deadline = g_get_monotonic_time () + seconds * G_USEC_PER_SEC;

  while (!cond (data) && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, FALSE) || (g_usleep (1000), TRUE);
  return cond (data);
}
