/* pt-projector.h: embeddings for TensorBoard's projector and for spreadsheets.
 *
 * A projector bundle is a folder holding
 *   tensors.tsv             one row per point, tab-separated floats, no header
 *   metadata.tsv            label name, label index, file name (whichever are
 *                           known); a header row only with two or more columns
 *   sprite.png              thumbnails tiled row-major in a square grid of
 *                           ceil(sqrt(N)) cells, at most 8192 x 8192 pixels
 *                           (the thumbnail edge shrinks to fit)
 *   projector_config.pbtxt  embeddings { tensor_path metadata_path sprite { ... } }
 * written atomically as a set. The CSV export is one file:
 *   filenames,embedding_0,...,embedding_{D-1},labels
 * with RFC 4180 quoting. Numbers are written with "%.9g" through
 * g_ascii_formatd, so they read back as the same float32 in any locale.
 */
#pragma once

#include <gio/gio.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include "pt-atomic.h"

G_BEGIN_DECLS

#define PT_PROJECTOR_ERROR (pt_projector_error_quark ())

typedef enum {
  PT_PROJECTOR_ERROR_INVALID,   /* the embeddings cannot be exported as they are */
  PT_PROJECTOR_ERROR_IMAGE,     /* a thumbnail could not be made or the sprite saved */
} PtProjectorError;

/* Largest sprite edge TensorBoard accepts. */
#define PT_PROJECTOR_MAX_SPRITE 8192

/* Returns a new reference to the image of point @index, or NULL when it
 * has none (its cell stays white). Called in index order on the writing
 * thread. */
typedef GdkPixbuf *(*PtProjectorThumbFunc) (guint    index,
                                            gpointer user_data);

/* What to export. Only embeddings, n and d are required. */
typedef struct {
  const float         *embeddings;   /* n x d, row-major */
  guint                n;
  guint                d;
  const int           *labels;       /* n entries, -1 when unlabeled; or NULL */
  const char * const  *class_names;  /* n_classes names for labels; or NULL */
  guint                n_classes;
  const char * const  *filenames;    /* n entries; or NULL */
  PtProjectorThumbFunc thumb_func;   /* NULL: no sprite */
  gpointer             thumb_data;
  guint                thumb_size;   /* wanted thumbnail edge, 0 means 32 */
  const char          *tensor_name;  /* name shown in the projector, NULL: "embeddings" */
  GCancellable        *cancellable;  /* checked per row and per thumbnail; or NULL */
} PtProjectorExport;

GQuark     pt_projector_error_quark   (void);

/* Grid cells per side and thumbnail edge for @n images when @wanted_thumb
 * pixels are wished for: grid * thumb <= 8192. FALSE when even 1-pixel
 * thumbnails do not fit. */
gboolean   pt_projector_sprite_layout (guint    n,
                                       guint    wanted_thumb,
                                       guint   *grid,
                                       guint   *thumb);

/* The sprite image (RGB, white background), with the thumbnail edge used. */
GdkPixbuf *pt_projector_build_sprite  (const PtProjectorExport *exp,
                                       guint                   *thumb,
                                       GError                 **error);

/* Adds the bundle's files in @dir to @set (the folder must exist). */
gboolean   pt_projector_add_to_set    (const PtProjectorExport *exp,
                                       PtAtomicSet             *set,
                                       const char              *dir,
                                       GError                 **error);

/* Creates @dir if needed and writes the bundle atomically. */
gboolean   pt_projector_save          (const PtProjectorExport *exp,
                                       const char              *dir,
                                       GError                 **error);

/* pt_projector_save on a GTask worker (the thumbnail function runs there).
 * Everything @exp points to must stay valid and unchanged until @callback
 * runs in the caller's thread-default main context. */
void       pt_projector_save_async    (const PtProjectorExport *exp,
                                       const char              *dir,
                                       GAsyncReadyCallback      callback,
                                       gpointer                 user_data);
gboolean   pt_projector_save_finish   (GAsyncResult            *result,
                                       GError                 **error);

/* The CSV export into an atomic file / as a whole file. */
gboolean   pt_csv_write_embeddings    (const PtProjectorExport *exp,
                                       PtAtomicFile            *file,
                                       GError                 **error);
gboolean   pt_csv_save_embeddings     (const PtProjectorExport *exp,
                                       const char              *path,
                                       GError                 **error);

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
char      *pt_csv_quote               (const char *field);

G_END_DECLS
