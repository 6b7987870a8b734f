/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Unit tests of the Engine.IO v4 / Socket.IO v5 codec, with the wire
 * strings of docs/protocol.md and malformed input. */

#include <stdio.h>
#include <string.h>

#include <valgrind/valgrind.h>

#include "sio-protocol.h"

static void
decode_ok (const gchar * wire, SioPacket * packet)
{
  GError *error = NULL;
  SioEioType type;
  const gchar *data;
  gsize data_length;

  g_assert_true (sio_eio_decode_text (wire, strlen (wire), &type, &data,
          &data_length, &error));
  g_assert_no_error (error);
  g_assert_cmpint (type, ==, SIO_EIO_MESSAGE);
  g_assert_true (sio_packet_decode (data, data_length, packet, &error));
  g_assert_no_error (error);
}

static void
decode_fails (const gchar * wire)
{
  GError *error = NULL;
  SioPacket packet;
  SioEioType type;
  const gchar *data;
  gsize data_length;

  if (!sio_eio_decode_text (wire, strlen (wire), &type, &data, &data_length,
          &error)) {
    g_assert_nonnull (error);
    g_clear_error (&error);
    return;
  }
  if (type != SIO_EIO_MESSAGE)
    return;
  g_assert_false (sio_packet_decode (data, data_length, &packet, &error));
  g_assert_nonnull (error);
  g_assert_true (error->domain == SIO_PROTOCOL_ERROR);
  {
    /* escaped: raw bytes would break the TAP stream */
    gchar *escaped = g_strescape (wire, NULL);

    g_test_message ("'%.80s' -> %s", escaped, error->message);
    g_free (escaped);
  }
  g_clear_error (&error);
  /* a failed decode leaves nothing to free */
  g_assert_null (packet.nsp);
  g_assert_null (packet.event_name);
  g_assert_null (packet.args);
  g_assert_null (packet.json);
}

static gchar *
encode (SioPacketType type, const gchar * nsp, guint attachments,
    gint64 ack_id, const gchar * json)
{
  GString *out = g_string_new (NULL);

  sio_packet_encode (out, type, nsp, attachments, ack_id, json);
  return g_string_free (out, FALSE);
}

static void
test_engineio_open (void)
{
  const gchar *wire = "0{\"sid\":\"lv_VI97HAXpY6yYWAAAC\",\"upgrades\":[],"
      "\"pingInterval\":25000,\"pingTimeout\":20000,\"maxPayload\":1000000}";
  const gchar *python_wire = "0{\"sid\":\"x5kKD0ZP\",\"upgrades\":[],"
      "\"pingTimeout\":20000,\"pingInterval\":25000}";
  SioEioType type;
  const gchar *data;
  gsize length;
  SioEioOpen open;
  GError *error = NULL;

  g_assert_true (sio_eio_decode_text (wire, strlen (wire), &type, &data,
          &length, &error));
  g_assert_cmpint (type, ==, SIO_EIO_OPEN);
  g_assert_true (sio_eio_parse_open (data, length, &open, &error));
  g_assert_no_error (error);
  g_assert_cmpstr (open.sid, ==, "lv_VI97HAXpY6yYWAAAC");
  g_assert_cmpuint (open.ping_interval_ms, ==, 25000);
  g_assert_cmpuint (open.ping_timeout_ms, ==, 20000);
  g_assert_cmpuint (open.max_payload, ==, 1000000);
  sio_eio_open_clear (&open);

  /* older python-engineio: no maxPayload */
  g_assert_true (sio_eio_decode_text (python_wire, strlen (python_wire),
          &type, &data, &length, &error));
  g_assert_true (sio_eio_parse_open (data, length, &open, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (open.max_payload, ==, 0);
  g_assert_cmpuint (open.ping_interval_ms, ==, 25000);
  sio_eio_open_clear (&open);

  /* broken handshakes */
  g_assert_false (sio_eio_parse_open ("{}", 2, &open, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_parse_open ("[1]", 3, &open, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_parse_open ("{\"sid\":1,\"pingInterval\":1,"
          "\"pingTimeout\":1}", 44, &open, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_parse_open ("{\"sid\":\"a\",\"pingInterval\":-5,"
          "\"pingTimeout\":1}", 45, &open, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_parse_open ("{\"sid\":\"a\",\"pingInterval\":\"5\","
          "\"pingTimeout\":1}", 46, &open, &error));
  g_clear_error (&error);
  /* refused before json-glib, which would reject it and leak */
  g_assert_false (sio_eio_parse_open ("{\"sid\":\"\\ud800\",\"pingInterval\":1,"
          "\"pingTimeout\":1}", 47, &open, &error));
  g_assert_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED);
  g_assert_null (strstr (error->message, "json-glib"));
  g_clear_error (&error);
  g_assert_null (open.sid);
}

static void
test_engineio_control (void)
{
  SioEioType type;
  const gchar *data;
  gsize length;
  GError *error = NULL;
  const gchar *wires[] = { "1", "2", "3", "6" };
  const SioEioType types[] = { SIO_EIO_CLOSE, SIO_EIO_PING, SIO_EIO_PONG,
    SIO_EIO_NOOP
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (wires); i++) {
    g_assert_true (sio_eio_decode_text (wires[i], 1, &type, &data, &length,
            &error));
    g_assert_cmpint (type, ==, types[i]);
    g_assert_cmpuint (length, ==, 0);
  }
  g_assert_false (sio_eio_decode_text ("", 0, &type, &data, &length, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_decode_text ("7", 1, &type, &data, &length, &error));
  g_clear_error (&error);
  g_assert_false (sio_eio_decode_text ("a", 1, &type, &data, &length, &error));
  g_clear_error (&error);
}

static void
test_encode_connect (void)
{
  gchar *wire;

  wire = encode (SIO_PACKET_CONNECT, NULL, 0, -1, NULL);
  g_assert_cmpstr (wire, ==, "40");
  g_free (wire);
  wire = encode (SIO_PACKET_CONNECT, "/", 0, -1, "{\"token\":\"abc\"}");
  g_assert_cmpstr (wire, ==, "40{\"token\":\"abc\"}");
  g_free (wire);
  wire = encode (SIO_PACKET_CONNECT, "/audio", 0, -1, "{\"token\":\"abc\"}");
  g_assert_cmpstr (wire, ==, "40/audio,{\"token\":\"abc\"}");
  g_free (wire);
  wire = encode (SIO_PACKET_DISCONNECT, "/", 0, -1, NULL);
  g_assert_cmpstr (wire, ==, "41");
  g_free (wire);
  wire = encode (SIO_PACKET_DISCONNECT, "/audio", 0, -1, NULL);
  g_assert_cmpstr (wire, ==, "41/audio,");
  g_free (wire);
}

static void
test_encode_events (void)
{
  const gchar *args = "[\"audio_data\",{\"audio_data\":"
      "{\"_placeholder\":true,\"num\":0}}]";
  gchar *wire, *expected;

  wire = encode (SIO_PACKET_EVENT, NULL, 0, -1, "[\"audio_data\",{}]");
  g_assert_cmpstr (wire, ==, "42[\"audio_data\",{}]");
  g_free (wire);
  wire = encode (SIO_PACKET_EVENT, "/", 0, 17, "[\"audio_data\",{}]");
  g_assert_cmpstr (wire, ==, "4217[\"audio_data\",{}]");
  g_free (wire);
  wire = encode (SIO_PACKET_EVENT, "/audio", 0, 17, "[\"audio_data\",{}]");
  g_assert_cmpstr (wire, ==, "42/audio,17[\"audio_data\",{}]");
  g_free (wire);

  wire = encode (SIO_PACKET_BINARY_EVENT, NULL, 1, -1, args);
  expected = g_strconcat ("451-", args, NULL);
  g_assert_cmpstr (wire, ==, expected);
  g_free (expected);
  g_free (wire);
  wire = encode (SIO_PACKET_BINARY_EVENT, "/", 1, 17, args);
  expected = g_strconcat ("451-17", args, NULL);
  g_assert_cmpstr (wire, ==, expected);
  g_free (expected);
  g_free (wire);
  wire = encode (SIO_PACKET_BINARY_EVENT, "/audio", 1, 0, args);
  expected = g_strconcat ("451-/audio,0", args, NULL);
  g_assert_cmpstr (wire, ==, expected);
  g_free (expected);
  g_free (wire);
  /* numbers of several digits, the largest id */
  wire = encode (SIO_PACKET_BINARY_ACK, NULL, 10, G_MAXINT64, "[]");
  g_assert_cmpstr (wire, ==, "4610-9223372036854775807[]");
  g_free (wire);
}

static void
append_nested (GString * out, guint depth, const gchar * open,
    const gchar * inner, const gchar * close)
{
  guint i;

  for (i = 0; i < depth; i++)
    g_string_append (out, open);
  g_string_append (out, inner);
  for (i = 0; i < depth; i++)
    g_string_append (out, close);
}

static void
test_decode_connect_replies (void)
{
  SioPacket packet;
  gchar *message;

  decode_ok ("40{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_CONNECT);
  g_assert_cmpstr (packet.nsp, ==, "/");
  g_assert_cmpint (packet.ack_id, ==, -1);
  g_assert_cmpmem (packet.json, packet.json_length,
      "{\"sid\":\"wZX3oN0bSVIhsaknAAAI\"}", 30);
  sio_packet_clear (&packet);

  decode_ok ("40/audio,{\"sid\":\"abc\"}", &packet);
  g_assert_cmpstr (packet.nsp, ==, "/audio");
  sio_packet_clear (&packet);

  decode_ok ("44{\"message\":\"Not authorized\"}", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_CONNECT_ERROR);
  message = sio_packet_dup_error_message (&packet);
  g_assert_cmpstr (message, ==, "Not authorized");
  g_free (message);
  sio_packet_clear (&packet);

  decode_ok ("44/audio,{\"message\":\"Not authorized\",\"data\":{\"x\":1}}",
      &packet);
  g_assert_cmpstr (packet.nsp, ==, "/audio");
  message = sio_packet_dup_error_message (&packet);
  g_assert_cmpstr (message, ==, "Not authorized");
  g_free (message);
  sio_packet_clear (&packet);

  /* what json-glib would not take comes back as the server's text */
  decode_ok ("44{\"message\":\"\\ud800\"}", &packet);
  message = sio_packet_dup_error_message (&packet);
  g_assert_cmpstr (message, ==, "{\"message\":\"\\ud800\"}");
  g_free (message);
  sio_packet_clear (&packet);

  {
    GString *deep = g_string_new ("44{\"message\":\"deep\",\"data\":");

    append_nested (deep, SIO_MAX_JSON_DEPTH, "[", "1", "]");
    g_string_append_c (deep, '}');
    decode_ok (deep->str, &packet);
    message = sio_packet_dup_error_message (&packet);
    g_assert_cmpstr (message, ==, deep->str + 2);
    g_free (message);
    sio_packet_clear (&packet);
    g_string_free (deep, TRUE);
  }

  /* Socket.IO v4 servers sent a bare string */
  decode_ok ("44\"Invalid namespace\"", &packet);
  message = sio_packet_dup_error_message (&packet);
  g_assert_cmpstr (message, ==, "Invalid namespace");
  g_free (message);
  sio_packet_clear (&packet);

  decode_ok ("41", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_DISCONNECT);
  g_assert_null (packet.json);
  sio_packet_clear (&packet);

  decode_ok ("41/audio,", &packet);
  g_assert_cmpstr (packet.nsp, ==, "/audio");
  sio_packet_clear (&packet);

  /* socket.io-parser also reads a namespace that ends the packet */
  decode_ok ("41/audio", &packet);
  g_assert_cmpstr (packet.nsp, ==, "/audio");
  sio_packet_clear (&packet);
}

static void
test_decode_events_and_acks (void)
{
  SioPacket packet;
  gchar *args;

  decode_ok ("42[\"transcript\",{\"text\":\"hello\"},3]", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_EVENT);
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "transcript");
  args = sio_packet_dup_args_json (&packet);
  g_assert_cmpstr (args, ==, "[{\"text\":\"hello\"},3]");
  g_free (args);
  sio_packet_clear (&packet);

  decode_ok ("4217[\"audio_data\",{}]", &packet);
  g_assert_cmpint (packet.ack_id, ==, 17);
  sio_packet_clear (&packet);

  decode_ok ("42/audio,17[\"audio_data\",{}]", &packet);
  g_assert_cmpstr (packet.nsp, ==, "/audio");
  g_assert_cmpint (packet.ack_id, ==, 17);
  sio_packet_clear (&packet);

  decode_ok ("451-[\"audio_data\",{\"audio_data\":"
      "{\"_placeholder\":true,\"num\":0}}]", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_BINARY_EVENT);
  g_assert_cmpuint (packet.attachments, ==, 1);
  g_assert_cmpint (packet.ack_id, ==, -1);
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "audio_data");
  sio_packet_clear (&packet);

  decode_ok ("451-17[\"audio_data\",{\"audio_data\":"
      "{\"_placeholder\":true,\"num\":0}}]", &packet);
  g_assert_cmpuint (packet.attachments, ==, 1);
  g_assert_cmpint (packet.ack_id, ==, 17);
  sio_packet_clear (&packet);

  decode_ok ("430[{\"ok\":true}]", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_ACK);
  g_assert_cmpint (packet.ack_id, ==, 0);
  args = sio_packet_dup_args_json (&packet);
  g_assert_cmpstr (args, ==, "[{\"ok\":true}]");
  g_free (args);
  sio_packet_clear (&packet);

  decode_ok ("4312[]", &packet);
  g_assert_cmpint (packet.ack_id, ==, 12);
  sio_packet_clear (&packet);

  decode_ok ("43/audio,999999999999999[]", &packet);
  g_assert_cmpint (packet.ack_id, ==, G_GINT64_CONSTANT (999999999999999));
  sio_packet_clear (&packet);

  decode_ok ("461-5[{\"_placeholder\":true,\"num\":0}]", &packet);
  g_assert_cmpint (packet.type, ==, SIO_PACKET_BINARY_ACK);
  g_assert_cmpuint (packet.attachments, ==, 1);
  g_assert_cmpint (packet.ack_id, ==, 5);
  sio_packet_clear (&packet);

  /* ten attachments is the most socket.io-parser allows */
  decode_ok ("4510-[\"many\"]", &packet);
  g_assert_cmpuint (packet.attachments, ==, 10);
  sio_packet_clear (&packet);

  /* numeric event names are legal */
  decode_ok ("42[7,\"x\"]", &packet);
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "7");
  sio_packet_clear (&packet);
}

/* The decoded event has @name and exactly @args as its arguments. */
static void
check_event (const gchar * wire, const gchar * name, const gchar * args)
{
  SioPacket packet;
  gchar *text;

  decode_ok (wire, &packet);
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, name);
  text = sio_packet_dup_args_json (&packet);
  g_assert_cmpstr (text, ==, args);
  g_free (text);
  sio_packet_clear (&packet);
}

/* The arguments reach the application as the server wrote them: no
 * number is rounded, wrapped or reformatted, no string is cut or
 * re-escaped, the spacing stays. */
static void
test_decode_args_fidelity (void)
{
  check_event ("42[\"a\",1e+21]", "a", "[1e+21]");
  check_event ("42[\"a\",18446744073709551616]", "a", "[18446744073709551616]");
  check_event ("42[\"a\",-9223372036854775809,1.0000000000000000001]", "a",
      "[-9223372036854775809,1.0000000000000000001]");
  check_event ("42[\"a\",-0.0,-0,0E0]", "a", "[-0.0,-0,0E0]");
  check_event ("42[\"a\",\"x\\u0000y\"]", "a", "[\"x\\u0000y\"]");
  check_event ("42[\"a\",\"\\ud83d\\ude00\",\"\\/\"]", "a",
      "[\"\\ud83d\\ude00\",\"\\/\"]");
  check_event ("42[\"a\",\"\xf0\x9f\x98\x80\"]", "a", "[\"\xf0\x9f\x98\x80\"]");
  check_event ("42[\"a\",{\"k\":1,\"k\":2}]", "a", "[{\"k\":1,\"k\":2}]");
  /* spacing between the elements is kept, around the name it goes */
  check_event ("42[\"a\", 1 ,\t{ \"b\" : [ ] }\n]", "a",
      "[ 1 ,\t{ \"b\" : [ ] }\n]");
  check_event ("42 [ \"a\" , 1 ] ", "a", "[ 1 ]");
  check_event ("42[ \"a\" ]", "a", "[]");
  check_event ("4217[\"a\"]", "a", "[]");

  /* acks: the whole array */
  {
    SioPacket packet;
    gchar *text;

    decode_ok ("4312[ 1e+21 , \"\\u0000\" ]", &packet);
    g_assert_cmpint (packet.ack_id, ==, 12);
    text = sio_packet_dup_args_json (&packet);
    g_assert_cmpstr (text, ==, "[ 1e+21 , \"\\u0000\" ]");
    g_free (text);
    sio_packet_clear (&packet);
  }
}

/* Event names are JSON strings, decoded; see sio-protocol.h for numbers
 * and U+0000. */
static void
test_decode_event_names (void)
{
  check_event ("42[\"caf\\u00e9\\n\\\"q\\\"\\\\\"]", "caf\xc3\xa9\n\"q\"\\",
      "[]");
  check_event ("42[\"\\ud83d\\ude00\",1]", "\xf0\x9f\x98\x80", "[1]");
  check_event ("42[\"\"]", "", "[]");
  /* a name cannot hold U+0000 as a C string: U+FFFD stands for it */
  check_event ("42[\"a\\u0000b\"]", "a\xef\xbf\xbd" "b", "[]");
  /* socket.io-parser accepts numbers: the name is the number's text */
  check_event ("42[7,\"x\"]", "7", "[\"x\"]");
  check_event ("42[-1.5e+3]", "-1.5e+3", "[]");
}

/* Valid JSON is accepted however deep; the scan is iterative. */
static void
test_decode_deep_nesting (void)
{
  const guint depths[] = { 65, 1000, 100000 };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (depths); i++) {
    GString *wire = g_string_new ("42[\"deep\",");
    GString *args = g_string_new ("[");
    SioPacket packet;
    gchar *text;

    append_nested (args, depths[i], "[{\"k\":", "1", "}]");
    g_string_append (args, "]");
    g_string_append_len (wire, args->str + 1, args->len - 1);
    decode_ok (wire->str, &packet);
    g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "deep");
    text = sio_packet_dup_args_json (&packet);
    g_assert_cmpstr (text, ==, args->str);
    g_free (text);
    sio_packet_clear (&packet);

    /* an ack as deep */
    g_string_assign (wire, "435");
    g_string_append (wire, args->str);
    decode_ok (wire->str, &packet);
    g_assert_cmpint (packet.ack_id, ==, 5);
    sio_packet_clear (&packet);

    g_string_free (wire, TRUE);
    g_string_free (args, TRUE);
  }
}

/* Text that is not UTF-8 is a protocol error that says so, wherever it
 * is: a string, a key, the event name, a namespace. */
static void
test_decode_invalid_utf8 (void)
{
  const gchar *bad[] = {
    "\xff",                     /* never in UTF-8 */
    "\x80",                     /* a lone continuation byte */
    "\xc3",                     /* a sequence cut short */
    "\xe2\x82",
    "\xc3(",
    "\xc0\x80",                 /* overlong NUL */
    "\xe0\x80\xaf",             /* overlong '/' */
    "\xf0\x82\x82\xac",         /* overlong euro sign */
    "\xed\xa0\x80",             /* an encoded surrogate */
    "\xed\xbf\xbf",
    "\xf4\x90\x80\x80",         /* beyond U+10FFFF */
    "\xf8\x88\x80\x80\x80",     /* five bytes */
  };
  /* what goes before and after the bad bytes */
  const gchar *around[][2] = {
    {"42[\"a\",\"", "\"]"}, {"42[\"", "\"]"}, {"42[\"a\",{\"", "\":1}]"},
    {"4312[\"", "\"]"}, {"44{\"message\":\"", "\"}"}, {"40{\"sid\":\"", "\"}"},
    {"42/", ",[\"a\"]"},
  };
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (bad); i++) {
    for (j = 0; j < G_N_ELEMENTS (around); j++) {
      gchar *wire = g_strconcat (around[j][0], bad[i], around[j][1], NULL);
      SioPacket packet;
      GError *error = NULL;
      const gchar *nsp;
      gsize nsp_length;
      gint64 id;

      g_assert_false (sio_packet_peek_ack (wire + 1, strlen (wire + 1), &nsp,
              &nsp_length, &id));
      g_assert_false (sio_packet_decode (wire + 1, strlen (wire + 1),
              &packet, &error));
      g_assert_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED);
      if (strstr (error->message, "UTF-8") == NULL) {
        gchar *escaped = g_strescape (wire, NULL);

        g_error ("'%s': '%s' does not say UTF-8", escaped, error->message);
      }
      g_clear_error (&error);
      g_free (wire);
    }
  }

  /* the longest valid sequences at the edges of the ranges */
  check_event ("42[\"a\",\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80"
      "\xc2\x80\xdf\xbf\"]", "a",
      "[\"\xef\xbf\xbf\xf4\x8f\xbf\xbf\xed\x9f\xbf\xee\x80\x80\xc2\x80"
      "\xdf\xbf\"]");
}

/* A packet cut anywhere short of its end, or with anything after it, is
 * refused. */
static void
test_decode_truncated (void)
{
  const gchar *complete[] = {
    "42[\"transcript\",{\"text\":\"caf\\u00e9 \xc3\xa9\",\"n\":[1,-2.5e+3,"
        "true,false,null,{}]},[[]]]",
    "4312[{\"ok\":true,\"s\":\"\\ud83d\\ude00\"}]",
    "451-[\"a\",{\"_placeholder\":true,\"num\":0}]",
    "44{\"message\":\"no\"}",
  };
  const gchar *garbage[] = { "x", "]", ",", "\"", "1", "[]", "{}", "\x01" };
  guint i, j;

  for (i = 0; i < G_N_ELEMENTS (complete); i++) {
    gsize length = strlen (complete[i]);
    SioPacket packet;
    GError *error = NULL;

    for (j = 2; j < length; j++) {
      /* an exact-size copy, so valgrind sees any read past the end */
      gchar *cut = g_memdup2 (complete[i] + 1, j - 1);

      if (sio_packet_decode (cut, j - 1, &packet, &error))
        g_error ("'%.*s' was accepted", (gint) j, complete[i]);
      g_assert_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED);
      g_clear_error (&error);
      g_free (cut);
    }
    for (j = 0; j < G_N_ELEMENTS (garbage); j++) {
      gchar *wire = g_strconcat (complete[i], garbage[j], NULL);

      decode_fails (wire);
      g_free (wire);
    }
  }
}

static gint64
status_kb (const gchar * name)
{
  gchar *status = NULL, *line;
  gint64 kb = -1;

  g_assert_true (g_file_get_contents ("/proc/self/status", &status, NULL,
          NULL));
  line = strstr (status, name);
  g_assert_nonnull (line);
  kb = g_ascii_strtoll (line + strlen (name), NULL, 10);
  g_free (status);
  return kb;
}

/* Peak RSS growth in KiB since the last call, or -1 if the kernel cannot
 * reset the peak. */
static gint64
peak_rss_growth (gint64 * since)
{
  FILE *file;
  gint64 growth = status_kb ("VmHWM:") - *since;

  /* "5" resets the peak to the current RSS (Linux 4.0 and later) */
  file = fopen ("/proc/self/clear_refs", "w");
  if (file == NULL || fputs ("5", file) < 0 || fclose (file) != 0)
    return -1;
  *since = status_kb ("VmRSS:");
  return growth;
}

/* A 16 MiB event costs little beyond its own text: no tree of values, no
 * copy while decoding, one copy for the arguments' text. */
static void
test_decode_large_event_memory (void)
{
  GString *wire = g_string_new ("42[\"samples\",[0");
  gsize size = 16 * 1024 * 1024;
  SioPacket packet;
  gint64 since = 0, decode_kb, args_kb;
  gchar *args;
  guint i;

  for (i = 1; wire->len < size; i++)
    g_string_append_printf (wire, ",%u", i % 100);
  g_string_append (wire, "]]");
  /* valgrind's allocator has its own overheads: no RSS figure there */
  if (RUNNING_ON_VALGRIND || peak_rss_growth (&since) < 0) {
    g_test_skip ("cannot measure the peak RSS here");
    g_string_free (wire, TRUE);
    return;
  }

  decode_ok (wire->str, &packet);
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "samples");
  decode_kb = peak_rss_growth (&since);
  args = sio_packet_dup_args_json (&packet);
  /* "[" and the rest after the name */
  g_assert_cmpuint (strlen (args), ==,
      1 + wire->len - strlen ("42[\"samples\","));
  args_kb = peak_rss_growth (&since);
  g_free (args);
  sio_packet_clear (&packet);
  g_test_message ("%" G_GSIZE_FORMAT " bytes: decoding grew the peak RSS by "
      "%" G_GINT64_FORMAT " KiB, the arguments' text by %" G_GINT64_FORMAT
      " KiB", wire->len, decode_kb, args_kb);
  g_assert_cmpint (decode_kb, <, 1024);
  /* one copy; under two leaves room for valgrind's own bookkeeping, and a
   * tree of the values would take many times the text */
  g_assert_cmpint (args_kb, <, (gint64) (2 * wire->len / 1024));
  g_string_free (wire, TRUE);
}

static void
test_decode_malformed (void)
{
  GString *deep;
  guint i;
  const gchar *bad[] = {
    "4",                        /* no Socket.IO type */
    "47",                       /* unknown Socket.IO type */
    "4x",
    "42",                       /* event without payload */
    "42[",                      /* broken JSON */
    "42{}",                     /* event payload not an array */
    "42[]",                     /* event without name */
    "42[null]",
    "42[\"a\"]trailing",
    "43[]",                     /* ack without id */
    "4312",                     /* ack without payload */
    "4312{}",
    "41{}",                     /* disconnect carries nothing */
    "44",                       /* connect error without message */
    "44[1]",
    "40[]",                     /* connect payload must be an object */
    "45[\"a\"]",                /* binary event without count */
    "45-[\"a\"]",
    "451[\"a\"]",
    "4511-[\"a\"]",             /* more than ten attachments */
    "451000-[\"a\"]",
    "4599999999999999999-[\"a\"]",
    "461-[]",                   /* binary ack without id */
    "4212345678901234567[\"a\"]",       /* ack id too long */
    "42/a\x01,[\"a\"]",         /* control character in namespace */
    "42/audio,x",
    "42/audio,17",
    "42[\"a\",\"\\ud800\"",
  };

  for (i = 0; i < G_N_ELEMENTS (bad); i++)
    decode_fails (bad[i]);

  /* deep nesting left open is refused, without recursion */
  deep = g_string_new ("42[\"a\",");
  for (i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  decode_fails (deep->str);
  g_string_free (deep, TRUE);

  /* nesting inside strings does not count */
  deep = g_string_new ("42[\"");
  for (i = 0; i < 1000; i++)
    g_string_append_c (deep, '[');
  g_string_append (deep, "\"]");
  {
    SioPacket packet;

    decode_ok (deep->str, &packet);
    sio_packet_clear (&packet);
  }
  g_string_free (deep, TRUE);
}

static void
test_decode_not_nul_terminated (void)
{
  /* the decoder must honour the length, not look for a NUL */
  const gchar buffer[] = { '4', '2', '[', '"', 'a', '"', ']', 'X', 'Y' };
  gchar *copy;
  SioPacket packet;
  GError *error = NULL;

  copy = g_memdup2 (buffer, 7);
  g_assert_true (sio_packet_decode (copy + 1, 6, &packet, &error));
  g_assert_cmpstr (sio_packet_get_event_name (&packet), ==, "a");
  sio_packet_clear (&packet);
  /* cut short at every length: never a crash, never out of bounds */
  for (gsize n = 0; n < 6; n++) {
    if (sio_packet_decode (copy + 1, n, &packet, &error))
      sio_packet_clear (&packet);
    g_clear_error (&error);
  }
  g_free (copy);

  /* a NUL byte is no end either: a namespace holding one is refused, not
   * cut at it */
  {
    const gchar with_nul[] = "2/a\0b,[\"x\"]";
    const gchar *nsp;
    gsize nsp_length;
    gint64 id;

    g_assert_false (sio_packet_decode (with_nul, sizeof (with_nul) - 1,
            &packet, &error));
    g_assert_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED);
    g_clear_error (&error);
    g_assert_false (sio_packet_peek_ack ("3/a\0b,1[]", 10, &nsp,
            &nsp_length, &id));
  }
}

static void
test_decode_random (void)
{
  const gchar *seeds[] = {
    "2", "40{\"sid\":\"abc\"}", "44{\"message\":\"Not authorized\"}",
    "42[\"transcript\",{\"text\":\"hello\"}]", "4217[\"a\",1,2.5,null]",
    "451-17[\"audio_data\",{\"audio_data\":{\"_placeholder\":true,\"num\":0}}]",
    "43/audio,5[{\"ok\":true}]", "461-5[{\"_placeholder\":true,\"num\":0}]",
    "4312[{\"ok\":true,\"n\":[1,2]}]",
    "0{\"sid\":\"a\",\"upgrades\":[],\"pingInterval\":25000,"
        "\"pingTimeout\":20000,\"maxPayload\":1000000}",
  };
  GRand *rand = g_rand_new_with_seed (20261121);
  guint iterations = g_test_slow ()? 2000000 : 200000;
  guint i, accepted = 0;

  for (i = 0; i < iterations; i++) {
    const gchar *seed = seeds[g_rand_int_range (rand, 0, G_N_ELEMENTS (seeds))];
    gsize length = strlen (seed);
    /* an exact-size heap copy lets valgrind catch any overread */
    guint8 *bytes = g_malloc (length + 8);
    gsize n = length, j, mutations;
    SioEioType type;
    const gchar *data;
    gsize data_length;
    SioPacket packet;
    GError *error = NULL;

    memcpy (bytes, seed, length);
    mutations = g_rand_int_range (rand, 1, 5);
    for (j = 0; j < mutations; j++) {
      switch (g_rand_int_range (rand, 0, 4)) {
        case 0:
          bytes[g_rand_int_range (rand, 0, n)] =
              g_rand_int_range (rand, 0, 256);
          break;
        case 1:
          n = g_rand_int_range (rand, 0, n + 1);
          break;
        case 2:
          if (n < length + 8)
            bytes[n++] = "[]{},-/\"0123456789"[g_rand_int_range (rand, 0, 18)];
          break;
        default:
          if (n > 0)
            bytes[g_rand_int_range (rand, 0, n)] =
                "[]{},-/\"09"[g_rand_int_range (rand, 0, 10)];
          break;
      }
      if (n == 0)
        break;
    }
    {
      gchar *exact = g_memdup2 (bytes, n);

      if (sio_eio_decode_text (exact, n, &type, &data, &data_length, &error)) {
        const gchar *ack_nsp;
        gsize ack_nsp_length;
        gint64 ack_id;

        /* the ack fast path never accepts what the full decoder refuses,
         * and agrees with it on namespace and id */
        if (sio_packet_peek_ack (data, data_length, &ack_nsp, &ack_nsp_length,
                &ack_id)) {
          if (!sio_packet_decode (data, data_length, &packet, &error)) {
            gchar *escaped = g_strndup (data, data_length);

            g_error ("the ack fast path took '%s', the decoder says %s",
                escaped, error->message);
          }
          g_assert_cmpint (packet.type, ==, SIO_PACKET_ACK);
          g_assert_cmpint (packet.ack_id, ==, ack_id);
          g_assert_cmpmem (packet.nsp, strlen (packet.nsp), ack_nsp,
              ack_nsp_length);
          sio_packet_clear (&packet);
        }
        if (sio_packet_decode (data, data_length, &packet, &error)) {
          gchar *text = packet.type == SIO_PACKET_CONNECT_ERROR ?
              sio_packet_dup_error_message (&packet) :
              sio_packet_dup_args_json (&packet);

          accepted++;
          g_free (text);
          sio_packet_clear (&packet);
        }
        g_clear_error (&error);
        if (type == SIO_EIO_OPEN) {
          SioEioOpen open;

          if (sio_eio_parse_open (data, data_length, &open, &error))
            sio_eio_open_clear (&open);
          /* our syntax check must never pass what json-glib then rejects:
           * json-glib leaks on rejection */
          else
            g_assert_null (strstr (error->message, "json-glib rejected"));
        }
      }
      g_clear_error (&error);
      g_free (exact);
    }
    g_free (bytes);
  }
  g_test_message ("%u of %u mutated packets were still valid", accepted,
      iterations);
  g_rand_free (rand);
}

static void
test_json_syntax (void)
{
  const gchar *valid[] = {
    "42[\"a\",1.5e-3,-0,0,1E+2,true,false,null]",
    "42[\"a\",{\"k\":{\"n\":[[],{}]}},\"\\u00e9\\ud83d\\ude00\\n\"]",
    "42 [ \"a\" , { \"k\" : 1 } ] ",
    "42[\"é😀\"]",
    /* lone surrogates: JSON.stringify() writes them for broken strings */
    "42[\"a\",\"\\ud800\"]", "42[\"a\",\"\\udc00\\ud800x\"]",
  };
  const gchar *invalid[] = {
    "42[\"a\",01]", "42[\"a\",1.]", "42[\"a\",.5]", "42[\"a\",-]",
    "42[\"a\",1e]", "42[\"a\",\"\\x\"]", "42[\"a\",\"\\ud800\\u12\"]",
    "42[\"a\",\"\\u12\"]", "42[\"a\",]",
    "42[\"a\",{\"b\"}]", "42[\"a\",{\"b\":}]", "42[\"a\" 2]",
    "42[\"a\",{\"b\":1,}]", "42[\"a\",tru]", "42[\"a\",nul]",
    "42[\"a\"]]", "42[\"a\"}", "42[\"a\",{1:2}]", "42[\"a\",\"\t\"]",
    "42[\"a\",\"\xff\"]", "42[\"a\",'b']", "42[\"a\",NaN]",
  };
  guint i;

  for (i = 0; i < G_N_ELEMENTS (valid); i++) {
    SioPacket packet;

    decode_ok (valid[i], &packet);
    sio_packet_clear (&packet);
  }
  for (i = 0; i < G_N_ELEMENTS (invalid); i++)
    decode_fails (invalid[i]);
}

static void
test_peek_ack (void)
{
  const gchar *nsp;
  gsize nsp_length;
  gint64 id;
  const gchar *not_acks[] = {
    "3[]x", "3", "3[]", "312", "312{}", "312[", "31x[]", "2[\"a\"]",
    "3/audio12[]", "3/audio", "312[\"\\u12\"]", "61-5[]", "3/a\x01,1[]",
  };
  guint i;

  g_assert_true (sio_packet_peek_ack ("30[{\"ok\":true}]", 15, &nsp,
          &nsp_length, &id));
  g_assert_cmpint (id, ==, 0);
  g_assert_cmpmem (nsp, nsp_length, "/", 1);
  g_assert_true (sio_packet_peek_ack ("3/audio,17[]", 12, &nsp, &nsp_length,
          &id));
  g_assert_cmpint (id, ==, 17);
  g_assert_cmpmem (nsp, nsp_length, "/audio", 6);
  for (i = 0; i < G_N_ELEMENTS (not_acks); i++)
    g_assert_false (sio_packet_peek_ack (not_acks[i], strlen (not_acks[i]),
            &nsp, &nsp_length, &id));
  g_assert_true (sio_packet_peek_ack ("312[\"\\ud800\"]", 13, &nsp,
          &nsp_length, &id));

  /* its stack is fixed, 256 levels inside the array: deeper acks are left
   * to the decoder */
  for (i = 256; i <= 258; i++) {
    GString *deep = g_string_new ("3");
    SioPacket packet;
    GError *error = NULL;

    append_nested (deep, i, "[", "7", "]");
    g_string_insert (deep, 1, "12");
    g_assert_cmpint (sio_packet_peek_ack (deep->str, deep->len, &nsp,
            &nsp_length, &id), ==, i <= 257);
    g_assert_true (sio_packet_decode (deep->str, deep->len, &packet, &error));
    g_assert_cmpint (packet.ack_id, ==, 12);
    sio_packet_clear (&packet);
    g_string_free (deep, TRUE);
  }
}

static void
test_helpers (void)
{
  GString *out = g_string_new (NULL);
  GError *error = NULL;

  sio_json_append_string (out, "a\"b\\c\n\x01é");
  g_assert_cmpstr (out->str, ==, "\"a\\\"b\\\\c\\n\\u0001é\"");
  g_string_free (out, TRUE);

  {
    static const guint64 numbers[] = { 0, 7, 9, 10, 11, 99, 100, 101, 999,
      1000, 1234567890, G_MAXUINT32, (guint64) G_MAXUINT32 + 1,
      G_GUINT64_CONSTANT (10000000000), G_GUINT64_CONSTANT (1234567890123),
      G_GUINT64_CONSTANT (99999999999999), G_MAXINT64, G_MAXUINT64
    };
    guint i;

    out = g_string_new ("x");
    for (i = 0; i < G_N_ELEMENTS (numbers); i++) {
      gchar *expected = g_strdup_printf ("x%" G_GUINT64_FORMAT, numbers[i]);

      gchar digits[SIO_UINT64_DIGITS + 1];
      gsize n;

      g_string_truncate (out, 1);
      sio_append_uint64 (out, numbers[i]);
      g_assert_cmpstr (out->str, ==, expected);
      /* no NUL, nothing beyond the digits */
      memset (digits, '#', sizeof (digits));
      n = sio_format_uint64 (digits, numbers[i]);
      g_assert_cmpuint (n, ==, strlen (expected) - 1);
      g_assert_cmpmem (digits, n, expected + 1, n);
      g_assert_cmpint (digits[n], ==, '#');
      g_free (expected);
    }
    g_string_free (out, TRUE);
  }

  g_assert_true (sio_namespace_is_valid ("/"));
  g_assert_true (sio_namespace_is_valid ("/audio"));
  g_assert_false (sio_namespace_is_valid ("audio"));
  g_assert_false (sio_namespace_is_valid ("/a,b"));
  g_assert_false (sio_namespace_is_valid (""));
  g_assert_false (sio_namespace_is_valid (NULL));

  g_assert_true (sio_json_is_object ("{\"token\":\"abc\"}", &error));
  g_assert_no_error (error);
  g_assert_false (sio_json_is_object ("[1]", &error));
  g_clear_error (&error);
  g_assert_false (sio_json_is_object ("{token:abc}", &error));
  g_clear_error (&error);
}

static void
assert_event_args (const gchar * args_json, gboolean binary,
    const gchar * expected)
{
  GError *error = NULL;
  gchar *args = sio_event_build_args ("ev", args_json, binary, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (args, ==, expected);
  g_free (args);
}

static void
assert_event_args_refused (const gchar * args_json, const gchar * message)
{
  GError *error = NULL;

  g_assert_null (sio_event_build_args ("ev", args_json, FALSE, &error));
  g_assert_error (error, SIO_PROTOCOL_ERROR, SIO_PROTOCOL_ERROR_MALFORMED);
  g_assert_cmpstr (error->message, ==, message);
  g_error_free (error);
}

/* An event of the application's: an array's elements are the arguments,
 * another value is one, copied as written; the attachment's placeholder
 * is last. */
static void
test_encode_application_events (void)
{
  GString *deep = g_string_new (NULL);
  gchar *args;
  guint i;

  assert_event_args (NULL, FALSE, "[\"ev\"]");
  assert_event_args ("", FALSE, "[\"ev\"]");
  assert_event_args (" \n", FALSE, "[\"ev\"]");
  assert_event_args ("[]", FALSE, "[\"ev\"]");
  assert_event_args (" [ \t] ", FALSE, "[\"ev\"]");
  assert_event_args ("[1, \"a\" ,{\"b\":[2]}]", FALSE,
      "[\"ev\",1, \"a\" ,{\"b\":[2]}]");
  assert_event_args ("{\"gain\":1e+21}", FALSE, "[\"ev\",{\"gain\":1e+21}]");
  assert_event_args (" 7 ", FALSE, "[\"ev\",7]");
  assert_event_args ("\"\\u0000\"", FALSE, "[\"ev\",\"\\u0000\"]");
  assert_event_args ("null", FALSE, "[\"ev\",null]");
  assert_event_args ("[[1]]", FALSE, "[\"ev\",[1]]");
  assert_event_args (NULL, TRUE, "[\"ev\",{\"_placeholder\":true,\"num\":0}]");
  assert_event_args ("[1,2]", TRUE,
      "[\"ev\",1,2,{\"_placeholder\":true,\"num\":0}]");
  assert_event_args ("{}", TRUE,
      "[\"ev\",{},{\"_placeholder\":true,\"num\":0}]");

  /* any depth */
  for (i = 0; i < 10000; i++)
    g_string_append_c (deep, '[');
  for (i = 0; i < 10000; i++)
    g_string_append_c (deep, ']');
  args = sio_event_build_args ("ev", deep->str, FALSE, NULL);
  g_assert_nonnull (args);
  g_assert_cmpuint (strlen (args), ==, strlen ("[\"ev\",") + 2 * 9999 + 1);
  g_free (args);
  g_string_free (deep, TRUE);

  assert_event_args_refused ("[1,", "not valid JSON (byte 3)");
  assert_event_args_refused ("[1,]", "not valid JSON (byte 3)");
  assert_event_args_refused ("{\"a\":1} 2", "not valid JSON (byte 8)");
  assert_event_args_refused ("[1] [2]", "not valid JSON (byte 4)");
  assert_event_args_refused ("stop", "not valid JSON (byte 0)");
  assert_event_args_refused ("\"\xff\"", "not valid UTF-8 (byte 1)");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/protocol/engineio/open", test_engineio_open);
  g_test_add_func ("/protocol/engineio/control", test_engineio_control);
  g_test_add_func ("/protocol/encode/connect", test_encode_connect);
  g_test_add_func ("/protocol/encode/events", test_encode_events);
  g_test_add_func ("/protocol/encode/application-events",
      test_encode_application_events);
  g_test_add_func ("/protocol/decode/connect-replies",
      test_decode_connect_replies);
  g_test_add_func ("/protocol/decode/events-and-acks",
      test_decode_events_and_acks);
  g_test_add_func ("/protocol/decode/args-fidelity", test_decode_args_fidelity);
  g_test_add_func ("/protocol/decode/event-names", test_decode_event_names);
  g_test_add_func ("/protocol/decode/deep-nesting", test_decode_deep_nesting);
  g_test_add_func ("/protocol/decode/invalid-utf8", test_decode_invalid_utf8);
  g_test_add_func ("/protocol/decode/truncated", test_decode_truncated);
  g_test_add_func ("/protocol/decode/large-event-memory",
      test_decode_large_event_memory);
  g_test_add_func ("/protocol/decode/malformed", test_decode_malformed);
  g_test_add_func ("/protocol/decode/length-bounded",
      test_decode_not_nul_terminated);
  g_test_add_func ("/protocol/decode/random-mutations", test_decode_random);
  g_test_add_func ("/protocol/decode/json-syntax", test_json_syntax);
  g_test_add_func ("/protocol/decode/peek-ack", test_peek_ack);
  g_test_add_func ("/protocol/helpers", test_helpers);

  return g_test_run ();
}
