/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink's side of tests/bench/run-recovery.sh: the peer clients'
 * command line and JSON line, for
 *
 *   audiotestsrc is-live=true samplesperbuffer=1024 num-buffers=N
 *     ! audio/x-raw,format=S16LE,rate=16000,channels=1 ! ackqueue
 *     ! socketiosink reconnect-delay=1 s reconnect-delay-max=5 s
 *
 * (the peers' backoff), N = duration × 16000 / 1024 frames of 64 ms.
 *
 *   recovery-sink --url URL --duration S [--drain-timeout S]
 */

#include <stdlib.h>
#include <sys/resource.h>
#include <gst/gst.h>

static gchar *url = NULL;
static gint duration = 20;
static gint drain_timeout = 30;

static GOptionEntry entries[] = {
  {"url", 0, 0, G_OPTION_ARG_STRING, &url, "server URL", "URL"},
  {"duration", 0, 0, G_OPTION_ARG_INT, &duration, "seconds of audio", "S"},
  {"drain-timeout", 0, 0, G_OPTION_ARG_INT, &drain_timeout,
      "seconds to wait for the last acks after the audio", "S"},
  {NULL}
};

typedef struct
{
  GstElement *sink;
  GstElement *queue;
  GArray *connected_ms;         /* gint64 epoch ms of each reconnect */
  GArray *first_ack_ms;         /* gint64, -1 until seen */
  guint64 acked_at_reconnect;
  guint64 max_unacked;
  guint64 produced;
  gboolean done;
  gboolean failed;
} Run;

static guint64
stat (GstElement * element, const gchar * field)
{
  GstStructure *s;
  guint64 value = 0;

  g_object_get (element, "stats", &s, NULL);
  gst_structure_get_uint64 (s, field, &value);
  gst_structure_free (s);
  return value;
}

static gint64
epoch_ms (void)
{
  return g_get_real_time () / 1000;
}

/* Polled every 5 ms: when acks grow after a reconnect, that is the first
 * ack it got; and the backlog's high-water mark. */
static gboolean
on_poll (gpointer user_data)
{
  Run *run = user_data;
  guint64 acked = stat (run->queue, "acked-buffers");
  guint64 backlog = stat (run->queue, "queued-buffers") +
      stat (run->queue, "retained-buffers");
  guint n = run->first_ack_ms->len;

  run->max_unacked = MAX (run->max_unacked, backlog);
  if (n > 0 && g_array_index (run->first_ack_ms, gint64, n - 1) < 0 &&
      acked > run->acked_at_reconnect)
    g_array_index (run->first_ack_ms, gint64, n - 1) = epoch_ms ();
  return G_SOURCE_CONTINUE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  Run *run = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ELEMENT:
      if (gst_structure_has_name (gst_message_get_structure (msg),
              "socketio-reconnected")) {
        gint64 now = epoch_ms (), none = -1;

        g_array_append_val (run->connected_ms, now);
        g_array_append_val (run->first_ack_ms, none);
        run->acked_at_reconnect = stat (run->queue, "acked-buffers");
      }
      break;
    case GST_MESSAGE_ERROR:{
      GError *error;

      gst_message_parse_error (msg, &error, NULL);
      g_printerr ("error: %s\n", error->message);
      g_error_free (error);
      run->failed = TRUE;
      run->done = TRUE;
      break;
    }
    case GST_MESSAGE_EOS:
      run->done = TRUE;
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  GOptionContext *context = g_option_context_new ("- socketiosink recovery");
  GError *error = NULL;
  Run run = { 0 };
  GstElement *pipeline;
  GstBus *bus;
  gchar *description;
  GString *json;
  struct rusage usage;
  gint64 deadline;
  guint i;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error) || !url) {
    g_printerr ("usage: recovery-sink --url URL --duration S\n");
    return 2;
  }
  g_option_context_free (context);

  run.produced = (guint64) duration *16000 / 1024;
  description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=1024 num-buffers=%" G_GUINT64_FORMAT " ! "
      "audio/x-raw,format=S16LE,rate=16000,channels=1 ! ackqueue name=queue ! "
      "socketiosink name=sink location=%s reconnect-delay=1000000000 "
      "reconnect-delay-max=5000000000 ack-timeout=%" G_GUINT64_FORMAT,
      run.produced, url, (guint64) drain_timeout * GST_SECOND);
  pipeline = gst_parse_launch (description, &error);
  g_free (description);
  if (pipeline == NULL) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  run.sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  run.queue = gst_bin_get_by_name (GST_BIN (pipeline), "queue");
  run.connected_ms = g_array_new (FALSE, FALSE, sizeof (gint64));
  run.first_ack_ms = g_array_new (FALSE, FALSE, sizeof (gint64));
  bus = gst_element_get_bus (pipeline);
  gst_bus_add_watch (bus, on_message, &run);
  g_timeout_add (5, on_poll, &run);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  deadline = g_get_monotonic_time () + (gint64) (duration + drain_timeout) *
      G_USEC_PER_SEC;
  while (!run.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);

  json = g_string_new ("{\"client\": \"socketiosink\"");
  getrusage (RUSAGE_SELF, &usage);
  g_string_append_printf (json, ", \"produced\": %" G_GUINT64_FORMAT
      ", \"acked\": %" G_GUINT64_FORMAT ", \"dropped\": %" G_GUINT64_FORMAT
      ", \"resent\": %" G_GUINT64_FORMAT ", \"max_unacked\": %"
      G_GUINT64_FORMAT ", \"max_rss_kb\": %ld, \"completed\": %s, "
      "\"reconnects\": [", run.produced, stat (run.queue, "acked-buffers"),
      stat (run.queue, "dropped-buffers") + stat (run.sink,
          "dropped-buffers"), stat (run.queue, "replayed-buffers"),
      run.max_unacked, usage.ru_maxrss, run.done && !run.failed ? "true" :
      "false");
  for (i = 0; i < run.connected_ms->len; i++)
    g_string_append_printf (json, "%s{\"connected_ms\": %" G_GINT64_FORMAT
        ", \"first_ack_ms\": %" G_GINT64_FORMAT "}", i ? ", " : "",
        g_array_index (run.connected_ms, gint64, i),
        g_array_index (run.first_ack_ms, gint64, i));
  g_string_append (json, "]}");
  g_print ("%s\n", json->str);
  g_string_free (json, TRUE);

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (run.sink);
  gst_object_unref (run.queue);
  gst_object_unref (pipeline);
  g_array_unref (run.connected_ms);
  g_array_unref (run.first_ack_ms);
  return run.failed ? 1 : 0;
}
