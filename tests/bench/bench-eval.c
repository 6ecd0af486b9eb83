/* bench-eval: timings of the evaluation library on Fashion-MNIST-sized
 * features, for the comparisons with scikit-learn in bench_*_sklearn.py.
 *
 * Features: a fixed random projection (GRand seed 1, N(0, 1/784)) of the
 * Fashion-MNIST pixels scaled to [0, 1], then ReLU, 128-d. The IDX files are
 * read here directly (gzip through GZlibDecompressor).
 *
 *   bench-eval probe [--c C] [--dump DIR]   single fit at C + full probe
 *   bench-eval knn                          10k test against 60k train
 *   bench-eval tsne [--n N] [--dump DIR]    1000 iterations on N test items
 *   bench-eval tsne-kl --n N --layout FILE  our KL of a given layout (N x 2
 *                                           float32, e.g. scikit-learn's)
 * Results: one JSON object on stdout.
 */
#include <cblas.h>
#include <gio/gio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pt-knn.h"
#include "pt-probe.h"
#include "pt-threads.h"
#include "pt-tsne.h"

#define DIM 128

static guint8 *
read_idx (const char *path, guint32 expect_magic, int *count, int *item_size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GInputStream) raw = G_INPUT_STREAM (g_file_read (file, NULL, &error));
  if (raw == NULL)
    g_error ("%s: %s", path, error->message);
  g_autoptr(GZlibDecompressor) dec = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP);
  g_autoptr(GInputStream) in = g_converter_input_stream_new (raw, G_CONVERTER (dec));
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[65536];
  gssize got;
  while ((got = g_input_stream_read (in, chunk, sizeof chunk, NULL, &error)) > 0)
    g_byte_array_append (buf, chunk, got);
  if (got < 0)
    g_error ("%s: %s", path, error->message);
  if (buf->len < 8)
    g_error ("%s: too short", path);
  guint32 magic = GUINT32_FROM_BE (*(guint32 *) buf->data);
  if (magic != expect_magic)
    g_error ("%s: bad magic %08x", path, magic);
  int ndim = magic & 0xff;
  gsize size = 1;
  *count = (int) GUINT32_FROM_BE (*(guint32 *) (buf->data + 4));
  for (int i = 1; i < ndim; i++)
    size *= GUINT32_FROM_BE (*(guint32 *) (buf->data + 4 + 4 * i));
  *item_size = (int) size;
  gsize header = 4 + 4 * ndim;
  if (buf->len != header + (gsize) *count * size)
    g_error ("%s: size mismatch", path);
  return g_memdup2 (buf->data + header, buf->len - header);
}

static const char *
data_dir (void)
{
  const char *d = g_getenv ("PRETEXT_DATA");
  return d ? d : "/usr/share/datasets/fashion-mnist";
}

/* Loads a split and turns it into DIM-d features. */
static float *
load_features (const char *split, int *n_out, int **labels_out)
{
  g_autofree char *ip = g_strdup_printf ("%s/%s-images-idx3-ubyte.gz", data_dir (), split);
  g_autofree char *lp = g_strdup_printf ("%s/%s-labels-idx1-ubyte.gz", data_dir (), split);
  int n, px, nl, one;
  g_autofree guint8 *img = read_idx (ip, 0x00000803, &n, &px);
  g_autofree guint8 *lab = read_idx (lp, 0x00000801, &nl, &one);
  g_assert (n == nl);

  /* The projection: the same for both splits (seed 1). */
  g_autoptr(GRand) rand = g_rand_new_with_seed (1);
  g_autofree float *proj = g_new (float, (gsize) px * DIM);
  double s = 1.0 / sqrt (px);
  for (int i = 0; i < px * DIM; i++)
    {
      double u1 = g_rand_double_range (rand, 1e-12, 1.0), u2 = g_rand_double (rand);
      proj[i] = (float) (s * sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2));
    }
  float *feat = g_new (float, (gsize) n * DIM);
  g_autofree float *pix = g_new (float, (gsize) n * px);
  for (gsize i = 0; i < (gsize) n * px; i++)
    pix[i] = img[i] / 255.0f;
  cblas_sgemm (CblasRowMajor, CblasNoTrans, CblasNoTrans, n, DIM, px, 1.0f,
               pix, px, proj, DIM, 0.0f, feat, DIM);
  for (gsize i = 0; i < (gsize) n * DIM; i++)
    feat[i] = feat[i] > 0.0f ? feat[i] : 0.0f;
  *labels_out = g_new (int, n);
  for (int i = 0; i < n; i++)
    (*labels_out)[i] = lab[i];
  *n_out = n;
  return feat;
}

static void
dump (const char *dir, const char *name, const void *data, gsize size)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents (path, data, size, &error))
    g_error ("%s", error->message);
}

static gboolean
trace_cb (int iter, double f, double gmax, gpointer data)
{
  if (iter % 10 == 0)
    fprintf (stderr, "iter %d f %.8f gmax %.3g\n", iter, f, gmax);
  return TRUE;
}

static int bench_max_iter = 100;
static double bench_ftol = 0.0;
static gboolean bench_trace = FALSE;

static int
bench_probe (double c, const char *dump_dir)
{
  int n, nt;
  g_autofree int *y = NULL, *yt = NULL;
  g_autofree float *x = load_features ("train", &n, &y);
  g_autofree float *xt = load_features ("t10k", &nt, &yt);
  g_autoptr(GError) error = NULL;

  if (dump_dir)
    {
      dump (dump_dir, "train_x.f32", x, sizeof (float) * n * DIM);
      dump (dump_dir, "train_y.i32", y, sizeof (int) * n);
      dump (dump_dir, "test_x.f32", xt, sizeof (float) * nt * DIM);
      dump (dump_dir, "test_y.i32", yt, sizeof (int) * nt);
    }

  /* 1. One fit at C, like scikit-learn's fit (standardize + lbfgs). */
  PtProbeOptions opt;
  pt_probe_options_init (&opt);
  opt.c = c;
  opt.lbfgs.max_iter = bench_max_iter;
  if (bench_ftol > 0.0)
    opt.lbfgs.ftol = bench_ftol;
  if (bench_trace)
    {
      /* Trace only: skip the search. */
      PtLbfgsResult lr;
      g_autoptr(PtStandardizer) st = pt_standardizer_fit (x, n, DIM);
      pt_standardizer_apply (st, x, x, n);
      pt_standardizer_apply (st, xt, xt, nt);
      clock_t tc0 = clock ();
      g_autoptr(PtLinearModel) m = pt_logreg_fit (x, y, n, DIM, 10, c, NULL, &opt.lbfgs, trace_cb, NULL, &lr, NULL, &error);
      double fit_cpu = (double) (clock () - tc0) / CLOCKS_PER_SEC;
      g_autofree int *pred = g_new (int, nt);
      pt_linear_model_predict (m, pred, xt, nt);
      int ok = 0;
      for (int i = 0; i < nt; i++)
        ok += pred[i] == yt[i];
      printf ("{\"iters\": %d, \"evals\": %d, \"status\": %d, \"f\": %.8f, \"accuracy\": %.4f, "
              "\"fit_cpu_seconds\": %.3f}\n",
              lr.n_iter, lr.n_eval, lr.status, lr.f, (double) ok / nt, fit_cpu);
      return 0;
    }
  clock_t c0 = clock ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(PtProbeResult) r1 = pt_probe_run (x, y, n, xt, yt, nt, DIM, 10, &opt, NULL, &error);
  g_assert_no_error (error);
  double t_fit = (g_get_monotonic_time () - t0) / 1e6;
  double cpu_fit = (double) (clock () - c0) / CLOCKS_PER_SEC;

  /* 2. The full probe: C searched on a validation split, then refit. */
  pt_probe_options_init (&opt);
  t0 = g_get_monotonic_time ();
  g_autoptr(PtProbeResult) r2 = pt_probe_run (x, y, n, xt, yt, nt, DIM, 10, &opt, NULL, &error);
  g_assert_no_error (error);
  double t_search = (g_get_monotonic_time () - t0) / 1e6;

  printf ("{\"threads\": %d, \"n_train\": %d, \"n_test\": %d, \"dim\": %d, "
          "\"C\": %g, \"fit_seconds\": %.3f, \"fit_cpu_seconds\": %.3f, \"fit_accuracy\": %.4f, \"fit_iters\": %d, "
          "\"fit_objective\": %.6f, "
          "\"search_seconds\": %.3f, \"search_C\": %g, \"search_accuracy\": %.4f}\n",
          pt_threads_get (), n, nt, DIM, c, t_fit, cpu_fit, r1->report->accuracy, r1->n_iter,
          r1->train_loss, t_search, r2->c, r2->report->accuracy);
  return 0;
}

static int
bench_knn (void)
{
  int n, nt;
  g_autofree int *y = NULL, *yt = NULL;
  g_autofree float *x = load_features ("train", &n, &y);
  g_autofree float *xt = load_features ("t10k", &nt, &yt);
  g_autoptr(GError) error = NULL;

  clock_t c0 = clock ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(PtKnnIndex) index = pt_knn_index_new (x, n, DIM);
  g_autoptr(PtKnnCache) cache = pt_knn_cache_new (index, xt, nt, PT_KNN_DEFAULT_CACHE_K, NULL, &error);
  g_assert_no_error (error);
  g_autoptr(PtClassReport) rep = pt_knn_cache_evaluate (cache, y, yt, 10, 20, 0.07);
  double t_all = (g_get_monotonic_time () - t0) / 1e6;
  double cpu_all = (double) (clock () - c0) / CLOCKS_PER_SEC;

  t0 = g_get_monotonic_time ();
  g_autoptr(PtClassReport) rep2 = pt_knn_cache_evaluate (cache, y, yt, 10, 200, 0.5);
  double t_rescore = (g_get_monotonic_time () - t0) / 1e6;

  printf ("{\"threads\": %d, \"n_train\": %d, \"n_queries\": %d, \"dim\": %d, "
          "\"cache_k\": %d, \"seconds\": %.3f, \"cpu_seconds\": %.3f, \"accuracy_k20_t0.07\": %.4f, "
          "\"rescore_seconds\": %.4f, \"accuracy_k200_t0.5\": %.4f}\n",
          pt_threads_get (), n, nt, DIM, PT_KNN_DEFAULT_CACHE_K, t_all, cpu_all,
          rep->accuracy, t_rescore, rep2->accuracy);
  return 0;
}

static int
bench_tsne (int n_points, const char *dump_dir, const char *layout_file)
{
  int nt;
  g_autofree int *yt = NULL;
  g_autofree float *xt = load_features ("t10k", &nt, &yt);
  g_autoptr(GError) error = NULL;
  n_points = MIN (n_points, nt);

  if (dump_dir)
    {
      dump (dump_dir, "tsne_x.f32", xt, sizeof (float) * n_points * DIM);
      dump (dump_dir, "tsne_y.i32", yt, sizeof (int) * n_points);
    }
  clock_t c0 = clock ();
  gint64 t0 = g_get_monotonic_time ();
  g_autoptr(PtTsne) tsne = pt_tsne_new (xt, n_points, DIM, NULL, NULL, &error);
  g_assert_no_error (error);
  double t_aff = (g_get_monotonic_time () - t0) / 1e6;

  if (layout_file)
    {
      gsize len = 0;
      g_autofree char *data = NULL;
      if (!g_file_get_contents (layout_file, &data, &len, &error))
        g_error ("%s", error->message);
      g_assert (len == sizeof (float) * 2 * n_points);
      printf ("{\"kl\": %.6f}\n", pt_tsne_kl_divergence_of (tsne, (const float *) data));
      return 0;
    }

  double kl250 = 0.0;
  for (int done = 0; done < 1000; done += 50)
    {
      pt_tsne_step (tsne, 50, NULL, NULL);
      if (done + 50 == 250)
        {
          gint64 tk = g_get_monotonic_time ();
          kl250 = pt_tsne_kl_divergence (tsne);
          t0 += g_get_monotonic_time () - tk; /* not part of the run */
        }
    }
  double t_total = (g_get_monotonic_time () - t0) / 1e6;
  double cpu_total = (double) (clock () - c0) / CLOCKS_PER_SEC; /* incl. affinities and the KL at 250 */
  gint64 tk = g_get_monotonic_time ();
  double kl = pt_tsne_kl_divergence (tsne);
  double t_kl = (g_get_monotonic_time () - tk) / 1e6;
  if (dump_dir)
    dump (dump_dir, "tsne_ours.f32", pt_tsne_get_layout (tsne), sizeof (float) * 2 * n_points);
  printf ("{\"threads\": %d, \"n\": %d, \"dim\": %d, \"affinity_seconds\": %.3f, "
          "\"total_seconds\": %.3f, \"cpu_seconds_all\": %.3f, \"kl_250\": %.6f, \"kl\": %.6f, \"kl_seconds\": %.3f}\n",
          pt_threads_get (), n_points, DIM, t_aff, t_total, cpu_total, kl250, kl, t_kl);
  return 0;
}

int
main (int argc, char **argv)
{
  double c = 1.0;
  int n = 10000;
  int threads = 2;
  g_autofree char *dump_dir = NULL;
  g_autofree char *layout = NULL;
  GOptionEntry entries[] = {
    { "c", 0, 0, G_OPTION_ARG_DOUBLE, &c, "C of the single fit", "C" },
    { "n", 0, 0, G_OPTION_ARG_INT, &n, "t-SNE points", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "threads", "T" },
    { "max-iter", 0, 0, G_OPTION_ARG_INT, &bench_max_iter, "L-BFGS iterations", "N" },
    { "ftol", 0, 0, G_OPTION_ARG_DOUBLE, &bench_ftol, "L-BFGS relative f tolerance", "F" },
    { "trace", 0, 0, G_OPTION_ARG_NONE, &bench_trace, "trace one fit", NULL },
    { "dump", 0, 0, G_OPTION_ARG_FILENAME, &dump_dir, "write inputs here", "DIR" },
    { "layout", 0, 0, G_OPTION_ARG_FILENAME, &layout, "layout for tsne-kl", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("probe|knn|tsne|tsne-kl");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc != 2)
    {
      fprintf (stderr, "usage: bench-eval probe|knn|tsne|tsne-kl [options]\n");
      return 2;
    }
  pt_threads_set (threads);
  if (g_str_equal (argv[1], "probe"))
    return bench_probe (c, dump_dir);
  if (g_str_equal (argv[1], "knn"))
    return bench_knn ();
  if (g_str_equal (argv[1], "tsne"))
    return bench_tsne (n, dump_dir, NULL);
  if (g_str_equal (argv[1], "tsne-kl") && layout)
    return bench_tsne (n, NULL, layout);
  fprintf (stderr, "usage: bench-eval probe|knn|tsne|tsne-kl [options]\n");
  return 2;
}
