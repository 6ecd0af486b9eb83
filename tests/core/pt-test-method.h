/* pt-test-method.h: TEST DOUBLES for the training runtime.
 *
 * pt_test_method_class: "test-linear", a tiny softmax regression on the
 * first view's pixels with plain-C SGD + momentum, its own RNG (input
 * dropout), a live learning rate and temperature. Deterministic bit for bit
 * with one thread. Never registered in the app.
 *
 * pt_test_source_new: a synthetic batch source: image i of epoch e is a
 * pure function of (seed, e, i, view), label i % 4, 256 images per epoch.
 * Its position is (seed, batches served).
 */
#pragma once

#include "pt-batch-source.h"
#include "pt-method.h"

G_BEGIN_DECLS

#define PT_TEST_CLASSES 4
#define PT_TEST_N_IMAGES 256

extern const PtMethodClass pt_test_method_class;

/* A config for the test method: 3x8x8 images, batch 8. */
PtMethodConfig  pt_test_method_config (void);

/* delay_us: sleep in every next() so a stress test can catch the trainer
 * mid-run (it is not a timing assertion). */
PtBatchSource  *pt_test_source_new    (guint64 seed,
                                       gulong  delay_us);

G_END_DECLS
