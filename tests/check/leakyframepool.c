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

/* Unit tests for leakyframepool, driven with GstHarness. The input is a
 * byte pattern that depends on the position of each byte in the stream, so
 * every output frame can be checked byte for byte. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>

#define S16_MONO_16K "audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved"

/* the byte at position @pos of the input stream */
static inline guint8
pattern_byte (guint64 pos)
{
  return (guint8) ((pos * 7) % 251);
}

typedef struct
{
  GstHarness *h;
  GstBus *bus;
  GstAudioInfo info;
  guint64 in_samples;           /* samples pushed so far */
} Fixture;

static void
fixture_init (Fixture * f, const gchar * caps_str, guint spf, guint max_frames)
{
  GstCaps *caps = gst_caps_from_string (caps_str);

  fail_unless (caps != NULL);
  fail_unless (gst_audio_info_from_caps (&f->info, caps));

  f->h = gst_harness_new ("leakyframepool");
  f->bus = gst_bus_new ();
  gst_element_set_bus (f->h->element, f->bus);
  g_object_set (f->h->element, "frame-samples", spf, "max-frames",
      max_frames, NULL);
  gst_harness_set_src_caps (f->h, caps);
  f->in_samples = 0;
}

static void
fixture_clear (Fixture * f)
{
  gst_bus_set_flushing (f->bus, TRUE);
  gst_harness_teardown (f->h);
  gst_object_unref (f->bus);
}

static GstBuffer *
make_input (Fixture * f, guint64 first_sample, guint n_samples)
{
  guint bpf = GST_AUDIO_INFO_BPF (&f->info);
  GstBuffer *buf = gst_buffer_new_allocate (NULL, (gsize) n_samples * bpf,
      NULL);
  GstMapInfo map;
  gsize i;

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_WRITE));
  for (i = 0; i < map.size; i++)
    map.data[i] = pattern_byte (first_sample * bpf + i);
  gst_buffer_unmap (buf, &map);

  return buf;
}

/* pushes @n_samples continuing the stream, timestamped unless
 * @with_pts is FALSE */
static GstFlowReturn
push_samples (Fixture * f, guint n_samples, gboolean with_pts)
{
  GstBuffer *buf = make_input (f, f->in_samples, n_samples);
  gint rate = GST_AUDIO_INFO_RATE (&f->info);

  if (with_pts) {
    GST_BUFFER_PTS (buf) = gst_util_uint64_scale_int (f->in_samples,
        GST_SECOND, rate);
    GST_BUFFER_DURATION (buf) = gst_util_uint64_scale_int (f->in_samples +
        n_samples, GST_SECOND, rate) - GST_BUFFER_PTS (buf);
  }
  f->in_samples += n_samples;

  return gst_harness_push (f->h, buf);
}

static GstClockTime
time_at (Fixture * f, guint64 sample)
{
  return gst_util_uint64_scale_int (sample, GST_SECOND,
      GST_AUDIO_INFO_RATE (&f->info));
}

/* checks that @buf holds samples [@start, @start + @n) of the input, with
 * exact timestamps and offsets when the stream started at 0 */
static void
check_frame (Fixture * f, GstBuffer * buf, guint64 start, guint n,
    gboolean discont)
{
  guint bpf = GST_AUDIO_INFO_BPF (&f->info);
  GstMapInfo map;
  gsize i;

  fail_unless_equals_uint64 (gst_buffer_get_size (buf), (guint64) n * bpf);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (buf), time_at (f, start));
  fail_unless_equals_clocktime (GST_BUFFER_DURATION (buf),
      time_at (f, start + n) - time_at (f, start));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), start);
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (buf), start + n);
  fail_unless_equals_int (GST_BUFFER_IS_DISCONT (buf), discont);

  fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
  for (i = 0; i < map.size; i++) {
    if (map.data[i] != pattern_byte (start * bpf + i))
      fail ("byte %" G_GSIZE_FORMAT " of the frame at sample %"
          G_GUINT64_FORMAT " is %u, expected %u", i, start, map.data[i],
          pattern_byte (start * bpf + i));
  }
  gst_buffer_unmap (buf, &map);
}

static GstStructure *
get_stats (Fixture * f)
{
  GstStructure *s = NULL;

  g_object_get (f->h->element, "stats", &s, NULL);
  fail_unless (s != NULL);
  fail_unless (gst_structure_has_name (s, "leakyframepool-stats"));

  return s;
}

static guint64
stat_u64 (Fixture * f, const gchar * field)
{
  GstStructure *s = get_stats (f);
  guint64 v = 0;

  fail_unless (gst_structure_get_uint64 (s, field, &v), "no %s", field);
  gst_structure_free (s);

  return v;
}

static guint
stat_uint (Fixture * f, const gchar * field)
{
  GstStructure *s = get_stats (f);
  guint v = 0;

  fail_unless (gst_structure_get_uint (s, field, &v), "no %s", field);
  gst_structure_free (s);

  return v;
}

static guint
count_qos (Fixture * f)
{
  GstMessage *msg;
  guint n = 0;

  while ((msg = gst_bus_pop_filtered (f->bus, GST_MESSAGE_QOS))) {
    n++;
    gst_message_unref (msg);
  }

  return n;
}

/* Pushes @total samples in buffers of @size samples (0: random sizes) and
 * checks every frame as it comes out. */
static void
run_rechunk (const gchar * caps_str, guint spf, guint size, guint64 total,
    gboolean with_pts)
{
  Fixture f;
  GRand *rand = g_rand_new_with_seed (4242);
  guint64 out = 0;
  GstBuffer *buf;

  fixture_init (&f, caps_str, spf, 64);

  while (f.in_samples < total) {
    guint n = size ? size : (guint) g_rand_int_range (rand, 1, 5000);

    n = (guint) MIN (n, total - f.in_samples);
    fail_unless_equals_int (push_samples (&f, n, with_pts), GST_FLOW_OK);

    while ((buf = gst_harness_try_pull (f.h))) {
      check_frame (&f, buf, out, spf, out == 0);
      out += spf;
      gst_buffer_unref (buf);
    }
    fail_unless_equals_uint64 (out, f.in_samples - f.in_samples % spf);
  }

  /* drain the partial frame short, so its exact size can be checked */
  g_object_set (f.h->element, "pad-last-frame", FALSE, NULL);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  if (total % spf) {
    buf = gst_harness_pull (f.h);
    check_frame (&f, buf, out, total % spf, out == 0);
    gst_buffer_unref (buf);
  }
  fail_unless (gst_harness_try_pull (f.h) == NULL);

  fail_unless_equals_uint64 (stat_u64 (&f, "frames-out"),
      (total + spf - 1) / spf);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);
  fail_unless_equals_int (count_qos (&f), 0);

  g_rand_free (rand);
  fixture_clear (&f);
}

static const guint input_sizes[] = { 1, 333, 1024, 4096, 0 };

GST_START_TEST (test_rechunk_sizes)
{
  /* 30 frames and a bit, in each input size (0 = random sizes) */
  run_rechunk (S16_MONO_16K, 1024, input_sizes[__i__], 30 * 1024 + 77, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_rechunk_no_timestamps)
{
  /* buffers without timestamps continue the count from the segment start */
  run_rechunk (S16_MONO_16K, 1024, input_sizes[__i__], 10 * 1024 + 5, FALSE);
}

GST_END_TEST;

static const gchar *formats[] = {
  "audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved",
  "audio/x-raw,format=F32LE,rate=16000,channels=1,layout=interleaved",
  "audio/x-raw,format=S24_32LE,rate=16000,channels=1,layout=interleaved",
  "audio/x-raw,format=S16LE,rate=16000,channels=2,layout=interleaved,"
      "channel-mask=(bitmask)0x3",
  "audio/x-raw,format=F32LE,rate=48000,channels=2,layout=interleaved,"
      "channel-mask=(bitmask)0x3",
  "audio/x-raw,format=S24LE,rate=44100,channels=1,layout=interleaved",
  "audio/x-raw,format=U8,rate=8000,channels=1,layout=interleaved",
  "audio/x-raw,format=F64BE,rate=96000,channels=6,layout=interleaved,"
      "channel-mask=(bitmask)0x3f",
};

GST_START_TEST (test_formats)
{
  run_rechunk (formats[__i__], 1024, 333, 20 * 1024 + 3, TRUE);
  run_rechunk (formats[__i__], 480, 0, 20 * 480 + 100, TRUE);
}

GST_END_TEST;

GST_START_TEST (test_frame_duration_wins)
{
  struct
  {
    const gchar *caps;
    guint64 duration;
    guint spf;
  } cases[] = {
    {S16_MONO_16K, 20 * GST_MSECOND, 320},
    {"audio/x-raw,format=S16LE,rate=44100,channels=1,layout=interleaved",
        10 * GST_MSECOND, 441},
    {S16_MONO_16K, GST_MSECOND / 3, 5}, /* 5.33 samples, rounded */
    {S16_MONO_16K, 1, 1},       /* never less than one sample */
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    GstHarness *h = gst_harness_new ("leakyframepool");
    GstBuffer *buf;

    g_object_set (h->element, "frame-samples", 1000, "frame-duration",
        cases[i].duration, NULL);
    gst_harness_set_src_caps_str (h, cases[i].caps);
    buf = gst_buffer_new_allocate (NULL, 2 * 2000, NULL);
    gst_buffer_memset (buf, 0, 0, 2 * 2000);
    GST_BUFFER_PTS (buf) = 0;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
    buf = gst_harness_pull (h);
    fail_unless_equals_int (gst_buffer_get_size (buf), 2 * cases[i].spf);
    gst_buffer_unref (buf);
    gst_harness_teardown (h);
  }
}

GST_END_TEST;

GST_START_TEST (test_drop_when_downstream_holds_every_frame)
{
  Fixture f;
  GstBuffer *frames[4];
  GstMessage *msg;
  guint i;

  fixture_init (&f, S16_MONO_16K, 1024, 4);

  /* the harness keeps every frame: the pool runs dry after 4 frames */
  for (i = 0; i < 10; i++)
    fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);

  fail_unless_equals_int (gst_harness_buffers_in_queue (f.h), 4);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-out"), 4);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 6);
  fail_unless_equals_uint64 (stat_u64 (&f, "samples-dropped"), 6 * 1024);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 4);
  fail_unless_equals_int (stat_uint (&f, "pool-size"), 4);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 4);

  /* one QoS message per dropped frame, with exact position and counts */
  for (i = 0; i < 6; i++) {
    GstFormat format;
    guint64 processed, dropped;
    GstClockTime running_time, stream_time, ts, duration;
    gboolean live;

    msg = gst_bus_pop_filtered (f.bus, GST_MESSAGE_QOS);
    fail_unless (msg != NULL, "QoS message %u missing", i);
    fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (f.h->element));
    gst_message_parse_qos (msg, &live, &running_time, &stream_time, &ts,
        &duration);
    fail_unless_equals_clocktime (ts, time_at (&f, (4 + i) * 1024));
    fail_unless_equals_clocktime (running_time, ts);
    fail_unless_equals_clocktime (stream_time, ts);
    fail_unless_equals_clocktime (duration, time_at (&f, (5 + i) * 1024) - ts);
    fail_if (live);
    gst_message_parse_qos_stats (msg, &format, &processed, &dropped);
    fail_unless_equals_int (format, GST_FORMAT_DEFAULT);
    fail_unless_equals_uint64 (processed, 4 * 1024);
    fail_unless_equals_uint64 (dropped, (i + 1) * 1024);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (count_qos (&f), 0);

  for (i = 0; i < 4; i++) {
    frames[i] = gst_harness_pull (f.h);
    check_frame (&f, frames[i], i * 1024, 1024, i == 0);
  }
  /* still held by us */
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 4);
  for (i = 0; i < 4; i++)
    gst_buffer_unref (frames[i]);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);

  /* the next frame is back on the sample grid and flagged DISCONT */
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  frames[0] = gst_harness_pull (f.h);
  check_frame (&f, frames[0], 10 * 1024, 1024, TRUE);
  gst_buffer_unref (frames[0]);
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  frames[0] = gst_harness_pull (f.h);
  check_frame (&f, frames[0], 11 * 1024, 1024, FALSE);
  gst_buffer_unref (frames[0]);

  fail_unless_equals_uint64 (stat_u64 (&f, "frames-out"), 6);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 4);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_drop_partial_slots)
{
  Fixture f;
  GstBuffer *buf;
  GstMessage *msg = NULL, *last = NULL;
  GstClockTime ts, duration;
  guint64 processed, dropped;
  guint i, n_qos = 0;

  fixture_init (&f, S16_MONO_16K, 1024, 2);

  /* 35 buffers of 300 samples: frames 0-1 out, slots 2-9 dropped, slot 10
   * partially dropped (260 samples) when EOS comes */
  for (i = 0; i < 35; i++)
    fail_unless_equals_int (push_samples (&f, 300, TRUE), GST_FLOW_OK);

  fail_unless_equals_int (gst_harness_buffers_in_queue (f.h), 2);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 8);
  fail_unless_equals_uint64 (stat_u64 (&f, "samples-dropped"), 8 * 1024);

  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 9);
  fail_unless_equals_uint64 (stat_u64 (&f, "samples-dropped"), 8 * 1024 + 260);

  while ((msg = gst_bus_pop_filtered (f.bus, GST_MESSAGE_QOS))) {
    n_qos++;
    gst_message_replace (&last, msg);
    gst_message_unref (msg);
  }
  fail_unless_equals_int (n_qos, 9);
  gst_message_parse_qos (last, NULL, NULL, NULL, &ts, &duration);
  fail_unless_equals_clocktime (ts, time_at (&f, 10 * 1024));
  fail_unless_equals_clocktime (duration, time_at (&f, 10500) - ts);
  gst_message_parse_qos_stats (last, NULL, &processed, &dropped);
  fail_unless_equals_uint64 (processed, 2 * 1024);
  fail_unless_equals_uint64 (dropped, 8 * 1024 + 260);
  gst_message_unref (last);

  for (i = 0; i < 2; i++) {
    buf = gst_harness_pull (f.h);
    check_frame (&f, buf, i * 1024, 1024, i == 0);
    gst_buffer_unref (buf);
  }
  fail_unless (gst_harness_try_pull (f.h) == NULL);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_pool_never_grows)
{
  Fixture f;
  GstBuffer *in;
  guint i;

  fixture_init (&f, S16_MONO_16K, 1024, 64);
  gst_harness_set_drop_buffers (f.h, TRUE);

  /* 100 000 frames, each released as soon as it is pushed */
  in = make_input (&f, 0, 4096);
  for (i = 0; i < 25000; i++)
    fail_unless_equals_int (gst_harness_push (f.h, gst_buffer_ref (in)),
        GST_FLOW_OK);
  gst_buffer_unref (in);

  fail_unless_equals_uint64 (stat_u64 (&f, "frames-out"), 100000);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 64);
  fail_unless_equals_int (stat_uint (&f, "pool-size"), 64);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);

  fixture_clear (&f);
}

GST_END_TEST;

typedef struct
{
  Fixture *f;
  GstFlowReturn ret;
  gint done;
} PushThread;

static gpointer
push_thread_func (gpointer data)
{
  PushThread *t = data;

  t->ret = push_samples (t->f, 1024, TRUE);
  g_atomic_int_set (&t->done, 1);

  return NULL;
}

static GThread *
start_blocked_push (PushThread * t, Fixture * f)
{
  GThread *thread;

  t->f = f;
  t->done = 0;
  t->ret = GST_FLOW_CUSTOM_ERROR;
  thread = g_thread_new ("push", push_thread_func, t);
  /* it must still be waiting for a frame a while later */
  g_usleep (200 * 1000);
  fail_if (g_atomic_int_get (&t->done), "leaky=no did not block");

  return thread;
}

GST_START_TEST (test_pool_replaces_unusable_frames)
{
  Fixture f;
  GstBuffer *frame, *copy;
  PushThread t;
  GThread *thread;

  fixture_init (&f, S16_MONO_16K, 1024, 2);

  /* a copy shares the frame's memory: when the frame comes back the pool
   * cannot reuse it, frees it and allocates a replacement, never more than
   * max-frames alive */
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  frame = gst_harness_pull (f.h);
  copy = gst_buffer_copy (frame);
  gst_buffer_unref (frame);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);

  fail_unless_equals_int (push_samples (&f, 2048, TRUE), GST_FLOW_OK);
  fail_unless_equals_int (gst_harness_buffers_in_queue (f.h), 2);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 3);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);
  /* both alive buffers are held: the next frame is dropped */
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 1);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 3);
  gst_buffer_unref (copy);

  /* a waiting leaky=no push is woken up by an unusable frame coming back,
   * and gets a new buffer */
  gst_util_set_object_arg (G_OBJECT (f.h->element), "leaky", "no");
  frame = gst_harness_pull (f.h);
  copy = gst_buffer_copy (frame);
  gst_buffer_unref (frame);     /* back, unusable: replaced at once */
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 4);
  thread = start_blocked_push (&t, &f);
  frame = gst_harness_pull (f.h);
  gst_buffer_unref (copy);
  copy = gst_buffer_copy (frame);
  gst_buffer_unref (frame);
  g_thread_join (thread);
  fail_unless_equals_int (t.ret, GST_FLOW_OK);
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 5);
  gst_buffer_unref (copy);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_flush)
{
  Fixture f;
  GstBuffer *held, *buf;
  GstSegment segment;

  fixture_init (&f, S16_MONO_16K, 1024, 2);

  /* frame 0 out and held by us, frame 1 partially filled: the pool is dry */
  fail_unless_equals_int (push_samples (&f, 1500, TRUE), GST_FLOW_OK);
  held = gst_harness_pull (f.h);
  check_frame (&f, held, 0, 1024, TRUE);

  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_segment (&segment)));

  /* the partial frame was discarded, not pushed, and went back to the
   * pool: the next frame gets a buffer instead of being dropped */
  fail_unless (gst_harness_try_pull (f.h) == NULL);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 1);

  f.in_samples = 80000;         /* 5 s */
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 80000, 1024, TRUE);
  gst_buffer_unref (buf);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);

  gst_buffer_unref (held);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_caps_change)
{
  Fixture f;
  GstBuffer *buf, *old_frame;
  GstCaps *caps;
  GstEvent *ev;
  GstAudioInfo new_info;
  GstClockTime base = gst_util_uint64_scale_int (1500, GST_SECOND, 16000);
  guint64 base_offset = 4500;   /* 93.75 ms at 48 kHz */
  guint i;

  fixture_init (&f, S16_MONO_16K, 1024, 64);
  fail_unless_equals_int (push_samples (&f, 1500, TRUE), GST_FLOW_OK);
  old_frame = gst_harness_pull (f.h);
  check_frame (&f, old_frame, 0, 1024, TRUE);

  /* new frame size, applied with the new caps */
  g_object_set (f.h->element, "frame-samples", 512, NULL);
  caps = gst_caps_from_string ("audio/x-raw,format=F32LE,rate=48000,"
      "channels=2,layout=interleaved,channel-mask=(bitmask)0x3");
  fail_unless (gst_audio_info_from_caps (&new_info, caps));
  fail_unless (gst_harness_push_event (f.h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);

  /* the partial frame went out first, padded, in the old format */
  buf = gst_harness_pull (f.h);
  fail_unless_equals_int (gst_buffer_get_size (buf), 2 * 1024);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (buf), time_at (&f, 1024));
  fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), 1024);
  gst_buffer_unref (buf);

  /* ...and before the new caps event */
  while ((ev = gst_harness_try_pull_event (f.h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_CAPS) {
      GstCaps *c;

      gst_event_parse_caps (ev, &c);
      if (gst_structure_has_field_typed (gst_caps_get_structure (c, 0),
              "channel-mask", GST_TYPE_BITMASK))
        break;
    }
    gst_event_unref (ev);
  }
  fail_unless (ev != NULL);
  gst_event_unref (ev);

  /* the position carries over to the new rate */
  f.info = new_info;
  buf = make_input (&f, 0, 1024);
  GST_BUFFER_PTS (buf) = base;
  fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
  for (i = 0; i < 2; i++) {
    buf = gst_harness_pull (f.h);
    fail_unless_equals_int (gst_buffer_get_size (buf), 512 * 8);
    fail_unless_equals_clocktime (GST_BUFFER_PTS (buf),
        base + gst_util_uint64_scale_int (i * 512, GST_SECOND, 48000));
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), base_offset + i * 512);
    fail_if (GST_BUFFER_IS_DISCONT (buf));
    gst_buffer_unref (buf);
  }

  /* a new pool: the old one's buffers are freed as they come back */
  fail_unless_equals_uint64 (stat_u64 (&f, "buffers-allocated"), 128);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 1);
  gst_buffer_unref (old_frame);
  fail_unless_equals_int (stat_uint (&f, "frames-held-downstream"), 0);

  fixture_clear (&f);
}

GST_END_TEST;

static void
check_eos_padding (const gchar * caps_str, gboolean pad)
{
  Fixture f;
  GstBuffer *buf;
  GstMapInfo map;
  guint bpf, i;
  guint8 *silence;

  fixture_init (&f, caps_str, 1024, 64);
  bpf = GST_AUDIO_INFO_BPF (&f.info);
  g_object_set (f.h->element, "pad-last-frame", pad, NULL);

  fail_unless_equals_int (push_samples (&f, 1500, TRUE), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_eos ()));

  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 0, 1024, TRUE);
  gst_buffer_unref (buf);

  buf = gst_harness_pull (f.h);
  if (!pad) {
    check_frame (&f, buf, 1024, 476, FALSE);
  } else {
    fail_unless_equals_int (gst_buffer_get_size (buf), 1024 * bpf);
    fail_unless_equals_clocktime (GST_BUFFER_PTS (buf), time_at (&f, 1024));
    fail_unless_equals_clocktime (GST_BUFFER_DURATION (buf),
        time_at (&f, 2048) - time_at (&f, 1024));
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET (buf), 1024);
    fail_unless_equals_uint64 (GST_BUFFER_OFFSET_END (buf), 2048);

    silence = g_malloc (548 * bpf);
    gst_audio_format_info_fill_silence (f.info.finfo, silence, 548 * bpf);
    fail_unless (gst_buffer_map (buf, &map, GST_MAP_READ));
    for (i = 0; i < 476 * bpf; i++)
      fail_unless_equals_int (map.data[i], pattern_byte (1024 * bpf + i));
    fail_unless (memcmp (map.data + 476 * bpf, silence, 548 * bpf) == 0);
    gst_buffer_unmap (buf, &map);
    g_free (silence);
  }
  gst_buffer_unref (buf);

  fail_unless (gst_harness_try_pull (f.h) == NULL);
  fixture_clear (&f);
}

GST_START_TEST (test_eos_padding)
{
  GstElement *e = gst_element_factory_make ("leakyframepool", NULL);
  GParamSpec *pspec;

  /* every frame the same size unless asked otherwise */
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (e),
      "pad-last-frame");
  fail_unless (G_PARAM_SPEC_BOOLEAN (pspec)->default_value == TRUE);
  gst_object_unref (e);

  check_eos_padding (S16_MONO_16K, TRUE);
  check_eos_padding (S16_MONO_16K, FALSE);
  /* formats whose silence is not all zero bytes */
  check_eos_padding ("audio/x-raw,format=U8,rate=8000,channels=1,"
      "layout=interleaved", TRUE);
  check_eos_padding ("audio/x-raw,format=U16BE,rate=8000,channels=1,"
      "layout=interleaved", TRUE);
}

GST_END_TEST;

GST_START_TEST (test_leaky_no_blocks)
{
  Fixture f;
  PushThread t;
  GThread *thread;
  GstBuffer *a, *b;
  GstSegment segment;

  fixture_init (&f, S16_MONO_16K, 1024, 2);
  gst_util_set_object_arg (G_OBJECT (f.h->element), "leaky", "no");

  fail_unless_equals_int (push_samples (&f, 2048, TRUE), GST_FLOW_OK);
  a = gst_harness_pull (f.h);
  b = gst_harness_pull (f.h);

  /* 1: releasing a frame lets the waiting push through, nothing dropped */
  thread = start_blocked_push (&t, &f);
  gst_buffer_unref (a);
  g_thread_join (thread);
  fail_unless_equals_int (t.ret, GST_FLOW_OK);
  a = gst_harness_pull (f.h);
  check_frame (&f, a, 2048, 1024, FALSE);
  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);

  /* 2: a flush ends the wait */
  thread = start_blocked_push (&t, &f);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_start ()));
  g_thread_join (thread);
  fail_unless_equals_int (t.ret, GST_FLOW_FLUSHING);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_flush_stop (TRUE)));
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_segment (&segment)));

  /* 3: so does a state change */
  thread = start_blocked_push (&t, &f);
  fail_unless_equals_int (gst_element_set_state (f.h->element,
          GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_thread_join (thread);
  fail_unless_equals_int (t.ret, GST_FLOW_FLUSHING);

  fail_unless_equals_uint64 (stat_u64 (&f, "frames-dropped"), 0);
  gst_buffer_unref (a);
  gst_buffer_unref (b);
  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_gap)
{
  Fixture f;
  GstBuffer *buf;
  GstEvent *ev;
  GstClockTime gap_ts = gst_util_uint64_scale_int (1500, GST_SECOND, 16000);
  gboolean seen_gap = FALSE;

  fixture_init (&f, S16_MONO_16K, 1024, 64);
  fail_unless_equals_int (push_samples (&f, 1500, TRUE), GST_FLOW_OK);
  fail_unless (gst_harness_push_event (f.h, gst_event_new_gap (gap_ts,
              GST_SECOND / 2)));

  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 0, 1024, TRUE);
  gst_buffer_unref (buf);
  /* the partial frame is drained before the gap */
  buf = gst_harness_pull (f.h);
  fail_unless_equals_clocktime (GST_BUFFER_PTS (buf), time_at (&f, 1024));
  gst_buffer_unref (buf);

  while ((ev = gst_harness_try_pull_event (f.h))) {
    if (GST_EVENT_TYPE (ev) == GST_EVENT_GAP)
      seen_gap = TRUE;
    gst_event_unref (ev);
  }
  fail_unless (seen_gap);

  /* data right after the gap is continuous: no resync, no DISCONT */
  f.in_samples = 1500 + 8000;
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 9500, 1024, FALSE);
  gst_buffer_unref (buf);

  /* a gap without data before it only moves the position */
  fail_unless (gst_harness_push_event (f.h,
          gst_event_new_gap (time_at (&f, 10524), time_at (&f, 1000))));
  fail_unless (gst_harness_try_pull (f.h) == NULL);
  f.in_samples = 11524;
  fail_unless_equals_int (push_samples (&f, 1024, FALSE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 11524, 1024, FALSE);
  gst_buffer_unref (buf);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_resync)
{
  Fixture f;
  GstBuffer *buf;

  fixture_init (&f, S16_MONO_16K, 1024, 64);
  g_object_set (f.h->element, "pad-last-frame", FALSE, NULL);

  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 0, 1024, TRUE);
  gst_buffer_unref (buf);

  /* 10 ms of jitter is below the 40 ms threshold: stays continuous */
  fail_unless_equals_int (push_samples (&f, 500, TRUE), GST_FLOW_OK);
  buf = make_input (&f, f.in_samples, 524);
  GST_BUFFER_PTS (buf) = time_at (&f, f.in_samples) + 10 * GST_MSECOND;
  f.in_samples += 524;
  fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 1024, 1024, FALSE);
  gst_buffer_unref (buf);

  /* a jump of one second: the partial frame is drained and the position
   * resyncs on the new timestamp */
  fail_unless_equals_int (push_samples (&f, 100, TRUE), GST_FLOW_OK);
  fail_unless (gst_harness_try_pull (f.h) == NULL);
  f.in_samples += 16000;
  fail_unless_equals_int (push_samples (&f, 1024, TRUE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 2048, 100, FALSE);
  gst_buffer_unref (buf);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 2148 + 16000, 1024, TRUE);
  gst_buffer_unref (buf);

  /* a DISCONT buffer resyncs even when its timestamp matches */
  fail_unless_equals_int (push_samples (&f, 10, TRUE), GST_FLOW_OK);
  buf = make_input (&f, f.in_samples, 1024);
  GST_BUFFER_PTS (buf) = time_at (&f, f.in_samples);
  GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
  f.in_samples += 1024;
  fail_unless_equals_int (gst_harness_push (f.h, buf), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 2148 + 16000 + 1024, 10, FALSE);
  gst_buffer_unref (buf);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 2148 + 16000 + 1034, 1024, TRUE);
  gst_buffer_unref (buf);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_segment_start)
{
  Fixture f;
  GstSegment segment;
  GstBuffer *buf;

  fixture_init (&f, S16_MONO_16K, 1024, 64);
  gst_segment_init (&segment, GST_FORMAT_TIME);
  segment.start = segment.time = 10 * GST_SECOND;
  fail_unless (gst_harness_push_event (f.h, gst_event_new_segment (&segment)));

  /* no timestamps: positions count from the segment start */
  f.in_samples = 160000;
  fail_unless_equals_int (push_samples (&f, 2048, FALSE), GST_FLOW_OK);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 160000, 1024, TRUE);
  gst_buffer_unref (buf);
  buf = gst_harness_pull (f.h);
  check_frame (&f, buf, 161024, 1024, FALSE);
  gst_buffer_unref (buf);

  fixture_clear (&f);
}

GST_END_TEST;

GST_START_TEST (test_stats_structure)
{
  GstElement *e = gst_element_factory_make ("leakyframepool", NULL);
  GstStructure *s = NULL;
  const gchar *u64_fields[] = { "frames-out", "frames-dropped",
    "samples-dropped", "buffers-allocated"
  };
  const gchar *uint_fields[] = { "pool-size", "frames-held-downstream" };
  guint i;

  g_object_get (e, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "leakyframepool-stats"));
  for (i = 0; i < G_N_ELEMENTS (u64_fields); i++)
    fail_unless (gst_structure_has_field_typed (s, u64_fields[i],
            G_TYPE_UINT64), "%s", u64_fields[i]);
  for (i = 0; i < G_N_ELEMENTS (uint_fields); i++)
    fail_unless (gst_structure_has_field_typed (s, uint_fields[i],
            G_TYPE_UINT), "%s", uint_fields[i]);
  gst_structure_free (s);
  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_properties)
{
  GstElement *e = gst_element_factory_make ("leakyframepool", NULL);
  guint spf, max;
  guint64 duration, threshold;
  gint leaky;
  gboolean pad;
  GEnumClass *klass;

  g_object_get (e, "frame-samples", &spf, "max-frames", &max,
      "frame-duration", &duration, "leaky", &leaky, "pad-last-frame", &pad,
      "alignment-threshold", &threshold, NULL);
  fail_unless_equals_int (spf, 1024);
  fail_unless_equals_int (max, 64);
  fail_unless_equals_uint64 (duration, 0);
  fail_unless_equals_uint64 (threshold, 40 * GST_MSECOND);
  fail_unless (pad);

  klass = g_type_class_ref (g_type_from_name ("GstLeakyFramePoolLeaky"));
  fail_unless (klass != NULL);
  fail_unless_equals_int (g_enum_get_value_by_nick (klass, "drop")->value,
      leaky);
  fail_unless (g_enum_get_value_by_nick (klass, "no") != NULL);
  g_type_class_unref (klass);

  gst_object_unref (e);
}

GST_END_TEST;

GST_START_TEST (test_not_time_segment)
{
  GstHarness *h = gst_harness_new ("leakyframepool");
  GstBus *bus = gst_bus_new ();
  GstSegment segment;
  GstMessage *msg;

  gst_element_set_bus (h->element, bus);
  gst_harness_set_src_caps_str (h, S16_MONO_16K);
  gst_segment_init (&segment, GST_FORMAT_BYTES);
  /* a sticky event: the push is reported as stored, the element refuses
   * it with an error */
  gst_harness_push_event (h, gst_event_new_segment (&segment));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  fail_unless (GST_MESSAGE_SRC (msg) == GST_OBJECT (h->element));
  gst_message_unref (msg);

  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

#define S16_STEREO_PLANAR "audio/x-raw,format=S16LE,rate=16000,channels=2," \
    "layout=non-interleaved"

/* Frames are cut from interleaved audio: the pads offer interleaved caps
 * only, and non-interleaved ones are refused at negotiation. */
GST_START_TEST (test_non_interleaved_refused)
{
  GstHarness *h = gst_harness_new ("leakyframepool");
  GstPad *sink = gst_element_get_static_pad (h->element, "sink");
  GstCaps *planar = gst_caps_from_string (S16_STEREO_PLANAR);
  GstCaps *caps = gst_pad_query_caps (sink, NULL);
  guint i;

  fail_if (gst_caps_is_empty (caps));
  for (i = 0; i < gst_caps_get_size (caps); i++)
    fail_unless_equals_string (gst_structure_get_string
        (gst_caps_get_structure (caps, i), "layout"), "interleaved");
  fail_if (gst_pad_query_accept_caps (sink, planar));

  gst_harness_set_src_caps (h, gst_caps_ref (planar));
  fail_unless_equals_int (gst_harness_push (h,
          gst_buffer_new_allocate (NULL, 4 * 160, NULL)),
      GST_FLOW_NOT_NEGOTIATED);
  fail_unless_equals_int (gst_harness_buffers_received (h), 0);

  gst_caps_unref (caps);
  gst_caps_unref (planar);
  gst_object_unref (sink);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Caps that get past the pad's check (an element feeding its event function
 * directly) are refused by the element itself with an error that says how
 * to fix the pipeline. */
GST_START_TEST (test_non_interleaved_setcaps_error)
{
  GstHarness *h = gst_harness_new ("leakyframepool");
  GstPad *sink = gst_element_get_static_pad (h->element, "sink");
  GstBus *bus = gst_bus_new ();
  GstCaps *planar = gst_caps_from_string (S16_STEREO_PLANAR);
  GstMessage *msg;
  GError *err = NULL;

  gst_element_set_bus (h->element, bus);
  fail_if (GST_PAD_EVENTFUNC (sink) (sink, GST_OBJECT (h->element),
          gst_event_new_caps (planar)));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  fail_unless (msg != NULL);
  gst_message_parse_error (msg, &err, NULL);
  fail_unless (g_error_matches (err, GST_CORE_ERROR,
          GST_CORE_ERROR_NEGOTIATION));
  fail_unless (strstr (err->message, "non-interleaved") != NULL, "%s",
      err->message);
  fail_unless (strstr (err->message, "audioconvert") != NULL, "%s",
      err->message);
  g_clear_error (&err);
  gst_message_unref (msg);

  gst_caps_unref (planar);
  gst_bus_set_flushing (bus, TRUE);
  gst_object_unref (bus);
  gst_object_unref (sink);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
leakyframepool_suite (void)
{
  Suite *s = suite_create ("leakyframepool");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_set_timeout (tc, 120);
  tcase_add_loop_test (tc, test_rechunk_sizes, 0, G_N_ELEMENTS (input_sizes));
  tcase_add_loop_test (tc, test_rechunk_no_timestamps, 0,
      G_N_ELEMENTS (input_sizes));
  tcase_add_loop_test (tc, test_formats, 0, G_N_ELEMENTS (formats));
  tcase_add_test (tc, test_frame_duration_wins);
  tcase_add_test (tc, test_drop_when_downstream_holds_every_frame);
  tcase_add_test (tc, test_drop_partial_slots);
  tcase_add_test (tc, test_pool_never_grows);
  tcase_add_test (tc, test_pool_replaces_unusable_frames);
  tcase_add_test (tc, test_flush);
  tcase_add_test (tc, test_caps_change);
  tcase_add_test (tc, test_eos_padding);
  tcase_add_test (tc, test_leaky_no_blocks);
  tcase_add_test (tc, test_gap);
  tcase_add_test (tc, test_resync);
  tcase_add_test (tc, test_segment_start);
  tcase_add_test (tc, test_stats_structure);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_not_time_segment);
  tcase_add_test (tc, test_non_interleaved_refused);
  tcase_add_test (tc, test_non_interleaved_setcaps_error);

  return s;
}

GST_CHECK_MAIN (leakyframepool);
