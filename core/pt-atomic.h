/* pt-atomic.h: files written whole or not at all.
 *
 * A PtAtomicSet writes several files as a unit: each goes to a temporary
 * name in its target folder, and only when every one of them is complete
 * are they fsynced and renamed over their targets, and the folders fsynced.
 * On any failure every temporary file is removed and the previous files
 * are left as they were (a target replaced before a later rename failed is
 * put back from a hard-linked copy of its old version).
 *
 * A lone PtAtomicFile is a set of one, for a single stream. Every write is
 * checked; the first failure sticks, so a writer may check only at commit.
 * Not thread-safe: one thread writes a set.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _PtAtomicSet  PtAtomicSet;
typedef struct _PtAtomicFile PtAtomicFile;

/* A new, empty set. */
PtAtomicSet  *pt_atomic_set_new              (void);

/* Frees the set; if it was not committed, removes its temporary files and
 * leaves the targets untouched. */
void          pt_atomic_set_free             (PtAtomicSet *set);

/* Starts a file of the set that will replace @path. Returns a handle owned
 * by the set, or NULL (folder missing or not writable, path already in the
 * set). */
PtAtomicFile *pt_atomic_set_add              (PtAtomicSet *set,
                                              const char  *path,
                                              GError     **error);

/* Adds a whole file from a buffer. */
gboolean      pt_atomic_set_add_contents     (PtAtomicSet *set,
                                              const char  *path,
                                              const void  *data,
                                              gsize        len,
                                              GError     **error);

/* Finishes every file (flush, fsync, close), renames them all over their
 * targets and fsyncs the folders. On failure nothing visible changes. The
 * set may only be freed afterwards. */
gboolean      pt_atomic_set_commit           (PtAtomicSet *set,
                                              GError     **error);

/* A single file written as a stream; commit or free (which aborts). Only
 * for files from pt_atomic_file_new: a set's files belong to the set. */
PtAtomicFile *pt_atomic_file_new             (const char  *path,
                                              GError     **error);
gboolean      pt_atomic_file_commit          (PtAtomicFile *file,
                                              GError      **error);
void          pt_atomic_file_free            (PtAtomicFile *file);

/* Appends bytes (buffered). FALSE with @error on failure, and every later
 * write and the commit fail too. */
gboolean      pt_atomic_file_write           (PtAtomicFile *file,
                                              const void   *data,
                                              gsize         len,
                                              GError      **error);
gboolean      pt_atomic_file_write_string    (PtAtomicFile *file,
                                              const char   *str,
                                              GError      **error);

/* The target path (not the temporary one). */
const char   *pt_atomic_file_get_path        (PtAtomicFile *file);

/* Writes a whole buffer to @path atomically and durably. */
gboolean      pt_atomic_write_contents       (const char  *path,
                                              const void  *data,
                                              gsize        len,
                                              GError     **error);

/* Testing only: makes the @nth (1-based) later operation of that kind fail
 * as if the disk said so (ENOSPC for writes, EIO for fsync and rename).
 * 0 disarms. Process-wide, not thread-safe. */
typedef enum {
  PT_ATOMIC_FAIL_WRITE,
  PT_ATOMIC_FAIL_FSYNC,
  PT_ATOMIC_FAIL_RENAME,
} PtAtomicFailPoint;

void          pt_atomic_testing_fail         (PtAtomicFailPoint point,
                                              guint             nth);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtAtomicSet, pt_atomic_set_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtAtomicFile, pt_atomic_file_free)

G_END_DECLS
