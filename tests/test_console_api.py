"""vigil-console over HTTP: a real vigild (relay with the load generator
standing in for cameras), a real vigil-console following it over ZeroMQ,
users made with vigilctl user, and plain HTTP clients.

Covers: login (wrong, right, slowed down), 401 without a session, CSRF
(403 without the token, from another origin), alerts stored once and
served with filters, district limits in /api/alerts and /api/events,
acknowledgements (200, 409, pushed to another session's stream), resuming
by replay after a restart, CURVE, static files, and hostile requests
after which the console still serves."""
import atexit
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time

import pytest

from consoleutil import (CONSOLE, Client, Console, Stream, add_user, send_alerts,
                         web_root, write_console_config)
from conftest import free_port
from relayutil import Instance, wait_until

PW = "correct horse"


_USERS = []


def users_db():
    """A database with the three users, made once (Argon2id is slow on
    purpose) and copied for each test."""
    if not _USERS:
        d = tempfile.mkdtemp(prefix="console-users-")
        atexit.register(shutil.rmtree, d, True)
        db = os.path.join(d, "users.db")
        for name, role, dist in (("sup", "supervisor", None), ("north", "operator", "north"),
                                 ("south", "operator", "south,east")):
            r = add_user(db, name, PW, role, dist)
            assert r.returncode == 0, r.stderr
        sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
        _USERS.append(db)
    return _USERS[0]


class Setup:
    """One vigild, one console, three users."""

    def __init__(self, tmp_path, procs, curve=None, node=True):
        self.tmp, self.procs = tmp_path, procs
        self.db = str(tmp_path / "console.db")
        self.port = free_port()
        self.inst, nodes = None, []
        if node:
            self.inst = Instance(tmp_path, procs, alerts_extra=curve[0] if curve else None)
            nodes = [{"name": "srv-a", "alerts": self.inst.publish, "replay": self.inst.replay}]
        if curve:
            nodes[0]["server_key"] = curve[1]
        self.conf = write_console_config(str(tmp_path / "console.conf"), self.port, self.db,
                                         web_root(tmp_path), nodes,
                                         client_key=curve[2] if curve else None)
        shutil.copy(users_db(), self.db)
        self.start()

    def start(self):
        self.console = Console(self.conf, self.port, contact=self.inst is not None)
        self.procs.append(self.console)

    def client(self, user=None):
        c = Client(self.port)
        if user:
            status, js = c.login(user, PW)
            assert status == 200, js
        return c

    def wait_stored(self, n, timeout=20):
        """Wait (through the API) until the console holds n generated alerts."""
        sup = self.client("sup")
        got = []

        def count():
            got[:] = [a for a in sup.get("/api/alerts?limit=1000")[1]["alerts"]
                      if a["camera"].startswith("gen")]
            return len(got) >= n
        assert wait_until(count, timeout, lambda: time.sleep(0.05)), len(got)
        return got


@pytest.fixture
def setup(tmp_path, procs):
    return Setup(tmp_path, procs)


@pytest.fixture
def bare(tmp_path, procs):
    """A console following no node: for what needs no alerts."""
    return Setup(tmp_path, procs, node=False)


def test_login_sessions_and_csrf(bare):
    c = Client(bare.port)
    assert c.get("/api/me")[0] == 401
    assert c.get("/api/alerts")[0] == 401
    assert c.get("/media/srv-a/clips/x.mp4")[0] == 401
    status, js = c.login("sup", "wrong password")
    assert status == 401 and "error" in js
    status, js = c.login("nobody", PW)
    assert status == 401
    status, js = c.login("sup", PW)
    assert status == 200, js
    assert js["user"] == "sup" and js["role"] == "supervisor" and len(js["csrf"]) == 64
    cookie = c.set_cookie
    for attr in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attr in cookie
    assert "Secure" not in cookie          # no TLS here
    status, me, _, _ = c.get("/api/me")
    assert status == 200 and me["user"] == "sup"
    assert me["response_targets"] == {"key": 60, "public": 180, "normal": 600}

    # State-changing requests need the csrf token and no foreign Origin.
    token = c.csrf
    c.csrf = None
    assert c.post("/api/ack", {"key": "x/y"})[0] == 403
    c.csrf = "0" * 64
    assert c.post("/api/ack", {"key": "x/y"})[0] == 403
    c.csrf = token
    assert c.post("/api/ack", {"key": "x/y"}, headers={"Origin": "http://evil.example"})[0] == 403
    assert c.post("/api/ack", {"key": "x/y"})[0] == 404      # allowed, no such event
    # A login from another site is refused too.
    evil = Client(bare.port)
    evil.origin = "http://evil.example"
    assert evil.login("sup", PW)[0] == 403

    op = bare.client("north")
    assert op.get("/api/me")[1]["districts"] == ["north"]
    assert op.post("/api/logout", {})[0] == 200
    assert op.get("/api/me")[0] == 401


def test_failed_logins_are_slowed_down(bare):
    c = Client(bare.port)
    t0 = time.monotonic()
    statuses = [c.login("south", "wrong-%d" % i)[0] for i in range(3)]
    assert statuses == [401, 401, 401]
    assert time.monotonic() - t0 >= 0.2 + 0.4 + 0.6 - 0.05     # growing delay per failure
    status, js, r, _ = c.post("/api/login", {"user": "south", "password": PW})
    assert status == 429 and int(r.getheader("Retry-After")) >= 1, js
    # Other users and requests go on meanwhile.
    assert bare.client("sup").get("/api/me")[0] == 200
    # After the wait, the right password works and clears the count.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, js = c.login("south", PW)
        if status != 429:
            break
        time.sleep(0.25)
    assert status == 200, js
    # Many wrong tries at once cannot slip past the wait: after the free
    # ones (3, and one more checked alongside), all are refused unchecked.
    import concurrent.futures
    with concurrent.futures.ThreadPoolExecutor(12) as ex:
        got = list(ex.map(lambda i: Client(bare.port).login("north", "bad-%d" % i)[0],
                          range(12)))
    assert got.count(401) <= 4 and got.count(429) >= 8 and set(got) <= {401, 429}, got


def test_alerts_stored_once_filtered_and_districts(setup):
    north = setup.client("north")
    ns = Stream(north)
    assert ns.status == 200 and "text/event-stream" in ns.head
    sup = setup.client("sup")
    ss = Stream(sup)
    send_alerts(setup.inst, 30, "north")
    send_alerts(setup.inst, 30, "south")
    alerts = setup.wait_stored(60)
    assert len(alerts) == 60
    keys = [(a["instance"], a["epoch"], a["seq"]) for a in alerts]
    assert len(set(keys)) == 60
    db = sqlite3.connect(setup.db)
    dup = db.execute("SELECT COUNT(*) FROM alerts GROUP BY instance, epoch, seq "
                     "HAVING COUNT(*) > 1").fetchall()
    assert dup == []
    a = alerts[0]
    for f in ("node", "key", "received", "due", "ack", "district", "grid", "severity",
              "camera", "ts", "seq", "id"):
        assert f in a, f
    assert a["node"] == "srv-a" and a["key"] == "%s/%s" % (a["instance"], a["id"])
    assert a["ack"] is None
    ts = [x["ts"] for x in alerts]
    assert ts == sorted(ts, reverse=True)                  # newest first

    # Filters.
    got = sup.get("/api/alerts?district=north&severity=critical&limit=1000")[1]["alerts"]
    assert got and all(x["district"] == "north" and x["severity"] == "critical" for x in got)
    assert len(got) == 10
    assert len(sup.get("/api/alerts?limit=5")[1]["alerts"]) == 5
    assert sup.get("/api/alerts?camera=gen003&district=south")[1]["alerts"][0]["camera"] == "gen003"
    assert sup.get("/api/alerts?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z")[1]["alerts"] == []
    assert sup.get("/api/alerts?limit=x")[0] == 400
    assert sup.get("/api/alerts?from=yesterday")[0] == 400

    # The operator of north sees north only: list, filters, stream.
    mine = north.get("/api/alerts?limit=1000")[1]["alerts"]
    assert {x["district"] for x in mine} == {"north"}
    assert len([x for x in mine if x["camera"].startswith("gen")]) == 30
    assert north.get("/api/alerts?district=south")[1]["alerts"] == []
    ss.wait(lambda e: len([x for x in ss.events if x[0] == "alert"]) >= 60, 10)
    ns.wait(lambda e: len([x for x in ns.events if x[0] == "alert"]) >= 30, 10)
    ns.poll(0.3)
    assert {d["district"] for ev, d, _ in ns.events if ev == "alert"} == {"north"}
    ns.close()
    ss.close()


def test_ack_first_wins_and_is_pushed(setup):
    send_alerts(setup.inst, 6, "south")
    alerts = setup.wait_stored(6)
    a, b = setup.client("south"), setup.client("sup")
    north = setup.client("north")
    sb = Stream(b)
    sn = Stream(north)
    key = alerts[0]["key"]
    assert north.post("/api/ack", {"key": key})[0] == 404     # not its district
    t0 = time.time()
    status, ack, _, _ = a.post("/api/ack", {"key": key, "note": "patrol sent"})
    assert status == 200, ack
    assert ack["user"] == "south" and ack["note"] == "patrol sent" and ack["key"] == key
    assert ack["response_s"] >= 0
    ev = sb.wait(lambda e: e[0] == "ack" and e[1]["key"] == key, 2)
    assert ev[2] - t0 < 1.0
    assert ev[1]["user"] == "south"
    status, js, _, _ = b.post("/api/ack", {"key": key, "note": "me too"})
    assert status == 409 and js["ack"]["user"] == "south"
    # The north operator's stream never saw the south ack.
    sn.poll(0.2)
    assert not [e for e in sn.events if e[0] == "ack"]
    sn.close()
    sb.close()
    # Stored durably: after a restart it is still there.
    setup.console.stop()
    setup.start()
    b = setup.client("sup")
    got = [x for x in b.get("/api/alerts?limit=1000")[1]["alerts"] if x["key"] == key]
    assert got and got[0]["ack"]["user"] == "south" and got[0]["ack"]["note"] == "patrol sent"
    assert all(x["ack"] is None for x in b.get("/api/alerts?unacked=1")[1]["alerts"])
    stats = b.get("/api/stats/response")[1]
    site = got[0]["site"]
    assert stats["today"][site]["n"] == 1 and stats["week"][site]["n"] == 1
    assert stats["today"][site]["within_target"] == 1.0


def test_publish_to_stream_within_a_second(setup):
    c = setup.client("sup")
    s = Stream(c)
    send_alerts(setup.inst, 20, "north", rate=50)
    s.wait(lambda e: len([x for x in s.events if x[0] == "alert" and "gen_sent" in x[1]]) >= 20, 10)
    lat = [t - d["gen_sent"] for ev, d, t in s.events if ev == "alert" and "gen_sent" in d]
    assert len(lat) == 20 and max(lat) < 1.0, lat
    s.close()


def test_restart_backfills_by_replay(setup):
    send_alerts(setup.inst, 10, "north")
    first = setup.wait_stored(10)
    setup.console.stop()
    # Published while the console is down: only replay can bring them.
    send_alerts(setup.inst, 25, "north")
    setup.start()
    got = setup.wait_stored(35)
    seqs = sorted(a["seq"] for a in got)
    assert len(set(seqs)) == 35 and seqs[-1] - seqs[0] + 1 >= 35
    assert "resuming" in setup.console.text()
    assert max(a["seq"] for a in first) < seqs[-1]
    db = sqlite3.connect(setup.db)
    assert db.execute("SELECT COUNT(*), COUNT(DISTINCT seq) FROM alerts WHERE camera LIKE 'gen%'"
                      ).fetchone() == (35, 35)


def test_curve_node(tmp_path, procs):
    from test_alerts_curve import keygen
    keys = tmp_path / "keys"
    clients = keys / "clients"
    clients.mkdir(parents=True)
    keygen(str(keys), "server")
    keygen(str(keys), "console")
    keygen(str(keys), "stranger")
    (clients / "console.pub").write_text((keys / "console.pub").read_text())
    # server_key as the key itself (a file works too: vigil-tail's tests).
    curve = ('curve = { secret_key_file = "%s"; clients_dir = "%s"; };'
             % (keys / "server.key", clients), (keys / "server.pub").read_text().strip(),
             str(keys / "console.key"))
    setup = Setup(tmp_path, procs, curve=curve)
    assert "(CURVE)" in setup.console.text()
    # A console whose key the node does not know hears nothing.
    port, db = free_port(), str(tmp_path / "stranger.db")
    shutil.copy(users_db(), db)
    conf = write_console_config(str(tmp_path / "stranger.conf"), port, db, web_root(tmp_path / "s"),
                                [{"name": "srv-a", "alerts": setup.inst.publish,
                                  "replay": setup.inst.replay, "server_key": curve[1]}],
                                client_key=str(keys / "stranger.key"))
    stranger = Console(conf, port, contact=False)
    procs.append(stranger)
    send_alerts(setup.inst, 12, "south")
    got = setup.wait_stored(12)
    assert {a["district"] for a in got} == {"south"}
    c = Client(port)
    assert c.login("sup", PW)[0] == 200
    assert c.get("/api/alerts")[1]["alerts"] == []
    assert "in contact" not in stranger.text()


def test_static_files_and_traversal(bare):
    c = Client(bare.port)
    status, _, r, body = c.get("/")
    assert status == 200 and b"live" in body and r.getheader("Content-Type").startswith("text/html")
    assert c.get("/login")[3].find(b"login") > 0
    status, _, r, body = c.get("/static/app.js")
    assert status == 200 and b"vigil" in body and "javascript" in r.getheader("Content-Type")
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/..%2fsecret.txt",
                 "/static/%2e%2e%2fsecret.txt", "/static/link.txt", "/static/", "/static/.hidden",
                 "/static//etc/passwd", "/../secret.txt", "/static/app.js/..", "/nothing",
                 "/static/%00app.js"):
        status, _, _, body = c.get(path)
        assert status == 404, path
        assert b"SECRET" not in body
    assert c.post("/", {})[0] in (404, 405)


def test_vigilctl_user(tmp_path):
    db = str(tmp_path / "u.db")
    r = add_user(db, "ann", PW, "operator", "a,b-2")
    assert r.returncode == 0, r.stderr
    row = sqlite3.connect(db).execute("SELECT hash, role, districts FROM users WHERE name='ann'"
                                      ).fetchone()
    assert row[0].startswith("$argon2id$") and PW not in row[0]
    assert row[1:] == ("operator", "a,b-2")
    assert add_user(db, "ann", PW, "operator", "a").returncode != 0        # exists
    bad = [add_user(db, "bob", PW, "admin", "a"),          # bad role
           add_user(db, "bob", PW, "operator", None),      # operator without districts
           add_user(db, "bob", PW, "operator", "a,,b"),
           add_user(db, "bob", PW, "operator", "no spaces"),
           add_user(db, "bob", PW, "operator", "x" * 33),
           add_user(db, "b/ob", PW, "operator", "a"),
           add_user(db, "bob", "short", "operator", "a")]
    for r in bad:
        assert r.returncode != 0 and r.stderr.startswith("vigilctl user:"), r
    assert "--role" in bad[0].stderr and "districts" in bad[1].stderr
    assert "at least 8" in bad[-1].stderr
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM users").fetchone()[0] == 1
    assert add_user(db, "sup", PW, "supervisor").returncode == 0
    r = subprocess.run([os.path.join(os.path.dirname(CONSOLE), "vigilctl"), "user", "list",
                        "--db", db], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0 and [l.split() for l in r.stdout.splitlines()] == [
        ["ann", "operator", "a,b-2"], ["sup", "supervisor", "(all)"]], r.stdout
    assert PW not in r.stdout and "argon2" not in r.stdout
    old = sqlite3.connect(db).execute("SELECT hash FROM users WHERE name='ann'").fetchone()[0]
    r = add_user(db, "ann", "another password", None, action="passwd")
    assert r.returncode == 0, r.stderr
    new = sqlite3.connect(db).execute("SELECT hash FROM users WHERE name='ann'").fetchone()[0]
    assert new != old and new.startswith("$argon2id$")
    assert add_user(db, "nobody", PW, None, action="passwd").returncode == 1
    assert add_user(db, "ann", "", None, action="del").returncode == 0
    assert add_user(db, "ann", "", None, action="del").returncode == 1
    # -C takes the db from a console configuration.
    conf = tmp_path / "c.conf"
    conf.write_text('db = "%s";\n' % db)
    r = subprocess.run([os.path.join(os.path.dirname(CONSOLE), "vigilctl"), "user", "del",
                        "sup", "-C", str(conf)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM users").fetchone()[0] == 0


def test_config_check(tmp_path):
    good = write_console_config(str(tmp_path / "good.conf"), 8490, str(tmp_path / "c.db"),
                                str(tmp_path), [{"name": "a", "alerts": "tcp://127.0.0.1:1"}])
    r = subprocess.run([CONSOLE, "-t", "-c", good], capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text('db = "x";\nlisten = { port = 99999; };\nnodes = ( { name = "a b"; } );\n')
    r = subprocess.run([CONSOLE, "-t", "-c", str(bad)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1
    assert "bad.conf:2: port" in r.stderr and "bad.conf:3:" in r.stderr
    bad.write_text('db = "x"\nnodes = (')
    r = subprocess.run([CONSOLE, "-t", "-c", str(bad)], capture_output=True, text=True, timeout=10)
    assert r.returncode == 1 and "bad.conf:2:" in r.stderr


class NodeStub:
    """Stands in for a node's HTTP API (GET /api/v1/cameras, /clips/<path>
    with byte ranges, pictures) until vigild serves it; checks the bearer
    token like the node does. Runs in a thread of the test."""

    def __init__(self, tmp_path, cameras):
        import http.server
        import threading
        self.token = "tok-" + os.urandom(8).hex()
        self.token_file = str(tmp_path / "node.token")
        with open(self.token_file, "w") as f:
            f.write(self.token + "\n")
        self.clip = os.urandom(300 * 1024)
        self.paths = []
        stub = self

        class H(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                stub.paths.append(self.path)
                if self.headers.get("Authorization") != "Bearer " + stub.token:
                    return self.send_error(401)
                if self.path == "/api/v1/cameras":
                    body = json.dumps({"instance": "test", "cameras": cameras}).encode()
                    return self.reply(200, body, "application/json")
                if self.path.startswith("/api/v1/cameras/") and self.path.endswith("/picture.jpg"):
                    return self.reply(200, b"\xff\xd8JPEG" + self.path.encode(), "image/jpeg")
                if self.path.startswith("/clips/") and ".." not in self.path:
                    rng = self.headers.get("Range")
                    data, status, extra = stub.clip, 200, {}
                    if rng:
                        a, b = rng.split("=")[1].split("-")
                        a = int(a)
                        b = int(b) if b else len(stub.clip) - 1
                        data, status = stub.clip[a:b + 1], 206
                        extra["Content-Range"] = "bytes %d-%d/%d" % (a, b, len(stub.clip))
                    return self.reply(status, data, "video/mp4", extra)
                self.send_error(404)

            def reply(self, status, body, ctype, extra=None):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Accept-Ranges", "bytes")
                for k, v in (extra or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def media_setup(tmp_path, procs):
    cams = [dict(id="gen%03d" % i, name="Cam %d" % i, district=d, grid="g00", site="key",
                 state="streaming", fps=10.0, last_alert_ts=None)
            for i, d in ((0, "north"), (1, "south"), (2, "north"))]
    stub = NodeStub(tmp_path, cams)
    s = Setup.__new__(Setup)
    s.tmp, s.procs = tmp_path, procs
    s.inst = Instance(tmp_path, procs)
    s.db = str(tmp_path / "console.db")
    s.port = free_port()
    s.conf = write_console_config(
        str(tmp_path / "console.conf"), s.port, s.db, web_root(tmp_path),
        [{"name": "srv-a", "alerts": s.inst.publish, "replay": s.inst.replay,
          "http": stub.url, "token_file": stub.token_file}])
    for name, role, d in (("sup", "supervisor", None), ("north", "operator", "north")):
        assert add_user(s.db, name, PW, role, d).returncode == 0
    s.start()
    yield s, stub
    stub.close()


def test_media_proxy_and_cameras(media_setup):
    s, stub = media_setup
    send_alerts(s.inst, 4, "north", clips=True, cameras=3)
    send_alerts(s.inst, 4, "south", clips=True, cameras=3)
    alerts = s.wait_stored(8)
    mine = next(a for a in alerts if a["district"] == "north")
    other = next(a for a in alerts if a["district"] == "south")
    north = s.client("north")

    status, _, r, body = north.get("/media/srv-a/clips/" + mine["clip"])
    assert status == 200 and body == stub.clip
    assert r.getheader("Content-Type") == "video/mp4"
    assert int(r.getheader("Content-Length")) == len(stub.clip)
    assert r.getheader("Accept-Ranges") == "bytes"
    status, _, r, body = north.get("/media/srv-a/clips/" + mine["clip"],
                                   headers={"Range": "bytes=1000-1999"})
    assert status == 206 and body == stub.clip[1000:2000]
    assert r.getheader("Content-Range") == "bytes 1000-1999/%d" % len(stub.clip)
    status, _, r, body = north.get("/media/srv-a/clips/" + mine["clip"],
                                   headers={"Range": "bytes=300000-"})
    assert status == 206 and body == stub.clip[300000:]
    assert north.get("/media/srv-a/clips/" + mine["snapshot"])[0] == 200
    # Another district's clip, clips named by no alert, odd paths: 404,
    # and none of them reaches the node.
    before = len(stub.paths)
    for path in ("/media/srv-a/clips/" + other["clip"], "/media/srv-a/clips/gen000/none.mp4",
                 "/media/srv-a/clips/../../etc/passwd", "/media/srv-a/clips/%2e%2e/x.mp4",
                 "/media/srv-a/clips/gen000/..%2f..%2fx", "/media/srv-a/clips/.hidden",
                 "/media/srv-b/clips/" + mine["clip"], "/media/srv-a/other/x",
                 "/media/srv-a/picture/gen001.jpg", "/media/srv-a/picture/..%2fx.jpg",
                 "/media/srv-a/picture/gen000.png"):
        assert north.get(path)[0] == 404, path
    assert len(stub.paths) <= before + 2        # the camera list, for gen001's district
    assert all(".." not in p for p in stub.paths)
    status, _, r, body = north.get("/media/srv-a/picture/gen000.jpg")
    assert status == 200 and body.startswith(b"\xff\xd8") and r.getheader("Content-Type") == "image/jpeg"
    sup = s.client("sup")
    assert sup.get("/media/srv-a/clips/" + other["clip"])[0] == 200

    cams = north.get("/api/cameras")[1]
    assert {c["id"] for c in cams["cameras"]} == {"gen000", "gen002"}
    assert all(c["node"] == "srv-a" and c["district"] == "north" for c in cams["cameras"])
    last = {c["id"]: c["last_alert"] for c in cams["cameras"]}
    assert last["gen000"] and last["gen000"]["camera"] == "gen000"
    assert len(sup.get("/api/cameras")[1]["cameras"]) == 3

    # A wrong token at the node: 502, no clip.
    with open(stub.token_file, "w") as f:
        f.write("wrong\n")
    assert north.get("/media/srv-a/clips/" + mine["clip"])[0] == 502


def raw(port, data, timeout=5):
    """Send raw bytes, return the answer's status line (or '')."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        got = b""
        while b"\r\n" not in got:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
        return got.split(b"\r\n")[0].decode(errors="replace")
    finally:
        s.close()


def test_hostile_requests_then_still_serving(bare):
    c = bare.client("sup")
    # Oversized, malformed, unknown.
    status, js, _, _ = c.request("POST", "/api/ack", raw=b"x" * (17 * 1024))
    assert status == 413 and "error" in js
    status, js, _, _ = c.request("POST", "/api/login", raw=b"{" * (20 * 1024))
    assert status == 413
    for body in (b"{not json", b"[1,2]", b"\"key\"", b"", b"{\"key\": 5}",
                 b"{\"key\": \"a/b\", \"note\": 7}"):
        status, js, _, _ = c.request("POST", "/api/ack", raw=body)
        assert status == 400 and "error" in js, body
    assert c.request("POST", "/api/login", raw=b"\x00\xff garbage")[0] == 400
    assert c.get("/api/nothing")[0] == 404
    assert c.get("/api/ack")[0] == 405
    assert c.post("/api/ack", {"key": "a/b", "note": "n" * 1001})[0] == 400
    # A body announced far too large is refused before it is sent.
    t0 = time.monotonic()
    assert " 413 " in raw(bare.port, b"POST /api/ack HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Length: 1000000000\r\n\r\n{") + " "
    assert time.monotonic() - t0 < 2
    # Headers too large; garbage request lines.
    assert " 431 " in raw(bare.port, b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " +
                          b"a" * 40000 + b"\r\n\r\n") + " "
    assert raw(bare.port, b"\x16\x03\x01 not http\r\n\r\n").split(" ")[1:2] in (["400"], [])
    # Slowloris: connections that send headers a byte at a time, and
    # streams closed early, while the console keeps answering.
    slow = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", bare.port))
        s.sendall(b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: ")
        slow.append(s)
    for _ in range(10):
        st = Stream(c)
        st.sock.close()
    for _ in range(10):
        s = socket.create_connection(("127.0.0.1", bare.port))
        s.sendall(b"POST /api/ack HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"ke")
        s.close()
    t0 = time.monotonic()
    assert c.get("/api/me")[0] == 200
    assert time.monotonic() - t0 < 1.0
    for s in slow:
        s.sendall(b"b")
    assert c.get("/")[0] == 200
    for s in slow:
        s.close()
    assert bare.console.p.poll() is None


def test_sixty_streams(setup):
    clients = [setup.client("sup")] + [setup.client("north") for _ in range(2)]
    streams = [Stream(clients[i % 3]) for i in range(60)]
    assert all(s.status == 200 for s in streams)
    # Still answering other requests with 60 streams open.
    assert clients[0].get("/api/me")[0] == 200
    send_alerts(setup.inst, 5, "north")
    for s in streams:
        s.wait(lambda e: len([x for x in s.events if x[0] == "alert"
                              and x[1]["camera"].startswith("gen")]) >= 5, 10)
    for s in streams[:30]:
        s.close()
    send_alerts(setup.inst, 3, "south")
    sup_streams = [s for i, s in enumerate(streams) if i >= 30 and i % 3 == 0]
    for s in sup_streams:
        s.wait(lambda e: any(x[1].get("district") == "south" for x in s.events), 10)
    for i, s in enumerate(streams[30:], 30):
        if i % 3:
            s.poll(0.05)
            assert not any(x[1].get("district") == "south" for x in s.events)
    for s in streams[30:]:
        s.close()
    assert clients[1].get("/api/alerts?limit=1")[0] == 200


def test_tls_secure_cookie(tmp_path, procs):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-keyout", key, "-out", cert],
                       capture_output=True, timeout=60)
    if r.returncode != 0:
        pytest.skip("openssl cannot make a certificate")
    db, port = str(tmp_path / "c.db"), free_port()
    conf = write_console_config(str(tmp_path / "c.conf"), port, db, web_root(tmp_path), [],
                                tls=(cert, key))
    assert add_user(db, "sup", PW, "supervisor").returncode == 0
    console = Console(conf, port, contact=False)
    procs.append(console)
    c = Client(port, tls=True)
    status, js = c.login("sup", PW)
    assert status == 200, js
    assert "Secure" in c.set_cookie and "HttpOnly" in c.set_cookie
    assert c.get("/api/me")[0] == 200
    assert c.post("/api/ack", {"key": "a/b"}, headers={"Origin": "http://127.0.0.1:%d" % port})[0] == 403
    assert c.post("/api/ack", {"key": "a/b"})[0] == 404
    assert "https://" in console.text()


def test_stream_resume_and_logout(setup):
    c = setup.client("north")
    s = Stream(c)
    send_alerts(setup.inst, 3, "north")
    s.wait(lambda e: len([x for x in s.events if x[0] == "alert"]) >= 3, 10)
    first_id = s.last_id
    s.close()
    send_alerts(setup.inst, 4, "north")
    setup.wait_stored(7)
    # A browser reconnecting with Last-Event-ID gets what it missed.
    r = Stream(c, headers={"Last-Event-ID": first_id})
    r.wait(lambda e: len([x for x in r.events if x[0] == "alert"]) >= 4, 10)
    assert len({d["seq"] for ev, d, _ in r.events if ev == "alert"}) == 4
    # Logging out ends the session's streams at once.
    t0 = time.monotonic()
    assert c.post("/api/logout", {})[0] == 200
    with pytest.raises(EOFError):
        for _ in range(50):
            r.poll(0.1)
    assert time.monotonic() - t0 < 3
    assert Stream(c).status == 401


class HttpInstance(Instance):
    """relayutil's instance with vigild's HTTP API on (token in the data
    directory, as vigild makes it)."""

    def __init__(self, tmp_path, procs):
        from conftest import write_config
        self.http = "http://127.0.0.1:%d" % free_port()
        self.data = str(tmp_path / "data-node")
        self.publish = "tcp://127.0.0.1:%d" % free_port()
        self.replay = "tcp://127.0.0.1:%d" % free_port()
        self.conf = write_config(
            str(tmp_path / "node.conf"),
            [dict(id="idle", name="Idle gate", district="north",
                  url="rtsp://127.0.0.1:%d/none" % free_port())],
            self.publish, self.data, workers=1, instance="node", replay=self.replay,
            extra="http = { port = %s; };" % self.http.rsplit(":", 1)[1])
        self.procs = procs
        self.start()


def test_real_node_cameras_and_media(tmp_path, procs):
    inst = HttpInstance(tmp_path, procs)
    db, port = str(tmp_path / "c.db"), free_port()
    shutil.copy(users_db(), db)
    conf = write_console_config(str(tmp_path / "c.conf"), port, db, web_root(tmp_path),
                                [{"name": "srv-a", "alerts": inst.publish, "replay": inst.replay,
                                  "http": inst.http,
                                  "token_file": os.path.join(inst.data, "http.token")}])
    procs.append(Console(conf, port))
    north, south = Client(port), Client(port)
    assert north.login("north", PW)[0] == 200 and south.login("south", PW)[0] == 200
    cams = north.get("/api/cameras")[1]
    assert cams["unreachable"] == []
    assert [(c["id"], c["node"], c["district"]) for c in cams["cameras"]] == [
        ("idle", "srv-a", "north")]
    assert cams["cameras"][0]["state"] in ("connecting", "down", "stopped")
    assert south.get("/api/cameras")[1]["cameras"] == []
    # The camera never streams: the node has no picture (503, try again);
    # another district's operator gets 404 without the node being asked.
    status, js, r, _ = north.get("/media/srv-a/picture/idle.jpg")
    assert status == 503 and r.getheader("Retry-After") == "1", js
    assert south.get("/media/srv-a/picture/idle.jpg")[0] == 404
    assert north.get("/media/srv-a/picture/nosuch.jpg")[0] == 404
    assert north.get("/media/srv-a/clips/idle/none.mp4")[0] == 404


def test_request_deadline(tmp_path, procs):
    db, port = str(tmp_path / "c.db"), free_port()
    shutil.copy(users_db(), db)
    conf = write_console_config(str(tmp_path / "c.conf"), port, db, web_root(tmp_path), [],
                                extra="request_timeout = 2;")
    console = Console(conf, port, contact=False)
    procs.append(console)
    c = Client(port)
    assert c.login("sup", PW)[0] == 200
    stream = Stream(c)
    slow = socket.create_connection(("127.0.0.1", port))
    slow.sendall(b"GET /api/me HTTP/1.1\r\nHost: x\r\n")
    t0 = time.monotonic()
    closed = False
    while time.monotonic() - t0 < 8 and not closed:
        try:
            slow.sendall(b"X-Slow: 1\r\n")           # a header line every 0.2 s
            slow.settimeout(0.2)
            closed = slow.recv(100) == b""
        except socket.timeout:
            pass
        except OSError:
            closed = True
    took = time.monotonic() - t0
    assert closed and 1.5 < took < 4, took
    assert "not complete within 2 s" in console.text()
    # A stream open longer than the deadline is not cut; requests go on.
    stream.poll(0.1)
    assert c.get("/api/me")[0] == 200
    stream.close()
