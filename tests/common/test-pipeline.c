/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#include <string.h>

#include "test-pipeline.h"

SioTestStream *
sio_test_stream_new_for_location (const gchar * location,
    const gchar * sink_props)
{
  SioTestStream *stream = g_new0 (SioTestStream, 1);
  GError *error = NULL;
  gchar *description;

  description = g_strdup_printf ("appsrc name=src caps=" AUDIO_CAPS
      " format=time max-bytes=65536 block=true ! socketiosink name=sink "
      "sync=false %s", sink_props ? sink_props : "");
  stream->pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_free (description);
  stream->src = gst_bin_get_by_name (GST_BIN (stream->pipeline), "src");
  stream->sink = gst_bin_get_by_name (GST_BIN (stream->pipeline), "sink");
  /* set, not parsed: a location may hold characters parse-launch splits */
  g_object_set (stream->sink, "location", location, NULL);
  stream->bus = gst_element_get_bus (stream->pipeline);
  stream->sha = g_checksum_new (G_CHECKSUM_SHA256);
  stream->rand = g_rand_new_with_seed (42);
  return stream;
}

SioTestStream *
sio_test_stream_new (SioTestServer * server, const gchar * sink_props)
{
  return sio_test_stream_new_for_location (sio_test_server_get_url (server),
      sink_props);
}

void
sio_test_stream_free (SioTestStream * stream)
{
  g_assert_cmpint (gst_element_set_state (stream->pipeline, GST_STATE_NULL),
      ==, GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (stream->src);
  gst_object_unref (stream->sink);
  gst_object_unref (stream->bus);
  gst_object_unref (stream->pipeline);
  g_checksum_free (stream->sha);
  g_rand_free (stream->rand);
  g_free (stream);
}

void
sio_test_stream_play (SioTestStream * stream)
{
  g_assert_cmpint (gst_element_set_state (stream->pipeline,
          GST_STATE_PLAYING), !=, GST_STATE_CHANGE_FAILURE);
}

/* Pushes @count buffers of @size bytes of pseudo-random audio. */
GstFlowReturn
sio_test_stream_push (SioTestStream * stream, guint count, gsize size)
{
  guint i;

  for (i = 0; i < count; i++) {
    GstBuffer *buffer = gst_buffer_new_allocate (NULL, size, NULL);
    GstMapInfo map;
    GstFlowReturn ret;
    gsize j;

    gst_buffer_map (buffer, &map, GST_MAP_WRITE);
    for (j = 0; j < size; j += 4) {
      guint32 r = g_rand_int (stream->rand);

      memcpy (map.data + j, &r, MIN (4, size - j));
    }
    g_checksum_update (stream->sha, map.data, size);
    gst_buffer_unmap (buffer, &map);

    GST_BUFFER_PTS (buffer) = stream->pts;
    GST_BUFFER_DURATION (buffer) = gst_util_uint64_scale (size / 2,
        GST_SECOND, 16000);
    stream->pts += GST_BUFFER_DURATION (buffer);
    stream->bytes += size;
    ret = gst_app_src_push_buffer (GST_APP_SRC (stream->src), buffer);
    if (ret != GST_FLOW_OK)
      return ret;
  }
  return GST_FLOW_OK;
}

GstMessage *
sio_test_stream_wait_message (SioTestStream * stream, GstMessageType types,
    GstClockTime timeout)
{
  return gst_bus_timed_pop_filtered (stream->bus, timeout, types);
}

/* Sends EOS and waits for it (or an error, which fails the test). */
void
sio_test_stream_finish (SioTestStream * stream)
{
  GstMessage *msg;

  gst_app_src_end_of_stream (GST_APP_SRC (stream->src));
  msg =
      sio_test_stream_wait_message (stream, GST_MESSAGE_EOS | GST_MESSAGE_ERROR,
      30 * GST_SECOND);
  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error;
    gchar *debug;

    gst_message_parse_error (msg, &error, &debug);
    g_error ("unexpected error: %s (%s)", error->message, debug);
  }
  gst_message_unref (msg);
}

/* The element error the pipeline posts next. */
GError *
sio_test_stream_wait_error (SioTestStream * stream, GstClockTime timeout)
{
  GstMessage *msg =
      sio_test_stream_wait_message (stream, GST_MESSAGE_ERROR, timeout);
  GError *error = NULL;

  g_assert_nonnull (msg);
  gst_message_parse_error (msg, &error, NULL);
  GST_INFO ("error: %s", error->message);
  gst_message_unref (msg);
  return error;
}

GstStructure *
sio_test_stream_sink_stats (SioTestStream * stream)
{
  GstStructure *stats;

  g_object_get (stream->sink, "stats", &stats, NULL);
  return stats;
}

guint64
sio_test_stats_uint64 (GstStructure * stats, const gchar * field)
{
  guint64 value = 0;

  g_assert_true (gst_structure_get_uint64 (stats, field, &value));
  return value;
}

gboolean
sio_test_json_array_has_string (JsonObject * object, const gchar * member,
    const gchar * value)
{
  JsonArray *array = json_object_get_array_member (object, member);
  guint i;

  for (i = 0; i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

/* Every byte arrives, in order, and the server saw a clean leave. */
void
sio_test_check_delivery (SioTestServer * server, SioTestStream * stream,
    guint64 events)
{
  JsonObject *stats = sio_test_server_stats (server);

  g_assert_cmpint (json_object_get_int_member (stats, "bytes"), ==,
      stream->bytes);
  g_assert_cmpstr (json_object_get_string_member (stats, "sha256"), ==,
      g_checksum_get_string (stream->sha));
  if (events > 0)
    g_assert_cmpint (json_object_get_int_member (stats, "events"), ==, events);
  g_assert_cmpint (json_object_get_int_member (stats, "seqErrors"), ==, 0);
  g_assert_true (sio_test_json_array_has_string (stats, "disconnectReasons",
          "client namespace disconnect"));
  json_object_unref (stats);
}

/* @description names its sink "sink" and its queue (queue or ackqueue)
 * "queue". */
SioTestLive *
sio_test_live_launch (const gchar * description)
{
  SioTestLive *live = g_new0 (SioTestLive, 1);
  GError *error = NULL;

  live->pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  live->sink = gst_bin_get_by_name (GST_BIN (live->pipeline), "sink");
  live->queue = gst_bin_get_by_name (GST_BIN (live->pipeline), "queue");
  live->pool = gst_bin_get_by_name (GST_BIN (live->pipeline), "pool");
  live->bus = gst_element_get_bus (live->pipeline);
  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);
  return live;
}

SioTestLive *
sio_test_live_new (SioTestServer * server, const gchar * head,
    const gchar * queue, const gchar * sink)
{
  gchar *description = g_strdup_printf ("%s ! ackqueue name=queue %s ! "
      "socketiosink name=sink location=%s sync=false %s", head, queue,
      sio_test_server_get_url (server), sink);
  SioTestLive *live = sio_test_live_launch (description);

  g_free (description);
  return live;
}

void
sio_test_live_free (SioTestLive * live)
{
  g_assert_cmpint (gst_element_set_state (live->pipeline, GST_STATE_NULL),
      ==, GST_STATE_CHANGE_SUCCESS);
  gst_object_unref (live->sink);
  if (live->queue)
    gst_object_unref (live->queue);
  if (live->pool)
    gst_object_unref (live->pool);
  gst_bus_set_flushing (live->bus, TRUE);
  gst_object_unref (live->bus);
  gst_object_unref (live->pipeline);
  g_free (live);
}

guint64
sio_test_element_stat (GstElement * element, const gchar * field)
{
  GstStructure *stats;
  guint64 value = 0;

  g_object_get (element, "stats", &stats, NULL);
  if (!gst_structure_get_uint64 (stats, field, &value))
    g_error ("%s has no stats field %s", GST_OBJECT_NAME (element), field);
  gst_structure_free (stats);
  return value;
}

/* Waits for an element message named @name (or an error, which fails). */
gint64
sio_test_live_wait_element_message (SioTestLive * live, const gchar * name,
    GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;

  while (g_get_monotonic_time () < deadline) {
    GstMessage *msg = gst_bus_timed_pop_filtered (live->bus,
        (deadline - g_get_monotonic_time ()) * GST_USECOND,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR);

    if (msg == NULL)
      break;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
      GError *error;

      gst_message_parse_error (msg, &error, NULL);
      g_error ("unexpected error: %s", error->message);
    }
    if (gst_structure_has_name (gst_message_get_structure (msg), name)) {
      gst_message_unref (msg);
      return g_get_monotonic_time ();
    }
    gst_message_unref (msg);
  }
  g_error ("no %s message", name);
  return 0;
}

void
sio_test_live_wait_eos (SioTestLive * live, GstClockTime timeout)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (live->bus, timeout,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);

  g_assert_nonnull (msg);
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error;

    gst_message_parse_error (msg, &error, NULL);
    g_error ("unexpected error: %s", error->message);
  }
  gst_message_unref (msg);
}

#define MAX_NULL_MS 200

typedef struct
{
  gint64 worst_us;
  gint64 total_us;
  guint cycles;
} Timing;

/* One cycle: PLAYING, let it stream or wait on the server, then NULL. */
static void
cycle (const gchar * url, const gchar * sink_props, Timing * timing)
{
  gchar *description;
  GstElement *pipeline;
  GError *error = NULL;
  gint64 start, elapsed;

  description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=160 ! audio/x-raw,format=S16LE,rate=16000,channels=1"
      " ! socketiosink location=%s connect-timeout=5000000000 %s", url,
      sink_props ? sink_props : "");
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_free (description);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_usleep (g_random_int_range (5, 40) * 1000);

  start = g_get_monotonic_time ();
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  elapsed = g_get_monotonic_time () - start;
  gst_object_unref (pipeline);

  timing->worst_us = MAX (timing->worst_us, elapsed);
  timing->total_us += elapsed;
  timing->cycles++;
  if (elapsed >= MAX_NULL_MS * 1000)
    g_error ("PLAYING -> NULL took %" G_GINT64_FORMAT " ms (cycle %u)",
        elapsed / 1000, timing->cycles);
}

void
sio_test_run_null_cycles (const gchar * what, const gchar * url,
    const gchar * sink_props, guint count)
{
  Timing timing = { 0 };
  guint fds_before, threads_before, fds_after, threads_after, i;

  /* warm up: GLib and GStreamer create a few threads once */
  for (i = 0; i < 3; i++)
    cycle (url, sink_props, &timing);
  g_usleep (100 * 1000);
  fds_before = sio_test_count_fds ();
  threads_before = sio_test_count_threads ();

  memset (&timing, 0, sizeof (timing));
  for (i = 0; i < count; i++)
    cycle (url, sink_props, &timing);

  g_usleep (200 * 1000);
  fds_after = sio_test_count_fds ();
  threads_after = sio_test_count_threads ();
  g_print ("%s: %u PLAYING->NULL cycles, worst %.1f ms, mean %.2f ms; "
      "fds %u -> %u, threads %u -> %u\n", what, timing.cycles,
      timing.worst_us / 1000.0, timing.total_us / 1000.0 / timing.cycles,
      fds_before, fds_after, threads_before, threads_after);
  g_assert_cmpuint (fds_after, <=, fds_before);
  /* GLib's shared worker pool may keep a spare thread or two */
  g_assert_cmpuint (threads_after, <=, threads_before + 2);
}
