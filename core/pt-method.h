/* pt-method.h: the interface every self-supervised method implements.
 *
 * A method is a vtable (PtMethodClass, static, one per method) plus an
 * instance (PtMethod, embedded as the first member of the method's own
 * struct). The trainer drives any method through it:
 *
 *   create (config)   build the model for an image shape and batch size
 *   views             how many views of what size each image needs
 *   step (batch)      one optimisation step: loss, named loss parts, health
 *   embed (images)    features of images, eval mode, no state change
 *   embed_projection  the same through the projection head (optional)
 *   visuals ()        a method-specific snapshot (PtVisuals) the UI can keep
 *   list_state ()     the whole training state as NAMED BLOBS (parameters,
 *                     optimizer moments, buffers, RNG and schedule counters),
 *                     borrowed pointers into the method, so checkpoints are
 *                     generic: save copies out of them, load copies in.
 *
 * Hyperparameters are named doubles described by a static PtMethodParam
 * table; those marked live may change between two steps of a run.
 *
 * Threading: a method instance is used by one thread at a time (the
 * training thread while a run is going); PtVisuals are immutable once made
 * and may be read from any thread.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define PT_METHOD_ERROR (pt_method_error_quark ())

typedef enum {
  PT_METHOD_ERROR_UNKNOWN,        /* no method of that name */
  PT_METHOD_ERROR_INVALID_PARAM,  /* unknown parameter, out of range, not live */
  PT_METHOD_ERROR_UNSUPPORTED,    /* image shape or option the method cannot do */
  PT_METHOD_ERROR_FAILED,         /* a step or embed failed */
} PtMethodError;

GQuark pt_method_error_quark (void);

/* ---- Batches ---------------------------------------------------------- */

#define PT_MAX_VIEWS 8

typedef struct {
  int channels;
  int height;
  int width;
} PtViewShape;

/* One batch of views. views[v] holds batch_size images of shape[v], float32,
 * [B][C][H][W]. labels[b] is -1 when unknown; indices[b] is the dataset index
 * of the image the views came from. */
typedef struct {
  int         batch_size;
  int         n_views;
  PtViewShape shape[PT_MAX_VIEWS];
  float      *views[PT_MAX_VIEWS];
  int        *labels;
  guint32    *indices;
  guint64     epoch;     /* epoch the batch belongs to, set by the source */
} PtBatch;

/* Allocates a zeroed batch for n_views views of the given shapes. */
PtBatch    *pt_batch_new              (int                batch_size,
                                       int                n_views,
                                       const PtViewShape *shapes);
void        pt_batch_free             (PtBatch           *batch);
/* Number of floats in view v. */
gsize       pt_batch_view_size        (const PtBatch     *batch,
                                       int                v);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtBatch, pt_batch_free)

/* ---- Step results ----------------------------------------------------- */

#define PT_MAX_LOSS_PARTS 8
#define PT_MAX_STATS      16

/* name must be a static string (a literal or g_intern_static_string):
 * results are copied by value across threads. */
typedef struct {
  const char *name;
  double      value;
} PtNamedValue;

typedef struct {
  double        loss;
  int           n_parts;
  PtNamedValue  parts[PT_MAX_LOSS_PARTS];   /* e.g. "contrastive", "mse" */
  int           n_stats;
  PtNamedValue  stats[PT_MAX_STATS];        /* health: "feature_std", "grad_norm", ... */
  gboolean      grad_finite;                /* FALSE when a gradient was NaN/Inf */
} PtStepResult;

void        pt_step_result_add_part   (PtStepResult *result,
                                       const char   *name,
                                       double        value);
void        pt_step_result_add_stat   (PtStepResult *result,
                                       const char   *name,
                                       double        value);

/* ---- Visuals ---------------------------------------------------------- */

typedef enum {
  PT_VISUAL_IMAGES,   /* shape [N][C][H][W], in the model's input space (normalized
                       * per channel with the run's mean and std; a viewer maps
                       * them back to 0..1 pixels) */
  PT_VISUAL_MATRIX,   /* shape [rows][cols] (similarity matrix) */
  PT_VISUAL_VECTOR,   /* shape [n] (prototype / cluster usage) */
  PT_VISUAL_POINTS,   /* shape [n][dims] (embeddings of the probe subset) */
} PtVisualKind;

typedef struct {
  char         *name;
  PtVisualKind  kind;
  int           rank;
  int           shape[4];
  float        *data;
} PtVisualItem;

/* An immutable, reference-counted snapshot of named float arrays. */
typedef struct _PtVisuals PtVisuals;

PtVisuals          *pt_visuals_new       (guint64       step);
PtVisuals          *pt_visuals_ref       (PtVisuals    *visuals);
void                pt_visuals_unref     (PtVisuals    *visuals);
/* Copies data (rank 1..4 dims in shape). Only while building. */
void                pt_visuals_add       (PtVisuals    *visuals,
                                          const char   *name,
                                          PtVisualKind  kind,
                                          int           rank,
                                          const int    *shape,
                                          const float  *data);
guint64             pt_visuals_get_step  (PtVisuals    *visuals);
guint               pt_visuals_get_n_items (PtVisuals  *visuals);
const PtVisualItem *pt_visuals_get_item  (PtVisuals    *visuals,
                                          guint         i);
const PtVisualItem *pt_visuals_lookup    (PtVisuals    *visuals,
                                          const char   *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtVisuals, pt_visuals_unref)

/* ---- State blobs ------------------------------------------------------ */

typedef enum {
  PT_BLOB_F32 = 1,   /* parameters, optimizer moments, BN stats, queues */
  PT_BLOB_F64 = 2,   /* scalar schedule state, hyperparameter values */
  PT_BLOB_U64 = 3,   /* step counters, RNG states */
  PT_BLOB_U8  = 4,   /* opaque bytes (a loader position) */
} PtBlobType;

/* A named array. data is borrowed: for list_state it points into the
 * owner's live memory, which a checkpoint load overwrites in place. */
typedef struct {
  const char *name;    /* unique within a state list, static or owned by the lister */
  PtBlobType  type;
  gsize       count;   /* number of elements */
  gpointer    data;
} PtBlob;

gsize       pt_blob_type_size         (PtBlobType type);
const char *pt_blob_type_name         (PtBlobType type);

/* ---- Hyperparameters -------------------------------------------------- */

typedef struct {
  const char *name;          /* key in config.ini, e.g. "lr" */
  const char *description;   /* one line, untranslated */
  double      default_value;
  double      min_value;
  double      max_value;
  gboolean    live;          /* may change mid-run (applied at a step boundary) */
  gboolean    integer;       /* must hold a whole number */
} PtMethodParam;

/* ---- The method ------------------------------------------------------- */

typedef struct _PtMethodClass PtMethodClass;
typedef struct _PtMethod PtMethod;

/* What create gets. params may be NULL (all defaults); otherwise keys of the
 * group params_group override the defaults (as written by
 * pt_method_save_params). */
typedef struct {
  int         channels;        /* input image shape (the dataset's) */
  int         height;
  int         width;
  int         batch_size;
  int         n_classes;       /* 0 when unknown */
  guint64     seed;
  const char *encoder;         /* "cnn", "vit", or NULL for the method's default */
  int         encoder_width;   /* 0 for the default */
  GKeyFile   *params;
  const char *params_group;    /* NULL means "method" */
} PtMethodConfig;

struct _PtMethodClass
{
  const char          *name;          /* registry key, e.g. "simclr" */
  const char          *title;         /* display name, e.g. "SimCLR" */
  const char          *description;   /* one line */
  const PtMethodParam *params;        /* table ending with a NULL name */

  /* Allocates and builds an instance; parameter values were already
   * validated and are available through pt_method_get_param. */
  gboolean     (*init)         (PtMethod            *self,
                                const PtMethodConfig *config,
                                GError             **error);
  PtMethod    *(*alloc)        (void);   /* g_new0 of the derived struct */
  void         (*finalize)     (PtMethod            *self);

  /* Views per image the loader must produce (at most PT_MAX_VIEWS). */
  int          (*get_views)    (PtMethod            *self,
                                PtViewShape         *shapes);
  /* A string that changes whenever saved state would not fit, e.g.
   * "cnn w16 3x32x32 proj128". */
  char        *(*dup_architecture) (PtMethod        *self);

  gboolean     (*step)         (PtMethod            *self,
                                const PtBatch       *batch,
                                PtStepResult        *result,
                                GError             **error);
  /* Features dim per image. */
  int          (*get_feature_dim) (PtMethod         *self);
  /* images: [n][C][H][W] in the config's shape; features: [n][dim]. */
  gboolean     (*embed)        (PtMethod            *self,
                                const float         *images,
                                int                  n,
                                float               *features,
                                GError             **error);
  /* May be NULL: the method has nothing to show. */
  PtVisuals   *(*visuals)      (PtMethod            *self);
  /* Appends PtBlob to blobs; pointers stay valid until the next step. */
  void         (*list_state)   (PtMethod            *self,
                                GArray              *blobs);
  /* May be NULL: called after the state was overwritten by a load. */
  void         (*state_loaded) (PtMethod            *self);
  /* May be NULL: called after a parameter changed (mid-run or not). */
  void         (*param_changed) (PtMethod           *self,
                                 const char         *name);
  /* Optional (NULL, or 0 from get_projection_dim: none): the output of the
   * projection head the loss sees (SimCLR's projector, MoCo's query
   * projector, SwAV's projector before the prototypes), unnormalized.
   * embed_projection is like embed: eval mode, no state change. */
  int          (*get_projection_dim) (PtMethod      *self);
  gboolean     (*embed_projection) (PtMethod        *self,
                                    const float     *images,
                                    int              n,
                                    float           *features,
                                    GError         **error);
  /* TRUE when every instance has a projection head (get_projection_dim
   * > 0 whatever the config): lets a caller answer without building one. */
  gboolean     has_projection;
};

/* The common part of every instance; methods embed it first. */
struct _PtMethod
{
  const PtMethodClass *klass;
  gint                 ref_count;
  double              *param_values;   /* one per klass->params entry */
  PtMethodConfig       config;         /* copy; params/encoder pointers cleared */
  char                *encoder;
};

/* Registry. Methods are registered once (the app registers its built-ins at
 * start-up); lookup never fails for a registered name. */
void                  pt_method_register      (const PtMethodClass *klass);
const PtMethodClass  *pt_method_lookup        (const char          *name);
/* NULL-terminated, in registration order; free the array only. */
const PtMethodClass **pt_method_list          (guint               *n_methods);

/* Whether every instance of klass has a projection head, without building
 * one (pt_method_has_projection asks an instance). */
gboolean              pt_method_class_has_projection (const PtMethodClass *klass);

/* Creates a method by name. Errors: unknown method, bad parameter. */
PtMethod   *pt_method_new             (const char           *name,
                                       const PtMethodConfig *config,
                                       GError              **error);
PtMethod   *pt_method_new_for_class   (const PtMethodClass  *klass,
                                       const PtMethodConfig *config,
                                       GError              **error);
PtMethod   *pt_method_ref             (PtMethod             *self);
void        pt_method_unref           (PtMethod             *self);

const char *pt_method_get_name        (PtMethod             *self);
const char *pt_method_get_title       (PtMethod             *self);
const PtMethodConfig *pt_method_get_config (PtMethod        *self);
int         pt_method_get_views       (PtMethod             *self,
                                       PtViewShape          *shapes);
char       *pt_method_dup_architecture (PtMethod            *self);

gboolean    pt_method_step            (PtMethod             *self,
                                       const PtBatch        *batch,
                                       PtStepResult         *result,
                                       GError              **error);
int         pt_method_get_feature_dim (PtMethod             *self);
gboolean    pt_method_embed           (PtMethod             *self,
                                       const float          *images,
                                       int                   n,
                                       float                *features,
                                       GError              **error);
/* Whether the method has a projection head (pt_method_embed_projection
 * works); its output dim, 0 when it has none. */
gboolean    pt_method_has_projection  (PtMethod             *self);
int         pt_method_get_projection_dim (PtMethod          *self);
/* Like pt_method_embed, through the projection head: features [n][proj dim].
 * Fails with PT_METHOD_ERROR_UNSUPPORTED when the method has none. */
gboolean    pt_method_embed_projection (PtMethod            *self,
                                        const float         *images,
                                        int                  n,
                                        float               *features,
                                        GError             **error);
/* A new snapshot, or NULL when the method has none. */
PtVisuals  *pt_method_visuals         (PtMethod             *self);

/* The state as named blobs (borrowed pointers). Free with g_array_unref. */
GArray     *pt_method_list_state      (PtMethod             *self);
void        pt_method_state_loaded    (PtMethod             *self);

/* Hyperparameters. */
const PtMethodParam *pt_method_get_params (PtMethod         *self,
                                           guint            *n_params);
const PtMethodParam *pt_method_find_param (PtMethod         *self,
                                           const char       *name);
gboolean    pt_method_has_param       (PtMethod             *self,
                                       const char           *name);
double      pt_method_get_param       (PtMethod             *self,
                                       const char           *name);
gboolean    pt_method_is_param_live   (PtMethod             *self,
                                       const char           *name);
/* Validates the range; with only_live, refuses parameters not marked live
 * (what a running trainer allows). */
gboolean    pt_method_set_param       (PtMethod             *self,
                                       const char           *name,
                                       double                value,
                                       gboolean              only_live,
                                       GError              **error);
/* Writes every parameter into group (NULL: "method") plus "name". */
void        pt_method_save_params     (PtMethod             *self,
                                       GKeyFile             *keyfile,
                                       const char           *group);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PtMethod, pt_method_unref)

G_END_DECLS
