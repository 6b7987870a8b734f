#!/usr/bin/python3
"""A Flask-SocketIO server that writes the audio it receives to a WAV file.

    server_flask.py [--host 127.0.0.1] [--port 5000] [--wav out.wav]
                    [--event audio_data] [--no-fill-gaps]

Debian 12: python3-flask-socketio (5.3). In its default mode, with Debian's
packages only (no eventlet, gevent or simple-websocket), Flask-SocketIO
offers long-polling only: socketiosink's default transports=auto falls back
to it by itself.

Same interface as server_python.py: "LISTENING <port>" once it accepts
connections, the WAV file (wav_recorder.py) complete after every write and
closed on SIGINT/SIGTERM, acks after writing, replays dropped by
(stream_id, seq), gaps logged and, when the sink reports them, filled with
silence (--no-fill-gaps: only logged).
"""

import logging
import os
import signal

import flask
import flask_socketio
from werkzeug.serving import make_server

import wav_recorder

args = wav_recorder.parse_args()

recorder = wav_recorder.WavRecorder(args.wav, fill_gaps=args.fill_gaps)
app = flask.Flask(__name__)
# async_handlers=False: one event at a time, in the order they arrived (the
# default runs each in a thread of its own); always_connect: accept the
# client before connect() runs, so that it may emit to it
socketio = flask_socketio.SocketIO(app, async_handlers=False,
                                   always_connect=True)


@socketio.on('connect')
def connect(auth=None):
    print(f'client {flask.request.sid} connected', flush=True)
    flask_socketio.emit('recording', {'wav': args.wav})


@socketio.on('disconnect')
def disconnect():
    print(f'client {flask.request.sid} disconnected', flush=True)


@socketio.on(args.event)
def audio(msg):
    recorder.on_audio(msg)
    # returning acknowledges, after writing: the client frees the audio
    return None


def stop(signum, frame):
    recorder.close()
    # os._exit: no interpreter teardown, which can crash (SIGSEGV, seen with
    # Python 3.11) while Werkzeug's and python-engineio's threads still run
    os._exit(0)


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)
# What socketio.run(app) does in this mode, but with the port reported:
# Werkzeug's threaded server.
logging.getLogger('werkzeug').setLevel(logging.WARNING)  # no request log
server = make_server(args.host, args.port, app, threaded=True)
print(f'LISTENING {server.port}', flush=True)
server.serve_forever()
