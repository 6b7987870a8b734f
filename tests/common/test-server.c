/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <libsoup/soup.h>

#include "test-server.h"

struct _SioTestServer
{
  SioTestServerKind kind;
  gchar **args;                 /* the extra arguments, for restarts */
  GSubprocess *process;         /* NULL between kill and restart */
  GDataInputStream *out;        /* its stdout, kept open for the STATS line */
  GPid pid;
  guint port;
  gchar *url;
  SoupSession *session;
  gboolean frozen;
};

const gchar *
sio_test_server_kind_name (SioTestServerKind kind)
{
  switch (kind) {
    case SIO_TEST_SERVER_PYTHON:
      return "python-socketio";
    case SIO_TEST_SERVER_WSGI:
      return "python-socketio-wsgi";
    case SIO_TEST_SERVER_FLASK:
      return "flask-socketio";
    case SIO_TEST_SERVER_HOSTILE:
      return "hostile";
    case SIO_TEST_SERVER_PROXY:
      return "proxy";
    case SIO_TEST_SERVER_AFFINITY:
      return "affinity";
    default:
      return "node";
  }
}

SioTestServerKind
sio_test_server_kind_from_env (void)
{
  const gchar *kind = g_getenv ("SIO_TEST_SERVER");

  if (kind && strcmp (kind, "python") == 0)
    return SIO_TEST_SERVER_PYTHON;
  if (kind && strcmp (kind, "wsgi") == 0)
    return SIO_TEST_SERVER_WSGI;
  if (kind && strcmp (kind, "flask") == 0)
    return SIO_TEST_SERVER_FLASK;
  return SIO_TEST_SERVER_NODE;
}

static const gchar *
server_dir (void)
{
  const gchar *dir = g_getenv ("SIO_TEST_SERVER_DIR");

  g_assert_nonnull (dir);
  return dir;
}

/* The script of a Node server kind. */
static const gchar *
node_script (SioTestServerKind kind)
{
  switch (kind) {
    case SIO_TEST_SERVER_HOSTILE:
      return "hostile.js";
    case SIO_TEST_SERVER_PROXY:
      return "proxy.js";
    case SIO_TEST_SERVER_AFFINITY:
      return "affinity.js";
    default:
      return "server.js";
  }
}

/* The script of a Python server kind, NULL for the Node ones. */
static const gchar *
python_script (SioTestServerKind kind)
{
  switch (kind) {
    case SIO_TEST_SERVER_PYTHON:
      return "server.py";
    case SIO_TEST_SERVER_WSGI:
      return "server_wsgi.py";
    case SIO_TEST_SERVER_FLASK:
      return "server_flask.py";
    default:
      return NULL;
  }
}

/* Starts one server process on port (0 = a free one) and waits for its
 * LISTENING line. Returns FALSE, the process reaped, if it exited first
 * (e.g. the port is taken). */
static gboolean
spawn_process (SioTestServer * server, guint port)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  GSubprocessLauncher *launcher;
  GError *error = NULL;
  gchar **arg;
  gchar *line;
  guint listening = 0;

  if (python_script (server->kind) == NULL) {
    g_ptr_array_add (argv, g_strdup ("node"));
    g_ptr_array_add (argv, g_build_filename (server_dir (),
            node_script (server->kind), NULL));
  } else {
    g_ptr_array_add (argv, g_strdup ("/usr/bin/python3"));
    g_ptr_array_add (argv, g_build_filename (server_dir (),
            python_script (server->kind), NULL));
  }
  g_ptr_array_add (argv, g_strdup ("--host"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup_printf ("%u", port));
  for (arg = server->args; arg && *arg; arg++)
    g_ptr_array_add (argv, g_strdup (*arg));
  g_ptr_array_add (argv, NULL);

  /* stdin: a pipe whose write end only this process holds (GSubprocess
   * makes it close-on-exec), so the server exits when we die. */
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
      G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  server->process = g_subprocess_launcher_spawnv (launcher,
      (const gchar * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_object_unref (launcher);
  g_ptr_array_unref (argv);
  server->pid = atoi (g_subprocess_get_identifier (server->process));

  /* Kept open after LISTENING: the server prints its final stats on it
   * when killed (closing it would make that write fail). */
  server->out = g_data_input_stream_new (g_subprocess_get_stdout_pipe
      (server->process));
  while ((line = g_data_input_stream_read_line (server->out, NULL, NULL,
              &error))) {
    if (g_str_has_prefix (line, "LISTENING ")) {
      listening = atoi (line + strlen ("LISTENING "));
      g_free (line);
      break;
    }
    g_free (line);
  }
  g_assert_no_error (error);

  if (listening == 0) {
    g_subprocess_wait (server->process, NULL, &error);
    g_assert_no_error (error);
    g_clear_object (&server->out);
    g_clear_object (&server->process);
    server->pid = 0;
    return FALSE;
  }
  g_assert_true (port == 0 || listening == port);
  server->port = listening;
  server->frozen = FALSE;
  return TRUE;
}

SioTestServer *
sio_test_server_start_on_port (SioTestServerKind kind, guint port,
    const gchar * const *args)
{
  SioTestServer *server = g_new0 (SioTestServer, 1);

  server->kind = kind;
  server->args = g_strdupv ((gchar **) args);
  if (!spawn_process (server, port))
    g_error ("the %s test server did not start", sio_test_server_kind_name
        (kind));
  server->url = g_strdup_printf ("http://127.0.0.1:%u", server->port);
  server->session = soup_session_new ();
  /* loopback only: never the environment's proxy (a test may set one) */
  soup_session_set_proxy_resolver (server->session, NULL);
  return server;
}

SioTestServer *
sio_test_server_start (SioTestServerKind kind, const gchar * const *args)
{
  return sio_test_server_start_on_port (kind, 0, args);
}

/* SIGTERM, read the STATS line, reap. Returns the stats or NULL. */
static JsonObject *
terminate (SioTestServer * server)
{
  JsonObject *stats = NULL;
  GError *error = NULL;
  gchar *line;

  g_assert_nonnull (server->process);
  if (server->frozen) {
    kill (server->pid, SIGCONT);
    server->frozen = FALSE;
  }
  g_subprocess_send_signal (server->process, SIGTERM);
  while (stats == NULL && (line = g_data_input_stream_read_line (server->out,
              NULL, NULL, &error))) {
    if (g_str_has_prefix (line, "STATS ")) {
      JsonParser *parser = json_parser_new ();

      if (json_parser_load_from_data (parser, line + strlen ("STATS "), -1,
              &error) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
        stats = json_object_ref (json_node_get_object (json_parser_get_root
                (parser)));
      g_assert_no_error (error);
      g_object_unref (parser);
    }
    g_free (line);
  }
  g_assert_no_error (error);
  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&server->out);
  g_clear_object (&server->process);
  server->pid = 0;
  /* idle keep-alive connections to the dead process */
  soup_session_abort (server->session);
  return stats;
}

JsonObject *
sio_test_server_kill (SioTestServer * server)
{
  JsonObject *stats = terminate (server);

  if (stats == NULL)
    g_error ("the %s test server on port %u printed no final stats (had it "
        "died already?)", sio_test_server_kind_name (server->kind),
        server->port);
  return stats;
}

void
sio_test_server_restart (SioTestServer * server)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  g_assert_null (server->process);
  /* The port can only be busy for a moment (e.g. a client's connect()
   * that happened to pick it as its own source port): retry. */
  while (!spawn_process (server, server->port)) {
    if (g_get_monotonic_time () > deadline)
      g_error ("the %s test server did not restart on port %u",
          sio_test_server_kind_name (server->kind), server->port);
    g_usleep (100 * 1000);
  }
}

gboolean
sio_test_server_is_running (SioTestServer * server)
{
  return server->process != NULL;
}

guint
sio_test_server_get_port (SioTestServer * server)
{
  return server->port;
}

const gchar *
sio_test_server_get_url (SioTestServer * server)
{
  return server->url;
}

GPid
sio_test_server_get_pid (SioTestServer * server)
{
  return server->pid;
}

JsonObject *
sio_test_server_control (SioTestServer * server, const gchar * path)
{
  gchar *url = g_strdup_printf ("%s/control/%s", server->url, path);
  SoupMessage *msg = soup_message_new (SOUP_METHOD_GET, url);
  GError *error = NULL;
  GBytes *body;
  JsonParser *parser = json_parser_new ();
  JsonObject *object;

  g_assert_nonnull (msg);
  body = soup_session_send_and_read (server->session, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (soup_message_get_status (msg), ==, 200);
  g_assert_true (json_parser_load_from_data (parser,
          g_bytes_get_data (body, NULL), g_bytes_get_size (body), &error));
  g_assert_no_error (error);
  object = json_object_ref (json_node_get_object (json_parser_get_root
          (parser)));
  g_object_unref (parser);
  g_bytes_unref (body);
  g_object_unref (msg);
  g_free (url);
  return object;
}

JsonObject *
sio_test_server_stats (SioTestServer * server)
{
  return sio_test_server_control (server, "stats");
}

void
sio_test_server_wait_events (SioTestServer * server, gint64 events)
{
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline) {
    JsonObject *stats = sio_test_server_stats (server);
    gint64 seen = json_object_get_int_member (stats, "events");

    json_object_unref (stats);
    if (seen >= events)
      return;
    g_usleep (10 * 1000);
  }
  g_error ("the server did not receive %" G_GINT64_FORMAT " events", events);
}

void
sio_test_server_freeze (SioTestServer * server)
{
  kill (server->pid, SIGSTOP);
  server->frozen = TRUE;
}

void
sio_test_server_thaw (SioTestServer * server)
{
  kill (server->pid, SIGCONT);
  server->frozen = FALSE;
}

void
sio_test_server_stop (SioTestServer * server)
{
  if (server == NULL)
    return;
  if (server->process) {
    JsonObject *stats = terminate (server);

    if (stats)
      json_object_unref (stats);
  }
  g_object_unref (server->session);
  g_strfreev (server->args);
  g_free (server->url);
  g_free (server);
}

GArray *
sio_test_seq_ranges_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (SioTestSeqRange));
}

void
sio_test_seq_ranges_add (GArray * ranges, gint64 first, gint64 last)
{
  SioTestSeqRange r = { first, last };
  guint i = 0;

  g_assert_cmpint (first, <=, last);
  /* skip the ranges that end before first - 1 */
  while (i < ranges->len && g_array_index (ranges, SioTestSeqRange,
          i).last < first - 1)
    i++;
  /* merge with every range that overlaps or touches [first, last] */
  while (i < ranges->len && g_array_index (ranges, SioTestSeqRange,
          i).first <= last + 1) {
    SioTestSeqRange *o = &g_array_index (ranges, SioTestSeqRange, i);

    r.first = MIN (r.first, o->first);
    r.last = MAX (r.last, o->last);
    g_array_remove_index (ranges, i);
  }
  g_array_insert_val (ranges, i, r);
}

void
sio_test_seq_ranges_add_stats (GArray * ranges, JsonObject * stats)
{
  sio_test_seq_ranges_add_member (ranges, stats, "seqRanges");
}

void
sio_test_seq_ranges_add_member (GArray * ranges, JsonObject * stats,
    const gchar * member)
{
  JsonArray *list = json_object_get_array_member (stats, member);
  guint i;

  g_assert_nonnull (list);
  for (i = 0; i < json_array_get_length (list); i++) {
    JsonArray *pair = json_array_get_array_element (list, i);

    g_assert_cmpuint (json_array_get_length (pair), ==, 2);
    sio_test_seq_ranges_add (ranges, json_array_get_int_element (pair, 0),
        json_array_get_int_element (pair, 1));
  }
}

guint64
sio_test_seq_ranges_count (GArray * ranges)
{
  guint64 n = 0;
  guint i;

  for (i = 0; i < ranges->len; i++) {
    SioTestSeqRange *r = &g_array_index (ranges, SioTestSeqRange, i);

    n += r->last - r->first + 1;
  }
  return n;
}

gchar *
sio_test_seq_ranges_to_string (GArray * ranges)
{
  GString *s = g_string_new (NULL);
  guint i;

  for (i = 0; i < ranges->len; i++) {
    SioTestSeqRange *r = &g_array_index (ranges, SioTestSeqRange, i);

    g_string_append_printf (s, "%s[%" G_GINT64_FORMAT ",%" G_GINT64_FORMAT
        "]", i ? " " : "", r->first, r->last);
  }
  return g_string_free (s, FALSE);
}

void
sio_test_received_add (SioTestReceived * received, JsonObject * stats)
{
  sio_test_seq_ranges_add_stats (received->seqs, stats);
  received->events += json_object_get_int_member (stats, "events");
  received->duplicates += json_object_get_int_member (stats, "duplicates");
  received->replays += json_object_get_int_member (stats, "replays");
  received->unflagged_repeats += json_object_get_int_member (stats,
      "unflaggedRepeats");
  json_object_unref (stats);
}

static guint
count_dir_entries (const gchar * path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  guint count = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir))
    count++;
  g_dir_close (dir);
  return count;
}

guint
sio_test_count_fds (void)
{
  return count_dir_entries ("/proc/self/fd");
}

guint
sio_test_count_threads (void)
{
  return count_dir_entries ("/proc/self/task");
}

gsize
sio_test_rss_kib (void)
{
  gchar *status = NULL;
  gsize rss = 0;
  gchar *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return 0;
  line = strstr (status, "VmRSS:");
  if (line)
    rss = g_ascii_strtoull (line + strlen ("VmRSS:"), NULL, 10);
  g_free (status);
  return rss;
}
