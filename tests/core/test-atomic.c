/* Tests for atomic file sets. */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "pt-atomic.h"

static char *
make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("pt-atomic-XXXXXX", &error);
  g_assert_no_error (error);
  return dir;
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d != NULL && (name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *p = g_build_filename (dir, name, NULL);
      g_unlink (p);
    }
  g_rmdir (dir);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The sorted names in @dir, joined with spaces. */
static char *
list_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  g_assert_nonnull (d);
  while ((name = g_dir_read_name (d)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (" ", (char **) names->pdata);
}

static void
assert_contents (const char *dir,
                 const char *name,
                 const char *expected)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (path, &contents, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (contents, ==, expected);
}

static void
write_old (const char *dir,
           const char *name,
           const char *contents)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

/* Writes new versions of a.txt, b.bin (large, so it hits the disk before
 * commit) and c.txt into @dir. */
static gboolean
write_set (const char *dir,
           GError    **error)
{
  g_autoptr(PtAtomicSet) set = pt_atomic_set_new ();
  g_autofree char *a = g_build_filename (dir, "a.txt", NULL);
  g_autofree char *b = g_build_filename (dir, "b.bin", NULL);
  g_autofree char *c = g_build_filename (dir, "c.txt", NULL);
  gsize big = 1024 * 1024 + 7;
  g_autofree guint8 *data = g_malloc (big);

  for (gsize i = 0; i < big; i++)
    data[i] = (guint8) (i * 31);

  PtAtomicFile *fa = pt_atomic_set_add (set, a, error);
  if (fa == NULL)
    return FALSE;
  if (!pt_atomic_file_write_string (fa, "new ", error) ||
      !pt_atomic_file_write_string (fa, "a", error))
    return FALSE;
  PtAtomicFile *fb = pt_atomic_set_add (set, b, error);
  if (fb == NULL || !pt_atomic_file_write (fb, data, big, error))
    return FALSE;
  if (!pt_atomic_set_add_contents (set, c, "new c", 5, error))
    return FALSE;
  g_assert_cmpstr (pt_atomic_file_get_path (fa), ==, a);
  return pt_atomic_set_commit (set, error);
}

static void
test_atomic_commit (void)
{
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;

  write_old (dir, "a.txt", "old a");
  g_assert_true (write_set (dir, &error));
  g_assert_no_error (error);
  assert_contents (dir, "a.txt", "new a");
  assert_contents (dir, "c.txt", "new c");
  g_autofree char *b = g_build_filename (dir, "b.bin", NULL);
  GStatBuf st;
  g_assert_cmpint (g_stat (b, &st), ==, 0);
  g_assert_cmpint (st.st_size, ==, 1024 * 1024 + 7);
  g_autofree char *names = list_dir (dir);
  g_assert_cmpstr (names, ==, "a.txt b.bin c.txt");
  remove_dir (dir);
}

static void
test_atomic_abort (void)
{
  g_autofree char *dir = make_dir ();
  g_autoptr(GError) error = NULL;

  write_old (dir, "a.txt", "old a");
  {
    g_autoptr(PtAtomicSet) set = pt_atomic_set_new ();
    g_autofree char *a = g_build_filename (dir, "a.txt", NULL);
    g_autofree char *n = g_build_filename (dir, "new.txt", NULL);
    g_assert_true (pt_atomic_set_add_contents (set, a, "xx", 2, &error));
    g_assert_true (pt_atomic_set_add_contents (set, n, "yy", 2, &error));
    g_assert_no_error (error);
    /* Dropped without commit. */
  }
  assert_contents (dir, "a.txt", "old a");
  g_autofree char *names = list_dir (dir);
  g_assert_cmpstr (names, ==, "a.txt");

  /* The same path twice in one set is refused. */
  {
    g_autoptr(PtAtomicSet) set = pt_atomic_set_new ();
    g_autofree char *a = g_build_filename (dir, "a.txt", NULL);
    g_assert_nonnull (pt_atomic_set_add (set, a, &error));
    g_assert_null (pt_atomic_set_add (set, a, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS);
    g_clear_error (&error);
  }
  g_autofree char *names2 = list_dir (dir);
  g_assert_cmpstr (names2, ==, "a.txt");
  remove_dir (dir);
}

/* Each failure point: the old files stay, the new one never appears, no
 * temporary is left. */
static void
test_atomic_failures (void)
{
  struct { PtAtomicFailPoint point; guint nth; const char *fragment; } cases[] = {
    { PT_ATOMIC_FAIL_WRITE, 1, "Could not write" },
    { PT_ATOMIC_FAIL_WRITE, 3, "Could not write" },
    { PT_ATOMIC_FAIL_FSYNC, 1, "to disk" },
    { PT_ATOMIC_FAIL_FSYNC, 3, "to disk" },
    { PT_ATOMIC_FAIL_RENAME, 1, "Could not replace" },
    { PT_ATOMIC_FAIL_RENAME, 2, "Could not replace" },  /* a.txt already replaced: restored */
    { PT_ATOMIC_FAIL_RENAME, 3, "Could not replace" },  /* and the new b.bin removed again */
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *dir = make_dir ();
      g_autoptr(GError) error = NULL;

      write_old (dir, "a.txt", "old a");
      write_old (dir, "c.txt", "old c");
      pt_atomic_testing_fail (cases[i].point, cases[i].nth);
      g_assert_false (write_set (dir, &error));
      pt_atomic_testing_fail (cases[i].point, 0);
      g_assert_nonnull (error);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, cases[i].fragment));
      g_assert_nonnull (strstr (error->message, dir));
      assert_contents (dir, "a.txt", "old a");
      assert_contents (dir, "c.txt", "old c");
      g_autofree char *names = list_dir (dir);
      g_assert_cmpstr (names, ==, "a.txt c.txt");
      remove_dir (dir);
    }
}

static void
test_atomic_unwritable (void)
{
  g_autoptr(GError) error = NULL;

  /* A folder that does not exist. */
  g_assert_false (pt_atomic_write_contents ("/nonexistent-pt/x/y.txt", "z", 1, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "/nonexistent-pt/x"));
  g_clear_error (&error);

  /* A read-only folder (root ignores permissions: then only the hook tests apply). */
  if (geteuid () == 0)
    {
      g_test_message ("running as root: read-only folder check skipped");
      return;
    }
  g_autofree char *dir = make_dir ();
  write_old (dir, "a.txt", "old a");
  g_chmod (dir, 0555);
  g_assert_false (write_set (dir, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
  g_chmod (dir, 0755);
  assert_contents (dir, "a.txt", "old a");
  g_autofree char *names = list_dir (dir);
  g_assert_cmpstr (names, ==, "a.txt");
  remove_dir (dir);
}

static void
test_atomic_single_file (void)
{
  g_autofree char *dir = make_dir ();
  g_autofree char *path = g_build_filename (dir, "one.txt", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (pt_atomic_write_contents (path, "first", 5, &error));
  g_assert_no_error (error);
  assert_contents (dir, "one.txt", "first");

  {
    g_autoptr(PtAtomicFile) f = pt_atomic_file_new (path, &error);
    g_assert_no_error (error);
    g_assert_true (pt_atomic_file_write_string (f, "sec", &error));
    g_assert_true (pt_atomic_file_write_string (f, "ond", &error));
    /* Not visible before the commit. */
    assert_contents (dir, "one.txt", "first");
    g_assert_true (pt_atomic_file_commit (f, &error));
    g_assert_no_error (error);
  }
  assert_contents (dir, "one.txt", "second");

  /* A failed write sticks: later writes and the commit fail too. */
  {
    g_autoptr(PtAtomicFile) f = pt_atomic_file_new (path, &error);
    g_autofree guint8 *big = g_malloc0 (600 * 1024);
    pt_atomic_testing_fail (PT_ATOMIC_FAIL_WRITE, 1);
    g_assert_false (pt_atomic_file_write (f, big, 600 * 1024, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
    g_clear_error (&error);
    g_assert_false (pt_atomic_file_write_string (f, "x", &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
    g_clear_error (&error);
    g_assert_false (pt_atomic_file_commit (f, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NO_SPACE);
    g_clear_error (&error);
  }
  assert_contents (dir, "one.txt", "second");
  g_autofree char *names = list_dir (dir);
  g_assert_cmpstr (names, ==, "one.txt");
  remove_dir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/atomic/commit", test_atomic_commit);
  g_test_add_func ("/core/atomic/abort", test_atomic_abort);
  g_test_add_func ("/core/atomic/failures", test_atomic_failures);
  g_test_add_func ("/core/atomic/unwritable", test_atomic_unwritable);
  g_test_add_func ("/core/atomic/single-file", test_atomic_single_file);
  return g_test_run ();
}
