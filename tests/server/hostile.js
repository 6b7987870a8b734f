#!/usr/bin/env node
// A hostile Socket.IO server for the gst-socketio tests. It speaks the
// server side of Engine.IO v4 (WebSocket, and HTTP long-polling written by
// hand) and Socket.IO v5 itself, on top of the `ws` package and Node's http
// module, so that it can break the protocol on purpose. By default it
// behaves correctly; `--case NAME` makes it misbehave in exactly one way
// (see CASES below).
//
//   node hostile.js --case NAME [--host 127.0.0.1] [--port 0]
//                   [--ping-interval MS] [--ping-timeout MS]
//                   [--max-payload BYTES] [--ignore-stdin]
//
// Like server.js it prints one line "LISTENING <port>" once it accepts
// connections, exits when stdin reaches EOF (the test holds a pipe on it),
// and on SIGTERM/SIGINT prints one line "STATS <json>" and exits.
//
// The Engine.IO endpoint is /socket.io/?EIO=4&transport=websocket, or
// transport=polling: a GET without sid is the handshake (answered with the
// open packet), GETs with the sid are held until there is something to send
// (packets joined by \x1e, binary ones as "b"+base64), POSTs bring the
// client's packets the same way and are answered "ok"; an unknown sid gets
// HTTP 400 {"code":1,"message":"Session ID unknown"}. Both transports share
// one Session: polling gives it an object that acts like a `ws` socket.
// Upgrades are not offered (the poll-upgrade-* cases offer them, to fail).
// Polling is served for the case "none" and the poll-* cases only.
// Correct behaviour: the open packet
//   0{"sid":…,"upgrades":[],"pingInterval":…,"pingTimeout":…,"maxPayload":…}
// then `40` / `40/nsp,{…}` is answered with `40{"sid":…}` / `40/nsp,{"sid":…}`;
// binary events (`451-<id>[…placeholder…]` plus their binary frames) are
// acked with `43<id>[]`; a ping `2` goes out every pingInterval and a client
// that does not answer `3` within pingTimeout (at least 1 s) is closed; a
// message larger than maxPayload closes the connection (1009), as
// engine.io does.
//
// Control API (GET, JSON, same port):
//   /control/stats   what happened so far (see snapshot() below)
'use strict';

const EventEmitter = require('events');
const http = require('http');
const crypto = require('crypto');
const { performance } = require('perf_hooks');
const { WebSocketServer } = require('ws');
const { parseArgs, usage, run } = require('./lifecycle');

const ENGINE_PATH = '/socket.io/';
const REDIRECT_PATH = '/elsewhere/';          // a working Engine.IO endpoint
const PLAIN_PATH = '/plain/page.html';        // a plain web page
const MAX_TIMER_MS = 2 ** 31 - 1;             // longer delays fire at once in Node

// Every case, what the server does differently. "after join" means right
// after it answered the client's CONNECT with its own.
const CASES = {
  'none': 'nothing: a correct server',
  'garbage-open': 'the open packet is not JSON',
  'truncated-open': 'the open packet is cut in the middle',
  'second-open': 'a second open packet right after the first',
  'open-ping-interval-0': 'announces pingInterval 0 (pings every 500 ms)',
  'open-ping-timeout-0': 'announces pingTimeout 0 (pings every 500 ms)',
  'open-absurd': 'announces pingInterval, pingTimeout and maxPayload 2^40 ' +
    '(pings every 500 ms)',
  'binary-unannounced': 'after join, a binary frame no event announced',
  'attach-2-sends-1': 'after join, an event announcing 2 attachments, one ' +
    'binary frame, then a text frame',
  'attach-11': 'after join, an event announcing 11 attachments (one ' +
    'placeholder), one binary frame, then only pings',
  'unknown-ack': 'never acks an event, sends acks for ids never used instead',
  'huge-ack': 'never acks an event, sends acks with ids above 2^63 instead ' +
    '(2^63 + id, 2^64 + id)',
  'invalid-utf8': 'after join, a text frame that is not UTF-8',
  'frame-100mb': 'after join, one 100 MB text frame',
  'ping-1ms': 'pings every 1 ms (announcing 500 ms)',
  'no-ping': 'never pings (announcing 300 ms + 200 ms)',
  'close-1000': 'after join, WebSocket close 1000 "bye"',
  'close-1008': 'after join, WebSocket close 1008 "policy"',
  'close-4000': 'after join, WebSocket close 4000 "custom"',
  'tcp-cut': 'after join, half a frame, then the TCP connection ends',
  'tcp-silent': 'accepts the handshake request and never answers',
  'http-500': 'answers the handshake with HTTP 500 (the polling one too)',
  'bad-101': 'answers the handshake with a bare 101 (no Upgrade, no Accept)',
  'redirect': `answers the handshake with 302 to ${REDIRECT_PATH} on this server`,
  'redirect-http': `answers the handshake with 302 to the plain http page ${PLAIN_PATH}`,
  'flood': 'after join, server events as fast as it can for 10 s (announcing ' +
    'pingTimeout 5000: pings wait behind the flood)',
  'event-16mib': 'after the first join, one event whose text frame is 16 MiB',
  'nested-200': 'after join, an event whose argument is nested 200 deep (valid)',
  'other-nsp-binary': 'after join, a binary event with an attachment for ' +
    'namespace /other (valid)',
  'big-numbers': 'after join, an event with 1e+21, 18446744073709551616 and ' +
    '"\\u0000" (valid)',
  'join-then-error': 'after every join, a packet of unknown type',
  'max-payload-10': 'announces and enforces maxPayload 10',
  'no-ack': 'never acks',
  'slow-ack': 'acks every event 1 s late',
  'disconnect-after-join': 'after join, a Socket.IO DISCONNECT (41)',
  'connect-error': 'refuses every join with CONNECT_ERROR ' +
    '{"message":"banned by the hostile server"}',
  // long-polling only ("after join": once the join's answer went out)
  'poll-post-hang': 'after join, POSTs are read but never answered; GETs ' +
    'keep bringing pings (no pong timeout)',
  'poll-get-hang': 'after join, GETs are held forever and no ping comes',
  'poll-session-lost': 'after join, every request gets HTTP 400 "Session ID ' +
    'unknown" (a restarted server)',
  'poll-huge-body': 'after join, one GET answered with a 64 MiB body, streamed',
  'poll-bad-base64': 'after join, an event announcing an attachment, then a ' +
    '"b" packet that is not base64',
  'poll-no-separator-garbage': 'after join, a GET answered with an HTML page (200)',
  'poll-redirect': `answers the polling handshake with 302 to ${REDIRECT_PATH} ` +
    'on this server',
  'poll-slow-post': 'after join, every POST answered 2 s late',
  'poll-upgrade-bad-probe': 'offers the upgrade to WebSocket, answers the ' +
    'probe with "3nope"',
  'poll-upgrade-silent-probe': 'offers the upgrade to WebSocket, never ' +
    'answers the probe',
};

const USAGE = 'usage: node hostile.js --case NAME [--host H] [--port P] ' +
  '[--ping-interval MS] [--ping-timeout MS] [--max-payload BYTES] ' +
  '[--ignore-stdin]\ncases:\n' +
  Object.entries(CASES).map(([k, v]) => `  ${k}: ${v}`).join('\n');

const opts = parseArgs('hostile.js', process.argv, {
  host: '127.0.0.1',
  port: 0,
  case: 'none',
  pingInterval: 500,
  pingTimeout: 1000,
  maxPayload: 1e6,
  ignoreStdin: false,
}, {
  '--host': ['host', 'string'],
  '--port': ['port', 'int'],
  '--case': ['case', 'string'],
  '--ping-interval': ['pingInterval', 'int'],
  '--ping-timeout': ['pingTimeout', 'int'],
  '--max-payload': ['maxPayload', 'int'],
  '--ignore-stdin': ['ignoreStdin', true],
}, USAGE);
if (!(opts.case in CASES)) usage('hostile.js', USAGE, `unknown case ${opts.case}`);
const hostile = opts.case;
const servesPolling = hostile === 'none' || hostile.startsWith('poll-');

// What the open packet announces and what the server really does.
const announced = {
  pingInterval: opts.pingInterval,
  pingTimeout: opts.pingTimeout,
  maxPayload: opts.maxPayload,
};
let pingEveryMs = opts.pingInterval;
switch (hostile) {
  case 'open-ping-interval-0': announced.pingInterval = 0; pingEveryMs = 500; break;
  case 'open-ping-timeout-0': announced.pingTimeout = 0; pingEveryMs = 500; break;
  case 'open-absurd':
    announced.pingInterval = announced.pingTimeout = announced.maxPayload = 2 ** 40;
    pingEveryMs = 500;
    break;
  case 'ping-1ms': pingEveryMs = 1; break;
  case 'no-ping':
    announced.pingInterval = 300;
    announced.pingTimeout = 200;
    pingEveryMs = 0;
    break;
  case 'max-payload-10': announced.maxPayload = 10; break;
  // a ping and its pong queue behind megabytes of events in the socket
  // buffers: time for them, so only the flood itself tests the client
  case 'flood': announced.pingTimeout = 5000; break;
  default: break;
}
// a client that does not answer a ping within this is closed
const pongTimeoutMs = Math.min(Math.max(announced.pingTimeout, 1000), MAX_TIMER_MS);

// --- statistics --------------------------------------------------------------

const now = () => Math.round(performance.now());
const stats = {
  case: hostile,
  handshakes: 0,         // requests for the Engine.IO endpoint, answered or not
  handshakeTimes: [],    // ms since the server started, one per handshake
  connections: 0,        // WebSocket sessions opened
  joins: 0,              // namespace CONNECTs answered with a sid
  joinTimes: [],         // ms since the server started, one per join
  namespaces: [],        // namespace of each CONNECT, in order
  auths: [],             // auth object of each CONNECT ({} when none)
  events: 0,             // audio events (binary events with their attachment)
  bytes: 0,              // sum of their attachment sizes
  eventLog: [],          // {seq, replay, t} of every audio event, in arrival order
  clientEvents: 0,       // other events from the client
  acks: 0,               // acks sent for audio events
  bogusAcks: 0,          // acks sent with ids the client never used
  pings: 0,
  pongs: 0,
  pongTimeouts: 0,       // sessions closed for not answering a ping in time
  serverEvents: [],      // {name, args (up to 4 KiB, else null), argsLength} sent
  floodSent: 0,          // events sent by the flood case
  protocolErrors: [],    // what the client sent that this server did not accept
  closes: [],            // {code, reason} of every WebSocket session that ended
  targetHits: 0,         // requests to the redirect targets (should stay 0)
  targetRequests: [],    // {path, upgrade, authorization} of each
  targetEvents: 0,       // audio events received on the redirect target
  polling: {             // long-polling requests (the handshake GETs too)
    gets: 0,
    posts: 0,
    held: 0,             // requests never answered on purpose
    unknownSid: 0,       // answered 400 "Session ID unknown"
    hugeSent: 0,         // most bytes of one huge body written before the client left
    probes: 0,           // WebSocket upgrade probes
    probesClosed: 0,     // of which the client closed
  },
};

function snapshot() {
  return { ...stats, connected: sessions.size, now: now() };
}

// --- Socket.IO packets ------------------------------------------------------------

// Parses a Socket.IO packet (the Engine.IO "4" already stripped):
// <type>[<attachments>-][<nsp>,][<id>][<json>]
function parseSioPacket(text) {
  const p = { type: Number(text[0]), attachments: 0, nsp: '/', id: null, data: undefined };
  let i = 1;
  if (!(p.type >= 0 && p.type <= 6)) throw new Error(`unknown packet type ${text[0]}`);
  if (p.type === 5 || p.type === 6) {
    const dash = text.indexOf('-', i);
    if (dash < 0) throw new Error('binary packet without attachment count');
    p.attachments = Number(text.slice(i, dash));
    if (!Number.isInteger(p.attachments)) throw new Error('bad attachment count');
    i = dash + 1;
  }
  if (text[i] === '/') {
    const comma = text.indexOf(',', i);
    const end = comma < 0 ? text.length : comma;
    p.nsp = text.slice(i, end);
    i = comma < 0 ? end : end + 1;
  }
  let digits = '';
  while (i < text.length && text[i] >= '0' && text[i] <= '9') digits += text[i++];
  if (digits) p.id = Number(digits);
  if (i < text.length) p.data = JSON.parse(text.slice(i));
  return p;
}

function nspPrefix(nsp) {
  return nsp === '/' ? '' : `${nsp},`;
}

// --- one Engine.IO session --------------------------------------------------------

const sessions = new Set();
let firstJoinDone = false;
let bigFrame = null;

class Session {
  constructor(ws, target) {
    this.ws = ws;
    this.target = target;        // on the redirect target path
    this.sid = crypto.randomBytes(15).toString('base64url');
    this.binary = null;          // {packet, buffers} waiting for attachments
    this.pingTimer = null;
    this.pongTimer = null;
    this.closed = false;
    this.nextBogus = 1000000;
    sessions.add(this);
    stats.connections++;

    ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    ws.on('close', (code, reason) => this.onClose(code, reason));
    ws.on('error', () => {});    // a close always follows

    this.sendOpen();
    if (pingEveryMs > 0) {
      this.pingTimer = setInterval(() => this.ping(), Math.min(pingEveryMs, MAX_TIMER_MS));
    }
  }

  send(text) {
    if (!this.closed) this.ws.send(text);
  }

  sendOpen() {
    const open = JSON.stringify({
      sid: this.sid, upgrades: hostile.startsWith('poll-upgrade-') ? ['websocket'] : [],
      pingInterval: announced.pingInterval,
      pingTimeout: announced.pingTimeout, maxPayload: announced.maxPayload,
    });
    switch (hostile) {
      case 'garbage-open': this.send('0{sid: nope, this is not JSON]]'); break;
      case 'truncated-open': this.send('0' + open.slice(0, open.length >> 1)); break;
      case 'second-open': this.send('0' + open); this.send('0' + open); break;
      default: this.send('0' + open); break;
    }
  }

  ping() {
    this.send('2');
    stats.pings++;
    // poll-post-hang: pongs wait behind a POST that never ends; the
    // client has to notice, not the server
    if (!this.pongTimer && hostile !== 'poll-post-hang') {
      this.pongTimer = setTimeout(() => {
        stats.pongTimeouts++;
        this.ws.close(1000, 'ping timeout');
      }, pongTimeoutMs);
    }
  }

  protocolError(what) {
    stats.protocolErrors.push(what);
    this.ws.close(1002, what.slice(0, 100));
  }

  onMessage(data, isBinary) {
    if (this.closed) return;
    if (isBinary) {
      if (!this.binary) return this.protocolError('binary frame nobody announced');
      this.binary.buffers.push(data);
      if (this.binary.buffers.length === this.binary.packet.attachments) {
        const { packet, buffers } = this.binary;
        this.binary = null;
        this.onEvent(packet, buffers);
      }
      return;
    }
    const text = data.toString('utf8');
    if (this.binary) return this.protocolError('text frame while attachments were due');
    switch (text[0]) {
      case '1': this.ws.close(1000); return;
      case '2': this.send('3'); return;
      case '3':
        stats.pongs++;
        clearTimeout(this.pongTimer);
        this.pongTimer = null;
        return;
      case '4': break;
      default: return this.protocolError(`unknown Engine.IO packet ${text.slice(0, 20)}`);
    }
    let packet;
    try {
      packet = parseSioPacket(text.slice(1));
    } catch (e) {
      return this.protocolError(`bad Socket.IO packet: ${e.message}`);
    }
    switch (packet.type) {
      case 0: return this.onConnect(packet);
      case 1: return;              // the client leaves the namespace
      case 2: return this.onEvent(packet, []);
      case 5:
        if (packet.attachments === 0) return this.onEvent(packet, []);
        this.binary = { packet, buffers: [] };
        return;
      default: return;             // acks of server events and the rest
    }
  }

  onConnect(packet) {
    const nsp = packet.nsp;
    stats.namespaces.push(nsp);
    stats.auths.push(packet.data === undefined ? {} : packet.data);
    if (hostile === 'connect-error') {
      this.send(`44${nspPrefix(nsp)}{"message":"banned by the hostile server"}`);
      return;
    }
    this.send(`40${nspPrefix(nsp)}${JSON.stringify({ sid: this.sid })}`);
    stats.joins++;
    stats.joinTimes.push(now());
    const first = !firstJoinDone;
    firstJoinDone = true;
    this.afterJoin(nsp, first);
  }

  sendEvent(nsp, name, argsText) {
    const frame = `42${nspPrefix(nsp)}["${name}",${argsText.slice(1)}`;
    stats.serverEvents.push({
      name, args: argsText.length <= 4096 ? argsText : null, argsLength: argsText.length,
    });
    this.send(frame);
  }

  afterJoin(nsp, first) {
    switch (hostile) {
      case 'binary-unannounced':
        this.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true });
        break;
      case 'attach-2-sends-1':
        this.send(`452-${nspPrefix(nsp)}["two",{"_placeholder":true,"num":0},` +
          '{"_placeholder":true,"num":1}]');
        this.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true });
        this.sendEvent(nsp, 'text-instead', '[1]');
        break;
      case 'attach-11':
        this.send(`4511-${nspPrefix(nsp)}["eleven",{"_placeholder":true,"num":0}]`);
        this.ws.send(Buffer.from([1, 2, 3, 4]), { binary: true });
        break;
      case 'invalid-utf8':
        this.ws.send(Buffer.concat([Buffer.from('42["bad","'), Buffer.from([0xff, 0xfe, 0xc0]),
          Buffer.from('"]')]), { binary: false });
        break;
      case 'frame-100mb':
        if (!bigFrame) {
          bigFrame = Buffer.alloc(100 * 1000 * 1000, 0x78);
          bigFrame.write('42["big","', 0);
          bigFrame.write('"]', bigFrame.length - 2);
        }
        this.ws.send(bigFrame, { binary: false });
        break;
      case 'close-1000': this.ws.close(1000, 'bye'); break;
      case 'close-1008': this.ws.close(1008, 'policy'); break;
      case 'close-4000': this.ws.close(4000, 'custom'); break;
      case 'tcp-cut': {
        // a text frame header announcing 1000 bytes, then 100 of them
        const socket = this.ws._socket;
        const partial = Buffer.concat([Buffer.from([0x81, 126, 0x03, 0xe8]),
          Buffer.from('42["cut","' + 'x'.repeat(90))]);
        socket.write(partial, () => socket.destroy());
        break;
      }
      case 'flood': this.flood(nsp); break;
      case 'event-16mib':
        if (first) {
          const prefix = `42${nspPrefix(nsp)}["big",`;
          const fill = 16 * 1024 * 1024 - prefix.length - '""]'.length;
          this.sendEvent(nsp, 'big', `["${'y'.repeat(fill)}"]`);
        }
        break;
      case 'nested-200': {
        // 200 levels: objects and arrays in turn
        let deep = '0';
        for (let i = 0; i < 200; i++) deep = i % 2 ? `{"d":${deep}}` : `[${deep}]`;
        this.sendEvent(nsp, 'deep', `[${deep}]`);
        this.sendEvent(nsp, 'after', '[1]');
        break;
      }
      case 'other-nsp-binary':
        this.send('451-/other,["bin",{"_placeholder":true,"num":0}]');
        this.ws.send(Buffer.from([5, 6, 7, 8]), { binary: true });
        this.sendEvent(nsp, 'after-other', '[1]');
        break;
      case 'big-numbers':
        this.sendEvent(nsp, 'numbers', '[1e+21,18446744073709551616,"\\u0000"]');
        break;
      case 'join-then-error': this.send('47junk'); break;
      case 'disconnect-after-join': this.send(`41${nspPrefix(nsp)}`); break;
      case 'poll-get-hang':
        clearInterval(this.pingTimer);
        this.pingTimer = null;
        this.misbehaveAfterFlush('get-hang');
        break;
      case 'poll-post-hang': this.misbehaveAfterFlush('post-hang'); break;
      case 'poll-session-lost': this.misbehaveAfterFlush('lost'); break;
      case 'poll-huge-body': this.misbehaveAfterFlush('huge'); break;
      case 'poll-no-separator-garbage': this.misbehaveAfterFlush('garbage'); break;
      case 'poll-slow-post': this.misbehaveAfterFlush('slow-post'); break;
      case 'poll-bad-base64':
        if (this.ws instanceof PollingSocket) {
          this.send(`451-${nspPrefix(nsp)}["bin",{"_placeholder":true,"num":0}]`);
          this.ws.sendEncoded('b!!not*base64!!');
        }
        break;
      default: break;
    }
  }

  // polling only: @mode starts once the join's answer is out
  misbehaveAfterFlush(mode) {
    if (this.ws instanceof PollingSocket) this.ws.nextMode = mode;
  }

  flood(nsp) {
    const end = now() + 10000;
    const socket = this.ws._socket;
    const pump = () => {
      if (this.closed || now() >= end) return;
      // a bounded burst per turn: a client that reads as fast as we write
      // must not keep this loop from reading its audio and pinging it
      for (let burst = 0; burst < 2000 && this.ws.bufferedAmount < (1 << 20) &&
          now() < end; burst++) {
        this.send(`42${nspPrefix(nsp)}["flood",{"i":${stats.floodSent}}]`);
        stats.floodSent++;
      }
      // wait for the socket to drain (or 10 ms, whichever comes first)
      let again = null;
      const resume = () => {
        clearTimeout(again);
        socket.removeListener('drain', resume);
        setImmediate(pump);
      };
      socket.once('drain', resume);
      again = setTimeout(resume, 10);
    };
    pump();
  }

  onEvent(packet, buffers) {
    const args = Array.isArray(packet.data) ? packet.data : [];
    const payload = args[1];
    const audio = buffers.length === 1 && payload && typeof payload === 'object';
    if (!audio) {
      stats.clientEvents++;
      if (packet.id !== null) this.send(`43${nspPrefix(packet.nsp)}${packet.id}[]`);
      return;
    }
    if (this.target) {
      stats.targetEvents++;
    } else {
      stats.events++;
      stats.bytes += buffers[0].length;
      stats.eventLog.push({ seq: payload.seq, replay: payload.replay === true, t: now() });
    }
    if (packet.id === null) return;
    const ack = `43${nspPrefix(packet.nsp)}${packet.id}[]`;
    switch (hostile) {
      case 'no-ack': break;
      case 'unknown-ack':
        this.send(`43${nspPrefix(packet.nsp)}${this.nextBogus++}[]`);
        stats.bogusAcks++;
        break;
      case 'huge-ack':
        // as decimal text: 2^63 + id and 2^64 + id do not fit an int64
        for (const base of [9223372036854775808n, 18446744073709551616n]) {
          this.send(`43${nspPrefix(packet.nsp)}${base + BigInt(packet.id)}[]`);
          stats.bogusAcks++;
        }
        break;
      case 'slow-ack':
        setTimeout(() => { if (!this.closed) { this.send(ack); stats.acks++; } }, 1000);
        break;
      default:
        this.send(ack);
        stats.acks++;
        break;
    }
  }

  onClose(code, reason) {
    this.closed = true;
    sessions.delete(this);
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    stats.closes.push({ code, reason: reason.toString() });
  }
}

// --- long-polling ------------------------------------------------------------------

const POLL_HUGE_BYTES = 64 * 1024 * 1024;
const POLL_SLOW_POST_MS = 2000;
const pollingSockets = new Map();    // sid -> PollingSocket
// requests this server never answers on purpose, ended when it quits
const heldRequests = new Set();

function holdRequest(res) {
  stats.polling.held++;
  heldRequests.add(res);
  res.on('close', () => heldRequests.delete(res));
}

function sessionUnknown(res) {
  stats.polling.unknownSid++;
  reply(res, 400, 'application/json', '{"code":1,"message":"Session ID unknown"}');
}

// What a Session needs of a `ws` socket, over long-polling: send() queues
// a packet for the next GET, 'message' and 'close' events, close().
class PollingSocket extends EventEmitter {
  constructor() {
    super();
    this.sid = null;           // the Session's, once it exists
    this.queue = [];           // encoded packets
    this.get = null;           // the GET held until there is something to send
    this.flushing = false;
    this.closed = false;
    this.mode = 'normal';      // see misbehaveAfterFlush()
    this.nextMode = null;
    this.bufferedAmount = 0;
  }

  send(data, options) {
    if (this.closed) return;
    const binary = options && options.binary;
    if (binary) this.sendEncoded('b' + Buffer.from(data).toString('base64'));
    else this.sendEncoded(Buffer.isBuffer(data) ? data.toString('utf8') : String(data));
  }

  sendEncoded(text) {
    this.queue.push(text);
    if (!this.flushing) {
      // what one turn sends leaves in one body
      this.flushing = true;
      setImmediate(() => { this.flushing = false; this.flush(); });
    }
  }

  flush() {
    if (!this.get || this.queue.length === 0 || this.mode === 'get-hang') return;
    const res = this.get;
    this.get = null;
    const body = this.queue.join('\x1e');
    this.queue = [];
    reply(res, 200, 'text/plain; charset=UTF-8', body);
    if (this.nextMode) {
      this.mode = this.nextMode;
      this.nextMode = null;
      if (this.mode === 'lost') this.drop(1001, 'session lost');
    }
  }

  // the server forgets the session: later requests are refused
  drop(code, reason) {
    if (this.closed) return;
    this.closed = true;
    pollingSockets.delete(this.sid);
    if (this.get) {
      sessionUnknown(this.get);
      this.get = null;
    }
    this.emit('close', code, Buffer.from(reason || ''));
  }

  close(code, reason) {
    if (this.closed) return;
    // engine.io tells a polling client with a close packet
    this.queue.push('1');
    this.flush();
    this.drop(code || 1000, reason);
  }

  onGet(req, res) {
    switch (this.mode) {
      case 'get-hang': holdRequest(res); return;
      case 'garbage':
        this.mode = 'normal';
        reply(res, 200, 'text/html', '<html><body>hostile: not Engine.IO</body></html>\n');
        return;
      case 'huge':
        this.mode = 'normal';
        sendHugeBody(res);
        return;
      default: break;
    }
    if (this.get) {
      // engine.io ends a session that polls twice at once
      stats.protocolErrors.push('overlapping GETs');
      reply(res, 400, 'application/json', '{"code":3,"message":"Bad request"}');
      this.drop(1002, 'overlapping GETs');
      return;
    }
    this.get = res;
    res.on('close', () => { if (this.get === res) this.get = null; });
    this.flush();
  }

  onPost(req, res) {
    const limit = Math.min(announced.maxPayload, 2 ** 32);
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      if (this.mode === 'post-hang') {
        holdRequest(res);
        return;
      }
      if (size > limit) {
        // as engine.io's maxHttpBufferSize
        reply(res, 413, 'application/json', '{"code":3,"message":"Bad request"}');
        this.drop(1009, 'payload too large');
        return;
      }
      const answer = () => reply(res, 200, 'text/html', 'ok');
      if (this.mode === 'slow-post') setTimeout(answer, POLL_SLOW_POST_MS);
      else answer();
      for (const packet of Buffer.concat(chunks).toString('utf8').split('\x1e')) {
        if (this.closed) return;
        if (packet[0] === 'b') this.emit('message', Buffer.from(packet.slice(1), 'base64'), true);
        else this.emit('message', Buffer.from(packet, 'utf8'), false);
      }
    });
  }
}

// A chunked body of POLL_HUGE_BYTES, written as fast as the client reads.
function sendHugeBody(res) {
  const chunk = Buffer.alloc(1 << 16, 0x78);
  chunk.write('4', 0);    // one message packet that never ends
  let sent = 0;
  res.writeHead(200, { 'Content-Type': 'text/plain; charset=UTF-8' });
  const pump = () => {
    while (sent < POLL_HUGE_BYTES && !res.destroyed) {
      sent += chunk.length;
      stats.polling.hugeSent = Math.max(stats.polling.hugeSent, sent);
      if (!res.write(chunk)) return res.once('drain', pump);
    }
    if (!res.destroyed) res.end();
  };
  res.on('error', () => {});
  pump();
}

function pollingRequest(req, res, url, target) {
  const q = url.searchParams;
  if (q.get('EIO') !== '4') {
    return reply(res, 400, 'application/json', '{"code":5,"message":"Unsupported protocol version"}');
  }
  if (q.get('transport') !== 'polling') {
    return reply(res, 400, 'application/json', '{"code":0,"message":"Transport unknown"}');
  }
  const sid = q.get('sid');
  if (req.method === 'GET') stats.polling.gets++;
  else if (req.method === 'POST') stats.polling.posts++;
  if (sid === null) {
    if (req.method !== 'GET') {
      return reply(res, 400, 'application/json', '{"code":2,"message":"Bad handshake method"}');
    }
    if (!target) {
      stats.handshakes++;
      stats.handshakeTimes.push(now());
    }
    if (hostile === 'poll-redirect' && !target) {
      const port = httpServer.address().port;
      res.writeHead(302, { Location: `http://127.0.0.1:${port}${REDIRECT_PATH}${url.search}`,
        'Content-Length': 0 });
      return res.end();
    }
    const socket = new PollingSocket();
    const session = new Session(socket, target);
    socket.sid = session.sid;
    pollingSockets.set(session.sid, socket);
    // the open packet (queued by the Session) answers the handshake
    socket.get = res;
    return;
  }
  const socket = pollingSockets.get(sid);
  if (!socket) return sessionUnknown(res);
  if (req.method === 'GET') return socket.onGet(req, res);
  if (req.method === 'POST') return socket.onPost(req, res);
  return reply(res, 400, 'application/json', '{"code":3,"message":"Bad request"}');
}

// A WebSocket asking to take over polling session @sid (the upgrade probe).
function upgradeProbe(req, socket, head, sid) {
  stats.polling.probes++;
  if (!pollingSockets.has(sid) || !hostile.startsWith('poll-upgrade-')) {
    // the upgrade was never offered
    stats.protocolErrors.push('upgrade probe');
    rawReply(socket, '400 Bad Request', { 'Content-Type': 'application/json' },
      '{"code":3,"message":"Bad request"}');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    ws.on('close', () => stats.polling.probesClosed++);
    if (hostile === 'poll-upgrade-silent-probe') return;
    ws.on('message', (data) => {
      if (data.toString() === '2probe') ws.send('3nope');
    });
  });
}

// --- HTTP: the handshake and the control API -----------------------------------------

const wss = new WebSocketServer({
  noServer: true,
  perMessageDeflate: false,
  clientTracking: false,
  // the announced limit, enforced like engine.io's maxHttpBufferSize
  maxPayload: Math.min(announced.maxPayload, 2 ** 32),
});

// Sockets this server holds open without answering (tcp-silent, bad-101).
const held = new Set();

function rawReply(socket, status, headers, body) {
  const lines = [`HTTP/1.1 ${status}`];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  lines.push(`Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', '');
  socket.end(lines.join('\r\n') + body);
}

function engineHandshake(req, socket, head, url) {
  stats.handshakes++;
  stats.handshakeTimes.push(now());
  const port = httpServer.address().port;
  switch (hostile) {
    case 'tcp-silent':
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      return;
    case 'http-500':
      rawReply(socket, '500 Internal Server Error', { 'Content-Type': 'text/plain' },
        'hostile: internal server error\n');
      return;
    case 'bad-101':
      held.add(socket);
      socket.on('close', () => held.delete(socket));
      socket.write('HTTP/1.1 101 Switching Protocols\r\n\r\n');
      return;
    case 'redirect':
    case 'redirect-http': {
      const target = hostile === 'redirect' ?
        `http://127.0.0.1:${port}${REDIRECT_PATH}${url.search}` :
        `http://127.0.0.1:${port}${PLAIN_PATH}`;
      rawReply(socket, '302 Found', { Location: target }, '');
      return;
    }
    default:
      acceptWebSocket(req, socket, head, url, false);
  }
}

function acceptWebSocket(req, socket, head, url, target) {
  const q = url.searchParams;
  if (q.get('EIO') !== '4' || q.get('transport') !== 'websocket') {
    rawReply(socket, '400 Bad Request', { 'Content-Type': 'application/json' },
      '{"code":0,"message":"Transport unknown"}');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => new Session(ws, target));
}

function countTarget(req, url) {
  stats.targetHits++;
  stats.targetRequests.push({
    path: url.pathname, upgrade: !!req.headers.upgrade,
    authorization: !!req.headers.authorization,
  });
}

function onUpgrade(req, socket, head) {
  const url = new URL(req.url, 'http://localhost');
  socket.on('error', () => {});
  if (url.pathname === ENGINE_PATH) {
    const sid = url.searchParams.get('sid');
    if (sid !== null) return upgradeProbe(req, socket, head, sid);
    return engineHandshake(req, socket, head, url);
  }
  if (url.pathname === REDIRECT_PATH) {
    countTarget(req, url);
    return acceptWebSocket(req, socket, head, url, true);
  }
  if (url.pathname === PLAIN_PATH) {
    countTarget(req, url);
    return rawReply(socket, '200 OK', { 'Content-Type': 'text/html' },
      '<html><body>a plain page</body></html>\n');
  }
  rawReply(socket, '404 Not Found', { 'Content-Type': 'text/plain' }, 'not found\n');
}

function reply(res, code, type, body) {
  res.writeHead(code, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
  });
  res.end(body);
}

function onRequest(req, res) {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/control/stats') {
    return reply(res, 200, 'application/json', JSON.stringify(snapshot()));
  }
  if (url.pathname === REDIRECT_PATH && url.searchParams.get('transport') === 'polling') {
    countTarget(req, url);
    return pollingRequest(req, res, url, true);
  }
  if (url.pathname === REDIRECT_PATH || url.pathname === PLAIN_PATH) {
    countTarget(req, url);
    return reply(res, 200, 'text/html', '<html><body>a plain page</body></html>\n');
  }
  if (url.pathname === ENGINE_PATH && !servesPolling) {
    // the WebSocket cases refuse polling, as before it existed here: a
    // sink with transports=auto must not get around their misbehaviour
    // (http-500 answers every handshake so, whichever the transport)
    stats.handshakes++;
    stats.handshakeTimes.push(now());
    if (hostile === 'http-500') {
      return reply(res, 500, 'text/plain', 'hostile: internal server error\n');
    }
    return reply(res, 400, 'application/json', '{"code":3,"message":"Bad request"}');
  }
  if (url.pathname === ENGINE_PATH) return pollingRequest(req, res, url, false);
  return reply(res, 404, 'application/json', '{"error":"not found"}');
}

const httpServer = http.createServer(onRequest);
httpServer.on('upgrade', onUpgrade);
httpServer.on('clientError', (err, socket) => socket.destroy());

// --- lifecycle -------------------------------------------------------------------

run('hostile.js', httpServer, opts, snapshot);
