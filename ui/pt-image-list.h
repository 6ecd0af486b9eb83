/* pt-image-list.h: a GListModel over the images of a PtDataset.
 *
 * Items (PtImageItem) are made on demand, so a grid view over 60,000 images
 * creates objects only for what it shows. An optional class filter keeps
 * the images of one class.
 */
#pragma once

#include <gtk/gtk.h>

#include "pt-dataset.h"

G_BEGIN_DECLS

#define PT_TYPE_IMAGE_ITEM (pt_image_item_get_type ())
G_DECLARE_FINAL_TYPE (PtImageItem, pt_image_item, PT, IMAGE_ITEM, GObject)

guint       pt_image_item_get_index   (PtImageItem *self);
int         pt_image_item_get_label   (PtImageItem *self);
PtDataset  *pt_image_item_get_dataset (PtImageItem *self);
/* A new texture of the image, upscaled by whole pixels (nearest) to at least
 * min_size on its longer side, so small images stay crisp. */
GdkTexture *pt_image_item_dup_texture (PtImageItem *self,
                                       int          min_size);

#define PT_TYPE_IMAGE_LIST (pt_image_list_get_type ())
G_DECLARE_FINAL_TYPE (PtImageList, pt_image_list, PT, IMAGE_LIST, GObject)

PtImageList *pt_image_list_new          (PtDataset   *dataset);
PtDataset   *pt_image_list_get_dataset  (PtImageList *self);
/* -1 shows every image. */
void         pt_image_list_set_class_filter (PtImageList *self,
                                             int          klass);
int          pt_image_list_get_class_filter (PtImageList *self);

/* Texture of a dataset image, upscaled as pt_image_item_dup_texture(). */
GdkTexture  *pt_dataset_dup_texture     (PtDataset   *dataset,
                                         guint        index,
                                         int          min_size);

G_END_DECLS
