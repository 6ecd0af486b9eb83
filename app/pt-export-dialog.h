/* pt-export-dialog.h: File > Export…: a run's features and encoder in the
 * formats other tools read (pt-run-export.h, the same code as `pretext-cli
 * embed` and `export`), into a folder picked with a GtkFileChooserNative.
 *
 * For the run chosen in its list (newest first, or the one given), the
 * checked outputs go into DEST as NAME.npy + NAME.labels.npy, NAME-projector/,
 * NAME.csv and NAME.safetensors (NAME: the run's folder name, editable). The
 * export runs on a GTask worker with a progress bar; the dialog says when
 * it is done or what went wrong. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef enum {
  PT_EXPORT_NPY         = 1 << 0,
  PT_EXPORT_PROJECTOR   = 1 << 1,
  PT_EXPORT_CSV         = 1 << 2,
  PT_EXPORT_SAFETENSORS = 1 << 3,
} PtExportFormats;

#define PT_TYPE_EXPORT_DIALOG (pt_export_dialog_get_type ())
G_DECLARE_FINAL_TYPE (PtExportDialog, pt_export_dialog, PT, EXPORT_DIALOG, GtkWindow)

/* runs_root NULL: the default root; run_dir NULL: the newest run. */
PtExportDialog *pt_export_dialog_new             (GtkWindow       *parent,
                                                  const char      *runs_root,
                                                  const char      *run_dir);
/* The run exported (borrowed), or NULL when there is none. */
const char     *pt_export_dialog_get_run         (PtExportDialog  *self);
void            pt_export_dialog_set_formats     (PtExportDialog  *self,
                                                  PtExportFormats  formats);
void            pt_export_dialog_set_destination (PtExportDialog  *self,
                                                  const char      *dir);
void            pt_export_dialog_set_name        (PtExportDialog  *self,
                                                  const char      *name);
/* Starts the export (what the Export button does). */
void            pt_export_dialog_export          (PtExportDialog  *self);
gboolean        pt_export_dialog_get_busy        (PtExportDialog  *self);
/* The last outcome: the message shown, and whether it was a success. */
const char     *pt_export_dialog_get_message     (PtExportDialog  *self);
gboolean        pt_export_dialog_get_succeeded   (PtExportDialog  *self);

G_END_DECLS
