/* pt-eval-json.c: evaluation records to and from JSON. */
#include "pt-eval-json.h"

#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK (pt-eval-json-error-quark, pt_eval_json_error)

PtEvalRecord *
pt_eval_record_new (const char *kind)
{
  g_return_val_if_fail (kind != NULL, NULL);

  PtEvalRecord *r = g_new0 (PtEvalRecord, 1);
  r->kind = g_strdup (kind);
  r->accuracy = NAN;
  r->label_fraction = NAN;
  r->c = NAN;
  r->knn_t = NAN;
  return r;
}

PtEvalRecord *
pt_eval_record_new_probe (const PtProbeResult *result,
                          guint64              seed)
{
  g_return_val_if_fail (result != NULL && result->report != NULL, NULL);

  PtEvalRecord *r = pt_eval_record_new ("linear-probe");
  r->accuracy = result->report->accuracy;
  r->n_train = result->n_train;
  r->n_test = result->n_test;
  r->seed = seed;
  r->c = result->c;
  r->report = pt_class_report_copy (result->report);
  return r;
}

PtEvalRecord *
pt_eval_record_new_knn (const PtClassReport *report,
                        int                  n_train,
                        int                  k,
                        double               t)
{
  g_return_val_if_fail (report != NULL, NULL);

  PtEvalRecord *r = pt_eval_record_new ("knn");
  r->accuracy = report->accuracy;
  r->n_train = n_train;
  r->n_test = report->n;
  r->knn_k = k;
  r->knn_t = t;
  r->report = pt_class_report_copy (report);
  return r;
}

void
pt_eval_record_free (PtEvalRecord *record)
{
  if (record == NULL)
    return;
  g_free (record->kind);
  g_free (record->features);
  pt_class_report_free (record->report);
  g_free (record->curve);
  g_free (record);
}

static void
add_double (JsonBuilder *b, const char *name, double v)
{
  json_builder_set_member_name (b, name);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
add_int (JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name (b, name);
  json_builder_add_int_value (b, v);
}

JsonNode *
pt_eval_record_to_json (const PtEvalRecord *r)
{
  g_return_val_if_fail (r != NULL && r->kind != NULL, NULL);

  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  add_int (b, "version", PT_EVAL_RECORD_VERSION);
  json_builder_set_member_name (b, "kind");
  json_builder_add_string_value (b, r->kind);
  if (r->features)
    {
      json_builder_set_member_name (b, "features");
      json_builder_add_string_value (b, r->features);
    }
  add_double (b, "accuracy", r->accuracy);
  add_int (b, "n_train", r->n_train);
  add_int (b, "n_test", r->n_test);
  if (isfinite (r->label_fraction))
    add_double (b, "label_fraction", r->label_fraction);
  if (r->per_class > 0)
    add_int (b, "per_class", r->per_class);
  /* A string: a 64-bit seed does not survive a JSON double. */
  json_builder_set_member_name (b, "seed");
  g_autofree char *seed = g_strdup_printf ("%" G_GUINT64_FORMAT, r->seed);
  json_builder_add_string_value (b, seed);
  if (isfinite (r->c))
    add_double (b, "C", r->c);
  if (r->knn_k > 0)
    add_int (b, "knn_k", r->knn_k);
  if (isfinite (r->knn_t))
    add_double (b, "knn_t", r->knn_t);

  if (r->report)
    {
      const PtClassReport *rep = r->report;
      int k = rep->n_classes;
      add_int (b, "n_classes", k);
      add_int (b, "n_correct", rep->n_correct);
      json_builder_set_member_name (b, "class_accuracy");
      json_builder_begin_array (b);
      for (int c = 0; c < k; c++)
        if (isfinite (rep->class_accuracy[c]))
          json_builder_add_double_value (b, rep->class_accuracy[c]);
        else
          json_builder_add_null_value (b);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "class_count");
      json_builder_begin_array (b);
      for (int c = 0; c < k; c++)
        json_builder_add_int_value (b, rep->class_count[c]);
      json_builder_end_array (b);
      json_builder_set_member_name (b, "confusion");
      json_builder_begin_array (b);
      for (int t = 0; t < k; t++)
        {
          json_builder_begin_array (b);
          for (int p = 0; p < k; p++)
            json_builder_add_int_value (b, rep->confusion[(gsize) t * k + p]);
          json_builder_end_array (b);
        }
      json_builder_end_array (b);
      json_builder_set_member_name (b, "misclassified");
      json_builder_begin_array (b);
      for (int i = 0; i < rep->n_wrong; i++)
        json_builder_add_int_value (b, rep->wrong[i]);
      json_builder_end_array (b);
    }

  if (r->n_curve > 0)
    {
      json_builder_set_member_name (b, "curve");
      json_builder_begin_array (b);
      for (int i = 0; i < r->n_curve; i++)
        {
          const PtLabelCurvePoint *p = &r->curve[i];
          json_builder_begin_object (b);
          add_double (b, "fraction", p->fraction);
          add_int (b, "per_class", p->per_class);
          add_int (b, "n_labeled", p->n_labeled);
          add_double (b, "probe_accuracy", p->probe_accuracy);
          add_double (b, "probe_C", p->probe_c);
          add_double (b, "knn_accuracy", p->knn_accuracy);
          json_builder_end_object (b);
        }
      json_builder_end_array (b);
    }
  json_builder_end_object (b);
  return json_builder_get_root (b);
}

static gboolean
get_number (JsonObject *o, const char *name, gboolean required, double *out,
            GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || JSON_NODE_HOLDS_NULL (n))
    {
      if (!required)
        {
          *out = NAN;
          return TRUE;
        }
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record has no “%s”"), name);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) ||
      (json_node_get_value_type (n) != G_TYPE_DOUBLE &&
       json_node_get_value_type (n) != G_TYPE_INT64))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record’s “%s” is not a number"), name);
      return FALSE;
    }
  *out = json_node_get_double (n);
  return TRUE;
}

static gboolean
get_int (JsonObject *o, const char *name, gboolean required, int lo, int hi,
         int *out, GError **error)
{
  double v;

  if (!get_number (o, name, required, &v, error))
    return FALSE;
  if (isnan (v))
    {
      *out = 0;
      return TRUE;
    }
  if (v != floor (v) || v < lo || v > hi)
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record’s “%s” (%g) is not an integer in "
                     "[%d, %d]"), name, v, lo, hi);
      return FALSE;
    }
  *out = (int) v;
  return TRUE;
}

static JsonArray *
get_array (JsonObject *o, const char *name, guint len, GError **error)
{
  JsonNode *n = json_object_get_member (o, name);

  if (n == NULL || !JSON_NODE_HOLDS_ARRAY (n) ||
      (len != G_MAXUINT && json_array_get_length (json_node_get_array (n)) != len))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record’s “%s” is missing or has the "
                     "wrong length"), name);
      return NULL;
    }
  return json_node_get_array (n);
}

static gboolean
array_number (JsonArray *a, guint i, gboolean allow_null, double *out,
              const char *name, GError **error)
{
  JsonNode *n = json_array_get_element (a, i);

  if (allow_null && JSON_NODE_HOLDS_NULL (n))
    {
      *out = NAN;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_VALUE (n) ||
      (json_node_get_value_type (n) != G_TYPE_DOUBLE &&
       json_node_get_value_type (n) != G_TYPE_INT64))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("Element %u of the evaluation record’s “%s” is not a "
                     "number"), i, name);
      return FALSE;
    }
  *out = json_node_get_double (n);
  return TRUE;
}

static PtClassReport *
report_from_json (JsonObject *o, GError **error)
{
  int k = 0;
  double v;

  if (!get_int (o, "n_classes", TRUE, 1, 1 << 20, &k, error))
    return NULL;
  g_autoptr(PtClassReport) rep = g_new0 (PtClassReport, 1);
  rep->n_classes = k;
  rep->class_accuracy = g_new0 (double, k);
  rep->class_count = g_new0 (int, k);
  rep->confusion = g_new0 (gint64, (gsize) k * k);
  if (!get_int (o, "n_correct", TRUE, 0, G_MAXINT, &rep->n_correct, error))
    return NULL;

  JsonArray *acc = get_array (o, "class_accuracy", k, error);
  JsonArray *cnt = acc ? get_array (o, "class_count", k, error) : NULL;
  JsonArray *conf = cnt ? get_array (o, "confusion", k, error) : NULL;
  JsonArray *wrong = conf ? get_array (o, "misclassified", G_MAXUINT, error) : NULL;
  if (wrong == NULL)
    return NULL;
  gint64 total = 0, diag = 0;
  for (int c = 0; c < k; c++)
    {
      if (!array_number (acc, c, TRUE, &rep->class_accuracy[c], "class_accuracy", error) ||
          !array_number (cnt, c, FALSE, &v, "class_count", error))
        return NULL;
      rep->class_count[c] = (int) v;
      JsonNode *row = json_array_get_element (conf, c);
      if (!JSON_NODE_HOLDS_ARRAY (row) ||
          json_array_get_length (json_node_get_array (row)) != (guint) k)
        {
          g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                       _("Row %d of the confusion matrix is not %d numbers"), c, k);
          return NULL;
        }
      gint64 row_sum = 0;
      for (int p = 0; p < k; p++)
        {
          if (!array_number (json_node_get_array (row), p, FALSE, &v, "confusion", error))
            return NULL;
          if (v < 0 || v != floor (v))
            {
              g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                           _("The confusion matrix holds %g, not a count"), v);
              return NULL;
            }
          rep->confusion[(gsize) c * k + p] = (gint64) v;
          row_sum += (gint64) v;
        }
      if (row_sum != rep->class_count[c])
        {
          g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                       _("Row %d of the confusion matrix sums to %lld"
                         ", but class %d has %d items"), c, (long long) row_sum, c,
                       rep->class_count[c]);
          return NULL;
        }
      total += row_sum;
      diag += rep->confusion[(gsize) c * k + c];
    }
  if (diag != rep->n_correct || total > G_MAXINT)
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The confusion matrix does not match the %d correct items"),
                   rep->n_correct);
      return NULL;
    }
  rep->n = (int) total;
  rep->accuracy = total > 0 ? (double) diag / total : 0.0;
  rep->n_wrong = (int) json_array_get_length (wrong);
  rep->wrong = g_new (int, MAX (rep->n_wrong, 1));
  for (int i = 0; i < rep->n_wrong; i++)
    {
      if (!array_number (wrong, i, FALSE, &v, "misclassified", error))
        return NULL;
      rep->wrong[i] = (int) v;
    }
  return g_steal_pointer (&rep);
}

PtEvalRecord *
pt_eval_record_from_json (JsonNode  *node,
                          GError   **error)
{
  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_PARSE,
                   _("An evaluation record must be a JSON object"));
      return NULL;
    }
  JsonObject *o = json_node_get_object (node);
  int version = 0;
  if (!get_int (o, "version", TRUE, 1, G_MAXINT, &version, error))
    return NULL;
  if (version > PT_EVAL_RECORD_VERSION)
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record has version %d; this Pretext reads "
                     "up to version %d"), version, PT_EVAL_RECORD_VERSION);
      return NULL;
    }
  const char *kind = json_object_get_string_member_with_default (o, "kind", NULL);
  if (kind == NULL)
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record has no “kind”"));
      return NULL;
    }
  g_autoptr(PtEvalRecord) r = pt_eval_record_new (kind);
  r->features = g_strdup (json_object_get_string_member_with_default (o, "features", NULL));
  if (!get_number (o, "accuracy", TRUE, &r->accuracy, error) ||
      !get_int (o, "n_train", TRUE, 0, G_MAXINT, &r->n_train, error) ||
      !get_int (o, "n_test", TRUE, 0, G_MAXINT, &r->n_test, error) ||
      !get_number (o, "label_fraction", FALSE, &r->label_fraction, error) ||
      !get_int (o, "per_class", FALSE, 0, G_MAXINT, &r->per_class, error) ||
      !get_number (o, "C", FALSE, &r->c, error) ||
      !get_int (o, "knn_k", FALSE, 0, G_MAXINT, &r->knn_k, error) ||
      !get_number (o, "knn_t", FALSE, &r->knn_t, error))
    return NULL;
  const char *seed = json_object_get_string_member_with_default (o, "seed", "0");
  if (!g_ascii_string_to_unsigned (seed, 10, 0, G_MAXUINT64, &r->seed, NULL))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                   _("The evaluation record’s seed “%s” is not a number"), seed);
      return NULL;
    }
  if (json_object_has_member (o, "confusion"))
    {
      r->report = report_from_json (o, error);
      if (r->report == NULL)
        return NULL;
    }
  if (json_object_has_member (o, "curve"))
    {
      JsonArray *curve = get_array (o, "curve", G_MAXUINT, error);
      if (curve == NULL)
        return NULL;
      r->n_curve = (int) json_array_get_length (curve);
      r->curve = g_new0 (PtLabelCurvePoint, MAX (r->n_curve, 1));
      for (int i = 0; i < r->n_curve; i++)
        {
          JsonNode *pn = json_array_get_element (curve, i);
          PtLabelCurvePoint *p = &r->curve[i];
          if (!JSON_NODE_HOLDS_OBJECT (pn))
            {
              g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_INVALID,
                           _("Point %d of the label curve is not an object"), i);
              return NULL;
            }
          JsonObject *po = json_node_get_object (pn);
          if (!get_number (po, "fraction", FALSE, &p->fraction, error) ||
              !get_int (po, "per_class", FALSE, 0, G_MAXINT, &p->per_class, error) ||
              !get_int (po, "n_labeled", TRUE, 0, G_MAXINT, &p->n_labeled, error) ||
              !get_number (po, "probe_accuracy", FALSE, &p->probe_accuracy, error) ||
              !get_number (po, "probe_C", FALSE, &p->probe_c, error) ||
              !get_number (po, "knn_accuracy", FALSE, &p->knn_accuracy, error))
            return NULL;
          if (isnan (p->fraction))
            p->fraction = 0.0;
        }
    }
  return g_steal_pointer (&r);
}

gboolean
pt_eval_record_save (const PtEvalRecord  *record,
                     const char          *path,
                     GError             **error)
{
  g_return_val_if_fail (record != NULL && path != NULL, FALSE);

  g_autoptr(JsonNode) node = pt_eval_record_to_json (record);
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, node);
  gsize len = 0;
  g_autofree char *text = json_generator_to_data (gen, &len);
  g_autoptr(GError) local = NULL;
  if (!g_file_set_contents_full (path, text, (gssize) len,
                                 G_FILE_SET_CONTENTS_CONSISTENT |
                                 G_FILE_SET_CONTENTS_DURABLE, 0644, &local))
    {
      g_set_error (error, local->domain, local->code,
                   _("Could not write the evaluation record “%s”: %s"), path,
                   local->message);
      return FALSE;
    }
  return TRUE;
}

PtEvalRecord *
pt_eval_record_load (const char  *path,
                     GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);

  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local = NULL;
  if (!json_parser_load_from_file (parser, path, &local))
    {
      g_set_error (error, PT_EVAL_JSON_ERROR, PT_EVAL_JSON_ERROR_PARSE,
                   _("Could not read the evaluation record “%s”: %s"), path,
                   local->message);
      return NULL;
    }
  JsonNode *root = json_parser_get_root (parser);
  PtEvalRecord *r = root ? pt_eval_record_from_json (root, &local) : NULL;
  if (r == NULL)
    {
      g_set_error (error, PT_EVAL_JSON_ERROR,
                   local ? local->code : PT_EVAL_JSON_ERROR_PARSE,
                   _("The evaluation record “%s” is invalid: %s"), path,
                   local ? local->message : _("the file is empty"));
      return NULL;
    }
  return r;
}
