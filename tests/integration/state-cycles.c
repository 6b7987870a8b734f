/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* PLAYING -> NULL must complete in under 200 ms whatever the server does
 * (up, down or frozen with SIGSTOP) and whatever the sink waits for (the
 * EOS drain too), and leave no fd or thread behind.
 *
 * Threads: test_null_during_eos_drain sets the pipeline to NULL from a
 * thread of its own, so that a blocked change fails the test instead of
 * hanging it; that thread only writes `stopped`. */

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-server.h"
#include "test-pipeline.h"

/* the pipeline stop_pipeline() last brought to NULL */
static gpointer stopped = NULL;

static gpointer
stop_pipeline (gpointer pipeline)
{
  g_assert_cmpint (gst_element_set_state (pipeline, GST_STATE_NULL), ==,
      GST_STATE_CHANGE_SUCCESS);
  g_atomic_pointer_set (&stopped, pipeline);
  return NULL;
}

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

/* PLAYING -> NULL while EOS waits for acks the server holds (Ctrl-C twice
 * in gst-socketio-send): the flush ends the drain, and the EOS must not
 * then wait in GstBaseSink for a preroll that the flush already ended. */
GST_START_TEST (test_null_during_eos_drain)
{
  const gchar *args[] = { "--no-ack", NULL };
  SioTestServer *server = sio_test_server_start (SIO_TEST_SERVER_NODE, args);
  gchar *description;
  SioTestLive *live;
  GThread *stopper;
  gint64 deadline, start;
  guint i;

  /* warm up (GStreamer's first state changes), then 5 cycles */
  for (i = 0; i < 6; i++) {
    description = g_strdup_printf ("audiotestsrc is-live=true num-buffers=3 "
        "samplesperbuffer=1024 ! audio/x-raw,format=S16LE,rate=16000,"
        "channels=1 ! socketiosink name=sink location=%s",
        sio_test_server_get_url (server));
    live = sio_test_live_launch (description);
    g_free (description);

    /* the 3 buffers are out (sync=true: 3 × 64 ms), then EOS waits */
    deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
    while (sio_test_element_stat (live->sink, "emitted") < 3 &&
        g_get_monotonic_time () < deadline)
      g_usleep (10 * 1000);
    g_assert_cmpuint (sio_test_element_stat (live->sink, "emitted"), ==, 3);
    g_usleep (150 * 1000);

    start = g_get_monotonic_time ();
    stopper = g_thread_new ("stopper", stop_pipeline, live->pipeline);
    while (g_atomic_pointer_get (&stopped) != live->pipeline &&
        g_get_monotonic_time () < start + 2 * G_USEC_PER_SEC)
      g_usleep (5 * 1000);
    if (g_atomic_pointer_get (&stopped) != live->pipeline)
      g_error ("PLAYING -> NULL during the EOS drain still blocked after 2 s "
          "(cycle %u)", i);
    g_thread_join (stopper);
    if (i > 0)
      g_assert_cmpint (g_get_monotonic_time () - start, <, 200 * 1000);
    sio_test_live_free (live);
  }
  sio_test_server_stop (server);
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
  tcase_add_test (tc, test_null_during_eos_drain);
  return s;
}

GST_CHECK_MAIN (state_cycles);
