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

/**
 * SECTION:element-leakyframepool
 * @title: leakyframepool
 *
 * leakyframepool cuts raw interleaved audio into frames of a fixed number of
 * samples; non-interleaved caps are refused at negotiation (put audioconvert
 * before it). Every frame is a buffer from the element's own #GstBufferPool,
 * which holds exactly #GstLeakyFramePool:max-frames buffers and never grows:
 * once the pool is warm nothing is allocated per frame, and a frame goes
 * back to the pool as soon as downstream drops its last reference to it.
 *
 * The frame length is #GstLeakyFramePool:frame-samples, or, when it is not
 * 0, #GstLeakyFramePool:frame-duration converted to the nearest whole number
 * of samples at the negotiated rate (frame-duration wins).
 *
 * When downstream holds every frame, the pool is empty. With `leaky=drop`
 * (the default) the element then neither allocates nor blocks the capture
 * thread: the incoming audio that would have filled the next frame is
 * dropped, counted in #GstLeakyFramePool:stats, announced with one QoS
 * message per dropped frame (with the processed and dropped sample counts in
 * %GST_FORMAT_DEFAULT) and the next frame that goes out is flagged DISCONT.
 * Frames stay on their sample grid across drops. With `leaky=no` the element
 * waits for a frame instead, which suits sources that are not live; a flush
 * or a state change ends the wait.
 *
 * Timestamps are sample accurate: the PTS of a frame is the position of its
 * first sample, counted from the last resynchronisation point (the first
 * buffer, a DISCONT buffer, or a buffer whose timestamp is off by more than
 * #GstLeakyFramePool:alignment-threshold; buffers without a timestamp
 * continue the count from the segment start). Offset and offset-end are
 * sample counts, duration is exact. GAP events are forwarded and move the
 * position to the end of the gap.
 *
 * At EOS, and before a discontinuity, a GAP, a new segment or new caps, the
 * partial frame is pushed: padded with silence to a full frame when
 * #GstLeakyFramePool:pad-last-frame is %TRUE (the default, so that every
 * frame has the same size), or cut short otherwise.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 pulsesrc ! audioconvert ! audioresample ! \
 *     audio/x-raw,format=S16LE,rate=16000,channels=1 ! \
 *     leakyframepool frame-samples=1024 max-frames=64 ! queue ! fakesink
 * ]| Captures 16 kHz mono audio in frames of 1024 samples (64 ms); at most
 * 64 frames (128 KiB) of audio are ever in flight downstream.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include "gstleakyframepool.h"
#include "gstsocketioelements.h"

GST_DEBUG_CATEGORY_STATIC (leaky_frame_pool_debug);
#define GST_CAT_DEFAULT leaky_frame_pool_debug

#define DEFAULT_FRAME_SAMPLES 1024
#define DEFAULT_FRAME_DURATION 0
#define DEFAULT_MAX_FRAMES 64
#define DEFAULT_LEAKY GST_LEAKY_FRAME_POOL_LEAKY_DROP
#define DEFAULT_PAD_LAST_FRAME TRUE
#define DEFAULT_ALIGNMENT_THRESHOLD (40 * GST_MSECOND)

#define MAX_FRAME_DURATION (3600 * GST_SECOND)
#define MAX_MAX_FRAMES (1 << 20)

enum
{
  PROP_0,
  PROP_FRAME_SAMPLES,
  PROP_FRAME_DURATION,
  PROP_MAX_FRAMES,
  PROP_LEAKY,
  PROP_PAD_LAST_FRAME,
  PROP_ALIGNMENT_THRESHOLD,
  PROP_STATS,
};

/* Counters shared by the element and every pool it created: a pool (and
 * the frames downstream still holds) can outlive the element. Atomic. */
typedef struct
{
  gint allocated;               /* buffers allocated by the pools */
  gint returned;                /* buffers that came back to a pool */
} LfpCounters;

/* The pool: a GstBufferPool that keeps its free buffers on a stack rather
 * than the default queue, so that the frame just released (still in the
 * CPU cache) is the next one filled; counts the buffers it allocates and
 * the ones that come back; and resets returning frames cheaply.
 *
 * It never holds more than max-buffers buffers: a buffer is only allocated
 * while fewer are alive, which after the start means only to replace one
 * that came back unusable (its memory shared or replaced downstream). */
#define LFP_TYPE_BUFFER_POOL (lfp_buffer_pool_get_type ())
G_DECLARE_FINAL_TYPE (LfpBufferPool, lfp_buffer_pool, LFP, BUFFER_POOL,
    GstBufferPool);

struct _LfpBufferPool
{
  GstBufferPool parent;

  LfpCounters *counters;

  /* from the config */
  guint size;
  guint min_buffers;
  guint max_buffers;

  GMutex lock;
  GCond cond;                   /* a buffer came back, or flushing */
  GstBuffer **free;             /* stack of max_buffers entries */
  guint n_free;
  guint alive;                  /* allocated and not freed */
  guint waiting;
  gboolean flushing;
};

G_DEFINE_TYPE (LfpBufferPool, lfp_buffer_pool, GST_TYPE_BUFFER_POOL);

/* unchecked casts for the per-frame paths */
#define LFP_BUFFER_POOL_CAST(obj) ((LfpBufferPool *) (obj))
#define PARENT_POOL_CLASS ((GstBufferPoolClass *) lfp_buffer_pool_parent_class)

static gboolean
lfp_buffer_pool_set_config (GstBufferPool * pool, GstStructure * config)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  guint size, min_buffers, max_buffers;

  if (!gst_buffer_pool_config_get_params (config, NULL, &size, &min_buffers,
          &max_buffers) || max_buffers == 0 || min_buffers > max_buffers) {
    GST_WARNING_OBJECT (pool, "needs 0 < min-buffers <= max-buffers");
    return FALSE;
  }

  /* only called while inactive, with every buffer back and freed */
  self->size = size;
  self->min_buffers = min_buffers;
  self->max_buffers = max_buffers;
  g_free (self->free);
  self->free = g_new0 (GstBuffer *, max_buffers);

  return PARENT_POOL_CLASS->set_config (pool, config);
}

static GstFlowReturn
lfp_buffer_pool_alloc_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  GstFlowReturn ret;

  ret = PARENT_POOL_CLASS->alloc_buffer (pool, buffer, params);
  if (ret != GST_FLOW_OK)
    return ret;

  /* untagged: that is how a buffer must come back to be reused */
  GST_BUFFER_FLAG_UNSET (*buffer, GST_BUFFER_FLAG_TAG_MEMORY);
  g_atomic_int_inc (&self->counters->allocated);

  return GST_FLOW_OK;
}

/* Allocates one more buffer; the caller reserved its place in alive. */
static GstFlowReturn
lfp_buffer_pool_alloc_reserved (LfpBufferPool * self, GstBuffer ** buffer)
{
  GstBufferPool *pool = GST_BUFFER_POOL_CAST (self);
  GstFlowReturn ret;

  ret = GST_BUFFER_POOL_GET_CLASS (pool)->alloc_buffer (pool, buffer, NULL);
  if (ret != GST_FLOW_OK) {
    g_mutex_lock (&self->lock);
    self->alive--;
    g_mutex_unlock (&self->lock);
  }

  return ret;
}

static gboolean
lfp_buffer_pool_stop (GstBufferPool * pool)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  GstBufferPoolClass *klass = GST_BUFFER_POOL_GET_CLASS (pool);
  GstBuffer *buffer;
  gboolean all_freed;

  g_mutex_lock (&self->lock);
  while (self->n_free > 0) {
    buffer = self->free[--self->n_free];
    self->alive--;
    g_mutex_unlock (&self->lock);
    klass->free_buffer (pool, buffer);
    g_mutex_lock (&self->lock);
  }
  all_freed = self->alive == 0;
  g_mutex_unlock (&self->lock);

  return all_freed;
}

static gboolean
lfp_buffer_pool_start (GstBufferPool * pool)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  GstBuffer *buffer;
  guint i;

  for (i = 0; i < self->min_buffers; i++) {
    g_mutex_lock (&self->lock);
    self->alive++;
    g_mutex_unlock (&self->lock);

    if (lfp_buffer_pool_alloc_reserved (self, &buffer) != GST_FLOW_OK) {
      lfp_buffer_pool_stop (pool);
      return FALSE;
    }

    g_mutex_lock (&self->lock);
    self->free[self->n_free++] = buffer;
    g_mutex_unlock (&self->lock);
  }

  return TRUE;
}

static GstFlowReturn
lfp_buffer_pool_acquire_buffer (GstBufferPool * pool, GstBuffer ** buffer,
    GstBufferPoolAcquireParams * params)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  GstFlowReturn ret;

  g_mutex_lock (&self->lock);
  while (TRUE) {
    if (G_UNLIKELY (self->flushing)) {
      ret = GST_FLOW_FLUSHING;
      break;
    }

    if (G_LIKELY (self->n_free > 0)) {
      *buffer = self->free[--self->n_free];
      ret = GST_FLOW_OK;
      break;
    }

    if (self->alive < self->max_buffers) {
      self->alive++;
      g_mutex_unlock (&self->lock);
      return lfp_buffer_pool_alloc_reserved (self, buffer);
    }

    /* empty, and may not grow */
    if (params && (params->flags & GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT)) {
      ret = GST_FLOW_EOS;
      break;
    }

    self->waiting++;
    g_cond_wait (&self->cond, &self->lock);
    self->waiting--;
  }
  g_mutex_unlock (&self->lock);

  return ret;
}

/* Called exactly once for every buffer coming back. A frame normally comes
 * back with only its timestamps, offsets, flags and perhaps its size (a
 * short last frame) changed: those are reset here directly. Anything else
 * (metas added downstream, memory replaced or trimmed) goes through the
 * default reset, and release_buffer then decides whether to keep the
 * buffer. */
static void
lfp_buffer_pool_reset_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);
  gpointer state = NULL;
  gsize offset, size, maxsize;

  size = gst_buffer_get_sizes (buffer, &offset, &maxsize);
  if (G_LIKELY (offset == 0 && maxsize >= self->size
          && !GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY)
          && gst_buffer_iterate_meta (buffer, &state) == NULL)) {
    GST_BUFFER_FLAGS (buffer) = 0;
    GST_BUFFER_PTS (buffer) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DTS (buffer) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_DURATION (buffer) = GST_CLOCK_TIME_NONE;
    GST_BUFFER_OFFSET (buffer) = GST_BUFFER_OFFSET_NONE;
    GST_BUFFER_OFFSET_END (buffer) = GST_BUFFER_OFFSET_NONE;
    if (G_UNLIKELY (size != self->size))
      gst_buffer_set_size (buffer, self->size);
  } else {
    PARENT_POOL_CLASS->reset_buffer (pool, buffer);
  }

  g_atomic_int_inc (&self->counters->returned);
}

static void
lfp_buffer_pool_release_buffer (GstBufferPool * pool, GstBuffer * buffer)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);

  /* reusable only if untouched: same memory, same size, not shared */
  if (G_UNLIKELY (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_TAG_MEMORY)
          || gst_buffer_get_size (buffer) != self->size
          || !gst_buffer_is_all_memory_writable (buffer))) {
    GST_DEBUG_OBJECT (pool,
        "discarding buffer %p: its memory changed downstream", buffer);
    GST_BUFFER_POOL_GET_CLASS (pool)->free_buffer (pool, buffer);
    g_mutex_lock (&self->lock);
    self->alive--;
    /* a waiter may allocate its replacement */
    if (self->waiting)
      g_cond_signal (&self->cond);
    g_mutex_unlock (&self->lock);
    return;
  }

  g_mutex_lock (&self->lock);
  self->free[self->n_free++] = buffer;
  if (self->waiting)
    g_cond_signal (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
lfp_buffer_pool_flush_start (GstBufferPool * pool)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
lfp_buffer_pool_flush_stop (GstBufferPool * pool)
{
  LfpBufferPool *self = LFP_BUFFER_POOL_CAST (pool);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
}

static void
lfp_buffer_pool_finalize (GObject * object)
{
  LfpBufferPool *self = LFP_BUFFER_POOL (object);

  /* dispose deactivated the pool: stop freed every buffer */
  g_free (self->free);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  g_atomic_rc_box_release (self->counters);

  G_OBJECT_CLASS (lfp_buffer_pool_parent_class)->finalize (object);
}

static void
lfp_buffer_pool_class_init (LfpBufferPoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstBufferPoolClass *pool_class = GST_BUFFER_POOL_CLASS (klass);

  gobject_class->finalize = lfp_buffer_pool_finalize;
  pool_class->set_config = lfp_buffer_pool_set_config;
  pool_class->start = lfp_buffer_pool_start;
  pool_class->stop = lfp_buffer_pool_stop;
  pool_class->alloc_buffer = lfp_buffer_pool_alloc_buffer;
  pool_class->acquire_buffer = lfp_buffer_pool_acquire_buffer;
  pool_class->reset_buffer = lfp_buffer_pool_reset_buffer;
  pool_class->release_buffer = lfp_buffer_pool_release_buffer;
  pool_class->flush_start = lfp_buffer_pool_flush_start;
  pool_class->flush_stop = lfp_buffer_pool_flush_stop;
}

static void
lfp_buffer_pool_init (LfpBufferPool * self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  /* like the base class: flushing until activated */
  self->flushing = TRUE;
}

static GstBufferPool *
lfp_buffer_pool_new (LfpCounters * counters)
{
  LfpBufferPool *self = g_object_new (LFP_TYPE_BUFFER_POOL, NULL);

  /* pools are not floating objects we hand to anyone */
  gst_object_ref_sink (self);
  self->counters = g_atomic_rc_box_acquire (counters);

  return GST_BUFFER_POOL (self);
}

/* Threads and locks. Upstream's streaming thread runs the chain function
 * and the sink pad's events: it alone fills and pushes frames and owns the
 * fields marked "streaming thread only". Properties, stats, flushes and
 * state changes use the element's object lock, which guards the fields
 * marked so. A frame goes back to its pool from whichever thread drops its
 * last reference (downstream's: a queue's, socketiosink's network thread);
 * the pool's own lock guards its free stack and waiters, and the counters
 * it shares with the element are atomic. Lock order: the element's object
 * lock, then a pool's lock (a pool is set flushing under the object lock);
 * a pool never takes the element's lock. */
struct _GstLeakyFramePool
{
  GstElement element;

  GstPad *sinkpad;
  GstPad *srcpad;

  LfpCounters *counters;

  /* protected by the object lock */
  guint frame_samples;
  guint64 frame_duration;
  guint max_frames;
  GstLeakyFramePoolLeaky leaky;
  gboolean pad_last_frame;
  GstClockTime alignment_threshold;

  GstBufferPool *pool;
  gboolean flushing;
  gboolean live;
  GstClockTime latency;
  guint pool_size;
  guint frames_let_go;          /* acquired, then pushed or discarded */
  guint64 frames_out;
  guint64 frames_dropped;
  guint64 samples_dropped;

  /* streaming thread only (and state changes once it has stopped) */
  GstAudioInfo info;
  gboolean configured;
  guint spf;                    /* samples per frame */
  guint pool_max;
  GstSegment segment;

  GstBuffer *frame;             /* the frame being filled, mapped */
  GstMapInfo frame_map;
  gboolean dropping;            /* the current frame slot is being dropped */
  guint fill;                   /* samples in the current frame slot */

  gboolean need_resync;
  gboolean discont_pending;
  GstClockTime base_pts;        /* position of the resynchronisation point */
  guint64 base_offset;          /* ... in samples */
  guint64 position;             /* samples received since base_pts */

  guint64 qos_processed;
  guint64 qos_dropped;
  guint pending_out;            /* pushed, not yet in the stats */
};

/* frames are runs of whole interleaved samples */
#define LFP_CAPS GST_AUDIO_CAPS_MAKE (GST_AUDIO_FORMATS_ALL) \
    ", layout = (string) interleaved"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (LFP_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (LFP_CAPS));

GType
gst_leaky_frame_pool_leaky_get_type (void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
    {GST_LEAKY_FRAME_POOL_LEAKY_NO,
        "Not leaky: wait for downstream to release a frame", "no"},
    {GST_LEAKY_FRAME_POOL_LEAKY_DROP,
        "Drop the incoming audio while every frame is in use", "drop"},
    {0, NULL, NULL},
  };

  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstLeakyFramePoolLeaky", values);
    g_once_init_leave (&type, t);
  }

  return type;
}

#define gst_leaky_frame_pool_parent_class parent_class
G_DEFINE_TYPE (GstLeakyFramePool, gst_leaky_frame_pool, GST_TYPE_ELEMENT);

#define _do_init \
  gst_socketio_element_init (plugin); \
  GST_DEBUG_CATEGORY_INIT (leaky_frame_pool_debug, "leakyframepool", 0, \
      "Fixed audio frames from a bounded buffer pool");
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE (leakyframepool, "leakyframepool",
    GST_RANK_NONE, GST_TYPE_LEAKY_FRAME_POOL, _do_init);

static void gst_leaky_frame_pool_finalize (GObject * object);
static void gst_leaky_frame_pool_set_property (GObject * object,
    guint prop_id, const GValue * value, GParamSpec * pspec);
static void gst_leaky_frame_pool_get_property (GObject * object,
    guint prop_id, GValue * value, GParamSpec * pspec);
static GstStateChangeReturn gst_leaky_frame_pool_change_state (GstElement *
    element, GstStateChange transition);
static GstFlowReturn gst_leaky_frame_pool_chain (GstPad * pad,
    GstObject * parent, GstBuffer * buffer);
static gboolean gst_leaky_frame_pool_sink_event (GstPad * pad,
    GstObject * parent, GstEvent * event);
static gboolean gst_leaky_frame_pool_src_query (GstPad * pad,
    GstObject * parent, GstQuery * query);

static void
gst_leaky_frame_pool_class_init (GstLeakyFramePoolClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);

  gobject_class->finalize = gst_leaky_frame_pool_finalize;
  gobject_class->set_property = gst_leaky_frame_pool_set_property;
  gobject_class->get_property = gst_leaky_frame_pool_get_property;

  /**
   * GstLeakyFramePool:frame-samples:
   *
   * Samples (per channel) in each frame, used when
   * #GstLeakyFramePool:frame-duration is 0. Takes effect at the next caps
   * negotiation.
   */
  g_object_class_install_property (gobject_class, PROP_FRAME_SAMPLES,
      g_param_spec_uint ("frame-samples", "Frame samples",
          "Samples per channel in each output frame (used when "
          "frame-duration is 0)", 1, G_MAXINT, DEFAULT_FRAME_SAMPLES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstLeakyFramePool:frame-duration:
   *
   * Duration of each frame in nanoseconds, rounded to the nearest whole
   * number of samples (at least one) at the negotiated rate. When not 0 it
   * takes precedence over #GstLeakyFramePool:frame-samples.
   */
  g_object_class_install_property (gobject_class, PROP_FRAME_DURATION,
      g_param_spec_uint64 ("frame-duration", "Frame duration",
          "Duration of each output frame in nanoseconds, rounded to whole "
          "samples; takes precedence over frame-samples when not 0 "
          "(0 = use frame-samples)", 0, MAX_FRAME_DURATION,
          DEFAULT_FRAME_DURATION,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstLeakyFramePool:max-frames:
   *
   * Number of buffers in the pool, all allocated when the caps are
   * negotiated (max-frames times the frame size in bytes). The pool never
   * holds more, so this bounds the audio memory in flight downstream.
   * Takes effect at the next caps negotiation.
   */
  g_object_class_install_property (gobject_class, PROP_MAX_FRAMES,
      g_param_spec_uint ("max-frames", "Maximum frames",
          "Number of frame buffers in the pool; the pool never grows beyond "
          "it", 1, MAX_MAX_FRAMES, DEFAULT_MAX_FRAMES,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_READY));

  /**
   * GstLeakyFramePool:leaky:
   *
   * What to do when downstream holds every frame of the pool: drop the
   * incoming audio (never blocks the capture thread) or wait.
   */
  g_object_class_install_property (gobject_class, PROP_LEAKY,
      g_param_spec_enum ("leaky", "Leaky",
          "What to do when every frame of the pool is in use",
          GST_TYPE_LEAKY_FRAME_POOL_LEAKY, DEFAULT_LEAKY,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstLeakyFramePool:pad-last-frame:
   *
   * Whether a partial frame pushed at EOS (or before a discontinuity, a
   * GAP, a new segment or new caps) is padded with silence to a full frame
   * (%TRUE, the default: every frame has the same size) or pushed short.
   */
  g_object_class_install_property (gobject_class, PROP_PAD_LAST_FRAME,
      g_param_spec_boolean ("pad-last-frame", "Pad last frame",
          "Pad the last partial frame with silence to a full frame instead "
          "of pushing it short", DEFAULT_PAD_LAST_FRAME,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstLeakyFramePool:alignment-threshold:
   *
   * How far, in nanoseconds, the timestamp of an input buffer may be from
   * the position the element counted before it resynchronises on it.
   */
  g_object_class_install_property (gobject_class, PROP_ALIGNMENT_THRESHOLD,
      g_param_spec_uint64 ("alignment-threshold", "Alignment threshold",
          "Largest timestamp jump in nanoseconds still treated as continuous "
          "audio", 0, G_MAXUINT64 - 1, DEFAULT_ALIGNMENT_THRESHOLD,
          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
          GST_PARAM_MUTABLE_PLAYING));

  /**
   * GstLeakyFramePool:stats:
   *
   * A "leakyframepool-stats" structure: frames-out, frames-dropped,
   * samples-dropped, buffers-allocated (all #guint64, counted since the
   * element last went to PAUSED), pool-size (#guint, the max-frames of the
   * current pool, 0 while there is none) and frames-held-downstream
   * (#guint, the frames pushed and not yet released, right now).
   */
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Frames pushed and dropped, samples dropped, pool size, buffers "
          "allocated and frames held downstream", GST_TYPE_STRUCTURE,
          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Leaky frame pool", "Filter/Audio",
      "Cuts raw audio into fixed frames from a bounded buffer pool, dropping "
      "audio instead of growing when downstream holds every frame",
      "gst-socketio contributors");

  element_class->change_state =
      GST_DEBUG_FUNCPTR (gst_leaky_frame_pool_change_state);

  gst_type_mark_as_plugin_api (GST_TYPE_LEAKY_FRAME_POOL_LEAKY, 0);
}

static void
gst_leaky_frame_pool_init (GstLeakyFramePool * self)
{
  self->sinkpad = gst_pad_new_from_static_template (&sink_template, "sink");
  gst_pad_set_chain_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_leaky_frame_pool_chain));
  gst_pad_set_event_function (self->sinkpad,
      GST_DEBUG_FUNCPTR (gst_leaky_frame_pool_sink_event));
  GST_PAD_SET_PROXY_CAPS (self->sinkpad);
  gst_element_add_pad (GST_ELEMENT (self), self->sinkpad);

  self->srcpad = gst_pad_new_from_static_template (&src_template, "src");
  gst_pad_set_query_function (self->srcpad,
      GST_DEBUG_FUNCPTR (gst_leaky_frame_pool_src_query));
  GST_PAD_SET_PROXY_CAPS (self->srcpad);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);

  self->counters = g_atomic_rc_box_new0 (LfpCounters);

  self->frame_samples = DEFAULT_FRAME_SAMPLES;
  self->frame_duration = DEFAULT_FRAME_DURATION;
  self->max_frames = DEFAULT_MAX_FRAMES;
  self->leaky = DEFAULT_LEAKY;
  self->pad_last_frame = DEFAULT_PAD_LAST_FRAME;
  self->alignment_threshold = DEFAULT_ALIGNMENT_THRESHOLD;
  self->latency = 0;

  gst_audio_info_init (&self->info);
  gst_segment_init (&self->segment, GST_FORMAT_TIME);
}

static void
gst_leaky_frame_pool_finalize (GObject * object)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (object);

  if (self->pool) {
    gst_buffer_pool_set_active (self->pool, FALSE);
    gst_object_unref (self->pool);
  }
  g_atomic_rc_box_release (self->counters);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static GstStructure *
gst_leaky_frame_pool_get_stats (GstLeakyFramePool * self)
{
  GstStructure *s;
  gint held;

  GST_OBJECT_LOCK (self);
  /* buffers of any pool of ours that we let go and that did not come back
   * yet; unsigned arithmetic copes with wrapping, and the snapshot may see a
   * frame come back before it is counted as pushed */
  held = (gint) (self->frames_let_go -
      (guint) g_atomic_int_get (&self->counters->returned));
  held = MAX (held, 0);

  s = gst_structure_new ("leakyframepool-stats",
      "frames-out", G_TYPE_UINT64, self->frames_out,
      "frames-dropped", G_TYPE_UINT64, self->frames_dropped,
      "samples-dropped", G_TYPE_UINT64, self->samples_dropped,
      "pool-size", G_TYPE_UINT, self->pool_size,
      "buffers-allocated", G_TYPE_UINT64,
      (guint64) g_atomic_int_get (&self->counters->allocated),
      "frames-held-downstream", G_TYPE_UINT, (guint) held, NULL);
  GST_OBJECT_UNLOCK (self);

  return s;
}

static void
gst_leaky_frame_pool_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_FRAME_SAMPLES:
      self->frame_samples = g_value_get_uint (value);
      break;
    case PROP_FRAME_DURATION:
      self->frame_duration = g_value_get_uint64 (value);
      break;
    case PROP_MAX_FRAMES:
      self->max_frames = g_value_get_uint (value);
      break;
    case PROP_LEAKY:
      self->leaky = g_value_get_enum (value);
      break;
    case PROP_PAD_LAST_FRAME:
      self->pad_last_frame = g_value_get_boolean (value);
      break;
    case PROP_ALIGNMENT_THRESHOLD:
      self->alignment_threshold = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_leaky_frame_pool_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (object);

  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_leaky_frame_pool_get_stats (self));
    return;
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_FRAME_SAMPLES:
      g_value_set_uint (value, self->frame_samples);
      break;
    case PROP_FRAME_DURATION:
      g_value_set_uint64 (value, self->frame_duration);
      break;
    case PROP_MAX_FRAMES:
      g_value_set_uint (value, self->max_frames);
      break;
    case PROP_LEAKY:
      g_value_set_enum (value, self->leaky);
      break;
    case PROP_PAD_LAST_FRAME:
      g_value_set_boolean (value, self->pad_last_frame);
      break;
    case PROP_ALIGNMENT_THRESHOLD:
      g_value_set_uint64 (value, self->alignment_threshold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* Position of sample @k counted from the last resynchronisation point.
 * Computed from the base every time, so rounding never accumulates. */
static inline GstClockTime
gst_leaky_frame_pool_time_at (GstLeakyFramePool * self, guint64 k)
{
  return self->base_pts + gst_util_uint64_scale_int (k, GST_SECOND,
      GST_AUDIO_INFO_RATE (&self->info));
}

static void
gst_leaky_frame_pool_rebase (GstLeakyFramePool * self, GstClockTime pts)
{
  self->base_pts = pts;
  self->base_offset = gst_util_uint64_scale_int_round (pts,
      GST_AUDIO_INFO_RATE (&self->info), GST_SECOND);
  self->position = 0;
}

/* Pushes the frame being filled. A partial frame is padded with silence or
 * cut short according to pad-last-frame. */
static GstFlowReturn
gst_leaky_frame_pool_push_frame (GstLeakyFramePool * self)
{
  GstBuffer *frame = self->frame;
  guint bpf = GST_AUDIO_INFO_BPF (&self->info);
  guint64 start = self->position - self->fill;
  guint n = self->fill;
  gboolean pad;
  GstClockTime pts;

  if (n < self->spf) {
    GST_OBJECT_LOCK (self);
    pad = self->pad_last_frame;
    GST_OBJECT_UNLOCK (self);

    if (pad) {
      gst_audio_format_info_fill_silence (self->info.finfo,
          self->frame_map.data + (gsize) n * bpf,
          (gsize) (self->spf - n) * bpf);
      n = self->spf;
    }
  }

  gst_buffer_unmap (frame, &self->frame_map);
  self->frame = NULL;
  self->fill = 0;
  if (n < self->spf)
    gst_buffer_set_size (frame, (gsize) n * bpf);

  pts = gst_leaky_frame_pool_time_at (self, start);
  GST_BUFFER_PTS (frame) = pts;
  GST_BUFFER_DURATION (frame) =
      gst_leaky_frame_pool_time_at (self, start + n) - pts;
  GST_BUFFER_OFFSET (frame) = self->base_offset + start;
  GST_BUFFER_OFFSET_END (frame) = self->base_offset + start + n;
  if (self->discont_pending) {
    GST_BUFFER_FLAG_SET (frame, GST_BUFFER_FLAG_DISCONT);
    self->discont_pending = FALSE;
  }

  /* published in the stats by gst_leaky_frame_pool_publish_stats() */
  self->pending_out++;

  GST_LOG_OBJECT (self, "pushing frame %" GST_PTR_FORMAT, frame);

  return gst_pad_push (self->srcpad, frame);
}

/* Adds the frames pushed since the last call to the stats: once per input
 * buffer or event rather than once per frame. */
static void
gst_leaky_frame_pool_publish_stats (GstLeakyFramePool * self)
{
  if (self->pending_out == 0)
    return;

  GST_OBJECT_LOCK (self);
  self->frames_out += self->pending_out;
  self->frames_let_go += self->pending_out;
  GST_OBJECT_UNLOCK (self);
  self->pending_out = 0;
}

/* Accounts for the frame slot that could not get a buffer. */
static void
gst_leaky_frame_pool_finish_drop (GstLeakyFramePool * self)
{
  guint64 start = self->position - self->fill;
  GstClockTime ts, duration;
  GstMessage *msg;
  gboolean live;

  ts = gst_leaky_frame_pool_time_at (self, start);
  duration = gst_leaky_frame_pool_time_at (self, self->position) - ts;
  self->qos_dropped += self->fill;

  GST_OBJECT_LOCK (self);
  self->frames_dropped++;
  self->samples_dropped += self->fill;
  live = self->live;
  GST_OBJECT_UNLOCK (self);

  GST_DEBUG_OBJECT (self, "dropped %u samples at %" GST_TIME_FORMAT
      ": every frame of the pool is in use", self->fill, GST_TIME_ARGS (ts));

  msg = gst_message_new_qos (GST_OBJECT_CAST (self), live,
      gst_segment_to_running_time (&self->segment, GST_FORMAT_TIME, ts),
      gst_segment_to_stream_time (&self->segment, GST_FORMAT_TIME, ts),
      ts, duration);
  gst_message_set_qos_stats (msg, GST_FORMAT_DEFAULT, self->qos_processed,
      self->qos_dropped);
  gst_element_post_message (GST_ELEMENT_CAST (self), msg);

  self->dropping = FALSE;
  self->fill = 0;
  self->discont_pending = TRUE;
}

/* Ends the current frame slot early: pushes the partial frame or accounts
 * for the partial drop. */
static GstFlowReturn
gst_leaky_frame_pool_drain (GstLeakyFramePool * self)
{
  GstFlowReturn ret = GST_FLOW_OK;

  if (self->frame)
    ret = gst_leaky_frame_pool_push_frame (self);
  else if (self->dropping)
    gst_leaky_frame_pool_finish_drop (self);

  gst_leaky_frame_pool_publish_stats (self);

  return ret;
}

/* Forgets the current frame slot (flush, stop): the frame goes back to the
 * pool unpushed. */
static void
gst_leaky_frame_pool_discard (GstLeakyFramePool * self)
{
  if (self->frame) {
    gst_buffer_unmap (self->frame, &self->frame_map);
    gst_buffer_unref (self->frame);
    self->frame = NULL;
    GST_OBJECT_LOCK (self);
    self->frames_let_go++;
    GST_OBJECT_UNLOCK (self);
  }
  self->dropping = FALSE;
  self->fill = 0;
}

static void
gst_leaky_frame_pool_set_flushing (GstLeakyFramePool * self, gboolean flushing)
{
  GST_OBJECT_LOCK (self);
  self->flushing = flushing;
  if (self->pool)
    gst_buffer_pool_set_flushing (self->pool, flushing);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_leaky_frame_pool_release_pool (GstLeakyFramePool * self)
{
  GstBufferPool *pool;

  GST_OBJECT_LOCK (self);
  pool = self->pool;
  self->pool = NULL;
  self->pool_size = 0;
  GST_OBJECT_UNLOCK (self);

  if (pool) {
    /* buffers still held downstream are freed when they come back */
    gst_buffer_pool_set_active (pool, FALSE);
    gst_object_unref (pool);
  }
}

static gboolean
gst_leaky_frame_pool_setcaps (GstLeakyFramePool * self, GstCaps * caps)
{
  GstAudioInfo info;
  guint frame_samples, max_frames;
  guint64 frame_duration, spf, frame_bytes;
  GstBufferPool *pool, *old;
  GstStructure *config;
  GstClockTime latency;
  gboolean latency_changed;

  if (!gst_audio_info_from_caps (&info, caps)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        (_("The input is not raw interleaved audio this element can cut "
                "into frames.")), ("invalid caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }
  if (GST_AUDIO_INFO_LAYOUT (&info) != GST_AUDIO_LAYOUT_INTERLEAVED) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        (_("leakyframepool cuts interleaved audio only, not non-interleaved: "
                "put audioconvert before it.")),
        ("refused caps %" GST_PTR_FORMAT, caps));
    return FALSE;
  }

  GST_OBJECT_LOCK (self);
  frame_samples = self->frame_samples;
  frame_duration = self->frame_duration;
  max_frames = self->max_frames;
  GST_OBJECT_UNLOCK (self);

  if (frame_duration > 0) {
    spf = gst_util_uint64_scale_int_round (frame_duration,
        GST_AUDIO_INFO_RATE (&info), GST_SECOND);
    spf = MAX (spf, 1);
  } else {
    spf = frame_samples;
  }

  frame_bytes = spf * GST_AUDIO_INFO_BPF (&info);
  if (spf > G_MAXINT || frame_bytes > G_MAXINT) {
    /* a format macro inside _() would cut the msgid */
    gchar *samples = g_strdup_printf ("%" G_GUINT64_FORMAT, spf);

    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("A frame of %s samples is too large for this audio format; "
                "lower frame-samples or frame-duration."), samples),
        ("%" G_GUINT64_FORMAT " bytes per frame", frame_bytes));
    g_free (samples);
    return FALSE;
  }

  if (self->configured && gst_audio_info_is_equal (&info, &self->info)
      && spf == self->spf && max_frames == self->pool_max) {
    GST_DEBUG_OBJECT (self, "same caps and frame size, keeping the pool");
    return TRUE;
  }

  GST_DEBUG_OBJECT (self, "frames of %" G_GUINT64_FORMAT " samples (%"
      G_GUINT64_FORMAT " bytes), pool of %u, caps %" GST_PTR_FORMAT, spf,
      frame_bytes, max_frames, caps);

  pool = lfp_buffer_pool_new (self->counters);
  config = gst_buffer_pool_get_config (pool);
  gst_buffer_pool_config_set_params (config, caps, (guint) frame_bytes,
      max_frames, max_frames);
  if (!gst_buffer_pool_set_config (pool, config)
      || !gst_buffer_pool_set_active (pool, TRUE)) {
    gchar *bytes = g_strdup_printf ("%" G_GUINT64_FORMAT, frame_bytes);

    gst_object_unref (pool);
    GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
        (_("Could not allocate a pool of %u frames of %s bytes; lower "
                "max-frames or the frame size."), max_frames, bytes), (NULL));
    g_free (bytes);
    return FALSE;
  }

  /* the partial frame belongs to the old caps */
  if (self->configured) {
    gst_leaky_frame_pool_drain (self);
    /* carry the position over to the new rate */
    if (!self->need_resync) {
      GstClockTime pos = gst_leaky_frame_pool_time_at (self, self->position);

      self->info = info;
      gst_leaky_frame_pool_rebase (self, pos);
    }
  }

  self->info = info;
  self->spf = spf;
  self->pool_max = max_frames;
  self->configured = TRUE;

  latency = gst_util_uint64_scale_int (spf, GST_SECOND,
      GST_AUDIO_INFO_RATE (&info));

  GST_OBJECT_LOCK (self);
  old = self->pool;
  self->pool = pool;
  self->pool_size = max_frames;
  if (self->flushing)
    gst_buffer_pool_set_flushing (pool, TRUE);
  latency_changed = self->latency != latency;
  self->latency = latency;
  GST_OBJECT_UNLOCK (self);

  if (old) {
    gst_buffer_pool_set_active (old, FALSE);
    gst_object_unref (old);
  }

  if (latency_changed)
    gst_element_post_message (GST_ELEMENT_CAST (self),
        gst_message_new_latency (GST_OBJECT_CAST (self)));

  return TRUE;
}

static gboolean
gst_leaky_frame_pool_sink_event (GstPad * pad, GstObject * parent,
    GstEvent * event)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (parent);

  GST_LOG_OBJECT (self, "event %" GST_PTR_FORMAT, event);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_CAPS:{
      GstCaps *caps;

      gst_event_parse_caps (event, &caps);
      if (!gst_leaky_frame_pool_setcaps (self, caps)) {
        gst_event_unref (event);
        return FALSE;
      }
      break;
    }
    case GST_EVENT_SEGMENT:{
      GstSegment segment;

      gst_event_copy_segment (event, &segment);
      if (segment.format != GST_FORMAT_TIME) {
        GST_ELEMENT_ERROR (self, STREAM, FORMAT,
            (_("The audio must come in a time segment, not in %s."),
                gst_format_get_name (segment.format)), (NULL));
        gst_event_unref (event);
        return FALSE;
      }
      if (self->configured)
        gst_leaky_frame_pool_drain (self);
      self->segment = segment;
      self->need_resync = TRUE;
      break;
    }
    case GST_EVENT_GAP:{
      GstClockTime ts, duration;
      gboolean ret;

      if (!self->configured)
        break;

      gst_event_parse_gap (event, &ts, &duration);
      gst_leaky_frame_pool_drain (self);
      ret = gst_pad_push_event (self->srcpad, event);

      if (GST_CLOCK_TIME_IS_VALID (ts) && GST_CLOCK_TIME_IS_VALID (duration)) {
        gst_leaky_frame_pool_rebase (self, ts + duration);
        self->need_resync = FALSE;
      } else {
        self->need_resync = TRUE;
      }
      return ret;
    }
    case GST_EVENT_EOS:
      if (self->configured)
        gst_leaky_frame_pool_drain (self);
      break;
    case GST_EVENT_FLUSH_START:
      gst_leaky_frame_pool_set_flushing (self, TRUE);
      break;
    case GST_EVENT_FLUSH_STOP:
      gst_leaky_frame_pool_discard (self);
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      self->need_resync = TRUE;
      self->discont_pending = TRUE;
      self->qos_processed = 0;
      self->qos_dropped = 0;
      gst_leaky_frame_pool_set_flushing (self, FALSE);
      break;
    default:
      break;
  }

  return gst_pad_event_default (pad, parent, event);
}

static gboolean
gst_leaky_frame_pool_src_query (GstPad * pad, GstObject * parent,
    GstQuery * query)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (parent);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime min, max, latency;
    gboolean live;

    if (!gst_pad_peer_query (self->sinkpad, query))
      return FALSE;

    gst_query_parse_latency (query, &live, &min, &max);

    GST_OBJECT_LOCK (self);
    self->live = live;
    latency = self->latency;
    if (latency == 0 && self->frame_duration > 0)
      latency = self->frame_duration;
    GST_OBJECT_UNLOCK (self);

    /* a sample waits at most one frame before it goes out */
    min += latency;
    if (GST_CLOCK_TIME_IS_VALID (max))
      max += latency;

    GST_DEBUG_OBJECT (self, "latency live %d min %" GST_TIME_FORMAT " max %"
        GST_TIME_FORMAT, live, GST_TIME_ARGS (min), GST_TIME_ARGS (max));
    gst_query_set_latency (query, live, min, max);
    return TRUE;
  }

  return gst_pad_query_default (pad, parent, query);
}

/* Starts a new frame slot: acquires a buffer, or starts dropping when the
 * pool is empty and the element is leaky. */
static GstFlowReturn
gst_leaky_frame_pool_start_frame (GstLeakyFramePool * self,
    GstBufferPool * pool, gboolean leaky)
{
  GstBufferPoolAcquireParams params = { 0, };
  GstFlowReturn ret;

  if (leaky)
    params.flags = GST_BUFFER_POOL_ACQUIRE_FLAG_DONTWAIT;

  ret = gst_buffer_pool_acquire_buffer (pool, &self->frame, &params);
  if (G_LIKELY (ret == GST_FLOW_OK)) {
    if (G_UNLIKELY (!gst_buffer_map (self->frame, &self->frame_map,
                GST_MAP_WRITE))) {
      gst_buffer_unref (self->frame);
      self->frame = NULL;
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          (_("Could not write into a frame of the pool.")), (NULL));
      return GST_FLOW_ERROR;
    }
    return GST_FLOW_OK;
  }

  if (ret == GST_FLOW_EOS && leaky) {
    /* the pool is empty and may not grow */
    self->dropping = TRUE;
    return GST_FLOW_OK;
  }

  if (ret != GST_FLOW_FLUSHING) {
    GST_ELEMENT_ERROR (self, RESOURCE, FAILED,
        (_("Could not get a frame from the pool.")),
        ("acquire returned %s", gst_flow_get_name (ret)));
    ret = GST_FLOW_ERROR;
  }

  return ret;
}

static GstFlowReturn
gst_leaky_frame_pool_chain (GstPad * pad, GstObject * parent,
    GstBuffer * buffer)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (parent);
  GstFlowReturn ret = GST_FLOW_OK;
  GstBufferPool *pool;
  GstClockTime pts, threshold;
  GstMapInfo map;
  gboolean leaky, discont;
  const guint8 *src;
  guint bpf, spf;
  gsize remaining;

  if (G_UNLIKELY (!self->configured)) {
    GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
        (_("The audio format was not negotiated before the audio arrived.")),
        (NULL));
    gst_buffer_unref (buffer);
    return GST_FLOW_NOT_NEGOTIATED;
  }

  bpf = GST_AUDIO_INFO_BPF (&self->info);
  spf = self->spf;

  buffer = gst_audio_buffer_clip (buffer, &self->segment,
      GST_AUDIO_INFO_RATE (&self->info), bpf);
  if (!buffer)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  leaky = self->leaky == GST_LEAKY_FRAME_POOL_LEAKY_DROP;
  threshold = self->alignment_threshold;
  /* only this thread replaces the pool while streaming: no ref needed */
  pool = self->pool;
  GST_OBJECT_UNLOCK (self);

  if (G_UNLIKELY (!pool)) {
    gst_buffer_unref (buffer);
    return GST_FLOW_FLUSHING;
  }

  pts = GST_BUFFER_PTS (buffer);
  discont = GST_BUFFER_IS_DISCONT (buffer);

  if (!self->need_resync && !discont && GST_CLOCK_TIME_IS_VALID (pts)) {
    GstClockTime expected, diff;

    expected = gst_leaky_frame_pool_time_at (self, self->position);
    diff = pts > expected ? pts - expected : expected - pts;
    if (G_UNLIKELY (diff > threshold)) {
      GST_INFO_OBJECT (self, "timestamp %" GST_TIME_FORMAT " is %"
          GST_TIME_FORMAT " away from the expected %" GST_TIME_FORMAT
          ", resyncing", GST_TIME_ARGS (pts), GST_TIME_ARGS (diff),
          GST_TIME_ARGS (expected));
      discont = TRUE;
    }
  }

  if (G_UNLIKELY (self->need_resync || discont)) {
    GstClockTime base;

    ret = gst_leaky_frame_pool_drain (self);
    if (ret != GST_FLOW_OK)
      goto done;

    if (GST_CLOCK_TIME_IS_VALID (pts))
      base = pts;
    else if (!self->need_resync)
      base = gst_leaky_frame_pool_time_at (self, self->position);
    else
      base = self->segment.start;

    GST_DEBUG_OBJECT (self, "resync at %" GST_TIME_FORMAT,
        GST_TIME_ARGS (base));
    gst_leaky_frame_pool_rebase (self, base);
    self->need_resync = FALSE;
    self->discont_pending = TRUE;
  }

  if (!gst_buffer_map (buffer, &map, GST_MAP_READ)) {
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        (_("Could not read the incoming audio.")), (NULL));
    ret = GST_FLOW_ERROR;
    goto done;
  }

  if (G_UNLIKELY (map.size % bpf))
    GST_WARNING_OBJECT (self, "ignoring %" G_GSIZE_FORMAT " trailing bytes "
        "that are not a whole sample", map.size % bpf);

  src = map.data;
  remaining = map.size / bpf;

  while (remaining > 0) {
    guint take;

    if (!self->frame && !self->dropping) {
      ret = gst_leaky_frame_pool_start_frame (self, pool, leaky);
      if (ret != GST_FLOW_OK)
        break;
    }

    take = MIN (remaining, spf - self->fill);
    if (self->frame) {
      memcpy (self->frame_map.data + (gsize) self->fill * bpf, src,
          (gsize) take * bpf);
      self->qos_processed += take;
    }
    self->fill += take;
    self->position += take;
    src += (gsize) take *bpf;
    remaining -= take;

    if (self->fill == spf) {
      if (self->frame) {
        ret = gst_leaky_frame_pool_push_frame (self);
        if (ret != GST_FLOW_OK)
          break;
      } else {
        gst_leaky_frame_pool_finish_drop (self);
      }
    }
  }

  gst_buffer_unmap (buffer, &map);

done:
  gst_leaky_frame_pool_publish_stats (self);
  gst_buffer_unref (buffer);

  return ret;
}

static GstStateChangeReturn
gst_leaky_frame_pool_change_state (GstElement * element,
    GstStateChange transition)
{
  GstLeakyFramePool *self = GST_LEAKY_FRAME_POOL (element);
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:
      gst_segment_init (&self->segment, GST_FORMAT_TIME);
      self->need_resync = TRUE;
      self->discont_pending = TRUE;
      self->qos_processed = 0;
      self->qos_dropped = 0;
      g_atomic_int_set (&self->counters->allocated, 0);
      GST_OBJECT_LOCK (self);
      self->flushing = FALSE;
      self->live = FALSE;
      self->frames_out = 0;
      self->pending_out = 0;
      self->frames_dropped = 0;
      self->samples_dropped = 0;
      GST_OBJECT_UNLOCK (self);
      break;
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      /* wake up a streaming thread waiting for a frame (leaky=no) so that
       * the pads can deactivate */
      gst_leaky_frame_pool_set_flushing (self, TRUE);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  switch (transition) {
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      gst_leaky_frame_pool_discard (self);
      gst_leaky_frame_pool_release_pool (self);
      gst_audio_info_init (&self->info);
      self->configured = FALSE;
      self->spf = 0;
      self->pool_max = 0;
      GST_OBJECT_LOCK (self);
      self->latency = 0;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      break;
  }

  return ret;
}
