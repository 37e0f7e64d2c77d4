"""End to end: clips of the walker camera, recorded by the real vigild
from the real camsim, checked with ffprobe/ffmpeg and the clip index.

- the clip plays, starts with a keyframe at time 0 and lasts pre-roll +
  event + post-roll within one GOP; the snapshot is a full-size JPEG;
  vigilctl finds, shows and exports it;
- SIGKILL of the worker mid-clip leaves a clip that decodes to its last
  fragment, marked truncated after the restart;
- a file-size limit (disk full) cuts the clip with a logged error while
  alerts keep flowing;
- retention over quota deletes the finished clip, never the open one.
"""
import json
import os
import re
import signal
import subprocess
import time

from conftest import (BUILD, Camsim, Proc, Subscriber, Vigild, VIGILD, decode_errors,
                      ffprobe, free_port, index_row, scene, write_config)

VIGILCTL = os.path.join(BUILD, "vigilctl")
GOP = 2.0        # seconds, see test-streams/gen_scenes.py
FRAGMENT = 1.0   # seconds, frag_duration of the clip writer


def start_recording(tmp_path, procs, recording, prlimit=None, separate=False,
                    more=(), camw_extra="", control=False):
    """camsim serving walker, vigild (1 worker) recording camw, a subscriber.
    separate: clips come from a second mount (record_url) of the same scene;
    more: extra camera entries (strings) for the config; camw_extra: more
    settings of camw; control: camsim takes fault commands."""
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"], "main": walker["file"]}, control=control)
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = str(tmp_path / "data")
    camera = dict(id="camw", name="Walker street", district="xiangcheng", grid="g01",
                  site="key", url=cam.url("walker"))
    if separate:
        camera["record_url"] = cam.url("main")
    conf = write_config(str(tmp_path / "vigil.conf"), [camera], publish, data, workers=1)
    text = open(conf).read().replace('id = "camw";', 'id = "camw"; ' + camw_extra)
    if more:
        text = text.replace("\n);", ",\n" + ",\n".join(
            m % {"main": cam.url("main")} for m in more) + "\n);")
    with open(conf, "w") as f:
        f.write(text)
    with open(conf, "a") as f:
        f.write("recording = { %s };\n" % " ".join(
            "%s = %s;" % (k, json.dumps(v)) for k, v in recording.items()))
    sub = Subscriber(publish)
    if prlimit:
        root = ["--allow-root"] if os.geteuid() == 0 else []
        d = Proc(["prlimit", "--fsize=%d" % prlimit, VIGILD, "-c", conf] + root, "vigild")
    else:
        d = Vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)
    return walker, conf, data, sub, d


def motion(phase, ident=None):
    return lambda a: (a["camera"] == "camw" and a["type"] == "motion"
                      and a["phase"] == phase and (ident is None or a["id"] == ident))


def parse_ts(ts):
    import datetime
    dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


def ctl(conf, *args):
    return subprocess.run([VIGILCTL, "clips", *args, "-c", conf], capture_output=True,
                          text=True, timeout=60)


def worker_pid(d):
    pids = [int(m.group(1)) for m in
            (re.search(r"worker:0/1: started, pid (\d+)", l) for l in list(d.lines)) if m]
    assert pids, "no worker start line"
    return pids[-1]


def test_walker_clip_plays_with_pre_and_post_roll(tmp_path, procs):
    pre, post = 2, 2
    walker, conf, data, sub, d = start_recording(tmp_path, procs,
                                       dict(pre_seconds=pre, post_seconds=post))
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    clip = start["clip"]
    assert re.fullmatch(r"camw/\d{4}-\d\d-\d\d/%s\.mp4" % re.escape(start["id"]), clip), clip
    assert start["snapshot"] == clip[:-4] + ".jpg"
    end = sub.wait_alert(motion("end", start["id"]), walker["duration"])
    assert end["clip"] == clip
    assert end["clip_duration"] > 0 and end["clip_size"] > 0
    d.wait_line(lambda l: "camw: clip %s complete" % clip in l, post + 15)

    path = os.path.join(data, "clips", clip)
    info = ffprobe(path, "-show_format", "-show_streams")
    fmt, st = info["format"], info["streams"][0]
    assert st["codec_name"] == "h264" and st["width"] == 1280
    assert abs(float(fmt["start_time"])) < 1e-3, fmt
    duration = float(fmt["duration"])
    event = parse_ts(end["ts"]) - parse_ts(start["ts"])
    want = pre + event + post
    assert want - 0.5 <= duration <= want + GOP + 0.5, \
        "clip %.2f s, pre-roll + event + post-roll = %.2f s" % (duration, want)
    first = ffprobe(path, "-select_streams", "v", "-show_frames",
                    "-read_intervals", "%+#1", "-show_entries", "frame=key_frame,pts_time")
    assert first["frames"][0]["key_frame"] == 1
    assert abs(float(first["frames"][0]["pts_time"])) < 1e-3
    assert decode_errors(path) == ""

    snap = os.path.join(data, "clips", start["snapshot"])
    sst = ffprobe(snap, "-show_streams")["streams"][0]
    assert (sst["codec_name"], sst["width"], sst["height"]) == ("mjpeg", 1280, 720)

    # The index, through vigilctl.
    r = ctl(conf, "list", "--json", "--camera", "camw", "--type", "motion")
    assert r.returncode == 0, r.stderr
    rows = [c for c in json.loads(r.stdout) if c["path"] == clip]
    assert len(rows) == 1, r.stdout
    row = rows[0]
    assert row["state"] == "complete" and row["event_id"] == start["id"]
    assert row["size"] == os.path.getsize(path) + os.path.getsize(snap)
    assert abs(row["duration"] - duration) < GOP
    assert json.loads(ctl(conf, "list", "--json", "--camera", "other").stdout) == []
    assert json.loads(ctl(conf, "list", "--json", "--until", "2000-01-01").stdout) == []
    shown = ctl(conf, "show", start["id"])
    assert shown.returncode == 0 and ("state     complete") in shown.stdout, shown.stdout
    assert ctl(conf, "show", "no-such-clip").returncode == 1
    played = subprocess.run([VIGILCTL, "clips", "play", str(row["id"]), "-c", conf],
                            capture_output=True, text=True, timeout=30,
                            env=dict(os.environ, PATH="/nonexistent"))
    assert played.stdout.strip() == path
    out = str(tmp_path / "export.mp4")
    assert ctl(conf, "export", str(row["id"]), "--out", out).returncode == 0
    exp = ffprobe(out, "-show_format")["format"]
    assert abs(float(exp["duration"]) - duration) < 0.1
    assert decode_errors(out) == ""
    sub.close()
    assert d.stop() == 0


def test_killed_worker_leaves_playable_truncated_clip(tmp_path, procs):
    walker, conf, data, sub, d = start_recording(tmp_path, procs,
                                       dict(pre_seconds=2, post_seconds=30))
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    # The update comes 5 s into the event: the clip has been written since.
    sub.wait_alert(motion("update", start["id"]), 15)
    os.kill(worker_pid(d), signal.SIGKILL)
    killed = time.time()
    d.wait_line(lambda l: "camw: 1 clip(s) left unfinished by a previous run marked truncated"
                in l, 30)
    row = index_row(data, start["clip"])
    assert row["state"] == "truncated", row
    path = os.path.join(data, "clips", start["clip"])
    assert row["size"] == os.path.getsize(path)
    assert decode_errors(path) == ""
    frames = ffprobe(path, "-count_frames", "-select_streams", "v",
                     "-show_entries", "stream=nb_read_frames")["streams"][0]
    written = killed - row["start_us"] / 1e6
    fps = walker["fps"]
    # Everything up to the last complete fragment decodes.
    assert int(frames["nb_read_frames"]) >= (written - FRAGMENT - 0.5) * fps, \
        (frames, written)
    sub.close()
    assert d.stop() == 0


def test_disk_full_cuts_clip_alerts_flow(tmp_path, procs):
    limit = 1500000
    walker, conf, data, sub, d = start_recording(tmp_path, procs,
                                       dict(pre_seconds=2, post_seconds=2), prlimit=limit)
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    d.wait_line(lambda l: "camw: clip %s: writing failed: File too large" % start["clip"]
                in l, 20)
    sub.wait_alert(motion("end", start["id"]), walker["duration"])
    nxt = sub.wait_alert(lambda a: motion("start")(a) and a["id"] != start["id"],
                         walker["duration"] + 10)
    assert nxt["clip"] != start["clip"]
    d.wait_line(lambda l: "camw: clip %s truncated" % start["clip"] in l, 15)
    assert index_row(data, start["clip"])["state"] == "truncated"
    path = os.path.join(data, "clips", start["clip"])
    assert os.path.getsize(path) <= limit
    assert decode_errors(path) == ""
    assert not any("exited" in l and "worker" in l for l in d.lines), d.text()
    sub.close()
    assert d.stop() == 0


def test_retention_deletes_oldest_finished_clip_never_the_open_one(tmp_path, procs):
    """Two cameras on the same scene: camw keeps its clip open longer
    (post-roll 5 s, still short of the next pass) and starts it earlier
    (pre-roll 4 s), camx (pre 1 s, post 1 s) finishes first. Over quota when camx's clip closes, retention must
    delete camx's finished clip and not camw's older, open one."""
    walker, conf, data, sub, d = start_recording(
        tmp_path, procs, dict(pre_seconds=1, post_seconds=1, quota="1K"),
        more=['  { id = "camx"; url = "%(main)s"; }'],
        camw_extra="recording = { pre_seconds = 4; post_seconds = 5; };")
    sw = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    sx = sub.wait_alert(lambda a: a["camera"] == "camx" and a["phase"] == "start"
                        and a["type"] == "motion", walker["duration"] + 10)
    d.wait_line(lambda l: "camx: retention: deleted clip %s" % sx["clip"] in l, 40)
    # At that moment camw's clip was older and over the quota, but open.
    w = index_row(data, sw["clip"])
    x_start = [l for l in d.lines if "camx: clip %s started" % sx["clip"] in l]
    assert w is not None and w["state"] == "recording", w
    assert os.path.exists(os.path.join(data, "clips", sw["clip"]))
    assert not os.path.exists(os.path.join(data, "clips", sx["clip"]))
    assert index_row(data, sx["clip"]) is None and x_start
    d.wait_line(lambda l: "camw: retention: deleted clip %s" % sw["clip"] in l, 40)
    done = [i for i, l in enumerate(d.lines) if "camw: clip %s complete" % sw["clip"] in l]
    gone = [i for i, l in enumerate(d.lines)
            if "camw: retention: deleted clip %s" % sw["clip"] in l]
    assert done and done[0] < gone[0] and "over quota" in d.lines[gone[0]]
    assert not os.path.exists(os.path.join(data, "clips", sw["snapshot"]))
    sub.close()
    assert d.stop() == 0


def test_clip_from_separate_record_stream(tmp_path, procs):
    pre, post = 2, 2
    walker, conf, data, sub, d = start_recording(
        tmp_path, procs, dict(pre_seconds=pre, post_seconds=post), separate=True)
    d.wait_line(lambda l: "camw: record stream connected: rtsp://127.0.0.1:" in l
                and l.endswith("/main"), 20)
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    end = sub.wait_alert(motion("end", start["id"]), walker["duration"])
    d.wait_line(lambda l: "camw: clip %s complete" % start["clip"] in l, post + 15)
    path = os.path.join(data, "clips", start["clip"])
    duration = float(ffprobe(path, "-show_format")["format"]["duration"])
    want = pre + parse_ts(end["ts"]) - parse_ts(start["ts"]) + post
    # The two streams are not frame-locked: allow a second either way.
    assert want - 1.0 <= duration <= want + GOP + 1.0, (duration, want)
    first = ffprobe(path, "-select_streams", "v", "-show_frames",
                    "-read_intervals", "%+#1", "-show_entries", "frame=key_frame")
    assert first["frames"][0]["key_frame"] == 1
    assert decode_errors(path) == ""
    sub.close()
    assert d.stop() == 0


def setups(cam, mount):
    """Transports of the RTSP sessions camsim set up for a mount."""
    found = (re.search(r" setup /%s(/\S*)? transport=(\w+)$" % mount, l) for l in list(cam.lines))
    return [m.group(2) for m in found if m]


def test_record_stream_over_udp(tmp_path, procs):
    """transport = "udp" holds for the record stream too (issue 15): a
    camera whose main stream only works over UDP records its clips."""
    walker, conf, data, sub, d = start_recording(
        tmp_path, procs, dict(pre_seconds=1, post_seconds=1), separate=True,
        camw_extra='transport = "udp";')
    cam = procs[0]
    d.wait_line(lambda l: "camw: record stream connected: rtsp://127.0.0.1:" in l
                and l.endswith("/main"), 20)
    assert setups(cam, "main") == ["udp"], cam.text()
    assert setups(cam, "walker") == ["udp"], cam.text()
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    sub.wait_alert(motion("end", start["id"]), walker["duration"])
    d.wait_line(lambda l: "camw: clip %s complete" % start["clip"] in l, 20)
    path = os.path.join(data, "clips", start["clip"])
    info = ffprobe(path, "-show_format", "-show_streams")
    st = info["streams"][0]
    assert (st["codec_name"], st["width"], st["height"]) == ("h264", 1280, 720), st
    assert float(info["format"]["duration"]) > 1.0, info["format"]
    first = ffprobe(path, "-select_streams", "v", "-show_frames",
                    "-read_intervals", "%+#1", "-show_entries", "frame=key_frame")
    assert first["frames"][0]["key_frame"] == 1
    sub.close()
    assert d.stop() == 0


def test_stalled_record_stream_is_noticed(tmp_path, procs):
    """A record stream that stalls while the detect stream goes on is
    given up within the camera's read_timeout and reopened: the log says
    so, the camera stays up and records again once the stream is back."""
    read_timeout = 2
    walker, conf, data, sub, d = start_recording(
        tmp_path, procs, dict(pre_seconds=1, post_seconds=1), separate=True, control=True,
        camw_extra="read_timeout = %d; open_timeout = 3;" % read_timeout)
    cam = procs[0]
    d.wait_seen(lambda l: "camw: record stream connected:" in l, 20)
    d.wait_seen(lambda l: "camw: analysing" in l, 20)
    cam.command("stall main")
    stalled = time.monotonic()
    line = d.wait_line(lambda l: "camw: record stream rtsp://" in l and "retrying in" in l,
                       read_timeout + 5)
    assert time.monotonic() - stalled <= read_timeout + 1.5, line
    assert "/main: read: timed out, retrying in" in line, line
    # While stalled, the next attempt fails too (the server accepts and
    # sends nothing), and the one after waits longer.
    d.wait_line(lambda l: "camw: record stream rtsp://" in l and "retrying in" in l, 20)
    cam.command("resume main")
    d.wait_line(lambda l: "camw: record stream connected:" in l, 40)
    # Detection never noticed: its own stream kept going.
    assert not [a for a in sub.poll(0.1) + sub.alerts if a["type"] == "video_loss"]
    sub.close()
    assert d.stop() == 0


def test_lost_camera_closes_its_clip(tmp_path, procs):
    walker, conf, data, sub, d = start_recording(tmp_path, procs,
                                                 dict(pre_seconds=2, post_seconds=2))
    start = sub.wait_alert(motion("start"), walker["duration"] * 2 + 10)
    procs[0].stop()   # camsim: the camera goes away mid-event
    sub.wait_alert(motion("end", start["id"]), 20)
    d.wait_line(lambda l: "camw: clip %s: no packets from the record stream" % start["clip"]
                in l, 20)
    d.wait_line(lambda l: "camw: clip %s complete" % start["clip"] in l, 10)
    assert index_row(data, start["clip"])["state"] == "complete"
    assert decode_errors(os.path.join(data, "clips", start["clip"])) == ""
    sub.close()
    assert d.stop() == 0
