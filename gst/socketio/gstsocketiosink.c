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

/**
 * SECTION:element-socketiosink
 * @title: socketiosink
 *
 * Sends audio to a Socket.IO v5 server (socket.io 3.x/4.x for Node,
 * python-socketio 5.x) as binary events, one event per batch of raw
 * audio:
 *
 *     ["audio_data", {"audio_data": <binary>, "seq": 0, "pts": 0,
 *      "duration": 64000000, "format": "S16LE", "rate": 16000,
 *      "channels": 1, "stream_id": "<uuid>"}]
 *
 * which is what servers written for `sio.emit("audio_data", {"audio_data":
 * chunk})` clients expect. The event name and the binary key are the
 * #GstSocketIoSink:event and #GstSocketIoSink:payload-key properties.
 *
 * Compressed audio (Opus from opusenc, FLAC through flacparse, MP3 and AAC
 * through their parsers, Vorbis, Speex, A-law, µ-law, AMR, AC-3) goes in
 * whole packets, never split: one per event, or as many as make up
 * #GstSocketIoSink:batch-duration. Its events carry `"caps"` (the caps as
 * a string, without their header blobs) in place of format, rate and
 * channels, and last `"packet_sizes"` (each packet's size in the
 * attachment); `pts` and `seq` are the first packet's, `duration` all of
 * theirs. The codec's headers (the caps' `streamheader` or `codec_data`,
 * or else the HEADER buffers of the stream) go before the first audio of
 * every connection, as one event of their own, outside the ack window:
 *
 *     ["audio_header", {"headers": <binary: the headers, one after
 *      another>, "header_sizes": [19, 41], "caps": "audio/x-opus, ...",
 *      "stream_id": "<uuid>"}]
 *
 * A packet larger than the server's maxPayload is an error.
 *
 * `stream_id` (#GstSocketIoSink:stream-id, a random UUID by default) is
 * the same for the life of the stream, across reconnections and replays,
 * and new whenever seq starts again, so a server drops replays by
 * (stream_id, seq). Replayed events carry `"replay": true`. The first
 * event after audio went missing (its pts is past where the audio sent so
 * far ends, by more than 40 ms, or 1 ms on a DISCONT buffer; a batch
 * dropped while reconnecting; or, after a reconnection, audio an ackqueue
 * dropped instead of replaying it, then counted from the end of the newest
 * acknowledged audio) carries `"discont": true`, `"missing_duration"` (ns)
 * and `"missing_samples"`, so a server can fill or report the gap; the
 * stats count them (`gaps`, `gaps-duration`).
 *
 * The element connects over Engine.IO v4, by WebSocket or HTTP
 * long-polling (#GstSocketIoSink:transports), joins
 * #GstSocketIoSink:namespace with the optional #GstSocketIoSink:auth object
 * and answers the server's pings from its own network thread. TLS, HTTP
 * headers, cookies and proxies are set as on souphttpsrc
 * (#GstSocketIoSink:ssl-ca-file, #GstSocketIoSink:extra-headers,
 * #GstSocketIoSink:proxy...). As a URI sink it takes socketio+http://,
 * socketio+https://, socketio+ws:// and socketio+wss:// URIs.
 *
 * With #GstSocketIoSink:ack (the default) every emit asks for an
 * acknowledgement and at most #GstSocketIoSink:max-in-flight emits wait
 * for one: when the window is full, the streaming thread blocks, which is
 * the backpressure upstream elements see. Without acks the same window
 * counts emits the socket has not taken yet. Either way memory is bounded
 * by max-in-flight × max-batch-bytes, whatever the server does.
 *
 * Events the server sends to the client are posted on the bus as element
 * messages named `socketio-event` (fields `name`, `args` as JSON array
 * text and, for binary events, `attachments` as a #GstBufferList) and
 * emitted as the #GstSocketIoSink::server-event signal (`name`,
 * `args_json`), from the network thread: its handlers must not block
 * nor change the element's state. The network threads are shared by
 * every socketiosink in the process (at most one per processor, or
 * `GST_SOCKETIO_NETWORK_THREADS`), so a handler that blocks holds up the
 * other sinks on its thread too.
 *
 * With #GstSocketIoSink:multiplex, sinks of the process with the same
 * location and connection settings share one Engine.IO connection, each
 * joining its own namespace (socket.io-client's Manager): one socket, one
 * ping, and writes that carry the packets of all of them. Acks, the
 * window, auth and stats stay each sink's; the loss of the connection is
 * all of theirs, a namespace refused or disconnected by the server only
 * its sink's.
 *
 * The application sends its own events on the same connection with the
 * #GstSocketIoSink::emit action signal (event, args_json, binary,
 * want_ack): the server's ack is posted as a `socketio-emit-ack` message
 * (`id`, `event`, `args`), a failure as `socketio-emit-failed` (`id`,
 * `event`, `reason`: "timeout" or "lost"). These events take no place in
 * the audio window.
 *
 * A server that acknowledges none of a whole window of events (its
 * handler does not call the ack callback) is announced once, in a
 * warning that names the handler and ack=false.
 *
 * Like any #GstBaseSink with #GstBaseSink:sync (the default), the element
 * sends each buffer when its running time comes on the clock, so a file is
 * sent in real time. In a live pipeline that moment is the running time
 * plus the pipeline's latency, the longest time upstream says a buffer may
 * take to arrive (one buffer for a live source, one frame more through
 * leakyframepool). #GstBaseSink:processing-deadline is 0 on this element,
 * not GstBaseSink's 20 ms: rendering only hands the buffer to the network
 * thread, and a deadline would delay every live buffer by as much.
 * `sync=false` sends each buffer as soon as it arrives (a file then goes
 * as fast as the window allows).
 *
 * At EOS the element waits (at most #GstSocketIoSink:ack-timeout) for the
 * outstanding acks, then leaves cleanly. Going to NULL returns promptly
 * whatever the server does.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=S16LE,rate=16000,channels=1 ! \
 *     socketiosink location=http://127.0.0.1:5000 event=audio_data
 * ]|
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>

#include <glib/gi18n-lib.h>

#include "gstsocketioelements.h"
#include "gstsocketiosink.h"
#include "gstsioshared.h"
#include "gstsioevents.h"
#include "gstsiometa.h"
#include "sio-protocol.h"

/* Threads. The streaming thread renders: it batches, waits for the window
 * and the connection, and owns the fields marked "streaming thread". The
 * client's network thread (one of a pool shared by every sink in the
 * process, sio-loop.h) calls on_state_changed(), on_emit_done() and
 * on_server_event(). The application's threads set properties, read
 * stats and call the emit action signal. Properties are under the object
 * lock; what the threads share (window, ack books, the client pointer,
 * the application's emits) is under self->lock. Lock order: self->lock,
 * then the object lock, then the client's own lock (sio_client_emit*(),
 * sio_client_set_auth()). The client never calls back with its lock held,
 * and self->lock is never held around sio_client_free() (which reports
 * emits through on_emit_done()) nor while posting a message. */

GST_DEBUG_CATEGORY (gst_socketio_sink_debug);
#define GST_CAT_DEFAULT gst_socketio_sink_debug

#define DEFAULT_LOCATION NULL
#define DEFAULT_NAMESPACE "/"
#define DEFAULT_AUTH NULL
#define DEFAULT_EVENT "audio_data"
#define DEFAULT_PAYLOAD_KEY "audio_data"
#define DEFAULT_BATCH_DURATION 0
#define MAX_BATCH_DURATION (60 * GST_SECOND)
#define DEFAULT_MAX_BATCH_BYTES (64 * 1024)
#define DEFAULT_ACK TRUE
#define DEFAULT_MAX_IN_FLIGHT 32
/* buffer maps kept for reuse: a window of events and more */
#define SPARE_MAPS_MAX 64
#define DEFAULT_ACK_TIMEOUT (10 * GST_SECOND)
#define MAX_TIMEOUT (3600 * GST_SECOND)
#define DEFAULT_CONNECT_TIMEOUT (10 * GST_SECOND)
#define MIN_CONNECT_TIMEOUT (100 * GST_MSECOND)

#define DEFAULT_RECONNECT TRUE
#define DEFAULT_RECONNECT_DELAY (500 * GST_MSECOND)
#define DEFAULT_RECONNECT_DELAY_MAX (10 * GST_SECOND)
#define DEFAULT_MAX_RECONNECT_ATTEMPTS 0
#define DEFAULT_DISCONNECTED_POLICY GST_SOCKETIO_SINK_DISCONNECTED_BLOCK
#define DEFAULT_MAX_INCOMING_MESSAGE_BYTES (4 * 1024 * 1024)
#define MIN_INCOMING_MESSAGE_BYTES 1024
#define DEFAULT_MAX_PENDING_SERVER_EVENTS 64
#define DEFAULT_TRANSPORTS GST_SOCKETIO_TRANSPORTS_AUTO
#define DEFAULT_SSL_CA_FILE NULL
#define DEFAULT_SSL_USE_SYSTEM_CA_FILE TRUE
#define DEFAULT_SSL_STRICT TRUE
#define DEFAULT_USER_AGENT "gst-socketio/" VERSION
#define DEFAULT_PROXY NULL
#define DEFAULT_RETRY_FIRST_CONNECTION FALSE
#define DEFAULT_RECONNECT_ON_SERVER_DISCONNECT FALSE
#define DEFAULT_MULTIPLEX FALSE
#define DEFAULT_STREAM_ID NULL
#define MAX_STREAM_ID_BYTES 256

/* Compressed audio the sink sends one packet per event: what encoders and
 * parsers output whole (framed or parsed) packets of. */
#define HEADER_EVENT "audio_header"

/* A pts this far past where the audio sent so far ends is a gap: the
 * default alignment threshold of GstAudioStreamAlign, above the jitter
 * of timestamps taken from a clock. After a DISCONT buffer (upstream
 * dropped audio) a millisecond is enough. */
#define GAP_THRESHOLD (40 * GST_MSECOND)
#define DISCONT_GAP_THRESHOLD (1 * GST_MSECOND)

/* How long EOS lets the server answer the clean close. */
#define CLOSE_WAIT (1 * GST_SECOND)

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_NAMESPACE,
  PROP_AUTH,
  PROP_EVENT,
  PROP_PAYLOAD_KEY,
  PROP_BATCH_DURATION,
  PROP_MAX_BATCH_BYTES,
  PROP_ACK,
  PROP_MAX_IN_FLIGHT,
  PROP_ACK_TIMEOUT,
  PROP_CONNECT_TIMEOUT,
  PROP_RECONNECT,
  PROP_RECONNECT_DELAY,
  PROP_RECONNECT_DELAY_MAX,
  PROP_MAX_RECONNECT_ATTEMPTS,
  PROP_DISCONNECTED_POLICY,
  PROP_MAX_INCOMING_MESSAGE_BYTES,
  PROP_MAX_PENDING_SERVER_EVENTS,
  PROP_STATS,
  PROP_TRANSPORTS,
  PROP_SSL_CA_FILE,
  PROP_SSL_USE_SYSTEM_CA_FILE,
  PROP_TLS_DATABASE,
  PROP_TLS_INTERACTION,
  PROP_SSL_STRICT,
  PROP_EXTRA_HEADERS,
  PROP_USER_AGENT,
  PROP_COOKIES,
  PROP_PROXY,
  PROP_PROXY_ID,
  PROP_PROXY_PW,
  PROP_RETRY_FIRST_CONNECTION,
  PROP_RECONNECT_ON_SERVER_DISCONNECT,
  PROP_STREAM_ID,
  PROP_MULTIPLEX,
};

/* The URI schemes: socketio+ before the location's own, so that http://
 * URIs keep going to HTTP sources (icecastsink's ice+http is the model). */
#define URI_PREFIX "socketio+"
static const gchar *const uri_protocols[] = {
  URI_PREFIX "http", URI_PREFIX "https", URI_PREFIX "ws", URI_PREFIX "wss",
  NULL
};

/* Arrays of buffer seqs stay NULL while empty: without an ackqueue no
 * buffer has a seq, and a batch allocates none. */
static guint
seqs_length (const GArray * seqs)
{
  return seqs ? seqs->len : 0;
}

static void
seqs_append (GArray ** seqs, guint64 seq)
{
  if (*seqs == NULL)
    *seqs = g_array_new (FALSE, FALSE, sizeof (guint64));
  g_array_append_val (*seqs, seq);
}

static void
seqs_free (GArray * seqs)
{
  if (seqs)
    g_array_free (seqs, TRUE);
}

/* One emit in flight: the buffers it carries parts of (their seqs, in
 * order; NULL without an ackqueue) and the audio's duration. Kept by
 * value in self->emits, in token order (see emits_add_locked()). */
typedef struct
{
  guint64 token;
  GArray *seqs;
  GstClockTime pts;             /* of its first sample, or NONE */
  GstClockTime duration;
  gboolean live;                /* FALSE: done, a hole until compacted */
} EmitRecord;

/* The emits in flight are an array in token order, tokens only growing:
 * adding one allocates nothing, and its ack, nearly always the oldest
 * one's, is found at the head. Emits done out of order leave holes, taken
 * out once they outnumber the live ones, so the array stays within twice
 * max-in-flight. All with self->lock held. */
static void
emits_add_locked (GstSocketIoSink * self, guint64 token, GArray * seqs,
    GstClockTime pts, GstClockTime duration)
{
  EmitRecord record = { token, seqs, pts, duration, TRUE };

  g_array_append_val (self->emits, record);
  self->emits_live++;
}

static EmitRecord *
emits_find_locked (GstSocketIoSink * self, guint64 token)
{
  EmitRecord *records = (EmitRecord *) self->emits->data;
  guint low = self->emits_head, high = self->emits->len;

  if (low < high && records[low].token == token)
    return records[low].live ? &records[low] : NULL;
  while (low < high) {
    guint mid = low + (high - low) / 2;

    if (records[mid].token == token)
      return records[mid].live ? &records[mid] : NULL;
    if (records[mid].token < token)
      low = mid + 1;
    else
      high = mid;
  }
  return NULL;
}

static void
emits_remove_locked (GstSocketIoSink * self, EmitRecord * record)
{
  EmitRecord *records = (EmitRecord *) self->emits->data;
  guint i, kept;

  seqs_free (record->seqs);
  record->seqs = NULL;
  record->live = FALSE;
  self->emits_live--;
  while (self->emits_head < self->emits->len && !records[self->emits_head].live)
    self->emits_head++;
  if (self->emits_head == self->emits->len) {
    g_array_set_size (self->emits, 0);
    self->emits_head = 0;
  } else if (self->emits->len - self->emits_head > 2 * self->emits_live + 16
      || self->emits_head > 64) {
    for (i = self->emits_head, kept = 0; i < self->emits->len; i++)
      if (records[i].live)
        records[kept++] = records[i];
    g_array_set_size (self->emits, kept);
    self->emits_head = 0;
  }
}

static void
emits_clear_locked (GstSocketIoSink * self)
{
  guint i;

  for (i = self->emits_head; i < self->emits->len; i++)
    seqs_free (g_array_index (self->emits, EmitRecord, i).seqs);
  g_array_set_size (self->emits, 0);
  self->emits_head = 0;
  self->emits_live = 0;
}

/* The application's emits (the emit action signal) share the client's
 * token space with the audio's: this bit marks theirs, the rest is the
 * id the application got. They take no place in the audio window. */
#define APP_EMIT_TOKEN (G_GUINT64_CONSTANT (1) << 63)

/* Most emits of the application's waiting to be written or acknowledged:
 * the queue is small and fixed, a full one refuses. */
#define MAX_APP_EMITS 16

/* One buffer's bytes in the batch adapter, for the ack bookkeeping. */
typedef struct
{
  guint64 seq;
  gsize bytes;
  gboolean has_seq;
  gboolean replay;
  GstClockTime duration;        /* compressed: the packet's, or NONE */
} BatchSeq;

GType
gst_socketio_sink_disconnected_policy_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_SOCKETIO_SINK_DISCONNECTED_BLOCK,
        "Wait for the connection to come back (backpressure)", "block"},
    {GST_SOCKETIO_SINK_DISCONNECTED_DROP,
          "Discard and count the audio that arrives while disconnected",
        "drop"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSocketIoSinkDisconnectedPolicy",
        values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

GType
gst_socketio_transports_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_SOCKETIO_TRANSPORTS_AUTO,
        "WebSocket, or long-polling (upgraded when offered) when the server "
          "refuses WebSocket", "auto"},
    {GST_SOCKETIO_TRANSPORTS_WEBSOCKET, "WebSocket only", "websocket"},
    {GST_SOCKETIO_TRANSPORTS_POLLING, "HTTP long-polling only", "polling"},
    {GST_SOCKETIO_TRANSPORTS_POLLING_UPGRADE,
          "Long-polling, then the upgrade to WebSocket when offered",
        "polling-upgrade"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstSocketIoTransports", values);
    g_once_init_leave (&type, t);
  }
  return (GType) type;
}

static SioTransports
to_sio_transports (GstSocketIoTransports transports)
{
  switch (transports) {
    case GST_SOCKETIO_TRANSPORTS_WEBSOCKET:
      return SIO_TRANSPORTS_WEBSOCKET;
    case GST_SOCKETIO_TRANSPORTS_POLLING:
      return SIO_TRANSPORTS_POLLING;
    case GST_SOCKETIO_TRANSPORTS_POLLING_UPGRADE:
      return SIO_TRANSPORTS_POLLING_UPGRADE;
    default:
      return SIO_TRANSPORTS_AUTO;
  }
}

/* A database that trusts no certificate authority: what
 * ssl-use-system-ca-file=false without ssl-ca-file means (souphttpsrc on
 * libsoup 2 leaves the session without a database, which trusts nothing;
 * the client takes NULL for the system's). */
#define GST_TYPE_SIO_TRUST_NOTHING (gst_sio_trust_nothing_get_type ())
G_DECLARE_FINAL_TYPE (GstSioTrustNothing, gst_sio_trust_nothing, GST,
    SIO_TRUST_NOTHING, GTlsDatabase);

struct _GstSioTrustNothing
{
  GTlsDatabase parent;
};

G_DEFINE_TYPE (GstSioTrustNothing, gst_sio_trust_nothing, G_TYPE_TLS_DATABASE);

static GTlsCertificateFlags
trust_nothing_verify_chain (GTlsDatabase * database, GTlsCertificate * chain,
    const gchar * purpose, GSocketConnectable * identity,
    GTlsInteraction * interaction, GTlsDatabaseVerifyFlags flags,
    GCancellable * cancellable, GError ** error)
{
  GTlsCertificateFlags errors = G_TLS_CERTIFICATE_UNKNOWN_CA;

  /* the other problems still count, so the message names the worst */
  if (identity)
    errors |= g_tls_certificate_verify (chain, identity, NULL) &
        ~G_TLS_CERTIFICATE_UNKNOWN_CA;
  return errors;
}

static GTlsCertificate *
trust_nothing_lookup_issuer (GTlsDatabase * database,
    GTlsCertificate * certificate, GTlsInteraction * interaction,
    GTlsDatabaseLookupFlags flags, GCancellable * cancellable, GError ** error)
{
  return NULL;
}

static GList *
trust_nothing_lookup_issued_by (GTlsDatabase * database,
    GByteArray * issuer_raw_dn, GTlsInteraction * interaction,
    GTlsDatabaseLookupFlags flags, GCancellable * cancellable, GError ** error)
{
  return NULL;
}

static void
gst_sio_trust_nothing_class_init (GstSioTrustNothingClass * klass)
{
  GTlsDatabaseClass *database_class = G_TLS_DATABASE_CLASS (klass);

  database_class->verify_chain = trust_nothing_verify_chain;
  database_class->lookup_certificate_issuer = trust_nothing_lookup_issuer;
  database_class->lookup_certificates_issued_by =
      trust_nothing_lookup_issued_by;
}

static void
gst_sio_trust_nothing_init (GstSioTrustNothing * self)
{
}

enum
{
  SIGNAL_SERVER_EVENT,
  SIGNAL_EMIT,
  LAST_SIGNAL
};

static guint signals[LAST_SIGNAL];

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AUDIO_CAPS_MAKE (GST_AUDIO_FORMATS_ALL)
        ", layout = (string) interleaved; " GST_SIO_COMPRESSED_CAPS));

static void gst_socketio_sink_uri_handler_init (gpointer g_iface,
    gpointer iface_data);

#define gst_socketio_sink_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstSocketIoSink, gst_socketio_sink,
    GST_TYPE_BASE_SINK, G_IMPLEMENT_INTERFACE (GST_TYPE_URI_HANDLER,
        gst_socketio_sink_uri_handler_init));

static gboolean socketiosink_element_init (GstPlugin * plugin);
GST_ELEMENT_REGISTER_DEFINE_CUSTOM (socketiosink, socketiosink_element_init);

static void announce_drop (GstSocketIoSink * self);
static void add_header (GstSocketIoSink * self, GstBuffer * header);

static guint
ns_to_ms (guint64 ns)
{
  return (guint) MIN ((ns + GST_MSECOND - 1) / GST_MSECOND, G_MAXUINT);
}

/* Builds the Engine.IO endpoint from the location property: http(s) and
 * ws(s) are accepted, the path is the Engine.IO path (socket.io's "path"
 * option, /socket.io/ when none is given) and any query is kept. */
static gchar *
build_engineio_url (const gchar * location, GError ** error)
{
  GUri *uri;
  const gchar *scheme, *path, *query;
  const gchar *http_scheme;
  gchar *url, *authority;

  if (location == NULL || *location == '\0') {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_FAILED,
        _("no location is set"));
    return NULL;
  }

  /* GLib's parse errors quote the whole URL, query included: not ours to
   * print */
  uri = g_uri_parse (location, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_FAILED,
        _("it is not a valid absolute URL"));
    return NULL;
  }

  scheme = g_uri_get_scheme (uri);
  if (g_ascii_strcasecmp (scheme, "http") == 0 ||
      g_ascii_strcasecmp (scheme, "ws") == 0)
    http_scheme = "http";
  else if (g_ascii_strcasecmp (scheme, "https") == 0 ||
      g_ascii_strcasecmp (scheme, "wss") == 0)
    http_scheme = "https";
  else {
    g_set_error (error, G_URI_ERROR, G_URI_ERROR_BAD_SCHEME,
        _("scheme '%s' is not http, https, ws or wss"), scheme);
    g_uri_unref (uri);
    return NULL;
  }

  if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0') {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_BAD_HOST,
        _("the URL has no host"));
    g_uri_unref (uri);
    return NULL;
  }

  /* never sent (a Socket.IO server authenticates with auth or headers),
   * so refused rather than silently ignored */
  if (g_uri_get_userinfo (uri) != NULL) {
    g_set_error_literal (error, G_URI_ERROR, G_URI_ERROR_BAD_USER,
        _("a user name or password in the URL is not supported: pass "
            "credentials with the auth property"));
    g_uri_unref (uri);
    return NULL;
  }

  path = g_uri_get_path (uri);
  if (path == NULL || *path == '\0' || strcmp (path, "/") == 0)
    path = "/socket.io/";
  query = g_uri_get_query (uri);

  authority = g_uri_join (G_URI_FLAGS_ENCODED, NULL, NULL,
      g_uri_get_host (uri), g_uri_get_port (uri), "", NULL, NULL);
  url = g_strdup_printf ("%s:%s%s%s?%s%sEIO=4",
      http_scheme, authority, path, g_str_has_suffix (path, "/") ? "" : "/",
      query ? query : "", query ? "&" : "");
  g_free (authority);
  g_uri_unref (uri);
  return url;
}

/* The details of a connection error: "location" (the display form), then
 * "http-status-code" and "tls-errors" when the client knows them. Fields
 * present come first: gst_make_element_message_details() stops at the
 * first NULL name. */
typedef struct
{
  const gchar *location;
  const gchar *names[2];
  GType types[2];
  guint values[2];
} ErrorDetails;

#define ERROR_DETAILS(d) ("location", G_TYPE_STRING, (d).location, \
    (d).names[0], (d).types[0], (d).values[0], \
    (d).names[1], (d).types[1], (d).values[1], NULL)

static void
error_details_add (ErrorDetails * details, const gchar * name, GType type,
    guint value)
{
  guint i = details->names[0] ? 1 : 0;

  if (value == 0)
    return;
  details->names[i] = name;
  details->types[i] = type;
  details->values[i] = value;
}

/* Network thread, in state_changed(): @client's failure details are valid
 * during that call. Every message names what to fix. */
/* The Engine.IO path of @url, for messages (the query may hold secrets). */
static gchar *
engineio_path_of (const gchar * url)
{
  GUri *uri = g_uri_parse (url, G_URI_FLAGS_ENCODED, NULL);
  gchar *path;

  if (uri == NULL)
    return NULL;
  path = g_uri_unescape_string (g_uri_get_path (uri), NULL);
  g_uri_unref (uri);
  return path;
}

static void
post_connection_error (GstSocketIoSink * self, SioClient * client,
    const GError * error)
{
  const gchar *location = self->display_location;
  ErrorDetails details = { location, {NULL, NULL}, {0, 0}, {0, 0} };
  guint status = client ? sio_client_get_http_status (client) : 0;
  GTlsCertificateFlags tls = client ? sio_client_get_tls_errors (client) : 0;
  const gchar *host = NULL;
  gint port = -1;
  SioClientError code;
  GUri *uri;

  error_details_add (&details, "http-status-code", G_TYPE_UINT, status);
  error_details_add (&details, "tls-errors", G_TYPE_TLS_CERTIFICATE_FLAGS, tls);

  if (error->domain != SIO_CLIENT_ERROR) {
    GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, FAILED,
        (_("Socket.IO connection to %s failed."), location),
        ("%s", error->message), ERROR_DETAILS (details));
    return;
  }

  /* host and port only: the rest of the URL may hold secrets */
  uri = g_uri_parse (self->engineio_url, G_URI_FLAGS_ENCODED, NULL);
  if (uri) {
    host = g_uri_get_host (uri);
    port = g_uri_get_port (uri);
    if (port < 0)
      port = g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ?
          443 : 80;
  }

  code = (SioClientError) error->code;
  /* a 407 is the proxy's answer, whatever the transport made of it */
  if (code == SIO_CLIENT_ERROR_HTTP_STATUS &&
      status == SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED)
    code = SIO_CLIENT_ERROR_PROXY;

  switch (code) {
    case SIO_CLIENT_ERROR_CONNECT_FAILED:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
          (_("Could not connect to the Socket.IO server at %s (host %s, "
                  "port %d). Check that the server is running and that the "
                  "host and port in the location property are right."),
              location, GST_STR_NULL (host), port), ("%s", error->message),
          ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_TLS:
      if (tls & G_TLS_CERTIFICATE_UNKNOWN_CA)
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The certificate of the Socket.IO server at %s is not signed "
                    "by a trusted certificate authority. For a private CA or "
                    "a self-signed certificate, set ssl-ca-file to a PEM file "
                    "of that CA's certificate, or tls-database to a "
                    "GTlsDatabase that trusts it."), location),
            ("%s", error->message), ERROR_DETAILS (details));
      else if (tls & G_TLS_CERTIFICATE_BAD_IDENTITY)
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The certificate of the Socket.IO server at %s is not valid "
                    "for the host name %s. The host in the location property "
                    "must be one of the names in the server's certificate."),
                location, GST_STR_NULL (host)), ("%s", error->message),
            ERROR_DETAILS (details));
      else if (tls & (G_TLS_CERTIFICATE_EXPIRED |
              G_TLS_CERTIFICATE_NOT_ACTIVATED))
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The certificate of the Socket.IO server at %s has expired or "
                    "is not valid yet. Check the server's certificate and the "
                    "clock of this machine."), location),
            ("%s", error->message), ERROR_DETAILS (details));
      else
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The TLS connection to the Socket.IO server at %s failed. If "
                    "the server requires a client certificate, provide one "
                    "with tls-interaction; otherwise check the server's "
                    "certificate and the authorities trusted through "
                    "ssl-ca-file or tls-database (details in the debug "
                    "message)."), location), ("%s", error->message),
            ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_WEBSOCKET_REFUSED:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
          (_("The Socket.IO server at %s does not accept WebSocket "
                  "connections, and transports is websocket. Set "
                  "transports=auto or transports=polling, or enable WebSocket "
                  "on the server (python-socketio and Flask-SocketIO in "
                  "threading mode need the simple-websocket package)."),
              location), ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_HTTP_STATUS:
      if (status == SOUP_STATUS_NOT_FOUND)
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_FOUND,
            (_("The server at %s has no Socket.IO endpoint at the path %s "
                    "(HTTP 404). Socket.IO serves /socket.io/ by default; if "
                    "the server uses another path (its 'path' option), put "
                    "that path in the location property."), location,
                GST_STR_NULL (self->engineio_path)), ("%s", error->message),
            ERROR_DETAILS (details));
      else if (status == SOUP_STATUS_UNAUTHORIZED ||
          status == SOUP_STATUS_FORBIDDEN)
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
            (_("The server at %s refused the Socket.IO handshake with HTTP "
                    "%u (not authorized). Send the credentials it expects: "
                    "HTTP headers such as Authorization with extra-headers "
                    "(or cookies), or a Socket.IO auth object with auth."),
                location, status), ("%s", error->message),
            ERROR_DETAILS (details));
      else
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The server at %s answered the Socket.IO handshake with HTTP "
                    "status %u. Check the location property and the server's "
                    "log."), location, status), ("%s", error->message),
            ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_PROXY:
      if (status == SOUP_STATUS_PROXY_AUTHENTICATION_REQUIRED)
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
            (_("The proxy refused to connect to %s without valid credentials "
                    "(HTTP 407). Set proxy-id and proxy-pw to the user name "
                    "and password the proxy expects."), location),
            ("%s", error->message), ERROR_DETAILS (details));
      else
        GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
            (_("The proxy did not connect this client to the Socket.IO "
                    "server at %s. Check the proxy property (or, when it is "
                    "unset, the http_proxy, https_proxy and no_proxy "
                    "environment variables), proxy-id and proxy-pw."),
                location), ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_CONNECT_TIMEOUT:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
          (_("Could not connect to the Socket.IO server at %s within the "
                  "connect-timeout. Check the location property and that the "
                  "server is running."), location), ("%s", error->message),
          ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_REFUSED:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, NOT_AUTHORIZED,
          (_("The Socket.IO server at %s refused to let this client join "
                  "namespace \"%s\": %s. Check the namespace and auth "
                  "properties."), location, self->configured_nsp,
              error->message), (NULL), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_SERVER_DISCONNECT:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, WRITE,
          (_("The Socket.IO server at %s disconnected this client."),
              location), ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_CONNECTION_LOST:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, WRITE,
          (_("Lost the connection to the Socket.IO server at %s."),
              location), ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_OLD_PROTOCOL:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
          (_("The server at %s speaks the older Socket.IO v4 protocol "
                  "(socket.io 2.x or python-socketio 4.x); socketiosink needs "
                  "a Socket.IO v5 server (socket.io 3 or later, "
                  "python-socketio 5 or later)."), location),
          ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_PROTOCOL:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, STREAM, DECODE,
          (_("The server at %s does not speak Socket.IO v5 correctly."),
              location), ("%s", error->message), ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_REDIRECTED:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, OPEN_WRITE,
          (_("The server at %s answered with a redirect, which socketiosink "
                  "does not follow (%s). Set location to the server's real "
                  "address."), location, error->message), (NULL),
          ERROR_DETAILS (details));
      break;
    case SIO_CLIENT_ERROR_MESSAGE_TOO_BIG:
      GST_ELEMENT_ERROR_WITH_DETAILS (self, RESOURCE, READ,
          (_("The server at %s sent a message larger than "
                  "max-incoming-message-bytes (%u bytes). Raise "
                  "max-incoming-message-bytes if the server really sends "
                  "such messages."), location,
              self->max_incoming_message_bytes), ("%s", error->message),
          ERROR_DETAILS (details));
      break;
  }
  if (uri)
    g_uri_unref (uri);
}

/* network thread */
static void
on_state_changed (SioClient * client, SioClientState state, guint epoch,
    const GError * error, gpointer user_data)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (user_data);
  gboolean post_error = FALSE;
  GstStructure *s = NULL;
  gboolean reconnected = FALSE;
  guint64 reconnects, lost = 0;

  g_mutex_lock (&self->lock);
  /* only a final state carries a fatal error; RECONNECTING says why the
   * connection was lost, and the stream goes on */
  if (state == SIO_CLIENT_STATE_CLOSED && error && !self->error_posted) {
    post_error = TRUE;
    self->error_posted = TRUE;
  }
  g_mutex_unlock (&self->lock);

  /* posted before the streaming thread learns of it, so the application
   * sees this error first, not the upstream "internal data flow error" */
  if (post_error)
    post_connection_error (self, client, error);

  g_mutex_lock (&self->lock);
  if (state == SIO_CLIENT_STATE_CONNECTED) {
    reconnected = self->has_connected;
    if (reconnected)
      self->reconnects++;
    self->has_connected = TRUE;
    self->generation = epoch;
    /* nothing upstream replays what the old connection lost: say so */
    if (reconnected && !self->upstream_retains) {
      lost = self->lost - self->lost_announced;
      self->lost_announced = self->lost;
    }
  } else if (state == SIO_CLIENT_STATE_RECONNECTING) {
    self->disconnects++;
  }
  reconnects = self->reconnects;
  self->state = state;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);

  if (state == SIO_CLIENT_STATE_CONNECTED) {
    GST_INFO_OBJECT (self, "%s to %s, namespace %s",
        reconnected ? "reconnected" : "connected", self->display_location,
        self->configured_nsp);
    if (lost > 0)
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          (_("%llu events were lost with the connection to "
                  "%s and will not be sent again; put an ackqueue before "
                  "socketiosink to have them replayed."),
              (unsigned long long) lost, self->display_location), (NULL));
    s = gst_structure_new (reconnected ? "socketio-reconnected" :
        "socketio-connected",
        "location", G_TYPE_STRING, self->display_location,
        "namespace", G_TYPE_STRING, self->configured_nsp,
        "max-payload", G_TYPE_UINT64, sio_client_get_max_payload (client),
        "reconnects", G_TYPE_UINT64, reconnects,
        "lost", G_TYPE_UINT64, lost, NULL);
  } else if (state == SIO_CLIENT_STATE_CLOSED ||
      state == SIO_CLIENT_STATE_RECONNECTING) {
    gboolean again = state == SIO_CLIENT_STATE_RECONNECTING;

    if (again)
      GST_WARNING_OBJECT (self, "connection to %s lost, reconnecting: %s",
          self->display_location, error ? error->message : "");
    if (again && g_error_matches (error, SIO_CLIENT_ERROR,
            SIO_CLIENT_ERROR_MESSAGE_TOO_BIG))
      GST_ELEMENT_WARNING (self, RESOURCE, READ,
          (_("The server at %s sent a message larger than "
                  "max-incoming-message-bytes (%u bytes): reconnecting. Raise "
                  "max-incoming-message-bytes if the server really sends "
                  "such messages."), self->display_location,
              self->max_incoming_message_bytes), ("%s", error->message));
    s = gst_structure_new ("socketio-disconnected",
        "location", G_TYPE_STRING, self->display_location,
        "clean", G_TYPE_BOOLEAN, error == NULL,
        "reconnecting", G_TYPE_BOOLEAN, again,
        "reason", G_TYPE_STRING, error ? error->message : "closed", NULL);
  }
  if (s)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
}

/* The value of an unacked_parts entry: parts outstanding, and whether any
 * part failed (lost or timed out), which keeps the buffer from ever being
 * acked upstream: it is replayed after the next reconnection instead. */
#define PARTS_VALUE(parts, failed) GUINT_TO_POINTER (((parts) << 1) | !!(failed))
#define PARTS_COUNT(value) (GPOINTER_TO_UINT (value) >> 1)
#define PARTS_FAILED(value) (GPOINTER_TO_UINT (value) & 1)

/* With self->lock held: one more part of buffer @seq is outstanding. */
static void
hold_part_locked (GstSocketIoSink * self, guint64 seq)
{
  gpointer value = g_hash_table_lookup (self->unacked_parts, &seq);

  g_hash_table_insert (self->unacked_parts, g_memdup2 (&seq, sizeof (seq)),
      PARTS_VALUE (PARTS_COUNT (value) + 1, PARTS_FAILED (value)));
}

/* With self->lock held: one part of buffer @seq is done with: delivered
 * (@delivered), failed, or it left the batch into an emit that holds its
 * own part. Once no part is outstanding the entry goes, and a buffer that
 * was delivered whole goes to @safe, to be acked upstream. */
static void
release_part_locked (GstSocketIoSink * self, guint64 seq, gboolean delivered,
    GArray * safe)
{
  gpointer value = g_hash_table_lookup (self->unacked_parts, &seq);
  guint parts = PARTS_COUNT (value);
  gboolean failed = PARTS_FAILED (value) || !delivered;

  if (parts == 0)
    return;                     /* cleared by a replay or a flush */
  if (!delivered && (!self->have_failed_seq || seq < self->lowest_failed_seq)) {
    self->lowest_failed_seq = seq;
    self->have_failed_seq = TRUE;
  }
  if (parts > 1) {
    g_hash_table_insert (self->unacked_parts, g_memdup2 (&seq, sizeof (seq)),
        PARTS_VALUE (parts - 1, failed));
    return;
  }
  g_hash_table_remove (self->unacked_parts, &seq);
  if (!failed && safe)
    g_array_append_val (safe, seq);
}

/* Acks upstream, non-serialized: fine from any thread. A refused ack only
 * means upstream (an ackqueue) is flushing or gone: nothing is owed then. */
static void
push_acks (GstSocketIoSink * self, GArray * safe)
{
  guint i;

  for (i = 0; safe && i < safe->len; i++) {
    guint64 seq = g_array_index (safe, guint64, i);

    if (!gst_pad_push_event (GST_BASE_SINK_PAD (self),
            gst_sio_ack_event_new (seq)))
      GST_DEBUG_OBJECT (self, "upstream refused the ack of seq %"
          G_GUINT64_FORMAT, seq);
  }
}

/* Network thread (or the thread freeing the client): posts the outcome
 * of the application's emit @id: socketio-emit-ack with the ack's
 * arguments, or socketio-emit-failed with the reason. An emit without ack
 * that was written needs no message. */
static void
app_emit_done (GstSocketIoSink * self, guint64 id, SioEmitResult result,
    const gchar * ack_args)
{
  gchar *event = NULL;
  gpointer key = NULL;
  GstStructure *s = NULL;

  g_mutex_lock (&self->lock);
  g_hash_table_steal_extended (self->app_emits, &id, &key,
      (gpointer *) & event);
  g_mutex_unlock (&self->lock);
  g_free (key);
  if (event == NULL)
    return;

  GST_DEBUG_OBJECT (self, "emit %" G_GUINT64_FORMAT " (%s) done: %d", id,
      event, result);
  if (result == SIO_EMIT_ACKED)
    s = gst_structure_new ("socketio-emit-ack", "id", G_TYPE_UINT64, id,
        "event", G_TYPE_STRING, event,
        "args", G_TYPE_STRING, ack_args ? ack_args : "[]", NULL);
  else if (result != SIO_EMIT_WRITTEN)
    s = gst_structure_new ("socketio-emit-failed", "id", G_TYPE_UINT64, id,
        "event", G_TYPE_STRING, event, "reason", G_TYPE_STRING,
        result == SIO_EMIT_ACK_TIMEOUT ? "timeout" : "lost", NULL);
  if (s)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), s));
  g_free (event);
}

/* network thread */
static void
on_emit_done (SioClient * client, guint64 token, SioEmitResult result,
    gint64 rtt_us, gpointer user_data)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (user_data);
  GArray *safe = NULL;
  EmitRecord *record;
  gboolean delivered = result == SIO_EMIT_ACKED || result == SIO_EMIT_WRITTEN;
  gboolean warn_stall = FALSE;
  guint i, window = 0;

  if (token & APP_EMIT_TOKEN) {
    app_emit_done (self, token & ~APP_EMIT_TOKEN, result,
        sio_client_get_ack_args (client));
    return;
  }

  g_mutex_lock (&self->lock);
  switch (result) {
    case SIO_EMIT_ACKED:
      self->acked++;
      self->last_rtt_us = rtt_us;
      self->rtt_sum_us += rtt_us;
      self->rtt_count++;
      self->timeouts_in_a_row = 0;
      break;
    case SIO_EMIT_WRITTEN:
      self->written_without_ack++;
      break;
    case SIO_EMIT_ACK_TIMEOUT:
      self->ack_timeouts++;
      self->timeouts_in_a_row++;
      /* a slow ack now and then is only counted; a whole window without
       * one is a server that does not ack: said once */
      window = self->max_in_flight;
      if (!self->stall_announced && self->timeouts_in_a_row >= window) {
        warn_stall = TRUE;
        self->stall_announced = TRUE;
      }
      break;
    case SIO_EMIT_LOST:
      self->lost++;
      break;
  }
  record = emits_find_locked (self, token);
  if (record) {
    if (result == SIO_EMIT_ACKED && GST_CLOCK_TIME_IS_VALID (record->pts) &&
        (!GST_CLOCK_TIME_IS_VALID (self->acked_end_pts) ||
            record->pts + record->duration > self->acked_end_pts))
      self->acked_end_pts = record->pts + record->duration;
    if (!delivered) {
      self->unconfirmed++;
      self->unconfirmed_duration += record->duration;
    }
    if (record->seqs)
      safe = g_array_new (FALSE, FALSE, sizeof (guint64));
    for (i = 0; i < seqs_length (record->seqs); i++)
      release_part_locked (self, g_array_index (record->seqs, guint64, i),
          result == SIO_EMIT_ACKED, safe);
    emits_remove_locked (self, record);
  }
  if (safe) {
    self->acks_upstream += safe->len;
    g_mutex_unlock (&self->lock);
    /* before the window moves, so EOS (which waits for an empty window)
     * never finishes ahead of the acks upstream is owed */
    push_acks (self, safe);
    g_array_free (safe, TRUE);
    g_mutex_lock (&self->lock);
  }
  /* otherwise one critical section: the streaming thread takes this lock
   * for every event, and each extra turn here is a chance to contend */
  g_assert (self->in_flight > 0);
  self->in_flight--;
  /* a full window is refilled in bursts: the streaming thread sleeps
   * until half of it has drained, not once per ack */
  if (self->in_flight <= self->wake_threshold && self->cond_waiters > 0 &&
      !self->window_wake_sent) {
    /* the acks after this one, before the waiter runs, need no other */
    self->window_wake_sent = TRUE;
    g_cond_broadcast (&self->cond);
  }
  g_mutex_unlock (&self->lock);

  GST_LOG_OBJECT (self, "emit %" G_GUINT64_FORMAT " done: %d", token, result);
  if (warn_stall)
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("The Socket.IO server at %s acknowledged none of the last %u "
                "events (max-in-flight) within ack-timeout, so the stream "
                "stalls for ack-timeout at every full window. Make sure the "
                "server's handler for the event calls the ack callback, or "
                "set ack=false; stats counts the timeouts."),
            self->display_location, window), ("emit %" G_GUINT64_FORMAT,
            token));
}

/* A server event's bus message was freed (popped and released by the
 * application, or flushed): one place more for the next. */
static void
server_event_message_freed (gpointer user_data, GstMiniObject * message)
{
  GstSocketIoSink *self = user_data;

  g_mutex_lock (&self->lock);
  self->pending_server_events--;
  g_mutex_unlock (&self->lock);
}

/* network thread */
static void
on_server_event (SioClient * client, const gchar * name,
    const gchar * args_json, GPtrArray * attachments, gpointer user_data)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (user_data);
  GstStructure *s;
  GstMessage *message;
  gboolean post, warn = FALSE;
  guint64 dropped;

  /* handlers run here, synchronously, and are not bounded by us; a
   * flood of events must not pay for marshalling when nobody listens */
  if (g_signal_has_handler_pending (self, signals[SIGNAL_SERVER_EVENT], 0,
          FALSE))
    g_signal_emit (self, signals[SIGNAL_SERVER_EVENT], 0, name, args_json);

  /* the bus is unbounded: an application that does not pop it must not
   * make us grow, so at most max-pending-server-events messages are out
   * at once and the rest are dropped and counted */
  g_mutex_lock (&self->lock);
  self->server_events++;
  post = self->pending_server_events < self->max_pending_server_events;
  if (post) {
    self->pending_server_events++;
    self->server_events_dropping = FALSE;
  } else {
    self->server_events_dropped++;
    warn = !self->server_events_dropping;
    self->server_events_dropping = TRUE;
  }
  dropped = self->server_events_dropped;
  g_mutex_unlock (&self->lock);

  if (warn)
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        (_("The application does not take the socketio-event messages from "
                "the bus fast enough: %u are waiting, so further server events "
                "are dropped (stats counts them). Pop the bus, or raise "
                "max-pending-server-events."),
            self->max_pending_server_events),
        ("%" G_GUINT64_FORMAT " dropped so far", dropped));
  if (!post)
    return;

  s = gst_structure_new ("socketio-event",
      "namespace", G_TYPE_STRING, self->configured_nsp,
      "name", G_TYPE_STRING, name, "args", G_TYPE_STRING, args_json, NULL);
  if (attachments->len > 0) {
    GstBufferList *list = gst_buffer_list_new_sized (attachments->len);
    guint i;

    for (i = 0; i < attachments->len; i++)
      gst_buffer_list_add (list,
          gst_buffer_new_wrapped_bytes (g_ptr_array_index (attachments, i)));
    gst_structure_set (s, "attachments", GST_TYPE_BUFFER_LIST, list, NULL);
    gst_buffer_list_unref (list);
  }
  message = gst_message_new_element (GST_OBJECT (self), s);
  /* the message holds the element, so the element outlives the notify */
  gst_mini_object_weak_ref (GST_MINI_OBJECT (message),
      server_event_message_freed, self);
  gst_element_post_message (GST_ELEMENT (self), message);
}

static const SioClientCallbacks client_callbacks = {
  on_state_changed, on_emit_done, on_server_event
};

static void
start_client (GstSocketIoSink * self)
{
  SioClientConfig config = { 0 };
  SioClient *client;
  gchar *auth, *location, *trust;

  /* the client copies what it needs: the network thread never reads a
   * property the application may change meanwhile */
  GST_OBJECT_LOCK (self);
  auth = g_strdup (self->auth);
  config.url = self->engineio_url;
  config.display_url = self->display_location;
  config.nsp = self->configured_nsp;
  config.auth_json = auth;
  config.connect_timeout_ms = ns_to_ms (self->connect_timeout);
  config.ack_timeout_ms = ns_to_ms (self->ack_timeout);
  config.reconnect = self->reconnect;
  config.reconnect_delay_ms = ns_to_ms (self->reconnect_delay);
  config.reconnect_delay_max_ms = ns_to_ms (self->reconnect_delay_max);
  config.max_reconnect_attempts = self->max_reconnect_attempts;
  config.max_incoming_message = self->max_incoming_message_bytes;
  config.retry_first_connection = self->retry_first_connection;
  config.reconnect_on_server_disconnect = self->reconnect_on_server_disconnect;
  config.multiplex = self->multiplex;
  config.transports = to_sio_transports (self->transports);
  config.extra_headers = (const gchar * const *) self->configured_headers;
  config.user_agent = self->user_agent;
  config.cookies = (const gchar * const *) self->cookies;
  config.cookie_jar = self->cookie_jar;
  config.tls_database = self->configured_tls_database;
  /* what the database was made from: sinks that load the same CA file
   * share a connection although each has its own database */
  if (self->tls_database)
    trust = NULL;
  else if (self->ssl_ca_file && *self->ssl_ca_file)
    trust = g_strconcat ("ca-file:", self->ssl_ca_file, NULL);
  else
    trust = g_strdup (self->ssl_use_system_ca_file ? "system" : "nothing");
  config.trust = trust;
  config.tls_interaction = self->tls_interaction;
  config.tls_accept_invalid = !self->ssl_strict;
  config.proxy = self->configured_proxy;
  config.proxy_id = self->proxy_id;
  config.proxy_pw = self->proxy_pw;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  self->state = SIO_CLIENT_STATE_IDLE;
  self->has_connected = FALSE;
  self->generation = 0;
  self->render_generation = 0;
  self->error_posted = FALSE;
  g_mutex_unlock (&self->lock);

  GST_DEBUG_OBJECT (self, "connecting to %s", self->display_location);
  /* the client calls back from its thread as soon as it exists */
  client = sio_client_new (&config, &client_callbacks, self);
  g_free (trust);
  g_mutex_lock (&self->lock);
  self->client = client;
  /* auth set in PLAYING while the client was being made: it reached the
   * property but not the client (set_property holds self->lock too) */
  GST_OBJECT_LOCK (self);
  if (g_strcmp0 (auth, self->auth) != 0)
    sio_client_set_auth (client, self->auth);
  GST_OBJECT_UNLOCK (self);
  g_mutex_unlock (&self->lock);
  g_free (auth);
  self->closed_at_eos = FALSE;
  /* a socketiosrc naming the same location and namespace listens here */
  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);
  self->shared = gst_sio_shared_publish (location, self->configured_nsp,
      client);
  g_free (location);
}

static void
stop_client (GstSocketIoSink * self)
{
  SioClient *client;

  /* cleared under the lock first: stats never reads a client being freed */
  g_mutex_lock (&self->lock);
  client = self->client;
  self->client = NULL;
  g_mutex_unlock (&self->lock);
  if (client == NULL)
    return;
  gst_sio_shared_unpublish (self->shared);
  self->shared = NULL;
  sio_client_free (client);
  g_mutex_lock (&self->lock);
  self->in_flight = 0;
  g_mutex_unlock (&self->lock);
}

/* Names the server would take for its own (socket.io refuses to emit
 * them), and the sink's audio event, whose handler expects audio. */
static gboolean
is_reserved_event (GstSocketIoSink * self, const gchar * event)
{
  static const gchar *const reserved[] = { "connect", "connect_error",
    "disconnect", "disconnecting", "newListener", "removeListener", NULL
  };
  gboolean audio;

  if (g_strv_contains (reserved, event))
    return TRUE;
  GST_OBJECT_LOCK (self);
  audio = g_strcmp0 (event, self->event) == 0;
  GST_OBJECT_UNLOCK (self);
  return audio;
}

typedef enum
{
  APP_EMIT_ACCEPTED,
  APP_EMIT_NOT_STREAMING,
  APP_EMIT_QUEUE_FULL,
  APP_EMIT_TOO_LARGE,
} AppEmitRefusal;

/* With self->lock held: why an emit of @size bytes (the JSON text) and
 * @binary_size cannot go out now. The server drops a connection that
 * sends more than its maxPayload, which is read here, under the lock that
 * keeps the client alive, for the warning. */
static AppEmitRefusal
app_emit_refusal_locked (GstSocketIoSink * self, gsize size,
    gsize binary_size, guint64 * max_payload)
{
  if (self->client == NULL || self->state == SIO_CLIENT_STATE_CLOSING ||
      self->state == SIO_CLIENT_STATE_CLOSED)
    return APP_EMIT_NOT_STREAMING;
  if (g_hash_table_size (self->app_emits) >= MAX_APP_EMITS)
    return APP_EMIT_QUEUE_FULL;
  *max_payload = sio_client_get_max_payload (self->client);
  if (*max_payload > 0 && (size + strlen (self->configured_nsp) + 32 >
          *max_payload || binary_size > *max_payload))
    return APP_EMIT_TOO_LARGE;
  return APP_EMIT_ACCEPTED;
}

static void
warn_app_emit_refused (GstSocketIoSink * self, const gchar * event,
    AppEmitRefusal refusal, guint64 max_payload)
{
  if (refusal == APP_EMIT_NOT_STREAMING) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: event \"%s\" was not sent: socketiosink is not streaming "
                "(it must be PAUSED or PLAYING, before the end of the stream "
                "or a connection error)."), event), (NULL));
  } else if (refusal == APP_EMIT_QUEUE_FULL) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: event \"%s\" was not sent: %u events of the application "
                "are already waiting to be written or acknowledged, the most "
                "socketiosink keeps. Wait for their socketio-emit-ack or "
                "socketio-emit-failed messages."), event,
            (guint) MAX_APP_EMITS), (NULL));
  } else {
    gchar *max = g_strdup_printf ("%" G_GUINT64_FORMAT, max_payload);

    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: event \"%s\" was not sent: it is larger than the "
                "server's maxPayload (%s bytes), and the server would drop "
                "the connection."), event, max), (NULL));
    g_free (max);
  }
}

/* The emit action signal, from any thread (the network thread too, in a
 * server-event handler). The event goes on the connection that is up, or
 * when none is, on the next one, and is never sent twice: the client
 * reports LOST what a connection took down. 0 when refused, with a
 * warning saying why. */
static guint64
gst_socketio_sink_emit_event (GstSocketIoSink * self, const gchar * event,
    const gchar * args_json, GBytes * binary, gboolean want_ack)
{
  GError *error = NULL;
  AppEmitRefusal refusal;
  guint64 max_payload = 0;
  gchar *args;
  guint64 id;
  guint epoch;

  if (event == NULL || *event == '\0' || !g_utf8_validate (event, -1, NULL)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: the event name must be a non-empty UTF-8 string; nothing "
                "was sent.")), (NULL));
    return 0;
  }
  if (is_reserved_event (self, event)) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: \"%s\" was not sent: connect, connect_error, disconnect, "
                "disconnecting, newListener and removeListener are reserved "
                "by Socket.IO, and the event property's name carries the "
                "audio."), event), (NULL));
    return 0;
  }
  args = sio_event_build_args (event, args_json, binary != NULL, &error);
  if (args == NULL) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("emit: event \"%s\" was not sent: its args_json argument is %s. "
                "Pass a JSON array (one element per argument), one JSON value "
                "(one argument) or NULL (none)."), event, error->message),
        (NULL));
    g_error_free (error);
    return 0;
  }

  g_mutex_lock (&self->lock);
  refusal = app_emit_refusal_locked (self, strlen (args), binary ?
      g_bytes_get_size (binary) : 0, &max_payload);
  if (refusal != APP_EMIT_ACCEPTED) {
    g_mutex_unlock (&self->lock);
    g_free (args);
    warn_app_emit_refused (self, event, refusal, max_payload);
    return 0;
  }
  /* the connection the sink last saw up, or the next one */
  epoch = self->state == SIO_CLIENT_STATE_CONNECTED ? self->generation :
      self->generation + 1;
  id = ++self->last_app_emit_id;
  g_hash_table_insert (self->app_emits, g_memdup2 (&id, sizeof (id)),
      g_strdup (event));
  /* under the lock: stop_client() cannot free the client meanwhile */
  sio_client_emit_event (self->client, epoch, APP_EMIT_TOKEN | id, args,
      binary ? g_bytes_ref (binary) : NULL, want_ack);
  g_mutex_unlock (&self->lock);
  GST_DEBUG_OBJECT (self, "emit %" G_GUINT64_FORMAT ": event %s, %s ack",
      id, event, want_ack ? "with" : "without");
  return id;
}

/* Custom flow returns inside the element, never returned to upstream. */
#define FLOW_DROP GST_FLOW_CUSTOM_SUCCESS       /* policy: drop while away */
#define FLOW_REPLAYING GST_FLOW_CUSTOM_SUCCESS_1        /* data comes back */
#define FLOW_TIMEOUT GST_FLOW_CUSTOM_SUCCESS_2  /* a deadline passed */

/* Streaming thread, with self->lock held: waits once on self->cond, until
 * @deadline_us (monotonic; 0 for none). GstBaseSink's contract for a
 * render that blocks: when unlock() interrupts it, wait for preroll (a
 * PLAYING→PAUSED change) and then wait again; only a flush ends it
 * (FLUSHING). OK: look at the state again. FLOW_TIMEOUT: the deadline
 * passed. The preroll lock is held by our caller (render, or an event)
 * and released by gst_base_sink_wait_preroll(). */
static GstFlowReturn
wait_locked (GstSocketIoSink * self, gint64 deadline_us)
{
  if (self->unlocking) {
    GstFlowReturn ret;

    g_mutex_unlock (&self->lock);
    ret = gst_base_sink_wait_preroll (GST_BASE_SINK (self));
    g_mutex_lock (&self->lock);
    GST_DEBUG_OBJECT (self, "preroll wait done: %s", gst_flow_get_name (ret));
    return ret;
  }
  /* counted, so that an ack nobody waits for costs no futex call */
  self->cond_waiters++;
  self->window_wake_sent = FALSE;
  if (deadline_us == 0) {
    g_cond_wait (&self->cond, &self->lock);
    self->cond_waiters--;
    return GST_FLOW_OK;
  }
  if (!g_cond_wait_until (&self->cond, &self->lock, deadline_us)) {
    self->cond_waiters--;
    return FLOW_TIMEOUT;
  }
  self->cond_waiters--;
  return GST_FLOW_OK;
}

/* Streaming thread, with self->lock held: waits for the connection. OK when
 * connected; FLUSHING; ERROR once the connection failed for good (the
 * error is already posted); FLOW_DROP while reconnecting when
 * disconnected-policy is drop and nothing upstream retains the audio;
 * FLOW_TIMEOUT past @deadline_us (0: none). */
static GstFlowReturn
wait_connected_locked (GstSocketIoSink * self, gint64 deadline_us)
{
  while (self->state != SIO_CLIENT_STATE_CONNECTED &&
      self->state != SIO_CLIENT_STATE_CLOSED) {
    GstFlowReturn ret;

    if (self->has_connected && !self->upstream_retains &&
        self->disconnected_policy == GST_SOCKETIO_SINK_DISCONNECTED_DROP)
      return FLOW_DROP;
    ret = wait_locked (self, deadline_us);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  if (self->state != SIO_CLIENT_STATE_CONNECTED)
    return GST_FLOW_ERROR;
  return GST_FLOW_OK;
}

/* How long @bytes of the negotiated raw audio last. */
static GstClockTime
raw_duration (GstSocketIoSink * self, guint64 bytes)
{
  return gst_util_uint64_scale_int (bytes / GST_AUDIO_INFO_BPF (&self->info),
      GST_SECOND, GST_AUDIO_INFO_RATE (&self->info));
}

static void
clear_batch (GstSocketIoSink * self)
{
  gst_adapter_clear (self->batch);
  gst_queue_array_clear (self->batch_seqs);
  self->bypass_end_pts = GST_CLOCK_TIME_NONE;
}

/* Streaming thread, with self->lock held. After a reconnection, when an
 * ackqueue upstream retains the audio, finds the lowest buffer not yet
 * acknowledged (lost or timed out on the old connection, or still batched
 * here): everything from there on will be pushed again, so what is
 * batched is dropped and the caller drops what it holds. TRUE with
 * @from_seq set when a replay must be requested. Until render has seen the
 * new connection's epoch nothing is handed to it (sio_client_emit() drops
 * emits meant for an older one), so the replay is the first thing sent. */
static gboolean
need_replay_locked (GstSocketIoSink * self, guint64 * from_seq)
{
  GHashTableIter iter;
  gpointer key;
  guint i;
  gboolean first, found = self->have_failed_seq;
  guint64 lowest = self->have_failed_seq ? self->lowest_failed_seq :
      G_MAXUINT64;

  if (self->render_generation == self->generation)
    return FALSE;
  first = self->render_generation == 0;
  self->render_generation = self->generation;
  if (first || !self->upstream_retains || self->closed_at_eos)
    return FALSE;

  g_hash_table_iter_init (&iter, self->unacked_parts);
  while (g_hash_table_iter_next (&iter, &key, NULL)) {
    lowest = MIN (lowest, *(guint64 *) key);
    found = TRUE;
  }
  for (i = 0; i < gst_queue_array_get_length (self->batch_seqs); i++) {
    BatchSeq *entry = gst_queue_array_peek_nth_struct (self->batch_seqs, i);

    if (entry->has_seq) {
      lowest = MIN (lowest, entry->seq);
      found = TRUE;
    }
  }
  if (!found)
    return FALSE;

  g_hash_table_remove_all (self->unacked_parts);
  self->have_failed_seq = FALSE;
  clear_batch (self);
  self->replays++;
  *from_seq = lowest;
  return TRUE;
}

/* Streaming thread, without the lock. What was dropped for the replay
 * comes back only if upstream takes the request; if it does not, that
 * audio is lost, and said so. */
static void
request_replay (GstSocketIoSink * self, guint64 from_seq)
{
  guint64 unconfirmed;

  GST_INFO_OBJECT (self, "reconnected: asking upstream to replay from seq %"
      G_GUINT64_FORMAT, from_seq);
  if (gst_pad_push_event (GST_BASE_SINK_PAD (self),
          gst_sio_replay_event_new (from_seq))) {
    g_mutex_lock (&self->lock);
    self->unconfirmed = 0;
    self->unconfirmed_duration = 0;
    g_mutex_unlock (&self->lock);
    self->check_replay_gap = TRUE;
    return;
  }

  g_mutex_lock (&self->lock);
  self->upstream_retains = FALSE;
  unconfirmed = self->unconfirmed;
  g_mutex_unlock (&self->lock);
  GST_ELEMENT_WARNING (self, STREAM, FAILED,
      (_("Upstream did not accept the request to replay the audio not "
              "acknowledged before the reconnection (from seq %llu): %llu "
              "events are lost."), (unsigned long long) from_seq,
          (unsigned long long) unconfirmed), (NULL));
}

/* A buffer mapped for the client (GstMapInfo's user_data is the memory's
 * own, not ours). */
typedef struct
{
  GstMapInfo info;
  GstBuffer *buffer;
  GstSocketIoSink *sink;
} ClientMap;

/* Whichever thread wrote the emit (or dropped it), before the client is
 * freed: the map goes back to the sink's spares, for the next event. */
static void
unmap_and_unref (gpointer data)
{
  ClientMap *map = data;
  GstSocketIoSink *self = map->sink;

  gst_buffer_unmap (map->buffer, &map->info);
  gst_buffer_unref (map->buffer);
  if (gst_atomic_queue_length (self->spare_maps) < SPARE_MAPS_MAX)
    gst_atomic_queue_push (self->spare_maps, map);
  else
    g_free (map);
}

/* Maps @buffer for the client without a copy: the WebSocket copies each
 * frame as it masks it, so unmap_and_unref() releases the buffer as soon
 * as it is written. NULL (@buffer unreffed) if it cannot be read. */
static ClientMap *
map_for_client (GstSocketIoSink * self, GstBuffer * buffer)
{
  ClientMap *map = gst_atomic_queue_pop (self->spare_maps);

  if (map == NULL)
    map = g_new (ClientMap, 1);
  if (!gst_buffer_map (buffer, &map->info, GST_MAP_READ)) {
    g_free (map);
    gst_buffer_unref (buffer);
    return NULL;
  }
  map->buffer = buffer;
  map->sink = self;
  return map;
}

static void
prepare_event_args (GstSocketIoSink * self)
{
  GString *prefix = g_string_new ("[");
  GString *format = g_string_new (",\"format\":");

  GST_OBJECT_LOCK (self);
  sio_json_append_string (prefix, self->event);
  g_string_append_c (prefix, ',');
  g_string_append_c (prefix, '{');
  sio_json_append_string (prefix, self->payload_key);
  GST_OBJECT_UNLOCK (self);
  g_string_append (prefix, ":{\"_placeholder\":true,\"num\":0},\"seq\":");

  if (self->compressed) {
    g_string_assign (format, ",\"caps\":");
    sio_json_append_string (format, self->caps_text);
    g_string_append (format, ",\"stream_id\":");
  } else {
    sio_json_append_string (format,
        gst_audio_format_to_string (GST_AUDIO_INFO_FORMAT (&self->info)));
    g_string_append_printf (format, ",\"rate\":%d,\"channels\":%d,"
        "\"stream_id\":", GST_AUDIO_INFO_RATE (&self->info),
        GST_AUDIO_INFO_CHANNELS (&self->info));
  }
  GST_OBJECT_LOCK (self);
  sio_json_append_string (format, self->stream_id);
  GST_OBJECT_UNLOCK (self);
  g_string_append (format, "}]");

  g_free (self->args_prefix);
  g_free (self->args_format);
  self->args_prefix_length = prefix->len;
  self->args_format_length = format->len;
  self->args_prefix = g_string_free (prefix, FALSE);
  self->args_format = g_string_free (format, FALSE);
}

/* Streaming thread: the event's arguments, in self->args_scratch (valid
 * until the next call; the client copies them). @missing: the audio that
 * went missing just before this event (0: none), announced with
 * "discont". @packet_sizes: compressed audio's packets in the event
 * (guint), NULL for raw audio. @length: the text's length. */
static const gchar *
build_event_args (GstSocketIoSink * self, guint64 seq, GstClockTime pts,
    GstClockTime duration, gboolean replay, GstClockTime missing,
    const GArray * packet_sizes, gsize * length)
{
  static const gchar pts_key[] = ",\"pts\":", duration_key[] =
      ",\"duration\":", replay_member[] = ",\"replay\":true",
      discont_key[] = ",\"discont\":true,\"missing_duration\":",
      samples_key[] = ",\"missing_samples\":", sizes_key[] =
      ",\"packet_sizes\":[";
  guint packets = packet_sizes ? packet_sizes->len : 0, i;
  gsize most = self->args_prefix_length + 5 * SIO_UINT64_DIGITS +
      sizeof (pts_key) + sizeof (duration_key) + sizeof (replay_member) +
      sizeof (discont_key) + sizeof (samples_key) + sizeof (sizes_key) +
      packets * (SIO_UINT64_DIGITS + 1) + self->args_format_length + 1;
  gchar *args, *p;

  /* once per event: no allocation, no printf */
  if (most > self->args_scratch_size) {
    self->args_scratch = g_realloc (self->args_scratch, most);
    self->args_scratch_size = most;
  }
  args = p = self->args_scratch;
  memcpy (p, self->args_prefix, self->args_prefix_length);
  p += self->args_prefix_length;
  p += sio_format_uint64 (p, seq);
  memcpy (p, pts_key, sizeof (pts_key) - 1);
  p += sizeof (pts_key) - 1;
  if (GST_CLOCK_TIME_IS_VALID (pts)) {
    p += sio_format_uint64 (p, pts);
  } else {
    memcpy (p, "null", 4);
    p += 4;
  }
  memcpy (p, duration_key, sizeof (duration_key) - 1);
  p += sizeof (duration_key) - 1;
  p += sio_format_uint64 (p, duration);
  if (replay) {
    memcpy (p, replay_member, sizeof (replay_member) - 1);
    p += sizeof (replay_member) - 1;
  }
  if (missing > 0) {
    gint rate = self->compressed ? self->compressed_rate :
        GST_AUDIO_INFO_RATE (&self->info);

    memcpy (p, discont_key, sizeof (discont_key) - 1);
    p += sizeof (discont_key) - 1;
    p += sio_format_uint64 (p, missing);
    if (rate > 0) {
      memcpy (p, samples_key, sizeof (samples_key) - 1);
      p += sizeof (samples_key) - 1;
      p += sio_format_uint64 (p, gst_util_uint64_scale_round (missing, rate,
              GST_SECOND));
    }
  }
  if (packets == 0) {
    memcpy (p, self->args_format, self->args_format_length + 1);
    *length = p - args + self->args_format_length;
    return args;
  }
  /* the format's members, then the sizes, then its closing "}]" */
  memcpy (p, self->args_format, self->args_format_length - 2);
  p += self->args_format_length - 2;
  memcpy (p, sizes_key, sizeof (sizes_key) - 1);
  p += sizeof (sizes_key) - 1;
  for (i = 0; i < packets; i++) {
    if (i > 0)
      *p++ = ',';
    p += sio_format_uint64 (p, g_array_index (packet_sizes, guint, i));
  }
  memcpy (p, "]}]", 4);
  *length = p - args + 3;
  return args;
}

/* Takes from the bookkeeping queue the buffers behind the next @size
 * bytes of the batch: one entry per buffer part in @seqs, the buffers
 * whose last bytes these are in @finished (both NULL until they have
 * one), and the first buffer's seq and replay flag. */
static void
take_batch_seqs (GstSocketIoSink * self, gsize size, GArray ** seqs,
    GArray ** finished, gboolean * has_seq, guint64 * first_seq,
    gboolean * replay, GstClockTime * duration)
{
  gboolean first = TRUE;

  *seqs = *finished = NULL;
  *has_seq = FALSE;
  *replay = FALSE;
  while (size > 0 && gst_queue_array_get_length (self->batch_seqs) > 0) {
    BatchSeq *entry = gst_queue_array_peek_head_struct (self->batch_seqs);
    gsize take = MIN (entry->bytes, size);

    if (first)
      *duration = entry->duration;
    if (entry->has_seq) {
      seqs_append (seqs, entry->seq);
      if (first) {
        *has_seq = TRUE;
        *first_seq = entry->seq;
        *replay = entry->replay;
      }
    }
    first = FALSE;
    entry->bytes -= take;
    size -= take;
    if (entry->bytes == 0) {
      if (entry->has_seq)
        seqs_append (finished, entry->seq);
      gst_queue_array_pop_head_struct (self->batch_seqs);
    }
  }
}

/* With self->lock held: buffer @seq lost a part that was never sent. */
static void
mark_failed_locked (GstSocketIoSink * self, guint64 seq)
{
  gpointer value = g_hash_table_lookup (self->unacked_parts, &seq);

  if (!self->have_failed_seq || seq < self->lowest_failed_seq) {
    self->lowest_failed_seq = seq;
    self->have_failed_seq = TRUE;
  }
  if (PARTS_COUNT (value) > 0)
    g_hash_table_insert (self->unacked_parts, g_memdup2 (&seq, sizeof (seq)),
        PARTS_VALUE (PARTS_COUNT (value), TRUE));
}

/* Streaming thread: the codec's headers, once per connection (@epoch),
 * just before its first audio. An event of its own, outside the window:
 * a connection that loses it gets it again before its own first audio. */
static void
send_headers (GstSocketIoSink * self, guint epoch)
{
  GString *args;
  GBytes *bytes;
  guint i;

  self->headers_epoch = epoch;
  if (self->headers == NULL || self->headers->len == 0)
    return;
  args = g_string_new ("[\"" HEADER_EVENT "\",{\"headers\":"
      "{\"_placeholder\":true,\"num\":0},\"header_sizes\":[");
  for (i = 0; i < self->header_sizes->len; i++) {
    if (i > 0)
      g_string_append_c (args, ',');
    sio_append_uint64 (args, g_array_index (self->header_sizes, guint, i));
  }
  g_string_append (args, "],\"caps\":");
  sio_json_append_string (args, self->caps_text);
  g_string_append (args, ",\"stream_id\":");
  GST_OBJECT_LOCK (self);
  sio_json_append_string (args, self->stream_id);
  GST_OBJECT_UNLOCK (self);
  g_string_append (args, "}]");
  bytes = g_bytes_new (self->headers->data, self->headers->len);
  GST_DEBUG_OBJECT (self, "sending %u codec headers (%u bytes)",
      self->header_sizes->len, self->headers->len);
  /* id 0 is no application emit's: its end is reported to nobody */
  sio_client_emit_event (self->client, epoch, APP_EMIT_TOKEN | 0,
      g_string_free (args, FALSE), bytes, FALSE);
}

/* Hands one batch to the client once the in-flight window has room, or
 * gives up at @deadline_us (0: never). @packet_duration, @packet_sizes:
 * compressed audio's packets in the batch, their whole duration (NONE:
 * unknown) and each one's size. @seqs: the buffers (their seqs) the
 * batch carries parts of; @finished: those whose last bytes it carries.
 * Both taken, both may be NULL. */
static GstFlowReturn
emit_batch (GstSocketIoSink * self, GstBuffer * batch, GstClockTime pts,
    GstClockTime packet_duration, const GArray * packet_sizes, GArray * seqs,
    GArray * finished, gboolean has_seq, guint64 first_seq, gboolean replay,
    gint64 deadline_us)
{
  GstClockTime duration, missing = 0;
  GstFlowReturn ret;
  guint64 token, from_seq = 0, payload_seq, max_payload;
  gsize size = gst_buffer_get_size (batch), args_length;
  gboolean ack, more;
  ClientMap *map;
  GArray *safe = NULL;
  const gchar *args;
  guint i, epoch;

  if (self->compressed)
    duration = GST_CLOCK_TIME_IS_VALID (packet_duration) ? packet_duration : 0;
  else
    duration = raw_duration (self, size);

  GST_OBJECT_LOCK (self);
  ack = self->ack;
  GST_OBJECT_UNLOCK (self);

  g_mutex_lock (&self->lock);
  while (TRUE) {
    ret = wait_connected_locked (self, deadline_us);
    if (ret != GST_FLOW_OK)
      break;
    if (need_replay_locked (self, &from_seq)) {
      ret = FLOW_REPLAYING;
      break;
    }
    if (self->in_flight < self->max_in_flight)
      break;
    GST_LOG_OBJECT (self, "window full: %u emits in flight", self->in_flight);
    self->wake_threshold = self->max_in_flight / 2;
    ret = wait_locked (self, deadline_us);
    self->wake_threshold = 0;
    if (ret != GST_FLOW_OK)
      break;
    /* the producer is ahead of the server: what follows comes at once */
    self->refilling = TRUE;
  }
  if (ret == FLOW_DROP) {
    self->dropped_buffers++;
    self->dropped_bytes += size;
    /* the server will see a hole where this batch was */
    if (!replay)
      self->missing_duration += duration;
  } else if (ret == FLOW_TIMEOUT) {
    /* EOS ran out of time: this audio is never sent */
    self->unconfirmed++;
    self->unconfirmed_duration += duration;
  }
  if (ret != GST_FLOW_OK) {
    self->refilling = FALSE;
    /* a replay cleared the books; otherwise these buffers are not sent */
    for (i = 0; ret != FLOW_REPLAYING && i < seqs_length (seqs); i++)
      mark_failed_locked (self, g_array_index (seqs, guint64, i));
    for (i = 0; ret != FLOW_REPLAYING && i < seqs_length (finished); i++)
      release_part_locked (self, g_array_index (finished, guint64, i), FALSE,
          NULL);
    g_mutex_unlock (&self->lock);
    gst_buffer_unref (batch);
    seqs_free (seqs);
    seqs_free (finished);
    if (ret == FLOW_REPLAYING)
      request_replay (self, from_seq);
    return ret;
  }
  epoch = self->render_generation;
  if (self->missing_duration > 0) {
    missing = self->missing_duration;
    self->missing_duration = 0;
    self->gaps++;
    self->gaps_duration += missing;
  }
  token = self->next_seq++;
  self->in_flight++;
  /* the emits that refill the window follow one another: the client may
   * hold them back until the one that fills it, which goes out with them
   * in one write (sio_client_emit() says what else ends a hold) */
  more = self->refilling && !self->draining &&
      self->in_flight < self->max_in_flight;
  if (!more)
    self->refilling = FALSE;
  self->emitted++;
  self->audio_bytes += size;
  for (i = 0; i < seqs_length (seqs); i++)
    hold_part_locked (self, g_array_index (seqs, guint64, i));
  emits_add_locked (self, token, seqs, pts, duration);
  /* the parts above are counted first, so the batch's hold on a buffer
   * cannot be its last part */
  if (finished)
    safe = g_array_new (FALSE, FALSE, sizeof (guint64));
  for (i = 0; i < seqs_length (finished); i++)
    release_part_locked (self, g_array_index (finished, guint64, i), TRUE,
        safe);
  self->acks_upstream += seqs_length (safe);
  g_mutex_unlock (&self->lock);
  seqs_free (finished);
  push_acks (self, safe);
  seqs_free (safe);

  /* the payload's seq is the first buffer's when an ackqueue numbers
   * them, so a server can spot replayed duplicates */
  payload_seq = has_seq ? first_seq : token;
  args = build_event_args (self, payload_seq, pts, duration, replay, missing,
      packet_sizes, &args_length);

  /* the event's text frame (args, packet type, namespace, ack id) must fit
   * the server's maxPayload too, or the server drops the connection at
   * every attempt */
  max_payload = sio_client_get_max_payload (self->client);
  if (max_payload > 0 && args_length + strlen (self->configured_nsp) + 32 >
      max_payload) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("The Socket.IO server at %s accepts messages of at most %llu "
                "bytes (its maxPayload), too small for one event of %llu "
                "bytes of metadata. Raise the server's maxHttpBufferSize "
                "(max_http_buffer_size)."), self->display_location,
            (unsigned long long) max_payload,
            (unsigned long long) (args_length + 32)), (NULL));
    gst_buffer_unref (batch);
    on_emit_done (self->client, token, SIO_EMIT_LOST, -1, self);
    return GST_FLOW_ERROR;
  }

  map = map_for_client (self, batch);
  if (map == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ, (NULL),
        ("could not map a buffer for reading"));
    on_emit_done (self->client, token, SIO_EMIT_LOST, -1, self);
    return GST_FLOW_ERROR;
  }

  GST_LOG_OBJECT (self, "emit %" G_GUINT64_FORMAT ": %" G_GSIZE_FORMAT
      " bytes, seq %" G_GUINT64_FORMAT ", pts %" GST_TIME_FORMAT, token, size,
      payload_seq, GST_TIME_ARGS (pts));
  if (self->compressed && self->headers_epoch != epoch)
    send_headers (self, epoch);
  sio_client_emit (self->client, epoch, token, args, args_length,
      map->info.data, map->info.size, unmap_and_unref, map, ack, more);
  return GST_FLOW_OK;
}

/* The most bytes one attachment may carry: max-batch-bytes, the server's
 * maxPayload, and whole sample frames. */
static gsize
batch_limit (GstSocketIoSink * self)
{
  guint64 limit, max_payload;
  gint bpf = GST_AUDIO_INFO_BPF (&self->info);

  GST_OBJECT_LOCK (self);
  limit = self->max_batch_bytes;
  GST_OBJECT_UNLOCK (self);

  max_payload = sio_client_get_max_payload (self->client);
  if (max_payload > 0)
    limit = MIN (limit, max_payload);
  limit -= limit % bpf;
  return MAX (limit, (guint64) bpf);
}

/* After one emit_batch() of a loop over the batch: FALSE to go on with
 * the next one, TRUE to return @ret. */
static gboolean
batch_ends_loop (GstSocketIoSink * self, GstFlowReturn * ret)
{
  if (*ret == FLOW_REPLAYING) {
    /* a replay was requested: the batch was cleared, the data comes back */
    *ret = GST_FLOW_OK;
    return TRUE;
  }
  if (*ret == FLOW_DROP)
    announce_drop (self);
  /* FLOW_TIMEOUT: counted, EOS goes on without it */
  return *ret != GST_FLOW_OK && *ret != FLOW_DROP && *ret != FLOW_TIMEOUT;
}

/* Compressed audio: whole packets, as many to an event as make up
 * batch-duration (one when it is 0, or when a packet's duration is
 * unknown) within max-batch-bytes and the server's maxPayload; the rest
 * waits for more packets unless @drain. */
static GstFlowReturn
emit_packets (GstSocketIoSink * self, gboolean drain, gint64 deadline_us)
{
  guint64 batch_duration, limit;

  GST_OBJECT_LOCK (self);
  batch_duration = self->batch_duration;
  limit = self->max_batch_bytes;
  GST_OBJECT_UNLOCK (self);

  while (gst_queue_array_get_length (self->batch_seqs) > 0) {
    BatchSeq *entry = gst_queue_array_peek_head_struct (self->batch_seqs);
    guint queued = gst_queue_array_get_length (self->batch_seqs), n;
    gsize size = 0;
    GArray *seqs, *finished, *sizes;
    gboolean has_seq, replay, complete = FALSE;
    guint64 first_seq = 0, distance;
    GstClockTime pts = gst_adapter_prev_pts (self->batch, &distance);
    GstClockTime duration = 0, unused;
    GstFlowReturn ret;
    guint64 max_payload = sio_client_get_max_payload (self->client);

    if (max_payload > 0 && entry->bytes > max_payload) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("The Socket.IO server at %s accepts messages of at most %llu "
                  "bytes (its maxPayload), less than one encoded packet of "
                  "%llu bytes. Raise the server's maxHttpBufferSize "
                  "(max_http_buffer_size) or lower the encoder's frame "
                  "size or bitrate."), self->display_location,
              (unsigned long long) max_payload,
              (unsigned long long) entry->bytes), (NULL));
      clear_batch (self);
      return GST_FLOW_ERROR;
    }
    if (max_payload > 0)
      limit = MIN (limit, max_payload);

    sizes = g_array_sized_new (FALSE, FALSE, sizeof (guint), 4);
    for (n = 0; n < queued; n++) {
      gboolean timed;
      guint packet_size;

      entry = gst_queue_array_peek_nth_struct (self->batch_seqs, n);
      timed = batch_duration > 0 && GST_CLOCK_TIME_IS_VALID (entry->duration);
      /* the first packet goes whatever its size and duration */
      if (n > 0 && (!timed || size + entry->bytes > limit)) {
        complete = TRUE;
        break;
      }
      size += entry->bytes;
      packet_size = entry->bytes;
      g_array_append_val (sizes, packet_size);
      if (!timed) {
        duration = entry->duration;
        complete = TRUE;
        break;
      }
      duration += entry->duration;
      if (duration >= batch_duration) {
        complete = TRUE;
        break;
      }
    }
    if (!complete && !drain) {
      g_array_free (sizes, TRUE);
      break;
    }
    take_batch_seqs (self, size, &seqs, &finished, &has_seq, &first_seq,
        &replay, &unused);
    ret = emit_batch (self, gst_adapter_take_buffer (self->batch, size), pts,
        duration, sizes, seqs, finished, has_seq, first_seq, replay,
        deadline_us);
    g_array_free (sizes, TRUE);
    if (batch_ends_loop (self, &ret))
      return ret;
  }
  return GST_FLOW_OK;
}

/* Emits what the batch holds: whole batches, or everything when
 * @drain is set (EOS), waiting at most until @deadline_us (0: no limit). */
static GstFlowReturn
emit_ready_batches (GstSocketIoSink * self, gboolean drain, gint64 deadline_us)
{
  gsize limit;
  gint bpf = GST_AUDIO_INFO_BPF (&self->info);
  guint64 batch_duration;

  if (self->compressed)
    return emit_packets (self, drain, deadline_us);
  limit = batch_limit (self);

  GST_OBJECT_LOCK (self);
  batch_duration = self->batch_duration;
  GST_OBJECT_UNLOCK (self);

  while (TRUE) {
    gsize available = gst_adapter_available (self->batch);
    gsize size;
    guint64 distance;
    GstClockTime pts;
    GstFlowReturn ret;

    if (available == 0)
      break;
    if (!drain && available < limit && batch_duration > 0 &&
        raw_duration (self, available) < batch_duration)
      break;

    size = MIN (available, limit);
    if (size > (gsize) bpf)
      size -= size % bpf;

    pts = gst_adapter_prev_pts (self->batch, &distance);
    if (GST_CLOCK_TIME_IS_VALID (pts))
      pts += raw_duration (self, distance);

    {
      GArray *seqs, *finished;
      gboolean has_seq, replay;
      guint64 first_seq = 0;
      GstClockTime unused;

      take_batch_seqs (self, size, &seqs, &finished, &has_seq, &first_seq,
          &replay, &unused);
      ret = emit_batch (self, gst_adapter_take_buffer (self->batch, size),
          pts, GST_CLOCK_TIME_NONE, NULL, seqs, finished, has_seq, first_seq,
          replay, deadline_us);
    }
    if (batch_ends_loop (self, &ret))
      return ret;
  }
  return GST_FLOW_OK;
}

/* Audio dropped by disconnected-policy=drop: said once per outage. */
static void
announce_drop (GstSocketIoSink * self)
{
  if (self->drop_announced)
    return;
  self->drop_announced = TRUE;
  GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
      (_("Dropping audio while reconnecting to the Socket.IO server at %s "
              "(disconnected-policy=drop); stats counts it."),
          self->display_location), (NULL));
}

static void
ack_buffer_now (GstSocketIoSink * self, GstBuffer * buffer)
{
  GstSioSeqMeta *meta = gst_buffer_get_sio_seq_meta (buffer);

  if (meta && !gst_pad_push_event (GST_BASE_SINK_PAD (self),
          gst_sio_ack_event_new (meta->seq)))
    GST_DEBUG_OBJECT (self, "upstream refused the ack of seq %"
        G_GUINT64_FORMAT, meta->seq);
}

/* Streaming thread: where the audio the server acknowledged ends. */
static GstClockTime
get_acked_end_pts (GstSocketIoSink * self)
{
  GstClockTime acked_end;

  g_mutex_lock (&self->lock);
  acked_end = self->acked_end_pts;
  g_mutex_unlock (&self->lock);
  return acked_end;
}

/* Streaming thread: the audio from @from to @pts went missing. What is
 * batched goes first, so that the next event, the one that starts at
 * @pts, announces the gap. */
static GstFlowReturn
record_gap (GstSocketIoSink * self, GstClockTime from, GstClockTime pts,
    const gchar * why)
{
  GstFlowReturn ret = GST_FLOW_OK;

  GST_DEBUG_OBJECT (self, "%" GST_TIME_FORMAT " of audio missing before %"
      GST_TIME_FORMAT " (%s)", GST_TIME_ARGS (pts - from), GST_TIME_ARGS (pts),
      why);
  if (gst_adapter_available (self->batch) > 0)
    ret = emit_ready_batches (self, TRUE, 0);
  self->missing_duration += pts - from;
  return ret;
}

/* Streaming thread, for each fresh (not replayed) buffer: a pts past
 * where the audio sent so far ends means audio went missing upstream (a
 * leaky queue, leakyframepool, an ackqueue that overflowed, this sink's
 * disconnected-policy=drop). */
static GstFlowReturn
note_continuity (GstSocketIoSink * self, GstBuffer * buffer, gsize size)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstClockTime duration = GST_BUFFER_DURATION (buffer);
  GstClockTime threshold = GST_BUFFER_IS_DISCONT (buffer) ?
      DISCONT_GAP_THRESHOLD : GAP_THRESHOLD;
  GstClockTime sent_end = self->expected_pts;
  GstFlowReturn ret = GST_FLOW_OK;

  if (!GST_CLOCK_TIME_IS_VALID (pts))
    return GST_FLOW_OK;
  if (self->check_replay_gap) {
    GstClockTime acked_end = get_acked_end_pts (self);

    /* a replay was asked for and upstream had nothing left of it (a
     * fresh buffer comes first): what the server surely has ends where
     * the acknowledged audio does */
    self->check_replay_gap = FALSE;
    if (GST_CLOCK_TIME_IS_VALID (acked_end) &&
        GST_CLOCK_TIME_IS_VALID (sent_end) && acked_end < sent_end)
      sent_end = acked_end;
  }
  if (!GST_CLOCK_TIME_IS_VALID (duration))
    duration = self->compressed ? 0 : raw_duration (self, size);
  if (GST_CLOCK_TIME_IS_VALID (sent_end) && pts > sent_end + threshold)
    ret = record_gap (self, sent_end, pts, "a hole in the timestamps");
  if (!GST_CLOCK_TIME_IS_VALID (self->expected_pts) ||
      pts + duration > self->expected_pts)
    self->expected_pts = pts + duration;
  return ret;
}

/* Streaming thread, for each replayed buffer: the first one after a
 * replay request, flagged DISCONT, means the ackqueue dropped retained
 * audio while the connection was down (leaky=downstream); the server may
 * have none of it beyond what it acknowledged, so the gap is counted from
 * the end of the newest acknowledged audio. */
static GstFlowReturn
note_replay_continuity (GstSocketIoSink * self, GstBuffer * buffer)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer), acked_end;

  if (!self->check_replay_gap)
    return GST_FLOW_OK;
  self->check_replay_gap = FALSE;
  acked_end = get_acked_end_pts (self);
  if (GST_BUFFER_IS_DISCONT (buffer) && GST_CLOCK_TIME_IS_VALID (pts) &&
      GST_CLOCK_TIME_IS_VALID (acked_end) &&
      pts > acked_end + DISCONT_GAP_THRESHOLD)
    return record_gap (self, acked_end, pts, "dropped upstream before the "
        "replay");
  return GST_FLOW_OK;
}

/* Streaming thread: TRUE when raw @buffer, timed, would make one whole
 * batch of its own in an empty batch, the usual case (a source's buffer
 * per event): emit_ready_batches() would take exactly it. */
static gboolean
is_whole_batch (GstSocketIoSink * self, GstBuffer * buffer, gsize size)
{
  gint bpf = GST_AUDIO_INFO_BPF (&self->info);
  guint64 batch_duration;

  if (self->compressed || !GST_BUFFER_PTS_IS_VALID (buffer) ||
      size % bpf != 0 || gst_adapter_available (self->batch) > 0)
    return FALSE;
  if (size > batch_limit (self))
    return FALSE;
  GST_OBJECT_LOCK (self);
  batch_duration = self->batch_duration;
  GST_OBJECT_UNLOCK (self);
  return batch_duration == 0 || raw_duration (self, size) >= batch_duration;
}

/* Streaming thread: emits @buffer as it is, past the batch (no copy into
 * it and out). Its seq's one part is the emit's, so the buffer is not
 * held here first. */
static GstFlowReturn
emit_whole_buffer (GstSocketIoSink * self, GstBuffer * buffer,
    GstSioSeqMeta * meta, gsize size)
{
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GArray *seqs = NULL;
  GstFlowReturn ret;

  if (meta)
    seqs_append (&seqs, meta->seq);
  self->bypass_end_pts = pts + raw_duration (self, size);
  ret = emit_batch (self, gst_buffer_ref (buffer), pts, GST_CLOCK_TIME_NONE,
      NULL, seqs, NULL, meta != NULL, meta ? meta->seq : 0,
      meta ? meta->replay : FALSE, 0);
  if (!batch_ends_loop (self, &ret))
    ret = GST_FLOW_OK;
  return ret;
}

static GstFlowReturn
gst_socketio_sink_render (GstBaseSink * bsink, GstBuffer * buffer)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);
  GstSioSeqMeta *meta;
  BatchSeq entry = { 0 };
  GstFlowReturn ret;
  guint64 from_seq = 0;
  gboolean replay;
  gsize size = gst_buffer_get_size (buffer);

  if (!self->info_valid) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        (_("socketiosink received data before an audio format was "
                "negotiated.")), (NULL));
    return GST_FLOW_NOT_NEGOTIATED;
  }

  if (self->closed_at_eos) {
    /* data after EOS and a flush: connect again */
    stop_client (self);
    start_client (self);
  }

  g_mutex_lock (&self->lock);
  ret = wait_connected_locked (self, 0);
  if (ret == FLOW_DROP) {
    self->dropped_buffers++;
    self->dropped_bytes += size;
    g_mutex_unlock (&self->lock);
    announce_drop (self);
    return GST_FLOW_OK;
  }
  if (ret != GST_FLOW_OK) {
    g_mutex_unlock (&self->lock);
    return ret;
  }
  replay = need_replay_locked (self, &from_seq);
  g_mutex_unlock (&self->lock);
  self->drop_announced = FALSE;

  if (replay) {
    /* this buffer is newer than from_seq: it comes back with the replay */
    request_replay (self, from_seq);
    return GST_FLOW_OK;
  }

  if (size == 0) {
    /* nothing to send: an ackqueue must not keep it */
    ack_buffer_now (self, buffer);
    return GST_FLOW_OK;
  }

  if (self->compressed && GST_BUFFER_FLAG_IS_SET (buffer,
          GST_BUFFER_FLAG_HEADER)) {
    /* codec headers are not audio: they go in the audio_header event */
    if (!self->caps_headers)
      add_header (self, buffer);
    ack_buffer_now (self, buffer);
    return GST_FLOW_OK;
  }

  meta = gst_buffer_get_sio_seq_meta (buffer);
  if (meta == NULL || !meta->replay)
    ret = note_continuity (self, buffer, size);
  else
    ret = note_replay_continuity (self, buffer);
  if (ret != GST_FLOW_OK)
    return ret;
  if (is_whole_batch (self, buffer, size))
    return emit_whole_buffer (self, buffer, meta, size);
  if (GST_CLOCK_TIME_IS_VALID (self->bypass_end_pts) &&
      !GST_BUFFER_PTS_IS_VALID (buffer)) {
    /* the batch did not see the buffers before this one */
    buffer = gst_buffer_copy (buffer);
    GST_BUFFER_PTS (buffer) = self->bypass_end_pts;
  } else {
    gst_buffer_ref (buffer);
  }
  self->bypass_end_pts = GST_CLOCK_TIME_NONE;
  entry.bytes = size;
  entry.duration = GST_BUFFER_DURATION (buffer);
  if (meta) {
    entry.has_seq = TRUE;
    entry.seq = meta->seq;
    entry.replay = meta->replay;
    /* one part held while any of it waits in the batch: an early ack of
     * its first emit must not release a buffer not fully sent */
    g_mutex_lock (&self->lock);
    hold_part_locked (self, meta->seq);
    g_mutex_unlock (&self->lock);
  }
  gst_queue_array_push_tail_struct (self->batch_seqs, &entry);
  gst_adapter_push (self->batch, buffer);
  return emit_ready_batches (self, FALSE, 0);
}

/* With self->lock held: the audio in the emits still in flight. */
static GstClockTime
in_flight_duration_locked (GstSocketIoSink * self)
{
  GstClockTime total = 0;
  guint i;

  for (i = self->emits_head; i < self->emits->len; i++)
    if (g_array_index (self->emits, EmitRecord, i).live)
      total += g_array_index (self->emits, EmitRecord, i).duration;
  return total;
}

/* EOS: send the partial batch and wait for the acks, all within
 * ack-timeout, then leave cleanly. Whatever the server did not acknowledge
 * (lost with a connection, timed out, never sent) is counted and
 * announced: an ackqueue cannot replay after EOS. */
static void
finish_stream (GstSocketIoSink * self)
{
  guint64 ack_timeout, unconfirmed;
  GstClockTime unconfirmed_duration;
  gint64 deadline = 0, close_deadline;
  GstFlowReturn ret = GST_FLOW_OK;

  self->closed_at_eos = TRUE;
  if (self->client == NULL) {
    clear_batch (self);
    return;
  }

  GST_OBJECT_LOCK (self);
  ack_timeout = self->ack_timeout;
  GST_OBJECT_UNLOCK (self);
  if (ack_timeout > 0)
    deadline = g_get_monotonic_time () + ack_timeout / GST_USECOND;

  /* nothing follows: no emit is held back for more (sio_client_emit()) */
  self->draining = TRUE;
  if (emit_ready_batches (self, TRUE, deadline) != GST_FLOW_OK)
    clear_batch (self);
  self->draining = FALSE;
  sio_client_release_held (self->client);

  g_mutex_lock (&self->lock);
  while (self->in_flight > 0 && self->state == SIO_CLIENT_STATE_CONNECTED) {
    ret = wait_locked (self, deadline);
    if (ret != GST_FLOW_OK)
      break;
  }
  unconfirmed = self->unconfirmed + self->in_flight;
  unconfirmed_duration = self->unconfirmed_duration + in_flight_duration_locked
      (self);
  self->unconfirmed = 0;
  self->unconfirmed_duration = 0;
  g_mutex_unlock (&self->lock);
  if (ret == GST_FLOW_FLUSHING)
    return;

  if (unconfirmed > 0) {
    GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
        (_("%llu events were not acknowledged by the "
                "Socket.IO server at %s before the end of the stream."),
            (unsigned long long) unconfirmed, self->display_location),
        ("%" GST_TIME_FORMAT " of audio; stats has the counts",
            GST_TIME_ARGS (unconfirmed_duration)));
  }

  GST_DEBUG_OBJECT (self, "end of stream: leaving cleanly");
  sio_client_close (self->client);

  /* the goodbye gets what is left of ack-timeout, at most CLOSE_WAIT */
  close_deadline = g_get_monotonic_time () + CLOSE_WAIT / GST_USECOND;
  if (deadline > 0)
    close_deadline = MIN (close_deadline, deadline);
  g_mutex_lock (&self->lock);
  while (self->state != SIO_CLIENT_STATE_CLOSED &&
      g_get_monotonic_time () < close_deadline)
    if (wait_locked (self, close_deadline) != GST_FLOW_OK)
      break;
  g_mutex_unlock (&self->lock);
}

static gboolean
gst_socketio_sink_event (GstBaseSink * bsink, GstEvent * event)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      finish_stream (self);
      /* A flush (PAUSED->READY) ended the drain while it waited outside the
       * preroll lock: GstBaseSink checked for flushing before calling us and
       * would now wait for a preroll that nothing ends any more. */
      if (bsink->flushing) {
        GST_DEBUG_OBJECT (self, "flushing during the EOS drain: EOS dropped");
        gst_event_unref (event);
        return FALSE;
      }
      break;
    case GST_EVENT_FLUSH_STOP:
      /* upstream dropped what it retained: nothing to replay any more;
       * a seek moves the pts, which is no gap */
      clear_batch (self);
      self->expected_pts = GST_CLOCK_TIME_NONE;
      self->missing_duration = 0;
      self->check_replay_gap = FALSE;
      g_mutex_lock (&self->lock);
      self->acked_end_pts = GST_CLOCK_TIME_NONE;
      g_hash_table_remove_all (self->unacked_parts);
      self->have_failed_seq = FALSE;
      self->unconfirmed = 0;
      self->unconfirmed_duration = 0;
      g_mutex_unlock (&self->lock);
      break;
    default:
      break;
  }
  return GST_BASE_SINK_CLASS (parent_class)->event (bsink, event);
}

/* An ackqueue upstream asks whether this sink will acknowledge buffers:
 * yes when the server is asked for acks. */
static gboolean
gst_socketio_sink_query (GstBaseSink * bsink, GstQuery * query)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  if (gst_sio_ack_support_query_parse (query, NULL)) {
    gboolean ack;

    GST_OBJECT_LOCK (self);
    ack = self->ack;
    GST_OBJECT_UNLOCK (self);
    gst_sio_ack_support_query_set_supported (query, ack);
    g_mutex_lock (&self->lock);
    self->upstream_retains = ack;
    g_mutex_unlock (&self->lock);
    GST_DEBUG_OBJECT (self, "upstream retains buffers until acked: %s",
        ack ? "yes" : "no (ack=false)");
    return TRUE;
  }
  return GST_BASE_SINK_CLASS (parent_class)->query (bsink, query);
}

static void
clear_compressed (GstSocketIoSink * self)
{
  self->compressed = FALSE;
  self->compressed_rate = 0;
  g_clear_pointer (&self->caps_text, g_free);
  self->caps_headers = FALSE;
  if (self->headers)
    g_byte_array_set_size (self->headers, 0);
  if (self->header_sizes)
    g_array_set_size (self->header_sizes, 0);
  self->headers_epoch = 0;
}

static void
add_header (GstSocketIoSink * self, GstBuffer * header)
{
  GstMapInfo map;
  guint size;

  if (!gst_buffer_map (header, &map, GST_MAP_READ))
    return;
  if (self->headers == NULL) {
    self->headers = g_byte_array_new ();
    self->header_sizes = g_array_new (FALSE, FALSE, sizeof (guint));
  }
  g_byte_array_append (self->headers, map.data, map.size);
  size = map.size;
  g_array_append_val (self->header_sizes, size);
  gst_buffer_unmap (header, &map);
  /* a connection already streaming gets them with its next audio */
  self->headers_epoch = 0;
}

/* Compressed caps: what the events say they carry ("caps" without the
 * header blobs, which go in their own event) and the headers. */
static gboolean
set_compressed_caps (GstSocketIoSink * self, GstCaps * caps)
{
  GstCaps *shown = gst_caps_copy (caps);
  GstStructure *s = gst_caps_get_structure (shown, 0);
  const GValue *streamheader = gst_structure_get_value (s, "streamheader");
  const GValue *codec_data = gst_structure_get_value (s, "codec_data");

  /* what was batched belongs to the old caps */
  if (self->info_valid && gst_adapter_available (self->batch) > 0 &&
      emit_ready_batches (self, TRUE, 0) != GST_FLOW_OK)
    clear_batch (self);
  clear_compressed (self);
  self->compressed = TRUE;
  gst_structure_get_int (s, "rate", &self->compressed_rate);
  if (streamheader && GST_VALUE_HOLDS_ARRAY (streamheader)) {
    guint i;

    for (i = 0; i < gst_value_array_get_size (streamheader); i++) {
      const GValue *v = gst_value_array_get_value (streamheader, i);

      if (GST_VALUE_HOLDS_BUFFER (v))
        add_header (self, gst_value_get_buffer (v));
    }
  } else if (codec_data && GST_VALUE_HOLDS_BUFFER (codec_data)) {
    add_header (self, gst_value_get_buffer (codec_data));
  }
  self->caps_headers = self->headers && self->headers->len > 0;
  gst_structure_remove_fields (s, "streamheader", "codec_data", NULL);
  self->caps_text = gst_caps_to_string (shown);
  gst_caps_unref (shown);
  gst_audio_info_init (&self->info);
  self->info_valid = TRUE;
  prepare_event_args (self);
  GST_DEBUG_OBJECT (self, "sending %s packets, %u header buffers",
      self->caps_text, self->header_sizes ? self->header_sizes->len : 0);
  return TRUE;
}

static gboolean
gst_socketio_sink_set_caps (GstBaseSink * bsink, GstCaps * caps)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);
  GstAudioInfo info;

  if (!gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw"))
    return set_compressed_caps (self, caps);
  if (!gst_audio_info_from_caps (&info, caps)) {
    /* caps as text first: xgettext must see the msgid whole */
    gchar *text = gst_caps_to_string (caps);

    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        (_("socketiosink sends raw interleaved audio only, not %s."), text),
        (NULL));
    g_free (text);
    return FALSE;
  }

  /* what is batched so far belongs to the old format */
  if (self->info_valid && gst_adapter_available (self->batch) > 0 &&
      !gst_audio_info_is_equal (&info, &self->info)) {
    if (emit_ready_batches (self, TRUE, 0) != GST_FLOW_OK)
      clear_batch (self);
  }

  if (self->info_valid && self->compressed &&
      gst_adapter_available (self->batch) > 0 &&
      emit_ready_batches (self, TRUE, 0) != GST_FLOW_OK)
    clear_batch (self);
  clear_compressed (self);
  self->info = info;
  self->info_valid = TRUE;
  prepare_event_args (self);
  GST_DEBUG_OBJECT (self, "sending %s, %d Hz, %d channels",
      gst_audio_format_to_string (GST_AUDIO_INFO_FORMAT (&info)),
      GST_AUDIO_INFO_RATE (&info), GST_AUDIO_INFO_CHANNELS (&info));
  return TRUE;
}

static gboolean
gst_socketio_sink_start (GstBaseSink * bsink)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  g_mutex_lock (&self->lock);
  self->unlocking = FALSE;
  self->in_flight = 0;
  self->refilling = FALSE;
  self->next_seq = 0;
  self->have_failed_seq = FALSE;
  self->timeouts_in_a_row = 0;
  self->stall_announced = FALSE;
  self->unconfirmed = 0;
  self->unconfirmed_duration = 0;
  self->lost_announced = 0;
  self->server_events_dropped = 0;
  self->server_events_dropping = FALSE;
  self->emitted = self->acked = self->written_without_ack = 0;
  self->ack_timeouts = self->lost = self->audio_bytes = 0;
  self->dropped_buffers = self->dropped_bytes = 0;
  self->gaps = self->gaps_duration = 0;
  self->reconnects = self->disconnects = self->replays = 0;
  self->acks_upstream = 0;
  g_hash_table_remove_all (self->unacked_parts);
  emits_clear_locked (self);
  self->server_events = 0;
  self->last_rtt_us = self->rtt_sum_us = self->rtt_count = 0;
  g_mutex_unlock (&self->lock);

  gst_audio_info_init (&self->info);
  self->info_valid = FALSE;
  self->expected_pts = GST_CLOCK_TIME_NONE;
  self->missing_duration = 0;
  self->check_replay_gap = FALSE;
  g_mutex_lock (&self->lock);
  self->acked_end_pts = GST_CLOCK_TIME_NONE;
  g_mutex_unlock (&self->lock);
  /* seq starts again from 0 (or an ackqueue's next): (stream_id, seq) stays
   * unique only with a new id */
  GST_OBJECT_LOCK (self);
  g_free (self->stream_id);
  self->stream_id = self->stream_id_setting ?
      g_strdup (self->stream_id_setting) : g_uuid_string_random ();
  GST_OBJECT_UNLOCK (self);
  start_client (self);
  return TRUE;
}

static gboolean
gst_socketio_sink_stop (GstBaseSink * bsink)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  stop_client (self);
  clear_batch (self);
  g_mutex_lock (&self->lock);
  g_hash_table_remove_all (self->unacked_parts);
  emits_clear_locked (self);
  g_hash_table_remove_all (self->app_emits);
  self->upstream_retains = FALSE;
  g_mutex_unlock (&self->lock);
  self->info_valid = FALSE;
  clear_compressed (self);
  GST_OBJECT_LOCK (self);
  g_clear_pointer (&self->stream_id, g_free);
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_socketio_sink_unlock (GstBaseSink * bsink)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  g_mutex_lock (&self->lock);
  self->unlocking = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_socketio_sink_unlock_stop (GstBaseSink * bsink)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (bsink);

  g_mutex_lock (&self->lock);
  self->unlocking = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* RFC 9110 token characters: what a header or cookie name is made of. */
static gboolean
is_http_token (const gchar * text)
{
  const gchar *p;

  if (text == NULL || *text == '\0')
    return FALSE;
  for (p = text; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("!#$%&'*+-.^_`|~", *p) == NULL)
      return FALSE;
  return TRUE;
}

/* A header value must not end the header or the request. */
static gboolean
is_header_value (const gchar * text)
{
  return text != NULL && strpbrk (text, "\r\n") == NULL;
}

/* Headers the client writes itself for the handshake and the polling
 * requests: another value would break them. */
static gboolean
is_owned_header (const gchar * name)
{
  static const gchar *const owned[] = { "Host", "Connection", "Upgrade",
    "Content-Length", "Transfer-Encoding", NULL
  };
  guint i;

  for (i = 0; owned[i]; i++)
    if (g_ascii_strcasecmp (name, owned[i]) == 0)
      return TRUE;
  return g_ascii_strncasecmp (name, "Sec-WebSocket-",
      strlen ("Sec-WebSocket-")) == 0;
}

typedef enum
{
  HEADER_OK,
  HEADER_BAD_NAME,
  HEADER_OWNED,
  HEADER_NOT_TEXT,
  HEADER_LINE_BREAK,
} HeaderProblem;

typedef struct
{
  GPtrArray *headers;           /* name, value, ... */
  const gchar *bad_name;        /* the header that is wrong, or NULL */
  HeaderProblem problem;
} HeaderFlattening;

static gboolean
flatten_header_value (HeaderFlattening * flat, const gchar * name,
    const GValue * value)
{
  GValue text = G_VALUE_INIT;
  gchar *converted;

  /* souphttpsrc's conversion: a string as it is, anything else through
   * its GValue transformation to a string */
  g_value_init (&text, G_TYPE_STRING);
  if (!g_value_transform (value, &text) || g_value_get_string (&text) == NULL) {
    g_value_unset (&text);
    flat->problem = HEADER_NOT_TEXT;
    return FALSE;
  }
  converted = g_value_dup_string (&text);
  g_value_unset (&text);
  if (!is_header_value (converted)) {
    g_free (converted);
    flat->problem = HEADER_LINE_BREAK;
    return FALSE;
  }
  g_ptr_array_add (flat->headers, g_strdup (name));
  g_ptr_array_add (flat->headers, converted);
  return TRUE;
}

static gboolean
flatten_header (GQuark field, const GValue * value, gpointer user_data)
{
  HeaderFlattening *flat = user_data;
  const gchar *name = g_quark_to_string (field);
  guint i, n;

  flat->bad_name = name;
  if (!is_http_token (name)) {
    flat->problem = HEADER_BAD_NAME;
    return FALSE;
  }
  if (is_owned_header (name)) {
    flat->problem = HEADER_OWNED;
    return FALSE;
  }
  /* an array or a list is the same header repeated, once per value */
  if (GST_VALUE_HOLDS_ARRAY (value)) {
    n = gst_value_array_get_size (value);
    for (i = 0; i < n; i++)
      if (!flatten_header_value (flat, name,
              gst_value_array_get_value (value, i)))
        return FALSE;
  } else if (GST_VALUE_HOLDS_LIST (value)) {
    n = gst_value_list_get_size (value);
    for (i = 0; i < n; i++)
      if (!flatten_header_value (flat, name,
              gst_value_list_get_value (value, i)))
        return FALSE;
  } else if (!flatten_header_value (flat, name, value)) {
    return FALSE;
  }
  flat->bad_name = NULL;
  return TRUE;
}

/* Names the header, never its value. */
static void
post_header_problem (GstSocketIoSink * self, HeaderFlattening * flat)
{
  const gchar *name = flat->bad_name;

  switch (flat->problem) {
    case HEADER_BAD_NAME:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid extra-headers: \"%s\" is not a valid HTTP header "
                  "name."), name), (NULL));
      break;
    case HEADER_OWNED:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid extra-headers: socketiosink sets the %s header "
                  "itself; remove it from extra-headers."), name), (NULL));
      break;
    case HEADER_NOT_TEXT:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid extra-headers: the value of the %s header cannot be "
                  "converted to text."), name), (NULL));
      break;
    case HEADER_LINE_BREAK:
    default:
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid extra-headers: the value of the %s header contains a "
                  "line break."), name), (NULL));
      break;
  }
}

/* Checks a proxy URI and returns it with a scheme (souphttpsrc takes
 * host:port as an HTTP proxy), or NULL with @problem set. */
static gchar *
normalize_proxy (const gchar * proxy, const gchar ** problem)
{
  gchar *with_scheme;
  const gchar *scheme, *path;
  GUri *uri;

  with_scheme = strstr (proxy, "://") ? g_strdup (proxy) :
      g_strconcat ("http://", proxy, NULL);
  uri = g_uri_parse (with_scheme, G_URI_FLAGS_ENCODED, NULL);
  if (uri == NULL) {
    *problem = _("it is not a valid URI");
    goto refused;
  }
  scheme = g_uri_get_scheme (uri);
  path = g_uri_get_path (uri);
  if (g_ascii_strcasecmp (scheme, "http") != 0 &&
      g_ascii_strcasecmp (scheme, "https") != 0 &&
      g_ascii_strcasecmp (scheme, "socks5") != 0)
    *problem = _("the scheme is not http, https or socks5");
  else if (g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    *problem = _("it has no host");
  else if (g_uri_get_userinfo (uri) != NULL)
    *problem = _("credentials in the URI are not supported: use proxy-id "
        "and proxy-pw");
  else if ((path && *path && strcmp (path, "/") != 0) ||
      g_uri_get_query (uri) || g_uri_get_fragment (uri))
    *problem = _("a proxy URI has no path or query");
  else {
    g_uri_unref (uri);
    return with_scheme;
  }
  g_uri_unref (uri);
refused:
  g_free (with_scheme);
  return NULL;
}

/* The connection settings of issue 8 (TLS, headers, cookies, proxy),
 * resolved into what the client takes. Posts an error naming the property
 * and returns FALSE on a bad one; no message shows a header value, a
 * cookie, a proxy's credentials or its query. @announce: also warn about
 * settings that work but deserve it (once per NULL→READY). */
static gboolean
resolve_connection_settings (GstSocketIoSink * self, gboolean announce)
{
  gchar *ca_file, *proxy, *shown;
  gboolean use_system_ca, strict, retry_first, reconnect, pw_only;
  gboolean reconnect_on_disconnect;
  GTlsDatabase *database;
  GstStructure *extra_headers;
  HeaderFlattening flat = { NULL, NULL, HEADER_OK };
  gchar **headers = NULL, *normalized = NULL;
  const gchar *problem = NULL;
  GError *error = NULL;
  guint i, bad_cookie = 0;

  GST_OBJECT_LOCK (self);
  ca_file = g_strdup (self->ssl_ca_file);
  use_system_ca = self->ssl_use_system_ca_file;
  database = self->tls_database ? g_object_ref (self->tls_database) : NULL;
  strict = self->ssl_strict;
  extra_headers = self->extra_headers ?
      gst_structure_copy (self->extra_headers) : NULL;
  proxy = g_strdup (self->proxy);
  pw_only = self->proxy_pw && !self->proxy_id;
  retry_first = self->retry_first_connection;
  reconnect_on_disconnect = self->reconnect_on_server_disconnect;
  reconnect = self->reconnect;
  if (self->user_agent && !is_header_value (self->user_agent))
    problem = _("Invalid user-agent: it must not contain a line break.");
  for (i = 0; self->cookies && self->cookies[i] && !bad_cookie; i++) {
    const gchar *cookie = self->cookies[i];
    const gchar *equals = strchr (cookie, '=');
    gchar *name = equals ? g_strndup (cookie, equals - cookie) : NULL;

    if (!is_http_token (name) || strpbrk (equals, ";\r\n") != NULL)
      bad_cookie = i + 1;
    g_free (name);
  }
  GST_OBJECT_UNLOCK (self);

  if (problem) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", problem), (NULL));
    goto failed;
  }
  if (bad_cookie) {
    /* by position: a cookie's value may be a session secret */
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid cookies: entry %u (counting from 1) is not name=value "
                "with a name of HTTP token characters and a value without "
                "';' or line breaks."), bad_cookie), (NULL));
    goto failed;
  }

  if (extra_headers) {
    flat.headers = g_ptr_array_new_with_free_func (g_free);
    if (!gst_structure_foreach (extra_headers, flatten_header, &flat)) {
      post_header_problem (self, &flat);
      g_ptr_array_unref (flat.headers);
      goto failed;
    }
    g_ptr_array_add (flat.headers, NULL);
    headers = (gchar **) g_ptr_array_free (flat.headers, FALSE);
  }

  if (proxy && *proxy) {
    normalized = normalize_proxy (proxy, &problem);
    if (normalized == NULL) {
      /* with its scheme, or user:pw@host:port would parse as a scheme
       * and a path, shown whole */
      gchar *with_scheme = strstr (proxy, "://") ? g_strdup (proxy) :
          g_strconcat ("http://", proxy, NULL);

      shown = sio_url_for_display (with_scheme);
      g_free (with_scheme);
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Invalid proxy \"%s\": %s. Use a URI such as "
                  "http://proxy.example:3128 (http, https or socks5)."),
              shown, problem), (NULL));
      g_free (shown);
      goto failed;
    }
  }
  if (pw_only) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("proxy-pw is set but proxy-id is not: set the proxy's user name "
                "in proxy-id.")), (NULL));
    goto failed;
  }

  /* souphttpsrc's order: tls-database, else ssl-ca-file, else the
   * system's or, without it, nothing trusted */
  if (database) {
    GST_DEBUG_OBJECT (self, "tls-database set: ssl-ca-file and "
        "ssl-use-system-ca-file are not used");
  } else if (ca_file && *ca_file) {
    /* GTlsFileDatabase wants an absolute path */
    gchar *path = g_canonicalize_filename (ca_file, NULL);

    database = g_tls_file_database_new (path, &error);
    g_free (path);
    if (database == NULL) {
      /* GIO's message is a sentence of its own */
      gsize len = strlen (error->message);

      if (len > 0 && error->message[len - 1] == '.')
        error->message[len - 1] = '\0';
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          (_("Could not load ssl-ca-file \"%s\": %s. It must be a readable "
                  "PEM file of CA certificates."), ca_file, error->message),
          (NULL));
      g_clear_error (&error);
      goto failed;
    }
  } else if (!use_system_ca) {
    database = g_object_new (GST_TYPE_SIO_TRUST_NOTHING, NULL);
  }

  if (announce && !strict)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        (_("ssl-strict is false: any server certificate is accepted, so "
                "anyone between this machine and the server can read and "
                "change the stream. For a private or self-signed certificate "
                "set ssl-ca-file instead.")), (NULL));
  if (announce && retry_first && !reconnect)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        (_("retry-first-connection has no effect with reconnect=false.")),
        (NULL));
  if (announce && reconnect_on_disconnect && !reconnect)
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        (_("reconnect-on-server-disconnect has no effect with "
                "reconnect=false.")), (NULL));

  GST_OBJECT_LOCK (self);
  g_clear_object (&self->configured_tls_database);
  self->configured_tls_database = database;
  g_strfreev (self->configured_headers);
  self->configured_headers = headers;
  g_free (self->configured_proxy);
  self->configured_proxy = normalized;
  GST_OBJECT_UNLOCK (self);
  g_free (ca_file);
  g_free (proxy);
  if (extra_headers)
    gst_structure_free (extra_headers);
  return TRUE;

failed:
  g_clear_object (&database);
  g_strfreev (headers);
  g_free (normalized);
  g_free (ca_file);
  g_free (proxy);
  if (extra_headers)
    gst_structure_free (extra_headers);
  return FALSE;
}

/* The location as messages may show it. Without "://",
 * user:password@host parses as a scheme and a path and would be shown
 * whole: only what follows the '@' is. */
static gchar *
location_for_display (const gchar * location)
{
  const gchar *at = location ? strrchr (location, '@') : NULL;

  if (at && strstr (location, "://") == NULL)
    return sio_url_for_display (at + 1);
  return sio_url_for_display (location);
}

/* Checks what can be checked before connecting, so a bad setting fails
 * the NULL→READY change with a message that names it. No message shows
 * the location's query or the auth value: they may hold secrets. */
static gboolean
validate_settings (GstSocketIoSink * self, gboolean announce)
{
  GError *error = NULL;
  gchar *url, *shown;
  const gchar *problem = NULL;

  GST_OBJECT_LOCK (self);
  shown = location_for_display (self->location);
  g_free (self->display_location);
  self->display_location = shown;
  url = build_engineio_url (self->location, &error);
  if (url == NULL) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid location \"%s\": %s. Use a URL such as "
                "http://127.0.0.1:5000 (http, https, ws or wss)."), shown,
            error->message), (NULL));
    g_clear_error (&error);
    return FALSE;
  }
  g_free (self->engineio_url);
  self->engineio_url = url;
  g_free (self->engineio_path);
  self->engineio_path = engineio_path_of (url);

  if (!sio_namespace_is_valid (self->nsp)) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid namespace \"%s\": it must start with '/' and contain no "
                "','."), GST_STR_NULL (self->nsp)), (NULL));
    return FALSE;
  }
  g_free (self->configured_nsp);
  self->configured_nsp = g_strdup (self->nsp);

  if (self->auth && !sio_json_is_object (self->auth, &error)) {
    GST_OBJECT_UNLOCK (self);
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid auth: it must be a JSON object such as "
                "{\"token\":\"abc\"} (%s)."), error->message), (NULL));
    g_clear_error (&error);
    return FALSE;
  }
  if (self->event == NULL || *self->event == '\0' ||
      self->payload_key == NULL || *self->payload_key == '\0')
    problem = _("The event and payload-key properties must not be empty.");
  else if (!g_utf8_validate (self->event, -1, NULL) ||
      !g_utf8_validate (self->payload_key, -1, NULL))
    problem = _("The event and payload-key properties must be valid UTF-8.");
  else if (self->stream_id_setting &&
      (!g_utf8_validate (self->stream_id_setting, -1, NULL) ||
          strlen (self->stream_id_setting) > MAX_STREAM_ID_BYTES))
    problem = _("The stream-id property must be valid UTF-8 of at most 256 "
        "bytes.");
  GST_OBJECT_UNLOCK (self);

  if (problem) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", problem), (NULL));
    return FALSE;
  }
  return resolve_connection_settings (self, announce);
}

static GstStateChangeReturn
gst_socketio_sink_change_state (GstElement * element, GstStateChange transition)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (element);

  /* again before connecting: READY-mutable settings (a URI set by an
   * application in READY) apply to the next connection */
  if ((transition == GST_STATE_CHANGE_NULL_TO_READY ||
          transition == GST_STATE_CHANGE_READY_TO_PAUSED) &&
      !validate_settings (self, transition == GST_STATE_CHANGE_NULL_TO_READY))
    return GST_STATE_CHANGE_FAILURE;

  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static GstStructure *
get_stats (GstSocketIoSink * self)
{
  GstStructure *s, *base;
  guint64 bytes_sent = 0, rendered = 0, late = 0;
  gdouble average_rate = 0;
  const gchar *transport = NULL;

  /* this property shadows GstBaseSink's: keep what that one reports */
  base = gst_base_sink_get_stats (GST_BASE_SINK (self));
  gst_structure_get (base, "rendered", G_TYPE_UINT64, &rendered,
      "dropped", G_TYPE_UINT64, &late, "average-rate", G_TYPE_DOUBLE,
      &average_rate, NULL);
  gst_structure_free (base);

  g_mutex_lock (&self->lock);
  if (self->client) {
    bytes_sent = sio_client_get_bytes_written (self->client);
    transport = sio_client_get_transport_name (self->client);
  }
  s = gst_structure_new ("socketiosink-stats",
      "connected", G_TYPE_BOOLEAN, self->state == SIO_CLIENT_STATE_CONNECTED,
      "state", G_TYPE_STRING, sio_client_state_get_name (self->state),
      "transport", G_TYPE_STRING, transport ? transport : "none",
      "emitted", G_TYPE_UINT64, self->emitted,
      "acked", G_TYPE_UINT64, self->acked,
      "written-without-ack", G_TYPE_UINT64, self->written_without_ack,
      "in-flight", G_TYPE_UINT, self->in_flight,
      "ack-timeouts", G_TYPE_UINT64, self->ack_timeouts,
      "lost", G_TYPE_UINT64, self->lost,
      "dropped-buffers", G_TYPE_UINT64, self->dropped_buffers,
      "dropped-bytes", G_TYPE_UINT64, self->dropped_bytes,
      "gaps", G_TYPE_UINT64, self->gaps,
      "gaps-duration", G_TYPE_UINT64, self->gaps_duration,
      "disconnects", G_TYPE_UINT64, self->disconnects,
      "reconnects", G_TYPE_UINT64, self->reconnects,
      "replays", G_TYPE_UINT64, self->replays,
      "acks-upstream", G_TYPE_UINT64, self->acks_upstream,
      "upstream-retains", G_TYPE_BOOLEAN, self->upstream_retains,
      "audio-bytes", G_TYPE_UINT64, self->audio_bytes,
      "bytes-sent", G_TYPE_UINT64, bytes_sent,
      "server-events", G_TYPE_UINT64, self->server_events,
      "server-events-dropped", G_TYPE_UINT64, self->server_events_dropped,
      "unacknowledged", G_TYPE_UINT64, self->unconfirmed,
      "ack-rtt-last", G_TYPE_UINT64, self->last_rtt_us * GST_USECOND,
      "ack-rtt-mean", G_TYPE_UINT64, self->rtt_count ?
      self->rtt_sum_us * GST_USECOND / self->rtt_count : 0,
      "rendered", G_TYPE_UINT64, rendered,
      "late-dropped", G_TYPE_UINT64, late,
      "average-rate", G_TYPE_DOUBLE, average_rate, NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

static void
set_string (GstSocketIoSink * self, gchar ** field, const GValue * value)
{
  GST_OBJECT_LOCK (self);
  g_free (*field);
  *field = g_value_dup_string (value);
  GST_OBJECT_UNLOCK (self);
}

/* auth may change while PLAYING: the next (re)connection's CONNECT
 * carries it (a refreshed token). Once READY, a value that is not a JSON
 * object is refused at once with a warning, and the old one stays; in
 * NULL, NULL→READY checks it. */
static void
set_auth (GstSocketIoSink * self, const gchar * auth)
{
  GError *error = NULL;
  GstState state;

  /* an empty string means no auth, like an unset property */
  if (auth && *auth == '\0')
    auth = NULL;
  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state >= GST_STATE_READY && auth && !sio_json_is_object (auth, &error)) {
    GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
        (_("Invalid auth: it must be a JSON object such as "
                "{\"token\":\"abc\"} (%s). The previous auth is kept."),
            error->message), (NULL));
    g_clear_error (&error);
    return;
  }

  /* self->lock around both, so the client gets the values in the order
   * the property did (start_client() looks under it too) */
  g_mutex_lock (&self->lock);
  GST_OBJECT_LOCK (self);
  g_free (self->auth);
  self->auth = g_strdup (auth);
  GST_OBJECT_UNLOCK (self);
  if (self->client)
    sio_client_set_auth (self->client, auth);
  g_mutex_unlock (&self->lock);
}

static void
set_object (GstSocketIoSink * self, gpointer field, const GValue * value)
{
  GST_OBJECT_LOCK (self);
  g_clear_object ((GObject **) field);
  *(GObject **) field = g_value_dup_object (value);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_socketio_sink_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (object);
  GstState state;

  /* what the connection was made with stays until it is closed */
  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state > GST_STATE_READY && !(pspec->flags & GST_PARAM_MUTABLE_PLAYING)) {
    g_warning ("socketiosink: the '%s' property can only be changed in the "
        "NULL or READY state", pspec->name);
    return;
  }

  switch (prop_id) {
    case PROP_LOCATION:
      set_string (self, &self->location, value);
      break;
    case PROP_NAMESPACE:
      set_string (self, &self->nsp, value);
      break;
    case PROP_AUTH:
      set_auth (self, g_value_get_string (value));
      break;
    case PROP_EVENT:
      set_string (self, &self->event, value);
      break;
    case PROP_PAYLOAD_KEY:
      set_string (self, &self->payload_key, value);
      break;
    case PROP_BATCH_DURATION:
      GST_OBJECT_LOCK (self);
      self->batch_duration = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_BATCH_BYTES:
      GST_OBJECT_LOCK (self);
      self->max_batch_bytes = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_ACK:
      GST_OBJECT_LOCK (self);
      self->ack = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_IN_FLIGHT:
      /* read by the streaming thread under the window lock */
      g_mutex_lock (&self->lock);
      self->max_in_flight = g_value_get_uint (value);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_ACK_TIMEOUT:
      GST_OBJECT_LOCK (self);
      self->ack_timeout = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CONNECT_TIMEOUT:
      GST_OBJECT_LOCK (self);
      self->connect_timeout = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT:
      GST_OBJECT_LOCK (self);
      self->reconnect = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT_DELAY:
      GST_OBJECT_LOCK (self);
      self->reconnect_delay = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      GST_OBJECT_LOCK (self);
      self->reconnect_delay_max = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      GST_OBJECT_LOCK (self);
      self->max_reconnect_attempts = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_DISCONNECTED_POLICY:
      /* read by the streaming thread under the window lock */
      g_mutex_lock (&self->lock);
      self->disconnected_policy = g_value_get_enum (value);
      g_cond_broadcast (&self->cond);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_MAX_INCOMING_MESSAGE_BYTES:
      GST_OBJECT_LOCK (self);
      self->max_incoming_message_bytes = g_value_get_uint (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MAX_PENDING_SERVER_EVENTS:
      g_mutex_lock (&self->lock);
      self->max_pending_server_events = g_value_get_uint (value);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_TRANSPORTS:
      GST_OBJECT_LOCK (self);
      self->transports = g_value_get_enum (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SSL_CA_FILE:
      set_string (self, &self->ssl_ca_file, value);
      break;
    case PROP_SSL_USE_SYSTEM_CA_FILE:
      GST_OBJECT_LOCK (self);
      self->ssl_use_system_ca_file = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_TLS_DATABASE:
      set_object (self, &self->tls_database, value);
      break;
    case PROP_TLS_INTERACTION:
      set_object (self, &self->tls_interaction, value);
      break;
    case PROP_SSL_STRICT:
      GST_OBJECT_LOCK (self);
      self->ssl_strict = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_EXTRA_HEADERS:{
      const GstStructure *headers = gst_value_get_structure (value);

      GST_OBJECT_LOCK (self);
      if (self->extra_headers)
        gst_structure_free (self->extra_headers);
      self->extra_headers = headers ? gst_structure_copy (headers) : NULL;
      GST_OBJECT_UNLOCK (self);
      break;
    }
    case PROP_USER_AGENT:{
      const gchar *agent = g_value_get_string (value);

      /* unset or empty: the default again */
      GST_OBJECT_LOCK (self);
      g_free (self->user_agent);
      self->user_agent = g_strdup (agent && *agent ? agent :
          DEFAULT_USER_AGENT);
      GST_OBJECT_UNLOCK (self);
      break;
    }
    case PROP_COOKIES:
      GST_OBJECT_LOCK (self);
      g_strfreev (self->cookies);
      self->cookies = g_value_dup_boxed (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PROXY:
      set_string (self, &self->proxy, value);
      break;
    case PROP_PROXY_ID:
      set_string (self, &self->proxy_id, value);
      break;
    case PROP_PROXY_PW:
      set_string (self, &self->proxy_pw, value);
      break;
    case PROP_RETRY_FIRST_CONNECTION:
      GST_OBJECT_LOCK (self);
      self->retry_first_connection = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_RECONNECT_ON_SERVER_DISCONNECT:
      GST_OBJECT_LOCK (self);
      self->reconnect_on_server_disconnect = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_MULTIPLEX:
      GST_OBJECT_LOCK (self);
      self->multiplex = g_value_get_boolean (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STREAM_ID:
      GST_OBJECT_LOCK (self);
      g_free (self->stream_id_setting);
      /* empty, like unset: a random id */
      self->stream_id_setting = g_value_get_string (value) &&
          *g_value_get_string (value) ? g_value_dup_string (value) : NULL;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_socketio_sink_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (object);

  switch (prop_id) {
    case PROP_STATS:
      g_value_take_boxed (value, get_stats (self));
      return;
    case PROP_MAX_IN_FLIGHT:
      g_mutex_lock (&self->lock);
      g_value_set_uint (value, self->max_in_flight);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_DISCONNECTED_POLICY:
      g_mutex_lock (&self->lock);
      g_value_set_enum (value, self->disconnected_policy);
      g_mutex_unlock (&self->lock);
      return;
    case PROP_MAX_PENDING_SERVER_EVENTS:
      g_mutex_lock (&self->lock);
      g_value_set_uint (value, self->max_pending_server_events);
      g_mutex_unlock (&self->lock);
      return;
    default:
      break;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_NAMESPACE:
      g_value_set_string (value, self->nsp);
      break;
    case PROP_AUTH:
      g_value_set_string (value, self->auth);
      break;
    case PROP_EVENT:
      g_value_set_string (value, self->event);
      break;
    case PROP_PAYLOAD_KEY:
      g_value_set_string (value, self->payload_key);
      break;
    case PROP_BATCH_DURATION:
      g_value_set_uint64 (value, self->batch_duration);
      break;
    case PROP_MAX_BATCH_BYTES:
      g_value_set_uint (value, self->max_batch_bytes);
      break;
    case PROP_ACK:
      g_value_set_boolean (value, self->ack);
      break;
    case PROP_ACK_TIMEOUT:
      g_value_set_uint64 (value, self->ack_timeout);
      break;
    case PROP_CONNECT_TIMEOUT:
      g_value_set_uint64 (value, self->connect_timeout);
      break;
    case PROP_RECONNECT:
      g_value_set_boolean (value, self->reconnect);
      break;
    case PROP_RECONNECT_DELAY:
      g_value_set_uint64 (value, self->reconnect_delay);
      break;
    case PROP_RECONNECT_DELAY_MAX:
      g_value_set_uint64 (value, self->reconnect_delay_max);
      break;
    case PROP_MAX_RECONNECT_ATTEMPTS:
      g_value_set_uint (value, self->max_reconnect_attempts);
      break;
    case PROP_MAX_INCOMING_MESSAGE_BYTES:
      g_value_set_uint (value, self->max_incoming_message_bytes);
      break;
    case PROP_TRANSPORTS:
      g_value_set_enum (value, self->transports);
      break;
    case PROP_SSL_CA_FILE:
      g_value_set_string (value, self->ssl_ca_file);
      break;
    case PROP_SSL_USE_SYSTEM_CA_FILE:
      g_value_set_boolean (value, self->ssl_use_system_ca_file);
      break;
    case PROP_TLS_DATABASE:
      g_value_set_object (value, self->tls_database);
      break;
    case PROP_TLS_INTERACTION:
      g_value_set_object (value, self->tls_interaction);
      break;
    case PROP_SSL_STRICT:
      g_value_set_boolean (value, self->ssl_strict);
      break;
    case PROP_EXTRA_HEADERS:
      gst_value_set_structure (value, self->extra_headers);
      break;
    case PROP_USER_AGENT:
      g_value_set_string (value, self->user_agent);
      break;
    case PROP_COOKIES:
      g_value_set_boxed (value, self->cookies);
      break;
    case PROP_PROXY:
      g_value_set_string (value, self->proxy);
      break;
    case PROP_PROXY_ID:
      g_value_set_string (value, self->proxy_id);
      break;
    case PROP_RETRY_FIRST_CONNECTION:
      g_value_set_boolean (value, self->retry_first_connection);
      break;
    case PROP_RECONNECT_ON_SERVER_DISCONNECT:
      g_value_set_boolean (value, self->reconnect_on_server_disconnect);
      break;
    case PROP_MULTIPLEX:
      g_value_set_boolean (value, self->multiplex);
      break;
    case PROP_STREAM_ID:
      /* while streaming: the id the events carry */
      g_value_set_string (value, self->stream_id ? self->stream_id :
          self->stream_id_setting);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_socketio_sink_finalize (GObject * object)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (object);
  gpointer map;

  g_free (self->location);
  g_free (self->caps_text);
  g_free (self->args_scratch);
  if (self->headers)
    g_byte_array_unref (self->headers);
  if (self->header_sizes)
    g_array_unref (self->header_sizes);
  g_free (self->stream_id_setting);
  g_free (self->stream_id);
  g_free (self->nsp);
  g_free (self->auth);
  g_free (self->event);
  g_free (self->payload_key);
  g_free (self->args_prefix);
  g_free (self->args_format);
  g_free (self->engineio_url);
  g_free (self->configured_nsp);
  g_free (self->display_location);
  g_free (self->engineio_path);
  g_free (self->ssl_ca_file);
  g_clear_object (&self->tls_database);
  g_clear_object (&self->tls_interaction);
  if (self->extra_headers)
    gst_structure_free (self->extra_headers);
  g_free (self->user_agent);
  g_strfreev (self->cookies);
  g_free (self->proxy);
  g_free (self->proxy_id);
  g_free (self->proxy_pw);
  g_clear_object (&self->configured_tls_database);
  g_strfreev (self->configured_headers);
  g_free (self->configured_proxy);
  g_object_unref (self->cookie_jar);
  g_object_unref (self->batch);
  gst_queue_array_free (self->batch_seqs);
  while ((map = gst_atomic_queue_pop (self->spare_maps)) != NULL)
    g_free (map);
  gst_atomic_queue_unref (self->spare_maps);
  g_hash_table_unref (self->unacked_parts);
  emits_clear_locked (self);
  g_array_free (self->emits, TRUE);
  g_hash_table_unref (self->app_emits);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_socketio_sink_init (GstSocketIoSink * self)
{
  self->location = g_strdup (DEFAULT_LOCATION);
  self->nsp = g_strdup (DEFAULT_NAMESPACE);
  self->auth = g_strdup (DEFAULT_AUTH);
  self->event = g_strdup (DEFAULT_EVENT);
  self->payload_key = g_strdup (DEFAULT_PAYLOAD_KEY);
  self->batch_duration = DEFAULT_BATCH_DURATION;
  self->max_batch_bytes = DEFAULT_MAX_BATCH_BYTES;
  self->ack = DEFAULT_ACK;
  self->max_in_flight = DEFAULT_MAX_IN_FLIGHT;
  self->ack_timeout = DEFAULT_ACK_TIMEOUT;
  self->connect_timeout = DEFAULT_CONNECT_TIMEOUT;
  self->reconnect = DEFAULT_RECONNECT;
  self->reconnect_delay = DEFAULT_RECONNECT_DELAY;
  self->reconnect_delay_max = DEFAULT_RECONNECT_DELAY_MAX;
  self->max_reconnect_attempts = DEFAULT_MAX_RECONNECT_ATTEMPTS;
  self->disconnected_policy = DEFAULT_DISCONNECTED_POLICY;
  self->max_incoming_message_bytes = DEFAULT_MAX_INCOMING_MESSAGE_BYTES;
  self->max_pending_server_events = DEFAULT_MAX_PENDING_SERVER_EVENTS;
  self->transports = DEFAULT_TRANSPORTS;
  self->ssl_ca_file = g_strdup (DEFAULT_SSL_CA_FILE);
  self->ssl_use_system_ca_file = DEFAULT_SSL_USE_SYSTEM_CA_FILE;
  self->ssl_strict = DEFAULT_SSL_STRICT;
  self->user_agent = g_strdup (DEFAULT_USER_AGENT);
  self->proxy = g_strdup (DEFAULT_PROXY);
  self->retry_first_connection = DEFAULT_RETRY_FIRST_CONNECTION;
  self->reconnect_on_server_disconnect = DEFAULT_RECONNECT_ON_SERVER_DISCONNECT;
  self->multiplex = DEFAULT_MULTIPLEX;
  self->cookie_jar = soup_cookie_jar_new ();
  self->display_location = sio_url_for_display (NULL);
  self->batch = gst_adapter_new ();
  /* it grows to what a saturated window needs; a live stream needs 1 */
  self->spare_maps = gst_atomic_queue_new (4);
  self->bypass_end_pts = GST_CLOCK_TIME_NONE;
  self->batch_seqs = gst_queue_array_new_for_struct (sizeof (BatchSeq), 8);
  self->unacked_parts = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, NULL);
  self->emits = g_array_new (FALSE, FALSE, sizeof (EmitRecord));
  self->app_emits = g_hash_table_new_full (g_int64_hash, g_int64_equal,
      g_free, g_free);
  self->state = SIO_CLIENT_STATE_IDLE;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);

  /* render only queues the event for the network thread: a processing
   * deadline would delay every live buffer by as much (20 ms) for nothing */
  gst_base_sink_set_processing_deadline (GST_BASE_SINK (self), 0);
}

/* GstURIHandler: socketio+<location>. */
static GstURIType
gst_socketio_sink_uri_get_type (GType type)
{
  return GST_URI_SINK;
}

static const gchar *const *
gst_socketio_sink_uri_get_protocols (GType type)
{
  return uri_protocols;
}

static gchar *
gst_socketio_sink_uri_get_uri (GstURIHandler * handler)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (handler);
  gchar *uri = NULL;

  GST_OBJECT_LOCK (self);
  if (self->location)
    uri = g_strconcat (URI_PREFIX, self->location, NULL);
  GST_OBJECT_UNLOCK (self);
  return uri;
}

static gboolean
gst_socketio_sink_uri_set_uri (GstURIHandler * handler, const gchar * uri,
    GError ** error)
{
  GstSocketIoSink *self = GST_SOCKETIO_SINK (handler);
  const gchar *location;
  gchar *protocol, *url, *shown;
  GError *parse_error = NULL;
  GstState state;
  gboolean ours;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state > GST_STATE_READY) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE,
        _("socketiosink takes a URI only in the NULL or READY state"));
    return FALSE;
  }

  protocol = gst_uri_get_protocol (uri);
  ours = protocol && g_strv_contains (uri_protocols, protocol);
  g_free (protocol);
  if (!ours) {
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL,
        _("socketiosink takes socketio+http, socketio+https, socketio+ws "
            "and socketio+wss URIs"));
    return FALSE;
  }

  location = uri + strlen (URI_PREFIX);
  url = build_engineio_url (location, &parse_error);
  if (url == NULL) {
    /* the display form: the query may hold secrets */
    shown = sio_url_for_display (uri);
    g_set_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI,
        _("invalid Socket.IO URI %s: %s"), shown, parse_error->message);
    g_free (shown);
    g_clear_error (&parse_error);
    return FALSE;
  }
  g_free (url);

  GST_OBJECT_LOCK (self);
  g_free (self->location);
  self->location = g_strdup (location);
  GST_OBJECT_UNLOCK (self);
  g_object_notify (G_OBJECT (self), "location");
  return TRUE;
}

static void
gst_socketio_sink_uri_handler_init (gpointer g_iface, gpointer iface_data)
{
  GstURIHandlerInterface *iface = g_iface;

  iface->get_type = gst_socketio_sink_uri_get_type;
  iface->get_protocols = gst_socketio_sink_uri_get_protocols;
  iface->get_uri = gst_socketio_sink_uri_get_uri;
  iface->set_uri = gst_socketio_sink_uri_set_uri;
}

static void
gst_socketio_sink_class_init (GstSocketIoSinkClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSinkClass *basesink_class = GST_BASE_SINK_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_socketio_sink_set_property;
  gobject_class->get_property = gst_socketio_sink_get_property;
  gobject_class->finalize = gst_socketio_sink_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "URL of the Socket.IO server: http://, https://, ws:// or wss://"
          "host:port. A path, if any, is the Engine.IO path (socket.io's "
          "'path' option); without one it is /socket.io/. Query parameters "
          "are kept.", DEFAULT_LOCATION, flags));

  g_object_class_install_property (gobject_class, PROP_NAMESPACE,
      g_param_spec_string ("namespace", "Namespace",
          "Socket.IO namespace to join, e.g. / or /audio",
          DEFAULT_NAMESPACE, flags));

  g_object_class_install_property (gobject_class, PROP_AUTH,
      g_param_spec_string ("auth", "Auth",
          "JSON object sent when joining the namespace (the server's "
          "socket.handshake.auth), e.g. {\"token\":\"abc\"}; unset or empty "
          "for none. May change while PLAYING (token refresh): the new value "
          "is sent at the next connection or reconnection, not on the "
          "current one; a value that is not a JSON object is then refused "
          "with a warning and the previous one kept. Never shown in logs or "
          "messages.", DEFAULT_AUTH, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_EVENT,
      g_param_spec_string ("event", "Event",
          "Name of the event each batch of audio is emitted as",
          DEFAULT_EVENT, flags));

  g_object_class_install_property (gobject_class, PROP_PAYLOAD_KEY,
      g_param_spec_string ("payload-key", "Payload key",
          "Key of the binary audio in the event's object argument",
          DEFAULT_PAYLOAD_KEY, flags));

  g_object_class_install_property (gobject_class, PROP_BATCH_DURATION,
      g_param_spec_uint64 ("batch-duration", "Batch duration",
          "Collect this much audio (in nanoseconds) into one event; 0 emits "
          "every buffer as it comes. Batches never exceed max-batch-bytes "
          "or the server's maxPayload. Compressed audio goes in whole "
          "packets, as many as make up this duration.", 0, MAX_BATCH_DURATION,
          DEFAULT_BATCH_DURATION, flags));

  g_object_class_install_property (gobject_class, PROP_MAX_BATCH_BYTES,
      g_param_spec_uint ("max-batch-bytes", "Max batch bytes",
          "Most audio bytes in one event; larger buffers are split on sample "
          "boundaries. The server's maxPayload lowers it further.",
          64, G_MAXINT32, DEFAULT_MAX_BATCH_BYTES, flags));

  g_object_class_install_property (gobject_class, PROP_ACK,
      g_param_spec_boolean ("ack", "Ack",
          "Ask the server to acknowledge every event and block when "
          "max-in-flight events are unacknowledged. Without acks the window "
          "counts events the socket has not taken yet.", DEFAULT_ACK, flags));

  g_object_class_install_property (gobject_class, PROP_MAX_IN_FLIGHT,
      g_param_spec_uint ("max-in-flight", "Max in flight",
          "Most events not yet acknowledged (or, without ack, not yet "
          "written to the socket); rendering blocks while that many are "
          "outstanding", 1, 65535, DEFAULT_MAX_IN_FLIGHT,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_ACK_TIMEOUT,
      g_param_spec_uint64 ("ack-timeout", "Ack timeout",
          "Nanoseconds to wait for each acknowledgement before counting it "
          "in stats as an ack timeout and freeing its place in the window; "
          "also bounds the wait for acks at EOS. 0 waits forever.",
          0, MAX_TIMEOUT, DEFAULT_ACK_TIMEOUT, flags));

  g_object_class_install_property (gobject_class, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint64 ("connect-timeout", "Connect timeout",
          "Nanoseconds allowed to connect and join the namespace before "
          "failing with an error", MIN_CONNECT_TIMEOUT, MAX_TIMEOUT,
          DEFAULT_CONNECT_TIMEOUT, flags));

  g_object_class_install_property (gobject_class, PROP_RECONNECT,
      g_param_spec_boolean ("reconnect", "Reconnect",
          "Reconnect when an established connection is lost (never after the "
          "server's own DISCONNECT, unless reconnect-on-server-disconnect is "
          "set, nor after a refused namespace; a first connection that fails "
          "is an error unless retry-first-connection is set)",
          DEFAULT_RECONNECT, flags));

  g_object_class_install_property (gobject_class, PROP_RECONNECT_DELAY,
      g_param_spec_uint64 ("reconnect-delay", "Reconnect delay",
          "Nanoseconds before the first reconnection attempt; each further "
          "attempt waits twice as long, up to reconnect-delay-max, and a "
          "random half of every wait spreads clients out", 0, MAX_TIMEOUT,
          DEFAULT_RECONNECT_DELAY, flags));

  g_object_class_install_property (gobject_class, PROP_RECONNECT_DELAY_MAX,
      g_param_spec_uint64 ("reconnect-delay-max", "Reconnect delay max",
          "Longest wait, in nanoseconds, between reconnection attempts",
          0, MAX_TIMEOUT, DEFAULT_RECONNECT_DELAY_MAX, flags));

  g_object_class_install_property (gobject_class,
      PROP_MAX_RECONNECT_ATTEMPTS, g_param_spec_uint ("max-reconnect-attempts",
          "Max reconnect attempts",
          "Reconnection attempts before giving up with an error, counted "
          "since the last healthy connection (one that stayed up for "
          "reconnect-delay-max, at least 1 s, with its acks answered), so a "
          "server that fails right after every join is given up on too; 0 "
          "tries forever", 0, G_MAXUINT,
          DEFAULT_MAX_RECONNECT_ATTEMPTS, flags));

  g_object_class_install_property (gobject_class, PROP_DISCONNECTED_POLICY,
      g_param_spec_enum ("disconnected-policy", "Disconnected policy",
          "What to do with audio that arrives while reconnecting, when no "
          "ackqueue upstream retains it: block (backpressure: upstream waits "
          "and, if live, drops by its own rules) or drop (discard it here, "
          "counted in stats as dropped-buffers/dropped-bytes). With an "
          "ackqueue upstream the sink always blocks and the ackqueue "
          "replays what was not acknowledged.",
          GST_TYPE_SOCKETIO_SINK_DISCONNECTED_POLICY,
          DEFAULT_DISCONNECTED_POLICY, G_PARAM_READWRITE |
          G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class,
      PROP_MAX_INCOMING_MESSAGE_BYTES,
      g_param_spec_uint ("max-incoming-message-bytes",
          "Max incoming message bytes",
          "Largest WebSocket message accepted from the server (a text event "
          "or one binary attachment). A larger one ends the connection with "
          "a warning, and the sink reconnects; the default fits the events "
          "real servers send (socket.io's own default limit is 1 MB)",
          MIN_INCOMING_MESSAGE_BYTES, G_MAXINT32,
          DEFAULT_MAX_INCOMING_MESSAGE_BYTES, flags));

  g_object_class_install_property (gobject_class,
      PROP_MAX_PENDING_SERVER_EVENTS,
      g_param_spec_uint ("max-pending-server-events",
          "Max pending server events",
          "Most socketio-event bus messages posted and not yet released by "
          "the application; further server events are dropped (counted in "
          "stats as server-events-dropped, with one warning) until it "
          "catches up. The server-event signal still fires for every event. "
          "Bounds the memory an application that does not pop its bus can "
          "lose to server events: this many times max-incoming-message-bytes",
          1, 1 << 20, DEFAULT_MAX_PENDING_SERVER_EVENTS,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Connection and delivery counters: connected, state, emitted, "
          "acked, written-without-ack, in-flight, ack-timeouts, lost "
          "(events the connection ended before they were acknowledged; an "
          "ackqueue upstream replays them), dropped-buffers and dropped-bytes "
          "(discarded by disconnected-policy=drop), disconnects, reconnects, "
          "replays (requested from upstream), acks-upstream, "
          "upstream-retains, transport (websocket, polling, or none while "
          "no transport is open), audio-bytes, bytes-sent, "
          "server-events, server-events-dropped (not posted: the application "
          "did not pop its bus), unacknowledged (events lost or timed out "
          "and not replayed), ack-rtt-last and ack-rtt-mean (ns), and "
          "GstBaseSink's rendered, late-dropped (its dropped) and "
          "average-rate",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  g_object_class_install_property (gobject_class, PROP_TRANSPORTS,
      g_param_spec_enum ("transports", "Transports",
          "Engine.IO transports: auto (WebSocket first, the fastest, and it "
          "needs no sticky sessions behind a load balancer; when the server "
          "refuses the WebSocket handshake, as Flask-SocketIO and "
          "python-socketio do in threading mode without simple-websocket, "
          "HTTP long-polling instead, upgraded to WebSocket when the server "
          "offers it, until the element goes back to READY), websocket "
          "(WebSocket only), polling (HTTP long-polling only) or "
          "polling-upgrade (long-polling first, then the upgrade to WebSocket "
          "when offered, like socket.io-client's default). Several polling "
          "servers behind a load balancer need sticky sessions",
          GST_TYPE_SOCKETIO_TRANSPORTS, DEFAULT_TRANSPORTS, flags));

  g_object_class_install_property (gobject_class, PROP_SSL_CA_FILE,
      g_param_spec_string ("ssl-ca-file", "SSL CA file",
          "PEM file of the CA certificates to trust for https/wss servers "
          "instead of the system's (a private CA, or a self-signed "
          "development certificate itself); a relative path is taken from "
          "the current directory. A missing, unreadable or invalid file "
          "fails NULL->READY. Ignored when tls-database is set",
          DEFAULT_SSL_CA_FILE, flags));

  g_object_class_install_property (gobject_class,
      PROP_SSL_USE_SYSTEM_CA_FILE,
      g_param_spec_boolean ("ssl-use-system-ca-file", "Use system CA file",
          "Trust the system's CA certificates when neither ssl-ca-file nor "
          "tls-database is set; false without ssl-ca-file trusts no "
          "certificate at all (as souphttpsrc does), so only ssl-strict=false "
          "connects to an https/wss server then",
          DEFAULT_SSL_USE_SYSTEM_CA_FILE, flags));

  g_object_class_install_property (gobject_class, PROP_TLS_DATABASE,
      g_param_spec_object ("tls-database", "TLS database",
          "GTlsDatabase that validates the server's certificate (e.g. one "
          "made from CA certificates in memory, or with verification of "
          "its own); when set, ssl-ca-file and ssl-use-system-ca-file are "
          "ignored. Unset: ssl-ca-file, else the system's trust store. A "
          "client certificate comes from tls-interaction", G_TYPE_TLS_DATABASE,
          flags));

  g_object_class_install_property (gobject_class, PROP_TLS_INTERACTION,
      g_param_spec_object ("tls-interaction", "TLS interaction",
          "GTlsInteraction asked for a client certificate (or a key's "
          "password) when the https/wss server requires one; its "
          "request_certificate is called from the element's network thread. "
          "Unset: none, and a server that requires a client certificate "
          "refuses the connection", G_TYPE_TLS_INTERACTION, flags));

  g_object_class_install_property (gobject_class, PROP_SSL_STRICT,
      g_param_spec_boolean ("ssl-strict", "SSL strict",
          "Refuse a server certificate that is not valid (unknown CA, wrong "
          "host name, expired). false accepts any certificate, which is "
          "UNSAFE (anyone on the path can read and change the stream) and is "
          "announced in a warning: prefer ssl-ca-file for private and "
          "self-signed certificates", DEFAULT_SSL_STRICT, flags));

  g_object_class_install_property (gobject_class, PROP_EXTRA_HEADERS,
      g_param_spec_boxed ("extra-headers", "Extra headers",
          "HTTP headers sent on the WebSocket handshake and on every polling "
          "request, e.g. \"headers, Authorization=\\\"Bearer abc\\\"\": each "
          "field is a header (the structure's name is ignored), its value "
          "converted to a string, an array or a list giving the header once "
          "per value. Names must be HTTP tokens and values must not contain "
          "line breaks; Host, Connection, Upgrade, Content-Length, "
          "Transfer-Encoding and Sec-WebSocket-* are the element's own and "
          "refused. Checked at NULL->READY; values never appear in logs or "
          "messages. Unset: none", GST_TYPE_STRUCTURE, flags));

  g_object_class_install_property (gobject_class, PROP_USER_AGENT,
      g_param_spec_string ("user-agent", "User-Agent",
          "Value of the User-Agent header on the WebSocket handshake and the "
          "polling requests; unset or empty restores the default",
          DEFAULT_USER_AGENT, flags));

  g_object_class_install_property (gobject_class, PROP_COOKIES,
      g_param_spec_boxed ("cookies", "Cookies",
          "Cookies sent on the WebSocket handshake and every polling "
          "request, each \"name=value\" (a token name; no ';' or line break "
          "in the value). Cookies the server or a load balancer sets (an "
          "affinity cookie) are kept for the element's life, across "
          "reconnections and state changes, and sent back on their own. Unset: "
          "none", G_TYPE_STRV, flags));

  g_object_class_install_property (gobject_class, PROP_PROXY,
      g_param_spec_string ("proxy", "Proxy",
          "Proxy URI: http://host:port (host:port alone means http), "
          "https://host:port or socks5://host:port, without credentials "
          "(proxy-id, proxy-pw). https and WebSocket servers are reached "
          "through an HTTP CONNECT tunnel. Unset: the environment's proxy "
          "(http_proxy, https_proxy, no_proxy, or the desktop's settings)",
          DEFAULT_PROXY, flags));

  g_object_class_install_property (gobject_class, PROP_PROXY_ID,
      g_param_spec_string ("proxy-id", "Proxy user id",
          "User name for the authentication of the proxy property's proxy "
          "(with proxy-pw); an environment proxy takes its credentials from "
          "its own URI (http_proxy=http://user:password@host:port)", NULL,
          flags));

  g_object_class_install_property (gobject_class, PROP_PROXY_PW,
      g_param_spec_string ("proxy-pw", "Proxy password",
          "Password for the proxy's authentication (with proxy-id). "
          "Write-only, and never shown in logs or messages", NULL,
          G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  g_object_class_install_property (gobject_class,
      PROP_RETRY_FIRST_CONNECTION,
      g_param_spec_boolean ("retry-first-connection",
          "Retry first connection",
          "Keep retrying when the very first connection fails (a server not "
          "up yet: services started in any order), with the reconnection "
          "backoff (reconnect-delay, reconnect-delay-max) and counting "
          "towards max-reconnect-attempts; rendering waits meanwhile. Only "
          "refused or unreachable connections, timeouts and HTTP 5xx, 408 "
          "and 429 are retried: TLS, proxy and other HTTP refusals stay "
          "errors. Needs reconnect=true. false: a first connection that "
          "fails is an error at once", DEFAULT_RETRY_FIRST_CONNECTION, flags));

  g_object_class_install_property (gobject_class,
      PROP_RECONNECT_ON_SERVER_DISCONNECT,
      g_param_spec_boolean ("reconnect-on-server-disconnect",
          "Reconnect on server disconnect",
          "Treat the server's own DISCONNECT (socket.disconnect() on the "
          "server, e.g. a node draining its clients behind a load balancer) "
          "and an Engine.IO close like a lost connection: reconnect with the "
          "backoff, counting towards max-reconnect-attempts, and replay "
          "through an ackqueue. Needs reconnect=true. false: the server's "
          "DISCONNECT ends the stream with an error, as socket.io-client "
          "does not reconnect either",
          DEFAULT_RECONNECT_ON_SERVER_DISCONNECT, flags));

  g_object_class_install_property (gobject_class, PROP_MULTIPLEX,
      g_param_spec_boolean ("multiplex", "Multiplex",
          "Share one Engine.IO connection (one socket, one handshake, one "
          "ping) with the other socketiosinks of the process that have "
          "multiplex=true, the same location up to the namespace and the "
          "same connection settings (transports, TLS, headers, cookies, "
          "proxy, timeouts, reconnection), each joining its own namespace, "
          "as socket.io-client's Manager does; their packets go out in "
          "shared writes. Each sink keeps its own acks, window, auth and "
          "stats (bytes-sent counts its own packets). A lost connection is "
          "lost for all of them; a namespace the server refuses or "
          "disconnects is that sink's alone. A sink whose namespace is "
          "already on the connection gets one of its own. false: a "
          "connection per sink", DEFAULT_MULTIPLEX, flags));

  g_object_class_install_property (gobject_class, PROP_STREAM_ID,
      g_param_spec_string ("stream-id", "Stream id",
          "The \"stream_id\" every event carries, so that a server tells "
          "streams apart and drops replays by (stream_id, seq). NULL: a "
          "random UUID made each time the element goes to PAUSED (seq "
          "numbering restarts then), kept across reconnections. Read while "
          "streaming, the id in use. A fixed id must not see seq start "
          "again (a new ackqueue, or no ackqueue and a restart), or the "
          "server drops the new audio as replays. Valid UTF-8, at most 256 "
          "bytes", DEFAULT_STREAM_ID, flags));

  /**
   * GstSocketIoSink::server-event:
   * @sink: the socketiosink
   * @name: the event name (a numeric name is its text, "7")
   * @args_json: the arguments after the name, as JSON array text
   *
   * `args_json` is the text of the JSON array exactly as the server wrote
   * it; binary attachments stay `{"_placeholder":true,"num":N}` objects
   * there.
   *
   * Emitted for every event the server sends to this client on the joined
   * namespace, from the element's network thread: the handler must not
   * block (pings and acks wait meanwhile) nor change the element's state.
   * It may call the #GstSocketIoSink::emit action signal to answer. The
   * same event is also posted on the bus, from the same thread, as a
   * `socketio-event` element message with the fields `name`, `args` and,
   * for binary events, `attachments` (a #GstBufferList, one buffer per
   * placeholder, in order): the way to get the attachments, and the
   * thread-safe way for languages such as Python. gst-inspect-1.0 shows
   * the two arguments as arg0 and arg1.
   */
  signals[SIGNAL_SERVER_EVENT] = g_signal_new ("server-event",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
      G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_STRING);

  /**
   * GstSocketIoSink::emit:
   * @sink: the socketiosink
   * @event: the event name
   * @args_json: the arguments as JSON, or NULL for none
   * @binary: one binary attachment, or NULL
   * @want_ack: ask the server for an acknowledgement
   *
   * `event` must not be connect, connect_error, disconnect, disconnecting,
   * newListener, removeListener (reserved by Socket.IO) nor the value of
   * the #GstSocketIoSink:event property (the audio's event name).
   * `args_json` is a JSON
   * array (each element one argument), any other JSON value (that one
   * argument), or NULL (none). `binary` is sent as the last argument (a
   * Buffer for a Node server, bytes for Python).
   *
   * Sends an event to the server on the sink's connection, from any
   * thread, while the element is PAUSED or PLAYING: on the connection that
   * is up, or when none is (connecting, reconnecting), on the next one. It
   * takes no place in the audio window and has no seq. An event is never
   * sent twice: one that a connection takes down is reported lost.
   *
   * The outcome is posted on the bus: `socketio-emit-ack` (fields `id`,
   * `event`, `args`: the ack's arguments as JSON array text) or
   * `socketio-emit-failed` (`id`, `event`, `reason`: "timeout" when no
   * ack came within #GstSocketIoSink:ack-timeout, "lost" when the
   * connection ended first, or the element stopped). Without `want_ack`
   * only a failure is posted.
   *
   * At most 16 events wait to be written or acknowledged; beyond, and for
   * a reserved name, invalid JSON, an event larger than the server's
   * maxPayload, or outside PAUSED and PLAYING, nothing is sent, a warning
   * says why and 0 is returned. gst-inspect-1.0 shows the arguments as
   * arg0 to arg3.
   *
   * Returns: the emit's id (from 1, unique for the element's life), or 0
   * when refused
   */
  signals[SIGNAL_EMIT] = g_signal_new_class_handler ("emit",
      G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST | G_SIGNAL_ACTION,
      G_CALLBACK (gst_socketio_sink_emit_event), NULL, NULL, NULL,
      G_TYPE_UINT64, 4, G_TYPE_STRING, G_TYPE_STRING, G_TYPE_BYTES,
      G_TYPE_BOOLEAN);

  sio_client_init_types ();
  gst_type_mark_as_plugin_api (GST_TYPE_SOCKETIO_SINK_DISCONNECTED_POLICY, 0);
  gst_type_mark_as_plugin_api (GST_TYPE_SOCKETIO_TRANSPORTS, 0);

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_set_static_metadata (element_class,
      "Socket.IO sink", "Sink/Network",
      "Streams raw audio to a Socket.IO v5 server as binary events, with "
      "acknowledgement-driven backpressure and bounded memory",
      "gst-socketio contributors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_socketio_sink_change_state);

  basesink_class->start = GST_DEBUG_FUNCPTR (gst_socketio_sink_start);
  basesink_class->stop = GST_DEBUG_FUNCPTR (gst_socketio_sink_stop);
  basesink_class->set_caps = GST_DEBUG_FUNCPTR (gst_socketio_sink_set_caps);
  basesink_class->render = GST_DEBUG_FUNCPTR (gst_socketio_sink_render);
  basesink_class->event = GST_DEBUG_FUNCPTR (gst_socketio_sink_event);
  basesink_class->query = GST_DEBUG_FUNCPTR (gst_socketio_sink_query);
  basesink_class->unlock = GST_DEBUG_FUNCPTR (gst_socketio_sink_unlock);
  basesink_class->unlock_stop =
      GST_DEBUG_FUNCPTR (gst_socketio_sink_unlock_stop);
}

static gboolean
socketiosink_element_init (GstPlugin * plugin)
{
  gst_socketio_element_init (plugin);
  GST_DEBUG_CATEGORY_INIT (gst_socketio_sink_debug, "socketiosink", 0,
      "Socket.IO sink");
  return gst_element_register (plugin, "socketiosink", GST_RANK_NONE,
      GST_TYPE_SOCKETIO_SINK);
}
