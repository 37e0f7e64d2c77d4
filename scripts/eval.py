#!/usr/bin/python3
"""Detection accuracy of vigil, measured end to end.

Serves every scene of build/scenes through the real RTSP simulator
(build/camsim), runs the real daemon (build/vigild) with one camera per
scene, receives the alerts with a ZeroMQ subscriber and compares them
with each scene's ground truth. All scenes play at once in one daemon,
so the whole run takes about two scene loops.

For each scene one simulator loop is judged: the first that starts after
the daemon had time to connect and learn the picture. In it:
  expected  events of the ground truth (motion events that overlap in
            time are one expected event: the detector reports one event
            per zone, with a box per object)
  detected  expected events matched by a `start` alert of the same type
            (and zone) that came while the event lasted
  missed    expected events with no such alert
  false     `start` alerts that match no expected event
  start err time of the matching alert minus the true start
  IoU       of the event's box (sent with its `end` alert) and the truth
            box

With --modes full,gated (as `make eval` runs it) every scene is played
again to a daemon watching it in "gated" analysis mode, and compared
with full decoding: the same events, and motion starting at most
GATED_LATE seconds later (start errors against the truth compared).

Usage: eval.py [--build DIR] [--scenes NAME,...] [--modes M,...] [--json FILE]
(--build: where vigild and camsim are; the scenes are build/scenes, or
the directory VIGIL_SCENES names)
Exit status 0 when every target is met, 1 when not; 2 when there are no
scenes to play (or a scene asked for is not there).
"""
import argparse
import datetime
import json
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

WARMUP = 4.0            # seconds after the daemon starts before a loop counts
# Start error allowed per type; others 3 s. A crossing is an instant;
# loitering starts dwell seconds after the object entered, within 1 s.
# An object left: within 2 s of standing `stationary` seconds.
START_TOL = {"motion": 1.0, "line.crossed": 1.0, "loitering": 1.0, "object.left": 2.0}
DEFAULT_TOL = 3.0
LAG = 3.0               # seconds an alert may come after its stream time
IOU_TARGET = 0.5
GATED_LATE = 0.3        # gated mode: motion may start this much later than full


def parse_ts(ts):
    dt = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    return dt.replace(tzinfo=datetime.timezone.utc).timestamp()


class NoScenes(Exception):
    """No scene to play: the accuracy figures would be empty."""


def scene_dir():
    """Where the scenes are: VIGIL_SCENES, or build/scenes."""
    return os.environ.get("VIGIL_SCENES") or os.path.join(ROOT, "build", "scenes")


def scene_names(directory):
    """Names of the scenes (NAME.json beside NAME.mp4) in directory;
    NoScenes when the directory is missing or holds none."""
    if not os.path.isdir(directory):
        raise NoScenes("no scene directory %s (make scenes makes it, or set "
                       "VIGIL_SCENES)" % directory)
    names = sorted(f[:-5] for f in os.listdir(directory) if f.endswith(".json"))
    if not names:
        raise NoScenes("no scenes in %s (make scenes makes them, or set "
                       "VIGIL_SCENES)" % directory)
    return names


def quick_scene_names(directory):
    """Names of the scenes short enough for every test run: all but
    those whose ground truth says eval_only (a minute or more a loop;
    `make eval` plays them)."""
    out = []
    for name in scene_names(directory):
        with open(os.path.join(directory, name + ".json")) as f:
            if not json.load(f).get("eval_only"):
                out.append(name)
    return out


def load_scenes(scene_dir, names=None):
    """Ground truth of every scene (or of those named); NoScenes when
    there is none, or a name asked for is not there."""
    out = []
    scene_names(scene_dir)
    for f in sorted(os.listdir(scene_dir)):
        if not f.endswith(".json"):
            continue
        with open(os.path.join(scene_dir, f)) as fh:
            truth = json.load(fh)
        if names and truth["scene"] not in names:
            continue
        truth["file"] = os.path.join(scene_dir, truth["scene"] + ".mp4")
        out.append(truth)
    missing = set(names or ()) - {t["scene"] for t in out}
    if missing:
        raise NoScenes("no scene %s in %s" % (", ".join(sorted(missing)), scene_dir))
    return out


def schedule_for(armed, now=None):
    """A daily window around now (armed) or well away from it (not armed),
    in local time, as the daemon reads schedules."""
    t = time.localtime(now or time.time())
    m = t.tm_hour * 60 + t.tm_min
    if armed:
        a, b = (m - 60) % 1440, (m + 60) % 1440
    else:
        a, b = (m + 120) % 1440, (m + 180) % 1440
    return "daily %02d:%02d-%02d:%02d" % (a // 60, a % 60, b // 60, b % 60)


def camera_id(truth, mode):
    """The camera watching a scene in an analysis mode: the scene's name
    for full decoding, NAME-MODE for the others."""
    return truth["scene"] if mode == "full" else "%s-%s" % (truth["scene"], mode)


def camera_config(truth, url, mode="full"):
    """One camera entry (libconfig text) for a scene."""
    cid = camera_id(truth, mode)
    lines = ['  { id = "%s"; name = "scene %s"; district = "eval"; grid = "g1";'
             % (cid, cid), '    site = "normal"; url = "%s";' % url]
    if mode != "full":
        lines.append('    analysis = { mode = "%s"; };' % mode)
    if truth.get("zones"):
        zs = []
        for z in truth["zones"]:
            poly = ", ".join("%.4f" % v for v in z["polygon"])
            dwell = "dwell = %g; " % z["dwell"] if z.get("dwell") else ""
            zs.append('{ name = "%s"; polygon = [%s]; schedule = "%s"; severity = "high"; %s}'
                      % (z["name"], poly, schedule_for(z["armed"]), dwell))
        lines.append("    zones = ( %s );" % ", ".join(zs))
    if truth.get("lines"):
        ls = ['{ name = "%s"; points = [%s]; direction = "%s"; }'
              % (l["name"], ", ".join("%.4f" % v for v in l["points"]), l["direction"])
              for l in truth["lines"]]
        lines.append("    lines = ( %s );" % ", ".join(ls))
    if truth.get("detect"):
        # The default detectors, and those the scene adds with options.
        ds = dict({"motion": {}, "tamper": {}}, **truth["detect"])
        lines.append("    detect = { %s };" % " ".join(
            "%s = { %s };" % (p, " ".join("%s = %s;" % kv for kv in o.items()))
            for p, o in ds.items()))
    lines.append("  }")
    return "\n".join(lines)


def write_config(path, scenes, cam, publish, data_dir, modes=("full",)):
    cams = ",\n".join(camera_config(t, cam.url(t["scene"]), m) for t in scenes for m in modes)
    text = ('instance = "eval";\nworkers = 2;\ndata_dir = "%s";\n'
            'alerts = { publish = "%s"; insecure = true; };\ncameras = (\n%s\n);\n'
            % (data_dir, publish, cams))
    with open(path, "w") as f:
        f.write(text)


def expected_events(truth):
    """Truth events as the detector should report them: motion events of
    the same zone that overlap in time merge into one, boxes united."""
    out = []
    for ev in sorted(truth["events"], key=lambda e: e["start"]):
        prev = out[-1] if out else None
        if (prev and ev["type"] == "motion" and prev["type"] == "motion"
                and prev.get("zone") == ev.get("zone") and ev["start"] <= prev["end"]):
            prev["end"] = max(prev["end"], ev["end"])
            prev["box"] = union(prev["box"], ev["box"])
            continue
        out.append(dict(ev))
    return out


def union(a, b):
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return [x0, y0, x1 - x0, y1 - y0]


def iou(a, b):
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    inter = max(0.0, w) * max(0.0, h)
    total = a[2] * a[3] + b[2] * b[3] - inter
    return inter / total if total > 0 else 0.0


def judge(truth, loop, alerts):
    """Compare the alerts of one camera with the truth of one loop."""
    dur = truth["duration"]
    starts = [a for a in alerts if a["phase"] == "start"
              and a["type"] not in ("video_loss", "video_restored")
              and (not truth.get("judge") or a["type"] in truth["judge"])
              and loop <= parse_ts(a["ts"]) < loop + dur]
    ends = {a["id"]: a for a in alerts if a["phase"] == "end"}
    res = {"scene": truth["scene"], "expected": 0, "detected": 0, "missed": 0,
           "false": 0, "start_errors": [], "ious": [], "problems": [], "matched": {}}
    used = set()
    for k, ev in enumerate(expected_events(truth)):
        res["expected"] += 1
        t0, t1 = loop + ev["start"], loop + ev["end"]
        cands = [a for a in starts if a["type"] == ev["type"] and a["id"] not in used
                 and a.get("zone") == ev.get("zone")
                 and all(a.get(k) == ev[k] for k in ("line", "direction") if k in ev)
                 and t0 - 1.0 <= parse_ts(a["ts"]) <= t1]
        if not cands:
            res["missed"] += 1
            res["problems"].append("missed %s at %.1f s" % (ev["type"], ev["start"]))
            continue
        a = min(cands, key=lambda c: abs(parse_ts(c["ts"]) - t0))
        used.add(a["id"])
        res["detected"] += 1
        err = parse_ts(a["ts"]) - t0
        res["start_errors"].append(err)
        res["matched"][k] = (ev["type"], err)
        tol = START_TOL.get(ev["type"], DEFAULT_TOL)
        if abs(err) > tol:
            res["problems"].append("%s start %.2f s from truth (allowed %.0f s)"
                                   % (ev["type"], err, tol))
        if ev["type"] == "object.left":
            # Ended when taken away (within the 1 s quiet gap and lag).
            end = ends.get(a["id"])
            e_t = parse_ts(end["ts"]) - loop if end else None
            if e_t is None or not ev["end"] <= e_t <= ev["end"] + 3.0:
                res["problems"].append("object.left ended at %s, taken away at %.1f s"
                                       % ("never" if e_t is None else "%.1f s" % e_t,
                                          ev["end"]))
        if "box" in ev:
            end = ends.get(a["id"])
            if not end:
                res["problems"].append("%s event has no end alert" % ev["type"])
                continue
            box = end.get("boxes")
            v = iou(box[0], ev["box"]) if box else 0.0
            res["ious"].append(v)
    # A nuisance that forbids a type: no alert of it at all, whenever it
    # started (an event open since before the judged loop counts too).
    for nu in truth.get("nuisance", ()):
        bad = {a["id"] for a in alerts if a["type"] == nu.get("forbid")}
        if bad:
            res["false"] += len(bad)
            res["problems"].append("%s during %s (%d event(s))"
                                   % (nu["forbid"], nu["type"], len(bad)))
    for a in starts:
        if a["id"] not in used:
            res["false"] += 1
            res["problems"].append("false %s at %.1f s (zone %s)"
                                   % (a["type"], parse_ts(a["ts"]) - loop, a.get("zone")))
    return res


def open_events(scenes, judged, alerts):
    """Ids of events that started in a judged loop and have not ended."""
    ended = {a["id"] for a in alerts if a["phase"] == "end"}
    out = []
    for t in scenes:
        loop = judged.get(t["scene"])
        if loop is None:
            continue
        for a in alerts:
            if (a["camera"] == t["scene"] and a["phase"] == "start"
                    and loop <= parse_ts(a["ts"]) < loop + t["duration"]
                    and a["id"] not in ended):
                out.append(a["id"])
    return out


def run(names=None, modes=("full",)):
    """Run every scene once (programs from VIGIL_BUILD, default build/;
    scenes from scene_dir()), watched by one camera per analysis mode;
    returns (results, daemon log), a result per scene and mode. NoScenes
    when there is nothing to play."""
    from conftest import Camsim, Subscriber, Vigild, free_port
    scenes = load_scenes(scene_dir(), names)
    procs = []
    with tempfile.TemporaryDirectory(prefix="vigil-eval-") as tmp:
        try:
            cam = Camsim({t["scene"]: t["file"] for t in scenes})
            procs.append(cam)
            publish = "tcp://127.0.0.1:%d" % free_port()
            conf = os.path.join(tmp, "eval.conf")
            write_config(conf, scenes, cam, publish, os.path.join(tmp, "data"), modes)
            sub = Subscriber(publish)
            started = time.time()
            d = Vigild(conf)
            procs.append(d)
            sub.wait_heartbeat(20)
            # The judged loop of each scene, and when it is over (plus the
            # longest quiet gap that ends an event).
            judged = {}
            deadline = time.monotonic() + 120
            while len(judged) < len(scenes) and time.monotonic() < deadline:
                sub.poll(0.5)
                for t in scenes:
                    for s in cam.loop_starts(t["scene"]):
                        if s >= started + WARMUP and t["scene"] not in judged:
                            judged[t["scene"]] = s
            # Alerts carry stream times; under load (sanitizer builds) they
            # may be sent a few seconds after those: wait for them too.
            last_end = max(judged[t["scene"]] + t["duration"] for t in scenes
                           if t["scene"] in judged) + 3.0 + LAG
            while time.time() < last_end:
                sub.poll(min(0.5, max(0.05, last_end - time.time())))
            # Events judged must be complete: wait for the end of every one
            # that started in a judged loop (a slow build sends it late).
            deadline = time.monotonic() + 60
            while open_events(scenes, judged, sub.alerts) and time.monotonic() < deadline:
                sub.poll(0.5)
            sub.close()
            log_text = d.text()
        finally:
            for p in reversed(procs):
                p.stop()
    results = []
    for t, mode in ((t, m) for t in scenes for m in modes):
        if t["scene"] not in judged:
            results.append({"scene": t["scene"], "mode": mode, "expected": len(t["events"]),
                            "detected": 0, "missed": len(t["events"]), "false": 0,
                            "start_errors": [], "ious": [], "matched": {},
                            "problems": ["no loop judged"]})
            continue
        mine = [a for a in sub.alerts if a["camera"] == camera_id(t, mode)]
        r = judge(t, judged[t["scene"]], mine)
        r["mode"] = mode
        if mode != "full" and t.get("gated_limit"):
            r["limit"] = t["gated_limit"]
        r["loops"] = [round(x - judged[t["scene"]], 2) for x in cam.loop_starts(t["scene"])]
        r["alerts"] = [dict(phase=a["phase"], type=a["type"], zone=a.get("zone"),
                            severity=a["severity"], topic=a["_topic"],
                            t=round(parse_ts(a["ts"]) - judged[t["scene"]], 2),
                            boxes=a.get("boxes"), id=a["id"]) for a in mine]
        results.append(r)
    return results, log_text


def summarise(results):
    """Totals; the problems of a scene beyond a mode's known limit (the
    scene's gated_limit) are listed apart as limits, not as problems."""
    ious = [v for r in results for v in r["ious"] if not r.get("limit")]
    return {
        "expected": sum(r["expected"] for r in results),
        "detected": sum(r["detected"] for r in results),
        "missed": sum(r["missed"] for r in results),
        "false": sum(r["false"] for r in results),
        "mean_iou": sum(ious) / len(ious) if ious else None,
        "problems": [(r["scene"] if r.get("mode", "full") == "full"
                      else "%s (%s)" % (r["scene"], r["mode"]), p)
                     for r in results for p in r["problems"] if not r.get("limit")],
        "limits": [("%s (%s)" % (r["scene"], r["mode"]), p)
                   for r in results if r.get("limit") for p in r["problems"]],
    }


def compare(results, mode="gated"):
    """Problems of mode against full decoding, scene by scene: events
    full found and mode did not (or the other way round), motion that
    started more than GATED_LATE s later. Returns (rows, problems): rows
    of (scene, [start delays in seconds])."""
    full = {r["scene"]: r for r in results if r.get("mode", "full") == "full"}
    rows, problems = [], []
    for r in results:
        if r.get("mode") != mode or r["scene"] not in full or r.get("limit"):
            continue
        f, delays = full[r["scene"]], []
        for k, (typ, err) in sorted(f["matched"].items()):
            if k not in r["matched"]:
                problems.append((r["scene"], "%s: %s event %d found by full only"
                                 % (mode, typ, k)))
                continue
            d = r["matched"][k][1] - err
            delays.append(d)
            if typ == "motion" and d > GATED_LATE:
                problems.append((r["scene"], "%s: motion starts %.2f s after full (allowed %.1f)"
                                 % (mode, d, GATED_LATE)))
        for k in sorted(set(r["matched"]) - set(f["matched"])):
            problems.append((r["scene"], "%s: event %d found by %s only" % (mode, k, mode)))
        if r["false"] != f["false"]:
            problems.append((r["scene"], "%s: %d false alerts, full %d"
                             % (mode, r["false"], f["false"])))
        rows.append((r["scene"], delays))
    return rows, problems


def table(results):
    rows = ["%-15s %-6s %8s %8s %6s %5s %10s %6s" % (
        "scene", "mode", "expected", "detected", "missed", "false", "start err", "IoU")]
    for r in results:
        err = ("%+.2f s" % (sum(r["start_errors"]) / len(r["start_errors"]))
               if r["start_errors"] else "-")
        io = "%.2f" % (sum(r["ious"]) / len(r["ious"])) if r["ious"] else "-"
        rows.append("%-15s %-6s %8d %8d %6d %5d %10s %6s" % (
            r["scene"], r.get("mode", "full"), r["expected"], r["detected"], r["missed"],
            r["false"], err, io))
    for mode in sorted({r.get("mode", "full") for r in results}):
        s = summarise([r for r in results if r.get("mode", "full") == mode])
        rows.append("%-15s %-6s %8d %8d %6d %5d %10s %6s" % (
            "total", mode, s["expected"], s["detected"], s["missed"], s["false"], "",
            "%.2f" % s["mean_iou"] if s["mean_iou"] is not None else "-"))
    return "\n".join(rows)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", help="where the programs are (default: build)")
    ap.add_argument("--scenes", help="comma-separated scene names")
    ap.add_argument("--modes", default="full",
                    help="analysis modes, comma-separated (full is always one)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    names = set(args.scenes.split(",")) if args.scenes else None
    modes = ["full"] + [m for m in args.modes.split(",") if m and m != "full"]
    if args.build:
        os.environ["VIGIL_BUILD"] = os.path.abspath(args.build)
    try:
        # One daemon per mode: in one daemon the full cameras' load
        # delays every camera's packets, and the stream clock of a camera
        # thread behind real time (ingest.h) shifts its time stamps.
        results = []
        for mode in modes:
            results += run(names, (mode,))[0]
    except NoScenes as e:
        print("eval.py: %s" % e, file=sys.stderr)
        return 2
    print(table(results))
    s = summarise(results)
    for mode in modes[1:]:
        rows, probs = compare(results, mode)
        print("\n%s against full: motion start later by (s)" % mode)
        for scene, delays in rows:
            print("  %-13s %s" % (scene, " ".join("%+.2f" % d for d in delays) or "-"))
        s["problems"] += probs
    for scene, p in s["problems"]:
        print("%s: %s" % (scene, p))
    if s["limits"]:
        print("\nknown limits (shown, not targets):")
        lims = {r["scene"]: r["limit"] for r in results if r.get("limit")}
        for scene, p in s["limits"]:
            print("  %s: %s (%s)" % (scene, p, lims[scene.split(" ")[0]]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"results": results, "summary": s}, f, indent=2)
    ok = not s["problems"] and (s["mean_iou"] is None or s["mean_iou"] >= IOU_TARGET)
    print("targets %s" % ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
