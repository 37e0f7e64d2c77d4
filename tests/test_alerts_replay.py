"""Replay endpoint, journal persistence and hostile peers."""
import json
import os
import random
import socket
import time

import zmq

from alertgen import AlertGen
from conftest import TAIL, VIGILD, Proc, Subscriber
from relayutil import Instance, ReplayClient, gen_alerts, mode_of, wait_until


def test_replay_batches_prefixes_and_errors(tmp_path, procs):
    inst = Instance(tmp_path, procs)
    inst.settle()
    gen = AlertGen(inst.data, 1200)
    gen.run(gen.started + 60)
    assert gen.done(), gen.status()
    rc = ReplayClient(inst.replay)
    sub = Subscriber(inst.publish)
    epoch = sub.wait_heartbeat(10)["epoch"]

    # Everything (the generator's and the idle camera's video_loss), in
    # bounded batches that follow each other.
    total = len(inst.journal())
    assert len(gen_alerts(inst.journal())) == 1200 and total == 1201
    alerts, end, rounds = rc.all_since(epoch, 0)
    assert [a["seq"] for _, a in alerts] == list(range(1, total + 1))
    assert rounds >= 3 and end["seq"] == total and end["instance"] == "test"
    assert end["first"] == 1
    one, end1 = rc.since(epoch, 0)
    assert 0 < len(one) <= 500 and end1["last"] == one[-1][1]["seq"] < total

    # A prefix: only its topics, all of them.
    crit, _, _ = rc.all_since(epoch, 0, "alert.critical.")
    assert crit and all(t.startswith("alert.critical.") for t, _ in crit)
    assert len(crit) == sum(1 for a in gen_alerts(inst.journal()) if a["severity"] == "critical")

    # From the middle; past the end; an unknown epoch means from the start.
    mid, _ = rc.since(epoch, total - 100)
    assert [a["seq"] for _, a in mid] == list(range(total - 99, total + 1))
    none, end2 = rc.since(epoch, total)
    assert none == [] and end2["last"] == total == end2["seq"]
    other, end3 = rc.since(epoch + 1, 1100)
    assert other[0][1]["seq"] == 1 and end3["epoch"] == epoch

    # Bad requests get an error, never a crash.
    for frames in ([b"since"], [b"since x 1"], [b"hello"], [b"since 1 2", b"extra"],
                   [b"since 1 2 " + b"p " * 40], [b"x" * 10000], [b"since 1 2\x00"],
                   []):
        reply = rc.ask(frames)
        assert reply[0] == b"error", (frames, reply)
    alerts_after, _ = rc.since(epoch, total - 1)
    assert len(alerts_after) == 1
    rc.close()
    sub.close()
    gen.close()


def test_replay_is_rate_limited(tmp_path, procs):
    inst = Instance(tmp_path, procs)
    rc = ReplayClient(inst.replay)
    answers = [rc.ask([b"since 0 0"])[0] for _ in range(120)]
    assert b"error" in answers and answers[0] == b"alerts"
    rc.close()


def test_journal_survives_restart_and_loss(tmp_path, procs):
    inst = Instance(tmp_path, procs)
    inst.settle()
    generate(inst, 50)
    sub = Subscriber(inst.publish)
    hb = wait_hb(sub, lambda h: h["seq"] == 51)     # 50 and the video_loss
    sub.close()
    # Private files: the socket workers use, and the journal.
    assert mode_of(os.path.join(inst.data, "relay.ipc")) & 0o077 == 0
    assert mode_of(os.path.join(inst.data, "journal.db")) & 0o077 == 0
    assert mode_of(inst.data) & 0o007 == 0
    assert inst.d.stop() == 0

    # Same journal: same epoch, seq continues. The restarted camera takes
    # over the video_loss event it left open instead of raising another.
    inst.start()
    inst.d.wait_seen(lambda l: "idle: video_loss event" in l and "still open" in l, 20)
    generate(inst, 10)
    sub = Subscriber(inst.publish)
    hb2 = wait_hb(sub, lambda h: h["seq"] == 61)
    assert hb2["epoch"] == hb["epoch"]
    assert [r[0] for r in inst.journal()] == list(range(1, 62))
    assert len(gen_alerts(inst.journal())) == 60
    assert "idle: alert video_loss start" not in inst.d.text()
    sub.close()
    assert inst.d.stop() == 0

    # Journal lost: a new epoch, seq from 1.
    for f in os.listdir(inst.data):
        if f.startswith("journal.db"):
            os.unlink(os.path.join(inst.data, f))
    inst.start()
    generate(inst, 1)
    sub = Subscriber(inst.publish)
    hb3 = wait_hb(sub, lambda h: h["seq"] == 1)
    sub.close()
    assert hb3["epoch"] != hb["epoch"]
    assert [r[0] for r in inst.journal()] == [1]


def generate(inst, count):
    """Send count alerts through the relay and wait for every ack."""
    gen = AlertGen(inst.data, count)
    gen.run(gen.started + 30)
    assert gen.done(), gen.status()
    gen.close()


def wait_hb(sub, pred, timeout=10):
    found = []
    wait_until(lambda: any(pred(h) for h in sub.heartbeats), timeout, lambda: sub.poll(0.2))
    found = [h for h in sub.heartbeats if pred(h)]
    assert found, sub.heartbeats
    return found[-1]


def test_garbage_on_every_endpoint(tmp_path, procs):
    inst = Instance(tmp_path, procs)
    inst.settle()
    rnd = random.Random(5)
    ctx = zmq.Context()

    # Worker intake: wrong frame counts, random, huge, not JSON, bad topics.
    w = ctx.socket(zmq.DEALER)
    w.setsockopt(zmq.LINGER, 0)
    w.connect("ipc://%s/relay.ipc" % inst.data)
    bad = [[b"only-one-frame"], [b"k1", b"{}", b"extra"], [b"", b"{}"],
           [b"k 2", b"{}"], [b"k3", b"not json"], [b"k4", b"[1,2]"],
           [b"k5", b'{"severity":"a.b","district":"d","grid":"g","camera":"c","type":"t"}'],
           [b"k6", b"x" * 70000], [b"k7", rnd.randbytes(300)]]
    bad += [[rnd.randbytes(rnd.randint(0, 50)) for _ in range(rnd.randint(1, 6))]
            for _ in range(100)]
    for frames in bad:
        w.send_multipart(frames)
    huge = ctx.socket(zmq.DEALER)
    huge.setsockopt(zmq.LINGER, 0)
    huge.connect("ipc://%s/relay.ipc" % inst.data)
    huge.send_multipart([b"k8", b"y" * (1 << 20)])

    # Replay: the same kinds of garbage.
    r = ctx.socket(zmq.DEALER)
    r.setsockopt(zmq.LINGER, 0)
    r.connect(inst.replay)
    for _ in range(100):
        r.send_multipart([rnd.randbytes(rnd.randint(0, 40)) for _ in range(rnd.randint(1, 12))])
    r.send_multipart([b"", b"since 0 0 " + b"z" * (1 << 20)])

    # Raw bytes on the TCP ports: not even ZMTP.
    for ep in (inst.publish, inst.replay):
        host, port = ep[len("tcp://"):].split(":")
        with socket.create_connection((host, int(port)), timeout=5) as s:
            s.sendall(rnd.randbytes(4096))

    # Everything still serves: real alerts are stored, published, replayed.
    sub = Subscriber(inst.publish)
    epoch = sub.wait_heartbeat(10)["epoch"]
    gen = AlertGen(inst.data, 200)
    gen.run(gen.started + 30)
    assert gen.done(), gen.status()
    rows = inst.journal()
    assert [a["gen_n"] for a in gen_alerts(rows)] == list(range(200))
    assert len(rows) == 201, "garbage was stored: %s" % [r[2] for r in rows[:3]]
    rc = ReplayClient(inst.replay)
    alerts, end, _ = rc.all_since(epoch, 0)
    assert len(alerts) == 201 and end["seq"] == 201
    wait_until(lambda: len(sub.alerts) >= 200 or
               any(h["seq"] >= 201 for h in sub.heartbeats[-1:]), 10, lambda: sub.poll(0.2))
    assert sub.alerts, "nothing published after the garbage"
    assert "malformed" in inst.d.text()
    for s in (w, huge, r):
        s.close()
    ctx.term()
    rc.close()
    sub.close()
    gen.close()
    assert inst.d.stop() == 0


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def relay_pid(inst):
    """The running relay: the newest relay child the supervisor started."""
    pid = inst.relay_pids()[-1]
    with open("/proc/%d/status" % pid) as f:
        assert "PPid:\t%d\n" % inst.d.p.pid in f.read(), "relay %d is not the daemon's child" % pid
    return pid


def test_non_reading_replay_peers_cost_bounded_memory(tmp_path, procs):
    """Peers that ask for the whole journal in a loop and never read lose
    their replies; the relay keeps its memory and serves others."""
    inst = Instance(tmp_path, procs)
    inst.settle()
    generate(inst, 3000)
    pid = relay_pid(inst)
    rc = ReplayClient(inst.replay)
    sub = Subscriber(inst.publish)
    epoch = sub.wait_heartbeat(10)["epoch"]
    sub.close()
    total = len(inst.journal())
    before = rss_kb(pid)

    ctx = zmq.Context()
    peers = []
    for _ in range(4):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.setsockopt(zmq.RCVHWM, 1)         # queue nothing here: the relay must
        s.setsockopt(zmq.RCVBUF, 4096)
        s.connect(inst.replay)
        peers.append(s)
    peak, good, start = before, 0, time.monotonic()
    try:
        for i in range(12 * 19):            # about 19 requests a second each, for 12 s
            for s in peers:
                s.send_multipart([b"", b"since 0 0"])
            if i % 19 == 0:
                alerts, end = rc.since(epoch, total - 50)
                assert [a["seq"] for _, a in alerts] == list(range(total - 49, total + 1))
                good += 1
            peak = max(peak, rss_kb(pid))
            time.sleep(max(0.0, start + (i + 1) / 19.0 - time.monotonic()))
    finally:
        for s in peers:
            s.close()
        ctx.term()
    alerts, end, _ = rc.all_since(epoch, 0)
    assert [a["seq"] for _, a in alerts] == list(range(1, total + 1))
    rc.close()
    assert good == 12
    # ASan keeps freed memory in quarantine (32 MB under make asan).
    with open(VIGILD, "rb") as f:
        bound = 24 * 1024 + (48 * 1024 if b"__asan_init" in f.read() else 0)
    assert peak - before < bound, "relay grew from %d to %d kB" % (before, peak)


def test_replay_rate_limit_is_per_peer(tmp_path, procs):
    """Two clients on the same host: one asking as fast as it can is
    refused, the other, asking calmly, is always served."""
    inst = Instance(tmp_path, procs)
    inst.settle()
    greedy, calm = ReplayClient(inst.replay), ReplayClient(inst.replay)
    refused = served = 0
    for i in range(300):
        reply = greedy.ask([b"since 0 0"])
        refused += reply[0] == b"error"
        if i % 10 == 0:
            alerts, end = calm.since(0, 0)
            assert alerts and end["seq"] >= 1
            served += 1
    assert refused > 100 and served == 30
    greedy.close()
    calm.close()


class _MixedGen(AlertGen):
    """Every second message a count message (topic count.*), as the
    tripwires publish them between a camera's alerts."""

    def message(self, n):
        if n % 2 == 0:
            return super().message(n)
        cam = "gen%03d" % (n % self.cameras)
        topic = "count.%s.g01.%s.gate" % (self.district, cam)
        return [topic.encode(), json.dumps({
            "type": "count", "camera": cam, "line": "gate", "a_b": n, "b_a": 0,
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())}).encode()]


def test_tail_replays_alerts_only(tmp_path, procs):
    """Count messages take sequence numbers too: an alert-only subscriber
    sees each as a gap and fills it by replay. The replay must bring the
    alerts it subscribes to, not the count messages."""
    inst = Instance(tmp_path, procs)
    inst.settle()
    tail = Proc([TAIL, "--json", "--hb", "--count", "4", "--timeout", "30",
                 "--connect", inst.publish, "--replay", inst.replay], "tail",
                merge_stderr=False)
    procs.append(tail)
    # Alerts start once vigil-tail has its position (a heartbeat).
    tail.wait_line(lambda l: l.startswith("heartbeat test"), 15)
    gen = _MixedGen(inst.data, 8)
    gen.run(gen.started + 30)
    assert gen.done(), gen.status()
    assert tail.p.wait(timeout=30) == 0, tail.text()
    printed = [json.loads(l) for l in list(tail.lines) if l.startswith("{")]
    assert len(printed) == 4, tail.text()
    assert all(p["type"] == "motion" and p["gen_n"] % 2 == 0 for p in printed), printed
    gen.close()
