/* Desktop integration and translations: the files a desktop and a
 * translator read are valid and complete. */
#include <string.h>
#include <sys/wait.h>
#include <gio/gio.h>
#include <glib/gstdio.h>

/* Runs argv; returns the exit status and the combined output. */
static int
run (const char * const *argv,
     char              **output)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                     &out, &err, &status, &error))
    g_error ("cannot run %s: %s", argv[0], error->message);
  if (output)
    *output = g_strconcat (out, err, NULL);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static const char *
source_dir (void)
{
  const char *dir = g_getenv ("PT_SOURCE_DIR");
  g_assert_nonnull (dir);
  return dir;
}

static void
require_tool (const char *tool)
{
  g_autofree char *path = g_find_program_in_path (tool);
  if (path == NULL)
    g_error ("%s is not installed; `make test` installs it", tool);
}

static void
test_desktop_validate (void)
{
  const char *argv[] = { "desktop-file-validate", g_getenv ("PT_DESKTOP_FILE"), NULL };
  g_autofree char *out = NULL;

  require_tool (argv[0]);
  g_assert_cmpint (run (argv, &out), ==, 0);
  /* desktop-file-validate exits 0 on hints; there must be none either. */
  g_assert_cmpstr (g_strstrip (out), ==, "");
}

static void
test_metainfo_validate (void)
{
  const char *argv[] = { "appstreamcli", "validate", "--no-net", "--pedantic",
                         g_getenv ("PT_METAINFO_FILE"), NULL };
  g_autofree char *out = NULL;
  int status;

  require_tool (argv[0]);
  status = run (argv, &out);
  if (status != 0)
    g_test_message ("%s", out);
  g_assert_cmpint (status, ==, 0);
}

static void
test_schema_strict (void)
{
  g_autofree char *tmp = g_dir_make_tmp ("pretext-schema-XXXXXX", NULL);
  g_autofree char *schema_dir = g_build_filename (source_dir (), "resources", NULL);
  g_autofree char *target = g_strdup_printf ("--targetdir=%s", tmp);
  g_autofree char *compiled = g_build_filename (tmp, "gschemas.compiled", NULL);
  const char *argv[] = { "glib-compile-schemas", "--strict", target, schema_dir, NULL };
  g_autofree char *out = NULL;

  g_assert_cmpint (run (argv, &out), ==, 0);
  g_assert_true (g_file_test (compiled, G_FILE_TEST_EXISTS));
  g_unlink (compiled);
  g_rmdir (tmp);
}

/* Does this source text contain a string marked for translation? */
static gboolean
has_marked_strings (const char *path,
                    const char *text)
{
  if (g_str_has_suffix (path, ".ui"))
    return strstr (text, "translatable=\"yes\"") != NULL;
  if (g_str_has_suffix (path, ".c") || g_str_has_suffix (path, ".h"))
    return strstr (text, "_(\"") != NULL || strstr (text, "N_(\"") != NULL ||
           strstr (text, "C_(\"") != NULL || strstr (text, "g_dngettext") != NULL;
  return g_str_has_suffix (path, ".desktop.in") || g_str_has_suffix (path, ".metainfo.xml.in") ||
         g_str_has_suffix (path, ".gschema.xml");
}

static void
collect_sources (const char *root,
                 const char *rel,
                 GPtrArray  *found)
{
  g_autofree char *dir_path = g_build_filename (root, rel, NULL);
  g_autoptr(GDir) dir = g_dir_open (dir_path, 0, NULL);
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child_rel = g_build_filename (rel, name, NULL);
      g_autofree char *child = g_build_filename (root, child_rel, NULL);
      g_autofree char *text = NULL;

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        {
          collect_sources (root, child_rel, found);
          continue;
        }
      if (!g_file_get_contents (child, &text, NULL, NULL))
        continue;
      if (has_marked_strings (child_rel, text))
        g_ptr_array_add (found, g_steal_pointer (&child_rel));
    }
}

static GHashTable *
read_potfiles (void)
{
  g_autofree char *path = g_build_filename (source_dir (), "po", "POTFILES.in", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      char *line = g_strstrip (lines[i]);
      if (*line && *line != '#')
        g_hash_table_add (set, g_strdup (line));
    }
  return set;
}

static void
test_potfiles_complete (void)
{
  g_autoptr(GHashTable) listed = read_potfiles ();
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  const char *dirs[] = { "app", "core", "ui", "resources" };
  GHashTableIter iter;
  gpointer key;

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    collect_sources (source_dir (), dirs[i], found);

  g_assert_cmpuint (found->len, >, 0);
  for (guint i = 0; i < found->len; i++)
    if (!g_hash_table_contains (listed, found->pdata[i]))
      g_error ("%s has translatable strings but is not listed in po/POTFILES.in",
               (char *) found->pdata[i]);

  /* And nothing listed is missing from the tree. */
  g_hash_table_iter_init (&iter, listed);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    {
      g_autofree char *path = g_build_filename (source_dir (), key, NULL);
      if (!g_file_test (path, G_FILE_TEST_EXISTS))
        g_error ("po/POTFILES.in lists %s, which does not exist", (char *) key);
    }
}

/* Every language in LINGUAS is complete against the current sources:
 * extract a fresh template, merge, and count what is left untranslated. */
static void
test_translations_complete (void)
{
  g_autofree char *po_dir = g_build_filename (source_dir (), "po", NULL);
  g_autofree char *linguas_path = g_build_filename (po_dir, "LINGUAS", NULL);
  g_autofree char *tmp = g_dir_make_tmp ("pretext-po-XXXXXX", NULL);
  g_autofree char *pot = g_build_filename (tmp, "pretext.pot", NULL);
  g_autofree char *potfiles = g_build_filename (po_dir, "POTFILES.in", NULL);
  g_autofree char *out_arg = g_strdup_printf ("--output=%s", pot);
  g_autofree char *files_arg = g_strdup_printf ("--files-from=%s", potfiles);
  g_autofree char *dir_arg = g_strdup_printf ("--directory=%s", source_dir ());
  g_autofree char *linguas = NULL;
  g_auto(GStrv) langs = NULL;
  g_autofree char *out = NULL;
  const char *xgettext[] = { "xgettext", "--from-code=UTF-8", "--keyword=_", "--keyword=N_",
                             "--keyword=C_:1c,2", "--keyword=NC_:1c,2",
                             "--keyword=g_dngettext:2,3", "--add-comments=TRANSLATORS",
                             dir_arg, files_arg, out_arg, NULL };
  guint n_langs = 0;

  require_tool ("xgettext");
  g_assert_cmpint (run (xgettext, &out), ==, 0);

  g_assert_true (g_file_get_contents (linguas_path, &linguas, NULL, NULL));
  langs = g_strsplit_set (linguas, " \n", -1);
  for (guint i = 0; langs[i]; i++)
    {
      g_autofree char *po = NULL, *merged = NULL, *stats = NULL;
      const char *lang = g_strstrip (langs[i]);

      if (*lang == '\0' || *lang == '#')
        continue;
      n_langs++;
      po = g_strdup_printf ("%s/%s.po", po_dir, lang);
      merged = g_strdup_printf ("%s/%s.po", tmp, lang);
      {
        const char *msgmerge[] = { "msgmerge", "--quiet", "--no-fuzzy-matching", "--output-file", merged, po, pot, NULL };
        g_assert_cmpint (run (msgmerge, NULL), ==, 0);
      }
      {
        const char *msgfmt[] = { "msgfmt", "--check", "--statistics", "--output-file=/dev/null", merged, NULL };
        g_assert_cmpint (run (msgfmt, &stats), ==, 0);
      }
      if (strstr (stats, "untranslated") != NULL || strstr (stats, "fuzzy") != NULL)
        g_error ("po/%s.po is not complete against the sources: %s"
                 "(run `ninja -C build pretext-update-po` and translate)", lang, stats);
      g_unlink (merged);
    }
  g_assert_cmpuint (n_langs, >=, 1);
  g_unlink (pot);
  g_rmdir (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/data/desktop/validate", test_desktop_validate);
  g_test_add_func ("/data/metainfo/validate", test_metainfo_validate);
  g_test_add_func ("/data/schema/strict", test_schema_strict);
  g_test_add_func ("/data/po/potfiles-complete", test_potfiles_complete);
  g_test_add_func ("/data/po/translations-complete", test_translations_complete);
  return g_test_run ();
}
