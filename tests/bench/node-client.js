#!/usr/bin/env node
// Peer benchmark: the official socket.io-client 4.8 (WebSocket, or HTTP
// long-polling with --transports polling) sending
// the same audio_data events as socketiosink, with a fixed window of un-acked
// emits. Resolves socket.io-client from tests/server/node_modules (npm ci there).
//
//   node node-client.js --url http://127.0.0.1:PORT --events N --size 2048
//        --in-flight 32 [--event audio_data] [--namespace /] [--token T]
//        [--timeout S] [--no-deflate] [--transports websocket|polling]
//
// --in-flight 0 = fire-and-forget (no ack asked), ended by one acked barrier
// event "bench_barrier" so the time still covers delivery to the server.
// Prints one JSON line. cpu_s is user+sys of this process from "connected" to
// the last ack. sha256 is that of the concatenated attachments, as the test
// server's /control/stats reports it (computed after the measurement).
//
// Like any socket.io-client on Node, it offers permessage-deflate; socket.io
// servers decline it by default but aiohttp (server.py) accepts it, and
// compressing audio costs the client ~5x the CPU. --no-deflate turns it off.
'use strict';

const path = require('path');
const crypto = require('crypto');
const { createRequire } = require('module');

const serverRequire = createRequire(path.join(__dirname, '..', 'server', 'package.json'));
const { io } = serverRequire('socket.io-client');

function parseArgs(argv) {
  const o = { url: null, events: 20000, size: 2048, inFlight: 32, event: 'audio_data',
    namespace: '/', token: null, timeout: 300, deflate: true, transports: 'websocket' };
  const num = (a, v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) fail(`${a} needs a non-negative integer`);
    return n;
  };
  for (let i = 2; i < argv.length; i += 2) {
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--no-deflate') {
      o.deflate = false;
      i--;
      continue;
    }
    if (v === undefined) fail(`${a} needs a value`);
    switch (a) {
      case '--url': o.url = v; break;
      case '--events': o.events = num(a, v); break;
      case '--size': o.size = num(a, v); break;
      case '--in-flight': o.inFlight = num(a, v); break;
      case '--event': o.event = v; break;
      case '--namespace': o.namespace = v; break;
      case '--token': o.token = v; break;
      case '--timeout': o.timeout = num(a, v); break;
      case '--transports':
        if (v !== 'websocket' && v !== 'polling') fail('--transports is websocket or polling');
        o.transports = v;
        break;
      default: fail(`unknown argument ${a}`);
    }
  }
  if (!o.url) fail('--url is required');
  if (!o.namespace.startsWith('/')) fail('--namespace must start with /');
  return o;
}

function fail(msg) {
  process.stderr.write(`node-client.js: ${msg}\n`);
  process.exit(1);
}

const o = parseArgs(process.argv);

// A ring of distinct buffers, same formula as python-client.py, so both
// clients send byte-identical streams without allocating per event.
const RING = 64;
const ring = [];
for (let k = 0; k < RING; k++) {
  const b = Buffer.allocUnsafe(o.size);
  for (let j = 0; j < o.size; j++) b[j] = (k * 131 + j * 7 + (j >> 8)) & 0xff;
  ring.push(b);
}
const RATE = 16000;
const CHANNELS = 1;
const durationNs = Math.round((o.size / (2 * CHANNELS)) * 1e9 / RATE);

function payload(i) {
  return {
    audio_data: ring[i % RING],
    seq: i,
    pts: i * durationNs,
    duration: durationNs,
    format: 'S16LE',
    rate: RATE,
    channels: CHANNELS,
  };
}

const socket = io(o.url.replace(/\/+$/, '') + o.namespace, {
  transports: [o.transports],
  reconnection: false,
  forceNew: true,
  perMessageDeflate: o.deflate ? { threshold: 1024 } : false,
  auth: o.token !== null ? { token: o.token } : undefined,
});

const timer = setTimeout(() => fail(`timed out after ${o.timeout} s`), o.timeout * 1000);

socket.on('connect_error', (err) => fail(`connect error: ${err.message}`));
socket.on('disconnect', (reason) => {
  if (!finished) fail(`disconnected early: ${reason}`);
});

let finished = false;
let t0;
let cpu0;

socket.once('connect', () => {
  t0 = process.hrtime.bigint();
  cpu0 = process.cpuUsage();
  if (o.events === 0) return finish();
  if (o.inFlight === 0) {
    for (let i = 0; i < o.events; i++) socket.emit(o.event, payload(i));
    socket.emit('bench_barrier', () => finish());
    return;
  }
  let sent = 0;
  let acked = 0;
  const onAck = () => {
    acked++;
    if (sent < o.events) send();
    else if (acked === o.events) finish();
  };
  const send = () => socket.emit(o.event, payload(sent++), onAck);
  while (sent < Math.min(o.inFlight, o.events)) send();
});

function finish() {
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  finished = true;
  clearTimeout(timer);
  socket.disconnect();

  const h = crypto.createHash('sha256');
  for (let i = 0; i < o.events; i++) h.update(ring[i % RING]);
  const bytes = o.events * o.size;
  const out = {
    client: 'node',
    events: o.events,
    bytes,
    in_flight: o.inFlight,
    deflate: o.deflate,
    wall_s: +wall.toFixed(4),
    cpu_s: +cpuS.toFixed(4),
    events_per_s: +(o.events / wall).toFixed(1),
    cpu_s_per_mb: +(bytes ? cpuS / (bytes / 1e6) : 0).toFixed(5),
    max_rss_kb: process.resourceUsage().maxRSS,
    sha256: h.digest('hex'),
  };
  process.stdout.write(JSON.stringify(out) + '\n');
  // No process.exit(): let the DISCONNECT and WebSocket close go out first;
  // nothing else keeps the loop alive (reconnection is off).
}
