#!/usr/bin/python3
"""Peer benchmark: Debian's python-socketio AsyncClient (WebSocket only)
sending the same audio_data events as socketiosink, with a fixed window of
un-acked emits.

  /usr/bin/python3 python-client.py --url http://127.0.0.1:PORT --events N
      --size 2048 --in-flight 32 [--event audio_data] [--namespace /]
      [--token T] [--timeout S]

--in-flight 0 = fire-and-forget (no ack asked), ended by one acked barrier
event "bench_barrier" so the time still covers delivery to the server.
Prints one JSON line, same fields as node-client.js. cpu_s is user+sys of this
process from "connected" to the last ack; sha256 is that of the concatenated
attachments (computed after the measurement).
"""

import argparse
import asyncio
import hashlib
import json
import resource
import sys
import time

import socketio

RING = 64
RATE = 16000
CHANNELS = 1


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('--url', required=True)
    p.add_argument('--events', type=int, default=20000)
    p.add_argument('--size', type=int, default=2048)
    p.add_argument('--in-flight', type=int, default=32)
    p.add_argument('--event', default='audio_data')
    p.add_argument('--namespace', default='/')
    p.add_argument('--token', default=None)
    p.add_argument('--timeout', type=float, default=300)
    a = p.parse_args()
    if min(a.events, a.size, a.in_flight) < 0:
        p.error('negative values are not allowed')
    if not a.namespace.startswith('/'):
        p.error('--namespace must start with /')
    return a


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def run(o):
    # Same formula as node-client.js: both clients send identical bytes.
    ring = [bytes(((k * 131 + j * 7 + (j >> 8)) & 0xff) for j in range(o.size))
            for k in range(RING)]
    duration_ns = round((o.size / (2 * CHANNELS)) * 1e9 / RATE)

    def payload(i):
        return {'audio_data': ring[i % RING], 'seq': i, 'pts': i * duration_ns,
                'duration': duration_ns, 'format': 'S16LE', 'rate': RATE,
                'channels': CHANNELS}

    sio = socketio.AsyncClient(reconnection=False)
    ns = o.namespace
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    window = asyncio.Semaphore(max(o.in_flight, 1))
    finished = False

    async def on_disconnect():
        # a server-side disconnect would otherwise leave us waiting for acks
        if not finished and not done.done():
            done.set_exception(RuntimeError('disconnected early'))
            window.release()  # unblock the sending loop
    sio.on('disconnect', on_disconnect, namespace=ns)
    await sio.connect(o.url, transports=['websocket'], namespaces=[ns],
                      auth={'token': o.token} if o.token is not None else None,
                      wait_timeout=10)

    t0 = time.monotonic()
    cpu0 = cpu_seconds()
    if o.in_flight == 0:
        for i in range(o.events):
            await sio.emit(o.event, payload(i), namespace=ns)
        await sio.emit('bench_barrier', namespace=ns,
                       callback=lambda *a: done.done() or done.set_result(None))
        await done
    elif o.events > 0:
        acked = 0

        def on_ack(*args):
            nonlocal acked
            acked += 1
            window.release()
            if acked == o.events and not done.done():
                done.set_result(None)

        for i in range(o.events):
            await window.acquire()
            if done.done():
                break  # disconnected: "await done" raises
            await sio.emit(o.event, payload(i), namespace=ns, callback=on_ack)
        await done
    wall = time.monotonic() - t0
    cpu = cpu_seconds() - cpu0
    finished = True
    await sio.disconnect()

    h = hashlib.sha256()
    for i in range(o.events):
        h.update(ring[i % RING])
    nbytes = o.events * o.size
    return {
        'client': 'python',
        'events': o.events,
        'bytes': nbytes,
        'in_flight': o.in_flight,
        'wall_s': round(wall, 4),
        'cpu_s': round(cpu, 4),
        'events_per_s': round(o.events / wall, 1) if wall > 0 else None,
        'cpu_s_per_mb': round(cpu / (nbytes / 1e6), 5) if nbytes else 0,
        'max_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'sha256': h.hexdigest(),
    }


def main():
    o = parse_args()
    try:
        out = asyncio.run(asyncio.wait_for(run(o), o.timeout))
    except asyncio.TimeoutError:
        print('python-client.py: timed out after %g s' % o.timeout, file=sys.stderr)
        sys.exit(1)
    except socketio.exceptions.ConnectionError as e:
        print('python-client.py: connect error: %s' % e, file=sys.stderr)
        sys.exit(1)
    except RuntimeError as e:
        print('python-client.py: %s' % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
