/* pt-loader-dataset.c: a loader over a PtDataset.
 *
 * Kept apart from pt-loader.c so that the loader core links without the
 * dataset module (tests drive it over raw buffers). */
#include "pt-loader.h"

static const guint8 *
dataset_get_image (gpointer data,
                   guint    i)
{
  return pt_dataset_get_image (data, i);
}

static int
dataset_get_label (gpointer data,
                   guint    i)
{
  return pt_dataset_get_label (data, i);
}

PtLoader *
pt_loader_new (PtDataset             *dataset,
               const PtAugRecipe     *recipe,
               const PtLoaderOptions *options,
               GError               **error)
{
  PtLoaderSource source = { 0 };

  g_return_val_if_fail (PT_IS_DATASET (dataset), NULL);

  source.n_images = pt_dataset_get_n_images (dataset);
  source.channels = pt_dataset_get_channels (dataset);
  source.height = pt_dataset_get_height (dataset);
  source.width = pt_dataset_get_width (dataset);
  source.get_image = dataset_get_image;
  source.get_label = dataset_get_label;
  source.data = g_object_ref (dataset);
  source.destroy = g_object_unref;
  return pt_loader_new_for_source (&source, recipe, options, error);
}
