/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink against real Socket.IO servers: the official Node server
 * (socket.io 4.8) or, with SIO_TEST_SERVER=python, Debian's
 * python-socketio. The server counts and hashes what it receives and
 * reports it over its control API. */

#include <string.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>
#include <gst/app/gstappsrc.h>

#include "test-server.h"
#include "test-pipeline.h"

#define AUDIO_CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved"

static SioTestServer *
start_server (const gchar * first_arg, ...)
{
  GPtrArray *args = g_ptr_array_new ();
  SioTestServer *server;
  const gchar *arg;
  va_list va;

  va_start (va, first_arg);
  for (arg = first_arg; arg; arg = va_arg (va, const gchar *))
      g_ptr_array_add (args, (gpointer) arg);
  va_end (va);
  g_ptr_array_add (args, NULL);
  server = sio_test_server_start (sio_test_server_kind_from_env (),
      (const gchar * const *) args->pdata);
  g_ptr_array_unref (args);
  return server;
}

GST_START_TEST (test_byte_exact_delivery)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream = sio_test_stream_new (server, NULL);
  JsonObject *stats;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 500, 2048), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 500);

  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "acks"), ==, 500);
  g_assert_cmpint (json_object_get_int_member (stats, "lastSeq"), ==, 499);
  {
    JsonObject *last = json_object_get_object_member (stats, "last");

    g_assert_cmpstr (json_object_get_string_member (last, "format"), ==,
        "S16LE");
    g_assert_cmpint (json_object_get_int_member (last, "rate"), ==, 16000);
    g_assert_cmpint (json_object_get_int_member (last, "channels"), ==, 1);
    g_assert_cmpint (json_object_get_int_member (last, "pts"), ==,
        gst_util_uint64_scale (499 * 1024, GST_SECOND, 16000));
    g_assert_cmpint (json_object_get_int_member (last, "duration"), ==,
        64 * GST_MSECOND);
  }
  json_object_unref (stats);

  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

typedef struct
{
  GChecksum *sha;
  guint64 bytes;
  guint64 packets;
} PacketTally;

/* fakesink's handoff, on the tee's other branch: the packets the sink
 * must deliver (header buffers go in their own event). */
static void
tally_packet (GstElement * fakesink, GstBuffer * buffer, GstPad * pad,
    PacketTally * tally)
{
  GstMapInfo map;

  if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_HEADER))
    return;
  g_assert_true (gst_buffer_map (buffer, &map, GST_MAP_READ));
  g_checksum_update (tally->sha, map.data, map.size);
  tally->bytes += map.size;
  tally->packets++;
  gst_buffer_unmap (buffer, &map);
}

/* Opus and FLAC from the encoders: every packet arrives whole and
 * byte-exact, @per_event to an event (sink @props set batch-duration for
 * more than one), each saying its caps, after one audio_header event with
 * the stream headers. */
static void
check_compressed (const gchar * encoder, const gchar * media_type,
    const gchar * props, guint per_event)
{
  SioTestServer *server = start_server (NULL);
  PacketTally tally = { g_checksum_new (G_CHECKSUM_SHA256) };
  gchar *description = g_strdup_printf ("audiotestsrc num-buffers=100 "
      "samplesperbuffer=960 wave=ticks ! audio/x-raw,format=S16LE,rate=48000,"
      "channels=1 ! %s ! tee name=t ! queue ! socketiosink name=sink "
      "sync=false location=%s %s t. ! queue ! fakesink name=check "
      "signal-handoffs=true sync=false", encoder,
      sio_test_server_get_url (server), props);
  SioTestLive *live = sio_test_live_launch (description);
  GstElement *check = gst_bin_get_by_name (GST_BIN (live->pipeline), "check");
  JsonObject *stats, *last, *events, *header_args;
  JsonArray *sizes;

  g_signal_connect (check, "handoff", G_CALLBACK (tally_packet), &tally);
  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);
  sio_test_live_wait_eos (live, 30 * GST_SECOND);
  gst_element_set_state (live->pipeline, GST_STATE_NULL);

  stats = sio_test_server_stats (server);
  GST_INFO ("%s: %" G_GUINT64_FORMAT " packets, %" G_GUINT64_FORMAT " bytes",
      encoder, tally.packets, tally.bytes);
  g_assert_cmpuint (tally.packets, >, 10);
  /* an encoder's first or last packet may be shorter: a batch then takes
   * one more */
  g_assert_cmpint (json_object_get_int_member (stats, "packets"), ==,
      tally.packets);
  g_assert_cmpint (json_object_get_int_member (stats, "packetSizeErrors"), ==,
      0);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), <=,
      (tally.packets + per_event - 1) / per_event);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), >=,
      per_event == 1 ? tally.packets : tally.packets / (per_event + 1));
  g_assert_cmpint (json_object_get_int_member (stats, "bytes"), ==,
      tally.bytes);
  g_assert_cmpstr (json_object_get_string_member (stats, "sha256"), ==,
      g_checksum_get_string (tally.sha));
  last = json_object_get_object_member (stats, "last");
  g_assert_true (json_object_get_null_member (last, "format"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (last,
              "packet_sizes")), <=, per_event + 1);
  events = json_object_get_object_member (stats, "clientEvents");
  g_assert_cmpint (json_object_get_int_member (events, "audio_header"), ==, 1);
  header_args = json_array_get_object_element (json_object_get_array_member
      (json_object_get_object_member (stats, "clientEventArgs"),
          "audio_header"), 0);
  g_assert_true (g_str_has_prefix (json_object_get_string_member (header_args,
              "caps"), media_type));
  sizes = json_object_get_array_member (header_args, "header_sizes");
  g_assert_cmpuint (json_array_get_length (sizes), >=, 1);
  g_assert_true (json_object_has_member (json_object_get_object_member
          (header_args, "headers"), "binary"));
  json_object_unref (stats);

  gst_object_unref (check);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_checksum_free (tally.sha);
  g_free (description);
}

GST_START_TEST (test_opus_delivery)
{
  check_compressed ("opusenc bitrate=24000", "audio/x-opus", "", 1);
}

GST_END_TEST;

/* five 20 ms packets to an event */
GST_START_TEST (test_opus_batches)
{
  check_compressed ("opusenc bitrate=24000", "audio/x-opus",
      "batch-duration=100000000", 5);
}

GST_END_TEST;

GST_START_TEST (test_flac_delivery)
{
  check_compressed ("flacenc ! flacparse", "audio/x-flac", "", 1);
}

GST_END_TEST;

/* Odd buffer sizes, batching and splitting keep the bytes exact. */
GST_START_TEST (test_batching_and_splitting)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream;
  JsonObject *stats;

  /* 100 ms batches out of 10 ms buffers: 10 buffers per event */
  stream = sio_test_stream_new (server, "batch-duration=100000000");
  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 200, 320), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 20);
  sio_test_stream_free (stream);

  /* 10000-byte buffers split at 4096 bytes: 3 events each */
  json_object_unref (sio_test_server_control (server, "reset"));
  stream = sio_test_stream_new (server, "max-batch-bytes=4096");
  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 50, 10000), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 150);
  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "maxAttachment"), <=,
      4096);
  json_object_unref (stats);
  sio_test_stream_free (stream);

  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server's counters reset while a sink streams: it counts on from
 * zero. (server.js once crashed at the next event of a socket that had
 * joined before the reset.) */
GST_START_TEST (test_server_reset_while_streaming)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream = sio_test_stream_new (server, "");
  JsonObject *stats;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 10, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, 10);
  json_object_unref (sio_test_server_control (server, "reset"));
  g_assert_cmpint (sio_test_stream_push (stream, 10, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, 10);
  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), ==, 10);
  json_object_unref (stats);
  sio_test_stream_finish (stream);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* No frame may exceed the server's maxPayload: the server would close the
 * connection (1009) otherwise. socket.io announces it; python-engineio
 * does not, so there max-batch-bytes must be set to fit. */
GST_START_TEST (test_max_payload_respected)
{
  SioTestServer *server = start_server ("--max-payload", "20000", NULL);
  gboolean announced = sio_test_server_kind_from_env () == SIO_TEST_SERVER_NODE;
  SioTestStream *stream = sio_test_stream_new (server, announced ?
      "max-batch-bytes=1000000" : "max-batch-bytes=20000");
  JsonObject *stats;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 20, 100000), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 100);
  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "maxAttachment"), <=,
      20000);
  json_object_unref (stats);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* With the server slow to ack, the window holds: the server itself counts
 * how many acks it owes at most. */
GST_START_TEST (test_in_flight_bounded_by_acks)
{
  SioTestServer *server = start_server ("--ack-delay-ms", "20", NULL);
  SioTestStream *stream = sio_test_stream_new (server, "max-in-flight=4");
  JsonObject *stats;
  GstStructure *sink;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 300, 2048), ==, GST_FLOW_OK);
  sink = sio_test_stream_sink_stats (stream);
  g_assert_cmpuint (g_value_get_uint (gst_structure_get_value (sink,
              "in-flight")), <=, 4);
  gst_structure_free (sink);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 300);

  stats = sio_test_server_stats (server);
  GST_INFO ("server saw at most %" G_GINT64_FORMAT " acks pending",
      json_object_get_int_member (stats, "maxPending"));
  g_assert_cmpint (json_object_get_int_member (stats, "maxPending"), <=, 4);
  /* and the window was used, not one-at-a-time */
  g_assert_cmpint (json_object_get_int_member (stats, "maxPending"), >=, 2);
  json_object_unref (stats);

  sink = sio_test_stream_sink_stats (stream);
  g_assert_cmpuint (sio_test_stats_uint64 (sink, "acked"), ==, 300);
  g_assert_cmpuint (sio_test_stats_uint64 (sink, "emitted"), ==, 300);
  g_assert_cmpuint (sio_test_stats_uint64 (sink, "ack-rtt-mean"), >=,
      20 * GST_MSECOND);
  gst_structure_free (sink);

  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* When the server keeps stopped-up acks to come, the emits that refill a
 * full window are held back and written together with the one that fills
 * it (issue 11: one write and no wake-up per refill). A refill the
 * producer stops short of still goes out: at the next ack or emit a
 * millisecond on, when the last ack outstanding comes back, or at EOS;
 * and what follows that is no longer held. */
static gint64
wait_events_at (SioTestServer * server, gint64 events)
{
  sio_test_server_wait_events (server, events);
  return g_get_monotonic_time ();
}

typedef struct
{
  SioTestServer *server;
  SioTestStream *stream;
  gint64 arrivals[4];           /* when each group's last event arrived */
  gint64 fifth;                 /* when the short refill's event arrived */
} ShortRefill;

/* Fills a window of 4 with @groups (0-terminated counts of buffers, 400
 * ms apart, each once the server has the one before; its acks, a second
 * late, come back in the same groups), then pushes a fifth buffer: it
 * waits for room and refills the window, stopping short of filling it. */
static void
short_refill_start (ShortRefill * t, const guint * groups)
{
  gint64 events = 0;
  guint i;

  t->server = start_server ("--ack-delay-ms", "1000", NULL);
  t->stream = sio_test_stream_new (t->server, "max-in-flight=4");
  sio_test_stream_play (t->stream);
  for (i = 0; groups[i] > 0; i++) {
    g_assert_cmpuint (i, <, G_N_ELEMENTS (t->arrivals));
    if (i > 0)
      g_usleep (400 * 1000);
    g_assert_cmpint (sio_test_stream_push (t->stream, groups[i], 2048), ==,
        GST_FLOW_OK);
    events += groups[i];
    t->arrivals[i] = wait_events_at (t->server, events);
  }
  g_assert_cmpint (events, ==, 4);
  g_assert_cmpint (sio_test_stream_push (t->stream, 1, 2048), ==, GST_FLOW_OK);
}

static void
short_refill_arrived (ShortRefill * t)
{
  t->fifth = wait_events_at (t->server, 5);
}

/* EOS (unless @eos_sent: then only waits for it), and all @events were
 * delivered. */
static void
short_refill_finish (ShortRefill * t, gint64 events, gboolean eos_sent)
{
  if (eos_sent) {
    GstMessage *msg = sio_test_stream_wait_message (t->stream,
        GST_MESSAGE_EOS | GST_MESSAGE_ERROR, 30 * GST_SECOND);

    g_assert_nonnull (msg);
    g_assert_cmpint (GST_MESSAGE_TYPE (msg), ==, GST_MESSAGE_EOS);
    gst_message_unref (msg);
  } else {
    sio_test_stream_finish (t->stream);
  }
  sio_test_check_delivery (t->server, t->stream, events);
  sio_test_stream_free (t->stream);
  sio_test_server_stop (t->server);
}

GST_START_TEST (test_short_refill_not_stranded)
{
  const guint groups[] = { 2, 2, 0 };
  ShortRefill t;
  gint64 sixth, pushed;

  short_refill_start (&t, groups);
  short_refill_arrived (&t);
  GST_INFO ("fifth event %" G_GINT64_FORMAT " ms after the first two, %"
      G_GINT64_FORMAT " ms after the next two",
      (t.fifth - t.arrivals[0]) / 1000, (t.fifth - t.arrivals[1]) / 1000);
  /* held until the acks of events 3 and 4, not written at those of 1 and
   * 2 (about 400 ms earlier) */
  g_assert_cmpint (t.fifth - t.arrivals[1], >=, 900 * 1000);

  /* the hold was released: the sixth goes out at once, not when the
   * fifth's ack comes back, a second later */
  pushed = g_get_monotonic_time ();
  g_assert_cmpint (sio_test_stream_push (t.stream, 1, 2048), ==, GST_FLOW_OK);
  sixth = wait_events_at (t.server, 6);
  GST_INFO ("sixth event %" G_GINT64_FORMAT " ms after its push",
      (sixth - pushed) / 1000);
  g_assert_cmpint (sixth - pushed, <, 600 * 1000);

  short_refill_finish (&t, 6, FALSE);
}

GST_END_TEST;

/* Held for more at most until the next ack after a millisecond, not until
 * the last ack outstanding. */
GST_START_TEST (test_short_refill_released_by_next_ack)
{
  const guint groups[] = { 2, 1, 1, 0 };
  ShortRefill t;

  short_refill_start (&t, groups);
  short_refill_arrived (&t);
  /* held after the first two acks: the third's ack, 400 ms later,
   * releases it; the fourth's would come 800 ms later */
  GST_INFO ("fifth event %" G_GINT64_FORMAT " ms after the third",
      (t.fifth - t.arrivals[1]) / 1000);
  g_assert_cmpint (t.fifth - t.arrivals[1], >=, 900 * 1000);
  g_assert_cmpint (t.fifth - t.arrivals[1], <, 1300 * 1000);
  short_refill_finish (&t, 5, FALSE);
}

GST_END_TEST;

/* Cut short by the end of the stream, the refill is not held back for
 * what would follow: EOS writes it at once, not when acks outstanding
 * come back. */
GST_START_TEST (test_eos_writes_held_refill)
{
  const guint groups[] = { 2, 2, 0 };
  ShortRefill t;

  short_refill_start (&t, groups);
  g_assert_cmpint (gst_app_src_end_of_stream (GST_APP_SRC (t.stream->src)),
      ==, GST_FLOW_OK);
  short_refill_arrived (&t);
  GST_INFO ("fifth event %" G_GINT64_FORMAT " ms after the next two",
      (t.fifth - t.arrivals[1]) / 1000);
  /* written at the first two acks (about 600 ms after events 3 and 4),
   * not held until those of 3 and 4 (1000 ms after them) */
  g_assert_cmpint (t.fifth - t.arrivals[1], <, 850 * 1000);
  short_refill_finish (&t, 5, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_namespace_and_auth_accepted)
{
  SioTestServer *server = start_server ("--token", "abc", NULL);
  SioTestStream *stream = sio_test_stream_new (server,
      "namespace=/audio auth={\\\"token\\\":\\\"abc\\\"}");
  JsonObject *stats;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 20, 2048), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);
  sio_test_check_delivery (server, stream, 20);
  stats = sio_test_server_stats (server);
  g_assert_true (sio_test_json_array_has_string (stats, "namespaces",
          "/audio"));
  json_object_unref (stats);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

GST_START_TEST (test_auth_rejected)
{
  SioTestServer *server = start_server ("--token", "abc", NULL);
  SioTestStream *stream = sio_test_stream_new (server,
      "namespace=/audio auth={\\\"token\\\":\\\"wrong\\\"}");
  GError *error;

  sio_test_stream_play (stream);
  sio_test_stream_push (stream, 1, 2048);
  error = sio_test_stream_wait_error (stream, 10 * GST_SECOND);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED));
  /* the server's own words reach the user */
  g_assert_nonnull (strstr (error->message, "Not authorized"));
  g_assert_nonnull (strstr (error->message, "/audio"));
  g_error_free (error);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* Without any auth the same server refuses, and the message says where. */
GST_START_TEST (test_missing_auth_rejected)
{
  SioTestServer *server = start_server ("--token", "abc", NULL);
  SioTestStream *stream = sio_test_stream_new (server, NULL);
  GError *error;

  sio_test_stream_play (stream);
  sio_test_stream_push (stream, 1, 2048);
  error = sio_test_stream_wait_error (stream, 10 * GST_SECOND);
  g_assert_true (g_error_matches (error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED));
  g_assert_nonnull (strstr (error->message, sio_test_server_get_url (server)));
  g_error_free (error);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

static void
on_server_event (GstElement * sink, const gchar * name, const gchar * args,
    gchar ** seen)
{
  g_free (*seen);
  *seen = g_strdup_printf ("%s %s", name, args);
}

GST_START_TEST (test_server_event_reaches_bus)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream = sio_test_stream_new (server, NULL);
  GstMessage *msg;
  const GstStructure *s = NULL;
  gchar *seen = NULL;
  JsonObject *reply;

  g_signal_connect (stream->sink, "server-event",
      G_CALLBACK (on_server_event), &seen);
  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 5, 2048), ==, GST_FLOW_OK);

  /* the sink is connected once the server counted our events */
  sio_test_server_wait_events (server, 5);
  reply = sio_test_server_control (server,
      "emit?event=transcript&args=%5B%7B%22text%22%3A%22hello%22%7D%5D");
  g_assert_cmpint (json_object_get_int_member (reply, "sent"), ==, 1);
  json_object_unref (reply);

  while ((msg =
          sio_test_stream_wait_message (stream, GST_MESSAGE_ELEMENT,
              10 * GST_SECOND))) {
    s = gst_message_get_structure (msg);
    if (gst_structure_has_name (s, "socketio-event"))
      break;
    gst_message_unref (msg);
  }
  g_assert_nonnull (msg);
  g_assert_cmpstr (gst_structure_get_string (s, "name"), ==, "transcript");
  g_assert_cmpstr (gst_structure_get_string (s, "args"), ==,
      "[{\"text\":\"hello\"}]");
  g_assert_cmpstr (gst_structure_get_string (s, "namespace"), ==, "/");
  gst_message_unref (msg);
  /* the signal was emitted before the message was posted */
  g_assert_cmpstr (seen, ==, "transcript [{\"text\":\"hello\"}]");
  g_free (seen);

  sio_test_stream_finish (stream);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server's record of the last @event from the client, as JSON text,
 * once it has one (NULL after 10 s). */
static gchar *
wait_client_event_args (SioTestServer * server, const gchar * event)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  gchar *text = NULL;

  while (text == NULL && g_get_monotonic_time () < deadline) {
    JsonObject *stats = sio_test_server_stats (server);
    JsonObject *args = json_object_get_object_member (stats,
        "clientEventArgs");

    if (json_object_has_member (args, event))
      text = json_to_string (json_object_get_member (args, event), FALSE);
    else
      g_usleep (20 * 1000);
    json_object_unref (stats);
  }
  return text;
}

/* The emit action signal: JSON arguments, a binary attachment the server
 * gets as a Buffer (bytes in Python) in last place, and the server's ack
 * reported on the bus. */
GST_START_TEST (test_emit_reaches_server)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream = sio_test_stream_new (server, NULL);
  GBytes *binary = g_bytes_new_static ("\x00\x01\x02\xff", 4);
  const GstStructure *s = NULL;
  GstMessage *msg;
  JsonNode *ack;
  guint64 id = 0, reported = 0;
  gchar *args;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 5, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, 5);

  g_signal_emit_by_name (stream->sink, "emit", "command",
      "[{\"op\":\"stop\"}, 2]", binary, TRUE, &id);
  g_assert_cmpuint (id, ==, 1);
  g_signal_emit_by_name (stream->sink, "emit", "note", "\"hi\"", NULL, FALSE,
      &id);
  g_assert_cmpuint (id, ==, 2);
  g_bytes_unref (binary);

  while ((msg = sio_test_stream_wait_message (stream, GST_MESSAGE_ELEMENT,
              10 * GST_SECOND))) {
    s = gst_message_get_structure (msg);
    if (g_str_has_prefix (gst_structure_get_name (s), "socketio-emit-"))
      break;
    gst_message_unref (msg);
  }
  g_assert_nonnull (msg);
  g_assert_cmpstr (gst_structure_get_name (s), ==, "socketio-emit-ack");
  g_assert_true (gst_structure_get_uint64 (s, "id", &reported));
  g_assert_cmpuint (reported, ==, 1);
  g_assert_cmpstr (gst_structure_get_string (s, "event"), ==, "command");
  /* the server's own text: spacing differs between servers */
  ack = json_from_string (gst_structure_get_string (s, "args"), NULL);
  g_assert_nonnull (ack);
  args = json_to_string (ack, FALSE);
  g_assert_cmpstr (args, ==, "[{\"ok\":true}]");
  g_free (args);
  json_node_unref (ack);
  gst_message_unref (msg);

  args = wait_client_event_args (server, "command");
  g_assert_cmpstr (args, ==, "[{\"op\":\"stop\"},2,{\"binary\":\"000102ff\"}]");
  g_free (args);
  args = wait_client_event_args (server, "note");
  g_assert_cmpstr (args, ==, "[\"hi\"]");
  g_free (args);

  sio_test_stream_finish (stream);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* EOS waits for the slow acks: everything is acknowledged before the
 * client leaves. */
GST_START_TEST (test_eos_delivers_everything)
{
  SioTestServer *server = start_server ("--ack-delay-ms", "100", NULL);
  SioTestStream *stream = sio_test_stream_new (server, "max-in-flight=64");
  JsonObject *stats;
  GstStructure *sink;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 60, 2048), ==, GST_FLOW_OK);
  sio_test_stream_finish (stream);

  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (stats, "acks"), ==, 60);
  g_assert_cmpint (json_object_get_int_member (stats, "pending"), ==, 0);
  json_object_unref (stats);
  sio_test_check_delivery (server, stream, 60);

  sink = sio_test_stream_sink_stats (stream);
  g_assert_cmpuint (sio_test_stats_uint64 (sink, "acked"), ==, 60);
  g_assert_cmpuint (sio_test_stats_uint64 (sink, "lost"), ==, 0);
  gst_structure_free (sink);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The server sending DISCONNECT is an error that says so. */
GST_START_TEST (test_server_disconnect)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream = sio_test_stream_new (server, NULL);
  GError *error;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 5, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, 5);
  json_object_unref (sio_test_server_control (server, "disconnect"));
  error = sio_test_stream_wait_error (stream, 10 * GST_SECOND);
  g_assert_nonnull (strstr (error->message, "disconnected this client"));
  g_error_free (error);
  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* Pings are answered from the network thread while the streaming thread
 * is blocked on a full window, and a server that stops pinging is
 * detected within pingInterval + pingTimeout. */
GST_START_TEST (test_pings_while_blocked_and_dead_link)
{
  SioTestServer *server;
  SioTestStream *stream;
  JsonObject *stats;
  GstStructure *sink;
  GError *error;
  gint64 frozen_at;

  if (sio_test_server_kind_from_env () != SIO_TEST_SERVER_NODE)
    return;                     /* needs the Node server's ping options */

  server = start_server ("--ping-interval", "200", "--ping-timeout", "300",
      "--no-ack", NULL);
  stream = sio_test_stream_new (server, "max-in-flight=2 ack-timeout=0 "
      "reconnect=false");
  sio_test_stream_play (stream);
  /* two events fill the window; the rest waits in appsrc */
  g_assert_cmpint (sio_test_stream_push (stream, 10, 2048), ==, GST_FLOW_OK);
  g_usleep (2 * G_USEC_PER_SEC);

  stats = sio_test_server_stats (server);
  g_assert_cmpint (json_object_get_int_member (stats, "connected"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), ==, 2);
  g_assert_cmpint (json_array_get_length (json_object_get_array_member
          (stats, "disconnectReasons")), ==, 0);
  json_object_unref (stats);
  sink = sio_test_stream_sink_stats (stream);
  g_assert_true (g_value_get_boolean (gst_structure_get_value (sink,
              "connected")));
  gst_structure_free (sink);

  frozen_at = g_get_monotonic_time ();
  sio_test_server_freeze (server);
  error = sio_test_stream_wait_error (stream, 5 * GST_SECOND);
  g_assert_nonnull (strstr (error->message, "Lost the connection"));
  GST_INFO ("dead link detected after %" G_GINT64_FORMAT " ms",
      (g_get_monotonic_time () - frozen_at) / 1000);
  /* 500 ms window, the tick, and the last ping's phase */
  g_assert_cmpint (g_get_monotonic_time () - frozen_at, <, 1500 * 1000);
  g_error_free (error);

  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* Without acks the window counts emits the socket has not taken: a server
 * that stops reading stops the stream instead of growing memory. */
typedef struct
{
  SioTestStream *stream;
  guint count;
  GstFlowReturn result;
} Pusher;

static gpointer
push_in_thread (Pusher * pusher)
{
  pusher->result = sio_test_stream_push (pusher->stream, pusher->count, 2048);
  return NULL;
}

GST_START_TEST (test_no_ack_memory_bounded_when_server_stops_reading)
{
  SioTestServer *server = start_server (NULL);
  SioTestStream *stream =
      sio_test_stream_new (server, "ack=false max-in-flight=8");
  Pusher pusher = { stream, 20000, GST_FLOW_OK };
  GstStructure *sink;
  guint64 emitted_before, emitted_after;
  GThread *thread;
  gsize rss_before, rss_after;

  sio_test_stream_play (stream);
  g_assert_cmpint (sio_test_stream_push (stream, 10, 2048), ==, GST_FLOW_OK);
  sio_test_server_wait_events (server, 10);
  sio_test_server_freeze (server);
  rss_before = sio_test_rss_kib ();

  /* 40 MB: far more than the kernel socket buffers can hold */
  thread = g_thread_new ("pusher", (GThreadFunc) push_in_thread, &pusher);
  g_usleep (3 * G_USEC_PER_SEC);
  sink = sio_test_stream_sink_stats (stream);
  emitted_before = sio_test_stats_uint64 (sink, "emitted");
  gst_structure_free (sink);
  g_usleep (1 * G_USEC_PER_SEC);
  sink = sio_test_stream_sink_stats (stream);
  emitted_after = sio_test_stats_uint64 (sink, "emitted");
  GST_INFO ("%" GST_PTR_FORMAT, sink);
  /* stuck with the window (nearly) full: the streaming thread sleeps
   * until half of it drains, which it never does */
  g_assert_cmpuint (g_value_get_uint (gst_structure_get_value (sink,
              "in-flight")), <=, 8);
  g_assert_cmpuint (g_value_get_uint (gst_structure_get_value (sink,
              "in-flight")), >, 4);
  gst_structure_free (sink);
  rss_after = sio_test_rss_kib ();

  GST_INFO ("emitted %" G_GUINT64_FORMAT " of 20010 events, RSS %"
      G_GSIZE_FORMAT " -> %" G_GSIZE_FORMAT " KiB", emitted_after,
      rss_before, rss_after);
  /* the stream stopped: blocked on the window, not buffering */
  g_assert_cmpuint (emitted_after, ==, emitted_before);
  g_assert_cmpuint (emitted_after, <, 20010);
  g_assert_cmpuint (rss_after, <, rss_before + 16 * 1024);

  /* NULL unblocks the pusher; the frozen server does not hold it up */
  g_assert_cmpint (gst_element_set_state (stream->pipeline, GST_STATE_NULL),
      ==, GST_STATE_CHANGE_SUCCESS);
  g_thread_join (thread);
  g_assert_cmpint (pusher.result, ==, GST_FLOW_FLUSHING);

  sio_test_stream_free (stream);
  sio_test_server_stop (server);
}

GST_END_TEST;

static gdouble
process_cpu_seconds (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 +
      usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

/* A live stream at real-time rate leaves the process nearly idle. The
 * bound is loose on purpose (other processes do not count against it): it
 * catches a network thread that spins, which costs a whole core. */
GST_START_TEST (test_no_busy_loop_when_live)
{
  SioTestServer *server = start_server (NULL);
  gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=160 ! audio/x-raw,format=S16LE,rate=16000,"
      "channels=1 ! socketiosink location=%s",
      sio_test_server_get_url (server));
  GstElement *pipeline = gst_parse_launch (description, NULL);
  gdouble cpu_before, cpu;

  g_assert_nonnull (pipeline);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  sio_test_server_wait_events (server, 10);
  cpu_before = process_cpu_seconds ();
  g_usleep (2 * G_USEC_PER_SEC);
  cpu = process_cpu_seconds () - cpu_before;
  GST_INFO ("%.3f s of CPU for 2 s of live audio", cpu);
  g_assert_cmpfloat (cpu, <, 0.5);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  g_free (description);
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The network threads are shared: many sinks in one process add a few
 * threads, not one each, and the last sink to stop stops them. Threads
 * are counted, not told by name: a new thread takes its name a moment
 * after it starts, and GLib's worker threads start with their creator's. */
static guint
count_threads (const gchar * name)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  const gchar *task;
  guint count = 0;

  g_assert_nonnull (dir);
  while ((task = g_dir_read_name (dir)) != NULL) {
    gchar *path = g_build_filename ("/proc/self/task", task, "comm", NULL);
    gchar *comm = NULL;

    if (name == NULL || (g_file_get_contents (path, &comm, NULL, NULL) &&
            g_str_equal (g_strchomp (comm), name)))
      count++;
    g_free (comm);
    g_free (path);
  }
  g_dir_close (dir);
  return count;
}

#define SHARING_SINKS 60

GST_START_TEST (test_many_sinks_share_threads)
{
  SioTestServer *server = start_server (NULL);
  SioTestLive *lives[SHARING_SINKS];
  guint i, before, added;
  gint64 deadline;

  before = count_threads (NULL);
  for (i = 0; i < SHARING_SINKS; i++) {
    gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
        "num-buffers=20 samplesperbuffer=1024 ! audio/x-raw,format=S16LE,"
        "rate=16000,channels=1 ! socketiosink name=sink location=%s",
        sio_test_server_get_url (server));

    lives[i] = sio_test_live_launch (description);
    g_free (description);
  }
  /* every sink streaming: its source's thread and its network thread run */
  deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  for (i = 0; i < SHARING_SINKS; i++)
    while (sio_test_element_stat (lives[i]->sink, "emitted") < 1 &&
        g_get_monotonic_time () < deadline)
      g_usleep (10 * 1000);
  added = count_threads (NULL) - before;
  GST_INFO ("%u sinks added %u threads", SHARING_SINKS, added);
  /* one source thread each, the network threads, GLib's few workers; a
   * network thread per sink would make it twice the sinks */
  g_assert_cmpuint (added, <, SHARING_SINKS + SHARING_SINKS / 2);
  for (i = 0; i < SHARING_SINKS; i++) {
    sio_test_live_wait_eos (lives[i], 30 * GST_SECOND);
    g_assert_cmpuint (sio_test_element_stat (lives[i]->sink, "acked"), ==, 20);
  }
  for (i = 0; i < SHARING_SINKS; i++)
    sio_test_live_free (lives[i]);
  g_assert_cmpuint (count_threads ("socketio-net"), ==, 0);
  sio_test_server_stop (server);
}

GST_END_TEST;

static Suite *
socketiosink_integration_suite (void)
{
  Suite *s = suite_create ("socketiosink-integration");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 120);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_byte_exact_delivery);
  tcase_add_test (tc, test_opus_delivery);
  tcase_add_test (tc, test_opus_batches);
  tcase_add_test (tc, test_flac_delivery);
  tcase_add_test (tc, test_batching_and_splitting);
  tcase_add_test (tc, test_server_reset_while_streaming);
  tcase_add_test (tc, test_max_payload_respected);
  tcase_add_test (tc, test_in_flight_bounded_by_acks);
  tcase_add_test (tc, test_short_refill_not_stranded);
  tcase_add_test (tc, test_eos_writes_held_refill);
  tcase_add_test (tc, test_short_refill_released_by_next_ack);
  tcase_add_test (tc, test_namespace_and_auth_accepted);
  tcase_add_test (tc, test_auth_rejected);
  tcase_add_test (tc, test_missing_auth_rejected);
  tcase_add_test (tc, test_server_event_reaches_bus);
  tcase_add_test (tc, test_emit_reaches_server);
  tcase_add_test (tc, test_eos_delivers_everything);
  tcase_add_test (tc, test_server_disconnect);
  tcase_add_test (tc, test_pings_while_blocked_and_dead_link);
  tcase_add_test (tc, test_no_ack_memory_bounded_when_server_stops_reading);
  tcase_add_test (tc, test_no_busy_loop_when_live);
  tcase_add_test (tc, test_many_sinks_share_threads);
  return s;
}

GST_CHECK_MAIN (socketiosink_integration);
