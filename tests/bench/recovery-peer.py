#!/usr/bin/python3
"""Recovery benchmark peer: Debian's python-socketio 5.7 AsyncClient with
reconnection on, streaming 16 kHz mono S16 at real time (one 2048-byte event
= 64 ms) while run-recovery.sh kills and restarts the server.

  /usr/bin/python3 recovery-peer.py --url http://127.0.0.1:PORT
      [--duration 20] [--size 2048] [--reconnect-delay-ms 1000]
      [--reconnect-delay-max-ms 5000] [--drain-timeout 30]
      [--event audio_data] [--namespace /]

python-socketio 5.7 does NOT re-send anything after a reconnect: emit()
raises BadNamespaceError while disconnected, and on a transport close the
client forgets every pending ack callback (self.callbacks = {}) without
calling it. So this peer does what users have to write themselves: it keeps
every produced event until its ack arrives, and after each reconnect sends
again, in seq order and flagged "replay": true, every one not yet acked
(those of the lost connection included), then carries on with the live
stream. One task sends (emit() must not run concurrently: a binary event is
two Engine.IO packets). Nothing is ever dropped: the backlog is unbounded,
as in a hand-written client.

Production starts at the first connect and runs for --duration seconds on an
absolute schedule; then it waits up to --drain-timeout s for the backlog to be
acked and prints one JSON line, same fields as recovery-peer.js.
"""

import argparse
import asyncio
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
    p.add_argument('--duration', type=float, default=20)
    p.add_argument('--size', type=int, default=2048)
    p.add_argument('--reconnect-delay-ms', type=float, default=1000)
    p.add_argument('--reconnect-delay-max-ms', type=float, default=5000)
    p.add_argument('--drain-timeout', type=float, default=30)
    p.add_argument('--event', default='audio_data')
    p.add_argument('--namespace', default='/')
    a = p.parse_args()
    if a.size <= 0 or a.size % 2:
        p.error('--size must be a positive even number')
    if min(a.duration, a.reconnect_delay_ms, a.reconnect_delay_max_ms,
           a.drain_timeout) < 0:
        p.error('negative values are not allowed')
    if not a.namespace.startswith('/'):
        p.error('--namespace must start with /')
    return a


def now_ms():
    return int(time.time() * 1000)


async def run(o):
    ring = [bytes(((k * 131 + j * 7 + (j >> 8)) & 0xff) for j in range(o.size))
            for k in range(RING)]
    frame_s = (o.size / (2 * CHANNELS)) / RATE
    duration_ns = round(frame_s * 1e9)
    total = round(o.duration / frame_s)
    ns = o.namespace

    # python-socketio's own defaults are 1 s / 5 s, jitter +-0.5 s (additive)
    sio = socketio.AsyncClient(reconnection=True, reconnection_attempts=0,
                               reconnection_delay=o.reconnect_delay_ms / 1000,
                               reconnection_delay_max=o.reconnect_delay_max_ms / 1000)
    loop = asyncio.get_running_loop()
    unacked = {}            # seq -> payload, in seq order (insertion order)
    to_send = []            # seqs to send, ascending; consumed from send_pos
    send_pos = 0
    wake = asyncio.Event()
    first_connect = loop.create_future()
    st = {'produced': 0, 'acked': 0, 'resent': 0, 'max_unacked': 0,
          'connects': 0, 'reconnects': [], 'disconnects': []}
    max_sent_seq = -1
    drained = asyncio.Event()

    def on_connect():
        nonlocal to_send, send_pos
        st['connects'] += 1
        if st['connects'] == 1:
            first_connect.set_result(None)
        else:
            st['reconnects'].append({'connected_ms': now_ms(), 'first_ack_ms': None})
        # everything not acked yet, the lost connection's in-flight included
        to_send = list(unacked)
        send_pos = 0
        wake.set()

    def on_disconnect():
        # python-socketio 5.7 does not tell why
        st['disconnects'].append({'at_ms': now_ms(), 'reason': None})

    sio.on('connect', on_connect, namespace=ns)
    sio.on('disconnect', on_disconnect, namespace=ns)

    def make_ack(seq):
        def on_ack(*args):
            if unacked.pop(seq, None) is None:
                return  # acked before (a replay's twin)
            st['acked'] += 1
            if st['reconnects'] and st['reconnects'][-1]['first_ack_ms'] is None:
                st['reconnects'][-1]['first_ack_ms'] = now_ms()
            if st['produced'] == total and not unacked:
                drained.set()
        return on_ack

    async def sender():
        nonlocal send_pos, max_sent_seq
        while True:
            await wake.wait()
            wake.clear()
            while send_pos < len(to_send) and sio.connected:
                seq = to_send[send_pos]
                send_pos += 1
                payload = unacked.get(seq)
                if payload is None:
                    continue  # acked meanwhile
                if seq <= max_sent_seq:
                    payload['replay'] = True
                    st['resent'] += 1
                try:
                    await sio.emit(o.event, payload, namespace=ns,
                                   callback=make_ack(seq))
                except socketio.exceptions.BadNamespaceError:
                    break  # disconnected: on_connect rebuilds to_send
                max_sent_seq = max(max_sent_seq, seq)
            if send_pos > 4096:  # keep the list short
                del to_send[:send_pos]
                send_pos = 0

    async def producer():
        t0 = loop.time()
        for seq in range(total):
            delay = t0 + seq * frame_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            unacked[seq] = {'audio_data': ring[seq % RING], 'seq': seq,
                            'pts': seq * duration_ns, 'duration': duration_ns,
                            'format': 'S16LE', 'rate': RATE, 'channels': CHANNELS}
            to_send.append(seq)
            st['produced'] += 1
            st['max_unacked'] = max(st['max_unacked'], len(unacked))
            wake.set()
        if not unacked:
            drained.set()

    await sio.connect(o.url, transports=['websocket'], namespaces=[ns],
                      wait_timeout=10)
    await first_connect
    started_ms = now_ms()
    send_task = asyncio.ensure_future(sender())
    await producer()
    try:
        await asyncio.wait_for(drained.wait(), o.drain_timeout)
    except asyncio.TimeoutError:
        pass
    send_task.cancel()
    out = {
        'client': 'python',
        'library': 'python-socketio 5.7 AsyncClient (re-send by the app)',
        'frame_bytes': o.size,
        'duration_s': o.duration,
        'produced': st['produced'],
        'acked': st['acked'],
        'resent': st['resent'],
        'dropped': 0,
        'unacked_at_end': len(unacked),
        'max_unacked': st['max_unacked'],
        'max_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'reconnect_attempts': None,  # not exposed by python-socketio 5.7
        'started_ms': started_ms,
        'reconnects': st['reconnects'],
        'disconnects': st['disconnects'],
        'options': {'reconnect_delay_ms': o.reconnect_delay_ms,
                    'reconnect_delay_max_ms': o.reconnect_delay_max_ms},
    }
    await sio.disconnect()
    return out


def main():
    o = parse_args()
    try:
        out = asyncio.run(run(o))
    except socketio.exceptions.ConnectionError as e:
        print('recovery-peer.py: connect error: %s' % e, file=sys.stderr)
        sys.exit(1)
    print(json.dumps(out), flush=True)


if __name__ == '__main__':
    main()
