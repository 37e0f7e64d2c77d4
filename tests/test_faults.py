"""Faults a street camera throws at the daemon, injected with camsim's
control commands: each one must produce the right alerts (or none), the
camera must recover when the fault ends, and vigild must keep running.
"""
import re
import time

from conftest import Camsim, Subscriber, Vigild, free_port, parse_ts, scene, write_config

READ_TIMEOUT = 2


def test_fault_cycle(tmp_path, procs):
    walker, static = scene("walker"), scene("static")
    mounts = {"m%d" % i: (walker if i % 2 == 0 else static)["file"] for i in range(4)}
    cam = Camsim(mounts, control=True)
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="f%d" % i, url=cam.url("m%d" % i), read_timeout=READ_TIMEOUT, open_timeout=3)
        for i in range(4)], publish, str(tmp_path / "data"), extra="stats_interval = 2;")
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)
    for i in range(4):
        d.wait_seen(lambda l, i=i: "f%d: analysing" % i in l, 20)

    def loss_and_restore(cid, mount, fault, undo):
        before = len(sub.alerts)
        cam.command("%s %s" % (fault, mount))
        t = time.time()
        loss = sub.wait_alert(lambda a: a["camera"] == cid and a["type"] == "video_loss"
                              and parse_ts(a["ts"]) >= t - 0.5, READ_TIMEOUT + 10)
        for u in undo:
            cam.command("%s %s" % (u, mount))
        sub.wait_alert(lambda a: a["camera"] == cid and a["type"] == "video_restored"
                       and a["id"] == loss["id"], 45)
        return sub.alerts[before:]

    # A hung encoder and a camera that drops off and refuses to come back.
    loss_and_restore("f1", "m1", "stall", ["resume"])
    cam.command("refuse m3")
    t = time.time()
    cam.command("drop m3")
    loss = sub.wait_alert(lambda a: a["camera"] == "f3" and a["type"] == "video_loss"
                          and parse_ts(a["ts"]) >= t - 0.5, READ_TIMEOUT + 5)
    d.wait_line(lambda l: "f3: open:" in l and "retrying" in l, 20)
    cam.command("accept m3")
    sub.wait_alert(lambda a: a["camera"] == "f3" and a["type"] == "video_restored"
                   and a["id"] == loss["id"], 45)

    # Corrupt and truncated packets: the decoder conceals or rejects them,
    # analysis skips damaged frames; no crash, and no false motion on the
    # static camera from concealment smear.
    for fault in ("corrupt", "truncate"):
        cam.command("%s m1" % fault)
        d.wait_line(lambda l: "f1: stats:" in l, 10)
        d.wait_line(lambda l: "f1: stats:" in l, 10)
        cam.command("resume m1")
    assert d.p.poll() is None
    assert not [a for a in sub.alerts if a["camera"] == "f1" and a["type"] == "motion"], sub.alerts
    # f1 streams and analyses again after the damage (once a clean
    # picture decodes: it may have been down for want of one), which was
    # seen (damaged frames skipped) and logged without flooding.
    line = d.wait_line(lambda l: "f1: stats: streaming" in l, 15)
    assert int(re.search(r"corrupt (\d+)", line).group(1)) > 0, line
    assert sum(1 for l in d.lines if "f1: [h264" in l) < 40
    d.wait_seen(lambda l: "f1: " in l and "decoder messages suppressed" in l, 15)
    # The walker cameras kept alerting through all of it.
    sub.wait_alert(lambda a: a["camera"] == "f0" and a["type"] == "motion", 40)


def test_corrupt_stream_is_video_loss(tmp_path, procs):
    """Packets keep coming but none decodes to a picture (issue 20, D8):
    after read_timeout the camera is not streaming any more, video_loss
    goes out, its open motion event ends with a reason, and
    video_restored follows once pictures decode again."""
    cam = Camsim({"m0": scene("walker")["file"]}, control=True)
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="c0", url=cam.url("m0"), read_timeout=READ_TIMEOUT, open_timeout=3)],
        publish, str(tmp_path / "data"), workers=1, extra="stats_interval = 1;")
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    motion = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start", 40)
    cam.command("corrupt m0")
    t = time.monotonic()
    loss = sub.wait_alert(lambda a: a["type"] == "video_loss", READ_TIMEOUT + 4)
    assert "picture" in loss.get("detail", ""), loss
    end = sub.wait_alert(lambda a: a["id"] == motion["id"] and a["phase"] == "end", 2)
    assert time.monotonic() - t < READ_TIMEOUT + 4
    assert end.get("detail") and end.get("reason") == "video_loss", end
    # Lines are consumed in order: this one comes after the loss.
    line = d.wait_line(lambda l: "c0: stats:" in l and "no decodable picture" in l, 5)
    assert "c0: stats: down" in line, line
    cam.command("resume m0")
    sub.wait_alert(lambda a: a["type"] == "video_restored" and a["id"] == loss["id"], 15)
    d.wait_line(lambda l: "c0: stats: streaming" in l, 5)
    # One outage, one video_loss: no flapping while the damage lasted.
    assert sum(1 for a in sub.alerts if a["type"] == "video_loss") == 1, sub.alerts
