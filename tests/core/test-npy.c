/* Tests for .npy reading and writing. */
#include <string.h>
#include <glib/gstdio.h>
#include "pt-npy.h"

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, "interop", name, NULL);
}

static GBytes *
read_fixture (const char *name)
{
  g_autofree char *path = fixture_path (name);
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

static GBytes *
read_file_bytes (const char *path)
{
  g_autoptr(GError) error = NULL;
  char *contents = NULL;
  gsize len = 0;

  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  return g_bytes_new_take (contents, len);
}

/* The values make_npy_fixtures.py writes into f32_3x4.npy. */
static void
expected_f32_3x4 (float out[12])
{
  for (int i = 0; i < 12; i++)
    out[i] = (float) i * 0.25f - 1.0f;
  out[5] = 3.14159265f;
  out[11] = -1e-30f;
}

static void
assert_same_bits (const float *a,
                  const float *b,
                  gsize        n)
{
  g_assert_cmpmem (a, n * sizeof (float), b, n * sizeof (float));
}

static void
test_npy_header_bytes (void)
{
  struct { const char *fixture; const char *descr; guint64 shape[2]; guint ndim; } cases[] = {
    { "f32_3x4.npy", "<f4", { 3, 4 }, 2 },
    { "i64_5.npy", "<i8", { 5, 0 }, 1 },
    { "f32_123456x0.npy", "<f4", { 123456, 0 }, 2 },
    { "f64_2x3.npy", "<f8", { 2, 3 }, 2 },
    { "i4_4.npy", "<i4", { 4, 0 }, 1 },
    { "u1_4.npy", "|u1", { 4, 0 }, 1 },
  };

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(GBytes) file = read_fixture (cases[c].fixture);
      g_autoptr(GBytes) header = pt_npy_build_header (cases[c].descr, cases[c].shape, cases[c].ndim);
      gsize hlen, flen;
      const guint8 *h = g_bytes_get_data (header, &hlen);
      const guint8 *f = g_bytes_get_data (file, &flen);

      g_test_message ("%s", cases[c].fixture);
      /* The spec: magic, version 1.0, LE length, data aligned to 64, '\n' last. */
      g_assert_cmpmem (h, 8, "\x93NUMPY\x01\x00", 8);
      g_assert_cmpuint (hlen % 64, ==, 0);
      g_assert_cmpuint (h[8] | (h[9] << 8), ==, hlen - 10);
      g_assert_cmpint (h[hlen - 1], ==, '\n');
      /* And numpy's own bytes. */
      g_assert_cmpuint (flen, >=, hlen);
      g_assert_cmpmem (h, hlen, f, hlen);
    }
}

static void
test_npy_write_matches_numpy (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-npy-XXXXXX", &error);
  g_assert_no_error (error);
  float values[12];
  gint64 labels[5] = { 0, 3, -1, 9, 2 };

  expected_f32_3x4 (values);

  g_autofree char *path = g_build_filename (dir, "e.npy", NULL);
  g_assert_true (pt_npy_save_f32 (path, values, 3, 4, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) ours = read_file_bytes (path);
  g_autoptr(GBytes) numpys = read_fixture ("f32_3x4.npy");
  g_assert_true (g_bytes_equal (ours, numpys));

  g_autofree char *lpath = g_build_filename (dir, "l.npy", NULL);
  g_assert_true (pt_npy_save_i64 (lpath, labels, 5, &error));
  g_assert_no_error (error);
  g_autoptr(GBytes) ours_l = read_file_bytes (lpath);
  g_autoptr(GBytes) numpys_l = read_fixture ("i64_5.npy");
  g_assert_true (g_bytes_equal (ours_l, numpys_l));

  g_unlink (path);
  g_unlink (lpath);
  g_rmdir (dir);
}

static void
test_npy_read_fixtures (void)
{
  g_autoptr(GError) error = NULL;
  float expected[12];
  guint64 n = 0, d = 0;

  expected_f32_3x4 (expected);
  const char *f32_files[] = { "f32_3x4.npy", "f32_3x4_v2.npy" };
  for (guint i = 0; i < G_N_ELEMENTS (f32_files); i++)
    {
      g_autofree char *path = fixture_path (f32_files[i]);
      g_autofree float *data = pt_npy_load_f32 (path, &n, &d, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, 3);
      g_assert_cmpuint (d, ==, 4);
      assert_same_bits (data, expected, 12);
    }

  g_autofree char *f64 = fixture_path ("f64_2x3.npy");
  g_autofree float *data64 = pt_npy_load_f32 (f64, &n, &d, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, 2);
  g_assert_cmpuint (d, ==, 3);
  float expected64[6] = { 0.5f, -1.5f, 2.0f, 1e10f, -0.0f, (float) 0.1 };
  assert_same_bits (data64, expected64, 6);

  struct { const char *name; gint64 values[5]; guint64 n; } ints[] = {
    { "i64_5.npy", { 0, 3, -1, 9, 2 }, 5 },
    { "i4_4.npy", { 1, 0, 7, -1 }, 4 },
    { "u1_4.npy", { 255, 0, 1, 2 }, 4 },
  };
  for (guint i = 0; i < G_N_ELEMENTS (ints); i++)
    {
      g_autofree char *path = fixture_path (ints[i].name);
      g_autofree gint64 *v = pt_npy_load_i64 (path, &n, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (n, ==, ints[i].n);
      g_assert_cmpmem (v, n * 8, ints[i].values, ints[i].n * 8);
    }

  /* 123456 x 0: valid, empty. */
  g_autofree char *empty = fixture_path ("f32_123456x0.npy");
  g_autofree float *e = pt_npy_load_f32 (empty, &n, &d, &error);
  g_assert_no_error (error);
  g_assert_nonnull (e);
  g_assert_cmpuint (n, ==, 123456);
  g_assert_cmpuint (d, ==, 0);
}

static void
test_npy_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-npy-XXXXXX", &error);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  const guint64 N = 37, D = 13;
  g_autofree float *data = g_new (float, N * D);
  g_autofree gint64 *labels = g_new (gint64, N);

  for (guint64 i = 0; i < N * D; i++)
    {
      guint32 bits = g_rand_int (rand);   /* every bit pattern, NaNs included */
      memcpy (&data[i], &bits, 4);
    }
  for (guint64 i = 0; i < N; i++)
    labels[i] = (gint64) g_rand_int (rand) - G_MAXINT32;

  g_autofree char *path = g_build_filename (dir, "x.npy", NULL);
  g_autofree char *lpath = g_build_filename (dir, "y.npy", NULL);
  g_assert_true (pt_npy_save_f32 (path, data, N, D, &error));
  g_assert_no_error (error);
  g_assert_true (pt_npy_save_i64 (lpath, labels, N, &error));
  g_assert_no_error (error);

  guint64 n, d;
  g_autofree float *back = pt_npy_load_f32 (path, &n, &d, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, N);
  g_assert_cmpuint (d, ==, D);
  assert_same_bits (back, data, N * D);

  g_autofree gint64 *lback = pt_npy_load_i64 (lpath, &n, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (n, ==, N);
  g_assert_cmpmem (lback, N * 8, labels, N * 8);

  /* Only the two files: no temporary left behind. */
  g_autoptr(GDir) gd = g_dir_open (dir, 0, NULL);
  guint count = 0;
  while (g_dir_read_name (gd) != NULL)
    count++;
  g_assert_cmpuint (count, ==, 2);

  g_unlink (path);
  g_unlink (lpath);
  g_rmdir (dir);
}

/* A v1.0 file with @dict as header (padded like numpy) and @data_len bytes. */
static GByteArray *
make_npy (const char *dict,
          gsize       data_len)
{
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GString) h = g_string_new (dict);
  while ((10 + h->len + 1) % 64 != 0)
    g_string_append_c (h, ' ');
  g_string_append_c (h, '\n');
  guint8 pre[10] = { 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, h->len & 0xff, h->len >> 8 };
  g_byte_array_append (out, pre, 10);
  g_byte_array_append (out, (const guint8 *) h->str, h->len);
  for (gsize i = 0; i < data_len; i++)
    {
      guint8 z = (guint8) i;
      g_byte_array_append (out, &z, 1);
    }
  return out;
}

static void
assert_refused (const guint8 *data,
                gsize         len,
                int           code,
                const char   *fragment)
{
  g_autoptr(GError) error = NULL;
  PtNpyInfo info;

  g_assert_false (pt_npy_parse_header (data, len, "hostile.npy", &info, &error));
  g_assert_error (error, PT_NPY_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "hostile.npy"));
  g_assert_nonnull (strstr (error->message, fragment));
}

static void
test_npy_hostile (void)
{
  const char *good = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

  /* Sanity: the builder makes a valid file. */
  {
    g_autoptr(GByteArray) a = make_npy (good, 24);
    PtNpyInfo info;
    g_autoptr(GError) error = NULL;
    g_assert_true (pt_npy_parse_header (a->data, a->len, "ok.npy", &info, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (info.data_offset % 64, ==, 0);
    g_assert_cmpuint (info.data_size, ==, 24);
  }

  /* Wrong magic. */
  {
    g_autoptr(GByteArray) a = make_npy (good, 24);
    a->data[1] = 'X';
    assert_refused (a->data, a->len, PT_NPY_ERROR_INVALID, "signature");
    assert_refused (a->data, 3, PT_NPY_ERROR_INVALID, "signature");
  }
  /* Fortran order (a real numpy file) and big endian. */
  {
    g_autoptr(GBytes) f = read_fixture ("f32_fortran_2x3.npy");
    assert_refused (g_bytes_get_data (f, NULL), g_bytes_get_size (f), PT_NPY_ERROR_UNSUPPORTED, "Fortran");
    g_autoptr(GBytes) b = read_fixture ("f4_big_endian.npy");
    assert_refused (g_bytes_get_data (b, NULL), g_bytes_get_size (b), PT_NPY_ERROR_UNSUPPORTED, ">f4");
  }
  /* Shape/size mismatch: extra bytes, and truncated data. */
  {
    g_autoptr(GByteArray) a = make_npy (good, 28);
    assert_refused (a->data, a->len, PT_NPY_ERROR_INVALID, "4 bytes follow");
    g_autoptr(GByteArray) t = make_npy (good, 20);
    assert_refused (t->data, t->len, PT_NPY_ERROR_INVALID, "truncated");
  }
  /* Header length past the end. */
  {
    g_autoptr(GByteArray) a = make_npy (good, 0);
    a->data[8] = 0xff;
    a->data[9] = 0x7f;
    assert_refused (a->data, a->len, PT_NPY_ERROR_INVALID, "past the end");
  }
  /* A shape whose byte size overflows. */
  {
    g_autoptr(GByteArray) a = make_npy ("{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (4294967296, 4294967296), }", 0);
    assert_refused (a->data, a->len, PT_NPY_ERROR_INVALID, "more bytes");
    g_autoptr(GByteArray) b = make_npy ("{'descr': '<f4', 'fortran_order': False, "
                                        "'shape': (99999999999999999999999, 1), }", 0);
    assert_refused (b->data, b->len, PT_NPY_ERROR_INVALID, "shape");
  }
  /* Malformed dicts. */
  struct { const char *dict; int code; const char *fragment; } bad[] = {
    { "{'descr': '<f4', 'fortran_order': False, }", PT_NPY_ERROR_INVALID, "lacks" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1, }", PT_NPY_ERROR_INVALID, "unknown key" },
    { "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", PT_NPY_ERROR_INVALID, "twice" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (6), }", PT_NPY_ERROR_INVALID, "tuple" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 3), }", PT_NPY_ERROR_UNSUPPORTED, "2 dimensions" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", PT_NPY_ERROR_UNSUPPORTED, "single number" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 3), }", PT_NPY_ERROR_INVALID, "non-negative" },
    { "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", PT_NPY_ERROR_UNSUPPORTED, "<c8" },
    { "{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2, 3), }", PT_NPY_ERROR_INVALID, "fortran_order" },
    { "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", PT_NPY_ERROR_INVALID, "after" },
    { "['descr', '<f4']", PT_NPY_ERROR_INVALID, "dictionary" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GByteArray) a = make_npy (bad[i].dict, 24);
      assert_refused (a->data, a->len, bad[i].code, bad[i].fragment);
    }
  /* A header not ending with a newline; an unknown version. */
  {
    g_autoptr(GByteArray) a = make_npy (good, 24);
    a->data[10 + (a->data[8] | (a->data[9] << 8)) - 1] = ' ';
    assert_refused (a->data, a->len, PT_NPY_ERROR_INVALID, "newline");
    g_autoptr(GByteArray) v = make_npy (good, 24);
    v->data[6] = 4;
    assert_refused (v->data, v->len, PT_NPY_ERROR_UNSUPPORTED, "4.0");
  }
  /* Integers where floats are asked for, and the other way round. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) l = read_fixture ("i64_5.npy");
    guint64 n, d;
    g_assert_null (pt_npy_parse_f32 (g_bytes_get_data (l, NULL), g_bytes_get_size (l),
                                     "labels.npy", &n, &d, &error));
    g_assert_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED);
    g_clear_error (&error);
    g_autoptr(GBytes) f = read_fixture ("f32_3x4.npy");
    g_assert_null (pt_npy_parse_i64 (g_bytes_get_data (f, NULL), g_bytes_get_size (f),
                                     "emb.npy", &n, &error));
    g_assert_error (error, PT_NPY_ERROR, PT_NPY_ERROR_UNSUPPORTED);
  }
  /* A missing file. */
  {
    g_autoptr(GError) error = NULL;
    guint64 n, d;
    g_assert_null (pt_npy_load_f32 ("/nonexistent/x.npy", &n, &d, &error));
    g_assert_error (error, PT_NPY_ERROR, PT_NPY_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "/nonexistent/x.npy"));
  }
}

/* Random byte flips, truncations, extensions and header-length edits of
 * valid files: never a crash, and success only with consistent sizes. */
static void
test_npy_fuzz (void)
{
  const char *seeds[] = { "f32_3x4.npy", "i64_5.npy", "f64_2x3.npy", "f32_3x4_v2.npy", "u1_4.npy" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (1234);
  guint n_ok = 0, n_refused = 0;

  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      g_autoptr(GBytes) seed = read_fixture (seeds[s]);
      gsize seed_len;
      const guint8 *seed_data = g_bytes_get_data (seed, &seed_len);

      for (guint iter = 0; iter < 1000; iter++)
        {
          gsize len = seed_len;
          guint8 *buf = g_malloc (seed_len + 64);
          memcpy (buf, seed_data, seed_len);

          guint n_mut = g_rand_int_range (rand, 1, 5);
          for (guint m = 0; m < n_mut; m++)
            {
              switch (g_rand_int_range (rand, 0, 5))
                {
                case 0: /* a random byte anywhere */
                  buf[g_rand_int_range (rand, 0, (gint32) len)] = (guint8) g_rand_int (rand);
                  break;
                case 1: /* a byte in the header */
                  buf[g_rand_int_range (rand, 0, (gint32) MIN (len, 128))] = (guint8) g_rand_int_range (rand, 32, 127);
                  break;
                case 2: /* truncate */
                  len = g_rand_int_range (rand, 0, (gint32) len + 1);
                  break;
                case 3: /* extend */
                  {
                    gsize extra = g_rand_int_range (rand, 1, 16);
                    if (len + extra <= seed_len + 64)
                      {
                        memset (buf + len, 0, extra);
                        len += extra;
                      }
                  }
                  break;
                default: /* a digit of the shape */
                  for (gsize i = 10; i < MIN (len, 128); i++)
                    if (g_ascii_isdigit (buf[i]) && g_rand_boolean (rand))
                      {
                        buf[i] = (guint8) ('0' + g_rand_int_range (rand, 0, 10));
                        break;
                      }
                  break;
                }
              if (len == 0)
                break;
            }

          /* Exact-size copy so ASan sees any overread. */
          g_autofree guint8 *exact = g_memdup2 (buf, len);
          g_free (buf);
          PtNpyInfo info;
          g_autoptr(GError) error = NULL;
          if (pt_npy_parse_header (exact, len, "fuzz.npy", &info, &error))
            {
              g_assert_no_error (error);
              g_assert_cmpuint (info.data_offset, <=, len);
              g_assert_cmpuint (info.data_offset + info.data_size, ==, len);
              g_assert_cmpuint (info.shape[0] * info.shape[1] * info.item_size, ==, info.data_size);
              guint64 n, d;
              g_autoptr(GError) e2 = NULL;
              g_autofree float *f = pt_npy_parse_f32 (exact, len, "fuzz.npy", &n, &d, &e2);
              g_autofree gint64 *v = pt_npy_parse_i64 (exact, len, "fuzz.npy", &n, NULL);
              g_assert_true (f != NULL || v != NULL || e2 != NULL);
              n_ok++;
            }
          else
            {
              g_assert_nonnull (error);
              g_assert_nonnull (strstr (error->message, "fuzz.npy"));
              n_refused++;
            }
        }
    }
  g_test_message ("fuzz: %u accepted, %u refused", n_ok, n_refused);
  g_assert_cmpuint (n_refused, >, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/npy/header-bytes", test_npy_header_bytes);
  g_test_add_func ("/core/npy/write-matches-numpy", test_npy_write_matches_numpy);
  g_test_add_func ("/core/npy/read-fixtures", test_npy_read_fixtures);
  g_test_add_func ("/core/npy/round-trip", test_npy_round_trip);
  g_test_add_func ("/core/npy/hostile", test_npy_hostile);
  g_test_add_func ("/core/npy/fuzz", test_npy_fuzz);
  return g_test_run ();
}
