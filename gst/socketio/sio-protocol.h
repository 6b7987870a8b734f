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

/* Engine.IO v4 and Socket.IO v5 packet codec.
 *
 * Pure GLib + json-glib: no GStreamer here, so it can be unit-tested with
 * the wire strings of docs/protocol.md and fuzzed on its own. The decoder
 * never reads past the length it is given and rejects, with a GError,
 * anything a Socket.IO v5 server would not send.
 *
 * JSON is checked by one iterative scan (RFC 8259 and UTF-8), linear in
 * its length, with no recursion and no limit on nesting: its stack of open
 * containers, one bit a level, is bounded by the length. Events and acks
 * are never parsed into a tree: their arguments are handed over as the
 * server's own text. json-glib only parses the small control payloads (the
 * Engine.IO open packet, a CONNECT_ERROR object), after the scan has
 * capped their depth. */

#ifndef __SIO_PROTOCOL_H__
#define __SIO_PROTOCOL_H__

#include <glib.h>

G_BEGIN_DECLS typedef enum
{
  SIO_EIO_OPEN = 0,
  SIO_EIO_CLOSE = 1,
  SIO_EIO_PING = 2,
  SIO_EIO_PONG = 3,
  SIO_EIO_MESSAGE = 4,
  SIO_EIO_UPGRADE = 5,
  SIO_EIO_NOOP = 6,
} SioEioType;

typedef enum
{
  SIO_PACKET_CONNECT = 0,
  SIO_PACKET_DISCONNECT = 1,
  SIO_PACKET_EVENT = 2,
  SIO_PACKET_ACK = 3,
  SIO_PACKET_CONNECT_ERROR = 4,
  SIO_PACKET_BINARY_EVENT = 5,
  SIO_PACKET_BINARY_ACK = 6,
} SioPacketType;

#define SIO_PROTOCOL_ERROR (sio_protocol_error_quark ())
GQuark sio_protocol_error_quark (void);

typedef enum
{
  SIO_PROTOCOL_ERROR_MALFORMED,
  SIO_PROTOCOL_ERROR_TOO_LARGE,
} SioProtocolError;

/* Most attachments one packet may announce: socket.io-parser 4.2.6 and
 * later refuse more than 10, so no real server sends more. */
#define SIO_MAX_ATTACHMENTS 10

/* Deepest JSON nesting given to json-glib (the Engine.IO open packet, a
 * CONNECT_ERROR object): it parses recursively, so a hostile "[[[[…" must
 * be refused before it reaches the parser. Events and acks have no such
 * limit. */
#define SIO_MAX_JSON_DEPTH 64

/* The Engine.IO handshake, the server's first packet. */
typedef struct
{
  gchar *sid;
  guint ping_interval_ms;
  guint ping_timeout_ms;
  /* 0 when the server does not announce one (older python-engineio) */
  guint64 max_payload;
  /* "websocket" is among the upgrades the server offers */
  gboolean upgrade_websocket;
} SioEioOpen;

gboolean sio_eio_decode_text (const gchar * message, gsize length,
    SioEioType * type, const gchar ** data, gsize * data_length,
    GError ** error);

gboolean sio_eio_parse_open (const gchar * data, gsize length,
    SioEioOpen * open, GError ** error);

void sio_eio_open_clear (SioEioOpen * open);

/* One decoded Socket.IO packet.
 *
 * @args and @json point into the text given to sio_packet_decode(), so
 * the packet is only valid while that text is, unless sio_packet_detach()
 * made it a copy of its own. */
typedef struct
{
  SioPacketType type;
  gchar *nsp;                   /* never NULL: "/" when omitted */
  gint64 ack_id;                /* -1 when absent */
  guint attachments;            /* binary packet types only */

  /* EVENT, BINARY_EVENT: the name (see sio_packet_get_event_name()) */
  gchar *event_name;

  /* EVENT, BINARY_EVENT, ACK, BINARY_ACK: the arguments (for an event,
   * those after its name) exactly as the server wrote them, without the
   * brackets of their array: ` 1, {"a":2} ` for `["name", 1, {"a":2} ]`.
   * Empty (length 0) when there are none. */
  const gchar *args;
  gsize args_length;

  /* CONNECT, CONNECT_ERROR: the JSON payload as the server wrote it,
   * surrounding spaces left out; NULL when the packet carries none */
  const gchar *json;
  gsize json_length;

  /*< private > */
  gchar *own_text;
} SioPacket;

/* Decodes @data, a Socket.IO packet (the Engine.IO type digit already
 * gone). Arguments may hold any valid JSON: any nesting depth, numbers of
 * any size and precision, "\u0000", and the lone surrogate escapes
 * ("\ud800") that JSON.stringify() and Python's json write for broken
 * strings; they are checked, not interpreted. Text that is not UTF-8 is
 * an error that says so. */
gboolean sio_packet_decode (const gchar * data, gsize length,
    SioPacket * packet, GError ** error);

/* Copies what @packet points into, so that it outlives the decoded text
 * (a binary packet waiting for its attachments). */
void sio_packet_detach (SioPacket * packet);

void sio_packet_clear (SioPacket * packet);

/* TRUE if @data is a valid plain ACK packet ("3[/nsp,]<id>[...]"), with
 * its namespace (not NUL-terminated) and id. Allocation-free: arguments
 * nested deeper than its fixed stack (256 levels) make it return FALSE,
 * as does anything else it does not take, malformed ACKs included:
 * sio_packet_decode() then decides. When it returns TRUE,
 * sio_packet_decode() accepts the packet with the same namespace and id. */
gboolean sio_packet_peek_ack (const gchar * data, gsize length,
    const gchar ** nsp, gsize * nsp_length, gint64 * ack_id);

/* Appends a whole Engine.IO text message ("4" + Socket.IO packet) to @out.
 * @nsp may be NULL for "/", @ack_id < 0 means no ack id, @json_data may be
 * NULL. The JSON text is copied as given: callers pass valid JSON. */
void sio_packet_encode (GString * out, SioPacketType type, const gchar * nsp,
    guint attachments, gint64 ack_id, const gchar * json_data);

/* The most digits a guint64 has in decimal. */
#define SIO_UINT64_DIGITS 20

/* Writes the decimal digits of @value (no sign, no leading zeros, no NUL)
 * to @dest, which has room for SIO_UINT64_DIGITS, as printf's
 * "%" G_GUINT64_FORMAT would, without printf; returns how many. */
gsize sio_format_uint64 (gchar * dest, guint64 value);

/* Appends what sio_format_uint64() writes. */
void sio_append_uint64 (GString * out, guint64 value);

/* Appends @str as a JSON string literal, quotes included. */
void sio_json_append_string (GString * out, const gchar * str);

/* The event name of an EVENT or BINARY_EVENT packet, or NULL for other
 * types. A JSON string name is decoded to UTF-8, except that U+0000 and
 * lone surrogates, which a C string cannot carry, become U+FFFD. A number
 * (socket.io-parser accepts them) is its text as the server wrote it:
 * "7", "-1.5e+3". */
const gchar *sio_packet_get_event_name (const SioPacket * packet);

/* The arguments of an EVENT/ACK packet as JSON array text: "[", @args,
 * "]", the server's own text, copied once. "[]" for other packets. Free
 * with g_free(). */
gchar *sio_packet_dup_args_json (const SioPacket * packet);

/* The message of a CONNECT_ERROR packet: the "message" of a v5 object or
 * a v4 string; the payload's own text when it has neither, or is too deep
 * (SIO_MAX_JSON_DEPTH) or odd (lone surrogates) for json-glib. */
gchar *sio_packet_dup_error_message (const SioPacket * packet);

/* TRUE if @nsp is a namespace a client may join: "/" or "/name" with no
 * ',' and no control characters. */
gboolean sio_namespace_is_valid (const gchar * nsp);

/* TRUE if @json is a JSON object (used to validate the auth payload), at
 * any depth. */
gboolean sio_json_is_object (const gchar * json, GError ** error);

/* The JSON array of an event a client emits: @name, then the arguments
 * of @args_json, then with @with_attachment the placeholder of attachment
 * 0 as the last argument. @args_json: NULL or whitespace for none, a JSON
 * array for one argument per element, any other JSON value for that one
 * argument; copied as written (any depth). NULL, with @error saying where,
 * when it is not JSON. Free with g_free(). */
gchar *sio_event_build_args (const gchar * name, const gchar * args_json,
    gboolean with_attachment, GError ** error);

G_END_DECLS
#endif /* __SIO_PROTOCOL_H__ */
