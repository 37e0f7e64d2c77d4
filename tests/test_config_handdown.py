"""The supervisor checks the configuration once and hands the checked text
to its children (DATA_DIR/running.conf); no child reads the operator's
file. A worker restarted after a crash runs what the daemon runs, whatever
is on disk (issue 15)."""
import os
import signal
import stat
import subprocess

from conftest import VIGILD, free_port, scene, write_config
from svc import all_streaming, cameras, start_vigild, wait_status


def worker_pid(report, role="worker:0/1"):
    return [k for k in report["children"] if k["role"] == role][0]["pid"]


def test_restarted_worker_runs_the_running_configuration(tmp_path, procs):
    static = scene("static")["file"]
    data = tmp_path / "data"
    publish = "tcp://127.0.0.1:%d" % free_port()
    path = write_config(str(tmp_path / "vigil.conf"), [dict(id="r1", url=static)],
                        publish, str(data), workers=1)
    # vigilctl finds the daemon through a copy: the file itself is broken
    # on purpose below.
    probe = str(tmp_path / "probe.conf")
    with open(path) as f, open(probe, "w") as g:
        g.write(f.read())
    d = start_vigild(path)
    procs.append(d)
    before = wait_status(probe, all_streaming(["r1"]), 20)
    running = data / "running.conf"
    assert stat.S_IMODE(os.stat(running).st_mode) == 0o600
    with open(path) as f:
        assert running.read_text() == f.read()

    # The file on disk becomes invalid, with no SIGHUP; a worker dies.
    with open(path, "a") as f:
        f.write("this is { not a config\n")
    victim = worker_pid(before)
    os.kill(victim, signal.SIGKILL)
    after = wait_status(probe, lambda r: worker_pid(r) not in (0, victim)
                        and all_streaming(["r1"])(r), 20)
    assert after["children"][1]["restarts"] == 1
    assert "exited with status 2" not in d.text()

    # A valid edit, still without SIGHUP: a restarted worker does not run
    # it either (the new camera appears only after a reload).
    write_config(path, [dict(id="r1", url=static), dict(id="r2", url=static)],
                 publish, str(data), workers=1)
    victim = worker_pid(after)
    os.kill(victim, signal.SIGKILL)
    again = wait_status(probe, lambda r: worker_pid(r) not in (0, victim)
                        and all_streaming(["r1"])(r), 20)
    assert "r2" not in cameras(again)
    d.p.send_signal(signal.SIGHUP)
    d.wait_line(lambda l: "supervisor: reload complete" in l, 15)
    wait_status(probe, all_streaming(["r1", "r2"]), 20)
    with open(path) as f:
        assert running.read_text() == f.read()
    assert d.stop() == 0


def test_include_is_refused_with_its_line(tmp_path):
    path = write_config(str(tmp_path / "vigil.conf"),
                        [dict(id="i1", url=scene("static")["file"])],
                        "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"))
    with open(path, "a") as f:
        f.write('  @include "more.conf"\n')
    lines = open(path).read().count("\n")
    r = subprocess.run([VIGILD, "-t", "-c", path], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2
    assert "%s:%d: @include is not supported" % (path, lines) in r.stderr, r.stderr


def test_config_with_nul_byte_is_refused(tmp_path):
    path = write_config(str(tmp_path / "vigil.conf"),
                        [dict(id="n1", url=scene("static")["file"])],
                        "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"))
    with open(path, "ab") as f:
        f.write(b"# \x00 hidden\n")
    r = subprocess.run([VIGILD, "-t", "-c", path], capture_output=True, text=True, timeout=10)
    assert r.returncode == 2 and "NUL byte" in r.stderr, r.stderr
