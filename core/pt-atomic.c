/* pt-atomic.c: files written whole or not at all. */
#include "pt-atomic.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#define PT_ATOMIC_BUFFER_SIZE (256 * 1024)

struct _PtAtomicFile {
  PtAtomicSet *set;
  char        *path;        /* target */
  char        *tmp_path;    /* temporary file beside it */
  char        *old_path;    /* hard link to the previous target, while committing */
  int          fd;          /* -1 once closed */
  guint8      *buf;
  gsize        buf_len;
  gboolean     failed;
  gboolean     existed;     /* the target was a regular file before commit */
  GError      *error;       /* the first failure, reported again at commit */
};

struct _PtAtomicSet {
  GPtrArray *files;         /* PtAtomicFile, owned */
  gboolean   finished;      /* committed or failed at commit: temps are gone */
  gboolean   owned_by_file; /* a lone PtAtomicFile's hidden set */
};

static guint fail_at[3];

void
pt_atomic_testing_fail (PtAtomicFailPoint point,
                        guint             nth)
{
  g_return_if_fail (point <= PT_ATOMIC_FAIL_RENAME);
  fail_at[point] = nth;
}

/* TRUE when the armed failure of this kind fires now. */
static gboolean
should_fail (PtAtomicFailPoint point)
{
  if (fail_at[point] == 0)
    return FALSE;
  if (--fail_at[point] == 0)
    return TRUE;
  return FALSE;
}

static void
set_errno_error (GError    **error,
                 int         saved_errno,
                 const char *what,
                 const char *path)
{
  /* what: a translated sentence with one %s for the file. */
  g_autofree char *sentence = g_strdup_printf (what, path);

  g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved_errno),
               "%s: %s", sentence, g_strerror (saved_errno));
}

static void
atomic_file_free_internal (PtAtomicFile *file)
{
  if (file->fd >= 0)
    close (file->fd);
  g_free (file->path);
  g_free (file->tmp_path);
  g_free (file->old_path);
  g_free (file->buf);
  g_clear_error (&file->error);
  g_free (file);
}

PtAtomicSet *
pt_atomic_set_new (void)
{
  PtAtomicSet *set = g_new0 (PtAtomicSet, 1);

  set->files = g_ptr_array_new_with_free_func ((GDestroyNotify) atomic_file_free_internal);
  return set;
}

static void
remove_temps (PtAtomicSet *set)
{
  for (guint i = 0; i < set->files->len; i++)
    {
      PtAtomicFile *file = g_ptr_array_index (set->files, i);

      if (file->fd >= 0)
        {
          close (file->fd);
          file->fd = -1;
        }
      if (file->tmp_path != NULL)
        g_unlink (file->tmp_path);
      g_clear_pointer (&file->tmp_path, g_free);
      if (file->old_path != NULL)
        g_unlink (file->old_path);
      g_clear_pointer (&file->old_path, g_free);
    }
}

void
pt_atomic_set_free (PtAtomicSet *set)
{
  if (set == NULL)
    return;
  if (!set->finished)
    remove_temps (set);
  g_ptr_array_unref (set->files);
  g_free (set);
}

PtAtomicFile *
pt_atomic_set_add (PtAtomicSet *set,
                   const char  *path,
                   GError     **error)
{
  g_return_val_if_fail (set != NULL, NULL);
  g_return_val_if_fail (path != NULL && *path != '\0', NULL);
  g_return_val_if_fail (!set->finished, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  for (guint i = 0; i < set->files->len; i++)
    {
      PtAtomicFile *other = g_ptr_array_index (set->files, i);

      if (g_strcmp0 (other->path, path) == 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_EXISTS,
                       _("“%s” is written twice in the same export."), path);
          return NULL;
        }
    }

  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *base = g_path_get_basename (path);
  g_autofree char *tmpl_name = g_strdup_printf (".%s.XXXXXX", base);
  g_autofree char *tmp_path = g_build_filename (dir, tmpl_name, NULL);

  int fd = g_mkstemp_full (tmp_path, O_WRONLY | O_CLOEXEC, 0666);
  if (fd < 0)
    {
      set_errno_error (error, errno, _("Could not create a file in the folder “%s”"), dir);
      return NULL;
    }

  PtAtomicFile *file = g_new0 (PtAtomicFile, 1);
  file->set = set;
  file->path = g_strdup (path);
  file->tmp_path = g_steal_pointer (&tmp_path);
  file->fd = fd;
  file->buf = g_malloc (PT_ATOMIC_BUFFER_SIZE);
  g_ptr_array_add (set->files, file);
  return file;
}

/* Writes the whole span to fd, retrying on EINTR and short writes. */
static gboolean
write_all (PtAtomicFile *file,
           const guint8 *data,
           gsize         len)
{
  while (len > 0)
    {
      ssize_t n;

      if (should_fail (PT_ATOMIC_FAIL_WRITE))
        {
          errno = ENOSPC;
          n = -1;
        }
      else
        n = write (file->fd, data, MIN (len, (gsize) G_MAXSSIZE));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : EIO;

          set_errno_error (&file->error, saved, _("Could not write “%s”"), file->path);
          file->failed = TRUE;
          return FALSE;
        }
      data += n;
      len -= (gsize) n;
    }
  return TRUE;
}

static gboolean
flush_buffer (PtAtomicFile *file)
{
  gsize len = file->buf_len;

  file->buf_len = 0;
  return write_all (file, file->buf, len);
}

static gboolean
report_failure (PtAtomicFile *file,
                GError      **error)
{
  g_assert (file->error != NULL);
  if (error != NULL)
    *error = g_error_copy (file->error);
  return FALSE;
}

gboolean
pt_atomic_file_write (PtAtomicFile *file,
                      const void   *data,
                      gsize         len,
                      GError      **error)
{
  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (data != NULL || len == 0, FALSE);
  g_return_val_if_fail (file->fd >= 0 || file->failed, FALSE);

  if (file->failed)
    return report_failure (file, error);

  if (file->buf_len + len <= PT_ATOMIC_BUFFER_SIZE)
    {
      if (len > 0)
        memcpy (file->buf + file->buf_len, data, len);
      file->buf_len += len;
      return TRUE;
    }

  if (!flush_buffer (file))
    return report_failure (file, error);

  if (len >= PT_ATOMIC_BUFFER_SIZE)
    {
      if (!write_all (file, data, len))
        return report_failure (file, error);
      return TRUE;
    }

  memcpy (file->buf, data, len);
  file->buf_len = len;
  return TRUE;
}

gboolean
pt_atomic_file_write_string (PtAtomicFile *file,
                             const char   *str,
                             GError      **error)
{
  g_return_val_if_fail (str != NULL, FALSE);
  return pt_atomic_file_write (file, str, strlen (str), error);
}

const char *
pt_atomic_file_get_path (PtAtomicFile *file)
{
  g_return_val_if_fail (file != NULL, NULL);
  return file->path;
}

gboolean
pt_atomic_set_add_contents (PtAtomicSet *set,
                            const char  *path,
                            const void  *data,
                            gsize        len,
                            GError     **error)
{
  PtAtomicFile *file = pt_atomic_set_add (set, path, error);

  if (file == NULL)
    return FALSE;
  return pt_atomic_file_write (file, data, len, error);
}

/* Flush, fsync and close one file. */
static gboolean
finish_file (PtAtomicFile *file,
             GError      **error)
{
  if (file->failed)
    return report_failure (file, error);

  if (!flush_buffer (file))
    return report_failure (file, error);

  int rc = should_fail (PT_ATOMIC_FAIL_FSYNC) ? (errno = EIO, -1) : fsync (file->fd);
  if (rc != 0)
    {
      set_errno_error (error, errno, _("Could not write “%s” to disk"), file->path);
      return FALSE;
    }

  rc = close (file->fd);
  file->fd = -1;
  if (rc != 0)
    {
      set_errno_error (error, errno, _("Could not write “%s”"), file->path);
      return FALSE;
    }
  return TRUE;
}

static int
do_rename (const char *from,
           const char *to)
{
  if (should_fail (PT_ATOMIC_FAIL_RENAME))
    {
      errno = EIO;
      return -1;
    }
  return rename (from, to);
}

static gboolean
fsync_dir (const char *dir,
           GError    **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if (fd < 0)
    {
      set_errno_error (error, errno, _("Could not open the folder “%s”"), dir);
      return FALSE;
    }
  int rc = should_fail (PT_ATOMIC_FAIL_FSYNC) ? (errno = EIO, -1) : fsync (fd);
  int saved = errno;
  close (fd);
  /* Some file systems cannot fsync a folder; that is not a lost write. */
  if (rc != 0 && saved != EINVAL && saved != ENOTSUP)
    {
      set_errno_error (error, saved, _("Could not write the folder “%s” to disk"), dir);
      return FALSE;
    }
  return TRUE;
}

gboolean
pt_atomic_set_commit (PtAtomicSet *set,
                      GError     **error)
{
  g_return_val_if_fail (set != NULL, FALSE);
  g_return_val_if_fail (!set->finished, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  GPtrArray *files = set->files;
  guint n_renamed = 0;
  g_autoptr(GHashTable) dirs = NULL;

  for (guint i = 0; i < files->len; i++)
    if (!finish_file (g_ptr_array_index (files, i), error))
      goto fail;

  /* Keep each previous version reachable until every rename succeeded. */
  for (guint i = 0; i < files->len; i++)
    {
      PtAtomicFile *file = g_ptr_array_index (files, i);
      GStatBuf st;

      if (g_lstat (file->path, &st) != 0 || !S_ISREG (st.st_mode))
        continue;
      file->existed = TRUE;
      file->old_path = g_strconcat (file->tmp_path, ".old", NULL);
      if (link (file->path, file->old_path) != 0)
        g_clear_pointer (&file->old_path, g_free);   /* no hard links here: best effort */
    }

  for (; n_renamed < files->len; n_renamed++)
    {
      PtAtomicFile *file = g_ptr_array_index (files, n_renamed);

      if (do_rename (file->tmp_path, file->path) != 0)
        {
          set_errno_error (error, errno, _("Could not replace “%s”"), file->path);
          goto fail;
        }
      g_clear_pointer (&file->tmp_path, g_free);
    }

  dirs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (guint i = 0; i < files->len; i++)
    {
      PtAtomicFile *file = g_ptr_array_index (files, i);

      if (file->old_path != NULL)
        g_unlink (file->old_path);
      g_clear_pointer (&file->old_path, g_free);
      g_hash_table_add (dirs, g_path_get_dirname (file->path));
    }
  set->finished = TRUE;

  /* The files are in place; a folder fsync failure is still reported, as
   * the rename may not survive a power cut. */
  GHashTableIter iter;
  gpointer key;
  g_hash_table_iter_init (&iter, dirs);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    if (!fsync_dir (key, error))
      return FALSE;
  return TRUE;

fail:
  /* Undo the renames already done, newest first. */
  for (guint i = n_renamed; i-- > 0;)
    {
      PtAtomicFile *file = g_ptr_array_index (files, i);

      if (file->old_path != NULL)
        {
          if (rename (file->old_path, file->path) == 0)
            g_clear_pointer (&file->old_path, g_free);
        }
      else if (!file->existed)
        g_unlink (file->path);
    }
  remove_temps (set);
  set->finished = TRUE;
  return FALSE;
}

PtAtomicFile *
pt_atomic_file_new (const char *path,
                    GError    **error)
{
  PtAtomicSet *set = pt_atomic_set_new ();
  PtAtomicFile *file = pt_atomic_set_add (set, path, error);

  if (file == NULL)
    {
      pt_atomic_set_free (set);
      return NULL;
    }
  set->owned_by_file = TRUE;
  return file;
}

gboolean
pt_atomic_file_commit (PtAtomicFile *file,
                       GError      **error)
{
  g_return_val_if_fail (file != NULL, FALSE);
  g_return_val_if_fail (file->set->owned_by_file, FALSE);
  return pt_atomic_set_commit (file->set, error);
}

void
pt_atomic_file_free (PtAtomicFile *file)
{
  if (file == NULL)
    return;
  g_return_if_fail (file->set->owned_by_file);
  pt_atomic_set_free (file->set);
}

gboolean
pt_atomic_write_contents (const char  *path,
                          const void  *data,
                          gsize        len,
                          GError     **error)
{
  g_autoptr(PtAtomicFile) file = pt_atomic_file_new (path, error);

  if (file == NULL)
    return FALSE;
  if (!pt_atomic_file_write (file, data, len, error))
    return FALSE;
  return pt_atomic_file_commit (file, error);
}
