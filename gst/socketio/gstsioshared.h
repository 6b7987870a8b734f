/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* The process-wide list of connections that socketiosink instances share:
 * a socketiosrc naming the same location and namespace listens to the
 * server's events on that sink's connection instead of opening its own.
 *
 * Threads and locks: every function takes the registry's one lock, and
 * may take, under it, a SioClient's locks (sio_client_add_listener(),
 * sio_client_ack_event()) and, in gst_sio_shared_unpublish(), the user's
 * own lock through its detached() callback. So a user calls none of these
 * with its own lock held, and its listener (called by the network thread
 * under the client's listener lock) calls none of them. */

#ifndef __GST_SIO_SHARED_H__
#define __GST_SIO_SHARED_H__

#include <glib.h>

#include "sio-client.h"

G_BEGIN_DECLS typedef struct _GstSioShared GstSioShared;

/* Called once, under the registry's lock, when the connection goes away
 * (its sink stopped) while the user is attached; the listener is already
 * removed. */
typedef void (*GstSioDetached) (gpointer user_data);

/* socketiosink: offers @client under (@location, @nsp). NULL when another
 * sink offers one under that name already (the first one is shared). */
GstSioShared *gst_sio_shared_publish (const gchar * location,
    const gchar * nsp, SioClient * client);

/* socketiosink, before it frees the client: detaches every user. */
void gst_sio_shared_unpublish (GstSioShared * shared);

/* socketiosrc: listens with @listener on the connection offered under
 * (@location, @nsp); NULL when none is. Detach before @user_data goes. */
GstSioShared *gst_sio_shared_attach (const gchar * location,
    const gchar * nsp, SioEventListener listener, GstSioDetached detached,
    gpointer user_data);

/* Ends what gst_sio_shared_attach() began for @user_data, and drops the
 * reference it returned; nothing is called for @user_data afterwards. */
void gst_sio_shared_detach (GstSioShared * shared, gpointer user_data);

/* socketiosrc, before it looks for a connection: the first listener of an
 * event on a connection takes every such event, so a second source of
 * (@location, @nsp, @event) would get none. NULL when another source has
 * claimed it already; otherwise the claim, for
 * gst_sio_shared_release_event(), which frees it. */
gchar *gst_sio_shared_claim_event (const gchar * location, const gchar * nsp,
    const gchar * event);
void gst_sio_shared_release_event (gchar * claim);

/* sio_client_ack_event() on the shared connection, if it is still there. */
void gst_sio_shared_ack_event (GstSioShared * shared, guint epoch,
    gint64 ack_id, gchar * args_json);

G_END_DECLS
#endif /* __GST_SIO_SHARED_H__ */
