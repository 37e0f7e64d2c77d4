"""A full data_dir: alerts keep reaching subscribers, the journal catches
up when space returns (issue 20, item 10)."""
import errno
import os
import subprocess

import pytest

from alertgen import AlertGen
from conftest import Subscriber
from relayutil import Instance, ReplayClient, gen_alerts, wait_until


def fill(path):
    """Write path until the filesystem is full; returns the bytes written."""
    chunk, n = b"\0" * 65536, 0
    with open(path, "ab", buffering=0) as f:
        for _ in range(4096):               # 256 MB at most: the tmpfs is far smaller
            try:
                n += f.write(chunk)
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
                break
        try:                                # the last few pages
            while f.write(b"\0" * 512):
                n += 512
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return n


def send(inst, first, count):
    gen = AlertGen(inst.data, count, boot="b%d" % first)
    gen.run(gen.started + 30)
    assert gen.done(), gen.status()
    gen.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_disk_keeps_alerts_flowing(tmp_path, procs):
    data = tmp_path / "data-full"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m,mode=0700", "tmpfs", str(data)],
                   check=True)
    try:
        inst = Instance(tmp_path, procs, name="full")
        inst.settle()
        sub = Subscriber(inst.publish)
        sub.wait_heartbeat(10)
        assert os.path.exists(data / "journal.reserve")

        # Full: the relay gives up its reserve and the journal goes on.
        fill(data / "filler1")
        send(inst, 1, 20)
        # Acknowledged means published and held: a batch the full disk
        # refused is journaled by the retry a second later at the latest.
        wait_until(lambda: len(gen_alerts(inst.journal())) == 20, 10, lambda: sub.poll(0.2))
        assert len(gen_alerts(inst.journal())) == 20, "\n".join(inst.d.lines[-30:])
        assert not os.path.exists(data / "journal.reserve")

        # Full with no reserve left: published all the same, held in memory.
        fill(data / "filler2")
        send(inst, 2, 500)
        wait_until(lambda: len(sub.alerts) >= 520, 20, lambda: sub.poll(0.2))
        seqs = [a["seq"] for a in sub.alerts]
        assert seqs == list(range(seqs[0], seqs[0] + 520)), seqs
        assert len(gen_alerts(inst.journal())) == 20
        inst.d.wait_seen(lambda l: "not journaled" in l, 10)
        # A client up to date is not sent back to the start of the journal.
        rc = ReplayClient(inst.replay)
        alerts, end = rc.since(sub.heartbeats[-1]["epoch"], seqs[-1])
        assert alerts == [] and end["last"] == seqs[-1], end
        rc.close()

        # Space again: the journal gets every alert, in order, gap-free.
        os.unlink(data / "filler1")
        os.unlink(data / "filler2")
        wait_until(lambda: len(inst.journal()) == seqs[-1], 20, lambda: sub.poll(0.2))
        rows = inst.journal()
        assert [r[0] for r in rows] == list(range(1, seqs[-1] + 1))
        assert [a["seq"] for a in gen_alerts(rows)] == seqs
        wait_until(lambda: os.path.exists(data / "journal.reserve"), 10, lambda: sub.poll(0.2))
        assert os.path.exists(data / "journal.reserve")
        text = inst.d.text()
        assert "reserve released" in text and "writable again" in text, text
        sub.close()
        assert inst.d.stop() == 0
    finally:
        for p in procs:
            p.stop()
        subprocess.run(["umount", "-l", str(data)], check=False)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_full_disk_clip_ends_truncated_in_the_index(tmp_path, procs):
    """A clip whose writes fail on a full disk, and whose index row cannot
    be finished then either, ends `truncated` in the index once space
    returns, without a restart."""
    import sqlite3
    import threading

    from conftest import Camsim, free_port, scene, write_config
    from svc import start_vigild

    data = tmp_path / "data-clip"
    data.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(data)],
                   check=True)
    stop = threading.Event()
    try:
        walker = scene("walker")
        cam = Camsim({"w": walker["file"]})
        procs.append(cam)
        publish = "tcp://127.0.0.1:%d" % free_port()
        path = write_config(str(tmp_path / "vigil.conf"), [dict(id="fc", url=cam.url("w"))],
                            publish, str(data), workers=1,
                            extra="recording = { post_seconds = 2; };")
        sub = Subscriber(publish)
        d = start_vigild(path)
        procs.append(d)
        start = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start",
                               walker["duration"] * 2 + 10)
        assert start.get("clip")

        # Full, and kept full: whatever is freed (the journal's reserve)
        # is taken again, until the clip's end cannot be indexed.
        def keep_full():
            n = 0
            while not stop.is_set():
                fill(data / ("filler%d" % (n % 4)))
                n += 1
                stop.wait(0.2)
        t = threading.Thread(target=keep_full, daemon=True)
        t.start()
        d.wait_line(lambda l: "fc: clip index: cannot finish" in l and "truncated" in l, 60)
        stop.set()
        t.join(10)
        for n in range(4):
            if os.path.exists(data / ("filler%d" % n)):
                os.unlink(data / ("filler%d" % n))
        d.wait_line(lambda l: "fc: clip index: clip" in l and "finished (truncated)" in l, 10)
        db = sqlite3.connect(str(data / "clips.db"))
        states = dict(db.execute("SELECT path, state FROM clips"))
        db.close()
        assert states.get(start["clip"]) == "truncated", states
        sub.close()
        assert d.stop() == 0
    finally:
        stop.set()
        for p in procs:
            p.stop()
        subprocess.run(["umount", "-l", str(data)], check=False)
