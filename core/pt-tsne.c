/* pt-tsne.c: Barnes-Hut t-SNE (2-D quadtree), stepping state object. */
#include "pt-tsne.h"
#include "pt-eval-private.h"
#include "pt-pca.h"
#include "pt-threads.h"

#include <cblas.h>
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-tsne-error-quark, pt_tsne_error)

#define TREE_MAX_DEPTH 48

typedef struct
{
  double cx, cy, hw;   /* cell centre and half width */
  double mx, my;       /* centre of mass (sum of positions while building) */
  int    count;
  int    child;        /* first of four children, or -1 for a leaf */
  int    point;        /* a point of a leaf (-1 when empty or internal) */
} QuadNode;

typedef struct
{
  QuadNode *nodes;
  int       n_nodes;
  int       capacity;
} QuadTree;

struct _PtTsne
{
  int            n;
  PtTsneOptions  opt;
  double         learning_rate;
  int            iteration;

  /* Symmetric P in CSR, normalized to sum 1. */
  int           *row_ptr;  /* n + 1 */
  int           *col;
  double        *val;

  double        *y;        /* n x 2 */
  double        *update;   /* n x 2 */
  double        *gains;    /* n x 2 */
  double        *grad;     /* n x 2 */
  float         *layout;   /* n x 2, float mirror of y */
  double        *sumq;     /* n, per-point share of Z */
  QuadTree       tree;
};

void
pt_tsne_options_init (PtTsneOptions *options)
{
  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->perplexity = 30.0;
  options->theta = 0.5;
  options->early_exaggeration = 12.0;
  options->exaggeration_iters = 250;
  options->momentum_early = 0.5;
  options->momentum_late = 0.8;
  options->learning_rate = 0.0;
  options->pca_init = TRUE;
  options->seed = 0;
}

/* ---- input affinities ---- */

typedef struct
{
  const float *dist;  /* n x k squared distances */
  double      *p;     /* n x k conditional probabilities */
  int          k;
  double       log_perp;
} PerplexityJob;

static void
perplexity_run (int begin, int end, gpointer data)
{
  PerplexityJob *job = data;
  int k = job->k;

  for (int i = begin; i < end; i++)
    {
      const float *di = job->dist + (gsize) i * k;
      double *pi = job->p + (gsize) i * k;
      double beta = 1.0, lo = -INFINITY, hi = INFINITY;
      double dmin = di[0];

      for (int j = 1; j < k; j++)
        dmin = MIN (dmin, di[j]);
      for (int step = 0; step < 200; step++)
        {
          double sum = 0.0, sum_dp = 0.0;
          /* Shift by the nearest distance: same normalized p, no underflow. */
          for (int j = 0; j < k; j++)
            {
              pi[j] = exp (-(di[j] - dmin) * beta);
              sum += pi[j];
              sum_dp += (di[j] - dmin) * pi[j];
            }
          double h = log (sum) + beta * sum_dp / sum;
          for (int j = 0; j < k; j++)
            pi[j] /= sum;
          double diff = h - job->log_perp;
          if (fabs (diff) <= 1e-5)
            break;
          if (diff > 0.0)
            {
              lo = beta;
              beta = isinf (hi) ? beta * 2.0 : 0.5 * (beta + hi);
            }
          else
            {
              hi = beta;
              beta = isinf (lo) ? beta * 0.5 : 0.5 * (beta + lo);
            }
        }
    }
}

typedef struct
{
  int    row, col;
  double v;
} Triplet;

static int
cmp_triplet (gconstpointer a, gconstpointer b)
{
  const Triplet *x = a, *y = b;
  if (x->row != y->row)
    return (x->row > y->row) - (x->row < y->row);
  return (x->col > y->col) - (x->col < y->col);
}

static gboolean
compute_affinities (PtTsne       *tsne,
                    const float  *x,
                    int           d,
                    GCancellable *cancellable,
                    GError      **error)
{
  int n = tsne->n;
  int k = MIN (n - 1, (int) (3.0 * tsne->opt.perplexity + 1.0));
  g_autofree float *sq = g_new (float, n);
  g_autofree int *nn = g_new (int, (gsize) n * k);
  g_autofree float *dist = g_new (float, (gsize) n * k);
  g_autofree int *self = g_new (int, n);

  for (int i = 0; i < n; i++)
    {
      double s = 0.0;
      for (int j = 0; j < d; j++)
        s += (double) x[(gsize) i * d + j] * x[(gsize) i * d + j];
      sq[i] = (float) s;
      self[i] = i;
    }

  /* Nearest = largest 2 x_i.x_j - |x_j|^2, by blocks of rows. */
  int block = (int) CLAMP ((32 << 20) / ((gsize) n * sizeof (float)), 16, 1024);
  block = MIN (block, n);
  g_autofree float *scores = g_new (float, (gsize) block * n);
  for (int b0 = 0; b0 < n; b0 += block)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      int nb = MIN (block, n - b0);
      for (int r = 0; r < nb; r++)
        memcpy (scores + (gsize) r * n, sq, sizeof (float) * n);
      cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasTrans, nb, n, d,
                   2.0f, x + (gsize) b0 * d, d, x, d, -1.0f, scores, n);
      _pt_topk_rows (nn + (gsize) b0 * k, dist + (gsize) b0 * k, scores, nb,
                     n, n, k, self + b0);
      for (int r = 0; r < nb; r++)
        for (int j = 0; j < k; j++)
          {
            float *dj = dist + (gsize) (b0 + r) * k + j;
            *dj = MAX (0.0f, sq[b0 + r] - *dj);
          }
    }

  g_autofree double *p = g_new (double, (gsize) n * k);
  PerplexityJob job = { dist, p, k, log (tsne->opt.perplexity) };
  _pt_parallel_for (n, pt_threads_get (), perplexity_run, &job);

  /* Symmetrize: P = (P_cond + P_cond^T) / sum. */
  gsize nt = (gsize) 2 * n * k;
  g_autofree Triplet *t = g_new (Triplet, nt);
  gsize m = 0;
  for (int i = 0; i < n; i++)
    for (int j = 0; j < k; j++)
      {
        int c = nn[(gsize) i * k + j];
        double v = p[(gsize) i * k + j];
        t[m++] = (Triplet) { i, c, v };
        t[m++] = (Triplet) { c, i, v };
      }
  qsort (t, m, sizeof (Triplet), cmp_triplet);

  tsne->row_ptr = g_new0 (int, n + 1);
  tsne->col = g_new (int, m);
  tsne->val = g_new (double, m);
  gsize out = 0;
  double total = 0.0;
  for (gsize a = 0; a < m; )
    {
      gsize b = a;
      double v = 0.0;
      while (b < m && t[b].row == t[a].row && t[b].col == t[a].col)
        v += t[b++].v;
      tsne->col[out] = t[a].col;
      tsne->val[out] = v;
      tsne->row_ptr[t[a].row + 1]++;
      total += v;
      out++;
      a = b;
    }
  for (int i = 0; i < n; i++)
    tsne->row_ptr[i + 1] += tsne->row_ptr[i];
  for (gsize a = 0; a < out; a++)
    tsne->val[a] /= total;
  return TRUE;
}

/* ---- quadtree ---- */

static int
tree_alloc4 (QuadTree *tree)
{
  if (tree->n_nodes + 4 > tree->capacity)
    {
      tree->capacity = MAX (64, tree->capacity * 2);
      tree->nodes = g_renew (QuadNode, tree->nodes, tree->capacity);
    }
  int first = tree->n_nodes;
  tree->n_nodes += 4;
  return first;
}

static void
tree_build (QuadTree *tree, const double *y, int n)
{
  double xmin = y[0], xmax = y[0], ymin = y[1], ymax = y[1];

  for (int i = 1; i < n; i++)
    {
      xmin = MIN (xmin, y[2 * i]);
      xmax = MAX (xmax, y[2 * i]);
      ymin = MIN (ymin, y[2 * i + 1]);
      ymax = MAX (ymax, y[2 * i + 1]);
    }
  if (tree->capacity < 1)
    {
      tree->capacity = MAX (64, 4 * n);
      tree->nodes = g_new (QuadNode, tree->capacity);
    }
  tree->n_nodes = 1;
  QuadNode *root = &tree->nodes[0];
  root->cx = 0.5 * (xmin + xmax);
  root->cy = 0.5 * (ymin + ymax);
  root->hw = 0.5 * MAX (xmax - xmin, ymax - ymin) * (1.0 + 1e-6) + 1e-12;
  root->mx = root->my = 0.0;
  root->count = 0;
  root->child = -1;
  root->point = -1;

  for (int i = 0; i < n; i++)
    {
      double px = y[2 * i], py = y[2 * i + 1];
      int node = 0, depth = 0;

      for (;;)
        {
          QuadNode *nd = &tree->nodes[node];
          nd->mx += px;
          nd->my += py;
          nd->count++;
          if (nd->child < 0)
            {
              if (nd->count == 1)
                {
                  nd->point = i;
                  break;
                }
              double ox = y[2 * nd->point], oy = y[2 * nd->point + 1];
              if (depth >= TREE_MAX_DEPTH || (ox == px && oy == py))
                break; /* aggregate duplicates in this leaf */
              int first = tree_alloc4 (tree);
              nd = &tree->nodes[node]; /* the array may have moved */
              double h = 0.5 * nd->hw;
              for (int q = 0; q < 4; q++)
                {
                  QuadNode *c = &tree->nodes[first + q];
                  c->cx = nd->cx + ((q & 1) ? h : -h);
                  c->cy = nd->cy + ((q & 2) ? h : -h);
                  c->hw = h;
                  c->mx = c->my = 0.0;
                  c->count = 0;
                  c->child = -1;
                  c->point = -1;
                }
              /* Move the old occupants (all at (ox, oy)) down as a block. */
              int oq = (ox >= nd->cx) + 2 * (oy >= nd->cy);
              QuadNode *oc = &tree->nodes[first + oq];
              oc->count = nd->count - 1;
              oc->mx = nd->mx - px;
              oc->my = nd->my - py;
              oc->point = nd->point;
              nd->point = -1;
              nd->child = first;
            }
          int q = (px >= nd->cx) + 2 * (py >= nd->cy);
          node = nd->child + q;
          depth++;
        }
    }
  for (int i = 0; i < tree->n_nodes; i++)
    {
      QuadNode *nd = &tree->nodes[i];
      if (nd->count > 0)
        {
          nd->mx /= nd->count;
          nd->my /= nd->count;
        }
    }
}

/* ---- gradient ---- */

typedef struct
{
  PtTsne       *tsne;
  const double *y;
  double       *grad;   /* out: attractive - repulsive / Z, scaled later */
  double       *rep;    /* n x 2 unnormalized repulsion */
  double        exaggeration;
  double        theta;
} GradJob;

static void
grad_run (int begin, int end, gpointer data)
{
  GradJob *job = data;
  PtTsne *tsne = job->tsne;
  const double *y = job->y;
  const QuadNode *nodes = tsne->tree.nodes;
  double theta2 = job->theta * job->theta;
  int stack[4 * TREE_MAX_DEPTH + 8];

  for (int i = begin; i < end; i++)
    {
      double yx = y[2 * i], yy = y[2 * i + 1];
      double ax = 0.0, ay = 0.0, rx = 0.0, ry = 0.0, sq = 0.0;

      /* Attraction over the sparse P row. */
      for (int a = tsne->row_ptr[i]; a < tsne->row_ptr[i + 1]; a++)
        {
          int j = tsne->col[a];
          double dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
          double w = tsne->val[a] / (1.0 + dx * dx + dy * dy);
          ax += w * dx;
          ay += w * dy;
        }

      if (job->theta > 0.0)
        {
          int top = 0;
          stack[top++] = 0;
          while (top > 0)
            {
              const QuadNode *nd = &nodes[stack[--top]];
              if (nd->count == 0)
                continue;
              double dx = yx - nd->mx, dy = yy - nd->my;
              double d2 = dx * dx + dy * dy;
              double cnt = nd->count;
              if (nd->child < 0)
                {
                  if (d2 == 0.0)
                    cnt -= 1.0; /* the point itself (and exact twins: no force) */
                  if (cnt <= 0.0)
                    continue;
                }
              else if (4.0 * nd->hw * nd->hw >= theta2 * d2)
                {
                  for (int q = 0; q < 4; q++)
                    stack[top++] = nd->child + q;
                  continue;
                }
              double q = 1.0 / (1.0 + d2);
              sq += cnt * q;
              double f = cnt * q * q;
              rx += f * dx;
              ry += f * dy;
            }
        }
      else
        {
          for (int j = 0; j < tsne->n; j++)
            {
              if (j == i)
                continue;
              double dx = yx - y[2 * j], dy = yy - y[2 * j + 1];
              double q = 1.0 / (1.0 + dx * dx + dy * dy);
              sq += q;
              rx += q * q * dx;
              ry += q * q * dy;
            }
        }
      job->grad[2 * i] = job->exaggeration * ax;
      job->grad[2 * i + 1] = job->exaggeration * ay;
      job->rep[2 * i] = rx;
      job->rep[2 * i + 1] = ry;
      tsne->sumq[i] = sq;
    }
}

static void
compute_gradient (PtTsne       *tsne,
                  const double *y,
                  double        exaggeration,
                  double        theta,
                  double       *grad)
{
  int n = tsne->n;
  g_autofree double *rep = g_new (double, (gsize) 2 * n);

  if (theta > 0.0)
    tree_build (&tsne->tree, y, n);
  GradJob job = { tsne, y, grad, rep, exaggeration, theta };
  _pt_parallel_for (n, pt_threads_get (), grad_run, &job);

  double z = 0.0;
  for (int i = 0; i < n; i++)
    z += tsne->sumq[i];
  z = MAX (z, 1e-300);
  for (int i = 0; i < 2 * n; i++)
    grad[i] = 4.0 * (grad[i] - rep[i] / z);
}

/* ---- object ---- */

static void
sync_layout (PtTsne *tsne)
{
  for (int i = 0; i < 2 * tsne->n; i++)
    tsne->layout[i] = (float) tsne->y[i];
}

static void
reset_optimizer (PtTsne *tsne)
{
  for (int i = 0; i < 2 * tsne->n; i++)
    {
      tsne->update[i] = 0.0;
      tsne->gains[i] = 1.0;
    }
}

PtTsne *
pt_tsne_new (const float         *x,
             int                  n,
             int                  d,
             const PtTsneOptions *options,
             GCancellable        *cancellable,
             GError             **error)
{
  g_return_val_if_fail (x != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  PtTsneOptions defaults;
  if (options == NULL)
    {
      pt_tsne_options_init (&defaults);
      options = &defaults;
    }
  if (n < 4 || d < 1)
    {
      g_set_error (error, PT_TSNE_ERROR, PT_TSNE_ERROR_INVALID,
                   _("t-SNE needs at least 4 points (got %d points of %d "
                     "features)"), n, d);
      return NULL;
    }
  if (!(options->perplexity > 0.0) || options->perplexity >= n - 1)
    {
      g_set_error (error, PT_TSNE_ERROR, PT_TSNE_ERROR_INVALID,
                   _("The perplexity %g must be positive and below the number "
                     "of points minus one (%d)"), options->perplexity, n - 1);
      return NULL;
    }
  for (gsize i = 0; i < (gsize) n * d; i++)
    if (!isfinite (x[i]))
      {
        g_set_error (error, PT_TSNE_ERROR, PT_TSNE_ERROR_INVALID,
                     _("Feature %d of point %d is not a finite number"),
                     (int) (i % d), (int) (i / d));
        return NULL;
      }

  g_autoptr(PtTsne) tsne = g_new0 (PtTsne, 1);
  tsne->n = n;
  tsne->opt = *options;
  tsne->learning_rate = options->learning_rate > 0.0
    ? options->learning_rate
    : MAX (n / options->early_exaggeration / 4.0, 50.0);
  tsne->y = g_new0 (double, (gsize) 2 * n);
  tsne->update = g_new0 (double, (gsize) 2 * n);
  tsne->gains = g_new0 (double, (gsize) 2 * n);
  tsne->grad = g_new0 (double, (gsize) 2 * n);
  tsne->layout = g_new0 (float, (gsize) 2 * n);
  tsne->sumq = g_new0 (double, n);

  if (!compute_affinities (tsne, x, d, cancellable, error))
    return NULL;

  /* Initial layout: PCA scaled to std 1e-4 on the first axis, or noise. */
  gboolean init_done = FALSE;
  if (options->pca_init && d >= 2)
    {
      g_autoptr(PtPca) pca = pt_pca_fit (x, n, d, 2, NULL);
      if (pca)
        {
          g_autofree float *proj = g_new (float, (gsize) 2 * n);
          pt_pca_transform (pca, proj, x, n);
          double s = 0.0, m = 0.0;
          for (int i = 0; i < n; i++)
            m += proj[2 * i];
          m /= n;
          for (int i = 0; i < n; i++)
            s += (proj[2 * i] - m) * (proj[2 * i] - m);
          s = sqrt (s / n);
          if (s > 0.0)
            {
              for (int i = 0; i < 2 * n; i++)
                tsne->y[i] = proj[i] / s * 1e-4;
              init_done = TRUE;
            }
        }
    }
  if (!init_done)
    {
      guint32 seed_words[2] = { (guint32) options->seed, (guint32) (options->seed >> 32) };
      g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed_words, 2);
      for (int i = 0; i < 2 * n; i += 2)
        {
          /* Box-Muller */
          double u1 = g_rand_double_range (rand, 1e-300, 1.0);
          double u2 = g_rand_double (rand);
          double r = sqrt (-2.0 * log (u1));
          tsne->y[i] = 1e-4 * r * cos (2.0 * G_PI * u2);
          tsne->y[i + 1] = 1e-4 * r * sin (2.0 * G_PI * u2);
        }
    }
  reset_optimizer (tsne);
  sync_layout (tsne);
  return g_steal_pointer (&tsne);
}

void
pt_tsne_free (PtTsne *tsne)
{
  if (tsne == NULL)
    return;
  g_free (tsne->row_ptr);
  g_free (tsne->col);
  g_free (tsne->val);
  g_free (tsne->y);
  g_free (tsne->update);
  g_free (tsne->gains);
  g_free (tsne->grad);
  g_free (tsne->layout);
  g_free (tsne->sumq);
  g_free (tsne->tree.nodes);
  g_free (tsne);
}

void
pt_tsne_set_layout (PtTsne      *tsne,
                    const float *layout,
                    int          iteration)
{
  g_return_if_fail (tsne != NULL && layout != NULL && iteration >= 0);

  for (int i = 0; i < 2 * tsne->n; i++)
    tsne->y[i] = layout[i];
  tsne->iteration = iteration;
  reset_optimizer (tsne);
  sync_layout (tsne);
}

gboolean
pt_tsne_step (PtTsne        *tsne,
              int            n_iter,
              GCancellable  *cancellable,
              GError       **error)
{
  g_return_val_if_fail (tsne != NULL && n_iter >= 0, FALSE);

  int n2 = 2 * tsne->n;
  for (int it = 0; it < n_iter; it++)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      gboolean early = tsne->iteration < tsne->opt.exaggeration_iters;
      /* Like scikit-learn, the second phase starts with fresh velocities
       * and gains. */
      if (tsne->iteration == tsne->opt.exaggeration_iters && tsne->iteration > 0)
        reset_optimizer (tsne);
      double exag = early ? tsne->opt.early_exaggeration : 1.0;
      double momentum = early ? tsne->opt.momentum_early : tsne->opt.momentum_late;
      double theta = tsne->opt.theta;

      compute_gradient (tsne, tsne->y, exag, theta, tsne->grad);
      for (int i = 0; i < n2; i++)
        {
          double g = tsne->grad[i];
          if (tsne->update[i] * g < 0.0)
            tsne->gains[i] += 0.2;
          else
            tsne->gains[i] *= 0.8;
          tsne->gains[i] = MAX (tsne->gains[i], 0.01);
          tsne->update[i] = momentum * tsne->update[i]
                            - tsne->learning_rate * tsne->gains[i] * g;
          tsne->y[i] += tsne->update[i];
        }
      tsne->iteration++;
    }
  sync_layout (tsne);
  return TRUE;
}

const float *
pt_tsne_get_layout (PtTsne *tsne)
{
  g_return_val_if_fail (tsne != NULL, NULL);
  return tsne->layout;
}

int
pt_tsne_get_n (PtTsne *tsne)
{
  g_return_val_if_fail (tsne != NULL, 0);
  return tsne->n;
}

int
pt_tsne_get_iteration (PtTsne *tsne)
{
  g_return_val_if_fail (tsne != NULL, 0);
  return tsne->iteration;
}

double
pt_tsne_get_learning_rate (PtTsne *tsne)
{
  g_return_val_if_fail (tsne != NULL, 0.0);
  return tsne->learning_rate;
}

typedef struct
{
  const double *y;
  int           n;
  double       *rowz;
} ZJob;

static void
z_run (int begin, int end, gpointer data)
{
  ZJob *job = data;

  for (int i = begin; i < end; i++)
    {
      double s = 0.0, yx = job->y[2 * i], yy = job->y[2 * i + 1];
      for (int j = 0; j < job->n; j++)
        {
          double dx = yx - job->y[2 * j], dy = yy - job->y[2 * j + 1];
          s += 1.0 / (1.0 + dx * dx + dy * dy);
        }
      job->rowz[i] = s - 1.0; /* j == i contributes exactly 1 */
    }
}

static double
kl_of (PtTsne *tsne, const double *y)
{
  int n = tsne->n;
  g_autofree double *rowz = g_new (double, n);
  ZJob job = { y, n, rowz };
  _pt_parallel_for (n, pt_threads_get (), z_run, &job);

  double z = 0.0;
  for (int i = 0; i < n; i++)
    z += rowz[i];
  double kl = 0.0;
  for (int i = 0; i < n; i++)
    for (int a = tsne->row_ptr[i]; a < tsne->row_ptr[i + 1]; a++)
      {
        int j = tsne->col[a];
        double p = tsne->val[a];
        if (p <= 0.0)
          continue;
        double dx = y[2 * i] - y[2 * j], dy = y[2 * i + 1] - y[2 * j + 1];
        double q = 1.0 / (1.0 + dx * dx + dy * dy) / z;
        kl += p * log (p / MAX (q, 1e-300));
      }
  return kl;
}

double
pt_tsne_kl_divergence (PtTsne *tsne)
{
  g_return_val_if_fail (tsne != NULL, NAN);
  return kl_of (tsne, tsne->y);
}

double
pt_tsne_kl_divergence_of (PtTsne      *tsne,
                          const float *layout)
{
  g_return_val_if_fail (tsne != NULL && layout != NULL, NAN);

  g_autofree double *y = g_new (double, (gsize) 2 * tsne->n);
  for (int i = 0; i < 2 * tsne->n; i++)
    y[i] = layout[i];
  return kl_of (tsne, y);
}

void
pt_tsne_gradient (PtTsne      *tsne,
                  const float *layout,
                  double       theta,
                  double      *grad)
{
  g_return_if_fail (tsne != NULL && layout != NULL && grad != NULL);

  g_autofree double *y = g_new (double, (gsize) 2 * tsne->n);
  for (int i = 0; i < 2 * tsne->n; i++)
    y[i] = layout[i];
  compute_gradient (tsne, y, 1.0, theta, grad);
}
