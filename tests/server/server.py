#!/usr/bin/python3
"""Debian's python-socketio (5.7.x, python-engineio 4.3.x) + aiohttp as a test
server for gst-socketio: the Python stack most users of the sink come from.

Same command line, "LISTENING <port>" line, stdin-EOF exit, "STATS <json>"
line on SIGTERM/SIGINT (then exit without telling the clients) and /control
API (same JSON field names) as server.js:

  /usr/bin/python3 server.py [--host 127.0.0.1] [--port 0] [--token T]
      [--ack-delay-ms N] [--no-ack] [--max-payload BYTES] [--event audio_data]
      [--payload-key audio_data] [--ping-interval MS] [--ping-timeout MS]
      [--ignore-stdin]

Differences from server.js, all due to python-socketio 5.7:
- Acks are the handler's return value. A held ack is a handler still awaiting
  its release; maxPending is the most such invocations outstanding at once.
- Disconnect reasons are not reported by python-socketio 5.7; we infer three:
  "client namespace disconnect" (client sent 41), "transport close" (the
  Engine.IO session ended, including ping timeouts) and "server namespace
  disconnect" (/control/disconnect).
- /control/disconnect sends 41 for every namespace but, unlike socket.io's
  disconnect(true), does not close the Engine.IO connection itself.
- The handshake does not announce maxPayload (python-engineio 4.3.4), and
  aiohttp refuses WebSocket messages over 4 MiB whatever --max-payload says.
  A message over --max-payload gets a bare WebSocket close 1000, no reason.
- aiohttp accepts permessage-deflate when the client offers it (socket.io's
  server declines by default): a client that offers it compresses audio.
- Any namespace is accepted: handlers are registered for a namespace when a
  client first asks to join it (see SioServer._handle_connect). namespaces='*'
  alone is not enough in 5.7: it accepts the join but never calls the connect
  handler (no auth check) and acks every event with an empty list.
"""

import argparse
import asyncio
import bisect
import contextvars
import hashlib
import json
import os
import signal
import socket
import sys
import threading

import socketio
from aiohttp import web

# Whether the event being handled carries an ack id. python-socketio does not
# tell the handler, so the overridden _handle_event_internal sets this in the
# handler task's own context.
WANTS_ACK = contextvars.ContextVar('wants_ack', default=False)

AIOHTTP_WS_MAX_MSG = 4 * 1024 * 1024


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--host', default='127.0.0.1')
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--token', default=None)
    p.add_argument('--ack-delay-ms', type=int, default=0)
    p.add_argument('--no-ack', action='store_true')
    p.add_argument('--max-payload', type=int, default=1000000)
    p.add_argument('--event', default='audio_data')
    p.add_argument('--payload-key', default='audio_data')
    p.add_argument('--ping-interval', type=int, default=25000, help='ms')
    p.add_argument('--ping-timeout', type=int, default=20000, help='ms')
    p.add_argument('--ignore-stdin', action='store_true',
                   help='do not exit when stdin reaches EOF')
    a = p.parse_args()
    if a.ack_delay_ms < 0 or a.max_payload < 0 or a.port < 0:
        p.error('negative values are not allowed')
    return a


def add_seq(ranges, seq):
    """Adds seq to ranges (sorted, disjoint, non-adjacent [first, last]
    lists); returns False if it was already there. Same as server.js."""
    if not ranges or seq > ranges[-1][1] + 1:
        ranges.append([seq, seq])
        return True
    if seq == ranges[-1][1] + 1:
        ranges[-1][1] = seq
        return True
    i = bisect.bisect_right(ranges, seq, key=lambda r: r[0]) - 1
    prev = ranges[i] if i >= 0 else None
    if prev is not None and seq <= prev[1]:
        return False
    nxt = ranges[i + 1]  # exists: seq is below the last range's end
    join_prev = prev is not None and prev[1] + 1 == seq
    join_next = nxt[0] - 1 == seq
    if join_prev and join_next:
        prev[1] = nxt[1]
        del ranges[i + 1]
    elif join_prev:
        prev[1] = seq
    elif join_next:
        nxt[0] = seq
    else:
        ranges.insert(i + 1, [seq, seq])
    return True


class SioServer(socketio.AsyncServer):
    """AsyncServer with the three hooks this test server needs.

    They override private methods of python-socketio 5.7.2 (Debian 12); the
    signatures were checked against that version.
    """

    def __init__(self, app_state, **kwargs):
        super().__init__(**kwargs)
        self.app_state = app_state
        self._eio_closing = set()
        self.disconnect_hint = {}  # sid -> reason, read by the disconnect handler

    async def _handle_connect(self, eio_sid, namespace, data):
        namespace = namespace or '/'
        if namespace not in self.handlers:
            self.app_state.register_namespace(namespace)
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_disconnect(self, eio_sid, namespace):
        namespace = namespace or '/'
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is not None and sid not in self.disconnect_hint:
            self.disconnect_hint[sid] = ('transport close'
                                         if eio_sid in self._eio_closing
                                         else 'client namespace disconnect')
        await super()._handle_disconnect(eio_sid, namespace)

    async def _handle_eio_disconnect(self, eio_sid):
        self._eio_closing.add(eio_sid)
        try:
            await super()._handle_eio_disconnect(eio_sid)
        finally:
            self._eio_closing.discard(eio_sid)

    async def _handle_event_internal(self, server, sid, eio_sid, data,
                                     namespace, id):
        WANTS_ACK.set(id is not None)
        return await super()._handle_event_internal(server, sid, eio_sid,
                                                    data, namespace, id)


class App:
    def __init__(self, opts):
        self.opts = opts
        self.config = {'ackDelayMs': opts.ack_delay_ms, 'ack': not opts.no_ack}
        self.sockets = {}     # sid -> namespace, currently connected
        # Held acks: {'sid', 'fut', 'timer'}. Per entry so release can ack them
        # and a disconnect can forget them (see server.js).
        self.pending = []
        self.sio = SioServer(
            self,
            async_mode='aiohttp',
            namespaces='*',
            max_http_buffer_size=opts.max_payload,
            ping_interval=opts.ping_interval / 1000.0,
            ping_timeout=opts.ping_timeout / 1000.0,
            cors_allowed_origins='*',
            logger=False,
            engineio_logger=False,
        )
        self.reset()
        self.register_namespace('/')
        self.register_namespace('/audio')

    def reset(self):
        self.hash = hashlib.sha256()
        self.stats = {
            'connections': 0,
            'namespaces': [],
            'auths': [],
            'rejected': 0,
            'events': 0,
            'bytes': 0,
            'maxAttachment': 0,
            'maxPending': len(self.pending),
            'acks': 0,
            'abandonedAcks': 0,
            'eventsWithoutAck': 0,
            'badPayloads': 0,
            'lastSeq': None,
            'seqErrors': 0,
            'seqGaps': 0,
            'seqRepeats': 0,
            'seqRanges': [],    # every int seq received, merged [first, last]
            'duplicates': 0,    # events whose seq this process already had
            'unflaggedRepeats': 0,    # ... of which not flagged "replay": true
            'unflaggedSeqRanges': [],  # int seqs received without the flag
            'replays': 0,       # events flagged "replay": true
            'last': None,
            'disconnectReasons': [],
            'clientEvents': {},
        }

    # --- Socket.IO handlers ---------------------------------------------------

    def register_namespace(self, ns):
        sio = self.sio
        st = lambda: self.stats  # noqa: E731  (stats is replaced on reset)

        async def on_connect(sid, environ, auth=None):
            auth = auth if auth is not None else {}
            st()['auths'].append(auth)
            token = self.opts.token
            if token is not None and (not isinstance(auth, dict)
                                      or auth.get('token') != token):
                st()['rejected'] += 1
                # client receives 44{"message":"Not authorized"}
                raise socketio.exceptions.ConnectionRefusedError('Not authorized')
            self.sockets[sid] = ns
            st()['connections'] += 1
            st()['namespaces'].append(ns)

        async def on_disconnect(sid):
            self.sockets.pop(sid, None)
            reason = sio.disconnect_hint.pop(sid, 'unknown')
            st()['disconnectReasons'].append(reason)
            for entry in [e for e in self.pending if e['sid'] == sid]:
                self._drop(entry, acked=False)

        async def on_audio(sid, payload=None, *rest):
            return await self.on_audio(sid, payload)

        async def on_other(event, sid, *args):
            c = st()['clientEvents']
            c[event] = c.get(event, 0) + 1
            # Acked at once (if asked) whatever the ack config, as in server.js.
            return {'ok': True}

        sio.on('connect', on_connect, namespace=ns)
        sio.on('disconnect', on_disconnect, namespace=ns)
        sio.on(self.opts.event, on_audio, namespace=ns)
        sio.on('*', on_other, namespace=ns)

    async def on_audio(self, sid, payload):
        st = self.stats
        data = payload.get(self.opts.payload_key) if isinstance(payload, dict) else None
        if not isinstance(data, (bytes, bytearray)):
            st['badPayloads'] += 1
        else:
            st['events'] += 1
            st['bytes'] += len(data)
            self.hash.update(data)
            st['maxAttachment'] = max(st['maxAttachment'], len(data))
            seq = payload.get('seq')
            is_num = isinstance(seq, int) and not isinstance(seq, bool)
            last = st['lastSeq']
            if last is not None and seq != last + 1:
                st['seqErrors'] += 1
                if is_num and seq > last + 1:
                    st['seqGaps'] += 1
                else:
                    st['seqRepeats'] += 1
            st['lastSeq'] = seq if is_num else None
            replay = payload.get('replay') is True
            if is_num and not add_seq(st['seqRanges'], seq):
                st['duplicates'] += 1
                if not replay:
                    st['unflaggedRepeats'] += 1
            if is_num and not replay:
                add_seq(st['unflaggedSeqRanges'], seq)
            if replay:
                st['replays'] += 1
            last = {k: payload.get(k) for k in
                    ('seq', 'pts', 'duration', 'format', 'rate', 'channels')}
            last['size'] = len(data)
            st['last'] = last

        if not WANTS_ACK.get():
            st['eventsWithoutAck'] += 1
            return None  # no ack id: python-socketio sends nothing

        entry = {'sid': sid, 'fut': None, 'timer': None}
        self.pending.append(entry)
        st['maxPending'] = max(st['maxPending'], len(self.pending))
        if self.config['ack'] and self.config['ackDelayMs'] == 0:
            self._drop(entry, acked=True)
            return {'ok': True}
        loop = asyncio.get_running_loop()
        entry['fut'] = loop.create_future()
        if self.config['ack']:
            entry['timer'] = loop.call_later(self.config['ackDelayMs'] / 1000.0,
                                             self._drop, entry, True)
        if await entry['fut']:
            return {'ok': True}
        return self.sio.not_handled  # abandoned: suppresses the ack

    def _drop(self, entry, acked):
        """Take entry off the pending list: ack it, or forget it (client gone)."""
        try:
            self.pending.remove(entry)
        except ValueError:
            return
        if entry['timer'] is not None:
            entry['timer'].cancel()
        if acked:
            self.stats['acks'] += 1
        else:
            self.stats['abandonedAcks'] += 1
        if entry['fut'] is not None and not entry['fut'].done():
            entry['fut'].set_result(acked)

    # --- control API ------------------------------------------------------------

    def snapshot(self):
        s = dict(self.stats)
        s['connected'] = len(self.sockets)
        s['pending'] = len(self.pending)
        s['sha256'] = self.hash.copy().hexdigest()
        s['config'] = dict(self.config)
        return s

    async def control(self, request):
        name = request.match_info['name']
        q = request.query
        if name == 'stats':
            return web.json_response(self.snapshot())
        if name == 'config':
            try:
                if 'ackDelayMs' in q:
                    n = int(q['ackDelayMs'])
                    if n < 0:
                        raise ValueError
                    self.config['ackDelayMs'] = n
                if 'ack' in q:
                    if q['ack'] not in ('0', '1'):
                        raise ValueError
                    self.config['ack'] = q['ack'] == '1'
            except ValueError:
                return web.json_response({'error': 'bad ackDelayMs or ack'}, status=400)
            return web.json_response(dict(self.config))
        if name == 'release':
            held = list(self.pending)
            for entry in held:
                self._drop(entry, acked=True)
            return web.json_response({'released': len(held)})
        if name == 'emit':
            event = q.get('event')
            try:
                args = json.loads(q.get('args', '[]'))
            except ValueError as e:
                return web.json_response({'error': 'bad args: %s' % e}, status=400)
            if not event or not isinstance(args, list):
                return web.json_response({'error': 'need event and a JSON array in args'},
                                         status=400)
            targets = list(self.sockets.items())
            for sid, ns in targets:
                # a tuple is sent as several arguments
                await self.sio.emit(event, tuple(args), to=sid, namespace=ns)
            return web.json_response({'sent': len(targets)})
        if name == 'disconnect':
            targets = list(self.sockets.items())
            for sid, ns in targets:
                self.sio.disconnect_hint[sid] = 'server namespace disconnect'
                await self.sio.disconnect(sid, namespace=ns)
            return web.json_response({'disconnected': len(targets)})
        if name == 'reset':
            self.reset()
            return web.json_response({'ok': True})
        return web.json_response({'error': 'not found'}, status=404)


def quit_now():
    # No graceful shutdown: a test server must go away at once.
    try:
        sys.stdout.flush()
    except OSError:
        pass
    os._exit(0)


def dump_stats_and_quit(app_state):
    """SIGTERM/SIGINT: one "STATS <json>" line, then exit at once without
    a DISCONNECT to anyone: clients see a transport close, as after a crash,
    and reconnect. Same as server.js."""
    try:
        sys.stdout.write('STATS %s\n' % json.dumps(app_state.snapshot()))
    except (OSError, ValueError):
        pass  # stdout closed: nobody wants the stats
    quit_now()


def watch_stdin(loop):
    # A thread, because stdin may be a pipe, a file, /dev/null or a tty.
    def run():
        try:
            while os.read(sys.stdin.fileno(), 65536):
                pass
        except OSError:
            pass
        loop.call_soon_threadsafe(quit_now)
    threading.Thread(target=run, daemon=True).start()


async def main():
    opts = parse_args()
    if opts.max_payload > AIOHTTP_WS_MAX_MSG:
        print('server.py: warning: aiohttp refuses WebSocket messages over %d bytes'
              % AIOHTTP_WS_MAX_MSG, file=sys.stderr)
    app_state = App(opts)
    app = web.Application()
    app_state.sio.attach(app)
    app.router.add_get('/control/{name}', app_state.control)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, dump_stats_and_quit, app_state)
    if not opts.ignore_stdin:
        watch_stdin(loop)

    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    sock = socket.socket(socket.AF_INET6 if ':' in opts.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((opts.host, opts.port))
    await web.SockSite(runner, sock).start()
    print('LISTENING %d' % sock.getsockname()[1], flush=True)
    await asyncio.Event().wait()


if __name__ == '__main__':
    try:
        asyncio.run(main())
    except OSError as e:
        print('server.py: %s' % e, file=sys.stderr)
        sys.exit(1)
