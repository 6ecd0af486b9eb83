/* pt-app-task.c: a page's background work on a worker thread. */
#include "pt-app-task.h"

typedef struct {
  GWeakRef      owner;
  GApplication *app;     /* held, or NULL */
} AppTaskData;

static gboolean
release_app (gpointer app)
{
  g_application_release (app);
  g_object_unref (app);
  return G_SOURCE_REMOVE;
}

static void
app_task_data_free (gpointer data)
{
  AppTaskData *d = data;

  g_weak_ref_clear (&d->owner);
  /* The last reference to a task may be dropped on its worker thread;
   * GApplication belongs to the main thread. */
  if (d->app != NULL)
    g_main_context_invoke (NULL, release_app, d->app);
  g_free (d);
}

GTask *
pt_app_task_new (gpointer             owner,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback)
{
  GTask *task = g_task_new (NULL, cancellable, callback, NULL);
  AppTaskData *d = g_new0 (AppTaskData, 1);

  g_return_val_if_fail (G_IS_OBJECT (owner), task);

  g_weak_ref_init (&d->owner, owner);
  d->app = g_application_get_default ();
  if (d->app != NULL)
    {
      g_object_ref (d->app);
      g_application_hold (d->app);
    }
  g_object_set_data_full (G_OBJECT (task), "pt-app-task", d, app_task_data_free);
  return task;
}

gpointer
pt_app_task_dup_owner (GAsyncResult *result)
{
  AppTaskData *d = g_object_get_data (G_OBJECT (result), "pt-app-task");

  g_return_val_if_fail (d != NULL, NULL);
  return g_weak_ref_get (&d->owner);
}
