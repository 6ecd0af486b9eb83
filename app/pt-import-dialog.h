/* pt-import-dialog.h: "Open Embeddings": a small modal window that picks a
 * .npy of embeddings, and optionally a labels file and an image folder, each
 * with a GtkFileChooserNative (GTK 4.8 has no GtkFileDialog). */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

/* Called once with the chosen paths (labels and images may be NULL) when
 * the user presses Open; not called on Cancel. */
typedef void (*PtImportChosenFunc) (const char *npy,
                                    const char *labels,
                                    const char *images,
                                    gpointer    user_data);

/* Presents the dialog over parent (may be NULL); destroy frees user_data
 * when the dialog closes. Returns the dialog (owned by GTK). */
GtkWindow *pt_import_dialog_present    (GtkWindow          *parent,
                                        PtImportChosenFunc  func,
                                        gpointer            user_data,
                                        GDestroyNotify      destroy);
/* Tests: set a row's path as a chooser would ("npy", "labels", "images"),
 * and press Open. */
void       pt_import_dialog_set_path   (GtkWindow          *dialog,
                                        const char         *row,
                                        const char         *path);
void       pt_import_dialog_activate   (GtkWindow          *dialog);

G_END_DECLS
