/* pt-safetensors.h: named tensors in the safetensors format.
 *
 * Layout: an unsigned 64-bit little-endian header length N, N bytes of JSON
 * (an object starting with '{', padded with spaces so N is a multiple of
 * 8), then the data area. Each tensor's entry gives its dtype, shape and
 * data_offsets [begin, end) relative to the data area; "__metadata__" maps
 * strings to strings.
 *
 * Writing: F32 (and I64) tensors, little endian, contiguous in the order added,
 * metadata as strings; the file is written atomically.
 *
 * Reading checks every rule before touching tensor data: N within the file
 * and at most 100,000,000; the header starts with '{' and is a JSON object;
 * each dtype known (F32, F16, BF16, F64, I64); shapes of non-negative
 * integers whose byte size is computed with checked multiplication and
 * equals the offsets' span; spans contiguous from 0 with no gap or overlap,
 * the last ending exactly at the end of the file; metadata values strings.
 * F16, BF16 and F64 are converted to float on request; I64 reads as int64.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PT_SAFETENSORS_ERROR (pt_safetensors_error_quark ())

typedef enum {
  PT_SAFETENSORS_ERROR_INVALID,     /* breaks a rule of the format */
  PT_SAFETENSORS_ERROR_UNSUPPORTED, /* a dtype Pretext does not read */
  PT_SAFETENSORS_ERROR_NOT_FOUND,   /* no tensor of that name */
  PT_SAFETENSORS_ERROR_MISMATCH,    /* a tensor's type or shape is not the one asked for */
} PtSafetensorsError;

typedef enum {
  PT_SAFETENSORS_F32,
  PT_SAFETENSORS_F16,
  PT_SAFETENSORS_BF16,
  PT_SAFETENSORS_F64,
  PT_SAFETENSORS_I64,
} PtSafetensorsDtype;

/* Largest header the reader accepts, as in the reference implementation. */
#define PT_SAFETENSORS_MAX_HEADER 100000000
/* Most dimensions a tensor may have. */
#define PT_SAFETENSORS_MAX_DIMS 8

GQuark pt_safetensors_error_quark (void);

/* ---- Writer ---- */

typedef struct _PtSafetensorsWriter PtSafetensorsWriter;

PtSafetensorsWriter *pt_safetensors_writer_new          (void);
void                 pt_safetensors_writer_free         (PtSafetensorsWriter *writer);

/* Adds a float32 tensor. @data is borrowed and must stay valid until the
 * write; @shape has @ndim (0..8) entries. Names must be unique, non-empty
 * and not "__metadata__" (a programmer error otherwise). */
void                 pt_safetensors_writer_add_f32      (PtSafetensorsWriter *writer,
                                                         const char          *name,
                                                         const float         *data,
                                                         const guint64       *shape,
                                                         guint                ndim);

/* Adds an int64 tensor (e.g. BatchNorm's num_batches_tracked), same rules. */
void                 pt_safetensors_writer_add_i64      (PtSafetensorsWriter *writer,
                                                         const char          *name,
                                                         const gint64        *data,
                                                         const guint64       *shape,
                                                         guint                ndim);

/* Sets a "__metadata__" string entry (kept in insertion order). */
void                 pt_safetensors_writer_set_metadata (PtSafetensorsWriter *writer,
                                                         const char          *key,
                                                         const char          *value);

/* The header's bytes as written: length prefix, JSON and padding. */
GBytes              *pt_safetensors_writer_build_header (PtSafetensorsWriter *writer);

/* Writes the file atomically. */
gboolean             pt_safetensors_writer_save         (PtSafetensorsWriter *writer,
                                                         const char          *path,
                                                         GError             **error);

/* ---- Reader ---- */

typedef struct _PtSafetensors PtSafetensors;

/* Maps and validates a file. */
PtSafetensors *pt_safetensors_load            (const char     *path,
                                               GError        **error);
/* Validates bytes already in memory (@name is used in messages). */
PtSafetensors *pt_safetensors_new_from_bytes  (GBytes         *bytes,
                                               const char     *name,
                                               GError        **error);
void           pt_safetensors_free            (PtSafetensors  *st);

/* Tensors in data order. */
guint          pt_safetensors_get_n_tensors   (PtSafetensors  *st);
const char    *pt_safetensors_get_name        (PtSafetensors  *st,
                                               guint           index);
/* Index of the tensor called @name, or -1. */
int            pt_safetensors_lookup          (PtSafetensors  *st,
                                               const char     *name);
PtSafetensorsDtype pt_safetensors_get_dtype   (PtSafetensors  *st,
                                               guint           index);
/* Shape (borrowed) and dimension count. */
const guint64 *pt_safetensors_get_shape       (PtSafetensors  *st,
                                               guint           index,
                                               guint          *ndim);
guint64        pt_safetensors_get_n_elements  (PtSafetensors  *st,
                                               guint           index);
/* The raw little-endian bytes of a tensor (borrowed). */
const guint8  *pt_safetensors_get_data        (PtSafetensors  *st,
                                               guint           index,
                                               gsize          *size);

/* Copies a floating tensor into @out as float32 (F16/BF16/F64 converted),
 * checking that it has exactly @n_elements elements. */
gboolean       pt_safetensors_read_f32        (PtSafetensors  *st,
                                               const char     *name,
                                               float          *out,
                                               guint64         n_elements,
                                               GError        **error);
/* Copies an I64 tensor into @out, checking the element count. */
gboolean       pt_safetensors_read_i64        (PtSafetensors  *st,
                                               const char     *name,
                                               gint64         *out,
                                               guint64         n_elements,
                                               GError        **error);

/* One named parameter tensor of a model (e.g. from the engine's registry). */
typedef struct {
  const char    *name;
  float         *data;    /* filled by pt_safetensors_read_named */
  const guint64 *shape;
  guint          ndim;
} PtNamedTensor;

/* Loads a whole set of parameters, all or nothing: first checks that each
 * of @tensors exists with exactly its shape and a floating dtype, and
 * (unless @allow_extra) that the file holds no other floating tensor; only
 * then copies them. On error no destination has been written. */
gboolean       pt_safetensors_read_named      (PtSafetensors       *st,
                                               const PtNamedTensor *tensors,
                                               guint                n_tensors,
                                               gboolean             allow_extra,
                                               GError             **error);

/* A "__metadata__" value, or NULL. */
const char    *pt_safetensors_get_metadata    (PtSafetensors  *st,
                                               const char     *key);
/* Metadata keys (borrowed strings in a new NULL-terminated array; g_free). */
const char   **pt_safetensors_list_metadata   (PtSafetensors  *st);

/* Exact conversions of IEEE half and bfloat16 values to float. */
float          pt_half_to_float               (guint16         h);
float          pt_bfloat16_to_float           (guint16         b);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtSafetensorsWriter, pt_safetensors_writer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtSafetensors, pt_safetensors_free)

G_END_DECLS
