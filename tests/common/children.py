# gst-socketio
# Copyright (C) 2026 gst-socketio contributors
# SPDX-License-Identifier: LGPL-2.1-or-later
"""What the Python tests that run servers and pipelines as child processes
share (tests/examples/examples.py, tests/capture/speech-capture.py): every
child started here dies with the test (PR_SET_PDEATHSIG), writes its output
to a log file, and is killed by stop_all() at the end whatever happens.
A test fails by raising Failure (check()).
"""

import ctypes
import re
import signal
import subprocess
import time

children = []


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


def die_with_parent():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def start(argv, log_path):
    with open(log_path, 'w') as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                 stderr=subprocess.STDOUT,
                                 preexec_fn=die_with_parent)
    children.append(child)
    return child


def stop(child, sig=signal.SIGTERM, timeout=10):
    """Signals @child and returns its exit status; kills it if it does not
    exit within @timeout."""
    if child.poll() is None:
        child.send_signal(sig)
    try:
        return child.wait(timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        raise Failure(f'{child.args} did not exit on signal {sig}')


def stop_all():
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def wait_until(condition, what, child, log_path, timeout):
    """Returns what @condition returns once it is true; fails if @child
    exits or @timeout s pass first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        check(child.poll() is None, f'{child.args} exited: {read(log_path)}')
        time.sleep(0.05)
    raise Failure(f'no {what} within {timeout} s in {read(log_path)}')


def wait_for_line(log_path, pattern, child, timeout):
    return wait_until(lambda: re.search(pattern, read(log_path), re.M),
                      f'/{pattern}/', child, log_path, timeout)


def read(path):
    with open(path, errors='replace') as f:
        return f.read()
