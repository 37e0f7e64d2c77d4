"""Activity scenes: weeks of a street in a few thousand frames.

The activity baseline (daemon/activity.c) counts the tracked objects
entering the picture per 15-minute quarter and learns, per hour of the
week, how many usually do. To test it end to end without waiting weeks,
these files carry the time in their timestamps: each simulated quarter is
one short segment of video (SEGMENT frames at FPS: a few empty frames,
then k people appearing two a frame at separate places of a grid and
standing there a little over a second, then empty frames so their tracks
end), and the timestamps jump from one quarter to the next. Time 0 is
1970-01-01 00:00 UTC, a Thursday; a camera reads the file with
`activity = { clock = "stream"; }` and `pace = false`.

Only a few hours of each day are simulated (HOURS, UTC): quiet night
hours and busy rush hours. The ordinary count of a quarter is drawn from
a Poisson law of its hour's rate (a fixed seed), kept within a band so
that a miscount of one cannot make it improbable. A few quarters are
injected: a crowd during learning (must raise nothing), a single crowded
quarter after learning (fewer than `consecutive`: nothing), a crowd at
03:00 and an empty rush hour after learning (activity.high and
activity.low). The generator replays the baseline's rule on the counts it
wrote and refuses a draw whose alerts are not exactly the injected ones,
with a margin of one object either way.

Two files, in DIR/activity/ (not in DIR itself: the accuracy set plays
every scene there at its own pace):
  fortnight   16 days, learning the first 7 (learn_days = 7)
  after       the next day: one crowd, for a daemon restarted on the
              baseline the fortnight left (it must raise at once)
Each NAME.mkv has a NAME.json: every quarter with its count and kind,
and the alerts expected (type, the quarter whose close starts it, the
quarter whose close ends it).
"""

import datetime
import json
import math
import os
import random
import subprocess
import zlib

SIZE = (320, 180)
FPS = 5
SEGMENT = 28                  # frames per simulated quarter (5.6 s: over
                              # 2 s of empty street after the last person)
LEAD = 3                      # empty frames before the first person
STAND = 6                     # frames each person is seen
OFFSET_S = 60                 # a segment starts this far into its quarter
LEAD_IN = 15                  # empty frames at the start of a file (motion learns)
QUARTER_S = 900
DAY_S = 86400
HOURS = (2, 3, 7, 8)          # simulated hours of each day (UTC)
RATES = {2: 1.0, 3: 1.0, 7: 10.0, 8: 10.0}
BANDS = {2: (0, 3), 3: (0, 3), 7: (7, 13), 8: (7, 13)}
CROWD = 12
NOISE = 4                     # temporal luma noise (ffmpeg noise strength)

# The camera's activity options the scenes are made for.
LEARN_DAYS = 7
TAIL = 3
CONSECUTIVE = 2

# Person: 18 x 40 pixels; places on a 7 x 2 grid, far enough apart that
# the motion detector sees each as an object of its own.
PERSON = (18, 40)
PLACES = [(8 + 44 * c, y) for y in (30, 112) for c in range(7)]

# Injected quarters: (day, hour, quarter of the hour) -> count.
FORTNIGHT_DAYS = 16
FORTNIGHT_INJECT = {
    (1, 2, 0): CROWD, (1, 2, 1): CROWD,       # learning: nothing raised
    (10, 2, 2): CROWD,                        # one quarter only: nothing
    (14, 3, 0): CROWD, (14, 3, 1): CROWD,     # activity.high
    (15, 8, 0): 0, (15, 8, 1): 0, (15, 8, 2): 0,   # activity.low
}
AFTER_DAY = 16
AFTER_HOURS = (2, 3)          # the crowd and the quarters around it
AFTER_INJECT = {(16, 3, 0): CROWD, (16, 3, 1): CROWD}


def poisson_draw(rng, m):
    """A Poisson(m) count (Knuth's method: m is small)."""
    limit, k, p = math.exp(-m), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def tail_high(m, k):
    """P(X >= k) for X Poisson(m)."""
    return 1.0 - sum(math.exp(-m + i * math.log(m) - math.lgamma(i + 1)) for i in range(k))


def tail_low(m, k):
    """P(X <= k) for X Poisson(m)."""
    return sum(math.exp(-m + i * math.log(m) - math.lgamma(i + 1)) for i in range(k + 1))


def slot_of(t):
    """Hour of the week (0: Monday 00:00) of a time in seconds (UTC)."""
    day = t // DAY_S
    return ((day + 3) % 7) * 24 + (t % DAY_S) // 3600


def quarters(days, hours=HOURS):
    """Start times (s) of the simulated quarters, in order."""
    return [d * DAY_S + h * 3600 + q * QUARTER_S for d in days for h in hours
            for q in range(4)]


def draw_counts(starts, inject, seed):
    """Count of every quarter: injected, or drawn from its hour's rate."""
    rng = random.Random(seed)
    out = []
    for t in starts:
        d, h, q = t // DAY_S, (t % DAY_S) // 3600, (t % 3600) // QUARTER_S
        lo, hi = BANDS[h]
        k = min(hi, max(lo, poisson_draw(rng, RATES[h])))
        out.append(inject.get((d, h, q), k))
    return out


def judge(starts, counts, learned=None, margin=0):
    """The baseline's rule (daemon/activity.c) over the quarters in order:
    returns the alerts (type, start quarter, end quarter) and the learned
    slots. With margin, a quarter is also judged with its count one less
    and one more, and the draw is refused (None) when that changes an
    ordinary verdict: the tracker may miss or split one object."""
    need = max(1, LEARN_DAYS * 4 // 7)
    p = 10.0 ** -TAIL
    slots = dict(learned or {})
    run, active, alerts = 0, 0, []
    # Each quarter is judged when the next one starts: the last is not.
    for i in range(len(starts) - 1):
        t, k = starts[i], counts[i]
        s = slot_of(t)
        total, n = slots.get(s, (0.0, 0))
        m = (total + 0.5) / (n + 1.0)
        odd = 0
        if n >= need:
            odd = 1 if tail_high(m, k) < p else -1 if tail_low(m, k) < p else 0
            if margin and odd == 0:
                for kk in (k - 1, k + 1):
                    if kk >= 0 and (tail_high(m, kk) < p or tail_low(m, kk) < p):
                        return None, None
            run = 0 if odd == 0 else (run + odd if (odd > 0) == (run > 0) else odd)
        if active and (odd == 0 or odd != active):
            alerts[-1]["end_quarter"] = t
            active = 0
        if not active and odd and abs(run) >= CONSECUTIVE:
            active = odd
            alerts.append({"type": "activity.high" if odd > 0 else "activity.low",
                           "start_quarter": t, "end_quarter": None})
        if not odd:
            slots[s] = (total + k, n + 1)
    return alerts, slots


def key_of(t):
    """(day, hour, quarter of the hour) of a quarter's start."""
    return t // DAY_S, (t % DAY_S) // 3600, (t % 3600) // QUARTER_S


def expected(inject, starts):
    """The alerts the injected quarters call for (a crowd is high, an
    empty quarter low): a run of CONSECUTIVE or more of them after
    learning starts one when its CONSECUTIVE-th closes, and it ends when
    the next (ordinary) quarter closes."""
    out, run = [], []
    for t in starts + [None]:
        if t is not None and t // DAY_S >= LEARN_DAYS and key_of(t) in inject:
            run.append(t)
            continue
        if len(run) >= CONSECUTIVE:
            kind = "activity.high" if inject[key_of(run[0])] > 0 else "activity.low"
            out.append({"type": kind, "start_quarter": run[CONSECUTIVE - 1],
                        "end_quarter": t})
        run = []
    return out


def plan(days, hours, inject, learned=None):
    """Counts for the quarters of days (those hours), then an empty closing
    quarter (the last simulated one is judged when the next starts), with
    the first seed whose ordinary quarters are ordinary with a margin and
    whose alerts are exactly the injected ones. Returns (starts, counts,
    alerts, slots, seed)."""
    starts = quarters(days, hours)
    # Closing: the first quarter of the next day (the next of the schedule).
    starts.append(quarters([days[-1] + 1], hours)[0])
    want = expected(inject, starts[:-1])
    for seed in range(1, 200):
        counts = draw_counts(starts[:-1], inject, seed) + [0]
        alerts, slots = judge(starts, counts, learned, margin=1)
        if alerts is not None and alerts == want:
            return starts, counts, alerts, slots, seed
    raise RuntimeError("no draw gives exactly the injected alerts")


# ------------------------------------------------------------------ pictures

def person_luma():
    """Luma rows of a person: a light head, a striped shirt, dark legs."""
    w, h = PERSON
    rows = []
    for y in range(h):
        v = (y + 0.5) / h
        row = bytearray(w)
        for x in range(w):
            u = (x + 0.5) / w
            if v < 0.16 and ((u - 0.5) / 0.24) ** 2 + ((v - 0.08) / 0.08) ** 2 < 1:
                row[x] = 200
            elif 0.16 <= v < 0.58:
                row[x] = 40 if y % 5 < 2 else 175
            elif v >= 0.58 and (0.12 <= u <= 0.46 or 0.54 <= u <= 0.88):
                row[x] = 30
            else:
                row[x] = 0         # transparent
        rows.append(bytes(row))
    return rows


def paste(frame, rows, x0, y0):
    """Draw the person's opaque pixels into the luma plane."""
    w = SIZE[0]
    for dy, row in enumerate(rows):
        base = (y0 + dy) * w + x0
        for dx, v in enumerate(row):
            if v:
                frame[base + dx] = v


def segment_frames(background, rows, k):
    """SEGMENT frames (yuv420p) of a quarter with k people."""
    luma = SIZE[0] * SIZE[1]
    for n in range(SEGMENT):
        f = bytearray(background)
        for i in range(min(k, len(PLACES))):
            first = LEAD + i // 2
            if first <= n < first + STAND:
                x, y = PLACES[i]
                paste(f, rows, x + (n - first), y)   # a step to the right a frame
        assert len(f) == luma * 3 // 2
        yield f


def frame_times(starts):
    """Timestamps (ms) of every frame: the lead-in, then each segment."""
    out = [starts[0] * 1000 + n * 1000 // FPS for n in range(LEAD_IN)]
    for t in starts:
        base = (t + OFFSET_S) * 1000
        out += [base + n * 1000 // FPS for n in range(SEGMENT)]
    return out


def render(path, background, starts, hours, counts, run_ffmpeg_cmd):
    """Encode the file: raw frames on a pipe, timestamps from a list."""
    times = frame_times(starts)
    # setpts computes each frame's time (ms) from its number; the
    # encoded file is read back and compared with the plan.
    rows = person_luma()
    tmp = path + ".part.mkv"
    expr = pts_expression(starts, hours)
    # A keyframe at each segment's first two frames: after a gap in the
    # timestamps the daemon trusts the picture again from the next one.
    # CRF 20 keeps the sensor noise: coded away (CRF 26), the detector's
    # threshold drops to its floor and coding steps in the empty frames
    # make stray tracks (252 of 256 quarters counted exactly, 211 at 26).
    key = "expr:eq(n,0)+gte(n,%d)*lt(mod(n-%d,%d),2)" % (LEAD_IN, LEAD_IN, SEGMENT)
    cmd = run_ffmpeg_cmd + [
        "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "%dx%d" % SIZE,
        "-framerate", str(FPS), "-i", "-",
        "-vf", "noise=c0s=%d:c0f=t:all_seed=%d,settb=1/1000,setpts='%s'"
        % (NOISE, zlib.crc32(os.path.basename(path).encode()) & 0x7fffffff, expr),
        "-fps_mode", "passthrough", "-c:v", "libx264", "-threads", "1",
        "-preset", "veryfast", "-crf", "20", "-g", "1000", "-bf", "0",
        "-force_key_frames", key, "-an", "-f", "matroska", tmp]
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for n in range(LEAD_IN):
            p.stdin.write(background)
        for k in counts:
            for f in segment_frames(background, rows, k):
                p.stdin.write(f)
        p.stdin.close()
    except BrokenPipeError:
        pass
    err = p.stderr.read().decode(errors="replace")
    if p.wait() != 0:
        raise RuntimeError("ffmpeg failed: %s\n%s" % (" ".join(cmd), err))
    check_times(tmp, times)
    os.replace(tmp, path)


def pts_expression(starts, hours):
    """setpts expression (time base 1 ms) of the frame number N: the
    lead-in at its own rate, then segment s at starts[s] + OFFSET_S."""
    ms = 1000 // FPS
    t0 = starts[0] * 1000
    # Segment index and frame within it, for frames after the lead-in.
    seg = "floor((N-%d)/%d)" % (LEAD_IN, SEGMENT)
    within = "mod(N-%d,%d)" % (LEAD_IN, SEGMENT)
    # starts are days x hours x 4 quarters: decompose the segment index.
    per_day = len(hours) * 4
    day = "floor(%s/%d)" % (seg, per_day)
    q = "mod(%s,%d)" % (seg, per_day)
    # Hour of quarter q: HOURS[q // 4], as a sum of steps.
    hour = "%d" % hours[0]
    for i in range(1, len(hours)):
        hour += "+%d*gte(%s,%d)" % (hours[i] - hours[i - 1], q, 4 * i)
    first_day = starts[0] // DAY_S
    seg_ms = ("((%s+%d)*%d+(%s)*3600+mod(%s,4)*%d+%d)*1000"
              % (day, first_day, DAY_S, hour, q, QUARTER_S, OFFSET_S))
    return "if(lt(N,%d),%d+N*%d,%s+%s*%d)" % (LEAD_IN, t0, ms, seg_ms, within, ms)


def check_times(path, times):
    """The file's packet timestamps are the ones planned (libavformat
    reads the jumps back)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v",
                          "-show_entries", "packet=pts", "-of", "csv=p=0", path],
                         capture_output=True, text=True, check=True).stdout.split()
    got = [int(v) for v in out]
    if got != times:
        bad = next(i for i in range(min(len(got), len(times))) if got[i] != times[i]) \
            if len(got) == len(times) else "count %d != %d" % (len(got), len(times))
        raise RuntimeError("%s: timestamps differ from the plan (frame %s)" % (path, bad))


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def truth(name, starts, counts, alerts, inject, seed, slots):
    quarters_out = []
    for t, k in zip(starts, counts):
        d = t // DAY_S
        kind = ("closing" if t == starts[-1] else
                "injected" if key_of(t) in inject else "ordinary")
        if d < LEARN_DAYS and name == "fortnight":
            kind += ", learning"
        quarters_out.append({"start": iso(t), "t": t, "slot": slot_of(t), "count": k,
                             "kind": kind})
    return {"scene": name, "width": SIZE[0], "height": SIZE[1], "fps": FPS,
            "segment_frames": SEGMENT, "seed": seed,
            "activity": {"learn_days": LEARN_DAYS, "tail": TAIL,
                         "consecutive": CONSECUTIVE, "clock": "stream"},
            "alerts": [dict(a, start_quarter=iso(a["start_quarter"]),
                            end_quarter=iso(a["end_quarter"]) if a["end_quarter"] else None,
                            start_t=a["start_quarter"], end_t=a["end_quarter"])
                       for a in alerts],
            "quarters": quarters_out,
            # What the baseline holds after the file: hour of the week ->
            # [quarters learned, objects counted in them].
            "learned": {str(k): [v[1], v[0]] for k, v in sorted(slots.items())}}


def scenes():
    """(name, hours, starts, counts, alerts, inject, seed, learned slots)
    of both files; the second is planned on the slots the first leaves."""
    s1, c1, a1, slots1, seed1 = plan(list(range(FORTNIGHT_DAYS)), HOURS, FORTNIGHT_INJECT)
    s2, c2, a2, slots2, seed2 = plan([AFTER_DAY], AFTER_HOURS, AFTER_INJECT, learned=slots1)
    return [("fortnight", HOURS, s1, c1, a1, FORTNIGHT_INJECT, seed1, slots1),
            ("after", AFTER_HOURS, s2, c2, a2, AFTER_INJECT, seed2, slots2)]


def recipe_text(background_filter):
    with open(os.path.abspath(__file__), "rb") as f:
        return "%08x" % zlib.crc32(f.read() + background_filter.encode())


def make(out_dir, background_filter, run_ffmpeg_cmd):
    """Write out_dir/activity/{fortnight,after}.{mkv,json} unless they
    are up to date (same recipe: this file and the background)."""
    d = os.path.join(out_dir, "activity")
    os.makedirs(d, exist_ok=True)
    made_from = recipe_text(background_filter)
    stamp = os.path.join(d, ".recipe")
    names = [s[0] for s in scenes()]
    try:
        with open(stamp) as f:
            if f.read().strip() == made_from and all(
                    os.path.exists(os.path.join(d, n + ext)) for n in names
                    for ext in (".mkv", ".json")):
                print("gen_scenes: activity up to date")
                return
    except OSError:
        pass
    bg_path = os.path.join(d, ".background.yuv")
    subprocess.run(run_ffmpeg_cmd + [
        "-f", "lavfi", "-i", "nullsrc=s=%dx%d,format=yuv444p,%s,noise=alls=6:all_seed=7"
        % (SIZE[0], SIZE[1], background_filter), "-frames:v", "1",
        "-pix_fmt", "yuv420p", "-f", "rawvideo", bg_path], check=True)
    with open(bg_path, "rb") as f:
        background = f.read()
    os.remove(bg_path)
    for name, hours, starts, counts, alerts, inject, seed, slots in scenes():
        print("gen_scenes: activity/%s ..." % name, flush=True)
        render(os.path.join(d, name + ".mkv"), background, starts, hours, counts,
               run_ffmpeg_cmd)
        with open(os.path.join(d, name + ".json.part"), "w") as f:
            json.dump(truth(name, starts, counts, alerts, inject, seed, slots), f, indent=1)
            f.write("\n")
        os.replace(os.path.join(d, name + ".json.part"), os.path.join(d, name + ".json"))
    with open(stamp, "w") as f:
        f.write(made_from + "\n")
