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

/* The tree flattened in depth-first order for the force pass: a node's
 * first child is the next entry and `skip` is the entry after its subtree,
 * so the traversal is a forward scan with jumps (no stack, no empty cells,
 * compact floats that stay in cache). */
typedef struct
{
  float x, y;   /* centre of mass */
  float w2;     /* squared cell width; 0 for a leaf */
  float count;
  int   skip;
} FlatNode;

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
  float         *val_f;    /* val in float, for the force pass */

  double        *y;        /* n x 2 */
  double        *update;   /* n x 2 */
  double        *gains;    /* n x 2 */
  double        *grad;     /* n x 2 */
  float         *layout;   /* n x 2, float mirror of y */
  double        *sumq;     /* n, per-point share of Z */
  QuadTree       tree;
  FlatNode      *flat;
  int            n_flat;
  int           *order;    /* n: points in depth-first (Z-curve) order */
  int            n_order;
  int           *group_first; /* per group: start in order[] */
  int           *group_count;
  int            n_groups;
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
  tsne->val_f = g_new (float, MAX (out, 1));
  for (gsize a = 0; a < out; a++)
    {
      tsne->val[a] /= total;
      tsne->val_f[a] = (float) tsne->val[a];
    }
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

/* Builds the quadtree of the n points y (n x 2). A leaf holds one point or
 * several at the same position (or at the depth limit), chained through
 * next[]. */
static void
tree_build (QuadTree *tree, int *next, const double *y, int n)
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

      next[i] = -1;
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
                {
                  /* Chain duplicates in this leaf. */
                  next[i] = nd->point;
                  nd->point = i;
                  break;
                }
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

/* Points per group: the repulsion is computed for a group of nearby points
 * in one traversal, with the opening test taken from the group's bounding
 * box (conservative, so at least as accurate as the per-point test). */
#define GROUP_MAX 64

static void
flatten_node (PtTsne *tsne, const int *next, int node, gboolean in_group)
{
  const QuadNode *nd = &tsne->tree.nodes[node];
  int me = tsne->n_flat++;
  FlatNode *f = &tsne->flat[me];

  f->x = (float) nd->mx;
  f->y = (float) nd->my;
  f->count = (float) nd->count;
  f->w2 = nd->child < 0 ? 0.0f : (float) (4.0 * nd->hw * nd->hw);
  if (!in_group && (nd->count <= GROUP_MAX || nd->child < 0))
    {
      tsne->group_first[tsne->n_groups] = tsne->n_order;
      tsne->group_count[tsne->n_groups] = nd->count;
      tsne->n_groups++;
      in_group = TRUE;
    }
  if (nd->child < 0)
    {
      /* Leaf: its point(s) come next in depth-first (Z-curve) order. */
      for (int p = nd->point; p >= 0; p = next[p])
        tsne->order[tsne->n_order++] = p;
    }
  else
    for (int q = 0; q < 4; q++)
      if (tsne->tree.nodes[nd->child + q].count > 0)
        flatten_node (tsne, next, nd->child + q, in_group);
  tsne->flat[me].skip = tsne->n_flat;
}

static void
tree_flatten (PtTsne *tsne, const int *next)
{
  tsne->flat = g_renew (FlatNode, tsne->flat, tsne->tree.n_nodes);
  tsne->n_flat = 0;
  tsne->n_order = 0;
  tsne->n_groups = 0;
  flatten_node (tsne, next, 0, FALSE);
  g_assert (tsne->n_order == tsne->n);
}

/* ---- gradient ---- */

typedef struct
{
  PtTsne       *tsne;
  const float  *yf;     /* layout in float */
  double       *attr;   /* n x 2 attraction (times exaggeration) */
  double       *rep;    /* n x 2 unnormalized repulsion */
  double        exaggeration;
  double        theta;
} GradJob;

static void
attraction_run (int begin, int end, gpointer data)
{
  GradJob *job = data;
  PtTsne *tsne = job->tsne;
  const float *yf = job->yf;
  const float *pv = tsne->val_f;

  for (int i = begin; i < end; i++)
    {
      float fx = yf[2 * i], fy = yf[2 * i + 1], sx = 0.0f, sy = 0.0f;
      for (int a = tsne->row_ptr[i]; a < tsne->row_ptr[i + 1]; a++)
        {
          int j = tsne->col[a];
          float dx = fx - yf[2 * j], dy = fy - yf[2 * j + 1];
          float w = pv[a] / (1.0f + dx * dx + dy * dy);
          sx += w * dx;
          sy += w * dy;
        }
      job->attr[2 * i] = job->exaggeration * sx;
      job->attr[2 * i + 1] = job->exaggeration * sy;
    }
}

/* Barnes-Hut repulsion for groups [begin, end). */
static void
repulsion_bh_run (int begin, int end, gpointer data)
{
  GradJob *job = data;
  PtTsne *tsne = job->tsne;
  const FlatNode *flat = tsne->flat;
  const int n_flat = tsne->n_flat;
  const float th2 = (float) (job->theta * job->theta);
  float px[GROUP_MAX], py[GROUP_MAX], sq[GROUP_MAX], rx[GROUP_MAX], ry[GROUP_MAX];

  for (int g = begin; g < end; g++)
    {
      const int *pts = tsne->order + tsne->group_first[g];
      int total = tsne->group_count[g];

      /* A leaf of many duplicates can exceed GROUP_MAX: take it in slices. */
      for (int s0 = 0; s0 < total; s0 += GROUP_MAX)
        {
          int m = MIN (GROUP_MAX, total - s0);
          float bx0 = INFINITY, bx1 = -INFINITY, by0 = INFINITY, by1 = -INFINITY;

          for (int p = 0; p < m; p++)
            {
              int i = pts[s0 + p];
              px[p] = job->yf[2 * i];
              py[p] = job->yf[2 * i + 1];
              sq[p] = rx[p] = ry[p] = 0.0f;
              bx0 = MIN (bx0, px[p]);
              bx1 = MAX (bx1, px[p]);
              by0 = MIN (by0, py[p]);
              by1 = MAX (by1, py[p]);
            }

          int a = 0;
          while (a < n_flat)
            {
              const FlatNode *nd = &flat[a];
              float ex = MAX (MAX (bx0 - nd->x, nd->x - bx1), 0.0f);
              float ey = MAX (MAX (by0 - nd->y, nd->y - by1), 0.0f);
              float d2min = ex * ex + ey * ey;

              if (nd->w2 < th2 * d2min)
                {
                  /* Far enough from every point of the group: one body. */
                  const float cx = nd->x, cy = nd->y, cnt = nd->count;
                  for (int p = 0; p < m; p++)
                    {
                      float dx = px[p] - cx, dy = py[p] - cy;
                      float q = 1.0f / (1.0f + dx * dx + dy * dy);
                      float w = cnt * q;
                      sq[p] += w;
                      w *= q;
                      rx[p] += w * dx;
                      ry[p] += w * dy;
                    }
                  a = nd->skip;
                }
              else if (nd->w2 == 0.0f)
                {
                  /* A leaf near the group: exact, skipping the point
                   * itself (and exact twins, which exert no force). */
                  const float cx = nd->x, cy = nd->y, cnt = nd->count;
                  for (int p = 0; p < m; p++)
                    {
                      float dx = px[p] - cx, dy = py[p] - cy;
                      float d2 = dx * dx + dy * dy;
                      float q = 1.0f / (1.0f + d2);
                      float w = d2 > 0.0f ? cnt * q : 0.0f;
                      sq[p] += w;
                      w *= q;
                      rx[p] += w * dx;
                      ry[p] += w * dy;
                    }
                  a = nd->skip;
                }
              else
                a++;
            }
          for (int p = 0; p < m; p++)
            {
              int i = pts[s0 + p];
              job->rep[2 * i] = rx[p];
              job->rep[2 * i + 1] = ry[p];
              tsne->sumq[i] = sq[p];
            }
        }
    }
}

/* Exact repulsion for points [begin, end) (theta = 0; tests only). */
static void
repulsion_exact_run (int begin, int end, gpointer data)
{
  GradJob *job = data;
  PtTsne *tsne = job->tsne;
  const float *yf = job->yf;

  for (int i = begin; i < end; i++)
    {
      double sq = 0.0, rx = 0.0, ry = 0.0;
      for (int j = 0; j < tsne->n; j++)
        {
          if (j == i)
            continue;
          double dx = (double) yf[2 * i] - yf[2 * j];
          double dy = (double) yf[2 * i + 1] - yf[2 * j + 1];
          double q = 1.0 / (1.0 + dx * dx + dy * dy);
          sq += q;
          rx += q * q * dx;
          ry += q * q * dy;
        }
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
  g_autofree float *yf = g_new (float, (gsize) 2 * n);

  for (int i = 0; i < 2 * n; i++)
    yf[i] = (float) y[i];
  GradJob job = { tsne, yf, grad, rep, exaggeration, theta };
  _pt_parallel_for (n, pt_threads_get (), attraction_run, &job);
  if (theta > 0.0)
    {
      g_autofree int *next = g_new (int, n);
      /* The tree is built from the float positions the forces use, so
       * that a point and its leaf agree exactly. */
      g_autofree double *yd = g_new (double, (gsize) 2 * n);
      for (int i = 0; i < 2 * n; i++)
        yd[i] = yf[i];
      tree_build (&tsne->tree, next, yd, n);
      tree_flatten (tsne, next);
      _pt_parallel_for (tsne->n_groups, pt_threads_get (), repulsion_bh_run, &job);
    }
  else
    _pt_parallel_for (n, pt_threads_get (), repulsion_exact_run, &job);

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
  tsne->order = g_new0 (int, n);
  tsne->group_first = g_new0 (int, n);
  tsne->group_count = g_new0 (int, n);

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
  g_free (tsne->val_f);
  g_free (tsne->y);
  g_free (tsne->update);
  g_free (tsne->gains);
  g_free (tsne->grad);
  g_free (tsne->layout);
  g_free (tsne->sumq);
  g_free (tsne->tree.nodes);
  g_free (tsne->flat);
  g_free (tsne->order);
  g_free (tsne->group_first);
  g_free (tsne->group_count);
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
