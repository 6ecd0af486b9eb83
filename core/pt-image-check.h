/* pt-image-check.h: safe loading of one PNG or JPEG file.
 *
 * gdk-pixbuf decodes truncated JPEGs without error and installs loaders that
 * are not safe on untrusted files, so a file is sniffed, its structure is
 * checked (PNG chunks and CRCs to IEND; JPEG markers, SOI and EOI) and its
 * size capped before gdk-pixbuf sees it. Errors are PT_DATASET_ERROR and
 * name the file and the problem in one sentence.
 */
#pragma once

#include <gdk-pixbuf/gdk-pixbuf.h>

G_BEGIN_DECLS

/* Largest width x height decoded. */
#define PT_IMAGE_MAX_PIXELS 40000000
/* Largest file read. */
#define PT_IMAGE_MAX_FILE_BYTES ((gsize) 256 << 20)

/* The format the first bytes (or, for TGA, the footer or name) show: "PNG",
 * "JPEG", "GIF", "BMP", "TIFF", "WebP", "TGA", "ICO", ... or NULL. */
const char *pt_image_sniff          (const guint8 *data,
                                     gsize         len,
                                     const char   *path);

/* Checks the structure of an in-memory PNG or JPEG (path only names it in
 * errors); sets its size and whether it is greyscale. */
gboolean    pt_image_check          (const guint8 *data,
                                     gsize         len,
                                     const char   *path,
                                     int          *width,
                                     int          *height,
                                     gboolean     *grey,
                                     GError      **error);

/* Reads, checks and decodes a PNG or JPEG file, composites alpha over white,
 * crops the centre square and scales it to resolution x resolution.
 * Returns an RGB pixbuf; *grey says whether the file was greyscale. */
GdkPixbuf  *pt_image_load_square    (const char   *path,
                                     int           resolution,
                                     gboolean     *grey,
                                     GError      **error);

G_END_DECLS
