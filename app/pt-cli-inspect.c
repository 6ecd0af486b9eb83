/* pt-cli-inspect.c: `pretext-cli inspect FILE.npy`, embeddings made
 * elsewhere (a GPU cluster, another library) looked at with Pretext's tools.
 *
 *   pretext-cli inspect FILE.npy [--labels FILE] [--images DIR]
 *                       [--knn-k K] [--knn-t T] [--seed S]
 *                       [--neighbours I] [--count N]
 *                       [--pca OUT.csv] [--tsne OUT.csv] [--json]
 *
 * The set is read by pt_embedding_set_load (a float .npy N x D; labels from
 * a .npy of integers or a one-column text file; images from a folder, in
 * sorted order). It prints the shape and the label counts, and when labels
 * exist the kNN accuracy (LEAVE-ONE-OUT over the labeled rows) and the
 * linear-probe accuracy (a SEEDED random 80/20 split, --seed, default 0) of
 * pt-embedding-eval.h.
 * --neighbours I lists the --count (5) rows most similar to row I (cosine).
 * --pca / --tsne write a 2-D layout as CSV: index,x,y,label[,image],
 * atomically.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-atomic.h"
#include "pt-build-config.h"
#include "pt-cli.h"
#include "pt-embedding-eval.h"
#include "pt-knn.h"
#include "pt-pca.h"
#include "pt-tsne.h"

#define TSNE_ITERATIONS 1000

typedef struct {
  int     n_labeled;
  double  knn_accuracy;    /* NAN when not computed */
  double  probe_accuracy;  /* NAN when not computed */
  int     probe_train, probe_test;
  double  probe_c;
} InspectScores;

static const char *
label_name (const PtEmbeddingSet *set,
            int                   label,
            char                  buf[32])
{
  if (label < 0)
    return "";
  if (set->labels->class_names != NULL)
    return set->labels->class_names[label];
  g_snprintf (buf, 32, "%d", label);
  return buf;
}

/* index,x,y,label[,image] with g_ascii_dtostr numbers; atomic. */
static gboolean
write_layout (const char           *path,
              const PtEmbeddingSet *set,
              const float          *xy,
              GError              **error)
{
  g_autoptr(GString) csv = g_string_new (set->image_paths != NULL ? "index,x,y,label,image\n"
                                                                   : "index,x,y,label\n");

  for (guint i = 0; i < set->n; i++)
    {
      char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], lb[32];
      const char *label = set->labels != NULL ? label_name (set, set->labels->values[i], lb) : "";
      g_autofree char *quoted = NULL;

      g_ascii_dtostr (a, sizeof a, xy[2 * i]);
      g_ascii_dtostr (b, sizeof b, xy[2 * i + 1]);
      /* CSV: a field with a comma, quote or newline is quoted */
      if (strpbrk (label, ",\"\n") != NULL)
        {
          g_auto(GStrv) parts = g_strsplit (label, "\"", -1);
          g_autofree char *joined = g_strjoinv ("\"\"", parts);

          quoted = g_strdup_printf ("\"%s\"", joined);
        }
      g_string_append_printf (csv, "%u,%s,%s,%s", i, a, b, quoted != NULL ? quoted : label);
      if (set->image_paths != NULL)
        {
          g_autofree char *base = g_path_get_basename (set->image_paths[i]);

          g_string_append_printf (csv, ",%s", base);
        }
      g_string_append_c (csv, '\n');
    }
  return pt_atomic_write_contents (path, csv->str, csv->len, error);
}

static float *
layout_pca (const PtEmbeddingSet *set,
            GError              **error)
{
  g_autoptr(PtPca) pca = NULL;
  float *xy;

  if (set->n < 2 || set->d < 2)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("A PCA layout needs at least 2 rows and 2 columns, not %u × %u."),
                   set->n, set->d);
      return NULL;
    }
  pca = pt_pca_fit (set->data, (int) set->n, (int) set->d, 2, error);
  if (pca == NULL)
    return NULL;
  xy = g_new (float, (gsize) set->n * 2);
  pt_pca_transform (pca, xy, set->data, (int) set->n);
  return xy;
}

static float *
layout_tsne (const PtEmbeddingSet *set,
             guint64               seed,
             GError              **error)
{
  g_autoptr(PtTsne) tsne = NULL;
  PtTsneOptions options;

  if (set->n < 4)
    {
      g_set_error (error, PT_EMBEDDING_SET_ERROR, PT_EMBEDDING_SET_ERROR_INVALID,
                   _("A t-SNE layout needs at least 4 rows, not %u."), set->n);
      return NULL;
    }
  pt_tsne_options_init (&options);
  /* The perplexity must stay well below the number of points. */
  options.perplexity = MIN (options.perplexity, MAX (1.0, (set->n - 1) / 3.0));
  options.seed = seed;
  tsne = pt_tsne_new (set->data, (int) set->n, (int) set->d, &options, NULL, error);
  if (tsne == NULL || !pt_tsne_step (tsne, TSNE_ITERATIONS, NULL, error))
    return NULL;
  return g_memdup2 (pt_tsne_get_layout (tsne), (gsize) set->n * 2 * sizeof (float));
}

int
pt_cli_inspect_main (int    argc,
                     char **argv)
{
  g_autofree char *labels_path = NULL;
  g_autofree char *images_dir = NULL;
  g_autofree char *pca_out = NULL;
  g_autofree char *tsne_out = NULL;
  gint64 seed = 0, neighbour = -1;
  int knn_k = PT_KNN_DEFAULT_K, count = 5;
  double knn_t = PT_KNN_DEFAULT_T;
  gboolean json = FALSE;
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PtEmbeddingSet) set = NULL;
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree int *rows = NULL;
  g_autofree guint *class_counts = NULL;
  g_autofree int *nb_idx = NULL;
  g_autofree float *nb_sim = NULL;
  InspectScores scores = { 0, NAN, NAN, 0, 0, 0 };
  int n_nb = 0;
  const char *path;
  const GOptionEntry entries[] = {
    { "labels", 0, 0, G_OPTION_ARG_FILENAME, &labels_path, N_("Labels: a .npy of integers or a text file with one label per line"), N_("FILE") },
    { "images", 0, 0, G_OPTION_ARG_FILENAME, &images_dir, N_("A folder of PNG/JPEG images in the rows’ order (sorted by name)"), N_("DIR") },
    { "knn-k", 0, 0, G_OPTION_ARG_INT, &knn_k, N_("Neighbours that vote in the kNN accuracy (default 20)"), N_("K") },
    { "knn-t", 0, 0, G_OPTION_ARG_DOUBLE, &knn_t, N_("Temperature of the kNN vote (default 0.07)"), N_("T") },
    { "seed", 0, 0, G_OPTION_ARG_INT64, &seed, N_("Seed of the probe’s 80/20 split and of t-SNE (default 0)"), N_("S") },
    { "neighbours", 0, 0, G_OPTION_ARG_INT64, &neighbour, N_("List the rows nearest to row I"), N_("I") },
    { "count", 0, 0, G_OPTION_ARG_INT, &count, N_("How many neighbours to list (default 5)"), N_("N") },
    { "pca", 0, 0, G_OPTION_ARG_FILENAME, &pca_out, N_("Write a 2-D PCA layout as CSV"), N_("OUT.csv") },
    { "tsne", 0, 0, G_OPTION_ARG_FILENAME, &tsne_out, N_("Write a 2-D t-SNE layout as CSV"), N_("OUT.csv") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print the result as JSON"), NULL },
    { NULL }
  };

  context = g_option_context_new (_("FILE.npy — look at embeddings made elsewhere"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!pt_cli_parse (context, &argc, &argv, "inspect"))
    return PT_EXIT_USAGE;
  if (argc < 2)
    return pt_cli_usage_error ("inspect", _("the embeddings file (.npy) is required"));
  if (argc > 2)
    return pt_cli_usage_error ("inspect", _("unexpected argument “%s”"), argv[2]);
  if (knn_k < 1 || knn_k > 1000)
    return pt_cli_usage_error ("inspect", _("--knn-k must be between 1 and 1000"));
  if (!(knn_t > 0) || !isfinite (knn_t))
    return pt_cli_usage_error ("inspect", _("--knn-t must be positive"));
  if (count < 1 || count > 1000)
    return pt_cli_usage_error ("inspect", _("--count must be between 1 and 1000"));
  if (seed < 0)
    return pt_cli_usage_error ("inspect", _("--seed must not be negative"));
  path = argv[1];

  set = pt_embedding_set_load (path, labels_path, images_dir, &error);
  if (set == NULL)
    return pt_cli_report_error ("inspect", error);
  if (neighbour >= (gint64) set->n)
    {
      g_printerr (_("pretext-cli inspect: there is no row %lld in “%s”, which has %u rows.\n"),
                  (long long) neighbour, path, set->n);
      return PT_EXIT_INPUT;
    }

  if (set->labels != NULL)
    {
      int n = 0;

      rows = pt_embedding_set_labeled_rows (set, &n);
      scores.n_labeled = n;
      class_counts = g_new0 (guint, MAX (set->labels->n_classes, 1));
      for (int i = 0; i < n; i++)
        class_counts[set->labels->values[rows[i]]]++;
      if (n >= 2 && !pt_embedding_set_knn_accuracy (set, knn_k, knn_t, &scores.knn_accuracy,
                                                    NULL, &error))
        return pt_cli_report_error ("inspect", error);
      if (n >= 10 && set->labels->n_classes >= 2)
        {
          g_autoptr(PtProbeResult) probe = pt_embedding_set_probe (set, (guint64) seed, NULL,
                                                                   &error);

          if (probe == NULL)
            return pt_cli_report_error ("inspect", error);
          scores.probe_accuracy = probe->report->accuracy;
          scores.probe_train = probe->n_train;
          scores.probe_test = probe->n_test;
          scores.probe_c = probe->c;
        }
    }

  if (neighbour >= 0)
    {
      g_autoptr(PtKnnIndex) index = pt_knn_index_new (set->data, (int) set->n, (int) set->d);

      n_nb = MIN (count, (int) set->n - 1);
      nb_idx = g_new (int, MAX (n_nb, 1));
      nb_sim = g_new (float, MAX (n_nb, 1));
      if (n_nb > 0)
        pt_knn_index_neighbours (index, (int) neighbour, n_nb, nb_idx, nb_sim);
    }

  if (pca_out != NULL)
    {
      g_autofree float *xy = layout_pca (set, &error);

      if (xy == NULL || !write_layout (pca_out, set, xy, &error))
        return pt_cli_report_error ("inspect", error);
    }
  if (tsne_out != NULL)
    {
      g_autofree float *xy = layout_tsne (set, (guint64) seed, &error);

      if (xy == NULL || !write_layout (tsne_out, set, xy, &error))
        return pt_cli_report_error ("inspect", error);
    }

  if (json)
    {
      json_builder_begin_object (b);
      json_builder_set_member_name (b, "file");
      json_builder_add_string_value (b, path);
      json_builder_set_member_name (b, "rows");
      json_builder_add_int_value (b, set->n);
      json_builder_set_member_name (b, "dim");
      json_builder_add_int_value (b, set->d);
      json_builder_set_member_name (b, "images");
      json_builder_add_boolean_value (b, set->image_paths != NULL);
      if (set->labels != NULL)
        {
          json_builder_set_member_name (b, "labeled");
          json_builder_add_int_value (b, scores.n_labeled);
          json_builder_set_member_name (b, "classes");
          json_builder_begin_array (b);
          for (guint c = 0; c < set->labels->n_classes; c++)
            {
              char lb[32];

              json_builder_begin_object (b);
              json_builder_set_member_name (b, "name");
              json_builder_add_string_value (b, label_name (set, (int) c, lb));
              json_builder_set_member_name (b, "count");
              json_builder_add_int_value (b, class_counts[c]);
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          if (!isnan (scores.knn_accuracy))
            {
              json_builder_set_member_name (b, "knn");
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "protocol");
              json_builder_add_string_value (b, "leave-one-out");
              json_builder_set_member_name (b, "k");
              json_builder_add_int_value (b, knn_k);
              json_builder_set_member_name (b, "t");
              json_builder_add_double_value (b, knn_t);
              json_builder_set_member_name (b, "accuracy");
              json_builder_add_double_value (b, scores.knn_accuracy);
              json_builder_end_object (b);
            }
          if (!isnan (scores.probe_accuracy))
            {
              json_builder_set_member_name (b, "probe");
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "protocol");
              json_builder_add_string_value (b, "seeded 80/20 split");
              json_builder_set_member_name (b, "seed");
              json_builder_add_int_value (b, seed);
              json_builder_set_member_name (b, "train");
              json_builder_add_int_value (b, scores.probe_train);
              json_builder_set_member_name (b, "test");
              json_builder_add_int_value (b, scores.probe_test);
              json_builder_set_member_name (b, "c");
              json_builder_add_double_value (b, scores.probe_c);
              json_builder_set_member_name (b, "accuracy");
              json_builder_add_double_value (b, scores.probe_accuracy);
              json_builder_end_object (b);
            }
        }
      if (neighbour >= 0)
        {
          json_builder_set_member_name (b, "neighbours");
          json_builder_begin_object (b);
          json_builder_set_member_name (b, "of");
          json_builder_add_int_value (b, neighbour);
          json_builder_set_member_name (b, "items");
          json_builder_begin_array (b);
          for (int i = 0; i < n_nb; i++)
            {
              json_builder_begin_object (b);
              json_builder_set_member_name (b, "index");
              json_builder_add_int_value (b, nb_idx[i]);
              json_builder_set_member_name (b, "similarity");
              json_builder_add_double_value (b, nb_sim[i]);
              if (set->labels != NULL && set->labels->values[nb_idx[i]] >= 0)
                {
                  char lb[32];

                  json_builder_set_member_name (b, "label");
                  json_builder_add_string_value (b, label_name (set, set->labels->values[nb_idx[i]], lb));
                }
              if (set->image_paths != NULL)
                {
                  json_builder_set_member_name (b, "image");
                  json_builder_add_string_value (b, set->image_paths[nb_idx[i]]);
                }
              json_builder_end_object (b);
            }
          json_builder_end_array (b);
          json_builder_end_object (b);
        }
      if (pca_out != NULL)
        {
          json_builder_set_member_name (b, "pca");
          json_builder_add_string_value (b, pca_out);
        }
      if (tsne_out != NULL)
        {
          json_builder_set_member_name (b, "tsne");
          json_builder_add_string_value (b, tsne_out);
        }
      json_builder_end_object (b);
      pt_cli_print_json_builder (b);
      return PT_EXIT_OK;
    }

  printf (_("%s: %u embeddings of dimension %u\n"), path, set->n, set->d);
  if (set->image_paths != NULL)
    printf (_("Images: %u files in %s\n"), set->n, images_dir);
  if (set->labels != NULL)
    {
      printf (_("Labels: %d of %u rows labeled, %u classes\n"), scores.n_labeled, set->n,
              set->labels->n_classes);
      for (guint c = 0; c < set->labels->n_classes; c++)
        {
          char lb[32];

          printf ("  %-20s %u\n", label_name (set, (int) c, lb), class_counts[c]);
        }
      if (!isnan (scores.knn_accuracy))
        printf (_("kNN accuracy (leave-one-out, k %d, T %g): %.2f%%\n"), knn_k, knn_t,
                100.0 * scores.knn_accuracy);
      if (!isnan (scores.probe_accuracy))
        printf (_("Linear probe accuracy (seeded 80/20 split, seed %lld: %d train, %d test, C %g): %.2f%%\n"),
                (long long) seed, scores.probe_train, scores.probe_test, scores.probe_c,
                100.0 * scores.probe_accuracy);
    }
  else
    printf (_("No labels: give --labels FILE for the kNN and linear-probe accuracy.\n"));
  if (neighbour >= 0)
    {
      printf (_("Nearest to row %lld (cosine similarity):\n"), (long long) neighbour);
      for (int i = 0; i < n_nb; i++)
        {
          char lb[32];

          printf ("  %6d  %.4f", nb_idx[i], nb_sim[i]);
          if (set->labels != NULL)
            printf ("  %s", label_name (set, set->labels->values[nb_idx[i]], lb));
          if (set->image_paths != NULL)
            printf ("  %s", set->image_paths[nb_idx[i]]);
          printf ("\n");
        }
    }
  if (pca_out != NULL)
    printf (_("Wrote the PCA layout to %s.\n"), pca_out);
  if (tsne_out != NULL)
    printf (_("Wrote the t-SNE layout to %s.\n"), tsne_out);
  return PT_EXIT_OK;
}
