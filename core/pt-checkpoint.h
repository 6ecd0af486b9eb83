/* pt-checkpoint.h: crash-safe checkpoint files of named blobs.
 *
 * File format (all integers little-endian):
 *
 *   "PTCKPT\r\n"                 8-byte magic
 *   u32 version                  PT_CHECKPOINT_VERSION
 *   u32 n_blobs
 *   str method                   str = u32 length + bytes (no NUL)
 *   str architecture
 *   str config_hash              hex SHA-256 of the run's config.ini
 *   n_blobs x { str name, u32 type, u64 count }
 *   the blobs' data, back to back
 *   32 bytes SHA-256 of everything before (any flipped bit or cut is caught)
 *
 * Writing is atomic: a temp file in the same folder, every write checked,
 * fsync, rename, fsync of the folder. pt_checkpoint_save_rotate keeps the
 * previous generation as "previous" beside "last".
 *
 * Loading validates everything (magic, version, sizes, checksums, method,
 * architecture, config hash, blob names, types and counts) before it copies
 * a single byte into the live state, and fails with one sentence naming the
 * file and the problem.
 */
#pragma once

#include <glib.h>
#include "pt-method.h"

G_BEGIN_DECLS

#define PT_CHECKPOINT_ERROR (pt_checkpoint_error_quark ())

typedef enum {
  PT_CHECKPOINT_ERROR_IO,         /* cannot read or write the file */
  PT_CHECKPOINT_ERROR_CORRUPT,    /* bad magic, truncated, checksum mismatch */
  PT_CHECKPOINT_ERROR_VERSION,    /* written by an unknown format version */
  PT_CHECKPOINT_ERROR_MISMATCH,   /* another method, architecture, config or state layout */
  PT_CHECKPOINT_ERROR_NOT_FOUND,  /* no checkpoint in the folder */
} PtCheckpointError;

#define PT_CHECKPOINT_VERSION 1

GQuark        pt_checkpoint_error_quark   (void);

/* What a checkpoint is for; all three must match on load. */
typedef struct {
  const char *method;
  const char *architecture;
  const char *config_hash;
} PtCheckpointIdentity;

/* Writes blobs to path atomically (temp file + fsync + rename + folder fsync). */
gboolean      pt_checkpoint_write         (const char                 *path,
                                           const PtCheckpointIdentity *identity,
                                           const PtBlob               *blobs,
                                           guint                       n_blobs,
                                           GError                    **error);

/* Loads path into blobs: validates the whole file against identity and the
 * expected blob list (same names, types and counts, any order) first, then
 * copies into each blob's data. On error nothing was written to. */
gboolean      pt_checkpoint_load          (const char                 *path,
                                           const PtCheckpointIdentity *identity,
                                           const PtBlob               *blobs,
                                           guint                       n_blobs,
                                           GError                    **error);

/* The same, but the file may hold more arrays than listed (a loader
 * position a probe does not need, say): only the listed ones are checked
 * and copied. */
gboolean      pt_checkpoint_load_subset   (const char                 *path,
                                           const PtCheckpointIdentity *identity,
                                           const PtBlob               *blobs,
                                           guint                       n_blobs,
                                           GError                    **error);

/* Only validates the file itself (magic, version, structure, checksums) and
 * returns its identity strings (free with g_free) when not NULL. */
gboolean      pt_checkpoint_verify        (const char                 *path,
                                           char                      **method,
                                           char                      **architecture,
                                           char                      **config_hash,
                                           GError                    **error);

/* In folder dir: renames "last" to "previous" and writes a new "last". */
gboolean      pt_checkpoint_save_rotate   (const char                 *dir,
                                           const PtCheckpointIdentity *identity,
                                           const PtBlob               *blobs,
                                           guint                       n_blobs,
                                           GError                    **error);

/* In folder dir: loads "last", or "previous" when "last" is missing or bad.
 * used_path (optional) receives the file loaded; warning (optional) a
 * sentence explaining why "last" was skipped (NULL when it was not). When
 * both fail, the error names both problems. */
gboolean      pt_checkpoint_load_latest   (const char                 *dir,
                                           const PtCheckpointIdentity *identity,
                                           const PtBlob               *blobs,
                                           guint                       n_blobs,
                                           char                      **used_path,
                                           char                      **warning,
                                           GError                    **error);

/* pt_checkpoint_load_latest with pt_checkpoint_load_subset's rule. */
gboolean      pt_checkpoint_load_latest_subset (const char                 *dir,
                                                const PtCheckpointIdentity *identity,
                                                const PtBlob               *blobs,
                                                guint                       n_blobs,
                                                char                      **used_path,
                                                char                      **warning,
                                                GError                    **error);

/* Writes contents to path atomically and durably (used for config.ini too). */
gboolean      pt_write_file_atomic        (const char                 *path,
                                           const void                 *contents,
                                           gsize                       length,
                                           GError                    **error);

G_END_DECLS
