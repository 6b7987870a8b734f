/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosrc against tests/server/server.js (issue 10): the server sends
 * the audio back (/control/echo), or sends a TTS-like reply faster than
 * real time (/control/tts), on the connection of a socketiosink in the
 * same pipeline. */

#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"
#include "test-wait.h"

#define RAW_CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1"

/* What a fakesink's handoffs saw: bytes, their hash, when each buffer
 * came, their pts, and DISCONT flags. */
typedef struct
{
  GMutex lock;
  GChecksum *sha;
  guint64 bytes;
  GArray *arrivals;             /* gint64 monotonic µs */
  GArray *pts;                  /* GstClockTime */
  guint disconts;
  gboolean pattern_ok;          /* bytes follow server.js's TTS pattern */
  GByteArray *data;             /* the first 64 KiB */
  GArray *sizes;                /* gsize, of each buffer */
} Tally;

static void
tally_init (Tally * tally)
{
  g_mutex_init (&tally->lock);
  tally->sha = g_checksum_new (G_CHECKSUM_SHA256);
  tally->arrivals = g_array_new (FALSE, FALSE, sizeof (gint64));
  tally->pts = g_array_new (FALSE, FALSE, sizeof (GstClockTime));
  tally->pattern_ok = TRUE;
  tally->data = g_byte_array_new ();
  tally->sizes = g_array_new (FALSE, FALSE, sizeof (gsize));
}

static void
tally_clear (Tally * tally)
{
  g_checksum_free (tally->sha);
  g_array_unref (tally->arrivals);
  g_array_unref (tally->pts);
  g_byte_array_unref (tally->data);
  g_array_unref (tally->sizes);
  g_mutex_clear (&tally->lock);
}

static void
on_handoff (GstElement * fakesink, GstBuffer * buffer, GstPad * pad,
    Tally * tally)
{
  gint64 now = g_get_monotonic_time ();
  GstClockTime pts = GST_BUFFER_PTS (buffer);
  GstMapInfo map;
  gsize i;

  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  g_mutex_lock (&tally->lock);
  g_checksum_update (tally->sha, map.data, map.size);
  for (i = 0; i < map.size && tally->pattern_ok; i++)
    if (map.data[i] != (((tally->bytes + i) * 7 + 3) & 255))
      tally->pattern_ok = FALSE;
  tally->bytes += map.size;
  if (tally->data->len + map.size <= 65536)
    g_byte_array_append (tally->data, map.data, map.size);
  g_array_append_val (tally->sizes, map.size);
  g_array_append_val (tally->arrivals, now);
  g_array_append_val (tally->pts, pts);
  if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT))
    tally->disconts++;
  g_mutex_unlock (&tally->lock);
  gst_buffer_unmap (buffer, &map);
}

static guint64
tally_bytes (Tally * tally)
{
  guint64 bytes;

  g_mutex_lock (&tally->lock);
  bytes = tally->bytes;
  g_mutex_unlock (&tally->lock);
  return bytes;
}

static void
watch (SioTestLive * live, const gchar * name, Tally * tally)
{
  GstElement *fakesink = gst_bin_get_by_name (GST_BIN (live->pipeline), name);

  g_assert_nonnull (fakesink);
  g_signal_connect (fakesink, "handoff", G_CALLBACK (on_handoff), tally);
  gst_object_unref (fakesink);
}

static GstElement *
get_src (SioTestLive * live)
{
  GstElement *src = gst_bin_get_by_name (GST_BIN (live->pipeline), "src");

  g_assert_nonnull (src);
  return src;
}

/* Fails on an error or warning on the bus; returns after @ms. */
static void
run_for (SioTestLive * live, guint ms)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (live->bus, ms * GST_MSECOND,
      GST_MESSAGE_ERROR | GST_MESSAGE_WARNING);

  if (msg) {
    GError *error = NULL;

    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      gst_message_parse_error (msg, &error, NULL);
    else
      gst_message_parse_warning (msg, &error, NULL);
    g_error ("%s: %s", GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), error->message);
  }
}

static void
dump_stats (GstElement * element)
{
  GstStructure *stats;
  gchar *text;

  g_object_get (element, "stats", &stats, NULL);
  text = gst_structure_to_string (stats);
  g_printerr ("# %s: %s\n", GST_OBJECT_NAME (element), text);
  g_free (text);
  gst_structure_free (stats);
}

/* When a wait runs out: which side stopped, so that a rare failure can be
 * read from its log. */
static void
dump_live (SioTestLive * live, Tally * sent, Tally * back)
{
  GstElement *src = get_src (live);
  GstState state, pending;

  gst_element_get_state (live->pipeline, &state, &pending, 0);
  g_printerr ("# pipeline %s (pending %s); sent %u buffers, back %u\n",
      gst_element_state_get_name (state), gst_element_state_get_name (pending),
      sent->arrivals->len, back->arrivals->len);
  for (guint q = 0; q < 2; q++) {
    gchar *name = g_strdup_printf ("queue%u", q);
    GstElement *queue = gst_bin_get_by_name (GST_BIN (live->pipeline), name);
    guint level = 0;

    if (queue) {
      g_object_get (queue, "current-level-buffers", &level, NULL);
      g_printerr ("# %s holds %u buffers\n", name, level);
      gst_object_unref (queue);
    }
    g_free (name);
  }
  dump_stats (live->sink);
  dump_stats (src);
  gst_debug_bin_to_dot_file (GST_BIN (live->pipeline), GST_DEBUG_GRAPH_SHOW_ALL,
      "echo-round-trip");
  gst_object_unref (src);
}

static gint
compare_int64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

/* The round trip: what the sink sent comes back byte-exact, in order, one
 * buffer per event, timestamps running on; prints the delay from each
 * buffer reaching the sink to it leaving the source. */
GST_START_TEST (test_echo_round_trip)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  Tally sent = { 0 }, back = { 0 };
  gchar *description;
  SioTestLive *live;
  GstElement *src;
  GArray *delays;
  guint i, n;
  JsonObject *reply;
  GstQuery *latency_query;
  GstClockTime latency = 0;

  tally_init (&sent);
  tally_init (&back);
  reply = sio_test_server_control (server, "echo?event=audio_data");
  json_object_unref (reply);
  description = g_strdup_printf ("audiotestsrc is-live=true num-buffers=50 "
      "samplesperbuffer=1024 wave=sine ! " RAW_CAPS " ! tee name=t "
      "! queue ! socketiosink name=sink location=%s "
      "t. ! queue ! fakesink name=sent signal-handoffs=true sync=false "
      "socketiosrc name=src location=%s "
      "! fakesink name=back signal-handoffs=true sync=false", url, url);
  live = sio_test_live_launch (description);
  watch (live, "sent", &sent);
  watch (live, "back", &back);
  src = get_src (live);

  for (i = 0; i < 200 && (tally_bytes (&sent) < 50 * 2048 ||
          tally_bytes (&back) < tally_bytes (&sent)); i++)
    run_for (live, 50);
  if (tally_bytes (&sent) != 50 * 2048 || tally_bytes (&back) != 50 * 2048)
    dump_live (live, &sent, &back);
  g_assert_cmpuint (tally_bytes (&sent), ==, 50 * 2048);
  g_assert_cmpuint (tally_bytes (&back), ==, 50 * 2048);
  g_assert_cmpstr (g_checksum_get_string (back.sha), ==,
      g_checksum_get_string (sent.sha));
  g_assert_cmpuint (back.arrivals->len, ==, 50);
  g_assert_cmpuint (sio_test_element_stat (src, "events"), ==, 50);
  g_assert_cmpuint (sio_test_element_stat (src, "dropped-events"), ==, 0);
  g_assert_cmpuint (sio_test_element_stat (src, "bad-events"), ==, 0);
  /* the first buffer starts the timeline, the rest follow on */
  g_assert_cmpuint (back.disconts, >=, 1);
  for (i = 1; i < back.pts->len; i++)
    g_assert_cmpuint (g_array_index (back.pts, GstClockTime, i), ==,
        g_array_index (back.pts, GstClockTime, i - 1) + 64 * GST_MSECOND);

  n = MIN (sent.arrivals->len, back.arrivals->len);
  delays = g_array_new (FALSE, FALSE, sizeof (gint64));
  for (i = 0; i < n; i++) {
    gint64 delay = g_array_index (back.arrivals, gint64, i) -
        g_array_index (sent.arrivals, gint64, i);

    g_array_append_val (delays, delay);
  }
  g_array_sort (delays, compare_int64);
  /* the tee's branch does not sync; socketiosink renders each buffer at
   * its running time plus the pipeline's latency */
  latency_query = gst_query_new_latency ();
  g_assert_true (gst_element_query (live->pipeline, latency_query));
  gst_query_parse_latency (latency_query, NULL, &latency, NULL);
  gst_query_unref (latency_query);
  g_printerr ("# echo round trip, %u events of 64 ms: from the tee to the "
      "source's output p50 %.2f ms, p99 %.2f ms, max %.2f ms; less the "
      "pipeline latency (%.0f ms) socketiosink waits for: p50 %.2f ms, "
      "p99 %.2f ms\n", n, g_array_index (delays, gint64, n / 2) / 1000.0,
      g_array_index (delays, gint64, (n * 99) / 100) / 1000.0,
      g_array_index (delays, gint64, n - 1) / 1000.0,
      latency / 1e6, g_array_index (delays, gint64, n / 2) / 1000.0 -
      latency / 1e6, g_array_index (delays, gint64, (n * 99) / 100) /
      1000.0 - latency / 1e6);
  g_array_unref (delays);

  gst_object_unref (src);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  tally_clear (&sent);
  tally_clear (&back);
  g_free (description);
}

GST_END_TEST;

/* Opus through the echo, five packets an event: the source gives each
 * packet back as its own buffer, byte-exact, with the caps the sink sent. */
GST_START_TEST (test_echo_opus_packets)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  Tally sent = { 0 }, back = { 0 };
  gchar *description;
  SioTestLive *live;
  GstElement *src, *back_sink;
  GstPad *pad;
  GstCaps *caps;
  JsonObject *reply;
  guint i;

  tally_init (&sent);
  tally_init (&back);
  reply = sio_test_server_control (server, "echo?event=audio_data");
  json_object_unref (reply);
  description = g_strdup_printf ("audiotestsrc is-live=true num-buffers=50 "
      "samplesperbuffer=960 wave=sine ! audio/x-raw,format=S16LE,rate=48000,"
      "channels=1 ! opusenc bitrate=24000 ! tee name=t ! queue "
      "! socketiosink name=sink location=%s batch-duration=100000000 "
      "t. ! queue ! fakesink name=sent signal-handoffs=true sync=false "
      "socketiosrc name=src location=%s "
      "! fakesink name=back signal-handoffs=true sync=false", url, url);
  live = sio_test_live_launch (description);
  watch (live, "sent", &sent);
  watch (live, "back", &back);
  src = get_src (live);

  /* the last packets wait for a batch that EOS would flush: compare the
   * first 45 */
  for (i = 0; i < 200 && back.arrivals->len < 45; i++)
    run_for (live, 50);
  g_mutex_lock (&back.lock);
  g_mutex_lock (&sent.lock);
  g_assert_cmpuint (back.arrivals->len, >=, 45);
  {
    gsize prefix = 0;

    for (i = 0; i < 45; i++) {
      g_assert_cmpuint (g_array_index (back.sizes, gsize, i), ==,
          g_array_index (sent.sizes, gsize, i));
      prefix += g_array_index (sent.sizes, gsize, i);
    }
    g_assert_cmpint (memcmp (back.data->data, sent.data->data, prefix), ==, 0);
  }
  g_mutex_unlock (&sent.lock);
  g_mutex_unlock (&back.lock);
  g_assert_cmpuint (sio_test_element_stat (src, "bad-events"), ==, 0);
  back_sink = gst_bin_get_by_name (GST_BIN (live->pipeline), "back");
  pad = gst_element_get_static_pad (back_sink, "sink");
  caps = gst_pad_get_current_caps (pad);
  g_assert_nonnull (caps);
  g_assert_cmpstr (gst_structure_get_name (gst_caps_get_structure (caps, 0)),
      ==, "audio/x-opus");
  gst_caps_unref (caps);
  gst_object_unref (pad);
  gst_object_unref (back_sink);

  gst_object_unref (src);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  tally_clear (&sent);
  tally_clear (&back);
  g_free (description);
}

GST_END_TEST;

static gint64
json_int (JsonObject * object, const gchar * member)
{
  return json_object_get_int_member (object, member);
}

/* A TTS-like reply of 4 s, sent as fast as acks allow (two events in
 * flight), into a pipeline that plays in real time: the source holds at
 * most its latency plus what the server has in flight, by holding acks
 * back, and the audio comes out whole and in order. */
GST_START_TEST (test_tts_faster_than_real_time)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  Tally back = { 0 };
  gchar *description;
  SioTestLive *live;
  GstElement *src;
  JsonObject *stats, *tts, *reply;
  guint i;
  const guint64 total = 4 * 32000;

  tally_init (&back);
  description = g_strdup_printf ("audiotestsrc is-live=true wave=silence "
      "samplesperbuffer=1024 ! " RAW_CAPS " ! socketiosink name=sink "
      "location=%s socketiosrc name=src location=%s latency=200000000 "
      "! fakesink name=back signal-handoffs=true sync=true", url, url);
  live = sio_test_live_launch (description);
  watch (live, "back", &back);
  src = get_src (live);
  sio_test_live_wait_element_message (live, "socketio-connected",
      10 * GST_SECOND);

  reply = sio_test_server_control (server,
      "tts?bytes=128000&chunk=3200&window=2");
  g_assert_cmpint (json_int (reply, "sockets"), ==, 1);
  json_object_unref (reply);
  for (i = 0; i < 200 && tally_bytes (&back) < total; i++)
    run_for (live, 50);

  g_assert_cmpuint (tally_bytes (&back), ==, total);
  g_assert_true (back.pattern_ok);
  stats = sio_test_server_stats (server);
  tts = json_object_get_object_member (stats, "tts");
  g_printerr ("# tts: sent %" G_GINT64_FORMAT ", done in %" G_GINT64_FORMAT
      " ms; source held back %" G_GUINT64_FORMAT " acks, at most %"
      G_GUINT64_FORMAT " ms waiting", json_int (tts, "sent"),
      json_int (tts, "doneMs"), sio_test_element_stat (src, "deferred-acks"),
      sio_test_element_stat (src, "max-queued-duration") / GST_MSECOND);
  g_printerr ("\n");
  g_assert_cmpint (json_int (tts, "sent"), ==, 40);
  g_assert_cmpint (json_int (tts, "acked"), ==, 40);
  /* held to the pace of playback: 4 s of audio, less what may wait */
  g_assert_cmpint (json_int (tts, "doneMs"), >=, 3000);
  g_assert_cmpuint (sio_test_element_stat (src, "deferred-acks"), >, 0);
  g_assert_cmpuint (sio_test_element_stat (src, "max-queued-duration"), <=,
      400 * GST_MSECOND);
  g_assert_cmpuint (sio_test_element_stat (src, "dropped-events"), ==, 0);
  json_object_unref (stats);

  gst_object_unref (src);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  tally_clear (&back);
  g_free (description);
}

GST_END_TEST;

static gboolean
is_attached (GstElement * src)
{
  GstStructure *stats;
  gboolean attached = FALSE;

  g_object_get (src, "stats", &stats, NULL);
  g_assert_true (gst_structure_get_boolean (stats, "attached", &attached));
  gst_structure_free (stats);
  return attached;
}

/* The source stops mid-reply, its sink streaming on in another
 * pipeline: the acks it held back go to the server at once, so a server
 * that awaits them (two in flight) goes on instead of waiting out its
 * 30 s timeout; the rest of the reply, which nobody takes, the sink acks
 * itself. */
GST_START_TEST (test_held_acks_sent_at_stop)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  Tally back = { 0 };
  gchar *sending, *receiving;
  SioTestLive *sender, *receiver;
  GstElement *src;
  JsonObject *stats, *tts, *reply;
  guint64 deferred;
  guint i;

  tally_init (&back);
  sending = g_strdup_printf ("audiotestsrc is-live=true wave=silence "
      "samplesperbuffer=1024 ! " RAW_CAPS " ! socketiosink name=sink "
      "location=%s", url);
  receiving = g_strdup_printf ("socketiosrc name=src location=%s "
      "latency=200000000 ! fakesink name=sink signal-handoffs=true "
      "sync=true", url);
  sender = sio_test_live_launch (sending);
  sio_test_live_wait_element_message (sender, "socketio-connected",
      10 * GST_SECOND);
  receiver = sio_test_live_launch (receiving);
  watch (receiver, "sink", &back);
  src = get_src (receiver);
  for (i = 0; i < 100 && !is_attached (src); i++)
    run_for (receiver, 20);
  g_assert_true (is_attached (src));

  reply = sio_test_server_control (server,
      "tts?bytes=128000&chunk=3200&window=2");
  json_object_unref (reply);
  /* a second of the 4 s reply played: acks are being held */
  for (i = 0; i < 100 && tally_bytes (&back) < 32000; i++)
    run_for (receiver, 20);
  deferred = sio_test_element_stat (src, "deferred-acks");
  g_assert_cmpuint (deferred, >, 0);
  gst_object_unref (src);
  sio_test_live_free (receiver);

  /* the server's pump was waiting for the held acks; now it finishes */
  for (i = 0; i < 100; i++) {
    stats = sio_test_server_stats (server);
    tts = json_object_get_object_member (stats, "tts");
    if (json_int (tts, "acked") == 40) {
      json_object_unref (stats);
      break;
    }
    json_object_unref (stats);
    run_for (sender, 50);
  }
  stats = sio_test_server_stats (server);
  tts = json_object_get_object_member (stats, "tts");
  g_printerr ("# source stopped mid-reply after %" G_GUINT64_FORMAT
      " held acks: the server got %" G_GINT64_FORMAT " of %" G_GINT64_FORMAT
      " acks, %" G_GINT64_FORMAT " timeouts\n", deferred,
      json_int (tts, "acked"), json_int (tts, "sent"),
      json_int (tts, "timeouts"));
  g_assert_cmpint (json_int (tts, "sent"), ==, 40);
  g_assert_cmpint (json_int (tts, "acked"), ==, 40);
  g_assert_cmpint (json_int (tts, "timeouts"), ==, 0);
  json_object_unref (stats);

  sio_test_live_free (sender);
  sio_test_server_stop (server);
  tally_clear (&back);
  g_free (sending);
  g_free (receiving);
}

GST_END_TEST;

/* Compressed audio whose duration the server does not say is bounded
 * in bytes: a server that sends 6 MiB without waiting for its acks, into
 * a pipeline that takes 100 ms a buffer, has what passes 4 MiB dropped
 * and counted, and no more than that waits. */
GST_START_TEST (test_unknown_duration_bounded)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  gchar *description = g_strdup_printf ("socketiosrc name=sink location=%s "
      "! identity sleep-time=100000 ! fakesink", url);
  SioTestLive *live = sio_test_live_launch (description);
  JsonObject *reply;
  guint64 taken = 0;
  guint i;

  sio_test_live_wait_element_message (live, "socketio-connected",
      10 * GST_SECOND);
  reply = sio_test_server_control (server, "tts?bytes=6291456&chunk=262144"
      "&window=64&caps=audio%2Fx-alaw%2C%20rate%3D(int)8000%2C%20"
      "channels%3D(int)1");
  json_object_unref (reply);
  for (i = 0; i < 100 && taken < 24; i++) {
    run_for (live, 100);
    taken = sio_test_element_stat (live->sink, "events");
  }
  g_printerr ("# unknown durations: %" G_GUINT64_FORMAT " events, %"
      G_GUINT64_FORMAT " dropped, at most %" G_GUINT64_FORMAT " bytes "
      "waiting\n", taken, sio_test_element_stat (live->sink,
          "dropped-events"), sio_test_element_stat (live->sink,
          "max-queued-bytes"));
  g_assert_cmpuint (taken, ==, 24);
  g_assert_cmpuint (sio_test_element_stat (live->sink, "dropped-events"), >, 0);
  g_assert_cmpuint (sio_test_element_stat (live->sink, "max-queued-bytes"),
      <=, 4 * 1024 * 1024);
  g_assert_cmpuint (sio_test_element_stat (live->sink, "deferred-acks"), >, 0);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_free (description);
}

GST_END_TEST;

/* Without a socketiosink to listen on, the source connects itself: a
 * server that is not there is the sink's own connection error, from the
 * source, and no secret of the location is in it. */
GST_START_TEST (test_own_connection_refused)
{
  GstElement *pipeline = gst_parse_launch ("socketiosrc name=src "
      "location=http://127.0.0.1:9/?token=secret ! fakesink", NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  g_assert_cmpstr (GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), ==, "src");
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "Could not connect"));
  g_assert_null (strstr (error->message, "secret"));
  g_error_free (error);
  gst_message_unref (msg);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* A connection setting that socketiosink does not have is refused at
 * start, by name. */
GST_START_TEST (test_own_connection_bad_setting)
{
  GstElement *pipeline = gst_parse_launch ("socketiosrc "
      "location=http://127.0.0.1:9 connection=\"c, no-such-setting=1\" "
      "! fakesink", NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), ==,
      GST_STATE_CHANGE_FAILURE);
  msg = gst_bus_timed_pop_filtered (bus, 5 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "no-such-setting"));
  g_error_free (error);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_END_TEST;

/* Its own connection, no socketiosink in the process: the TTS reply
 * comes out whole, connection settings reach the connection (the server
 * sees the auth), and the server's other events reach the bus from the
 * source. */
GST_START_TEST (test_own_connection_tts)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  Tally back = { 0 };
  gchar *description;
  SioTestLive *live;
  GstElement *src;
  GstMessage *msg = NULL;
  GstStructure *settings;
  JsonObject *stats, *tts, *reply;
  gint64 deadline;
  guint i;

  tally_init (&back);
  description = g_strdup_printf ("socketiosrc name=sink location=%s "
      "! fakesink name=back signal-handoffs=true sync=true", url);
  live = g_new0 (SioTestLive, 1);
  live->pipeline = gst_parse_launch (description, NULL);
  g_assert_nonnull (live->pipeline);
  live->sink = gst_bin_get_by_name (GST_BIN (live->pipeline), "sink");
  live->bus = gst_element_get_bus (live->pipeline);
  settings = gst_structure_new ("settings", "auth", G_TYPE_STRING,
      "{\"token\":\"t1\"}", "reconnect-delay", G_TYPE_STRING, "100000000",
      NULL);
  g_object_set (live->sink, "connection", settings, NULL);
  gst_structure_free (settings);
  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);
  watch (live, "back", &back);
  src = gst_object_ref (live->sink);
  sio_test_live_wait_element_message (live, "socketio-connected",
      10 * GST_SECOND);

  reply = sio_test_server_control (server,
      "tts?bytes=32000&chunk=3200&window=2");
  g_assert_cmpint (json_object_get_int_member (reply, "sockets"), ==, 1);
  json_object_unref (reply);
  reply = sio_test_server_control (server,
      "emit?event=transcript&args=%5B%22hello%22%5D");
  json_object_unref (reply);
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline) {
    msg = gst_bus_timed_pop_filtered (live->bus, 100 * GST_MSECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);
    g_assert_true (msg == NULL || GST_MESSAGE_TYPE (msg) != GST_MESSAGE_ERROR);
    if (msg && gst_message_has_name (msg, "socketio-event"))
      break;
    gst_clear_message (&msg);
  }
  g_assert_nonnull (msg);
  g_assert_true (GST_MESSAGE_SRC (msg) == GST_OBJECT (src));
  g_assert_cmpstr (gst_structure_get_string (gst_message_get_structure (msg),
          "name"), ==, "transcript");
  gst_message_unref (msg);

  for (i = 0; i < 200 && tally_bytes (&back) < 32000; i++)
    run_for (live, 50);
  g_assert_cmpuint (tally_bytes (&back), ==, 32000);
  g_assert_true (back.pattern_ok);
  stats = sio_test_server_stats (server);
  tts = json_object_get_object_member (stats, "tts");
  g_assert_cmpint (json_int (tts, "acked"), ==, 10);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element
          (json_object_get_array_member (stats, "auths"), 0), "token"), ==,
      "t1");
  json_object_unref (stats);

  gst_object_unref (src);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  tally_clear (&back);
  g_free (description);
}

GST_END_TEST;

/* The socketiosink stopped while the source plays: an error that says
 * so, not a source waiting for ever. */
GST_START_TEST (test_sink_stopped)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
      "wave=silence ! " RAW_CAPS " ! socketiosink name=sink location=%s "
      "socketiosrc name=src location=%s ! fakesink name=back", url, url);
  SioTestLive *live = sio_test_live_launch (description);
  GstMessage *msg;
  GError *error = NULL;

  sio_test_live_wait_element_message (live, "socketio-connected",
      10 * GST_SECOND);
  gst_element_set_locked_state (live->sink, TRUE);
  gst_element_set_state (live->sink, GST_STATE_NULL);
  msg = gst_bus_timed_pop_filtered (live->bus, 5 * GST_SECOND,
      GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  g_assert_nonnull (strstr (error->message, "stopped"));
  g_error_free (error);
  gst_message_unref (msg);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_free (description);
}

GST_END_TEST;

/* Two sources of one event on one connection: the first would take every
 * event and the second get nothing, so the second is refused by name. */
static void
check_second_source_refused (const gchar * description)
{
  GstElement *pipeline = gst_parse_launch (description, NULL);
  GstBus *bus = gst_element_get_bus (pipeline);
  GstMessage *msg;
  GError *error = NULL;
  const gchar *from;

  g_assert_nonnull (pipeline);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_nonnull (msg);
  from = GST_OBJECT_NAME (GST_MESSAGE_SRC (msg));
  g_assert_true (g_str_equal (from, "first") || g_str_equal (from, "second"));
  gst_message_parse_error (msg, &error, NULL);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_BUSY));
  g_assert_nonnull (strstr (error->message, "already takes the events "
          "named \"reply\""));
  g_assert_null (strstr (error->message, "secret"));
  g_error_free (error);
  gst_message_unref (msg);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
}

GST_START_TEST (test_same_event_twice_refused)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *url = g_strdup_printf ("%s/?token=secret",
      sio_test_server_get_url (server));
  gchar *description;

  /* on a socketiosink's connection */
  description = g_strdup_printf ("audiotestsrc is-live=true wave=silence ! "
      RAW_CAPS " ! socketiosink location=%s "
      "socketiosrc name=first location=%s event=reply ! fakesink "
      "socketiosrc name=second location=%s event=reply ! fakesink",
      url, url, url);
  check_second_source_refused (description);
  g_free (description);

  /* on a connection of the first source's own */
  description = g_strdup_printf ("socketiosrc name=first location=%s "
      "event=reply ! fakesink socketiosrc name=second location=%s "
      "event=reply ! fakesink", url, url);
  check_second_source_refused (description);
  g_free (description);

  g_free (url);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* Two sources of different events share the connection: neither fails. */
GST_START_TEST (test_two_events_two_sources)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  const gchar *url = sio_test_server_get_url (server);
  gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
      "wave=silence ! " RAW_CAPS " ! socketiosink name=sink location=%s "
      "socketiosrc location=%s event=reply ! fakesink "
      "socketiosrc location=%s event=other ! fakesink", url, url, url);
  SioTestLive *live = sio_test_live_launch (description);
  GstMessage *msg;

  sio_test_live_wait_element_message (live, "socketio-connected",
      10 * GST_SECOND);
  msg = gst_bus_timed_pop_filtered (live->bus, GST_SECOND, GST_MESSAGE_ERROR);
  g_assert_null (msg);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_free (description);
}

GST_END_TEST;

static Suite *
socketiosrc_suite (void)
{
  Suite *s = suite_create ("socketiosrc");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_own_connection_refused);
  tcase_add_test (tc, test_own_connection_bad_setting);
  tcase_add_test (tc, test_own_connection_tts);
  tcase_add_test (tc, test_echo_round_trip);
  tcase_add_test (tc, test_echo_opus_packets);
  tcase_add_test (tc, test_tts_faster_than_real_time);
  tcase_add_test (tc, test_held_acks_sent_at_stop);
  tcase_add_test (tc, test_unknown_duration_bounded);
  tcase_add_test (tc, test_sink_stopped);
  tcase_add_test (tc, test_same_event_twice_refused);
  tcase_add_test (tc, test_two_events_two_sources);
  return s;
}

GST_CHECK_MAIN (socketiosrc);
