#!/usr/bin/python3
"""Benchmark of vigil's alert path: latency with real cameras, journal
throughput with a load generator. Prints figures and ratios against
references measured in the same run.

  scripts/bench-alerts.py [--cameras 20] [--seconds 40] [--alerts 50000]

Latency: camsim serves N copies of the `walker` scene (a person crosses
every 16 s), vigild watches them all, a ZeroMQ subscriber on loopback
notes when each alert arrives. Two set-ups, one after the other: the
720p main stream analysed and recorded, and the usual deployment where a
640x360 sub-stream (the same scene, scaled) is analysed and the 720p main
stream recorded (--setups picks one). Latency is arrival minus the alert's `ts`
(wall time at which the triggering frame was read, just before its
decode), over motion update and end alerts (a start's ts is the event's
first frame, before the frames that confirm it). Reference: a bare pyzmq PUB -> SUB hop on loopback.

Relay path: the same subscriber, alerts from tests/alertgen.py at 500/s;
latency from the generator's send to receipt: what the relay adds.

Throughput: tests/alertgen.py speaks the worker protocol as fast as the
relay acknowledges (8192 in flight); stored = acknowledged (committed to
the journal) per second, published = received by a subscriber per
second. Reference: the same generator against a ROUTER that acknowledges
at once, storing and publishing nothing (the generator's own ceiling).

Run `make all scenes` first. Figures depend on the machine and on what
else runs on it: compare the ratios of one run.
"""
import argparse
import contextlib
import datetime
import json
import os
import re
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

import zmq  # noqa: E402

from alertgen import AlertGen  # noqa: E402
from conftest import (SCENES, Camsim, Vigild, free_port, walker_360p,  # noqa: E402
                      write_config)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def parse_ts(ts):
    dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def reference_pubsub(n=2000):
    """Latency of a bare PUB -> SUB hop on loopback, in ms."""
    ctx = zmq.Context()
    pub, sub = ctx.socket(zmq.PUB), ctx.socket(zmq.SUB)
    port = free_port()
    pub.bind("tcp://127.0.0.1:%d" % port)
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect("tcp://127.0.0.1:%d" % port)
    while True:     # wait for the subscription to reach the publisher
        pub.send(b"x")
        if sub.poll(50):
            sub.recv()
            break
    lat = []
    for _ in range(n):
        pub.send(repr(time.time()).encode())
        lat.append((time.time() - float(sub.recv())) * 1000)
    pub.close(0)
    sub.close(0)
    ctx.term()
    return lat


@contextlib.contextmanager
def subscribed(endpoint, prefix, rcvhwm=None):
    """A SUB socket connected to endpoint, closed with its context on exit."""
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, prefix)
    if rcvhwm is not None:
        sub.setsockopt(zmq.RCVHWM, rcvhwm)
    sub.connect(endpoint)
    try:
        yield sub
    finally:
        sub.close(0)
        ctx.term()


def cpu_times():
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def latency(tmp, cameras, seconds, sub_stream=False):
    """sub_stream: detect on a 640x360 copy, record the 720p stream."""
    scene = os.path.join(SCENES, "walker.mp4")
    mounts = {"w%02d" % i: scene for i in range(cameras)}
    if sub_stream:
        small = walker_360p()
        mounts.update({"s%02d" % i: small for i in range(cameras)})
    cam = Camsim(mounts)
    publish = "tcp://127.0.0.1:%d" % free_port()
    cams = []
    for i in range(cameras):
        c = dict(id="cam%02d" % i, district="bench", grid="g%d" % (i % 4), site="key")
        if sub_stream:
            c.update(detect_url=cam.url("s%02d" % i), record_url=cam.url("w%02d" % i))
        else:
            c["url"] = cam.url("w%02d" % i)
        cams.append(c)
    tag = "sub" if sub_stream else "main"
    conf = write_config(os.path.join(tmp, "lat-%s.conf" % tag), cams, publish,
                        os.path.join(tmp, "lat-%s-data" % tag), workers=2, instance="bench")
    with subscribed(publish, b"alert.") as sub:
        d = Vigild(conf)
        lat = []
        busy0, total0 = cpu_times()
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                if sub.poll(200):
                    frames = sub.recv_multipart()
                    now = time.time()
                    a = json.loads(frames[1])
                    # ts of a start is the first frame of the event, before
                    # the frames that confirm it: only update and end alerts
                    # carry the frame that triggered them.
                    if a["type"] == "motion" and a["phase"] in ("update", "end"):
                        lat.append((now - parse_ts(a["ts"])) * 1000)
            busy1, total1 = cpu_times()
            latency.busy = (busy1 - busy0) / max(1, total1 - total0)
        finally:
            d.stop()
            cam.stop()
    return lat


def generated(topic):
    """Is this alert the generator's? The config's idle camera, whose URL
    leads nowhere, publishes its video_loss on the same endpoint."""
    return topic.split(b".")[2:3] == [b"loadtest"]


def relay_latency(tmp, count=3000, rate=500):
    """Generator -> relay -> subscriber latency, in ms: the relay's share
    (acknowledged link, 2 ms commit window, journal, publish) alone."""
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = os.path.join(tmp, "rl-data")
    conf = write_config(os.path.join(tmp, "rl.conf"),
                        [dict(id="idle", url="rtsp://127.0.0.1:%d/none" % free_port())],
                        publish, data, workers=1, instance="bench")
    with subscribed(publish, b"alert.") as sub:
        d = Vigild(conf)
        lat = []
        try:
            d.wait_line(lambda l: "relay: publishing alerts on" in l, 20)
            g = AlertGen(data, count, rate=rate)
            while len(lat) < count and time.monotonic() - g.started < 60:
                g.step(0.001)
                while True:
                    try:
                        frames = sub.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    if generated(frames[0]):
                        lat.append((time.time() - json.loads(frames[1])["gen_sent"]) * 1000)
            g.close()
        finally:
            d.stop()
    return lat


def instant_acker(data_dir, stop):
    """A ROUTER at the relay's address that acknowledges every key at
    once: the reference for the generator's own speed."""
    ctx = zmq.Context()
    r = ctx.socket(zmq.ROUTER)
    r.bind("ipc://%s/relay.ipc" % data_dir)
    while not stop.is_set():
        if r.poll(100):
            while True:
                try:
                    ident, key = r.recv_multipart(zmq.NOBLOCK)[:2]
                except zmq.Again:
                    break
                r.send_multipart([ident, key])
    r.close(0)
    ctx.term()


def generate(data_dir, count, sub=None):
    """Run the generator; returns (seconds to last ack, seconds to the
    last published alert received, or None)."""
    g = AlertGen(data_dir, count)
    got, last_rx = 0, None
    while not g.done() or (sub is not None and got < count):
        g.step(0.001)
        while sub is not None:
            try:
                frames = sub.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                break
            if not generated(frames[0]):
                continue
            got += 1
            last_rx = time.monotonic()
        if time.monotonic() - g.started > 300:
            raise SystemExit("throughput run did not finish: %s" % g.status())
        if g.done() and not hasattr(g, "acked_at"):
            g.acked_at = time.monotonic()
    t_ack = g.acked_at - g.started
    t_pub = (last_rx - g.started) if last_rx else None
    g.close()
    return t_ack, t_pub


def relay_cpu_s(d):
    """User + system CPU seconds of the daemon's (newest) relay process."""
    pid = int(re.findall(r"relay: started, pid (\d+)", d.text())[-1])
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(tmp, count):
    ref_dir = os.path.join(tmp, "ref-data")
    os.makedirs(ref_dir)
    stop = threading.Event()
    t = threading.Thread(target=instant_acker, args=(ref_dir, stop))
    t.start()
    ref_s, _ = generate(ref_dir, count)
    stop.set()
    t.join()

    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(os.path.join(tmp, "tp.conf"),
                        [dict(id="idle", url="rtsp://127.0.0.1:%d/none" % free_port())],
                        publish, os.path.join(tmp, "tp-data"), workers=1, instance="bench")
    with subscribed(publish, b"", rcvhwm=0) as sub:
        d = Vigild(conf)
        try:
            d.wait_line(lambda l: "relay: publishing alerts on" in l, 20)
            while not sub.poll(100):    # first heartbeat: subscribed
                pass
            sub.recv_multipart()
            sub.setsockopt(zmq.UNSUBSCRIBE, b"")
            sub.setsockopt(zmq.SUBSCRIBE, b"alert.")
            cpu0 = relay_cpu_s(d)
            store_s, pub_s = generate(os.path.join(tmp, "tp-data"), count, sub)
            cpu_s = relay_cpu_s(d) - cpu0
        finally:
            d.stop()
    return ref_s, store_s, pub_s, cpu_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cameras", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=40)
    ap.add_argument("--alerts", type=int, default=50000)
    ap.add_argument("--setups", default="main,sub",
                    help="latency set-ups: main (720p analysed), sub (360p analysed, "
                    "720p recorded), none (throughput only); default both")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ref = reference_pubsub()
        print("reference PUB->SUB hop:      p50 %.2f ms  p99 %.2f ms" % (pct(ref, 50), pct(ref, 99)))
        rl = relay_latency(tmp)
        print("relay path (generator -> subscriber, 500 alerts/s): p50 %.1f ms  p99 %.1f ms"
              % (pct(rl, 50), pct(rl, 99)))
        for setup in a.setups.split(","):
            if setup == "none":
                continue
            if setup not in ("main", "sub"):
                raise SystemExit("unknown set-up %r (main, sub)" % setup)
            what = ("720p analysed and recorded" if setup == "main"
                    else "360p sub-stream analysed, 720p recorded")
            lat = latency(tmp, a.cameras, a.seconds, sub_stream=setup == "sub")
            if not lat:
                print("frame -> subscriber latency (%s): no motion alerts in %.0f s"
                      % (what, a.seconds))
                continue
            print("frame -> subscriber latency (%s): p50 %.1f ms  p99 %.1f ms  max %.1f ms  "
                  "(%d motion update/end alerts, %d cameras, %.0f s, CPU %.0f%% busy)"
                  % (what, pct(lat, 50), pct(lat, 99), max(lat), len(lat), a.cameras,
                     a.seconds, 100 * latency.busy))
            print("  relay path share:          p50 %.0f%%  p99 %.0f%%   target p99 <= 50 ms: %s"
                  % (100 * pct(rl, 50) / pct(lat, 50), 100 * pct(rl, 99) / pct(lat, 99),
                     "met" if pct(lat, 99) <= 50 else "NOT met"))
        ref_s, store_s, pub_s, cpu_s = throughput(tmp, a.alerts)
        # An alert is published only after its batch is committed, so the
        # last publication received bounds both storing and publishing.
        print("stored and published:         %8.0f alerts/s  (%d alerts, last one received "
              "after %.2f s)   target >= 5000/s: %s"
              % (a.alerts / pub_s, a.alerts, pub_s,
                 "met" if a.alerts / pub_s >= 5000 else "NOT met"))
        print("acknowledged to the generator: %7.0f alerts/s  (x%.2f of the generator's "
              "ceiling, %.0f alerts/s against a ROUTER that stores nothing)"
              % (a.alerts / store_s, ref_s / store_s, a.alerts / ref_s))
        print("relay CPU:                     %7.1f us per alert  (%.2f s user+system for "
              "%d alerts)" % (cpu_s * 1e6 / a.alerts, cpu_s, a.alerts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
