"""CURVE on the alert endpoints: only allowed keys receive, and only the
topics their endpoint carries.

Keys are made with `vigilctl keygen`; the daemon, its ZAP handler and
the subscribers (pyzmq and vigil-tail) are real.
"""
import json
import os
import re
import shutil
import subprocess
import time

import zmq

from alertgen import AlertGen
from conftest import BUILD, TAIL, Proc, free_port
from relayutil import Instance, wait_until

VIGILCTL = os.path.join(BUILD, "vigilctl")


def keygen(directory, name):
    r = subprocess.run([VIGILCTL, "keygen", name], cwd=directory, capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(directory, name + ".key")) as f:
        secret, public = f.read().split()
    return secret.encode(), public.encode()


class CurveSub:
    """A SUB socket with a client key, pinning a server key."""

    def __init__(self, ctx, endpoint, client, server_public, prefixes=(b"alert.", b"hb")):
        self.sock = ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.curve_secretkey, self.sock.curve_publickey = client
        self.sock.curve_serverkey = server_public
        for p in prefixes:
            self.sock.setsockopt(zmq.SUBSCRIBE, p)
        self.sock.connect(endpoint)
        self.alerts, self.hbs = [], []

    def poll(self, timeout=0.2):
        if self.sock.poll(int(timeout * 1000)):
            while True:
                try:
                    topic, payload = self.sock.recv_multipart(zmq.NOBLOCK)[:2]
                except zmq.Again:
                    return
                (self.hbs if topic == b"hb" else self.alerts).append(
                    (topic.decode(), json.loads(payload)))

    def close(self):
        self.sock.close()


def test_curve_allow_list_and_topic_restriction(tmp_path, procs):
    keys = tmp_path / "keys"
    clients = keys / "clients"
    clients.mkdir(parents=True)
    server = keygen(str(keys), "server")
    assert os.stat(keys / "server.key").st_mode & 0o777 == 0o600
    room, patrol, stranger = (keygen(str(keys), n) for n in ("room", "patrol1", "stranger"))
    for n in ("room", "patrol1"):
        shutil.copy(keys / (n + ".pub"), clients / (n + ".pub"))
    patrol_ep = "tcp://127.0.0.1:%d" % free_port()
    inst = Instance(tmp_path, procs, alerts_extra=(
        'curve = { secret_key_file = "%s"; clients_dir = "%s"; }; '
        'endpoints = ( { bind = "%s"; clients = [ "patrol1" ]; '
        'topics = [ "alert.critical.loadtest." ]; } );'
        % (keys / "server.key", clients, patrol_ep)))
    assert "(CURVE)" in inst.d.text()

    ctx = zmq.Context()
    room_sub = CurveSub(ctx, inst.publish, room, server[1])
    patrol_sub = CurveSub(ctx, patrol_ep, patrol, server[1])
    denied = {
        "stranger on publish": CurveSub(ctx, inst.publish, stranger, server[1]),
        "stranger on patrol endpoint": CurveSub(ctx, patrol_ep, stranger, server[1]),
        "patrol key on the room's publish": CurveSub(ctx, inst.publish, patrol, server[1]),
        "room key on the patrol endpoint": CurveSub(ctx, patrol_ep, room, server[1]),
        "room pinning a wrong server key": CurveSub(ctx, inst.publish, room, stranger[1]),
    }

    def step():
        for s in [room_sub, patrol_sub] + list(denied.values()):
            s.poll(0.05)
    wait_until(lambda: room_sub.hbs and patrol_sub.hbs, 15, step)
    assert room_sub.hbs and patrol_sub.hbs, "allowed clients get no heartbeat"

    gen = AlertGen(inst.data, 300)
    gen.run(gen.started + 30)
    assert gen.done(), gen.status()
    critical = 100      # the generator's severities cycle critical/high/medium
    # The room also gets the idle camera's video_loss if it came late.
    def room_gen():
        return [t for t, _ in room_sub.alerts if ".loadtest." in t]
    wait_until(lambda: len(room_gen()) >= 300 and len(patrol_sub.alerts) >= critical,
               20, step)
    assert len(room_gen()) == 300
    assert {t.split(".")[1] for t in room_gen()} == {"critical", "high", "medium"}
    assert len(patrol_sub.alerts) == critical
    assert all(t.startswith("alert.critical.loadtest.") for t, _ in patrol_sub.alerts)
    for what, s in denied.items():
        s.poll(0.1)
        assert s.alerts == [] and s.hbs == [], "%s received %d message(s)" % (
            what, len(s.alerts) + len(s.hbs))
    assert "curve: refused client stranger" not in inst.d.text()   # unknown: no name
    assert "curve: refused" in inst.d.text()

    # Replay applies the same rules: the patrol key gets its topics only,
    # an unknown key no answer at all.
    def replay(client, prefix=b"alert."):
        s = ctx.socket(zmq.DEALER)
        s.setsockopt(zmq.LINGER, 0)
        s.curve_secretkey, s.curve_publickey = client
        s.curve_serverkey = server[1]
        s.connect(inst.replay)
        s.send_multipart([b"", b"since 0 0 " + prefix])
        reply = s.recv_multipart() if s.poll(3000) else None
        s.close()
        return reply
    full = replay(room, b"alert.critical.loadtest. alert.high.loadtest. alert.medium.loadtest.")
    assert full[1] == b"alerts" and (len(full) - 4) // 2 == 300
    mine = replay(patrol)
    topics = mine[2:-2:2]
    assert len(topics) == critical and all(t.startswith(b"alert.critical.") for t in topics)
    assert replay(stranger) is None

    # vigil-tail as a CURVE client of the patrol endpoint, starting from a
    # cursor at the start of the epoch: it catches up by replay.
    epoch = room_sub.hbs[-1][1]["epoch"]
    with open(tmp_path / "cursor", "w") as f:
        f.write("test %d 0\n" % epoch)
    tail = Proc([TAIL, "--connect", patrol_ep, "--replay", inst.replay, "--json",
                 "--server-key", str(keys / "server.pub"), "--key", str(keys / "patrol1.key"),
                 "--cursor", str(tmp_path / "cursor"), "--count", str(critical)],
                "vigil-tail", merge_stderr=False)
    procs.append(tail)
    assert tail.p.wait(20) == 0
    tail.stop()
    got = [json.loads(l) for l in tail.lines if l.startswith("{")]
    assert len(got) == critical and all(a["severity"] == "critical" for a in got)
    assert [a["seq"] for a in got] == sorted(a["seq"] for a in got)

    for s in [room_sub, patrol_sub] + list(denied.values()):
        s.close()
    ctx.term()
    gen.close()
    assert inst.d.stop() == 0


def test_curve_refusals_are_logged_with_a_throttle(tmp_path, procs):
    """A stranger reconnecting in a loop gets its first refusal logged at
    once, then a count instead of one line per attempt (issue 20)."""
    keys = tmp_path / "keys"
    clients = keys / "clients"
    clients.mkdir(parents=True)
    server = keygen(str(keys), "server")
    stranger = keygen(str(keys), "stranger")
    inst = Instance(tmp_path, procs, alerts_extra=(
        'curve = { secret_key_file = "%s"; clients_dir = "%s"; };'
        % (keys / "server.key", clients)))
    refused = "curve: refused a client from 127.0.0.1"

    ctx = zmq.Context()
    first = CurveSub(ctx, inst.publish, stranger, server[1])
    inst.d.wait_line(lambda l: refused in l, 10)
    first.close()
    # A new connection every few milliseconds, for three seconds.
    attempts = 0
    end = time.monotonic() + 3
    while time.monotonic() < end:
        s = CurveSub(ctx, inst.publish, stranger, server[1])
        s.poll(0.02)
        assert s.alerts == [] and s.hbs == []
        s.close()
        attempts += 1
    ctx.term()
    assert attempts > 50
    assert inst.d.stop() == 0
    lines = [l for l in inst.d.text().splitlines() if "curve: " in l and "127.0.0.1" in l]
    assert len([l for l in lines if refused in l]) <= 2, lines[:10]
    counts = [int(m.group(1)) for m in
              (re.search(r"curve: (\d+) more refusals of a client from 127\.0\.0\.1", l)
               for l in lines) if m]
    assert counts and sum(counts) >= attempts // 2, lines[:10]
    assert len(lines) <= 4, lines[:10]
