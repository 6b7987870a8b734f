#!/usr/bin/env node
// An HTTP forward proxy for the gst-socketio tests (issue 8), on Node's
// built-in modules only:
//
//   node proxy.js [--host 127.0.0.1] [--port 0] [--auth USER:PASSWORD] [--ignore-stdin]
//
// - absolute-URI requests ("GET http://127.0.0.1:N/path HTTP/1.1", plain
//   http: polling through a proxy) are forwarded, Upgrade requests
//   (ws:// sent the same way) piped through once the target answers;
// - CONNECT host:port opens a tunnel (https, wss, and ws through CONNECT);
// - --auth: every request and CONNECT needs "Proxy-Authorization: Basic
//   base64(USER:PASSWORD)"; otherwise 407 with Proxy-Authenticate;
// - only 127.0.0.1 and localhost targets (403 for any other);
// - a request for a plain path (not an absolute URI) is the control API:
//   /control/stats, /control/reset.
//
// Prints "LISTENING <port>", exits on stdin EOF, prints "STATS <json>" on
// SIGTERM, like server.js (lifecycle.js).
'use strict';

const http = require('http');
const net = require('net');
const { parseArgs, run } = require('./lifecycle');

const USAGE = 'usage: node proxy.js [--host H] [--port P] [--auth USER:PASSWORD] [--ignore-stdin]';
const REALM = 'gst-socketio test proxy';
const ALLOWED_HOSTS = new Set(['127.0.0.1', 'localhost']);

const opts = parseArgs('proxy.js', process.argv, {
  host: '127.0.0.1',
  port: 0,
  auth: null,
  ignoreStdin: false,
}, {
  '--host': ['host', 'string'],
  '--port': ['port', 'int'],
  '--auth': ['auth', 'string'],
  '--ignore-stdin': ['ignoreStdin', true],
}, USAGE);
const expectedAuth = opts.auth === null ? null
  : `Basic ${Buffer.from(opts.auth).toString('base64')}`;

let stats;
function resetStats() {
  stats = {
    requests: 0,             // absolute-URI requests forwarded (plain http)
    upgrades: 0,             // absolute-URI Upgrade requests piped through
    connects: 0,             // CONNECT tunnels opened
    refusedAuths: 0,         // 407s: missing or wrong Proxy-Authorization
    badAuths: 0,             // ... of which a Proxy-Authorization was there
    refusedTargets: 0,       // 403s: not a loopback target
    failedTargets: 0,        // 502s: the target did not answer
    targets: [],             // "host:port" of each accepted request, first 1000
    controlRequests: 0,
    // origin-form requests for anything but /control/ (a client that
    // spoke to the proxy as if it were the server): answered 400
    originForm: 0,
    originFormPaths: [],     // their paths without the query, first 100
  };
}
resetStats();

function noteTarget(host, port) {
  if (stats.targets.length < 1000) stats.targets.push(`${host}:${port}`);
}

// Whether the request may go through; counts and answers otherwise via
// refuse(status, headers).
function authorized(headers, refuse) {
  if (expectedAuth === null) return true;
  const given = headers['proxy-authorization'];
  if (given === expectedAuth) return true;
  stats.refusedAuths++;
  if (given !== undefined) stats.badAuths++;
  refuse(407, { 'Proxy-Authenticate': `Basic realm="${REALM}"` });
  return false;
}

// Raw status line and headers on a socket we own (CONNECT, Upgrade).
function writeHead(socket, status, headers) {
  let head = `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\n`;
  for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
  socket.end(`${head}Content-Length: 0\r\nConnection: close\r\n\r\n`);
}

// The target of an absolute-URI request, or null (refused and answered).
function absoluteTarget(req, refuse) {
  let url;
  try {
    url = new URL(req.url);
  } catch (e) {
    refuse(400, {});
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'ws:') {
    refuse(400, {});
    return null;
  }
  if (!ALLOWED_HOSTS.has(url.hostname)) {
    stats.refusedTargets++;
    refuse(403, {});
    return null;
  }
  return { host: url.hostname, port: Number(url.port || 80), path: url.pathname + url.search };
}

// The request's headers for the target: no proxy headers.
function forwardedHeaders(req) {
  const headers = { ...req.headers };
  delete headers['proxy-authorization'];
  delete headers['proxy-connection'];
  return headers;
}

function reply(res, code, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function onControl(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (!url.pathname.startsWith('/control/')) {
    stats.originForm++;
    if (stats.originFormPaths.length < 100) stats.originFormPaths.push(url.pathname);
    return reply(res, 400, { error: 'proxy.js: not an absolute URI' });
  }
  stats.controlRequests++;
  if (url.pathname === '/control/stats') return reply(res, 200, stats);
  if (url.pathname === '/control/reset') {
    resetStats();
    return reply(res, 200, { ok: true });
  }
  return reply(res, 404, { error: 'not found' });
}

function onRequest(req, res) {
  if (req.url.startsWith('/')) return onControl(req, res);
  const refuse = (status, headers) => {
    res.writeHead(status, { ...headers, 'Content-Length': 0 });
    res.end();
  };
  if (!authorized(req.headers, refuse)) return;
  const target = absoluteTarget(req, refuse);
  if (target === null) return;
  stats.requests++;
  noteTarget(target.host, target.port);
  const upstream = http.request({
    host: target.host,
    port: target.port,
    method: req.method,
    path: target.path,
    headers: forwardedHeaders(req),
  }, (ures) => {
    res.writeHead(ures.statusCode, ures.headers);
    ures.pipe(res);
  });
  upstream.on('error', () => {
    stats.failedTargets++;
    if (!res.headersSent) refuse(502, {});
    else res.destroy();
  });
  res.on('close', () => upstream.destroy());
  req.pipe(upstream);
}

// Pipes two sockets together; either end closing closes the other.
function splice(a, b, head) {
  if (head && head.length) b.write(head);
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

// An absolute-URI Upgrade request: sent on to the target as an origin-form
// request, then both connections piped together.
function onUpgrade(req, socket, head) {
  socket.on('error', () => socket.destroy());
  const refuse = (status, headers) => writeHead(socket, status, headers);
  if (!authorized(req.headers, refuse)) return;
  const target = absoluteTarget(req, refuse);
  if (target === null) return;
  stats.upgrades++;
  noteTarget(target.host, target.port);
  const upstream = net.connect(target.port, target.host, () => {
    let text = `${req.method} ${target.path} HTTP/1.1\r\n`;
    const raw = req.rawHeaders;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i].toLowerCase();
      if (name === 'proxy-authorization' || name === 'proxy-connection') continue;
      text += `${raw[i]}: ${raw[i + 1]}\r\n`;
    }
    upstream.write(`${text}\r\n`);
    splice(socket, upstream, head);
  });
  upstream.on('error', () => {
    stats.failedTargets++;
    if (!socket.destroyed) refuse(502, {});
  });
}

function onConnect(req, socket, head) {
  socket.on('error', () => socket.destroy());
  const refuse = (status, headers) => writeHead(socket, status, headers);
  if (!authorized(req.headers, refuse)) return;
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(req.url);
  if (m === null) return refuse(400, {});
  const host = m[1];
  const port = Number(m[2]);
  if (!ALLOWED_HOSTS.has(host)) {
    stats.refusedTargets++;
    return refuse(403, {});
  }
  const upstream = net.connect(port, host, () => {
    stats.connects++;
    noteTarget(host, port);
    socket.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    splice(socket, upstream, head);
  });
  upstream.on('error', () => {
    stats.failedTargets++;
    if (!socket.destroyed) refuse(502, {});
  });
}

const server = http.createServer(onRequest);
server.on('upgrade', onUpgrade);
server.on('connect', onConnect);
run('proxy.js', server, opts, () => stats);
