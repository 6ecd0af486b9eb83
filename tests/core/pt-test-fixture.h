/* pt-test-fixture.h: read the .ptfx reference fixtures written by
 * tests/fixtures/make_fixtures.py, and compare float arrays. */
#pragma once

#include <math.h>
#include <string.h>
#include <glib.h>

typedef struct
{
  int    ndim;
  int    shape[8];
  gsize  numel;
  float *data;
} PtFixtureTensor;

static inline void
pt_fixture_tensor_free (gpointer p)
{
  PtFixtureTensor *t = p;

  g_free (t->data);
  g_free (t);
}

static inline guint32
pt_fixture_u32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

/* name -> PtFixtureTensor; aborts the test on a malformed file. */
static inline GHashTable *
pt_fixture_load (const char *basename)
{
  const char *dir = g_getenv ("PT_TEST_FIXTURES");
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  GHashTable *table;
  gsize len = 0, pos;
  guint32 count;

  g_assert_nonnull (dir);
  path = g_build_filename (dir, basename, NULL);
  g_file_get_contents (path, &contents, &len, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (len, >=, 12);
  g_assert_cmpmem (contents, 4, "PTFX", 4);
  g_assert_cmpuint (pt_fixture_u32 ((guint8 *) contents + 4), ==, 1);
  count = pt_fixture_u32 ((guint8 *) contents + 8);
  pos = 12;
  table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, pt_fixture_tensor_free);
  for (guint32 i = 0; i < count; i++)
    {
      PtFixtureTensor *t = g_new0 (PtFixtureTensor, 1);
      guint32 name_len;
      char *name;

      g_assert_cmpuint (pos + 4, <=, len);
      name_len = pt_fixture_u32 ((guint8 *) contents + pos);
      pos += 4;
      g_assert_cmpuint (pos + name_len + 4, <=, len);
      name = g_strndup (contents + pos, name_len);
      pos += name_len;
      t->ndim = (int) pt_fixture_u32 ((guint8 *) contents + pos);
      pos += 4;
      g_assert_cmpint (t->ndim, >=, 1);
      g_assert_cmpint (t->ndim, <=, 8);
      t->numel = 1;
      for (int d = 0; d < t->ndim; d++)
        {
          g_assert_cmpuint (pos + 4, <=, len);
          t->shape[d] = (int) pt_fixture_u32 ((guint8 *) contents + pos);
          t->numel *= t->shape[d];
          pos += 4;
        }
      g_assert_cmpuint (pos + t->numel * 4, <=, len);
      t->data = g_new (float, MAX (t->numel, 1));
      for (gsize k = 0; k < t->numel; k++)
        {
          guint32 bits = pt_fixture_u32 ((guint8 *) contents + pos + 4 * k);

          memcpy (&t->data[k], &bits, 4);
        }
      pos += t->numel * 4;
      g_hash_table_insert (table, name, t);
    }
  g_assert_cmpuint (pos, ==, len);
  return table;
}

static inline PtFixtureTensor *
pt_fixture_get (GHashTable *table,
                const char *name)
{
  PtFixtureTensor *t = g_hash_table_lookup (table, name);

  if (t == NULL)
    g_error ("fixture has no tensor “%s”", name);
  return t;
}

/* Asserts |a - b| <= atol + rtol |b| elementwise; prints the first
 * mismatches (up to 5) before failing. */
static inline void
pt_assert_close (const char  *what,
                 const float *actual,
                 const float *expected,
                 gsize        n,
                 double       atol,
                 double       rtol)
{
  guint bad = 0;
  double worst = 0.0;

  for (gsize i = 0; i < n; i++)
    {
      double a = actual[i], e = expected[i];
      double err = fabs (a - e), tol = atol + rtol * fabs (e);

      if (!(err <= tol))
        {
          if (bad < 5)
            g_printerr ("# %s[%" G_GSIZE_FORMAT "]: got %.8g, expected %.8g (error %.3g, tolerance %.3g)\n",
                        what, i, a, e, err, tol);
          bad++;
        }
      worst = MAX (worst, err / (tol > 0 ? tol : 1.0));
    }
  if (bad > 0)
    g_error ("%s: %u of %" G_GSIZE_FORMAT " values out of tolerance", what, bad, n);
  g_test_message ("%s: %" G_GSIZE_FORMAT " values, worst error/tolerance %.3f", what, n, worst);
}
