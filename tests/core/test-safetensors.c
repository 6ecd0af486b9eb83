/* Tests for safetensors reading and writing. */
#include <math.h>
#include <string.h>
#include <glib/gstdio.h>
#include "pt-safetensors.h"

static char *
fixture_path (const char *name)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");
  g_assert_nonnull (dir);
  return g_build_filename (dir, "interop", name, NULL);
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

/* The values make_safetensors_fixtures.py writes. */
static void
expected_conv (float out[18])
{
  for (int i = 0; i < 18; i++)
    out[i] = (float) i * 0.1f - 0.5f;
}

static void
test_safetensors_read_fixture (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("mixed.safetensors");
  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, &error);

  g_assert_no_error (error);
  g_assert_nonnull (st);
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, 5);

  /* Data order as the reference writes it: I64, F64, F32, BF16, F16. */
  const char *order[] = { "steps", "bn.running_mean", "conv.weight", "bf", "half" };
  for (guint i = 0; i < 5; i++)
    {
      g_assert_cmpstr (pt_safetensors_get_name (st, i), ==, order[i]);
      g_assert_cmpint (pt_safetensors_lookup (st, order[i]), ==, (int) i);
    }
  g_assert_cmpint (pt_safetensors_lookup (st, "nope"), ==, -1);

  int conv = pt_safetensors_lookup (st, "conv.weight");
  guint ndim = 0;
  const guint64 *shape = pt_safetensors_get_shape (st, (guint) conv, &ndim);
  g_assert_cmpuint (ndim, ==, 4);
  g_assert_cmpuint (shape[0], ==, 2);
  g_assert_cmpuint (shape[1], ==, 1);
  g_assert_cmpuint (shape[2], ==, 3);
  g_assert_cmpuint (shape[3], ==, 3);
  g_assert_cmpint (pt_safetensors_get_dtype (st, (guint) conv), ==, PT_SAFETENSORS_F32);
  g_assert_cmpuint (pt_safetensors_get_n_elements (st, (guint) conv), ==, 18);

  float w[18], expected[18];
  expected_conv (expected);
  g_assert_true (pt_safetensors_read_f32 (st, "conv.weight", w, 18, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (w, sizeof w, expected, sizeof expected);

  float mean[2];
  g_assert_true (pt_safetensors_read_f32 (st, "bn.running_mean", mean, 2, &error));
  g_assert_no_error (error);
  g_assert_true (mean[0] == (float) (1.0 / 3.0));
  g_assert_true (mean[1] == (float) -2.0e-5);

  float half[5];
  g_assert_true (pt_safetensors_read_f32 (st, "half", half, 5, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (half[0], ==, 1.0f);
  g_assert_cmpfloat (half[1], ==, -2.5f);
  g_assert_cmpfloat (half[2], ==, ldexpf (1.0f, -14));
  g_assert_cmpfloat (half[3], ==, 65504.0f);
  g_assert_cmpfloat (half[4], ==, ldexpf (1.0f, -24));

  float bf[3];
  g_assert_true (pt_safetensors_read_f32 (st, "bf", bf, 3, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (bf[0], ==, 1.0f);
  g_assert_cmpfloat (bf[1], ==, -3.0f);
  g_assert_cmpfloat (bf[2], ==, 0.15625f);

  gint64 steps[2];
  g_assert_true (pt_safetensors_read_i64 (st, "steps", steps, 2, &error));
  g_assert_no_error (error);
  g_assert_cmpint (steps[0], ==, 7);
  g_assert_cmpint (steps[1], ==, -1);

  g_assert_cmpstr (pt_safetensors_get_metadata (st, "format"), ==, "pt");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "note"), ==, "fixture, \"quoted\"");
  g_assert_null (pt_safetensors_get_metadata (st, "missing"));
  g_autofree const char **keys = pt_safetensors_list_metadata (st);
  g_assert_cmpstr (keys[0], ==, "format");
  g_assert_cmpstr (keys[1], ==, "note");
  g_assert_null (keys[2]);

  /* Wrong expectations are refused, not half-done. */
  g_assert_false (pt_safetensors_read_f32 (st, "conv.weight", w, 17, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_false (pt_safetensors_read_f32 (st, "steps", w, 2, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_false (pt_safetensors_read_i64 (st, "half", steps, 5, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_clear_error (&error);
  g_assert_false (pt_safetensors_read_f32 (st, "absent", w, 1, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "absent"));
}

static void
test_safetensors_write_matches_reference (void)
{
  float conv[18], bias[2] = { 0.25f, -0.75f }, scalar = 3.5f;
  guint64 conv_shape[4] = { 2, 1, 3, 3 }, bias_shape[1] = { 2 };
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-st-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "w.safetensors", NULL);
  g_autoptr(PtSafetensorsWriter) w = pt_safetensors_writer_new ();

  expected_conv (conv);
  pt_safetensors_writer_add_f32 (w, "a.bias", bias, bias_shape, 1);
  pt_safetensors_writer_add_f32 (w, "a.weight", conv, conv_shape, 4);
  pt_safetensors_writer_add_f32 (w, "scalar", &scalar, NULL, 0);
  pt_safetensors_writer_set_metadata (w, "format", "pt");

  /* The header by the spec: LE length, JSON from '{', padded to 8 with spaces. */
  g_autoptr(GBytes) header = pt_safetensors_writer_build_header (w);
  gsize hlen;
  const guint8 *h = g_bytes_get_data (header, &hlen);
  guint64 n = 0;
  for (int i = 0; i < 8; i++)
    n |= (guint64) h[i] << (8 * i);
  g_assert_cmpuint (n, ==, hlen - 8);
  g_assert_cmpuint (n % 8, ==, 0);
  g_assert_cmpint (h[8], ==, '{');
  g_autofree char *json = g_strndup ((const char *) h + 8, n);
  g_strchomp (json);
  g_assert_cmpstr (json, ==,
                   "{\"__metadata__\":{\"format\":\"pt\"},"
                   "\"a.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                   "\"a.weight\":{\"dtype\":\"F32\",\"shape\":[2,1,3,3],\"data_offsets\":[8,80]},"
                   "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[80,84]}}");

  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);

  /* Byte for byte what the reference layout gives. */
  g_autoptr(GBytes) ours = read_file_bytes (path);
  g_autofree char *ref_path = fixture_path ("f32.safetensors");
  g_autoptr(GBytes) ref = read_file_bytes (ref_path);
  g_assert_true (g_bytes_equal (ours, ref));

  g_unlink (path);
  g_rmdir (dir);
}

static void
test_safetensors_round_trip (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-st-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "r.safetensors", NULL);
  g_autoptr(GRand) rand = g_rand_new_with_seed (5);
  g_autoptr(PtSafetensorsWriter) w = pt_safetensors_writer_new ();
  const guint n_tensors = 7;
  float *data[7];
  guint64 shapes[7][3];

  for (guint t = 0; t < n_tensors; t++)
    {
      shapes[t][0] = g_rand_int_range (rand, 0, 9);
      shapes[t][1] = g_rand_int_range (rand, 1, 9);
      shapes[t][2] = g_rand_int_range (rand, 1, 5);
      gsize count = shapes[t][0] * shapes[t][1] * shapes[t][2];
      data[t] = g_new (float, MAX (count, 1));
      for (gsize i = 0; i < count; i++)
        {
          guint32 bits = g_rand_int (rand);
          memcpy (&data[t][i], &bits, 4);
        }
      g_autofree char *name = g_strdup_printf ("layer%u.weight\"\\\n", t);
      pt_safetensors_writer_add_f32 (w, name, data[t], shapes[t], 3);
    }
  pt_safetensors_writer_set_metadata (w, "method", "simclr");
  pt_safetensors_writer_set_metadata (w, "odd \"key\"", "tab\there\nnewline é");
  pt_safetensors_writer_set_metadata (w, "method", "mae");   /* replaces */
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);

  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (pt_safetensors_get_n_tensors (st), ==, n_tensors);
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "method"), ==, "mae");
  g_assert_cmpstr (pt_safetensors_get_metadata (st, "odd \"key\""), ==, "tab\there\nnewline é");
  for (guint t = 0; t < n_tensors; t++)
    {
      g_autofree char *name = g_strdup_printf ("layer%u.weight\"\\\n", t);
      gsize count = shapes[t][0] * shapes[t][1] * shapes[t][2];
      int idx = pt_safetensors_lookup (st, name);
      g_assert_cmpint (idx, >=, 0);
      guint ndim;
      const guint64 *shape = pt_safetensors_get_shape (st, (guint) idx, &ndim);
      g_assert_cmpuint (ndim, ==, 3);
      g_assert_cmpmem (shape, 3 * 8, shapes[t], 3 * 8);
      g_autofree float *back = g_new (float, MAX (count, 1));
      g_assert_true (pt_safetensors_read_f32 (st, name, back, count, &error));
      g_assert_no_error (error);
      g_assert_cmpmem (back, count * 4, data[t], count * 4);
      g_free (data[t]);
    }
  g_unlink (path);
  g_rmdir (dir);
}

/* A file from a header text (unpadded is fine for the reader) and data. */
static GBytes *
make_file (const char *header,
           gsize       data_len)
{
  gsize hlen = strlen (header);
  GByteArray *a = g_byte_array_new ();
  guint8 prefix[8];
  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8) ((guint64) hlen >> (8 * i));
  g_byte_array_append (a, prefix, 8);
  g_byte_array_append (a, (const guint8 *) header, hlen);
  for (gsize i = 0; i < data_len; i++)
    {
      guint8 z = (guint8) i;
      g_byte_array_append (a, &z, 1);
    }
  return g_byte_array_free_to_bytes (a);
}

static void
assert_refused (GBytes     *bytes,
                int         code,
                const char *fragment)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtSafetensors) st = pt_safetensors_new_from_bytes (bytes, "hostile.safetensors", &error);

  g_assert_null (st);
  g_assert_error (error, PT_SAFETENSORS_ERROR, code);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "hostile.safetensors"));
  g_assert_nonnull (strstr (error->message, fragment));
}

#define T(name, dtype, shape, b, e) \
  "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":[" #b "," #e "]}"

static void
test_safetensors_hostile (void)
{
  /* Sanity: the helper makes valid files. */
  {
    g_autoptr(GBytes) ok = make_file ("{" T ("a", "F32", "[2]", 0, 8) "," T ("b", "F16", "[3]", 8, 14) "}", 14);
    g_autoptr(GError) error = NULL;
    g_autoptr(PtSafetensors) st = pt_safetensors_new_from_bytes (ok, "ok", &error);
    g_assert_no_error (error);
    g_assert_nonnull (st);
    g_autoptr(GBytes) empty = make_file ("{}", 0);
    g_autoptr(PtSafetensors) st2 = pt_safetensors_new_from_bytes (empty, "ok", &error);
    g_assert_no_error (error);
    g_assert_cmpuint (pt_safetensors_get_n_tensors (st2), ==, 0);
  }

  /* Header length past the end of the file. */
  {
    guint8 raw[16] = { 200, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' ' };
    g_autoptr(GBytes) b = g_bytes_new (raw, sizeof raw);
    assert_refused (b, PT_SAFETENSORS_ERROR_INVALID, "past the end");
    /* A length so large that 8 + N wraps. */
    guint8 wrap[16] = { 0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}' };
    g_autoptr(GBytes) w = g_bytes_new (wrap, sizeof wrap);
    assert_refused (w, PT_SAFETENSORS_ERROR_INVALID, "100,000,000");
    g_autoptr(GBytes) tiny = g_bytes_new (raw, 5);
    assert_refused (tiny, PT_SAFETENSORS_ERROR_INVALID, "too short");
  }
  /* Header length over 100 MB. */
  {
    guint8 raw[16] = { 0x01, 0xe1, 0xf5, 0x05, 0, 0, 0, 0, '{', '}' };  /* 100,000,001 */
    g_autoptr(GBytes) b = g_bytes_new (raw, sizeof raw);
    assert_refused (b, PT_SAFETENSORS_ERROR_INVALID, "100,000,000");
  }

  struct { const char *header; gsize data_len; int code; const char *fragment; } bad[] = {
    /* overlapping offsets */
    { "{" T ("a", "F32", "[2]", 0, 8) "," T ("b", "F32", "[2]", 4, 12) "}", 12,
      PT_SAFETENSORS_ERROR_INVALID, "overlaps" },
    /* a gap between tensors */
    { "{" T ("a", "F32", "[2]", 0, 8) "," T ("b", "F32", "[2]", 12, 20) "}", 20,
      PT_SAFETENSORS_ERROR_INVALID, "gap" },
    /* not starting at 0 */
    { "{" T ("a", "F32", "[2]", 4, 12) "}", 12, PT_SAFETENSORS_ERROR_INVALID, "gap" },
    /* trailing bytes after the last tensor */
    { "{" T ("a", "F32", "[2]", 0, 8) "}", 11, PT_SAFETENSORS_ERROR_INVALID, "3 bytes follow" },
    /* the last tensor past the end (truncated file) */
    { "{" T ("a", "F32", "[4]", 0, 16) "}", 12, PT_SAFETENSORS_ERROR_INVALID, "past the end" },
    /* a shape whose byte size overflows u64 */
    { "{" T ("a", "F32", "[4294967296,4294967296,4]", 0, 0) "}", 0, PT_SAFETENSORS_ERROR_INVALID, "64-bit" },
    { "{" T ("a", "F64", "[2305843009213693952]", 0, 0) "}", 0, PT_SAFETENSORS_ERROR_INVALID, "64-bit" },
    /* shape and offsets disagree */
    { "{" T ("a", "F32", "[3]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "span" },
    /* a header not starting with '{' */
    { " {" T ("a", "F32", "[2]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "start with" },
    { "[1,2]", 0, PT_SAFETENSORS_ERROR_INVALID, "start with" },
    /* non-string metadata */
    { "{\"__metadata__\":{\"epoch\":3}," T ("a", "F32", "[2]", 0, 8) "}", 8,
      PT_SAFETENSORS_ERROR_INVALID, "epoch" },
    { "{\"__metadata__\":[\"x\"]}", 0, PT_SAFETENSORS_ERROR_INVALID, "__metadata__" },
    /* unknown dtype */
    { "{" T ("a", "Q7", "[2]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_UNSUPPORTED, "Q7" },
    { "{" T ("a", "I32", "[2]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_UNSUPPORTED, "I32" },
    /* invalid JSON */
    { "{\"a\":{\"dtype\":\"F32\",", 0, PT_SAFETENSORS_ERROR_INVALID, "JSON" },
    { "{} trailing", 0, PT_SAFETENSORS_ERROR_INVALID, "JSON" },
    /* negative, fractional or missing numbers */
    { "{" T ("a", "F32", "[-2]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "non-negative" },
    { "{" T ("a", "F32", "[2.0]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "non-negative" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, PT_SAFETENSORS_ERROR_INVALID, "data_offsets" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, PT_SAFETENSORS_ERROR_INVALID, "lacks" },
    { "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}}", 8, PT_SAFETENSORS_ERROR_INVALID, "unknown field" },
    { "{\"a\":[1]}", 0, PT_SAFETENSORS_ERROR_INVALID, "not an object" },
    { "{" T ("a", "F32", "[2]", 8, 0) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "ends before" },
    { "{" T ("a", "F32", "[1,1,1,1,1,1,1,1,2]", 0, 8) "}", 8, PT_SAFETENSORS_ERROR_INVALID, "dimensions" },
    /* deep nesting never reaches the JSON parser */
    { "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 0,
      PT_SAFETENSORS_ERROR_INVALID, "expected shape" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GBytes) b = make_file (bad[i].header, bad[i].data_len);
      assert_refused (b, bad[i].code, bad[i].fragment);
    }

  /* Invalid UTF-8 and a NUL in the header. */
  {
    g_autoptr(GBytes) b = make_file ("{\"\xff\":1}", 0);
    assert_refused (b, PT_SAFETENSORS_ERROR_INVALID, "UTF-8");
    guint8 raw[12] = { 4, 0, 0, 0, 0, 0, 0, 0, '{', 0, '}', ' ' };
    g_autoptr(GBytes) nul = g_bytes_new (raw, sizeof raw);
    assert_refused (nul, PT_SAFETENSORS_ERROR_INVALID, "UTF-8");
  }
  /* A missing file. */
  {
    g_autoptr(GError) error = NULL;
    g_assert_null (pt_safetensors_load ("/nonexistent/w.safetensors", &error));
    g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "/nonexistent/w.safetensors"));
  }
}

static void
test_safetensors_half (void)
{
  g_assert_cmpfloat (pt_half_to_float (0x0000), ==, 0.0f);
  g_assert_true (signbit (pt_half_to_float (0x8000)));
  g_assert_cmpfloat (pt_half_to_float (0x3c00), ==, 1.0f);
  g_assert_cmpfloat (pt_half_to_float (0xc000), ==, -2.0f);
  g_assert_cmpfloat (pt_half_to_float (0x7bff), ==, 65504.0f);
  g_assert_cmpfloat (pt_half_to_float (0x0001), ==, ldexpf (1.0f, -24));
  g_assert_cmpfloat (pt_half_to_float (0x03ff), ==, ldexpf (1023.0f, -24));
  g_assert_cmpfloat (pt_half_to_float (0x3555), ==, 0.333251953125f);
  g_assert_true (isinf (pt_half_to_float (0x7c00)) && pt_half_to_float (0x7c00) > 0);
  g_assert_true (isinf (pt_half_to_float (0xfc00)) && pt_half_to_float (0xfc00) < 0);
  g_assert_true (isnan (pt_half_to_float (0x7e00)));
  g_assert_cmpfloat (pt_bfloat16_to_float (0x3f80), ==, 1.0f);
  g_assert_cmpfloat (pt_bfloat16_to_float (0xc040), ==, -3.0f);
  g_assert_true (isnan (pt_bfloat16_to_float (0x7fc0)));
}

/* Seeded mutations of valid files: never a crash; success only when every
 * tensor's byte size equals its span and the spans tile the data area. */
static void
test_safetensors_fuzz (void)
{
  const char *seeds[] = { "mixed.safetensors", "f32.safetensors" };
  g_autoptr(GRand) rand = g_rand_new_with_seed (99);
  guint n_ok = 0, n_refused = 0;

  for (guint s = 0; s < G_N_ELEMENTS (seeds); s++)
    {
      g_autofree char *path = fixture_path (seeds[s]);
      g_autoptr(GBytes) seed = read_file_bytes (path);
      gsize seed_len;
      const guint8 *seed_data = g_bytes_get_data (seed, &seed_len);
      guint64 hlen = 0;
      for (int i = 0; i < 8; i++)
        hlen |= (guint64) seed_data[i] << (8 * i);

      for (guint iter = 0; iter < 1500; iter++)
        {
          guint8 *buf = g_malloc (seed_len + 64);
          gsize len = seed_len;
          memcpy (buf, seed_data, seed_len);

          guint n_mut = g_rand_int_range (rand, 1, 4);
          for (guint m = 0; m < n_mut; m++)
            {
              switch (g_rand_int_range (rand, 0, 6))
                {
                case 0: /* any byte */
                  buf[g_rand_int_range (rand, 0, (gint32) len)] = (guint8) g_rand_int (rand);
                  break;
                case 1: /* a digit in the header: shapes and offsets */
                  for (int tries = 0; tries < 64; tries++)
                    {
                      gsize i = 8 + (gsize) g_rand_int_range (rand, 0, (gint32) MIN (hlen, len - 8));
                      if (i < len && g_ascii_isdigit (buf[i]))
                        {
                          buf[i] = (guint8) ('0' + g_rand_int_range (rand, 0, 10));
                          break;
                        }
                    }
                  break;
                case 2: /* a printable byte in the header */
                  buf[8 + g_rand_int_range (rand, 0, (gint32) MIN (hlen, len - 8))] =
                    (guint8) g_rand_int_range (rand, 32, 127);
                  break;
                case 3: /* truncate */
                  len = (gsize) g_rand_int_range (rand, 9, (gint32) len + 1);
                  break;
                case 4: /* extend */
                  {
                    gsize extra = (gsize) g_rand_int_range (rand, 1, 9);
                    if (len + extra <= seed_len + 64)
                      {
                        memset (buf + len, 0x41, extra);
                        len += extra;
                      }
                  }
                  break;
                default: /* the length prefix */
                  buf[g_rand_int_range (rand, 0, 8)] = (guint8) g_rand_int (rand);
                  break;
                }
              if (len <= 9)
                break;
            }

          g_autoptr(GBytes) bytes = g_bytes_new (buf, len);   /* exact size for ASan */
          g_free (buf);
          g_autoptr(GError) error = NULL;
          g_autoptr(PtSafetensors) st = pt_safetensors_new_from_bytes (bytes, "fuzz.st", &error);
          if (st == NULL)
            {
              g_assert_nonnull (error);
              g_assert_nonnull (strstr (error->message, "fuzz.st"));
              n_refused++;
              continue;
            }
          g_assert_no_error (error);
          n_ok++;

          /* Consistency of everything accepted. */
          guint64 stored_hlen = 0;
          const guint8 *d = g_bytes_get_data (bytes, NULL);
          for (int i = 0; i < 8; i++)
            stored_hlen |= (guint64) d[i] << (8 * i);
          gsize total = 0;
          for (guint t = 0; t < pt_safetensors_get_n_tensors (st); t++)
            {
              gsize size;
              const guint8 *p = pt_safetensors_get_data (st, t, &size);
              guint64 count = pt_safetensors_get_n_elements (st, t);
              gsize item = 0;
              switch (pt_safetensors_get_dtype (st, t))
                {
                case PT_SAFETENSORS_F32: item = 4; break;
                case PT_SAFETENSORS_F16: case PT_SAFETENSORS_BF16: item = 2; break;
                case PT_SAFETENSORS_F64: case PT_SAFETENSORS_I64: item = 8; break;
                default: g_assert_not_reached ();
                }
              g_assert_cmpuint (count * item, ==, size);
              g_assert_true (p == d + 8 + stored_hlen + total);
              total += size;
              const char *name = pt_safetensors_get_name (st, t);
              g_autofree float *f = g_new (float, MAX (count, 1));
              g_autofree gint64 *v = g_new (gint64, MAX (count, 1));
              gboolean read = pt_safetensors_read_f32 (st, name, f, count, NULL) ||
                              pt_safetensors_read_i64 (st, name, v, count, NULL);
              /* A duplicated name resolves to one entry; any other must read. */
              g_assert_true (read || pt_safetensors_lookup (st, name) != (int) t);
            }
          g_assert_cmpuint (8 + stored_hlen + total, ==, len);
        }
    }
  g_test_message ("fuzz: %u accepted, %u refused", n_ok, n_refused);
  g_assert_cmpuint (n_refused, >, 0);
  g_assert_cmpuint (n_ok, >, 0);
}

static void
test_safetensors_named (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = fixture_path ("mixed.safetensors");
  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);

  float conv[18], mean[2], half[5], bf[3];
  guint64 conv_shape[4] = { 2, 1, 3, 3 }, mean_shape[1] = { 2 }, half_shape[1] = { 5 },
          bf_shape[1] = { 3 }, wrong_shape[2] = { 18, 1 };
  PtNamedTensor all[4] = {
    { "conv.weight", conv, conv_shape, 4 },
    { "bn.running_mean", mean, mean_shape, 1 },
    { "half", half, half_shape, 1 },
    { "bf", bf, bf_shape, 1 },
  };

  /* Every failure leaves the destinations untouched. */
#define RESET() do { for (int i_ = 0; i_ < 18; i_++) conv[i_] = 42.0f; \
                     mean[0] = mean[1] = 42.0f; } while (0)
#define UNTOUCHED() do { for (int i_ = 0; i_ < 18; i_++) g_assert_cmpfloat (conv[i_], ==, 42.0f); \
                         g_assert_cmpfloat (mean[0], ==, 42.0f); } while (0)

  /* A tensor of the model missing from the file (listed last). */
  RESET ();
  PtNamedTensor with_missing[5];
  memcpy (with_missing, all, sizeof all);
  with_missing[4] = (PtNamedTensor) { "fc.weight", mean, mean_shape, 1 };
  g_assert_false (pt_safetensors_read_named (st, with_missing, 5, FALSE, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "fc.weight"));
  g_clear_error (&error);
  UNTOUCHED ();

  /* The same element count in another shape. */
  PtNamedTensor reshaped[4];
  memcpy (reshaped, all, sizeof all);
  reshaped[3] = all[0];
  reshaped[0] = (PtNamedTensor) { "bf", bf, bf_shape, 1 };
  reshaped[3].shape = wrong_shape;
  reshaped[3].ndim = 2;
  g_assert_false (pt_safetensors_read_named (st, reshaped, 4, FALSE, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "[2, 1, 3, 3]"));
  g_assert_nonnull (strstr (error->message, "[18, 1]"));
  g_clear_error (&error);
  UNTOUCHED ();

  /* A file tensor the model lacks. */
  g_assert_false (pt_safetensors_read_named (st, all, 3, FALSE, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_assert_nonnull (strstr (error->message, "“bf”"));
  g_clear_error (&error);
  UNTOUCHED ();

  /* An integer tensor asked for as weights. */
  gint64 dummy[2];
  guint64 steps_shape[1] = { 2 };
  PtNamedTensor ints[1] = { { "steps", (float *) dummy, steps_shape, 1 } };
  g_assert_false (pt_safetensors_read_named (st, ints, 1, TRUE, &error));
  g_assert_error (error, PT_SAFETENSORS_ERROR, PT_SAFETENSORS_ERROR_MISMATCH);
  g_clear_error (&error);

  /* Allowed extras, then the full set (the I64 tensor never counts as extra). */
  g_assert_true (pt_safetensors_read_named (st, all, 3, TRUE, &error));
  g_assert_no_error (error);
  RESET ();
  g_assert_true (pt_safetensors_read_named (st, all, 4, FALSE, &error));
  g_assert_no_error (error);
  float expected[18];
  expected_conv (expected);
  g_assert_cmpmem (conv, sizeof conv, expected, sizeof expected);
  g_assert_true (mean[0] == (float) (1.0 / 3.0));
  g_assert_cmpfloat (bf[1], ==, -3.0f);
  g_assert_cmpfloat (half[3], ==, 65504.0f);
#undef RESET
#undef UNTOUCHED
}

static void
test_safetensors_write_i64 (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("pt-st-XXXXXX", &error);
  g_autofree char *path = g_build_filename (dir, "bn.safetensors", NULL);
  g_autoptr(PtSafetensorsWriter) w = pt_safetensors_writer_new ();
  float weight[3] = { 1, 2, 3 };
  gint64 tracked = 1234567890123;
  guint64 shape[1] = { 3 };

  pt_safetensors_writer_add_f32 (w, "bn.weight", weight, shape, 1);
  pt_safetensors_writer_add_i64 (w, "bn.num_batches_tracked", &tracked, NULL, 0);
  g_autoptr(GBytes) header = pt_safetensors_writer_build_header (w);
  g_autofree char *json = g_strndup ((const char *) g_bytes_get_data (header, NULL) + 8,
                                     g_bytes_get_size (header) - 8);
  g_assert_nonnull (strstr (json, "\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],"
                                  "\"data_offsets\":[12,20]}"));
  g_assert_true (pt_safetensors_writer_save (w, path, &error));
  g_assert_no_error (error);

  g_autoptr(PtSafetensors) st = pt_safetensors_load (path, &error);
  g_assert_no_error (error);
  gint64 back = 0;
  g_assert_true (pt_safetensors_read_i64 (st, "bn.num_batches_tracked", &back, 1, &error));
  g_assert_cmpint (back, ==, tracked);
  g_unlink (path);
  g_rmdir (dir);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/safetensors/read-fixture", test_safetensors_read_fixture);
  g_test_add_func ("/core/safetensors/write-matches-reference", test_safetensors_write_matches_reference);
  g_test_add_func ("/core/safetensors/round-trip", test_safetensors_round_trip);
  g_test_add_func ("/core/safetensors/hostile", test_safetensors_hostile);
  g_test_add_func ("/core/safetensors/half", test_safetensors_half);
  g_test_add_func ("/core/safetensors/fuzz", test_safetensors_fuzz);
  g_test_add_func ("/core/safetensors/named", test_safetensors_named);
  g_test_add_func ("/core/safetensors/write-i64", test_safetensors_write_i64);
  return g_test_run ();
}
