#!/usr/bin/python3
"""Fault suite: vigild against many simulated cameras while faults rotate
across them, plus SIGKILL of a worker and of the relay.

camsim serves N small streams (320x180, 15 fps, GOP 1 s) with fault
control. Every few seconds a camera that is not already under a fault gets
one: stall (connection open, no data), drop + refuse (the camera goes
away), corrupt (bit flips in NAL units), truncate (half packets) or
switch (the stream goes on at another resolution); a few seconds later
the fault is undone. Midway a worker is killed with SIGKILL,
later the relay; in between the disk is full for the workers for 15 s
(their file size limit drops to 64 KiB: clips and the clip index cannot
grow); before all that, when run as root, the data directory's
filesystem (a tmpfs of its own) is filled to the last byte for 15 s: the
journal cannot be written either. One more camera, `big`, serves a stream whose SPS claims
16128x16128. Throughout, hostile local clients run: status clients that send
their request one byte every 0.8 s, and a replay peer that asks for the
whole journal 19 times a second and never reads. A ZeroMQ subscriber
records every alert; at the end the journal is read back through the
replay endpoint, and the supervisor is killed with SIGKILL while the
cameras' events are open.

Checks, printed as a table and as the exit status:
  - vigild is still running;
  - every stall and every drop produced video_loss for its camera and,
    after the fault ended, video_restored;
  - corrupt/truncate never stopped detection elsewhere and crashed nothing;
  - after a switch the camera analysed the new size, then the old one
    again, without any video_loss;
  - at the end every camera is streaming again (no camera stuck);
  - no sequence number is seen twice within an epoch;
  - nothing lost or duplicated: every alert the workers logged is in the
    journal (read through replay) as often as it was logged, the journal's
    seq is gap-free, and the subscriber's alerts match it seq by seq;
  - the full disk failed clip writes, alerts went on being published
    during it, and clips were completed again after it;
  - the slow status clients held nothing up: `vigilctl status` answered
    within 3 s every time, the killed worker was restarted within 3 s;
  - the replay peer that does not read did not grow the relay past
    RELAY_RSS_LIMIT_MB;
  - during the full filesystem alerts went on reaching the subscriber,
    and the journal took them all afterwards (the gap-free check above);
  - `big` was refused with a video_loss naming its size, no worker died
    of a signal it did not get from the suite, and no worker's peak memory
    went past WORKER_PEAK_LIMIT_MB;
  - after the supervisor's SIGKILL every child exited, and every alert a
    worker logged (the events' ends while stopping too) is in the journal;
  - no sanitizer report.

    scripts/fault-suite.py [--cameras 50] [--minutes 5] [--seed 1]
"""
import argparse
import calendar
import collections
import json
import os
import random
import re
import resource
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

import zmq

from procutil import Lines, children, cmdline, free_port
from replayclient import ReplayClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(ROOT, "build"))
SCENES = os.path.join(ROOT, "build", "scenes")
READ_TIMEOUT = 2
FULL_DISK_BYTES = 64 * 1024   # file size limit of the workers while the disk is full
FULL_DISK_SECONDS = 15
RELAY_RSS_LIMIT_MB = 150
WORKER_PEAK_LIMIT_MB = 600
FULL_FS_SECONDS = 15


def running(pid):
    """Whether pid runs (exists and is no zombie)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def status_mb(pid, field):
    """A size from /proc/PID/status (VmRSS, VmHWM, ...) in MB; 0 when gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def huge_sps_stream():
    """A 320x240 stream whose SPS claims 16128x16128 (made once)."""
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from hugesps import huge_sps_mp4
    small = os.path.join(ROOT, "build", "bench", "fault-baseline.mp4")
    out = os.path.join(ROOT, "build", "bench", "fault-huge-sps.mp4")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                        "color=gray:s=320x240:r=10,noise=alls=20:allf=t", "-t", "4",
                        "-c:v", "libx264", "-threads", "1", "-profile:v", "baseline", "-g", "10",
                        "-pix_fmt", "yuv420p", small], check=True)
        huge_sps_mp4(small, out + ".part", 16128, 16128)
        os.rename(out + ".part", out)
    return out


class Hostile(threading.Thread):
    """Hostile local clients for the length of the run: slow status
    clients, a replay peer that never reads, and a probe that times
    `vigilctl status` and samples the relay's memory."""

    def __init__(self, vig_pid, conf, data_dir, replay):
        super().__init__(daemon=True)
        self.vig_pid, self.conf, self.data_dir, self.replay = vig_pid, conf, data_dir, replay
        self.stop = threading.Event()
        self.status_ms, self.status_failed, self.relay_rss_max = [], 0, 0.0
        self.worker_peak = 0.0
        self.replay_asked = 0

    def slow_client(self):
        sock = os.path.join(self.data_dir, "control.sock")
        while not self.stop.is_set():
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(sock)
                for b in b"status\n":
                    if self.stop.wait(0.8):
                        break
                    s.sendall(bytes([b]))
            except OSError:
                self.stop.wait(0.2)
            finally:
                s.close()

    def deaf_replay_peer(self):
        ctx = zmq.Context()
        d = ctx.socket(zmq.DEALER)
        d.setsockopt(zmq.LINGER, 0)
        d.setsockopt(zmq.SNDHWM, 100)
        d.connect(self.replay)
        while not self.stop.wait(1 / 19.0):
            try:
                d.send_multipart([b"", b"since 0 0"], zmq.NOBLOCK)
                self.replay_asked += 1
            except zmq.Again:
                pass
        d.close()
        ctx.term()

    def run(self):
        helpers = [threading.Thread(target=self.slow_client, daemon=True) for _ in range(4)]
        helpers.append(threading.Thread(target=self.deaf_replay_peer, daemon=True))
        for t in helpers:
            t.start()
        vigilctl = os.path.join(BUILD, "vigilctl")
        while not self.stop.wait(3.0):
            t0 = time.monotonic()
            try:
                r = subprocess.run([vigilctl, "status", "--json", "-c", self.conf],
                                   capture_output=True, timeout=10)
                ok = r.returncode == 0
            except subprocess.TimeoutExpired:
                ok = False
            self.status_ms.append((time.monotonic() - t0) * 1000)
            self.status_failed += not ok
            for pid in vigild_pids(self.vig_pid, "relay"):
                self.relay_rss_max = max(self.relay_rss_max, status_mb(pid, "VmRSS"))
            for pid in vigild_pids(self.vig_pid, "worker"):
                self.worker_peak = max(self.worker_peak, status_mb(pid, "VmHWM"))
        for t in helpers:
            t.join(5)


def small_stream(width=320, height=180):
    """The walker scene at width x height, 15 fps, GOP 1 s (made once)."""
    out = os.path.join(ROOT, "build", "bench", "fault%d.mp4" % height)
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(SCENES, "walker.mp4"),
                        "-vf", "scale=%d:%d,fps=15" % (width, height), "-c:v", "libx264",
                        "-preset", "veryfast", "-g", "15", "-keyint_min", "15",
                        "-sc_threshold", "0", "-bf", "0", "-b:v", "300k", out + ".part.mp4"],
                       check=True)
        os.rename(out + ".part.mp4", out)
    return out


class Collector(threading.Thread):
    def __init__(self, endpoint):
        super().__init__(daemon=True)
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.setsockopt(zmq.SUBSCRIBE, b"")
        self.sock.connect(endpoint)
        self.alerts, self.heartbeats, self.stop = [], 0, False
        self.lock = threading.Lock()

    def run(self):
        while not self.stop:
            if self.sock.poll(200):
                frames = self.sock.recv_multipart()
                payload = json.loads(frames[1])
                with self.lock:
                    if frames[0] == b"hb":
                        self.heartbeats += 1
                    else:
                        payload["_at"] = time.time()
                        self.alerts.append(payload)

    def find(self, pred):
        with self.lock:
            return [a for a in self.alerts if pred(a)]


def vigild_pids(root, role):
    """The children of vigild (pid root) that run as --child role*."""
    out = []
    for pid in children().get(root, []):
        cmd = cmdline(pid)
        if "--child" in cmd and cmd[cmd.index("--child") + 1].startswith(role):
            out.append(pid)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=50)
    ap.add_argument("--minutes", type=float, default=5)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--every", type=float, default=3.0, help="seconds between new faults")
    args = ap.parse_args()
    rnd = random.Random(args.seed)

    # Each mount's second file (camsim's `switch`) has another resolution.
    stream = "%s,%s" % (small_stream(), small_stream(240, 136))
    n = args.cameras
    port = free_port()
    cam = subprocess.Popen([os.path.join(BUILD, "camsim"), "--port", str(port), "--control",
                            *["c%02d=%s" % (i, stream) for i in range(n)],
                            "big=%s" % huge_sps_stream()],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, bufsize=1)
    camout = Lines(cam)
    if not camout.wait(lambda l: l.startswith("camsim: ready"), 20):
        print("fault-suite: camsim did not start")
        return 1

    def command(verb, mount):
        """Send a fault command; True once camsim confirms this one."""
        want = "camsim: mount=%s %s" % (mount, verb)
        n0 = len(camout.lines)
        cam.stdin.write("%s %s\n" % (verb, mount))
        cam.stdin.flush()
        return camout.wait(lambda l: False, 0) or camout.wait(lambda l: l == want, 10, n0)

    tmp = tempfile.mkdtemp(prefix="vigil-faults-")
    # As root, the data directory gets a filesystem of its own, to be
    # filled to the last byte later on.
    fs = None
    if os.geteuid() == 0:
        os.makedirs(os.path.join(tmp, "data"), mode=0o750)
        if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g,mode=0750", "tmpfs",
                           os.path.join(tmp, "data")]).returncode == 0:
            fs = {}
    publish = "tcp://127.0.0.1:%d" % free_port()
    replay = "tcp://127.0.0.1:%d" % free_port()
    conf = os.path.join(tmp, "faults.conf")
    with open(conf, "w") as f:
        f.write('instance = "faults"; workers = 2; data_dir = "%s/data"; stats_interval = 5;\n' % tmp)
        f.write('alerts = { publish = "%s"; replay = "%s"; insecure = true; };\n'
                % (publish, replay))
        f.write("defaults = { read_timeout = %d; open_timeout = 3; };\ncameras = (\n" % READ_TIMEOUT)
        f.write(",\n".join('  { id = "c%02d"; url = "rtsp://127.0.0.1:%d/c%02d"; }' % (i, port, i)
                           for i in range(n)))
        f.write(',\n  { id = "big"; url = "rtsp://127.0.0.1:%d/big"; }' % port)
        f.write("\n);\n")
    col = Collector(publish)
    col.start()
    cmd = [os.path.join(BUILD, "vigild"), "-c", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
    vig = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    vout = Lines(vig)
    started = vout.wait(lambda l: sum(1 for x in vout.lines if ": analysing " in x) >= n, 60)
    hostile = Hostile(vig.pid, conf, os.path.join(tmp, "data"), replay)
    hostile.start()
    restart_delays = []
    faults, active = [], {}
    # Cameras whose loss fault ended but that have not reported their
    # restore yet: a new fault now would fall inside the old loss event.
    recovering = {}

    def camera_ready(cid):
        n0 = recovering.get(cid)
        if n0 is None:
            return True
        if any("%s: alert video_restored" % cid in l for l in vout.lines[n0:]):
            del recovering[cid]
            return True
        return False

    kills = []

    def recovered(f):
        """Whether a stall or drop was followed by its video_restored."""
        if f["kind"] not in ("stall", "drop"):
            return True
        loss = col.find(lambda a: a["camera"] == f["camera"] and a["type"] == "video_loss"
                        and a["_at"] >= f["at"])
        return bool(loss) and bool(col.find(lambda a: a["type"] == "video_restored"
                                            and a["id"] == loss[0]["id"]))

    try:
        if not started:
            raise RuntimeError("not every camera started analysing")
        end = time.monotonic() + args.minutes * 60
        next_fault = time.monotonic()
        kill_worker_at = time.monotonic() + args.minutes * 60 * 0.4
        kill_relay_at = time.monotonic() + args.minutes * 60 * 0.7
        full_disk_at = time.monotonic() + args.minutes * 60 * 0.5
        full_fs_at = time.monotonic() + args.minutes * 60 * 0.15
        disk = {}
        while time.monotonic() < end:
            now = time.monotonic()
            for cid, f in list(active.items()):
                if now >= f["until"]:
                    if f["kind"] in ("stall", "drop"):
                        recovering[cid] = len(vout.lines)
                    for verb in f["undo"]:
                        command(verb, cid)
                    f["undone"] = time.time()
                    del active[cid]
            # Kills happen while no fault is in flight and every camera
            # that went down has come back, so that each fault's alerts
            # are judged on their own (a worker killed while one of its
            # cameras waits to reconnect takes that camera's open
            # video_loss event with it).
            if kill_worker_at and now >= kill_worker_at and not active \
                    and all(recovered(f) for f in faults):
                pids = vigild_pids(vig.pid, "worker")
                pid = rnd.choice(pids)
                t0 = time.monotonic()
                os.kill(pid, signal.SIGKILL)
                kills.append(("worker", pid, time.time()))
                kill_worker_at = None
                # Restarted after its backoff (0.5 s), slow clients or not.
                while time.monotonic() - t0 < 10 and \
                        not set(vigild_pids(vig.pid, "worker")) - set(pids):
                    time.sleep(0.05)
                restart_delays.append(time.monotonic() - t0)
                time.sleep(READ_TIMEOUT + 4)   # let the new worker reconnect its cameras
                next_fault = time.monotonic()
                continue
            if kill_relay_at and now >= kill_relay_at and not active \
                    and all(recovered(f) for f in faults):
                pid = vigild_pids(vig.pid, "relay")[0]
                with col.lock:
                    beats = col.heartbeats
                os.kill(pid, signal.SIGKILL)
                kills.append(("relay", pid, time.time()))
                kill_relay_at = None
                # No new fault until the restarted relay's heartbeats reach
                # the collector: alerts published before its SUB socket has
                # reconnected are lost to it (PUB/SUB late joiner).
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    with col.lock:
                        if col.heartbeats >= beats + 2:
                            break
                    time.sleep(0.1)
                next_fault = time.monotonic()
                continue
            # The disk fills up: the workers (clips, clip index) may not
            # grow a file beyond FULL_DISK_BYTES for a while. The journal is
            # the relay's and stays writable.
            if full_disk_at and now >= full_disk_at and not kill_worker_at:
                disk = dict(pids=vigild_pids(vig.pid, "worker"), start=time.time(),
                            n0=len(vout.lines), until=now + FULL_DISK_SECONDS)
                for pid in disk["pids"]:
                    hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
                    resource.prlimit(pid, resource.RLIMIT_FSIZE, (FULL_DISK_BYTES, hard))
                full_disk_at = None
            if disk.get("until") and now >= disk["until"]:
                for pid in disk["pids"]:
                    try:
                        hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
                        resource.prlimit(pid, resource.RLIMIT_FSIZE, (hard, hard))
                    except ProcessLookupError:
                        pass
                disk.update(until=None, end=time.time(), n1=len(vout.lines))
            # The data directory's filesystem fills up, journal and all.
            if fs is not None and not fs and now >= full_fs_at:
                filler = os.path.join(tmp, "data", "filler")
                st = os.statvfs(os.path.join(tmp, "data"))
                with open(filler, "wb") as ff:
                    try:
                        os.posix_fallocate(ff.fileno(), 0, st.f_bavail * st.f_frsize)
                    except OSError:
                        pass
                    # Whatever fallocate left, filled by writes.
                    try:
                        while True:
                            ff.write(b"\0" * 65536)
                            ff.flush()
                    except OSError:
                        pass
                fs.update(start=time.time(), until=now + FULL_FS_SECONDS, n0=len(vout.lines),
                          filler=filler)
            if fs and fs.get("until") and now >= fs["until"]:
                os.unlink(fs["filler"])
                fs.update(until=None, end=time.time(), n1=len(vout.lines))
            if now >= next_fault and (not kill_worker_at or now < kill_worker_at - 8) \
                    and (not kill_relay_at or now < kill_relay_at - 8):
                free = [c for c in ("c%02d" % i for i in range(n))
                        if c not in active and camera_ready(c)]
                if not free:
                    time.sleep(0.1)
                    continue
                cid = rnd.choice(free)
                kind = rnd.choice(["stall", "drop", "corrupt", "truncate", "switch"])
                apply = {"stall": ["stall"], "drop": ["refuse", "drop"], "corrupt": ["corrupt"],
                         "truncate": ["truncate"], "switch": ["switch"]}[kind]
                undo = {"stall": ["resume"], "drop": ["accept"], "corrupt": ["resume"],
                        "truncate": ["resume"], "switch": ["switch"]}[kind]
                t = time.time()
                applied = all([command(verb, cid) for verb in apply])
                if not applied:
                    # Not confirmed by camsim: nothing to judge; undo it.
                    print("fault-suite: camsim did not confirm %s on %s" % (kind, cid))
                    for verb in undo:
                        command(verb, cid)
                    next_fault = time.monotonic() + args.every
                    continue
                f = dict(camera=cid, kind=kind, at=t, undo=undo,
                         until=time.monotonic() + rnd.uniform(READ_TIMEOUT + 2, READ_TIMEOUT + 6))
                faults.append(f)
                active[cid] = f
                next_fault = time.monotonic() + args.every
            time.sleep(0.1)
        # Faults still in flight run their planned length before they are
        # undone: a stall undone at once is over before any read timeout,
        # and no video_loss would be due for it.
        for cid, f in sorted(active.items(), key=lambda kv: kv[1]["until"]):
            time.sleep(max(0.0, f["until"] - time.monotonic()))
            for verb in f["undo"]:
                command(verb, cid)
            f["undone"] = time.time()
        # Let every camera come back (backoff is at most a few seconds
        # here), then read the final state from a stats round.
        # A camera refused several times waits up to 30 s (plus jitter)
        # before its next attempt: stuck means not back within 45 s.
        n0 = len(vout.lines)
        final = {}

        def all_back(line):
            m = re.search(r"(c\d\d): stats: (\w+)", line)
            if m:
                final[m.group(1)] = m.group(2)
            return len(final) == n and all(v == "streaming" for v in final.values())
        vout.wait(all_back, 45, n0)
        # Everything stored, through replay, while the daemon still runs.
        # Alerts logged before the request have had a second to be stored.
        time.sleep(1.0)
        n_asked = len(vout.lines)
        rc = ReplayClient(replay)
        try:
            stored, stored_end, _ = rc.all_since(0, 0)
        finally:
            rc.close()
        alive = vig.poll() is None
    finally:
        hostile.stop.set()
        hostile.join(15)
        # The supervisor dies while events are open: the workers stop,
        # and the relay stores what they send before it exits.
        kids = [p for p in children().get(vig.pid, [])]
        vig.send_signal(signal.SIGKILL)
        vig.wait(30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(running(p) for p in kids):
            time.sleep(0.1)
        orphans = [p for p in kids if running(p)]
        vout.thread.join(5)
        cam.send_signal(signal.SIGTERM)
        cam.wait(20)
        col.stop = True
        col.join(2)
        if fs and fs.get("until"):
            os.unlink(fs["filler"])
        # What reached the journal, read from the file once all is still.
        db = sqlite3.connect(os.path.join(tmp, "data", "journal.db"))
        journaled = collections.Counter(
            (p["type"], p["phase"], p["id"]) for p in
            (json.loads(x) for (x,) in db.execute("SELECT payload FROM alerts")))
        db.close()
        if fs is not None:
            # The logs stay in tmp; the data goes with its filesystem.
            subprocess.run(["umount", "-l", os.path.join(tmp, "data")])

    # Judge. Alerts as the daemon logged them: (time, camera, type, id).
    def stamp(ts):
        return calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S")) + float("0" + ts[19:])

    logged, sizes = [], []
    for l in vout.lines:
        m = re.match(r"(\S+)Z .*? (c\d\d): alert (video_loss|video_restored) \S+ id=(\S+)", l)
        if m:
            logged.append((stamp(m.group(1)), m.group(2), m.group(3), m.group(4)))
        m = re.match(r"(\S+)Z .*? (c\d\d): analysing (\d+x\d+) ", l)
        if m:
            sizes.append((stamp(m.group(1)), m.group(2), m.group(3)))
    rows, failures, undelivered = {}, [], 0
    for f in faults:
        kind = f["kind"]
        r = rows.setdefault(kind, [0, 0, 0])
        r[0] += 1
        if kind in ("stall", "drop"):
            # The daemon's own record of the alerts it raised...
            loss_ids = [i for t, c, typ, i in logged if c == f["camera"]
                        and typ == "video_loss" and t >= f["at"] - 0.5]
            rest = [i for t, c, typ, i in logged if c == f["camera"]
                    and typ == "video_restored" and loss_ids and i == loss_ids[0]]
            r[1] += bool(loss_ids)
            r[2] += bool(rest)
            if not loss_ids or not rest:
                failures.append("%s on %s at %.0f: loss %s, restore %s" % (
                    kind, f["camera"], f["at"], bool(loss_ids), bool(rest)))
            # ... and what the subscriber received of it. Without a
            # journal, alerts published while the relay restarts are lost.
            elif not col.find(lambda a: a["id"] == loss_ids[0]):
                undelivered += 1
        elif kind == "switch":
            # The stream changed size under the open session: analysis
            # follows to the other size and back, and the camera is never
            # reported lost for it.
            cam_ = f["camera"]
            went = [t for t, c, wh in sizes if c == cam_ and wh == "240x136" and t >= f["at"] - 0.5]
            back = [t for t, c, wh in sizes if c == cam_ and wh == "320x180"
                    and t >= f.get("undone", 1e18) - 0.5]
            lost = [t for t, c, typ, i in logged if c == cam_ and typ == "video_loss"
                    and f["at"] - 0.5 <= t <= f.get("undone", 0) + READ_TIMEOUT + 1]
            r[1] += bool(went) and not lost
            r[2] += bool(back)
            if not went or not back or lost:
                failures.append("switch on %s at %.0f: followed %s, back %s, video_loss %s" % (
                    cam_, f["at"], bool(went), bool(back), bool(lost)))
        else:
            r[1] += 1
            r[2] += 1
    stuck = sorted(c for c in ("c%02d" % i for i in range(n)) if final.get(c) != "streaming")

    # Nothing lost, nothing twice: every alert the workers logged before
    # the replay request is stored exactly as often as it was logged, the
    # journal's seq is gap-free, and what the subscriber received is what
    # was stored under that seq.
    def alert_keys(lines):
        out = collections.Counter()
        for l in lines:
            m = re.search(r" (c\d\d|big): alert (\S+) (start|update|end) id=(\S+)", l)
            if m:
                out[(m.group(2), m.group(3), m.group(4))] += 1
        return out
    asked, all_logged = alert_keys(vout.lines[:n_asked]), alert_keys(vout.lines)
    kept = collections.Counter((p["type"], p["phase"], p["id"]) for _, p in stored)
    lost = sorted(k for k, c in asked.items() if kept[k] < c)
    extra = sorted(k for k, c in kept.items() if c > all_logged[k])
    seqs = [p["seq"] for _, p in stored]
    gapless = seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False
    by_seq = dict((p["seq"], p) for _, p in stored)
    mismatched = [a["seq"] for a in col.alerts if a.get("epoch") == stored_end["epoch"]
                  and a["seq"] in by_seq and by_seq[a["seq"]]["id"] != a["id"]]
    missed_live = len([q for q in seqs if q not in set(a["seq"] for a in col.alerts)])
    if lost:
        failures.append("%d logged alert(s) not in the journal: %s" % (len(lost), lost[:5]))
    if extra:
        failures.append("%d alert(s) stored more often than logged: %s" % (len(extra), extra[:5]))
    if not gapless:
        failures.append("journal seq is not gap-free")
    if mismatched:
        failures.append("subscriber and journal disagree on seq %s" % mismatched[:5])

    # The full disk: clip writes failed, alerts went on, clips came back.
    disk_lines = vout.lines[disk.get("n0", 0):disk.get("n1", 0)]
    disk_failed = sum(1 for l in disk_lines if "writing failed" in l)
    disk_alerts = len(col.find(lambda a: disk.get("start", 0) <= a["_at"] <= disk.get("end", 0)))
    disk_after = sum(1 for l in vout.lines[disk.get("n1", len(vout.lines)):]
                     if re.search(r"clip \S+ complete", l))
    if not disk.get("end"):
        failures.append("the full-disk step did not run")
    elif not disk_failed or not disk_alerts or not disk_after:
        failures.append("full disk: %d clip write failures, %d alerts during it, %d clips "
                        "completed after it" % (disk_failed, disk_alerts, disk_after))
    # Hostile clients: nothing held up, the relay's memory bounded.
    if hostile.status_failed or not hostile.status_ms or max(hostile.status_ms) > 3000:
        failures.append("vigilctl status under slow clients: %d failed, slowest %.0f ms" % (
            hostile.status_failed, max(hostile.status_ms or [0])))
    if any(d > 3.0 for d in restart_delays):
        failures.append("worker restarted after %.1f s under slow clients" % max(restart_delays))
    if hostile.relay_rss_max > RELAY_RSS_LIMIT_MB:
        failures.append("relay grew to %.0f MB under a replay peer that does not read"
                        % hostile.relay_rss_max)
    # The full filesystem: alerts went on; the journal caught up (above).
    fs_alerts = fs_journal = 0
    if fs is None:
        print("fault-suite: not root, the full-filesystem step is left out")
    elif not fs.get("end"):
        failures.append("the full-filesystem step did not run")
    else:
        fs_alerts = len(col.find(lambda a: fs["start"] <= a["_at"] <= fs["end"]))
        fs_lines = vout.lines[fs["n0"]:fs["n1"]]
        if not fs_alerts:
            failures.append("no alert reached the subscriber while the filesystem was full")
        # The journal may not even notice: SQLite reuses its WAL file's
        # blocks, so it fails only once the WAL must grow.
        fs_journal = sum(1 for l in fs_lines if "relay: journal: " in l)
    # The huge SPS: refused, by size, crashing nothing.
    big = col.find(lambda a: a["camera"] == "big" and a["type"] == "video_loss")
    if not big or "16128x16128" not in big[0].get("detail", ""):
        failures.append("big: no video_loss naming 16128x16128 (%s)" % big[:1])
    crashed = [l for l in vout.lines if "killed by signal" in l and "signal 9 " not in l]
    if crashed:
        failures.append("children died of signals: %s" % crashed[:3])
    if hostile.worker_peak > WORKER_PEAK_LIMIT_MB:
        failures.append("a worker's peak memory was %.0f MB" % hostile.worker_peak)
    # The supervisor's SIGKILL: every child gone, every logged alert kept.
    lost_at_kill = sorted(k for k, c in all_logged.items() if journaled[k] < c)
    if orphans:
        failures.append("children outlived the supervisor: %s" % orphans)
    if lost_at_kill:
        failures.append("%d logged alert(s) not journaled after the supervisor's SIGKILL: %s"
                        % (len(lost_at_kill), lost_at_kill[:5]))
    seen, dups = set(), 0
    for a in col.alerts:
        key = (a.get("epoch"), a.get("seq"))
        dups += key in seen
        seen.add(key)
    sanitizer = [l for l in vout.lines if "Sanitizer" in l or "runtime error:" in l]
    motion = len(col.find(lambda a: a["type"] == "motion" and a["phase"] == "start"))

    print("fault suite: %d cameras, %.1f min, %d faults, kills: %s" % (
        n, args.minutes, len(faults), ", ".join(k[0] for k in kills) or "none"))
    print("%-10s %7s %10s %10s" % ("fault", "count", "alerted", "recovered"))
    for kind, (c, a, r) in sorted(rows.items()):
        print("%-10s %7d %10d %10d" % (kind, c, a, r))
    print("motion events during the run: %d; alerts: %d; duplicate seq: %d" % (
        motion, len(col.alerts), dups))
    print("video_loss alerts raised but not received by the subscriber: %d" % undelivered)
    print("journal through replay: %d alerts, seq %s..%s %s, lost %d, stored twice %d; "
          "the subscriber missed %d (relay restart) and replay has them"
          % (len(seqs), seqs[0] if seqs else "-", seqs[-1] if seqs else "-",
             "gap-free" if gapless else "WITH GAPS", len(lost), len(extra), missed_live))
    print("full disk for %d s: %d clip write failures, %d alerts published during it, "
          "%d clips completed after it" % (FULL_DISK_SECONDS, disk_failed, disk_alerts,
                                           disk_after))
    print("hostile clients: vigilctl status median %.0f ms, slowest %.0f ms, %d failed; "
          "worker restarted after %s s; relay RSS at most %.0f MB with %d unread replay "
          "requests" % (sorted(hostile.status_ms or [0])[len(hostile.status_ms) // 2],
                        max(hostile.status_ms or [0]), hostile.status_failed,
                        ", ".join("%.1f" % d for d in restart_delays) or "-",
                        hostile.relay_rss_max, hostile.replay_asked))
    if fs:
        print("full filesystem for %d s: %d alerts published during it, %d journal "
              "message(s) from the relay" % (FULL_FS_SECONDS, fs_alerts, fs_journal))
    print("huge SPS camera: %d video_loss alert(s); worker peak memory %.0f MB" % (
        len(big), hostile.worker_peak))
    print("supervisor SIGKILL: %d child(ren) left, %d logged alert(s) not journaled, "
          "%d journaled in all" % (len(orphans), len(lost_at_kill), sum(journaled.values())))
    print("vigild running at the end: %s; cameras not streaming at the end: %s" % (
        "yes" if alive else "NO", ", ".join(stuck) or "none"))
    for f in failures:
        print("FAIL: " + f)
    if sanitizer:
        print("sanitizer reports:\n" + "\n".join(sanitizer[:20]))
    ok = alive and not failures and not stuck and not dups and not sanitizer and motion > 0
    if not ok:
        with open(os.path.join(tmp, "vigild.log"), "w") as logf:
            logf.write("\n".join(vout.lines) + "\n")
        with open(os.path.join(tmp, "camsim.log"), "w") as logf:
            logf.write("\n".join(camout.lines) + "\n")
        with open(os.path.join(tmp, "faults.txt"), "w") as logf:
            for f in faults:
                logf.write("%.3f %s %s undone %.3f\n" % (f["at"], f["camera"], f["kind"],
                                                        f.get("undone", 0)))
        print("logs (vigild, camsim, faults): %s" % tmp)
    print("fault suite: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
