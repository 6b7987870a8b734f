/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * Unit tests of ackqueue and of the ack protocol helpers.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <valgrind/valgrind.h>

#include "gstsiometa.h"
#include "gstsioevents.h"

#define BUF_SIZE 100
#define BUF_DUR (10 * GST_MSECOND)

/* ---- helpers ------------------------------------------------------------ */

static GstPadProbeReturn
answer_ack_support (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstQuery *query = GST_PAD_PROBE_INFO_QUERY (info);

  if (gst_sio_ack_support_query_set_supported (query, TRUE))
    return GST_PAD_PROBE_HANDLED;
  return GST_PAD_PROBE_OK;
}

/* An ackqueue in a harness. With @acks, the harness sink plays a
 * protocol-aware sink: it answers the GstSioAckSupport query. */
static GstHarness *
setup (gboolean acks)
{
  GstHarness *h = gst_harness_new ("ackqueue");

  if (acks)
    gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
        answer_ack_support, NULL, NULL);
  gst_harness_set_src_caps_str (h, "application/x-test");
  return h;
}

/* buffer @i: BUF_SIZE bytes of value @i, pts i * 10 ms, 10 ms long */
static GstBuffer *
make_buf (guint i)
{
  GstBuffer *buf = gst_buffer_new_allocate (NULL, BUF_SIZE, NULL);

  gst_buffer_memset (buf, 0, (guint8) i, BUF_SIZE);
  GST_BUFFER_PTS (buf) = i * BUF_DUR;
  GST_BUFFER_DURATION (buf) = BUF_DUR;
  return buf;
}

static void
push_n (GstHarness * h, guint from, guint n)
{
  guint i;

  for (i = from; i < from + n; i++)
    fail_unless_equals_int (gst_harness_push (h, make_buf (i)), GST_FLOW_OK);
}

static guint
buf_id (GstBuffer * buf)
{
  guint8 b;

  fail_unless_equals_int (gst_buffer_extract (buf, 0, &b, 1), 1);
  return b;
}

/* pull one buffer and check which input it is, its seq and its flags */
static void
pull_check (GstHarness * h, guint id, guint64 seq, gboolean replay,
    gboolean discont)
{
  GstBuffer *buf = gst_harness_pull (h);
  GstSioSeqMeta *meta;

  fail_unless (buf != NULL);
  meta = gst_buffer_get_sio_seq_meta (buf);
  fail_unless (meta != NULL);
  fail_unless_equals_int (buf_id (buf), id);
  fail_unless_equals_uint64 (meta->seq, seq);
  fail_unless_equals_int (meta->replay, replay);
  fail_unless_equals_int (GST_BUFFER_FLAG_IS_SET (buf,
          GST_BUFFER_FLAG_DISCONT), discont);
  gst_buffer_unref (buf);
}

static void
pull_n (GstHarness * h, guint from, guint n)
{
  guint i;

  for (i = from; i < from + n; i++)
    pull_check (h, i, i, FALSE, FALSE);
}

static void
ack (GstHarness * h, guint64 seq)
{
  fail_unless (gst_harness_push_upstream_event (h,
          gst_sio_ack_event_new (seq)));
}

static void
replay (GstHarness * h, guint64 from_seq)
{
  fail_unless (gst_harness_push_upstream_event (h,
          gst_sio_replay_event_new (from_seq)));
}

static guint64
stat (GstHarness * h, const gchar * field)
{
  GstStructure *s;
  guint64 v = G_MAXUINT64;

  g_object_get (h->element, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "ackqueue-stats"));
  fail_unless (gst_structure_get_uint64 (s, field, &v), "no field %s", field);
  gst_structure_free (s);
  return v;
}

static gboolean
retaining (GstHarness * h)
{
  GstStructure *s;
  gboolean v = FALSE;

  g_object_get (h->element, "stats", &s, NULL);
  fail_unless (gst_structure_get_boolean (s, "retaining", &v));
  gst_structure_free (s);
  return v;
}

/* wait for the streaming thread to have pushed everything queued */
static void
wait_queue_empty (GstHarness * h)
{
  guint i;

  for (i = 0; i < 500 && stat (h, "queued-buffers") > 0; i++)
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
  fail_unless_equals_uint64 (stat (h, "queued-buffers"), 0);
}

static guint
level_buffers (GstHarness * h)
{
  guint v;

  g_object_get (h->element, "current-level-buffers", &v, NULL);
  return v;
}

static guint64
field (const GstStructure * s, const gchar * kind, const gchar * unit)
{
  gchar *name = g_strdup_printf ("%s-%s", kind, unit);
  guint64 v = G_MAXUINT64;

  fail_unless (gst_structure_get_uint64 (s, name, &v), "no field %s", name);
  g_free (name);
  return v;
}

/* Every buffer received is in exactly one place; first pushes end acked,
 * retained, passed, or dropped/flushed after the push. One snapshot: the
 * streaming thread may be moving buffers while we look. */
static void
check_stats_add_up (GstHarness * h)
{
  static const gchar *units[] = { "buffers", "bytes" };
  GstStructure *s;
  guint i;

  g_object_get (h->element, "stats", &s, NULL);
  for (i = 0; i < G_N_ELEMENTS (units); i++) {
    const gchar *u = units[i];
    guint64 retained = field (s, "retained", u), acked = field (s, "acked", u),
        passed = field (s, "passed", u);

    fail_unless_equals_uint64 (field (s, "received", u),
        field (s, "queued", u) + retained + acked + passed +
        field (s, "dropped", u) + field (s, "flushed", u));
    fail_unless (field (s, "pushed", u) >= retained + acked + passed);
  }
  gst_structure_free (s);
}

/* A blocking probe on the ackqueue's source pad: holds its streaming thread
 * inside a push. */
typedef struct
{
  GMutex lock;
  GCond cond;
  gboolean blocked;
  gulong id;
  GstPad *pad;
} Block;

static GstPadProbeReturn
block_cb (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Block *b = user_data;

  g_mutex_lock (&b->lock);
  b->blocked = TRUE;
  g_cond_broadcast (&b->cond);
  g_mutex_unlock (&b->lock);
  return GST_PAD_PROBE_OK;
}

static void
block_src (GstHarness * h, Block * b)
{
  g_mutex_init (&b->lock);
  g_cond_init (&b->cond);
  b->blocked = FALSE;
  b->pad = gst_element_get_static_pad (h->element, "src");
  b->id = gst_pad_add_probe (b->pad,
      GST_PAD_PROBE_TYPE_BLOCK | GST_PAD_PROBE_TYPE_BUFFER, block_cb, b, NULL);
}

static void
wait_blocked (Block * b)
{
  g_mutex_lock (&b->lock);
  while (!b->blocked)
    g_cond_wait (&b->cond, &b->lock);
  g_mutex_unlock (&b->lock);
}

static void
unblock_src (Block * b)
{
  gst_pad_remove_probe (b->pad, b->id);
  gst_object_unref (b->pad);
  g_mutex_clear (&b->lock);
  g_cond_clear (&b->cond);
}

/* A push from another thread, for pushes that block. */
typedef struct
{
  GstHarness *h;
  GstBuffer *buf;
  gint done;
  GstFlowReturn ret;
} Pusher;

static gpointer
pusher_func (gpointer data)
{
  Pusher *p = data;

  p->ret = gst_harness_push (p->h, p->buf);
  g_atomic_int_set (&p->done, 1);
  return NULL;
}

static GThread *
push_async (Pusher * p, GstHarness * h, GstBuffer * buf)
{
  p->h = h;
  p->buf = buf;
  p->done = 0;
  p->ret = GST_FLOW_CUSTOM_ERROR;
  return g_thread_new ("pusher", pusher_func, p);
}

/* the pusher is still blocked after a while */
static void
check_still_blocked (Pusher * p)
{
  g_usleep (100 * G_TIME_SPAN_MILLISECOND);
  fail_if (g_atomic_int_get (&p->done), "push should still be blocked");
}

static gboolean
expect_no_buffer (GstHarness * h)
{
  GstBuffer *buf;

  g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  buf = gst_harness_try_pull (h);
  if (buf) {
    gst_buffer_unref (buf);
    return FALSE;
  }
  return TRUE;
}

static GstBus *
attach_bus (GstHarness * h)
{
  GstBus *bus = gst_bus_new ();

  gst_element_set_bus (h->element, bus);
  return bus;
}

/* Pop the next error or warning (@type) within 10 s and check that its
 * message and debug text contain @message and @debug (either may be NULL);
 * returns the GError. */
static GError *
expect_message (GstBus * bus, GstMessageType type, const gchar * message,
    const gchar * debug)
{
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 10 * GST_SECOND, type);
  GError *err = NULL;
  gchar *dbg = NULL;

  fail_unless (msg != NULL, "no %s message", gst_message_type_get_name (type));
  if (type == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &err, &dbg);
  else
    gst_message_parse_warning (msg, &err, &dbg);
  fail_unless (message == NULL || strstr (err->message, message) != NULL,
      "%s", err->message);
  fail_unless (debug == NULL || (dbg && strstr (dbg, debug) != NULL), "%s",
      dbg);
  g_free (dbg);
  gst_message_unref (msg);
  return err;
}

/* What the harness sink receives, in order: "caps:V" (the caps' v field),
 * "seg:B" (the segment's base in ms), "buf:N" and "rep:N" (buffer N, first
 * push or replay). Written from the ackqueue's streaming thread. */
typedef struct
{
  GMutex lock;
  GPtrArray *entries;
} Log;

static GstPadProbeReturn
log_cb (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  Log *log = user_data;
  gchar *entry = NULL;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER (info);
    GstSioSeqMeta *meta = gst_buffer_get_sio_seq_meta (buf);

    entry = g_strdup_printf ("%s:%u", meta && meta->replay ? "rep" : "buf",
        buf_id (buf));
  } else if (info->type & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
    GstEvent *ev = GST_PAD_PROBE_INFO_EVENT (info);

    if (GST_EVENT_TYPE (ev) == GST_EVENT_CAPS) {
      GstCaps *caps;
      gint v = 0;

      gst_event_parse_caps (ev, &caps);
      gst_structure_get_int (gst_caps_get_structure (caps, 0), "v", &v);
      entry = g_strdup_printf ("caps:%d", v);
    } else if (GST_EVENT_TYPE (ev) == GST_EVENT_SEGMENT) {
      const GstSegment *seg;

      gst_event_parse_segment (ev, &seg);
      entry = g_strdup_printf ("seg:%" G_GUINT64_FORMAT,
          seg->base / GST_MSECOND);
    }
  }
  if (entry) {
    g_mutex_lock (&log->lock);
    g_ptr_array_add (log->entries, entry);
    g_mutex_unlock (&log->lock);
  }
  return GST_PAD_PROBE_OK;
}

static void
log_attach (GstHarness * h, Log * log)
{
  g_mutex_init (&log->lock);
  log->entries = g_ptr_array_new_with_free_func (g_free);
  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER |
      GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, log_cb, log, NULL);
}

/* A harness whose log sees everything, the first caps and segment too:
 * ackqueue's task forwards them as soon as they come. */
static GstHarness *
setup_logged (Log * log)
{
  GstHarness *h = gst_harness_new ("ackqueue");

  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM,
      answer_ack_support, NULL, NULL);
  log_attach (h, log);
  gst_harness_set_src_caps_str (h, "application/x-test");
  return h;
}

static void
log_free (Log * log)
{
  g_ptr_array_unref (log->entries);
  g_mutex_clear (&log->lock);
}

/* Wait up to 5 s for the log to hold as many entries as @expected (words
 * separated by spaces), check that they are those, and empty the log. */
static void
log_expect (Log * log, const gchar * expected)
{
  gchar **want = g_strsplit (expected, " ", -1);
  guint n = g_strv_length (want), i;
  gchar *got;

  for (i = 0; i < 500; i++) {
    g_mutex_lock (&log->lock);
    if (log->entries->len >= n) {
      g_mutex_unlock (&log->lock);
      break;
    }
    g_mutex_unlock (&log->lock);
    g_usleep (10 * G_TIME_SPAN_MILLISECOND);
  }
  /* and nothing more arrives */
  g_usleep (50 * G_TIME_SPAN_MILLISECOND);
  g_mutex_lock (&log->lock);
  g_ptr_array_add (log->entries, NULL);
  got = g_strjoinv (" ", (gchar **) log->entries->pdata);
  g_ptr_array_set_size (log->entries, 0);
  g_mutex_unlock (&log->lock);
  fail_unless_equals_string (got, expected);
  g_free (got);
  g_strfreev (want);
}

static void
drain_buffers (GstHarness * h, guint n)
{
  guint i;

  for (i = 0; i < n; i++)
    gst_buffer_unref (gst_harness_pull (h));
}

static void
push_caps (GstHarness * h, gint v)
{
  GstCaps *caps = gst_caps_new_simple ("application/x-test", "v", G_TYPE_INT,
      v, NULL);

  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps)));
  gst_caps_unref (caps);
}

static void
push_segment (GstHarness * h, GstClockTime base)
{
  GstSegment seg;

  gst_segment_init (&seg, GST_FORMAT_TIME);
  seg.base = base;
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&seg)));
}

/* the ackqueue's source pad (and so its peer) has caps v=@v, segment @base */
static void
check_sticky (GstHarness * h, gint v, GstClockTime base)
{
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  GstCaps *caps = gst_pad_get_current_caps (src);
  GstEvent *ev = gst_pad_get_sticky_event (src, GST_EVENT_SEGMENT, 0);
  const GstSegment *seg;
  gint got = 0;                 /* no v: 0, as in the log */

  fail_unless (caps != NULL);
  gst_structure_get_int (gst_caps_get_structure (caps, 0), "v", &got);
  fail_unless_equals_int (got, v);
  fail_unless (ev != NULL);
  gst_event_parse_segment (ev, &seg);
  fail_unless_equals_uint64 (seg->base, base);
  gst_event_unref (ev);
  gst_caps_unref (caps);
  gst_object_unref (src);
}

/* ---- protocol helpers --------------------------------------------------- */

GST_START_TEST (test_protocol_events)
{
  GstEvent *ev;
  GstQuery *q;
  guint64 v = 0;
  gboolean supported = TRUE;

  ev = gst_sio_ack_event_new (42);
  fail_unless_equals_int (GST_EVENT_TYPE (ev), GST_EVENT_CUSTOM_UPSTREAM);
  fail_if (GST_EVENT_IS_SERIALIZED (ev));
  fail_unless (gst_sio_ack_event_parse (ev, &v));
  fail_unless_equals_uint64 (v, 42);
  fail_if (gst_sio_replay_event_parse (ev, &v));
  gst_event_unref (ev);

  ev = gst_sio_replay_event_new (G_MAXUINT64);
  fail_unless (gst_sio_replay_event_parse (ev, &v));
  fail_unless_equals_uint64 (v, G_MAXUINT64);
  fail_unless (gst_sio_replay_event_parse (ev, NULL));
  fail_if (gst_sio_ack_event_parse (ev, &v));
  gst_event_unref (ev);

  /* not ours: wrong type, wrong name, missing field */
  ev = gst_event_new_eos ();
  fail_if (gst_sio_ack_event_parse (ev, &v));
  gst_event_unref (ev);
  ev = gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new_empty (GST_SIO_ACK_EVENT_NAME));
  v = 7;
  fail_if (gst_sio_ack_event_parse (ev, &v));
  fail_unless_equals_uint64 (v, 7);
  gst_event_unref (ev);
  ev = gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM,
      gst_structure_new (GST_SIO_ACK_EVENT_NAME, "seq", G_TYPE_UINT64,
          (guint64) 1, NULL));
  fail_if (gst_sio_ack_event_parse (ev, &v));
  gst_event_unref (ev);

  q = gst_sio_ack_support_query_new ();
  fail_if (GST_QUERY_IS_SERIALIZED (q));
  fail_unless (gst_sio_ack_support_query_parse (q, &supported));
  fail_if (supported);
  fail_unless (gst_sio_ack_support_query_set_supported (q, TRUE));
  fail_unless (gst_sio_ack_support_query_parse (q, &supported));
  fail_unless (supported);
  gst_query_unref (q);

  q = gst_query_new_drain ();
  fail_if (gst_sio_ack_support_query_parse (q, &supported));
  fail_if (gst_sio_ack_support_query_set_supported (q, TRUE));
  gst_query_unref (q);
}

GST_END_TEST;

GST_START_TEST (test_meta_copy)
{
  GstBuffer *buf = make_buf (1), *copy, *part;
  GstSioSeqMeta *meta;

  fail_unless (gst_buffer_get_sio_seq_meta (buf) == NULL);
  meta = gst_buffer_add_sio_seq_meta (buf, 99);
  fail_unless_equals_uint64 (meta->seq, 99);
  fail_if (meta->replay);
  meta->replay = TRUE;

  /* a full copy carries the meta and shares the memory */
  copy = gst_buffer_copy (buf);
  meta = gst_buffer_get_sio_seq_meta (copy);
  fail_unless (meta != NULL);
  fail_unless_equals_uint64 (meta->seq, 99);
  fail_unless (meta->replay);
  fail_unless (gst_buffer_peek_memory (copy, 0) ==
      gst_buffer_peek_memory (buf, 0));

  /* a part of a buffer is not the buffer the seq names */
  part = gst_buffer_copy_region (buf, GST_BUFFER_COPY_ALL, 10, 20);
  fail_unless (gst_buffer_get_sio_seq_meta (part) == NULL);

  gst_buffer_unref (part);
  gst_buffer_unref (copy);
  gst_buffer_unref (buf);
}

GST_END_TEST;

/* ---- element ------------------------------------------------------------ */

GST_START_TEST (test_properties)
{
  GstElement *q = gst_element_factory_make ("ackqueue", NULL);
  guint nbuf, bytes;
  guint64 time;
  gint leaky;
  GParamSpec *pspec;
  GstStructure *s;

  fail_unless (q != NULL);
  g_object_get (q, "max-size-buffers", &nbuf, "max-size-bytes", &bytes,
      "max-size-time", &time, "leaky", &leaky, NULL);
  fail_unless_equals_int (nbuf, 200);
  fail_unless_equals_int (bytes, 10 * 1024 * 1024);
  fail_unless_equals_uint64 (time, 5 * GST_SECOND);
  fail_unless_equals_int (leaky, 0);

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (q), "leaky");
  fail_unless_equals_string (g_type_name (pspec->value_type),
      "GstAckQueueLeaky");
  gst_util_set_object_arg (G_OBJECT (q), "leaky", "downstream");
  g_object_get (q, "leaky", &leaky, NULL);
  fail_unless_equals_int (leaky, 2);
  gst_util_set_object_arg (G_OBJECT (q), "leaky", "upstream");
  g_object_get (q, "leaky", &leaky, NULL);
  fail_unless_equals_int (leaky, 1);

  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (q), "stats");
  fail_if (pspec->flags & G_PARAM_WRITABLE);
  pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (q),
      "current-level-time");
  fail_if (pspec->flags & G_PARAM_WRITABLE);

  g_object_get (q, "stats", &s, NULL);
  fail_unless (gst_structure_has_name (s, "ackqueue-stats"));
  fail_unless (gst_structure_has_field (s, "pushed-buffers"));
  fail_unless (gst_structure_has_field (s, "dropped-bytes"));
  gst_structure_free (s);

  gst_object_unref (q);
}

GST_END_TEST;

GST_START_TEST (test_release_in_order)
{
  GstHarness *h = setup (TRUE);
  guint i;

  push_n (h, 0, 5);
  pull_n (h, 0, 5);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 5);
  fail_unless_equals_uint64 (stat (h, "retained-bytes"), 5 * BUF_SIZE);
  fail_unless_equals_int (level_buffers (h), 5);
  fail_unless (retaining (h));

  for (i = 0; i < 5; i++) {
    ack (h, i);
    fail_unless_equals_uint64 (stat (h, "retained-buffers"), 4 - i);
  }
  fail_unless_equals_int (level_buffers (h), 0);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 5);
  fail_unless_equals_uint64 (stat (h, "acked-bytes"), 5 * BUF_SIZE);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_release_out_of_order)
{
  GstHarness *h = setup (TRUE);

  push_n (h, 0, 5);
  pull_n (h, 0, 5);

  ack (h, 3);
  ack (h, 0);
  ack (h, 4);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 2);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 3);

  /* unknown and repeated acks are ignored */
  ack (h, 3);
  ack (h, 1000);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 2);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 3);

  /* 1 and 2 are what a replay now sends */
  replay (h, 0);
  pull_check (h, 1, 1, TRUE, FALSE);
  pull_check (h, 2, 2, TRUE, FALSE);

  ack (h, 2);
  ack (h, 1);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "acked-bytes"), 5 * BUF_SIZE);
  fail_unless_equals_int (level_buffers (h), 0);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_replay_order)
{
  GstHarness *h = setup (TRUE);
  GstBuffer *orig, *again;
  Block b;

  push_n (h, 0, 4);
  orig = gst_harness_pull (h);
  pull_n (h, 1, 3);
  ack (h, 0);

  /* hold the streaming thread in the push of buffer 4, with 5 queued
   * behind it: the replay request comes while new data waits */
  block_src (h, &b);
  push_n (h, 4, 2);
  wait_blocked (&b);
  replay (h, 1);
  unblock_src (&b);

  pull_check (h, 4, 4, FALSE, FALSE);
  /* the retained buffers from seq 1 on, in order, flagged, before new data */
  pull_check (h, 1, 1, TRUE, FALSE);
  pull_check (h, 2, 2, TRUE, FALSE);
  pull_check (h, 3, 3, TRUE, FALSE);
  pull_check (h, 4, 4, TRUE, FALSE);
  pull_check (h, 5, 5, FALSE, FALSE);
  fail_unless_equals_uint64 (stat (h, "replayed-buffers"), 4);
  fail_unless_equals_uint64 (stat (h, "replayed-bytes"), 4 * BUF_SIZE);
  fail_unless_equals_uint64 (stat (h, "pushed-buffers"), 6);

  /* a replayed buffer is a new buffer sharing the retained memory */
  replay (h, 0);
  again = gst_harness_pull (h);
  fail_unless_equals_int (buf_id (again), 1);
  fail_unless (gst_buffer_get_sio_seq_meta (again)->replay);
  fail_if (gst_buffer_get_sio_seq_meta (orig)->replay);
  pull_check (h, 2, 2, TRUE, FALSE);
  pull_check (h, 3, 3, TRUE, FALSE);
  pull_check (h, 4, 4, TRUE, FALSE);
  pull_check (h, 5, 5, TRUE, FALSE);
  fail_unless (expect_no_buffer (h));
  gst_buffer_unref (again);
  gst_buffer_unref (orig);

  /* a replay past everything pushes nothing */
  replay (h, 100);
  fail_unless (expect_no_buffer (h));
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_existing_meta_renumbered)
{
  GstHarness *h = setup (TRUE);
  GstBuffer *buf = make_buf (0);
  GstSioSeqMeta *meta = gst_buffer_add_sio_seq_meta (buf, 77);

  meta->replay = TRUE;
  fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  pull_check (h, 0, 0, FALSE, FALSE);
  ack (h, 77);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 1);
  ack (h, 0);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

typedef enum
{
  BOUND_BUFFERS,
  BOUND_BYTES,
  BOUND_TIME
} Bound;

/* an ackqueue holding three retained buffers, full at @bound */
static GstHarness *
setup_full (Bound bound, const gchar * leaky)
{
  GstHarness *h = setup (TRUE);

  g_object_set (h->element, "max-size-buffers", 0, "max-size-bytes", 0,
      "max-size-time", (guint64) 0, NULL);
  switch (bound) {
    case BOUND_BUFFERS:
      g_object_set (h->element, "max-size-buffers", 3, NULL);
      break;
    case BOUND_BYTES:
      g_object_set (h->element, "max-size-bytes", 3 * BUF_SIZE, NULL);
      break;
    case BOUND_TIME:
      g_object_set (h->element, "max-size-time", 3 * BUF_DUR, NULL);
      break;
  }
  gst_util_set_object_arg (G_OBJECT (h->element), "leaky", leaky);

  push_n (h, 0, 3);
  pull_n (h, 0, 3);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 3);
  return h;
}

static void
check_leaky_no (Bound bound)
{
  GstHarness *h = setup_full (bound, "no");
  Pusher p;
  GThread *t;

  /* full of retained buffers: upstream blocks until an ack makes room */
  t = push_async (&p, h, make_buf (3));
  check_still_blocked (&p);
  ack (h, 1);
  g_thread_join (t);
  fail_unless_equals_int (p.ret, GST_FLOW_OK);
  pull_check (h, 3, 3, FALSE, FALSE);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 3);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

static void
check_leaky_upstream (Bound bound)
{
  GstHarness *h = setup_full (bound, "upstream");
  GstBus *bus = attach_bus (h);
  GstMessage *msg;
  guint64 processed, dropped;
  GstFormat fmt;

  /* the new buffer is dropped, counted, announced */
  push_n (h, 3, 1);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 1);
  fail_unless_equals_uint64 (stat (h, "dropped-bytes"), BUF_SIZE);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 3);
  fail_unless (expect_no_buffer (h));
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_QOS);
  fail_unless (msg != NULL);
  gst_message_parse_qos_stats (msg, &fmt, &processed, &dropped);
  fail_unless_equals_int (fmt, GST_FORMAT_BUFFERS);
  fail_unless_equals_uint64 (processed, 3);
  fail_unless_equals_uint64 (dropped, 1);
  gst_message_unref (msg);

  /* the next buffer after the gap is DISCONT; seq numbers have no gap */
  ack (h, 0);
  push_n (h, 4, 1);
  pull_check (h, 4, 3, FALSE, TRUE);
  push_n (h, 5, 1);             /* full again: dropped */
  ack (h, 1);
  push_n (h, 6, 1);
  pull_check (h, 6, 4, FALSE, TRUE);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 2);
  check_stats_add_up (h);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

static void
check_leaky_downstream (Bound bound)
{
  GstHarness *h = setup_full (bound, "downstream");
  GstBus *bus = attach_bus (h);
  GstMessage *msg;

  /* the oldest buffer held (retained seq 0) makes room for the new one */
  push_n (h, 3, 1);
  pull_check (h, 3, 3, FALSE, TRUE);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 1);
  fail_unless_equals_uint64 (stat (h, "dropped-bytes"), BUF_SIZE);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 3);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_QOS);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  /* seq 0 is gone: an ack for it is ignored, a replay from it sends the
   * rest and warns that data was lost */
  ack (h, 0);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 0);
  replay (h, 0);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_WARNING);
  fail_unless (msg != NULL);
  gst_message_unref (msg);
  pull_check (h, 1, 1, TRUE, FALSE);
  pull_check (h, 2, 2, TRUE, FALSE);
  pull_check (h, 3, 3, TRUE, TRUE);
  check_stats_add_up (h);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_START_TEST (test_leaky_no_buffers)
{
  check_leaky_no (BOUND_BUFFERS);
}

GST_END_TEST;

GST_START_TEST (test_leaky_no_bytes)
{
  check_leaky_no (BOUND_BYTES);
}

GST_END_TEST;

GST_START_TEST (test_leaky_no_time)
{
  check_leaky_no (BOUND_TIME);
}

GST_END_TEST;

GST_START_TEST (test_leaky_upstream_buffers)
{
  check_leaky_upstream (BOUND_BUFFERS);
}

GST_END_TEST;

GST_START_TEST (test_leaky_upstream_bytes)
{
  check_leaky_upstream (BOUND_BYTES);
}

GST_END_TEST;

GST_START_TEST (test_leaky_upstream_time)
{
  check_leaky_upstream (BOUND_TIME);
}

GST_END_TEST;

GST_START_TEST (test_leaky_downstream_buffers)
{
  check_leaky_downstream (BOUND_BUFFERS);
}

GST_END_TEST;

GST_START_TEST (test_leaky_downstream_bytes)
{
  check_leaky_downstream (BOUND_BYTES);
}

GST_END_TEST;

GST_START_TEST (test_leaky_downstream_time)
{
  check_leaky_downstream (BOUND_TIME);
}

GST_END_TEST;

/* Retained buffers are older than queued ones: they go first; queued ones
 * only when nothing is retained. Events between dropped buffers stay. */
GST_START_TEST (test_leaky_downstream_oldest_first)
{
  GstHarness *h = setup (TRUE);
  GstCaps *caps2 = gst_caps_from_string ("application/x-test, v=(int)2");
  GstCaps *current;
  Block b;

  g_object_set (h->element, "max-size-buffers", 4, NULL);
  gst_util_set_object_arg (G_OBJECT (h->element), "leaky", "downstream");

  push_n (h, 0, 2);
  pull_n (h, 0, 2);
  block_src (h, &b);
  push_n (h, 2, 1);
  wait_blocked (&b);            /* 2 is retained, in its push */
  push_n (h, 3, 1);             /* queued */
  fail_unless (gst_harness_push_event (h, gst_event_new_caps (caps2)));
  fail_unless_equals_int (level_buffers (h), 4);

  push_n (h, 4, 1);             /* drops retained 0 */
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 2);
  fail_unless_equals_uint64 (stat (h, "queued-buffers"), 2);
  push_n (h, 5, 1);             /* drops retained 1 */
  push_n (h, 6, 1);             /* drops retained 2, still in its push */
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "queued-buffers"), 4);
  push_n (h, 7, 1);             /* nothing retained: drops queued 3 */
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 4);
  fail_unless_equals_uint64 (stat (h, "queued-buffers"), 4);
  fail_unless_equals_int (level_buffers (h), 4);
  check_stats_add_up (h);

  unblock_src (&b);
  pull_check (h, 2, 2, FALSE, FALSE);
  pull_check (h, 4, 3, FALSE, TRUE);
  /* the caps queued after 3 survived its drop */
  current = gst_pad_get_current_caps (h->sinkpad);
  fail_unless (gst_caps_is_equal (current, caps2));
  gst_caps_unref (current);
  pull_check (h, 5, 4, FALSE, FALSE);
  pull_check (h, 6, 5, FALSE, FALSE);
  pull_check (h, 7, 6, FALSE, FALSE);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 4);
  check_stats_add_up (h);

  gst_caps_unref (caps2);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Buffers without a duration count for the distance between timestamps. */
GST_START_TEST (test_time_level_from_timestamps)
{
  GstHarness *h = setup (TRUE);
  guint64 time;
  guint i;

  for (i = 0; i < 4; i++) {
    GstBuffer *buf = make_buf (i);

    GST_BUFFER_DURATION (buf) = GST_CLOCK_TIME_NONE;
    fail_unless_equals_int (gst_harness_push (h, buf), GST_FLOW_OK);
  }
  pull_n (h, 0, 4);
  g_object_get (h->element, "current-level-time", &time, NULL);
  fail_unless_equals_uint64 (time, 3 * BUF_DUR);
  ack (h, 1);
  g_object_get (h->element, "current-level-time", &time, NULL);
  fail_unless_equals_uint64 (time, 2 * BUF_DUR);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Lowering a bound with leaky=downstream makes room at once. */
GST_START_TEST (test_shrink_bound)
{
  GstHarness *h = setup (TRUE);

  gst_util_set_object_arg (G_OBJECT (h->element), "leaky", "downstream");
  push_n (h, 0, 5);
  pull_n (h, 0, 5);
  g_object_set (h->element, "max-size-buffers", 3, NULL);
  /* full means level >= max: room for one more is kept */
  fail_unless_equals_int (level_buffers (h), 2);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 3);
  replay (h, 0);
  pull_check (h, 3, 3, TRUE, TRUE);
  pull_check (h, 4, 4, TRUE, FALSE);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_blocked_push_interrupted_by_flush)
{
  GstHarness *h = setup_full (BOUND_BUFFERS, "no");
  Pusher p;
  GThread *t;

  t = push_async (&p, h, make_buf (3));
  check_still_blocked (&p);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  g_thread_join (t);
  fail_unless_equals_int (p.ret, GST_FLOW_FLUSHING);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "flushed-buffers"), 3);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_blocked_push_interrupted_by_stop)
{
  GstHarness *h = setup_full (BOUND_BUFFERS, "no");
  Pusher p;
  GThread *t;

  t = push_async (&p, h, make_buf (3));
  check_still_blocked (&p);
  fail_unless_equals_int (gst_element_set_state (h->element,
          GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  g_thread_join (t);
  fail_unless_equals_int (p.ret, GST_FLOW_FLUSHING);
  /* going to READY releases everything */
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "flushed-buffers"), 3);
  fail_unless_equals_int (level_buffers (h), 0);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_flush_during_replay)
{
  GstHarness *h = setup (TRUE);
  GstSegment segment;
  GstBuffer *buf;
  Block b;

  push_n (h, 0, 5);
  pull_n (h, 0, 5);

  block_src (h, &b);
  replay (h, 0);
  wait_blocked (&b);            /* the replay of seq 0 is in its push */

  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  unblock_src (&b);

  /* flushing discarded the retained buffers and ended the replay */
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "flushed-buffers"), 5);
  fail_unless_equals_uint64 (stat (h, "replayed-buffers"), 1);
  fail_unless_equals_int (level_buffers (h), 0);
  while ((buf = gst_harness_try_pull (h)))
    gst_buffer_unref (buf);
  fail_unless (expect_no_buffer (h));

  /* new data after the flush: numbering goes on, nothing is replayed */
  gst_segment_init (&segment, GST_FORMAT_TIME);
  fail_unless (gst_harness_push_event (h, gst_event_new_segment (&segment)));
  push_n (h, 5, 1);
  pull_check (h, 5, 5, FALSE, FALSE);
  fail_unless (expect_no_buffer (h));
  ack (h, 0);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 0);
  ack (h, 5);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 1);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A replay never labels old buffers with newer caps: each goes out after
 * the caps it was first pushed with, and the newest caps are current again
 * before new data. */
GST_START_TEST (test_replay_across_caps_change)
{
  Log log;
  GstHarness *h = setup_logged (&log);

  push_caps (h, 1);
  push_n (h, 0, 2);
  drain_buffers (h, 2);
  push_caps (h, 2);
  push_n (h, 2, 2);
  drain_buffers (h, 2);
  log_expect (&log, "caps:0 seg:0 caps:1 buf:0 buf:1 caps:2 buf:2 buf:3");

  replay (h, 0);
  drain_buffers (h, 4);
  log_expect (&log, "caps:1 rep:0 rep:1 caps:2 rep:2 rep:3");
  check_sticky (h, 2, 0);

  /* a replay within the current caps sends no caps */
  replay (h, 2);
  drain_buffers (h, 2);
  log_expect (&log, "rep:2 rep:3");

  /* caps that changed after the last retained buffer are sent again at
   * the end of the replay */
  push_caps (h, 3);
  log_expect (&log, "caps:3");
  replay (h, 1);
  drain_buffers (h, 3);
  log_expect (&log, "caps:1 rep:1 caps:2 rep:2 rep:3 caps:3");
  check_sticky (h, 3, 0);
  push_n (h, 4, 1);
  drain_buffers (h, 1);
  log_expect (&log, "buf:4");

  check_stats_add_up (h);
  gst_harness_teardown (h);
  log_free (&log);
}

GST_END_TEST;

/* The same for segments, and for caps and segment changed together: caps
 * first, as GStreamer orders sticky events. */
GST_START_TEST (test_replay_across_segment_change)
{
  Log log;
  GstHarness *h = setup_logged (&log);

  push_n (h, 0, 2);
  drain_buffers (h, 2);
  push_segment (h, GST_SECOND);
  push_n (h, 2, 2);
  drain_buffers (h, 2);
  log_expect (&log, "caps:0 seg:0 buf:0 buf:1 seg:1000 buf:2 buf:3");

  replay (h, 0);
  drain_buffers (h, 4);
  log_expect (&log, "seg:0 rep:0 rep:1 seg:1000 rep:2 rep:3");
  check_sticky (h, 0, GST_SECOND);

  push_segment (h, 2 * GST_SECOND);
  log_expect (&log, "seg:2000");
  replay (h, 2);
  drain_buffers (h, 2);
  log_expect (&log, "seg:1000 rep:2 rep:3 seg:2000");
  check_sticky (h, 0, 2 * GST_SECOND);

  push_caps (h, 1);
  push_segment (h, 3 * GST_SECOND);
  push_n (h, 4, 1);
  drain_buffers (h, 1);
  log_expect (&log, "caps:1 seg:3000 buf:4");
  replay (h, 1);
  drain_buffers (h, 4);
  log_expect (&log,
      "caps:0 seg:0 rep:1 seg:1000 rep:2 rep:3 caps:1 seg:3000 rep:4");
  check_sticky (h, 1, 3 * GST_SECOND);

  check_stats_add_up (h);
  gst_harness_teardown (h);
  log_free (&log);
}

GST_END_TEST;

/* A downstream that no longer accepts the old format refuses it on the
 * replay: those buffers are dropped, counted and announced, the others are
 * replayed, and the current caps stay. */
GST_START_TEST (test_replay_old_caps_refused)
{
  GstHarness *h = setup (TRUE);
  GstBus *bus = attach_bus (h);
  GstMessage *msg;
  GError *err = NULL;

  push_caps (h, 1);
  push_n (h, 0, 2);
  drain_buffers (h, 2);
  push_caps (h, 2);
  push_n (h, 2, 2);
  drain_buffers (h, 2);
  gst_harness_set_sink_caps_str (h, "application/x-test, v=(int)2");

  replay (h, 0);
  pull_check (h, 2, 2, TRUE, TRUE);
  pull_check (h, 3, 3, TRUE, FALSE);
  fail_unless_equals_uint64 (stat (h, "dropped-buffers"), 2);
  fail_unless_equals_uint64 (stat (h, "replayed-buffers"), 2);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 2);
  check_sticky (h, 2, 0);

  err = expect_message (bus, GST_MESSAGE_WARNING, "format", NULL);
  g_clear_error (&err);
  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_QOS);
  fail_unless (msg != NULL);
  gst_message_unref (msg);

  /* new data flows on */
  push_n (h, 4, 1);
  pull_check (h, 4, 4, FALSE, FALSE);
  check_stats_add_up (h);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

GST_START_TEST (test_eos)
{
  GstHarness *h = setup (TRUE);
  GstEvent *ev;

  push_n (h, 0, 3);
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  pull_n (h, 0, 3);

  /* EOS goes downstream after all data */
  do {
    ev = gst_harness_pull_event (h);
    fail_unless (ev != NULL);
    if (GST_EVENT_TYPE (ev) == GST_EVENT_EOS) {
      gst_event_unref (ev);
      break;
    }
    gst_event_unref (ev);
  } while (TRUE);

  /* no more data after EOS; retained data stays until acked */
  fail_unless_equals_int (gst_harness_push (h, make_buf (3)), GST_FLOW_EOS);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 3);
  replay (h, 0);                /* impossible after EOS: ignored */
  fail_unless (expect_no_buffer (h));
  ack (h, 0);
  ack (h, 2);
  ack (h, 1);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 3);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Flush events that cannot go downstream are reported failed to upstream,
 * as queue does; the ackqueue flushes all the same. */
GST_START_TEST (test_flush_not_forwarded)
{
  GstHarness *h = setup (TRUE);
  GstPad *src = gst_element_get_static_pad (h->element, "src");

  push_n (h, 0, 2);
  pull_n (h, 0, 2);
  fail_unless (gst_pad_unlink (src, h->sinkpad));
  fail_if (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_if (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  fail_unless_equals_uint64 (stat (h, "flushed-buffers"), 2);
  fail_unless_equals_int (gst_pad_link (src, h->sinkpad), GST_PAD_LINK_OK);
  check_stats_add_up (h);
  gst_object_unref (src);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* EOS that cannot go downstream would leave the application waiting for
 * an EOS message forever: upstream has finished and will not report it, so
 * the ackqueue posts the error. */
GST_START_TEST (test_eos_not_linked)
{
  GstHarness *h = setup (TRUE);
  GstPad *src = gst_element_get_static_pad (h->element, "src");
  GstBus *bus = attach_bus (h);
  GError *err = NULL;

  fail_unless (gst_pad_unlink (src, h->sinkpad));
  fail_unless (gst_harness_push_event (h, gst_event_new_eos ()));
  err = expect_message (bus, GST_MESSAGE_ERROR, "link its source pad",
      "not-linked");
  g_clear_error (&err);

  fail_unless_equals_int (gst_pad_link (src, h->sinkpad), GST_PAD_LINK_OK);
  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_object_unref (src);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A sink that does not answer the GstSioAckSupport query never acks: the
 * ackqueue must act as a plain queue and keep nothing. */
GST_START_TEST (test_plain_downstream)
{
  GstHarness *h = setup (FALSE);

  g_object_set (h->element, "max-size-buffers", 2, NULL);
  push_n (h, 0, 10);
  pull_n (h, 0, 10);
  fail_unless_equals_uint64 (stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "passed-buffers"), 10);
  fail_if (retaining (h));
  fail_unless_equals_uint64 (stat (h, "passed-bytes"), 10 * BUF_SIZE);
  fail_unless_equals_uint64 (stat (h, "pushed-buffers"), 10);
  fail_unless_equals_int (level_buffers (h), 0);

  ack (h, 3);
  replay (h, 0);
  fail_unless (expect_no_buffer (h));
  fail_unless_equals_uint64 (stat (h, "acked-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "replayed-buffers"), 0);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* An ackqueue consumes the acks of what is downstream of it: asked by an
 * element upstream, it says it will not acknowledge. */
GST_START_TEST (test_ackqueue_does_not_claim_acks)
{
  GstElement *q = gst_element_factory_make ("ackqueue", NULL);
  GstPad *sink = gst_element_get_static_pad (q, "sink");
  GstQuery *query = gst_sio_ack_support_query_new ();
  gboolean supported = TRUE;

  fail_unless (gst_pad_query (sink, query));
  fail_unless (gst_sio_ack_support_query_parse (query, &supported));
  fail_if (supported);

  gst_query_unref (query);
  gst_object_unref (sink);
  gst_object_unref (q);
}

GST_END_TEST;

/* Serialized queries wait their turn behind the data and get answered. */
GST_START_TEST (test_serialized_query)
{
  GstHarness *h = setup (TRUE);
  GstQuery *query;

  push_n (h, 0, 3);
  query = gst_query_new_drain ();
  fail_unless (gst_pad_peer_query (h->srcpad, query));
  gst_query_unref (query);
  pull_n (h, 0, 3);
  gst_harness_teardown (h);
}

GST_END_TEST;

static GstPadProbeReturn
fail_buffers (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  gst_buffer_unref (GST_PAD_PROBE_INFO_BUFFER (info));
  GST_PAD_PROBE_INFO_FLOW_RETURN (info) = GST_FLOW_ERROR;
  return GST_PAD_PROBE_HANDLED;
}

/* Downstream fails while upstream has finished: nobody upstream will report
 * it, so the ackqueue posts the error, once. */
GST_START_TEST (test_downstream_error_after_eos)
{
  GstHarness *h = setup (TRUE);
  GstBus *bus = attach_bus (h);
  GError *err = NULL;

  gst_pad_add_probe (h->sinkpad, GST_PAD_PROBE_TYPE_BUFFER, fail_buffers,
      NULL, NULL);
  push_n (h, 0, 1);
  gst_harness_push_event (h, gst_event_new_eos ());

  err = expect_message (bus, GST_MESSAGE_ERROR, NULL, "error");
  fail_unless (g_error_matches (err, GST_STREAM_ERROR,
          GST_STREAM_ERROR_FAILED));
  g_clear_error (&err);
  fail_unless (gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR) == NULL);

  gst_element_set_bus (h->element, NULL);
  gst_object_unref (bus);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* A mixed run: every counter keeps adding up. */
GST_START_TEST (test_stats_add_up)
{
  GstHarness *h = setup (TRUE);
  GstBuffer *buf;
  guint i;

  g_object_set (h->element, "max-size-buffers", 6, NULL);
  gst_util_set_object_arg (G_OBJECT (h->element), "leaky", "downstream");

  push_n (h, 0, 10);            /* at least 4 dropped */
  wait_queue_empty (h);
  while ((buf = gst_harness_try_pull (h)))
    gst_buffer_unref (buf);
  for (i = 0; i < 10; i += 3)
    ack (h, i);
  ack (h, stat (h, "next-seq") - 1);
  check_stats_add_up (h);
  replay (h, 0);
  push_n (h, 10, 3);
  check_stats_add_up (h);
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_start ()));
  fail_unless (gst_harness_push_event (h, gst_event_new_flush_stop (TRUE)));
  check_stats_add_up (h);
  fail_unless_equals_uint64 (stat (h, "queued-buffers") +
      stat (h, "retained-buffers"), 0);
  fail_unless_equals_uint64 (stat (h, "received-buffers"), 13);
  fail_unless (stat (h, "dropped-buffers") > 0);
  fail_unless (stat (h, "acked-buffers") > 0);
  gst_harness_teardown (h);
}

GST_END_TEST;

/* Stats, levels and acks from other threads while the element stops and
 * starts with buffers retained: no deadlock (the test would time out), no
 * use of freed items (valgrind setup), and the counters add up. */
typedef struct
{
  GstHarness *h;
  gint stop;
} Reader;

static gpointer
reader_func (gpointer data)
{
  Reader *r = data;
  guint64 seq = 0;

  while (!g_atomic_int_get (&r->stop)) {
    GstStructure *s;
    guint level;

    g_object_get (r->h->element, "stats", &s, "current-level-buffers",
        &level, NULL);
    gst_structure_free (s);
    /* refused while the pads are inactive */
    gst_pad_push_event (r->h->sinkpad, gst_sio_ack_event_new (seq++ % 8));
    /* valgrind runs one thread at a time: a reader that never blocks can
     * hold the stopping thread up for minutes */
    if (RUNNING_ON_VALGRIND)
      g_usleep (200);
  }
  return NULL;
}

GST_START_TEST (test_stats_during_stop)
{
  GstHarness *h = setup (TRUE);
  Reader r = { h, 0 };
  GThread *t = g_thread_new ("reader", reader_func, &r);
  guint i;

  for (i = 0; i < 50; i++) {
    push_n (h, 0, 4);
    replay (h, 0);
    fail_unless_equals_int (gst_element_set_state (h->element,
            GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    fail_unless_equals_int (gst_element_set_state (h->element,
            GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    gst_harness_set_src_caps_str (h, "application/x-test");
  }
  g_atomic_int_set (&r.stop, 1);
  g_thread_join (t);
  check_stats_add_up (h);
  gst_harness_teardown (h);
}

GST_END_TEST;

static Suite *
ackqueue_suite (void)
{
  Suite *s = suite_create ("ackqueue");
  TCase *tc = tcase_create ("general");

  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_protocol_events);
  tcase_add_test (tc, test_meta_copy);
  tcase_add_test (tc, test_properties);
  tcase_add_test (tc, test_release_in_order);
  tcase_add_test (tc, test_release_out_of_order);
  tcase_add_test (tc, test_replay_order);
  tcase_add_test (tc, test_existing_meta_renumbered);
  tcase_add_test (tc, test_leaky_no_buffers);
  tcase_add_test (tc, test_leaky_no_bytes);
  tcase_add_test (tc, test_leaky_no_time);
  tcase_add_test (tc, test_leaky_upstream_buffers);
  tcase_add_test (tc, test_leaky_upstream_bytes);
  tcase_add_test (tc, test_leaky_upstream_time);
  tcase_add_test (tc, test_leaky_downstream_buffers);
  tcase_add_test (tc, test_leaky_downstream_bytes);
  tcase_add_test (tc, test_leaky_downstream_time);
  tcase_add_test (tc, test_leaky_downstream_oldest_first);
  tcase_add_test (tc, test_time_level_from_timestamps);
  tcase_add_test (tc, test_shrink_bound);
  tcase_add_test (tc, test_blocked_push_interrupted_by_flush);
  tcase_add_test (tc, test_blocked_push_interrupted_by_stop);
  tcase_add_test (tc, test_flush_during_replay);
  tcase_add_test (tc, test_replay_across_caps_change);
  tcase_add_test (tc, test_replay_across_segment_change);
  tcase_add_test (tc, test_replay_old_caps_refused);
  tcase_add_test (tc, test_eos);
  tcase_add_test (tc, test_flush_not_forwarded);
  tcase_add_test (tc, test_eos_not_linked);
  tcase_add_test (tc, test_plain_downstream);
  tcase_add_test (tc, test_ackqueue_does_not_claim_acks);
  tcase_add_test (tc, test_serialized_query);
  tcase_add_test (tc, test_stats_add_up);
  tcase_add_test (tc, test_downstream_error_after_eos);
  tcase_add_test (tc, test_stats_during_stop);
  return s;
}

GST_CHECK_MAIN (ackqueue);
