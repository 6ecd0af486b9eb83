/* pt-run.c: the run directory. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-build-config.h"
#include "pt-checkpoint.h"
#include "pt-run.h"

G_DEFINE_QUARK (pt-run-error-quark, pt_run_error)

struct _PtRun
{
  char     *dir;
  char     *checkpoint_dir;
  char     *metrics_path;
  char     *config_hash;
  char     *method;
  GKeyFile *config;
  int       metrics_fd;
};

GKeyFile *
pt_run_config_new (const PtRunSpec *spec,
                   PtMethod        *method)
{
  GKeyFile *config = g_key_file_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *created = g_date_time_format_iso8601 (now);

  g_return_val_if_fail (spec != NULL && spec->method != NULL, config);

  g_key_file_set_comment (config, NULL, NULL,
                          " Pretext run: everything needed to reproduce it. Do not edit:"
                          "\n checkpoints carry a hash of this file.", NULL);
  g_key_file_set_string (config, "run", "method", spec->method);
  g_key_file_set_string (config, "run", "dataset", spec->dataset != NULL ? spec->dataset : "");
  g_key_file_set_string (config, "run", "dataset_hash",
                         spec->dataset_hash != NULL ? spec->dataset_hash : "");
  g_key_file_set_string (config, "run", "encoder", spec->encoder != NULL ? spec->encoder : "");
  g_key_file_set_integer (config, "run", "encoder_width", spec->encoder_width);
  g_key_file_set_integer (config, "run", "batch_size", spec->batch_size);
  g_key_file_set_uint64 (config, "run", "seed", spec->seed);
  g_key_file_set_uint64 (config, "run", "steps", spec->steps);
  g_key_file_set_string (config, "run", "created", created);
  g_key_file_set_string (config, "run", "app_version", PT_VERSION);
  if (method != NULL)
    pt_method_save_params (method, config, "method");
  else
    g_key_file_set_string (config, "method", "name", spec->method);
  g_key_file_set_string (config, "augment", "name",
                         spec->augment_name != NULL ? spec->augment_name : "");
  /* GKeyFile escapes newlines, so a whole recipe fits in one value. */
  g_key_file_set_string (config, "augment", "content",
                         spec->augment_content != NULL ? spec->augment_content : "");
  return config;
}

char *
pt_run_default_root (void)
{
  return g_build_filename (g_get_user_data_dir (), "pretext", "runs", NULL);
}

static char *
safe_name (const char *s)
{
  g_autofree char *base = NULL;
  GString *out = g_string_new (NULL);

  if (s == NULL || *s == '\0')
    s = "data";
  /* "cifar10:/x/y/" -> "cifar10-y"; "/data/imgs/" -> "imgs" */
  base = g_strdup (s);
  while (strlen (base) > 1 && base[strlen (base) - 1] == '/')
    base[strlen (base) - 1] = '\0';
  if (strchr (base, '/') != NULL)
    {
      const char *colon = strchr (base, ':');
      g_autofree char *tail = g_path_get_basename (base);

      if (colon != NULL && colon < strchr (base, '/'))
        g_string_append_len (out, base, colon - base), g_string_append_c (out, '-');
      g_free (base);
      base = g_steal_pointer (&tail);
    }
  for (const char *p = base; *p != '\0' && out->len < 40; p++)
    g_string_append_c (out, g_ascii_isalnum (*p) || *p == '.' || *p == '_' ? *p : '-');
  return g_string_free (out, FALSE);
}

char *
pt_run_default_dir (const char *root,
                    const char *method,
                    const char *dataset)
{
  g_autofree char *default_root = root == NULL ? pt_run_default_root () : NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *date = g_date_time_format (now, "%Y%m%d-%H%M%S");
  g_autofree char *m = safe_name (method);
  g_autofree char *d = safe_name (dataset);
  g_autofree char *name = g_strdup_printf ("%s-%s-%s", date, m, d);
  char *dir = g_build_filename (root != NULL ? root : default_root, name, NULL);

  for (int i = 2; g_file_test (dir, G_FILE_TEST_EXISTS); i++)
    {
      g_free (dir);
      dir = g_strdup_printf ("%s%c%s-%d", root != NULL ? root : default_root,
                             G_DIR_SEPARATOR, name, i);
    }
  return dir;
}

static char *
hash_file (const char  *path,
           GError     **error)
{
  g_autofree char *contents = NULL;
  gsize len;

  if (!g_file_get_contents (path, &contents, &len, NULL))
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO, _("Cannot read %s."), path);
      return NULL;
    }
  return g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
}

static gboolean
open_metrics (PtRun   *run,
              GError **error)
{
  if (run->metrics_fd >= 0)
    close (run->metrics_fd);
  run->metrics_fd = open (run->metrics_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (run->metrics_fd < 0)
    {
      int saved = errno;
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO,
                   _("Cannot open %s for writing: %s."), run->metrics_path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

static PtRun *
run_new (const char *dir)
{
  PtRun *run = g_new0 (PtRun, 1);

  run->dir = g_strdup (dir);
  run->checkpoint_dir = g_build_filename (dir, "checkpoints", NULL);
  run->metrics_path = g_build_filename (dir, "metrics.jsonl", NULL);
  run->metrics_fd = -1;
  return run;
}

PtRun *
pt_run_create (const char  *dir,
               GKeyFile    *config,
               GError     **error)
{
  g_autoptr(PtRun) run = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *text = NULL;
  gsize len;
  const char *subdirs[] = { "checkpoints", "visuals", "eval" };

  g_return_val_if_fail (dir != NULL && config != NULL, NULL);

  run = run_new (dir);
  config_path = g_build_filename (dir, "config.ini", NULL);
  if (g_file_test (config_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_EXISTS,
                   _("The folder %s already holds a run; resume it or choose another folder."),
                   dir);
      return NULL;
    }
  for (guint i = 0; i < G_N_ELEMENTS (subdirs); i++)
    {
      g_autofree char *sub = g_build_filename (dir, subdirs[i], NULL);

      if (g_mkdir_with_parents (sub, 0755) != 0)
        {
          int saved = errno;
          g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO,
                       _("Cannot create the folder %s: %s."), sub, g_strerror (saved));
          return NULL;
        }
    }

  run->method = g_key_file_get_string (config, "run", "method", NULL);
  if (run->method == NULL)
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The configuration for %s names no method."), dir);
      return NULL;
    }
  text = g_key_file_to_data (config, &len, NULL);
  if (!pt_write_file_atomic (config_path, text, len, error))
    return NULL;
  run->config_hash = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) text, len);
  run->config = g_key_file_new ();
  if (!g_key_file_load_from_data (run->config, text, len, G_KEY_FILE_KEEP_COMMENTS, error))
    return NULL;
  if (!open_metrics (run, error))
    return NULL;
  return g_steal_pointer (&run);
}

PtRun *
pt_run_open (const char  *dir,
             GError     **error)
{
  g_autoptr(PtRun) run = NULL;
  g_autofree char *config_path = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (dir != NULL, NULL);

  run = run_new (dir);
  config_path = g_build_filename (dir, "config.ini", NULL);
  run->config = g_key_file_new ();
  if (!g_key_file_load_from_file (run->config, config_path, G_KEY_FILE_KEEP_COMMENTS,
                                  &local_error))
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                     _("The folder %s is not a Pretext run (it has no config.ini)."), dir);
      else
        g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                     _("Cannot read %s: %s."), config_path, local_error->message);
      return NULL;
    }
  run->method = g_key_file_get_string (run->config, "run", "method", NULL);
  if (run->method == NULL || *run->method == '\0')
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The file %s names no method (key “method” in [run])."), config_path);
      return NULL;
    }
  run->config_hash = hash_file (config_path, error);
  if (run->config_hash == NULL)
    return NULL;
  if (g_mkdir_with_parents (run->checkpoint_dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO,
                   _("Cannot create the folder %s: %s."), run->checkpoint_dir, g_strerror (saved));
      return NULL;
    }
  if (!open_metrics (run, error))
    return NULL;
  return g_steal_pointer (&run);
}

void
pt_run_free (PtRun *run)
{
  if (run == NULL)
    return;
  if (run->metrics_fd >= 0)
    close (run->metrics_fd);
  g_free (run->dir);
  g_free (run->checkpoint_dir);
  g_free (run->metrics_path);
  g_free (run->config_hash);
  g_free (run->method);
  g_clear_pointer (&run->config, g_key_file_unref);
  g_free (run);
}

const char *
pt_run_get_dir (PtRun *run)
{
  return run->dir;
}

const char *
pt_run_get_checkpoint_dir (PtRun *run)
{
  return run->checkpoint_dir;
}

const char *
pt_run_get_metrics_path (PtRun *run)
{
  return run->metrics_path;
}

GKeyFile *
pt_run_get_config (PtRun *run)
{
  return run->config;
}

const char *
pt_run_get_config_hash (PtRun *run)
{
  return run->config_hash;
}

const char *
pt_run_get_method (PtRun *run)
{
  return run->method;
}

gboolean
pt_run_append_metrics (PtRun       *run,
                       const char  *json_line,
                       GError     **error)
{
  g_autofree char *line = g_strconcat (json_line, "\n", NULL);
  gsize left = strlen (line);
  const char *p = line;

  /* One write() per line with O_APPEND: a kill leaves at most one cut line,
   * which pt_run_truncate_metrics drops on resume. */
  while (left > 0)
    {
      ssize_t n = write (run->metrics_fd, p, left);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : ENOSPC;
          g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO,
                       _("Cannot append to %s: %s."), run->metrics_path, g_strerror (saved));
          return FALSE;
        }
      p += n;
      left -= (gsize) n;
    }
  return TRUE;
}

/* The "step" member of one metrics line, or FALSE when it does not parse. */
static gboolean
line_step (const char *line,
           guint64    *step)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  JsonNode *root;
  JsonObject *object;

  if (!json_parser_load_from_data (parser, line, -1, NULL))
    return FALSE;
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return FALSE;
  object = json_node_get_object (root);
  if (!json_object_has_member (object, "step"))
    return FALSE;
  *step = (guint64) json_object_get_int_member (object, "step");
  return TRUE;
}

gboolean
pt_run_truncate_metrics (PtRun    *run,
                         guint64   max_step,
                         GError  **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) kept = g_string_new (NULL);
  gsize len;

  if (!g_file_get_contents (run->metrics_path, &contents, &len, NULL))
    contents = g_strdup ("");
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      guint64 step;

      if (lines[i][0] == '\0' || !line_step (lines[i], &step) || step > max_step)
        continue;
      g_string_append (kept, lines[i]);
      g_string_append_c (kept, '\n');
    }
  if (kept->len == len && memcmp (kept->str, contents, len) == 0)
    return TRUE;
  if (!pt_write_file_atomic (run->metrics_path, kept->str, kept->len, error))
    return FALSE;
  return open_metrics (run, error);
}

/* ---- Listing ---------------------------------------------------------- */

void
pt_run_info_free (PtRunInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->dir);
  g_free (info->name);
  g_free (info->created);
  g_free (info->method);
  g_free (info->dataset);
  g_free (info->probe_file);
  g_free (info);
}

static void
read_last_metrics (PtRunInfo  *info,
                   const char *path)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  guint n;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    return;
  lines = g_strsplit (contents, "\n", -1);
  n = g_strv_length (lines);
  /* The last line that parses: a killed writer may leave a cut one. */
  for (guint i = n; i > 0; i--)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonNode *root;
      JsonObject *object;

      if (lines[i - 1][0] == '\0' ||
          !json_parser_load_from_data (parser, lines[i - 1], -1, NULL))
        continue;
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        continue;
      object = json_node_get_object (root);
      if (json_object_has_member (object, "step"))
        info->steps = (guint64) json_object_get_int_member (object, "step");
      if (json_object_has_member (object, "loss") &&
          JSON_NODE_TYPE (json_object_get_member (object, "loss")) == JSON_NODE_VALUE)
        info->last_loss = json_object_get_double_member (object, "loss");
      return;
    }
}

static void
read_probe (PtRunInfo  *info,
            const char *eval_dir)
{
  g_autoptr(GDir) dir = g_dir_open (eval_dir, 0, NULL);
  gint64 newest = G_MININT64;
  const char *name;

  if (dir == NULL)
    return;
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = NULL;
      g_autoptr(JsonParser) parser = NULL;
      GStatBuf st;
      JsonNode *root;
      JsonObject *object;

      if (!g_str_has_suffix (name, ".json"))
        continue;
      path = g_build_filename (eval_dir, name, NULL);
      if (g_stat (path, &st) != 0 || (gint64) st.st_mtime < newest)
        continue;
      parser = json_parser_new ();
      if (!json_parser_load_from_file (parser, path, NULL))
        continue;
      root = json_parser_get_root (parser);
      if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
        continue;
      object = json_node_get_object (root);
      if (!json_object_has_member (object, "accuracy") ||
          JSON_NODE_TYPE (json_object_get_member (object, "accuracy")) != JSON_NODE_VALUE)
        continue;
      newest = st.st_mtime;
      info->probe = json_object_get_double_member (object, "accuracy");
      g_free (info->probe_file);
      info->probe_file = g_strdup (name);
    }
}

PtRunInfo *
pt_run_info_read (const char  *dir,
                  GError     **error)
{
  g_autoptr(PtRunInfo) info = g_new0 (PtRunInfo, 1);
  g_autoptr(GKeyFile) config = g_key_file_new ();
  g_autofree char *config_path = g_build_filename (dir, "config.ini", NULL);
  g_autofree char *metrics_path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *eval_dir = g_build_filename (dir, "eval", NULL);

  if (!g_key_file_load_from_file (config, config_path, G_KEY_FILE_NONE, NULL))
    {
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_INVALID,
                   _("The folder %s is not a Pretext run (no readable config.ini)."), dir);
      return NULL;
    }
  info->dir = g_strdup (dir);
  info->name = g_path_get_basename (dir);
  info->created = g_key_file_get_string (config, "run", "created", NULL);
  info->method = g_key_file_get_string (config, "run", "method", NULL);
  info->dataset = g_key_file_get_string (config, "run", "dataset", NULL);
  if (info->created == NULL)
    info->created = g_strdup ("");
  if (info->method == NULL)
    info->method = g_strdup ("");
  if (info->dataset == NULL)
    info->dataset = g_strdup ("");
  info->last_loss = NAN;
  info->probe = NAN;
  read_last_metrics (info, metrics_path);
  read_probe (info, eval_dir);
  return g_steal_pointer (&info);
}

static int
compare_infos (gconstpointer a,
               gconstpointer b)
{
  const PtRunInfo *x = *(const PtRunInfo * const *) a;
  const PtRunInfo *y = *(const PtRunInfo * const *) b;
  int c = strcmp (x->created, y->created);

  return c != 0 ? c : strcmp (x->name, y->name);
}

GPtrArray *
pt_run_list (const char  *root,
             GError     **error)
{
  g_autofree char *default_root = root == NULL ? pt_run_default_root () : NULL;
  g_autoptr(GPtrArray) runs = g_ptr_array_new_with_free_func ((GDestroyNotify) pt_run_info_free);
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GError) local_error = NULL;
  const char *name;

  if (root == NULL)
    root = default_root;
  dir = g_dir_open (root, 0, &local_error);
  if (dir == NULL)
    {
      if (g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        return g_steal_pointer (&runs);
      g_set_error (error, PT_RUN_ERROR, PT_RUN_ERROR_IO,
                   _("Cannot list the runs in %s: %s."), root, local_error->message);
      return NULL;
    }
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (root, name, NULL);
      PtRunInfo *info;

      if (!g_file_test (path, G_FILE_TEST_IS_DIR))
        continue;
      info = pt_run_info_read (path, NULL);
      if (info != NULL)
        g_ptr_array_add (runs, info);
    }
  g_ptr_array_sort (runs, compare_infos);
  return g_steal_pointer (&runs);
}
