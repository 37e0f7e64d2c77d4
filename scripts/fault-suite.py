#!/usr/bin/python3
"""Fault suite: vigild against many simulated cameras while faults rotate
across them, plus SIGKILL of a worker and of the relay.

camsim serves N small streams (320x180, 15 fps, GOP 1 s) with fault
control. Every few seconds a camera that is not already under a fault gets
one: stall (connection open, no data), drop + refuse (the camera goes
away), corrupt (bit flips in NAL units) or truncate (half packets); a few
seconds later the fault is undone. Midway a worker is killed with SIGKILL,
later the relay. A ZeroMQ subscriber records every alert.

Checks, printed as a table and as the exit status:
  - vigild is still running;
  - every stall and every drop produced video_loss for its camera and,
    after the fault ended, video_restored;
  - corrupt/truncate never stopped detection elsewhere and crashed nothing;
  - at the end every camera is streaming again (no camera stuck);
  - no sequence number is seen twice within an epoch;
  - no sanitizer report.

    scripts/fault-suite.py [--cameras 50] [--minutes 5] [--seed 1]
"""
import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import zmq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(ROOT, "build"))
SCENES = os.path.join(ROOT, "build", "scenes")
READ_TIMEOUT = 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def small_stream():
    out = os.path.join(ROOT, "build", "bench", "fault180.mp4")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", os.path.join(SCENES, "walker.mp4"),
                        "-vf", "scale=320:180,fps=15", "-c:v", "libx264", "-preset", "veryfast",
                        "-g", "15", "-keyint_min", "15", "-sc_threshold", "0", "-bf", "0",
                        "-b:v", "300k", out + ".part.mp4"], check=True)
        os.rename(out + ".part.mp4", out)
    return out


class Out:
    def __init__(self, proc):
        self.lines = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(proc,), daemon=True).start()

    def _read(self, proc):
        for line in proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait(self, pred, timeout):
        end = time.monotonic() + timeout
        with self.cond:
            while not any(pred(l) for l in self.lines):
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


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
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d) as f:
                    cmd = f.read().split("\0")
                with open("/proc/%s/stat" % d) as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError):
                continue
            if ppid == root and "--child" in cmd and cmd[cmd.index("--child") + 1].startswith(role):
                out.append(int(d))
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

    stream = small_stream()
    n = args.cameras
    port = free_port()
    cam = subprocess.Popen([os.path.join(BUILD, "camsim"), "--port", str(port), "--control",
                            *["c%02d=%s" % (i, stream) for i in range(n)]],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, bufsize=1)
    camout = Out(cam)
    if not camout.wait(lambda l: l.startswith("camsim: ready"), 20):
        print("fault-suite: camsim did not start")
        return 1

    def command(verb, mount):
        cam.stdin.write("%s %s\n" % (verb, mount))
        cam.stdin.flush()
        camout.wait(lambda l: l == "camsim: mount=%s %s" % (mount, verb), 10)

    tmp = tempfile.mkdtemp(prefix="vigil-faults-")
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = os.path.join(tmp, "faults.conf")
    with open(conf, "w") as f:
        f.write('instance = "faults"; workers = 2; data_dir = "%s/data"; stats_interval = 5;\n' % tmp)
        f.write('alerts = { publish = "%s"; insecure = true; };\n' % publish)
        f.write("defaults = { read_timeout = %d; open_timeout = 3; };\ncameras = (\n" % READ_TIMEOUT)
        f.write(",\n".join('  { id = "c%02d"; url = "rtsp://127.0.0.1:%d/c%02d"; }' % (i, port, i)
                           for i in range(n)))
        f.write("\n);\n")
    col = Collector(publish)
    col.start()
    cmd = [os.path.join(BUILD, "vigild"), "-c", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
    vig = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    vout = Out(vig)
    started = vout.wait(lambda l: sum(1 for x in vout.lines if ": analysing " in x) >= n, 60)
    faults, active = [], {}
    kills = []
    try:
        if not started:
            raise RuntimeError("not every camera started analysing")
        end = time.monotonic() + args.minutes * 60
        next_fault = time.monotonic()
        kill_worker_at = time.monotonic() + args.minutes * 60 * 0.4
        kill_relay_at = time.monotonic() + args.minutes * 60 * 0.7
        while time.monotonic() < end:
            now = time.monotonic()
            for cid, f in list(active.items()):
                if now >= f["until"]:
                    for verb in f["undo"]:
                        command(verb, cid)
                    f["undone"] = time.time()
                    del active[cid]
            # Kills happen while no fault is in flight, so that each
            # fault's alerts are judged on their own.
            if kill_worker_at and now >= kill_worker_at and not active:
                pid = rnd.choice(vigild_pids(vig.pid, "worker"))
                os.kill(pid, signal.SIGKILL)
                kills.append(("worker", pid, time.time()))
                kill_worker_at = None
                time.sleep(READ_TIMEOUT + 4)   # let the new worker reconnect its cameras
                next_fault = time.monotonic()
                continue
            if kill_relay_at and now >= kill_relay_at and not active:
                pid = vigild_pids(vig.pid, "relay")[0]
                os.kill(pid, signal.SIGKILL)
                kills.append(("relay", pid, time.time()))
                kill_relay_at = None
                continue
            if now >= next_fault and (not kill_worker_at or now < kill_worker_at - 8) \
                    and (not kill_relay_at or now < kill_relay_at - 8):
                cid = rnd.choice([c for c in ("c%02d" % i for i in range(n)) if c not in active])
                kind = rnd.choice(["stall", "drop", "corrupt", "truncate"])
                apply = {"stall": ["stall"], "drop": ["refuse", "drop"], "corrupt": ["corrupt"],
                         "truncate": ["truncate"]}[kind]
                undo = {"stall": ["resume"], "drop": ["accept"], "corrupt": ["resume"],
                        "truncate": ["resume"]}[kind]
                t = time.time()
                for verb in apply:
                    command(verb, cid)
                f = dict(camera=cid, kind=kind, at=t, undo=undo,
                         until=time.monotonic() + rnd.uniform(READ_TIMEOUT + 2, READ_TIMEOUT + 6))
                faults.append(f)
                active[cid] = f
                next_fault = time.monotonic() + args.every
            time.sleep(0.1)
        for cid, f in list(active.items()):
            for verb in f["undo"]:
                command(verb, cid)
            f["undone"] = time.time()
        # Let every camera come back (backoff is at most a few seconds
        # here), then read the final state from a stats round.
        time.sleep(15)
        n0 = len(vout.lines)
        vout.wait(lambda l: sum(1 for x in vout.lines[n0:] if ": stats: " in x) >= n, 20)
        final = {}
        for l in vout.lines[n0:]:
            m = re.search(r"(c\d\d): stats: (\w+)", l)
            if m:
                final[m.group(1)] = m.group(2)
        alive = vig.poll() is None
    finally:
        vig.send_signal(signal.SIGTERM)
        vig.wait(30)
        cam.send_signal(signal.SIGTERM)
        cam.wait(20)
        col.stop = True
        col.join(2)

    # Judge.
    rows, failures = {}, []
    for f in faults:
        kind = f["kind"]
        r = rows.setdefault(kind, [0, 0, 0])
        r[0] += 1
        if kind in ("stall", "drop"):
            loss = col.find(lambda a: a["camera"] == f["camera"] and a["type"] == "video_loss"
                            and a["_at"] >= f["at"])
            rest = [a for a in col.find(lambda a: a["camera"] == f["camera"]
                                        and a["type"] == "video_restored")
                    if loss and a["id"] == loss[0]["id"]]
            r[1] += bool(loss)
            r[2] += bool(rest)
            if not loss or not rest:
                failures.append("%s on %s at %.0f: loss %s, restore %s" % (
                    kind, f["camera"], f["at"], bool(loss), bool(rest)))
        else:
            r[1] += 1
            r[2] += 1
    stuck = sorted(c for c in ("c%02d" % i for i in range(n)) if final.get(c) != "streaming")
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
    print("vigild running at the end: %s; cameras not streaming at the end: %s" % (
        "yes" if alive else "NO", ", ".join(stuck) or "none"))
    for f in failures:
        print("FAIL: " + f)
    if sanitizer:
        print("sanitizer reports:\n" + "\n".join(sanitizer[:20]))
    ok = alive and not failures and not stuck and not dups and not sanitizer and motion > 0
    print("fault suite: %s" % ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
