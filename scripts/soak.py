#!/usr/bin/python3
"""Soak test: run vigild on many simulated cameras for a long time and
watch its resources. Every few seconds it samples, over all of vigild's
processes, anonymous resident memory (the heap and stacks: what a leak
grows), open file descriptors and threads. After the warm-up, the last
samples must not exceed the first ones by more than a small bound; a leak
of memory, descriptors or threads fails the run. Total RSS is printed
too but not bounded: it also counts the pages of shared libraries, which
keep coming in for minutes as code paths run for the first time (clips
closing, retention, the index) and go when the kernel reclaims them.

    scripts/soak.py [--cameras 8] [--minutes 30] [--interval 5] [--series]

Exit status 0 when nothing grew, 1 otherwise. Prints the figures.
"""
import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from procutil import Lines, anon_mb, fd_count, free_port, rss_mb, thread_count, tree

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("VIGIL_BUILD", os.path.join(ROOT, "build"))
SCENES = os.path.join(ROOT, "build", "scenes")
ANON_SLACK_MB = 4.0       # absolute slack for allocator noise
ANON_SLACK_FRAC = 0.10    # and relative: a clip opening or closing moves a
                          # worker by a few MB for a few seconds


def sample(root):
    """Anonymous RSS in MB, open descriptors, threads and total RSS in MB
    over root and its descendants."""
    pids = tree([root])
    return anon_mb(pids), fd_count(pids), thread_count(pids), rss_mb(pids)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=8)
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--interval", type=float, default=5)
    ap.add_argument("--series", action="store_true",
                    help="also print memory, descriptors and threads once a minute")
    args = ap.parse_args()

    scenes = ["walker", "static", "lights"]
    port = free_port()
    mounts = ["s%d=%s/%s.mp4" % (i, SCENES, s) for i, s in enumerate(scenes)]
    cam = subprocess.Popen([os.path.join(BUILD, "camsim"), "--port", str(port), *mounts],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    cam_out = Lines(cam)
    if not cam_out.wait(lambda l: "camsim: ready" in l, 20):
        print("soak: camsim did not start:\n" + "\n".join(cam_out.lines))
        return 1
    tmp = tempfile.mkdtemp(prefix="vigil-soak-")
    conf = os.path.join(tmp, "soak.conf")
    with open(conf, "w") as f:
        f.write('instance = "soak"; workers = 2; data_dir = "%s/data";\n' % tmp)
        f.write('alerts = { publish = "tcp://127.0.0.1:%d"; insecure = true; };\ncameras = (\n' % free_port())
        f.write(",\n".join('  { id = "k%02d"; url = "rtsp://127.0.0.1:%d/s%d"; }'
                           % (i, port, i % len(scenes)) for i in range(args.cameras)))
        f.write("\n);\n")
    cmd = [os.path.join(BUILD, "vigild"), "-c", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
    vig = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    vig_out = Lines(vig).lines

    samples = []
    end = time.monotonic() + args.minutes * 60
    try:
        while time.monotonic() < end and vig.poll() is None:
            samples.append((time.monotonic(),) + sample(vig.pid))
            time.sleep(args.interval)
    finally:
        alive = vig.poll() is None
        vig.send_signal(signal.SIGTERM)
        vig.wait(20)
        cam.send_signal(signal.SIGTERM)
        cam.wait(20)

    if not alive or len(samples) < 8:
        print("soak: vigild %s after %d samples" % ("died" if not alive else "ran", len(samples)))
        print("\n".join(vig_out[-30:]))
        return 1
    warm = len(samples) // 3               # the first third is warm-up
    k = max(3, (len(samples) - warm) // 5)  # medians over a fifth of the rest
    first = [statistics.median(s[i] for s in samples[warm:warm + k]) for i in (1, 2, 3, 4)]
    last = [statistics.median(s[i] for s in samples[-k:]) for i in (1, 2, 3, 4)]
    anon_bound = first[0] + max(ANON_SLACK_MB, first[0] * ANON_SLACK_FRAC)
    ok = [last[0] <= anon_bound, last[1] <= first[1] + 2, last[2] <= first[2]]
    alerts = sum(1 for l in vig_out if " alert " in l)
    sanitizer = [l for l in vig_out if "Sanitizer" in l or "runtime error:" in l]
    print("soak: %d cameras, %.1f min, %d samples every %.0f s, %d alerts"
          % (args.cameras, args.minutes, len(samples), args.interval, alerts))
    print("%-12s %12s %12s %10s %s" % ("", "after warm-up", "at the end", "bound", ""))
    print("%-12s %12.1f %12.1f %10.1f %s" % ("anon MB", first[0], last[0], anon_bound,
                                           "ok" if ok[0] else "GREW"))
    print("%-12s %12.1f %12.1f %10s %s" % ("RSS MB", first[3], last[3], "-", "(not bounded)"))
    print("%-12s %12d %12d %10d %s" % ("open fds", first[1], last[1], first[1] + 2,
                                      "ok" if ok[1] else "GREW"))
    print("%-12s %12d %12d %10d %s" % ("threads", first[2], last[2], first[2],
                                      "ok" if ok[2] else "GREW"))
    if args.series:
        t0 = samples[0][0]
        per_min = {}
        for s in samples:
            per_min.setdefault(int((s[0] - t0) // 60), []).append(s)
        print("%-8s %8s %8s %8s %8s" % ("minute", "anon MB", "RSS MB", "fds", "threads"))
        for m in sorted(per_min):
            ss = per_min[m]
            print("%-8d %8.1f %8.1f %8d %8d" % (m, statistics.median(x[1] for x in ss),
                                                statistics.median(x[4] for x in ss),
                                                statistics.median(x[2] for x in ss),
                                                statistics.median(x[3] for x in ss)))
    if sanitizer:
        print("soak: sanitizer reports:\n" + "\n".join(sanitizer[:20]))
    return 0 if all(ok) and not sanitizer and alerts > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
