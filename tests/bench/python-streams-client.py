#!/usr/bin/python3
"""The peer of streams-bench (issue 11): N python-socketio 5.7 (Debian)
sync socketio.Client objects in one process, one per stream, each driven by
a thread of its own (the way the applications we replace do it), WebSocket
only (websocket-client, Debian python3-websocket). Each emits what
socketiosink sends, a 2048-byte audio_data event every 64 ms with an ack,
on an absolute schedule shared by all streams.

  /usr/bin/python3 python-streams-client.py --url URL [--url URL]...
      [-n STREAMS] [-s SECONDS] [--warmup S] [--linger S] [--connect-wait S]

Same sequence, markers and JSON fields as streams-bench (see
tests/bench/README.md): every thread connects its client (connect_ms from
starting the first thread to the last connect), all stream --warmup s, the
window of -s s is measured (CPU from getrusage(RUSAGE_SELF), every thread;
acks per stream; threads and RSS at its end), "# window start" / "# window
end" on stdout, --linger s more, disconnect, print the JSON line.
"""

import argparse
import json
import resource
import sys
import threading
import time

import socketio

PERIOD_S = 0.064
EVENTS_PER_S = 1 / PERIOD_S
REALTIME_FRACTION = 0.99
DURATION_NS = 64_000_000
CHUNK = bytes(2048)


def proc_status(key):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(key + ':'):
                return int(line.split()[1])
    return 0


def cpu_ms():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return (ru.ru_utime + ru.ru_stime) * 1000


class Stream:
    def __init__(self, bench, url):
        self.bench = bench
        self.url = url
        self.client = socketio.Client()
        self.connected = False
        self.emitted = 0
        self.acked = 0  # incremented by the client's reader thread only
        self.acked_at_start = 0
        self.client.on('disconnect', self.on_disconnect)

    def on_disconnect(self):
        with self.bench.lock:
            self.bench.disconnects += 1

    def on_ack(self, *args):
        self.acked += 1

    def run(self):
        bench = self.bench
        try:
            # wait_timeout: the namespace join, 1 s by default, too short
            # with hundreds of clients joining at once
            self.client.connect(self.url, transports=['websocket'],
                                wait_timeout=10)
        except Exception as e:  # noqa: BLE001 - counted, reported once
            with bench.lock:
                if bench.first_error is None:
                    bench.first_error = str(e)
            return
        with bench.lock:
            self.connected = True
            bench.connected += 1
            bench.last_connected = time.monotonic()
            bench.cond.notify_all()
        bench.started.wait()
        seq = 0
        while not bench.stopped:
            try:
                self.client.emit('audio_data', {
                    'audio_data': CHUNK, 'seq': seq, 'pts': seq * DURATION_NS,
                    'duration': DURATION_NS, 'format': 'S16LE', 'rate': 16000,
                    'channels': 1}, callback=self.on_ack)
                self.emitted += 1
            except socketio.exceptions.BadNamespaceError:
                pass  # disconnected: python-socketio drops the emit
            seq += 1
            delay = bench.start + seq * PERIOD_S - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        self.client.disconnect()


class Bench:
    def __init__(self):
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.connected = 0
        self.last_connected = 0.0
        self.first_error = None
        self.disconnects = 0
        self.started = threading.Event()
        self.start = 0.0
        self.stopped = False


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--url', action='append', required=True)
    p.add_argument('-n', '--streams', type=int, default=100)
    p.add_argument('-s', '--seconds', type=int, default=20)
    p.add_argument('--warmup', type=float, default=2)
    p.add_argument('--linger', type=float, default=1)
    p.add_argument('--connect-wait', type=float, default=15)
    args = p.parse_args()
    n = args.streams

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    bench = Bench()
    threads_before = proc_status('Threads')
    rss_before_kb = proc_status('VmRSS')
    streams = [Stream(bench, args.url[i % len(args.url)]) for i in range(n)]
    rss_created_kb = proc_status('VmRSS')
    t0 = time.monotonic()
    workers = [threading.Thread(target=s.run, daemon=True) for s in streams]
    for w in workers:
        w.start()
    deadline = t0 + args.connect_wait
    with bench.lock:
        while bench.connected < n and time.monotonic() < deadline:
            bench.cond.wait(max(0.0, deadline - time.monotonic()))
        connected = bench.connected
        connect_ms = (bench.last_connected - t0) * 1000 if connected == n else None
    bench.start = time.monotonic()
    bench.started.set()
    time.sleep(args.warmup)

    for s in streams:
        s.acked_at_start = s.acked
    with bench.lock:
        disconnects_at_start = bench.disconnects
    window_start = time.monotonic()
    cpu_start = cpu_ms()
    print('# window start', flush=True)
    time.sleep(args.seconds)
    cpu_window = cpu_ms() - cpu_start
    window_s = time.monotonic() - window_start
    threads = proc_status('Threads')
    rss_end_kb = proc_status('VmRSS')
    expected = window_s * EVENTS_PER_S
    acked = 0
    realtime = 0
    for s in streams:
        k = s.acked - s.acked_at_start
        acked += k
        if k >= REALTIME_FRACTION * expected - 1:
            realtime += 1
    with bench.lock:
        disconnects_in_window = bench.disconnects - disconnects_at_start
    print('# window end', flush=True)
    time.sleep(args.linger)
    bench.stopped = True
    for w in workers:
        w.join(timeout=5)

    print(json.dumps({
        'client': 'python-socketio', 'source': 'thread', 'streams': n,
        'servers': len(args.url), 'window_s': round(window_s, 3),
        'connected': connected, 'failed': n - connected,
        'first_error': bench.first_error,
        'connect_ms': round(connect_ms, 1) if connect_ms is not None else None,
        'cpu_ms': round(cpu_window, 1),
        'cpu_ms_per_stream_s': round(cpu_window / (n * window_s), 4),
        'threads': threads, 'threads_before': threads_before,
        'rss_before_kb': rss_before_kb, 'rss_created_kb': rss_created_kb,
        'rss_end_kb': rss_end_kb,
        'rss_kb_per_stream': round((rss_end_kb - rss_before_kb) / n, 1),
        'max_rss_kb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        'acked': acked, 'per_stream_s': round(acked / (n * window_s), 3),
        'expected_per_stream_s': EVENTS_PER_S, 'realtime_streams': realtime,
        'behind_streams': n - realtime,
        'emitted': sum(s.emitted for s in streams),
        'disconnects_in_window': disconnects_in_window,
    }), flush=True)
    # daemon threads of clients that did not stop in time die with us
    sys.exit(0)


if __name__ == '__main__':
    main()
