/* pt-subsets.c: nested class-balanced subsets, label-efficiency curves. */
#include "pt-subsets.h"
#include "pt-knn.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

static int
cmp_int (gconstpointer a, gconstpointer b)
{
  int x = *(const int *) a, y = *(const int *) b;
  return (x > y) - (x < y);
}

int *
pt_subset_balanced (const int *labels,
                    int        n,
                    int        n_classes,
                    double     fraction,
                    int        per_class,
                    guint64    seed,
                    int       *n_out)
{
  g_return_val_if_fail (labels != NULL && n >= 0 && n_classes > 0, NULL);
  g_return_val_if_fail (n_out != NULL, NULL);

  int k = n_classes;
  g_autofree int *count = g_new0 (int, k);
  g_autofree int *start = g_new0 (int, k + 1);
  g_autofree int *fill = g_new0 (int, k);
  int n_labeled = 0;

  for (int i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < k)
      {
        count[labels[i]]++;
        n_labeled++;
      }
  for (int c = 0; c < k; c++)
    start[c + 1] = start[c] + count[c];
  g_autofree int *by_class = g_new (int, MAX (n_labeled, 1));
  for (int i = 0; i < n; i++)
    if (labels[i] >= 0 && labels[i] < k)
      by_class[start[labels[i]] + fill[labels[i]]++] = i;

  int take;
  gboolean all = FALSE;
  if (per_class > 0)
    take = per_class;
  else if (fraction >= 1.0)
    {
      take = G_MAXINT;
      all = TRUE;
    }
  else
    take = MAX (1, (int) lround (CLAMP (fraction, 0.0, 1.0) * n_labeled / k));

  GArray *out = g_array_new (FALSE, FALSE, sizeof (int));
  for (int c = 0; c < k; c++)
    {
      /* One seeded order per class, independent of the size asked: the
       * prefixes nest. The class enters the seed so classes differ. */
      guint32 seed_words[3] = { (guint32) seed, (guint32) (seed >> 32), (guint32) c };
      g_autoptr(GRand) rand = g_rand_new_with_seed_array (seed_words, 3);
      int *items = by_class + start[c];
      int m = count[c];
      int want = all ? m : MIN (take, m);

      /* Partial Fisher-Yates from the front: the first `want` positions
       * are a prefix of the full shuffle. */
      for (int i = 0; i < want; i++)
        {
          int j = g_rand_int_range (rand, i, m);
          int t = items[i];
          items[i] = items[j];
          items[j] = t;
          g_array_append_val (out, items[i]);
        }
    }
  g_array_sort (out, cmp_int);
  *n_out = (int) out->len;
  return (int *) g_array_free (out, FALSE);
}

void
pt_subset_gather (float       *out,
                  const float *x,
                  int          d,
                  const int   *idx,
                  int          n_idx)
{
  for (int i = 0; i < n_idx; i++)
    memcpy (out + (gsize) i * d, x + (gsize) idx[i] * d, sizeof (float) * d);
}

void
pt_label_curve_options_init (PtLabelCurveOptions *options)
{
  static const double default_fractions[] = { 0.01, 0.1, 1.0 };

  g_return_if_fail (options != NULL);

  memset (options, 0, sizeof *options);
  options->fractions = default_fractions;
  options->n_points = G_N_ELEMENTS (default_fractions);
  options->run_probe = TRUE;
  options->run_knn = TRUE;
  options->knn_k = PT_KNN_DEFAULT_K;
  options->knn_t = PT_KNN_DEFAULT_T;
  pt_probe_options_init (&options->probe);
}

PtLabelCurvePoint *
pt_label_curve_run (const float               *train_x,
                    const int                 *train_y,
                    int                        n_train,
                    const float               *test_x,
                    const int                 *test_y,
                    int                        n_test,
                    int                        d,
                    int                        k,
                    const PtLabelCurveOptions *options,
                    GCancellable              *cancellable,
                    GError                   **error)
{
  g_return_val_if_fail (options != NULL, NULL);
  g_return_val_if_fail (options->fractions != NULL || options->per_class != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autofree PtLabelCurvePoint *points = g_new0 (PtLabelCurvePoint, MAX (options->n_points, 1));
  PtProbeOptions probe = options->probe;
  probe.seed = options->seed;

  for (int p = 0; p < options->n_points; p++)
    {
      PtLabelCurvePoint *pt = &points[p];
      int n_sub = 0;

      pt->fraction = options->fractions ? options->fractions[p] : 0.0;
      pt->per_class = options->per_class ? options->per_class[p] : 0;
      pt->probe_accuracy = NAN;
      pt->probe_c = NAN;
      pt->knn_accuracy = NAN;

      g_autofree int *idx = pt_subset_balanced (train_y, n_train, k, pt->fraction,
                                                pt->per_class, options->seed, &n_sub);
      pt->n_labeled = n_sub;
      if (n_sub < 2)
        {
          g_set_error (error, PT_PROBE_ERROR, PT_PROBE_ERROR_INVALID,
                       _("A labeled subset of %d items is too small for a probe"),
                       n_sub);
          return NULL;
        }
      g_autofree float *sx = g_new (float, (gsize) n_sub * d);
      g_autofree int *sy = g_new (int, n_sub);
      pt_subset_gather (sx, train_x, d, idx, n_sub);
      for (int i = 0; i < n_sub; i++)
        sy[i] = train_y[idx[i]];

      if (options->run_probe)
        {
          g_autoptr(PtProbeResult) res =
            pt_probe_run (sx, sy, n_sub, test_x, test_y, n_test, d, k, &probe,
                          cancellable, error);
          if (res == NULL)
            return NULL;
          pt->probe_accuracy = res->report->accuracy;
          pt->probe_c = res->c;
        }
      if (options->run_knn)
        {
          g_autoptr(PtKnnIndex) index = pt_knn_index_new (sx, n_sub, d);
          g_autoptr(PtKnnCache) cache =
            pt_knn_cache_new (index, test_x, n_test, options->knn_k, cancellable, error);
          if (cache == NULL)
            return NULL;
          g_autoptr(PtClassReport) rep =
            pt_knn_cache_evaluate (cache, sy, test_y, k, options->knn_k, options->knn_t);
          pt->knn_accuracy = rep->accuracy;
        }
    }
  return g_steal_pointer (&points);
}
