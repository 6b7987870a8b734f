#!/usr/bin/python3
# gst-socketio
# Copyright (C) 2026 gst-socketio contributors
#
# This library is free software; you can redistribute it and/or
# modify it under the terms of the GNU Library General Public
# License as published by the Free Software Foundation; either
# version 2.1 of the License, or (at your option) any later version.
"""socketiosink's emit action signal and server-event from Python
(PyGObject), against tests/server/server.js: what docs/talking-to-the-server.md
shows. Exits non-zero on failure."""

import json
import os
import subprocess
import sys
import time
import urllib.request

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

SERVER_DIR = os.environ['SIO_TEST_SERVER_DIR']


def start_server():
    # a pipe on its stdin: the server exits with us
    server = subprocess.Popen(
        ['node', os.path.join(SERVER_DIR, 'server.js'), '--port', '0'],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline().split()
    assert line[:1] == ['LISTENING'], line
    return server, int(line[1])


def control(port, path):
    url = f'http://127.0.0.1:{port}/control/{path}'
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.load(reply)


def wait_for(predicate, what, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f'timed out waiting for {what}')


def next_element_message(bus, prefix):
    while True:
        msg = bus.timed_pop_filtered(10 * Gst.SECOND, Gst.MessageType.ELEMENT |
                                     Gst.MessageType.ERROR)
        assert msg is not None, f'no {prefix} message'
        if msg.type == Gst.MessageType.ERROR:
            raise AssertionError(msg.parse_error())
        if msg.get_structure().get_name().startswith(prefix):
            return msg.get_structure()


def main():
    Gst.init(None)
    server, port = start_server()
    try:
        pipeline = Gst.parse_launch(
            'audiotestsrc is-live=true samplesperbuffer=1600 ! '
            'audio/x-raw,format=S16LE,rate=16000,channels=1 ! '
            f'socketiosink name=sink location=http://127.0.0.1:{port}')
        sink = pipeline.get_by_name('sink')
        bus = pipeline.get_bus()
        heard = []
        # network thread: only note it, never block here
        sink.connect('server-event',
                     lambda element, name, args_json:
                     heard.append((name, args_json)))
        pipeline.set_state(Gst.State.PLAYING)
        wait_for(lambda: control(port, 'stats')['events'] > 0, 'audio')

        emit_id = sink.emit('emit', 'command', '[{"op": "stop"}, 2]',
                            GLib.Bytes.new(b'\x00\x01\xff'), True)
        assert emit_id == 1, emit_id
        ack = next_element_message(bus, 'socketio-emit-')
        assert ack.get_name() == 'socketio-emit-ack', ack.to_string()
        assert ack.get_value('id') == emit_id
        assert ack.get_string('event') == 'command'
        assert json.loads(ack.get_string('args')) == [{'ok': True}]
        args = wait_for(
            lambda: control(port, 'stats')['clientEventArgs'].get('command'),
            'the command at the server')
        assert args == [{'op': 'stop'}, 2, {'binary': '0001ff'}], args

        # refused: invalid JSON gives 0 and a warning naming args_json
        assert sink.emit('emit', 'command', '[1,', None, False) == 0
        warning = bus.timed_pop_filtered(5 * Gst.SECOND,
                                         Gst.MessageType.WARNING)
        assert warning is not None and 'args_json' in \
            warning.parse_warning()[0].message

        control(port, 'emit?event=transcript&args=%5B%22hello%22%5D')
        event = next_element_message(bus, 'socketio-event')
        assert event.get_string('name') == 'transcript'
        assert event.get_string('args') == '["hello"]'
        assert heard == [('transcript', '["hello"]')], heard

        pipeline.set_state(Gst.State.NULL)
    finally:
        server.stdin.close()
        server.wait(timeout=10)
    print('emit.py: ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
