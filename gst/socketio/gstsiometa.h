/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SIO_META_H__
#define __GST_SIO_META_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstSioSeqMeta:
 * @meta: the parent #GstMeta
 * @seq: the sequence number the ackqueue gave this buffer. It increases by
 *   one for every buffer the ackqueue pushes for the first time, starting at 0
 *   when the ackqueue is created; it is never reset (not by flushes, not by
 *   state changes), so a stale acknowledgement can never release a newer
 *   buffer.
 * @replay: %TRUE if this buffer is pushed again after a #GstSioReplay request:
 *   the same data, with the same @seq, was already pushed once.
 *
 * The protocol meta of gst-socketio. The ackqueue puts one on every buffer it
 * pushes; socketiosink reads @seq from each buffer it receives and sends it
 * back upstream in a #GstSioAck event once the server acknowledged the data
 * (see gstsioevents.h). The server sees @seq too, so it can recognise
 * duplicates after a replay.
 *
 * The meta has no tags: it describes the buffer as a whole and survives any
 * transformation of the data. It is copied by gst_buffer_copy() and every
 * other full copy (so gst_buffer_make_writable() keeps it); a copy of part of
 * a buffer (gst_buffer_copy_region() on a sub-range) does not carry it, since
 * acknowledging that part would release the whole buffer.
 *
 * The meta is registered the first time any of the functions below runs.
 */
typedef struct _GstSioSeqMeta GstSioSeqMeta;

struct _GstSioSeqMeta
{
  GstMeta meta;

  guint64 seq;
  gboolean replay;
};

GType gst_sio_seq_meta_api_get_type (void);
#define GST_SIO_SEQ_META_API_TYPE (gst_sio_seq_meta_api_get_type ())

const GstMetaInfo *gst_sio_seq_meta_get_info (void);
#define GST_SIO_SEQ_META_INFO (gst_sio_seq_meta_get_info ())

/**
 * gst_buffer_get_sio_seq_meta:
 * @buf: a #GstBuffer
 *
 * Returns: (transfer none) (nullable): the #GstSioSeqMeta of @buf, or %NULL.
 */
#define gst_buffer_get_sio_seq_meta(buf) \
    ((GstSioSeqMeta *) gst_buffer_get_meta ((buf), GST_SIO_SEQ_META_API_TYPE))

GstSioSeqMeta *gst_buffer_add_sio_seq_meta (GstBuffer * buffer, guint64 seq);

G_END_DECLS

#endif /* __GST_SIO_META_H__ */
