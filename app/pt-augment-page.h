/* pt-augment-page.h: the augmentation studio: edit the real training
 * pipeline and watch the views of real images change at once. */
#pragma once

#include <gtk/gtk.h>

#include "pt-augment.h"
#include "pt-dataset.h"

G_BEGIN_DECLS

#define PT_TYPE_AUGMENT_PAGE (pt_augment_page_get_type ())
G_DECLARE_FINAL_TYPE (PtAugmentPage, pt_augment_page, PT, AUGMENT_PAGE, GtkWidget)

void               pt_augment_page_set_dataset (PtAugmentPage *self,
                                                PtDataset     *dataset);
PtDataset         *pt_augment_page_get_dataset (PtAugmentPage *self);
/* The recipe being edited. Borrowed. */
const PtAugRecipe *pt_augment_page_get_recipe  (PtAugmentPage *self);
/* Loads a preset name or a file; FALSE with the error shown on the page. */
gboolean           pt_augment_page_load_recipe (PtAugmentPage *self,
                                                const char    *name_or_path);
void               pt_augment_page_set_seed    (PtAugmentPage *self,
                                                guint          seed);
/* Scores each pair with the encoder of the run in run_dir (trained on this
 * dataset; under $XDG_DATA_HOME/pretext/runs), or stops scoring (NULL). */
void               pt_augment_page_set_encoder_run (PtAugmentPage *self,
                                                    const char    *run_dir);
/* How many renders were scored by an encoder so far (tests). */
guint              pt_augment_page_get_n_scored (PtAugmentPage *self);
/* How many times the views were rendered (tests watch it change). */
guint              pt_augment_page_get_render_count (PtAugmentPage *self);
/* Sets a parameter as the editor's controls do: group index, op, key (as in
 * recipe files: "p", "scale-min", "brightness", ...). */
gboolean           pt_augment_page_set_param   (PtAugmentPage *self,
                                                guint          group,
                                                PtAugOp        op,
                                                const char    *key,
                                                double         value);

G_END_DECLS
