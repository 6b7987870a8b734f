#!/usr/bin/env python3
# gst-socketio
# Copyright (C) 2026 gst-socketio contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""gst-socketio-send against tests/server/server.js (socket.io 4.8).

    test-cli.py PATH/TO/gst-socketio-send

- a live tone under a pseudo-terminal: one status line rewritten with \\r,
  connected, sent and acked growing; SIGINT ends it with exit 0 after
  every event sent was acknowledged and the server received them all;
- a file with stdout on a pipe: one line per second, the whole file sent
  in real time, exit 0 at its end;
- SIGINT while acks are held: it waits; a second SIGINT exits 130;
- the socketio plugin absent: exit 2 and the message saying so;
- an unreachable server: exit 1 with the sink's error;
- bad options: exit 64 with a usage message naming the option;
- secrets from files (-H @FILE, --proxy-password @FILE): they reach the
  server and the proxy, and stay out of the process list.

Under the leaks tracer (meson test --setup leaks) every run's stderr is
also checked for leaked GStreamer objects. The server is a child holding a
pipe on its stdin, so it exits with this script whatever happens.
"""

import fcntl
import json
import math
import os
import pty
import re
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
import urllib.request
import wave

TOOL = sys.argv[1]
SERVER_DIR = os.environ["SIO_TEST_SERVER_DIR"]
STATUS = re.compile(r"(connected \(websocket\)|connecting|reconnecting|stopping)"
                    r"\s+([\d.]+) s\s+sent (\d+)\s+acked (\d+)")
SUMMARY = re.compile(r"streamed ([\d.]+) s: sent (\d+), acked (\d+), "
                     r"unacknowledged (\d+)")
failures = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


def tool_env(**changes):
    env = dict(os.environ, LC_ALL="C", LANGUAGE="C", GST_DEBUG_NO_COLOR="1")
    env.update(changes)
    return env


def check_no_leaks(stderr, case):
    if "leaks" in os.environ.get("GST_TRACERS", ""):
        check("Leaks detected" not in stderr and
              not re.search(r"object-alive, type-name=\(string\)[A-Za-z]",
                            stderr),
              f"{case}: no GStreamer object leaked")


class Server:
    def __init__(self):
        self.process = subprocess.Popen(
            ["node", os.path.join(SERVER_DIR, "server.js"), "--host",
             "127.0.0.1", "--port", "0", "--record-header", "authorization",
             "--record-header", "x-trace"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"server.js did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"

    def control(self, path):
        with urllib.request.urlopen(self.url + "/control/" + path,
                                    timeout=5) as answer:
            return json.load(answer)

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class PtyRun:
    """The tool with its stdout on a pseudo-terminal, stderr in a file."""

    def __init__(self, args):
        master, slave = pty.openpty()
        # 80 columns: the status line must fit, or it could not be rewritten
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        self.master = master
        self.stderr = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen([TOOL] + args, stdin=subprocess.DEVNULL,
                                        stdout=slave, stderr=self.stderr,
                                        env=tool_env())
        os.close(slave)
        self.output = ""

    def read_for(self, seconds):
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([self.master], [], [], left)
            if not ready:
                continue
            try:
                data = os.read(self.master, 65536)
            except OSError:     # EIO: the tool closed the terminal
                break
            if not data:
                break
            self.output += data.decode("utf-8", "replace")

    def finish(self, timeout=20):
        deadline = time.monotonic() + timeout
        while self.process.poll() is None and time.monotonic() < deadline:
            self.read_for(0.2)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self.read_for(0.2)
        os.close(self.master)
        self.stderr.seek(0)
        stderr = self.stderr.read()
        self.stderr.close()
        return self.process.returncode, stderr


def status_lines(output):
    return [tuple(m.groups()) for m in STATUS.finditer(output)]


def test_tone_under_pty(server):
    before = server.control("stats")
    run = PtyRun(["--source", "tone", server.url])
    run.read_for(3.5)
    lines = status_lines(run.output)
    check(run.process.poll() is None, "pty: still streaming after 3.5 s")
    check("\r" in run.output, "pty: the status line is rewritten with \\r")
    check("\n" not in run.output, "pty: no new line while streaming "
          f"({run.output!r})")
    check(len(lines) >= 2, f"pty: at least 2 status lines ({len(lines)})")
    widths = [len(segment.replace("\x1b[K", ""))
              for segment in run.output.split("\r") if segment]
    check(widths and max(widths) < 80,
          f"pty: the status line fits 80 columns ({widths})")
    check(any(line[0] == "connected (websocket)" for line in lines),
          "pty: the status line says connected (websocket)")
    if len(lines) >= 2:
        check(int(lines[-1][2]) > int(lines[0][2]) > 0,
              f"pty: sent grows ({lines[0][2]} -> {lines[-1][2]})")
        check(int(lines[-1][3]) > int(lines[0][3]),
              f"pty: acked grows ({lines[0][3]} -> {lines[-1][3]})")
        check(float(lines[-1][1]) > float(lines[0][1]),
              "pty: seconds streamed grow")
    run.process.send_signal(signal.SIGINT)
    code, stderr = run.finish()
    check(code == 0, f"pty: SIGINT exits 0 (got {code}; stderr {stderr!r})")
    summary = SUMMARY.search(run.output)
    if check(summary is not None, f"pty: a summary ({run.output[-300:]!r})"):
        sent, acked, unacked = (int(summary.group(i)) for i in (2, 3, 4))
        stats = server.control("stats")
        events = stats["events"] - before["events"]
        check(sent == acked and unacked == 0 and sent >= 40,
              f"pty: all {sent} events sent were acked ({acked}), "
              f"{unacked} unacknowledged")
        check(events == sent and stats["seqErrors"] == 0,
              f"pty: the server received the {sent} events ({events})")
    check_no_leaks(stderr, "pty")


def test_file_on_pipe(server, directory):
    path = os.path.join(directory, "tone.wav")
    samples = 16000 * 3 // 2
    with wave.open(path, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(16000)
        file.writeframes(b"".join(
            struct.pack("<h", int(8000 * math.sin(i / 10)))
            for i in range(samples)))
    before = server.control("stats")
    started = time.monotonic()
    result = subprocess.run([TOOL, "--source", "file:" + path, server.url],
                            capture_output=True, text=True, env=tool_env(),
                            timeout=30)
    took = time.monotonic() - started
    frames = math.ceil(samples / 1024)
    check(result.returncode == 0, f"file: exit 0 at its end "
          f"(got {result.returncode}; {result.stderr!r})")
    check("\r" not in result.stdout and len(status_lines(result.stdout)) >= 1,
          f"file: one status line per second on a pipe ({result.stdout!r})")
    check(1.3 < took < 10, f"file: played in real time ({took:.1f} s)")
    summary = SUMMARY.search(result.stdout)
    events = server.control("stats")["events"] - before["events"]
    check(summary is not None and summary.group(2) == str(frames) and
          summary.group(3) == str(frames) and events == frames,
          f"file: {frames} frames sent and acked, {events} received")
    check_no_leaks(result.stderr, "file")


def test_second_interrupt(server):
    server.control("config?ack=0")
    try:
        run = PtyRun(["-s", "tone", server.url])
        run.read_for(1.5)
        run.process.send_signal(signal.SIGINT)
        run.read_for(1.5)
        check(run.process.poll() is None,
              "twice: waits for the held acks after one SIGINT")
        check("stopping" in run.output, "twice: the status line says stopping")
        run.process.send_signal(signal.SIGINT)
        code, stderr = run.finish(timeout=5)
        check(code == 130, f"twice: a second SIGINT exits 130 (got {code})")
        check("interrupted again" in stderr, f"twice: says so ({stderr!r})")
        check_no_leaks(stderr, "twice")
    finally:
        server.control("config?ack=1")
        server.control("release")


def test_server_disconnect(server):
    """--reconnect-on-server-disconnect reaches the sink: a server's
    DISCONNECT (a draining node) is followed by a new connection, not an
    error."""
    before = server.control("stats")
    run = subprocess.Popen([TOOL, "-s", "tone", "-t", "3",
                            "--reconnect-on-server-disconnect", server.url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, env=tool_env())
    time.sleep(1.2)
    server.control("disconnect?close=0")
    stdout, stderr = run.communicate(timeout=30)
    summary = SUMMARY.search(stdout)
    events = server.control("stats")["events"] - before["events"]
    check(run.returncode == 0, f"disconnect: exit 0 after the server's "
          f"DISCONNECT (got {run.returncode}; {stderr!r})")
    # 3 s are about 47 events, 19 of them before the DISCONNECT
    check(summary is not None and summary.group(2) == summary.group(3) and
          events > 30,
          f"disconnect: streamed on after it ({stdout!r}, {events} received)")
    check_no_leaks(stderr, "disconnect")


def start_proxy(auth):
    proxy = subprocess.Popen(
        ["node", os.path.join(SERVER_DIR, "proxy.js"), "--host", "127.0.0.1",
         "--port", "0", "--auth", auth],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    line = proxy.stdout.readline()
    if not line.startswith("LISTENING "):
        proxy.kill()
        proxy.wait()
        raise RuntimeError(f"proxy.js did not start: {line!r}")
    return proxy, f"http://127.0.0.1:{int(line.split()[1])}"


def test_secrets_from_files(server, directory):
    """-H @FILE and --proxy-password @FILE: the header and the password come
    from files, so neither is on the command line that ps shows."""
    headers = os.path.join(directory, "headers")
    with open(headers, "w") as out:
        out.write("# sent on every request\n"
                  "Authorization: Bearer s3cret-token\n\n"
                  "X-Trace:  abc \n")
    password = os.path.join(directory, "proxy-password")
    with open(password, "w") as out:
        out.write("pa55word\n")
    proxy, proxy_url = start_proxy("user:pa55word")
    try:
        before = len(server.control("stats")["handshakeHeaders"])
        args = [TOOL, "-s", "tone", "-t", "1.5", "--transports", "polling",
                "-H", "@" + headers, "--proxy", proxy_url, "--proxy-user",
                "user", "--proxy-password", "@" + password, server.url]
        result = subprocess.run(args, capture_output=True, text=True,
                                env=tool_env(), timeout=30)
        seen = server.control("stats")["handshakeHeaders"][before:]
    finally:
        proxy.stdin.close()
        try:
            proxy.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proxy.kill()
            proxy.wait()
    check(result.returncode == 0,
          f"secret files: exit 0 through the proxy with the password from a "
          f"file (got {result.returncode}, {result.stderr!r})")
    check(len(seen) > 0 and
          seen[0].get("authorization") == "Bearer s3cret-token" and
          seen[0].get("x-trace") == "abc",
          f"secret files: the headers from the file reach the server ({seen})")
    check("s3cret" not in " ".join(args) and "pa55word" not in " ".join(args),
          "secret files: no secret on the command line")
    check("s3cret" not in result.stdout + result.stderr and
          "pa55word" not in result.stdout + result.stderr,
          "secret files: no secret in the output")
    check_no_leaks(result.stderr, "secret files")

    bad = os.path.join(directory, "bad-headers")
    with open(bad, "w") as out:
        out.write("Authorization Bearer s3cret-token\n")
    cases = [
        (["-H", "@" + bad], "--header must be 'NAME: VALUE'"),
        (["-H", "@" + os.path.join(directory, "missing")], "--header: "),
        (["--proxy", "http://127.0.0.1:9", "--proxy-user", "user",
          "--proxy-password", "@" + os.path.join(directory, "missing")],
         "--proxy-password: "),
    ]
    for extra, message in cases:
        result = subprocess.run([TOOL, "-s", "tone"] + extra +
                                ["http://127.0.0.1:9"], capture_output=True,
                                text=True, env=tool_env(), timeout=30)
        check(result.returncode == 64 and message in result.stderr and
              "s3cret" not in result.stderr,
              f"secret files: {' '.join(extra)} exits 64 with {message!r} "
              f"and no secret (got {result.returncode}, {result.stderr!r})")


def test_plugin_absent(directory):
    empty = os.path.join(directory, "no-plugins")
    os.makedirs(empty, exist_ok=True)
    env = tool_env(GST_REGISTRY=os.path.join(directory, "registry.bin"),
                   GST_PLUGIN_SYSTEM_PATH=empty,
                   GST_PLUGIN_SYSTEM_PATH_1_0=empty)
    for name in ("GST_PLUGIN_PATH", "GST_PLUGIN_PATH_1_0", "GST_REGISTRY_1_0"):
        env.pop(name, None)
    result = subprocess.run([TOOL, "-s", "tone", "http://127.0.0.1:9"],
                            capture_output=True, text=True, env=env,
                            timeout=30)
    check(result.returncode == 2, f"absent: exit 2 (got {result.returncode})")
    check("socketio GStreamer plugin is not installed" in result.stderr and
          "GST_PLUGIN_PATH" in result.stderr,
          f"absent: says the plugin is not installed ({result.stderr!r})")


def test_unreachable():
    with socket.socket() as probe:      # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = subprocess.run(
        [TOOL, "-s", "tone", "--connect-timeout", "5",
         f"http://127.0.0.1:{port}"],
        capture_output=True, text=True, env=tool_env(), timeout=30)
    check(result.returncode == 1,
          f"unreachable: exit 1 (got {result.returncode})")
    check("Could not connect to the Socket.IO server at http://127.0.0.1:"
          f"{port}" in result.stderr,
          f"unreachable: the sink's error ({result.stderr!r})")
    check_no_leaks(result.stderr, "unreachable")


def test_bad_options():
    cases = [
        (["--bogus", "http://127.0.0.1:9"], "Unknown option --bogus"),
        (["-s", "tone"], "the server's URL is missing"),
        (["--max-in-flight", "0", "http://127.0.0.1:9"],
         "--max-in-flight 0 is out of range: it must be from 1 to 65535"),
        (["--transports", "pigeon", "http://127.0.0.1:9"],
         '--transports: unknown value "pigeon"'),
        (["--rate", "12", "http://127.0.0.1:9"], "--rate must be from"),
        (["--max-frames", "8", "http://127.0.0.1:9"],
         "--max-frames 8 leaves no room"),
        (["ftp://127.0.0.1:9"], "the URL must start with"),
    ]
    for args, message in cases:
        result = subprocess.run([TOOL] + args, capture_output=True, text=True,
                                env=tool_env(), timeout=30)
        check(result.returncode == 64 and message in result.stderr and
              "--help" in result.stderr,
              f"usage: {' '.join(args)} exits 64 with {message!r} "
              f"(got {result.returncode}, {result.stderr!r})")


def main():
    server = Server()
    try:
        with tempfile.TemporaryDirectory() as directory:
            test_tone_under_pty(server)
            test_file_on_pipe(server, directory)
            test_second_interrupt(server)
            test_server_disconnect(server)
            test_secrets_from_files(server, directory)
            test_plugin_absent(directory)
            test_unreachable()
            test_bad_options()
    finally:
        server.stop()
    print(f"{len(failures)} failed" if failures else "all passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
