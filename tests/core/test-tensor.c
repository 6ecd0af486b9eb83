/* Tests for tensors and the per-step arena. */
#include <string.h>

#include "pt-tensor.h"

static void
test_arena_alloc (void)
{
  g_autoptr(PtArena) arena = pt_arena_new (1024);
  char *a = pt_arena_alloc (arena, 3);
  char *b = pt_arena_alloc (arena, 100);
  float *z = pt_arena_alloc0 (arena, 50 * sizeof (float));

  g_assert_cmpuint ((guintptr) a % 64, ==, 0);
  g_assert_cmpuint ((guintptr) b % 64, ==, 0);
  g_assert_true (b >= a + 3);
  for (int i = 0; i < 50; i++)
    g_assert_cmpfloat (z[i], ==, 0.0f);
  memset (b, 1, 100);   /* writable (ASan checks) */
  g_assert_cmpuint (pt_arena_get_used (arena), >=, 3 + 100 + 200);
}

static void
test_arena_reset_no_malloc (void)
{
  g_autoptr(PtArena) arena = pt_arena_new (0);
  guint after_first = 0;

  /* A "step" that overflows the first block several times. */
  for (int step = 0; step < 5; step++)
    {
      pt_arena_reset (arena);
      for (int i = 0; i < 40; i++)
        memset (pt_arena_alloc (arena, 100000), step, 100000);
      if (step == 0)
        g_assert_cmpuint (pt_arena_get_n_mallocs (arena), >, 1);
      if (step == 1)
        after_first = pt_arena_get_n_mallocs (arena);
    }
  /* After the first step, the merged block holds a whole step. */
  g_assert_cmpuint (pt_arena_get_n_mallocs (arena), ==, after_first);
  g_assert_cmpuint (pt_arena_get_capacity (arena), >=, 40 * 100000);
  pt_arena_reset (arena);
  g_assert_cmpuint (pt_arena_get_used (arena), ==, 0);
}

static void
test_tensor_shapes (void)
{
  g_autoptr(PtArena) arena = pt_arena_new (0);
  PtTensor *t = pt_tensor_new_4d (arena, 2, 3, 4, 5);
  PtTensor *u = pt_tensor_new0 (arena, 2, (int[]) { 6, 20 });
  PtTensor v;
  float buf[6];

  g_assert_cmpint (t->ndim, ==, 4);
  g_assert_cmpuint (t->numel, ==, 120);
  g_assert_cmpint (pt_tensor_dim (t, -1), ==, 5);
  g_assert_cmpint (pt_tensor_dim (t, 1), ==, 3);
  g_assert_null (t->grad);
  g_assert_false (t->requires_grad);
  g_assert_cmpuint ((guintptr) t->data % 64, ==, 0);
  for (gsize i = 0; i < u->numel; i++)
    g_assert_cmpfloat (u->data[i], ==, 0.0f);
  g_assert_false (pt_tensor_same_shape (t, u));
  g_assert_true (pt_tensor_same_shape (t, t));

  /* Lazily allocated, zeroed gradient. */
  g_assert_nonnull (pt_tensor_ensure_grad (t));
  g_assert_true (pt_tensor_ensure_grad (t) == t->grad);
  for (gsize i = 0; i < t->numel; i++)
    g_assert_cmpfloat (t->grad[i], ==, 0.0f);

  pt_tensor_init (&v, buf, NULL, 2, (int[]) { 2, 3 });
  g_assert_true (v.data == buf);
  g_assert_cmpuint (v.numel, ==, 6);
  g_assert_cmpuint (pt_shape_numel (3, (int[]) { 2, 0, 4 }), ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/tensor/arena/alloc", test_arena_alloc);
  g_test_add_func ("/core/tensor/arena/reset", test_arena_reset_no_malloc);
  g_test_add_func ("/core/tensor/shapes", test_tensor_shapes);
  return g_test_run ();
}
