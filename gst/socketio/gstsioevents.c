/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsioevents.h"

static GstEvent *
upstream_event_new (const gchar * name, const gchar * field, guint64 value)
{
  return gst_event_new_custom (GST_EVENT_CUSTOM_UPSTREAM,
      gst_structure_new (name, field, G_TYPE_UINT64, value, NULL));
}

static gboolean
upstream_event_parse (GstEvent * event, const gchar * name,
    const gchar * field, guint64 * value)
{
  const GstStructure *s;
  guint64 v;

  g_return_val_if_fail (GST_IS_EVENT (event), FALSE);

  if (GST_EVENT_TYPE (event) != GST_EVENT_CUSTOM_UPSTREAM)
    return FALSE;
  s = gst_event_get_structure (event);
  if (s == NULL || !gst_structure_has_name (s, name) ||
      !gst_structure_get_uint64 (s, field, &v))
    return FALSE;
  if (value)
    *value = v;
  return TRUE;
}

/**
 * gst_sio_ack_event_new:
 * @seq: seq of the buffer that is safe
 *
 * Returns: (transfer full): a new #GstSioAck event, to push upstream.
 */
GstEvent *
gst_sio_ack_event_new (guint64 seq)
{
  return upstream_event_new (GST_SIO_ACK_EVENT_NAME, "seq", seq);
}

/**
 * gst_sio_ack_event_parse:
 * @event: an event
 * @seq: (out) (optional): the acknowledged seq
 *
 * Returns: %TRUE if @event is a well-formed #GstSioAck; %FALSE otherwise
 * (and @seq is left untouched).
 */
gboolean
gst_sio_ack_event_parse (GstEvent * event, guint64 * seq)
{
  return upstream_event_parse (event, GST_SIO_ACK_EVENT_NAME, "seq", seq);
}

/**
 * gst_sio_replay_event_new:
 * @from_seq: first seq to push again
 *
 * Returns: (transfer full): a new #GstSioReplay event, to push upstream.
 */
GstEvent *
gst_sio_replay_event_new (guint64 from_seq)
{
  return upstream_event_new (GST_SIO_REPLAY_EVENT_NAME, "from-seq", from_seq);
}

/**
 * gst_sio_replay_event_parse:
 * @event: an event
 * @from_seq: (out) (optional): the first seq to push again
 *
 * Returns: %TRUE if @event is a well-formed #GstSioReplay; %FALSE otherwise
 * (and @from_seq is left untouched).
 */
gboolean
gst_sio_replay_event_parse (GstEvent * event, guint64 * from_seq)
{
  return upstream_event_parse (event, GST_SIO_REPLAY_EVENT_NAME, "from-seq",
      from_seq);
}

/**
 * gst_sio_ack_support_query_new:
 *
 * Returns: (transfer full): a new #GstSioAckSupport query with "supported"
 * %FALSE, to send downstream with gst_pad_peer_query().
 */
GstQuery *
gst_sio_ack_support_query_new (void)
{
  return gst_query_new_custom (GST_QUERY_CUSTOM,
      gst_structure_new (GST_SIO_ACK_SUPPORT_QUERY_NAME,
          "supported", G_TYPE_BOOLEAN, FALSE, NULL));
}

/**
 * gst_sio_ack_support_query_parse:
 * @query: a query
 * @supported: (out) (optional): whether downstream will send acks
 *
 * Returns: %TRUE if @query is a #GstSioAckSupport query.
 */
gboolean
gst_sio_ack_support_query_parse (GstQuery * query, gboolean * supported)
{
  const GstStructure *s;
  gboolean v = FALSE;

  g_return_val_if_fail (GST_IS_QUERY (query), FALSE);

  if (GST_QUERY_TYPE (query) != GST_QUERY_CUSTOM)
    return FALSE;
  s = gst_query_get_structure (query);
  if (s == NULL || !gst_structure_has_name (s, GST_SIO_ACK_SUPPORT_QUERY_NAME))
    return FALSE;
  gst_structure_get_boolean (s, "supported", &v);
  if (supported)
    *supported = v;
  return TRUE;
}

/**
 * gst_sio_ack_support_query_set_supported:
 * @query: a writable #GstSioAckSupport query
 * @supported: %TRUE if this element will send a #GstSioAck for every buffer
 *   it receives
 *
 * For the sink's query handler. The handler then returns %TRUE.
 *
 * Returns: %TRUE if @query was a #GstSioAckSupport query and was set.
 */
gboolean
gst_sio_ack_support_query_set_supported (GstQuery * query, gboolean supported)
{
  GstStructure *s;

  if (!gst_sio_ack_support_query_parse (query, NULL))
    return FALSE;
  s = gst_query_writable_structure (query);
  gst_structure_set (s, "supported", G_TYPE_BOOLEAN, supported, NULL);
  return TRUE;
}
