"""End to end: tripwires, their counts and loitering.

camsim serves the `tripwire` scene (three people crossing a vertical
line, two one way and one the other) and the `loiter` scene (one person
passing a square quickly, one lingering); vigild watches both with a line
and a dwell zone, a ZeroMQ subscriber takes alerts and count messages,
and the status and /metrics show the crossings. A crossing and a stay
come with a clip that plays and covers them (the line's camera has no
armed zone, so no motion event cuts the crossings' clips for them). vigild -t names file and
line of a bad line, dwell and count interval.
"""
import os
import subprocess
import sys
import time

from conftest import (ROOT, VIGILD, Camsim, Subscriber, decode_errors, ffprobe, free_port,
                      index_row, parse_ts, scene)
from svc import cameras, start_vigild, wait_status
from test_status import metrics, sample

sys.path.insert(0, os.path.join(ROOT, "scripts"))
from eval import schedule_for  # noqa: E402


def config_text(cam, publish, data_dir, port):
    return """instance = "test";
workers = 1;
data_dir = "%s";
alerts = { publish = "%s"; insecure = true; };
status = { metrics_port = %d; };
recording = { pre_seconds = %d; post_seconds = %d; };
cameras = (
  { id = "gate1"; district = "d1"; grid = "g1"; url = "%s"; count_interval = 4;
    lines = ( { name = "gate"; points = [0.5, 0.3, 0.5, 1.0]; direction = "both"; } );
    zones = ( { name = "street"; polygon = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0];
                schedule = "%s"; } ); },
  { id = "sq1"; district = "d1"; grid = "g2"; url = "%s";
    zones = ( { name = "square"; polygon = [0.3, 0.0, 0.7, 0.0, 0.7, 1.0, 0.3, 1.0];
                dwell = 3; } ); }
);
""" % (data_dir, publish, port, PRE, POST, cam.url("tripwire"), schedule_for(False),
       cam.url("loiter"))


PRE, POST = 2, 2


def check_clip(data, alert, first_us, last_us):
    """The clip an alert names is in the index, starts PRE s before
    first_us and, once written that far, plays past last_us + POST (a
    second of slack for keyframes and lag). Overlapping events share a
    clip (motion in the loiter scene), so it may still be recording: its
    fragments play as they are written."""
    clip = alert["clip"]
    assert clip and clip.startswith(alert["camera"] + "/"), alert
    path = os.path.join(data, "clips", clip)
    row = index_row(data, clip)
    assert row and row["state"] in ("recording", "complete"), row
    assert row["start_us"] <= first_us - (PRE - 0.2) * 1e6, (row, first_us)
    want = (last_us - row["start_us"]) / 1e6 + POST - 1.0
    deadline = time.monotonic() + 30
    while True:
        row = index_row(data, clip)
        duration = float(ffprobe(path, "-show_format")["format"].get("duration", 0))
        if duration >= want or row["state"] != "recording":
            break
        assert time.monotonic() < deadline, "clip %s: %.1f s, not %.1f" % (clip, duration, want)
        time.sleep(0.5)
    assert row["state"] != "truncated", row
    assert duration >= want, (clip, duration, want)
    if row["state"] == "complete":
        assert abs(duration - (row["end_us"] - row["start_us"]) / 1e6) < 1.0, (duration, row)
        assert decode_errors(path) == ""


def test_crossings_counts_and_loitering(tmp_path, procs):
    trip, loiter = scene("tripwire"), scene("loiter")
    cam = Camsim({"tripwire": trip["file"], "loiter": loiter["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    port = free_port()
    path = str(tmp_path / "vigil.conf")
    with open(path, "w") as f:
        f.write(config_text(cam, publish, str(tmp_path / "data"), port))
    sub = Subscriber(publish, prefixes=("alert.", "count."))
    d = start_vigild(path)
    procs.append(d)
    sub.wait_heartbeat(15)

    # Both directions cross within one loop (plus the start-up).
    wait = trip["duration"] + 12
    for direction in ("a-b", "b-a"):
        a = sub.wait_alert(lambda a: a["type"] == "line.crossed" and a.get("phase") == "start"
                           and a["direction"] == direction, wait)
        assert a["_topic"] == "alert.medium.d1.g1.gate1.line.crossed"
        assert a["line"] == "gate" and a["camera"] == "gate1" and a["track"] >= 1
        assert len(a["boxes"]) == 1 and 0.3 < a["boxes"][0][0] + a["boxes"][0][2] / 2 < 0.7
        # Within 1 s of a true crossing in that direction in its loop.
        ts = parse_ts(a["ts"])
        truths = [s + e["start"] for s in cam.loop_starts("tripwire")
                  for e in trip["events"] if e["direction"] == direction]
        assert min(abs(ts - t) for t in truths) <= 1.0, (ts, truths)
        end = sub.wait_alert(lambda e: e.get("id") == a["id"] and e.get("phase") == "end", 5)
        assert end["direction"] == direction
        assert a["clip"] and end["clip"] == a["clip"] and end["clip_duration"] >= 0
        assert a["snapshot"]

    # Counts every 4 s on their own topic; over a loop they add up to
    # the crossings (each count covers 4 s of frames).
    c = sub.wait_alert(lambda a: a["_topic"] == "count.d1.g1.gate1.gate", 10)
    assert c["type"] == "count" and c["line"] == "gate" and c["interval"] == 4
    assert {"instance", "seq", "epoch", "from", "ts", "a_b", "b_a"} <= set(c)
    sub.poll(trip["duration"])
    counts = [a for a in sub.alerts if a["_topic"] == "count.d1.g1.gate1.gate"]
    crossed = [a for a in sub.alerts if a["type"] == "line.crossed" and a.get("phase") == "start"]
    first, last = parse_ts(counts[0]["from"]), parse_ts(counts[-1]["ts"])
    inside = [a for a in crossed if first <= parse_ts(a["ts"]) < last]
    assert sum(x["a_b"] + x["b_a"] for x in counts) == len(inside), (counts, crossed)
    assert sum(x["b_a"] for x in counts) >= 1 and sum(x["a_b"] for x in counts) >= 1

    # Loitering: the lingering person, dwell seconds after entering.
    lo = sub.wait_alert(lambda a: a["type"] == "loitering" and a.get("phase") == "start",
                        loiter["duration"] + 10)
    assert lo["zone"] == "square" and lo["camera"] == "sq1" and lo["dwell"] >= 3
    ts = parse_ts(lo["ts"])
    truth = loiter["events"][0]
    assert min(abs(ts - (s + truth["start"])) for s in cam.loop_starts("loiter")) <= 1.0
    end = sub.wait_alert(lambda a: a.get("id") == lo["id"] and a.get("phase") == "end", 10)
    assert end["dwell"] > lo["dwell"]
    assert lo["clip"] and end["clip"] == lo["clip"]
    # The one passing (in the zone from about 1.5 s to 3.5 s of a loop)
    # raises nothing: no loitering before the lingering one's dwell.
    passing = [a for a in sub.alerts if a["type"] == "loitering" and a.get("phase") == "start"
               and any(0 <= parse_ts(a["ts"]) - s < truth["start"] - 2
                       for s in cam.loop_starts("loiter"))]
    assert passing == []

    # The status and /metrics show the crossings since the start.
    seen = len([a for a in sub.alerts if a["type"] == "line.crossed" and a.get("phase") == "start"])
    r = wait_status(path, lambda r: sum(
        l["a_b"] + l["b_a"] for l in cameras(r)["gate1"].get("lines", [])) >= seen, 10)
    lines = cameras(r)["gate1"]["lines"]
    assert [l["name"] for l in lines] == ["gate"]
    text = metrics(port)
    total = (sample(text, "vigil_line_crossings_total", camera="gate1", line="gate",
                    direction="a-b")
             + sample(text, "vigil_line_crossings_total", camera="gate1", line="gate",
                      direction="b-a"))
    assert total >= seen
    assert "lines" not in cameras(r)["sq1"]

    # The clips: around a crossing (an instant), over a whole stay; of
    # moments the camera had been streaming PRE s before (earlier ones
    # cannot have their pre-roll).
    def settled(cam_id, ts):
        return ts - min(parse_ts(a["ts"]) for a in sub.alerts if a["camera"] == cam_id) > PRE + 0.5

    data = str(tmp_path / "data")
    # gate1's only zone is never armed: no motion event opens a clip
    # there, so the crossings' clips are their own.
    assert not [a for a in sub.alerts if a["camera"] == "gate1" and a["type"] == "motion"]
    for direction in ("a-b", "b-a"):
        a = sub.wait_alert(lambda a: a["type"] == "line.crossed" and a.get("phase") == "start"
                           and a["direction"] == direction
                           and settled("gate1", parse_ts(a["ts"])), wait)
        us = parse_ts(a["ts"]) * 1e6
        check_clip(data, a, us, us)
    lo = sub.wait_alert(lambda a: a["type"] == "loitering" and a.get("phase") == "start"
                        and settled("sq1", parse_ts(a["ts"]) - a["dwell"]),
                        2 * loiter["duration"] + 10)
    end = sub.wait_alert(lambda a: a.get("id") == lo["id"] and a.get("phase") == "end", 20)
    check_clip(data, lo, (parse_ts(lo["ts"]) - lo["dwell"]) * 1e6, parse_ts(end["ts"]) * 1e6)
    sub.close()


def test_check_names_bad_lines_and_dwell(tmp_path):
    path = str(tmp_path / "bad.conf")
    with open(path, "w") as f:
        f.write("""instance = "t";
data_dir = "%s";
alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };
cameras = ( { id = "c1"; url = "rtsp://h/a"; count_interval = -3;
  zones = ( { name = "z"; polygon = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0]; dwell = true; } );
  lines = ( { name = "gate"; points = [0.5, 0.3, 0.5, 1.0]; direction = "up"; } );
  detect = { still = { stationary = 0; }; }; } );
""" % str(tmp_path / "data"))
    r = subprocess.run([VIGILD, "-t", "-c", path], capture_output=True, text=True, timeout=20)
    assert r.returncode != 0
    assert "%s:4: camera 'c1': count_interval" % path in r.stderr, r.stderr
    assert "%s:5: camera 'c1': zone 'z': dwell must be" % path in r.stderr, r.stderr
    assert ("%s:6: camera 'c1': line 'gate': direction must be \"a-b\", \"b-a\" or "
            "\"both\", not 'up'" % path) in r.stderr, r.stderr
    assert ("%s:7: camera 'c1': detect.still.stationary must be between 1 and 3600, not 0"
            % path) in r.stderr, r.stderr
    # Its detectors leave motion out: the line could never be crossed.
    assert ("%s:6: camera 'c1': line 'gate' needs the motion detector" % path) in r.stderr, \
        r.stderr
    assert os.path.exists(path)
