/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* sio-websocket unit tests. Everything runs in this one thread's default
 * main context: the client, a SoupServer WebSocket endpoint (echo, close,
 * large messages, TLS), a raw GSocketService that scripts exact bytes
 * (bad responses, bad frames, pings, a frozen reader) and an HTTP CONNECT
 * proxy. */

#include <string.h>

#include <gio/gio.h>
#include <gio/gnetworking.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>

#include "sio-websocket.h"
#include "test-pki.h"
#include "test-wait.h"

#define WAIT_MS 10000

/* ---- the client under test ------------------------------------------ */

typedef struct
{
  SioWebSocket *ws;
  gboolean opened;
  gboolean closed;
  GError *error;
  GPtrArray *messages;          /* GBytes */
  GArray *binary;               /* gboolean per message */
  guint writable;
  gboolean free_in_message;
  gboolean free_in_closed;
  gboolean close_in_opened;
} Client;

static void
on_opened (SioWebSocket * ws, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->opened);
  client->opened = TRUE;
  if (client->close_in_opened)
    sio_websocket_close (ws, 1000, "at once");
}

static void
on_message (SioWebSocket * ws, gboolean binary, const guint8 * data,
    gsize length, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->closed);
  g_ptr_array_add (client->messages, g_bytes_new (data, length));
  g_array_append_val (client->binary, binary);
  if (client->free_in_message) {
    sio_websocket_free (ws);
    client->ws = NULL;
  }
}

static void
on_writable (SioWebSocket * ws, gpointer user_data)
{
  Client *client = user_data;

  client->writable++;
}

static void
on_closed (SioWebSocket * ws, const GError * error, gpointer user_data)
{
  Client *client = user_data;

  g_assert_false (client->closed);
  client->closed = TRUE;
  client->error = error ? g_error_copy (error) : NULL;
  if (client->free_in_closed) {
    sio_websocket_free (ws);
    client->ws = NULL;
  }
}

static const SioWebSocketCallbacks client_callbacks = {
  on_opened, on_message, on_writable, on_closed
};

static void
client_init (Client * client)
{
  memset (client, 0, sizeof (*client));
  client->messages = g_ptr_array_new_with_free_func
      ((GDestroyNotify) g_bytes_unref);
  client->binary = g_array_new (FALSE, FALSE, sizeof (gboolean));
}

static void
client_connect (Client * client, const SioWebSocketConfig * config)
{
  client->ws = sio_websocket_connect (config, &client_callbacks, client);
  g_assert_nonnull (client->ws);
}

static void
client_connect_url (Client * client, const gchar * url)
{
  SioWebSocketConfig config = { 0 };

  config.url = url;
  config.handshake_timeout_ms = WAIT_MS;
  client_connect (client, &config);
}

/* Frees the client and lets cancelled GIO operations finish. */
static void
client_clear (Client * client)
{
  sio_websocket_free (client->ws);
  client->ws = NULL;
  WAIT_UNTIL (FALSE, 50);
  g_clear_error (&client->error);
  g_ptr_array_unref (client->messages);
  g_array_unref (client->binary);
}

static void
wait_opened (Client * client)
{
  WAIT_UNTIL (client->opened || client->closed, WAIT_MS);
  if (client->error)
    g_test_message ("closed: %s", client->error->message);
  g_assert_true (client->opened);
  g_assert_false (client->closed);
}

static void
wait_closed_with (Client * client, SioWebSocketError code)
{
  WAIT_UNTIL (client->closed, WAIT_MS);
  g_assert_true (client->closed);
  g_assert_nonnull (client->error);
  g_test_message ("closed: %s", client->error->message);
  g_assert_error (client->error, SIO_WEBSOCKET_ERROR, (gint) code);
}

static gsize
frame_size (gsize payload)
{
  return payload + 4 + (payload < 126 ? 2 : payload < 65536 ? 4 : 10);
}

/* ---- a SoupServer WebSocket endpoint --------------------------------- */

/* Echoes every message, except text commands: "!big N" answers with N
 * binary bytes, "!close CODE REASON" closes. */
typedef struct
{
  SoupServer *server;
  gchar *url;
  GPtrArray *conns;             /* every connection, kept alive */
  SoupWebsocketConnection *conn;        /* the last one */
  gboolean conn_closed;
  gushort close_code;
  gchar *close_data;
} SoupFixture;

static GBytes *
pattern_bytes (gsize length, guint seed)
{
  guint8 *data = g_malloc (length ? length : 1);
  gsize i;

  for (i = 0; i < length; i++)
    data[i] = (guint8) (i * 31 + seed);
  return g_bytes_new_take (data, length);
}

static void
on_soup_message (SoupWebsocketConnection * conn, gint type, GBytes * message,
    SoupFixture * fixture)
{
  gsize length;
  const gchar *data = g_bytes_get_data (message, &length);

  if (type == SOUP_WEBSOCKET_DATA_TEXT && length > 1 && data[0] == '!') {
    gchar *command = g_strndup (data, length);

    if (g_str_has_prefix (command, "!big ")) {
      GBytes *big = pattern_bytes (g_ascii_strtoull (command + 5, NULL, 10),
          7);

      soup_websocket_connection_send_message (conn, SOUP_WEBSOCKET_DATA_BINARY,
          big);
      g_bytes_unref (big);
    } else if (g_str_has_prefix (command, "!close ")) {
      gchar *reason = NULL;
      guint64 code = g_ascii_strtoull (command + 7, &reason, 10);

      soup_websocket_connection_close (conn, (gushort) code, reason + 1);
    }
    g_free (command);
    return;
  }
  soup_websocket_connection_send_message (conn, type, message);
}

static void
on_soup_closed (SoupWebsocketConnection * conn, SoupFixture * fixture)
{
  fixture->conn_closed = TRUE;
  fixture->close_code = soup_websocket_connection_get_close_code (conn);
  g_free (fixture->close_data);
  fixture->close_data =
      g_strdup (soup_websocket_connection_get_close_data (conn));
}

static void
on_soup_websocket (SoupServer * server, SoupServerMessage * msg,
    const char *path, SoupWebsocketConnection * conn, gpointer user_data)
{
  SoupFixture *fixture = user_data;

  g_ptr_array_add (fixture->conns, g_object_ref (conn));
  fixture->conn = conn;
  /* no limit: the echo tests send large messages */
  soup_websocket_connection_set_max_incoming_payload_size (conn, 0);
  g_signal_connect (conn, "message", G_CALLBACK (on_soup_message), fixture);
  g_signal_connect (conn, "closed", G_CALLBACK (on_soup_closed), fixture);
}

static void
soup_fixture_start (SoupFixture * fixture, GTlsCertificate * certificate)
{
  GError *error = NULL;
  GSList *uris;
  guint port;

  memset (fixture, 0, sizeof (*fixture));
  fixture->conns = g_ptr_array_new_with_free_func (g_object_unref);
  fixture->server = soup_server_new ("tls-certificate", certificate, NULL);
  soup_server_add_websocket_handler (fixture->server, "/echo", NULL, NULL,
      on_soup_websocket, fixture, NULL);
  soup_server_listen_local (fixture->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY |
      (certificate ? SOUP_SERVER_LISTEN_HTTPS : 0), &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (fixture->server);
  port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  fixture->url = g_strdup_printf ("%s://127.0.0.1:%u/echo",
      certificate ? "wss" : "ws", port);
}

static void
soup_fixture_stop (SoupFixture * fixture)
{
  guint i;

  for (i = 0; i < fixture->conns->len; i++)
    g_signal_handlers_disconnect_by_data (fixture->conns->pdata[i], fixture);
  g_ptr_array_unref (fixture->conns);
  soup_server_disconnect (fixture->server);
  g_object_unref (fixture->server);
  WAIT_UNTIL (FALSE, 20);
  g_free (fixture->url);
  g_free (fixture->close_data);
}

/* A client connected to a fresh SoupServer echo endpoint. */
static void
open_echo (SoupFixture * fixture, Client * client)
{
  soup_fixture_start (fixture, NULL);
  client_init (client);
  client_connect_url (client, fixture->url);
  wait_opened (client);
}

static void
send_text (Client * client, const gchar * text)
{
  g_assert_true (sio_websocket_send (client->ws, FALSE,
          (const guint8 *) text, strlen (text)));
}

/* ---- a raw server that scripts bytes --------------------------------- */

typedef struct _RawServer RawServer;
typedef void (*RawScript) (RawServer * raw);

struct _RawServer
{
  GSocketService *service;
  guint port;
  gchar *url;
  RawScript script;             /* called once the request head is in */
  const gchar *text;            /* for the script */

  GIOStream *conn;
  GCancellable *cancellable;
  GByteArray *request;          /* the request head */
  SoupMessageHeaders *request_headers;
  gchar *request_method;
  gchar *request_path;
  GByteArray *received;         /* what came after the head */
  guint64 received_total;
  gboolean head_done;
  gboolean paused;              /* a frozen reader: no more reads */
  gboolean discard;             /* count what comes, keep nothing */
  gboolean read_pending;
  gboolean eof;
  GQueue writes;                /* GBytes */
  gboolean writing;
  gboolean close_after_writes;
  GIOStream *relay;             /* a proxy's connection to its target */
  /* set before a client connects: TLS, asking for a client certificate
   * this database validates */
  GTlsCertificate *tls_certificate;
  GTlsDatabase *tls_client_database;
  gboolean splicing;
  guint8 read_buffer[64 * 1024];
};

static void raw_read_more (RawServer * raw);

static void
raw_handle_head (RawServer * raw)
{
  const guint8 *data = raw->request->data;
  gsize i;

  for (i = 0; i + 4 <= raw->request->len; i++) {
    if (memcmp (data + i, "\r\n\r\n", 4) == 0) {
      raw->head_done = TRUE;
      g_byte_array_append (raw->received, data + i + 4,
          raw->request->len - i - 4);
      raw->received_total = raw->received->len;
      g_byte_array_set_size (raw->request, i + 4);
      raw->request_headers =
          soup_message_headers_new (SOUP_MESSAGE_HEADERS_REQUEST);
      g_assert_cmpuint (soup_headers_parse_request ((const gchar *) data,
              i + 4, raw->request_headers, &raw->request_method,
              &raw->request_path, NULL), ==, SOUP_STATUS_OK);
      if (raw->script)
        raw->script (raw);
      return;
    }
  }
}

static void
on_raw_read (GObject * source, GAsyncResult * result, gpointer user_data)
{
  RawServer *raw = user_data;
  GError *error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result,
      &error);

  raw->read_pending = FALSE;
  if (n <= 0) {
    /* hang up on a failed read (a refused client certificate), as a
     * real server would */
    if (n < 0 && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
        !raw->writing)
      g_io_stream_close (raw->conn, NULL, NULL);
    g_clear_error (&error);
    raw->eof = TRUE;
    return;
  }
  if (!raw->head_done) {
    g_byte_array_append (raw->request, raw->read_buffer, n);
    raw_handle_head (raw);
  } else {
    raw->received_total += n;
    if (!raw->discard)
      g_byte_array_append (raw->received, raw->read_buffer, n);
  }
  raw_read_more (raw);
}

static void
raw_read_more (RawServer * raw)
{
  if (raw->paused || raw->read_pending || raw->eof || raw->conn == NULL)
    return;
  raw->read_pending = TRUE;
  g_input_stream_read_async (g_io_stream_get_input_stream (raw->conn),
      raw->read_buffer, sizeof (raw->read_buffer), G_PRIORITY_DEFAULT,
      raw->cancellable, on_raw_read, raw);
}

static void raw_write_next (RawServer * raw);

static void
on_raw_written (GObject * source, GAsyncResult * result, gpointer user_data)
{
  RawServer *raw = user_data;
  GError *error = NULL;

  raw->writing = FALSE;
  g_bytes_unref (g_queue_pop_head (&raw->writes));
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result,
          NULL, &error)) {
    g_queue_clear_full (&raw->writes, (GDestroyNotify) g_bytes_unref);
    g_clear_error (&error);
    return;
  }
  raw_write_next (raw);
}

static void
raw_write_next (RawServer * raw)
{
  GBytes *bytes = g_queue_peek_head (&raw->writes);

  if (raw->writing || raw->conn == NULL)
    return;
  if (bytes == NULL) {
    if (raw->close_after_writes)
      g_io_stream_close (raw->conn, NULL, NULL);
    return;
  }
  raw->writing = TRUE;
  g_output_stream_write_all_async (g_io_stream_get_output_stream (raw->conn),
      g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
      G_PRIORITY_DEFAULT, raw->cancellable, on_raw_written, raw);
}

static void
raw_write (RawServer * raw, const void *data, gsize length)
{
  g_queue_push_tail (&raw->writes, g_bytes_new (data, length));
  raw_write_next (raw);
}

static void
raw_write_text (RawServer * raw, const gchar * text)
{
  raw_write (raw, text, strlen (text));
}

static void
raw_close_when_written (RawServer * raw)
{
  raw->close_after_writes = TRUE;
  raw_write_next (raw);
}

/* glib-networking asks a server about every client certificate, valid or
 * not, and refuses it when nobody answers */
static gboolean
on_raw_client_certificate (GTlsConnection * tls,
    GTlsCertificate * certificate, GTlsCertificateFlags errors,
    gpointer user_data)
{
  return errors == 0;
}

static gboolean
on_raw_incoming (GSocketService * service, GSocketConnection * conn,
    GObject * source, gpointer user_data)
{
  RawServer *raw = user_data;

  g_assert_null (raw->conn);
  raw->conn = g_object_ref (G_IO_STREAM (conn));
  if (raw->tls_certificate) {
    GIOStream *tls = g_tls_server_connection_new (raw->conn,
        raw->tls_certificate, NULL);

    g_assert_nonnull (tls);
    g_tls_connection_set_database (G_TLS_CONNECTION (tls),
        raw->tls_client_database);
    g_object_set (tls, "authentication-mode", G_TLS_AUTHENTICATION_REQUIRED,
        NULL);
    g_object_unref (raw->conn);
    raw->conn = tls;
    g_signal_connect (tls, "accept-certificate",
        G_CALLBACK (on_raw_client_certificate), NULL);
  }
  /* a fixed receive buffer: the kernel stops growing it, so a server that
   * stops reading fills up soon and for good */
  g_socket_set_option (g_socket_connection_get_socket (conn), SOL_SOCKET,
      SO_RCVBUF, 64 * 1024, NULL);
  raw_read_more (raw);
  return TRUE;
}

static void
raw_start (RawServer * raw, RawScript script, const gchar * text)
{
  GError *error = NULL;

  memset (raw, 0, sizeof (*raw));
  raw->script = script;
  raw->text = text;
  raw->cancellable = g_cancellable_new ();
  raw->request = g_byte_array_new ();
  raw->received = g_byte_array_new ();
  g_queue_init (&raw->writes);
  raw->service = g_socket_service_new ();
  raw->port = g_socket_listener_add_any_inet_port (G_SOCKET_LISTENER
      (raw->service), NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (raw->service, "incoming", G_CALLBACK (on_raw_incoming),
      raw);
  raw->url = g_strdup_printf ("ws://127.0.0.1:%u/", raw->port);
}

static void
raw_stop (RawServer * raw)
{
  g_cancellable_cancel (raw->cancellable);
  WAIT_UNTIL (!raw->read_pending && !raw->writing && !raw->splicing, WAIT_MS);
  if (raw->conn)
    g_io_stream_close (raw->conn, NULL, NULL);
  g_clear_object (&raw->conn);
  g_clear_object (&raw->relay);
  g_socket_service_stop (raw->service);
  g_socket_listener_close (G_SOCKET_LISTENER (raw->service));
  g_object_unref (raw->service);
  g_object_unref (raw->cancellable);
  g_queue_clear_full (&raw->writes, (GDestroyNotify) g_bytes_unref);
  g_byte_array_unref (raw->request);
  g_byte_array_unref (raw->received);
  g_clear_pointer (&raw->request_headers, soup_message_headers_unref);
  g_free (raw->request_method);
  g_free (raw->request_path);
  g_free (raw->url);
}

/* Sec-WebSocket-Accept for the request's key, computed here the long way
 * round so that a mistake in the client's is not repeated. */
static gchar *
raw_accept_key (RawServer * raw)
{
  const gchar *key = soup_message_headers_get_one (raw->request_headers,
      "Sec-WebSocket-Key");
  gchar *input = g_strconcat (key, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11",
      NULL);
  gchar *hex = g_compute_checksum_for_string (G_CHECKSUM_SHA1, input, -1);
  guint8 digest[20];
  guint i;

  for (i = 0; i < sizeof (digest); i++)
    digest[i] = (g_ascii_xdigit_value (hex[2 * i]) << 4) |
        g_ascii_xdigit_value (hex[2 * i + 1]);
  g_free (hex);
  g_free (input);
  return g_base64_encode (digest, sizeof (digest));
}

/* A valid 101, with @extra (whole header lines) and @after (raw bytes,
 * in the same write) appended. */
static void
raw_accept (RawServer * raw, const gchar * extra, const guint8 * after,
    gsize after_length)
{
  gchar *accept = raw_accept_key (raw);
  gchar *head = g_strdup_printf ("HTTP/1.1 101 Switching Protocols\r\n"
      "Upgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, extra ? extra : "");
  GByteArray *response = g_byte_array_new ();

  g_byte_array_append (response, (const guint8 *) head, strlen (head));
  if (after)
    g_byte_array_append (response, after, after_length);
  raw_write (raw, response->data, response->len);
  g_byte_array_unref (response);
  g_free (head);
  g_free (accept);
}

static void
server_frame (GByteArray * out, guint8 first_byte, const void *payload,
    gsize length)
{
  guint8 header[10];
  gsize h = 0;
  gint shift;

  header[h++] = first_byte;
  if (length < 126) {
    header[h++] = (guint8) length;
  } else if (length < 65536) {
    header[h++] = 126;
    header[h++] = (guint8) (length >> 8);
    header[h++] = (guint8) length;
  } else {
    header[h++] = 127;
    for (shift = 56; shift >= 0; shift -= 8)
      header[h++] = (guint8) ((guint64) length >> shift);
  }
  g_byte_array_append (out, header, h);
  g_byte_array_append (out, payload, length);
}

/* Takes the next whole client frame the raw server received. */
static gboolean
raw_take_client_frame (RawServer * raw, guint8 * first_byte,
    GByteArray * payload)
{
  const guint8 *p = raw->received->data;
  gsize available = raw->received->len, header = 2, i;
  guint64 length;

  if (available < 2)
    return FALSE;
  g_assert_true (p[1] & 0x80);  /* clients always mask */
  length = p[1] & 0x7f;
  if (length == 126)
    header = 4;
  else if (length == 127)
    header = 10;
  header += 4;
  if (available < header)
    return FALSE;
  if (length == 126)
    length = (p[2] << 8) | p[3];
  else if (length == 127)
    for (length = 0, i = 2; i < 10; i++)
      length = (length << 8) | p[i];
  if (available < header + length)
    return FALSE;
  *first_byte = p[0];
  g_byte_array_set_size (payload, length);
  for (i = 0; i < length; i++)
    payload->data[i] = p[header + i] ^ p[header - 4 + (i & 3)];
  g_byte_array_remove_range (raw->received, 0, header + length);
  return TRUE;
}

/* ---- scripts ---------------------------------------------------------- */

static void
script_text (RawServer * raw)
{
  raw_write_text (raw, raw->text);
}

static void
script_text_then_close (RawServer * raw)
{
  raw_write_text (raw, raw->text);
  raw_close_when_written (raw);
}

static void
script_silent (RawServer * raw)
{
}

static void
script_accept (RawServer * raw)
{
  raw_accept (raw, raw->text, NULL, 0);
}

/* raw->text is frame bytes sent right after the 101, in the same write:
 * hex, spaces ignored between bytes, "XX*N" for N bytes XX. */
static void
script_accept_then_frames (RawServer * raw)
{
  GByteArray *bytes = g_byte_array_new ();
  gchar **tokens = g_strsplit (raw->text, " ", -1);
  guint i;

  for (i = 0; tokens[i]; i++) {
    const gchar *p = tokens[i];
    gchar *star = strchr (p, '*');
    guint64 repeat = star ? g_ascii_strtoull (star + 1, NULL, 10) : 1;

    for (; *p && p[1] && p != star; p += 2) {
      guint8 byte = (g_ascii_xdigit_value (p[0]) << 4) |
          g_ascii_xdigit_value (p[1]);
      guint64 n;

      for (n = 0; n < (star ? repeat : 1); n++)
        g_byte_array_append (bytes, &byte, 1);
    }
  }
  raw_accept (raw, NULL, bytes->data, bytes->len);
  g_byte_array_unref (bytes);
  g_strfreev (tokens);
}

/* ---- tests: echo and messages through SoupServer --------------------- */

static void
test_echo (void)
{
  static const gsize sizes[] = { 0, 1, 125, 126, 127, 65535, 65536, 65537,
    1024 * 1024
  };
  SoupFixture fixture;
  Client client;
  guint64 queued = 0;
  guint i;

  open_echo (&fixture, &client);
  g_assert_cmpuint (sio_websocket_get_http_status (client.ws), ==, 101);

  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GBytes *bytes = pattern_bytes (sizes[i], i);

    g_assert_true (sio_websocket_send (client.ws, TRUE,
            g_bytes_get_data (bytes, NULL), sizes[i]));
    queued += frame_size (sizes[i]);
    g_bytes_unref (bytes);
  }
  g_assert_true (sio_websocket_send (client.ws, FALSE, (const guint8 *)
          "h\xc3\xa9llo\0nul", 10));
  queued += frame_size (10);
  g_assert_cmpuint (sio_websocket_get_bytes_written (client.ws) +
      sio_websocket_get_pending (client.ws), ==, queued);
  g_assert_cmpuint (sio_websocket_get_frames_queued (client.ws), ==,
      G_N_ELEMENTS (sizes) + 1);

  WAIT_UNTIL (client.messages->len == G_N_ELEMENTS (sizes) + 1, WAIT_MS);
  g_assert_cmpuint (client.messages->len, ==, G_N_ELEMENTS (sizes) + 1);
  for (i = 0; i < G_N_ELEMENTS (sizes); i++) {
    GBytes *expected = pattern_bytes (sizes[i], i);

    g_assert_true (g_array_index (client.binary, gboolean, i));
    g_assert_true (g_bytes_equal (expected, client.messages->pdata[i]));
    g_bytes_unref (expected);
  }
  g_assert_false (g_array_index (client.binary, gboolean, i));
  g_assert_cmpmem (g_bytes_get_data (client.messages->pdata[i], NULL), 10,
      "h\xc3\xa9llo\0nul", 10);
  g_assert_cmpuint (sio_websocket_get_pending (client.ws), ==, 0);
  g_assert_cmpuint (sio_websocket_get_bytes_written (client.ws), ==, queued);
  g_assert_cmpuint (sio_websocket_get_messages_received (client.ws), ==,
      G_N_ELEMENTS (sizes) + 1);

  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
test_close_handshake (void)
{
  SoupFixture fixture;
  Client client;

  open_echo (&fixture, &client);
  send_text (&client, "last");
  sio_websocket_close (client.ws, 4000, "bye");
  /* nothing more goes out after our close frame */
  g_assert_false (sio_websocket_send (client.ws, FALSE,
          (const guint8 *) "late", 4));
  WAIT_UNTIL (client.closed, WAIT_MS);
  g_assert_true (client.closed);
  g_assert_no_error (client.error);
  WAIT_UNTIL (fixture.conn_closed, WAIT_MS);
  g_assert_cmpuint (fixture.close_code, ==, 4000);
  g_assert_cmpstr (fixture.close_data, ==, "bye");
  /* the server's answer echoes our code */
  g_assert_cmpuint (sio_websocket_get_close_code (client.ws), ==, 4000);
  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
test_closed_by_peer (void)
{
  SoupFixture fixture;
  Client client;

  open_echo (&fixture, &client);
  client.free_in_closed = TRUE;
  send_text (&client, "!close 4001 go away");
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CLOSED_BY_PEER);
  g_assert_nonnull (strstr (client.error->message, "4001: go away"));
  /* the server got our answer: its close handshake completed */
  WAIT_UNTIL (fixture.conn_closed, WAIT_MS);
  g_assert_cmpuint (fixture.close_code, ==, 4001);
  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
test_close_code_getters (void)
{
  SoupFixture fixture;
  Client client;

  open_echo (&fixture, &client);
  send_text (&client, "!close 1001 gone");
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CLOSED_BY_PEER);
  /* still answering after closed() */
  g_assert_cmpuint (sio_websocket_get_close_code (client.ws), ==, 1001);
  g_assert_cmpstr (sio_websocket_get_close_reason (client.ws), ==, "gone");
  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
big_message_test (gsize size, gboolean accepted)
{
  SioWebSocketConfig config = { 0 };
  SoupFixture fixture;
  Client client;
  gchar *command;

  soup_fixture_start (&fixture, NULL);
  client_init (&client);
  config.url = fixture.url;
  config.max_incoming_message = 1024 * 1024;
  client_connect (&client, &config);
  wait_opened (&client);
  command = g_strdup_printf ("!big %" G_GSIZE_FORMAT, size);
  send_text (&client, command);
  g_free (command);
  if (accepted) {
    GBytes *expected = pattern_bytes (size, 7);

    WAIT_UNTIL (client.messages->len == 1 || client.closed, WAIT_MS);
    g_assert_cmpuint (client.messages->len, ==, 1);
    g_assert_true (g_bytes_equal (expected, client.messages->pdata[0]));
    g_bytes_unref (expected);
  } else {
    wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TOO_BIG);
    g_assert_cmpuint (client.messages->len, ==, 0);
    /* we said why */
    WAIT_UNTIL (fixture.conn_closed, WAIT_MS);
    g_assert_cmpuint (fixture.close_code, ==, 1009);
  }
  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
test_large_at_limit (void)
{
  big_message_test (1024 * 1024, TRUE);
}

static void
test_large_over_limit (void)
{
  big_message_test (1024 * 1024 + 1, FALSE);
}

/* ---- tests: the handshake against scripted responses ----------------- */

static void
test_request (void)
{
  static const gchar *const extra[] = { "X-Test", "yes", "Cookie", "a=b",
    NULL
  };
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  SoupMessageHeaders *headers;
  gchar *url, *host;
  guchar *key;
  gsize key_length;

  raw_start (&raw, script_accept, "Set-Cookie: sid=1; Path=/\r\n");
  client_init (&client);
  url = g_strdup_printf ("ws://127.0.0.1:%u/chat/?EIO=4&x=%%20y", raw.port);
  config.url = url;
  config.extra_headers = extra;
  config.user_agent = "test-agent/1";
  client_connect (&client, &config);
  wait_opened (&client);

  g_assert_cmpstr (raw.request_path, ==, "/chat/?EIO=4&x=%20y");
  g_assert_true (g_str_has_prefix ((const gchar *) raw.request->data,
          "GET /chat/?EIO=4&x=%20y HTTP/1.1\r\n"));
  headers = raw.request_headers;
  host = g_strdup_printf ("127.0.0.1:%u", raw.port);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Host"), ==, host);
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Upgrade"), ==,
      "websocket");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Connection"), ==,
      "Upgrade");
  g_assert_cmpstr (soup_message_headers_get_one (headers,
          "Sec-WebSocket-Version"), ==, "13");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "User-Agent"), ==,
      "test-agent/1");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Test"), ==, "yes");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Cookie"), ==, "a=b");
  key = g_base64_decode (soup_message_headers_get_one (headers,
          "Sec-WebSocket-Key"), &key_length);
  g_assert_cmpuint (key_length, ==, 16);
  g_assert_null (soup_message_headers_get_one (headers,
          "Sec-WebSocket-Extensions"));

  /* the response's headers are there for the caller */
  g_assert_cmpstr (soup_message_headers_get_one
      (sio_websocket_get_response_headers (client.ws), "Set-Cookie"), ==,
      "sid=1; Path=/");
  /* nothing but the GET counts as written yet */
  g_assert_cmpuint (sio_websocket_get_bytes_written (client.ws), ==, 0);

  g_free (key);
  g_free (host);
  g_free (url);
  client_clear (&client);
  raw_stop (&raw);
}

/* @script answers the GET; the client must end with @code. */
typedef struct
{
  const gchar *name;
  RawScript script;
  const gchar *text;
  SioWebSocketError code;
  guint http_status;
} HandshakeFailure;

static const HandshakeFailure handshake_failures[] = {
  {"http-500", script_text_then_close, "HTTP/1.1 500 Internal Server Error"
        "\r\nContent-Length: 0\r\n\r\n", SIO_WEBSOCKET_ERROR_HTTP_STATUS, 500},
  {"http-404", script_text, "HTTP/1.1 404 Not Found\r\nContent-Length: 9"
        "\r\n\r\nnot found", SIO_WEBSOCKET_ERROR_HTTP_STATUS, 404},
  {"101-without-upgrade", script_text, "HTTP/1.1 101 Switching Protocols"
        "\r\nConnection: Upgrade\r\n\r\n", SIO_WEBSOCKET_ERROR_HANDSHAKE, 101},
  {"101-without-connection", script_text, "HTTP/1.1 101 Switching Protocols"
        "\r\nUpgrade: websocket\r\n\r\n", SIO_WEBSOCKET_ERROR_HANDSHAKE, 101},
  {"wrong-accept", script_text, "HTTP/1.1 101 Switching Protocols\r\n"
        "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "
        "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", SIO_WEBSOCKET_ERROR_HANDSHAKE,
      101},
  {"unoffered-extension", script_accept, "Sec-WebSocket-Extensions: "
        "permessage-deflate\r\n", SIO_WEBSOCKET_ERROR_HANDSHAKE, 101},
  {"garbage", script_text_then_close, "\x16\x03\x01garbage, not HTTP",
      SIO_WEBSOCKET_ERROR_HANDSHAKE, 0},
  {"garbage-head", script_text, "SSH-2.0-OpenSSH_9.2\r\n\r\n",
      SIO_WEBSOCKET_ERROR_HANDSHAKE, 0},
};

/* An IPv6 literal keeps its brackets in Host. */
static void
test_request_ipv6 (void)
{
  GInetAddress *loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  GSocketAddress *address = g_inet_socket_address_new (loopback, 0);
  GSocketAddress *bound = NULL;
  RawServer raw;
  Client client;
  gchar *url, *host;
  guint port;

  raw_start (&raw, script_accept, NULL);
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (raw.service),
          address, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL, &bound,
          NULL)) {
    g_test_skip ("no IPv6 loopback");
    raw_stop (&raw);
    g_object_unref (address);
    g_object_unref (loopback);
    return;
  }
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  url = g_strdup_printf ("ws://[::1]:%u/v6", port);
  client_init (&client);
  client_connect_url (&client, url);
  wait_opened (&client);
  host = g_strdup_printf ("[::1]:%u", port);
  g_assert_cmpstr (soup_message_headers_get_one (raw.request_headers, "Host"),
      ==, host);
  client_clear (&client);
  raw_stop (&raw);
  g_object_unref (bound);
  g_object_unref (address);
  g_object_unref (loopback);
  g_free (host);
  g_free (url);
}

/* The script answers the GET; the client must end with the case's code. */
static void
test_handshake_failure (gconstpointer data)
{
  const HandshakeFailure *failure = data;
  RawServer raw;
  Client client;

  raw_start (&raw, failure->script, failure->text);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_closed_with (&client, failure->code);
  g_assert_false (client.opened);
  g_assert_cmpuint (sio_websocket_get_http_status (client.ws), ==,
      failure->http_status);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_http_302 (void)
{
  RawServer raw;
  Client client;

  raw_start (&raw, script_text, "HTTP/1.1 302 Found\r\n"
      "Location: http://127.0.0.1:1/elsewhere\r\nContent-Length: 0\r\n\r\n");
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_HTTP_STATUS);
  g_assert_cmpuint (sio_websocket_get_http_status (client.ws), ==, 302);
  g_assert_nonnull (strstr (client.error->message,
          "http://127.0.0.1:1/elsewhere"));
  g_assert_cmpstr (soup_message_headers_get_one
      (sio_websocket_get_response_headers (client.ws), "Location"), ==,
      "http://127.0.0.1:1/elsewhere");
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_headers_too_long (void)
{
  HandshakeFailure failure = { NULL, script_text, NULL,
    SIO_WEBSOCKET_ERROR_HANDSHAKE, 0
  };
  GString *text = g_string_new ("HTTP/1.1 101 Switching Protocols\r\n");

  while (text->len < 20 * 1024)
    g_string_append (text, "X-Padding: 0123456789012345678901234567890\r\n");
  g_string_append (text, "\r\n");
  failure.text = text->str;
  test_handshake_failure (&failure);
  g_string_free (text, TRUE);
}

static void
test_handshake_timeout (void)
{
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  gint64 start;

  raw_start (&raw, script_silent, NULL);
  client_init (&client);
  config.url = raw.url;
  config.handshake_timeout_ms = 300;
  start = g_get_monotonic_time ();
  client_connect (&client, &config);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 3000 * 1000);
  g_assert_true (raw.head_done);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_connection_refused (void)
{
  GSocketListener *listener = g_socket_listener_new ();
  Client client;
  gchar *url;
  guint port;

  /* a port that was free a moment ago */
  port = g_socket_listener_add_any_inet_port (listener, NULL, NULL);
  g_socket_listener_close (listener);
  g_object_unref (listener);
  url = g_strdup_printf ("ws://127.0.0.1:%u/", port);
  client_init (&client);
  client_connect_url (&client, url);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CONNECT_FAILED);
  client_clear (&client);
  g_free (url);
}

static void
test_invalid_url (void)
{
  static const gchar *const urls[] = { "ftp://127.0.0.1/", "not a url",
    "ws:///nohost", ""
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (urls); i++) {
    Client client;

    client_init (&client);
    client_connect_url (&client, urls[i]);
    /* reported from the main loop, never from inside connect() */
    g_assert_false (client.closed);
    wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CONNECT_FAILED);
    client_clear (&client);
  }
}

static void
test_invalid_header (void)
{
  static const gchar *const extra[] = { "X-Evil", "a\r\nHost: other", NULL };
  SioWebSocketConfig config = { 0 };
  Client client;

  client_init (&client);
  config.url = "ws://127.0.0.1:1/";
  config.extra_headers = extra;
  client_connect (&client, &config);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CONNECT_FAILED);
  client_clear (&client);
}

/* ---- tests: frames from a scripted server ---------------------------- */

static void
test_frames_after_head (void)
{
  RawServer raw;
  Client client;

  /* "hello", then "Hé" in two fragments that cut the é, with a ping
   * between them, all in the same write as the 101 */
  raw_start (&raw, script_accept_then_frames, "81 05 68656c6c6f "
      "01 02 48c3 89 04 70696e67 80 01 a9");
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  WAIT_UNTIL (client.messages->len == 2, WAIT_MS);
  g_assert_cmpuint (client.messages->len, ==, 2);
  g_assert_cmpmem (g_bytes_get_data (client.messages->pdata[0], NULL),
      g_bytes_get_size (client.messages->pdata[0]), "hello", 5);
  g_assert_cmpmem (g_bytes_get_data (client.messages->pdata[1], NULL),
      g_bytes_get_size (client.messages->pdata[1]), "H\xc3\xa9", 3);
  g_assert_false (g_array_index (client.binary, gboolean, 1));
  client_clear (&client);
  raw_stop (&raw);
}

static void
script_ping (RawServer * raw)
{
  GByteArray *frames = g_byte_array_new ();

  server_frame (frames, 0x89, "are you there", 13);
  server_frame (frames, 0x89, "", 0);
  raw_accept (raw, NULL, frames->data, frames->len);
  g_byte_array_unref (frames);
}

static void
test_ping_pong (void)
{
  GByteArray *payload = g_byte_array_new ();
  RawServer raw;
  Client client;
  guint8 first;

  raw_start (&raw, script_ping, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  WAIT_UNTIL (raw.received->len >= 2 * 6 + 13, WAIT_MS);
  g_assert_true (raw_take_client_frame (&raw, &first, payload));
  g_assert_cmphex (first, ==, 0x8a);
  g_assert_cmpmem (payload->data, payload->len, "are you there", 13);
  g_assert_true (raw_take_client_frame (&raw, &first, payload));
  g_assert_cmphex (first, ==, 0x8a);
  g_assert_cmpuint (payload->len, ==, 0);
  g_assert_false (client.closed);
  g_byte_array_unref (payload);
  client_clear (&client);
  raw_stop (&raw);
}

typedef struct
{
  const gchar *name;
  const gchar *frames;          /* see script_accept_then_frames() */
  SioWebSocketError code;
  gushort close_code;           /* what we must tell the server */
} FrameFailure;

/* Against a limit of 1000 bytes. */
static const FrameFailure frame_failures[] = {
  {"masked-server-frame", "81 82 01020304 6967",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"reserved-bits", "c1 00", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"unknown-data-opcode", "83 00", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"unknown-control-opcode", "8b 00", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"fragmented-control", "09 00", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"control-too-long", "89 7e 007e 61*126", SIO_WEBSOCKET_ERROR_PROTOCOL,
      1002},
  {"invalid-utf8", "81 02 c328", SIO_WEBSOCKET_ERROR_PROTOCOL, 1007},
  /* after the ASCII run read eight bytes at a time, in a word and after */
  {"invalid-utf8-after-ascii", "81 0b 6161616161616161 61 c328",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1007},
  {"invalid-utf8-in-second-word", "81 10 6161616161616161 616161ff61616161",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1007},
  {"invalid-utf8-after-nul", "81 0a 6100616161616161 c328",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1007},
  /* a character cut by a fragment boundary is fine, a bad one is not */
  {"invalid-utf8-fragmented", "01 01 c3 80 01 28",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1007},
  {"continuation-without-start", "80 01 61", SIO_WEBSOCKET_ERROR_PROTOCOL,
      1002},
  {"message-inside-fragments", "01 01 61 81 01 62",
      SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"close-with-1-byte", "88 01 03", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"close-with-code-1005", "88 02 03ed", SIO_WEBSOCKET_ERROR_PROTOCOL, 1002},
  {"close-reason-not-utf8", "88 04 03e8 c328", SIO_WEBSOCKET_ERROR_PROTOCOL,
      1007},
  /* 2^63 is no valid length; 2^62 is refused before any allocation (an
   * attempt would abort the test) */
  {"length-2^63", "82 7f 8000000000000000", SIO_WEBSOCKET_ERROR_PROTOCOL,
      1002},
  {"length-2^62", "82 7f 4000000000000000", SIO_WEBSOCKET_ERROR_TOO_BIG, 1009},
  {"one-over-limit", "82 7e 03e9", SIO_WEBSOCKET_ERROR_TOO_BIG, 1009},
  /* 600 + 600: refused at the second fragment's header */
  {"fragments-over-limit", "02 7e 0258 00*600 80 7e 0258",
      SIO_WEBSOCKET_ERROR_TOO_BIG, 1009},
};

static void
test_frame_failure (gconstpointer data)
{
  const FrameFailure *failure = data;
  GByteArray *payload = g_byte_array_new ();
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  guint8 first;

  raw_start (&raw, script_accept_then_frames, failure->frames);
  client_init (&client);
  config.url = raw.url;
  config.max_incoming_message = 1000;
  client_connect (&client, &config);
  wait_closed_with (&client, failure->code);
  g_assert_true (client.opened);
  g_assert_cmpuint (client.messages->len, ==, 0);

  /* we told the server why before closing */
  WAIT_UNTIL (raw.eof, WAIT_MS);
  g_assert_true (raw_take_client_frame (&raw, &first, payload));
  g_assert_cmphex (first, ==, 0x88);
  g_assert_cmpuint (payload->len, ==, 2);
  g_assert_cmpuint ((payload->data[0] << 8) | payload->data[1], ==,
      failure->close_code);
  g_byte_array_unref (payload);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_cut_mid_frame (void)
{
  RawServer raw;
  Client client;
  guint8 partial[4 + 100] = { 0x82, 0x7e, 0x10, 0x00 };

  raw_start (&raw, script_accept, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  raw_write (&raw, partial, sizeof (partial));
  raw_close_when_written (&raw);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_CONNECTION_LOST);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_close_timeout (void)
{
  GByteArray *payload = g_byte_array_new ();
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  gint64 start;
  guint8 first;

  raw_start (&raw, script_accept, NULL);
  client_init (&client);
  config.url = raw.url;
  config.close_timeout_ms = 200;
  client_connect (&client, &config);
  wait_opened (&client);
  start = g_get_monotonic_time ();
  sio_websocket_close (client.ws, 1000, "bye");
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TIMEOUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 200 * 1000);
  g_assert_true (raw_take_client_frame (&raw, &first, payload));
  g_assert_cmphex (first, ==, 0x88);
  g_assert_cmpmem (payload->data, payload->len, "\x03\xe8" "bye", 5);
  g_byte_array_unref (payload);
  client_clear (&client);
  raw_stop (&raw);
}

/* Our reason is cut to fit on a character boundary; a message the server
 * sends before its answer still arrives. */
static void
test_close_reason_and_late_message (void)
{
  GByteArray *payload = g_byte_array_new ();
  GByteArray *frames = g_byte_array_new ();
  GString *reason = g_string_new (NULL);
  RawServer raw;
  Client client;
  guint8 first;

  while (reason->len < 200)
    g_string_append (reason, "\xc3\xa9");       /* é, 2 bytes */
  raw_start (&raw, script_accept, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  sio_websocket_close (client.ws, 4321, reason->str);
  WAIT_UNTIL (raw_take_client_frame (&raw, &first, payload), WAIT_MS);
  g_assert_cmphex (first, ==, 0x88);
  /* 2 bytes of code and 61 é: 124 bytes, the most that fits in 125 */
  g_assert_cmpuint (payload->len, ==, 124);
  g_assert_cmpuint ((payload->data[0] << 8) | payload->data[1], ==, 4321);
  g_assert_cmpmem (payload->data + 2, 122, reason->str, 122);

  server_frame (frames, 0x81, "late", 4);
  server_frame (frames, 0x88, "\x10\xe1", 2);
  raw_write (&raw, frames->data, frames->len);
  WAIT_UNTIL (client.closed, WAIT_MS);
  g_assert_no_error (client.error);
  g_assert_cmpuint (client.messages->len, ==, 1);
  g_assert_cmpuint (sio_websocket_get_close_code (client.ws), ==, 4321);

  g_byte_array_unref (payload);
  g_byte_array_unref (frames);
  g_string_free (reason, TRUE);
  client_clear (&client);
  raw_stop (&raw);
}

/* ---- tests: backpressure and teardown -------------------------------- */

/* Fills the socket towards a server that stopped reading, until the
 * kernel takes nothing more even given time (its buffers grow for a
 * while); returns the bytes queued. */
static guint64
fill_until_stuck (Client * client)
{
  GBytes *bytes = pattern_bytes (256 * 1024, 1);
  guint64 queued = 0;
  guint rounds;

  for (rounds = 0; rounds < 100; rounds++) {
    while (sio_websocket_get_pending (client->ws) < 1024 * 1024) {
      g_assert_true (sio_websocket_send (client->ws, TRUE,
              g_bytes_get_data (bytes, NULL), 256 * 1024));
      queued += frame_size (256 * 1024);
    }
    WAIT_UNTIL (FALSE, 50);
    if (sio_websocket_get_pending (client->ws) >= 1024 * 1024)
      break;
  }
  g_bytes_unref (bytes);
  g_assert_cmpuint (sio_websocket_get_pending (client->ws), >=, 1024 * 1024);
  return queued;
}

static void
test_frozen_reader (void)
{
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  GBytes *bytes = pattern_bytes (65536, 3);
  guint64 queued;
  gsize before;
  guint i;

  raw_start (&raw, script_accept, NULL);
  raw.discard = TRUE;
  client_init (&client);
  config.url = raw.url;
  config.low_water = 16 * 1024;
  client_connect (&client, &config);
  wait_opened (&client);
  raw.paused = TRUE;

  queued = fill_until_stuck (&client);
  WAIT_UNTIL (FALSE, 100);
  before = sio_websocket_get_pending (client.ws);
  for (i = 0; i < 8; i++) {
    g_assert_true (sio_websocket_send (client.ws, TRUE,
            g_bytes_get_data (bytes, NULL), 65536));
    queued += frame_size (65536);
  }
  WAIT_UNTIL (FALSE, 100);
  /* only what was sent, whole frames, nothing of its own */
  g_assert_cmpuint (sio_websocket_get_pending (client.ws), <=,
      before + 8 * frame_size (65536));
  g_assert_cmpuint (sio_websocket_get_pending (client.ws) +
      sio_websocket_get_bytes_written (client.ws), ==, queued);
  g_assert_cmpuint (client.writable, ==, 0);

  /* the server reads again: everything drains and writable() says so */
  raw.paused = FALSE;
  raw_read_more (&raw);
  WAIT_UNTIL (client.writable > 0, WAIT_MS);
  g_assert_cmpuint (client.writable, ==, 1);
  WAIT_UNTIL (raw.received_total == queued, WAIT_MS);
  g_assert_cmpuint (raw.received_total, ==, queued);
  g_assert_cmpuint (sio_websocket_get_pending (client.ws), ==, 0);
  g_assert_false (client.closed);

  g_bytes_unref (bytes);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_free_with_frozen_reader (void)
{
  RawServer raw;
  Client client;
  gint64 start;

  raw_start (&raw, script_accept, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  raw.paused = TRUE;
  fill_until_stuck (&client);
  sio_websocket_close (client.ws, 1000, NULL);

  start = g_get_monotonic_time ();
  sio_websocket_free (client.ws);
  client.ws = NULL;
  g_assert_cmpint (g_get_monotonic_time () - start, <, 100 * 1000);
  WAIT_UNTIL (FALSE, 50);
  g_assert_false (client.closed);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_free_while_connecting (void)
{
  Client client;
  RawServer raw;

  raw_start (&raw, script_silent, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  sio_websocket_free (client.ws);
  client.ws = NULL;
  WAIT_UNTIL (FALSE, 100);
  g_assert_false (client.closed);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_free_while_upgrading (void)
{
  Client client;
  RawServer raw;

  raw_start (&raw, script_silent, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  WAIT_UNTIL (raw.head_done, WAIT_MS);
  sio_websocket_free (client.ws);
  client.ws = NULL;
  WAIT_UNTIL (raw.eof, WAIT_MS);
  g_assert_true (raw.eof);
  g_assert_false (client.closed);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_free_mid_frame (void)
{
  Client client;
  RawServer raw;

  /* 4096 bytes announced, 3 sent */
  raw_start (&raw, script_accept_then_frames, "82 7e 1000 616263");
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  WAIT_UNTIL (FALSE, 50);
  sio_websocket_free (client.ws);
  client.ws = NULL;
  WAIT_UNTIL (raw.eof, WAIT_MS);
  g_assert_false (client.closed);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_free_in_message (void)
{
  Client client;
  RawServer raw;

  /* two messages in one read: the second is never delivered */
  raw_start (&raw, script_accept_then_frames, "81 01 61 81 01 62");
  client_init (&client);
  client.free_in_message = TRUE;
  client_connect_url (&client, raw.url);
  WAIT_UNTIL (client.messages->len > 0, WAIT_MS);
  WAIT_UNTIL (FALSE, 50);
  g_assert_cmpuint (client.messages->len, ==, 1);
  g_assert_false (client.closed);
  client_clear (&client);
  raw_stop (&raw);
}

static void
test_close_in_opened (void)
{
  SoupFixture fixture;
  Client client;

  soup_fixture_start (&fixture, NULL);
  client_init (&client);
  client.close_in_opened = TRUE;
  client.free_in_closed = TRUE;
  client_connect_url (&client, fixture.url);
  WAIT_UNTIL (client.closed, WAIT_MS);
  g_assert_true (client.opened);
  g_assert_no_error (client.error);
  client_clear (&client);
  soup_fixture_stop (&fixture);
}

static void
test_close_before_open (void)
{
  Client client;
  RawServer raw;

  raw_start (&raw, script_silent, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  sio_websocket_close (client.ws, 1000, NULL);
  g_assert_false (client.closed);
  WAIT_UNTIL (client.closed, WAIT_MS);
  g_assert_true (client.closed);
  g_assert_no_error (client.error);
  g_assert_false (client.opened);
  client_clear (&client);
  raw_stop (&raw);
}

static void
script_accept_then_pause (RawServer * raw)
{
  raw_accept (raw, NULL, NULL, 0);
  raw->paused = TRUE;
}

static void
test_ping_flood_to_frozen_reader (void)
{
  GByteArray *pings = g_byte_array_new ();
  guint8 payload[125] = { 0 };
  RawServer raw;
  Client client;
  guint64 frames;
  guint i;

  raw_start (&raw, script_accept_then_pause, NULL);
  client_init (&client);
  client_connect_url (&client, raw.url);
  wait_opened (&client);
  fill_until_stuck (&client);
  frames = sio_websocket_get_frames_queued (client.ws);

  /* 2000 pings, then a message that shows they were all read */
  for (i = 0; i < 2000; i++)
    server_frame (pings, 0x89, payload, sizeof (payload));
  server_frame (pings, 0x81, "done", 4);
  raw_write (&raw, pings->data, pings->len);
  WAIT_UNTIL (client.messages->len == 1, WAIT_MS);
  g_assert_cmpuint (client.messages->len, ==, 1);
  /* a pong waits for the socket, so the later pings went unanswered (the
   * kernel may take a little meanwhile, letting a few more through) */
  g_assert_cmpuint (sio_websocket_get_frames_queued (client.ws) - frames, <=,
      20);
  g_assert_false (client.closed);
  g_byte_array_unref (pings);
  client_clear (&client);
  raw_stop (&raw);
}

#define MANY_CLIENTS 32
#define MANY_MESSAGES 20

/* Many connections driven by one thread, all sending at once. */
static void
test_many_connections (void)
{
  SoupFixture fixture;
  Client clients[MANY_CLIENTS];
  gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  gboolean done;
  guint i, j;

  soup_fixture_start (&fixture, NULL);
  for (i = 0; i < MANY_CLIENTS; i++) {
    client_init (&clients[i]);
    client_connect_url (&clients[i], fixture.url);
  }
  for (i = 0; i < MANY_CLIENTS; i++)
    wait_opened (&clients[i]);
  for (j = 0; j < MANY_MESSAGES; j++) {
    for (i = 0; i < MANY_CLIENTS; i++) {
      GBytes *bytes = pattern_bytes (j * 4000, i + j);

      g_assert_true (sio_websocket_send (clients[i].ws, TRUE,
              g_bytes_get_data (bytes, NULL), j * 4000));
      g_bytes_unref (bytes);
    }
  }
  do {
    WAIT_UNTIL (FALSE, 10);
    done = TRUE;
    for (i = 0; i < MANY_CLIENTS; i++)
      done &= clients[i].messages->len == MANY_MESSAGES;
  } while (!done && g_get_monotonic_time () < deadline);

  for (i = 0; i < MANY_CLIENTS; i++) {
    g_assert_cmpuint (clients[i].messages->len, ==, MANY_MESSAGES);
    for (j = 0; j < MANY_MESSAGES; j++) {
      GBytes *expected = pattern_bytes (j * 4000, i + j);

      g_assert_true (g_bytes_equal (expected, clients[i].messages->pdata[j]));
      g_bytes_unref (expected);
    }
    sio_websocket_close (clients[i].ws, 1000, NULL);
  }
  for (i = 0; i < MANY_CLIENTS; i++) {
    WAIT_UNTIL (clients[i].closed, WAIT_MS);
    g_assert_true (clients[i].closed);
    g_assert_no_error (clients[i].error);
    client_clear (&clients[i]);
  }
  soup_fixture_stop (&fixture);
}

/* ---- tests: TLS ------------------------------------------------------- */

typedef enum
{
  TLS_DEFAULT,
  TLS_TEST_CA,
  TLS_ACCEPT_INVALID,
} TlsMode;

static void
tls_test (TlsMode mode)
{
  SioWebSocketConfig config = { 0 };
  GTlsDatabase *database = NULL;
  GError *error = NULL;
  SoupFixture fixture;
  Client client;
  SioTestPki pki;

  if (!sio_test_pki_make (&pki)) {
    g_test_skip ("no openssl to make a certificate");
    return;
  }
  soup_fixture_start (&fixture, pki.certificate);
  client_init (&client);
  config.url = fixture.url;
  if (mode != TLS_DEFAULT && mode != TLS_ACCEPT_INVALID) {
    database = g_tls_file_database_new (pki.ca_file, &error);
    g_assert_no_error (error);
    config.tls_database = database;
  }
  config.tls_accept_invalid = mode == TLS_ACCEPT_INVALID;
  client_connect (&client, &config);
  if (mode == TLS_DEFAULT) {
    wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TLS);
    g_assert_cmphex (sio_websocket_get_tls_errors (client.ws) &
        G_TLS_CERTIFICATE_UNKNOWN_CA, ==, G_TLS_CERTIFICATE_UNKNOWN_CA);
    g_assert_nonnull (strstr (client.error->message, "unknown CA"));
  } else {
    wait_opened (&client);
    g_assert_true (sio_websocket_send (client.ws, TRUE,
            (const guint8 *) "secret", 6));
    WAIT_UNTIL (client.messages->len == 1, WAIT_MS);
    g_assert_cmpuint (client.messages->len, ==, 1);
    if (mode == TLS_TEST_CA)
      g_assert_cmphex (sio_websocket_get_tls_errors (client.ws), ==, 0);
  }
  client_clear (&client);
  g_clear_object (&database);
  soup_fixture_stop (&fixture);
  sio_test_pki_clear (&pki);
}

static void
test_tls_refused_by_default (void)
{
  tls_test (TLS_DEFAULT);
}

static void
test_tls_test_ca (void)
{
  tls_test (TLS_TEST_CA);
}

static void
test_tls_accept_invalid (void)
{
  tls_test (TLS_ACCEPT_INVALID);
}

/* A raw TLS server that requires a client certificate from the test CA;
 * the interaction gives ours, or there is none. */
static void
client_certificate_test (gboolean give)
{
  SioWebSocketConfig config = { 0 };
  GTlsInteraction *interaction = NULL;
  GTlsDatabase *database;
  RawServer raw;
  Client client;
  SioTestPki pki;
  gchar *url;

  if (!sio_test_pki_make (&pki)) {
    g_test_skip ("no openssl to make a certificate");
    return;
  }
  database = g_tls_file_database_new (pki.ca_file, NULL);
  raw_start (&raw, script_accept_then_frames, "81 02 6f6b");
  raw.tls_certificate = pki.certificate;
  raw.tls_client_database = database;
  url = g_strdup_printf ("wss://127.0.0.1:%u/", raw.port);
  client_init (&client);
  config.url = url;
  config.tls_database = database;
  if (give) {
    interaction = sio_test_interaction_new (pki.client_certificate);
    config.tls_interaction = interaction;
  }
  client_connect (&client, &config);
  if (give) {
    WAIT_UNTIL (client.messages->len == 1 || client.closed, WAIT_MS);
    g_assert_cmpuint (client.messages->len, ==, 1);
    g_assert_cmpuint (sio_test_interaction_get_requests (interaction), ==, 1);
  } else {
    /* TLS 1.3 tells us after our side of the handshake, on a read or a
     * write */
    wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TLS);
  }
  client_clear (&client);
  raw_stop (&raw);
  g_clear_object (&interaction);
  g_object_unref (database);
  g_free (url);
  sio_test_pki_clear (&pki);
}

static void
test_tls_client_certificate (void)
{
  client_certificate_test (TRUE);
}

static void
test_tls_no_client_certificate (void)
{
  client_certificate_test (FALSE);
}

/* A server that accepts TCP and never speaks TLS: the handshake timeout
 * ends it, cancelling GIO's TLS handshake. */
static void
test_tls_handshake_timeout (void)
{
  SioWebSocketConfig config = { 0 };
  RawServer raw;
  Client client;
  gchar *url;

  raw_start (&raw, script_silent, NULL);
  url = g_strdup_printf ("wss://127.0.0.1:%u/", raw.port);
  client_init (&client);
  config.url = url;
  config.handshake_timeout_ms = 300;
  client_connect (&client, &config);
  wait_closed_with (&client, SIO_WEBSOCKET_ERROR_TIMEOUT);
  g_assert_nonnull (strstr (client.error->message, "while connecting"));
  client_clear (&client);
  raw_stop (&raw);
  g_free (url);
}

/* ---- tests: an HTTP CONNECT proxy ------------------------------------ */

static void
on_spliced (GObject * source, GAsyncResult * result, gpointer user_data)
{
  RawServer *raw = user_data;

  g_io_stream_splice_finish (result, NULL);
  raw->splicing = FALSE;
}

/* A RawServer script: an HTTP proxy that wants the credentials in
 * raw->text, then relays to the CONNECT target. */
static void
script_connect_proxy (RawServer * raw)
{
  const gchar *auth = soup_message_headers_get_one (raw->request_headers,
      "Proxy-Authorization");
  const gchar *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
  GSocketClient *socket_client;
  gchar *expected;

  g_assert_cmpstr (raw->request_method, ==, "CONNECT");
  expected = g_base64_encode ((const guchar *) raw->text, strlen (raw->text));
  if (!g_str_has_prefix (auth ? auth : "", "Basic ") ||
      strcmp (auth + 6, expected) != 0) {
    raw_write_text (raw, "HTTP/1.1 407 Proxy Authentication Required\r\n"
        "Content-Length: 0\r\n\r\n");
    raw_close_when_written (raw);
    g_free (expected);
    return;
  }
  g_free (expected);

  socket_client = g_socket_client_new ();
  raw->relay = G_IO_STREAM (g_socket_client_connect_to_host (socket_client,
          raw->request_path, 0, NULL, NULL));
  g_assert_nonnull (raw->relay);
  g_object_unref (socket_client);
  /* from here on the splice reads, not the raw server */
  raw->paused = TRUE;
  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream
          (raw->conn), ok, strlen (ok), NULL, NULL, NULL));
  raw->splicing = TRUE;
  g_io_stream_splice_async (raw->conn, raw->relay, G_IO_STREAM_SPLICE_NONE,
      G_PRIORITY_DEFAULT, raw->cancellable, on_spliced, raw);
}

static void
proxy_test (const gchar * password, gboolean accepted, gboolean tls)
{
  SioWebSocketConfig config = { 0 };
  GTlsDatabase *database = NULL;
  GProxyResolver *resolver;
  SoupFixture fixture;
  RawServer proxy;
  Client client;
  SioTestPki pki;
  gchar *proxy_uri, *target;
  GUri *uri;

  if (tls && !sio_test_pki_make (&pki)) {
    g_test_skip ("no openssl to make a certificate");
    return;
  }
  soup_fixture_start (&fixture, tls ? pki.certificate : NULL);
  raw_start (&proxy, script_connect_proxy, "user:pw");
  proxy_uri = g_strdup_printf ("http://user:%s@127.0.0.1:%u", password,
      proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);

  client_init (&client);
  config.url = fixture.url;
  config.proxy_resolver = resolver;
  if (tls) {
    database = g_tls_file_database_new (pki.ca_file, NULL);
    config.tls_database = database;
  }
  client_connect (&client, &config);
  if (accepted) {
    wait_opened (&client);
    g_assert_true (sio_websocket_send (client.ws, FALSE,
            (const guint8 *) "via proxy", 9));
    WAIT_UNTIL (client.messages->len == 1, WAIT_MS);
    g_assert_cmpuint (client.messages->len, ==, 1);
  } else {
    wait_closed_with (&client, SIO_WEBSOCKET_ERROR_PROXY);
  }
  uri = g_uri_parse (fixture.url, G_URI_FLAGS_NONE, NULL);
  target = g_strdup_printf ("127.0.0.1:%d", g_uri_get_port (uri));
  g_uri_unref (uri);
  g_assert_cmpstr (proxy.request_path, ==, target);

  client_clear (&client);
  soup_fixture_stop (&fixture);
  raw_stop (&proxy);
  g_clear_object (&database);
  g_object_unref (resolver);
  g_free (proxy_uri);
  g_free (target);
  if (tls)
    sio_test_pki_clear (&pki);
}

static void
test_proxy (void)
{
  proxy_test ("pw", TRUE, FALSE);
}

static void
test_proxy_refused (void)
{
  proxy_test ("wrong", FALSE, FALSE);
}

static void
test_proxy_tls (void)
{
  proxy_test ("pw", TRUE, TRUE);
}

/* Every length around the widths the masking loop works in (16, 8, 1
 * bytes) unmasks to what went in, with the header RFC 6455 asks for. */
static void
test_encode_frame_lengths (void)
{
  guint8 data[300], frame[320];
  guint32 mask_state = 0x12345679;
  gsize length, i;

  for (i = 0; i < sizeof (data); i++)
    data[i] = (guint8) (i * 31 + 7);
  for (length = 0; length < sizeof (data); length++) {
    gsize size = sio_websocket_frame_size (length);
    gsize header = length < 126 ? 2 : 4;

    g_assert_cmpuint (size, ==, header + 4 + length);
    memset (frame, 0xee, sizeof (frame));
    sio_websocket_encode_frame (frame, 0x2, data, length, &mask_state);
    g_assert_cmpuint (frame[0], ==, 0x82);
    g_assert_cmpuint (frame[1] & 0x80, ==, 0x80);
    if (length < 126)
      g_assert_cmpuint (frame[1] & 0x7f, ==, length);
    else
      g_assert_cmpuint ((frame[2] << 8) | frame[3], ==, length);
    for (i = 0; i < length; i++)
      g_assert_cmpuint (frame[header + 4 + i] ^ frame[header + (i & 3)], ==,
          data[i]);
    /* nothing written past the frame */
    g_assert_cmpuint (frame[size], ==, 0xee);
  }
}

int
main (int argc, char **argv)
{
  guint i;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/websocket/encode-frame-lengths",
      test_encode_frame_lengths);
  g_test_add_func ("/websocket/echo", test_echo);
  g_test_add_func ("/websocket/close-handshake", test_close_handshake);
  g_test_add_func ("/websocket/closed-by-peer", test_closed_by_peer);
  g_test_add_func ("/websocket/close-code-getters", test_close_code_getters);
  g_test_add_func ("/websocket/large-at-limit", test_large_at_limit);
  g_test_add_func ("/websocket/large-over-limit", test_large_over_limit);
  g_test_add_func ("/websocket/request", test_request);
  g_test_add_func ("/websocket/request-ipv6", test_request_ipv6);
  for (i = 0; i < G_N_ELEMENTS (handshake_failures); i++) {
    gchar *path = g_strconcat ("/websocket/handshake/",
        handshake_failures[i].name, NULL);

    g_test_add_data_func (path, &handshake_failures[i], test_handshake_failure);
    g_free (path);
  }
  g_test_add_func ("/websocket/handshake/http-302", test_http_302);
  g_test_add_func ("/websocket/handshake/headers-too-long",
      test_headers_too_long);
  g_test_add_func ("/websocket/handshake-timeout", test_handshake_timeout);
  g_test_add_func ("/websocket/connection-refused", test_connection_refused);
  g_test_add_func ("/websocket/invalid-url", test_invalid_url);
  g_test_add_func ("/websocket/invalid-header", test_invalid_header);
  g_test_add_func ("/websocket/frames-after-head", test_frames_after_head);
  g_test_add_func ("/websocket/ping-pong", test_ping_pong);
  for (i = 0; i < G_N_ELEMENTS (frame_failures); i++) {
    gchar *path = g_strconcat ("/websocket/frames/", frame_failures[i].name,
        NULL);

    g_test_add_data_func (path, &frame_failures[i], test_frame_failure);
    g_free (path);
  }
  g_test_add_func ("/websocket/cut-mid-frame", test_cut_mid_frame);
  g_test_add_func ("/websocket/close-timeout", test_close_timeout);
  g_test_add_func ("/websocket/close-reason-and-late-message",
      test_close_reason_and_late_message);
  g_test_add_func ("/websocket/frozen-reader", test_frozen_reader);
  g_test_add_func ("/websocket/ping-flood-to-frozen-reader",
      test_ping_flood_to_frozen_reader);
  g_test_add_func ("/websocket/many-connections", test_many_connections);
  g_test_add_func ("/websocket/free-with-frozen-reader",
      test_free_with_frozen_reader);
  g_test_add_func ("/websocket/free-while-connecting",
      test_free_while_connecting);
  g_test_add_func ("/websocket/free-while-upgrading",
      test_free_while_upgrading);
  g_test_add_func ("/websocket/free-mid-frame", test_free_mid_frame);
  g_test_add_func ("/websocket/free-in-message", test_free_in_message);
  g_test_add_func ("/websocket/close-in-opened", test_close_in_opened);
  g_test_add_func ("/websocket/close-before-open", test_close_before_open);
  g_test_add_func ("/websocket/tls-refused-by-default",
      test_tls_refused_by_default);
  g_test_add_func ("/websocket/tls-test-ca", test_tls_test_ca);
  g_test_add_func ("/websocket/tls-accept-invalid", test_tls_accept_invalid);
  g_test_add_func ("/websocket/tls-client-certificate",
      test_tls_client_certificate);
  g_test_add_func ("/websocket/tls-no-client-certificate",
      test_tls_no_client_certificate);
  g_test_add_func ("/websocket/tls-handshake-timeout",
      test_tls_handshake_timeout);
  g_test_add_func ("/websocket/proxy", test_proxy);
  g_test_add_func ("/websocket/proxy-refused", test_proxy_refused);
  g_test_add_func ("/websocket/proxy-tls", test_proxy_tls);

  return g_test_run ();
}
