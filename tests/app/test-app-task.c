/* test-app-task.c: a page's background work (app/pt-app-task.h) holds its
 * owner weakly and the application until the work has returned. No
 * display: a plain GApplication stands for the workbench. */
#include <gio/gio.h>

#include "pt-app-task.h"

typedef struct {
  GObject  *owner;          /* the page, or what stands for it */
  gboolean  drop_owner;     /* the owner goes while the work runs */
  gboolean  callback_ran;
  gboolean  owner_seen;     /* the callback got the owner */
  gboolean  owner_gone;     /* the owner was finalized before the callback */
} Fixture;

static void
work_thread (GTask        *task,
             gpointer      source,
             gpointer      task_data,
             GCancellable *cancellable)
{
  g_usleep (300 * 1000);
  g_task_return_boolean (task, TRUE);
}

static void
on_done_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GObject) owner = pt_app_task_dup_owner (result);
  Fixture *fx = g_object_get_data (G_OBJECT (result), "fixture");

  g_assert_true (g_task_propagate_boolean (G_TASK (result), NULL));
  fx->callback_ran = TRUE;
  fx->owner_seen = owner != NULL;
  fx->owner_gone = fx->owner == NULL;
}

static void
on_activate_cb (GApplication *app,
                Fixture      *fx)
{
  g_autoptr(GTask) task = pt_app_task_new (fx->owner, NULL, on_done_cb);

  g_object_set_data (G_OBJECT (task), "fixture", fx);
  g_task_run_in_thread (task, work_thread);
  if (fx->drop_owner)
    {
      /* The last reference goes while the work runs: the task must not
       * keep the owner alive. */
      g_object_add_weak_pointer (fx->owner, (gpointer *) &fx->owner);
      g_object_unref (fx->owner);
      g_assert_null (fx->owner);
    }
  /* Nothing else holds the application: without the task's hold,
   * g_application_run() would return now, under the worker thread. */
}

static void
run_app (Fixture *fx)
{
  g_autoptr(GApplication) app = g_application_new ("io.github.pretext.TestAppTask",
                                                    G_APPLICATION_NON_UNIQUE);

  g_signal_connect (app, "activate", G_CALLBACK (on_activate_cb), fx);
  g_assert_cmpint (g_application_run (app, 0, NULL), ==, 0);
}

static void
test_holds_application (void)
{
  Fixture fx = { .owner = g_object_new (G_TYPE_OBJECT, NULL) };

  run_app (&fx);
  g_assert_true (fx.callback_ran);
  g_assert_true (fx.owner_seen);
  g_object_unref (fx.owner);
}

static void
test_owner_weak (void)
{
  Fixture fx = { .owner = g_object_new (G_TYPE_OBJECT, NULL), .drop_owner = TRUE };

  run_app (&fx);
  g_assert_true (fx.callback_ran);
  g_assert_false (fx.owner_seen);
  g_assert_true (fx.owner_gone);
}

/* Without an application (the GUI tests) nothing is held and the callback
 * still gets its owner. */
static void
test_no_application (void)
{
  Fixture fx = { .owner = g_object_new (G_TYPE_OBJECT, NULL) };
  g_autoptr(GTask) task = pt_app_task_new (fx.owner, NULL, on_done_cb);

  g_assert_null (g_application_get_default ());
  g_object_set_data (G_OBJECT (task), "fixture", &fx);
  g_task_run_in_thread (task, work_thread);
  while (!fx.callback_ran)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (fx.owner_seen);
  g_object_unref (fx.owner);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/app/app-task/no-application", test_no_application);
  g_test_add_func ("/app/app-task/holds-application", test_holds_application);
  g_test_add_func ("/app/app-task/owner-weak", test_owner_weak);
  return g_test_run ();
}
