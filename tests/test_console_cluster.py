"""vigil-console following a cluster (cluster = { zookeeper; name; }): a
private ZooKeeper, vigild nodes in cluster mode (relay with the load
generator standing in for cameras, HTTP API on with one shared token),
and a console that has no node list, only the cluster.

- The members found at start become nodes named after them: their
  alerts arrive with the right node, their HTTP API (from the member
  data) answers the camera list with the cluster's token.
- A node that joins later is followed; a member with wildcard endpoints
  is skipped and logged once.
- ZooKeeper stopped: the nodes found stay followed and their alerts keep
  arriving; started again, a member that joins then is followed too.
- vigil-console -t checks the cluster group with FILE:LINE errors.
"""
import os
import shutil
import subprocess
import time


from consoleutil import (CONSOLE, Client, Console, add_user, send_alerts, web_root,
                         write_console_config)
from conftest import free_port
from relayutil import Instance, wait_until
from zkutil import needs_zookeeper, zk  # noqa: F401  (zk: the module's fixture)

PW = "correct horse"

pytestmark = needs_zookeeper


class Member(Instance):
    """A vigild of the cluster: node name = instance name, HTTP API on."""

    def __init__(self, tmp_path, procs, name, zk_hosts, cluster, token):
        self.http_port = free_port()
        extra = ('cluster = { zookeeper = "%s"; node = "%s"; name = "%s"; '
                 'session_timeout = 4; };\n'
                 'http = { port = %d; token_file = "%s"; };'
                 % (zk_hosts, name, cluster, self.http_port, token))
        self.d_name = name
        super().__init__(tmp_path, procs, name=name, extra=extra)


def console_config(tmp_path, zk, cluster, token, port, db):
    return write_console_config(
        str(tmp_path / "console.conf"), port, db, web_root(tmp_path), [],
        extra='cluster = { zookeeper = "%s"; name = "%s"; token_file = "%s"; };'
        % (zk.hosts, cluster, token))


def node_alerts(client):
    """{node: number of generated alerts} as /api/alerts shows them."""
    out = {}
    for a in client.get("/api/alerts?limit=1000")[1]["alerts"]:
        if a["camera"].startswith("gen"):
            out[a["node"]] = out.get(a["node"], 0) + 1
    return out


def test_console_follows_cluster_members(tmp_path, procs, zk):
    cluster = "console_follows"
    token = str(tmp_path / "http.token")
    with open(token, "w") as f:
        f.write("shared-token-0123456789abcdef\n")
    os.chmod(token, 0o600)
    a = Member(tmp_path, procs, "srv-a", zk.hosts, cluster, token)
    b = Member(tmp_path, procs, "srv-b", zk.hosts, cluster, token)
    for m in (a, b):
        m.d.wait_line(lambda l: "registered as member %s" % m.d_name in l, 20)

    # A member whose endpoints are wildcard binds: logged and skipped.
    out = zk.cli(["create /vigil/%s/members/srv-w "
                  "'{\"publish\":\"tcp://*:5555\",\"replay\":null,\"http\":null}'"
                  % cluster])
    assert "Created" in out, out

    db, port = str(tmp_path / "console.db"), free_port()
    r = add_user(db, "sup", PW, "supervisor")
    assert r.returncode == 0, r.stderr
    conf = console_config(tmp_path, zk, cluster, token, port, db)
    console = Console(conf, port, contact=False)
    procs.append(console)
    for name in ("srv-a", "srv-b"):
        console.wait_seen(lambda l, n=name: "member %s of cluster %s joined" % (n, cluster)
                          in l, 15)
    console.wait_seen(lambda l: "node srv-a: in contact with instance srv-a" in l, 15)
    console.wait_seen(lambda l: "node srv-b: in contact with instance srv-b" in l, 15)
    console.wait_seen(lambda l: "member srv-w of cluster %s skipped: its endpoints are "
                      "wildcard binds" % cluster in l, 15)

    send_alerts(a, 5, "north")
    send_alerts(b, 7, "south")
    sup = Client(port)
    assert sup.login("sup", PW)[0] == 200
    got = {}

    def arrived(want):
        got.clear()
        got.update(node_alerts(sup))
        return got == want
    assert wait_until(lambda: arrived({"srv-a": 5, "srv-b": 7}), 15,
                      lambda: time.sleep(0.05)), got
    # The members' HTTP API came from ZooKeeper, the token from the cluster.
    cams = sup.get("/api/cameras")[1]
    assert cams["unreachable"] == [], cams
    assert sorted(c["node"] for c in cams["cameras"]) == ["srv-a", "srv-b"], cams

    # A third node joins later: followed within the lookup interval.
    c = Member(tmp_path, procs, "srv-c", zk.hosts, cluster, token)
    c.d.wait_line(lambda l: "registered as member srv-c" in l, 20)
    console.wait_seen(lambda l: "member srv-c of cluster %s joined" % cluster in l, 15)
    console.wait_seen(lambda l: "node srv-c: in contact with instance srv-c" in l, 15)
    send_alerts(c, 3, "east")
    assert wait_until(lambda: arrived({"srv-a": 5, "srv-b": 7, "srv-c": 3}), 15,
                      lambda: time.sleep(0.05)), got
    cams = sup.get("/api/cameras")[1]
    assert cams["unreachable"] == [], cams
    assert sorted(c["node"] for c in cams["cameras"]) == ["srv-a", "srv-b", "srv-c"], cams
    # The member with wildcard endpoints was looked at again since, and
    # logged only once.
    assert console.text().count("member srv-w of cluster %s skipped" % cluster) == 1
    assert console.p.poll() is None

    # ZooKeeper away: the nodes found stay followed, alerts keep coming.
    zk.stop()
    try:
        send_alerts(a, 4, "north")
        send_alerts(c, 2, "east")
        assert wait_until(lambda: arrived({"srv-a": 9, "srv-b": 7, "srv-c": 5}), 15,
                          lambda: time.sleep(0.05)), got
        assert console.p.poll() is None
    finally:
        zk.start()
        zk.wait_up()
    # Back: lookups go on, so a member that joins now is followed too.
    d = Member(tmp_path, procs, "srv-d", zk.hosts, cluster, token)
    d.d.wait_line(lambda l: "registered as member srv-d" in l, 30)
    console.wait_seen(lambda l: "member srv-d of cluster %s joined" % cluster in l, 20)
    console.wait_seen(lambda l: "node srv-d: in contact with instance srv-d" in l, 15)
    send_alerts(d, 2, "west")
    assert wait_until(lambda: arrived({"srv-a": 9, "srv-b": 7, "srv-c": 5, "srv-d": 2}), 15,
                      lambda: time.sleep(0.05)), got
    assert console.p.poll() is None


def test_cluster_config_checked(tmp_path):
    web, db = web_root(tmp_path), str(tmp_path / "c.db")

    def check(extra):
        conf = write_console_config(str(tmp_path / "c.conf"), free_port(), db, web, [],
                                    extra=extra)
        return subprocess.run([CONSOLE, "-t", "-c", conf], capture_output=True, text=True,
                              timeout=10)
    ok = check('cluster = { zookeeper = "127.0.0.1:2181"; };')
    assert ok.returncode == 0, ok.stderr
    for extra, msg in (('cluster = { name = "x"; };', "zookeeper"),
                       ('cluster = { zookeeper = "h:1"; name = "a b"; };', "name"),
                       ('cluster = { zookeeper = "h:1"; server_key = "/k"; };', "client_key"),
                       ('cluster = "h:1";', "group")):
        r = check(extra)
        assert r.returncode == 1, (extra, r.stdout)
        assert "c.conf:5: cluster" in r.stderr and msg in r.stderr, (extra, r.stderr)
    shutil.rmtree(web)
