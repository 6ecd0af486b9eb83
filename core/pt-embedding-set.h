/* pt-embedding-set.h: embeddings made elsewhere, brought into Pretext.
 *
 * A set is an N x D float matrix from a .npy file, with optional labels
 * and an optional folder of images in the same order as the rows.
 *
 * Labels come from a .npy of integers (int64, int32 or uint8; -1 means
 * unlabeled) or a text file with one label per line: when every line is an
 * integer they are indices, otherwise they are class names, numbered in
 * sorted (byte) order and kept. Images: the PNG and JPEG files directly in
 * the folder, sorted by file name (byte order), one per row. Counts must
 * match; every problem is reported with the file and what is wrong.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define PT_EMBEDDING_SET_ERROR (pt_embedding_set_error_quark ())

typedef enum {
  PT_EMBEDDING_SET_ERROR_INVALID,   /* a file's content is wrong */
  PT_EMBEDDING_SET_ERROR_MISMATCH,  /* counts of rows, labels and images differ */
  PT_EMBEDDING_SET_ERROR_NOT_FOUND, /* a file or folder is missing or unreadable */
} PtEmbeddingSetError;

/* Largest label index accepted (labels are class numbers, not ids). */
#define PT_LABELS_MAX_CLASS 65535

typedef struct {
  guint   n;
  int    *values;       /* n labels, -1 when unlabeled */
  guint   n_classes;    /* 1 + largest label, 0 when all unlabeled */
  char  **class_names;  /* n_classes names (NULL-terminated), or NULL for numeric labels */
} PtLabels;

typedef struct {
  guint   n;            /* rows */
  guint   d;            /* columns */
  float  *data;         /* n x d */
  PtLabels *labels;     /* or NULL */
  char  **image_paths;  /* n paths (NULL-terminated), or NULL */
} PtEmbeddingSet;

GQuark          pt_embedding_set_error_quark  (void);

/* Reads labels from a .npy (by its signature) or a one-column text file. */
PtLabels       *pt_labels_load               (const char  *path,
                                              GError     **error);
/* The same from text in memory (@name in messages). */
PtLabels       *pt_labels_parse_text         (const char  *text,
                                              gsize        length,
                                              const char  *name,
                                              GError     **error);
void            pt_labels_free               (PtLabels    *labels);

/* The PNG/JPEG files of @dir, sorted (a new NULL-terminated array). */
char          **pt_embedding_set_list_images (const char  *dir,
                                              GError     **error);

/* Loads and cross-checks a set; @labels_path and @image_dir may be NULL. */
PtEmbeddingSet *pt_embedding_set_load        (const char  *npy_path,
                                              const char  *labels_path,
                                              const char  *image_dir,
                                              GError     **error);
void            pt_embedding_set_free        (PtEmbeddingSet *set);

/* pt_embedding_set_load on a GTask worker; the paths are copied. */
void            pt_embedding_set_load_async  (const char          *npy_path,
                                              const char          *labels_path,
                                              const char          *image_dir,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
PtEmbeddingSet *pt_embedding_set_load_finish (GAsyncResult        *result,
                                              GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtLabels, pt_labels_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtEmbeddingSet, pt_embedding_set_free)

G_END_DECLS
