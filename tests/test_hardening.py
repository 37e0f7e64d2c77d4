"""Hostile local clients and a killed supervisor (issue 20, D1-D3).

- A client of /metrics or of the control socket that closes before the
  reply must not kill any process (SIGPIPE).
- A client that trickles its request byte by byte must not hold up the
  supervisor: a killed worker is restarted, `vigilctl status` answers.
- SIGKILL of the supervisor while events are open: the workers stop
  first and the relay journals their `end` alerts before it exits.
"""
import json
import os
import signal
import socket
import sqlite3
import struct
import subprocess
import threading
import time
import urllib.request

from conftest import Camsim, Subscriber, free_port, scene, write_config
from svc import VIGILCTL, all_streaming, start_vigild, status, wait_gone, wait_status


def start_with_metrics(tmp_path, procs, cid):
    """vigild with one static camera and /metrics, streaming. Returns the
    daemon, its config path, the metrics port, the control socket's path
    and the first status report."""
    port = free_port()
    path = write_config(str(tmp_path / "vigil.conf"), [dict(id=cid, url=scene("static")["file"])],
                        "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=1)
    with open(path, "a") as f:
        f.write("status = { metrics_port = %d; };\n" % port)
    d = start_vigild(path)
    procs.append(d)
    report = wait_status(path, all_streaming([cid]), 20)
    return d, path, port, os.path.join(str(tmp_path / "data"), "control.sock"), report


def rst_close(s):
    """Close with an RST at once, as a peer that vanishes does."""
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_clients_closing_early_kill_nothing(tmp_path, procs):
    d, path, port, ctl, first = start_with_metrics(tmp_path, procs, "h1")
    for _ in range(40):
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
        rst_close(s)
        u = socket.socket(socket.AF_UNIX)
        u.connect(ctl)
        u.sendall(b"status\n")
        u.close()
    # A request far over the buffer, with no newline: the connection is
    # answered with an error or reset (bytes left unread), at once.
    u = socket.socket(socket.AF_UNIX)
    u.connect(ctl)                          # blocking: the backlog may be full
    u.settimeout(5)
    try:
        u.sendall(b"s" * 100000)
        reply = u.makefile("rb").read()
        assert b'"error"' in reply, reply[:200]
    except (BrokenPipeError, ConnectionResetError):
        pass
    u.close()
    # Half-sent requests and closes before any byte, too.
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", port), 5)
        s.sendall(b"GET /met")
        rst_close(s)
    assert d.p.poll() is None, "supervisor died:\n" + d.text()
    after = status(path)
    assert {k["role"]: k["pid"] for k in after["children"]} == \
        {k["role"]: k["pid"] for k in first["children"]}
    assert all(k["restarts"] == 0 for k in after["children"])
    assert d.stop() == 0


class Trickler(threading.Thread):
    """Sends a request one byte every 0.8 s, for at most `limit` s."""

    def __init__(self, connect, request, limit):
        super().__init__(daemon=True)
        self.connect, self.request, self.limit = connect, request, limit
        self.stop = threading.Event()
        self.closed_by_server = False

    def run(self):
        s = self.connect()
        deadline = time.monotonic() + self.limit
        try:
            for b in self.request:
                if self.stop.is_set() or time.monotonic() > deadline:
                    break
                s.sendall(bytes([b]))
                self.stop.wait(0.8)
        except OSError:
            self.closed_by_server = True
        finally:
            s.close()


def test_slow_clients_do_not_stall_supervision(tmp_path, procs):
    d, path, port, ctl, before = start_with_metrics(tmp_path, procs, "s1")

    def unix():
        u = socket.socket(socket.AF_UNIX)
        u.connect(ctl)
        return u

    slow = [Trickler(lambda: socket.create_connection(("127.0.0.1", port), 5),
                     b"GET /metrics HTTP/1.0\r\n\r\n", 30) for _ in range(20)]
    slow += [Trickler(unix, b"status\n", 30) for _ in range(20)]
    for t in slow:
        t.start()
    try:
        # Status answers at once while they trickle.
        t0 = time.monotonic()
        r = subprocess.run([VIGILCTL, "status", "--json", "-c", path], capture_output=True,
                           text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert time.monotonic() - t0 < 3
        # A killed worker is restarted after its 0.5 s backoff, not after
        # the slow clients are done.
        victim = [k for k in before["children"] if k["role"] == "worker:0/1"][0]["pid"]
        t0 = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        after = wait_status(path, lambda r: [k for k in r["children"]
                                             if k["role"] == "worker:0/1"][0]["pid"]
                            not in (0, victim), 10)
        assert time.monotonic() - t0 < 5, "worker restarted after %.1f s" % (
            time.monotonic() - t0)
        assert after["children"][0]["pid"] == before["children"][0]["pid"]
        # Meanwhile /metrics answers at once...
        t0 = time.monotonic()
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as m:
            assert b"vigil_child_up" in m.read()
        assert time.monotonic() - t0 < 3
        # ... and the slow clients are cut off by their deadlines (2 s to
        # send a status request, 10 s for an HTTP connection), not served
        # whenever they finish.
        for t in slow:
            t.join(15)
        assert all(t.closed_by_server for t in slow), \
            [t.closed_by_server for t in slow]
        # SIGTERM is acted on at once, too.
        t0 = time.monotonic()
        assert d.stop() == 0
        assert time.monotonic() - t0 < 12
    finally:
        for t in slow:
            t.stop.set()
        for t in slow:
            t.join(5)


def test_supervisor_sigkill_keeps_end_alerts(tmp_path, procs):
    walker = scene("walker")
    cam = Camsim({"w%d" % i: walker["file"] for i in range(3)})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = tmp_path / "data"
    path = write_config(str(tmp_path / "vigil.conf"),
                        [dict(id="k%d" % i, url=cam.url("w%d" % i)) for i in range(3)],
                        publish, str(data), workers=2)
    sub = Subscriber(publish)
    d = start_vigild(path)
    procs.append(d)
    r = wait_status(path, all_streaming(["k0", "k1", "k2"]), 30)
    pids = [k["pid"] for k in r["children"]]
    sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start",
                   walker["duration"] * 2 + 10)
    os.kill(d.p.pid, signal.SIGKILL)
    d.p.wait(5)
    alive = wait_gone(pids, 20)
    assert alive == [], "children outlived the supervisor: %s" % alive
    d.wait_line(lambda l: "relay: workers stopped, stopping after seq" in l, 5)
    sub.close()

    db = sqlite3.connect(str(data / "journal.db"))
    rows = [json.loads(p) for (p,) in db.execute("SELECT payload FROM alerts ORDER BY seq")]
    db.close()
    starts = {a["id"] for a in rows if a.get("phase") == "start"}
    ends = {a["id"] for a in rows if a.get("phase") == "end"}
    assert any(a["type"] == "motion" for a in rows if a["id"] in starts)
    assert starts <= ends, "events without an end in the journal: %s\n%s" % (
        sorted(starts - ends), d.text())


def http_raw(port, data, timeout=5):
    """Send raw bytes, return what the server answers before it closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                b = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not b:
                break
            out += b
        return out
    finally:
        s.close()


def test_metrics_http_rejects_hostile_requests(tmp_path, procs):
    d, path, port, _, _ = start_with_metrics(tmp_path, procs, "m1")
    assert http_raw(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                          b"Connection: close\r\n\r\nhello").startswith(b"HTTP/1.1 405")
    for url in (b"/metrics/../etc/passwd", b"/%2e%2e/metrics", b"/metricsx", b"//metrics"):
        assert http_raw(port, b"GET " + url + b" HTTP/1.0\r\n\r\n").startswith(
            b"HTTP/1.1 404"), url
    # Headers far over the connection's memory: refused, nothing grows.
    big = http_raw(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-A: " + b"a" * 200000 +
                   b"\r\n\r\n")
    assert not big.startswith(b"HTTP/1.1 200"), big[:100]
    # More idle connections than slots: they are dropped when idle, and a
    # real request gets through afterwards.
    idle = [socket.create_connection(("127.0.0.1", port), 5) for _ in range(40)]
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port,
                                            timeout=3) as m:
                    assert b"vigil_camera_streaming" in m.read()
                break
            except OSError:
                assert time.monotonic() < deadline, "/metrics unreachable after idle clients"
    finally:
        for s in idle:
            s.close()
    # HEAD works, as monitoring probes use it.
    assert http_raw(port, b"HEAD /metrics HTTP/1.0\r\n\r\n").startswith(b"HTTP/1.1 200")
    assert d.p.poll() is None
    assert d.stop() == 0
