/* test-ssl.c: the SSL loss kernels against PyTorch (methods-losses.ptfx from
 * tests/fixtures/make_method_fixtures.py), Sinkhorn-Knopp, rotations,
 * spherical k-means on known cases, NMI, health metrics, the precomputed-loss op
 * and the method registry / parameter checks. */
#include <math.h>
#include <string.h>

#include "pt-ssl.h"
#include "pt-test-fixture.h"

static GHashTable *fx;

static PtFixtureTensor *
get (const char *name)
{
  if (fx == NULL)
    fx = pt_fixture_load ("methods-losses.ptfx");
  return pt_fixture_get (fx, name);
}

static int *
to_ints (PtFixtureTensor *t)
{
  int *out = g_new (int, t->numel);

  for (gsize i = 0; i < t->numel; i++)
    out[i] = (int) t->data[i];
  return out;
}

static void
test_infonce (void)
{
  PtFixtureTensor *qn = get ("infonce.qn"), *kn = get ("infonce.kn"), *queue = get ("infonce.queue");
  int N = qn->shape[0], D = qn->shape[1], K = queue->shape[0];
  g_autofree float *dqn = g_new (float, N * D);
  g_autofree float *pos = g_new (float, N);
  g_autofree float *neg = g_new (float, N * K);
  float loss;

  loss = pt_infonce_forward (dqn, pos, neg, qn->data, kn->data, queue->data, N, K, D, 0.2f);
  pt_assert_close ("infonce loss", &loss, get ("infonce.loss")->data, 1, 1e-5, 1e-5);
  pt_assert_close ("infonce dqn", dqn, get ("infonce.dqn")->data, N * D, 1e-6, 1e-4);
  for (int i = 0; i < N; i++)
    {
      double s = 0.0;

      for (int d = 0; d < D; d++)
        s += qn->data[i * D + d] * kn->data[i * D + d];
      g_assert_cmpfloat_with_epsilon (pos[i], s, 1e-5);
    }
  /* no queue: the positive is the only logit, the loss is exactly 0 */
  loss = pt_infonce_forward (dqn, NULL, NULL, qn->data, kn->data, NULL, N, 0, D, 0.2f);
  g_assert_cmpfloat (loss, ==, 0.0f);
  for (int i = 0; i < N * D; i++)
    g_assert_cmpfloat (dqn[i], ==, 0.0f);
}

static void
test_sinkhorn (void)
{
  PtFixtureTensor *s = get ("sinkhorn.scores");
  int B = s->shape[0], K = s->shape[1];
  g_autofree float *q = g_new (float, B * K);

  pt_sinkhorn (q, s->data, B, K, 0.05f, 3);
  pt_assert_close ("sinkhorn Q", q, get ("sinkhorn.q")->data, B * K, 1e-6, 1e-4);
  for (int b = 0; b < B; b++)
    {
      double sum = 0.0;

      for (int k = 0; k < K; k++)
        sum += q[b * K + k];
      g_assert_cmpfloat_with_epsilon (sum, 1.0, 1e-4);   /* columns normalized last */
    }
}

static void
test_swav_loss (void)
{
  PtFixtureTensor *s = get ("swav.scores"), *q = get ("swav.q");
  int G = q->shape[0], B = q->shape[1], K = q->shape[2], V = s->shape[0] / B;
  g_autofree float *ds = g_new (float, s->numel);
  g_autofree float *mycodes = g_new (float, q->numel);
  float loss;

  /* the codes themselves from our Sinkhorn */
  for (int g = 0; g < G; g++)
    pt_sinkhorn (mycodes + g * B * K, s->data + g * B * K, B, K, 0.05f, 3);
  pt_assert_close ("swav codes", mycodes, q->data, q->numel, 1e-6, 1e-4);
  loss = pt_swav_loss_forward (ds, s->data, q->data, V, G, B, K, 0.1f);
  pt_assert_close ("swav loss", &loss, get ("swav.loss")->data, 1, 1e-5, 1e-5);
  pt_assert_close ("swav dscores", ds, get ("swav.dscores")->data, s->numel, 1e-6, 1e-4);
}

static void
test_weighted_ce (void)
{
  PtFixtureTensor *l = get ("wce.logits"), *w = get ("wce.weight");
  int B = l->shape[0], K = l->shape[1];
  g_autofree int *t = to_ints (get ("wce.targets"));
  g_autofree float *dl = g_new (float, B * K);
  float loss = pt_weighted_cross_entropy_forward (dl, l->data, t, w->data, B, K);

  pt_assert_close ("deepcluster ce", &loss, get ("wce.loss")->data, 1, 1e-5, 1e-5);
  pt_assert_close ("deepcluster dlogits", dl, get ("wce.dlogits")->data, B * K, 1e-6, 1e-4);
}

static void
test_rotation (void)
{
  PtFixtureTensor *img = get ("rot.image"), *rl = get ("rotce.logits");
  int C = img->shape[0], S = img->shape[1];
  g_autofree float *out = g_new (float, img->numel);
  g_autofree float *back = g_new (float, img->numel);
  g_autofree int *t = to_ints (get ("rotce.targets"));
  g_autofree float *dl = g_new (float, rl->numel);
  float loss;

  for (int k = 0; k < 4; k++)
    {
      g_autofree char *name = g_strdup_printf ("rot.%d", k);
      PtFixtureTensor *ref = get (name);

      pt_rotate90 (out, img->data, C, S, k);
      /* a permutation: exact */
      g_assert_cmpmem (out, img->numel * sizeof (float), ref->data, ref->numel * sizeof (float));
      pt_rotate90 (back, out, C, S, 4 - k);
      g_assert_cmpmem (back, img->numel * sizeof (float), img->data, img->numel * sizeof (float));
    }
  loss = pt_weighted_cross_entropy_forward (dl, rl->data, t, NULL, rl->shape[0], 4);
  pt_assert_close ("rotnet ce", &loss, get ("rotce.loss")->data, 1, 1e-5, 1e-5);
  pt_assert_close ("rotnet dlogits", dl, get ("rotce.dlogits")->data, rl->numel, 1e-6, 1e-4);
}

/* DeepCluster-v2's loss against PyTorch, and its gradient against
 * central differences. */
static void
test_centroid_ce (void)
{
  PtFixtureTensor *z = get ("dc2.z"), *c = get ("dc2.centroids");
  int N = z->shape[0], D = z->shape[1], H = c->shape[0], K = c->shape[1];
  g_autofree int *t = to_ints (get ("dc2.targets"));
  g_autofree float *dz = g_new (float, N * D);
  g_autofree float *zp = g_memdup2 (z->data, N * D * sizeof (float));
  float loss = pt_centroid_ce_forward (dz, z->data, c->data, t, H, N, K, D, 0.1f);

  g_assert_cmpint (c->shape[2], ==, D);
  pt_assert_close ("deepcluster-v2 loss", &loss, get ("dc2.loss")->data, 1, 1e-5, 1e-5);
  pt_assert_close ("deepcluster-v2 dz", dz, get ("dc2.dz")->data, N * D, 1e-6, 1e-4);
  g_assert_cmpfloat (pt_centroid_ce_forward (NULL, z->data, c->data, t, H, N, K, D, 0.1f), ==, loss);
  for (int i = 0; i < N * D; i += 7)
    {
      const float e = 1e-3f;
      double up, down, fd;

      zp[i] = z->data[i] + e;
      up = pt_centroid_ce_forward (NULL, zp, c->data, t, H, N, K, D, 0.1f);
      zp[i] = z->data[i] - e;
      down = pt_centroid_ce_forward (NULL, zp, c->data, t, H, N, K, D, 0.1f);
      zp[i] = z->data[i];
      fd = (up - down) / (2.0 * e);
      g_assert_cmpfloat (fabs (fd - dz[i]), <=, 2e-3 + 2e-2 * fabs (fd));
    }
}

static void
normalize_rows (float *x,
                int    N,
                int    D)
{
  for (int i = 0; i < N; i++)
    {
      double s = 0.0;

      for (int d = 0; d < D; d++)
        s += (double) x[i * D + d] * x[i * D + d];
      for (int d = 0; d < D; d++)
        x[i * D + d] = (float) (x[i * D + d] / sqrt (s));
    }
}

/* Two groups of unit vectors near two orthogonal directions: k-means++
 * seeding starts one centre in each (a second start in the first group
 * has probability about 1% here: squared distances near 0.01 within a
 * group, 2 across), and spherical k-means ends with one cluster per group,
 * each centroid the normalized mean of its group, at all 30 seeds. */
static void
test_spherical_kmeans_known (void)
{
  float x[10 * 3] = {
    1.0f, 0.1f, 0.0f,   1.0f, -0.1f, 0.0f,   1.0f, 0.0f, 0.1f,   1.0f, 0.0f, -0.1f,  1.0f, 0.05f, 0.05f,
    0.0f, 1.0f, 0.1f,   0.1f, 1.0f, 0.0f,    0.0f, 1.0f, -0.1f,  -0.1f, 1.0f, 0.0f,  0.05f, 1.0f, 0.05f,
  };
  float want[2][3] = { { 0 } };

  normalize_rows (x, 10, 3);
  for (int g = 0; g < 2; g++)
    {
      for (int i = 0; i < 5; i++)
        for (int d = 0; d < 3; d++)
          want[g][d] += x[(g * 5 + i) * 3 + d];
      normalize_rows (want[g], 1, 3);
    }
  for (guint64 seed = 0; seed < 30; seed++)
    {
      float c[2 * 3];
      int assign[10];
      PtRng rng;

      pt_rng_init (&rng, seed);
      g_assert_cmpint (pt_spherical_kmeans (c, assign, x, 10, 3, 2, 10, &rng), ==, 0);
      for (int i = 0; i < 10; i++)
        g_assert_cmpint (assign[i], ==, assign[(i / 5) * 5]);
      g_assert_cmpint (assign[0], !=, assign[5]);
      for (int g = 0; g < 2; g++)
        for (int d = 0; d < 3; d++)
          g_assert_cmpfloat_with_epsilon (c[assign[g * 5] * 3 + d], want[g][d], 1e-6);
    }
}

/* On random unit rows the result is a fixed point of the iteration: each
 * row is assigned to its most similar centroid, and each non-empty
 * cluster's centroid is the normalized mean of its rows. */
static void
test_spherical_kmeans_fixed_point (void)
{
  enum { N = 300, D = 8, K = 5 };
  g_autofree float *x = g_new (float, N * D);
  float c[K * D];
  int assign[N];
  PtRng rng;

  pt_rng_init (&rng, 4);
  for (int i = 0; i < N * D; i++)
    x[i] = pt_rng_uniform (&rng) - 0.5f;
  normalize_rows (x, N, D);
  pt_spherical_kmeans (c, assign, x, N, D, K, 200, &rng);
  for (int k = 0; k < K; k++)
    {
      double mean[D] = { 0 }, s = 0.0, norm = 0.0;
      int n = 0;

      for (int d = 0; d < D; d++)
        norm += (double) c[k * D + d] * c[k * D + d];
      g_assert_cmpfloat_with_epsilon (norm, 1.0, 1e-5);
      for (int i = 0; i < N; i++)
        if (assign[i] == k)
          {
            n++;
            for (int d = 0; d < D; d++)
              mean[d] += x[i * D + d];
          }
      g_assert_cmpint (n, >, 0);
      for (int d = 0; d < D; d++)
        s += mean[d] * mean[d];
      for (int d = 0; d < D; d++)
        g_assert_cmpfloat_with_epsilon (c[k * D + d], mean[d] / sqrt (s), 1e-5);
    }
  for (int i = 0; i < N; i++)
    for (int k = 0; k < K; k++)
      {
        double mine = 0.0, other = 0.0;

        for (int d = 0; d < D; d++)
          {
            mine += (double) x[i * D + d] * c[assign[i] * D + d];
            other += (double) x[i * D + d] * c[k * D + d];
          }
        g_assert_cmpfloat (mine, >=, other - 1e-6);
      }
}

/* More clusters than distinct rows: empty clusters are restarted from the
 * largest; centroids stay unit and finite, every row sits on its own. */
static void
test_spherical_kmeans_empty (void)
{
  float x[8 * 2], c[4 * 2];
  int assign[8], n_reseeded;
  PtRng rng;

  for (int i = 0; i < 8; i++)
    {
      x[2 * i] = i < 6 ? 1.0f : 0.0f;
      x[2 * i + 1] = i < 6 ? 0.0f : 1.0f;
    }
  pt_rng_init (&rng, 3);
  n_reseeded = pt_spherical_kmeans (c, assign, x, 8, 2, 4, 10, &rng);
  g_assert_cmpint (n_reseeded, >, 0);
  for (int i = 0; i < 8; i++)
    {
      g_assert_cmpint (assign[i], >=, 0);
      g_assert_cmpint (assign[i], <, 4);
      g_assert_cmpfloat (fabsf (c[assign[i] * 2] - x[2 * i]), <, 1e-6f);
      g_assert_cmpfloat (fabsf (c[assign[i] * 2 + 1] - x[2 * i + 1]), <, 1e-6f);
    }
  for (int i = 0; i < 8; i++)
    g_assert_true (isfinite (c[i]));
}

static void
test_nmi (void)
{
  int a[] = { 0, 0, 1, 1, 2, 2 };
  int b[] = { 1, 1, 0, 0, 2, 2 };   /* a relabelling */
  int c[] = { 0, 1, 0, 1, 0, 1 };   /* independent of a */
  int d[] = { 0, 0, 0, 1, 1, 1 };

  g_assert_cmpfloat_with_epsilon (pt_nmi (a, b, 6, 3, 3), 1.0, 1e-12);
  g_assert_cmpfloat_with_epsilon (pt_nmi (a, c, 6, 3, 2), 0.0, 1e-12);
  /* sklearn.metrics.normalized_mutual_info_score ([0,0,1,1,2,2], [0,0,0,1,1,1]) */
  g_assert_cmpfloat_with_epsilon (pt_nmi (a, d, 6, 3, 2), 0.5158037429793888, 1e-9);
}

static void
test_health (void)
{
  enum { N = 64, D = 16 };
  g_autofree float *z = g_new (float, N * D);
  PtRng rng;

  /* collapse: every row the same direction */
  for (int i = 0; i < N; i++)
    for (int d = 0; d < D; d++)
      z[i * D + d] = (d == 3) ? 1.0f + i : 0.5f * (1.0f + i);
  g_assert_cmpfloat (pt_ssl_embedding_std (z, N, D), <, 1e-6);
  /* all rows on one line through the mean: rank one */
  g_assert_cmpfloat_with_epsilon (pt_ssl_effective_rank (z, N, D), 1.0, 1e-3);

  /* isotropic Gaussian: std about 1/sqrt(D), effective rank close to D */
  pt_rng_init (&rng, 9);
  for (int i = 0; i < N * D; i++)
    z[i] = pt_rng_normal (&rng);
  g_assert_cmpfloat (fabs (pt_ssl_embedding_std (z, N, D) - 1.0 / sqrt (D)), <, 0.03);
  g_assert_cmpfloat (pt_ssl_effective_rank (z, N, D), >, 0.8 * D);
  g_assert_cmpfloat (pt_ssl_effective_rank (z, N, D), <=, D + 1e-3);

  /* exactly two equal directions (orthogonal, equal spread): rank 2 */
  memset (z, 0, N * D * sizeof (float));
  for (int i = 0; i < N; i++)
    z[i * D + (i % 2)] = (i % 4 < 2) ? 1.0f : -1.0f;
  g_assert_cmpfloat_with_epsilon (pt_ssl_effective_rank (z, N, D), 2.0, 1e-3);
}

static void
test_precomputed_loss (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  float data[3] = { 1, 2, 3 }, grad[3] = { 0 }, g[3] = { 0.5f, -1.0f, 2.0f };
  int shape[1] = { 3 };
  PtTensor x, *loss, *scaled;

  pt_tensor_init (&x, data, grad, 1, shape);
  x.requires_grad = TRUE;
  loss = pt_op_precomputed_loss (tape, &x, 4.0f, g);
  g_assert_cmpfloat (loss->data[0], ==, 4.0f);
  scaled = pt_op_scale (tape, loss, 3.0f);
  pt_tape_backward (tape, scaled);
  for (int i = 0; i < 3; i++)
    g_assert_cmpfloat (grad[i], ==, 3.0f * g[i]);
}

static void
test_registry_params (void)
{
  const PtSslMethodClass **list = pt_ssl_method_list ();
  PtSslConfig config = { 3, 32, 32, 8, 10, 4, 1 };
  GError *error = NULL;
  const char *names[] = { "simclr", "moco", "swav", "deepcluster", "rotnet" };
  g_autoptr(PtSslMethod) m = NULL;
  PtSslMethod *bad;

  for (int i = 0; i < 5; i++)
    {
      g_assert_nonnull (list[i]);
      g_assert_true (pt_ssl_method_lookup (names[i]) == list[i]);
    }
  g_assert_null (list[5]);
  g_assert_null (pt_ssl_method_lookup ("byol"));

  m = pt_ssl_method_new (&pt_method_simclr_class, &config, &error, "temperature", 0.2, NULL);
  g_assert_no_error (error);
  g_assert_cmpfloat (pt_ssl_method_get_param (m, "temperature"), ==, 0.2);
  g_assert_cmpfloat (pt_ssl_method_get_param (m, "base_lr"), ==, 0.5);
  g_assert_false (pt_ssl_method_set_param (m, "temperature", -1.0, &error));
  g_assert_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_false (pt_ssl_method_set_param (m, "no_such_param", 1.0, &error));
  g_assert_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM);
  g_clear_error (&error);
  g_assert_false (pt_ssl_method_set_param (m, "optimizer", 0.5, &error));   /* whole number */
  g_assert_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM);
  g_clear_error (&error);

  bad = pt_ssl_method_new (&pt_method_moco_class, &config, &error, "queue_size", -3.0, NULL);
  g_assert_null (bad);
  g_assert_error (error, PT_SSL_ERROR, PT_SSL_ERROR_INVALID_PARAM);
  g_clear_error (&error);

  config.width = 30;   /* not square */
  bad = pt_ssl_method_new (&pt_method_rotnet_class, &config, &error, NULL);
  g_assert_null (bad);
  g_assert_error (error, PT_SSL_ERROR, PT_SSL_ERROR_UNSUPPORTED);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/ssl/infonce", test_infonce);
  g_test_add_func ("/core/ssl/sinkhorn", test_sinkhorn);
  g_test_add_func ("/core/ssl/swav-loss", test_swav_loss);
  g_test_add_func ("/core/ssl/weighted-cross-entropy", test_weighted_ce);
  g_test_add_func ("/core/ssl/rotation", test_rotation);
  g_test_add_func ("/core/ssl/centroid-ce", test_centroid_ce);
  g_test_add_func ("/core/ssl/spherical-kmeans/known", test_spherical_kmeans_known);
  g_test_add_func ("/core/ssl/spherical-kmeans/fixed-point", test_spherical_kmeans_fixed_point);
  g_test_add_func ("/core/ssl/spherical-kmeans/empty-clusters", test_spherical_kmeans_empty);
  g_test_add_func ("/core/ssl/nmi", test_nmi);
  g_test_add_func ("/core/ssl/health", test_health);
  g_test_add_func ("/core/ssl/precomputed-loss", test_precomputed_loss);
  g_test_add_func ("/core/ssl/registry-params", test_registry_params);
  ret = g_test_run ();
  g_clear_pointer (&fx, g_hash_table_unref);
  return ret;
}
