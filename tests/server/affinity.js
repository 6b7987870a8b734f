#!/usr/bin/env node
// A load balancer in front of one server.js for the gst-socketio tests
// (issue 8), on Node's built-in modules only:
//
//   node affinity.js --backend-port N [--host 127.0.0.1] [--port 0] [--ignore-stdin]
//
// HTTP requests and WebSocket upgrades are piped through to
// 127.0.0.1:N. Its first response carries "Set-Cookie: affinity=<random>;
// Path=/" (a 101 too); for every later request (each polling GET and
// POST, each WebSocket upgrade, across reconnections) it records whether
// that cookie came back.
//
// Control API (GET, JSON), its own, not forwarded:
//   /control/stats   see `snapshot()`
//   /control/cut     destroy every client connection, and answer later
//                    requests of the Engine.IO sessions seen so far with
//                    400 "Session ID unknown" (as if the balancer lost
//                    them), so that every client must connect again
//   /control/reset   zero the counters (the cookie stays the same)
//
// Prints "LISTENING <port>", exits on stdin EOF, prints "STATS <json>" on
// SIGTERM, like server.js (lifecycle.js).
'use strict';

const crypto = require('crypto');
const http = require('http');
const net = require('net');
const { parseArgs, run } = require('./lifecycle');

const USAGE = 'usage: node affinity.js --backend-port N [--host H] [--port P] [--ignore-stdin]';
const MAX_LOG = 2000;

const opts = parseArgs('affinity.js', process.argv, {
  host: '127.0.0.1',
  port: 0,
  backendPort: 0,
  ignoreStdin: false,
}, {
  '--host': ['host', 'string'],
  '--port': ['port', 'int'],
  '--backend-port': ['backendPort', 'int'],
  '--ignore-stdin': ['ignoreStdin', true],
}, USAGE);
if (opts.backendPort === 0) {
  process.stderr.write(`affinity.js: --backend-port is required\n${USAGE}\n`);
  process.exit(2);
}

const cookie = crypto.randomBytes(8).toString('hex');
const setCookie = `affinity=${cookie}; Path=/`;
let cookieSent = false;     // the first response has gone out
const clients = new Set();  // every client connection, for /control/cut
const deadSids = new Set(); // sessions /control/cut ended
const seenSids = new Set();

let stats;
function resetStats() {
  stats = {
    requests: 0,          // every forwarded request, the first included
    beforeCookie: 0,      // requests that came before the cookie went out
    withCookie: 0,        // later requests with affinity=<the cookie>
    withoutCookie: 0,     // ... with no affinity cookie
    wrongCookie: 0,       // ... with another value
    upgrades: 0,          // WebSocket upgrades among the requests
    handshakes: 0,        // requests without a sid (new Engine.IO sessions)
    cuts: 0,
    cutConnections: 0,
    deadSidRequests: 0,   // requests refused after a cut
    log: [],              // {method, transport, sid, upgrade, cookie} of each, first MAX_LOG
  };
}
resetStats();

function cookieOf(headers) {
  const h = headers.cookie;
  if (h === undefined) return null;
  for (const part of h.split(';')) {
    const [name, ...rest] = part.trim().split('=');
    if (name === 'affinity') return rest.join('=');
  }
  return null;
}

// Counts one client request; returns its Engine.IO sid (or null).
function record(req, upgrade) {
  const url = new URL(req.url, 'http://localhost');
  const sid = url.searchParams.get('sid');
  const value = cookieOf(req.headers);
  let state;
  if (!cookieSent) {
    state = 'before';
    stats.beforeCookie++;
  } else if (value === cookie) {
    state = 'ok';
    stats.withCookie++;
  } else if (value === null) {
    state = 'missing';
    stats.withoutCookie++;
  } else {
    state = 'wrong';
    stats.wrongCookie++;
  }
  stats.requests++;
  if (upgrade) stats.upgrades++;
  if (sid === null) stats.handshakes++;
  if (stats.log.length < MAX_LOG) {
    stats.log.push({
      method: req.method,
      transport: url.searchParams.get('transport'),
      sid: sid !== null,
      upgrade,
      cookie: state,
    });
  }
  return sid;
}

// The headers of our response: the cookie on the first one.
function responseHeaders(headers) {
  if (cookieSent) return headers;
  cookieSent = true;
  const out = { ...headers };
  const existing = out['set-cookie'] || [];
  out['set-cookie'] = [...existing, setCookie];
  return out;
}

function reply(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function snapshot() {
  return { ...stats, cookie, cookieSent, clients: clients.size };
}

function cut() {
  stats.cuts++;
  for (const sid of seenSids) deadSids.add(sid);
  for (const socket of [...clients]) {
    stats.cutConnections++;
    socket.destroy();
  }
}

function onControl(req, res) {
  const url = new URL(req.url, 'http://localhost');
  switch (url.pathname) {
    case '/control/stats':
      return reply(res, 200, snapshot());
    case '/control/cut': {
      // this request's own connection is not a client's
      clients.delete(req.socket);
      const n = clients.size;
      cut();
      return reply(res, 200, { cut: n });
    }
    case '/control/reset':
      resetStats();
      return reply(res, 200, { ok: true });
    default:
      return reply(res, 404, { error: 'not found' });
  }
}

// A session /control/cut ended gets what Engine.IO says of unknown sids.
function refuseDeadSid(sid) {
  if (sid === null || !deadSids.has(sid)) {
    if (sid !== null) seenSids.add(sid);
    return false;
  }
  stats.deadSidRequests++;
  return true;
}

function onRequest(req, res) {
  if (req.url.startsWith('/control/')) return onControl(req, res);
  const sid = record(req, false);
  if (refuseDeadSid(sid)) {
    const body = JSON.stringify({ code: 1, message: 'Session ID unknown' });
    res.writeHead(400, responseHeaders({ 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }));
    return res.end(body);
  }
  const upstream = http.request({
    host: '127.0.0.1',
    port: opts.backendPort,
    method: req.method,
    path: req.url,
    headers: req.headers,
    agent: false,
  }, (ures) => {
    res.writeHead(ures.statusCode, responseHeaders(ures.headers));
    ures.pipe(res);
  });
  upstream.on('error', () => {
    if (!res.headersSent) {
      res.writeHead(502, responseHeaders({ 'content-length': 0 }));
      res.end();
    } else {
      res.destroy();
    }
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

// Upgrades: the request goes on as it came; the backend's response head is
// read whole so the cookie can be added to it, then both sides are piped.
function onUpgrade(req, socket, head) {
  socket.on('error', () => socket.destroy());
  const sid = record(req, true);
  if (refuseDeadSid(sid)) {
    socket.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    return;
  }
  const upstream = net.connect(opts.backendPort, '127.0.0.1', () => {
    let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    }
    upstream.write(`${text}\r\n`);
    if (head && head.length) upstream.write(head);
  });
  let pending = Buffer.alloc(0);
  const onHead = (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    const end = pending.indexOf('\r\n\r\n');
    if (end < 0) return;
    upstream.off('data', onHead);
    let headText = pending.subarray(0, end).toString('latin1');
    if (!cookieSent) {
      cookieSent = true;
      headText += `\r\nSet-Cookie: ${setCookie}`;
    }
    socket.write(`${headText}\r\n\r\n`);
    socket.write(pending.subarray(end + 4));
    upstream.pipe(socket);
    socket.pipe(upstream);
  };
  upstream.on('data', onHead);
  upstream.on('error', () => socket.destroy());
  socket.on('close', () => upstream.destroy());
  upstream.on('close', () => socket.destroy());
}

const server = http.createServer(onRequest);
server.on('connection', (socket) => {
  clients.add(socket);
  socket.on('close', () => clients.delete(socket));
});
server.on('upgrade', onUpgrade);
run('affinity.js', server, opts, snapshot);
