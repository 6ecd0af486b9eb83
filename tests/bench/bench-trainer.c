/* bench-trainer: what the training runtime costs around a method's step.
 *
 *   per-step overhead   a blocking run of a method whose step does nothing,
 *                       with metrics.jsonl written every step (the JSON line,
 *                       the write, the event) vs calling the step directly
 *   checkpoint          writing and loading a checkpoint of N floats
 *                       (weights + two optimizer moments), fsync included
 *
 * Prints one line per figure. Run by hand: build/tests/bench/bench-trainer
 */
#include <stdio.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-checkpoint.h"
#include "pt-trainer.h"

/* A method that does nothing: the trainer's own cost stands alone. */
static PtMethod *
noop_alloc (void)
{
  return g_new0 (PtMethod, 1);
}

static gboolean
noop_init (PtMethod *self, const PtMethodConfig *config, GError **error)
{
  return TRUE;
}

static int
noop_get_views (PtMethod *self, PtViewShape *shapes)
{
  const PtMethodConfig *c = pt_method_get_config (self);

  shapes[0] = (PtViewShape) { c->channels, c->height, c->width };
  shapes[1] = shapes[0];
  return 2;
}

static gboolean
noop_step (PtMethod *self, const PtBatch *batch, PtStepResult *result, GError **error)
{
  result->loss = 1.0;
  pt_step_result_add_part (result, "a", 0.5);
  pt_step_result_add_part (result, "b", 0.5);
  pt_step_result_add_stat (result, "feature_std", 1.0);
  pt_step_result_add_stat (result, "grad_norm", 1.0);
  return TRUE;
}

static guint64 noop_counter;

static void
noop_list_state (PtMethod *self, GArray *blobs)
{
  PtBlob blob = { "counter", PT_BLOB_U64, 1, &noop_counter };

  g_array_append_val (blobs, blob);
}

static const PtMethodClass noop_class = {
  .name = "noop", .title = "No-op", .alloc = noop_alloc, .init = noop_init,
  .get_views = noop_get_views, .step = noop_step, .list_state = noop_list_state,
};

/* A source that hands out the same batch (no copy, no work). */
static gboolean
still_next (gpointer data, PtBatch *batch, GError **error)
{
  return TRUE;
}

static GBytes *
still_get_position (gpointer data)
{
  return g_bytes_new ("pos", 3);
}

static gboolean
still_set_position (gpointer data, GBytes *position, GError **error)
{
  return TRUE;
}

static const PtBatchSourceFuncs still_funcs = {
  .next = still_next, .get_position = still_get_position, .set_position = still_set_position,
};

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
bench_overhead (guint64 steps)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-bench-trainer-XXXXXX", NULL);
  PtMethodConfig config = { .channels = 3, .height = 32, .width = 32, .batch_size = 256 };
  g_autoptr(PtMethod) method = pt_method_new_for_class (&noop_class, &config, NULL);
  PtRunSpec spec = { .method = "noop", .dataset = "none", .batch_size = 256 };
  g_autoptr(GKeyFile) keyfile = pt_run_config_new (&spec, method);
  PtTrainerOptions options = { steps, 0, 0 };
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtBatch) batch = NULL;
  PtViewShape shapes[PT_MAX_VIEWS];
  PtStepResult result;
  int n_views;
  gint64 t0, t1, t2;

  n_views = pt_method_get_views (method, shapes);
  batch = pt_batch_new (256, n_views, shapes);
  t0 = g_get_monotonic_time ();
  for (guint64 i = 0; i < steps; i++)
    pt_method_step (method, batch, &result, NULL);
  t1 = g_get_monotonic_time ();

  trainer = pt_trainer_new (method, pt_batch_source_new (&still_funcs, NULL),
                            pt_run_create (dir, keyfile, &error), &options);
  g_assert_no_error (error);
  t2 = g_get_monotonic_time ();
  if (!pt_trainer_run_blocking (trainer, NULL, &error))
    g_error ("%s", error->message);
  printf ("trainer overhead: %.2f us/step over %" G_GUINT64_FORMAT " steps "
          "(bare step %.3f us; includes metrics.jsonl line + write, 2 checkpoints)\n",
          ((g_get_monotonic_time () - t2) - (t1 - t0)) / (double) steps, steps,
          (t1 - t0) / (double) steps);
  g_clear_object (&trainer);
  remove_tree (dir);
}

static void
bench_checkpoint (gsize n_params)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-bench-ckpt-XXXXXX", NULL);
  g_autofree float *w = g_new0 (float, n_params);
  g_autofree float *m = g_new0 (float, n_params);
  g_autofree float *v = g_new0 (float, n_params);
  g_autofree char *last = g_build_filename (dir, "last", NULL);
  PtBlob blobs[] = {
    { "weights", PT_BLOB_F32, n_params, w },
    { "adam/m", PT_BLOB_F32, n_params, m },
    { "adam/v", PT_BLOB_F32, n_params, v },
  };
  PtCheckpointIdentity id = { "bench", "bench", "0" };
  g_autoptr(GError) error = NULL;
  const int reps = 5;
  gint64 t0, t1, t2;

  for (gsize i = 0; i < n_params; i++)
    w[i] = m[i] = v[i] = (float) i;
  t0 = g_get_monotonic_time ();
  for (int r = 0; r < reps; r++)
    if (!pt_checkpoint_save_rotate (dir, &id, blobs, 3, &error))
      g_error ("%s", error->message);
  t1 = g_get_monotonic_time ();
  for (int r = 0; r < reps; r++)
    if (!pt_checkpoint_load (last, &id, blobs, 3, &error))
      g_error ("%s", error->message);
  t2 = g_get_monotonic_time ();
  printf ("checkpoint of %" G_GSIZE_FORMAT " params (%.1f MB): save+rotate %.1f ms, "
          "validate+load %.1f ms\n", n_params, n_params * 12 / 1e6,
          (t1 - t0) / 1e3 / reps, (t2 - t1) / 1e3 / reps);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  bench_overhead (20000);
  bench_checkpoint (100000);
  bench_checkpoint (1000000);
  return 0;
}
