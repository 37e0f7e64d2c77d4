"""Thumbnails: with alerts.thumbnail on, start and update alerts carry a
small JPEG of the triggering frame as their third frame; end alerts and
daemons without the switch send two frames. vigil-tail saves them."""
import json
import os

from conftest import (TAIL, Camsim, Proc, Subscriber, Vigild, ffprobe, free_port, scene,
                      write_config)


def test_thumbnail_frame_on_start_and_update(tmp_path, procs):
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    replay = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="camw", district="d1", grid="g1", site="key", url=cam.url("walker")),
    ], publish, str(tmp_path / "data"), workers=1, replay=replay,
        alerts_extra="insecure = true; thumbnail = true; thumbnail_width = 160;")
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)
    thumbs = tmp_path / "thumbs"
    thumbs.mkdir()
    tail = Proc([TAIL, "--json", "--count", "2", "--thumbnails", str(thumbs),
                 "--connect", publish, "--replay", replay], "vigil-tail", merge_stderr=False)
    procs.append(tail)

    start = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start",
                           walker["duration"] * 2 + 10)
    end = sub.wait_alert(lambda a: a["phase"] == "end" and a["id"] == start["id"],
                         walker["duration"] + 10)
    assert "_thumb" in start, "start alert without a thumbnail frame"
    assert "_thumb" not in end
    for u in [a for a in sub.alerts if a["id"] == start["id"] and a["phase"] == "update"]:
        assert "_thumb" in u
    # A JPEG 160 pixels wide with the picture's aspect ratio.
    src = ffprobe(walker["file"], "-show_streams")["streams"][0]
    (tmp_path / "start.jpg").write_bytes(start["_thumb"])
    st = ffprobe(str(tmp_path / "start.jpg"), "-show_streams")["streams"][0]
    assert st["codec_name"] == "mjpeg"
    assert st["width"] == 160
    assert abs(st["height"] - 160 * src["height"] / src["width"]) <= 2

    # vigil-tail saved the thumbnail of each start or update it printed,
    # byte for byte as published, and nothing for an end.
    assert tail.p.wait(walker["duration"] * 2 + 20) == 0
    printed = [json.loads(l) for l in tail.lines if l.startswith("{")]
    assert len(printed) == 2
    by_seq = dict((a["seq"], a) for a in sub.alerts)
    for a in printed:
        path = thumbs / ("%s-%d.jpg" % (a["instance"], a["seq"]))
        if a["phase"] == "end":
            assert not path.exists()
        else:
            assert path.read_bytes() == by_seq[a["seq"]]["_thumb"]
    assert any(a["phase"] != "end" for a in printed)
    assert not [f for f in os.listdir(thumbs) if f.endswith(".tmp")]
    sub.close()
    assert d.stop() == 0
