#!/usr/bin/python3
"""Debian's python-socketio (5.7.x, python-engineio 4.3.x) as a WSGI app
(socketio.WSGIApp) in threading mode (async_mode='threading') on Werkzeug's
threaded WSGI server: the deployment python-socketio's documentation gives
for standard threads. Debian 12 has no simple-websocket, so python-engineio
offers long-polling only: the handshake announces no upgrade, and a
WebSocket handshake is answered HTTP 400, body "Bad Request" (a JSON string), after
python-engineio has opened (and then abandoned) a session for it.

Same command line, "LISTENING <port>" line, stdin-EOF exit, "STATS <json>"
line on SIGTERM/SIGINT (then exit without telling the clients) and /control
API (same JSON field names) as server.js and server.py (testserver.py holds
what they share):

  /usr/bin/python3 server_wsgi.py [--host 127.0.0.1] [--port 0] [--token T]
      [--ack-delay-ms N] [--no-ack] [--max-payload BYTES] [--event audio_data]
      [--payload-key audio_data] [--ping-interval MS] [--ping-timeout MS]
      [--record-header NAME]... [--ignore-stdin]

Differences from server.js, all due to python-socketio 5.7 / python-engineio
4.3 in threading mode:
- Polling only (see above); "transports" never counts an upgrade, and
  "websocketRefused" counts the WebSocket handshakes answered 400.
- Every event handler runs in a thread of its own (async_handlers, the
  default); a held ack is such a thread blocked until the ack delay passes
  or /control/release. Events are counted and hashed before that, in
  arrival order.
- A POST over --max-payload gets HTTP 400 (not 413) and python-engineio
  closes the session; "maxPostBytes" is the Content-Length of the largest.
- The handshake does not announce maxPayload (python-engineio 4.3.4).
- Disconnect reasons are inferred as in server.py; no /control/drop (kill
  and restart the server instead); /control/disconnect sends 41 but does
  not end the Engine.IO session.
"""

import json

import socketio

import testserver


class App:
    def __init__(self, opts):
        self.opts = opts
        self.sio = socketio.Server(async_mode='threading',
                                   **testserver.server_options(opts))
        self.recorder = testserver.Recorder(opts, lambda: {
            'asyncMode': self.sio.async_mode,
            'offeredTransports': testserver.offered_transports(self.sio),
        })
        testserver.install_sync_hooks(self.sio, self.recorder,
                                      self.register_namespace)
        self.register_namespace('/')
        self.register_namespace('/audio')
        self.wsgi = testserver.PostSizes(
            socketio.WSGIApp(self.sio, self.control_app), self.recorder)

    def register_namespace(self, ns):
        sio = self.sio
        rec = self.recorder

        def on_connect(sid, environ, auth=None):
            if not rec.join(sid, ns, auth):
                # client receives 44{"message":"Not authorized"}
                raise socketio.exceptions.ConnectionRefusedError('Not authorized')

        def on_audio(sid, *args):
            return testserver.sync_ack(sio, rec, sid)

        sio.on('connect', on_connect, namespace=ns)
        sio.on('disconnect', rec.leave, namespace=ns)
        sio.on(self.opts.event, on_audio, namespace=ns)
        # any other event: acked at once (a barrier), counted by the hooks
        sio.on('*', lambda event, sid, *args: testserver.OK, namespace=ns)

    def control_app(self, environ, start_response):
        """What socketio.WSGIApp does not serve itself."""
        path = environ.get('PATH_INFO', '')
        status, obj = 404, {'error': 'not found'}
        if environ.get('REQUEST_METHOD') == 'GET' and path.startswith('/control/'):
            query = {k: v[-1] for k, v in
                     testserver.parse_qs(environ.get('QUERY_STRING', '')).items()}
            status, obj = testserver.sync_control(self.sio, self.recorder,
                                                  path[len('/control/'):], query)
        body = json.dumps(obj).encode()
        start_response('%d %s' % (status, 'OK' if status == 200 else 'Error'), [
            ('Content-Type', 'application/json'),
            ('Content-Length', str(len(body))),
            ('Cache-Control', 'no-store'),
        ])
        return [body]


if __name__ == '__main__':
    testserver.serve_wsgi(App, __doc__, 'server_wsgi.py')
