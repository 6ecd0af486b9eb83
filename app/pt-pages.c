/* pt-pages.c: the workbench pages, in sidebar order. */
#include <glib/gi18n.h>

#include "pt-augment-page.h"
#include "pt-data-page.h"
#include "pt-embeddings-page.h"
#include "pt-evaluate-page.h"
#include "pt-pages.h"
#include "pt-pretrain-page.h"
#include "pt-runs-page.h"

static const PtPageInfo pages[] = {
  { "data", N_("Data"), "folder-pictures-symbolic", pt_data_page_get_type },
  { "augment", N_("Augment"), "image-x-generic-symbolic", pt_augment_page_get_type },
  { "pretrain", N_("Pretrain"), "media-playback-start-symbolic", pt_pretrain_page_get_type },
  { "embeddings", N_("Embeddings"), "view-grid-symbolic", pt_embeddings_page_get_type },
  { "evaluate", N_("Evaluate"), "emblem-ok-symbolic", pt_evaluate_page_get_type },
  { "runs", N_("Runs"), "document-open-recent-symbolic", pt_runs_page_get_type },
  { NULL, NULL, NULL, NULL },
};

const PtPageInfo *
pt_pages_get_all (void)
{
  return pages;
}

guint
pt_pages_get_count (void)
{
  return G_N_ELEMENTS (pages) - 1;
}

const PtPageInfo *
pt_pages_lookup (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);

  for (const PtPageInfo *p = pages; p->name != NULL; p++)
    if (g_str_equal (p->name, name))
      return p;
  return NULL;
}

char *
pt_pages_dup_names (void)
{
  GString *s = g_string_new (NULL);

  for (const PtPageInfo *p = pages; p->name != NULL; p++)
    {
      if (s->len > 0)
        g_string_append (s, ", ");
      g_string_append (s, p->name);
    }
  return g_string_free (s, FALSE);
}
