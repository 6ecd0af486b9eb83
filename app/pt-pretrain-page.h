/* pt-pretrain-page.h: pretraining with live curves and the method's own
 * views. The page drives a PtTrainer built from its controls by
 * pt_train_spec_build(); the trainer runs on its own thread and reports
 * through coalesced main-loop events. */
#pragma once

#include <gtk/gtk.h>

#include "pt-dataset.h"
#include "pt-trainer.h"

G_BEGIN_DECLS

#define PT_TYPE_PRETRAIN_PAGE (pt_pretrain_page_get_type ())
G_DECLARE_FINAL_TYPE (PtPretrainPage, pt_pretrain_page, PT, PRETRAIN_PAGE, GtkWidget)

void        pt_pretrain_page_set_dataset  (PtPretrainPage *self,
                                           PtDataset      *dataset);
/* Chooses the method by registry name; FALSE when unknown. */
gboolean    pt_pretrain_page_set_method   (PtPretrainPage *self,
                                           const char     *name);
/* Overrides a training control: "width", "batch", "epochs", "seed",
 * "steps" (0: from epochs), "augment" (0 the method's default recipe, 1 the
 * Augment page's, 2.. the presets), or a method parameter by name. */
gboolean    pt_pretrain_page_set_value    (PtPretrainPage *self,
                                           const char     *key,
                                           double          value);
/* The run directory root (NULL: the default under XDG_DATA_HOME). */
void        pt_pretrain_page_set_runs_root (PtPretrainPage *self,
                                            const char     *root);
/* Starts a run as the Start button does. */
/* Encoder weights (.safetensors) the next run starts from, or NULL for a
 * random initialization; checked when the run is built. */
void        pt_pretrain_page_set_init     (PtPretrainPage *self,
                                           const char     *path);
const char *pt_pretrain_page_get_init     (PtPretrainPage *self);
void        pt_pretrain_page_start        (PtPretrainPage *self);
/* The trainer of the current or last run, or NULL. Borrowed. */
PtTrainer  *pt_pretrain_page_get_trainer  (PtPretrainPage *self);
/* Steps shown in the loss plot so far (tests). */
guint       pt_pretrain_page_get_n_logged (PtPretrainPage *self);
/* kNN-monitor points plotted so far (tests). */
guint       pt_pretrain_page_get_n_monitored (PtPretrainPage *self);
/* TRUE while the kNN monitor measures a checkpoint on a worker (tests). */
gboolean    pt_pretrain_page_is_monitoring (PtPretrainPage *self);
/* Visuals snapshots received so far (tests). */
guint       pt_pretrain_page_get_n_visuals (PtPretrainPage *self);
/* The last error or fault message shown, or NULL. */
const char *pt_pretrain_page_get_message  (PtPretrainPage *self);

G_END_DECLS
