/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-ackqueue
 * @title: ackqueue
 * @see_also: queue, socketiosink
 *
 * ackqueue is a queue that keeps what it sent until it is acknowledged.
 *
 * Like queue, it decouples its two sides with a streaming thread of its own
 * on the source pad, and it is bounded by #GstAckQueue:max-size-buffers,
 * #GstAckQueue:max-size-bytes and #GstAckQueue:max-size-time;
 * #GstAckQueue:leaky says what happens when it is full. Unlike queue, a
 * buffer does not leave the ackqueue when it is pushed: it is *retained*
 * until downstream sends a GstSioAck event for it, and a GstSioReplay event
 * makes the ackqueue push every retained buffer again. Together with
 * socketiosink this gives at-least-once delivery across reconnections. The protocol (the
 * GstSioSeqMeta on each buffer, the events and the GstSioAckSupport query)
 * is described in gstsioevents.h and gstsiometa.h.
 *
 * ## Sequence numbers
 *
 * Every buffer pushed for the first time gets the next sequence number,
 * starting at 0 when the element is created and never reset, in a
 * GstSioSeqMeta (replay %FALSE). A buffer that arrives with a GstSioSeqMeta
 * already (from another ackqueue upstream, say) is renumbered: the seq
 * always names this element's own buffers, the only ones its acks can
 * release. Numbers are given when a buffer is pushed, so buffers dropped
 * before they were ever pushed use none.
 *
 * The buffers pushed are shared with the ackqueue while it retains them, so
 * they are not writable downstream; an in-place element placed after the
 * ackqueue makes a copy.
 *
 * ## Retention is negotiated
 *
 * Before it pushes its first buffer (after each start, flush and RECONFIGURE
 * event) the ackqueue sends a GstSioAckSupport query downstream. Only if a
 * sink answers %TRUE does it retain buffers; otherwise (a fakesink, a
 * filesink, an unlinked pad) it behaves like a plain queue, keeps nothing
 * and ignores acks. If a later answer is %FALSE, what was retained is let go
 * (counted as passed).
 *
 * ## Replays
 *
 * On a GstSioReplay with from-seq N (sent from any thread), the streaming
 * thread pushes again, in seq order and before any new data, every retained
 * buffer whose seq is N or more: a shallow copy (same memory) whose meta has
 * replay %TRUE. A new request during a replay restarts it from its own
 * from-seq.
 *
 * A replay never labels old data with a newer format or segment: each
 * retained buffer keeps the caps and segment events it was first pushed
 * with, and before pushing it again the ackqueue pushes those where the
 * pad has others (caps before segment), so every change between the
 * retained buffers is sent again in order. At the end of the replay the
 * caps and segment of new data are pushed again, so the pad's sticky
 * events are current before any new buffer. A replayed buffer whose format
 * downstream no longer accepts (not-negotiated) is dropped, counted in
 * dropped-* and announced with a warning; the replay goes on.
 *
 * DISCONT never causes a replay. After EOS has gone downstream no
 * replay is possible (the downstream pad refuses data after EOS); acks still
 * release buffers.
 *
 * ## Bounds and leaks
 *
 * The limits count queued plus retained buffers; 0 disables a limit. The time
 * of a buffer is its duration, or, when it has none, the distance from the
 * previous buffer's timestamp. When an incoming buffer finds the ackqueue
 * full:
 *
 * * leaky=no (default) blocks upstream until acks (or pushes, when nothing
 *   is retained) make room. This is acknowledgement-driven backpressure:
 *   the wait ends on flushing or when the element stops.
 * * leaky=upstream drops the incoming buffer.
 * * leaky=downstream drops the oldest buffers held until there is room. The
 *   oldest buffer held overall is always a retained one when there are any:
 *   every retained buffer was pushed before any queued buffer arrived at the
 *   head of the queue. Dropping it also loses the least: it was delivered
 *   once already and is only lost if the connection fails before its ack;
 *   a queued buffer has never been delivered at all. Queued buffers go only
 *   when nothing is retained. Events and queries are never dropped, so caps,
 *   segments and tags keep their place.
 *
 * Every dropped buffer is counted in #GstAckQueue:stats, announced with a QoS
 * message, and the first buffer pushed after the gap carries DISCONT: the
 * next buffer pushed (first push or replay) after a leak downstream, the next
 * incoming buffer after a leak upstream. A DISCONT after a retained buffer was
 * dropped is conservative: downstream did receive that buffer, but can no
 * longer get it again. A replay request covering dropped data posts a warning.
 *
 * ## Flushing, EOS and state changes
 *
 * A flush (flush-start/flush-stop, as after a seek) discards queued and
 * retained buffers alike and cancels a replay: the data before a flush is no
 * longer wanted. They are counted as flushed, not dropped (nothing was lost
 * for lack of room). Sticky events queued are kept, as queue does; a flush
 * event that cannot go downstream is reported failed to upstream, as queue
 * does, and the ackqueue flushes all the same. An EOS that cannot go
 * downstream because nothing is linked posts an error (upstream finished
 * and will not report it), rather than leaving the application waiting
 * for an EOS message. EOS is
 * queued and pushed after all data; retained buffers stay until acked
 * (socketiosink waits for its acks on EOS). Going to READY or NULL releases
 * everything (counted as flushed). Sequence numbers and #GstAckQueue:stats
 * cover the whole life of the element.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=S16LE,rate=16000,channels=1 ! \
 *     leakyframepool ! ackqueue max-size-time=5000000000 leaky=downstream ! \
 *     socketiosink location=http://127.0.0.1:5000 event=audio_data
 * ]| Streams the microphone to a Socket.IO server; up to 5 s of audio the
 * server has not acknowledged is kept and sent again after a reconnection.
 * |[
 * gst-launch-1.0 audiotestsrc num-buffers=100 ! ackqueue ! fakesink
 * ]| fakesink does not acknowledge buffers: ackqueue acts as a plain queue.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <glib/gi18n-lib.h>

#include "gstackqueue.h"
#include "gstsiometa.h"
#include "gstsioevents.h"
#include "gstsocketioelements.h"

GST_DEBUG_CATEGORY_STATIC (ack_queue_debug);
#define GST_CAT_DEFAULT ack_queue_debug

#define DEFAULT_MAX_SIZE_BUFFERS 200
#define DEFAULT_MAX_SIZE_BYTES (10 * 1024 * 1024)
#define DEFAULT_MAX_SIZE_TIME (5 * GST_SECOND)
#define DEFAULT_LEAKY GST_ACK_QUEUE_NO_LEAK

enum
{
  PROP_0,
  PROP_MAX_SIZE_BUFFERS,
  PROP_MAX_SIZE_BYTES,
  PROP_MAX_SIZE_TIME,
  PROP_LEAKY,
  PROP_CUR_LEVEL_BUFFERS,
  PROP_CUR_LEVEL_BYTES,
  PROP_CUR_LEVEL_TIME,
  PROP_STATS
};

/* The sticky events that say what a buffer is, in the order GStreamer sends
 * them: its format and its segment. A retained buffer keeps the ones it was
 * first pushed with, and a replay sends them again before it. */
enum
{
  LABEL_CAPS,
  LABEL_SEGMENT,
  N_LABELS
};
static const GstEventType label_types[N_LABELS] = {
  [LABEL_CAPS] = GST_EVENT_CAPS,
  [LABEL_SEGMENT] = GST_EVENT_SEGMENT
};

typedef enum
{
  ITEM_BUFFER,
  ITEM_EVENT,
  ITEM_QUERY
} ItemKind;

/* One thing held by the element: in the queue (buffers, serialized events
 * and queries not pushed yet) or in the retention list (buffers pushed and
 * not acknowledged). */
typedef struct
{
  ItemKind kind;
  GstMiniObject *obj;           /* owned, except for queries */
  guint64 seq;                  /* retained buffers */
  GstEvent *labels[N_LABELS];   /* retained buffers: caps and segment */
  guint64 size;
  GstClockTime time;
} Item;

typedef struct
{
  guint buffers;
  guint64 bytes;
  guint64 time;
} Level;

typedef struct
{
  guint64 buffers;
  guint64 bytes;
} Count;

/* Every buffer received ends in exactly one of: queued, retained, acked,
 * passed, dropped, flushed. */
typedef struct
{
  Count received;               /* accepted on the sink pad */
  Count pushed;                 /* pushed downstream for the first time */
  Count acked;                  /* released by an ack */
  Count replayed;               /* pushed again on a replay request */
  Count dropped;                /* leaked because the element was full */
  Count flushed;                /* discarded: flush, stop, downstream EOS */
  Count passed;                 /* pushed and let go unacknowledged, because
                                 * downstream does not acknowledge */
} Stats;

/* Buffers dropped under the lock, announced and freed after it. */
typedef struct
{
  GQueue items;
  guint64 processed;
  guint64 dropped;
  GstClockTime running_time;
  GstClockTime stream_time;
  GstClockTime timestamp;
  GstClockTime duration;
} Drops;

/* Threads and locks. Upstream's streaming thread runs the chain function
 * and the sink pad's events and queries, and waits on item_del for room.
 * The source pad's task (the loop) is the only thread that pushes buffers
 * and serialized events downstream, and waits on item_add; it owns the
 * replay cursor and the resume events. Acks and replay requests come from
 * any thread (socketiosink's network thread), properties and stats too.
 * Everything from lock on is protected by lock. Lock order: a pad's stream
 * lock (upstream's, or the task's), then lock, then a pad's object lock
 * (the sticky event calls). Nothing is pushed, posted or freed back to a
 * pool with lock held. */
struct _GstAckQueue
{
  GstElement parent;

  GstPad *sinkpad;
  GstPad *srcpad;

  /* everything below is protected by lock */
  GMutex lock;
  GCond item_add;               /* loop waits: data or a replay request */
  GCond item_del;               /* upstream waits: room, or a query answer */

  GQueue queue;                 /* Item, arrival order */
  GQueue retained;              /* Item, buffers only, seq ascending */
  Level queued_level;
  Level retained_level;

  guint max_buffers;
  guint max_bytes;
  guint64 max_time;
  GstAckQueueLeaky leaky;

  GstFlowReturn srcresult;
  gboolean eos;                 /* EOS queued: refuse data */
  gboolean unexpected;          /* downstream returned EOS: refuse data */

  guint64 next_seq;
  gboolean retain;              /* downstream answered GstSioAckSupport */
  gboolean ack_support_stale;   /* ask again before the next buffer */
  gboolean replay_pending;
  guint64 replay_next;          /* replay cursor: next seq to push again */
  gboolean dropped_retained;    /* since the last replay request */
  guint64 dropped_retained_max_seq;
  gboolean resume_saved;        /* a replay started and is not undone */
  GstEvent *resume[N_LABELS];   /* caps and segment of new data, saved when
                                 * a replay starts, current again at its end */

  gboolean head_discont;        /* next buffer pushed gets DISCONT */
  gboolean tail_discont;        /* next buffer received gets DISCONT */
  GstClockTime prev_ts;
  GstSegment sink_segment;

  GstQuery *query_in_flight;    /* serialized query the loop is running */
  GstQuery *last_handled_query;
  gboolean last_query_result;

  Stats stats;
};

#define LOCK(q) g_mutex_lock (&(q)->lock)
#define UNLOCK(q) g_mutex_unlock (&(q)->lock)

#define STATUS(q, pad, msg)                                                \
  GST_LOG_OBJECT (q, "(%s:%s) " msg ": %u+%u of %u buffers, "             \
      "%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT " of %u bytes, "         \
      "%" G_GUINT64_FORMAT "+%" G_GUINT64_FORMAT " of %" G_GUINT64_FORMAT \
      " ns (queued+retained), %u items", GST_DEBUG_PAD_NAME (pad),        \
      (q)->queued_level.buffers, (q)->retained_level.buffers,              \
      (q)->max_buffers, (q)->queued_level.bytes, (q)->retained_level.bytes, \
      (q)->max_bytes, (q)->queued_level.time, (q)->retained_level.time,    \
      (q)->max_time, (q)->queue.length)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS_ANY);

#define gst_ack_queue_parent_class parent_class
G_DEFINE_TYPE_WITH_CODE (GstAckQueue, gst_ack_queue, GST_TYPE_ELEMENT,
    GST_DEBUG_CATEGORY_INIT (ack_queue_debug, "ackqueue", 0,
        "queue that retains buffers until acknowledged"));
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (ackqueue, "ackqueue", GST_RANK_NONE,
    GST_TYPE_ACK_QUEUE, gst_socketio_element_init (plugin));

static void gst_ack_queue_finalize (GObject * object);
static void gst_ack_queue_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec);
static void gst_ack_queue_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec);
static GstFlowReturn gst_ack_queue_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buffer);
static GstFlowReturn gst_ack_queue_sink_event (GstPad * pad,
    GstObject * parent, GstEvent * event);
static gboolean gst_ack_queue_sink_query (GstPad * pad, GstObject * parent,
    GstQuery * query);
static gboolean gst_ack_queue_src_event (GstPad * pad, GstObject * parent,
    GstEvent * event);
static gboolean gst_ack_queue_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query);
static gboolean gst_ack_queue_sink_activate_mode (GstPad * pad,
    GstObject * parent, GstPadMode mode, gboolean active);
static gboolean gst_ack_queue_src_activate_mode (GstPad * pad,
    GstObject * parent, GstPadMode mode, gboolean active);
static void gst_ack_queue_loop (GstPad * pad);

static gboolean
start_task (GstAckQueue * q)
{
  return gst_pad_start_task (q->srcpad, (GstTaskFunction) gst_ack_queue_loop,
      q->srcpad, NULL);
}

GType
gst_ack_queue_leaky_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_ACK_QUEUE_NO_LEAK, "Not leaky: block upstream when full", "no"},
    {GST_ACK_QUEUE_LEAK_UPSTREAM, "Leaky on upstream (drop new buffers)",
        "upstream"},
    {GST_ACK_QUEUE_LEAK_DOWNSTREAM,
          "Leaky on downstream (drop the oldest buffers, retained first)",
        "downstream"},
    {0, NULL, NULL}
  };

  if (g_once_init_enter (&type)) {
    GType _type = g_enum_register_static ("GstAckQueueLeaky", values);
    g_once_init_leave (&type, _type);
  }
  return type;
}

static void
gst_ack_queue_class_init (GstAckQueueClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->set_property = gst_ack_queue_set_property;
  gobject_class->get_property = gst_ack_queue_get_property;
  gobject_class->finalize = gst_ack_queue_finalize;

  /**
   * GstAckQueue:max-size-buffers:
   *
   * Most buffers held, queued plus retained; 0 for no limit.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE_BUFFERS,
      g_param_spec_uint ("max-size-buffers", "Max. size (buffers)",
          "Max. number of buffers held, queued plus retained (0=no limit)",
          0, G_MAXUINT, DEFAULT_MAX_SIZE_BUFFERS,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
          G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:max-size-bytes:
   *
   * Most bytes held, queued plus retained; 0 for no limit.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE_BYTES,
      g_param_spec_uint ("max-size-bytes", "Max. size (bytes)",
          "Max. amount of data held, queued plus retained (bytes, 0=no limit)",
          0, G_MAXUINT, DEFAULT_MAX_SIZE_BYTES,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
          G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:max-size-time:
   *
   * Most data held in nanoseconds (sum of the buffers' durations), queued
   * plus retained; 0 for no limit.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE_TIME,
      g_param_spec_uint64 ("max-size-time", "Max. size (ns)",
          "Max. amount of data held, queued plus retained "
          "(in ns, 0=no limit)", 0, G_MAXUINT64, DEFAULT_MAX_SIZE_TIME,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
          G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:leaky:
   *
   * What to do with a buffer that arrives when the element is full: block
   * (no), drop it (upstream) or drop the oldest buffers held, retained ones
   * first (downstream).
   */
  g_object_class_install_property (gobject_class, PROP_LEAKY,
      g_param_spec_enum ("leaky", "Leaky",
          "Where the queue leaks when full, if at all "
          "(downstream drops the oldest buffers, retained ones first)",
          GST_TYPE_ACK_QUEUE_LEAKY, DEFAULT_LEAKY,
          G_PARAM_READWRITE | GST_PARAM_MUTABLE_PLAYING |
          G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:current-level-buffers:
   *
   * Buffers held now, queued plus retained.
   */
  g_object_class_install_property (gobject_class, PROP_CUR_LEVEL_BUFFERS,
      g_param_spec_uint ("current-level-buffers", "Current level (buffers)",
          "Current number of buffers held, queued plus retained",
          0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:current-level-bytes:
   *
   * Bytes held now, queued plus retained (G_MAXUINT if more).
   */
  g_object_class_install_property (gobject_class, PROP_CUR_LEVEL_BYTES,
      g_param_spec_uint ("current-level-bytes", "Current level (bytes)",
          "Current amount of data held, queued plus retained (bytes)",
          0, G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:current-level-time:
   *
   * Nanoseconds of data held now, queued plus retained.
   */
  g_object_class_install_property (gobject_class, PROP_CUR_LEVEL_TIME,
      g_param_spec_uint64 ("current-level-time", "Current level (ns)",
          "Current amount of data held, queued plus retained (in ns)",
          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstAckQueue:stats:
   *
   * A GstStructure named "ackqueue-stats", counting since the element was
   * created. Pairs of guint64 fields "X-buffers" and "X-bytes" for X in:
   * received (accepted on the sink pad), pushed (pushed the first time),
   * acked, replayed (pushed again), dropped (leaked when full), flushed
   * (discarded by a flush, a stop, or because downstream is EOS), passed
   * (pushed and let go without ack because downstream does not acknowledge),
   * and the current queued and retained. Every received buffer is in exactly
   * one of queued, retained, acked, passed, dropped, flushed. Also
   * "retaining" (gboolean: downstream acknowledges) and "next-seq" (guint64).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters since the element was created: received, pushed, acked, "
          "replayed, dropped, flushed, passed, queued and retained buffers "
          "and bytes", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_set_static_metadata (element_class,
      "Acknowledging queue", "Generic",
      "Queue with its own thread that keeps every buffer it pushed until "
      "downstream acknowledges it, and pushes unacknowledged buffers again "
      "on request", "gst-socketio contributors");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  gst_type_mark_as_plugin_api (GST_TYPE_ACK_QUEUE_LEAKY, 0);

  /* make sure the meta is registered before any buffer flows */
  gst_sio_seq_meta_get_info ();
}

static void
gst_ack_queue_init (GstAckQueue * q)
{
  q->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (q->sinkpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_chain));
  gst_pad_set_event_full_function (q->sinkpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_sink_event));
  gst_pad_set_query_function (q->sinkpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_sink_query));
  gst_pad_set_activatemode_function (q->sinkpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_sink_activate_mode));
  GST_PAD_SET_PROXY_CAPS (q->sinkpad);
  gst_element_add_pad (GST_ELEMENT (q), q->sinkpad);

  q->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_event_function (q->srcpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_src_event));
  gst_pad_set_query_function (q->srcpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_src_query));
  gst_pad_set_activatemode_function (q->srcpad,
      GST_DEBUG_FUNCPTR (gst_ack_queue_src_activate_mode));
  GST_PAD_SET_PROXY_CAPS (q->srcpad);
  gst_element_add_pad (GST_ELEMENT (q), q->srcpad);

  g_mutex_init (&q->lock);
  g_cond_init (&q->item_add);
  g_cond_init (&q->item_del);
  g_queue_init (&q->queue);
  g_queue_init (&q->retained);

  q->max_buffers = DEFAULT_MAX_SIZE_BUFFERS;
  q->max_bytes = DEFAULT_MAX_SIZE_BYTES;
  q->max_time = DEFAULT_MAX_SIZE_TIME;
  q->leaky = DEFAULT_LEAKY;
  q->srcresult = GST_FLOW_FLUSHING;
  q->prev_ts = GST_CLOCK_TIME_NONE;
  gst_segment_init (&q->sink_segment, GST_FORMAT_UNDEFINED);
}

/* ---- items, levels, counters ------------------------------------------ */

static Item *
item_new (ItemKind kind, gpointer obj)
{
  Item *it = g_new0 (Item, 1);

  it->kind = kind;
  it->obj = obj;
  return it;
}

static void
labels_clear (GstEvent ** labels)
{
  guint i;

  for (i = 0; i < N_LABELS; i++)
    gst_clear_event (&labels[i]);
}

static void
item_free (Item * it)
{
  if (it->kind != ITEM_QUERY && it->obj)
    gst_mini_object_unref (it->obj);
  labels_clear (it->labels);
  g_free (it);
}

/* The caps and segment a buffer pushed now goes out with (with the lock). */
static void
labels_get (GstAckQueue * q, GstEvent ** labels)
{
  guint i;

  for (i = 0; i < N_LABELS; i++)
    labels[i] = gst_pad_get_sticky_event (q->srcpad, label_types[i], 0);
}

/* Whether the source pad's sticky event of @ev's type says what @ev says. */
static gboolean
label_is_current (GstAckQueue * q, GstEvent * ev)
{
  GstEvent *cur = gst_pad_get_sticky_event (q->srcpad, GST_EVENT_TYPE (ev), 0);
  gboolean same = cur == ev;

  if (cur && !same && GST_EVENT_TYPE (ev) == GST_EVENT_CAPS) {
    GstCaps *a, *b;

    gst_event_parse_caps (cur, &a);
    gst_event_parse_caps (ev, &b);
    same = gst_caps_is_equal (a, b);
  } else if (cur && !same) {
    const GstSegment *a, *b;

    gst_event_parse_segment (cur, &a);
    gst_event_parse_segment (ev, &b);
    same = gst_segment_is_equal (a, b);
  }
  if (cur)
    gst_event_unref (cur);
  return same;
}

/* unlocked: buffers may go back to a pool, whose code must not run under
 * our lock */
static void
free_items (GQueue * items)
{
  Item *it;

  while ((it = g_queue_pop_head (items)))
    item_free (it);
}

static void
level_add (Level * level, const Item * it)
{
  level->buffers++;
  level->bytes += it->size;
  level->time += it->time;
}

static void
level_sub (Level * level, const Item * it)
{
  g_assert (level->buffers > 0);
  level->buffers--;
  level->bytes -= it->size;
  level->time -= it->time;
}

static void
count_add (Count * count, const Item * it)
{
  count->buffers++;
  count->bytes += it->size;
}

static Level
total_level (GstAckQueue * q)
{
  Level l;

  l.buffers = q->queued_level.buffers + q->retained_level.buffers;
  l.bytes = q->queued_level.bytes + q->retained_level.bytes;
  l.time = q->queued_level.time + q->retained_level.time;
  return l;
}

static gboolean
is_filled (GstAckQueue * q)
{
  Level l = total_level (q);

  return (q->max_buffers > 0 && l.buffers >= q->max_buffers) ||
      (q->max_bytes > 0 && l.bytes >= q->max_bytes) ||
      (q->max_time > 0 && l.time >= q->max_time);
}

/* The time a buffer counts for: its duration, or else the distance from the
 * previous buffer's timestamp. */
static GstClockTime
buffer_time (GstAckQueue * q, GstBuffer * buf)
{
  GstClockTime ts = GST_BUFFER_DTS_OR_PTS (buf);
  GstClockTime t = 0;

  if (GST_BUFFER_DURATION_IS_VALID (buf))
    t = GST_BUFFER_DURATION (buf);
  else if (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (q->prev_ts)
      && ts > q->prev_ts)
    t = ts - q->prev_ts;
  if (GST_CLOCK_TIME_IS_VALID (ts))
    q->prev_ts = ts;
  return t;
}

/* ---- drops, flushes ---------------------------------------------------- */

static void
drops_init (Drops * d)
{
  g_queue_init (&d->items);
}

/* Count @it (already out of every list and level) as dropped. */
static void
drop_locked (GstAckQueue * q, Item * it, Drops * d)
{
  GstBuffer *buf = GST_BUFFER_CAST (it->obj);
  GstClockTime ts = GST_BUFFER_PTS (buf);

  count_add (&q->stats.dropped, it);
  d->processed = q->stats.pushed.buffers;
  d->dropped = q->stats.dropped.buffers;
  d->timestamp = ts;
  d->duration = GST_BUFFER_DURATION (buf);
  d->running_time = d->stream_time = GST_CLOCK_TIME_NONE;
  if (q->sink_segment.format == GST_FORMAT_TIME && GST_CLOCK_TIME_IS_VALID (ts)) {
    d->running_time = gst_segment_to_running_time (&q->sink_segment,
        GST_FORMAT_TIME, ts);
    d->stream_time = gst_segment_to_stream_time (&q->sink_segment,
        GST_FORMAT_TIME, ts);
  }
  GST_DEBUG_OBJECT (q, "dropped buffer %p (%" G_GUINT64_FORMAT " bytes, pts %"
      GST_TIME_FORMAT "), %" G_GUINT64_FORMAT " dropped so far", buf,
      it->size, GST_TIME_ARGS (ts), q->stats.dropped.buffers);
  g_queue_push_tail (&d->items, it);
}

/* Unlocked: post one QoS message for the buffers just dropped (nothing is
 * lost silently) and free them. */
static void
announce_drops (GstAckQueue * q, Drops * d)
{
  GstMessage *msg;

  if (g_queue_is_empty (&d->items))
    return;

  msg = gst_message_new_qos (GST_OBJECT_CAST (q), FALSE, d->running_time,
      d->stream_time, d->timestamp, d->duration);
  gst_message_set_qos_stats (msg, GST_FORMAT_BUFFERS, d->processed, d->dropped);
  gst_element_post_message (GST_ELEMENT_CAST (q), msg);
  free_items (&d->items);
}

/* leaky=downstream: drop the oldest buffers until there is room. Retained
 * buffers are all older than queued ones, so they go first. */
static void
leak_downstream (GstAckQueue * q, Drops * d)
{
  while (is_filled (q)) {
    Item *it = g_queue_pop_head (&q->retained);

    if (it) {
      level_sub (&q->retained_level, it);
      q->dropped_retained = TRUE;
      q->dropped_retained_max_seq = it->seq;
    } else {
      GList *l = q->queue.head;

      while (l && ((Item *) l->data)->kind != ITEM_BUFFER)
        l = l->next;
      if (l == NULL)
        break;
      it = l->data;
      g_queue_delete_link (&q->queue, l);
      level_sub (&q->queued_level, it);
    }
    q->head_discont = TRUE;
    drop_locked (q, it, d);
  }
}

static void
answer_query_locked (GstAckQueue * q, GstQuery * query, gboolean result)
{
  q->last_handled_query = query;
  q->last_query_result = result;
  g_cond_broadcast (&q->item_del);
}

/* Empty the queue into @discard. Unless @full, sticky events other than
 * segment and EOS are stored on the source pad so they are not lost. */
static void
flush_queue (GstAckQueue * q, gboolean full, GQueue * discard)
{
  Item *it;

  while ((it = g_queue_pop_head (&q->queue))) {
    switch (it->kind) {
      case ITEM_BUFFER:
        level_sub (&q->queued_level, it);
        count_add (&q->stats.flushed, it);
        break;
      case ITEM_EVENT:{
        GstEvent *ev = GST_EVENT_CAST (it->obj);

        if (!full && GST_EVENT_IS_STICKY (ev) &&
            GST_EVENT_TYPE (ev) != GST_EVENT_SEGMENT &&
            GST_EVENT_TYPE (ev) != GST_EVENT_EOS)
          gst_pad_store_sticky_event (q->srcpad, ev);
        break;
      }
      case ITEM_QUERY:
        answer_query_locked (q, GST_QUERY_CAST (it->obj), FALSE);
        break;
    }
    g_queue_push_tail (discard, it);
  }
  q->head_discont = q->tail_discont = FALSE;
  q->prev_ts = GST_CLOCK_TIME_NONE;
  g_cond_broadcast (&q->item_del);
}

/* Let every retained buffer go, counting it in @count; cancel any replay. */
static void
release_retained (GstAckQueue * q, Count * count, GQueue * discard)
{
  Item *it;

  while ((it = g_queue_pop_head (&q->retained))) {
    level_sub (&q->retained_level, it);
    count_add (count, it);
    g_queue_push_tail (discard, it);
  }
  q->replay_pending = FALSE;
  q->dropped_retained = FALSE;
  g_cond_broadcast (&q->item_del);
}

/* ---- sink pad ------------------------------------------------------------ */

/* Streaming stopped for @ret after upstream's EOS: upstream will not report
 * it, so we do. */
static void
post_flow_error (GstAckQueue * q, GstFlowReturn ret)
{
  if (ret == GST_FLOW_NOT_LINKED)
    GST_ELEMENT_ERROR (q, STREAM, FAILED,
        (_("Nothing is linked after the ackqueue: link its source pad to a "
                "sink.")), ("streaming stopped, reason %s (%d)",
            gst_flow_get_name (ret), ret));
  else
    GST_ELEMENT_ERROR (q, STREAM, FAILED,
        (_("Internal data stream error.")),
        ("streaming stopped, reason %s (%d)", gst_flow_get_name (ret), ret));
}

static GstFlowReturn
gst_ack_queue_chain (GstPad * pad, GstObject * parent, GstBuffer * buffer)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  GstFlowReturn ret = GST_FLOW_OK;
  Drops drops;
  Item *it;

  drops_init (&drops);
  it = item_new (ITEM_BUFFER, buffer);
  it->size = gst_buffer_get_size (buffer);

  LOCK (q);
  it->time = buffer_time (q, buffer);
  GST_LOG_OBJECT (q, "received buffer %p of %" G_GUINT64_FORMAT " bytes, pts %"
      GST_TIME_FORMAT ", counts %" GST_TIME_FORMAT, buffer, it->size,
      GST_TIME_ARGS (GST_BUFFER_PTS (buffer)), GST_TIME_ARGS (it->time));

  while (q->srcresult == GST_FLOW_OK && !q->eos && !q->unexpected &&
      is_filled (q)) {
    if (q->leaky == GST_ACK_QUEUE_LEAK_UPSTREAM) {
      count_add (&q->stats.received, it);
      q->tail_discont = TRUE;
      drop_locked (q, it, &drops);
      it = NULL;
      break;
    } else if (q->leaky == GST_ACK_QUEUE_LEAK_DOWNSTREAM) {
      guint before = drops.items.length;

      leak_downstream (q, &drops);
      if (drops.items.length == before)
        break;                  /* nothing left to drop */
    } else {
      STATUS (q, q->sinkpad, "full, waiting for DEL");
      g_cond_wait (&q->item_del, &q->lock);
      STATUS (q, q->sinkpad, "received DEL");
    }
  }

  if (it == NULL) {
    /* dropped (leaky=upstream) */
  } else if (q->srcresult != GST_FLOW_OK) {
    ret = q->srcresult;
    GST_LOG_OBJECT (q, "refusing buffer: %s", gst_flow_get_name (ret));
  } else if (q->eos || q->unexpected) {
    ret = GST_FLOW_EOS;
    GST_LOG_OBJECT (q, "refusing buffer after EOS");
  } else {
    if (q->tail_discont) {
      it->obj = GST_MINI_OBJECT_CAST (gst_buffer_make_writable (buffer));
      GST_BUFFER_FLAG_SET (it->obj, GST_BUFFER_FLAG_DISCONT);
      q->tail_discont = FALSE;
    }
    count_add (&q->stats.received, it);
    level_add (&q->queued_level, it);
    g_queue_push_tail (&q->queue, it);
    it = NULL;
    g_cond_signal (&q->item_add);
    STATUS (q, q->sinkpad, "queued buffer");
  }
  UNLOCK (q);

  if (it)
    item_free (it);
  announce_drops (q, &drops);
  return ret;
}

static GstFlowReturn
gst_ack_queue_sink_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  GstEventType type = GST_EVENT_TYPE (event);
  GQueue discard = G_QUEUE_INIT;
  GstFlowReturn ret = GST_FLOW_OK;
  gboolean post_error = FALSE, forwarded;

  GST_LOG_OBJECT (q, "received event %" GST_PTR_FORMAT, event);

  /* a flush is done here whether downstream takes it or not, and its
   * result goes back upstream, as queue does */
  switch (type) {
    case GST_EVENT_FLUSH_START:
      forwarded = gst_pad_push_event (q->srcpad, event);

      LOCK (q);
      q->srcresult = GST_FLOW_FLUSHING;
      g_cond_broadcast (&q->item_add);
      g_cond_broadcast (&q->item_del);
      UNLOCK (q);

      /* returns once the loop is out of any push */
      gst_pad_pause_task (q->srcpad);
      GST_DEBUG_OBJECT (q, "flushing, task paused");
      return forwarded ? GST_FLOW_OK : GST_FLOW_ERROR;

    case GST_EVENT_FLUSH_STOP:
      forwarded = gst_pad_push_event (q->srcpad, event);

      LOCK (q);
      /* a replay cut short may have left older caps on the pad: the newest
       * go before those still queued (the flush removed the segment) */
      if (q->resume_saved && q->resume[LABEL_CAPS])
        gst_pad_store_sticky_event (q->srcpad, q->resume[LABEL_CAPS]);
      labels_clear (q->resume);
      q->resume_saved = FALSE;
      flush_queue (q, FALSE, &discard);
      release_retained (q, &q->stats.flushed, &discard);
      q->srcresult = GST_FLOW_OK;
      q->eos = q->unexpected = FALSE;
      q->ack_support_stale = TRUE;
      gst_segment_init (&q->sink_segment, GST_FORMAT_UNDEFINED);
      if (gst_pad_is_active (q->srcpad))
        start_task (q);
      STATUS (q, pad, "after flush");
      UNLOCK (q);
      free_items (&discard);
      return forwarded ? GST_FLOW_OK : GST_FLOW_ERROR;

    default:
      break;
  }

  if (!GST_EVENT_IS_SERIALIZED (event))
    return gst_pad_push_event (q->srcpad, event) ? GST_FLOW_OK : GST_FLOW_ERROR;

  LOCK (q);
  /* a new stream or segment after EOS makes us accept data again */
  if ((type == GST_EVENT_STREAM_START || type == GST_EVENT_SEGMENT) &&
      (q->eos || q->unexpected || q->srcresult == GST_FLOW_EOS)) {
    q->eos = q->unexpected = FALSE;
    if (q->srcresult == GST_FLOW_EOS) {
      q->srcresult = GST_FLOW_OK;
      if (GST_PAD_MODE (q->srcpad) == GST_PAD_MODE_PUSH)
        start_task (q);
    }
  }

  if (q->srcresult != GST_FLOW_OK) {
    ret = q->srcresult;
    /* sticky events wait in the queue for streaming to resume; EOS after a
     * fatal error means nobody upstream will report it: we do */
    if (type == GST_EVENT_EOS)
      post_error = ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS;
    if (!GST_EVENT_IS_STICKY (event) || type == GST_EVENT_EOS)
      goto refuse;
    ret = GST_FLOW_OK;
  }
  if (q->eos) {
    ret = GST_FLOW_EOS;
    goto refuse;
  }

  switch (type) {
    case GST_EVENT_EOS:
      q->eos = TRUE;
      break;
    case GST_EVENT_SEGMENT:
      gst_event_copy_segment (event, &q->sink_segment);
      q->prev_ts = GST_CLOCK_TIME_NONE;
      break;
    default:
      break;
  }
  g_queue_push_tail (&q->queue, item_new (ITEM_EVENT, event));
  g_cond_signal (&q->item_add);
  UNLOCK (q);
  return GST_FLOW_OK;

refuse:
  UNLOCK (q);
  GST_LOG_OBJECT (q, "refusing %s event: %s", GST_EVENT_TYPE_NAME (event),
      gst_flow_get_name (ret));
  gst_event_unref (event);
  if (post_error)
    post_flow_error (q, ret);
  return ret;
}

static gboolean
gst_ack_queue_sink_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  gboolean res;

  /* The acks of whatever is downstream of us come to us, not to an ackqueue
   * upstream of us: it must not wait for them. */
  if (gst_sio_ack_support_query_parse (query, NULL)) {
    if (gst_query_is_writable (query))
      gst_sio_ack_support_query_set_supported (query, FALSE);
    return TRUE;
  }

  if (!GST_QUERY_IS_SERIALIZED (query))
    return gst_pad_query_default (pad, parent, query);

  LOCK (q);
  if (q->srcresult != GST_FLOW_OK) {
    UNLOCK (q);
    return FALSE;
  }
  GST_LOG_OBJECT (q, "queuing query %" GST_PTR_FORMAT, query);
  g_queue_push_tail (&q->queue, item_new (ITEM_QUERY, query));
  g_cond_signal (&q->item_add);

  /* never return while the loop may still be using the query */
  while (q->last_handled_query != query &&
      (q->srcresult == GST_FLOW_OK || q->query_in_flight == query))
    g_cond_wait (&q->item_del, &q->lock);

  if (q->last_handled_query == query) {
    res = q->last_query_result;
    q->last_handled_query = NULL;
  } else {
    GList *l;

    res = FALSE;
    for (l = q->queue.head; l; l = l->next) {
      if (((Item *) l->data)->obj == GST_MINI_OBJECT_CAST (query)) {
        item_free (l->data);
        g_queue_delete_link (&q->queue, l);
        break;
      }
    }
  }
  UNLOCK (q);
  return res;
}

static gboolean
gst_ack_queue_sink_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  GQueue discard = G_QUEUE_INIT;

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;

  if (active) {
    LOCK (q);
    q->srcresult = GST_FLOW_OK;
    q->eos = q->unexpected = FALSE;
    UNLOCK (q);
    return TRUE;
  }

  /* unblock the chain function, wait for it to leave, then empty */
  LOCK (q);
  q->srcresult = GST_FLOW_FLUSHING;
  g_cond_broadcast (&q->item_del);
  UNLOCK (q);

  GST_PAD_STREAM_LOCK (pad);
  LOCK (q);
  flush_queue (q, TRUE, &discard);
  release_retained (q, &q->stats.flushed, &discard);
  UNLOCK (q);
  GST_PAD_STREAM_UNLOCK (pad);
  free_items (&discard);
  return TRUE;
}

/* ---- source pad ---------------------------------------------------------- */

/* Downstream returned EOS: discard what is queued up to the next event that
 * can be pushed after EOS (EOS, segment, stream-start); without one, refuse
 * data from now on. */
static void
downstream_eos (GstAckQueue * q, GQueue * discard)
{
  Item *it;

  GST_DEBUG_OBJECT (q, "downstream is EOS");
  q->replay_pending = FALSE;
  while ((it = g_queue_peek_head (&q->queue))) {
    if (it->kind == ITEM_EVENT) {
      GstEventType t = GST_EVENT_TYPE (it->obj);

      if (t == GST_EVENT_EOS || t == GST_EVENT_SEGMENT ||
          t == GST_EVENT_STREAM_START)
        return;
    }
    g_queue_pop_head (&q->queue);
    if (it->kind == ITEM_BUFFER) {
      level_sub (&q->queued_level, it);
      count_add (&q->stats.flushed, it);
    } else if (it->kind == ITEM_QUERY) {
      answer_query_locked (q, GST_QUERY_CAST (it->obj), FALSE);
    }
    g_queue_push_tail (discard, it);
  }
  q->unexpected = TRUE;
  g_cond_broadcast (&q->item_del);
}

/* Unlocks to push @buf; returns with the lock held. */
static GstFlowReturn
push_buffer_unlocked (GstAckQueue * q, GstBuffer * buf, GQueue * discard)
{
  GstFlowReturn ret;

  STATUS (q, q->srcpad, "pushing buffer");
  UNLOCK (q);
  ret = gst_pad_push (q->srcpad, buf);
  LOCK (q);
  if (q->srcresult != GST_FLOW_OK)
    return q->srcresult;
  if (ret == GST_FLOW_EOS) {
    downstream_eos (q, discard);
    ret = GST_FLOW_OK;
  }
  return ret;
}

/* Ask downstream whether it will acknowledge buffers (with the lock). */
static GstFlowReturn
ask_ack_support (GstAckQueue * q, GQueue * discard)
{
  GstQuery *query = gst_sio_ack_support_query_new ();
  gboolean supported = FALSE;

  q->ack_support_stale = FALSE;
  UNLOCK (q);
  if (gst_pad_peer_query (q->srcpad, query))
    gst_sio_ack_support_query_parse (query, &supported);
  gst_query_unref (query);
  LOCK (q);

  GST_INFO_OBJECT (q, "downstream %s acknowledge buffers: %s",
      supported ? "will" : "will not",
      supported ? "retaining them" : "behaving like a plain queue");
  if (q->retain && !supported)
    release_retained (q, &q->stats.passed, discard);
  q->retain = supported;
  return q->srcresult;
}

/* Unlocks to push @n events (taking them); returns with the lock held. */
static GstFlowReturn
push_events_unlocked (GstAckQueue * q, GstEvent ** events, guint n)
{
  gboolean flushing = FALSE;
  guint i;

  if (n == 0)
    return q->srcresult;
  UNLOCK (q);
  for (i = 0; i < n; i++) {
    GstEventType type = GST_EVENT_TYPE (events[i]);

    if (flushing) {
      gst_event_unref (events[i]);
    } else if (!gst_pad_push_event (q->srcpad, events[i])) {
      /* a refused sticky event stays on the pad, and the next buffer's push
       * sends it again and returns why it fails */
      GST_DEBUG_OBJECT (q, "downstream refused the %s event",
          gst_event_type_get_name (type));
      flushing = GST_PAD_IS_FLUSHING (q->srcpad);
    }
  }
  LOCK (q);
  if (q->srcresult == GST_FLOW_OK && flushing)
    return GST_FLOW_FLUSHING;
  return q->srcresult;
}

/* The replay is over: send again the caps and segment of new data where
 * the replay left older ones on the pad (with the lock). */
static GstFlowReturn
restore_labels (GstAckQueue * q)
{
  GstEvent *events[N_LABELS];
  guint i, n = 0;

  for (i = 0; i < N_LABELS; i++) {
    if (q->resume[i] && !label_is_current (q, q->resume[i]))
      events[n++] = gst_event_ref (q->resume[i]);
  }
  labels_clear (q->resume);
  q->resume_saved = FALSE;
  if (n > 0)
    GST_DEBUG_OBJECT (q, "replay over: making the current caps and segment "
        "current again");
  return push_events_unlocked (q, events, n);
}

/* Downstream refused the format of the retained buffer @seq when it was
 * replayed: it cannot be sent again, drop it. */
static void
drop_refused (GstAckQueue * q, guint64 seq, Drops * drops)
{
  GList *l;

  for (l = q->retained.head; l; l = l->next) {
    Item *it = l->data;

    if (it->seq == seq) {
      g_queue_delete_link (&q->retained, l);
      level_sub (&q->retained_level, it);
      q->head_discont = TRUE;
      drop_locked (q, it, drops);
      g_cond_broadcast (&q->item_del);
      return;
    }
    if (it->seq > seq)
      return;                   /* acked meanwhile */
  }
}

/* Push the next retained buffer of a replay (with the lock), after the caps
 * and segment it was first pushed with where the pad has others; at the end
 * make the pad's current again. Sets @refused when downstream no longer
 * accepts the format of a retained buffer, which is then dropped. */
static GstFlowReturn
replay_one (GstAckQueue * q, GQueue * discard, Drops * drops,
    gboolean * refused)
{
  GstEvent *events[N_LABELS];
  GstSioSeqMeta *meta;
  GstBuffer *copy;
  GstFlowReturn ret;
  guint64 seq, size;
  guint i, n = 0;
  GList *l;
  Item *it;

  if (!q->replay_pending)
    return restore_labels (q);  /* a replay that was cut short */
  if (!q->resume_saved) {
    labels_get (q, q->resume);
    q->resume_saved = TRUE;
  }

  for (l = q->retained.head; l; l = l->next) {
    if (((Item *) l->data)->seq >= q->replay_next)
      break;
  }
  if (l == NULL) {
    GST_DEBUG_OBJECT (q, "replay done");
    q->replay_pending = FALSE;
    return restore_labels (q);
  }
  it = l->data;
  seq = it->seq;
  size = it->size;
  for (i = 0; i < N_LABELS; i++) {
    if (it->labels[i] && !label_is_current (q, it->labels[i]))
      events[n++] = gst_event_ref (it->labels[i]);
  }

  /* the retained buffer may still be in use downstream: push a copy that
   * shares its memory, with its own meta */
  copy = gst_buffer_copy (GST_BUFFER_CAST (it->obj));
  meta = gst_buffer_get_sio_seq_meta (copy);
  if (meta == NULL)
    meta = gst_buffer_add_sio_seq_meta (copy, seq);
  meta->replay = TRUE;
  if (q->head_discont) {
    GST_BUFFER_FLAG_SET (copy, GST_BUFFER_FLAG_DISCONT);
    q->head_discont = FALSE;
  }
  q->replay_next = seq + 1;
  count_add (&q->stats.replayed, it);
  GST_LOG_OBJECT (q, "replaying seq %" G_GUINT64_FORMAT " after %u events",
      seq, n);

  /* it may be acked while we push: only seq and size are used below */
  ret = push_events_unlocked (q, events, n);
  if (ret != GST_FLOW_OK) {
    gst_buffer_unref (copy);
    return ret;
  }
  ret = push_buffer_unlocked (q, copy, discard);
  if (ret == GST_FLOW_NOT_NEGOTIATED) {
    GST_WARNING_OBJECT (q, "downstream refused the format of seq %"
        G_GUINT64_FORMAT ": dropping it", seq);
    q->stats.replayed.buffers--;
    q->stats.replayed.bytes -= size;
    drop_refused (q, seq, drops);
    *refused = TRUE;
    return GST_FLOW_OK;
  }
  return ret;
}

/* Push the item at the head of the queue (with the lock). */
static GstFlowReturn
push_one (GstAckQueue * q, GQueue * discard)
{
  Item *it = g_queue_pop_head (&q->queue);
  GstFlowReturn ret = GST_FLOW_OK;

  switch (it->kind) {
    case ITEM_BUFFER:{
      GstBuffer *buf = gst_buffer_make_writable (GST_BUFFER_CAST (it->obj));
      GstSioSeqMeta *meta = gst_buffer_get_sio_seq_meta (buf);

      it->obj = GST_MINI_OBJECT_CAST (buf);
      it->seq = q->next_seq++;
      /* an existing meta is renumbered: our acks name our buffers */
      if (meta == NULL)
        meta = gst_buffer_add_sio_seq_meta (buf, it->seq);
      meta->seq = it->seq;
      meta->replay = FALSE;
      if (q->head_discont) {
        GST_BUFFER_FLAG_SET (buf, GST_BUFFER_FLAG_DISCONT);
        q->head_discont = FALSE;
      }
      level_sub (&q->queued_level, it);
      count_add (&q->stats.pushed, it);
      if (q->retain) {
        labels_get (q, it->labels);
        level_add (&q->retained_level, it);
        g_queue_push_tail (&q->retained, it);
        gst_buffer_ref (buf);
      } else {
        count_add (&q->stats.passed, it);
        it->obj = NULL;
        item_free (it);
        g_cond_broadcast (&q->item_del);
      }
      GST_LOG_OBJECT (q, "pushing seq %" G_GUINT64_FORMAT, q->next_seq - 1);
      ret = push_buffer_unlocked (q, buf, discard);
      break;
    }
    case ITEM_EVENT:{
      GstEvent *ev = GST_EVENT_CAST (it->obj);
      GstEventType type = GST_EVENT_TYPE (ev);
      gboolean ok;

      it->obj = NULL;
      item_free (it);
      UNLOCK (q);
      ok = gst_pad_push_event (q->srcpad, ev);
      LOCK (q);
      /* a refused sticky event stays on the pad: the next buffer's push
       * sends it again and returns why it fails. An EOS that went nowhere
       * is not-linked: the pause reports it, as nobody upstream will. */
      if (!ok)
        GST_DEBUG_OBJECT (q, "downstream refused the %s event",
            gst_event_type_get_name (type));
      if (q->srcresult != GST_FLOW_OK)
        ret = q->srcresult;
      else if (type == GST_EVENT_EOS && !ok && !gst_pad_is_linked (q->srcpad))
        ret = GST_FLOW_NOT_LINKED;
      else if (type == GST_EVENT_EOS)
        ret = GST_FLOW_EOS;     /* pause the task */
      break;
    }
    case ITEM_QUERY:{
      GstQuery *query = GST_QUERY_CAST (it->obj);
      gboolean res;

      item_free (it);
      q->query_in_flight = query;
      UNLOCK (q);
      res = gst_pad_peer_query (q->srcpad, query);
      LOCK (q);
      q->query_in_flight = NULL;
      if (q->srcresult == GST_FLOW_OK)
        answer_query_locked (q, query, res);
      else
        g_cond_broadcast (&q->item_del);
      ret = q->srcresult;
      break;
    }
  }
  return ret;
}

static void
gst_ack_queue_loop (GstPad * pad)
{
  GstAckQueue *q = GST_ACK_QUEUE (GST_PAD_PARENT (pad));
  GQueue discard = G_QUEUE_INIT;
  GstFlowReturn ret;
  gboolean eos, refused = FALSE;
  Drops drops;
  Item *head;

  drops_init (&drops);
  LOCK (q);
  while (q->srcresult == GST_FLOW_OK && !q->replay_pending &&
      !q->resume_saved && g_queue_is_empty (&q->queue)) {
    STATUS (q, pad, "empty, waiting for ADD");
    g_cond_wait (&q->item_add, &q->lock);
  }
  if (q->srcresult != GST_FLOW_OK)
    goto pause;

  head = g_queue_peek_head (&q->queue);
  if (q->replay_pending || q->resume_saved)
    ret = replay_one (q, &discard, &drops, &refused);
  else if (head->kind == ITEM_BUFFER && q->ack_support_stale)
    ret = ask_ack_support (q, &discard);
  else
    ret = push_one (q, &discard);

  if (ret != GST_FLOW_OK) {
    q->srcresult = ret;
    goto pause;
  }
  UNLOCK (q);
  free_items (&discard);
  announce_drops (q, &drops);
  if (refused)
    GST_ELEMENT_WARNING (q, STREAM, FORMAT,
        (_("Could not send again some data that was not acknowledged: "
                "downstream no longer accepts its format.")),
        ("a replayed buffer was refused (not-negotiated) and dropped; keep "
            "the format fixed upstream of the ackqueue (a capsfilter) while "
            "data is unacknowledged"));
  return;

pause:
  ret = q->srcresult;
  eos = q->eos;
  GST_DEBUG_OBJECT (q, "pausing task: %s", gst_flow_get_name (ret));
  gst_pad_pause_task (q->srcpad);
  /* not-linked: a RECONFIGURE restarts us; EOS: a new stream does;
   * flushing: flush-stop or the pad deactivation empties the queue (once
   * the source pad is no longer flushing, so sticky events can be kept).
   * Anything else is fatal: nothing queued will ever be pushed. */
  if (ret < GST_FLOW_EOS)
    flush_queue (q, FALSE, &discard);
  else
    g_cond_broadcast (&q->item_del);
  UNLOCK (q);
  free_items (&discard);
  announce_drops (q, &drops);

  /* upstream finished already and will not report it: we do */
  if (eos && (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS)) {
    post_flow_error (q, ret);
    gst_pad_push_event (q->srcpad, gst_event_new_eos ());
  }
}

static void
handle_ack (GstAckQueue * q, guint64 seq)
{
  Item *found = NULL;
  GList *l;

  LOCK (q);
  /* retained is sorted by seq; acks mostly come for the oldest */
  for (l = q->retained.head; l; l = l->next) {
    Item *it = l->data;

    if (it->seq == seq) {
      found = it;
      g_queue_delete_link (&q->retained, l);
      level_sub (&q->retained_level, it);
      count_add (&q->stats.acked, it);
      g_cond_broadcast (&q->item_del);
      break;
    }
    if (it->seq > seq)
      break;
  }
  if (found)
    STATUS (q, q->srcpad, "acked");
  else
    GST_DEBUG_OBJECT (q, "ack for seq %" G_GUINT64_FORMAT " we do not hold",
        seq);
  UNLOCK (q);

  if (found)
    item_free (found);
}

static void
handle_replay (GstAckQueue * q, guint64 from_seq)
{
  gboolean lost = FALSE;
  guint64 lost_seq = 0;

  LOCK (q);
  if (!q->retain) {
    GST_DEBUG_OBJECT (q, "replay request but nothing is retained: downstream "
        "did not announce acks");
  } else if (q->srcresult == GST_FLOW_EOS) {
    GST_WARNING_OBJECT (q, "cannot replay from seq %" G_GUINT64_FORMAT
        " after EOS", from_seq);
  } else {
    GST_DEBUG_OBJECT (q, "replay from seq %" G_GUINT64_FORMAT, from_seq);
    if (q->dropped_retained && q->dropped_retained_max_seq >= from_seq) {
      lost = TRUE;
      lost_seq = q->dropped_retained_max_seq;
    }
    q->dropped_retained = FALSE;
    q->replay_pending = TRUE;
    q->replay_next = from_seq;
    g_cond_signal (&q->item_add);
  }
  UNLOCK (q);

  if (lost)
    GST_ELEMENT_WARNING (q, STREAM, FAILED,
        (_("Could not send again all the data that was not acknowledged: "
                "some of it was dropped because the queue was full.")),
        ("replay from seq %" G_GUINT64_FORMAT ", buffers up to seq %"
            G_GUINT64_FORMAT " were dropped; raise max-size-buffers, "
            "max-size-bytes or max-size-time, or use leaky=no", from_seq,
            lost_seq));
}

static gboolean
gst_ack_queue_src_event (GstPad * pad, GstObject * parent, GstEvent * event)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  guint64 seq;

  if (gst_sio_ack_event_parse (event, &seq)) {
    handle_ack (q, seq);
    gst_event_unref (event);
    return TRUE;
  }
  if (gst_sio_replay_event_parse (event, &seq)) {
    handle_replay (q, seq);
    gst_event_unref (event);
    return TRUE;
  }

  if (GST_EVENT_TYPE (event) == GST_EVENT_RECONFIGURE) {
    LOCK (q);
    /* downstream may be another element now */
    q->ack_support_stale = TRUE;
    if (q->srcresult == GST_FLOW_NOT_LINKED) {
      q->srcresult = GST_FLOW_OK;
      start_task (q);
    }
    UNLOCK (q);
    return gst_pad_push_event (q->sinkpad, event);
  }

  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_ack_queue_src_query (GstPad * pad, GstObject * parent, GstQuery * query)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);

  switch (GST_QUERY_TYPE (query)) {
    case GST_QUERY_SCHEDULING:
      gst_query_add_scheduling_mode (query, GST_PAD_MODE_PUSH);
      return TRUE;
    case GST_QUERY_LATENCY:{
      gboolean live;
      GstClockTime min, max;
      guint64 max_time;

      if (!gst_pad_peer_query (q->sinkpad, query))
        return FALSE;
      gst_query_parse_latency (query, &live, &min, &max);
      LOCK (q);
      max_time = q->max_time;
      UNLOCK (q);
      /* we can hold up to max-size-time of data; without a time limit, the
       * delay we may add has no bound */
      if (max_time == 0)
        max = GST_CLOCK_TIME_NONE;
      else if (GST_CLOCK_TIME_IS_VALID (max))
        max += max_time;
      gst_query_set_latency (query, live, min, max);
      return TRUE;
    }
    default:
      return gst_pad_query_default (pad, parent, query);
  }
}

static gboolean
gst_ack_queue_src_activate_mode (GstPad * pad, GstObject * parent,
    GstPadMode mode, gboolean active)
{
  GstAckQueue *q = GST_ACK_QUEUE (parent);
  GQueue discard = G_QUEUE_INIT;
  gboolean res;

  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;

  if (active) {
    LOCK (q);
    q->srcresult = GST_FLOW_OK;
    q->eos = q->unexpected = FALSE;
    q->ack_support_stale = TRUE;
    res = start_task (q);
    UNLOCK (q);
    return res;
  }

  /* unblock the loop, wait for it to stop, then release everything */
  LOCK (q);
  q->srcresult = GST_FLOW_FLUSHING;
  g_cond_broadcast (&q->item_add);
  g_cond_broadcast (&q->item_del);
  UNLOCK (q);

  res = gst_pad_stop_task (pad);

  LOCK (q);
  flush_queue (q, FALSE, &discard);
  release_retained (q, &q->stats.flushed, &discard);
  q->retain = FALSE;
  /* the pad forgets its sticky events when deactivated */
  labels_clear (q->resume);
  q->resume_saved = FALSE;
  UNLOCK (q);
  free_items (&discard);
  return res;
}

/* ---- properties ---------------------------------------------------------- */

static GstStructure *
stats_new (GstAckQueue * q)
{
  const struct
  {
    const gchar *name;
    const Count *count;
  } counts[] = {
    {"received", &q->stats.received},
    {"pushed", &q->stats.pushed},
    {"acked", &q->stats.acked},
    {"replayed", &q->stats.replayed},
    {"dropped", &q->stats.dropped},
    {"flushed", &q->stats.flushed},
    {"passed", &q->stats.passed},
  };
  GstStructure *s = gst_structure_new ("ackqueue-stats",
      "queued-buffers", G_TYPE_UINT64, (guint64) q->queued_level.buffers,
      "queued-bytes", G_TYPE_UINT64, q->queued_level.bytes,
      "retained-buffers", G_TYPE_UINT64, (guint64) q->retained_level.buffers,
      "retained-bytes", G_TYPE_UINT64, q->retained_level.bytes,
      "retaining", G_TYPE_BOOLEAN, q->retain,
      "next-seq", G_TYPE_UINT64, q->next_seq, NULL);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (counts); i++) {
    gchar *buffers = g_strdup_printf ("%s-buffers", counts[i].name);
    gchar *bytes = g_strdup_printf ("%s-bytes", counts[i].name);

    gst_structure_set (s, buffers, G_TYPE_UINT64, counts[i].count->buffers,
        bytes, G_TYPE_UINT64, counts[i].count->bytes, NULL);
    g_free (buffers);
    g_free (bytes);
  }
  return s;
}

static void
gst_ack_queue_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstAckQueue *q = GST_ACK_QUEUE (object);
  Drops drops;

  drops_init (&drops);
  LOCK (q);
  switch (prop_id) {
    case PROP_MAX_SIZE_BUFFERS:
      q->max_buffers = g_value_get_uint (value);
      break;
    case PROP_MAX_SIZE_BYTES:
      q->max_bytes = g_value_get_uint (value);
      break;
    case PROP_MAX_SIZE_TIME:
      q->max_time = g_value_get_uint64 (value);
      break;
    case PROP_LEAKY:
      q->leaky = g_value_get_enum (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  /* new bounds or a new leak mode: make room now if we leak downstream, and
   * let a blocked upstream look again */
  if (q->leaky == GST_ACK_QUEUE_LEAK_DOWNSTREAM)
    leak_downstream (q, &drops);
  g_cond_broadcast (&q->item_del);
  UNLOCK (q);
  announce_drops (q, &drops);
}

static void
gst_ack_queue_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec)
{
  GstAckQueue *q = GST_ACK_QUEUE (object);
  Level level;

  LOCK (q);
  level = total_level (q);
  switch (prop_id) {
    case PROP_MAX_SIZE_BUFFERS:
      g_value_set_uint (value, q->max_buffers);
      break;
    case PROP_MAX_SIZE_BYTES:
      g_value_set_uint (value, q->max_bytes);
      break;
    case PROP_MAX_SIZE_TIME:
      g_value_set_uint64 (value, q->max_time);
      break;
    case PROP_LEAKY:
      g_value_set_enum (value, q->leaky);
      break;
    case PROP_CUR_LEVEL_BUFFERS:
      g_value_set_uint (value, level.buffers);
      break;
    case PROP_CUR_LEVEL_BYTES:
      g_value_set_uint (value, MIN (level.bytes, G_MAXUINT));
      break;
    case PROP_CUR_LEVEL_TIME:
      g_value_set_uint64 (value, level.time);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, stats_new (q));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  UNLOCK (q);
}

static void
gst_ack_queue_finalize (GObject * object)
{
  GstAckQueue *q = GST_ACK_QUEUE (object);
  GQueue discard = G_QUEUE_INIT;

  flush_queue (q, TRUE, &discard);
  release_retained (q, &q->stats.flushed, &discard);
  free_items (&discard);
  labels_clear (q->resume);
  g_mutex_clear (&q->lock);
  g_cond_clear (&q->item_add);
  g_cond_clear (&q->item_del);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}
