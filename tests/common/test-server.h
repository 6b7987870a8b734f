/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Starts the real Socket.IO servers of tests/server on 127.0.0.1 with a
 * free port and talks to their control API. The server's stdin is a pipe
 * from this process: if a test dies, the server sees EOF and exits.
 *
 * A server can be killed (SIGTERM: it prints its final stats and goes away
 * without a Socket.IO DISCONNECT, so clients see a plain transport close as
 * after a crash) and restarted on the same port, any number of times:
 *
 *   server = sio_test_server_start (kind, args);
 *   ... stream to sio_test_server_get_url (server) ...
 *   stats = sio_test_server_kill (server);     // the first process's stats
 *   sio_test_server_restart (server);          // same kind, args and port
 *   ...
 *   stats = sio_test_server_kill (server);
 *   sio_test_server_stop (server);             // frees it (running or not)
 */

#ifndef __SIO_TEST_SERVER_H__
#define __SIO_TEST_SERVER_H__

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS typedef enum
{
  SIO_TEST_SERVER_NODE,
  SIO_TEST_SERVER_PYTHON,
  /* tests/server/server_wsgi.py: python-socketio WSGI, threading mode,
   * long-polling only */
  SIO_TEST_SERVER_WSGI,
  /* tests/server/server_flask.py: Flask-SocketIO in its default mode,
   * long-polling only */
  SIO_TEST_SERVER_FLASK,
  /* tests/server/hostile.js: pass "--case", NAME in the arguments */
  SIO_TEST_SERVER_HOSTILE,
  /* tests/server/proxy.js, an HTTP forward proxy ("--auth", "U:P") */
  SIO_TEST_SERVER_PROXY,
  /* tests/server/affinity.js, a cookie-setting reverse proxy: pass
   * "--backend-port", N */
  SIO_TEST_SERVER_AFFINITY,
} SioTestServerKind;

typedef struct _SioTestServer SioTestServer;

/* NULL-terminated extra command-line arguments, e.g. "--ack-delay-ms", "5".
 * Aborts the test if the server does not start. */
SioTestServer *sio_test_server_start (SioTestServerKind kind,
    const gchar * const *args);
/* Same on a given port (0 = a free one). */
SioTestServer *sio_test_server_start_on_port (SioTestServerKind kind,
    guint port, const gchar * const *args);
/* SIO_TEST_SERVER: "python", "wsgi", "flask", anything else is node */
SioTestServerKind sio_test_server_kind_from_env (void);
const gchar *sio_test_server_kind_name (SioTestServerKind kind);

guint sio_test_server_get_port (SioTestServer * server);
/* http://127.0.0.1:PORT */
const gchar *sio_test_server_get_url (SioTestServer * server);
GPid sio_test_server_get_pid (SioTestServer * server);

/* GET /control/<path>; returns the parsed JSON object (unref it). */
JsonObject *sio_test_server_control (SioTestServer * server,
    const gchar * path);
/* /control/stats */
JsonObject *sio_test_server_stats (SioTestServer * server);
/* Polls /control/stats until the server counted @events events; aborts the
 * test after 10 s. */
void sio_test_server_wait_events (SioTestServer * server, gint64 events);

void sio_test_server_freeze (SioTestServer * server);
void sio_test_server_thaw (SioTestServer * server);

/* SIGTERMs the server process (SIGCONT first if frozen), waits for it and
 * returns its final stats (the JSON object of its "STATS " line, the same
 * fields as /control/stats, seqRanges included; unref it). The server struct
 * stays valid (URL, port) for sio_test_server_restart(); until then the
 * control functions must not be called. Aborts the test if the process
 * printed no stats (it had died already). */
JsonObject *sio_test_server_kill (SioTestServer * server);
/* Starts a new process of the same kind with the same extra arguments on
 * the same port, after sio_test_server_kill(); returns once it listens.
 * Retries for a few seconds if the port is still busy. */
void sio_test_server_restart (SioTestServer * server);
/* Whether a server process is running (between start/restart and kill). */
gboolean sio_test_server_is_running (SioTestServer * server);

/* Terminates the server if it is running (dropping its final stats), waits
 * for it and frees the struct. NULL is allowed. */
void sio_test_server_stop (SioTestServer * server);

/* The union of the seqRanges of several stats objects (e.g. of every process
 * of a restarted server): a sorted array of merged, non-adjacent ranges. */
typedef struct
{
  gint64 first, last;
} SioTestSeqRange;
/* Creates an empty set: a GArray of SioTestSeqRange. */
GArray *sio_test_seq_ranges_new (void);
/* Adds the "seqRanges" of a stats object to ranges. */
void sio_test_seq_ranges_add_stats (GArray * ranges, JsonObject * stats);
/* The same for another member holding ranges ("unflaggedSeqRanges"). */
void sio_test_seq_ranges_add_member (GArray * ranges, JsonObject * stats,
    const gchar * member);
void sio_test_seq_ranges_add (GArray * ranges, gint64 first, gint64 last);
/* Number of distinct seqs in the set. */
guint64 sio_test_seq_ranges_count (GArray * ranges);
/* "[0,99] [120,130]" (free it), for messages. */
gchar *sio_test_seq_ranges_to_string (GArray * ranges);

/* The union of what the processes of a restarted server received, and the
 * sums of what they counted. */
typedef struct
{
  GArray *seqs;                 /* sio_test_seq_ranges_new () */
  gint64 events;
  gint64 duplicates;
  gint64 replays;
  gint64 unflagged_repeats;
} SioTestReceived;
/* Adds one process's stats object, and unrefs it. */
void sio_test_received_add (SioTestReceived * received, JsonObject * stats);

/* Helpers for process resources. */
guint sio_test_count_fds (void);
guint sio_test_count_threads (void);
gsize sio_test_rss_kib (void);

G_END_DECLS
#endif
