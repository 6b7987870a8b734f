/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Threads: any; everything below is under registry_lock (see the header
 * for what may be taken under it). An entry lives while its sink has it
 * published or a user holds a reference; client is NULL once unpublished. */

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsioshared.h"

typedef struct
{
  gpointer user_data;
  guint listener_id;
  GstSioDetached detached;
} SharedUser;

struct _GstSioShared
{
  guint refcount;
  gchar *key;
  SioClient *client;
  GArray *users;                /* SharedUser */
};

static GMutex registry_lock;
static GHashTable *registry;    /* key -> GstSioShared, published ones */
/* the keys, with their event, of every audio event a source takes */
static GHashTable *claimed_events;

/* "location\nnsp", or with @event "location\nnsp\nevent" */
static gchar *
make_key (const gchar * location, const gchar * nsp, const gchar * event)
{
  return g_strconcat (location, "\n", nsp ? nsp : "/", event ? "\n" : NULL,
      event, NULL);
}

static void
shared_unref_locked (GstSioShared * shared)
{
  if (--shared->refcount > 0)
    return;
  g_array_unref (shared->users);
  g_free (shared->key);
  g_free (shared);
}

GstSioShared *
gst_sio_shared_publish (const gchar * location, const gchar * nsp,
    SioClient * client)
{
  gchar *key = make_key (location, nsp, NULL);
  GstSioShared *shared = NULL;

  g_mutex_lock (&registry_lock);
  if (registry == NULL)
    registry = g_hash_table_new (g_str_hash, g_str_equal);
  if (!g_hash_table_contains (registry, key)) {
    shared = g_new0 (GstSioShared, 1);
    shared->refcount = 1;
    shared->key = key;
    shared->client = client;
    shared->users = g_array_new (FALSE, FALSE, sizeof (SharedUser));
    g_hash_table_insert (registry, shared->key, shared);
    key = NULL;
  }
  g_mutex_unlock (&registry_lock);
  g_free (key);
  return shared;
}

void
gst_sio_shared_unpublish (GstSioShared * shared)
{
  guint i;

  if (shared == NULL)
    return;
  g_mutex_lock (&registry_lock);
  g_hash_table_remove (registry, shared->key);
  for (i = 0; i < shared->users->len; i++) {
    SharedUser *user = &g_array_index (shared->users, SharedUser, i);

    sio_client_remove_listener (shared->client, user->listener_id);
    user->detached (user->user_data);
  }
  g_array_set_size (shared->users, 0);
  shared->client = NULL;
  shared_unref_locked (shared);
  g_mutex_unlock (&registry_lock);
}

GstSioShared *
gst_sio_shared_attach (const gchar * location, const gchar * nsp,
    SioEventListener listener, GstSioDetached detached, gpointer user_data)
{
  gchar *key = make_key (location, nsp, NULL);
  GstSioShared *shared = NULL;

  g_mutex_lock (&registry_lock);
  if (registry)
    shared = g_hash_table_lookup (registry, key);
  if (shared) {
    SharedUser user = { user_data, 0, detached };

    user.listener_id = sio_client_add_listener (shared->client, listener,
        user_data);
    g_array_append_val (shared->users, user);
    shared->refcount++;
  }
  g_mutex_unlock (&registry_lock);
  g_free (key);
  return shared;
}

void
gst_sio_shared_detach (GstSioShared * shared, gpointer user_data)
{
  guint i;

  g_mutex_lock (&registry_lock);
  for (i = 0; i < shared->users->len; i++) {
    SharedUser *user = &g_array_index (shared->users, SharedUser, i);

    if (user->user_data == user_data) {
      sio_client_remove_listener (shared->client, user->listener_id);
      g_array_remove_index (shared->users, i);
      break;
    }
  }
  shared_unref_locked (shared);
  g_mutex_unlock (&registry_lock);
}

void
gst_sio_shared_ack_event (GstSioShared * shared, guint epoch, gint64 ack_id,
    gchar * args_json)
{
  g_mutex_lock (&registry_lock);
  if (shared->client)
    sio_client_ack_event (shared->client, epoch, ack_id, args_json);
  else
    g_free (args_json);
  g_mutex_unlock (&registry_lock);
}

gchar *
gst_sio_shared_claim_event (const gchar * location, const gchar * nsp,
    const gchar * event)
{
  gchar *key = make_key (location, nsp, event);

  g_mutex_lock (&registry_lock);
  if (claimed_events == NULL)
    claimed_events = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
        NULL);
  if (g_hash_table_contains (claimed_events, key))
    g_clear_pointer (&key, g_free);
  else
    g_hash_table_add (claimed_events, g_strdup (key));
  g_mutex_unlock (&registry_lock);
  return key;
}

void
gst_sio_shared_release_event (gchar * claim)
{
  if (claim == NULL)
    return;
  g_mutex_lock (&registry_lock);
  g_hash_table_remove (claimed_events, claim);
  g_mutex_unlock (&registry_lock);
  g_free (claim);
}
