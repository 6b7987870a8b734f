/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 */

/* The real capture path: plays a 440 Hz sine into a PulseAudio null sink
 * and captures its monitor with pulsesrc ! ... ! leakyframepool, then checks
 * the frames: all exactly frame-samples long, contiguous offsets and
 * timestamps, nothing dropped, the pool never grown, and the sine really
 * captured. Run by with-pulseaudio.sh, which owns the PulseAudio daemon.
 *
 * Usage: pulse-capture SINK-NAME
 * Exit: 0 pass, 1 fail, 77 skip (pulse elements missing). */

#include <string.h>
#include <math.h>
#include <gst/gst.h>

#define FRAME_SAMPLES 1024
#define RATE 16000
#define SINE_FREQ 440.0
#define WANT_FRAMES 60          /* 3.84 s */

typedef struct
{
  gsize size;
  GstClockTime pts, duration;
  guint64 offset, offset_end;
  gboolean discont;
  gdouble rms;
  guint crossings;
  gint16 first, last;
} FrameInfo;

static GMutex lock;
static GArray *frames;
static GMainLoop *loop;
static gint n_warnings;
static gboolean failed;

static void
log_handler (const gchar * domain, GLogLevelFlags level, const gchar * msg,
    gpointer user_data)
{
  if (level & (G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL))
    g_atomic_int_inc (&n_warnings);
  g_log_default_handler (domain, level, msg, user_data);
}

static void
on_handoff (GstElement * sink, GstBuffer * buf, GstPad * pad, gpointer data)
{
  FrameInfo fi = { 0, };
  GstMapInfo map;
  const gint16 *s;
  gsize i, n;
  gdouble sum = 0;

  fi.size = gst_buffer_get_size (buf);
  fi.pts = GST_BUFFER_PTS (buf);
  fi.duration = GST_BUFFER_DURATION (buf);
  fi.offset = GST_BUFFER_OFFSET (buf);
  fi.offset_end = GST_BUFFER_OFFSET_END (buf);
  fi.discont = GST_BUFFER_IS_DISCONT (buf);

  if (gst_buffer_map (buf, &map, GST_MAP_READ)) {
    s = (const gint16 *) map.data;
    n = map.size / 2;
    for (i = 0; i < n; i++) {
      sum += (gdouble) s[i] * s[i];
      if (i > 0 && ((s[i - 1] < 0) != (s[i] < 0)))
        fi.crossings++;
    }
    fi.rms = n ? sqrt (sum / n) : 0;
    fi.first = n ? s[0] : 0;
    fi.last = n ? s[n - 1] : 0;
    gst_buffer_unmap (buf, &map);
  }

  g_mutex_lock (&lock);
  g_array_append_val (frames, fi);
  if (frames->len == WANT_FRAMES)
    g_main_loop_quit (loop);
  g_mutex_unlock (&lock);
}

static gboolean
on_bus (GstBus * bus, GstMessage * msg, gpointer data)
{
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gchar *dbg = NULL;

    gst_message_parse_error (msg, &err, &dbg);
    g_printerr ("error from %s: %s (%s)\n", GST_OBJECT_NAME (msg->src),
        err->message, GST_STR_NULL (dbg));
    g_clear_error (&err);
    g_free (dbg);
    failed = TRUE;
    g_main_loop_quit (loop);
  } else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_QOS) {
    g_printerr ("unexpected QoS (drop) message from %s\n",
        GST_OBJECT_NAME (msg->src));
  }

  return G_SOURCE_CONTINUE;
}

static gboolean
on_timeout (gpointer data)
{
  g_printerr ("timed out waiting for %d frames\n", WANT_FRAMES);
  failed = TRUE;
  g_main_loop_quit (loop);

  return G_SOURCE_REMOVE;
}

#define CHECK(cond, ...) G_STMT_START { \
  if (!(cond)) { \
    g_printerr ("FAIL: " __VA_ARGS__); \
    g_printerr ("\n"); \
    failed = TRUE; \
  } \
} G_STMT_END

static void
check_frames (GstElement * lfp)
{
  GstStructure *stats = NULL;
  guint64 frames_out = 0, dropped = 0, allocated = 0;
  guint held = 1, i, loud = 0, crossings = 0;
  gdouble freq;
  gchar *desc;

  CHECK (frames->len >= WANT_FRAMES, "got %u frames", frames->len);

  for (i = 0; i < frames->len; i++) {
    FrameInfo *f = &g_array_index (frames, FrameInfo, i);

    CHECK (f->size == FRAME_SAMPLES * 2, "frame %u has %" G_GSIZE_FORMAT
        " bytes", i, f->size);
    CHECK (f->offset_end - f->offset == FRAME_SAMPLES,
        "frame %u spans offsets %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT,
        i, f->offset, f->offset_end);
    CHECK (f->duration == gst_util_uint64_scale_int (f->offset_end -
            f->offset, GST_SECOND, RATE) || f->duration ==
        gst_util_uint64_scale_int (f->offset_end - f->offset, GST_SECOND,
            RATE) + 1, "frame %u lasts %" GST_TIME_FORMAT, i,
        GST_TIME_ARGS (f->duration));
    CHECK (f->discont == (i == 0), "frame %u discont %d", i, f->discont);

    if (i > 0) {
      FrameInfo *p = &g_array_index (frames, FrameInfo, i - 1);

      CHECK (f->offset == p->offset_end, "frame %u starts at offset %"
          G_GUINT64_FORMAT ", previous ended at %" G_GUINT64_FORMAT, i,
          f->offset, p->offset_end);
      CHECK (f->pts == p->pts + p->duration, "frame %u at %" GST_TIME_FORMAT
          ", previous ended at %" GST_TIME_FORMAT, i, GST_TIME_ARGS (f->pts),
          GST_TIME_ARGS (p->pts + p->duration));
      /* zero crossings across the frame boundary count too */
      if (f->rms > 2000 && p->rms > 2000) {
        loud++;
        crossings += f->crossings + ((p->last < 0) != (f->first < 0));
      }
    }
  }

  /* the sine was captured: loud, at its frequency */
  CHECK (loud >= 20, "only %u frames carry the sine", loud);
  if (loud > 0) {
    freq = crossings / 2.0 / (loud * (gdouble) FRAME_SAMPLES / RATE);
    g_print ("captured %u frames, %u with the sine, measured %.1f Hz\n",
        frames->len, loud, freq);
    CHECK (fabs (freq - SINE_FREQ) < SINE_FREQ * 0.03,
        "measured %.1f Hz, played %.1f Hz", freq, SINE_FREQ);
  }

  g_object_get (lfp, "stats", &stats, NULL);
  desc = gst_structure_to_string (stats);
  g_print ("%s\n", desc);
  g_free (desc);
  gst_structure_get (stats, "frames-out", G_TYPE_UINT64, &frames_out,
      "frames-dropped", G_TYPE_UINT64, &dropped, "buffers-allocated",
      G_TYPE_UINT64, &allocated, "frames-held-downstream", G_TYPE_UINT, &held,
      NULL);
  gst_structure_free (stats);
  CHECK (dropped == 0, "%" G_GUINT64_FORMAT " frames dropped", dropped);
  CHECK (frames_out >= frames->len, "stats say %" G_GUINT64_FORMAT
      " frames out, the sink got %u", frames_out, frames->len);
  CHECK (allocated == 64, "%" G_GUINT64_FORMAT " buffers allocated", allocated);
  CHECK (held == 0, "%u frames still held after stop", held);
}

int
main (int argc, char **argv)
{
  GstElement *play, *capture, *lfp, *sink;
  GstBus *bus;
  GError *err = NULL;
  gchar *desc;
  guint timeout_id;
  const gchar *needed[] = { "pulsesrc", "pulsesink", "audiotestsrc",
    "audioconvert", "audioresample", "fakesink"
  };
  guint i;

  gst_init (&argc, &argv);
  g_log_set_default_handler (log_handler, NULL);

  if (argc != 2) {
    g_printerr ("usage: %s SINK-NAME\n", argv[0]);
    return 1;
  }

  for (i = 0; i < G_N_ELEMENTS (needed); i++) {
    GstElementFactory *f = gst_element_factory_find (needed[i]);

    if (!f) {
      g_print ("element %s not available: skipping\n", needed[i]);
      return 77;
    }
    gst_object_unref (f);
  }

  frames = g_array_new (FALSE, FALSE, sizeof (FrameInfo));
  loop = g_main_loop_new (NULL, FALSE);

  desc = g_strdup_printf ("audiotestsrc is-live=true wave=sine freq=%f "
      "volume=0.5 ! audio/x-raw,format=S16LE,rate=48000,channels=2 "
      "! pulsesink device=%s", SINE_FREQ, argv[1]);
  play = gst_parse_launch (desc, &err);
  g_free (desc);
  g_assert_no_error (err);

  desc = g_strdup_printf ("pulsesrc device=%s.monitor ! audioconvert "
      "! audioresample ! audio/x-raw,format=S16LE,rate=%d,channels=1 "
      "! leakyframepool name=lfp frame-samples=%d max-frames=64 "
      "! fakesink name=sink sync=false signal-handoffs=true", argv[1], RATE,
      FRAME_SAMPLES);
  capture = gst_parse_launch (desc, &err);
  g_free (desc);
  g_assert_no_error (err);

  lfp = gst_bin_get_by_name (GST_BIN (capture), "lfp");
  sink = gst_bin_get_by_name (GST_BIN (capture), "sink");
  g_signal_connect (sink, "handoff", G_CALLBACK (on_handoff), NULL);

  bus = gst_element_get_bus (play);
  gst_bus_add_watch (bus, on_bus, NULL);
  gst_object_unref (bus);
  bus = gst_element_get_bus (capture);
  gst_bus_add_watch (bus, on_bus, NULL);
  gst_object_unref (bus);

  if (gst_element_set_state (play, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE
      || gst_element_set_state (capture, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr ("could not start the pipelines\n");
    failed = TRUE;
  } else {
    timeout_id = g_timeout_add_seconds (30, on_timeout, NULL);
    g_main_loop_run (loop);
    g_source_remove (timeout_id);
  }

  gst_element_set_state (capture, GST_STATE_NULL);
  gst_element_set_state (play, GST_STATE_NULL);

  if (!failed)
    check_frames (lfp);

  bus = gst_element_get_bus (play);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  bus = gst_element_get_bus (capture);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_object_unref (lfp);
  gst_object_unref (capture);
  gst_object_unref (play);
  g_main_loop_unref (loop);
  g_array_unref (frames);

  /* with GST_TRACERS=leaks, anything left alive is reported here */
  gst_deinit ();
  if (g_atomic_int_get (&n_warnings) > 0) {
    g_printerr ("FAIL: %d warnings or criticals\n", n_warnings);
    failed = TRUE;
  }

  g_print ("%s\n", failed ? "FAIL" : "PASS");

  return failed ? 1 : 0;
}
