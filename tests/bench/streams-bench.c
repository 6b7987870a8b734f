/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Many live streams in one process (issue 11): N pipelines, each one
 * 16 kHz mono S16 stream (a 2048-byte, 64 ms buffer every 64 ms) into its
 * own socketiosink, and what the process spends on them.
 *
 *   streams-bench --url URL [--url URL]... [-n STREAMS] [-s SECONDS]
 *       [--source appsrc|pad|audiotestsrc] [--sink socketiosink|fakesink]
 *       [--warmup SECONDS] [--linger SECONDS] [--connect-wait SECONDS]
 *       [--multiplex]
 *
 * Streams go round-robin to the --url servers. Pipelines:
 *
 *   appsrc is-live=true format=time do-timestamp=true caps=<audio>
 *       ! socketiosink location=URL                     (--source appsrc)
 *   <a pad of this program> ! socketiosink location=URL sync=false
 *                                                       (--source pad)
 *   audiotestsrc is-live=true samplesperbuffer=1024 ! <audio>
 *       ! socketiosink location=URL                     (--source audiotestsrc)
 *
 * With --source appsrc (the default) ONE thread of this program (the pump)
 * pushes a 2048-byte buffer into every appsrc every 64 ms on an absolute
 * schedule (clock_nanosleep TIMER_ABSTIME): the sources cost one header
 * copy per buffer, so what remains is the sink's. audiotestsrc is what a
 * user runs: a streaming thread per pipeline waiting on the clock.
 * --sink fakesink swaps the sink for `fakesink sync=true`: the sources
 * alone, the baseline to subtract. --source pad takes the sources away
 * altogether: the pump pushes each buffer (pts and duration set, the
 * caps and segment sent first) straight into the sink's pad with
 * gst_pad_push(), so no thread per stream exists and the sink renders in
 * the pump thread, at once (sync=false: the pump keeps the time). What
 * the process spends is then the sink's own, plus one push per buffer.
 *
 * --multiplex gives stream i namespace /s<i> and multiplex=true: the
 * sinks of one server share one Engine.IO connection.
 *
 * Sequence: RLIMIT_NOFILE raised to its hard limit; RSS read; the N
 * pipelines created; RSS read; all set to PLAYING (t0 = the first
 * set_state); wait until every sink has posted socketio-connected (or
 * failed, or --connect-wait passed); connect_ms = last socketio-connected
 * - t0. Then the pump starts (appsrc), --warmup seconds pass, and the
 * window of -s seconds is measured: process CPU (getrusage RUSAGE_SELF,
 * user+sys, every thread), each sink's `stats` (acked, or rendered for
 * fakesink) at both ends, threads (/proc/self/status) and RSS at its end.
 * "# window start" and "# window end" lines on stdout mark it for
 * run-streams.sh, which reads the servers then; the streams go on for
 * --linger seconds after it (default 1) so that the servers' second read
 * falls inside the streaming. Then the pipelines are stopped and one JSON
 * line printed (see tests/bench/README.md).
 *
 * A stream is in real time when it got at least 99 % of the acks (rendered
 * buffers for fakesink) the window's length calls for, less one for the
 * rounding at its ends.
 *
 * Threads: the main thread does all of the above; the pump thread pushes;
 * the bus messages are read by a sync handler in whichever thread posts
 * them (the sinks' network threads) and dropped. The plugin is found
 * through GST_PLUGIN_PATH (run-streams.sh sets it). */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#define AUDIO_CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved"
#define BUFFER_BYTES 2048
#define PERIOD_NS (64 * G_GINT64_CONSTANT (1000000))
#define EVENTS_PER_S (1e9 / PERIOD_NS)
#define REALTIME_FRACTION 0.99

typedef struct _Bench Bench;

typedef struct
{
  Bench *bench;
  GstElement *pipeline;
  GstElement *src;              /* the appsrc, or NULL */
  GstPad *pad;                  /* --source pad: the pump's pad, or NULL */
  GstElement *sink;
  GstBuffer *payload;           /* appsrc: what the pump copies */
  gint connected;               /* atomic: socketio-connected seen */
  gint failed;                  /* atomic: an error message seen */
  guint64 done_at_start;        /* acked (or rendered) at the window start */
  guint64 done_in_window;
} Stream;

struct _Bench
{
  Stream *streams;
  guint n_streams;
  gboolean fakesink;
  gboolean direct;              /* --source pad */

  GMutex lock;
  GCond cond;
  guint connected;              /* under lock */
  guint failed;                 /* under lock */
  gint64 last_connected_us;     /* under lock, monotonic */
  gchar *first_error;           /* under lock */
  gint disconnects;             /* atomic: socketio-disconnected messages */
  gint measuring;               /* atomic: inside the window */

  /* the pump */
  gint stop;                    /* atomic */
  /* pump thread only, read after the join; in the window */
  guint64 ticks;
  guint64 late_ticks;           /* rounds that started a period late */
  gint64 max_tick_us;           /* longest push round */
};

static gchar **urls;
static gint n_streams = 100;
static gint window_s = 20;
static gdouble warmup_s = 2;
static gdouble linger_s = 1;
static gdouble connect_wait_s = 15;
static gchar *source_name;
static gchar *sink_name;
static gboolean multiplex;

static GOptionEntry entries[] = {
  {"url", 0, 0, G_OPTION_ARG_STRING_ARRAY, &urls,
      "Socket.IO server (repeatable; streams go round-robin)", "URL"},
  {"streams", 'n', 0, G_OPTION_ARG_INT, &n_streams,
      "Number of pipelines (default 100)", "N"},
  {"seconds", 's', 0, G_OPTION_ARG_INT, &window_s,
      "Measured window (default 20)", "SECONDS"},
  {"source", 0, 0, G_OPTION_ARG_STRING, &source_name,
      "appsrc (default: fed by one pump thread), pad (the pump pushes "
        "into the sink itself) or audiotestsrc", "NAME"},
  {"sink", 0, 0, G_OPTION_ARG_STRING, &sink_name,
      "socketiosink (default) or fakesink (the sources alone)", "NAME"},
  {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &warmup_s,
      "Streaming before the window (default 2)", "SECONDS"},
  {"linger", 0, 0, G_OPTION_ARG_DOUBLE, &linger_s,
      "Streaming after the window (default 1)", "SECONDS"},
  {"multiplex", 0, 0, G_OPTION_ARG_NONE, &multiplex,
      "Stream i joins namespace /s<i>, multiplex=true: one connection per "
        "server", NULL},
  {"connect-wait", 0, 0, G_OPTION_ARG_DOUBLE, &connect_wait_s,
      "Longest wait for every sink to connect (default 15; the sink's "
        "connect-timeout is 10)", "SECONDS"},
  {NULL}
};

static guint64
proc_status_value (const gchar * key)
{
  gchar *text = NULL;
  guint64 value = 0;
  gsize key_len = strlen (key);
  gchar **lines, **line;

  if (!g_file_get_contents ("/proc/self/status", &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (line = lines; *line; line++) {
    if (strncmp (*line, key, key_len) == 0 && (*line)[key_len] == ':') {
      value = g_ascii_strtoull (*line + key_len + 1, NULL, 10);
      break;
    }
  }
  g_strfreev (lines);
  g_free (text);
  return value;
}

/* Context switches of the whole process, voluntary or not. */
static guint64
context_switches (void)
{
  struct rusage usage;

  getrusage (RUSAGE_SELF, &usage);
  return (guint64) usage.ru_nvcsw + (guint64) usage.ru_nivcsw;
}

static gint64
cpu_us (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return (gint64) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * G_USEC_PER_SEC
      + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static glong
max_rss_kb (void)
{
  struct rusage ru;

  getrusage (RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Thousands of sockets need as many descriptors: take the hard limit. */
static void
raise_nofile_limit (void)
{
  struct rlimit lim;

  if (getrlimit (RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit (RLIMIT_NOFILE, &lim) != 0)
      g_printerr ("setrlimit(RLIMIT_NOFILE): %s\n", g_strerror (errno));
  }
}

static GstBusSyncReply
on_bus_message (GstBus * bus, GstMessage * message, gpointer user_data)
{
  Stream *stream = user_data;
  Bench *bench = stream->bench;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ELEMENT) {
    const GstStructure *s = gst_message_get_structure (message);

    if (gst_structure_has_name (s, "socketio-connected")
        && g_atomic_int_compare_and_exchange (&stream->connected, 0, 1)) {
      g_mutex_lock (&bench->lock);
      bench->connected++;
      bench->last_connected_us = g_get_monotonic_time ();
      g_cond_broadcast (&bench->cond);
      g_mutex_unlock (&bench->lock);
    } else if (gst_structure_has_name (s, "socketio-disconnected")) {
      g_atomic_int_inc (&bench->disconnects);
    }
  } else if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR
      && g_atomic_int_compare_and_exchange (&stream->failed, 0, 1)) {
    GError *error = NULL;

    gst_message_parse_error (message, &error, NULL);
    g_mutex_lock (&bench->lock);
    bench->failed++;
    if (!bench->first_error)
      bench->first_error = g_strdup (error->message);
    g_cond_broadcast (&bench->cond);
    g_mutex_unlock (&bench->lock);
    g_error_free (error);
  }
  return GST_BUS_DROP;
}

typedef enum
{
  SOURCE_APPSRC,
  SOURCE_PAD,
  SOURCE_AUDIOTESTSRC,
} Source;

static const gchar *const source_names[] = { "appsrc", "pad", "audiotestsrc" };

static gchar *
pipeline_description (Source source, gboolean fakesink, const gchar * url,
    guint index)
{
  const gchar *sync = source == SOURCE_PAD ? "false" : "true";
  gchar *shared = multiplex ?
      g_strdup_printf (" multiplex=true namespace=/s%u", index) : g_strdup ("");
  gchar *sink = fakesink ?
      g_strdup_printf ("fakesink name=sink sync=%s", sync) :
      g_strdup_printf ("socketiosink name=sink sync=%s location=\"%s\"%s",
      sync, url, shared);
  gchar *desc;

  if (source == SOURCE_PAD) {
    g_free (shared);
    return sink;
  }
  if (source == SOURCE_APPSRC)
    desc = g_strdup_printf ("appsrc name=src is-live=true format=time "
        "do-timestamp=true caps=\"" AUDIO_CAPS "\" ! %s", sink);
  else
    desc = g_strdup_printf ("audiotestsrc is-live=true samplesperbuffer=%d "
        "! " AUDIO_CAPS " ! %s", BUFFER_BYTES / 2, sink);
  g_free (sink);
  g_free (shared);
  return desc;
}

/* Loads the plugins before the first RSS reading, so that the RSS per
 * stream is the streams' own (run-streams.sh also reports the slope
 * between two N). */
static void
preload (Source source, gboolean fakesink)
{
  gchar *desc = pipeline_description (source, fakesink, "http://127.0.0.1:1",
      0);
  GstElement *pipeline = gst_parse_launch (desc, NULL);

  if (pipeline)
    gst_object_unref (pipeline);
  g_free (desc);
}

static void
timespec_add_ns (struct timespec *ts, gint64 ns)
{
  ts->tv_nsec += ns;
  while (ts->tv_nsec >= 1000000000) {
    ts->tv_nsec -= 1000000000;
    ts->tv_sec++;
  }
}

static gint64
timespec_us (const struct timespec *ts)
{
  return (gint64) ts->tv_sec * G_USEC_PER_SEC + ts->tv_nsec / 1000;
}

/* One buffer into every appsrc every 64 ms. A shallow copy shares the
 * stream's payload memory and gets its own timestamps (do-timestamp). Each
 * stream has a payload of its own: a GstMemory counts at most 255 maps at
 * once, fewer than the streams that read one shared memory. A round
 * that starts after its period began is late; the schedule stays
 * absolute, so the next rounds catch up. */
/* --source pad: what a source sends before its first buffer. */
static void
start_direct_stream (Stream * stream, guint index)
{
  GstSegment segment;
  gchar *id = g_strdup_printf ("stream-%u", index);

  gst_pad_push_event (stream->pad, gst_event_new_stream_start (id));
  gst_pad_push_event (stream->pad,
      gst_event_new_caps (gst_caps_from_string (AUDIO_CAPS)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  gst_pad_push_event (stream->pad, gst_event_new_segment (&segment));
  g_free (id);
}

static void
push_direct (Stream * stream, guint64 tick)
{
  GstBuffer *buffer = gst_buffer_copy (stream->payload);

  GST_BUFFER_PTS (buffer) = tick * PERIOD_NS;
  GST_BUFFER_DURATION (buffer) = PERIOD_NS;
  gst_pad_push (stream->pad, buffer);
}

static gpointer
pump (gpointer user_data)
{
  Bench *bench = user_data;
  struct timespec due, now;
  guint64 round = 0;
  guint i;

  if (bench->direct)
    for (i = 0; i < bench->n_streams; i++)
      start_direct_stream (&bench->streams[i], i);

  clock_gettime (CLOCK_MONOTONIC, &due);
  while (!g_atomic_int_get (&bench->stop)) {
    gint64 start_us;
    gboolean measuring = g_atomic_int_get (&bench->measuring);

    clock_gettime (CLOCK_MONOTONIC, &now);
    start_us = timespec_us (&now);
    if (measuring && start_us - timespec_us (&due) > PERIOD_NS / 1000)
      bench->late_ticks++;
    for (i = 0; i < bench->n_streams; i++) {
      if (bench->direct)
        push_direct (&bench->streams[i], round);
      else
        gst_app_src_push_buffer (GST_APP_SRC (bench->streams[i].src),
            gst_buffer_copy (bench->streams[i].payload));
    }
    round++;
    clock_gettime (CLOCK_MONOTONIC, &now);
    if (measuring) {
      bench->ticks++;
      bench->max_tick_us = MAX (bench->max_tick_us,
          timespec_us (&now) - start_us);
    }
    timespec_add_ns (&due, PERIOD_NS);
    while (clock_nanosleep (CLOCK_MONOTONIC, TIMER_ABSTIME, &due, NULL)
        == EINTR);
  }
  return NULL;
}

static guint64
structure_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 value = 0;

  if (s)
    gst_structure_get_uint64 (s, field, &value);
  return value;
}

/* Acked events of a socketiosink, rendered buffers of a fakesink. */
static guint64
stream_done (Stream * stream, gboolean fakesink)
{
  GstStructure *s = NULL;
  guint64 value;

  g_object_get (stream->sink, "stats", &s, NULL);
  value = structure_uint64 (s, fakesink ? "rendered" : "acked");
  if (s)
    gst_structure_free (s);
  return value;
}

typedef struct
{
  guint64 emitted, ack_timeouts, lost, reconnects, late_dropped;
} SinkTotals;

static void
add_sink_totals (Stream * stream, SinkTotals * totals)
{
  GstStructure *s = NULL;

  g_object_get (stream->sink, "stats", &s, NULL);
  if (!s)
    return;
  totals->emitted += structure_uint64 (s, "emitted");
  totals->ack_timeouts += structure_uint64 (s, "ack-timeouts");
  totals->lost += structure_uint64 (s, "lost");
  totals->reconnects += structure_uint64 (s, "reconnects");
  totals->late_dropped += structure_uint64 (s, "late-dropped");
  gst_structure_free (s);
}

static void
sleep_s (gdouble seconds)
{
  if (seconds > 0)
    g_usleep ((gulong) (seconds * G_USEC_PER_SEC));
}

static void
print_marker (const gchar * what)
{
  printf ("# window %s\n", what);
  fflush (stdout);
}

static gchar *
json_string_or_null (const gchar * text)
{
  gchar *escaped, *quoted;

  if (!text)
    return g_strdup ("null");
  escaped = g_strescape (text, NULL);
  quoted = g_strdup_printf ("\"%s\"", escaped);
  g_free (escaped);
  return quoted;
}

int
main (int argc, char **argv)
{
  GOptionContext *context;
  GError *error = NULL;
  Bench bench = { 0 };
  Source source = SOURCE_APPSRC;
  gboolean pumped;
  GThread *pump_thread = NULL;
  guint64 rss_before_kb, rss_created_kb, rss_end_kb, threads_before, threads;
  gint64 t0_us, playing_us, wait_end_us, window_start_us, window_us;
  gint64 cpu_start_us, cpu_window_us;
  guint64 switches_start, switches_window;
  guint64 done_in_window = 0, realtime = 0;
  gdouble window_real_s, expected;
  SinkTotals totals = { 0 };
  gchar *first_error;
  guint i, n_urls, connected, failed;
  gint disconnects;

  raise_nofile_limit ();
  context = g_option_context_new ("- many live streams in one process");
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (context);
  for (i = 0; source_name && i < G_N_ELEMENTS (source_names); i++)
    if (strcmp (source_name, source_names[i]) == 0)
      source = i;
  pumped = source != SOURCE_AUDIOTESTSRC;
  bench.direct = source == SOURCE_PAD;
  bench.fakesink = sink_name && strcmp (sink_name, "fakesink") == 0;
  if ((source_name && strcmp (source_name, source_names[source]) != 0)
      || (sink_name && !bench.fakesink
          && strcmp (sink_name, "socketiosink") != 0)
      || n_streams < 1 || window_s < 1
      || ((!urls || !urls[0]) && !bench.fakesink)) {
    g_printerr ("usage: streams-bench --url URL [--url URL]... [-n N] "
        "[-s SECONDS] [--source appsrc|pad|audiotestsrc] "
        "[--sink socketiosink|fakesink]\n");
    return 2;
  }
  n_urls = urls ? g_strv_length (urls) : 0;

  g_mutex_init (&bench.lock);
  g_cond_init (&bench.cond);
  bench.n_streams = n_streams;
  bench.streams = g_new0 (Stream, n_streams);

  preload (source, bench.fakesink);
  threads_before = proc_status_value ("Threads");
  rss_before_kb = proc_status_value ("VmRSS");
  for (i = 0; i < bench.n_streams; i++) {
    Stream *stream = &bench.streams[i];
    gchar *desc = pipeline_description (source, bench.fakesink,
        n_urls ? urls[i % n_urls] : NULL, (guint) i);
    GstBus *bus;

    stream->bench = &bench;
    stream->pipeline = gst_parse_launch (desc, &error);
    if (!stream->pipeline) {
      g_printerr ("%s: %s\n", desc, error->message);
      return 1;
    }
    g_free (desc);
    if (!GST_IS_PIPELINE (stream->pipeline)) {
      /* a lone sink: gst_parse_launch() returns the element itself */
      GstElement *pipeline = gst_pipeline_new (NULL);

      gst_bin_add (GST_BIN (pipeline), stream->pipeline);
      stream->pipeline = pipeline;
    }
    stream->sink = gst_bin_get_by_name (GST_BIN (stream->pipeline), "sink");
    if (source == SOURCE_PAD) {
      GstPad *sinkpad = gst_element_get_static_pad (stream->sink, "sink");

      stream->pad = gst_pad_new ("pump", GST_PAD_SRC);
      gst_pad_set_active (stream->pad, TRUE);
      gst_pad_link (stream->pad, sinkpad);
      gst_object_unref (sinkpad);
    }
    if (source == SOURCE_APPSRC)
      stream->src = gst_bin_get_by_name (GST_BIN (stream->pipeline), "src");
    if (pumped) {
      stream->payload = gst_buffer_new_allocate (NULL, BUFFER_BYTES, NULL);
      gst_buffer_memset (stream->payload, 0, 0, BUFFER_BYTES);
    }
    bus = gst_element_get_bus (stream->pipeline);
    gst_bus_set_sync_handler (bus, on_bus_message, stream, NULL);
    gst_object_unref (bus);
  }
  rss_created_kb = proc_status_value ("VmRSS");

  t0_us = g_get_monotonic_time ();
  for (i = 0; i < bench.n_streams; i++)
    gst_element_set_state (bench.streams[i].pipeline, GST_STATE_PLAYING);
  playing_us = g_get_monotonic_time () - t0_us;

  /* A fakesink has nothing to connect. */
  wait_end_us = t0_us + (gint64) (connect_wait_s * G_USEC_PER_SEC);
  g_mutex_lock (&bench.lock);
  while (!bench.fakesink
      && bench.connected + bench.failed < bench.n_streams
      && g_cond_wait_until (&bench.cond, &bench.lock, wait_end_us));
  connected = bench.fakesink ? bench.n_streams : bench.connected;
  g_mutex_unlock (&bench.lock);

  if (pumped)
    pump_thread = g_thread_new ("pump", pump, &bench);
  sleep_s (warmup_s);

  for (i = 0; i < bench.n_streams; i++)
    bench.streams[i].done_at_start =
        stream_done (&bench.streams[i], bench.fakesink);
  disconnects = g_atomic_int_get (&bench.disconnects);
  g_atomic_int_set (&bench.measuring, 1);
  window_start_us = g_get_monotonic_time ();
  cpu_start_us = cpu_us ();
  switches_start = context_switches ();
  print_marker ("start");
  g_usleep ((gulong) window_s * G_USEC_PER_SEC);
  cpu_window_us = cpu_us () - cpu_start_us;
  switches_window = context_switches () - switches_start;
  window_us = g_get_monotonic_time () - window_start_us;
  g_atomic_int_set (&bench.measuring, 0);
  disconnects = g_atomic_int_get (&bench.disconnects) - disconnects;
  threads = proc_status_value ("Threads");
  rss_end_kb = proc_status_value ("VmRSS");
  for (i = 0; i < bench.n_streams; i++) {
    Stream *stream = &bench.streams[i];

    stream->done_in_window = stream_done (stream, bench.fakesink)
        - stream->done_at_start;
    done_in_window += stream->done_in_window;
  }
  print_marker ("end");

  window_real_s = window_us / 1e6;
  expected = window_real_s * EVENTS_PER_S;
  for (i = 0; i < bench.n_streams; i++) {
    if (bench.streams[i].done_in_window >= REALTIME_FRACTION * expected - 1)
      realtime++;
    if (!bench.fakesink)
      add_sink_totals (&bench.streams[i], &totals);
  }
  sleep_s (linger_s);

  if (pump_thread) {
    g_atomic_int_set (&bench.stop, 1);
    g_thread_join (pump_thread);
  }
  for (i = 0; i < bench.n_streams; i++) {
    Stream *stream = &bench.streams[i];

    gst_element_set_state (stream->pipeline, GST_STATE_NULL);
    gst_clear_object (&stream->src);
    gst_clear_object (&stream->pad);
    gst_clear_buffer (&stream->payload);
    gst_object_unref (stream->sink);
    gst_object_unref (stream->pipeline);
  }

  g_mutex_lock (&bench.lock);
  failed = bench.failed;
  first_error = json_string_or_null (bench.first_error);
  g_mutex_unlock (&bench.lock);

  printf ("{\"client\": \"%s\", \"source\": \"%s\", \"streams\": %u, "
      "\"servers\": %u, \"window_s\": %.3f, \"connected\": %u, "
      "\"failed\": %u, \"first_error\": %s, ",
      bench.fakesink ? "fakesink" : "socketiosink",
      source_names[source], bench.n_streams, n_urls,
      window_real_s, connected, failed, first_error);
  if (bench.fakesink)
    printf ("\"connect_ms\": null, ");
  else if (connected == bench.n_streams)
    printf ("\"connect_ms\": %.1f, ", (bench.last_connected_us - t0_us) / 1e3);
  else
    printf ("\"connect_ms\": null, ");
  printf ("\"playing_ms\": %.1f, \"cpu_ms\": %.1f, "
      "\"cpu_ms_per_stream_s\": %.4f, \"threads\": %" G_GUINT64_FORMAT
      ", \"threads_before\": %" G_GUINT64_FORMAT ", \"rss_before_kb\": %"
      G_GUINT64_FORMAT ", \"rss_created_kb\": %" G_GUINT64_FORMAT
      ", \"rss_end_kb\": %" G_GUINT64_FORMAT ", \"rss_kb_per_stream\": %.1f, "
      "\"max_rss_kb\": %ld, ",
      playing_us / 1e3, cpu_window_us / 1e3,
      cpu_window_us / 1e3 / (bench.n_streams * window_real_s), threads,
      threads_before, rss_before_kb, rss_created_kb, rss_end_kb,
      ((gdouble) rss_end_kb - rss_before_kb) / bench.n_streams, max_rss_kb ());
  printf ("\"%s\": %" G_GUINT64_FORMAT ", \"per_stream_s\": %.3f, "
      "\"expected_per_stream_s\": %.3f, \"realtime_streams\": %"
      G_GUINT64_FORMAT ", \"behind_streams\": %" G_GUINT64_FORMAT,
      bench.fakesink ? "rendered" : "acked", done_in_window,
      done_in_window / (bench.n_streams * window_real_s), EVENTS_PER_S,
      realtime, bench.n_streams - realtime);
  if (!bench.fakesink)
    printf (", \"sink\": {\"emitted\": %" G_GUINT64_FORMAT
        ", \"ack_timeouts\": %" G_GUINT64_FORMAT ", \"lost\": %"
        G_GUINT64_FORMAT ", \"reconnects\": %" G_GUINT64_FORMAT
        ", \"late_dropped\": %" G_GUINT64_FORMAT
        ", \"disconnects_in_window\": %d}", totals.emitted, totals.ack_timeouts,
        totals.lost, totals.reconnects, totals.late_dropped, disconnects);
  printf (", \"context_switches_per_event\": %.2f",
      (gdouble) switches_window / MAX (done_in_window, 1));
  if (pumped)
    printf (", \"pump\": {\"ticks\": %" G_GUINT64_FORMAT ", \"late_ticks\": %"
        G_GUINT64_FORMAT ", \"max_tick_ms\": %.2f}", bench.ticks,
        bench.late_ticks, bench.max_tick_us / 1e3);
  printf ("}\n");

  g_free (first_error);
  g_free (bench.streams);
  return connected == bench.n_streams && failed == 0 ? 0 : 1;
}
