"""vigil-console over HTTP: a real vigild (relay with the load generator
standing in for cameras), a real vigil-console following it over ZeroMQ,
users made with vigilctl user, and plain HTTP clients.

Covers: login (wrong, right, slowed down), 401 without a session, CSRF
(403 without the token, from another origin), alerts stored once and
served with filters, district limits in /api/alerts and /api/events,
acknowledgements (200, 409, pushed to another session's stream), resuming
by replay after a restart, CURVE, static files, and hostile requests
after which the console still serves."""
import os
import socket
import sqlite3
import subprocess
import time

import pytest

from consoleutil import (CONSOLE, Client, Console, Stream, add_user, send_alerts,
                         web_root, write_console_config)
from conftest import free_port
from relayutil import Instance, wait_until

PW = "correct horse"


class Setup:
    """One vigild, one console, three users."""

    def __init__(self, tmp_path, procs, curve=None):
        self.tmp, self.procs = tmp_path, procs
        self.inst = Instance(tmp_path, procs, alerts_extra=curve[0] if curve else None)
        self.db = str(tmp_path / "console.db")
        self.port = free_port()
        node = {"name": "srv-a", "alerts": self.inst.publish, "replay": self.inst.replay}
        if curve:
            node["server_key"] = curve[1]
        self.conf = write_console_config(str(tmp_path / "console.conf"), self.port, self.db,
                                         web_root(tmp_path), [node],
                                         client_key=curve[2] if curve else None)
        for name, role, d in (("sup", "supervisor", None), ("north", "operator", "north"),
                              ("south", "operator", "south,east")):
            r = add_user(self.db, name, PW, role, d)
            assert r.returncode == 0, r.stderr
        self.start()

    def start(self):
        self.console = Console(self.conf, self.port)
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


def test_login_sessions_and_csrf(setup):
    c = Client(setup.port)
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
    evil = Client(setup.port)
    evil.origin = "http://evil.example"
    assert evil.login("sup", PW)[0] == 403

    op = setup.client("north")
    assert op.get("/api/me")[1]["districts"] == ["north"]
    assert op.post("/api/logout", {})[0] == 200
    assert op.get("/api/me")[0] == 401


def test_failed_logins_are_slowed_down(setup):
    c = Client(setup.port)
    t0 = time.monotonic()
    statuses = [c.login("south", "wrong-%d" % i)[0] for i in range(3)]
    assert statuses == [401, 401, 401]
    assert time.monotonic() - t0 >= 0.2 + 0.4 + 0.6 - 0.05     # growing delay per failure
    status, js, r, _ = c.post("/api/login", {"user": "south", "password": PW})
    assert status == 429 and int(r.getheader("Retry-After")) >= 1, js
    # Other users and requests go on meanwhile.
    assert setup.client("sup").get("/api/me")[0] == 200
    # After the wait, the right password works and clears the count.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        status, js = c.login("south", PW)
        if status != 429:
            break
        time.sleep(0.25)
    assert status == 200, js


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
    # The north operator's stream never saw the south ack.
    sn.poll(0.2)
    assert not [e for e in sn.events if e[0] == "ack"]
    sn.close()
    sb.close()
