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
 * Sockets and timers scale the same way. A GLib main loop asks every
 * source and polls every file descriptor on each iteration, which costs
 * as much per event as the connections are many; here each thread
 * watches its sockets with one epoll set (SioLoopWatch: one descriptor in
 * the thread's poll, whatever their number, and only the ready ones are
 * visited) and keeps its timers in one heap (SioLoopTimer: one GLib
 * source, set to the earliest). Without epoll, sio_loop_watch_add()
 * fails and the caller keeps its own GLib sources.
 *
 * The pool, sio_loop_schedule() and sio_loop_unschedule() are
 * thread-safe (the pool under one lock, each thread's work queue under
 * its own, never both at once); watches and timers belong to the loop's
 * thread and are used from it only. */

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

/* Whether the calling thread is @loop's, or has entered it. */
gboolean sio_loop_is_current (SioLoop * loop);

/* Lets the calling thread act as @loop's own for a moment, if that thread
 * is asleep in poll() (it holds the loop's run lock at every other
 * moment): TRUE, and then the caller may touch what belongs to the loop's
 * thread until sio_loop_leave(). FALSE at once when the thread is busy
 * (never waits), or when called from the loop's thread. For short, non
 * blocking work: a write to an idle connection without waking the thread
 * to do it. Nothing started there may need the thread-default context. */
gboolean sio_loop_try_enter (SioLoop * loop);
void sio_loop_leave (SioLoop * loop);

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

typedef void (*SioLoopWatchFunc) (GIOCondition ready, gpointer data);

/* Embedded in its owner; the fields are the loop's. */
typedef struct
{
  gint fd;
  guint32 events;
  SioLoopWatchFunc func;
  gpointer data;
  gboolean added;
} SioLoopWatch;

/* Watches @fd for @condition (G_IO_IN, G_IO_OUT; errors and hang-ups are
 * always reported) and calls @func while it holds (level-triggered).
 * FALSE when the loop cannot watch it (no epoll): use a GLib source. The
 * watch must be removed before @fd is closed. */
gboolean sio_loop_watch_add (SioLoop * loop, SioLoopWatch * watch, gint fd,
    GIOCondition condition, SioLoopWatchFunc func, gpointer data);
void sio_loop_watch_set_condition (SioLoop * loop, SioLoopWatch * watch,
    GIOCondition condition);
/* No call comes after this, not even one already ready in this pass.
 * Nothing when @watch is not added. */
void sio_loop_watch_remove (SioLoop * loop, SioLoopWatch * watch);

typedef void (*SioLoopTimerFunc) (gpointer data);

typedef struct
{
  gint64 when;                  /* monotonic µs, -1 when not set */
  guint heap_index;
  SioLoopTimerFunc func;
  gpointer data;
} SioLoopTimer;

void sio_loop_timer_init (SioLoopTimer * timer, SioLoopTimerFunc func,
    gpointer data);
/* Calls the timer's function once, at @when_us (g_get_monotonic_time()
 * time) or as soon after as the thread can; -1 stops it. */
void sio_loop_timer_set (SioLoop * loop, SioLoopTimer * timer, gint64 when_us);
/* When it fires, or -1. */
gint64 sio_loop_timer_get (SioLoopTimer * timer);

G_END_DECLS
#endif /* __SIO_LOOP_H__ */
