"""Lifecycle: SIGHUP reload without gaps for unchanged cameras, a killed
worker restarted without touching the others, and a camera that keeps
crashing its worker isolated and reported.

camsim prints `client connected id=N` / `client closed id=N` per RTSP
session; those lines count reconnections from the camera's side.
"""
import json
import os
import signal
import sqlite3
import time

from conftest import Camsim, Subscriber, free_port, scene, write_config
from svc import (all_streaming, cameras, count_lines, start_vigild, status, wait_gone,
                 wait_status)

CONNECTED = "camsim: client connected"
CLOSED = "camsim: client closed"


def wait_count(proc, prefix, n, timeout):
    deadline = time.monotonic() + timeout
    while count_lines(proc, prefix) < n:
        assert time.monotonic() < deadline, "%s: %d of %d '%s' lines" % (
            proc.name, count_lines(proc, prefix), n, prefix)
        proc.wait_line(lambda l: l.startswith(prefix), max(0.1, deadline - time.monotonic()))
    return count_lines(proc, prefix)


def test_reload_add_remove_change_keeps_unchanged_streaming(tmp_path, procs):
    walker, static, lights = scene("walker"), scene("static"), scene("lights")
    cam = Camsim({"walker": walker["file"], "static": static["file"],
                  "lights": lights["file"], "walker2": walker["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = str(tmp_path / "data")
    path = str(tmp_path / "vigil.conf")
    keep = [dict(id="keep1", url=cam.url("walker")), dict(id="keep2", url=cam.url("static"))]
    write_config(path, keep + [dict(id="gone", url=cam.url("lights")),
                               dict(id="moved", name="Old name", url=cam.url("walker"))],
                 publish, data, workers=2)
    d = start_vigild(path)
    procs.append(d)
    before = wait_status(path, all_streaming(["keep1", "keep2", "gone", "moved"]), 30)
    assert wait_count(cam, CONNECTED, 4, 10) == 4
    pids = {c["id"]: c["pid"] for c in before["cameras"]}

    # One camera removed, one changed (name and URL), one added.
    write_config(path, keep + [dict(id="moved", name="New name", url=cam.url("walker2")),
                               dict(id="added", url=cam.url("lights"))],
                 publish, data, workers=2, extra="stats_interval = 1;")
    d.p.send_signal(signal.SIGHUP)
    d.wait_line(lambda l: "supervisor: reload complete" in l, 15)
    after = wait_status(path, lambda r: all_streaming(["keep1", "keep2", "moved", "added"])(r)
                        and "gone" not in cameras(r), 20)
    # Two new sessions (changed, added), two closed (removed, changed):
    # the unchanged cameras did not reconnect.
    assert wait_count(cam, CONNECTED, 6, 10) == 6
    assert wait_count(cam, CLOSED, 2, 10) == 2
    cams = cameras(after)
    for cid in ("keep1", "keep2"):
        assert cams[cid]["pid"] == pids[cid], "worker of %s restarted" % cid
        assert cams[cid]["reconnects"] == 0
        assert cams[cid]["packets"] > cameras(before)[cid]["packets"]
    text = d.text()
    assert text.count("keep1: connected to") == 1 and text.count("keep2: connected to") == 1
    assert "gone: removed, stopping" in text
    assert "moved: changed, restarting" in text
    assert count_lines(cam, CONNECTED) == 6, "an unchanged camera reconnected"
    # The workers also took the new statistics interval (60 s before).
    d.wait_seen(lambda l: "keep1: stats: streaming" in l, 10)
    assert d.stop() == 0


def test_killed_worker_restarts_others_unaffected(tmp_path, procs):
    walker, static, lights = scene("walker"), scene("static"), scene("lights")
    cam = Camsim({"walker": walker["file"], "static": static["file"], "lights": lights["file"]})
    procs.append(cam)
    path = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="c1", url=cam.url("walker")), dict(id="c2", url=cam.url("static")),
        dict(id="c3", url=cam.url("lights")),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=2)
    d = start_vigild(path)
    procs.append(d)
    before = wait_status(path, all_streaming(["c1", "c2", "c3"]), 30)
    wait_count(cam, CONNECTED, 3, 10)
    kids = {k["role"]: k for k in before["children"]}
    victim = kids["worker:0/2"]
    victims = [c["id"] for c in before["cameras"] if c["pid"] == victim["pid"]]
    others = [c["id"] for c in before["cameras"] if c["pid"] != victim["pid"]]
    assert victims and others, "hashing left a worker without cameras: %s" % before

    os.kill(victim["pid"], signal.SIGKILL)
    t0 = time.monotonic()
    d.wait_line(lambda l: "worker:0/2: started, pid" in l and str(victim["pid"]) not in l, 5)
    restart_s = time.monotonic() - t0
    assert restart_s < 2.0, "restart took %.2f s" % restart_s
    after = wait_status(path, all_streaming(victims + others), 20)
    k2 = {k["role"]: k for k in after["children"]}
    assert k2["worker:0/2"]["pid"] != victim["pid"]
    assert k2["worker:0/2"]["restarts"] == 1
    assert k2["worker:1/2"]["pid"] == kids["worker:1/2"]["pid"]
    assert k2["worker:1/2"]["restarts"] == 0
    for cid in others:
        c0, c1 = cameras(before)[cid], cameras(after)[cid]
        assert c1["reconnects"] == 0 and c1["packets"] > c0["packets"], cid
    # Only the killed worker's cameras opened new sessions.
    assert wait_count(cam, CONNECTED, 3 + len(victims), 10) == 3 + len(victims)
    assert d.stop() == 0


def test_crashing_camera_is_isolated_and_reported(tmp_path, procs):
    walker, static, lights = scene("walker"), scene("static"), scene("lights")
    cam = Camsim({"walker": walker["file"], "static": static["file"], "lights": lights["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    bad = cam.url("lights")
    path = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="good1", url=cam.url("walker")), dict(id="good2", url=cam.url("static")),
        dict(id="bad", district="d9", grid="g9", site="key", url=bad),
    ], publish, str(tmp_path / "data"), workers=1)
    sub = Subscriber(publish)
    # Fault injection for tests: the camera on this URL aborts its worker.
    d = start_vigild(path, VIGIL_FAULT_ABORT_URL=bad)
    procs.append(d)
    d.wait_line(lambda l: "bad: crashed its worker 3 times within 10 min" in l, 40)
    alert = sub.wait_alert(lambda a: a["type"] == "worker_crashloop", 15)
    assert alert["camera"] == "bad"
    assert alert["_topic"] == "alert.critical.d9.g9.bad.worker_crashloop"
    assert "isolated" in alert["detail"]
    # The shared worker runs on without the bad camera and stops crashing.
    r = wait_status(path, all_streaming(["good1", "good2"]), 20)
    kids = {k["role"]: k for k in r["children"]}
    assert "isolated:bad" in kids
    assert cameras(r)["good1"]["child"] == "worker:0/1"
    shared_pid = kids["worker:0/1"]["pid"]
    d.wait_line(lambda l: "isolated:bad: pid" in l and "killed by signal 6" in l, 20)
    r2 = status(path)
    assert {k["role"]: k for k in r2["children"]}["worker:0/1"]["pid"] == shared_pid
    assert [a for a in sub.alerts if a["type"] == "worker_crashloop"] == [alert]

    # Removing the camera from the config retires its isolated worker.
    write_config(path, [dict(id="good1", url=cam.url("walker")),
                        dict(id="good2", url=cam.url("static"))],
                 publish, str(tmp_path / "data"), workers=1)
    d.p.send_signal(signal.SIGHUP)
    d.wait_line(lambda l: "bad: no longer in this node's cameras, stopping its worker" in l, 10)
    d.wait_line(lambda l: "supervisor: reload complete" in l, 15)
    r3 = status(path)
    assert [k["role"] for k in r3["children"]] == ["relay", "worker:0/1"]
    assert r3["children"][1]["pid"] == shared_pid
    sub.close()
    assert d.stop() == 0


def test_children_exit_when_supervisor_dies(tmp_path, procs):
    path = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="o1", url=scene("static")["file"]), dict(id="o2", url=scene("walker")["file"]),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=2)
    d = start_vigild(path)
    procs.append(d)
    r = wait_status(path, all_streaming(["o1", "o2"]), 20)
    pids = [k["pid"] for k in r["children"]]
    assert len(pids) == 3 and all(p > 0 for p in pids)
    os.kill(d.p.pid, signal.SIGKILL)
    d.p.wait(5)
    alive = wait_gone(pids, 10)
    assert alive == [], "children outlived the supervisor: %s" % alive


def test_reload_new_publish_endpoint_restarts_relay_only(tmp_path, procs):
    files = {k: scene(k)["file"] for k in ("walker", "static")}
    cams = [dict(id="p1", url=files["walker"]), dict(id="p2", url=files["static"])]
    data = str(tmp_path / "data")
    path = write_config(str(tmp_path / "vigil.conf"), cams,
                        "tcp://127.0.0.1:%d" % free_port(), data, workers=2)
    d = start_vigild(path)
    procs.append(d)
    before = wait_status(path, all_streaming(["p1", "p2"]), 20)
    kids = {k["role"]: k["pid"] for k in before["children"]}

    publish = "tcp://127.0.0.1:%d" % free_port()
    write_config(path, cams, publish, data, workers=2, instance="renamed")
    sub = Subscriber(publish)
    d.p.send_signal(signal.SIGHUP)
    d.wait_line(lambda l: "relay settings changed, restarting the relay" in l, 10)
    hb = sub.wait_heartbeat(15)
    assert hb["instance"] == "renamed"
    after = wait_status(path, lambda r: r["ready"] and all_streaming(["p1", "p2"])(r), 15)
    k2 = {k["role"]: k["pid"] for k in after["children"]}
    assert k2["relay"] != kids["relay"]
    assert k2["worker:0/2"] == kids["worker:0/2"] and k2["worker:1/2"] == kids["worker:1/2"]
    assert all(c["reconnects"] == 0 for c in after["cameras"])
    assert "worker layout changed" not in d.text()
    sub.close()
    assert d.stop() == 0


def test_open_video_loss_survives_worker_crash(tmp_path, procs):
    """A camera down when its worker is killed: the restarted worker takes
    over the open video_loss event (no second start) and ends it with
    video_restored when the camera comes back."""
    static = scene("static")
    cam = Camsim({"m1": static["file"]}, control=True)
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    path = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="c1", url=cam.url("m1"), read_timeout=2, open_timeout=2),
    ], publish, str(tmp_path / "data"), workers=1)
    sub = Subscriber(publish)
    d = start_vigild(path)
    procs.append(d)
    before = wait_status(path, all_streaming(["c1"]), 30)
    cam.command("refuse m1")
    cam.command("drop m1")
    loss = sub.wait_alert(lambda a: a["type"] == "video_loss", 15)
    assert loss["phase"] == "start"
    d.wait_line(lambda l: "c1: open:" in l and "retrying" in l, 20)

    victim = [k for k in before["children"] if k["role"] == "worker:0/1"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    d.wait_line(lambda l: "c1: video_loss event %s is still open" % loss["id"] in l, 10)
    # The new worker fails to connect too, and says nothing new about it.
    d.wait_line(lambda l: "c1: open:" in l and "retrying" in l, 20)
    cam.command("accept m1")
    restored = sub.wait_alert(lambda a: a["type"] == "video_restored", 45)
    assert restored["id"] == loss["id"] and restored["phase"] == "end"
    sub.poll(1.0)
    starts = [a for a in sub.alerts if a["type"] == "video_loss"]
    assert starts == [loss], starts
    # Nothing is left open on disk once it ended.
    assert not os.path.exists(str(tmp_path / "data" / "events" / "c1.video_loss"))
    sub.close()
    assert d.stop() == 0


def journal_events(data):
    """{event id: [phases]} of the motion alerts in a journal."""
    db = sqlite3.connect("file:%s/journal.db?mode=ro" % data, uri=True)
    try:
        rows = db.execute("SELECT payload FROM alerts ORDER BY seq").fetchall()
    finally:
        db.close()
    events = {}
    for (payload,) in rows:
        a = json.loads(payload)
        if a["type"] == "motion":
            events.setdefault(a["id"], []).append(a["phase"])
    return events


def walker_daemon(tmp_path, procs):
    """One camera c1 on camsim's walker, one worker, a subscriber joined
    before the daemon starts. Returns (daemon, subscriber, config, data)."""
    cam = Camsim({"w": scene("walker")["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = tmp_path / "data"
    path = write_config(str(tmp_path / "vigil.conf"), [dict(id="c1", url=cam.url("w"))],
                        publish, str(data), workers=1)
    sub = Subscriber(publish)
    d = start_vigild(path)
    procs.append(d)
    return d, sub, path, data


def test_open_events_of_killed_worker_end(tmp_path, procs):
    """A motion event open when its worker is killed: the restarted worker
    ends it (reason worker_restart) instead of leaving it open forever."""
    d, sub, path, data = walker_daemon(tmp_path, procs)
    before = wait_status(path, all_streaming(["c1"]), 30)
    start = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start", 30)

    victim = [k for k in before["children"] if k["role"] == "worker:0/1"][0]["pid"]
    os.kill(victim, signal.SIGKILL)
    end = sub.wait_alert(lambda a: a["id"] == start["id"] and a["phase"] == "end", 15)
    assert end["type"] == "motion" and end["reason"] == "worker_restart", end
    assert end["started"] == start["ts"] and end["zone"] == start["zone"]
    assert end["severity"] == start["severity"]
    assert d.stop() == 0
    sub.poll(0.5)
    # Every event that started ended, once; nothing is left on disk.
    events = journal_events(str(data))
    assert start["id"] in events
    for eid, phases in events.items():
        assert phases.count("start") == 1 and phases.count("end") == 1, (eid, phases)
    live = {}
    for a in sub.alerts:
        if a["type"] == "motion":
            live.setdefault(a["id"], []).append(a["phase"])
    assert all(p.count("end") == 1 for p in live.values()), live
    assert os.listdir(str(data / "events" / "c1")) == []
    sub.close()


def test_open_events_end_after_daemon_killed(tmp_path, procs):
    """The whole daemon killed (no child ends anything) while an event is
    open: the next start of the daemon ends it, in the journal too."""
    d, sub, path, data = walker_daemon(tmp_path, procs)
    start = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start", 30)
    sub.close()
    os.killpg(d.p.pid, signal.SIGKILL)      # supervisor, relay and worker at once
    d.p.wait(10)
    assert journal_events(str(data)).get(start["id"]) == ["start"]

    d = start_vigild(path)
    procs.append(d)
    d.wait_line(lambda l: "c1: alert motion end id=%s" % start["id"] in l, 15)
    assert d.stop() == 0
    events = journal_events(str(data))
    assert events[start["id"]] == ["start", "end"], events
    db = sqlite3.connect("file:%s/journal.db?mode=ro" % data, uri=True)
    try:
        ends = [json.loads(p) for (p,) in db.execute("SELECT payload FROM alerts")]
    finally:
        db.close()
    end = [a for a in ends if a["id"] == start["id"] and a["phase"] == "end"][0]
    assert end["reason"] == "worker_restart" and end["started"] == start["ts"], end
    assert os.listdir(str(data / "events" / "c1")) == []
