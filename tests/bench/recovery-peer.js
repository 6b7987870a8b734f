#!/usr/bin/env node
// Recovery benchmark peer: the official socket.io-client 4.8 in its built-in
// at-least-once mode (`retries` + `ackTimeout`: every emit is queued, sent one
// at a time, and re-sent until acked, also after a reconnect), reconnection
// on, streaming 16 kHz mono S16 at real time (one 2048-byte event = 64 ms)
// while run-recovery.sh kills and restarts the server.
//
//   node recovery-peer.js --url http://127.0.0.1:PORT [--duration 20]
//        [--size 2048] [--retries 10] [--ack-timeout-ms 5000]
//        [--reconnect-delay-ms 1000] [--reconnect-delay-max-ms 5000]
//        [--drain-timeout 30] [--event audio_data] [--namespace /]
//
// Production starts at the first connect and runs for --duration seconds on
// an absolute schedule (frame i is produced at t0 + i * 64 ms, like a
// capture card, whatever the connection does). Then it waits up to
// --drain-timeout seconds for the backlog to be acked and prints one JSON
// line (same fields as recovery-peer.py):
//   client, produced, acked, resent (sends beyond the first of a seq),
//   dropped (given up by socket.io-client after --retries), unacked_at_end,
//   max_unacked (largest backlog: produced - acked - dropped), max_rss_kb,
//   reconnect_attempts, started_ms (epoch ms of the first frame),
//   reconnects: [{connected_ms, first_ack_ms}] (epoch ms; the first connect
//   is not one), disconnects: [{at_ms, reason}], options.
// Re-sent events carry "replay": true (set on the queued payload object just
// before socket.io-client encodes it again; the library itself sends the
// same arguments). Resolves socket.io-client from tests/server/node_modules.
'use strict';

const path = require('path');
const { createRequire } = require('module');

const serverRequire = createRequire(path.join(__dirname, '..', 'server', 'package.json'));
const { io } = serverRequire('socket.io-client');

function fail(msg) {
  process.stderr.write(`recovery-peer.js: ${msg}\n`);
  process.exit(1);
}

function parseArgs(argv) {
  const o = {
    url: null, duration: 20, size: 2048, retries: 10, ackTimeoutMs: 5000,
    reconnectDelayMs: 1000, reconnectDelayMaxMs: 5000, drainTimeout: 30,
    event: 'audio_data', namespace: '/',
  };
  const num = (a, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) fail(`${a} needs a non-negative number`);
    return n;
  };
  for (let i = 2; i < argv.length; i += 2) {
    const a = argv[i];
    const v = argv[i + 1];
    if (v === undefined) fail(`${a} needs a value`);
    switch (a) {
      case '--url': o.url = v; break;
      case '--duration': o.duration = num(a, v); break;
      case '--size': o.size = num(a, v); break;
      case '--retries': o.retries = num(a, v); break;
      case '--ack-timeout-ms': o.ackTimeoutMs = num(a, v); break;
      case '--reconnect-delay-ms': o.reconnectDelayMs = num(a, v); break;
      case '--reconnect-delay-max-ms': o.reconnectDelayMaxMs = num(a, v); break;
      case '--drain-timeout': o.drainTimeout = num(a, v); break;
      case '--event': o.event = v; break;
      case '--namespace': o.namespace = v; break;
      default: fail(`unknown argument ${a}`);
    }
  }
  if (!o.url) fail('--url is required');
  if (!o.namespace.startsWith('/')) fail('--namespace must start with /');
  if (o.size === 0 || o.size % 2) fail('--size must be a positive even number');
  if (o.retries < 1) fail('--retries must be at least 1 (0 turns the retry queue off)');
  return o;
}

const o = parseArgs(process.argv);
const RATE = 16000;
const CHANNELS = 1;
const frameMs = (o.size / (2 * CHANNELS)) * 1000 / RATE;
const durationNs = Math.round(frameMs * 1e6);
const total = Math.round((o.duration * 1000) / frameMs);

// A ring of distinct frames (same formula as the other bench clients).
const RING = 64;
const ring = [];
for (let k = 0; k < RING; k++) {
  const b = Buffer.allocUnsafe(o.size);
  for (let j = 0; j < o.size; j++) b[j] = (k * 131 + j * 7 + (j >> 8)) & 0xff;
  ring.push(b);
}

const socket = io(o.url.replace(/\/+$/, '') + o.namespace, {
  transports: ['websocket'],
  forceNew: true,
  perMessageDeflate: false,
  reconnection: true,
  reconnectionAttempts: Infinity,
  reconnectionDelay: o.reconnectDelayMs,
  reconnectionDelayMax: o.reconnectDelayMaxMs,
  retries: o.retries,
  ackTimeout: o.ackTimeoutMs,
});

const st = {
  produced: 0, acked: 0, resent: 0, dropped: 0, maxUnacked: 0,
  reconnectAttempts: 0, reconnects: [], disconnects: [],
};
let maxSentSeq = -1;
let connects = 0;
let t0 = null;         // performance.now() of frame 0
let startedMs = null;
let finished = false;

// Every (re)send goes through here just before it is encoded.
socket.onAnyOutgoing((event, payload) => {
  if (event !== o.event) return;
  if (payload.seq <= maxSentSeq) {
    st.resent++;
    payload.replay = true;
  } else {
    maxSentSeq = payload.seq;
  }
});

socket.io.on('reconnect_attempt', () => { st.reconnectAttempts++; });
socket.on('disconnect', (reason) => {
  st.disconnects.push({ at_ms: Date.now(), reason });
});
socket.on('connect', () => {
  connects++;
  if (connects === 1) {
    t0 = performance.now();
    startedMs = Date.now();
    tick();
  } else {
    st.reconnects.push({ connected_ms: Date.now(), first_ack_ms: null });
  }
});
socket.on('connect_error', (err) => {
  // namespace refusals only; transport failures are the manager's and retried
  if (socket.active === false) fail(`connect error: ${err.message}`);
});

function onAck(err) {
  if (err) {
    st.dropped++;  // tried retries + 1 times
  } else {
    st.acked++;
    const r = st.reconnects[st.reconnects.length - 1];
    if (r && r.first_ack_ms === null) r.first_ack_ms = Date.now();
  }
  maybeFinish();
}

function produce(seq) {
  socket.emit(o.event, {
    audio_data: ring[seq % RING],
    seq,
    pts: seq * durationNs,
    duration: durationNs,
    format: 'S16LE',
    rate: RATE,
    channels: CHANNELS,
  }, onAck);
  st.produced++;
  st.maxUnacked = Math.max(st.maxUnacked, st.produced - st.acked - st.dropped);
}

let drainTimer = null;
function tick() {
  const now = performance.now();
  while (st.produced < total && t0 + st.produced * frameMs <= now) produce(st.produced);
  if (st.produced < total) {
    setTimeout(tick, Math.max(0, t0 + st.produced * frameMs - performance.now()));
  } else {
    drainTimer = setTimeout(finish, o.drainTimeout * 1000);
    maybeFinish();
  }
}

function maybeFinish() {
  if (st.produced === total && st.acked + st.dropped === total) finish();
}

function finish() {
  if (finished) return;
  finished = true;
  clearTimeout(drainTimer);
  const out = {
    client: 'node',
    library: 'socket.io-client 4.8 (retries + ackTimeout)',
    frame_bytes: o.size,
    duration_s: o.duration,
    produced: st.produced,
    acked: st.acked,
    resent: st.resent,
    dropped: st.dropped,
    unacked_at_end: st.produced - st.acked - st.dropped,
    max_unacked: st.maxUnacked,
    max_rss_kb: process.resourceUsage().maxRSS,
    reconnect_attempts: st.reconnectAttempts,
    started_ms: startedMs,
    reconnects: st.reconnects,
    disconnects: st.disconnects,
    options: {
      retries: o.retries, ack_timeout_ms: o.ackTimeoutMs,
      reconnect_delay_ms: o.reconnectDelayMs, reconnect_delay_max_ms: o.reconnectDelayMaxMs,
    },
  };
  socket.disconnect();
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

setTimeout(() => {
  if (connects === 0) fail('could not connect in 10 s');
}, 10000).unref();
