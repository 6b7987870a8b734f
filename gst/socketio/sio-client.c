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
#include "sio-loop.h"
#include "sio-polling.h"
#include "sio-protocol.h"
#include "sio-websocket.h"

/* The client logs into its element's category. */
GST_DEBUG_CATEGORY_EXTERN (gst_socketio_sink_debug);
#define GST_CAT_DEFAULT gst_socketio_sink_debug

/* How much one dispatch of the send gate writes at once: it bounds the
 * frame buffer and how long one dispatch keeps the thread busy. */
#define GATE_MAX_EMITS 16
#define GATE_MAX_BYTES (256 * 1024)

/* Engine.IO timings outside these bounds are not believed: a server
 * announcing pingInterval or pingTimeout 0 (or days) must not switch the
 * dead-server watchdog off; the Engine.IO defaults apply instead. */
#define MIN_PING_MS 100
#define MAX_PING_MS (10 * 60 * 1000)
#define DEFAULT_PING_INTERVAL_MS 25000
#define DEFAULT_PING_TIMEOUT_MS 20000

/* A connection is healthy, and resets the reconnection backoff, once it
 * has stayed up this long (at least; reconnect_delay_max_ms if longer)
 * with every ack it asked for answered or none asked. A failure that
 * recurs right after each join thus backs off and counts towards
 * max_reconnect_attempts. */
#define MIN_HEALTHY_MS 1000

/* A polling session whose server announces no maxPayload gets the
 * Engine.IO default as its request body bound. */
#define DEFAULT_POLLING_MAX_PAYLOAD 1000000

typedef struct
{
  guint epoch;
  guint64 token;
  gchar *args_json;
  GBytes *attachment;           /* NULL: a plain EVENT packet */
  gboolean want_ack;
  gboolean want_ack_args;
  gint64 answers;               /* >= 0: an ACK of the server's event with
                                 * this id (args_json its arguments), no
                                 * emit_done() */
} SioEmit;

typedef struct
{
  guint id;
  SioEventListener func;
  gpointer user_data;
} Listener;

typedef struct
{
  guint64 token;
  gint64 sent_us;
  gboolean want_args;           /* the caller reads the ack's arguments */
  gboolean waiting;             /* FALSE once answered, timed out or lost */
} PendingAck;

/* The acks a connection waits for, by id. Ids are handed out one by one
 * in sending order, so an ack's place is its id minus the first one's: no
 * hashing and no allocation per emit. Answered ones leave from the front
 * (acks may come in any order; the array is compacted as the front
 * clears), so it holds at most the span of ids still waited for. */
typedef struct
{
  GArray *slots;                /* PendingAck, ids first_id.. from head */
  guint head;
  gint64 first_id;
  guint waiting;
} AckBook;

static void
ack_book_init (AckBook * book)
{
  book->slots = g_array_new (FALSE, FALSE, sizeof (PendingAck));
  book->head = 0;
  book->first_id = 0;
  book->waiting = 0;
}

/* Drops the answered ones at the front; never while iterating. */
static void
ack_book_compact (AckBook * book)
{
  while (book->head < book->slots->len &&
      !g_array_index (book->slots, PendingAck, book->head).waiting) {
    book->head++;
    book->first_id++;
  }
  if (book->head == book->slots->len) {
    g_array_set_size (book->slots, 0);
    book->head = 0;
  } else if (book->head >= 32 && book->head * 2 >= book->slots->len) {
    g_array_remove_range (book->slots, 0, book->head);
    book->head = 0;
  }
}

static void
ack_book_add (AckBook * book, gint64 id, guint64 token, gint64 sent_us,
    gboolean want_args)
{
  PendingAck pending = { token, sent_us, want_args, TRUE };

  ack_book_compact (book);
  if (book->waiting == 0)
    book->first_id = id;
  g_return_if_fail (id == book->first_id + (book->slots->len - book->head));
  g_array_append_val (book->slots, pending);
  book->waiting++;
}

static PendingAck *
ack_book_lookup (AckBook * book, gint64 id)
{
  PendingAck *pending;

  if (id < book->first_id ||
      id - book->first_id >= (gint64) (book->slots->len - book->head))
    return NULL;
  pending = &g_array_index (book->slots, PendingAck,
      book->head + (guint) (id - book->first_id));
  return pending->waiting ? pending : NULL;
}

static void
ack_book_done (AckBook * book, PendingAck * pending)
{
  pending->waiting = FALSE;
  book->waiting--;
}

static PendingAck *
ack_book_at (AckBook * book, guint index)
{
  return &g_array_index (book->slots, PendingAck, index);
}

struct _SioClient
{
  /* immutable after creation */
  gchar *url;
  gchar *display_url;           /* for logs and errors: no query, no user */
  gsize max_incoming_message;
  gchar *nsp;
  guint connect_timeout_ms;
  guint ack_timeout_ms;
  gboolean reconnect;
  guint reconnect_delay_ms;
  guint reconnect_delay_max_ms;
  guint max_reconnect_attempts;
  SioClientCallbacks callbacks;
  gpointer user_data;
  gboolean retry_first_connection;
  gboolean reconnect_on_server_disconnect;
  SioTransports transports;
  gchar **extra_headers;
  gchar *user_agent;
  gchar **cookies;
  SoupCookieJar *cookie_jar;
  GTlsDatabase *tls_database;
  GTlsInteraction *tls_interaction;
  gboolean tls_accept_invalid;
  GProxyResolver *proxy_resolver;       /* credentials in its URI */
  gchar *proxy_id;
  gchar *proxy_pw;

  SioLoop *loop;                /* the shared network thread */

  /* network thread only */
  GCancellable *cancellable;    /* cancelled once, by sio_client_free() */
  GSource *reconnect_timer;
  guint reconnect_attempt;
  guint epoch;                  /* CONNECTED transitions so far */
  gint64 connected_us;          /* when the current connection joined */
  guint64 acks_wanted;          /* on the current connection */
  guint64 acks_received;
  gboolean has_connected;
  GRand *rand;
  /* the connection: the only writer of its socket (our frames, pongs and
   * close frames all go through it, whole) */
  SioWebSocket *ws;
  /* or, instead of ws, the polling session; sends go to whichever is set */
  SioPolling *polling;
  /* the WebSocket probed for the upgrade from polling, and whether it
   * answered the probe (polling is then pausing: the gate holds) */
  SioWebSocket *probe;
  gboolean upgrade_pausing;
  gint64 probe_deadline_us;
  gchar *sid;
  /* AUTO only: the server refused WebSocket; polling from now on */
  gboolean websocket_refused;
  SioLoopWork gate;             /* queued while emits may be written */
  /* fires at the earliest deadline (connect, probe, ping, POST, ack) */
  SioLoopTimer deadline_timer;
  gboolean shut_down;           /* do_shutdown() ran: nothing more runs */
  gint64 connect_deadline_us;
  gint64 ping_deadline_us;
  guint ping_window_ms;
  gint64 next_ack_id;
  AckBook pending_acks;
  SioPacket incoming;           /* a binary packet waiting for attachments */
  gboolean have_incoming;
  GPtrArray *incoming_attachments;
  GString *scratch;
  gboolean close_requested;
  /* the arguments of the ack emit_done() reports, during that call */
  const gchar *ack_args_json;

  /* held while a listener is called: removing one waits for its call */
  GMutex listeners_lock;
  GArray *listeners;            /* Listener, under listeners_lock */
  guint next_listener_id;

  /* shared with the caller's threads */
  GMutex lock;
  GQueue outgoing;              /* SioEmit, under lock */
  gint outgoing_length;         /* atomic copy for the gate */
  gint state;                   /* atomic SioClientState */
  gsize max_payload;            /* atomic */
  gsize bytes_written;          /* atomic */
  gchar *auth_json;             /* under lock: set_auth() replaces it */
  const gchar *transport_name;  /* atomic pointer to a static string */

  /* about the last failed attempt; network thread */
  guint failed_http_status;
  GTlsCertificateFlags failed_tls_errors;
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

/* Reports @emit's end to the owner and frees it; an answer to a server
 * event is nobody's emit, and is only freed. */
static void
emit_finish (SioClient * client, SioEmit * emit, SioEmitResult result)
{
  if (emit->answers < 0)
    client->callbacks.emit_done (client, emit->token, result, -1,
        client->user_data);
  emit_free (emit);
}

static void
set_state (SioClient * client, SioClientState state, const GError * error)
{
  SioClientState old = get_state (client);

  if (old == state)
    return;
  GST_DEBUG ("%s: %s -> %s%s%s", client->display_url,
      sio_client_state_get_name (old), sio_client_state_get_name (state),
      error ? ": " : "", error ? error->message : "");
  g_atomic_int_set (&client->state, state);
  client->callbacks.state_changed (client, state, client->epoch, error,
      client->user_data);
}

/* Reports every emit that can no longer complete: queued ones and those
 * still waiting for an ack. With @keep_next, emits meant for the next
 * connection (handed over while none was up) stay queued for it. */
static void
fail_all_emits (SioClient * client, gboolean keep_next)
{
  GQueue queued = G_QUEUE_INIT;
  SioEmit *emit;
  GList *l, *next;
  guint i;

  g_mutex_lock (&client->lock);
  queued = client->outgoing;
  g_queue_init (&client->outgoing);
  for (l = keep_next ? queued.head : NULL; l; l = next) {
    next = l->next;
    if (((SioEmit *) l->data)->epoch == client->epoch + 1) {
      g_queue_unlink (&queued, l);
      g_queue_push_tail_link (&client->outgoing, l);
    }
  }
  g_atomic_int_set (&client->outgoing_length, client->outgoing.length);
  g_mutex_unlock (&client->lock);

  for (i = client->pending_acks.head; i < client->pending_acks.slots->len; i++) {
    PendingAck *pending = ack_book_at (&client->pending_acks, i);

    if (!pending->waiting)
      continue;
    ack_book_done (&client->pending_acks, pending);
    client->callbacks.emit_done (client, pending->token, SIO_EMIT_LOST, -1,
        client->user_data);
  }
  ack_book_compact (&client->pending_acks);

  while ((emit = g_queue_pop_head (&queued)) != NULL)
    emit_finish (client, emit, SIO_EMIT_LOST);
}

/* Reports LOST, and removes, every queued emit meant for an older
 * connection than the current epoch. */
static void
fail_stale_emits (SioClient * client)
{
  GQueue stale = G_QUEUE_INIT;
  GList *l, *next;
  SioEmit *emit;

  g_mutex_lock (&client->lock);
  for (l = client->outgoing.head; l; l = next) {
    next = l->next;
    emit = l->data;
    if (emit->epoch != client->epoch) {
      g_queue_unlink (&client->outgoing, l);
      g_queue_push_tail_link (&stale, l);
      g_atomic_int_add (&client->outgoing_length, -1);
    }
  }
  g_mutex_unlock (&client->lock);

  while ((emit = g_queue_pop_head (&stale)) != NULL) {
    GST_DEBUG ("%s: emit %" G_GUINT64_FORMAT " was for connection %u, now "
        "%u: lost", client->display_url, emit->token, emit->epoch,
        client->epoch);
    emit_finish (client, emit, SIO_EMIT_LOST);
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

static void schedule_gate (SioClient * client);

static void
set_transport_name (SioClient * client, const gchar * name)
{
  g_atomic_pointer_set (&client->transport_name, name);
}

static void
send_probe (SioClient * client)
{
  sio_websocket_send (client->probe, FALSE, (const guint8 *) "2probe", 6);
}

static void
move_to_websocket (gboolean binary, const guint8 * data, gsize length,
    gpointer ws)
{
  sio_websocket_send (ws, binary, data, length);
}

/* Polling has paused after the probe was answered: "5" on the WebSocket,
 * then whatever polling had not sent yet, in order, and the WebSocket is
 * the transport from now on. */
static void
finish_upgrade (SioClient * client)
{
  SioWebSocket *ws = client->probe;
  SioPolling *polling = client->polling;

  client->probe = NULL;
  client->upgrade_pausing = FALSE;
  schedule_gate (client);
  sio_websocket_send (ws, FALSE, (const guint8 *) "5", 1);
  sio_polling_take_queued (polling, move_to_websocket, ws);
  sio_polling_free (polling);
  client->polling = NULL;
  client->ws = ws;
  set_transport_name (client, "websocket");
  GST_INFO ("%s: upgraded from polling to WebSocket", client->display_url);
}

/* Gives up on the upgrade: polling goes on (resumed if it was pausing). */
static void
abandon_upgrade (SioClient * client, const gchar * why)
{
  if (client->probe == NULL)
    return;
  GST_INFO ("%s: no upgrade to WebSocket (%s); staying on polling",
      client->display_url, why);
  sio_websocket_free (client->probe);
  client->probe = NULL;
  if (client->upgrade_pausing && client->polling) {
    sio_polling_resume (client->polling);
    schedule_gate (client);
  }
  client->upgrade_pausing = FALSE;
}

/* Drops the connection at once: nothing more is read or written on it,
 * and none of its callbacks comes any more. This may run inside one of
 * them: the transports are reference counted around their callbacks. */
static void
drop_connection (SioClient * client)
{
  if (client->ws) {
    sio_websocket_free (client->ws);
    client->ws = NULL;
  }
  if (client->polling) {
    sio_polling_free (client->polling);
    client->polling = NULL;
  }
  if (client->probe) {
    sio_websocket_free (client->probe);
    client->probe = NULL;
  }
  client->upgrade_pausing = FALSE;
  g_clear_pointer (&client->sid, g_free);
  set_transport_name (client, NULL);
  clear_incoming (client);
}

static void start_connect (SioClient * client);
static void start_probe (SioClient * client);
static void arm_deadline (SioClient * client, gint64 deadline_us);

/* Losses worth another attempt. The server's own DISCONNECT (unless the
 * application opted in: a node draining its clients behind a load
 * balancer), a refused namespace and an old protocol will not get better
 * by retrying. A
 * certificate, a proxy or an HTTP refusal is a setting to fix when it
 * stops the very first connection, but a passing state of the server (a
 * restart behind a load balancer, an expired token being refreshed) once
 * the client has been connected: then it is retried, within
 * max_reconnect_attempts. */
static gboolean
error_is_retriable (SioClient * client, const GError * error)
{
  guint status = client->failed_http_status;

  if (error == NULL || error->domain != SIO_CLIENT_ERROR)
    return FALSE;
  switch ((SioClientError) error->code) {
    case SIO_CLIENT_ERROR_CONNECT_FAILED:
    case SIO_CLIENT_ERROR_CONNECT_TIMEOUT:
    case SIO_CLIENT_ERROR_CONNECTION_LOST:
    case SIO_CLIENT_ERROR_PROTOCOL:
    case SIO_CLIENT_ERROR_MESSAGE_TOO_BIG:
      return TRUE;
    case SIO_CLIENT_ERROR_HTTP_STATUS:
      return client->has_connected || status >= 500 ||
          status == SOUP_STATUS_REQUEST_TIMEOUT || status == 429;
    case SIO_CLIENT_ERROR_TLS:
    case SIO_CLIENT_ERROR_WEBSOCKET_REFUSED:
    case SIO_CLIENT_ERROR_PROXY:
      return client->has_connected;
    case SIO_CLIENT_ERROR_SERVER_DISCONNECT:
      return client->reconnect_on_server_disconnect;
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
  GST_INFO ("%s: reconnection attempt %u", client->display_url,
      client->reconnect_attempt);
  start_connect (client);
  return G_SOURCE_REMOVE;
}

/* Whether the connection that just ended was up long enough, with its
 * acks answered, to count as a success rather than one more failed
 * attempt. */
static gboolean
connection_was_healthy (SioClient * client)
{
  gint64 needed = (gint64) MAX (client->reconnect_delay_max_ms,
      MIN_HEALTHY_MS) * 1000;

  if (client->connected_us == 0)
    return FALSE;
  if (g_get_monotonic_time () - client->connected_us < needed)
    return FALSE;
  return client->acks_wanted == 0 || client->acks_received > 0;
}

/* Ends the connection. A retriable loss of a connection that had been
 * established schedules the next attempt (RECONNECTING); anything else is
 * final (CLOSED), with @error saying why, or NULL for a clean close. */
static void
close_with_error (SioClient * client, GError * error)
{
  gboolean no_retry, out_of_attempts;
  guint delay;

  if (get_state (client) == SIO_CLIENT_STATE_CLOSED) {
    g_clear_error (&error);
    return;
  }
  GST_INFO ("%s: connection ends: %s", client->display_url,
      error ? error->message : "cleanly");
  no_retry = !client->reconnect || (!client->has_connected &&
      !client->retry_first_connection) || client->close_requested
      || g_cancellable_is_cancelled (client->cancellable)
      || !error_is_retriable (client, error);
  out_of_attempts = !no_retry && client->max_reconnect_attempts > 0 &&
      !connection_was_healthy (client) &&
      client->reconnect_attempt >= client->max_reconnect_attempts;
  drop_connection (client);
  /* emits meant for the next connection wait for it, if there is one */
  fail_all_emits (client, !no_retry && !out_of_attempts);

  if (no_retry) {
    set_state (client, SIO_CLIENT_STATE_CLOSED, error);
    g_clear_error (&error);
    return;
  }

  if (out_of_attempts) {
    GError *final = g_error_new (SIO_CLIENT_ERROR, error->code,
        "gave up after %u reconnection attempts: %s",
        client->reconnect_attempt, error->message);

    set_state (client, SIO_CLIENT_STATE_CLOSED, final);
    g_error_free (final);
    g_clear_error (&error);
    return;
  }

  if (connection_was_healthy (client))
    client->reconnect_attempt = 0;
  client->connected_us = 0;
  client->reconnect_attempt++;
  delay = reconnect_delay_ms (client);
  GST_INFO ("%s: reconnecting in %u ms (attempt %u)", client->display_url,
      delay, client->reconnect_attempt);
  set_state (client, SIO_CLIENT_STATE_RECONNECTING, error);
  g_clear_error (&error);
  client->reconnect_timer = g_timeout_source_new (delay);
  g_source_set_callback (client->reconnect_timer, on_reconnect_timer, client,
      NULL);
  g_source_attach (client->reconnect_timer,
      sio_loop_get_context (client->loop));
}

/* Queues one Engine.IO packet (a text one has its type digit first) on
 * the transport in use. */
static void
transport_send (SioClient * client, gboolean binary, const guint8 * data,
    gsize length)
{
  if (client->ws) {
    if (sio_websocket_send (client->ws, binary, data, length))
      g_atomic_pointer_add (&client->bytes_written, length);
  } else if (client->polling) {
    sio_polling_send (client->polling, binary, data, length);
    g_atomic_pointer_add (&client->bytes_written, length);
  }
}

static void
send_text (SioClient * client, const gchar * text)
{
  transport_send (client, FALSE, (const guint8 *) text, strlen (text));
}

static gsize
transport_pending (SioClient * client)
{
  if (client->ws)
    return sio_websocket_get_pending (client->ws);
  if (client->polling)
    return sio_polling_get_pending (client->polling);
  return 0;
}

static void
transport_set_corked (SioClient * client, gboolean corked)
{
  if (client->ws)
    sio_websocket_set_corked (client->ws, corked);
  else if (client->polling)
    sio_polling_set_corked (client->polling, corked);
}

static void
write_one_emit (SioClient * client, SioEmit * emit)
{
  gint64 ack_id = -1;
  gsize size;
  const guint8 *data;

  if (emit->answers >= 0) {
    g_string_truncate (client->scratch, 0);
    sio_packet_encode (client->scratch, SIO_PACKET_ACK, client->nsp, 0,
        emit->answers, emit->args_json ? emit->args_json : "[]");
    send_text (client, client->scratch->str);
    emit_free (emit);
    return;
  }
  if (emit->want_ack) {
    ack_id = client->next_ack_id++;
    client->acks_wanted++;
  }

  g_string_truncate (client->scratch, 0);
  sio_packet_encode (client->scratch, emit->attachment ?
      SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT, client->nsp,
      emit->attachment ? 1 : 0, ack_id, emit->args_json);
  /* header and attachment go out back to back, in the same buffer */
  send_text (client, client->scratch->str);
  if (emit->attachment) {
    data = g_bytes_get_data (emit->attachment, &size);
    transport_send (client, TRUE, data, size);
  }

  if (emit->want_ack) {
    gint64 sent_us = g_get_monotonic_time ();

    ack_book_add (&client->pending_acks, ack_id, emit->token, sent_us,
        emit->want_ack_args);
    if (client->ack_timeout_ms > 0)
      arm_deadline (client, sent_us + (gint64) client->ack_timeout_ms * 1000);
    emit_free (emit);
  } else {
    emit_finish (client, emit, SIO_EMIT_WRITTEN);
  }
}

/* The send gate: it writes queued emits while the namespace is joined
 * and the connection's output buffer has room. It is work for the shared
 * network thread (sio-loop.h), queued when that may have become true: an
 * emit handed over to an empty queue, the join, the output buffer falling
 * to its low-water mark, the end of an upgrade. Only GATE_MAX_BYTES wait
 * in the output buffer, so memory stays bounded by what the caller hands
 * over. */
static gboolean
gate_wanted (SioClient * client)
{
  return (client->ws != NULL || client->polling != NULL) &&
      !client->upgrade_pausing &&
      g_atomic_int_get (&client->outgoing_length) > 0 &&
      get_state (client) == SIO_CLIENT_STATE_CONNECTED &&
      transport_pending (client) < GATE_MAX_BYTES;
}

static void
schedule_gate (SioClient * client)
{
  sio_loop_schedule (client->loop, &client->gate);
}

static void
gate_run (gpointer user_data)
{
  SioClient *client = user_data;
  SioWebSocket *ws = client->ws;
  SioPolling *polling = client->polling;
  guint emits = 0;

  if (!gate_wanted (client))
    return;
  /* the batch goes out in one write, or one POST */
  transport_set_corked (client, TRUE);
  while (emits < GATE_MAX_EMITS && gate_wanted (client)) {
    SioEmit *emit;

    g_mutex_lock (&client->lock);
    emit = g_queue_pop_head (&client->outgoing);
    if (emit)
      g_atomic_int_add (&client->outgoing_length, -1);
    g_mutex_unlock (&client->lock);
    if (emit == NULL)
      break;

    if (emit->epoch != client->epoch) {
      /* handed over while the previous connection was going down */
      emit_finish (client, emit, SIO_EMIT_LOST);
      continue;
    }
    write_one_emit (client, emit);
    emits++;
  }
  /* a connection that failed meanwhile is gone: uncork only the one that
   * is still there */
  if (ws && ws == client->ws)
    sio_websocket_set_corked (ws, FALSE);
  else if (polling && polling == client->polling)
    sio_polling_set_corked (polling, FALSE);
  /* more than one batch queued: the rest after the other connections */
  if (gate_wanted (client))
    schedule_gate (client);
}

static void
send_connect (SioClient * client)
{
  g_string_truncate (client->scratch, 0);
  g_mutex_lock (&client->lock);
  sio_packet_encode (client->scratch, SIO_PACKET_CONNECT, client->nsp, 0, -1,
      client->auth_json);
  g_mutex_unlock (&client->lock);
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

  GST_INFO ("%s: Engine.IO session over %s, ping every %u ms (timeout %u "
      "ms), maxPayload %" G_GUINT64_FORMAT "%s", client->display_url,
      client->polling ? "polling" : "WebSocket", open.ping_interval_ms,
      open.ping_timeout_ms, open.max_payload, open.upgrade_websocket ?
      ", upgrade to WebSocket offered" : "");
  g_free (client->sid);
  client->sid = g_strdup (open.sid);
  if (client->polling) {
    guint64 body_limit = open.max_payload ? open.max_payload :
        DEFAULT_POLLING_MAX_PAYLOAD;

    /* a server that announces maxPayload counts bytes, not packets */
    sio_polling_start (client->polling, open.sid, (gsize) body_limit,
        open.max_payload ? 0 : SIO_POLLING_LEGACY_MAX_PACKETS);
    /* an attachment travels as a base64 packet, "b" first: the largest
     * that fits in one body is what callers may hand over */
    g_atomic_pointer_set (&client->max_payload,
        (gsize) ((body_limit - 1) / 4 * 3));
  } else {
    g_atomic_pointer_set (&client->max_payload, (gsize) open.max_payload);
  }
  if (open.ping_interval_ms < MIN_PING_MS || open.ping_interval_ms >
      MAX_PING_MS || open.ping_timeout_ms < MIN_PING_MS ||
      open.ping_timeout_ms > MAX_PING_MS) {
    GST_WARNING ("%s: the server announced pingInterval %u ms and "
        "pingTimeout %u ms; using %u + %u ms to detect a dead server",
        client->display_url, open.ping_interval_ms, open.ping_timeout_ms,
        DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_TIMEOUT_MS);
    open.ping_interval_ms = DEFAULT_PING_INTERVAL_MS;
    open.ping_timeout_ms = DEFAULT_PING_TIMEOUT_MS;
  }
  client->ping_window_ms = open.ping_interval_ms + open.ping_timeout_ms;
  client->ping_deadline_us = g_get_monotonic_time () +
      (gint64) client->ping_window_ms * 1000;
  arm_deadline (client, client->ping_deadline_us);
  /* AUTO probes too: a refusal that passed (a 503 while the server
   * started) does not leave the stream on polling for good */
  if (client->polling && (client->transports == SIO_TRANSPORTS_POLLING_UPGRADE
          || client->transports == SIO_TRANSPORTS_AUTO) &&
      open.upgrade_websocket)
    start_probe (client);
  sio_eio_open_clear (&open);

  set_state (client, SIO_CLIENT_STATE_JOINING, NULL);
  send_connect (client);
}

/* The listeners first, in the order they were added: the first that
 * takes the event ends its delivery; the owner gets what none took. */
static SioEventVerdict
offer_to_listeners (SioClient * client, const gchar * name,
    const gchar * args, gint64 ack_id)
{
  SioEventVerdict verdict = SIO_EVENT_PASS;
  guint i;

  g_mutex_lock (&client->listeners_lock);
  for (i = 0; i < client->listeners->len && verdict == SIO_EVENT_PASS; i++) {
    Listener *listener = &g_array_index (client->listeners, Listener, i);

    verdict = listener->func (client, client->epoch, name, args,
        client->incoming_attachments, ack_id, listener->user_data);
  }
  g_mutex_unlock (&client->listeners_lock);
  return verdict;
}

static void
deliver_event (SioClient * client, SioPacket * packet)
{
  const gchar *name = sio_packet_get_event_name (packet);
  gchar *args = sio_packet_dup_args_json (packet);
  SioEventVerdict verdict;

  GST_DEBUG ("%s: server event '%s' %.200s", client->display_url, name, args);
  verdict = offer_to_listeners (client, name, args, packet->ack_id);
  if (verdict == SIO_EVENT_PASS)
    client->callbacks.server_event (client, name, args,
        client->incoming_attachments, client->user_data);

  /* the server asked for an ack, and nobody answers it later: give it an
   * empty one */
  if (packet->ack_id >= 0 && verdict != SIO_EVENT_TAKEN_ACK_LATER) {
    g_string_truncate (client->scratch, 0);
    sio_packet_encode (client->scratch, SIO_PACKET_ACK, client->nsp, 0,
        packet->ack_id, "[]");
    send_text (client, client->scratch->str);
  }
  g_free (args);
}

/* @packet: the decoded ack, or NULL when nobody wants its arguments. */
static void
handle_ack_id (SioClient * client, gint64 ack_id, const SioPacket * packet)
{
  PendingAck *pending;
  gchar *args = NULL;
  guint64 token;
  gint64 rtt_us;

  pending = ack_book_lookup (&client->pending_acks, ack_id);
  if (pending == NULL) {
    /* late ack after a timeout, or never asked for */
    GST_DEBUG ("%s: ack %" G_GINT64_FORMAT " matches no emit",
        client->display_url, ack_id);
    return;
  }
  client->acks_received++;
  if (pending->want_args)
    args = packet ? sio_packet_dup_args_json (packet) : g_strdup ("[]");
  /* copied out: the callback may add to the book, which moves it */
  token = pending->token;
  rtt_us = g_get_monotonic_time () - pending->sent_us;
  ack_book_done (&client->pending_acks, pending);
  client->ack_args_json = args;
  client->callbacks.emit_done (client, token, SIO_EMIT_ACKED, rtt_us,
      client->user_data);
  client->ack_args_json = NULL;
  g_free (args);
  ack_book_compact (&client->pending_acks);
}

/* Whether the ack @ack_id answers an emit whose caller reads the ack's
 * arguments: only those acks are decoded. */
static gboolean
ack_args_wanted (SioClient * client, gint64 ack_id)
{
  PendingAck *pending = ack_book_lookup (&client->pending_acks, ack_id);

  return pending != NULL && pending->want_args;
}

/* Packets for namespaces this client did not join are ignored. */
static gboolean
is_own_namespace (SioClient * client, const gchar * nsp, gsize nsp_length)
{
  const gchar *own = client->nsp ? client->nsp : "/";

  if (nsp_length == strlen (own) && memcmp (nsp, own, nsp_length) == 0)
    return TRUE;
  GST_DEBUG ("%s: ignoring a packet for namespace %.*s", client->display_url,
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
      handle_ack_id (client, packet->ack_id, packet);
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

  /* acks are nearly all a streaming client receives and it ignores the
   * arguments of the audio's: those are not decoded */
  if (sio_packet_peek_ack (data, length, &ack_nsp, &ack_nsp_length, &ack_id)) {
    if (!is_own_namespace (client, ack_nsp, ack_nsp_length))
      return;
    if (!ack_args_wanted (client, ack_id)) {
      handle_ack_id (client, ack_id, NULL);
      return;
    }
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
        client->connected_us = g_get_monotonic_time ();
        client->acks_wanted = client->acks_received = 0;
        client->epoch++;
        /* anything handed over for an older connection is lost, never
         * sent on this one */
        fail_stale_emits (client);
        set_state (client, SIO_CLIENT_STATE_CONNECTED, NULL);
        /* emits queued while connecting can go now */
        schedule_gate (client);
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

/* One whole Engine.IO packet from the server, from either transport;
 * @bytes is valid during the call. */
static void
handle_message (SioClient * client, gboolean binary, const guint8 * bytes,
    gsize length)
{
  const gchar *data = (const gchar *) bytes;
  const gchar *payload;
  gsize payload_length;
  SioEioType eio_type;
  GError *error = NULL;

  if (binary) {
    if (!client->have_incoming) {
      close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_PROTOCOL, "binary message nobody announced"));
      return;
    }
    g_ptr_array_add (client->incoming_attachments, g_bytes_new (bytes, length));
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
      /* pong, upgrade and noop need no answer */
      break;
  }
}

static void
on_ws_message (SioWebSocket * ws, gboolean binary, const guint8 * bytes,
    gsize length, gpointer user_data)
{
  SioClient *client = user_data;

  if (ws == client->probe) {
    /* the probe's answer: polling pauses, and finish_upgrade() follows */
    if (!binary && length == 6 && memcmp (bytes, "3probe", 6) == 0 &&
        !client->upgrade_pausing && client->polling) {
      client->upgrade_pausing = TRUE;
      sio_polling_pause (client->polling);
    } else {
      abandon_upgrade (client, "the server answered the probe wrongly");
    }
    return;
  }
  if (ws != client->ws)
    return;                     /* dropped, not freed yet */
  handle_message (client, binary, bytes, length);
}

static void
on_polling_packet (SioPolling * polling, gboolean binary,
    const guint8 * bytes, gsize length, gpointer user_data)
{
  SioClient *client = user_data;

  if (polling != client->polling)
    return;
  /* the handshake's answer: the session is opening */
  if (get_state (client) == SIO_CLIENT_STATE_CONNECTING)
    set_state (client, SIO_CLIENT_STATE_OPENING, NULL);
  handle_message (client, binary, bytes, length);
}

/* What the end of the WebSocket means for the Socket.IO connection. */
static GError *
connection_error (SioClient * client, SioWebSocket * ws, const GError * error)
{
  gboolean connecting = get_state (client) == SIO_CLIENT_STATE_CONNECTING;

  guint status = sio_websocket_get_http_status (ws);

  if (error == NULL)
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_CONNECTION_LOST,
        "the WebSocket closed");
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS))
    client->failed_http_status = status;
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS) &&
      SOUP_STATUS_IS_REDIRECTION (status)) {
    SoupMessageHeaders *headers = sio_websocket_get_response_headers (ws);
    gchar *target = sio_url_for_display (headers ?
        soup_message_headers_get_one (headers, "Location") : NULL);
    GError *redirected = g_error_new (SIO_CLIENT_ERROR,
        SIO_CLIENT_ERROR_REDIRECTED, "the server redirects (HTTP %u) to %s",
        sio_websocket_get_http_status (ws), target);

    g_free (target);
    return redirected;
  }
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS)) {
    if (status == SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED)
      return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_PROXY,
          "the proxy wants credentials (HTTP 407)");
    if (status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN
        || status == SOUP_STATUS_NOT_FOUND)
      return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_HTTP_STATUS,
          "the WebSocket handshake was answered with HTTP %u", status);
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_WEBSOCKET_REFUSED,
        "the server refused the WebSocket handshake (HTTP %u)", status);
  }
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HANDSHAKE))
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_WEBSOCKET_REFUSED,
        "%s", error->message);
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TLS)) {
    client->failed_tls_errors = sio_websocket_get_tls_errors (ws);
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_TLS, "%s",
        error->message);
  }
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_PROXY))
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_PROXY, "%s",
        error->message);
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TOO_BIG))
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_MESSAGE_TOO_BIG,
        "the server sent a message larger than %" G_GSIZE_FORMAT " bytes",
        client->max_incoming_message);
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_CLOSED_BY_PEER)) {
    gchar *reason = g_utf8_make_valid (sio_websocket_get_close_reason (ws),
        -1);
    GError *closed = g_error_new (SIO_CLIENT_ERROR,
        SIO_CLIENT_ERROR_CONNECTION_LOST,
        "the server closed the WebSocket (code %u%s%s)",
        sio_websocket_get_close_code (ws), *reason ? ": " : "", reason);

    g_free (reason);
    return closed;
  }
  return g_error_new (SIO_CLIENT_ERROR, connecting ?
      SIO_CLIENT_ERROR_CONNECT_FAILED : SIO_CLIENT_ERROR_CONNECTION_LOST,
      "%s", error->message);
}

/* AUTO: whether the end of the WebSocket handshake says the server offers
 * no WebSocket (rather than a wrong path, credentials or a proxy). */
static gboolean
websocket_was_refused (SioWebSocket * ws, const GError * error)
{
  guint status = sio_websocket_get_http_status (ws);

  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HANDSHAKE))
    return TRUE;
  return g_error_matches (error, SIO_WEBSOCKET_ERROR,
      SIO_WEBSOCKET_ERROR_HTTP_STATUS) && !SOUP_STATUS_IS_REDIRECTION (status)
      && status != SOUP_STATUS_UNAUTHORIZED && status != SOUP_STATUS_FORBIDDEN
      && status != SOUP_STATUS_NOT_FOUND &&
      status != SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED;
}

static void start_polling (SioClient * client);

static void
on_ws_closed (SioWebSocket * ws, const GError * error, gpointer user_data)
{
  SioClient *client = user_data;

  if (ws == client->probe) {
    abandon_upgrade (client, error ? error->message : "closed");
    return;
  }
  if (ws != client->ws)
    return;
  if (client->transports == SIO_TRANSPORTS_AUTO && !client->websocket_refused
      && get_state (client) == SIO_CLIENT_STATE_CONNECTING &&
      websocket_was_refused (ws, error)) {
    GST_INFO ("%s: the server refused WebSocket (%s): long-polling from now "
        "on", client->display_url, error->message);
    client->websocket_refused = TRUE;
    drop_connection (client);
    start_polling (client);
    return;
  }
  if (get_state (client) == SIO_CLIENT_STATE_CLOSING) {
    /* the end of our own goodbye, answered or not */
    close_with_error (client, NULL);
    return;
  }
  close_with_error (client, connection_error (client, ws, error));
}

static void
store_websocket_cookies (SioClient * client, SioWebSocket * ws,
    const gchar * url)
{
  GUri *uri;

  if (client->cookie_jar == NULL)
    return;
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  if (uri) {
    sio_http_store_cookies (client->cookie_jar, uri,
        sio_websocket_get_response_headers (ws));
    g_uri_unref (uri);
  }
}

static void
on_ws_opened (SioWebSocket * ws, gpointer user_data)
{
  SioClient *client = user_data;

  if (ws == client->probe) {
    store_websocket_cookies (client, ws, client->url);
    send_probe (client);
    return;
  }
  if (ws != client->ws || get_state (client) != SIO_CLIENT_STATE_CONNECTING)
    return;
  store_websocket_cookies (client, ws, client->url);
  set_state (client, SIO_CLIENT_STATE_OPENING, NULL);
}

static void
on_ws_writable (SioWebSocket * ws, gpointer user_data)
{
  SioClient *client = user_data;

  if (ws == client->ws)
    schedule_gate (client);
}

static const SioWebSocketCallbacks ws_callbacks = {
  on_ws_opened, on_ws_message, on_ws_writable, on_ws_closed
};

/* A WebSocket to the endpoint with @query_tail added to its query, with
 * every transport setting and the cookies kept so far. Redirects are
 * never followed: they could lead from TLS to plain text, or to another
 * host, with the auth token and the audio. */
static SioWebSocket *
open_websocket (SioClient * client, const gchar * query_tail)
{
  SioWebSocketConfig config = { 0 };
  gchar *url = g_strconcat (client->url, query_tail, NULL);
  GPtrArray *headers = g_ptr_array_new ();
  GUri *uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  gchar *cookie = uri ? sio_http_cookie_header (client->cookie_jar,
      (const gchar * const *) client->cookies, uri) : NULL;
  SioWebSocket *ws;
  guint i;

  for (i = 0; client->extra_headers && client->extra_headers[i]; i++)
    g_ptr_array_add (headers, client->extra_headers[i]);
  if (cookie) {
    g_ptr_array_add (headers, (gpointer) "Cookie");
    g_ptr_array_add (headers, cookie);
  }
  g_ptr_array_add (headers, NULL);

  config.url = url;
  config.extra_headers = (const gchar * const *) headers->pdata;
  config.user_agent = client->user_agent;
  config.tls_database = client->tls_database;
  config.tls_interaction = client->tls_interaction;
  config.tls_accept_invalid = client->tls_accept_invalid;
  config.proxy_resolver = client->proxy_resolver;
  config.max_incoming_message = client->max_incoming_message;
  /* the connect deadline (check_deadlines()) bounds the handshake */
  config.handshake_timeout_ms = 0;
  config.low_water = GATE_MAX_BYTES / 2;
  config.loop = client->loop;
  ws = sio_websocket_connect (&config, &ws_callbacks, client);

  g_ptr_array_unref (headers);
  g_free (cookie);
  if (uri)
    g_uri_unref (uri);
  g_free (url);
  return ws;
}

/* What the end of a polling session means for the Socket.IO connection. */
static GError *
polling_error (SioClient * client, SioPolling * polling, const GError * error)
{
  gboolean connecting = get_state (client) <= SIO_CLIENT_STATE_OPENING;
  SioClientError code;

  if (error == NULL)
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_CONNECTION_LOST,
        "the polling session ended");
  switch ((SioPollingError) error->code) {
    case SIO_POLLING_ERROR_TLS:
      client->failed_tls_errors = sio_polling_get_tls_errors (polling);
      code = SIO_CLIENT_ERROR_TLS;
      break;
    case SIO_POLLING_ERROR_HTTP_STATUS:
      /* once the session is up, an error status means the server lost
       * it (restarted, or another node behind a load balancer) */
      if (!connecting)
        return g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST, "the server dropped the "
            "polling session (%s)", error->message);
      client->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_HTTP_STATUS;
      break;
    case SIO_POLLING_ERROR_REDIRECTED:
      client->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_REDIRECTED;
      break;
    case SIO_POLLING_ERROR_PROXY:
      client->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_PROXY;
      break;
    case SIO_POLLING_ERROR_TOO_BIG:
      return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_MESSAGE_TOO_BIG,
          "the server sent a message larger than %" G_GSIZE_FORMAT " bytes",
          client->max_incoming_message);
    case SIO_POLLING_ERROR_PROTOCOL:
      code = SIO_CLIENT_ERROR_PROTOCOL;
      break;
    default:
      code = connecting ? SIO_CLIENT_ERROR_CONNECT_FAILED :
          SIO_CLIENT_ERROR_CONNECTION_LOST;
      break;
  }
  return g_error_new (SIO_CLIENT_ERROR, code, "%s", error->message);
}

static void
on_polling_paused (SioPolling * polling, gpointer user_data)
{
  SioClient *client = user_data;

  if (polling != client->polling || client->probe == NULL)
    return;
  finish_upgrade (client);
}

static void
on_polling_closed (SioPolling * polling, const GError * error,
    gpointer user_data)
{
  SioClient *client = user_data;

  if (polling != client->polling)
    return;
  if (get_state (client) == SIO_CLIENT_STATE_CLOSING && error == NULL) {
    close_with_error (client, NULL);
    return;
  }
  close_with_error (client, polling_error (client, polling, error));
}

static void
on_polling_writable (SioPolling * polling, gpointer user_data)
{
  SioClient *client = user_data;

  if (polling == client->polling)
    schedule_gate (client);
}

static const SioPollingCallbacks polling_callbacks = {
  on_polling_packet, on_polling_paused, on_polling_closed,
  on_polling_writable
};

static void
start_polling (SioClient * client)
{
  SioPollingConfig config = { 0 };

  config.url = client->url;
  config.extra_headers = (const gchar * const *) client->extra_headers;
  config.user_agent = client->user_agent;
  config.cookies = (const gchar * const *) client->cookies;
  config.cookie_jar = client->cookie_jar;
  config.tls_database = client->tls_database;
  config.tls_interaction = client->tls_interaction;
  config.tls_accept_invalid = client->tls_accept_invalid;
  config.proxy_resolver = client->proxy_resolver;
  config.proxy_id = client->proxy_id;
  config.proxy_pw = client->proxy_pw;
  /* a binary message travels as base64 in a body with others */
  config.max_response_body = client->max_incoming_message / 3 * 4 + 65536;
  config.max_packet = client->max_incoming_message;
  config.max_payload = DEFAULT_POLLING_MAX_PAYLOAD;
  client->polling = sio_polling_open (&config, &polling_callbacks, client);
  set_transport_name (client, "polling");
}

static void
start_connect (SioClient * client)
{
  gboolean polling = client->transports == SIO_TRANSPORTS_POLLING ||
      client->transports == SIO_TRANSPORTS_POLLING_UPGRADE ||
      client->websocket_refused;

  client->connect_deadline_us = g_get_monotonic_time () +
      (gint64) client->connect_timeout_ms * 1000;
  if (client->connect_timeout_ms > 0)
    arm_deadline (client, client->connect_deadline_us);
  client->next_ack_id = 0;
  client->ping_window_ms = 0;
  client->failed_http_status = 0;
  client->failed_tls_errors = 0;
  set_state (client, SIO_CLIENT_STATE_CONNECTING, NULL);
  if (polling) {
    start_polling (client);
  } else {
    client->ws = open_websocket (client, "&transport=websocket");
    set_transport_name (client, "websocket");
  }
}

/* The upgrade from polling: a WebSocket on the same session, probed. */
static void
start_probe (SioClient * client)
{
  gchar *escaped = g_uri_escape_string (client->sid, NULL, FALSE);
  gchar *tail = g_strconcat ("&transport=websocket&sid=", escaped, NULL);

  client->probe = open_websocket (client, tail);
  client->probe_deadline_us = g_get_monotonic_time () +
      (gint64) MAX (client->connect_timeout_ms, 1000) * 1000;
  arm_deadline (client, client->probe_deadline_us);
  g_free (tail);
  g_free (escaped);
}

/* The deadlines, each -1 while it does not apply: check_deadlines() ends
 * what a passed one bounds, next_deadline() sets the timer from the same
 * values. */
static gint64
connect_deadline (SioClient * client, SioClientState state)
{
  return state >= SIO_CLIENT_STATE_CONNECTING &&
      state <= SIO_CLIENT_STATE_JOINING && client->connect_timeout_ms > 0 ?
      client->connect_deadline_us : -1;
}

static gint64
probe_deadline (SioClient * client)
{
  return client->probe ? client->probe_deadline_us : -1;
}

static gint64
ping_deadline (SioClient * client, SioClientState state)
{
  return state == SIO_CLIENT_STATE_JOINING ||
      state == SIO_CLIENT_STATE_CONNECTED ? client->ping_deadline_us : -1;
}

/* pings come on the GETs while our pongs wait behind a POST the server
 * never answers: the POST is bounded by the same window */
static gint64
post_deadline (SioClient * client, SioClientState state)
{
  gint64 sent;

  if (ping_deadline (client, state) < 0 || client->polling == NULL)
    return -1;
  sent = sio_polling_get_post_sent_time (client->polling);
  return sent > 0 ? sent + (gint64) client->ping_window_ms * 1000 : -1;
}

/* the oldest ack still waited for is the first waiting one */
static gint64
ack_deadline (SioClient * client)
{
  guint i;

  if (client->ack_timeout_ms == 0 || client->pending_acks.waiting == 0)
    return -1;
  for (i = client->pending_acks.head; i < client->pending_acks.slots->len; i++) {
    PendingAck *pending = ack_book_at (&client->pending_acks, i);

    if (pending->waiting)
      return pending->sent_us + (gint64) client->ack_timeout_ms * 1000;
  }
  return -1;
}

static gboolean
passed (gint64 deadline, gint64 now)
{
  return deadline >= 0 && now >= deadline;
}

static void
check_deadlines (SioClient * client)
{
  SioClientState state = get_state (client);
  gint64 now = g_get_monotonic_time ();

  if (passed (connect_deadline (client, state), now)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECT_TIMEOUT,
            "not connected after %u ms (stuck while %s)",
            client->connect_timeout_ms, sio_client_state_get_name (state)));
    return;
  }

  if (passed (probe_deadline (client), now))
    abandon_upgrade (client, "the probe timed out");

  if (passed (ping_deadline (client, state), now)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST,
            "no ping from the server for %u ms", client->ping_window_ms));
    return;
  }

  if (passed (post_deadline (client, state), now)) {
    close_with_error (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST,
            "no answer to a polling request in %u ms", client->ping_window_ms));
    return;
  }

  if (passed (ack_deadline (client), now)) {
    gint64 limit = now - (gint64) client->ack_timeout_ms * 1000;
    guint i, end = client->pending_acks.slots->len;

    /* in sending order: the first one still in time ends the scan; the
     * callbacks may add, never within [head, end) */
    for (i = client->pending_acks.head; i < end; i++) {
      PendingAck *pending = ack_book_at (&client->pending_acks, i);
      guint64 token = pending->token;

      if (!pending->waiting)
        continue;
      if (pending->sent_us > limit)
        break;
      ack_book_done (&client->pending_acks, pending);
      client->callbacks.emit_done (client, token, SIO_EMIT_ACK_TIMEOUT, -1,
          client->user_data);
    }
    ack_book_compact (&client->pending_acks);
  }
}

/* The earliest deadline still to come, or -1. A POST sent after this was
 * computed is seen at the next firing, which the ping deadline brings
 * within one window. */
static gint64
next_deadline (SioClient * client)
{
  SioClientState state = get_state (client);
  gint64 deadlines[] = {
    connect_deadline (client, state), probe_deadline (client),
    ping_deadline (client, state), post_deadline (client, state),
    ack_deadline (client)
  };
  gint64 next = -1;
  guint i;

  for (i = 0; i < G_N_ELEMENTS (deadlines); i++)
    if (deadlines[i] >= 0 && (next < 0 || deadlines[i] < next))
      next = deadlines[i];
  return next;
}

/* Makes the timer fire at @deadline_us at the latest. Deadlines that move
 * later (a ping resets the ping deadline) leave it alone: it fires early
 * once and is set again, so the common case costs nothing. */
static void
arm_deadline (SioClient * client, gint64 deadline_us)
{
  gint64 ready = sio_loop_timer_get (&client->deadline_timer);

  if (client->shut_down)
    return;
  if (ready < 0 || deadline_us < ready)
    sio_loop_timer_set (client->loop, &client->deadline_timer, deadline_us);
}

static void
on_deadline (gpointer user_data)
{
  SioClient *client = user_data;
  gint64 next;

  check_deadlines (client);
  next = next_deadline (client);
  if (next >= 0)
    arm_deadline (client, next);
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
  /* an upgrade half done would hold what polling still has to send */
  abandon_upgrade (client, "closing");
  if (get_state (client) != SIO_CLIENT_STATE_CONNECTED ||
      (client->ws == NULL && client->polling == NULL)) {
    close_with_error (client, NULL);
    return G_SOURCE_REMOVE;
  }

  set_state (client, SIO_CLIENT_STATE_CLOSING, NULL);
  g_string_truncate (client->scratch, 0);
  sio_packet_encode (client->scratch, SIO_PACKET_DISCONNECT, client->nsp, 0,
      -1, NULL);
  send_text (client, client->scratch->str);
  send_text (client, "1");
  /* the close frame goes out after those, and the connection waits
   * (bounded) for the server's; on_ws_closed() finishes. Polling posts
   * them, bounded too; on_polling_closed() finishes. */
  if (client->ws)
    sio_websocket_close (client->ws, 1000, NULL);
  else
    sio_polling_close (client->polling);
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
    /* best effort, never waited for: the socket closes right after (a
     * polling request would be cancelled before it left) */
    g_string_truncate (client->scratch, 0);
    sio_packet_encode (client->scratch, SIO_PACKET_DISCONNECT, client->nsp,
        0, -1, NULL);
    send_text (client, client->scratch->str);
  }
  close_with_error (client, NULL);
  /* nothing of this client runs in the shared thread after this */
  client->shut_down = TRUE;
  sio_loop_unschedule (client->loop, &client->gate);
  sio_loop_timer_set (client->loop, &client->deadline_timer, -1);
  return G_SOURCE_REMOVE;
}

static gboolean
do_start (gpointer user_data)
{
  SioClient *client = user_data;

  /* freed before its start came round */
  if (client->shut_down)
    return G_SOURCE_REMOVE;
  start_connect (client);
  return G_SOURCE_REMOVE;
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

/* GIO's HTTP proxy (CONNECT, for WebSocket) takes the credentials from the
 * proxy URI; libsoup asks for them (see sio-polling.c). */
static GProxyResolver *
new_proxy_resolver (const gchar * proxy, const gchar * id, const gchar * pw)
{
  GUri *uri = g_uri_parse (proxy, G_URI_FLAGS_ENCODED, NULL);
  GProxyResolver *resolver;
  gchar *with_user = NULL;

  if (uri && id) {
    gchar *user = g_uri_escape_string (id, NULL, FALSE);
    gchar *password = g_uri_escape_string (pw ? pw : "", NULL, FALSE);

    with_user = g_uri_join_with_user (G_URI_FLAGS_ENCODED,
        g_uri_get_scheme (uri), user, password, NULL, g_uri_get_host (uri),
        g_uri_get_port (uri), g_uri_get_path (uri), NULL, NULL);
    g_free (user);
    g_free (password);
  }
  resolver = g_simple_proxy_resolver_new (with_user ? with_user : proxy, NULL);
  g_free (with_user);
  if (uri)
    g_uri_unref (uri);
  return resolver;
}

SioClient *
sio_client_new (const SioClientConfig * config,
    const SioClientCallbacks * callbacks, gpointer user_data)
{
  SioClient *client = g_new0 (SioClient, 1);

  client->url = g_strdup (config->url);
  client->display_url = g_strdup (config->display_url ? config->display_url :
      "(location)");
  client->max_incoming_message = config->max_incoming_message;
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
  client->retry_first_connection = config->retry_first_connection;
  client->reconnect_on_server_disconnect =
      config->reconnect_on_server_disconnect;
  client->transports = config->transports;
  client->extra_headers = g_strdupv ((gchar **) config->extra_headers);
  client->user_agent = g_strdup (config->user_agent);
  client->cookies = g_strdupv ((gchar **) config->cookies);
  if (config->cookie_jar)
    client->cookie_jar = g_object_ref (config->cookie_jar);
  if (config->tls_database)
    client->tls_database = g_object_ref (config->tls_database);
  if (config->tls_interaction)
    client->tls_interaction = g_object_ref (config->tls_interaction);
  client->tls_accept_invalid = config->tls_accept_invalid;
  client->proxy_id = g_strdup (config->proxy_id);
  client->proxy_pw = g_strdup (config->proxy_pw);
  if (config->proxy)
    client->proxy_resolver = new_proxy_resolver (config->proxy,
        config->proxy_id, config->proxy_pw);
  client->rand = g_rand_new ();
  client->callbacks = *callbacks;
  client->user_data = user_data;

  g_mutex_init (&client->lock);
  g_mutex_init (&client->listeners_lock);
  client->listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  g_queue_init (&client->outgoing);
  ack_book_init (&client->pending_acks);
  client->incoming_attachments =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  client->scratch = g_string_sized_new (256);
  client->cancellable = g_cancellable_new ();
  sio_loop_work_init (&client->gate, gate_run, client);
  sio_loop_timer_init (&client->deadline_timer, on_deadline, client);
  g_atomic_int_set (&client->state, SIO_CLIENT_STATE_IDLE);

  client->loop = sio_loop_acquire ();
  g_main_context_invoke (sio_loop_get_context (client->loop), do_start, client);
  return client;
}

static void
push_emit (SioClient * client, SioEmit * emit)
{
  gboolean was_empty;

  g_mutex_lock (&client->lock);
  was_empty = g_queue_is_empty (&client->outgoing);
  g_queue_push_tail (&client->outgoing, emit);
  g_atomic_int_add (&client->outgoing_length, 1);
  g_mutex_unlock (&client->lock);

  /* a queue that was not empty has the gate queued already, or waiting
   * for room in the connection, which queues it */
  if (was_empty)
    schedule_gate (client);
}

static void
queue_emit (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, GBytes * attachment, gboolean want_ack,
    gboolean want_ack_args)
{
  SioEmit *emit = g_new (SioEmit, 1);

  emit->epoch = epoch;
  emit->token = token;
  emit->args_json = args_json;
  emit->attachment = attachment;
  emit->want_ack = want_ack;
  emit->want_ack_args = want_ack_args;
  emit->answers = -1;
  push_emit (client, emit);
}

void
sio_client_emit (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, GBytes * attachment, gboolean want_ack)
{
  queue_emit (client, epoch, token, args_json, attachment, want_ack, FALSE);
}

void
sio_client_emit_event (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, GBytes * attachment, gboolean want_ack)
{
  queue_emit (client, epoch, token, args_json, attachment, want_ack, TRUE);
}

void
sio_client_ack_event (SioClient * client, guint epoch, gint64 ack_id,
    gchar * args_json)
{
  SioEmit *emit = g_new0 (SioEmit, 1);

  emit->epoch = epoch;
  emit->args_json = args_json;
  emit->answers = ack_id;
  push_emit (client, emit);
}

guint
sio_client_add_listener (SioClient * client, SioEventListener func,
    gpointer user_data)
{
  Listener listener = { 0, func, user_data };

  g_mutex_lock (&client->listeners_lock);
  listener.id = ++client->next_listener_id;
  g_array_append_val (client->listeners, listener);
  g_mutex_unlock (&client->listeners_lock);
  return listener.id;
}

void
sio_client_remove_listener (SioClient * client, guint id)
{
  guint i;

  g_mutex_lock (&client->listeners_lock);
  for (i = 0; i < client->listeners->len; i++) {
    if (g_array_index (client->listeners, Listener, i).id == id) {
      g_array_remove_index (client->listeners, i);
      break;
    }
  }
  g_mutex_unlock (&client->listeners_lock);
}

const gchar *
sio_client_get_ack_args (SioClient * client)
{
  return client->ack_args_json;
}

void
sio_client_close (SioClient * client)
{
  g_main_context_invoke (sio_loop_get_context (client->loop), do_close, client);
}

void
sio_client_free (SioClient * client)
{
  if (client == NULL)
    return;

  /* nothing in the network thread blocks: do_shutdown() runs at once */
  g_cancellable_cancel (client->cancellable);
  sio_loop_run_sync (client->loop, do_shutdown, client);

  /* emits that raced with the shutdown */
  fail_all_emits (client, FALSE);

  g_array_unref (client->pending_acks.slots);
  g_ptr_array_unref (client->incoming_attachments);
  g_string_free (client->scratch, TRUE);
  g_object_unref (client->cancellable);
  g_rand_free (client->rand);
  sio_loop_release (client->loop);
  g_mutex_clear (&client->lock);
  g_mutex_clear (&client->listeners_lock);
  g_array_unref (client->listeners);
  g_free (client->url);
  g_free (client->display_url);
  g_free (client->nsp);
  g_free (client->auth_json);
  g_strfreev (client->extra_headers);
  g_free (client->user_agent);
  g_strfreev (client->cookies);
  g_clear_object (&client->cookie_jar);
  g_clear_object (&client->tls_database);
  g_clear_object (&client->tls_interaction);
  g_clear_object (&client->proxy_resolver);
  g_free (client->proxy_id);
  g_free (client->proxy_pw);
  g_free (client->sid);
  g_free (client);
}

gchar *
sio_url_for_display (const gchar * url)
{
  GUri *uri;
  gchar *shown;

  if (url == NULL)
    return g_strdup ("(no location)");
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  /* "user:secret@host:port" parses as scheme "user": no host, no URL */
  if (uri && g_uri_get_host (uri) == NULL)
    g_clear_pointer (&uri, g_uri_unref);
  if (uri == NULL) {
    /* not a URL, but the user wants to see the typo: the text up to any
     * query, without what looks like user info */
    const gchar *start = strstr (url, "://");
    const gchar *at;
    gsize end = strcspn (url, "?#");
    GString *text = g_string_new (NULL);

    start = start ? start + 3 : url;
    at = memchr (start, '@', end - (start - url));
    g_string_append_len (text, url, start - url);
    if (at)
      start = at + 1;
    g_string_append_len (text, start, end - (start - url));
    if (url[end] != '\0')
      g_string_append (text, "...");
    return g_string_free (text, FALSE);
  }
  shown = g_uri_join (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri), NULL,
      g_uri_get_host (uri), g_uri_get_port (uri), g_uri_get_path (uri),
      g_uri_get_query (uri) ? "..." : NULL, NULL);
  g_uri_unref (uri);
  return shown;
}

void
sio_client_set_auth (SioClient * client, const gchar * auth_json)
{
  g_mutex_lock (&client->lock);
  g_free (client->auth_json);
  client->auth_json = g_strdup (auth_json);
  g_mutex_unlock (&client->lock);
}

guint
sio_client_get_http_status (SioClient * client)
{
  return client->failed_http_status;
}

GTlsCertificateFlags
sio_client_get_tls_errors (SioClient * client)
{
  return client->failed_tls_errors;
}

const gchar *
sio_client_get_transport_name (SioClient * client)
{
  return g_atomic_pointer_get (&client->transport_name);
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
