/* pt-dataset.c: the PtDataset object, spec dispatch and the content hash.
 *
 * The sources live in pt-dataset-shapes.c, pt-dataset-idx.c (IDX and
 * CIFAR-10) and pt-dataset-folder.c; each fills a PtDatasetData that becomes
 * an immutable PtDataset here.
 */
#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-dataset-private.h"

struct _PtDataset
{
  GObject    parent_instance;

  char      *spec;
  char      *title;
  PtSplit    split;
  int        channels;
  int        height;
  int        width;
  guint      n_images;
  guint8    *pixels;
  int       *labels;
  int        n_classes;
  char     **class_names;
  guint     *class_counts;
  char     **image_paths;
  GPtrArray *quarantined_paths;
  GPtrArray *quarantined_reasons;
  char      *content_hash;
};

G_DEFINE_FINAL_TYPE (PtDataset, pt_dataset, G_TYPE_OBJECT)

G_DEFINE_QUARK (pt-dataset-error-quark, pt_dataset_error)

static void
pt_dataset_finalize (GObject *object)
{
  PtDataset *self = PT_DATASET (object);

  g_free (self->spec);
  g_free (self->title);
  g_free (self->pixels);
  g_free (self->labels);
  g_strfreev (self->class_names);
  g_free (self->class_counts);
  g_strfreev (self->image_paths);
  g_clear_pointer (&self->quarantined_paths, g_ptr_array_unref);
  g_clear_pointer (&self->quarantined_reasons, g_ptr_array_unref);
  g_free (self->content_hash);

  G_OBJECT_CLASS (pt_dataset_parent_class)->finalize (object);
}

static void
pt_dataset_class_init (PtDatasetClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pt_dataset_finalize;
}

static void
pt_dataset_init (PtDataset *self)
{
}

void
_pt_dataset_data_clear (PtDatasetData *data)
{
  g_clear_pointer (&data->title, g_free);
  g_clear_pointer (&data->pixels, g_free);
  g_clear_pointer (&data->labels, g_free);
  g_clear_pointer (&data->class_names, g_strfreev);
  g_clear_pointer (&data->image_paths, g_strfreev);
  g_clear_pointer (&data->quarantined_paths, g_ptr_array_unref);
  g_clear_pointer (&data->quarantined_reasons, g_ptr_array_unref);
  memset (data, 0, sizeof *data);
}

static void
put_u32_le (guint8  *p,
            guint32  v)
{
  p[0] = v & 0xff;
  p[1] = (v >> 8) & 0xff;
  p[2] = (v >> 16) & 0xff;
  p[3] = (v >> 24) & 0xff;
}

/* SHA-256 over a 16-byte header (C, H, W, N as little-endian u32), the
 * pixels, then the labels as little-endian i32. */
static char *
compute_content_hash (PtDataset *self)
{
  g_autoptr(GChecksum) checksum = g_checksum_new (G_CHECKSUM_SHA256);
  guint8 header[16];
  gsize total = (gsize) self->n_images * pt_dataset_get_image_size (self);
  const gsize chunk = 1 << 24;
  guint8 buf[4096];
  gsize fill = 0;

  put_u32_le (header, self->channels);
  put_u32_le (header + 4, self->height);
  put_u32_le (header + 8, self->width);
  put_u32_le (header + 12, self->n_images);
  g_checksum_update (checksum, header, sizeof header);

  /* g_checksum_update takes a gssize: feed big arrays in chunks. */
  for (gsize off = 0; off < total; off += chunk)
    g_checksum_update (checksum, self->pixels + off, MIN (chunk, total - off));

  for (guint i = 0; i < self->n_images; i++)
    {
      put_u32_le (buf + fill, (guint32) self->labels[i]);
      fill += 4;
      if (fill == sizeof buf)
        {
          g_checksum_update (checksum, buf, fill);
          fill = 0;
        }
    }
  g_checksum_update (checksum, buf, fill);

  return g_strdup (g_checksum_get_string (checksum));
}

PtDataset *
_pt_dataset_new_take (const char    *spec,
                      PtSplit        split,
                      PtDatasetData *data)
{
  PtDataset *self = g_object_new (PT_TYPE_DATASET, NULL);

  g_assert (data->channels == 1 || data->channels == 3);
  g_assert (data->height > 0 && data->width > 0);

  self->spec = g_strdup (spec);
  self->split = split;
  self->title = g_steal_pointer (&data->title);
  self->channels = data->channels;
  self->height = data->height;
  self->width = data->width;
  self->n_images = data->n_images;
  self->pixels = g_steal_pointer (&data->pixels);
  if (self->pixels == NULL)
    self->pixels = g_malloc0 (1);
  self->labels = g_steal_pointer (&data->labels);
  if (self->labels == NULL)
    {
      self->labels = g_new (int, MAX (self->n_images, 1));
      for (guint i = 0; i < self->n_images; i++)
        self->labels[i] = -1;
    }
  self->n_classes = data->n_classes;
  self->class_names = g_steal_pointer (&data->class_names);
  if (self->class_names == NULL)
    {
      self->class_names = g_new0 (char *, self->n_classes + 1);
      for (int k = 0; k < self->n_classes; k++)
        self->class_names[k] = g_strdup_printf ("%d", k);
    }
  g_assert (g_strv_length (self->class_names) == (guint) self->n_classes);

  self->class_counts = g_new0 (guint, MAX (self->n_classes, 1));
  for (guint i = 0; i < self->n_images; i++)
    {
      g_assert (self->labels[i] >= -1 && self->labels[i] < self->n_classes);
      if (self->labels[i] >= 0)
        self->class_counts[self->labels[i]]++;
    }

  self->image_paths = g_steal_pointer (&data->image_paths);
  self->quarantined_paths = g_steal_pointer (&data->quarantined_paths);
  self->quarantined_reasons = g_steal_pointer (&data->quarantined_reasons);
  if (self->quarantined_paths == NULL)
    self->quarantined_paths = g_ptr_array_new_with_free_func (g_free);
  if (self->quarantined_reasons == NULL)
    self->quarantined_reasons = g_ptr_array_new_with_free_func (g_free);
  g_assert (self->quarantined_paths->len == self->quarantined_reasons->len);

  self->content_hash = compute_content_hash (self);
  _pt_dataset_data_clear (data);
  return self;
}

PtDataset *
pt_dataset_new_from_memory (const char         *title,
                            int                 channels,
                            int                 height,
                            int                 width,
                            guint               n_images,
                            const guint8       *pixels,
                            const int          *labels,
                            int                 n_classes,
                            const char * const *class_names)
{
  PtDatasetData data = { 0 };
  gsize size;

  g_return_val_if_fail (channels == 1 || channels == 3, NULL);
  g_return_val_if_fail (height > 0 && width > 0, NULL);
  g_return_val_if_fail (n_images == 0 || pixels != NULL, NULL);
  g_return_val_if_fail (n_classes >= 0, NULL);

  size = (gsize) channels * height * width;
  for (guint i = 0; labels != NULL && i < n_images; i++)
    g_return_val_if_fail (labels[i] >= -1 && labels[i] < n_classes, NULL);

  data.title = g_strdup (title != NULL ? title : "");
  data.channels = channels;
  data.height = height;
  data.width = width;
  data.n_images = n_images;
  data.pixels = n_images > 0 ? g_memdup2 (pixels, size * n_images) : g_malloc0 (1);
  if (labels != NULL && n_images > 0)
    data.labels = g_memdup2 (labels, sizeof (int) * n_images);
  data.n_classes = n_classes;
  if (class_names != NULL)
    {
      data.class_names = g_new0 (char *, n_classes + 1);
      for (int k = 0; k < n_classes; k++)
        data.class_names[k] = g_strdup (class_names[k]);
    }
  return _pt_dataset_new_take ("memory", PT_SPLIT_TRAIN, &data);
}

static gboolean
check_options (const PtDatasetOptions *o,
               GError                **error)
{
  if (o->resolution != 0 && (o->resolution < 4 || o->resolution > 1024))
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("Resolution %d is out of range (4 to 1024 pixels)."),
                   o->resolution);
      return FALSE;
    }
  if (o->shapes_train < 0 || o->shapes_train > 10000000 ||
      o->shapes_test < 0 || o->shapes_test > 10000000)
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                   _("Shapes split sizes must be between 1 and 10,000,000 images."));
      return FALSE;
    }
  return TRUE;
}

PtDataset *
pt_dataset_open (const char             *spec,
                 PtSplit                 split,
                 const PtDatasetOptions *options,
                 GCancellable           *cancellable,
                 PtProgressFunc          progress,
                 gpointer                progress_data,
                 GError                **error)
{
  PtDatasetOptions defaults = { 0 };
  PtDatasetData data = { 0 };
  gboolean ok;

  g_return_val_if_fail (spec != NULL, NULL);
  g_return_val_if_fail (split == PT_SPLIT_TRAIN || split == PT_SPLIT_TEST, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (options == NULL)
    options = &defaults;
  if (!check_options (options, error))
    return NULL;
  if (g_cancellable_set_error_if_cancelled (cancellable, error))
    return NULL;

  if (spec[0] == '\0')
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("The dataset name is empty (expected shapes, fashion-mnist, mnist, cifar10:PATH, a folder or an IDX file)."));
      return NULL;
    }

  if (strcmp (spec, "shapes") == 0)
    ok = _pt_dataset_load_shapes (&data, split, options, cancellable,
                                  progress, progress_data, error);
  else if (strcmp (spec, "fashion-mnist") == 0 || strcmp (spec, "mnist") == 0)
    ok = _pt_dataset_load_named_idx (&data, spec, split, cancellable,
                                     progress, progress_data, error);
  else if (g_str_has_prefix (spec, "cifar10:"))
    ok = _pt_dataset_load_cifar10 (&data, spec + strlen ("cifar10:"), split,
                                   cancellable, progress, progress_data, error);
  else if (g_file_test (spec, G_FILE_TEST_IS_DIR) && _pt_dataset_is_idx_folder (spec))
    ok = _pt_dataset_load_idx_folder (&data, spec, split, cancellable,
                                      progress, progress_data, error);
  else if (g_file_test (spec, G_FILE_TEST_IS_DIR))
    ok = _pt_dataset_load_folder (&data, spec, split, options, cancellable,
                                  progress, progress_data, error);
  else if (g_file_test (spec, G_FILE_TEST_EXISTS))
    {
      if (split == PT_SPLIT_TEST)
        {
          g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_UNSUPPORTED,
                       _("“%s” is a single IDX file, which has no test split; open its test file instead."),
                       spec);
          ok = FALSE;
        }
      else
        ok = _pt_dataset_load_idx_file (&data, spec, cancellable,
                                        progress, progress_data, error);
    }
  else
    {
      g_set_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND,
                   _("“%s” does not exist (expected shapes, fashion-mnist, mnist, cifar10:PATH, a folder or an IDX file)."),
                   spec);
      ok = FALSE;
    }

  if (!ok)
    {
      _pt_dataset_data_clear (&data);
      /* Messages name files: keep them valid UTF-8 for labels and JSON. */
      if (error != NULL && *error != NULL && !g_utf8_validate ((*error)->message, -1, NULL))
        {
          char *valid = g_utf8_make_valid ((*error)->message, -1);

          g_free ((*error)->message);
          (*error)->message = valid;
        }
      return NULL;
    }
  if (progress != NULL)
    progress (1.0, progress_data);
  return _pt_dataset_new_take (spec, split, &data);
}

/* Progress from the worker to the caller's main context: the worker stores
 * the latest fraction and schedules an idle only when none is pending. */
typedef struct {
  gatomicrefcount  ref;
  GMutex           lock;
  GMainContext    *context;
  PtProgressFunc   func;
  gpointer         data;
  double           fraction;
  gboolean         pending;
  gboolean         done;      /* main context only: the task has completed */
  GAsyncReadyCallback callback;
  gpointer         user_data;
} ProgressRelay;

static ProgressRelay *
progress_relay_ref (ProgressRelay *relay)
{
  g_atomic_ref_count_inc (&relay->ref);
  return relay;
}

static void
progress_relay_unref (ProgressRelay *relay)
{
  if (g_atomic_ref_count_dec (&relay->ref))
    {
      g_mutex_clear (&relay->lock);
      g_main_context_unref (relay->context);
      g_free (relay);
    }
}

static gboolean
on_progress_idle_cb (gpointer user_data)
{
  ProgressRelay *relay = user_data;
  double fraction;

  g_mutex_lock (&relay->lock);
  fraction = relay->fraction;
  relay->pending = FALSE;
  g_mutex_unlock (&relay->lock);

  if (!relay->done)
    relay->func (fraction, relay->data);
  return G_SOURCE_REMOVE;
}

static void
relay_progress (double   fraction,
                gpointer user_data)
{
  ProgressRelay *relay = user_data;
  gboolean schedule;

  g_mutex_lock (&relay->lock);
  relay->fraction = fraction;
  schedule = !relay->pending;
  relay->pending = TRUE;
  g_mutex_unlock (&relay->lock);

  if (schedule)
    {
      g_autoptr(GSource) source = g_idle_source_new ();

      g_source_set_callback (source, on_progress_idle_cb, progress_relay_ref (relay),
                             (GDestroyNotify) progress_relay_unref);
      g_source_set_static_name (source, "[pretext] dataset progress");
      g_source_attach (source, relay->context);
    }
}

static void
on_relay_task_done_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  ProgressRelay *relay = user_data;

  relay->done = TRUE;
  if (relay->callback != NULL)
    relay->callback (source, result, relay->user_data);
  progress_relay_unref (relay);
}

typedef struct {
  char             *spec;
  PtSplit           split;
  PtDatasetOptions  options;
  ProgressRelay    *relay;
} OpenTaskData;

static void
open_task_data_free (OpenTaskData *d)
{
  g_free (d->spec);
  g_clear_pointer (&d->relay, progress_relay_unref);
  g_free (d);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  OpenTaskData *d = task_data;
  GError *error = NULL;
  PtDataset *dataset;

  dataset = pt_dataset_open (d->spec, d->split, &d->options, cancellable,
                             d->relay != NULL ? relay_progress : NULL, d->relay, &error);
  if (dataset == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, dataset, g_object_unref);
}

static void
open_async (const char             *spec,
            PtSplit                 split,
            const PtDatasetOptions *options,
            GCancellable           *cancellable,
            ProgressRelay          *relay,
            GAsyncReadyCallback     callback,
            gpointer                user_data)
{
  g_autoptr(GTask) task = NULL;
  OpenTaskData *d;

  d = g_new0 (OpenTaskData, 1);
  d->spec = g_strdup (spec);
  d->split = split;
  if (options != NULL)
    d->options = *options;
  d->relay = relay;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, pt_dataset_open_async);
  g_task_set_name (task, "pt_dataset_open_async");
  g_task_set_task_data (task, d, (GDestroyNotify) open_task_data_free);
  g_task_run_in_thread (task, open_thread);
}

void
pt_dataset_open_async (const char             *spec,
                       PtSplit                 split,
                       const PtDatasetOptions *options,
                       GCancellable           *cancellable,
                       GAsyncReadyCallback     callback,
                       gpointer                user_data)
{
  g_return_if_fail (spec != NULL);

  open_async (spec, split, options, cancellable, NULL, callback, user_data);
}

void
pt_dataset_open_async_with_progress (const char             *spec,
                                     PtSplit                 split,
                                     const PtDatasetOptions *options,
                                     GCancellable           *cancellable,
                                     PtProgressFunc          progress,
                                     gpointer                progress_data,
                                     GAsyncReadyCallback     callback,
                                     gpointer                user_data)
{
  ProgressRelay *relay;

  g_return_if_fail (spec != NULL);

  if (progress == NULL)
    {
      open_async (spec, split, options, cancellable, NULL, callback, user_data);
      return;
    }

  relay = g_new0 (ProgressRelay, 1);
  g_atomic_ref_count_init (&relay->ref);
  g_mutex_init (&relay->lock);
  relay->context = g_main_context_ref_thread_default ();
  relay->func = progress;
  relay->data = progress_data;
  relay->callback = callback;
  relay->user_data = user_data;

  /* One reference for the worker (task data), one for the completion. */
  open_async (spec, split, options, cancellable, progress_relay_ref (relay),
              on_relay_task_done_cb, relay);
}

PtDataset *
pt_dataset_open_finish (GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == pt_dataset_open_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

const char *
pt_dataset_get_spec (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->spec;
}

const char *
pt_dataset_get_title (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->title;
}

PtSplit
pt_dataset_get_split (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), PT_SPLIT_TRAIN);
  return self->split;
}

guint
pt_dataset_get_n_images (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->n_images;
}

int
pt_dataset_get_channels (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->channels;
}

int
pt_dataset_get_height (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->height;
}

int
pt_dataset_get_width (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->width;
}

gsize
pt_dataset_get_image_size (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return (gsize) self->channels * self->height * self->width;
}

const guint8 *
pt_dataset_get_image (PtDataset *self,
                      guint      i)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (i < self->n_images, NULL);
  return self->pixels + (gsize) i * pt_dataset_get_image_size (self);
}

const guint8 *
pt_dataset_get_pixels (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->pixels;
}

const int *
pt_dataset_get_labels (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->labels;
}

int
pt_dataset_get_label (PtDataset *self,
                      guint      i)
{
  g_return_val_if_fail (PT_IS_DATASET (self), -1);
  g_return_val_if_fail (i < self->n_images, -1);
  return self->labels[i];
}

const char *
pt_dataset_get_image_path (PtDataset *self,
                           guint      i)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (i < self->n_images, NULL);
  if (self->image_paths == NULL)
    return NULL;
  return self->image_paths[i];
}

int
pt_dataset_get_n_classes (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->n_classes;
}

const char *
pt_dataset_get_class_name (PtDataset *self,
                           int        klass)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (klass >= 0 && klass < self->n_classes, NULL);
  return self->class_names[klass];
}

const guint *
pt_dataset_get_class_counts (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->class_counts;
}

const char *
pt_dataset_get_content_hash (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  return self->content_hash;
}

guint
pt_dataset_get_n_quarantined (PtDataset *self)
{
  g_return_val_if_fail (PT_IS_DATASET (self), 0);
  return self->quarantined_paths->len;
}

const char *
pt_dataset_get_quarantined_path (PtDataset *self,
                                 guint      i)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (i < self->quarantined_paths->len, NULL);
  return g_ptr_array_index (self->quarantined_paths, i);
}

const char *
pt_dataset_get_quarantined_reason (PtDataset *self,
                                   guint      i)
{
  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (i < self->quarantined_reasons->len, NULL);
  return g_ptr_array_index (self->quarantined_reasons, i);
}

GdkPixbuf *
pt_dataset_dup_pixbuf (PtDataset *self,
                       guint      i)
{
  GdkPixbuf *pixbuf;
  const guint8 *src;
  guint8 *dst;
  int stride;
  gsize plane;

  g_return_val_if_fail (PT_IS_DATASET (self), NULL);
  g_return_val_if_fail (i < self->n_images, NULL);

  pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, self->width, self->height);
  dst = gdk_pixbuf_get_pixels (pixbuf);
  stride = gdk_pixbuf_get_rowstride (pixbuf);
  src = pt_dataset_get_image (self, i);
  plane = (gsize) self->height * self->width;

  for (int y = 0; y < self->height; y++)
    for (int x = 0; x < self->width; x++)
      for (int c = 0; c < 3; c++)
        {
          int sc = self->channels == 3 ? c : 0;
          dst[(gsize) y * stride + x * 3 + c] = src[sc * plane + (gsize) y * self->width + x];
        }
  return pixbuf;
}

typedef struct {
  guint           n;
  guint           chunk;
  gint            next;      /* atomic: first item not yet taken */
  gint            done;      /* atomic: items finished */
  PtParallelFunc  func;
  gpointer        user_data;
  GCancellable   *cancellable;
  GMutex          lock;
  GCond           cond;      /* a worker finished a chunk or exited */
  int             n_running; /* workers still running (under lock) */
} ParallelJob;

/* Takes and runs chunks until none is left; returns FALSE when there was
 * nothing to take. */
static gboolean
parallel_run_chunk (ParallelJob *job)
{
  guint start, end;

  if (g_cancellable_is_cancelled (job->cancellable))
    return FALSE;
  start = (guint) g_atomic_int_add (&job->next, (gint) job->chunk);
  if (start >= job->n)
    return FALSE;
  end = MIN (start + job->chunk, job->n);
  for (guint i = start; i < end; i++)
    job->func (i, job->user_data);
  g_atomic_int_add (&job->done, (gint) (end - start));
  return TRUE;
}

static gpointer
parallel_worker (gpointer data)
{
  ParallelJob *job = data;

  while (parallel_run_chunk (job))
    {
      g_mutex_lock (&job->lock);
      g_cond_signal (&job->cond);
      g_mutex_unlock (&job->lock);
    }
  g_mutex_lock (&job->lock);
  job->n_running--;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
  return NULL;
}

int
_pt_dataset_n_threads (void)
{
  return CLAMP (g_get_num_processors (), 1, 2);
}

void
_pt_dataset_parallel_for (guint           n,
                          guint           chunk,
                          int             n_threads,
                          PtParallelFunc  func,
                          gpointer        user_data,
                          GCancellable   *cancellable,
                          PtProgressFunc  progress,
                          gpointer        progress_data)
{
  ParallelJob job = { n, MAX (chunk, 1), 0, 0, func, user_data, cancellable };
  g_autoptr(GPtrArray) threads = g_ptr_array_new ();

  g_assert (n <= G_MAXINT / 2);
  g_mutex_init (&job.lock);
  g_cond_init (&job.cond);

  /* Tiny jobs stay on this thread: a thread hand-off costs more than they do. */
  for (int t = 1; t < n_threads && (gsize) t * job.chunk * 4 < n; t++)
    {
      job.n_running++;
      g_ptr_array_add (threads, g_thread_new ("pt-dataset", parallel_worker, &job));
    }

  /* The calling thread works too, and alone reports progress: between its
   * own chunks, then as the workers finish theirs. */
  while (parallel_run_chunk (&job))
    if (progress != NULL)
      progress ((double) g_atomic_int_get (&job.done) / n, progress_data);

  g_mutex_lock (&job.lock);
  while (job.n_running > 0)
    {
      guint before = (guint) g_atomic_int_get (&job.done);

      g_cond_wait (&job.cond, &job.lock);
      if (progress != NULL && (guint) g_atomic_int_get (&job.done) != before)
        {
          g_mutex_unlock (&job.lock);
          progress ((double) g_atomic_int_get (&job.done) / n, progress_data);
          g_mutex_lock (&job.lock);
        }
    }
  g_mutex_unlock (&job.lock);

  for (guint t = 0; t < threads->len; t++)
    g_thread_join (g_ptr_array_index (threads, t));
  g_mutex_clear (&job.lock);
  g_cond_clear (&job.cond);
}

void
pt_dataset_compute_channel_stats (PtDataset *self,
                                  double    *mean,
                                  double    *std)
{
  gsize plane;

  g_return_if_fail (PT_IS_DATASET (self));
  g_return_if_fail (mean != NULL && std != NULL);

  plane = (gsize) self->height * self->width;
  for (int c = 0; c < self->channels; c++)
    {
      /* Integer sums are exact; a 64-bit sum of squares of bytes holds
       * more than 2^47 pixels. */
      guint64 sum = 0, sum2 = 0, count = (guint64) self->n_images * plane;

      for (guint i = 0; i < self->n_images; i++)
        {
          const guint8 *p = pt_dataset_get_image (self, i) + c * plane;

          for (gsize k = 0; k < plane; k++)
            {
              sum += p[k];
              sum2 += (guint64) p[k] * p[k];
            }
        }
      if (count == 0)
        {
          mean[c] = std[c] = 0.0;
          continue;
        }
      mean[c] = (double) sum / count / 255.0;
      std[c] = sqrt (MAX ((double) sum2 / count / (255.0 * 255.0) - mean[c] * mean[c], 0.0));
    }
}

static guint64
hash_bytes (const guint8 *p,
            gsize         len)
{
  guint64 h = G_GUINT64_CONSTANT (0xcbf29ce484222325);

  for (gsize k = 0; k < len; k++)
    h = (h ^ p[k]) * G_GUINT64_CONSTANT (0x100000001b3);
  return h;
}

typedef struct {
  PtDataset *self;
  guint      index;
} ImageKey;

static guint
image_key_hash (gconstpointer key)
{
  const ImageKey *k = key;
  guint64 h = hash_bytes (pt_dataset_get_image (k->self, k->index),
                          pt_dataset_get_image_size (k->self));

  return (guint) (h ^ (h >> 32));
}

static gboolean
image_key_equal (gconstpointer a,
                 gconstpointer b)
{
  const ImageKey *ka = a, *kb = b;

  return memcmp (pt_dataset_get_image (ka->self, ka->index),
                 pt_dataset_get_image (kb->self, kb->index),
                 pt_dataset_get_image_size (ka->self)) == 0;
}

guint
pt_dataset_count_duplicates (PtDataset *self)
{
  g_autoptr(GHashTable) seen = NULL;
  g_autofree ImageKey *keys = NULL;
  guint n_duplicates = 0;

  g_return_val_if_fail (PT_IS_DATASET (self), 0);

  seen = g_hash_table_new (image_key_hash, image_key_equal);
  keys = g_new (ImageKey, MAX (self->n_images, 1));
  for (guint i = 0; i < self->n_images; i++)
    {
      keys[i] = (ImageKey) { self, i };
      if (!g_hash_table_add (seen, &keys[i]))
        n_duplicates++;
    }
  return n_duplicates;
}

guint
pt_dataset_count_constant (PtDataset *self)
{
  gsize size;
  guint n_constant = 0;

  g_return_val_if_fail (PT_IS_DATASET (self), 0);

  size = pt_dataset_get_image_size (self);
  for (guint i = 0; i < self->n_images; i++)
    {
      const guint8 *p = pt_dataset_get_image (self, i);
      gsize k = 1;

      while (k < size && p[k] == p[0])
        k++;
      if (k == size)
        n_constant++;
    }
  return n_constant;
}

PtDataset *
pt_dataset_new_balanced_subset (PtDataset *self,
                                guint      n)
{
  guint total, per_class;
  int k;
  gsize size;
  g_autofree guint *taken = NULL;
  g_autoptr(GByteArray) pixels = NULL;
  g_autoptr(GArray) labels = NULL;
  g_autofree const char **names = NULL;

  g_return_val_if_fail (PT_IS_DATASET (self), NULL);

  total = pt_dataset_get_n_images (self);
  k = MAX (1, pt_dataset_get_n_classes (self));
  size = pt_dataset_get_image_size (self);
  per_class = MAX (1u, n / (guint) k);
  taken = g_new0 (guint, k);
  pixels = g_byte_array_new ();
  labels = g_array_new (FALSE, FALSE, sizeof (int));
  names = g_new0 (const char *, k + 1);

  for (guint i = 0; i < total && labels->len < n; i++)
    {
      int label = pt_dataset_get_label (self, i);
      int c = label >= 0 ? label : 0;

      if (c >= k || taken[c] >= per_class)
        continue;
      taken[c]++;
      g_byte_array_append (pixels, pt_dataset_get_image (self, i), (guint) size);
      g_array_append_val (labels, label);
    }
  for (int c = 0; c < pt_dataset_get_n_classes (self); c++)
    names[c] = pt_dataset_get_class_name (self, c);

  return pt_dataset_new_from_memory (pt_dataset_get_title (self), pt_dataset_get_channels (self),
                                     pt_dataset_get_height (self), pt_dataset_get_width (self),
                                     labels->len, pixels->data, (const int *) (gpointer) labels->data,
                                     pt_dataset_get_n_classes (self),
                                     pt_dataset_get_n_classes (self) > 0 ? names : NULL);
}
