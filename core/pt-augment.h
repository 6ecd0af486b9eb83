/* pt-augment.h: the augmentation pipeline, exactly as training uses it.
 *
 * Input: one u8 image, planar C x H x W (C = 1 or 3). Output: float32
 * OC x OH x OW in [0, 1]. A recipe holds one or more view groups (a group
 * yields `count` views with the same pipeline: symmetric SimCLR is one group
 * of 2, asymmetric BYOL two groups of 1, multi-crop adds a group of local
 * views at their own size). Every view is a pure function of
 * (seed, epoch, image index, view index): each op draws from its own
 * counter-based stream (pt-aug-rng.h), so views do not depend on thread count
 * or order, and turning one op off does not change what the others draw.
 *
 * Ops run in this fixed order (the order of the published recipes):
 *   crop (random resized crop, then antialiased bilinear resize to the view
 *   size) -> hflip -> vflip -> rotate -> jitter -> grayscale -> blur ->
 *   solarize -> equalize -> erase -> noise -> grey-to-RGB when asked.
 * Semantics follow torchvision: RandomResizedCrop's 10 attempts with the
 * centre-crop fallback; ColorJitter in a random order with contrast blending
 * towards the mean of the grayscale image and hue shifted in HSV;
 * grayscale weights 0.299/0.587/0.114; Gaussian blur with reflect padding
 * and a kernel of 10% of the view side made odd (SimCLR: 224 -> 23), at
 * least 3 (28 or 32 -> 3, also for small local views); solarize inverts
 * values >= threshold; equalize is per channel on the 8-bit histogram;
 * RandomErasing's 10 attempts. Grey images: brightness and contrast apply,
 * saturation, hue and grayscale are no-ops.
 *
 * Recipe files (.ini, GKeyFile), see data/recipes/ for the presets:
 *
 *   [recipe]
 *   name=simclr                  short name (required)
 *   title=SimCLR (ImageNet)      human-readable title
 *   reference=Chen et al. 2020…  the paper or config it reproduces
 *   views=pair                   ordered list of view groups (required)
 *   channels=0                   output channels: 0 as input, 1 or 3
 *
 *   [view:pair]                  one group per view group
 *   count=2                      views of this group (1..32)
 *   size=1.0                     output side relative to the input (0..4]
 *   pixels=0                     absolute output side; 0 = use size
 *   shared=false                 true: the group's views share every draw
 *                                (RotNet's rotated copies of one view)
 *
 *   [pair:crop]                  one group per op of that view group;
 *   p=1.0                        an absent group means the op is off.
 *   scale-min=0.08               every op has p (probability, default 1)
 *   ...
 *
 * Op groups and keys (defaults in brackets):
 *   crop      p scale-min[0.08] scale-max[1] ratio-min[3/4] ratio-max[4/3]
 *   hflip     p[0.5]
 *   vflip     p[0.5]
 *   rotate    p degrees-min[0] degrees-max[0] right-angles[false]
 *             by-view[false] fill[0] (by-view: 90 x the view's index in
 *             its group, mod 4, instead of a random angle)
 *   jitter    p[0.8] brightness contrast saturation hue [0] (torchvision's
 *             scalar form: factor in [max(0, 1-x), 1+x], hue in [-h, h])
 *   grayscale p[0.2]
 *   blur      p[0.5] sigma-min[0.1] sigma-max[2] kernel-fraction[0.1]
 *   solarize  p[0.2] threshold[0.5]
 *   equalize  p[0.5]
 *   erase     p[0.5] scale-min[0.02] scale-max[0.33] ratio-min[0.3]
 *             ratio-max[3.3] value[0]
 *   noise     p[0.5] std[0.05]
 * An unknown group, op or key, a value that does not parse or is out of
 * range, or min > max is an error naming the file, the group and the key.
 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define PT_AUGMENT_ERROR (pt_augment_error_quark ())

typedef enum {
  PT_AUGMENT_ERROR_NOT_FOUND,   /* no such preset or file */
  PT_AUGMENT_ERROR_INVALID,     /* the recipe is malformed */
  PT_AUGMENT_ERROR_WRITE,       /* saving failed */
} PtAugmentError;

/* Ops, in pipeline order; also bit positions in PtViewRecord.fired. */
typedef enum {
  PT_AUG_CROP,
  PT_AUG_HFLIP,
  PT_AUG_VFLIP,
  PT_AUG_ROTATE,
  PT_AUG_JITTER,
  PT_AUG_GRAYSCALE,
  PT_AUG_BLUR,
  PT_AUG_SOLARIZE,
  PT_AUG_EQUALIZE,
  PT_AUG_ERASE,
  PT_AUG_NOISE,
  PT_AUG_N_OPS,
} PtAugOp;

/* Colour jitter components, as in PtViewRecord.jitter_order. */
typedef enum {
  PT_JITTER_BRIGHTNESS,
  PT_JITTER_CONTRAST,
  PT_JITTER_SATURATION,
  PT_JITTER_HUE,
} PtJitterComponent;

/* Parameters of one op; which fields mean something depends on the op. */
typedef struct {
  gboolean enabled;          /* the group is present in the recipe */
  double   p;                /* probability of firing, [0, 1] */
  double   min, max;         /* crop/erase: scale; rotate: degrees;
                                blur: sigma */
  double   ratio_min, ratio_max;  /* crop/erase aspect ratio w/h */
  double   brightness, contrast, saturation, hue;   /* jitter */
  double   value;            /* rotate: fill; solarize: threshold;
                                erase: value; noise: std;
                                blur: kernel fraction */
  gboolean right_angles;     /* rotate: one of 0, 90, 180, 270 */
  gboolean by_view;          /* rotate: 90 x (view index in its group mod 4),
                                drawn from nothing (RotNet's four copies) */
} PtAugOpParams;

typedef struct {
  char          *name;
  guint          count;      /* views of this group */
  double         size;       /* output side relative to the input */
  int            pixels;     /* absolute output side, 0 = use size */
  gboolean       shared;     /* the group's views draw the same crop, flips,
                                colours...: copies of one view that differ
                                only by a by-view rotation */
  PtAugOpParams  ops[PT_AUG_N_OPS];
} PtAugViewGroup;

typedef struct {
  char           *name;
  char           *title;
  char           *reference;
  char           *comment;   /* the comment above the first group, kept on save */
  int             channels;  /* 0 = as input, 1 or 3 */
  guint           n_groups;
  PtAugViewGroup *groups;
} PtAugRecipe;

/* What a view drew. Boxes are in source pixels (x, y = left, top). */
typedef struct {
  guint    view;             /* view index within the recipe */
  guint    group;            /* its view group */
  guint32  fired;            /* bit PT_AUG_* set when that op fired */
  int      out_channels, out_height, out_width;
  int      crop_x, crop_y, crop_w, crop_h;
  double   crop_scale;       /* crop area / image area */
  double   crop_ratio;       /* crop w / h */
  gboolean crop_fallback;    /* the 10 attempts failed: centre crop */
  double   angle;            /* degrees, counter-clockwise */
  double   brightness, contrast, saturation, hue;  /* factors drawn */
  guint8   jitter_order[4];  /* PtJitterComponent, in the order applied */
  double   blur_sigma;
  int      blur_kernel;
  double   solarize_threshold;
  int      erase_x, erase_y, erase_w, erase_h;     /* in output pixels */
  double   erase_value;
  double   noise_std;
} PtViewRecord;

GQuark        pt_augment_error_quark        (void);

/* "crop", "hflip", ... */
const char   *pt_aug_op_name                (PtAugOp op);

/* A recipe with no view group (add groups with pt_augment_recipe_add_group). */
PtAugRecipe  *pt_augment_recipe_new         (const char *name);
void          pt_augment_recipe_free        (PtAugRecipe *recipe);
PtAugRecipe  *pt_augment_recipe_copy        (const PtAugRecipe *recipe);
gboolean      pt_augment_recipe_equal       (const PtAugRecipe *a,
                                             const PtAugRecipe *b);
/* Appends a group of count views at relative size; returns it (borrowed).
 * Its ops are all off. */
PtAugViewGroup *pt_augment_recipe_add_group (PtAugRecipe *recipe,
                                             const char  *name,
                                             guint        count,
                                             double       size);
/* Turns an op of a group on with its default parameters; returns them. */
PtAugOpParams *pt_aug_view_group_enable     (PtAugViewGroup *group,
                                             PtAugOp         op);

/* Checks ranges; the error names origin (a file or "recipe"), group and key. */
gboolean      pt_augment_recipe_validate    (const PtAugRecipe *recipe,
                                             const char        *origin,
                                             GError           **error);

/* Parses a recipe from .ini text (length (gsize) -1: NUL-terminated);
 * origin names it in errors. */
PtAugRecipe  *pt_augment_recipe_load_data   (const char  *data,
                                             gsize        length,
                                             const char  *origin,
                                             GError     **error);
PtAugRecipe  *pt_augment_recipe_load_file   (const char  *path,
                                             GError     **error);
/* A preset name ("simclr", found in PT_SOURCE_DATADIR/recipes when run from
 * the build tree, else PT_PKGDATADIR/recipes) or a path to a .ini file. */
PtAugRecipe  *pt_augment_recipe_load        (const char  *name_or_path,
                                             GError     **error);
/* Names of the presets found, sorted (NULL-terminated). */
char        **pt_augment_recipe_list_presets (void);

/* .ini text of the recipe; loading it gives an equal recipe. */
char         *pt_augment_recipe_to_data     (const PtAugRecipe *recipe,
                                             gsize             *length);
/* Writes atomically and durably. */
gboolean      pt_augment_recipe_save        (const PtAugRecipe *recipe,
                                             const char        *path,
                                             GError           **error);

/* Total views (sum of group counts). */
guint         pt_augment_recipe_get_n_views (const PtAugRecipe *recipe);
/* The group of view v. */
const PtAugViewGroup *pt_augment_recipe_get_view_group (const PtAugRecipe *recipe,
                                                        guint              view,
                                                        guint             *group_index);
/* Output shape of view v for an input of C x H x W. */
void          pt_augment_recipe_get_view_shape (const PtAugRecipe *recipe,
                                                guint              view,
                                                int                C,
                                                int                H,
                                                int                W,
                                                int               *out_c,
                                                int               *out_h,
                                                int               *out_w);

/* One view. out: out_c x out_h x out_w floats (see get_view_shape);
 * record may be NULL; image: C x H x W bytes. */
void          pt_augment_view               (float             *out,
                                             PtViewRecord      *record,
                                             const PtAugRecipe *recipe,
                                             guint              view,
                                             const guint8      *image,
                                             int                C,
                                             int                H,
                                             int                W,
                                             guint64            seed,
                                             guint64            epoch,
                                             guint64            index);

/* Every view of B images on n_threads threads (<= 1: this thread).
 * views[v]: [B][OC][OH][OW] of view v; records: [n_views][B] or NULL;
 * images[b]: C x H x W bytes; indices[b]: the image index hashed into
 * the seed. The result does not depend on n_threads. */
void          pt_augment_batch              (float * const      *views,
                                             PtViewRecord      *records,
                                             const PtAugRecipe *recipe,
                                             const guint8 * const *images,
                                             const guint64     *indices,
                                             guint              B,
                                             int                C,
                                             int                H,
                                             int                W,
                                             guint64            seed,
                                             guint64            epoch,
                                             int                n_threads);

/* A short human-readable account, one line per op that fired (crop first),
 * for tooltips and text output. Numbers use the C locale. */
char         *pt_view_record_describe       (const PtViewRecord *record);

/* The record as a JSON object (for --json and the GUI). */
void          pt_view_record_to_json        (const PtViewRecord *record,
                                             JsonBuilder        *builder);

/* Antialiased bilinear resize of a box of a float plane set: src C x H x W,
 * box (x, y, w, h) in source pixels, into dst C x OH x OW. A triangle
 * filter whose support widens with the downscale factor (area averaging in
 * the limit), so downscaling does not alias. Exposed for tests. */
void          pt_augment_resize             (float       *dst,
                                             const float *src,
                                             int          C,
                                             int          H,
                                             int          W,
                                             double       x,
                                             double       y,
                                             double       w,
                                             double       h,
                                             int          OH,
                                             int          OW);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtAugRecipe, pt_augment_recipe_free)

G_END_DECLS
