/* pt-trainer.c: the training runtime. */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "pt-checkpoint.h"
#include "pt-trainer.h"

G_DEFINE_QUARK (pt-trainer-error-quark, pt_trainer_error)

G_DEFINE_ENUM_TYPE (PtTrainerState, pt_trainer_state,
  G_DEFINE_ENUM_VALUE (PT_TRAINER_IDLE, "idle"),
  G_DEFINE_ENUM_VALUE (PT_TRAINER_RUNNING, "running"),
  G_DEFINE_ENUM_VALUE (PT_TRAINER_PAUSED, "paused"),
  G_DEFINE_ENUM_VALUE (PT_TRAINER_STOPPING, "stopping"),
  G_DEFINE_ENUM_VALUE (PT_TRAINER_FINISHED, "finished"),
  G_DEFINE_ENUM_VALUE (PT_TRAINER_FAILED, "failed"))

const char *
pt_trainer_state_to_string (PtTrainerState state)
{
  static const char *names[] = { "idle", "running", "paused", "stopping", "finished", "failed" };

  g_return_val_if_fail ((guint) state < G_N_ELEMENTS (names), "unknown");
  return names[state];
}

#define NO_CHECKPOINT G_MAXUINT64

/* ---- Step metrics ----------------------------------------------------- */

void
pt_step_metrics_free (PtStepMetrics *metrics)
{
  if (metrics == NULL)
    return;
  g_strfreev (metrics->events);
  g_free (metrics);
}

static void
add_number (JsonBuilder *builder,
            const char  *name,
            double       value)
{
  json_builder_set_member_name (builder, name);
  if (isfinite (value))
    json_builder_add_double_value (builder, value);
  else
    json_builder_add_null_value (builder);
}

char *
pt_step_metrics_to_json (const PtStepMetrics *m)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "step");
  json_builder_add_int_value (builder, (gint64) m->step);
  json_builder_set_member_name (builder, "epoch");
  json_builder_add_int_value (builder, (gint64) m->epoch);
  add_number (builder, "loss", m->loss);
  json_builder_set_member_name (builder, "parts");
  json_builder_begin_object (builder);
  for (int i = 0; i < m->n_parts; i++)
    add_number (builder, m->parts[i].name, m->parts[i].value);
  json_builder_end_object (builder);
  add_number (builder, "lr", m->lr);
  add_number (builder, "images_per_s", m->images_per_s);
  json_builder_set_member_name (builder, "health");
  json_builder_begin_object (builder);
  for (int i = 0; i < m->n_stats; i++)
    add_number (builder, m->stats[i].name, m->stats[i].value);
  json_builder_end_object (builder);
  add_number (builder, "time", m->time);
  if (m->events != NULL && m->events[0] != NULL)
    {
      json_builder_set_member_name (builder, "events");
      json_builder_begin_array (builder);
      for (guint i = 0; m->events[i] != NULL; i++)
        json_builder_add_string_value (builder, m->events[i]);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

/* ---- Event channel ---------------------------------------------------- */

typedef enum {
  EVENT_METRICS,
  EVENT_VISUALS,
  EVENT_STATE,
  EVENT_FAULT,
} EventKind;

typedef struct {
  EventKind       kind;
  PtStepMetrics  *metrics;
  PtVisuals      *visuals;
  PtTrainerState  old_state;
  PtTrainerState  new_state;
  guint64         step;
  char           *message;
  char           *hint;
} Event;

static void
event_free (Event *event)
{
  pt_step_metrics_free (event->metrics);
  pt_visuals_unref (event->visuals);
  g_free (event->message);
  g_free (event->hint);
  g_free (event);
}

/* Shared by the trainer and its pending idle; outlives either. */
typedef struct {
  gatomicrefcount  ref_count;
  GMutex           mutex;
  GQueue           events;
  gboolean         idle_pending;
  GMainContext    *context;
  GWeakRef         trainer;
} Channel;

static Channel *
channel_new (PtTrainer *trainer)
{
  Channel *channel = g_new0 (Channel, 1);

  g_atomic_ref_count_init (&channel->ref_count);
  g_mutex_init (&channel->mutex);
  g_queue_init (&channel->events);
  g_weak_ref_init (&channel->trainer, trainer);
  return channel;
}

static Channel *
channel_ref (Channel *channel)
{
  g_atomic_ref_count_inc (&channel->ref_count);
  return channel;
}

static void
channel_unref (gpointer data)
{
  Channel *channel = data;

  if (!g_atomic_ref_count_dec (&channel->ref_count))
    return;
  g_queue_clear_full (&channel->events, (GDestroyNotify) event_free);
  g_clear_pointer (&channel->context, g_main_context_unref);
  g_weak_ref_clear (&channel->trainer);
  g_mutex_clear (&channel->mutex);
  g_free (channel);
}

static gboolean channel_dispatch (gpointer data);

/* Training thread: queue an event; schedule an idle unless one is pending. */
static void
channel_push (Channel *channel,
              Event   *event)
{
  g_mutex_lock (&channel->mutex);
  if (channel->context == NULL)
    {
      /* Blocking run: nobody listens. */
      g_mutex_unlock (&channel->mutex);
      event_free (event);
      return;
    }
  if (event->kind == EVENT_VISUALS)
    {
      /* Only the newest snapshot matters to a UI that fell behind. */
      for (GList *l = channel->events.head; l != NULL; l = l->next)
        {
          Event *old = l->data;

          if (old->kind == EVENT_VISUALS)
            {
              g_queue_delete_link (&channel->events, l);
              event_free (old);
              break;
            }
        }
    }
  g_queue_push_tail (&channel->events, event);
  if (!channel->idle_pending)
    {
      GSource *source = g_idle_source_new ();

      channel->idle_pending = TRUE;
      g_source_set_priority (source, G_PRIORITY_DEFAULT);
      g_source_set_callback (source, channel_dispatch, channel_ref (channel), channel_unref);
      g_source_set_static_name (source, "[pretext] trainer events");
      g_source_attach (source, channel->context);
      g_source_unref (source);
    }
  g_mutex_unlock (&channel->mutex);
}

enum {
  SIGNAL_METRICS,
  SIGNAL_VISUALS,
  SIGNAL_STATE_CHANGED,
  SIGNAL_FAULT,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

enum {
  PROP_0,
  PROP_STATE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Main context: drain the buffer and emit, in order. */
static gboolean
channel_dispatch (gpointer data)
{
  Channel *channel = data;
  g_autoptr(PtTrainer) trainer = NULL;
  GQueue events = G_QUEUE_INIT;
  Event *event;

  g_mutex_lock (&channel->mutex);
  events = channel->events;
  g_queue_init (&channel->events);
  channel->idle_pending = FALSE;
  g_mutex_unlock (&channel->mutex);

  trainer = g_weak_ref_get (&channel->trainer);
  if (trainer == NULL)
    {
      g_queue_clear_full (&events, (GDestroyNotify) event_free);
      return G_SOURCE_REMOVE;
    }

  while ((event = g_queue_pop_head (&events)) != NULL)
    {
      switch (event->kind)
        {
        case EVENT_METRICS:
          {
            /* Consecutive steps go out as one emission. */
            g_autoptr(GPtrArray) batch =
              g_ptr_array_new_with_free_func ((GDestroyNotify) pt_step_metrics_free);

            g_ptr_array_add (batch, g_steal_pointer (&event->metrics));
            event_free (event);
            while (events.head != NULL && ((Event *) events.head->data)->kind == EVENT_METRICS)
              {
                event = g_queue_pop_head (&events);
                g_ptr_array_add (batch, g_steal_pointer (&event->metrics));
                event_free (event);
              }
            g_signal_emit (trainer, signals[SIGNAL_METRICS], 0, batch);
            continue;
          }
        case EVENT_VISUALS:
          g_signal_emit (trainer, signals[SIGNAL_VISUALS], 0, event->visuals);
          break;
        case EVENT_STATE:
          g_object_notify_by_pspec (G_OBJECT (trainer), properties[PROP_STATE]);
          g_signal_emit (trainer, signals[SIGNAL_STATE_CHANGED], 0,
                         event->old_state, event->new_state);
          break;
        case EVENT_FAULT:
          g_signal_emit (trainer, signals[SIGNAL_FAULT], 0,
                         event->step, event->message, event->hint);
          break;
        default:
          g_assert_not_reached ();
        }
      event_free (event);
    }
  return G_SOURCE_REMOVE;
}

/* ---- The trainer ------------------------------------------------------ */

typedef struct {
  char   *name;
  double  value;
} ParamChange;

struct _PtTrainer
{
  GObject            parent_instance;

  /* Set at construction, then owned by the training thread while it runs. */
  PtMethod          *method;
  PtBatchSource     *source;
  PtRun             *run;
  PtTrainerOptions   options;
  char              *architecture;
  PtBatch           *batch;
  Channel           *channel;
  PtTrainerStepFunc  step_func;
  gpointer           step_data;
  volatile sig_atomic_t *stop_flag;   /* blocking runs */
  GPtrArray         *next_events;     /* strings for the next metrics line */
  gint64             last_step_us;
  double             images_per_s;

  /* Checkpoint staging: trainer state as blobs. */
  guint64            counters[2];     /* step, epoch */
  guint8            *position;
  gsize              position_len;
  double            *param_values;
  guint              n_params;

  GThread           *thread;

  /* Guarded by mutex. */
  GMutex             mutex;
  GCond              cond;
  PtTrainerState     state;
  gboolean           pause_requested;
  gboolean           stop_requested;
  gboolean           cancel_requested;
  guint              steps_pending;
  gboolean           parked;
  guint64            step;
  guint64            epoch;
  guint64            poison_step;
  guint64            last_checkpoint; /* written by the training thread */
  GArray            *param_changes;   /* ParamChange */
  GError            *error;
};

G_DEFINE_FINAL_TYPE (PtTrainer, pt_trainer, G_TYPE_OBJECT)

static gboolean
is_terminal (PtTrainerState state)
{
  return state == PT_TRAINER_FINISHED || state == PT_TRAINER_FAILED;
}

/* With mutex held. */
static void
set_state_locked (PtTrainer      *self,
                  PtTrainerState  state)
{
  Event *event;

  if (self->state == state)
    return;
  event = g_new0 (Event, 1);
  event->kind = EVENT_STATE;
  event->old_state = self->state;
  event->new_state = state;
  self->state = state;
  g_cond_broadcast (&self->cond);
  channel_push (self->channel, event);
}

static void
fail (PtTrainer *self,
      GError    *error)
{
  g_mutex_lock (&self->mutex);
  if (self->error == NULL)
    self->error = error;
  else
    g_error_free (error);
  set_state_locked (self, PT_TRAINER_FAILED);
  g_mutex_unlock (&self->mutex);
}

static void
param_change_clear (gpointer data)
{
  g_free (((ParamChange *) data)->name);
}

static void
pt_trainer_dispose (GObject *object)
{
  PtTrainer *self = PT_TRAINER (object);

  if (self->thread != NULL)
    {
      g_mutex_lock (&self->mutex);
      if (!is_terminal (self->state))
        self->cancel_requested = TRUE;
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->mutex);
      g_thread_join (g_steal_pointer (&self->thread));
    }
  if (self->channel != NULL)
    {
      g_weak_ref_set (&self->channel->trainer, NULL);
      g_clear_pointer (&self->channel, channel_unref);
    }
  G_OBJECT_CLASS (pt_trainer_parent_class)->dispose (object);
}

static void
pt_trainer_finalize (GObject *object)
{
  PtTrainer *self = PT_TRAINER (object);

  g_clear_pointer (&self->method, pt_method_unref);
  g_clear_pointer (&self->source, pt_batch_source_free);
  g_clear_pointer (&self->run, pt_run_free);
  g_clear_pointer (&self->batch, pt_batch_free);
  g_clear_pointer (&self->next_events, g_ptr_array_unref);
  g_clear_pointer (&self->param_changes, g_array_unref);
  g_clear_error (&self->error);
  g_free (self->architecture);
  g_free (self->position);
  g_free (self->param_values);
  g_mutex_clear (&self->mutex);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (pt_trainer_parent_class)->finalize (object);
}

static void
pt_trainer_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PtTrainer *self = PT_TRAINER (object);

  switch (prop_id)
    {
    case PROP_STATE:
      g_value_set_enum (value, pt_trainer_get_state (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
pt_trainer_class_init (PtTrainerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = pt_trainer_dispose;
  object_class->finalize = pt_trainer_finalize;
  object_class->get_property = pt_trainer_get_property;

  /* Notified from the event idle, so it lags the thread by one dispatch. */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, PT_TYPE_TRAINER_STATE, PT_TRAINER_IDLE,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[SIGNAL_METRICS] =
    g_signal_new ("metrics", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_PTR_ARRAY);
  signals[SIGNAL_VISUALS] =
    g_signal_new ("visuals", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_POINTER);
  signals[SIGNAL_STATE_CHANGED] =
    g_signal_new ("state-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2,
                  PT_TYPE_TRAINER_STATE, PT_TYPE_TRAINER_STATE);
  signals[SIGNAL_FAULT] =
    g_signal_new ("fault", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3,
                  G_TYPE_UINT64, G_TYPE_STRING, G_TYPE_STRING);
}

static void
pt_trainer_init (PtTrainer *self)
{
  g_mutex_init (&self->mutex);
  g_cond_init (&self->cond);
  self->state = PT_TRAINER_IDLE;
  self->last_checkpoint = NO_CHECKPOINT;
  self->next_events = g_ptr_array_new_with_free_func (g_free);
  self->param_changes = g_array_new (FALSE, TRUE, sizeof (ParamChange));
  g_array_set_clear_func (self->param_changes, param_change_clear);
}

PtTrainer *
pt_trainer_new (PtMethod               *method,
                PtBatchSource          *source,
                PtRun                  *run,
                const PtTrainerOptions *options)
{
  PtTrainer *self;
  PtViewShape shapes[PT_MAX_VIEWS];
  const char *poison;
  int n_views;

  g_return_val_if_fail (method != NULL && source != NULL && run != NULL, NULL);

  self = g_object_new (PT_TYPE_TRAINER, NULL);
  self->method = pt_method_ref (method);
  self->source = source;
  self->run = run;
  if (options != NULL)
    self->options = *options;
  else
    {
      self->options.checkpoint_every = 500;
      self->options.visuals_every = 50;
    }
  self->architecture = pt_method_dup_architecture (method);
  n_views = pt_method_get_views (method, shapes);
  self->batch = pt_batch_new (MAX (pt_method_get_config (method)->batch_size, 1), n_views, shapes);
  self->channel = channel_new (self);
  pt_method_get_params (method, &self->n_params);
  self->param_values = g_new0 (double, MAX (self->n_params, 1));

  poison = g_getenv ("PRETEXT_POISON_STEP");
  if (poison != NULL)
    self->poison_step = g_ascii_strtoull (poison, NULL, 10);
  return self;
}

/* ---- Checkpoints ------------------------------------------------------ */

/* The whole resume state: the method's blobs plus the trainer's own. */
static GArray *
list_blobs (PtTrainer *self)
{
  GArray *blobs = pt_method_list_state (self->method);
  g_autoptr(GBytes) position = pt_batch_source_get_position (self->source);
  PtBlob blob;

  self->counters[0] = self->step;
  self->counters[1] = self->epoch;
  blob = (PtBlob) { "trainer/counters", PT_BLOB_U64, 2, self->counters };
  g_array_append_val (blobs, blob);

  self->position_len = g_bytes_get_size (position);
  g_free (self->position);
  self->position = g_malloc (MAX (self->position_len, 1));
  memcpy (self->position, g_bytes_get_data (position, NULL), self->position_len);
  blob = (PtBlob) { "trainer/source-position", PT_BLOB_U8, self->position_len, self->position };
  g_array_append_val (blobs, blob);

  for (guint i = 0; i < self->n_params; i++)
    self->param_values[i] = self->method->param_values[i];
  blob = (PtBlob) { "trainer/params", PT_BLOB_F64, self->n_params, self->param_values };
  g_array_append_val (blobs, blob);
  return blobs;
}

static void
identity_for (PtTrainer            *self,
              PtCheckpointIdentity *identity)
{
  identity->method = pt_method_get_name (self->method);
  identity->architecture = self->architecture;
  identity->config_hash = pt_run_get_config_hash (self->run);
}

static gboolean
save_checkpoint (PtTrainer  *self,
                 GError    **error)
{
  g_autoptr(GArray) blobs = list_blobs (self);
  PtCheckpointIdentity identity;

  identity_for (self, &identity);
  if (!pt_checkpoint_save_rotate (pt_run_get_checkpoint_dir (self->run), &identity,
                                  (const PtBlob *) blobs->data, blobs->len, error))
    return FALSE;
  g_mutex_lock (&self->mutex);
  self->last_checkpoint = self->step;
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

/* Loads the newest good checkpoint into the method, source and counters. */
static gboolean
restore_checkpoint (PtTrainer  *self,
                    char      **warning,
                    GError    **error)
{
  g_autoptr(GArray) blobs = list_blobs (self);
  const PtMethodParam *params;
  g_autoptr(GBytes) position = NULL;
  PtCheckpointIdentity identity;

  identity_for (self, &identity);
  if (!pt_checkpoint_load_latest (pt_run_get_checkpoint_dir (self->run), &identity,
                                  (const PtBlob *) blobs->data, blobs->len,
                                  NULL, warning, error))
    return FALSE;

  position = g_bytes_new (self->position, self->position_len);
  if (!pt_batch_source_set_position (self->source, position, error))
    return FALSE;
  params = pt_method_get_params (self->method, NULL);
  for (guint i = 0; i < self->n_params; i++)
    if (!pt_method_set_param (self->method, params[i].name, self->param_values[i], FALSE, error))
      return FALSE;
  pt_method_state_loaded (self->method);

  g_mutex_lock (&self->mutex);
  self->step = self->counters[0];
  self->epoch = self->counters[1];
  self->last_checkpoint = self->counters[0];
  g_mutex_unlock (&self->mutex);
  return pt_run_truncate_metrics (self->run, self->counters[0], error);
}

gboolean
pt_trainer_load_checkpoint (PtTrainer  *self,
                            char      **warning,
                            GError    **error)
{
  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  if (pt_trainer_get_state (self) != PT_TRAINER_IDLE)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_STATE,
                   _("A checkpoint can only be loaded before the run starts."));
      return FALSE;
    }
  if (!restore_checkpoint (self, warning, error))
    return FALSE;
  if (warning != NULL && *warning != NULL)
    g_ptr_array_add (self->next_events, g_strdup_printf ("resumed from previous checkpoint at step %"
                                                         G_GUINT64_FORMAT, self->step));
  else
    g_ptr_array_add (self->next_events, g_strdup_printf ("resumed at step %" G_GUINT64_FORMAT,
                                                         self->step));
  return TRUE;
}

gboolean
pt_trainer_load_method_state (PtMethod  *method,
                              PtRun     *run,
                              guint64   *step,
                              char     **warning,
                              GError   **error)
{
  g_autoptr(GArray) blobs = NULL;
  g_autofree char *architecture = NULL;
  g_autofree double *values = NULL;
  const PtMethodParam *params;
  guint64 counters[2] = { 0, 0 };
  guint n_params = 0;
  PtCheckpointIdentity identity;
  PtBlob blob;

  g_return_val_if_fail (method != NULL && run != NULL, FALSE);

  /* The trainer's list minus the source position, whose size belongs to
   * whatever source the run used. */
  blobs = pt_method_list_state (method);
  blob = (PtBlob) { "trainer/counters", PT_BLOB_U64, 2, counters };
  g_array_append_val (blobs, blob);
  params = pt_method_get_params (method, &n_params);
  values = g_new0 (double, MAX (n_params, 1));
  blob = (PtBlob) { "trainer/params", PT_BLOB_F64, n_params, values };
  g_array_append_val (blobs, blob);

  architecture = pt_method_dup_architecture (method);
  identity.method = pt_method_get_name (method);
  identity.architecture = architecture;
  identity.config_hash = pt_run_get_config_hash (run);
  if (!pt_checkpoint_load_latest_subset (pt_run_get_checkpoint_dir (run), &identity,
                                         (const PtBlob *) blobs->data, blobs->len,
                                         NULL, warning, error))
    return FALSE;
  for (guint i = 0; i < n_params; i++)
    if (!pt_method_set_param (method, params[i].name, values[i], FALSE, error))
      return FALSE;
  pt_method_state_loaded (method);
  if (step != NULL)
    *step = counters[0];
  return TRUE;
}

/* ---- The loop --------------------------------------------------------- */

static char *
fault_hint (PtTrainer *self)
{
  g_autoptr(GString) hint = g_string_new (NULL);

  if (pt_method_has_param (self->method, "lr"))
    g_string_append_printf (hint, _("Lower the learning rate (now %g)"),
                            pt_method_get_param (self->method, "lr"));
  if (pt_method_has_param (self->method, "temperature"))
    g_string_append_printf (hint, hint->len > 0 ? _(", raise the temperature (now %g)")
                                                : _("Raise the temperature (now %g)"),
                            pt_method_get_param (self->method, "temperature"));
  if (pt_method_has_param (self->method, "queue_size"))
    g_string_append (hint, hint->len > 0 ? _(" or use a smaller queue")
                                         : _("Use a smaller queue"));
  if (hint->len == 0)
    g_string_append (hint, _("Lower the learning rate"));
  g_string_append (hint, _(", then resume."));
  return g_string_free (g_steal_pointer (&hint), FALSE);
}

static void
apply_param_changes (PtTrainer *self,
                     GArray    *changes)
{
  for (guint i = 0; i < changes->len; i++)
    {
      ParamChange *c = &g_array_index (changes, ParamChange, i);
      g_autoptr(GError) error = NULL;
      double old = pt_method_get_param (self->method, c->name);
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];

      if (!pt_method_set_param (self->method, c->name, c->value, TRUE, &error))
        {
          g_ptr_array_add (self->next_events, g_strdup_printf ("refused %s: %s", c->name,
                                                               error->message));
          continue;
        }
      g_ascii_formatd (a, sizeof a, "%.6g", old);
      g_ascii_formatd (b, sizeof b, "%.6g", c->value);
      g_ptr_array_add (self->next_events, g_strdup_printf ("set %s %s -> %s", c->name, a, b));
    }
}

static gboolean
result_finite (const PtStepResult *result)
{
  if (!isfinite (result->loss) || !result->grad_finite)
    return FALSE;
  for (int i = 0; i < result->n_parts; i++)
    if (!isfinite (result->parts[i].value))
      return FALSE;
  return TRUE;
}

/* A non-finite step: rewind to the last good checkpoint and pause. Returns
 * FALSE when the run cannot continue (error set). */
static gboolean
handle_fault (PtTrainer          *self,
              guint64             bad_step,
              const PtStepResult *result,
              GError            **error)
{
  g_autofree char *what = NULL;
  g_autofree char *hint = fault_hint (self);
  g_autofree char *message = NULL;
  g_autofree char *warning = NULL;
  g_autoptr(GError) local_error = NULL;
  Event *event;

  if (!isfinite (result->loss))
    what = g_strdup_printf (_("The loss became %s at step %llu."),
                            isnan (result->loss) ? "NaN" : "infinite",
                            (unsigned long long) bad_step);
  else if (!result->grad_finite)
    what = g_strdup_printf (_("A gradient became NaN or infinite at step %llu."),
                            (unsigned long long) bad_step);
  else
    what = g_strdup_printf (_("A part of the loss became NaN or infinite at step %llu."),
                            (unsigned long long) bad_step);

  if (!restore_checkpoint (self, &warning, &local_error))
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_NON_FINITE,
                   _("%s The last checkpoint could not be restored: %s"),
                   what, local_error->message);
      return FALSE;
    }
  message = g_strdup_printf (_("%s The run went back to step %llu"
                               " (the last good checkpoint) and paused."),
                             what, (unsigned long long) self->step);
  g_ptr_array_add (self->next_events,
                   g_strdup_printf ("fault at step %" G_GUINT64_FORMAT ": rewound to step %"
                                    G_GUINT64_FORMAT, bad_step, self->step));
  if (warning != NULL)
    {
      /* "last" was bad and "previous" was used: the user should know. */
      g_autofree char *with_warning = g_strconcat (message, " ", warning, NULL);

      g_ptr_array_add (self->next_events, g_strdup (warning));
      g_free (message);
      message = g_steal_pointer (&with_warning);
    }

  if (self->stop_flag != NULL)
    {
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_NON_FINITE, "%s %s", message, hint);
      return FALSE;
    }

  event = g_new0 (Event, 1);
  event->kind = EVENT_FAULT;
  event->step = bad_step;
  event->message = g_steal_pointer (&message);
  event->hint = g_steal_pointer (&hint);
  g_mutex_lock (&self->mutex);
  self->pause_requested = TRUE;
  self->steps_pending = 0;
  channel_push (self->channel, event);
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

/* One step; returns FALSE when the run must end (error set). */
static gboolean
do_step (PtTrainer  *self,
         GError    **error)
{
  g_autoptr(PtStepMetrics) metrics = NULL;
  g_autofree char *line = NULL;
  PtStepResult result;
  guint64 next = self->step + 1;
  gboolean poison;
  gint64 now;

  if (!pt_batch_source_next (self->source, self->batch, error))
    return FALSE;

  g_mutex_lock (&self->mutex);
  poison = self->poison_step != 0 && self->poison_step == next;
  if (poison)
    self->poison_step = 0;
  g_mutex_unlock (&self->mutex);
  if (poison)
    for (int v = 0; v < self->batch->n_views; v++)
      for (gsize i = 0; i < pt_batch_view_size (self->batch, v); i++)
        self->batch->views[v][i] = NAN;

  if (!pt_method_step (self->method, self->batch, &result, error))
    return FALSE;
  if (!result_finite (&result))
    return handle_fault (self, next, &result, error);

  now = g_get_monotonic_time ();
  if (self->last_step_us != 0 && now > self->last_step_us)
    {
      double rate = self->batch->batch_size / ((now - self->last_step_us) / 1e6);

      /* Smoothed, so the display does not flicker. */
      self->images_per_s = self->images_per_s > 0 ? 0.9 * self->images_per_s + 0.1 * rate : rate;
    }
  self->last_step_us = now;

  g_mutex_lock (&self->mutex);
  self->step = next;
  self->epoch = self->batch->epoch;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->mutex);

  metrics = g_new0 (PtStepMetrics, 1);
  metrics->step = next;
  metrics->epoch = self->batch->epoch;
  metrics->loss = result.loss;
  metrics->n_parts = result.n_parts;
  memcpy (metrics->parts, result.parts, sizeof result.parts);
  metrics->n_stats = result.n_stats;
  memcpy (metrics->stats, result.stats, sizeof result.stats);
  /* The learning rate in force this step: what the method reports (after
   * warmup and schedule), else its "lr" parameter. */
  metrics->lr = NAN;
  for (int i = 0; i < result.n_stats; i++)
    if (g_strcmp0 (result.stats[i].name, "lr") == 0)
      metrics->lr = result.stats[i].value;
  if (isnan (metrics->lr) && pt_method_has_param (self->method, "lr"))
    metrics->lr = pt_method_get_param (self->method, "lr");
  metrics->images_per_s = self->images_per_s;
  metrics->time = g_get_real_time () / 1e6;
  if (self->next_events->len > 0)
    {
      g_ptr_array_add (self->next_events, NULL);
      metrics->events = (char **) g_ptr_array_free (g_steal_pointer (&self->next_events), FALSE);
      self->next_events = g_ptr_array_new_with_free_func (g_free);
    }

  line = pt_step_metrics_to_json (metrics);
  if (!pt_run_append_metrics (self->run, line, error))
    return FALSE;

  if (self->step_func != NULL)
    self->step_func (self, metrics, self->step_data);

  {
    Event *event = g_new0 (Event, 1);

    event->kind = EVENT_METRICS;
    event->metrics = g_steal_pointer (&metrics);
    channel_push (self->channel, event);
  }

  if (self->options.visuals_every > 0 && next % self->options.visuals_every == 0)
    {
      PtVisuals *visuals = pt_method_visuals (self->method);

      if (visuals != NULL)
        {
          Event *event = g_new0 (Event, 1);

          event->kind = EVENT_VISUALS;
          event->visuals = visuals;
          channel_push (self->channel, event);
        }
    }

  if (self->options.checkpoint_every > 0 && next % self->options.checkpoint_every == 0)
    return save_checkpoint (self, error);
  return TRUE;
}

/* Ends the run with a checkpoint (stop or step limit). */
static void
finish (PtTrainer *self)
{
  g_autoptr(GError) error = NULL;

  g_mutex_lock (&self->mutex);
  set_state_locked (self, PT_TRAINER_STOPPING);
  g_mutex_unlock (&self->mutex);

  if (self->last_checkpoint != self->step && !save_checkpoint (self, &error))
    {
      fail (self, g_steal_pointer (&error));
      return;
    }
  g_mutex_lock (&self->mutex);
  set_state_locked (self, PT_TRAINER_FINISHED);
  g_mutex_unlock (&self->mutex);
}

static void
run_loop (PtTrainer *self)
{
  g_autoptr(GError) error = NULL;

  if (self->last_checkpoint == NO_CHECKPOINT && !save_checkpoint (self, &error))
    {
      fail (self, g_steal_pointer (&error));
      return;
    }

  for (;;)
    {
      g_autoptr(GArray) changes = NULL;

      g_mutex_lock (&self->mutex);
      for (;;)
        {
          if (self->cancel_requested)
            {
              if (self->error == NULL)
                self->error = g_error_new (PT_TRAINER_ERROR, PT_TRAINER_ERROR_CANCELLED,
                                           _("The run was cancelled at step %llu."),
                                           (unsigned long long) self->step);
              set_state_locked (self, PT_TRAINER_FAILED);
              g_mutex_unlock (&self->mutex);
              return;
            }
          if (self->stop_requested ||
              (self->stop_flag != NULL && *self->stop_flag != 0) ||
              (self->options.total_steps > 0 && self->step >= self->options.total_steps))
            {
              g_mutex_unlock (&self->mutex);
              finish (self);
              return;
            }
          if (self->pause_requested && self->steps_pending == 0)
            {
              set_state_locked (self, PT_TRAINER_PAUSED);
              self->parked = TRUE;
              g_cond_broadcast (&self->cond);
              g_cond_wait (&self->cond, &self->mutex);
              self->parked = FALSE;
              self->last_step_us = 0;   /* a pause is not a slow step */
              continue;
            }
          break;
        }
      if (self->pause_requested)
        self->steps_pending--;   /* a single step: the state stays paused */
      else
        set_state_locked (self, PT_TRAINER_RUNNING);
      if (self->param_changes->len > 0)
        {
          changes = g_steal_pointer (&self->param_changes);
          self->param_changes = g_array_new (FALSE, TRUE, sizeof (ParamChange));
          g_array_set_clear_func (self->param_changes, param_change_clear);
        }
      g_mutex_unlock (&self->mutex);

      if (changes != NULL)
        apply_param_changes (self, changes);
      if (!do_step (self, &error))
        {
          fail (self, g_steal_pointer (&error));
          return;
        }
    }
}

static gpointer
thread_func (gpointer data)
{
  run_loop (data);
  return NULL;
}

gboolean
pt_trainer_start (PtTrainer  *self,
                  GError    **error)
{
  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  if (self->state != PT_TRAINER_IDLE || self->thread != NULL)
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_STATE,
                   _("This run was already started."));
      return FALSE;
    }
  g_mutex_lock (&self->channel->mutex);
  self->channel->context = g_main_context_ref_thread_default ();
  g_mutex_unlock (&self->channel->mutex);
  set_state_locked (self, PT_TRAINER_RUNNING);
  g_mutex_unlock (&self->mutex);

  self->thread = g_thread_try_new ("pt-trainer", thread_func, self, error);
  if (self->thread == NULL)
    {
      fail (self, g_error_new (PT_TRAINER_ERROR, PT_TRAINER_ERROR_FAILED,
                               _("Cannot start the training thread.")));
      return FALSE;
    }
  return TRUE;
}

gboolean
pt_trainer_run_blocking (PtTrainer             *self,
                         volatile sig_atomic_t *stop_flag,
                         GError               **error)
{
  static volatile sig_atomic_t never = 0;
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  if (self->state != PT_TRAINER_IDLE)
    {
      g_mutex_unlock (&self->mutex);
      g_set_error (error, PT_TRAINER_ERROR, PT_TRAINER_ERROR_STATE,
                   _("This run was already started."));
      return FALSE;
    }
  self->stop_flag = stop_flag != NULL ? stop_flag : &never;
  set_state_locked (self, PT_TRAINER_RUNNING);
  g_mutex_unlock (&self->mutex);

  run_loop (self);

  g_mutex_lock (&self->mutex);
  ok = self->state == PT_TRAINER_FINISHED;
  if (!ok && self->error != NULL)
    g_propagate_error (error, g_error_copy (self->error));
  g_mutex_unlock (&self->mutex);
  return ok;
}

static volatile sig_atomic_t *stop_signal_flag;

static void
on_stop_signal (int signum)
{
  if (stop_signal_flag != NULL)
    *stop_signal_flag = 1;
  /* A second signal acts as if no handler were installed. */
  signal (signum, SIG_DFL);
}

void
pt_trainer_install_stop_signals (volatile sig_atomic_t *flag)
{
  stop_signal_flag = flag;
  signal (SIGINT, on_stop_signal);
  signal (SIGTERM, on_stop_signal);
}

/* ---- Controls --------------------------------------------------------- */

static gboolean
is_live_locked (PtTrainer *self)
{
  return self->thread != NULL && !is_terminal (self->state) &&
         !self->stop_requested && !self->cancel_requested;
}

gboolean
pt_trainer_pause (PtTrainer *self)
{
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  ok = is_live_locked (self) && !self->pause_requested;
  if (ok)
    self->pause_requested = TRUE;
  g_mutex_unlock (&self->mutex);
  return ok;
}

gboolean
pt_trainer_resume (PtTrainer *self)
{
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  ok = is_live_locked (self) && self->pause_requested;
  if (ok)
    {
      self->pause_requested = FALSE;
      self->steps_pending = 0;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);
  return ok;
}

gboolean
pt_trainer_step (PtTrainer *self)
{
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  ok = is_live_locked (self) && self->pause_requested;
  if (ok)
    {
      self->steps_pending++;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);
  return ok;
}

gboolean
pt_trainer_stop (PtTrainer *self)
{
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  ok = is_live_locked (self);
  if (ok)
    {
      self->stop_requested = TRUE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);
  return ok;
}

gboolean
pt_trainer_cancel (PtTrainer *self)
{
  gboolean ok;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  ok = self->thread != NULL && !is_terminal (self->state) && !self->cancel_requested;
  if (ok)
    {
      self->cancel_requested = TRUE;
      g_cond_broadcast (&self->cond);
    }
  g_mutex_unlock (&self->mutex);
  return ok;
}

gboolean
pt_trainer_set_param (PtTrainer   *self,
                      const char  *name,
                      double       value,
                      GError     **error)
{
  const PtMethodParam *param;
  ParamChange change;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  /* The parameter table is static: reading it races with nothing. */
  param = pt_method_find_param (self->method, name);
  if (param == NULL)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The method %s has no parameter “%s”."),
                   pt_method_get_title (self->method), name);
      return FALSE;
    }
  if (!param->live)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The %s parameter “%s” cannot change during a run."),
                   pt_method_get_title (self->method), name);
      return FALSE;
    }
  if (!isfinite (value) || value < param->min_value || value > param->max_value)
    {
      g_set_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_INVALID_PARAM,
                   _("The value %g of %s parameter “%s” is outside %g to %g."),
                   value, pt_method_get_title (self->method), name,
                   param->min_value, param->max_value);
      return FALSE;
    }

  change.name = g_strdup (name);
  change.value = value;
  g_mutex_lock (&self->mutex);
  g_array_append_val (self->param_changes, change);
  g_mutex_unlock (&self->mutex);
  return TRUE;
}

void
pt_trainer_poison_step (PtTrainer *self,
                        guint64    step)
{
  g_return_if_fail (PT_IS_TRAINER (self));

  g_mutex_lock (&self->mutex);
  self->poison_step = step;
  g_mutex_unlock (&self->mutex);
}

void
pt_trainer_set_step_func (PtTrainer         *self,
                          PtTrainerStepFunc  func,
                          gpointer           user_data)
{
  g_return_if_fail (PT_IS_TRAINER (self));
  g_return_if_fail (self->thread == NULL);

  self->step_func = func;
  self->step_data = user_data;
}

PtTrainerState
pt_trainer_get_state (PtTrainer *self)
{
  PtTrainerState state;

  g_return_val_if_fail (PT_IS_TRAINER (self), PT_TRAINER_FAILED);

  g_mutex_lock (&self->mutex);
  state = self->state;
  g_mutex_unlock (&self->mutex);
  return state;
}

guint64
pt_trainer_get_step (PtTrainer *self)
{
  guint64 step;

  g_return_val_if_fail (PT_IS_TRAINER (self), 0);

  g_mutex_lock (&self->mutex);
  step = self->step;
  g_mutex_unlock (&self->mutex);
  return step;
}

guint64
pt_trainer_get_checkpoint_step (PtTrainer *self)
{
  guint64 step;

  g_return_val_if_fail (PT_IS_TRAINER (self), NO_CHECKPOINT);

  g_mutex_lock (&self->mutex);
  step = self->last_checkpoint;
  g_mutex_unlock (&self->mutex);
  return step;
}

const GError *
pt_trainer_get_error (PtTrainer *self)
{
  const GError *error;

  g_return_val_if_fail (PT_IS_TRAINER (self), NULL);

  g_mutex_lock (&self->mutex);
  error = self->error;
  g_mutex_unlock (&self->mutex);
  return error;
}

PtMethod *
pt_trainer_get_method (PtTrainer *self)
{
  g_return_val_if_fail (PT_IS_TRAINER (self), NULL);
  return self->method;
}

PtRun *
pt_trainer_get_run (PtTrainer *self)
{
  g_return_val_if_fail (PT_IS_TRAINER (self), NULL);
  return self->run;
}

gboolean
pt_trainer_wait (PtTrainer *self,
                 gint64     timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  gboolean ok = TRUE;

  g_return_val_if_fail (PT_IS_TRAINER (self), FALSE);

  g_mutex_lock (&self->mutex);
  while (!(is_terminal (self->state) || self->thread == NULL ||
           (self->parked && self->steps_pending == 0 && self->pause_requested &&
            !self->stop_requested && !self->cancel_requested)))
    if (!g_cond_wait_until (&self->cond, &self->mutex, deadline))
      {
        ok = is_terminal (self->state);
        break;
      }
  g_mutex_unlock (&self->mutex);
  return ok;
}
