/* eval-test-util.h: small helpers shared by the evaluation tests. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include <math.h>

/* Loads tests/fixtures/eval-fixtures.json (parsed once per program). */
static inline JsonObject *
eval_fixture (const char *section)
{
  static JsonParser *parser = NULL;

  if (parser == NULL)
    {
      const char *dir = g_getenv ("PT_TEST_FIXTURES");
      g_autofree char *path = NULL;
      g_autoptr(GError) error = NULL;

      g_assert_nonnull (dir);
      path = g_build_filename (dir, "eval-fixtures.json", NULL);
      parser = json_parser_new ();
      json_parser_load_from_file (parser, path, &error);
      g_assert_no_error (error);
    }
  JsonObject *root = json_node_get_object (json_parser_get_root (parser));
  return json_object_get_object_member (root, section);
}

static inline float *
fixture_floats (JsonObject *o, const char *name, guint *len)
{
  JsonArray *a = json_object_get_array_member (o, name);
  guint n = json_array_get_length (a);
  float *v = g_new (float, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    v[i] = (float) json_array_get_double_element (a, i);
  if (len)
    *len = n;
  return v;
}

static inline double *
fixture_doubles (JsonObject *o, const char *name, guint *len)
{
  JsonArray *a = json_object_get_array_member (o, name);
  guint n = json_array_get_length (a);
  double *v = g_new (double, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    v[i] = json_array_get_double_element (a, i);
  if (len)
    *len = n;
  return v;
}

static inline int *
fixture_ints (JsonObject *o, const char *name, guint *len)
{
  JsonArray *a = json_object_get_array_member (o, name);
  guint n = json_array_get_length (a);
  int *v = g_new (int, MAX (n, 1));

  for (guint i = 0; i < n; i++)
    v[i] = (int) json_array_get_int_element (a, i);
  if (len)
    *len = n;
  return v;
}

/* n x d points around k well-separated centres; labels in [0, k). */
static inline void
make_clusters (float *x, int *y, int n, int d, int k, double spread,
               double noise, guint32 seed)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (seed);
  g_autofree double *centres = g_new (double, (gsize) k * d);

  for (int i = 0; i < k * d; i++)
    centres[i] = g_rand_double_range (rand, -spread, spread);
  for (int i = 0; i < n; i++)
    {
      int c = i % k;
      y[i] = c;
      for (int j = 0; j < d; j++)
        {
          double u1 = g_rand_double_range (rand, 1e-12, 1.0);
          double u2 = g_rand_double (rand);
          double g = sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
          x[(gsize) i * d + j] = (float) (centres[c * d + j] + noise * g);
        }
    }
}

static inline double
gauss (GRand *rand)
{
  double u1 = g_rand_double_range (rand, 1e-12, 1.0);
  double u2 = g_rand_double (rand);
  return sqrt (-2.0 * log (u1)) * cos (2.0 * G_PI * u2);
}
