#!/usr/bin/python3
"""Runs examples/python against one of its example servers:

    examples.py node|python|flask

1. stream.py --file streams a WAV file (S16LE, 16 kHz, mono: nothing to
   convert, and not a whole number of 1024-sample frames) into the server,
   which must write the same bytes to its WAV file, with right header sizes,
   and have sent its "recording" event (the server-event path of stream.py).
2. A scripted Socket.IO client sends events as socketiosink would after a
   reconnection (replays of written seqs, a gap, a new stream from seq 0):
   the file must hold each seq once, in order, and the gap be logged.
   First as older sinks send them, without stream_id; then with stream_id
   and discont (docs/server.md): replays and a late original of written
   (stream_id, seq) dropped, the same seqs under another stream_id written,
   each reported gap logged and filled with silence of its length (given
   in samples, or as a duration only), and not filled with --no-fill-gaps.
3. (python only) stream.py --tone stopped by SIGINT, as Ctrl-C: it must end
   with EOS (exit 0, every emit acknowledged) and the server's file hold all
   the audio stream.py reports sent; and stream.py's with_attachments() puts
   a binary event's attachments back in place of their placeholders; and
   wav_recorder.py's memory of streams stays bounded.

Every server and stream.py is a child of this process, killed if it dies
(PR_SET_PDEATHSIG) and stopped at the end whatever happens.
"""

import asyncio
import importlib.util
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import wave

import socketio

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', 'common'))
from children import (Failure, check, read, start, stop,  # noqa: E402
                      stop_all, wait_for_line)

EXAMPLES = os.environ['SIO_EXAMPLES_DIR']
PYTHON = '/usr/bin/python3'
SERVERS = {
    'node': ['node', os.path.join(EXAMPLES, 'server_node.js')],
    'python': [PYTHON, os.path.join(EXAMPLES, 'server_python.py')],
    'flask': [PYTHON, os.path.join(EXAMPLES, 'server_flask.py')],
}
RATE = 16000
SOURCE_SAMPLES = 2 * RATE + 1000  # 2 s and a short last frame


def start_server(kind, work, name, options=()):
    wav_path = os.path.join(work, f'{name}.wav')
    log_path = os.path.join(work, f'{name}.log')
    server = start(SERVERS[kind] + ['--host', '127.0.0.1', '--port', '0',
                                    '--wav', wav_path] + list(options),
                   log_path)
    port = wait_for_line(log_path, r'^LISTENING (\d+)$', server, 15).group(1)
    return server, f'http://127.0.0.1:{port}', wav_path, log_path


def stop_server(server, log_path):
    status = stop(server)
    check(status == 0, f'server exit status {status}: {read(log_path)}')
    check('wrote ' in read(log_path), f'no closing line: {read(log_path)}')


def source_pcm():
    """A signal where a sample out of place, lost or repeated shows."""
    return b''.join(
        int(9000 * math.sin(i * 0.031) + (i * 7919) % 4001 - 2000)
        .to_bytes(2, 'little', signed=True) for i in range(SOURCE_SAMPLES))


def write_wav(path, pcm):
    with wave.open(path, 'wb') as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)


def read_wav(path):
    """The PCM of the WAV file at @path, after checking its header against
    the file's size."""
    size = os.path.getsize(path)
    with open(path, 'rb') as f:
        header = f.read(44)
    check(header[:4] == b'RIFF' and header[8:16] == b'WAVEfmt ',
          f'{path} is not a WAV file')
    riff_size = int.from_bytes(header[4:8], 'little')
    data_size = int.from_bytes(header[40:44], 'little')
    check(riff_size == size - 8 and data_size == size - 44,
          f'{path}: header sizes {riff_size}, {data_size}, file {size} bytes')
    with wave.open(path, 'rb') as w:
        check((w.getnchannels(), w.getsampwidth(), w.getframerate()) ==
              (1, 2, RATE), f'{path}: {w.getparams()}')
        return w.readframes(w.getnframes())


def stream(args, work, name, timeout=30, interrupt_after=None):
    """Runs stream.py with @args; returns its output."""
    log_path = os.path.join(work, f'{name}.log')
    child = start([PYTHON, os.path.join(EXAMPLES, 'stream.py')] + args,
                  log_path)
    if interrupt_after is not None:
        wait_for_line(log_path, r'^connected to ', child, 15)
        time.sleep(interrupt_after)
        check(child.poll() is None, f'stream.py exited: {read(log_path)}')
        status = stop(child, signal.SIGINT, timeout)
    else:
        try:
            status = child.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f'stream.py still running: {read(log_path)}')
    output = read(log_path)
    check(status == 0, f'stream.py exit status {status}: {output}')
    return output


def final_stats(output):
    match = re.search(r'^final .* emitted +(\d+) acked +(\d+) .* audio (\d+) B'
                      r' lost (\d+)', output, re.M)
    check(match, f'no final stats line: {output}')
    return [int(n) for n in match.groups()]


def stream_file(kind, work):
    pcm = source_pcm()
    source = os.path.join(work, 'source.wav')
    write_wav(source, pcm)
    server, url, wav_path, log_path = start_server(kind, work, 'file-server')
    output = stream(['--location', url, '--file', source], work, 'file')
    stop_server(server, log_path)
    emitted, acked, audio, lost = final_stats(output)
    check(emitted == acked and lost == 0 and audio == len(pcm),
          f'stream.py: {output}')
    check("server event 'recording'" in output,
          f'no server event from the server: {output}')
    received = read_wav(wav_path)
    check(received == pcm, f'{len(received)} bytes written of {len(pcm)},'
          f' first difference at byte {first_difference(received, pcm)}')
    print(f'{kind}: {len(pcm)} bytes streamed from a file, the same written',
          flush=True)


def first_difference(a, b):
    return next((i for i, (x, y) in enumerate(zip(a, b)) if x != y),
                min(len(a), len(b)))


def chunk(n):
    """Audio chunk @n: 320 samples (20 ms) of the value n + 1."""
    return (n + 1).to_bytes(2, 'little') * 320


def audio_event(seq, n, replay=False, **members):
    """The event socketiosink sends for chunk @n as @seq, with @members
    (stream_id, discont...) added."""
    msg = {'audio_data': chunk(n), 'seq': seq, 'pts': n * 20_000_000,
           'duration': 20_000_000, 'format': 'S16LE', 'rate': RATE,
           'channels': 1, **members}
    if replay:
        msg['replay'] = True
    return msg


async def send_script(url, kind, send_events):
    """Runs @send_events(client), a script of what socketiosink sends
    around a reconnection, and a new stream."""
    client = socketio.AsyncClient()
    await client.connect(url, transports=['polling'] if kind == 'flask'
                         else ['websocket'])
    await send_events(client)
    await client.disconnect()
    # python-engineio 4.3 leaves an HTTP session open after polling (its
    # last request opens a new one as the client ends)
    await asyncio.sleep(0.1)
    if client.eio.http and not client.eio.http.closed:
        await client.eio.http.close()


async def send_events(client):

    async def emit(seq, n, replay=False):
        # call() waits for the ack, which the server sends after writing
        await client.call('audio_data', audio_event(seq, n, replay),
                          timeout=10)

    for seq in (0, 1, 2):
        await emit(seq, seq)
    await emit(1, 1, replay=True)  # the link broke before their acks
    await emit(2, 2, replay=True)
    await emit(3, 3)
    await emit(5, 5)  # ackqueue dropped seq 4
    await emit(0, 6)  # a new stream (another sink) on the same server


def replays(kind, work):
    server, url, wav_path, log_path = start_server(kind, work,
                                                   'replay-server')
    asyncio.run(send_script(url, kind, send_events))
    stop_server(server, log_path)
    log = read(log_path)
    expected = b''.join(chunk(n) for n in (0, 1, 2, 3, 5, 6))
    received = read_wav(wav_path)
    written = [received[i] - 1 for i in range(0, len(received), 640)]
    check(received == expected,
          f'written: chunks {written}, expected 0 1 2 3 5 6: {log}')
    check(log.count('replayed, already written') == 2,
          f'replays not reported: {log}')
    check(re.search(r'^gap: seq 4 to 4', log, re.M) and
          re.search(r'^gap: 20(\.0)? ms', log, re.M), f'gap not logged: {log}')
    check('a new stream' in log, f'new stream not reported: {log}')
    print(f'{kind}: replays dropped, gap logged, new stream appended',
          flush=True)


async def send_stream_events(client):
    """As send_events(), from a sink that sends stream_id and discont."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())

    async def emit(stream_id, seq, n, replay=False, **gap):
        await client.call('audio_data', audio_event(seq, n, replay,
                                                    stream_id=stream_id,
                                                    **gap), timeout=10)

    for seq in (0, 1, 2):
        await emit(first, seq, seq)
    await emit(first, 1, 1, replay=True)  # the link broke before their acks
    await emit(first, 2, 2, replay=True)
    await emit(first, 2, 2)  # the late original, after its replay
    await emit(first, 3, 3)
    # chunks 4 to 6 dropped: 60 ms, 960 samples
    await emit(first, 4, 7, discont=True, missing_duration=60_000_000,
               missing_samples=960)
    # another stream, from seq 0 again: written
    await emit(second, 0, 10)
    await emit(second, 1, 11)
    # chunks 12 and 13 dropped, given as a duration only: 640 samples
    await emit(second, 2, 14, discont=True, missing_duration=40_000_000)
    await emit(first, 3, 3, replay=True)  # the first stream is remembered
    return first, second


def stream_replays_and_gaps(kind, work, fill_gaps):
    name = 'stream-server' if fill_gaps else 'no-fill-server'
    server, url, wav_path, log_path = start_server(
        kind, work, name, () if fill_gaps else ('--no-fill-gaps',))
    ids = []

    async def script(client):
        ids.extend(await send_stream_events(client))

    asyncio.run(send_script(url, kind, script))
    stop_server(server, log_path)
    log = read(log_path)
    first, second = ids

    def silence(samples):
        return bytes(2 * samples) if fill_gaps else b''

    expected = (b''.join(chunk(n) for n in (0, 1, 2, 3)) + silence(960) +
                chunk(7) + chunk(10) + chunk(11) + silence(640) + chunk(14))
    received = read_wav(wav_path)
    check(received == expected,
          f'{len(received)} bytes written, expected {len(expected)}, first'
          f' difference at byte {first_difference(received, expected)}:'
          f' {log}')
    check(log.count('replayed, already written: dropped') == 3 and
          log.count('a late original, already written: dropped') == 1,
          f'replays and late original not reported: {log}')
    check(f'stream {second}: a new stream from seq 0' in log,
          f'new stream not reported: {log}')
    filled = ('filled with silence' if fill_gaps
              else r'not filled \(--no-fill-gaps\)')
    for stream_id, seq, duration, samples in ((first, 4, 60, 960),
                                              (second, 2, 40, 640)):
        check(re.search(rf'^gap: stream {stream_id}: seq {seq}:'
                        rf' {duration}(\.0)? ms \({samples} samples\)'
                        rf' missing before it: {filled}$', log, re.M),
              f'gap before seq {seq} of {stream_id} not logged: {log}')
    # the pts jump of a reported gap is not logged a second time
    check('ms of audio missing' not in log, f'gap logged twice: {log}')
    print(f'{kind}: by (stream_id, seq): replays dropped, another stream'
          f' written, gaps logged and {"filled" if fill_gaps else "kept"}',
          flush=True)


def stream_records_bounded(work):
    """wav_recorder.py keeps at most MAX_STREAMS records, and forgets one
    idle for STREAM_EXPIRY_S."""
    sys.path.insert(0, EXAMPLES)
    import wav_recorder
    recorder = wav_recorder.WavRecorder(os.path.join(work, 'bounded.wav'))
    clock = [1000.0]
    recorder.clock = lambda: clock[0]
    try:
        for n in range(wav_recorder.MAX_STREAMS + 5):
            recorder.on_audio(audio_event(0, n, stream_id=f'stream-{n}'))
        count = len(recorder.streams)
        check(count == wav_recorder.MAX_STREAMS and
              'stream-4' not in recorder.streams and
              'stream-5' in recorder.streams,
              f'{count} stream records, oldest {next(iter(recorder.streams))}')
        clock[0] += wav_recorder.STREAM_EXPIRY_S
        recorder.on_audio(audio_event(0, 0, stream_id='late'))
        check(list(recorder.streams) == ['late'],
              f'expired stream records kept: {len(recorder.streams)}')
    finally:
        recorder.close()
    print(f'wav_recorder.py: at most {wav_recorder.MAX_STREAMS} stream'
          ' records, idle ones forgotten', flush=True)


def interrupt(kind, work):
    server, url, wav_path, log_path = start_server(kind, work, 'tone-server')
    output = stream(['--location', url, '--tone'], work, 'tone',
                    interrupt_after=1)
    stop_server(server, log_path)
    check('stopping: EOS' in output, f'SIGINT did not send EOS: {output}')
    emitted, acked, audio, lost = final_stats(output)
    check(emitted > 0 and emitted == acked and lost == 0,
          f'stream.py: {output}')
    received = read_wav(wav_path)
    check(len(received) == audio,
          f'{len(received)} bytes written, stream.py sent {audio}: {output}')
    print(f'{kind}: Ctrl-C ended the tone with EOS, {audio} bytes all'
          ' written', flush=True)


def attachments():
    spec = importlib.util.spec_from_file_location(
        'stream', os.path.join(EXAMPLES, 'stream.py'))
    stream_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stream_py)
    Gst = stream_py.Gst
    Gst.init(None)
    buffers = Gst.BufferList.new()
    for data in (b'first', b'\x00second'):
        buffers.insert(-1, Gst.Buffer.new_wrapped(data))
    args = json.loads('[{"a": {"_placeholder": true, "num": 1}, "n": 2},'
                      ' [{"_placeholder": true, "num": 0}], "x"]')
    result = stream_py.with_attachments(args, buffers)
    check(result == [{'a': b'\x00second', 'n': 2}, [b'first'], 'x'],
          f'with_attachments: {result}')
    print('stream.py: attachments put back in place', flush=True)


def main():
    kind = sys.argv[1]
    # meson's timeout sends SIGTERM: leave through the cleanup below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    with tempfile.TemporaryDirectory() as work:
        try:
            stream_file(kind, work)
            replays(kind, work)
            stream_replays_and_gaps(kind, work, fill_gaps=True)
            stream_replays_and_gaps(kind, work, fill_gaps=False)
            if kind == 'python':
                interrupt(kind, work)
                attachments()
                stream_records_bounded(work)
        except Failure as failure:
            print(f'FAIL ({kind}): {failure}', flush=True)
            return 1
        finally:
            stop_all()
    return 0


if __name__ == '__main__':
    sys.exit(main())
