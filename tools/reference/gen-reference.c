/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 */

/* Writes docs/reference.md from the built plugin, so that the reference
 * cannot drift from the code:
 *
 * - element details, pad templates, properties and signals come from the
 *   plugin itself (loaded from the given file, with the registry disabled
 *   so that no installed copy can answer instead);
 * - long descriptions and signal argument names come from the gtk-doc
 *   comments in the sources (SECTION:element-NAME, Type::signal-name:);
 * - the fields of each element's stats structure are read from a fresh
 *   instance; their meanings come from the notes file, which must name
 *   exactly those fields;
 * - bus messages are found by scanning gstNAME.c for the structures it
 *   posts (gst_structure_new/gst_structure_set with literal names) and the
 *   kinds of message it posts (gst_message_new_KIND, GST_ELEMENT_ERROR...);
 *   the notes file must document exactly those messages and fields.
 *
 * Any mismatch is reported on stderr and nothing is written.
 *
 * With --troubleshooting FILE it checks instead that every translatable
 * message of the sources (_("...")) appears in FILE (its first words; a
 * printf conversion matches any short text).
 *
 * Single-threaded. */

#include <string.h>
#include <stdlib.h>

#include <gst/gst.h>

typedef struct
{
  gchar *sources_dir;
  GHashTable *sources;          /* file name -> contents */
  GKeyFile *notes;
  gchar *notes_path;
  GHashTable *notes_used;       /* "group\nkey" */
  GPtrArray *problems;
} Reference;

/* A structure a source file posts as an element message. */
typedef struct
{
  gchar *name;
  GPtrArray *fields;            /* field names, in source order */
  GPtrArray *types;             /* their GType macros */
} PostedStructure;

static void
problem (Reference * ref, const gchar * format, ...)
G_GNUC_PRINTF (2, 3);

     static void problem (Reference * ref, const gchar * format, ...)
{
  va_list args;

  va_start (args, format);
  g_ptr_array_add (ref->problems, g_strdup_vprintf (format, args));
  va_end (args);
}

/* ---- the notes file ---- */

static gchar *
note_get (Reference * ref, const gchar * group, const gchar * key)
{
  gchar *value = g_key_file_get_string (ref->notes, group, key, NULL);

  if (value)
    g_hash_table_add (ref->notes_used, g_strdup_printf ("%s\n%s", group, key));
  return value;
}

/* Every key of the notes file must have been used: a key that was not
 * names something the plugin no longer has. */
static void
check_notes_used (Reference * ref)
{
  gchar **groups = g_key_file_get_groups (ref->notes, NULL);
  guint i, j;

  for (i = 0; groups[i]; i++) {
    gchar **keys = g_key_file_get_keys (ref->notes, groups[i], NULL, NULL);

    for (j = 0; keys && keys[j]; j++) {
      gchar *id = g_strdup_printf ("%s\n%s", groups[i], keys[j]);

      if (!g_hash_table_contains (ref->notes_used, id))
        problem (ref, "%s: [%s] %s= documents something the plugin does not "
            "have (any more): remove it or fix its name", ref->notes_path,
            groups[i], keys[j]);
      g_free (id);
    }
    g_strfreev (keys);
  }
  g_strfreev (groups);
}

/* ---- the sources ---- */

static gboolean
load_sources (Reference * ref, GError ** error)
{
  GDir *dir = g_dir_open (ref->sources_dir, 0, error);
  const gchar *name;

  if (dir == NULL)
    return FALSE;
  while ((name = g_dir_read_name (dir))) {
    gchar *path, *contents;

    if (!g_str_has_suffix (name, ".c") && !g_str_has_suffix (name, ".h"))
      continue;
    path = g_build_filename (ref->sources_dir, name, NULL);
    if (!g_file_get_contents (path, &contents, NULL, error)) {
      g_free (path);
      g_dir_close (dir);
      return FALSE;
    }
    g_hash_table_insert (ref->sources, g_strdup (name), contents);
    g_free (path);
  }
  g_dir_close (dir);
  return TRUE;
}

static GList *
sorted_source_names (Reference * ref)
{
  return g_list_sort (g_hash_table_get_keys (ref->sources),
      (GCompareFunc) strcmp);
}

/* The text of the comment that holds @tag (e.g. "SECTION:element-ackqueue"
 * or "GstAckQueue::ack:"), after the tag, without the leading " * ". */
static gchar *
find_doc_comment (Reference * ref, const gchar * tag)
{
  GList *names = sorted_source_names (ref), *l;
  gchar *found = NULL;

  for (l = names; l && !found; l = l->next) {
    const gchar *text = g_hash_table_lookup (ref->sources, l->data);
    const gchar *start = strstr (text, tag), *end;
    GString *out;
    gchar **lines, *comment;
    guint i;

    if (start == NULL || start[strlen (tag)] != '\n')
      continue;
    start += strlen (tag) + 1;
    end = strstr (start, "*/");
    if (end == NULL)
      continue;
    out = g_string_new (NULL);
    comment = g_strndup (start, end - start);
    lines = g_strsplit (comment, "\n", -1);
    g_free (comment);
    for (i = 0; lines[i]; i++) {
      const gchar *line = lines[i];

      while (*line == ' ')
        line++;
      if (*line == '*')
        line++;
      if (*line == ' ')
        line++;
      g_string_append_printf (out, "%s\n", line);
    }
    g_strfreev (lines);
    found = g_strstrip (g_string_free (out, FALSE));
  }
  g_list_free (names);
  return found;
}

/* gtk-doc markup to Markdown: #Type:prop and #Type::signal to `prop`,
 * #Type and %CONSTANT to `Type`, |[ ]| to a code block, its "## "
 * headings under the element's "### " ones. */
static gchar *
gtkdoc_to_markdown (const gchar * text)
{
  static const struct
  {
    const gchar *pattern, *replacement;
  } rules[] = {
    {"#[A-Za-z0-9_]+::?([a-z0-9-]+)", "`\\1`"},
    {"#([A-Za-z0-9_]+)", "`\\1`"},
    {"%([A-Z0-9_]+)", "`\\1`"},
    {"^\\|\\[(<!-- language=\"[a-z]+\" -->)?$", "```"},
    {"^\\]\\|[ \\t]*", "```\n\n"},
    {"^## ", "#### "},
  };
  gchar *result = g_strdup (text);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (rules); i++) {
    GRegex *regex = g_regex_new (rules[i].pattern, G_REGEX_MULTILINE, 0, NULL);
    gchar *next = g_regex_replace (regex, result, -1, 0, rules[i].replacement,
        0, NULL);

    g_regex_unref (regex);
    g_free (result);
    result = next;
  }
  return result;
}

/* The argument text of the call whose '(' is at @open: up to the matching
 * ')', skipping string literals. */
static gchar *
call_arguments (const gchar * open)
{
  const gchar *p = open + 1;
  gint depth = 1;

  for (; *p && depth > 0; p++) {
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++)
        if (*p == '\\' && p[1])
          p++;
    } else if (*p == '(') {
      depth++;
    } else if (*p == ')') {
      depth--;
    }
  }
  return g_strndup (open + 1, p - open - 2);
}

static void
posted_structure_free (PostedStructure * s)
{
  g_free (s->name);
  g_ptr_array_unref (s->fields);
  g_ptr_array_unref (s->types);
  g_free (s);
}

static gint
compare_posted_names (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(PostedStructure **) a)->name,
      (*(PostedStructure **) b)->name);
}

static PostedStructure *
find_posted (GPtrArray * posted, const gchar * name)
{
  guint i;

  for (i = 0; i < posted->len; i++) {
    PostedStructure *s = g_ptr_array_index (posted, i);

    if (strcmp (s->name, name) == 0)
      return s;
  }
  return NULL;
}

static void
add_field (PostedStructure * s, const gchar * field, const gchar * type)
{
  guint i;

  for (i = 0; i < s->fields->len; i++)
    if (strcmp (g_ptr_array_index (s->fields, i), field) == 0)
      return;
  g_ptr_array_add (s->fields, g_strdup (field));
  g_ptr_array_add (s->types, g_strdup (type));
}

/* The structures @text builds with a literal name that are not stats
 * (names ending in -stats): the element messages it posts. Fields set
 * with gst_structure_set() go to the structure built last before them. */
static GPtrArray *
scan_posted_structures (const gchar * text)
{
  GPtrArray *posted =
      g_ptr_array_new_with_free_func ((GDestroyNotify) posted_structure_free);
  GRegex *call = g_regex_new ("\\bgst_structure_(new|set)\\s*\\(", 0, 0, NULL);
  GRegex *field = g_regex_new ("\"([a-z0-9-]+)\"\\s*,\\s*"
      "((?:G|GST)_TYPE_[A-Z0-9_]+)", 0, 0, NULL);
  GRegex *literal = g_regex_new ("\"([a-z0-9-]+)\"", 0, 0, NULL);
  GPtrArray *last = g_ptr_array_new ();
  GMatchInfo *info;

  g_regex_match (call, text, 0, &info);
  for (; g_match_info_matches (info); g_match_info_next (info, NULL)) {
    gchar *kind = g_match_info_fetch (info, 1);
    gint start, end, fields_start = -1;
    gchar *args;
    GMatchInfo *fields;
    GPtrArray *targets = last;

    g_match_info_fetch_pos (info, 0, &start, &end);
    args = call_arguments (text + end - 1);
    if (g_regex_match (field, args, 0, &fields))
      g_match_info_fetch_pos (fields, 0, &fields_start, NULL);
    if (strcmp (kind, "new") == 0) {
      GMatchInfo *names;
      gchar *head = g_strndup (args, fields_start >= 0 ? fields_start :
          (gint) strlen (args));

      g_ptr_array_set_size (last, 0);
      g_regex_match (literal, head, 0, &names);
      for (; g_match_info_matches (names); g_match_info_next (names, NULL)) {
        gchar *name = g_match_info_fetch (names, 1);
        PostedStructure *s = find_posted (posted, name);

        if (g_str_has_suffix (name, "-stats")) {
          g_free (name);
          continue;
        }
        if (s == NULL) {
          s = g_new0 (PostedStructure, 1);
          s->name = name;
          s->fields = g_ptr_array_new_with_free_func (g_free);
          s->types = g_ptr_array_new_with_free_func (g_free);
          g_ptr_array_add (posted, s);
        } else {
          g_free (name);
        }
        g_ptr_array_add (last, s);
      }
      g_match_info_free (names);
      g_free (head);
    }
    for (; g_match_info_matches (fields); g_match_info_next (fields, NULL)) {
      gchar *field_name = g_match_info_fetch (fields, 1);
      gchar *type = g_match_info_fetch (fields, 2);
      guint i;

      for (i = 0; i < targets->len; i++)
        add_field (g_ptr_array_index (targets, i), field_name, type);
      g_free (field_name);
      g_free (type);
    }
    g_match_info_free (fields);
    g_free (args);
    g_free (kind);
  }
  g_match_info_free (info);
  g_ptr_array_unref (last);
  g_regex_unref (literal);
  g_regex_unref (field);
  g_regex_unref (call);
  return posted;
}

static gint
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const gchar **) a, *(const gchar **) b);
}

/* The kinds of message @text posts besides element messages: qos,
 * latency, ... (gst_message_new_KIND) and error, warning, info
 * (GST_ELEMENT_ERROR...), sorted. */
static GPtrArray *
scan_message_kinds (const gchar * text)
{
  GPtrArray *kinds = g_ptr_array_new_with_free_func (g_free);
  GRegex *regex = g_regex_new ("\\bgst_message_new_([a-z_]+)\\s*\\(|"
      "\\bGST_ELEMENT_(ERROR|WARNING|INFO)(_WITH_DETAILS)?\\s*\\(", 0, 0, NULL);
  GMatchInfo *info;

  g_regex_match (regex, text, 0, &info);
  for (; g_match_info_matches (info); g_match_info_next (info, NULL)) {
    gchar *kind = g_match_info_fetch (info, 1);
    guint i;
    gboolean seen = FALSE;

    if (*kind == '\0') {
      gchar *macro = g_match_info_fetch (info, 2);

      g_free (kind);
      kind = g_ascii_strdown (macro, -1);
      g_free (macro);
    }
    for (i = 0; i < kinds->len; i++)
      seen |= strcmp (g_ptr_array_index (kinds, i), kind) == 0;
    if (seen || strcmp (kind, "element") == 0)
      g_free (kind);
    else
      g_ptr_array_add (kinds, kind);
  }
  g_match_info_free (info);
  g_regex_unref (regex);
  g_ptr_array_sort (kinds, compare_strings);
  return kinds;
}

/* ---- values ---- */

static gchar *
format_value (const GValue * value)
{
  GType type = G_VALUE_TYPE (value);

  if (type == G_TYPE_STRING) {
    const gchar *s = g_value_get_string (value);

    return s ? g_strdup_printf ("\"%s\"", s) : g_strdup ("none");
  }
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (g_value_get_boolean (value) ? "true" : "false");
  if (G_TYPE_IS_ENUM (type)) {
    GEnumClass *klass = g_type_class_ref (type);
    GEnumValue *v = g_enum_get_value (klass, g_value_get_enum (value));
    gchar *s = v ? g_strdup (v->value_nick) :
        g_strdup_printf ("%d", g_value_get_enum (value));

    g_type_class_unref (klass);
    return s;
  }
  if (G_TYPE_IS_FLAGS (type)) {
    GFlagsClass *klass = g_type_class_ref (type);
    guint flags = g_value_get_flags (value);
    GString *s = g_string_new (NULL);
    guint i;

    for (i = 0; i < klass->n_values; i++) {
      if (klass->values[i].value != 0 &&
          (flags & klass->values[i].value) == klass->values[i].value)
        g_string_append_printf (s, "%s%s", s->len ? "+" : "",
            klass->values[i].value_nick);
    }
    g_type_class_unref (klass);
    if (s->len == 0)
      g_string_append (s, "none");
    return g_string_free (s, FALSE);
  }
  if (type == G_TYPE_DOUBLE || type == G_TYPE_FLOAT) {
    gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

    return g_strdup (g_ascii_dtostr (buf, sizeof buf, type == G_TYPE_DOUBLE ?
            g_value_get_double (value) : g_value_get_float (value)));
  }
  if (G_TYPE_IS_OBJECT (type) || G_TYPE_IS_INTERFACE (type))
    return g_strdup (g_value_get_object (value) ? "(an object)" : "none");
  if (G_TYPE_IS_BOXED (type) && g_value_get_boxed (value) == NULL)
    return g_strdup ("none");
  if (type == GST_TYPE_STRUCTURE)
    return g_strdup ("a structure (below)");
  if (type == G_TYPE_STRV) {
    gchar *joined = g_strjoinv (", ", g_value_get_boxed (value));
    gchar *s = g_strdup_printf ("{%s}", joined);

    g_free (joined);
    return s;
  }
  {
    GValue text = G_VALUE_INIT;
    gchar *s;

    g_value_init (&text, G_TYPE_STRING);
    if (g_value_transform (value, &text))
      s = g_value_dup_string (&text);
    else
      s = gst_value_serialize (value);
    g_value_unset (&text);
    return s ? s : g_strdup ("?");
  }
}

static gchar *
format_range (GParamSpec * pspec)
{
#define RANGE(TYPE, CAST, FMT) \
  if (G_IS_PARAM_SPEC_##TYPE (pspec)) \
    return g_strdup_printf ("%" FMT " – %" FMT, \
        G_PARAM_SPEC_##TYPE (pspec)->minimum, \
        G_PARAM_SPEC_##TYPE (pspec)->maximum)
  RANGE (INT, gint, "d");
  RANGE (UINT, guint, "u");
  RANGE (LONG, glong, "ld");
  RANGE (ULONG, gulong, "lu");
  RANGE (INT64, gint64, G_GINT64_FORMAT);
  RANGE (UINT64, guint64, G_GUINT64_FORMAT);
#undef RANGE
  if (G_IS_PARAM_SPEC_DOUBLE (pspec) || G_IS_PARAM_SPEC_FLOAT (pspec)) {
    gchar min[G_ASCII_DTOSTR_BUF_SIZE], max[G_ASCII_DTOSTR_BUF_SIZE];
    gdouble lo = G_IS_PARAM_SPEC_DOUBLE (pspec) ?
        G_PARAM_SPEC_DOUBLE (pspec)->minimum :
        G_PARAM_SPEC_FLOAT (pspec)->minimum;
    gdouble hi = G_IS_PARAM_SPEC_DOUBLE (pspec) ?
        G_PARAM_SPEC_DOUBLE (pspec)->maximum :
        G_PARAM_SPEC_FLOAT (pspec)->maximum;

    return g_strdup_printf ("%s – %s", g_ascii_dtostr (min, sizeof min, lo),
        g_ascii_dtostr (max, sizeof max, hi));
  }
  return NULL;
}

static gchar *
format_flags (GParamSpec * pspec)
{
  GString *s = g_string_new (NULL);
  GParamFlags flags = pspec->flags;

  if (flags & G_PARAM_READABLE)
    g_string_append (s, "readable");
  if (flags & G_PARAM_WRITABLE) {
    g_string_append_printf (s, "%swritable", s->len ? ", " : "");
    if (flags & G_PARAM_CONSTRUCT_ONLY)
      g_string_append (s, ", construct-only");
    else if (flags & GST_PARAM_MUTABLE_PLAYING)
      g_string_append (s, ", changeable in NULL, READY, PAUSED and PLAYING "
          "(`GST_PARAM_MUTABLE_PLAYING`)");
    else if (flags & GST_PARAM_MUTABLE_PAUSED)
      g_string_append (s, ", changeable in NULL, READY and PAUSED "
          "(`GST_PARAM_MUTABLE_PAUSED`)");
    else if (flags & GST_PARAM_MUTABLE_READY)
      g_string_append (s, ", changeable in NULL and READY "
          "(`GST_PARAM_MUTABLE_READY`)");
    /* without a flag the property says nothing, as in gst-inspect-1.0 */
  }
  if (flags & GST_PARAM_CONTROLLABLE)
    g_string_append (s, ", controllable");
  if (flags & G_PARAM_DEPRECATED)
    g_string_append (s, ", deprecated");
  return g_string_free (s, FALSE);
}

/* ---- the sections of an element ---- */

static void
write_pad_templates (GString * out, GstElementFactory * factory)
{
  const GList *l;

  g_string_append (out, "### Pad templates\n\n");
  for (l = gst_element_factory_get_static_pad_templates (factory); l;
      l = l->next) {
    GstStaticPadTemplate *templ = l->data;
    GstCaps *caps = gst_static_caps_get (&templ->static_caps);
    static const gchar *presence[] = { "always", "sometimes", "request" };
    guint i;

    g_string_append_printf (out, "- `%s`: %s pad, %s\n\n  ```\n",
        templ->name_template,
        templ->direction == GST_PAD_SRC ? "source" : "sink",
        presence[templ->presence]);
    if (gst_caps_is_any (caps))
      g_string_append (out, "  ANY\n");
    for (i = 0; i < gst_caps_get_size (caps); i++) {
      GstStructure *s = gst_caps_get_structure (caps, i);
      guint j;

      g_string_append_printf (out, "  %s\n", gst_structure_get_name (s));
      for (j = 0; j < (guint) gst_structure_n_fields (s); j++) {
        const gchar *name = gst_structure_nth_field_name (s, j);
        gchar *value = gst_value_serialize (gst_structure_get_value (s, name));

        g_string_append_printf (out, "      %s: %s\n", name, value);
        g_free (value);
      }
    }
    g_string_append (out, "  ```\n\n");
    gst_caps_unref (caps);
  }
}

static gint
compare_pspec_names (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(GParamSpec **) a)->name, (*(GParamSpec **) b)->name);
}

static gchar *
property_default (GstElement * element, GParamSpec * pspec)
{
  GValue value = G_VALUE_INIT;
  gchar *s;

  /* what a new element has, which is what gst-inspect-1.0 shows */
  g_value_init (&value, pspec->value_type);
  if (pspec->flags & G_PARAM_READABLE)
    g_object_get_property (G_OBJECT (element), pspec->name, &value);
  else
    g_param_value_set_default (pspec, &value);
  s = format_value (&value);
  g_value_unset (&value);
  return s;
}

static void
write_enum_values (GString * out, GType type)
{
  guint i;

  if (G_TYPE_IS_ENUM (type)) {
    GEnumClass *klass = g_type_class_ref (type);

    for (i = 0; i < klass->n_values; i++)
      g_string_append_printf (out, "- `%s` (%d): %s\n",
          klass->values[i].value_nick, klass->values[i].value,
          klass->values[i].value_name);
    g_type_class_unref (klass);
  } else if (G_TYPE_IS_FLAGS (type)) {
    GFlagsClass *klass = g_type_class_ref (type);

    for (i = 0; i < klass->n_values; i++)
      g_string_append_printf (out, "- `%s` (0x%x): %s\n",
          klass->values[i].value_nick, klass->values[i].value,
          klass->values[i].value_name);
    g_type_class_unref (klass);
  }
  g_string_append (out, "\n");
}

static void
write_properties (GString * out, GstElement * element)
{
  GType type = G_OBJECT_TYPE (element);
  guint n, i;
  GParamSpec **specs =
      g_object_class_list_properties (G_OBJECT_GET_CLASS (element), &n);
  gboolean inherited_header = FALSE;

  qsort (specs, n, sizeof *specs, compare_pspec_names);
  g_string_append (out, "### Properties\n\n");
  for (i = 0; i < n; i++) {
    GParamSpec *pspec = specs[i];
    gchar *def, *range, *flags;
    GType value_type = pspec->value_type;

    if (pspec->owner_type != type)
      continue;
    def = property_default (element, pspec);
    range = format_range (pspec);
    flags = format_flags (pspec);
    g_string_append_printf (out, "#### `%s`\n\n", pspec->name);
    g_string_append_printf (out, "%s `%s`", G_TYPE_IS_ENUM (value_type) ?
        "enum" : G_TYPE_IS_FLAGS (value_type) ? "flags" : "type",
        g_type_name (value_type));
    if (range)
      g_string_append_printf (out, ", range %s", range);
    g_string_append_printf (out, ", default `%s`; %s.\n\n", def, flags);
    g_string_append_printf (out, "%s.\n\n", g_param_spec_get_blurb (pspec));
    if (G_TYPE_IS_ENUM (value_type) || G_TYPE_IS_FLAGS (value_type))
      write_enum_values (out, value_type);
    g_free (def);
    g_free (range);
    g_free (flags);
  }

  for (i = 0; i < n; i++) {
    GParamSpec *pspec = specs[i];
    gchar *def, *flags;

    if (pspec->owner_type == type)
      continue;
    if (!inherited_header) {
      g_string_append (out, "Inherited from the base classes:\n\n"
          "| property | from | type | default | flags |\n"
          "| --- | --- | --- | --- | --- |\n");
      inherited_header = TRUE;
    }
    def = property_default (element, pspec);
    flags = format_flags (pspec);
    g_string_append_printf (out, "| `%s` | %s | `%s` | `%s` | %s |\n",
        pspec->name, g_type_name (pspec->owner_type),
        g_type_name (pspec->value_type), def, flags);
    g_free (def);
    g_free (flags);
  }
  if (inherited_header)
    g_string_append (out, "\n");
  g_free (specs);
}

static gchar *
signal_flags (GSignalFlags flags)
{
  static const struct
  {
    GSignalFlags flag;
    const gchar *name;
  } names[] = {
    {G_SIGNAL_RUN_FIRST, "run-first"}, {G_SIGNAL_RUN_LAST, "run-last"},
    {G_SIGNAL_RUN_CLEANUP, "run-cleanup"}, {G_SIGNAL_NO_RECURSE,
        "no-recurse"}, {G_SIGNAL_DETAILED, "detailed"}, {G_SIGNAL_ACTION,
        "action"}, {G_SIGNAL_NO_HOOKS, "no-hooks"},
  };
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    if (flags & names[i].flag)
      g_string_append_printf (s, "%s%s", s->len ? ", " : "", names[i].name);
  return g_string_free (s, FALSE);
}

/* How a signal handler declares a value of @type. */
static gchar *
c_type (GType type)
{
  if (type == G_TYPE_STRING)
    return g_strdup ("const gchar *");
  if (G_TYPE_IS_OBJECT (type) || G_TYPE_IS_INTERFACE (type) ||
      G_TYPE_IS_BOXED (type) || g_type_is_a (type, GST_TYPE_MINI_OBJECT))
    return g_strdup_printf ("%s *", g_type_name (type));
  return g_strdup (g_type_name (type));
}

/* The @name: lines of a signal's gtk-doc comment, and its text. */
static void
parse_signal_doc (const gchar * doc, GPtrArray * arg_names,
    GPtrArray * arg_docs, GString * text)
{
  gchar **lines = g_strsplit (doc, "\n", -1);
  guint i;

  for (i = 0; lines[i]; i++) {
    const gchar *line = lines[i];

    if (line[0] == '@' && strchr (line, ':')) {
      const gchar *colon = strchr (line, ':');

      g_ptr_array_add (arg_names, g_strndup (line + 1, colon - line - 1));
      g_ptr_array_add (arg_docs, g_strstrip (g_strdup (colon + 1)));
    } else if (g_str_has_prefix (line, "Returns:")) {
      g_string_append_printf (text, "%sReturns: %s",
          text->len ? "\n\n" : "", g_strstrip (lines[i] + 8));
    } else if (line[0] != '\0' || text->len) {
      g_string_append_printf (text, "%s%s", text->len ? "\n" : "", line);
    }
  }
  g_strfreev (lines);
}

static void
write_signals (Reference * ref, GString * out, GstElement * element)
{
  GType type;
  GString *inherited = g_string_new (NULL);

  g_string_append (out, "### Signals\n\n");
  for (type = G_OBJECT_TYPE (element); type; type = g_type_parent (type)) {
    guint n, i, *ids = g_signal_list_ids (type, &n);

    for (i = 0; i < n; i++) {
      GSignalQuery query;
      gchar *tag, *doc, *flags, *body, *ctype;
      GPtrArray *arg_names, *arg_docs;
      GString *text;
      guint j;

      g_signal_query (ids[i], &query);
      if (type != G_OBJECT_TYPE (element)) {
        g_string_append_printf (inherited, "%s`%s` (%s)",
            inherited->len ? ", " : "", query.signal_name, g_type_name (type));
        continue;
      }
      tag = g_strdup_printf ("%s::%s:", g_type_name (type), query.signal_name);
      doc = find_doc_comment (ref, tag);
      arg_names = g_ptr_array_new_with_free_func (g_free);
      arg_docs = g_ptr_array_new_with_free_func (g_free);
      text = g_string_new (NULL);
      if (doc)
        parse_signal_doc (doc, arg_names, arg_docs, text);
      if (doc == NULL || arg_names->len != query.n_params + 1)
        problem (ref, "%s: document the signal %s with a gtk-doc comment "
            "\"%s\" naming its %u arguments (@element and one per "
            "parameter)", ref->sources_dir, query.signal_name, tag,
            query.n_params + 1);
      flags = signal_flags (query.signal_flags);
      ctype = c_type (query.return_type);
      g_string_append_printf (out, "#### `%s`\n\n```c\n%s\nuser_function "
          "(%s * %s", query.signal_name, ctype, g_type_name (type),
          arg_names->len > 0 ?
          (gchar *) g_ptr_array_index (arg_names, 0) : "element");
      g_free (ctype);
      for (j = 0; j < query.n_params; j++) {
        ctype = c_type (query.param_types[j] & ~G_SIGNAL_TYPE_STATIC_SCOPE);
        g_string_append_printf (out, ",\n    %s%s%s", ctype,
            g_str_has_suffix (ctype, "*") ? "" : " ",
            j + 1 < arg_names->len ?
            (gchar *) g_ptr_array_index (arg_names, j + 1) : "?");
        g_free (ctype);
      }
      g_string_append_printf (out, ",\n    gpointer user_data);\n```\n\n"
          "Flags: %s.\n\n", flags);
      for (j = 0; j < arg_names->len && j < query.n_params + 1; j++)
        g_string_append_printf (out, "- `%s`: %s\n",
            (gchar *) g_ptr_array_index (arg_names, j),
            (gchar *) g_ptr_array_index (arg_docs, j));
      body = gtkdoc_to_markdown (text->str);
      g_string_append_printf (out, "\n%s\n\n", body);
      g_free (body);
      g_string_free (text, TRUE);
      g_ptr_array_unref (arg_names);
      g_ptr_array_unref (arg_docs);
      g_free (flags);
      g_free (doc);
      g_free (tag);
    }
    g_free (ids);
  }
  if (inherited->len)
    g_string_append_printf (out, "Inherited: %s.\n\n", inherited->str);
  g_string_free (inherited, TRUE);
}

static void
write_stats (Reference * ref, GString * out, GstElement * element,
    const gchar * name)
{
  GstStructure *stats = NULL;
  gchar *group = g_strdup_printf ("%s stats", name);
  gint i;

  if (!g_object_class_find_property (G_OBJECT_GET_CLASS (element), "stats"))
    goto out;
  g_object_get (element, "stats", &stats, NULL);
  if (stats == NULL)
    goto out;
  g_string_append_printf (out, "### Stats\n\nThe `stats` property is a "
      "`%s` structure with these fields, in this order:\n\n"
      "| field | type | meaning |\n| --- | --- | --- |\n",
      gst_structure_get_name (stats));
  for (i = 0; i < gst_structure_n_fields (stats); i++) {
    const gchar *field = gst_structure_nth_field_name (stats, i);
    gchar *meaning = note_get (ref, group, field);

    if (meaning == NULL)
      problem (ref, "%s: the %s stats field %s has no meaning: add "
          "\"%s=...\" to [%s]", ref->notes_path, name, field, field, group);
    g_string_append_printf (out, "| `%s` | `%s` | %s |\n", field,
        g_type_name (gst_structure_get_field_type (stats, field)),
        meaning ? meaning : "");
    g_free (meaning);
  }
  g_string_append (out, "\n");
  gst_structure_free (stats);
out:
  g_free (group);
}

static const gchar *
type_macro_name (const gchar * macro)
{
  static const struct
  {
    const gchar *macro, *name;
  } types[] = {
    {"G_TYPE_STRING", "gchararray"}, {"G_TYPE_BOOLEAN", "gboolean"},
    {"G_TYPE_INT", "gint"}, {"G_TYPE_UINT", "guint"},
    {"G_TYPE_INT64", "gint64"}, {"G_TYPE_UINT64", "guint64"},
    {"G_TYPE_DOUBLE", "gdouble"}, {"GST_TYPE_BUFFER_LIST", "GstBufferList"},
    {"GST_TYPE_BUFFER", "GstBuffer"}, {"GST_TYPE_STRUCTURE", "GstStructure"},
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (types); i++)
    if (strcmp (types[i].macro, macro) == 0)
      return types[i].name;
  return macro;
}

/* Every message group of the notes for @name must match a message the
 * source posts; checked by check_notes_used(). */
static void
write_messages (Reference * ref, GString * out, const gchar * name)
{
  gchar *file = g_strdup_printf ("gst%s.c", name);
  const gchar *text = g_hash_table_lookup (ref->sources, file);
  GPtrArray *posted, *kinds;
  guint i, j;

  if (text == NULL) {
    problem (ref, "%s: no %s: messages of %s cannot be found",
        ref->sources_dir, file, name);
    g_free (file);
    return;
  }
  posted = scan_posted_structures (text);
  g_ptr_array_sort (posted, compare_posted_names);
  kinds = scan_message_kinds (text);
  g_string_append (out, "### Bus messages\n\n");
  for (i = 0; i < posted->len; i++) {
    PostedStructure *s = g_ptr_array_index (posted, i);
    gchar *group = g_strdup_printf ("%s message %s", name, s->name);
    gchar *posted_when = note_get (ref, group, "posted");

    if (posted_when == NULL)
      problem (ref, "%s: %s posts the element message %s: add [%s] with "
          "posted=... and one key per field", ref->notes_path, file, s->name,
          group);
    g_string_append_printf (out, "#### `%s` (element message)\n\n%s\n\n"
        "| field | type | meaning |\n| --- | --- | --- |\n", s->name,
        posted_when ? posted_when : "");
    for (j = 0; j < s->fields->len; j++) {
      const gchar *field = g_ptr_array_index (s->fields, j);
      gchar *meaning = note_get (ref, group, field);

      if (meaning == NULL)
        problem (ref, "%s: the field %s of the %s message has no meaning: "
            "add \"%s=...\" to [%s]", ref->notes_path, field, s->name, field,
            group);
      g_string_append_printf (out, "| `%s` | `%s` | %s |\n", field,
          type_macro_name (g_ptr_array_index (s->types, j)),
          meaning ? meaning : "");
      g_free (meaning);
    }
    g_string_append (out, "\n");
    g_free (posted_when);
    g_free (group);
  }
  for (i = 0; i < kinds->len; i++) {
    const gchar *kind = g_ptr_array_index (kinds, i);
    gchar *group = g_strdup_printf ("%s message %s", name, kind);
    gchar *posted_when = note_get (ref, group, "posted");
    gchar **keys = g_key_file_get_keys (ref->notes, group, NULL, NULL);

    if (posted_when == NULL)
      problem (ref, "%s: %s posts %s messages: add [%s] with posted=...",
          ref->notes_path, file, kind, group);
    g_string_append_printf (out, "#### %s messages\n\n%s\n\n", kind,
        posted_when ? posted_when : "");
    /* the other keys are the fields of the error's details structure */
    for (j = 0; keys && keys[j]; j++) {
      gchar *literal = g_strdup_printf ("\"%s\"", keys[j]);
      gchar *meaning;

      if (strcmp (keys[j], "posted") == 0) {
        g_free (literal);
        continue;
      }
      if (strstr (text, literal) == NULL)
        problem (ref, "%s: [%s] %s= is not a field %s sets", ref->notes_path,
            group, keys[j], file);
      meaning = note_get (ref, group, keys[j]);
      g_string_append_printf (out, "- `%s`: %s\n", keys[j], meaning);
      g_free (meaning);
      g_free (literal);
    }
    if (keys && keys[0] && keys[1])
      g_string_append (out, "\n");
    g_strfreev (keys);
    g_free (posted_when);
    g_free (group);
  }
  g_ptr_array_unref (kinds);
  g_ptr_array_unref (posted);
  g_free (file);
}

static void
write_element (Reference * ref, GString * out, GstElementFactory * factory)
{
  const gchar *name = GST_OBJECT_NAME (factory);
  GstElement *element = gst_element_factory_create (factory, NULL);
  gchar *tag = g_strdup_printf ("SECTION:element-%s", name);
  gchar *section = find_doc_comment (ref, tag);
  GType *interfaces;
  const gchar *const *protocols;
  guint n, i;

  g_string_append_printf (out, "## %s\n\n%s (%s): %s.\n\n", name,
      gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_LONGNAME),
      gst_element_factory_get_metadata (factory, GST_ELEMENT_METADATA_KLASS),
      gst_element_factory_get_metadata (factory,
          GST_ELEMENT_METADATA_DESCRIPTION));
  if (section) {
    gchar *title_end = strstr (section, "\n\n");
    gchar *body = gtkdoc_to_markdown (title_end ? title_end + 2 : section);

    g_string_append_printf (out, "%s\n\n", body);
    g_free (body);
  } else {
    problem (ref, "%s: %s has no gtk-doc comment \"%s\"", ref->sources_dir,
        name, tag);
  }
  g_string_append_printf (out, "Type `%s`, parent `%s`, rank %u",
      G_OBJECT_TYPE_NAME (element),
      g_type_name (g_type_parent (G_OBJECT_TYPE (element))),
      gst_plugin_feature_get_rank (GST_PLUGIN_FEATURE (factory)));
  interfaces = g_type_interfaces (G_OBJECT_TYPE (element), &n);
  for (i = 0; i < n; i++)
    g_string_append_printf (out, "%s`%s`", i ? ", " : " Interfaces: ",
        g_type_name (interfaces[i]));
  g_free (interfaces);
  protocols = gst_element_factory_get_uri_protocols (factory);
  for (i = 0; protocols && protocols[i]; i++)
    g_string_append_printf (out, "%s`%s://`", i ? ", " : "; URI schemes: ",
        protocols[i]);
  g_string_append (out, ".\n\n");

  write_pad_templates (out, factory);
  write_properties (out, element);
  write_signals (ref, out, element);
  write_stats (ref, out, element, name);
  write_messages (ref, out, name);

  g_free (section);
  g_free (tag);
  gst_object_unref (element);
}

/* Sources that post messages but are no element's gstNAME.c would escape
 * the scan: refuse them. */
static void
check_message_sources (Reference * ref, GList * factories)
{
  GList *names = sorted_source_names (ref), *l, *f;

  for (l = names; l; l = l->next) {
    gboolean element_file = FALSE;
    GPtrArray *kinds;

    for (f = factories; f; f = f->next) {
      gchar *file = g_strdup_printf ("gst%s.c", GST_OBJECT_NAME (f->data));

      element_file |= strcmp (file, l->data) == 0;
      g_free (file);
    }
    if (element_file || !g_str_has_suffix (l->data, ".c"))
      continue;
    kinds = scan_message_kinds (g_hash_table_lookup (ref->sources, l->data));
    if (kinds->len > 0 || strstr (g_hash_table_lookup (ref->sources, l->data),
            "gst_message_new_element"))
      problem (ref, "%s/%s posts messages but is no element's gstNAME.c: "
          "post them from the element's file so that the reference finds "
          "them", ref->sources_dir, (gchar *) l->data);
    g_ptr_array_unref (kinds);
  }
  g_list_free (names);
}

static gint
compare_feature_names (gconstpointer a, gconstpointer b)
{
  return strcmp (GST_OBJECT_NAME (a), GST_OBJECT_NAME (b));
}

static gchar *
generate (Reference * ref, GstPlugin * plugin)
{
  GString *out = g_string_new (NULL);
  GList *features, *l;

  features = gst_registry_get_feature_list_by_plugin (gst_registry_get (),
      gst_plugin_get_name (plugin));
  features = g_list_sort (features, compare_feature_names);

  g_string_append_printf (out, "# Element reference\n\n"
      "<!-- Generated by tools/update-reference.sh from the built plugin, "
      "the gtk-doc comments in gst/socketio and tools/reference/reference-notes.ini: "
      "edit those, not this file. -->\n\n"
      "Plugin `%s` %s (`libgstsocketio.so`, %s): %s.\n\n",
      gst_plugin_get_name (plugin), gst_plugin_get_version (plugin),
      gst_plugin_get_license (plugin), gst_plugin_get_description (plugin));
  for (l = features; l; l = l->next)
    if (GST_IS_ELEMENT_FACTORY (l->data))
      g_string_append_printf (out, "- [%s](#%s): %s\n",
          GST_OBJECT_NAME (l->data), GST_OBJECT_NAME (l->data),
          gst_element_factory_get_metadata (l->data,
              GST_ELEMENT_METADATA_LONGNAME));
  g_string_append (out, "\nDurations are nanoseconds (`guint64`, as in "
      "GStreamer's `queue`) and sizes bytes. \"Changeable in\" lists the "
      "states in which a writable property may be set.\n\n");
  for (l = features; l; l = l->next)
    if (GST_IS_ELEMENT_FACTORY (l->data))
      write_element (ref, out, l->data);
  check_message_sources (ref, features);
  gst_plugin_feature_list_free (features);

  /* no trailing blank line */
  while (out->len > 1 && out->str[out->len - 1] == '\n'
      && out->str[out->len - 2] == '\n')
    g_string_truncate (out, out->len - 1);
  return g_string_free (out, FALSE);
}

/* ---- the troubleshooting check ---- */

/* A regex for the first words of @msgid: its text up to about eight words,
 * a printf conversion matching any short text. */
static gchar *
msgid_pattern (const gchar * msgid)
{
  GRegex *conversion = g_regex_new ("%[-+ #0-9.]*(?:ll|l|h|z)?[a-zA-Z]",
      0, 0, NULL);
  gchar **parts = g_regex_split (conversion, msgid, 0);
  GString *pattern = g_string_new (NULL);
  guint words = 0, i;

  for (i = 0; parts[i] && words < 8; i++) {
    gchar **tokens;
    guint j;

    if (i > 0)
      g_string_append (pattern, ".{1,80}?");
    tokens = g_strsplit_set (parts[i], " \n\t", -1);
    for (j = 0; tokens[j] && words < 8; j++) {
      gchar *escaped;

      if (j > 0)
        g_string_append (pattern, " ");
      escaped = g_regex_escape_string (tokens[j], -1);
      g_string_append (pattern, escaped);
      g_free (escaped);
      if (tokens[j][0])
        words++;
    }
    g_strfreev (tokens);
  }
  g_strfreev (parts);
  g_regex_unref (conversion);
  return g_string_free (pattern, FALSE);
}

/* Markdown to plain words: no emphasis or code marks, one space between
 * words. */
static gchar *
plain_text (const gchar * markdown)
{
  GRegex *marks = g_regex_new ("[*`\\\\]", 0, 0, NULL);
  GRegex *space = g_regex_new ("\\s+", 0, 0, NULL);
  gchar *unmarked = g_regex_replace_literal (marks, markdown, -1, 0, "", 0,
      NULL);
  gchar *plain = g_regex_replace_literal (space, unmarked, -1, 0, " ", 0,
      NULL);

  g_free (unmarked);
  g_regex_unref (space);
  g_regex_unref (marks);
  return plain;
}

static gint
check_troubleshooting (Reference * ref, const gchar * path)
{
  GRegex *call = g_regex_new ("\\b_\\s*\\(\\s*((?:\"(?:[^\"\\\\]|\\\\.)*\""
      "\\s*)+)", 0, 0, NULL);
  GRegex *literal = g_regex_new ("\"((?:[^\"\\\\]|\\\\.)*)\"", 0, 0, NULL);
  gchar *markdown, *doc;
  GList *names, *l;
  GError *error = NULL;
  guint checked = 0, missing = 0;

  if (!g_file_get_contents (path, &markdown, NULL, &error)) {
    g_printerr ("%s\n", error->message);
    g_error_free (error);
    return 1;
  }
  doc = plain_text (markdown);
  names = sorted_source_names (ref);
  for (l = names; l; l = l->next) {
    GMatchInfo *info;

    g_regex_match (call, g_hash_table_lookup (ref->sources, l->data), 0, &info);
    for (; g_match_info_matches (info); g_match_info_next (info, NULL)) {
      gchar *literals = g_match_info_fetch (info, 1);
      GString *msgid = g_string_new (NULL);
      GMatchInfo *parts;
      gchar *pattern, *plain;
      GRegex *regex;

      g_regex_match (literal, literals, 0, &parts);
      for (; g_match_info_matches (parts); g_match_info_next (parts, NULL)) {
        gchar *escaped = g_match_info_fetch (parts, 1);
        gchar *text = g_strcompress (escaped);

        g_string_append (msgid, text);
        g_free (text);
        g_free (escaped);
      }
      g_match_info_free (parts);
      /* a msgid cut at a format macro ("%" G_GUINT64_FORMAT) ends in % */
      if (g_str_has_suffix (msgid->str, "%"))
        g_string_truncate (msgid, msgid->len - 1);
      plain = plain_text (msgid->str);
      pattern = msgid_pattern (plain);
      regex = g_regex_new (pattern, 0, 0, NULL);
      if (!g_regex_match (regex, doc, 0, NULL)) {
        g_printerr ("%s: the message \"%s\" (%s) is not explained: add it, "
            "with its cause and fix\n", path, msgid->str, (gchar *) l->data);
        missing++;
      }
      checked++;
      g_regex_unref (regex);
      g_free (pattern);
      g_free (plain);
      g_string_free (msgid, TRUE);
      g_free (literals);
    }
    g_match_info_free (info);
  }
  g_list_free (names);
  g_free (doc);
  g_free (markdown);
  g_regex_unref (literal);
  g_regex_unref (call);
  if (checked == 0) {
    g_printerr ("%s: no translatable message found\n", ref->sources_dir);
    return 1;
  }
  g_print ("%u messages, %u not in %s\n", checked, missing, path);
  return missing ? 1 : 0;
}

int
main (int argc, char **argv)
{
  gchar *plugin_path = NULL, *output = NULL, *troubleshooting = NULL;
  GOptionEntry entries[] = {
    {"plugin", 0, 0, G_OPTION_ARG_FILENAME, &plugin_path,
        "the built plugin (libgstsocketio.so)", "FILE"},
    {"sources", 0, 0, G_OPTION_ARG_FILENAME, NULL,
        "the plugin's source directory", "DIR"},
    {"notes", 0, 0, G_OPTION_ARG_FILENAME, NULL,
        "tools/reference/reference-notes.ini", "FILE"},
    {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output,
        "where to write the reference", "FILE"},
    {"troubleshooting", 0, 0, G_OPTION_ARG_FILENAME, &troubleshooting,
        "check that FILE explains every message instead", "FILE"},
    {NULL}
  };
  GOptionContext *context;
  Reference ref = { 0 };
  GError *error = NULL;
  GstPlugin *plugin;
  gchar *markdown;
  gint status = 0;
  guint i;

  entries[1].arg_data = &ref.sources_dir;
  entries[2].arg_data = &ref.notes_path;
  context = g_option_context_new ("- write the element reference");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error) ||
      ref.sources_dir == NULL || (troubleshooting == NULL &&
          (plugin_path == NULL || ref.notes_path == NULL || output == NULL))) {
    g_printerr ("%s\n%s", error ? error->message : "missing options",
        g_option_context_get_help (context, TRUE, NULL));
    return 2;
  }
  g_option_context_free (context);

  ref.sources = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ref.notes_used = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  ref.problems = g_ptr_array_new_with_free_func (g_free);
  if (!load_sources (&ref, &error)) {
    g_printerr ("%s\n", error->message);
    return 1;
  }
  if (troubleshooting) {
    status = check_troubleshooting (&ref, troubleshooting);
    goto done;
  }

  ref.notes = g_key_file_new ();
  if (!g_key_file_load_from_file (ref.notes, ref.notes_path,
          G_KEY_FILE_NONE, &error)) {
    g_printerr ("%s: %s\n", ref.notes_path, error->message);
    return 1;
  }

  /* only this plugin: no registry, so an installed copy cannot answer */
  g_setenv ("GST_REGISTRY_DISABLE", "yes", TRUE);
  gst_init (NULL, NULL);
  plugin = gst_plugin_load_file (plugin_path, &error);
  if (plugin == NULL) {
    g_printerr ("%s: %s\n", plugin_path, error->message);
    return 1;
  }

  markdown = generate (&ref, plugin);
  check_notes_used (&ref);
  if (ref.problems->len > 0) {
    for (i = 0; i < ref.problems->len; i++)
      g_printerr ("%s\n", (gchar *) g_ptr_array_index (ref.problems, i));
    g_printerr ("%u problems: %s not written\n", ref.problems->len, output);
    status = 1;
  } else if (!g_file_set_contents (output, markdown, -1, &error)) {
    g_printerr ("%s\n", error->message);
    g_clear_error (&error);
    status = 1;
  }
  g_free (markdown);
  gst_object_unref (plugin);
  g_key_file_unref (ref.notes);
  gst_deinit ();

done:
  g_ptr_array_unref (ref.problems);
  g_hash_table_unref (ref.notes_used);
  g_hash_table_unref (ref.sources);
  g_free (ref.sources_dir);
  g_free (ref.notes_path);
  g_free (plugin_path);
  g_free (output);
  g_free (troubleshooting);
  return status;
}
