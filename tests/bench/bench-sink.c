/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Throughput benchmark of socketiosink, with the same command line and the
 * same JSON output as the peer clients (node-client.js, python-client.py):
 *
 *   bench-sink --url http://127.0.0.1:PORT --events N --size 2048
 *       --in-flight 32 [--event audio_data] [--namespace /] [--token T]
 *       [--timeout S] [--transports websocket|polling|polling-upgrade|auto]
 *
 * Pipeline:
 *
 *   appsrc caps=audio/x-raw,format=S16LE,rate=16000,channels=1 format=time
 *     ! socketiosink location=URL sync=false ack=true max-in-flight=32
 *
 * --in-flight 0 means ack=false (the sink's window then counts emits not
 * yet written; it is left at 32).
 *
 * The source costs next to nothing: the payloads are a ring of 64
 * preallocated buffers filled with the same bytes as the peer clients send
 * (so the server's sha256 is the same for every client), and appsrc's
 * need-data callback pushes, from the streaming thread itself, a shallow
 * copy of one of them (a new GstBuffer header sharing the ring's memory,
 * so it can carry its own timestamps; no data is copied).
 *
 * Measured interval: from the sink's `socketio-connected` element message
 * to the pipeline's EOS message, both stamped in a bus sync handler, i.e.
 * in the thread that posts them. EOS comes after the sink has had every ack
 * and closed the session cleanly, so the interval covers delivery (and the
 * close handshake, which the peers do not count: it is a few ms at most).
 * cpu_s is getrusage(RUSAGE_SELF) user+sys over that interval: every thread
 * of the process (streaming, socket.io network thread, main).
 *
 * Prints one JSON line (same fields as the peers) plus the sink's final
 * stats; exits 1 if the sink did not get an ack (or, without acks, a
 * write) for every event. The plugin is found through GST_PLUGIN_PATH. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#define RING 64
#define RATE 16000
#define CHANNELS 1

typedef struct
{
  const gchar *url;
  guint64 events;
  guint size;
  guint in_flight;
  const gchar *event;
  const gchar *nsp;
  const gchar *token;
  guint timeout_s;
  const gchar *transports;
} Options;

typedef struct
{
  Options o;
  GstBuffer *ring[RING];
  guint64 pushed;
  GstClockTime duration;
  gboolean eos_sent;

  /* stamped by the bus sync handler */
  GMutex lock;
  gboolean connected;
  gint64 t0_us, t1_us;
  gdouble cpu0_s, cpu1_s;
} Bench;

static gdouble
cpu_seconds (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
      ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void G_GNUC_NORETURN
fail (const gchar * msg)
{
  fprintf (stderr, "bench-sink: %s\n", msg);
  exit (1);
}

static guint64
parse_uint (const gchar * arg, const gchar * value)
{
  gchar *end;
  guint64 v;

  if (value == NULL || *value == '\0' || *value == '-')
    goto bad;
  v = g_ascii_strtoull (value, &end, 10);
  if (*end != '\0')
    goto bad;
  return v;
bad:
  {
    gchar *msg = g_strdup_printf ("%s needs a non-negative integer", arg);
    fail (msg);
  }
}

static void
parse_args (int argc, char **argv, Options * o)
{
  int i;

  o->url = NULL;
  o->events = 20000;
  o->size = 2048;
  o->in_flight = 32;
  o->event = "audio_data";
  o->nsp = "/";
  o->token = NULL;
  o->timeout_s = 300;
  o->transports = "websocket";

  for (i = 1; i < argc; i += 2) {
    const gchar *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

    if (v == NULL) {
      gchar *msg = g_strdup_printf ("%s needs a value", a);
      fail (msg);
    }
    if (strcmp (a, "--url") == 0)
      o->url = v;
    else if (strcmp (a, "--events") == 0)
      o->events = parse_uint (a, v);
    else if (strcmp (a, "--size") == 0)
      o->size = parse_uint (a, v);
    else if (strcmp (a, "--in-flight") == 0)
      o->in_flight = parse_uint (a, v);
    else if (strcmp (a, "--event") == 0)
      o->event = v;
    else if (strcmp (a, "--namespace") == 0)
      o->nsp = v;
    else if (strcmp (a, "--token") == 0)
      o->token = v;
    else if (strcmp (a, "--timeout") == 0)
      o->timeout_s = parse_uint (a, v);
    else if (strcmp (a, "--transports") == 0)
      o->transports = v;
    else {
      gchar *msg = g_strdup_printf ("unknown argument %s", a);
      fail (msg);
    }
  }
  if (o->url == NULL)
    fail ("--url is required");
  if (o->nsp[0] != '/')
    fail ("--namespace must start with /");
  if (o->size < 2 || o->size % (2 * CHANNELS) != 0)
    fail ("--size must be a positive multiple of 2 (S16LE mono frames)");
  if (o->in_flight > 65535)
    fail ("--in-flight must be at most 65535");
  if (o->size > 64 * 1024)
    fail ("--size must be at most 65536 (the sink's default max-batch-bytes)");
}

/* streaming thread: appsrc's queue is empty, hand it the next buffer */
static void
need_data (GstAppSrc * src, guint length, gpointer user_data)
{
  Bench *b = user_data;
  GstBuffer *buf;

  if (b->eos_sent)
    return;
  if (b->pushed == b->o.events) {
    b->eos_sent = TRUE;
    gst_app_src_end_of_stream (src);
    return;
  }
  /* a new header on the ring's memory, no copy of the data */
  buf = gst_buffer_copy (b->ring[b->pushed % RING]);
  GST_BUFFER_PTS (buf) = b->pushed * b->duration;
  GST_BUFFER_DTS (buf) = GST_CLOCK_TIME_NONE;
  GST_BUFFER_DURATION (buf) = b->duration;
  GST_BUFFER_OFFSET (buf) = b->pushed;
  b->pushed++;
  gst_app_src_push_buffer (src, buf);
}

/* posting thread */
static GstBusSyncReply
bus_sync (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Bench *b = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_message_has_name (msg, "socketio-connected")) {
        g_mutex_lock (&b->lock);
        if (!b->connected) {
          b->connected = TRUE;
          b->t0_us = g_get_monotonic_time ();
          b->cpu0_s = cpu_seconds ();
        }
        g_mutex_unlock (&b->lock);
      }
      break;
    case GST_MESSAGE_EOS:
      g_mutex_lock (&b->lock);
      b->cpu1_s = cpu_seconds ();
      b->t1_us = g_get_monotonic_time ();
      g_mutex_unlock (&b->lock);
      break;
    default:
      break;
  }
  return GST_BUS_PASS;
}

static void
fill_ring (Bench * b)
{
  guint k, j;

  /* same formula as node-client.js and python-client.py */
  for (k = 0; k < RING; k++) {
    guint8 *data = g_malloc (b->o.size);

    for (j = 0; j < b->o.size; j++)
      data[j] = (k * 131 + j * 7 + (j >> 8)) & 0xff;
    b->ring[k] = gst_buffer_new_wrapped (data, b->o.size);
  }
}

static gchar *
ring_sha256 (Bench * b)
{
  GChecksum *sum = g_checksum_new (G_CHECKSUM_SHA256);
  guint64 i;
  gchar *hex;

  for (i = 0; i < b->o.events; i++) {
    GstMapInfo map;

    gst_buffer_map (b->ring[i % RING], &map, GST_MAP_READ);
    g_checksum_update (sum, map.data, map.size);
    gst_buffer_unmap (b->ring[i % RING], &map);
  }
  hex = g_strdup (g_checksum_get_string (sum));
  g_checksum_free (sum);
  return hex;
}

int
main (int argc, char **argv)
{
  Bench b = { 0 };
  GstElement *pipeline, *src, *sink;
  GstBus *bus;
  GstMessage *msg;
  GstCaps *caps;
  GstStructure *stats = NULL;
  GstAppSrcCallbacks callbacks = { 0 };
  struct rusage ru;
  guint64 emitted = 0, acked = 0, written = 0, dropped = 0, timeouts = 0;
  guint64 bytes_sent = 0, rtt_mean = 0, audio_bytes = 0;
  guint64 nbytes, done;
  gdouble wall, cpu;
  gchar *sha, *auth = NULL;
  gboolean ok = TRUE;
  int i;

  gst_init (&argc, &argv);
  parse_args (argc, argv, &b.o);
  g_mutex_init (&b.lock);
  b.duration = gst_util_uint64_scale_int (b.o.size / (2 * CHANNELS),
      GST_SECOND, RATE);
  fill_ring (&b);

  pipeline = gst_pipeline_new ("bench");
  src = gst_element_factory_make ("appsrc", "src");
  sink = gst_element_factory_make ("socketiosink", "sink");
  if (src == NULL)
    fail ("no appsrc element (gst-plugins-base)");
  if (sink == NULL)
    fail ("no socketiosink element: set GST_PLUGIN_PATH to the build's "
        "gst/socketio directory");

  caps = gst_caps_from_string ("audio/x-raw,format=S16LE,rate=16000,"
      "channels=1,layout=interleaved");
  g_object_set (src, "caps", caps, "format", GST_FORMAT_TIME,
      "stream-type", 0 /* stream */ , NULL);
  gst_caps_unref (caps);
  callbacks.need_data = need_data;
  gst_app_src_set_callbacks (GST_APP_SRC (src), &callbacks, &b, NULL);

  if (b.o.token)
    auth = g_strdup_printf ("{\"token\":\"%s\"}", b.o.token);
  g_object_set (sink, "location", b.o.url, "sync", FALSE,
      "ack", b.o.in_flight > 0,
      "max-in-flight", b.o.in_flight > 0 ? b.o.in_flight : 32,
      "event", b.o.event, "namespace", b.o.nsp, "auth", auth,
      "ack-timeout", (guint64) b.o.timeout_s * GST_SECOND, NULL);
  gst_util_set_object_arg (G_OBJECT (sink), "transports", b.o.transports);
  g_free (auth);

  gst_bin_add_many (GST_BIN (pipeline), src, sink, NULL);
  if (!gst_element_link (src, sink))
    fail ("could not link appsrc to socketiosink");

  bus = gst_element_get_bus (pipeline);
  gst_bus_set_sync_handler (bus, bus_sync, &b, NULL);

  if (gst_element_set_state (pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE)
    fail ("the pipeline did not start");

  msg = gst_bus_timed_pop_filtered (bus, (GstClockTime) b.o.timeout_s *
      GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  if (msg == NULL) {
    fprintf (stderr, "bench-sink: timed out after %u s\n", b.o.timeout_s);
    ok = FALSE;
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    fprintf (stderr, "bench-sink: error from %s: %s (%s)\n",
        GST_OBJECT_NAME (GST_MESSAGE_SRC (msg)), err->message, dbg ? dbg : "");
    g_clear_error (&err);
    g_free (dbg);
    ok = FALSE;
  }
  if (msg)
    gst_message_unref (msg);

  g_object_get (sink, "stats", &stats, NULL);
  gst_structure_get (stats, "emitted", G_TYPE_UINT64, &emitted,
      "acked", G_TYPE_UINT64, &acked,
      "written-without-ack", G_TYPE_UINT64, &written,
      "lost", G_TYPE_UINT64, &dropped,
      "ack-timeouts", G_TYPE_UINT64, &timeouts,
      "audio-bytes", G_TYPE_UINT64, &audio_bytes,
      "bytes-sent", G_TYPE_UINT64, &bytes_sent,
      "ack-rtt-mean", G_TYPE_UINT64, &rtt_mean, NULL);
  gst_structure_free (stats);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_set_sync_handler (bus, NULL, NULL, NULL);
  gst_object_unref (bus);
  gst_object_unref (pipeline);

  if (!ok)
    return 1;
  if (!b.connected)
    fail ("EOS without ever connecting");

  done = b.o.in_flight > 0 ? acked : written;
  if (emitted != b.o.events || done != b.o.events) {
    fprintf (stderr, "bench-sink: %" G_GUINT64_FORMAT " events, emitted %"
        G_GUINT64_FORMAT ", %s %" G_GUINT64_FORMAT "\n", b.o.events, emitted,
        b.o.in_flight > 0 ? "acked" : "written", done);
    ok = FALSE;
  }

  wall = (b.t1_us - b.t0_us) / 1e6;
  cpu = b.cpu1_s - b.cpu0_s;
  nbytes = b.o.events * b.o.size;
  sha = ring_sha256 (&b);
  getrusage (RUSAGE_SELF, &ru);

  printf ("{\"client\":\"socketiosink\",\"events\":%" G_GUINT64_FORMAT
      ",\"bytes\":%" G_GUINT64_FORMAT ",\"in_flight\":%u,\"wall_s\":%.4f"
      ",\"cpu_s\":%.4f,\"events_per_s\":%.1f,\"cpu_s_per_mb\":%.5f"
      ",\"max_rss_kb\":%ld,\"sha256\":\"%s\""
      ",\"sink_emitted\":%" G_GUINT64_FORMAT ",\"sink_acked\":%"
      G_GUINT64_FORMAT ",\"sink_written_without_ack\":%" G_GUINT64_FORMAT
      ",\"sink_dropped\":%" G_GUINT64_FORMAT ",\"sink_ack_timeouts\":%"
      G_GUINT64_FORMAT ",\"sink_audio_bytes\":%" G_GUINT64_FORMAT
      ",\"sink_bytes_sent\":%" G_GUINT64_FORMAT ",\"sink_ack_rtt_mean_us\":%"
      G_GUINT64_FORMAT "}\n",
      b.o.events, nbytes, b.o.in_flight, wall, cpu,
      wall > 0 ? b.o.events / wall : 0.0,
      nbytes ? cpu / (nbytes / 1e6) : 0.0, ru.ru_maxrss, sha,
      emitted, acked, written, dropped, timeouts, audio_bytes, bytes_sent,
      rtt_mean / 1000);
  fflush (stdout);
  g_free (sha);

  for (i = 0; i < RING; i++)
    gst_buffer_unref (b.ring[i]);
  g_mutex_clear (&b.lock);
  return ok ? 0 : 1;
}
