/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink unit tests with GstHarness. Protocol edge cases (refusals,
 * old servers, hostile packets, binary server events, out-of-order and
 * missing acks) use a scripted WebSocket server in this process, so the
 * exact frames are under the test's control. */

#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <unistd.h>

#include <valgrind/valgrind.h>

#include <glib/gstdio.h>
#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/base/gstbasesink.h>
#include <libsoup/soup.h>

#include "gstsioevents.h"
#include "gstsiometa.h"

#define AUDIO_CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved"
#define OPEN_PACKET "0{\"sid\":\"fake\",\"upgrades\":[],\"pingInterval\":" \
    "25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"

/* ---- a scripted Engine.IO/Socket.IO server ---------------------------- */

typedef struct
{
  GThread *thread;
  GMainContext *context;
  GMainLoop *loop;
  SoupServer *server;
  guint port;
  gchar *url;

  /* script, set before the client connects */
  const gchar *connect_reply;   /* answer to the namespace CONNECT */
  const gchar *const *after_join;       /* frames sent after joining;
                                           "bin:" prefix = binary */
  gboolean ack;
  gboolean reverse_acks;        /* ack every pair of events backwards */
  gboolean forget_events;       /* count event frames, do not keep them */
  guint ack_every;              /* with ack: ack only every Nth binary */
  /* answer text events that ask for an ack ("42<id>[...") with this
   * ack's arguments; NULL: no answer */
  const gchar *event_ack_args;
  const gchar *open_packet;     /* NULL: OPEN_PACKET */
  /* fake_server_new_deferred(): bound, but refusing connections until
   * fake_server_serve() */
  GSocket *deferred;
  GTlsCertificate *certificate; /* set: https on 127.0.0.1 */

  /* what was seen, under lock */
  GMutex lock;
  GCond cond;
  SoupWebsocketConnection *conn;
  GPtrArray *texts;
  guint binaries;
  GArray *binary_arrivals;      /* gint64 monotonic µs of each binary frame */
  GBytes *last_binary;
  gint64 held_ack;
  gint64 pending_ack;
  SoupMessageHeaders *handshake;        /* the last WebSocket handshake's */
  guint handshakes;
} FakeServer;

static void
fake_send (FakeServer * fake, const gchar * frame)
{
  if (g_str_has_prefix (frame, "bin:")) {
    GBytes *bytes = g_bytes_new (frame + 4, strlen (frame + 4));

    soup_websocket_connection_send_message (fake->conn,
        SOUP_WEBSOCKET_DATA_BINARY, bytes);
    g_bytes_unref (bytes);
  } else {
    soup_websocket_connection_send_text (fake->conn, frame);
  }
}

static void
fake_send_ack (FakeServer * fake, gint64 id)
{
  gchar *ack = g_strdup_printf ("43%" G_GINT64_FORMAT "[{\"ok\":true}]", id);

  soup_websocket_connection_send_text (fake->conn, ack);
  g_free (ack);
}

static void
fake_on_message (SoupWebsocketConnection * conn, gint type, GBytes * message,
    FakeServer * fake)
{
  const gchar *text = g_bytes_get_data (message, NULL);

  g_mutex_lock (&fake->lock);
  if (type == SOUP_WEBSOCKET_DATA_BINARY) {
    gint64 now = g_get_monotonic_time ();

    g_array_append_val (fake->binary_arrivals, now);
    fake->binaries++;
    g_clear_pointer (&fake->last_binary, g_bytes_unref);
    fake->last_binary = g_bytes_ref (message);
    if (fake->ack && fake->pending_ack >= 0 && fake->ack_every > 1 &&
        fake->binaries % fake->ack_every != 0) {
      /* this one is never acked */
    } else if (fake->ack && fake->pending_ack >= 0) {
      if (!fake->reverse_acks) {
        fake_send_ack (fake, fake->pending_ack);
      } else if (fake->held_ack < 0) {
        fake->held_ack = fake->pending_ack;
      } else {
        fake_send_ack (fake, fake->pending_ack);
        fake_send_ack (fake, fake->held_ack);
        fake->held_ack = -1;
      }
    }
    fake->pending_ack = -1;
  } else {
    if (!fake->forget_events || !g_str_has_prefix (text, "45"))
      g_ptr_array_add (fake->texts, g_strdup (text));
    if (g_str_has_prefix (text, "40")) {
      const gchar *const *frame;

      fake_send (fake, fake->connect_reply);
      for (frame = fake->after_join; frame && *frame; frame++)
        fake_send (fake, *frame);
    } else if (g_str_has_prefix (text, "451-")) {
      const gchar *id = text + 4;

      fake->pending_ack = g_ascii_isdigit (*id) ?
          g_ascii_strtoll (id, NULL, 10) : -1;
    } else if (g_str_has_prefix (text, "42") && g_ascii_isdigit (text[2]) &&
        fake->event_ack_args) {
      gchar *ack = g_strdup_printf ("43%" G_GINT64_FORMAT "%s",
          g_ascii_strtoll (text + 2, NULL, 10), fake->event_ack_args);

      soup_websocket_connection_send_text (fake->conn, ack);
      g_free (ack);
    }
  }
  g_cond_broadcast (&fake->cond);
  g_mutex_unlock (&fake->lock);
}

static void
fake_on_websocket (SoupServer * server, SoupServerMessage * msg,
    const gchar * path, SoupWebsocketConnection * conn, gpointer user_data)
{
  FakeServer *fake = user_data;

  g_mutex_lock (&fake->lock);
  g_clear_object (&fake->conn);
  fake->conn = g_object_ref (conn);
  g_clear_pointer (&fake->handshake, soup_message_headers_unref);
  fake->handshake =
      soup_message_headers_ref (soup_server_message_get_request_headers (msg));
  fake->handshakes++;
  g_mutex_unlock (&fake->lock);
  g_signal_connect (conn, "message", G_CALLBACK (fake_on_message), fake);
  soup_websocket_connection_send_text (conn,
      fake->open_packet ? fake->open_packet : OPEN_PACKET);
}

/* /moved/ answers every request with a redirect to the real endpoint,
 * with a secret in the target's query. */
static void
fake_redirect (SoupServer * server, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer user_data)
{
  FakeServer *fake = user_data;
  gchar *target = g_strdup_printf ("%s/socket.io/?EIO=4&transport=websocket"
      "&token=SECRET", fake->url);

  soup_server_message_set_redirect (msg, SOUP_STATUS_FOUND, target);
  g_free (target);
}

/* /status/NNN/ answers every request, the WebSocket handshake included,
 * with HTTP status NNN (a server that refuses WebSocket, or the client). */
static void
fake_status (SoupServer * server, SoupServerMessage * msg,
    const gchar * path, GHashTable * query, gpointer user_data)
{
  guint status = atoi (path + strlen ("/status/"));

  soup_server_message_set_status (msg, status ? status : 500, NULL);
}

static gpointer
fake_thread (gpointer user_data)
{
  FakeServer *fake = user_data;
  GError *error = NULL;
  GSList *uris;
  SoupWebsocketConnection *conn;
  gint64 deadline;

  g_main_context_push_thread_default (fake->context);
  fake->server = soup_server_new ("tls-certificate", fake->certificate, NULL);
  soup_server_add_websocket_handler (fake->server, "/socket.io", NULL, NULL,
      fake_on_websocket, fake, NULL);
  soup_server_add_handler (fake->server, "/moved", fake_redirect, fake, NULL);
  soup_server_add_handler (fake->server, "/status", fake_status, fake, NULL);
  if (fake->deferred) {
    GSocketAddress *address;

    address = g_socket_get_local_address (fake->deferred, &error);
    g_assert_no_error (error);
    g_mutex_lock (&fake->lock);
    fake->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
        (address));
    g_cond_broadcast (&fake->cond);
    g_mutex_unlock (&fake->lock);
    g_object_unref (address);
  } else {
    soup_server_listen_local (fake->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY |
        (fake->certificate ? SOUP_SERVER_LISTEN_HTTPS : 0), &error);
    g_assert_no_error (error);
    uris = soup_server_get_uris (fake->server);
    g_mutex_lock (&fake->lock);
    fake->port = g_uri_get_port (uris->data);
    g_cond_broadcast (&fake->cond);
    g_mutex_unlock (&fake->lock);
    g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  }

  g_main_loop_run (fake->loop);

  /* close and wait (bounded) until libsoup has let go of the socket */
  g_mutex_lock (&fake->lock);
  conn = fake->conn;
  fake->conn = NULL;
  g_mutex_unlock (&fake->lock);
  if (conn) {
    g_object_add_weak_pointer (G_OBJECT (conn), (gpointer *) & conn);
    if (soup_websocket_connection_get_state (conn) == SOUP_WEBSOCKET_STATE_OPEN)
      soup_websocket_connection_close (conn, 1000, NULL);
    g_object_unref (conn);
  }
  soup_server_disconnect (fake->server);
  g_object_unref (fake->server);
  deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
  while (conn && g_get_monotonic_time () < deadline)
    g_main_context_iteration (fake->context, FALSE);
  while (g_main_context_iteration (fake->context, FALSE));
  g_main_context_pop_thread_default (fake->context);
  return NULL;
}

static FakeServer *
fake_server_new_full (const gchar * connect_reply,
    const gchar * const *after_join, gboolean ack, GSocket * deferred,
    GTlsCertificate * certificate)
{
  FakeServer *fake = g_new0 (FakeServer, 1);

  fake->deferred = deferred;
  fake->certificate = certificate ? g_object_ref (certificate) : NULL;

  fake->connect_reply = connect_reply ? connect_reply :
      "40{\"sid\":\"fake-socket\"}";
  fake->after_join = after_join;
  fake->ack = ack;
  fake->held_ack = fake->pending_ack = -1;
  fake->texts = g_ptr_array_new_with_free_func (g_free);
  fake->binary_arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_mutex_init (&fake->lock);
  g_cond_init (&fake->cond);
  fake->context = g_main_context_new ();
  fake->loop = g_main_loop_new (fake->context, FALSE);
  fake->thread = g_thread_new ("fake-server", fake_thread, fake);

  g_mutex_lock (&fake->lock);
  while (fake->port == 0)
    g_cond_wait (&fake->cond, &fake->lock);
  g_mutex_unlock (&fake->lock);
  fake->url = g_strdup_printf ("%s://127.0.0.1:%u",
      fake->certificate ? "https" : "http", fake->port);
  return fake;
}

static FakeServer *
fake_server_new (const gchar * connect_reply,
    const gchar * const *after_join, gboolean ack)
{
  return fake_server_new_full (connect_reply, after_join, ack, NULL, NULL);
}

/* A server whose port is bound but refuses connections (bound, not
 * listening: the kernel answers with a reset) until fake_server_serve(). */
static FakeServer *
fake_server_new_deferred (void)
{
  GSocket *socket;
  GInetAddress *loopback;
  GSocketAddress *address;
  GError *error = NULL;

  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  address = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  g_object_unref (address);
  g_object_unref (loopback);
  return fake_server_new_full (NULL, NULL, TRUE, socket, NULL);
}

static gboolean
fake_serve_in_thread (gpointer user_data)
{
  FakeServer *fake = user_data;
  GError *error = NULL;

  g_assert_true (g_socket_listen (fake->deferred, &error));
  g_assert_no_error (error);
  g_assert_true (soup_server_listen_socket (fake->server, fake->deferred, 0,
          &error));
  g_assert_no_error (error);
  return G_SOURCE_REMOVE;
}

static void
fake_server_serve (FakeServer * fake)
{
  g_main_context_invoke (fake->context, fake_serve_in_thread, fake);
}

/* A request header of the last WebSocket handshake (repeated ones joined
 * with ", "), or NULL; free it. */
static gchar *
fake_handshake_header (FakeServer * fake, const gchar * name)
{
  gchar *value = NULL;

  g_mutex_lock (&fake->lock);
  if (fake->handshake)
    value = soup_message_headers_get_list (fake->handshake, name) ?
        g_strdup (soup_message_headers_get_list (fake->handshake, name)) : NULL;
  g_mutex_unlock (&fake->lock);
  return value;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

static void
fake_server_free (FakeServer * fake)
{
  g_main_context_invoke (fake->context, quit_loop, fake->loop);
  g_thread_join (fake->thread);
  g_main_loop_unref (fake->loop);
  g_main_context_unref (fake->context);
  g_ptr_array_unref (fake->texts);
  g_array_unref (fake->binary_arrivals);
  g_clear_pointer (&fake->last_binary, g_bytes_unref);
  g_clear_pointer (&fake->handshake, soup_message_headers_unref);
  g_clear_object (&fake->deferred);
  g_clear_object (&fake->certificate);
  g_mutex_clear (&fake->lock);
  g_cond_clear (&fake->cond);
  g_free (fake->url);
  g_free (fake);
}

static gboolean
fake_drop_in_thread (gpointer user_data)
{
  FakeServer *fake = user_data;

  g_mutex_lock (&fake->lock);
  if (fake->conn)
    g_io_stream_close (soup_websocket_connection_get_io_stream (fake->conn),
        NULL, NULL);
  g_mutex_unlock (&fake->lock);
  return G_SOURCE_REMOVE;
}

/* Cuts the connection like a crashed server would: no close frame. */
static void
fake_server_drop (FakeServer * fake)
{
  g_main_context_invoke (fake->context, fake_drop_in_thread, fake);
}

typedef struct
{
  FakeServer *fake;
  gint64 id;
} FakeAck;

static gboolean
fake_ack_in_thread (gpointer user_data)
{
  FakeAck *ack = user_data;

  g_mutex_lock (&ack->fake->lock);
  if (ack->fake->conn)
    fake_send_ack (ack->fake, ack->id);
  g_mutex_unlock (&ack->fake->lock);
  return G_SOURCE_REMOVE;
}

/* Acks @id from the server's thread, where libsoup wants its sends. */
static void
fake_send_ack_in_thread (FakeServer * fake, gint64 id)
{
  FakeAck *ack = g_new (FakeAck, 1);

  ack->fake = fake;
  ack->id = id;
  g_main_context_invoke_full (fake->context, G_PRIORITY_DEFAULT,
      fake_ack_in_thread, ack, g_free);
}

static guint
fake_count_texts (FakeServer * fake, const gchar * prefix)
{
  guint i, count = 0;

  g_mutex_lock (&fake->lock);
  for (i = 0; i < fake->texts->len; i++)
    count += g_str_has_prefix (g_ptr_array_index (fake->texts, i), prefix);
  g_mutex_unlock (&fake->lock);
  return count;
}

static gboolean
fake_saw_text (FakeServer * fake, const gchar * prefix, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;
  gboolean seen = FALSE;
  guint i;

  g_mutex_lock (&fake->lock);
  while (!seen) {
    for (i = 0; i < fake->texts->len && !seen; i++)
      seen = g_str_has_prefix (g_ptr_array_index (fake->texts, i), prefix);
    if (!seen && !g_cond_wait_until (&fake->cond, &fake->lock, deadline))
      break;
  }
  g_mutex_unlock (&fake->lock);
  return seen;
}

/* The text of the @n-th (from 0) audio event frame seen, or NULL after
 * @timeout. */
static gchar *
fake_nth_event (FakeServer * fake, guint n, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;
  gchar *found = NULL;

  g_mutex_lock (&fake->lock);
  while (found == NULL) {
    guint i, seen = 0;

    for (i = 0; i < fake->texts->len && found == NULL; i++) {
      const gchar *text = g_ptr_array_index (fake->texts, i);

      if (g_str_has_prefix (text, "451-") && seen++ == n)
        found = g_strdup (text);
    }
    if (found == NULL && !g_cond_wait_until (&fake->cond, &fake->lock,
            deadline))
      break;
  }
  g_mutex_unlock (&fake->lock);
  return found;
}

/* The value of the event's "stream_id" member (a copy), or NULL. */
static gchar *
event_stream_id (const gchar * event)
{
  const gchar *start = event ? strstr (event, "\"stream_id\":\"") : NULL;
  const gchar *end;

  if (start == NULL)
    return NULL;
  start += strlen ("\"stream_id\":\"");
  end = strchr (start, '"');
  return end ? g_strndup (start, end - start) : NULL;
}

/* ---- helpers ---------------------------------------------------------- */

/* The sink has its bus before the harness starts it: an error posted at
 * once (a refused connection) is not lost to a bus set later. */
static GstHarness *
harness_new (const gchar * url, const gchar * extra)
{
  gchar *launch = g_strdup_printf ("socketiosink sync=false location=%s %s",
      url, extra ? extra : "");
  GstElement *sink = gst_parse_launch (launch, NULL);
  GstBus *bus = gst_bus_new ();
  GstHarness *h;

  g_assert_nonnull (sink);
  gst_element_set_bus (sink, bus);
  gst_object_unref (bus);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_object_unref (sink);
  g_free (launch);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  return h;
}

static GstBuffer *
audio_buffer (gsize size, guint8 fill, GstClockTime pts)
{
  GstBuffer *buffer = gst_buffer_new_allocate (NULL, size, NULL);

  gst_buffer_memset (buffer, 0, fill, size);
  GST_BUFFER_PTS (buffer) = pts;
  return buffer;
}

/* The first error posted by @element, or NULL after @timeout. */
static GError *
element_error (GstElement * element, GstClockTime timeout)
{
  GstBus *bus = GST_ELEMENT_BUS (element);
  GstMessage *msg;
  GError *error = NULL;

  g_assert_nonnull (bus);
  msg = gst_bus_timed_pop_filtered (bus, timeout, GST_MESSAGE_ERROR);
  if (msg == NULL)
    return NULL;
  gst_message_parse_error (msg, &error, NULL);
  GST_INFO ("error: %s", error->message);
  gst_message_unref (msg);
  return error;
}

/* Drops queued messages first: each holds its source element, and the
 * element holds the bus, a cycle that would keep both alive. */
static void
teardown (GstHarness * h)
{
  GstBus *bus = gst_element_get_bus (h->element);

  if (bus) {
    gst_bus_set_flushing (bus, TRUE);
    gst_object_unref (bus);
  }
  gst_harness_teardown (h);
}

/* A bus so errors posted by a harnessed element can be read. */
static void
attach_bus (GstHarness * h)
{
  GstBus *bus;

  if (GST_ELEMENT_BUS (h->element))
    return;                     /* harness_new() gave it one */
  bus = gst_bus_new ();
  gst_element_set_bus (h->element, bus);
  gst_object_unref (bus);
}

/* The next element message named @name, or NULL after @timeout. */
static GstMessage *
wait_element_message (GstHarness * h, const gchar * name, GstClockTime timeout)
{
  GstBus *bus = GST_ELEMENT_BUS (h->element);
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (bus, timeout, GST_MESSAGE_ELEMENT))) {
    if (gst_structure_has_name (gst_message_get_structure (msg), name))
      return msg;
    gst_message_unref (msg);
  }
  return NULL;
}

/* Resident memory of this process, in KiB. */
static gsize
rss_kib (void)
{
  gchar *statm = NULL;
  gsize pages = 0;

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    sscanf (statm, "%*u %" G_GSIZE_MODIFIER "u", &pages);
  g_free (statm);
  return pages * (sysconf (_SC_PAGESIZE) / 1024);
}

static GstStructure *
sink_stats (GstHarness * h)
{
  GstElement *sink = gst_harness_find_element (h, "socketiosink");
  GstStructure *stats;

  g_object_get (sink, "stats", &stats, NULL);
  gst_object_unref (sink);
  return stats;
}

static guint64
stats_uint64 (GstStructure * stats, const gchar * field)
{
  guint64 value = 0;

  g_assert_true (gst_structure_get_uint64 (stats, field, &value));
  return value;
}

/* ---- tests ------------------------------------------------------------ */

GST_START_TEST (test_defaults)
{
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  gchar *location, *nsp, *auth, *event, *key;
  guint64 batch_duration, ack_timeout, connect_timeout;
  guint max_batch_bytes, max_in_flight;
  gboolean ack;
  GstStructure *stats;

  g_object_get (sink, "location", &location, "namespace", &nsp, "auth", &auth,
      "event", &event, "payload-key", &key, "batch-duration",
      &batch_duration, "max-batch-bytes", &max_batch_bytes, "ack", &ack,
      "max-in-flight", &max_in_flight, "ack-timeout", &ack_timeout,
      "connect-timeout", &connect_timeout, "stats", &stats, NULL);
  g_assert_null (location);
  g_assert_cmpstr (nsp, ==, "/");
  g_assert_null (auth);
  g_assert_cmpstr (event, ==, "audio_data");
  g_assert_cmpstr (key, ==, "audio_data");
  g_assert_cmpuint (batch_duration, ==, 0);
  g_assert_cmpuint (max_batch_bytes, ==, 65536);
  g_assert_true (ack);
  g_assert_cmpuint (max_in_flight, ==, 32);
  g_assert_cmpuint (ack_timeout, ==, 10 * GST_SECOND);
  g_assert_cmpuint (connect_timeout, ==, 10 * GST_SECOND);
  g_assert_true (gst_structure_has_name (stats, "socketiosink-stats"));
  g_assert_cmpuint (stats_uint64 (stats, "emitted"), ==, 0);
  gst_structure_free (stats);
  g_free (location);
  g_free (nsp);
  g_free (event);
  g_free (key);

  /* an empty auth means none */
  g_object_set (sink, "auth", "", NULL);
  g_object_get (sink, "auth", &auth, NULL);
  g_assert_null (auth);
  gst_object_unref (sink);
}

GST_END_TEST;

/* Bad settings fail NULL->READY with a message naming what to fix. */
static void
check_bad_setting (const gchar * property, const gchar * value,
    const gchar * expected)
{
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  GstBus *bus = gst_bus_new ();
  GError *error;

  gst_element_set_bus (sink, bus);
  if (strcmp (property, "location") != 0)
    g_object_set (sink, "location", "http://127.0.0.1:1", NULL);
  g_object_set (sink, property, value, NULL);
  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
      GST_STATE_CHANGE_FAILURE);
  error = element_error (sink, 0);
  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_SETTINGS));
  if (strstr (error->message, expected) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, expected);
  g_error_free (error);
  gst_element_set_state (sink, GST_STATE_NULL);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
}

GST_START_TEST (test_bad_settings)
{
  check_bad_setting ("location", NULL, "Invalid location");
  check_bad_setting ("location", "foo://example", "foo://example");
  check_bad_setting ("location", "ftp://127.0.0.1:21", "ftp");
  check_bad_setting ("location", "http://", "Invalid location");
  check_bad_setting ("location", "not a url", "not a url");
  check_bad_setting ("namespace", "audio", "Invalid namespace \"audio\"");
  check_bad_setting ("namespace", "/a,b", "Invalid namespace");
  check_bad_setting ("auth", "[1]", "Invalid auth");
  check_bad_setting ("auth", "{token:abc}", "Invalid auth");
  check_bad_setting ("event", "", "event");
  check_bad_setting ("event", "\xff\xfe", "UTF-8");
  check_bad_setting ("payload-key", "a\xc3", "UTF-8");
  /* user info is refused, not silently dropped, and never shown */
  check_bad_setting ("location", "http://user:SECRET@127.0.0.1:1",
      "user name or password");
}

GST_END_TEST;

static GString *logged_secrets;

static void
find_secret_in_log (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  if (text && strstr (text, "SECRET"))
    g_string_append_printf (logged_secrets, "%s\n", text);
}

/* Fails if @text mentions a secret. */
static void
assert_no_secret (const gchar * what, const gchar * text)
{
  if (text && strstr (text, "SECRET"))
    g_error ("%s shows a secret: %s", what, text);
}

static void
assert_message_has_no_secret (GstMessage * msg)
{
  const GstStructure *structure = gst_message_get_structure (msg);
  GError *error = NULL;
  gchar *debug = NULL, *text;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, &debug);
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning (msg, &error, &debug);
  if (error)
    assert_no_secret ("an error or warning", error->message);
  assert_no_secret ("a debug string", debug);
  text = structure ? gst_structure_to_string (structure) : NULL;
  assert_no_secret ("a message", text);
  g_free (text);
  g_free (debug);
  g_clear_error (&error);
}

/* The location's query and the auth value never appear in a bus message
 * or a debug log, whatever goes wrong. */
GST_START_TEST (test_secrets_never_shown)
{
  const gchar *settings[][2] = {
    /* unreachable: a connection error */
    {"http://127.0.0.1:1/?token=SECRET-QUERY", "{\"token\":\"SECRET-AUTH\"}"},
    /* invalid auth */
    {"http://127.0.0.1:1/?token=SECRET-QUERY", "{\"token\":SECRET-AUTH}"},
    /* invalid location */
    {"http:///?token=SECRET-QUERY", NULL},
    {"foo://bar?token=SECRET-QUERY", NULL},
    /* no scheme: parses as a URL of scheme "user" */
    {"user:SECRET-PW@127.0.0.1:1", NULL},
  };
  guint i;

  logged_secrets = g_string_new (NULL);
  gst_debug_set_threshold_for_name ("socketiosink", GST_LEVEL_LOG);
  gst_debug_add_log_function (find_secret_in_log, NULL, NULL);
  for (i = 0; i < G_N_ELEMENTS (settings); i++) {
    GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
    GstBus *bus = gst_bus_new ();
    GstMessage *msg;
    gboolean errored = FALSE;

    gst_element_set_bus (sink, bus);
    g_object_set (sink, "location", settings[i][0], "auth", settings[i][1],
        "connect-timeout", (guint64) GST_SECOND, NULL);
    gst_element_set_state (sink, GST_STATE_PAUSED);
    /* every message: the error, warnings, element messages */
    while ((msg = gst_bus_timed_pop (bus, errored ? 0 : 5 * GST_SECOND))) {
      assert_message_has_no_secret (msg);
      errored |= GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR;
      gst_message_unref (msg);
    }
    g_assert_true (errored);
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_element_set_bus (sink, NULL);
    gst_object_unref (bus);
    gst_object_unref (sink);
  }
  gst_debug_remove_log_function (find_secret_in_log);
  gst_debug_set_threshold_for_name ("socketiosink", GST_LEVEL_WARNING);
  assert_no_secret ("the debug log", logged_secrets->str);
  g_string_free (logged_secrets, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_not_negotiated)
{
  /* not gst_harness_new_parse(): its bin fails the state change when the
   * refused connection's error comes while the sink is still prerolling */
  GstHarness *h = harness_new ("http://127.0.0.1:1", NULL);

  gst_harness_set_src_caps_str (h, "video/x-raw,format=I420,width=8,"
      "height=8,framerate=1/1");
  g_assert_cmpint (gst_harness_push (h, gst_buffer_new_allocate (NULL, 96,
              NULL)), ==, GST_FLOW_NOT_NEGOTIATED);
  teardown (h);
}

GST_END_TEST;

/* A port nobody listens on: the error names the URL. */
GST_START_TEST (test_unreachable)
{
  GSocketListener *listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  gchar *url;
  GstHarness *h;
  GError *error;

  /* a port that was free a moment ago and is closed now */
  g_socket_listener_close (listener);
  g_object_unref (listener);
  url = g_strdup_printf ("http://127.0.0.1:%u", port);
  h = harness_new (url, NULL);
  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0, 0)), ==,
      GST_FLOW_ERROR);
  error = element_error (h->element, 5 * GST_SECOND);
  g_assert_nonnull (error);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_OPEN_WRITE));
  g_assert_nonnull (strstr (error->message, url));
  g_error_free (error);
  teardown (h);
  g_free (url);
}

GST_END_TEST;

/* A server that is down: the message names its host and port, and the
 * details carry the location but no HTTP status or TLS flags. */
GST_START_TEST (test_unreachable_details)
{
  GSocketListener *listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  const GstStructure *details = NULL;
  gchar *url, *host_port;
  GstHarness *h;
  GstMessage *msg;
  GError *error = NULL;

  g_socket_listener_close (listener);
  g_object_unref (listener);
  url = g_strdup_printf ("http://127.0.0.1:%u", port);
  host_port = g_strdup_printf ("host 127.0.0.1, port %u", port);
  h = harness_new (url, NULL);
  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_ERROR);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (h->element),
      5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  gst_message_parse_error_details (msg, &details);
  g_assert_nonnull (strstr (error->message, host_port));
  g_assert_nonnull (strstr (error->message, "running"));
  g_assert_nonnull (details);
  g_assert_cmpstr (gst_structure_get_string (details, "location"), ==, url);
  g_assert_false (gst_structure_has_field (details, "http-status-code"));
  g_assert_false (gst_structure_has_field (details, "tls-errors"));
  g_error_free (error);
  gst_message_unref (msg);
  teardown (h);
  g_free (host_port);
  g_free (url);
}

GST_END_TEST;

/* A server that accepts TCP and never answers: connect-timeout applies,
 * and a state change while waiting returns at once. */
GST_START_TEST (test_connect_timeout)
{
  GSocketListener *listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  gchar *url = g_strdup_printf ("http://127.0.0.1:%u", port);
  GstHarness *h = harness_new (url, "connect-timeout=300000000");
  gint64 start = g_get_monotonic_time ();
  GError *error;

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0, 0)), ==,
      GST_FLOW_ERROR);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 290 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 2000 * 1000);
  error = element_error (h->element, 0);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, url));
  g_assert_nonnull (strstr (error->message, "connect-timeout"));
  g_error_free (error);
  teardown (h);
  g_socket_listener_close (listener);
  g_object_unref (listener);
  g_free (url);
}

GST_END_TEST;

static gpointer
push_one (GstHarness * h)
{
  return GINT_TO_POINTER (gst_harness_push (h, audio_buffer (2048, 0, 0)));
}

GST_START_TEST (test_unlock_while_connecting)
{
  GSocketListener *listener = g_socket_listener_new ();
  guint16 port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  gchar *url = g_strdup_printf ("http://127.0.0.1:%u", port);
  GstHarness *h = harness_new (url, NULL);
  GThread *thread = g_thread_new ("push", (GThreadFunc) push_one, h);
  gint64 start;

  g_usleep (100 * 1000);
  start = g_get_monotonic_time ();
  g_assert_cmpint (gst_element_set_state (h->element, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 200 * 1000);
  g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (thread)), ==,
      GST_FLOW_FLUSHING);
  teardown (h);
  g_socket_listener_close (listener);
  g_object_unref (listener);
  g_free (url);
}

GST_END_TEST;

/* The exact frames of one emit, and the answer to a ping. */
GST_START_TEST (test_wire_format)
{
  const gchar *ping[] = { "2", NULL };
  FakeServer *fake = fake_server_new ("40/audio,{\"sid\":\"s\"}", ping,
      TRUE);
  GstHarness *h = harness_new (fake->url, "namespace=/audio "
      "auth={\\\"token\\\":\\\"abc\\\"}");

  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 7, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "40/audio,{\"token\":\"abc\"}",
          5 * GST_SECOND));
  g_assert_true (fake_saw_text (fake, "451-/audio,0[\"audio_data\","
          "{\"audio_data\":{\"_placeholder\":true,\"num\":0},\"seq\":0,"
          "\"pts\":0,\"duration\":64000000,\"format\":\"S16LE\","
          "\"rate\":16000,\"channels\":1,\"stream_id\":\"", 5 * GST_SECOND));
  g_assert_true (fake_saw_text (fake, "3", 5 * GST_SECOND));
  teardown (h);
  /* state change to NULL: DISCONNECT for the namespace */
  g_assert_true (fake_saw_text (fake, "41/audio,", 5 * GST_SECOND));
  fake_server_free (fake);
}

GST_END_TEST;

static void
check_connect_failure (const gchar * reply, const gchar * const *after_join,
    GQuark domain, gint code, const gchar * expected)
{
  FakeServer *fake = fake_server_new (reply, after_join, TRUE);
  /* errors, not reconnections, are what these check */
  GstHarness *h = harness_new (fake->url, "reconnect=false");
  GError *error;

  attach_bus (h);
  gst_harness_push (h, audio_buffer (2048, 0, 0));
  gst_harness_push (h, audio_buffer (2048, 0, 0));
  error = element_error (h->element, 5 * GST_SECOND);
  g_assert_nonnull (error);
  if (!g_error_matches (error, domain, code) ||
      strstr (error->message, expected) == NULL)
    g_error ("unexpected error '%s' (%s %d), wanted '%s'", error->message,
        g_quark_to_string (error->domain), error->code, expected);
  g_error_free (error);
  teardown (h);
  fake_server_free (fake);
}

GST_START_TEST (test_namespace_refused)
{
  check_connect_failure ("44{\"message\":\"Not today\"}", NULL,
      GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED, "Not today");
}

GST_END_TEST;

GST_START_TEST (test_old_server_detected)
{
  check_connect_failure ("40", NULL, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_OPEN_WRITE, "Socket.IO v4");
}

GST_END_TEST;

/* Hostile or broken packets end the connection with a clear error; they
 * never crash or leak. */
GST_START_TEST (test_malformed_packets)
{
  const gchar *nested_frames[2] = { NULL, NULL };
  const gchar *bad[][2] = {
    {"42[", NULL},
    {"4511-[\"a\"]", NULL},
    {"bin:unannounced", NULL},
    {"9", NULL},
    {"43[]", NULL},
    {"0{\"sid\":\"again\",\"pingInterval\":1,\"pingTimeout\":1}", NULL},
  };
  GString *nested = g_string_new ("42[\"x\",");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    check_connect_failure (NULL, bad[i], GST_STREAM_ERROR,
        GST_STREAM_ERROR_DECODE, "Socket.IO v5");

  for (i = 0; i < 200000; i++)
    g_string_append_c (nested, '[');
  nested_frames[0] = nested->str;
  check_connect_failure (NULL, nested_frames, GST_STREAM_ERROR,
      GST_STREAM_ERROR_DECODE, "Socket.IO v5");
  g_string_free (nested, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_server_disconnect_and_close)
{
  const gchar *disconnect[] = { "41", NULL };
  const gchar *close[] = { "1", NULL };

  check_connect_failure (NULL, disconnect, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_WRITE, "disconnected this client");
  check_connect_failure (NULL, close, GST_RESOURCE_ERROR,
      GST_RESOURCE_ERROR_WRITE, "disconnected this client");
}

GST_END_TEST;

/* A binary event from the server reaches the bus with its attachment. */
GST_START_TEST (test_binary_server_event)
{
  const gchar *frames[] = {
    "451-[\"transcript\",{\"audio\":{\"_placeholder\":true,\"num\":0},"
        "\"n\":1}]",
    "bin:hello",
    "42[\"other\",2]",
    NULL
  };
  FakeServer *fake = fake_server_new (NULL, frames, TRUE);
  GstHarness *h = harness_new (fake->url, NULL);
  GstMessage *msg;
  const GstStructure *s;
  const GValue *value;
  GstBufferList *list;
  GstMapInfo map;

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0, 0)), ==,
      GST_FLOW_OK);

  msg = wait_element_message (h, "socketio-event", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);

  g_assert_cmpstr (gst_structure_get_string (s, "name"), ==, "transcript");
  g_assert_cmpstr (gst_structure_get_string (s, "args"), ==,
      "[{\"audio\":{\"_placeholder\":true,\"num\":0},\"n\":1}]");
  value = gst_structure_get_value (s, "attachments");
  g_assert_nonnull (value);
  list = g_value_get_boxed (value);
  g_assert_cmpuint (gst_buffer_list_length (list), ==, 1);
  gst_buffer_map (gst_buffer_list_get (list, 0), &map, GST_MAP_READ);
  g_assert_cmpmem (map.data, map.size, "hello", 5);
  gst_buffer_unmap (gst_buffer_list_get (list, 0), &map);
  gst_message_unref (msg);

  /* and the next plain event still parses */
  msg = wait_element_message (h, "socketio-event", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  g_assert_cmpstr (gst_structure_get_string (s, "name"), ==, "other");
  g_assert_cmpstr (gst_structure_get_string (s, "args"), ==, "[2]");
  g_assert_null (gst_structure_get_value (s, "attachments"));
  gst_message_unref (msg);

  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* The next socketio-event on the bus: its name and args, and how many
 * attachments it carries. */
static gchar *
next_server_event (GstHarness * h, gchar ** args, guint * attachments)
{
  GstMessage *msg = wait_element_message (h, "socketio-event",
      5 * GST_SECOND);
  const GstStructure *s;
  const GValue *value;
  gchar *name;

  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  name = g_strdup (gst_structure_get_string (s, "name"));
  *args = g_strdup (gst_structure_get_string (s, "args"));
  value = gst_structure_get_value (s, "attachments");
  *attachments = value ? gst_buffer_list_length (g_value_get_boxed (value)) : 0;
  gst_message_unref (msg);
  return name;
}

static void
assert_next_server_event (GstHarness * h, const gchar * name,
    const gchar * args, guint attachments)
{
  gchar *got_args, *got_name;
  guint got_attachments;

  got_name = next_server_event (h, &got_args, &got_attachments);
  g_assert_cmpstr (got_name, ==, name);
  g_assert_cmpstr (got_args, ==, args);
  g_assert_cmpuint (got_attachments, ==, attachments);
  g_free (got_name);
  g_free (got_args);
}

/* The connection the events came on is still the first one, and works. */
static void
assert_connection_kept (GstHarness * h, FakeServer * fake)
{
  GstStructure *stats;

  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-1[", 5 * GST_SECOND));
  stats = sink_stats (h);
  g_assert_true (g_value_get_boolean (gst_structure_get_value (stats,
              "connected")));
  g_assert_cmpuint (stats_uint64 (stats, "disconnects"), ==, 0);
  gst_structure_free (stats);
  g_assert_null (element_error (h->element, 0));
}

/* Valid JSON of any depth is an event like any other. */
GST_START_TEST (test_deep_server_event)
{
  GString *deep = g_string_new ("42[\"deep\",");
  GString *args = g_string_new ("[");
  const gchar *frames[] = { NULL, "42[\"after\",1]", NULL };
  FakeServer *fake;
  GstHarness *h;
  guint i;

  for (i = 0; i < 10000; i++)
    g_string_append (args, "{\"k\":[");
  for (i = 0; i < 10000; i++)
    g_string_append (args, "]}");
  g_string_append_c (args, ']');
  g_string_append (deep, args->str + 1);
  frames[0] = deep->str;
  fake = fake_server_new (NULL, frames, TRUE);
  h = harness_new (fake->url, "reconnect=false");
  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);

  assert_next_server_event (h, "deep", args->str, 0);
  assert_next_server_event (h, "after", "[1]", 0);
  assert_connection_kept (h, fake);

  teardown (h);
  fake_server_free (fake);
  g_string_free (deep, TRUE);
  g_string_free (args, TRUE);
}

GST_END_TEST;

/* A binary event for a namespace the sink did not join is skipped with
 * its attachments; what follows is read as usual. */
GST_START_TEST (test_binary_event_other_namespace)
{
  const gchar *frames[] = {
    "452-/other,[\"x\",{\"_placeholder\":true,\"num\":0},"
        "{\"_placeholder\":true,\"num\":1}]",
    "bin:first",
    "bin:second",
    "42[\"after\",1]",
    "451-[\"mine\",{\"_placeholder\":true,\"num\":0}]",
    "bin:third",
    NULL
  };
  FakeServer *fake = fake_server_new (NULL, frames, TRUE);
  GstHarness *h = harness_new (fake->url, "reconnect=false");

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);

  assert_next_server_event (h, "after", "[1]", 0);
  assert_next_server_event (h, "mine",
      "[{\"_placeholder\":true,\"num\":0}]", 1);
  assert_connection_kept (h, fake);

  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* The args of a server event are the server's own text, byte for byte. */
GST_START_TEST (test_server_event_args_verbatim)
{
  const gchar *args = "[ 1e+21,18446744073709551616, -0.0,\"\\u0000\" , "
      "\"\\ud83d\\ude00\",\"\\ud83d\",{\"k\" : [ ]}\n]";
  gchar *event = g_strconcat ("42[\"fidelity\",", args + 1, NULL);
  const gchar *frames[] = { event, "42[7,\"numbered\"]", NULL };
  FakeServer *fake = fake_server_new (NULL, frames, TRUE);
  GstHarness *h = harness_new (fake->url, "reconnect=false");

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);

  assert_next_server_event (h, "fidelity", args, 0);
  assert_next_server_event (h, "7", "[\"numbered\"]", 0);
  assert_connection_kept (h, fake);

  teardown (h);
  fake_server_free (fake);
  g_free (event);
}

GST_END_TEST;

/* Waits (10 s at most) until stats has @count emits acked, or with
 * @or_timed_out acked or timed out. */
static void
wait_emits_done (GstHarness * h, guint64 count, gboolean or_timed_out)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  GstStructure *stats;
  guint64 done;

  do {
    stats = sink_stats (h);
    done = stats_uint64 (stats, "acked");
    if (or_timed_out)
      done += stats_uint64 (stats, "ack-timeouts");
    gst_structure_free (stats);
    if (done >= count)
      return;
    g_usleep (1000);
  } while (g_get_monotonic_time () < deadline);
  g_error ("only %" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT " done",
      done, count);
}

static void
wait_acked (GstHarness * h, guint64 count)
{
  wait_emits_done (h, count, FALSE);
}

GST_START_TEST (test_acks_out_of_order)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "max-in-flight=2");
  GstStructure *stats;
  guint i;

  fake->reverse_acks = TRUE;
  for (i = 0; i < 20; i++)
    g_assert_cmpint (gst_harness_push (h, audio_buffer (320, i, i *
                10 * GST_MSECOND)), ==, GST_FLOW_OK);
  wait_acked (h, 20);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "emitted"), ==, 20);
  g_assert_cmpuint (stats_uint64 (stats, "ack-timeouts"), ==, 0);
  g_assert_cmpuint (g_value_get_uint (gst_structure_get_value (stats,
              "in-flight")), ==, 0);
  gst_structure_free (stats);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A server that never acks: each emit times out, is counted and warned
 * about, and frees its place, so the stream goes on. */
GST_START_TEST (test_ack_timeout)
{
  FakeServer *fake = fake_server_new (NULL, NULL, FALSE);
  GstHarness *h = harness_new (fake->url,
      "max-in-flight=1 ack-timeout=100000000");
  GstStructure *stats;
  GstMessage *msg;
  guint i;

  attach_bus (h);
  for (i = 0; i < 3; i++)
    g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
        GST_FLOW_OK);
  g_usleep (400 * 1000);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "ack-timeouts"), ==, 3);
  g_assert_cmpuint (stats_uint64 (stats, "acked"), ==, 0);
  gst_structure_free (stats);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (h->element), 0,
      GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* TRUE once @fake saw the default audio event of ack id and seq @seq,
 * with @pts and @duration. */
static gboolean
fake_saw_audio_event (FakeServer * fake, guint seq, GstClockTime pts,
    GstClockTime duration)
{
  gchar *text = g_strdup_printf ("451-%u[\"audio_data\",{\"audio_data\":"
      "{\"_placeholder\":true,\"num\":0},\"seq\":%u,\"pts\":%"
      G_GUINT64_FORMAT ",\"duration\":%" G_GUINT64_FORMAT ",", seq, seq,
      pts, duration);
  gboolean seen = fake_saw_text (fake, text, 5 * GST_SECOND);

  g_free (text);
  return seen;
}

/* Buffers larger than max-batch-bytes are split on sample boundaries and
 * keep exact timestamps. */
GST_START_TEST (test_split_timestamps)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "max-batch-bytes=1001");

  gst_harness_set_src_caps_str (h, "audio/x-raw,format=S16LE,rate=16000,"
      "channels=2,layout=interleaved");
  /* 1001 bytes round down to 250 stereo frames = 1000 bytes, 15.625 ms */
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2500, 0, GST_SECOND)),
      ==, GST_FLOW_OK);
  g_assert_true (fake_saw_audio_event (fake, 0, 1000000000, 15625000));
  g_assert_true (fake_saw_audio_event (fake, 1, 1015625000, 15625000));
  g_assert_true (fake_saw_text (fake, "451-2[\"audio_data\",{\"audio_data\":"
          "{\"_placeholder\":true,\"num\":0},\"seq\":2,\"pts\":1031250000,"
          "\"duration\":7812500,\"format\":\"S16LE\",\"rate\":16000,"
          "\"channels\":2,\"stream_id\":\"", 5 * GST_SECOND));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A buffer that makes an event of its own goes past the batch; an
 * untimed one after it still gets the pts where it starts, and so does
 * the next, as when every buffer went through the batch. */
GST_START_TEST (test_untimed_after_whole_buffers)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, NULL);

  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0, GST_SECOND)),
      ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0,
              GST_CLOCK_TIME_NONE)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (2048, 0,
              GST_CLOCK_TIME_NONE)), ==, GST_FLOW_OK);
  g_assert_true (fake_saw_audio_event (fake, 0, 1000000000, 64000000));
  g_assert_true (fake_saw_audio_event (fake, 1, 1064000000, 64000000));
  g_assert_true (fake_saw_audio_event (fake, 2, 1128000000, 64000000));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

static GstBuffer *
numbered_buffer (gsize size, guint64 seq, GstClockTime pts)
{
  GstBuffer *buffer = audio_buffer (size, (guint8) seq, pts);

  gst_buffer_add_sio_seq_meta (buffer, seq);
  return buffer;
}

/* The next GstSioAck or GstSioReplay sent upstream, skipping others. */
static GstEvent *
pull_sio_event (GstHarness * h, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;

  while (g_get_monotonic_time () < deadline) {
    GstEvent *event = gst_harness_try_pull_upstream_event (h);

    if (event == NULL) {
      g_usleep (1000);
      continue;
    }
    if (gst_sio_ack_event_parse (event, NULL) ||
        gst_sio_replay_event_parse (event, NULL))
      return event;
    gst_event_unref (event);
  }
  return NULL;
}

static guint64
pull_ack (GstHarness * h)
{
  GstEvent *event = pull_sio_event (h, 5 * GST_SECOND);
  guint64 seq = G_MAXUINT64;

  g_assert_nonnull (event);
  g_assert_true (gst_sio_ack_event_parse (event, &seq));
  gst_event_unref (event);
  return seq;
}

static gboolean
answers_ack_support (GstHarness * h)
{
  GstQuery *query = gst_sio_ack_support_query_new ();
  gboolean supported = FALSE;

  g_assert_true (gst_pad_peer_query (h->srcpad, query));
  g_assert_true (gst_sio_ack_support_query_parse (query, &supported));
  gst_query_unref (query);
  return supported;
}

/* Each acknowledged buffer is acked upstream, once, after every emit that
 * carried part of it was acknowledged. */
GST_START_TEST (test_acks_sent_upstream)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "max-batch-bytes=1000");
  GstStructure *stats;

  g_assert_true (answers_ack_support (h));
  g_assert_cmpint (gst_harness_push (h, numbered_buffer (640, 7, 0)), ==,
      GST_FLOW_OK);
  g_assert_cmpuint (pull_ack (h), ==, 7);
  /* 2500 bytes go out as three emits: one ack, after the third */
  g_assert_cmpint (gst_harness_push (h, numbered_buffer (2500, 8,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (pull_ack (h), ==, 8);
  g_assert_true (fake_saw_text (fake, "451-3[", 5 * GST_SECOND));
  g_assert_null (pull_sio_event (h, 200 * GST_MSECOND));
  /* the payload's seq is the buffer's */
  g_assert_true (fake_saw_text (fake, "451-1[\"audio_data\",{\"audio_data\":"
          "{\"_placeholder\":true,\"num\":0},\"seq\":8,", 0));

  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "acks-upstream"), ==, 2);
  g_assert_true (g_value_get_boolean (gst_structure_get_value (stats,
              "upstream-retains")));
  gst_structure_free (stats);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

GST_START_TEST (test_no_ack_support_without_acks)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "ack=false");

  g_assert_false (answers_ack_support (h));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* Drops the connection, waits for the reconnection, then pushes @next:
 * the sink must ask upstream to replay from @from_seq. */
static void
drop_and_expect_replay (GstHarness * h, FakeServer * fake, GstBuffer * next,
    guint64 from_seq)
{
  GstMessage *msg;
  GstEvent *event;
  guint64 asked = 0;

  fake_server_drop (fake);
  msg = wait_element_message (h, "socketio-reconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  g_assert_cmpint (gst_harness_push (h, next), ==, GST_FLOW_OK);
  event = pull_sio_event (h, 5 * GST_SECOND);
  g_assert_nonnull (event);
  g_assert_true (gst_sio_replay_event_parse (event, &asked));
  g_assert_cmpuint (asked, ==, from_seq);
  gst_event_unref (event);
}

/* The server vanishes with two buffers unacknowledged: once reconnected,
 * the sink asks upstream to replay from the older one and drops the
 * buffer it holds (it comes back with the replay). */
GST_START_TEST (test_replay_after_reconnect)
{
  FakeServer *fake = fake_server_new (NULL, NULL, FALSE);
  GstHarness *h = harness_new (fake->url,
      "reconnect-delay=10000000 reconnect-delay-max=50000000");
  GstStructure *stats;
  GstBuffer *replayed;

  attach_bus (h);
  g_assert_true (answers_ack_support (h));
  g_assert_cmpint (gst_harness_push (h, numbered_buffer (320, 3, 0)), ==,
      GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_buffer (320, 4,
              10 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-1[", 5 * GST_SECOND));

  /* the next buffer meets the new connection */
  drop_and_expect_replay (h, fake, numbered_buffer (320, 5,
          20 * GST_MSECOND), 3);
  /* buffer 5 was not sent on the new connection: the replay brings it */
  g_assert_cmpuint (fake_count_texts (fake, "451-"), ==, 2);

  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "reconnects"), ==, 1);
  g_assert_cmpuint (stats_uint64 (stats, "disconnects"), ==, 1);
  g_assert_cmpuint (stats_uint64 (stats, "lost"), ==, 2);
  g_assert_cmpuint (stats_uint64 (stats, "replays"), ==, 1);
  gst_structure_free (stats);

  /* replayed buffers go out flagged */
  replayed = numbered_buffer (320, 3, 0);
  gst_buffer_get_sio_seq_meta (replayed)->replay = TRUE;
  g_assert_cmpint (gst_harness_push (h, replayed), ==, GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-0[\"audio_data\",{\"audio_data\":"
          "{\"_placeholder\":true,\"num\":0},\"seq\":3,\"pts\":0,"
          "\"duration\":10000000,\"replay\":true,", 5 * GST_SECOND));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* Every event carries the stream's id: random, the same after a
 * reconnection, a new one when the element starts again (its seq numbering
 * restarts), the property's when set. The first event after audio went
 * missing (a pts hole) says so, with how much; replays are no gap. */
GST_START_TEST (test_stream_identity_and_gaps)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url,
      "reconnect-delay=10000000 reconnect-delay-max=50000000");
  gchar *first, *id, *id_after, *event, *property;
  GstMessage *msg;
  GstBuffer *replayed;

  attach_bus (h);
  /* 320 bytes: 10 ms */
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  first = fake_nth_event (fake, 0, 5 * GST_SECOND);
  g_assert_nonnull (first);
  id = event_stream_id (first);
  g_assert_nonnull (id);
  g_assert_true (g_uuid_string_is_valid (id));
  g_assert_null (strstr (first, "discont"));
  g_object_get (h->element, "stream-id", &property, NULL);
  g_assert_cmpstr (property, ==, id);
  g_free (property);

  fake_server_drop (fake);
  msg = wait_element_message (h, "socketio-reconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0,
              10 * GST_MSECOND)), ==, GST_FLOW_OK);
  event = fake_nth_event (fake, 1, 5 * GST_SECOND);
  id_after = event_stream_id (event);
  g_assert_cmpstr (id_after, ==, id);
  g_assert_null (strstr (event, "discont"));
  g_free (id_after);
  g_free (event);

  /* 20 ms sent, then a buffer at 3 s: 2.98 s missing */
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0,
              3 * GST_SECOND)), ==, GST_FLOW_OK);
  event = fake_nth_event (fake, 2, 5 * GST_SECOND);
  g_assert_nonnull (strstr (event, "\"discont\":true,"
          "\"missing_duration\":2980000000,\"missing_samples\":47680"));
  g_free (event);
  /* contiguous again, then a replayed buffer from long ago: no gap */
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0,
              3 * GST_SECOND + 10 * GST_MSECOND)), ==, GST_FLOW_OK);
  replayed = numbered_buffer (320, 0, 0);
  gst_buffer_get_sio_seq_meta (replayed)->replay = TRUE;
  g_assert_cmpint (gst_harness_push (h, replayed), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0,
              3 * GST_SECOND + 20 * GST_MSECOND)), ==, GST_FLOW_OK);
  for (guint n = 3; n < 6; n++) {
    event = fake_nth_event (fake, n, 5 * GST_SECOND);
    g_assert_nonnull (event);
    g_assert_null (strstr (event, "discont"));
    g_free (event);
  }
  teardown (h);
  fake_server_free (fake);

  /* started again: seq restarts, so does the id */
  fake = fake_server_new (NULL, NULL, TRUE);
  h = harness_new (fake->url, NULL);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  event = fake_nth_event (fake, 0, 5 * GST_SECOND);
  id_after = event_stream_id (event);
  g_assert_nonnull (id_after);
  g_assert_cmpstr (id_after, !=, id);
  g_free (id_after);
  g_free (event);
  teardown (h);
  fake_server_free (fake);

  /* the property's id, verbatim (JSON-escaped) */
  fake = fake_server_new (NULL, NULL, TRUE);
  h = harness_new (fake->url, "stream-id=call-42");
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  event = fake_nth_event (fake, 0, 5 * GST_SECOND);
  g_assert_nonnull (strstr (event, "\"stream_id\":\"call-42\""));
  g_free (event);
  teardown (h);
  fake_server_free (fake);
  g_free (first);
  g_free (id);
}

GST_END_TEST;

/* The size of the last binary frame once @count have arrived. */
static gsize
fake_binary_size (FakeServer * fake, guint count)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gsize size;

  g_mutex_lock (&fake->lock);
  while (fake->binaries < count &&
      g_cond_wait_until (&fake->cond, &fake->lock, deadline));
  g_assert_cmpuint (fake->binaries, ==, count);
  size = g_bytes_get_size (fake->last_binary);
  g_mutex_unlock (&fake->lock);
  return size;
}

static GstBuffer *
packet_buffer (gsize size, GstClockTime pts, GstClockTime duration)
{
  GstBuffer *buffer = audio_buffer (size, (guint8) size, pts);

  GST_BUFFER_DURATION (buffer) = duration;
  return buffer;
}

/* Opus: one packet per event, whole, with "caps" in place of the raw
 * format; the stream headers from the caps go first on every connection
 * as one audio_header event, and header buffers in the stream are not
 * sent as audio. */
GST_START_TEST (test_compressed_packets)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url,
      "reconnect-delay=10000000 reconnect-delay-max=50000000");
  GValue headers = G_VALUE_INIT, header = G_VALUE_INIT;
  GstBuffer *opus_head = gst_buffer_new_wrapped (g_strdup ("OpusHead1234567"),
      15), *opus_tags = gst_buffer_new_wrapped (g_strdup ("OpusTags123"), 11);
  GstCaps *caps;
  GstBuffer *in_stream_header;
  GstMessage *msg;
  gchar *event;

  attach_bus (h);
  g_value_init (&headers, GST_TYPE_ARRAY);
  g_value_init (&header, GST_TYPE_BUFFER);
  GST_BUFFER_FLAG_SET (opus_head, GST_BUFFER_FLAG_HEADER);
  GST_BUFFER_FLAG_SET (opus_tags, GST_BUFFER_FLAG_HEADER);
  gst_value_set_buffer (&header, opus_head);
  gst_value_array_append_value (&headers, &header);
  gst_value_set_buffer (&header, opus_tags);
  gst_value_array_append_value (&headers, &header);
  caps = gst_caps_new_simple ("audio/x-opus", "rate", G_TYPE_INT, 48000,
      "channels", G_TYPE_INT, 1, "channel-mapping-family", G_TYPE_INT, 0, NULL);
  gst_structure_take_value (gst_caps_get_structure (caps, 0), "streamheader",
      &headers);
  g_value_unset (&header);
  gst_harness_set_src_caps (h, caps);

  /* the header buffers come in the stream too: not audio */
  in_stream_header = gst_buffer_ref (opus_head);
  g_assert_cmpint (gst_harness_push (h, in_stream_header), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, packet_buffer (61, 0,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 2), ==, 61);
  event = fake_nth_event (fake, 0, 5 * GST_SECOND);
  g_assert_true (g_str_has_prefix (event, "451-[\"audio_header\","
          "{\"headers\":{\"_placeholder\":true,\"num\":0},"
          "\"header_sizes\":[15,11],\"caps\":\"audio/x-opus, rate=(int)48000, "
          "channels=(int)1, channel-mapping-family=(int)0\",\"stream_id\":\""));
  g_free (event);
  event = fake_nth_event (fake, 1, 5 * GST_SECOND);
  g_assert_true (g_str_has_prefix (event, "451-0[\"audio_data\","
          "{\"audio_data\":{\"_placeholder\":true,\"num\":0},\"seq\":0,"
          "\"pts\":0,\"duration\":20000000,\"caps\":\"audio/x-opus, "
          "rate=(int)48000, channels=(int)1, channel-mapping-family=(int)0\","
          "\"stream_id\":\""));
  g_free (event);
  /* packets are never joined nor split, whatever their size */
  g_assert_cmpint (gst_harness_push (h, packet_buffer (203, 20 * GST_MSECOND,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 3), ==, 203);

  /* a new connection: the headers again, first */
  fake_server_drop (fake);
  msg = wait_element_message (h, "socketio-reconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  g_assert_cmpint (gst_harness_push (h, packet_buffer (47, 40 * GST_MSECOND,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 5), ==, 47);
  event = fake_nth_event (fake, 3, 5 * GST_SECOND);
  g_assert_true (g_str_has_prefix (event, "451-[\"audio_header\","));
  g_free (event);
  event = fake_nth_event (fake, 4, 5 * GST_SECOND);
  g_assert_nonnull (strstr (event, "\"pts\":40000000,\"duration\":20000000,"
          "\"caps\":"));
  g_free (event);

  gst_buffer_unref (opus_head);
  gst_buffer_unref (opus_tags);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

static GstBuffer *
numbered_packet (gsize size, guint64 seq, GstClockTime pts)
{
  GstBuffer *buffer = packet_buffer (size, pts, 20 * GST_MSECOND);

  gst_buffer_add_sio_seq_meta (buffer, seq);
  return buffer;
}

/* Compressed packets through a replay: they come back whole, under their
 * seq, flagged, and the headers (HEADER buffers here, the caps have no
 * streamheader) go first again on the new connection. */
GST_START_TEST (test_compressed_replay)
{
  FakeServer *fake = fake_server_new (NULL, NULL, FALSE);
  GstHarness *h = harness_new (fake->url,
      "reconnect-delay=10000000 reconnect-delay-max=50000000");
  GstBuffer *header = audio_buffer (9, 0, GST_CLOCK_TIME_NONE), *replayed;
  gchar *text;

  attach_bus (h);
  gst_harness_set_src_caps_str (h, "audio/x-opus,rate=48000,channels=1,"
      "channel-mapping-family=0");
  g_assert_true (answers_ack_support (h));
  GST_BUFFER_FLAG_SET (header, GST_BUFFER_FLAG_HEADER);
  g_assert_cmpint (gst_harness_push (h, header), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_packet (70, 3, 0)), ==,
      GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_packet (90, 4,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 3), ==, 90);

  drop_and_expect_replay (h, fake, numbered_packet (50, 5, 40 * GST_MSECOND),
      3);

  replayed = numbered_packet (70, 3, 0);
  gst_buffer_get_sio_seq_meta (replayed)->replay = TRUE;
  g_assert_cmpint (gst_harness_push (h, replayed), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 5), ==, 70);
  text = fake_nth_event (fake, 3, 5 * GST_SECOND);
  g_assert_true (g_str_has_prefix (text, "451-[\"audio_header\","
          "{\"headers\":{\"_placeholder\":true,\"num\":0},"
          "\"header_sizes\":[9],"));
  g_free (text);
  text = fake_nth_event (fake, 4, 5 * GST_SECOND);
  g_assert_nonnull (strstr (text, "\"seq\":3,\"pts\":0,"
          "\"duration\":20000000,\"replay\":true,\"caps\":"));
  g_free (text);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* batch-duration on compressed audio: whole packets, as many to an event
 * as make up the duration, their sizes in "packet_sizes", the pts and seq
 * the first one's, the duration all of theirs; each packet is acked
 * upstream; what is left goes at EOS. */
GST_START_TEST (test_compressed_batches)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "batch-duration=60000000");
  gchar *text;

  gst_harness_set_src_caps_str (h, "audio/x-opus,rate=48000,channels=1,"
      "channel-mapping-family=0");
  g_assert_true (answers_ack_support (h));
  g_assert_cmpint (gst_harness_push (h, numbered_packet (70, 3, 0)), ==,
      GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_packet (90, 4,
              20 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_packet (50, 5,
              40 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpint (gst_harness_push (h, numbered_packet (40, 6,
              60 * GST_MSECOND)), ==, GST_FLOW_OK);
  g_assert_cmpuint (fake_binary_size (fake, 1), ==, 70 + 90 + 50);
  text = fake_nth_event (fake, 0, 5 * GST_SECOND);
  g_assert_true (g_str_has_prefix (text, "451-0[\"audio_data\","
          "{\"audio_data\":{\"_placeholder\":true,\"num\":0},\"seq\":3,"
          "\"pts\":0,\"duration\":60000000,\"caps\":"));
  g_assert_true (g_str_has_suffix (text, ",\"packet_sizes\":[70,90,50]}]"));
  g_free (text);
  g_assert_cmpuint (pull_ack (h), ==, 3);
  g_assert_cmpuint (pull_ack (h), ==, 4);
  g_assert_cmpuint (pull_ack (h), ==, 5);

  /* the fourth waits for more, or for EOS */
  g_assert_true (gst_harness_push_event (h, gst_event_new_eos ()));
  g_assert_cmpuint (fake_binary_size (fake, 2), ==, 40);
  text = fake_nth_event (fake, 1, 5 * GST_SECOND);
  g_assert_nonnull (strstr (text, "\"seq\":6,\"pts\":60000000,"
          "\"duration\":20000000,"));
  g_assert_true (g_str_has_suffix (text, ",\"packet_sizes\":[40]}]"));
  g_free (text);
  g_assert_cmpuint (pull_ack (h), ==, 6);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* Without an ackqueue, disconnected-policy=drop discards and counts what
 * arrives while reconnecting; the first connection is always waited for. */
GST_START_TEST (test_drop_while_reconnecting)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, "disconnected-policy=drop "
      "reconnect-delay=2000000000 reconnect-delay-max=2000000000");
  GstStructure *stats;
  GstBus *bus;
  GstMessage *msg;
  guint i;

  attach_bus (h);
  bus = GST_ELEMENT_BUS (h->element);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-0[", 5 * GST_SECOND));
  fake_server_drop (fake);
  msg = wait_element_message (h, "socketio-disconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  for (i = 0; i < 5; i++)
    g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
        GST_FLOW_OK);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "dropped-buffers"), ==, 5);
  g_assert_cmpuint (stats_uint64 (stats, "dropped-bytes"), ==, 1600);
  gst_structure_free (stats);
  msg = gst_bus_timed_pop_filtered (bus, 0, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* 100 000 ack timeouts in a row, from a server that never acks: the
 * sink's bookkeeping stays within its window (memory flat) and it warns
 * once for the whole run of timeouts, not once per timeout. */
GST_START_TEST (test_ack_timeouts_bounded)
{
  const guint total = RUNNING_ON_VALGRIND ? 4000 : 100000;
  FakeServer *fake = fake_server_new (NULL, NULL, FALSE);
  GstHarness *h;
  GstStructure *stats;
  GstMessage *msg;
  GstEvent *event;
  gsize rss_warm = 0, rss_end;
  guint i, warnings = 0;
  gint64 deadline;

  fake->forget_events = TRUE;
  h = harness_new (fake->url, "max-in-flight=1000 ack-timeout=1000000");
  attach_bus (h);
  g_assert_true (answers_ack_support (h));
  for (i = 0; i < total; i++) {
    g_assert_cmpint (gst_harness_push (h, numbered_buffer (2, i,
                i * GST_USECOND * 62)), ==, GST_FLOW_OK);
    if (i == total / 5)
      rss_warm = rss_kib ();
    /* acks for nothing: the harness would keep every event upstream */
    if (i % 1000 == 0)
      while ((event = gst_harness_try_pull_upstream_event (h)))
        gst_event_unref (event);
  }
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do {
    stats = sink_stats (h);
    i = stats_uint64 (stats, "ack-timeouts");
    gst_structure_free (stats);
  } while (i < total && g_get_monotonic_time () < deadline &&
      (g_usleep (10000), TRUE));
  rss_end = rss_kib ();
  while ((msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element),
              GST_MESSAGE_WARNING))) {
    warnings++;
    gst_message_unref (msg);
  }
  GST_INFO ("%u ack timeouts: RSS %" G_GSIZE_FORMAT " KiB after %u, %"
      G_GSIZE_FORMAT " KiB at the end; %u warnings", total, rss_warm,
      total / 5, rss_end, warnings);
  g_assert_cmpuint (i, ==, total);
  g_assert_cmpuint (warnings, ==, 1);
  if (!RUNNING_ON_VALGRIND)
    g_assert_cmpuint (rss_end, <=, rss_warm + 2048);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A server that breaks the protocol right after every join: the sink
 * backs off and gives up after max-reconnect-attempts, because a
 * connection that fails at once is not a success that resets the count. */
GST_START_TEST (test_reconnect_storm_bounded)
{
  const gchar *after_join[] = { "4this is no packet", NULL };
  FakeServer *fake = fake_server_new (NULL, after_join, TRUE);
  GstHarness *h = harness_new (fake->url, "reconnect-delay=10000000 "
      "reconnect-delay-max=200000000 max-reconnect-attempts=4");
  GError *error;
  guint joins;

  attach_bus (h);
  error = element_error (h->element, 10 * GST_SECOND);
  joins = fake_count_texts (fake, "40");
  GST_INFO ("%u joins before: %s", joins, error ? error->message : "none");
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, "Socket.IO"));
  g_error_free (error);
  /* the first connection and 4 attempts */
  g_assert_cmpuint (joins, ==, 5);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

static gboolean saw_ping_warning;

static void
find_ping_warning (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);

  if (level == GST_LEVEL_WARNING && text && strstr (text, "pingInterval 0"))
    saw_ping_warning = TRUE;
}

/* pingInterval and pingTimeout 0 in the open packet do not switch the dead
 * server watchdog off: the Engine.IO defaults are used instead, said in
 * the log, and the connection works. */
GST_START_TEST (test_ping_zero_keeps_watchdog)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h;
  GstMessage *msg;

  fake->open_packet = "0{\"sid\":\"fake\",\"upgrades\":[],\"pingInterval\":0,"
      "\"pingTimeout\":0,\"maxPayload\":1000000}";
  saw_ping_warning = FALSE;
  gst_debug_set_threshold_for_name ("socketiosink", GST_LEVEL_WARNING);
  gst_debug_add_log_function (find_ping_warning, NULL, NULL);
  h = harness_new (fake->url, NULL);
  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-0[", 5 * GST_SECOND));
  msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element), GST_MESSAGE_ERROR);
  g_assert_null (msg);
  gst_debug_remove_log_function (find_ping_warning);
  g_assert_true (saw_ping_warning);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A redirect is refused, with an error naming its target (query elided),
 * and nothing reaches the target. */
GST_START_TEST (test_redirect_refused)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  gchar *location = g_strdup_printf ("%s/moved/", fake->url);
  GstHarness *h = harness_new (location, NULL);
  GError *error;

  attach_bus (h);
  error = element_error (h->element, 5 * GST_SECOND);
  g_assert_nonnull (error);
  GST_INFO ("%s", error->message);
  g_assert_nonnull (strstr (error->message, "redirect"));
  g_assert_nonnull (strstr (error->message, "/socket.io/"));
  g_assert_null (strstr (error->message, "SECRET"));
  g_assert_cmpuint (fake_count_texts (fake, ""), ==, 0);
  g_error_free (error);
  teardown (h);
  fake_server_free (fake);
  g_free (location);
}

GST_END_TEST;

static gint stats_reader_stop;

static gpointer
read_stats_until_stopped (gpointer user_data)
{
  GstElement *sink = user_data;
  GstStructure *stats;

  while (!g_atomic_int_get (&stats_reader_stop)) {
    g_object_get (sink, "stats", &stats, NULL);
    gst_structure_free (stats);
    /* valgrind runs one thread at a time: a reader that never blocks
     * would hold the others up for whole time slices at each hand-over
     * between the stopping thread and the network thread */
    if (RUNNING_ON_VALGRIND)
      g_usleep (200);
  }
  return NULL;
}

/* The application reads stats while the sink starts and stops: stats
 * never touches a client being freed (valgrind checks it). */
GST_START_TEST (test_stats_while_stopping)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  GThread *reader;
  guint i;

  g_object_set (sink, "location", fake->url, NULL);
  g_atomic_int_set (&stats_reader_stop, 0);
  reader = g_thread_new ("stats-reader", read_stats_until_stopped, sink);
  for (i = 0; i < (RUNNING_ON_VALGRIND ? 10 : 50); i++) {
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_PAUSED), !=,
        GST_STATE_CHANGE_FAILURE);
    g_usleep (2000);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_NULL), ==,
        GST_STATE_CHANGE_SUCCESS);
  }
  g_atomic_int_set (&stats_reader_stop, 1);
  g_thread_join (reader);
  gst_object_unref (sink);
  fake_server_free (fake);
}

GST_END_TEST;

/* ---- issue 8: reaching more servers ----------------------------------- */

GST_START_TEST (test_reach_defaults)
{
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  gchar *ca_file, *agent, *proxy, *proxy_id, **cookies;
  gboolean use_system, strict, retry;
  GstStructure *headers, *stats;
  GTlsDatabase *database;
  GTlsInteraction *interaction;
  gint transports;

  g_object_get (sink, "transports", &transports, "ssl-ca-file", &ca_file,
      "ssl-use-system-ca-file", &use_system, "ssl-strict", &strict,
      "tls-database", &database, "tls-interaction", &interaction,
      "extra-headers", &headers, "user-agent", &agent, "cookies", &cookies,
      "proxy", &proxy, "proxy-id", &proxy_id, "retry-first-connection",
      &retry, "stats", &stats, NULL);
  g_assert_cmpint (transports, ==, 0);
  g_assert_cmpstr (g_enum_get_value (g_type_class_peek
          (g_type_from_name ("GstSocketIoTransports")), transports)->value_nick,
      ==, "auto");
  g_assert_null (ca_file);
  g_assert_true (use_system);
  g_assert_true (strict);
  g_assert_null (database);
  g_assert_null (interaction);
  g_assert_null (headers);
  g_assert_true (g_str_has_prefix (agent, "gst-socketio/"));
  g_assert_null (cookies);
  g_assert_null (proxy);
  g_assert_null (proxy_id);
  g_assert_false (retry);
  g_assert_cmpstr (gst_structure_get_string (stats, "transport"), ==, "none");
  gst_structure_free (stats);
  g_free (agent);

  /* an empty user-agent is the default again */
  g_object_set (sink, "user-agent", "", NULL);
  g_object_get (sink, "user-agent", &agent, NULL);
  g_assert_true (g_str_has_prefix (agent, "gst-socketio/"));
  g_free (agent);
  gst_object_unref (sink);
}

GST_END_TEST;

/* NULL->READY fails with a SETTINGS error whose text contains @expected
 * and no "SECRET" (in the message or its debug string). */
static void
assert_refused (GstElement * sink, const gchar * expected)
{
  GstBus *bus = gst_bus_new ();
  GstMessage *msg;
  GError *error = NULL;
  gchar *debug = NULL;

  gst_element_set_bus (sink, bus);
  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, &debug);
  GST_INFO ("refused: %s", error->message);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_SETTINGS));
  if (strstr (error->message, expected) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, expected);
  assert_no_secret ("an error", error->message);
  assert_no_secret ("an error's debug string", debug);
  g_error_free (error);
  g_free (debug);
  gst_message_unref (msg);
  gst_element_set_state (sink, GST_STATE_NULL);
  gst_element_set_bus (sink, NULL);
  gst_object_unref (bus);
}

static GstElement *
sink_for_settings (void)
{
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);

  g_object_set (sink, "location", "http://127.0.0.1:1", NULL);
  return sink;
}

/* A structure with one header field @name of string value @value. */
static void
check_bad_header (const gchar * name, const gchar * value,
    const gchar * expected)
{
  GstElement *sink = sink_for_settings ();
  GstStructure *headers = gst_structure_new_empty ("headers");

  gst_structure_set (headers, name, G_TYPE_STRING, value, NULL);
  g_object_set (sink, "extra-headers", headers, NULL);
  gst_structure_free (headers);
  assert_refused (sink, expected);
  gst_object_unref (sink);
}

static void
check_bad_string (const gchar * property, const gchar * value,
    const gchar * expected)
{
  GstElement *sink = sink_for_settings ();

  g_object_set (sink, property, value, NULL);
  assert_refused (sink, expected);
  gst_object_unref (sink);
}

static void
check_bad_cookie (const gchar * cookie)
{
  GstElement *sink = sink_for_settings ();
  const gchar *cookies[] = { "good=1", cookie, NULL };

  g_object_set (sink, "cookies", cookies, NULL);
  assert_refused (sink, "cookies");
  gst_object_unref (sink);
}

GST_START_TEST (test_reach_bad_settings)
{
  GstElement *sink;
  gchar *dir, *garbage;

  /* ssl-ca-file: missing, not a certificate, a directory */
  check_bad_string ("ssl-ca-file", "/nonexistent/ca.pem", "ssl-ca-file");
  check_bad_string ("ssl-ca-file", "/nonexistent/ca.pem",
      "/nonexistent/ca.pem");
  dir = g_dir_make_tmp ("socketiosink-XXXXXX", NULL);
  garbage = g_build_filename (dir, "garbage.pem", NULL);
  g_assert_true (g_file_set_contents (garbage, "not a certificate\n", -1,
          NULL));
  check_bad_string ("ssl-ca-file", garbage, "ssl-ca-file");
  check_bad_string ("ssl-ca-file", dir, "ssl-ca-file");
  g_remove (garbage);
  g_rmdir (dir);
  g_free (garbage);
  g_free (dir);

  /* extra-headers: names, the element's own headers, values; the message
   * names the header, never its value */
  check_bad_header ("X:Token", "SECRET", "X:Token");
  check_bad_header ("X:Token", "SECRET", "extra-headers");
  check_bad_header ("Host", "SECRET", "Host");
  check_bad_header ("connection", "SECRET", "connection");
  check_bad_header ("Sec-WebSocket-Key", "SECRET", "Sec-WebSocket-Key");
  check_bad_header ("Content-Length", "SECRET", "Content-Length");
  check_bad_header ("Transfer-Encoding", "SECRET", "extra-headers");
  check_bad_header ("Upgrade", "SECRET", "Upgrade");
  check_bad_header ("X-Token", "SECRET\r\nX-Evil: 1", "X-Token");
  check_bad_header ("X-Token", "SECRET\nX-Evil: 1", "extra-headers");

  /* a value in an array is checked too */
  sink = sink_for_settings ();
  {
    GstStructure *headers = gst_structure_new_empty ("headers");
    GValue array = G_VALUE_INIT, item = G_VALUE_INIT;

    gst_value_array_init (&array, 2);
    g_value_init (&item, G_TYPE_STRING);
    g_value_set_string (&item, "fine");
    gst_value_array_append_value (&array, &item);
    g_value_set_string (&item, "SECRET\r\n");
    gst_value_array_append_value (&array, &item);
    gst_structure_take_value (headers, "X-Multi", &array);
    g_value_unset (&item);
    g_object_set (sink, "extra-headers", headers, NULL);
    gst_structure_free (headers);
  }
  assert_refused (sink, "X-Multi");
  gst_object_unref (sink);

  check_bad_string ("user-agent", "agent\r\nX-Evil: 1", "user-agent");

  check_bad_cookie ("SECRET");
  check_bad_cookie ("=SECRET");
  check_bad_cookie ("a b=SECRET");
  check_bad_cookie ("a=SECRET; b=c");
  check_bad_cookie ("a=SECRET\r\nX-Evil: 1");

  check_bad_string ("proxy", "ftp://127.0.0.1:21", "proxy");
  check_bad_string ("proxy", "http://", "proxy");
  check_bad_string ("proxy", "http://user:SECRET@127.0.0.1:3128", "proxy-id");
  check_bad_string ("proxy", "user:SECRET@127.0.0.1:3128", "proxy-id");
  /* the same typo in location */
  check_bad_string ("location", "user:SECRET@127.0.0.1:1", "Invalid location");
  check_bad_string ("proxy", "http://127.0.0.1:3128/?token=SECRET", "proxy");
  check_bad_string ("proxy-pw", "SECRET", "proxy-id");
}

GST_END_TEST;

/* READY succeeds with one warning that mentions @what; back to NULL. */
static void
expect_ready_warning (GstElement * sink, GstBus * bus, const gchar * what)
{
  GstMessage *msg;
  GError *error = NULL;

  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
      GST_STATE_CHANGE_SUCCESS);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_parse_warning (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, what));
  g_clear_error (&error);
  gst_message_unref (msg);
  gst_element_set_state (sink, GST_STATE_NULL);
}

/* Settings that are fine reach READY; ssl-strict=false warns that it is
 * unsafe, reconnect-on-server-disconnect without reconnect that it does
 * nothing; a relative ssl-ca-file is found from the current directory. */
GST_START_TEST (test_reach_good_settings)
{
  const gchar *cookies[] = { "session=abc", "affinity=\"x y\"", NULL };
  GstElement *sink = sink_for_settings ();
  GstStructure *headers = gst_structure_new ("headers",
      "Authorization", G_TYPE_STRING, "Bearer abc",
      "X-Count", G_TYPE_INT, 5, NULL);
  GstBus *bus = gst_bus_new ();
  const gchar *bundle = "/etc/ssl/certs/ca-certificates.crt";

  gst_element_set_bus (sink, bus);
  g_object_set (sink, "extra-headers", headers, "cookies", cookies,
      "user-agent", "my-app/1.0", "proxy", "127.0.0.1:3128", "proxy-id",
      "user", "proxy-pw", "SECRET", "ssl-use-system-ca-file", FALSE,
      "retry-first-connection", TRUE, "transports", 2, NULL);
  gst_structure_free (headers);
  g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_assert_null (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR |
          GST_MESSAGE_WARNING));
  gst_element_set_state (sink, GST_STATE_NULL);

  g_object_set (sink, "ssl-strict", FALSE, NULL);
  expect_ready_warning (sink, bus, "ssl-strict");

  /* an opt-in that reconnect=false switches off is said so */
  g_object_set (sink, "ssl-strict", TRUE, "reconnect", FALSE,
      "retry-first-connection", FALSE, "reconnect-on-server-disconnect", TRUE,
      NULL);
  expect_ready_warning (sink, bus, "reconnect-on-server-disconnect");
  g_object_set (sink, "reconnect", TRUE, "reconnect-on-server-disconnect",
      FALSE, NULL);

  if (g_file_test (bundle, G_FILE_TEST_EXISTS)) {
    gchar *cwd = g_get_current_dir ();

    g_assert_cmpint (g_chdir ("/etc/ssl/certs"), ==, 0);
    g_object_set (sink, "ssl-strict", TRUE, "ssl-ca-file",
        "ca-certificates.crt", NULL);
    g_assert_cmpint (gst_element_set_state (sink, GST_STATE_READY), ==,
        GST_STATE_CHANGE_SUCCESS);
    g_assert_cmpint (g_chdir (cwd), ==, 0);
    g_free (cwd);
    gst_element_set_state (sink, GST_STATE_NULL);
  }
  gst_element_set_bus (sink, NULL);
  gst_object_unref (bus);
  gst_object_unref (sink);
}

GST_END_TEST;

GST_START_TEST (test_uri_handler)
{
  GError *error = NULL;
  GstElement *sink;
  GstElement *pipeline;
  gchar *location, *uri;

  sink = gst_element_make_from_uri (GST_URI_SINK,
      "socketio+http://127.0.0.1:5000", NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sink);
  g_assert_cmpstr (gst_plugin_feature_get_name (gst_element_get_factory
          (sink)), ==, "socketiosink");
  g_object_get (sink, "location", &location, NULL);
  g_assert_cmpstr (location, ==, "http://127.0.0.1:5000");
  g_free (location);
  uri = gst_uri_handler_get_uri (GST_URI_HANDLER (sink));
  g_assert_cmpstr (uri, ==, "socketio+http://127.0.0.1:5000");
  g_free (uri);

  /* every scheme, a path and a query kept */
  g_assert_true (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+wss://example.com/chat/?room=1", &error));
  g_assert_no_error (error);
  g_object_get (sink, "location", &location, NULL);
  g_assert_cmpstr (location, ==, "wss://example.com/chat/?room=1");
  g_free (location);
  g_assert_true (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+https://example.com", NULL));
  g_assert_true (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+ws://127.0.0.1:1", NULL));

  /* plain http stays with the HTTP elements; bad URIs; no secret shown */
  g_assert_false (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "http://127.0.0.1:5000", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+ftp://127.0.0.1:21", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_UNSUPPORTED_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+http://user:SECRET@127.0.0.1:1/?token=SECRET", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI);
  assert_no_secret ("a URI error", error->message);
  g_clear_error (&error);
  g_assert_false (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+http://", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_URI);
  g_clear_error (&error);
  g_object_get (sink, "location", &location, NULL);
  g_assert_cmpstr (location, ==, "ws://127.0.0.1:1");
  g_free (location);
  gst_object_unref (sink);

  g_assert_null (gst_element_make_from_uri (GST_URI_SRC,
          "socketio+http://127.0.0.1:5000", NULL, NULL));

  /* a launch line with the URI in place of the element */
  pipeline = gst_parse_launch ("fakesrc num-buffers=0 ! "
      "socketio+http://127.0.0.1:1/", &error);
  g_assert_no_error (error);
  sink = gst_bin_get_by_interface (GST_BIN (pipeline), GST_TYPE_URI_HANDLER);
  g_assert_nonnull (sink);
  g_assert_cmpstr (gst_plugin_feature_get_name (gst_element_get_factory
          (sink)), ==, "socketiosink");
  gst_object_unref (sink);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* set_uri is refused once the sink runs, and the location stays. */
GST_START_TEST (test_uri_bad_state)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url, NULL);
  GstElement *sink = gst_harness_find_element (h, "socketiosink");
  GError *error = NULL;
  gchar *location;

  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_false (gst_uri_handler_set_uri (GST_URI_HANDLER (sink),
          "socketio+http://127.0.0.1:1", &error));
  g_assert_error (error, GST_URI_ERROR, GST_URI_ERROR_BAD_STATE);
  g_clear_error (&error);
  g_object_get (sink, "location", &location, NULL);
  g_assert_cmpstr (location, ==, fake->url);
  g_free (location);
  gst_object_unref (sink);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* auth changed while PLAYING is what the server sees at the next CONNECT,
 * after a reconnection; a value that is not an object is refused with a
 * warning naming auth, and the previous one stays. */
GST_START_TEST (test_auth_refresh)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_new (fake->url,
      "reconnect-delay=10000000 reconnect-delay-max=50000000 "
      "auth={\\\"token\\\":\\\"old\\\"}");
  GstElement *sink = gst_harness_find_element (h, "socketiosink");
  GstMessage *msg;
  GError *error = NULL;
  gchar *auth;

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "40{\"token\":\"old\"}", 5 * GST_SECOND));

  g_object_set (sink, "auth", "{\"token\":\"new\"}", NULL);
  g_object_set (sink, "auth", "[\"SECRET\"]", NULL);
  msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element),
      GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_parse_warning (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "auth"));
  assert_message_has_no_secret (msg);
  g_clear_error (&error);
  gst_message_unref (msg);
  g_object_get (sink, "auth", &auth, NULL);
  g_assert_cmpstr (auth, ==, "{\"token\":\"new\"}");
  g_free (auth);
  /* not on the current connection */
  g_assert_cmpuint (fake_count_texts (fake, "40{\"token\":\"new\"}"), ==, 0);

  fake_server_drop (fake);
  msg = wait_element_message (h, "socketio-reconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  g_assert_true (fake_saw_text (fake, "40{\"token\":\"new\"}", 5 * GST_SECOND));
  gst_object_unref (sink);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* extra-headers, user-agent and cookies arrive on the WebSocket handshake,
 * and stats names the transport (needs the client of the transport
 * branch). */
GST_START_TEST (test_headers_on_handshake)
{
  const gchar *cookies[] = { "session=abc", "affinity=node-2", NULL };
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  GstStructure *headers = gst_structure_new ("headers",
      "X-Token", G_TYPE_STRING, "abc", "X-Count", G_TYPE_INT, 5, NULL);
  GValue list = G_VALUE_INIT, item = G_VALUE_INIT;
  GstStructure *stats;
  GstHarness *h;
  gchar *value;

  gst_value_list_init (&list, 2);
  g_value_init (&item, G_TYPE_STRING);
  g_value_set_string (&item, "one");
  gst_value_list_append_value (&list, &item);
  g_value_set_string (&item, "two");
  gst_value_list_append_value (&list, &item);
  g_value_unset (&item);
  gst_structure_take_value (headers, "X-Multi", &list);
  g_object_set (sink, "location", fake->url, "sync", FALSE, "extra-headers",
      headers, "user-agent", "test-agent/1.0", "cookies", cookies, NULL);
  gst_structure_free (headers);
  h = gst_harness_new_with_element (sink, "sink", NULL);
  gst_harness_set_src_caps_str (h, AUDIO_CAPS);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-0[", 5 * GST_SECOND));
  stats = sink_stats (h);
  g_assert_cmpstr (gst_structure_get_string (stats, "transport"), ==,
      "websocket");
  gst_structure_free (stats);

  value = fake_handshake_header (fake, "X-Token");
  g_assert_cmpstr (value, ==, "abc");
  g_free (value);
  value = fake_handshake_header (fake, "X-Count");
  g_assert_cmpstr (value, ==, "5");
  g_free (value);
  value = fake_handshake_header (fake, "X-Multi");
  g_assert_cmpstr (value, ==, "one, two");
  g_free (value);
  value = fake_handshake_header (fake, "User-Agent");
  g_assert_cmpstr (value, ==, "test-agent/1.0");
  g_free (value);
  value = fake_handshake_header (fake, "Cookie");
  g_assert_nonnull (value);
  g_assert_nonnull (strstr (value, "session=abc"));
  g_assert_nonnull (strstr (value, "affinity=node-2"));
  g_free (value);
  gst_object_unref (sink);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* The error the sink posts when the handshake on @path fails, with
 * transports=websocket: its message must contain every one of @expected
 * and its details the location and @status. */
static void
check_handshake_error (const gchar * path, guint status, gint code,
    const gchar * const *expected)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  gchar *location = g_strdup_printf ("%s%s", fake->url, path);
  GstHarness *h = harness_new (location, "transports=websocket");
  const GstStructure *details = NULL;
  GstMessage *msg;
  GError *error = NULL;
  guint seen_status = 0;

  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_ERROR);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (h->element),
      5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  gst_message_parse_error_details (msg, &details);
  GST_INFO ("HTTP %u: %s", status, error->message);
  g_assert_true (error->domain == GST_RESOURCE_ERROR);
  if (error->code != code)
    g_error ("HTTP %u: error code %d, wanted %d: %s", status, error->code,
        code, error->message);
  for (; *expected; expected++)
    if (strstr (error->message, *expected) == NULL)
      g_error ("HTTP %u: '%s' does not mention '%s'", status, error->message,
          *expected);
  g_assert_nonnull (details);
  g_assert_nonnull (gst_structure_get_string (details, "location"));
  g_assert_true (gst_structure_get_uint (details, "http-status-code",
          &seen_status));
  g_assert_cmpuint (seen_status, ==, status);
  g_error_free (error);
  gst_message_unref (msg);
  teardown (h);
  g_free (location);
  fake_server_free (fake);
}

/* HTTP 404, 401, 403 and a refused WebSocket (400) each get their own
 * message (needs the client of the transport branch to classify them). */
GST_START_TEST (test_handshake_errors)
{
  const gchar *not_found[] = { "404", "/nothing/", "/socket.io/", NULL };
  const gchar *unauthorized[] = { "401", "extra-headers", "auth", NULL };
  const gchar *forbidden[] = { "403", "extra-headers", "auth", NULL };
  const gchar *refused[] = { "WebSocket", "transports", NULL };

  check_handshake_error ("/nothing/", 404, GST_RESOURCE_ERROR_NOT_FOUND,
      not_found);
  check_handshake_error ("/status/401/", 401,
      GST_RESOURCE_ERROR_NOT_AUTHORIZED, unauthorized);
  check_handshake_error ("/status/403/", 403,
      GST_RESOURCE_ERROR_NOT_AUTHORIZED, forbidden);
  check_handshake_error ("/status/400/", 400, GST_RESOURCE_ERROR_OPEN_WRITE,
      refused);
}

GST_END_TEST;

static gpointer
push_one_quick (GstHarness * h)
{
  return GINT_TO_POINTER (gst_harness_push (h, audio_buffer (320, 0, 0)));
}

/* retry-first-connection: a sink started before its server connects when
 * the server comes up (needs the client of the transport branch). */
GST_START_TEST (test_retry_first_connection)
{
  FakeServer *fake = fake_server_new_deferred ();
  GstHarness *h = harness_new (fake->url, "retry-first-connection=true "
      "reconnect-delay=20000000 reconnect-delay-max=100000000");
  GThread *pusher;

  attach_bus (h);
  pusher = g_thread_new ("push", (GThreadFunc) push_one_quick, h);
  /* several refused attempts */
  g_usleep (300 * 1000);
  g_assert_null (gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element),
          GST_MESSAGE_ERROR));
  fake_server_serve (fake);
  g_assert_true (fake_saw_text (fake, "451-0[", 5 * GST_SECOND));
  g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (pusher)), ==, GST_FLOW_OK);
  g_assert_null (gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element),
          GST_MESSAGE_ERROR));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* ---- the emit action signal and the ack-stall warning ----------------- */

/* A harness whose sink has joined (one buffer went through). */
static GstHarness *
harness_connected (FakeServer * fake, const gchar * extra)
{
  GstHarness *h = harness_new (fake->url, extra);

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  return h;
}

static guint64
sink_emit (GstHarness * h, const gchar * event, const gchar * args_json,
    GBytes * binary, gboolean want_ack)
{
  guint64 id = G_MAXUINT64;

  g_signal_emit_by_name (h->element, "emit", event, args_json, binary,
      want_ack, &id);
  return id;
}

/* The next socketio-emit-ack or socketio-emit-failed message, or NULL. */
static GstMessage *
wait_emit_report (GstHarness * h, GstClockTime timeout)
{
  GstBus *bus = GST_ELEMENT_BUS (h->element);
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (bus, timeout, GST_MESSAGE_ELEMENT))) {
    if (g_str_has_prefix (gst_structure_get_name (gst_message_get_structure
                (msg)), "socketio-emit-"))
      return msg;
    gst_message_unref (msg);
  }
  return NULL;
}

/* Asserts the next report is @name for emit @id; returns its args or
 * reason field (free it). */
static gchar *
assert_emit_report (GstHarness * h, const gchar * name, guint64 id,
    const gchar * event)
{
  GstMessage *msg = wait_emit_report (h, 5 * GST_SECOND);
  const GstStructure *s;
  guint64 reported = 0;
  gchar *field;

  g_assert_nonnull (msg);
  s = gst_message_get_structure (msg);
  g_assert_cmpstr (gst_structure_get_name (s), ==, name);
  g_assert_true (gst_structure_get_uint64 (s, "id", &reported));
  g_assert_cmpuint (reported, ==, id);
  g_assert_cmpstr (gst_structure_get_string (s, "event"), ==, event);
  field = g_strdup (gst_structure_get_string (s,
          gst_structure_has_field (s, "args") ? "args" : "reason"));
  gst_message_unref (msg);
  return field;
}

/* How many warnings on the bus contain @text; the others are dropped. */
static guint
count_warnings (GstHarness * h, const gchar * text, gchar ** debug_of_last)
{
  GstMessage *msg;
  guint count = 0;

  while ((msg = gst_bus_pop_filtered (GST_ELEMENT_BUS (h->element),
              GST_MESSAGE_WARNING))) {
    GError *error = NULL;
    gchar *debug = NULL;

    gst_message_parse_warning (msg, &error, &debug);
    GST_INFO ("warning: %s (%s)", error->message, debug);
    if (strstr (error->message, text)) {
      count++;
      if (debug_of_last) {
        g_free (*debug_of_last);
        *debug_of_last = g_strdup (debug);
      }
    }
    g_error_free (error);
    g_free (debug);
    gst_message_unref (msg);
  }
  return count;
}

/* An emit with ack: a plain EVENT packet (no attachment) with an ack id,
 * outside the audio's numbering; the ack's arguments come back on the
 * bus. */
GST_START_TEST (test_emit_with_ack)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h;
  GstStructure *stats;
  guint64 id;
  gchar *args;

  fake->event_ack_args = "[\"done\",{\"n\":2}]";
  h = harness_connected (fake, NULL);
  id = sink_emit (h, "stop", "[1, {\"now\": true}]", NULL, TRUE);
  g_assert_cmpuint (id, ==, 1);
  g_assert_true (fake_saw_text (fake, "421[\"stop\",1, {\"now\": true}]",
          5 * GST_SECOND));
  args = assert_emit_report (h, "socketio-emit-ack", id, "stop");
  g_assert_cmpstr (args, ==, "[\"done\",{\"n\":2}]");
  g_free (args);
  g_assert_cmpuint (sink_emit (h, "stop", NULL, NULL, TRUE), ==, 2);
  args = assert_emit_report (h, "socketio-emit-ack", 2, "stop");
  g_free (args);

  /* the audio's books do not see it */
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-3[\"audio_data\",{\"audio_data\":"
          "{\"_placeholder\":true,\"num\":0},\"seq\":1,", 5 * GST_SECOND));
  wait_acked (h, 2);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "emitted"), ==, 2);
  gst_structure_free (stats);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* Without ack: no ack id and no report; one JSON value is one argument,
 * NULL or an empty array none. */
GST_START_TEST (test_emit_without_ack)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_connected (fake, NULL);

  g_assert_cmpuint (sink_emit (h, "config", "{\"gain\":2}", NULL, FALSE), ==,
      1);
  g_assert_cmpuint (sink_emit (h, "tick", NULL, NULL, FALSE), ==, 2);
  g_assert_cmpuint (sink_emit (h, "tock", " [ ] ", NULL, FALSE), ==, 3);
  g_assert_cmpuint (sink_emit (h, "name", "\"caf\xc3\xa9\"", NULL, FALSE), ==,
      4);
  g_assert_true (fake_saw_text (fake, "42[\"name\",\"caf\xc3\xa9\"]",
          5 * GST_SECOND));
  g_assert_cmpuint (fake_count_texts (fake, "42[\"config\",{\"gain\":2}]"),
      ==, 1);
  g_assert_cmpuint (fake_count_texts (fake, "42[\"tick\"]"), ==, 1);
  g_assert_cmpuint (fake_count_texts (fake, "42[\"tock\"]"), ==, 1);
  g_assert_null (wait_emit_report (h, 100 * GST_MSECOND));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A binary attachment is the last argument: a BINARY_EVENT with one
 * placeholder, then the bytes. */
GST_START_TEST (test_emit_binary)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_connected (fake, NULL);
  GBytes *blob = g_bytes_new_static ("\x00\x01\xffxyz", 6);
  guint64 id;
  gchar *args;

  wait_acked (h, 1);
  id = sink_emit (h, "picture", "[\"jpeg\"]", blob, TRUE);
  g_assert_cmpuint (id, ==, 1);
  g_assert_true (fake_saw_text (fake, "451-1[\"picture\",\"jpeg\","
          "{\"_placeholder\":true,\"num\":0}]", 5 * GST_SECOND));
  args = assert_emit_report (h, "socketio-emit-ack", id, "picture");
  g_assert_cmpstr (args, ==, "[{\"ok\":true}]");
  g_free (args);
  g_mutex_lock (&fake->lock);
  g_assert_true (g_bytes_equal (fake->last_binary, blob));
  g_mutex_unlock (&fake->lock);
  g_bytes_unref (blob);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* No ack within ack-timeout: reported failed with reason timeout; the
 * audio's ack-timeout count and warning are not touched. */
GST_START_TEST (test_emit_ack_timeout)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_connected (fake, "ack-timeout=100000000");
  GstStructure *stats;
  gchar *reason;
  guint64 id;

  id = sink_emit (h, "stop", "[]", NULL, TRUE);
  reason = assert_emit_report (h, "socketio-emit-failed", id, "stop");
  g_assert_cmpstr (reason, ==, "timeout");
  g_free (reason);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "ack-timeouts"), ==, 0);
  gst_structure_free (stats);
  g_assert_cmpuint (count_warnings (h, "", NULL), ==, 0);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

static void
assert_emit_refused (GstHarness * h, const gchar * event, const gchar * args,
    const gchar * warning)
{
  g_assert_cmpuint (sink_emit (h, event, args, NULL, TRUE), ==, 0);
  g_assert_cmpuint (count_warnings (h, warning, NULL), ==, 1);
}

/* Refused at once, with 0 and a warning saying why: nothing is sent. */
GST_START_TEST (test_emit_refused)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_connected (fake, NULL);
  GstElement *stopped = gst_element_factory_make ("socketiosink", NULL);
  GstBus *bus = gst_bus_new ();
  guint64 id = G_MAXUINT64;
  GstMessage *msg;

  assert_emit_refused (h, "stop", "[1,",
      "args_json argument is not valid JSON");
  assert_emit_refused (h, "stop", "{\"a\":1} 2", "args_json");
  assert_emit_refused (h, "stop", "\"\xff\"", "not valid UTF-8");
  assert_emit_refused (h, "connect", NULL, "reserved");
  assert_emit_refused (h, "disconnect", NULL, "reserved");
  assert_emit_refused (h, "audio_data", NULL, "audio");
  assert_emit_refused (h, "", NULL, "non-empty UTF-8");
  assert_emit_refused (h, NULL, NULL, "non-empty UTF-8");
  assert_emit_refused (h, "\xc3(", NULL, "non-empty UTF-8");
  g_assert_cmpuint (fake_count_texts (fake, "42"), ==, 0);

  /* not started: no connection to send it on */
  gst_element_set_bus (stopped, bus);
  g_signal_emit_by_name (stopped, "emit", "stop", NULL, NULL, TRUE, &id);
  g_assert_cmpuint (id, ==, 0);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (stopped);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* At most 16 of the application's events wait: the next is refused,
 * and each refusal leaves the queue as it was. */
GST_START_TEST (test_emit_queue_full)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_connected (fake, NULL);
  guint32 lost = 0;
  gchar *reason;
  guint i;

  for (i = 1; i <= 16; i++)
    g_assert_cmpuint (sink_emit (h, "held", NULL, NULL, TRUE), ==, i);
  for (i = 0; i < 3; i++)
    assert_emit_refused (h, "held", NULL, "already waiting");
  g_assert_true (fake_saw_text (fake, "4216[\"held\"]", 5 * GST_SECOND));
  /* acked ones free their places */
  fake_send_ack_in_thread (fake, 1);
  reason = assert_emit_report (h, "socketio-emit-ack", 1, "held");
  g_free (reason);
  g_assert_cmpuint (sink_emit (h, "held", NULL, NULL, TRUE), ==, 17);
  assert_emit_refused (h, "held", NULL, "already waiting");
  /* stopping reports the rest lost, each once, in no given order */
  gst_element_set_state (h->element, GST_STATE_NULL);
  for (i = 2; i <= 17; i++) {
    GstMessage *msg = wait_emit_report (h, 5 * GST_SECOND);
    const GstStructure *s;
    guint64 id = 0;

    g_assert_nonnull (msg);
    s = gst_message_get_structure (msg);
    g_assert_cmpstr (gst_structure_get_name (s), ==, "socketio-emit-failed");
    g_assert_cmpstr (gst_structure_get_string (s, "reason"), ==, "lost");
    g_assert_true (gst_structure_get_uint64 (s, "id", &id));
    g_assert_cmpuint (id, >=, 2);
    g_assert_cmpuint (id, <=, 17);
    g_assert_false (lost & (1u << id));
    lost |= 1u << id;
    gst_message_unref (msg);
  }
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* While no connection is up the event waits for the next one, across
 * failed attempts; once sent, a connection that breaks takes it down:
 * reported lost, never sent again. */
GST_START_TEST (test_emit_while_disconnected)
{
  FakeServer *fake = fake_server_new_deferred ();
  GstHarness *h = harness_new (fake->url, "retry-first-connection=true "
      "reconnect-delay=20000000 reconnect-delay-max=100000000");
  GThread *pusher;
  GstMessage *msg;
  gchar *field;
  guint64 id;

  fake->event_ack_args = "[]";
  attach_bus (h);
  pusher = g_thread_new ("push", (GThreadFunc) push_one_quick, h);
  g_usleep (50 * 1000);
  id = sink_emit (h, "hello", "[1]", NULL, TRUE);
  g_assert_cmpuint (id, ==, 1);
  /* several refused attempts */
  g_usleep (300 * 1000);
  g_assert_null (wait_emit_report (h, 0));
  fake_server_serve (fake);
  g_assert_true (fake_saw_text (fake, "420[\"hello\",1]", 5 * GST_SECOND));
  field = assert_emit_report (h, "socketio-emit-ack", id, "hello");
  g_assert_cmpstr (field, ==, "[]");
  g_free (field);
  g_assert_cmpint (GPOINTER_TO_INT (g_thread_join (pusher)), ==, GST_FLOW_OK);

  g_mutex_lock (&fake->lock);
  fake->event_ack_args = NULL;
  g_mutex_unlock (&fake->lock);
  id = sink_emit (h, "unanswered", NULL, NULL, TRUE);
  g_assert_true (fake_saw_text (fake, "422[\"unanswered\"]", 5 * GST_SECOND));
  fake_server_drop (fake);
  field = assert_emit_report (h, "socketio-emit-failed", id, "unanswered");
  g_assert_cmpstr (field, ==, "lost");
  g_free (field);
  msg = wait_element_message (h, "socketio-reconnected", 5 * GST_SECOND);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  g_assert_cmpuint (fake_count_texts (fake, "422[\"unanswered\"]"), ==, 1);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* network thread */
static void
answer_ping (GstElement * sink, const gchar * name, const gchar * args_json,
    gpointer user_data)
{
  guint64 id = 0;

  if (strcmp (name, "ping") == 0)
    g_signal_emit_by_name (sink, "emit", "pong", args_json, NULL, FALSE, &id);
  g_assert_cmpuint (id, !=, 0);
}

/* A server-event handler may answer with emit, from the network thread. */
GST_START_TEST (test_emit_from_server_event)
{
  const gchar *after_join[] = { "42[\"ping\",{\"t\":5}]", NULL };
  FakeServer *fake = fake_server_new (NULL, after_join, TRUE);
  GstHarness *h = harness_new (fake->url, NULL);

  g_signal_connect (h->element, "server-event", G_CALLBACK (answer_ping), NULL);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "42[\"pong\",{\"t\":5}]",
          5 * GST_SECOND));
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* 100 ms, or 2 s under valgrind, where an ack can take longer. */
static GstHarness *
harness_with_short_ack_timeout (FakeServer * fake)
{
  gchar *extra = g_strdup_printf ("max-in-flight=4 ack-timeout=%"
      G_GUINT64_FORMAT, RUNNING_ON_VALGRIND ? 2 * GST_SECOND :
      100 * GST_MSECOND);
  GstHarness *h = harness_new (fake->url, extra);

  g_free (extra);
  return h;
}

/* Pushes @count buffers, one emit each, and waits until each was acked
 * or timed out. */
static void
push_until_done (GstHarness * h, guint count)
{
  guint i;

  for (i = 0; i < count; i++)
    g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
        GST_FLOW_OK);
  wait_emits_done (h, count, TRUE);
}

/* A server that acks nothing: one warning, naming the handler and
 * ack=false, once a whole window (max-in-flight) has timed out, not at
 * the first timeout; however many windows follow. */
GST_START_TEST (test_ack_stall_warned_once)
{
  FakeServer *fake = fake_server_new (NULL, NULL, FALSE);
  GstHarness *h = harness_with_short_ack_timeout (fake);
  GstStructure *stats;
  gchar *debug = NULL;

  attach_bus (h);
  push_until_done (h, 12);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "ack-timeouts"), ==, 12);
  gst_structure_free (stats);
  g_assert_cmpuint (count_warnings (h, "calls the ack callback", &debug),
      ==, 1);
  /* the warning came with the 4th timeout (emits count from 0) */
  g_assert_true (g_str_has_suffix (debug, "\nemit 3"));
  g_free (debug);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A server that acks every other event: timeouts are counted, but no
 * window ever times out whole, so nothing is warned about. */
GST_START_TEST (test_ack_timeouts_partial_not_warned)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstHarness *h = harness_with_short_ack_timeout (fake);
  GstStructure *stats;

  fake->ack_every = 2;
  attach_bus (h);
  push_until_done (h, 12);
  stats = sink_stats (h);
  g_assert_cmpuint (stats_uint64 (stats, "ack-timeouts"), ==, 6);
  g_assert_cmpuint (stats_uint64 (stats, "acked"), ==, 6);
  gst_structure_free (stats);
  g_assert_cmpuint (count_warnings (h, "", NULL), ==, 0);
  teardown (h);
  fake_server_free (fake);
}

GST_END_TEST;

/* A self-signed certificate for @san (e.g. "IP:127.0.0.1"), made with
 * openssl in @dir as NAME.pem and NAME.key; NULL without openssl. */
static GTlsCertificate *
make_self_signed (const gchar * dir, const gchar * name, const gchar * san)
{
  gchar *openssl = g_find_program_in_path ("openssl");
  gchar *cert = g_strdup_printf ("%s/%s.pem", dir, name);
  gchar *key = g_strdup_printf ("%s/%s.key", dir, name);
  gchar *ext = g_strdup_printf ("subjectAltName=%s", san);
  const gchar *argv[] = { openssl, "req", "-x509", "-newkey", "ec",
    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
    "-out", cert, "-days", "2", "-subj", "/CN=sio-test", "-addext", ext, NULL
  };
  GTlsCertificate *certificate = NULL;
  GError *error = NULL;
  gint status = -1;

  if (openssl && g_spawn_sync (NULL, (gchar **) argv, NULL,
          G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL,
          NULL, NULL, &status, NULL) && g_spawn_check_wait_status (status,
          NULL)) {
    certificate = g_tls_certificate_new_from_files (cert, key, &error);
    g_assert_no_error (error);
  }
  g_free (openssl);
  g_free (cert);
  g_free (key);
  g_free (ext);
  return certificate;
}

/* The error posted when connecting to @fake with @extra settings fails:
 * its message must name @expected and its tls-errors hold @flag. */
static void
check_tls_error (FakeServer * fake, const gchar * extra,
    GTlsCertificateFlags flag, const gchar * expected)
{
  GstHarness *h = harness_new (fake->url, extra);
  const GstStructure *details = NULL;
  GTlsCertificateFlags errors = 0;
  GstMessage *msg;
  GError *error = NULL;

  attach_bus (h);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_ERROR);
  msg = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (h->element),
      5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  gst_message_parse_error_details (msg, &details);
  GST_INFO ("TLS: %s", error->message);
  if (strstr (error->message, expected) == NULL)
    g_error ("'%s' does not mention '%s'", error->message, expected);
  g_assert_nonnull (details);
  g_assert_true (gst_structure_get_flags (details, "tls-errors",
          G_TYPE_TLS_CERTIFICATE_FLAGS, &errors));
  g_assert_true (errors & flag);
  g_error_free (error);
  gst_message_unref (msg);
  teardown (h);
}

/* wss with a certificate nobody trusts: refused with the message naming
 * ssl-ca-file; trusted through ssl-ca-file; refused for a host name the
 * certificate does not have (needs the client of the transport branch). */
GST_START_TEST (test_tls_errors)
{
  gchar *dir = g_dir_make_tmp ("socketiosink-XXXXXX", NULL);
  GTlsCertificate *good = make_self_signed (dir, "good", "IP:127.0.0.1");
  GTlsCertificate *wrong = make_self_signed (dir, "wrong",
      "DNS:wrong.example");
  const gchar *files[] = { "good.pem", "good.key", "wrong.pem", "wrong.key" };
  FakeServer *fake;
  GstHarness *h;
  gchar *extra;
  guint i;

  if (good == NULL) {
    GST_WARNING ("no openssl: TLS not tested");
    g_rmdir (dir);
    g_free (dir);
    return;
  }

  fake = fake_server_new_full (NULL, NULL, TRUE, NULL, good);
  check_tls_error (fake, NULL, G_TLS_CERTIFICATE_UNKNOWN_CA, "ssl-ca-file");
  check_tls_error (fake, "ssl-use-system-ca-file=false",
      G_TLS_CERTIFICATE_UNKNOWN_CA, "ssl-ca-file");
  extra = g_strdup_printf ("ssl-ca-file=%s/good.pem", dir);
  h = harness_new (fake->url, extra);
  g_assert_cmpint (gst_harness_push (h, audio_buffer (320, 0, 0)), ==,
      GST_FLOW_OK);
  g_assert_true (fake_saw_text (fake, "451-0[", 5 * GST_SECOND));
  teardown (h);
  g_free (extra);
  fake_server_free (fake);

  fake = fake_server_new_full (NULL, NULL, TRUE, NULL, wrong);
  extra = g_strdup_printf ("ssl-ca-file=%s/wrong.pem", dir);
  check_tls_error (fake, extra, G_TLS_CERTIFICATE_BAD_IDENTITY,
      "host name 127.0.0.1");
  g_free (extra);
  fake_server_free (fake);

  for (i = 0; i < G_N_ELEMENTS (files); i++) {
    gchar *path = g_build_filename (dir, files[i], NULL);

    g_remove (path);
    g_free (path);
  }
  g_rmdir (dir);
  g_free (dir);
  g_object_unref (good);
  g_object_unref (wrong);
}

GST_END_TEST;

/* ---- clock sync and latency -------------------------------------------- */

#define FRAME_DURATION (64 * GST_MSECOND)       /* 1024 samples at 16 kHz */

/* audiotestsrc (1024-sample buffers; -1: unlimited) ! socketiosink,
 * sync=true, PLAYING. */
static GstElement *
tone_pipeline_new (FakeServer * fake, gboolean live, gint num_buffers)
{
  gchar *launch = g_strdup_printf ("audiotestsrc is-live=%s num-buffers=%d "
      "samplesperbuffer=1024 ! " AUDIO_CAPS " ! socketiosink name=sink "
      "location=%s", live ? "true" : "false", num_buffers, fake->url);
  GstElement *pipeline = gst_parse_launch (launch, NULL);

  g_assert_nonnull (pipeline);
  g_free (launch);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (pipeline, NULL, NULL,
          10 * GST_SECOND), ==, GST_STATE_CHANGE_SUCCESS);
  return pipeline;
}

static void
fake_wait_binaries (FakeServer * fake, guint count, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;

  g_mutex_lock (&fake->lock);
  while (fake->binaries < count &&
      g_cond_wait_until (&fake->cond, &fake->lock, deadline));
  g_assert_cmpuint (fake->binaries, >=, count);
  g_mutex_unlock (&fake->lock);
}

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* For @pipeline's audio events after the first @skip, sorted: when the
 * server received each, minus when its last sample existed (base time +
 * pts + duration on the pipeline's clock, the monotonic system clock, as
 * g_get_monotonic_time()), in µs. */
static GArray *
sorted_arrival_delays (FakeServer * fake, GstElement * pipeline, guint skip)
{
  GstClockTime base_time = gst_element_get_base_time (pipeline);
  GArray *delays = g_array_new (FALSE, FALSE, sizeof (gint64));
  guint i, event = 0;

  g_mutex_lock (&fake->lock);
  for (i = 0; i < fake->texts->len && event < fake->binary_arrivals->len; i++) {
    const gchar *text = g_ptr_array_index (fake->texts, i);
    const gchar *pts = strstr (text, "\"pts\":");
    gint64 delay;

    if (!g_str_has_prefix (text, "451-") || pts == NULL)
      continue;
    delay = g_array_index (fake->binary_arrivals, gint64, event++) -
        (gint64) ((base_time + g_ascii_strtoull (pts + 6, NULL, 10) +
            FRAME_DURATION) / GST_USECOND);
    if (event > skip)
      g_array_append_val (delays, delay);
  }
  g_mutex_unlock (&fake->lock);
  g_array_sort (delays, compare_gint64);
  return delays;
}

static void
tone_pipeline_free (GstElement * pipeline, GstElement * sink,
    FakeServer * fake, GArray * delays)
{
  g_array_unref (delays);
  gst_object_unref (sink);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  fake_server_free (fake);
}

/* In a live pipeline the sink adds no processing deadline to upstream's
 * latency: render only hands the buffer to the network thread, so each
 * buffer leaves when its last sample exists, not 20 ms later. */
GST_START_TEST (test_live_no_processing_deadline)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstElement *pipeline = tone_pipeline_new (fake, TRUE, -1);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  GstClockTime min;
  gboolean upstream_live;
  GArray *delays;
  gint64 median;

  g_assert_cmpuint (gst_base_sink_get_processing_deadline (GST_BASE_SINK
          (sink)), ==, 0);
  fake_wait_binaries (fake, 12, 10 * GST_SECOND);

  /* upstream's latency (one buffer, audiotestsrc's) and nothing more */
  g_assert_true (gst_base_sink_query_latency (GST_BASE_SINK (sink), NULL,
          &upstream_live, &min, NULL));
  g_assert_true (upstream_live);
  g_assert_cmpuint (min, ==, FRAME_DURATION);
  g_assert_cmpuint (gst_base_sink_get_latency (GST_BASE_SINK (sink)), ==,
      FRAME_DURATION);

  /* loose, for a loaded machine: the median event arrives well within the
   * 20 ms a processing deadline would add (the first two are skipped:
   * the connection was still starting) */
  delays = sorted_arrival_delays (fake, pipeline, 2);
  g_assert_cmpuint (delays->len, >=, 10);
  median = g_array_index (delays, gint64, delays->len / 2);
  GST_INFO ("delay after the last sample: median %" G_GINT64_FORMAT " µs",
      median);
  g_assert_cmpint (median, <, 10 * 1000);
  g_assert_cmpint (median, >, -1000);
  tone_pipeline_free (pipeline, sink, fake, delays);
}

GST_END_TEST;

/* A non-live source is still paced by the clock with sync=true: each
 * buffer leaves at its running time (its pts), none earlier, and not at
 * the end of its duration as in a live pipeline. */
GST_START_TEST (test_non_live_still_synced)
{
  FakeServer *fake = fake_server_new (NULL, NULL, TRUE);
  GstElement *pipeline = tone_pipeline_new (fake, FALSE, 10);
  GstElement *sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  gboolean upstream_live;
  GArray *delays;

  fake_wait_binaries (fake, 10, 10 * GST_SECOND);
  g_assert_true (gst_base_sink_query_latency (GST_BASE_SINK (sink), NULL,
          &upstream_live, NULL, NULL));
  g_assert_false (upstream_live);

  /* the first waited for the connection; 9 × 64 ms of audio unsynced
   * would all leave at once, up to 576 ms before their time */
  delays = sorted_arrival_delays (fake, pipeline, 1);
  g_assert_cmpuint (delays->len, ==, 9);
  g_assert_cmpint (g_array_index (delays, gint64, 0), >=,
      -(gint64) (FRAME_DURATION / GST_USECOND) - 2 * 1000);
  g_assert_cmpint (g_array_index (delays, gint64, 8), <, -30 * 1000);
  tone_pipeline_free (pipeline, sink, fake, delays);
}

GST_END_TEST;

static Suite *
socketiosink_suite (void)
{
  Suite *s = suite_create ("socketiosink");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_defaults);
  tcase_add_test (tc, test_bad_settings);
  tcase_add_test (tc, test_secrets_never_shown);
  tcase_add_test (tc, test_not_negotiated);
  tcase_add_test (tc, test_unreachable);
  tcase_add_test (tc, test_unreachable_details);
  tcase_add_test (tc, test_connect_timeout);
  tcase_add_test (tc, test_unlock_while_connecting);
  tcase_add_test (tc, test_wire_format);
  tcase_add_test (tc, test_namespace_refused);
  tcase_add_test (tc, test_old_server_detected);
  tcase_add_test (tc, test_malformed_packets);
  tcase_add_test (tc, test_server_disconnect_and_close);
  tcase_add_test (tc, test_binary_server_event);
  tcase_add_test (tc, test_deep_server_event);
  tcase_add_test (tc, test_binary_event_other_namespace);
  tcase_add_test (tc, test_server_event_args_verbatim);
  tcase_add_test (tc, test_acks_out_of_order);
  tcase_add_test (tc, test_ack_timeout);
  tcase_add_test (tc, test_ack_timeouts_bounded);
  tcase_add_test (tc, test_reconnect_storm_bounded);
  tcase_add_test (tc, test_ping_zero_keeps_watchdog);
  tcase_add_test (tc, test_redirect_refused);
  tcase_add_test (tc, test_stats_while_stopping);
  tcase_add_test (tc, test_split_timestamps);
  tcase_add_test (tc, test_untimed_after_whole_buffers);
  tcase_add_test (tc, test_acks_sent_upstream);
  tcase_add_test (tc, test_no_ack_support_without_acks);
  tcase_add_test (tc, test_replay_after_reconnect);
  tcase_add_test (tc, test_drop_while_reconnecting);
  tcase_add_test (tc, test_stream_identity_and_gaps);
  tcase_add_test (tc, test_compressed_packets);
  tcase_add_test (tc, test_compressed_replay);
  tcase_add_test (tc, test_compressed_batches);
  tcase_add_test (tc, test_reach_defaults);
  tcase_add_test (tc, test_reach_bad_settings);
  tcase_add_test (tc, test_reach_good_settings);
  tcase_add_test (tc, test_uri_handler);
  tcase_add_test (tc, test_uri_bad_state);
  tcase_add_test (tc, test_auth_refresh);
  tcase_add_test (tc, test_headers_on_handshake);
  tcase_add_test (tc, test_handshake_errors);
  tcase_add_test (tc, test_retry_first_connection);
  tcase_add_test (tc, test_tls_errors);
  tcase_add_test (tc, test_emit_with_ack);
  tcase_add_test (tc, test_emit_without_ack);
  tcase_add_test (tc, test_emit_binary);
  tcase_add_test (tc, test_emit_ack_timeout);
  tcase_add_test (tc, test_emit_refused);
  tcase_add_test (tc, test_emit_queue_full);
  tcase_add_test (tc, test_emit_while_disconnected);
  tcase_add_test (tc, test_emit_from_server_event);
  tcase_add_test (tc, test_ack_stall_warned_once);
  tcase_add_test (tc, test_ack_timeouts_partial_not_warned);
  tcase_add_test (tc, test_live_no_processing_deadline);
  tcase_add_test (tc, test_non_live_still_synced);
  return s;
}

GST_CHECK_MAIN (socketiosink);
