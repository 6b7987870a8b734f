/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 *
 * This library is distributed in the hope that it will be useful,
 * but WITHOUT ANY WARRANTY; without even the implied warranty of
 * MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
 * Library General Public License for more details.
 */

/* Throughput of leakyframepool against audiobuffersplit doing the same
 * re-chunking, in the same run:
 *
 *   fakesrc (4096-byte buffers, S16LE 16 kHz mono, timestamped)
 *     ! capsfilter ! ELEMENT (frames of 1024 samples) ! fakesink
 *
 * Each round runs the baseline (no element), leakyframepool and
 * audiobuffersplit over the same input; the median rate of each is
 * printed with the ratio. Then one more round counts GstBuffer and
 * GstMemory creations with an in-process tracer hook (installed only then,
 * as tracing slows everything down), minus the baseline's, per output
 * frame; and the pool's own buffers-allocated counter.
 *
 * Usage: leakyframepool-bench [-b INPUT-BUFFERS] [-r ROUNDS] [-f] [-o CASE]
 *
 * -f makes fakesrc write its buffers (zeros) as a capture source would;
 * by default it leaves them untouched, the cheapest source possible.
 *
 * -o runs one case only (baseline, leakyframepool or audiobuffersplit), for
 * profilers: valgrind --tool=callgrind leakyframepool-bench -o ... */

#include <stdlib.h>
#include <time.h>
#include <gst/gst.h>

#define CAPS "audio/x-raw,format=S16LE,rate=16000,channels=1,layout=interleaved"
#define BUFFER_BYTES 4096
#define FRAME_SAMPLES 1024
#define FRAMES_PER_BUFFER (BUFFER_BYTES / 2 / FRAME_SAMPLES)

enum
{
  BASELINE,
  LEAKYFRAMEPOOL,
  AUDIOBUFFERSPLIT,
  N_CASES
};

static const gchar *case_names[N_CASES] = {
  "baseline (no element)", "leakyframepool", "audiobuffersplit"
};

static const gchar *case_elements[N_CASES] = {
  NULL,
  "leakyframepool name=e frame-samples=1024 max-frames=64",
  "audiobuffersplit name=e output-buffer-duration=1024/16000",
};

/* A tracer living in this process, counting mini objects as they are
 * created. */
typedef struct
{
  GstTracer parent;
} BenchTracer;

typedef struct
{
  GstTracerClass parent_class;
} BenchTracerClass;

static gboolean fill;

static GType bench_tracer_get_type (void);
G_DEFINE_TYPE (BenchTracer, bench_tracer, GST_TYPE_TRACER);

static gint n_buffers, n_memories;

static void
on_mini_object_created (GObject * tracer, GstClockTime ts,
    GstMiniObject * object)
{
  if (GST_IS_MINI_OBJECT_TYPE (object, GST_TYPE_BUFFER))
    g_atomic_int_inc (&n_buffers);
  else if (GST_IS_MINI_OBJECT_TYPE (object, GST_TYPE_MEMORY))
    g_atomic_int_inc (&n_memories);
}

static void
bench_tracer_class_init (BenchTracerClass * klass)
{
}

static void
bench_tracer_init (BenchTracer * self)
{
  gst_tracing_register_hook (GST_TRACER (self), "mini-object-created",
      G_CALLBACK (on_mini_object_created));
}

enum
{
  WALL,
  CPU,
  N_CLOCKS
};

static const gchar *clock_names[N_CLOCKS] = {
  "wall-clock time", "CPU time of the process (all threads)"
};

static gdouble
now (gint clock)
{
  struct timespec ts;

  clock_gettime (clock == WALL ? CLOCK_MONOTONIC : CLOCK_PROCESS_CPUTIME_ID,
      &ts);

  return ts.tv_sec + ts.tv_nsec / 1e9;
}

typedef struct
{
  gdouble seconds[N_CLOCKS];
  guint64 frames;
  guint64 pool_allocated;
} RunResult;

static gboolean
run_once (gint which, guint n_input, RunResult * result)
{
  GstElement *pipeline, *e, *sink;
  GstStructure *stats;
  GstBus *bus;
  GstMessage *msg;
  GError *err = NULL;
  gchar *desc;
  gdouble start[N_CLOCKS];
  gboolean ok = TRUE;

  desc = g_strdup_printf ("fakesrc num-buffers=%u sizetype=fixed "
      "sizemax=%d filltype=%s datarate=32000 format=time "
      "! " CAPS " ! %s%s fakesink name=sink sync=false "
      "enable-last-sample=false", n_input,
      BUFFER_BYTES, fill ? "zero" : "nothing",
      case_elements[which] ? case_elements[which] : "",
      case_elements[which] ? " !" : "");
  pipeline = gst_parse_launch (desc, &err);
  g_free (desc);
  if (!pipeline) {
    g_printerr ("%s: %s\n", case_names[which], err->message);
    g_clear_error (&err);
    return FALSE;
  }

  e = gst_bin_get_by_name (GST_BIN (pipeline), "e");    /* NULL for baseline */
  sink = gst_bin_get_by_name (GST_BIN (pipeline), "sink");

  /* preroll first so that the timed part is the streaming only */
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  gst_element_get_state (pipeline, NULL, NULL, GST_CLOCK_TIME_NONE);

  bus = gst_element_get_bus (pipeline);
  start[WALL] = now (WALL);
  start[CPU] = now (CPU);
  gst_element_set_state (pipeline, GST_STATE_PLAYING);
  msg = gst_bus_timed_pop_filtered (bus, GST_CLOCK_TIME_NONE,
      GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  result->seconds[CPU] = now (CPU) - start[CPU];
  result->seconds[WALL] = now (WALL) - start[WALL];

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR) {
    gst_message_parse_error (msg, &err, NULL);
    g_printerr ("%s: %s\n", case_names[which], err->message);
    g_clear_error (&err);
    ok = FALSE;
  }
  gst_message_unref (msg);
  gst_object_unref (bus);

  g_object_get (sink, "stats", &stats, NULL);
  result->frames = 0;
  gst_structure_get_uint64 (stats, "rendered", &result->frames);
  gst_structure_free (stats);
  result->pool_allocated = 0;
  if (which == LEAKYFRAMEPOOL) {
    g_object_get (e, "stats", &stats, NULL);
    gst_structure_get_uint64 (stats, "buffers-allocated",
        &result->pool_allocated);
    gst_structure_free (stats);
  }

  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (sink);
  if (e)
    gst_object_unref (e);
  gst_object_unref (pipeline);

  return ok;
}

static gint
compare_double (gconstpointer a, gconstpointer b)
{
  gdouble x = *(const gdouble *) a, y = *(const gdouble *) b;

  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  guint n_input = 100000, rounds = 7, r;
  gchar *only = NULL;
  gint which;
  GOptionEntry entries[] = {
    {"buffers", 'b', 0, G_OPTION_ARG_INT, &n_input,
        "Input buffers of 4096 bytes per run", "N"},
    {"rounds", 'r', 0, G_OPTION_ARG_INT, &rounds, "Timed rounds", "N"},
    {"fill", 'f', 0, G_OPTION_ARG_NONE, &fill,
        "The source writes its buffers", NULL},
    {"only", 'o', 0, G_OPTION_ARG_STRING, &only, "Run this case only",
        "CASE"},
    {NULL}
  };
  GOptionContext *ctx;
  GError *err = NULL;
  gdouble *rates[N_CLOCKS][N_CASES], median[N_CASES], per_frame[N_CASES];
  gint clock;
  gint counted_buffers[N_CASES], counted_memories[N_CASES];
  RunResult res;
  GstElementFactory *f;
  GstTracer *tracer;
  guint64 pool_allocated = 0;
  guint64 expected;

  ctx = g_option_context_new ("- leakyframepool versus audiobuffersplit");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_option_context_add_group (ctx, gst_init_get_option_group ());
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    g_printerr ("%s\n", err->message);
    return 2;
  }
  g_option_context_free (ctx);
  if (n_input == 0 || rounds == 0)
    return 2;

  gst_init (NULL, NULL);

  /* find the plugin in the build tree when not told where it is */
  if (!(f = gst_element_factory_find ("leakyframepool"))) {
    gst_registry_scan_path (gst_registry_get (), PLUGIN_BUILD_DIR);
    f = gst_element_factory_find ("leakyframepool");
  }
  if (!f) {
    g_printerr ("leakyframepool not found (looked in %s)\n", PLUGIN_BUILD_DIR);
    return 1;
  }
  gst_object_unref (f);
  if (!(f = gst_element_factory_find ("audiobuffersplit"))) {
    g_printerr ("audiobuffersplit (gst-plugins-bad) not found\n");
    return 1;
  }
  gst_object_unref (f);

  expected = (guint64) n_input *FRAMES_PER_BUFFER;
  g_print ("input: %u buffers of %d bytes S16LE 16 kHz mono (%.0f s of "
      "audio, %s), frames of %d samples, %u rounds\n", n_input,
      BUFFER_BYTES, n_input * BUFFER_BYTES / 32000.0,
      fill ? "written by the source" : "left untouched by the source",
      FRAME_SAMPLES, rounds);

  if (only) {
    for (which = 0; which < N_CASES; which++) {
      if (g_str_has_prefix (case_names[which], only))
        break;
    }
    if (which == N_CASES) {
      g_printerr ("no case %s\n", only);
      return 2;
    }
    for (r = 0; r < rounds; r++) {
      if (!run_once (which, n_input, &res))
        return 1;
      g_print ("%s: %.0f frames/s (wall), %.0f frames/CPU-s\n",
          case_names[which], expected / res.seconds[WALL],
          expected / res.seconds[CPU]);
    }
    g_free (only);
    gst_deinit ();
    return 0;
  }

  for (clock = 0; clock < N_CLOCKS; clock++)
    for (which = 0; which < N_CASES; which++)
      rates[clock][which] = g_new0 (gdouble, rounds);

  /* interleave the cases so that drifts of the machine hit all alike */
  for (r = 0; r < rounds; r++) {
    for (which = 0; which < N_CASES; which++) {
      if (!run_once (which, n_input, &res))
        return 1;
      if (which != BASELINE && res.frames != expected) {
        g_printerr ("%s pushed %" G_GUINT64_FORMAT " frames, expected %"
            G_GUINT64_FORMAT "\n", case_names[which], res.frames, expected);
        return 1;
      }
      /* frames per second; for the baseline, input buffers' worth */
      for (clock = 0; clock < N_CLOCKS; clock++)
        rates[clock][which][r] = expected / res.seconds[clock];
      if (which == LEAKYFRAMEPOOL)
        pool_allocated = res.pool_allocated;
    }
  }

  for (clock = 0; clock < N_CLOCKS; clock++) {
    for (which = 0; which < N_CASES; which++) {
      qsort (rates[clock][which], rounds, sizeof (gdouble), compare_double);
      median[which] = rates[clock][which][rounds / 2];
      per_frame[which] = 1e9 / median[which];
    }

    g_print ("\nmedian throughput by %s (frames per second, ns per frame "
        "for the whole pipeline):\n", clock_names[clock]);
    for (which = 0; which < N_CASES; which++)
      g_print ("  %-22s %10.0f frames/s %8.1f ns/frame (min %.0f, max "
          "%.0f)\n", case_names[which], median[which], per_frame[which],
          rates[clock][which][0], rates[clock][which][rounds - 1]);
    g_print ("  leakyframepool / audiobuffersplit: %.2fx the throughput\n",
        median[LEAKYFRAMEPOOL] / median[AUDIOBUFFERSPLIT]);
    g_print ("  cost of the element over the baseline: leakyframepool "
        "%.1f ns/frame, audiobuffersplit %.1f ns/frame\n",
        per_frame[LEAKYFRAMEPOOL] - per_frame[BASELINE],
        per_frame[AUDIOBUFFERSPLIT] - per_frame[BASELINE]);
  }

  /* allocation counts: one more run of each with the tracer hook on */
  tracer = g_object_new (bench_tracer_get_type (), NULL);
  gst_object_ref_sink (tracer);
  for (which = 0; which < N_CASES; which++) {
    g_atomic_int_set (&n_buffers, 0);
    g_atomic_int_set (&n_memories, 0);
    if (!run_once (which, n_input, &res))
      return 1;
    counted_buffers[which] = g_atomic_int_get (&n_buffers);
    counted_memories[which] = g_atomic_int_get (&n_memories);
  }

  g_print ("\nallocations over %" G_GUINT64_FORMAT " frames (GstBuffer / "
      "GstMemory created):\n", expected);
  for (which = 0; which < N_CASES; which++)
    g_print ("  %-22s %9d buffers %9d memories\n", case_names[which],
        counted_buffers[which], counted_memories[which]);
  for (which = LEAKYFRAMEPOOL; which < N_CASES; which++)
    g_print ("  %-22s %.4f buffers + %.4f memories per frame beyond the "
        "baseline\n", case_names[which],
        (counted_buffers[which] - counted_buffers[BASELINE]) /
        (gdouble) expected,
        (counted_memories[which] - counted_memories[BASELINE]) /
        (gdouble) expected);
  g_print ("  leakyframepool pool buffers-allocated: %" G_GUINT64_FORMAT
      " (%.6f per frame)\n", pool_allocated,
      pool_allocated / (gdouble) expected);

  for (clock = 0; clock < N_CLOCKS; clock++)
    for (which = 0; which < N_CASES; which++)
      g_free (rates[clock][which]);
  /* the tracer stays registered until gst_deinit () */
  gst_object_unref (tracer);
  gst_deinit ();

  return 0;
}
