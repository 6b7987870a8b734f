#!/usr/bin/python3
# gst-socketio
# Copyright (C) 2026 gst-socketio contributors
#
# This library is free software; you can redistribute it and/or
# modify it under the terms of the GNU Library General Public
# License as published by the Free Software Foundation; either
# version 2.1 of the License, or (at your option) any later version.
"""A Socket.IO cluster on loopback, and faults while pipelines stream
through it (issue 11): redis-server, three tests/server/cluster-node.js
(socket.io 4.8 + @socket.io/redis-adapter, recording every audio event in
redis before acking it) and nginx in front, configured with
docs/deploying.md's example itself. Every process is this test's child, on free ports of
127.0.0.1, and is stopped at the end.

Each fault is a test case: the client's node killed, the client's node
frozen, nginx restarted, redis down 10 s, a rolling restart, an event
emitted on another node, and 50 pipelines with one node killed. For each,
the store is read back: no hole in the timeline that the elements did not
count as dropped, duplicates only as flagged replays or late originals,
and the recovery time is printed.

    cluster.py [ClusterTest.test_NAME]...   (SIO_TEST_SERVER_DIR, and
    GST_PLUGIN_PATH_1_0 for a build tree, as meson sets them)
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

import gi

gi.require_version('Gst', '1.0')
from gi.repository import Gst  # noqa: E402

SERVER_DIR = os.environ['SIO_TEST_SERVER_DIR']
NODE_NAMES = ('a', 'b', 'c')

FRAME_SAMPLES = 1024
FRAME_NS = FRAME_SAMPLES * Gst.SECOND // 16000      # 64 ms
# The timings docs/deploying.md asks for: the nodes ping every second (a
# dead link is seen within 2 s), nginx gives up on a silent upstream after
# 3 s, which is below the sink's connect-timeout (5 s), so a frozen node
# costs one nginx timeout and the reconnection goes on to another node.
NODE_PING_MS = 1000
PROXY_READ_TIMEOUT_S = 3       # docs/deploying.md's (checked at start)
CONNECT_TIMEOUT_NS = 5 * Gst.SECOND
# ackqueue keeps 15 s: the longest outage here (redis, 10 s) and its
# recovery. The pool follows docs/memory.md's rule: 234 + 33 + 1 <= 300.
QUEUE_TIME_NS = 15 * Gst.SECOND
POOL_FRAMES = 300
ACK_TIMEOUT_NS = 30 * Gst.SECOND

PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent():
    # redis and nginx do not watch stdin: the kernel ends them if we die
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def wait_for(predicate, what, timeout=10.0, interval=0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f'timed out waiting for {what}')


def redis_command(port, command):
    """One inline command; the first line of the answer, or None."""
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=2) as s:
            s.sendall(command.encode() + b'\r\n')
            return s.makefile('rb').readline().decode().strip()
    except OSError:
        return None


def can_connect(port):
    try:
        socket.create_connection(('127.0.0.1', port), timeout=1).close()
        return True
    except OSError:
        return False


DOCS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                        '..', '..', 'docs')

# The http block of nginx.conf: around docs/deploying.md's example, which
# is what runs, with this test's addresses and ports put in.
NGINX_CONF = """\
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
{example}
}}
"""


def deploying_example():
    """The ```nginx block of docs/deploying.md."""
    with open(os.path.join(DOCS_DIR, 'deploying.md')) as f:
        text = f.read()
    match = re.search(r'^```nginx\n(.*?)^```$', text, re.M | re.S)
    assert match, 'docs/deploying.md has no nginx example'
    return match.group(1)


def nginx_conf(dir, listen_port, node_ports):
    example = deploying_example()
    servers = iter(node_ports)
    example, count = re.subn(r'server 10\.0\.0\.1[0-9]:3000',
                             lambda m: f'server 127.0.0.1:{next(servers)}',
                             example)
    assert count == len(node_ports), ('upstream servers in the example', count)
    example, count = re.subn(r'listen 80;', f'listen 127.0.0.1:{listen_port};',
                             example)
    assert count == 1, 'listen in the example'
    return NGINX_CONF.format(dir=dir, example=example)


def proxy_read_timeout_s():
    match = re.search(r'proxy_read_timeout (\d+)s;', deploying_example())
    return int(match.group(1))




class Cluster:
    """redis, three nodes and nginx, each a child process."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='sio-cluster-')
        self.procs = {}
        self.node_ports = {}
        self.redis_port = free_port()
        self.nginx_port = free_port()
        try:
            self.start_redis()
            for name in NODE_NAMES:
                self.start_node(name)
            self.write_nginx_conf()
            self.start_nginx()
        except BaseException:
            self.stop()
            raise

    # --- processes ---------------------------------------------------------

    def _spawn(self, key, argv, **kwargs):
        log = open(os.path.join(self.dir, key + '.log'), 'ab')
        self.procs[key] = subprocess.Popen(
            argv, stdout=kwargs.pop('stdout', log), stderr=log,
            preexec_fn=_die_with_parent, **kwargs)
        log.close()
        return self.procs[key]

    def start_redis(self):
        self._spawn('redis', [
            'redis-server', '--port', str(self.redis_port),
            '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
            '--dir', self.dir, '--dbfilename', 'store.rdb',
            '--daemonize', 'no'], stdin=subprocess.DEVNULL)
        wait_for(lambda: redis_command(self.redis_port, 'PING') == '+PONG',
                 'redis')

    def stop_redis(self):
        """SHUTDOWN SAVE: the store survives the restart."""
        redis_command(self.redis_port, 'SHUTDOWN SAVE')
        self.procs.pop('redis').wait(timeout=10)

    def start_node(self, name):
        port = self.node_ports.get(name, 0)
        proc = self._spawn('node-' + name, [
            'node', os.path.join(SERVER_DIR, 'cluster-node.js'),
            '--port', str(port), '--redis-port', str(self.redis_port),
            '--name', name, '--ping-interval', str(NODE_PING_MS),
            '--ping-timeout', str(NODE_PING_MS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = proc.stdout.readline().split()
        assert line[:1] == ['LISTENING'], (name, line)
        self.node_ports[name] = int(line[1])

    def node_pid(self, name):
        return self.procs['node-' + name].pid

    def kill_node(self, name, sig=signal.SIGKILL):
        proc = self.procs.pop('node-' + name)
        proc.send_signal(sig)
        proc.wait(timeout=10)
        proc.stdin.close()
        proc.stdout.close()

    def write_nginx_conf(self):
        with open(os.path.join(self.dir, 'nginx.conf'), 'w') as f:
            f.write(nginx_conf(self.dir, self.nginx_port,
                               [self.node_ports[n] for n in NODE_NAMES]))

    def start_nginx(self):
        self._spawn('nginx', [
            'nginx', '-c', os.path.join(self.dir, 'nginx.conf'),
            '-p', self.dir, '-e', os.path.join(self.dir, 'error.log'),
            '-g', 'daemon off;'], stdin=subprocess.DEVNULL)
        wait_for(lambda: can_connect(self.nginx_port), 'nginx')

    def stop_nginx(self):
        proc = self.procs.pop('nginx')
        proc.terminate()
        proc.wait(timeout=10)

    def stop(self):
        for key, proc in list(self.procs.items()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.kill()
            proc.wait(timeout=10)
            for stream in (proc.stdin, proc.stdout):
                if stream:
                    stream.close()
        self.procs.clear()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- control API ---------------------------------------------------------

    def control(self, name, path, timeout=5):
        url = f'http://127.0.0.1:{self.node_ports[name]}/control/{path}'
        with urllib.request.urlopen(url, timeout=timeout) as reply:
            return json.load(reply)

    def live_nodes(self):
        return [n for n in NODE_NAMES if 'node-' + n in self.procs]

    def node_of(self, client):
        """The node the client is connected to now, or None."""
        for name in self.live_nodes():
            if client in self.control(name, 'stats')['clients']:
                return name
        return None

    def store(self, client):
        name = self.live_nodes()[0]
        return self.control(name, 'store?client=' + urllib.parse.quote(client),
                            timeout=30)


class Pipe:
    """leakyframepool ! ackqueue ! socketiosink through nginx, live."""

    def __init__(self, cluster, client, frames):
        self.client = client
        self.frames = frames
        self.events = []        # (monotonic time, kind, name or text)
        location = (f'http://127.0.0.1:{cluster.nginx_port}/socket.io/'
                    f'?client={client}')
        self.pipeline = Gst.parse_launch(
            'audiotestsrc is-live=true wave=white-noise '
            f'samplesperbuffer={FRAME_SAMPLES} num-buffers={frames} ! '
            'audio/x-raw,format=S16LE,rate=16000,channels=1 ! '
            f'leakyframepool name=pool frame-samples={FRAME_SAMPLES} '
            f'max-frames={POOL_FRAMES} ! '
            f'ackqueue name=queue max-size-time={QUEUE_TIME_NS} '
            'max-size-buffers=0 max-size-bytes=0 leaky=downstream ! '
            f'socketiosink name=sink location={location} transports=websocket '
            f'connect-timeout={CONNECT_TIMEOUT_NS} '
            f'ack-timeout={ACK_TIMEOUT_NS} reconnect-delay=100000000 '
            'reconnect-delay-max=1000000000 reconnect-on-server-disconnect=true')
        # every message is noted from the thread that posts it
        self.pipeline.get_bus().set_sync_handler(self._on_message)

    def _on_message(self, bus, msg):
        kind = msg.type
        if kind == Gst.MessageType.ELEMENT:
            s = msg.get_structure()
            detail = s.get_name()
            if detail == 'socketio-event':
                detail += ':' + s.get_string('name') + s.get_string('args')
            self.events.append((time.monotonic(), 'element', detail))
        elif kind in (Gst.MessageType.ERROR, Gst.MessageType.WARNING):
            error = (msg.parse_error() if kind == Gst.MessageType.ERROR
                     else msg.parse_warning())[0]
            self.events.append((time.monotonic(), kind.first_value_nick,
                                error.message))
        elif kind in (Gst.MessageType.EOS, Gst.MessageType.QOS):
            self.events.append((time.monotonic(), kind.first_value_nick, ''))
        return Gst.BusSyncReply.DROP

    def play(self):
        self.pipeline.set_state(Gst.State.PLAYING)

    def stop(self):
        self.pipeline.set_state(Gst.State.NULL)
        self.pipeline.get_bus().set_sync_handler(None)

    def errors(self):
        return [text for _, kind, text in self.events if kind == 'error']

    def first(self, kind, name=None, since=0.0):
        """The time of the first such message after @since, or None."""
        for t, k, detail in list(self.events):
            if k == kind and t >= since and (name is None or
                                             detail.startswith(name)):
                return t
        return None

    def wait(self, kind, name=None, since=0.0, timeout=20.0):
        def seen():
            if self.errors():
                raise AssertionError(f'{self.client}: {self.errors()}')
            return self.first(kind, name, since)
        return wait_for(seen, f'{self.client}: {kind} {name or ""}', timeout)

    def stat(self, element, field):
        stats = self.pipeline.get_by_name(element).get_property('stats')
        return stats.get_value(field)


def check_stream(cluster, pipe):
    """Reads the client's store back and checks it against the counters;
    returns the figures for the report."""
    store = cluster.store(pipe.client)
    arrivals = store['arrivals']
    seen = {int(seq): arrivals[aid] for seq, aid in store['seen'].items()}
    first_ids = set(store['seen'].values())
    seqs = sorted(seen)
    received = pipe.stat('queue', 'received-buffers')
    acked = pipe.stat('queue', 'acked-buffers')
    queue_dropped = pipe.stat('queue', 'dropped-buffers')
    pool_dropped = pipe.stat('pool', 'frames-dropped')
    unacknowledged = pipe.stat('sink', 'unacknowledged')
    where = pipe.client

    # the audio produced reached ackqueue, or was dropped and counted
    assert received + pool_dropped == pipe.frames, \
        (where, received, pool_dropped, pipe.frames)
    # at EOS every buffer is acked or counted as dropped
    assert acked + queue_dropped == received, \
        (where, acked, queue_dropped, received)
    assert unacknowledged == 0, (where, unacknowledged)
    # an ack comes only after the record: every acked buffer is stored
    assert len(seqs) >= acked, (where, len(seqs), acked)
    # seqs are 0..received-1; the missing ones are dropped ones
    assert seqs == [] or (seqs[0] >= 0 and seqs[-1] < received), where
    missing_seqs = received - len(seqs)
    assert missing_seqs <= queue_dropped, (where, missing_seqs, queue_dropped)
    # the timeline: pts grows with seq, and its holes are exactly the
    # missing audio (a hole the elements did not count would show here)
    pts = [seen[s]['pts'] for s in seqs]
    assert all(a < b for a, b in zip(pts, pts[1:])), (where, 'pts order')
    hole_frames = sum((b - a) // FRAME_NS - 1 for a, b in zip(pts, pts[1:]))
    if pts:
        hole_frames += pts[0] // FRAME_NS
        hole_frames += pipe.frames - 1 - pts[-1] // FRAME_NS
    assert hole_frames == pipe.frames - len(seqs), \
        (where, hole_frames, pipe.frames, len(seqs))
    assert hole_frames <= queue_dropped + pool_dropped, \
        (where, hole_frames, queue_dropped, pool_dropped)
    if hole_frames:
        assert pipe.first('qos') is not None, (where, 'drops not announced')

    # duplicates: a replay says so; an unflagged one is an original that
    # came late, after its replay was stored (a frozen node resuming)
    replays = late = bad = 0
    for aid, arrival in arrivals.items():
        if aid in first_ids:
            continue
        if arrival['replay']:
            replays += 1
        elif seen[arrival['seq']]['replay']:
            late += 1
        else:
            bad += 1
    assert bad == 0, (where, 'unflagged duplicates', bad)

    # the longest wait for new audio at the servers
    times = [seen[s]['t'] for s in seqs]
    gap = max((b - a for a, b in zip(times, times[1:])), default=0) / 1000
    joins = ''.join(c['node'] for c in store['conns'])
    assert len(store['conns']) == pipe.stat('sink', 'reconnects') + 1, \
        (where, joins)
    return {'frames': pipe.frames, 'stored': len(seqs),
            'dropped': queue_dropped + pool_dropped,
            'arrivals': len(arrivals),
            'replayed': sum(a['replay'] for a in arrivals.values()),
            'replays': replays, 'late': late, 'gap': gap, 'joins': joins}


def report(name, figures, recovery):
    total = {k: sum(f[k] for f in figures)
             for k in ('frames', 'stored', 'dropped', 'arrivals', 'replayed',
                       'replays', 'late')}
    joins = ' '.join(sorted({f['joins'] for f in figures}))
    print(f'cluster {name}: {len(figures)} pipeline(s), {total["frames"]} '
          f'frames, {total["stored"]} stored, {total["dropped"]} dropped '
          f'(counted), {total["arrivals"]} arrivals ({total["replayed"]} '
          f'flagged replay), duplicates: {total["replays"]} replays, '
          f'{total["late"]} late originals; nodes joined '
          f'{joins}; recovery {recovery}; longest gap at the servers '
          f'{max(f["gap"] for f in figures):.2f} s', flush=True)
    return total


class ClusterTest(unittest.TestCase):

    def setUp(self):
        self.assertEqual(proxy_read_timeout_s(), PROXY_READ_TIMEOUT_S)
        self.assertLess(NODE_PING_MS / 1000, PROXY_READ_TIMEOUT_S)
        self.assertLess(PROXY_READ_TIMEOUT_S * Gst.SECOND, CONNECT_TIMEOUT_NS)
        self.cluster = Cluster()
        self.pipes = []

    def tearDown(self):
        for pipe in self.pipes:
            pipe.stop()
        self.cluster.stop()

    def stream(self, frames, count=1):
        self.pipes = [Pipe(self.cluster, f'p{i}', frames)
                      for i in range(count)]
        for pipe in self.pipes:
            pipe.play()
        for pipe in self.pipes:
            pipe.wait('element', 'socketio-connected')
        return self.pipes

    def finish(self, name, recovery):
        for pipe in self.pipes:
            pipe.wait('eos', timeout=60)
        for pipe in self.pipes:
            pipe.stop()
        figures = [check_stream(self.cluster, p) for p in self.pipes]
        return report(name, figures, recovery)

    def reconnected_after(self, pipe, since, timeout=15):
        back = pipe.wait('element', 'socketio-reconnected', since=since,
                         timeout=timeout)
        return back - since

    def test_node_killed(self):
        pipe, = self.stream(160)               # 10.2 s
        time.sleep(3)
        node = self.cluster.node_of('p0')
        fault = time.monotonic()
        self.cluster.kill_node(node)
        recovery = self.reconnected_after(pipe, fault)
        self.assertNotEqual(self.cluster.node_of('p0'), node)
        total = self.finish('node-killed',
                            f'{recovery:.2f} s (SIGKILL to reconnected)')
        self.assertEqual(total['stored'], 160)

    def test_node_frozen(self):
        pipe, = self.stream(200)               # 12.8 s
        time.sleep(2)
        node = self.cluster.node_of('p0')
        pid = self.cluster.node_pid(node)
        fault = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            detected = pipe.wait('element', 'socketio-disconnected',
                                 since=fault, timeout=10) - fault
            recovery = self.reconnected_after(pipe, fault)
            time.sleep(1)
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertNotEqual(self.cluster.node_of('p0'), node)
        total = self.finish('node-frozen',
                            f'{recovery:.2f} s (SIGSTOP to reconnected; '
                            f'loss seen after {detected:.2f} s)')
        self.assertEqual(total['stored'], 200)
        # the pings stop: seen within pingInterval + pingTimeout (and the
        # last ping's phase), never nginx's or the sink's longer timeouts
        self.assertLess(detected, 2 * NODE_PING_MS / 1000 + 1.2)
        # one nginx timeout on the frozen node, then another node
        self.assertLess(recovery, detected + PROXY_READ_TIMEOUT_S + 2)

    def test_nginx_restarted(self):
        pipe, = self.stream(160)
        time.sleep(3)
        fault = time.monotonic()
        self.cluster.stop_nginx()
        time.sleep(1)
        self.cluster.start_nginx()
        restarted = time.monotonic()
        recovery = self.reconnected_after(pipe, fault)
        self.finish('nginx-restarted',
                    f'{recovery:.2f} s (stop to reconnected; nginx was '
                    f'away {restarted - fault:.2f} s)')

    def test_redis_down(self):
        pipe, = self.stream(320)               # 20.5 s
        time.sleep(3)
        fault = time.monotonic()
        self.cluster.stop_redis()
        acked_at_fault = pipe.stat('queue', 'acked-buffers')
        time.sleep(10)
        # nothing was acknowledged without its record
        self.assertLessEqual(pipe.stat('queue', 'acked-buffers'),
                             acked_at_fault + 1)
        self.cluster.start_redis()
        back = time.monotonic()
        wait_for(lambda: pipe.stat('queue', 'acked-buffers') >
                 acked_at_fault + 1, 'acks after redis came back', 15)
        recovery = time.monotonic() - back
        self.assertEqual(pipe.stat('sink', 'reconnects'), 0)
        total = self.finish('redis-down',
                            f'{recovery:.2f} s (redis back to the next ack; '
                            f'no reconnection)')
        self.assertEqual(total['stored'], 320)

    def test_rolling_restart(self):
        pipe, = self.stream(200)               # 12.8 s
        time.sleep(2)
        recoveries = []
        pending = list(NODE_NAMES)
        while pending:
            # the client's node first, then the one it moved to, if not
            # restarted yet: the client moves as often as it can
            node = self.cluster.node_of('p0')
            name = node if node in pending else pending[0]
            pending.remove(name)
            holds_client = name == node
            fault = time.monotonic()
            self.cluster.kill_node(name, signal.SIGTERM)   # drains
            if holds_client:
                recoveries.append(self.reconnected_after(pipe, fault))
            self.cluster.start_node(name)
            time.sleep(1.5)
        self.assertGreaterEqual(len(recoveries), 2)
        total = self.finish('rolling-restart', ', '.join(
            f'{r:.2f} s' for r in recoveries) + ' (drain to reconnected)')
        self.assertEqual(total['stored'], 200)

    def test_event_from_another_node(self):
        pipe, = self.stream(80)                # 5.1 s
        time.sleep(1)
        node = self.cluster.node_of('p0')
        other = next(n for n in NODE_NAMES if n != node)
        args = urllib.parse.quote(json.dumps(['hello', {'from': other}]))
        sent = time.monotonic()
        self.cluster.control(other, f'emit?room=client:p0&event=transcript'
                             f'&args={args}')
        got = pipe.wait('element', 'socketio-event:transcript', since=sent,
                        timeout=5)
        detail = [d for t, k, d in pipe.events if t == got][0]
        self.assertEqual(json.loads(detail[len('socketio-event:transcript'):]),
                         ['hello', {'from': other}])
        self.finish('event-from-another-node',
                    f'{(got - sent) * 1000:.1f} ms (emit on node {other} '
                    f'to the bus of a client on node {node})')

    def test_fifty_pipelines_node_killed(self):
        pipes = self.stream(160, count=50)     # 10.2 s
        time.sleep(3)
        on = {n: [p for p in pipes if self.cluster.node_of(p.client) == n]
              for n in NODE_NAMES}
        node = max(NODE_NAMES, key=lambda n: len(on[n]))
        spread = '/'.join(str(len(on[n])) for n in NODE_NAMES)
        fault = time.monotonic()
        self.cluster.kill_node(node)
        recoveries = [self.reconnected_after(p, fault) for p in on[node]]
        total = self.finish(
            'fifty-pipelines-node-killed',
            f'pipelines on a/b/c {spread}, node {node} killed: slowest '
            f'{max(recoveries):.2f} s, median '
            f'{sorted(recoveries)[len(recoveries) // 2]:.2f} s')
        self.assertEqual(total['frames'], 50 * 160)
        self.assertEqual(total['stored'], 50 * 160)
        for pipe in pipes:
            expected = 1 if pipe in on[node] else 0
            self.assertEqual(pipe.stat('sink', 'reconnects'), expected,
                             pipe.client)


if __name__ == '__main__':
    Gst.init(None)
    for tool in ('redis-server', 'nginx', 'node'):
        if shutil.which(tool) is None and \
                not os.path.exists('/usr/sbin/' + tool):
            sys.exit(f'cluster.py: {tool} is missing: run tools/setup.sh')
    if shutil.which('nginx') is None:
        os.environ['PATH'] += ':/usr/sbin'
    unittest.main(verbosity=2)
