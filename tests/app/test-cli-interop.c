/* pretext-cli export (vit) and train --init end to end: an MAE run's vit
 * exported with the documented names; a SimCLR run exported, a new run
 * seeded from it (config.ini records the file and its SHA-256, and its
 * step-1 checkpoint exists); files that do not fit refused with exit 1, the
 * file named, and no run directory left behind. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "pt-safetensors.h"
#include "pt-test-cli.h"
#include "pt-test-util.h"

static char *home;

static char *
train (const char *name,
       const char *method,
       const char *init)
{
  char *out = g_build_filename (home, name, NULL);
  PtCliResult r;

  if (init != NULL)
    r = pt_test_run_cli ("train", "--method", method, "--dataset", "shapes", "--batch", "16",
                         "--width", "4", "--steps", "2", "--out", out, "--init", init, NULL);
  else
    r = pt_test_run_cli ("train", "--method", method, "--dataset", "shapes", "--batch", "16",
                         "--width", "4", "--steps", "2", "--out", out, NULL);
  if (r.status != 0)
    g_printerr ("%s", r.err);
  g_assert_cmpint (r.status, ==, 0);
  pt_cli_result_clear (&r);
  return out;
}

static char *
export (const char *run,
        const char *file)
{
  char *path = g_build_filename (home, file, NULL);
  PtCliResult r = pt_test_run_cli ("export", run, "--safetensors", path, "--json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();

  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (json_parser_get_root (parser)), "safetensors"), ==, path);
  pt_cli_result_clear (&r);
  return path;
}

static void
test_vit_export (void)
{
  g_autofree char *run = train ("mae", "mae", NULL);
  g_autofree char *path = export (run, "vit.safetensors");
  g_autoptr(PtSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  const char *names[] = { "encoder.patch_embed.weight", "encoder.patch_embed.bias",
                          "encoder.cls_token", "encoder.pos_embed",
                          "encoder.blocks.3.attn.in_proj_weight",
                          "encoder.blocks.3.attn.out_proj.bias", "encoder.blocks.3.mlp.0.weight",
                          "encoder.blocks.3.mlp.2.weight", "encoder.norm.weight" };
  const guint64 *shape;
  guint nd = 0;

  st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  /* patch_embed 2 + cls + pos + 4 blocks x 12 + norm 2 */
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, 54);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    g_assert_cmpint (pt_safetensors_lookup (st, names[i]), >=, 0);
  g_assert_cmpint (pt_safetensors_lookup (st, "decoder_embed.weight"), <, 0);
  shape = pt_safetensors_get_shape (st, pt_safetensors_lookup (st, "encoder.patch_embed.weight"),
                                    &nd);
  g_assert_cmpuint (nd, ==, 2);
  g_assert_cmpuint (shape[0], ==, 128);
  g_assert_cmpuint (shape[1], ==, 4 * 4 * 3);
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "encoder"), ==, "vit");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "input_shape"), ==, "3,32,32");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "heads"), ==, "4");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "method"), ==, "mae");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "step"), ==, "2");

  /* and a vit run can be seeded from it */
  {
    g_autofree char *seeded = train ("mae-seeded", "mae", path);
    g_autofree char *cfg = g_build_filename (seeded, "config.ini", NULL);
    g_autoptr(GKeyFile) kf = g_key_file_new ();
    g_autofree char *init = NULL;

    g_assert_true (g_key_file_load_from_file (kf, cfg, G_KEY_FILE_NONE, NULL));
    init = g_key_file_get_string (kf, "run", "init", NULL);
    g_assert_cmpstr (init, ==, path);
  }
}

static void
test_init (void)
{
  g_autofree char *run = train ("simclr", "simclr", NULL);
  g_autofree char *path = export (run, "cnn.safetensors");
  g_autofree char *seeded = train ("seeded", "simclr", path);
  g_autofree char *cfg = g_build_filename (seeded, "config.ini", NULL);
  g_autofree char *last = g_build_filename (seeded, "checkpoints", "last", NULL);
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autofree char *init = NULL, *sha = NULL, *contents = NULL, *want = NULL;
  gsize len = 0;

  g_assert_true (g_key_file_load_from_file (kf, cfg, G_KEY_FILE_NONE, NULL));
  init = g_key_file_get_string (kf, "run", "init", NULL);
  sha = g_key_file_get_string (kf, "run", "init_sha256", NULL);
  g_assert_cmpstr (init, ==, path);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  want = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
  g_assert_cmpstr (sha, ==, want);
  g_assert_true (g_file_test (last, G_FILE_TEST_EXISTS));
}

/* A run's embeddings written by embed, read back by inspect (the import
 * path of sets made elsewhere): same shape, every row labeled. */
static void
test_embed_inspect (void)
{
  g_autofree char *run = train ("simclr-embed", "simclr", NULL);
  g_autofree char *npy = g_build_filename (home, "emb.npy", NULL);
  g_autofree char *labels = g_build_filename (home, "emb.labels.npy", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_auto(GStrv) lines = NULL;
  PtCliResult r = pt_test_run_cli ("embed", run, "--out", npy, "--count", "200", "--json", NULL);
  JsonObject *o;
  gint64 n, dim;

  g_assert_cmpint (r.status, ==, 0);
  lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  g_assert_true (json_parser_load_from_data (parser, lines[g_strv_length (lines) - 1], -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  n = json_object_get_int_member (o, "n");
  dim = json_object_get_int_member (o, "dim");
  g_assert_cmpint (n, ==, 200);
  pt_cli_result_clear (&r);

  r = pt_test_run_cli ("inspect", npy, "--labels", labels, "--json", NULL);
  g_assert_cmpint (r.status, ==, 0);
  g_assert_true (json_parser_load_from_data (parser, r.out, -1, NULL));
  o = json_node_get_object (json_parser_get_root (parser));
  g_assert_cmpint (json_object_get_int_member (o, "rows"), ==, n);
  g_assert_cmpint (json_object_get_int_member (o, "dim"), ==, dim);
  g_assert_cmpint (json_object_get_int_member (o, "labeled"), ==, n);
  g_assert_true (json_object_has_member (o, "knn"));
  pt_cli_result_clear (&r);
}

static void
test_init_refused (void)
{
  g_autofree char *run = train ("simclr-w4", "simclr", NULL);
  g_autofree char *cnn = export (run, "w4.safetensors");
  g_autofree char *cut = g_build_filename (home, "cut.safetensors", NULL);
  g_autofree char *missing = g_build_filename (home, "missing.safetensors", NULL);
  g_autofree char *contents = NULL;
  gsize len = 0;
  struct { const char *method, *width, *file, *needle; } cases[] = {
    { "simclr", "8", cnn, "shape" },     /* another width */
    { "mae", "4", cnn, "vit" },          /* a cnn into a vit run */
    { "simclr", "4", cut, "" },          /* truncated */
    { "simclr", "4", missing, "" },      /* no such file */
  };

  g_assert_true (g_file_get_contents (cnn, &contents, &len, NULL));
  g_assert_true (g_file_set_contents (cut, contents, len - 100, NULL));
  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autofree char *out = g_build_filename (home, "refused", NULL);
      PtCliResult r = pt_test_run_cli ("train", "--method", cases[c].method, "--dataset",
                                       "shapes", "--batch", "16", "--width", cases[c].width,
                                       "--steps", "1", "--out", out, "--init", cases[c].file,
                                       NULL);

      g_assert_cmpint (r.status, ==, 1);
      g_assert_nonnull (strstr (r.err, cases[c].file));
      g_assert_nonnull (strstr (r.err, cases[c].needle));
      g_assert_cmpuint (pt_test_count_lines (r.err), ==, 1);
      g_assert_false (g_file_test (out, G_FILE_TEST_EXISTS));
      pt_cli_result_clear (&r);
    }

  {
    PtCliResult r = pt_test_run_cli ("train", "--resume", run, "--init", cnn, NULL);

    g_assert_cmpint (r.status, ==, 2);
    pt_cli_result_clear (&r);
  }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, NULL);
  home = g_dir_make_tmp ("pt-cli-interop-XXXXXX", NULL);
  g_setenv ("XDG_DATA_HOME", home, TRUE);
  g_test_add_func ("/app/cli-interop/vit-export", test_vit_export);
  g_test_add_func ("/app/cli-interop/init", test_init);
  g_test_add_func ("/app/cli-interop/init-refused", test_init_refused);
  g_test_add_func ("/app/cli-interop/embed-inspect", test_embed_inspect);
  status = g_test_run ();
  pt_test_remove_tree (home);
  g_free (home);
  return status;
}
