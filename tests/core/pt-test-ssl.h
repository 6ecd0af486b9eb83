/* pt-test-ssl.h: a short real training run of an SSL method on `shapes`,
 * and the cosine kNN accuracy of its frozen encoder, for the behaviour tests.
 *
 * Batches: B images drawn with a seeded stream from the train split, their
 * views made by the augmentation pipeline with the method's recipe (crop +
 * flip when the method names none), which a test may change
 * (PtTestSslRun.tweak, e.g. pt_test_recipe_grey). Evaluation: backbone
 * features (eval mode) of N_BANK train images and N_QUERY test images,
 * un-augmented; cosine kNN, k = 20, votes weighted by similarity. Inputs
 * are in [0, 1], not normalized per channel as the trainer does: the first
 * batchnorm absorbs the shift, and training and evaluation agree. A run
 * may use upright shapes (PtTestSslRun.upright: rotation prediction).
 */
#pragma once

#include <math.h>
#include <string.h>

#include "pt-augment.h"
#include "pt-dataset.h"
#include "pt-ssl.h"
#include "pt-threads.h"

#define PT_TEST_SSL_KNN_K   20

typedef struct {
  PtDataset   *train;
  PtDataset   *test;
} PtTestShapes;

/* upright: every shape at angle 0 (PtDatasetOptions.shapes_upright). */
static inline void
pt_test_shapes_open_full (PtTestShapes *s,
                          int           n_train,
                          int           n_test,
                          gboolean      upright)
{
  PtDatasetOptions opts = { 0 };
  GError *error = NULL;

  opts.shapes_train = n_train;
  opts.shapes_test = n_test;
  opts.shapes_upright = upright;
  s->train = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  s->test = pt_dataset_open ("shapes", PT_SPLIT_TEST, &opts, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
}

static inline void
pt_test_shapes_open (PtTestShapes *s,
                     int           n_train,
                     int           n_test)
{
  pt_test_shapes_open_full (s, n_train, n_test, FALSE);
}

static inline void
pt_test_shapes_close (PtTestShapes *s)
{
  g_clear_object (&s->train);
  g_clear_object (&s->test);
}

/* Images i of a dataset as floats in [0, 1]: out [n][C][H][W]. */
static inline float *
pt_test_images (PtDataset *ds,
                int        first,
                int        n)
{
  gsize per = pt_dataset_get_image_size (ds);
  float *out = g_new (float, per * n);

  for (int i = 0; i < n; i++)
    {
      const guint8 *img = pt_dataset_get_image (ds, first + i);

      for (gsize j = 0; j < per; j++)
        out[i * per + j] = img[j] / 255.0f;
    }
  return out;
}

/* Cosine kNN accuracy (k = 20, similarity-weighted votes) of the method's
 * backbone features: bank = the first n_bank train images, queries = the
 * first n_query test images. hit (optional): [n_query] 1 where right. */
static inline double
pt_test_knn_hits (PtSslMethod  *m,
                  PtTestShapes *s,
                  int           n_bank,
                  int           n_query,
                  guint8       *hit)
{
  int D = m->klass->get_feature_dim (m, FALSE), K = pt_dataset_get_n_classes (s->train);
  g_autofree float *xb = pt_test_images (s->train, 0, n_bank);
  g_autofree float *xq = pt_test_images (s->test, 0, n_query);
  g_autofree float *fb = g_new (float, (gsize) n_bank * D);
  g_autofree float *fq = g_new (float, (gsize) n_query * D);
  g_autofree float *sim = g_new (float, n_bank);
  g_autofree double *votes = g_new (double, K);
  int correct = 0;

  m->klass->embed (m, xb, n_bank, fb, FALSE);
  m->klass->embed (m, xq, n_query, fq, FALSE);
  for (int i = 0; i < n_bank; i++)
    {
      double s2 = 0.0;
      for (int d = 0; d < D; d++)
        s2 += (double) fb[i * D + d] * fb[i * D + d];
      for (int d = 0; d < D; d++)
        fb[i * D + d] /= (float) MAX (sqrt (s2), 1e-12);
    }
  for (int q = 0; q < n_query; q++)
    {
      double s2 = 0.0;
      int best = 0;

      for (int d = 0; d < D; d++)
        s2 += (double) fq[q * D + d] * fq[q * D + d];
      for (int d = 0; d < D; d++)
        fq[q * D + d] /= (float) MAX (sqrt (s2), 1e-12);
      for (int i = 0; i < n_bank; i++)
        {
          double dot = 0.0;
          for (int d = 0; d < D; d++)
            dot += (double) fq[q * D + d] * fb[i * D + d];
          sim[i] = (float) dot;
        }
      memset (votes, 0, K * sizeof (double));
      for (int k = 0; k < PT_TEST_SSL_KNN_K; k++)
        {
          int arg = -1;
          for (int i = 0; i < n_bank; i++)
            if (sim[i] > -2.0f && (arg < 0 || sim[i] > sim[arg]))
              arg = i;
          votes[pt_dataset_get_label (s->train, arg)] += 1.0 + sim[arg];
          sim[arg] = -3.0f;   /* taken */
        }
      for (int c = 1; c < K; c++)
        if (votes[c] > votes[best])
          best = c;
      correct += best == pt_dataset_get_label (s->test, q);
      if (hit != NULL)
        hit[q] = best == pt_dataset_get_label (s->test, q);
    }
  return (double) correct / n_query;
}

static inline double
pt_test_knn_accuracy (PtSslMethod  *m,
                      PtTestShapes *s,
                      int           n_bank,
                      int           n_query)
{
  return pt_test_knn_hits (m, s, n_bank, n_query, NULL);
}

/* A test's change to the recipe, applied last (NULL: none). */
typedef void (*PtTestRecipeTweak) (PtAugRecipe *recipe);

/* A test-only tweak for the behaviour runs of the view-matching methods:
 * grayscale with p = 1 in every view group (instead of the recipe's 0.2).
 * Why: a `shapes` image's colours (foreground, two background ends: nine
 * numbers) are drawn independently of its class, and what tells two views
 * of one image apart from the other images of a batch is, first of all,
 * those colours. The papers' colour jitter (hue +-0.2, p = 0.8) leaves
 * enough of them for the instance task to be solved by colour; in a few
 * hundred steps the encoder then learns colour and the kNN accuracy on
 * shape does not move (SimCLR, batch 32, width 8, 300 steps, its own
 * recipe: 0.112 -> 0.122, z 0.72). With every view grey, only luminance
 * and shape are left to match views by. The evaluation is unchanged:
 * kNN on the un-augmented colour images. */
static inline void
pt_test_recipe_grey (PtAugRecipe *recipe)
{
  for (guint g = 0; g < recipe->n_groups; g++)
    {
      PtAugOpParams *grey = pt_aug_view_group_enable (&recipe->groups[g], PT_AUG_GRAYSCALE);

      grey->p = 1.0;
    }
}

/* The method's augmentation recipe (local views trimmed to n_local when
 * the recipe has a second group), or crop (0.6-1) + flip; then tweak. */
static inline PtAugRecipe *
pt_test_recipe (const PtSslMethodClass *klass,
                int                     n_local,
                double                  crop_min,
                PtTestRecipeTweak       tweak)
{
  PtAugRecipe *recipe;
  GError *error = NULL;

  if (klass->recipe == NULL)
    {
      PtAugViewGroup *g;
      PtAugOpParams *crop;

      recipe = pt_augment_recipe_new ("test-crop-flip");
      g = pt_augment_recipe_add_group (recipe, "main", 1, 1.0);
      crop = pt_aug_view_group_enable (g, PT_AUG_CROP);
      crop->min = 0.6;
      pt_aug_view_group_enable (g, PT_AUG_HFLIP);
      if (tweak != NULL)
        tweak (recipe);
      return recipe;
    }
  recipe = pt_augment_recipe_load (klass->recipe, &error);
  g_assert_no_error (error);
  if (recipe->n_groups > 1)
    recipe->groups[1].count = n_local;
  if (crop_min > 0.0 && recipe->groups[0].ops[PT_AUG_CROP].enabled)
    recipe->groups[0].ops[PT_AUG_CROP].min = crop_min;
  if (tweak != NULL)
    tweak (recipe);
  return recipe;
}

/* Runs n_steps steps of batch B on the train split (views from the
 * recipe of pt_test_recipe, tweak applied); returns the losses
 * (n_steps doubles, free with g_free). */
static inline double *
pt_test_train (PtSslMethod       *m,
               PtTestShapes      *s,
               int                n_steps,
               int                n_local,
               double             crop_min,
               PtTestRecipeTweak  tweak,
               guint64            seed)
{
  g_autoptr(PtAugRecipe) recipe = pt_test_recipe (m->klass, n_local, crop_min, tweak);
  PtSslViewShape shapes[PT_SSL_MAX_VIEWS];
  int V = m->klass->get_views (m, shapes), B = m->config.batch_size;
  int C = pt_dataset_get_channels (s->train), H = pt_dataset_get_height (s->train);
  int W = pt_dataset_get_width (s->train), N = pt_dataset_get_n_images (s->train);
  float *views[PT_SSL_MAX_VIEWS];
  g_autofree const guint8 **images = g_new (const guint8 *, B);
  g_autofree guint64 *indices = g_new (guint64, B);
  g_autofree guint32 *idx32 = g_new (guint32, B);
  g_autofree int *labels = g_new (int, B);
  double *losses = g_new (double, n_steps);
  PtRng rng;

  g_assert_cmpuint (pt_augment_recipe_get_n_views (recipe), ==, V);
  for (int v = 0; v < V; v++)
    {
      int oc, oh, ow;

      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &oc, &oh, &ow);
      g_assert_cmpint (oc, ==, shapes[v].channels);
      g_assert_cmpint (oh, ==, shapes[v].height);
      g_assert_cmpint (ow, ==, shapes[v].width);
      views[v] = g_new (float, (gsize) B * oc * oh * ow);
    }
  pt_rng_init (&rng, seed);
  for (int step = 0; step < n_steps; step++)
    {
      PtSslBatch batch = { 0 };
      PtSslResult result = { 0 };
      GError *error = NULL;

      for (int b = 0; b < B; b++)
        {
          indices[b] = pt_rng_below (&rng, N);
          idx32[b] = (guint32) indices[b];
          images[b] = pt_dataset_get_image (s->train, indices[b]);
          labels[b] = pt_dataset_get_label (s->train, indices[b]);
        }
      pt_augment_batch (views, NULL, recipe, images, indices, B, C, H, W, seed,
                        step * B / N, 1);
      batch.batch_size = B;
      batch.n_views = V;
      for (int v = 0; v < V; v++)
        {
          batch.shape[v] = shapes[v];
          batch.views[v] = views[v];
        }
      batch.labels = labels;
      batch.indices = idx32;
      batch.epoch = (guint64) step * B / N;
      g_assert_true (m->klass->step (m, &batch, &result, &error));
      g_assert_no_error (error);
      g_assert_true (result.grad_finite);
      g_assert_true (isfinite (result.loss));
      losses[step] = result.loss;
      if (step == n_steps - 1)
        for (int i = 0; i < result.n_stats; i++)
          g_test_message ("%s last step: %s = %g", m->klass->name, result.stats[i].name,
                          result.stats[i].value);
    }
  for (int v = 0; v < V; v++)
    g_free (views[v]);
  return losses;
}

/* ---- the generic behaviour and determinism tests ---------------------------- */

typedef struct {
  const char *method;
  int         batch_size;
  int         width;          /* cnn width */
  int         steps;
  int         n_local;        /* SwAV local views */
  double      min_gain;       /* kNN accuracy points the run must add */
  double      crop_min;       /* > 0: smallest crop scale of the global views */
  const char *param_names[4]; /* overrides, NULL-terminated */
  double      param_values[4];
  double      min_z;          /* > 0: paired (McNemar) z of the gain it must reach */
  gboolean    upright;        /* shapes drawn upright (rotation prediction) */
  PtTestRecipeTweak tweak;    /* test-only change to the method's recipe, or NULL */
  double      max_last_loss;  /* > 0: the mean loss of the last steps must be below it */
} PtTestSslRun;

static inline PtSslMethod *
pt_test_ssl_new (const PtTestSslRun *run,
                 PtTestShapes       *s,
                 guint64             seed)
{
  const PtSslMethodClass *klass = pt_ssl_method_lookup (run->method);
  PtSslConfig config = { 0 };
  PtSslMethod *m;
  GError *error = NULL;

  g_assert_nonnull (klass);
  config.channels = pt_dataset_get_channels (s->train);
  config.height = pt_dataset_get_height (s->train);
  config.width = pt_dataset_get_width (s->train);
  config.batch_size = run->batch_size;
  config.n_classes = pt_dataset_get_n_classes (s->train);
  config.encoder_width = run->width;
  config.seed = seed;
  {
    double values[32];
    int n = 0;

    while (klass->params[n].name != NULL)
      {
        values[n] = klass->params[n].default_value;
        n++;
      }
    g_assert_cmpint (n, <=, 32);
    if (g_strcmp0 (run->method, "swav") == 0)
      values[pt_ssl_method_find_param (klass, "local_views")] = run->n_local;
    for (int i = 0; i < 4 && run->param_names[i] != NULL; i++)
      {
        int p = pt_ssl_method_find_param (klass, run->param_names[i]);

        g_assert_cmpint (p, >=, 0);
        values[p] = run->param_values[i];
      }
    m = pt_ssl_method_new_with_values (klass, &config, values, &error);
    g_assert_no_error (error);
    g_assert_nonnull (m);
  }
  return m;
}

#define PT_TEST_SSL_N_BANK   2000
#define PT_TEST_SSL_N_QUERY  1000

/* Trains and checks that kNN accuracy rose by at least min_gain, that the
 * mean loss of the last min (20, steps / 4) steps is below max_last_loss
 * (when > 0) and, when min_z > 0, that the gain is not noise: with the same queries before and
 * after, b queries turned right and c turned wrong; under "no change" b - c
 * has standard deviation sqrt (b + c), so z = (b - c) / sqrt (b + c)
 * (McNemar) must reach min_z. */
static inline void
pt_test_ssl_behaviour_seeded (const PtTestSslRun *run,
                              guint64             init_seed,
                              guint64             train_seed)
{
  PtTestShapes s;
  g_autoptr(PtSslMethod) m = NULL;
  g_autofree double *losses = NULL;
  g_autofree guint8 *hit0 = g_new0 (guint8, PT_TEST_SSL_N_QUERY);
  g_autofree guint8 *hit1 = g_new0 (guint8, PT_TEST_SSL_N_QUERY);
  double before, after, first = 0.0, last = 0.0, z;
  int n = MIN (20, run->steps / 4), turned_right = 0, turned_wrong = 0;

  pt_threads_set (1);
  pt_test_shapes_open_full (&s, 3000, PT_TEST_SSL_N_QUERY, run->upright);
  m = pt_test_ssl_new (run, &s, init_seed);
  before = pt_test_knn_hits (m, &s, PT_TEST_SSL_N_BANK, PT_TEST_SSL_N_QUERY, hit0);
  losses = pt_test_train (m, &s, run->steps, run->n_local, run->crop_min, run->tweak,
                          train_seed);
  after = pt_test_knn_hits (m, &s, PT_TEST_SSL_N_BANK, PT_TEST_SSL_N_QUERY, hit1);
  for (int q = 0; q < PT_TEST_SSL_N_QUERY; q++)
    {
      turned_right += !hit0[q] && hit1[q];
      turned_wrong += hit0[q] && !hit1[q];
    }
  z = (turned_right - turned_wrong) / sqrt (MAX (turned_right + turned_wrong, 1));
  for (int i = 0; i < n; i++)
    {
      first += losses[i] / n;
      last += losses[run->steps - n + i] / n;
    }
  g_test_message ("%s: kNN accuracy %.3f at init, %.3f after %d steps; loss %.4f -> %.4f; "
                  "%d queries turned right, %d wrong: z = %.2f",
                  run->method, before, after, run->steps, first, last,
                  turned_right, turned_wrong, z);
  g_assert_cmpfloat (after, >=, before + run->min_gain);
  if (run->min_z > 0.0)
    g_assert_cmpfloat (z, >=, run->min_z);
  if (run->max_last_loss > 0.0)
    g_assert_cmpfloat (last, <, run->max_last_loss);
  pt_test_shapes_close (&s);
}

/* The behaviour test at the seeds the tests use: 7 for the init, 11 for
 * the batches and views. */
static inline void
pt_test_ssl_behaviour (gconstpointer data)
{
  pt_test_ssl_behaviour_seeded (data, 7, 11);
}

/* Same seed, same losses (one thread); another seed, other losses. */
static inline void
pt_test_ssl_determinism (gconstpointer data)
{
  const PtTestSslRun *run = data;
  PtTestSslRun small = *run;
  PtTestShapes s;
  g_autofree double *a = NULL;
  g_autofree double *b = NULL;
  g_autofree double *c = NULL;

  pt_threads_set (1);
  small.steps = 4;
  small.batch_size = 16;
  if (g_strcmp0 (run->method, "deepcluster") == 0)
    {
      /* few clusters, so that 16 features are enough to cluster at once */
      small.param_names[0] = "clusters";
      small.param_values[0] = 4;
      small.param_names[1] = "recluster_every";   /* in steps: clusters at once */
      small.param_values[1] = 100;
      small.param_names[2] = NULL;
    }
  pt_test_shapes_open (&s, 200, 10);
  for (int r = 0; r < 3; r++)
    {
      g_autoptr(PtSslMethod) m = pt_test_ssl_new (&small, &s, r < 2 ? 5 : 6);
      double *l = pt_test_train (m, &s, small.steps, small.n_local, small.crop_min, small.tweak, 3);

      if (r == 0)
        a = l;
      else if (r == 1)
        b = l;
      else
        c = l;
    }
  for (int i = 0; i < small.steps; i++)
    g_assert_cmpfloat (a[i], ==, b[i]);
  g_assert_cmpfloat (a[small.steps - 1], !=, c[small.steps - 1]);
  pt_test_shapes_close (&s);
}

static inline void
count_visual_cb (const char      *name,
                 PtSslVisualKind  kind,
                 int              rank,
                 const int       *shape,
                 const float     *data,
                 gpointer         user_data)
{
  GHashTable *seen = user_data;
  gsize n = 1;

  g_assert_cmpint (rank, >=, 1);
  g_assert_cmpint (rank, <=, 4);
  for (int i = 0; i < rank; i++)
    {
      g_assert_cmpint (shape[i], >, 0);
      n *= shape[i];
    }
  for (gsize i = 0; i < n; i++)
    g_assert_true (isfinite (data[i]));
  g_hash_table_insert (seen, g_strdup (name), g_memdup2 (data, n * sizeof (float)));
}

/* Runs a few steps and returns the visuals by name (name -> float copy). */
static inline GHashTable *
pt_test_ssl_visuals (const PtTestSslRun *run,
                     int                 steps,
                     PtSslMethod       **out_m,
                     PtTestShapes       *s)
{
  PtTestSslRun small = *run;
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  PtSslMethod *m;
  g_autofree double *l = NULL;

  pt_threads_set (1);
  small.batch_size = 16;
  pt_test_shapes_open (s, 200, 10);
  m = pt_test_ssl_new (&small, s, 5);
  l = pt_test_train (m, s, steps, small.n_local, small.crop_min, small.tweak, 3);
  m->klass->visuals (m, count_visual_cb, seen);
  *out_m = m;
  return seen;
}
