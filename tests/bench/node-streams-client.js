#!/usr/bin/env node
// The peer of streams-bench (issue 11): N socket.io-client 4.8 sockets in
// one Node process, one connection per stream as users open one per call
// (each its own Manager: forceNew; WebSocket only), each emitting what
// socketiosink sends, a 2048-byte audio_data event every 64 ms with an ack,
// on an absolute schedule shared by all streams (as streams-bench's pump).
//
//   node node-streams-client.js --url URL [--url URL]... [-n STREAMS]
//       [-s SECONDS] [--warmup S] [--linger S] [--connect-wait S]
//       [--multiplex 1]
//
// Same sequence, markers and JSON fields as streams-bench (see
// tests/bench/README.md): connect all (connect_ms from creating the first
// socket to the last 'connect'), stream --warmup s, measure -s s (CPU from
// process.cpuUsage(), every thread of the process; acks per stream; threads
// and RSS at the end), "# window start" / "# window end" on stdout, stream
// --linger s more, close, print the JSON line. Resolves socket.io-client
// from tests/server/node_modules.
'use strict';

const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const serverRequire = createRequire(path.join(__dirname, '..', 'server', 'package.json'));
const { io, Manager } = serverRequire('socket.io-client');

const PERIOD_MS = 64;
const EVENTS_PER_S = 1000 / PERIOD_MS;
const REALTIME_FRACTION = 0.99;
const DURATION_NS = PERIOD_MS * 1e6;

function fail(msg) {
  process.stderr.write(`node-streams-client.js: ${msg}\n`);
  process.exit(2);
}

const opts = {
  urls: [], streams: 100, seconds: 20, warmup: 2, linger: 1, connectWait: 15, multiplex: false,
};
for (let i = 2; i < process.argv.length; i += 2) {
  const name = process.argv[i];
  const v = process.argv[i + 1];
  if (v === undefined) fail(`${name} needs a value`);
  if (name === '--url') opts.urls.push(v);
  else if (name === '-n' || name === '--streams') opts.streams = Number(v);
  else if (name === '-s' || name === '--seconds') opts.seconds = Number(v);
  else if (name === '--warmup') opts.warmup = Number(v);
  else if (name === '--linger') opts.linger = Number(v);
  else if (name === '--connect-wait') opts.connectWait = Number(v);
  else if (name === '--multiplex') opts.multiplex = v === '1';
  else fail(`unknown argument ${name}`);
}
if (opts.urls.length === 0 || !Number.isInteger(opts.streams) || opts.streams < 1 ||
    !(opts.seconds >= 1)) {
  fail('usage: --url URL [--url URL]... [-n STREAMS] [-s SECONDS]');
}

function procStatus(key) {
  const m = fs.readFileSync('/proc/self/status', 'utf8').match(new RegExp(`^${key}:\\s*(\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
// context switches of the whole process, as streams-bench counts them
function contextSwitches() {
  const u = process.resourceUsage();
  return u.voluntaryContextSwitches + u.involuntaryContextSwitches;
}
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const chunk = Buffer.alloc(2048);
const threadsBefore = procStatus('Threads');
const rssBeforeKb = procStatus('VmRSS');
const streams = [];
let connected = 0;
let lastConnectedMs = 0;
let disconnects = 0;
let firstError = null;
let onAllConnected = null;

const t0 = performance.now();
// --multiplex 1: one Manager (one Engine.IO connection) per server, stream
// i in namespace /s<i>, as the sinks with multiplex=true
const managers = opts.multiplex ?
  opts.urls.map((url) => new Manager(url, { transports: ['websocket'] })) : null;
for (let i = 0; i < opts.streams; i++) {
  const socket = managers ? managers[i % managers.length].socket(`/s${i}`) :
    io(opts.urls[i % opts.urls.length], { forceNew: true, transports: ['websocket'] });
  const stream = { socket, seq: 0, emitted: 0, acked: 0, ackedAtStart: 0, connected: false };
  socket.on('connect', () => {
    if (stream.connected) return;
    stream.connected = true;
    connected++;
    lastConnectedMs = performance.now();
    if (connected === opts.streams && onAllConnected) onAllConnected();
  });
  socket.on('connect_error', (e) => {
    if (firstError === null) firstError = e.message;
  });
  socket.on('disconnect', () => { disconnects++; });
  streams.push(stream);
}
const rssCreatedKb = procStatus('VmRSS');

let stopped = false;
function startStreaming() {
  const start = performance.now();
  for (const stream of streams) {
    const next = () => {
      if (stopped) return;
      const seq = stream.seq++;
      stream.socket.emit('audio_data', {
        audio_data: chunk, seq, pts: seq * DURATION_NS, duration: DURATION_NS,
        format: 'S16LE', rate: 16000, channels: 1,
      }, () => { stream.acked++; });
      stream.emitted++;
      setTimeout(next, Math.max(0, start + (seq + 1) * PERIOD_MS - performance.now()));
    };
    setTimeout(next, 0);
  }
}

async function main() {
  if (connected < opts.streams) {
    await Promise.race([
      new Promise((resolve) => { onAllConnected = resolve; }),
      sleep(opts.connectWait * 1000 - (performance.now() - t0)),
    ]);
  }
  const connectedAtStart = connected;
  startStreaming();
  await sleep(opts.warmup * 1000);

  for (const s of streams) s.ackedAtStart = s.acked;
  const disconnectsAtStart = disconnects;
  const windowStart = performance.now();
  const cpuStart = cpuMs();
  const switchesStart = contextSwitches();
  process.stdout.write('# window start\n');
  await sleep(opts.seconds * 1000);
  const cpuWindow = cpuMs() - cpuStart;
  const switchesWindow = contextSwitches() - switchesStart;
  const windowS = (performance.now() - windowStart) / 1000;
  const threads = procStatus('Threads');
  const rssEndKb = procStatus('VmRSS');
  let acked = 0;
  let realtime = 0;
  const expected = windowS * EVENTS_PER_S;
  for (const s of streams) {
    const n = s.acked - s.ackedAtStart;
    acked += n;
    if (n >= REALTIME_FRACTION * expected - 1) realtime++;
  }
  const disconnectsInWindow = disconnects - disconnectsAtStart;
  process.stdout.write('# window end\n');
  await sleep(opts.linger * 1000);
  stopped = true;
  const emitted = streams.reduce((sum, s) => sum + s.emitted, 0);
  for (const s of streams) s.socket.close();

  const n = opts.streams;
  process.stdout.write(JSON.stringify({
    client: 'socket.io-client', source: 'timer', streams: n, servers: opts.urls.length,
    window_s: Number(windowS.toFixed(3)), connected: connectedAtStart,
    failed: n - connectedAtStart, first_error: firstError,
    connect_ms: connectedAtStart === n ? Number((lastConnectedMs - t0).toFixed(1)) : null,
    cpu_ms: Number(cpuWindow.toFixed(1)),
    cpu_ms_per_stream_s: Number((cpuWindow / (n * windowS)).toFixed(4)),
    threads, threads_before: threadsBefore,
    rss_before_kb: rssBeforeKb, rss_created_kb: rssCreatedKb, rss_end_kb: rssEndKb,
    rss_kb_per_stream: Number(((rssEndKb - rssBeforeKb) / n).toFixed(1)),
    max_rss_kb: process.resourceUsage().maxRSS,
    acked, per_stream_s: Number((acked / (n * windowS)).toFixed(3)),
    expected_per_stream_s: EVENTS_PER_S, realtime_streams: realtime,
    behind_streams: n - realtime,
    emitted, disconnects_in_window: disconnectsInWindow,
    context_switches_per_event: Number((switchesWindow / Math.max(acked, 1)).toFixed(2)),
  }) + '\n');
  process.exit(0);
}

main();
