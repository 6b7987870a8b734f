/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* gst-socketio-send: streams the default capture device, a test tone or a
 * file into a Socket.IO server through
 *
 *   SOURCE ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,...
 *     ! leakyframepool ! ackqueue ! socketiosink
 *
 * with one live status line, and ends with EOS (every event acknowledged
 * or timed out) on Ctrl-C, SIGTERM, --seconds or the end of a file.
 *
 * Threads: the main thread runs the GLib main loop, which handles the bus,
 * the signals and the timers, and alone touches App. The only other code
 * of ours, on_pad_added, runs on a streaming thread of uridecodebin and
 * only links a pad to the audioconvert it was given.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <gst/gst.h>

/* Exit codes (documented in --help) */
enum
{
  EXIT_OK = 0,
  EXIT_STREAM_FAILED = 1,
  EXIT_MISSING_PLUGIN = 2,
  EXIT_USAGE = 64,
  EXIT_INTERRUPTED = 130,
};

/* An option the user did not give: the element's default applies. */
#define UNSET_INT G_MININT
#define UNSET_SECONDS (-G_MAXDOUBLE)

static gchar *opt_source = NULL;
static gint opt_rate = 16000;
static gint opt_channels = 1;
static gint opt_frame_samples = 1024;
static gint opt_max_frames = UNSET_INT;
static gdouble opt_seconds = 0;
static gchar *opt_namespace = NULL;
static gchar *opt_event = NULL;
static gchar *opt_payload_key = NULL;
static gchar *opt_auth = NULL;
static gchar *opt_transports = NULL;
static gchar *opt_ssl_ca_file = NULL;
static gboolean opt_no_system_ca = FALSE;
static gboolean opt_insecure = FALSE;
static gchar **opt_headers = NULL;
static gchar **opt_cookies = NULL;
static gchar *opt_user_agent = NULL;
static gchar *opt_proxy = NULL;
static gchar *opt_proxy_user = NULL;
static gchar *opt_proxy_password = NULL;
static gint opt_max_in_flight = UNSET_INT;
static gint opt_max_batch_bytes = UNSET_INT;
static gdouble opt_batch_duration = UNSET_SECONDS;
static gboolean opt_no_ack = FALSE;
static gdouble opt_ack_timeout = UNSET_SECONDS;
static gdouble opt_connect_timeout = UNSET_SECONDS;
static gboolean opt_no_reconnect = FALSE;
static gdouble opt_reconnect_delay = UNSET_SECONDS;
static gdouble opt_reconnect_delay_max = UNSET_SECONDS;
static gint opt_max_reconnect_attempts = UNSET_INT;
static gboolean opt_retry_first_connection = FALSE;
static gboolean opt_reconnect_on_server_disconnect = FALSE;
static gboolean opt_quiet = FALSE;
static gboolean opt_verbose = FALSE;
static gboolean opt_version = FALSE;

static GOptionEntry source_entries[] = {
  {"source", 's', 0, G_OPTION_ARG_STRING, &opt_source,
        N_("What to stream: \"default\" (the default capture device, used "
            "when --source is not given), \"tone\" (a live 440 Hz test tone), \"file:PATH\" (a "
            "file, played in real time) or a gst-launch description of a "
            "source, e.g. \"pulsesrc device=NAME\""),
      N_("SOURCE")},
  {"rate", 'r', 0, G_OPTION_ARG_INT, &opt_rate,
      N_("Sample rate sent, in Hz (default 16000)"), N_("HZ")},
  {"channels", 'c', 0, G_OPTION_ARG_INT, &opt_channels,
      N_("Channels sent (default 1)"), N_("N")},
  {"frame-samples", 0, 0, G_OPTION_ARG_INT, &opt_frame_samples,
      N_("Samples per channel in each frame (default 1024)"), N_("N")},
  {"max-frames", 0, 0, G_OPTION_ARG_INT, &opt_max_frames,
        N_("Frames of audio held at most, sent or waiting (default 64, or "
            "twice what --max-in-flight events hold); the newest are dropped "
            "beyond it"),
      N_("N")},
  {"seconds", 't', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
      N_("Stop after this many seconds (default: at Ctrl-C)"), N_("SECONDS")},
  {NULL}
};

static GOptionEntry server_entries[] = {
  {"namespace", 'n', 0, G_OPTION_ARG_STRING, &opt_namespace,
      N_("Socket.IO namespace to join (default /)"), N_("NAMESPACE")},
  {"event", 'e', 0, G_OPTION_ARG_STRING, &opt_event,
      N_("Event name (default audio_data)"), N_("NAME")},
  {"payload-key", 0, 0, G_OPTION_ARG_STRING, &opt_payload_key,
      N_("Key of the audio in each event (default audio_data)"), N_("KEY")},
  {"auth", 'a', 0, G_OPTION_ARG_STRING, &opt_auth,
        N_("JSON object sent when joining (socket.handshake.auth); @FILE "
            "reads it from FILE"),
      N_("JSON")},
  {"transports", 0, 0, G_OPTION_ARG_STRING, &opt_transports,
        N_("auto (default), websocket, polling or polling-upgrade"),
      N_("TRANSPORTS")},
  {"ssl-ca-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_ssl_ca_file,
      N_("PEM file of the certificate authorities to trust"), N_("FILE")},
  {"no-system-ca", 0, 0, G_OPTION_ARG_NONE, &opt_no_system_ca,
      N_("Do not trust the system's certificate authorities"), NULL},
  {"insecure", 0, 0, G_OPTION_ARG_NONE, &opt_insecure,
      N_("Accept any server certificate (unsafe)"), NULL},
  {"header", 'H', 0, G_OPTION_ARG_STRING_ARRAY, &opt_headers,
        N_("HTTP header sent on every request, e.g. \"Authorization: Bearer "
            "abc\" (repeatable); @FILE reads one a line from FILE"),
      N_("'NAME: VALUE'")},
  {"cookie", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_cookies,
      N_("Cookie sent on every request (repeatable)"), N_("NAME=VALUE")},
  {"user-agent", 0, 0, G_OPTION_ARG_STRING, &opt_user_agent,
      N_("User-Agent header"), N_("TEXT")},
  {"proxy", 0, 0, G_OPTION_ARG_STRING, &opt_proxy,
        N_("http://, https:// or socks5:// proxy (default: the "
            "environment's)"),
      N_("URI")},
  {"proxy-user", 0, 0, G_OPTION_ARG_STRING, &opt_proxy_user,
      N_("User name for the proxy"), N_("NAME")},
  {"proxy-password", 0, 0, G_OPTION_ARG_STRING, &opt_proxy_password,
        N_("Password for the proxy; @FILE reads it from FILE"),
      N_("PASSWORD")},
  {NULL}
};

static GOptionEntry delivery_entries[] = {
  {"max-in-flight", 'w', 0, G_OPTION_ARG_INT, &opt_max_in_flight,
      N_("Most events not yet acknowledged (default 32)"), N_("N")},
  {"batch-duration", 'b', 0, G_OPTION_ARG_DOUBLE, &opt_batch_duration,
        N_("Audio collected into one event (default 0: one frame each)"),
      N_("SECONDS")},
  {"max-batch-bytes", 0, 0, G_OPTION_ARG_INT, &opt_max_batch_bytes,
      N_("Most audio bytes in one event (default 65536)"), N_("BYTES")},
  {"no-ack", 0, 0, G_OPTION_ARG_NONE, &opt_no_ack,
      N_("Do not ask the server to acknowledge events"), NULL},
  {"ack-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_ack_timeout,
        N_("Wait for each acknowledgement, and for the last ones when "
            "stopping (default 10, 0: forever)"),
      N_("SECONDS")},
  {"connect-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_connect_timeout,
      N_("Connect and join within this (default 10)"), N_("SECONDS")},
  {"no-reconnect", 0, 0, G_OPTION_ARG_NONE, &opt_no_reconnect,
      N_("Fail when the connection is lost instead of reconnecting"), NULL},
  {"reconnect-delay", 0, 0, G_OPTION_ARG_DOUBLE, &opt_reconnect_delay,
        N_("Wait before the first reconnection attempt (default 0.5)"),
      N_("SECONDS")},
  {"reconnect-delay-max", 0, 0, G_OPTION_ARG_DOUBLE,
        &opt_reconnect_delay_max,
        N_("Longest wait between reconnection attempts (default 10)"),
      N_("SECONDS")},
  {"max-reconnect-attempts", 0, 0, G_OPTION_ARG_INT,
        &opt_max_reconnect_attempts,
        N_("Give up after this many failed attempts (default 0: never)"),
      N_("N")},
  {"retry-first-connection", 0, 0, G_OPTION_ARG_NONE,
        &opt_retry_first_connection,
        N_("Also retry a first connection that fails (server not up yet)"),
      NULL},
  {"reconnect-on-server-disconnect", 0, 0, G_OPTION_ARG_NONE,
        &opt_reconnect_on_server_disconnect,
      N_("Reconnect when the server ends the session (a node draining "
            "behind a load balancer) instead of failing"), NULL},
  {NULL}
};

static GOptionEntry main_entries[] = {
  {"quiet", 'q', 0, G_OPTION_ARG_NONE, &opt_quiet,
      N_("No status line and no summary, only warnings and errors"), NULL},
  {"verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose,
        N_("Also print connections, disconnections and the details of "
            "errors"),
      NULL},
  {"version", 0, 0, G_OPTION_ARG_NONE, &opt_version,
      N_("Print the version and exit"), NULL},
  {NULL}
};

typedef struct
{
  GMainLoop *loop;
  GstElement *pipeline;
  GstElement *pool;
  GstElement *queue;
  GstElement *sink;
  GstElement *source;

  guint bytes_per_second;
  guint frame_bytes;
  guint max_frames;
  GstClockTime stop_timeout;

  gboolean status_on_tty;
  gboolean status_line_open;
  gboolean stopping;
  guint interrupts;
  gint64 first_interrupt;
  gint exit_code;
  GHashTable *warnings_seen;
  guint seconds_timer;
  guint stop_timer;
} App;

/* What the status line and the summary show, from the elements' stats. */
typedef struct
{
  gchar *state;
  gchar *transport;
  guint64 sent;
  guint64 acked;
  guint64 reconnects;
  guint64 unacknowledged;
  guint64 rtt_last;
  gdouble seconds;
  gdouble dropped_seconds;
  guint64 held_bytes;
} Figures;

static void
usage_error (const gchar * message)
{
  g_printerr ("%s: %s\n", g_get_prgname (), message);
  g_printerr (_("Run '%s --help' to see a full list of options.\n"),
      g_get_prgname ());
}

/* Ends the status line before anything else is printed. */
static void
end_status_line (App * app)
{
  if (!app->status_line_open)
    return;
  fputs ("\r\033[K", stdout);
  fflush (stdout);
  app->status_line_open = FALSE;
}

/* @text cut to @max_chars characters, with an ellipsis when it was cut. */
static gchar *
shorten (const gchar * text, glong max_chars)
{
  gchar *start;

  if (text == NULL)
    return g_strdup ("");
  if (g_utf8_strlen (text, -1) <= max_chars)
    return g_strdup (text);
  start = g_utf8_substring (text, 0, max_chars - 1);
  return g_strconcat (start, "\u2026", NULL);
}

/* @text cut to @columns terminal columns, "…" included: a Chinese
 * character takes two columns, a combining mark none. */
static gchar *
fit_columns (const gchar * text, glong columns)
{
  const gchar *p, *cut = NULL;
  glong used = 0;

  for (p = text; *p; p = g_utf8_next_char (p)) {
    gunichar c = g_utf8_get_char (p);
    glong width = g_unichar_iszerowidth (c) ? 0 : g_unichar_iswide (c) ? 2 : 1;

    /* where the text stops if it must leave a column for the ellipsis */
    if (cut == NULL && used + width > columns - 1)
      cut = p;
    used += width;
    if (used > columns) {
      GString *fitted = g_string_new_len (text, cut - text);

      g_string_append (fitted, "\u2026");
      return g_string_free (fitted, FALSE);
    }
  }
  return g_strdup (text);
}

static guint64
get_uint64 (const GstStructure * s, const gchar * field)
{
  guint64 value = 0;

  gst_structure_get_uint64 (s, field, &value);
  return value;
}

static void
figures_read (App * app, Figures * f)
{
  GstStructure *pool, *queue, *sink;
  guint held_frames = 0;
  gint64 position = 0;
  guint64 dropped_bytes;

  g_object_get (app->pool, "stats", &pool, NULL);
  g_object_get (app->queue, "stats", &queue, NULL);
  g_object_get (app->sink, "stats", &sink, NULL);

  f->state = g_strdup (gst_structure_get_string (sink, "state"));
  f->transport = g_strdup (gst_structure_get_string (sink, "transport"));
  f->sent = get_uint64 (sink, "emitted");
  f->acked = get_uint64 (sink, "acked");
  f->reconnects = get_uint64 (sink, "reconnects");
  f->unacknowledged = get_uint64 (sink, "unacknowledged");
  f->rtt_last = get_uint64 (sink, "ack-rtt-last");

  /* everything not delivered, counted where it was dropped */
  dropped_bytes = get_uint64 (queue, "dropped-bytes") +
      get_uint64 (sink, "dropped-bytes");
  f->dropped_seconds = get_uint64 (pool, "samples-dropped") /
      (gdouble) opt_rate + dropped_bytes / (gdouble) app->bytes_per_second;

  /* every frame in flight is one of the pool's */
  gst_structure_get_uint (pool, "frames-held-downstream", &held_frames);
  f->held_bytes = (guint64) held_frames *app->frame_bytes;

  if (gst_element_query_position (app->pipeline, GST_FORMAT_TIME, &position)
      && position > 0)
    f->seconds = position / (gdouble) GST_SECOND;
  else
    f->seconds = 0;

  gst_structure_free (pool);
  gst_structure_free (queue);
  gst_structure_free (sink);
}

static void
figures_clear (Figures * f)
{
  g_free (f->state);
  g_free (f->transport);
}

static gchar *
describe_state (App * app, const Figures * f)
{
  if (app->stopping)
    return g_strdup (_("stopping"));
  if (g_strcmp0 (f->state, "connected") == 0)
    /* TRANSLATORS: %s is the transport: websocket or polling */
    return g_strdup_printf (_("connected (%s)"), f->transport);
  if (g_strcmp0 (f->state, "reconnecting") == 0)
    return g_strdup (_("reconnecting"));
  if (g_strcmp0 (f->state, "closing") == 0 ||
      g_strcmp0 (f->state, "closed") == 0)
    return g_strdup (_("closed"));
  return g_strdup (_("connecting"));
}

static void
print_status (App * app)
{
  Figures f = { 0 };
  gchar *state, *seconds, *sent, *acked, *rtt, *dropped, *held, *bound;
  gchar *line;

  figures_read (app, &f);
  state = describe_state (app, &f);
  seconds = g_strdup_printf ("%.1f", f.seconds);
  sent = g_strdup_printf ("%" G_GUINT64_FORMAT, f.sent);
  acked = g_strdup_printf ("%" G_GUINT64_FORMAT, f.acked);
  rtt = g_strdup_printf ("%.1f", f.rtt_last / 1e6);
  dropped = g_strdup_printf ("%.2f", f.dropped_seconds);
  held = g_strdup_printf ("%.0f", f.held_bytes / 1024.0);
  bound = g_strdup_printf ("%.0f", (gdouble) app->max_frames *
      app->frame_bytes / 1024.0);
  /* TRANSLATORS: the live status line: connection state, seconds streamed,
   * events sent, events acknowledged, last round trip, seconds of audio
   * dropped, audio memory held and its bound */
  line = g_strdup_printf (_("%s  %s s  sent %s  acked %s  rtt %s ms  "
          "dropped %s s  held %s/%s KiB"), state, seconds, sent, acked, rtt,
      dropped, held, bound);
  if (app->status_on_tty) {
    struct winsize size = { 0 };
    gchar *fitted;

    /* a line that wraps could not be rewritten in place */
    if (ioctl (STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 1) {
      fitted = fit_columns (line, size.ws_col - 1);
      g_free (line);
      line = fitted;
    }
    printf ("\r%s\033[K", line);
    app->status_line_open = TRUE;
  } else {
    printf ("%s\n", line);
  }
  fflush (stdout);

  g_free (line);
  g_free (state);
  g_free (seconds);
  g_free (sent);
  g_free (acked);
  g_free (rtt);
  g_free (dropped);
  g_free (held);
  g_free (bound);
  figures_clear (&f);
}

/* After a failure, only when something was sent. */
static void
print_summary (App * app, gboolean failed)
{
  Figures f = { 0 };
  gchar *seconds, *sent, *acked, *dropped, *reconnects, *unacknowledged;

  figures_read (app, &f);
  if (failed && f.sent == 0) {
    figures_clear (&f);
    return;
  }
  end_status_line (app);
  seconds = g_strdup_printf ("%.1f", f.seconds);
  sent = g_strdup_printf ("%" G_GUINT64_FORMAT, f.sent);
  acked = g_strdup_printf ("%" G_GUINT64_FORMAT, f.acked);
  dropped = g_strdup_printf ("%.2f", f.dropped_seconds);
  reconnects = g_strdup_printf ("%" G_GUINT64_FORMAT, f.reconnects);
  unacknowledged = g_strdup_printf ("%" G_GUINT64_FORMAT, f.unacknowledged);
  /* TRANSLATORS: the summary at the end: seconds streamed, events sent,
   * events acknowledged, events never acknowledged, seconds of audio
   * dropped, reconnections */
  printf (_("streamed %s s: sent %s, acked %s, unacknowledged %s, "
          "dropped %s s, reconnects %s\n"), seconds, sent, acked,
      unacknowledged, dropped, reconnects);
  fflush (stdout);
  g_free (seconds);
  g_free (sent);
  g_free (acked);
  g_free (dropped);
  g_free (reconnects);
  g_free (unacknowledged);
  figures_clear (&f);
}

static gboolean
on_tick (gpointer user_data)
{
  print_status (user_data);
  return G_SOURCE_CONTINUE;
}

static void
finish (App * app, gint exit_code)
{
  app->exit_code = exit_code;
  g_main_loop_quit (app->loop);
}

static gboolean
on_stop_timeout (gpointer user_data)
{
  App *app = user_data;

  app->stop_timer = 0;
  end_status_line (app);
  g_printerr (_("%s: the stream did not end in time; stopping without the "
          "last acknowledgements.\n"), g_get_prgname ());
  finish (app, EXIT_STREAM_FAILED);
  return G_SOURCE_REMOVE;
}

/* Ends the stream with EOS: the sink sends what it holds and waits for the
 * outstanding acks (at most ack-timeout), then the EOS message ends the
 * loop. */
static void
stop (App * app)
{
  if (app->stopping)
    return;
  app->stopping = TRUE;
  gst_element_send_event (app->pipeline, gst_event_new_eos ());
  if (app->stop_timeout > 0)
    app->stop_timer = g_timeout_add (GST_TIME_AS_MSECONDS (app->stop_timeout),
        on_stop_timeout, app);
}

static gboolean
on_seconds_elapsed (gpointer user_data)
{
  App *app = user_data;

  app->seconds_timer = 0;
  stop (app);
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  App *app = user_data;

  gint64 now = g_get_monotonic_time ();

  /* one Ctrl-C can arrive twice (sent to the process and to its group, as
   * timeout(1) does): a second one counts from 200 ms on */
  if (app->interrupts > 0
      && now - app->first_interrupt < 200 * G_TIME_SPAN_MILLISECOND)
    return G_SOURCE_CONTINUE;
  app->interrupts++;
  if (app->interrupts == 1) {
    app->first_interrupt = now;
    stop (app);
  } else {
    end_status_line (app);
    g_printerr (_("%s: interrupted again: stopping at once.\n"),
        g_get_prgname ());
    finish (app, EXIT_INTERRUPTED);
  }
  return G_SOURCE_CONTINUE;
}

static void
print_message_text (App * app, GstMessage * msg, const gchar * kind)
{
  GError *error = NULL;
  gchar *debug = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, &debug);
  else
    gst_message_parse_warning (msg, &error, &debug);

  /* each warning once: a flapping connection repeats them */
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING) {
    if (g_hash_table_contains (app->warnings_seen, error->message))
      goto done;
    g_hash_table_add (app->warnings_seen, g_strdup (error->message));
  }
  end_status_line (app);
  g_printerr ("%s: %s: %s\n", g_get_prgname (), kind, error->message);
  if (opt_verbose && debug)
    g_printerr ("  %s\n", debug);
done:
  g_error_free (error);
  g_free (debug);
}

static void
print_notice (App * app, const gchar * text)
{
  end_status_line (app);
  printf ("%s\n", text);
  fflush (stdout);
}

static void
on_element_message (App * app, GstMessage * msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  const gchar *location = gst_structure_get_string (s, "location");
  gchar *text = NULL;

  if (gst_structure_has_name (s, "socketio-event")) {
    gchar *args = shorten (gst_structure_get_string (s, "args"), 200);

    /* TRANSLATORS: an event from the server: its name, its arguments */
    text = g_strdup_printf (_("server event %s: %s"),
        gst_structure_get_string (s, "name"), args);
    g_free (args);
  } else if (!opt_verbose) {
    return;
  } else if (gst_structure_has_name (s, "socketio-connected")) {
    text = g_strdup_printf (_("connected to %s"), location);
  } else if (gst_structure_has_name (s, "socketio-reconnected")) {
    text = g_strdup_printf (_("reconnected to %s"), location);
  } else if (gst_structure_has_name (s, "socketio-disconnected")) {
    /* TRANSLATORS: the server's address, why the connection ended */
    text = g_strdup_printf (_("disconnected from %s: %s"), location,
        gst_structure_get_string (s, "reason"));
  }
  if (text && !opt_quiet)
    print_notice (app, text);
  g_free (text);
}

static gboolean
on_bus_message (GstBus * bus, GstMessage * msg, gpointer user_data)
{
  App *app = user_data;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      print_message_text (app, msg, _("error"));
      if (opt_source == NULL && gst_object_has_as_ancestor (msg->src,
              GST_OBJECT (app->source)))
        g_printerr (_("%s: no default capture device? --source tone streams "
                "a test tone instead.\n"), g_get_prgname ());
      finish (app, EXIT_STREAM_FAILED);
      break;
    case GST_MESSAGE_WARNING:
      print_message_text (app, msg, _("warning"));
      break;
    case GST_MESSAGE_EOS:
      finish (app, EXIT_OK);
      break;
    case GST_MESSAGE_ELEMENT:
      on_element_message (app, msg);
      break;
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
element_available (const gchar * name)
{
  GstElementFactory *factory = gst_element_factory_find (name);

  if (factory == NULL)
    return FALSE;
  gst_object_unref (factory);
  return TRUE;
}

/* The elements this program needs, checked before anything is built so
 * that a missing plugin gets a message saying what to install. */
static gboolean
check_plugins (const gchar * source_element)
{
  const gchar *socketio[] = { "socketiosink", "ackqueue", "leakyframepool" };
  const gchar *base[] = { "audioconvert", "audioresample", source_element };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (socketio); i++) {
    if (!element_available (socketio[i])) {
      g_printerr (_("%s: the socketio GStreamer plugin is not installed (no "
              "%s element). Install gst-socketio (see the Install section of "
              "its README), or set GST_PLUGIN_PATH to the directory holding "
              "libgstsocketio.so (e.g. build/gst/socketio), then check with "
              "'gst-inspect-1.0 socketiosink'.\n"), g_get_prgname (),
          socketio[i]);
      return FALSE;
    }
  }
  for (i = 0; i < G_N_ELEMENTS (base); i++) {
    if (base[i] && !element_available (base[i])) {
      g_printerr (_("%s: the GStreamer element %s is not installed (Debian: "
              "gstreamer1.0-plugins-base, gstreamer1.0-plugins-good).\n"),
          g_get_prgname (), base[i]);
      return FALSE;
    }
  }
  return TRUE;
}

static void
on_pad_added (GstElement * decodebin, GstPad * pad, gpointer user_data)
{
  GstElement *convert = user_data;
  GstPad *sinkpad = gst_element_get_static_pad (convert, "sink");
  GstCaps *caps = gst_pad_get_current_caps (pad);

  if (caps == NULL)
    caps = gst_pad_query_caps (pad, NULL);
  /* the first audio stream of the file; others stay unlinked */
  if (!gst_pad_is_linked (sinkpad) && !gst_caps_is_empty (caps) &&
      g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps,
                  0)), "audio/"))
    gst_pad_link (pad, sinkpad);
  gst_caps_unref (caps);
  gst_object_unref (sinkpad);
}

/* The element that --source names, or NULL with a message and *exit_code
 * set. */
static GstElement *
make_source (const gchar * source, gint * exit_code)
{
  GError *error = NULL;
  GstElement *element;

  if (source == NULL || strcmp (source, "default") == 0) {
    return gst_element_factory_make ("autoaudiosrc", "source");
  } else if (strcmp (source, "tone") == 0) {
    element = gst_element_factory_make ("audiotestsrc", "source");
    g_object_set (element, "is-live", TRUE, "freq", 440.0, NULL);
    return element;
  } else if (g_str_has_prefix (source, "file:")) {
    const gchar *path = source + strlen ("file:");
    gchar *uri;

    if (!g_file_test (path, G_FILE_TEST_IS_REGULAR)) {
      gchar *problem = g_strdup_printf (_("--source: there is no file %s"),
          path);

      usage_error (problem);
      g_free (problem);
      *exit_code = EXIT_USAGE;
      return NULL;
    }
    uri = gst_filename_to_uri (path, &error);
    if (uri == NULL) {
      usage_error (error->message);
      g_error_free (error);
      *exit_code = EXIT_USAGE;
      return NULL;
    }
    element = gst_element_factory_make ("uridecodebin", "source");
    g_object_set (element, "uri", uri, NULL);
    g_free (uri);
    return element;
  }

  element = gst_parse_bin_from_description (source, TRUE, &error);
  if (element == NULL) {
    gchar *problem = g_strdup_printf (_("--source: %s"), error->message);

    usage_error (problem);
    g_free (problem);
    *exit_code = g_error_matches (error, GST_PARSE_ERROR,
        GST_PARSE_ERROR_NO_SUCH_ELEMENT) ? EXIT_MISSING_PLUGIN : EXIT_USAGE;
    g_error_free (error);
  }
  return element;
}

/* Sets a numeric property from an option value in the option's unit
 * (value × scale in the property's), refusing values outside the
 * property's range with a message naming the option. */
static gboolean
set_number (GstElement * element, const gchar * property, gdouble value,
    gdouble scale, const gchar * option)
{
  GParamSpec *pspec =
      g_object_class_find_property (G_OBJECT_GET_CLASS (element), property);
  gdouble scaled = value * scale, minimum, maximum;
  gchar *given, *low, *high, *problem;

  g_return_val_if_fail (pspec != NULL, FALSE);
  if (G_IS_PARAM_SPEC_UINT64 (pspec)) {
    minimum = G_PARAM_SPEC_UINT64 (pspec)->minimum;
    maximum = G_PARAM_SPEC_UINT64 (pspec)->maximum;
  } else {
    minimum = G_PARAM_SPEC_UINT (pspec)->minimum;
    maximum = G_PARAM_SPEC_UINT (pspec)->maximum;
  }
  if (!isnan (scaled) && scaled >= minimum && scaled <= maximum) {
    if (G_IS_PARAM_SPEC_UINT64 (pspec))
      g_object_set (element, property, (guint64) llround (scaled), NULL);
    else
      g_object_set (element, property, (guint) lround (scaled), NULL);
    return TRUE;
  }

  given = g_strdup_printf ("%g", value);
  low = g_strdup_printf ("%g", minimum / scale);
  high = g_strdup_printf ("%g", maximum / scale);
  /* TRANSLATORS: an option, the value given, the smallest and largest
   * values allowed */
  problem = g_strdup_printf (_("%s %s is out of range: it must be from %s "
          "to %s"), option, given, low, high);
  usage_error (problem);
  g_free (problem);
  g_free (given);
  g_free (low);
  g_free (high);
  return FALSE;
}

static gboolean
set_enum (GstElement * element, const gchar * property, const gchar * nick,
    const gchar * option)
{
  GParamSpec *pspec =
      g_object_class_find_property (G_OBJECT_GET_CLASS (element), property);
  GEnumClass *enum_class;
  gboolean known;

  if (nick == NULL)
    return TRUE;
  enum_class = G_PARAM_SPEC_ENUM (pspec)->enum_class;
  known = g_enum_get_value_by_nick (enum_class, nick) != NULL;
  if (known) {
    gst_util_set_object_arg (G_OBJECT (element), property, nick);
  } else {
    GString *allowed = g_string_new (NULL);
    gchar *problem;
    guint i;

    for (i = 0; i < enum_class->n_values; i++)
      g_string_append_printf (allowed, "%s%s", i ? ", " : "",
          enum_class->values[i].value_nick);
    /* TRANSLATORS: an option, the value given, the values allowed */
    problem = g_strdup_printf (_("%s: unknown value \"%s\" (use one of: %s)"),
        option, nick, allowed->str);
    usage_error (problem);
    g_free (problem);
    g_string_free (allowed, TRUE);
  }
  return known;
}

/* The contents of @path for @option (--auth @FILE...), or NULL after a
 * usage error. Files keep tokens and passwords out of the process list. */
static gchar *
read_option_file (const gchar * option, const gchar * path)
{
  GError *error = NULL;
  gchar *contents;

  if (!g_file_get_contents (path, &contents, NULL, &error)) {
    gchar *problem = g_strdup_printf ("%s: %s", option, error->message);

    usage_error (problem);
    g_free (problem);
    g_error_free (error);
    return NULL;
  }
  return contents;
}

/* One 'Name: value' header into @headers; FALSE after a usage error. */
static gboolean
add_header (GstStructure * headers, const gchar * header)
{
  const gchar *colon = strchr (header, ':');
  gchar *name, *value;

  if (colon == NULL || colon == header) {
    /* no value in the message: it may be a secret */
    usage_error (_("--header must be 'NAME: VALUE', e.g. "
            "'Authorization: Bearer abc'"));
    return FALSE;
  }
  name = g_strstrip (g_strndup (header, colon - header));
  value = g_strstrip (g_strdup (colon + 1));
  gst_structure_set (headers, name, G_TYPE_STRING, value, NULL);
  g_free (name);
  g_free (value);
  return TRUE;
}

/* The -H options as the sink's extra-headers: 'Name: value', or @FILE with
 * one header a line (blank lines and lines starting with # skipped). */
static gboolean
set_headers (GstElement * sink)
{
  GstStructure *headers;
  gboolean ok = TRUE;
  guint i;

  if (opt_headers == NULL)
    return TRUE;
  headers = gst_structure_new_empty ("extra-headers");
  for (i = 0; ok && opt_headers[i]; i++) {
    gchar *contents, **lines;
    guint j;

    if (opt_headers[i][0] != '@') {
      ok = add_header (headers, opt_headers[i]);
      continue;
    }
    contents = read_option_file ("--header", opt_headers[i] + 1);
    if (contents == NULL) {
      ok = FALSE;
      break;
    }
    lines = g_strsplit (contents, "\n", -1);
    for (j = 0; ok && lines[j]; j++) {
      gchar *line = g_strstrip (lines[j]);

      if (line[0] != '\0' && line[0] != '#')
        ok = add_header (headers, line);
    }
    g_strfreev (lines);
    g_free (contents);
  }
  if (ok)
    g_object_set (sink, "extra-headers", headers, NULL);
  gst_structure_free (headers);
  return ok;
}

/* Sets @property to @value, or, for "@FILE", to what @trim leaves of the
 * file: a secret in a file stays out of the process list. */
static gboolean
set_secret (GstElement * sink, const gchar * property, const gchar * option,
    const gchar * value, void (*trim) (gchar * contents))
{
  gchar *contents;

  if (value == NULL || value[0] != '@') {
    g_object_set (sink, property, value, NULL);
    return TRUE;
  }
  contents = read_option_file (option, value + 1);
  if (contents == NULL)
    return FALSE;
  trim (contents);
  g_object_set (sink, property, contents, NULL);
  g_free (contents);
  return TRUE;
}

/* --auth @FILE: the JSON, blanks around it dropped */
static void
trim_blanks (gchar * contents)
{
  g_strstrip (contents);
}

/* --proxy-password @FILE: the file's first line is the password */
static void
keep_first_line (gchar * contents)
{
  contents[strcspn (contents, "\r\n")] = '\0';
}

/* The sink's settings that map one to one to an option. */
static const struct
{
  const gchar *property;
  gchar **value;
} text_settings[] = {
  {"namespace", &opt_namespace},
  {"event", &opt_event},
  {"payload-key", &opt_payload_key},
  {"ssl-ca-file", &opt_ssl_ca_file},
  {"user-agent", &opt_user_agent},
  {"proxy", &opt_proxy},
  {"proxy-id", &opt_proxy_user},
};

static const struct
{
  const gchar *property;
  const gchar *option;
  gint *value;
} count_settings[] = {
  {"max-in-flight", "--max-in-flight", &opt_max_in_flight},
  {"max-batch-bytes", "--max-batch-bytes", &opt_max_batch_bytes},
  {"max-reconnect-attempts", "--max-reconnect-attempts",
      &opt_max_reconnect_attempts},
};

static const struct
{
  const gchar *property;
  const gchar *option;
  gdouble *value;
} seconds_settings[] = {
  {"batch-duration", "--batch-duration", &opt_batch_duration},
  {"ack-timeout", "--ack-timeout", &opt_ack_timeout},
  {"connect-timeout", "--connect-timeout", &opt_connect_timeout},
  {"reconnect-delay", "--reconnect-delay", &opt_reconnect_delay},
  {"reconnect-delay-max", "--reconnect-delay-max", &opt_reconnect_delay_max},
};

static gboolean
configure_sink (GstElement * sink, const gchar * location)
{
  guint i;

  g_object_set (sink, "location", location, NULL);
  for (i = 0; i < G_N_ELEMENTS (text_settings); i++)
    if (*text_settings[i].value)
      g_object_set (sink, text_settings[i].property, *text_settings[i].value,
          NULL);
  if (opt_cookies)
    g_object_set (sink, "cookies", opt_cookies, NULL);
  g_object_set (sink, "ssl-use-system-ca-file", !opt_no_system_ca,
      "ssl-strict", !opt_insecure, "ack", !opt_no_ack, "reconnect",
      !opt_no_reconnect, "retry-first-connection", opt_retry_first_connection,
      "reconnect-on-server-disconnect", opt_reconnect_on_server_disconnect,
      NULL);

  for (i = 0; i < G_N_ELEMENTS (count_settings); i++)
    if (*count_settings[i].value != UNSET_INT &&
        !set_number (sink, count_settings[i].property,
            *count_settings[i].value, 1, count_settings[i].option))
      return FALSE;
  for (i = 0; i < G_N_ELEMENTS (seconds_settings); i++)
    if (*seconds_settings[i].value != UNSET_SECONDS &&
        !set_number (sink, seconds_settings[i].property,
            *seconds_settings[i].value, GST_SECOND, seconds_settings[i].option))
      return FALSE;
  return set_secret (sink, "auth", "--auth", opt_auth, trim_blanks)
      && set_headers (sink)
      && set_secret (sink, "proxy-pw", "--proxy-password", opt_proxy_password,
      keep_first_line)
      && set_enum (sink, "transports", opt_transports, "--transports");
}

/* The sizing rule of the README: all audio in flight is in the pool's
 * max-frames buffers, and ackqueue's bound stays below them minus what
 * the sink's window holds, so that ackqueue drops its oldest audio before
 * the pool runs dry. */
static gboolean
size_memory (App * app)
{
  guint max_in_flight;
  guint64 batch_duration, frame_duration, frames_per_event;
  guint64 frames_in_flight, max_frames;
  gchar *problem, *frames, *window;

  g_object_get (app->sink, "max-in-flight", &max_in_flight,
      "batch-duration", &batch_duration, NULL);
  frame_duration = gst_util_uint64_scale_int (opt_frame_samples, GST_SECOND,
      opt_rate);
  /* a batch may straddle one frame more than it spans */
  frames_per_event = batch_duration ?
      (batch_duration + frame_duration - 1) / frame_duration + 1 : 1;
  frames_in_flight = max_in_flight * frames_per_event;
  max_frames = opt_max_frames != UNSET_INT ? (guint64) MAX (opt_max_frames, 0)
      : MAX (64, 2 * frames_in_flight);

  if (max_frames <= frames_in_flight) {
    frames = g_strdup_printf ("%" G_GUINT64_FORMAT, max_frames);
    window = g_strdup_printf ("%" G_GUINT64_FORMAT, frames_in_flight);
    /* TRANSLATORS: the number of frames given, the frames the window of
     * unacknowledged events holds */
    problem = g_strdup_printf (_("--max-frames %s leaves no room to queue "
            "audio: it must be above the %s frames that --max-in-flight "
            "events hold"), frames, window);
    usage_error (problem);
    g_free (problem);
    g_free (frames);
    g_free (window);
    return FALSE;
  }
  if (!set_number (app->pool, "max-frames", max_frames, 1, "--max-frames") ||
      !set_number (app->pool, "frame-samples", opt_frame_samples, 1,
          "--frame-samples"))
    return FALSE;
  g_object_set (app->queue, "max-size-buffers",
      (guint) (max_frames - frames_in_flight), "max-size-bytes", 0,
      "max-size-time", (guint64) 0, NULL);
  /* until the source is known to be live (set_drop_policy) */
  gst_util_set_object_arg (G_OBJECT (app->queue), "leaky", "no");
  gst_util_set_object_arg (G_OBJECT (app->pool), "leaky", "no");

  app->max_frames = max_frames;
  app->frame_bytes = opt_frame_samples * opt_channels * 2;
  app->bytes_per_second = opt_rate * opt_channels * 2;
  return TRUE;
}

static GstElement *
make_element (GstElement * pipeline, const gchar * factory, const gchar * name)
{
  GstElement *element = gst_element_factory_make (factory, name);

  gst_bin_add (GST_BIN (pipeline), element);
  return element;
}

/* Builds the pipeline into app; returns an exit code, EXIT_OK when it is
 * ready to start. */
static gint
build_pipeline (App * app, const gchar * location)
{
  GstElement *source, *convert, *resample, *capsfilter;
  GstCaps *caps;
  gint exit_code = EXIT_USAGE;

  source = make_source (opt_source, &exit_code);
  if (source == NULL)
    return exit_code;
  app->source = source;

  app->pipeline = gst_pipeline_new ("gst-socketio-send");
  gst_bin_add (GST_BIN (app->pipeline), source);
  convert = make_element (app->pipeline, "audioconvert", "convert");
  resample = make_element (app->pipeline, "audioresample", "resample");
  capsfilter = make_element (app->pipeline, "capsfilter", "caps");
  app->pool = make_element (app->pipeline, "leakyframepool", "pool");
  app->queue = make_element (app->pipeline, "ackqueue", "queue");
  app->sink = make_element (app->pipeline, "socketiosink", "sink");

  caps = gst_caps_new_simple ("audio/x-raw", "format", G_TYPE_STRING, "S16LE",
      "layout", G_TYPE_STRING, "interleaved", "rate", G_TYPE_INT, opt_rate,
      "channels", G_TYPE_INT, opt_channels, NULL);
  g_object_set (capsfilter, "caps", caps, NULL);
  gst_caps_unref (caps);

  if (!configure_sink (app->sink, location) || !size_memory (app))
    return EXIT_USAGE;
  g_object_get (app->sink, "ack-timeout", &app->stop_timeout, NULL);
  if (app->stop_timeout > 0)
    app->stop_timeout += 5 * GST_SECOND;

  if (g_str_has_prefix (opt_source ? opt_source : "", "file:"))
    g_signal_connect_object (source, "pad-added", G_CALLBACK (on_pad_added),
        convert, 0);
  else
    gst_element_link (source, convert);
  gst_element_link_many (convert, resample, capsfilter, app->pool, app->queue,
      app->sink, NULL);
  return EXIT_OK;
}

/* After a failed state change: the reason is an error on the bus. */
static gint
report_start_failure (App * app)
{
  GstBus *bus = gst_element_get_bus (app->pipeline);
  GstMessage *msg;
  gint exit_code = EXIT_STREAM_FAILED;

  msg = gst_bus_pop_filtered (bus, GST_MESSAGE_ERROR);
  if (msg) {
    GError *error = NULL;

    gst_message_parse_error (msg, &error, NULL);
    /* settings are checked at NULL->READY: a bad option */
    if (g_error_matches (error, GST_RESOURCE_ERROR,
            GST_RESOURCE_ERROR_SETTINGS))
      exit_code = EXIT_USAGE;
    g_error_free (error);
    print_message_text (app, msg, _("error"));
    gst_message_unref (msg);
  } else {
    g_printerr (_("%s: error: the pipeline could not start.\n"),
        g_get_prgname ());
  }
  gst_object_unref (bus);
  return exit_code;
}

/* A live source cannot wait: when the server is slow or gone, the oldest
 * queued audio is dropped (and counted) instead. A file waits, so
 * none of it is lost. */
static void
set_drop_policy (App * app, gboolean live)
{
  gst_util_set_object_arg (G_OBJECT (app->queue), "leaky",
      live ? "downstream" : "no");
  gst_util_set_object_arg (G_OBJECT (app->pool), "leaky", live ? "drop" : "no");
}

static gint
run (App * app)
{
  GstStateChangeReturn started;
  GstBus *bus;
  guint tick = 0, sigint, sigterm;

  if (gst_element_set_state (app->pipeline, GST_STATE_READY) ==
      GST_STATE_CHANGE_FAILURE)
    return report_start_failure (app);

  app->loop = g_main_loop_new (NULL, FALSE);
  bus = gst_element_get_bus (app->pipeline);
  gst_bus_add_watch (bus, on_bus_message, app);
  sigint = g_unix_signal_add (SIGINT, on_signal, app);
  sigterm = g_unix_signal_add (SIGTERM, on_signal, app);
  if (!opt_quiet)
    tick = g_timeout_add (1000, on_tick, app);
  if (opt_seconds > 0)
    app->seconds_timer = g_timeout_add ((guint) (opt_seconds * 1000),
        on_seconds_elapsed, app);

  started = gst_element_set_state (app->pipeline, GST_STATE_PAUSED);
  if (started != GST_STATE_CHANGE_FAILURE) {
    set_drop_policy (app, started == GST_STATE_CHANGE_NO_PREROLL);
    started = gst_element_set_state (app->pipeline, GST_STATE_PLAYING);
  }
  if (started == GST_STATE_CHANGE_FAILURE) {
    app->exit_code = report_start_failure (app);
  } else {
    g_main_loop_run (app->loop);
    if (!opt_quiet && app->exit_code != EXIT_INTERRUPTED)
      print_summary (app, app->exit_code != EXIT_OK);
  }
  end_status_line (app);

  gst_element_set_state (app->pipeline, GST_STATE_NULL);
  if (tick)
    g_source_remove (tick);
  if (app->seconds_timer)
    g_source_remove (app->seconds_timer);
  if (app->stop_timer)
    g_source_remove (app->stop_timer);
  g_source_remove (sigint);
  g_source_remove (sigterm);
  gst_bus_remove_watch (bus);
  gst_object_unref (bus);
  g_main_loop_unref (app->loop);
  return app->exit_code;
}

static void
add_option_group (GOptionContext * context, const gchar * name,
    const gchar * title, const gchar * help, const GOptionEntry * entries)
{
  GOptionGroup *group = g_option_group_new (name, title, help, NULL, NULL);

  g_option_group_add_entries (group, entries);
  g_option_group_set_translation_domain (group, GETTEXT_PACKAGE);
  g_option_context_add_group (context, group);
}

static GOptionContext *
make_option_context (void)
{
  GOptionContext *context;
  gchar *description;

  context = g_option_context_new (_("URL - stream audio to a Socket.IO "
          "server"));
  g_option_context_set_translation_domain (context, GETTEXT_PACKAGE);
  g_option_context_set_summary (context, _("Streams the default capture "
          "device, a test tone or a file, in real time, as Socket.IO events "
          "to URL (http://, https://, ws:// or wss://), with a live status "
          "line. Ctrl-C stops after the server acknowledged what was sent; "
          "a second Ctrl-C stops at once."));
  description = g_strdup_printf ("%s\n  %s\n  %s\n  %s\n  %s\n  %s\n",
      _("Exit status:"),
      _("0    the stream ended (Ctrl-C, SIGTERM, --seconds, end of file)"),
      _("1    streaming failed: the error is printed"),
      _("2    a GStreamer plugin is missing (the socketio plugin included)"),
      _("64   an invalid option or setting"),
      _("130  a second Ctrl-C stopped it without waiting"));
  g_option_context_set_description (context, description);
  g_free (description);

  g_option_context_add_main_entries (context, main_entries, GETTEXT_PACKAGE);
  add_option_group (context, "source", _("Audio source:"),
      _("Show the audio source options"), source_entries);
  add_option_group (context, "server", _("Server and connection:"),
      _("Show the server and connection options"), server_entries);
  add_option_group (context, "delivery", _("Delivery and reconnection:"),
      _("Show the delivery and reconnection options"), delivery_entries);
  g_option_context_add_group (context, gst_init_get_option_group ());
  return context;
}

static gboolean
check_arguments (gint argc, gchar ** argv)
{
  static const gchar *schemes[] = { "http", "https", "ws", "wss" };
  const gchar *scheme;
  gboolean known = FALSE;
  guint i;

  if (argc != 2) {
    usage_error (argc < 2 ? _("the server's URL is missing, e.g. "
            "http://127.0.0.1:5000") : _("only one URL can be given"));
    return FALSE;
  }
  scheme = g_uri_peek_scheme (argv[1]);
  for (i = 0; scheme && i < G_N_ELEMENTS (schemes); i++)
    known |= strcmp (scheme, schemes[i]) == 0;
  if (!known) {
    /* the URL itself is not repeated: its query may hold a token */
    usage_error (_("the URL must start with http://, https://, ws:// or "
            "wss://"));
    return FALSE;
  }
  if (opt_rate < 1000 || opt_rate > 384000) {
    usage_error (_("--rate must be from 1000 to 384000 Hz"));
    return FALSE;
  }
  if (opt_channels < 1 || opt_channels > 64) {
    usage_error (_("--channels must be from 1 to 64"));
    return FALSE;
  }
  if (opt_seconds < 0 || opt_seconds > G_MAXUINT / 1000) {
    usage_error (_("--seconds must be 0 or more"));
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  GOptionContext *context;
  GError *error = NULL;
  App app = { 0 };
  gint exit_code;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("gst-socketio-send");

  context = make_option_context ();
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    usage_error (error->message);
    g_error_free (error);
    g_option_context_free (context);
    return EXIT_USAGE;
  }
  g_option_context_free (context);
  if (opt_version) {
    printf ("gst-socketio-send %s\n", VERSION);
    return EXIT_OK;
  }
  if (!check_arguments (argc, argv))
    return EXIT_USAGE;

  if (!check_plugins (opt_source == NULL ||
          strcmp (opt_source, "default") == 0 ? "autoaudiosrc" :
          strcmp (opt_source, "tone") == 0 ? "audiotestsrc" :
          g_str_has_prefix (opt_source, "file:") ? "uridecodebin" : NULL)) {
    exit_code = EXIT_MISSING_PLUGIN;
  } else {
    app.status_on_tty = isatty (STDOUT_FILENO);
    app.warnings_seen = g_hash_table_new_full (g_str_hash, g_str_equal,
        g_free, NULL);
    exit_code = build_pipeline (&app, argv[1]);
    if (exit_code == EXIT_OK)
      exit_code = run (&app);
    if (app.pipeline) {
      gst_element_set_state (app.pipeline, GST_STATE_NULL);
      gst_object_unref (app.pipeline);
    }
    g_hash_table_unref (app.warnings_seen);
  }
  gst_deinit ();
  return exit_code;
}
