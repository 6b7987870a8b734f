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

/* Engine.IO long-polling. Threads: everything here runs in the context
 * the SioPolling was opened in (see sio-polling.h); no lock. Requests in
 * flight hold a reference, so a freed SioPolling (dead) outlives the
 * completions of its cancelled requests, which then do nothing. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include "sio-polling.h"

#define RECORD_SEPARATOR '\x1e'
#define DEFAULT_MAX_RESPONSE_BODY (16 * 1024 * 1024)
#define READ_CHUNK 65536
#define CLOSE_TIMEOUT_MS 1000
/* how long a GET answered during a POST waits for that POST (delay_get) */
#define GET_AFTER_POST_MAX_MS 10

/* the proxy resolver polling hands libsoup, defined below */
#define SIO_TYPE_BARE_PROXY_RESOLVER (sio_bare_proxy_resolver_get_type ())
G_DECLARE_FINAL_TYPE (SioBareProxyResolver, sio_bare_proxy_resolver, SIO,
    BARE_PROXY_RESOLVER, GObject);

typedef struct
{
  gboolean binary;
  GBytes *data;
} OutPacket;

typedef struct
{
  SioPolling *polling;
  SoupMessage *msg;
  GInputStream *stream;
  GByteArray *body;
  gsize body_read;              /* of body->len, which is preallocated */
  gboolean sized;               /* body->len is the announced length */
  GSource *readable;            /* waiting for more of the body */
  gboolean is_post;
} Request;

struct _SioPolling
{
  gint refcount;
  gboolean dead;                /* freed by the owner: callbacks are off */
  GMainContext *context;
  SoupSession *session;
  SioBareProxyResolver *proxy_resolver;
  gchar *url;                   /* ...EIO=4&transport=polling */
  gchar *session_url;           /* with &sid= once started */
  GUri *uri;                    /* the two, parsed */
  GUri *session_uri;
  gchar **extra_headers;
  gchar **cookies;
  SoupCookieJar *jar;
  gboolean tls_accept_invalid;
  gchar *proxy_id;
  gchar *proxy_pw;
  gsize max_response_body;
  gsize max_packet;
  gsize max_payload;
  guint max_packets;            /* per POST body; 0: no count bound */
  GCancellable *cancellable;
  SioPollingCallbacks callbacks;
  gpointer user_data;

  gboolean get_in_flight;
  GSource *get_delay;           /* the next GET waits for the POST's answer */
  gboolean post_in_flight;
  gsize post_in_flight_bytes;
  gint64 post_sent_us;          /* when the POST in flight left */
  GQueue queue;                 /* OutPacket */
  gsize queued_bytes;           /* as encoded in a body */
  gboolean corked;
  gboolean pause_requested;
  gboolean paused_reported;
  gboolean closing;
  gboolean finished;            /* closed() reported or due */
  gboolean closed_reported;
  GSource *pending_report;      /* an idle for paused() or closed() */
  GError *report_error;
  GSource *close_timer;

  guint http_status;
  GTlsCertificateFlags tls_errors;
  guint64 bytes_written;
};

G_DEFINE_QUARK (sio - polling - error - quark, sio_polling_error);

/* A proxy resolver that hands libsoup the proxies of another one without
 * their user info (libsoup 3 sends a request for a proxy URI with user
 * info to the proxy itself) and keeps the credentials for
 * on_authenticate(). GIO's resolvers may answer from a worker thread:
 * the credentials are under a lock. */

struct _SioBareProxyResolver
{
  GObject parent;
  GProxyResolver *base;
  GMutex lock;
  gchar *user;
  gchar *password;
};

static void sio_bare_proxy_resolver_iface_init (GProxyResolverInterface *
    iface);

G_DEFINE_TYPE_WITH_CODE (SioBareProxyResolver, sio_bare_proxy_resolver,
    G_TYPE_OBJECT, G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER,
        sio_bare_proxy_resolver_iface_init));

static void
sio_bare_proxy_resolver_finalize (GObject * object)
{
  SioBareProxyResolver *self = SIO_BARE_PROXY_RESOLVER (object);

  g_clear_object (&self->base);
  g_free (self->user);
  g_free (self->password);
  g_mutex_clear (&self->lock);
  G_OBJECT_CLASS (sio_bare_proxy_resolver_parent_class)->finalize (object);
}

static void
sio_bare_proxy_resolver_class_init (SioBareProxyResolverClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = sio_bare_proxy_resolver_finalize;
}

static void
sio_bare_proxy_resolver_init (SioBareProxyResolver * self)
{
  g_mutex_init (&self->lock);
}

/* Strips the user info from every proxy in @proxies, in place; the first
 * credentials seen are kept. */
static gchar **
strip_user_info (SioBareProxyResolver * self, gchar ** proxies)
{
  guint i;

  for (i = 0; proxies && proxies[i]; i++) {
    GUri *uri = g_uri_parse (proxies[i], G_URI_FLAGS_HAS_PASSWORD |
        G_URI_FLAGS_ENCODED, NULL);

    if (uri && g_uri_get_user (uri)) {
      gchar *bare = g_uri_join (G_URI_FLAGS_ENCODED, g_uri_get_scheme (uri),
          NULL, g_uri_get_host (uri), g_uri_get_port (uri),
          g_uri_get_path (uri), g_uri_get_query (uri),
          g_uri_get_fragment (uri));

      g_mutex_lock (&self->lock);
      if (self->user == NULL) {
        self->user = g_uri_unescape_string (g_uri_get_user (uri), NULL);
        self->password = g_uri_get_password (uri) ?
            g_uri_unescape_string (g_uri_get_password (uri), NULL) : NULL;
      }
      g_mutex_unlock (&self->lock);
      g_free (proxies[i]);
      proxies[i] = bare;
    }
    if (uri)
      g_uri_unref (uri);
  }
  return proxies;
}

static gboolean
bare_is_supported (GProxyResolver * resolver)
{
  return g_proxy_resolver_is_supported (SIO_BARE_PROXY_RESOLVER
      (resolver)->base);
}

static gchar **
bare_lookup (GProxyResolver * resolver, const gchar * uri,
    GCancellable * cancellable, GError ** error)
{
  SioBareProxyResolver *self = SIO_BARE_PROXY_RESOLVER (resolver);

  return strip_user_info (self, g_proxy_resolver_lookup (self->base, uri,
          cancellable, error));
}

static void
bare_lookup_done (GObject * source, GAsyncResult * result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  gchar **proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source),
      result, &error);

  if (proxies)
    g_task_return_pointer (task, strip_user_info (g_task_get_source_object
            (task), proxies), (GDestroyNotify) g_strfreev);
  else
    g_task_return_error (task, error);
  g_object_unref (task);
}

static void
bare_lookup_async (GProxyResolver * resolver, const gchar * uri,
    GCancellable * cancellable, GAsyncReadyCallback callback,
    gpointer user_data)
{
  SioBareProxyResolver *self = SIO_BARE_PROXY_RESOLVER (resolver);
  GTask *task = g_task_new (resolver, cancellable, callback, user_data);

  g_proxy_resolver_lookup_async (self->base, uri, cancellable,
      bare_lookup_done, task);
}

static gchar **
bare_lookup_finish (GProxyResolver * resolver, GAsyncResult * result,
    GError ** error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
sio_bare_proxy_resolver_iface_init (GProxyResolverInterface * iface)
{
  iface->is_supported = bare_is_supported;
  iface->lookup = bare_lookup;
  iface->lookup_async = bare_lookup_async;
  iface->lookup_finish = bare_lookup_finish;
}

static SioBareProxyResolver *
bare_proxy_resolver_new (GProxyResolver * base)
{
  SioBareProxyResolver *self = g_object_new (SIO_TYPE_BARE_PROXY_RESOLVER,
      NULL);

  self->base = g_object_ref (base);
  return self;
}

static void start_get (SioPolling * polling);

/* Detaches and drops a source of ours, if there is one. */
static void
destroy_source (GSource ** source)
{
  if (*source) {
    g_source_destroy (*source);
    g_clear_pointer (source, g_source_unref);
  }
}

static void maybe_post (SioPolling * polling);

static SioPolling *
polling_ref (SioPolling * polling)
{
  polling->refcount++;
  return polling;
}

static void
out_packet_free (OutPacket * packet)
{
  g_bytes_unref (packet->data);
  g_free (packet);
}

static void
polling_unref (SioPolling * polling)
{
  if (--polling->refcount > 0)
    return;
  g_queue_clear_full (&polling->queue, (GDestroyNotify) out_packet_free);
  g_clear_error (&polling->report_error);
  g_clear_object (&polling->session);
  g_clear_object (&polling->proxy_resolver);
  g_clear_object (&polling->jar);
  g_clear_object (&polling->cancellable);
  g_main_context_unref (polling->context);
  g_strfreev (polling->extra_headers);
  g_strfreev (polling->cookies);
  g_free (polling->proxy_id);
  g_free (polling->proxy_pw);
  g_free (polling->url);
  g_free (polling->session_url);
  if (polling->uri)
    g_uri_unref (polling->uri);
  if (polling->session_uri)
    g_uri_unref (polling->session_uri);
  g_free (polling);
}

static const gchar base64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The two characters of every 12-bit value: a group of three bytes is two
 * look-ups. */
static const guint16 *
base64_pairs (void)
{
  static guint16 pairs[4096];
  static gsize made = 0;

  if (g_once_init_enter (&made)) {
    guint i;

    for (i = 0; i < G_N_ELEMENTS (pairs); i++) {
      gchar pair[2] = { base64_alphabet[i >> 6], base64_alphabet[i & 0x3f] };

      memcpy (&pairs[i], pair, 2);
    }
    g_once_init_leave (&made, 1);
  }
  return pairs;
}

/* GLib's encoder goes a byte at a time and keeps state between calls;
 * every binary packet of a POST body goes through here, whole. */
gsize
sio_base64_encode (const guint8 * data, gsize length, gchar * out)
{
  const guint16 *pairs = base64_pairs ();
  gchar *start = out;
  gsize i;

  for (i = 0; i + 3 <= length; i += 3) {
    guint32 group = data[i] << 16 | data[i + 1] << 8 | data[i + 2];

    memcpy (out, &pairs[group >> 12], 2);
    memcpy (out + 2, &pairs[group & 0xfff], 2);
    out += 4;
  }
  if (i < length) {
    guint32 group = data[i] << 16 | (i + 1 < length ? data[i + 1] << 8 : 0);

    out[0] = base64_alphabet[group >> 18];
    out[1] = base64_alphabet[(group >> 12) & 0x3f];
    out[2] = i + 1 < length ? base64_alphabet[(group >> 6) & 0x3f] : '=';
    out[3] = '=';
    out += 4;
  }
  return out - start;
}

static gsize
encoded_size (gboolean binary, gsize length)
{
  return binary ? 1 + (length + 2) / 3 * 4 : length;
}

/* closed() or paused(), from the main loop */
static gboolean
report_from_idle (gpointer user_data)
{
  SioPolling *polling = user_data;

  g_clear_pointer (&polling->pending_report, g_source_unref);
  /* closed() is the last call, even if pause() asks for a report after */
  if (polling->dead || polling->closed_reported)
    return G_SOURCE_REMOVE;
  if (polling->finished) {
    GError *error = polling->report_error;

    polling->closed_reported = TRUE;
    polling->report_error = NULL;
    polling->callbacks.closed (polling, error, polling->user_data);
    g_clear_error (&error);
  } else if (polling->pause_requested && !polling->paused_reported &&
      !polling->get_in_flight && !polling->post_in_flight) {
    polling->paused_reported = TRUE;
    polling->callbacks.paused (polling, polling->user_data);
  }
  return G_SOURCE_REMOVE;
}

static void
schedule_report (SioPolling * polling)
{
  if (polling->pending_report)
    return;
  polling->pending_report = g_idle_source_new ();
  g_source_set_callback (polling->pending_report, report_from_idle, polling,
      NULL);
  g_source_attach (polling->pending_report, polling->context);
}

/* Ends the session; the first error is the one reported. */
static void
fail (SioPolling * polling, GError * error)
{
  if (polling->finished) {
    g_clear_error (&error);
    return;
  }
  g_debug ("polling ends: %s", error ? error->message : "cleanly");
  polling->finished = TRUE;
  polling->report_error = error;
  g_cancellable_cancel (polling->cancellable);
  schedule_report (polling);
}

gchar *
sio_http_cookie_header (SoupCookieJar * jar, const gchar * const *cookies,
    GUri * uri)
{
  GString *header = g_string_new (NULL);
  gchar *stored = jar ? soup_cookie_jar_get_cookies (jar, uri, TRUE) : NULL;
  guint i;

  for (i = 0; cookies && cookies[i]; i++) {
    if (header->len)
      g_string_append (header, "; ");
    g_string_append (header, cookies[i]);
  }
  if (stored && *stored) {
    if (header->len)
      g_string_append (header, "; ");
    g_string_append (header, stored);
  }
  g_free (stored);
  if (header->len == 0) {
    g_string_free (header, TRUE);
    return NULL;
  }
  return g_string_free (header, FALSE);
}

void
sio_http_store_cookies (SoupCookieJar * jar, GUri * uri,
    SoupMessageHeaders * headers)
{
  SoupMessageHeadersIter iter;
  const char *name, *value;

  if (jar == NULL || headers == NULL)
    return;
  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value)) {
    SoupCookie *cookie;

    if (g_ascii_strcasecmp (name, "Set-Cookie") != 0)
      continue;
    cookie = soup_cookie_parse (value, uri);
    if (cookie)
      soup_cookie_jar_add_cookie_full (jar, cookie, uri, uri);
  }
}

static gboolean
accept_any_certificate (SoupMessage * msg, GTlsCertificate * certificate,
    GTlsCertificateFlags errors, gpointer user_data)
{
  return TRUE;
}

static gboolean
on_authenticate (SoupMessage * msg, SoupAuth * auth, gboolean retrying,
    gpointer user_data)
{
  SioPolling *polling = user_data;
  SioBareProxyResolver *resolver = polling->proxy_resolver;
  gboolean answered = FALSE;

  if (polling->dead || !soup_auth_is_for_proxy (auth) || retrying)
    return FALSE;
  if (polling->proxy_id) {
    soup_auth_authenticate (auth, polling->proxy_id,
        polling->proxy_pw ? polling->proxy_pw : "");
    return TRUE;
  }
  /* the credentials in the proxy's URI (e.g. http_proxy's) */
  g_mutex_lock (&resolver->lock);
  if (resolver->user) {
    soup_auth_authenticate (auth, resolver->user,
        resolver->password ? resolver->password : "");
    answered = TRUE;
  }
  g_mutex_unlock (&resolver->lock);
  return answered;
}

static SoupMessage *
new_message (SioPolling * polling, const gchar * method)
{
  SoupMessage *msg = soup_message_new_from_uri (method,
      polling->session_uri ? polling->session_uri : polling->uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  gchar *cookie;
  guint i;

  /* a redirect could lead from TLS to plain text, or to another host */
  soup_message_add_flags (msg, SOUP_MESSAGE_NO_REDIRECT);
  for (i = 0; polling->extra_headers && polling->extra_headers[i]; i += 2)
    soup_message_headers_append (headers, polling->extra_headers[i],
        polling->extra_headers[i + 1]);
  cookie = sio_http_cookie_header (polling->jar,
      (const gchar * const *) polling->cookies, soup_message_get_uri (msg));
  if (cookie)
    soup_message_headers_replace (headers, "Cookie", cookie);
  g_free (cookie);
  if (polling->tls_accept_invalid)
    g_signal_connect (msg, "accept-certificate",
        G_CALLBACK (accept_any_certificate), NULL);
  g_signal_connect (msg, "authenticate", G_CALLBACK (on_authenticate), polling);
  return msg;
}

static void
request_free (Request * request)
{
  destroy_source (&request->readable);
  g_clear_object (&request->stream);
  g_clear_object (&request->msg);
  if (request->body)
    g_byte_array_unref (request->body);
  polling_unref (request->polling);
  g_free (request);
}

/* A completion for a session that ended meanwhile does nothing more. */
static gboolean
request_abandoned (Request * request, GError ** error)
{
  if (!request->polling->dead && !request->polling->finished)
    return FALSE;
  g_clear_error (error);
  request_free (request);
  return TRUE;
}

/* Ends the session with @error, and this request. */
static void
request_fail (Request * request, GError * error)
{
  fail (request->polling, error);
  request_free (request);
}

static GError *
read_error (const GError * error, const gchar * otherwise)
{
  return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_CONNECTION_LOST,
      "reading a polling response: %s", error ? error->message : otherwise);
}

/* What a failed send means. */
static GError *
send_error (SioPolling * polling, SoupMessage * msg, const GError * error)
{
  GTlsCertificateFlags flags = soup_message_get_tls_peer_certificate_errors
      (msg);

  if (error->domain == G_TLS_ERROR || flags) {
    polling->tls_errors = flags;
    return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_TLS,
        "TLS failed: %s", error->message);
  }
  if (error->domain == G_IO_ERROR && (error->code == G_IO_ERROR_PROXY_FAILED
          || error->code == G_IO_ERROR_PROXY_AUTH_FAILED
          || error->code == G_IO_ERROR_PROXY_NEED_AUTH
          || error->code == G_IO_ERROR_PROXY_NOT_ALLOWED))
    return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_PROXY, "%s",
        error->message);
  return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_CONNECT_FAILED,
      "%s", error->message);
}

/* An HTTP status other than 200. */
static GError *
status_error (SioPolling * polling, SoupMessage * msg)
{
  guint status = soup_message_get_status (msg);

  polling->http_status = status;
  if (SOUP_STATUS_IS_REDIRECTION (status)) {
    const gchar *location = soup_message_headers_get_one
        (soup_message_get_response_headers (msg), "Location");
    GUri *target = location ? g_uri_parse_relative (soup_message_get_uri
        (msg), location, G_URI_FLAGS_ENCODED, NULL) : NULL;
    gchar *shown = NULL;

    if (target) {
      shown = g_uri_join (G_URI_FLAGS_ENCODED, g_uri_get_scheme (target),
          NULL, g_uri_get_host (target), g_uri_get_port (target),
          g_uri_get_path (target), g_uri_get_query (target) ? "..." : NULL,
          NULL);
      g_uri_unref (target);
    }
    GError *error = g_error_new (SIO_POLLING_ERROR,
        SIO_POLLING_ERROR_REDIRECTED, "the server redirects (HTTP %u) to %s",
        status, shown ? shown : "(no location)");
    g_free (shown);
    return error;
  }
  if (status == SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED)
    return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_PROXY,
        "the proxy wants credentials (HTTP 407)");
  return g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_HTTP_STATUS,
      "HTTP %u %s", status, soup_message_get_reason_phrase (msg) ?
      soup_message_get_reason_phrase (msg) : "");
}

/* Padded base64, as Engine.IO servers write it: whole groups of four,
 * '=' only at the end. GLib's decoder takes anything else without a word,
 * dropping a truncated tail or skipping '=' inside. */
static gboolean
base64_is_valid (const gchar * text, gsize length)
{
  gsize i, data = length;

  if (length % 4 != 0)
    return FALSE;
  while (data > 0 && length - data < 2 && text[data - 1] == '=')
    data--;
  for (i = 0; i < data; i++) {
    gchar c = text[i];

    if (!g_ascii_isalnum (c) && c != '+' && c != '/')
      return FALSE;
  }
  return TRUE;
}

/* The bytes a valid base64 text decodes to: its padding is no data. */
static gsize
base64_decoded_size (const gchar * text, gsize length)
{
  gsize size = length / 4 * 3;

  if (length > 0 && text[length - 1] == '=')
    size--;
  if (length > 1 && text[length - 2] == '=')
    size--;
  return size;
}

/* A packet of @size bytes (a binary one decoded) over max_packet ends the
 * session, as a WebSocket message over it does. */
static gboolean
packet_too_big (SioPolling * polling, gsize size)
{
  if (size <= polling->max_packet)
    return FALSE;
  fail (polling, g_error_new (SIO_POLLING_ERROR, SIO_POLLING_ERROR_TOO_BIG,
          "a packet over %" G_GSIZE_FORMAT " bytes", polling->max_packet));
  return TRUE;
}

/* Hands the packets of one GET body to the caller; FALSE if it failed. */
static gboolean
deliver_payload (SioPolling * polling, const guint8 * body, gsize length)
{
  gsize start = 0;

  /* python-engineio (threading) ends a session that way */
  if (length == 0) {
    fail (polling, polling->closing ? NULL : g_error_new (SIO_POLLING_ERROR,
            SIO_POLLING_ERROR_CONNECTION_LOST, "the server ended the polling "
            "session (an empty answer)"));
    return FALSE;
  }
  while (start <= length && !polling->dead && !polling->finished) {
    const guint8 *end = memchr (body + start, RECORD_SEPARATOR,
        length - start);
    gsize piece = end ? (gsize) (end - (body + start)) : length - start;
    const gchar *text = (const gchar *) body + start;

    if (piece == 0) {
      fail (polling, g_error_new (SIO_POLLING_ERROR,
              SIO_POLLING_ERROR_PROTOCOL, "empty packet in a payload"));
      return FALSE;
    }
    if (text[0] == 'b') {
      gsize decoded_length = 0;
      guchar *decoded;
      gint state = 0;
      guint save = 0;

      if (!base64_is_valid (text + 1, piece - 1)) {
        fail (polling, g_error_new (SIO_POLLING_ERROR,
                SIO_POLLING_ERROR_PROTOCOL, "invalid base64 packet"));
        return FALSE;
      }
      if (packet_too_big (polling, base64_decoded_size (text + 1, piece - 1)))
        return FALSE;
      decoded = g_malloc ((piece / 4) * 3 + 3);
      decoded_length = g_base64_decode_step (text + 1, piece - 1, decoded,
          &state, &save);
      polling->callbacks.packet (polling, TRUE, decoded, decoded_length,
          polling->user_data);
      g_free (decoded);
    } else {
      if (packet_too_big (polling, piece))
        return FALSE;
      if (!g_utf8_validate (text, piece, NULL)) {
        fail (polling, g_error_new (SIO_POLLING_ERROR,
                SIO_POLLING_ERROR_PROTOCOL, "packet is not UTF-8"));
        return FALSE;
      }
      polling->callbacks.packet (polling, FALSE, (const guint8 *) text,
          piece, polling->user_data);
    }
    if (end == NULL)
      break;
    start += piece + 1;
  }
  return !polling->dead && !polling->finished;
}

static void request_done (Request * request);
static void read_body (Request * request);

static void
on_body_closed (GObject * source, GAsyncResult * result, gpointer user_data)
{
  Request *request = user_data;

  g_input_stream_close_finish (G_INPUT_STREAM (source), result, NULL);
  if (!request_abandoned (request, NULL))
    request_done (request);
}

/* The body is in: closing the stream gives the connection back to the
 * session, so the next request reuses it rather than opening another. */
static void
finish_body (Request * request)
{
  g_input_stream_close_async (request->stream, G_PRIORITY_DEFAULT,
      request->polling->cancellable, on_body_closed, request);
}

static gboolean
on_body_readable (GObject * stream, gpointer user_data)
{
  Request *request = user_data;

  g_clear_pointer (&request->readable, g_source_unref);
  if (!request_abandoned (request, NULL))
    read_body (request);
  return G_SOURCE_REMOVE;
}

/* Reads what the body has without waiting, and waits for the rest: most
 * bodies are in by the time the headers are, and an asynchronous read
 * per piece would cost a task and a main loop iteration each. The body
 * is read to its end (a zero-length read), which is what lets libsoup
 * keep the connection. */
static void
read_body (Request * request)
{
  SioPolling *polling = request->polling;
  GPollableInputStream *stream = G_POLLABLE_INPUT_STREAM (request->stream);

  for (;;) {
    GError *error = NULL;
    gssize read;

    /* bytes past the bound tell "over" from "at"; libsoup's chunked
     * decoder wants room for more than its "\r\n" in every read */
    if (!request->sized && request->body_read == request->body->len)
      g_byte_array_set_size (request->body, MIN (request->body->len +
              READ_CHUNK, polling->max_response_body + 16));
    if (request->body_read == request->body->len) {
      /* sized and complete: one more read must find the end */
      guint8 probe[16];

      read = g_pollable_input_stream_read_nonblocking (stream, probe,
          sizeof (probe), polling->cancellable, &error);
      if (read > 0) {
        request_fail (request, read_error (NULL, "longer than announced"));
        return;
      }
    } else {
      read = g_pollable_input_stream_read_nonblocking (stream,
          request->body->data + request->body_read,
          request->body->len - request->body_read, polling->cancellable,
          &error);
    }
    if (read < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
      g_clear_error (&error);
      request->readable = g_pollable_input_stream_create_source (stream,
          polling->cancellable);
      g_source_set_callback (request->readable,
          G_SOURCE_FUNC (on_body_readable), request, NULL);
      g_source_attach (request->readable, polling->context);
      return;
    }
    if (request_abandoned (request, &error))
      return;
    if (read < 0) {
      request_fail (request, read_error (error, NULL));
      g_clear_error (&error);
      return;
    }
    if (read == 0) {
      if (request->sized && request->body_read < request->body->len) {
        request_fail (request, read_error (NULL, "shorter than announced"));
        return;
      }
      g_byte_array_set_size (request->body, request->body_read);
      finish_body (request);
      return;
    }
    request->body_read += read;
    if (request->body_read > polling->max_response_body) {
      request_fail (request, g_error_new (SIO_POLLING_ERROR,
              SIO_POLLING_ERROR_TOO_BIG, "a polling response over %"
              G_GSIZE_FORMAT " bytes", polling->max_response_body));
      return;
    }
  }
}

static gboolean
get_delay_over (gpointer user_data)
{
  SioPolling *polling = user_data;

  g_clear_pointer (&polling->get_delay, g_source_unref);
  start_get (polling);
  return G_SOURCE_REMOVE;
}

/* A GET answered while a POST is in flight most often carries the first
 * of the acks for that POST: the server answers a waiting GET with its
 * first packet and keeps the rest for the next GET. Asking again once the
 * POST is answered, when the server has taken the whole body, collects
 * the rest in one response instead of a request for the first ack and
 * another for the others. A slow POST must not hold the server's pings
 * back, so the wait is short. */
static void
delay_get (SioPolling * polling)
{
  /* a packet's callback may have asked for a GET already */
  if (polling->get_in_flight || polling->get_delay)
    return;
  polling->get_delay = g_timeout_source_new (GET_AFTER_POST_MAX_MS);
  g_source_set_callback (polling->get_delay, get_delay_over, polling, NULL);
  g_source_attach (polling->get_delay, polling->context);
}

static void
request_done (Request * request)
{
  SioPolling *polling = request->polling;

  if (request->is_post) {
    polling->post_in_flight = FALSE;
    polling->post_in_flight_bytes = 0;
    if (!polling->dead && !polling->finished) {
      if (polling->get_delay)
        start_get (polling);
      maybe_post (polling);
    }
    if (!polling->dead && !polling->finished && polling->callbacks.writable)
      polling->callbacks.writable (polling, polling->user_data);
  } else {
    polling->get_in_flight = FALSE;
    if (!polling->dead && !polling->finished &&
        deliver_payload (polling, request->body->data, request->body->len)) {
      if (polling->post_in_flight)
        delay_get (polling);
      else
        start_get (polling);
    }
  }
  if (!polling->dead && !polling->finished) {
    if (polling->pause_requested)
      schedule_report (polling);
    if (polling->closing && !polling->post_in_flight &&
        g_queue_is_empty (&polling->queue))
      fail (polling, NULL);
  }
  request_free (request);
}

static void
on_sent (GObject * source, GAsyncResult * result, gpointer user_data)
{
  Request *request = user_data;
  SioPolling *polling = request->polling;
  GError *error = NULL;
  goffset length;

  request->stream = soup_session_send_finish (SOUP_SESSION (source), result,
      &error);
  if (request_abandoned (request, &error))
    return;
  if (request->stream == NULL) {
    request_fail (request, send_error (polling, request->msg, error));
    g_clear_error (&error);
    return;
  }
  sio_http_store_cookies (polling->jar, soup_message_get_uri (request->msg),
      soup_message_get_response_headers (request->msg));
  if (soup_message_get_status (request->msg) != SOUP_STATUS_OK) {
    request_fail (request, status_error (polling, request->msg));
    return;
  }
  length = soup_message_headers_get_content_length
      (soup_message_get_response_headers (request->msg));
  if (length > 0 && (guint64) length > polling->max_response_body) {
    request_fail (request, g_error_new (SIO_POLLING_ERROR,
            SIO_POLLING_ERROR_TOO_BIG, "a polling response of %"
            G_GINT64_FORMAT " bytes, over %" G_GSIZE_FORMAT, (gint64) length,
            polling->max_response_body));
    return;
  }
  if (length > 0) {
    request->body = g_byte_array_sized_new ((guint) length);
    g_byte_array_set_size (request->body, (guint) length);
    request->sized = TRUE;
  } else {
    request->body = g_byte_array_new ();
  }
  read_body (request);
}

static void
send_request (SioPolling * polling, SoupMessage * msg, gboolean is_post)
{
  Request *request = g_new0 (Request, 1);

  request->polling = polling_ref (polling);
  request->msg = msg;
  request->is_post = is_post;
  soup_session_send_async (polling->session, msg, G_PRIORITY_DEFAULT,
      polling->cancellable, on_sent, request);
}

static void
start_get (SioPolling * polling)
{
  destroy_source (&polling->get_delay);
  if (polling->get_in_flight || polling->session_url == NULL ||
      polling->pause_requested || polling->closing || polling->finished)
    return;
  polling->get_in_flight = TRUE;
  send_request (polling, new_message (polling, SOUP_METHOD_GET), FALSE);
}

/* One POST with as many queued packets as fit in max_payload. */
static void
maybe_post (SioPolling * polling)
{
  GByteArray *body;
  OutPacket *packet;
  SoupMessage *msg;
  GBytes *bytes;
  guint packets = 0;

  if (polling->post_in_flight || polling->corked || polling->session_url ==
      NULL || polling->pause_requested || polling->finished ||
      g_queue_is_empty (&polling->queue))
    return;

  body = g_byte_array_sized_new (MIN (polling->queued_bytes +
          polling->queue.length, polling->max_payload));
  while ((packet = g_queue_peek_head (&polling->queue)) != NULL) {
    gsize size;
    const guint8 *data = g_bytes_get_data (packet->data, &size);
    gsize encoded = encoded_size (packet->binary, size);

    /* always at least one packet, however large */
    if (body->len > 0 && (body->len + 1 + encoded > polling->max_payload ||
            (polling->max_packets && packets == polling->max_packets)))
      break;
    packets++;
    g_queue_pop_head (&polling->queue);
    polling->queued_bytes -= encoded;
    if (body->len > 0)
      g_byte_array_append (body, (const guint8 *) "\x1e", 1);
    if (packet->binary) {
      gsize at = body->len;

      g_byte_array_set_size (body, at + encoded);
      body->data[at] = 'b';
      sio_base64_encode (data, size, (gchar *) body->data + at + 1);
    } else {
      g_byte_array_append (body, data, size);
    }
    out_packet_free (packet);
  }

  polling->post_in_flight = TRUE;
  polling->post_in_flight_bytes = body->len;
  polling->post_sent_us = g_get_monotonic_time ();
  polling->bytes_written += body->len;
  msg = new_message (polling, SOUP_METHOD_POST);
  /* libsoup gives a POST a connection of its own unless told it may
   * reuse an idle one: a new TCP connection (and proxy lookup) per body
   * would cost more than the body. A POST resent after a reused
   * connection failed can only repeat packets (the server drops repeated
   * events by seq), never lose them. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  bytes = g_byte_array_free_to_bytes (body);
  soup_message_set_request_body_from_bytes (msg, "text/plain;charset=UTF-8",
      bytes);
  g_bytes_unref (bytes);
  send_request (polling, msg, TRUE);
}

SioPolling *
sio_polling_open (const SioPollingConfig * config,
    const SioPollingCallbacks * callbacks, gpointer user_data)
{
  SioPolling *polling = g_new0 (SioPolling, 1);

  polling->refcount = 1;
  polling->context = g_main_context_ref_thread_default ();
  polling->url = g_strconcat (config->url, "&transport=polling", NULL);
  polling->uri = g_uri_parse (polling->url, SOUP_HTTP_URI_FLAGS, NULL);
  polling->extra_headers = g_strdupv ((gchar **) config->extra_headers);
  polling->cookies = g_strdupv ((gchar **) config->cookies);
  if (config->cookie_jar)
    polling->jar = g_object_ref (config->cookie_jar);
  polling->tls_accept_invalid = config->tls_accept_invalid;
  polling->proxy_id = g_strdup (config->proxy_id);
  polling->proxy_pw = g_strdup (config->proxy_pw);
  polling->max_response_body = config->max_response_body ?
      config->max_response_body : DEFAULT_MAX_RESPONSE_BODY;
  polling->max_packet = config->max_packet ? config->max_packet : G_MAXSIZE;
  polling->max_payload = MAX (config->max_payload, 64);
  polling->max_packets = SIO_POLLING_LEGACY_MAX_PACKETS;
  polling->cancellable = g_cancellable_new ();
  polling->callbacks = *callbacks;
  polling->user_data = user_data;
  g_queue_init (&polling->queue);

  /* the Engine.IO ping watchdog bounds every request: no session
   * timeout, which would also cut the long poll */
  polling->session = soup_session_new_with_options ("user-agent",
      config->user_agent ? config->user_agent : "gst-socketio",
      "max-conns-per-host", 4, "timeout", 0, NULL);
  if (config->tls_database)
    soup_session_set_tls_database (polling->session, config->tls_database);
  if (config->tls_interaction)
    soup_session_set_tls_interaction (polling->session,
        config->tls_interaction);
  polling->proxy_resolver = bare_proxy_resolver_new (config->proxy_resolver ?
      config->proxy_resolver : g_proxy_resolver_get_default ());
  soup_session_set_proxy_resolver (polling->session,
      G_PROXY_RESOLVER (polling->proxy_resolver));

  if (polling->uri == NULL) {
    fail (polling, g_error_new (SIO_POLLING_ERROR,
            SIO_POLLING_ERROR_CONNECT_FAILED, "invalid URL"));
    return polling;
  }
  polling->get_in_flight = TRUE;
  send_request (polling, new_message (polling, SOUP_METHOD_GET), FALSE);
  return polling;
}

void
sio_polling_start (SioPolling * polling, const gchar * sid, gsize max_payload,
    guint max_packets)
{
  gchar *escaped = g_uri_escape_string (sid, NULL, FALSE);

  g_free (polling->session_url);
  polling->session_url = g_strconcat (polling->url, "&sid=", escaped, NULL);
  g_free (escaped);
  if (polling->session_uri)
    g_uri_unref (polling->session_uri);
  polling->session_uri = g_uri_parse (polling->session_url,
      SOUP_HTTP_URI_FLAGS, NULL);
  if (polling->session_uri == NULL) {
    fail (polling, g_error_new (SIO_POLLING_ERROR,
            SIO_POLLING_ERROR_PROTOCOL, "unusable session id"));
    return;
  }
  if (max_payload > 0)
    polling->max_payload = MAX (max_payload, 64);
  polling->max_packets = max_packets;
  /* called from packet() while the handshake is delivered, or later from
   * the main loop: either way no GET is in flight and the poll starts */
  start_get (polling);
  maybe_post (polling);
}

void
sio_polling_send (SioPolling * polling, gboolean binary, const guint8 * data,
    gsize length)
{
  OutPacket *packet;

  if (polling->finished || polling->closing)
    return;
  packet = g_new (OutPacket, 1);
  packet->binary = binary;
  packet->data = g_bytes_new (data, length);
  g_queue_push_tail (&polling->queue, packet);
  polling->queued_bytes += encoded_size (binary, length);
  maybe_post (polling);
}

void
sio_polling_set_corked (SioPolling * polling, gboolean corked)
{
  polling->corked = corked;
  if (!corked)
    maybe_post (polling);
}

gsize
sio_polling_get_pending (SioPolling * polling)
{
  return polling->queued_bytes + polling->post_in_flight_bytes;
}

void
sio_polling_pause (SioPolling * polling)
{
  polling->pause_requested = TRUE;
  polling->paused_reported = FALSE;
  schedule_report (polling);
}

void
sio_polling_resume (SioPolling * polling)
{
  polling->pause_requested = FALSE;
  polling->paused_reported = FALSE;
  start_get (polling);
  maybe_post (polling);
}

void
sio_polling_take_queued (SioPolling * polling,
    void (*func) (gboolean binary, const guint8 * data, gsize length,
        gpointer user_data), gpointer user_data)
{
  OutPacket *packet;

  while ((packet = g_queue_pop_head (&polling->queue)) != NULL) {
    gsize size;
    const guint8 *data = g_bytes_get_data (packet->data, &size);

    func (packet->binary, data, size, user_data);
    out_packet_free (packet);
  }
  polling->queued_bytes = 0;
}

static gboolean
close_timed_out (gpointer user_data)
{
  SioPolling *polling = user_data;

  g_clear_pointer (&polling->close_timer, g_source_unref);
  fail (polling, NULL);
  return G_SOURCE_REMOVE;
}

void
sio_polling_close (SioPolling * polling)
{
  if (polling->closing || polling->finished)
    return;
  polling->corked = FALSE;
  polling->pause_requested = FALSE;
  maybe_post (polling);
  polling->closing = TRUE;
  if (!polling->post_in_flight && g_queue_is_empty (&polling->queue)) {
    fail (polling, NULL);
    return;
  }
  polling->close_timer = g_timeout_source_new (CLOSE_TIMEOUT_MS);
  g_source_set_callback (polling->close_timer, close_timed_out, polling, NULL);
  g_source_attach (polling->close_timer, polling->context);
}

void
sio_polling_free (SioPolling * polling)
{
  if (polling == NULL)
    return;
  polling->dead = TRUE;
  g_cancellable_cancel (polling->cancellable);
  destroy_source (&polling->pending_report);
  destroy_source (&polling->close_timer);
  destroy_source (&polling->get_delay);
  polling_unref (polling);
}

guint
sio_polling_get_http_status (SioPolling * polling)
{
  return polling->http_status;
}

GTlsCertificateFlags
sio_polling_get_tls_errors (SioPolling * polling)
{
  return polling->tls_errors;
}

gint64
sio_polling_get_post_sent_time (SioPolling * polling)
{
  return polling->post_in_flight ? polling->post_sent_us : 0;
}

guint64
sio_polling_get_bytes_written (SioPolling * polling)
{
  return polling->bytes_written;
}
