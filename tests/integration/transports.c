/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink over HTTP long-polling and polling upgraded to WebSocket
 * (issue 8), against the servers people run: socket.io 4.8 polling-only
 * and in its default configuration, python-socketio's WSGI server in
 * threading mode, and Flask-SocketIO in its default mode (the last two
 * offer polling only on Debian 12). SIO_TEST_TRANSPORTS_KIND names the
 * server kind; each case runs once per sink `transports` value the kind
 * lists, against one server. Everything runs in the test's thread; the
 * pipelines' threads are the elements' own. */

#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"

typedef struct
{
  const gchar *name;            /* SIO_TEST_TRANSPORTS_KIND */
  SioTestServerKind server;
  const gchar *args[3];         /* the server's arguments */
  const gchar *transports[3];   /* the sink's, NULL-terminated */
  /* the server can cut a connection itself (/control/drop); otherwise
   * it is killed and restarted on the same port */
  gboolean can_drop;
  /* it counts WebSocket handshakes it refused (the Python servers) */
  gboolean counts_refusals;
} Kind;

static const Kind kinds[] = {
  {"node-polling", SIO_TEST_SERVER_NODE, {"--transports", "polling", NULL},
      {"polling", "auto", NULL}, TRUE, FALSE},
  {"node", SIO_TEST_SERVER_NODE, {NULL}, {"polling-upgrade", "polling", NULL},
      TRUE, FALSE},
  {"wsgi", SIO_TEST_SERVER_WSGI, {NULL}, {"polling", "auto", NULL}, FALSE,
      TRUE},
  {"flask", SIO_TEST_SERVER_FLASK, {NULL}, {"auto", NULL}, FALSE, TRUE},
};

static const Kind *kind;

/* Sink settings of every case: quick reconnections. */
#define SINK_PROPS "reconnect-delay=50000000 reconnect-delay-max=200000000 " \
    "connect-timeout=5000000000"

static SioTestServer *
start_server (const gchar * first_arg, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  SioTestServer *server;
  const gchar *const *a;
  const gchar *arg;
  va_list va;

  for (a = kind->args; *a; a++)
    g_ptr_array_add (args, (gpointer) * a);
  va_start (va, first_arg);
  for (arg = first_arg; arg; arg = va_arg (va, const gchar *))
      g_ptr_array_add (args, (gpointer) arg);
  va_end (va);
  g_ptr_array_add (args, NULL);
  server = sio_test_server_start (kind->server,
      (const gchar * const *) args->pdata);
  g_ptr_array_unref (args);
  return server;
}

/* The transport the sink must end up on. */
static const gchar *
expected_transport (const gchar * transports)
{
  return strcmp (transports, "polling-upgrade") == 0 ? "websocket" : "polling";
}

static gchar *
sink_transport (GstElement * sink)
{
  GstStructure *stats;
  gchar *transport;

  g_object_get (sink, "stats", &stats, NULL);
  transport = g_strdup (gst_structure_get_string (stats, "transport"));
  gst_structure_free (stats);
  return transport;
}

/* Waits (5 s at most) for the sink to run on the transport it must. */
static void
wait_sink_transport (GstElement * sink, const gchar * transports)
{
  const gchar *expected = expected_transport (transports);
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  gchar *transport = NULL;

  while (g_get_monotonic_time () < deadline) {
    g_free (transport);
    transport = sink_transport (sink);
    if (g_strcmp0 (transport, expected) == 0)
      break;
    g_usleep (10 * 1000);
  }
  GST_INFO ("transports=%s: the sink runs on %s", transports, transport);
  g_assert_cmpstr (transport, ==, expected);
  g_free (transport);
}

static gint64
member_int (JsonObject * object, const gchar * member, const gchar * field)
{
  return json_object_get_int_member (json_object_get_object_member (object,
          member), field);
}

/* How many requests server.js logged (its "requests") for the WebSocket
 * transport: handshakes and upgrades; -1 for the Python servers. */
static gint64
websocket_requests (JsonObject * stats)
{
  JsonArray *requests;
  gint64 n = 0;
  guint i;

  if (!json_object_has_member (stats, "requests"))
    return -1;
  g_assert_cmpint (json_object_get_int_member (stats, "requestsDropped"), ==,
      0);
  requests = json_object_get_array_member (stats, "requests");
  for (i = 0; i < json_array_get_length (requests); i++) {
    JsonObject *r = json_array_get_object_element (requests, i);

    if (g_strcmp0 (json_object_get_string_member_with_default (r,
                "transport", NULL), "websocket") == 0)
      n++;
  }
  return n;
}

/* What the server saw of @connections Engine.IO connections of the sink
 * with @transports: they started on polling (a refused WebSocket handshake
 * opens none) and upgraded exactly when they had to; with auto, the sink
 * tried WebSocket @auto_attempts times (once per element: it remembers
 * the fallback), with polling never. */
static void
check_server_transports (JsonObject * stats, const gchar * transports,
    gint64 connections, gint64 auto_attempts)
{
  gboolean upgrade = strcmp (transports, "polling-upgrade") == 0;
  gboolean is_auto = strcmp (transports, "auto") == 0;

  GST_INFO ("transports=%s: the server counted %" G_GINT64_FORMAT
      " polling, %" G_GINT64_FORMAT " websocket, %" G_GINT64_FORMAT
      " upgraded", transports, member_int (stats, "transports", "polling"),
      member_int (stats, "transports", "websocket"),
      member_int (stats, "transports", "upgraded"));
  g_assert_cmpint (member_int (stats, "transports", "polling"), ==,
      connections);
  g_assert_cmpint (member_int (stats, "transports", "websocket"), ==, 0);
  g_assert_cmpint (member_int (stats, "transports", "upgraded"), ==,
      upgrade ? connections : 0);
  if (kind->counts_refusals)
    g_assert_cmpint (json_object_get_int_member (stats, "websocketRefused"),
        ==, is_auto ? auto_attempts : 0);
  /* server.js logs the requests: an upgrade is one WebSocket request */
  if (websocket_requests (stats) >= 0)
    g_assert_cmpint (websocket_requests (stats), ==,
        is_auto ? auto_attempts : upgrade ? connections : 0);
  /* polling carried the events (and, before an upgrade, the join) */
  g_assert_cmpint (json_object_get_int_member (stats, "posts"), >, 0);
}

static gchar *
transport_props (const gchar * transports, const gchar * more)
{
  return g_strdup_printf ("transports=%s " SINK_PROPS " %s", transports,
      more ? more : "");
}

/* A stream over @t (with the @more sink properties) to @server, reset,
 * once @first buffers went out, the server saw @events and the sink
 * reports @t. */
static SioTestStream *
stream_on_transport (SioTestServer * server, const gchar * t,
    const gchar * more, guint first, guint events)
{
  gchar *props = transport_props (t, more);
  SioTestStream *stream = sio_test_stream_new (server, props);

  g_free (props);
  json_object_unref (sio_test_server_control (server, "reset"));
  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, first, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, events);
  wait_sink_transport (stream->sink, t);
  return stream;
}

/* Every byte arrives, in order, on the transport it must. */
GST_START_TEST (test_byte_exact_delivery)
{
  SioTestServer *server = start_server (NULL);
  const gchar *const *t;

  for (t = kind->transports; *t; t++) {
    SioTestStream *stream = stream_on_transport (server, *t, NULL, 20, 20);
    JsonObject *stats;

    /* odd sizes: batches and polling payloads of every length */
    g_assert_cmpint (sio_test_stream_push (stream, 300, 1234), ==, GST_FLOW_OK);
    g_assert_cmpint (sio_test_stream_push (stream, 100, 2048), ==, GST_FLOW_OK);
    sio_test_stream_finish (stream);
    sio_test_check_delivery (server, stream, 0);

    stats = sio_test_server_stats (server);
    g_assert_cmpint (json_object_get_int_member (stats, "lastSeq"), ==,
        json_object_get_int_member (stats, "events") - 1);
    g_assert_cmpint (json_object_get_int_member (stats, "acks"), ==,
        json_object_get_int_member (stats, "events"));
    check_server_transports (stats, *t, 1, 1);
    json_object_unref (stats);
    sio_test_stream_free (stream);
  }
  sio_test_server_stop (server);
}

GST_END_TEST;

/* With the server slow to ack, the window holds over every transport: the
 * server itself counts how many acks it owes at most. */
GST_START_TEST (test_ack_window_bound)
{
  SioTestServer *server = start_server ("--ack-delay-ms", "20", NULL);
  const gchar *const *t;

  for (t = kind->transports; *t; t++) {
    SioTestStream *stream = stream_on_transport (server, *t,
        "max-in-flight=4", 10, 1);
    JsonObject *stats;
    GstStructure *sink;

    g_assert_cmpint (sio_test_stream_push (stream, 140, 2048), ==, GST_FLOW_OK);
    sio_test_stream_finish (stream);
    sio_test_check_delivery (server, stream, 150);

    stats = sio_test_server_stats (server);
    GST_INFO ("transports=%s: the server saw at most %" G_GINT64_FORMAT
        " acks pending", *t, json_object_get_int_member (stats, "maxPending"));
    g_assert_cmpint (json_object_get_int_member (stats, "maxPending"), <=, 4);
    /* and the window was used, not one at a time */
    g_assert_cmpint (json_object_get_int_member (stats, "maxPending"), >=, 2);
    json_object_unref (stats);
    sink = sio_test_stream_sink_stats (stream);
    g_assert_cmpuint (sio_test_stats_uint64 (sink, "acked"), ==, 150);
    gst_structure_free (sink);
    sio_test_stream_free (stream);
  }
  sio_test_server_stop (server);
}

GST_END_TEST;

/* ackqueue ! socketiosink, the connection cut mid-stream with acks
 * outstanding (by the server, or by killing and restarting it): the sink
 * reconnects on the same transport, replays what was not acked, flagged,
 * and every frame arrives with no hole. */
GST_START_TEST (test_reconnect_replay)
{
  const guint frames = 300;     /* 3 s at 48 kHz, as fast as acks go */
  SioTestServer *server = start_server ("--ack-delay-ms", "30", NULL);
  gchar *head = g_strdup_printf ("audiotestsrc wave=white-noise "
      "samplesperbuffer=480 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=48000,channels=1", frames);
  const gchar *const *t;

  for (t = kind->transports; *t; t++) {
    gchar *props = transport_props (*t, "max-in-flight=16");
    SioTestReceived received = { sio_test_seq_ranges_new () };
    JsonObject *stats;
    SioTestLive *live;
    gchar *ranges;

    if (sio_test_server_is_running (server))
      json_object_unref (sio_test_server_control (server, "reset"));
    live = sio_test_live_new (server, head, "max-size-buffers=0 "
        "max-size-bytes=0 max-size-time=0", props);
    sio_test_server_wait_events (server, 60);
    wait_sink_transport (live->sink, *t);
    if (kind->can_drop) {
      json_object_unref (sio_test_server_control (server, "drop"));
    } else {
      stats = sio_test_server_kill (server);
      check_server_transports (stats, *t, 1, 1);
      sio_test_received_add (&received, stats);
      sio_test_server_restart (server);
    }
    sio_test_live_wait_element_message (live, "socketio-reconnected",
        10 * GST_SECOND);
    wait_sink_transport (live->sink, *t);
    sio_test_live_wait_eos (live, 30 * GST_SECOND);
    stats = sio_test_server_stats (server);
    /* the new connection on the same transports (auto remembers that
     * WebSocket was refused: no second attempt) */
    check_server_transports (stats, *t, kind->can_drop ? 2 : 1,
        kind->can_drop ? 1 : 0);
    sio_test_received_add (&received, stats);

    ranges = sio_test_seq_ranges_to_string (received.seqs);
    GST_INFO ("transports=%s: received %s, %" G_GINT64_FORMAT " replayed, %"
        G_GINT64_FORMAT " unflagged repeats, %" G_GUINT64_FORMAT
        " reconnects", *t, ranges, received.replays,
        received.unflagged_repeats, sio_test_element_stat (live->sink,
            "reconnects"));
    g_assert_cmpstr (ranges, ==, "[0,299]");
    g_assert_cmpint (received.replays, >, 0);
    g_assert_cmpint (received.unflagged_repeats, ==, 0);
    g_assert_cmpuint (sio_test_element_stat (live->queue, "acked-buffers"),
        ==, frames);
    g_assert_cmpuint (sio_test_element_stat (live->sink, "reconnects"), ==, 1);

    sio_test_live_free (live);
    g_array_unref (received.seqs);
    g_free (ranges);
    g_free (props);
  }
  sio_test_server_stop (server);
  g_free (head);
}

GST_END_TEST;

/* NULL under 200 ms with the server frozen (SIGSTOP): while connected on
 * the transport, and while connecting to it. */
GST_START_TEST (test_null_when_frozen)
{
  SioTestServer *server = start_server (NULL);
  const gchar *const *t;

  for (t = kind->transports; *t; t++) {
    gchar *props = transport_props (*t, NULL);
    gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
        "samplesperbuffer=160 ! audio/x-raw,format=S16LE,rate=16000,"
        "channels=1 ! socketiosink name=sink location=%s %s",
        sio_test_server_get_url (server), props);
    gchar *what = g_strdup_printf ("transports=%s, server frozen", *t);
    SioTestLive *live = sio_test_live_launch (description);
    gint64 start, elapsed;

    json_object_unref (sio_test_server_control (server, "reset"));
    sio_test_server_wait_events (server, 5);
    wait_sink_transport (live->sink, *t);
    sio_test_server_freeze (server);
    /* a poll and a POST or two are outstanding now */
    g_usleep (300 * 1000);
    start = g_get_monotonic_time ();
    g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_NULL),
        ==, GST_STATE_CHANGE_SUCCESS);
    elapsed = g_get_monotonic_time () - start;
    GST_INFO ("%s, connected: NULL took %.1f ms", what, elapsed / 1000.0);
    if (elapsed >= 200 * 1000)
      g_error ("%s: PLAYING -> NULL took %" G_GINT64_FORMAT " ms", what,
          elapsed / 1000);
    sio_test_live_free (live);

    sio_test_run_null_cycles (what, sio_test_server_get_url (server), props,
        10);
    sio_test_server_thaw (server);
    g_free (what);
    g_free (description);
    g_free (props);
  }
  sio_test_server_stop (server);
}

GST_END_TEST;

/* No POST body exceeds the maxPayload socket.io announces (100 kB here),
 * whatever the batches: the server records the largest it saw. */
GST_START_TEST (test_post_within_max_payload)
{
  SioTestServer *server = start_server ("--max-payload", "100000", NULL);
  SioTestStream *stream = sio_test_stream_new (server,
      "transports=polling max-batch-bytes=1000000 " SINK_PROPS);
  JsonObject *stats;

  sio_test_stream_play (stream);
  /* 2 MB of audio in buffers larger than maxPayload */
  g_assert_cmpint (sio_test_stream_push (stream, 20, 100000), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 0);
  stats = sio_test_server_stats (server);
  GST_INFO ("%" G_GINT64_FORMAT " POSTs, the largest %" G_GINT64_FORMAT
      " bytes, %" G_GINT64_FORMAT " events", json_object_get_int_member (stats,
          "posts"), json_object_get_int_member (stats, "maxPostBytes"),
      json_object_get_int_member (stats, "events"));
  g_assert_cmpint (json_object_get_int_member (stats, "maxPostBytes"), <=,
      100000);
  g_assert_cmpint (json_object_get_int_member (stats, "maxPostBytes"), >, 0);
  g_assert_cmpint (json_object_get_int_member (stats, "oversizedPosts"), ==, 0);
  check_server_transports (stats, "polling", 1, 0);
  json_object_unref (stats);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

static Suite *
transports_suite (void)
{
  const gchar *name = g_getenv ("SIO_TEST_TRANSPORTS_KIND");
  Suite *s = suite_create ("transports");
  TCase *tc = tcase_create ("general");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_strcmp0 (name, kinds[i].name) == 0)
      kind = &kinds[i];
  if (kind == NULL)
    g_error ("SIO_TEST_TRANSPORTS_KIND must name a server kind (node-polling, "
        "node, wsgi, flask), not %s", name ? name : "nothing");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_byte_exact_delivery);
  tcase_add_test (tc, test_ack_window_bound);
  tcase_add_test (tc, test_reconnect_replay);
  tcase_add_test (tc, test_null_when_frozen);
  /* the servers that announce maxPayload and speak polling only */
  if (strcmp (kind->name, "node-polling") == 0)
    tcase_add_test (tc, test_post_within_max_payload);
  return s;
}

GST_CHECK_MAIN (transports);
