/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifndef __GST_SOCKETIO_SINK_H__
#define __GST_SOCKETIO_SINK_H__

#include <gst/gst.h>
#include <gst/base/gstbasesink.h>
#include <gst/base/gstadapter.h>
#include <gst/base/gstqueuearray.h>
#include <gst/audio/audio.h>

#include "sio-client.h"

G_BEGIN_DECLS
/**
 * GstSocketIoSinkDisconnectedPolicy:
 * @GST_SOCKETIO_SINK_DISCONNECTED_BLOCK: wait for the connection to come
 *     back: upstream sees backpressure
 * @GST_SOCKETIO_SINK_DISCONNECTED_DROP: discard the audio that arrives while
 *     disconnected, counting it in stats
 *
 * What socketiosink does with audio while it reconnects and no ackqueue
 * upstream retains it.
 */
    typedef enum
{
  GST_SOCKETIO_SINK_DISCONNECTED_BLOCK,
  GST_SOCKETIO_SINK_DISCONNECTED_DROP,
} GstSocketIoSinkDisconnectedPolicy;

#define GST_TYPE_SOCKETIO_SINK_DISCONNECTED_POLICY \
    (gst_socketio_sink_disconnected_policy_get_type ())
GType gst_socketio_sink_disconnected_policy_get_type (void);

/**
 * GstSocketIoTransports:
 * @GST_SOCKETIO_TRANSPORTS_AUTO: WebSocket; HTTP long-polling (upgraded to
 *     WebSocket when the server offers it) when the server refuses the
 *     WebSocket handshake
 * @GST_SOCKETIO_TRANSPORTS_WEBSOCKET: WebSocket only
 * @GST_SOCKETIO_TRANSPORTS_POLLING: HTTP long-polling only
 * @GST_SOCKETIO_TRANSPORTS_POLLING_UPGRADE: long-polling first, then the
 *     upgrade to WebSocket when the server offers it (socket.io-client's
 *     default)
 *
 * Which Engine.IO transports socketiosink uses.
 */
typedef enum
{
  GST_SOCKETIO_TRANSPORTS_AUTO,
  GST_SOCKETIO_TRANSPORTS_WEBSOCKET,
  GST_SOCKETIO_TRANSPORTS_POLLING,
  GST_SOCKETIO_TRANSPORTS_POLLING_UPGRADE,
} GstSocketIoTransports;

#define GST_TYPE_SOCKETIO_TRANSPORTS (gst_socketio_transports_get_type ())
GType gst_socketio_transports_get_type (void);

#define GST_TYPE_SOCKETIO_SINK (gst_socketio_sink_get_type ())
G_DECLARE_FINAL_TYPE (GstSocketIoSink, gst_socketio_sink, GST, SOCKETIO_SINK,
    GstBaseSink);

struct _GstSocketIoSink
{
  GstBaseSink parent;

  /* properties, under the object lock */
  gchar *location;
  gchar *nsp;
  gchar *auth;
  gchar *event;
  gchar *payload_key;
  guint64 batch_duration;
  guint max_batch_bytes;
  gboolean ack;
  guint max_in_flight;
  guint64 ack_timeout;
  guint64 connect_timeout;
  gboolean reconnect;
  guint64 reconnect_delay;
  guint64 reconnect_delay_max;
  guint max_reconnect_attempts;
  GstSocketIoSinkDisconnectedPolicy disconnected_policy;
  guint max_incoming_message_bytes;
  guint max_pending_server_events;
  GstSocketIoTransports transports;
  gchar *ssl_ca_file;
  gboolean ssl_use_system_ca_file;
  GTlsDatabase *tls_database;
  GTlsInteraction *tls_interaction;
  gboolean ssl_strict;
  GstStructure *extra_headers;
  gchar *user_agent;
  gchar **cookies;
  gchar *proxy;
  gchar *proxy_id;
  gchar *proxy_pw;              /* a secret: never logged nor shown */
  gboolean retry_first_connection;
  gboolean reconnect_on_server_disconnect;
  gboolean multiplex;
  gchar *stream_id_setting;     /* the stream-id property; NULL: random */
  /* the id the events carry: made (or copied from the property) at each
   * READY→PAUSED, when seq numbering restarts */
  gchar *stream_id;

  /* what the properties resolve to, set at NULL→READY and READY→PAUSED
   * (validate_settings), under the object lock; the client copies them */
  GTlsDatabase *configured_tls_database;        /* NULL: the system's */
  gchar **configured_headers;   /* name, value, ..., NULL; or NULL */
  gchar *configured_proxy;      /* with its scheme; NULL: environment's */
  gchar *engineio_path;         /* for messages: the Engine.IO path */

  /* created in init, freed in finalize: cookies the servers set outlive
   * connections and state changes; only the running client's network
   * thread uses it */
  SoupCookieJar *cookie_jar;

  /* streaming thread */
  /* BatchSeq, by value: which buffers the batch holds */
  GstQueueArray *batch_seqs;
  guint render_generation;      /* the connection (epoch) render last saw */
  gboolean drop_announced;
  GstAudioInfo info;
  gboolean info_valid;          /* raw or compressed caps set */
  /* compressed caps: one packet per event, "caps" in place of the raw
   * format, and the codec's headers (from streamheader or codec_data, or
   * HEADER buffers) sent as one audio_header event before the first audio
   * of each connection */
  gboolean compressed;
  gint compressed_rate;         /* the caps' rate, 0 when they have none */
  gchar *caps_text;             /* the caps without their header blobs */
  gboolean caps_headers;        /* the headers came with the caps */
  GByteArray *headers;          /* the header buffers, one after another */
  GArray *header_sizes;         /* guint, one per header buffer */
  guint headers_epoch;          /* connection they were last sent on */
  GstAdapter *batch;
  /* where the last buffer that went past the empty batch ended, NONE
   * when the batch saw the newest buffer: the pts the batch would have
   * interpolated for an untimed buffer that follows */
  GstClockTime bypass_end_pts;
  gboolean draining;            /* EOS: the last batches, nothing follows */
  gchar *args_prefix;           /* ["event",{"key":{placeholder},"seq": */
  gchar *args_format;           /* ,"format":…,"channels":…,"stream_id":…}] */
  gsize args_prefix_length, args_format_length;
  gchar *args_scratch;          /* each event's arguments, built here */
  gsize args_scratch_size;
  /* ClientMap, for the events' buffers: the streaming thread takes,
   * whichever thread writes gives back (at most SPARE_MAPS_MAX) */
  GstAtomicQueue *spare_maps;
  gchar *engineio_url;
  gchar *configured_nsp;
  /* the location without query or user info: the only form that appears
   * in messages and logs; set at NULL→READY, read by every thread */
  gchar *display_location;
  gboolean closed_at_eos;
  /* what socketiosrc finds the client by; set and cleared with client,
   * by the streaming and state-change threads */
  struct _GstSioShared *shared;
  /* where the audio sent so far ends (pts + duration of the newest fresh
   * buffer), NONE after a start or a flush; and how much audio went
   * missing before the next event (a pts hole, or batches dropped) */
  GstClockTime expected_pts;
  GstClockTime missing_duration;
  gboolean check_replay_gap;    /* a replay was asked for: check its start */

  /* shared with the network thread, under lock */
  GMutex lock;
  GCond cond;
  SioClient *client;
  gboolean unlocking;           /* unlock() called, unlock_stop() not yet */
  SioClientState state;
  gboolean error_posted;
  guint in_flight;
  guint generation;             /* epoch of the last CONNECTED */
  gboolean has_connected;
  gboolean upstream_retains;    /* an ackqueue answered GstSioAckSupport */
  /* EmitRecord, the emits in flight in token order, from emits_head on
   * (emits_live of them not done yet) */
  GArray *emits;
  guint emits_head;
  guint emits_live;
  /* buffer seq -> parts not yet done (in flight or batched) << 1 | failed:
   * only buffers with a part still outstanding have an entry */
  GHashTable *unacked_parts;
  /* the lowest seq whose audio an emit failed to deliver (lost, ack
   * timeout) since the last replay: where the next replay starts */
  guint64 lowest_failed_seq;
  gboolean have_failed_seq;
  guint timeouts_in_a_row;      /* audio ack timeouts since the last ack */
  gboolean stall_announced;     /* a whole window timed out: warned */
  /* the application's emits (the emit action signal) not yet reported:
   * id -> event name; at most MAX_APP_EMITS */
  GHashTable *app_emits;
  guint64 last_app_emit_id;
  guint64 unconfirmed;          /* emits lost or timed out since a replay */
  GstClockTime unconfirmed_duration;
  guint wake_threshold;         /* on_emit_done() wakes waiters at or below */
  gboolean refilling;           /* woken by a full window, not yet full again */
  guint cond_waiters;           /* threads in wait_locked(), under lock */
  gboolean window_wake_sent;    /* an ack woke them since they last waited */
  guint64 next_seq;
  guint64 emitted;
  guint64 acked;
  guint64 written_without_ack;
  guint64 ack_timeouts;
  guint64 lost;
  guint64 dropped_buffers;
  guint64 dropped_bytes;
  GstClockTime acked_end_pts;   /* end of the newest acknowledged audio */
  guint64 gaps;                 /* events sent with discont */
  GstClockTime gaps_duration;   /* the missing_duration they announced */
  guint64 reconnects;
  guint64 disconnects;
  guint64 replays;
  guint64 acks_upstream;
  guint64 audio_bytes;
  guint64 server_events;
  guint64 server_events_dropped;
  guint pending_server_events;  /* posted, not yet freed by the app */
  gboolean server_events_dropping;
  guint64 lost_announced;
  guint64 last_rtt_us;
  guint64 rtt_sum_us;
  guint64 rtt_count;
};

G_END_DECLS
#endif /* __GST_SOCKETIO_SINK_H__ */
