#!/usr/bin/python3
"""Debian's Flask-SocketIO (5.3.x, on python-socketio 5.7 and Flask 2.2) in
its default mode, as its users run it: SocketIO(app) with no async_mode.
With only its Debian 12 dependencies installed (no eventlet, no gevent) it
picks async_mode 'threading', and without simple-websocket it offers
long-polling only: the handshake announces no upgrade and a WebSocket
handshake is answered HTTP 400 "Bad Request", as in server_wsgi.py. The
"asyncMode" and "offeredTransports" stats fields say what it chose.

It is served by Werkzeug's threaded server, which is what SocketIO.run()
does in threading mode (app.run(threaded=True), i.e. werkzeug's
run_simple, here its make_server without banner and reloader, so that
--port 0 can be reported).

Its command line, output, lifecycle and /control API are those of
server_wsgi.py (and server.js).

Differences from server.js: those of server_wsgi.py (polling only, one
thread per event handler, an oversized POST closes the session and is never
answered, no maxPayload in the handshake, inferred disconnect reasons, no
/control/drop), and:
- Connect, disconnect and audio handlers are Flask-SocketIO's (they run in
  a Flask request context, the sid in flask.request.sid). The catch-all
  handler for other events is registered on the python-socketio server
  underneath: Flask-SocketIO 5.3's on('*') wrapper takes the event name for
  the sid with python-socketio 5.7 and acks with ["", 400].
"""

import json

import flask
import flask_socketio

import testserver


class App:
    def __init__(self, opts):
        self.opts = opts
        self.flask = flask.Flask(__name__)
        # no async_mode: Flask-SocketIO's default
        self.ext = flask_socketio.SocketIO(self.flask,
                                           **testserver.server_options(opts))
        self.sio = self.ext.server  # the python-socketio Server
        self.recorder = testserver.Recorder(opts, lambda: {
            'asyncMode': self.ext.async_mode,
            'offeredTransports': testserver.offered_transports(self.sio),
        })
        testserver.install_sync_hooks(self.sio, self.recorder,
                                      self.register_namespace)
        self.register_namespace('/')
        self.register_namespace('/audio')
        self.flask.add_url_rule('/control/<name>', 'control', self.control)
        self.wsgi = testserver.PostSizes(self.flask, self.recorder)

    def register_namespace(self, ns):
        rec = self.recorder
        sio = self.sio

        def on_connect(auth=None):
            if not rec.join(flask.request.sid, ns, auth):
                # client receives 44{"message":"Not authorized"}
                raise flask_socketio.ConnectionRefusedError('Not authorized')

        def on_disconnect():
            rec.leave(flask.request.sid)

        def on_audio(*args):
            return testserver.sync_ack(sio, rec, flask.request.sid)

        self.ext.on_event('connect', on_connect, namespace=ns)
        self.ext.on_event('disconnect', on_disconnect, namespace=ns)
        self.ext.on_event(self.opts.event, on_audio, namespace=ns)
        # any other event: acked at once (a barrier), counted by the hooks
        sio.on('*', lambda event, sid, *args: testserver.OK, namespace=ns)

    def control(self, name):
        status, obj = testserver.sync_control(
            self.sio, self.recorder, name, flask.request.args.to_dict())
        return flask.Response(json.dumps(obj), status=status,
                              mimetype='application/json',
                              headers={'Cache-Control': 'no-store'})


if __name__ == '__main__':
    testserver.serve_wsgi(App, __doc__, 'server_flask.py')
