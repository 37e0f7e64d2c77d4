"""vigild as a systemd service: sd_notify messages through a NOTIFY_SOCKET
the test listens on, the watchdog withheld while a child hangs, reload
notifications, a rejected config, and a graceful stop during an event.
"""
import json
import os
import re
import signal
import sqlite3
import time

from conftest import (Camsim, Subscriber, decode_errors, free_port, index_row, scene,
                      write_config)
from svc import NotifyListener, all_streaming, start_vigild, vigild_args, wait_status


def child_pid(proc, role):
    line = proc.wait_line(lambda l: ("supervisor: %s: started, pid" % role) in l, 15)
    return int(line.rsplit(" ", 1)[1])


def test_notify_ready_status_watchdog_reload_stop(tmp_path, procs):
    walker, static = scene("walker"), scene("static")
    cam = Camsim({"walker": walker["file"], "static": static["file"]})
    procs.append(cam)
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="camw", url=cam.url("walker")),
        dict(id="cams", url=cam.url("static")),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=2)
    notify = NotifyListener(str(tmp_path / "notify.sock"))
    d = start_vigild(conf, NOTIFY_SOCKET=notify.path, WATCHDOG_USEC="1000000")
    procs.append(d)

    notify.wait(lambda m: m.get("READY") == "1", 20)
    notify.wait(lambda m: m.get("STATUS") == "2/2 cameras streaming, 2 worker(s)", 20)
    notify.wait(lambda m: m.get("WATCHDOG") == "1", 5)

    # A hung worker (stopped) withholds the watchdog; it resumes after.
    pid = child_pid(d, "worker:0/2")
    os.kill(pid, signal.SIGSTOP)
    try:
        d.wait_line(lambda l: "no heartbeat for" in l and "withholding the watchdog" in l, 15)
        notify.drain()      # sent before the supervisor noticed
        quiet = [m for m in notify.poll(1.5) if m.get("WATCHDOG")]
        assert quiet == [], "watchdog sent while a worker hangs"
    finally:
        os.kill(pid, signal.SIGCONT)
    d.wait_line(lambda l: "watchdog resumed" in l, 10)
    notify.wait(lambda m: m.get("WATCHDOG") == "1", 5)

    # A worker that stays hung is killed and restarted (after 10 s here:
    # twice the stale time, as half of this 1 s watchdog is shorter).
    os.kill(pid, signal.SIGSTOP)
    d.wait_line(lambda l: "worker:0/2: pid %d: no heartbeat for" % pid in l
                and "killing it" in l, 20)
    assert child_pid(d, "worker:0/2") != pid
    wait_status(conf, all_streaming(["camw", "cams"]), 20)
    notify.drain()
    notify.wait(lambda m: m.get("WATCHDOG") == "1", 5)

    # Reload: RELOADING=1, then READY=1 once the workers applied it.
    d.p.send_signal(signal.SIGHUP)
    rel = notify.wait(lambda m: m.get("RELOADING") == "1", 10)
    assert int(rel["MONOTONIC_USEC"]) > 0
    notify.wait(lambda m: m.get("READY") == "1", 10)
    d.wait_line(lambda l: "supervisor: reload complete" in l, 10)

    # Two SIGHUPs back to back (the workers may see them merged) still
    # end in READY=1.
    d.p.send_signal(signal.SIGHUP)
    d.p.send_signal(signal.SIGHUP)
    notify.wait(lambda m: m.get("READY") == "1", 10)
    d.wait_line(lambda l: "supervisor: reload complete" in l, 10)

    # An invalid config is rejected with its errors; the old one keeps running.
    with open(conf, "a") as f:
        f.write("colour = \"red\";\n")
    d.p.send_signal(signal.SIGHUP)
    notify.wait(lambda m: m.get("RELOADING") == "1", 10)
    d.wait_line(lambda l: re.search(r"reload: .*vigil\.conf:\d+: unknown key 'colour'", l), 10)
    d.wait_line(lambda l: "keeping the running configuration" in l, 10)
    notify.wait(lambda m: m.get("READY") == "1", 10)
    wait_status(conf, all_streaming(["camw", "cams"]), 10)

    d.p.send_signal(signal.SIGTERM)
    notify.wait(lambda m: m.get("STOPPING") == "1", 10)
    assert d.p.wait(15) == 0
    notify.close()


def test_sigterm_during_event_stops_cleanly(tmp_path, procs):
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"]})
    procs.append(cam)
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="camw", district="d1", grid="g1", site="key", url=cam.url("walker")),
    ], publish, str(tmp_path / "data"), workers=1)
    sub = Subscriber(publish)
    d = start_vigild(conf)
    procs.append(d)
    sub.wait_heartbeat(15)
    start = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start",
                           walker["duration"] * 2 + 10)
    # The status names the newest alert ("type phase time").
    r = wait_status(conf, lambda r: (r["cameras"][0]["last_alert"] or "").startswith(
        "motion "), 10)
    last = r["cameras"][0]["last_alert"]
    assert last == "motion start " + start["ts"] or last.startswith("motion update "), last
    t0 = time.monotonic()
    d.p.send_signal(signal.SIGTERM)
    assert d.p.wait(10) == 0
    took = time.monotonic() - t0
    assert took < 10, "stop took %.1f s" % took
    # The open event was ended and its end alert published before the
    # relay stopped (the subscriber may still be draining it).
    end = sub.wait_alert(lambda a: a["phase"] == "end" and a["id"] == start["id"], 5)
    assert end["seq"] > start["seq"]
    assert "supervisor: stopped" in d.text()
    sub.close()
    # The journal has the end alert, under the seq it was published with.
    db = sqlite3.connect("file:%s?mode=ro" % (tmp_path / "data" / "journal.db"), uri=True)
    rows = db.execute("SELECT payload FROM alerts WHERE seq = ?", (end["seq"],)).fetchall()
    db.close()
    assert len(rows) == 1, "end alert seq %d not in the journal" % end["seq"]
    stored = json.loads(rows[0][0])
    assert (stored["id"], stored["phase"], stored["type"]) == (start["id"], "end", "motion")
    # The event's clip was finished: indexed complete, decodes without error.
    assert start["clip"], start
    row = index_row(str(tmp_path / "data"), start["clip"])
    assert row and row["state"] == "complete", row
    assert decode_errors(str(tmp_path / "data" / "clips" / start["clip"])) == ""


def run_until(args, env, stream, pred, timeout):
    """Start args with stdout/stderr on a fresh pipe (JOURNAL_STREAM set to
    that pipe's device:inode when stream is None), read lines until
    pred(line), stop it; returns all lines read."""
    import select
    import subprocess
    r, w = os.pipe()
    st = os.fstat(w)
    e = dict(os.environ, JOURNAL_STREAM=stream or "%d:%d" % (st.st_dev, st.st_ino))
    e.update(env)
    p = subprocess.Popen(args, stdout=w, stderr=w, env=e, start_new_session=True)
    os.close(w)
    lines, buf, found = [], b"", False
    deadline = time.monotonic() + timeout
    try:
        while not found and time.monotonic() < deadline:
            ready, _, _ = select.select([r], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            chunk = os.read(r, 65536)
            if not chunk:
                break
            buf += chunk
            *done, buf = buf.split(b"\n")
            lines += [l.decode() for l in done]
            found = any(pred(l) for l in lines)
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(15) == 0
        os.close(r)
    assert found, "no matching line within %.0f s:\n%s" % (timeout, "\n".join(lines[-30:]))
    return lines


def test_journal_priority_prefixes(tmp_path):
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="ok1", url=scene("static")["file"]),
        dict(id="gone1", url=str(tmp_path / "missing.mp4")),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=1)
    args = vigild_args(conf)
    lines = run_until(args, {}, None, lambda l: "gone1:" in l and "retrying" in l, 20)
    assert any(l.startswith("<6>supervisor: ") for l in lines), lines
    assert any(l.startswith("<4>worker 0: gone1: ") and "retrying" in l for l in lines), lines
    assert not any(re.match(r"\d{4}-\d\d-\d\dT", l) for l in lines), lines
    # Inherited but not our stderr (redirected elsewhere): plain lines.
    lines = run_until(args, {}, "1:1", lambda l: "gone1:" in l and "retrying" in l, 20)
    assert all(re.match(r"\d{4}-\d\d-\d\dT\S+ +\w+ +\S", l) for l in lines if l), lines


def test_second_sigterm_forces_stop(tmp_path, procs):
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="f1", url=scene("static")["file"]),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=1)
    d = start_vigild(conf)
    procs.append(d)
    pid = child_pid(d, "worker:0/1")
    wait_status(conf, all_streaming(["f1"]), 20)
    os.kill(pid, signal.SIGSTOP)        # a worker that cannot stop by itself
    d.p.send_signal(signal.SIGTERM)
    d.wait_line(lambda l: "supervisor: signal 15, stopping" in l, 10)
    d.p.send_signal(signal.SIGTERM)
    d.wait_line(lambda l: "children still running, killing them" in l, 10)
    assert d.p.wait(10) == 0
    assert "worker:0/1: pid %d killed by signal 9" % pid in d.text()
