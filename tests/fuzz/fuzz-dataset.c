/* fuzz-dataset.c: a libFuzzer target over the dataset readers.
 *
 * Not part of the meson build (it needs clang's libFuzzer); the bounded
 * mutation test in tests/core/test-dataset.c runs in every `make test`.
 * Build and run by hand from the source root:
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icore \
 *     tests/fuzz/fuzz-dataset.c core/pt-dataset.c core/pt-dataset-*.c \
 *     core/pt-image-check.c $(pkg-config --cflags --libs gio-2.0 gdk-pixbuf-2.0) \
 *     -lm -o fuzz-dataset
 *   ./fuzz-dataset -max_total_time=60
 *
 * The first input byte picks the reader: the PNG/JPEG structure check in
 * memory, an IDX images file, a CIFAR-10 test batch, or a one-file image
 * folder (structure check, then gdk-pixbuf). Each must return a dataset or
 * a PT_DATASET_ERROR naming the file, never crash.
 */
#include <string.h>
#include <glib/gstdio.h>

#include "pt-dataset.h"
#include "pt-image-check.h"

static char *work_dir;

static void
write_file (const char *path, const guint8 *data, size_t size)
{
  g_autoptr(GError) error = NULL;

  g_unlink (path);
  if (!g_file_set_contents_full (path, (const char *) data, size,
                                 G_FILE_SET_CONTENTS_NONE, 0644, &error))
    g_error ("%s", error->message);
}

static void
check (PtDataset *d, GError *error, const char *path)
{
  if (d == NULL)
    {
      g_assert (error != NULL);
      g_assert (error->domain == PT_DATASET_ERROR);
      g_assert (strstr (error->message, path) != NULL);
    }
  else
    {
      g_assert (error == NULL);
      g_assert (pt_dataset_get_n_images (d) > 0);
    }
}

int LLVMFuzzerTestOneInput (const guint8 *data, size_t size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PtDataset) d = NULL;
  int target;

  if (size < 1)
    return 0;
  if (work_dir == NULL)
    {
      work_dir = g_dir_make_tmp ("pt-fuzz-XXXXXX", NULL);
      g_assert (work_dir != NULL);
    }
  target = data[0] % 4;
  data++;
  size--;

  switch (target)
    {
    case 0:
      {
        int w, h;
        gboolean grey;

        if (pt_image_check (data, size, "mem", &w, &h, &grey, &error))
          g_assert (w > 0 && h > 0 && (gint64) w * h <= PT_IMAGE_MAX_PIXELS);
        else
          g_assert (error != NULL && error->domain == PT_DATASET_ERROR);
      }
      break;
    case 1:
      {
        g_autofree char *path = g_build_filename (work_dir, "x-images-idx3-ubyte", NULL);

        write_file (path, data, size);
        d = pt_dataset_open (path, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
        check (d, error, path);
      }
      break;
    case 2:
      {
        g_autofree char *path = g_build_filename (work_dir, "test_batch.bin", NULL);
        g_autofree char *spec = g_strconcat ("cifar10:", work_dir, NULL);

        write_file (path, data, size);
        d = pt_dataset_open (spec, PT_SPLIT_TEST, NULL, NULL, NULL, NULL, &error);
        check (d, error, path);
        g_unlink (path);
      }
      break;
    case 3:
      {
        g_autofree char *folder = g_build_filename (work_dir, "images", NULL);
        g_autofree char *path = g_build_filename (folder, "f.img", NULL);

        g_mkdir_with_parents (folder, 0755);
        write_file (path, data, size);
        d = pt_dataset_open (folder, PT_SPLIT_TRAIN, NULL, NULL, NULL, NULL, &error);
        check (d, error, folder);
        g_unlink (path);
      }
      break;
    default:
      g_assert_not_reached ();
    }
  return 0;
}
