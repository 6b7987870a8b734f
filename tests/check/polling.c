/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* sio-polling unit tests. Threads: everything runs in this one thread's
 * default main context, the SioPolling under test and the SoupServers
 * that play the Engine.IO server (scripted per test: each request is
 * recorded, then answered at once, held open as a long poll until the
 * test answers it, or never answered), a proxy and a TLS endpoint. */

#include <string.h>

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "sio-polling.h"
#include "test-pki.h"
#include "test-wait.h"

#define WAIT_MS 10000
#define SID "AbC-_+/=1"
#define OPEN_PACKET "0{\"sid\":\"" SID "\",\"upgrades\":[],"            \
  "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}"

/* ---- the scripted server --------------------------------------------- */

typedef enum
{
  REPLY_NOW,                    /* @status and @body */
  REPLY_HOLD,                   /* paused; server_release() answers it */
  REPLY_PARTIAL,                /* @announced as Content-Length, @body only */
  REPLY_CHUNKED,                /* @body @chunks times, then @tail */
} ReplyKind;

typedef struct
{
  ReplyKind kind;
  guint status;
  const gchar *body;            /* NULL: "" */
  gssize length;                /* -1: strlen */
  const gchar *header, *value;  /* one more response header, or NULL */
  const gchar *header2, *value2;
  goffset announced;
  guint chunks;
  const gchar *tail;            /* REPLY_CHUNKED: one more chunk, or NULL */
} Reply;

typedef struct
{
  gchar *method;
  gchar *sid;                   /* NULL when absent */
  gchar *transport;
  gchar *eio;
  SoupMessageHeaders *headers;
  GBytes *body;
  guint remote_port;            /* tells the client's connections apart */
} Seen;

typedef struct
{
  SoupServer *server;
  guint port;
  gchar *url;                   /* the Engine.IO endpoint with EIO=4 */
  GPtrArray *seen;              /* Seen, every request in order */
  GQueue gets, posts;           /* const Reply *; then GET: hold, POST: ok */
  GPtrArray *held;              /* SoupServerMessage, paused */
} Server;

static const Reply reply_hold = { REPLY_HOLD };
static const Reply reply_ok = { REPLY_NOW, 200, "ok", -1 };
static const Reply reply_open = { REPLY_NOW, 200, OPEN_PACKET, -1 };

static void
seen_free (Seen * seen)
{
  g_free (seen->method);
  g_free (seen->sid);
  g_free (seen->transport);
  g_free (seen->eio);
  soup_message_headers_unref (seen->headers);
  g_bytes_unref (seen->body);
  g_free (seen);
}

static const gchar *
query_get (GHashTable * query, const gchar * name)
{
  return query ? g_hash_table_lookup (query, name) : NULL;
}

static void
set_body (SoupServerMessage * msg, guint status, const gchar * body,
    gssize length)
{
  soup_server_message_set_status (msg, status, NULL);
  body = body ? body : "";
  soup_server_message_set_response (msg, "text/plain; charset=UTF-8",
      SOUP_MEMORY_COPY, body, length < 0 ? strlen (body) : (gsize) length);
}

static void
on_request (SoupServer * soup, SoupServerMessage * msg, const char *path,
    GHashTable * query, gpointer user_data)
{
  Server *server = user_data;
  Seen *seen = g_new0 (Seen, 1);
  SoupMessageBody *request_body = soup_server_message_get_request_body (msg);
  SoupMessageHeaders *response_headers =
      soup_server_message_get_response_headers (msg);
  gboolean is_get = strcmp (soup_server_message_get_method (msg), "GET") == 0;
  const Reply *reply;
  guint i;

  seen->method = g_strdup (soup_server_message_get_method (msg));
  seen->sid = g_strdup (query_get (query, "sid"));
  seen->transport = g_strdup (query_get (query, "transport"));
  seen->eio = g_strdup (query_get (query, "EIO"));
  seen->headers = soup_message_headers_ref
      (soup_server_message_get_request_headers (msg));
  seen->body = soup_message_body_flatten (request_body);
  seen->remote_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS
      (soup_server_message_get_remote_address (msg)));
  g_ptr_array_add (server->seen, seen);

  reply = g_queue_pop_head (is_get ? &server->gets : &server->posts);
  if (reply == NULL)
    reply = is_get ? &reply_hold : &reply_ok;
  if (reply->header)
    soup_message_headers_append (response_headers, reply->header, reply->value);
  if (reply->header2)
    soup_message_headers_append (response_headers, reply->header2,
        reply->value2);
  switch (reply->kind) {
    case REPLY_NOW:
      set_body (msg, reply->status, reply->body, reply->length);
      break;
    case REPLY_HOLD:
      g_ptr_array_add (server->held, g_object_ref (msg));
      soup_server_message_pause (msg);
      break;
    case REPLY_PARTIAL:
      /* the server writes what it has and waits for the rest */
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_content_length (response_headers,
          reply->announced);
      soup_message_body_append (soup_server_message_get_response_body (msg),
          SOUP_MEMORY_COPY, reply->body, strlen (reply->body));
      break;
    case REPLY_CHUNKED:
      soup_server_message_set_status (msg, 200, NULL);
      soup_message_headers_set_encoding (response_headers,
          SOUP_ENCODING_CHUNKED);
      for (i = 0; i < reply->chunks; i++)
        soup_message_body_append (soup_server_message_get_response_body
            (msg), SOUP_MEMORY_COPY, reply->body, reply->length);
      if (reply->tail)
        soup_message_body_append (soup_server_message_get_response_body
            (msg), SOUP_MEMORY_COPY, reply->tail, strlen (reply->tail));
      soup_message_body_complete (soup_server_message_get_response_body (msg));
      break;
  }
}

static void
server_start (Server * server, GTlsCertificate * certificate)
{
  GError *error = NULL;
  GSList *uris;

  memset (server, 0, sizeof (*server));
  server->seen = g_ptr_array_new_with_free_func ((GDestroyNotify) seen_free);
  server->held = g_ptr_array_new_with_free_func (g_object_unref);
  g_queue_init (&server->gets);
  g_queue_init (&server->posts);
  server->server = soup_server_new ("tls-certificate", certificate, NULL);
  soup_server_add_handler (server->server, NULL, on_request, server, NULL);
  soup_server_listen_local (server->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY |
      (certificate ? SOUP_SERVER_LISTEN_HTTPS : 0), &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (server->server);
  server->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  server->url = g_strdup_printf ("%s://127.0.0.1:%u/engine.io/?EIO=4",
      certificate ? "https" : "http", server->port);
}

/* Answers the oldest held request of @method. */
static void
server_release (Server * server, const gchar * method, guint status,
    const gchar * body)
{
  guint i;

  for (i = 0; i < server->held->len; i++) {
    SoupServerMessage *msg = server->held->pdata[i];

    if (strcmp (soup_server_message_get_method (msg), method) == 0) {
      set_body (msg, status, body, -1);
      soup_server_message_unpause (msg);
      g_ptr_array_remove_index (server->held, i);
      return;
    }
  }
  g_assert_not_reached ();
}

static void
server_stop (Server * server)
{
  soup_server_disconnect (server->server);
  g_ptr_array_unref (server->held);
  g_object_unref (server->server);
  WAIT_UNTIL (FALSE, 20);
  g_ptr_array_unref (server->seen);
  g_queue_clear (&server->gets);
  g_queue_clear (&server->posts);
  g_free (server->url);
}

static Seen *
server_seen (Server * server, guint index)
{
  g_assert_cmpuint (server->seen->len, >, index);
  return server->seen->pdata[index];
}

static void
wait_requests (Server * server, guint count)
{
  WAIT_UNTIL (server->seen->len >= count, WAIT_MS);
  g_assert_cmpuint (server->seen->len, ==, count);
}

static const gchar *
seen_header (Seen * seen, const gchar * name)
{
  return soup_message_headers_get_one (seen->headers, name);
}

static void
assert_body (Seen * seen, const gchar * body, gsize length)
{
  gsize size;
  const gchar *data = g_bytes_get_data (seen->body, &size);

  g_assert_cmpmem (data, size, body, length);
}

/* ---- the SioPolling under test --------------------------------------- */

typedef struct
{
  SioPolling *polling;
  GPtrArray *packets;           /* GBytes */
  GArray *binary;               /* gboolean per packet */
  guint paused;
  gboolean closed;
  GError *error;
  gint64 closed_at;
  gboolean start_on_open;       /* sio_polling_start() on the open packet */
  gsize start_max_payload;
  guint start_max_packets;
  gboolean free_in_packet;
  gboolean freed;               /* no callback may come after */
} Client;

static void
on_packet (SioPolling * polling, gboolean binary, const guint8 * data,
    gsize length, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->freed);
  g_assert_false (client->closed);
  g_ptr_array_add (client->packets, g_bytes_new (data, length));
  g_array_append_val (client->binary, binary);
  if (client->start_on_open && !binary && length > 0 && data[0] == '0') {
    client->start_on_open = FALSE;
    sio_polling_start (polling, SID, client->start_max_payload,
        client->start_max_packets);
  }
  if (client->free_in_packet) {
    sio_polling_free (polling);
    client->polling = NULL;
    client->freed = TRUE;
  }
}

static void
on_paused (SioPolling * polling, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->freed);
  g_assert_false (client->closed);
  client->paused++;
}

static void
on_closed (SioPolling * polling, const GError * error, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->freed);
  g_assert_false (client->closed);
  client->closed = TRUE;
  client->closed_at = g_get_monotonic_time ();
  client->error = error ? g_error_copy (error) : NULL;
}

static const SioPollingCallbacks callbacks = { on_packet, on_paused,
  on_closed
};

static void
client_open (Client * client, const SioPollingConfig * config)
{
  client->packets = g_ptr_array_new_with_free_func
      ((GDestroyNotify) g_bytes_unref);
  client->binary = g_array_new (FALSE, FALSE, sizeof (gboolean));
  client->polling = sio_polling_open (config, &callbacks, client);
  g_assert_nonnull (client->polling);
}

/* Frees the SioPolling and lets its cancelled requests finish. */
static void
client_clear (Client * client)
{
  sio_polling_free (client->polling);
  client->polling = NULL;
  client->freed = TRUE;
  WAIT_UNTIL (FALSE, 30);
  g_clear_error (&client->error);
  g_ptr_array_unref (client->packets);
  g_array_unref (client->binary);
}

/* The handshake GET answered with @reply. */
static void
client_open_on (Server * server, Client * client, SioPollingConfig * config,
    const Reply * reply)
{
  g_queue_push_tail (&server->gets, (gpointer) reply);
  config->url = server->url;
  client_open (client, config);
}

/* Each test: a server (plain, or TLS if the test's data asks) and a
 * client opened on it by the test. */
typedef struct
{
  Server server;
  Client client;
  SioPollingConfig config;
} Fixture;

static SioTestPki pki;
static gboolean pki_made;

static void
fixture_setup (Fixture * f, gconstpointer data)
{
  memset (f, 0, sizeof (*f));
  server_start (&f->server, NULL);
}

static void
fixture_setup_tls (Fixture * f, gconstpointer data)
{
  memset (f, 0, sizeof (*f));
  if (!pki_made)
    pki_made = sio_test_pki_make (&pki);
  server_start (&f->server, pki_made ? pki.certificate : NULL);
}

static void
fixture_teardown (Fixture * f, gconstpointer data)
{
  if (f->client.packets)
    client_clear (&f->client);
  server_stop (&f->server);
}

static void
assert_packet (Client * client, guint index, gboolean binary,
    const void *data, gsize length)
{
  gsize size;
  const guint8 *got;

  g_assert_cmpuint (client->packets->len, >, index);
  got = g_bytes_get_data (client->packets->pdata[index], &size);
  g_assert_cmpint (g_array_index (client->binary, gboolean, index), ==, binary);
  g_assert_cmpmem (got, size, data, length);
}

static void
wait_closed_with (Client * client, SioPollingError code)
{
  WAIT_UNTIL (client->closed, WAIT_MS);
  g_assert_true (client->closed);
  g_assert_nonnull (client->error);
  g_test_message ("closed: %s", client->error->message);
  g_assert_error (client->error, SIO_POLLING_ERROR, (gint) code);
}

/* A session on @server: the handshake answered with the open packet, the
 * client starting the long poll, which the server holds. POST bodies are
 * bounded by @max_payload bytes and @max_packets packets. */
static void
open_session_bounded (Server * server, Client * client,
    SioPollingConfig * config, gsize max_payload, guint max_packets)
{
  Seen *poll;

  client_open_on (server, client, config, &reply_open);
  client->start_on_open = TRUE;
  client->start_max_payload = max_payload;
  client->start_max_packets = max_packets;
  wait_requests (server, 2);
  assert_packet (client, 0, FALSE, OPEN_PACKET, strlen (OPEN_PACKET));
  poll = server_seen (server, 1);
  g_assert_cmpstr (poll->method, ==, "GET");
  g_assert_cmpstr (poll->sid, ==, SID);
  g_assert_cmpstr (poll->transport, ==, "polling");
  g_assert_cmpstr (poll->eio, ==, "4");
  /* the handshake's connection, its body read to the end */
  g_assert_cmpuint (poll->remote_port, ==,
      server_seen (server, 0)->remote_port);
}

/* ... as python-engineio bounds them, in packets */
static void
open_session (Server * server, Client * client, SioPollingConfig * config,
    gsize max_payload)
{
  open_session_bounded (server, client, config, max_payload,
      SIO_POLLING_LEGACY_MAX_PACKETS);
}

/* Uncorks and waits until every queued packet is answered. */
static void
uncork_and_drain (Client * client)
{
  sio_polling_set_corked (client->polling, FALSE);
  WAIT_UNTIL (sio_polling_get_pending (client->polling) == 0, WAIT_MS);
  g_assert_cmpuint (sio_polling_get_pending (client->polling), ==, 0);
}

/* A POST's packets (free them with g_strfreev()); its body's size in
 * @size. */
static gchar **
post_packets (Seen * post, gsize * size)
{
  const gchar *bytes = g_bytes_get_data (post->body, size);
  gchar *body = g_strndup (bytes, *size);
  gchar **pieces = g_strsplit (body, "\x1e", -1);

  g_assert_cmpstr (post->method, ==, "POST");
  g_free (body);
  return pieces;
}

static void
send_text (Client * client, const gchar * text)
{
  sio_polling_send (client->polling, FALSE, (const guint8 *) text,
      strlen (text));
}

/* ---- tests: handshake and POST bodies -------------------------------- */

static void
test_handshake (Fixture * f, gconstpointer data)
{
  static const gchar *const headers[] = { "Authorization", "Bearer t0ken",
    "X-Sio-Test", "yes", NULL
  };
  static const gchar *const cookies[] = { "a=1", "lb=node2", NULL };
  static const gchar body[] = OPEN_PACKET "\x1e" "4hello\x1e" "bAQID";
  static const Reply reply = { REPLY_NOW, 200, body, -1 };
  Seen *seen;

  f->config.extra_headers = headers;
  f->config.user_agent = "sio-test/1";
  f->config.cookies = cookies;
  client_open_on (&f->server, &f->client, &f->config, &reply);
  WAIT_UNTIL (f->client.packets->len == 3 || f->client.closed, WAIT_MS);

  seen = server_seen (&f->server, 0);
  g_assert_cmpstr (seen->method, ==, "GET");
  g_assert_cmpstr (seen->transport, ==, "polling");
  g_assert_cmpstr (seen->eio, ==, "4");
  g_assert_null (seen->sid);
  g_assert_cmpstr (seen_header (seen, "Authorization"), ==, "Bearer t0ken");
  g_assert_cmpstr (seen_header (seen, "X-Sio-Test"), ==, "yes");
  g_assert_cmpstr (seen_header (seen, "User-Agent"), ==, "sio-test/1");
  g_assert_cmpstr (seen_header (seen, "Cookie"), ==, "a=1; lb=node2");

  g_assert_cmpuint (f->client.packets->len, ==, 3);
  assert_packet (&f->client, 0, FALSE, OPEN_PACKET, strlen (OPEN_PACKET));
  assert_packet (&f->client, 1, FALSE, "4hello", 6);
  assert_packet (&f->client, 2, TRUE, "\x01\x02\x03", 3);
  g_assert_false (f->client.closed);
  /* no session id yet: nothing else is asked */
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->server.seen->len, ==, 1);
}

/* sio_polling_start() called after packet() returned, from the main
 * loop, starts the long poll too. */
static gboolean
start_from_idle (gpointer user_data)
{
  Client *client = user_data;

  sio_polling_start (client->polling, SID, 0, SIO_POLLING_LEGACY_MAX_PACKETS);
  return G_SOURCE_REMOVE;
}

static void
test_start_later (Fixture * f, gconstpointer data)
{
  client_open_on (&f->server, &f->client, &f->config, &reply_open);
  WAIT_UNTIL (f->client.packets->len == 1, WAIT_MS);
  g_assert_cmpuint (f->client.packets->len, ==, 1);
  WAIT_UNTIL (FALSE, 30);
  g_idle_add (start_from_idle, &f->client);
  WAIT_UNTIL (f->server.seen->len == 2, WAIT_MS);
  g_assert_cmpuint (f->server.seen->len, ==, 2);
  g_assert_cmpstr (server_seen (&f->server, 1)->method, ==, "GET");
  g_assert_cmpstr (server_seen (&f->server, 1)->sid, ==, SID);
}

static void
test_corked_batch (Fixture * f, gconstpointer data)
{
  static const gchar expected[] = "4one\x1e" "bAQID\x1e" "4two\x1e" "b/w==";
  Seen *post;

  open_session (&f->server, &f->client, &f->config, 0);
  sio_polling_set_corked (f->client.polling, TRUE);
  send_text (&f->client, "4one");
  sio_polling_send (f->client.polling, TRUE, (const guint8 *) "\x01\x02\x03",
      3);
  send_text (&f->client, "4two");
  sio_polling_send (f->client.polling, TRUE, (const guint8 *) "\xff", 1);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->server.seen->len, ==, 2);
  sio_polling_set_corked (f->client.polling, FALSE);
  wait_requests (&f->server, 3);

  post = server_seen (&f->server, 2);
  g_assert_cmpstr (post->method, ==, "POST");
  g_assert_cmpstr (post->sid, ==, SID);
  g_assert_cmpstr (post->transport, ==, "polling");
  assert_body (post, expected, strlen (expected));
  g_assert_cmpuint (sio_polling_get_bytes_written (f->client.polling), ==,
      strlen (expected));
  WAIT_UNTIL (sio_polling_get_pending (f->client.polling) == 0, WAIT_MS);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 0);
  g_assert_false (f->client.closed);
}

#define BOUND 100

/* Corked packets leave in several POSTs, in order, each body within the
 * bound and made of whole packets; one packet over the bound goes alone. */
static void
test_max_payload (Fixture * f, gconstpointer data)
{
  GPtrArray *sent = g_ptr_array_new_with_free_func (g_free);
  GString *big = g_string_new ("4");
  guint i, next = 0, posts = 0;
  gboolean alone = FALSE;

  open_session (&f->server, &f->client, &f->config, BOUND);
  sio_polling_set_corked (f->client.polling, TRUE);
  for (i = 0; i < 12; i++) {
    gchar *text = g_strdup_printf ("4[\"event\",%u,\"%.*s\"]", i, (gint) i * 3,
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");

    if (i == 6) {
      while (big->len < BOUND * 3)
        g_string_append_c (big, 'x');
      g_ptr_array_add (sent, g_strdup (big->str));
      send_text (&f->client, big->str);
    }
    g_ptr_array_add (sent, text);
    send_text (&f->client, text);
  }
  /* binary: "b" and base64, 4 characters for 3 bytes */
  sio_polling_send (f->client.polling, TRUE,
      (const guint8 *) "\x01\x02\x03\x04", 4);
  g_ptr_array_add (sent, g_strdup ("bAQIDBA=="));
  uncork_and_drain (&f->client);

  /* the long poll is held: only POSTs come */
  for (i = 2; i < f->server.seen->len; i++) {
    gsize size;
    gchar **pieces = post_packets (server_seen (&f->server, i), &size);
    guint j;

    posts++;
    if (size > BOUND) {
      /* over the bound only alone */
      g_assert_cmpuint (g_strv_length (pieces), ==, 1);
      g_assert_cmpstr (pieces[0], ==, big->str);
      alone = TRUE;
    }
    for (j = 0; pieces[j]; j++) {
      g_assert_cmpuint (next, <, sent->len);
      g_assert_cmpstr (pieces[j], ==, sent->pdata[next]);
      next++;
    }
    g_strfreev (pieces);
  }
  g_assert_cmpuint (next, ==, sent->len);
  g_assert_true (alone);
  g_assert_cmpuint (posts, >=, 4);
  /* each body read to its end: the POSTs reuse one connection */
  for (i = 3; i < f->server.seen->len; i++)
    g_assert_cmpuint (server_seen (&f->server, i)->remote_port, ==,
        server_seen (&f->server, 2)->remote_port);
  g_test_message ("%u packets in %u POSTs", sent->len, posts);
  g_assert_false (f->client.closed);

  g_ptr_array_unref (sent);
  g_string_free (big, TRUE);
}

/* Pending counts the queued and the in-flight bytes, 0 once answered. */
static void
test_pending (Fixture * f, gconstpointer data)
{
  open_session (&f->server, &f->client, &f->config, 0);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 0);
  send_text (&f->client, "4abc");
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 4);
  wait_requests (&f->server, 3);
  send_text (&f->client, "4defgh");
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 4 + 6);
  sio_polling_send (f->client.polling, TRUE, (const guint8 *) "\x01\x02\x03",
      3);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), >=, 4 + 6 + 5);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), <=, 4 + 7 + 5);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->server.seen->len, ==, 3);

  server_release (&f->server, "POST", 200, "ok");
  wait_requests (&f->server, 4);
  assert_body (server_seen (&f->server, 3), "4defgh\x1e" "bAQID", 12);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 12);
  server_release (&f->server, "POST", 200, "ok");
  WAIT_UNTIL (sio_polling_get_pending (f->client.polling) == 0, WAIT_MS);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 0);
  g_assert_cmpuint (sio_polling_get_bytes_written (f->client.polling), ==,
      4 + 12);
  g_assert_false (f->client.closed);
}

/* The POST in flight says when it left (the client bounds its answer),
 * 0 once answered and while none is in flight. */
static void
test_post_sent_time (Fixture * f, gconstpointer data)
{
  gint64 before, sent;

  open_session (&f->server, &f->client, &f->config, 0);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  g_assert_cmpint (sio_polling_get_post_sent_time (f->client.polling), ==, 0);
  before = g_get_monotonic_time ();
  send_text (&f->client, "4abc");
  sent = sio_polling_get_post_sent_time (f->client.polling);
  g_assert_cmpint (sent, >=, before);
  g_assert_cmpint (sent, <=, g_get_monotonic_time ());
  wait_requests (&f->server, 3);
  /* held: it stays the same however long the server takes */
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpint (sio_polling_get_post_sent_time (f->client.polling), ==,
      sent);
  server_release (&f->server, "POST", 200, "ok");
  WAIT_UNTIL (sio_polling_get_post_sent_time (f->client.polling) == 0, WAIT_MS);
  g_assert_cmpint (sio_polling_get_post_sent_time (f->client.polling), ==, 0);
  g_assert_false (f->client.closed);
}

/* ---- tests: cookies -------------------------------------------------- */

/* An affinity cookie set on the handshake goes back on every later
 * request, after the configured ones. */
static void
test_cookie_jar (Fixture * f, gconstpointer data)
{
  static const gchar *const cookies[] = { "pre=1", NULL };
  static const Reply open_with_cookie = { REPLY_NOW, 200, OPEN_PACKET, -1,
    "Set-Cookie", "affinity=node7; Path=/", "Set-Cookie", "io=x9; HttpOnly"
  };
  SoupCookieJar *jar = soup_cookie_jar_new ();
  guint i;

  f->config.cookies = cookies;
  f->config.cookie_jar = jar;
  client_open_on (&f->server, &f->client, &f->config, &open_with_cookie);
  f->client.start_on_open = TRUE;
  wait_requests (&f->server, 2);
  send_text (&f->client, "40");
  wait_requests (&f->server, 3);
  server_release (&f->server, "GET", 200, "6");
  wait_requests (&f->server, 4);
  send_text (&f->client, "2");
  wait_requests (&f->server, 5);

  g_assert_cmpstr (seen_header (server_seen (&f->server, 0), "Cookie"), ==,
      "pre=1");
  for (i = 1; i < 5; i++) {
    Seen *seen = server_seen (&f->server, i);
    const gchar *cookie = seen_header (seen, "Cookie");

    g_test_message ("%s: Cookie: %s", seen->method, cookie);
    g_assert_nonnull (cookie);
    g_assert_true (g_str_has_prefix (cookie, "pre=1; "));
    g_assert_nonnull (strstr (cookie, "affinity=node7"));
    g_assert_nonnull (strstr (cookie, "io=x9"));
  }
  g_assert_cmpstr (server_seen (&f->server, 2)->method, ==, "POST");
  g_assert_cmpstr (server_seen (&f->server, 4)->method, ==, "POST");
  g_assert_false (f->client.closed);

  g_object_unref (jar);
}

static void
test_cookie_header (void)
{
  static const gchar *const cookies[] = { "a=1", "b=2", NULL };
  SoupCookieJar *jar = soup_cookie_jar_new ();
  GUri *uri = g_uri_parse ("http://127.0.0.1:8/engine.io/?EIO=4",
      G_URI_FLAGS_ENCODED, NULL);
  GUri *other = g_uri_parse ("http://127.0.0.2:8/engine.io/",
      G_URI_FLAGS_ENCODED, NULL);
  SoupMessageHeaders *headers =
      soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  gchar *header;

  g_assert_null (sio_http_cookie_header (NULL, NULL, uri));
  g_assert_null (sio_http_cookie_header (jar, NULL, uri));
  header = sio_http_cookie_header (NULL, cookies, uri);
  g_assert_cmpstr (header, ==, "a=1; b=2");
  g_free (header);

  soup_message_headers_append (headers, "Set-Cookie", "lb=n3; Path=/");
  soup_message_headers_append (headers, "Content-Type", "text/plain");
  soup_message_headers_append (headers, "Set-Cookie", "elsewhere=1; "
      "Path=/other");
  sio_http_store_cookies (jar, uri, headers);
  sio_http_store_cookies (NULL, uri, headers);

  header = sio_http_cookie_header (jar, NULL, uri);
  g_assert_cmpstr (header, ==, "lb=n3");
  g_free (header);
  header = sio_http_cookie_header (jar, cookies, uri);
  g_assert_cmpstr (header, ==, "a=1; b=2; lb=n3");
  g_free (header);
  /* the jar's cookies are for their own host only */
  header = sio_http_cookie_header (jar, cookies, other);
  g_assert_cmpstr (header, ==, "a=1; b=2");
  g_free (header);

  soup_message_headers_unref (headers);
  g_uri_unref (uri);
  g_uri_unref (other);
  g_object_unref (jar);
}

/* ---- tests: bounds and hostile answers ------------------------------- */

/* The process's peak virtual size, in kB: an allocation the size of a
 * Content-Length shows there even if never touched. */
static guint64
vm_peak_kb (void)
{
  gchar *status = NULL, *line;
  guint64 kb = 0;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL,
          NULL));
  line = strstr (status, "VmPeak:");
  g_assert_nonnull (line);
  kb = g_ascii_strtoull (line + 7, NULL, 10);
  g_free (status);
  return kb;
}

#define HUGE_LENGTH ((goffset) 512 * 1024 * 1024)

static void
test_content_length_too_big (Fixture * f, gconstpointer data)
{
  static const Reply huge = { REPLY_PARTIAL, 200, OPEN_PACKET, -1,
    .announced = HUGE_LENGTH
  };
  guint64 before = vm_peak_kb ();

  client_open_on (&f->server, &f->client, &f->config, &huge);
  /* the server never sends the rest: only a client that judges the
   * header, without reading the body, ends */
  wait_closed_with (&f->client, SIO_POLLING_ERROR_TOO_BIG);
  g_assert_cmpuint (f->client.packets->len, ==, 0);
  g_test_message ("VmPeak grew by %" G_GUINT64_FORMAT " kB",
      vm_peak_kb () - before);
  g_assert_cmpuint (vm_peak_kb () - before, <, HUGE_LENGTH / 2 / 1024);
}

#define SMALL_BOUND 65536

static gchar *
filler (gsize length)
{
  gchar *text = g_malloc (length + 1);

  memset (text, 'x', length);
  text[0] = '4';
  text[length] = '\0';
  return text;
}

/* A body of the bound exactly, or one byte more: chunked (no length
 * announced) or with its Content-Length. */
typedef enum
{
  CHUNKED_AT_BOUND,
  CHUNKED_OVER_BOUND,
  SIZED_AT_BOUND,
  SIZED_OVER_BOUND,
} BoundCase;

static void
test_bound (Fixture * f, gconstpointer data)
{
  BoundCase bound = GPOINTER_TO_INT (data);
  gboolean accepted = bound == CHUNKED_AT_BOUND || bound == SIZED_AT_BOUND;
  gchar *chunk = filler (SMALL_BOUND / 4);
  gchar *whole = filler (SMALL_BOUND + 1);
  Reply reply = { REPLY_CHUNKED, 200, chunk, SMALL_BOUND / 4 };

  /* one text packet: the chunks joined */
  reply.chunks = 4;
  reply.tail = accepted ? NULL : "x";
  if (bound == SIZED_AT_BOUND || bound == SIZED_OVER_BOUND) {
    reply.kind = REPLY_NOW;
    reply.body = whole;
    reply.length = SMALL_BOUND + (accepted ? 0 : 1);
  }
  f->config.max_response_body = SMALL_BOUND;
  client_open_on (&f->server, &f->client, &f->config, &reply);
  if (accepted) {
    WAIT_UNTIL (f->client.packets->len == 1 || f->client.closed, WAIT_MS);
    g_assert_false (f->client.closed);
    g_assert_cmpuint (f->client.packets->len, ==, 1);
    g_assert_cmpuint (g_bytes_get_size (f->client.packets->pdata[0]), ==,
        SMALL_BOUND);
  } else {
    wait_closed_with (&f->client, SIO_POLLING_ERROR_TOO_BIG);
    g_assert_cmpuint (f->client.packets->len, ==, 0);
  }
  g_free (chunk);
  g_free (whole);
}

/* A handshake answered with @body: closed with PROTOCOL, or TOO_BIG
 * with @max_packet set. */
typedef struct
{
  const gchar *name;
  const gchar *body;
  gsize length;
  gsize max_packet;
} BadPayload;

static const BadPayload bad_payloads[] = {
  {"empty-packet", OPEN_PACKET "\x1e\x1e" "4a", sizeof (OPEN_PACKET) + 3},
  {"trailing-separator", OPEN_PACKET "\x1e", sizeof (OPEN_PACKET)},
  {"leading-separator", "\x1e" OPEN_PACKET, sizeof (OPEN_PACKET)},
  {"base64-bad-character", "b AQID", 6},
  {"base64-bad-character-2", "bAQ*D", 5},
  {"base64-truncated", "bAQIDB", 6},
  {"base64-lone-character", "bA", 2},
  {"base64-unpadded", "bAQ", 3},
  {"base64-padding-inside", "bAQ==AQID", 9},
  {"base64-too-much-padding", "bAQ===", 6},
  {"base64-only-padding", "b====", 5},
  {"not-utf8", "4\xff\xfe", 3},
  {"not-utf8-overlong", "4\xc0\xaf", 3},
  {"not-utf8-surrogate", "4\xed\xa0\x80", 4},
  {"text-over-max-packet", "4abc\x1e" "4abcd", 10, 4},
  {"binary-over-max-packet", "bAQIDBA==\x1e" "bAQIDBAU=", 19, 4},
};

static void
test_bad_payload (Fixture * f, gconstpointer data)
{
  const BadPayload *bad = data;
  Reply reply = { REPLY_NOW, 200, bad->body, bad->length };

  f->config.max_packet = bad->max_packet;
  client_open_on (&f->server, &f->client, &f->config, &reply);
  wait_closed_with (&f->client, bad->max_packet ? SIO_POLLING_ERROR_TOO_BIG :
      SIO_POLLING_ERROR_PROTOCOL);
}

/* Packets of max_packet bytes exactly, a binary one measured decoded
 * (its padding is no data), as over WebSocket. */
static void
test_max_packet (Fixture * f, gconstpointer data)
{
  static const Reply reply = { REPLY_NOW, 200,
    "4abc\x1e" "bAQIDBA==\x1e" "bAQID\x1e" "bAQI=", -1
  };

  f->config.max_packet = 4;
  client_open_on (&f->server, &f->client, &f->config, &reply);
  WAIT_UNTIL (f->client.packets->len == 4 || f->client.closed, WAIT_MS);
  g_assert_false (f->client.closed);
  g_assert_cmpuint (f->client.packets->len, ==, 4);
  assert_packet (&f->client, 1, TRUE, "\x01\x02\x03\x04", 4);
}

/* Every padded form decodes, and an empty binary packet is one. */
static void
test_base64_padded (Fixture * f, gconstpointer data)
{
  static const Reply reply = { REPLY_NOW, 200,
    "bAQ==\x1e" "bAQI=\x1e" "b\x1e" "b+/8=", -1
  };

  client_open_on (&f->server, &f->client, &f->config, &reply);
  WAIT_UNTIL (f->client.packets->len == 4 || f->client.closed, WAIT_MS);
  g_assert_false (f->client.closed);
  g_assert_cmpuint (f->client.packets->len, ==, 4);
  assert_packet (&f->client, 0, TRUE, "\x01", 1);
  assert_packet (&f->client, 1, TRUE, "\x01\x02", 2);
  assert_packet (&f->client, 2, TRUE, "", 0);
  assert_packet (&f->client, 3, TRUE, "\xfb\xff", 2);
}

/* The connection cut in the middle of a body. */
static void
test_cut_mid_body (Fixture * f, gconstpointer data)
{
  static const Reply partial = { REPLY_PARTIAL, 200, "4abc", -1,
    .announced = 1000
  };

  client_open_on (&f->server, &f->client, &f->config, &partial);
  wait_requests (&f->server, 1);
  WAIT_UNTIL (FALSE, 30);
  g_assert_false (f->client.closed);
  soup_server_disconnect (f->server.server);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_CONNECTION_LOST);
  g_assert_cmpuint (f->client.packets->len, ==, 0);
}

/* An empty answer to the long poll: python-engineio's way of ending a
 * session (in threading mode), not a protocol error. */
static void
test_empty_answer (Fixture * f, gconstpointer data)
{
  open_session (&f->server, &f->client, &f->config, 0);
  server_release (&f->server, "GET", 200, "");
  wait_closed_with (&f->client, SIO_POLLING_ERROR_CONNECTION_LOST);
}

/* The packets of @server's POSTs from the third request on, in order,
 * are "4[\"e\",0]" to "4[\"e\",@count - 1]"; returns the most packets a
 * body held. */
static guint
assert_numbered_posts (Server * server, guint count)
{
  guint i, next = 0, most = 0;

  for (i = 2; i < server->seen->len; i++) {
    gsize size;
    gchar **pieces = post_packets (server_seen (server, i), &size);
    guint j;

    most = MAX (most, g_strv_length (pieces));
    for (j = 0; pieces[j]; j++) {
      gchar *expected = g_strdup_printf ("4[\"e\",%u]", next++);

      g_assert_cmpstr (pieces[j], ==, expected);
      g_free (expected);
    }
    g_strfreev (pieces);
  }
  g_assert_cmpuint (next, ==, count);
  return most;
}

static void
send_numbered_corked (Client * client, guint count)
{
  guint i;

  sio_polling_set_corked (client->polling, TRUE);
  for (i = 0; i < count; i++) {
    gchar *text = g_strdup_printf ("4[\"e\",%u]", i);

    send_text (client, text);
    g_free (text);
  }
  uncork_and_drain (client);
}

/* python-engineio 4.3 decodes at most 16 packets per POST body and drops
 * the whole body beyond that (still answering "ok"). */
static void
test_max_packets_per_post (Fixture * f, gconstpointer data)
{
  open_session (&f->server, &f->client, &f->config, 100000);
  send_numbered_corked (&f->client, 40);
  g_assert_cmpuint (assert_numbered_posts (&f->server, 40), ==, 16);
}

/* A server that announced maxPayload bounds a body by bytes only: the
 * queue leaves in one POST rather than one per 16 packets. */
static void
test_packets_unbounded_by_count (Fixture * f, gconstpointer data)
{
  open_session_bounded (&f->server, &f->client, &f->config, 100000, 0);
  send_numbered_corked (&f->client, 40);
  g_assert_cmpuint (assert_numbered_posts (&f->server, 40), ==, 40);
}

/* The same checks on a later long poll, and the packets before the bad
 * one delivered. */
static void
test_bad_payload_later (Fixture * f, gconstpointer data)
{
  static const gchar body[] = "4ok\x1e" "bAQID\x1e" "b@@@@";

  open_session (&f->server, &f->client, &f->config, 0);
  server_release (&f->server, "GET", 200, body);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_PROTOCOL);
  g_assert_cmpuint (f->client.packets->len, ==, 3);
  assert_packet (&f->client, 1, FALSE, "4ok", 3);
  assert_packet (&f->client, 2, TRUE, "\x01\x02\x03", 3);
}

static void
test_http_404 (Fixture * f, gconstpointer data)
{
  static const Reply not_found = { REPLY_NOW, 404, "no such path", -1 };

  client_open_on (&f->server, &f->client, &f->config, &not_found);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sio_polling_get_http_status (f->client.polling), ==, 404);
  g_assert_nonnull (strstr (f->client.error->message, "404"));
}

/* A POST the server refuses ends the session too. */
static void
test_post_refused (Fixture * f, gconstpointer data)
{
  static const Reply refused = { REPLY_NOW, 400, "{\"code\":1}", -1 };

  open_session (&f->server, &f->client, &f->config, 0);
  g_queue_push_tail (&f->server.posts, (gpointer) & refused);
  send_text (&f->client, "40");
  wait_closed_with (&f->client, SIO_POLLING_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sio_polling_get_http_status (f->client.polling), ==, 400);
}

static void
test_http_302 (Fixture * f, gconstpointer data)
{
  Server target;
  Reply redirect = { REPLY_NOW, 302, "", -1, "Location" };
  gchar *location, *shown;

  server_start (&target, NULL);
  location = g_strdup_printf ("http://127.0.0.1:%u/other/?EIO=4&token=s3cret",
      target.port);
  redirect.value = location;
  client_open_on (&f->server, &f->client, &f->config, &redirect);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_REDIRECTED);
  shown = g_strdup_printf ("http://127.0.0.1:%u/other/", target.port);
  g_assert_nonnull (strstr (f->client.error->message, shown));
  g_assert_null (strstr (f->client.error->message, "s3cret"));
  g_assert_null (strstr (f->client.error->message, "token"));
  g_assert_cmpuint (sio_polling_get_http_status (f->client.polling), ==, 302);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (target.seen->len, ==, 0);
  server_stop (&target);
  g_free (shown);
  g_free (location);
}

/* A loopback port nothing listens on (bound, then closed). */
static guint
closed_port (void)
{
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4,
      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  GInetAddress *loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  GSocketAddress *address = g_inet_socket_address_new (loopback, 0);
  GSocketAddress *bound;
  guint port;

  g_assert_true (g_socket_bind (socket, address, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_object_unref (bound);
  g_object_unref (address);
  g_object_unref (loopback);
  g_object_unref (socket);
  return port;
}

static void
test_connection_refused (Fixture * f, gconstpointer data)
{
  gchar *url = g_strdup_printf ("http://127.0.0.1:%u/engine.io/?EIO=4",
      closed_port ());

  f->config.url = url;
  client_open (&f->client, &f->config);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_CONNECT_FAILED);
  g_assert_cmpuint (sio_polling_get_http_status (f->client.polling), ==, 0);
  g_free (url);
}

/* An unparsable URL: closed() from the main loop, not from open(). */
static void
test_invalid_url (Fixture * f, gconstpointer data)
{
  f->config.url = "http://[127.0.0.1/engine.io/?EIO=4";
  client_open (&f->client, &f->config);
  g_assert_false (f->client.closed);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_CONNECT_FAILED);
  g_assert_cmpuint (f->server.seen->len, ==, 0);
}

/* Through a proxy (a SoupServer) that wants credentials: our Basic ones
 * are offered once, refused, and the session ends with PROXY. */
static void
test_proxy_407 (Fixture * f, gconstpointer data)
{
  static const Reply auth = { REPLY_NOW, 407, "", -1,
    "Proxy-Authenticate", "Basic realm=\"sio-test\""
  };
  GProxyResolver *resolver;
  gchar *proxy_url, *url;

  g_queue_push_tail (&f->server.gets, (gpointer) & auth);
  g_queue_push_tail (&f->server.gets, (gpointer) & auth);
  proxy_url = g_strdup_printf ("http://127.0.0.1:%u", f->server.port);
  resolver = g_simple_proxy_resolver_new (proxy_url, NULL);
  /* straight there it would be refused */
  url = g_strdup_printf ("http://127.0.0.1:%u/engine.io/?EIO=4",
      closed_port ());
  f->config.url = url;
  f->config.proxy_resolver = resolver;
  f->config.proxy_id = "user";
  f->config.proxy_pw = "pw";
  client_open (&f->client, &f->config);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_PROXY);
  g_assert_cmpuint (sio_polling_get_http_status (f->client.polling), ==, 407);
  g_assert_cmpuint (f->server.seen->len, ==, 2);
  g_assert_null (seen_header (server_seen (&f->server, 0),
          "Proxy-Authorization"));
  g_assert_cmpstr (seen_header (server_seen (&f->server, 1),
          "Proxy-Authorization"), ==, "Basic dXNlcjpwdw==");
  g_assert_null (strstr (f->client.error->message, "pw"));
  g_object_unref (resolver);
  g_free (proxy_url);
  g_free (url);
}

/* ---- tests: pause, close, free --------------------------------------- */

static void
collect_queued (gboolean binary, const guint8 * data, gsize length,
    gpointer user_data)
{
  GString *out = user_data;

  g_string_append_printf (out, "%s%s:%.*s", out->len ? "," : "",
      binary ? "bin" : "text", (gint) length, (const gchar *) data);
}

/* paused() waits for the long poll and the POST in flight; packets sent
 * after it stay queued for sio_polling_take_queued(). */
static void
test_pause_take_queued (Fixture * f, gconstpointer data)
{
  GString *taken = g_string_new (NULL);

  open_session (&f->server, &f->client, &f->config, 0);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  send_text (&f->client, "40");
  wait_requests (&f->server, 3);
  /* queued behind the POST in flight */
  send_text (&f->client, "42[\"before\"]");

  sio_polling_pause (f->client.polling);
  send_text (&f->client, "42[\"a\"]");
  sio_polling_send (f->client.polling, TRUE, (const guint8 *) "raw", 3);
  send_text (&f->client, "42[\"b\"]");
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->client.paused, ==, 0);
  server_release (&f->server, "POST", 200, "ok");
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->client.paused, ==, 0);
  g_assert_cmpuint (f->server.seen->len, ==, 3);
  /* the server ends the long poll with a noop when it upgrades */
  server_release (&f->server, "GET", 200, "6");
  WAIT_UNTIL (f->client.paused > 0, WAIT_MS);
  g_assert_cmpuint (f->client.paused, ==, 1);
  assert_packet (&f->client, 1, FALSE, "6", 1);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->server.seen->len, ==, 3);
  g_assert_cmpuint (f->client.paused, ==, 1);

  sio_polling_take_queued (f->client.polling, collect_queued, taken);
  g_assert_cmpstr (taken->str, ==, "text:42[\"before\"],text:42[\"a\"],"
      "bin:raw,text:42[\"b\"]");
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 0);
  g_string_truncate (taken, 0);
  sio_polling_take_queued (f->client.polling, collect_queued, taken);
  g_assert_cmpstr (taken->str, ==, "");
  g_assert_false (f->client.closed);

  g_string_free (taken, TRUE);
}

/* Resuming posts what was queued meanwhile and polls again. */
static void
test_pause_resume (Fixture * f, gconstpointer data)
{
  Seen *post, *poll;

  open_session (&f->server, &f->client, &f->config, 0);
  sio_polling_pause (f->client.polling);
  send_text (&f->client, "42[\"a\"]");
  sio_polling_send (f->client.polling, TRUE, (const guint8 *) "\x01\x02\x03",
      3);
  server_release (&f->server, "GET", 200, "6");
  WAIT_UNTIL (f->client.paused > 0, WAIT_MS);
  g_assert_cmpuint (f->client.paused, ==, 1);
  g_assert_cmpuint (f->server.seen->len, ==, 2);

  sio_polling_resume (f->client.polling);
  wait_requests (&f->server, 4);
  post = server_seen (&f->server, 2)->method[0] == 'P' ?
      server_seen (&f->server, 2) : server_seen (&f->server, 3);
  poll = post == server_seen (&f->server, 2) ?
      server_seen (&f->server, 3) : server_seen (&f->server, 2);
  g_assert_cmpstr (post->method, ==, "POST");
  assert_body (post, "42[\"a\"]\x1e" "bAQID", 13);
  g_assert_cmpstr (poll->method, ==, "GET");
  g_assert_cmpstr (poll->sid, ==, SID);
  WAIT_UNTIL (sio_polling_get_pending (f->client.polling) == 0, WAIT_MS);
  g_assert_cmpuint (sio_polling_get_pending (f->client.polling), ==, 0);
  /* and it goes on: the next long poll delivers */
  server_release (&f->server, "GET", 200, "4after");
  WAIT_UNTIL (f->client.packets->len == 3, WAIT_MS);
  assert_packet (&f->client, 2, FALSE, "4after", 6);
  wait_requests (&f->server, 5);
  g_assert_cmpuint (f->client.paused, ==, 1);
  g_assert_false (f->client.closed);
}

/* Closing sends the queued packets first, then reports closed(NULL),
 * from the main loop. */
static void
test_close_flushes (Fixture * f, gconstpointer data)
{
  open_session (&f->server, &f->client, &f->config, 0);
  sio_polling_set_corked (f->client.polling, TRUE);
  send_text (&f->client, "42[\"last\"]");
  send_text (&f->client, "1");
  sio_polling_close (f->client.polling);
  g_assert_false (f->client.closed);
  /* nothing is queued once closing */
  send_text (&f->client, "42[\"late\"]");
  WAIT_UNTIL (f->client.closed, WAIT_MS);
  g_assert_true (f->client.closed);
  g_assert_no_error (f->client.error);
  g_assert_cmpuint (f->server.seen->len, ==, 3);
  g_assert_cmpstr (server_seen (&f->server, 2)->method, ==, "POST");
  assert_body (server_seen (&f->server, 2), "42[\"last\"]\x1e" "1", 12);
}

static void
test_close_idle (Fixture * f, gconstpointer data)
{
  open_session (&f->server, &f->client, &f->config, 0);
  sio_polling_close (f->client.polling);
  g_assert_false (f->client.closed);
  WAIT_UNTIL (f->client.closed, WAIT_MS);
  g_assert_true (f->client.closed);
  g_assert_no_error (f->client.error);
  g_assert_cmpuint (f->server.seen->len, ==, 2);
}

/* closed() is called once, whatever is called after it. */
static void
test_pause_after_closed (Fixture * f, gconstpointer data)
{
  static const Reply not_found = { REPLY_NOW, 404, "", -1 };

  client_open_on (&f->server, &f->client, &f->config, &not_found);
  wait_closed_with (&f->client, SIO_POLLING_ERROR_HTTP_STATUS);
  /* on_closed() fails on a second call */
  sio_polling_pause (f->client.polling);
  sio_polling_resume (f->client.polling);
  sio_polling_send (f->client.polling, FALSE, (const guint8 *) "4", 1);
  sio_polling_close (f->client.polling);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->client.paused, ==, 0);
  g_assert_cmpuint (f->server.seen->len, ==, 1);
}

/* A server that never answers the POST: closed(NULL) after the bound. */
static void
test_close_bounded (Fixture * f, gconstpointer data)
{
  gint64 start;

  open_session (&f->server, &f->client, &f->config, 0);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  send_text (&f->client, "1");
  wait_requests (&f->server, 3);
  start = g_get_monotonic_time ();
  sio_polling_close (f->client.polling);
  WAIT_UNTIL (f->client.closed, 5000);
  g_assert_true (f->client.closed);
  g_assert_no_error (f->client.error);
  g_test_message ("closed after %" G_GINT64_FORMAT " ms",
      (f->client.closed_at - start) / 1000);
  /* about a second: not before, when it could still be sent */
  g_assert_cmpint (f->client.closed_at - start, >=, 900 * 1000);
}

/* Freed with a long poll and a POST in flight: no callback after, and
 * everything it held goes once the context ran a little (its cookie jar,
 * kept to the end, tells). */
static void
test_free_in_flight (Fixture * f, gconstpointer data)
{
  SoupCookieJar *jar = soup_cookie_jar_new ();
  gint64 start;

  f->config.cookie_jar = jar;
  open_session (&f->server, &f->client, &f->config, 0);
  g_object_add_weak_pointer (G_OBJECT (jar), (gpointer *) & jar);
  g_object_unref (jar);
  g_assert_nonnull (jar);
  g_queue_push_tail (&f->server.posts, (gpointer) & reply_hold);
  send_text (&f->client, "42[\"x\"]");
  wait_requests (&f->server, 3);
  send_text (&f->client, "42[\"queued\"]");

  start = g_get_monotonic_time ();
  sio_polling_free (f->client.polling);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);
  f->client.polling = NULL;
  f->client.freed = TRUE;
  WAIT_UNTIL (jar == NULL, WAIT_MS);
  g_assert_null (jar);
  /* the server answers late: nothing is called */
  server_release (&f->server, "POST", 200, "ok");
  server_release (&f->server, "GET", 200, "4late");
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->client.packets->len, ==, 1);
  g_assert_cmpuint (f->server.seen->len, ==, 3);
}

/* Freed from packet(): the rest of the payload is not delivered. */
static void
test_free_in_packet (Fixture * f, gconstpointer data)
{
  static const Reply two = { REPLY_NOW, 200, "4one\x1e" "4two", -1 };

  client_open_on (&f->server, &f->client, &f->config, &two);
  f->client.free_in_packet = TRUE;
  WAIT_UNTIL (f->client.freed, WAIT_MS);
  g_assert_true (f->client.freed);
  WAIT_UNTIL (FALSE, 30);
  g_assert_cmpuint (f->client.packets->len, ==, 1);
}

/* ---- tests: TLS ------------------------------------------------------ */

typedef enum
{
  TLS_DEFAULT,
  TLS_TEST_CA,
  TLS_ACCEPT_INVALID,
} TlsMode;

static void
test_tls (Fixture * f, gconstpointer data)
{
  TlsMode mode = GPOINTER_TO_INT (data);
  GTlsDatabase *database = NULL;
  GError *error = NULL;

  if (!pki_made) {
    g_test_skip ("no openssl to make a certificate");
    return;
  }
  if (mode == TLS_TEST_CA) {
    database = g_tls_file_database_new (pki.ca_file, &error);
    g_assert_no_error (error);
    f->config.tls_database = database;
  }
  f->config.tls_accept_invalid = mode == TLS_ACCEPT_INVALID;
  client_open_on (&f->server, &f->client, &f->config, &reply_open);
  f->client.start_on_open = TRUE;
  if (mode == TLS_DEFAULT) {
    wait_closed_with (&f->client, SIO_POLLING_ERROR_TLS);
    g_assert_cmphex (sio_polling_get_tls_errors (f->client.polling) &
        G_TLS_CERTIFICATE_UNKNOWN_CA, ==, G_TLS_CERTIFICATE_UNKNOWN_CA);
    g_assert_cmpuint (f->server.seen->len, ==, 0);
  } else {
    wait_requests (&f->server, 2);
    assert_packet (&f->client, 0, FALSE, OPEN_PACKET, strlen (OPEN_PACKET));
    send_text (&f->client, "40");
    wait_requests (&f->server, 3);
    assert_body (server_seen (&f->server, 2), "40", 2);
    g_assert_false (f->client.closed);
    g_assert_cmphex (sio_polling_get_tls_errors (f->client.polling), ==, 0);
  }
  g_clear_object (&database);
}

#define ADD(path, func)                                                 \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
#define ADD_BOUND(path, bound)                                          \
  g_test_add (path, Fixture, GINT_TO_POINTER (bound), fixture_setup,     \
      test_bound, fixture_teardown)
#define ADD_TLS(path, mode)                                             \
  g_test_add (path, Fixture, GINT_TO_POINTER (mode), fixture_setup_tls, \
      test_tls, fixture_teardown)

/* Every tail length and every byte value, against GLib's encoder. */
static void
test_base64 (void)
{
  guint8 data[300];
  gchar out[sizeof data / 3 * 4 + 4];
  gsize length, i;

  for (i = 0; i < sizeof data; i++)
    data[i] = (guint8) (i * 97 + 13);
  for (length = 0; length <= sizeof data; length++) {
    gchar *expected = g_base64_encode (data, length);
    gsize written = sio_base64_encode (data, length, out);

    g_assert_cmpuint (written, ==, strlen (expected));
    g_assert_cmpmem (out, written, expected, strlen (expected));
    g_free (expected);
  }
}

int
main (int argc, char **argv)
{
  guint i;
  gint result;

  g_test_init (&argc, &argv, NULL);

  ADD ("/polling/handshake", test_handshake);
  ADD ("/polling/start-later", test_start_later);
  ADD ("/polling/corked-batch", test_corked_batch);
  ADD ("/polling/max-payload", test_max_payload);
  ADD ("/polling/pending", test_pending);
  ADD ("/polling/post-sent-time", test_post_sent_time);
  ADD ("/polling/cookie-jar", test_cookie_jar);
  g_test_add_func ("/polling/cookie-header", test_cookie_header);
  g_test_add_func ("/polling/base64", test_base64);
  ADD ("/polling/content-length-too-big", test_content_length_too_big);
  ADD_BOUND ("/polling/chunked-at-bound", CHUNKED_AT_BOUND);
  ADD_BOUND ("/polling/chunked-over-bound", CHUNKED_OVER_BOUND);
  ADD_BOUND ("/polling/sized-at-bound", SIZED_AT_BOUND);
  ADD_BOUND ("/polling/sized-over-bound", SIZED_OVER_BOUND);
  for (i = 0; i < G_N_ELEMENTS (bad_payloads); i++) {
    gchar *path = g_strconcat ("/polling/bad-payload/", bad_payloads[i].name,
        NULL);

    g_test_add (path, Fixture, &bad_payloads[i], fixture_setup,
        test_bad_payload, fixture_teardown);
    g_free (path);
  }
  ADD ("/polling/base64-padded", test_base64_padded);
  ADD ("/polling/max-packet", test_max_packet);
  ADD ("/polling/bad-payload-later", test_bad_payload_later);
  ADD ("/polling/empty-answer", test_empty_answer);
  ADD ("/polling/max-packets-per-post", test_max_packets_per_post);
  ADD ("/polling/packets-unbounded-by-count", test_packets_unbounded_by_count);
  ADD ("/polling/cut-mid-body", test_cut_mid_body);
  ADD ("/polling/http-404", test_http_404);
  ADD ("/polling/post-refused", test_post_refused);
  ADD ("/polling/http-302", test_http_302);
  ADD ("/polling/connection-refused", test_connection_refused);
  ADD ("/polling/invalid-url", test_invalid_url);
  ADD ("/polling/proxy-407", test_proxy_407);
  ADD ("/polling/pause-take-queued", test_pause_take_queued);
  ADD ("/polling/pause-resume", test_pause_resume);
  ADD ("/polling/close-flushes", test_close_flushes);
  ADD ("/polling/close-idle", test_close_idle);
  ADD ("/polling/pause-after-closed", test_pause_after_closed);
  ADD ("/polling/close-bounded", test_close_bounded);
  ADD ("/polling/free-in-flight", test_free_in_flight);
  ADD ("/polling/free-in-packet", test_free_in_packet);
  ADD_TLS ("/polling/tls-refused-by-default", TLS_DEFAULT);
  ADD_TLS ("/polling/tls-test-ca", TLS_TEST_CA);
  ADD_TLS ("/polling/tls-accept-invalid", TLS_ACCEPT_INVALID);

  result = g_test_run ();
  if (pki_made)
    sio_test_pki_clear (&pki);
  return result;
}
