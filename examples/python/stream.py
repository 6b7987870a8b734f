#!/usr/bin/python3
"""Stream audio into a Socket.IO server with gst-socketio, from Python.

    stream.py --location http://127.0.0.1:5000          # microphone (pulsesrc)
    stream.py --location http://127.0.0.1:5000 --tone   # a live 440 Hz tone
    stream.py --location http://127.0.0.1:5000 --file speech.wav
    stream.py ... --seconds 10                          # stop after 10 s

Needs Debian's python3-gi and gir1.2-gstreamer-1.0, and the plugin: installed,
or found through GST_PLUGIN_PATH=build/gst/socketio from a build tree.

It replaces this loop, which many applications run:

    import numpy as np, pyaudio, socketio

    sio = socketio.Client()
    sio.connect("http://127.0.0.1:5000")                      # (1)
    pa = pyaudio.PyAudio()
    mic = pa.open(format=pyaudio.paInt16, channels=1, rate=16000,
                  input=True, frames_per_buffer=1024)         # (2)
    while True:
        chunk = np.frombuffer(mic.read(1024), dtype=np.int16) # (3)
        sio.emit("audio_data", {"audio_data": chunk.tobytes()})  # (4)

(4) returns as soon as the event is queued: when the server or the network is
slower than the microphone, python-socketio's queue grows without bound, and
whatever it held is gone with a lost connection. Here:

    (2) pulsesrc ! audioconvert ! audioresample
        ! audio/x-raw,format=S16LE,rate=16000,channels=1
    (3) ! leakyframepool frame-samples=1024   frames of 1024 samples from a
                                              fixed pool: it drops (and
                                              counts) instead of growing
    (4) ! ackqueue                            keeps what the server has not
                                              acknowledged, replays it after
                                              a reconnection
    (1) ! socketiosink location=...           the Socket.IO client: the same
                                              "audio_data" event, plus seq,
                                              pts, duration, format, rate,
                                              channels; waits for the acks

The server receives {"audio_data": <bytes>, "seq": 0, "pts": 0,
"duration": 64000000, "format": "S16LE", "rate": 16000, "channels": 1} (and
"replay": true on audio sent again after a reconnection) and must ack it:
return a value from a python-socketio handler, call ack() in socket.io.
server_python.py, server_flask.py and server_node.js here do, and write what
they receive to a WAV file.

Exit status: 0 once the stream ended (EOS), 1 after an error, 2 for a bad
command line.
"""

import argparse
import json
import signal
import sys
import time

import gi

gi.require_version('Gst', '1.0')
from gi.repository import GLib, Gst  # noqa: E402

# The shape of the stream: what the old loop opened the microphone with.
CAPS = 'audio/x-raw,format=S16LE,rate=16000,channels=1'


def parse_args():
    parser = argparse.ArgumentParser(
        description='Stream audio into a Socket.IO server.')
    parser.add_argument('--location', required=True,
                        help='server URL, e.g. http://127.0.0.1:5000')
    parser.add_argument('--seconds', type=float, default=0,
                        help='stop (EOS) after this long; 0: until Ctrl-C '
                        'or the end of --file')
    source = parser.add_mutually_exclusive_group()
    source.add_argument('--tone', action='store_true',
                        help='a live 440 Hz test tone instead of pulsesrc')
    source.add_argument('--file', metavar='PATH',
                        help='a WAV file instead of pulsesrc')
    return parser.parse_args()


def pipeline_description(args):
    if args.file:
        # A file is not live: nothing is lost by making it wait, so the pool
        # and the queue block instead of dropping, and the file streams as
        # fast as the server acknowledges. Its last frame is sent short, as
        # the file has it, not padded with silence.
        return ('filesrc name=src ! wavparse ! audioconvert ! audioresample'
                f' ! {CAPS} ! leakyframepool name=pool leaky=no'
                ' pad-last-frame=false ! ackqueue name=queue'
                ' ! socketiosink name=sink')
    capture = 'audiotestsrc is-live=true freq=440' if args.tone else 'pulsesrc'
    # A live source cannot wait: when the server is slow or away, ackqueue
    # drops its oldest audio (48 frames, 3 s, kept for replay), and the pool
    # (64 frames) drops new audio only if that is not enough.
    return (f'{capture} ! audioconvert ! audioresample ! {CAPS}'
            ' ! leakyframepool name=pool frame-samples=1024 max-frames=64'
            ' ! ackqueue name=queue max-size-buffers=48 leaky=downstream'
            ' ! socketiosink name=sink')


class Streamer:
    def __init__(self, args):
        self.args = args
        self.loop = GLib.MainLoop()
        self.status = 0
        self.stopping = False
        self.started = time.monotonic()

        self.pipeline = Gst.parse_launch(pipeline_description(args))
        # Properties set from Python, not written into the launch line, need
        # no quoting (a path with spaces, a URL with '&').
        if args.file:
            self.pipeline.get_by_name('src').set_property('location',
                                                          args.file)
        self.sink = self.pipeline.get_by_name('sink')
        self.sink.set_property('location', args.location)
        self.pool = self.pipeline.get_by_name('pool')
        self.queue = self.pipeline.get_by_name('queue')

        bus = self.pipeline.get_bus()
        bus.add_signal_watch()  # bus messages become "message" signals here
        bus.connect('message', self.on_message)
        self.sink.connect('server-event', self.on_server_event)

    # --- stats: each element's "stats" property is a Gst.Structure -------

    def print_stats(self, prefix=''):
        # get_property('stats') returns a fresh snapshot; get_value(field)
        # gives the field as a Python value (int, bool, str). Every field is
        # listed by `gst-inspect-1.0 socketiosink` (ackqueue, leakyframepool).
        sink = self.sink.get_property('stats')
        queue = self.queue.get_property('stats')
        pool = self.pool.get_property('stats')
        rtt_ms = sink.get_value('ack-rtt-mean') / Gst.MSECOND
        print(f'{prefix}{time.monotonic() - self.started:5.1f}s'
              f" {'connected' if sink.get_value('connected') else 'down':9}"
              f" {sink.get_value('transport'):9}"
              f" emitted {sink.get_value('emitted'):5}"
              f" acked {sink.get_value('acked'):5}"
              f" in-flight {sink.get_value('in-flight'):2}"
              f' rtt {rtt_ms:6.2f} ms'
              f" audio {sink.get_value('audio-bytes')} B"
              f" lost {sink.get_value('lost')}"
              f" reconnects {sink.get_value('reconnects')}"
              f" | retained {queue.get_value('retained-buffers')}"
              f" replayed {queue.get_value('replayed-buffers')}"
              f" dropped {queue.get_value('dropped-buffers')}"
              f" | frames {pool.get_value('frames-out')}"
              f" samples-dropped {pool.get_value('samples-dropped')}",
              flush=True)

    def on_tick(self):
        self.print_stats()
        if (self.args.seconds > 0 and
                time.monotonic() - self.started >= self.args.seconds):
            self.stop()
        return GLib.SOURCE_CONTINUE

    # --- stopping: Ctrl-C -> EOS -> wait for EOS on the bus -> NULL -------

    def stop(self):
        """EOS makes the sink send what it batched and wait for the last
        acks (at most its ack-timeout), so the server has everything
        before we leave: the old loop's sio.disconnect() dropped its queue.
        """
        if self.stopping:
            return
        self.stopping = True
        print('stopping: EOS, waiting for the last acknowledgements',
              flush=True)
        self.pipeline.send_event(Gst.Event.new_eos())

    def on_signal(self):
        if self.stopping:  # a second Ctrl-C: leave now, without the acks
            print('stopping now', flush=True)
            self.status = 1
            self.loop.quit()
        else:
            self.stop()
        return GLib.SOURCE_CONTINUE

    # --- the bus -----------------------------------------------------------

    def on_message(self, bus, message):
        kind = message.type
        if kind == Gst.MessageType.ERROR:
            print_error(message)
            self.status = 1
            self.loop.quit()
        elif kind == Gst.MessageType.WARNING:
            error, _debug = message.parse_warning()
            print(f'warning from {message.src.get_name()}: {error.message}',
                  file=sys.stderr)
        elif kind == Gst.MessageType.EOS:
            self.print_stats('final ')
            self.loop.quit()
        elif kind == Gst.MessageType.QOS:
            # leakyframepool and ackqueue post one per run of drops:
            # (format, processed, dropped) so far.
            _format, processed, dropped = message.parse_qos_stats()
            print(f'{message.src.get_name()} dropped audio: {dropped} dropped'
                  f' / {processed} processed', flush=True)
        elif kind == Gst.MessageType.ELEMENT:
            self.on_element_message(message.get_structure())

    def on_element_message(self, s):
        """socketiosink's element messages (see gstsocketiosink.c):

        socketio-connected, socketio-reconnected
            location (str, without query), namespace (str), max-payload
            (int, the server's maxPayload, 0 if not announced), reconnects
            (int, so far), lost (int, events the old connection took down
            that nothing will replay: 0 with an ackqueue)
        socketio-disconnected
            location, clean (bool: closed on purpose, no error),
            reconnecting (bool: the sink is trying again), reason (str)
        socketio-event (an event the server sent this client)
            namespace, name (str), args (str: the JSON array of the
            arguments after the name, as the server wrote them),
            attachments (Gst.BufferList, binary events only)
        """
        name = s.get_name()
        if name in ('socketio-connected', 'socketio-reconnected'):
            print(f"{name[9:]} to {s.get_value('location')}"
                  f" namespace {s.get_value('namespace')}"
                  f" max-payload {s.get_value('max-payload')}"
                  f" reconnects {s.get_value('reconnects')}"
                  f" lost {s.get_value('lost')}", flush=True)
        elif name == 'socketio-disconnected':
            print(f"disconnected from {s.get_value('location')}:"
                  f" {s.get_value('reason')}"
                  f"{', reconnecting' if s.get_value('reconnecting') else ''}",
                  flush=True)
        elif name == 'socketio-event':
            # The same event came through on_server_event below, without
            # its binary parts: the bus message is the place to get them.
            if s.has_field('attachments'):
                args = with_attachments(json.loads(s.get_value('args')),
                                        s.get_value('attachments'))
                print(f"binary server event {s.get_value('name')!r}:"
                      f' {describe(args)}', flush=True)
            # Keeping the message alive keeps its place among the sink's
            # max-pending-server-events: let it go (here, by returning).

    # --- server events -----------------------------------------------------

    def on_server_event(self, sink, name, args_json):
        """Runs in the sink's network thread, the one that also answers the
        server's pings, for every event the server sends (e.g. a
        transcript). Return quickly and touch no state the main loop owns:
        hand the event over with GLib.idle_add, which runs the callback in
        the main loop's thread. (While Python code runs here, the network
        thread holds the GIL, and waits for it when another thread has it.)
        """
        GLib.idle_add(self.print_server_event, name, args_json)

    def print_server_event(self, name, args_json):
        print(f'server event {name!r}: {args_json}', flush=True)
        return GLib.SOURCE_REMOVE

    def run(self):
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT,
                             self.on_signal)
        GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGTERM,
                             self.on_signal)
        GLib.timeout_add_seconds(1, self.on_tick)
        if (self.pipeline.set_state(Gst.State.PLAYING) ==
                Gst.StateChangeReturn.FAILURE):
            # e.g. an invalid location: the reason is an ERROR on the bus
            error = self.pipeline.get_bus().pop_filtered(
                Gst.MessageType.ERROR)
            if error is not None:
                print_error(error)
            self.status = 1
        else:
            self.loop.run()
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.get_bus().remove_signal_watch()
        return self.status


def print_error(message):
    error, debug = message.parse_error()
    print(f'ERROR from {message.src.get_name()}: {error.message}',
          file=sys.stderr)
    if debug:
        print(f'  ({debug})', file=sys.stderr)
    # socketiosink's connection errors carry details: location (without its
    # query, which may hold secrets), http-status-code, tls-errors.
    details = message.parse_error_details()
    if details is not None:
        print(f'  details: {details.to_string()}', file=sys.stderr)


def with_attachments(value, attachments):
    """Socket.IO sends each binary part of an event as an attachment and
    leaves {"_placeholder": true, "num": N} in its place in the JSON: put
    attachment N (a Gst.Buffer in the Gst.BufferList) back there, as bytes.
    """
    if isinstance(value, list):
        return [with_attachments(v, attachments) for v in value]
    if isinstance(value, dict):
        if value.get('_placeholder') is True and 'num' in value:
            buffer = attachments.get(value['num'])
            return buffer.extract_dup(0, buffer.get_size())
        return {k: with_attachments(v, attachments) for k, v in value.items()}
    return value


def describe(value):
    if isinstance(value, bytes):
        return f'<{len(value)} bytes>'
    if isinstance(value, list):
        return '[' + ', '.join(describe(v) for v in value) + ']'
    if isinstance(value, dict):
        return '{' + ', '.join(f'{k!r}: {describe(v)}'
                               for k, v in value.items()) + '}'
    return repr(value)


def main():
    args = parse_args()
    Gst.init(None)
    try:
        streamer = Streamer(args)
    except GLib.Error as error:  # a missing element, an invalid location...
        print(f'could not build the pipeline: {error.message}',
              file=sys.stderr)
        return 2
    return streamer.run()


if __name__ == '__main__':
    sys.exit(main())
