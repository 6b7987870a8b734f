/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Pipelines the integration tests run against the test servers of
 * test-server.h, shared by socketiosink.c, recovery.c, state-cycles.c and
 * transports.c. Everything runs in the test's thread; the pipelines'
 * streaming and network threads are the elements' own. */

#ifndef __SIO_TEST_PIPELINE_H__
#define __SIO_TEST_PIPELINE_H__

#include <gst/gst.h>
#include <gst/app/gstappsrc.h>

#include "test-server.h"

G_BEGIN_DECLS
#define AUDIO_CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1," \
    "layout=interleaved"
/* appsrc ! socketiosink, fed by the test: the bytes pushed are counted and
 * hashed, to compare with what the server received. */
    typedef struct
{
  GstElement *pipeline;
  GstElement *src;
  GstElement *sink;
  GstBus *bus;
  GChecksum *sha;
  guint64 bytes;
  GRand *rand;
  GstClockTime pts;
} SioTestStream;

SioTestStream *sio_test_stream_new (SioTestServer * server,
    const gchar * sink_props);
/* The same to any location (https://, wss://, a proxy's client...). */
SioTestStream *sio_test_stream_new_for_location (const gchar * location,
    const gchar * sink_props);
void sio_test_stream_free (SioTestStream * stream);
void sio_test_stream_play (SioTestStream * stream);
/* Pushes @count buffers of @size bytes of pseudo-random audio. */
GstFlowReturn sio_test_stream_push (SioTestStream * stream, guint count,
    gsize size);
GstMessage *sio_test_stream_wait_message (SioTestStream * stream,
    GstMessageType types, GstClockTime timeout);
/* Sends EOS and waits for it (or an error, which fails the test). */
void sio_test_stream_finish (SioTestStream * stream);
/* The element error the pipeline posts next. */
GError *sio_test_stream_wait_error (SioTestStream * stream,
    GstClockTime timeout);
GstStructure *sio_test_stream_sink_stats (SioTestStream * stream);
guint64 sio_test_stats_uint64 (GstStructure * stats, const gchar * field);
gboolean sio_test_json_array_has_string (JsonObject * object,
    const gchar * member, const gchar * value);
/* Every byte arrives, in order, and the server saw a clean leave. */
void sio_test_check_delivery (SioTestServer * server, SioTestStream * stream,
    guint64 events);

/* A pipeline launched from a description, PLAYING: @description names
 * its sink "sink", its queue (queue or ackqueue) "queue" and its
 * leakyframepool, if any, "pool". */
typedef struct
{
  GstElement *pipeline;
  GstElement *sink;
  GstElement *queue;
  GstElement *pool;
  GstBus *bus;
} SioTestLive;

SioTestLive *sio_test_live_launch (const gchar * description);
/* "@head ! ackqueue name=queue @queue ! socketiosink name=sink @sink" */
SioTestLive *sio_test_live_new (SioTestServer * server, const gchar * head,
    const gchar * queue, const gchar * sink);
void sio_test_live_free (SioTestLive * live);
/* A guint64 field of an element's "stats". */
guint64 sio_test_element_stat (GstElement * element, const gchar * field);
/* Waits for an element message named @name (or an error, which fails). */
gint64 sio_test_live_wait_element_message (SioTestLive * live,
    const gchar * name, GstClockTime timeout);
void sio_test_live_wait_eos (SioTestLive * live, GstClockTime timeout);

/* @count cycles of a live audiotestsrc ! socketiosink (with @sink_props,
 * may be NULL) going PLAYING, then NULL; each NULL must take under 200
 * ms, and no fd or thread may be left behind. */
void sio_test_run_null_cycles (const gchar * what, const gchar * url,
    const gchar * sink_props, guint count);

G_END_DECLS
#endif
