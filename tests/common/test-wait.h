/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Waiting in the unit tests that run clients and servers in one thread.
 * Threads: the caller's, which owns the default main context. Header
 * only. */

#ifndef __SIO_TEST_WAIT_H__
#define __SIO_TEST_WAIT_H__

#include <glib.h>

static inline gboolean
sio_test_keep_waking (gpointer data)
{
  return G_SOURCE_CONTINUE;
}

/* Runs the default main context until @cond holds or @ms pass; a 5 ms
 * timer wakes it to look at @cond again. */
#define WAIT_UNTIL(cond, ms) G_STMT_START {                              \
    guint wake_ = g_timeout_add (5, sio_test_keep_waking, NULL);        \
    gint64 end_ = g_get_monotonic_time () + (gint64) (ms) * 1000;       \
    while (!(cond) && g_get_monotonic_time () < end_)                   \
      g_main_context_iteration (NULL, TRUE);                            \
    g_source_remove (wake_);                                            \
  } G_STMT_END

#endif
