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
/* cleared SioEmit records a client keeps for reuse: a window and more */
#define SPARE_EMITS_MAX 64
/* room in each for an event's arguments: an audio event's take ~200 */
#define EMIT_INLINE_ARGS 384
/* the longest an emit is held back for more to follow (a refill's emits
 * come microseconds apart), counted at the next emit or ack */
#define HOLD_MAX_US 1000
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

/* Threads and locks. A SioEngine is one Engine.IO connection; each
 * SioClient is one namespace on it. Without multiplexing every client has
 * an engine of its own; with it, clients of the same endpoint and
 * connection settings share one (socket.io-client's Manager). Everything
 * of an engine and of its clients not marked otherwise belongs to the
 * engine's network thread (or to a thread that entered its loop while it
 * slept: write_through()). Lock order: engines_lock (the registry of
 * shared engines) -> a client's lock -> its engine's ready_lock; the
 * listeners_lock of a client is taken alone. No lock is held while
 * calling back, but the loop's run lock (sio-loop.c), which whoever runs
 * the engine holds. */

typedef struct
{
  GList link;                   /* in the client's outgoing queue */
  guint epoch;
  guint64 token;
  gchar *args_json;             /* inline_args, or an allocation of its own */
  /* NULL: a plain EVENT packet; else released by release(release_data)
   * once written or dropped */
  const guint8 *attachment;
  gsize attachment_size;
  GDestroyNotify release;
  gpointer release_data;
  gboolean want_ack;
  gboolean want_ack_args;
  gint64 answers;               /* >= 0: an ACK of the server's event with
                                 * this id (args_json its arguments), no
                                 * emit_done() */
  /* an audio event's arguments fit: no allocation of their own */
  gchar inline_args[EMIT_INLINE_ARGS];
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
  /* written by the loop's thread only, atomically: an emitting thread
   * reads it as a hint of whether the connection is busy */
  gint waiting;
} AckBook;

static void
ack_book_init (AckBook * book)
{
  book->slots = g_array_new (FALSE, FALSE, sizeof (PendingAck));
  book->head = 0;
  book->first_id = 0;
  g_atomic_int_set (&book->waiting, 0);
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
  g_atomic_int_inc (&book->waiting);
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
  g_atomic_int_add (&book->waiting, -1);
}

static PendingAck *
ack_book_at (AckBook * book, guint index)
{
  return &g_array_index (book->slots, PendingAck, index);
}


typedef enum
{
  ENGINE_IDLE,
  ENGINE_CONNECTING,            /* TCP, TLS and WebSocket handshake */
  ENGINE_OPENING,               /* waiting for the Engine.IO open packet */
  ENGINE_OPEN,                  /* namespaces may join */
  ENGINE_CLOSING,               /* the last client leaves cleanly */
  ENGINE_CLOSED,
  ENGINE_WAITING,               /* lost; the reconnection timer runs */
} EngineState;

typedef struct _SioEngine SioEngine;

struct _SioClient
{
  /* immutable after creation */
  SioEngine *engine;
  gchar *nsp;                   /* NULL for "/" */
  const gchar *nsp_key;         /* nsp, or "/" */
  guint ack_timeout_ms;
  SioClientCallbacks callbacks;
  gpointer user_data;

  /* network thread only */
  gboolean started;             /* do_start() ran: a member of the engine */
  gboolean shut_down;           /* do_shutdown() ran: nothing more runs */
  gboolean close_requested;
  guint epoch;                  /* CONNECTED transitions so far */
  gint64 connected_us;          /* when the current connection joined */
  guint64 acks_wanted;          /* on the current connection */
  guint64 acks_received;
  gboolean has_connected;
  /* while not yet joined: the connect timeout's end */
  gint64 join_deadline_us;
  /* a shared engine's namespace that was lost alone: when it joins again
   * (-1: with the engine's next connection), and its attempts */
  gint64 rejoin_at_us;
  guint rejoin_attempt;
  gint64 next_ack_id;
  AckBook pending_acks;
  /* the arguments of the ack emit_done() reports, during that call */
  const gchar *ack_args_json;

  /* held while a listener is called: removing one waits for its call */
  GMutex listeners_lock;
  GArray *listeners;            /* Listener, under listeners_lock */
  guint next_listener_id;

  /* shared with the caller's threads */
  GMutex lock;
  GQueue outgoing;              /* SioEmit, under lock */
  /* SioEmit records written and cleared, for the next emits: a refill
   * hands over a window's worth at once, more than malloc's per-thread
   * cache keeps; under lock, at most SPARE_EMITS_MAX */
  GQueue spare_emits;
  gint outgoing_length;         /* atomic copy for the gate */
  gint state;                   /* atomic SioClientState */
  gsize bytes_written;          /* atomic: this namespace's packets */
  gchar *auth_json;             /* under lock: set_auth() replaces it */
  /* under lock: queued emits handed over with more to follow, for which
   * no gate was queued yet, since hold_since_us; hold_refused: they were
   * released (an ack, HOLD_MAX_US, sio_client_release_held()), so
   * nothing more is held until an emit comes without more */
  gboolean holding;
  gboolean hold_refused;
  gint64 hold_since_us;
  /* atomic copy of holding, for the network thread to look without the
   * lock: a stale FALSE only leaves the release to the next ack or emit,
   * the last ack always takes the lock */
  gint holding_hint;
  gboolean in_ready;            /* under the engine's ready_lock */
  GList ready_link;             /* in the engine's ready queue, likewise */
};

struct _SioEngine
{
  /* immutable after creation */
  gchar *share_key;             /* NULL: this client's alone */
  gchar *url;
  gchar *display_url;           /* for logs and errors: no query, no user */
  gsize max_incoming_message;
  guint connect_timeout_ms;
  gboolean reconnect;
  guint reconnect_delay_ms;
  guint reconnect_delay_max_ms;
  guint max_reconnect_attempts;
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

  /* under engines_lock: clients created and not yet freed, and their
   * namespaces (one client per namespace on a shared engine) */
  guint refs;
  GPtrArray *nsps;

  /* network thread only */
  GPtrArray *members;           /* SioClient, started, not shut down */
  GHashTable *by_nsp;           /* shared only: nsp_key -> SioClient */
  EngineState state;
  GCancellable *cancellable;    /* cancelled once, at the teardown */
  GSource *reconnect_timer;
  guint reconnect_attempt;
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
  gboolean shut_down;           /* torn down: nothing more runs */
  gint64 connect_deadline_us;
  gint64 ping_deadline_us;
  guint ping_window_ms;
  SioPacket incoming;           /* a binary packet waiting for attachments */
  gboolean have_incoming;
  GPtrArray *incoming_attachments;
  GString *scratch;

  /* clients with emits queued, in the order they got them; the gate
   * takes them in turn */
  GMutex ready_lock;
  GQueue ready;                 /* SioClient, under ready_lock */

  /* shared with the caller's threads */
  gsize max_payload;            /* atomic */
  gsize bytes_written;          /* atomic */
  const gchar *transport_name;  /* atomic pointer to a static string */

  /* about the last failed attempt; network thread */
  guint failed_http_status;
  GTlsCertificateFlags failed_tls_errors;
};

/* The engines clients may share, by share key. */
static GMutex engines_lock;
static GHashTable *shared_engines;

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

static gboolean
is_live (SioClient * client)
{
  return get_state (client) != SIO_CLIENT_STATE_CLOSED;
}

/* Members other than @except that are not closed. */
static guint
other_live_members (SioEngine * engine, SioClient * except)
{
  guint i, n = 0;

  for (i = 0; i < engine->members->len; i++) {
    SioClient *member = g_ptr_array_index (engine->members, i);

    if (member != except && is_live (member))
      n++;
  }
  return n;
}

/* With client->lock held. */
static void
set_holding_locked (SioClient * client, gboolean holding)
{
  client->holding = holding;
  g_atomic_int_set (&client->holding_hint, holding);
}

/* With client->lock held: ends a hold, and nothing more is held until an
 * emit comes without more. TRUE when emits were held. */
static gboolean
end_hold_locked (SioClient * client)
{
  gboolean held = client->holding;

  if (held) {
    set_holding_locked (client, FALSE);
    client->hold_refused = TRUE;
  }
  return held;
}

/* What @emit holds, not the record itself. */
static void
emit_clear (SioEmit * emit)
{
  if (emit->args_json != emit->inline_args)
    g_free (emit->args_json);
  if (emit->attachment)
    emit->release (emit->release_data);
}

static void
emit_free (SioEmit * emit)
{
  emit_clear (emit);
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
  GST_DEBUG ("%s%s%s: %s -> %s%s%s", client->engine->display_url,
      client->nsp ? " namespace " : "", client->nsp ? client->nsp : "",
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
  set_holding_locked (client, FALSE);
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

  while ((l = g_queue_pop_head_link (&queued)) != NULL)
    emit_finish (client, l->data, SIO_EMIT_LOST);
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

  while ((l = g_queue_pop_head_link (&stale)) != NULL) {
    emit = l->data;
    GST_DEBUG ("%s: emit %" G_GUINT64_FORMAT " was for connection %u, now "
        "%u: lost", client->engine->display_url, emit->token, emit->epoch,
        client->epoch);
    emit_finish (client, emit, SIO_EMIT_LOST);
  }
}

static void
clear_incoming (SioEngine * engine)
{
  if (engine->have_incoming) {
    sio_packet_clear (&engine->incoming);
    engine->have_incoming = FALSE;
  }
  g_ptr_array_set_size (engine->incoming_attachments, 0);
}

static void schedule_gate (SioEngine * engine);
static void mark_ready (SioClient * client);

static void
set_transport_name (SioEngine * engine, const gchar * name)
{
  g_atomic_pointer_set (&engine->transport_name, name);
}

static void
send_probe (SioEngine * engine)
{
  sio_websocket_send (engine->probe, FALSE, (const guint8 *) "2probe", 6);
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
finish_upgrade (SioEngine * engine)
{
  SioWebSocket *ws = engine->probe;
  SioPolling *polling = engine->polling;

  engine->probe = NULL;
  engine->upgrade_pausing = FALSE;
  schedule_gate (engine);
  sio_websocket_send (ws, FALSE, (const guint8 *) "5", 1);
  sio_polling_take_queued (polling, move_to_websocket, ws);
  sio_polling_free (polling);
  engine->polling = NULL;
  engine->ws = ws;
  set_transport_name (engine, "websocket");
  GST_INFO ("%s: upgraded from polling to WebSocket", engine->display_url);
}

/* Gives up on the upgrade: polling goes on (resumed if it was pausing). */
static void
abandon_upgrade (SioEngine * engine, const gchar * why)
{
  if (engine->probe == NULL)
    return;
  GST_INFO ("%s: no upgrade to WebSocket (%s); staying on polling",
      engine->display_url, why);
  sio_websocket_free (engine->probe);
  engine->probe = NULL;
  if (engine->upgrade_pausing && engine->polling) {
    sio_polling_resume (engine->polling);
    schedule_gate (engine);
  }
  engine->upgrade_pausing = FALSE;
}

/* Drops the connection at once: nothing more is read or written on it,
 * and none of its callbacks comes any more. This may run inside one of
 * them: the transports are reference counted around their callbacks. */
static void
drop_connection (SioEngine * engine)
{
  if (engine->ws) {
    sio_websocket_free (engine->ws);
    engine->ws = NULL;
  }
  if (engine->polling) {
    sio_polling_free (engine->polling);
    engine->polling = NULL;
  }
  if (engine->probe) {
    sio_websocket_free (engine->probe);
    engine->probe = NULL;
  }
  engine->upgrade_pausing = FALSE;
  g_clear_pointer (&engine->sid, g_free);
  set_transport_name (engine, NULL);
  clear_incoming (engine);
}

static void start_connect (SioEngine * engine);
static void start_probe (SioEngine * engine);
static void arm_deadline (SioEngine * engine, gint64 deadline_us);
static void join_namespace (SioClient * client);

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
  SioEngine *engine = client->engine;
  guint status = engine->failed_http_status;

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
      return engine->reconnect_on_server_disconnect;
    default:
      return FALSE;
  }
}

/* Whether @client tries again after @error. */
static gboolean
client_retries (SioClient * client, const GError * error)
{
  SioEngine *engine = client->engine;

  return engine->reconnect && (client->has_connected ||
      engine->retry_first_connection) && !client->close_requested &&
      !client->shut_down && !g_cancellable_is_cancelled (engine->cancellable)
      && error_is_retriable (client, error);
}

/* delay × 2^(attempt-1) capped at delay_max, with "equal jitter": half
 * fixed, half random, so clients that lost the same server do not all
 * come back at the same instant. */
static guint
reconnect_delay_ms (SioEngine * engine, guint attempt)
{
  guint64 base = engine->reconnect_delay_ms;
  guint i;

  for (i = 1; i < attempt && base < engine->reconnect_delay_max_ms; i++)
    base *= 2;
  base = MIN (base, engine->reconnect_delay_max_ms);
  return (guint) (base / 2 + g_rand_int_range (engine->rand, 0,
          (gint32) MIN (base / 2 + 1, G_MAXINT32)));
}

static gboolean
on_reconnect_timer (gpointer user_data)
{
  SioEngine *engine = user_data;

  g_clear_pointer (&engine->reconnect_timer, g_source_unref);
  GST_INFO ("%s: reconnection attempt %u", engine->display_url,
      engine->reconnect_attempt);
  start_connect (engine);
  return G_SOURCE_REMOVE;
}

/* Whether the connection that just ended was up long enough, with its
 * acks answered, to count as a success rather than one more failed
 * attempt. */
static gboolean
connection_was_healthy (SioClient * client)
{
  SioEngine *engine = client->engine;
  gint64 needed = (gint64) MAX (engine->reconnect_delay_max_ms,
      MIN_HEALTHY_MS) * 1000;

  if (client->connected_us == 0)
    return FALSE;
  if (g_get_monotonic_time () - client->connected_us < needed)
    return FALSE;
  return client->acks_wanted == 0 || client->acks_received > 0;
}

static gboolean
engine_was_healthy (SioEngine * engine)
{
  guint i;

  for (i = 0; i < engine->members->len; i++)
    if (connection_was_healthy (g_ptr_array_index (engine->members, i)))
      return TRUE;
  return FALSE;
}

/* The end of @client: CLOSED, with @error saying why (NULL: cleanly). */
static void
close_client (SioClient * client, const GError * error)
{
  fail_all_emits (client, FALSE);
  client->rejoin_at_us = -1;
  set_state (client, SIO_CLIENT_STATE_CLOSED, error);
}

/* The same error, saying that the attempts ran out. */
static GError *
gave_up_error (guint attempts, const GError * error)
{
  return g_error_new (SIO_CLIENT_ERROR, error->code,
      "gave up after %u reconnection attempts: %s", attempts, error->message);
}

/* Ends the Engine.IO connection, and with it every namespace on it. A
 * retriable loss of a connection that had been established schedules the
 * next attempt (RECONNECTING); anything else is final (CLOSED), with
 * @error saying why, or NULL for a clean close. Clients that came after
 * the connection ended (IDLE) get a new one. */
static void
close_with_error (SioEngine * engine, GError * error)
{
  gboolean retry = FALSE, waiting = FALSE, healthy, out_of_attempts;
  GError *final = NULL;
  guint i, delay;

  if (engine->state == ENGINE_CLOSED || engine->state == ENGINE_IDLE) {
    g_clear_error (&error);
    return;
  }
  GST_INFO ("%s: connection ends: %s", engine->display_url,
      error ? error->message : "cleanly");
  healthy = engine_was_healthy (engine);
  out_of_attempts = error && engine->max_reconnect_attempts > 0 && !healthy
      && engine->reconnect_attempt >= engine->max_reconnect_attempts;
  if (out_of_attempts)
    final = gave_up_error (engine->reconnect_attempt, error);
  drop_connection (engine);
  engine->state = ENGINE_CLOSED;
  if (engine->reconnect_timer) {
    g_source_destroy (engine->reconnect_timer);
    g_clear_pointer (&engine->reconnect_timer, g_source_unref);
  }

  /* the callbacks never add or remove members */
  for (i = 0; i < engine->members->len; i++) {
    SioClient *client = g_ptr_array_index (engine->members, i);
    SioClientState state = get_state (client);

    if (state == SIO_CLIENT_STATE_CLOSED)
      continue;
    if (state == SIO_CLIENT_STATE_IDLE && !client->close_requested) {
      waiting = TRUE;
      continue;
    }
    if (!client_retries (client, error)) {
      close_client (client, error);
    } else if (out_of_attempts) {
      close_client (client, final);
    } else {
      /* emits meant for the next connection wait for it */
      fail_all_emits (client, TRUE);
      client->connected_us = 0;
      client->rejoin_at_us = -1;
      set_state (client, SIO_CLIENT_STATE_RECONNECTING, error);
      retry = TRUE;
    }
  }
  g_clear_error (&final);

  if (retry) {
    if (healthy)
      engine->reconnect_attempt = 0;
    engine->reconnect_attempt++;
    delay = reconnect_delay_ms (engine, engine->reconnect_attempt);
    GST_INFO ("%s: reconnecting in %u ms (attempt %u)", engine->display_url,
        delay, engine->reconnect_attempt);
    engine->state = ENGINE_WAITING;
    engine->reconnect_timer = g_timeout_source_new (delay);
    g_source_set_callback (engine->reconnect_timer, on_reconnect_timer,
        engine, NULL);
    g_source_attach (engine->reconnect_timer,
        sio_loop_get_context (engine->loop));
  } else if (waiting && !engine->shut_down) {
    start_connect (engine);
  }
  g_clear_error (&error);
}

/* Whether a client of @engine other than @except is joined or joining. */
static gboolean
others_joined (SioEngine * engine, SioClient * except)
{
  guint i;

  for (i = 0; i < engine->members->len; i++) {
    SioClient *member = g_ptr_array_index (engine->members, i);
    SioClientState state = get_state (member);

    if (member != except && (state == SIO_CLIENT_STATE_JOINING ||
            state == SIO_CLIENT_STATE_CONNECTED))
      return TRUE;
  }
  return FALSE;
}

/* Ends @client's namespace: the server refused or disconnected it, or it
 * did not join in time. Alone on its connection, that ends the connection
 * (close_with_error()); on a shared one, the namespace alone closes or,
 * if retriable, joins again after the backoff. When no namespace is left
 * joined, the connection is dropped and made again: a node that drains
 * every namespace is left for another one. */
static void
namespace_lost (SioClient * client, GError * error)
{
  SioEngine *engine = client->engine;
  guint delay;

  /* alone on a connection that is up or being made: it ends with it */
  if (other_live_members (engine, client) == 0 &&
      engine->state >= ENGINE_CONNECTING && engine->state <= ENGINE_CLOSING) {
    close_with_error (engine, error);
    return;
  }
  if (!is_live (client)) {
    g_clear_error (&error);
    return;
  }
  GST_INFO ("%s: namespace %s ends: %s", engine->display_url,
      client->nsp_key, error ? error->message : "cleanly");
  if (connection_was_healthy (client))
    client->rejoin_attempt = 0;
  if (!client_retries (client, error)) {
    close_client (client, error);
  } else if (engine->max_reconnect_attempts > 0 &&
      client->rejoin_attempt >= engine->max_reconnect_attempts) {
    GError *final = gave_up_error (client->rejoin_attempt, error);

    close_client (client, final);
    g_error_free (final);
  } else {
    client->rejoin_attempt++;
    fail_all_emits (client, TRUE);
    client->connected_us = 0;
    delay = reconnect_delay_ms (engine, client->rejoin_attempt);
    client->rejoin_at_us = g_get_monotonic_time () + (gint64) delay *1000;
    arm_deadline (engine, client->rejoin_at_us);
    set_state (client, SIO_CLIENT_STATE_RECONNECTING, error);
  }
  if (!others_joined (engine, NULL) && engine->state == ENGINE_OPEN &&
      other_live_members (engine, NULL) > 0)
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST, "no namespace is joined on "
            "the connection any more (the last: %s)",
            error ? error->message : "closed"));
  g_clear_error (&error);
}

/* Queues one Engine.IO packet (a text one has its type digit first) on
 * the transport in use. */
static void
transport_send (SioEngine * engine, gboolean binary, const guint8 * data,
    gsize length)
{
  if (engine->ws) {
    if (sio_websocket_send (engine->ws, binary, data, length))
      g_atomic_pointer_add (&engine->bytes_written, length);
  } else if (engine->polling) {
    sio_polling_send (engine->polling, binary, data, length);
    g_atomic_pointer_add (&engine->bytes_written, length);
  }
}

static void
send_text (SioEngine * engine, const gchar * text)
{
  transport_send (engine, FALSE, (const guint8 *) text, strlen (text));
}

/* A packet of @client's namespace, counted as its own. */
static void
client_send (SioClient * client, gboolean binary, const guint8 * data,
    gsize length)
{
  transport_send (client->engine, binary, data, length);
  g_atomic_pointer_add (&client->bytes_written, length);
}

static void
client_send_scratch (SioClient * client)
{
  GString *scratch = client->engine->scratch;

  client_send (client, FALSE, (const guint8 *) scratch->str, scratch->len);
}

static gsize
transport_pending (SioEngine * engine)
{
  if (engine->ws)
    return sio_websocket_get_pending (engine->ws);
  if (engine->polling)
    return sio_polling_get_pending (engine->polling);
  return 0;
}

/* Returns @emit's record, cleared, when it is free to reuse; NULL when
 * it was freed. */
static SioEmit *
write_one_emit (SioClient * client, SioEmit * emit)
{
  GString *scratch = client->engine->scratch;
  gint64 ack_id = -1;

  if (emit->answers >= 0) {
    g_string_truncate (scratch, 0);
    sio_packet_encode (scratch, SIO_PACKET_ACK, client->nsp, 0,
        emit->answers, emit->args_json ? emit->args_json : "[]");
    client_send_scratch (client);
    emit_free (emit);
    return NULL;
  }
  if (emit->want_ack) {
    ack_id = client->next_ack_id++;
    client->acks_wanted++;
  }

  g_string_truncate (scratch, 0);
  sio_packet_encode (scratch, emit->attachment ?
      SIO_PACKET_BINARY_EVENT : SIO_PACKET_EVENT, client->nsp,
      emit->attachment ? 1 : 0, ack_id, emit->args_json);
  /* header and attachment go out back to back, in the same buffer */
  client_send_scratch (client);
  if (emit->attachment)
    client_send (client, TRUE, emit->attachment, emit->attachment_size);

  if (emit->want_ack) {
    gint64 sent_us = g_get_monotonic_time ();

    ack_book_add (&client->pending_acks, ack_id, emit->token, sent_us,
        emit->want_ack_args);
    if (client->ack_timeout_ms > 0)
      arm_deadline (client->engine,
          sent_us + (gint64) client->ack_timeout_ms * 1000);
    emit_clear (emit);
    return emit;
  }
  emit_finish (client, emit, SIO_EMIT_WRITTEN);
  return NULL;
}

/* The send gate: it writes queued emits while the connection's output
 * buffer has room, for each joined namespace in turn, in one write (or
 * one POST) for all of them. It is work for the shared network thread
 * (sio-loop.h), queued when that may have become true: an emit handed
 * over to an empty queue, a join, the output buffer falling to its
 * low-water mark, the end of an upgrade. Only GATE_MAX_BYTES wait in the
 * output buffer, so memory stays bounded by what the callers hand over. */
static gboolean
gate_open (SioEngine * engine)
{
  return (engine->ws != NULL || engine->polling != NULL) &&
      !engine->upgrade_pausing && engine->state == ENGINE_OPEN &&
      transport_pending (engine) < GATE_MAX_BYTES;
}

static gboolean
client_has_work (SioClient * client)
{
  return get_state (client) == SIO_CLIENT_STATE_CONNECTED &&
      g_atomic_int_get (&client->outgoing_length) > 0;
}

static void
schedule_gate (SioEngine * engine)
{
  sio_loop_schedule (engine->loop, &engine->gate);
}

/* @client has emits queued: it gets a turn at the gate (it may have one
 * already, from before the gate could open). */
static void
mark_ready (SioClient * client)
{
  SioEngine *engine = client->engine;

  /* alone on its connection, it is the one the gate serves */
  if (engine->share_key == NULL) {
    schedule_gate (engine);
    return;
  }
  g_mutex_lock (&engine->ready_lock);
  if (!client->in_ready) {
    client->in_ready = TRUE;
    client->ready_link.data = client;
    client->ready_link.next = client->ready_link.prev = NULL;
    g_queue_push_tail_link (&engine->ready, &client->ready_link);
  }
  g_mutex_unlock (&engine->ready_lock);
  schedule_gate (engine);
}

/* Network thread, after an ack was answered or given up at @now: emits
 * held back for more to follow go out once no ack is left that would
 * bring the connection's thread back to them, or once they were held
 * HOLD_MAX_US (a refill comes at once; one that does not is no refill). */
static void
release_held (SioClient * client, gint64 now)
{
  gboolean release = FALSE;

  if (g_atomic_int_get (&client->pending_acks.waiting) != 0 &&
      !g_atomic_int_get (&client->holding_hint))
    return;
  g_mutex_lock (&client->lock);
  if (g_atomic_int_get (&client->pending_acks.waiting) == 0 ||
      now - client->hold_since_us >= HOLD_MAX_US)
    release = end_hold_locked (client);
  g_mutex_unlock (&client->lock);
  if (release)
    mark_ready (client);
}

static SioClient *
next_ready (SioEngine * engine)
{
  SioClient *client;
  GList *link;

  g_mutex_lock (&engine->ready_lock);
  link = g_queue_pop_head_link (&engine->ready);
  client = link ? link->data : NULL;
  if (client)
    client->in_ready = FALSE;
  g_mutex_unlock (&engine->ready_lock);
  return client;
}

/* With client->lock held: keeps the cleared record @spent (may be NULL)
 * for a later emit; returns it when there are enough already. */
static SioEmit *
keep_spare_locked (SioClient * client, SioEmit * spent)
{
  if (spent == NULL || client->spare_emits.length >= SPARE_EMITS_MAX)
    return spent;
  spent->link.data = spent;
  spent->link.next = spent->link.prev = NULL;
  g_queue_push_head_link (&client->spare_emits, &spent->link);
  return NULL;
}

/* Writes up to @budget of @client's emits; the number written. */
static guint
write_emits (SioClient * client, guint budget)
{
  guint written = 0;
  SioEmit *spent = NULL;

  while (written < budget && gate_open (client->engine) &&
      client_has_work (client)) {
    SioEmit *emit = NULL;
    GList *link;

    g_mutex_lock (&client->lock);
    spent = keep_spare_locked (client, spent);
    link = g_queue_pop_head_link (&client->outgoing);
    if (link) {
      emit = link->data;
      g_atomic_int_add (&client->outgoing_length, -1);
    }
    g_mutex_unlock (&client->lock);
    g_free (spent);
    spent = NULL;
    if (emit == NULL)
      break;

    if (emit->epoch != client->epoch) {
      /* handed over while the previous connection was going down */
      emit_finish (client, emit, SIO_EMIT_LOST);
      continue;
    }
    spent = write_one_emit (client, emit);
    written++;
  }
  if (spent) {
    g_mutex_lock (&client->lock);
    spent = keep_spare_locked (client, spent);
    g_mutex_unlock (&client->lock);
    g_free (spent);
  }
  return written;
}

/* A connection that failed meanwhile is gone: uncork only the one that is
 * still there. */
static void
uncork (SioEngine * engine, SioWebSocket * ws, SioPolling * polling)
{
  if (ws && ws == engine->ws)
    sio_websocket_set_corked (ws, FALSE);
  else if (polling && polling == engine->polling)
    sio_polling_set_corked (polling, FALSE);
}

/* One turn of the gate: at most @budget emits, in one write. */
static void
gate_run_budget (SioEngine * engine, guint budget)
{
  SioWebSocket *ws = engine->ws;
  SioPolling *polling = engine->polling;
  guint emits = 0, turns, share;
  SioClient *client;

  if (!gate_open (engine))
    return;
  /* the batch goes out in one write, or one POST */
  if (ws)
    sio_websocket_set_corked (ws, TRUE);
  else
    sio_polling_set_corked (polling, TRUE);
  if (engine->share_key == NULL) {
    client = engine->members->len ? g_ptr_array_index (engine->members, 0) :
        NULL;
    if (client)
      write_emits (client, budget);
    uncork (engine, ws, polling);
    if (client && client_has_work (client) && gate_open (engine))
      schedule_gate (engine);
    return;
  }
  /* each ready namespace in turn; one alone gets the whole batch */
  g_mutex_lock (&engine->ready_lock);
  turns = g_queue_get_length (&engine->ready);
  g_mutex_unlock (&engine->ready_lock);
  share = MAX (1, budget / MAX (turns, 1));
  while (emits < budget && gate_open (engine) &&
      (client = next_ready (engine)) != NULL) {
    emits += write_emits (client, MIN (share, budget - emits));
    /* more left: its next turn comes after the others' */
    if (client_has_work (client))
      mark_ready (client);
  }
  uncork (engine, ws, polling);
  /* more than one batch queued: the rest after the other connections */
  g_mutex_lock (&engine->ready_lock);
  turns = g_queue_get_length (&engine->ready);
  g_mutex_unlock (&engine->ready_lock);
  if (turns > 0 && gate_open (engine))
    schedule_gate (engine);
}

static void
gate_run (gpointer user_data)
{
  gate_run_budget (user_data, GATE_MAX_EMITS);
}

static void
send_connect (SioClient * client)
{
  GString *scratch = client->engine->scratch;

  g_string_truncate (scratch, 0);
  g_mutex_lock (&client->lock);
  sio_packet_encode (scratch, SIO_PACKET_CONNECT, client->nsp, 0, -1,
      client->auth_json);
  g_mutex_unlock (&client->lock);
  client_send_scratch (client);
}

/* The engine is open: @client asks to join its namespace. */
static void
join_namespace (SioClient * client)
{
  client->next_ack_id = 0;
  client->rejoin_at_us = -1;
  set_state (client, SIO_CLIENT_STATE_JOINING, NULL);
  send_connect (client);
}

/* The engine's phase, followed by each client not joined yet. */
static void
set_engine_state (SioEngine * engine, EngineState state)
{
  SioClientState follows = state == ENGINE_CONNECTING ?
      SIO_CLIENT_STATE_CONNECTING : SIO_CLIENT_STATE_OPENING;
  guint i;

  engine->state = state;
  if (state != ENGINE_CONNECTING && state != ENGINE_OPENING)
    return;
  for (i = 0; i < engine->members->len; i++) {
    SioClient *client = g_ptr_array_index (engine->members, i);
    SioClientState now = get_state (client);

    if (now == SIO_CLIENT_STATE_CLOSED || now == SIO_CLIENT_STATE_CLOSING)
      continue;
    if (state == ENGINE_CONNECTING) {
      client->join_deadline_us = engine->connect_deadline_us;
      client->rejoin_at_us = -1;
    }
    set_state (client, follows, NULL);
  }
}

static void
handle_open (SioEngine * engine, const gchar * data, gsize length)
{
  SioEioOpen open;
  GError *error = NULL;
  guint i;

  if (engine->state != ENGINE_OPENING) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "unexpected second Engine.IO open"));
    return;
  }
  if (!sio_eio_parse_open (data, length, &open, &error)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "bad Engine.IO handshake: %s",
            error->message));
    g_clear_error (&error);
    return;
  }

  GST_INFO ("%s: Engine.IO session over %s, ping every %u ms (timeout %u "
      "ms), maxPayload %" G_GUINT64_FORMAT "%s", engine->display_url,
      engine->polling ? "polling" : "WebSocket", open.ping_interval_ms,
      open.ping_timeout_ms, open.max_payload, open.upgrade_websocket ?
      ", upgrade to WebSocket offered" : "");
  g_free (engine->sid);
  engine->sid = g_strdup (open.sid);
  if (engine->polling) {
    guint64 body_limit = open.max_payload ? open.max_payload :
        DEFAULT_POLLING_MAX_PAYLOAD;

    /* a server that announces maxPayload counts bytes, not packets */
    sio_polling_start (engine->polling, open.sid, (gsize) body_limit,
        open.max_payload ? 0 : SIO_POLLING_LEGACY_MAX_PACKETS);
    /* an attachment travels as a base64 packet, "b" first: the largest
     * that fits in one body is what callers may hand over */
    g_atomic_pointer_set (&engine->max_payload,
        (gsize) ((body_limit - 1) / 4 * 3));
  } else {
    g_atomic_pointer_set (&engine->max_payload, (gsize) open.max_payload);
  }
  if (open.ping_interval_ms < MIN_PING_MS || open.ping_interval_ms >
      MAX_PING_MS || open.ping_timeout_ms < MIN_PING_MS ||
      open.ping_timeout_ms > MAX_PING_MS) {
    GST_WARNING ("%s: the server announced pingInterval %u ms and "
        "pingTimeout %u ms; using %u + %u ms to detect a dead server",
        engine->display_url, open.ping_interval_ms, open.ping_timeout_ms,
        DEFAULT_PING_INTERVAL_MS, DEFAULT_PING_TIMEOUT_MS);
    open.ping_interval_ms = DEFAULT_PING_INTERVAL_MS;
    open.ping_timeout_ms = DEFAULT_PING_TIMEOUT_MS;
  }
  engine->ping_window_ms = open.ping_interval_ms + open.ping_timeout_ms;
  engine->ping_deadline_us = g_get_monotonic_time () +
      (gint64) engine->ping_window_ms * 1000;
  arm_deadline (engine, engine->ping_deadline_us);
  /* AUTO probes too: a refusal that passed (a 503 while the server
   * started) does not leave the stream on polling for good */
  if (engine->polling && (engine->transports == SIO_TRANSPORTS_POLLING_UPGRADE
          || engine->transports == SIO_TRANSPORTS_AUTO) &&
      open.upgrade_websocket)
    start_probe (engine);
  sio_eio_open_clear (&open);

  engine->state = ENGINE_OPEN;
  for (i = 0; i < engine->members->len; i++) {
    SioClient *client = g_ptr_array_index (engine->members, i);

    if (get_state (client) == SIO_CLIENT_STATE_OPENING)
      join_namespace (client);
  }
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
        client->engine->incoming_attachments, ack_id, listener->user_data);
  }
  g_mutex_unlock (&client->listeners_lock);
  return verdict;
}

static void
deliver_event (SioClient * client, SioPacket * packet)
{
  SioEngine *engine = client->engine;
  const gchar *name = sio_packet_get_event_name (packet);
  gchar *args = sio_packet_dup_args_json (packet);
  SioEventVerdict verdict;

  GST_DEBUG ("%s: server event '%s' %.200s", engine->display_url, name, args);
  verdict = offer_to_listeners (client, name, args, packet->ack_id);
  if (verdict == SIO_EVENT_PASS)
    client->callbacks.server_event (client, name, args,
        engine->incoming_attachments, client->user_data);

  /* the server asked for an ack, and nobody answers it later: give it an
   * empty one */
  if (packet->ack_id >= 0 && verdict != SIO_EVENT_TAKEN_ACK_LATER &&
      is_live (client)) {
    g_string_truncate (engine->scratch, 0);
    sio_packet_encode (engine->scratch, SIO_PACKET_ACK, client->nsp, 0,
        packet->ack_id, "[]");
    client_send_scratch (client);
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
  gint64 rtt_us, now;

  pending = ack_book_lookup (&client->pending_acks, ack_id);
  if (pending == NULL) {
    /* late ack after a timeout, or never asked for */
    GST_DEBUG ("%s: ack %" G_GINT64_FORMAT " matches no emit",
        client->engine->display_url, ack_id);
    return;
  }
  client->acks_received++;
  if (pending->want_args)
    args = packet ? sio_packet_dup_args_json (packet) : g_strdup ("[]");
  /* copied out: the callback may add to the book, which moves it */
  token = pending->token;
  now = g_get_monotonic_time ();
  rtt_us = now - pending->sent_us;
  ack_book_done (&client->pending_acks, pending);
  release_held (client, now);
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

/* The client that joined (or is joining) namespace @nsp on @engine;
 * packets for any other namespace are ignored. */
static SioClient *
find_namespace (SioEngine * engine, const gchar * nsp, gsize nsp_length)
{
  SioClient *client = NULL;
  SioClientState state;

  if (engine->by_nsp) {
    /* every ack comes this way: the key on the stack, as a rule */
    gchar stack_key[128];
    gchar *key = nsp_length < sizeof (stack_key) ? stack_key :
        g_malloc (nsp_length + 1);

    memcpy (key, nsp, nsp_length);
    key[nsp_length] = '\0';
    client = g_hash_table_lookup (engine->by_nsp, key);
    if (key != stack_key)
      g_free (key);
  } else if (engine->members->len == 1) {
    client = g_ptr_array_index (engine->members, 0);
    if (nsp_length != strlen (client->nsp_key) ||
        memcmp (nsp, client->nsp_key, nsp_length) != 0)
      client = NULL;
  }
  state = client ? get_state (client) : SIO_CLIENT_STATE_CLOSED;
  if (state == SIO_CLIENT_STATE_JOINING || state == SIO_CLIENT_STATE_CONNECTED
      || state == SIO_CLIENT_STATE_CLOSING)
    return client;
  GST_DEBUG ("%s: ignoring a packet for namespace %.*s", engine->display_url,
      (gint) MIN (nsp_length, 200), nsp);
  return NULL;
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

/* The server accepted @client's CONNECT. */
static void
namespace_joined (SioClient * client)
{
  client->has_connected = TRUE;
  client->connected_us = g_get_monotonic_time ();
  client->acks_wanted = client->acks_received = 0;
  client->epoch++;
  /* anything handed over for an older connection is lost, never sent on
   * this one */
  fail_stale_emits (client);
  set_state (client, SIO_CLIENT_STATE_CONNECTED, NULL);
  /* emits queued while connecting can go now */
  if (g_atomic_int_get (&client->outgoing_length) > 0)
    mark_ready (client);
}

static void
handle_packet (SioEngine * engine, const gchar * data, gsize length)
{
  SioPacket packet;
  GError *error = NULL;
  SioClient *client;
  const gchar *ack_nsp;
  gsize ack_nsp_length;
  gint64 ack_id;

  /* acks are nearly all a streaming client receives and it ignores the
   * arguments of the audio's: those are not decoded */
  if (sio_packet_peek_ack (data, length, &ack_nsp, &ack_nsp_length, &ack_id)) {
    client = find_namespace (engine, ack_nsp, ack_nsp_length);
    if (client == NULL)
      return;
    if (!ack_args_wanted (client, ack_id)) {
      handle_ack_id (client, ack_id, NULL);
      return;
    }
  }

  if (!sio_packet_decode (data, length, &packet, &error)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "%s", error->message));
    g_clear_error (&error);
    return;
  }

  /* the attachments that follow are read whatever the namespace; a
   * packet for another one is ignored once they are in */
  if (packet.attachments > 0) {
    /* the text goes when this returns, the packet waits */
    sio_packet_detach (&packet);
    engine->incoming = packet;
    engine->have_incoming = TRUE;
    return;
  }

  client = find_namespace (engine, packet.nsp, strlen (packet.nsp));
  if (client == NULL) {
    sio_packet_clear (&packet);
    return;
  }

  switch (packet.type) {
    case SIO_PACKET_CONNECT:
      /* v5 servers always answer with {"sid":…}; v4 servers send a bare
       * "40", unasked, for the main namespace */
      if (packet.json == NULL) {
        namespace_lost (client, g_error_new (SIO_CLIENT_ERROR,
                SIO_CLIENT_ERROR_OLD_PROTOCOL, "CONNECT without a sid: "
                "Socket.IO protocol v4"));
        break;
      }
      if (get_state (client) == SIO_CLIENT_STATE_JOINING)
        namespace_joined (client);
      break;
    case SIO_PACKET_CONNECT_ERROR:{
      gchar *message = sio_packet_dup_error_message (&packet);

      namespace_lost (client, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_REFUSED, "%s", message));
      g_free (message);
      break;
    }
    case SIO_PACKET_DISCONNECT:
      namespace_lost (client, g_error_new (SIO_CLIENT_ERROR,
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
handle_message (SioEngine * engine, gboolean binary, const guint8 * bytes,
    gsize length)
{
  const gchar *data = (const gchar *) bytes;
  const gchar *payload;
  gsize payload_length;
  SioEioType eio_type;
  GError *error = NULL;

  if (binary) {
    if (!engine->have_incoming) {
      close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_PROTOCOL, "binary message nobody announced"));
      return;
    }
    g_ptr_array_add (engine->incoming_attachments, g_bytes_new (bytes, length));
    if (engine->incoming_attachments->len == engine->incoming.attachments) {
      SioClient *client = find_namespace (engine, engine->incoming.nsp,
          strlen (engine->incoming.nsp));

      if (client)
        handle_complete_packet (client, &engine->incoming);
      clear_incoming (engine);
    }
    return;
  }

  if (engine->have_incoming) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "text message while %u attachments "
            "were still due", engine->incoming.attachments -
            engine->incoming_attachments->len));
    return;
  }

  if (!sio_eio_decode_text (data, length, &eio_type, &payload,
          &payload_length, &error)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_PROTOCOL, "%s", error->message));
    g_clear_error (&error);
    return;
  }

  switch (eio_type) {
    case SIO_EIO_OPEN:
      handle_open (engine, payload, payload_length);
      break;
    case SIO_EIO_PING:
      /* answered at once, from this thread: never behind queued audio */
      engine->ping_deadline_us = g_get_monotonic_time () +
          (gint64) engine->ping_window_ms * 1000;
      send_text (engine, "3");
      break;
    case SIO_EIO_CLOSE:
      close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
              SIO_CLIENT_ERROR_SERVER_DISCONNECT,
              "the server closed the Engine.IO session"));
      break;
    case SIO_EIO_MESSAGE:
      if (engine->state != ENGINE_OPEN && engine->state != ENGINE_CLOSING) {
        close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
                SIO_CLIENT_ERROR_PROTOCOL, "message before the handshake"));
        break;
      }
      handle_packet (engine, payload, payload_length);
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
  SioEngine *engine = user_data;

  if (ws == engine->probe) {
    /* the probe's answer: polling pauses, and finish_upgrade() follows */
    if (!binary && length == 6 && memcmp (bytes, "3probe", 6) == 0 &&
        !engine->upgrade_pausing && engine->polling) {
      engine->upgrade_pausing = TRUE;
      sio_polling_pause (engine->polling);
    } else {
      abandon_upgrade (engine, "the server answered the probe wrongly");
    }
    return;
  }
  if (ws != engine->ws)
    return;                     /* dropped, not freed yet */
  handle_message (engine, binary, bytes, length);
}

static void
on_polling_packet (SioPolling * polling, gboolean binary,
    const guint8 * bytes, gsize length, gpointer user_data)
{
  SioEngine *engine = user_data;

  if (polling != engine->polling)
    return;
  /* the handshake's answer: the session is opening */
  if (engine->state == ENGINE_CONNECTING)
    set_engine_state (engine, ENGINE_OPENING);
  handle_message (engine, binary, bytes, length);
}

/* What the end of the WebSocket means for the Socket.IO connection. */
static GError *
connection_error (SioEngine * engine, SioWebSocket * ws, const GError * error)
{
  gboolean connecting = engine->state == ENGINE_CONNECTING;

  guint status = sio_websocket_get_http_status (ws);

  if (error == NULL)
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_CONNECTION_LOST,
        "the WebSocket closed");
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR,
          SIO_WEBSOCKET_ERROR_HTTP_STATUS))
    engine->failed_http_status = status;
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
    engine->failed_tls_errors = sio_websocket_get_tls_errors (ws);
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_TLS, "%s",
        error->message);
  }
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_PROXY))
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_PROXY, "%s",
        error->message);
  if (g_error_matches (error, SIO_WEBSOCKET_ERROR, SIO_WEBSOCKET_ERROR_TOO_BIG))
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_MESSAGE_TOO_BIG,
        "the server sent a message larger than %" G_GSIZE_FORMAT " bytes",
        engine->max_incoming_message);
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

static void start_polling (SioEngine * engine);

static void
on_ws_closed (SioWebSocket * ws, const GError * error, gpointer user_data)
{
  SioEngine *engine = user_data;

  if (ws == engine->probe) {
    abandon_upgrade (engine, error ? error->message : "closed");
    return;
  }
  if (ws != engine->ws)
    return;
  if (engine->transports == SIO_TRANSPORTS_AUTO && !engine->websocket_refused
      && engine->state == ENGINE_CONNECTING &&
      websocket_was_refused (ws, error)) {
    GST_INFO ("%s: the server refused WebSocket (%s): long-polling from now "
        "on", engine->display_url, error->message);
    engine->websocket_refused = TRUE;
    drop_connection (engine);
    start_polling (engine);
    return;
  }
  if (engine->state == ENGINE_CLOSING) {
    /* the end of our own goodbye, answered or not */
    close_with_error (engine, NULL);
    return;
  }
  close_with_error (engine, connection_error (engine, ws, error));
}

static void
store_websocket_cookies (SioEngine * engine, SioWebSocket * ws,
    const gchar * url)
{
  GUri *uri;

  if (engine->cookie_jar == NULL)
    return;
  uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  if (uri) {
    sio_http_store_cookies (engine->cookie_jar, uri,
        sio_websocket_get_response_headers (ws));
    g_uri_unref (uri);
  }
}

static void
on_ws_opened (SioWebSocket * ws, gpointer user_data)
{
  SioEngine *engine = user_data;

  if (ws == engine->probe) {
    store_websocket_cookies (engine, ws, engine->url);
    send_probe (engine);
    return;
  }
  if (ws != engine->ws || engine->state != ENGINE_CONNECTING)
    return;
  store_websocket_cookies (engine, ws, engine->url);
  set_engine_state (engine, ENGINE_OPENING);
}

static void
on_ws_writable (SioWebSocket * ws, gpointer user_data)
{
  SioEngine *engine = user_data;

  if (ws == engine->ws)
    schedule_gate (engine);
}

static const SioWebSocketCallbacks ws_callbacks = {
  on_ws_opened, on_ws_message, on_ws_writable, on_ws_closed
};

/* A WebSocket to the endpoint with @query_tail added to its query, with
 * every transport setting and the cookies kept so far. Redirects are
 * never followed: they could lead from TLS to plain text, or to another
 * host, with the auth token and the audio. */
static SioWebSocket *
open_websocket (SioEngine * engine, const gchar * query_tail)
{
  SioWebSocketConfig config = { 0 };
  gchar *url = g_strconcat (engine->url, query_tail, NULL);
  GPtrArray *headers = g_ptr_array_new ();
  GUri *uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  gchar *cookie = uri ? sio_http_cookie_header (engine->cookie_jar,
      (const gchar * const *) engine->cookies, uri) : NULL;
  SioWebSocket *ws;
  guint i;

  for (i = 0; engine->extra_headers && engine->extra_headers[i]; i++)
    g_ptr_array_add (headers, engine->extra_headers[i]);
  if (cookie) {
    g_ptr_array_add (headers, (gpointer) "Cookie");
    g_ptr_array_add (headers, cookie);
  }
  g_ptr_array_add (headers, NULL);

  config.url = url;
  config.extra_headers = (const gchar * const *) headers->pdata;
  config.user_agent = engine->user_agent;
  config.tls_database = engine->tls_database;
  config.tls_interaction = engine->tls_interaction;
  config.tls_accept_invalid = engine->tls_accept_invalid;
  config.proxy_resolver = engine->proxy_resolver;
  config.max_incoming_message = engine->max_incoming_message;
  /* the connect deadline (check_deadlines()) bounds the handshake */
  config.handshake_timeout_ms = 0;
  config.low_water = GATE_MAX_BYTES / 2;
  config.loop = engine->loop;
  ws = sio_websocket_connect (&config, &ws_callbacks, engine);

  g_ptr_array_unref (headers);
  g_free (cookie);
  if (uri)
    g_uri_unref (uri);
  g_free (url);
  return ws;
}

/* What the end of a polling session means for the Socket.IO connection. */
static GError *
polling_error (SioEngine * engine, SioPolling * polling, const GError * error)
{
  gboolean connecting = engine->state <= ENGINE_OPENING;
  SioClientError code;

  if (error == NULL)
    return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_CONNECTION_LOST,
        "the polling session ended");
  switch ((SioPollingError) error->code) {
    case SIO_POLLING_ERROR_TLS:
      engine->failed_tls_errors = sio_polling_get_tls_errors (polling);
      code = SIO_CLIENT_ERROR_TLS;
      break;
    case SIO_POLLING_ERROR_HTTP_STATUS:
      /* once the session is up, an error status means the server lost
       * it (restarted, or another node behind a load balancer) */
      if (!connecting)
        return g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST, "the server dropped the "
            "polling session (%s)", error->message);
      engine->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_HTTP_STATUS;
      break;
    case SIO_POLLING_ERROR_REDIRECTED:
      engine->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_REDIRECTED;
      break;
    case SIO_POLLING_ERROR_PROXY:
      engine->failed_http_status = sio_polling_get_http_status (polling);
      code = SIO_CLIENT_ERROR_PROXY;
      break;
    case SIO_POLLING_ERROR_TOO_BIG:
      return g_error_new (SIO_CLIENT_ERROR, SIO_CLIENT_ERROR_MESSAGE_TOO_BIG,
          "the server sent a message larger than %" G_GSIZE_FORMAT " bytes",
          engine->max_incoming_message);
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
  SioEngine *engine = user_data;

  if (polling != engine->polling || engine->probe == NULL)
    return;
  finish_upgrade (engine);
}

static void
on_polling_closed (SioPolling * polling, const GError * error,
    gpointer user_data)
{
  SioEngine *engine = user_data;

  if (polling != engine->polling)
    return;
  if (engine->state == ENGINE_CLOSING && error == NULL) {
    close_with_error (engine, NULL);
    return;
  }
  close_with_error (engine, polling_error (engine, polling, error));
}

static void
on_polling_writable (SioPolling * polling, gpointer user_data)
{
  SioEngine *engine = user_data;

  if (polling == engine->polling)
    schedule_gate (engine);
}

static const SioPollingCallbacks polling_callbacks = {
  on_polling_packet, on_polling_paused, on_polling_closed,
  on_polling_writable
};

static void
start_polling (SioEngine * engine)
{
  SioPollingConfig config = { 0 };

  config.url = engine->url;
  config.extra_headers = (const gchar * const *) engine->extra_headers;
  config.user_agent = engine->user_agent;
  config.cookies = (const gchar * const *) engine->cookies;
  config.cookie_jar = engine->cookie_jar;
  config.tls_database = engine->tls_database;
  config.tls_interaction = engine->tls_interaction;
  config.tls_accept_invalid = engine->tls_accept_invalid;
  config.proxy_resolver = engine->proxy_resolver;
  config.proxy_id = engine->proxy_id;
  config.proxy_pw = engine->proxy_pw;
  /* a binary message travels as base64 in a body with others */
  config.max_response_body = engine->max_incoming_message / 3 * 4 + 65536;
  config.max_packet = engine->max_incoming_message;
  config.max_payload = DEFAULT_POLLING_MAX_PAYLOAD;
  engine->polling = sio_polling_open (&config, &polling_callbacks, engine);
  set_transport_name (engine, "polling");
}

static void
start_connect (SioEngine * engine)
{
  gboolean polling = engine->transports == SIO_TRANSPORTS_POLLING ||
      engine->transports == SIO_TRANSPORTS_POLLING_UPGRADE ||
      engine->websocket_refused;

  engine->connect_deadline_us = g_get_monotonic_time () +
      (gint64) engine->connect_timeout_ms * 1000;
  if (engine->connect_timeout_ms > 0)
    arm_deadline (engine, engine->connect_deadline_us);
  engine->ping_window_ms = 0;
  engine->failed_http_status = 0;
  engine->failed_tls_errors = 0;
  set_engine_state (engine, ENGINE_CONNECTING);
  if (polling) {
    start_polling (engine);
  } else {
    engine->ws = open_websocket (engine, "&transport=websocket");
    set_transport_name (engine, "websocket");
  }
}

/* The upgrade from polling: a WebSocket on the same session, probed. */
static void
start_probe (SioEngine * engine)
{
  gchar *escaped = g_uri_escape_string (engine->sid, NULL, FALSE);
  gchar *tail = g_strconcat ("&transport=websocket&sid=", escaped, NULL);

  engine->probe = open_websocket (engine, tail);
  engine->probe_deadline_us = g_get_monotonic_time () +
      (gint64) MAX (engine->connect_timeout_ms, 1000) * 1000;
  arm_deadline (engine, engine->probe_deadline_us);
  g_free (tail);
  g_free (escaped);
}

/* The deadlines, each -1 while it does not apply: check_deadlines() ends
 * what a passed one bounds, next_deadline() sets the timer from the same
 * values. */
static gint64
connect_deadline (SioEngine * engine)
{
  return (engine->state == ENGINE_CONNECTING ||
      engine->state == ENGINE_OPENING) && engine->connect_timeout_ms > 0 ?
      engine->connect_deadline_us : -1;
}

static gint64
probe_deadline (SioEngine * engine)
{
  return engine->probe ? engine->probe_deadline_us : -1;
}

static gint64
ping_deadline (SioEngine * engine)
{
  return engine->state == ENGINE_OPEN ? engine->ping_deadline_us : -1;
}

/* pings come on the GETs while our pongs wait behind a POST the server
 * never answers: the POST is bounded by the same window */
static gint64
post_deadline (SioEngine * engine)
{
  gint64 sent;

  if (ping_deadline (engine) < 0 || engine->polling == NULL)
    return -1;
  sent = sio_polling_get_post_sent_time (engine->polling);
  return sent > 0 ? sent + (gint64) engine->ping_window_ms * 1000 : -1;
}

/* a namespace not joined in time (its connection's own phases are the
 * engine's connect deadline) */
static gint64
join_deadline (SioClient * client)
{
  SioClientState state = get_state (client);

  return (state == SIO_CLIENT_STATE_JOINING || state ==
      SIO_CLIENT_STATE_IDLE) && client->started &&
      client->engine->connect_timeout_ms > 0 ? client->join_deadline_us : -1;
}

static gint64
rejoin_deadline (SioClient * client)
{
  return get_state (client) == SIO_CLIENT_STATE_RECONNECTING ?
      client->rejoin_at_us : -1;
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
expire_acks (SioClient * client, gint64 now)
{
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
    release_held (client, now);
    client->callbacks.emit_done (client, token, SIO_EMIT_ACK_TIMEOUT, -1,
        client->user_data);
  }
  ack_book_compact (&client->pending_acks);
}

/* A namespace's deadlines. */
static void
check_client_deadlines (SioClient * client, gint64 now)
{
  SioEngine *engine = client->engine;

  if (passed (join_deadline (client), now)) {
    namespace_lost (client, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECT_TIMEOUT,
            "not connected after %u ms (stuck while %s)",
            engine->connect_timeout_ms,
            sio_client_state_get_name (get_state (client))));
    return;
  }
  if (passed (rejoin_deadline (client), now)) {
    client->rejoin_at_us = -1;
    if (engine->state == ENGINE_OPEN) {
      client->join_deadline_us = now +
          (gint64) engine->connect_timeout_ms * 1000;
      GST_INFO ("%s: namespace %s joins again (attempt %u)",
          engine->display_url, client->nsp_key, client->rejoin_attempt);
      join_namespace (client);
    } else if (engine->state == ENGINE_CLOSED || engine->state == ENGINE_IDLE) {
      start_connect (engine);
    }
  }
  if (passed (ack_deadline (client), now))
    expire_acks (client, now);
}

static void
check_deadlines (SioEngine * engine)
{
  gint64 now = g_get_monotonic_time ();
  guint i;

  if (passed (connect_deadline (engine), now)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECT_TIMEOUT,
            "not connected after %u ms (stuck while %s)",
            engine->connect_timeout_ms, engine->state == ENGINE_CONNECTING ?
            "connecting" : "opening"));
    return;
  }

  if (passed (probe_deadline (engine), now))
    abandon_upgrade (engine, "the probe timed out");

  if (passed (ping_deadline (engine), now)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST,
            "no ping from the server for %u ms", engine->ping_window_ms));
    return;
  }

  if (passed (post_deadline (engine), now)) {
    close_with_error (engine, g_error_new (SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_CONNECTION_LOST,
            "no answer to a polling request in %u ms", engine->ping_window_ms));
    return;
  }

  /* the members stay while their callbacks run */
  for (i = 0; i < engine->members->len; i++)
    check_client_deadlines (g_ptr_array_index (engine->members, i), now);
}

static gint64
earliest (gint64 a, gint64 b)
{
  if (a < 0)
    return b;
  if (b < 0)
    return a;
  return MIN (a, b);
}

/* The earliest deadline still to come, or -1. A POST sent after this was
 * computed is seen at the next firing, which the ping deadline brings
 * within one window. */
static gint64
next_deadline (SioEngine * engine)
{
  gint64 next = earliest (connect_deadline (engine), probe_deadline (engine));
  guint i;

  next = earliest (next, ping_deadline (engine));
  next = earliest (next, post_deadline (engine));
  for (i = 0; i < engine->members->len; i++) {
    SioClient *client = g_ptr_array_index (engine->members, i);

    next = earliest (next, join_deadline (client));
    next = earliest (next, rejoin_deadline (client));
    next = earliest (next, ack_deadline (client));
  }
  return next;
}

/* Makes the timer fire at @deadline_us at the latest. Deadlines that move
 * later (a ping resets the ping deadline) leave it alone: it fires early
 * once and is set again, so the common case costs nothing. */
static void
arm_deadline (SioEngine * engine, gint64 deadline_us)
{
  gint64 ready = sio_loop_timer_get (&engine->deadline_timer);

  if (engine->shut_down)
    return;
  if (ready < 0 || deadline_us < ready)
    sio_loop_timer_set (engine->loop, &engine->deadline_timer, deadline_us);
}

static void
on_deadline (gpointer user_data)
{
  SioEngine *engine = user_data;
  gint64 next;

  check_deadlines (engine);
  next = next_deadline (engine);
  if (next >= 0)
    arm_deadline (engine, next);
}

static void
send_disconnect (SioClient * client)
{
  GString *scratch = client->engine->scratch;

  g_string_truncate (scratch, 0);
  sio_packet_encode (scratch, SIO_PACKET_DISCONNECT, client->nsp, 0, -1, NULL);
  client_send_scratch (client);
}

static gboolean
do_close (gpointer user_data)
{
  SioClient *client = user_data;
  SioEngine *engine = client->engine;

  client->close_requested = TRUE;
  if (!is_live (client))
    return G_SOURCE_REMOVE;

  if (other_live_members (engine, client) > 0) {
    /* the connection stays for the others: this namespace leaves */
    if (get_state (client) == SIO_CLIENT_STATE_CONNECTED &&
        engine->state == ENGINE_OPEN)
      send_disconnect (client);
    close_client (client, NULL);
    return G_SOURCE_REMOVE;
  }

  if (engine->reconnect_timer) {
    g_source_destroy (engine->reconnect_timer);
    g_clear_pointer (&engine->reconnect_timer, g_source_unref);
  }
  /* an upgrade half done would hold what polling still has to send */
  abandon_upgrade (engine, "closing");
  if (engine->state == ENGINE_WAITING || engine->state == ENGINE_IDLE ||
      engine->state == ENGINE_CLOSED) {
    engine->state = ENGINE_CLOSED;
    close_client (client, NULL);
    return G_SOURCE_REMOVE;
  }
  if (get_state (client) != SIO_CLIENT_STATE_CONNECTED ||
      engine->state != ENGINE_OPEN ||
      (engine->ws == NULL && engine->polling == NULL)) {
    close_with_error (engine, NULL);
    if (is_live (client))
      close_client (client, NULL);
    return G_SOURCE_REMOVE;
  }

  set_state (client, SIO_CLIENT_STATE_CLOSING, NULL);
  engine->state = ENGINE_CLOSING;
  send_disconnect (client);
  send_text (engine, "1");
  /* the close frame goes out after those, and the connection waits
   * (bounded) for the server's; on_ws_closed() finishes. Polling posts
   * them, bounded too; on_polling_closed() finishes. */
  if (engine->ws)
    sio_websocket_close (engine->ws, 1000, NULL);
  else
    sio_polling_close (engine->polling);
  return G_SOURCE_REMOVE;
}

/* The last client is gone: nothing of the engine runs after this. */
static gboolean
do_teardown (gpointer user_data)
{
  SioEngine *engine = user_data;

  g_cancellable_cancel (engine->cancellable);
  if (engine->reconnect_timer) {
    g_source_destroy (engine->reconnect_timer);
    g_clear_pointer (&engine->reconnect_timer, g_source_unref);
  }
  if (engine->ws && engine->state == ENGINE_OPEN)
    send_text (engine, "1");
  drop_connection (engine);
  engine->state = ENGINE_CLOSED;
  engine->shut_down = TRUE;
  sio_loop_unschedule (engine->loop, &engine->gate);
  sio_loop_timer_set (engine->loop, &engine->deadline_timer, -1);
  return G_SOURCE_REMOVE;
}

static gboolean
do_shutdown (gpointer user_data)
{
  SioClient *client = user_data;
  SioEngine *engine = client->engine;

  client->shut_down = TRUE;
  if (!client->started)
    return G_SOURCE_REMOVE;
  if (is_live (client)) {
    /* best effort, never waited for: the socket may close right after (a
     * polling request would be cancelled before it left) */
    if (engine->ws && engine->state == ENGINE_OPEN &&
        get_state (client) == SIO_CLIENT_STATE_CONNECTED)
      send_disconnect (client);
    close_client (client, NULL);
  }
  g_ptr_array_remove (engine->members, client);
  if (engine->by_nsp && g_hash_table_lookup (engine->by_nsp,
          client->nsp_key) == client)
    g_hash_table_remove (engine->by_nsp, client->nsp_key);
  g_mutex_lock (&engine->ready_lock);
  if (client->in_ready) {
    g_queue_unlink (&engine->ready, &client->ready_link);
    client->in_ready = FALSE;
  }
  g_mutex_unlock (&engine->ready_lock);
  /* the others are closed too: nobody needs the connection any more
   * (a client still to start makes a new one) */
  if (other_live_members (engine, NULL) == 0 && engine->state != ENGINE_CLOSED
      && engine->state != ENGINE_IDLE) {
    if (engine->reconnect_timer) {
      g_source_destroy (engine->reconnect_timer);
      g_clear_pointer (&engine->reconnect_timer, g_source_unref);
    }
    drop_connection (engine);
    engine->state = ENGINE_CLOSED;
  }
  return G_SOURCE_REMOVE;
}

static gboolean
do_start (gpointer user_data)
{
  SioClient *client = user_data;
  SioEngine *engine = client->engine;

  /* freed before its start came round */
  if (client->shut_down)
    return G_SOURCE_REMOVE;
  client->started = TRUE;
  client->join_deadline_us = g_get_monotonic_time () +
      (gint64) engine->connect_timeout_ms * 1000;
  g_ptr_array_add (engine->members, client);
  if (engine->by_nsp)
    g_hash_table_replace (engine->by_nsp, (gpointer) client->nsp_key, client);
  switch (engine->state) {
    case ENGINE_IDLE:
    case ENGINE_CLOSED:
      start_connect (engine);
      break;
    case ENGINE_CONNECTING:
      set_state (client, SIO_CLIENT_STATE_CONNECTING, NULL);
      break;
    case ENGINE_OPENING:
      set_state (client, SIO_CLIENT_STATE_OPENING, NULL);
      break;
    case ENGINE_OPEN:
      join_namespace (client);
      break;
    case ENGINE_CLOSING:
    case ENGINE_WAITING:
      /* IDLE: it joins the next connection */
      break;
  }
  if (engine->connect_timeout_ms > 0)
    arm_deadline (engine, client->join_deadline_us);
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

static SioEngine *
engine_new (const SioClientConfig * config, gchar * share_key)
{
  SioEngine *engine = g_new0 (SioEngine, 1);

  engine->share_key = share_key;
  engine->url = g_strdup (config->url);
  engine->display_url = g_strdup (config->display_url ? config->display_url :
      "(location)");
  engine->max_incoming_message = config->max_incoming_message;
  engine->connect_timeout_ms = config->connect_timeout_ms;
  engine->reconnect = config->reconnect;
  engine->reconnect_delay_ms = config->reconnect_delay_ms;
  engine->reconnect_delay_max_ms = MAX (config->reconnect_delay_max_ms,
      config->reconnect_delay_ms);
  engine->max_reconnect_attempts = config->max_reconnect_attempts;
  engine->retry_first_connection = config->retry_first_connection;
  engine->reconnect_on_server_disconnect =
      config->reconnect_on_server_disconnect;
  engine->transports = config->transports;
  engine->extra_headers = g_strdupv ((gchar **) config->extra_headers);
  engine->user_agent = g_strdup (config->user_agent);
  engine->cookies = g_strdupv ((gchar **) config->cookies);
  if (config->cookie_jar)
    engine->cookie_jar = g_object_ref (config->cookie_jar);
  if (config->tls_database)
    engine->tls_database = g_object_ref (config->tls_database);
  if (config->tls_interaction)
    engine->tls_interaction = g_object_ref (config->tls_interaction);
  engine->tls_accept_invalid = config->tls_accept_invalid;
  engine->proxy_id = g_strdup (config->proxy_id);
  engine->proxy_pw = g_strdup (config->proxy_pw);
  if (config->proxy)
    engine->proxy_resolver = new_proxy_resolver (config->proxy,
        config->proxy_id, config->proxy_pw);
  engine->rand = g_rand_new ();
  engine->refs = 1;
  engine->nsps = g_ptr_array_new_with_free_func (g_free);
  engine->members = g_ptr_array_new ();
  if (share_key)
    engine->by_nsp = g_hash_table_new (g_str_hash, g_str_equal);
  engine->state = ENGINE_IDLE;
  engine->incoming_attachments =
      g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  engine->scratch = g_string_sized_new (256);
  engine->cancellable = g_cancellable_new ();
  g_mutex_init (&engine->ready_lock);
  g_queue_init (&engine->ready);
  sio_loop_work_init (&engine->gate, gate_run, engine);
  sio_loop_timer_init (&engine->deadline_timer, on_deadline, engine);
  engine->loop = sio_loop_acquire ();
  return engine;
}

static void
engine_free (SioEngine * engine)
{
  sio_loop_run_sync (engine->loop, do_teardown, engine);
  g_ptr_array_unref (engine->members);
  if (engine->by_nsp)
    g_hash_table_unref (engine->by_nsp);
  g_ptr_array_unref (engine->nsps);
  g_ptr_array_unref (engine->incoming_attachments);
  g_string_free (engine->scratch, TRUE);
  g_object_unref (engine->cancellable);
  g_rand_free (engine->rand);
  g_mutex_clear (&engine->ready_lock);
  sio_loop_release (engine->loop);
  g_free (engine->share_key);
  g_free (engine->url);
  g_free (engine->display_url);
  g_strfreev (engine->extra_headers);
  g_free (engine->user_agent);
  g_strfreev (engine->cookies);
  g_clear_object (&engine->cookie_jar);
  g_clear_object (&engine->tls_database);
  g_clear_object (&engine->tls_interaction);
  g_clear_object (&engine->proxy_resolver);
  g_free (engine->proxy_id);
  g_free (engine->proxy_pw);
  g_free (engine->sid);
  g_free (engine);
}

static void
append_field (GString * key, const gchar * value)
{
  /* length first: no value can pass for two */
  g_string_append_printf (key, "%" G_GSIZE_FORMAT ":%s;",
      value ? strlen (value) : 0, value ? value : "");
}

static void
append_list (GString * key, const gchar * const *values)
{
  guint i;

  for (i = 0; values && values[i]; i++)
    append_field (key, values[i]);
  g_string_append_c (key, '|');
}

/* Everything a shared connection is made with: clients share only when
 * all of it is equal (the cookie jar aside: the first client's keeps the
 * connection's cookies). Secrets are in it, so it is never shown. */
static gchar *
share_key_new (const SioClientConfig * config)
{
  GString *key = g_string_new (NULL);

  append_field (key, config->url);
  g_string_append_printf (key, "%u,%u,%u,%u,%u,%" G_GSIZE_FORMAT
      ",%d,%d,%d,%d;%p|", config->connect_timeout_ms, config->reconnect,
      config->reconnect_delay_ms, config->reconnect_delay_max_ms,
      config->max_reconnect_attempts, config->max_incoming_message,
      config->retry_first_connection, config->reconnect_on_server_disconnect,
      config->transports, config->tls_accept_invalid,
      (gpointer) config->tls_interaction);
  if (config->trust)
    append_field (key, config->trust);
  else
    g_string_append_printf (key, "%p|", (gpointer) config->tls_database);
  append_list (key, config->extra_headers);
  append_field (key, config->user_agent);
  append_list (key, config->cookies);
  append_field (key, config->proxy);
  append_field (key, config->proxy_id);
  append_field (key, config->proxy_pw);
  return g_string_free (key, FALSE);
}

static gboolean
has_namespace (SioEngine * engine, const gchar * nsp_key)
{
  guint i;

  for (i = 0; i < engine->nsps->len; i++)
    if (strcmp (g_ptr_array_index (engine->nsps, i), nsp_key) == 0)
      return TRUE;
  return FALSE;
}

/* The engine a new client of namespace @nsp_key uses: a shared one of the
 * same settings without that namespace, or a new one. */
static SioEngine *
engine_acquire (const SioClientConfig * config, const gchar * nsp_key)
{
  SioEngine *engine;
  gchar *key;

  if (!config->multiplex)
    return engine_new (config, NULL);

  key = share_key_new (config);
  g_mutex_lock (&engines_lock);
  if (shared_engines == NULL)
    shared_engines = g_hash_table_new (g_str_hash, g_str_equal);
  engine = g_hash_table_lookup (shared_engines, key);
  if (engine && !has_namespace (engine, nsp_key)) {
    engine->refs++;
    g_free (key);
  } else {
    engine = engine_new (config, key);
    /* the one already there (holding this namespace) stays the one
     * others join */
    if (!g_hash_table_contains (shared_engines, key))
      g_hash_table_insert (shared_engines, engine->share_key, engine);
  }
  g_ptr_array_add (engine->nsps, g_strdup (nsp_key));
  g_mutex_unlock (&engines_lock);
  return engine;
}

/* A client of @engine is freed; the last one frees the engine. */
static void
engine_release (SioEngine * engine, const gchar * nsp_key)
{
  gboolean last;
  guint i;

  g_mutex_lock (&engines_lock);
  for (i = 0; i < engine->nsps->len; i++) {
    if (strcmp (g_ptr_array_index (engine->nsps, i), nsp_key) == 0) {
      g_ptr_array_remove_index (engine->nsps, i);
      break;
    }
  }
  last = --engine->refs == 0;
  if (last && engine->share_key &&
      g_hash_table_lookup (shared_engines, engine->share_key) == engine)
    g_hash_table_remove (shared_engines, engine->share_key);
  g_mutex_unlock (&engines_lock);
  if (last)
    engine_free (engine);
}

SioClient *
sio_client_new (const SioClientConfig * config,
    const SioClientCallbacks * callbacks, gpointer user_data)
{
  SioClient *client = g_new0 (SioClient, 1);

  if (config->nsp && strcmp (config->nsp, "/") != 0)
    client->nsp = g_strdup (config->nsp);
  client->nsp_key = client->nsp ? client->nsp : "/";
  client->auth_json = g_strdup (config->auth_json);
  client->ack_timeout_ms = config->ack_timeout_ms;
  client->callbacks = *callbacks;
  client->user_data = user_data;
  client->rejoin_at_us = -1;

  g_mutex_init (&client->lock);
  g_mutex_init (&client->listeners_lock);
  client->listeners = g_array_new (FALSE, FALSE, sizeof (Listener));
  g_queue_init (&client->outgoing);
  g_queue_init (&client->spare_emits);
  ack_book_init (&client->pending_acks);
  g_atomic_int_set (&client->state, SIO_CLIENT_STATE_IDLE);

  client->engine = engine_acquire (config, client->nsp_key);
  g_main_context_invoke (sio_loop_get_context (client->engine->loop),
      do_start, client);
  return client;
}

/* Called by the thread that hands over an emit: when the connection is
 * idle (its own, a WebSocket, nothing waiting for an ack or to be
 * written) and its network thread asleep, that thread writes the emit
 * itself instead of waking the network thread to do it: a live stream's
 * event then costs no wake-up and no context switch. A connection with
 * acks outstanding is busy, and its emits go to the gate, which writes
 * many in one go. TRUE when it ran the gate (or queued it from inside). */
static gboolean
write_through (SioClient * client, gboolean batch)
{
  SioEngine *engine = client->engine;

  /* the ack count, read without entering, is only a hint; but entering
   * to find it busy would only queue the gate, while the loop's thread,
   * back from poll, waits for us. A batch held back is worth one write
   * of our own whatever the count. */
  if (engine->share_key != NULL ||
      (!batch && g_atomic_int_get (&client->pending_acks.waiting) != 0) ||
      !sio_loop_try_enter (engine->loop))
    return FALSE;
  /* inside: the engine's state is ours to read until we leave */
  if (engine->ws != NULL && engine->polling == NULL &&
      (batch || client->pending_acks.waiting == 0) &&
      sio_websocket_get_pending (engine->ws) == 0)
    gate_run_budget (engine, batch ? G_MAXUINT : GATE_MAX_EMITS);
  else
    schedule_gate (engine);
  sio_loop_leave (engine->loop);
  return TRUE;
}

/* Queues a copy of @fields (but inline_args), in a spare record if there
 * is one, with a copy of the @args_length bytes at @args as its
 * arguments, or, when @args is NULL, fields->args_json, taken. */
static void
push_emit (SioClient * client, const SioEmit * fields, const gchar * args,
    gsize args_length, gboolean more)
{
  gboolean was_empty, held, want_ack = fields->want_ack;
  GList *spare;
  SioEmit *emit;

  g_mutex_lock (&client->lock);
  spare = g_queue_pop_head_link (&client->spare_emits);
  emit = spare ? spare->data : g_new (SioEmit, 1);
  memcpy (emit, fields, G_STRUCT_OFFSET (SioEmit, inline_args));
  if (args && args_length < sizeof (emit->inline_args)) {
    memcpy (emit->inline_args, args, args_length);
    emit->inline_args[args_length] = '\0';
    emit->args_json = emit->inline_args;
  } else if (args) {
    emit->args_json = g_strndup (args, args_length);
  }
  /* the queue's link is the emit's own: no allocation per emit */
  emit->link.data = emit;
  emit->link.next = emit->link.prev = NULL;
  was_empty = g_queue_is_empty (&client->outgoing);
  g_queue_push_tail_link (&client->outgoing, &emit->link);
  g_atomic_int_add (&client->outgoing_length, 1);
  /* more follow at once, and an ack to come will bring the loop's thread
   * here anyway (release_held()): no need to wake it, nor to write one
   * emit alone. A hold that lasted HOLD_MAX_US was no burst: it ends. */
  if (more && want_ack && !client->hold_refused &&
      client->engine->share_key == NULL &&
      g_atomic_int_get (&client->pending_acks.waiting) != 0) {
    gint64 now = g_get_monotonic_time ();

    if (!client->holding) {
      set_holding_locked (client, TRUE);
      client->hold_since_us = now;
    }
    if (now - client->hold_since_us < HOLD_MAX_US) {
      g_mutex_unlock (&client->lock);
      return;
    }
    client->hold_refused = TRUE;
  }
  if (!more)
    client->hold_refused = FALSE;
  held = client->holding;
  set_holding_locked (client, FALSE);
  g_mutex_unlock (&client->lock);

  /* a queue that was not empty has its turn at the gate already, or
   * waits for room in the connection, which queues the gate */
  /* (the emit may be written and freed by now: @want_ack is a copy) */
  if ((was_empty || held) && !(want_ack && write_through (client, held)))
    mark_ready (client);
}

void
sio_client_release_held (SioClient * client)
{
  gboolean held;

  g_mutex_lock (&client->lock);
  held = end_hold_locked (client);
  g_mutex_unlock (&client->lock);
  if (held && !write_through (client, TRUE))
    mark_ready (client);
}

/* @args_json (taken) or, when it is NULL, a copy of @args. */
static void
queue_emit (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, const gchar * args, gsize args_length,
    const guint8 * attachment, gsize attachment_size,
    GDestroyNotify release, gpointer release_data, gboolean want_ack,
    gboolean want_ack_args, gboolean more)
{
  SioEmit emit;

  emit.epoch = epoch;
  emit.token = token;
  emit.args_json = args_json;
  emit.attachment = attachment;
  emit.attachment_size = attachment_size;
  emit.release = release;
  emit.release_data = release_data;
  emit.want_ack = want_ack;
  emit.want_ack_args = want_ack_args;
  emit.answers = -1;
  push_emit (client, &emit, args, args_length, more);
}

void
sio_client_emit (SioClient * client, guint epoch, guint64 token,
    const gchar * args_json, gsize args_length, const guint8 * attachment,
    gsize attachment_size, GDestroyNotify release, gpointer release_data,
    gboolean want_ack, gboolean more)
{
  queue_emit (client, epoch, token, NULL, args_json, args_length,
      attachment, attachment_size, release, release_data, want_ack, FALSE,
      more);
}

void
sio_client_emit_event (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, GBytes * attachment, gboolean want_ack)
{
  const guint8 *data = NULL;
  gsize size = 0;

  if (attachment) {
    data = g_bytes_get_data (attachment, &size);
    /* an empty GBytes may have no data, and is still an attachment */
    if (data == NULL)
      data = (const guint8 *) "";
  }
  queue_emit (client, epoch, token, args_json, NULL, 0, data, size,
      (GDestroyNotify) g_bytes_unref, attachment, want_ack, TRUE, FALSE);
}

void
sio_client_ack_event (SioClient * client, guint epoch, gint64 ack_id,
    gchar * args_json)
{
  SioEmit emit;

  memset (&emit, 0, G_STRUCT_OFFSET (SioEmit, inline_args));
  emit.epoch = epoch;
  emit.args_json = args_json;
  emit.answers = ack_id;
  push_emit (client, &emit, NULL, 0, FALSE);
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
  g_main_context_invoke (sio_loop_get_context (client->engine->loop),
      do_close, client);
}

void
sio_client_free (SioClient * client)
{
  SioEngine *engine;

  if (client == NULL)
    return;

  engine = client->engine;
  /* nothing in the network thread blocks: do_shutdown() runs at once */
  sio_loop_run_sync (engine->loop, do_shutdown, client);

  /* emits that raced with the shutdown */
  fail_all_emits (client, FALSE);

  engine_release (engine, client->nsp_key);
  g_array_unref (client->pending_acks.slots);
  while (!g_queue_is_empty (&client->spare_emits))
    g_free (g_queue_pop_head_link (&client->spare_emits)->data);
  g_mutex_clear (&client->lock);
  g_mutex_clear (&client->listeners_lock);
  g_array_unref (client->listeners);
  g_free (client->nsp);
  g_free (client->auth_json);
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
  return client->engine->failed_http_status;
}

GTlsCertificateFlags
sio_client_get_tls_errors (SioClient * client)
{
  return client->engine->failed_tls_errors;
}

const gchar *
sio_client_get_transport_name (SioClient * client)
{
  return g_atomic_pointer_get (&client->engine->transport_name);
}

guint64
sio_client_get_max_payload (SioClient * client)
{
  return (guint64) g_atomic_pointer_get (&client->engine->max_payload);
}

guint64
sio_client_get_bytes_written (SioClient * client)
{
  SioEngine *engine = client->engine;

  /* alone on its connection, pongs and handshakes are its own too */
  if (engine->share_key == NULL)
    return (guint64) g_atomic_pointer_get (&engine->bytes_written);
  return (guint64) g_atomic_pointer_get (&client->bytes_written);
}
