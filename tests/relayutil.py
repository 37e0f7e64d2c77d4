"""Helpers for the relay tests: a daemon with a replay endpoint and no
busy cameras, the relay's pid, replay requests and journal reads."""
import json
import os
import re
import sqlite3
import time

import zmq

from conftest import Subscriber, Vigild, free_port, write_config
from replayclient import ReplayClient  # noqa: F401  (tests import it from here)


class Instance:
    """vigild with one unreachable camera, so that besides the load
    generator's alerts there is only that camera's video_loss, raised
    once at start (settle() waits until it is stored); publish and replay
    on free ports."""

    def __init__(self, tmp_path, procs, name="test", alerts_extra=None, extra=""):
        self.data = str(tmp_path / ("data-" + name))
        self.publish = "tcp://127.0.0.1:%d" % free_port()
        self.replay = "tcp://127.0.0.1:%d" % free_port()
        self.conf = write_config(
            str(tmp_path / (name + ".conf")),
            [dict(id="idle", url="rtsp://127.0.0.1:%d/none" % free_port())],
            self.publish, self.data, workers=1, instance=name, replay=self.replay,
            alerts_extra=alerts_extra, extra=extra)
        self.procs = procs
        self.start()

    def start(self):
        self.d = Vigild(self.conf)
        self.procs.append(self.d)
        self.d.wait_line(lambda l: "relay: publishing alerts on" in l, 20)

    def settle(self):
        """Wait until the idle camera's video_loss is stored (a heartbeat
        counts it); returns that heartbeat. Plain TCP instances only."""
        if "idle: alert video_loss start" not in self.d.text():
            self.d.wait_line(lambda l: "idle: alert video_loss start" in l, 20)
        sub = Subscriber(self.publish)
        try:
            wait_until(lambda: any(h["seq"] >= 1 for h in sub.heartbeats), 10,
                       lambda: sub.poll(0.2))
            assert sub.heartbeats and sub.heartbeats[-1]["seq"] >= 1, sub.heartbeats
            return sub.heartbeats[-1]
        finally:
            sub.close()

    def relay_pids(self):
        return [int(m.group(1)) for m in
                re.finditer(r"supervisor: relay: started, pid (\d+)", self.d.text())]

    def journal(self):
        """(seq, key, topic, payload) rows of the journal, in seq order."""
        db = sqlite3.connect("file:%s/journal.db?mode=ro" % self.data, uri=True)
        try:
            return db.execute("SELECT seq, key, topic, payload FROM alerts ORDER BY seq").fetchall()
        finally:
            db.close()


def wait_until(pred, timeout, step):
    """Run step (which blocks on a socket or process for a short while)
    until pred is true or the deadline passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        step()
    return pred()


def gen_alerts(rows):
    return [json.loads(r[3]) for r in rows if json.loads(r[3])["camera"].startswith("gen")]


def mode_of(path):
    return os.stat(path).st_mode & 0o777
