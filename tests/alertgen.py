#!/usr/bin/python3
"""Load generator for vigil's relay: speaks the worker protocol.

It is a stand-in for many busy cameras, not for the daemon's workers:
it connects a DEALER to the relay's ipc socket (DATA_DIR/relay.ipc), sends
[key, topic, payload] for synthetic alerts at a chosen rate, keeps every alert
until the relay acknowledges its key and sends it again after a timeout,
exactly as a worker does. Tests use it to make alerts flow fast; the
benchmark uses it to measure journal throughput.

    alertgen.py DATA_DIR COUNT [--rate N] [--cameras N]

prints "alertgen: sent N acked N resent N" once a second and when done.
"""
import argparse
import json
import os
import sys
import time

import zmq


class AlertGen:
    """Sends count synthetic alerts from cameras gen000..genNNN."""

    def __init__(self, data_dir, count, rate=0.0, cameras=20, resend=1.0,
                 district="loadtest", boot=None, window=8192):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SNDHWM, 0)
        self.sock.connect("ipc://%s/relay.ipc" % data_dir)
        self.count, self.rate, self.cameras = count, rate, cameras
        self.resend, self.district, self.window = resend, district, window
        self.boot = boot or os.urandom(6).hex()
        self.sent_at = {}       # key -> monotonic time of the last send
        self.payloads = {}      # key -> [topic, payload]
        self.acked = set()
        self.next = 0
        self.resent = 0
        self.next_scan = 0.0
        self.started = time.monotonic()

    def key(self, n):
        return "gen-%s-%d" % (self.boot, n)

    def message(self, n):
        """[topic, payload] of alert n, as a worker writes them."""
        cam = "gen%03d" % (n % self.cameras)
        severity, grid = ("critical", "high", "medium")[n % 3], "g%02d" % (n % 4)
        topic = "alert.%s.%s.%s.%s.motion" % (severity, self.district, grid, cam)
        return [topic.encode(), json.dumps({
            "id": "%s-%d" % (cam, n), "phase": "start", "type": "motion",
            "severity": severity,
            "camera": cam, "name": "Load camera %s" % cam,
            "district": self.district, "grid": grid,
            "site": "key", "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "score": 0.5, "zone": None, "boxes": [[0.1, 0.1, 0.2, 0.2]],
            "clip": None, "snapshot": None, "gen_n": n,
            "gen_sent": time.time()}, separators=(",", ":")).encode()]

    def send(self, k):
        try:
            self.sock.send_multipart([k.encode()] + self.payloads[k], zmq.NOBLOCK)
        except zmq.Again:
            pass

    def done(self):
        return len(self.acked) == self.count

    def step(self, timeout=0.05):
        """Send what is due, take acknowledgements; returns when idle."""
        now = time.monotonic()
        due = self.count if self.rate <= 0 else \
            min(self.count, int((now - self.started) * self.rate) + 1)
        while self.next < due and len(self.sent_at) < self.window:
            k = self.key(self.next)
            self.payloads[k] = self.message(self.next)
            # Never block: an alert not sent now goes with the resends.
            self.send(k)
            self.sent_at[k] = now
            self.next += 1
        scan = now >= self.next_scan
        if scan:
            self.next_scan = now + self.resend / 4
        for k, t in list(self.sent_at.items()) if scan else ():
            if now - t >= self.resend:
                self.send(k)
                self.sent_at[k] = now
                self.resent += 1
        if self.sock.poll(int(timeout * 1000)):
            while True:
                try:
                    frames = self.sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                k = frames[0].decode()
                if k in self.sent_at:
                    del self.sent_at[k]
                    del self.payloads[k]
                    self.acked.add(k)

    def run(self, deadline, until=None):
        """Step until all are acknowledged (or until() is true)."""
        while not self.done() and time.monotonic() < deadline:
            if until is not None and until():
                return
            self.step()

    def status(self):
        return "alertgen: sent %d acked %d resent %d" % (
            self.next, len(self.acked), self.resent)

    def close(self):
        self.sock.close()
        self.ctx.term()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data_dir")
    ap.add_argument("count", type=int)
    ap.add_argument("--rate", type=float, default=0.0, help="alerts/s (0: as fast as acked)")
    ap.add_argument("--cameras", type=int, default=20)
    ap.add_argument("--timeout", type=float, default=120.0)
    a = ap.parse_args()
    g = AlertGen(a.data_dir, a.count, a.rate, a.cameras)
    deadline = time.monotonic() + a.timeout
    last = 0.0
    while not g.done() and time.monotonic() < deadline:
        g.step()
        if time.monotonic() - last >= 1.0:
            print(g.status(), flush=True)
            last = time.monotonic()
    print(g.status(), flush=True)
    g.close()
    return 0 if g.done() else 1


if __name__ == "__main__":
    sys.exit(main())
