"""The "gated" analysis mode end to end: camsim serves a quiet street and
the walker; vigild watches the walker twice (full and gated, the same
stream) and the quiet street gated.

- The quiet camera spends most of its time gated, and says so in the
  status report and on /metrics.
- When the walker appears, the gated camera's gate opens, it catches up
  from the keyframe before, and its motion alert carries the time of
  the triggering frame: within 0.3 s of the full camera's. The event's
  clip is recorded.
- Once the walker has gone and the hold has passed, it is gated again.
"""
import os
import urllib.request

from conftest import Camsim, Subscriber, free_port, parse_ts, scene, write_config
from svc import cameras, start_vigild, status, wait_status

HOLD = 2


def is_start(camera):
    return lambda a: a["camera"] == camera and a["type"] == "motion" and a["phase"] == "start"


def gate(config, cid):
    return cameras(status(config))[cid]["gate"]


def test_gated_mode_sleeps_wakes_and_matches_full(tmp_path, procs):
    walker, static = scene("walker"), scene("static")
    cam = Camsim({"walker": walker["file"], "static": static["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    port = free_port()
    data = str(tmp_path / "data")
    gated = dict(mode="gated", hold=HOLD)
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="full", url=cam.url("walker")),
        dict(id="gated", url=cam.url("walker"), analysis=gated),
        dict(id="quiet", url=cam.url("static"), analysis=gated),
    ], publish, data, extra="status = { metrics_port = %d; };" % port)
    sub = Subscriber(publish)
    d = start_vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)

    # A crossing the gated camera met with its gate closed: its gate was
    # opened (not merely still open from the start) before the alert.
    deadline = 3 * walker["duration"]
    while True:
        a = sub.wait_alert(is_start("gated"), deadline)
        g = gate(conf, "gated")
        if g["openings"] >= 1:
            break
        sub.alerts.remove(a)
    assert g["catchup_ms"] > 0 and g["catchup_median_ms"] > 0, g
    # Full decoding saw the same crossing: the same triggering frame.
    f = sub.wait_alert(lambda x: is_start("full")(x)
                       and abs(parse_ts(x["ts"]) - parse_ts(a["ts"])) < 3, 10)
    delay = parse_ts(a["ts"]) - parse_ts(f["ts"])
    assert -0.3 <= delay <= 0.3, (a["ts"], f["ts"])
    assert a["boxes"] and a["clip"], a

    # The event ends, its clip is on disk, and the camera goes back to
    # keyframes only.
    end = sub.wait_alert(lambda x: x["camera"] == "gated" and x["phase"] == "end"
                         and x["id"] == a["id"], walker["duration"])
    clip = os.path.join(data, "clips", end["clip"])
    r = wait_status(conf, lambda r: not cameras(r)["gated"]["gate"]["open"]
                    and os.path.exists(clip) and os.path.getsize(clip) > 0,
                    HOLD + walker["duration"])
    assert os.path.getsize(clip) > 10000

    # The quiet street: mostly gated, analysing far fewer frames than
    # the stream has, and no alert.
    q = cameras(r)["quiet"]
    assert q["gate"]["share"] > 0.5, q
    assert q["fps_analysed"] < q["fps_in"] / 4, q
    assert cameras(r)["full"].get("gate") is None
    assert not [x for x in sub.alerts if x["camera"] == "quiet"], sub.alerts

    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=5) as m:
        text = m.read().decode()
    for name in ("vigil_camera_gated_ratio", "vigil_camera_gate_openings_total",
                 "vigil_camera_gate_openings_per_hour", "vigil_camera_gate_catchup_seconds",
                 "vigil_camera_gate_catchup_median_seconds"):
        assert '%s{camera="quiet"}' % name in text, name
        assert '%s{camera="full"}' % name not in text, name
    sub.close()
