#!/usr/bin/python3
"""A python-socketio server (asyncio, on aiohttp) that writes the audio it
receives to a WAV file.

    server_python.py [--host 127.0.0.1] [--port 5000] [--wav out.wav]
                     [--event audio_data] [--no-fill-gaps]

Debian 12: python3-socketio (5.7) and python3-aiohttp. WebSocket and
long-polling.

Its interface (other tests and scripts rely on it):
- prints "LISTENING <port>" (flushed) once it accepts connections; --port 0
  takes a free port;
- --wav: the file, S16LE at the stream's rate and channels, written by
  wav_recorder.py (next to this file). It is created at the first audio (an
  empty file if none came) and its header rewritten after every write, so
  it is a complete WAV at any time; SIGINT and SIGTERM close it and exit 0;
- each event {audio_data, seq, pts, duration, format, rate, channels,
  replay, stream_id, discont, missing_duration, missing_samples} is written
  in seq order and acknowledged once written; an event whose (stream_id,
  seq) was already written is dropped (without stream_id, from older sinks:
  a replay of a seq already written); gaps are logged on stdout as lines
  starting with "gap:", and a gap the sink reports (discont) is filled with
  silence of its length unless --no-fill-gaps;
- each client gets a "recording" event, {"wav": PATH}, once connected.
One file: a new stream (a new stream_id, or without one a client that
starts again at seq 0) continues the same file.
"""

import asyncio
import signal

import socketio
from aiohttp import web

import wav_recorder


async def main():
    args = wav_recorder.parse_args()

    recorder = wav_recorder.WavRecorder(args.wav, fill_gaps=args.fill_gaps)
    # async_handlers=False: one event at a time, in the order they arrived
    # (the default runs each in a task of its own); always_connect: accept
    # the client before connect() runs, so that it may emit to it
    sio = socketio.AsyncServer(async_mode='aiohttp', async_handlers=False,
                               always_connect=True)
    app = web.Application()
    sio.attach(app)

    @sio.event
    async def connect(sid, environ, auth=None):
        print(f'client {sid} connected', flush=True)
        await sio.emit('recording', {'wav': args.wav}, to=sid)

    @sio.event
    async def disconnect(sid):
        print(f'client {sid} disconnected', flush=True)

    @sio.on(args.event)
    async def audio(sid, msg):
        recorder.on_audio(msg)
        # returning acknowledges, after writing: the client frees the audio
        return None

    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    print(f'LISTENING {port}', flush=True)

    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    recorder.close()
    await runner.cleanup()


if __name__ == '__main__':
    asyncio.run(main())
