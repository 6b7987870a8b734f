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

/* Cost of decoding one server event, as the client does for each one:
 * sio_packet_decode(), then the event name and the arguments as JSON text.
 *
 * Events of 1 KiB, 64 KiB, 1 MiB and 16 MiB, of two shapes: a
 * transcript-like object (strings with escapes and non-ASCII text,
 * integers, floats, nested arrays) and a flat array of small numbers (the
 * most JSON values per byte). Each is decoded repeatedly; the program
 * prints the best time per byte and per event, and the peak RSS growth
 * beyond the input text itself (the peak is reset through
 * /proc/self/clear_refs first).
 *
 * Usage: parse-bench [-t SECONDS-PER-SIZE] [-m MAX-MIB] */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sio-protocol.h"

/* kB from a "Name:   123 kB" line of /proc/self/status */
static gint64
status_kb (const gchar * name)
{
  gchar *status = NULL, *line;
  gint64 kb = -1;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL))
    return -1;
  line = strstr (status, name);
  if (line != NULL)
    kb = g_ascii_strtoll (line + strlen (name), NULL, 10);
  g_free (status);
  return kb;
}

static void
reset_peak_rss (void)
{
  /* "5" resets VmHWM to the current RSS (Linux 4.0 and later); written in
   * place, as g_file_set_contents() would replace the file */
  FILE *file = fopen ("/proc/self/clear_refs", "w");

  if (file == NULL || fputs ("5", file) < 0 || fclose (file) != 0)
    g_printerr ("cannot reset the peak RSS: growth figures are upper "
        "bounds\n");
}

/* "2[\"transcript\",{…}]": a Socket.IO packet as sio_packet_decode()
 * receives it (the Engine.IO type digit already gone), of about @target
 * bytes. */
static GString *
make_transcript (gsize target)
{
  GString *event = g_string_new ("2[\"transcript\",{\"text\":\"");
  guint i;

  g_string_append (event, "na\\u00efve caf\xc3\xa9 \\\"quoted\\\" ");
  g_string_append (event, "\",\"final\":true,\"words\":[");
  for (i = 0; event->len + 96 < target; i++) {
    if (i > 0)
      g_string_append_c (event, ',');
    g_string_append_printf (event, "{\"w\":\"word%u\",\"start\":%u.%03u,"
        "\"end\":%u.%03u,\"conf\":0.9%u,\"alt\":[%u,null,-1e-3]}", i,
        i / 4, (i % 4) * 250, i / 4, (i % 4) * 250 + 200, i % 10, i);
  }
  g_string_append (event, "],\"seq\":18446744073709551615}]");
  return event;
}

/* "2[\"samples\",[0,1,2,…]]": small numbers, the most values per byte */
static GString *
make_numbers (gsize target)
{
  GString *event = g_string_new ("2[\"samples\",[0");
  guint i;

  for (i = 1; event->len + 8 < target; i++)
    g_string_append_printf (event, ",%u", i % 100);
  g_string_append (event, "]]");
  return event;
}

static void
decode_event (GString * event, const gchar * name)
{
  SioPacket packet;
  GError *error = NULL;
  gchar *args;

  if (!sio_packet_decode (event->str, event->len, &packet, &error))
    g_error ("the benchmark event does not decode: %s", error->message);
  if (g_strcmp0 (sio_packet_get_event_name (&packet), name) != 0)
    g_error ("wrong event name");
  args = sio_packet_dup_args_json (&packet);
  if (args == NULL || args[0] != '[')
    g_error ("no arguments");
  g_free (args);
  sio_packet_clear (&packet);
}

static void
bench_event (const gchar * shape, GString * event, const gchar * name,
    gdouble seconds)
{
  /* small events in batches, so that each timed sample is long enough for
   * the clock */
  guint batch = MAX (1, (1024 * 1024) / event->len), i;
  gint64 rss_before, peak, start, elapsed, best = G_MAXINT64, total = 0;
  guint samples = 0;

  reset_peak_rss ();
  rss_before = status_kb ("VmRSS:");
  while (samples < 3 || total < seconds * G_USEC_PER_SEC) {
    start = g_get_monotonic_time ();
    for (i = 0; i < batch; i++)
      decode_event (event, name);
    elapsed = g_get_monotonic_time () - start;
    best = MIN (best, elapsed);
    total += elapsed;
    samples++;
  }
  peak = status_kb ("VmHWM:");

  g_print ("%-10s %9" G_GSIZE_FORMAT " bytes  %8.2f ns/byte  %10.1f us  "
      "peak RSS +%" G_GINT64_FORMAT " KiB  (%u runs)\n", shape, event->len,
      best * 1000.0 / ((gdouble) event->len * batch), (gdouble) best / batch,
      peak - rss_before, samples * batch);
  g_string_free (event, TRUE);
}

static void
bench_size (gsize target, gdouble seconds)
{
  bench_event ("transcript", make_transcript (target), "transcript", seconds);
  bench_event ("numbers", make_numbers (target), "samples", seconds);
}

int
main (int argc, char **argv)
{
  gdouble seconds = 1.0;
  gint max_mib = 16;
  GOptionEntry entries[] = {
    {"time", 't', 0, G_OPTION_ARG_DOUBLE, &seconds,
        "Seconds of decoding per size (at least 3 runs)", "S"},
    {"max-mib", 'm', 0, G_OPTION_ARG_INT, &max_mib,
        "Largest event size in MiB (1 or 16)", "N"},
    {NULL}
  };
  GOptionContext *context = g_option_context_new ("- decoding cost of "
      "server events");
  GError *error = NULL;

  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error)) {
    g_printerr ("%s\n", error->message);
    return 2;
  }
  g_option_context_free (context);

  bench_size (1024, seconds);
  bench_size (64 * 1024, seconds);
  bench_size (1024 * 1024, seconds);
  if (max_mib >= 16)
    bench_size (16 * 1024 * 1024, seconds);
  return 0;
}
