"""End to end: camsim serves `static` and `walker`, vigild watches both,
a ZeroMQ subscriber receives the alerts.

The walker camera must produce a motion `start` whose time is within 2 s
of the ground truth and whose box overlaps the truth box; the static
camera must produce nothing over the same time.
"""
import json
import os
import sqlite3

from conftest import Camsim, Subscriber, Vigild, free_port, parse_ts, scene, write_config


def overlap(a, b):
    """Area of the intersection of two normalised [x, y, w, h] boxes."""
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def loop_containing(starts, t, duration):
    """Start of the simulator loop during which wall time t fell."""
    for s in reversed(starts):
        if s <= t < s + duration + 1.0:
            return s
    raise AssertionError("time %.3f is in no loop of %s" % (t, starts))


def test_walker_alerts_and_static_stays_quiet(tmp_path, procs):
    walker, static = scene("walker"), scene("static")
    cam = Camsim({"walker": walker["file"], "static": static["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="camw", name="Walker street", district="xiangcheng", grid="g01",
             site="key", url=cam.url("walker")),
        dict(id="cams", name="Static yard", district="xiangcheng", grid="g02",
             site="public", url=cam.url("static")),
    ], publish, str(tmp_path / "data"))
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)

    truth = walker["events"][0]
    start = sub.wait_alert(lambda a: a["camera"] == "camw" and a["type"] == "motion"
                           and a["phase"] == "start", walker["duration"] * 2 + 10)
    ts = parse_ts(start["ts"])
    loop = loop_containing(cam.loop_starts("walker"), ts, walker["duration"])
    error = ts - (loop + truth["start"])
    assert abs(error) <= 2.0, "motion start %.2f s from truth" % error
    assert start["boxes"], "start alert carries no box"
    assert any(overlap(b, truth["box"]) > 0 for b in start["boxes"]), \
        "boxes %s do not overlap truth %s" % (start["boxes"], truth["box"])

    # Topic and payload as DESIGN.md describes them.
    assert start["_topic"] == "alert.critical.xiangcheng.g01.camw.motion"
    for key in ("instance", "seq", "epoch", "id", "phase", "type", "severity",
                "camera", "name", "district", "grid", "ts", "boxes", "score"):
        assert key in start, key
    assert start["instance"] == "test"
    assert start["name"] == "Walker street"
    for b in start["boxes"]:
        assert all(0.0 <= v <= 1.0 for v in b) and b[0] + b[2] <= 1.0001

    # The event ends after the walker leaves; keep listening to the end
    # of that loop so the static camera gets the same time to misbehave.
    end = sub.wait_alert(lambda a: a["camera"] == "camw" and a["phase"] == "end"
                         and a["id"] == start["id"], walker["duration"])
    assert parse_ts(end["ts"]) >= ts
    sub.poll(max(0.0, loop + walker["duration"] - parse_ts(end["ts"])))
    quiet = [a for a in sub.alerts if a["camera"] == "cams"]
    assert quiet == [], "static camera alerted: %s" % quiet

    # Sequence numbers are gap-free.
    seqs = [a["seq"] for a in sub.alerts]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))

    # What the subscriber saw was stored first, under the same seq.
    db = sqlite3.connect("file:%s?mode=ro" % (tmp_path / "data" / "journal.db"), uri=True)
    stored = dict(db.execute("SELECT seq, payload FROM alerts").fetchall())
    db.close()
    for a in sub.alerts:
        row = json.loads(stored[a["seq"]])
        assert (row["id"], row["phase"], row["epoch"]) == (a["id"], a["phase"], a["epoch"])

    # Log lines name the camera.
    assert "camw: connected to rtsp://127.0.0.1" in d.text()
    sub.close()
    assert d.stop() == 0


def test_passwords_never_logged(tmp_path, procs):
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    url = cam.url("walker").replace("rtsp://", "rtsp://admin:Sup3rSecret@")
    conf = write_config(str(tmp_path / "vigil.conf"), [dict(id="cam1", url=url)],
                        publish, str(tmp_path / "data"), workers=1)
    d = Vigild(conf)
    procs.append(d)
    d.wait_line(lambda l: "cam1: connected to" in l, 20)
    assert d.stop() == 0
    assert "Sup3rSecret" not in d.text()
    assert "rtsp://admin:***@127.0.0.1" in d.text()
    # Nothing the daemon created is open to other users.
    data = tmp_path / "data"
    for path in [data] + list(data.rglob("*")):
        mode = os.lstat(path).st_mode
        assert mode & 0o007 == 0, "%s is mode %o" % (path, mode & 0o777)
