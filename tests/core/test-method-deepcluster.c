/* test-method-deepcluster.c: the deepcluster method on `shapes`: a short real run raises the
 * cosine kNN accuracy of the frozen encoder (see pt-test-ssl.h), the same
 * seed gives the same losses, and the visuals are well formed. */
#include "pt-test-ssl.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "pt-methods.h"
#include "pt-test-files.h"
#include "pt-train-spec.h"
#include "pt-trainer.h"

/* Setting: batch 32, width 8, 1500 steps (16 epochs of the 3000 images:
 * k-means at the start of each from the second on), 30 clusters in each
 * of the 3 heads, base_lr 0.6 (the default), the method's recipe
 * (simclr-small) with crops of 30-100% and, test-only, every view grey
 * (pt_test_recipe_grey: why grey views are needed on shapes is said
 * there).
 *
 * Measured (2026-12-08): seeds 7/11 (the test's) kNN 0.112 -> 0.163, 135
 * queries turned right and 84 wrong, z 3.45, loss (mean of the last 20
 * steps) 2.57; seeds 8/12 0.134 -> 0.186, z 3.30, loss 2.59. Other
 * settings at the test's seeds / at 8/12: 100 clusters 0.170 (z 3.78) /
 * 0.174 (z 2.51); base_lr 1.0 z 3.34 / 2.24; 2000 steps z 3.04 / 3.91.
 * Required: +3 points, z >= 2.5, and a final loss below 3.0 (ln 30 =
 * 3.40: the views are predicted better than chance).
 *
 * The original DeepCluster (a learned classifier re-initialised at every
 * clustering, k-means on the backbone features), which this file tested
 * until 2026-12-08, reached z 2.08 at best and no setting held at two
 * seeds (docs/methods.md). */
static const PtTestSslRun run = { "deepcluster", 32, 8, 1500, 0, 0.03, 0.3,
                                  { "clusters", NULL }, { 30 },
                                  2.5, FALSE, pt_test_recipe_grey, 3.0 };

static const PtTestSslRun small_run = { "deepcluster", 16, 8, 2, 0, 0.0, 0.0,
                                        { "clusters", "recluster_every", NULL }, { 4, 100 } };

/* Distinct indices among the first n_draws the harness draws (seed 3) from 200 images. */
static int
distinct_drawn (int n_draws)
{
  gboolean seen[200] = { FALSE };
  int distinct = 0;
  PtRng rng;

  pt_rng_init (&rng, 3);
  for (int b = 0; b < n_draws; b++)
    {
      guint32 i = pt_rng_below (&rng, 200);

      distinct += !seen[i];
      seen[i] = TRUE;
    }
  return distinct;
}

/* recluster_every 0 (the default): the first epoch only fills the bank
 * (loss 0), k-means runs at the first step of every later epoch, on all
 * the features banked so far, this step's included. Batch 16 on 200 images: epoch e starts at
 * the first step s with s * 16 / 200 >= e, i.e. steps 13 and 25. */
static void
test_epochs (void)
{
  static const PtTestSslRun epochs_run = { "deepcluster", 16, 8, 0, 0, 0.0, 0.0,
                                           { "clusters", NULL }, { 4 } };
  PtTestShapes s;
  PtSslMethod *m;
  g_autofree double *losses = NULL;

  for (int steps = 13; steps <= 30; steps += 17)
    {
      g_autoptr(GHashTable) v = NULL;
      const float *sizes;
      double total = 0.0;

      pt_threads_set (1);
      pt_test_shapes_open (&s, 200, 10);
      m = pt_test_ssl_new (&epochs_run, &s, 5);
      g_clear_pointer (&losses, g_free);
      losses = pt_test_train (m, &s, steps, 0, 0.0, NULL, 3);
      for (int i = 0; i < MIN (steps, 13); i++)
        g_assert_cmpfloat (losses[i], ==, 0.0);
      for (int i = 13; i < steps; i++)
        g_assert_cmpfloat (losses[i], >, 0.0);
      v = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      m->klass->visuals (m, count_visual_cb, v);
      sizes = g_hash_table_lookup (v, "cluster_sizes");
      g_assert_nonnull (sizes);
      for (int k = 0; k < 4; k++)
        total += sizes[k];
      if (steps == 13)
        g_assert_cmpfloat (total, ==, 0.0);   /* not clustered yet */
      else   /* clustered at step 25 on the images of steps 0-25 (a step banks, then clusters) */
        g_assert_cmpfloat (total, ==, distinct_drawn (26 * 16));
      pt_ssl_method_free (m);
      pt_test_shapes_close (&s);
    }
}

static void
test_visuals (void)
{
  PtTestShapes s;
  PtSslMethod *m;
  g_autoptr(GHashTable) v = pt_test_ssl_visuals (&small_run, 2, &m, &s);
  const float *sizes = g_hash_table_lookup (v, "cluster_sizes");
  const float *samples = g_hash_table_lookup (v, "cluster_samples");
  const float *nmi = g_hash_table_lookup (v, "nmi");
  double total = 0.0;

  /* 4 clusters of the features banked at step 0 (clustered at once) */
  g_assert_nonnull (sizes);
  g_assert_nonnull (samples);
  g_assert_nonnull (nmi);
  for (int k = 0; k < 4; k++)
    {
      total += sizes[k];
      for (int j = 0; j < 8; j++)
        g_assert_true ((j < sizes[k]) == (samples[k * 8 + j] >= 0.0f));
    }
  /* the harness draws the first batch's 16 indices (with replacement)
   * from the stream seeded 3: the bank holds the distinct ones */
  g_assert_cmpfloat (total, ==, distinct_drawn (16));
  g_assert_cmpfloat (nmi[0], >=, 0.0f);
  g_assert_cmpfloat (nmi[0], <=, 1.0f);
  pt_ssl_method_free (m);
  pt_test_shapes_close (&s);
}

typedef struct {
  GArray                *losses;    /* double, index = step - 1 */
  guint64                stop_at;   /* 0: never */
  volatile sig_atomic_t  stop;
} Collect;

static void
collect_step_cb (PtTrainer           *trainer,
                 const PtStepMetrics *metrics,
                 gpointer             user_data)
{
  Collect *c = user_data;

  g_array_set_size (c->losses, MAX (c->losses->len, metrics->step));
  g_array_index (c->losses, double, metrics->step - 1) = metrics->loss;
  if (c->stop_at > 0 && metrics->step >= c->stop_at)
    c->stop = 1;
}

#define RESUME_STEPS 30
#define RESUME_STOP  10

/* A real deepcluster run on shapes in dir: RESUME_STEPS steps, or stopped
 * (with a checkpoint) after stop_at, or resumed from dir. */
static GArray *
run_deepcluster (const char *dir,
                 guint64     stop_at,
                 gboolean    resume)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtTrainer) trainer = NULL;
  Collect c = { g_array_new (FALSE, TRUE, sizeof (double)), stop_at, 0 };

  if (resume)
    trainer = pt_train_resume (dir, RESUME_STEPS, NULL, &error);
  else
    {
      g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();

      spec->method = g_strdup ("deepcluster");
      spec->dataset = g_strdup ("shapes");
      spec->batch_size = 16;
      spec->width = 4;
      spec->steps = RESUME_STEPS;
      spec->seed = 2;
      spec->out_dir = g_strdup (dir);
      spec->checkpoint_every = 4;   /* a checkpoint at 8 too: the resume takes the one at 10 */
      /* a bank of 200 rows: full from step 13 on (16 new images a step), so
       * the resumed part also runs with a full bank; clusterings at steps
       * 1, 8, 15, 22, 29: steps 11-14 use assignments made before the stop */
      g_assert_true (pt_train_spec_set_param (spec, "clusters=5", &error));
      g_assert_true (pt_train_spec_set_param (spec, "recluster_every=7", &error));
      g_assert_true (pt_train_spec_set_param (spec, "bank_size=200", &error));
      g_assert_no_error (error);
      trainer = pt_train_spec_build (spec, NULL, NULL, &error);
    }
  g_assert_no_error (error);
  pt_trainer_set_step_func (trainer, collect_step_cb, &c);
  g_assert_true (pt_trainer_run_blocking (trainer, &c.stop, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (pt_trainer_get_step (trainer), ==, stop_at > 0 ? stop_at : RESUME_STEPS);
  return c.losses;
}

/* Exact resume: the memory bank, the assignments and the clustering state
 * are in the checkpoint, so the losses after a stop + resume are those of
 * the uninterrupted run, bit for bit (before the bank was saved, the
 * resumed run refilled it and its first steps had loss 0). */
static void
test_resume (void)
{
  g_autofree char *tmp = pt_test_make_tmpdir ();
  g_autofree char *ref_dir = g_build_filename (tmp, "ref", NULL);
  g_autofree char *dir = g_build_filename (tmp, "run", NULL);
  g_autoptr(GArray) ref = NULL, first = NULL, second = NULL;
  int nonzero = 0;

  pt_threads_set (1);
  pt_methods_register_builtin ();
  ref = run_deepcluster (ref_dir, 0, FALSE);
  first = run_deepcluster (dir, RESUME_STOP, FALSE);
  second = run_deepcluster (dir, 0, TRUE);
  g_assert_cmpuint (ref->len, ==, RESUME_STEPS);
  g_assert_cmpuint (first->len, ==, RESUME_STOP);
  g_assert_cmpuint (second->len, ==, RESUME_STEPS);
  for (guint i = 0; i < RESUME_STOP; i++)
    g_assert_cmpfloat (g_array_index (first, double, i), ==, g_array_index (ref, double, i));
  for (guint i = RESUME_STOP; i < RESUME_STEPS; i++)
    {
      double want = g_array_index (ref, double, i), got = g_array_index (second, double, i);

      if (want != got)
        g_error ("step %u: loss %.9g after the resume, %.9g without it", i + 1, got, want);
      nonzero += want != 0.0;
    }
  /* the resumed steps all trained (a refilling bank would give 0) */
  g_assert_cmpint (nonzero, ==, RESUME_STEPS - RESUME_STOP);
  pt_test_rm_rf (tmp);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_data_func ("/core/method-deepcluster/knn-gain", &run, pt_test_ssl_behaviour);
  g_test_add_data_func ("/core/method-deepcluster/determinism", &run, pt_test_ssl_determinism);
  g_test_add_func ("/core/method-deepcluster/visuals", test_visuals);
  g_test_add_func ("/core/method-deepcluster/epochs", test_epochs);
  g_test_add_func ("/core/method-deepcluster/resume", test_resume);
  return g_test_run ();
}
