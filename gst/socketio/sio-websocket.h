/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* A WebSocket client connection (RFC 6455) that owns its stream alone.
 *
 * Threads: a SioWebSocket lives in the thread-default GMainContext of the
 * thread that called sio_websocket_connect(). Every function below must be
 * called from the thread iterating that context, and every callback is
 * called from it. Nothing ever blocks: connecting, the HTTP upgrade,
 * reading and writing all run from sources of that context, so one thread
 * can drive many connections.
 *
 * Writing: sio_websocket_send() appends one whole masked frame to a single
 * output buffer, behind everything queued before it; our own control
 * frames (pong, close) go into the same buffer, so no frame can ever be cut
 * by another. The buffer is written while the socket takes it. It is not
 * bounded here: the caller bounds it with sio_websocket_get_pending() and
 * the writable() callback.
 *
 * Reading: whole messages are delivered; a message (or the sum of its
 * fragments) over max_incoming_message ends the connection before it is
 * buffered, so reading holds at most about that much memory.
 *
 * No callback is ever called from inside one of these functions: errors
 * they meet are reported from the main loop. */

#ifndef __SIO_WEBSOCKET_H__
#define __SIO_WEBSOCKET_H__

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sio-loop.h"

G_BEGIN_DECLS typedef struct _SioWebSocket SioWebSocket;

#define SIO_WEBSOCKET_ERROR (sio_websocket_error_quark ())
GQuark sio_websocket_error_quark (void);

typedef enum
{
  /* no TCP connection (or none through the proxy); GIO's message */
  SIO_WEBSOCKET_ERROR_CONNECT_FAILED,
  /* TLS failed: in the handshake, or as an alert on a later read or write
   * (a server refusing our certificate, with TLS 1.3);
   * sio_websocket_get_tls_errors() has the server certificate's problems,
   * which the message names too */
  SIO_WEBSOCKET_ERROR_TLS,
  /* the server answered with another HTTP status than 101;
   * sio_websocket_get_http_status(), and for a redirect the Location in
   * the message and in sio_websocket_get_response_headers(): redirects
   * are never followed */
  SIO_WEBSOCKET_ERROR_HTTP_STATUS,
  /* not a valid WebSocket upgrade: no HTTP, headers over 16 KiB, missing
   * Upgrade or Connection, wrong Sec-WebSocket-Accept, an extension */
  SIO_WEBSOCKET_ERROR_HANDSHAKE,
  /* the handshake (TCP, TLS, upgrade) or a close handshake took too long */
  SIO_WEBSOCKET_ERROR_TIMEOUT,
  /* the server broke the framing rules (masked frame, reserved bits,
   * unknown opcode, bad control frame, invalid UTF-8 text, ...) */
  SIO_WEBSOCKET_ERROR_PROTOCOL,
  /* an incoming message was larger than max_incoming_message */
  SIO_WEBSOCKET_ERROR_TOO_BIG,
  /* the server started the close handshake; sio_websocket_get_close_code()
   * and sio_websocket_get_close_reason() say why */
  SIO_WEBSOCKET_ERROR_CLOSED_BY_PEER,
  /* read or write error, or the connection ended without a close frame */
  SIO_WEBSOCKET_ERROR_CONNECTION_LOST,
  /* the proxy refused the tunnel or the credentials; GIO's message */
  SIO_WEBSOCKET_ERROR_PROXY,
} SioWebSocketError;

typedef struct
{
  /* the server accepted the upgrade; sending may start */
  void (*opened) (SioWebSocket * ws, gpointer user_data);
  /* one whole message; @data is valid during the call only. Text is
   * valid UTF-8 (it may contain NUL bytes and is not NUL-terminated). */
  void (*message) (SioWebSocket * ws, gboolean binary, const guint8 * data,
      gsize length, gpointer user_data);
  /* pending output fell to low_water or below after having been above;
   * may come from within sio_websocket_send() and
   * sio_websocket_set_corked() */
  void (*writable) (SioWebSocket * ws, gpointer user_data);
  /* Called exactly once, last: no callback follows. @error is NULL after
   * a clean close handshake that we started (or a close() before the
   * upgrade finished). The SioWebSocket stays valid, and its getters
   * answer, until sio_websocket_free(), which may be called from here. */
  void (*closed) (SioWebSocket * ws, const GError * error, gpointer user_data);
} SioWebSocketCallbacks;

typedef struct
{
  /* ws, wss, http or https; the path and query are sent as they are */
  const gchar *url;
  /* NULL, or name, value, name, value, ..., NULL: added to the upgrade
   * request (e.g. Cookie, Authorization, Origin) */
  const gchar *const *extra_headers;
  const gchar *user_agent;      /* NULL: "gst-socketio" */
  GTlsDatabase *tls_database;   /* NULL: the system's default */
  GTlsInteraction *tls_interaction;     /* NULL, or for client certificates */
  /* UNSAFE when TRUE: accepts any server certificate (self-signed,
   * expired, for another host), which lets anyone on the path read and
   * change the traffic. FALSE, the default, validates. */
  gboolean tls_accept_invalid;
  GProxyResolver *proxy_resolver;       /* NULL: g_proxy_resolver_get_default () */
  /* the largest incoming message (fragments summed); 0: 16 MiB */
  gsize max_incoming_message;
  /* TCP, proxy, TLS and the HTTP upgrade must finish in this; 0: no limit */
  guint handshake_timeout_ms;
  /* how long close() waits for the server's close frame; 0: 1000 ms */
  guint close_timeout_ms;
  /* writable() fires when pending output falls to this */
  gsize low_water;
  /* the network thread whose context is the thread default: a plain TCP
   * connection is watched by its epoll set (TLS ones by GLib sources);
   * NULL: GLib sources always */
  SioLoop *loop;
} SioWebSocketConfig;

/* Starts connecting in the thread-default main context. Never returns
 * NULL: an invalid URL is reported by closed() from the main loop. The
 * config is copied (its objects are referenced). */
SioWebSocket *sio_websocket_connect (const SioWebSocketConfig * config,
    const SioWebSocketCallbacks * callbacks, gpointer user_data);

/* Appends one whole masked frame (text or binary) to the output buffer
 * and writes what the socket takes now, without blocking. FALSE (and
 * nothing queued) unless the connection is open: before opened(), after
 * close(), or once it failed. */
gboolean sio_websocket_send (SioWebSocket * ws, gboolean binary,
    const guint8 * data, gsize length);

/* While corked, sio_websocket_send() only appends its frame; uncorking
 * writes everything appended meanwhile at once: several frames in one
 * system call. Control frames are not held back by it. */
void sio_websocket_set_corked (SioWebSocket * ws, gboolean corked);

/* Bytes queued that the socket has not taken yet: what was sent, plus at
 * most one pong and our close frame (pings that arrive while a pong is
 * still queued are not answered). */
gsize sio_websocket_get_pending (SioWebSocket * ws);

/* Frame bytes (headers included) the socket has taken; the HTTP request
 * does not count. Bytes queued = written + pending. */
guint64 sio_websocket_get_bytes_written (SioWebSocket * ws);

/* Frames queued (data and control) and whole messages received. */
guint64 sio_websocket_get_frames_queued (SioWebSocket * ws);
guint64 sio_websocket_get_messages_received (SioWebSocket * ws);

/* Starts the close handshake: our close frame goes out after everything
 * already queued, and nothing can be sent after it; messages that arrive
 * meanwhile are still delivered. closed() follows once the server
 * answers (NULL error), or with a TIMEOUT error after close_timeout_ms.
 * Before the upgrade has finished it abandons the attempt (closed() with
 * NULL). @code is usually 1000 (normal) or 3000-4999; 1005 sends a close
 * frame without a code. @reason may be NULL, is valid UTF-8 or dropped,
 * and is cut to the 123 bytes a close frame has room for. */
void sio_websocket_close (SioWebSocket * ws, gushort code,
    const gchar * reason);

/* Aborts at once, in any state, and frees: the socket is closed, nothing
 * more is written or read, and no callback is called once it returns. It
 * never waits for the peer. A connection attempt in progress is
 * cancelled; GIO finishes it from the main context a moment later, so
 * that context must keep running (or be iterated) for its last
 * references to go. */
void sio_websocket_free (SioWebSocket * ws);

/* The upgrade response's status (101 once opened), 0 before one arrived. */
guint sio_websocket_get_http_status (SioWebSocket * ws);

/* The upgrade response's headers (e.g. Set-Cookie, Location), NULL before
 * one arrived. Owned by @ws. */
SoupMessageHeaders *sio_websocket_get_response_headers (SioWebSocket * ws);

/* The server's close frame: its code (0 before one arrived, 1005 when it
 * had none) and reason ("" when none). */
gushort sio_websocket_get_close_code (SioWebSocket * ws);
const gchar *sio_websocket_get_close_reason (SioWebSocket * ws);

/* What was wrong with the server's certificate, 0 when nothing (yet). */
GTlsCertificateFlags sio_websocket_get_tls_errors (SioWebSocket * ws);

/* Client frame encoding, for code that writes frames on a stream of its
 * own: the size of a masked frame with @length payload bytes, and its
 * encoding into @dest, which has that much room. @mask_state is a
 * per-connection random seed, never 0; each frame takes a new mask. */
gsize sio_websocket_frame_size (gsize length);
void sio_websocket_encode_frame (guint8 * dest, guint8 opcode,
    const guint8 * data, gsize length, guint32 * mask_state);

G_END_DECLS
#endif /* __SIO_WEBSOCKET_H__ */
