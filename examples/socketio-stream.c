/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Streams audio into a Socket.IO server and prints the sink's statistics
 * every second. Ctrl-C (or --seconds) ends the stream with EOS, so every
 * emit is acknowledged before the program leaves.
 *
 *   socketio-stream --location http://127.0.0.1:5000 [--seconds 10]
 *       [--source "pulsesrc"] [--sink-options "namespace=/audio"]
 */

#include <stdlib.h>
#include <glib-unix.h>
#include <gst/gst.h>

static gchar *location = NULL;
static gchar *source = NULL;
static gchar *sink_options = NULL;
static gint seconds = 0;

static GOptionEntry entries[] = {
  {"location", 'l', 0, G_OPTION_ARG_STRING, &location,
      "Socket.IO server URL", "URL"},
  {"source", 's', 0, G_OPTION_ARG_STRING, &source,
        "Capture part of the pipeline (default: a live 440 Hz test tone)",
      "DESCRIPTION"},
  {"sink-options", 'o', 0, G_OPTION_ARG_STRING, &sink_options,
      "Extra socketiosink properties, e.g. \"max-in-flight=8\"", "PROPS"},
  {"seconds", 't', 0, G_OPTION_ARG_INT, &seconds,
      "Stop after this many seconds (default: run until Ctrl-C)", "N"},
  {NULL}
};

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *sink;
  gint64 started;
  gboolean stopping;
  gint status;
} App;

static void
stop (App * app)
{
  if (app->stopping)
    return;
  app->stopping = TRUE;
  g_print ("sending EOS: waiting for the last acknowledgements...\n");
  gst_element_send_event (app->pipeline, gst_event_new_eos ());
}

static gboolean
on_sigint (gpointer user_data)
{
  stop (user_data);
  return G_SOURCE_CONTINUE;
}

static void
print_stats (App * app, const gchar * prefix)
{
  GstStructure *s;
  guint64 emitted = 0, acked = 0, audio = 0, sent = 0, lost = 0;
  guint64 timeouts = 0, rtt = 0, events = 0, reconnects = 0;
  guint in_flight = 0;
  gboolean connected = FALSE;

  g_object_get (app->sink, "stats", &s, NULL);
  gst_structure_get (s, "connected", G_TYPE_BOOLEAN, &connected,
      "emitted", G_TYPE_UINT64, &emitted, "acked", G_TYPE_UINT64, &acked,
      "in-flight", G_TYPE_UINT, &in_flight, "audio-bytes", G_TYPE_UINT64,
      &audio, "bytes-sent", G_TYPE_UINT64, &sent, "lost", G_TYPE_UINT64,
      &lost, "reconnects", G_TYPE_UINT64, &reconnects, "ack-timeouts",
      G_TYPE_UINT64, &timeouts, "ack-rtt-mean", G_TYPE_UINT64, &rtt,
      "server-events", G_TYPE_UINT64, &events, NULL);
  g_print ("%s%5.1fs %-12s emitted %6" G_GUINT64_FORMAT " acked %6"
      G_GUINT64_FORMAT " in-flight %2u audio %7.1f KiB wire %7.1f KiB"
      " rtt %5.2f ms lost %" G_GUINT64_FORMAT " reconnects %" G_GUINT64_FORMAT
      " ack-timeouts %" G_GUINT64_FORMAT " server-events %" G_GUINT64_FORMAT
      "\n", prefix, (g_get_monotonic_time () - app->started) / 1e6,
      connected ? "connected" : "disconnected", emitted, acked, in_flight,
      audio / 1024.0, sent / 1024.0, rtt / 1e6, lost, reconnects, timeouts,
      events);
  gst_structure_free (s);
}

static gboolean
on_tick (gpointer user_data)
{
  App *app = user_data;

  print_stats (app, "");
  if (seconds > 0 && g_get_monotonic_time () - app->started >=
      (gint64) seconds * G_USEC_PER_SEC)
    stop (app);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  App *app = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:{
      GError *error;
      gchar *debug;

      gst_message_parse_error (msg, &error, &debug);
      g_printerr ("ERROR from %s: %s\n  (%s)\n", GST_OBJECT_NAME (msg->src),
          error->message, debug ? debug : "");
      g_error_free (error);
      g_free (debug);
      app->status = 1;
      g_main_loop_quit (app->loop);
      break;
    }
    case GST_MESSAGE_WARNING:{
      GError *error;

      gst_message_parse_warning (msg, &error, NULL);
      g_printerr ("warning: %s\n", error->message);
      g_error_free (error);
      break;
    }
    case GST_MESSAGE_EOS:
      print_stats (app, "final ");
      g_main_loop_quit (app->loop);
      break;
    case GST_MESSAGE_ELEMENT:{
      const GstStructure *s = gst_message_get_structure (msg);

      if (gst_structure_has_name (s, "socketio-event"))
        g_print ("server event '%s': %s\n", gst_structure_get_string (s,
                "name"), gst_structure_get_string (s, "args"));
      else if (gst_structure_has_name (s, "socketio-connected"))
        g_print ("connected to %s\n", gst_structure_get_string (s, "location"));
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  GOptionContext *context = g_option_context_new ("- stream audio to a "
      "Socket.IO server");
  GError *error = NULL;
  App app = { 0 };
  gchar *description;
  GstBus *bus;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_add_group (context, gst_init_get_option_group ());
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (context);
  if (location == NULL) {
    g_printerr ("--location is required, e.g. --location "
        "http://127.0.0.1:5000\n");
    return 2;
  }

  description = g_strdup_printf ("%s ! audioconvert ! audioresample ! "
      "audio/x-raw,format=S16LE,rate=16000,channels=1 ! "
      "socketiosink name=sink location=\"%s\" %s",
      source ? source : "audiotestsrc is-live=true freq=440 "
      "samplesperbuffer=1024", location, sink_options ? sink_options : "");
  app.pipeline = gst_parse_launch (description, &error);
  g_free (description);
  if (app.pipeline == NULL) {
    g_printerr ("could not build the pipeline: %s\n", error->message);
    return 2;
  }
  app.sink = gst_bin_get_by_name (GST_BIN (app.pipeline), "sink");
  app.loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app.pipeline);
  gst_bus_add_watch (bus, on_message, &app);

  g_unix_signal_add (SIGINT, on_sigint, &app);
  g_timeout_add_seconds (1, on_tick, &app);
  app.started = g_get_monotonic_time ();
  if (gst_element_set_state (app.pipeline, GST_STATE_PLAYING) ==
      GST_STATE_CHANGE_FAILURE) {
    g_printerr ("could not start the pipeline\n");
    app.status = 1;
  } else {
    g_main_loop_run (app.loop);
  }

  gst_element_set_state (app.pipeline, GST_STATE_NULL);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  gst_object_unref (app.sink);
  gst_object_unref (app.pipeline);
  g_main_loop_unref (app.loop);
  return app.status;
}
