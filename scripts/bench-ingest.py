#!/usr/bin/python3
"""Ingest benchmark: the cost of vigild's whole per-camera pipeline against
plain single-thread decoding of the same streams, measured in one run.

camsim serves N copies of a busy 720p25 H.264 street stream (GOP 2 s,
2 Mb/s): by default footage as street cameras send it, a 10 fps sensor
in a 25 fps stream (each picture sent 2 or 3 times, the repeats nearly
empty P frames), six people-sized figures always walking, sensor noise;
--stream boxes is the older stream of three large boxes at 25 distinct
pictures a second. The cameras run the default detectors, so motion
events cut clips throughout. For each analysis mode, vigild watches all
N for the measuring window; then, in the same round, N concurrent
`ffmpeg -threads 1 -rtsp_transport tcp -i URL -f null -` decode the same
streams for the same window, and N `ffmpeg -threads 1 -skip_frame nokey`
(the keyframes-only reference). CPU time comes from /proc (user +
system of every process of the tree), so the figures are CPU seconds per
camera-second; ratios against both references are taken round by round,
then their median.

    scripts/bench-ingest.py [--cameras 8] [--seconds 60] [--modes full,fps,keyframes]
                            [--repeat 1] [--stream people|boxes]
    scripts/bench-ingest.py --gated [--cameras 4] [--seconds 20] [--repeat 3]

--gated measures the "gated" mode instead: for each kind of stream
(quiet streets with sensor noise by day and by night, GOP 2 s and 4 s,
H.264 and H.265, and the busy stream) --cameras cameras of it, gated
against plain decoding (and against full mode for the busy one), then a
mixed set of 16 cameras, 12 quiet and 4 busy, in gated and full mode,
totals against full and against plain decoding.

Prints one table (CPU per camera-second, ratios, RSS and PSS per camera,
frames lagging, clips written) and vigild's CPU split by thread kind (camera threads,
clip writers, main threads, ZeroMQ); with --repeat R every figure is the
median of R runs.
Run it on a quiet machine: the simulator runs on the same cores.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

from procutil import (Lines, cpu_seconds, free_port, pss_mb, rss_mb, thread_cpu,
                      thread_cpu_by_kind, tree)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")


def bench_stream(kind="people"):
    """The busy 720p25 H.264 stream (GOP 2 s, ~2 Mb/s), made once and kept
    in build/bench. kind "people" (the default) is footage as street
    cameras send it: the sensor gives 10 pictures a second, the encoder
    runs at 25, so every picture goes out 2 or 3 times, the repeats as
    nearly empty P frames; six people-sized figures walk across the
    textured street all the time, with fresh sensor noise in every
    picture. kind "boxes" is the older stream: three large boxes
    crossing the static scene at 25 distinct pictures a second."""
    if kind == "boxes":
        return boxes_stream()
    out = os.path.join(BUILD, "bench", "people720.mp4")
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    base = os.path.join(BUILD, "scenes", "static.mp4")
    if not os.path.exists(base):
        subprocess.run(["make", "-C", ROOT, "scenes"], check=True)
    # (width, height, colour, x at t=0, y at t=0, px/s across, px/s down):
    # a walking person, 110-125 px tall, 40-90 px/s.
    people = [(44, 120, "0x3a3a48", 0, 300, 70, 0), (40, 110, "0x9a8a70", 900, 420, -55, 0),
              (48, 124, "0x202020", 300, 500, 90, -8), (38, 104, "0xc0b0a0", 1100, 250, -85, 5),
              (46, 118, "0x604030", 600, 560, 40, 0), (42, 112, "0x507090", 200, 180, 60, 6)]
    graph, last = ["[0:v]fps=10[s]"], "[s]"
    for i, (w, h, colour, x0, y0, vx, vy) in enumerate(people):
        graph.append("color=c=%s:s=%dx%d:r=10[p%d]" % (colour, w, h, i))
        graph.append("%s[p%d]overlay=x='mod(%d+t*%d+1380,1380)-50':y='%d+t*%d':shortest=1[v%d]"
                     % (last, i, x0, vx, y0, vy, i))
        last = "[v%d]" % i
    # Noise per sensor picture, then the encoder's 25 fps repeats them.
    graph.append("%snoise=c0s=9:c0f=t:c1s=3:c1f=t:c2s=3:c2f=t,fps=25,format=yuv420p[out]"
                 % last)
    # Rate control settles over the first seconds: cut them off by
    # stream copy at a keyframe (as quiet_stream does).
    tmp, tmp2 = out + ".part.mp4", out + ".cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "1", "-i", base,
                    "-filter_complex", ";".join(graph), "-map", "[out]", "-t", "24",
                    "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2M",
                    "-maxrate", "2.5M", "-bufsize", "4M", "-g", "50", "-keyint_min", "50",
                    "-sc_threshold", "0", "-bf", "0", tmp], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "4", "-i", tmp, "-c", "copy", tmp2],
                   check=True)
    os.unlink(tmp)
    os.rename(tmp2, out)
    return out


def boxes_stream():
    """720p25 H.264, GOP 2 s, ~2 Mb/s: the static scene with three boxes
    moving across it at different speeds, 25 distinct pictures a second."""
    out = os.path.join(BUILD, "bench", "bench720.mp4")
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    base = os.path.join(BUILD, "scenes", "static.mp4")
    if not os.path.exists(base):
        subprocess.run(["make", "-C", ROOT, "scenes"], check=True)
    movers = [("0x303030", 90, 180, 360, 120), ("0xd0d0d0", 140, 90, 140, 75),
              ("0x806040", 60, 120, 520, 200)]
    graph, last = [], "[0:v]"
    for i, (colour, w, h, y, speed) in enumerate(movers):
        graph.append("color=c=%s:s=%dx%d:r=25[b%d]" % (colour, w, h, i))
        graph.append("%s[b%d]overlay=x='mod(t*%d,1380)-100':y=%d:shortest=1[v%d]"
                     % (last, i, speed, y, i))
        last = "[v%d]" % i
    tmp = out + ".part.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", base, "-filter_complex", ";".join(graph),
                    "-map", last, "-c:v", "libx264", "-preset", "veryfast", "-b:v", "2M",
                    "-maxrate", "2.5M", "-bufsize", "4M", "-g", "50", "-keyint_min", "50",
                    "-sc_threshold", "0", "-bf", "0", "-pix_fmt", "yuv420p", tmp], check=True)
    os.rename(tmp, out)
    return out


def measure(pids_fn, seconds, threads=None):
    """CPU seconds used by the process trees over the window. When
    threads is a dict it receives the window's CPU seconds by thread
    kind."""
    pids = pids_fn()
    th0 = thread_cpu(pids) if threads is not None else None
    c0, t0 = cpu_seconds(pids), time.monotonic()
    time.sleep(seconds)
    pids = pids_fn()
    cpu = cpu_seconds(pids) - c0
    if threads is not None:
        threads.update(thread_cpu_by_kind(th0, thread_cpu(pids)))
    return cpu, time.monotonic() - t0, pids


# Streams of the gated benchmark: name -> (night, codec, GOP in frames).
# Made from the static scene (a textured street with sensor noise); the
# night ones darker, flatter and far noisier, as a camera's gain at night.
QUIET = {"day-h264-gop2": (False, "h264", 50), "day-h264-gop4": (False, "h264", 100),
         "night-h264-gop2": (True, "h264", 50), "night-h264-gop4": (True, "h264", 100),
         "day-h265-gop2": (False, "hevc", 50), "night-h265-gop4": (True, "hevc", 100)}


def quiet_stream(name):
    """A quiet 720p25 street for the gated benchmark (build/bench): the
    first picture of the static scene held still, with fresh sensor noise
    in every frame, encoded as a camera would (never re-encoding a coded
    stream, whose own keyframes would show as bursts)."""
    night, codec, gop = QUIET[name]
    out = os.path.join(BUILD, "bench", "quiet-%s.mp4" % name)
    if os.path.exists(out):
        return out
    os.makedirs(os.path.dirname(out), exist_ok=True)
    base = os.path.join(BUILD, "scenes", "static.mp4")
    still = os.path.join(BUILD, "bench", "street.png")
    if not os.path.exists(still):
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", base, "-frames:v", "1", still],
                       check=True)
    vf = ("eq=brightness=-0.22:contrast=0.7,noise=c0s=22:c0f=t:c1s=6:c1f=t:c2s=6:c2f=t"
          if night else "noise=c0s=9:c0f=t:c1s=3:c1f=t:c2s=3:c2f=t")
    if codec == "h264":
        enc = ["-c:v", "libx264", "-preset", "veryfast", "-g", str(gop), "-keyint_min", str(gop),
               "-sc_threshold", "0", "-bf", "0"]
    else:
        enc = ["-c:v", "libx265", "-preset", "veryfast", "-tag:v", "hvc1", "-x265-params",
               "keyint=%d:min-keyint=%d:scenecut=0:bframes=0:log-level=error" % (gop, gop)]
    # Rate control settles over the first GOP (tiny, then large P
    # frames): cut it off by stream copy, so that the loop's seam is
    # only a new GOP.
    tmp, tmp2 = out + ".part.mp4", out + ".cut.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-loop", "1", "-framerate", "25", "-i", still,
                    "-t", "20", "-vf", vf + ",format=yuv420p", *enc, "-b:v", "2M",
                    "-maxrate", "2.5M", "-bufsize", "4M", tmp], check=True)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-ss", "4", "-i", tmp, "-c", "copy", tmp2],
                   check=True)
    os.unlink(tmp)
    os.rename(tmp2, out)
    return out


def run_vigild(urls, mode, seconds, tmp, threads, modes=None):
    """vigild watching urls in one mode (or modes[i] for urls[i]) for
    the window, after a warm-up (gated: the hold too, so that quiet gates
    have closed)."""
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = os.path.join(tmp, "bench.conf")
    analysis = {"full": "", "fps": 'analysis = { mode = "fps"; fps = 5; };',
                "keyframes": 'analysis = { mode = "keyframes"; };',
                "gated": 'analysis = { mode = "gated"; };'}
    modes = modes or [mode] * len(urls)
    with open(conf, "w") as f:
        f.write('instance = "bench"; workers = 2; data_dir = "%s/data";\n' % tmp)
        f.write('stats_interval = 5;\nalerts = { publish = "%s"; insecure = true; };\n' % publish)
        f.write("cameras = (\n")
        f.write(",\n".join('  { id = "b%02d"; url = "%s"; %s }' % (i, u, analysis[m])
                           for i, (u, m) in enumerate(zip(urls, modes))))
        f.write("\n);\n")
    cmd = [os.path.join(BUILD, "vigild"), "-c", conf] + (["--allow-root"] if os.geteuid() == 0 else [])
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = Lines(p)
    try:
        # Warm-up: every camera analysing, then one stats round.
        out.expect(lambda l: False if len([x for x in out.lines if ": analysing " in x]) < len(urls)
                   else True, 60)
        out.expect(lambda l: ": stats: " in l, 15)
        if "gated" in modes:
            time.sleep(7)   # the default hold (5 s) and a keyframe
        n0 = len(out.lines)
        cpu, wall, pids = measure(lambda: tree([p.pid]), seconds, threads)
        workers = [q for q in pids if q != p.pid]
        rss = rss_mb(workers)
        pss = pss_mb(pids)
        lag = frames_lag(out.lines[n0:], 25)
    finally:
        p.terminate()
        p.wait(20)
    return cpu, wall, rss, pss, lag


def frames_lag(lines, fps):
    """Frames missing against real time, from the stats lines: for each
    camera, packets received between its first and last stats line in the
    window against fps times the time between them."""
    per = {}
    for l in lines:
        m = re.match(r"(\S+)Z .*?(b\d+): stats: \S+, packets (\d+)", l)
        if m:
            t = time.mktime(time.strptime(m.group(1)[:19], "%Y-%m-%dT%H:%M:%S")) + \
                float("0" + m.group(1)[19:])
            per.setdefault(m.group(2), []).append((t, int(m.group(3))))
    lag = 0
    for samples in per.values():
        if len(samples) >= 2:
            (t0, p0), (t1, p1) = samples[0], samples[-1]
            lag += max(0, round(fps * (t1 - t0)) - (p1 - p0) - 2)
    return lag


def run_ffmpeg(urls, seconds, extra=()):
    procs = [subprocess.Popen(["ffmpeg", "-v", "error", "-nostdin", "-threads", "1", *extra,
                               "-rtsp_transport", "tcp", "-i", u, "-f", "null", "-"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for u in urls]
    try:
        time.sleep(5)  # warm-up: connect and probe
        cpu, wall, _ = measure(lambda: tree([q.pid for q in procs]), seconds)
    finally:
        for q in procs:
            q.terminate()
        for q in procs:
            q.wait(20)
    return cpu, wall


def start_camsim(streams):
    """camsim serving streams (a list of files) as m00, m01, ...; returns
    (process, urls)."""
    port = free_port()
    mounts = ["m%02d=%s" % (i, f) for i, f in enumerate(streams)]
    cam = subprocess.Popen([os.path.join(BUILD, "camsim"), "--port", str(port), *mounts],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    Lines(cam).expect(lambda l: l.startswith("camsim: ready"), 30)
    return cam, ["rtsp://127.0.0.1:%d/m%02d" % (port, i) for i in range(len(streams))]


def bench_set(name, streams, modes, args, tmp):
    """One set of cameras: CPU per camera-second of vigild in each of
    modes (a mode, or a list of one per camera) and of plain decoding,
    medians of the repeats; returns a row."""
    cam, urls = start_camsim(streams)
    n, cpu = len(urls), {}
    try:
        for _ in range(args.repeat):
            for label, m in modes:
                c, wall, _, _, _ = run_vigild(urls, None, args.seconds, tmp, None,
                                              m if isinstance(m, list) else [m] * n)
                cpu.setdefault(label, []).append(c / (n * wall))
            rc, rwall = run_ffmpeg(urls, args.seconds)
            cpu.setdefault("plain", []).append(rc / (n * rwall))
    finally:
        cam.terminate()
        cam.wait(20)
    # Ratios are taken run by run (the same minute of a shared machine),
    # then their median.
    ratio = {k: statistics.median(a / b for a, b in zip(v, cpu["plain"]))
             for k, v in cpu.items() if k != "plain"}
    if "full" in cpu:
        ratio["vs full"] = statistics.median(a / b for a, b in zip(cpu["gated"], cpu["full"]))
    row = (name, n, {k: statistics.median(v) for k, v in cpu.items()}, ratio)
    print_row(row)
    return row


def print_row(row):
    name, n, cpu, ratio = row
    print("%-18s %3d  gated %.4f  full %s  plain %.4f  gated/plain %.3f  full/plain %s  "
          "gated/full %s" % (
              name, n, cpu["gated"], "%.4f" % cpu["full"] if "full" in cpu else "-",
              cpu["plain"], ratio["gated"],
              "%.3f" % ratio["full"] if "full" in ratio else "-",
              "%.3f" % ratio["vs full"] if "vs full" in ratio else "-"), flush=True)


def main_gated(args):
    rows = []
    busy = bench_stream(args.stream or "boxes")
    with tempfile.TemporaryDirectory() as tmp:
        for name in QUIET:
            rows.append(bench_set("quiet " + name, [quiet_stream(name)] * args.cameras,
                                  [("gated", "gated")], args, tmp))
        rows.append(bench_set("busy h264-gop2", [busy] * args.cameras,
                              [("gated", "gated"), ("full", "full")], args, tmp))
        quiet = [quiet_stream(n) for n in QUIET]
        mixed = [quiet[i % len(quiet)] for i in range(12)] + [busy] * 4
        rows.append(bench_set("mixed 12+4", mixed, [("gated", "gated"), ("full", "full")],
                              args, tmp))
    print("\nCPU seconds per camera-second, median of %d run(s) of %.0f s, %d cores; "
          "ratios run by run, then their median" % (args.repeat, args.seconds, os.cpu_count()))
    print("%-18s %4s %8s %8s %8s %12s %11s %11s" % ("set", "cams", "gated", "full", "plain",
                                                  "gated/plain", "full/plain", "gated/full"))
    for name, n, cpu, ratio in rows:
        print("%-18s %4d %8.4f %8s %8.4f %12.3f %11s %11s" % (
            name, n, cpu["gated"], "%.4f" % cpu["full"] if "full" in cpu else "-",
            cpu["plain"], ratio["gated"], "%.3f" % ratio["full"] if "full" in ratio else "-",
            "%.3f" % ratio["vs full"] if "vs full" in ratio else "-"))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cameras", type=int, default=None)
    ap.add_argument("--seconds", type=float, default=None)
    ap.add_argument("--modes", default="full,fps,keyframes")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--gated", action="store_true", help="measure the gated mode (see above)")
    ap.add_argument("--stream", choices=("people", "boxes"), default=None,
                    help="busy stream: people (default) or boxes (default with --gated)")
    args = ap.parse_args()
    if args.gated:
        args.cameras = args.cameras or 4
        args.seconds = args.seconds or 20
        args.repeat = args.repeat or 3
        return main_gated(args)
    args.cameras = args.cameras or 8
    args.seconds = args.seconds or 60
    args.repeat = args.repeat or 1

    stream = bench_stream(args.stream or "people")
    cam, urls = start_camsim([stream] * args.cameras)
    n, modes = args.cameras, args.modes.split(",")
    # Per round: every mode, then the two references, so that each ratio
    # is taken within one round (the same minutes of a shared machine).
    runs = {m: {"cpu": [], "rss": [], "pss": [], "lag": [], "clips": [], "kinds": {}}
            for m in modes}
    plain, nokey = [], []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.repeat):
                for mode in modes:
                    r, threads = runs[mode], {}
                    cpu, wall, rss, pss, lag = run_vigild(urls, mode, args.seconds, tmp, threads)
                    # Shares of the threads' own total: per-thread times are
                    # counted in whole ticks, so against the processes'
                    # total they could add up to more than 100 %.
                    tsum = sum(threads.values())
                    for k, sec in threads.items():
                        r["kinds"].setdefault(k, []).append(sec / tsum if tsum else 0)
                    r["cpu"].append(cpu / (n * wall))
                    r["rss"].append(rss / n)
                    r["pss"].append(pss / n)
                    r["lag"].append(lag)
                    r["clips"].append(count_clips(tmp))
                rcpu, rwall = run_ffmpeg(urls, args.seconds)
                plain.append(rcpu / (n * rwall))
                kcpu, kwall = run_ffmpeg(urls, args.seconds, ("-skip_frame", "nokey"))
                nokey.append(kcpu / (n * kwall))
    finally:
        cam.terminate()
        cam.wait(20)

    med = statistics.median
    print("\n%d cameras of 720p25 H.264 (%s stream), %.0f s window, median of %d run(s), "
          "%d cores" % (n, args.stream or "people", args.seconds, args.repeat, os.cpu_count()))
    print("references: plain %.4f, nokey %.4f CPU s per camera-s; nokey/plain %.3f"
          % (med(plain), med(nokey), med(k / p for k, p in zip(nokey, plain))))
    print("%-10s %12s %8s %8s %11s %11s %7s %6s" % (
        "mode", "vigild cpu/s", "/plain", "/nokey", "RSS MB/cam", "PSS MB/cam", "lag fr",
        "clips"))
    for mode in modes:
        r = runs[mode]
        print("%-10s %12.4f %8.3f %8.3f %11.1f %11.1f %7d %6d" % (
            mode, med(r["cpu"]), med(v / p for v, p in zip(r["cpu"], plain)),
            med(v / k for v, k in zip(r["cpu"], nokey)), med(r["rss"]), med(r["pss"]),
            max(r["lag"]), min(r["clips"])))
    print("\nvigild's CPU by thread (median share): cam = ingest, decode and analysis; "
          "rec = clip writer;\nvigild = the processes' main threads; ZMQbg = ZeroMQ's I/O threads")
    for mode in modes:
        share = {k: med(v) for k, v in runs[mode]["kinds"].items()}
        print("%-10s %s" % (mode, "  ".join("%s %.1f%%" % (k, 100 * v) for k, v in
                                           sorted(share.items(), key=lambda kv: -kv[1])
                                           if v >= 0.001)))
    print("RSS: relay and workers, libraries counted in every process that maps them;\n"
          "PSS: every vigild process, shared pages divided among the processes sharing them;\n"
          "clips: clip files the cameras wrote in a run (fewest of the runs).")
    return 0


def count_clips(tmp):
    """Clip files under the data directory, then removed, so that each
    run counts its own (and the disk does not fill)."""
    root, found = os.path.join(tmp, "data", "clips"), 0
    for d, _, files in os.walk(root, topdown=False):
        for f in files:
            found += f.endswith(".mp4")
            os.unlink(os.path.join(d, f))
    return found


if __name__ == "__main__":
    sys.exit(main())
