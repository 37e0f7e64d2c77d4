"""End to end: the activity baseline over a simulated fortnight.

build/scenes/activity/fortnight.mkv (test-streams/activity_scene.py)
holds 16 days of a street, a few hours a day, one short segment per
15-minute quarter with the time in its timestamps. vigild reads it with
pace = false and activity.clock = "stream" (in about a second), and its
alerts are taken over ZeroMQ from the replay endpoint: the injected unusual quarters raise exactly the expected
activity.high / activity.low (start and end, in the quarter that closes
them), nothing else of the kind, nothing while learning; the baseline is
kept under data_dir. Restarted on the same data_dir, vigild reads
after.mkv (the next day, a crowd at 03:00) and raises at once: the
baseline was kept, not learnt again. vigild -t refuses pace = false
where it makes no sense.
"""
import os
import subprocess
import time

from conftest import VIGILD, free_port, parse_ts, scene, write_config
from replayclient import ReplayClient
from svc import start_vigild


def truth(name):
    return scene("activity/" + name, "mkv")


def camera(t):
    # Motion only: the empty street between the segments is a still
    # picture, which tamper would rightly call frozen.
    return dict(id="street", district="d1", grid="g1", url=t["file"], pace=False,
                activity=dict(t["activity"]), detect=dict(motion={}))


def play(tmp_path, procs, t, data, before=0):
    """Run vigild on one file until it has been read to its end; returns
    the alerts of the run (the journal in data_dir holds `before` of
    earlier runs) and the daemon. The file is read in
    a second or two, faster than a subscriber connects: the alerts are
    taken from the replay endpoint, as a subscriber that joined late
    would, once the daemon says the file is read."""
    publish = "tcp://127.0.0.1:%d" % free_port()
    replay = "tcp://127.0.0.1:%d" % free_port()
    path = write_config(str(tmp_path / ("%s.conf" % t["scene"])), [camera(t)], publish,
                        data, workers=1, replay=replay)
    d = start_vigild(path)
    procs.append(d)
    d.wait_line(lambda l: "end of the file (pace = false)" in l, 60)
    # The file's end is a video_loss (read: End of file), raised last.
    rc = ReplayClient(replay)
    deadline = time.monotonic() + 10
    while True:
        alerts = [a for _, a in rc.all_since(0, 0, "alert.")[0]]
        if any(a["type"] == "video_loss" for a in alerts[before:]) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    rc.close()
    assert [a["seq"] for a in alerts] == list(range(1, len(alerts) + 1))
    alerts = alerts[before:]
    assert alerts[-1]["type"] == "video_loss", alerts[-3:]
    assert "End of file" in alerts[-1].get("detail", ""), alerts[-1]
    d.stop()
    return alerts, d


def activity_alerts(alerts):
    return [a for a in alerts if a["type"].startswith("activity.")]


def check_alerts(t, got):
    """Each expected alert: a start in the quarter after the one that made
    it (the quarter is judged when the next begins), an end in the
    quarter after its ordinary one; and nothing else."""
    starts = [a for a in got if a["phase"] == "start"]
    ends = [a for a in got if a["phase"] == "end"]
    assert len(starts) == len(t["alerts"]) and len(ends) == len(t["alerts"]), (got, t["alerts"])
    quarters = [q["t"] for q in t["quarters"]]
    for want, start, end in zip(t["alerts"], starts, ends):
        after_start = quarters[quarters.index(want["start_t"]) + 1]
        after_end = quarters[quarters.index(want["end_t"]) + 1]
        assert start["type"] == want["type"] and end["type"] == want["type"], (start, want)
        assert end["id"] == start["id"]
        assert after_start <= parse_ts(start["ts"]) < after_start + 900, (start, want)
        assert after_end <= parse_ts(end["ts"]) < after_end + 900, (end, want)
        assert start["camera"] == "street" and start["zone"] is None
    for a in got:
        print("%s: %s %s at %s: %s" % (t["scene"], a["type"], a["phase"], a["ts"], a["detail"]))
    return starts


def test_fortnight_then_restart_keeps_baseline(tmp_path, procs):
    t0 = time.monotonic()
    fort = truth("fortnight")
    data = str(tmp_path / "data")
    alerts, d = play(tmp_path, procs, fort, data)
    first_run = len(alerts)
    got = activity_alerts(alerts)
    starts = check_alerts(fort, got)
    # Nothing while learning: every activity alert is after learn_days.
    learned_from = fort["quarters"][0]["t"] + fort["activity"]["learn_days"] * 86400
    assert all(parse_ts(a["ts"]) >= learned_from for a in got), got
    assert [a["type"] for a in starts] == ["activity.high", "activity.low"]
    assert "usually" in starts[0]["detail"] and starts[1]["detail"].startswith("0 object")

    # The baseline under data_dir: every simulated hour of the week with
    # exactly the quarters the rule learns (the ordinary ones, and all
    # while learning), and about the objects the file holds in them (the
    # tracker may miss two people close together, or split one).
    path = os.path.join(data, "activity", "street.txt")
    rows = [l.split() for l in open(path).read().split("\n") if l]
    slots = {int(r[1]): (int(r[2]), float(r[3])) for r in rows}
    want = {int(s): v for s, v in fort["learned"].items()}
    assert {s: n for s, (n, _) in slots.items()} == {s: n for s, (n, _) in want.items()}
    off = {s: slots[s][1] - want[s][1] for s in want}
    assert all(abs(x) <= max(3, 0.1 * want[s][1]) for s, x in off.items()), (off, want)
    print("objects counted per learned hour, minus the file's: %s" % sorted(off.items()))

    # Restarted on the same data_dir: the next day's crowd raises at once.
    after = truth("after")
    alerts, d = play(tmp_path, procs, after, data, before=first_run)
    got = activity_alerts(alerts)
    check_alerts(after, got)
    assert [a["type"] for a in got] == ["activity.high", "activity.high"]
    assert ("activity baseline: %d learned hour(s) of the week loaded" % len(slots)) in d.text()
    print("fortnight and restart: %.1f s" % (time.monotonic() - t0))


def test_check_refuses_pace_where_it_makes_no_sense(tmp_path):
    path = str(tmp_path / "bad.conf")
    with open(path, "w") as f:
        f.write("""instance = "t";
data_dir = "%s";
alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };
defaults = { loop = true; };
cameras = (
  { id = "live"; url = "rtsp://u:secret@h/a";
    pace = false; },
  { id = "looped"; url = "/srv/a.mkv"; pace = false; },
  { id = "split"; detect_url = "/srv/a.mkv"; record_url = "/srv/b.mkv"; loop = false;
    pace = false; },
  { id = "fine"; url = "/srv/a.mkv"; loop = false; pace = false; }
);
""" % str(tmp_path / "data"))
    r = subprocess.run([VIGILD, "-t", "-c", path], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert ("%s:7: camera 'live': pace = false is for a file, not 'rtsp://u:***@h/a'"
            % path) in r.stderr, r.stderr
    assert "secret" not in r.stderr
    assert ("%s:8: camera 'looped': pace = false reads the file once; it cannot be "
            "combined with loop = true" % path) in r.stderr, r.stderr
    assert ("%s:10: camera 'split': pace = false needs one file for detection and "
            "recording" % path) in r.stderr, r.stderr
    assert "'fine'" not in r.stderr, r.stderr
