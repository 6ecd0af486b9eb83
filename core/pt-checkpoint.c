/* pt-checkpoint.c: crash-safe checkpoint files of named blobs. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>

#include "pt-checkpoint.h"

G_DEFINE_QUARK (pt-checkpoint-error-quark, pt_checkpoint_error)

static const char checkpoint_magic[8] = { 'P', 'T', 'C', 'K', 'P', 'T', '\r', '\n' };
#define SHA256_LEN 32
/* Strings in the header are short; anything longer is corruption. */
#define MAX_STRING 4096

/* ---- Atomic writes ---------------------------------------------------- */

static gboolean
fsync_dir (const char  *dir,
           GError     **error)
{
  int fd = open (dir, O_RDONLY | O_DIRECTORY);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot open the folder %s: %s."), dir, g_strerror (saved));
      return FALSE;
    }
  if (fsync (fd) != 0 && errno != EINVAL)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot flush the folder %s to disk: %s."), dir, g_strerror (saved));
      return FALSE;
    }
  close (fd);
  return TRUE;
}

/* Writes a temp file beside path and returns its name; not yet renamed. */
static char *
write_temp (const char  *path,
            const void  *contents,
            gsize        length,
            GError     **error)
{
  g_autofree char *tmp = g_strconcat (path, ".tmp-XXXXXX", NULL);
  const guint8 *p = contents;
  gsize left = length;
  int fd;

  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot create a file beside %s: %s."), path, g_strerror (saved));
      return NULL;
    }
  while (left > 0)
    {
      ssize_t n = write (fd, p, MIN (left, (gsize) 1 << 24));

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : ENOSPC;
          close (fd);
          g_unlink (tmp);
          g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                       _("Cannot write %s: %s."), path, g_strerror (saved));
          return NULL;
        }
      p += n;
      left -= (gsize) n;
    }
  if (fsync (fd) != 0)
    {
      int saved = errno;
      close (fd);
      g_unlink (tmp);
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot flush %s to disk: %s."), path, g_strerror (saved));
      return NULL;
    }
  if (close (fd) != 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot write %s: %s."), path, g_strerror (saved));
      return NULL;
    }
  return g_steal_pointer (&tmp);
}

static gboolean
rename_checked (const char  *from,
                const char  *to,
                GError     **error)
{
  if (g_rename (from, to) != 0)
    {
      int saved = errno;
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot rename %s to %s: %s."), from, to, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

gboolean
pt_write_file_atomic (const char  *path,
                      const void  *contents,
                      gsize        length,
                      GError     **error)
{
  g_autofree char *tmp = NULL;
  g_autofree char *dir = NULL;

  g_return_val_if_fail (path != NULL, FALSE);

  tmp = write_temp (path, contents, length, error);
  if (tmp == NULL)
    return FALSE;
  if (!rename_checked (tmp, path, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  dir = g_path_get_dirname (path);
  return fsync_dir (dir, error);
}

/* ---- Encoding --------------------------------------------------------- */

static void
put_u32 (GByteArray *out,
         guint32     v)
{
  guint32 le = GUINT32_TO_LE (v);

  g_byte_array_append (out, (const guint8 *) &le, 4);
}

static void
put_u64 (GByteArray *out,
         guint64     v)
{
  guint64 le = GUINT64_TO_LE (v);

  g_byte_array_append (out, (const guint8 *) &le, 8);
}

static void
put_str (GByteArray *out,
         const char *s)
{
  gsize n = s != NULL ? strlen (s) : 0;

  g_assert (n <= MAX_STRING);
  put_u32 (out, (guint32) n);
  g_byte_array_append (out, (const guint8 *) s, (guint) n);
}

static GByteArray *
encode (const PtCheckpointIdentity *identity,
        const PtBlob               *blobs,
        guint                       n_blobs)
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GChecksum) sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 digest[SHA256_LEN];
  gsize digest_len = SHA256_LEN;

  g_byte_array_append (out, (const guint8 *) checkpoint_magic, sizeof checkpoint_magic);
  put_u32 (out, PT_CHECKPOINT_VERSION);
  put_u32 (out, n_blobs);
  put_str (out, identity->method);
  put_str (out, identity->architecture);
  put_str (out, identity->config_hash);
  for (guint i = 0; i < n_blobs; i++)
    {
      put_str (out, blobs[i].name);
      put_u32 (out, blobs[i].type);
      put_u64 (out, blobs[i].count);
    }
  for (guint i = 0; i < n_blobs; i++)
    {
      gsize size = blobs[i].count * pt_blob_type_size (blobs[i].type);

      /* Stored little-endian; every supported host is. */
      G_STATIC_ASSERT (G_BYTE_ORDER == G_LITTLE_ENDIAN);
      if (size > 0)
        g_byte_array_append (out, blobs[i].data, (guint) size);
    }
  g_checksum_update (sum, out->data, out->len);
  g_checksum_get_digest (sum, digest, &digest_len);
  g_byte_array_append (out, digest, SHA256_LEN);
  return out;
}

gboolean
pt_checkpoint_write (const char                 *path,
                     const PtCheckpointIdentity *identity,
                     const PtBlob               *blobs,
                     guint                       n_blobs,
                     GError                    **error)
{
  g_autoptr(GByteArray) bytes = NULL;

  g_return_val_if_fail (path != NULL && identity != NULL, FALSE);

  bytes = encode (identity, blobs, n_blobs);
  return pt_write_file_atomic (path, bytes->data, bytes->len, error);
}

gboolean
pt_checkpoint_save_rotate (const char                 *dir,
                           const PtCheckpointIdentity *identity,
                           const PtBlob               *blobs,
                           guint                       n_blobs,
                           GError                    **error)
{
  g_autofree char *last = g_build_filename (dir, "last", NULL);
  g_autofree char *previous = g_build_filename (dir, "previous", NULL);
  g_autofree char *tmp = NULL;
  g_autoptr(GByteArray) bytes = NULL;

  if (g_mkdir_with_parents (dir, 0755) != 0)
    {
      int saved = errno;
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO,
                   _("Cannot create the folder %s: %s."), dir, g_strerror (saved));
      return FALSE;
    }

  /* Temp files of a writer that was killed are garbage. */
  {
    g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
    const char *name;

    while (d != NULL && (name = g_dir_read_name (d)) != NULL)
      if (g_str_has_prefix (name, "last.tmp-"))
        {
          g_autofree char *stale = g_build_filename (dir, name, NULL);

          g_unlink (stale);
        }
  }

  bytes = encode (identity, blobs, n_blobs);
  /* The new generation is complete on disk before the old one moves; a crash
   * between the renames leaves "previous" (and the temp file) loadable. */
  tmp = write_temp (last, bytes->data, bytes->len, error);
  if (tmp == NULL)
    return FALSE;
  if (g_file_test (last, G_FILE_TEST_EXISTS) && !rename_checked (last, previous, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  if (!rename_checked (tmp, last, error))
    {
      g_unlink (tmp);
      return FALSE;
    }
  return fsync_dir (dir, error);
}

/* ---- Decoding --------------------------------------------------------- */

typedef struct {
  char    *name;
  guint32  type;
  guint64  count;
  gsize    offset;   /* of the data in the file */
} BlobEntry;

typedef struct {
  const char *path;
  guint8     *data;
  gsize       len;
  gsize       pos;
  char       *method;
  char       *architecture;
  char       *config_hash;
  guint       n_entries;
  BlobEntry  *entries;
} Reader;

static void
reader_clear (Reader *r)
{
  for (guint i = 0; i < r->n_entries; i++)
    g_free (r->entries[i].name);
  g_free (r->entries);
  g_free (r->method);
  g_free (r->architecture);
  g_free (r->config_hash);
  g_free (r->data);
}

static gboolean
truncated (Reader  *r,
           GError **error)
{
  g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
               _("The checkpoint %s is truncated or corrupt (its header runs past the end)."),
               r->path);
  return FALSE;
}

static gboolean
get_u32 (Reader   *r,
         guint32  *v,
         GError  **error)
{
  guint32 le;

  if (r->len - r->pos < 4)
    return truncated (r, error);
  memcpy (&le, r->data + r->pos, 4);
  r->pos += 4;
  *v = GUINT32_FROM_LE (le);
  return TRUE;
}

static gboolean
get_u64 (Reader   *r,
         guint64  *v,
         GError  **error)
{
  guint64 le;

  if (r->len - r->pos < 8)
    return truncated (r, error);
  memcpy (&le, r->data + r->pos, 8);
  r->pos += 8;
  *v = GUINT64_FROM_LE (le);
  return TRUE;
}

static gboolean
get_str (Reader   *r,
         char    **s,
         GError  **error)
{
  guint32 n;

  if (!get_u32 (r, &n, error))
    return FALSE;
  if (n > MAX_STRING || r->len - r->pos < n)
    return truncated (r, error);
  *s = g_strndup ((const char *) r->data + r->pos, n);
  r->pos += n;
  if (!g_utf8_validate (*s, -1, NULL) || strlen (*s) != n)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
                   _("The checkpoint %s is corrupt (a name is not valid text)."), r->path);
      return FALSE;
    }
  return TRUE;
}

/* Reads and validates the file itself: everything but the match against a
 * method. */
static gboolean
reader_open (Reader      *r,
             const char  *path,
             GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GChecksum) sum = NULL;
  guint8 digest[SHA256_LEN];
  gsize digest_len = SHA256_LEN;
  guint32 version, n_blobs;
  gsize body, data_size = 0;

  memset (r, 0, sizeof *r);
  r->path = path;
  if (!g_file_get_contents (path, (char **) &r->data, &r->len, &local_error))
    {
      g_set_error (error, PT_CHECKPOINT_ERROR,
                   g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? PT_CHECKPOINT_ERROR_NOT_FOUND : PT_CHECKPOINT_ERROR_IO,
                   _("Cannot read the checkpoint %s: %s."), path, local_error->message);
      return FALSE;
    }
  if (r->len < sizeof checkpoint_magic ||
      memcmp (r->data, checkpoint_magic, sizeof checkpoint_magic) != 0)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
                   _("The file %s is not a Pretext checkpoint (wrong magic bytes)."), path);
      return FALSE;
    }
  r->pos = sizeof checkpoint_magic;
  if (!get_u32 (r, &version, error))
    return FALSE;
  if (version != PT_CHECKPOINT_VERSION)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_VERSION,
                   _("The checkpoint %s has format version %u; this Pretext reads version %u."),
                   path, version, PT_CHECKPOINT_VERSION);
      return FALSE;
    }
  if (r->len < r->pos + SHA256_LEN)
    return truncated (r, error);

  /* Checksum first: a cut or a flipped bit anywhere is caught here, and
   * the structure below is only parsed from checked bytes. */
  body = r->len - SHA256_LEN;
  sum = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (sum, r->data, body);
  g_checksum_get_digest (sum, digest, &digest_len);
  if (memcmp (digest, r->data + body, SHA256_LEN) != 0)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
                   _("The checkpoint %s is damaged: its checksum does not match its content "
                     "(truncated or altered file)."), path);
      return FALSE;
    }
  r->len = body;

  if (!get_u32 (r, &n_blobs, error))
    return FALSE;
  /* Each entry takes at least 16 bytes: bound the allocation by the file. */
  if ((gsize) n_blobs > (r->len - r->pos) / 16)
    return truncated (r, error);
  if (!get_str (r, &r->method, error) ||
      !get_str (r, &r->architecture, error) ||
      !get_str (r, &r->config_hash, error))
    return FALSE;
  r->entries = g_new0 (BlobEntry, MAX (n_blobs, 1));
  for (guint i = 0; i < n_blobs; i++)
    {
      BlobEntry *e = &r->entries[i];
      gsize elem;

      r->n_entries = i + 1;
      if (!get_str (r, &e->name, error) ||
          !get_u32 (r, &e->type, error) ||
          !get_u64 (r, &e->count, error))
        return FALSE;
      elem = pt_blob_type_size (e->type);
      if (elem == 0)
        {
          g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
                       _("The checkpoint %s is corrupt (blob “%s” has unknown type %u)."),
                       path, e->name, e->type);
          return FALSE;
        }
      if (e->count > (G_MAXSIZE - data_size) / elem / 2)
        return truncated (r, error);
      data_size += e->count * elem;
    }
  if (r->len - r->pos != data_size)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT,
                   _("The checkpoint %s is corrupt: its blobs need %zu "
                     "bytes but it holds %zu."),
                   path, data_size, r->len - r->pos);
      return FALSE;
    }
  for (guint i = 0; i < r->n_entries; i++)
    {
      r->entries[i].offset = r->pos;
      r->pos += r->entries[i].count * pt_blob_type_size (r->entries[i].type);
    }
  return TRUE;
}

gboolean
pt_checkpoint_verify (const char  *path,
                      char       **method,
                      char       **architecture,
                      char       **config_hash,
                      GError     **error)
{
  Reader r;
  gboolean ok = reader_open (&r, path, error);

  if (ok)
    {
      if (method != NULL)
        *method = g_steal_pointer (&r.method);
      if (architecture != NULL)
        *architecture = g_steal_pointer (&r.architecture);
      if (config_hash != NULL)
        *config_hash = g_steal_pointer (&r.config_hash);
    }
  reader_clear (&r);
  return ok;
}

static gboolean
reader_match (Reader                     *r,
              const PtCheckpointIdentity *identity,
              const PtBlob               *blobs,
              guint                       n_blobs,
              gboolean                    allow_extra,
              int                        *map,
              GError                    **error)
{
  if (g_strcmp0 (r->method, identity->method) != 0)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                   _("The checkpoint %s belongs to method “%s”, not “%s”."),
                   r->path, r->method, identity->method);
      return FALSE;
    }
  if (g_strcmp0 (r->architecture, identity->architecture) != 0)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                   _("The checkpoint %s was made for the architecture “%s”, not “%s”."),
                   r->path, r->architecture, identity->architecture);
      return FALSE;
    }
  if (identity->config_hash != NULL && g_strcmp0 (r->config_hash, identity->config_hash) != 0)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                   _("The checkpoint %s was made with another configuration "
                     "(config.ini changed since it was written)."), r->path);
      return FALSE;
    }
  if (allow_extra ? r->n_entries < n_blobs : r->n_entries != n_blobs)
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                   _("The checkpoint %s holds %u arrays where %u are expected."),
                   r->path, r->n_entries, n_blobs);
      return FALSE;
    }
  for (guint i = 0; i < n_blobs; i++)
    {
      map[i] = -1;
      for (guint j = 0; j < r->n_entries; j++)
        if (strcmp (r->entries[j].name, blobs[i].name) == 0)
          {
            map[i] = (int) j;
            break;
          }
      if (map[i] < 0)
        {
          g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                       _("The checkpoint %s has no array “%s”."), r->path, blobs[i].name);
          return FALSE;
        }
      if (r->entries[map[i]].type != blobs[i].type ||
          r->entries[map[i]].count != blobs[i].count)
        {
          g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH,
                       _("The checkpoint %s holds “%s” as %llu %s values "
                         "where %zu %s are expected."),
                       r->path, blobs[i].name,
                       (unsigned long long) r->entries[map[i]].count,
                       pt_blob_type_name (r->entries[map[i]].type),
                       blobs[i].count, pt_blob_type_name (blobs[i].type));
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
load_file (const char                 *path,
           const PtCheckpointIdentity *identity,
           const PtBlob               *blobs,
           guint                       n_blobs,
           gboolean                    allow_extra,
           GError                    **error)
{
  g_autofree int *map = g_new0 (int, MAX (n_blobs, 1));
  Reader r;
  gboolean ok;

  g_return_val_if_fail (path != NULL && identity != NULL, FALSE);

  ok = reader_open (&r, path, error) &&
       reader_match (&r, identity, blobs, n_blobs, allow_extra, map, error);
  if (ok)
    for (guint i = 0; i < n_blobs; i++)
      {
        const BlobEntry *e = &r.entries[map[i]];
        gsize size = e->count * pt_blob_type_size (e->type);

        if (size > 0)
          memcpy (blobs[i].data, r.data + e->offset, size);
      }
  reader_clear (&r);
  return ok;
}

gboolean
pt_checkpoint_load (const char                 *path,
                    const PtCheckpointIdentity *identity,
                    const PtBlob               *blobs,
                    guint                       n_blobs,
                    GError                    **error)
{
  return load_file (path, identity, blobs, n_blobs, FALSE, error);
}

gboolean
pt_checkpoint_load_subset (const char                 *path,
                           const PtCheckpointIdentity *identity,
                           const PtBlob               *blobs,
                           guint                       n_blobs,
                           GError                    **error)
{
  return load_file (path, identity, blobs, n_blobs, TRUE, error);
}

static gboolean
load_latest (const char                 *dir,
             const PtCheckpointIdentity *identity,
             const PtBlob               *blobs,
             guint                       n_blobs,
             gboolean                    allow_extra,
             char                      **used_path,
             char                      **warning,
             GError                    **error)
{
  g_autofree char *last = g_build_filename (dir, "last", NULL);
  g_autofree char *previous = g_build_filename (dir, "previous", NULL);
  g_autoptr(GError) last_error = NULL;
  g_autoptr(GError) previous_error = NULL;

  if (used_path != NULL)
    *used_path = NULL;
  if (warning != NULL)
    *warning = NULL;

  if (load_file (last, identity, blobs, n_blobs, allow_extra, &last_error))
    {
      if (used_path != NULL)
        *used_path = g_steal_pointer (&last);
      return TRUE;
    }
  if (load_file (previous, identity, blobs, n_blobs, allow_extra, &previous_error))
    {
      if (used_path != NULL)
        *used_path = g_steal_pointer (&previous);
      if (warning != NULL)
        *warning = g_strdup_printf (_("%s Loaded the previous checkpoint instead."),
                                    last_error->message);
      return TRUE;
    }
  if (g_error_matches (last_error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_NOT_FOUND) &&
      g_error_matches (previous_error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_NOT_FOUND))
    {
      g_set_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_NOT_FOUND,
                   _("There is no checkpoint in %s."), dir);
      return FALSE;
    }
  if (g_error_matches (previous_error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&last_error));
      return FALSE;
    }
  g_set_error (error, PT_CHECKPOINT_ERROR, last_error->code,
               "%s %s", last_error->message, previous_error->message);
  return FALSE;
}

gboolean
pt_checkpoint_load_latest (const char                 *dir,
                           const PtCheckpointIdentity *identity,
                           const PtBlob               *blobs,
                           guint                       n_blobs,
                           char                      **used_path,
                           char                      **warning,
                           GError                    **error)
{
  return load_latest (dir, identity, blobs, n_blobs, FALSE, used_path, warning, error);
}

gboolean
pt_checkpoint_load_latest_subset (const char                 *dir,
                                  const PtCheckpointIdentity *identity,
                                  const PtBlob               *blobs,
                                  guint                       n_blobs,
                                  char                      **used_path,
                                  char                      **warning,
                                  GError                    **error)
{
  return load_latest (dir, identity, blobs, n_blobs, TRUE, used_path, warning, error);
}
