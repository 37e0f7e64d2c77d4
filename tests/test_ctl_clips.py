"""vigilctl clips: usage errors and an empty or missing index (no daemon)."""
import os
import subprocess

from conftest import BUILD, write_config

VIGILCTL = os.path.join(BUILD, "vigilctl")


def ctl(*args):
    return subprocess.run([VIGILCTL, *args], capture_output=True, text=True, timeout=30)


def config(tmp_path):
    return write_config(str(tmp_path / "vigil.conf"), [dict(id="cam1", url="rtsp://h/x")],
                        "tcp://127.0.0.1:7700", str(tmp_path / "data"), workers=1)


def test_usage_errors(tmp_path):
    conf = config(tmp_path)
    assert "clips" in ctl("help").stdout
    r = ctl("clips")
    assert r.returncode == 2 and "usage: vigilctl clips list" in r.stderr
    r = ctl("clips", "frobnicate", "-c", conf)
    assert r.returncode == 2 and "unknown clips action 'frobnicate'" in r.stderr
    r = ctl("clips", "list", "--since", "yesterday-ish", "-c", conf)
    assert r.returncode == 2 and "bad time 'yesterday-ish'" in r.stderr
    r = ctl("clips", "show", "-c", conf)
    assert r.returncode == 2
    r = ctl("clips", "export", "7", "-c", conf)
    assert r.returncode != 0


def test_missing_index_and_bad_config(tmp_path):
    conf = config(tmp_path)
    r = ctl("clips", "list", "-c", conf)
    assert r.returncode == 1 and "no clip index at %s/data/clips.db" % tmp_path in r.stderr
    bad = tmp_path / "bad.conf"
    bad.write_text("cameras = (;\n")
    r = ctl("clips", "list", "-c", str(bad))
    assert r.returncode == 2 and "%s:1:" % bad in r.stderr

