/* Tests for pt-encoder: cnn and vit taken out of real methods match the
 * methods' features; safetensors round trips; a method seeded from an
 * exported file has the exported features bit for bit (SimCLR, MoCo's key
 * encoder too, MAE); hostile and mismatched files are refused before any
 * weight changes; and the PyTorch-made vit fixture
 * (tests/fixtures/make_export_check.py) is matched within 1e-4. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-encoder.h"
#include "pt-methods.h"
#include "pt-npy.h"
#include "pt-safetensors.h"
#include "pt-test-files.h"
#include "pt-test-method.h"
#include "pt-threads.h"
#include "pt-train-spec.h"
#include "pt-features.h"
#include "pt-run-export.h"
#include <signal.h>

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");

  g_assert_nonnull (dir);
  return g_build_filename (dir, "export", name, NULL);
}

static PtMethod *
make_method (const char *name,
             const char *encoder,
             int         channels,
             int         size,
             int         width,
             guint64     seed)
{
  PtMethodConfig config = { 0 };
  g_autoptr(GError) error = NULL;
  PtMethod *m;

  config.channels = channels;
  config.height = size;
  config.width = size;
  config.batch_size = 8;
  config.seed = seed;
  config.encoder = encoder;
  config.encoder_width = width;
  m = pt_method_new (name, &config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (m);
  return m;
}

static float *
probe_images (int    n,
              gsize  per)
{
  float *images = g_new (float, n * per);
  PtRng rng;

  pt_rng_init (&rng, 99);
  for (gsize i = 0; i < n * per; i++)
    images[i] = pt_rng_range (&rng, -1.0f, 1.0f);
  return images;
}

static float *
method_features (PtMethod *m,
                 const float *images,
                 int          n)
{
  g_autoptr(GError) error = NULL;
  float *f = g_new (float, (gsize) n * pt_method_get_feature_dim (m));

  g_assert_true (pt_method_embed (m, images, n, f, &error));
  g_assert_no_error (error);
  return f;
}

/* Export a's encoder, seed b (same layout, other seed) from it: b's
 * features become a's exactly. */
static void
check_seed_round_trip (const char *method,
                       const char *encoder,
                       int         channels,
                       int         size)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "enc.safetensors", NULL);
  g_autoptr(PtMethod) a = make_method (method, encoder, channels, size, 4, 1);
  g_autoptr(PtMethod) b = make_method (method, encoder, channels, size, 4, 2);
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(GError) error = NULL;
  gsize per = (gsize) channels * size * size;
  int n = 6, dim = pt_method_get_feature_dim (a);
  g_autofree float *images = probe_images (n, per);
  g_autofree float *fa = NULL, *fb = NULL, *fb2 = NULL, *fe = NULL;
  const char *meta[] = { "method", method, NULL };

  enc = pt_encoder_from_method (a, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (pt_encoder_get_kind_name (enc), ==, encoder);
  g_assert_true (pt_encoder_save_safetensors (enc, path, meta, 3, &error));
  g_assert_no_error (error);

  fa = method_features (a, images, n);
  fb = method_features (b, images, n);
  g_assert_true (memcmp (fa, fb, (gsize) n * dim * sizeof (float)) != 0);
  fe = g_new (float, (gsize) n * dim);
  pt_encoder_embed (enc, images, n, fe);
  for (gsize i = 0; i < (gsize) n * dim; i++)
    g_assert_cmpfloat (fabs (fe[i] - fa[i]), <=, 1e-5);

  g_assert_true (pt_encoder_seed_method (b, path, &error));
  g_assert_no_error (error);
  fb2 = method_features (b, images, n);
  g_assert_cmpmem (fa, (gsize) n * dim * sizeof (float), fb2, (gsize) n * dim * sizeof (float));
  pt_test_rm_rf (dir);
}

static void
test_seed_simclr_cnn (void)
{
  check_seed_round_trip ("simclr", "cnn", 3, 16);
}

static void
test_seed_mae_vit (void)
{
  check_seed_round_trip ("mae", "vit", 1, 28);
}

/* MoCo's key encoder starts as a copy of the query encoder: seeding puts
 * the file's weights in both, so the two encoders are equal again. */
static void
test_seed_moco_key (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "enc.safetensors", NULL);
  g_autoptr(PtMethod) a = make_method ("moco", "cnn", 3, 16, 4, 1);
  g_autoptr(PtMethod) b = make_method ("moco", "cnn", 3, 16, 4, 2);
  g_autoptr(PtEncoder) enc = NULL;
  g_autoptr(GArray) blobs = NULL;
  g_autoptr(GError) error = NULL;
  guint seen = 0;

  enc = pt_encoder_from_method (a, &error);
  g_assert_no_error (error);
  g_assert_true (pt_encoder_save_safetensors (enc, path, NULL, 0, &error));
  g_assert_true (pt_encoder_seed_method (b, path, &error));
  g_assert_no_error (error);
  blobs = pt_method_list_state (b);
  for (guint i = 0; i < blobs->len; i++)
    {
      const PtBlob *blob = &g_array_index (blobs, PtBlob, i);

      if (blob->type != PT_BLOB_F32 || !g_str_has_suffix (blob->name, "params"))
        continue;
      /* every tensor (not the alignment padding between them) */
      for (guint t = 0; t < pt_params_get_n (enc->params); t++)
        {
          const PtParamInfo *info = pt_params_get_info (enc->params, t);

          g_assert_cmpmem ((float *) blob->data + info->offset, info->numel * sizeof (float),
                           pt_params_data (enc->params, t), info->numel * sizeof (float));
        }
      seen++;
    }
  g_assert_cmpuint (seen, ==, 2);
  pt_test_rm_rf (dir);
}

static void
test_vit_round_trip (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "vit.safetensors", NULL);
  g_autoptr(PtEncoder) a = NULL;
  g_autoptr(PtEncoder) b = NULL;
  g_autoptr(PtSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  PtVitConfig vc;
  PtRng rng;
  guint64 nd_check = 0;

  pt_vit_config_init (&vc, 3, 32, 32);
  vc.dim = 32;
  vc.depth = 2;
  vc.heads = 2;
  a = pt_encoder_new_vit (&vc);
  pt_rng_init (&rng, 4);
  pt_vit_reset (&a->vit, a->params, &rng);
  g_assert_true (pt_encoder_save_safetensors (a, path, NULL, 0, &error));
  g_assert_no_error (error);

  st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, pt_params_get_n (a->params));
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "encoder"), ==, "vit");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "heads"), ==, "2");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "input_shape"), ==, "3,32,32");
  g_assert_cmpint (pt_safetensors_lookup (st, "encoder.blocks.1.attn.in_proj_weight"), >=, 0);
  g_assert_cmpint (pt_safetensors_lookup (st, "encoder.pos_embed"), >=, 0);
  nd_check = pt_safetensors_get_n_elements (st, pt_safetensors_lookup (st, "encoder.pos_embed"));
  g_assert_cmpuint (nd_check, ==, (64 + 1) * 32);

  b = pt_encoder_load_safetensors (path, 32, 32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (b->kind, ==, PT_ENCODER_VIT);
  g_assert_cmpint (b->vit_config.dim, ==, 32);
  g_assert_cmpint (b->vit_config.depth, ==, 2);
  g_assert_cmpint (b->vit_config.heads, ==, 2);
  g_assert_cmpint (b->vit_config.patch, ==, 4);
  g_assert_cmpint (b->channels, ==, 3);
  g_assert_cmpmem (pt_params_get_data (a->params), pt_params_get_n_floats (a->params) * 4,
                   pt_params_get_data (b->params), pt_params_get_n_floats (b->params) * 4);
  pt_test_rm_rf (dir);
}

/* Writes a cnn file with one thing changed. */
typedef enum {
  EDIT_NONE,
  EDIT_DROP,        /* a tensor missing */
  EDIT_EXTRA,       /* an unknown tensor */
  EDIT_SHAPE,       /* a tensor of another shape */
  EDIT_WIDTH,       /* the whole encoder twice as wide */
  EDIT_TRACKED,     /* num_batches_tracked as F32 */
  EDIT_META_KIND,   /* metadata says vit */
  EDIT_META_SHAPE,  /* metadata says 1x28x28 */
  EDIT_NAN,         /* a weight NaN */
} Edit;

static void
write_cnn_file (const char *path,
                Edit        edit)
{
  g_autoptr(PtEncoder) enc = pt_encoder_new_cnn (3, 16, 16, edit == EDIT_WIDTH ? 8 : 4);
  g_autoptr(PtSafetensorsWriter) w = pt_safetensors_writer_new ();
  g_autoptr(GError) error = NULL;
  float extra[2] = { 1, 2 };
  guint64 extra_shape[1] = { 2 };
  gint64 tracked = 0;
  float tracked_f = 0;
  PtRng rng;

  pt_rng_init (&rng, 8);
  pt_cnn_reset (&enc->cnn, enc->params, &rng);
  if (edit == EDIT_NAN)
    pt_params_get_data (enc->params)[5] = NAN;
  pt_safetensors_writer_set_metadata (w, "encoder", edit == EDIT_META_KIND ? "vit" : "cnn");
  pt_safetensors_writer_set_metadata (w, "input_shape",
                                      edit == EDIT_META_SHAPE ? "1,28,28" : "3,16,16");
  for (guint i = 0; i < pt_params_get_n (enc->params); i++)
    {
      const PtParamInfo *info = pt_params_get_info (enc->params, i);
      guint64 shape[PT_MAX_DIMS];

      for (int d = 0; d < info->ndim; d++)
        shape[d] = (guint64) info->shape[d];
      if (edit == EDIT_DROP && i == 3)
        continue;
      if (edit == EDIT_SHAPE && i == 2)
        shape[0] = 1, shape[1] = info->numel;
      pt_safetensors_writer_add_f32 (w, info->name, pt_params_data (enc->params, i), shape,
                                     edit == EDIT_SHAPE && i == 2 ? 2 : info->ndim);
    }
  if (edit == EDIT_EXTRA)
    pt_safetensors_writer_add_f32 (w, "projector.0.bias", extra, extra_shape, 1);
  if (edit == EDIT_TRACKED)
    pt_safetensors_writer_add_f32 (w, "encoder.blocks.0.bn.num_batches_tracked", &tracked_f,
                                   NULL, 0);
  else
    pt_safetensors_writer_add_i64 (w, "encoder.blocks.0.bn.num_batches_tracked", &tracked,
                                   NULL, 0);
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);
}

static void
test_refused (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "enc.safetensors", NULL);
  g_autoptr(PtMethod) m = make_method ("simclr", "cnn", 3, 16, 4, 5);
  const struct { Edit edit; const char *needle; } cases[] = {
    { EDIT_DROP, "has no tensor" },
    { EDIT_EXTRA, "projector.0.bias" },
    { EDIT_SHAPE, "shape" },
    { EDIT_WIDTH, "shape" },
    { EDIT_TRACKED, "num_batches_tracked" },
    { EDIT_META_KIND, "vit" },
    { EDIT_META_SHAPE, "1,28,28" },
    { EDIT_NAN, "not finite" },
  };
  g_autoptr(GArray) blobs = pt_method_list_state (m);
  const PtBlob *params = NULL;
  g_autofree float *before = NULL;

  for (guint i = 0; i < blobs->len && params == NULL; i++)
    if (strcmp (g_array_index (blobs, PtBlob, i).name, "params") == 0)
      params = &g_array_index (blobs, PtBlob, i);
  g_assert_nonnull (params);
  before = g_memdup2 (params->data, params->count * sizeof (float));

  /* The unedited file is accepted by a fresh method of the same layout. */
  write_cnn_file (path, EDIT_NONE);
  {
    g_autoptr(PtMethod) ok = make_method ("simclr", "cnn", 3, 16, 4, 6);
    g_autoptr(GError) error = NULL;

    g_assert_true (pt_encoder_seed_method (ok, path, &error));
    g_assert_no_error (error);
  }

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GError) error = NULL;

      write_cnn_file (path, cases[c].edit);
      g_assert_false (pt_encoder_seed_method (m, path, &error));
      g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH);
      g_test_message ("%s", error->message);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_nonnull (strstr (error->message, cases[c].needle));
      /* nothing was written into the method */
      g_assert_cmpmem (params->data, params->count * sizeof (float), before,
                       params->count * sizeof (float));
    }

  /* A vit file into a cnn run, and the other way round. */
  {
    g_autoptr(PtMethod) mae = make_method ("mae", "vit", 3, 16, 4, 1);
    g_autoptr(GError) error = NULL;

    write_cnn_file (path, EDIT_NONE);
    g_assert_false (pt_encoder_seed_method (mae, path, &error));
    g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH);
  }
  pt_test_rm_rf (dir);
}

/* A safetensors file from header text (trailing spaces dropped, then padded
 * to 8 again) and the data area. */
static GBytes *
rebuild (const char *header,
         const char *data,
         gsize       data_len)
{
  g_autoptr(GString) h = g_string_new (header);
  GByteArray *out = g_byte_array_new ();
  guint64 len;

  while (h->len > 0 && h->str[h->len - 1] == ' ')
    g_string_truncate (h, h->len - 1);
  while (h->len % 8 != 0)
    g_string_append_c (h, ' ');
  len = GUINT64_TO_LE ((guint64) h->len);
  g_byte_array_append (out, (const guint8 *) &len, 8);
  g_byte_array_append (out, (const guint8 *) h->str, h->len);
  g_byte_array_append (out, (const guint8 *) data, data_len);
  return g_byte_array_free_to_bytes (out);
}

/* Broken files: every one refused by the header checks with the file named,
 * the method untouched. */
static void
test_hostile (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "bad.safetensors", NULL);
  g_autoptr(PtMethod) m = make_method ("simclr", "cnn", 3, 16, 4, 5);
  g_autofree float *images = probe_images (2, 3 * 16 * 16);
  g_autofree float *before = method_features (m, images, 2);
  g_autofree char *good = NULL;
  gsize good_len = 0;
  guint64 hlen;
  struct { const char *what; GBytes *bytes; } cases[8];
  guint n = 0;

  write_cnn_file (path, EDIT_NONE);
  g_assert_true (g_file_get_contents (path, &good, &good_len, NULL));
  memcpy (&hlen, good, 8);
  hlen = GUINT64_FROM_LE (hlen);

  /* header length past the end */
  {
    char *b = g_memdup2 (good, good_len);
    guint64 big = GUINT64_TO_LE ((guint64) good_len);

    memcpy (b, &big, 8);
    cases[n++] = (typeof (cases[0])) { "length past end", g_bytes_new_take (b, good_len) };
  }
  /* not starting with { */
  {
    char *b = g_memdup2 (good, good_len);

    b[8] = '[';
    cases[n++] = (typeof (cases[0])) { "not {", g_bytes_new_take (b, good_len) };
  }
  /* truncated data */
  cases[n++] = (typeof (cases[0])) { "truncated", g_bytes_new (good, good_len - 4) };
  /* too short for the length */
  cases[n++] = (typeof (cases[0])) { "short", g_bytes_new (good, 5) };
  /* overlapping offsets: the second tensor's begin moved back by 4 */
  {
    g_autofree char *header = g_strndup (good + 8, hlen);
    char *p = strstr (header, "\"data_offsets\":[");
    guint64 begin;

    g_assert_nonnull (p);
    p = strstr (p + 1, "\"data_offsets\":[");
    g_assert_nonnull (p);
    p += strlen ("\"data_offsets\":[");
    begin = g_ascii_strtoull (p, NULL, 10);
    {
      g_autoptr(GString) s = g_string_new_len (header, p - header);

      g_string_append_printf (s, "%" G_GUINT64_FORMAT, begin - 4);
      g_string_append (s, strchr (p, ','));
      cases[n++] = (typeof (cases[0])) { "overlap", rebuild (s->str, good + 8 + hlen,
                                                             good_len - 8 - hlen) };
    }
  }
  /* a shape whose byte size overflows */
  {
    g_autofree char *header = g_strndup (good + 8, hlen);
    char *p = strstr (header, "\"shape\":[");
    g_autoptr(GString) s = NULL;

    g_assert_nonnull (p);
    s = g_string_new_len (header, p - header);
    g_string_append (s, "\"shape\":[4611686018427387904,4,3,3]");
    g_string_append (s, strchr (p, ']') + 1);
    cases[n++] = (typeof (cases[0])) { "overflow", rebuild (s->str, good + 8 + hlen,
                                                            good_len - 8 - hlen) };
  }

  for (guint c = 0; c < n; c++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree float *after = NULL;
      gsize size = 0;
      gconstpointer data = g_bytes_get_data (cases[c].bytes, &size);

      g_assert_true (g_file_set_contents (path, data, size, NULL));
      g_assert_false (pt_encoder_seed_method (m, path, &error));
      g_assert_nonnull (error);
      g_test_message ("%s: %s", cases[c].what, error->message);
      g_assert_nonnull (strstr (error->message, path));
      after = method_features (m, images, 2);
      g_assert_cmpmem (before, 2 * pt_method_get_feature_dim (m) * sizeof (float), after,
                       2 * pt_method_get_feature_dim (m) * sizeof (float));
      g_bytes_unref (cases[c].bytes);
    }
  g_assert_cmpuint (n, ==, 6);
  pt_test_rm_rf (dir);
}

static void
test_pytorch_vit_fixture (void)
{
  g_autofree char *weights = fixture ("vit-encoder.safetensors");
  g_autofree char *images_path = fixture ("vit-images.npy");
  g_autofree char *expected_path = fixture ("vit-expected.npy");
  g_autoptr(GError) error = NULL;
  g_autoptr(PtEncoder) enc = NULL;
  g_autofree float *images = NULL, *expected = NULL, *got = NULL;
  guint64 n = 0, size = 0, rows = 0, dim = 0;
  double worst = 0;

  enc = pt_encoder_load_safetensors (weights, 28, 28, &error);
  g_assert_no_error (error);
  g_assert_cmpint (enc->kind, ==, PT_ENCODER_VIT);
  g_assert_cmpint (enc->channels, ==, 1);
  images = pt_npy_load_f32 (images_path, &n, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 28 * 28);
  expected = pt_npy_load_f32 (expected_path, &rows, &dim, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows, ==, n);
  g_assert_cmpuint (dim, ==, pt_encoder_get_dim (enc));
  got = g_new (float, rows * dim);
  pt_encoder_embed (enc, images, (int) n, got);
  for (guint64 i = 0; i < rows * dim; i++)
    worst = MAX (worst, fabs ((double) got[i] - expected[i]));
  g_test_message ("max |Pretext - PyTorch| = %g", worst);
  g_assert_cmpfloat (worst, <=, 1e-4);
}

/* A trained run exported with pt_run_export (as `pretext-cli export`), a
 * new run built by pt_train_spec_build with init: its step-0 features are
 * the exported run's trained features bit for bit; config.ini says where the
 * weights came from; a bad file fails before the run directory exists. */
static void
test_train_spec_init (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "enc.safetensors", NULL);
  g_autofree char *bad = g_build_filename (dir, "bad.safetensors", NULL);
  g_autofree char *out = g_build_filename (dir, "run", NULL);
  g_autofree char *out2 = g_build_filename (dir, "run2", NULL);
  g_autofree char *first = g_build_filename (dir, "first", NULL);
  g_autoptr(PtMethod) a = NULL;
  g_autoptr(PtTrainSpec) spec = pt_train_spec_new ();
  g_autoptr(PtTrainer) trainer = NULL;
  g_autoptr(PtTrainer) first_trainer = NULL;
  PtRunExportOptions export = { 0 };
  PtNormalization norm;
  guint64 step = 0;
  volatile sig_atomic_t stop = 0;
  g_autoptr(GError) error = NULL;
  g_autofree float *images = probe_images (4, 3 * 32 * 32);
  g_autofree float *fa = NULL, *fb = NULL;
  g_autofree char *recorded = NULL;
  g_autofree char *sha = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *want_sha = NULL;
  gsize len = 0;
  GKeyFile *config;
  int dim;

  /* the first run: 3 steps */
  spec->method = g_strdup ("simclr");
  spec->dataset = g_strdup ("shapes");
  spec->encoder = g_strdup ("cnn");
  spec->width = 4;
  spec->batch_size = 16;
  spec->steps = 3;
  spec->seed = 1;
  spec->out_dir = g_strdup (first);
  first_trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (pt_trainer_run_blocking (first_trainer, &stop, &error));
  g_assert_no_error (error);
  export.safetensors = path;
  g_assert_true (pt_run_export (first, &export, NULL, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  a = pt_features_load_method (first, PT_FEATURES_TRAINED, &norm, &step, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (step, ==, 3);
  dim = pt_method_get_feature_dim (a);
  g_clear_pointer (&spec, pt_train_spec_free);
  spec = pt_train_spec_new ();

  spec->method = g_strdup ("simclr");
  spec->dataset = g_strdup ("shapes");
  spec->encoder = g_strdup ("cnn");
  spec->width = 4;
  spec->batch_size = 16;
  spec->steps = 1;
  spec->seed = 9;
  spec->out_dir = g_strdup (out);
  spec->init = g_strdup (path);
  trainer = pt_train_spec_build (spec, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (trainer);
  fa = method_features (a, images, 4);
  fb = method_features (pt_trainer_get_method (trainer), images, 4);
  g_assert_cmpmem (fa, (gsize) 4 * dim * sizeof (float), fb, (gsize) 4 * dim * sizeof (float));

  config = pt_run_get_config (pt_trainer_get_run (trainer));
  recorded = g_key_file_get_string (config, "run", "init", NULL);
  sha = g_key_file_get_string (config, "run", "init_sha256", NULL);
  g_assert_cmpstr (recorded, ==, path);
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  want_sha = g_compute_checksum_for_data (G_CHECKSUM_SHA256, (const guchar *) contents, len);
  g_assert_cmpstr (sha, ==, want_sha);

  /* a cut file: refused, no run directory made */
  g_assert_true (g_file_set_contents (bad, contents, len / 2, NULL));
  g_free (spec->init);
  spec->init = g_strdup (bad);
  g_free (spec->out_dir);
  spec->out_dir = g_strdup (out2);
  g_assert_null (pt_train_spec_build (spec, NULL, NULL, &error));
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, bad));
  g_assert_false (g_file_test (out2, G_FILE_TEST_EXISTS));
  pt_test_rm_rf (dir);
}

static void
test_not_an_encoder (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PtMethod) m = pt_method_new_for_class (&pt_test_method_class, &config, &error);

  g_assert_no_error (error);
  g_assert_null (pt_encoder_from_method (m, &error));
  g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_UNSUPPORTED);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  pt_threads_set (1);
  pt_methods_register_builtin ();
  g_test_add_func ("/core/encoder/seed/simclr-cnn", test_seed_simclr_cnn);
  g_test_add_func ("/core/encoder/seed/mae-vit", test_seed_mae_vit);
  g_test_add_func ("/core/encoder/seed/moco-key", test_seed_moco_key);
  g_test_add_func ("/core/encoder/vit-round-trip", test_vit_round_trip);
  g_test_add_func ("/core/encoder/refused", test_refused);
  g_test_add_func ("/core/encoder/hostile", test_hostile);
  g_test_add_func ("/core/encoder/pytorch-vit-fixture", test_pytorch_vit_fixture);
  g_test_add_func ("/core/encoder/not-an-encoder", test_not_an_encoder);
  g_test_add_func ("/core/encoder/train-spec-init", test_train_spec_init);
  return g_test_run ();
}
