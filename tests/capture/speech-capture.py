#!/usr/bin/python3
# gst-socketio
# Copyright (C) 2026 gst-socketio contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The whole capture path, end to end, through a real PulseAudio daemon:

    speech-capture.py SERVER_PYTHON_PY SINK-NAME

(run by with-pulseaudio.sh, which owns the daemon and its null sink).

1. espeak-ng says a sentence (about 3 s); GStreamer makes it 16 kHz mono
   S16LE and the silence around the speech is cut off: that is the played
   WAV.
2. examples/python/server_python.py is started, then
   pulsesrc device=SINK.monitor ! ... ! leakyframepool ! ackqueue
   ! socketiosink in gst-launch-1.0 -e; once the server's WAV has audio,
   paplay plays the WAV into the null sink; 0.5 s after its end SIGINT
   makes gst-launch send EOS, which socketiosink lets through once every
   event is acknowledged (the server acknowledges after writing).
3. The played WAV must be found in the server's WAV: normalised
   cross-correlation above 0.9 at the best offset, and the span where the
   received envelope is above -40 dB of its peak within 50 ms of the played
   WAV's length (and starting within 50 ms of that offset); no gap logged.

Every child dies with this process (PR_SET_PDEATHSIG) and is stopped at the
end whatever happens (tests/common/children.py). Under the leaks tracer
gst-launch's stderr is checked for leaked GStreamer objects.
"""

import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import wave

import numpy

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'common'))
from children import (Failure, check, read, start, stop,  # noqa: E402
                      stop_all, wait_for_line, wait_until)

SERVER = sys.argv[1]
SINK = sys.argv[2]
PYTHON = '/usr/bin/python3'
RATE = 16000
CAPS = f'audio/x-raw,format=S16LE,rate={RATE},channels=1'
SENTENCE = 'Frames of speech travel from the sound server to the socket.'
MIN_CORRELATION = 0.9
MAX_LENGTH_ERROR = 0.050  # s
ENVELOPE_WINDOW = RATE // 100  # 10 ms
ENVELOPE_FLOOR_DB = -40.0
TAIL = 0.5  # s captured after the end of the play

def run(argv, log_path, timeout):
    """Runs @argv to its end, within @timeout s, and fails unless it
    exits 0."""
    child = start(argv, log_path)
    try:
        status = child.wait(timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f'{argv[0]} did not end within {timeout} s: '
                      f'{read(log_path)}')
    check(status == 0, f'{argv[0]} exit status {status}: {read(log_path)}')


def read_wav(path):
    with wave.open(path, 'rb') as wav:
        check((wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) ==
              (RATE, 1, 2), f'{path}: {wav.getparams()} is not {CAPS}')
        return numpy.frombuffer(wav.readframes(wav.getnframes()),
                                dtype='<i2').astype(numpy.float64)


def write_wav(path, samples):
    with wave.open(path, 'wb') as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(samples.astype('<i2').tobytes())


def sounded_span(samples):
    """[start, end) in samples of what is above ENVELOPE_FLOOR_DB of the
    loudest 10 ms, measured in 10 ms windows."""
    windows = len(samples) // ENVELOPE_WINDOW
    check(windows > 0, 'no audio at all')
    rms = numpy.sqrt(numpy.mean(
        samples[:windows * ENVELOPE_WINDOW].reshape(windows, -1) ** 2,
        axis=1))
    check(rms.max() > 0, 'only digital silence')
    loud = numpy.flatnonzero(rms >= rms.max() * 10 ** (ENVELOPE_FLOOR_DB / 20))
    return loud[0] * ENVELOPE_WINDOW, (loud[-1] + 1) * ENVELOPE_WINDOW


def best_match(played, received):
    """The offset in @received where @played correlates best, and the
    normalised cross-correlation there."""
    n, m = len(played), len(received)
    check(m >= n, f'received {m / RATE:.3f} s, less than the '
          f'{n / RATE:.3f} s played')
    size = 1 << (n + m).bit_length()
    correlation = numpy.fft.irfft(numpy.fft.rfft(received, size) *
                                  numpy.conj(numpy.fft.rfft(played, size)),
                                  size)[:m - n + 1]
    offset = int(numpy.argmax(correlation))
    window = received[offset:offset + n]
    norm = numpy.linalg.norm(played) * numpy.linalg.norm(window)
    return offset, float(numpy.dot(played, window) / norm) if norm else 0.0


def make_played_wav(work):
    spoken = os.path.join(work, 'spoken.wav')
    converted = os.path.join(work, 'converted.wav')
    run(['espeak-ng', '-v', 'en', '-w', spoken, SENTENCE],
        os.path.join(work, 'espeak-ng.log'), 30)
    run(['gst-launch-1.0', '-q', 'filesrc', f'location={spoken}', '!',
         'wavparse', '!', 'audioconvert', '!', 'audioresample', '!', CAPS,
         '!', 'wavenc', '!', 'filesink', f'location={converted}'],
        os.path.join(work, 'convert.log'), 30)
    samples = read_wav(converted)
    start, end = sounded_span(samples)
    played = samples[start:end]
    path = os.path.join(work, 'played.wav')
    write_wav(path, played)
    return path, played


def check_no_leaks(log_path):
    if 'leaks' in os.environ.get('GST_TRACERS', ''):
        log = read(log_path)
        check('Leaks detected' not in log and
              not re.search(r'object-alive, type-name=\(string\)[A-Za-z]',
                            log),
              f'gst-launch-1.0 leaked GStreamer objects: {log}')


def capture(work, played_path):
    """Captures the null sink's monitor into server_python.py while
    @played_path is played; returns the server's WAV and log."""
    wav_path = os.path.join(work, 'received.wav')
    server_log = os.path.join(work, 'server.log')
    server = start([PYTHON, SERVER, '--host', '127.0.0.1', '--port', '0',
                    '--wav', wav_path], server_log)
    port = wait_for_line(server_log, r'^LISTENING (\d+)$', server, 15).group(1)

    capture_log = os.path.join(work, 'capture.log')
    pipeline = start(
        ['gst-launch-1.0', '-e', 'pulsesrc', f'device={SINK}.monitor', '!',
         'audioconvert', '!', 'audioresample', '!', CAPS, '!',
         'leakyframepool', '!', 'ackqueue', '!', 'socketiosink',
         f'location=http://127.0.0.1:{port}'], capture_log)
    # the server creates its file at the first audio: capture is running
    wait_until(lambda: os.path.exists(wav_path) and
               os.path.getsize(wav_path) > 44, 'captured audio', pipeline,
               capture_log, 15)

    play_started = time.monotonic()
    run(['paplay', f'--device={SINK}', played_path],
        os.path.join(work, 'paplay.log'), 30)
    print(f'played for {time.monotonic() - play_started:.3f} s', flush=True)
    time.sleep(TAIL)

    status = stop(pipeline, signal.SIGINT, 20)
    log = read(capture_log)
    check(status == 0, f'gst-launch-1.0 exit status {status}: {log}')
    check('Got EOS from element' in log, f'no EOS at the sink: {log}')
    check(not re.search(r'^(ERROR|WARNING): ', log, re.M),
          f'an error or warning from the pipeline: {log}')
    check_no_leaks(capture_log)

    status = stop(server)
    check(status == 0, f'server exit status {status}: {read(server_log)}')
    return wav_path, read(server_log)


def compare(played, received, server_log):
    check(not re.search(r'^gap:', server_log, re.M),
          f'the server saw audio missing: {server_log}')
    offset, correlation = best_match(played, received)
    start, end = sounded_span(received)
    played_length = len(played) / RATE
    sounded_length = (end - start) / RATE
    print(f'received {len(received) / RATE:.3f} s; played {played_length:.3f}'
          f' s found at {offset / RATE:.3f} s with normalised '
          f'cross-correlation {correlation:.4f}; sounded from '
          f'{start / RATE:.3f} s for {sounded_length:.3f} s', flush=True)
    check(correlation > MIN_CORRELATION,
          f'correlation {correlation:.4f} is not above {MIN_CORRELATION}')
    check(abs(sounded_length - played_length) <= MAX_LENGTH_ERROR,
          f'sounded {sounded_length:.3f} s, played {played_length:.3f} s')
    check(abs(start - offset) / RATE <= MAX_LENGTH_ERROR,
          f'sound starts at {start / RATE:.3f} s, the best match at '
          f'{offset / RATE:.3f} s')


def main():
    # meson's timeout sends SIGTERM: leave through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory(prefix='speech-capture.') as work:
        try:
            played_path, played = make_played_wav(work)
            wav_path, server_log = capture(work, played_path)
            compare(played, read_wav(wav_path), server_log)
        except Failure as failure:
            print(f'FAIL: {failure}', flush=True)
            return 1
        finally:
            stop_all()
    print('PASS', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
