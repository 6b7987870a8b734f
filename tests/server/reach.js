// What server.js adds for the reach tests (issue 8): serving https (so
// wss and https polling both work) and a log of the HTTP requests its
// Engine.IO path receives, with their headers (extra-headers, user-agent,
// cookies). Kept out of server.js so its other changes do not meet these.
//
//   --tls-cert FILE --tls-key FILE   serve https with this certificate
//   --tls-ca FILE                    CA of the client certificates
//   --require-client-cert            refuse clients without one it signed
'use strict';

const fs = require('fs');
const http = require('http');
const https = require('https');

const MAX_LOGGED_REQUESTS = 2000;

const defaults = {
  tlsCert: null,
  tlsKey: null,
  tlsCa: null,
  requireClientCert: false,
};

const spec = {
  '--tls-cert': ['tlsCert', 'string'],
  '--tls-key': ['tlsKey', 'string'],
  '--tls-ca': ['tlsCa', 'string'],
  '--require-client-cert': ['requireClientCert', true],
};

const usage = '[--tls-cert FILE --tls-key FILE [--tls-ca FILE --require-client-cert]]';

// An http server, or an https one when opts has a certificate.
function createServer(name, opts, handler) {
  if (opts.tlsCert === null && opts.tlsKey === null) {
    if (opts.tlsCa !== null || opts.requireClientCert) {
      process.stderr.write(`${name}: --tls-ca and --require-client-cert need --tls-cert\n`);
      process.exit(2);
    }
    return http.createServer(handler);
  }
  if (opts.tlsCert === null || opts.tlsKey === null ||
      (opts.requireClientCert && opts.tlsCa === null)) {
    process.stderr.write(`${name}: --tls-cert and --tls-key go together; ` +
      '--require-client-cert needs --tls-ca\n');
    process.exit(2);
  }
  const tls = {
    cert: fs.readFileSync(opts.tlsCert),
    key: fs.readFileSync(opts.tlsKey),
  };
  if (opts.tlsCa !== null) tls.ca = fs.readFileSync(opts.tlsCa);
  if (opts.requireClientCert) {
    // the TLS handshake itself fails without a certificate the CA signed
    tls.requestCert = true;
    tls.rejectUnauthorized = true;
  }
  return https.createServer(tls, handler);
}

// Records every request for enginePath (polling GETs and POSTs, WebSocket
// upgrades) before Engine.IO sees it: call it once Engine.IO is attached
// (it moves the request listeners it finds behind its own). Returns
// {reset(), snapshot()}.
function recordRequests(httpServer, enginePath) {
  let log;
  let dropped;
  const reset = () => {
    log = [];
    dropped = 0;
  };
  const record = (req) => {
    const url = new URL(req.url, 'http://localhost');
    if (!url.pathname.startsWith(enginePath)) return;
    if (log.length >= MAX_LOGGED_REQUESTS) {
      dropped++;
      return;
    }
    const upgrade = (req.headers.upgrade || '').toLowerCase() === 'websocket';
    log.push({
      method: req.method,
      transport: url.searchParams.get('transport'),
      sid: url.searchParams.has('sid'),
      upgrade,
      headers: { ...req.headers },
    });
  };
  reset();
  httpServer.prependListener('request', record);
  httpServer.prependListener('upgrade', record);
  return {
    reset,
    snapshot: () => ({ requests: log, requestsDropped: dropped }),
  };
}

module.exports = { defaults, spec, usage, createServer, recordRequests };
