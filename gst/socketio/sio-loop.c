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
 * while an item runs. A loop's run_lock is held by its thread at every
 * moment but the poll itself, and only try-locked by others
 * (sio_loop_try_enter()): whoever holds it is "the loop's thread", so
 * every lock taken in the loop's callbacks nests inside it, and it can
 * never be waited for while one of those is held. work_length and
 * polling are atomics that other threads read without a lock
 * (sio_loop_schedule() wakes the thread only while it polls). The
 * watches, the ready batch and the timer heap belong to the loop's
 * thread, which also runs the context's poll function. The rest of a
 * SioLoop is set before its thread starts and read-only after. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include <stdlib.h>
#include <unistd.h>

#ifdef HAVE_EPOLL
#include <errno.h>
#include <sys/epoll.h>
#endif

#include "sio-loop.h"

/* Ready sockets taken from epoll in one pass. */
#define READY_BATCH 64

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

  /* held by the loop's thread except while it polls, or by a thread
   * that entered the loop (sio_loop_try_enter()) */
  GMutex run_lock;
  GMutex work_lock;
  GQueue work;                  /* SioLoopWork links, under work_lock */
  gint work_length;             /* atomic copy for the source */
  gint polling;                 /* atomic: in loop_poll() (epoll only) */

  /* loop thread only */
  gint epoll_fd;                /* -1: no epoll */
  gint wakeup_fd;               /* the context's, once in the epoll set */
  gboolean dispatching;         /* in epoll_dispatch() */
  GSource *epoll_source;
  /* the watches of the pass being dispatched, from ready_next on;
   * removing a watch clears its entry */
  SioLoopWatch *ready[READY_BATCH];
  guint32 ready_events[READY_BATCH];
  guint ready_next, ready_count;
  GPtrArray *timers;            /* a binary heap on SioLoopTimer.when */
  GSource *timer_source;
};

/* the loop's own sources: work, timers, epoll */
typedef struct
{
  GSource source;
  SioLoop *loop;
} LoopSource;

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

/* The loop a thread other than its own has entered. */
static GPrivate entered_loop;

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
  return g_atomic_int_get (&((LoopSource *) source)->loop->work_length) > 0;
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
  SioLoop *loop = ((LoopSource *) source)->loop;
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

/* ---- sockets ----------------------------------------------------------- */

#ifdef HAVE_EPOLL
static guint32
epoll_events_for (GIOCondition condition)
{
  return ((condition & G_IO_IN) ? EPOLLIN : 0) |
      ((condition & G_IO_OUT) ? EPOLLOUT : 0);
}

static GIOCondition
condition_for (guint32 events)
{
  return ((events & EPOLLIN) ? G_IO_IN : 0) |
      ((events & EPOLLOUT) ? G_IO_OUT : 0) |
      ((events & EPOLLERR) ? G_IO_ERR : 0) |
      ((events & EPOLLHUP) ? G_IO_HUP : 0);
}

/* Where the context's wake-up fd is in the epoll set: not a watch. */
static guint8 wakeup_marker;

/* The loop of the thread that runs it, for loop_poll(). */
static GPrivate loop_of_thread;

/* Puts what epoll_wait() returned in the ready batch; the context's
 * wake-up is not a socket's, and says so in @woken. */
static void
take_ready (SioLoop * loop, const struct epoll_event *events, gint count,
    gboolean * woken)
{
  gint i;

  for (i = 0; i < count; i++) {
    if (events[i].data.ptr == &wakeup_marker) {
      *woken = TRUE;
      continue;
    }
    loop->ready[loop->ready_count] = events[i].data.ptr;
    loop->ready_events[loop->ready_count++] = events[i].events;
  }
}

static gint
poll_once (SioLoop * loop, GPollFD * fds, guint nfds, gint timeout)
{
  struct epoll_event events[READY_BATCH];
  GPollFD *epoll_rec, *wakeup_rec;
  gboolean woken = FALSE;
  gint count;

  if (nfds != 2)
    return g_poll (fds, nfds, timeout);
  epoll_rec = fds[0].fd == loop->epoll_fd ? &fds[0] : &fds[1];
  wakeup_rec = epoll_rec == &fds[0] ? &fds[1] : &fds[0];
  if (epoll_rec->fd != loop->epoll_fd || wakeup_rec->events != G_IO_IN)
    return g_poll (fds, nfds, timeout);
  if (wakeup_rec->fd != loop->wakeup_fd) {
    struct epoll_event event = { 0 };

    /* the first time (the context keeps its wake-up fd for life) */
    if (loop->wakeup_fd >= 0)
      return g_poll (fds, nfds, timeout);
    event.events = EPOLLIN;
    event.data.ptr = &wakeup_marker;
    if (epoll_ctl (loop->epoll_fd, EPOLL_CTL_ADD, wakeup_rec->fd, &event) < 0)
      return g_poll (fds, nfds, timeout);
    loop->wakeup_fd = wakeup_rec->fd;
  }

  epoll_rec->revents = wakeup_rec->revents = 0;
  /* a batch a higher priority source kept from being dispatched */
  if (loop->ready_count > 0) {
    epoll_rec->revents = G_IO_IN;
    return 1;
  }
  count = epoll_wait (loop->epoll_fd, events, READY_BATCH, timeout);
  if (count < 0)
    return -1;
  take_ready (loop, events, count, &woken);
  if (woken)
    wakeup_rec->revents = G_IO_IN;
  if (loop->ready_count > 0)
    epoll_rec->revents = G_IO_IN;
  return (epoll_rec->revents != 0) + (wakeup_rec->revents != 0);
}

/* The context's poll function. Between connections' set-ups the context
 * polls two fds, the epoll set and its own wake-up; with the wake-up in
 * the epoll set too, one epoll_wait() stands for GLib's poll() and the
 * epoll_wait() that would follow it, and its events go straight to the
 * ready batch. Anything else (a connect, libsoup's sockets) is g_poll(). */
static gint
loop_poll (GPollFD * fds, guint nfds, gint timeout)
{
  SioLoop *loop = g_private_get (&loop_of_thread);
  gint count;

  if (loop == NULL)
    return g_poll (fds, nfds, timeout);
  /* see sio_loop_schedule(): the flag goes up before the queue is looked
   * at, so work queued meanwhile either is seen here or wakes the poll */
  g_atomic_int_set (&loop->polling, 1);
  if (g_atomic_int_get (&loop->work_length) > 0)
    timeout = 0;
  /* while it sleeps another thread may enter the loop */
  g_mutex_unlock (&loop->run_lock);
  count = poll_once (loop, fds, nfds, timeout);
  g_mutex_lock (&loop->run_lock);
  g_atomic_int_set (&loop->polling, 0);
  return count;
}

static gboolean
epoll_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  SioLoop *loop = ((LoopSource *) source)->loop;

  /* the source may recurse (see loop_start()), this pass may not: a
   * nested iteration would reuse the ready batch */
  if (loop->dispatching)
    return G_SOURCE_CONTINUE;
  /* loop_poll() has filled the batch, or g_poll() saw the set ready */
  if (loop->ready_count == 0) {
    struct epoll_event events[READY_BATCH];
    gboolean woken = FALSE;
    gint count = epoll_wait (loop->epoll_fd, events, READY_BATCH, 0);

    if (count > 0)
      take_ready (loop, events, count, &woken);
  }
  loop->dispatching = TRUE;
  for (loop->ready_next = 0; loop->ready_next < loop->ready_count;) {
    guint at = loop->ready_next++;
    SioLoopWatch *watch = loop->ready[at];

    if (watch)
      watch->func (condition_for (loop->ready_events[at]), watch->data);
  }
  loop->ready_count = loop->ready_next = 0;
  loop->dispatching = FALSE;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs epoll_funcs = {
  NULL, NULL, epoll_dispatch, NULL, NULL, NULL
};
#endif

gboolean
sio_loop_watch_add (SioLoop * loop, SioLoopWatch * watch, gint fd,
    GIOCondition condition, SioLoopWatchFunc func, gpointer data)
{
#ifdef HAVE_EPOLL
  struct epoll_event event = { 0 };

  g_return_val_if_fail (!watch->added, FALSE);
  if (loop->epoll_fd < 0)
    return FALSE;
  watch->fd = fd;
  watch->events = epoll_events_for (condition);
  watch->func = func;
  watch->data = data;
  event.events = watch->events;
  event.data.ptr = watch;
  if (epoll_ctl (loop->epoll_fd, EPOLL_CTL_ADD, fd, &event) < 0)
    return FALSE;
  watch->added = TRUE;
  return TRUE;
#else
  return FALSE;
#endif
}

void
sio_loop_watch_set_condition (SioLoop * loop, SioLoopWatch * watch,
    GIOCondition condition)
{
#ifdef HAVE_EPOLL
  struct epoll_event event = { 0 };
  guint32 events = epoll_events_for (condition);

  if (!watch->added || events == watch->events)
    return;
  watch->events = event.events = events;
  event.data.ptr = watch;
  if (epoll_ctl (loop->epoll_fd, EPOLL_CTL_MOD, watch->fd, &event) < 0)
    g_critical ("epoll_ctl(MOD) of fd %d failed: %s", watch->fd,
        g_strerror (errno));
#endif
}

void
sio_loop_watch_remove (SioLoop * loop, SioLoopWatch * watch)
{
#ifdef HAVE_EPOLL
  guint i;

  if (!watch->added)
    return;
  watch->added = FALSE;
  epoll_ctl (loop->epoll_fd, EPOLL_CTL_DEL, watch->fd, NULL);
  /* a watch removed while its pass runs (its owner freed by another's
   * callback) must not be called from that pass */
  for (i = loop->ready_next; i < loop->ready_count; i++)
    if (loop->ready[i] == watch)
      loop->ready[i] = NULL;
#endif
}

/* ---- timers ------------------------------------------------------------ */

static SioLoopTimer *
heap_at (SioLoop * loop, guint index)
{
  return g_ptr_array_index (loop->timers, index);
}

static void
heap_put (SioLoop * loop, guint index, SioLoopTimer * timer)
{
  loop->timers->pdata[index] = timer;
  timer->heap_index = index;
}

static void
heap_sift_up (SioLoop * loop, guint index)
{
  SioLoopTimer *timer = heap_at (loop, index);

  while (index > 0) {
    guint parent = (index - 1) / 2;

    if (heap_at (loop, parent)->when <= timer->when)
      break;
    heap_put (loop, index, heap_at (loop, parent));
    index = parent;
  }
  heap_put (loop, index, timer);
}

static void
heap_sift_down (SioLoop * loop, guint index)
{
  SioLoopTimer *timer = heap_at (loop, index);
  guint length = loop->timers->len;

  for (;;) {
    guint child = 2 * index + 1;

    if (child >= length)
      break;
    if (child + 1 < length &&
        heap_at (loop, child + 1)->when < heap_at (loop, child)->when)
      child++;
    if (timer->when <= heap_at (loop, child)->when)
      break;
    heap_put (loop, index, heap_at (loop, child));
    index = child;
  }
  heap_put (loop, index, timer);
}

static void
heap_remove (SioLoop * loop, SioLoopTimer * timer)
{
  guint index = timer->heap_index;
  SioLoopTimer *last = g_ptr_array_steal_index (loop->timers,
      loop->timers->len - 1);

  if (last != timer) {
    heap_put (loop, index, last);
    heap_sift_down (loop, index);
    heap_sift_up (loop, last->heap_index);
  }
}

static void
update_timer_source (SioLoop * loop)
{
  gint64 first = loop->timers->len ? heap_at (loop, 0)->when : -1;

  /* setting the same time again costs nothing; a new one wakes the
   * context, which is this thread */
  if (g_source_get_ready_time (loop->timer_source) != first)
    g_source_set_ready_time (loop->timer_source, first);
}

void
sio_loop_timer_init (SioLoopTimer * timer, SioLoopTimerFunc func, gpointer data)
{
  timer->when = -1;
  timer->heap_index = 0;
  timer->func = func;
  timer->data = data;
}

void
sio_loop_timer_set (SioLoop * loop, SioLoopTimer * timer, gint64 when_us)
{
  if (when_us < 0)
    when_us = -1;
  if (timer->when == when_us)
    return;
  if (timer->when >= 0)
    heap_remove (loop, timer);
  timer->when = when_us;
  if (when_us >= 0) {
    g_ptr_array_add (loop->timers, timer);
    heap_sift_up (loop, loop->timers->len - 1);
  }
  update_timer_source (loop);
}

gint64
sio_loop_timer_get (SioLoopTimer * timer)
{
  return timer->when;
}

/* Fires every timer that is due, each once; one set again for now by its
 * own function waits for the next pass. */
static gboolean
timers_dispatch (GSource * source, GSourceFunc callback, gpointer user_data)
{
  SioLoop *loop = ((LoopSource *) source)->loop;
  gint64 now = g_get_monotonic_time ();
  guint fired = 0, due = loop->timers->len;

  while (loop->timers->len > 0 && heap_at (loop, 0)->when <= now &&
      fired++ < due) {
    SioLoopTimer *timer = heap_at (loop, 0);

    heap_remove (loop, timer);
    timer->when = -1;
    timer->func (timer->data);
  }
  update_timer_source (loop);
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs timer_funcs = {
  NULL, NULL, timers_dispatch, NULL, NULL, NULL
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
  if (loop->timers->len > 0)
    g_critical ("a network thread stopped with %u timers still set",
        loop->timers->len);
  g_ptr_array_unref (loop->timers);
  if (loop->epoll_fd >= 0)
    close (loop->epoll_fd);
  g_main_loop_unref (loop->main_loop);
  g_main_context_unref (loop->context);
  g_mutex_clear (&loop->work_lock);
  g_mutex_clear (&loop->run_lock);
  g_free (loop);
}

static gpointer
loop_thread (gpointer user_data)
{
  SioLoop *loop = user_data;
  GSource *deadline;
  gboolean expired = FALSE;
  guint idle_rounds;

  g_mutex_lock (&loop->run_lock);
  g_main_context_push_thread_default (loop->context);
#ifdef HAVE_EPOLL
  g_private_set (&loop_of_thread, loop);
#endif
  g_main_loop_run (loop->main_loop);

  g_source_destroy (loop->work_source);
  g_clear_pointer (&loop->work_source, g_source_unref);
  g_source_destroy (loop->timer_source);
  g_clear_pointer (&loop->timer_source, g_source_unref);
  if (loop->epoll_source) {
    g_source_destroy (loop->epoll_source);
    g_clear_pointer (&loop->epoll_source, g_source_unref);
  }

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
  g_mutex_unlock (&loop->run_lock);

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
  g_mutex_init (&loop->run_lock);
  g_mutex_init (&loop->work_lock);
  g_queue_init (&loop->work);
  loop->context = g_main_context_new ();
  loop->main_loop = g_main_loop_new (loop->context, FALSE);
  loop->work_source = g_source_new (&work_funcs, sizeof (LoopSource));
  ((LoopSource *) loop->work_source)->loop = loop;
  /* as reads: a flood of server events cannot starve the audio */
  g_source_set_priority (loop->work_source, G_PRIORITY_DEFAULT);
  g_source_attach (loop->work_source, loop->context);

  loop->timers = g_ptr_array_new ();
  loop->timer_source = g_source_new (&timer_funcs, sizeof (LoopSource));
  ((LoopSource *) loop->timer_source)->loop = loop;
  g_source_attach (loop->timer_source, loop->context);

  loop->epoll_fd = -1;
  loop->wakeup_fd = -1;
#ifdef HAVE_EPOLL
  loop->epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (loop->epoll_fd >= 0) {
    g_main_context_set_poll_func (loop->context, loop_poll);
    loop->epoll_source = g_source_new (&epoll_funcs, sizeof (LoopSource));
    ((LoopSource *) loop->epoll_source)->loop = loop;
    g_source_add_unix_fd (loop->epoll_source, loop->epoll_fd, G_IO_IN);
    /* GLib blocks a source that cannot recurse while it dispatches, by
     * taking its fd out of the poll set and putting it back, and each of
     * those writes the context's wake-up fd: two system calls and a
     * spurious wake-up for every pass over the sockets */
    g_source_set_can_recurse (loop->epoll_source, TRUE);
    g_source_attach (loop->epoll_source, loop->context);
  }
#endif
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

  /* joining the thread from inside it would never return */
  g_return_if_fail (g_private_get (&entered_loop) != loop);
  if (g_thread_self () == loop->thread) {
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
  return g_thread_self () == loop->thread ||
      g_private_get (&entered_loop) == loop;
}

gboolean
sio_loop_try_enter (SioLoop * loop)
{
  if (g_thread_self () == loop->thread || g_private_get (&entered_loop))
    return FALSE;
  if (!g_mutex_trylock (&loop->run_lock))
    return FALSE;
  g_private_set (&entered_loop, loop);
  return TRUE;
}

void
sio_loop_leave (SioLoop * loop)
{
  g_return_if_fail (g_private_get (&entered_loop) == loop);
  g_private_set (&entered_loop, NULL);
  g_mutex_unlock (&loop->run_lock);
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
   * be asleep in poll() needs the wake-up. With epoll, loop_poll() says
   * when it is: the flag is read after the queue was written, and it is
   * raised before loop_poll() reads the queue (both sequentially
   * consistent), so one of the two sides sees the other. */
  if (wake && g_thread_self () != loop->thread && (loop->epoll_fd < 0 ||
          g_atomic_int_get (&loop->polling)))
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
