/* Tests of the cnn encoder export (pt-encoder.h): taken out of a method it matches the
 * method's features; the safetensors round trip; hostile files refused;
 * and the PyTorch-made fixture (tests/fixtures/make_export_check.py):
 * Pretext's weights loaded into PyTorch gave expected.npy, and loading the
 * same file here gives the same features within 1e-4. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>

#include "pt-encoder.h"
#include "pt-npy.h"
#include "pt-safetensors.h"
#include "pt-test-files.h"
#include "pt-test-method.h"
#include "pt-threads.h"

static char *
fixture (const char *name)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");

  g_assert_nonnull (dir);
  return g_build_filename (dir, "export", name, NULL);
}

static void
test_pytorch_fixture (void)
{
  g_autofree char *weights = fixture ("encoder.safetensors");
  g_autofree char *images_path = fixture ("images.npy");
  g_autofree char *expected_path = fixture ("expected.npy");
  g_autoptr(GError) error = NULL;
  g_autoptr(PtEncoder) enc = NULL;
  g_autofree float *images = NULL, *expected = NULL, *got = NULL;
  guint64 n = 0, size = 0, rows = 0, dim = 0;
  double worst = 0;

  enc = pt_encoder_load_safetensors (weights, 32, 32, &error);
  g_assert_no_error (error);
  g_assert_cmpint (enc->channels, ==, 3);
  g_assert_cmpint (enc->cnn_width, ==, 8);
  images = pt_npy_load_f32 (images_path, &n, &size, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (size, ==, 3 * 32 * 32);
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

static void
test_round_trip (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "enc.safetensors", NULL);
  g_autoptr(PtEncoder) a = pt_encoder_new_cnn (1, 28, 28, 4);
  g_autoptr(PtEncoder) b = NULL;
  g_autoptr(PtSafetensors) st = NULL;
  g_autoptr(GError) error = NULL;
  const char *meta[] = { "method", "simclr", "step", "7", NULL };
  PtRng rng;
  gint64 tracked = 0;

  pt_rng_init (&rng, 5);
  pt_cnn_reset (&a->cnn, a->params, &rng);
  g_assert_true (pt_encoder_save_safetensors (a, path, meta, 7, &error));
  g_assert_no_error (error);
  st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, pt_params_get_n (a->params) + 4);
  g_assert_true (pt_safetensors_read_i64 (st, "encoder.blocks.3.bn.num_batches_tracked",
                                          &tracked, 1, &error));
  g_assert_cmpint (tracked, ==, 7);
  b = pt_encoder_load_safetensors (path, 28, 28, &error);
  g_assert_no_error (error);
  g_assert_cmpint (b->cnn_width, ==, 4);
  g_assert_cmpint (b->channels, ==, 1);
  g_assert_cmpmem (pt_params_get_data (a->params), pt_params_get_n_floats (a->params) * 4,
                   pt_params_get_data (b->params), pt_params_get_n_floats (b->params) * 4);
  pt_test_rm_rf (dir);
}

static void
test_refused (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "other.safetensors", NULL);
  g_autoptr(PtSafetensorsWriter) w = pt_safetensors_writer_new ();
  g_autoptr(GError) error = NULL;
  float data[4 * 3 * 9] = { 0 };
  guint64 shape[4] = { 4, 3, 3, 3 };
  guint64 bad[4] = { 4, 2, 3, 3 };

  /* Not an encoder at all. */
  pt_safetensors_writer_add_f32 (w, "fc.weight", data, shape, 2);
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_null (pt_encoder_load_safetensors (path, 32, 32, &error));
  g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH);
  g_clear_error (&error);
  g_clear_pointer (&w, pt_safetensors_writer_free);

  /* The first conv, but nothing else. */
  w = pt_safetensors_writer_new ();
  pt_safetensors_writer_add_f32 (w, "encoder.blocks.0.conv.weight", data, shape, 4);
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_null (pt_encoder_load_safetensors (path, 32, 32, &error));
  g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "encoder.blocks.0.bn.weight"));
  g_clear_error (&error);
  g_clear_pointer (&w, pt_safetensors_writer_free);

  /* Two input channels. */
  w = pt_safetensors_writer_new ();
  pt_safetensors_writer_add_f32 (w, "encoder.blocks.0.conv.weight", data, bad, 4);
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_null (pt_encoder_load_safetensors (path, 32, 32, &error));
  g_assert_error (error, PT_ENCODER_ERROR, PT_ENCODER_ERROR_MISMATCH);
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "junk", 4, NULL));
  g_assert_null (pt_encoder_load_safetensors (path, 32, 32, &error));
  g_assert_nonnull (error);
  pt_test_rm_rf (dir);
}

static void
test_from_test_method (void)
{
  PtMethodConfig config = pt_test_method_config ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PtMethod) m = pt_method_new_for_class (&pt_test_method_class, &config, &error);

  /* No cnn inside: refused, not guessed. */
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
  g_test_add_func ("/core/export/pytorch-fixture", test_pytorch_fixture);
  g_test_add_func ("/core/export/round-trip", test_round_trip);
  g_test_add_func ("/core/export/refused", test_refused);
  g_test_add_func ("/core/export/not-a-cnn", test_from_test_method);
  return g_test_run ();
}
