"""Cluster failover on ZooKeeper (cluster.zookeeper): a real private
ZooKeeper (Debian's zookeeper package, own data directory, free port),
real vigild nodes on one inventory of simulated cameras, and real
subscribers.

- SIGKILL of a node: its cameras stream on the survivors within
  session_timeout + 4 s, never two owners, exactly one node_down.
- SIGSTOP past the session timeout, then SIGCONT: the node stops its
  cameras, publishes nothing for the cameras it lost, rejoins and gets
  cameras back after rejoin_delay.
- ZooKeeper down for 30 s: nothing stops or moves; a three-member
  ensemble losing one member: nothing moves.
- Bad input: ZooKeeper unreachable at start, malformed nodes under the
  cluster's path, a duplicate node name.

Every wait polls the daemons' status or ZooKeeper with a deadline.
"""
import json
import os
import signal
import subprocess
import time

import pytest

from conftest import (BUILD, SCENES, TAIL, Camsim, Proc, Subscriber, derived_scene,
                      free_port, parse_ts, sanitizer_reports, write_config)
from svc import start_vigild, status
from zkutil import ZooKeeper, needs_zookeeper, zk  # noqa: F401  (zk: the module's fixture)

VIGILCTL = os.path.join(BUILD, "vigilctl")
NCAMS = 30
SESSION = 4
REJOIN = 3

pytestmark = needs_zookeeper


def small_walker():
    """The walker scene at a camera's smallest sub-stream size: 30 of them
    fit on two shared cores, also under the sanitizers."""
    return derived_scene("walker-192x108-10fps.mp4", [
        "-i", os.path.join(SCENES, "walker.mp4"), "-vf", "scale=192:108,fps=10",
        "-c:v", "libx264", "-threads", "1", "-preset", "veryfast", "-g", "10",
        "-keyint_min", "10", "-sc_threshold", "0", "-bf", "0", "-an"])


@pytest.fixture(scope="module")
def camsim():
    src = small_walker()
    sim = Camsim({"cam%02d" % i: src for i in range(NCAMS)}, control=True)
    yield sim
    sim.stop()


class Node:
    """One vigild of the cluster, its config and its subscriber."""

    def __init__(self, tmp, name, zk_hosts, cluster, camsim, ncams=NCAMS, node_name=None,
                 metrics_port=0):
        self.name = name
        self.dir = os.path.join(str(tmp), name)
        os.makedirs(self.dir, exist_ok=True)
        self.publish = "tcp://127.0.0.1:%d" % free_port()
        extra = ('cluster = { zookeeper = "%s"; node = "%s"; name = "%s"; '
                 'session_timeout = %d; rejoin_delay = %d; batch = 8; };\n'
                 'defaults = { read_timeout = 3; };\nstatus = { metrics_port = %d; };'
                 % (zk_hosts, node_name or name, cluster, SESSION, REJOIN, metrics_port))
        cams = [{"id": "cam%02d" % i, "url": camsim.url("cam%02d" % i), "district": "d1",
                 "grid": "g%d" % (i % 4)} for i in range(ncams)]
        self.conf = write_config(os.path.join(self.dir, "vigil.conf"), cams, self.publish,
                                 os.path.join(self.dir, "data"), workers=1, instance=name,
                                 extra=extra)
        self.proc = None
        self.sub = None
        self.stopped = False

    def start(self):
        self.proc = start_vigild(self.conf)
        self.sub = Subscriber(self.publish)
        return self

    def alive(self):
        return self.proc and self.proc.p.poll() is None and not self.stopped

    def status(self):
        return status(self.conf)

    def signal_all(self, sig):
        """A signal to the daemon and all its processes (its own session)."""
        os.killpg(self.proc.p.pid, sig)

    def close(self):
        if self.sub:
            self.sub.close()
            self.sub = None
        if self.proc:
            if self.stopped and self.proc.p.poll() is None:
                self.signal_all(signal.SIGCONT)
            self.proc.stop()


def zk_state(conf):
    r = subprocess.run([VIGILCTL, "cluster", "-c", conf], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def running(report):
    """Cameras the node runs: listed with a child and not stopped."""
    return {c["id"]: c for c in report["cameras"] if c["child"] and c["state"] != "stopped"}


def publishing_runs(node):
    """The cameras a live node runs while it publishes (empty otherwise)."""
    if not node.alive():
        return {}
    rep = node.status()
    return running(rep) if rep["cluster"]["publishing"] else {}


def sample(nodes):
    """One look at every live node and at the claims: the cameras each
    node runs while publishing, checked against the claims. Returns
    ({camera: node}, claims).

    The nodes are read one after the other, so a planned move can
    complete between two reads and show the camera on both: such a
    camera is looked at again on every node that listed it, and only a
    camera still running on two publishing nodes is a double owner."""
    runs = {}
    byname = {n.name: n for n in nodes}
    for n in nodes:
        for cid in publishing_runs(n):
            runs.setdefault(cid, []).append(n.name)
    claims = zk_state(nodes[0].conf)["claims"]
    for cid, who in runs.items():
        if len(who) > 1:
            still = [w for w in who if cid in publishing_runs(byname[w])]
            assert len(still) <= 1, "camera %s has two owners: %s" % (cid, still)
            runs[cid] = who = still or who[-1:]
        # A camera runs only under its claim; a claim made after the
        # status was read shows the camera stopping on a second look.
        if who and cid in claims and claims[cid]["node"] != who[0]:
            assert cid not in publishing_runs(byname[who[0]]), \
                "camera %s runs on %s but %s" % (cid, who[0], claims[cid])
    return {c: w[0] for c, w in runs.items() if w}, claims


def wait_for(nodes, pred, timeout, what):
    """Sample (checking single ownership) until pred(owners, claims)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        owners, claims = sample(nodes)
        last = (owners, claims)
        if pred(owners, claims):
            return owners, claims
        time.sleep(0.2)
    states = {n.name: {cid: c["state"] for cid, c in running(n.status()).items()
                       if c["state"] != "streaming"} for n in nodes if n.alive()}
    raise AssertionError("%s: not within %.0f s; last owners %s; not streaming: %s"
                         % (what, timeout, last and last[0], states))


def streaming_everywhere(nodes, ids):
    """Whether every camera of ids streams on exactly one live node."""
    seen = {}
    for n in nodes:
        if n.alive():
            for cid, c in running(n.status()).items():
                if c["state"] == "streaming":
                    seen[cid] = n.name
    return set(ids) <= set(seen)


@pytest.fixture
def cluster(tmp_path, zk, camsim, request):
    """Three nodes of a cluster named after the test."""
    name = request.node.name.replace("test_", "")[:30].replace("[", "-").replace("]", "")
    nodes = [Node(tmp_path, n, zk.hosts, name, camsim) for n in ("srv-a", "srv-b", "srv-c")]
    for n in nodes:
        n.start()
    yield nodes
    for n in nodes:
        n.close()
    reports = [l for n in nodes if n.proc for l in sanitizer_reports(n.proc)]
    assert not reports, "\n".join(reports)


def balanced(nodes):
    ids = ["cam%02d" % i for i in range(NCAMS)]

    def pred(owners, claims):
        per = {n.name: sum(1 for o in owners.values() if o == n.name) for n in nodes if n.alive()}
        return (len(owners) == NCAMS and min(per.values()) > 0 and len(claims) == NCAMS
                and streaming_everywhere(nodes, ids))
    return pred


def test_kill_moves_cameras(cluster, zk, camsim, procs):
    a, b, c = cluster
    owners, claims = wait_for(cluster, balanced(cluster), 40, "three balanced nodes")
    lost = sorted(cid for cid, o in owners.items() if o == "srv-c")
    assert lost
    # A subscriber that finds the nodes through ZooKeeper follows all three.
    tail = Proc([TAIL, "--zookeeper", zk.hosts, "--cluster", "kill_moves_cameras", "--json",
                 "alert.high.cluster."], "vigil-tail")
    procs.append(tail)
    for n in cluster:
        tail.wait_seen(lambda l: l == "vigil-tail: member %s" % n.name, 10)
    # One of its cameras is down when it dies: its open video_loss event
    # is taken over by the new owner, not raised again.
    dark = lost[0]
    camsim.command("refuse %s" % dark)
    camsim.command("drop %s" % dark)
    loss = c.sub.wait_alert(lambda x: x["camera"] == dark and x["type"] == "video_loss", 15)
    deadline = time.monotonic() + 5
    while dark not in zk_state(a.conf)["losses"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert zk_state(a.conf)["losses"][dark]["event"].startswith(loss["id"] + " ")
    # A motion event it opened less than a second before it dies is ended
    # by the new owner: open events are mirrored to ZooKeeper as soon as
    # the engine writes them (the scan every second would miss most).
    # Wait for one that starts now, and kill 0.3 to 0.8 s after its start.
    deadline = time.monotonic() + 30
    open_events = set()
    while not open_events and time.monotonic() < deadline:
        c.sub.poll(0.05)
        ended = {x["id"] for x in c.sub.alerts if x["phase"] == "end"}
        fresh = [x for x in c.sub.alerts
                 if x["type"] == "motion" and x["phase"] == "start"
                 and x["id"] not in ended and x["camera"] != dark
                 and 0.3 <= time.time() - parse_ts(x["ts"]) < 0.8]
        open_events = {x["id"] for x in fresh}
    assert open_events, "no motion event opened on the node to kill"
    t0 = time.monotonic()
    c.signal_all(signal.SIGKILL)
    c.proc.p.wait(10)
    live = [cid for cid in lost if cid != dark]

    def moved(owners, claims):
        return all(owners.get(cid) in ("srv-a", "srv-b") for cid in live) and \
            streaming_everywhere([a, b], live) and \
            claims.get(dark, {}).get("node") in ("srv-a", "srv-b")
    wait_for(cluster, moved, SESSION + 4 + 2, "cameras of the killed node streaming elsewhere")
    took = time.monotonic() - t0
    print("failover of %d camera(s): %.1f s" % (len(lost), took))
    assert took <= SESSION + 4, "failover took %.1f s" % took
    # Exactly one node_down, naming the node and the cameras moved.
    downs = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not downs:
        for n in (a, b):
            n.sub.poll(0.2)
        downs = [x for n in (a, b) for x in n.sub.alerts if x["type"] == "node_down"]
    for n in (a, b):
        n.sub.poll(1.0)
    downs = [x for n in (a, b) for x in n.sub.alerts if x["type"] == "node_down"]
    assert len(downs) == 1, downs
    d = downs[0]
    assert d["node"] == "srv-c" and d["severity"] == "high" and d["moved"] == len(lost)
    assert sum(d["moved_to"].values()) == len(lost)
    assert d["_topic"].startswith("alert.high.cluster.")
    line = tail.wait_seen(lambda l: l.startswith("{") and '"node_down"' in l, 10)
    assert json.loads(line)["seq"] == d["seq"]
    # The dark camera comes back on its new owner: the same event ends.
    camsim.command("accept %s" % dark)
    subs = [a.sub, b.sub]
    deadline = time.monotonic() + 20
    restored = None
    while restored is None and time.monotonic() < deadline:
        for s in subs:
            for x in s.poll(0.2):
                if x["camera"] == dark and x["type"] == "video_restored":
                    restored = x
    assert restored and restored["id"] == loss["id"], restored
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ends = {x["id"]: x for s in subs for x in s.alerts if x["phase"] == "end"}
        if open_events <= set(ends):
            break
        for s in subs:
            s.poll(0.2)
    assert open_events <= set(ends), (open_events, sorted(ends))
    for eid in open_events:
        assert ends[eid]["reason"] == "worker_restart" and ends[eid]["node"] in ("srv-a", "srv-b")
    print("open events ended by the new owners: %d" % len(open_events))
    again = [x for s in subs for x in s.alerts
             if x["camera"] == dark and x["type"] == "video_loss"]
    assert not again, again
    # Alerts of cluster cameras name their node and claim.
    cams = [x for n in (a, b) for x in n.sub.alerts if x["type"] not in ("node_down", "node_up")]
    for x in cams:
        assert x["node"] in ("srv-a", "srv-b") and x["owner_epoch"] > 0, x


def test_stopped_node_rejoins(cluster):
    a, b, c = cluster
    owners, claims = wait_for(cluster, balanced(cluster), 40, "three balanced nodes")
    lost = sorted(cid for cid, o in owners.items() if o == "srv-c")
    old_epochs = {cid: claims[cid]["epoch"] for cid in lost}
    c.signal_all(signal.SIGSTOP)
    c.stopped = True
    t0 = time.monotonic()

    def taken(owners, claims):
        return all(claims.get(cid, {}).get("node") in ("srv-a", "srv-b") for cid in lost) and \
            streaming_everywhere([a, b], lost)
    wait_for(cluster, taken, SESSION + 8, "survivors took the stopped node's cameras")
    # Past the expiry: alerts the stopped node's cameras made meanwhile,
    # or make on waking, must never be published.
    assert time.monotonic() - t0 > SESSION
    c.sub.poll(0.1)
    before = len(c.sub.alerts)
    c.signal_all(signal.SIGCONT)
    c.stopped = False
    woke = time.time()
    c.proc.wait_line(lambda l: "session" in l and "expired" in l, 15)
    # It rejoins, waits rejoin_delay, and takes its share back under new
    # claims; never two owners meanwhile (wait_for samples that).
    back, claims = wait_for(cluster, lambda o, cl: sum(1 for x in o.values() if x == "srv-c") > 0,
                            REJOIN + 20, "the rejoined node running cameras again")
    wait_for(cluster, balanced(cluster), 30, "balanced again")
    # It claimed nothing before rejoin_delay had passed since it registered.
    lines = c.proc.lines
    reg = [i for i, l in enumerate(lines) if "registered as member srv-c" in l]
    assert len(reg) == 2 and "after the rejoin delay" in lines[reg[1]], lines[reg[-1]]
    first = next(l for l in lines[reg[1]:] if ": claimed (epoch" in l)
    waited = parse_ts(first.split()[0]) - parse_ts(lines[reg[1]].split()[0])
    assert waited >= REJOIN - 0.1, waited
    c.sub.poll(1.0)
    after = c.sub.alerts[before:]
    stale = [x for x in after if x.get("owner_epoch") and
             old_epochs.get(x["camera"]) == x["owner_epoch"]]
    assert not stale, "published after waking for cameras it had lost: %s" % stale
    for x in after:
        if x.get("owner_epoch"):
            assert x["owner_epoch"] not in old_epochs.values(), x
    for n in (a, b):
        n.sub.poll(1.0)
    ups = [x for n in cluster for x in n.sub.alerts if x["type"] == "node_up"]
    downs = [x for n in cluster for x in n.sub.alerts if x["type"] == "node_down"]
    assert [x["node"] for x in downs] == ["srv-c"]
    assert [x["node"] for x in ups if parse_ts(x["ts"]) >= woke - 0.5] == ["srv-c"]
    print("\n".join(l for l in c.proc.lines if "dropped" in l or "holding" in l
                    or "expired" in l or "confirmed" in l))


def test_zookeeper_down_nothing_moves(cluster, zk):
    owners, claims = wait_for(cluster, balanced(cluster), 40, "three balanced nodes")
    epochs = {cid: cl["epoch"] for cid, cl in claims.items()}
    zk.stop()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            now = {}
            for n in cluster:
                for cid, c in running(n.status()).items():
                    now[cid] = n.name
                    assert c["state"] != "stopped"
            assert now == owners, "a camera stopped or moved while ZooKeeper was down"
            time.sleep(0.5)
    finally:
        zk.start()
        zk.wait_up()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        states = [n.status()["cluster"]["state"] for n in cluster]
        if all(s == "member" for s in states):
            break
        time.sleep(0.3)
    assert all(s == "member" for s in states), states
    owners2, claims2 = sample(cluster)
    assert owners2 == owners
    assert {cid: cl["epoch"] for cid, cl in claims2.items()} == epochs
    for n in cluster:
        assert n.status()["cluster"]["expiries"] == 0


def test_ensemble_member_lost(tmp_path, camsim):
    peers = [(free_port(), free_port()) for _ in range(3)]
    servers = [ZooKeeper(tmp_path / ("zk%d" % i), ensemble=peers, myid=i + 1) for i in range(3)]
    nodes = []
    try:
        for s in servers:
            s.start()
        for s in servers:
            s.wait_up(60)
        hosts = ",".join(s.hosts for s in servers)
        nodes = [Node(tmp_path, n, hosts, "ensemble", camsim, ncams=12)
                 for n in ("srv-a", "srv-b")]
        for n in nodes:
            n.start()
        ids = ["cam%02d" % i for i in range(12)]
        owners, claims = wait_for(
            nodes, lambda o, cl: len(o) == 12 and len(set(o.values())) == 2 and
            streaming_everywhere(nodes, ids), 40, "two balanced nodes")
        leader = [s for s in servers if s.mode() == "leader"]
        assert len(leader) == 1
        leader[0].stop()
        # Well past a session timeout: a re-election, sessions kept.
        deadline = time.monotonic() + 3 * SESSION
        while time.monotonic() < deadline:
            now = {}
            for n in nodes:
                for cid in running(n.status()):
                    now[cid] = n.name
            assert now == owners, "a camera moved when one ZooKeeper member went away"
            time.sleep(0.5)
        live = [s for s in servers if s.p]
        assert any(s.mode() == "leader" for s in live)
        claims2 = zk_state(nodes[0].conf)["claims"]
        assert {c: v["epoch"] for c, v in claims2.items()} == \
            {c: v["epoch"] for c, v in claims.items()}
        for n in nodes:
            assert n.status()["cluster"]["expiries"] == 0
    finally:
        for n in nodes:
            n.close()
        for s in servers:
            s.stop()


def test_unreachable_then_malformed_then_duplicate(tmp_path, camsim):
    # ZooKeeper not there yet: the daemon runs, says so, runs no camera.
    late = ZooKeeper(tmp_path / "late")
    port = free_port()
    n = Node(tmp_path, "srv-a", late.hosts, "bad", camsim, ncams=6, metrics_port=port).start()
    ids = ["cam%02d" % i for i in range(6)]
    nodes = [n]

    def all_streaming(node):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            rep = node.status()
            if all(running(rep).get(c, {}).get("state") == "streaming" for c in ids):
                return rep
            time.sleep(0.3)
        raise AssertionError("%s: not every camera streams: %s" % (node.name, rep))

    try:
        n.proc.wait_line(lambda l: "unreachable" in l, 15)
        rep = n.status()
        assert rep["cluster"]["state"] == "connecting" and not running(rep)
        assert not os.path.getsize(os.path.join(n.dir, "data", "owned"))
        late.start()
        late.wait_up()
        all_streaming(n)
        import urllib.request
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as r:
            metrics = r.read().decode()
        assert "\nvigil_cluster_members 1\n" in metrics
        assert "\nvigil_cluster_owned_cameras 6\n" in metrics
        assert "\nvigil_cluster_connected 1\n" in metrics
        # Junk under a cluster's path: a member that is not JSON, a member
        # name that is not a node name, a persistent node as a claim.
        out = late.cli(["create /vigil/junk ''", "create /vigil/junk/members ''",
                        "create /vigil/junk/claims ''",
                        "create /vigil/junk/members/junk 'not json'",
                        "create /vigil/junk/members/bad.name '{}'",
                        "create /vigil/junk/claims/cam00 'garbage'"])
        assert "Created /vigil/junk/claims/cam00" in out, out
        j = Node(tmp_path, "srv-j", late.hosts, "junk", camsim, ncams=6).start()
        nodes.append(j)
        rep = all_streaming(j)
        text = j.proc.text()
        assert "ignoring /vigil/junk/members/junk: not an ephemeral member node" in text
        assert "ignoring /vigil/junk/members/bad.name: not a node name" in text
        assert "not an ephemeral claim" in text
        assert [m["name"] for m in rep["cluster"]["members"]] == ["srv-j"]
        # The same name twice: the second is refused, the first goes on.
        dup = Node(tmp_path, "srv-a2", late.hosts, "bad", camsim, ncams=6, node_name="srv-a")
        nodes.append(dup)
        dup.start()
        rc = dup.proc.p.wait(SESSION + 15)
        assert rc == 1
        assert "node name 'srv-a' is in use by another live vigild" in dup.proc.text()
        rep = n.status()
        assert rep["cluster"]["state"] == "member" and len(running(rep)) == 6
        # A reload that drops a camera from the inventory releases its
        # claim; one that brings it back claims it again.
        with open(n.conf) as f:
            full = f.read()
        lines = full.splitlines()
        k = [i for i, l in enumerate(lines) if 'id = "cam05"' in l][0]
        lines[k - 1] = lines[k - 1].rstrip(",")
        with open(n.conf, "w") as f:
            f.write("\n".join(lines[:k] + lines[k + 1:]) + "\n")
        n.proc.p.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if "cam05" not in zk_state(n.conf)["claims"] and "cam05" not in running(n.status()):
                break
            time.sleep(0.3)
        assert "cam05" not in zk_state(n.conf)["claims"]
        assert set(running(n.status())) == set(ids[:5])
        with open(n.conf, "w") as f:
            f.write(full)
        n.proc.p.send_signal(signal.SIGHUP)
        all_streaming(n)
        assert zk_state(n.conf)["claims"]["cam05"]["node"] == "srv-a"
    finally:
        for x in nodes:
            x.close()
        late.stop()
    reports = [l for x in nodes for l in sanitizer_reports(x.proc)]
    assert not reports, "\n".join(reports)
