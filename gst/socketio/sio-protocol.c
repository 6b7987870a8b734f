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

#include <string.h>

#include <json-glib/json-glib.h>

#include "sio-protocol.h"

G_DEFINE_QUARK (sio - protocol - error - quark, sio_protocol_error);

/* Ack ids are decimal and must stay exact in a JS number (2^53). */
#define SIO_MAX_ACK_ID_DIGITS 15
/* socket.io-parser caps its digit runs too; three digits cover 10. */
#define SIO_MAX_ATTACHMENT_DIGITS 3

static gboolean
set_malformed (GError ** error, const gchar * what)
{
  g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
      "malformed packet: %s", what);
  return FALSE;
}

gboolean
sio_eio_decode_text (const gchar * message, gsize length, SioEioType * type,
    const gchar ** data, gsize * data_length, GError ** error)
{
  if (length == 0)
    return set_malformed (error, "empty Engine.IO message");

  if (message[0] < '0' || message[0] > '6')
    return set_malformed (error, "unknown Engine.IO packet type");

  *type = (SioEioType) (message[0] - '0');
  *data = message + 1;
  *data_length = length - 1;
  return TRUE;
}

/* The JSON scanner (RFC 8259): one pass, iterative, that checks syntax
 * and UTF-8 and builds nothing. Its stack of open containers holds one bit
 * a level (set for an object); the first 256 levels live in the scanner
 * itself, deeper ones on the heap. Each level took a byte of input, so the
 * stack, doubled as it grows, stays below a quarter of the input. */
typedef enum
{
  SCAN_OK,
  SCAN_INVALID,                 /* not JSON */
  SCAN_NOT_UTF8,
  SCAN_TOO_DEEP,                /* deeper than the caller's limit */
  SCAN_WRONG_TYPE,              /* JSON, but not what the packet needs */
} ScanResult;

#define INLINE_STACK_WORDS 4
#define INLINE_STACK_LEVELS (INLINE_STACK_WORDS * 64)

typedef struct
{
  const guchar *json;
  gsize length;
  gsize pos;
  gsize max_depth;
  /* lone surrogate escapes ("\\ud800"): RFC 8259's grammar allows them,
   * json-glib refuses them */
  gboolean lone_surrogates_ok;
  ScanResult result;
  gsize error_pos;
  guint64 *stack;
  gsize stack_levels;
  guint64 inline_stack[INLINE_STACK_WORDS];
} JsonScanner;

static void
scanner_init (JsonScanner * s, const gchar * json, gsize length,
    gsize max_depth, gboolean lone_surrogates_ok)
{
  s->json = (const guchar *) json;
  s->length = length;
  s->pos = 0;
  s->max_depth = max_depth;
  s->lone_surrogates_ok = lone_surrogates_ok;
  s->result = SCAN_OK;
  s->error_pos = 0;
  s->stack = s->inline_stack;
  s->stack_levels = INLINE_STACK_LEVELS;
}

static void
scanner_clear (JsonScanner * s)
{
  if (s->stack != s->inline_stack)
    g_free (s->stack);
  s->stack = s->inline_stack;
}

/* Length of the well-formed UTF-8 sequence at @p (Unicode table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF), 0 if there is
 * none. */
static guint
utf8_sequence_length (const guchar * p, gsize available)
{
  guchar low = 0x80, high = 0xBF;
  guint length, i;

  if (p[0] >= 0xC2 && p[0] <= 0xDF) {
    length = 2;
  } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
    length = 3;
    if (p[0] == 0xE0)
      low = 0xA0;
    else if (p[0] == 0xED)
      high = 0x9F;
  } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
    length = 4;
    if (p[0] == 0xF0)
      low = 0x90;
    else if (p[0] == 0xF4)
      high = 0x8F;
  } else {
    return 0;
  }
  if (available < length || p[1] < low || p[1] > high)
    return 0;
  for (i = 2; i < length; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  return length;
}

static gboolean
scan_fail (JsonScanner * s, ScanResult result)
{
  /* a byte that starts no UTF-8 sequence is named as such, wherever it is */
  if (result == SCAN_INVALID && s->pos < s->length && s->json[s->pos] >= 0x80
      && utf8_sequence_length (s->json + s->pos, s->length - s->pos) == 0)
    result = SCAN_NOT_UTF8;
  s->result = result;
  s->error_pos = s->pos;
  return FALSE;
}

static void
skip_whitespace (JsonScanner * s)
{
  while (s->pos < s->length && (s->json[s->pos] == ' ' ||
          s->json[s->pos] == '\n' || s->json[s->pos] == '\r' ||
          s->json[s->pos] == '\t'))
    s->pos++;
}

static gint
hex_quad (const guchar * p)
{
  gint value = 0, i;

  for (i = 0; i < 4; i++) {
    gint digit = g_ascii_xdigit_value (p[i]);

    if (digit < 0)
      return -1;
    value = value * 16 + digit;
  }
  return value;
}

static gboolean
is_high_surrogate (gint unit)
{
  return unit >= 0xD800 && unit <= 0xDBFF;
}

static gboolean
is_low_surrogate (gint unit)
{
  return unit >= 0xDC00 && unit <= 0xDFFF;
}

/* The string at s->pos (its opening quote); leaves s->pos past its end. */
static gboolean
scan_string (JsonScanner * s)
{
  const guchar *json = s->json;
  gsize length = s->length, pos = s->pos + 1;

  while (pos < length) {
    guchar c = json[pos];

    if (G_LIKELY (c >= 0x20 && c < 0x80 && c != '"' && c != '\\')) {
      pos++;
    } else if (c == '"') {
      s->pos = pos + 1;
      return TRUE;
    } else if (c >= 0x80) {
      guint n = utf8_sequence_length (json + pos, length - pos);

      if (n == 0) {
        s->pos = pos;
        return scan_fail (s, SCAN_NOT_UTF8);
      }
      pos += n;
    } else if (c == '\\' && pos + 1 < length) {
      c = json[pos + 1];
      if (c == 'u') {
        gint unit = length - pos >= 6 ? hex_quad (json + pos + 2) : -1;

        if (unit < 0)
          break;
        pos += 6;
        if (!s->lone_surrogates_ok && (is_high_surrogate (unit) ||
                is_low_surrogate (unit))) {
          /* only a high surrogate followed by a low one */
          if (is_low_surrogate (unit) || length - pos < 6 ||
              json[pos] != '\\' || json[pos + 1] != 'u' ||
              !is_low_surrogate (hex_quad (json + pos + 2))) {
            s->pos = pos - 6;
            return scan_fail (s, SCAN_INVALID);
          }
          pos += 6;
        }
      } else if (c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' ||
          c == 'n' || c == 'r' || c == 't') {
        pos += 2;
      } else {
        break;
      }
    } else {
      break;                    /* a control character, or a cut escape */
    }
  }
  s->pos = pos;
  return scan_fail (s, SCAN_INVALID);
}

static gboolean
scan_digits (JsonScanner * s)
{
  gsize start = s->pos;

  while (s->pos < s->length && g_ascii_isdigit (s->json[s->pos]))
    s->pos++;
  return s->pos > start || scan_fail (s, SCAN_INVALID);
}

static gboolean
scan_number (JsonScanner * s)
{
  if (s->json[s->pos] == '-')
    s->pos++;
  if (s->pos < s->length && s->json[s->pos] == '0')
    s->pos++;
  else if (!scan_digits (s))
    return FALSE;
  if (s->pos < s->length && s->json[s->pos] == '.') {
    s->pos++;
    if (!scan_digits (s))
      return FALSE;
  }
  if (s->pos < s->length && (s->json[s->pos] == 'e' || s->json[s->pos] == 'E')) {
    s->pos++;
    if (s->pos < s->length && (s->json[s->pos] == '+' ||
            s->json[s->pos] == '-'))
      s->pos++;
    if (!scan_digits (s))
      return FALSE;
  }
  return TRUE;
}

static gboolean
scan_literal (JsonScanner * s, const gchar * literal)
{
  gsize n = strlen (literal);

  if (s->length - s->pos < n || memcmp (s->json + s->pos, literal, n) != 0)
    return scan_fail (s, SCAN_INVALID);
  s->pos += n;
  return TRUE;
}

/* A string, number or literal at s->pos. */
static gboolean
scan_scalar (JsonScanner * s)
{
  switch (s->json[s->pos]) {
    case '"':
      return scan_string (s);
    case 't':
      return scan_literal (s, "true");
    case 'f':
      return scan_literal (s, "false");
    case 'n':
      return scan_literal (s, "null");
    default:
      if (s->json[s->pos] == '-' || g_ascii_isdigit (s->json[s->pos]))
        return scan_number (s);
      return scan_fail (s, SCAN_INVALID);
  }
}

/* An object member's key and its ':' */
static gboolean
scan_key (JsonScanner * s)
{
  skip_whitespace (s);
  if (s->pos >= s->length || s->json[s->pos] != '"')
    return scan_fail (s, SCAN_INVALID);
  if (!scan_string (s))
    return FALSE;
  skip_whitespace (s);
  if (s->pos >= s->length || s->json[s->pos] != ':')
    return scan_fail (s, SCAN_INVALID);
  s->pos++;
  return TRUE;
}

static gboolean
push_container (JsonScanner * s, gsize depth, gboolean is_object)
{
  guint64 bit;

  if (depth >= s->max_depth)
    return scan_fail (s, SCAN_TOO_DEEP);
  if (depth == s->stack_levels) {
    gsize words = s->stack_levels / 64;

    /* doubling keeps the growth linear */
    if (s->stack == s->inline_stack) {
      s->stack = g_new (guint64, words * 2);
      memcpy (s->stack, s->inline_stack, sizeof (s->inline_stack));
    } else {
      s->stack = g_renew (guint64, s->stack, words * 2);
    }
    s->stack_levels *= 2;
  }
  bit = G_GUINT64_CONSTANT (1) << (depth % 64);
  if (is_object)
    s->stack[depth / 64] |= bit;
  else
    s->stack[depth / 64] &= ~bit;
  return TRUE;
}

static gboolean
container_is_object (JsonScanner * s, gsize depth)
{
  return (s->stack[depth / 64] >> (depth % 64)) & 1;
}

/* One whole value after optional whitespace; leaves s->pos past it. */
static gboolean
scan_value (JsonScanner * s)
{
  gsize depth = 0;

  while (TRUE) {
    guchar c;

    skip_whitespace (s);
    if (s->pos >= s->length)
      return scan_fail (s, SCAN_INVALID);
    c = s->json[s->pos];
    if (c == '[' || c == '{') {
      if (!push_container (s, depth, c == '{'))
        return FALSE;
      depth++;
      s->pos++;
      skip_whitespace (s);
      if (s->pos < s->length && s->json[s->pos] == (c == '[' ? ']' : '}')) {
        depth--;
        s->pos++;
      } else {
        if (c == '{' && !scan_key (s))
          return FALSE;
        continue;               /* to the container's first value */
      }
    } else if (!scan_scalar (s)) {
      return FALSE;
    }

    /* after a value: close every container it ends, then the next value */
    while (depth > 0) {
      gboolean in_object = container_is_object (s, depth - 1);

      skip_whitespace (s);
      if (s->pos >= s->length)
        return scan_fail (s, SCAN_INVALID);
      c = s->json[s->pos];
      if (c == ',') {
        s->pos++;
        if (in_object && !scan_key (s))
          return FALSE;
        break;
      }
      if (c != (in_object ? '}' : ']'))
        return scan_fail (s, SCAN_INVALID);
      s->pos++;
      depth--;
    }
    if (depth == 0)
      return TRUE;
  }
}

/* The whole input is one value and whitespace; the value is at
 * [@start, @end). */
static gboolean
scan_document (JsonScanner * s, gsize * start, gsize * end)
{
  skip_whitespace (s);
  *start = s->pos;
  if (!scan_value (s))
    return FALSE;
  *end = s->pos;
  skip_whitespace (s);
  return s->pos == s->length || scan_fail (s, SCAN_INVALID);
}

/* Not the JSON the packet needs: either valid JSON of the wrong kind, or
 * not JSON at all, which the error then says. */
static gboolean
scan_fail_wrong_type (JsonScanner * s)
{
  gsize start, end;

  s->pos = 0;
  if (!scan_document (s, &start, &end))
    return FALSE;
  s->pos = start;
  return scan_fail (s, SCAN_WRONG_TYPE);
}

/* Where the parts of an event or ack array are. */
typedef struct
{
  gsize name_start, name_end;   /* the name's JSON text */
  gsize args_start, args_end;   /* between the name's ',' and the ']' */
} ArrayParts;

/* The whole input is one array and whitespace; with @named, an event
 * whose first element, a string or a number, is its name. */
static gboolean
scan_packet_array (JsonScanner * s, gboolean named, ArrayParts * parts)
{
  gboolean element_due = FALSE;

  skip_whitespace (s);
  if (s->pos >= s->length || s->json[s->pos] != '[')
    return scan_fail_wrong_type (s);
  s->pos++;

  if (named) {
    skip_whitespace (s);
    parts->name_start = s->pos;
    if (s->pos >= s->length)
      return scan_fail (s, SCAN_INVALID);
    if (s->json[s->pos] != '"' && s->json[s->pos] != '-' &&
        !g_ascii_isdigit (s->json[s->pos]))
      return scan_fail_wrong_type (s);
    if (!scan_scalar (s))
      return FALSE;
    parts->name_end = s->pos;
    skip_whitespace (s);
    if (s->pos < s->length && s->json[s->pos] == ',') {
      s->pos++;
      element_due = TRUE;
    } else if (s->pos < s->length && s->json[s->pos] != ']') {
      return scan_fail (s, SCAN_INVALID);
    }
  }

  parts->args_start = s->pos;
  skip_whitespace (s);
  if (element_due || (s->pos < s->length && s->json[s->pos] != ']')) {
    while (TRUE) {
      if (!scan_value (s))
        return FALSE;
      skip_whitespace (s);
      if (s->pos >= s->length || (s->json[s->pos] != ',' &&
              s->json[s->pos] != ']'))
        return scan_fail (s, SCAN_INVALID);
      if (s->json[s->pos] == ']')
        break;
      s->pos++;
    }
  }
  if (s->pos >= s->length)
    return scan_fail (s, SCAN_INVALID);
  parts->args_end = s->pos;
  s->pos++;
  skip_whitespace (s);
  return s->pos == s->length || scan_fail (s, SCAN_INVALID);
}

static gboolean
set_scan_error (GError ** error, const JsonScanner * s)
{
  switch (s->result) {
    case SCAN_NOT_UTF8:
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
          "malformed packet: JSON is not valid UTF-8 (byte %" G_GSIZE_FORMAT
          ")", s->error_pos);
      break;
    case SCAN_TOO_DEEP:
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
          "malformed packet: JSON nested deeper than %d levels",
          SIO_MAX_JSON_DEPTH);
      break;
    case SCAN_WRONG_TYPE:
      set_malformed (error, "payload does not fit the packet type");
      break;
    default:
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
          "malformed packet: invalid JSON at byte %" G_GSIZE_FORMAT,
          s->error_pos);
      break;
  }
  return FALSE;
}

/* For json-glib only, which parses recursively, rejects lone surrogates,
 * and (1.6) leaks the nodes it built when it rejects input: all checked
 * first. */
static JsonNode *
parse_json (const gchar * json, gsize length, GError ** error)
{
  JsonScanner scanner;
  JsonParser *parser;
  JsonNode *root = NULL;
  GError *parse_error = NULL;
  gsize start, end;
  gboolean valid;

  if (length > G_MAXSSIZE) {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_TOO_LARGE,
        "JSON payload too large");
    return NULL;
  }

  scanner_init (&scanner, json, length, SIO_MAX_JSON_DEPTH, FALSE);
  valid = scan_document (&scanner, &start, &end);
  scanner_clear (&scanner);
  if (!valid) {
    set_scan_error (error, &scanner);
    return NULL;
  }

  parser = json_parser_new_immutable ();
  if (json_parser_load_from_data (parser, json, (gssize) length, &parse_error)) {
    root = json_parser_steal_root (parser);
    if (root == NULL)
      set_malformed (error, "empty JSON payload");
  } else {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
        "malformed packet: json-glib rejected checked JSON: %s",
        parse_error->message);
    g_clear_error (&parse_error);
  }
  g_object_unref (parser);
  return root;
}

/* Appends @c as UTF-8 to @out, U+FFFD for what a C string cannot hold. */
static gchar *
append_unichar (gchar * out, gunichar c)
{
  if (c == 0 || (c >= 0xD800 && c <= 0xDFFF))
    c = 0xFFFD;
  return out + g_unichar_to_utf8 (c, out);
}

/* The text of a JSON string the scanner accepted, @json its quotes
 * included. Never longer than its JSON: every escape shrinks or stays. */
static gchar *
decode_json_string (const gchar * json, gsize length)
{
  const guchar *p = (const guchar *) json;
  gchar *text = g_malloc (length), *out = text;
  gsize pos = 1;

  while (pos < length - 1) {
    gunichar unit;

    if (json[pos] != '\\') {
      *out++ = json[pos++];
      continue;
    }
    switch (json[pos + 1]) {
      case 'b':
        *out++ = '\b';
        break;
      case 'f':
        *out++ = '\f';
        break;
      case 'n':
        *out++ = '\n';
        break;
      case 'r':
        *out++ = '\r';
        break;
      case 't':
        *out++ = '\t';
        break;
      case 'u':
        unit = hex_quad (p + pos + 2);
        pos += 6;
        /* a surrogate pair is one character; a lone half is U+FFFD */
        if (is_high_surrogate (unit) && pos + 6 < length &&
            json[pos] == '\\' && json[pos + 1] == 'u' &&
            is_low_surrogate (hex_quad (p + pos + 2))) {
          unit = 0x10000 + ((unit - 0xD800) << 10) +
              (hex_quad (p + pos + 2) - 0xDC00);
          pos += 6;
        }
        out = append_unichar (out, unit);
        continue;
      default:                 /* '"', '\\' and '/' stand for themselves */
        *out++ = json[pos + 1];
        break;
    }
    pos += 2;
  }
  *out = '\0';
  return text;
}

static gboolean
read_uint_member (JsonObject * object, const gchar * name, gboolean required,
    guint64 max, guint64 * value, GError ** error)
{
  JsonNode *node = json_object_get_member (object, name);
  gdouble number;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node)) {
    if (required) {
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
          "malformed packet: open packet has no \"%s\"", name);
      return FALSE;
    }
    *value = 0;
    return TRUE;
  }

  if (!JSON_NODE_HOLDS_VALUE (node) ||
      (json_node_get_value_type (node) != G_TYPE_INT64 &&
          json_node_get_value_type (node) != G_TYPE_DOUBLE)) {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
        "malformed packet: \"%s\" is not a number", name);
    return FALSE;
  }

  number = json_node_get_double (node);
  if (!(number >= 0 && number <= (gdouble) max)) {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
        "malformed packet: \"%s\" is out of range", name);
    return FALSE;
  }
  *value = (guint64) number;
  return TRUE;
}

gboolean
sio_eio_parse_open (const gchar * data, gsize length, SioEioOpen * open,
    GError ** error)
{
  JsonNode *root;
  JsonObject *object;
  JsonNode *sid, *upgrades;
  guint64 interval, timeout, max_payload;
  gboolean ok = FALSE;

  memset (open, 0, sizeof (*open));

  root = parse_json (data, length, error);
  if (root == NULL)
    return FALSE;

  if (!JSON_NODE_HOLDS_OBJECT (root)) {
    set_malformed (error, "open packet is not a JSON object");
    goto done;
  }
  object = json_node_get_object (root);

  sid = json_object_get_member (object, "sid");
  if (sid == NULL || !JSON_NODE_HOLDS_VALUE (sid) ||
      json_node_get_value_type (sid) != G_TYPE_STRING) {
    set_malformed (error, "open packet has no string \"sid\"");
    goto done;
  }

  /* A day is far beyond any real ping setting and keeps the
   * millisecond arithmetic of callers far from overflow. */
  if (!read_uint_member (object, "pingInterval", TRUE, 86400000, &interval,
          error) ||
      !read_uint_member (object, "pingTimeout", TRUE, 86400000, &timeout,
          error) ||
      !read_uint_member (object, "maxPayload", FALSE, G_MAXINT64,
          &max_payload, error))
    goto done;

  open->sid = g_strdup (json_node_get_string (sid));
  open->ping_interval_ms = (guint) interval;
  open->ping_timeout_ms = (guint) timeout;
  open->max_payload = max_payload;
  /* which transports the session may move to; anything odd means none */
  upgrades = json_object_get_member (object, "upgrades");
  if (upgrades && JSON_NODE_HOLDS_ARRAY (upgrades)) {
    JsonArray *array = json_node_get_array (upgrades);
    guint i;

    for (i = 0; i < json_array_get_length (array); i++) {
      JsonNode *item = json_array_get_element (array, i);

      if (JSON_NODE_HOLDS_VALUE (item) &&
          json_node_get_value_type (item) == G_TYPE_STRING &&
          g_strcmp0 (json_node_get_string (item), "websocket") == 0)
        open->upgrade_websocket = TRUE;
    }
  }
  ok = TRUE;

done:
  json_node_unref (root);
  return ok;
}

void
sio_eio_open_clear (SioEioOpen * open)
{
  g_clear_pointer (&open->sid, g_free);
}

/* What sio_namespace_is_valid() says of @length bytes at @nsp. */
static const gchar *
namespace_problem (const gchar * nsp, gsize length)
{
  gsize i;

  if (length == 0 || nsp[0] != '/')
    return "invalid namespace";
  for (i = 0; i < length; i++)
    if (nsp[i] == ',' || (guchar) nsp[i] < 0x20)
      return "invalid namespace";
  if (!g_utf8_validate_len (nsp, length, NULL))
    return "namespace is not valid UTF-8";
  return NULL;
}

/* "[/nsp,][<ack id>]" from @pos: what sio_packet_decode() and
 * sio_packet_peek_ack() read alike. The namespace is NULL if absent. */
static const gchar *
parse_namespace_and_id (const gchar * data, gsize length, gsize * pos,
    const gchar ** nsp, gsize * nsp_length, gint64 * ack_id)
{
  *nsp = NULL;
  *nsp_length = 0;
  *ack_id = -1;

  if (*pos < length && data[*pos] == '/') {
    const gchar *end = memchr (data + *pos, ',', length - *pos);
    const gchar *problem;

    *nsp = data + *pos;
    /* socket.io-parser also reads a namespace that ends the packet */
    *nsp_length = end ? (gsize) (end - *nsp) : length - *pos;
    problem = namespace_problem (*nsp, *nsp_length);
    if (problem != NULL)
      return problem;
    *pos += *nsp_length + (end ? 1 : 0);
  }

  if (*pos < length && g_ascii_isdigit (data[*pos])) {
    /* in locals: the pointers could alias @data, every ack goes here */
    gsize start = *pos, at = start;
    gint64 id = 0;

    while (at < length && g_ascii_isdigit (data[at])) {
      if (at - start >= SIO_MAX_ACK_ID_DIGITS)
        return "ack id too long";
      id = id * 10 + (data[at] - '0');
      at++;
    }
    *pos = at;
    *ack_id = id;
  }
  return NULL;
}

/* The control payloads: CONNECT (an object or nothing), DISCONNECT
 * (nothing), CONNECT_ERROR (an object or a string). */
static gboolean
decode_control_payload (const gchar * json, gsize length, SioPacket * packet,
    GError ** error)
{
  JsonScanner scanner;
  gsize start, end;
  gboolean valid, fits;

  if (length == 0) {
    fits = packet->type != SIO_PACKET_CONNECT_ERROR;
  } else if (packet->type == SIO_PACKET_DISCONNECT) {
    fits = FALSE;
  } else {
    scanner_init (&scanner, json, length, G_MAXSIZE, TRUE);
    valid = scan_document (&scanner, &start, &end);
    scanner_clear (&scanner);
    if (!valid)
      return set_scan_error (error, &scanner);
    fits = json[start] == '{' || (json[start] == '"' &&
        packet->type == SIO_PACKET_CONNECT_ERROR);
    packet->json = json + start;
    packet->json_length = end - start;
  }
  if (!fits)
    return set_malformed (error, "payload does not fit the packet type");
  return TRUE;
}

/* EVENT, BINARY_EVENT, ACK and BINARY_ACK: an array, named for events. */
static gboolean
decode_array_payload (const gchar * json, gsize length, SioPacket * packet,
    GError ** error)
{
  gboolean named = packet->type == SIO_PACKET_EVENT ||
      packet->type == SIO_PACKET_BINARY_EVENT;
  JsonScanner scanner;
  ArrayParts parts;
  gboolean valid;

  if (length == 0)
    return set_malformed (error, "payload does not fit the packet type");
  scanner_init (&scanner, json, length, G_MAXSIZE, TRUE);
  valid = scan_packet_array (&scanner, named, &parts);
  scanner_clear (&scanner);
  if (!valid)
    return set_scan_error (error, &scanner);

  if (named) {
    if (json[parts.name_start] == '"')
      packet->event_name = decode_json_string (json + parts.name_start,
          parts.name_end - parts.name_start);
    else
      packet->event_name = g_strndup (json + parts.name_start,
          parts.name_end - parts.name_start);
  }
  packet->args = json + parts.args_start;
  packet->args_length = parts.args_end - parts.args_start;
  return TRUE;
}

gboolean
sio_packet_decode (const gchar * data, gsize length, SioPacket * packet,
    GError ** error)
{
  const gchar *nsp, *problem;
  gsize pos = 0, nsp_length;
  gboolean ok;

  memset (packet, 0, sizeof (*packet));
  packet->ack_id = -1;

  if (length == 0)
    return set_malformed (error, "empty Socket.IO packet");
  if (data[0] < '0' || data[0] > '6')
    return set_malformed (error, "unknown Socket.IO packet type");
  packet->type = (SioPacketType) (data[0] - '0');
  pos = 1;

  if (packet->type == SIO_PACKET_BINARY_EVENT ||
      packet->type == SIO_PACKET_BINARY_ACK) {
    guint count = 0;
    gsize start = pos;

    while (pos < length && g_ascii_isdigit (data[pos])) {
      if (pos - start >= SIO_MAX_ATTACHMENT_DIGITS)
        return set_malformed (error, "attachment count too long");
      count = count * 10 + (guint) (data[pos] - '0');
      pos++;
    }
    if (pos == start || pos >= length || data[pos] != '-')
      return set_malformed (error, "binary packet without attachment count");
    pos++;
    if (count > SIO_MAX_ATTACHMENTS) {
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_TOO_LARGE,
          "binary packet announces %u attachments, at most %d are allowed",
          count, SIO_MAX_ATTACHMENTS);
      return FALSE;
    }
    packet->attachments = count;
  }

  problem = parse_namespace_and_id (data, length, &pos, &nsp, &nsp_length,
      &packet->ack_id);
  if (problem != NULL)
    return set_malformed (error, problem);

  switch (packet->type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
      ok = decode_array_payload (data + pos, length - pos, packet, error);
      break;
    default:
      ok = decode_control_payload (data + pos, length - pos, packet, error);
      break;
  }
  if (ok && (packet->type == SIO_PACKET_ACK ||
          packet->type == SIO_PACKET_BINARY_ACK) && packet->ack_id < 0)
    ok = set_malformed (error, "ack without an id");
  if (!ok) {
    sio_packet_clear (packet);
    return FALSE;
  }
  packet->nsp = nsp ? g_strndup (nsp, nsp_length) : g_strdup ("/");
  return TRUE;
}

void
sio_packet_detach (SioPacket * packet)
{
  gchar *text;

  if (packet->own_text != NULL)
    return;
  text = g_malloc (packet->args_length + packet->json_length + 1);
  if (packet->args_length > 0)
    memcpy (text, packet->args, packet->args_length);
  if (packet->json_length > 0)
    memcpy (text + packet->args_length, packet->json, packet->json_length);
  if (packet->args != NULL)
    packet->args = text;
  if (packet->json != NULL)
    packet->json = text + packet->args_length;
  packet->own_text = text;
}

gboolean
sio_packet_peek_ack (const gchar * data, gsize length, const gchar ** nsp,
    gsize * nsp_length, gint64 * ack_id)
{
  JsonScanner scanner;
  ArrayParts parts;
  gsize pos = 1;
  gint64 id;
  gboolean valid;

  if (length < 3 || data[0] != '0' + SIO_PACKET_ACK)
    return FALSE;
  if (parse_namespace_and_id (data, length, &pos, nsp, nsp_length,
          &id) != NULL || id < 0)
    return FALSE;

  /* no heap: deeper arguments are left to sio_packet_decode() */
  scanner_init (&scanner, data + pos, length - pos, INLINE_STACK_LEVELS, TRUE);
  valid = scan_packet_array (&scanner, FALSE, &parts);
  scanner_clear (&scanner);
  if (!valid)
    return FALSE;

  if (*nsp == NULL) {
    *nsp = "/";
    *nsp_length = 1;
  }
  *ack_id = id;
  return TRUE;
}

void
sio_packet_clear (SioPacket * packet)
{
  g_clear_pointer (&packet->nsp, g_free);
  g_clear_pointer (&packet->event_name, g_free);
  g_clear_pointer (&packet->own_text, g_free);
  packet->args = packet->json = NULL;
  packet->args_length = packet->json_length = 0;
}

gsize
sio_format_uint64 (gchar * dest, guint64 value)
{
  static const gchar pairs[] =
      "00010203040506070809101112131415161718192021222324252627282930313233"
      "34353637383940414243444546474849505152535455565758596061626364656667"
      "6869707172737475767778798081828384858687888990919293949596979899";
  gchar digits[SIO_UINT64_DIGITS];
  gsize n = sizeof (digits);
  guint32 small;

  /* the digits from the end, two at a time: printf's machinery costs ten
   * times this, and every emit formats several numbers (a pts has 13) */
  while (value > G_MAXUINT32) {
    guint r = value % 100;

    value /= 100;
    n -= 2;
    memcpy (digits + n, pairs + 2 * r, 2);
  }
  /* the rest in 32 bits, whose division is cheaper */
  small = (guint32) value;
  while (small >= 100) {
    guint r = small % 100;

    small /= 100;
    n -= 2;
    memcpy (digits + n, pairs + 2 * r, 2);
  }
  if (small >= 10) {
    n -= 2;
    memcpy (digits + n, pairs + 2 * small, 2);
  } else {
    digits[--n] = '0' + small;
  }
  memcpy (dest, digits + n, sizeof (digits) - n);
  return sizeof (digits) - n;
}

void
sio_append_uint64 (GString * out, guint64 value)
{
  gchar digits[SIO_UINT64_DIGITS];

  g_string_append_len (out, digits, sio_format_uint64 (digits, value));
}

void
sio_packet_encode (GString * out, SioPacketType type, const gchar * nsp,
    guint attachments, gint64 ack_id, const gchar * json_data)
{
  gboolean named = nsp != NULL && strcmp (nsp, "/") != 0;
  gsize nsp_length = named ? strlen (nsp) : 0;
  gsize json_length = json_data ? strlen (json_data) : 0;
  gsize start = out->len;
  gchar *p;

  /* once per emit: one resize to the most it can take, then plain
   * stores (GString's appends cost more than the packet's bytes) */
  g_string_set_size (out, start + 2 + 2 * SIO_UINT64_DIGITS + 2 +
      nsp_length + json_length);
  p = out->str + start;
  *p++ = '0' + SIO_EIO_MESSAGE;
  *p++ = '0' + type;
  if (type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK) {
    p += sio_format_uint64 (p, attachments);
    *p++ = '-';
  }
  if (named) {
    memcpy (p, nsp, nsp_length);
    p += nsp_length;
    *p++ = ',';
  }
  if (ack_id >= 0)
    p += sio_format_uint64 (p, ack_id);
  memcpy (p, json_data ? json_data : "", json_length);
  p += json_length;
  g_string_truncate (out, p - out->str);
}

void
sio_json_append_string (GString * out, const gchar * str)
{
  const gchar *p;

  g_string_append_c (out, '"');
  for (p = str; *p != '\0'; p++) {
    guchar c = (guchar) * p;

    switch (c) {
      case '"':
        g_string_append (out, "\\\"");
        break;
      case '\\':
        g_string_append (out, "\\\\");
        break;
      case '\n':
        g_string_append (out, "\\n");
        break;
      case '\r':
        g_string_append (out, "\\r");
        break;
      case '\t':
        g_string_append (out, "\\t");
        break;
      default:
        if (c < 0x20)
          g_string_append_printf (out, "\\u%04x", c);
        else
          g_string_append_c (out, (gchar) c);
        break;
    }
  }
  g_string_append_c (out, '"');
}

const gchar *
sio_packet_get_event_name (const SioPacket * packet)
{
  return packet->event_name;
}

gchar *
sio_packet_dup_args_json (const SioPacket * packet)
{
  gchar *text = g_malloc (packet->args_length + 3);

  text[0] = '[';
  if (packet->args_length > 0)
    memcpy (text + 1, packet->args, packet->args_length);
  text[packet->args_length + 1] = ']';
  text[packet->args_length + 2] = '\0';
  return text;
}

gchar *
sio_packet_dup_error_message (const SioPacket * packet)
{
  JsonNode *root;
  gchar *message = NULL;

  if (packet->json == NULL)
    return g_strdup ("");
  if (packet->json[0] == '"')
    return decode_json_string (packet->json, packet->json_length);

  /* too deep or odd for json-glib: the text will do */
  root = parse_json (packet->json, packet->json_length, NULL);
  if (root != NULL && JSON_NODE_HOLDS_OBJECT (root)) {
    JsonNode *member = json_object_get_member (json_node_get_object (root),
        "message");

    if (member != NULL && JSON_NODE_HOLDS_VALUE (member) &&
        json_node_get_value_type (member) == G_TYPE_STRING)
      message = g_strdup (json_node_get_string (member));
  }
  g_clear_pointer (&root, json_node_unref);
  return message ? message : g_strndup (packet->json, packet->json_length);
}

gboolean
sio_namespace_is_valid (const gchar * nsp)
{
  return nsp != NULL && namespace_problem (nsp, strlen (nsp)) == NULL;
}

gboolean
sio_json_is_object (const gchar * json, GError ** error)
{
  JsonScanner scanner;
  gsize start, end;
  gboolean valid;

  scanner_init (&scanner, json, strlen (json), G_MAXSIZE, TRUE);
  valid = scan_document (&scanner, &start, &end);
  scanner_clear (&scanner);
  if (!valid)
    return set_scan_error (error, &scanner);
  if (json[start] != '{') {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
        "not a JSON object");
    return FALSE;
  }
  return TRUE;
}

/* The error of a scan over the application's own JSON: where it goes
 * wrong, not "malformed packet". */
static gboolean
set_argument_error (GError ** error, const JsonScanner * s)
{
  g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
      s->result == SCAN_NOT_UTF8 ? "not valid UTF-8 (byte %" G_GSIZE_FORMAT
      ")" : "not valid JSON (byte %" G_GSIZE_FORMAT ")", s->error_pos);
  return FALSE;
}

gchar *
sio_event_build_args (const gchar * name, const gchar * args_json,
    gboolean with_attachment, GError ** error)
{
  JsonScanner scanner;
  ArrayParts parts;
  GString *out;
  gsize length = args_json ? strlen (args_json) : 0;
  gsize start = 0, end = 0, i;
  gboolean valid = TRUE, is_array;

  /* a document of whitespace only is no arguments */
  for (i = 0; i < length && g_ascii_isspace (args_json[i]); i++);
  is_array = i < length && args_json[i] == '[';
  if (i < length) {
    scanner_init (&scanner, args_json, length, G_MAXSIZE, TRUE);
    if (is_array) {
      valid = scan_packet_array (&scanner, FALSE, &parts);
      start = parts.args_start;
      end = parts.args_end;
    } else {
      valid = scan_document (&scanner, &start, &end);
    }
    scanner_clear (&scanner);
    if (!valid) {
      set_argument_error (error, &scanner);
      return NULL;
    }
  }

  out = g_string_sized_new (length + 64);
  g_string_append_c (out, '[');
  sio_json_append_string (out, name);
  /* an empty array's inside is whitespace */
  for (i = start; i < end && g_ascii_isspace (args_json[i]); i++);
  if (i < end) {
    g_string_append_c (out, ',');
    g_string_append_len (out, args_json + start, end - start);
  }
  if (with_attachment)
    g_string_append (out, ",{\"_placeholder\":true,\"num\":0}");
  g_string_append_c (out, ']');
  return g_string_free (out, FALSE);
}
