/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink multiplex=true against tests/server/server.js (issue 11):
 * sinks of one process with the same location and settings share one
 * Engine.IO connection, each in its own namespace, and what happens to one
 * namespace (refused, disconnected by the server, stopped) stays its own,
 * while the loss of the connection is every sink's. */

#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"

#define FRAME_BYTES 2048

static SioTestStream *
stream_in (SioTestServer * server, const gchar * nsp, gboolean multiplex)
{
  gchar *props = g_strdup_printf ("namespace=%s multiplex=%s", nsp,
      multiplex ? "true" : "false");
  SioTestStream *stream = sio_test_stream_new (server, props);

  g_free (props);
  sio_test_stream_play (stream);
  return stream;
}

static void
push (SioTestStream * stream, guint frames)
{
  g_assert_cmpint (sio_test_stream_push (stream, frames, FRAME_BYTES), ==,
      GST_FLOW_OK);
}

/* Waits for the sink's socketio-reconnected. */
static void
wait_reconnected (SioTestStream * stream)
{
  GstMessage *msg;

  do {
    msg = sio_test_stream_wait_message (stream, GST_MESSAGE_ELEMENT,
        10 * GST_SECOND);
    g_assert_nonnull (msg);
    if (gst_message_has_name (msg, "socketio-reconnected")) {
      gst_message_unref (msg);
      return;
    }
    gst_message_unref (msg);
  } while (TRUE);
}

/* The server's record of namespace @nsp (in @stats, which keeps it). */
static JsonObject *
namespace_stats (JsonObject * stats, const gchar * nsp)
{
  JsonObject *all = json_object_get_object_member (stats, "byNamespace");

  g_assert_true (json_object_has_member (all, nsp));
  return json_object_get_object_member (all, nsp);
}

/* The Engine.IO connection namespace @nsp joined on the @join-th time. */
static const gchar *
namespace_sid (JsonObject * stats, const gchar * nsp, guint join)
{
  JsonArray *sids = json_object_get_array_member (namespace_stats (stats,
          nsp), "sids");

  g_assert_cmpuint (json_array_get_length (sids), >, join);
  return json_array_get_string_element (sids, join);
}

static guint
engine_connections (JsonObject * stats)
{
  return json_array_get_length (json_object_get_array_member (stats,
          "engineConnections"));
}

/* Every byte of @stream arrived in @nsp, in order, and nothing else. */
static void
check_namespace_delivery (JsonObject * stats, const gchar * nsp,
    SioTestStream * stream, gint64 events)
{
  JsonObject *ns = namespace_stats (stats, nsp);

  g_assert_cmpint (json_object_get_int_member (ns, "events"), ==, events);
  g_assert_cmpint (json_object_get_int_member (ns, "bytes"), ==, stream->bytes);
  g_assert_cmpint (json_object_get_int_member (ns, "seqErrors"), ==, 0);
  g_assert_cmpstr (json_object_get_string_member (ns, "sha256"), ==,
      g_checksum_get_string (stream->sha));
}

/* Three sinks, three namespaces, one Engine.IO connection; their events
 * interleave on it and each namespace gets exactly its own bytes. Without
 * multiplex, the same three make three connections. */
GST_START_TEST (test_one_connection)
{
  const gchar *nsps[] = { "/a", "/b", "/c" };
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestStream *streams[3];
  JsonObject *stats;
  guint i, round;

  for (i = 0; i < 3; i++)
    streams[i] = stream_in (server, nsps[i], TRUE);
  for (round = 0; round < 40; round++)
    for (i = 0; i < 3; i++)
      push (streams[i], 1);
  for (i = 0; i < 3; i++)
    sio_test_stream_finish (streams[i]);

  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  for (i = 0; i < 3; i++) {
    GstStructure *sink_stats = sio_test_stream_sink_stats (streams[i]);

    check_namespace_delivery (stats, nsps[i], streams[i], 40);
    g_assert_cmpstr (namespace_sid (stats, nsps[i], 0), ==,
        namespace_sid (stats, "/a", 0));
    /* its own packets: the 40 events and their attachments at least */
    g_assert_cmpuint (sio_test_stats_uint64 (sink_stats, "bytes-sent"), >,
        40 * FRAME_BYTES);
    g_assert_cmpuint (sio_test_stats_uint64 (sink_stats, "acked"), ==, 40);
    gst_structure_free (sink_stats);
  }
  json_object_unref (stats);
  for (i = 0; i < 3; i++)
    sio_test_stream_free (streams[i]);

  /* the same without multiplex */
  json_object_unref (sio_test_server_control (server, "reset"));
  for (i = 0; i < 3; i++)
    streams[i] = stream_in (server, nsps[i], FALSE);
  for (i = 0; i < 3; i++) {
    push (streams[i], 5);
    sio_test_stream_finish (streams[i]);
  }
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 3);
  json_object_unref (stats);
  for (i = 0; i < 3; i++)
    sio_test_stream_free (streams[i]);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The same three over long-polling (their packets share POSTs), and
 * over WebSocket to python-socketio, which sees one Engine.IO session
 * and three joins. */
static void
three_on_one (SioTestServerKind kind, const gchar * extra)
{
  const gchar *nsps[] = { "/a", "/b", "/c" };
  SioTestServer *server = sio_test_server_start (kind, NULL);
  SioTestStream *streams[3];
  JsonObject *stats;
  guint64 bytes = 0;
  guint i;

  for (i = 0; i < 3; i++) {
    gchar *props = g_strdup_printf ("namespace=%s multiplex=true %s",
        nsps[i], extra);

    streams[i] = sio_test_stream_new (server, props);
    sio_test_stream_play (streams[i]);
    g_free (props);
  }
  for (i = 0; i < 3; i++)
    push (streams[i], 20);
  for (i = 0; i < 3; i++) {
    sio_test_stream_finish (streams[i]);
    bytes += streams[i]->bytes;
  }
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  g_assert_cmpint (json_object_get_int_member (stats, "connections"), ==, 3);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (stats, "bytes"), ==, bytes);
  if (json_object_has_member (stats, "byNamespace"))
    for (i = 0; i < 3; i++)
      check_namespace_delivery (stats, nsps[i], streams[i], 20);
  json_object_unref (stats);
  for (i = 0; i < 3; i++)
    sio_test_stream_free (streams[i]);
  sio_test_server_stop (server);
}

GST_START_TEST (test_one_connection_polling)
{
  three_on_one (SIO_TEST_SERVER_NODE, "transports=polling");
}

GST_END_TEST;

GST_START_TEST (test_one_connection_python)
{
  three_on_one (SIO_TEST_SERVER_PYTHON, "");
}

GST_END_TEST;

/* Two sinks of the same namespace cannot share (the server would take
 * the second CONNECT for the first socket's): each gets a connection. */
GST_START_TEST (test_same_namespace_apart)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestStream *first = stream_in (server, "/same", TRUE);
  SioTestStream *second = stream_in (server, "/same", TRUE);
  SioTestStream *third = stream_in (server, "/other", TRUE);
  JsonObject *stats;

  push (first, 10);
  push (second, 10);
  push (third, 10);
  sio_test_stream_finish (first);
  sio_test_stream_finish (second);
  sio_test_stream_finish (third);

  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 2);
  g_assert_cmpint (json_object_get_int_member (namespace_stats (stats,
              "/same"), "events"), ==, 20);
  g_assert_cmpint (json_object_get_int_member (namespace_stats (stats,
              "/same"), "joins"), ==, 2);
  g_assert_cmpstr (namespace_sid (stats, "/same", 0), !=,
      namespace_sid (stats, "/same", 1));
  /* the third joined one of the two */
  g_assert_true (g_strcmp0 (namespace_sid (stats, "/other", 0),
          namespace_sid (stats, "/same", 0)) == 0 ||
      g_strcmp0 (namespace_sid (stats, "/other", 0),
          namespace_sid (stats, "/same", 1)) == 0);
  json_object_unref (stats);
  sio_test_stream_free (first);
  sio_test_stream_free (second);
  sio_test_stream_free (third);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server refuses one namespace: that sink fails with the server's
 * message, the other streams on over the same connection. */
GST_START_TEST (test_refused_namespace_alone)
{
  const gchar *args[] = { "--refuse-namespace", "/refused", NULL };
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, args);
  SioTestStream *ok = stream_in (server, "/ok", TRUE);
  SioTestStream *refused;
  GError *error;
  JsonObject *stats;

  push (ok, 10);
  refused = stream_in (server, "/refused", TRUE);
  error = sio_test_stream_wait_error (refused, 10 * GST_SECOND);
  g_assert_nonnull (strstr (error->message, "Namespace refused"));
  g_error_free (error);

  push (ok, 10);
  sio_test_stream_finish (ok);
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  check_namespace_delivery (stats, "/ok", ok, 20);
  json_object_unref (stats);
  sio_test_stream_free (refused);
  sio_test_stream_free (ok);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server disconnects one namespace (socket.disconnect(), connection
 * kept): by default that sink ends with an error and the other goes on. */
GST_START_TEST (test_namespace_disconnect_alone)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestStream *stays = stream_in (server, "/stays", TRUE);
  SioTestStream *leaves = stream_in (server, "/leaves", TRUE);
  GError *error;
  JsonObject *stats, *reply;

  push (stays, 5);
  push (leaves, 5);
  sio_test_server_wait_events (server, 10);

  reply = sio_test_server_control (server, "disconnect?close=0&nsp=/leaves");
  g_assert_cmpint (json_object_get_int_member (reply, "disconnected"), ==, 1);
  json_object_unref (reply);
  error = sio_test_stream_wait_error (leaves, 10 * GST_SECOND);
  g_assert_nonnull (strstr (error->message, "disconnected"));
  g_error_free (error);

  push (stays, 5);
  sio_test_stream_finish (stays);
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  check_namespace_delivery (stats, "/stays", stays, 10);
  json_object_unref (stats);
  sio_test_stream_free (leaves);
  sio_test_stream_free (stays);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* With reconnect-on-server-disconnect the namespace the server
 * disconnected joins again on the same connection, after the backoff,
 * while the other streams on; when the server disconnects every
 * namespace, the connection itself is made again. */
GST_START_TEST (test_namespace_rejoins)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *props = "multiplex=true reconnect-on-server-disconnect=true "
      "reconnect-delay=100000000 reconnect-delay-max=200000000";
  gchar *stays_props = g_strconcat (props, " namespace=/stays", NULL);
  gchar *rejoins_props = g_strconcat (props, " namespace=/rejoins", NULL);
  SioTestStream *stays = sio_test_stream_new (server, stays_props);
  SioTestStream *rejoins = sio_test_stream_new (server, rejoins_props);
  JsonObject *stats;

  sio_test_stream_play (stays);
  sio_test_stream_play (rejoins);
  push (stays, 5);
  push (rejoins, 5);
  sio_test_server_wait_events (server, 10);

  json_object_unref (sio_test_server_control (server,
          "disconnect?close=0&nsp=/rejoins"));
  wait_reconnected (rejoins);
  push (stays, 5);
  push (rejoins, 5);
  sio_test_server_wait_events (server, 20);

  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  g_assert_cmpint (json_object_get_int_member (namespace_stats (stats,
              "/rejoins"), "joins"), ==, 2);
  g_assert_cmpstr (namespace_sid (stats, "/rejoins", 1), ==,
      namespace_sid (stats, "/stays", 0));
  g_assert_cmpint (json_object_get_int_member (namespace_stats (stats,
              "/stays"), "events"), ==, 10);
  json_object_unref (stats);

  /* every namespace disconnected: a new connection for both */
  json_object_unref (sio_test_server_control (server, "disconnect?close=0"));
  sio_test_server_wait_events (server, 20);
  wait_reconnected (stays);
  push (stays, 5);
  push (rejoins, 5);
  sio_test_stream_finish (stays);
  sio_test_stream_finish (rejoins);
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 2);
  g_assert_cmpstr (namespace_sid (stats, "/stays", 1), ==,
      namespace_sid (stats, "/rejoins", 2));
  g_assert_cmpstr (namespace_sid (stats, "/stays", 1), !=,
      namespace_sid (stats, "/stays", 0));
  check_namespace_delivery (stats, "/stays", stays, 15);
  json_object_unref (stats);

  sio_test_stream_free (stays);
  sio_test_stream_free (rejoins);
  sio_test_server_stop (server);
  g_free (stays_props);
  g_free (rejoins_props);
}

GST_END_TEST;

/* One sink stops: its namespace leaves (the server sees a namespace
 * disconnect), the connection stays for the other. */
GST_START_TEST (test_stop_one)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestStream *stays = stream_in (server, "/stays", TRUE);
  SioTestStream *stops = stream_in (server, "/stops", TRUE);
  JsonObject *stats;

  push (stays, 5);
  push (stops, 5);
  sio_test_stream_finish (stops);
  sio_test_stream_free (stops);
  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "connected"), ==, 1);
  json_object_unref (stats);

  push (stays, 5);
  sio_test_stream_finish (stays);
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  check_namespace_delivery (stats, "/stays", stays, 10);
  g_assert_true (sio_test_json_array_has_string (stats, "disconnectReasons",
          "client namespace disconnect"));
  json_object_unref (stats);
  sio_test_stream_free (stays);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server dies and comes back: both namespaces reconnect, together on
 * one new connection, and ackqueue replays what the dead server had not
 * acked, so each queue sees every frame acked. */
GST_START_TEST (test_connection_lost_for_all)
{
  const guint frames = 60;      /* 3.8 s */
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *head = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1", frames);
  const gchar *sink = "multiplex=true reconnect-delay=100000000 "
      "reconnect-delay-max=300000000";
  gchar *sink_a = g_strconcat (sink, " namespace=/a", NULL);
  gchar *sink_b = g_strconcat (sink, " namespace=/b", NULL);
  SioTestLive *a = sio_test_live_new (server, head, "", sink_a);
  SioTestLive *b = sio_test_live_new (server, head, "", sink_b);
  JsonObject *stats;

  sio_test_server_wait_events (server, 20);
  json_object_unref (sio_test_server_kill (server));
  g_usleep (500 * 1000);
  sio_test_server_restart (server);
  sio_test_live_wait_element_message (a, "socketio-reconnected",
      10 * GST_SECOND);
  sio_test_live_wait_element_message (b, "socketio-reconnected",
      10 * GST_SECOND);
  sio_test_live_wait_eos (a, 30 * GST_SECOND);
  sio_test_live_wait_eos (b, 30 * GST_SECOND);

  g_assert_cmpuint (sio_test_element_stat (a->queue, "acked-buffers"), ==,
      frames);
  g_assert_cmpuint (sio_test_element_stat (b->queue, "acked-buffers"), ==,
      frames);
  g_assert_cmpuint (sio_test_element_stat (a->sink, "reconnects"), ==, 1);
  g_assert_cmpuint (sio_test_element_stat (b->sink, "reconnects"), ==, 1);
  stats = sio_test_server_stats (server);
  g_assert_cmpuint (engine_connections (stats), ==, 1);
  g_assert_cmpstr (namespace_sid (stats, "/a", 0), ==,
      namespace_sid (stats, "/b", 0));
  json_object_unref (stats);

  sio_test_live_free (a);
  sio_test_live_free (b);
  sio_test_server_stop (server);
  g_free (head);
  g_free (sink_a);
  g_free (sink_b);
}

GST_END_TEST;

static Suite *
multiplex_suite (void)
{
  Suite *s = suite_create ("socketiosink-multiplex");
  TCase *tc = tcase_create ("multiplex");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_one_connection);
  tcase_add_test (tc, test_one_connection_polling);
  tcase_add_test (tc, test_one_connection_python);
  tcase_add_test (tc, test_same_namespace_apart);
  tcase_add_test (tc, test_refused_namespace_alone);
  tcase_add_test (tc, test_namespace_disconnect_alone);
  tcase_add_test (tc, test_namespace_rejoins);
  tcase_add_test (tc, test_stop_one);
  tcase_add_test (tc, test_connection_lost_for_all);
  return s;
}

GST_CHECK_MAIN (multiplex);
