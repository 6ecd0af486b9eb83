/* Tests for the training runtime: the state machine under stress, single
 * steps, stop with a checkpoint, exact resume (also after a kill -9), NaN
 * rewind, live hyperparameters, event coalescing on the main context. The
 * method and the batch source are the test doubles of pt-test-method.h. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-checkpoint.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-trainer.h"

#define WAIT_US (20 * G_USEC_PER_SEC)

/* ---- Helpers ---------------------------------------------------------- */

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

static PtMethod *
new_method (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(GError) error = NULL;
  PtMethod *method = pt_method_new_for_class (&pt_test_method_class, &config, &error);

  g_assert_no_error (error);
  return method;
}

/* A fresh run in dir (created) or the run already there (resume). */
static PtTrainer *
new_trainer (const char *dir,
             guint64     total_steps,
             guint       checkpoint_every,
             gulong      delay_us,
             gboolean    resume)
{
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(GError) error = NULL;
  PtTrainerOptions options = { total_steps, checkpoint_every, 5 };
  PtRun *run;
  PtTrainer *trainer;

  if (resume)
    run = pt_run_open (dir, &error);
  else
    {
      PtRunSpec spec = { .method = "test-linear", .dataset = "synthetic", .batch_size = 8,
                         .seed = 7, .steps = total_steps };
      g_autoptr(GKeyFile) config = pt_run_config_new (&spec, method);

      run = pt_run_create (dir, config, &error);
    }
  g_assert_no_error (error);
  trainer = pt_trainer_new (method, pt_test_source_new (42, delay_us), run, &options);
  if (resume)
    {
      g_assert_true (pt_trainer_load_checkpoint (trainer, NULL, &error));
      g_assert_no_error (error);
    }
  return trainer;
}

typedef struct {
  GArray *losses;   /* double, index = step - 1 */
} Collect;

static void
collect_step_cb (PtTrainer           *trainer,
                 const PtStepMetrics *metrics,
                 gpointer             user_data)
{
  GArray *losses = user_data;

  g_array_set_size (losses, MAX (losses->len, metrics->step));
  g_array_index (losses, double, metrics->step - 1) = metrics->loss;
}

/* Runs dir to total steps on this thread; returns losses by step. */
static GArray *
run_blocking (const char *dir,
              guint64     total_steps,
              gboolean    resume)
{
  g_autoptr(PtTrainer) trainer = new_trainer (dir, total_steps, 10, 0, resume);
  g_autoptr(GError) error = NULL;
  GArray *losses = g_array_new (FALSE, TRUE, sizeof (double));

  pt_trainer_set_step_func (trainer, collect_step_cb, losses);
  g_assert_true (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, total_steps);
  return losses;
}

/* Parses metrics.jsonl: every line an object with the fields. */
static GPtrArray *
read_metrics (const char *dir)
{
  g_autofree char *path = g_build_filename (dir, "metrics.jsonl", NULL);
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  GPtrArray *objects = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  g_assert_true (g_file_get_contents (path, &contents, NULL, NULL));
  g_assert_true (contents[0] == '\0' || g_str_has_suffix (contents, "\n"));
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL && lines[i][0] != '\0'; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GError) error = NULL;
      JsonObject *o;

      g_assert_true (json_parser_load_from_data (parser, lines[i], -1, &error));
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)));
      o = json_node_get_object (json_parser_get_root (parser));
      for (const char *const *f = (const char *[]) { "step", "epoch", "loss", "parts", "lr",
                                                      "images_per_s", "health", "time", NULL };
           *f != NULL; f++)
        if (!json_object_has_member (o, *f))
          g_error ("metrics line %u lacks “%s”: %s", i + 1, *f, lines[i]);
      g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (o, "parts")));
      g_assert_true (json_object_has_member (json_object_get_object_member (o, "parts"), "view0"));
      g_assert_true (json_object_has_member (json_object_get_object_member (o, "health"),
                                             "grad_norm"));
      g_ptr_array_add (objects, json_node_copy (json_parser_get_root (parser)));
    }
  return objects;
}

static JsonObject *
metrics_line (GPtrArray *lines,
              guint      i)
{
  return json_node_get_object (lines->pdata[i]);
}

/* Steps 1..n in order, once each. */
static void
assert_metrics_steps (GPtrArray *lines,
                      guint64    n)
{
  g_assert_cmpuint (lines->len, ==, n);
  for (guint i = 0; i < lines->len; i++)
    g_assert_cmpint (json_object_get_int_member (metrics_line (lines, i), "step"), ==, i + 1);
}

/* Main-loop observer of a trainer's signals. */
typedef struct {
  PtTrainer      *trainer;
  guint           n_metrics_emissions;
  guint64         n_metrics;
  guint64         last_metrics_step;
  gboolean        metrics_in_order;
  GArray         *losses;         /* double by step - 1, last seen */
  GArray         *states;         /* PtTrainerState new states, in order */
  gboolean        states_chained;
  PtTrainerState  last_state;
  guint           n_visuals;
  guint64         last_visuals_step;
  guint           n_faults;
  guint64         fault_step;
  char           *fault_message;
  char           *fault_hint;
  GPtrArray      *events;         /* strings from metrics */
} Observer;

static void
on_metrics_cb (PtTrainer *trainer,
               GPtrArray *steps,
               Observer  *o)
{
  g_assert_true (g_main_context_is_owner (g_main_context_default ()));
  o->n_metrics_emissions++;
  for (guint i = 0; i < steps->len; i++)
    {
      const PtStepMetrics *m = steps->pdata[i];

      /* After a fault rewinds, steps restart from the checkpoint. */
      if (m->step != o->last_metrics_step + 1 && o->n_faults == 0)
        o->metrics_in_order = FALSE;
      o->last_metrics_step = m->step;
      o->n_metrics++;
      g_array_set_size (o->losses, MAX (o->losses->len, m->step));
      g_array_index (o->losses, double, m->step - 1) = m->loss;
      for (guint j = 0; m->events != NULL && m->events[j] != NULL; j++)
        g_ptr_array_add (o->events, g_strdup (m->events[j]));
    }
}

static void
on_state_changed_cb (PtTrainer      *trainer,
                     PtTrainerState  old_state,
                     PtTrainerState  new_state,
                     Observer       *o)
{
  if (old_state != o->last_state || old_state == new_state)
    o->states_chained = FALSE;
  o->last_state = new_state;
  g_array_append_val (o->states, new_state);
}

static void
on_visuals_cb (PtTrainer *trainer,
               PtVisuals *visuals,
               Observer  *o)
{
  const PtVisualItem *item = pt_visuals_lookup (visuals, "weights");

  g_assert_nonnull (item);
  g_assert_cmpint (item->kind, ==, PT_VISUAL_MATRIX);
  g_assert_cmpint (item->shape[0], ==, PT_TEST_CLASSES);
  o->n_visuals++;
  o->last_visuals_step = pt_visuals_get_step (visuals);
}

static void
on_fault_cb (PtTrainer  *trainer,
             guint64     step,
             const char *message,
             const char *hint,
             Observer   *o)
{
  o->n_faults++;
  o->fault_step = step;
  g_free (o->fault_message);
  g_free (o->fault_hint);
  o->fault_message = g_strdup (message);
  o->fault_hint = g_strdup (hint);
}

static void
observer_init (Observer  *o,
               PtTrainer *trainer)
{
  memset (o, 0, sizeof *o);
  o->trainer = trainer;
  o->metrics_in_order = TRUE;
  o->states_chained = TRUE;
  o->last_state = PT_TRAINER_IDLE;
  o->losses = g_array_new (FALSE, TRUE, sizeof (double));
  o->states = g_array_new (FALSE, FALSE, sizeof (PtTrainerState));
  o->events = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (trainer, "metrics", G_CALLBACK (on_metrics_cb), o);
  g_signal_connect (trainer, "state-changed", G_CALLBACK (on_state_changed_cb), o);
  g_signal_connect (trainer, "visuals", G_CALLBACK (on_visuals_cb), o);
  g_signal_connect (trainer, "fault", G_CALLBACK (on_fault_cb), o);
}

static void
observer_clear (Observer *o)
{
  if (o->trainer != NULL)
    g_signal_handlers_disconnect_by_data (o->trainer, o);
  g_array_unref (o->losses);
  g_array_unref (o->states);
  g_ptr_array_unref (o->events);
  g_free (o->fault_message);
  g_free (o->fault_hint);
}

static gboolean
wake_cb (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Iterates the default context until pred holds; fails after 20 s. */
static void
spin_until (gboolean (*pred) (gpointer),
            gpointer  data)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  guint wake = g_timeout_add (5, wake_cb, NULL);

  while (!pred (data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("timed out waiting on the trainer");
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (wake);
}

/* Dispatches whatever is pending, without blocking. */
static void
drain (void)
{
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static gboolean
observed_terminal (gpointer data)
{
  Observer *o = data;

  return o->last_state == PT_TRAINER_FINISHED || o->last_state == PT_TRAINER_FAILED;
}

static gboolean
observed_fault (gpointer data)
{
  return ((Observer *) data)->n_faults > 0;
}

static gboolean
observed_paused (gpointer data)
{
  return ((Observer *) data)->last_state == PT_TRAINER_PAUSED;
}

/* ---- Tests ------------------------------------------------------------ */

static void
test_run_to_end (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 20, 5, 0, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  Observer o;
  PtTrainerState expected[] = { PT_TRAINER_RUNNING, PT_TRAINER_STOPPING, PT_TRAINER_FINISHED };

  observer_init (&o, trainer);
  g_assert_true (pt_trainer_start (trainer, &error));
  g_assert_no_error (error);
  g_assert_false (pt_trainer_start (trainer, NULL));
  spin_until (observed_terminal, &o);
  drain ();

  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_null (pt_trainer_get_error (trainer));
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 20);
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, 20);
  g_assert_cmpuint (o.n_metrics, ==, 20);
  g_assert_true (o.metrics_in_order);
  g_assert_true (o.states_chained);
  g_assert_cmpmem (o.states->data, o.states->len * sizeof (PtTrainerState),
                   expected, sizeof expected);
  /* Visuals every 5 steps; coalesced ones drop older snapshots only. */
  g_assert_cmpuint (o.n_visuals, >=, 1);
  g_assert_cmpuint (o.last_visuals_step, ==, 20);

  lines = read_metrics (dir);
  assert_metrics_steps (lines, 20);
  /* The loss is learnable: the test double is really training. */
  g_assert_cmpfloat (g_array_index (o.losses, double, 19), <, g_array_index (o.losses, double, 0));

  /* Controls after the end are refused. */
  g_assert_false (pt_trainer_pause (trainer));
  g_assert_false (pt_trainer_resume (trainer));
  g_assert_false (pt_trainer_step (trainer));
  g_assert_false (pt_trainer_stop (trainer));
  g_assert_false (pt_trainer_cancel (trainer));

  observer_clear (&o);
  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_tree (dir);
}

static void
test_single_step (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 0, 500, FALSE);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(PtMethod) loaded = new_method ();
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;
  g_autoptr(GError) error = NULL;
  guint64 s;
  PtCheckpointIdentity identity;
  g_autofree char *last = NULL;
  g_autofree char *arch = NULL;

  g_assert_false (pt_trainer_pause (trainer));   /* not started */
  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_pause (trainer));
  g_assert_false (pt_trainer_pause (trainer));   /* already */
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_PAUSED);

  s = pt_trainer_get_step (trainer);
  for (int i = 1; i <= 5; i++)
    {
      g_assert_true (pt_trainer_step (trainer));
      g_assert_true (pt_trainer_wait (trainer, WAIT_US));
      g_assert_cmpuint (pt_trainer_get_step (trainer), ==, s + i);
      g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_PAUSED);
    }
  /* Three queued single steps are three steps. */
  g_assert_true (pt_trainer_step (trainer));
  g_assert_true (pt_trainer_step (trainer));
  g_assert_true (pt_trainer_step (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, s + 8);

  /* Stop writes a checkpoint of exactly the state the method is in. */
  g_assert_true (pt_trainer_stop (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, s + 8);

  lines = read_metrics (dir);
  assert_metrics_steps (lines, s + 8);

  last = g_build_filename (dir, "checkpoints", "last", NULL);
  arch = pt_method_dup_architecture (loaded);
  identity.method = "test-linear";
  identity.architecture = arch;
  identity.config_hash = pt_run_get_config_hash (pt_trainer_get_run (trainer));
  a = pt_method_list_state (pt_trainer_get_method (trainer));
  b = pt_method_list_state (loaded);
  {
    /* The method's blobs are a prefix of the checkpoint: load them by
     * listing the trainer's extra blobs too. */
    guint64 counters[2];
    guint8 position[16];
    double params[4];
    PtBlob extra[] = {
      { "trainer/counters", PT_BLOB_U64, 2, counters },
      { "trainer/source-position", PT_BLOB_U8, 16, position },
      { "trainer/params", PT_BLOB_F64, 4, params },
    };

    g_array_append_vals (b, extra, G_N_ELEMENTS (extra));
    g_assert_true (pt_checkpoint_load (last, &identity, (PtBlob *) b->data, b->len, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (counters[0], ==, s + 8);
  }
  for (guint i = 0; i < a->len; i++)
    {
      PtBlob *x = &g_array_index (a, PtBlob, i);
      PtBlob *y = &g_array_index (b, PtBlob, i);

      g_assert_cmpstr (x->name, ==, y->name);
      g_assert_cmpmem (x->data, x->count * pt_blob_type_size (x->type),
                       y->data, y->count * pt_blob_type_size (y->type));
    }

  drain ();
  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_tree (dir);
}

static const PtTrainerState allowed_next[][4] = {
  [PT_TRAINER_IDLE]     = { PT_TRAINER_RUNNING, PT_TRAINER_FAILED, -1, -1 },
  [PT_TRAINER_RUNNING]  = { PT_TRAINER_PAUSED, PT_TRAINER_STOPPING, PT_TRAINER_FAILED, -1 },
  [PT_TRAINER_PAUSED]   = { PT_TRAINER_RUNNING, PT_TRAINER_STOPPING, PT_TRAINER_FAILED, -1 },
  [PT_TRAINER_STOPPING] = { PT_TRAINER_FINISHED, PT_TRAINER_FAILED, -1, -1 },
};

/* A thousand random controls against a running trainer, then stop (a
 * checkpoint, finished) or a hard cancel (failed, no checkpoint). */
static void
stress (gboolean end_with_cancel)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 50, 200, FALSE);
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  PtTrainerState prev = PT_TRAINER_IDLE;
  guint n_accepted = 0;
  Observer o;

  observer_init (&o, trainer);
  g_assert_true (pt_trainer_start (trainer, NULL));
  for (int i = 0; i < 1000; i++)
    {
      int op = g_rand_int_range (rand, 0, 100);
      gboolean ok;

      if (op < 30)
        ok = pt_trainer_pause (trainer);
      else if (op < 60)
        ok = pt_trainer_resume (trainer);
      else if (op < 85)
        ok = pt_trainer_step (trainer);
      else if (op < 95)
        ok = pt_trainer_set_param (trainer, "lr", g_rand_double_range (rand, 0.01, 0.1), NULL);
      else
        {
          /* A state read and a short wait, like a UI polling. */
          ok = pt_trainer_get_state (trainer) <= PT_TRAINER_PAUSED;
          pt_trainer_wait (trainer, 100);
        }
      n_accepted += ok;
      /* Let the thread run a little between calls (no timing is asserted). */
      if (op % 2 == 0)
        g_usleep (g_rand_int_range (rand, 0, 1000));
      if (op % 3 == 0)
        drain ();
    }
  g_assert_cmpuint (n_accepted, >, 100);
  if (end_with_cancel)
    g_assert_true (pt_trainer_cancel (trainer));
  else
    g_assert_true (pt_trainer_stop (trainer));
  /* Everything after stop or cancel is refused. */
  g_assert_false (pt_trainer_pause (trainer));
  g_assert_false (pt_trainer_resume (trainer));
  g_assert_false (pt_trainer_step (trainer));
  g_assert_false (pt_trainer_stop (trainer));
  spin_until (observed_terminal, &o);
  drain ();

  if (end_with_cancel)
    {
      const GError *error = pt_trainer_get_error (trainer);

      g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FAILED);
      g_assert_error ((GError *) error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_CANCELLED);
      g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer) % 50, ==, 0);
      g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), <=, pt_trainer_get_step (trainer));
    }
  else
    {
      g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
      g_assert_null (pt_trainer_get_error (trainer));
      g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, pt_trainer_get_step (trainer));
    }
  g_assert_true (o.metrics_in_order);
  g_assert_cmpuint (o.n_metrics, ==, pt_trainer_get_step (trainer));
  g_assert_true (o.states_chained);
  for (guint i = 0; i < o.states->len; i++)
    {
      PtTrainerState next = g_array_index (o.states, PtTrainerState, i);
      gboolean allowed = FALSE;

      for (int j = 0; j < 4; j++)
        allowed |= allowed_next[prev][j] == next;
      if (!allowed)
        g_error ("transition %s -> %s", pt_trainer_state_to_string (prev),
                 pt_trainer_state_to_string (next));
      prev = next;
    }
  g_assert_cmpint (prev, ==, end_with_cancel ? PT_TRAINER_FAILED : PT_TRAINER_FINISHED);
  g_test_message ("%u accepted controls, %" G_GUINT64_FORMAT " steps, %u state changes, "
                  "%u metrics emissions", n_accepted, pt_trainer_get_step (trainer),
                  o.states->len, o.n_metrics_emissions);

  lines = read_metrics (dir);
  assert_metrics_steps (lines, pt_trainer_get_step (trainer));

  observer_clear (&o);
  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_tree (dir);
}

static void
test_stress (void)
{
  stress (FALSE);
}

static void
test_stress_cancel (void)
{
  stress (TRUE);
}

/* Losses a and b agree bit for bit on steps from..to (1-based). */
static void
assert_same_losses (GArray *a,
                    GArray *b,
                    guint   from,
                    guint   to)
{
  g_assert_cmpuint (a->len, >=, to);
  g_assert_cmpuint (b->len, >=, to);
  for (guint s = from; s <= to; s++)
    {
      double x = g_array_index (a, double, s - 1);
      double y = g_array_index (b, double, s - 1);

      if (memcmp (&x, &y, sizeof x) != 0)
        g_error ("step %u: loss %.17g differs from %.17g", s, x, y);
    }
}

static GArray *
reference_losses (void)
{
  static GArray *reference;

  if (reference == NULL)
    {
      g_autofree char *dir = g_dir_make_tmp ("pt-trainer-ref-XXXXXX", NULL);

      reference = run_blocking (dir, 60, FALSE);
      remove_tree (dir);
    }
  return reference;
}

static void
test_resume_equal (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(GArray) first = NULL;
  g_autoptr(GArray) second = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  GArray *reference = reference_losses ();

  first = run_blocking (dir, 30, FALSE);
  assert_same_losses (reference, first, 1, 30);
  second = run_blocking (dir, 60, TRUE);
  assert_same_losses (reference, second, 31, 60);

  lines = read_metrics (dir);
  assert_metrics_steps (lines, 60);
  /* The resume is marked for plots. */
  g_assert_true (json_object_has_member (metrics_line (lines, 30), "events"));
  g_assert_false (json_object_has_member (metrics_line (lines, 31), "events"));
  remove_tree (dir);
}

/* The same with the threaded trainer: stopped by the user at some step. */
static void
test_resume_threaded (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 10, 300, FALSE);
  g_autoptr(GArray) losses = g_array_new (FALSE, TRUE, sizeof (double));
  g_autoptr(GArray) rest = NULL;
  GArray *reference = reference_losses ();
  guint64 stopped;

  pt_trainer_set_step_func (trainer, collect_step_cb, losses);
  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_pause (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  if (pt_trainer_get_step (trainer) > 50)
    {
      g_test_skip ("the trainer ran past step 50 before pausing");
      pt_trainer_stop (trainer);
      pt_trainer_wait (trainer, WAIT_US);
      drain ();
      remove_tree (dir);
      return;
    }
  g_assert_true (pt_trainer_stop (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  stopped = pt_trainer_get_step (trainer);
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, stopped);
  assert_same_losses (reference, losses, 1, stopped);
  drain ();
  g_clear_object (&trainer);

  rest = run_blocking (dir, 60, TRUE);
  assert_same_losses (reference, rest, stopped + 1, 60);
  remove_tree (dir);
}

static void
kill_at_45_cb (PtTrainer           *trainer,
               const PtStepMetrics *metrics,
               gpointer             user_data)
{
  if (metrics->step == 45)
    kill (getpid (), SIGKILL);
}

/* kill -9 between the checkpoints at 40 and 50, then resume from disk. */
static void
test_resume_after_kill (void)
{
  const char *dir = g_getenv ("PT_TEST_KILL_DIR");

  if (g_test_subprocess ())
    {
      g_autoptr(PtTrainer) trainer = new_trainer (dir, 60, 10, 0, FALSE);

      pt_trainer_set_step_func (trainer, kill_at_45_cb, NULL);
      pt_trainer_run_blocking (trainer, NULL, NULL);
      g_assert_not_reached ();
    }
  else
    {
      g_autofree char *tmp = g_dir_make_tmp ("pt-trainer-kill-XXXXXX", NULL);
      g_autofree char *last = g_build_filename (tmp, "checkpoints", "last", NULL);
      g_autoptr(GArray) rest = NULL;
      g_autoptr(GPtrArray) before = NULL;
      g_autoptr(GPtrArray) after = NULL;
      GArray *reference = reference_losses ();

      g_setenv ("PT_TEST_KILL_DIR", tmp, TRUE);
      g_test_trap_subprocess (NULL, 30 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
      g_unsetenv ("PT_TEST_KILL_DIR");
      g_test_trap_assert_failed ();

      /* What the killed process left: 45 metrics lines, checkpoints 40 and 30. */
      before = read_metrics (tmp);
      assert_metrics_steps (before, 45);
      g_assert_true (pt_checkpoint_verify (last, NULL, NULL, NULL, NULL));

      rest = run_blocking (tmp, 60, TRUE);
      assert_same_losses (reference, rest, 41, 60);
      after = read_metrics (tmp);
      assert_metrics_steps (after, 60);
      /* Logged losses of the dead process's steps 1..40 survived as written. */
      for (guint i = 0; i < 40; i++)
        g_assert_cmpfloat (json_object_get_double_member (metrics_line (after, i), "loss"), ==,
                           json_object_get_double_member (metrics_line (before, i), "loss"));
      remove_tree (tmp);
    }
}

static void
test_nan_rewind (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 40, 10, 0, FALSE);
  g_autoptr(GArray) first_try = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  gboolean marked = FALSE;
  Observer o;

  observer_init (&o, trainer);
  pt_trainer_poison_step (trainer, 25);
  g_assert_true (pt_trainer_start (trainer, NULL));
  spin_until (observed_fault, &o);
  spin_until (observed_paused, &o);

  g_assert_cmpuint (o.fault_step, ==, 25);
  g_assert_nonnull (strstr (o.fault_message, "step 25"));
  g_assert_nonnull (strstr (o.fault_message, "NaN"));
  g_assert_nonnull (strstr (o.fault_message, "step 20"));
  g_assert_nonnull (strstr (o.fault_hint, "learning rate"));
  g_assert_nonnull (strstr (o.fault_hint, "temperature"));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_PAUSED);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 20);
  /* The logged steps after the checkpoint are gone. */
  lines = read_metrics (dir);
  assert_metrics_steps (lines, 20);
  g_clear_pointer (&lines, g_ptr_array_unref);

  first_try = g_array_copy (o.losses);
  g_assert_true (pt_trainer_resume (trainer));
  spin_until (observed_terminal, &o);
  drain ();
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 40);
  /* The replay of 21..24 is exact: the rewind restored everything. */
  g_assert_cmpuint (first_try->len, ==, 24);
  for (guint s = 21; s <= 24; s++)
    g_assert_cmpfloat (g_array_index (first_try, double, s - 1), ==,
                       g_array_index (o.losses, double, s - 1));
  g_assert_true (isfinite (g_array_index (o.losses, double, 24)));
  /* And the whole run equals an unpoisoned one. */
  assert_same_losses (reference_losses (), o.losses, 1, 40);

  lines = read_metrics (dir);
  assert_metrics_steps (lines, 40);
  for (guint i = 0; i < o.events->len; i++)
    marked |= strstr (o.events->pdata[i], "fault at step 25") != NULL;
  g_assert_true (marked);
  g_assert_true (json_object_has_member (metrics_line (lines, 20), "events"));

  observer_clear (&o);
  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_tree (dir);
}

/* The environment hook, in a blocking run: the CLI gets an error. */
static void
test_nan_blocking (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;

  g_setenv ("PRETEXT_POISON_STEP", "13", TRUE);
  trainer = new_trainer (dir, 30, 10, 0, FALSE);
  g_unsetenv ("PRETEXT_POISON_STEP");
  g_assert_false (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_NON_FINITE);
  g_assert_nonnull (strstr (error->message, "step 13"));
  g_assert_nonnull (strstr (error->message, "learning rate"));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FAILED);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 10);
  g_clear_object (&trainer);
  remove_tree (dir);
}

static void
test_live_param (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 0, 0, FALSE);
  g_autoptr(PtTrainer) resumed = NULL;
  g_autoptr(GPtrArray) lines = NULL;
  g_autoptr(GError) error = NULL;
  guint64 at;
  JsonObject *line;

  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_pause (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  at = pt_trainer_get_step (trainer);

  g_assert_false (pt_trainer_set_param (trainer, "momentum", 0.5, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_false (pt_trainer_set_param (trainer, "lr", -1, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_false (pt_trainer_set_param (trainer, "nope", 1, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_true (pt_trainer_set_param (trainer, "lr", 0.0125, &error));
  g_assert_no_error (error);

  g_assert_true (pt_trainer_step (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_true (pt_trainer_stop (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);

  lines = read_metrics (dir);
  g_assert_cmpuint (lines->len, ==, at + 1);
  line = metrics_line (lines, at);
  g_assert_cmpfloat (json_object_get_double_member (line, "lr"), ==, 0.0125);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (line, "events"), 0),
                   ==, "set lr 0.05 -> 0.0125");
  if (at > 0)
    g_assert_cmpfloat (json_object_get_double_member (metrics_line (lines, at - 1), "lr"), ==, 0.05);
  drain ();
  g_clear_object (&trainer);

  /* The checkpoint keeps the changed value. */
  resumed = new_trainer (dir, 0, 0, 0, TRUE);
  g_assert_cmpfloat (pt_method_get_param (pt_trainer_get_method (resumed), "lr"), ==, 0.0125);
  g_clear_object (&resumed);
  remove_tree (dir);
}

static void
test_cancel (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 0, 200, FALSE);
  const GError *error;

  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_cancel (trainer));
  g_assert_false (pt_trainer_cancel (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FAILED);
  error = pt_trainer_get_error (trainer);
  g_assert_error ((GError *) error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_CANCELLED);
  drain ();
  g_clear_object (&trainer);

  /* Disposing a running trainer cancels and joins it. */
  remove_tree (dir);
  trainer = new_trainer (dir, 0, 0, 200, FALSE);
  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_finalize_object (g_steal_pointer (&trainer));
  drain ();
  remove_tree (dir);
}

/* With a busy main thread, every step's metrics arrive in ONE idle. */
static void
test_coalesced (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 50, 10, 0, FALSE);
  PtTrainerState expected[] = { PT_TRAINER_RUNNING, PT_TRAINER_STOPPING, PT_TRAINER_FINISHED };
  Observer o;
  guint n_dispatches = 0;

  drain ();
  observer_init (&o, trainer);
  g_assert_true (pt_trainer_start (trainer, NULL));
  /* Block the "UI" until the run is over. */
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (o.n_metrics, ==, 0);

  while (g_main_context_iteration (NULL, FALSE))
    n_dispatches++;
  g_assert_cmpuint (n_dispatches, ==, 1);
  g_assert_cmpuint (o.n_metrics_emissions, ==, 1);
  g_assert_cmpuint (o.n_metrics, ==, 50);
  g_assert_true (o.metrics_in_order);
  /* Ten snapshots were made; only the newest was kept. */
  g_assert_cmpuint (o.n_visuals, ==, 1);
  g_assert_cmpuint (o.last_visuals_step, ==, 50);
  g_assert_cmpmem (o.states->data, o.states->len * sizeof (PtTrainerState),
                   expected, sizeof expected);
  observer_clear (&o);
  g_assert_finalize_object (g_steal_pointer (&trainer));
  remove_tree (dir);
}

static void
count_cb (PtTrainer *trainer,
          gpointer   arg,
          guint     *count)
{
  (*count)++;
}

/* Events queued for a trainer that is gone are dropped, not delivered. */
static void
test_disposed_drops (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  PtTrainer *trainer = new_trainer (dir, 30, 10, 0, FALSE);
  guint count = 0;

  drain ();
  g_signal_connect (trainer, "metrics", G_CALLBACK (count_cb), &count);
  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_true (g_main_context_pending (NULL));
  g_assert_finalize_object (trainer);
  drain ();
  g_assert_cmpuint (count, ==, 0);
  remove_tree (dir);
}

static volatile sig_atomic_t stop_flag;

static void
stop_at_7_cb (PtTrainer           *trainer,
              const PtStepMetrics *metrics,
              gpointer             user_data)
{
  if (metrics->step == 7)
    stop_flag = 1;
}

static void
test_blocking_stop_flag (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 100, 0, 0, FALSE);
  g_autoptr(GError) error = NULL;

  stop_flag = 0;
  pt_trainer_set_step_func (trainer, stop_at_7_cb, NULL);
  g_assert_true (pt_trainer_run_blocking (trainer, &stop_flag, &error));
  g_assert_no_error (error);
  g_assert_cmpint (pt_trainer_get_state (trainer), ==, PT_TRAINER_FINISHED);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, 7);
  g_assert_cmpuint (pt_trainer_get_checkpoint_step (trainer), ==, 7);
  g_assert_false (pt_trainer_run_blocking (trainer, NULL, &error));
  g_assert_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_STATE);
  g_clear_object (&trainer);
  remove_tree (dir);
}

/* A checkpoint of another config is refused on resume. */
static void
test_resume_refuses_other_config (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autofree char *config = g_build_filename (dir, "config.ini", NULL);
  g_autofree char *text = NULL;
  g_autofree char *edited = NULL;
  g_autoptr(GArray) losses = run_blocking (dir, 10, FALSE);
  g_autoptr(PtMethod) method = new_method ();
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(GError) error = NULL;
  PtRun *run;

  g_assert_true (g_file_get_contents (config, &text, NULL, NULL));
  edited = g_strconcat (text, "\n# edited\n", NULL);
  g_assert_true (g_file_set_contents (config, edited, -1, NULL));
  run = pt_run_open (dir, &error);
  g_assert_no_error (error);
  trainer = pt_trainer_new (method, pt_test_source_new (42, 0), run, NULL);
  g_assert_false (pt_trainer_load_checkpoint (trainer, NULL, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "configuration"));
  g_clear_object (&trainer);
  remove_tree (dir);
}

/* A probe loads the weights of a run without its batch source. */
static void
test_load_method_state (void)
{
  g_autofree char *dir = g_dir_make_tmp ("pt-trainer-XXXXXX", NULL);
  g_autoptr(PtTrainer) trainer = new_trainer (dir, 0, 0, 0, FALSE);
  g_autoptr(PtMethod) loaded = new_method ();
  g_autoptr(PtRun) run = NULL;
  g_autoptr(GArray) a = NULL;
  g_autoptr(GArray) b = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *last = g_build_filename (dir, "checkpoints", "last", NULL);
  guint64 step = 0, at;

  g_assert_true (pt_trainer_start (trainer, NULL));
  g_assert_true (pt_trainer_pause (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_true (pt_trainer_set_param (trainer, "temperature", 2.5, NULL));
  g_assert_true (pt_trainer_step (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  g_assert_true (pt_trainer_stop (trainer));
  g_assert_true (pt_trainer_wait (trainer, WAIT_US));
  at = pt_trainer_get_step (trainer);
  drain ();

  run = pt_run_open (dir, &error);
  g_assert_no_error (error);
  g_assert_cmpfloat (pt_method_get_param (loaded, "temperature"), ==, 1.0);
  g_assert_true (pt_trainer_load_method_state (loaded, run, &step, &warning, &error));
  g_assert_no_error (error);
  g_assert_null (warning);
  g_assert_cmpuint (step, ==, at);
  g_assert_cmpfloat (pt_method_get_param (loaded, "temperature"), ==, 2.5);
  a = pt_method_list_state (pt_trainer_get_method (trainer));
  b = pt_method_list_state (loaded);
  for (guint i = 0; i < a->len; i++)
    {
      PtBlob *x = &g_array_index (a, PtBlob, i);
      PtBlob *y = &g_array_index (b, PtBlob, i);

      g_assert_cmpmem (x->data, x->count * pt_blob_type_size (x->type),
                       y->data, y->count * pt_blob_type_size (y->type));
    }

  /* A damaged "last" falls back to "previous", and says so. */
  g_assert_true (g_file_set_contents (last, "PTCKPT\r\n garbage", -1, NULL));
  g_assert_true (pt_trainer_load_method_state (loaded, run, &step, &warning, &error));
  g_assert_no_error (error);
  g_assert_nonnull (warning);
  g_assert_cmpuint (step, <, at);
  g_clear_object (&trainer);
  remove_tree (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  g_test_add_func ("/core/trainer/run-to-end", test_run_to_end);
  g_test_add_func ("/core/trainer/single-step", test_single_step);
  g_test_add_func ("/core/trainer/stress", test_stress);
  g_test_add_func ("/core/trainer/stress-cancel", test_stress_cancel);
  g_test_add_func ("/core/trainer/resume-equal", test_resume_equal);
  g_test_add_func ("/core/trainer/resume-threaded", test_resume_threaded);
  g_test_add_func ("/core/trainer/resume-after-kill", test_resume_after_kill);
  g_test_add_func ("/core/trainer/nan-rewind", test_nan_rewind);
  g_test_add_func ("/core/trainer/nan-blocking", test_nan_blocking);
  g_test_add_func ("/core/trainer/live-param", test_live_param);
  g_test_add_func ("/core/trainer/cancel", test_cancel);
  g_test_add_func ("/core/trainer/coalesced", test_coalesced);
  g_test_add_func ("/core/trainer/disposed-drops", test_disposed_drops);
  g_test_add_func ("/core/trainer/blocking-stop-flag", test_blocking_stop_flag);
  g_test_add_func ("/core/trainer/refuses-other-config", test_resume_refuses_other_config);
  g_test_add_func ("/core/trainer/load-method-state", test_load_method_state);
  return g_test_run ();
}
