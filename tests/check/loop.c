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

#include <unistd.h>

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

/* Work handed over just as the thread goes to sleep, or just as it wakes:
 * the thread wakes only when it may be asleep (sio_loop_schedule()), so a
 * wrong guess leaves an item waiting forever. Thousands of rounds, each
 * waited for with a deadline, would catch it. */
static void
test_no_lost_wakeup (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter;
  gint round;

  counter_init (&counter, loop);
  for (round = 1; round <= 5000; round++) {
    sio_loop_schedule (loop, &counter.work);
    if (!wait_runs (&counter, round))
      g_error ("round %d: the work never ran", round);
    /* now and then let the thread fall asleep first */
    if (round % 500 == 0)
      g_usleep (1000);
  }
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

/* A work item that tries to enter its own loop: never from inside. */
static void
try_enter_run (gpointer data)
{
  Counter *counter = data;

  g_assert_false (sio_loop_try_enter (counter->loop));
  counter_run (counter);
}

/* Another thread enters the loop only while its thread sleeps in poll():
 * then it counts as the loop's thread (run_sync runs at once, instead of
 * waiting for the thread it holds back), work it queues still runs, and
 * once it leaves the thread goes on. A busy thread keeps it out. */
static void
test_try_enter (void)
{
  SioLoop *loop = sio_loop_acquire ();
  Counter counter, queued;
  Blocker blocker;
  gint64 end = g_get_monotonic_time () + WAIT_US;
  gboolean entered = FALSE;

  counter_init (&counter, loop);
  counter_init (&queued, loop);

  block_loop (loop, &blocker);
  g_assert_false (sio_loop_try_enter (loop));
  g_assert_false (sio_loop_is_current (loop));
  unblock_loop (&blocker);

  /* asleep in a moment */
  while (!entered && g_get_monotonic_time () < end) {
    entered = sio_loop_try_enter (loop);
    if (!entered)
      g_usleep (1000);
  }
  g_assert_true (entered);
  g_assert_true (sio_loop_is_current (loop));
  /* not twice */
  g_assert_false (sio_loop_try_enter (loop));
  sio_loop_run_sync (loop, count_sync_call, &counter);
  g_assert_cmpint (counter.runs, ==, 1);
  g_assert_true (counter.in_loop_thread);
  sio_loop_schedule (loop, &queued.work);
  sio_loop_leave (loop);
  g_assert_false (sio_loop_is_current (loop));
  g_assert_true (wait_runs (&queued, 1));

  /* from the loop's own thread it says no */
  sio_loop_work_init (&counter.work, try_enter_run, &counter);
  sio_loop_schedule (loop, &counter.work);
  g_assert_true (wait_runs (&counter, 2));
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

/* ---- timers ---------------------------------------------------------- */

#define TIMERS 4

typedef struct _TimerTest TimerTest;

typedef struct
{
  TimerTest *test;
  gint index;
} TimerTag;

struct _TimerTest
{
  SioLoop *loop;
  SioLoopTimer timers[TIMERS];
  TimerTag tags[TIMERS];
  GArray *fired;                /* indexes, in firing order */
};

static void
timer_fired (gpointer data)
{
  TimerTag *tag = data;
  TimerTest *test = tag->test;

  g_assert_true (sio_loop_is_current (test->loop));
  g_assert_cmpint (sio_loop_timer_get (&test->timers[tag->index]), ==, -1);
  g_mutex_lock (&lock);
  g_array_append_val (test->fired, tag->index);
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

typedef struct
{
  TimerTest *test;
  gint index;
  gint64 when;
} TimerSet;

static gboolean
set_timer_in_loop (gpointer data)
{
  TimerSet *set = data;

  sio_loop_timer_set (set->test->loop, &set->test->timers[set->index],
      set->when);
  return G_SOURCE_REMOVE;
}

/* timers belong to the loop's thread */
static void
set_timer (TimerTest * test, gint index, gint64 when)
{
  TimerSet set = { test, index, when };

  sio_loop_run_sync (test->loop, set_timer_in_loop, &set);
}

static gboolean
wait_fired (TimerTest * test, guint count)
{
  gint64 end = g_get_monotonic_time () + WAIT_US;
  gboolean ok = TRUE;

  g_mutex_lock (&lock);
  while (test->fired->len < count && ok)
    ok = g_cond_wait_until (&cond, &lock, end);
  g_mutex_unlock (&lock);
  return test->fired->len >= count;
}

/* in deadline order, whatever the order they were set in; a stopped one
 * never fires, a moved one fires at its new time, each fires once */
static void
test_timers (void)
{
  TimerTest test = { 0 };
  gint64 now = g_get_monotonic_time ();
  gint i;

  test.loop = sio_loop_acquire ();
  test.fired = g_array_new (FALSE, FALSE, sizeof (gint));
  for (i = 0; i < TIMERS; i++) {
    test.tags[i] = (TimerTag) {
    &test, i};
    sio_loop_timer_init (&test.timers[i], timer_fired, &test.tags[i]);
  }
  set_timer (&test, 0, now + 60000);
  set_timer (&test, 1, now + 20000);
  set_timer (&test, 2, now + 40000);
  set_timer (&test, 3, now + 30000);
  set_timer (&test, 3, -1);
  /* moved later, past 0 */
  set_timer (&test, 1, now + 80000);
  g_assert_true (wait_fired (&test, 3));
  g_assert_cmpint (g_array_index (test.fired, gint, 0), ==, 2);
  g_assert_cmpint (g_array_index (test.fired, gint, 1), ==, 0);
  g_assert_cmpint (g_array_index (test.fired, gint, 2), ==, 1);
  g_assert_cmpint (g_get_monotonic_time (), >=, now + 80000);
  g_usleep (50000);
  g_assert_cmpuint (test.fired->len, ==, 3);
  /* one in the past fires at once */
  set_timer (&test, 3, 1);
  g_assert_true (wait_fired (&test, 4));
  g_assert_cmpint (g_array_index (test.fired, gint, 3), ==, 3);
  sio_loop_release (test.loop);
  g_array_unref (test.fired);
}

/* ---- sockets --------------------------------------------------------- */

#ifdef __linux__
typedef struct
{
  SioLoop *loop;
  gint fds[2][2];               /* two pipes: read end, write end */
  SioLoopWatch watches[2];
  gint calls[2];
  GIOCondition seen[2];
  gboolean remove_other;
} WatchTest;

static void
watch_ready (WatchTest * test, gint which, GIOCondition ready)
{
  gchar byte;

  g_assert_true (sio_loop_is_current (test->loop));
  if (ready & G_IO_IN)
    g_assert_cmpint (read (test->fds[which][0], &byte, 1), ==, 1);
  if (test->remove_other)
    sio_loop_watch_remove (test->loop, &test->watches[1 - which]);
  g_mutex_lock (&lock);
  test->calls[which]++;
  test->seen[which] |= ready;
  g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

static void
watch0_ready (GIOCondition ready, gpointer data)
{
  watch_ready (data, 0, ready);
}

static void
watch1_ready (GIOCondition ready, gpointer data)
{
  watch_ready (data, 1, ready);
}

static gboolean
add_watches (gpointer data)
{
  WatchTest *test = data;

  g_assert_true (sio_loop_watch_add (test->loop, &test->watches[0],
          test->fds[0][0], G_IO_IN, watch0_ready, test));
  g_assert_true (sio_loop_watch_add (test->loop, &test->watches[1],
          test->fds[1][0], G_IO_IN, watch1_ready, test));
  return G_SOURCE_REMOVE;
}

static gboolean
remove_watches (gpointer data)
{
  WatchTest *test = data;

  sio_loop_watch_remove (test->loop, &test->watches[0]);
  sio_loop_watch_remove (test->loop, &test->watches[1]);
  return G_SOURCE_REMOVE;
}

static gint
total_calls (WatchTest * test)
{
  gint total;

  g_mutex_lock (&lock);
  total = test->calls[0] + test->calls[1];
  g_mutex_unlock (&lock);
  return total;
}

static void
wait_calls (WatchTest * test, gint count)
{
  gint64 end = g_get_monotonic_time () + WAIT_US;

  while (total_calls (test) < count && g_get_monotonic_time () < end)
    g_usleep (1000);
  g_assert_cmpint (total_calls (test), >=, count);
}

/* readiness is reported in the loop's thread while it lasts; a watch
 * removed by another's callback in the same pass is not called */
static void
test_watches (void)
{
  WatchTest test = { 0 };
  gint i;

  test.loop = sio_loop_acquire ();
  for (i = 0; i < 2; i++)
    g_assert_cmpint (pipe (test.fds[i]), ==, 0);
  sio_loop_run_sync (test.loop, add_watches, &test);
  g_assert_true (test.watches[0].added && test.watches[1].added);

  g_assert_cmpint (write (test.fds[0][1], "x", 1), ==, 1);
  wait_calls (&test, 1);
  g_usleep (20000);
  /* read at once: one call, for watch 0 only */
  g_assert_cmpint (test.calls[0], ==, 1);
  g_assert_cmpint (test.calls[1], ==, 0);
  g_assert_true (test.seen[0] & G_IO_IN);

  /* both ready in one pass, each callback removes the other: one runs */
  test.remove_other = TRUE;
  test.calls[0] = test.calls[1] = 0;
  sio_loop_run_sync (test.loop, remove_watches, &test);
  g_assert_cmpint (write (test.fds[0][1], "x", 1), ==, 1);
  g_assert_cmpint (write (test.fds[1][1], "x", 1), ==, 1);
  sio_loop_run_sync (test.loop, add_watches, &test);
  wait_calls (&test, 1);
  g_usleep (50000);
  g_assert_cmpint (test.calls[0] + test.calls[1], ==, 1);

  sio_loop_run_sync (test.loop, remove_watches, &test);
  for (i = 0; i < 2; i++) {
    close (test.fds[i][0]);
    close (test.fds[i][1]);
  }
  sio_loop_release (test.loop);
}
#endif

int
main (int argc, char **argv)
{
  g_setenv ("GST_SOCKETIO_NETWORK_THREADS", "2", TRUE);
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/loop/threads-bounded", test_threads_bounded);
  g_test_add_func ("/loop/runs-in-its-thread", test_runs_in_its_thread);
  g_test_add_func ("/loop/schedule-once", test_schedule_once);
  g_test_add_func ("/loop/no-lost-wakeup", test_no_lost_wakeup);
  g_test_add_func ("/loop/order-and-unschedule", test_order_and_unschedule);
  g_test_add_func ("/loop/reschedule-from-work", test_reschedule_from_work);
  g_test_add_func ("/loop/run-sync", test_run_sync);
  g_test_add_func ("/loop/try-enter", test_try_enter);
  g_test_add_func ("/loop/release-from-own-thread",
      test_release_from_own_thread);
  g_test_add_func ("/loop/timers", test_timers);
#ifdef __linux__
  g_test_add_func ("/loop/watches", test_watches);
#endif
  return g_test_run ();
}
