/* pt-test-gtk.h: widget lookups shared by the GUI tests under tests/app
 * (pt-test-util.h stays GTK-free for the CLI tests). */
#pragma once

#include <string.h>
#include <gtk/gtk.h>

/* The first widget of type at or under widget, depth first, for which
 * match (widget, data) holds when match is not NULL; or NULL. */
static inline GtkWidget *
pt_test_find_widget (GtkWidget *widget,
                     GType      type,
                     gboolean (*match) (GtkWidget *, gpointer),
                     gpointer   data)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (widget, type) && (match == NULL || match (widget, data)))
    return widget;
  for (GtkWidget *c = gtk_widget_get_first_child (widget); c; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = pt_test_find_widget (c, type, match, data);

      if (found)
        return found;
    }
  return NULL;
}

/* Matcher for pt_test_find_widget on labels: visible, and its text
 * contains data (a string). */
static inline gboolean
pt_test_label_contains (GtkWidget *label,
                        gpointer   data)
{
  return gtk_widget_get_visible (label) && strstr (gtk_label_get_label (GTK_LABEL (label)), data) != NULL;
}

/* A visible label at or under widget whose text contains text, or NULL. */
static inline GtkWidget *
pt_test_find_label (GtkWidget  *widget,
                    const char *text)
{
  return pt_test_find_widget (widget, GTK_TYPE_LABEL, pt_test_label_contains, (gpointer) text);
}
