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
 * from this process: if a test dies, the server sees EOF and exits. */

#ifndef __SIO_TEST_SERVER_H__
#define __SIO_TEST_SERVER_H__

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS typedef enum
{
  SIO_TEST_SERVER_NODE,
  SIO_TEST_SERVER_PYTHON,
} SioTestServerKind;

typedef struct _SioTestServer SioTestServer;

/* NULL-terminated extra command-line arguments, e.g. "--ack-delay-ms", "5".
 * Aborts the test if the server does not start. */
SioTestServer *sio_test_server_start (SioTestServerKind kind,
    const gchar * const *args);
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

void sio_test_server_freeze (SioTestServer * server);
void sio_test_server_thaw (SioTestServer * server);

/* Terminates the server and waits for it. */
void sio_test_server_stop (SioTestServer * server);

/* Helpers for process resources. */
guint sio_test_count_fds (void);
guint sio_test_count_threads (void);
gsize sio_test_rss_kib (void);

G_END_DECLS
#endif
