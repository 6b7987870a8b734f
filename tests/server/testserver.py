"""What the Python test servers share (server.py on aiohttp, server_wsgi.py
and server_flask.py in threading mode): the command line, the statistics
and their JSON field names (the same as server.js's), the held acks, the
/control API and the process lifecycle ("LISTENING <port>", exit on stdin
EOF, "STATS <json>" then exit on SIGTERM/SIGINT).

Threads: the WSGI servers call in from one thread per HTTP request and one
per event handler, server.py from its event loop; everything here is under
Recorder.lock, which is never held while calling out.
"""

import argparse
import bisect
import hashlib
import json
import logging
import os
import signal
import sys
import threading
import traceback
from urllib.parse import parse_qs

OK = {'ok': True}


def parse_args(description):
    p = argparse.ArgumentParser(description=description)
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
    p.add_argument('--record-header', action='append', default=[],
                   metavar='NAME', help='keep this header of every handshake')
    p.add_argument('--ignore-stdin', action='store_true',
                   help='do not exit when stdin reaches EOF')
    a = p.parse_args()
    if a.ack_delay_ms < 0 or a.max_payload < 0 or a.port < 0:
        p.error('negative values are not allowed')
    return a


def server_options(opts):
    """The python-socketio Server / AsyncServer options every Python
    server uses: any namespace, the Engine.IO limits and timers of the
    command line, no logs."""
    return dict(
        namespaces='*',
        max_http_buffer_size=opts.max_payload,
        ping_interval=opts.ping_interval / 1000.0,
        ping_timeout=opts.ping_timeout / 1000.0,
        cors_allowed_origins='*',
        logger=False,
        engineio_logger=False,
    )


def offered_transports(server):
    """What python-engineio can serve: WebSocket only with a WebSocket
    implementation for its async mode."""
    eio = server.eio
    return [t for t in eio.transports
            if t != 'websocket' or eio._async['websocket'] is not None]


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


def environ_header(environ, name):
    """A request header from a WSGI environ (or python-engineio's
    translation of an aiohttp request), None when absent."""
    key = name.upper().replace('-', '_')
    if key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
        return environ.get(key)
    return environ.get('HTTP_' + key)



def binary_as_hex(value):
    """@value with every bytes in it, however deep, as {'binary': hex}:
    what the stats can carry as JSON."""
    if isinstance(value, (bytes, bytearray)):
        return {'binary': value.hex()}
    if isinstance(value, dict):
        return {k: binary_as_hex(v) for k, v in value.items()}
    if isinstance(value, list):
        return [binary_as_hex(v) for v in value]
    return value

class Recorder:
    """Statistics, ack config, held acks and connected sockets."""

    def __init__(self, opts, extra_snapshot=None, refresh=None):
        self.opts = opts
        self.lock = threading.RLock()
        self.config = {'ackDelayMs': opts.ack_delay_ms, 'ack': not opts.no_ack}
        self.sockets = {}     # sid -> namespace, currently connected
        # Held acks: {'sid', 'wake', 'timer'}. Per entry so release can ack
        # them and a disconnect can forget them (see server.js).
        self.pending = []
        self.disconnect_hint = {}  # sid -> reason, read when it leaves
        self.eio_closing = set()   # Engine.IO sessions ending now
        self.extra_snapshot = extra_snapshot  # () -> more fields
        self.refresh = refresh     # called before every snapshot
        self.reset()

    def reset(self):
        with self.lock:
            self.hash = hashlib.sha256()
            self.stats = {
                'connections': 0,
                'namespaces': [],
                'auths': [],
                'rejected': 0,
                'events': 0,
                'bytes': 0,
                'maxAttachment': 0,
                'packets': 0,
                'packetSizeErrors': 0,
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
                # the last arguments of each other event; bytes as
                # {'binary': hex}
                'clientEventArgs': {},
                # Engine.IO connections by the transport they started on,
                # and upgrades; see server.js
                'transports': {'polling': 0, 'websocket': 0, 'upgraded': 0},
                'engineConnections': [],
                'handshakeHeaders': [],
                'websocketRefused': 0,  # WebSocket handshakes not served
                'posts': 0,
                'maxPostBytes': 0,
                'oversizedPosts': 0,
            }

    # --- what the Socket.IO hooks report ----------------------------------

    def record_event(self, eio_sid, data, wants_ack):
        """A client event, called in arrival order (before python-socketio
        hands it to a handler task or thread, which may run in any order)."""
        name = data[0] if data else None
        payload = data[1] if len(data) > 1 else None
        with self.lock:
            st = self.stats
            if name != self.opts.event:
                c = st['clientEvents']
                c[name] = c.get(name, 0) + 1
                st['clientEventArgs'][name] = [binary_as_hex(a)
                                               for a in data[1:]]
                return
            if not wants_ack:
                st['eventsWithoutAck'] += 1
            blob = payload.get(self.opts.payload_key) if isinstance(payload, dict) else None
            if not isinstance(blob, (bytes, bytearray)):
                st['badPayloads'] += 1
                return
            st['events'] += 1
            st['bytes'] += len(blob)
            self.hash.update(blob)
            st['maxAttachment'] = max(st['maxAttachment'], len(blob))
            sizes = payload.get('packet_sizes')
            if isinstance(sizes, list):
                st['packets'] += len(sizes)
                if sum(sizes) != len(blob):
                    st['packetSizeErrors'] += 1
            else:
                st['packets'] += 1
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
                    ('seq', 'pts', 'duration', 'format', 'rate', 'channels',
                     'packet_sizes')}
            last['size'] = len(blob)
            st['last'] = last

    def record_handshake(self, eio_sid, environ, websocket_available=True):
        """An Engine.IO session opens (python-socketio's eio connect)."""
        query = parse_qs(environ.get('QUERY_STRING', ''))
        transport = query.get('transport', ['polling'])[0]
        with self.lock:
            st = self.stats
            if transport == 'websocket' and not websocket_available:
                # python-engineio opens the session, then answers 400
                st['websocketRefused'] += 1
                return
            if transport not in st['transports']:
                return
            st['transports'][transport] += 1
            st['engineConnections'].append(
                {'sid': eio_sid, 'transport': transport, 'upgraded': False})
            names = ['user-agent', 'cookie'] + [h.lower() for h in self.opts.record_header]
            st['handshakeHeaders'].append(
                {n: environ_header(environ, n) for n in names})

    def record_upgrade(self, eio_sid):
        """A session that started on polling now runs on WebSocket; may be
        called again for the same session."""
        with self.lock:
            for c in self.stats['engineConnections']:
                if c['sid'] == eio_sid and c['transport'] == 'polling':
                    c['upgraded'] = True
                    c['transport'] = 'websocket'
                    self.stats['transports']['upgraded'] += 1

    def record_post(self, size):
        with self.lock:
            st = self.stats
            st['posts'] += 1
            st['maxPostBytes'] = max(st['maxPostBytes'], size)
            if size > self.opts.max_payload:
                st['oversizedPosts'] += 1

    def join(self, sid, ns, auth):
        """A namespace join; returns False if refused (token)."""
        auth = auth if auth is not None else {}
        with self.lock:
            st = self.stats
            st['auths'].append(auth)
            token = self.opts.token
            if token is not None and (not isinstance(auth, dict)
                                      or auth.get('token') != token):
                st['rejected'] += 1
                return False
            self.sockets[sid] = ns
            st['connections'] += 1
            st['namespaces'].append(ns)
            return True

    def hint_namespace_disconnect(self, sid, eio_sid):
        """python-socketio ends a namespace session: why, as socket.io
        would say (python-socketio 5.7 does not tell)."""
        with self.lock:
            if sid is not None and sid not in self.disconnect_hint:
                self.disconnect_hint[sid] = ('transport close'
                                             if eio_sid in self.eio_closing
                                             else 'client namespace disconnect')

    def leave(self, sid):
        with self.lock:
            self.sockets.pop(sid, None)
            reason = self.disconnect_hint.pop(sid, 'unknown')
            self.stats['disconnectReasons'].append(reason)
            gone = [e for e in self.pending if e['sid'] == sid]
        for entry in gone:
            self.drop(entry, acked=False)

    # --- held acks ----------------------------------------------------------

    def hold(self, sid, wake=None):
        """One more ack outstanding; wake(acked) is called when it is dropped."""
        entry = {'sid': sid, 'wake': wake, 'timer': None}
        with self.lock:
            self.pending.append(entry)
            st = self.stats
            st['maxPending'] = max(st['maxPending'], len(self.pending))
        return entry

    def drop(self, entry, acked):
        """Take entry off the pending list: ack it, or forget it (client gone)."""
        with self.lock:
            try:
                self.pending.remove(entry)
            except ValueError:
                return
            if entry['timer'] is not None:
                entry['timer'].cancel()
            self.stats['acks' if acked else 'abandonedAcks'] += 1
        if entry['wake'] is not None:
            entry['wake'](acked)

    # --- control API --------------------------------------------------------

    def snapshot(self):
        if self.refresh is not None:
            self.refresh()
        with self.lock:
            s = json.loads(json.dumps(self.stats))  # a deep copy
            s['connected'] = len(self.sockets)
            s['pending'] = len(self.pending)
            s['sha256'] = self.hash.copy().hexdigest()
            s['config'] = dict(self.config)
        if self.extra_snapshot is not None:
            s.update(self.extra_snapshot())
        return s

    def targets(self):
        with self.lock:
            return list(self.sockets.items())

    def control(self, name, query):
        """The control paths every Python server answers alike; query maps
        names to strings. Returns (status, object), or None for the paths
        the server itself handles (emit, disconnect)."""
        if name == 'stats':
            return 200, self.snapshot()
        if name == 'config':
            try:
                with self.lock:
                    if 'ackDelayMs' in query:
                        n = int(query['ackDelayMs'])
                        if n < 0:
                            raise ValueError
                        self.config['ackDelayMs'] = n
                    if 'ack' in query:
                        if query['ack'] not in ('0', '1'):
                            raise ValueError
                        self.config['ack'] = query['ack'] == '1'
                    return 200, dict(self.config)
            except ValueError:
                return 400, {'error': 'bad ackDelayMs or ack'}
        if name == 'release':
            with self.lock:
                held = list(self.pending)
            for entry in held:
                self.drop(entry, acked=True)
            return 200, {'released': len(held)}
        if name == 'reset':
            self.reset()
            return 200, {'ok': True}
        if name in ('emit', 'disconnect'):
            return None
        return 404, {'error': 'not found'}

    @staticmethod
    def parse_emit(query):
        """(event, args) of /control/emit, or (None, error object)."""
        event = query.get('event')
        try:
            args = json.loads(query.get('args', '[]'))
        except ValueError as e:
            return None, {'error': 'bad args: %s' % e}
        if not event or not isinstance(args, list):
            return None, {'error': 'need event and a JSON array in args'}
        return event, args


# --- the synchronous python-socketio servers (threading mode) ---------------

class _AckContext(threading.local):
    wants_ack = False


_ACK_CONTEXT = _AckContext()


def install_sync_hooks(server, recorder, register_namespace):
    """Wraps private methods of a python-socketio 5.7.2 socketio.Server
    (signatures checked against Debian 12's version), as server.py's
    SioServer does for the AsyncServer: any namespace is accepted, events
    are recorded in arrival order, the handler knows whether an ack was
    asked, disconnect reasons are inferred, handshakes are recorded."""
    orig = {n: getattr(server, n) for n in (
        '_handle_connect', '_handle_disconnect', '_handle_eio_connect',
        '_handle_eio_disconnect', '_handle_event', '_handle_event_internal')}
    websocket = server.eio._async['websocket'] is not None

    def handle_connect(eio_sid, namespace, data):
        namespace = namespace or '/'
        if namespace not in server.handlers:
            register_namespace(namespace)
        return orig['_handle_connect'](eio_sid, namespace, data)

    def handle_disconnect(eio_sid, namespace):
        namespace = namespace or '/'
        recorder.hint_namespace_disconnect(
            server.manager.sid_from_eio_sid(eio_sid, namespace), eio_sid)
        return orig['_handle_disconnect'](eio_sid, namespace)

    def handle_eio_connect(eio_sid, environ):
        recorder.record_handshake(eio_sid, environ, websocket)
        return orig['_handle_eio_connect'](eio_sid, environ)

    def handle_eio_disconnect(eio_sid):
        with recorder.lock:
            recorder.eio_closing.add(eio_sid)
        try:
            return orig['_handle_eio_disconnect'](eio_sid)
        finally:
            with recorder.lock:
                recorder.eio_closing.discard(eio_sid)

    def handle_event(eio_sid, namespace, id, data):
        recorder.record_event(eio_sid, data, id is not None)
        return orig['_handle_event'](eio_sid, namespace, id, data)

    def handle_event_internal(srv, sid, eio_sid, data, namespace, id):
        _ACK_CONTEXT.wants_ack = id is not None
        return orig['_handle_event_internal'](srv, sid, eio_sid, data,
                                              namespace, id)

    server._handle_connect = handle_connect
    server._handle_disconnect = handle_disconnect
    server._handle_eio_connect = handle_eio_connect
    server._handle_eio_disconnect = handle_eio_disconnect
    # python-engineio holds the bound methods it was given at init
    server.eio.on('connect', handle_eio_connect)
    server.eio.on('disconnect', handle_eio_disconnect)
    server._handle_event = handle_event
    server._handle_event_internal = handle_event_internal


def sync_ack(server, recorder, sid):
    """The audio handler's return value in threading mode: the ack, after
    the configured delay, held until /control/release with ack=0; nothing
    if the client asked for none or left meanwhile. Blocks the handler's
    thread (python-socketio runs one per event)."""
    if not _ACK_CONTEXT.wants_ack:
        return None  # no ack id: python-socketio sends nothing
    with recorder.lock:
        ack, delay = recorder.config['ack'], recorder.config['ackDelayMs']
    if ack and delay == 0:
        recorder.drop(recorder.hold(sid), acked=True)
        return OK
    done = threading.Event()
    result = []
    entry = recorder.hold(sid, lambda acked: (result.append(acked), done.set()))
    if ack:
        timer = threading.Timer(delay / 1000.0, recorder.drop, (entry, True))
        timer.daemon = True
        with recorder.lock:
            if entry in recorder.pending:
                entry['timer'] = timer
                timer.start()
    done.wait()
    return OK if result[0] else server.not_handled  # abandoned: no ack


def sync_control(server, recorder, name, query):
    """(status, object) of a /control path, for a socketio.Server."""
    r = recorder.control(name, query)
    if r is not None:
        return r
    if name == 'emit':
        event, args = recorder.parse_emit(query)
        if event is None:
            return 400, args
        targets = recorder.targets()
        for sid, ns in targets:
            # a tuple is sent as several arguments
            server.emit(event, tuple(args), to=sid, namespace=ns)
        return 200, {'sent': len(targets)}
    targets = recorder.targets()  # disconnect
    for sid, ns in targets:
        with recorder.lock:
            recorder.disconnect_hint[sid] = 'server namespace disconnect'
        server.disconnect(sid, namespace=ns)
    return 200, {'disconnected': len(targets)}


class PostSizes:
    """WSGI middleware: the body size (Content-Length, which python-engineio
    reads whole) of every POST to the Engine.IO path."""

    def __init__(self, app, recorder, path='/socket.io'):
        self.app = app
        self.recorder = recorder
        self.path = path

    def __call__(self, environ, start_response):
        if environ.get('REQUEST_METHOD') == 'POST' and \
                environ.get('PATH_INFO', '').startswith(self.path):
            try:
                self.recorder.record_post(int(environ.get('CONTENT_LENGTH') or 0))
            except ValueError:
                pass
        try:
            return self.app(environ, start_response)
        except Exception:
            # on stderr whatever the loggers say: a test must show why
            traceback.print_exc()
            raise


# --- lifecycle --------------------------------------------------------------

def quit_now():
    # No graceful shutdown: a test server must go away at once.
    try:
        sys.stdout.flush()
    except OSError:
        pass
    os._exit(0)


def dump_stats_and_quit(recorder):
    """SIGTERM/SIGINT: one "STATS <json>" line, then exit at once without
    a DISCONNECT to anyone: clients see a transport close, as after a crash,
    and reconnect. Same as server.js."""
    try:
        sys.stdout.write('STATS %s\n' % json.dumps(recorder.snapshot()))
    except (OSError, ValueError):
        pass  # stdout closed: nobody wants the stats
    quit_now()


def watch_stdin(on_eof):
    # A thread, because stdin may be a pipe, a file, /dev/null or a tty.
    def run():
        try:
            while os.read(sys.stdin.fileno(), 65536):
                pass
        except OSError:
            pass
        on_eof()
    threading.Thread(target=run, daemon=True).start()


def serve_wsgi(app_class, doc, name):
    """The main of a WSGI server: parses the command line (doc's first
    paragraph for --help), makes app_class(opts) (with .recorder and .wsgi)
    and serves its WSGI app on Werkzeug's threaded server (the server
    python-socketio's docs name for threading mode, and the one
    Flask-SocketIO's run() uses there: werkzeug.serving.run_simple with
    threaded=True, i.e. this make_server, minus banner and reloader),
    after the LISTENING line; never returns."""
    from werkzeug.serving import make_server

    opts = parse_args(doc.split('\n\n')[0])
    state = app_class(opts)
    recorder, app = state.recorder, state.wsgi

    # no line per request on stderr
    logging.getLogger('werkzeug').setLevel(logging.ERROR)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: dump_stats_and_quit(recorder))
    if not opts.ignore_stdin:
        watch_stdin(quit_now)
    try:
        # Werkzeug's server sets SO_REUSEADDR (http.server.HTTPServer)
        srv = make_server(opts.host, opts.port, app, threaded=True)
    except (OSError, SystemExit) as e:
        print('%s: cannot listen on port %d: %s' % (name, opts.port, e),
              file=sys.stderr)
        sys.exit(1)
    print('LISTENING %d' % srv.server_port, flush=True)
    srv.serve_forever()
