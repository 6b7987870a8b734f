/* gst-socketio
 * Copyright (C) 2026 gst-socketio contributors
 *
 * This library is free software; you can redistribute it and/or
 * modify it under the terms of the GNU Library General Public
 * License as published by the Free Software Foundation; either
 * version 2.1 of the License, or (at your option) any later version.
 */

/* A throw-away PKI the TLS tests make at run time with the openssl
 * command: a CA, a server certificate for 127.0.0.1 and localhost, a
 * client certificate, and any other certificate the CA signs (another
 * host name, an expired one). Everything lives in one temporary folder,
 * removed by sio_test_pki_clear(). Single-threaded: call from the test. */

#ifndef __SIO_TEST_PKI_H__
#define __SIO_TEST_PKI_H__

#include <gio/gio.h>

G_BEGIN_DECLS typedef struct
{
  gchar *dir;
  gchar *ca_file;               /* DIR/ca.pem */
  /* DIR/server.pem and server.key: CN and SAN 127.0.0.1, SAN localhost */
  GTlsCertificate *certificate;
  /* DIR/client.pem and client.key: extendedKeyUsage clientAuth */
  GTlsCertificate *client_certificate;
} SioTestPki;

/* Makes the CA, the server and the client certificates. FALSE (nothing to
 * clear) when there is no openssl command. */
gboolean sio_test_pki_make (SioTestPki * pki);

/* One more key and certificate the CA signs, DIR/NAME.pem and
 * DIR/NAME.key, for @subject ("/CN=...") with the openssl x509
 * @extensions; valid for two days from now, or, if @expired, only on
 * 1-2 January 2020. */
GTlsCertificate *sio_test_pki_add (SioTestPki * pki, const gchar * name,
    const gchar * subject, const gchar * extensions, gboolean expired);

/* DIR/@file (free it). */
gchar *sio_test_pki_path (SioTestPki * pki, const gchar * file);

/* Removes the folder and all in it; frees the fields. */
void sio_test_pki_clear (SioTestPki * pki);

/* A GTlsInteraction that hands over @certificate whenever a server asks
 * for a client certificate (from any thread), counting the requests. */
GTlsInteraction *sio_test_interaction_new (GTlsCertificate * certificate);
guint sio_test_interaction_get_requests (GTlsInteraction * interaction);

G_END_DECLS
#endif
