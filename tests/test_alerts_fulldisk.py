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
        assert len(gen_alerts(inst.journal())) == 20
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
