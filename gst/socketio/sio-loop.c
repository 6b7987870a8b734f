/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Threads and locks: pool_lock guards the pool (the slots and every
 * loop's user count); a loop's work_lock guards its work queue and the
 * queued flags of the items in it. They are never held together, nor
 * while an item runs. The rest of a SioLoop is set before its thread
 * starts and read-only after. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>

#include "sio-loop.h"

#define MAX_POOL 64
#define DEFAULT_MAX_THREADS 8

/* How long a stopping thread lets cancelled operations finish before it
 * gives up on them. */
#define SHUTDOWN_DRAIN_MS 100

struct _SioLoop
{
  guint slot;
  guint users;                  /* under pool_lock */
  gboolean stopping_itself;     /* released from its own thread */
  GThread *thread;
  GMainContext *context;
  GMainLoop *main_loop;
  GSource *work_source;

  GMutex work_lock;
  GQueue work;                  /* SioLoopWork links, under work_lock */
  gint work_length;             /* atomic copy for the source */
};

typedef struct
{
  GSource source;
  SioLoop *loop;
} WorkSource;

typedef struct
{
  GSourceFunc func;
  gpointer data;
  GMutex lock;
  GCond cond;
  gboolean done;
} SyncCall;

static GMutex pool_lock;
static SioLoop *pool[MAX_POOL];
static guint running_threads;

guint
sio_loop_get_max_threads (void)
{
  static gsize max_threads;

  if (g_once_init_enter (&max_threads)) {
    const gchar *env = g_getenv ("GST_SOCKETIO_NETWORK_THREADS");
    guint64 wanted = 0;

    if (env == NULL || !g_ascii_string_to_unsigned (env, 10, 1, MAX_POOL,
            &wanted, NULL)) {
      if (env)
        g_warning ("GST_SOCKETIO_NETWORK_THREADS=%s is not a number from 1 "
            "to %u; using the default", env, MAX_POOL);
      wanted = CLAMP (g_get_num_processors (), 1, DEFAULT_MAX_THREADS);
    }
    g_once_init_leave (&max_threads, (gsize) wanted);
  }
  return (guint) max_threads;
}

guint
sio_loop_get_running_threads (void)
{
  guint count;

  g_mutex_lock (&pool_lock);
  count = running_threads;
  g_mutex_unlock (&pool_lock);
  return count;
}

static gboolean
work_waiting (GSource * source)
{
  return g_atomic_int_get (&((WorkSource *) source)->loop->work_length) > 0;
}

static gboolean
work_prepare (GSource * source, gint * timeout)
{
  *timeout = -1;
  return work_waiting (source);
}

/* Runs what was queued when the pass began; what those items queue runs
 * in the next pass, after the other sources had their turn. Items are
 * popped one at a time: one may unschedule another. */
static gboolean
work_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  SioLoop *loop = ((WorkSource *) source)->loop;
  guint left = (guint) g_atomic_int_get (&loop->work_length);

  for (; left > 0; left--) {
    SioLoopWork *work;
    GList *link;

    g_mutex_lock (&loop->work_lock);
    link = g_queue_pop_head_link (&loop->work);
    if (link) {
      work = link->data;
      work->queued = FALSE;
      g_atomic_int_set (&loop->work_length, loop->work.length);
    }
    g_mutex_unlock (&loop->work_lock);
    if (link == NULL)
      break;
    work->func (work->data);
  }
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs work_funcs = {
  work_prepare, work_waiting, work_dispatch, NULL, NULL, NULL
};

static gboolean
drain_deadline_reached (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
loop_free (SioLoop * loop)
{
  g_main_loop_unref (loop->main_loop);
  g_main_context_unref (loop->context);
  g_mutex_clear (&loop->work_lock);
  g_free (loop);
}

static gpointer
loop_thread (gpointer user_data)
{
  SioLoop *loop = user_data;
  GSource *deadline;
  gboolean expired = FALSE;
  guint idle_rounds;

  g_main_context_push_thread_default (loop->context);
  g_main_loop_run (loop->main_loop);

  g_source_destroy (loop->work_source);
  g_clear_pointer (&loop->work_source, g_source_unref);

  /* let the cancelled operations of the clients that left finish here,
   * so nothing is left referencing this context; bounded, and never
   * waiting on a peer */
  deadline = g_timeout_source_new (SHUTDOWN_DRAIN_MS);
  g_source_set_callback (deadline, drain_deadline_reached, &expired, NULL);
  g_source_attach (deadline, loop->context);
  for (idle_rounds = 0; !expired && idle_rounds < 2;) {
    if (g_main_context_iteration (loop->context, FALSE)) {
      idle_rounds = 0;
    } else {
      /* a cancelled connect completes a moment later */
      idle_rounds++;
      g_usleep (1000);
    }
  }
  g_source_destroy (deadline);
  g_source_unref (deadline);
  g_main_context_pop_thread_default (loop->context);

  if (loop->stopping_itself) {
    g_thread_unref (loop->thread);
    loop_free (loop);
  }
  return NULL;
}

static SioLoop *
loop_start (guint slot)
{
  SioLoop *loop = g_new0 (SioLoop, 1);

  loop->slot = slot;
  g_mutex_init (&loop->work_lock);
  g_queue_init (&loop->work);
  loop->context = g_main_context_new ();
  loop->main_loop = g_main_loop_new (loop->context, FALSE);
  loop->work_source = g_source_new (&work_funcs, sizeof (WorkSource));
  ((WorkSource *) loop->work_source)->loop = loop;
  /* as reads: a flood of server events cannot starve the audio */
  g_source_set_priority (loop->work_source, G_PRIORITY_DEFAULT);
  g_source_attach (loop->work_source, loop->context);
  loop->thread = g_thread_new ("socketio-net", loop_thread, loop);
  return loop;
}

SioLoop *
sio_loop_acquire (void)
{
  guint max_threads = sio_loop_get_max_threads ();
  SioLoop *best = NULL;
  gint free_slot = -1;
  guint i;

  g_mutex_lock (&pool_lock);
  for (i = 0; i < max_threads; i++) {
    if (pool[i] == NULL) {
      if (free_slot < 0)
        free_slot = i;
    } else if (best == NULL || pool[i]->users < best->users) {
      best = pool[i];
    }
  }
  /* a thread of its own while there are processors to spare */
  if ((best == NULL || best->users > 0) && free_slot >= 0) {
    best = pool[free_slot] = loop_start (free_slot);
    running_threads++;
  }
  best->users++;
  g_mutex_unlock (&pool_lock);
  return best;
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (((SioLoop *) user_data)->main_loop);
  return G_SOURCE_REMOVE;
}

void
sio_loop_release (SioLoop * loop)
{
  gboolean last;

  g_return_if_fail (loop != NULL);

  g_mutex_lock (&pool_lock);
  if (loop->users == 0) {
    g_mutex_unlock (&pool_lock);
    g_critical ("sio_loop_release() of a loop nobody holds");
    return;
  }
  last = --loop->users == 0;
  if (last) {
    pool[loop->slot] = NULL;
    running_threads--;
  }
  g_mutex_unlock (&pool_lock);
  if (!last)
    return;

  if (sio_loop_is_current (loop)) {
    /* the thread ends when the callback that released it returns */
    loop->stopping_itself = TRUE;
    g_main_loop_quit (loop->main_loop);
    return;
  }
  g_main_context_invoke (loop->context, quit_loop, loop);
  g_thread_join (loop->thread);
  loop_free (loop);
}

GMainContext *
sio_loop_get_context (SioLoop * loop)
{
  return loop->context;
}

gboolean
sio_loop_is_current (SioLoop * loop)
{
  return g_thread_self () == loop->thread;
}

static gboolean
sync_call_run (gpointer user_data)
{
  SyncCall *call = user_data;

  call->func (call->data);
  g_mutex_lock (&call->lock);
  call->done = TRUE;
  g_cond_signal (&call->cond);
  g_mutex_unlock (&call->lock);
  return G_SOURCE_REMOVE;
}

void
sio_loop_run_sync (SioLoop * loop, GSourceFunc func, gpointer data)
{
  SyncCall call = { func, data };

  if (sio_loop_is_current (loop)) {
    func (data);
    return;
  }
  g_mutex_init (&call.lock);
  g_cond_init (&call.cond);
  g_main_context_invoke (loop->context, sync_call_run, &call);
  g_mutex_lock (&call.lock);
  while (!call.done)
    g_cond_wait (&call.cond, &call.lock);
  g_mutex_unlock (&call.lock);
  g_cond_clear (&call.cond);
  g_mutex_clear (&call.lock);
}

void
sio_loop_work_init (SioLoopWork * work, SioLoopWorkFunc func, gpointer data)
{
  work->link.data = work;
  work->link.next = work->link.prev = NULL;
  work->func = func;
  work->data = data;
  work->queued = FALSE;
}

void
sio_loop_schedule (SioLoop * loop, SioLoopWork * work)
{
  gboolean wake;

  g_mutex_lock (&loop->work_lock);
  if (work->queued) {
    g_mutex_unlock (&loop->work_lock);
    return;
  }
  work->queued = TRUE;
  wake = loop->work.length == 0;
  g_queue_push_tail_link (&loop->work, &work->link);
  g_atomic_int_set (&loop->work_length, loop->work.length);
  g_mutex_unlock (&loop->work_lock);

  /* a busy thread sees the queue before it next polls; only one that may
   * be asleep in poll() needs the wake-up */
  if (wake && !sio_loop_is_current (loop))
    g_main_context_wakeup (loop->context);
}

void
sio_loop_unschedule (SioLoop * loop, SioLoopWork * work)
{
  g_mutex_lock (&loop->work_lock);
  if (work->queued) {
    g_queue_unlink (&loop->work, &work->link);
    work->queued = FALSE;
    g_atomic_int_set (&loop->work_length, loop->work.length);
  }
  g_mutex_unlock (&loop->work_lock);
}
