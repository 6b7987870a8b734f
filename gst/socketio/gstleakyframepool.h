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

#ifndef __GST_LEAKY_FRAME_POOL_H__
#define __GST_LEAKY_FRAME_POOL_H__

#include <gst/gst.h>
#include <gst/audio/audio.h>

G_BEGIN_DECLS
/**
 * GstLeakyFramePoolLeaky:
 * @GST_LEAKY_FRAME_POOL_LEAKY_NO: wait for downstream to release a frame
 * @GST_LEAKY_FRAME_POOL_LEAKY_DROP: drop the incoming audio, never wait
 *
 * What leakyframepool does when every frame of its pool is in use.
 */
    typedef enum
{
  GST_LEAKY_FRAME_POOL_LEAKY_NO = 0,
  GST_LEAKY_FRAME_POOL_LEAKY_DROP = 1,
} GstLeakyFramePoolLeaky;

#define GST_TYPE_LEAKY_FRAME_POOL_LEAKY (gst_leaky_frame_pool_leaky_get_type ())
GType gst_leaky_frame_pool_leaky_get_type (void);

#define GST_TYPE_LEAKY_FRAME_POOL (gst_leaky_frame_pool_get_type ())
G_DECLARE_FINAL_TYPE (GstLeakyFramePool, gst_leaky_frame_pool,
    GST, LEAKY_FRAME_POOL, GstElement);

G_END_DECLS
#endif /* __GST_LEAKY_FRAME_POOL_H__ */
