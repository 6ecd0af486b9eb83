/* Tests for checkpoint files: round trip, rotation, and refusal of every
 * kind of damage or mismatch before any state is touched. */
#include <string.h>
#include <glib/gstdio.h>

#include "pt-checkpoint.h"

typedef struct {
  char   *dir;
  float   weights[300];
  double  schedule[2];
  guint64 rng[3];
  guint8  position[5];
  PtBlob  blobs[4];
} Fixture;

static const PtCheckpointIdentity identity = { "simclr", "cnn w16 3x32x32", "abc123" };

static void
fill (Fixture *f,
      int      seed)
{
  for (guint i = 0; i < G_N_ELEMENTS (f->weights); i++)
    f->weights[i] = (float) (seed * 1000 + i) * 0.001f;
  f->schedule[0] = seed + 0.5;
  f->schedule[1] = -seed / 3.0;
  for (guint i = 0; i < G_N_ELEMENTS (f->rng); i++)
    f->rng[i] = G_GUINT64_CONSTANT (0x9e3779b97f4a7c15) * (seed + i + 1);
  for (guint i = 0; i < G_N_ELEMENTS (f->position); i++)
    f->position[i] = (guint8) (seed * 7 + i);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->dir = g_dir_make_tmp ("pt-checkpoint-XXXXXX", NULL);
  g_assert_nonnull (f->dir);
  f->blobs[0] = (PtBlob) { "encoder/weights", PT_BLOB_F32, G_N_ELEMENTS (f->weights), f->weights };
  f->blobs[1] = (PtBlob) { "optim/schedule", PT_BLOB_F64, G_N_ELEMENTS (f->schedule), f->schedule };
  f->blobs[2] = (PtBlob) { "rng", PT_BLOB_U64, G_N_ELEMENTS (f->rng), f->rng };
  f->blobs[3] = (PtBlob) { "loader/position", PT_BLOB_U8, G_N_ELEMENTS (f->position), f->position };
}

static void
remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR))
        remove_tree (child);
      else
        g_unlink (child);
    }
  g_rmdir (path);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

/* The fixture's arrays equal fill (seed)? */
static void
assert_filled (Fixture *f,
               int      seed)
{
  Fixture expected;

  fill (&expected, seed);
  g_assert_cmpmem (f->weights, sizeof f->weights, expected.weights, sizeof expected.weights);
  g_assert_cmpmem (f->schedule, sizeof f->schedule, expected.schedule, sizeof expected.schedule);
  g_assert_cmpmem (f->rng, sizeof f->rng, expected.rng, sizeof expected.rng);
  g_assert_cmpmem (f->position, sizeof f->position, expected.position, sizeof expected.position);
}

static void
test_round_trip (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *method = NULL;
  g_autofree char *arch = NULL;
  g_autofree char *hash = NULL;
  g_autoptr(GDir) dir = NULL;
  const char *name;
  guint n_files = 0;

  fill (f, 1);
  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  g_assert_no_error (error);

  fill (f, 2);
  g_assert_true (pt_checkpoint_load (path, &identity, f->blobs, 4, &error));
  g_assert_no_error (error);
  assert_filled (f, 1);

  g_assert_true (pt_checkpoint_verify (path, &method, &arch, &hash, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (method, ==, identity.method);
  g_assert_cmpstr (arch, ==, identity.architecture);
  g_assert_cmpstr (hash, ==, identity.config_hash);

  /* No temp file is left behind. */
  dir = g_dir_open (f->dir, 0, NULL);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_assert_cmpstr (name, ==, "ck");
      n_files++;
    }
  g_assert_cmpuint (n_files, ==, 1);
}

/* Blobs may come in another order; names decide. */
static void
test_order_free (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autoptr(GError) error = NULL;
  PtBlob reversed[4];

  fill (f, 3);
  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  for (int i = 0; i < 4; i++)
    reversed[i] = f->blobs[3 - i];
  fill (f, 4);
  g_assert_true (pt_checkpoint_load (path, &identity, reversed, 4, &error));
  g_assert_no_error (error);
  assert_filled (f, 3);
}

static void
test_rotate (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *last = g_build_filename (f->dir, "last", NULL);
  g_autofree char *previous = g_build_filename (f->dir, "previous", NULL);
  g_autofree char *used = NULL;
  g_autofree char *warning = NULL;
  g_autoptr(GError) error = NULL;

  g_autofree char *stale = g_build_filename (f->dir, "last.tmp-AB12CD", NULL);

  /* A temp file left by a killed writer is cleaned up. */
  g_assert_true (g_file_set_contents (stale, "half", -1, NULL));
  fill (f, 10);
  g_assert_true (pt_checkpoint_save_rotate (f->dir, &identity, f->blobs, 4, &error));
  g_assert_false (g_file_test (previous, G_FILE_TEST_EXISTS));
  g_assert_false (g_file_test (stale, G_FILE_TEST_EXISTS));
  fill (f, 11);
  g_assert_true (pt_checkpoint_save_rotate (f->dir, &identity, f->blobs, 4, &error));
  fill (f, 12);
  g_assert_true (pt_checkpoint_save_rotate (f->dir, &identity, f->blobs, 4, &error));
  g_assert_no_error (error);

  fill (f, 0);
  g_assert_true (pt_checkpoint_load (previous, &identity, f->blobs, 4, &error));
  assert_filled (f, 11);
  fill (f, 0);
  g_assert_true (pt_checkpoint_load_latest (f->dir, &identity, f->blobs, 4, &used, &warning, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (used, ==, last);
  g_assert_null (warning);
  assert_filled (f, 12);
}

static void
damage_and_expect_fallback (Fixture    *f,
                            gboolean    truncate,
                            const char *expected_words)
{
  g_autofree char *last = g_build_filename (f->dir, "last", NULL);
  g_autofree char *previous = g_build_filename (f->dir, "previous", NULL);
  g_autofree char *contents = NULL;
  g_autofree char *used = NULL;
  g_autofree char *warning = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  fill (f, 20);
  g_assert_true (pt_checkpoint_save_rotate (f->dir, &identity, f->blobs, 4, &error));
  fill (f, 21);
  g_assert_true (pt_checkpoint_save_rotate (f->dir, &identity, f->blobs, 4, &error));

  g_assert_true (g_file_get_contents (last, &contents, &len, NULL));
  if (truncate)
    len = len * 2 / 3;
  else
    contents[len / 2] ^= 0x10;
  g_assert_true (g_file_set_contents (last, contents, len, NULL));

  /* "last" alone is refused with one sentence naming the file. */
  fill (f, 99);
  g_assert_false (pt_checkpoint_load (last, &identity, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, last));
  g_assert_nonnull (strstr (error->message, expected_words));
  g_test_message ("refused: %s", error->message);
  g_clear_error (&error);
  /* ...and nothing was written into the state. */
  assert_filled (f, 99);

  /* The folder falls back to "previous" and says why. */
  g_assert_true (pt_checkpoint_load_latest (f->dir, &identity, f->blobs, 4, &used, &warning, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (used, ==, previous);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, last));
  g_assert_nonnull (strstr (warning, "previous"));
  assert_filled (f, 20);
}

static void
test_truncated (Fixture       *f,
                gconstpointer  data)
{
  damage_and_expect_fallback (f, TRUE, "checksum");
}

static void
test_flipped (Fixture       *f,
              gconstpointer  data)
{
  damage_and_expect_fallback (f, FALSE, "checksum");
}

/* Every cut length and a flip at many positions: always refused, never a
 * crash, never a write into the state. */
static void
test_every_damage (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autofree char *bad = g_build_filename (f->dir, "bad", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  fill (f, 5);
  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));

  for (gsize cut = 0; cut < len; cut += (cut < 200 ? 1 : 61))
    {
      g_assert_true (g_file_set_contents (bad, contents, cut, NULL));
      fill (f, 77);
      g_assert_false (pt_checkpoint_load (bad, &identity, f->blobs, 4, &error));
      g_assert_nonnull (error);
      g_assert_true (error->domain == PT_CHECKPOINT_ERROR);
      g_clear_error (&error);
      assert_filled (f, 77);
    }
  for (gsize at = 0; at < len; at += (at < 200 ? 1 : 37))
    {
      contents[at] ^= 0x01;
      g_assert_true (g_file_set_contents (bad, contents, len, NULL));
      contents[at] ^= 0x01;
      fill (f, 78);
      g_assert_false (pt_checkpoint_load (bad, &identity, f->blobs, 4, &error));
      g_assert_nonnull (error);
      g_clear_error (&error);
      assert_filled (f, 78);
    }
}

static void
test_version (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  gsize len;

  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  g_assert_true (g_file_get_contents (path, &contents, &len, NULL));
  contents[8] = 7;   /* version field, little-endian u32 after the magic */
  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  g_assert_false (pt_checkpoint_load (path, &identity, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, "version 7"));
  g_clear_error (&error);

  g_assert_true (g_file_set_contents (path, "hello, world", -1, NULL));
  g_assert_false (pt_checkpoint_load (path, &identity, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, "not a Pretext checkpoint"));
}

static void
test_mismatch (Fixture       *f,
               gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autoptr(GError) error = NULL;
  PtCheckpointIdentity other;
  PtBlob blobs[4];
  float small[10];
  guint64 as_u64[300];

  fill (f, 6);
  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  fill (f, 60);

  other = identity;
  other.method = "mae";
  g_assert_false (pt_checkpoint_load (path, &other, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "simclr"));
  g_clear_error (&error);

  other = identity;
  other.architecture = "cnn w32 3x32x32";
  g_assert_false (pt_checkpoint_load (path, &other, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "architecture"));
  g_clear_error (&error);

  other = identity;
  other.config_hash = "def456";
  g_assert_false (pt_checkpoint_load (path, &other, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "configuration"));
  g_clear_error (&error);

  /* Fewer blobs than stored. */
  g_assert_false (pt_checkpoint_load (path, &identity, f->blobs, 3, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_clear_error (&error);

  /* A renamed blob. */
  memcpy (blobs, f->blobs, sizeof blobs);
  blobs[2].name = "rng2";
  g_assert_false (pt_checkpoint_load (path, &identity, blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "rng2"));
  g_clear_error (&error);

  /* Another size. */
  memcpy (blobs, f->blobs, sizeof blobs);
  blobs[0].count = G_N_ELEMENTS (small);
  blobs[0].data = small;
  g_assert_false (pt_checkpoint_load (path, &identity, blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "encoder/weights"));
  g_clear_error (&error);

  /* Another type. */
  memcpy (blobs, f->blobs, sizeof blobs);
  blobs[0].type = PT_BLOB_U64;
  blobs[0].data = as_u64;
  g_assert_false (pt_checkpoint_load (path, &identity, blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_clear_error (&error);

  /* None of that touched the state. */
  assert_filled (f, 60);
}

/* A subset load ignores arrays it was not asked for, still checks the rest. */
static void
test_subset (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "ck", NULL);
  g_autoptr(GError) error = NULL;
  PtBlob two[2];

  fill (f, 8);
  g_assert_true (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  fill (f, 80);
  two[0] = f->blobs[2];
  two[1] = f->blobs[0];
  g_assert_false (pt_checkpoint_load (path, &identity, two, 2, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_true (pt_checkpoint_load_subset (path, &identity, two, 2, &error));
  g_assert_no_error (error);
  {
    Fixture expected;

    fill (&expected, 8);
    g_assert_cmpmem (f->weights, sizeof f->weights, expected.weights, sizeof expected.weights);
    g_assert_cmpmem (f->rng, sizeof f->rng, expected.rng, sizeof expected.rng);
    fill (&expected, 80);
    g_assert_cmpmem (f->schedule, sizeof f->schedule, expected.schedule, sizeof expected.schedule);
  }
  /* A listed array of the wrong size is still refused. */
  two[1].count = 3;
  g_assert_false (pt_checkpoint_load_subset (path, &identity, two, 2, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_MISMATCH);
}

static void
test_missing (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *last = g_build_filename (f->dir, "last", NULL);

  g_assert_false (pt_checkpoint_load_latest (f->dir, &identity, f->blobs, 4, NULL, NULL, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, f->dir));
  g_clear_error (&error);

  /* A bad "last" and no "previous": the error is about "last". */
  g_assert_true (g_file_set_contents (last, "PTCKPT\r\n", -1, NULL));
  g_assert_false (pt_checkpoint_load_latest (f->dir, &identity, f->blobs, 4, NULL, NULL, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_CORRUPT);
  g_assert_nonnull (strstr (error->message, last));
}

static void
test_write_error (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *path = g_build_filename (f->dir, "no", "such", "dir", "ck", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (pt_checkpoint_write (path, &identity, f->blobs, 4, &error));
  g_assert_error (error, PT_CHECKPOINT_ERROR, PT_CHECKPOINT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, path));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/core/checkpoint/round-trip", test_round_trip);
  ADD ("/core/checkpoint/order-free", test_order_free);
  ADD ("/core/checkpoint/rotate", test_rotate);
  ADD ("/core/checkpoint/truncated", test_truncated);
  ADD ("/core/checkpoint/flipped-byte", test_flipped);
  ADD ("/core/checkpoint/every-damage", test_every_damage);
  ADD ("/core/checkpoint/version", test_version);
  ADD ("/core/checkpoint/mismatch", test_mismatch);
  ADD ("/core/checkpoint/missing", test_missing);
  ADD ("/core/checkpoint/subset", test_subset);
  ADD ("/core/checkpoint/write-error", test_write_error);
#undef ADD
  return g_test_run ();
}
