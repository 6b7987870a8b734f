/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Engine.IO v4 HTTP long-polling for one session, on libsoup 3.
 *
 * Threads: a SioPolling lives in the thread-default GMainContext of the
 * thread that called sio_polling_open(), and owns a SoupSession made
 * there. Every function must be called from the thread iterating that
 * context; every callback is called from it, from the main loop, never
 * from inside one of these functions.
 *
 * One GET is outstanding at a time (the long poll) and one POST: packets
 * sent meanwhile wait in a queue and leave together in the next POST,
 * joined by the record separator, binary ones as base64 "b" packets, never
 * more than max_payload bytes nor max_packets packets per body (see
 * SIO_POLLING_LEGACY_MAX_PACKETS). The caller bounds the queue with
 * sio_polling_get_pending(). A response body is read up to a bound: one
 * over it ends the session before it is buffered.
 *
 * Redirects are never followed. */

#ifndef __SIO_POLLING_H__
#define __SIO_POLLING_H__

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS typedef struct _SioPolling SioPolling;

/* python-engineio (4.3, Debian 12's) decodes at most 16 packets of a POST
 * body and drops the whole body beyond that, answering "ok" all the same;
 * its open packet has no maxPayload. A server that announces maxPayload
 * (engine.io 6, the protocol's reference) bounds a body by bytes only. */
#define SIO_POLLING_LEGACY_MAX_PACKETS 16

#define SIO_POLLING_ERROR (sio_polling_error_quark ())
GQuark sio_polling_error_quark (void);

typedef enum
{
  SIO_POLLING_ERROR_CONNECT_FAILED,     /* no TCP connection; GIO's message */
  SIO_POLLING_ERROR_TLS,        /* sio_polling_get_tls_errors() says why */
  SIO_POLLING_ERROR_HTTP_STATUS,        /* sio_polling_get_http_status() */
  SIO_POLLING_ERROR_REDIRECTED, /* the message names the target */
  SIO_POLLING_ERROR_PROXY,      /* the proxy refused (407 or otherwise) */
  SIO_POLLING_ERROR_TOO_BIG,    /* a response over the bound */
  SIO_POLLING_ERROR_PROTOCOL,   /* a body that is not an Engine.IO payload */
  SIO_POLLING_ERROR_CONNECTION_LOST,    /* I/O error on a request */
} SioPollingError;

typedef struct
{
  /* One Engine.IO packet: text (its type digit first) or binary (decoded
   * from base64). @data is valid during the call only. */
  void (*packet) (SioPolling * polling, gboolean binary, const guint8 * data,
      gsize length, gpointer user_data);
  /* after sio_polling_pause(): no request is in flight any more */
  void (*paused) (SioPolling * polling, gpointer user_data);
  /* Called once, last. @error is NULL after sio_polling_close() finished
   * sending. The SioPolling stays valid until sio_polling_free(). */
  void (*closed) (SioPolling * polling, const GError * error,
      gpointer user_data);
  /* a POST finished: sio_polling_get_pending() fell */
  void (*writable) (SioPolling * polling, gpointer user_data);
} SioPollingCallbacks;

typedef struct
{
  /* http or https URL of the Engine.IO endpoint with its query (EIO=4
   * among it); transport= and sid= are added here */
  const gchar *url;
  const gchar *const *extra_headers;    /* NULL, or name, value, ..., NULL */
  const gchar *user_agent;
  const gchar *const *cookies;  /* NULL, or "name=value" strings */
  SoupCookieJar *cookie_jar;    /* NULL, or kept and sent back */
  GTlsDatabase *tls_database;
  GTlsInteraction *tls_interaction;
  gboolean tls_accept_invalid;
  GProxyResolver *proxy_resolver;       /* NULL: the default */
  const gchar *proxy_id;
  const gchar *proxy_pw;
  /* the largest response body read; 0: 16 MiB */
  gsize max_response_body;
  /* the largest packet in a body (a binary one decoded); 0: no limit */
  gsize max_packet;
  /* the largest request body until sio_polling_start() says otherwise */
  gsize max_payload;
} SioPollingConfig;

/* Sends the handshake GET in the thread-default main context. Its
 * response (the open packet first) comes through packet(); the caller
 * then calls sio_polling_start() with the session id. */
SioPolling *sio_polling_open (const SioPollingConfig * config,
    const SioPollingCallbacks * callbacks, gpointer user_data);

/* Starts the long poll on session @sid; POST bodies stay within
 * @max_payload bytes (0: keep the configured bound). */
/* @max_payload: the body bound in bytes (0: keep the configured one);
 * @max_packets: the body bound in packets (0: none) */
void sio_polling_start (SioPolling * polling, const gchar * sid,
    gsize max_payload, guint max_packets);

/* Queues one packet (text: its type digit first) for the next POST. */
void sio_polling_send (SioPolling * polling, gboolean binary,
    const guint8 * data, gsize length);

/* While corked, sio_polling_send() only queues; uncorking sends. */
void sio_polling_set_corked (SioPolling * polling, gboolean corked);

/* Bytes of request bodies queued or in flight. */
gsize sio_polling_get_pending (SioPolling * polling);

/* For the upgrade: no new request starts; paused() follows once those in
 * flight have completed. Queued packets stay, for
 * sio_polling_take_queued(). sio_polling_resume() undoes it. */
void sio_polling_pause (SioPolling * polling);
void sio_polling_resume (SioPolling * polling);

/* Moves the packets not sent yet to the caller: each calls @func with
 * what sio_polling_send() was given, in order. */
void sio_polling_take_queued (SioPolling * polling,
    void (*func) (gboolean binary, const guint8 * data, gsize length,
        gpointer user_data), gpointer user_data);

/* Sends what is queued, then reports closed() with no error; bounded by
 * a second. */
void sio_polling_close (SioPolling * polling);

/* Aborts at once and frees; no callback follows. Cancelled requests
 * finish in the main context a moment later. */
void sio_polling_free (SioPolling * polling);

/* About the request that failed: its HTTP status (0 if none) and the
 * server certificate's problems (0 if none). */
guint sio_polling_get_http_status (SioPolling * polling);
GTlsCertificateFlags sio_polling_get_tls_errors (SioPolling * polling);

/* When the POST in flight was sent (g_get_monotonic_time()), 0 if none:
 * the caller bounds how long the server may take to answer it (the long
 * poll is bounded by the server's pings, a POST is not). */
gint64 sio_polling_get_post_sent_time (SioPolling * polling);

/* Request body bytes sent. */
guint64 sio_polling_get_bytes_written (SioPolling * polling);

/* Writes @length bytes of @data as padded base64 into @out, which holds
 * (@length + 2) / 3 * 4 bytes, and returns that count. */
gsize sio_base64_encode (const guint8 * data, gsize length, gchar * out);

/* HTTP helpers shared with the WebSocket handshake: the Cookie header
 * for @url (NULL when there is none; free it), and storing the cookies a
 * response set. */
gchar *sio_http_cookie_header (SoupCookieJar * jar,
    const gchar * const *cookies, GUri * uri);
void sio_http_store_cookies (SoupCookieJar * jar, GUri * uri,
    SoupMessageHeaders * headers);

G_END_DECLS
#endif /* __SIO_POLLING_H__ */
