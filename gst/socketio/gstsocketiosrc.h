/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SOCKETIO_SRC_H__
#define __GST_SOCKETIO_SRC_H__

#include <gst/gst.h>
#include <gst/base/gstbasesrc.h>

#include "gstsioshared.h"

G_BEGIN_DECLS
#define GST_TYPE_SOCKETIO_SRC (gst_socketio_src_get_type ())
G_DECLARE_FINAL_TYPE (GstSocketIoSrc, gst_socketio_src, GST, SOCKETIO_SRC,
    GstBaseSrc);

struct _GstSocketIoSrc
{
  GstBaseSrc parent;

  /* properties, under the object lock */
  gchar *location;
  gchar *nsp;
  gchar *event;
  gchar *payload_key;
  GstClockTime latency;
  GstCaps *start_caps;
  GstStructure *connection;

  /* state-change thread: set in start(), cleared in stop() */
  GstSioShared *shared;
  gchar *event_claim;           /* gst_sio_shared_claim_event() */
  gchar *display_location;
  /* the socketiosink of its own, when there is no other to listen on */
  GstElement *connection_sink;

  /* read by the network thread while attached; written in start() only */
  gchar *listen_event;
  gchar *listen_key;
  GstClockTime bound;           /* latency */

  /* streaming thread */
  GstCaps *caps;                /* what was set on the pad */
  GstClockTime next_pts;
  gboolean started_stream;      /* create() ran since start() */

  /* shared with the network thread, under lock */
  GMutex lock;
  GCond cond;
  GQueue queue;                 /* QueuedAudio */
  GstClockTime queued_duration;
  gsize queued_bytes;
  gsize max_queued_bytes;
  gboolean flushing;
  gboolean detached;
  gboolean bad_event_warned;
  gboolean drop_warned;
  guint64 events;
  guint64 bytes;
  guint64 buffers;
  guint64 dropped_events;
  guint64 dropped_bytes;
  guint64 bad_events;
  guint64 deferred_acks;
  guint64 gaps;
  GstClockTime max_queued_duration;
  /* network thread only: the last metadata seen and its caps */
  gchar *last_caps_key;
  GstCaps *last_caps;
  /* raw audio in last_caps: bytes per frame and rate (0 when compressed) */
  gint last_bpf;
  gint last_rate;
};

G_END_DECLS
#endif /* __GST_SOCKETIO_SRC_H__ */
