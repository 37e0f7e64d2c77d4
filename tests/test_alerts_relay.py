"""The relay keeps every alert: journal, acknowledgements, replay.

A load generator speaking the worker protocol (tests/alertgen.py) makes
alerts flow fast; the daemon, its relay, the journal, the publish and
replay endpoints and vigil-tail are the real ones.
"""
import json
import os
import signal
import time

from alertgen import AlertGen
from conftest import TAIL, Proc, Subscriber
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
