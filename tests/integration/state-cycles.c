/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* PLAYING -> NULL must complete in under 200 ms whatever the server does
 * (up, down or frozen with SIGSTOP), and leave no fd or thread behind. */

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"

GST_START_TEST (test_cycles_server_frozen)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);

  sio_test_server_freeze (server);
  sio_test_run_null_cycles ("server frozen", sio_test_server_get_url (server),
      NULL, 200);
  sio_test_server_stop (server);
}

GST_END_TEST;

GST_START_TEST (test_cycles_server_up)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);

  sio_test_run_null_cycles ("server up", sio_test_server_get_url (server), NULL,
      50);
  sio_test_server_stop (server);
}

GST_END_TEST;

GST_START_TEST (test_cycles_server_down)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *url = g_strdup (sio_test_server_get_url (server));

  /* the port was just free and nobody listens on it any more */
  sio_test_server_stop (server);
  sio_test_run_null_cycles ("server down", url, NULL, 50);
  g_free (url);
}

GST_END_TEST;

static Suite *
state_cycles_suite (void)
{
  Suite *s = suite_create ("socketiosink-state-cycles");
  TCase *tc = tcase_create ("general");

  tcase_set_timeout (tc, 300);
  suite_add_tcase (s, tc);
  tcase_add_test (tc, test_cycles_server_frozen);
  tcase_add_test (tc, test_cycles_server_up);
  tcase_add_test (tc, test_cycles_server_down);
  return s;
}

GST_CHECK_MAIN (state_cycles);
