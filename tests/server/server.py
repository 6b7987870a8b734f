#!/usr/bin/python3
"""Debian's python-socketio (5.7.x, python-engineio 4.3.x) + aiohttp as a test
server for gst-socketio: the Python stack most users of the sink come from.

Same command line, "LISTENING <port>" line, stdin-EOF exit, "STATS <json>"
line on SIGTERM/SIGINT (then exit without telling the clients) and /control
API (same JSON field names) as server.js:

  /usr/bin/python3 server.py [--host 127.0.0.1] [--port 0] [--token T]
      [--ack-delay-ms N] [--no-ack] [--max-payload BYTES] [--event audio_data]
      [--payload-key audio_data] [--ping-interval MS] [--ping-timeout MS]
      [--record-header NAME]... [--ignore-stdin]

testserver.py holds what it shares with server_wsgi.py and server_flask.py.

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

import asyncio
import contextvars
import signal
import socket
import sys

import socketio
from aiohttp import web

import testserver

# Whether the event being handled carries an ack id. python-socketio does not
# tell the handler, so the overridden _handle_event_internal sets this in the
# handler task's own context.
WANTS_ACK = contextvars.ContextVar('wants_ack', default=False)

AIOHTTP_WS_MAX_MSG = 4 * 1024 * 1024


class SioServer(socketio.AsyncServer):
    """AsyncServer with the hooks this test server needs (as
    testserver.install_sync_hooks for the synchronous Server).

    They override private methods of python-socketio 5.7.2 (Debian 12); the
    signatures were checked against that version.
    """

    def __init__(self, app_state, **kwargs):
        super().__init__(**kwargs)
        self.app_state = app_state
        self.rec = app_state.recorder
        # python-engineio holds the bound methods it was given at init
        self.eio.on('connect', self._handle_eio_connect)
        self.eio.on('disconnect', self._handle_eio_disconnect)

    async def _handle_connect(self, eio_sid, namespace, data):
        namespace = namespace or '/'
        if namespace not in self.handlers:
            self.app_state.register_namespace(namespace)
        await super()._handle_connect(eio_sid, namespace, data)

    async def _handle_disconnect(self, eio_sid, namespace):
        namespace = namespace or '/'
        self.rec.hint_namespace_disconnect(
            self.manager.sid_from_eio_sid(eio_sid, namespace), eio_sid)
        await super()._handle_disconnect(eio_sid, namespace)

    async def _handle_eio_connect(self, eio_sid, environ):
        self.rec.record_handshake(eio_sid, environ)
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid):
        self.app_state.note_upgrades()
        self.rec.eio_closing.add(eio_sid)
        try:
            await super()._handle_eio_disconnect(eio_sid)
        finally:
            self.rec.eio_closing.discard(eio_sid)

    async def _handle_event(self, eio_sid, namespace, id, data):
        # in arrival order, before the handler task is created
        self.rec.record_event(eio_sid, data, id is not None)
        return await super()._handle_event(eio_sid, namespace, id, data)

    async def _handle_event_internal(self, server, sid, eio_sid, data,
                                     namespace, id):
        WANTS_ACK.set(id is not None)
        return await super()._handle_event_internal(server, sid, eio_sid,
                                                    data, namespace, id)


class App:
    def __init__(self, opts):
        self.opts = opts
        self.recorder = testserver.Recorder(opts, refresh=self.note_upgrades)
        self.sio = SioServer(
            self,
            async_mode='aiohttp',
            **testserver.server_options(opts))
        self.register_namespace('/')
        self.register_namespace('/audio')

    def note_upgrades(self):
        """python-engineio only flags an upgraded session: count the flags
        (at every snapshot and when a session ends)."""
        for eio_sid, s in list(self.sio.eio.sockets.items()):
            if s.upgraded:
                self.recorder.record_upgrade(eio_sid)

    # --- Socket.IO handlers ---------------------------------------------------

    def register_namespace(self, ns):
        sio = self.sio
        rec = self.recorder

        async def on_connect(sid, environ, auth=None):
            if not rec.join(sid, ns, auth):
                # client receives 44{"message":"Not authorized"}
                raise socketio.exceptions.ConnectionRefusedError('Not authorized')

        async def on_disconnect(sid):
            rec.leave(sid)

        async def on_audio(sid, *args):
            return await self.ack(sid)

        async def on_other(event, sid, *args):
            # Acked at once (if asked) whatever the ack config, as in
            # server.js; counted by SioServer._handle_event.
            return testserver.OK

        sio.on('connect', on_connect, namespace=ns)
        sio.on('disconnect', on_disconnect, namespace=ns)
        sio.on(self.opts.event, on_audio, namespace=ns)
        sio.on('*', on_other, namespace=ns)

    async def ack(self, sid):
        """The audio handler's return value: the ack, after the configured
        delay, held until /control/release with ack=0; nothing if the client
        asked for none or left meanwhile."""
        rec = self.recorder
        if not WANTS_ACK.get():
            return None  # no ack id: python-socketio sends nothing
        if rec.config['ack'] and rec.config['ackDelayMs'] == 0:
            rec.drop(rec.hold(sid), acked=True)
            return testserver.OK
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        entry = rec.hold(sid, lambda acked: fut.done() or fut.set_result(acked))
        if rec.config['ack']:
            entry['timer'] = loop.call_later(rec.config['ackDelayMs'] / 1000.0,
                                             rec.drop, entry, True)
        if await fut:
            return testserver.OK
        return self.sio.not_handled  # abandoned: suppresses the ack

    # --- control API ------------------------------------------------------------

    async def control(self, request):
        name = request.match_info['name']
        q = dict(request.query)
        r = self.recorder.control(name, q)
        if r is None and name == 'emit':
            event, args = self.recorder.parse_emit(q)
            if event is None:
                r = 400, args
            else:
                targets = self.recorder.targets()
                for sid, ns in targets:
                    # a tuple is sent as several arguments
                    await self.sio.emit(event, tuple(args), to=sid, namespace=ns)
                r = 200, {'sent': len(targets)}
        elif r is None:  # disconnect
            targets = self.recorder.targets()
            for sid, ns in targets:
                self.recorder.disconnect_hint[sid] = 'server namespace disconnect'
                await self.sio.disconnect(sid, namespace=ns)
            r = 200, {'disconnected': len(targets)}
        return web.json_response(r[1], status=r[0])

    @web.middleware
    async def post_sizes(self, request, handler):
        if request.method == 'POST' and request.path.startswith('/socket.io'):
            self.recorder.record_post(request.content_length or 0)
        return await handler(request)


async def main():
    opts = testserver.parse_args(__doc__.split('\n\n')[0])
    if opts.max_payload > AIOHTTP_WS_MAX_MSG:
        print('server.py: warning: aiohttp refuses WebSocket messages over %d bytes'
              % AIOHTTP_WS_MAX_MSG, file=sys.stderr)
    app_state = App(opts)
    app = web.Application(middlewares=[app_state.post_sizes])
    app_state.sio.attach(app)
    app.router.add_get('/control/{name}', app_state.control)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, testserver.dump_stats_and_quit,
                                app_state.recorder)
    if not opts.ignore_stdin:
        testserver.watch_stdin(lambda: loop.call_soon_threadsafe(testserver.quit_now))

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
