/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* The soak: D minutes of live audio, in real time, through the full
 * pipeline
 *
 *   audiotestsrc is-live=true samplesperbuffer=160 num-buffers=N
 *     ! audio/x-raw,format=S16LE,rate=16000,channels=1
 *     ! leakyframepool frame-samples=1024 max-frames=64
 *     ! ackqueue max-size-buffers=0 max-size-bytes=0 max-size-time=0
 *     ! socketiosink sync=false
 *
 * into the Node socket.io server of tests/server. Every R seconds the
 * server is killed (SIGTERM: no Socket.IO goodbye) and restarted after
 * --down seconds. In each period its acks are slowed to --slow-ack-ms
 * twice: from R/3 to R/2 (backpressure alone), and for the R/10 seconds
 * before the kill, so that the kill takes unacknowledged events with it
 * and the reconnection replays them. Nothing is disturbed in the last
 * 15 s, so EOS drains.
 *
 *   soak [-d MINUTES] [-r SECONDS] [--down S] [--slow-ack-ms MS]
 *        [--queue "ACKQUEUE PROPERTIES"]
 *
 * It prints a line once per period and the figures at the end, and exits
 * non-zero if a check fails:
 * - RSS at the end is less than 1 MiB above RSS after the warm-up (the
 *   first restart and reconnection);
 * - exact accounting, in samples: captured (what the source pushed into
 *   leakyframepool) = delivered (the distinct seqs in the seqRanges of
 *   every server process, each a frame of 1024 samples) + dropped and
 *   counted by the elements (leakyframepool's samples-dropped, ackqueue's
 *   dropped-bytes, socketiosink's dropped-bytes and the events it lost
 *   after EOS, when nothing can replay them);
 * - every frame reaching the sink is 1024 samples, nothing is left in
 *   ackqueue at the end, and the source produced all N buffers;
 * - duplicates only as flagged replays: no server process saw a seq again
 *   without "replay": true, no seq went unflagged to two processes, and
 *   the extra deliveries are at most the flagged ones;
 * - the sink reconnected once per restart; no error, no g_warning (the
 *   leaks tracer's report included).
 *
 * ackqueue is unbounded by default, so the pool's 64 frames are the bound
 * and leakyframepool does the dropping: its drops never got a seq, so they
 * cannot have reached a server. With a bounded ackqueue and leaky=downstream
 * (--queue), ackqueue drops the oldest retained frames, which may have
 * reached a server whose ack was lost with it: they are then counted both
 * delivered and dropped, and the accounting says so.
 *
 * Threads: the main thread runs the schedule, reads the elements' stats
 * and the server's. Two pad probes run on the streaming threads (the
 * source's, ackqueue's) and update Counters under its lock, which is held
 * for nothing else and never across a GStreamer call.
 */

#include <stdlib.h>
#include <string.h>

#include <gst/gst.h>

#include "test-server.h"

#define BPF 2                   /* S16LE mono */
#define FRAME_SAMPLES 1024
#define BUFFER_SAMPLES 160      /* 10 ms, as capture sources deliver */
#define SETTLE_S 15             /* undisturbed at the end */
#define RSS_GROWTH_KIB 1024

static gdouble minutes = 30;
static gint restart_every = 120;
static gint down_s = 3;
static gint slow_ack_ms = 5000;
static gchar *queue_props = NULL;

static GOptionEntry entries[] = {
  {"duration", 'd', 0, G_OPTION_ARG_DOUBLE, &minutes,
      "minutes of audio (default 30)", "MIN"},
  {"restart-every", 'r', 0, G_OPTION_ARG_INT, &restart_every,
      "kill and restart the server every S seconds (default 120)", "S"},
  {"down", 0, 0, G_OPTION_ARG_INT, &down_s,
      "seconds the server stays down (default 3)", "S"},
  {"slow-ack-ms", 0, 0, G_OPTION_ARG_INT, &slow_ack_ms,
      "ack delay while acks are slowed (default 5000)", "MS"},
  {"queue", 0, 0, G_OPTION_ARG_STRING, &queue_props,
      "ackqueue properties (default: unbounded)", "PROPS"},
  {NULL}
};

typedef struct
{
  GMutex lock;
  guint64 captured;             /* samples pushed into leakyframepool */
  guint64 frames;               /* buffers reaching the sink */
  guint64 odd_frames;           /* ... of other than FRAME_SAMPLES samples */
  gboolean eos;                 /* EOS reached the sink */
  guint64 lost_at_eos;          /* the sink's lost counter then */
} Counters;

typedef struct
{
  GstElement *pipeline, *pool, *queue, *sink;
  GstBus *bus;
  SioTestServer *server;
  Counters counters;

  /* the server processes killed so far */
  GArray *seqs;
  GArray *unflagged;
  guint64 unflagged_sum;
  gint64 events, replays, unflagged_repeats;

  guint restarts;
  guint reconnected;
  gboolean error;
  guint checks, failures;
} Soak;

static guint warnings;

static void
log_handler (const gchar * domain, GLogLevelFlags level, const gchar * message,
    gpointer user_data)
{
  if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL))
    warnings++;
  g_log_default_handler (domain, level, message, user_data);
}

static guint64
stat (GstElement * element, const gchar * field)
{
  GstStructure *s;
  guint64 value = 0;

  g_object_get (element, "stats", &s, NULL);
  if (!gst_structure_get_uint64 (s, field, &value))
    g_error ("%s has no stats field %s", GST_OBJECT_NAME (element), field);
  gst_structure_free (s);
  return value;
}

static GstPadProbeReturn
count_captured (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Counters *c = user_data;
  gsize size = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));

  g_mutex_lock (&c->lock);
  c->captured += size / BPF;
  g_mutex_unlock (&c->lock);
  return GST_PAD_PROBE_OK;
}

typedef struct
{
  Counters *counters;
  GstElement *sink;
} SinkProbe;

static GstPadProbeReturn
count_frames (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  SinkProbe *p = user_data;
  Counters *c = p->counters;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    gsize size = gst_buffer_get_size (GST_PAD_PROBE_INFO_BUFFER (info));

    g_mutex_lock (&c->lock);
    c->frames++;
    if (size != FRAME_SAMPLES * BPF)
      c->odd_frames++;
    g_mutex_unlock (&c->lock);
  } else if (GST_EVENT_TYPE (GST_PAD_PROBE_INFO_EVENT (info)) == GST_EVENT_EOS) {
    /* from here on, what the sink loses nobody replays */
    guint64 lost = stat (p->sink, "lost");

    g_mutex_lock (&c->lock);
    c->eos = TRUE;
    c->lost_at_eos = lost;
    g_mutex_unlock (&c->lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
add_probe (GstElement * element, const gchar * pad_name, GstPadProbeType type,
    GstPadProbeCallback cb, gpointer data)
{
  GstPad *pad = gst_element_get_static_pad (element, pad_name);

  gst_pad_add_probe (pad, type, cb, data, NULL);
  gst_object_unref (pad);
}

/* Fold the final stats of a killed server process into the totals. */
static void
add_process (Soak * soak, JsonObject * stats)
{
  GArray *own = sio_test_seq_ranges_new ();

  sio_test_seq_ranges_add_stats (soak->seqs, stats);
  sio_test_seq_ranges_add_member (soak->unflagged, stats, "unflaggedSeqRanges");
  sio_test_seq_ranges_add_member (own, stats, "unflaggedSeqRanges");
  soak->unflagged_sum += sio_test_seq_ranges_count (own);
  soak->events += json_object_get_int_member (stats, "events");
  soak->replays += json_object_get_int_member (stats, "replays");
  soak->unflagged_repeats +=
      json_object_get_int_member (stats, "unflaggedRepeats");
  g_array_unref (own);
  json_object_unref (stats);
}

/* Distinct seqs delivered so far: killed processes plus the running one. */
static guint64
delivered_frames (Soak * soak)
{
  GArray *all;
  JsonObject *stats;
  guint64 n;

  if (!sio_test_server_is_running (soak->server))
    return sio_test_seq_ranges_count (soak->seqs);
  all = sio_test_seq_ranges_new ();
  g_array_append_vals (all, soak->seqs->data, soak->seqs->len);
  stats = sio_test_server_stats (soak->server);
  sio_test_seq_ranges_add_stats (all, stats);
  json_object_unref (stats);
  n = sio_test_seq_ranges_count (all);
  g_array_unref (all);
  return n;
}

static void
set_ack_delay (Soak * soak, gint ms)
{
  gchar *path = g_strdup_printf ("config?ackDelayMs=%d", ms);

  json_object_unref (sio_test_server_control (soak->server, path));
  g_free (path);
}

static void
print_status (Soak * soak, gdouble t)
{
  guint64 captured;

  g_mutex_lock (&soak->counters.lock);
  captured = soak->counters.captured;
  g_mutex_unlock (&soak->counters.lock);
  g_print ("t=%5.0fs captured %" G_GUINT64_FORMAT " samples, delivered %"
      G_GUINT64_FORMAT " frames, dropped: leakyframepool %" G_GUINT64_FORMAT
      " samples, ackqueue %" G_GUINT64_FORMAT " buffers, sink %"
      G_GUINT64_FORMAT "; held %" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT
      " (queued+retained), reconnects %" G_GUINT64_FORMAT ", lost %"
      G_GUINT64_FORMAT ", RSS %" G_GSIZE_FORMAT " KiB\n", t, captured,
      delivered_frames (soak), stat (soak->pool, "samples-dropped"),
      stat (soak->queue, "dropped-buffers"),
      stat (soak->sink, "dropped-buffers"),
      stat (soak->queue, "queued-buffers"),
      stat (soak->queue, "retained-buffers"),
      stat (soak->sink, "reconnects"), stat (soak->sink, "lost"),
      sio_test_rss_kib ());
}

/* Whether acks should be slow @t seconds into the run (@end: when the
 * window containing @t ends). */
static gboolean
slow_wanted (gdouble t, gdouble * end)
{
  gdouble period = (gint) (t / restart_every) * (gdouble) restart_every;
  gdouble off = t - period, kill = restart_every - down_s;

  if (off >= restart_every / 3.0 && off < restart_every / 2.0) {
    *end = period + restart_every / 2.0;
    return TRUE;
  }
  if (off >= kill - restart_every / 10.0 && off < kill) {
    *end = period + kill;
    return TRUE;
  }
  return FALSE;
}

/* Pop what the bus has; returns TRUE at EOS. */
static gboolean
handle_messages (Soak * soak)
{
  GstMessage *msg;
  gboolean eos = FALSE;

  while ((msg = gst_bus_pop (soak->bus))) {
    GError *err = NULL;
    gchar *debug = NULL;

    switch (GST_MESSAGE_TYPE (msg)) {
      case GST_MESSAGE_EOS:
        eos = TRUE;
        break;
      case GST_MESSAGE_ERROR:
        gst_message_parse_error (msg, &err, &debug);
        g_printerr ("ERROR from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (msg),
            err->message, debug);
        soak->error = TRUE;
        break;
      case GST_MESSAGE_WARNING:
        gst_message_parse_warning (msg, &err, &debug);
        g_print ("warning from %s: %s (%s)\n", GST_MESSAGE_SRC_NAME (msg),
            err->message, debug);
        break;
      case GST_MESSAGE_ELEMENT:
        if (gst_message_has_name (msg, "socketio-reconnected"))
          soak->reconnected++;
        break;
      default:
        break;
    }
    g_clear_error (&err);
    g_free (debug);
    gst_message_unref (msg);
  }
  return eos;
}

static void
check (Soak * soak, gboolean ok, const gchar * format, ...)
G_GNUC_PRINTF (3, 4);

     static void check (Soak * soak, gboolean ok, const gchar * format, ...)
{
  va_list args;
  gchar *text;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_print ("%s %s\n", ok ? "PASS" : "FAIL", text);
  soak->checks++;
  if (!ok)
    soak->failures++;
  g_free (text);
}

static GstElement *
get (GstElement * pipeline, const gchar * name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (pipeline), name);

  g_assert_nonnull (e);
  return e;
}

int
main (int argc, char **argv)
{
  GOptionContext *ctx = g_option_context_new ("- soak the pipeline");
  GError *error = NULL;
  Soak soak = { 0, };
  SinkProbe sink_probe;
  guint64 n_buffers, total_ms, captured, delivered, lfp, aq, sink_dropped,
      lost_after_eos, odd_frames, frames, extra, unique, held;
  gint64 start, restart_at, kill_at, warmup_at, deadline;
  gboolean slowed = FALSE, eos = FALSE, sink_eos;
  gsize rss_warm = 0, rss_end;
  gchar *description;

  g_log_set_default_handler (log_handler, NULL);
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (minutes <= 0 || restart_every <= down_s || down_s < 0) {
    g_printerr ("need -d > 0 and -r > --down >= 0\n");
    return 2;
  }

  /* a whole number of frames, so no frame is padded at EOS */
  n_buffers = (guint64) (minutes * 60 * 16000 / (FRAME_SAMPLES * 5)) * 5 *
      FRAME_SAMPLES / BUFFER_SAMPLES;
  total_ms = n_buffers * BUFFER_SAMPLES * 1000 / 16000;

  g_mutex_init (&soak.counters.lock);
  soak.seqs = sio_test_seq_ranges_new ();
  soak.unflagged = sio_test_seq_ranges_new ();
  soak.server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  description = g_strdup_printf ("audiotestsrc is-live=true wave=white-noise "
      "samplesperbuffer=%u num-buffers=%" G_GUINT64_FORMAT " ! audio/x-raw,"
      "format=S16LE,rate=16000,channels=1 ! leakyframepool name=pool "
      "frame-samples=%u max-frames=64 ! ackqueue name=queue %s ! "
      "socketiosink name=sink location=%s sync=false "
      "reconnect-delay=200000000 reconnect-delay-max=2000000000 "
      "connect-timeout=5000000000", BUFFER_SAMPLES, n_buffers, FRAME_SAMPLES,
      queue_props ? queue_props :
      "max-size-buffers=0 max-size-bytes=0 max-size-time=0",
      sio_test_server_get_url (soak.server));
  g_print ("soak: %.1f min of audio (%" G_GUINT64_FORMAT " buffers), server "
      "killed every %d s for %d s, acks slowed to %d ms for %.0f s a period\n"
      "  %s\n", total_ms / 60000.0, n_buffers, restart_every, down_s,
      slow_ack_ms, restart_every / 6.0 + restart_every / 10.0, description);
  soak.pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_free (description);
  soak.pool = get (soak.pipeline, "pool");
  soak.queue = get (soak.pipeline, "queue");
  soak.sink = get (soak.pipeline, "sink");
  soak.bus = gst_element_get_bus (soak.pipeline);
  sink_probe.counters = &soak.counters;
  sink_probe.sink = soak.sink;
  add_probe (soak.pool, "sink", GST_PAD_PROBE_TYPE_BUFFER, count_captured,
      &soak.counters);
  add_probe (soak.sink, "sink", GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, count_frames, &sink_probe);

  g_assert_cmpint (gst_element_set_state (soak.pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);
  start = g_get_monotonic_time ();
#define AT(s) (start + (gint64) ((s) * G_USEC_PER_SEC))
  restart_at = AT (restart_every);
  kill_at = restart_at - down_s * G_USEC_PER_SEC;
  warmup_at = restart_at + 5 * G_USEC_PER_SEC;
  deadline = AT (total_ms / 1000.0 + 120);

  while (!eos && !soak.error && g_get_monotonic_time () < deadline) {
    gint64 now = g_get_monotonic_time ();
    gint64 quiet = AT (total_ms / 1000.0 - SETTLE_S);

    g_usleep (100 * 1000);
    eos = handle_messages (&soak);

    if (sio_test_server_is_running (soak.server)) {
      gdouble end = 0;
      gboolean want = slow_wanted ((now - start) / 1e6, &end);

      want = want && AT (end) <= quiet;
      if (want != slowed) {
        set_ack_delay (&soak, want ? slow_ack_ms : 0);
        slowed = want;
      }
    }
    if (restart_at <= quiet && now >= kill_at &&
        sio_test_server_is_running (soak.server)) {
      add_process (&soak, sio_test_server_kill (soak.server));
      slowed = FALSE;           /* a new process starts with fast acks */
    }
    if (!sio_test_server_is_running (soak.server) && now >= restart_at) {
      sio_test_server_restart (soak.server);
      soak.restarts++;
    }
    if (now >= restart_at && sio_test_server_is_running (soak.server)) {
      print_status (&soak, (now - start) / 1e6);
      restart_at += restart_every * G_USEC_PER_SEC;
      kill_at += restart_every * G_USEC_PER_SEC;
    }
    if (rss_warm == 0 && now >= warmup_at) {
      rss_warm = sio_test_rss_kib ();
      g_print ("warm-up done: RSS %" G_GSIZE_FORMAT " KiB\n", rss_warm);
    }
  }
  rss_end = sio_test_rss_kib ();
  if (rss_warm == 0)
    rss_warm = rss_end;         /* shorter than the warm-up */
  print_status (&soak, (g_get_monotonic_time () - start) / 1e6);

  /* the figures */
  add_process (&soak, sio_test_server_kill (soak.server));
  g_mutex_lock (&soak.counters.lock);
  captured = soak.counters.captured;
  frames = soak.counters.frames;
  odd_frames = soak.counters.odd_frames;
  sink_eos = soak.counters.eos;
  lost_after_eos = stat (soak.sink, "lost") - soak.counters.lost_at_eos;
  g_mutex_unlock (&soak.counters.lock);
  unique = sio_test_seq_ranges_count (soak.seqs);
  delivered = unique * FRAME_SAMPLES;
  lfp = stat (soak.pool, "samples-dropped");
  aq = stat (soak.queue, "dropped-bytes") / BPF;
  sink_dropped = stat (soak.sink, "dropped-bytes") / BPF;
  held = stat (soak.queue, "queued-buffers") +
      stat (soak.queue, "retained-buffers");
  extra = soak.events - unique;

  g_print ("\nfigures: %u restarts, %u reconnections; %" G_GUINT64_FORMAT
      " frames reached the sink, %" G_GUINT64_FORMAT " distinct seqs at the "
      "servers in %" G_GINT64_FORMAT " events (%" G_GINT64_FORMAT
      " flagged replays, %" G_GUINT64_FORMAT " extra deliveries)\n",
      soak.restarts, soak.reconnected, frames, unique, soak.events,
      soak.replays, extra);
  check (&soak, !soak.error, "no error on the bus");
  check (&soak, eos && sink_eos, "the stream reached EOS");
  check (&soak, rss_end < rss_warm + RSS_GROWTH_KIB, "RSS %" G_GSIZE_FORMAT
      " KiB after warm-up, %" G_GSIZE_FORMAT " KiB at the end: %+"
      G_GSSIZE_FORMAT " KiB (< %d KiB)", rss_warm, rss_end,
      (gssize) rss_end - (gssize) rss_warm, RSS_GROWTH_KIB);
  check (&soak, captured == n_buffers * BUFFER_SAMPLES, "the source captured "
      "%" G_GUINT64_FORMAT " samples of %" G_GUINT64_FORMAT, captured,
      n_buffers * BUFFER_SAMPLES);
  check (&soak, captured == delivered + lfp + aq + sink_dropped +
      lost_after_eos * FRAME_SAMPLES, "captured %" G_GUINT64_FORMAT
      " = delivered %" G_GUINT64_FORMAT " + leakyframepool dropped %"
      G_GUINT64_FORMAT " + ackqueue dropped %" G_GUINT64_FORMAT
      " + sink dropped %" G_GUINT64_FORMAT " + sink lost after EOS %"
      G_GUINT64_FORMAT " (samples; difference %" G_GINT64_FORMAT ")",
      captured, delivered, lfp, aq, sink_dropped,
      lost_after_eos * FRAME_SAMPLES, (gint64) captured - (gint64) (delivered
          + lfp + aq + sink_dropped + lost_after_eos * FRAME_SAMPLES));
  check (&soak, odd_frames == 0, "%" G_GUINT64_FORMAT " frames of other than "
      "%d samples", odd_frames, FRAME_SAMPLES);
  check (&soak, held == 0, "%" G_GUINT64_FORMAT " buffers left in ackqueue "
      "(queued + retained)", held);
  check (&soak, soak.unflagged_repeats == 0, "%" G_GINT64_FORMAT " repeated "
      "seqs without the replay flag within a server process",
      soak.unflagged_repeats);
  check (&soak, sio_test_seq_ranges_count (soak.unflagged) ==
      soak.unflagged_sum, "%" G_GUINT64_FORMAT " seqs sent unflagged to two "
      "server processes", soak.unflagged_sum -
      sio_test_seq_ranges_count (soak.unflagged));
  check (&soak, extra <= (guint64) soak.replays, "extra deliveries %"
      G_GUINT64_FORMAT " <= flagged replays %" G_GINT64_FORMAT, extra,
      soak.replays);
  check (&soak, stat (soak.sink, "reconnects") == soak.restarts,
      "reconnects %" G_GUINT64_FORMAT " = restarts %u",
      stat (soak.sink, "reconnects"), soak.restarts);

  gst_element_set_state (soak.pipeline, GST_STATE_NULL);
  gst_object_unref (soak.pool);
  gst_object_unref (soak.queue);
  gst_object_unref (soak.sink);
  gst_bus_set_flushing (soak.bus, TRUE);
  gst_object_unref (soak.bus);
  gst_object_unref (soak.pipeline);
  sio_test_server_stop (soak.server);
  g_array_unref (soak.seqs);
  g_array_unref (soak.unflagged);
  g_mutex_clear (&soak.counters.lock);
  g_free (queue_props);
  gst_deinit ();

  /* the leaks tracer reports with a g_warning at gst_deinit () */
  check (&soak, warnings == 0, "%u g_warning or g_critical (leaks "
      "included)", warnings);
  g_print ("%u passed, %u failed\n", soak.checks - soak.failures,
      soak.failures);
  return soak.failures ? 1 : 0;
}
