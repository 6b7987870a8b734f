"""What server_python.py and server_flask.py share: their command line
(parse_args) and what they do with the audio events they receive
(WavRecorder: write them to a WAV file, in order and once each).

The events are those of socketiosink: {audio_data, seq, pts, duration,
format, rate, channels} and "replay": True on audio sent again after a
reconnection (docs/ack-protocol.md). Only S16LE is written. The file's
header is rewritten after every write (the wave module does that), so it is
a complete WAV at any time from the first audio on.
"""

import argparse
import threading
import wave


def parse_args():
    """--host, --port (0: a free one), --wav (the file), --event."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=5000)
    parser.add_argument('--wav', default='out.wav')
    parser.add_argument('--event', default='audio_data')
    return parser.parse_args()


class WavRecorder:
    """Writes a stream's audio in order, once, whatever the reconnections:
    the sink sends what the server did not acknowledge again after a
    reconnection, with the same seq and "replay": True. Thread-safe (Flask
    handles each request in a thread of its own)."""

    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()
        self.closed = False
        self.wav = None
        self.last_seq = -1  # the highest seq written
        self.next_pts = None  # where the audio written so far ends, in ns

    def on_audio(self, msg):
        with self.lock:
            self.record(msg)

    def record(self, msg):
        seq = msg['seq']
        if seq <= self.last_seq and msg.get('replay'):
            print(f'seq {seq}: replayed, already written: dropped', flush=True)
            return
        if seq <= self.last_seq:
            # the sink never repeats a seq without "replay": a new stream
            print(f'seq {seq}: a new stream', flush=True)
            self.next_pts = None
        elif self.last_seq >= 0 and seq != self.last_seq + 1:
            print(f'gap: seq {self.last_seq + 1} to {seq - 1} never arrived',
                  flush=True)
        if self.next_pts is not None and msg['pts'] != self.next_pts:
            print(f"gap: {(msg['pts'] - self.next_pts) / 1e6} ms of audio"
                  f' missing before seq {seq}', flush=True)
        self.write(msg)
        self.last_seq = seq
        self.next_pts = msg['pts'] + msg['duration']

    def write(self, msg):
        if self.closed:
            return
        if msg['format'] != 'S16LE':
            print(f"seq {msg['seq']}: format {msg['format']} is not S16LE:"
                  ' skipped', flush=True)
            return
        if self.wav is None:
            self.wav = wave.open(self.path, 'wb')
            self.wav.setnchannels(msg['channels'])
            self.wav.setsampwidth(2)
            self.wav.setframerate(msg['rate'])
        elif (msg['rate'] != self.wav.getframerate() or
              msg['channels'] != self.wav.getnchannels()):
            print(f"seq {msg['seq']}: {msg['rate']} Hz, {msg['channels']}"
                  ' channels in another format\'s file: skipped', flush=True)
            return
        # wave rewrites the header's sizes after each writeframes()
        self.wav.writeframes(msg['audio_data'])

    def close(self):
        with self.lock:
            self.closed = True
            audio_bytes = 0
            if self.wav is not None:
                audio_bytes = (self.wav.getnframes() *
                               self.wav.getnchannels() * 2)
                self.wav.close()
            else:
                open(self.path, 'wb').close()
        print(f'wrote {audio_bytes} bytes of audio to {self.path}', flush=True)
