/* pt-augment.c: the augmentation pipeline, recipes and view records. */
#include "pt-augment.h"

#include <math.h>
#include <string.h>
#include <glib/gi18n.h>

#include "pt-build-config.h"
#include "pt-aug-rng.h"

/* Nothing here relies on floating-point exceptions; without this GCC will
 * not turn the selects of the colour loops into vector blends. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize ("no-trapping-math")
#endif

G_DEFINE_QUARK (pt-augment-error-quark, pt_augment_error)

/* Stream tags: each op draws from its own stream of the view's key. */
#define PT_AUG_STREAM(op) ((guint64) 0x417567 << 8 | (guint64) (op))

static const char *const op_names[PT_AUG_N_OPS] = {
  "crop", "hflip", "vflip", "rotate", "jitter", "grayscale", "blur",
  "solarize", "equalize", "erase", "noise",
};

const char *
pt_aug_op_name (PtAugOp op)
{
  g_return_val_if_fail (op < PT_AUG_N_OPS, NULL);
  return op_names[op];
}

/* ------------------------------------------------------------------ */
/* Recipe keys                                                          */

typedef enum {
  F_P, F_MIN, F_MAX, F_RATIO_MIN, F_RATIO_MAX, F_BRIGHTNESS, F_CONTRAST,
  F_SATURATION, F_HUE, F_VALUE, F_RIGHT_ANGLES, F_BY_VIEW,
} Field;

#define IS_BOOL_FIELD(f) ((f) == F_RIGHT_ANGLES || (f) == F_BY_VIEW)

typedef struct {
  const char *key;
  Field       field;
  double      def;
  double      lo, hi;
  gboolean    lo_open;      /* lo itself is not allowed */
  int         pair;         /* F_MIN/F_RATIO_MIN: index of its max key, else -1 */
} KeySpec;

#define N_KEYS_MAX 7

typedef struct {
  guint   n_keys;
  KeySpec keys[N_KEYS_MAX];
} OpSpec;

static const OpSpec op_specs[PT_AUG_N_OPS] = {
  [PT_AUG_CROP] = { 5, {
    { "p", F_P, 1.0, 0, 1, FALSE, -1 },
    { "scale-min", F_MIN, 0.08, 0, 1, TRUE, 2 },
    { "scale-max", F_MAX, 1.0, 0, 1, TRUE, -1 },
    { "ratio-min", F_RATIO_MIN, 3.0 / 4.0, 0, 100, TRUE, 4 },
    { "ratio-max", F_RATIO_MAX, 4.0 / 3.0, 0, 100, TRUE, -1 },
  } },
  [PT_AUG_HFLIP] = { 1, { { "p", F_P, 0.5, 0, 1, FALSE, -1 } } },
  [PT_AUG_VFLIP] = { 1, { { "p", F_P, 0.5, 0, 1, FALSE, -1 } } },
  [PT_AUG_ROTATE] = { 6, {
    { "p", F_P, 1.0, 0, 1, FALSE, -1 },
    { "degrees-min", F_MIN, 0.0, -360, 360, FALSE, 2 },
    { "degrees-max", F_MAX, 0.0, -360, 360, FALSE, -1 },
    { "right-angles", F_RIGHT_ANGLES, 0, 0, 1, FALSE, -1 },
    { "by-view", F_BY_VIEW, 0, 0, 1, FALSE, -1 },
    { "fill", F_VALUE, 0.0, 0, 1, FALSE, -1 },
  } },
  [PT_AUG_JITTER] = { 5, {
    { "p", F_P, 0.8, 0, 1, FALSE, -1 },
    { "brightness", F_BRIGHTNESS, 0.0, 0, 10, FALSE, -1 },
    { "contrast", F_CONTRAST, 0.0, 0, 10, FALSE, -1 },
    { "saturation", F_SATURATION, 0.0, 0, 10, FALSE, -1 },
    { "hue", F_HUE, 0.0, 0, 0.5, FALSE, -1 },
  } },
  [PT_AUG_GRAYSCALE] = { 1, { { "p", F_P, 0.2, 0, 1, FALSE, -1 } } },
  [PT_AUG_BLUR] = { 4, {
    { "p", F_P, 0.5, 0, 1, FALSE, -1 },
    { "sigma-min", F_MIN, 0.1, 0, 100, TRUE, 2 },
    { "sigma-max", F_MAX, 2.0, 0, 100, TRUE, -1 },
    { "kernel-fraction", F_VALUE, 0.1, 0, 1, TRUE, -1 },
  } },
  [PT_AUG_SOLARIZE] = { 2, {
    { "p", F_P, 0.2, 0, 1, FALSE, -1 },
    { "threshold", F_VALUE, 0.5, 0, 1, FALSE, -1 },
  } },
  [PT_AUG_EQUALIZE] = { 1, { { "p", F_P, 0.5, 0, 1, FALSE, -1 } } },
  [PT_AUG_ERASE] = { 6, {
    { "p", F_P, 0.5, 0, 1, FALSE, -1 },
    { "scale-min", F_MIN, 0.02, 0, 1, TRUE, 2 },
    { "scale-max", F_MAX, 0.33, 0, 1, TRUE, -1 },
    { "ratio-min", F_RATIO_MIN, 0.3, 0, 100, TRUE, 4 },
    { "ratio-max", F_RATIO_MAX, 3.3, 0, 100, TRUE, -1 },
    { "value", F_VALUE, 0.0, 0, 1, FALSE, -1 },
  } },
  [PT_AUG_NOISE] = { 2, {
    { "p", F_P, 0.5, 0, 1, FALSE, -1 },
    { "std", F_VALUE, 0.05, 0, 1, FALSE, -1 },
  } },
};

static double *
field_ptr (PtAugOpParams *params,
           Field          field)
{
  switch (field)
    {
    case F_P: return &params->p;
    case F_MIN: return &params->min;
    case F_MAX: return &params->max;
    case F_RATIO_MIN: return &params->ratio_min;
    case F_RATIO_MAX: return &params->ratio_max;
    case F_BRIGHTNESS: return &params->brightness;
    case F_CONTRAST: return &params->contrast;
    case F_SATURATION: return &params->saturation;
    case F_HUE: return &params->hue;
    case F_VALUE: return &params->value;
    case F_RIGHT_ANGLES:
    case F_BY_VIEW:
    default:
      g_assert_not_reached ();
    }
  return NULL;
}

static gboolean *
bool_ptr (PtAugOpParams *params,
          Field          field)
{
  g_assert (IS_BOOL_FIELD (field));
  return field == F_RIGHT_ANGLES ? &params->right_angles : &params->by_view;
}

static double
field_get (const PtAugOpParams *params,
           Field                field)
{
  return *field_ptr ((PtAugOpParams *) params, field);
}

/* ------------------------------------------------------------------ */
/* Recipe objects                                                       */

PtAugRecipe *
pt_augment_recipe_new (const char *name)
{
  PtAugRecipe *recipe = g_new0 (PtAugRecipe, 1);

  g_return_val_if_fail (name != NULL, NULL);
  recipe->name = g_strdup (name);
  return recipe;
}

void
pt_augment_recipe_free (PtAugRecipe *recipe)
{
  if (recipe == NULL)
    return;
  for (guint g = 0; g < recipe->n_groups; g++)
    g_free (recipe->groups[g].name);
  g_free (recipe->groups);
  g_free (recipe->name);
  g_free (recipe->title);
  g_free (recipe->reference);
  g_free (recipe->comment);
  g_free (recipe);
}

PtAugRecipe *
pt_augment_recipe_copy (const PtAugRecipe *recipe)
{
  PtAugRecipe *copy;

  g_return_val_if_fail (recipe != NULL, NULL);
  copy = g_new0 (PtAugRecipe, 1);
  copy->name = g_strdup (recipe->name);
  copy->title = g_strdup (recipe->title);
  copy->reference = g_strdup (recipe->reference);
  copy->comment = g_strdup (recipe->comment);
  copy->channels = recipe->channels;
  copy->n_groups = recipe->n_groups;
  copy->groups = g_memdup2 (recipe->groups, sizeof (PtAugViewGroup) * recipe->n_groups);
  for (guint g = 0; g < copy->n_groups; g++)
    copy->groups[g].name = g_strdup (recipe->groups[g].name);
  return copy;
}

static void
op_set_defaults (PtAugOpParams *params,
                 PtAugOp        op)
{
  memset (params, 0, sizeof *params);
  for (guint k = 0; k < op_specs[op].n_keys; k++)
    {
      const KeySpec *spec = &op_specs[op].keys[k];

      if (IS_BOOL_FIELD (spec->field))
        *bool_ptr (params, spec->field) = spec->def != 0;
      else
        *field_ptr (params, spec->field) = spec->def;
    }
}

PtAugViewGroup *
pt_augment_recipe_add_group (PtAugRecipe *recipe,
                             const char  *name,
                             guint        count,
                             double       size)
{
  PtAugViewGroup *group;

  g_return_val_if_fail (recipe != NULL && name != NULL, NULL);
  recipe->groups = g_renew (PtAugViewGroup, recipe->groups, recipe->n_groups + 1);
  group = &recipe->groups[recipe->n_groups++];
  memset (group, 0, sizeof *group);
  group->name = g_strdup (name);
  group->count = count;
  group->size = size;
  for (int op = 0; op < PT_AUG_N_OPS; op++)
    op_set_defaults (&group->ops[op], op);
  return group;
}

PtAugOpParams *
pt_aug_view_group_enable (PtAugViewGroup *group,
                          PtAugOp         op)
{
  g_return_val_if_fail (group != NULL && op < PT_AUG_N_OPS, NULL);
  op_set_defaults (&group->ops[op], op);
  group->ops[op].enabled = TRUE;
  return &group->ops[op];
}

static gboolean
op_params_equal (const PtAugOpParams *a,
                 const PtAugOpParams *b,
                 PtAugOp              op)
{
  if (a->enabled != b->enabled)
    return FALSE;
  if (!a->enabled)
    return TRUE;
  for (guint k = 0; k < op_specs[op].n_keys; k++)
    {
      const KeySpec *spec = &op_specs[op].keys[k];

      if (IS_BOOL_FIELD (spec->field))
        {
          if (!*bool_ptr ((PtAugOpParams *) a, spec->field) !=
              !*bool_ptr ((PtAugOpParams *) b, spec->field))
            return FALSE;
        }
      else if (field_get (a, spec->field) != field_get (b, spec->field))
        return FALSE;
    }
  return TRUE;
}

gboolean
pt_augment_recipe_equal (const PtAugRecipe *a,
                         const PtAugRecipe *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (g_strcmp0 (a->name, b->name) != 0 || g_strcmp0 (a->title, b->title) != 0 ||
      g_strcmp0 (a->reference, b->reference) != 0 ||
      g_strcmp0 (a->comment, b->comment) != 0 ||
      a->channels != b->channels || a->n_groups != b->n_groups)
    return FALSE;
  for (guint g = 0; g < a->n_groups; g++)
    {
      const PtAugViewGroup *ga = &a->groups[g], *gb = &b->groups[g];

      if (g_strcmp0 (ga->name, gb->name) != 0 || ga->count != gb->count ||
          ga->size != gb->size || ga->pixels != gb->pixels || !ga->shared != !gb->shared)
        return FALSE;
      for (int op = 0; op < PT_AUG_N_OPS; op++)
        if (!op_params_equal (&ga->ops[op], &gb->ops[op], op))
          return FALSE;
    }
  return TRUE;
}

static gboolean
valid_group_name (const char *name)
{
  /* "view" and "recipe" would make [view:OP] groups ambiguous. */
  if (name == NULL || *name == '\0' || strlen (name) > 64 ||
      strcmp (name, "view") == 0 || strcmp (name, "recipe") == 0)
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static gboolean
invalid (GError    **error,
         const char *origin,
         const char *group,
         const char *key,
         const char *format,
         ...) G_GNUC_PRINTF (5, 6);

static gboolean
invalid (GError    **error,
         const char *origin,
         const char *group,
         const char *key,
         const char *format,
         ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  if (group != NULL && key != NULL)
    /* TRANSLATORS: FILE: group [GROUP], key “KEY”: PROBLEM */
    g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID,
                 _("%s: group [%s], key “%s”: %s"), origin, group, key, what);
  else if (group != NULL)
    g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID,
                 _("%s: group [%s]: %s"), origin, group, what);
  else
    g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID,
                 "%s: %s", origin, what);
  return FALSE;
}

static gboolean
check_value (const KeySpec *spec,
             double         v,
             const char    *origin,
             const char    *group,
             GError       **error)
{
  g_autofree char *lo = g_strdup_printf ("%g", spec->lo);
  g_autofree char *hi = g_strdup_printf ("%g", spec->hi);

  if (!isfinite (v))
    return invalid (error, origin, group, spec->key, _("the value is not a finite number"));
  if (spec->field == F_P && (v < 0 || v > 1))
    return invalid (error, origin, group, spec->key,
                    _("probability %g is outside [0, 1]"), v);
  if (v > spec->hi || v < spec->lo || (spec->lo_open && v == spec->lo))
    return invalid (error, origin, group, spec->key,
                    spec->lo_open ? _("value %g is outside (%s, %s]")
                                  : _("value %g is outside [%s, %s]"),
                    v, lo, hi);
  return TRUE;
}

static char *
op_group_name (const PtAugViewGroup *group,
               PtAugOp               op)
{
  return g_strdup_printf ("%s:%s", group->name, op_names[op]);
}

gboolean
pt_augment_recipe_validate (const PtAugRecipe *recipe,
                            const char        *origin,
                            GError           **error)
{
  g_return_val_if_fail (recipe != NULL, FALSE);

  if (origin == NULL)
    origin = "recipe";
  if (!valid_group_name (recipe->name))
    return invalid (error, origin, "recipe", "name",
                    _("a name of letters, digits, “-” and “_” is required"));
  if (recipe->channels != 0 && recipe->channels != 1 && recipe->channels != 3)
    return invalid (error, origin, "recipe", "channels",
                    _("channels must be 0 (as the input), 1 or 3, not %d"), recipe->channels);
  if (recipe->n_groups == 0)
    return invalid (error, origin, "recipe", "views", _("at least one view group is required"));
  if (pt_augment_recipe_get_n_views (recipe) > 64)
    return invalid (error, origin, "recipe", "views", _("more than 64 views in all"));

  for (guint g = 0; g < recipe->n_groups; g++)
    {
      const PtAugViewGroup *group = &recipe->groups[g];
      g_autofree char *view_group = g_strdup_printf ("view:%s", group->name);

      if (!valid_group_name (group->name))
        return invalid (error, origin, "recipe", "views",
                        _("“%s” is not a valid view group name (letters, digits, “-”, “_”; not “view” or “recipe”)"),
                        group->name);
      for (guint h = 0; h < g; h++)
        if (strcmp (recipe->groups[h].name, group->name) == 0)
          return invalid (error, origin, "recipe", "views",
                          _("view group “%s” is listed twice"), group->name);
      if (group->count < 1 || group->count > 32)
        return invalid (error, origin, view_group, "count",
                        _("count %u is outside [1, 32]"), group->count);
      if (!isfinite (group->size) || group->size <= 0 || group->size > 4)
        return invalid (error, origin, view_group, "size",
                        _("value %g is outside (0, 4]"), group->size);
      if (group->pixels < 0 || group->pixels > 1024)
        return invalid (error, origin, view_group, "pixels",
                        _("value %d is outside [0, 1024]"), group->pixels);

      for (int op = 0; op < PT_AUG_N_OPS; op++)
        {
          const PtAugOpParams *params = &group->ops[op];
          g_autofree char *name = op_group_name (group, op);

          if (!params->enabled)
            continue;
          for (guint k = 0; k < op_specs[op].n_keys; k++)
            {
              const KeySpec *spec = &op_specs[op].keys[k];

              if (IS_BOOL_FIELD (spec->field))
                continue;
              if (!check_value (spec, field_get (params, spec->field), origin, name, error))
                return FALSE;
              if (spec->pair >= 0)
                {
                  const KeySpec *max_spec = &op_specs[op].keys[spec->pair];
                  double lo = field_get (params, spec->field);
                  double hi = field_get (params, max_spec->field);

                  if (lo > hi)
                    return invalid (error, origin, name, spec->key,
                                    _("minimum %g is greater than %s = %g"),
                                    lo, max_spec->key, hi);
                }
            }
        }
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Loading and saving                                                   */

static gboolean
key_in (const char  *key,
        const char *const *allowed)
{
  for (guint i = 0; allowed[i]; i++)
    if (strcmp (key, allowed[i]) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
get_double (GKeyFile   *kf,
            const char *group,
            const char *key,
            const char *origin,
            double     *out,
            GError    **error)
{
  g_autofree char *text = g_key_file_get_value (kf, group, key, NULL);
  char *end = NULL;
  double v;

  g_assert (text != NULL);
  g_strstrip (text);
  v = g_ascii_strtod (text, &end);
  if (*text == '\0' || end == text || *end != '\0')
    return invalid (error, origin, group, key, _("“%s” is not a number"), text);
  *out = v;
  return TRUE;
}

static gboolean
get_int (GKeyFile   *kf,
         const char *group,
         const char *key,
         const char *origin,
         gint64      lo,
         gint64      hi,
         gint64     *out,
         GError    **error)
{
  g_autofree char *text = g_key_file_get_value (kf, group, key, NULL);
  gint64 v;

  g_assert (text != NULL);
  g_strstrip (text);
  if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &v, NULL))
    return invalid (error, origin, group, key, _("“%s” is not an integer"), text);
  if (v < lo || v > hi)
    return invalid (error, origin, group, key,
                    _("value %lld is outside [%lld, %lld]"),
                    (long long) v, (long long) lo, (long long) hi);
  *out = v;
  return TRUE;
}

static gboolean
load_op (GKeyFile       *kf,
         const char     *group_name,
         PtAugOp         op,
         PtAugOpParams  *params,
         const char     *origin,
         GError        **error)
{
  g_auto(GStrv) keys = g_key_file_get_keys (kf, group_name, NULL, NULL);

  op_set_defaults (params, op);
  params->enabled = TRUE;
  for (guint i = 0; keys && keys[i]; i++)
    {
      const KeySpec *spec = NULL;

      for (guint k = 0; k < op_specs[op].n_keys; k++)
        if (strcmp (op_specs[op].keys[k].key, keys[i]) == 0)
          spec = &op_specs[op].keys[k];
      if (spec == NULL)
        {
          g_autoptr(GString) known = g_string_new (NULL);

          for (guint k = 0; k < op_specs[op].n_keys; k++)
            g_string_append_printf (known, "%s%s", k ? ", " : "", op_specs[op].keys[k].key);
          return invalid (error, origin, group_name, keys[i],
                          _("unknown key for op “%s” (known: %s)"), op_names[op], known->str);
        }
      if (IS_BOOL_FIELD (spec->field))
        {
          g_autoptr(GError) local = NULL;
          gboolean b = g_key_file_get_boolean (kf, group_name, keys[i], &local);

          if (local != NULL)
            return invalid (error, origin, group_name, keys[i],
                            _("expected true or false"));
          *bool_ptr (params, spec->field) = b;
        }
      else
        {
          double v;

          if (!get_double (kf, group_name, keys[i], origin, &v, error))
            return FALSE;
          if (!check_value (spec, v, origin, group_name, error))
            return FALSE;
          *field_ptr (params, spec->field) = v;
        }
    }
  return TRUE;
}

PtAugRecipe *
pt_augment_recipe_load_data (const char  *data,
                             gsize        length,
                             const char  *origin,
                             GError     **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_autoptr(PtAugRecipe) recipe = NULL;
  g_auto(GStrv) groups = NULL;
  g_auto(GStrv) keys = NULL;
  g_auto(GStrv) views = NULL;
  static const char *const recipe_keys[] = { "name", "title", "reference", "views", "channels", NULL };
  static const char *const view_keys[] = { "count", "size", "pixels", "shared", NULL };

  g_return_val_if_fail (data != NULL, NULL);
  if (origin == NULL)
    origin = "recipe";

  if (!g_key_file_load_from_data (kf, data, length, G_KEY_FILE_KEEP_COMMENTS, &local))
    {
      g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID,
                   _("%s: not a valid recipe file: %s"), origin, local->message);
      return NULL;
    }
  if (!g_key_file_has_group (kf, "recipe"))
    {
      invalid (error, origin, NULL, NULL, _("the group [recipe] is missing"));
      return NULL;
    }

  keys = g_key_file_get_keys (kf, "recipe", NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++)
    if (!key_in (keys[i], recipe_keys))
      {
        invalid (error, origin, "recipe", keys[i],
                 _("unknown key (known: name, title, reference, views, channels)"));
        return NULL;
      }
  if (!g_key_file_has_key (kf, "recipe", "name", NULL))
    {
      invalid (error, origin, "recipe", "name", _("the key is missing"));
      return NULL;
    }
  if (!g_key_file_has_key (kf, "recipe", "views", NULL))
    {
      invalid (error, origin, "recipe", "views", _("the key is missing"));
      return NULL;
    }

  {
    g_autofree char *name = g_key_file_get_string (kf, "recipe", "name", NULL);
    recipe = pt_augment_recipe_new (name != NULL ? g_strstrip (name) : "");
  }
  recipe->title = g_key_file_get_string (kf, "recipe", "title", NULL);
  recipe->reference = g_key_file_get_string (kf, "recipe", "reference", NULL);
  recipe->comment = g_key_file_get_comment (kf, NULL, NULL, NULL);
  if (recipe->comment != NULL)
    g_strchomp (recipe->comment);   /* the blank line before [recipe] */
  if (recipe->comment != NULL && *recipe->comment == '\0')
    g_clear_pointer (&recipe->comment, g_free);
  if (g_key_file_has_key (kf, "recipe", "channels", NULL))
    {
      gint64 c;

      if (!get_int (kf, "recipe", "channels", origin, 0, 3, &c, error))
        return NULL;
      if (c == 2)
        {
          invalid (error, origin, "recipe", "channels",
                   _("channels must be 0 (as the input), 1 or 3, not %d"), 2);
          return NULL;
        }
      recipe->channels = (int) c;
    }

  views = g_key_file_get_string_list (kf, "recipe", "views", NULL, NULL);
  if (views == NULL || views[0] == NULL)
    {
      invalid (error, origin, "recipe", "views", _("at least one view group is required"));
      return NULL;
    }
  for (guint v = 0; views[v]; v++)
    {
      g_autofree char *view_group = NULL;
      PtAugViewGroup *group;

      g_strstrip (views[v]);
      if (!valid_group_name (views[v]))
        {
          invalid (error, origin, "recipe", "views",
                   _("“%s” is not a valid view group name (letters, digits, “-”, “_”; not “view” or “recipe”)"),
                   views[v]);
          return NULL;
        }
      for (guint w = 0; w < v; w++)
        if (strcmp (views[w], views[v]) == 0)
          {
            invalid (error, origin, "recipe", "views",
                     _("view group “%s” is listed twice"), views[v]);
            return NULL;
          }
      group = pt_augment_recipe_add_group (recipe, views[v], 1, 1.0);
      view_group = g_strdup_printf ("view:%s", views[v]);
      if (g_key_file_has_group (kf, view_group))
        {
          g_auto(GStrv) vkeys = g_key_file_get_keys (kf, view_group, NULL, NULL);

          for (guint i = 0; vkeys && vkeys[i]; i++)
            {
              if (!key_in (vkeys[i], view_keys))
                {
                  invalid (error, origin, view_group, vkeys[i],
                           _("unknown key (known: count, size, pixels, shared)"));
                  return NULL;
                }
            }
          if (g_key_file_has_key (kf, view_group, "count", NULL))
            {
              gint64 c;

              if (!get_int (kf, view_group, "count", origin, 1, 32, &c, error))
                return NULL;
              group->count = (guint) c;
            }
          if (g_key_file_has_key (kf, view_group, "shared", NULL))
            {
              g_autoptr(GError) bool_error = NULL;

              group->shared = g_key_file_get_boolean (kf, view_group, "shared", &bool_error);
              if (bool_error != NULL)
                {
                  invalid (error, origin, view_group, "shared", _("expected true or false"));
                  return NULL;
                }
            }
          if (g_key_file_has_key (kf, view_group, "pixels", NULL))
            {
              gint64 c;

              if (!get_int (kf, view_group, "pixels", origin, 0, 1024, &c, error))
                return NULL;
              group->pixels = (int) c;
            }
          if (g_key_file_has_key (kf, view_group, "size", NULL))
            {
              double s;

              if (!get_double (kf, view_group, "size", origin, &s, error))
                return NULL;
              if (!isfinite (s) || s <= 0 || s > 4)
                {
                  invalid (error, origin, view_group, "size", _("value %g is outside (0, 4]"), s);
                  return NULL;
                }
              group->size = s;
            }
        }
    }

  /* Every other group must be VIEW:OP for a listed view and a known op. */
  groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    {
      const char *name = groups[i];
      const char *colon;
      g_autofree char *view_name = NULL;
      PtAugViewGroup *group = NULL;
      int op = -1;

      if (strcmp (name, "recipe") == 0)
        continue;
      colon = strchr (name, ':');
      if (colon == NULL)
        {
          invalid (error, origin, name, NULL,
                   _("unknown group (expected [recipe], [view:NAME] or [NAME:OP])"));
          return NULL;
        }
      view_name = g_strndup (name, colon - name);
      if (strcmp (view_name, "view") == 0)
        {
          gboolean listed = FALSE;

          for (guint g = 0; g < recipe->n_groups; g++)
            listed |= strcmp (recipe->groups[g].name, colon + 1) == 0;
          if (!listed)
            {
              invalid (error, origin, name, NULL,
                       _("view group “%s” is not listed in [recipe] views"), colon + 1);
              return NULL;
            }
          continue;
        }
      for (guint g = 0; g < recipe->n_groups; g++)
        if (strcmp (recipe->groups[g].name, view_name) == 0)
          group = &recipe->groups[g];
      if (group == NULL)
        {
          invalid (error, origin, name, NULL,
                   _("view group “%s” is not listed in [recipe] views"), view_name);
          return NULL;
        }
      for (int o = 0; o < PT_AUG_N_OPS; o++)
        if (strcmp (op_names[o], colon + 1) == 0)
          op = o;
      if (op < 0)
        {
          invalid (error, origin, name, NULL,
                   _("unknown op “%s” (known: crop, hflip, vflip, rotate, jitter, grayscale, "
                     "blur, solarize, equalize, erase, noise)"), colon + 1);
          return NULL;
        }
      if (!load_op (kf, name, op, &group->ops[op], origin, error))
        return NULL;
    }

  if (!pt_augment_recipe_validate (recipe, origin, error))
    return NULL;
  return g_steal_pointer (&recipe);
}

PtAugRecipe *
pt_augment_recipe_load_file (const char  *path,
                             GError     **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize length;

  g_return_val_if_fail (path != NULL, NULL);
  if (!g_file_get_contents (path, &data, &length, &local))
    {
      g_set_error (error, PT_AUGMENT_ERROR,
                   g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
                     ? PT_AUGMENT_ERROR_NOT_FOUND : PT_AUGMENT_ERROR_INVALID,
                   _("%s: cannot read the recipe: %s"), path, local->message);
      return NULL;
    }
  if (length > 1024 * 1024)
    {
      g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_INVALID,
                   _("%s: a recipe file is at most 1 MiB"), path);
      return NULL;
    }
  return pt_augment_recipe_load_data (data, length, path, error);
}

static gboolean
is_preset_name (const char *s)
{
  if (*s == '\0')
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

static char *
find_preset (const char *name)
{
  const char *dirs[] = { PT_SOURCE_DATADIR "/recipes", PT_PKGDATADIR "/recipes" };

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *file = g_strconcat (name, ".ini", NULL);
      g_autofree char *path = g_build_filename (dirs[i], file, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
        return g_steal_pointer (&path);
    }
  return NULL;
}

PtAugRecipe *
pt_augment_recipe_load (const char  *name_or_path,
                        GError     **error)
{
  g_autofree char *path = NULL;

  g_return_val_if_fail (name_or_path != NULL, NULL);

  if (is_preset_name (name_or_path) && !g_file_test (name_or_path, G_FILE_TEST_IS_REGULAR))
    {
      path = find_preset (name_or_path);
      if (path == NULL)
        {
          g_auto(GStrv) presets = pt_augment_recipe_list_presets ();
          g_autofree char *list = g_strjoinv (", ", presets);

          g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_NOT_FOUND,
                       _("%s: no such augmentation preset (presets: %s)"),
                       name_or_path, *list ? list : _("none found"));
          return NULL;
        }
      return pt_augment_recipe_load_file (path, error);
    }
  return pt_augment_recipe_load_file (name_or_path, error);
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return strcmp (*(char * const *) a, *(char * const *) b);
}

char **
pt_augment_recipe_list_presets (void)
{
  const char *dirs[] = { PT_SOURCE_DATADIR "/recipes", PT_PKGDATADIR "/recipes" };
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, NULL);
      const char *entry;

      while (dir != NULL && (entry = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (entry, ".ini"))
          {
            char *name = g_strndup (entry, strlen (entry) - 4);

            if (g_hash_table_contains (seen, name))
              {
                g_free (name);
                continue;
              }
            g_hash_table_add (seen, g_strdup (name));
            g_ptr_array_add (names, name);
          }
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* Shortest decimal text that reads back as exactly v. */
static void
format_double (char   *buf,
               gsize   len,
               double  v)
{
  static const char *const formats[] = { "%.6g", "%.10g", "%.15g", "%.17g" };

  for (guint i = 0; i < G_N_ELEMENTS (formats); i++)
    {
      g_ascii_formatd (buf, len, formats[i], v);
      if (g_ascii_strtod (buf, NULL) == v)
        return;
    }
}

char *
pt_augment_recipe_to_data (const PtAugRecipe *recipe,
                           gsize             *length)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GPtrArray) view_names = g_ptr_array_new ();
  g_autoptr(GString) text = NULL;
  g_autofree char *body = NULL;
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (recipe != NULL, NULL);

  g_key_file_set_string (kf, "recipe", "name", recipe->name);
  if (recipe->title != NULL)
    g_key_file_set_string (kf, "recipe", "title", recipe->title);
  if (recipe->reference != NULL)
    g_key_file_set_string (kf, "recipe", "reference", recipe->reference);
  for (guint g = 0; g < recipe->n_groups; g++)
    g_ptr_array_add (view_names, recipe->groups[g].name);
  g_key_file_set_string_list (kf, "recipe", "views",
                              (const char * const *) view_names->pdata, view_names->len);
  g_key_file_set_integer (kf, "recipe", "channels", recipe->channels);

  for (guint g = 0; g < recipe->n_groups; g++)
    {
      const PtAugViewGroup *group = &recipe->groups[g];
      g_autofree char *view_group = g_strdup_printf ("view:%s", group->name);

      g_key_file_set_integer (kf, view_group, "count", (int) group->count);
      format_double (buf, sizeof buf, group->size);
      g_key_file_set_value (kf, view_group, "size", buf);
      g_key_file_set_integer (kf, view_group, "pixels", group->pixels);
      if (group->shared)
        g_key_file_set_boolean (kf, view_group, "shared", TRUE);

      for (int op = 0; op < PT_AUG_N_OPS; op++)
        {
          const PtAugOpParams *params = &group->ops[op];
          g_autofree char *name = op_group_name (group, op);

          if (!params->enabled)
            continue;
          for (guint k = 0; k < op_specs[op].n_keys; k++)
            {
              const KeySpec *spec = &op_specs[op].keys[k];

              if (IS_BOOL_FIELD (spec->field))
                {
                  g_key_file_set_boolean (kf, name, spec->key,
                                          *bool_ptr ((PtAugOpParams *) params, spec->field));
                  continue;
                }
              format_double (buf, sizeof buf, field_get (params, spec->field));
              g_key_file_set_value (kf, name, spec->key, buf);
            }
        }
    }
  body = g_key_file_to_data (kf, NULL, NULL);
  text = g_string_new (NULL);
  /* The comment on top (documentation, citation), then a blank line. */
  if (recipe->comment != NULL)
    {
      g_auto(GStrv) lines = g_strsplit (recipe->comment, "\n", -1);

      for (guint i = 0; lines[i]; i++)
        g_string_append_printf (text, "#%s\n", lines[i]);
      g_string_append_c (text, '\n');
    }
  g_string_append (text, body);
  if (length != NULL)
    *length = text->len;
  return g_string_free (g_steal_pointer (&text), FALSE);
}

gboolean
pt_augment_recipe_save (const PtAugRecipe *recipe,
                        const char        *path,
                        GError           **error)
{
  g_autofree char *data = NULL;
  g_autoptr(GError) local = NULL;
  gsize length;

  g_return_val_if_fail (recipe != NULL && path != NULL, FALSE);
  if (!pt_augment_recipe_validate (recipe, path, error))
    return FALSE;
  data = pt_augment_recipe_to_data (recipe, &length);
  if (!g_file_set_contents_full (path, data, length,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0644, &local))
    {
      g_set_error (error, PT_AUGMENT_ERROR, PT_AUGMENT_ERROR_WRITE,
                   _("%s: cannot save the recipe: %s"), path, local->message);
      return FALSE;
    }
  return TRUE;
}

/* ------------------------------------------------------------------ */
/* Views                                                                */

guint
pt_augment_recipe_get_n_views (const PtAugRecipe *recipe)
{
  guint n = 0;

  g_return_val_if_fail (recipe != NULL, 0);
  for (guint g = 0; g < recipe->n_groups; g++)
    n += recipe->groups[g].count;
  return n;
}

const PtAugViewGroup *
pt_augment_recipe_get_view_group (const PtAugRecipe *recipe,
                                  guint              view,
                                  guint             *group_index)
{
  g_return_val_if_fail (recipe != NULL, NULL);
  for (guint g = 0; g < recipe->n_groups; g++)
    {
      if (view < recipe->groups[g].count)
        {
          if (group_index != NULL)
            *group_index = g;
          return &recipe->groups[g];
        }
      view -= recipe->groups[g].count;
    }
  g_return_val_if_reached (NULL);
}

static int
scaled_side (const PtAugViewGroup *group,
             int                   side)
{
  if (group->pixels > 0)
    return group->pixels;
  return MAX (1, (int) floor (group->size * side + 0.5));
}

void
pt_augment_recipe_get_view_shape (const PtAugRecipe *recipe,
                                  guint              view,
                                  int                C,
                                  int                H,
                                  int                W,
                                  int               *out_c,
                                  int               *out_h,
                                  int               *out_w)
{
  const PtAugViewGroup *group = pt_augment_recipe_get_view_group (recipe, view, NULL);

  g_return_if_fail (group != NULL);
  if (out_c != NULL)
    *out_c = recipe->channels > 0 ? recipe->channels : C;
  if (out_h != NULL)
    *out_h = scaled_side (group, H);
  if (out_w != NULL)
    *out_w = scaled_side (group, W);
}

/* Resampling weights along one axis: for output o, taps start[o] ..
 * start[o] + n - 1 with weights w[o * n ..]. */
typedef struct {
  int    n;
  int   *start;
  float *w;
} Taps;

static void
taps_init (Taps   *taps,
           int     in_size,
           double  x0,
           double  len,
           int     out_size)
{
  double scale = len / out_size;
  double support = MAX (scale, 1.0);
  int n = (int) ceil (support) * 2 + 2;

  taps->n = n;
  taps->start = g_new (int, out_size);
  taps->w = g_new0 (float, (gsize) out_size * n);
  for (int o = 0; o < out_size; o++)
    {
      double centre = x0 + (o + 0.5) * scale;
      /* Pillow's bounds: taps past the image edges are dropped and the
       * rest renormalized (what torchvision gets from PIL). */
      int lo = MAX (0, (int) floor (centre - support + 0.5));
      int hi = MIN (in_size, (int) floor (centre + support + 0.5));
      float *w = taps->w + (gsize) o * n;
      double sum = 0;

      hi = MIN (hi, lo + n);
      taps->start[o] = MIN (lo, in_size - 1);
      for (int i = lo; i < hi; i++)
        {
          double t = fabs ((i + 0.5 - centre) / support);
          double k = t < 1.0 ? 1.0 - t : 0.0;

          w[i - lo] = (float) k;
          sum += k;
        }
      if (sum <= 0)
        {
          /* Degenerate box (outside the image): nearest pixel. */
          taps->start[o] = CLAMP ((int) floor (centre), 0, in_size - 1);
          memset (w, 0, sizeof (float) * n);
          w[0] = 1.0f;
          continue;
        }
      for (int j = 0; j < n; j++)
        w[j] = (float) (w[j] / sum);
    }
}

static void
taps_clear (Taps *taps)
{
  g_free (taps->start);
  g_free (taps->w);
}

void
pt_augment_resize (float       *dst,
                   const float *src,
                   int          C,
                   int          H,
                   int          W,
                   double       x,
                   double       y,
                   double       w,
                   double       h,
                   int          OH,
                   int          OW)
{
  Taps tx, ty;
  g_autofree float *tmp = NULL;

  g_return_if_fail (C > 0 && H > 0 && W > 0 && OH > 0 && OW > 0 && w > 0 && h > 0);

  taps_init (&tx, W, x, w, OW);
  taps_init (&ty, H, y, h, OH);
  tmp = g_new (float, (gsize) C * H * OW);

  /* Horizontal pass over every row, then vertical. */
  for (int c = 0; c < C; c++)
    for (int r = 0; r < H; r++)
      {
        const float *row = src + ((gsize) c * H + r) * W;
        float *out = tmp + ((gsize) c * H + r) * OW;

        for (int o = 0; o < OW; o++)
          {
            const float *wt = tx.w + (gsize) o * tx.n;
            const float *p = row + tx.start[o];
            int n = MIN (tx.n, W - tx.start[o]);
            float acc = 0;

            for (int k = 0; k < n; k++)
              acc += wt[k] * p[k];
            out[o] = acc;
          }
      }
  for (int c = 0; c < C; c++)
    for (int o = 0; o < OH; o++)
      {
        const float *wt = ty.w + (gsize) o * ty.n;
        int n = MIN (ty.n, H - ty.start[o]);
        float *out = dst + ((gsize) c * OH + o) * OW;

        for (int i = 0; i < OW; i++)
          out[i] = 0;
        for (int k = 0; k < n; k++)
          {
            const float *row = tmp + ((gsize) c * H + ty.start[o] + k) * OW;
            float wk = wt[k];

            if (wk == 0)
              continue;
            for (int i = 0; i < OW; i++)
              out[i] += wk * row[i];
          }
      }
  taps_clear (&tx);
  taps_clear (&ty);
}

/* torchvision's RandomResizedCrop.get_params, integer box. */
static void
draw_crop (PtAugRng               *rng,
           const PtAugOpParams *params,
           int                  H,
           int                  W,
           PtViewRecord        *record)
{
  double area = (double) H * W;
  double log_lo = log (params->ratio_min), log_hi = log (params->ratio_max);
  double in_ratio;
  int w, h;

  for (int attempt = 0; attempt < 10; attempt++)
    {
      double target = area * pt_aug_rng_range (rng, params->min, params->max);
      double aspect = exp (pt_aug_rng_range (rng, log_lo, log_hi));

      w = (int) rint (sqrt (target * aspect));
      h = (int) rint (sqrt (target / aspect));
      if (w > 0 && w <= W && h > 0 && h <= H)
        {
          record->crop_y = (int) pt_aug_rng_below (rng, (guint64) (H - h + 1));
          record->crop_x = (int) pt_aug_rng_below (rng, (guint64) (W - w + 1));
          record->crop_w = w;
          record->crop_h = h;
          record->crop_fallback = FALSE;
          return;
        }
    }

  in_ratio = (double) W / H;
  if (in_ratio < params->ratio_min)
    {
      w = W;
      h = (int) rint (w / params->ratio_min);
    }
  else if (in_ratio > params->ratio_max)
    {
      h = H;
      w = (int) rint (h * params->ratio_max);
    }
  else
    {
      w = W;
      h = H;
    }
  w = CLAMP (w, 1, W);
  h = CLAMP (h, 1, H);
  record->crop_w = w;
  record->crop_h = h;
  record->crop_y = (H - h) / 2;
  record->crop_x = (W - w) / 2;
  record->crop_fallback = TRUE;
}

static void
flip_h (float *x, int C, int H, int W)
{
  for (int c = 0; c < C; c++)
    for (int r = 0; r < H; r++)
      {
        float *row = x + ((gsize) c * H + r) * W;
        for (int i = 0, j = W - 1; i < j; i++, j--)
          {
            float t = row[i];
            row[i] = row[j];
            row[j] = t;
          }
      }
}

static void
flip_v (float *x, int C, int H, int W)
{
  for (int c = 0; c < C; c++)
    for (int i = 0, j = H - 1; i < j; i++, j--)
      {
        float *a = x + ((gsize) c * H + i) * W;
        float *b = x + ((gsize) c * H + j) * W;
        for (int k = 0; k < W; k++)
          {
            float t = a[k];
            a[k] = b[k];
            b[k] = t;
          }
      }
}

/* Counter-clockwise by angle degrees about the centre; bilinear; fill
 * outside. Exact index maps for right angles on square images. */
static void
rotate (float       *dst,
        const float *src,
        int          C,
        int          H,
        int          W,
        double       angle,
        float        fill)
{
  double a = fmod (angle, 360.0);
  int quarter;

  if (a < 0)
    a += 360.0;
  quarter = (int) (a / 90.0);
  if (H == W && a == quarter * 90.0)
    {
      int N = W;

      for (int c = 0; c < C; c++)
        {
          const float *s = src + (gsize) c * N * N;
          float *d = dst + (gsize) c * N * N;

          for (int y = 0; y < N; y++)
            for (int x = 0; x < N; x++)
              {
                int sy, sx;

                switch (quarter)
                  {
                  case 0: sy = y; sx = x; break;
                  case 1: sy = x; sx = N - 1 - y; break;
                  case 2: sy = N - 1 - y; sx = N - 1 - x; break;
                  default: sy = N - 1 - x; sx = y; break;
                  }
                d[y * N + x] = s[sy * N + sx];
              }
        }
      return;
    }

  {
    double th = angle * G_PI / 180.0;
    double cs = cos (th), sn = sin (th);
    double cx = W * 0.5, cy = H * 0.5;

    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        {
          double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
          double sx = cs * dx - sn * dy + cx - 0.5;
          double sy = sn * dx + cs * dy + cy - 0.5;
          int x0 = (int) floor (sx), y0 = (int) floor (sy);
          double fx = sx - x0, fy = sy - y0;

          for (int c = 0; c < C; c++)
            {
              const float *s = src + (gsize) c * H * W;
              double acc = 0;

              for (int k = 0; k < 4; k++)
                {
                  int xi = x0 + (k & 1), yi = y0 + (k >> 1);
                  double wk = ((k & 1) ? fx : 1 - fx) * ((k >> 1) ? fy : 1 - fy);
                  float v = (xi >= 0 && xi < W && yi >= 0 && yi < H) ? s[yi * W + xi] : fill;

                  acc += wk * v;
                }
              dst[((gsize) c * H + y) * W + x] = (float) acc;
            }
        }
  }
}

/* Plain compares (not fminf/fmaxf, which are libm calls without
 * -ffast-math), so loops vectorize to min/max instructions. */
static inline float
minf (float a, float b)
{
  return a < b ? a : b;
}

static inline float
maxf (float a, float b)
{
  return a > b ? a : b;
}

static inline float
clamp01 (float v)
{
  return minf (maxf (v, 0.0f), 1.0f);
}

static inline float
grey_of (float r, float g, float b)
{
  return 0.299f * r + 0.587f * g + 0.114f * b;
}

static void
to_grayscale (float *x, int C, int n)
{
  if (C != 3)
    return;
  for (int i = 0; i < n; i++)
    {
      float v = grey_of (x[i], x[n + i], x[2 * n + i]);
      x[i] = x[n + i] = x[2 * n + i] = v;
    }
}

static void
adjust_brightness (float *x, int C, int n, float f)
{
  for (int i = 0; i < C * n; i++)
    x[i] = clamp01 (x[i] * f);
}

static void
adjust_contrast (float *x, int C, int n, float f)
{
  double mean = 0;

  if (C == 3)
    for (int i = 0; i < n; i++)
      mean += grey_of (x[i], x[n + i], x[2 * n + i]);
  else
    for (int i = 0; i < n; i++)
      mean += x[i];
  mean /= n;
  for (int i = 0; i < C * n; i++)
    x[i] = clamp01 (f * x[i] + (1.0f - f) * (float) mean);
}

static void
adjust_saturation (float *x, int C, int n, float f)
{
  if (C != 3)
    return;
  for (int i = 0; i < n; i++)
    {
      float g = grey_of (x[i], x[n + i], x[2 * n + i]);

      for (int c = 0; c < 3; c++)
        x[c * n + i] = clamp01 (f * x[c * n + i] + (1.0f - f) * g);
    }
}

/* Hue shift in HSV with torchvision's formulas, written so the loop
 * vectorizes: every candidate is computed, then selected (under the default
 * -ftrapping-math GCC will not speculate a conditional FP operation).
 * Channel n of hsv_to_rgb is v - v s clamp(min(k, 4 - k), 0, 1) with
 * k = (n + 6 h) mod 6 and n = 5, 3, 1 for r, g, b. */
static inline float
hue_channel (float k, float v, float vs)
{
  float k6 = k - 6.0f;
  float t;

  k = k >= 6.0f ? k6 : k;
  t = minf (maxf (minf (k, 4.0f - k), 0.0f), 1.0f);
  return clamp01 (v - vs * t);
}

static void
adjust_hue (float *x, int C, int n, float shift)
{
  float *restrict R = x, *restrict G = x + n, *restrict B = x + 2 * n;

  if (C != 3)
    return;
  for (int i = 0; i < n; i++)
    {
      float r = R[i], g = G[i], b = B[i];
      float maxc = maxf (r, maxf (g, b)), minc = minf (r, minf (g, b));
      float d = maxc - minc;
      float inv = 1.0f / (d > 0 ? d : 1.0f);
      float s = d / (maxc > 0 ? maxc : 1.0f);
      float rc = (maxc - r) * inv, gc = (maxc - g) * inv, bc = (maxc - b) * inv;
      float hr = bc - gc, hg = 2.0f + rc - bc, hb = 4.0f + gc - rc;
      float h = maxc == r ? hr : (maxc == g ? hg : hb);
      float h1, h6, vs;

      /* d = 0: grey, any hue; s is 0 there too, so the colour stays grey. */
      h = d > 0 ? h : 0.0f;
      h = h * (1.0f / 6.0f);
      h1 = h + 1.0f;
      h = h < 0 ? h1 : h;
      h = h + shift;
      h1 = h + 1.0f;
      h = h < 0 ? h1 : h;
      h1 = h - 1.0f;
      h = h >= 1.0f ? h1 : h;
      h6 = h * 6.0f;
      vs = maxc * s;
      R[i] = hue_channel (5.0f + h6, maxc, vs);
      G[i] = hue_channel (3.0f + h6, maxc, vs);
      B[i] = hue_channel (1.0f + h6, maxc, vs);
    }
}

static inline int
reflect (int i, int n)
{
  if (n == 1)
    return 0;
  while (i < 0 || i >= n)
    {
      if (i < 0)
        i = -i;
      if (i >= n)
        i = 2 * (n - 1) - i;
    }
  return i;
}

/* Separable Gaussian, reflect padding (torchvision's gaussian_blur). */
static void
gaussian_blur (float *x, float *tmp, int C, int H, int W, int radius, double sigma)
{
  int K = 2 * radius + 1;
  float kernel[2 * 64 + 1];
  int side = MAX (H, W);
  g_autofree int *ridx = g_new (int, side + 2 * radius);
  g_autofree float *row = g_new (float, W + 2 * radius);
  double sum = 0;

  g_assert (radius <= 64);
  for (int k = 0; k < K; k++)
    {
      double t = (k - radius) / sigma;
      kernel[k] = (float) exp (-0.5 * t * t);
      sum += kernel[k];
    }
  for (int k = 0; k < K; k++)
    kernel[k] = (float) (kernel[k] / sum);

  for (int c = 0; c < C; c++)
    {
      float *p = x + (gsize) c * H * W;

      /* Rows: copy into a reflect-padded buffer, then convolve. */
      for (int i = 0; i < W + 2 * radius; i++)
        ridx[i] = reflect (i - radius, W);
      for (int y = 0; y < H; y++)
        {
          const float *src = p + (gsize) y * W;
          float *dst = tmp + (gsize) y * W;

          for (int i = 0; i < W + 2 * radius; i++)
            row[i] = src[ridx[i]];
          for (int i = 0; i < W; i++)
            {
              float acc = 0;
              for (int k = 0; k < K; k++)
                acc += kernel[k] * row[i + k];
              dst[i] = acc;
            }
        }
      /* Columns: whole rows at a time, so the inner loop vectorizes. */
      for (int i = 0; i < H + 2 * radius; i++)
        ridx[i] = reflect (i - radius, H);
      for (int y = 0; y < H; y++)
        {
          float *dst = p + (gsize) y * W;

          for (int i = 0; i < W; i++)
            dst[i] = 0;
          for (int k = 0; k < K; k++)
            {
              const float *src = tmp + (gsize) ridx[y + k] * W;
              float wk = kernel[k];

              for (int i = 0; i < W; i++)
                dst[i] += wk * src[i];
            }
        }
    }
}

/* torchvision's equalize on the 8-bit levels of each channel. */
static void
equalize (float *x, int C, int n)
{
  for (int c = 0; c < C; c++)
    {
      float *p = x + (gsize) c * n;
      guint hist[256] = { 0 };
      guint lut[256];
      guint8 *q = g_new (guint8, n);
      gint64 total = 0, step, cum = 0;
      int last = -1;

      for (int i = 0; i < n; i++)
        {
          q[i] = (guint8) (clamp01 (p[i]) * 255.0f + 0.5f);
          hist[q[i]]++;
        }
      for (int v = 0; v < 256; v++)
        if (hist[v] != 0)
          last = v;
      for (int v = 0; v < 256; v++)
        total += hist[v];
      step = last >= 0 ? (total - hist[last]) / 255 : 0;
      if (step == 0)
        {
          g_free (q);
          continue;
        }
      lut[0] = 0;
      for (int v = 0; v < 255; v++)
        {
          gint64 l;

          cum += hist[v];
          l = (cum + step / 2) / step;
          lut[v + 1] = (guint) MIN (l, 255);
        }
      for (int i = 0; i < n; i++)
        p[i] = lut[q[i]] / 255.0f;
      g_free (q);
    }
}

/* torchvision's RandomErasing.get_params; FALSE when no box fits. */
static gboolean
draw_erase (PtAugRng               *rng,
            const PtAugOpParams *params,
            int                  H,
            int                  W,
            PtViewRecord        *record)
{
  double area = (double) H * W;
  double log_lo = log (params->ratio_min), log_hi = log (params->ratio_max);

  for (int attempt = 0; attempt < 10; attempt++)
    {
      double target = area * pt_aug_rng_range (rng, params->min, params->max);
      double aspect = exp (pt_aug_rng_range (rng, log_lo, log_hi));
      int h = (int) rint (sqrt (target * aspect));
      int w = (int) rint (sqrt (target / aspect));

      if (!(h < H && w < W) || h <= 0 || w <= 0)
        continue;
      record->erase_y = (int) pt_aug_rng_below (rng, (guint64) (H - h + 1));
      record->erase_x = (int) pt_aug_rng_below (rng, (guint64) (W - w + 1));
      record->erase_h = h;
      record->erase_w = w;
      record->erase_value = params->value;
      return TRUE;
    }
  return FALSE;
}

static gboolean
fires (PtAugRng               *rng,
       const PtAugOpParams *params)
{
  /* The roll is always drawn, so p = 0 and p = 1 behave as expected. */
  double u = pt_aug_rng_uniform (rng);

  return params->enabled && u < params->p;
}

void
pt_augment_view (float             *out,
                 PtViewRecord      *record,
                 const PtAugRecipe *recipe,
                 guint              view,
                 const guint8      *image,
                 int                C,
                 int                H,
                 int                W,
                 guint64            seed,
                 guint64            epoch,
                 guint64            index)
{
  const PtAugViewGroup *group;
  const PtAugOpParams *ops;
  PtViewRecord local_record;
  PtViewRecord *rec = record != NULL ? record : &local_record;
  guint group_index = 0;
  int OC, OH, OW, n;
  g_autofree float *src = NULL;
  g_autofree float *a = NULL;
  g_autofree float *b = NULL;
  guint first_view = 0, stream_view;
  PtAugRng rng;

#define OP_RNG(op) pt_aug_rng_init (&rng, seed, epoch, index, stream_view, PT_AUG_STREAM (op))

  g_return_if_fail (out != NULL && recipe != NULL && image != NULL);
  g_return_if_fail (C == 1 || C == 3);
  g_return_if_fail (H > 0 && W > 0);
  g_return_if_fail (view < pt_augment_recipe_get_n_views (recipe));

  group = pt_augment_recipe_get_view_group (recipe, view, &group_index);
  ops = group->ops;
  for (guint g = 0; g < group_index; g++)
    first_view += recipe->groups[g].count;
  /* A shared group draws everything from its first view's streams. */
  stream_view = group->shared ? first_view : view;
  pt_augment_recipe_get_view_shape (recipe, view, C, H, W, &OC, &OH, &OW);
  n = OH * OW;

  memset (rec, 0, sizeof *rec);
  rec->view = view;
  rec->group = group_index;
  rec->out_channels = OC;
  rec->out_height = OH;
  rec->out_width = OW;
  rec->brightness = rec->contrast = rec->saturation = 1.0;
  for (int k = 0; k < 4; k++)
    rec->jitter_order[k] = (guint8) k;

  src = g_new (float, (gsize) C * H * W);
  for (gsize i = 0; i < (gsize) C * H * W; i++)
    src[i] = image[i] * (1.0f / 255.0f);
  a = g_new (float, (gsize) MAX (C, OC) * n);
  b = g_new (float, (gsize) MAX (C, OC) * n);

  /* Crop and resize. */
  OP_RNG (PT_AUG_CROP);
  if (fires (&rng, &ops[PT_AUG_CROP]))
    {
      rec->fired |= 1u << PT_AUG_CROP;
      draw_crop (&rng, &ops[PT_AUG_CROP], H, W, rec);
    }
  else
    {
      rec->crop_x = rec->crop_y = 0;
      rec->crop_w = W;
      rec->crop_h = H;
    }
  rec->crop_scale = (double) rec->crop_w * rec->crop_h / ((double) H * W);
  rec->crop_ratio = (double) rec->crop_w / rec->crop_h;
  pt_augment_resize (a, src, C, H, W, rec->crop_x, rec->crop_y, rec->crop_w, rec->crop_h,
                     OH, OW);

  OP_RNG (PT_AUG_HFLIP);
  if (fires (&rng, &ops[PT_AUG_HFLIP]))
    {
      rec->fired |= 1u << PT_AUG_HFLIP;
      flip_h (a, C, OH, OW);
    }

  OP_RNG (PT_AUG_VFLIP);
  if (fires (&rng, &ops[PT_AUG_VFLIP]))
    {
      rec->fired |= 1u << PT_AUG_VFLIP;
      flip_v (a, C, OH, OW);
    }

  OP_RNG (PT_AUG_ROTATE);
  if (fires (&rng, &ops[PT_AUG_ROTATE]))
    {
      const PtAugOpParams *p = &ops[PT_AUG_ROTATE];

      rec->fired |= 1u << PT_AUG_ROTATE;
      if (p->by_view)
        rec->angle = 90.0 * (double) ((view - first_view) % 4);
      else if (p->right_angles)
        rec->angle = 90.0 * (double) pt_aug_rng_below (&rng, 4);
      else
        rec->angle = pt_aug_rng_range (&rng, p->min, p->max);
      if (rec->angle != 0)
        {
          float *t;

          rotate (b, a, C, OH, OW, rec->angle, (float) p->value);
          t = a; a = b; b = t;
        }
    }

  OP_RNG (PT_AUG_JITTER);
  if (fires (&rng, &ops[PT_AUG_JITTER]))
    {
      const PtAugOpParams *p = &ops[PT_AUG_JITTER];
      guint8 order[4] = { 0, 1, 2, 3 };

      rec->fired |= 1u << PT_AUG_JITTER;
      /* A random permutation first, then the factors (torchvision order). */
      for (int i = 3; i > 0; i--)
        {
          int j = (int) pt_aug_rng_below (&rng, (guint64) i + 1);
          guint8 t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      if (p->brightness > 0)
        rec->brightness = pt_aug_rng_range (&rng, MAX (0.0, 1 - p->brightness), 1 + p->brightness);
      if (p->contrast > 0)
        rec->contrast = pt_aug_rng_range (&rng, MAX (0.0, 1 - p->contrast), 1 + p->contrast);
      if (p->saturation > 0)
        rec->saturation = pt_aug_rng_range (&rng, MAX (0.0, 1 - p->saturation), 1 + p->saturation);
      if (p->hue > 0)
        rec->hue = pt_aug_rng_range (&rng, -p->hue, p->hue);
      memcpy (rec->jitter_order, order, 4);
      for (int k = 0; k < 4; k++)
        switch (order[k])
          {
          case PT_JITTER_BRIGHTNESS:
            if (p->brightness > 0)
              adjust_brightness (a, C, n, (float) rec->brightness);
            break;
          case PT_JITTER_CONTRAST:
            if (p->contrast > 0)
              adjust_contrast (a, C, n, (float) rec->contrast);
            break;
          case PT_JITTER_SATURATION:
            if (p->saturation > 0)
              adjust_saturation (a, C, n, (float) rec->saturation);
            break;
          default:
            if (p->hue > 0)
              adjust_hue (a, C, n, (float) rec->hue);
            break;
          }
    }

  OP_RNG (PT_AUG_GRAYSCALE);
  if (fires (&rng, &ops[PT_AUG_GRAYSCALE]))
    {
      rec->fired |= 1u << PT_AUG_GRAYSCALE;
      to_grayscale (a, C, n);
    }

  OP_RNG (PT_AUG_BLUR);
  if (fires (&rng, &ops[PT_AUG_BLUR]))
    {
      const PtAugOpParams *p = &ops[PT_AUG_BLUR];
      int side = MIN (OH, OW);
      int radius = MAX (1, (int) floor (p->value * side) / 2);

      radius = MIN (radius, 64);
      rec->fired |= 1u << PT_AUG_BLUR;
      rec->blur_sigma = pt_aug_rng_range (&rng, p->min, p->max);
      rec->blur_kernel = 2 * radius + 1;
      gaussian_blur (a, b, C, OH, OW, radius, rec->blur_sigma);
    }

  OP_RNG (PT_AUG_SOLARIZE);
  if (fires (&rng, &ops[PT_AUG_SOLARIZE]))
    {
      float th = (float) ops[PT_AUG_SOLARIZE].value;

      rec->fired |= 1u << PT_AUG_SOLARIZE;
      rec->solarize_threshold = th;
      for (int i = 0; i < C * n; i++)
        if (a[i] >= th)
          a[i] = 1.0f - a[i];
    }

  OP_RNG (PT_AUG_EQUALIZE);
  if (fires (&rng, &ops[PT_AUG_EQUALIZE]))
    {
      rec->fired |= 1u << PT_AUG_EQUALIZE;
      equalize (a, C, n);
    }

  OP_RNG (PT_AUG_ERASE);
  if (fires (&rng, &ops[PT_AUG_ERASE]) && draw_erase (&rng, &ops[PT_AUG_ERASE], OH, OW, rec))
    {
      rec->fired |= 1u << PT_AUG_ERASE;
      for (int c = 0; c < C; c++)
        for (int y = rec->erase_y; y < rec->erase_y + rec->erase_h; y++)
          for (int x = rec->erase_x; x < rec->erase_x + rec->erase_w; x++)
            a[((gsize) c * OH + y) * OW + x] = (float) rec->erase_value;
    }

  OP_RNG (PT_AUG_NOISE);
  if (fires (&rng, &ops[PT_AUG_NOISE]))
    {
      float std = (float) ops[PT_AUG_NOISE].value;

      rec->fired |= 1u << PT_AUG_NOISE;
      rec->noise_std = std;
      for (int i = 0; i < C * n; i++)
        a[i] = clamp01 (a[i] + std * (float) pt_aug_rng_normal (&rng));
    }

  /* Channels out. */
  if (OC == C)
    memcpy (out, a, sizeof (float) * C * n);
  else if (OC == 3)
    for (int c = 0; c < 3; c++)
      memcpy (out + (gsize) c * n, a, sizeof (float) * n);
  else
    for (int i = 0; i < n; i++)
      out[i] = grey_of (a[i], a[n + i], a[2 * n + i]);

#undef OP_RNG
}

typedef struct {
  float * const        *views;
  PtViewRecord         *records;
  const PtAugRecipe    *recipe;
  const guint8 * const *images;
  const guint64        *indices;
  guint                 B, n_views;
  int                   C, H, W;
  guint64               seed, epoch;
  gsize                *view_sizes;
  int                   next;      /* atomic: next work item */
} BatchWork;

static gpointer
batch_worker (gpointer data)
{
  BatchWork *work = data;
  int total = (int) (work->B * work->n_views);

  for (;;)
    {
      int item = g_atomic_int_add (&work->next, 1);
      guint v, b;

      if (item >= total)
        break;
      v = (guint) item / work->B;
      b = (guint) item % work->B;
      pt_augment_view (work->views[v] + work->view_sizes[v] * b,
                       work->records != NULL ? &work->records[(gsize) v * work->B + b] : NULL,
                       work->recipe, v, work->images[b], work->C, work->H, work->W,
                       work->seed, work->epoch, work->indices[b]);
    }
  return NULL;
}

void
pt_augment_batch (float * const        *views,
                  PtViewRecord         *records,
                  const PtAugRecipe    *recipe,
                  const guint8 * const *images,
                  const guint64        *indices,
                  guint                 B,
                  int                   C,
                  int                   H,
                  int                   W,
                  guint64               seed,
                  guint64               epoch,
                  int                   n_threads)
{
  BatchWork work = { 0 };
  g_autofree GThread **threads = NULL;
  g_autofree gsize *view_sizes = NULL;

  g_return_if_fail (views != NULL && recipe != NULL && images != NULL && indices != NULL);

  work.views = views;
  work.records = records;
  work.recipe = recipe;
  work.images = images;
  work.indices = indices;
  work.B = B;
  work.n_views = pt_augment_recipe_get_n_views (recipe);
  work.C = C;
  work.H = H;
  work.W = W;
  work.seed = seed;
  work.epoch = epoch;
  view_sizes = g_new (gsize, work.n_views);
  for (guint v = 0; v < work.n_views; v++)
    {
      int oc, oh, ow;

      pt_augment_recipe_get_view_shape (recipe, v, C, H, W, &oc, &oh, &ow);
      view_sizes[v] = (gsize) oc * oh * ow;
    }
  work.view_sizes = view_sizes;

  n_threads = CLAMP (n_threads, 1, 64);
  n_threads = MIN (n_threads, (int) MAX (1u, B * work.n_views / 8));
  threads = g_new0 (GThread *, n_threads);
  for (int t = 1; t < n_threads; t++)
    threads[t] = g_thread_new ("pt-augment", batch_worker, &work);
  batch_worker (&work);
  for (int t = 1; t < n_threads; t++)
    g_thread_join (threads[t]);
}

void
pt_view_record_to_json (const PtViewRecord *record,
                        JsonBuilder        *builder)
{
  static const char *const jitter_names[4] = { "brightness", "contrast", "saturation", "hue" };

  g_return_if_fail (record != NULL && builder != NULL);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "view");
  json_builder_add_int_value (builder, record->view);
  json_builder_set_member_name (builder, "group");
  json_builder_add_int_value (builder, record->group);
  json_builder_set_member_name (builder, "size");
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, record->out_channels);
  json_builder_add_int_value (builder, record->out_height);
  json_builder_add_int_value (builder, record->out_width);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "fired");
  json_builder_begin_array (builder);
  for (int op = 0; op < PT_AUG_N_OPS; op++)
    if (record->fired & (1u << op))
      json_builder_add_string_value (builder, op_names[op]);
  json_builder_end_array (builder);

  json_builder_set_member_name (builder, "crop");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "x");
  json_builder_add_int_value (builder, record->crop_x);
  json_builder_set_member_name (builder, "y");
  json_builder_add_int_value (builder, record->crop_y);
  json_builder_set_member_name (builder, "w");
  json_builder_add_int_value (builder, record->crop_w);
  json_builder_set_member_name (builder, "h");
  json_builder_add_int_value (builder, record->crop_h);
  json_builder_set_member_name (builder, "scale");
  json_builder_add_double_value (builder, record->crop_scale);
  json_builder_set_member_name (builder, "ratio");
  json_builder_add_double_value (builder, record->crop_ratio);
  json_builder_set_member_name (builder, "fallback");
  json_builder_add_boolean_value (builder, record->crop_fallback);
  json_builder_end_object (builder);

  json_builder_set_member_name (builder, "hflip");
  json_builder_add_boolean_value (builder, (record->fired >> PT_AUG_HFLIP) & 1);
  json_builder_set_member_name (builder, "vflip");
  json_builder_add_boolean_value (builder, (record->fired >> PT_AUG_VFLIP) & 1);
  json_builder_set_member_name (builder, "angle");
  json_builder_add_double_value (builder, record->angle);

  if (record->fired & (1u << PT_AUG_JITTER))
    {
      json_builder_set_member_name (builder, "jitter");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "brightness");
      json_builder_add_double_value (builder, record->brightness);
      json_builder_set_member_name (builder, "contrast");
      json_builder_add_double_value (builder, record->contrast);
      json_builder_set_member_name (builder, "saturation");
      json_builder_add_double_value (builder, record->saturation);
      json_builder_set_member_name (builder, "hue");
      json_builder_add_double_value (builder, record->hue);
      json_builder_set_member_name (builder, "order");
      json_builder_begin_array (builder);
      for (int k = 0; k < 4; k++)
        json_builder_add_string_value (builder, jitter_names[record->jitter_order[k] & 3]);
      json_builder_end_array (builder);
      json_builder_end_object (builder);
    }
  if (record->fired & (1u << PT_AUG_BLUR))
    {
      json_builder_set_member_name (builder, "blur");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "sigma");
      json_builder_add_double_value (builder, record->blur_sigma);
      json_builder_set_member_name (builder, "kernel");
      json_builder_add_int_value (builder, record->blur_kernel);
      json_builder_end_object (builder);
    }
  if (record->fired & (1u << PT_AUG_SOLARIZE))
    {
      json_builder_set_member_name (builder, "solarize_threshold");
      json_builder_add_double_value (builder, record->solarize_threshold);
    }
  if (record->fired & (1u << PT_AUG_ERASE))
    {
      json_builder_set_member_name (builder, "erase");
      json_builder_begin_object (builder);
      json_builder_set_member_name (builder, "x");
      json_builder_add_int_value (builder, record->erase_x);
      json_builder_set_member_name (builder, "y");
      json_builder_add_int_value (builder, record->erase_y);
      json_builder_set_member_name (builder, "w");
      json_builder_add_int_value (builder, record->erase_w);
      json_builder_set_member_name (builder, "h");
      json_builder_add_int_value (builder, record->erase_h);
      json_builder_set_member_name (builder, "value");
      json_builder_add_double_value (builder, record->erase_value);
      json_builder_end_object (builder);
    }
  if (record->fired & (1u << PT_AUG_NOISE))
    {
      json_builder_set_member_name (builder, "noise_std");
      json_builder_add_double_value (builder, record->noise_std);
    }
  json_builder_end_object (builder);
}

static const char *
jitter_component_name (guint8 component)
{
  switch (component)
    {
    case PT_JITTER_BRIGHTNESS: return _("brightness");
    case PT_JITTER_CONTRAST: return _("contrast");
    case PT_JITTER_SATURATION: return _("saturation");
    default: return _("hue");
    }
}

/* g_ascii_formatd into a fixed-size buffer. */
#define FMT(buf, format, v) g_ascii_formatd (buf, sizeof buf, format, v)

/* Appends a new line, then the formatted text. */
static void
add_line (GString    *text,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static void
add_line (GString    *text,
          const char *format,
          ...)
{
  va_list args;

  g_string_append_c (text, '\n');
  va_start (args, format);
  g_string_append_vprintf (text, format, args);
  va_end (args);
}

char *
pt_view_record_describe (const PtViewRecord *record)
{
  GString *text;
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE];
  char c[G_ASCII_DTOSTR_BUF_SIZE], d[G_ASCII_DTOSTR_BUF_SIZE];

  g_return_val_if_fail (record != NULL, NULL);

  text = g_string_new (NULL);
  /* TRANSLATORS: crop box: x, y, width × height in source pixels */
  g_string_append_printf (text, _("crop %d, %d, %d × %d (scale %s, ratio %s)%s"),
                          record->crop_x, record->crop_y, record->crop_w, record->crop_h,
                          FMT (a, "%.2f", record->crop_scale), FMT (b, "%.2f", record->crop_ratio),
                          record->crop_fallback ? _(", centre fallback") : "");
  if (record->fired & (1u << PT_AUG_HFLIP))
    add_line (text, "%s", _("horizontal flip"));
  if (record->fired & (1u << PT_AUG_VFLIP))
    add_line (text, "%s", _("vertical flip"));
  if (record->fired & (1u << PT_AUG_ROTATE))
    add_line (text, _("rotation %s°"), FMT (a, "%.1f", record->angle));
  if (record->fired & (1u << PT_AUG_JITTER))
    {
      add_line (text, _("colour jitter: brightness %s, contrast %s, saturation %s, hue %s"),
                FMT (a, "%.2f", record->brightness), FMT (b, "%.2f", record->contrast),
                FMT (c, "%.2f", record->saturation), FMT (d, "%+.3f", record->hue));
      add_line (text, _("  order: %s, %s, %s, %s"),
                jitter_component_name (record->jitter_order[0]),
                jitter_component_name (record->jitter_order[1]),
                jitter_component_name (record->jitter_order[2]),
                jitter_component_name (record->jitter_order[3]));
    }
  if (record->fired & (1u << PT_AUG_GRAYSCALE))
    add_line (text, "%s", _("grayscale"));
  if (record->fired & (1u << PT_AUG_BLUR))
    add_line (text, _("Gaussian blur σ %s (kernel %d)"),
              FMT (a, "%.2f", record->blur_sigma), record->blur_kernel);
  if (record->fired & (1u << PT_AUG_SOLARIZE))
    add_line (text, _("solarize from %s"), FMT (a, "%.2f", record->solarize_threshold));
  if (record->fired & (1u << PT_AUG_EQUALIZE))
    add_line (text, "%s", _("equalize"));
  if (record->fired & (1u << PT_AUG_ERASE))
    add_line (text, _("erase %d, %d, %d × %d with %s"),
              record->erase_x, record->erase_y, record->erase_w, record->erase_h,
              FMT (a, "%.2f", record->erase_value));
  if (record->fired & (1u << PT_AUG_NOISE))
    add_line (text, _("Gaussian noise σ %s"), FMT (a, "%.3f", record->noise_std));
  return g_string_free (text, FALSE);
}

#undef FMT
