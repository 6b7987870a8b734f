/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* sio-loop unit tests: the pool of shared network threads. Threads: the
 * test's main thread acquires and releases loops and schedules work; the
 * work runs in the loops' threads and reports under `lock`. The pool is
 * limited to two threads (GST_SOCKETIO_NETWORK_THREADS, set before its
 * first use). */

#include "sio-loop.h"

#define WAIT_US (10 * G_USEC_PER_SEC)

static GMutex lock;
static GCond cond;

/* a work item that counts its runs and where they happened */
typedef struct
{
  SioLoopWork work;
  SioLoop *loop;
  gint runs;
  gint reschedule;              /* runs left that queue it again */
  gboolean in_loop_thread;
  gboolean on_thread_default;
  GArray *order;                /* shared: ids in the order they ran */
  gint id;
} Counter;

static void
counter_run (gpointer data)
{
  Counter *counter = data;

  g_mutex_lock (&lock);
  counter->runs++;
  counter->in_loop_thread = sio_loop_is_current (counter->loop);
  counter->on_thread_default = g_main_context_get_thread_default () ==
      sio_loop_get_context (counter->loop);
  if (counter->order)
    g_array_append_val (counter->order, counter->id);
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
  if (counter->reschedule > 0) {
    counter->reschedule--;
    sio_loop_schedule (counter->loop, &counter->work);
  }
}

static void
counter_init (Counter * counter, SioLoop * loop)
{
  *counter = (Counter) {
  0};
  counter->loop = loop;
  sio_loop_work_init (&counter->work, counter_run, counter);
}

static gboolean
wait_runs (Counter * counter, gint runs)
{
  gint64 end = g_get_monotonic_time () + WAIT_US;
  gboolean ok = TRUE;

  g_mutex_lock (&lock);
  while (counter->runs < runs && ok)
    ok = g_cond_wait_until (&cond, &lock, end);
  g_mutex_unlock (&lock);
  return counter->runs >= runs;
}

/* a work item that holds its thread until released */
typedef struct
{
  SioLoopWork work;
  gboolean entered;
  gboolean released;
} Blocker;

static void
blocker_run (gpointer data)
{
  Blocker *blocker = data;

  g_mutex_lock (&lock);
  blocker->entered = TRUE;
  g_cond_broadcast (&cond);
  while (!blocker->released)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
}

static void
block_loop (SioLoop * loop, Blocker * blocker)
{
  *blocker = (Blocker) {
  0};
  sio_loop_work_init (&blocker->work, blocker_run, blocker);
  sio_loop_schedule (loop, &blocker->work);
  g_mutex_lock (&lock);
  while (!blocker->entered)
    g_cond_wait (&cond, &lock);
  g_mutex_unlock (&lock);
}

static void
unblock_loop (Blocker * blocker)
{
  g_mutex_lock (&lock);
  blocker->released = TRUE;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

static void
test_threads_bounded (void)
{
  SioLoop *loops[10];
  guint i, on_first = 0;

  g_assert_cmpuint (sio_loop_get_max_threads (), ==, 2);
  g_assert_cmpuint (sio_loop_get_running_threads (), ==, 0);
  for (i = 0; i < G_N_ELEMENTS (loops); i++)
    loops[i] = sio_loop_acquire ();
  g_assert_cmpuint (sio_loop_get_running_threads (), ==, 2);
  for (i = 0; i < G_N_ELEMENTS (loops); i++) {
    g_assert_true (loops[i] == loops[0] || loops[i] == loops[1]);
    on_first += loops[i] == loops[0];
  }
  g_assert_true (loops[0] != loops[1]);
  /* least busy first: five each */
  g_assert_cmpuint (on_first, ==, 5);
  for (i = 0; i < G_N_ELEMENTS (loops); i++)
    sio_loop_release (loops[i]);
  g_assert_cmpuint (sio_loop_get_running_threads (), ==, 0);
}

static void
test_runs_in_its_thread (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter;

  counter_init (&counter, loop);
  sio_loop_schedule (loop, &counter.work);
  g_assert_true (wait_runs (&counter, 1));
  g_assert_true (counter.in_loop_thread);
  g_assert_true (counter.on_thread_default);
  g_assert_false (sio_loop_is_current (loop));
  sio_loop_release (loop);
}

/* scheduled many times while its thread is busy: runs once */
static void
test_schedule_once (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter, after;
  Blocker blocker;
  guint i;

  counter_init (&counter, loop);
  counter_init (&after, loop);
  block_loop (loop, &blocker);
  for (i = 0; i < 5; i++)
    sio_loop_schedule (loop, &counter.work);
  sio_loop_schedule (loop, &after.work);
  unblock_loop (&blocker);
  g_assert_true (wait_runs (&after, 1));
  g_assert_cmpint (counter.runs, ==, 1);
  sio_loop_release (loop);
}

static void
test_order_and_unschedule (void)
{
  SioLoop *loop = sio_loop_acquire ();
  GArray *order = g_array_new (FALSE, FALSE, sizeof (gint));
  Counter counters[4];
  Blocker blocker;
  guint i;

  block_loop (loop, &blocker);
  for (i = 0; i < G_N_ELEMENTS (counters); i++) {
    counter_init (&counters[i], loop);
    counters[i].order = order;
    counters[i].id = i;
    sio_loop_schedule (loop, &counters[i].work);
  }
  sio_loop_unschedule (loop, &counters[1].work);
  /* unscheduling what is not queued does nothing */
  sio_loop_unschedule (loop, &counters[1].work);
  unblock_loop (&blocker);
  g_assert_true (wait_runs (&counters[3], 1));
  g_assert_cmpint (counters[1].runs, ==, 0);
  g_assert_cmpuint (order->len, ==, 3);
  g_assert_cmpint (g_array_index (order, gint, 0), ==, 0);
  g_assert_cmpint (g_array_index (order, gint, 1), ==, 2);
  g_assert_cmpint (g_array_index (order, gint, 2), ==, 3);
  /* it can be queued again */
  sio_loop_schedule (loop, &counters[1].work);
  g_assert_true (wait_runs (&counters[1], 1));
  sio_loop_release (loop);
  g_array_unref (order);
}

/* work that queues itself again runs again, with no wake-up from outside */
static void
test_reschedule_from_work (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter;

  counter_init (&counter, loop);
  counter.reschedule = 9;
  sio_loop_schedule (loop, &counter.work);
  g_assert_true (wait_runs (&counter, 10));
  g_usleep (20000);
  g_assert_cmpint (counter.runs, ==, 10);
  sio_loop_release (loop);
}

static gboolean
count_sync_call (gpointer data)
{
  counter_run (data);
  return G_SOURCE_REMOVE;
}

static gboolean
note_sync_call (gpointer data)
{
  Counter *counter = data;

  /* run_sync from the loop's own thread runs at once */
  sio_loop_run_sync (counter->loop, count_sync_call, counter);
  counter_run (counter);
  return G_SOURCE_REMOVE;
}

static void
test_run_sync (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter;

  counter_init (&counter, loop);
  sio_loop_run_sync (loop, note_sync_call, &counter);
  /* both ran before run_sync returned, in the loop's thread */
  g_assert_cmpint (counter.runs, ==, 2);
  g_assert_true (counter.in_loop_thread);
  sio_loop_release (loop);
}

static void
release_run (gpointer data)
{
  Counter *counter = data;

  sio_loop_release (counter->loop);
  g_mutex_lock (&lock);
  counter->runs++;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

/* the last user gives the thread back from the thread itself: it stops
 * without being joined, and a new user gets a new one */
static void
test_release_from_own_thread (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter;
  gint64 end = g_get_monotonic_time () + WAIT_US;

  counter_init (&counter, loop);
  sio_loop_work_init (&counter.work, release_run, &counter);
  sio_loop_schedule (loop, &counter.work);
  g_assert_true (wait_runs (&counter, 1));
  while (sio_loop_get_running_threads () > 0 && g_get_monotonic_time () < end)
    g_usleep (1000);
  g_assert_cmpuint (sio_loop_get_running_threads (), ==, 0);

  loop = sio_loop_acquire ();
  counter_init (&counter, loop);
  sio_loop_schedule (loop, &counter.work);
  g_assert_true (wait_runs (&counter, 1));
  sio_loop_release (loop);
}

int
main (int argc, char **argv)
{
  g_setenv ("GST_SOCKETIO_NETWORK_THREADS", "2", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/loop/threads-bounded", test_threads_bounded);
  g_test_add_func ("/loop/runs-in-its-thread", test_runs_in_its_thread);
  g_test_add_func ("/loop/schedule-once", test_schedule_once);
  g_test_add_func ("/loop/order-and-unschedule", test_order_and_unschedule);
  g_test_add_func ("/loop/reschedule-from-work", test_reschedule_from_work);
  g_test_add_func ("/loop/run-sync", test_run_sync);
  g_test_add_func ("/loop/release-from-own-thread",
      test_release_from_own_thread);
  return g_test_run ();
}
