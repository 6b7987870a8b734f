/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* A Socket.IO v5 client connection over Engine.IO v4: WebSocket, HTTP
 * long-polling, or polling upgraded to WebSocket.
 *
 * A client is one namespace; its Engine.IO connection is its own, or,
 * with multiplex, shared with the process's other clients of the same
 * endpoint and settings (one write carries the packets of all of them).
 * The client runs on one of the network threads every client of the
 * process shares (sio-loop.h). That thread owns the transport
 * (sio-websocket.h, sio-polling.h), the client's timers and all state not
 * marked otherwise, answers server pings whatever the caller's thread is
 * doing, and calls the callbacks below. Nothing in it blocks, and the
 * callbacks must not either: other clients wait behind them. Callers hand
 * over emits from any thread with sio_client_emit() (the outgoing queue
 * is under the client's lock, which is never held while calling back);
 * the first one into an empty queue wakes the thread, once; they go to
 * the transport only while fewer than GATE_MAX_BYTES wait in its output,
 * so memory is bounded by what the caller hands over, on every
 * transport. There is no periodic timer: one timer per client is set to
 * its earliest deadline (connect, upgrade probe, ping, polling request,
 * ack).
 *
 * Kept apart from the element so the element stays GStreamer glue. */

#ifndef __SIO_CLIENT_H__
#define __SIO_CLIENT_H__

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS typedef struct _SioClient SioClient;

typedef enum
{
  SIO_CLIENT_STATE_IDLE,
  SIO_CLIENT_STATE_CONNECTING,  /* TCP, TLS and WebSocket handshake */
  SIO_CLIENT_STATE_OPENING,     /* waiting for the Engine.IO open packet */
  SIO_CLIENT_STATE_JOINING,     /* waiting for the namespace CONNECT reply */
  SIO_CLIENT_STATE_CONNECTED,
  SIO_CLIENT_STATE_CLOSING,     /* leaving cleanly: 41, 1, WebSocket close */
  SIO_CLIENT_STATE_CLOSED,
  SIO_CLIENT_STATE_RECONNECTING,        /* lost; waiting to try again */
} SioClientState;

const gchar *sio_client_state_get_name (SioClientState state);

/* Which Engine.IO transports to use. */
typedef enum
{
  /* WebSocket; when the server refuses the WebSocket handshake with an
   * HTTP error other than a redirect, 401, 403, 404 or 407 (a server that
   * offers long-polling only), long-polling instead, upgraded if the
   * server offers it, for the rest of the client's life */
  SIO_TRANSPORTS_AUTO,
  SIO_TRANSPORTS_WEBSOCKET,     /* WebSocket only */
  SIO_TRANSPORTS_POLLING,       /* HTTP long-polling only */
  /* long-polling, then the upgrade to WebSocket when the server offers it
   * (socket.io-client's default); polling goes on if the upgrade fails */
  SIO_TRANSPORTS_POLLING_UPGRADE,
} SioTransports;

#define SIO_CLIENT_ERROR (sio_client_error_quark ())
GQuark sio_client_error_quark (void);

typedef enum
{
  /* no connection could be made: refused, unreachable, name unknown */
  SIO_CLIENT_ERROR_CONNECT_FAILED,
  /* not connected to the namespace within the connect timeout */
  SIO_CLIENT_ERROR_CONNECT_TIMEOUT,
  /* the server answered CONNECT_ERROR; the message is the server's */
  SIO_CLIENT_ERROR_REFUSED,
  /* the server sent DISCONNECT or an Engine.IO close */
  SIO_CLIENT_ERROR_SERVER_DISCONNECT,
  /* the link broke: socket error, WebSocket closed, no ping in time */
  SIO_CLIENT_ERROR_CONNECTION_LOST,
  /* the server sent something a Socket.IO v5 server never sends */
  SIO_CLIENT_ERROR_PROTOCOL,
  /* the server speaks the older Socket.IO v4 protocol (socket.io 2.x,
   * python-socketio 4.x) */
  SIO_CLIENT_ERROR_OLD_PROTOCOL,
  /* the handshake was redirected; the message names the target, which is
   * never followed */
  SIO_CLIENT_ERROR_REDIRECTED,
  /* the server sent a message larger than max_incoming_message */
  SIO_CLIENT_ERROR_MESSAGE_TOO_BIG,
  /* TLS failed; sio_client_get_tls_errors() has the server certificate's
   * problems (0 when the failure was another, e.g. a client certificate
   * the server wanted) */
  SIO_CLIENT_ERROR_TLS,
  /* the server answered an HTTP request (the WebSocket handshake or a
   * polling request) with an error status: sio_client_get_http_status() */
  SIO_CLIENT_ERROR_HTTP_STATUS,
  /* the server does not accept WebSocket (transports websocket only):
   * its HTTP status, if any, in sio_client_get_http_status() */
  SIO_CLIENT_ERROR_WEBSOCKET_REFUSED,
  /* the proxy refused the connection or the credentials (HTTP 407 in
   * sio_client_get_http_status() when it said so) */
  SIO_CLIENT_ERROR_PROXY,
} SioClientError;

typedef enum
{
  SIO_EMIT_WRITTEN,             /* written to the socket, no ack asked */
  SIO_EMIT_ACKED,               /* the server acknowledged it */
  SIO_EMIT_ACK_TIMEOUT,         /* written, but no ack within ack-timeout */
  SIO_EMIT_LOST,                /* the connection ended before it completed */
} SioEmitResult;

typedef struct
{
  /* Network thread. @error is NULL for a clean close. CLOSED is final;
   * RECONNECTING carries the error that ended the connection, and a
   * CONNECTED may follow. @epoch numbers the connections: it grows by one
   * at every CONNECTED, and emits must carry the epoch they are meant for
   * (see sio_client_emit()). */
  void (*state_changed) (SioClient * client, SioClientState state,
      guint epoch, const GError * error, gpointer user_data);
  /* Network thread, once per emit. @rtt_us is the ack round trip or -1. */
  void (*emit_done) (SioClient * client, guint64 token, SioEmitResult result,
      gint64 rtt_us, gpointer user_data);
  /* Network thread. @attachments holds GBytes, may be empty. */
  void (*server_event) (SioClient * client, const gchar * name,
      const gchar * args_json, GPtrArray * attachments, gpointer user_data);
} SioClientCallbacks;

typedef struct
{
  /* http, https, ws or wss URL of the Engine.IO endpoint, path included,
   * with the query the server needs, EIO=4 among it; the client adds
   * transport= and sid= itself */
  const gchar *url;
  /* the same URL safe to show: no query, no user info (logs, errors) */
  const gchar *display_url;
  const gchar *nsp;             /* NULL for "/" */
  const gchar *auth_json;       /* NULL, or a JSON object */
  guint connect_timeout_ms;
  guint ack_timeout_ms;         /* 0: wait for acks forever */
  /* Reconnect after a connection that had been established is lost
   * (never after the server's DISCONNECT or CONNECT_ERROR, nor when the
   * very first connection fails), waiting delay × 2^(attempt-1), capped
   * at delay_max, with jitter. */
  gboolean reconnect;
  guint reconnect_delay_ms;
  guint reconnect_delay_max_ms;
  guint max_reconnect_attempts; /* 0: forever */
  /* the largest WebSocket message accepted from the server; a larger one
   * ends the connection with SIO_CLIENT_ERROR_MESSAGE_TOO_BIG */
  gsize max_incoming_message;
  /* also retry (with the reconnection backoff, counting towards
   * max_reconnect_attempts) when the very first connection fails: for a
   * server that is not up yet. Ignored unless @reconnect. */
  gboolean retry_first_connection;
  /* the server's DISCONNECT (and Engine.IO close) is retried like a lost
   * connection instead of being final. Ignored unless @reconnect. */
  gboolean reconnect_on_server_disconnect;
  /* Share the Engine.IO connection with the other clients of the process
   * that have @multiplex and every other setting but @nsp, @auth_json and
   * @ack_timeout_ms equal, each joining its own namespace (socket.io-
   * client's Manager). A second client of the same namespace gets a
   * connection of its own. The connection's settings and cookies are the
   * first client's. */
  gboolean multiplex;

  SioTransports transports;
  /* Sent on every HTTP request and on the WebSocket handshake. */
  const gchar *const *extra_headers;    /* NULL, or name, value, ..., NULL */
  const gchar *user_agent;      /* NULL: "gst-socketio" */
  const gchar *const *cookies;  /* NULL, or "name=value" strings */
  /* Cookies the server sets (e.g. a load balancer's affinity cookie) are
   * kept here and sent back on every request and reconnection; NULL keeps
   * none. The caller keeps it across clients; only the network thread uses
   * it while the client lives. */
  SoupCookieJar *cookie_jar;
  GTlsDatabase *tls_database;   /* NULL: the system's default */
  /* for multiplex: what @tls_database was made from ("ca-file:PATH",
   * "system"...), so clients with databases of the same trust share;
   * NULL: only clients of the same @tls_database do */
  const gchar *trust;
  GTlsInteraction *tls_interaction;     /* NULL, or for client certificates */
  gboolean tls_accept_invalid;  /* UNSAFE: any server certificate */
  /* an http:// (or https://, socks5://) proxy URI, no user info; NULL:
   * the environment's (g_proxy_resolver_get_default ()). Plain http goes
   * through it as proxied HTTP requests, https and WebSocket through an
   * HTTP CONNECT tunnel. */
  const gchar *proxy;
  /* credentials for the proxy, NULL for none */
  const gchar *proxy_id;
  const gchar *proxy_pw;
} SioClientConfig;

/* Registers and initializes, in the calling thread, the GIO and libsoup
 * types the network thread uses. GLib 2.74 can deadlock when two threads
 * initialize related types at once (a class_init registering another type
 * while the other thread registers that type), so call this once before
 * any client thread exists, e.g. from the element's class_init. */
void sio_client_init_types (void);

/* Takes a shared network thread (starting one if need be) and connects at
 * once. */
SioClient *sio_client_new (const SioClientConfig * config,
    const SioClientCallbacks * callbacks, gpointer user_data);

/* Queues one binary event: @args_json (@args_length bytes, copied) is the
 * whole JSON array (event name first) with a placeholder for attachment
 * 0; the @attachment_size bytes at @attachment are sent as the single
 * binary frame, untouched until @release (@release_data) is called, from
 * whichever thread is done with them. emit_done() reports @token exactly
 * once. @epoch is the connection the caller means it for (the last
 * CONNECTED epoch it saw): an emit for an older connection is never
 * written on a newer one, it is reported LOST, so after a reconnection
 * nothing goes out before the caller has seen the new epoch (and, say,
 * asked for a replay). An emit for the epoch after the current one
 * (handed over while no connection is up) waits for that connection,
 * across failed attempts, and is reported LOST only if the client closes
 * first. @more: more emits follow at once, so the client may hold this
 * acked one back (no wake-up, no write of its own) until an emit comes
 * without @more, which writes them all in one go, or
 * sio_client_release_held(); at the latest, until the next ack or emit
 * after it was held 1 ms, or until no ack is outstanding any more. After
 * such a release it holds nothing until an emit without @more. */
void sio_client_emit (SioClient * client, guint epoch, guint64 token,
    const gchar * args_json, gsize args_length, const guint8 * attachment,
    gsize attachment_size, GDestroyNotify release, gpointer release_data,
    gboolean want_ack, gboolean more);

/* Writes at once what sio_client_emit() holds back for more to follow
 * (the caller has no more: end of stream). */
void sio_client_release_held (SioClient * client);

/* As sio_client_emit(), for an event of the application's: @args_json
 * has no placeholder when @attachment is NULL (then a plain EVENT packet
 * goes out), and the ack's arguments are read: sio_client_get_ack_args()
 * in emit_done(). */
void sio_client_emit_event (SioClient * client, guint epoch, guint64 token,
    gchar * args_json, GBytes * attachment, gboolean want_ack);

/* What a listener does with a server event it is offered. */
typedef enum
{
  SIO_EVENT_PASS,               /* not its: the next listener, or the owner */
  SIO_EVENT_TAKEN,              /* its; an ack the server asked for is sent */
  /* its, and it answers the ack itself, with sio_client_ack_event() */
  SIO_EVENT_TAKEN_ACK_LATER,
} SioEventVerdict;

/* Network thread, for each server event, before the owner's
 * server_event(): @ack_id is the id the server wants answered (< 0:
 * none) on connection @epoch; @attachments holds GBytes. It must not
 * add or remove listeners. */
typedef SioEventVerdict (*SioEventListener) (SioClient * client, guint epoch,
    const gchar * name, const gchar * args_json, GPtrArray * attachments,
    gint64 ack_id, gpointer user_data);

/* Any thread. Listeners are offered events in the order they were added;
 * once sio_client_remove_listener() returns, @func is not called again
 * (it waits for a call in progress, so not from within the listener). */
guint sio_client_add_listener (SioClient * client, SioEventListener func,
    gpointer user_data);
void sio_client_remove_listener (SioClient * client, guint listener_id);

/* Any thread: answers the server's event that carried @ack_id on
 * connection @epoch with @args_json (a JSON array, taken; NULL: "[]"),
 * after what was handed over before it. An answer meant for an older
 * connection is dropped: the server's callback went with it. */
void sio_client_ack_event (SioClient * client, guint epoch, gint64 ack_id,
    gchar * args_json);

/* During emit_done() with SIO_EMIT_ACKED for an emit of
 * sio_client_emit_event(): the ack's arguments as JSON array text, the
 * server's own (a binary ack's attachments stay placeholders); NULL
 * otherwise. */
const gchar *sio_client_get_ack_args (SioClient * client);

/* Leaves cleanly: DISCONNECT for the namespace, Engine.IO close, WebSocket
 * close. Call it once every emit has completed. state_changed() reports
 * CLOSED when done. */
void sio_client_close (SioClient * client);

/* Tears everything down at once, whatever the server does, and frees the
 * client; the last client of a network thread stops and joins it. Queued
 * emits are reported LOST. Not from a callback of this client. */
void sio_client_free (SioClient * client);

/* @url without its user info and with its query replaced by "...": what
 * logs, errors and messages may show of a location. Free with g_free(). */
gchar *sio_url_for_display (const gchar * url);

/* Replaces the auth object (NULL: none) for the next namespace CONNECT,
 * i.e. the next (re)connection; any thread. */
void sio_client_set_auth (SioClient * client, const gchar * auth_json);

/* About the error state_changed() reports, valid during that call: the
 * HTTP status that ended the attempt (0 if none), the TLS problems of the
 * server certificate (0 if none). */
guint sio_client_get_http_status (SioClient * client);
GTlsCertificateFlags sio_client_get_tls_errors (SioClient * client);

/* The transport in use: "websocket", "polling", or NULL when none is
 * open; any thread. */
const gchar *sio_client_get_transport_name (SioClient * client);

/* The server's maxPayload, 0 until known or when the server has none. */
guint64 sio_client_get_max_payload (SioClient * client);

/* Bytes handed to the transport: WebSocket payloads, text and binary, or
 * polling request bodies; on a shared connection, this client's packets
 * only. */
guint64 sio_client_get_bytes_written (SioClient * client);

G_END_DECLS
#endif /* __SIO_CLIENT_H__ */
