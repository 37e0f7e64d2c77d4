"""Status: vigilctl status (table and JSON) over the 0600 control socket,
and the same figures as Prometheus text on the loopback /metrics port."""
import os
import re
import stat
import subprocess
import urllib.error
import urllib.request

from conftest import free_port, scene, write_config
from svc import VIGILCTL, all_streaming, cameras, start_vigild, wait_status


def metrics(port, path="/metrics"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=5) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        return r.read().decode()


def sample(text, name, **labels):
    lab = ",".join('%s="%s"' % kv for kv in sorted(labels.items()))
    m = re.search(r"^%s\{%s\} (\S+)$" % (re.escape(name), re.escape(lab)), text, re.M)
    assert m, "no %s{%s} in:\n%s" % (name, lab, text)
    return float(m.group(1))


def status_ok(path):
    r = subprocess.run([VIGILCTL, "status", "--json", "-c", path], capture_output=True,
                       text=True, timeout=10)
    return r.returncode == 0 and '"cameras"' in r.stdout


def test_status_and_metrics(tmp_path, procs):
    files = {k: scene(k)["file"] for k in ("walker", "static")}
    port = free_port()
    path = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="s1", url=files["walker"]), dict(id="s2", url=files["static"]),
        dict(id="s3", url=str(tmp_path / "missing.mp4")),
    ], "tcp://127.0.0.1:%d" % free_port(), str(tmp_path / "data"), workers=2)
    with open(path, "a") as f:
        f.write("status = { metrics_port = %d; };\n" % port)
    d = start_vigild(path)
    procs.append(d)
    sock = os.path.join(str(tmp_path / "data"), "control.sock")
    assert stat.S_IMODE(os.stat(sock).st_mode) == 0o600

    r = wait_status(path, lambda r: all_streaming(["s1", "s2"])(r)
                    and cameras(r)["s1"]["fps_in"] > 0
                    and cameras(r)["s3"]["last_error"], 20)
    cams = cameras(r)
    assert r["ready"] is True and r["instance"] == "test"
    assert [k["role"] for k in r["children"]] == ["relay", "worker:0/2", "worker:1/2"]
    assert all(k["pid"] > 0 and k["restarts"] == 0 for k in r["children"])
    for cid in ("s1", "s2"):
        c = cams[cid]
        # The scenes are 25 fps and analysed at full rate.
        assert 15 < c["fps_in"] < 35 and 15 < c["fps_analysed"] < 35, c
        assert c["decode_ms"] > 0 and c["kbps"] > 0 and c["reconnects"] == 0, c
    assert cams["s3"]["state"] in ("connecting", "down")
    assert "open" in cams["s3"]["last_error"] and cams["s3"]["reconnects"] >= 1

    # Every camera's threads carry its name, for top -H and profiles;
    # the children say what they are (not "exe", as re-executed).
    names = set()
    for k in r["children"]:
        with open("/proc/%d/comm" % k["pid"]) as f:
            assert f.read().strip() == {"relay": "vigild relay", "worker:0/2": "vigild worker 0",
                                        "worker:1/2": "vigild worker 1"}[k["role"]], k
        task = "/proc/%d/task" % k["pid"]
        for t in os.listdir(task):
            with open(os.path.join(task, t, "comm")) as f:
                names.add(f.read().strip())
    assert {"cam s1", "cam s2", "cam s3", "rec s1", "rec s2"} <= names, names

    text = metrics(port)
    assert sample(text, "vigil_camera_streaming", camera="s1") == 1
    assert sample(text, "vigil_camera_streaming", camera="s3") == 0
    assert 15 < sample(text, "vigil_camera_fps_in", camera="s2") < 35
    assert sample(text, "vigil_camera_packets_total", camera="s1") >= cams["s1"]["packets"]
    assert sample(text, "vigil_camera_reconnects_total", camera="s3") >= 1
    assert sample(text, "vigil_child_up", role="worker:1/2") == 1
    assert sample(text, "vigil_child_restarts_total", role="relay") == 0
    assert "# TYPE vigil_camera_bytes_total counter" in text
    try:
        metrics(port, "/other")
        raise AssertionError("/other answered")
    except urllib.error.HTTPError as e:
        assert e.code == 404

    # A request the daemon does not know gets an error, and it runs on.
    import socket
    with socket.socket(socket.AF_UNIX) as c:
        c.connect(sock)
        c.sendall(b"shutdown please\n")
        assert b'"error"' in c.makefile("rb").read()
    assert status_ok(path)

    table = subprocess.run([VIGILCTL, "status", "-c", path], capture_output=True,
                           text=True, timeout=10)
    assert table.returncode == 0, table.stderr
    rows = {l.split()[0]: l.split() for l in table.stdout.splitlines() if l.strip()}
    assert rows["s1"][1] == "streaming" and rows["worker:0/2"][1].isdigit()
    assert d.stop() == 0
    r = subprocess.run([VIGILCTL, "status", "-c", path], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1 and "cannot reach the daemon" in r.stderr
