"""Shared fixtures for vigil's end-to-end tests.

The tests drive the real programs: build/camsim (RTSP camera simulator),
build/vigild (the daemon) and a real ZeroMQ subscriber. Every wait is on
an event (a line printed, a message received) with a deadline, never a
fixed sleep.
"""
import json
import os
import queue
import signal
import socket
import subprocess
import threading
import time

import pytest
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
SCENES = os.path.join(BUILD, "scenes")
VIGILD = os.path.join(BUILD, "vigild")
CAMSIM = os.path.join(BUILD, "camsim")
TAIL = os.path.join(BUILD, "vigil-tail")


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scene(name):
    with open(os.path.join(SCENES, name + ".json")) as f:
        truth = json.load(f)
    truth["file"] = os.path.join(SCENES, name + ".mp4")
    return truth


class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, args, name, merge_stderr=True, env=None):
        self.name = name
        self.lines = []
        self._q = queue.Queue()
        self.p = subprocess.Popen(
            args, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else None,
            text=True, bufsize=1, env=env, start_new_session=True)
        self._t = threading.Thread(target=self._read, daemon=True)
        self._t.start()

    def _read(self):
        for line in self.p.stdout:
            line = line.rstrip("\n")
            self.lines.append(line)
            self._q.put(line)
        self._q.put(None)

    def wait_line(self, pred, timeout):
        """Return the first new line for which pred(line) is true."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("%s: no matching line within %.0f s; output:\n%s"
                                     % (self.name, timeout, "\n".join(self.lines[-40:])))
            try:
                line = self._q.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("%s exited (%s); output:\n%s"
                                     % (self.name, self.p.poll(), "\n".join(self.lines[-40:])))
            if pred(line):
                return line

    def text(self):
        return "\n".join(self.lines)

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.p.poll() is None:
            self.p.send_signal(sig)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
        self._t.join(5)
        return self.p.returncode


class Camsim(Proc):
    def __init__(self, mounts):
        self.port = free_port()
        args = [CAMSIM, "--port", str(self.port)]
        args += ["%s=%s" % (m, f) for m, f in mounts.items()]
        super().__init__(args, "camsim")
        self.wait_line(lambda l: l.startswith("camsim: ready"), 20)

    def url(self, mount):
        return "rtsp://127.0.0.1:%d/%s" % (self.port, mount)

    def loop_starts(self, mount):
        """Wall-clock start (seconds) of every loop of a mount so far."""
        out = []
        for line in list(self.lines):
            if line.startswith("camsim: mount=%s loop=" % mount):
                fields = dict(kv.split("=", 1) for kv in line.split()[1:])
                out.append(int(fields["start_us"]) / 1e6)
        return out


def write_config(path, cameras, publish, data_dir, workers=2, instance="test",
                 replay=None, alerts_extra=None):
    alerts = 'publish = "%s";' % publish
    # Tests run on loopback without keys unless they configure CURVE.
    if alerts_extra is None:
        alerts_extra = "insecure = true;"
    if replay:
        alerts += ' replay = "%s";' % replay
    lines = [
        'instance = "%s";' % instance,
        "workers = %d;" % workers,
        'data_dir = "%s";' % data_dir,
        'alerts = { %s %s };' % (alerts, alerts_extra),
        "cameras = (",
    ]
    cams = []
    for c in cameras:
        cams.append("  { " + " ".join('%s = "%s";' % (k, v) for k, v in c.items()) + " }")
    lines.append(",\n".join(cams))
    lines.append(");")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Subscriber:
    """A real ZeroMQ SUB socket on the daemon's publish endpoint."""

    def __init__(self, endpoint, prefixes=("alert.",)):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        for p in prefixes:
            self.sock.setsockopt(zmq.SUBSCRIBE, p.encode())
        self.sock.setsockopt(zmq.SUBSCRIBE, b"hb")
        self.sock.connect(endpoint)
        self.alerts = []
        self.heartbeats = []

    def poll(self, timeout):
        """Receive for up to timeout seconds; returns new alerts."""
        new = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or not self.sock.poll(int(left * 1000)):
                return new
            frames = self.sock.recv_multipart()
            topic = frames[0].decode()
            payload = json.loads(frames[1])
            if topic == "hb":
                self.heartbeats.append(payload)
                continue
            payload["_topic"] = topic
            payload["_received"] = time.time()
            self.alerts.append(payload)
            new.append(payload)

    def wait_alert(self, pred, timeout):
        deadline = time.monotonic() + timeout
        for a in self.alerts:
            if pred(a):
                return a
        while time.monotonic() < deadline:
            for a in self.poll(min(0.5, max(0.0, deadline - time.monotonic()))):
                if pred(a):
                    return a
        raise AssertionError("no matching alert within %.0f s; got: %s" % (timeout, self.alerts))

    def wait_heartbeat(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.heartbeats:
            self.poll(0.2)
        assert self.heartbeats, "no heartbeat within %.0f s" % timeout
        return self.heartbeats[-1]

    def close(self):
        self.sock.close()
        self.ctx.term()


class Vigild(Proc):
    def __init__(self, config):
        super().__init__([VIGILD, "-c", config], "vigild")


@pytest.fixture
def procs():
    """Processes a test starts; all are stopped at the end of the test."""
    started = []
    yield started
    for p in reversed(started):
        p.stop()
