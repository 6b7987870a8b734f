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

#include "gstsiometa.h"

GType
gst_sio_seq_meta_api_get_type (void)
{
  static GType type = 0;
  /* no tags: the sequence number stays valid whatever is done to the data */
  static const gchar *tags[] = { NULL };

  if (g_once_init_enter (&type)) {
    /* another copy of this file (a test program linking it while the plugin
     * is loaded) may have registered it already: a second registration of
     * the same name would fail */
    GType _type = g_type_from_name ("GstSioSeqMetaAPI");

    if (_type == 0)
      _type = gst_meta_api_type_register ("GstSioSeqMetaAPI", tags);
    g_once_init_leave (&type, _type);
  }
  return type;
}

static gboolean
gst_sio_seq_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstSioSeqMeta *smeta = (GstSioSeqMeta *) meta;

  smeta->seq = 0;
  smeta->replay = FALSE;
  return TRUE;
}

static gboolean
gst_sio_seq_meta_transform (GstBuffer * dest, GstMeta * meta,
    GstBuffer * buffer, GQuark type, gpointer data)
{
  GstSioSeqMeta *smeta = (GstSioSeqMeta *) meta;
  GstSioSeqMeta *dmeta;

  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;

  /* a sub-range is not the buffer the seq names: do not carry it */
  if (((GstMetaTransformCopy *) data)->region)
    return FALSE;

  dmeta = gst_buffer_add_sio_seq_meta (dest, smeta->seq);
  if (dmeta == NULL)
    return FALSE;
  dmeta->replay = smeta->replay;
  return TRUE;
}

const GstMetaInfo *
gst_sio_seq_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;

  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *meta = gst_meta_get_info ("GstSioSeqMeta");

    if (meta == NULL)
      meta = gst_meta_register (GST_SIO_SEQ_META_API_TYPE, "GstSioSeqMeta",
          sizeof (GstSioSeqMeta), gst_sio_seq_meta_init, NULL,
          gst_sio_seq_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) meta);
  }
  return info;
}

/**
 * gst_buffer_add_sio_seq_meta:
 * @buffer: a writable #GstBuffer
 * @seq: the sequence number
 *
 * Adds a #GstSioSeqMeta with @seq and replay %FALSE to @buffer. A buffer
 * should carry at most one: callers that renumber a buffer should update the
 * existing meta (see gst_buffer_get_sio_seq_meta()) instead.
 *
 * Returns: (transfer none): the new meta.
 */
GstSioSeqMeta *
gst_buffer_add_sio_seq_meta (GstBuffer * buffer, guint64 seq)
{
  GstSioSeqMeta *meta;

  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);

  meta = (GstSioSeqMeta *) gst_buffer_add_meta (buffer,
      GST_SIO_SEQ_META_INFO, NULL);
  meta->seq = seq;
  return meta;
}
