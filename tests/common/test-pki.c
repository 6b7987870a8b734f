/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* Threads: none of its own; the calling (test) thread owns the PKI. The
 * interaction is called from the TLS client's thread: its certificate is
 * set once before, its request count is atomic. */

#include <string.h>

#include <glib/gstdio.h>

#include "test-pki.h"

/* `openssl ca` needs a configuration for a certificate with chosen dates
 * (`x509 -req` in OpenSSL 3.0 only counts days from now). */
static const gchar ca_config[] =
    "[ca]\n"
    "default_ca = test_ca\n"
    "[test_ca]\n"
    "database = index.txt\n"
    "new_certs_dir = .\n"
    "serial = dated.srl\n"
    "default_md = sha256\n"
    "policy = any\n"
    "unique_subject = no\n" "[any]\n" "commonName = supplied\n";

static gboolean
run_openssl (const gchar * dir, const gchar * args)
{
  gchar *command = g_strdup_printf ("openssl %s", args);
  gchar **argv = NULL;
  gchar *err = NULL;
  gint status = -1;
  gboolean ok;

  g_assert_true (g_shell_parse_argv (command, NULL, &argv, NULL));
  ok = g_spawn_sync (dir, argv, NULL, G_SPAWN_SEARCH_PATH |
      G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, &err, &status, NULL) &&
      g_spawn_check_wait_status (status, NULL);
  if (!ok)
    g_printerr ("%s failed: %s\n", command, err);
  g_strfreev (argv);
  g_free (err);
  g_free (command);
  return ok;
}

static void
write_file (SioTestPki * pki, const gchar * name, const gchar * contents)
{
  gchar *path = sio_test_pki_path (pki, name);

  g_assert_true (g_file_set_contents (path, contents, -1, NULL));
  g_free (path);
}

gchar *
sio_test_pki_path (SioTestPki * pki, const gchar * file)
{
  return g_build_filename (pki->dir, file, NULL);
}

GTlsCertificate *
sio_test_pki_add (SioTestPki * pki, const gchar * name,
    const gchar * subject, const gchar * extensions, gboolean expired)
{
  GError *error = NULL;
  GTlsCertificate *certificate;
  gchar *args, *cert, *key, *ext;

  ext = g_strdup_printf ("%s.cnf", name);
  write_file (pki, ext, extensions);
  args = g_strdup_printf ("req -newkey ec -pkeyopt "
      "ec_paramgen_curve:prime256v1 -nodes -keyout %s.key -out %s.csr "
      "-subj %s", name, name, subject);
  g_assert_true (run_openssl (pki->dir, args));
  g_free (args);
  if (expired) {
    write_file (pki, "ca.cnf", ca_config);
    write_file (pki, "index.txt", "");
    write_file (pki, "dated.srl", "1000\n");
    args = g_strdup_printf ("ca -config ca.cnf -batch -notext "
        "-cert ca.pem -keyfile ca.key -in %s.csr -out %s.pem "
        "-startdate 20200101000000Z -enddate 20200102000000Z -extfile %s",
        name, name, ext);
  } else {
    args = g_strdup_printf ("x509 -req -in %s.csr -CA ca.pem -CAkey ca.key "
        "-CAcreateserial -out %s.pem -days 2 -extfile %s", name, name, ext);
  }
  g_assert_true (run_openssl (pki->dir, args));
  g_free (args);
  cert = g_strdup_printf ("%s/%s.pem", pki->dir, name);
  key = g_strdup_printf ("%s/%s.key", pki->dir, name);
  certificate = g_tls_certificate_new_from_files (cert, key, &error);
  g_assert_no_error (error);
  g_free (cert);
  g_free (key);
  g_free (ext);
  return certificate;
}

gboolean
sio_test_pki_make (SioTestPki * pki)
{
  GError *error = NULL;
  gchar *openssl;

  memset (pki, 0, sizeof (*pki));
  openssl = g_find_program_in_path ("openssl");
  if (openssl == NULL)
    return FALSE;
  g_free (openssl);
  pki->dir = g_dir_make_tmp ("sio-pki-XXXXXX", &error);
  g_assert_no_error (error);
  g_assert_true (run_openssl (pki->dir, "req -x509 -newkey ec -pkeyopt "
          "ec_paramgen_curve:prime256v1 -nodes -keyout ca.key -out ca.pem "
          "-days 2 -subj /CN=sio-test-ca"));
  pki->ca_file = sio_test_pki_path (pki, "ca.pem");
  pki->certificate = sio_test_pki_add (pki, "server", "/CN=127.0.0.1",
      "subjectAltName=IP:127.0.0.1,DNS:localhost\n", FALSE);
  pki->client_certificate = sio_test_pki_add (pki, "client",
      "/CN=sio-test-client",
      "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n", FALSE);
  return TRUE;
}

void
sio_test_pki_clear (SioTestPki * pki)
{
  GDir *dir;
  const gchar *name;

  if (pki->dir == NULL)
    return;
  /* flat: openssl writes only files here */
  dir = g_dir_open (pki->dir, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir))) {
    gchar *path = sio_test_pki_path (pki, name);

    g_remove (path);
    g_free (path);
  }
  g_dir_close (dir);
  g_rmdir (pki->dir);
  g_clear_pointer (&pki->dir, g_free);
  g_clear_pointer (&pki->ca_file, g_free);
  g_clear_object (&pki->certificate);
  g_clear_object (&pki->client_certificate);
}

typedef struct
{
  GTlsInteraction parent;
  GTlsCertificate *certificate;
  gint requests;
} SioTestInteraction;
typedef GTlsInteractionClass SioTestInteractionClass;

static GType sio_test_interaction_get_type (void);
G_DEFINE_TYPE (SioTestInteraction, sio_test_interaction,
    G_TYPE_TLS_INTERACTION);

static GTlsInteractionResult
sio_test_interaction_request_certificate (GTlsInteraction * interaction,
    GTlsConnection * connection, GTlsCertificateRequestFlags flags,
    GCancellable * cancellable, GError ** error)
{
  SioTestInteraction *self = (SioTestInteraction *) interaction;

  g_atomic_int_inc (&self->requests);
  g_tls_connection_set_certificate (connection, self->certificate);
  return G_TLS_INTERACTION_HANDLED;
}

static void
sio_test_interaction_finalize (GObject * object)
{
  SioTestInteraction *self = (SioTestInteraction *) object;

  g_clear_object (&self->certificate);
  G_OBJECT_CLASS (sio_test_interaction_parent_class)->finalize (object);
}

static void
sio_test_interaction_class_init (SioTestInteractionClass * klass)
{
  G_OBJECT_CLASS (klass)->finalize = sio_test_interaction_finalize;
  klass->request_certificate = sio_test_interaction_request_certificate;
}

static void
sio_test_interaction_init (SioTestInteraction * self)
{
}

GTlsInteraction *
sio_test_interaction_new (GTlsCertificate * certificate)
{
  SioTestInteraction *self = g_object_new (sio_test_interaction_get_type (),
      NULL);

  self->certificate = g_object_ref (certificate);
  return G_TLS_INTERACTION (self);
}

guint
sio_test_interaction_get_requests (GTlsInteraction * interaction)
{
  return g_atomic_int_get (&((SioTestInteraction *) interaction)->requests);
}
