/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SOCKETIO_ELEMENTS_H__
#define __GST_SOCKETIO_ELEMENTS_H__

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <gst/gst.h>

G_BEGIN_DECLS
/* The compressed audio socketiosink sends and socketiosrc outputs: whole
 * packets, so framed or parsed streams only. */
#define GST_SIO_COMPRESSED_CAPS "audio/x-opus; " \
    "audio/x-flac, framed = (boolean) true; " \
    "audio/mpeg, mpegversion = (int) 1, parsed = (boolean) true; " \
    "audio/mpeg, mpegversion = (int) { 2, 4 }, framed = (boolean) true; " \
    "audio/x-vorbis; audio/x-speex; audio/x-alaw; audio/x-mulaw; " \
    "audio/AMR; audio/AMR-WB; audio/x-ac3, framed = (boolean) true; " \
    "audio/x-eac3, framed = (boolean) true"

/* Binds the plugin's translations once, whichever element registers first. */
void gst_socketio_element_init (GstPlugin * plugin);

GST_ELEMENT_REGISTER_DECLARE (socketiosink);
GST_ELEMENT_REGISTER_DECLARE (socketiosrc);
GST_ELEMENT_REGISTER_DECLARE (leakyframepool);
GST_ELEMENT_REGISTER_DECLARE (ackqueue);

G_END_DECLS
#endif /* __GST_SOCKETIO_ELEMENTS_H__ */
