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

/* Ownership: everything in a SioWebSocket belongs to the thread iterating
 * the GMainContext it was created in; there are no locks. The stream is
 * written only by write_pending(), from one output buffer, and read only
 * by on_readable(). The struct is reference counted internally so that a
 * callback may free it: the caller holds one reference (dropped by
 * sio_websocket_free()), each dispatch holds one while it runs, and a
 * connection attempt in flight holds one until GIO calls back. */

#include <string.h>

#include "sio-websocket.h"

#ifdef G_OS_UNIX
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

#define DEFAULT_MAX_INCOMING (16 * 1024 * 1024)
#define DEFAULT_CLOSE_TIMEOUT_MS 1000
#define DEFAULT_USER_AGENT "gst-socketio"

/* The upgrade response's headers must fit in this. */
#define MAX_RESPONSE_HEADERS (16 * 1024)

/* Reads are this size unless a large frame needs more in one piece. */
#define READ_CHUNK (16 * 1024)

/* One dispatch reads at most this many times, so one busy connection
 * cannot starve the others sharing the thread. */
#define READS_PER_DISPATCH 16

/* Buffers larger than this are given back once empty. */
#define KEEP_BUFFER_SIZE (256 * 1024)

#define MAX_CONTROL_PAYLOAD 125
#define MAX_CLOSE_REASON (MAX_CONTROL_PAYLOAD - 2)
#define FRAME_HEADER_MAX 14

#define ACCEPT_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum
{
  OPCODE_CONTINUATION = 0x0,
  OPCODE_TEXT = 0x1,
  OPCODE_BINARY = 0x2,
  OPCODE_CLOSE = 0x8,
  OPCODE_PING = 0x9,
  OPCODE_PONG = 0xa,
};

enum
{
  CLOSE_NO_STATUS = 1005,
  CLOSE_PROTOCOL_ERROR = 1002,
  CLOSE_BAD_DATA = 1007,
  CLOSE_TOO_BIG = 1009,
};

typedef enum
{
  STATE_CONNECTING,             /* TCP, proxy and TLS, in GSocketClient */
  STATE_UPGRADING,              /* our GET written, waiting for the 101 */
  STATE_OPEN,
  STATE_CLOSING,                /* our close frame queued, awaiting theirs */
  STATE_ANSWERING_CLOSE,        /* theirs came first: flushing our answer */
  STATE_CLOSED,
} State;

/* data[start, end) holds bytes: unsent ones for output, unparsed ones
 * for input; data[end, size) is free room. Growth doubles the size but
 * not past limit, unless one request needs more. */
typedef struct
{
  guint8 *data;
  gsize start;
  gsize end;
  gsize size;
  gsize limit;
} Buffer;

struct _SioWebSocket
{
  gint ref_count;
  gboolean freed;               /* sio_websocket_free() was called */
  State state;
  GMainContext *context;
  SioWebSocketCallbacks callbacks;
  gpointer user_data;

  /* configuration */
  gchar *url;
  GUri *uri;
  gchar **extra_headers;
  gchar *user_agent;
  GTlsDatabase *tls_database;
  GTlsInteraction *tls_interaction;
  gboolean tls_accept_invalid;
  GProxyResolver *proxy_resolver;
  gsize max_incoming;
  guint handshake_timeout_ms;
  guint close_timeout_ms;
  gsize low_water;

  /* connection */
  GCancellable *cancellable;
  GSocketClient *socket_client;
  GSocketConnection *connection;
  GPollableInputStream *input;
  GPollableOutputStream *output;
  /* readiness: the loop's watch on the socket, or GLib sources on the
   * streams (TLS, or no loop); io_update() keeps them as these say */
  gboolean reading;
  gboolean writing;             /* only while output is pending */
  SioLoop *loop;
  gboolean use_watch;
  SioLoopWatch watch;
  GSource *read_source;
  GSource *write_source;
  GSource *timer;               /* handshake or close deadline */
  GSource *report_source;       /* reports report_error from the loop */
  GError *report_error;
  gchar *accept_key;            /* the Sec-WebSocket-Accept we expect */

  /* output */
  Buffer out;
  gsize request_bytes_unsent;   /* the GET is not counted as written */
  gboolean above_low_water;
  gboolean corked;              /* sends append only: one write later */
  guint32 mask_state;
  guint64 pong_end;             /* bytes_written once our last pong is out */

  /* input */
  Buffer in;
  gsize in_wanted;              /* unparsed bytes needed to go on */
  gsize header_scanned;         /* of the upgrade response, searched */
  GByteArray *message;          /* fragments of a message in progress */
  gboolean message_started;
  gboolean message_binary;
  guint64 fragment_remaining;   /* payload of the current fragment */
  gboolean fragment_final;

  /* what the caller may ask */
  guint http_status;
  SoupMessageHeaders *response_headers;
  gushort close_code;
  gchar *close_reason;
  GTlsCertificateFlags tls_errors;
  guint64 bytes_written;
  guint64 frames_queued;
  guint64 messages_received;
};

G_DEFINE_QUARK (sio - websocket - error - quark, sio_websocket_error);

/* ---- buffers ---------------------------------------------------------- */

static gsize
buffer_length (const Buffer * buffer)
{
  return buffer->end - buffer->start;
}

/* Makes room for @extra more bytes after end, moving the held bytes to
 * the front first when that is enough or cheap. */
static void
buffer_reserve (Buffer * buffer, gsize extra)
{
  gsize length = buffer_length (buffer);

  if (buffer->size - buffer->end >= extra)
    return;
  if (buffer->start > 0) {
    memmove (buffer->data, buffer->data + buffer->start, length);
    buffer->start = 0;
    buffer->end = length;
    if (buffer->size - buffer->end >= extra)
      return;
  }
  buffer->size = MAX (MIN (buffer->size * 2, buffer->limit), length + extra);
  buffer->data = g_realloc (buffer->data, buffer->size);
}

static void
buffer_consume (Buffer * buffer, gsize length)
{
  buffer->start += length;
  if (buffer->start == buffer->end) {
    buffer->start = buffer->end = 0;
    /* a large message should not pin its memory for good */
    if (buffer->size > KEEP_BUFFER_SIZE) {
      g_free (buffer->data);
      buffer->data = NULL;
      buffer->size = 0;
    }
  }
}

/* ---- lifetime --------------------------------------------------------- */

static SioWebSocket *
ws_ref (SioWebSocket * ws)
{
  ws->ref_count++;
  return ws;
}

static void
ws_unref (SioWebSocket * ws)
{
  if (--ws->ref_count > 0)
    return;

  g_assert (ws->connection == NULL && ws->read_source == NULL &&
      ws->write_source == NULL && ws->timer == NULL);
  g_clear_error (&ws->report_error);
  g_clear_object (&ws->socket_client);
  g_clear_object (&ws->cancellable);
  g_clear_object (&ws->tls_database);
  g_clear_object (&ws->tls_interaction);
  g_clear_object (&ws->proxy_resolver);
  g_clear_pointer (&ws->uri, g_uri_unref);
  g_clear_pointer (&ws->response_headers, soup_message_headers_unref);
  g_byte_array_unref (ws->message);
  g_free (ws->out.data);
  g_free (ws->in.data);
  g_free (ws->accept_key);
  g_free (ws->close_reason);
  g_strfreev (ws->extra_headers);
  g_free (ws->user_agent);
  g_free (ws->url);
  g_main_context_unref (ws->context);
  g_free (ws);
}

static void
clear_source (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static void finish (SioWebSocket * ws, GError * error);

static GError *
closed_by_peer_error (SioWebSocket * ws)
{
  return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_CLOSED_BY_PEER,
      "the server closed the connection (code %u%s%s)", ws->close_code,
      ws->close_reason[0] ? ": " : "", ws->close_reason);
}

/* The one timer: what running out means depends on the state. */
static gboolean
on_timer (gpointer user_data)
{
  SioWebSocket *ws = ws_ref (user_data);
  GError *error;

  g_clear_pointer (&ws->timer, g_source_unref);
  switch (ws->state) {
    case STATE_CONNECTING:
    case STATE_UPGRADING:
      error = g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TIMEOUT,
          "no WebSocket connection to %s within %u ms (stuck while %s)",
          ws->url, ws->handshake_timeout_ms, ws->state == STATE_CONNECTING ?
          "connecting" : "waiting for the upgrade response");
      break;
    case STATE_CLOSING:
      error = g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TIMEOUT,
          "the server did not answer our close frame within %u ms",
          ws->close_timeout_ms);
      break;
    default:
      /* our answer to the server's close could not go out in time */
      error = closed_by_peer_error (ws);
      break;
  }
  finish (ws, error);
  ws_unref (ws);
  return G_SOURCE_REMOVE;
}

static void
start_timer (SioWebSocket * ws, guint ms)
{
  clear_source (&ws->timer);
  ws->timer = g_timeout_source_new (ms);
  g_source_set_callback (ws->timer, on_timer, ws, NULL);
  g_source_attach (ws->timer, ws->context);
}

static gboolean on_readable (GObject * stream, gpointer user_data);
static gboolean on_writable (GObject * stream, gpointer user_data);

/* The loop's epoll set says the socket is ready. */
static void
on_socket_ready (GIOCondition ready, gpointer user_data)
{
  SioWebSocket *ws = ws_ref (user_data);

  if (ws->reading && (ready & (G_IO_IN | G_IO_ERR | G_IO_HUP)))
    on_readable (NULL, ws);
  if (ws->writing && (ready & (G_IO_OUT | G_IO_ERR | G_IO_HUP)))
    on_writable (NULL, ws);
  ws_unref (ws);
}

/* Watches for what ws->reading and ws->writing ask, and nothing else. */
static void
io_update (SioWebSocket * ws)
{
  if (ws->use_watch) {
    GIOCondition condition = (ws->reading ? G_IO_IN : 0) |
        (ws->writing ? G_IO_OUT : 0);

    /* a watch for nothing would still report a hang-up, again and again */
    if (condition == 0)
      sio_loop_watch_remove (ws->loop, &ws->watch);
    else if (ws->watch.added)
      sio_loop_watch_set_condition (ws->loop, &ws->watch, condition);
    else
      sio_loop_watch_add (ws->loop, &ws->watch, g_socket_get_fd
          (g_socket_connection_get_socket (ws->connection)), condition,
          on_socket_ready, ws);
    return;
  }
  if (ws->reading && ws->read_source == NULL) {
    ws->read_source = g_pollable_input_stream_create_source (ws->input, NULL);
    g_source_set_callback (ws->read_source, G_SOURCE_FUNC (on_readable), ws,
        NULL);
    g_source_attach (ws->read_source, ws->context);
  } else if (!ws->reading) {
    clear_source (&ws->read_source);
  }
  if (ws->writing && ws->write_source == NULL) {
    ws->write_source = g_pollable_output_stream_create_source (ws->output,
        NULL);
    g_source_set_callback (ws->write_source, G_SOURCE_FUNC (on_writable), ws,
        NULL);
    g_source_attach (ws->write_source, ws->context);
  } else if (!ws->writing) {
    clear_source (&ws->write_source);
  }
}

/* Sources and the watch exist only while there is a connection. */
static void
stop_io (SioWebSocket * ws)
{
  ws->reading = ws->writing = FALSE;
  if (ws->connection)
    io_update (ws);
}

/* Stops all I/O at once. The socket is closed before the streams are let
 * go, so disposing a TLS connection cannot wait on the peer; the loop's
 * watch goes before the socket, whose number may be reused. */
static void
drop_connection (SioWebSocket * ws)
{
  g_cancellable_cancel (ws->cancellable);
  stop_io (ws);
  clear_source (&ws->timer);
  clear_source (&ws->report_source);
  if (ws->connection) {
    g_socket_close (g_socket_connection_get_socket (ws->connection), NULL);
    ws->input = NULL;
    ws->output = NULL;
    g_clear_object (&ws->connection);
  }
}

/* The one way to the end: closed() is called once, with @error (taken). */
static void
finish (SioWebSocket * ws, GError * error)
{
  if (ws->state == STATE_CLOSED) {
    g_clear_error (&error);
    return;
  }
  if (error)
    g_debug ("%s: closed: %s", ws->url, error->message);
  else
    g_debug ("%s: closed cleanly", ws->url);
  ws->state = STATE_CLOSED;
  drop_connection (ws);
  if (!ws->freed && ws->callbacks.closed)
    ws->callbacks.closed (ws, error, ws->user_data);
  g_clear_error (&error);
}

static gboolean
on_report (gpointer user_data)
{
  SioWebSocket *ws = user_data;
  GError *error = g_steal_pointer (&ws->report_error);

  g_clear_pointer (&ws->report_source, g_source_unref);
  ws_ref (ws);
  finish (ws, error);
  ws_unref (ws);
  return G_SOURCE_REMOVE;
}

/* Ends the connection from inside an API call: I/O stops now, closed() is
 * called from the main loop. */
static void
finish_later (SioWebSocket * ws, GError * error)
{
  if (ws->state == STATE_CLOSED || ws->report_source) {
    g_clear_error (&error);
    return;
  }
  stop_io (ws);
  clear_source (&ws->timer);
  ws->report_error = error;
  ws->report_source = g_idle_source_new ();
  g_source_set_callback (ws->report_source, on_report, ws, NULL);
  g_source_attach (ws->report_source, ws->context);
}

/* Once finish_later() was called the connection only waits to report. */
static gboolean
is_open (SioWebSocket * ws)
{
  return ws->state == STATE_OPEN && ws->report_source == NULL;
}

/* ---- output ----------------------------------------------------------- */

static guint32
next_mask (guint32 * mask_state)
{
  /* xorshift32: masks only need to be unpredictable to the page script
   * RFC 6455 guards against, not cryptographic */
  guint32 x = *mask_state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *mask_state = x;
  return x;
}

gsize
sio_websocket_frame_size (gsize length)
{
  return length + 4 + (length < 126 ? 2 : length < 65536 ? 4 : 10);
}

void
sio_websocket_encode_frame (guint8 * dest, guint8 opcode, const guint8 * data,
    gsize length, guint32 * mask_state)
{
  guint32 m = next_mask (mask_state);
  guint8 mask[8];
  guint64 m64;
  gsize i;

  *dest++ = 0x80 | opcode;
  if (length < 126) {
    *dest++ = 0x80 | (guint8) length;
  } else if (length < 65536) {
    *dest++ = 0x80 | 126;
    *dest++ = (length >> 8) & 0xff;
    *dest++ = length & 0xff;
  } else {
    gint shift;

    *dest++ = 0x80 | 127;
    for (shift = 56; shift >= 0; shift -= 8)
      *dest++ = ((guint64) length >> shift) & 0xff;
  }
  memcpy (mask, &m, 4);
  memcpy (mask + 4, &m, 4);
  memcpy (dest, mask, 4);
  dest += 4;

  /* sixteen, then eight bytes at a time: masking is most of the cost of
   * a large frame */
  memcpy (&m64, mask, 8);
  i = 0;
#if defined(__GNUC__) || defined(__clang__)
  {
    typedef guint64 Lanes __attribute__((vector_size (16)));
    Lanes m128 = { m64, m64 };

    for (; i + 16 <= length; i += 16) {
      Lanes v;

      memcpy (&v, data + i, 16);
      v ^= m128;
      memcpy (dest + i, &v, 16);
    }
  }
#endif
  for (; i + 8 <= length; i += 8) {
    guint64 v;

    memcpy (&v, data + i, 8);
    v ^= m64;
    memcpy (dest + i, &v, 8);
  }
  for (; i < length; i++)
    dest[i] = data[i] ^ mask[i & 3];
}

/* Appends one whole masked frame to the output buffer. */
static void
append_frame (SioWebSocket * ws, guint8 opcode, const guint8 * data,
    gsize length)
{
  gsize size = sio_websocket_frame_size (length);

  buffer_reserve (&ws->out, size);
  sio_websocket_encode_frame (ws->out.data + ws->out.end, opcode, data,
      length, &ws->mask_state);
  ws->out.end += size;
  ws->frames_queued++;
}

static void
append_close_frame (SioWebSocket * ws, gushort code, const gchar * reason)
{
  guint8 payload[MAX_CONTROL_PAYLOAD];
  gsize length = 0;

  if (code != CLOSE_NO_STATUS) {
    payload[0] = code >> 8;
    payload[1] = code & 0xff;
    length = 2;
    if (reason && g_utf8_validate (reason, -1, NULL)) {
      const gchar *end = reason;

      /* cut on a character boundary */
      while (*end && (gsize) (g_utf8_next_char (end) - reason) <=
          MAX_CLOSE_REASON)
        end = g_utf8_next_char (end);
      memcpy (payload + 2, reason, end - reason);
      length += end - reason;
    }
  }
  append_frame (ws, OPCODE_CLOSE, payload, length);
}

/* A failed read or write (@error taken). TLS reports some refusals only
 * then: with TLS 1.3 a server checks our certificate after our side of
 * the handshake is done. */
static GError *
io_error (const gchar * what, GError * error)
{
  GError *result = g_error_new (SIO_WEBSOCKET_ERROR,
      error->domain == G_TLS_ERROR ? SIO_WEBSOCKET_ERROR_TLS :
      SIO_WEBSOCKET_ERROR_CONNECTION_LOST, "%s failed: %s", what,
      error->message);

  g_error_free (error);
  return result;
}

/* Writes what the socket takes now. Watches for writability only while
 * something is left. FALSE with @error when the connection broke. */
static gboolean
write_pending (SioWebSocket * ws, GError ** error)
{
  while (buffer_length (&ws->out) > 0) {
    GError *local_error = NULL;
    gssize n;
    gsize counted;

    n = g_pollable_output_stream_write_nonblocking (ws->output,
        ws->out.data + ws->out.start, buffer_length (&ws->out), NULL,
        &local_error);
    if (n < 0) {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
        g_error_free (local_error);
        break;
      }
      g_propagate_error (error, io_error ("write", local_error));
      return FALSE;
    }
    counted = MIN ((gsize) n, ws->request_bytes_unsent);
    ws->request_bytes_unsent -= counted;
    ws->bytes_written += n - counted;
    buffer_consume (&ws->out, n);
  }

  if (ws->writing != (buffer_length (&ws->out) > 0)) {
    ws->writing = !ws->writing;
    io_update (ws);
  }
  return TRUE;
}

/* Fails the connection as RFC 6455 asks: a close frame with @code if it
 * can go out at once (never waited for), then the socket is closed. */
static void
fail_with_close (SioWebSocket * ws, gushort code, GError * error)
{
  if (ws->state == STATE_OPEN) {
    append_close_frame (ws, code, NULL);
    write_pending (ws, NULL);
  }
  finish (ws, error);
}

/* After a write: writable() once the output falls to the low-water mark
 * after having been above it, whichever write took it there. */
static void
note_output_level (SioWebSocket * ws)
{
  gboolean above = buffer_length (&ws->out) > ws->low_water;

  if (ws->above_low_water && !above && ws->state == STATE_OPEN) {
    ws->above_low_water = FALSE;
    if (ws->callbacks.writable && !ws->freed)
      ws->callbacks.writable (ws, ws->user_data);
    return;
  }
  ws->above_low_water = above;
}

static gboolean
on_writable (GObject * stream, gpointer user_data)
{
  SioWebSocket *ws = ws_ref (user_data);
  GError *error = NULL;

  if (!write_pending (ws, &error)) {
    finish (ws, error);
  } else if (ws->state == STATE_ANSWERING_CLOSE &&
      buffer_length (&ws->out) == 0) {
    /* our answer is out: the peer's close is the end */
    finish (ws, closed_by_peer_error (ws));
  } else {
    note_output_level (ws);
  }
  ws_unref (ws);
  return G_SOURCE_CONTINUE;
}

/* ---- input: frames ---------------------------------------------------- */

static GError *
protocol_error (const gchar * message)
{
  return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_PROTOCOL,
      "the server broke the WebSocket protocol: %s", message);
}

static GError *
too_big_error (SioWebSocket * ws, guint64 length)
{
  return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TOO_BIG,
      "incoming message of at least %" G_GUINT64_FORMAT " bytes, more than "
      "the %" G_GSIZE_FORMAT " accepted", length, ws->max_incoming);
}

/* Text frames may hold NUL, which g_utf8_validate_len() refuses. */
static gboolean
utf8_validate_with_nul (const guint8 * data, gsize length)
{
  /* the ASCII start, eight bytes at a time: an ack is all ASCII, and
   * memchr() and the validator cost more than the whole of it */
  while (length >= 8) {
    guint64 word;

    memcpy (&word, data, 8);
    if (word & G_GUINT64_CONSTANT (0x8080808080808080))
      break;
    data += 8;
    length -= 8;
  }
  while (length > 0 && *data < 0x80) {
    data++;
    length--;
  }

  while (length > 0) {
    const guint8 *nul = memchr (data, 0, length);
    gsize part = nul ? (gsize) (nul - data) : length;

    if (!g_utf8_validate_len ((const gchar *) data, part, NULL))
      return FALSE;
    if (nul == NULL)
      break;
    data += part + 1;
    length -= part + 1;
  }
  return TRUE;
}

/* Hands one whole message over. FALSE when the connection ended. */
static gboolean
deliver_message (SioWebSocket * ws, gboolean binary, const guint8 * data,
    gsize length)
{
  if (!binary && !utf8_validate_with_nul (data, length)) {
    fail_with_close (ws, CLOSE_BAD_DATA,
        protocol_error ("a text message is not valid UTF-8"));
    return FALSE;
  }
  ws->messages_received++;
  if (ws->callbacks.message && !ws->freed)
    ws->callbacks.message (ws, binary, data, length, ws->user_data);
  return ws->state != STATE_CLOSED;
}

static gboolean
valid_close_code (guint code)
{
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
      (code >= 3000 && code <= 4999);
}

static void
handle_close_frame (SioWebSocket * ws, const guint8 * payload, gsize length)
{
  if (length == 1) {
    fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
        protocol_error ("a close frame with a 1-byte payload"));
    return;
  }
  ws->close_code = CLOSE_NO_STATUS;
  if (length >= 2) {
    ws->close_code = (payload[0] << 8) | payload[1];
    if (!valid_close_code (ws->close_code)) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("an invalid close code"));
      return;
    }
    if (!utf8_validate_with_nul (payload + 2, length - 2)) {
      fail_with_close (ws, CLOSE_BAD_DATA,
          protocol_error ("a close reason that is not UTF-8"));
      return;
    }
  }
  g_free (ws->close_reason);
  ws->close_reason = length > 2 ?
      g_strndup ((const gchar *) payload + 2, length - 2) : g_strdup ("");

  if (ws->state == STATE_CLOSING) {
    /* the answer to ours: a clean close */
    finish (ws, NULL);
    return;
  }
  if (ws->state != STATE_OPEN)
    return;
  /* answer with the same code, after what is queued, then end; nothing
   * more is read */
  ws->state = STATE_ANSWERING_CLOSE;
  ws->reading = FALSE;
  io_update (ws);
  append_close_frame (ws, ws->close_code, ws->close_reason);
  start_timer (ws, ws->close_timeout_ms);
  on_writable (NULL, ws);
}

/* Handles one whole control frame. */
static void
handle_control_frame (SioWebSocket * ws, guint opcode, const guint8 * payload,
    gsize length)
{
  GError *error = NULL;

  switch (opcode) {
    case OPCODE_PING:
      /* while an earlier pong waits for the socket, later pings go
       * unanswered: a ping flood towards a reader that stopped cannot
       * grow our output */
      if (ws->state != STATE_OPEN || ws->bytes_written < ws->pong_end)
        break;
      append_frame (ws, OPCODE_PONG, payload, length);
      ws->pong_end = ws->bytes_written + buffer_length (&ws->out) -
          ws->request_bytes_unsent;
      if (!write_pending (ws, &error))
        finish (ws, error);
      break;
    case OPCODE_PONG:
      break;
    case OPCODE_CLOSE:
      handle_close_frame (ws, payload, length);
      break;
  }
}

static gboolean
deliver_fragmented_message (SioWebSocket * ws)
{
  gboolean large = ws->message->len > KEEP_BUFFER_SIZE;

  ws->message_started = FALSE;
  if (!deliver_message (ws, ws->message_binary, ws->message->data,
          ws->message->len))
    return FALSE;
  if (large) {
    /* a large message should not pin its memory for good */
    g_byte_array_unref (ws->message);
    ws->message = g_byte_array_new ();
  } else {
    g_byte_array_set_size (ws->message, 0);
  }
  return TRUE;
}

/* Parses what the input buffer holds: frames, or the part of a fragment
 * that arrived. Sets in_wanted to how many unparsed bytes it needs next. */
static void
parse_frames (SioWebSocket * ws)
{
  while (ws->state == STATE_OPEN || ws->state == STATE_CLOSING) {
    const guint8 *p = ws->in.data + ws->in.start;
    gsize available = buffer_length (&ws->in);
    gsize header_length;
    guint64 length;
    guint opcode;
    gboolean final;

    if (ws->fragment_remaining > 0) {
      /* a fragment's payload is copied as it comes, so the input buffer
       * stays small while a fragmented message builds up */
      gsize take = MIN (available, ws->fragment_remaining);

      if (take == 0) {
        ws->in_wanted = 1;
        return;
      }
      g_byte_array_append (ws->message, p, take);
      buffer_consume (&ws->in, take);
      ws->fragment_remaining -= take;
      if (ws->fragment_remaining == 0 && ws->fragment_final &&
          !deliver_fragmented_message (ws))
        return;
      continue;
    }

    if (available < 2) {
      ws->in_wanted = 2;
      return;
    }
    final = (p[0] & 0x80) != 0;
    opcode = p[0] & 0x0f;
    if (p[0] & 0x70) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("reserved bits set (no extension was agreed)"));
      return;
    }
    if (p[1] & 0x80) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("a masked frame (servers never mask)"));
      return;
    }
    length = p[1] & 0x7f;
    header_length = length == 126 ? 4 : length == 127 ? 10 : 2;
    if (available < header_length) {
      ws->in_wanted = header_length;
      return;
    }
    if (length == 126) {
      length = (p[2] << 8) | p[3];
    } else if (length == 127) {
      gint i;

      length = 0;
      for (i = 2; i < 10; i++)
        length = (length << 8) | p[i];
      if (length >> 63) {
        fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
            protocol_error ("a 64-bit length with its top bit set"));
        return;
      }
    }

    if (opcode & 0x8) {
      if (opcode != OPCODE_CLOSE && opcode != OPCODE_PING &&
          opcode != OPCODE_PONG) {
        fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
            protocol_error ("an unknown control opcode"));
        return;
      }
      if (!final) {
        fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
            protocol_error ("a fragmented control frame"));
        return;
      }
      if (length > MAX_CONTROL_PAYLOAD) {
        fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
            protocol_error ("a control frame over 125 bytes"));
        return;
      }
      if (available < header_length + length) {
        ws->in_wanted = header_length + length;
        return;
      }
      handle_control_frame (ws, opcode, p + header_length, length);
      if (ws->state == STATE_CLOSED)
        return;
      buffer_consume (&ws->in, header_length + length);
      continue;
    }

    if (opcode != OPCODE_CONTINUATION && opcode != OPCODE_TEXT &&
        opcode != OPCODE_BINARY) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("an unknown data opcode"));
      return;
    }
    if (opcode == OPCODE_CONTINUATION && !ws->message_started) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("a continuation frame without a message"));
      return;
    }
    if (opcode != OPCODE_CONTINUATION && ws->message_started) {
      fail_with_close (ws, CLOSE_PROTOCOL_ERROR,
          protocol_error ("a new message inside a fragmented one"));
      return;
    }
    /* refused before a byte of it is buffered */
    if (length > ws->max_incoming - ws->message->len) {
      fail_with_close (ws, CLOSE_TOO_BIG,
          too_big_error (ws, length + ws->message->len));
      return;
    }

    if (final && opcode != OPCODE_CONTINUATION) {
      /* a whole message in one frame: handed over from the input buffer,
       * not copied */
      if (available < header_length + length) {
        ws->in_wanted = header_length + length;
        return;
      }
      if (!deliver_message (ws, opcode == OPCODE_BINARY, p + header_length,
              length))
        return;
      buffer_consume (&ws->in, header_length + length);
      continue;
    }

    if (opcode != OPCODE_CONTINUATION) {
      ws->message_started = TRUE;
      ws->message_binary = opcode == OPCODE_BINARY;
    }
    ws->fragment_remaining = length;
    ws->fragment_final = final;
    buffer_consume (&ws->in, header_length);
    if (length == 0 && final && !deliver_fragmented_message (ws))
      return;
  }
}

/* ---- input: the upgrade response -------------------------------------- */

static gchar *
compute_accept_key (const gchar * key)
{
  GChecksum *sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize digest_length = sizeof (digest);

  g_checksum_update (sha1, (const guchar *) key, -1);
  g_checksum_update (sha1, (const guchar *) ACCEPT_GUID, -1);
  g_checksum_get_digest (sha1, digest, &digest_length);
  g_checksum_free (sha1);
  return g_base64_encode (digest, digest_length);
}

/* Checks a complete response head; NULL when it is a valid upgrade. */
static GError *
check_upgrade_response (SioWebSocket * ws, const gchar * head, gsize length)
{
  SoupHTTPVersion version;
  guint status;
  gchar *reason = NULL;
  const gchar *value;
  GError *error;

  ws->response_headers =
      soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  if (!soup_headers_parse_response (head, (int) length, ws->response_headers,
          &version, &status, &reason))
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_HANDSHAKE,
        "the server did not answer with HTTP");
  ws->http_status = status;

  if (status != SOUP_STATUS_SWITCHING_PROTOCOLS) {
    const gchar *location = soup_message_headers_get_one
        (ws->response_headers, "Location");

    if (status >= 300 && status < 400 && location)
      error = g_error_new (SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS,
          "HTTP %u %s: redirected to %s (redirects are not followed)",
          status, reason, location);
    else
      error = g_error_new (SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS, "HTTP %u %s", status, reason);
    g_free (reason);
    return error;
  }
  g_free (reason);

  value = soup_message_headers_get_one (ws->response_headers, "Upgrade");
  if (value == NULL || g_ascii_strcasecmp (value, "websocket") != 0)
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_HANDSHAKE,
        "101 without 'Upgrade: websocket'");
  if (!soup_message_headers_header_contains (ws->response_headers,
          "Connection", "upgrade"))
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_HANDSHAKE,
        "101 without 'Connection: Upgrade'");
  value = soup_message_headers_get_one (ws->response_headers,
      "Sec-WebSocket-Accept");
  if (value == NULL || strcmp (value, ws->accept_key) != 0)
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_HANDSHAKE,
        "wrong Sec-WebSocket-Accept: the server did not answer our key");
  value = soup_message_headers_get_one (ws->response_headers,
      "Sec-WebSocket-Extensions");
  if (value && *value)
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_HANDSHAKE,
        "the server chose an extension we did not offer: %s", value);
  return NULL;
}

static const guint8 *
find_head_end (const guint8 * data, gsize length)
{
  gsize i;

  for (i = 0; i + 4 <= length; i++)
    if (memcmp (data + i, "\r\n\r\n", 4) == 0)
      return data + i + 4;
  return NULL;
}

/* Looks for the end of the response head; once there, checks it and
 * opens. Bytes after the head are the first frame bytes. */
static void
parse_upgrade_response (SioWebSocket * ws)
{
  const guint8 *data = ws->in.data + ws->in.start;
  gsize length = buffer_length (&ws->in);
  gsize from = ws->header_scanned > 3 ? ws->header_scanned - 3 : 0;
  const guint8 *end = find_head_end (data + from, length - from);
  GError *error;

  ws->header_scanned = length;
  if (end == NULL || end - data > MAX_RESPONSE_HEADERS) {
    if (end || length >= MAX_RESPONSE_HEADERS)
      finish (ws, g_error_new (SIO_WEBSOCKET_ERROR,
              SIO_WEBSOCKET_ERROR_HANDSHAKE,
              "the upgrade response's headers are over %d bytes",
              MAX_RESPONSE_HEADERS));
    ws->in_wanted = length + 1;
    return;
  }

  error = check_upgrade_response (ws, (const gchar *) data, end - data);
  if (error) {
    finish (ws, error);
    return;
  }
  buffer_consume (&ws->in, end - data);
  clear_source (&ws->timer);
  ws->state = STATE_OPEN;
  ws->in_wanted = 2;
  g_debug ("%s: open", ws->url);
  if (ws->callbacks.opened && !ws->freed)
    ws->callbacks.opened (ws, ws->user_data);
  if (ws->state != STATE_CLOSED)
    parse_frames (ws);
}

static gboolean
on_readable (GObject * stream, gpointer user_data)
{
  SioWebSocket *ws = ws_ref (user_data);
  guint reads;

  for (reads = 0; reads < READS_PER_DISPATCH && ws->reading; reads++) {
    GError *error = NULL;
    gsize room;
    gssize n;

    /* a frame larger than a chunk is read in one piece, no more: the
     * buffer never holds much beyond the largest accepted message */
    room = READ_CHUNK;
    if (ws->in_wanted > buffer_length (&ws->in))
      room = MAX (room, ws->in_wanted - buffer_length (&ws->in));
    buffer_reserve (&ws->in, room);
    n = g_pollable_input_stream_read_nonblocking (ws->input,
        ws->in.data + ws->in.end, room, NULL, &error);
    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_error_free (error);
      break;
    }
    if (n < 0) {
      finish (ws, io_error ("read", error));
      break;
    }
    if (n == 0) {
      if (ws->state == STATE_UPGRADING)
        finish (ws, g_error_new (SIO_WEBSOCKET_ERROR,
                SIO_WEBSOCKET_ERROR_HANDSHAKE, "the server closed the "
                "connection before the upgrade (%" G_GSIZE_FORMAT
                " bytes received)", buffer_length (&ws->in)));
      else
        finish (ws, g_error_new (SIO_WEBSOCKET_ERROR,
                SIO_WEBSOCKET_ERROR_CONNECTION_LOST,
                "the server closed the connection without a close frame"));
      break;
    }
    ws->in.end += n;
    if (ws->state == STATE_UPGRADING)
      parse_upgrade_response (ws);
    else
      parse_frames (ws);
    /* a short read drained the socket: the loop's epoll set (level
     * triggered) says when more comes, so a live stream's ack costs one
     * read, not one more that only says EAGAIN. TLS may hold more than
     * the socket shows: it reads on. */
    if (ws->use_watch && (gsize) n < room)
      break;
  }
  ws_unref (ws);
  return G_SOURCE_CONTINUE;
}

/* ---- connecting ------------------------------------------------------- */

static gchar *
describe_tls_errors (GTlsCertificateFlags flags)
{
  static const struct
  {
    GTlsCertificateFlags flag;
    const gchar *text;
  } names[] = {
    {G_TLS_CERTIFICATE_UNKNOWN_CA, "unknown CA"},
    {G_TLS_CERTIFICATE_BAD_IDENTITY, "not for this host"},
    {G_TLS_CERTIFICATE_NOT_ACTIVATED, "not yet valid"},
    {G_TLS_CERTIFICATE_EXPIRED, "expired"},
    {G_TLS_CERTIFICATE_REVOKED, "revoked"},
    {G_TLS_CERTIFICATE_INSECURE, "insecure algorithm"},
    {G_TLS_CERTIFICATE_GENERIC_ERROR, "invalid"},
  };
  GString *text = g_string_new (NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++) {
    if (flags & names[i].flag)
      g_string_append_printf (text, "%s%s", text->len ? ", " : "",
          names[i].text);
  }
  return g_string_free (text, FALSE);
}

static gboolean
on_accept_certificate (GTlsConnection * tls, GTlsCertificate * certificate,
    GTlsCertificateFlags errors, gpointer user_data)
{
  SioWebSocket *ws = user_data;

  ws->tls_errors = errors;
  return ws->tls_accept_invalid;
}

static void
on_socket_client_event (GSocketClient * client, GSocketClientEvent event,
    GSocketConnectable * connectable, GIOStream * connection,
    gpointer user_data)
{
  SioWebSocket *ws = user_data;

  if (event != G_SOCKET_CLIENT_TLS_HANDSHAKING || ws->state != STATE_CONNECTING
      || !G_IS_TLS_CLIENT_CONNECTION (connection))
    return;
  if (ws->tls_database)
    g_tls_connection_set_database (G_TLS_CONNECTION (connection),
        ws->tls_database);
  if (ws->tls_interaction)
    g_tls_connection_set_interaction (G_TLS_CONNECTION (connection),
        ws->tls_interaction);
  /* glib-networking asks this only when validation failed: it tells us
   * why, and lets tls_accept_invalid overrule it */
  g_signal_connect (connection, "accept-certificate",
      G_CALLBACK (on_accept_certificate), ws);
}

static GError *
connect_error (SioWebSocket * ws, const GError * error)
{
  if (error->domain == G_TLS_ERROR && ws->tls_errors) {
    gchar *problems = describe_tls_errors (ws->tls_errors);
    GError *tls_error = g_error_new (SIO_WEBSOCKET_ERROR,
        SIO_WEBSOCKET_ERROR_TLS, "the server's certificate was refused (%s)",
        problems);

    g_free (problems);
    return tls_error;
  }
  if (error->domain == G_TLS_ERROR)
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TLS,
        "TLS failed: %s", error->message);
  if (error->domain == G_IO_ERROR && (error->code == G_IO_ERROR_PROXY_FAILED
          || error->code == G_IO_ERROR_PROXY_AUTH_FAILED
          || error->code == G_IO_ERROR_PROXY_NEED_AUTH
          || error->code == G_IO_ERROR_PROXY_NOT_ALLOWED))
    return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_PROXY,
        "%s", error->message);
  return g_error_new (SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_CONNECT_FAILED,
      "%s", error->message);
}

static void
on_connected (GObject * source, GAsyncResult * result, gpointer user_data)
{
  SioWebSocket *ws = user_data;
  GError *error = NULL;
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_uri_finish (G_SOCKET_CLIENT (source),
      result, &error);
  g_signal_handlers_disconnect_by_data (source, ws);
  if (ws->state != STATE_CONNECTING || ws->report_source) {
    /* freed, timed out or closed meanwhile */
    if (connection) {
      g_socket_close (g_socket_connection_get_socket (connection), NULL);
      g_object_unref (connection);
    }
    g_clear_error (&error);
    ws_unref (ws);
    return;
  }
  if (connection == NULL) {
    finish (ws, connect_error (ws, error));
    g_error_free (error);
    ws_unref (ws);
    return;
  }

  ws->connection = connection;
  ws->input = G_POLLABLE_INPUT_STREAM (g_io_stream_get_input_stream
      (G_IO_STREAM (connection)));
  ws->output = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream
      (G_IO_STREAM (connection)));
#ifdef G_OS_UNIX
  /* small frames (pongs, acks) must not wait for Nagle */
  g_socket_set_option (g_socket_connection_get_socket (connection),
      IPPROTO_TCP, TCP_NODELAY, 1, NULL);
#endif
  ws->state = STATE_UPGRADING;
  ws->in_wanted = 1;
  /* TLS may hold decrypted bytes the socket no longer shows: GLib's
   * pollable sources know; plain TCP is the socket's readiness */
  ws->use_watch = ws->loop && !G_IS_TCP_WRAPPER_CONNECTION (connection);
  ws->reading = TRUE;
  io_update (ws);
  if (ws->use_watch && !ws->watch.added) {
    ws->use_watch = FALSE;
    io_update (ws);
  }
  if (!write_pending (ws, &error))
    finish (ws, error);
  ws_unref (ws);
}

static gboolean
header_is_safe (const gchar * text)
{
  return text && strpbrk (text, "\r\n") == NULL;
}

/* Queues our GET; it is the first thing written. */
static gboolean
queue_upgrade_request (SioWebSocket * ws, GError ** error)
{
  const gchar *scheme = g_uri_get_scheme (ws->uri);
  gboolean tls = g_ascii_strcasecmp (scheme, "wss") == 0 ||
      g_ascii_strcasecmp (scheme, "https") == 0;
  const gchar *path = g_uri_get_path (ws->uri);
  const gchar *query = g_uri_get_query (ws->uri);
  const gchar *host = g_uri_get_host (ws->uri);
  gint port = g_uri_get_port (ws->uri);
  GString *request = g_string_sized_new (512);
  guint32 nonce[4];
  gchar *key;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (nonce); i++)
    nonce[i] = g_random_int ();
  key = g_base64_encode ((const guchar *) nonce, sizeof (nonce));
  ws->accept_key = compute_accept_key (key);

  g_string_append_printf (request, "GET %s%s%s HTTP/1.1\r\n",
      *path ? path : "/", query ? "?" : "", query ? query : "");
  g_string_append_printf (request, "Host: %s%s%s", strchr (host, ':') ? "[" :
      "", host, strchr (host, ':') ? "]" : "");
  if (port > 0 && port != (tls ? 443 : 80))
    g_string_append_printf (request, ":%d", port);
  g_string_append_printf (request, "\r\nUpgrade: websocket\r\n"
      "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
      "Sec-WebSocket-Version: 13\r\nUser-Agent: %s\r\n", key, ws->user_agent);
  g_free (key);
  for (i = 0; ws->extra_headers && ws->extra_headers[i]; i += 2) {
    const gchar *name = ws->extra_headers[i];
    const gchar *value = ws->extra_headers[i + 1];

    if (!header_is_safe (name) || !header_is_safe (value) || !*name ||
        strchr (name, ':')) {
      g_set_error (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_CONNECT_FAILED, "invalid extra header '%s'",
          name ? name : "(null)");
      g_string_free (request, TRUE);
      return FALSE;
    }
    g_string_append_printf (request, "%s: %s\r\n", name, value);
  }
  g_string_append (request, "\r\n");

  buffer_reserve (&ws->out, request->len);
  memcpy (ws->out.data + ws->out.end, request->str, request->len);
  ws->out.end += request->len;
  ws->request_bytes_unsent = request->len;
  g_string_free (request, TRUE);
  return TRUE;
}

/* Parses the URL and starts GSocketClient. FALSE with @error when the
 * URL or the headers are unusable. */
static gboolean
start_connect (SioWebSocket * ws, GError ** error)
{
  GError *local_error = NULL;
  const gchar *scheme;
  gboolean tls;
  gint port;
  gchar *connect_uri;

  ws->uri = g_uri_parse (ws->url, G_URI_FLAGS_ENCODED, &local_error);
  if (ws->uri == NULL) {
    g_set_error (error, SIO_WEBSOCKET_ERROR,
        SIO_WEBSOCKET_ERROR_CONNECT_FAILED, "invalid URL %s: %s", ws->url,
        local_error->message);
    g_error_free (local_error);
    return FALSE;
  }
  scheme = g_uri_get_scheme (ws->uri);
  tls = g_ascii_strcasecmp (scheme, "wss") == 0 ||
      g_ascii_strcasecmp (scheme, "https") == 0;
  if (!tls && g_ascii_strcasecmp (scheme, "ws") != 0 &&
      g_ascii_strcasecmp (scheme, "http") != 0) {
    g_set_error (error, SIO_WEBSOCKET_ERROR,
        SIO_WEBSOCKET_ERROR_CONNECT_FAILED, "invalid URL %s: not ws, wss, "
        "http or https", ws->url);
    return FALSE;
  }
  if (g_uri_get_host (ws->uri) == NULL || !*g_uri_get_host (ws->uri)) {
    g_set_error (error, SIO_WEBSOCKET_ERROR,
        SIO_WEBSOCKET_ERROR_CONNECT_FAILED, "invalid URL %s: no host", ws->url);
    return FALSE;
  }
  if (!queue_upgrade_request (ws, error))
    return FALSE;

  port = g_uri_get_port (ws->uri);
  if (port <= 0)
    port = tls ? 443 : 80;
  /* the proxy resolver is asked with the http(s) form, which proxy
   * settings know */
  connect_uri = g_uri_join (G_URI_FLAGS_NONE, tls ? "https" : "http", NULL,
      g_uri_get_host (ws->uri), port, "", NULL, NULL);

  ws->socket_client = g_socket_client_new ();
  g_socket_client_set_tls (ws->socket_client, tls);
  g_socket_client_set_enable_proxy (ws->socket_client, TRUE);
  if (ws->proxy_resolver)
    g_socket_client_set_proxy_resolver (ws->socket_client, ws->proxy_resolver);
  g_signal_connect (ws->socket_client, "event",
      G_CALLBACK (on_socket_client_event), ws);
  g_socket_client_connect_to_uri_async (ws->socket_client, connect_uri,
      port, ws->cancellable, on_connected, ws_ref (ws));
  g_free (connect_uri);

  if (ws->handshake_timeout_ms > 0)
    start_timer (ws, ws->handshake_timeout_ms);
  return TRUE;
}

/* ---- API -------------------------------------------------------------- */

SioWebSocket *
sio_websocket_connect (const SioWebSocketConfig * config,
    const SioWebSocketCallbacks * callbacks, gpointer user_data)
{
  SioWebSocket *ws = g_new0 (SioWebSocket, 1);
  GError *error = NULL;

  ws->ref_count = 1;
  ws->state = STATE_CONNECTING;
  ws->context = g_main_context_ref_thread_default ();
  ws->callbacks = *callbacks;
  ws->user_data = user_data;
  ws->url = g_strdup (config->url ? config->url : "");
  ws->extra_headers = g_strdupv ((gchar **) config->extra_headers);
  ws->user_agent = g_strdup (config->user_agent && *config->user_agent ?
      config->user_agent : DEFAULT_USER_AGENT);
  if (config->tls_database)
    ws->tls_database = g_object_ref (config->tls_database);
  if (config->tls_interaction)
    ws->tls_interaction = g_object_ref (config->tls_interaction);
  ws->tls_accept_invalid = config->tls_accept_invalid;
  if (config->proxy_resolver)
    ws->proxy_resolver = g_object_ref (config->proxy_resolver);
  ws->max_incoming = config->max_incoming_message ?
      config->max_incoming_message : DEFAULT_MAX_INCOMING;
  ws->handshake_timeout_ms = config->handshake_timeout_ms;
  ws->close_timeout_ms = config->close_timeout_ms ?
      config->close_timeout_ms : DEFAULT_CLOSE_TIMEOUT_MS;
  ws->low_water = config->low_water;
  ws->loop = config->loop;
  ws->cancellable = g_cancellable_new ();
  ws->message = g_byte_array_new ();
  ws->out.limit = G_MAXSIZE;
  ws->in.limit = ws->max_incoming + FRAME_HEADER_MAX + READ_CHUNK;
  ws->close_reason = g_strdup ("");
  ws->mask_state = g_random_int () | 1;

  if (!start_connect (ws, &error))
    finish_later (ws, error);
  return ws;
}

gboolean
sio_websocket_send (SioWebSocket * ws, gboolean binary, const guint8 * data,
    gsize length)
{
  GError *error = NULL;

  g_return_val_if_fail (ws != NULL, FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);

  if (!is_open (ws))
    return FALSE;
  append_frame (ws, binary ? OPCODE_BINARY : OPCODE_TEXT, data, length);
  if (ws->corked)
    return TRUE;
  if (!write_pending (ws, &error)) {
    finish_later (ws, error);
    return TRUE;
  }
  note_output_level (ws);
  return TRUE;
}

void
sio_websocket_set_corked (SioWebSocket * ws, gboolean corked)
{
  GError *error = NULL;

  g_return_if_fail (ws != NULL);

  ws->corked = corked;
  if (corked || !is_open (ws))
    return;
  if (!write_pending (ws, &error)) {
    finish_later (ws, error);
    return;
  }
  note_output_level (ws);
}

gsize
sio_websocket_get_pending (SioWebSocket * ws)
{
  return buffer_length (&ws->out);
}

guint64
sio_websocket_get_bytes_written (SioWebSocket * ws)
{
  return ws->bytes_written;
}

guint64
sio_websocket_get_frames_queued (SioWebSocket * ws)
{
  return ws->frames_queued;
}

guint64
sio_websocket_get_messages_received (SioWebSocket * ws)
{
  return ws->messages_received;
}

void
sio_websocket_close (SioWebSocket * ws, gushort code, const gchar * reason)
{
  GError *error = NULL;

  g_return_if_fail (ws != NULL);

  if (ws->state == STATE_CONNECTING || ws->state == STATE_UPGRADING) {
    drop_connection (ws);
    finish_later (ws, NULL);
    return;
  }
  if (!is_open (ws))
    return;
  ws->state = STATE_CLOSING;
  append_close_frame (ws, code, reason);
  start_timer (ws, ws->close_timeout_ms);
  if (!write_pending (ws, &error))
    finish_later (ws, error);
}

void
sio_websocket_free (SioWebSocket * ws)
{
  if (ws == NULL)
    return;
  g_return_if_fail (!ws->freed);

  ws->freed = TRUE;
  ws->state = STATE_CLOSED;
  drop_connection (ws);
  ws_unref (ws);
}

guint
sio_websocket_get_http_status (SioWebSocket * ws)
{
  return ws->http_status;
}

SoupMessageHeaders *
sio_websocket_get_response_headers (SioWebSocket * ws)
{
  return ws->response_headers;
}

gushort
sio_websocket_get_close_code (SioWebSocket * ws)
{
  return ws->close_code;
}

const gchar *
sio_websocket_get_close_reason (SioWebSocket * ws)
{
  return ws->close_reason;
}

GTlsCertificateFlags
sio_websocket_get_tls_errors (SioWebSocket * ws)
{
  return ws->tls_errors;
}
