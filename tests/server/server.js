#!/usr/bin/env node
// Official Socket.IO server (npm socket.io 4.8.x) used by the gst-socketio
// tests, with a small HTTP control API to inspect what it received and to
// change its behaviour while a pipeline runs.
//
//   node server.js [--host 127.0.0.1] [--port 0] [--token T] [--ack-delay-ms N]
//                  [--no-ack] [--max-payload BYTES] [--event audio_data]
//                  [--payload-key audio_data] [--ping-interval MS]
//                  [--ping-timeout MS] [--ignore-stdin]
//                  [--tls-cert FILE --tls-key FILE [--tls-ca FILE --require-client-cert]]
//                  [--transports polling|websocket|polling,websocket]
//                  [--record-header NAME]... [--record-arrivals]
//
// Prints exactly one line "LISTENING <port>" once it accepts connections.
// On SIGTERM/SIGINT prints one line "STATS <json>" (the /control/stats
// object) and exits at once without telling its clients (no DISCONNECT:
// they see a transport close and reconnect, as after a crash); --port N
// lets a restarted server listen on the same port again.
// Exits when stdin reaches EOF too (silently), so a test that dies
// never leaves a server behind (the parent keeps a pipe on our stdin);
// --ignore-stdin disables the latter for manual use.
//
// Control API (GET, JSON), on the same port:
//   /control/stats       counters, running SHA-256 of all attachments,
//                        wireBytesIn (all bytes its TCP connections read), ...
//   /control/config?ackDelayMs=N&ack=0|1   change ack behaviour live
//   /control/release     ack every callback held so far (ack=0 or delayed)
//   /control/emit?event=NAME&args=<JSON array>   emit to every socket
//   /control/disconnect[?close=0][&nsp=NSP]  server-side disconnect of every
//                        socket (of namespace NSP only)
//                        (client gets 41); close=0 keeps the Engine.IO
//                        connection open (socket.disconnect(), as a node
//                        draining its clients does), default closes it too
//   /control/drop        cut every client's TCP connection (no close frame, as a
//                        crash or a network cut would; the process keeps its stats)
//   /control/reset       zero counters and hash (and the arrivals)
//   /control/echo?event=NAME   send every audio event back to its socket as
//                        NAME (the same payload); no event: stop echoing
//   /control/tts?event=NAME&bytes=N&chunk=C&rate=R&window=W   send every
//                        socket N bytes of S16LE mono audio at rate R (byte
//                        i is (i * 7 + 3) & 255), C bytes an event, as fast
//                        as acks allow: at most W events wait for their ack
//                        (issue 10's TTS-like server); &caps=CAPS sends
//                        {caps} (no duration) instead; stats.tts reports
//                        {sent, acked, maxInFlight, doneMs}
//   /control/connection-events   {nowUs, cpuUs, connections: [[id, events],
//                        ...]}: audio events of every connected socket since
//                        it joined (not reset), the server's clock and its
//                        CPU (user+sys, µs); two of them give each
//                        connection's rate over the interval (issue 11)
//   /control/arrivals    with --record-arrivals: {arrivals: [[seq, pts,
//                        duration, arrivalUs], ...]}, one per audio event in
//                        arrival order, arrivalUs the wall clock (µs since
//                        the Unix epoch) when the handler ran
//
// --transports: what the Engine.IO server offers (default both, socket.io's
// own default); stats count the transport each Engine.IO connection started
// on and its upgrades, keep the handshake request's headers (user-agent,
// cookie and every --record-header NAME) and the size of the largest
// polling POST body.
'use strict';

const crypto = require('crypto');
const { Server } = require('socket.io');
const { parseArgs, usage, run, reply } = require('./lifecycle');
const reach = require('./reach');

const USAGE = 'usage: node server.js [--host H] [--port P] [--token T] ' +
  '[--ack-delay-ms N] [--no-ack] [--max-payload BYTES] [--event NAME] ' +
  '[--payload-key KEY] [--ping-interval MS] [--ping-timeout MS] [--ignore-stdin] ' +
  '[--transports polling|websocket|polling,websocket] [--record-header NAME]... ' +
  '[--record-arrivals] [--refuse-namespace NSP] ' +
  reach.usage;

const opts = parseArgs('server.js', process.argv, {
  host: '127.0.0.1',
  port: 0,
  token: null,
  ackDelayMs: 0,
  ack: true,
  maxPayload: 1e6,
  event: 'audio_data',
  payloadKey: 'audio_data',
  pingInterval: 25000,
  pingTimeout: 20000,
  ignoreStdin: false,
  ...reach.defaults,
  transports: 'polling,websocket',
  recordHeaders: [],
  recordArrivals: false,
  refuseNamespace: null,
}, {
  '--host': ['host', 'string'],
  '--port': ['port', 'int'],
  '--token': ['token', 'string'],
  '--ack-delay-ms': ['ackDelayMs', 'int'],
  '--no-ack': ['ack', false],
  '--max-payload': ['maxPayload', 'int'],
  '--event': ['event', 'string'],
  '--payload-key': ['payloadKey', 'string'],
  '--ping-interval': ['pingInterval', 'int'],
  '--ping-timeout': ['pingTimeout', 'int'],
  '--ignore-stdin': ['ignoreStdin', true],
  ...reach.spec,
  '--transports': ['transports', 'string'],
  '--record-header': ['recordHeaders', 'list'],
  '--record-arrivals': ['recordArrivals', true],
  '--refuse-namespace': ['refuseNamespace', 'string'],
}, USAGE);
const config = { ackDelayMs: opts.ackDelayMs, ack: opts.ack, echo: null };

// --- statistics --------------------------------------------------------------

let stats;
let hash;
// [seq, pts, duration, arrivalUs] per audio event (--record-arrivals): the
// latency benchmark maps pts onto the same wall clock
let arrivals = [];
function wallClockUs() {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
// running SHA-256 of each namespace's attachments (stats.byNamespace)
let namespaceHashes = new Map();
function resetStats() {
  hash = crypto.createHash('sha256');
  namespaceHashes = new Map();
  arrivals = [];
  stats = {
    connections: 0,          // successful namespace joins since start/reset
    namespaces: [],          // namespace of each join, in order
    // per namespace: joins, the Engine.IO sid of each join, audio events,
    // bytes, seq errors (its own seq order), sha256 of its attachments
    byNamespace: {},
    auths: [],               // handshake auth of each attempt (rejected ones too)
    rejected: 0,             // joins refused by the token check
    events: 0,
    bytes: 0,
    maxAttachment: 0,
    packets: 0,              // compressed packets (packet_sizes), 1 an event without
    packetSizeErrors: 0,     // events whose packet_sizes do not add up to their bytes
    maxPending: pending.size,
    acks: 0,
    abandonedAcks: 0,        // held callbacks dropped because their socket left
    eventsWithoutAck: 0,
    badPayloads: 0,          // configured event without an object + Buffer
    lastSeq: null,
    seqErrors: 0,            // seq !== lastSeq + 1 (first event exempt)
    seqGaps: 0,              // ... of which seq > lastSeq + 1
    seqRepeats: 0,           // ... of which seq <= lastSeq (replays, duplicates)
    seqRanges: [],           // every integer seq received, as merged [first, last] ranges
    duplicates: 0,           // events whose seq this process had already received
    unflaggedRepeats: 0,     // ... of which not flagged "replay": true
    unflaggedSeqRanges: [],  // every integer seq received without the replay flag
    replays: 0,              // events flagged "replay": true
    maxSeq: null,            // highest seq received
    aheadJumps: 0,           // seq > maxSeq + 1: something skipped (dropped or reordered)
    firstEvents: [],         // {seq, replay} of the first event of each connection
    // {seq, pts, replay, missingDuration, streamId} of the events flagged
    // "discont" (the first 100)
    gaps: [],
    last: null,
    disconnectReasons: [],
    clientEvents: {},
    clientEventArgs: {},     // the last arguments of each; Buffers as {binary: hex}
    echoed: 0,               // audio events sent back (/control/echo)
    tts: null,               // /control/tts progress
    ...transportStats(),
  };
}

// Every callback not yet called: {socket, cb, timer}. Kept per entry (not a
// bare counter) so /control/release can ack them and a disconnect can forget
// them: otherwise a reconnecting client would inherit its dead session's
// pending count and maxPending would no longer mean "in flight".
const pending = new Set();
resetStats();

function ackEntry(entry) {
  if (!pending.delete(entry)) return;
  if (entry.timer) clearTimeout(entry.timer);
  stats.acks++;
  entry.cb({ ok: true });
}

function holdOrAck(socket, cb) {
  const entry = { socket, cb, timer: null };
  pending.add(entry);
  stats.maxPending = Math.max(stats.maxPending, pending.size);
  if (!config.ack) return;  // held until /control/release or disconnect
  if (config.ackDelayMs === 0) {
    ackEntry(entry);
  } else {
    entry.timer = setTimeout(() => ackEntry(entry), config.ackDelayMs);
  }
}

function dropPendingOf(socket) {
  for (const entry of pending) {
    if (entry.socket !== socket) continue;
    if (entry.timer) clearTimeout(entry.timer);
    pending.delete(entry);
    stats.abandonedAcks++;
  }
}

// Adds seq to ranges (sorted, disjoint, non-adjacent [first, last] pairs);
// returns false if it was already there. In-order arrival is O(1).
function addSeq(ranges, seq) {
  const n = ranges.length;
  const tail = ranges[n - 1];
  if (n === 0 || seq > tail[1] + 1) {
    ranges.push([seq, seq]);
    return true;
  }
  if (seq === tail[1] + 1) {
    tail[1] = seq;
    return true;
  }
  // index of the last range starting at or before seq (-1: none)
  let lo = 0;
  let hi = n - 1;
  let i = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid][0] <= seq) {
      i = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  const prev = i >= 0 ? ranges[i] : null;
  if (prev && seq <= prev[1]) return false;
  const next = ranges[i + 1];  // exists: seq is below the tail's end
  const joinPrev = prev !== null && prev[1] + 1 === seq;
  const joinNext = next[0] - 1 === seq;
  if (joinPrev && joinNext) {
    prev[1] = next[1];
    ranges.splice(i + 1, 1);
  } else if (joinPrev) {
    prev[1] = seq;
  } else if (joinNext) {
    next[0] = seq;
  } else {
    ranges.splice(i + 1, 0, [seq, seq]);
  }
  return true;
}

// The per-namespace record, made on first use.
function namespaceStats(name) {
  if (!stats.byNamespace[name]) {
    stats.byNamespace[name] = {
      joins: 0, sids: [], events: 0, bytes: 0, seqErrors: 0, lastSeq: null,
    };
    namespaceHashes.set(name, crypto.createHash('sha256'));
  }
  return stats.byNamespace[name];
}

function onAudio(socket, args) {
  const arrivalUs = opts.recordArrivals ? wallClockUs() : 0;
  const cb = typeof args[args.length - 1] === 'function' ? args.pop() : null;
  const payload = args[0];
  const data = payload && typeof payload === 'object' ? payload[opts.payloadKey] : undefined;
  if (!Buffer.isBuffer(data)) {
    stats.badPayloads++;
  } else {
    stats.events++;
    socket.data.audioEvents++;
    // (a socket that joined before /control/reset has no entry yet)
    const ns = namespaceStats(socket.nsp.name);
    ns.events++;
    ns.bytes += data.length;
    namespaceHashes.get(socket.nsp.name).update(data);
    if (ns.lastSeq !== null && payload.seq !== ns.lastSeq + 1) ns.seqErrors++;
    ns.lastSeq = typeof payload.seq === 'number' ? payload.seq : null;
    if (opts.recordArrivals) {
      arrivals.push([payload.seq, payload.pts, payload.duration, arrivalUs]);
    }
    stats.bytes += data.length;
    hash.update(data);
    stats.maxAttachment = Math.max(stats.maxAttachment, data.length);
    if (Array.isArray(payload.packet_sizes)) {
      stats.packets += payload.packet_sizes.length;
      if (payload.packet_sizes.reduce((a, b) => a + b, 0) !== data.length) stats.packetSizeErrors++;
    } else {
      stats.packets++;
    }
    const seq = payload.seq;
    if (stats.lastSeq !== null) {
      if (seq !== stats.lastSeq + 1) {
        stats.seqErrors++;
        if (typeof seq === 'number' && seq > stats.lastSeq + 1) stats.seqGaps++;
        else stats.seqRepeats++;
      }
    }
    stats.lastSeq = typeof seq === 'number' ? seq : null;
    // null rather than absent, so the JSON has the same keys as server.py's
    const f = (k) => (payload[k] === undefined ? null : payload[k]);
    const replay = payload.replay === true;
    if (Number.isInteger(seq) && !addSeq(stats.seqRanges, seq)) {
      stats.duplicates++;
      if (!replay) stats.unflaggedRepeats++;
    }
    if (Number.isInteger(seq) && !replay) addSeq(stats.unflaggedSeqRanges, seq);
    if (replay) stats.replays++;
    if (payload.discont === true && stats.gaps.length < 100) {
      stats.gaps.push({ seq: f('seq'), pts: f('pts'), replay,
        missingDuration: f('missing_duration'), streamId: f('stream_id') });
    }
    if (socket.data.firstEvent) {
      socket.data.firstEvent = false;
      stats.firstEvents.push({ seq: Number.isInteger(seq) ? seq : null, replay });
    }
    if (Number.isInteger(seq)) {
      if (stats.maxSeq !== null && seq > stats.maxSeq + 1) stats.aheadJumps++;
      if (stats.maxSeq === null || seq > stats.maxSeq) stats.maxSeq = seq;
    }
    stats.last = {
      seq: f('seq'), pts: f('pts'), duration: f('duration'), format: f('format'),
      rate: f('rate'), channels: f('channels'), size: data.length,
      packet_sizes: f('packet_sizes'),
    };
  }
  if (config.echo && payload && typeof payload === 'object') {
    socket.emit(config.echo, payload);
    stats.echoed++;
  }
  if (cb) holdOrAck(socket, cb);
  else stats.eventsWithoutAck++;
}

// /control/tts: a text-to-speech reply, sent as fast as the client acks.
function sendTts(socket, event, total, chunk, rate, window, caps) {
  const tts = stats.tts;
  const started = Date.now();
  let offset = 0;
  let inFlight = 0;
  let seq = 0;
  const pump = () => {
    while (inFlight < window && offset < total && socket.connected) {
      const size = Math.min(chunk, total - offset);
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = ((offset + i) * 7 + 3) & 255;
      offset += size;
      inFlight++;
      tts.sent++;
      tts.maxInFlight = Math.max(tts.maxInFlight, inFlight);
      const meta = caps ? { caps } : { format: 'S16LE', rate, channels: 1 };
      socket.timeout(30000).emit(event, { [opts.payloadKey]: data, ...meta,
        seq: seq++ }, (err) => {
        inFlight--;
        if (!err) tts.acked++;
        else tts.timeouts++;
        if (offset >= total && inFlight === 0) tts.doneMs = Date.now() - started;
        pump();
      });
    }
  };
  pump();
}

// --- transports, handshakes and polling requests ------------------------------
// Kept apart from the rest so that other options merge without conflicts.

const TRANSPORTS = ['polling', 'websocket'];

function parseTransports(text) {
  const list = text.split(',');
  if (list.length === 0 || list.some((t) => !TRANSPORTS.includes(t)) ||
      new Set(list).size !== list.length) {
    usage('server.js', USAGE, `--transports: ${text}: not a list of polling, websocket`);
  }
  return list;
}

// The fields resetStats() adds for these.
function transportStats() {
  return {
    // Engine.IO connections by the transport they started on, and how
    // many of them upgraded (polling to websocket)
    transports: { polling: 0, websocket: 0, upgraded: 0 },
    // {sid, transport, upgraded} of every Engine.IO connection
    engineConnections: [],
    // headers of every Engine.IO handshake request, one object per
    // connection: user-agent, cookie and each --record-header (lower case;
    // null when absent)
    handshakeHeaders: [],
    posts: 0,                // polling POST requests
    maxPostBytes: 0,         // body size of the largest one
    oversizedPosts: 0,       // ... of which over --max-payload (answered 413)
  };
}

// @value with every Buffer in it, however deep, as {binary: hex}.
function binaryAsHex(value) {
  if (Buffer.isBuffer(value)) return { binary: value.toString('hex') };
  if (Array.isArray(value)) return value.map(binaryAsHex);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, binaryAsHex(v)]));
  }
  return value;
}

function recordHandshake(conn) {
  const record = { sid: conn.id, transport: conn.transport.name, upgraded: false };
  stats.engineConnections.push(record);
  stats.transports[record.transport]++;
  const headers = {};
  for (const name of ['user-agent', 'cookie', ...opts.recordHeaders.map((h) => h.toLowerCase())]) {
    const v = conn.request.headers[name];
    headers[name] = v === undefined ? null : v;
  }
  stats.handshakeHeaders.push(headers);
  recordPollingPosts(conn.transport);
  conn.on('upgrade', (transport) => {
    record.upgraded = true;
    record.transport = transport.name;
    stats.transports.upgraded++;
  });
}

// Counts the body of every POST of a polling transport as it arrives,
// oversized ones included (engine.io answers those 413 before its onData()
// sees them). engine.io has no hook for it: this wraps the transport's
// request handler (engine.io 6.6, the version package-lock.json pins).
function recordPollingPosts(transport) {
  if (transport.name !== 'polling') return;
  const onDataRequest = transport.onDataRequest;
  transport.onDataRequest = function (req, res) {
    let size = 0;
    stats.posts++;
    req.on('data', (chunk) => {
      const before = size;
      size += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
      stats.maxPostBytes = Math.max(stats.maxPostBytes, size);
      if (before <= opts.maxPayload && size > opts.maxPayload) stats.oversizedPosts++;
    });
    return onDataRequest.call(this, req, res);
  };
}

// Without WebSocket no 'upgrade' listener may stay (reach.js logs requests
// with one): Node then hands a WebSocket handshake to the request
// listeners and engine.io refuses it, HTTP 400 "Transport unknown", as
// socket.io does; with a listener the handshake would hang unanswered.
function refuseWebSocketHandshakes(server, transports) {
  if (!transports.includes('websocket')) server.removeAllListeners('upgrade');
}

// Every open TCP connection, so that /control/drop can cut polling
// sessions too, whose requests come and go on keep-alive connections.
// Their bytes read also give wireBytesIn (every byte received, headers,
// framing and control requests included: a benchmark takes two readings).
const tcpConnections = new Set();
let closedBytesRead = 0;
function trackTcpConnections(server) {
  server.on('connection', (c) => {
    tcpConnections.add(c);
    c.on('close', () => {
      closedBytesRead += c.bytesRead;
      tcpConnections.delete(c);
    });
  });
}

function wireBytesIn() {
  let total = closedBytesRead;
  for (const c of tcpConnections) total += c.bytesRead;
  return total;
}

// /control/drop: cut every client's connection as a crash would. WebSocket
// sessions are terminated (no close frame); for polling ones every TCP
// connection but the control request's own is destroyed, and the session
// is ended here without a close packet (its client may have had no
// request open at that moment).
function dropAll(controlReq) {
  const n = sockets.size;
  const polling = [];
  for (const s of [...sockets]) {
    const raw = s.conn.transport && s.conn.transport.socket;
    if (raw && typeof raw.terminate === 'function') raw.terminate();
    else polling.push(s.conn);
  }
  if (polling.length > 0) {
    for (const c of [...tcpConnections]) {
      if (c !== controlReq.socket) c.destroy();
    }
    for (const conn of polling) conn.onClose('transport close');
  }
  return n;
}

// --- Socket.IO ---------------------------------------------------------------

const httpServer = reach.createServer('server.js', opts, onControl);
const transports = parseTransports(opts.transports);
const io = new Server(httpServer, {
  transports,
  maxHttpBufferSize: opts.maxPayload,
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  serveClient: false,
});
// after Engine.IO attached: it moves the request listeners it finds
// behind its own, for the other paths only
const requestLog = reach.recordRequests(httpServer, '/socket.io/');

const sockets = new Set();
io.engine.on('connection', recordHandshake);
trackTcpConnections(httpServer);
refuseWebSocketHandshakes(httpServer, transports);

function authMiddleware(socket, next) {
  const auth = socket.handshake.auth;
  stats.auths.push(auth);
  if (opts.refuseNamespace !== null && socket.nsp.name === opts.refuseNamespace) {
    stats.rejected++;
    next(new Error('Namespace refused'));
    return;
  }
  if (opts.token !== null && (!auth || auth.token !== opts.token)) {
    stats.rejected++;
    next(new Error('Not authorized'));  // client receives 44{"message":"Not authorized"}
    return;
  }
  next();
}

function onConnection(socket) {
  sockets.add(socket);
  socket.data.firstEvent = true;
  socket.data.audioEvents = 0;
  stats.connections++;
  stats.namespaces.push(socket.nsp.name);
  const ns = namespaceStats(socket.nsp.name);
  ns.joins++;
  ns.sids.push(socket.conn.id);
  socket.on(opts.event, (...args) => onAudio(socket, args));
  socket.onAny((event, ...args) => {
    if (event === opts.event) return;
    stats.clientEvents[event] = (stats.clientEvents[event] || 0) + 1;
    stats.clientEventArgs[event] = args.filter((a) => typeof a !== 'function')
      .map(binaryAsHex);
    // Other events are acked at once whatever the ack config, so a client
    // can use one as a barrier ("everything before this was processed").
    const cb = args[args.length - 1];
    if (typeof cb === 'function') cb({ ok: true });
  });
  socket.on('disconnect', (reason) => {
    sockets.delete(socket);
    dropPendingOf(socket);
    stats.disconnectReasons.push(reason);
  });
}

// "/" is a static namespace and is not matched by the regex parent, so both
// get the same middleware and connection handler. Children of the parent
// namespace copy its middleware and listeners when they are created.
for (const nsp of [io.of('/'), io.of(/^\/.*/)]) {
  nsp.use(authMiddleware);
  nsp.on('connection', onConnection);
}

// --- control API ---------------------------------------------------------------

function snapshot() {
  const byNamespace = {};
  for (const [name, ns] of Object.entries(stats.byNamespace)) {
    byNamespace[name] = { ...ns, sha256: namespaceHashes.get(name).copy().digest('hex') };
  }
  return {
    ...stats,
    byNamespace,
    ...requestLog.snapshot(),
    connected: sockets.size,
    pending: pending.size,
    wireBytesIn: wireBytesIn(),
    sha256: hash.copy().digest('hex'),
    config: { ...config },
  };
}

// Small enough to ask twice a second with 2000 sockets (/control/stats
// carries every join's auth and headers): the streams benchmark takes one
// at each end of its window and divides by the difference of nowUs.
function connectionEvents() {
  const cpu = process.cpuUsage();
  const connections = [];
  for (const s of sockets) connections.push([s.id, s.data.audioEvents]);
  return { nowUs: wallClockUs(), cpuUs: cpu.user + cpu.system, connections };
}

function onControl(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (req.method !== 'GET' || !url.pathname.startsWith('/control/')) {
    return reply(res, 404, { error: 'not found' });
  }
  const q = url.searchParams;
  switch (url.pathname) {
    case '/control/stats':
      return reply(res, 200, snapshot());
    case '/control/connection-events':
      return reply(res, 200, connectionEvents());
    case '/control/arrivals':
      return reply(res, 200, { arrivals });
    case '/control/config': {
      if (q.has('ackDelayMs')) {
        const n = Number(q.get('ackDelayMs'));
        if (!Number.isInteger(n) || n < 0) return reply(res, 400, { error: 'bad ackDelayMs' });
        config.ackDelayMs = n;
      }
      if (q.has('ack')) {
        const a = q.get('ack');
        if (a !== '0' && a !== '1') return reply(res, 400, { error: 'ack must be 0 or 1' });
        config.ack = a === '1';
      }
      return reply(res, 200, { ...config });
    }
    case '/control/release': {
      const n = pending.size;
      for (const entry of [...pending]) ackEntry(entry);
      return reply(res, 200, { released: n });
    }
    case '/control/emit': {
      const event = q.get('event');
      let args = [];
      try {
        if (q.has('args')) args = JSON.parse(q.get('args'));
      } catch (e) {
        return reply(res, 400, { error: `bad args: ${e.message}` });
      }
      if (!event || !Array.isArray(args)) {
        return reply(res, 400, { error: 'need event and a JSON array in args' });
      }
      for (const s of sockets) s.emit(event, ...args);
      return reply(res, 200, { sent: sockets.size });
    }
    case '/control/disconnect': {
      const close = q.get('close') !== '0';
      const nsp = q.get('nsp');
      let n = 0;
      for (const s of [...sockets]) {
        if (nsp !== null && s.nsp.name !== nsp) continue;
        s.disconnect(close);
        n++;
      }
      return reply(res, 200, { disconnected: n });
    }
    case '/control/drop':
      return reply(res, 200, { dropped: dropAll(req) });
    case '/control/echo':
      config.echo = q.get('event') || null;
      return reply(res, 200, { echo: config.echo });
    case '/control/tts': {
      const event = q.get('event') || 'audio_data';
      const num = (k, d) => (q.has(k) ? Number(q.get(k)) : d);
      const total = num('bytes', 64000);
      const chunk = num('chunk', 3200);
      const rate = num('rate', 16000);
      const window = num('window', 1);
      if (![total, chunk, rate, window].every((n) => Number.isInteger(n) && n > 0)) {
        return reply(res, 400, { error: 'bytes, chunk, rate and window are positive integers' });
      }
      stats.tts = { sent: 0, acked: 0, timeouts: 0, maxInFlight: 0, doneMs: null };
      const caps = q.get('caps');
      for (const s of sockets) sendTts(s, event, total, chunk, rate, window, caps);
      return reply(res, 200, { sockets: sockets.size });
    }
    case '/control/reset':
      resetStats();
      requestLog.reset();
      return reply(res, 200, { ok: true });
    default:
      return reply(res, 404, { error: 'not found' });
  }
}

// --- lifecycle -------------------------------------------------------------------

// SIGTERM/SIGINT: one "STATS <json>" line (what /control/stats would say),
// then exit at once. Deliberately no io.close() and no DISCONNECT packet: the
// clients see a bare transport close, as if the server had crashed, and
// reconnect (a 41 would tell them not to).
run('server.js', httpServer, opts, snapshot);
