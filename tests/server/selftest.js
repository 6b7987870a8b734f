#!/usr/bin/env node
// Self-test of the test servers: checks server.js and server.py (or the one
// named on the command line: `node selftest.js js|py`) behave as the
// gst-socketio tests expect, with socket.io-client as the peer.
'use strict';

const { spawn } = require('child_process');
const path = require('path');
const crypto = require('crypto');
const http = require('http');
const assert = require('assert/strict');
const { io } = require('socket.io-client');

const SERVERS = {
  js: [process.execPath, [path.join(__dirname, 'server.js')]],
  py: ['/usr/bin/python3', [path.join(__dirname, 'server.py')]],
  wsgi: ['/usr/bin/python3', [path.join(__dirname, 'server_wsgi.py')]],
  flask: ['/usr/bin/python3', [path.join(__dirname, 'server_flask.py')]],
};
// the servers without WebSocket (Debian 12 has no simple-websocket)
const POLLING_ONLY = new Set(['wsgi', 'flask']);
let clientTransports = ['websocket'];

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function startServer(kind, args) {
  const [cmd, base] = SERVERS[kind];
  const child = spawn(cmd, [...base, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise((r) => child.on('exit', (code, sig) => r({ code, sig })));
  let buf = '';
  const line = (re, what) => new Promise((resolve, reject) => {
    const check = () => {
      const m = buf.match(re);
      if (m) resolve(m[1]);
      return m;
    };
    child.stdout.on('data', check);
    // 'close': stdout fully read, the last line included
    child.stdout.on('close', () => check() || reject(new Error(`${kind} server: no ${what} line`)));
  });
  child.stdout.on('data', (d) => { buf += d; });
  const port = line(/^LISTENING (\d+)\n/, 'LISTENING').then(Number);
  // the final stats, printed on SIGTERM/SIGINT
  const stats = line(/^STATS (.*)\n/m, 'STATS').then(JSON.parse);
  stats.catch(() => {});  // only awaited by the tests that kill the server
  return { child, port, exited, stats };
}

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: p }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(body) }));
    }).on('error', reject);
  });
}
const control = async (port, p) => (await get(port, `/control/${p}`)).json;

function connect(port, nsp, auth) {
  const s = io(`http://127.0.0.1:${port}${nsp}`, {
    transports: clientTransports, reconnection: false, forceNew: true, auth,
  });
  return new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', (e) => { s.close(); reject(e); });
  });
}

function payload(seq, buf) {
  return { audio_data: buf, seq, pts: seq * 1000, duration: 1000, format: 'S16LE', rate: 16000, channels: 1 };
}

async function waitFor(fn, what, ms = 3000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function testServer(kind) {
  const srv = startServer(kind, ['--token', 'secret', '--ack-delay-ms', '0']);
  const port = await srv.port;
  try {
    assert.equal((await get(port, '/control/nope')).status, 404);

    // auth: missing and wrong tokens are refused with the server's message
    for (const auth of [undefined, { token: 'wrong' }]) {
      await assert.rejects(connect(port, '/', auth), { message: 'Not authorized' });
    }
    const a = await connect(port, '/', { token: 'secret' });
    const b = await connect(port, '/audio', { token: 'secret' });
    let st = await control(port, 'stats');
    assert.equal(st.connected, 2);
    assert.deepEqual(st.namespaces, ['/', '/audio']);
    assert.equal(st.rejected, 2);
    assert.deepEqual(st.auths.at(-1), { token: 'secret' });

    // events, bytes and the running hash
    const h = crypto.createHash('sha256');
    for (let i = 0; i < 20; i++) {
      const buf = crypto.randomBytes(100 + i);
      h.update(buf);
      const r = await b.emitWithAck('audio_data', payload(i, buf));
      assert.deepEqual(r, { ok: true });
    }
    b.emit('audio_data', payload(20, Buffer.alloc(0)));  // no ack asked
    b.emit('other', 1);
    st = await waitFor(async () => {
      const s = await control(port, 'stats');
      return s.events === 21 && s.clientEvents.other === 1 && s;
    }, 'events');
    assert.equal(st.bytes, 20 * 100 + 190);
    assert.equal(st.sha256, h.digest('hex'));
    assert.equal(st.acks, 20);
    assert.equal(st.eventsWithoutAck, 1);
    assert.equal(st.seqErrors, 0);
    assert.equal(st.lastSeq, 20);
    assert.equal(st.maxAttachment, 119);
    assert.deepEqual(st.last, { seq: 20, pts: 20000, duration: 1000, format: 'S16LE', rate: 16000, channels: 1, size: 0 });

    // a held ack is sent by /control/release
    assert.deepEqual(await control(port, 'config?ack=0'), { ackDelayMs: 0, ack: false });
    const held = [0, 1, 2].map((i) => b.timeout(3000).emitWithAck('audio_data', payload(21 + i, Buffer.alloc(4))));
    await waitFor(async () => (await control(port, 'stats')).pending === 3, 'pending=3');
    await sleep(200);
    assert.equal((await control(port, 'stats')).acks, 20);
    await control(port, 'config?ack=1');
    assert.equal((await control(port, 'release')).released, 3);
    await Promise.all(held);

    // ack delay
    await control(port, 'config?ackDelayMs=150');
    const t0 = Date.now();
    await b.emitWithAck('audio_data', payload(24, Buffer.alloc(4)));
    assert.ok(Date.now() - t0 >= 130, 'ack delay');
    await control(port, 'config?ackDelayMs=0');

    // received seqs as ranges; duplicates and replays
    await b.emitWithAck('audio_data', { ...payload(3, Buffer.alloc(4)), replay: true });
    await b.emitWithAck('audio_data', payload(30, Buffer.alloc(4)));
    await b.emitWithAck('audio_data', { ...payload(26, Buffer.alloc(4)), replay: true });
    await b.emitWithAck('audio_data', payload(25, Buffer.alloc(4)));
    st = await control(port, 'stats');
    assert.deepEqual(st.seqRanges, [[0, 26], [30, 30]]);
    assert.equal(st.duplicates, 1);
    assert.equal(st.replays, 2);
    assert.equal(st.unflaggedRepeats, 0);
    assert.deepEqual(st.unflaggedSeqRanges, [[0, 25], [30, 30]]);

    // held acks of a client that leaves are dropped from pending
    await control(port, 'config?ack=0');
    const c = await connect(port, '/x/y', { token: 'secret' });
    c.emit('audio_data', payload(0, Buffer.alloc(1)), () => {});
    c.emit('audio_data', payload(1, Buffer.alloc(1)), () => {});
    await waitFor(async () => (await control(port, 'stats')).pending === 2, 'pending=2');
    c.disconnect();
    st = await waitFor(async () => {
      const s = await control(port, 'stats');
      return s.pending === 0 && s;
    }, 'pending=0');
    assert.equal(st.abandonedAcks, 2);
    assert.equal(st.duplicates, 3);  // seq 0 and 1 again
    assert.equal(st.unflaggedRepeats, 2);  // ... without the replay flag
    assert.equal(st.disconnectReasons.at(-1), 'client namespace disconnect');
    assert.ok(st.namespaces.includes('/x/y'));
    await control(port, 'config?ack=1');

    // server -> client events
    const got = Promise.all([a, b].map((s) => new Promise((r) => s.once('transcript', (...args) => r(args)))));
    const args = encodeURIComponent(JSON.stringify(['hello', { n: 1 }]));
    assert.equal((await control(port, `emit?event=transcript&args=${args}`)).sent, 2);
    for (const r of await got) assert.deepEqual(r, ['hello', { n: 1 }]);

    // server-side disconnect: the client gets 41 ("io server disconnect")
    const reasons = Promise.all([a, b].map((s) => new Promise((r) => s.once('disconnect', r))));
    assert.equal((await control(port, 'disconnect')).disconnected, 2);
    assert.deepEqual(await reasons, ['io server disconnect', 'io server disconnect']);
    st = await waitFor(async () => {
      const s = await control(port, 'stats');
      return s.connected === 0 && s;
    }, 'connected=0');
    assert.equal(st.disconnectReasons.filter((r) => r === 'server namespace disconnect').length, 2);

    await control(port, 'reset');
    st = await control(port, 'stats');
    assert.equal(st.events, 0);
    assert.equal(st.sha256, crypto.createHash('sha256').digest('hex'));
    assert.equal(st.lastSeq, null);
    assert.deepEqual(st.seqRanges, []);
    assert.deepEqual(st.unflaggedSeqRanges, []);
    assert.equal(st.duplicates + st.replays + st.unflaggedRepeats, 0);

    // stdin EOF ends the server
    srv.child.stdin.end();
    await Promise.race([srv.exited, sleep(3000).then(() => { throw new Error('no exit on stdin EOF'); })]);
  } finally {
    srv.child.kill('SIGKILL');
  }

  // SIGTERM ends it too, promptly
  const srv2 = startServer(kind, []);
  await srv2.port;
  const t0 = Date.now();
  srv2.child.kill('SIGTERM');
  await srv2.exited;
  assert.ok(Date.now() - t0 < 2000, 'SIGTERM exit');
  assert.equal((await srv2.stats).events, 0);

  await testKillRestart(kind);
  console.log(`ok ${kind}`);
}

// SIGTERM/SIGINT with a client connected: the server prints its final stats
// and goes away without a DISCONNECT, so the client sees "transport close"
// (not "io server disconnect") and reconnects to the server restarted at
// once on the same port.
async function testKillRestart(kind) {
  let srv = startServer(kind, []);
  const port = await srv.port;
  const all = [srv];
  const s = io(`http://127.0.0.1:${port}/audio`, {
    transports: clientTransports, forceNew: true,
    reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 100,
  });
  try {
    const reasons = [];
    s.on('disconnect', (r) => reasons.push(r));
    let seq = 0;
    for (const sig of ['SIGTERM', 'SIGINT']) {
      if (!s.connected) await new Promise((r) => s.once('connect', r));
      for (let i = 0; i < 5; i++) {
        await s.timeout(3000).emitWithAck('audio_data', payload(seq++, Buffer.alloc(8)));
      }
      // the last one is not acked: in flight when the server dies
      const holding = control(port, 'config?ack=0');
      await holding;
      s.emit('audio_data', payload(seq++, Buffer.alloc(8)), () => {});
      await waitFor(async () => (await control(port, 'stats')).pending === 1, 'pending=1');
      const gone = new Promise((r) => s.once('disconnect', r));
      const t0 = Date.now();
      srv.child.kill(sig);
      const st = await srv.stats;
      await srv.exited;
      assert.ok(Date.now() - t0 < 2000, `${sig} exit`);
      assert.deepEqual(st.seqRanges, [[seq - 6, seq - 1]]);
      assert.equal(st.events, 6);
      assert.equal(st.pending, 1);
      assert.equal(st.connected, 1);
      // socket.io-client says "transport error" when a poll fails
      assert.equal(await gone, POLLING_ONLY.has(kind) ? 'transport error' : 'transport close');
      // restart at once on the same port
      srv = startServer(kind, ['--port', String(port)]);
      all.push(srv);
      assert.equal(await srv.port, port);
    }
    await new Promise((r) => s.once('connect', r));
    await s.timeout(3000).emitWithAck('audio_data', { ...payload(0, Buffer.alloc(8)), replay: true });
    const st = await control(port, 'stats');
    assert.equal(st.connections, 1);
    assert.deepEqual(st.seqRanges, [[0, 0]]);
    assert.equal(st.replays, 1);
    assert.equal(st.duplicates, 0);  // per process: seq 0 went to the first one
    assert.deepEqual(reasons, Array(2).fill(POLLING_ONLY.has(kind) ? 'transport error' : 'transport close'));
  } finally {
    s.close();
    for (const x of all) x.child.kill('SIGKILL');
  }
}

// {status, body} of a plain HTTP request.
function request(port, method, p, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({
      // a connection of its own: a refused body may be left unread on it
      host: '127.0.0.1', port, path: p, method, agent: false,
      headers: body === undefined ? {} : { 'Content-Type': 'text/plain;charset=UTF-8' },
    }, (res) => {
      let text = '';
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// The answer to a WebSocket handshake: {status, body}.
function websocketHandshake(port) {
  return new Promise((resolve, reject) => {
    const req = http.get({
      host: '127.0.0.1', port, path: '/socket.io/?EIO=4&transport=websocket',
      headers: {
        Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('upgrade', (res, sock) => { sock.destroy(); resolve({ status: 101, body: '' }); });
    req.on('error', reject);
  });
}

// Long-polling (and the upgrade where the server offers WebSocket):
// delivery, the transport counts, the handshake headers, the largest POST,
// /control/drop cutting a polling session, and what a WebSocket handshake
// gets from a polling-only server.
async function testTransports(kind, serverArgs, { websocket, drop, oversized }) {
  const srv = startServer(kind, [...serverArgs, '--max-payload', '100000',
    '--record-header', 'X-Test']);
  const port = await srv.port;
  const clients = [];
  try {
    const open = (transports) => {
      const s = io(`http://127.0.0.1:${port}/audio`, {
        transports, forceNew: true, extraHeaders: { 'X-Test': 'hello' },
        reconnectionDelay: 50, reconnectionDelayMax: 100,
      });
      clients.push(s);
      return new Promise((resolve, reject) => {
        s.once('connect', () => resolve(s));
        s.once('connect_error', reject);
      });
    };
    const p = await open(['polling']);
    assert.equal(p.io.engine.transport.name, 'polling');
    const h = crypto.createHash('sha256');
    for (let i = 0; i < 10; i++) {
      const buf = crypto.randomBytes(20000);  // ~27 kB of base64 per POST
      h.update(buf);
      assert.deepEqual(await p.timeout(3000).emitWithAck('audio_data', payload(i, buf)),
        { ok: true });
    }
    let st = await control(port, 'stats');
    assert.equal(st.events, 10);
    assert.equal(st.sha256, h.digest('hex'));
    assert.deepEqual(st.transports, { polling: 1, websocket: 0, upgraded: 0 });
    assert.equal(st.engineConnections.length, 1);
    assert.equal(st.engineConnections[0].transport, 'polling');
    assert.equal(st.handshakeHeaders.length, 1);
    assert.equal(st.handshakeHeaders[0]['x-test'], 'hello');
    assert.equal(st.handshakeHeaders[0].cookie, null);
    assert.ok(st.posts >= 10, `posts ${st.posts}`);
    assert.ok(st.maxPostBytes > 20000 && st.maxPostBytes <= 100000, `maxPostBytes ${st.maxPostBytes}`);
    assert.equal(st.oversizedPosts, 0);
    if (POLLING_ONLY.has(kind)) {
      // what python-socketio / Flask-SocketIO chose on their own
      assert.equal(st.asyncMode, 'threading');
      assert.deepEqual(st.offeredTransports, ['polling']);
    }

    if (drop) {
      // /control/drop cuts the polling session: the client reconnects
      const gone = new Promise((r) => p.once('disconnect', r));
      assert.equal((await control(port, 'drop')).dropped, 1);
      assert.equal(await gone, 'transport error');
      await new Promise((r) => p.once('connect', r));
      await p.timeout(3000).emitWithAck('audio_data', payload(10, Buffer.alloc(8)));
      st = await control(port, 'stats');
      assert.equal(st.connections, 2);
      assert.equal(st.connected, 1);
      assert.equal(st.disconnectReasons.at(-1), 'transport close');
      assert.deepEqual(st.seqRanges, [[0, 10]]);
    }
    p.close();

    // a POST over maxPayload is refused, and counted
    const sid = JSON.parse((await request(port, 'GET', '/socket.io/?EIO=4&transport=polling')).body.slice(1)).sid;
    // with a poll open, as a client has (python-engineio's close waits for one)
    const poll = request(port, 'GET', `/socket.io/?EIO=4&transport=polling&sid=${sid}`);
    await sleep(200);  // the poll waits in the server
    const big = request(port, 'POST', `/socket.io/?EIO=4&transport=polling&sid=${sid}`,
      '4' + 'x'.repeat(150000));
    if (oversized) {
      assert.equal((await big).status, oversized);
    } else {
      // python-engineio 4.3.4 in threading mode: the session is closed
      // (the poll gets "1") and the POST is never answered
      assert.equal((await poll).body, '1');
      assert.equal(await Promise.race([big.then(() => 'answered'), sleep(1000).then(() => 'no answer')]),
        'no answer');
    }
    poll.catch(() => {});  // engine.io keeps it open: it fails when the server goes
    big.catch(() => {});
    st = await waitFor(async () => {
      const x = await control(port, 'stats');
      return x.maxPostBytes === 150001 && x;
    }, 'the whole POST');
    assert.equal(st.oversizedPosts, 1);

    const ws = await websocketHandshake(port);
    if (websocket) {
      assert.equal(ws.status, 101);
      const u = await open(['polling', 'websocket']);
      await waitFor(() => u.io.engine.transport.name === 'websocket', 'upgrade');
      await u.timeout(3000).emitWithAck('audio_data', payload(11, Buffer.alloc(8)));
      st = await control(port, 'stats');
      assert.equal(st.transports.upgraded, 1);
      assert.equal(st.engineConnections.at(-1).upgraded, true);
      assert.equal(st.engineConnections.at(-1).transport, 'websocket');
    } else {
      assert.notEqual(ws.status, 101);
      console.log(`${kind} ${serverArgs.join(' ')}: a WebSocket handshake gets ` +
        `HTTP ${ws.status} ${JSON.stringify(ws.body)}`);
    }
  } finally {
    for (const c of clients) c.close();
    srv.child.kill('SIGKILL');
  }
  console.log(`ok ${kind} transports ${serverArgs.join(' ')}`);
}

const TRANSPORT_TESTS = {
  js: [[['--transports', 'polling'], { websocket: false, drop: true, oversized: 413 }],
    [[], { websocket: true, drop: true, oversized: 413 }]],
  py: [[[], { websocket: true, drop: false, oversized: 400 }]],
  wsgi: [[[], { websocket: false, drop: false, oversized: null }]],
  flask: [[[], { websocket: false, drop: false, oversized: null }]],
};

(async () => {
  const kinds = process.argv.length > 2 ? process.argv.slice(2) : Object.keys(SERVERS);
  for (const k of kinds) {
    clientTransports = POLLING_ONLY.has(k) ? ['polling'] : ['websocket'];
    if (k in SERVERS && !process.env.SELFTEST_TRANSPORTS_ONLY) await testServer(k);
    for (const [args, what] of TRANSPORT_TESTS[k] || []) await testTransports(k, args, what);
  }
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
