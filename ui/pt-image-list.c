/* pt-image-list.c: a GListModel over the images of a PtDataset. */
#include "pt-image-list.h"

struct _PtImageItem
{
  GObject     parent_instance;
  PtDataset  *dataset;
  guint       index;
};

G_DEFINE_FINAL_TYPE (PtImageItem, pt_image_item, G_TYPE_OBJECT)

static void
pt_image_item_finalize (GObject *object)
{
  PtImageItem *self = PT_IMAGE_ITEM (object);

  g_clear_object (&self->dataset);
  G_OBJECT_CLASS (pt_image_item_parent_class)->finalize (object);
}

static void
pt_image_item_class_init (PtImageItemClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pt_image_item_finalize;
}

static void
pt_image_item_init (PtImageItem *self)
{
}

static PtImageItem *
pt_image_item_new (PtDataset *dataset,
                   guint      index)
{
  PtImageItem *self = g_object_new (PT_TYPE_IMAGE_ITEM, NULL);

  self->dataset = g_object_ref (dataset);
  self->index = index;
  return self;
}

guint
pt_image_item_get_index (PtImageItem *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_ITEM (self), 0);
  return self->index;
}

int
pt_image_item_get_label (PtImageItem *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_ITEM (self), -1);
  return pt_dataset_get_label (self->dataset, self->index);
}

PtDataset *
pt_image_item_get_dataset (PtImageItem *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_ITEM (self), NULL);
  return self->dataset;
}

GdkTexture *
pt_dataset_dup_texture (PtDataset *dataset,
                        guint      index,
                        int        min_size)
{
  int c = pt_dataset_get_channels (dataset);
  int h = pt_dataset_get_height (dataset);
  int w = pt_dataset_get_width (dataset);
  const guint8 *src = pt_dataset_get_image (dataset, index);
  int f = MAX (1, (min_size + MAX (w, h) - 1) / MAX (w, h));
  int ow = w * f, oh = h * f;
  guint8 *rgb = g_malloc ((gsize) ow * oh * 3);
  g_autoptr(GBytes) bytes = NULL;

  for (int y = 0; y < oh; y++)
    for (int x = 0; x < ow; x++)
      {
        int sy = y / f, sx = x / f;
        guint8 *d = rgb + ((gsize) y * ow + x) * 3;

        for (int k = 0; k < 3; k++)
          d[k] = src[(gsize) (c == 3 ? k : 0) * h * w + (gsize) sy * w + sx];
      }

  bytes = g_bytes_new_take (rgb, (gsize) ow * oh * 3);
  return gdk_memory_texture_new (ow, oh, GDK_MEMORY_R8G8B8, bytes, (gsize) ow * 3);
}

GdkTexture *
pt_image_item_dup_texture (PtImageItem *self,
                           int          min_size)
{
  g_return_val_if_fail (PT_IS_IMAGE_ITEM (self), NULL);
  return pt_dataset_dup_texture (self->dataset, self->index, min_size);
}

struct _PtImageList
{
  GObject     parent_instance;
  PtDataset  *dataset;
  int         class_filter;
  GArray     *indices;     /* guint; NULL when unfiltered */
};

static void pt_image_list_model_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (PtImageList, pt_image_list, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, pt_image_list_model_init))

static GType
pt_image_list_get_item_type (GListModel *model)
{
  return PT_TYPE_IMAGE_ITEM;
}

static guint
pt_image_list_get_n_items (GListModel *model)
{
  PtImageList *self = PT_IMAGE_LIST (model);

  if (self->indices != NULL)
    return self->indices->len;
  return pt_dataset_get_n_images (self->dataset);
}

static gpointer
pt_image_list_get_item (GListModel *model,
                        guint       position)
{
  PtImageList *self = PT_IMAGE_LIST (model);

  if (position >= pt_image_list_get_n_items (model))
    return NULL;
  if (self->indices != NULL)
    position = g_array_index (self->indices, guint, position);
  return pt_image_item_new (self->dataset, position);
}

static void
pt_image_list_model_init (GListModelInterface *iface)
{
  iface->get_item_type = pt_image_list_get_item_type;
  iface->get_n_items = pt_image_list_get_n_items;
  iface->get_item = pt_image_list_get_item;
}

static void
pt_image_list_finalize (GObject *object)
{
  PtImageList *self = PT_IMAGE_LIST (object);

  g_clear_object (&self->dataset);
  g_clear_pointer (&self->indices, g_array_unref);
  G_OBJECT_CLASS (pt_image_list_parent_class)->finalize (object);
}

static void
pt_image_list_class_init (PtImageListClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = pt_image_list_finalize;
}

static void
pt_image_list_init (PtImageList *self)
{
  self->class_filter = -1;
}

PtImageList *
pt_image_list_new (PtDataset *dataset)
{
  PtImageList *self;

  g_return_val_if_fail (PT_IS_DATASET (dataset), NULL);

  self = g_object_new (PT_TYPE_IMAGE_LIST, NULL);
  self->dataset = g_object_ref (dataset);
  return self;
}

PtDataset *
pt_image_list_get_dataset (PtImageList *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_LIST (self), NULL);
  return self->dataset;
}

int
pt_image_list_get_class_filter (PtImageList *self)
{
  g_return_val_if_fail (PT_IS_IMAGE_LIST (self), -1);
  return self->class_filter;
}

void
pt_image_list_set_class_filter (PtImageList *self,
                                int          klass)
{
  guint old_n, new_n;

  g_return_if_fail (PT_IS_IMAGE_LIST (self));

  klass = klass < pt_dataset_get_n_classes (self->dataset) ? MAX (-1, klass) : -1;
  if (klass == self->class_filter)
    return;

  old_n = pt_image_list_get_n_items (G_LIST_MODEL (self));
  self->class_filter = klass;
  g_clear_pointer (&self->indices, g_array_unref);
  if (klass >= 0)
    {
      guint n = pt_dataset_get_n_images (self->dataset);

      self->indices = g_array_new (FALSE, FALSE, sizeof (guint));
      for (guint i = 0; i < n; i++)
        if (pt_dataset_get_label (self->dataset, i) == klass)
          g_array_append_val (self->indices, i);
    }
  new_n = pt_image_list_get_n_items (G_LIST_MODEL (self));
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old_n, new_n);
}
