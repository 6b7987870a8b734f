#!/usr/bin/env node
// The peer of latency-bench: socket.io-client 4.8 (WebSocket) emitting a
// 2048-byte audio_data event (1024 samples, 64 ms of 16 kHz mono S16) every
// 64 ms, each at the moment its chunk "exists": the timer that fires is the
// capture. Resolves socket.io-client from tests/server/node_modules.
//
//   node node-latency-client.js --url http://127.0.0.1:PORT --events N
//
// Each event's pts is set so that base + pts + duration is the wall clock
// (µs) at which emit() was called; the server records when it received it,
// so arrival - (base + pts + duration) is the delay from emit() to the
// server's handler. Prints one JSON line: base_us, events, and how late the
// timers fired against their schedule (timer_late_p50_ms, _p99_ms), which
// the delay does not include.
'use strict';

const path = require('path');
const { createRequire } = require('module');

const serverRequire = createRequire(path.join(__dirname, '..', 'server', 'package.json'));
const { io } = serverRequire('socket.io-client');

const PERIOD_MS = 64;
const DURATION_NS = PERIOD_MS * 1e6;

function fail(msg) {
  process.stderr.write(`node-latency-client.js: ${msg}\n`);
  process.exit(1);
}

let url = null;
let events = 100;
for (let i = 2; i < process.argv.length; i += 2) {
  const v = process.argv[i + 1];
  if (v === undefined) fail(`${process.argv[i]} needs a value`);
  if (process.argv[i] === '--url') url = v;
  else if (process.argv[i] === '--events') events = Number(v);
  else fail(`unknown argument ${process.argv[i]}`);
}
if (!url || !Number.isInteger(events) || events < 1) fail('need --url and --events N');

const wallUs = () => Math.round((performance.timeOrigin + performance.now()) * 1000);
const chunk = Buffer.alloc(2048);
const late = [];
const socket = io(url, { transports: ['websocket'], reconnection: false });
const timer = setTimeout(() => fail('timed out'), (events * PERIOD_MS) + 30000);

socket.on('connect_error', (e) => fail(`connect_error: ${e.message}`));
socket.on('connect', () => {
  const baseUs = wallUs();
  const start = performance.now();
  let seq = 0;
  let acked = 0;
  const next = () => {
    const due = start + (seq + 1) * PERIOD_MS;
    setTimeout(() => {
      late.push(performance.now() - due);
      const pts = (wallUs() - baseUs) * 1000 - DURATION_NS;
      socket.emit('audio_data', {
        audio_data: chunk, seq, pts, duration: DURATION_NS,
        format: 'S16LE', rate: 16000, channels: 1,
      }, () => {
        if (++acked === events) finish(baseUs);
      });
      if (++seq < events) next();
    }, Math.max(0, due - performance.now()));
  };
  next();
});

function finish(baseUs) {
  clearTimeout(timer);
  late.sort((a, b) => a - b);
  const at = (q) => late[Math.min(late.length - 1, Math.floor(q * late.length))];
  process.stdout.write(JSON.stringify({
    client: 'socket.io-client', base_us: baseUs, events,
    timer_late_p50_ms: at(0.5), timer_late_p99_ms: at(0.99),
  }) + '\n');
  socket.close();
}
