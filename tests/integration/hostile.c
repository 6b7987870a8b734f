/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink against tests/server/hostile.js, a Socket.IO server that
 * misbehaves in exactly one way per case (issue 7). One GstCheck test case
 * per server case, named after it: CK_RUN_CASE=flood runs one.
 *
 * Every case streams live audio for a bounded time and demands what
 * issue 7 demands of every hostile server: no crash, no hang, memory
 * bounded (RSS growth, bound per case), PLAYING -> NULL under 200 ms, and
 * one of:
 *
 * - REFUSE: an ERROR on the bus that names the problem, after a bounded
 *   number of attempts: at most 1 + max-reconnect-attempts handshakes
 *   (a connection the server breaks right after the join counts as a
 *   failed attempt: otherwise a server that breaks every connection makes
 *   the sink reconnect forever), never more than a few per second;
 * - UP: valid traffic; the connection stays up (one handshake, no
 *   disconnection, no error) and the audio keeps real time at the server;
 * - EITHER: refused as above, or handled and up as above.
 *
 * Every pipeline runs with max-reconnect-attempts=3. Each case prints a
 * "hostile: ..." line with what happened, then fails with the list of
 * every demand it did not meet. */

#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"

#define FRAMES_PER_SECOND (16000.0 / 1024)
#define MAX_NULL_MS 200
#define MAX_RECONNECT_ATTEMPTS 3
#define MAX_ATTEMPTS_PER_SECOND 5
#define DEFAULT_RSS_BOUND_KIB (16 * 1024)
/* a run stops here, whatever its bound: the machine is shared */
#define RSS_GUARD_KIB (1024 * 1024)
#define REALTIME_RATIO 0.9
#define MAX_EVENT_GAP_MS 1000
#define KEPT_BUS_EVENTS 64

#define PIPELINE "audiotestsrc is-live=true samplesperbuffer=1024 ! " \
    "audio/x-raw,format=S16LE,rate=16000,channels=1 ! socketiosink name=sink " \
    "reconnect-delay=100000000 reconnect-delay-max=500000000 " \
    "connect-timeout=2000000000 max-reconnect-attempts=3 "

/* (user info in a location is refused at NULL→READY: see the unit test) */
#define SECRET_LOCATION "http://127.0.0.1:%u/?token=SECRET-QUERY"
#define SECRET_AUTH "{\"token\":\"SECRET-TOKEN\"}"

typedef enum
{
  EXPECT_REFUSE,
  EXPECT_UP,
  EXPECT_EITHER,
} Expect;

typedef struct _Run Run;

typedef struct
{
  const gchar *name;            /* the test case; hostile.js --case too */
  Expect expect;
  /* what the error must name, case-insensitive: groups separated by ';'
   * that must all match, each a '|'-separated list of alternatives */
  const gchar *names;
  const gchar *sink_props;      /* besides PIPELINE's */
  guint run_ms;                 /* how long it streams (less on an error) */
  gsize rss_bound_kib;          /* 0: DEFAULT_RSS_BOUND_KIB */
  guint max_handshakes;         /* 0: 1 + MAX_RECONNECT_ATTEMPTS */
  void (*check) (Run * run);    /* what else the case demands */
  const gchar *server_case;     /* NULL: name */
  gboolean no_pop;              /* the application reads the bus at the end */
  gboolean secrets;             /* secrets in location and auth */
  gboolean no_server;           /* a port nobody listens on */
  gboolean auth;                /* SECRET_AUTH, without the other secrets */
  const gchar *server_args;     /* more hostile.js arguments, or NULL */
  /* UP: the real-time ratio and longest gap allowed (0: the defaults) */
  gdouble realtime_ratio;
  guint max_event_gap_ms;
} HostileCase;

typedef struct
{
  gchar *name;
  gchar *args;                  /* NULL when longer than 64 KiB */
  gsize args_length;
} BusEvent;

struct _Run
{
  const HostileCase *c;
  SioTestServer *server;
  GstElement *pipeline;
  GstElement *sink;
  GstBus *bus;
  gint64 start_us;

  /* what the bus said */
  GError *error;                /* the first error */
  gchar *error_debug;
  gchar *error_source;
  gint64 error_ms;
  GString *warnings;
  guint n_warnings;
  guint connected, reconnected, disconnected;
  /* the socketio-disconnected messages' reasons, each once, and counts */
  GPtrArray *reasons;
  GHashTable *reason_counts;
  gchar *reasons_str;           /* "[reason] x3 [other reason] " */
  GPtrArray *events;            /* BusEvent, the first KEPT_BUS_EVENTS */
  guint n_events;
  gchar *leak;                  /* the first bus text holding SECRET */

  gsize rss_before, rss_peak;
  gint64 null_us;
  GstStateChangeReturn null_result;
  GstStructure *sink_stats;     /* at the end of the run */
  JsonObject *stats;            /* the server's, at the end of the run */

  GString *failures;            /* what the case demands and did not get */
};

static void
bus_event_free (BusEvent * event)
{
  g_free (event->name);
  g_free (event->args);
  g_free (event);
}

/* Everything a message tells the application, as text. */
static gchar *
message_text (GstMessage * msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  GString *text = g_string_new (NULL);
  GError *error = NULL;
  gchar *debug = NULL;

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      gst_message_parse_error (msg, &error, &debug);
      break;
    case GST_MESSAGE_WARNING:
      gst_message_parse_warning (msg, &error, &debug);
      break;
    case GST_MESSAGE_INFO:
      gst_message_parse_info (msg, &error, &debug);
      break;
    default:
      break;
  }
  if (error)
    g_string_append_printf (text, "%s | %s | ", error->message,
        GST_STR_NULL (debug));
  if (s) {
    gchar *str = gst_structure_to_string (s);

    g_string_append (text, str);
    g_free (str);
  }
  g_clear_error (&error);
  g_free (debug);
  return g_string_free (text, FALSE);
}

static void
on_element_message (Run * run, const GstStructure * s)
{
  if (gst_structure_has_name (s, "socketio-connected")) {
    run->connected++;
  } else if (gst_structure_has_name (s, "socketio-reconnected")) {
    run->reconnected++;
  } else if (gst_structure_has_name (s, "socketio-disconnected")) {
    const gchar *reason = gst_structure_get_string (s, "reason");
    guint count = GPOINTER_TO_UINT (g_hash_table_lookup (run->reason_counts,
            reason));

    run->disconnected++;
    if (count == 0)
      g_ptr_array_add (run->reasons, g_strdup (reason));
    g_hash_table_insert (run->reason_counts, g_strdup (reason),
        GUINT_TO_POINTER (count + 1));
  } else if (gst_structure_has_name (s, "socketio-event")) {
    const gchar *args = gst_structure_get_string (s, "args");

    run->n_events++;
    if (run->events->len < KEPT_BUS_EVENTS) {
      BusEvent *event = g_new0 (BusEvent, 1);

      event->name = g_strdup (gst_structure_get_string (s, "name"));
      event->args_length = args ? strlen (args) : 0;
      if (args && event->args_length <= 64 * 1024)
        event->args = g_strdup (args);
      g_ptr_array_add (run->events, event);
    }
  }
}

static void
on_message (Run * run, GstMessage * msg)
{
  if (run->c->secrets && run->leak == NULL) {
    gchar *text = message_text (msg);

    if (strstr (text, "SECRET"))
      run->leak = g_strdup_printf ("%s from %s: %s",
          GST_MESSAGE_TYPE_NAME (msg), GST_MESSAGE_SRC_NAME (msg), text);
    g_free (text);
  }

  switch (GST_MESSAGE_TYPE (msg)) {
    case GST_MESSAGE_ERROR:
      if (run->error == NULL) {
        gst_message_parse_error (msg, &run->error, &run->error_debug);
        run->error_source = g_strdup (GST_MESSAGE_SRC_NAME (msg));
        run->error_ms = (g_get_monotonic_time () - run->start_us) / 1000;
      }
      break;
    case GST_MESSAGE_WARNING:
      run->n_warnings++;
      if (run->warnings->len < 4096) {
        GError *error;
        gchar *debug;

        gst_message_parse_warning (msg, &error, &debug);
        g_string_append_printf (run->warnings, "[%s | %s] ", error->message,
            GST_STR_NULL (debug));
        g_error_free (error);
        g_free (debug);
      }
      break;
    case GST_MESSAGE_ELEMENT:
      if (GST_MESSAGE_SRC (msg) == GST_OBJECT (run->sink))
        on_element_message (run, gst_message_get_structure (msg));
      break;
    default:
      break;
  }
}

static void
sample_rss (Run * run)
{
  run->rss_peak = MAX (run->rss_peak, sio_test_rss_kib ());
}

/* Streams into @location for the case's run time (less after an error,
 * unless the application does not read the bus), then goes to NULL. */
static void
run_pipeline (Run * run, const gchar * location)
{
  const HostileCase *c = run->c;
  gchar *description = g_strconcat (PIPELINE, c->sink_props ? c->sink_props :
      "", NULL);
  GError *error = NULL;
  GstMessage *msg;
  gint64 deadline, start;

  run->pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_free (description);
  run->sink = gst_bin_get_by_name (GST_BIN (run->pipeline), "sink");
  g_object_set (run->sink, "location", location, NULL);
  if (c->secrets || c->auth)
    g_object_set (run->sink, "auth", SECRET_AUTH, NULL);
  run->bus = gst_element_get_bus (run->pipeline);

  run->rss_before = run->rss_peak = sio_test_rss_kib ();
  run->start_us = g_get_monotonic_time ();
  deadline = run->start_us + (gint64) c->run_ms * 1000;
  g_assert_cmpint (gst_element_set_state (run->pipeline, GST_STATE_PLAYING),
      !=, GST_STATE_CHANGE_FAILURE);

  while (g_get_monotonic_time () < deadline) {
    if (c->no_pop) {
      g_usleep (50 * 1000);
    } else if ((msg = gst_bus_timed_pop (run->bus, 50 * GST_MSECOND))) {
      on_message (run, msg);
      gst_message_unref (msg);
    }
    sample_rss (run);
    if (run->rss_peak > run->rss_before + RSS_GUARD_KIB)
      break;
    if (run->error)
      break;
  }
  /* what is left: everything, when the application did not read it */
  while ((msg = gst_bus_pop (run->bus))) {
    on_message (run, msg);
    gst_message_unref (msg);
  }
  sample_rss (run);

  g_object_get (run->sink, "stats", &run->sink_stats, NULL);
  if (run->server)
    run->stats = sio_test_server_stats (run->server);

  start = g_get_monotonic_time ();
  run->null_result = gst_element_set_state (run->pipeline, GST_STATE_NULL);
  run->null_us = g_get_monotonic_time () - start;
  if (run->null_result == GST_STATE_CHANGE_ASYNC)
    gst_element_get_state (run->pipeline, NULL, NULL, 5 * GST_SECOND);
}

/* "[reason] x3 [other reason]" (free it) */
static gchar *
reasons_text (Run * run)
{
  GString *text = g_string_new (NULL);
  guint i;

  for (i = 0; i < run->reasons->len; i++) {
    const gchar *reason = g_ptr_array_index (run->reasons, i);
    guint count = GPOINTER_TO_UINT (g_hash_table_lookup (run->reason_counts,
            reason));

    g_string_append_printf (text, "[%s]", reason);
    if (count > 1)
      g_string_append_printf (text, " x%u", count);
    g_string_append_c (text, ' ');
  }
  return g_string_free (text, FALSE);
}

static Run *
run_case (const HostileCase * c)
{
  Run *run = g_new0 (Run, 1);
  GStrvBuilder *builder = g_strv_builder_new ();
  gchar **args, **extra;
  gchar *location;

  g_strv_builder_add (builder, "--case");
  g_strv_builder_add (builder, c->server_case ? c->server_case : c->name);
  extra = g_strsplit (c->server_args ? c->server_args : "", " ", -1);
  g_strv_builder_addv (builder, (const gchar **) extra);
  g_strfreev (extra);
  args = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  run->c = c;
  run->warnings = g_string_new (NULL);
  run->failures = g_string_new (NULL);
  run->reasons = g_ptr_array_new_with_free_func (g_free);
  run->reason_counts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
      NULL);
  run->events = g_ptr_array_new_with_free_func ((GDestroyNotify)
      bus_event_free);

  run->server = sio_test_server_start (SIO_TEST_SERVER_HOSTILE,
      (const gchar * const *) args);
  g_strfreev (args);
  if (c->secrets)
    location = g_strdup_printf (SECRET_LOCATION,
        sio_test_server_get_port (run->server));
  else
    location = g_strdup (sio_test_server_get_url (run->server));
  if (c->no_server) {
    /* the port was just free and nobody listens on it any more */
    sio_test_server_stop (run->server);
    run->server = NULL;
  }

  run_pipeline (run, location);
  run->reasons_str = reasons_text (run);
  g_free (location);
  sio_test_server_stop (run->server);
  run->server = NULL;
  return run;
}

static void
run_free (Run * run)
{
  gst_object_unref (run->sink);
  gst_bus_set_flushing (run->bus, TRUE);
  gst_object_unref (run->bus);
  gst_object_unref (run->pipeline);
  g_clear_error (&run->error);
  g_free (run->error_debug);
  g_free (run->error_source);
  g_string_free (run->warnings, TRUE);
  g_string_free (run->failures, TRUE);
  g_ptr_array_unref (run->reasons);
  g_hash_table_unref (run->reason_counts);
  g_free (run->reasons_str);
  g_ptr_array_unref (run->events);
  g_free (run->leak);
  if (run->sink_stats)
    gst_structure_free (run->sink_stats);
  if (run->stats)
    json_object_unref (run->stats);
  g_free (run);
}

/* --- what the server saw ------------------------------------------------ */

static gint64
server_int (Run * run, const gchar * member)
{
  g_assert_nonnull (run->stats);
  return json_object_get_int_member (run->stats, member);
}

/* Handshakes, and the most that fell within one second. */
static guint
handshakes (Run * run, guint * per_second)
{
  JsonArray *times;
  guint n, i, j = 0;

  *per_second = 0;
  if (run->stats == NULL)
    return 0;
  times = json_object_get_array_member (run->stats, "handshakeTimes");
  n = json_array_get_length (times);
  for (i = 0; i < n; i++) {
    gint64 t = json_array_get_int_element (times, i);

    while (json_array_get_int_element (times, j) <= t - 1000)
      j++;
    *per_second = MAX (*per_second, i - j + 1);
  }
  return n;
}

/* Audio events at the server per real-time frame, from the first
 * handshake to the end of the run, and the longest time without one. */
static gdouble
realtime_ratio (Run * run, gint64 * max_gap_ms, gdouble * span_s)
{
  JsonArray *log, *times;
  guint n, i;
  gint64 start, last, now;

  *max_gap_ms = G_MAXINT64;
  *span_s = 0;
  if (run->stats == NULL)
    return 0;
  times = json_object_get_array_member (run->stats, "handshakeTimes");
  if (json_array_get_length (times) == 0)
    return 0;
  start = last = json_array_get_int_element (times, 0);
  now = json_object_get_int_member (run->stats, "now");
  log = json_object_get_array_member (run->stats, "eventLog");
  n = json_array_get_length (log);
  *max_gap_ms = 0;
  for (i = 0; i < n; i++) {
    gint64 t = json_object_get_int_member (json_array_get_object_element (log,
            i), "t");

    *max_gap_ms = MAX (*max_gap_ms, t - last);
    last = t;
  }
  *max_gap_ms = MAX (*max_gap_ms, now - last);
  *span_s = (now - start) / 1000.0;
  return *span_s > 0 ? n / (*span_s * FRAMES_PER_SECOND) : 0;
}

/* --- the verdicts ---------------------------------------------------------- */

/* Whether @text names what @names asks for (see HostileCase). */
static gboolean
text_names (const gchar * text, const gchar * names)
{
  gchar *lower = g_ascii_strdown (text, -1);
  gchar **groups = g_strsplit (names, ";", -1);
  gboolean all = TRUE;
  guint i, j;

  for (i = 0; groups[i] && all; i++) {
    gchar **alternatives = g_strsplit (groups[i], "|", -1);
    gboolean any = FALSE;

    for (j = 0; alternatives[j] && !any; j++) {
      gchar *alternative = g_ascii_strdown (alternatives[j], -1);

      any = strstr (lower, alternative) != NULL;
      g_free (alternative);
    }
    g_strfreev (alternatives);
    all = any;
  }
  g_strfreev (groups);
  g_free (lower);
  return all;
}

static gchar *
error_text (Run * run)
{
  if (run->error == NULL)
    return g_strdup ("");
  return g_strdup_printf ("%s %s", run->error->message,
      GST_STR_NULL (run->error_debug));
}

/* What the server saw besides: pongs, the redirect target, why its
 * WebSocket sessions ended (the first few). Free it. */
static gchar *
server_text (Run * run)
{
  GString *text = g_string_new (NULL);
  JsonArray *closes;
  guint i;

  if (run->stats == NULL)
    return g_string_free (text, FALSE);
  closes = json_object_get_array_member (run->stats, "closes");
  g_string_append_printf (text, "pings %" G_GINT64_FORMAT ", pongs %"
      G_GINT64_FORMAT ", pong timeouts %" G_GINT64_FORMAT ", acks %"
      G_GINT64_FORMAT ", target hits %" G_GINT64_FORMAT " (audio events %"
      G_GINT64_FORMAT "), closes", server_int (run, "pings"),
      server_int (run, "pongs"), server_int (run, "pongTimeouts"),
      server_int (run, "acks"), server_int (run, "targetHits"),
      server_int (run, "targetEvents"));
  for (i = 0; i < MIN (json_array_get_length (closes), 3); i++) {
    JsonObject *close = json_array_get_object_element (closes, i);

    g_string_append_printf (text, " %" G_GINT64_FORMAT " \"%s\"",
        json_object_get_int_member (close, "code"),
        json_object_get_string_member (close, "reason"));
  }
  if (json_array_get_length (closes) > 3)
    g_string_append_printf (text, " ... (%u)", json_array_get_length (closes));
  return g_string_free (text, FALSE);
}

/* One line (two with the sink's stats) saying what happened. */
static void
print_summary (Run * run)
{
  guint per_second, n = handshakes (run, &per_second);
  gint64 gap;
  gdouble span, ratio = realtime_ratio (run, &gap, &span);
  gchar *sink_stats = run->sink_stats ?
      gst_structure_to_string (run->sink_stats) : g_strdup ("");
  gchar *server = server_text (run);
  gchar *error = run->error ? g_strdup_printf ("\"%s\" (%s) from %s after %"
      G_GINT64_FORMAT " ms", run->error->message,
      GST_STR_NULL (run->error_debug), run->error_source,
      run->error_ms) : g_strdup ("none");

  g_print ("hostile: %s: error %s | handshakes %u (at most %u in 1 s), "
      "joins %" G_GINT64_FORMAT " | connected %u, reconnected %u, "
      "disconnected %u %.300s| server audio events %" G_GINT64_FORMAT
      ", %.2f of real time over %.1f s, longest gap %" G_GINT64_FORMAT
      " ms | server %s | bus events %u, warnings %u %.300s| RSS +%"
      G_GSIZE_FORMAT " KiB at most | NULL %.1f ms%s%.300s\n", run->c->name,
      g_strdelimit (error, "\n", ' '), n, per_second,
      run->stats ? server_int (run, "joins") : -1, run->connected,
      run->reconnected, run->disconnected, run->reasons_str,
      run->stats ? server_int (run, "events") : -1, ratio, span, gap, server,
      run->n_events, run->n_warnings, g_strdelimit (run->warnings->str, "\n",
          ' '), run->rss_peak - run->rss_before, run->null_us / 1000.0,
      run->leak ? " | LEAK: " : "", run->leak ? g_strdelimit (run->leak, "\n",
          ' ') : "");
  g_print ("  sink %s\n", sink_stats);
  g_free (error);
  g_free (server);
  g_free (sink_stats);
}

/* Records a demand that was not met: a case lists all of them. */
/* *INDENT-OFF* */
static void expect (Run * run, gboolean ok, const gchar * format, ...)
    G_GNUC_PRINTF (3, 4);
/* *INDENT-ON* */

static void
expect (Run * run, gboolean ok, const gchar * format, ...)
{
  va_list args;

  if (ok)
    return;
  g_string_append (run->failures, "\n  - ");
  va_start (args, format);
  g_string_append_vprintf (run->failures, format, args);
  va_end (args);
}

static void
assert_refused (Run * run)
{
  const HostileCase *c = run->c;
  guint per_second, n = handshakes (run, &per_second);
  guint most = c->max_handshakes ? c->max_handshakes :
      1 + MAX_RECONNECT_ATTEMPTS;
  gchar *text;

  expect (run, run->error != NULL, "%s: no error within %u ms (%u "
      "handshakes, %u reconnections, disconnections: %s)", c->name,
      c->run_ms, n, run->reconnected, run->reasons_str);
  text = error_text (run);
  if (c->names && run->error)
    expect (run, text_names (text, c->names), "%s: the error does not name "
        "the problem (%s): %s", c->name, c->names, text);
  g_free (text);
  if (run->stats) {
    expect (run, n <= most, "%s: %u handshakes, at most %u allowed "
        "(max-reconnect-attempts=%u)", c->name, n, most,
        MAX_RECONNECT_ATTEMPTS);
    expect (run, per_second <= MAX_ATTEMPTS_PER_SECOND, "%s: %u handshakes "
        "within one second", c->name, per_second);
  }
}

static void
assert_up (Run * run)
{
  const HostileCase *c = run->c;
  guint per_second, n = handshakes (run, &per_second);
  gint64 gap;
  gdouble span, ratio = realtime_ratio (run, &gap, &span);
  gdouble min_ratio = c->realtime_ratio > 0 ? c->realtime_ratio :
      REALTIME_RATIO;
  gint64 max_gap = c->max_event_gap_ms ? c->max_event_gap_ms : MAX_EVENT_GAP_MS;
  gchar *text = error_text (run);

  expect (run, run->error == NULL, "%s: error: %s", c->name, text);
  g_free (text);
  expect (run, run->disconnected == 0 && n == 1 &&
      server_int (run, "joins") == 1, "%s: the connection did not stay up: "
      "%u handshakes, %u disconnections: %s", c->name, n, run->disconnected,
      run->reasons_str);
  expect (run, ratio >= min_ratio && gap < max_gap,
      "%s: the audio did not keep real time: %.2f of real time, a gap of %"
      G_GINT64_FORMAT " ms", c->name, ratio, gap);
}

static void
assert_common (Run * run)
{
  const HostileCase *c = run->c;
  gsize bound = c->rss_bound_kib ? c->rss_bound_kib : DEFAULT_RSS_BOUND_KIB;

  expect (run, run->rss_peak - run->rss_before < bound, "%s: RSS grew by %"
      G_GSIZE_FORMAT " KiB, bound %" G_GSIZE_FORMAT " KiB", c->name,
      run->rss_peak - run->rss_before, bound);
  expect (run, run->null_us < MAX_NULL_MS * 1000, "%s: PLAYING -> NULL took "
      "%.1f ms", c->name, run->null_us / 1000.0);
  expect (run, run->null_result == GST_STATE_CHANGE_SUCCESS, "%s: PLAYING -> "
      "NULL returned %s", c->name,
      gst_element_state_change_return_get_name (run->null_result));
}

/* --- what some cases demand besides ---------------------------------------- */

static const BusEvent *
find_bus_event (Run * run, const gchar * name)
{
  guint i;

  for (i = 0; i < run->events->len; i++) {
    const BusEvent *event = g_ptr_array_index (run->events, i);

    if (g_strcmp0 (event->name, name) == 0)
      return event;
  }
  return NULL;
}

/* The event reached the bus with its arguments exactly as the server
 * wrote them. */
static void
assert_event_as_sent (Run * run, const gchar * name)
{
  JsonArray *sent = json_object_get_array_member (run->stats, "serverEvents");
  const BusEvent *event = find_bus_event (run, name);
  JsonObject *wire = NULL;
  guint i;

  for (i = 0; i < json_array_get_length (sent) && wire == NULL; i++) {
    JsonObject *o = json_array_get_object_element (sent, i);

    if (g_strcmp0 (json_object_get_string_member (o, "name"), name) == 0)
      wire = o;
  }
  g_assert_nonnull (wire);
  expect (run, event != NULL, "%s: event '%s' did not reach the bus",
      run->c->name, name);
  if (event == NULL)
    return;
  if (!json_object_get_null_member (wire, "args"))
    expect (run, g_strcmp0 (event->args, json_object_get_string_member (wire,
                "args")) == 0, "%s: event '%s' arrived as %.200s, sent as "
        "%.200s", run->c->name, name, event->args,
        json_object_get_string_member (wire, "args"));
  expect (run, event->args_length == (gsize) json_object_get_int_member (wire,
          "argsLength"), "%s: event '%s' arrived with %" G_GSIZE_FORMAT
      " bytes of arguments, sent with %" G_GINT64_FORMAT, run->c->name, name,
      event->args_length, json_object_get_int_member (wire, "argsLength"));
}

static void
check_nested (Run * run)
{
  assert_event_as_sent (run, "deep");
  assert_event_as_sent (run, "after");
}

static void
check_numbers (Run * run)
{
  assert_event_as_sent (run, "numbers");
}

static void
check_other_namespace (Run * run)
{
  assert_event_as_sent (run, "after-other");
  expect (run, find_bus_event (run, "bin") == NULL, "an event for namespace "
      "/other reached the bus of a client of /");
}

static void
check_big_event (Run * run)
{
  if (run->error == NULL)
    assert_event_as_sent (run, "big");
}

static void
check_flood (Run * run)
{
  expect (run, server_int (run, "floodSent") > 10000, "the server flooded "
      "only %" G_GINT64_FORMAT " events", server_int (run, "floodSent"));
  expect (run, run->n_events > 0, "no flood event reached the bus");
}

static guint64
sink_stat (Run * run, const gchar * field)
{
  guint64 value = 0;

  g_assert_true (gst_structure_get_uint64 (run->sink_stats, field, &value));
  return value;
}

/* The server never acknowledged an event: nothing may count as acked. */
static void
check_nothing_acked (Run * run)
{
  expect (run, sink_stat (run, "acked") == 0, "%s: %" G_GUINT64_FORMAT
      " events counted as acked; the server acked none (it sent %"
      G_GINT64_FORMAT " acks for ids never used)", run->c->name,
      sink_stat (run, "acked"), server_int (run, "bogusAcks"));
}

static void
check_no_ack (Run * run)
{
  check_nothing_acked (run);
  if (run->error == NULL)
    expect (run, text_names (run->warnings->str, "acknowledg"), "no warning "
        "says the server does not acknowledge: %s", run->warnings->str);
}

static void
check_slow_ack (Run * run)
{
  expect (run, sink_stat (run, "acked") > 0, "nothing acked");
  expect (run, sink_stat (run, "ack-timeouts") == 0, "ack timeouts with a "
      "1 s ack delay");
}

/* Nothing, no audio and no auth, reached the redirect's target. */
static void
check_redirect (Run * run)
{
  expect (run, server_int (run, "targetHits") == 0, "%s: %" G_GINT64_FORMAT
      " requests reached the redirect target, %" G_GINT64_FORMAT " events",
      run->c->name, server_int (run, "targetHits"), server_int (run,
          "targetEvents"));
}

static void
check_refused_join (Run * run)
{
  expect (run, g_error_matches (run->error, GST_RESOURCE_ERROR,
          GST_RESOURCE_ERROR_NOT_AUTHORIZED), "not a NOT_AUTHORIZED error");
}

static void
check_no_secret (Run * run)
{
  expect (run, run->leak == NULL, "a bus message holds a secret: %s",
      run->leak);
}

static gint64
server_polling_int (Run * run, const gchar * member)
{
  return json_object_get_int_member (json_object_get_object_member
      (run->stats, "polling"), member);
}

/* The stream went over long-polling: requests with the sid came. */
static void
check_polled (Run * run)
{
  expect (run, server_polling_int (run, "gets") > 2 &&
      server_polling_int (run, "posts") > 0, "%s: not over long-polling (%"
      G_GINT64_FORMAT " GETs, %" G_GINT64_FORMAT " POSTs)", run->c->name,
      server_polling_int (run, "gets"), server_polling_int (run, "posts"));
}

/* The server runs these with --ping-interval 300 --ping-timeout 200. */
#define POLL_PING_WINDOW_MS 500
/* what the sink may take besides: reconnect-delay-max, and a margin */
#define POLL_NOTICE_SLACK_MS 1000

/* The sink noticed the stalled session within the ping window and
 * connected again, each time. */
static void
check_noticed_stall (Run * run)
{
  JsonArray *joins = json_object_get_array_member (run->stats, "joinTimes");
  JsonArray *times = json_object_get_array_member (run->stats,
      "handshakeTimes");
  guint i;

  check_polled (run);
  expect (run, run->disconnected >= 1 && json_array_get_length (times) >= 2,
      "%s: no reconnection (%u handshakes, %u disconnections)", run->c->name,
      json_array_get_length (times), run->disconnected);
  for (i = 0; i + 1 < json_array_get_length (times) &&
      i < json_array_get_length (joins); i++) {
    gint64 took = json_array_get_int_element (times, i + 1) -
        json_array_get_int_element (joins, i);

    g_print ("  connection %u: joined, next handshake %" G_GINT64_FORMAT
        " ms later\n", i + 1, took);
    expect (run, took <= POLL_PING_WINDOW_MS + POLL_NOTICE_SLACK_MS,
        "%s: connection %u: the next handshake came %" G_GINT64_FORMAT
        " ms after the join, more than the ping window %u ms + %u ms",
        run->c->name, i + 1, took, POLL_PING_WINDOW_MS, POLL_NOTICE_SLACK_MS);
  }
}

/* A session the server forgot: reconnections (it is retriable once
 * connected), then the max-reconnect-attempts error. */
static void
check_session_lost (Run * run)
{
  check_polled (run);
  expect (run, run->reconnected >= 1 && server_int (run, "joins") ==
      1 + MAX_RECONNECT_ATTEMPTS, "%s: %u reconnections, %" G_GINT64_FORMAT
      " joins: expected every attempt to join again", run->c->name,
      run->reconnected, server_int (run, "joins"));
  expect (run, server_polling_int (run, "unknownSid") > 0, "%s: no request "
      "was refused with \"Session ID unknown\"", run->c->name);
}

/* The sink stopped reading the 64 MiB body long before its end. */
static void
check_huge_body (Run * run)
{
  gint64 sent = server_polling_int (run, "hugeSent");

  g_print ("  the server wrote at most %" G_GINT64_FORMAT " bytes of a huge "
      "body\n", sent);
  expect (run, sent > 0 && sent < 64 * 1024 * 1024, "%s: the server wrote %"
      G_GINT64_FORMAT " bytes of the huge body", run->c->name, sent);
}

static void
check_poll_redirect (Run * run)
{
  check_redirect (run);
  expect (run, server_int (run, "handshakes") == 1, "%s: %" G_GINT64_FORMAT
      " handshakes: a redirect is not retried", run->c->name,
      server_int (run, "handshakes"));
}

/* The upgrade failed, the sink closed the probe, and polling carried
 * everything. */
static void
check_upgrade_failed (Run * run)
{
  check_polled (run);
  expect (run, server_polling_int (run, "probes") >= 1, "%s: no probe came",
      run->c->name);
  expect (run, server_polling_int (run, "probesClosed") ==
      server_polling_int (run, "probes"), "%s: the sink left %"
      G_GINT64_FORMAT " of %" G_GINT64_FORMAT " probes open", run->c->name,
      server_polling_int (run, "probes") - server_polling_int (run,
          "probesClosed"), server_polling_int (run, "probes"));
  expect (run, g_strcmp0 (gst_structure_get_string (run->sink_stats,
              "transport"), "polling") == 0, "%s: the sink ended on %s, not "
      "polling", run->c->name, gst_structure_get_string (run->sink_stats,
          "transport"));
}

/* --- the cases ------------------------------------------------------------- */

#define REFUSE(n, what) \
    { .name = n, .expect = EXPECT_REFUSE, .names = what, .run_ms = 8000 }
#define EITHER(n, what, props, extra) \
    { .name = n, .expect = EXPECT_EITHER, .names = what, .sink_props = props, \
      .run_ms = 5000, .check = extra }
#define UP(n, extra) \
    { .name = n, .expect = EXPECT_UP, .run_ms = 5000, .check = extra }

#define POLL_PROPS "transports=polling "
#define POLL_FAST_PINGS "--ping-interval 300 --ping-timeout 200"
#define POLL_REFUSE(n, what, extra) \
    { .name = n, .expect = EXPECT_REFUSE, .names = what, \
      .sink_props = POLL_PROPS, .run_ms = 8000, .check = extra }

static const HostileCase cases[] = {
  REFUSE ("garbage-open", "open|handshake"),
  REFUSE ("truncated-open", "open|handshake"),
  REFUSE ("second-open", "open"),
  EITHER ("open-ping-interval-0", "pingInterval", "", NULL),
  EITHER ("open-ping-timeout-0", "pingTimeout", "", NULL),
  EITHER ("open-absurd", "pingInterval|pingTimeout|maxPayload", "", NULL),
  REFUSE ("binary-unannounced", "binary|attachment"),
  REFUSE ("attach-2-sends-1", "attachment"),
  REFUSE ("attach-11", "attachment"),
  /* ack-timeout 1 s keeps the window moving without acks */
  EITHER ("unknown-ack", "ack", "ack-timeout=1000000000", check_nothing_acked),
  EITHER ("huge-ack", "ack", "ack-timeout=1000000000", check_nothing_acked),
  REFUSE ("invalid-utf8", "utf-8|utf8|1007"),
  /* the sink's reads are bounded, whatever the frame announces */
  {.name = "frame-100mb",.expect = EXPECT_REFUSE,
        .names = "max-incoming-message-bytes",.run_ms = 8000,
      .rss_bound_kib = 64 * 1024},
  EITHER ("ping-1ms", "ping", "", NULL),
  REFUSE ("no-ping", "ping"),
  REFUSE ("close-1000", "1000;bye"),
  REFUSE ("close-1008", "1008;policy"),
  REFUSE ("close-4000", "4000;custom"),
  REFUSE ("tcp-cut", "lost|closed|reset|cut|eof"),
  REFUSE ("tcp-silent", "connect-timeout|timeout|within"),
  REFUSE ("http-500", "500"),
  REFUSE ("bad-101", "handshake|upgrade|sec-websocket|101"),
  /* refused by default, naming the target; with auth set, nothing may
   * reach the target */
  {.name = "redirect",.expect = EXPECT_REFUSE,
        .names = "redirect|302;/elsewhere/",.run_ms = 8000,
      .check = check_redirect,.auth = TRUE},
  {.name = "redirect-http",.expect = EXPECT_REFUSE,
        .names = "redirect|302;/plain/page.html",.run_ms = 8000,
      .check = check_redirect,.auth = TRUE},
  /* 10 s of server events; the application reads the bus after 12 s */
  {.name = "flood",.expect = EXPECT_UP,.run_ms = 12000,
      .rss_bound_kib = 64 * 1024,.check = check_flood,.no_pop = TRUE},
  /* the pipeline's own (the default bound) and at most 6 copies of the
   * 16 MiB message at once */
  {.name = "event-16mib",.expect = EXPECT_EITHER,
        .names = "large|big|size|limit|1009",.run_ms = 5000,
        .sink_props = "max-incoming-message-bytes=33554432",
        .rss_bound_kib = DEFAULT_RSS_BOUND_KIB + 6 * 16 * 1024,
      .check = check_big_event},
  UP ("nested-200", check_nested),
  UP ("other-nsp-binary", check_other_namespace),
  UP ("big-numbers", check_numbers),
  REFUSE ("join-then-error", "packet|malformed|unknown|protocol|correctly"),
  REFUSE ("max-payload-10", "maxPayload|max-payload|payload|larger|too big"),
  EITHER ("no-ack", "acknowledg", "ack-timeout=1000000000", check_no_ack),
  UP ("slow-ack", check_slow_ack),
  /* never reconnects after the server's own DISCONNECT or CONNECT_ERROR */
  {.name = "disconnect-after-join",.expect = EXPECT_REFUSE,
      .names = "disconnect",.run_ms = 8000,.max_handshakes = 1},
  {.name = "connect-error",.expect = EXPECT_REFUSE,
        .names = "banned by the hostile server",.run_ms = 8000,
      .max_handshakes = 1,.check = check_refused_join},
  /* secrets in the location's user-info and query, and in auth */
  {.name = "secrets-http-500",.expect = EXPECT_REFUSE,.run_ms = 8000,
      .check = check_no_secret,.server_case = "http-500",.secrets = TRUE},
  {.name = "secrets-refused",.expect = EXPECT_REFUSE,.run_ms = 8000,
        .check = check_no_secret,.server_case = "none",.secrets = TRUE,
      .no_server = TRUE},
  /* long-polling (transports=polling unless said otherwise) */
  {.name = "poll-none",.expect = EXPECT_UP,.sink_props = POLL_PROPS,
      .run_ms = 3000,.check = check_polled,.server_case = "none"},
  /* the POST carrying the pongs never ends: the sink sees pings, never
   * its answers leave */
  {.name = "poll-post-hang",.expect = EXPECT_REFUSE,
        .names = "gave up;polling request",.sink_props = POLL_PROPS,
        .run_ms = 8000,.check = check_noticed_stall,
      .server_args = POLL_FAST_PINGS},
  {.name = "poll-get-hang",.expect = EXPECT_REFUSE,
        .names = "gave up;ping",.sink_props = POLL_PROPS,.run_ms = 8000,
      .check = check_noticed_stall,.server_args = POLL_FAST_PINGS},
  POLL_REFUSE ("poll-session-lost", "gave up;session id unknown|400",
      check_session_lost),
  {.name = "poll-huge-body",.expect = EXPECT_REFUSE,
        .names = "max-incoming-message-bytes",.sink_props = POLL_PROPS,
      .run_ms = 8000,.rss_bound_kib = 64 * 1024,.check = check_huge_body},
  POLL_REFUSE ("poll-bad-base64", "base64", check_polled),
  POLL_REFUSE ("poll-no-separator-garbage",
      "packet|payload|protocol|engine.io|correctly", check_polled),
  {.name = "poll-redirect",.expect = EXPECT_REFUSE,
        .names = "redirect|302;/elsewhere/",.sink_props = POLL_PROPS,
      .run_ms = 8000,.check = check_poll_redirect,.auth = TRUE},
  /* a POST takes 2 s: the audio arrives in 2 s bursts (pingTimeout 3 s
   * leaves the pongs time), one POST of the queued events at a time, so
   * slower than real time: slow, but bounded and going on */
  {.name = "poll-slow-post",.expect = EXPECT_UP,.sink_props = POLL_PROPS,
        .run_ms = 6000,.check = check_polled,.server_args =
        "--ping-timeout 3000",.realtime_ratio = 0.1,
      .max_event_gap_ms = 3000},
  /* the upgrade fails: polling carries everything, one session */
  {.name = "poll-upgrade-bad-probe",.expect = EXPECT_UP,
        .sink_props = "transports=polling-upgrade ",.run_ms = 3000,
      .check = check_upgrade_failed},
  /* the probe is abandoned after connect-timeout (2 s) */
  {.name = "poll-upgrade-silent-probe",.expect = EXPECT_UP,
        .sink_props = "transports=polling-upgrade ",.run_ms = 4000,
      .check = check_upgrade_failed},
};

GST_START_TEST (test_hostile)
{
  const HostileCase *c = &cases[__i__];
  Run *run = run_case (c);
  gchar *failures;

  print_summary (run);
  assert_common (run);
  if (c->expect == EXPECT_REFUSE || (c->expect == EXPECT_EITHER && run->error))
    assert_refused (run);
  else
    assert_up (run);
  if (c->check)
    c->check (run);
  failures = g_strdup (run->failures->str);
  run_free (run);
  fail_unless (*failures == '\0', "%s:%s", c->name, failures);
  g_free (failures);
}

GST_END_TEST;

static Suite *
hostile_suite (void)
{
  Suite *s = suite_create ("socketiosink-hostile");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (cases); i++) {
    TCase *tc = tcase_create (cases[i].name);

    tcase_set_timeout (tc, 120);
    suite_add_tcase (s, tc);
    tcase_add_loop_test (tc, test_hostile, i, i + 1);
  }
  return s;
}

GST_CHECK_MAIN (hostile);
