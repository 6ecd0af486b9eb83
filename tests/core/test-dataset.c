/* Datasets: every source, and every kind of bad input made as a real file. */
#include <math.h>
#include <unistd.h>
#include "pt-dataset.h"
#include "pt-image-check.h"
#include "pt-test-files.h"

static PtDataset *
open_or_fail (const char *spec,
              PtSplit     split,
              const PtDatasetOptions *options)
{
  g_autoptr(GError) error = NULL;
  PtDataset *d = pt_dataset_open (spec, split, options, NULL, NULL, NULL, &error);

  g_assert_no_error (error);
  g_assert_nonnull (d);
  return d;
}

/* Opens spec expecting error code; checks the message names what. */
static void
assert_open_fails (const char *spec,
                   PtSplit     split,
                   int         code,
                   const char *what,
                   const char *also)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) d = pt_dataset_open (spec, split, NULL, NULL, NULL, NULL, &error);

  g_assert_null (d);
  g_assert_error (error, PT_DATASET_ERROR, code);
  if (g_test_verbose ())
    g_test_message ("%s", error->message);
  g_assert_nonnull (strstr (error->message, what));
  if (also != NULL)
    g_assert_nonnull (strstr (error->message, also));
  /* One sentence, one line. */
  g_assert_null (strchr (error->message, '\n'));
}

/* ---- shapes ---- */

static void
test_shapes_determinism (void)
{
  PtDatasetOptions o = { .shapes_train = 400, .shapes_test = 300 };
  PtDatasetOptions o_small = { .shapes_train = 150, .shapes_test = 300 };
  PtDatasetOptions o_seed = { .shapes_train = 400, .shapes_test = 300, .shapes_seed = 1 };
  g_autoptr(PtDataset) a = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o);
  g_autoptr(PtDataset) b = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o);
  g_autoptr(PtDataset) small = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o_small);
  g_autoptr(PtDataset) c = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o_seed);
  g_autoptr(PtDataset) t = open_or_fail ("shapes", PT_SPLIT_TEST, &o);
  gsize size = 3 * 32 * 32;

  g_assert_cmpuint (pt_dataset_get_n_images (a), ==, 400);
  g_assert_cmpuint (pt_dataset_get_n_images (t), ==, 300);
  g_assert_cmpint (pt_dataset_get_channels (a), ==, 3);
  g_assert_cmpint (pt_dataset_get_height (a), ==, 32);
  g_assert_cmpint (pt_dataset_get_width (a), ==, 32);
  g_assert_cmpuint (pt_dataset_get_image_size (a), ==, size);
  g_assert_cmpstr (pt_dataset_get_title (a), ==, "Shapes (train)");
  g_assert_cmpstr (pt_dataset_get_spec (a), ==, "shapes");
  g_assert_cmpint (pt_dataset_get_split (t), ==, PT_SPLIT_TEST);

  g_assert_cmpuint (strlen (pt_dataset_get_content_hash (a)), ==, 64);
  g_assert_cmpstr (pt_dataset_get_content_hash (a), ==, pt_dataset_get_content_hash (b));
  g_assert_cmpstr (pt_dataset_get_content_hash (a), !=, pt_dataset_get_content_hash (c));
  g_assert_cmpmem (pt_dataset_get_pixels (a), 400 * size, pt_dataset_get_pixels (b), 400 * size);

  /* Image i depends only on (seed, split, i), not on the split size. */
  g_assert_cmpmem (pt_dataset_get_pixels (a), 150 * size, pt_dataset_get_pixels (small), 150 * size);

  /* Different seed and the test split: different images, index by index. */
  for (guint i = 0; i < 300; i++)
    {
      g_assert_true (memcmp (pt_dataset_get_image (a, i), pt_dataset_get_image (c, i), size) != 0);
      g_assert_true (memcmp (pt_dataset_get_image (a, i), pt_dataset_get_image (t, i), size) != 0);
      for (guint j = 0; j < 300; j += 37)
        g_assert_true (memcmp (pt_dataset_get_image (a, i), pt_dataset_get_image (t, j), size) != 0);
    }
}

/* shapes_upright draws every shape at angle 0 and changes nothing else:
 * circles and rings (which look the same at any angle) are the same bytes
 * as without it, every other kind differs; labels are the same. */
static void
test_shapes_upright (void)
{
  PtDatasetOptions o = { .shapes_train = 200, .shapes_test = 10 };
  PtDatasetOptions o_up = { .shapes_train = 200, .shapes_test = 10, .shapes_upright = TRUE };
  g_autoptr(PtDataset) a = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o);
  g_autoptr(PtDataset) up = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o_up);
  g_autoptr(PtDataset) up2 = open_or_fail ("shapes", PT_SPLIT_TRAIN, &o_up);
  gsize size = 3 * 32 * 32;

  g_assert_cmpstr (pt_dataset_get_content_hash (up), ==, pt_dataset_get_content_hash (up2));
  g_assert_cmpstr (pt_dataset_get_content_hash (a), !=, pt_dataset_get_content_hash (up));
  for (guint i = 0; i < 200; i++)
    {
      int label = pt_dataset_get_label (a, i);
      int same = memcmp (pt_dataset_get_image (a, i), pt_dataset_get_image (up, i), size) == 0;

      g_assert_cmpint (pt_dataset_get_label (up, i), ==, label);
      if (label == 0 || label == 5)
        g_assert_true (same);
      else
        g_assert_false (same);
    }
}

static void
test_shapes_statistics (void)
{
  g_autoptr(PtDataset) d = open_or_fail ("shapes", PT_SPLIT_TRAIN, NULL);
  const int n_classes = 10;
  guint n = pt_dataset_get_n_images (d);
  const guint *counts;
  double class_mean[10][3] = { { 0 } };
  double global[3] = { 0 }, sum = 0, sum2 = 0;
  static const char *names[] = { "circle", "square", "triangle", "star", "cross",
                                 "ring", "diamond", "hexagon", "arrow", "crescent" };

  g_assert_cmpuint (n, ==, 10000);
  g_assert_cmpint (pt_dataset_get_n_classes (d), ==, n_classes);
  counts = pt_dataset_get_class_counts (d);
  for (int k = 0; k < n_classes; k++)
    {
      g_assert_cmpuint (counts[k], ==, 1000);
      g_assert_cmpstr (pt_dataset_get_class_name (d, k), ==, names[k]);
    }

  for (guint i = 0; i < n; i++)
    {
      const guint8 *img = pt_dataset_get_image (d, i);
      int label = pt_dataset_get_label (d, i);
      guint8 lo = 255, hi = 0;

      g_assert_cmpint (label, >=, 0);
      g_assert_cmpint (label, <, n_classes);
      for (int c = 0; c < 3; c++)
        {
          double m = 0;

          for (int k = 0; k < 1024; k++)
            {
              guint8 v = img[c * 1024 + k];

              m += v;
              sum += v;
              sum2 += (double) v * v;
              lo = MIN (lo, v);
              hi = MAX (hi, v);
            }
          class_mean[label][c] += m / 1024 / 1000;
          global[c] += m / 1024 / n;
        }
      /* Every image has a visible shape: a real contrast range. */
      g_assert_cmpint (hi - lo, >, 50);
    }

  {
    double mean = sum / ((double) n * 3072);
    double sd = sqrt (sum2 / ((double) n * 3072) - mean * mean);

    g_assert_cmpfloat (mean, >, 80);
    g_assert_cmpfloat (mean, <, 175);
    g_assert_cmpfloat (sd, >, 40);
  }

  /* Colour carries no class information: the mean colour of every class is
   * the global mean to within a few levels (1000 images per class). */
  for (int k = 0; k < n_classes; k++)
    for (int c = 0; c < 3; c++)
      g_assert_cmpfloat (fabs (class_mean[k][c] - global[c]), <, 10.0);
}

/* ---- IDX ---- */

static void
check_idx_contents (PtDataset *d,
                    guint      n,
                    guint      h,
                    guint      w)
{
  g_assert_cmpuint (pt_dataset_get_n_images (d), ==, n);
  g_assert_cmpint (pt_dataset_get_channels (d), ==, 1);
  g_assert_cmpint (pt_dataset_get_height (d), ==, (int) h);
  g_assert_cmpint (pt_dataset_get_width (d), ==, (int) w);
  for (guint i = 0; i < n; i++)
    {
      const guint8 *img = pt_dataset_get_image (d, i);

      for (guint y = 0; y < h; y++)
        for (guint x = 0; x < w; x++)
          g_assert_cmpuint (img[y * w + x], ==, (i * 31 + y * 7 + x) & 0xff);
    }
}

static void
test_idx_round_trip (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) images = pt_test_make_idx_images (23, 5, 7);
  g_autoptr(GBytes) labels = pt_test_make_idx_labels (23, 10);
  g_autoptr(GBytes) images_test = pt_test_make_idx_images (12, 5, 7);
  g_autoptr(GBytes) labels_test = pt_test_make_idx_labels (12, 10);
  g_autoptr(GBytes) images_gz = pt_test_gzip (images);
  g_autoptr(GBytes) labels_gz = pt_test_gzip (labels);
  g_autofree char *p1 = pt_test_write_bytes (dir, "mnist/train-images-idx3-ubyte", images);
  g_autofree char *p2 = pt_test_write_bytes (dir, "mnist/train-labels-idx1-ubyte", labels);
  g_autofree char *p3 = pt_test_write_bytes (dir, "mnist/t10k-images-idx3-ubyte", images_test);
  g_autofree char *p4 = pt_test_write_bytes (dir, "mnist/t10k-labels-idx1-ubyte", labels_test);
  g_autofree char *p5 = pt_test_write_bytes (dir, "fashion-mnist/train-images-idx3-ubyte.gz", images_gz);
  g_autofree char *p6 = pt_test_write_bytes (dir, "fashion-mnist/train-labels-idx1-ubyte.gz", labels_gz);
  g_autofree char *p7 = pt_test_write_bytes (dir, "bare/my-images-idx3-ubyte", images);
  g_autofree char *p8 = pt_test_write_bytes (dir, "lonely/x.idx", images);

  g_setenv ("PRETEXT_DATA", dir, TRUE);

  {
    g_autoptr(PtDataset) d = open_or_fail ("mnist", PT_SPLIT_TRAIN, NULL);
    g_autoptr(PtDataset) t = open_or_fail ("mnist", PT_SPLIT_TEST, NULL);

    check_idx_contents (d, 23, 5, 7);
    check_idx_contents (t, 12, 5, 7);
    g_assert_cmpstr (pt_dataset_get_title (d), ==, "MNIST (train)");
    g_assert_cmpint (pt_dataset_get_n_classes (d), ==, 10);
    g_assert_cmpstr (pt_dataset_get_class_name (d, 0), ==, "0");
    g_assert_cmpstr (pt_dataset_get_class_name (d, 9), ==, "9");
    for (guint i = 0; i < 23; i++)
      g_assert_cmpint (pt_dataset_get_label (d, i), ==, (int) (i % 10));
    g_assert_cmpuint (pt_dataset_get_class_counts (d)[0], ==, 3);
    g_assert_cmpuint (pt_dataset_get_class_counts (d)[9], ==, 2);
    g_assert_null (pt_dataset_get_image_path (d, 0));
    g_assert_cmpuint (pt_dataset_get_n_quarantined (d), ==, 0);
  }
  {
    /* The gzip copy of the same data: same pixels, same hash as plain. */
    g_autoptr(PtDataset) plain = open_or_fail ("mnist", PT_SPLIT_TRAIN, NULL);
    g_autoptr(PtDataset) gz = open_or_fail ("fashion-mnist", PT_SPLIT_TRAIN, NULL);

    check_idx_contents (gz, 23, 5, 7);
    g_assert_cmpstr (pt_dataset_get_content_hash (gz), ==, pt_dataset_get_content_hash (plain));
    g_assert_cmpstr (pt_dataset_get_title (gz), ==, "Fashion-MNIST (train)");
    g_assert_cmpstr (pt_dataset_get_class_name (gz, 0), ==, "T-shirt/top");
    g_assert_cmpstr (pt_dataset_get_class_name (gz, 9), ==, "Ankle boot");
  }
  {
    /* A folder of IDX files as a path: the same data, classes by name. */
    g_autofree char *mnist_dir = g_build_filename (dir, "mnist", NULL);
    g_autofree char *fashion_dir = g_build_filename (dir, "fashion-mnist", NULL);
    g_autoptr(PtDataset) named = open_or_fail ("mnist", PT_SPLIT_TEST, NULL);
    g_autoptr(PtDataset) by_path = open_or_fail (mnist_dir, PT_SPLIT_TEST, NULL);
    g_autoptr(PtDataset) fashion = open_or_fail (fashion_dir, PT_SPLIT_TRAIN, NULL);

    g_assert_cmpstr (pt_dataset_get_content_hash (by_path), ==, pt_dataset_get_content_hash (named));
    g_assert_cmpstr (pt_dataset_get_title (by_path), ==, "mnist (test)");
    g_assert_cmpstr (pt_dataset_get_class_name (by_path, 3), ==, "3");
    g_assert_cmpstr (pt_dataset_get_class_name (fashion, 3), ==, "Dress");
    assert_open_fails (fashion_dir, PT_SPLIT_TEST, PT_DATASET_ERROR_NOT_FOUND,
                       "t10k-images-idx3-ubyte", fashion_dir);
  }
  {
    /* A bare IDX file: labels found beside it by name, or unlabeled. */
    g_autoptr(PtDataset) bare = open_or_fail (p7, PT_SPLIT_TRAIN, NULL);
    g_autoptr(PtDataset) lonely = open_or_fail (p8, PT_SPLIT_TRAIN, NULL);
    g_autofree char *labels_beside = pt_test_write_bytes (dir, "bare/my-labels-idx1-ubyte.gz", labels_gz);
    g_autoptr(PtDataset) labelled = open_or_fail (p7, PT_SPLIT_TRAIN, NULL);

    check_idx_contents (bare, 23, 5, 7);
    g_assert_cmpint (pt_dataset_get_n_classes (bare), ==, 0);
    g_assert_cmpint (pt_dataset_get_label (bare, 4), ==, -1);
    check_idx_contents (lonely, 23, 5, 7);
    g_assert_cmpint (pt_dataset_get_n_classes (lonely), ==, 0);
    g_assert_cmpint (pt_dataset_get_n_classes (labelled), ==, 10);
    g_assert_cmpint (pt_dataset_get_label (labelled, 14), ==, 4);
    g_assert_cmpstr (pt_dataset_get_content_hash (labelled), !=, pt_dataset_get_content_hash (bare));
    assert_open_fails (p7, PT_SPLIT_TEST, PT_DATASET_ERROR_UNSUPPORTED, p7, NULL);
  }

  g_unsetenv ("PRETEXT_DATA");
  pt_test_rm_rf (dir);
}

static void
test_idx_bad (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) images = pt_test_make_idx_images (20, 4, 4);
  g_autoptr(GBytes) labels = pt_test_make_idx_labels (20, 10);
  g_autoptr(GBytes) labels19 = pt_test_make_idx_labels (19, 10);
  g_autoptr(GBytes) labels_range = pt_test_make_idx_labels (20, 11);
  gsize ilen;
  const guint8 *idata = g_bytes_get_data (images, &ilen);

  g_setenv ("PRETEXT_DATA", dir, TRUE);

  {
    /* Wrong magic: a label file where the images should be. */
    g_autofree char *p = pt_test_write_bytes (dir, "mnist/train-images-idx3-ubyte", labels);
    g_autofree char *q = pt_test_write_bytes (dir, "mnist/train-labels-idx1-ubyte", labels);

    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p,
                       "is not an IDX image file (magic 0x00000801, expected 0x00000803)");
  }
  {
    /* Dims that do not match the size: one byte short, then one too many. */
    g_autofree char *p = pt_test_write (dir, "mnist/train-images-idx3-ubyte", idata, ilen - 1);

    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p, "20 x 4 x 4");
  }
  {
    g_autofree guint8 *longer = g_malloc0 (ilen + 1);
    g_autofree char *p = NULL;

    memcpy (longer, idata, ilen);
    p = pt_test_write (dir, "mnist/train-images-idx3-ubyte", longer, ilen + 1);
    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p, "needs 336");
  }
  {
    /* Dims whose product overflows 64 bits. */
    guint8 huge[16] = { 0, 0, 8, 3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0x10, 0 };
    g_autofree char *p = pt_test_write (dir, "mnist/train-images-idx3-ubyte", huge, sizeof huge);

    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p, NULL);
  }
  {
    /* Label count different from image count. */
    g_autofree char *p = pt_test_write_bytes (dir, "mnist/train-images-idx3-ubyte", images);
    g_autofree char *q = pt_test_write_bytes (dir, "mnist/train-labels-idx1-ubyte", labels19);

    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, q, "19 labels");
  }
  {
    /* Label 10 in a 10-class dataset. */
    g_autofree char *q = pt_test_write_bytes (dir, "mnist/train-labels-idx1-ubyte", labels_range);

    assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, q, "label 10");
  }
  {
    /* A truncated gzip file. */
    g_autoptr(GBytes) gz = pt_test_gzip (images);
    gsize gzlen;
    const guint8 *gzdata = g_bytes_get_data (gz, &gzlen);
    g_autofree char *q = pt_test_write_bytes (dir, "mnist/train-labels-idx1-ubyte", labels);
    g_autofree char *p = pt_test_write (dir, "bare/train-images-idx3-ubyte.gz", gzdata, gzlen / 2);

    assert_open_fails (p, PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p, "gzip");
  }
  {
    /* An empty file and a tiny one. */
    g_autofree char *p = pt_test_write (dir, "empty-images-idx3-ubyte", "", 0);
    g_autofree char *q = pt_test_write (dir, "tiny", "\0\0\x08\x03\0", 5);

    assert_open_fails (p, PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, p, "too short");
    assert_open_fails (q, PT_SPLIT_TRAIN, PT_DATASET_ERROR_INVALID, q, "truncated");
  }
  {
    /* Not installed anywhere we look. */
    g_autofree char *empty = g_build_filename (dir, "nothing", NULL);

    g_setenv ("PRETEXT_DATA", empty, TRUE);
    if (!g_file_test ("/usr/share/datasets/mnist", G_FILE_TEST_EXISTS))
      assert_open_fails ("mnist", PT_SPLIT_TRAIN, PT_DATASET_ERROR_NOT_FOUND,
                       "train-images-idx3-ubyte", empty);
  }

  g_unsetenv ("PRETEXT_DATA");
  pt_test_rm_rf (dir);
}

/* ---- CIFAR-10 ---- */

static void
write_cifar (const char *dir,
             guint       per_batch)
{
  for (int b = 1; b <= 5; b++)
    {
      g_autofree char *name = g_strdup_printf ("data_batch_%d.bin", b);
      g_autoptr(GBytes) batch = pt_test_make_cifar (per_batch, b);
      g_autofree char *p = pt_test_write_bytes (dir, name, batch);
    }
  {
    g_autoptr(GBytes) test = pt_test_make_cifar (2, 7);
    g_autofree char *p = pt_test_write_bytes (dir, "test_batch.bin", test);
  }
}

static void
test_cifar (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *inner = g_build_filename (dir, "cifar-10-batches-bin", NULL);
  g_autofree char *spec = g_strconcat ("cifar10:", dir, NULL);
  g_autofree char *spec_inner = g_strconcat ("cifar10:", inner, NULL);
  const char *meta = "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";

  write_cifar (inner, 3);
  {
    g_autoptr(PtDataset) d = open_or_fail (spec, PT_SPLIT_TRAIN, NULL);
    g_autoptr(PtDataset) same = open_or_fail (spec_inner, PT_SPLIT_TRAIN, NULL);
    g_autoptr(PtDataset) t = open_or_fail (spec, PT_SPLIT_TEST, NULL);
    const guint8 *img;

    g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 15);
    g_assert_cmpuint (pt_dataset_get_n_images (t), ==, 2);
    g_assert_cmpint (pt_dataset_get_channels (d), ==, 3);
    g_assert_cmpint (pt_dataset_get_height (d), ==, 32);
    g_assert_cmpstr (pt_dataset_get_title (d), ==, "CIFAR-10 (train)");
    g_assert_cmpstr (pt_dataset_get_content_hash (d), ==, pt_dataset_get_content_hash (same));
    /* Batch 2, record 1: label (2 + 1) % 10, planar R, G, B as stored. */
    img = pt_dataset_get_image (d, 4);
    g_assert_cmpint (pt_dataset_get_label (d, 4), ==, 3);
    for (int c = 0; c < 3; c++)
      for (int k = 0; k < 1024; k += 97)
        g_assert_cmpuint (img[c * 1024 + k], ==, (1 + c * 50 + k) & 0xff);
    g_assert_cmpint (pt_dataset_get_label (t, 1), ==, 8);
    g_assert_cmpstr (pt_dataset_get_class_name (d, 0), ==, "airplane");
  }
  {
    g_autofree char *m = pt_test_write (inner, "batches.meta.txt", meta, strlen (meta));
    g_autoptr(PtDataset) d = open_or_fail (spec, PT_SPLIT_TRAIN, NULL);

    g_assert_cmpstr (pt_dataset_get_class_name (d, 0), ==, "plane");
    g_assert_cmpstr (pt_dataset_get_class_name (d, 9), ==, "truck");
  }
  {
    /* Not a whole number of records. */
    g_autoptr(GBytes) two = pt_test_make_cifar (2, 0);
    gsize len;
    const guint8 *data = g_bytes_get_data (two, &len);
    g_autofree char *p = pt_test_write (inner, "test_batch.bin", data, len - 100);

    assert_open_fails (spec, PT_SPLIT_TEST, PT_DATASET_ERROR_INVALID, p, "whole number of 3073-byte");
  }
  {
    /* Label out of range. */
    g_autoptr(GBytes) two = pt_test_make_cifar (2, 0);
    gsize len;
    g_autofree guint8 *data = g_memdup2 (g_bytes_get_data (two, &len), 2 * 3073);
    g_autofree char *p = NULL;

    data[3073] = 10;
    p = pt_test_write (inner, "test_batch.bin", data, len);
    assert_open_fails (spec, PT_SPLIT_TEST, PT_DATASET_ERROR_INVALID, p, "label 10 in record 1");
  }
  {
    /* A missing batch. */
    g_autofree char *p = g_build_filename (inner, "data_batch_3.bin", NULL);

    g_unlink (p);
    assert_open_fails (spec, PT_SPLIT_TRAIN, PT_DATASET_ERROR_NOT_FOUND, p, NULL);
  }
  {
    g_autofree char *missing = g_build_filename (dir, "nope", NULL);
    g_autofree char *spec_missing = g_strconcat ("cifar10:", missing, NULL);

    assert_open_fails (spec_missing, PT_SPLIT_TRAIN, PT_DATASET_ERROR_NOT_FOUND, missing, NULL);
  }
  pt_test_rm_rf (dir);
}

/* ---- missing paths, empty folders ---- */

static void
test_missing_and_empty (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *missing = g_build_filename (dir, "no-such-dataset", NULL);
  g_autofree char *empty = g_build_filename (dir, "empty", NULL);
  g_autofree char *classes = g_build_filename (dir, "classes", NULL);
  g_autofree char *a = g_build_filename (classes, "a", NULL);

  assert_open_fails (missing, PT_SPLIT_TRAIN, PT_DATASET_ERROR_NOT_FOUND, missing, "does not exist");
  assert_open_fails ("", PT_SPLIT_TRAIN, PT_DATASET_ERROR_NOT_FOUND, "empty", NULL);

  g_assert_cmpint (g_mkdir_with_parents (empty, 0755), ==, 0);
  assert_open_fails (empty, PT_SPLIT_TRAIN, PT_DATASET_ERROR_EMPTY, empty, "no image");
  g_assert_cmpint (g_mkdir_with_parents (a, 0755), ==, 0);
  assert_open_fails (classes, PT_SPLIT_TRAIN, PT_DATASET_ERROR_EMPTY, classes, "no image");

  {
    /* Only bad files: empty, with the first reason. */
    g_autofree char *p = pt_test_write (a, "notes.png", "hello", 5);

    assert_open_fails (classes, PT_SPLIT_TRAIN, PT_DATASET_ERROR_EMPTY, classes, "notes.png");
  }
  pt_test_rm_rf (dir);
}

/* ---- folders ---- */

static const char *
find_reason (PtDataset  *d,
             const char *path)
{
  for (guint i = 0; i < pt_dataset_get_n_quarantined (d); i++)
    if (strcmp (pt_dataset_get_quarantined_path (d, i), path) == 0)
      return pt_dataset_get_quarantined_reason (d, i);
  return NULL;
}

static void
assert_quarantined (PtDataset  *d,
                    const char *path,
                    const char *reason_part)
{
  const char *reason = find_reason (d, path);

  if (reason == NULL)
    g_error ("“%s” was not quarantined", path);
  if (g_test_verbose ())
    g_test_message ("%s", reason);
  g_assert_nonnull (strstr (reason, path));
  g_assert_nonnull (strstr (reason, reason_part));
  g_assert_null (strchr (reason, '\n'));
}

static GBytes *
make_png (int w, int h, gboolean alpha, guint32 seed)
{
  g_autoptr(GdkPixbuf) p = pt_test_make_pixbuf (w, h, alpha, seed);

  return pt_test_pixbuf_to_bytes (p, "png");
}

static GBytes *
make_jpeg (int w, int h, guint32 seed)
{
  g_autoptr(GdkPixbuf) p = pt_test_make_pixbuf (w, h, FALSE, seed);

  return pt_test_pixbuf_to_bytes (p, "jpeg");
}

static GBytes *
make_solid (int w, int h, guint8 r, guint8 g, guint8 b, int alpha, const char *type)
{
  g_autoptr(GdkPixbuf) p = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha >= 0, 8, w, h);

  gdk_pixbuf_fill (p, ((guint32) r << 24) | ((guint32) g << 16) | ((guint32) b << 8) |
                      (guint32) (alpha >= 0 ? alpha : 255));
  return pt_test_pixbuf_to_bytes (p, type);
}

static void
test_folder_quarantine (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autofree char *cats = g_build_filename (dir, "cats", NULL);
  g_autofree char *dogs = g_build_filename (dir, "dogs", NULL);
  g_autoptr(GBytes) png = make_png (40, 30, FALSE, 1);
  g_autoptr(GBytes) png_alpha = make_png (30, 30, TRUE, 2);
  g_autoptr(GBytes) jpeg = make_jpeg (64, 48, 3);
  g_autoptr(GBytes) big_jpeg = make_jpeg (96, 96, 4);
  g_autoptr(GBytes) huge = pt_test_make_png_raw (30000, 30000, 2, 0, TRUE);
  g_autoptr(GdkPixbuf) bmp_pixbuf = pt_test_make_pixbuf (4, 4, FALSE, 5);
  g_autoptr(GBytes) bmp = pt_test_pixbuf_to_bytes (bmp_pixbuf, "bmp");
  gsize png_len, jpeg_len;
  const guint8 *png_data = g_bytes_get_data (png, &png_len);
  const guint8 *jpeg_data = g_bytes_get_data (big_jpeg, &jpeg_len);
  g_autofree guint8 *flipped = g_memdup2 (png_data, png_len);
  g_autoptr(PtDataset) d = NULL;
  PtDatasetOptions o = { .resolution = 16 };
  const guint8 *idat;
  char *good[6] = { NULL };
  char *bad[13] = { NULL };

  /* Good files. */
  good[0] = pt_test_write_bytes (cats, "a.png", png);
  good[1] = pt_test_write_bytes (cats, "b.png", png_alpha);
  good[2] = pt_test_write_bytes (cats, "c.jpg", jpeg);
  good[3] = pt_test_write_bytes (dogs, "a.jpeg", big_jpeg);
  good[4] = pt_test_write_bytes (dogs, "b.png", png);
  {
    /* A JPEG padded with zeros after its end marker is fine. */
    g_autofree guint8 *padded = g_malloc0 (jpeg_len + 64);

    memcpy (padded, jpeg_data, jpeg_len);
    good[5] = pt_test_write (dogs, "padded.jpg", padded, jpeg_len + 64);
  }

  /* Bad files, each with what its reason must say. */
  bad[0] = pt_test_write (cats, "truncated.png", png_data, png_len / 2);
  bad[1] = pt_test_write (dogs, "truncated.jpg", jpeg_data, jpeg_len / 2);
  idat = NULL;
  for (gsize k = 8; k + 4 <= png_len && idat == NULL; k++)
    if (memcmp (flipped + k, "IDAT", 4) == 0)
      idat = flipped + k;
  g_assert_nonnull (idat);
  flipped[(idat - flipped) + 4 + 3] ^= 0x10;
  bad[2] = pt_test_write (cats, "flipped.png", flipped, png_len);
  bad[3] = pt_test_write (cats, "text.png", "This is not an image.\n", 22);
  bad[4] = pt_test_write (dogs, "zero.png", "", 0);
  bad[5] = pt_test_write_bytes (dogs, "huge.png", huge);
  bad[6] = pt_test_write (cats, "anim.gif", pt_test_gif, sizeof pt_test_gif);
  bad[7] = pt_test_write_bytes (dogs, "old.bmp", bmp);
  bad[8] = pt_test_write (dogs, "scan.tga", pt_test_tga, sizeof pt_test_tga);
  bad[9] = g_build_filename (dir, "loose.png", NULL);
  g_file_set_contents (bad[9], g_bytes_get_data (png, NULL), png_len, NULL);
  /* Unreadable even as root: a dangling symbolic link. */
  bad[10] = g_build_filename (cats, "dangling.png", NULL);
  g_assert_cmpint (symlink ("no-such-target.png", bad[10]), ==, 0);
  /* A folder inside a class folder. */
  bad[11] = g_build_filename (dogs, "nested.png", NULL);
  g_assert_cmpint (g_mkdir (bad[11], 0755), ==, 0);
  /* A file name that is not UTF-8. */
  bad[12] = pt_test_write (cats, "\xff\xfe.png", "junk", 4);

  d = open_or_fail (dir, PT_SPLIT_TRAIN, &o);

  g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 6);
  g_assert_cmpint (pt_dataset_get_channels (d), ==, 3);
  g_assert_cmpint (pt_dataset_get_height (d), ==, 16);
  g_assert_cmpint (pt_dataset_get_width (d), ==, 16);
  g_assert_cmpint (pt_dataset_get_n_classes (d), ==, 2);
  g_assert_cmpstr (pt_dataset_get_class_name (d, 0), ==, "cats");
  g_assert_cmpstr (pt_dataset_get_class_name (d, 1), ==, "dogs");
  g_assert_cmpuint (pt_dataset_get_class_counts (d)[0], ==, 3);
  g_assert_cmpuint (pt_dataset_get_class_counts (d)[1], ==, 3);
  /* Sorted within each class. */
  g_assert_cmpstr (pt_dataset_get_image_path (d, 0), ==, good[0]);
  g_assert_cmpstr (pt_dataset_get_image_path (d, 2), ==, good[2]);
  g_assert_cmpstr (pt_dataset_get_image_path (d, 3), ==, good[3]);
  g_assert_cmpint (pt_dataset_get_label (d, 2), ==, 0);
  g_assert_cmpint (pt_dataset_get_label (d, 3), ==, 1);

  g_assert_cmpuint (pt_dataset_get_n_quarantined (d), ==, 13);
  assert_quarantined (d, bad[0], "truncated");
  assert_quarantined (d, bad[1], "truncated JPEG");
  assert_quarantined (d, bad[2], "CRC mismatch in chunk “IDAT”");
  assert_quarantined (d, bad[3], "not a PNG or JPEG");
  assert_quarantined (d, bad[4], "empty (0 bytes)");
  assert_quarantined (d, bad[5], "too large (30000 x 30000 pixels");
  assert_quarantined (d, bad[6], "is in GIF format; only PNG and JPEG");
  assert_quarantined (d, bad[7], "is in BMP format");
  assert_quarantined (d, bad[8], "is in TGA format");
  assert_quarantined (d, bad[9], "outside the class subfolders");
  assert_quarantined (d, bad[10], "cannot be read: No such file or directory");
  assert_quarantined (d, bad[11], "is a folder, not an image file");
  {
    /* The path stays the real file name; the reason is valid UTF-8. */
    guint k;

    for (k = 0; k < pt_dataset_get_n_quarantined (d); k++)
      {
        g_assert_true (g_utf8_validate (pt_dataset_get_quarantined_reason (d, k), -1, NULL));
        if (strcmp (pt_dataset_get_quarantined_path (d, k), bad[12]) == 0)
          break;
      }
    g_assert_cmpuint (k, <, pt_dataset_get_n_quarantined (d));
    g_assert_nonnull (strstr (pt_dataset_get_quarantined_reason (d, k), "\xef\xbf\xbd"));
    g_assert_nonnull (strstr (pt_dataset_get_quarantined_reason (d, k), "not a PNG or JPEG"));
  }

  if (geteuid () != 0)
    {
      /* An unreadable file (root reads everything, so only as a user). */
      g_autofree char *locked = pt_test_write_bytes (cats, "locked.png", png);
      g_autoptr(PtDataset) d2 = NULL;

      g_assert_cmpint (g_chmod (locked, 0), ==, 0);
      d2 = open_or_fail (dir, PT_SPLIT_TRAIN, &o);
      g_assert_cmpuint (pt_dataset_get_n_images (d2), ==, 6);
      assert_quarantined (d2, locked, "cannot be read");
      g_chmod (locked, 0644);
    }

  for (guint k = 0; k < G_N_ELEMENTS (good); k++)
    g_free (good[k]);
  for (guint k = 0; k < G_N_ELEMENTS (bad); k++)
    g_free (bad[k]);
  pt_test_rm_rf (dir);
}

static void
test_folder_pixels (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) red = make_solid (20, 20, 255, 0, 0, -1, "png");
  g_autoptr(GBytes) clear = make_solid (20, 20, 0, 0, 0, 0, "png");
  g_autoptr(GBytes) half = make_solid (20, 20, 0, 0, 0, 128, "png");
  g_autoptr(GBytes) blue_jpeg = make_solid (24, 24, 0, 0, 255, -1, "jpeg");
  g_autoptr(GdkPixbuf) wide = gdk_pixbuf_new (GDK_COLORSPACE_RGB, FALSE, 8, 64, 32);
  g_autoptr(GBytes) wide_png = NULL;
  g_autoptr(PtDataset) d = NULL;
  char *p[5] = { NULL };
  PtDatasetOptions o = { .resolution = 8 };

  /* A wide image: black on the left and right quarters, white in the
   * middle; the centre square crop is all white. */
  gdk_pixbuf_fill (wide, 0x000000ff);
  {
    g_autoptr(GdkPixbuf) middle = gdk_pixbuf_new_subpixbuf (wide, 16, 0, 32, 32);
    gdk_pixbuf_fill (middle, 0xffffffff);
  }
  wide_png = pt_test_pixbuf_to_bytes (wide, "png");

  p[0] = pt_test_write_bytes (dir, "0-red.png", red);
  p[1] = pt_test_write_bytes (dir, "1-clear.png", clear);
  p[2] = pt_test_write_bytes (dir, "2-half.png", half);
  p[3] = pt_test_write_bytes (dir, "3-blue.jpg", blue_jpeg);
  p[4] = pt_test_write_bytes (dir, "4-wide.png", wide_png);

  d = open_or_fail (dir, PT_SPLIT_TRAIN, &o);
  g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 5);
  g_assert_cmpint (pt_dataset_get_n_classes (d), ==, 0);
  g_assert_cmpuint (pt_dataset_get_n_quarantined (d), ==, 0);
  for (guint i = 0; i < 5; i++)
    {
      const guint8 *img = pt_dataset_get_image (d, i);

      g_assert_cmpint (pt_dataset_get_label (d, i), ==, -1);
      g_assert_cmpstr (pt_dataset_get_image_path (d, i), ==, p[i]);
      for (int k = 0; k < 64; k++)
        {
          guint8 r = img[k], g = img[64 + k], b = img[128 + k];

          switch (i)
            {
            case 0: g_assert_cmpuint (r, ==, 255); g_assert_cmpuint (g, ==, 0); g_assert_cmpuint (b, ==, 0); break;
            case 1: g_assert_cmpuint (r, ==, 255); g_assert_cmpuint (g, ==, 255); g_assert_cmpuint (b, ==, 255); break;
            case 2: g_assert_cmpint (abs (r - 127), <=, 1); g_assert_cmpint (abs (b - 127), <=, 1); break;
            case 3: g_assert_cmpuint (r, <, 10); g_assert_cmpuint (g, <, 10); g_assert_cmpuint (b, >, 240); break;
            case 4: g_assert_cmpuint (r, ==, 255); g_assert_cmpuint (g, ==, 255); g_assert_cmpuint (b, ==, 255); break;
            default: g_assert_not_reached ();
            }
        }
    }
  {
    /* The RGB pixbuf of an image matches its planes. */
    g_autoptr(GdkPixbuf) pb = pt_dataset_dup_pixbuf (d, 0);

    g_assert_cmpint (gdk_pixbuf_get_width (pb), ==, 8);
    g_assert_cmpint (gdk_pixbuf_get_n_channels (pb), ==, 3);
    g_assert_cmpuint (gdk_pixbuf_read_pixels (pb)[0], ==, 255);
    g_assert_cmpuint (gdk_pixbuf_read_pixels (pb)[1], ==, 0);
  }
  for (guint k = 0; k < G_N_ELEMENTS (p); k++)
    g_free (p[k]);
  pt_test_rm_rf (dir);
}

static void
test_folder_grey (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) grey1 = pt_test_make_png_raw (12, 10, 0, 100, FALSE);
  g_autoptr(GBytes) grey2 = pt_test_make_png_raw (10, 10, 0, 200, FALSE);
  g_autoptr(GBytes) colour = make_solid (10, 10, 10, 200, 30, -1, "png");
  g_autofree char *p1 = pt_test_write_bytes (dir, "a.png", grey1);
  g_autofree char *p2 = pt_test_write_bytes (dir, "b.png", grey2);
  PtDatasetOptions o = { .resolution = 10 };

  {
    /* All grey: one channel. */
    g_autoptr(PtDataset) d = open_or_fail (dir, PT_SPLIT_TRAIN, &o);
    const guint8 *img;

    g_assert_cmpint (pt_dataset_get_channels (d), ==, 1);
    g_assert_cmpuint (pt_dataset_get_image_size (d), ==, 100);
    img = pt_dataset_get_image (d, 1);
    for (int k = 0; k < 100; k++)
      {
        g_assert_cmpuint (img[k], >=, 200);
        g_assert_cmpuint (img[k], <=, 203);
      }
    {
      g_autoptr(GdkPixbuf) pb = pt_dataset_dup_pixbuf (d, 1);
      const guint8 *px = gdk_pixbuf_read_pixels (pb);

      g_assert_cmpuint (px[0], ==, img[0]);
      g_assert_cmpuint (px[1], ==, img[0]);
      g_assert_cmpuint (px[2], ==, img[0]);
    }
  }
  {
    /* One colour image: everything RGB. */
    g_autofree char *p3 = pt_test_write_bytes (dir, "c.png", colour);
    g_autoptr(PtDataset) d = open_or_fail (dir, PT_SPLIT_TRAIN, &o);
    const guint8 *img = pt_dataset_get_image (d, 0);

    g_assert_cmpint (pt_dataset_get_channels (d), ==, 3);
    g_assert_cmpuint (img[0], ==, img[100]);
    g_assert_cmpuint (img[0], ==, img[200]);
  }
  pt_test_rm_rf (dir);
}

static void
on_progress_cb (double   fraction,
                gpointer user_data)
{
  GArray *fractions = user_data;

  g_array_append_val (fractions, fraction);
}

static void
on_progress_cancel_cb (double   fraction,
                       gpointer user_data)
{
  if (fraction > 0 && fraction < 1)
    g_cancellable_cancel (user_data);
}

static void
test_folder_splits (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GBytes) png = make_png (8, 8, FALSE, 9);
  g_autoptr(GArray) fractions = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GError) error = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autofree char *train = g_build_filename (dir, "train", NULL);

  for (int i = 0; i < 12; i++)
    {
      g_autofree char *name = g_strdup_printf ("train/k%d/%02d.png", i % 3, i);
      g_autofree char *p = pt_test_write_bytes (dir, name, png);
    }
  {
    g_autofree char *p = pt_test_write_bytes (dir, "test/k0/x.png", png);
    g_autofree char *q = pt_test_write_bytes (dir, "test/k1/y.png", png);
  }
  {
    g_autoptr(PtDataset) d = pt_dataset_open (dir, PT_SPLIT_TRAIN, NULL, NULL,
                                              on_progress_cb, fractions, &error);
    g_autoptr(PtDataset) t = open_or_fail (dir, PT_SPLIT_TEST, NULL);
    g_autofree char *base = g_path_get_basename (dir);
    g_autofree char *title = g_strdup_printf ("%s (train)", base);

    g_assert_no_error (error);
    g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 12);
    g_assert_cmpint (pt_dataset_get_n_classes (d), ==, 3);
    g_assert_cmpstr (pt_dataset_get_title (d), ==, title);
    g_assert_cmpint (pt_dataset_get_height (d), ==, 32);
    g_assert_cmpuint (pt_dataset_get_n_images (t), ==, 2);
    g_assert_cmpint (pt_dataset_get_n_classes (t), ==, 2);
    /* Progress: non-decreasing, ending at 1. */
    g_assert_cmpuint (fractions->len, >=, 2);
    for (guint i = 1; i < fractions->len; i++)
      g_assert_cmpfloat (g_array_index (fractions, double, i), >=, g_array_index (fractions, double, i - 1));
    g_assert_cmpfloat (g_array_index (fractions, double, fractions->len - 1), ==, 1.0);
  }

  /* A folder without train/ and test/ has no test split. */
  assert_open_fails (train, PT_SPLIT_TEST, PT_DATASET_ERROR_UNSUPPORTED, train, "no test split");

  /* Cancelled while it decodes (the progress callback cancels). */
  {
    g_autoptr(PtDataset) d = pt_dataset_open (dir, PT_SPLIT_TRAIN, NULL, cancellable,
                                              on_progress_cancel_cb, cancellable, &error);

    g_assert_null (d);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
  }
  {
    /* Shapes honour it too. */
    g_autoptr(GCancellable) c2 = g_cancellable_new ();
    g_autoptr(PtDataset) d = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, NULL, c2,
                                              on_progress_cancel_cb, c2, &error);

    g_assert_null (d);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    g_clear_error (&error);
  }

  /* Cancelled before it starts. */
  g_cancellable_reset (cancellable);
  g_cancellable_cancel (cancellable);
  {
    g_autoptr(PtDataset) d = pt_dataset_open (dir, PT_SPLIT_TRAIN, NULL, cancellable, NULL, NULL, &error);

    g_assert_null (d);
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  }
  pt_test_rm_rf (dir);
}

/* ---- memory, async ---- */

static void
test_memory (void)
{
  guint8 pixels[3 * 2 * 2 * 2];
  int labels[3] = { 0, 1, -1 };
  const char *names[] = { "yes", "no" };
  g_autoptr(PtDataset) d = NULL;
  g_autoptr(PtDataset) d2 = NULL;
  g_autoptr(PtDataset) d3 = NULL;
  g_autoptr(PtDataset) unlabeled = NULL;

  for (guint i = 0; i < sizeof pixels; i++)
    pixels[i] = i * 10;
  d = pt_dataset_new_from_memory ("mem", 1, 2, 4, 3, pixels, labels, 2, names);
  g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 3);
  g_assert_cmpstr (pt_dataset_get_title (d), ==, "mem");
  g_assert_cmpmem (pt_dataset_get_pixels (d), sizeof pixels, pixels, sizeof pixels);
  g_assert_true (pt_dataset_get_pixels (d) != pixels);
  g_assert_cmpuint (pt_dataset_get_image (d, 1)[0], ==, 80);
  g_assert_cmpint (pt_dataset_get_label (d, 2), ==, -1);
  g_assert_cmpint (pt_dataset_get_labels (d)[1], ==, 1);
  g_assert_cmpstr (pt_dataset_get_class_name (d, 1), ==, "no");
  g_assert_cmpuint (pt_dataset_get_class_counts (d)[0], ==, 1);

  /* The hash changes with one pixel or one label. */
  pixels[5] ^= 1;
  d2 = pt_dataset_new_from_memory ("mem", 1, 2, 4, 3, pixels, labels, 2, names);
  g_assert_cmpstr (pt_dataset_get_content_hash (d), !=, pt_dataset_get_content_hash (d2));
  pixels[5] ^= 1;
  labels[2] = 1;
  d3 = pt_dataset_new_from_memory ("other title", 1, 2, 4, 3, pixels, labels, 2, NULL);
  g_assert_cmpstr (pt_dataset_get_content_hash (d), !=, pt_dataset_get_content_hash (d3));
  g_assert_cmpstr (pt_dataset_get_class_name (d3, 1), ==, "1");

  {
    /* The sanity report: exact mean and std, duplicates, blank images. */
    const guint8 dup_pixels[] = { 5, 5, 5, 5, 1, 2, 1, 3, 5, 5, 5, 5, 1, 2, 1, 3, 9, 9, 9, 9 };
    g_autoptr(PtDataset) dups = pt_dataset_new_from_memory ("d", 1, 2, 2, 5, dup_pixels, NULL, 0, NULL);
    g_autoptr(PtDataset) rgb = NULL;
    guint8 rgb_pixels[2 * 3 * 4];
    double mean[3], std[3];

    pt_dataset_compute_channel_stats (d, mean, std);
    g_assert_cmpfloat_with_epsilon (mean[0], 115.0 / 255.0, 1e-12);
    /* Values 0, 10, ..., 230: variance = 100 * (24^2 - 1) / 12. */
    g_assert_cmpfloat_with_epsilon (std[0], sqrt (100.0 * 575 / 12) / 255.0, 1e-9);
    g_assert_cmpuint (pt_dataset_count_duplicates (d), ==, 0);
    g_assert_cmpuint (pt_dataset_count_constant (d), ==, 0);
    g_assert_cmpuint (pt_dataset_count_duplicates (dups), ==, 2);
    g_assert_cmpuint (pt_dataset_count_constant (dups), ==, 3);

    /* Channels apart: R = 0, G = 255, B alternates 0 / 255. */
    for (int i = 0; i < 2; i++)
      for (int k = 0; k < 4; k++)
        {
          rgb_pixels[i * 12 + k] = 0;
          rgb_pixels[i * 12 + 4 + k] = 255;
          rgb_pixels[i * 12 + 8 + k] = (k % 2) ? 255 : 0;
        }
    rgb = pt_dataset_new_from_memory ("rgb", 3, 2, 2, 2, rgb_pixels, NULL, 0, NULL);
    pt_dataset_compute_channel_stats (rgb, mean, std);
    g_assert_cmpfloat_with_epsilon (mean[0], 0.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (mean[1], 1.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (mean[2], 0.5, 1e-12);
    g_assert_cmpfloat_with_epsilon (std[0], 0.0, 1e-12);
    g_assert_cmpfloat_with_epsilon (std[2], 0.5, 1e-12);
    g_assert_cmpuint (pt_dataset_count_duplicates (rgb), ==, 1);
  }

  unlabeled = pt_dataset_new_from_memory ("u", 1, 2, 2, 6, pixels, NULL, 0, NULL);
  g_assert_cmpint (pt_dataset_get_n_classes (unlabeled), ==, 0);
  g_assert_cmpint (pt_dataset_get_label (unlabeled, 5), ==, -1);
  {
    g_autoptr(GdkPixbuf) pb = pt_dataset_dup_pixbuf (unlabeled, 1);
    const guint8 *px = gdk_pixbuf_read_pixels (pb);
    int stride = gdk_pixbuf_get_rowstride (pb);

    g_assert_cmpuint (px[0], ==, 40);
    g_assert_cmpuint (px[2], ==, 40);
    g_assert_cmpuint (px[3], ==, 50);
    g_assert_cmpuint (px[stride + 3 + 1], ==, 70);
  }
}

static void
on_open_ready_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  PtDataset **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = pt_dataset_open_finish (result, &error);
  g_assert_no_error (error);
}

static void
on_open_fail_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GError **out = user_data;

  g_assert_null (pt_dataset_open_finish (result, out));
}

typedef struct {
  GThread   *main_thread;
  guint      n_progress;
  gboolean   finished;
  PtDataset *dataset;
} AsyncState;

static void
on_async_progress_cb (double   fraction,
                      gpointer user_data)
{
  AsyncState *state = user_data;

  g_assert_true (g_thread_self () == state->main_thread);
  g_assert_false (state->finished);
  g_assert_cmpfloat (fraction, >=, 0.0);
  g_assert_cmpfloat (fraction, <=, 1.0);
  state->n_progress++;
}

static void
on_async_done_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  AsyncState *state = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_thread_self () == state->main_thread);
  state->dataset = pt_dataset_open_finish (result, &error);
  g_assert_no_error (error);
  state->finished = TRUE;
}

static void
test_async (void)
{
  PtDatasetOptions o = { .shapes_train = 64 };
  PtDataset *d = NULL;
  GError *error = NULL;

  pt_dataset_open_async ("shapes", PT_SPLIT_TRAIN, &o, NULL, on_open_ready_cb, &d);
  while (d == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (pt_dataset_get_n_images (d), ==, 64);
  g_object_unref (d);

  pt_dataset_open_async ("/no/such/dataset", PT_SPLIT_TRAIN, NULL, NULL, on_open_fail_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_error (error, PT_DATASET_ERROR, PT_DATASET_ERROR_NOT_FOUND);
  g_clear_error (&error);

  {
    /* Progress arrives on this thread, never after completion. */
    AsyncState state = { g_thread_self (), 0, FALSE, NULL };
    PtDatasetOptions big = { .shapes_train = 4000 };

    pt_dataset_open_async_with_progress ("shapes", PT_SPLIT_TRAIN, &big, NULL,
                                         on_async_progress_cb, &state,
                                         on_async_done_cb, &state);
    while (!state.finished)
      g_main_context_iteration (NULL, TRUE);
    /* Let any stale idle run: it must not call back. */
    while (g_main_context_iteration (NULL, FALSE))
      ;
    g_assert_cmpuint (pt_dataset_get_n_images (state.dataset), ==, 4000);
    g_assert_cmpuint (state.n_progress, >=, 1);
    g_object_unref (state.dataset);
  }
}

/* ---- the real Fashion-MNIST, when installed ---- */

static void
test_fashion_mnist_real (void)
{
  g_autoptr(PtDataset) train = NULL;
  g_autoptr(PtDataset) test = NULL;

  if (!g_file_test ("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("dataset-fashion-mnist is not installed");
      return;
    }
  g_unsetenv ("PRETEXT_DATA");
  train = open_or_fail ("fashion-mnist", PT_SPLIT_TRAIN, NULL);
  test = open_or_fail ("fashion-mnist", PT_SPLIT_TEST, NULL);
  g_assert_cmpuint (pt_dataset_get_n_images (train), ==, 60000);
  g_assert_cmpuint (pt_dataset_get_n_images (test), ==, 10000);
  g_assert_cmpint (pt_dataset_get_channels (train), ==, 1);
  g_assert_cmpint (pt_dataset_get_height (train), ==, 28);
  g_assert_cmpint (pt_dataset_get_width (train), ==, 28);
  g_assert_cmpint (pt_dataset_get_n_classes (train), ==, 10);
  for (int k = 0; k < 10; k++)
    {
      g_assert_cmpuint (pt_dataset_get_class_counts (train)[k], ==, 6000);
      g_assert_cmpuint (pt_dataset_get_class_counts (test)[k], ==, 1000);
    }
  g_assert_cmpstr (pt_dataset_get_class_name (train, 7), ==, "Sneaker");
}

/* ---- bounded random mutation ---- */

static GBytes *
mutate (GRand  *rand,
        GBytes *in)
{
  gsize len;
  const guint8 *data = g_bytes_get_data (in, &len);
  GByteArray *a = g_byte_array_sized_new (len + 16);
  int kind = g_rand_int_range (rand, 0, 6);

  g_byte_array_append (a, data, len);
  switch (kind)
    {
    case 0:   /* flip a few bits */
    case 1:
      for (int k = g_rand_int_range (rand, 1, 5); k > 0 && a->len > 0; k--)
        a->data[g_rand_int_range (rand, 0, a->len)] ^= 1 << g_rand_int_range (rand, 0, 8);
      break;
    case 2:   /* truncate */
      g_byte_array_set_size (a, g_rand_int_range (rand, 0, MAX (a->len, 1)));
      break;
    case 3:   /* insert bytes */
      {
        guint at = g_rand_int_range (rand, 0, a->len + 1);
        guint count = g_rand_boolean (rand) ? 1 : 8;
        guint8 junk[8];

        for (int k = 0; k < 8; k++)
          junk[k] = g_rand_int_range (rand, 0, 256);
        g_byte_array_set_size (a, a->len + count);
        memmove (a->data + at + count, a->data + at, a->len - count - at);
        memcpy (a->data + at, junk, count);
      }
      break;
    case 4:   /* delete a run */
      if (a->len > 1)
        {
          guint at = g_rand_int_range (rand, 0, a->len - 1);
          guint count = g_rand_int_range (rand, 1, 16);

          g_byte_array_remove_range (a, at, MIN (count, a->len - at));
        }
      break;
    case 5:   /* an extreme big-endian u32 in the header area */
      if (a->len >= 4)
        {
          static const guint32 values[] = { 0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 30000 };
          guint32 v = values[g_rand_int_range (rand, 0, G_N_ELEMENTS (values))];
          guint at = g_rand_int_range (rand, 0, MIN (a->len - 3, 40));

          a->data[at] = v >> 24;
          a->data[at + 1] = v >> 16;
          a->data[at + 2] = v >> 8;
          a->data[at + 3] = v;
        }
      break;
    default:
      g_assert_not_reached ();
    }
  return g_byte_array_free_to_bytes (a);
}

/* Recomputes every PNG chunk CRC in place, so that mutations reach the decoder. */
static void
fix_png_crcs (guint8 *p,
              gsize   len)
{
  gsize pos = 8;

  while (len >= 12 && pos <= len - 12)
    {
      guint32 l = ((guint32) p[pos] << 24) | (p[pos + 1] << 16) | (p[pos + 2] << 8) | p[pos + 3];
      guint32 crc;

      if (l > len - pos - 12)
        break;
      crc = pt_test_crc32 (p + pos + 4, l + 4);
      p[pos + 8 + l] = crc >> 24;
      p[pos + 9 + l] = crc >> 16;
      p[pos + 10 + l] = crc >> 8;
      p[pos + 11 + l] = crc;
      pos += 12 + l;
    }
}

static void
assert_clean_result (PtDataset  *d,
                     GError     *error,
                     const char *path)
{
  if (d == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == PT_DATASET_ERROR);
      g_assert_nonnull (strstr (error->message, path));
      g_assert_null (strchr (error->message, '\n'));
    }
  else
    {
      g_assert_null (error);
      g_assert_cmpuint (pt_dataset_get_n_images (d), >, 0);
      g_assert_cmpuint (strlen (pt_dataset_get_content_hash (d)), ==, 64);
    }
}

static void
test_mutation (void)
{
  g_autofree char *dir = pt_test_make_tmpdir ();
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261123);
  g_autoptr(GBytes) images = pt_test_make_idx_images (6, 5, 4);
  g_autoptr(GBytes) labels = pt_test_make_idx_labels (6, 3);
  g_autoptr(GBytes) images_gz = pt_test_gzip (images);
  g_autoptr(GBytes) cifar = pt_test_make_cifar (3, 0);
  g_autoptr(GBytes) png = make_png (12, 10, TRUE, 11);
  g_autoptr(GBytes) grey_png = pt_test_make_png_raw (9, 7, 0, 50, FALSE);
  g_autoptr(GBytes) jpeg = make_jpeg (16, 16, 12);
  g_autofree char *cifar_dir = g_build_filename (dir, "cifar", NULL);
  g_autofree char *cifar_spec = g_strconcat ("cifar10:", cifar_dir, NULL);
  g_autofree char *img_dir = g_build_filename (dir, "images", NULL);
  g_autofree char *good = pt_test_write_bytes (img_dir, "good.png", png);
  const int n = g_test_slow () ? 20000 : 2000;
  guint n_valid = 0, n_quarantined = 0;

  for (int it = 0; it < n; it++)
    {
      int target = it % 4;
      g_autoptr(GError) error = NULL;
      g_autoptr(PtDataset) d = NULL;

      if (target == 0)
        {
          /* IDX: the images or the labels, plain or gzip. */
          int which = g_rand_int_range (rand, 0, 3);
          g_autoptr(GBytes) m = mutate (rand, which == 0 ? images : which == 1 ? labels : images_gz);
          g_autofree char *ip = NULL;
          g_autofree char *lp = NULL;

          ip = which == 1 ? pt_test_write_bytes (dir, "idx/train-images-idx3-ubyte", images)
                          : pt_test_write_bytes (dir, "idx/train-images-idx3-ubyte", m);
          lp = pt_test_write_bytes (dir, "idx/train-labels-idx1-ubyte", which == 1 ? m : labels);
          d = pt_dataset_open (ip, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
          assert_clean_result (d, error, "idx/train-");
          if (d != NULL)
            {
              g_assert_cmpint (pt_dataset_get_channels (d), ==, 1);
              for (guint i = 0; i < pt_dataset_get_n_images (d); i++)
                {
                  int label = pt_dataset_get_label (d, i);

                  if (pt_dataset_get_n_classes (d) == 0)
                    g_assert_cmpint (label, ==, -1);
                  else
                    g_assert_cmpint (label, <, pt_dataset_get_n_classes (d));
                }
            }
        }
      else if (target == 1)
        {
          g_autoptr(GBytes) m = mutate (rand, cifar);
          g_autofree char *p = pt_test_write_bytes (cifar_dir, "test_batch.bin", m);

          d = pt_dataset_open (cifar_spec, PT_SPLIT_TEST, NULL, NULL, NULL, NULL, &error);
          assert_clean_result (d, error, p);
          if (d != NULL)
            g_assert_cmpuint (pt_dataset_get_n_images (d) * 3073, ==, g_bytes_get_size (m));
        }
      else
        {
          /* PNG (colour or grey, half of them with fixed CRCs) or JPEG,
           * beside a good image: either both load or the bad one is
           * quarantined, and its structure check agrees with pt_image_check. */
          gboolean is_png = target == 2;
          g_autoptr(GBytes) m = mutate (rand, is_png ? (g_rand_boolean (rand) ? png : grey_png) : jpeg);
          gsize mlen = g_bytes_get_size (m);
          g_autofree guint8 *mdata = g_malloc0 (MAX (mlen, 1));
          g_autofree char *p = NULL;
          g_autoptr(GError) check_error = NULL;
          int w = 0, h = 0;
          gboolean grey = FALSE, checked;

          if (mlen > 0)
            memcpy (mdata, g_bytes_get_data (m, NULL), mlen);
          if (is_png && g_rand_boolean (rand))
            fix_png_crcs (mdata, mlen);
          p = pt_test_write (img_dir, is_png ? "m.png" : "m.jpg", mdata, mlen);
          checked = pt_image_check (mdata, mlen, p, &w, &h, &grey, &check_error);
          d = pt_dataset_open (img_dir, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
          g_assert_no_error (error);
          g_assert_nonnull (d);
          g_assert_cmpuint (pt_dataset_get_n_images (d) + pt_dataset_get_n_quarantined (d), ==, 2);
          if (!checked)
            {
              g_assert_error (check_error, PT_DATASET_ERROR, check_error->code);
              g_assert_cmpuint (pt_dataset_get_n_quarantined (d), ==, 1);
              g_assert_cmpstr (pt_dataset_get_quarantined_reason (d, 0), ==, check_error->message);
            }
          else
            {
              g_assert_cmpint ((gint64) w * h, <=, PT_IMAGE_MAX_PIXELS);
              g_assert_cmpint (w, >, 0);
            }
          if (pt_dataset_get_n_quarantined (d) == 1)
            {
              g_assert_cmpstr (pt_dataset_get_quarantined_path (d, 0), ==, p);
              g_assert_nonnull (strstr (pt_dataset_get_quarantined_reason (d, 0), p));
              n_quarantined++;
            }
          g_unlink (p);
        }
      if (d != NULL)
        n_valid++;
    }

  /* The mutations must have produced both outcomes. */
  g_test_message ("%u of %d mutated inputs loaded, %u images quarantined", n_valid, n, n_quarantined);
  g_assert_cmpuint (n_quarantined, >, n / 8);
  g_assert_cmpuint (n_valid, >, n / 2);
  pt_test_rm_rf (dir);
}

static void
test_balanced_subset (void)
{
  PtDatasetOptions options = { .shapes_train = 200, .shapes_test = 20 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) ds = pt_dataset_open ("shapes", PT_SPLIT_TRAIN, &options, NULL, NULL, NULL, &error);
  g_autoptr(PtDataset) sub = NULL;
  guint counts[10] = { 0 };
  guint j = 0;

  g_assert_no_error (error);
  sub = pt_dataset_new_balanced_subset (ds, 53);
  /* 5 per class (53 / 10), the first of each class, in dataset order. */
  g_assert_cmpuint (pt_dataset_get_n_images (sub), ==, 50);
  g_assert_cmpint (pt_dataset_get_n_classes (sub), ==, 10);
  g_assert_cmpstr (pt_dataset_get_class_name (sub, 3), ==, pt_dataset_get_class_name (ds, 3));
  for (guint i = 0; i < pt_dataset_get_n_images (ds) && j < 50; i++)
    {
      int label = pt_dataset_get_label (ds, i);

      if (counts[label] >= 5)
        continue;
      counts[label]++;
      g_assert_cmpint (pt_dataset_get_label (sub, j), ==, label);
      g_assert_cmpmem (pt_dataset_get_image (sub, j), pt_dataset_get_image_size (sub),
                       pt_dataset_get_image (ds, i), pt_dataset_get_image_size (ds));
      j++;
    }
  g_assert_cmpuint (j, ==, 50);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/core/dataset/shapes/determinism", test_shapes_determinism);
  g_test_add_func ("/core/dataset/shapes/statistics", test_shapes_statistics);
  g_test_add_func ("/core/dataset/shapes/upright", test_shapes_upright);
  g_test_add_func ("/core/dataset/idx/round-trip", test_idx_round_trip);
  g_test_add_func ("/core/dataset/idx/bad", test_idx_bad);
  g_test_add_func ("/core/dataset/cifar10", test_cifar);
  g_test_add_func ("/core/dataset/missing-and-empty", test_missing_and_empty);
  g_test_add_func ("/core/dataset/folder/quarantine", test_folder_quarantine);
  g_test_add_func ("/core/dataset/folder/pixels", test_folder_pixels);
  g_test_add_func ("/core/dataset/folder/grey", test_folder_grey);
  g_test_add_func ("/core/dataset/folder/splits", test_folder_splits);
  g_test_add_func ("/core/dataset/memory", test_memory);
  g_test_add_func ("/core/dataset/async", test_async);
  g_test_add_func ("/core/dataset/fashion-mnist", test_fashion_mnist_real);
  g_test_add_func ("/core/dataset/mutation", test_mutation);
  g_test_add_func ("/core/dataset/balanced-subset", test_balanced_subset);
  return g_test_run ();
}
