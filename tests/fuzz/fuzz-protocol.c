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

/* libFuzzer target over every decoder of the codec (sio-protocol.c).
 *
 * The first input byte chooses the decoder, the rest is its input:
 *   'e'  an Engine.IO text message, decoded as the client does: the open
 *        packet, or a Socket.IO packet through the ack fast path and then
 *        the decoder
 *   'o'  sio_eio_parse_open()
 *   'p'  sio_packet_decode() and everything read from a packet
 *   'a'  sio_packet_peek_ack()
 *   'j'  sio_json_is_object()
 *   'n'  sio_namespace_is_valid()
 *   'v'  sio_event_build_args(), an application's arguments
 * Any other byte picks one of these by its value, so mutations of the
 * first byte still land somewhere. Each seed in corpus/ starts with its
 * byte, as its name does.
 *
 * Beyond what the sanitizers catch, it aborts when the decoders disagree
 * with themselves: an ack the fast path takes and the decoder refuses or
 * reads otherwise, arguments that are not a JSON array the decoder takes
 * back unchanged, names and messages that are not UTF-8, a refusal that
 * json-glib made (json-glib leaks when it refuses), an application's
 * event that the decoder would not take back. Built and run by
 * run-fuzz.sh. */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sio-protocol.h"

int LLVMFuzzerTestOneInput (const uint8_t * data, size_t size);

static void
check (gboolean condition, const gchar * what)
{
  if (!condition) {
    g_printerr ("fuzz-protocol: %s\n", what);
    abort ();
  }
}

static void
check_refusal (GError * error)
{
  check (error != NULL && error->domain == SIO_PROTOCOL_ERROR,
      "a refusal without a protocol error");
  check (strstr (error->message, "json-glib rejected") == NULL,
      "json-glib refused what the scanner passed");
  g_error_free (error);
}

/* The arguments' text, as an ack's payload, decodes to itself. */
static void
check_args_reparse (const SioPacket * packet)
{
  gchar *args = sio_packet_dup_args_json (packet);
  gchar *ack = g_strconcat ("30", args, NULL);
  SioPacket again;
  GError *error = NULL;

  check (sio_packet_decode (ack, strlen (ack), &again, &error),
      "the arguments' text is not a JSON array");
  check (again.args_length == packet->args_length &&
      strncmp (again.args, packet->args, packet->args_length) == 0,
      "the arguments changed when decoded again");
  sio_packet_clear (&again);
  g_free (ack);
  g_free (args);
}

static void
fuzz_packet (const gchar * text, gsize length)
{
  SioPacket packet;
  GError *error = NULL;
  gchar *copy;

  if (!sio_packet_decode (text, length, &packet, &error)) {
    check_refusal (error);
    return;
  }
  check (sio_namespace_is_valid (packet.nsp), "an invalid namespace");
  check (packet.attachments <= SIO_MAX_ATTACHMENTS, "too many attachments");

  switch (packet.type) {
    case SIO_PACKET_EVENT:
    case SIO_PACKET_BINARY_EVENT:
      check (sio_packet_get_event_name (&packet) != NULL &&
          g_utf8_validate (sio_packet_get_event_name (&packet), -1, NULL),
          "an event name that is not UTF-8");
      /* fall through */
    case SIO_PACKET_ACK:
    case SIO_PACKET_BINARY_ACK:
      check (packet.args >= text &&
          packet.args + packet.args_length <= text + length,
          "arguments outside the packet");
      check_args_reparse (&packet);
      /* a copy that outlives the text reads the same */
      copy = g_strndup (packet.args, packet.args_length);
      sio_packet_detach (&packet);
      check (packet.args != NULL && packet.args_length == strlen (copy) &&
          strncmp (copy, packet.args, packet.args_length) == 0,
          "detaching changed the arguments");
      g_free (copy);
      break;
    default:{
      gchar *message = sio_packet_dup_error_message (&packet);

      check (g_utf8_validate (message, -1, NULL),
          "an error message that is not UTF-8");
      g_free (message);
      break;
    }
  }
  sio_packet_clear (&packet);
}

static void
fuzz_peek_ack (const gchar * text, gsize length)
{
  const gchar *nsp;
  gsize nsp_length;
  gint64 ack_id;
  SioPacket packet;
  GError *error = NULL;

  if (!sio_packet_peek_ack (text, length, &nsp, &nsp_length, &ack_id))
    return;
  /* what the fast path takes, the decoder takes and reads alike */
  check (sio_packet_decode (text, length, &packet, &error),
      "the ack fast path took what the decoder refuses");
  check (packet.type == SIO_PACKET_ACK && packet.ack_id == ack_id &&
      strlen (packet.nsp) == nsp_length &&
      memcmp (packet.nsp, nsp, nsp_length) == 0,
      "the ack fast path and the decoder disagree");
  sio_packet_clear (&packet);
}

static void
fuzz_open (const gchar * text, gsize length)
{
  SioEioOpen open;
  GError *error = NULL;

  if (!sio_eio_parse_open (text, length, &open, &error)) {
    check_refusal (error);
    return;
  }
  check (open.sid != NULL && g_utf8_validate (open.sid, -1, NULL),
      "a sid that is not UTF-8");
  sio_eio_open_clear (&open);
}

/* What the client does with one text message. */
static void
fuzz_message (const gchar * text, gsize length)
{
  SioEioType type;
  const gchar *payload;
  gsize payload_length;
  GError *error = NULL;

  if (!sio_eio_decode_text (text, length, &type, &payload, &payload_length,
          &error)) {
    check_refusal (error);
    return;
  }
  if (type == SIO_EIO_OPEN) {
    fuzz_open (payload, payload_length);
  } else if (type == SIO_EIO_MESSAGE) {
    fuzz_peek_ack (payload, payload_length);
    fuzz_packet (payload, payload_length);
  }
}

/* Whatever the builder takes, with or without an attachment, is an event
 * named "ev" that the decoder reads back. */
static void
fuzz_event_args (const gchar * args_json)
{
  GError *error = NULL;
  gboolean binary;

  for (binary = FALSE; binary <= TRUE; binary++) {
    gchar *args = sio_event_build_args ("ev", args_json, binary, &error);
    gchar *packet;
    SioPacket decoded;

    if (args == NULL) {
      check_refusal (error);
      return;
    }
    packet = g_strconcat (binary ? "51-" : "2", args, NULL);
    check (sio_packet_decode (packet, strlen (packet), &decoded, NULL),
        "a built event is refused by the decoder");
    check (g_strcmp0 (sio_packet_get_event_name (&decoded), "ev") == 0,
        "a built event has another name");
    sio_packet_clear (&decoded);
    g_free (packet);
    g_free (args);
  }
}

/* The C-string APIs see the input up to its first NUL. */
static void
fuzz_c_string (gchar target, const gchar * text, gsize length)
{
  gchar *string = g_strndup (text, length);
  GError *error = NULL;

  if (target == 'n') {
    sio_namespace_is_valid (string);
  } else if (target == 'v') {
    fuzz_event_args (string);
  } else if (!sio_json_is_object (string, &error)) {
    check_refusal (error);
  }
  g_free (string);
}

int
LLVMFuzzerTestOneInput (const uint8_t * data, size_t size)
{
  static const gchar targets[] = "eopajnv";
  const gchar *text = (const gchar *) data + 1;
  gsize length;
  gchar target;

  if (size == 0)
    return 0;
  target = (gchar) data[0];
  if (target == '\0' || strchr (targets, target) == NULL)
    target = targets[data[0] % (sizeof (targets) - 1)];
  /* libFuzzer's buffer ends where the input does, so an overread past
   * @length is caught */
  length = size - 1;

  switch (target) {
    case 'e':
      fuzz_message (text, length);
      break;
    case 'o':
      fuzz_open (text, length);
      break;
    case 'p':
      fuzz_packet (text, length);
      break;
    case 'a':
      fuzz_peek_ack (text, length);
      break;
    default:
      fuzz_c_string (target, text, length);
      break;
  }
  return 0;
}
