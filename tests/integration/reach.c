/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* socketiosink reaching the servers of issue 8: wss/https with a CA the
 * test makes (tests/common/test-pki.h), client certificates, extra-headers,
 * user-agent, cookies, a load balancer's affinity cookie
 * (tests/server/affinity.js), HTTP proxies with and without credentials
 * (tests/server/proxy.js), and a sink started before its server. Most
 * cases run over transports=websocket and transports=polling (the loop
 * index picks one).
 *
 * Threads: the test thread owns everything here; the pipeline's threads
 * only touch the appsrc queue and the bus. */

#include <string.h>

#include <gst/gst.h>
#include <gst/check/gstcheck.h>

#include "test-pki.h"
#include "test-pipeline.h"

#define BUFFER_BYTES 2048
#define STREAM_BUFFERS 24
#define SECRET "SECRET-REACH"

/* the cases that loop twice use the first two */
static const gchar *const transports[] = { "websocket", "polling",
  "polling-upgrade"
};

/* made once, before the cases fork */
static SioTestPki pki;
static gboolean have_pki;

/* --- the pipeline --------------------------------------------------------- */

typedef struct
{
  SioTestStream *base;          /* pipeline, bus, bytes and hash */
  guint64 buffers;
  /* every text the bus carried, to look for secrets */
  GString *bus_text;
} Stream;

/* appsrc ! socketiosink to @location over @transport, reconnecting
 * quickly; the caller sets what else it needs before stream_play(). */
static Stream *
stream_new (const gchar * location, const gchar * transport)
{
  Stream *stream = g_new0 (Stream, 1);

  stream->base = sio_test_stream_new_for_location (location,
      "reconnect-delay=100000000 reconnect-delay-max=500000000");
  stream->bus_text = g_string_new (NULL);
  /* gst_util_set_object_arg() ignores unknown properties */
  g_assert_nonnull (g_object_class_find_property (G_OBJECT_GET_CLASS
          (stream->base->sink), "transports"));
  if (transport)
    gst_util_set_object_arg (G_OBJECT (stream->base->sink), "transports",
        transport);
  return stream;
}

static void
stream_free (Stream * stream)
{
  gst_bus_set_flushing (stream->base->bus, TRUE);
  sio_test_stream_free (stream->base);
  g_string_free (stream->bus_text, TRUE);
  g_free (stream);
}

static void
stream_play (Stream * stream)
{
  sio_test_stream_play (stream->base);
}

/* @count buffers of pseudo-random audio, hashed. */
static void
stream_push (Stream * stream, guint count)
{
  g_assert_cmpint (sio_test_stream_push (stream->base, count, BUFFER_BYTES),
      ==, GST_FLOW_OK);
  stream->buffers += count;
}

/* Everything a message tells the application, as text. */
static void
note_message (Stream * stream, GstMessage * msg)
{
  const GstStructure *s = gst_message_get_structure (msg);
  GError *error = NULL;
  gchar *debug = NULL;

  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    gst_message_parse_error (msg, &error, &debug);
  else if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_WARNING)
    gst_message_parse_warning (msg, &error, &debug);
  if (error)
    g_string_append_printf (stream->bus_text, "%s | %s\n", error->message,
        GST_STR_NULL (debug));
  if (s) {
    gchar *text = gst_structure_to_string (s);

    g_string_append_printf (stream->bus_text, "%s\n", text);
    g_free (text);
  }
  g_clear_error (&error);
  g_free (debug);
}

/* The next message of @types within @timeout, noting every one popped on
 * the way; NULL when none came. */
static GstMessage *
stream_wait (Stream * stream, GstMessageType types, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;
  GstMessage *msg;

  for (;;) {
    gint64 left = deadline - g_get_monotonic_time ();

    if (left <= 0)
      return NULL;
    msg = gst_bus_timed_pop (stream->base->bus, left * GST_USECOND);
    if (msg == NULL)
      return NULL;
    note_message (stream, msg);
    if (GST_MESSAGE_TYPE (msg) & types)
      return msg;
    gst_message_unref (msg);
  }
}

/* The error's text, for failure messages (free it). */
static gchar *
error_text (GstMessage * msg)
{
  GError *error = NULL;
  gchar *debug = NULL;
  gchar *text;

  gst_message_parse_error (msg, &error, &debug);
  text = g_strdup_printf ("error from %s: %s (%s)", GST_MESSAGE_SRC_NAME (msg),
      error->message, GST_STR_NULL (debug));
  g_error_free (error);
  g_free (debug);
  return text;
}

static void
fail_on_error (GstMessage * msg, const gchar * what)
{
  gchar *text = error_text (msg);

  g_error ("%s: unexpected %s", what, text);
  g_free (text);
}

/* EOS, and waits for it: the sink posts it once every event is acked.
 * Returns NULL, or what went wrong (free it). */
static gchar *
stream_try_finish (Stream * stream)
{
  GstMessage *msg;
  gchar *problem = NULL;

  gst_app_src_end_of_stream (GST_APP_SRC (stream->base->src));
  msg = stream_wait (stream, GST_MESSAGE_EOS | GST_MESSAGE_ERROR,
      30 * GST_SECOND);
  if (msg == NULL)
    return g_strdup ("no EOS within 30 s");
  if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
    problem = error_text (msg);
  gst_message_unref (msg);
  return problem;
}

static void
stream_finish (Stream * stream)
{
  gchar *problem = stream_try_finish (stream);

  if (problem)
    g_error ("streaming: %s", problem);
}

/* The element message named @name within @timeout (an error fails). */
static void
stream_wait_element (Stream * stream, const gchar * name, GstClockTime timeout)
{
  gint64 deadline = g_get_monotonic_time () + timeout / GST_USECOND;

  while (g_get_monotonic_time () < deadline) {
    GstMessage *msg = stream_wait (stream,
        GST_MESSAGE_ELEMENT | GST_MESSAGE_ERROR, 100 * GST_MSECOND);
    gboolean found;

    if (msg == NULL)
      continue;
    if (GST_MESSAGE_TYPE (msg) == GST_MESSAGE_ERROR)
      fail_on_error (msg, name);
    found = gst_message_has_name (msg, name);
    gst_message_unref (msg);
    if (found)
      return;
  }
  g_error ("no %s message within %" GST_TIME_FORMAT, name,
      GST_TIME_ARGS (timeout));
}

typedef struct
{
  GError *error;
  gchar *debug;
  GstStructure *details;        /* NULL if none */
  gchar *text;                  /* message and debug, lower case */
} Refusal;

/* The sink's error within @timeout; none fails the test. */
static Refusal *
stream_wait_refusal (Stream * stream, GstClockTime timeout)
{
  GstMessage *msg = stream_wait (stream, GST_MESSAGE_ERROR, timeout);
  Refusal *refusal = g_new0 (Refusal, 1);
  const GstStructure *details = NULL;
  gchar *text;

  if (msg == NULL)
    g_error ("no error within %" GST_TIME_FORMAT, GST_TIME_ARGS (timeout));
  gst_message_parse_error (msg, &refusal->error, &refusal->debug);
  gst_message_parse_error_details (msg, &details);
  if (details)
    refusal->details = gst_structure_copy (details);
  text = g_strdup_printf ("%s | %s", refusal->error->message,
      GST_STR_NULL (refusal->debug));
  refusal->text = g_ascii_strdown (text, -1);
  g_free (text);
  GST_INFO ("refused: %s (details %" GST_PTR_FORMAT ")",
      refusal->error->message, refusal->details);
  gst_message_unref (msg);
  return refusal;
}

static void
refusal_free (Refusal * refusal)
{
  g_clear_error (&refusal->error);
  g_free (refusal->debug);
  if (refusal->details)
    gst_structure_free (refusal->details);
  g_free (refusal->text);
  g_free (refusal);
}

/* Whether the error message (not the debug text: that is for
 * developers) names one of the '|'-separated @words, case-insensitive. */
static gboolean
message_names (Refusal * refusal, const gchar * words)
{
  gchar *message = g_ascii_strdown (refusal->error->message, -1);
  gchar **alternatives = g_strsplit (words, "|", -1);
  gboolean found = FALSE;
  gchar **w;

  for (w = alternatives; *w && !found; w++)
    found = strstr (message, *w) != NULL;
  g_strfreev (alternatives);
  g_free (message);
  return found;
}

static void
assert_message_names (Refusal * refusal, const gchar * words)
{
  if (!message_names (refusal, words))
    g_error ("the error \"%s\" names none of %s", refusal->error->message,
        words);
}

/* The TLS problems in the details: G_TLS_CERTIFICATE_* flags. */
static guint
refusal_tls_errors (Refusal * refusal)
{
  const GValue *value;

  if (refusal->details == NULL)
    g_error ("the error \"%s\" has no details structure",
        refusal->error->message);
  value = gst_structure_get_value (refusal->details, "tls-errors");
  if (value == NULL)
    g_error ("the error's details have no tls-errors: %" GST_PTR_FORMAT,
        refusal->details);
  if (G_VALUE_HOLDS_FLAGS (value))
    return g_value_get_flags (value);
  if (G_VALUE_HOLDS_UINT (value))
    return g_value_get_uint (value);
  if (G_VALUE_HOLDS_INT (value))
    return g_value_get_int (value);
  g_error ("tls-errors is a %s", G_VALUE_TYPE_NAME (value));
  return 0;
}

static void
assert_no_secret (Stream * stream)
{
  if (strstr (stream->bus_text->str, SECRET))
    g_error ("a secret reached the bus: %s", stream->bus_text->str);
}

/* The element's debug log, every level, must not hold SECRET either:
 * watched from secret_watch_begin() to secret_watch_end(). */
static gchar *leaked_log;       /* the first such line; any thread sets it */
static guint removed_default_log;

static void
secret_log (GstDebugCategory * category, GstDebugLevel level,
    const gchar * file, const gchar * function, gint line, GObject * object,
    GstDebugMessage * message, gpointer user_data)
{
  const gchar *text = gst_debug_message_get (message);
  gchar *copy;

  if (text == NULL || strstr (text, SECRET) == NULL)
    return;
  copy = g_strdup_printf ("%s:%d %s", file, line, text);
  if (!g_atomic_pointer_compare_and_exchange (&leaked_log, NULL, copy))
    g_free (copy);
}

static void
secret_watch_begin (void)
{
  /* everything goes to secret_log() only, not to stderr */
  removed_default_log = gst_debug_remove_log_function (gst_debug_log_default);
  gst_debug_add_log_function (secret_log, NULL, NULL);
  gst_debug_set_threshold_for_name ("socketiosink", GST_LEVEL_MEMDUMP);
}

static void
secret_watch_end (void)
{
  gchar *leak;

  gst_debug_unset_threshold_for_name ("socketiosink");
  gst_debug_remove_log_function (secret_log);
  if (removed_default_log)
    gst_debug_add_log_function (gst_debug_log_default, NULL, NULL);
  leak = g_atomic_pointer_exchange (&leaked_log, NULL);
  if (leak)
    g_error ("a secret reached the debug log: %s", leak);
}

/* --- what the servers saw ------------------------------------------------- */

/* Every byte arrived in order, as one event per buffer. */
static void
assert_delivered (JsonObject * stats, Stream * stream)
{
  g_assert_cmpint (json_object_get_int_member (stats, "bytes"), ==,
      stream->base->bytes);
  g_assert_cmpint (json_object_get_int_member (stats, "events"), ==,
      stream->buffers);
  g_assert_cmpstr (json_object_get_string_member (stats, "sha256"), ==,
      g_checksum_get_string (stream->base->sha));
  g_assert_cmpint (json_object_get_int_member (stats, "seqErrors"), ==, 0);
}

static gint64
stat_int (JsonObject * stats, const gchar * member)
{
  g_assert_true (json_object_has_member (stats, member));
  return json_object_get_int_member (stats, member);
}

/* The transport the sink used, as the server's request log shows: every
 * request for transports=websocket is an upgrade; polling has no upgrade
 * at all; polling-upgrade starts on polling and upgrades a session of it.
 * Returns the number of requests. */
static guint
assert_requests_used (JsonObject * stats, const gchar * transport)
{
  JsonArray *requests = json_object_get_array_member (stats, "requests");
  gboolean upgrading = strcmp (transport, "polling-upgrade") == 0;
  guint i, upgrades = 0, n = json_array_get_length (requests);

  g_assert_cmpuint (n, >, 0);
  for (i = 0; i < n; i++) {
    JsonObject *r = json_array_get_object_element (requests, i);
    const gchar *t = json_object_get_string_member (r, "transport");
    gboolean upgrade = json_object_get_boolean_member (r, "upgrade");

    if (upgrading) {
      g_assert_cmpstr (t, ==, upgrade ? "websocket" : "polling");
      if (upgrade || i == 0)
        g_assert_cmpint (json_object_get_boolean_member (r, "sid"), ==,
            upgrade);
    } else {
      g_assert_cmpstr (t, ==, transport);
      g_assert_cmpint (upgrade, ==, strcmp (transport, "websocket") == 0);
    }
    upgrades += upgrade;
  }
  if (upgrading)
    g_assert_cmpuint (upgrades, >=, 1);
  return n;
}

/* --- TLS ------------------------------------------------------------------ */

/* tools/setup.sh installs openssl: a TLS case without it fails rather
 * than pass untested */
static gboolean
need_pki (void)
{
  if (!have_pki)
    g_error ("the TLS cases need the openssl command");
  return have_pki;
}

/* server.js over https with DIR/@name.pem and .key; requiring a client
 * certificate from the test CA if asked. */
static SioTestServer *
start_tls_server (const gchar * name, gboolean require_client_cert)
{
  gchar *file = g_strdup_printf ("%s.pem", name);
  gchar *cert = sio_test_pki_path (&pki, file);
  gchar *key;
  const gchar *args[8] = { "--tls-cert", cert, "--tls-key", NULL };
  SioTestServer *server;

  g_free (file);
  file = g_strdup_printf ("%s.key", name);
  key = sio_test_pki_path (&pki, file);
  args[3] = key;
  if (require_client_cert) {
    args[4] = "--tls-ca";
    args[5] = pki.ca_file;
    args[6] = "--require-client-cert";
  }
  server = sio_test_server_start (SIO_TEST_SERVER_NODE, args);
  g_free (file);
  g_free (cert);
  g_free (key);
  return server;
}

/* wss:// for WebSocket, https:// for the polling ones (free it). */
static gchar *
tls_location (SioTestServer * server, const gchar * transport,
    const gchar * host)
{
  return g_strdup_printf ("%s://%s:%u", strcmp (transport, "websocket") == 0 ?
      "wss" : "https", host, sio_test_server_get_port (server));
}

/* Streams and checks delivery with the server's final stats (the control
 * API is over TLS there); stops the server. */
static void
deliver_and_check (Stream * stream, SioTestServer * server,
    const gchar * transport)
{
  JsonObject *stats;

  stream_play (stream);
  stream_push (stream, STREAM_BUFFERS);
  stream_finish (stream);
  g_assert_cmpint (gst_element_set_state (stream->base->pipeline,
          GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
  stats = sio_test_server_kill (server);
  assert_delivered (stats, stream);
  assert_requests_used (stats, transport);
  json_object_unref (stats);
}

/* What a TLS case gives the sink, or-ed. */
typedef enum
{
  TLS_CA_FILE = 1 << 0,         /* ssl-ca-file: the test CA */
  TLS_DATABASE = 1 << 1,        /* tls-database: the test CA */
  TLS_NOT_STRICT = 1 << 2,      /* ssl-strict=false */
  TLS_CLIENT_CERT = 1 << 3,     /* tls-interaction with the client certificate */
} TlsSetup;

typedef struct
{
  const gchar *name;
  guint loops;                  /* how many of transports[] it runs over */
  const gchar *cert;            /* the server's DIR/@cert.pem and .key */
  gboolean require_client_cert;
  const gchar *host;            /* in the location */
  TlsSetup setup;
  /* NULL: the stream goes through; else the refusal's message names one
   * of these ('|'-separated) */
  const gchar *words;
  guint flag;                   /* in the refusal's tls-errors; 0: not read */
} TlsCase;

static const TlsCase tls_cases[] = {
  {"tls-untrusted", 2, "server", FALSE, "127.0.0.1", 0, "ssl-ca-file",
      G_TLS_CERTIFICATE_UNKNOWN_CA},
  {"tls-ca-file", 2, "server", FALSE, "127.0.0.1", TLS_CA_FILE},
  /* by host name: the certificate also names localhost */
  {"tls-ca-file-localhost", 1, "server", FALSE, "localhost", TLS_CA_FILE},
  /* any certificate, with a warning that says so */
  {"tls-not-strict", 2, "server", FALSE, "127.0.0.1", TLS_NOT_STRICT},
  {"tls-wrong-host", 2, "other", FALSE, "127.0.0.1", TLS_CA_FILE,
      "host name|hostname", G_TLS_CERTIFICATE_BAD_IDENTITY},
  {"tls-expired", 2, "expired", FALSE, "127.0.0.1", TLS_CA_FILE, "expired",
      G_TLS_CERTIFICATE_EXPIRED},
  /* a server that requires a client certificate, given through
   * tls-interaction, with the CA in ssl-ca-file or in tls-database */
  {"tls-client-certificate", 2, "server", TRUE, "127.0.0.1",
      TLS_CLIENT_CERT | TLS_CA_FILE},
  {"tls-client-certificate", 2, "server", TRUE, "127.0.0.1",
      TLS_CLIENT_CERT | TLS_DATABASE},
  {"tls-client-certificate-missing", 2, "server", TRUE, "127.0.0.1",
      TLS_CA_FILE, "tls-interaction"},
};

/* socketiosink over TLS to server.js with @c's certificate: delivery and
 * the server's stats when @c expects it to go through, else the refusal
 * that @c describes. */
static void
tls_test (const gchar * transport, const TlsCase * c)
{
  GTlsInteraction *interaction = NULL;
  GTlsDatabase *database = NULL;
  GError *error = NULL;
  SioTestServer *server;
  Stream *stream;
  gchar *location;

  if (!need_pki ())
    return;
  server = start_tls_server (c->cert, c->require_client_cert);
  location = tls_location (server, transport, c->host);
  stream = stream_new (location, transport);
  if (c->setup & TLS_CLIENT_CERT) {
    interaction = sio_test_interaction_new (pki.client_certificate);
    g_object_set (stream->base->sink, "tls-interaction", interaction, NULL);
  }
  if (c->setup & TLS_DATABASE) {
    database = g_tls_file_database_new (pki.ca_file, &error);
    g_assert_no_error (error);
    g_object_set (stream->base->sink, "tls-database", database, NULL);
  }
  if (c->setup & TLS_CA_FILE)
    g_object_set (stream->base->sink, "ssl-ca-file", pki.ca_file, NULL);
  if (c->setup & TLS_NOT_STRICT)
    g_object_set (stream->base->sink, "ssl-strict", FALSE, NULL);

  if (c->words == NULL) {
    deliver_and_check (stream, server, transport);
    if (c->setup & TLS_NOT_STRICT)
      g_assert_nonnull (strstr (stream->bus_text->str, "ssl-strict is false"));
    if (interaction)
      g_assert_cmpuint (sio_test_interaction_get_requests (interaction), >=, 1);
  } else {
    Refusal *refusal;

    stream_play (stream);
    refusal = stream_wait_refusal (stream, 10 * GST_SECOND);
    assert_message_names (refusal, c->words);
    if (c->flag)
      g_assert_cmphex (refusal_tls_errors (refusal) & c->flag, ==, c->flag);
    refusal_free (refusal);
  }
  stream_free (stream);
  g_clear_object (&interaction);
  g_clear_object (&database);
  sio_test_server_stop (server);
  g_free (location);
}

/* loop index: 2 × case + transport */
GST_START_TEST (test_tls)
{
  tls_test (transports[__i__ % 2], &tls_cases[__i__ / 2]);
}

GST_END_TEST;

/* --- headers and cookies -------------------------------------------------- */

static const gchar *
header (JsonObject * request, const gchar * name)
{
  JsonObject *headers = json_object_get_object_member (request, "headers");

  if (!json_object_has_member (headers, name))
    return NULL;
  return json_object_get_string_member (headers, name);
}

/* A Cookie header holds name=value among its pairs. */
static gboolean
cookie_has (const gchar * cookie, const gchar * pair)
{
  gchar **pairs;
  gboolean found = FALSE;
  gchar **p;

  if (cookie == NULL)
    return FALSE;
  pairs = g_strsplit (cookie, ";", -1);
  for (p = pairs; *p && !found; p++)
    found = strcmp (g_strstrip (*p), pair) == 0;
  g_strfreev (pairs);
  return found;
}

GST_START_TEST (test_headers)
{
  const gchar *transport = transports[__i__];
  const gchar *cookies[] = { "session=abc123", "theme=dark", NULL };
  GstStructure *headers;
  SioTestServer *server;
  JsonObject *stats;
  JsonArray *requests;
  Stream *stream;
  guint i, n, posts = 0, gets = 0;

  server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  secret_watch_begin ();
  stream = stream_new (sio_test_server_get_url (server), transport);
  headers = gst_structure_new ("extra-headers",
      "Authorization", G_TYPE_STRING, "Bearer " SECRET,
      "X-Test", G_TYPE_STRING, "reach", NULL);
  g_object_set (stream->base->sink, "extra-headers", headers, "user-agent",
      "reach-test/1.0", "cookies", cookies, NULL);
  gst_structure_free (headers);
  stream_play (stream);
  stream_push (stream, STREAM_BUFFERS);
  stream_finish (stream);

  stats = sio_test_server_stats (server);
  assert_delivered (stats, stream);
  n = assert_requests_used (stats, transport);
  requests = json_object_get_array_member (stats, "requests");
  for (i = 0; i < n; i++) {
    JsonObject *r = json_array_get_object_element (requests, i);
    const gchar *method = json_object_get_string_member (r, "method");

    GST_INFO ("request %u: %s %s", i, method,
        json_object_get_boolean_member (r, "sid") ? "with sid" : "handshake");
    g_assert_cmpstr (header (r, "authorization"), ==, "Bearer " SECRET);
    g_assert_cmpstr (header (r, "x-test"), ==, "reach");
    g_assert_cmpstr (header (r, "user-agent"), ==, "reach-test/1.0");
    g_assert_true (cookie_has (header (r, "cookie"), "session=abc123"));
    g_assert_true (cookie_has (header (r, "cookie"), "theme=dark"));
    posts += strcmp (method, "POST") == 0;
    gets += strcmp (method, "GET") == 0;
  }
  if (strcmp (transport, "websocket") != 0) {
    /* the handshake, the join, the events and the leave */
    g_assert_cmpuint (gets, >=, 2);
    g_assert_cmpuint (posts, >=, 1);
  } else {
    g_assert_cmpuint (n, ==, 1);
  }
  json_object_unref (stats);
  assert_no_secret (stream);
  stream_free (stream);
  secret_watch_end ();
  sio_test_server_stop (server);
}

GST_END_TEST;

/* The affinity cookie the balancer set on its first response comes back
 * on every later request, after a forced reconnection too. */
GST_START_TEST (test_affinity_cookie)
{
  const gchar *transport = transports[__i__];
  SioTestServer *server, *balancer;
  JsonObject *stats, *reply;
  gchar *port;
  Stream *stream;
  const gchar *args[] = { "--backend-port", NULL, NULL };

  server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
  port = g_strdup_printf ("%u", sio_test_server_get_port (server));
  args[1] = port;
  balancer = sio_test_server_start (SIO_TEST_SERVER_AFFINITY, args);
  stream = stream_new (sio_test_server_get_url (balancer), transport);
  stream_play (stream);
  stream_push (stream, STREAM_BUFFERS);
  stream_wait_element (stream, "socketio-connected", 10 * GST_SECOND);
  sio_test_server_wait_events (server, STREAM_BUFFERS);

  reply = sio_test_server_control (balancer, "cut");
  g_assert_cmpint (stat_int (reply, "cut"), >=, 1);
  json_object_unref (reply);
  stream_wait_element (stream, "socketio-reconnected", 10 * GST_SECOND);
  stream_push (stream, STREAM_BUFFERS);
  stream_finish (stream);

  stats = sio_test_server_stats (balancer);
  GST_INFO ("balancer: %" G_GINT64_FORMAT " requests, %" G_GINT64_FORMAT
      " with the cookie", stat_int (stats, "requests"),
      stat_int (stats, "withCookie"));
  g_assert_cmpint (stat_int (stats, "beforeCookie"), ==, 1);
  g_assert_cmpint (stat_int (stats, "withoutCookie"), ==, 0);
  g_assert_cmpint (stat_int (stats, "wrongCookie"), ==, 0);
  g_assert_cmpint (stat_int (stats, "withCookie"), ==,
      stat_int (stats, "requests") - 1);
  /* the first connection and at least one more */
  g_assert_cmpint (stat_int (stats, "handshakes"), >=, 2);
  if (strcmp (transport, "websocket") == 0)
    g_assert_cmpint (stat_int (stats, "upgrades"), ==,
        stat_int (stats, "requests"));
  else if (strcmp (transport, "polling") == 0)
    g_assert_cmpint (stat_int (stats, "upgrades"), ==, 0);
  else                          /* one upgrade per connection */
    g_assert_cmpint (stat_int (stats, "upgrades"), >=, 2);
  json_object_unref (stats);

  /* everything after the reconnection arrived */
  stats = sio_test_server_stats (server);
  g_assert_cmpint (stat_int (stats, "events"), >=, 2 * STREAM_BUFFERS);
  g_assert_cmpint (stat_int (stats, "connections"), >=, 2);
  json_object_unref (stats);

  stream_free (stream);
  sio_test_server_stop (balancer);
  sio_test_server_stop (server);
  g_free (port);
}

GST_END_TEST;

/* --- proxies -------------------------------------------------------------- */

#define PROXY_USER "reach-user"
#define PROXY_AUTH PROXY_USER ":" SECRET

typedef enum
{
  PROXY_PLAIN,                  /* http:// or ws:// */
  PROXY_TLS,                    /* https:// or wss:// */
} ProxyTarget;

/* The server's polling requests and WebSocket upgrades. */
static void
count_requests (JsonObject * stats, guint * polls, guint * upgrades)
{
  JsonArray *requests = json_object_get_array_member (stats, "requests");
  guint i;

  for (i = 0; i < json_array_get_length (requests); i++) {
    JsonObject *r = json_array_get_object_element (requests, i);

    if (json_object_get_boolean_member (r, "upgrade"))
      (*upgrades)++;
    else
      (*polls)++;
  }
}

/* proxy.js's counts, for failure messages (leaks: the test ends) */
static gchar *
proxy_stats_text (SioTestServer * proxy)
{
  JsonObject *stats = sio_test_server_stats (proxy);
  JsonNode *node = json_node_init_object (json_node_alloc (), stats);
  gchar *text = json_to_string (node, FALSE);

  json_node_unref (node);
  json_object_unref (stats);
  return text;
}

typedef struct
{
  const gchar *name;
  ProxyTarget target;
  gboolean auth;                /* proxy.js --auth */
  gboolean credentials;         /* proxy-id and proxy-pw, or in the URI */
  gboolean wrong_password;
  /* no proxy property: http_proxy and https_proxy (credentials in the
   * URI), set in this forked case only */
  gboolean environment;
} ProxyCase;

static const ProxyCase proxy_cases[] = {
  {"proxy-plain", PROXY_PLAIN, FALSE, FALSE, FALSE},
  {"proxy-connect-tls", PROXY_TLS, FALSE, FALSE, FALSE},
  {"proxy-credentials", PROXY_PLAIN, TRUE, TRUE, FALSE},
  {"proxy-credentials-tls", PROXY_TLS, TRUE, TRUE, FALSE},
  {"proxy-no-credentials", PROXY_PLAIN, TRUE, FALSE, FALSE},
  {"proxy-wrong-password", PROXY_PLAIN, TRUE, TRUE, TRUE},
  {"proxy-environment", PROXY_PLAIN, FALSE, FALSE, FALSE, TRUE},
  {"proxy-environment-credentials", PROXY_PLAIN, TRUE, TRUE, FALSE, TRUE},
  {"proxy-environment-tls", PROXY_TLS, FALSE, FALSE, FALSE, TRUE},
};

/* socketiosink through proxy.js (with --auth when @auth) to server.js;
 * @credentials: proxy-id and proxy-pw given (the right ones, or a wrong
 * password). Checks delivery (when accepted) and proxy.js's counts. */
static void
proxy_test (const gchar * transport, const ProxyCase * c)
{
  ProxyTarget target = c->target;
  gboolean auth = c->auth, credentials = c->credentials;
  gboolean wrong_password = c->wrong_password;
  const gchar *proxy_args[] = { "--auth", PROXY_AUTH, NULL };
  gboolean accepted = !auth || (credentials && !wrong_password);
  gboolean polling = strcmp (transport, "websocket") != 0;
  SioTestServer *server, *proxy;
  JsonObject *stats, *pstats;
  gchar *location, *proxy_uri;
  Stream *stream;

  if (target == PROXY_TLS) {
    if (!need_pki ())
      return;
    server = start_tls_server ("server", FALSE);
    location = tls_location (server, transport, "127.0.0.1");
  } else {
    server = sio_test_server_start (SIO_TEST_SERVER_NODE, NULL);
    location = g_strdup_printf ("%s://127.0.0.1:%u", polling ? "http" : "ws",
        sio_test_server_get_port (server));
  }
  proxy = sio_test_server_start (SIO_TEST_SERVER_PROXY, auth ? proxy_args :
      NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u",
      sio_test_server_get_port (proxy));

  secret_watch_begin ();
  stream = stream_new (location, transport);
  if (c->environment) {
    gchar *env_uri = credentials ? g_strdup_printf ("http://%s:%s@127.0.0.1:%u",
        PROXY_USER, wrong_password ? "not-" SECRET : SECRET,
        sio_test_server_get_port (proxy)) : g_strdup (proxy_uri);

    g_setenv ("http_proxy", env_uri, TRUE);
    g_setenv ("https_proxy", env_uri, TRUE);
    g_free (env_uri);
  } else {
    g_object_set (stream->base->sink, "proxy", proxy_uri, NULL);
    if (credentials)
      g_object_set (stream->base->sink, "proxy-id", PROXY_USER, "proxy-pw",
          wrong_password ? "not-" SECRET : SECRET, NULL);
  }
  if (target == PROXY_TLS)
    g_object_set (stream->base->sink, "ssl-ca-file", pki.ca_file, NULL);

  stream_play (stream);
  if (accepted) {
    gchar *problem;

    stream_push (stream, STREAM_BUFFERS);
    problem = stream_try_finish (stream);
    if (problem)
      g_error ("streaming: %s; proxy.js saw %s", problem,
          proxy_stats_text (proxy));
    g_assert_cmpint (gst_element_set_state (stream->base->pipeline,
            GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
  } else {
    Refusal *refusal = stream_wait_refusal (stream, 10 * GST_SECOND);

    if (!message_names (refusal, "proxy-id|proxy-pw"))
      g_error ("the error \"%s\" names neither proxy-id nor proxy-pw; "
          "proxy.js saw %s", refusal->error->message, proxy_stats_text (proxy));
    if (strstr (refusal->text, SECRET))
      g_error ("the proxy password is in the error: %s", refusal->text);
    refusal_free (refusal);
  }
  assert_no_secret (stream);

  pstats = sio_test_server_stats (proxy);
  GST_INFO ("proxy: %" G_GINT64_FORMAT " requests, %" G_GINT64_FORMAT
      " upgrades, %" G_GINT64_FORMAT " CONNECTs, %" G_GINT64_FORMAT
      " refused", stat_int (pstats, "requests"), stat_int (pstats,
          "upgrades"), stat_int (pstats, "connects"), stat_int (pstats,
          "refusedAuths"));
  g_assert_cmpint (stat_int (pstats, "refusedTargets"), ==, 0);
  /* nothing sent to the proxy as if it were the server */
  g_assert_cmpint (stat_int (pstats, "originForm"), ==, 0);
  if (accepted) {
    stats = target == PROXY_TLS ? sio_test_server_kill (server) :
        sio_test_server_stats (server);
    assert_delivered (stats, stream);
    assert_requests_used (stats, transport);
    if (target == PROXY_TLS) {
      /* all of it inside CONNECT tunnels */
      g_assert_cmpint (stat_int (pstats, "connects"), >=, 1);
      g_assert_cmpint (stat_int (pstats, "requests"), ==, 0);
    } else {
      guint polls = 0, upgrades = 0;

      count_requests (stats, &polls, &upgrades);
      /* each polling request went through the proxy as an absolute URI,
       * the WebSocket ones as absolute-URI upgrades or CONNECT tunnels */
      g_assert_cmpint (stat_int (pstats, "requests"), ==, polls);
      if (upgrades > 0)
        g_assert_cmpint (stat_int (pstats, "upgrades") + stat_int (pstats,
                "connects"), >=, 1);
      else
        g_assert_cmpint (stat_int (pstats, "upgrades") + stat_int (pstats,
                "connects"), ==, 0);
    }
    json_object_unref (stats);
  } else {
    g_assert_cmpint (stat_int (pstats, "refusedAuths"), >=, 1);
    g_assert_cmpint (stat_int (pstats, "requests") + stat_int (pstats,
            "upgrades") + stat_int (pstats, "connects"), ==, 0);
    if (wrong_password)
      g_assert_cmpint (stat_int (pstats, "badAuths"), >=, 1);
    stats = target == PROXY_TLS ? sio_test_server_kill (server) :
        sio_test_server_stats (server);
    g_assert_cmpint (stat_int (stats, "connections"), ==, 0);
    json_object_unref (stats);
  }
  json_object_unref (pstats);

  stream_free (stream);
  secret_watch_end ();
  g_unsetenv ("http_proxy");
  g_unsetenv ("https_proxy");
  sio_test_server_stop (proxy);
  sio_test_server_stop (server);
  g_free (proxy_uri);
  g_free (location);
}

/* loop index: 2 × case + transport */
GST_START_TEST (test_proxy)
{
  const ProxyCase *c = &proxy_cases[__i__ / 2];

  /* without a fork per case the variables would outlive it (GIO's
   * resolver may keep what it read) */
  if (c->environment && g_strcmp0 (g_getenv ("CK_FORK"), "no") == 0) {
    g_printerr ("CK_FORK=no: %s skipped\n", c->name);
    return;
  }
  proxy_test (transports[__i__ % 2], c);
}

GST_END_TEST;

/* polling, then the upgrade, through the proxy: plain and over TLS */
GST_START_TEST (test_proxy_upgrade)
{
  proxy_test ("polling-upgrade", &proxy_cases[__i__]);
}

GST_END_TEST;

/* --- a sink started before its server ------------------------------------- */

/* A port nobody listens on (it was free a moment ago). */
static guint
free_port (void)
{
  GInetAddress *loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *address = g_inet_socket_address_new (loopback, 0);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
      G_SOCKET_PROTOCOL_TCP, NULL);
  GSocketAddress *bound;
  GError *error = NULL;
  guint port;

  g_assert_nonnull (socket);
  g_assert_true (g_socket_bind (socket, address, FALSE, &error));
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (socket);
  g_object_unref (address);
  g_object_unref (loopback);
  return port;
}

GST_START_TEST (test_retry_first_connection)
{
  const gchar *transport = transports[__i__];
  guint port = free_port ();
  SioTestServer *server;
  JsonObject *stats;
  gchar *location = g_strdup_printf ("http://127.0.0.1:%u", port);
  Stream *stream = stream_new (location, transport);

  g_object_set (stream->base->sink, "retry-first-connection", TRUE, NULL);
  stream_play (stream);
  stream_push (stream, STREAM_BUFFERS);
  /* the sink tries and fails meanwhile; no error may come of it */
  g_assert_null (stream_wait (stream, GST_MESSAGE_ERROR, 1500 * GST_MSECOND));
  server = sio_test_server_start_on_port (SIO_TEST_SERVER_NODE, port, NULL);
  stream_finish (stream);

  stats = sio_test_server_stats (server);
  assert_delivered (stats, stream);
  assert_requests_used (stats, transport);
  g_assert_cmpint (stat_int (stats, "connections"), ==, 1);
  json_object_unref (stats);
  stream_free (stream);
  sio_test_server_stop (server);
  g_free (location);
}

GST_END_TEST;

/* The default: a server that is not up fails the first connection at
 * once, with the message for a server that is down (not the timeout's). */
GST_START_TEST (test_first_connection_fails_fast)
{
  const gchar *transport = transports[__i__];
  guint port = free_port ();
  gchar *location = g_strdup_printf ("http://127.0.0.1:%u", port);
  Stream *stream = stream_new (location, transport);
  Refusal *refusal;

  /* far longer than the wait below: the error must not be the timeout */
  g_object_set (stream->base->sink, "connect-timeout", 30 * GST_SECOND, NULL);
  stream_play (stream);
  refusal = stream_wait_refusal (stream, 5 * GST_SECOND);
  assert_message_names (refusal, "running|down|not reachable|refused");
  g_assert_null (strstr (refusal->text, "connect-timeout"));
  refusal_free (refusal);
  stream_free (stream);
  g_free (location);
}

GST_END_TEST;

/* --- the suite ------------------------------------------------------------ */

static void
add_range (Suite * s, const gchar * name, TFun test, gint start, gint end)
{
  TCase *tc = tcase_create (name);

  tcase_set_timeout (tc, 60);
  tcase_add_loop_test (tc, test, start, end);
  suite_add_tcase (s, tc);
}

static void
add_loop (Suite * s, const gchar * name, TFun test, gint loops)
{
  add_range (s, name, test, 0, loops);
}

static Suite *
reach_suite (void)
{
  Suite *s = suite_create ("socketiosink-reach");
  guint i;

  for (i = 0; i < G_N_ELEMENTS (tls_cases); i++)
    add_range (s, tls_cases[i].name, test_tls, 2 * i,
        2 * i + tls_cases[i].loops);
  add_loop (s, "headers", test_headers, 3);
  add_loop (s, "affinity-cookie", test_affinity_cookie, 3);
  for (i = 0; i < G_N_ELEMENTS (proxy_cases); i++)
    add_range (s, proxy_cases[i].name, test_proxy, 2 * i, 2 * i + 2);
  add_loop (s, "proxy-polling-upgrade", test_proxy_upgrade, 2);
  add_loop (s, "retry-first-connection", test_retry_first_connection, 2);
  add_loop (s, "first-connection-fails-fast",
      test_first_connection_fails_fast, 2);
  return s;
}

/* Proxy settings of the environment would send the cases without
 * `proxy` through some proxy: each case sets what it wants. */
static void
clear_proxy_environment (void)
{
  static const gchar *const names[] = { "http_proxy", "https_proxy",
    "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
    "NO_PROXY"
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (names); i++)
    g_unsetenv (names[i]);
}

int
main (int argc, char **argv)
{
  int failed;

  clear_proxy_environment ();
  gst_check_init (&argc, &argv);
  have_pki = sio_test_pki_make (&pki);
  if (have_pki) {
    g_object_unref (sio_test_pki_add (&pki, "other", "/CN=other.example",
            "subjectAltName=DNS:other.example\n", FALSE));
    g_object_unref (sio_test_pki_add (&pki, "expired", "/CN=127.0.0.1",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n", TRUE));
  }
  failed = gst_check_run_suite (reach_suite (), "reach", __FILE__);
  sio_test_pki_clear (&pki);
  return failed;
}
