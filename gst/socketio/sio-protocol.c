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

/* JSON syntax check (RFC 8259) before json-glib sees the text: json-glib
 * parses recursively, so deep nesting could exhaust the network thread's
 * stack, and json-glib 1.6 leaks the nodes it built when it rejects
 * input. Iterative, with the nesting depth capped. */
typedef enum
{
  EXPECT_VALUE,
  EXPECT_VALUE_OR_CLOSE,        /* after '[' */
  EXPECT_KEY,                   /* after ',' in an object */
  EXPECT_KEY_OR_CLOSE,          /* after '{' */
  AFTER_VALUE,
} JsonScanState;

static void
skip_whitespace (const gchar * json, gsize length, gsize * pos)
{
  while (*pos < length && (json[*pos] == ' ' || json[*pos] == '\t' ||
          json[*pos] == '\n' || json[*pos] == '\r'))
    (*pos)++;
}

static gint
hex_quad (const gchar * json, gsize length, gsize pos)
{
  gint value = 0, i;

  if (length - pos < 4)
    return -1;
  for (i = 0; i < 4; i++) {
    gint digit = g_ascii_xdigit_value (json[pos + i]);

    if (digit < 0)
      return -1;
    value = value * 16 + digit;
  }
  return value;
}

/* @pos is just past the opening quote; leaves it past the closing one. */
static gboolean
scan_string (const gchar * json, gsize length, gsize * pos)
{
  while (*pos < length) {
    guchar c = (guchar) json[(*pos)++];

    if (c == '"')
      return TRUE;
    if (c < 0x20)
      return FALSE;
    if (c != '\\')
      continue;
    if (*pos >= length)
      return FALSE;
    c = (guchar) json[(*pos)++];
    if (c == 'u') {
      gint unit = hex_quad (json, length, *pos);

      if (unit < 0 || (unit >= 0xDC00 && unit <= 0xDFFF))
        return FALSE;
      *pos += 4;
      if (unit >= 0xD800 && unit <= 0xDBFF) {
        /* a high surrogate must be followed by a low one */
        if (length - *pos < 6 || json[*pos] != '\\' || json[*pos + 1] != 'u')
          return FALSE;
        unit = hex_quad (json, length, *pos + 2);
        if (unit < 0xDC00 || unit > 0xDFFF)
          return FALSE;
        *pos += 6;
      }
    } else if (!strchr ("\"\\/bfnrt", c) || c == '\0') {
      return FALSE;
    }
  }
  return FALSE;
}

static gboolean
scan_digits (const gchar * json, gsize length, gsize * pos)
{
  gsize start = *pos;

  while (*pos < length && g_ascii_isdigit (json[*pos]))
    (*pos)++;
  return *pos > start;
}

static gboolean
scan_number (const gchar * json, gsize length, gsize * pos)
{
  if (json[*pos] == '-')
    (*pos)++;
  if (*pos < length && json[*pos] == '0')
    (*pos)++;
  else if (!scan_digits (json, length, pos))
    return FALSE;
  if (*pos < length && json[*pos] == '.') {
    (*pos)++;
    if (!scan_digits (json, length, pos))
      return FALSE;
  }
  if (*pos < length && (json[*pos] == 'e' || json[*pos] == 'E')) {
    (*pos)++;
    if (*pos < length && (json[*pos] == '+' || json[*pos] == '-'))
      (*pos)++;
    if (!scan_digits (json, length, pos))
      return FALSE;
  }
  return TRUE;
}

static gboolean
scan_literal (const gchar * json, gsize length, gsize * pos,
    const gchar * literal)
{
  gsize n = strlen (literal);

  if (length - *pos < n || memcmp (json + *pos, literal, n) != 0)
    return FALSE;
  *pos += n;
  return TRUE;
}

static gboolean
json_syntax_is_valid (const gchar * json, gsize length, gboolean * too_deep)
{
  gchar stack[SIO_MAX_JSON_DEPTH];
  guint depth = 0;
  gsize pos = 0;
  JsonScanState state = EXPECT_VALUE;

  *too_deep = FALSE;
  while (TRUE) {
    gchar c;

    skip_whitespace (json, length, &pos);
    if (state == AFTER_VALUE && depth == 0)
      return pos == length;
    if (pos >= length)
      return FALSE;
    c = json[pos];

    switch (state) {
      case EXPECT_VALUE:
      case EXPECT_VALUE_OR_CLOSE:
        if (c == ']' && state == EXPECT_VALUE_OR_CLOSE) {
          depth--;
          pos++;
          state = AFTER_VALUE;
        } else if (c == '[' || c == '{') {
          if (depth == SIO_MAX_JSON_DEPTH) {
            *too_deep = TRUE;
            return FALSE;
          }
          stack[depth++] = c;
          pos++;
          state = c == '[' ? EXPECT_VALUE_OR_CLOSE : EXPECT_KEY_OR_CLOSE;
        } else {
          gboolean ok;

          if (c == '"') {
            pos++;
            ok = scan_string (json, length, &pos);
          } else if (c == '-' || g_ascii_isdigit (c)) {
            ok = scan_number (json, length, &pos);
          } else {
            ok = scan_literal (json, length, &pos, "true") ||
                scan_literal (json, length, &pos, "false") ||
                scan_literal (json, length, &pos, "null");
          }
          if (!ok)
            return FALSE;
          state = AFTER_VALUE;
        }
        break;
      case EXPECT_KEY:
      case EXPECT_KEY_OR_CLOSE:
        if (c == '}' && state == EXPECT_KEY_OR_CLOSE) {
          depth--;
          pos++;
          state = AFTER_VALUE;
          break;
        }
        if (c != '"')
          return FALSE;
        pos++;
        if (!scan_string (json, length, &pos))
          return FALSE;
        skip_whitespace (json, length, &pos);
        if (pos >= length || json[pos] != ':')
          return FALSE;
        pos++;
        state = EXPECT_VALUE;
        break;
      case AFTER_VALUE:
        if (c == ',') {
          state = stack[depth - 1] == '{' ? EXPECT_KEY : EXPECT_VALUE;
        } else if ((c == ']' && stack[depth - 1] == '[') ||
            (c == '}' && stack[depth - 1] == '{')) {
          depth--;
          state = AFTER_VALUE;
        } else {
          return FALSE;
        }
        pos++;
        break;
    }
  }
}

static JsonNode *
parse_json (const gchar * json, gsize length, GError ** error)
{
  JsonParser *parser;
  JsonNode *root = NULL;
  GError *parse_error = NULL;
  gboolean too_deep;

  if (length > G_MAXSSIZE) {
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_TOO_LARGE,
        "JSON payload too large");
    return NULL;
  }

  if (!g_utf8_validate_len (json, length, NULL)) {
    set_malformed (error, "JSON is not valid UTF-8");
    return NULL;
  }

  if (!json_syntax_is_valid (json, length, &too_deep)) {
    if (too_deep)
      g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
          "malformed packet: JSON nested deeper than %d levels",
          SIO_MAX_JSON_DEPTH);
    else
      set_malformed (error, "invalid JSON");
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
  JsonNode *sid;
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

static gboolean
payload_is_valid (SioPacketType type, JsonNode * data)
{
  switch (type) {
    case SIO_PACKET_CONNECT:
      return data == NULL || JSON_NODE_HOLDS_OBJECT (data);
    case SIO_PACKET_DISCONNECT:
      return data == NULL;
    case SIO_PACKET_CONNECT_ERROR:
      return data != NULL && (JSON_NODE_HOLDS_OBJECT (data) ||
          (JSON_NODE_HOLDS_VALUE (data) &&
              json_node_get_value_type (data) == G_TYPE_STRING));
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:{
      JsonArray *array;
      JsonNode *first;

      if (data == NULL || !JSON_NODE_HOLDS_ARRAY (data))
        return FALSE;
      array = json_node_get_array (data);
      if (json_array_get_length (array) == 0)
        return FALSE;
      first = json_array_get_element (array, 0);
      /* socket.io-parser also allows numeric event names */
      return JSON_NODE_HOLDS_VALUE (first) &&
          (json_node_get_value_type (first) == G_TYPE_STRING ||
          json_node_get_value_type (first) == G_TYPE_INT64);
    }
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
      return data != NULL && JSON_NODE_HOLDS_ARRAY (data);
  }
  return FALSE;
}

gboolean
sio_packet_decode (const gchar * data, gsize length, SioPacket * packet,
    GError ** error)
{
  gsize pos = 0;

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

  if (pos < length && data[pos] == '/') {
    gsize start = pos;

    while (pos < length && data[pos] != ',')
      pos++;
    packet->nsp = g_strndup (data + start, pos - start);
    if (pos < length)
      pos++;                    /* the ',' */
    if (!sio_namespace_is_valid (packet->nsp)) {
      sio_packet_clear (packet);
      return set_malformed (error, "invalid namespace");
    }
  } else {
    packet->nsp = g_strdup ("/");
  }

  if (pos < length && g_ascii_isdigit (data[pos])) {
    gsize start = pos;
    gint64 id = 0;

    while (pos < length && g_ascii_isdigit (data[pos])) {
      if (pos - start >= SIO_MAX_ACK_ID_DIGITS) {
        sio_packet_clear (packet);
        return set_malformed (error, "ack id too long");
      }
      id = id * 10 + (data[pos] - '0');
      pos++;
    }
    packet->ack_id = id;
  }

  if (pos < length) {
    packet->data = parse_json (data + pos, length - pos, error);
    if (packet->data == NULL) {
      sio_packet_clear (packet);
      return FALSE;
    }
  }

  if (!payload_is_valid (packet->type, packet->data)) {
    sio_packet_clear (packet);
    return set_malformed (error, "payload does not fit the packet type");
  }

  if ((packet->type == SIO_PACKET_ACK ||
          packet->type == SIO_PACKET_BINARY_ACK) && packet->ack_id < 0) {
    sio_packet_clear (packet);
    return set_malformed (error, "ack without an id");
  }

  return TRUE;
}

gboolean
sio_packet_peek_ack (const gchar * data, gsize length, const gchar ** nsp,
    gsize * nsp_length, gint64 * ack_id)
{
  gsize pos = 1, start, json_pos, i;
  gint64 id = 0;
  gboolean too_deep;

  if (length < 3 || data[0] != '0' + SIO_PACKET_ACK)
    return FALSE;

  if (data[pos] == '/') {
    start = pos;
    while (pos < length && data[pos] != ',')
      pos++;
    if (pos == length)
      return FALSE;
    *nsp = data + start;
    *nsp_length = pos - start;
    /* what sio_namespace_is_valid() checks: UTF-8, no control chars */
    for (i = start; i < pos; i++)
      if ((guchar) data[i] < 0x20)
        return FALSE;
    if (!g_utf8_validate_len (*nsp, *nsp_length, NULL))
      return FALSE;
    pos++;
  } else {
    *nsp = "/";
    *nsp_length = 1;
  }

  start = pos;
  while (pos < length && g_ascii_isdigit (data[pos])) {
    if (pos - start >= SIO_MAX_ACK_ID_DIGITS)
      return FALSE;
    id = id * 10 + (data[pos] - '0');
    pos++;
  }
  if (pos == start)
    return FALSE;

  /* the arguments are checked as sio_packet_decode() would, but no tree
   * is built: an array of valid JSON */
  json_pos = pos;
  while (json_pos < length && (data[json_pos] == ' ' ||
          data[json_pos] == '\t' || data[json_pos] == '\n' ||
          data[json_pos] == '\r'))
    json_pos++;
  if (json_pos >= length || data[json_pos] != '[')
    return FALSE;
  if (!g_utf8_validate_len (data + pos, length - pos, NULL) ||
      !json_syntax_is_valid (data + pos, length - pos, &too_deep))
    return FALSE;

  *ack_id = id;
  return TRUE;
}

void
sio_packet_clear (SioPacket * packet)
{
  g_clear_pointer (&packet->nsp, g_free);
  g_clear_pointer (&packet->data, json_node_unref);
}

void
sio_packet_encode (GString * out, SioPacketType type, const gchar * nsp,
    guint attachments, gint64 ack_id, const gchar * json_data)
{
  g_string_append_c (out, '0' + SIO_EIO_MESSAGE);
  g_string_append_c (out, '0' + type);
  if (type == SIO_PACKET_BINARY_EVENT || type == SIO_PACKET_BINARY_ACK)
    g_string_append_printf (out, "%u-", attachments);
  if (nsp != NULL && strcmp (nsp, "/") != 0) {
    g_string_append (out, nsp);
    g_string_append_c (out, ',');
  }
  if (ack_id >= 0)
    g_string_append_printf (out, "%" G_GINT64_FORMAT, ack_id);
  if (json_data != NULL)
    g_string_append (out, json_data);
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
  JsonNode *first;

  if (packet->type != SIO_PACKET_EVENT &&
      packet->type != SIO_PACKET_BINARY_EVENT)
    return NULL;
  if (packet->data == NULL || !JSON_NODE_HOLDS_ARRAY (packet->data))
    return NULL;
  first = json_array_get_element (json_node_get_array (packet->data), 0);
  if (first == NULL || json_node_get_value_type (first) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (first);
}

gchar *
sio_packet_dup_args_json (const SioPacket * packet)
{
  JsonArray *array, *args;
  JsonNode *node;
  guint i, first, n;
  gchar *text;

  if (packet->data == NULL || !JSON_NODE_HOLDS_ARRAY (packet->data))
    return g_strdup ("[]");

  array = json_node_get_array (packet->data);
  n = json_array_get_length (array);
  first = (packet->type == SIO_PACKET_EVENT ||
      packet->type == SIO_PACKET_BINARY_EVENT) ? 1 : 0;

  args = json_array_sized_new (n);
  for (i = first; i < n; i++)
    json_array_add_element (args, json_array_dup_element (array, i));
  node = json_node_init_array (json_node_alloc (), args);
  text = json_to_string (node, FALSE);
  json_node_unref (node);
  json_array_unref (args);
  return text;
}

gchar *
sio_packet_dup_error_message (const SioPacket * packet)
{
  JsonNode *data = packet->data;

  if (data == NULL)
    return g_strdup ("");

  if (JSON_NODE_HOLDS_VALUE (data) &&
      json_node_get_value_type (data) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (data));

  if (JSON_NODE_HOLDS_OBJECT (data)) {
    JsonObject *object = json_node_get_object (data);
    JsonNode *message = json_object_get_member (object, "message");

    if (message != NULL && JSON_NODE_HOLDS_VALUE (message) &&
        json_node_get_value_type (message) == G_TYPE_STRING)
      return g_strdup (json_node_get_string (message));
  }
  return json_to_string (data, FALSE);
}

gboolean
sio_namespace_is_valid (const gchar * nsp)
{
  const gchar *p;

  if (nsp == NULL || nsp[0] != '/')
    return FALSE;
  for (p = nsp; *p != '\0'; p++) {
    if (*p == ',' || (guchar) * p < 0x20)
      return FALSE;
  }
  return g_utf8_validate (nsp, -1, NULL);
}

gboolean
sio_json_is_object (const gchar * json, GError ** error)
{
  JsonNode *root;
  gboolean is_object;

  root = parse_json (json, strlen (json), error);
  if (root == NULL)
    return FALSE;
  is_object = JSON_NODE_HOLDS_OBJECT (root);
  if (!is_object)
    g_set_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED,
        "not a JSON object");
  json_node_unref (root);
  return is_object;
}
