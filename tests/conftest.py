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
import sqlite3
import subprocess
import sys
import threading
import time

import pytest
import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "scripts"))

from procutil import free_port  # noqa: E402,F401  (tests import it from here)

# pyzmq 24 destroys a garbage-collected Context by terminating it, which
# blocks for ever when its sockets are in the same garbage cycle (a failed
# test's traceback holds them): one failing test then hangs the whole
# run. A context a test did not close is left to the end of the process.
zmq.Context.__del__ = lambda self: None

# Programs come from VIGIL_BUILD (build-asan for the sanitizer run);
# scenes are made once, in build/scenes.
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(ROOT, "build"))
SCENES = os.path.join(ROOT, "build", "scenes")
VIGILD = os.path.join(BUILD, "vigild")
CAMSIM = os.path.join(BUILD, "camsim")
TAIL = os.path.join(BUILD, "vigil-tail")


def scene(name, ext="mp4"):
    """A scene's ground truth, with "file" its video (name may be in a
    subdirectory of the scenes: "activity/fortnight")."""
    with open(os.path.join(SCENES, name + ".json")) as f:
        truth = json.load(f)
    truth["file"] = os.path.join(SCENES, name + "." + ext)
    return truth


class Proc:
    """A child process whose output lines are collected by a thread."""

    def __init__(self, args, name, merge_stderr=True, env=None, stdin=False):
        self.name = name
        self.lines = []
        self._q = queue.Queue()
        self.p = subprocess.Popen(
            args, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge_stderr else None,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
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

    def wait_seen(self, pred, timeout):
        """Like wait_line, but a matching line already printed counts too."""
        for line in list(self.lines):
            if pred(line):
                return line
        return self.wait_line(pred, timeout)

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
    """build/camsim serving mounts; with control=True, faults can be
    injected with command(): "stall M", "resume M", "corrupt M",
    "truncate M", "drop M", "refuse M", "accept M"."""

    def __init__(self, mounts, port=None, control=False):
        self.port = port or free_port()
        args = [CAMSIM, "--port", str(self.port)]
        if control:
            args.append("--control")
        args += ["%s=%s" % (m, f) for m, f in mounts.items()]
        super().__init__(args, "camsim", stdin=control)
        self.wait_line(lambda l: l.startswith("camsim: ready"), 20)

    def command(self, line):
        verb, mount = line.split()
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        self.wait_line(lambda l: l == "camsim: mount=%s %s" % (mount, verb), 10)

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


def _conf_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return "{ " + " ".join("%s = %s;" % (k, _conf_value(x)) for k, x in v.items()) + " }"
    return '"%s"' % v


def write_config(path, cameras, publish, data_dir, workers=2, instance="test", extra="",
                 replay=None, alerts_extra=None):
    alerts = 'publish = "%s";' % publish
    # Tests run on loopback without keys unless they configure CURVE.
    if alerts_extra is None:
        alerts_extra = "insecure = true;"
    if replay:
        alerts += ' replay = "%s";' % replay
    lines = [
        extra,
        'instance = "%s";' % instance,
        "workers = %d;" % workers,
        'data_dir = "%s";' % data_dir,
        'alerts = { %s %s };' % (alerts, alerts_extra),
        "cameras = (",
    ]
    cams = []
    for c in cameras:
        cams.append("  { " + " ".join("%s = %s;" % (k, _conf_value(v)) for k, v in c.items()) + " }")
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
            if len(frames) > 2:
                payload["_thumb"] = frames[2]
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
        # vigild refuses to run as root unless told (tests may run as root).
        args = [VIGILD, "-c", config] + (["--allow-root"] if os.geteuid() == 0 else [])
        super().__init__(args, "vigild")


def parse_ts(ts):
    """Alert time (ISO 8601 UTC with milliseconds) as a Unix time."""
    import datetime
    dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def derived_scene(name, ffmpeg_args):
    """A stream made by ffmpeg for one test, cached under build/scenes/derived.
    ffmpeg_args are the arguments between "ffmpeg -y" and the output file."""
    out_dir = os.path.join(SCENES, "derived")
    os.makedirs(out_dir, exist_ok=True)
    out = os.path.join(out_dir, name)
    if not os.path.exists(out):
        tmp = out + ".part" + os.path.splitext(name)[1]
        subprocess.run(["ffmpeg", "-v", "error", "-y", *ffmpeg_args, tmp],
                       check=True, timeout=300)
        os.rename(tmp, out)
    return out


def walker_360p():
    """The walker scene scaled to 640x360 (a camera's sub-stream), encoded
    like the scenes."""
    return derived_scene("walker-360p.mp4", [
        "-i", os.path.join(SCENES, "walker.mp4"), "-vf", "scale=640:360",
        "-c:v", "libx264", "-threads", "1", "-preset", "veryfast", "-g", "50",
        "-keyint_min", "50", "-sc_threshold", "0", "-bf", "0", "-an"])


def ffprobe(path, *args):
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, path],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def decode_errors(path):
    """Full decode of a clip; returns ffmpeg's error output ('' when clean)."""
    out = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stderr.strip()


def index_row(data, path):
    db = sqlite3.connect(os.path.join(data, "clips.db"))
    try:
        db.row_factory = sqlite3.Row
        row = db.execute("SELECT * FROM clips WHERE path = ?", (path,)).fetchone()
        return dict(row) if row else None
    finally:
        db.close()


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                   "WARNING: AddressSanitizer")


def sanitizer_reports(proc):
    return [l for l in proc.lines if any(m in l for m in SANITIZER_MARKS)]


@pytest.fixture
def procs():
    """Processes a test starts; all are stopped at the end of the test, and
    any sanitizer report in their output fails the test."""
    started = []
    yield started
    for p in reversed(started):
        p.stop()
    reports = [(p.name, l) for p in started for l in sanitizer_reports(p)]
    assert not reports, "sanitizer reports:\n" + "\n".join(
        "%s: %s" % r for r in reports) + "\n" + "\n".join(p.text() for p in started)
