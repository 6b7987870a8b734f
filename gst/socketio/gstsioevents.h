/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SIO_EVENTS_H__
#define __GST_SIO_EVENTS_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/*
 * The acknowledgement protocol between ackqueue and a protocol-aware sink
 * (socketiosink) — the contract both sides implement.
 *
 * 1. Every buffer the ackqueue pushes carries a #GstSioSeqMeta (gstsiometa.h)
 *    whose seq identifies it.
 *
 * 2. Retention is negotiated, not assumed. Before it pushes its first buffer
 *    (after every start, flush and RECONFIGURE) the ackqueue sends a
 *    #GstSioAckSupport query downstream from its streaming thread. A sink that
 *    will acknowledge buffers answers it: it sets "supported" to %TRUE with
 *    gst_sio_ack_support_query_set_supported() and returns %TRUE from its query
 *    handler (for a #GstBaseSink, in the query vfunc, before chaining up).
 *    Elements in between forward custom queries by default. If the query is
 *    not answered, or answered %FALSE, the ackqueue behaves like a plain queue
 *    and keeps nothing. The query is not serialized: answer it at once, from
 *    whatever state, without waiting on the data flow.
 *
 * 3. For every buffer it received whose data is safe (the server acknowledged
 *    the emit that carried it), the sink pushes a #GstSioAck upstream with the
 *    buffer's seq. Acks may be sent from any thread and in any order; an ack
 *    for a seq the ackqueue does not hold (already acked, dropped, flushed) is
 *    ignored. A sink that does not want to wait (for instance a buffer it
 *    dropped because it could never be sent) acks it too, so it is not kept.
 *
 * 4. After the connection was lost and re-established, the sink pushes a
 *    #GstSioReplay upstream with the lowest seq it has not had acknowledged.
 *    The ackqueue then pushes again, from its streaming thread, every buffer
 *    it still holds whose seq is >= from-seq, in seq order, each with the
 *    meta's replay flag set, before any new data. A second replay request
 *    during a replay restarts it from its own from-seq. Data the ackqueue had
 *    to drop (leaky=downstream) cannot be replayed; the ackqueue posts a
 *    warning. DISCONT never triggers a replay: it only marks dropped data.
 *
 * 5. Once EOS was pushed, the ackqueue still releases buffers on acks, but it
 *    cannot replay any more: GStreamer pads refuse data after EOS. A sink that
 *    reconnects while it drains on EOS must re-send what it still holds
 *    itself, or report the loss.
 *
 * An ackqueue placed downstream of another ackqueue answers the query with
 * %FALSE: it consumes the acks it receives, so the upstream one must not wait
 * for them.
 */

/**
 * GST_SIO_ACK_EVENT_NAME:
 *
 * Name of the structure of a #GstSioAck event: a non-serialized
 * %GST_EVENT_CUSTOM_UPSTREAM event with one field, "seq" (guint64), sent by a
 * sink to say the buffer with that seq is safe and can be released.
 */
#define GST_SIO_ACK_EVENT_NAME "GstSioAck"

/**
 * GST_SIO_REPLAY_EVENT_NAME:
 *
 * Name of the structure of a #GstSioReplay event: a non-serialized
 * %GST_EVENT_CUSTOM_UPSTREAM event with one field, "from-seq" (guint64), sent
 * by a sink after a reconnection to get every retained buffer from that seq
 * on pushed again, in order, flagged as replay.
 */
#define GST_SIO_REPLAY_EVENT_NAME "GstSioReplay"

/**
 * GST_SIO_ACK_SUPPORT_QUERY_NAME:
 *
 * Name of the structure of a #GstSioAckSupport query: a %GST_QUERY_CUSTOM
 * query (not serialized) sent downstream, with one field, "supported"
 * (gboolean, %FALSE until a sink sets it).
 */
#define GST_SIO_ACK_SUPPORT_QUERY_NAME "GstSioAckSupport"

GstEvent *gst_sio_ack_event_new (guint64 seq);
gboolean gst_sio_ack_event_parse (GstEvent * event, guint64 * seq);

GstEvent *gst_sio_replay_event_new (guint64 from_seq);
gboolean gst_sio_replay_event_parse (GstEvent * event, guint64 * from_seq);

GstQuery *gst_sio_ack_support_query_new (void);
gboolean gst_sio_ack_support_query_parse (GstQuery * query,
    gboolean * supported);
gboolean gst_sio_ack_support_query_set_supported (GstQuery * query,
    gboolean supported);

G_END_DECLS

#endif /* __GST_SIO_EVENTS_H__ */
