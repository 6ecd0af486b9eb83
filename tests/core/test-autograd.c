/* Tests for the tape: accumulation, reuse of a tensor, no-grad mode,
 * views, and that nodes without an incoming gradient are skipped. */
#include <string.h>

#include "pt-ops.h"

static PtTensor *
leaf (PtTape      *tape,
      const float *values,
      int          n,
      gboolean     requires_grad)
{
  PtTensor *t = pt_tensor_new (pt_tape_get_arena (tape), 1, &n);

  memcpy (t->data, values, n * sizeof (float));
  t->requires_grad = requires_grad;
  return t;
}

static void
test_tape_accumulates (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtTensor *x = leaf (tape, (float[]) { 1, 2, 3 }, 3, TRUE);
  /* y = x * x + 3 x: x used three times; dy/dx = 2x + 3 */
  PtTensor *y = pt_op_add (tape, pt_op_mul (tape, x, x), pt_op_scale (tape, x, 3.0f));
  PtTensor *loss = pt_op_weighted_sum (tape, y, NULL);

  g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 4);
  pt_tape_backward (tape, loss);
  g_assert_cmpfloat (x->grad[0], ==, 5.0f);
  g_assert_cmpfloat (x->grad[1], ==, 7.0f);
  g_assert_cmpfloat (x->grad[2], ==, 9.0f);
}

/* A parameter-like tensor (external data and grad) accumulates over steps
 * until its gradient is zeroed. */
static void
test_tape_accumulates_across_steps (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  float data[2] = { 1, 2 }, grad[2] = { 0, 0 };
  PtTensor w;

  pt_tensor_init (&w, data, grad, 1, (int[]) { 2 });
  w.requires_grad = TRUE;
  for (int step = 0; step < 2; step++)
    {
      PtTensor *y;

      pt_tape_reset (tape);
      y = pt_op_mul (tape, &w, &w);
      pt_tape_backward (tape, pt_op_weighted_sum (tape, y, NULL));
    }
  g_assert_cmpfloat (grad[0], ==, 4.0f);
  g_assert_cmpfloat (grad[1], ==, 8.0f);
}

static void
test_tape_no_grad (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtTensor *x = leaf (tape, (float[]) { 1, -2 }, 2, TRUE);
  PtTensor *c = leaf (tape, (float[]) { 4, 5 }, 2, FALSE);
  PtTensor *y;

  /* Constants only: nothing recorded. */
  y = pt_op_mul (tape, c, c);
  g_assert_false (y->requires_grad);
  g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 0);

  pt_tape_set_grad_enabled (tape, FALSE);
  y = pt_op_relu (tape, x);
  g_assert_false (y->requires_grad);
  g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 0);
  g_assert_cmpfloat (y->data[0], ==, 1.0f);
  g_assert_cmpfloat (y->data[1], ==, 0.0f);
  pt_tape_set_grad_enabled (tape, TRUE);

  y = pt_op_mul (tape, x, c);
  g_assert_true (y->requires_grad);
  pt_tape_backward (tape, pt_op_weighted_sum (tape, y, NULL));
  g_assert_cmpfloat (x->grad[1], ==, 5.0f);
  g_assert_null (c->grad);   /* constants get no gradient */

  /* reset forgets nodes */
  pt_tape_reset (tape);
  g_assert_cmpuint (pt_tape_get_n_nodes (tape), ==, 0);
}

static void
test_tape_view_and_skip (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtTensor *x = leaf (tape, (float[]) { 1, 2, 3, 4, 5, 6 }, 6, TRUE);
  PtTensor *v = pt_op_reshape (tape, x, 2, (int[]) { 2, 3 });
  PtTensor *s = pt_op_slice0 (tape, v, 1, 2);
  /* An unused branch: its node has no incoming gradient and is skipped. */
  PtTensor *unused = pt_op_scale (tape, x, 100.0f);

  g_assert_true (v->data == x->data);
  pt_tape_backward (tape, pt_op_weighted_sum (tape, s, (float[]) { 1, 2, 3 }));
  g_assert_null (unused->grad);
  g_assert_cmpfloat (x->grad[0], ==, 0.0f);
  g_assert_cmpfloat (x->grad[3], ==, 1.0f);
  g_assert_cmpfloat (x->grad[5], ==, 3.0f);
}

static void
test_tape_detach (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  PtTensor *x = leaf (tape, (float[]) { 1, 2 }, 2, TRUE);
  PtTensor *d = pt_op_detach (tape, x);
  PtTensor *y;

  g_assert_true (d->data == x->data);
  g_assert_false (d->requires_grad);
  /* y = x * stopgrad (x): dy/dx = stopgrad (x) */
  y = pt_op_mul (tape, x, d);
  pt_tape_backward (tape, pt_op_weighted_sum (tape, y, NULL));
  g_assert_cmpfloat (x->grad[0], ==, 1.0f);
  g_assert_cmpfloat (x->grad[1], ==, 2.0f);
  g_assert_null (d->grad);
}

static void
test_tape_scratch (void)
{
  g_autoptr(PtTape) tape = pt_tape_new (0);
  char *a = pt_tape_get_scratch (tape, 1000);
  char *b;

  g_assert_cmpuint ((guintptr) a % 64, ==, 0);
  memset (a, 0, 1000);
  b = pt_tape_get_scratch (tape, 10);
  g_assert_true (a == b);   /* never shrinks, reused */
  b = pt_tape_get_scratch (tape, 100000);
  memset (b, 0, 100000);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/autograd/accumulate", test_tape_accumulates);
  g_test_add_func ("/core/autograd/accumulate-steps", test_tape_accumulates_across_steps);
  g_test_add_func ("/core/autograd/no-grad", test_tape_no_grad);
  g_test_add_func ("/core/autograd/view-skip", test_tape_view_and_skip);
  g_test_add_func ("/core/autograd/detach", test_tape_detach);
  g_test_add_func ("/core/autograd/scratch", test_tape_scratch);
  return g_test_run ();
}
