/* pt-npy.h: NumPy .npy files, the array format every Python tool reads.
 *
 * Writing: version 1.0, little-endian float32 N x D ('<f4') or int64 1-D
 * ('<i8'), with the header numpy 1.24 writes byte for byte (the dict in
 * sorted key order, 21 - len(str(N)) spare spaces, space padding and a
 * final '\n' so the data starts at a multiple of 64). Files are written
 * atomically.
 *
 * Reading: versions 1.0, 2.0 and 3.0. The header dict is parsed strictly
 * (exactly the keys descr, fortran_order and shape; descr one of '<f4',
 * '<f8', '<i8', '<i4', '|u1'; C order only; a shape of 1 or 2 dimensions)
 * and the file size must equal header plus data, computed with checked
 * multiplication. A hostile file is refused with a sentence naming the file
 * and the problem; nothing is allocated from its claims before that.
 */
#pragma once

#include <gio/gio.h>
#include "pt-atomic.h"

G_BEGIN_DECLS

#define PT_NPY_ERROR (pt_npy_error_quark ())

typedef enum {
  PT_NPY_ERROR_INVALID,      /* not a well-formed .npy file */
  PT_NPY_ERROR_UNSUPPORTED,  /* well-formed, but a type or layout Pretext does not read */
} PtNpyError;

typedef enum {
  PT_NPY_F4,   /* '<f4' */
  PT_NPY_F8,   /* '<f8' */
  PT_NPY_I8,   /* '<i8' */
  PT_NPY_I4,   /* '<i4' */
  PT_NPY_U1,   /* '|u1' */
} PtNpyDtype;

/* What a validated header says. For 1-D arrays shape[1] is 1. */
typedef struct {
  guint8     major_version;
  PtNpyDtype dtype;
  guint      ndim;          /* 1 or 2 */
  guint64    shape[2];
  gsize      item_size;     /* bytes per element */
  gsize      data_offset;   /* where the data starts */
  gsize      data_size;     /* shape[0] * shape[1] * item_size */
} PtNpyInfo;

GQuark     pt_npy_error_quark     (void);

/* The full preamble (magic, version 1.0, length, padded dict) for a C-order
 * array of @descr ("<f4", "<i8", ...) and shape (1 or 2 dims). */
GBytes    *pt_npy_build_header    (const char    *descr,
                                   const guint64 *shape,
                                   guint          ndim);

/* Writes an N x D float32 array / a 1-D int64 array into an atomic file
 * (which may belong to a PtAtomicSet). */
gboolean   pt_npy_write_f32       (PtAtomicFile  *file,
                                   const float   *data,
                                   guint64        n_rows,
                                   guint64        n_cols,
                                   GError       **error);
gboolean   pt_npy_write_i64       (PtAtomicFile  *file,
                                   const gint64  *data,
                                   guint64        n,
                                   GError       **error);

/* The same as whole files, written atomically. */
gboolean   pt_npy_save_f32        (const char    *path,
                                   const float   *data,
                                   guint64        n_rows,
                                   guint64        n_cols,
                                   GError       **error);
gboolean   pt_npy_save_i64        (const char    *path,
                                   const gint64  *data,
                                   guint64        n,
                                   GError       **error);

/* Validates a whole file's bytes (@name is used in messages) and fills
 * @info. Checks everything, including that the size matches. */
gboolean   pt_npy_parse_header    (const guint8  *contents,
                                   gsize          length,
                                   const char    *name,
                                   PtNpyInfo     *info,
                                   GError       **error);

/* A 2-D float array ('<f4' or '<f8', converted) from file bytes / a file.
 * Returns a new n_rows x n_cols buffer (g_free), NULL on error. */
float     *pt_npy_parse_f32       (const guint8  *contents,
                                   gsize          length,
                                   const char    *name,
                                   guint64       *n_rows,
                                   guint64       *n_cols,
                                   GError       **error);
float     *pt_npy_load_f32        (const char    *path,
                                   guint64       *n_rows,
                                   guint64       *n_cols,
                                   GError       **error);

/* A 1-D integer array (or N x 1) of '<i8', '<i4' or '|u1', as int64. */
gint64    *pt_npy_parse_i64       (const guint8  *contents,
                                   gsize          length,
                                   const char    *name,
                                   guint64       *n,
                                   GError       **error);
gint64    *pt_npy_load_i64        (const char    *path,
                                   guint64       *n,
                                   GError       **error);

G_END_DECLS
