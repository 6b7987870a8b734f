/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Send latency in live pipelines (issue 11): how long after a buffer's
 * last sample exists does the server receive it?
 *
 *   latency-bench [-s SECONDS] [-c CASE] [--check]
 *
 * Each case streams SECONDS of live audio (16 kHz mono S16) into one
 * server.js started with --record-arrivals, which notes the wall clock at
 * which its handler got each event. The source is a capture device
 * emulated by an appsrc (is-live, min-latency one buffer) that a thread
 * feeds as a capture thread would: the buffer of pts T and duration D is
 * pushed when the clock reaches T + D, once its last sample exists.
 * (audiotestsrc is-live=true pushes each buffer at its start instead.) The pipeline runs on the system clock with
 * clock-type REALTIME, so base time + pts + duration, the moment the last
 * sample exists, is on the same wall clock. The delay is the server's
 * receive time minus that moment: what is added beyond the buffer's own
 * duration. The first 2 events (the connection starting) and the last
 * (at EOS, leakyframepool's padded partial frame) are left out.
 *
 * The cases: 64 ms (1024-sample) buffers straight into the sink with
 * GstBaseSink's 20 ms processing-deadline (the sink's default before),
 * the same with the default, then through leakyframepool (1024-sample
 * frames) ! ackqueue; 10 ms buffers (pulsesrc's default) through the same,
 * synced and with sync=false. For the leakyframepool cases a buffer is a
 * frame, complete once the capture buffer holding its last sample is
 * pushed. Then socket.io-client (node-latency-client.js), which emits each
 * chunk when its timer fires, the moment the chunk "exists" for it.
 *
 * --check (the `latency` test) runs the default source ! sink case only
 * and fails unless the sink's latency is the source's 64 ms and the median
 * delay is under 10 ms (20 ms with a processing deadline).
 *
 * Threads: the main thread runs the cases and reads the server; one
 * capture thread per case pushes into the appsrc until the main thread
 * sets Capture.stop (atomic); the pipeline's other threads are the
 * elements'. */

#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>
#include <gst/app/gstappsrc.h>

#include "test-server.h"

#define RATE 16000
#define SOURCE "appsrc name=src is-live=true format=time min-latency=%" \
    G_GUINT64_FORMAT " caps=audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved "
#define POOL "! leakyframepool frame-samples=1024 ! ackqueue "
#define BUFFER_DURATION (64 * GST_MSECOND)
#define SKIPPED_EVENTS 2

typedef struct
{
  const gchar *name;
  guint capture_samples;        /* per capture buffer */
  const gchar *elements;        /* between the source and the sink */
  const gchar *sink_props;
} LatencyCase;

static const LatencyCase cases[] = {
  {"64 ms ! sink, processing-deadline=20 ms (before)", 1024, "",
      "processing-deadline=20000000"},
  {"64 ms ! sink (default)", 1024, "", ""},
  {"64 ms ! leakyframepool ! ackqueue ! sink", 1024, POOL, ""},
  {"10 ms ! leakyframepool ! ackqueue ! sink", 160, POOL, ""},
  {"10 ms ! leakyframepool ! ackqueue ! sink sync=false", 160, POOL,
      "sync=false"},
};

typedef struct
{
  GstClock *clock;              /* the pipeline's */
  GstClockTime base_time;
  GstAppSrc *src;
  guint samples;
  gint stop;
} Capture;

/* A capture thread: each buffer goes out when its last sample exists. */
static gpointer
capture_thread (gpointer user_data)
{
  Capture *capture = user_data;
  gsize size = capture->samples * 2;
  guint64 offset = 0;

  while (!g_atomic_int_get (&capture->stop)) {
    GstClockTime pts = gst_util_uint64_scale_int (offset, GST_SECOND, RATE);
    GstClockTime end = gst_util_uint64_scale_int (offset + capture->samples,
        GST_SECOND, RATE);
    GstClockID id = gst_clock_new_single_shot_id (capture->clock,
        capture->base_time + end);
    GstBuffer *buffer = gst_buffer_new_allocate (NULL, size, NULL);

    gst_clock_id_wait (id, NULL);
    gst_clock_id_unref (id);
    gst_buffer_memset (buffer, 0, 0, size);
    GST_BUFFER_PTS (buffer) = pts;
    GST_BUFFER_DURATION (buffer) = end - pts;
    offset += capture->samples;
    if (gst_app_src_push_buffer (capture->src, buffer) != GST_FLOW_OK)
      break;
  }
  gst_app_src_end_of_stream (capture->src);
  return NULL;
}

static gint seconds = 10;
static gint only_case = -1;
static gboolean check;

static GOptionEntry entries[] = {
  {"seconds", 's', 0, G_OPTION_ARG_INT, &seconds,
      "Seconds of audio per case (10)", "S"},
  {"case", 'c', 0, G_OPTION_ARG_INT, &only_case,
      "Run this case only (0: the first), not socket.io-client", "N"},
  {"check", 0, 0, G_OPTION_ARG_NONE, &check,
      "Run the 64 ms default case only; fail if it adds 10 ms or more", NULL},
  {NULL}
};

typedef struct
{
  guint count;
  gdouble min_ms, p50_ms, p99_ms, max_ms;
} Delays;

static gint
compare_gint64 (gconstpointer a, gconstpointer b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;

  return x < y ? -1 : x > y;
}

static gdouble
quantile_ms (GArray * sorted, gdouble q)
{
  guint i = MIN (sorted->len - 1, (guint) (q * sorted->len));

  return g_array_index (sorted, gint64, i) / 1000.0;
}

/* The server's arrivals against base_ns + pts + duration (ns, wall clock). */
static Delays
arrival_delays (SioTestServer * server, gint64 base_ns)
{
  JsonObject *reply = sio_test_server_control (server, "arrivals");
  JsonArray *arrivals = json_object_get_array_member (reply, "arrivals");
  GArray *delays = g_array_new (FALSE, FALSE, sizeof (gint64));
  Delays result = { 0 };
  guint i;

  /* the last is leakyframepool's partial frame at EOS, padded */
  for (i = SKIPPED_EVENTS; i + 1 < json_array_get_length (arrivals); i++) {
    JsonArray *event = json_array_get_array_element (arrivals, i);
    gint64 end_ns = base_ns + json_array_get_int_element (event, 1) +
        json_array_get_int_element (event, 2);
    gint64 delay_us = json_array_get_int_element (event, 3) - end_ns / 1000;

    g_array_append_val (delays, delay_us);
  }
  json_object_unref (reply);
  g_assert_cmpuint (delays->len, >, 0);
  g_array_sort (delays, compare_gint64);
  result.count = delays->len;
  result.min_ms = quantile_ms (delays, 0);
  result.p50_ms = quantile_ms (delays, 0.5);
  result.p99_ms = quantile_ms (delays, 0.99);
  result.max_ms = quantile_ms (delays, 1);
  g_array_unref (delays);
  return result;
}

static void
print_row (const gchar * name, const gchar * latency, Delays * d)
{
  g_print ("| %s | %s | %u | %.2f | %.2f | %.2f | %.2f |\n", name, latency,
      d->count, d->min_ms, d->p50_ms, d->p99_ms, d->max_ms);
}

static GstMessage *
pop_message (GstBus * bus, GstClockTime timeout, GstMessageType types)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, timeout, types |
      GST_MESSAGE_ERROR);

  if (msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    g_printerr ("pipeline error: %s\n", error->message);
    exit (1);
  }
  return msg;
}

/* Streams one case; returns the sink's latency (ns) in @latency. */
static Delays
run_case (SioTestServer * server, const LatencyCase * c, GstClockTime * latency)
{
  GstClockTime capture_latency = gst_util_uint64_scale_int
      (c->capture_samples, GST_SECOND, RATE);
  gchar *description = g_strdup_printf (SOURCE "%s! socketiosink name=sink "
      "location=%s %s", capture_latency, c->elements,
      sio_test_server_get_url (server), c->sink_props);
  GstElement *pipeline = gst_parse_launch (description, NULL);
  Capture capture = { NULL, 0, NULL, c->capture_samples, 0 };
  GThread *thread;
  GstClock *clock = g_object_new (GST_TYPE_SYSTEM_CLOCK, "clock-type",
      GST_CLOCK_TYPE_REALTIME, NULL);
  GstElement *sink;
  GstBus *bus;
  GstMessage *msg;
  gint64 base_ns;

  g_assert_nonnull (pipeline);
  g_free (description);
  json_object_unref (sio_test_server_control (server, "reset"));
  gst_pipeline_use_clock (GST_PIPELINE (pipeline), clock);
  capture.clock = clock;
  bus = gst_element_get_bus (pipeline);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");

  /* live: the pipeline chooses its base time going to PLAYING; the sink
   * completes that state change on the first buffer */
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PAUSED), ==,
      GST_STATE_CHANGE_NO_PREROLL);
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  base_ns = capture.base_time = gst_element_get_base_time (pipeline);
  capture.src = GST_APP_SRC (gst_bin_get_by_name (GST_BIN (pipeline), "src"));
  thread = g_thread_new ("capture", capture_thread, &capture);

  msg = pop_message (bus, seconds * GST_SECOND, GST_MESSAGE_EOS);
  g_assert_null (msg);
  *latency = gst_base_sink_get_latency (GST_BASE_SINK (sink));
  g_atomic_int_set (&capture.stop, 1);
  g_thread_join (thread);
  gst_object_unref (capture.src);
  gst_object_unref (clock);
  msg = pop_message (bus, 15 * GST_SECOND, GST_MESSAGE_EOS);
  g_assert_nonnull (msg);
  gst_message_unref (msg);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  gst_object_unref (bus);
  gst_object_unref (pipeline);
  return arrival_delays (server, base_ns);
}

static void
run_node_client (SioTestServer * server)
{
  gchar *script = g_build_filename (g_getenv ("SIO_TEST_SERVER_DIR"), "..",
      "bench", "node-latency-client.js", NULL);
  gchar *events = g_strdup_printf ("%d", seconds * 1000 / 64);
  const gchar *argv[] = { "node", script, "--url",
    sio_test_server_get_url (server), "--events", events, NULL
  };
  gchar *out = NULL;
  gint status = 0;
  GError *error = NULL;
  JsonParser *parser = json_parser_new ();
  JsonObject *line;
  gchar *timers;
  Delays d;

  json_object_unref (sio_test_server_control (server, "reset"));
  if (!g_spawn_sync (NULL, (gchar **) argv, NULL, G_SPAWN_SEARCH_PATH, NULL,
          NULL, &out, NULL, &status, &error) ||
      !g_spawn_check_wait_status (status, &error) ||
      !json_parser_load_from_data (parser, out, -1, &error)) {
    g_printerr ("node-latency-client.js: %s\n", error->message);
    exit (1);
  }
  line = json_node_get_object (json_parser_get_root (parser));
  d = arrival_delays (server, json_object_get_int_member (line,
          "base_us") * 1000);
  timers = g_strdup_printf ("(timers late %.2f / %.2f ms)",
      json_object_get_double_member (line, "timer_late_p50_ms"),
      json_object_get_double_member (line, "timer_late_p99_ms"));
  print_row ("socket.io-client 4.8, emit() when the chunk exists", timers, &d);
  g_free (timers);
  g_object_unref (parser);
  g_free (out);
  g_free (events);
  g_free (script);
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- socketiosink send latency");
  const gchar *server_args[] = { "--record-arrivals", NULL };
  GError *error = NULL;
  SioTestServer *server;
  GstClockTime latency = GST_CLOCK_TIME_NONE;
  gchar *shown;
  Delays d = { 0 };
  guint i;

  /* the build tree's plugin and servers when not told otherwise */
  g_setenv ("GST_PLUGIN_PATH_1_0", PLUGIN_BUILD_DIR, FALSE);
  g_setenv ("SIO_TEST_SERVER_DIR", SERVER_DIR, FALSE);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || seconds < 1) {
    g_printerr ("%s\n", error ? error->message : "--seconds must be >= 1");
    return 64;
  }
  g_option_context_free (ctx);

  server = sio_test_server_start (SIO_TEST_SERVER_NODE, server_args);
  g_print ("delay from a buffer's last sample to the server's handler, ms "
      "(%d s per case; capture buffers of 64 or 10 ms)\n\n"
      "| capture ! pipeline | sink latency | events | min | p50 | p99 | max |\n"
      "| --- | --- | --- | --- | --- | --- | --- |\n", seconds);
  if (check)
    only_case = 1;
  if (only_case >= (gint) G_N_ELEMENTS (cases)) {
    g_printerr ("--case: 0 to %u\n", (guint) G_N_ELEMENTS (cases) - 1);
    return 64;
  }
  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    if (only_case >= 0 && i != (guint) only_case)
      continue;
    d = run_case (server, &cases[i], &latency);
    shown = g_strdup_printf ("%.1f ms", latency / 1e6);
    print_row (cases[i].name, shown, &d);
    g_free (shown);
  }
  if (only_case < 0)
    run_node_client (server);
  sio_test_server_stop (server);

  if (check && (latency != BUFFER_DURATION || d.p50_ms >= 10)) {
    g_printerr ("FAIL: the sink's latency must be the source's 64 ms and "
        "the median delay under 10 ms\n");
    return 1;
  }
  return 0;
}
