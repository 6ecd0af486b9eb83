/* pt-window.c: the workbench window.
 *
 * A header bar with the primary menu, a sidebar listing the pages and a
 * stack holding them. Size, maximized state and the last page persist in
 * GSettings when the schema is available.
 */
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-augment-page.h"
#include "pt-data-page.h"
#include "pt-evaluate-page.h"
#include "pt-export-dialog.h"
#include "pt-pretrain-page.h"
#include "pt-pages.h"
#include "pt-window.h"

struct _PtWindow
{
  GtkApplicationWindow  parent_instance;

  GtkStack             *stack;
  GtkStackSidebar      *sidebar;
  GtkWidget            *empty_label;
  GtkWidget            *data_page;
};

G_DEFINE_FINAL_TYPE (PtWindow, pt_window, GTK_TYPE_APPLICATION_WINDOW)

static GSettings *
pt_window_get_settings (PtWindow *self)
{
  GtkApplication *app = gtk_window_get_application (GTK_WINDOW (self));

  if (!PT_IS_APPLICATION (app))
    return NULL;
  return pt_application_get_settings (PT_APPLICATION (app));
}

void
pt_window_set_page (PtWindow   *self,
                    const char *page)
{
  g_return_if_fail (PT_IS_WINDOW (self));

  if (page != NULL && gtk_stack_get_child_by_name (self->stack, page) != NULL)
    gtk_stack_set_visible_child_name (self->stack, page);
}

const char *
pt_window_get_page (PtWindow *self)
{
  g_return_val_if_fail (PT_IS_WINDOW (self), NULL);

  return gtk_stack_get_visible_child_name (self->stack);
}

static void
pt_window_page_action (GtkWidget  *widget,
                       const char *action_name,
                       GVariant   *parameter)
{
  pt_window_set_page (PT_WINDOW (widget), g_variant_get_string (parameter, NULL));
}

/* The Runs page's Evaluate…: that run on the Evaluate page. */
static void
pt_window_evaluate_run_action (GtkWidget  *widget,
                               const char *action_name,
                               GVariant   *parameter)
{
  PtWindow *self = PT_WINDOW (widget);
  GtkWidget *page = gtk_stack_get_child_by_name (self->stack, "evaluate");

  if (page == NULL)
    return;
  pt_evaluate_page_show_run (PT_EVALUATE_PAGE (page), g_variant_get_string (parameter, NULL));
  pt_window_set_page (self, "evaluate");
}

static void
pt_window_export_action (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  gtk_window_present (GTK_WINDOW (pt_export_dialog_new (GTK_WINDOW (widget), NULL, NULL)));
}

static void
pt_window_add_pages (PtWindow *self)
{
  GtkWidget *data_page = NULL;

  for (const PtPageInfo *p = pt_pages_get_all (); p->name != NULL; p++)
    {
      GtkWidget *page = g_object_new (p->get_type (), NULL);
      GtkStackPage *stack_page = gtk_stack_add_titled (self->stack, page, p->name, _(p->title));

      gtk_stack_page_set_icon_name (stack_page, p->icon_name);
      if (PT_IS_DATA_PAGE (page))
        data_page = page;
    }

  /* The dataset chosen on the Data page is the one every page works on. */
  if (data_page != NULL)
    {
      for (GtkWidget *page = gtk_widget_get_first_child (GTK_WIDGET (self->stack));
           page != NULL; page = gtk_widget_get_next_sibling (page))
        {
          GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (page), "dataset");

          if (page != data_page && pspec != NULL && (pspec->flags & G_PARAM_WRITABLE))
            g_object_bind_property (data_page, "dataset", page, "dataset", G_BINDING_SYNC_CREATE);
        }
      self->data_page = data_page;
    }

  /* The Pretrain page can train with the recipe being edited on the Augment page. */
  {
    GtkWidget *augment = gtk_stack_get_child_by_name (self->stack, "augment");
    GtkWidget *pretrain = gtk_stack_get_child_by_name (self->stack, "pretrain");

    if (PT_IS_AUGMENT_PAGE (augment) && PT_IS_PRETRAIN_PAGE (pretrain))
      g_object_bind_property (augment, "recipe-text", pretrain, "studio-recipe", G_BINDING_SYNC_CREATE);
  }

  gtk_widget_set_visible (self->empty_label, pt_pages_get_count () == 0);
}

static gboolean
pt_window_close_request (GtkWindow *window)
{
  PtWindow *self = PT_WINDOW (window);
  GSettings *settings = pt_window_get_settings (self);

  if (settings != NULL)
    {
      gboolean maximized = gtk_window_is_maximized (window);
      const char *page = pt_window_get_page (self);

      g_settings_delay (settings);
      if (!maximized)
        {
          int width, height;

          gtk_window_get_default_size (window, &width, &height);
          g_settings_set_int (settings, "window-width", width);
          g_settings_set_int (settings, "window-height", height);
        }
      g_settings_set_boolean (settings, "window-maximized", maximized);
      if (page != NULL)
        g_settings_set_string (settings, "last-page", page);
      g_settings_apply (settings);
    }

  return GTK_WINDOW_CLASS (pt_window_parent_class)->close_request (window);
}

static void
pt_window_restore_state (PtWindow   *self,
                         const char *page)
{
  GSettings *settings = pt_window_get_settings (self);
  g_autofree char *last_page = NULL;

  if (settings != NULL)
    {
      gtk_window_set_default_size (GTK_WINDOW (self),
                                   g_settings_get_int (settings, "window-width"),
                                   g_settings_get_int (settings, "window-height"));
      if (g_settings_get_boolean (settings, "window-maximized"))
        gtk_window_maximize (GTK_WINDOW (self));
      last_page = g_settings_get_string (settings, "last-page");
    }

  pt_window_set_page (self, page != NULL ? page : last_page);
}

static void
pt_window_class_init (PtWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  window_class->close_request = pt_window_close_request;

  gtk_widget_class_set_template_from_resource (widget_class, PT_RESOURCE_PATH "/ui/pt-window.ui");
  gtk_widget_class_bind_template_child (widget_class, PtWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, PtWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, PtWindow, empty_label);

  gtk_widget_class_install_action (widget_class, "win.page", "s", pt_window_page_action);
  gtk_widget_class_install_action (widget_class, "win.evaluate-run", "s", pt_window_evaluate_run_action);
  gtk_widget_class_install_action (widget_class, "win.export", NULL, pt_window_export_action);
}

static void
pt_window_init (PtWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  pt_window_add_pages (self);
}

PtWindow *
pt_window_new (PtApplication *application,
               const char    *page,
               const char    *dataset)
{
  PtWindow *self = g_object_new (PT_TYPE_WINDOW, "application", application, NULL);

  pt_window_restore_state (self, page);
  /* Every page works on the dataset of the Data page: load it now, not when
   * that page is first shown. */
  if (self->data_page != NULL)
    {
      if (dataset != NULL)
        pt_data_page_load (PT_DATA_PAGE (self->data_page), dataset, PT_SPLIT_TRAIN);
      else
        pt_data_page_ensure_loaded (PT_DATA_PAGE (self->data_page));
    }
  return self;
}

void
pt_window_open_dataset (PtWindow   *self,
                        const char *dataset)
{
  g_return_if_fail (PT_IS_WINDOW (self));
  g_return_if_fail (dataset != NULL);

  if (self->data_page != NULL)
    pt_data_page_load (PT_DATA_PAGE (self->data_page), dataset, PT_SPLIT_TRAIN);
}
