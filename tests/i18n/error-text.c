/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* error-text LOCALEDIR LOCATION: runs
 *   audiotestsrc num-buffers=1 ! socketiosink location=LOCATION
 * in the locale of the environment (as gst-launch-1.0 does) and prints
 * the message of the error it ends with, for error-in-chinese.py.
 *
 * The plugin binds its text domain to the install-time localedir when it
 * loads. Rather than a test-only environment variable in the shipped
 * plugin, or a second build installed into a temporary prefix, this
 * program binds the domain again, to LOCALEDIR (the build tree's po/,
 * where meson puts LANG/LC_MESSAGES/gst-socketio-1.0.mo), once the
 * pipeline has loaded the plugin: every message the element translates
 * afterwards comes from the build tree's catalogues. Single-threaded
 * until the pipeline starts. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <locale.h>
#include <libintl.h>
#include <gst/gst.h>

int
main (int argc, char **argv)
{
  GstElement *pipeline, *sink;
  GstMessage *message;
  GError *error = NULL;
  gchar *debug = NULL;
  int status = 1;

  if (argc != 3) {
    g_printerr ("usage: %s LOCALEDIR LOCATION\n", argv[0]);
    return 2;
  }
  setlocale (LC_ALL, "");
  /* as under gst-check: a critical, or the leaks tracer's warning in
   * `meson test --setup leaks`, fails the test */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  gst_init (NULL, NULL);

  pipeline = gst_parse_launch ("audiotestsrc num-buffers=1 ! "
      "socketiosink name=sink", &error);
  if (pipeline == NULL) {
    g_printerr ("no pipeline: %s\n", error->message);
    return 2;
  }
  /* the plugin is loaded now: its own binding is done */
  bindtextdomain (GETTEXT_PACKAGE, argv[1]);
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");
  g_object_set (sink, "location", argv[2], NULL);
  gst_object_unref (sink);

  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  message = gst_bus_timed_pop_filtered (GST_ELEMENT_BUS (pipeline),
      30 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  if (message && GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (message, &error, &debug);
    g_print ("%s\n", error->message);
    g_printerr ("debug: %s\n", GST_STR_NULL (debug));
    g_clear_error (&error);
    g_free (debug);
    status = 0;
  } else {
    g_printerr ("the pipeline ended without an error\n");
  }
  if (message)
    gst_message_unref (message);
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  gst_deinit ();
  return status;
}
