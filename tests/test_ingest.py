"""Ingest that never gives up: video loss and restore, stalled streams,
backoff against refused connections, mid-stream resolution changes, and
every analysis mode, transport and codec producing the walker's alert.

All of it through the real camsim, the real vigild and a real ZeroMQ
subscriber.
"""
import os
import re
import signal
import time

from conftest import (Camsim, Subscriber, Vigild, derived_scene, free_port, parse_ts, scene,
                      walker_360p, write_config)
from hugesps import huge_sps_mp4

READ_TIMEOUT = 2


def start(tmp_path, procs, cameras, **kw):
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), cameras, publish,
                        str(tmp_path / "data"), **kw)
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)
    return d, sub


def is_alert(camera, type_, phase=None):
    return lambda a: (a["camera"] == camera and a["type"] == type_
                      and (phase is None or a["phase"] == phase))


def test_camsim_killed_and_restarted(tmp_path, procs):
    walker, static = scene("walker"), scene("static")
    mounts = {"walker": walker["file"], "static": static["file"]}
    cam = Camsim(mounts)
    procs.append(cam)
    d, sub = start(tmp_path, procs, [
        dict(id="c1", url=cam.url("walker"), read_timeout=READ_TIMEOUT),
        dict(id="c2", url=cam.url("static"), read_timeout=READ_TIMEOUT),
    ])
    for c in ("c1", "c2"):
        d.wait_seen(lambda l, c=c: "%s: connected to" % c in l, 20)
    # Let both stream a moment, then pull the plug.
    sub.wait_alert(is_alert("c1", "motion", "start"), 40)
    killed = time.time()
    cam.stop(signal.SIGKILL)
    for c in ("c1", "c2"):
        loss = sub.wait_alert(is_alert(c, "video_loss", "start"), READ_TIMEOUT + 5)
        assert parse_ts(loss["ts"]) - killed <= READ_TIMEOUT + 1.0, loss
    # The camera comes back on the same address.
    cam2 = Camsim(mounts, port=cam.port)
    procs.append(cam2)
    restored_at = {}
    for c in ("c1", "c2"):
        r = sub.wait_alert(is_alert(c, "video_restored", "end"), 40)
        restored_at[c] = parse_ts(r["ts"])
    # Motion flows again after the restore.
    again = sub.wait_alert(lambda a: is_alert("c1", "motion", "start")(a)
                           and parse_ts(a["ts"]) > restored_at["c1"], 45)
    assert again["boxes"]
    assert d.p.poll() is None


def test_stalled_stream_is_detected(tmp_path, procs):
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"]}, control=True)
    procs.append(cam)
    d, sub = start(tmp_path, procs, [
        dict(id="st", url=cam.url("walker"), read_timeout=READ_TIMEOUT, open_timeout=4),
    ], workers=1)
    d.wait_line(lambda l: "st: connected to" in l, 20)
    d.wait_line(lambda l: "st: analysing" in l, 20)
    # The connection stays open but nothing more arrives.
    cam.command("stall walker")
    stalled = time.time()
    loss = sub.wait_alert(is_alert("st", "video_loss", "start"), READ_TIMEOUT + 5)
    assert parse_ts(loss["ts"]) - stalled <= READ_TIMEOUT + 1.0
    assert "timed out" in loss.get("detail", "")
    # While stalled, a reconnect finds a server that accepts and then
    # sends nothing: it times out too, without a restore or a second loss.
    d.wait_line(lambda l: "st: " in l and ", retrying in" in l, 20)
    d.wait_line(lambda l: "st: " in l and ", retrying in" in l, 20)
    assert not [a for a in sub.poll(0.2) + sub.alerts if a["type"] == "video_restored"]
    cam.command("resume walker")
    sub.wait_alert(is_alert("st", "video_restored", "end"), 40)
    losses = [a for a in sub.alerts if a["type"] == "video_loss"]
    assert len(losses) == 1


def test_refused_connection_backs_off(tmp_path, procs):
    port = free_port()  # nothing listens here
    d, sub = start(tmp_path, procs, [
        dict(id="gone", url="rtsp://127.0.0.1:%d/none" % port),
    ], workers=1)
    t0 = time.monotonic()
    # Wait for the fifth retry: 1 + 2 + 4 + 8 s of backoff before it.
    waits = []
    while len(waits) < 5:
        line = d.wait_line(lambda l: "gone: " in l and "retrying in" in l, 40)
        waits.append(float(re.search(r"retrying in ([0-9.]+) s", line).group(1)))
    elapsed = time.monotonic() - t0
    # Exponential: each wait about twice the one before (+-20% jitter).
    for a, b in zip(waits, waits[1:]):
        assert 1.3 * a <= b <= 3.0 * a, waits
    assert elapsed >= 0.8 * sum(waits[:4]), (elapsed, waits)
    attempts = sum(1 for l in d.lines if "gone: open:" in l and "retrying" in l)
    assert attempts == 5, d.text()
    # A camera that never came up is reported down once. (Its alert goes
    # out before a subscriber can have joined, so the log is the witness.)
    d.wait_seen(lambda l: "gone: alert video_loss start" in l, 5)
    assert d.text().count("alert video_loss start") == 1


def test_resolution_change_mid_stream(tmp_path, procs):
    seg = ["-f", "lavfi", "-i", "testsrc2=size=%s:rate=25:duration=4",
           "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-bf", "0",
           "-pix_fmt", "yuv420p", "-bsf:v", "h264_mp4toannexb", "-f", "h264"]
    a = derived_scene("seg640.h264", [x.replace("%s", "640x360") for x in seg])
    b = derived_scene("seg320.h264", [x.replace("%s", "320x240") for x in seg])
    joined = tmp_path / "resize.h264"
    joined.write_bytes(open(a, "rb").read() + open(b, "rb").read())
    cam = Camsim({"resize": str(joined)})
    procs.append(cam)
    d, sub = start(tmp_path, procs, [dict(id="rs", url=cam.url("resize"))], workers=1,
                   extra="stats_interval = 1;")
    d.wait_line(lambda l: "rs: analysing 640x360" in l, 20)
    d.wait_line(lambda l: "rs: analysing 320x240" in l, 20)
    # ... and back when the file loops: analysis keeps going both ways.
    d.wait_line(lambda l: "rs: analysing 640x360" in l, 20)
    stats = d.wait_line(lambda l: "rs: stats: streaming" in l, 5)
    analysed = int(re.search(r"analysed (\d+)", stats).group(1))
    assert analysed > 100, stats
    assert d.p.poll() is None
    assert not [x for x in sub.alerts if x["type"] == "video_loss"]


def test_every_mode_transport_and_codec_sees_the_walker(tmp_path, procs):
    walker = scene("walker")
    hevc = derived_scene("walker_hevc.mp4", [
        "-i", walker["file"], "-vf", "scale=640:360", "-c:v", "libx265",
        "-preset", "ultrafast", "-x265-params", "keyint=50:min-keyint=50:bframes=0:log-level=error",
        "-tag:v", "hvc1"])
    # Cameras mostly send no B-frames, some do: frames then leave the
    # decoder in another order than it decodes them, and the downscale
    # made row by row while decoding must not be used for them.
    bframes = derived_scene("walker_bframes.mp4", [
        "-i", walker["file"], "-c:v", "libx264", "-threads", "1", "-preset", "veryfast",
        "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-bf", "2",
        "-b_strategy", "0", "-an"])
    cam = Camsim({"walker": walker["file"], "hevc": hevc, "bframes": bframes})
    procs.append(cam)
    cams = {
        "full": dict(url=cam.url("walker")),
        "fps": dict(url=cam.url("walker"), analysis=dict(mode="fps", fps=5)),
        "key": dict(url=cam.url("walker"), analysis=dict(mode="keyframes")),
        "gated": dict(url=cam.url("walker"), analysis=dict(mode="gated", hold=2)),
        "udp": dict(detect_url=cam.url("walker"), transport="udp"),
        "h265": dict(url=cam.url("hevc")),
        "bfr": dict(url=cam.url("bframes")),
        "file": dict(url=walker["file"], loop=True),
    }
    d, sub = start(tmp_path, procs, [dict(id=k, **v) for k, v in cams.items()],
                   extra="stats_interval = 1;")
    truth = walker["events"][0]
    for cid in cams:
        a = sub.wait_alert(is_alert(cid, "motion", "start"), 2 * walker["duration"] + 10)
        assert a["boxes"], a
        assert any(abs(b[1] - truth["box"][1]) < 0.25 for b in a["boxes"]), (cid, a)
    # The file loops: a second crossing, with no loss in between.
    first = [a for a in sub.alerts if is_alert("file", "motion", "start")(a)][0]
    sub.wait_alert(lambda a: is_alert("file", "motion", "start")(a) and a["id"] != first["id"],
                   walker["duration"] + 10)
    assert not [x for x in sub.alerts if x["type"] == "video_loss"], sub.alerts
    text = d.text()
    assert "key: connected to" in text and "analysis keyframes" in text
    assert "udp: connected to rtsp://127.0.0.1:%d/walker (udp)" % cam.port in text
    assert "h265: connected to" in text and ": hevc " in text
    # Every frame of the B-frame stream decoded and analysed, none lost.
    bfr = [l for l in text.splitlines() if "bfr: stats: streaming" in l][-1]
    m = re.search(r"decoded (\d+), analysed (\d+), corrupt (\d+)", bfr)
    # (The stats are read while the camera thread runs: the frame being
    # analysed may be counted as decoded and not yet as analysed.)
    assert m and int(m.group(1)) > 100 and m.group(3) == "0", bfr
    assert 0 <= int(m.group(1)) - int(m.group(2)) <= 1, bfr


def test_camsim_switch_changes_resolution_mid_stream(tmp_path, procs):
    """camsim's `switch` fault: the same RTSP session goes on with another
    file (720p to 360p and back, new parameter sets, same time line).
    vigild follows without reconnecting and without raising video_loss."""
    walker = scene("walker")
    small = walker_360p()
    cam = Camsim({"sw": "%s,%s" % (walker["file"], small)}, control=True)
    procs.append(cam)
    d, sub = start(tmp_path, procs, [dict(id="sw", url=cam.url("sw"))], workers=1,
                   extra="stats_interval = 1;")
    d.wait_seen(lambda l: "sw: analysing 1280x720" in l, 20)
    cam.command("switch sw")
    d.wait_line(lambda l: "sw: analysing 640x360" in l, 10)
    cam.command("switch sw")
    d.wait_line(lambda l: "sw: analysing 1280x720" in l, 10)
    stats = d.wait_line(lambda l: "sw: stats: streaming" in l, 5)
    assert "reconnects 0" in stats, stats
    assert d.text().count("sw: connected to") == 1
    assert cam.text().count("client connected") == 1
    assert not [x for x in sub.alerts if x["type"] == "video_loss"]
    assert d.p.poll() is None


def worker_peak_mb(d):
    """Peak resident memory (VmHWM) of the only worker, in MiB."""
    pids = [int(m.group(1)) for m in
            (re.search(r"worker:0/1: started, pid (\d+)", l) for l in list(d.lines)) if m]
    assert pids, "no worker start line"
    with open("/proc/%d/status" % pids[-1]) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM for the worker")


def test_oversized_picture_is_refused(tmp_path, procs):
    """A stream whose SPS claims 16128x16128 (issue 20, D9) is refused
    before a decoder allocates for it: video_loss naming the size, retries
    with backoff, the worker's memory stays small and the other camera of
    the same worker keeps alerting."""
    small = derived_scene("noise-320x240-baseline.mp4", [
        "-f", "lavfi", "-i", "color=gray:s=320x240:r=10,noise=alls=20:allf=t", "-t", "4",
        "-c:v", "libx264", "-threads", "1", "-profile:v", "baseline", "-g", "10",
        "-pix_fmt", "yuv420p"])
    huge = os.path.join(os.path.dirname(small), "huge-sps-16128.mp4")
    if not os.path.exists(huge):
        huge_sps_mp4(small, huge, 16128, 16128)
    cam = Camsim({"huge": huge, "walker": scene("walker")["file"]})
    procs.append(cam)
    d, sub = start(tmp_path, procs, [
        dict(id="big", url=cam.url("huge"), read_timeout=READ_TIMEOUT, open_timeout=3),
        dict(id="w", url=cam.url("walker"), read_timeout=READ_TIMEOUT),
    ], workers=1)
    loss = sub.wait_alert(is_alert("big", "video_loss"), 20)
    assert "16128x16128" in loss.get("detail", ""), loss
    d.wait_seen(lambda l: "big: " in l and "16128x16128" in l and "4096x2304" in l, 5)
    # Refused again on the next attempt, after a growing wait.
    waits = []
    for _ in range(2):
        line = d.wait_line(lambda l: "big: " in l and "retrying in" in l, 20)
        waits.append(float(re.search(r"retrying in ([0-9.]+) s", line).group(1)))
    assert waits[1] > waits[0], waits
    sub.wait_alert(is_alert("w", "motion", "start"), 40)
    assert not [a for a in sub.alerts if a["camera"] == "big" and a["type"] == "video_restored"]
    peak = worker_peak_mb(d)
    assert peak < 300, "worker peak RSS %.0f MiB" % peak


def test_repeated_pictures_are_not_analysed_again(tmp_path, procs):
    # A 10 fps sensor in a 25 fps stream, as many cameras send it: each
    # picture 2 or 3 times, the repeats nearly empty P frames.
    walker = scene("walker")
    slow = derived_scene("walker_10in25.mp4", [
        "-i", walker["file"], "-vf", "fps=10,fps=25", "-c:v", "libx264", "-threads", "1",
        "-preset", "veryfast", "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
        "-bf", "0", "-an"])
    cam = Camsim({"slow": slow})
    procs.append(cam)
    d, sub = start(tmp_path, procs, [
        dict(id="rep", url=cam.url("slow")),
        dict(id="all", url=cam.url("slow"), analysis=dict(skip_repeats=False)),
    ], extra="stats_interval = 1;")
    # The detectors are set up again for the pictures' own rate.
    line = d.wait_line(lambda l: "rep: " in l and "distinct pictures a second" in l, 20)
    rate = float(re.search(r"rep: ([\d.]+) distinct", line).group(1))
    assert 9 <= rate <= 11, line
    # Set up again, the detectors learn the background anew (1 s): a
    # crossing that begins well after that is seen by both from its
    # start, at the same picture or the next.
    settled = parse_ts(line.split()[0])
    every = sub.wait_alert(lambda a: is_alert("all", "motion", "start")(a) and
                           parse_ts(a["ts"]) > settled + 3, 2 * walker["duration"] + 10)
    t = parse_ts(every["ts"])
    rep = sub.wait_alert(lambda a: is_alert("rep", "motion", "start")(a) and
                         abs(parse_ts(a["ts"]) - t) < 2, 10)
    assert abs(parse_ts(rep["ts"]) - t) <= 0.15, (rep, every)
    text = d.text().splitlines()
    rep = [l for l in text if "rep: stats: streaming" in l][-1]
    every = [l for l in text if "all: stats: streaming" in l][-1]
    m = re.search(r"decoded (\d+), analysed (\d+), corrupt \d+, repeats (\d+)", rep)
    decoded, analysed, repeats = (int(x) for x in m.groups())
    # Three frames in five repeat a picture; keyframes and the 0.2 s
    # floor bring a few back.
    assert 0.35 * decoded <= analysed <= 0.5 * decoded, rep
    assert repeats >= 0.45 * decoded, rep
    m = re.search(r"decoded (\d+), analysed (\d+), corrupt \d+, repeats (\d+)", every)
    assert m and int(m.group(3)) == 0 and int(m.group(1)) - int(m.group(2)) <= 1, every
    assert "all: " not in "\n".join(l for l in text if "distinct pictures" in l)
