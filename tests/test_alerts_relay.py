"""The relay keeps every alert: journal, acknowledgements, replay.

A load generator speaking the worker protocol (tests/alertgen.py) makes
alerts flow fast; the daemon, its relay, the journal, the publish and
replay endpoints and vigil-tail are the real ones.
"""
import json
import os
import signal
import time

import zmq

from alertgen import AlertGen
from conftest import TAIL, Proc, Subscriber, free_port
from relayutil import Instance, ReplayClient, gen_alerts, mode_of, wait_until


def assert_gap_free(rows):
    seqs = [r[0] for r in rows]
    assert seqs == list(range(1, len(seqs) + 1)), "journal seqs not gap-free"


def test_relay_sigkill_loses_nothing(tmp_path, procs):
    inst = Instance(tmp_path, procs)
    sub = Subscriber(inst.publish)
    sub.wait_heartbeat(10)
    gen = AlertGen(inst.data, 3000, rate=600)
    first = inst.relay_pids()[-1]

    # Kill the relay once a third of the alerts is stored.
    gen.run(gen.started + 30, until=lambda: len(gen.acked) >= 1000)
    assert len(gen.acked) >= 1000, gen.status()
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: len(inst.relay_pids()) == 2, 10, gen.step)
    assert len(inst.relay_pids()) == 2, inst.d.text()
    gen.run(gen.started + 60)
    assert gen.done(), gen.status()
    assert "relay: pid %d killed by signal 9" % first in inst.d.text()

    # The journal: every generated alert exactly once, seq gap-free.
    rows = inst.journal()
    assert_gap_free(rows)
    ns = sorted(a["gen_n"] for a in gen_alerts(rows))
    assert ns == list(range(3000)), "lost or duplicated: %d stored" % len(ns)
    assert len({r[1] for r in rows}) == len(rows)

    # The subscriber: what it missed while the relay was down comes by
    # replay; together every alert once.
    sub.poll(0.5)
    live = {a["seq"]: a for a in sub.alerts}
    rc = ReplayClient(inst.replay)
    epoch = sub.heartbeats[-1]["epoch"]
    missing = [s for s in range(1, len(rows) + 1) if s not in live]
    replayed, end, _ = rc.all_since(epoch, 0)
    by_seq = {a["seq"]: a for _, a in replayed}
    for s in missing:
        assert s in by_seq
    assert end["seq"] == len(rows) and end["epoch"] == epoch
    assert all(a["epoch"] == epoch for a in live.values())
    rc.close()
    sub.close()
    gen.close()
    assert inst.d.stop() == 0


def test_stopped_subscriber_catches_up_by_replay(tmp_path, procs):
    """vigil-tail is stopped for 30 s while alerts flow (250 a second);
    started again on its cursor it prints every missed alert, none twice,
    in order."""
    inst = Instance(tmp_path, procs)
    cursor = str(tmp_path / "tail.cursor")
    # The generator's district only: the idle camera's video_loss is
    # filtered out, so vigil-tail also sees seq jump over it.
    args = [TAIL, "--connect", inst.publish, "--replay", inst.replay, "--json",
            "--hb", "--cursor", cursor] + ["alert.%s.loadtest." % s
                                           for s in ("critical", "high", "medium")]
    tail = Proc(args, "vigil-tail", merge_stderr=False)
    procs.append(tail)
    # Alerts start once vigil-tail has its position (a heartbeat).
    tail.wait_line(lambda l: l.startswith("heartbeat test"), 15)
    total = 8500
    gen = AlertGen(inst.data, total, rate=250)

    def printed():
        return [json.loads(l) for l in list(tail.lines) if l.startswith("{")]
    # Alerts flow while vigil-tail runs, then while it is stopped.
    wait_until(lambda: len(printed()) >= 300, 30, gen.step)
    assert tail.stop() == 0
    first = printed()
    assert len(first) >= 300
    stopped_at = gen.next
    t_stop = time.monotonic()
    gen.run(gen.started + 90, until=lambda: time.monotonic() - t_stop >= 30)
    assert gen.next - stopped_at >= 6000, "alerts did not flow while stopped"
    tail2 = Proc(args + ["--count", str(total - len(first))], "vigil-tail 2",
                 merge_stderr=False)
    procs.append(tail2)
    gen.run(gen.started + 120)
    assert gen.done(), gen.status()
    tail2.p.wait(30)
    second = [json.loads(l) for l in tail2.lines if l.startswith("{")]
    # Lines printed by the first run after its last complete line are
    # lost with the pipe: count only what the test read.
    seqs = [a["seq"] for a in first + second]
    ns = sorted(a["gen_n"] for a in first + second)
    assert ns == list(range(total)), "lost %d, duplicated %d" % (
        len(set(range(total)) - set(ns)), len(ns) - len(set(ns)))
    assert seqs == sorted(seqs)
    with open(cursor) as f:
        saved = [l.split() for l in f if not l.startswith("#")]
    assert len(saved) == 1 and saved[0][:2] == ["test", str(second[-1]["epoch"])]
    assert int(saved[0][2]) >= second[-1]["seq"]
    gen.close()



def test_tail_follows_two_instances(tmp_path, procs):
    """One vigil-tail on two daemons: each instance's alerts once, in its
    own seq order, including those published before vigil-tail started
    (its cursor file names both instances)."""
    a, b = Instance(tmp_path, procs, name="a"), Instance(tmp_path, procs, name="b")
    ha, hb = a.settle(), b.settle()
    gens = [AlertGen(a.data, 150, rate=300), AlertGen(b.data, 150, rate=300)]
    while not all(g.done() for g in gens):
        for g in gens:
            g.step(0.01)
        assert all(time.monotonic() - g.started < 60 for g in gens), [g.status() for g in gens]
    cursor = tmp_path / "cursor"
    cursor.write_text("a %d 0\nb %d 0\n" % (ha["epoch"], hb["epoch"]))
    tail = Proc([TAIL, "--json", "--cursor", str(cursor), "--count", "302",
                 "--connect", a.publish, "--replay", a.replay,
                 "--connect", b.publish, "--replay", b.replay], "vigil-tail",
                merge_stderr=False)
    procs.append(tail)
    assert tail.p.wait(30) == 0
    tail.stop()
    got = [json.loads(l) for l in tail.lines if l.startswith("{")]
    for inst in ("a", "b"):
        mine = [x for x in got if x["instance"] == inst]
        assert [x["seq"] for x in mine] == list(range(1, 152)), inst
        assert sorted(x["gen_n"] for x in mine if "gen_n" in x) == list(range(150))
    saved = dict((l.split()[0], l.split()[1:]) for l in cursor.read_text().splitlines()
                 if not l.startswith("#"))
    assert saved == {"a": [str(ha["epoch"]), "151"], "b": [str(hb["epoch"]), "151"]}
    for g in gens:
        g.close()


def test_stalled_subscriber_holds_back_no_one(tmp_path, procs):
    """A subscriber on a second endpoint stops reading while 20,000 alerts
    (over 8 MB, twice what the kernel buffers between them hold) flow:
    the subscriber on the main endpoint still gets every one as it is
    generated, the journal keeps up, and the stalled one, once it reads
    again, gets every alert in order (queued in the relay up to its
    high-water mark, 100,000 alerts, and dropped beyond that)."""
    second = "tcp://127.0.0.1:%d" % free_port()
    inst = Instance(tmp_path, procs, alerts_extra='insecure = true; endpoints = '
                    '( { bind = "%s"; } );' % second)
    ctx = zmq.Context()
    stalled = ctx.socket(zmq.SUB)
    stalled.setsockopt(zmq.LINGER, 0)
    stalled.setsockopt(zmq.RCVHWM, 10)
    stalled.setsockopt(zmq.RCVBUF, 4096)
    stalled.setsockopt(zmq.SUBSCRIBE, b"")
    stalled.connect(second)
    # Connected once a heartbeat arrives; from then on it reads nothing.
    assert stalled.poll(10000), "no heartbeat on the second endpoint"
    stalled.recv_multipart()
    sub = Subscriber(inst.publish)
    sub.wait_heartbeat(10)

    total = 20000
    gen = AlertGen(inst.data, total, rate=2500)

    def got():
        return sum(1 for a in sub.alerts if a["camera"].startswith("gen"))
    wait_until(lambda: gen.done() and got() >= total, 60,
               lambda: (gen.step(0.005), sub.poll(0.005)))
    assert gen.done(), gen.status()
    live = [a for a in sub.alerts if a["camera"].startswith("gen")]
    assert sorted(a["gen_n"] for a in live) == list(range(total)), "main endpoint lost alerts"
    seqs = [a["seq"] for a in live]
    assert seqs == list(range(seqs[0], seqs[0] + total)), "main endpoint: seq not in order"
    # Delivery kept pace with generation: no wait behind the stalled peer.
    lag = sorted(a["_received"] - a["gen_sent"] for a in live)
    assert lag[len(lag) * 99 // 100] < 2.0, "p99 delivery %.2f s" % lag[len(lag) * 99 // 100]

    # The stalled subscriber reads again: everything, in order.
    seen = []
    deadline = time.monotonic() + 60
    while len(seen) < total and time.monotonic() < deadline:
        if stalled.poll(1000):
            frames = stalled.recv_multipart()
            if frames[0].startswith(b"alert."):
                a = json.loads(frames[1])
                if a["camera"].startswith("gen"):
                    seen.append(a["seq"])
    assert seen == seqs, "stalled endpoint: got %d of %d" % (len(seen), total)
    stalled.close()
    ctx.term()
    sub.close()
    gen.close()
    assert inst.d.stop() == 0


def test_worker_message_published_as_sent(tmp_path, procs):
    """The relay publishes a worker's topic and payload bytes as they came,
    its numbers spliced in before the closing brace (the payload is never
    parsed and written again); a message that can never be valid is
    acknowledged, so the worker stops resending it, and dropped."""
    inst = Instance(tmp_path, procs)
    hb = inst.settle()
    ctx = zmq.Context()
    sub = ctx.socket(zmq.SUB)
    sub.setsockopt(zmq.LINGER, 0)
    for p in (b"alert.high.x.", b"hb"):
        sub.setsockopt(zmq.SUBSCRIBE, p)
    sub.connect(inst.publish)
    assert sub.poll(5000) and sub.recv_multipart()[0] == b"hb", "not subscribed"
    w = ctx.socket(zmq.DEALER)
    w.setsockopt(zmq.LINGER, 0)
    w.connect("ipc://%s/relay.ipc" % inst.data)

    topic = b"alert.high.x.g1.cam-1.tamper.covered"
    payload = b'{"zz": 1,  "id":"x-1", "name":"caf\xc3\xa9 \\u00e9", "n":1.50}'
    bad = {b"bad-topic": [b"alert.high.x.g1.cam-1.", payload],
           b"long-token": [b"alert.high.x.g1.%s.motion" % (b"c" * 33), payload],
           b"bad-json": [topic, b'{"id":"x-2",}'],
           b"has-seq": [topic, b'{"id":"x-3","seq":7}'],
           b"empty": [topic, b"{}"]}
    for k, frames in bad.items():
        w.send_multipart([k] + frames)
    w.send_multipart([b"good", topic, payload])

    acks = set()
    wait_until(lambda: len(acks) == len(bad) + 1, 10,
               lambda: w.poll(200) and acks.add(w.recv_multipart()[0]))
    assert acks == set(bad) | {b"good"}
    got = []
    wait_until(lambda: got, 5, lambda: sub.poll(200) and got.extend(
        f for f in [sub.recv_multipart()] if f[0] != b"hb"))
    want = payload[:-1] + b',"instance":"test","epoch":%d,"seq":%d}' % (hb["epoch"],
                                                                        hb["seq"] + 1)
    assert got == [[topic, want]]
    rows = inst.journal()
    assert len(rows) == hb["seq"] + 1, "a malformed message was stored"
    assert rows[-1][2] == topic.decode() and rows[-1][3].encode() == want
    log = inst.d.text()
    for k in bad:
        assert "alert %s): " % k.decode() in log, k
    assert "the payload is not one JSON object without instance, epoch and seq" in log
    w.close()
    sub.close()
    ctx.term()
    assert inst.d.stop() == 0
