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

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <gst/gst.h>
#include <libsoup/soup.h>

#include "sio-client.h"
#include "sio-protocol.h"

/* The client logs into its element's category. */
GST_DEBUG_CATEGORY_EXTERN (gst_socketio_sink_debug);
#define GST_CAT_DEFAULT gst_socketio_sink_debug

/* Timers (connect, ping and ack deadlines) are checked this often. */
#define TICK_INTERVAL_MS 20

/* How much one dispatch of the send gate writes at once: it bounds the
 * frame buffer and how long one dispatch keeps the thread busy. */
#define GATE_MAX_EMITS 16
#define GATE_MAX_BYTES (256 * 1024)

/* How long teardown lets cancelled operations finish in the network
 * thread before it gives up on them. */
#define SHUTDOWN_DRAIN_MS 100

/* The largest message we accept from the server. */
#define MAX_INCOMING_PAYLOAD (16 * 1024 * 1024)

typedef struct
{
  guint64 token;
  gchar *args_json;
  GBytes *attachment;
  gboolean want_ack;
} SioEmit;

typedef struct
{
  guint64 token;
  gint64 sent_us;
} PendingAck;

typedef struct
{
  GSource source;
  SioClient *client;
  gpointer fd_tag;
  GIOCondition fd_events;       /* what fd_tag watches now */
} GateSource;

struct _SioClient
{
  /* immutable after creation */
  gchar *url;
  gchar *nsp;
  gchar *auth_json;
  guint connect_timeout_ms;
  guint ack_timeout_ms;
  gboolean reconnect;
  guint reconnect_delay_ms;
  guint reconnect_delay_max_ms;
  guint max_reconnect_attempts;
  SioClientCallbacks callbacks;
  gpointer user_data;

  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;

  /* network thread only */
  SoupSession *session;
  GCancellable *cancellable;    /* cancelled once, by sio_client_free() */
  GCancellable *connect_cancellable;    /* one per connection attempt */
  GSource *reconnect_timer;
  guint reconnect_attempt;
  gboolean has_connected;
  GRand *rand;
  gboolean connect_pending;
  SoupWebsocketConnection *ws;
  GSocket *socket;
  GSource *gate;
  GSource *tick;
  gint64 connect_deadline_us;
  gint64 ping_deadline_us;
  guint ping_window_ms;
  gint64 next_ack_id;
  GHashTable *pending_acks;     /* ack id -> PendingAck */
  SioPacket incoming;           /* a binary packet waiting for attachments */
  gboolean have_incoming;
  GPtrArray *incoming_attachments;
  GString *scratch;
  gboolean close_requested;
  /* WebSocket frames we write ourselves, one write per batch; libsoup
   * only writes its control frames (close, pong) */
  GPollableOutputStream *ostream;
  GByteArray *out;
  guint32 mask_state;

  /* shared with the caller's threads */
  GMutex lock;
  GQueue outgoing;              /* SioEmit, under lock */
  gint outgoing_length;         /* atomic copy for the gate */
  gint state;                   /* atomic SioClientState */
  gsize max_payload;            /* atomic */
  gsize bytes_written;          /* atomic */
  gint live_websockets;         /* atomic: not yet finalized */
};

G_DEFINE_QUARK (sio - client - error - quark, sio_client_error);

const gchar *
sio_client_state_get_name (SioClientState state)
{
  switch (state) {
    case SIO_CLIENT_STATE_IDLE:
      return "idle";
    case SIO_CLIENT_STATE_CONNECTING:
      return "connecting";
    case SIO_CLIENT_STATE_OPENING:
      return "opening";
    case SIO_CLIENT_STATE_JOINING:
      return "joining";
    case SIO_CLIENT_STATE_CONNECTED:
      return "connected";
    case SIO_CLIENT_STATE_CLOSING:
      return "closing";
    case SIO_CLIENT_STATE_CLOSED:
      return "closed";
    case SIO_CLIENT_STATE_RECONNECTING:
      return "reconnecting";
  }
  return "unknown";
}

static SioClientState
get_state (SioClient * client)
{
  return (SioClientState) g_atomic_int_get (&client->state);
}

static void
emit_free (SioEmit * emit)
{
  g_free (emit->args_json);
  g_bytes_unref (emit->attachment);
  g_free (emit);
}

static void
set_state (SioClient * client, SioClientState state, const GError * error)
{
  SioClientState old = get_state (client);

  if (old == state)
    return;
  GST_DEBUG ("%s: %s -> %s%s%s", client->url, sio_client_state_get_name (old),
      sio_client_state_get_name (state), error ? ": " : "",
      error ? error->message : "");
  g_atomic_int_set (&client->state, state);
  client->callbacks.state_changed (client, state, error, client->user_data);
}

/* Reports every emit that can no longer complete: queued ones and those
 * still waiting for an ack. */
static void
fail_all_emits (SioClient * client)
{
  GQueue queued = G_QUEUE_INIT;
  GHashTableIter iter;
  gpointer value;
  SioEmit *emit;

  g_mutex_lock (&client->lock);
  queued = client->outgoing;
  g_queue_init (&client->outgoing);
  g_atomic_int_set (&client->outgoing_length, 0);
  g_mutex_unlock (&client->lock);

  g_hash_table_iter_init (&iter, client->pending_acks);
  while (g_hash_table_iter_next (&iter, NULL, &value)) {
    PendingAck *pending = value;

    client->callbacks.emit_done (client, pending->token, SIO_EMIT_LOST, -1,
        client->user_data);
    g_hash_table_iter_remove (&iter);
  }

  while ((emit = g_queue_pop_head (&queued)) != NULL) {
    client->callbacks.emit_done (client, emit->token, SIO_EMIT_LOST, -1,
        client->user_data);
    emit_free (emit);
  }
}

static void
clear_incoming (SioClient * client)
{
  if (client->have_incoming) {
    sio_packet_clear (&client->incoming);
    client->have_incoming = FALSE;
  }
  g_ptr_array_set_size (client->incoming_attachments, 0);
}

static gboolean
release_websocket (gpointer ws)
{
  g_object_unref (ws);
  return G_SOURCE_REMOVE;
}

/* Drops the WebSocket at once. Closing the socket first makes sure no
 * close handshake or TLS close_notify can wait on a frozen server. */
static void
drop_connection (SioClient * client)
{
  if (client->gate) {
    GateSource *gate = (GateSource *) client->gate;

    if (gate->fd_tag) {
      g_source_remove_unix_fd (client->gate, gate->fd_tag);
      gate->fd_tag = NULL;
    }
  }

  if (client->ws) {
    GSource *idle = g_idle_source_new ();

    g_signal_handlers_disconnect_by_data (client->ws, client);
    if (client->socket)
      g_socket_close (client->socket, NULL);
    /* this may run inside one of the WebSocket's own signal emissions:
     * let go of it from the main loop, not from under libsoup's feet */
    g_source_set_callback (idle, release_websocket, client->ws, NULL);
    g_source_attach (idle, client->context);
    g_source_unref (idle);
    client->ws = NULL;
  }
  client->ostream = NULL;
  g_byte_array_set_size (client->out, 0);
  g_clear_object (&client->socket);
  clear_incoming (client);
}

static void start_connect (SioClient * client);

/* Losses worth another attempt. The server's own DISCONNECT, a refused
 * namespace and an old protocol will not get better by retrying. */
static gboolean
error_is_retriable (const GError * error)
{
  if (error == NULL || error->domain != SIO_CLIENT_ERROR)
    return FALSE;
  switch ((SioClientError) error->code) {
    case SIO_CLIENT_ERROR_CONNECT_FAILED:
    case SIO_CLIENT_ERROR_CONNECT_TIMEOUT:
    case SIO_CLIENT_ERROR_CONNECTION_LOST:
    case SIO_CLIENT_ERROR_PROTOCOL:
      return TRUE;
    default:
      return FALSE;
  }
}

/* delay × 2^(attempt-1) capped at delay_max, with "equal jitter": half
 * fixed, half random, so clients that lost the same server do not all
 * come back at the same instant. */
static guint
reconnect_delay_ms (SioClient * client)
{
  guint64 base = client->reconnect_delay_ms;
  guint i;

  for (i = 1; i < client->reconnect_attempt &&
      base < client->reconnect_delay_max_ms; i++)
    base *= 2;
  base = MIN (base, client->reconnect_delay_max_ms);
  return (guint) (base / 2 + g_rand_int_range (client->rand, 0,
          (gint32) MIN (base / 2 + 1, G_MAXINT32)));
}

static gboolean
on_reconnect_timer (gpointer user_data)
{
  SioClient *client = user_data;

  g_clear_pointer (&client->reconnect_timer, g_source_unref);
  GST_INFO ("%s: reconnection attempt %u", client->url,
      client->reconnect_attempt);
  start_connect (client);
  return G_SOURCE_REMOVE;
}

/* Ends the connection. A retriable loss of a connection that had been
 * established schedules the next attempt (RECONNECTING); anything else is
 * final (CLOSED), with @error saying why, or NULL for a clean close. */
static void
close_with_error (SioClient * client, GError * error)
{
  guint delay;

  if (get_state (client) == SIO_CLIENT_STATE_CLOSED) {
    g_clear_error (&error);
    return;
  }
  GST_INFO ("%s: connection ends: %s", client->url,
      error ? error->message : "cleanly");
  if (client->connect_cancellable)
    g_cancellable_cancel (client->connect_cancellable);
  drop_connection (client);
  fail_all_emits (client);

  if (!client->reconnect || !client->has_connected ||
      client->close_requested || g_cancellable_is_cancelled
      (client->cancellable) || !error_is_retriable (error)) {
    set_state (client, SIO_CLIENT_STATE_CLOSED, error);
    g_clear_error (&error);
    return;
  }

  if (client->max_reconnect_attempts > 0 &&
      client->reconnect_attempt >= client->max_reconnect_attempts) {
    GError *final = g_error_new (SIO_CLIENT_ERROR, error->code,
        "gave up after %u reconnection attempts: %s",
        client->reconnect_attempt, error->message);

    set_state (client, SIO_CLIENT_STATE_CLOSED, final);
    g_error_free (final);
    g_clear_error (&error);
    return;
  }

  client->reconnect_attempt++;
  delay = reconnect_delay_ms (client);
  GST_INFO ("%s: reconnecting in %u ms (attempt %u)", client->url, delay,
      client->reconnect_attempt);
  set_state (client, SIO_CLIENT_STATE_RECONNECTING, error);
  g_clear_error (&error);
  client->reconnect_timer = g_timeout_source_new (delay);
  g_source_set_callback (client->reconnect_timer, on_reconnect_timer, client,
      NULL);
  g_source_attach (client->reconnect_timer, client->context);
}

static guint32
next_mask (SioClient * client)
{
  /* xorshift32: masks only need to be unpredictable to the page script
   * RFC 6455 guards against, not cryptographic */
  guint32 x = client->mask_state;

  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  client->mask_state = x;
  return x;
}

/* Appends one masked client frame to client->out. */
static void
append_frame (SioClient * client, guint8 opcode, const guint8 * data,
    gsize length)
{
  guint8 header[14], mask[8];
  gsize h = 0, old = client->out->len, i;
  guint32 m = next_mask (client);
  guint64 m64;
  guint8 *dst;

  header[h++] = 0x80 | opcode;
  if (length < 126) {
    header[h++] = 0x80 | (guint8) length;
  } else if (length < 65536) {
    header[h++] = 0x80 | 126;
    header[h++] = (length >> 8) & 0xff;
    header[h++] = length & 0xff;
  } else {
    gint shift;

    header[h++] = 0x80 | 127;
    for (shift = 56; shift >= 0; shift -= 8)
      header[h++] = ((guint64) length >> shift) & 0xff;
  }
  memcpy (mask, &m, 4);
  memcpy (mask + 4, &m, 4);
  memcpy (header + h, mask, 4);
  h += 4;

  g_byte_array_set_size (client->out, old + h + length);
  dst = client->out->data + old;
  memcpy (dst, header, h);
  dst += h;
  memcpy (&m64, mask, 8);
  for (i = 0; i + 8 <= length; i += 8) {
    guint64 v;

    memcpy (&v, data + i, 8);
    v ^= m64;
    memcpy (dst + i, &v, 8);
  }
  for (; i < length; i++)
    dst[i] = data[i] ^ mask[i & 3];
  g_atomic_pointer_add (&client->bytes_written, length);
}

/* Waits until the socket takes more, the link is declared dead or the
 * client is being freed (its cancellable). */
static gboolean
wait_writable (SioClient * client, gint64 deadline_us)
{
  GPollFD fds[2];
  guint n = 1;
  gint64 now = g_get_monotonic_time ();

  if (client->socket == NULL || now >= deadline_us ||
      g_cancellable_is_cancelled (client->cancellable))
    return FALSE;

  fds[0].fd = g_socket_get_fd (client->socket);
  fds[0].events = G_IO_OUT;
  fds[0].revents = 0;
  if (g_cancellable_make_pollfd (client->cancellable, &fds[1]))
    n = 2;
  g_poll (fds, n, (gint) MIN ((deadline_us - now + 999) / 1000, G_MAXINT));
  if (n == 2)
    g_cancellable_release_fd (client->cancellable);
  return !g_cancellable_is_cancelled (client->cancellable);
}

/* Writes everything client->out holds before returning. libsoup writes
 * its own control frames (pong, close) on the same stream from this
 * thread's main loop: a frame of ours left half-written when control goes
 * back to the loop could be cut in two by one of them. While the socket is
 * full nothing else could go out anyway, so this waits, for at most the
 * server's ping window, and the client's cancellable ends the wait at
 * once. TRUE when all was written. */
static gboolean
flush_out (SioClient * client)
{
  gint64 deadline = g_get_monotonic_time () +
      (gint64) MAX (client->ping_window_ms, 1000) * 1000;
  gsize sent = 0;

  while (sent < client->out->len) {
    GError *error = NULL;
    gssize n;

    n = g_pollable_output_stream_write_nonblocking (client->ostream,
        client->out->data + sent, client->out->len - sent, NULL, &error);
    if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error (&error);
      if (wait_writable (client, deadline))
        continue;
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_CONNECTION_LOST, "the server took no data "
              "for %u ms", MAX (client->ping_window_ms, 1000)));
      return FALSE;
    }
    if (n < 0) {
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_CONNECTION_LOST, "write failed: %s",
              error->message));
      g_clear_error (&error);
      return FALSE;
    }
    sent += n;
  }
  g_byte_array_set_size (client->out, 0);
  return TRUE;
}

static void
send_text (SioClient * client, const gchar * text)
{
  if (client->ws == NULL || client->ostream == NULL ||
      soup_websocket_connection_get_state (client->ws) !=
      SOUP_WEBSOCKET_STATE_OPEN)
    return;
  append_frame (client, 0x1, (const guint8 *) text, strlen (text));
  flush_out (client);
}

static void
write_one_emit (SioClient * client, SioEmit * emit)
{
  gint64 ack_id = -1;
  gsize size;
  const guint8 *data;

  if (emit->want_ack)
    ack_id = client->next_ack_id++;

  g_string_truncate (client->scratch, 0);
  sio_packet_encode (client->scratch, SIO_PACKET_BINARY_EVENT, client->nsp, 1,
      ack_id, emit->args_json);
  /* header and attachment go out back to back, in the same buffer */
  append_frame (client, 0x1, (const guint8 *) client->scratch->str,
      client->scratch->len);
  data = g_bytes_get_data (emit->attachment, &size);
  append_frame (client, 0x2, data, size);

  if (emit->want_ack) {
    PendingAck *pending = g_new (PendingAck, 1);

    pending->token = emit->token;
    pending->sent_us = g_get_monotonic_time ();
    g_hash_table_insert (client->pending_acks, g_memdup2 (&ack_id,
            sizeof (ack_id)), pending);
  } else {
    client->callbacks.emit_done (client, emit->token, SIO_EMIT_WRITTEN, -1,
        client->user_data);
  }
  emit_free (emit);
}

/* The send gate: a low-priority source that is ready when emits are queued
 * and the socket is writable. Its low priority lets libsoup's own sources
 * (reads, pongs, close) go first; flush_out() finishes every write before
 * the dispatch returns, so nothing is left pending between dispatches. */
static gboolean
gate_wanted (SioClient * client)
{
  if (client->ws == NULL || client->ostream == NULL)
    return FALSE;
  return g_atomic_int_get (&client->outgoing_length) > 0 &&
      get_state (client) == SIO_CLIENT_STATE_CONNECTED;
}

static gboolean
gate_prepare (GSource * source, gint * timeout)
{
  GateSource *gate = (GateSource *) source;
  gboolean wanted = gate_wanted (gate->client);

  *timeout = -1;
  if (gate->fd_tag) {
    GIOCondition events = wanted ? G_IO_OUT : 0;

    /* g_source_modify_unix_fd() wakes the context up: calling it on every
     * prepare makes the next poll return at once, forever (a busy loop) */
    if (events != gate->fd_events) {
      g_source_modify_unix_fd (source, gate->fd_tag, events);
      gate->fd_events = events;
    }
  } else if (wanted)
    return TRUE;                /* no socket to watch: hand over directly */
  return FALSE;
}

static gboolean
gate_check (GSource * source)
{
  GateSource *gate = (GateSource *) source;

  if (!gate_wanted (gate->client))
    return FALSE;
  if (gate->fd_tag == NULL)
    return TRUE;
  return (g_source_query_unix_fd (source, gate->fd_tag) & G_IO_OUT) != 0;
}

static gboolean
gate_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  SioClient *client = ((GateSource *) source)->client;
  gsize bytes = 0;
  guint emits = 0;

  while (emits < GATE_MAX_EMITS && bytes < GATE_MAX_BYTES &&
      get_state (client) == SIO_CLIENT_STATE_CONNECTED && client->ws) {
    SioEmit *emit;

    g_mutex_lock (&client->lock);
    emit = g_queue_pop_head (&client->outgoing);
    if (emit)
      g_atomic_int_add (&client->outgoing_length, -1);
    g_mutex_unlock (&client->lock);
    if (emit == NULL)
      break;

    bytes += g_bytes_get_size (emit->attachment);
    write_one_emit (client, emit);
    emits++;
  }
  /* one write for the whole batch, finished before returning */
  if (client->out->len > 0)
    flush_out (client);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs gate_funcs = {
  gate_prepare, gate_check, gate_dispatch, NULL, NULL, NULL
};

static void
send_connect (SioClient * client)
{
  g_string_truncate (client->scratch, 0);
  sio_packet_encode (client->scratch, SIO_PACKET_CONNECT, client->nsp, 0, -1,
      client->auth_json);
  send_text (client, client->scratch->str);
}

static void
handle_open (SioClient * client, const gchar * data, gsize length)
{
  SioEioOpen open;
  GError *error = NULL;

  if (get_state (client) != SIO_CLIENT_STATE_OPENING) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "unexpected second Engine.IO open"));
    return;
  }
  if (!sio_eio_parse_open (data, length, &open, &error)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "bad Engine.IO handshake: %s",
            error->message));
    g_clear_error (&error);
    return;
  }

  GST_INFO ("%s: Engine.IO session %s, ping every %u ms (timeout %u ms), "
      "maxPayload %" G_GUINT64_FORMAT, client->url, open.sid,
      open.ping_interval_ms, open.ping_timeout_ms, open.max_payload);
  g_atomic_pointer_set (&client->max_payload, (gsize) open.max_payload);
  client->ping_window_ms = open.ping_interval_ms + open.ping_timeout_ms;
  client->ping_deadline_us = g_get_monotonic_time () +
      (gint64) client->ping_window_ms * 1000;
  sio_eio_open_clear (&open);

  set_state (client, SIO_CLIENT_STATE_JOINING, NULL);
  send_connect (client);
}

static void
deliver_event (SioClient * client, SioPacket * packet)
{
  const gchar *name = sio_packet_get_event_name (packet);
  gchar *args = sio_packet_dup_args_json (packet);

  GST_DEBUG ("%s: server event '%s' %.200s", client->url, name, args);
  client->callbacks.server_event (client, name, args,
      client->incoming_attachments, client->user_data);

  /* the server asked for an ack: give it an empty one */
  if (packet->ack_id >= 0) {
    g_string_truncate (client->scratch, 0);
    sio_packet_encode (client->scratch, SIO_PACKET_ACK, client->nsp, 0,
        packet->ack_id, "[]");
    send_text (client, client->scratch->str);
  }
  g_free (args);
}

static void
handle_ack_id (SioClient * client, gint64 ack_id)
{
  PendingAck *pending;

  pending = g_hash_table_lookup (client->pending_acks, &ack_id);
  if (pending == NULL) {
    /* late ack after a timeout, or never asked for */
    GST_DEBUG ("%s: ack %" G_GINT64_FORMAT " matches no emit", client->url,
        ack_id);
    return;
  }
  client->callbacks.emit_done (client, pending->token, SIO_EMIT_ACKED,
      g_get_monotonic_time () - pending->sent_us, client->user_data);
  g_hash_table_remove (client->pending_acks, &ack_id);
}

/* Packets for namespaces this client did not join are ignored. */
static gboolean
is_own_namespace (SioClient * client, const gchar * nsp, gsize nsp_length)
{
  const gchar *own = client->nsp ? client->nsp : "/";

  if (nsp_length == strlen (own) && memcmp (nsp, own, nsp_length) == 0)
    return TRUE;
  GST_DEBUG ("%s: ignoring a packet for namespace %.*s", client->url,
      (gint) MIN (nsp_length, 200), nsp);
  return FALSE;
}

static void
handle_complete_packet (SioClient * client, SioPacket * packet)
{
  switch (packet->type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
      if (get_state (client) == SIO_CLIENT_STATE_CONNECTED)
        deliver_event (client, packet);
      break;
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
      handle_ack_id (client, packet->ack_id);
      break;
    default:
      break;
  }
}

static void
handle_packet (SioClient * client, const gchar * data, gsize length)
{
  SioPacket packet;
  GError *error = NULL;
  const gchar *ack_nsp;
  gsize ack_nsp_length;
  gint64 ack_id;

  /* acks are nearly all a streaming client receives and it ignores their
   * arguments: no JSON tree for them */
  if (sio_packet_peek_ack (data, length, &ack_nsp, &ack_nsp_length, &ack_id)) {
    if (is_own_namespace (client, ack_nsp, ack_nsp_length))
      handle_ack_id (client, ack_id);
    return;
  }

  if (!sio_packet_decode (data, length, &packet, &error)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "%s", error->message));
    g_clear_error (&error);
    return;
  }

  /* the attachments that follow are read whatever the namespace; a
   * packet for another one is ignored once they are in */
  if (packet.attachments > 0) {
    /* the text goes when this returns, the packet waits */
    sio_packet_detach (&packet);
    client->incoming = packet;
    client->have_incoming = TRUE;
    return;
  }

  if (!is_own_namespace (client, packet.nsp, strlen (packet.nsp))) {
    sio_packet_clear (&packet);
    return;
  }

  switch (packet.type) {
    case SIO_PACKET_CONNECT:
      /* v5 servers always answer with {"sid":…}; v4 servers send a bare
       * "40", unasked, for the main namespace */
      if (packet.json == NULL) {
        close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
                SIO_CLIENT_ERROR_OLD_PROTOCOL, "CONNECT without a sid: "
                "Socket.IO protocol v4"));
        break;
      }
      if (get_state (client) == SIO_CLIENT_STATE_JOINING) {
        client->has_connected = TRUE;
        client->reconnect_attempt = 0;
        set_state (client, SIO_CLIENT_STATE_CONNECTED, NULL);
        /* emits queued while connecting can go now */
        g_main_context_wakeup (client->context);
      }
      break;
    case SIO_PACKET_CONNECT_ERROR:{
      gchar *message = sio_packet_dup_error_message (&packet);

      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_REFUSED, "%s", message));
      g_free (message);
      break;
    }
    case SIO_PACKET_DISCONNECT:
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_SERVER_DISCONNECT,
              "the server disconnected the client"));
      break;
    default:
      handle_complete_packet (client, &packet);
      break;
  }
  sio_packet_clear (&packet);
}

static void
on_ws_message (SoupWebsocketConnection * ws, gint type, GBytes * message,
    SioClient * client)
{
  gsize length;
  const gchar *data = g_bytes_get_data (message, &length);
  const gchar *payload;
  gsize payload_length;
  SioEioType eio_type;
  GError *error = NULL;

  if (type == SOUP_WEBSOCKET_DATA_BINARY) {
    if (!client->have_incoming) {
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_PROTOCOL, "binary message nobody announced"));
      return;
    }
    g_ptr_array_add (client->incoming_attachments, g_bytes_ref (message));
    if (client->incoming_attachments->len == client->incoming.attachments) {
      if (is_own_namespace (client, client->incoming.nsp,
              strlen (client->incoming.nsp)))
        handle_complete_packet (client, &client->incoming);
      clear_incoming (client);
    }
    return;
  }

  if (client->have_incoming) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "text message while %u attachments "
            "were still due", client->incoming.attachments -
            client->incoming_attachments->len));
    return;
  }

  if (!sio_eio_decode_text (data, length, &eio_type, &payload,
          &payload_length, &error)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "%s", error->message));
    g_clear_error (&error);
    return;
  }

  switch (eio_type) {
    case SIO_EIO_OPEN:
      handle_open (client, payload, payload_length);
      break;
    case SIO_EIO_PING:
      /* answered at once, from this thread: never behind queued audio */
      client->ping_deadline_us = g_get_monotonic_time () +
          (gint64) client->ping_window_ms * 1000;
      send_text (client, "3");
      break;
    case SIO_EIO_CLOSE:
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_SERVER_DISCONNECT,
              "the server closed the Engine.IO session"));
      break;
    case SIO_EIO_MESSAGE:
      if (get_state (client) < SIO_CLIENT_STATE_JOINING) {
        close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
                SIO_CLIENT_ERROR_PROTOCOL, "message before the handshake"));
        break;
      }
      handle_packet (client, payload, payload_length);
      break;
    default:
      /* pong, upgrade and noop mean nothing on a WebSocket-only client */
      break;
  }
}

static void
on_ws_closed (SoupWebsocketConnection * ws, SioClient * client)
{
  gushort code = soup_websocket_connection_get_close_code (ws);

  if (get_state (client) == SIO_CLIENT_STATE_CLOSING) {
    close_with_error (client, NULL);
    return;
  }
  close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
          SIO_CLIENT_ERROR_CONNECTION_LOST,
          "the WebSocket closed (code %u%s)", code,
          code == SOUP_WEBSOCKET_CLOSE_TOO_BIG ?
          ": a message was larger than the server accepts" : ""));
}

static void
on_ws_error (SoupWebsocketConnection * ws, GError * error, SioClient * client)
{
  GST_WARNING ("%s: WebSocket error: %s", client->url, error->message);
}

static void
on_network_event (SoupMessage * msg, GSocketClientEvent event,
    GIOStream * connection, SioClient * client)
{
  /* the plain TCP socket, even under TLS: the send gate watches it */
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION (connection)) {
    g_clear_object (&client->socket);
    client->socket = g_object_ref (g_socket_connection_get_socket
        (G_SOCKET_CONNECTION (connection)));
  }
}

static void
on_ws_finalized (gpointer user_data, GObject * where_the_object_was)
{
  SioClient *client = user_data;

  g_atomic_int_dec_and_test (&client->live_websockets);
}

static void
on_ws_connected (GObject * source, GAsyncResult * result, gpointer user_data)
{
  SioClient *client = user_data;
  GError *error = NULL;
  SoupWebsocketConnection *ws;

  client->connect_pending = FALSE;
  ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
      &error);
  if (ws == NULL) {
    if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
        get_state (client) == SIO_CLIENT_STATE_CONNECTING)
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_CONNECT_FAILED, "%s", error->message));
    g_clear_error (&error);
    return;
  }

  if (get_state (client) != SIO_CLIENT_STATE_CONNECTING) {
    /* timed out or shut down meanwhile */
    g_object_unref (ws);
    return;
  }

  client->ws = ws;
  client->ostream = G_POLLABLE_OUTPUT_STREAM (g_io_stream_get_output_stream
      (soup_websocket_connection_get_io_stream (ws)));
  client->mask_state = g_random_int () | 1;
  /* libsoup closes the stream asynchronously once the last ref is gone:
   * shutdown waits for that in this thread */
  g_atomic_int_inc (&client->live_websockets);
  g_object_weak_ref (G_OBJECT (ws), on_ws_finalized, client);
  soup_websocket_connection_set_max_incoming_payload_size (ws,
      MAX_INCOMING_PAYLOAD);
  g_signal_connect (ws, "message", G_CALLBACK (on_ws_message), client);
  g_signal_connect (ws, "closed", G_CALLBACK (on_ws_closed), client);
  g_signal_connect (ws, "error", G_CALLBACK (on_ws_error), client);

  if (client->socket) {
    GateSource *gate = (GateSource *) client->gate;

    gate->fd_tag = g_source_add_unix_fd (client->gate,
        g_socket_get_fd (client->socket), 0);
    gate->fd_events = 0;
  } else {
    GST_WARNING ("%s: no socket to watch: a write the socket cannot take "
        "at once will end the connection", client->url);
  }
  set_state (client, SIO_CLIENT_STATE_OPENING, NULL);
}

static void
start_connect (SioClient * client)
{
  SoupMessage *msg;

  msg = soup_message_new (SOUP_METHOD_GET, client->url);
  if (msg == NULL) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECT_FAILED, "invalid URL %s", client->url));
    return;
  }
  g_signal_connect (msg, "network-event", G_CALLBACK (on_network_event),
      client);

  client->connect_deadline_us = g_get_monotonic_time () +
      (gint64) client->connect_timeout_ms * 1000;
  client->next_ack_id = 0;
  client->ping_window_ms = 0;
  g_clear_object (&client->connect_cancellable);
  client->connect_cancellable = g_cancellable_new ();
  set_state (client, SIO_CLIENT_STATE_CONNECTING, NULL);
  client->connect_pending = TRUE;
  soup_session_websocket_connect_async (client->session, msg, NULL, NULL,
      G_PRIORITY_DEFAULT, client->connect_cancellable, on_ws_connected, client);
  g_object_unref (msg);
}

static gboolean
on_tick (gpointer user_data)
{
  SioClient *client = user_data;
  SioClientState state = get_state (client);
  gint64 now = g_get_monotonic_time ();

  if (state >= SIO_CLIENT_STATE_CONNECTING &&
      state <= SIO_CLIENT_STATE_JOINING && client->connect_timeout_ms > 0 &&
      now >= client->connect_deadline_us) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECT_TIMEOUT,
            "not connected after %u ms (stuck while %s)",
            client->connect_timeout_ms, sio_client_state_get_name (state)));
    return G_SOURCE_CONTINUE;
  }

  if ((state == SIO_CLIENT_STATE_JOINING || state == SIO_CLIENT_STATE_CONNECTED)
      && client->ping_window_ms > 0 && now >= client->ping_deadline_us) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST,
            "no ping from the server for %u ms", client->ping_window_ms));
    return G_SOURCE_CONTINUE;
  }

  if (client->ack_timeout_ms > 0 && g_hash_table_size (client->pending_acks)) {
    GHashTableIter iter;
    gpointer value;
    gint64 limit = now - (gint64) client->ack_timeout_ms * 1000;

    g_hash_table_iter_init (&iter, client->pending_acks);
    while (g_hash_table_iter_next (&iter, NULL, &value)) {
      PendingAck *pending = value;

      if (pending->sent_us <= limit) {
        client->callbacks.emit_done (client, pending->token,
            SIO_EMIT_ACK_TIMEOUT, -1, client->user_data);
        g_hash_table_iter_remove (&iter);
      }
    }
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
do_close (gpointer user_data)
{
  SioClient *client = user_data;

  client->close_requested = TRUE;
  if (get_state (client) == SIO_CLIENT_STATE_CLOSED)
    return G_SOURCE_REMOVE;

  if (client->reconnect_timer) {
    g_source_destroy (client->reconnect_timer);
    g_clear_pointer (&client->reconnect_timer, g_source_unref);
  }
  if (get_state (client) != SIO_CLIENT_STATE_CONNECTED || client->ws == NULL) {
    close_with_error (client, NULL);
    return G_SOURCE_REMOVE;
  }

  set_state (client, SIO_CLIENT_STATE_CLOSING, NULL);
  g_string_truncate (client->scratch, 0);
  sio_packet_encode (client->scratch, SIO_PACKET_DISCONNECT, client->nsp, 0,
      -1, NULL);
  send_text (client, client->scratch->str);
  send_text (client, "1");
  /* our frames are all out (send_text() finishes its write, or drops the
   * connection): libsoup sends the close frame and waits for the
   * server's; on_ws_closed() finishes */
  if (client->ws)
    soup_websocket_connection_close (client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL,
        NULL);
  return G_SOURCE_REMOVE;
}

static gboolean
do_shutdown (gpointer user_data)
{
  SioClient *client = user_data;

  g_cancellable_cancel (client->cancellable);
  if (client->reconnect_timer) {
    g_source_destroy (client->reconnect_timer);
    g_clear_pointer (&client->reconnect_timer, g_source_unref);
  }
  if (client->ws && get_state (client) == SIO_CLIENT_STATE_CONNECTED) {
    /* best effort, never waited for: the socket closes right after */
    g_string_truncate (client->scratch, 0);
    sio_packet_encode (client->scratch, SIO_PACKET_DISCONNECT, client->nsp,
        0, -1, NULL);
    send_text (client, client->scratch->str);
  }
  close_with_error (client, NULL);
  soup_session_abort (client->session);
  g_main_loop_quit (client->loop);
  return G_SOURCE_REMOVE;
}

static gboolean
drain_deadline_reached (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
network_thread (gpointer user_data)
{
  SioClient *client = user_data;
  GSource *deadline;
  gboolean expired = FALSE;

  g_main_context_push_thread_default (client->context);

  client->session = soup_session_new_with_options ("timeout", 0,
      "idle-timeout", 0, NULL);
  /* no permessage-deflate: compressing audio costs CPU and saves nothing */
  soup_session_remove_feature_by_type (client->session,
      SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  client->tick = g_timeout_source_new (TICK_INTERVAL_MS);
  g_source_set_callback (client->tick, on_tick, client, NULL);
  g_source_attach (client->tick, client->context);

  client->gate = g_source_new (&gate_funcs, sizeof (GateSource));
  ((GateSource *) client->gate)->client = client;
  g_source_set_priority (client->gate, G_PRIORITY_LOW);
  g_source_attach (client->gate, client->context);

  start_connect (client);
  g_main_loop_run (client->loop);

  g_source_destroy (client->tick);
  g_clear_pointer (&client->tick, g_source_unref);
  g_source_destroy (client->gate);
  g_clear_pointer (&client->gate, g_source_unref);

  /* let cancelled operations and libsoup's stream close finish here, so
   * nothing is left referencing this context; bounded for frozen peers */
  g_clear_object (&client->session);
  deadline = g_timeout_source_new (SHUTDOWN_DRAIN_MS);
  g_source_set_callback (deadline, drain_deadline_reached, &expired, NULL);
  g_source_attach (deadline, client->context);
  while ((client->connect_pending ||
          g_atomic_int_get (&client->live_websockets) > 0) && !expired)
    g_main_context_iteration (client->context, TRUE);
  while (!expired && g_main_context_pending (client->context))
    g_main_context_iteration (client->context, FALSE);
  g_source_destroy (deadline);
  g_source_unref (deadline);
  if (client->connect_pending || g_atomic_int_get (&client->live_websockets))
    GST_WARNING ("%s: connection did not finish closing in %d ms",
        client->url, SHUTDOWN_DRAIN_MS);

  g_main_context_pop_thread_default (client->context);
  return NULL;
}

void
sio_client_init_types (void)
{
  SoupSession *session;
  SoupMessage *msg;

  g_type_ensure (G_TYPE_TASK);
  g_type_ensure (G_TYPE_CANCELLABLE);
  g_type_ensure (G_TYPE_SOCKET);
  g_type_ensure (G_TYPE_SOCKET_CLIENT);
  g_type_ensure (G_TYPE_SOCKET_CONNECTION);
  g_type_ensure (G_TYPE_TCP_CONNECTION);
  g_type_ensure (G_TYPE_INET_SOCKET_ADDRESS);
  g_type_ensure (G_TYPE_NETWORK_ADDRESS);
  g_type_ensure (SOUP_TYPE_WEBSOCKET_CONNECTION);
  g_type_ensure (SOUP_TYPE_WEBSOCKET_EXTENSION_MANAGER);
  /* a session and a message initialize the classes they pull in */
  session = soup_session_new ();
  msg = soup_message_new (SOUP_METHOD_GET, "http://127.0.0.1/");
  g_object_unref (msg);
  g_object_unref (session);
}

SioClient *
sio_client_new (const SioClientConfig * config,
    const SioClientCallbacks * callbacks, gpointer user_data)
{
  SioClient *client = g_new0 (SioClient, 1);

  client->url = g_strdup (config->url);
  if (config->nsp && strcmp (config->nsp, "/") != 0)
    client->nsp = g_strdup (config->nsp);
  client->auth_json = g_strdup (config->auth_json);
  client->connect_timeout_ms = config->connect_timeout_ms;
  client->ack_timeout_ms = config->ack_timeout_ms;
  client->reconnect = config->reconnect;
  client->reconnect_delay_ms = config->reconnect_delay_ms;
  client->reconnect_delay_max_ms = MAX (config->reconnect_delay_max_ms,
      config->reconnect_delay_ms);
  client->max_reconnect_attempts = config->max_reconnect_attempts;
  client->rand = g_rand_new ();
  client->callbacks = *callbacks;
  client->user_data = user_data;

  g_mutex_init (&client->lock);
  g_queue_init (&client->outgoing);
  client->pending_acks = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, g_free);
  client->incoming_attachments =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  client->scratch = g_string_sized_new (256);
  client->out = g_byte_array_sized_new (64 * 1024);
  client->cancellable = g_cancellable_new ();
  client->context = g_main_context_new ();
  client->loop = g_main_loop_new (client->context, FALSE);
  g_atomic_int_set (&client->state, SIO_CLIENT_STATE_IDLE);

  client->thread = g_thread_new ("socketio-net", network_thread, client);
  return client;
}

void
sio_client_emit (SioClient * client, guint64 token, gchar * args_json,
    GBytes * attachment, gboolean want_ack)
{
  SioEmit *emit = g_new (SioEmit, 1);
  gboolean was_empty;

  emit->token = token;
  emit->args_json = args_json;
  emit->attachment = attachment;
  emit->want_ack = want_ack;

  g_mutex_lock (&client->lock);
  was_empty = g_queue_is_empty (&client->outgoing);
  g_queue_push_tail (&client->outgoing, emit);
  g_atomic_int_add (&client->outgoing_length, 1);
  g_mutex_unlock (&client->lock);

  /* the gate re-reads the queue length when the context wakes up */
  if (was_empty)
    g_main_context_wakeup (client->context);
}

void
sio_client_close (SioClient * client)
{
  g_main_context_invoke (client->context, do_close, client);
}

void
sio_client_free (SioClient * client)
{
  if (client == NULL)
    return;

  /* ends a write blocked on a full socket, so the thread gets to run
   * do_shutdown() at once */
  g_cancellable_cancel (client->cancellable);
  g_main_context_invoke (client->context, do_shutdown, client);
  g_thread_join (client->thread);

  /* emits that raced with the shutdown */
  fail_all_emits (client);

  g_hash_table_unref (client->pending_acks);
  g_ptr_array_unref (client->incoming_attachments);
  g_string_free (client->scratch, TRUE);
  g_byte_array_unref (client->out);
  g_object_unref (client->cancellable);
  g_clear_object (&client->connect_cancellable);
  g_rand_free (client->rand);
  g_main_loop_unref (client->loop);
  g_main_context_unref (client->context);
  g_mutex_clear (&client->lock);
  g_free (client->url);
  g_free (client->nsp);
  g_free (client->auth_json);
  g_free (client);
}

guint64
sio_client_get_max_payload (SioClient * client)
{
  return (guint64) g_atomic_pointer_get (&client->max_payload);
}

guint64
sio_client_get_bytes_written (SioClient * client)
{
  return (guint64) g_atomic_pointer_get (&client->bytes_written);
}
