/* pt-pages.h: the workbench pages, in sidebar order.
 *
 * A page appears here only once its capability has landed: no placeholders.
 */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef struct {
  const char *name;        /* stable id: --page NAME, settings, actions */
  const char *title;       /* translatable, marked with N_() */
  const char *icon_name;
  GType     (*get_type) (void);
} PtPageInfo;

/* The pages, terminated by an entry with name == NULL. */
const PtPageInfo *pt_pages_get_all    (void);
guint             pt_pages_get_count  (void);
const PtPageInfo *pt_pages_lookup     (const char *name);
/* "data, augment, ..." for messages. Free with g_free(). */
char             *pt_pages_dup_names  (void);

G_END_DECLS
