/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* The network threads every client of the process shares.
 *
 * A pool of at most sio_loop_get_max_threads() threads, each running its
 * own GMainContext (pushed as its thread default, so that GIO and libsoup
 * objects created there belong to it). A client takes the least busy one
 * with sio_loop_acquire() and gives it back with sio_loop_release(); a
 * thread starts with its first client and stops with its last, so an
 * idle process has none. Thousands of connections thus cost a few
 * threads, not one each, and none of their work waits behind a context
 * switch to a thread of its own.
 *
 * Work handed over from other threads (an emit to send) is a SioLoopWork
 * queued with sio_loop_schedule(): every item queued while the thread is
 * busy is run in the same pass, and an idle thread is woken once, so the
 * cost of a wake-up is paid at most once per hand-over and never for
 * nothing. Items run in the order they were queued.
 *
 * Everything here is thread-safe; the pool is under one lock, each
 * thread's work queue under its own (never both at once). */

#ifndef __SIO_LOOP_H__
#define __SIO_LOOP_H__

#include <glib.h>

G_BEGIN_DECLS typedef struct _SioLoop SioLoop;

typedef void (*SioLoopWorkFunc) (gpointer data);

/* Embedded in its owner; the fields are the loop's. */
typedef struct
{
  GList link;
  SioLoopWorkFunc func;
  gpointer data;
  gboolean queued;
} SioLoopWork;

/* The most threads the pool starts: the number of processors, at most 8,
 * or GST_SOCKETIO_NETWORK_THREADS (1 to 64) when it is set. */
guint sio_loop_get_max_threads (void);

/* How many network threads run now (for tests and statistics). */
guint sio_loop_get_running_threads (void);

/* The least busy network thread, started if need be. */
SioLoop *sio_loop_acquire (void);

/* Gives @loop back. The last user's release stops the thread: cancelled
 * operations still in it get a bounded moment to finish, then it is
 * joined, unless the release comes from the thread itself. */
void sio_loop_release (SioLoop * loop);

GMainContext *sio_loop_get_context (SioLoop * loop);

/* Whether the calling thread is @loop's. */
gboolean sio_loop_is_current (SioLoop * loop);

/* Runs @func in @loop's thread and returns once it has run; at once when
 * called from that thread. */
void sio_loop_run_sync (SioLoop * loop, GSourceFunc func, gpointer data);

void sio_loop_work_init (SioLoopWork * work, SioLoopWorkFunc func,
    gpointer data);

/* Queues @work to run once in @loop's thread; nothing when it is queued
 * already. From any thread. */
void sio_loop_schedule (SioLoop * loop, SioLoopWork * work);

/* Takes @work off the queue if it is there: it will not run. */
void sio_loop_unschedule (SioLoop * loop, SioLoopWork * work);

G_END_DECLS
#endif /* __SIO_LOOP_H__ */
