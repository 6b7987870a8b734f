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
  GSubprocess *process;
  GPid pid;
  guint port;
  gchar *url;
  SoupSession *session;
  gboolean frozen;
};

const gchar *
sio_test_server_kind_name (SioTestServerKind kind)
{
  return kind == SIO_TEST_SERVER_PYTHON ? "python-socketio" : "node";
}

SioTestServerKind
sio_test_server_kind_from_env (void)
{
  const gchar *kind = g_getenv ("SIO_TEST_SERVER");

  if (kind && strcmp (kind, "python") == 0)
    return SIO_TEST_SERVER_PYTHON;
  return SIO_TEST_SERVER_NODE;
}

static const gchar *
server_dir (void)
{
  const gchar *dir = g_getenv ("SIO_TEST_SERVER_DIR");

  g_assert_nonnull (dir);
  return dir;
}

SioTestServer *
sio_test_server_start (SioTestServerKind kind, const gchar * const *args)
{
  SioTestServer *server = g_new0 (SioTestServer, 1);
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  GSubprocessLauncher *launcher;
  GDataInputStream *out;
  GError *error = NULL;
  gchar *line;

  server->kind = kind;
  if (kind == SIO_TEST_SERVER_NODE) {
    g_ptr_array_add (argv, g_strdup ("node"));
    g_ptr_array_add (argv, g_build_filename (server_dir (), "server.js", NULL));
  } else {
    g_ptr_array_add (argv, g_strdup ("/usr/bin/python3"));
    g_ptr_array_add (argv, g_build_filename (server_dir (), "server.py", NULL));
  }
  g_ptr_array_add (argv, g_strdup ("--host"));
  g_ptr_array_add (argv, g_strdup ("127.0.0.1"));
  g_ptr_array_add (argv, g_strdup ("--port"));
  g_ptr_array_add (argv, g_strdup ("0"));
  for (; args && *args; args++)
    g_ptr_array_add (argv, g_strdup (*args));
  g_ptr_array_add (argv, NULL);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
      G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  server->process = g_subprocess_launcher_spawnv (launcher,
      (const gchar * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_object_unref (launcher);
  g_ptr_array_unref (argv);
  server->pid = atoi (g_subprocess_get_identifier (server->process));

  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe
      (server->process));
  while ((line = g_data_input_stream_read_line (out, NULL, NULL, &error))) {
    if (g_str_has_prefix (line, "LISTENING ")) {
      server->port = atoi (line + strlen ("LISTENING "));
      g_free (line);
      break;
    }
    g_free (line);
  }
  g_assert_no_error (error);
  g_object_unref (out);
  if (server->port == 0)
    g_error ("the %s test server did not start", sio_test_server_kind_name
        (kind));

  server->url = g_strdup_printf ("http://127.0.0.1:%u", server->port);
  server->session = soup_session_new ();
  return server;
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
  GError *error = NULL;

  if (server == NULL)
    return;
  if (server->frozen)
    kill (server->pid, SIGCONT);
  g_subprocess_send_signal (server->process, SIGTERM);
  g_subprocess_wait (server->process, NULL, &error);
  g_assert_no_error (error);
  g_object_unref (server->process);
  g_object_unref (server->session);
  g_free (server->url);
  g_free (server);
}

guint
sio_test_count_fds (void)
{
  GDir *dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint count = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir))
    count++;
  g_dir_close (dir);
  return count;
}

guint
sio_test_count_threads (void)
{
  GDir *dir = g_dir_open ("/proc/self/task", 0, NULL);
  guint count = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir))
    count++;
  g_dir_close (dir);
  return count;
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
