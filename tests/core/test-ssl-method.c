/* test-ssl-method.c: the five SSL methods through the trainer's PtMethod
 * interface (core/pt-ssl-method.c): registration, parameters, a step on a
 * PtBatch, visuals, and a state round trip (save the blobs, step, load them
 * back: the next step repeats the same loss). */
#include <math.h>
#include <string.h>

#include "pt-method.h"
#include "pt-rng.h"
#include "pt-ssl.h"
#include "pt-threads.h"

static const char *names[] = { "simclr", "moco", "swav", "deepcluster", "rotnet" };

static PtBatch *
random_batch (PtMethod *m,
              guint64   seed)
{
  PtViewShape shapes[PT_MAX_VIEWS];
  int V = pt_method_get_views (m, shapes), B = pt_method_get_config (m)->batch_size;
  PtBatch *batch = pt_batch_new (B, V, shapes);
  PtRng rng;

  pt_rng_init (&rng, seed);
  for (int v = 0; v < V; v++)
    for (gsize i = 0; i < pt_batch_view_size (batch, v); i++)
      batch->views[v][i] = pt_rng_uniform (&rng);
  for (int b = 0; b < B; b++)
    {
      batch->labels[b] = b % 3;
      batch->indices[b] = b;
    }
  return batch;
}

static PtMethod *
new_method_with (const char *name,
                 const char *extra_key,
                 double      extra_value)
{
  PtMethodConfig config = { 0 };
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  GError *error = NULL;
  PtMethod *m;

  config.channels = 3;
  config.height = 16;
  config.width = 16;
  config.batch_size = 8;
  config.seed = 4;
  config.encoder_width = 4;
  /* small sizes where they matter, through the keyfile as a run would */
  g_key_file_set_double (kf, "method", "queue_size", 32);
  g_key_file_set_double (kf, "method", "local_views", 2);
  g_key_file_set_double (kf, "method", "prototypes", 10);
  g_key_file_set_double (kf, "method", "clusters", 3);
  g_key_file_set_double (kf, "method", "freeze_prototypes", 1);
  if (extra_key != NULL)
    g_key_file_set_double (kf, "method", extra_key, extra_value);
  config.params = kf;
  m = pt_method_new (name, &config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static PtMethod *
new_method (const char *name)
{
  return new_method_with (name, NULL, 0.0);
}

static double
find_stat (const PtStepResult *result,
           const char         *name)
{
  for (int i = 0; i < result->n_stats; i++)
    if (strcmp (result->stats[i].name, name) == 0)
      return result->stats[i].value;
  g_error ("no stat %s", name);
  return NAN;
}

/* MoCo's queue (32 keys) fills with B = 8 keys a step, 16 when symmetric. */
static void
test_moco_queue (void)
{
  for (int sym = 0; sym < 2; sym++)
    {
      g_autoptr(PtMethod) m = NULL;
      double want[2][3] = { { 0.25, 0.5, 0.75 }, { 0.5, 1.0, 1.0 } };

      pt_threads_set (1);
      pt_ssl_methods_register ();
      m = new_method_with ("moco", "symmetric", sym);
      for (int s = 0; s < 3; s++)
        {
          g_autoptr(PtBatch) batch = random_batch (m, s);
          PtStepResult result = { 0 };
          GError *error = NULL;

          g_assert_true (pt_method_step (m, batch, &result, &error));
          g_assert_no_error (error);
          g_assert_cmpfloat (find_stat (&result, "queue_fill"), ==, want[sym][s]);
          g_assert_cmpfloat (result.loss, >, 0.0);
        }
    }
}

/* SwAV's queue (16 embeddings, from epoch 0) is used once it is full. */
static void
test_swav_queue (void)
{
  g_autoptr(PtMethod) m = NULL;
  GError *error = NULL;

  pt_threads_set (1);
  pt_ssl_methods_register ();
  m = new_method_with ("swav", "queue_length", 16);
  g_assert_true (pt_method_set_param (m, "queue_start_epoch", 0, FALSE, &error));
  g_assert_no_error (error);
  for (int s = 0; s < 4; s++)
    {
      g_autoptr(PtBatch) batch = random_batch (m, s);
      PtStepResult result = { 0 };

      g_assert_true (pt_method_step (m, batch, &result, &error));
      g_assert_no_error (error);
      /* 8 embeddings a step: full after 2 steps */
      g_assert_cmpfloat (find_stat (&result, "queue_used"), ==, s >= 2 ? 1.0 : 0.0);
      g_assert_true (isfinite (result.loss));
    }
}

static void
test_registered (void)
{
  pt_ssl_methods_register ();
  pt_ssl_methods_register ();   /* idempotent */
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      const PtMethodClass *k = pt_method_lookup (names[i]);

      g_assert_nonnull (k);
      g_assert_cmpstr (k->name, ==, names[i]);
      g_assert_nonnull (k->params);
      g_assert_nonnull (k->params[0].name);
    }
}

static void
test_errors (void)
{
  PtMethodConfig config = { 3, 16, 16, 8, 0, 1, "vit", 4, NULL, NULL };
  GError *error = NULL;

  pt_ssl_methods_register ();
  g_assert_null (pt_method_new ("simclr", &config, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
  g_clear_error (&error);
  config.encoder = NULL;
  config.width = 12;   /* RotNet needs square images */
  g_assert_null (pt_method_new ("rotnet", &config, &error));
  g_assert_error (error, PT_METHOD_ERROR, PT_METHOD_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

typedef struct {
  const char *name;
  gsize       size;
  gpointer    copy;
} SavedBlob;

static void
test_step_and_state (gconstpointer data)
{
  const char *name = data;
  g_autoptr(PtMethod) m = NULL;
  g_autoptr(GArray) blobs = NULL;
  g_autoptr(PtVisuals) vis = NULL;
  SavedBlob *saved;
  double loss_a = 0.0, loss_b = 0.0;
  int dim;

  pt_threads_set (1);
  pt_ssl_methods_register ();
  m = new_method (name);
  /* a few steps so every method is past its warm-up (DeepCluster's bank) */
  for (int s = 0; s < 3; s++)
    {
      g_autoptr(PtBatch) batch = random_batch (m, 10 + s);
      PtStepResult result = { 0 };
      GError *error = NULL;

      g_assert_true (pt_method_step (m, batch, &result, &error));
      g_assert_no_error (error);
      g_assert_true (result.grad_finite);
      g_assert_cmpint (result.n_parts, >=, 1);
      g_assert_nonnull (result.parts[0].name);
      for (int i = 0; i < result.n_stats; i++)
        g_assert_true (isfinite (result.stats[i].value));
    }
  vis = pt_method_visuals (m);
  g_assert_nonnull (vis);
  g_assert_cmpuint (pt_visuals_get_n_items (vis), >=, 1);

  /* save the state, take a step, restore, take the same step again */
  blobs = pt_method_list_state (m);
  g_assert_cmpuint (blobs->len, >=, 3);
  saved = g_new0 (SavedBlob, blobs->len);
  for (guint i = 0; i < blobs->len; i++)
    {
      PtBlob *b = &g_array_index (blobs, PtBlob, i);

      for (guint j = 0; j < i; j++)
        g_assert_cmpstr (saved[j].name, !=, b->name);
      saved[i].name = b->name;
      saved[i].size = b->count * pt_blob_type_size (b->type);
      saved[i].copy = g_memdup2 (b->data, saved[i].size);
    }
  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr(PtBatch) batch = random_batch (m, 99);
      PtStepResult result = { 0 };
      GError *error = NULL;

      g_assert_true (pt_method_step (m, batch, &result, &error));
      g_assert_no_error (error);
      if (pass == 0)
        {
          g_autoptr(GArray) again = pt_method_list_state (m);

          loss_a = result.loss;
          g_assert_cmpuint (again->len, ==, blobs->len);
          for (guint i = 0; i < again->len; i++)
            {
              PtBlob *b = &g_array_index (again, PtBlob, i);

              g_assert_cmpstr (b->name, ==, saved[i].name);
              g_assert_cmpuint (b->count * pt_blob_type_size (b->type), ==, saved[i].size);
              memcpy (b->data, saved[i].copy, saved[i].size);
            }
          pt_method_state_loaded (m);
        }
      else
        loss_b = result.loss;
    }
  /* DeepCluster's memory bank and clustering are part of the state */
  g_assert_cmpfloat (loss_a, ==, loss_b);
  for (guint i = 0; i < blobs->len; i++)
    g_free (saved[i].copy);
  g_free (saved);

  dim = pt_method_get_feature_dim (m);
  {
    g_autofree float *img = g_new0 (float, 2 * 3 * 16 * 16);
    g_autofree float *f = g_new (float, 2 * dim);
    GError *error = NULL;

    g_assert_cmpint (dim, ==, 8 * 4);
    g_assert_true (pt_method_embed (m, img, 2, f, &error));
    g_assert_no_error (error);
    for (int i = 0; i < 2 * dim; i++)
      g_assert_true (isfinite (f[i]));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ssl-method/registered", test_registered);
  g_test_add_func ("/core/ssl-method/errors", test_errors);
  g_test_add_func ("/core/ssl-method/moco/queue", test_moco_queue);
  g_test_add_func ("/core/ssl-method/swav/queue", test_swav_queue);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autofree char *path = g_strdup_printf ("/core/ssl-method/%s/step-and-state", names[i]);

      g_test_add_data_func (path, names[i], test_step_and_state);
    }
  return g_test_run ();
}
