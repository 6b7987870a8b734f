#!/usr/bin/env node
// One node of the Socket.IO cluster the cluster tests run (tests/cluster):
// socket.io 4.8 with @socket.io/redis-adapter, so io.to(room).emit() on any
// node reaches a client connected to another, and a shared store in the
// same redis where every node records the audio events it receives. An
// event is acknowledged only once its record is written: after a crash of
// this node, of redis or of the link, the client replays what has no ack.
//
//   node cluster-node.js --redis-port P [--host 127.0.0.1] [--port 0]
//                        [--name NODE] [--ping-interval MS] [--ping-timeout MS]
//                        [--event audio_data] [--ignore-stdin]
//
// The client names itself with the query parameter `client` of its
// location (?client=ID): it is the stream id in the store, the room
// `client:ID` it joins, and what nginx hashes to pick its node.
//
// The store, per client ID (docs/deploying.md says why):
//   HSET   cl:ID:arrivals <arrival id> <JSON {seq, pts, replay, node, t}>
//          every event received, each under an id unique to this arrival;
//   HSETNX cl:ID:seen <seq> <arrival id>
//          the first arrival of each seq: a later one is a duplicate, which
//          an application drops (here it is only counted, and acked);
//   RPUSH  cl:ID:conns <JSON {node, t}>   every namespace join.
// Both writes of an arrival go in one MULTI and are idempotent, so a write
// that failed (redis gone) is simply retried until redis confirms it.
//
// Prints "LISTENING <port>" once it accepts connections. SIGTERM drains:
// the node stops accepting connections, sends every client a DISCONNECT
// (socket.disconnect(), as a node taken out of a load balancer does),
// finishes the writes under way and exits. SIGKILL is the crash. Exits
// on stdin EOF as the other test servers do.
//
// Control API (GET, JSON):
//   /control/stats                   events, duplicates, clients here
//   /control/emit?room=R&event=E&args=<JSON array>   io.to(R).emit, cluster-wide
//   /control/store?client=ID         the store of one client (any node answers)
'use strict';

const http = require('http');
const { Server } = require('socket.io');
const { createAdapter } = require('@socket.io/redis-adapter');
const { createClient } = require('redis');
const { parseArgs, reply } = require('./lifecycle');

const USAGE = 'usage: node cluster-node.js --redis-port P [--host H] ' +
  '[--port P] [--name NODE] [--ping-interval MS] [--ping-timeout MS] ' +
  '[--event NAME] [--ignore-stdin]';

const opts = parseArgs('cluster-node.js', process.argv, {
  host: '127.0.0.1',
  port: 0,
  redisPort: 0,
  name: `node-${process.pid}`,
  pingInterval: 1000,
  pingTimeout: 1000,
  event: 'audio_data',
  ignoreStdin: false,
}, {
  '--host': ['host', 'string'],
  '--port': ['port', 'int'],
  '--redis-port': ['redisPort', 'int'],
  '--name': ['name', 'string'],
  '--ping-interval': ['pingInterval', 'int'],
  '--ping-timeout': ['pingTimeout', 'int'],
  '--event': ['event', 'string'],
  '--ignore-stdin': ['ignoreStdin', true],
}, USAGE);
if (!opts.redisPort) {
  process.stderr.write(`cluster-node.js: --redis-port is required\n${USAGE}\n`);
  process.exit(2);
}

const WRITE_RETRY_MS = 100;

// Three clients: the adapter's publisher and subscriber, and the store's.
// They reconnect every 100 ms while redis is away; commands wait meanwhile.
function redisClient() {
  const client = createClient({
    socket: {
      host: '127.0.0.1',
      port: opts.redisPort,
      reconnectStrategy: () => WRITE_RETRY_MS,
    },
  });
  client.on('error', () => {});  // reconnection is automatic; never crash
  return client;
}
const pub = redisClient();
const sub = pub.duplicate();
sub.on('error', () => {});
const store = redisClient();

const stats = { events: 0, duplicates: 0, writeRetries: 0, joins: 0 };
let arrivals = 0;
let writesUnderWay = 0;
let draining = false;

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Records one arrival, retrying until redis confirms it; resolves to
// whether it was the first arrival of its seq.
async function record(client, payload) {
  const id = `${opts.name}:${process.pid}:${++arrivals}`;
  const entry = JSON.stringify({
    seq: payload.seq,
    pts: payload.pts,
    replay: payload.replay === true,
    node: opts.name,
    t: Date.now(),
  });
  for (;;) {
    try {
      const [, first] = await store.multi()
        .hSet(`cl:${client}:arrivals`, id, entry)
        .hSetNX(`cl:${client}:seen`, String(payload.seq), id)
        .exec();
      if (first) return true;
      // a retry of a write that had gone through finds its own id
      return (await store.hGet(`cl:${client}:seen`, String(payload.seq))) === id;
    } catch (e) {
      stats.writeRetries++;
      await sleep(WRITE_RETRY_MS);
    }
  }
}

const httpServer = http.createServer(control);
const io = new Server(httpServer, {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxHttpBufferSize: 1e6,
});

io.on('connection', (socket) => {
  const client = String(socket.handshake.query.client || 'anonymous');
  stats.joins++;
  socket.join(`client:${client}`);
  writesUnderWay++;
  store.rPush(`cl:${client}:conns`, JSON.stringify({ node: opts.name, t: Date.now() }))
    .catch(() => {})
    .finally(() => writesUnderWay--);
  socket.on(opts.event, async (payload, ack) => {
    if (!payload || typeof payload.seq !== 'number') return;
    stats.events++;
    writesUnderWay++;
    try {
      if (!(await record(client, payload))) stats.duplicates++;
    } finally {
      writesUnderWay--;
    }
    if (typeof ack === 'function') ack();
  });
});

// --- control API ---------------------------------------------------------------

async function readStore(client) {
  const [seen, arrivalsOf, conns] = await Promise.all([
    store.hGetAll(`cl:${client}:seen`),
    store.hGetAll(`cl:${client}:arrivals`),
    store.lRange(`cl:${client}:conns`, 0, -1),
  ]);
  const parsed = {};
  for (const [id, json] of Object.entries(arrivalsOf)) parsed[id] = JSON.parse(json);
  return { seen, arrivals: parsed, conns: conns.map((c) => JSON.parse(c)) };
}

function control(req, res) {
  // socket.io answers its own path; everything else is ours
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'GET' || !url.pathname.startsWith('/control/')) {
    return reply(res, 404, { error: 'not found' });
  }
  const q = url.searchParams;
  switch (url.pathname) {
    case '/control/stats': {
      const clients = [...io.of('/').sockets.values()]
        .map((s) => String(s.handshake.query.client));
      return reply(res, 200, { ...stats, node: opts.name, clients });
    }
    case '/control/emit': {
      let args;
      try {
        args = JSON.parse(q.get('args') || '[]');
      } catch (e) {
        return reply(res, 400, { error: `bad args: ${e.message}` });
      }
      if (!q.get('room') || !q.get('event') || !Array.isArray(args)) {
        return reply(res, 400, { error: 'need room, event and a JSON array in args' });
      }
      io.to(q.get('room')).emit(q.get('event'), ...args);
      return reply(res, 200, { ok: true });
    }
    case '/control/store':
      readStore(q.get('client'))
        .then((s) => reply(res, 200, s))
        .catch((e) => reply(res, 503, { error: e.message }));
      return undefined;
    default:
      return reply(res, 404, { error: 'not found' });
  }
}

// --- lifecycle -------------------------------------------------------------------

async function drain() {
  if (draining) return;
  draining = true;
  httpServer.close();  // new connections go to another node
  for (const socket of io.of('/').sockets.values()) socket.disconnect();
  const deadline = Date.now() + 2000;
  while (writesUnderWay > 0 && Date.now() < deadline) await sleep(20);
  process.exit(0);
}

async function main() {
  await Promise.all([pub.connect(), sub.connect(), store.connect()]);
  io.adapter(createAdapter(pub, sub));
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
  if (!opts.ignoreStdin) {
    process.stdin.on('end', () => process.exit(0));
    process.stdin.on('error', () => process.exit(0));
    process.stdin.resume();
  }
  httpServer.on('error', (err) => {
    process.stderr.write(`cluster-node.js: ${err.message}\n`);
    process.exit(1);
  });
  httpServer.listen(opts.port, opts.host, () => {
    process.stdout.write(`LISTENING ${httpServer.address().port}\n`);
  });
}

main().catch((e) => {
  process.stderr.write(`cluster-node.js: ${e.message}\n`);
  process.exit(1);
});
