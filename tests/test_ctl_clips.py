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



SCHEMA = """CREATE TABLE clips (id INTEGER PRIMARY KEY, camera TEXT NOT NULL,
  event_id TEXT NOT NULL, type TEXT NOT NULL, events TEXT NOT NULL,
  start_us INTEGER NOT NULL, end_us INTEGER, path TEXT NOT NULL UNIQUE,
  size INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL)"""


def forged_index(tmp_path, rows):
    """A clip directory with one good clip and an index holding rows
    (event_id, path) besides it; returns (config, clip dir, secret file)."""
    import sqlite3
    conf = config(tmp_path)
    clips = tmp_path / "data" / "clips"
    (clips / "cam1" / "2026-01-01").mkdir(parents=True)
    (clips / "cam1" / "2026-01-01" / "good.mp4").write_bytes(b"clip")
    secret = tmp_path / "secret"
    secret.write_text("root:$6$SECRET-HASH:19000::::::\n")
    db = sqlite3.connect(str(tmp_path / "data" / "clips.db"))
    db.execute(SCHEMA)
    rows = [("good", "cam1/2026-01-01/good.mp4")] + rows
    for i, (event, path) in enumerate(rows, 1):
        db.execute("INSERT INTO clips VALUES (?, 'cam1', ?, 'motion', ?, ?, ?, ?, 4, "
                   "'complete')", (i, event, event, i * 1000000, i * 1000000 + 1, path))
    db.commit()
    db.close()
    return conf, clips, secret


def test_paths_from_the_index_stay_in_the_clip_dir(tmp_path):
    """issue 20 D11: show, play and export refuse index paths that leave
    the clip directory ('..', absolute, a symbolic link) and copy nothing."""
    secret_rel = os.path.relpath(str(tmp_path / "secret"), str(tmp_path / "data" / "clips"))
    conf, clips, secret = forged_index(tmp_path, [
        ("dotdot", "cam1/../../../../../../.." + str(tmp_path / "secret")),
        ("absolute", str(tmp_path / "secret")),
        ("dotdot2", secret_rel),
    ])
    os.symlink(str(secret), str(clips / "cam1" / "2026-01-01" / "link.mp4"))
    os.symlink(str(tmp_path), str(clips / "out"))
    import sqlite3
    db = sqlite3.connect(str(tmp_path / "data" / "clips.db"))
    db.execute("INSERT INTO clips VALUES (5, 'cam1', 'link', 'motion', 'link', 5000000, "
               "5000001, 'cam1/2026-01-01/link.mp4', 4, 'complete')")
    db.execute("INSERT INTO clips VALUES (6, 'cam1', 'dirlink', 'motion', 'dirlink', 6000000, "
               "6000001, 'out/secret', 4, 'complete')")
    db.commit()
    db.close()
    out = tmp_path / "exported"
    for event, why in (("dotdot", "has a '.' or '..' component"),
                       ("absolute", "is an absolute path"),
                       ("dotdot2", "has a '.' or '..' component"),
                       ("link", "goes through a symbolic link"),
                       ("dirlink", "goes through a symbolic link")):
        for args in (["export", event, "--copy", "--out", str(out)],
                     ["export", event, "--out", str(out)],
                     ["show", event], ["show", event, "--json"], ["play", event]):
            r = ctl("clips", *args, "-c", conf)
            assert r.returncode == 1, (args, r.stdout, r.stderr)
            assert "refusing path" in r.stderr and why in r.stderr, (args, r.stderr)
            assert "SECRET" not in r.stdout + r.stderr
            assert not out.exists(), args
    # The genuine clip is still exported.
    r = ctl("clips", "export", "good", "--copy", "--out", str(out), "-c", conf)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes() == b"clip"


def test_show_matches_event_ids_literally(tmp_path):
    """issue 20 D12: '%' and '_' are not LIKE wildcards in an ID."""
    conf, _, _ = forged_index(tmp_path, [("cam1-motion-1000", "cam1/2026-01-01/b.mp4")])
    for pattern in ("%", "_", "cam1-motion-100_", "good%", "\\"):
        r = ctl("clips", "show", pattern, "-c", conf)
        assert r.returncode == 1 and "no clip '%s'" % pattern in r.stderr, (pattern, r.stdout)
    r = ctl("clips", "show", "cam1-motion-1000", "-c", conf)
    assert r.returncode == 0 and "cam1/2026-01-01/b.mp4" in r.stdout
