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

#define MAX_NULL_MS 200

typedef struct
{
  gint64 worst_us;
  gint64 total_us;
  guint cycles;
} Timing;

/* One cycle: PLAYING, let it stream or wait on the server, then NULL. */
static void
cycle (const gchar * url, Timing * timing)
{
  gchar *description;
  GstElement *pipeline;
  GError *error = NULL;
  gint64 start, elapsed;

  description = g_strdup_printf ("audiotestsrc is-live=true "
      "samplesperbuffer=160 ! audio/x-raw,format=S16LE,rate=16000,channels=1"
      " ! socketiosink location=%s connect-timeout=5000000000", url);
  pipeline = gst_parse_launch (description, &error);
  g_assert_no_error (error);
  g_free (description);

  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_PLAYING), !=,
      GST_STATE_CHANGE_FAILURE);
  g_usleep (g_random_int_range (5, 40) * 1000);

  start = g_get_monotonic_time ();
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  elapsed = g_get_monotonic_time () - start;
  gst_object_unref (pipeline);

  timing->worst_us = MAX (timing->worst_us, elapsed);
  timing->total_us += elapsed;
  timing->cycles++;
  if (elapsed >= MAX_NULL_MS * 1000)
    g_error ("PLAYING -> NULL took %" G_GINT64_FORMAT " ms (cycle %u)",
        elapsed / 1000, timing->cycles);
}

static void
run_cycles (const gchar * what, const gchar * url, guint count)
{
  Timing timing = { 0 };
  guint fds_before, threads_before, fds_after, threads_after, i;

  /* warm up: GLib and GStreamer create a few threads once */
  for (i = 0; i < 3; i++)
    cycle (url, &timing);
  g_usleep (100 * 1000);
  fds_before = sio_test_count_fds ();
  threads_before = sio_test_count_threads ();

  memset (&timing, 0, sizeof (timing));
  for (i = 0; i < count; i++)
    cycle (url, &timing);

  g_usleep (200 * 1000);
  fds_after = sio_test_count_fds ();
  threads_after = sio_test_count_threads ();
  g_print ("%s: %u PLAYING->NULL cycles, worst %.1f ms, mean %.2f ms; "
      "fds %u -> %u, threads %u -> %u\n", what, timing.cycles,
      timing.worst_us / 1000.0, timing.total_us / 1000.0 / timing.cycles,
      fds_before, fds_after, threads_before, threads_after);
  g_assert_cmpuint (fds_after, <=, fds_before);
  /* GLib's shared worker pool may keep a spare thread or two */
  g_assert_cmpuint (threads_after, <=, threads_before + 2);
}

GST_START_TEST (test_cycles_server_frozen)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);

  sio_test_server_freeze (server);
  run_cycles ("server frozen", sio_test_server_get_url (server), 200);
  sio_test_server_stop (server);
}

GST_END_TEST;

GST_START_TEST (test_cycles_server_up)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);

  run_cycles ("server up", sio_test_server_get_url (server), 50);
  sio_test_server_stop (server);
}

GST_END_TEST;

GST_START_TEST (test_cycles_server_down)
{
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  gchar *url = g_strdup (sio_test_server_get_url (server));

  /* the port was just free and nobody listens on it any more */
  sio_test_server_stop (server);
  run_cycles ("server down", url, 50);
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
