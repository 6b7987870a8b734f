/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* SioTestLive streams through ackqueue and socketiosink while the socket.io
 * server is killed and restarted, frozen, or gone for a minute: nothing
 * is lost that was not counted as dropped, and memory stays bounded. */

#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"

#define FRAME_BYTES 2048        /* 1024 samples of 16 kHz mono S16 */

/* @frames frames of live audio (64 ms each) through ackqueue into
 * @server, reconnecting quickly (within 0.1 to 0.5 s), plus @sink_props. */
static SioTestLive *
live_frames (SioTestServer * server, guint frames, const gchar * sink_props)
{
  gchar *head = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1", frames);
  gchar *sink = g_strdup_printf ("reconnect-delay=100000000 "
      "reconnect-delay-max=500000000 %s", sink_props);
  SioTestLive *live = sio_test_live_new (server, head, "", sink);

  g_free (head);
  g_free (sink);
  return live;
}

/* 30 s of live audio, the server killed and restarted 5 times: every frame
 * reaches some server process at least once, the counters add up exactly,
 * and duplicates only come from frames in flight at a failure. */
GST_START_TEST (test_five_restarts)
{
  const guint frames = 470;     /* 30.08 s */
  const guint restarts = 5;
  const guint max_in_flight = 8;
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestReceived received = { sio_test_seq_ranges_new () };
  gchar *head = g_strdup_printf ("audiotestsrc is-live=true wave=white-noise "
      "samplesperbuffer=1024 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1", frames);
  gchar *sink = g_strdup_printf ("max-in-flight=%u reconnect-delay=100000000 "
      "reconnect-delay-max=1000000000 connect-timeout=2000000000",
      max_in_flight);
  SioTestLive *live = sio_test_live_new (server, head, "", sink);
  guint64 acked, dropped, reconnects, unique;
  guint i;
  gchar *ranges;

  sio_test_server_wait_events (server, 5);
  for (i = 0; i < restarts; i++) {
    g_usleep (4 * G_USEC_PER_SEC);
    sio_test_received_add (&received, sio_test_server_kill (server));
    g_usleep (G_USEC_PER_SEC);
    sio_test_server_restart (server);
    sio_test_live_wait_element_message (live, "socketio-reconnected",
        10 * GST_SECOND);
  }
  sio_test_live_wait_eos (live, 60 * GST_SECOND);
  sio_test_received_add (&received, sio_test_server_kill (server));

  acked = sio_test_element_stat (live->queue, "acked-buffers");
  dropped = sio_test_element_stat (live->queue, "dropped-buffers");
  reconnects = sio_test_element_stat (live->sink, "reconnects");
  unique = sio_test_seq_ranges_count (received.seqs);
  ranges = sio_test_seq_ranges_to_string (received.seqs);
  g_print ("restarts: %u frames produced, %" G_GUINT64_FORMAT " acked, %"
      G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT " received once or "
      "more (%s), %" G_GINT64_FORMAT " events, %" G_GINT64_FORMAT
      " duplicates, %" G_GINT64_FORMAT " replayed, %" G_GUINT64_FORMAT
      " reconnects\n", frames, acked, dropped, unique, ranges,
      received.events, received.duplicates, received.replays, reconnects);

  g_assert_cmpuint (reconnects, ==, restarts);
  /* produced = acked + dropped, and leaky=no drops nothing */
  g_assert_cmpuint (acked + dropped, ==, frames);
  g_assert_cmpuint (dropped, ==, 0);
  /* every frame reached a server process */
  g_assert_cmpuint (unique, ==, frames);
  g_assert_cmpstr (ranges, ==, "[0,469]");
  /* each extra delivery is a frame in flight when its server died */
  g_assert_cmpint (received.events - (gint64) unique, <=,
      restarts * max_in_flight);
  g_free (ranges);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (received.seqs);
  g_free (head);
  g_free (sink);
}

GST_END_TEST;

/* A server frozen with SIGSTOP stops pinging: the sink notices within
 * pingInterval + pingTimeout, and is back within the backoff once the
 * server resumes. Nothing is lost. */
GST_START_TEST (test_frozen_server)
{
  const gchar *args[] = { "--ping-interval", "300", "--ping-timeout", "200",
    NULL
  };
  const guint frames = 120;     /* 7.7 s */
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, args);
  SioTestLive *live = live_frames (server, frames,
      "connect-timeout=1000000000");
  SioTestReceived received = { sio_test_seq_ranges_new () };
  gint64 frozen, detected, thawed, back;

  sio_test_server_wait_events (server, 10);
  frozen = g_get_monotonic_time ();
  sio_test_server_freeze (server);
  detected = sio_test_live_wait_element_message (live, "socketio-disconnected",
      5 * GST_SECOND);
  g_usleep (2 * G_USEC_PER_SEC);
  thawed = g_get_monotonic_time ();
  sio_test_server_thaw (server);
  back =
      sio_test_live_wait_element_message (live, "socketio-reconnected",
      10 * GST_SECOND);
  g_print ("frozen server: detected after %" G_GINT64_FORMAT " ms, back %"
      G_GINT64_FORMAT " ms after it resumed\n", (detected - frozen) / 1000,
      (back - thawed) / 1000);
  /* pingInterval + pingTimeout = 500 ms, plus the 20 ms tick */
  g_assert_cmpint (detected - frozen, <=, 600 * 1000);
  /* + backoff of at most 500 ms and the handshake */
  g_assert_cmpint (back - thawed, <=, (500 + 500 + 200) * 1000);

  sio_test_live_wait_eos (live, 30 * GST_SECOND);
  sio_test_received_add (&received, sio_test_server_kill (server));
  g_assert_cmpuint (sio_test_seq_ranges_count (received.seqs), ==, frames);
  g_assert_cmpuint (sio_test_element_stat (live->queue, "acked-buffers"), ==,
      frames);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (received.seqs);
}

GST_END_TEST;

/* The server gone for 60 s, ackqueue leaky=downstream: memory stays within
 * max-size-bytes + 4 MiB of what it was before, the oldest audio is
 * dropped and counted, and once the server is back the newest arrives.
 * SIO_TEST_OUTAGE_SECONDS shortens the outage (the leaks tracer's pass,
 * which looks for leaks, not for the bound, and quick local runs); the
 * queue then holds half of the outage's audio, so it still drops. */
GST_START_TEST (test_minute_outage_bounded)
{
  const gchar *outage_env = g_getenv ("SIO_TEST_OUTAGE_SECONDS");
  const guint outage = outage_env ? CLAMP (atoi (outage_env), 4, 60) : 60;
  const guint64 max_bytes = MIN (1024 * 1024, outage * 32000 / 2);
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *queue = g_strdup_printf ("leaky=downstream max-size-bytes=%"
      G_GUINT64_FORMAT " max-size-time=0 max-size-buffers=0", max_bytes);
  SioTestLive *live = sio_test_live_new (server, "audiotestsrc is-live=true "
      "samplesperbuffer=1024 ! audio/x-raw,format=S16LE,rate=16000,"
      "channels=1", queue, "reconnect-delay=200000000 "
      "reconnect-delay-max=2000000000");
  SioTestReceived received = { sio_test_seq_ranges_new () };
  gsize rss_before, rss_peak = 0;
  guint64 newest, acked, dropped, received_total, unique;
  guint second;
  JsonObject *stats;

  sio_test_server_wait_events (server, 30);     /* 2 s: the pipeline is warm */
  rss_before = sio_test_rss_kib ();
  sio_test_received_add (&received, sio_test_server_kill (server));
  for (second = 0; second < outage; second++) {
    g_usleep (G_USEC_PER_SEC);
    rss_peak = MAX (rss_peak, sio_test_rss_kib ());
  }
  g_assert_cmpuint (sio_test_element_stat (live->sink, "reconnects"), ==, 0);
  newest = gst_element_get_current_running_time (live->pipeline);
  g_assert_true (GST_CLOCK_TIME_IS_VALID (newest));
  sio_test_server_restart (server);
  sio_test_live_wait_element_message (live, "socketio-reconnected",
      10 * GST_SECOND);
  g_usleep (3 * G_USEC_PER_SEC);

  /* the newest audio arrives after the outage: ackqueue numbers buffers
   * as it pushes them (dropped ones get none), so compare timestamps */
  stats = sio_test_server_stats (server);
  GST_INFO ("server's last pts %" G_GINT64_FORMAT ", pipeline was at %"
      GST_TIME_FORMAT " when the server came back",
      json_object_get_int_member (json_object_get_object_member (stats,
              "last"), "pts"), GST_TIME_ARGS (newest));
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member
          (stats, "last"), "pts"), >=, (gint64) newest);
  json_object_unref (stats);

  gst_element_send_event (live->pipeline, gst_event_new_eos ());
  sio_test_live_wait_eos (live, 30 * GST_SECOND);
  sio_test_received_add (&received, sio_test_server_kill (server));
  acked = sio_test_element_stat (live->queue, "acked-buffers");
  dropped = sio_test_element_stat (live->queue, "dropped-buffers");
  received_total = sio_test_element_stat (live->queue, "received-buffers");
  unique = sio_test_seq_ranges_count (received.seqs);
  g_print ("minute outage: RSS %" G_GSIZE_FORMAT " KiB before, peak %"
      G_GSIZE_FORMAT " KiB (+%" G_GSIZE_FORMAT " KiB, bound %" G_GUINT64_FORMAT
      " KiB); %" G_GUINT64_FORMAT " frames produced, %" G_GUINT64_FORMAT
      " acked, %" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
      " received\n", rss_before, rss_peak, rss_peak - rss_before,
      max_bytes / 1024 + 4096, received_total, acked, dropped, unique);

  g_assert_cmpuint (rss_peak, <=, rss_before + max_bytes / 1024 + 4096);
  /* the outage's audio (1.9 MB in 60 s) is more than the queue holds: the
   * oldest was dropped, and counted */
  g_assert_cmpuint (dropped, >, 0);
  /* produced = acked + dropped, exactly */
  g_assert_cmpuint (acked + dropped, ==, received_total);
  /* every frame was received or counted as dropped. A frame can be both:
   * one in flight when the server died (it may have got it, but never
   * acked it), or the one the sink held, waiting for the connection, when
   * ackqueue's leaky=downstream dropped it as its oldest retained buffer;
   * so at most max-in-flight (32) + 1 */
  g_assert_cmpuint (unique + dropped, >=, received_total);
  g_assert_cmpuint (unique, >=, acked);
  g_assert_cmpuint (unique, <=, acked + 32 + 1);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (received.seqs);
  g_free (queue);
}

GST_END_TEST;

/* The README's pipeline through a 3 s outage: ackqueue (leaky=downstream,
 * 1 s) drops the oldest audio it retained, and the first event after the
 * hole says so: "discont" with a missing_duration that covers the hole the
 * server sees in the pts (and at most the audio in flight at the cut
 * more), the same stream_id before and after. */
GST_START_TEST (test_outage_gap_announced)
{
  const guint max_in_flight = 8;
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *sink = g_strdup_printf ("max-in-flight=%u reconnect-delay=100000000 "
      "reconnect-delay-max=500000000", max_in_flight);
  SioTestLive *live = sio_test_live_new (server, "audiotestsrc is-live=true "
      "samplesperbuffer=1024 ! audio/x-raw,format=S16LE,rate=16000,"
      "channels=1", "leaky=downstream max-size-buffers=16 max-size-bytes=0 "
      "max-size-time=0", sink);
  JsonObject *before, *after, *last, *gap;
  JsonArray *gaps;
  gint64 old_end, hole, missing;
  gchar *stream_id;

  sio_test_server_wait_events (server, 30);
  before = sio_test_server_kill (server);
  g_usleep (3 * G_USEC_PER_SEC);
  sio_test_server_restart (server);
  sio_test_live_wait_element_message (live, "socketio-reconnected",
      10 * GST_SECOND);
  g_usleep (2 * G_USEC_PER_SEC);
  after = sio_test_server_stats (server);

  last = json_object_get_object_member (before, "last");
  old_end = json_object_get_int_member (last, "pts") +
      json_object_get_int_member (last, "duration");
  gaps = json_object_get_array_member (after, "gaps");
  g_assert_cmpuint (json_array_get_length (gaps), ==, 1);
  gap = json_array_get_object_element (gaps, 0);
  hole = json_object_get_int_member (gap, "pts") - old_end;
  missing = json_object_get_int_member (gap, "missingDuration");
  g_print ("outage gap: the server saw %.3f s missing, the sink announced "
      "%.3f s\n", hole / 1e9, missing / 1e9);
  g_assert_cmpint (hole, >, GST_SECOND);
  /* the sink counts from the newest audio acknowledged, which the server
   * had; the server's final stats may miss its very last event (acked as
   * it was being stopped), so the hole measured here can be one 64 ms
   * event longer than the real one */
  g_assert_cmpint (missing, >=, hole - 65 * GST_MSECOND);
  g_assert_cmpint (missing, <=, hole + (gint64) max_in_flight * 64 *
      GST_MSECOND + GST_MSECOND);
  g_object_get (live->sink, "stream-id", &stream_id, NULL);
  g_assert_cmpstr (json_object_get_string_member (gap, "streamId"), ==,
      stream_id);
  g_free (stream_id);

  json_object_unref (before);
  json_object_unref (after);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_free (sink);
}

GST_END_TEST;

/* The design's pipeline with the server frozen for 60 s: leakyframepool's
 * 64 frames bound the memory (RSS grows by at most 64 frames + 2 MiB), and
 * samples dropped + samples delivered = samples captured. */
GST_START_TEST (test_pipeline_bound_frozen)
{
  const gchar *args[] = { "--ping-interval", "1000", "--ping-timeout",
    "1000", NULL
  };
  /* 10 ms buffers, a multiple of 1024 samples in all: 67.2 s */
  const guint n_buffers = 6720;
  const guint64 captured = (guint64) n_buffers * 160;
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, args);
  gchar *head = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=160 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1 ! leakyframepool name=pool max-frames=64",
      n_buffers);
  SioTestLive *live = sio_test_live_new (server, head, "max-size-buffers=0 "
      "max-size-bytes=0 max-size-time=0", "connect-timeout=2000000000 "
      "reconnect-delay=100000000 reconnect-delay-max=1000000000");
  SioTestReceived received = { sio_test_seq_ranges_new () };
  gsize rss_before, rss_peak = 0;
  guint64 dropped_samples, queue_dropped, delivered;
  guint second;

  sio_test_server_wait_events (server, 30);
  rss_before = sio_test_rss_kib ();
  sio_test_server_freeze (server);
  for (second = 0; second < 60; second++) {
    g_usleep (G_USEC_PER_SEC);
    rss_peak = MAX (rss_peak, sio_test_rss_kib ());
  }
  sio_test_server_thaw (server);
  sio_test_live_wait_element_message (live, "socketio-reconnected",
      10 * GST_SECOND);
  sio_test_live_wait_eos (live, 60 * GST_SECOND);
  sio_test_received_add (&received, sio_test_server_kill (server));

  dropped_samples = sio_test_element_stat (live->pool, "samples-dropped");
  queue_dropped = sio_test_element_stat (live->queue, "dropped-buffers");
  delivered = sio_test_seq_ranges_count (received.seqs) * 1024;
  g_print ("pipeline bound: RSS %" G_GSIZE_FORMAT " KiB before, peak %"
      G_GSIZE_FORMAT " KiB (+%" G_GSIZE_FORMAT " KiB, bound %u KiB); %"
      G_GUINT64_FORMAT " samples captured, %" G_GUINT64_FORMAT " dropped by "
      "leakyframepool, %" G_GUINT64_FORMAT " frames by ackqueue, %"
      G_GUINT64_FORMAT " delivered\n", rss_before, rss_peak,
      rss_peak - rss_before, 64 * FRAME_BYTES / 1024 + 2048, captured,
      dropped_samples, queue_dropped, delivered);

  g_assert_cmpuint (rss_peak, <=, rss_before + 64 * FRAME_BYTES / 1024 + 2048);
  g_assert_cmpuint (dropped_samples, >, 0);
  g_assert_cmpuint (queue_dropped, ==, 0);
  g_assert_cmpuint (dropped_samples + delivered, ==, captured);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (received.seqs);
  g_free (head);
}

GST_END_TEST;

/* PLAYING→PAUSED while render waits for a full ack window, then PLAYING
 * again: the stream goes on (GstBaseSink's unlock contract: wait for
 * preroll, then wait again), whether a queue or an ackqueue feeds the
 * sink. */
GST_START_TEST (test_pause_while_window_full)
{
  const gchar *queues[] = { "queue", "ackqueue" };
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 ! audio/x-raw,format=S16LE,rate=16000,"
      "channels=1 ! %s name=queue ! socketiosink name=sink location=%s "
      "sync=false max-in-flight=4 ack-timeout=60000000000", queues[__i__],
      sio_test_server_get_url (server));
  SioTestLive *live;

  json_object_unref (sio_test_server_control (server, "config?ack=0"));
  live = sio_test_live_launch (description);
  sio_test_server_wait_events (server, 4);
  g_usleep (300 * 1000);        /* render now waits for the window */

  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_PAUSED),
      !=, GST_STATE_CHANGE_FAILURE);
  g_assert_cmpint (gst_element_get_state (live->pipeline, NULL, NULL,
          5 * GST_SECOND), !=, GST_STATE_CHANGE_FAILURE);
  g_usleep (300 * 1000);
  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);
  json_object_unref (sio_test_server_control (server, "config?ack=1"));
  json_object_unref (sio_test_server_control (server, "release"));

  /* 20 more events: 1.3 s of audio */
  sio_test_server_wait_events (server, 4 + 20);

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_free (description);
}

GST_END_TEST;

/* The connection cut (no close frame) five times while the ack window is
 * full: nothing handed over for an old connection goes out on a new one,
 * each new connection starts with the replay, and every repeat the server
 * sees is flagged as a replay. */
GST_START_TEST (test_reconnect_order)
{
  const guint frames = 220;     /* 14 s */
  const guint cuts = 5;
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *head = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1", frames);
  SioTestLive *live;
  JsonObject *stats;
  JsonArray *first;
  GArray *seqs = sio_test_seq_ranges_new ();
  gchar *ranges;
  guint i;

  /* 16 in flight, 1.1 s per ack: 14.5 events/s, below the live rate, so
   * the window is full nearly all the time */
  json_object_unref (sio_test_server_control (server,
          "config?ackDelayMs=1100"));
  live =
      sio_test_live_new (server, head,
      "max-size-buffers=0 max-size-bytes=0 " "max-size-time=0",
      "max-in-flight=16 reconnect-delay=50000000 "
      "reconnect-delay-max=200000000");
  sio_test_server_wait_events (server, 10);
  for (i = 0; i < cuts; i++) {
    g_usleep (1500 * 1000);
    json_object_unref (sio_test_server_control (server, "drop"));
    sio_test_live_wait_element_message (live, "socketio-reconnected",
        10 * GST_SECOND);
  }
  json_object_unref (sio_test_server_control (server, "config?ackDelayMs=0"));
  sio_test_live_wait_eos (live, 60 * GST_SECOND);

  stats = sio_test_server_stats (server);
  sio_test_seq_ranges_add_stats (seqs, stats);
  ranges = sio_test_seq_ranges_to_string (seqs);
  first = json_object_get_array_member (stats, "firstEvents");
  g_print ("reconnect order: %u cuts, %" G_GINT64_FORMAT " events, %"
      G_GINT64_FORMAT " replayed, %" G_GINT64_FORMAT " unflagged repeats, %"
      G_GINT64_FORMAT " jumps ahead, received %s\n", cuts,
      json_object_get_int_member (stats, "events"),
      json_object_get_int_member (stats, "replays"),
      json_object_get_int_member (stats, "unflaggedRepeats"),
      json_object_get_int_member (stats, "aheadJumps"), ranges);

  g_assert_cmpuint (json_array_get_length (first), ==, cuts + 1);
  for (i = 1; i <= cuts; i++) {
    JsonObject *event = json_array_get_object_element (first, i);

    GST_INFO ("connection %u starts with seq %" G_GINT64_FORMAT "%s", i,
        json_object_get_int_member (event, "seq"),
        json_object_get_boolean_member (event, "replay") ? " (replay)" : "");
    g_assert_true (json_object_get_boolean_member (event, "replay"));
  }
  g_assert_cmpint (json_object_get_int_member (stats, "unflaggedRepeats"),
      ==, 0);
  g_assert_cmpint (json_object_get_int_member (stats, "aheadJumps"), ==, 0);
  g_assert_cmpstr (ranges, ==, "[0,219]");
  g_assert_cmpuint (sio_test_element_stat (live->queue, "acked-buffers"), ==,
      frames);

  json_object_unref (stats);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (seqs);
  g_free (ranges);
  g_free (head);
}

GST_END_TEST;

/* The same with a window of 256 and a backlog behind it (a source faster
 * than real time): when the connection is cut, the 256 lost emits free
 * the window while the connection is still going down, and what the
 * streaming thread hands over then must not go out on the next
 * connection ahead of the replay. */
GST_START_TEST (test_reconnect_order_burst)
{
  const guint frames = 1200;
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *head = g_strdup_printf ("audiotestsrc samplesperbuffer=1024 "
      "num-buffers=%u ! audio/x-raw,format=S16LE,rate=16000,channels=1",
      frames);
  SioTestLive *live;
  JsonObject *stats, *event;
  GArray *seqs = sio_test_seq_ranges_new ();
  gchar *ranges;

  json_object_unref (sio_test_server_control (server, "config?ack=0"));
  live = sio_test_live_new (server, head, "max-size-buffers=0 max-size-bytes=0 "
      "max-size-time=0", "max-in-flight=256 reconnect-delay=50000000 "
      "reconnect-delay-max=200000000");
  sio_test_server_wait_events (server, 256);
  g_usleep (200 * 1000);
  json_object_unref (sio_test_server_control (server, "drop"));
  sio_test_live_wait_element_message (live, "socketio-reconnected",
      10 * GST_SECOND);
  json_object_unref (sio_test_server_control (server, "config?ack=1"));
  json_object_unref (sio_test_server_control (server, "release"));
  sio_test_live_wait_eos (live, 60 * GST_SECOND);

  stats = sio_test_server_stats (server);
  sio_test_seq_ranges_add_stats (seqs, stats);
  ranges = sio_test_seq_ranges_to_string (seqs);
  event = json_array_get_object_element (json_object_get_array_member (stats,
          "firstEvents"), 1);
  g_print ("reconnect order, burst: the new connection starts with seq %"
      G_GINT64_FORMAT "%s; %" G_GINT64_FORMAT " unflagged repeats, %"
      G_GINT64_FORMAT " jumps ahead, received %s\n",
      json_object_get_int_member (event, "seq"),
      json_object_get_boolean_member (event, "replay") ? " (replay)" : "",
      json_object_get_int_member (stats, "unflaggedRepeats"),
      json_object_get_int_member (stats, "aheadJumps"), ranges);
  g_assert_true (json_object_get_boolean_member (event, "replay"));
  g_assert_cmpint (json_object_get_int_member (event, "seq"), ==, 0);
  g_assert_cmpint (json_object_get_int_member (stats, "unflaggedRepeats"),
      ==, 0);
  g_assert_cmpint (json_object_get_int_member (stats, "aheadJumps"), ==, 0);
  g_assert_cmpstr (ranges, ==, "[0,1199]");

  json_object_unref (stats);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (seqs);
  g_free (ranges);
  g_free (head);
}

GST_END_TEST;

/* Pops messages until EOS (which it returns TRUE for) or @timeout; the
 * warnings seen on the way are appended to @warnings. */
static gboolean
wait_eos_collecting_warnings (SioTestLive * live, GstClockTime timeout,
    GString * warnings)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;
  GstMessage *msg;

  while ((msg = gst_bus_timed_pop_filtered (live->bus,
              MAX (deadline - g_get_monotonic_time (), 0) * GST_USECOND,
              GST_MESSAGE_EOS | GST_MESSAGE_WARNING | GST_MESSAGE_ERROR))) {
    GError *error = NULL;

    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_EOS:
        gst_message_unref (msg);
        return TRUE;
      case GST_MESSAGE_WARNING:
        gst_message_parse_warning (msg, &error, NULL);
        g_string_append_printf (warnings, "%s\n", error->message);
        break;
      default:
        gst_message_parse_error (msg, &error, NULL);
        g_error ("unexpected error: %s", error->message);
    }
    g_clear_error (&error);
    gst_message_unref (msg);
  }
  return FALSE;
}

/* Streams @n_buffers live buffers straight into a socketiosink with @props,
 * the server withholding every ack, until it has @events of them; then
 * @disturb cuts the connection or kills the server. EOS must end within
 * @bound_ms of that, with a warning that contains @announced. */
static void
check_eos_accounting (guint n_buffers, const gchar * props, gint64 events,
    const gchar * disturb, gint64 bound_ms, const gchar * announced)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 num-buffers=%u ! audio/x-raw,format=S16LE,"
      "rate=16000,channels=1 ! socketiosink name=sink location=%s "
      "sync=false max-in-flight=64 %s", n_buffers,
      sio_test_server_get_url (server), props);
  GString *warnings = g_string_new (NULL);
  SioTestLive *live;
  gint64 start;

  json_object_unref (sio_test_server_control (server, "config?ack=0"));
  live = sio_test_live_launch (description);
  sio_test_server_wait_events (server, events);
  g_usleep (200 * 1000);
  start = g_get_monotonic_time ();
  if (strcmp (disturb, "kill") == 0)
    json_object_unref (sio_test_server_kill (server));
  else
    json_object_unref (sio_test_server_control (server, disturb));

  g_assert_true (wait_eos_collecting_warnings (live, 10 * GST_SECOND,
          warnings));
  g_print ("EOS, %s after %" G_GINT64_FORMAT " events: ended %" G_GINT64_FORMAT
      " ms later; warnings: %s", disturb, events,
      (g_get_monotonic_time () - start) / 1000, warnings->str);
  g_assert_cmpint (g_get_monotonic_time () - start, <, bound_ms * 1000);
  g_assert_nonnull (strstr (warnings->str, announced));

  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_string_free (warnings, TRUE);
  g_free (description);
}

/* EOS while 20 events wait for their acks, and then the connection is cut:
 * EOS still ends within ack-timeout (3 s), and the 20 events that were
 * never acknowledged are counted and announced. */
GST_START_TEST (test_eos_connection_lost_counted)
{
  check_eos_accounting (20, "ack-timeout=3000000000 reconnect-delay=50000000",
      20, "drop", 3000, "20 events");
}

GST_END_TEST;

/* EOS during an outage (disconnected-policy=drop, so the stream reaches
 * EOS): the 30 buffers left (1.9 s) are dropped, EOS ends within
 * ack-timeout (2 s) after that, and what the connection lost is
 * announced. */
GST_START_TEST (test_eos_during_outage_counted)
{
  check_eos_accounting (40, "ack-timeout=2000000000 disconnected-policy=drop "
      "reconnect-delay=100000000 reconnect-delay-max=500000000", 10, "kill",
      1920 + 2000 + 500, "not acknowledged");
}

GST_END_TEST;

/* A server that drains its clients with socket.disconnect() (close=0,
 * the Engine.IO connection stays open) or disconnect(true) (close=1):
 * with reconnect-on-server-disconnect the sink reconnects, ackqueue
 * replays what was in flight, and every frame arrives. Without it the
 * DISCONNECT stays an error (integration/socketiosink.c). */
GST_START_TEST (test_server_disconnect_reconnects)
{
  const guint frames = 100;     /* 6.4 s */
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  SioTestLive *live = live_frames (server, frames,
      "reconnect-on-server-disconnect=true");
  SioTestReceived received = { sio_test_seq_ranges_new () };
  gchar *control = g_strdup_printf ("disconnect?close=%d", __i__);
  gchar *ranges;
  gint64 asked, back;

  sio_test_server_wait_events (server, 20);
  asked = g_get_monotonic_time ();
  json_object_unref (sio_test_server_control (server, control));
  back = sio_test_live_wait_element_message (live, "socketio-reconnected",
      5 * GST_SECOND);
  g_print ("server disconnect (close=%d): reconnected after %" G_GINT64_FORMAT
      " ms\n", __i__, (back - asked) / 1000);
  sio_test_live_wait_eos (live, 30 * GST_SECOND);
  sio_test_received_add (&received, sio_test_server_kill (server));

  ranges = sio_test_seq_ranges_to_string (received.seqs);
  g_assert_cmpstr (ranges, ==, "[0,99]");
  g_assert_cmpuint (sio_test_element_stat (live->queue, "acked-buffers"), ==,
      frames);
  g_assert_cmpuint (sio_test_element_stat (live->queue, "dropped-buffers"), ==,
      0);
  g_assert_cmpuint (sio_test_element_stat (live->sink, "reconnects"), ==, 1);
  g_assert_cmpuint (sio_test_element_stat (live->sink, "unacknowledged"), ==,
      0);

  g_free (ranges);
  g_free (control);
  sio_test_live_free (live);
  sio_test_server_stop (server);
  g_array_unref (received.seqs);
}

GST_END_TEST;

static Suite *
recovery_suite (void)
{
  Suite *s = suite_create ("recovery");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_five_restarts);
  tcase_add_test (tc, test_frozen_server);
  tcase_add_test (tc, test_minute_outage_bounded);
  tcase_add_test (tc, test_outage_gap_announced);
  tcase_add_test (tc, test_pipeline_bound_frozen);
  tcase_add_loop_test (tc, test_pause_while_window_full, 0, 2);
  tcase_add_test (tc, test_reconnect_order);
  tcase_add_test (tc, test_reconnect_order_burst);
  tcase_add_test (tc, test_eos_connection_lost_counted);
  tcase_add_test (tc, test_eos_during_outage_counted);
  tcase_add_loop_test (tc, test_server_disconnect_reconnects, 0, 2);
  return s;
}

GST_CHECK_MAIN (recovery);
