"""What server_python.py and server_flask.py share: their command line
(parse_args) and what they do with the audio events they receive
(WavRecorder: write them to a WAV file, in order and once each).

The events are those of socketiosink: {audio_data, seq, pts, duration,
format, rate, channels}, "replay": True on audio sent again after a
reconnection (docs/ack-protocol.md), and from sinks that have them
"stream_id" (a UUID per stream, kept across reconnections) and, on the
first event after audio went missing, "discont": True with
"missing_duration" (ns) and "missing_samples" (docs/server.md). Only S16LE
is written. The file's header is rewritten after every write (the wave
module does that), so it is a complete WAV at any time from the first
audio on.

One file for everything: a new stream continues the file where the last
one ended, as a speech-to-text server that transcribes one speaker at a
time wants it. A gap a sink reports (discont) is filled with silence of the
missing length, so that the file's timeline stays the stream's
(--no-fill-gaps: only logged).
"""

import argparse
import collections
import threading
import time
import wave

# A stream's record is forgotten after this long without audio (a replay
# comes within seconds of its first sending), and the oldest beyond this
# many streams: the memory of what was written stays bounded.
STREAM_EXPIRY_S = 600
MAX_STREAMS = 100
# A reported gap longer than this is logged, not filled (a bogus
# missing_duration must not fill the disk).
MAX_FILL_S = 3600
FILL_CHUNK_FRAMES = 16000  # silence is written in pieces: memory bounded


def parse_args():
    """--host, --port (0: a free one), --wav (the file), --event,
    --fill-gaps/--no-fill-gaps."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=5000)
    parser.add_argument('--wav', default='out.wav')
    parser.add_argument('--event', default='audio_data')
    parser.add_argument('--fill-gaps', action=argparse.BooleanOptionalAction,
                        default=True, help='write silence where a sink'
                        ' reports missing audio (discont); default: yes')
    return parser.parse_args()


class StreamRecord:
    """What is known of one stream: within a stream_id seq only grows and
    events are written in the order they come, so the highest seq written
    is enough to recognise any audio already written."""

    def __init__(self):
        self.last_seq = -1  # the highest seq written
        self.next_pts = None  # where the audio written so far ends, in ns
        self.last_used = None  # the recorder's clock, at the last audio


class WavRecorder:
    """Writes each stream's audio in order, once, whatever the
    reconnections: the sink sends what the server did not acknowledge again
    after a reconnection, with the same stream_id and seq and "replay":
    True. Thread-safe (Flask handles each request in a thread of its own):
    self.lock guards everything below it."""

    def __init__(self, path, fill_gaps=True):
        self.path = path
        self.fill_gaps = fill_gaps
        self.lock = threading.Lock()
        self.clock = time.monotonic  # seconds, for the records' expiry
        self.closed = False
        self.wav = None
        # stream_id -> StreamRecord, least recently used first; None is the
        # one stream of sinks that send no stream_id
        self.streams = collections.OrderedDict()

    def on_audio(self, msg):
        with self.lock:
            self.record(msg)

    def stream_record(self, stream_id, seq):
        now = self.clock()
        while self.streams:
            oldest_id, oldest = next(iter(self.streams.items()))
            if (len(self.streams) < MAX_STREAMS and
                    now - oldest.last_used < STREAM_EXPIRY_S):
                break
            del self.streams[oldest_id]
        stream = self.streams.get(stream_id)
        if stream is None:
            stream = self.streams[stream_id] = StreamRecord()
            if stream_id is not None:
                print(f'stream {stream_id}: a new stream from seq {seq}',
                      flush=True)
        self.streams.move_to_end(stream_id)
        stream.last_used = now
        return stream

    def record(self, msg):
        seq = msg['seq']
        stream_id = msg.get('stream_id')
        stream = self.stream_record(stream_id, seq)
        prefix = f'stream {stream_id}: ' if stream_id is not None else ''
        if seq <= stream.last_seq:
            if stream_id is not None or msg.get('replay'):
                # unflagged under a stream_id: a late original, after its
                # replay (docs/deploying.md)
                what = 'replayed' if msg.get('replay') else 'a late original'
                print(f'{prefix}seq {seq}: {what}, already written: dropped',
                      flush=True)
                return
            # without stream_id: the sink never repeats a seq without
            # "replay": a new stream
            print(f'seq {seq}: a new stream', flush=True)
            stream.next_pts = None
        elif stream.last_seq >= 0 and seq != stream.last_seq + 1:
            print(f'gap: {prefix}seq {stream.last_seq + 1} to {seq - 1}'
                  ' never arrived', flush=True)
        silence = 0
        if msg.get('discont'):
            silence = self.reported_gap(msg, prefix, stream.next_pts)
        elif stream.next_pts is not None and msg['pts'] != stream.next_pts:
            print(f"gap: {prefix}{(msg['pts'] - stream.next_pts) / 1e6} ms"
                  f' of audio missing before seq {seq}', flush=True)
        self.write(msg, silence)
        stream.last_seq = seq
        if msg['pts'] is not None:
            stream.next_pts = msg['pts'] + msg['duration']

    def reported_gap(self, msg, prefix, next_pts):
        """Logs the gap a discont event reports; returns the number of
        frames of silence to write before its audio."""
        duration = msg.get('missing_duration')
        frames = msg.get('missing_samples')
        if frames is None and duration is not None and msg.get('rate'):
            frames = round(duration * msg['rate'] / 1e9)
        # after a reconnection the sink counts from the audio it saw
        # acknowledged: this server may have written some of it already
        if (frames is not None and next_pts is not None and
                msg.get('pts') is not None and msg.get('rate')):
            frames = max(0, min(frames, round(
                (msg['pts'] - next_pts) * msg['rate'] / 1e9)))
        what = (f'{duration / 1e6} ms' if duration is not None
                else 'audio of unknown length')
        if frames is not None:
            what += f' ({frames} samples)'
        if not self.fill_gaps:
            filled = 'not filled (--no-fill-gaps)'
        elif frames is None or msg.get('format') != 'S16LE':
            frames, filled = 0, 'not filled: not raw PCM of known length'
        elif frames > MAX_FILL_S * msg['rate']:
            frames, filled = 0, f'not filled: over {MAX_FILL_S} s'
        else:
            filled = 'filled with silence'
        print(f"gap: {prefix}seq {msg['seq']}: {what} missing before it:"
              f' {filled}', flush=True)
        return frames if self.fill_gaps else 0

    def write(self, msg, silence_frames=0):
        """Writes @silence_frames frames of silence, then @msg's audio."""
        if self.closed:
            return
        if msg.get('format') != 'S16LE':
            # compressed audio has "caps" in place of "format"
            what = msg.get('format') or msg.get('caps')
            print(f"seq {msg['seq']}: format {what} is not S16LE:"
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
        frame_bytes = 2 * msg['channels']
        while silence_frames > 0:
            frames = min(silence_frames, FILL_CHUNK_FRAMES)
            self.wav.writeframes(bytes(frames * frame_bytes))
            silence_frames -= frames
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
