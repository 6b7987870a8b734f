/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_ACK_QUEUE_H__
#define __GST_ACK_QUEUE_H__

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ACK_QUEUE (gst_ack_queue_get_type ())
G_DECLARE_FINAL_TYPE (GstAckQueue, gst_ack_queue, GST, ACK_QUEUE, GstElement)

/**
 * GstAckQueueLeaky:
 * @GST_ACK_QUEUE_NO_LEAK: block upstream until there is room
 * @GST_ACK_QUEUE_LEAK_UPSTREAM: drop the incoming buffer
 * @GST_ACK_QUEUE_LEAK_DOWNSTREAM: drop the oldest buffers held, retained
 *   (pushed, not yet acknowledged) ones before queued ones
 *
 * What the ackqueue does with a buffer that arrives when it is full.
 */
typedef enum
{
  GST_ACK_QUEUE_NO_LEAK,
  GST_ACK_QUEUE_LEAK_UPSTREAM,
  GST_ACK_QUEUE_LEAK_DOWNSTREAM
} GstAckQueueLeaky;

#define GST_TYPE_ACK_QUEUE_LEAKY (gst_ack_queue_leaky_get_type ())
GType gst_ack_queue_leaky_get_type (void);

G_END_DECLS

#endif /* __GST_ACK_QUEUE_H__ */
