/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/**
 * SECTION:element-socketiosrc
 * @title: socketiosrc
 *
 * Outputs, as a live source, the audio a Socket.IO server sends back as
 * binary events (text-to-speech replies, an echo). When a socketiosink in
 * the same process has the same #GstSocketIoSrc:location and
 * #GstSocketIoSrc:namespace strings and is started (in the same pipeline,
 * sinks start before sources), the source listens on that sink's
 * connection, which the sink makes and keeps (transports, TLS, headers,
 * reconnection). Otherwise it connects itself, through a socketiosink of
 * its own that is given no audio, set up with #GstSocketIoSrc:connection
 * (any of socketiosink's settings: auth, transports, ssl-ca-file,
 * extra-headers...); that sink's messages (socketio-connected, server
 * events, connection errors) are posted by the source.
 *
 * The events it takes are named #GstSocketIoSrc:event, with the shape
 * socketiosink sends:
 *
 *     ["audio_data", {"audio_data": <binary>, "format": "S16LE",
 *      "rate": 16000, "channels": 1}]
 *
 * for raw interleaved audio, or with `"caps": "audio/x-opus, ..."` (and
 * optionally `"packet_sizes": [...]`, the attachment's packets) in place
 * of format, rate and channels for compressed audio. Other server events
 * go on the bus as the sink's `socketio-event` messages. An event reaches
 * one source only: a second socketiosrc with the same location, namespace
 * and event in the process fails to start, saying so (`tee` the first
 * one's output instead).
 *
 * Timestamps: the first buffer after a pause is stamped with the running
 * time it arrived at; the next ones follow on without a hole as long as
 * they arrive at most #GstSocketIoSrc:latency late, so audio that comes in
 * bursts plays smoothly. The source reports #GstSocketIoSrc:latency as
 * its latency.
 *
 * Memory: at most #GstSocketIoSrc:latency of audio waits to be pushed
 * (and at most 1 MiB of it, which bounds audio whose duration the server
 * does not say).
 * A server that sends faster than the pipeline plays is held back by the
 * acknowledgements it asks for (`emitWithAck` or a callback): an event
 * that arrives past the bound is kept, but its ack is sent only once the
 * audio ahead of it has been pushed, so a server that waits for acks
 * sends no faster than real time. Audio from a server that asks for no
 * ack, or that keeps sending without waiting, is dropped past four times
 * the bound (or 4 MiB), and counted (#GstSocketIoSrc:stats).
 *
 * Before the first audio, when PLAYING starts, it sets #GstSocketIoSrc:caps
 * (S16LE 16 kHz mono by default) and sends a GAP event, so that the sinks
 * downstream preroll: otherwise they would wait for a buffer, holding the
 * pipeline, and the socketiosink whose audio makes the server answer, in
 * PAUSED. The server's audio then brings its own caps.
 *
 * ## Example
 * |[
 * gst-launch-1.0 audiotestsrc is-live=true ! audio/x-raw,rate=16000,channels=1 \
 *     ! socketiosink location=http://127.0.0.1:5000 \
 *   socketiosrc location=http://127.0.0.1:5000 ! audioconvert ! autoaudiosink
 * ]| Sends a tone and plays what the server sends back.
 */

/* Threads and locks. The network thread of the shared connection calls
 * on_event() (with the client's listener lock held) and takes self->lock
 * to queue; the streaming thread takes self->lock in create() and calls
 * gst_sio_shared_ack_event() after dropping it; start()/stop() call
 * gst_sio_shared_attach()/detach() without it. Lock order: the registry,
 * then the client's listener lock, then self->lock; self->lock is never
 * held while calling into gstsioshared. The object lock guards the
 * properties only. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <string.h>
#include <glib/gi18n-lib.h>

#include <gst/audio/audio.h>
#include <json-glib/json-glib.h>

#include "gstsocketioelements.h"
#include "gstsocketiosrc.h"
#include "sio-protocol.h"

GST_DEBUG_CATEGORY_STATIC (gst_socketio_src_debug);
#define GST_CAT_DEFAULT gst_socketio_src_debug

#define DEFAULT_EVENT "audio_data"
#define DEFAULT_PAYLOAD_KEY "audio_data"
#define DEFAULT_NAMESPACE "/"
#define DEFAULT_LATENCY (200 * GST_MSECOND)
#define MIN_LATENCY (10 * GST_MSECOND)
#define MAX_LATENCY (60 * GST_SECOND)
/* past this many times the bound, audio is dropped whatever its ack */
#define HARD_BOUND_FACTOR 4
/* Audio whose duration nobody knows (compressed, without "duration")
 * counts in bytes: past this much its acks wait, past HARD_BOUND_FACTOR
 * times it, it is dropped. */
#define BYTES_BOUND (1024 * 1024)
#define DEFAULT_CAPS "audio/x-raw, format = (string) S16LE, " \
    "rate = (int) 16000, channels = (int) 1, layout = (string) interleaved"

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_NAMESPACE,
  PROP_EVENT,
  PROP_PAYLOAD_KEY,
  PROP_LATENCY,
  PROP_CAPS,
  PROP_CONNECTION,
  PROP_STATS,
};

/* One event's audio, waiting to be pushed. */
typedef struct
{
  GstBuffer *buffer;
  GstCaps *caps;
  GArray *packet_sizes;         /* guint, compressed: NULL for one packet */
  GstClockTime duration;
  GstClockTime arrival;         /* clock time, NONE without a clock */
  guint epoch;
  gint64 ack_id;                /* >= 0: answered when pending is cleared */
  gboolean ack_pending;
} QueuedAudio;

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (GST_AUDIO_CAPS_MAKE (GST_AUDIO_FORMATS_ALL)
        ", layout = (string) interleaved; " GST_SIO_COMPRESSED_CAPS));

#define gst_socketio_src_parent_class parent_class
G_DEFINE_TYPE (GstSocketIoSrc, gst_socketio_src, GST_TYPE_BASE_SRC);

static gboolean socketiosrc_element_init (GstPlugin * plugin);
GST_ELEMENT_REGISTER_DEFINE_CUSTOM (socketiosrc, socketiosrc_element_init);

static void
queued_audio_free (QueuedAudio * audio)
{
  gst_buffer_unref (audio->buffer);
  gst_caps_unref (audio->caps);
  if (audio->packet_sizes)
    g_array_unref (audio->packet_sizes);
  g_free (audio);
}

static void
clear_queue_locked (GstSocketIoSrc * self)
{
  QueuedAudio *audio;

  while ((audio = g_queue_pop_head (&self->queue)) != NULL)
    queued_audio_free (audio);
  self->queued_duration = 0;
  self->queued_bytes = 0;
}

/* Network thread: says once that the server sends what cannot be used. */
static void
bad_event (GstSocketIoSrc * self, const gchar * why)
{
  gboolean warn;

  g_mutex_lock (&self->lock);
  self->bad_events++;
  warn = !self->bad_event_warned;
  self->bad_event_warned = TRUE;
  g_mutex_unlock (&self->lock);
  if (warn)
    GST_ELEMENT_WARNING (self, STREAM, DECODE,
        (_("The Socket.IO server at %s sent a \"%s\" event socketiosrc "
                "cannot play: %s. It is dropped, and so are the next ones "
                "like it (stats counts them)."), self->display_location,
            self->listen_event, why), (NULL));
}

/* Network thread: the caps an event's metadata describes, or NULL. The
 * last ones are kept, with their frame size and rate: every event of a
 * stream says the same. */
static GstCaps *
caps_from_metadata (GstSocketIoSrc * self, JsonObject * meta,
    const gchar ** why)
{
  const gchar *caps_text = NULL, *format = NULL;
  gint64 rate = 0, channels = 0;
  gchar *key;
  GstCaps *caps, *template;

  if (json_object_has_member (meta, "caps")) {
    JsonNode *node = json_object_get_member (meta, "caps");

    if (JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_STRING)
      caps_text = json_node_get_string (node);
    key = g_strdup (caps_text ? caps_text : "");
  } else {
    JsonNode *node;

    node = json_object_get_member (meta, "format");
    if (node && JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_STRING)
      format = json_node_get_string (node);
    node = json_object_get_member (meta, "rate");
    if (node && JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_INT64)
      rate = json_node_get_int (node);
    node = json_object_get_member (meta, "channels");
    if (node && JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_INT64)
      channels = json_node_get_int (node);
    key = g_strdup_printf ("%s/%" G_GINT64_FORMAT "/%" G_GINT64_FORMAT,
        format ? format : "", rate, channels);
  }
  if (self->last_caps && g_strcmp0 (key, self->last_caps_key) == 0) {
    g_free (key);
    return gst_caps_ref (self->last_caps);
  }

  if (caps_text) {
    caps = gst_caps_from_string (caps_text);
  } else if (format && rate > 0 && rate <= G_MAXINT && channels > 0 &&
      channels <= 64) {
    GstAudioFormat audio_format = gst_audio_format_from_string (format);
    GstAudioInfo info;

    if (audio_format == GST_AUDIO_FORMAT_UNKNOWN) {
      caps = NULL;
    } else {
      gst_audio_info_set_format (&info, audio_format, (gint) rate,
          (gint) channels, NULL);
      caps = gst_audio_info_to_caps (&info);
    }
  } else {
    caps = NULL;
  }

  template = gst_static_pad_template_get_caps (&src_template);
  if (caps == NULL || !gst_caps_is_fixed (caps) ||
      !gst_caps_can_intersect (caps, template)) {
    *why = caps_text ? _("its caps are not fixed audio caps socketiosrc "
        "outputs") : _("it has no valid format, rate and channels (nor "
        "caps)");
    gst_clear_caps (&caps);
    gst_caps_unref (template);
    g_free (key);
    return NULL;
  }
  gst_caps_unref (template);
  g_free (self->last_caps_key);
  self->last_caps_key = key;
  gst_caps_replace (&self->last_caps, caps);
  self->last_bpf = self->last_rate = 0;
  if (gst_structure_has_name (gst_caps_get_structure (caps, 0), "audio/x-raw")) {
    GstAudioInfo info;

    if (gst_audio_info_from_caps (&info, caps)) {
      self->last_bpf = GST_AUDIO_INFO_BPF (&info);
      self->last_rate = GST_AUDIO_INFO_RATE (&info);
    }
  }
  return caps;
}

/* Network thread: the duration of @size bytes of the audio of the last
 * caps, from the format for raw audio, from the metadata for compressed
 * audio (NONE when the server gave none). */
static gboolean
audio_duration (GstSocketIoSrc * self, JsonObject * meta, gsize size,
    GstClockTime * duration)
{
  if (self->last_bpf > 0 && self->last_rate > 0) {
    if (size % self->last_bpf != 0)
      return FALSE;
    *duration = gst_util_uint64_scale_int (size / self->last_bpf, GST_SECOND,
        self->last_rate);
    return TRUE;
  }
  *duration = GST_CLOCK_TIME_NONE;
  if (json_object_has_member (meta, "duration")) {
    JsonNode *node = json_object_get_member (meta, "duration");

    if (JSON_NODE_HOLDS_VALUE (node) &&
        json_node_get_value_type (node) == G_TYPE_INT64 &&
        json_node_get_int (node) > 0)
      *duration = (GstClockTime) json_node_get_int (node);
  }
  return TRUE;
}

/* Network thread: "packet_sizes", when it cuts @size bytes into more than
 * one packet; NULL otherwise, and in *@valid whether it was usable. */
static GArray *
packet_sizes_from_metadata (JsonObject * meta, gsize size, gboolean * valid)
{
  JsonArray *list;
  GArray *sizes;
  guint i, n;
  guint64 total = 0;

  *valid = TRUE;
  if (!json_object_has_member (meta, "packet_sizes"))
    return NULL;
  list = json_object_get_array_member (meta, "packet_sizes");
  n = list ? json_array_get_length (list) : 0;
  if (n <= 1) {
    *valid = list != NULL;
    return NULL;
  }
  sizes = g_array_sized_new (FALSE, FALSE, sizeof (guint), n);
  for (i = 0; i < n; i++) {
    JsonNode *node = json_array_get_element (list, i);
    gint64 value;

    if (!JSON_NODE_HOLDS_VALUE (node) ||
        json_node_get_value_type (node) != G_TYPE_INT64 ||
        (value = json_node_get_int (node)) <= 0 || value > G_MAXUINT) {
      *valid = FALSE;
      break;
    }
    {
      guint packet_size = (guint) value;

      total += packet_size;
      g_array_append_val (sizes, packet_size);
    }
  }
  if (*valid && total != size)
    *valid = FALSE;
  if (!*valid) {
    g_array_unref (sizes);
    return NULL;
  }
  return sizes;
}

/* Whether @duration and @bytes of waiting audio pass the bound (times
 * @factor). */
static gboolean
over_bound (GstSocketIoSrc * self, GstClockTime duration, gsize bytes,
    guint factor)
{
  return duration > self->bound * factor || bytes > BYTES_BOUND * factor;
}

/* Network thread: queues @audio, or drops it past the hard bound; whether
 * the server's ack can go at once (the audio then waiting fits the
 * bound) or waits for the audio ahead of it to be pushed. */
static SioEventVerdict
queue_audio_locked (GstSocketIoSrc * self, QueuedAudio * audio)
{
  GstClockTime duration = GST_CLOCK_TIME_IS_VALID (audio->duration) ?
      audio->duration : 0;
  gsize size = gst_buffer_get_size (audio->buffer);

  self->events++;
  self->bytes += size;
  if (over_bound (self, self->queued_duration + duration,
          self->queued_bytes + size, HARD_BOUND_FACTOR) &&
      !g_queue_is_empty (&self->queue)) {
    self->dropped_events++;
    self->dropped_bytes += size;
    queued_audio_free (audio);
    return SIO_EVENT_TAKEN;
  }
  self->queued_duration += duration;
  self->queued_bytes += size;
  self->max_queued_duration = MAX (self->max_queued_duration,
      self->queued_duration);
  self->max_queued_bytes = MAX (self->max_queued_bytes, self->queued_bytes);
  audio->ack_pending = audio->ack_id >= 0 &&
      over_bound (self, self->queued_duration, self->queued_bytes, 1);
  if (audio->ack_pending)
    self->deferred_acks++;
  g_queue_push_tail (&self->queue, audio);
  g_cond_signal (&self->cond);
  return audio->ack_pending ? SIO_EVENT_TAKEN_ACK_LATER : SIO_EVENT_TAKEN;
}

static GstClockTime
clock_now (GstSocketIoSrc * self)
{
  GstClock *clock = gst_element_get_clock (GST_ELEMENT (self));
  GstClockTime now = GST_CLOCK_TIME_NONE;

  if (clock) {
    now = gst_clock_get_time (clock);
    gst_object_unref (clock);
  }
  return now;
}

/* Network thread, for every server event on the shared connection. */
static SioEventVerdict
on_event (SioClient * client, guint epoch, const gchar * name,
    const gchar * args_json, GPtrArray * attachments, gint64 ack_id,
    gpointer user_data)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (user_data);
  JsonParser *parser;
  JsonNode *root, *payload;
  JsonObject *meta;
  const gchar *why = NULL;
  GstCaps *caps;
  GBytes *data;
  QueuedAudio *audio;
  gboolean sizes_valid;
  gint64 index;
  SioEventVerdict verdict;

  if (strcmp (name, self->listen_event) != 0)
    return SIO_EVENT_PASS;

  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, args_json, -1, NULL) ||
      (root = json_parser_get_root (parser)) == NULL ||
      !JSON_NODE_HOLDS_ARRAY (root) ||
      json_array_get_length (json_node_get_array (root)) == 0 ||
      !JSON_NODE_HOLDS_OBJECT (json_array_get_element (json_node_get_array
              (root), 0))) {
    g_object_unref (parser);
    bad_event (self, _("its first argument is not an object"));
    return SIO_EVENT_TAKEN;
  }
  meta = json_array_get_object_element (json_node_get_array (root), 0);
  payload = json_object_get_member (meta, self->listen_key);
  index = payload && JSON_NODE_HOLDS_OBJECT (payload) &&
      json_object_get_boolean_member_with_default (json_node_get_object
      (payload), "_placeholder", FALSE) ?
      json_object_get_int_member_with_default (json_node_get_object (payload),
      "num", -1) : -1;
  if (index < 0 || index >= attachments->len) {
    g_object_unref (parser);
    bad_event (self, _("it has no binary audio under payload-key"));
    return SIO_EVENT_TAKEN;
  }
  data = g_ptr_array_index (attachments, index);

  caps = caps_from_metadata (self, meta, &why);
  if (caps == NULL) {
    g_object_unref (parser);
    bad_event (self, why);
    return SIO_EVENT_TAKEN;
  }
  audio = g_new0 (QueuedAudio, 1);
  audio->caps = caps;
  audio->buffer = gst_buffer_new_wrapped_bytes (data);
  audio->epoch = epoch;
  audio->ack_id = ack_id;
  audio->packet_sizes = packet_sizes_from_metadata (meta,
      g_bytes_get_size (data), &sizes_valid);
  if (!sizes_valid || !audio_duration (self, meta, g_bytes_get_size (data),
          &audio->duration) || g_bytes_get_size (data) == 0) {
    g_object_unref (parser);
    queued_audio_free (audio);
    bad_event (self, _("its audio is empty, not whole samples, or not "
            "what packet_sizes says"));
    return SIO_EVENT_TAKEN;
  }
  g_object_unref (parser);
  audio->arrival = clock_now (self);

  g_mutex_lock (&self->lock);
  verdict = queue_audio_locked (self, audio);
  g_mutex_unlock (&self->lock);
  return verdict;
}

/* Registry lock held: the sink stopped. */
static void
on_detached (gpointer user_data)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (user_data);

  g_mutex_lock (&self->lock);
  self->detached = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
}

static void
release_original (gpointer original, GstMiniObject * forwarded)
{
  gst_message_unref (original);
}

/* Any thread: what the connection's socketiosink posts, posted again by
 * this element (the sink is in no bin, and its messages are this
 * element's business): errors, warnings and element messages (connected,
 * server events...). A forwarded message keeps the original alive, so the
 * sink's bound on server-event messages still holds. */
static GstBusSyncReply
forward_message (GstBus * bus, GstMessage * message, gpointer user_data)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (user_data);
  GstMessage *forwarded = NULL;
  const GstStructure *details = NULL;
  GError *error = NULL;
  gchar *debug = NULL;

  switch (GST_MESSAGE_TYPE (message)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (message, &error, &debug);
      gst_message_parse_error_details (message, &details);
      forwarded = gst_message_new_error_with_details (GST_OBJECT (self),
          error, debug, details ? gst_structure_copy (details) : NULL);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (message, &error, &debug);
      gst_message_parse_warning_details (message, &details);
      forwarded = gst_message_new_warning_with_details (GST_OBJECT (self),
          error, debug, details ? gst_structure_copy (details) : NULL);
      break;
    case GST_MESSAGE_ELEMENT:
      forwarded = gst_message_new_element (GST_OBJECT (self),
          gst_structure_copy (gst_message_get_structure (message)));
      gst_mini_object_weak_ref (GST_MINI_OBJECT (forwarded), release_original,
          gst_message_ref (message));
      break;
    default:
      break;
  }
  g_clear_error (&error);
  g_free (debug);
  if (forwarded)
    gst_element_post_message (GST_ELEMENT (self), forwarded);
  /* a sync handler that drops a message unrefs it */
  gst_message_unref (message);
  return GST_BUS_DROP;
}

/* Sets the connection settings on @sink; FALSE, with the name in *@bad,
 * for a field that is not a property of it. */
static gboolean
apply_connection_setting (GQuark field, const GValue * value, gpointer data)
{
  gpointer *args = data;
  GstElement *sink = args[0];
  const gchar *name = g_quark_to_string (field);
  GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (sink),
      name);

  if (pspec == NULL || !(pspec->flags & G_PARAM_WRITABLE) ||
      g_strcmp0 (name, "location") == 0 || g_strcmp0 (name, "namespace") == 0) {
    args[1] = (gpointer) name;
    return FALSE;
  }
  if (G_VALUE_HOLDS_STRING (value) && pspec->value_type != G_TYPE_STRING)
    gst_util_set_object_arg (G_OBJECT (sink), name, g_value_get_string (value));
  else
    g_object_set_property (G_OBJECT (sink), name, value);
  return TRUE;
}

/* No socketiosink to listen on: make one of our own, outside the
 * pipeline, that only connects (it is never given audio). */
static gboolean
start_own_connection (GstSocketIoSrc * self, const gchar * location,
    const gchar * nsp)
{
  GstElement *sink = gst_element_factory_make ("socketiosink", NULL);
  GstStructure *settings;
  gpointer args[2] = { sink, NULL };
  GstBus *bus;
  gchar *name;

  if (sink == NULL)
    return FALSE;
  name = g_strdup_printf ("%s-connection", GST_OBJECT_NAME (self));
  gst_object_set_name (GST_OBJECT (sink), name);
  g_free (name);
  g_object_set (sink, "location", location, "namespace", nsp, "sync", FALSE,
      "async", FALSE, NULL);
  GST_OBJECT_LOCK (self);
  settings = self->connection ? gst_structure_copy (self->connection) : NULL;
  GST_OBJECT_UNLOCK (self);
  if (settings && !gst_structure_foreach (settings, apply_connection_setting,
          args)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("The connection property names \"%s\", which is not a "
                "setting of socketiosink that socketiosrc can pass on. Use "
                "socketiosink's property names (location and namespace are "
                "socketiosrc's own)."), (const gchar *) args[1]), (NULL));
    gst_structure_free (settings);
    gst_object_unref (sink);
    return FALSE;
  }
  if (settings)
    gst_structure_free (settings);

  bus = gst_bus_new ();
  gst_bus_set_sync_handler (bus, forward_message, self, NULL);
  gst_element_set_bus (sink, bus);
  gst_object_unref (bus);
  if (gst_element_set_state (sink, GST_STATE_PAUSED) ==
      GST_STATE_CHANGE_FAILURE) {
    /* its error is forwarded already */
    gst_element_set_state (sink, GST_STATE_NULL);
    gst_object_unref (sink);
    return FALSE;
  }
  self->connection_sink = sink;
  return TRUE;
}

static void
stop_own_connection (GstSocketIoSrc * self)
{
  if (self->connection_sink == NULL)
    return;
  gst_element_set_state (self->connection_sink, GST_STATE_NULL);
  gst_element_set_bus (self->connection_sink, NULL);
  gst_clear_object (&self->connection_sink);
}

static gboolean
gst_socketio_src_start (GstBaseSrc * bsrc)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);
  gchar *location, *nsp;
  const gchar *problem = NULL;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  nsp = g_strdup (self->nsp);
  g_free (self->listen_event);
  g_free (self->listen_key);
  self->listen_event = g_strdup (self->event);
  self->listen_key = g_strdup (self->payload_key);
  self->bound = self->latency;
  GST_OBJECT_UNLOCK (self);

  g_free (self->display_location);
  self->display_location = location ? sio_url_for_display (location) :
      g_strdup ("(none)");
  if (location == NULL || *location == '\0') {
    problem = _("socketiosrc has no location: set it to the server's URL, "
        "the same string as the location of a socketiosink whose "
        "connection it should share.");
  } else if (!sio_namespace_is_valid (nsp)) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
        (_("Invalid namespace \"%s\": it must start with '/' and contain no "
                "','."), GST_STR_NULL (nsp)), (NULL));
    g_free (location);
    g_free (nsp);
    return FALSE;
  } else if (self->listen_event == NULL || *self->listen_event == '\0' ||
      self->listen_key == NULL || *self->listen_key == '\0') {
    problem = _("The event and payload-key properties must not be empty.");
  } else if (!g_utf8_validate (self->listen_event, -1, NULL) ||
      !g_utf8_validate (self->listen_key, -1, NULL)) {
    problem = _("The event and payload-key properties must be valid UTF-8.");
  }
  if (problem) {
    GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS, ("%s", problem), (NULL));
    g_free (location);
    g_free (nsp);
    return FALSE;
  }

  g_mutex_lock (&self->lock);
  clear_queue_locked (self);
  self->detached = FALSE;
  self->bad_event_warned = FALSE;
  self->events = self->bytes = self->buffers = 0;
  self->dropped_events = self->dropped_bytes = self->bad_events = 0;
  self->deferred_acks = self->gaps = 0;
  self->max_queued_duration = 0;
  self->max_queued_bytes = 0;
  g_mutex_unlock (&self->lock);
  self->next_pts = GST_CLOCK_TIME_NONE;
  self->started_stream = FALSE;

  /* claimed first, so that two sources starting at once cannot both
   * find no connection, make one each or take each other's */
  self->event_claim = gst_sio_shared_claim_event (location, nsp,
      self->listen_event);
  if (self->event_claim == NULL) {
    GST_ELEMENT_ERROR (self, RESOURCE, BUSY,
        (_("Another socketiosrc already takes the events named \"%s\" from "
                "%s, namespace %s, and each event reaches one source only. "
                "Give this source another event or namespace, or stop the "
                "other source first."), self->listen_event,
            self->display_location, nsp), (NULL));
    g_free (location);
    g_free (nsp);
    return FALSE;
  }
  self->shared = gst_sio_shared_attach (location, nsp, on_event, on_detached,
      self);
  if (self->shared == NULL && start_own_connection (self, location, nsp))
    self->shared = gst_sio_shared_attach (location, nsp, on_event,
        on_detached, self);
  if (self->shared == NULL) {
    stop_own_connection (self);
    gst_sio_shared_release_event (g_steal_pointer (&self->event_claim));
    g_free (location);
    g_free (nsp);
    return FALSE;
  }
  GST_INFO_OBJECT (self, "listening for \"%s\" on %s, namespace %s, %s",
      self->listen_event, self->display_location, nsp,
      self->connection_sink ? "on a connection of its own" :
      "on a socketiosink's connection");
  g_free (location);
  g_free (nsp);
  return TRUE;
}

static gboolean
gst_socketio_src_unlock (GstBaseSrc * bsrc)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = TRUE;
  g_cond_broadcast (&self->cond);
  g_mutex_unlock (&self->lock);
  return TRUE;
}

static gboolean
gst_socketio_src_unlock_stop (GstBaseSrc * bsrc)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);

  g_mutex_lock (&self->lock);
  self->flushing = FALSE;
  g_mutex_unlock (&self->lock);
  return TRUE;
}

/* Caps come with the audio: nothing to negotiate before it. */
static gboolean
gst_socketio_src_negotiate (GstBaseSrc * bsrc)
{
  return TRUE;
}

static gboolean
gst_socketio_src_query (GstBaseSrc * bsrc, GstQuery * query)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);

  if (GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    GstClockTime latency;

    GST_OBJECT_LOCK (self);
    latency = self->latency;
    GST_OBJECT_UNLOCK (self);
    gst_query_set_latency (query, TRUE, latency, latency * HARD_BOUND_FACTOR);
    return TRUE;
  }
  return GST_BASE_SRC_CLASS (parent_class)->query (bsrc, query);
}

typedef struct
{
  guint epoch;
  gint64 ack_id;
} HeldAck;

static void
hold_ack (GArray ** acks, QueuedAudio * audio)
{
  HeldAck ack = { audio->epoch, audio->ack_id };

  if (*acks == NULL)
    *acks = g_array_new (FALSE, FALSE, sizeof (HeldAck));
  g_array_append_val (*acks, ack);
  audio->ack_pending = FALSE;
}

/* Under lock, once @popped left the queue: the acks held back for it and
 * for the audio that now fits the bound, in the order it came. */
static GArray *
take_releasable_acks_locked (GstSocketIoSrc * self, QueuedAudio * popped)
{
  GArray *acks = NULL;
  GstClockTime ahead = 0;
  gsize ahead_bytes = 0;
  GList *l;

  if (popped->ack_pending)
    hold_ack (&acks, popped);
  for (l = self->queue.head; l; l = l->next) {
    QueuedAudio *audio = l->data;

    ahead += GST_CLOCK_TIME_IS_VALID (audio->duration) ? audio->duration : 0;
    ahead_bytes += gst_buffer_get_size (audio->buffer);
    if (over_bound (self, ahead, ahead_bytes, 1))
      break;
    if (audio->ack_pending)
      hold_ack (&acks, audio);
  }
  return acks;
}

/* Without self->lock: see the top of the file. */
static void
send_acks (GstSocketIoSrc * self, GArray * acks)
{
  guint i;

  for (i = 0; acks && i < acks->len; i++) {
    HeldAck *ack = &g_array_index (acks, HeldAck, i);

    gst_sio_shared_ack_event (self->shared, ack->epoch, ack->ack_id, NULL);
  }
  if (acks)
    g_array_unref (acks);
}

static gboolean
gst_socketio_src_stop (GstBaseSrc * bsrc)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);
  GArray *acks = NULL;
  GList *l;

  /* a server waiting for the acks held back would wait until its own
   * timeout: the audio came, it is just not played */
  g_mutex_lock (&self->lock);
  for (l = self->queue.head; l; l = l->next)
    if (((QueuedAudio *) l->data)->ack_pending)
      hold_ack (&acks, l->data);
  clear_queue_locked (self);
  g_mutex_unlock (&self->lock);
  if (self->shared) {
    send_acks (self, acks);
    gst_sio_shared_detach (self->shared, self);
    self->shared = NULL;
  } else if (acks) {
    g_array_unref (acks);
  }
  stop_own_connection (self);
  gst_sio_shared_release_event (g_steal_pointer (&self->event_claim));
  gst_clear_caps (&self->caps);
  g_clear_pointer (&self->last_caps_key, g_free);
  gst_clear_caps (&self->last_caps);
  return TRUE;
}

/* The running time @audio arrived at, NONE without a clock. */
static GstClockTime
arrival_running_time (GstSocketIoSrc * self, QueuedAudio * audio)
{
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));

  if (!GST_CLOCK_TIME_IS_VALID (audio->arrival) || audio->arrival < base)
    return GST_CLOCK_TIME_IS_VALID (audio->arrival) ? 0 : GST_CLOCK_TIME_NONE;
  return audio->arrival - base;
}

/* Stamps @buffer (from @audio) and moves next_pts on. */
static void
stamp (GstSocketIoSrc * self, GstBuffer * buffer, QueuedAudio * audio)
{
  GstClockTime arrived = arrival_running_time (self, audio);

  if (!GST_CLOCK_TIME_IS_VALID (self->next_pts) ||
      (GST_CLOCK_TIME_IS_VALID (arrived) &&
          arrived > self->next_pts + self->bound)) {
    /* the first audio, or audio after a pause: it starts where it came */
    if (GST_CLOCK_TIME_IS_VALID (self->next_pts)) {
      g_mutex_lock (&self->lock);
      self->gaps++;
      g_mutex_unlock (&self->lock);
    }
    GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
    self->next_pts = GST_CLOCK_TIME_IS_VALID (arrived) ? arrived : 0;
  }
  GST_BUFFER_PTS (buffer) = self->next_pts;
  GST_BUFFER_DURATION (buffer) = audio->duration;
  if (GST_CLOCK_TIME_IS_VALID (audio->duration))
    self->next_pts += audio->duration;
}

/* Streaming thread, when PLAYING begins with no audio yet: the start
 * caps and a GAP event preroll the sinks downstream. Without it they
 * would wait for a first buffer, holding the rest of the pipeline (the
 * socketiosink whose audio makes the server answer) in PAUSED. */
static gboolean
announce_start (GstSocketIoSrc * self)
{
  GstBaseSrc *bsrc = GST_BASE_SRC (self);
  GstCaps *caps;
  GstClockTime now = clock_now (self);
  GstClockTime base = gst_element_get_base_time (GST_ELEMENT (self));

  GST_OBJECT_LOCK (self);
  caps = self->start_caps ? gst_caps_ref (self->start_caps) :
      gst_caps_from_string (DEFAULT_CAPS);
  GST_OBJECT_UNLOCK (self);
  if (!gst_base_src_set_caps (bsrc, caps)) {
    GST_DEBUG_OBJECT (self, "downstream refuses the start caps %"
        GST_PTR_FORMAT ": no GAP", caps);
    gst_caps_unref (caps);
    return FALSE;
  }
  gst_caps_replace (&self->caps, caps);
  gst_caps_unref (caps);
  gst_pad_push_event (GST_BASE_SRC_PAD (bsrc),
      gst_event_new_segment (&bsrc->segment));
  gst_pad_push_event (GST_BASE_SRC_PAD (bsrc), gst_event_new_gap
      (GST_CLOCK_TIME_IS_VALID (now) && now > base ? now - base : 0,
          GST_CLOCK_TIME_NONE));
  return TRUE;
}

static GstFlowReturn
gst_socketio_src_create (GstBaseSrc * bsrc, guint64 offset, guint size,
    GstBuffer ** out)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (bsrc);
  QueuedAudio *audio;
  GArray *acks;
  GstBuffer *buffer;
  gboolean idle;

  if (!self->started_stream) {
    self->started_stream = TRUE;
    g_mutex_lock (&self->lock);
    idle = g_queue_is_empty (&self->queue);
    g_mutex_unlock (&self->lock);
    if (idle)
      announce_start (self);
  }

  g_mutex_lock (&self->lock);
  while (g_queue_is_empty (&self->queue) && !self->flushing && !self->detached)
    g_cond_wait (&self->cond, &self->lock);
  if (self->flushing) {
    g_mutex_unlock (&self->lock);
    return GST_FLOW_FLUSHING;
  }
  if (g_queue_is_empty (&self->queue)) {
    g_mutex_unlock (&self->lock);
    GST_ELEMENT_ERROR (self, RESOURCE, READ,
        (_("The socketiosink at %s that socketiosrc listened on stopped."),
            self->display_location), (NULL));
    return GST_FLOW_ERROR;
  }
  audio = g_queue_pop_head (&self->queue);
  if (GST_CLOCK_TIME_IS_VALID (audio->duration))
    self->queued_duration -= audio->duration;
  self->queued_bytes -= gst_buffer_get_size (audio->buffer);
  acks = take_releasable_acks_locked (self, audio);
  self->buffers++;
  g_mutex_unlock (&self->lock);
  send_acks (self, acks);

  if (self->caps == NULL || !gst_caps_is_equal (self->caps, audio->caps)) {
    GST_INFO_OBJECT (self, "caps %" GST_PTR_FORMAT, audio->caps);
    if (!gst_base_src_set_caps (bsrc, audio->caps)) {
      GST_ELEMENT_ERROR (self, CORE, NEGOTIATION,
          (_("Downstream does not accept the audio the Socket.IO server at "
                  "%s sends (%s)."), self->display_location,
              gst_structure_get_name (gst_caps_get_structure (audio->caps,
                      0))), ("caps %" GST_PTR_FORMAT, audio->caps));
      queued_audio_free (audio);
      return GST_FLOW_NOT_NEGOTIATED;
    }
    gst_caps_replace (&self->caps, audio->caps);
  }

  if (audio->packet_sizes == NULL) {
    buffer = gst_buffer_ref (audio->buffer);
    stamp (self, buffer, audio);
    *out = buffer;
  } else {
    GstBufferList *list = gst_buffer_list_new ();
    QueuedAudio packet = *audio;
    gsize at = 0;
    guint i, n = audio->packet_sizes->len;

    for (i = 0; i < n; i++) {
      guint packet_size = g_array_index (audio->packet_sizes, guint, i);

      buffer = gst_buffer_copy_region (audio->buffer, GST_BUFFER_COPY_ALL, at,
          packet_size);
      packet.duration = GST_CLOCK_TIME_IS_VALID (audio->duration) ?
          audio->duration / n : GST_CLOCK_TIME_NONE;
      stamp (self, buffer, &packet);
      gst_buffer_list_add (list, buffer);
      at += packet_size;
    }
    gst_base_src_submit_buffer_list (bsrc, list);
    *out = NULL;
  }
  queued_audio_free (audio);
  return GST_FLOW_OK;
}

static GstStructure *
make_stats (GstSocketIoSrc * self)
{
  GstStructure *s;

  g_mutex_lock (&self->lock);
  s = gst_structure_new ("socketiosrc-stats",
      "events", G_TYPE_UINT64, self->events,
      "bytes", G_TYPE_UINT64, self->bytes,
      "buffers", G_TYPE_UINT64, self->buffers,
      "dropped-events", G_TYPE_UINT64, self->dropped_events,
      "dropped-bytes", G_TYPE_UINT64, self->dropped_bytes,
      "bad-events", G_TYPE_UINT64, self->bad_events,
      "deferred-acks", G_TYPE_UINT64, self->deferred_acks,
      "gaps", G_TYPE_UINT64, self->gaps,
      "queued-duration", G_TYPE_UINT64, (guint64) self->queued_duration,
      "max-queued-duration", G_TYPE_UINT64,
      (guint64) self->max_queued_duration,
      "queued-bytes", G_TYPE_UINT64, (guint64) self->queued_bytes,
      "max-queued-bytes", G_TYPE_UINT64, (guint64) self->max_queued_bytes,
      "attached", G_TYPE_BOOLEAN, self->shared != NULL && !self->detached,
      NULL);
  g_mutex_unlock (&self->lock);
  return s;
}

static void
set_string (GstSocketIoSrc * self, gchar ** field, const GValue * value)
{
  GST_OBJECT_LOCK (self);
  g_free (*field);
  *field = g_value_dup_string (value);
  GST_OBJECT_UNLOCK (self);
}

static void
gst_socketio_src_set_property (GObject * object, guint prop_id,
    const GValue * value, GParamSpec * pspec)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (object);

  switch (prop_id) {
    case PROP_LOCATION:
      set_string (self, &self->location, value);
      break;
    case PROP_NAMESPACE:
      set_string (self, &self->nsp, value);
      break;
    case PROP_EVENT:
      set_string (self, &self->event, value);
      break;
    case PROP_PAYLOAD_KEY:
      set_string (self, &self->payload_key, value);
      break;
    case PROP_LATENCY:
      GST_OBJECT_LOCK (self);
      self->latency = g_value_get_uint64 (value);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CONNECTION:{
      const GstStructure *settings = gst_value_get_structure (value);

      GST_OBJECT_LOCK (self);
      if (self->connection)
        gst_structure_free (self->connection);
      self->connection = settings ? gst_structure_copy (settings) : NULL;
      GST_OBJECT_UNLOCK (self);
      break;
    }
    case PROP_CAPS:{
      const GstCaps *caps = gst_value_get_caps (value);

      GST_OBJECT_LOCK (self);
      gst_caps_replace (&self->start_caps, (GstCaps *) caps);
      GST_OBJECT_UNLOCK (self);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_socketio_src_get_property (GObject * object, guint prop_id,
    GValue * value, GParamSpec * pspec)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (object);

  switch (prop_id) {
    case PROP_LOCATION:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->location);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_NAMESPACE:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->nsp);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_EVENT:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->event);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_PAYLOAD_KEY:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->payload_key);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_LATENCY:
      GST_OBJECT_LOCK (self);
      g_value_set_uint64 (value, self->latency);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CAPS:
      GST_OBJECT_LOCK (self);
      gst_value_set_caps (value, self->start_caps);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_CONNECTION:
      GST_OBJECT_LOCK (self);
      gst_value_set_structure (value, self->connection);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_STATS:
      g_value_take_boxed (value, make_stats (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_socketio_src_finalize (GObject * object)
{
  GstSocketIoSrc *self = GST_SOCKETIO_SRC (object);

  g_free (self->location);
  g_free (self->nsp);
  g_free (self->event);
  g_free (self->payload_key);
  g_free (self->display_location);
  g_free (self->listen_event);
  g_free (self->listen_key);
  g_free (self->last_caps_key);
  gst_clear_caps (&self->last_caps);
  gst_clear_caps (&self->caps);
  gst_clear_caps (&self->start_caps);
  if (self->connection)
    gst_structure_free (self->connection);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->cond);
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_socketio_src_init (GstSocketIoSrc * self)
{
  self->nsp = g_strdup (DEFAULT_NAMESPACE);
  self->event = g_strdup (DEFAULT_EVENT);
  self->payload_key = g_strdup (DEFAULT_PAYLOAD_KEY);
  self->latency = DEFAULT_LATENCY;
  self->next_pts = GST_CLOCK_TIME_NONE;
  g_mutex_init (&self->lock);
  g_cond_init (&self->cond);
  g_queue_init (&self->queue);
  gst_base_src_set_live (GST_BASE_SRC (self), TRUE);
  gst_base_src_set_format (GST_BASE_SRC (self), GST_FORMAT_TIME);
}

static void
gst_socketio_src_class_init (GstSocketIoSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseSrcClass *base_class = GST_BASE_SRC_CLASS (klass);
  GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY;

  gobject_class->set_property = gst_socketio_src_set_property;
  gobject_class->get_property = gst_socketio_src_get_property;
  gobject_class->finalize = gst_socketio_src_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "The server's URL, as socketiosink's location property takes it; "
          "a socketiosink in the process with the same location (the same "
          "string) and namespace shares its connection", NULL, flags));
  g_object_class_install_property (gobject_class, PROP_NAMESPACE,
      g_param_spec_string ("namespace", "Namespace",
          "The namespace to listen in", DEFAULT_NAMESPACE, flags));
  g_object_class_install_property (gobject_class, PROP_EVENT,
      g_param_spec_string ("event", "Event",
          "The name of the server's audio events; other server events go on "
          "the bus as the socketiosink's socketio-event messages. One source "
          "per event, location and namespace in a process: a second one "
          "fails to start", DEFAULT_EVENT, flags));
  g_object_class_install_property (gobject_class, PROP_PAYLOAD_KEY,
      g_param_spec_string ("payload-key", "Payload key",
          "The key of the binary audio in the event's first argument",
          DEFAULT_PAYLOAD_KEY, flags));
  g_object_class_install_property (gobject_class, PROP_LATENCY,
      g_param_spec_uint64 ("latency", "Latency",
          "The most audio (in nanoseconds) that waits to be pushed, and the "
          "latency the source reports. Past it, the acks the server asked "
          "for wait for the pipeline; past four times it, audio is dropped "
          "and counted", MIN_LATENCY, MAX_LATENCY, DEFAULT_LATENCY, flags));
  g_object_class_install_property (gobject_class, PROP_CAPS,
      g_param_spec_boxed ("caps", "Caps",
          "The caps announced when PLAYING starts before any audio came, "
          "with a GAP event that lets the sinks downstream preroll (NULL: "
          "audio/x-raw, format=S16LE, rate=16000, channels=1); the audio's "
          "own caps replace them", GST_TYPE_CAPS, flags));

  g_object_class_install_property (gobject_class, PROP_CONNECTION,
      g_param_spec_boxed ("connection", "Connection settings",
          "When no socketiosink with the same location and namespace runs "
          "in the process, the source connects itself with a socketiosink "
          "of its own (given no audio) and these of its settings: "
          "socketiosink property names and values, e.g. \"settings, "
          "transports=polling, ssl-ca-file=/etc/ca.pem\". Its messages "
          "(connected, server events, errors) come from this element",
          GST_TYPE_STRUCTURE, flags));

  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "events, bytes: the audio events taken; buffers: pushed; "
          "dropped-events, dropped-bytes: audio dropped past four times "
          "latency; bad-events: events of the audio event's name that "
          "could not be played; deferred-acks: acks held back until the "
          "pipeline caught up; gaps: pauses in the audio (the next buffer "
          "is DISCONT); queued-duration, max-queued-duration: audio waiting "
          "(ns); queued-bytes, max-queued-bytes: the same in bytes; attached: "
          "the socketiosink's connection is there",
          GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class,
      "Socket.IO audio source", "Source/Audio/Network",
      "Outputs the audio a Socket.IO server sends back on a socketiosink's "
      "connection", "gst-socketio contributors");

  base_class->start = GST_DEBUG_FUNCPTR (gst_socketio_src_start);
  base_class->stop = GST_DEBUG_FUNCPTR (gst_socketio_src_stop);
  base_class->unlock = GST_DEBUG_FUNCPTR (gst_socketio_src_unlock);
  base_class->unlock_stop = GST_DEBUG_FUNCPTR (gst_socketio_src_unlock_stop);
  base_class->negotiate = GST_DEBUG_FUNCPTR (gst_socketio_src_negotiate);
  base_class->query = GST_DEBUG_FUNCPTR (gst_socketio_src_query);
  base_class->create = GST_DEBUG_FUNCPTR (gst_socketio_src_create);
}

static gboolean
socketiosrc_element_init (GstPlugin * plugin)
{
  gst_socketio_element_init (plugin);
  GST_DEBUG_CATEGORY_INIT (gst_socketio_src_debug, "socketiosrc", 0,
      "Socket.IO source");
  return gst_element_register (plugin, "socketiosrc", GST_RANK_NONE,
      GST_TYPE_SOCKETIO_SRC);
}
