/* pt-app-task.h: a page's background work on a worker thread.
 *
 * pt_app_task_new() is g_task_new() for the work of a page or dialog (its
 * owner), with two differences that make closing a window and quitting
 * safe while the work runs:
 *
 * - The task holds its owner weakly. A strong reference would keep the
 *   owner alive after its window is gone, until the callback runs, and its
 *   dispose (which cancels the work, or stops a trainer) would wait for it.
 *   The callback asks pt_app_task_dup_owner() for the owner, which is NULL
 *   once the owner is gone.
 * - The task holds the application (g_application_hold) until it is
 *   finalized, so closing the last window does not end the process under a
 *   worker thread: the work, cancelled by its owner's dispose, returns
 *   first. (Quitting while the Evaluate page ran a probe crashed the
 *   process, in OpenBLAS's exit handler.) Without a default application (the
 *   tests) nothing is held.
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

GTask    *pt_app_task_new       (gpointer             owner,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback);

/* The task's owner with a new reference, or NULL if it is gone. */
gpointer  pt_app_task_dup_owner (GAsyncResult        *result);

G_END_DECLS
