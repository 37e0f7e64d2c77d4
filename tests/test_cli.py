"""vigild -t: configuration check from the command line."""
import json
import sqlite3
import subprocess

from conftest import ROOT, VIGILD, Camsim, Vigild, free_port, scene, write_config


def run(*args):
    r = subprocess.run([VIGILD, *args], capture_output=True, text=True, timeout=30)
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r.stderr
    return r


def test_shipped_config_is_valid():
    r = run("-t", "-c", ROOT + "/config/vigil.conf")
    assert r.returncode == 0, r.stderr
    assert "ok" in r.stdout


def test_errors_name_file_and_line(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text(
        'instance = "x";\n'
        'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        'cameras = (\n'
        '  { id = "a"; url = "ftp://user:pw1234@host/x"; },\n'
        '  { id = "a"; url = "rtsp://h/y"; colour = "red"; },\n'
        '  { id = "b"; workers = 3; }\n'
        ');\n')
    r = run("-t", "-c", str(conf))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert "%s:4: camera 'a': url 'ftp://user:***@host/x' has an unsupported scheme" \
        " (use rtsp://, rtsps://, file:// or a path)" % conf in lines
    assert "%s:5: camera 'a': unknown key 'colour'" % conf in lines
    assert "%s:5: duplicate camera id 'a' (first defined at line 4)" % conf in lines
    assert "%s:6: camera 'b': unknown key 'workers'" % conf in lines
    assert "%s:6: camera 'b': missing url (set url, or detect_url)" % conf in lines
    assert "pw1234" not in r.stderr


def test_bad_usage():
    r = run("--bogus")
    assert r.returncode == 2
    assert "usage" in r.stderr


def test_detector_options_checked_by_the_plugin(tmp_path):
    """Options are checked against the plugin's own table, loaded from the
    build's plugin directory without any installation."""
    conf = tmp_path / "det.conf"
    conf.write_text(
        'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        'cameras = ( { id = "a"; url = "rtsp://h/a";\n'
        '  detect = { motion = { sensitivity = 2.5; };\n'
        '             tamper = { hold = 3; frobnicate = 1; }; };\n'
        '  zones = ( { name = "yard"; polygon = [0.1, 0.1, 0.9, 0.1, 0.5, 0.9];\n'
        '              schedule = "mon-fri 25:00-04:00"; } );\n'
        '} );\n')
    r = run("-t", "-c", str(conf))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert "%s:3: camera 'a': detect.motion.sensitivity must be between 0 and 1, not 2.5" \
        % conf in lines
    assert any(l.startswith("%s:4: camera 'a': detect.tamper: unknown option 'frobnicate'"
                            % conf) for l in lines), lines
    assert any(l.startswith("%s:6: camera 'a': zone 'yard': schedule cannot read" % conf)
               for l in lines), lines
    assert lines[-1] == "%s: 3 errors" % conf and len(lines) == 4


def test_refuses_root_unless_told(tmp_path):
    import os
    conf = tmp_path / "v.conf"
    conf.write_text('data_dir = "%s/data";\nalerts = { publish = "tcp://127.0.0.1:1"; insecure = true; };\n'
                    'cameras = ( { id = "a"; url = "rtsp://127.0.0.1:1/x"; } );\n' % tmp_path)
    if os.geteuid() != 0:
        import pytest
        pytest.skip("only meaningful as root")
    r = run("-c", str(conf))
    assert r.returncode == 2
    assert "refusing to run as root" in r.stderr
    assert not (tmp_path / "data").exists()


def test_password_with_at_is_never_printed(tmp_path, procs):
    """issue 20 D6: the password runs to the last '@' of the authority, in
    the checker's messages and in the daemon's log."""
    secret = "ssw0rdLEAK"
    conf = tmp_path / "at.conf"
    conf.write_text(
        'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        'cameras = ( { id = "a"; url = "ftp://admin:p@%s@host/x?u=a:b@c"; } );\n' % secret)
    r = run("-t", "-c", str(conf))
    assert r.returncode == 2
    assert "url 'ftp://admin:***@host/x?u=a:b@c' has an unsupported scheme" in r.stderr
    assert secret not in r.stderr + r.stdout

    cam = Camsim({"walker": scene("walker")["file"]})
    procs.append(cam)
    url = "rtsp://admin:p@%s@127.0.0.1:%d/walker" % (secret, cam.port)
    write_config(tmp_path / "run.conf", [dict(id="pw", url=url)],
                 "tcp://127.0.0.1:%d" % free_port(), tmp_path / "data", workers=1)
    d = Vigild(str(tmp_path / "run.conf"))
    procs.append(d)
    line = d.wait_line(lambda l: "pw: connected to" in l, 20)
    assert "rtsp://admin:***@127.0.0.1:%d/walker" % cam.port in line
    d.stop()
    assert secret not in d.text()


TOKEN_MAX = 32   # VIGIL_TOKEN_MAX in daemon/config.h


def test_long_ids_are_refused_with_their_line(tmp_path):
    """issue 20 D5: an id longer than every later stage holds (topic,
    event ids, file names, status page) is an error of the check."""
    conf = tmp_path / "long.conf"
    conf.write_text(
        'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        'cameras = (\n'
        '  { url = "rtsp://h/a";\n'
        '    id = "%s"; },\n'
        '  { id = "b"; url = "rtsp://h/b"; grid = "%s";\n'
        '    zones = ( { name = "%s"; polygon = [0.1, 0.1, 0.9, 0.1, 0.5, 0.9]; } ); }\n'
        ');\n' % ("c" * 300, "g" * (TOKEN_MAX + 1), "z/y"))
    r = run("-t", "-c", str(conf))
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert any(l.startswith("%s:4: camera 'ccc" % conf) and
               l.endswith("id is 300 characters long, at most %d are allowed "
                          "(it names topics and files)" % TOKEN_MAX) for l in lines), lines
    assert "%s:5: camera 'b': grid is %d characters long, at most %d are allowed " \
        "(it names topics and files)" % (conf, TOKEN_MAX + 1, TOKEN_MAX) in lines
    assert "%s:6: camera 'b': zone 'z/y': name must be 1 to %d letters, digits, '_' or '-'" \
        % (conf, TOKEN_MAX) in lines


def test_longest_id_reaches_subscribers_whole(tmp_path, procs):
    """Ids, district, grid and zone name at the longest allowed: the
    motion alert, its clip and a video_loss (with its events/ file) all
    carry the full names."""
    from conftest import Subscriber
    cid = ("cam-" + "x" * TOKEN_MAX)[:TOKEN_MAX]
    lid = ("gone-" + "y" * TOKEN_MAX)[:TOKEN_MAX]
    district, grid, zone = "d" * TOKEN_MAX, "g" * TOKEN_MAX, "z" * TOKEN_MAX
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = tmp_path / "data"
    conf = write_config(tmp_path / "v.conf", [
        dict(id=cid, district=district, grid=grid, url=scene("walker")["file"], loop=True),
        dict(id=lid, district=district, grid=grid, open_timeout=2,
             url="rtsp://127.0.0.1:%d/none" % free_port()),
    ], publish, data, workers=1)
    text = open(conf).read().replace(
        "loop = true;", "loop = true; zones = ( { name = \"%s\"; "
        "polygon = [0.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0]; } );" % zone)
    open(conf, "w").write(text)
    assert run("-t", "-c", str(conf)).returncode == 0
    sub = Subscriber(publish)
    d = Vigild(str(conf))
    procs.append(d)
    try:
        sub.wait_heartbeat(15)
        a = sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "start", 30)
    finally:
        sub.close()
    assert a["camera"] == cid and a["zone"] == zone
    assert a["_topic"] == "alert.medium.%s.%s.%s.motion" % (district, grid, cid)
    assert a["id"].startswith("%s-motion-%s-" % (cid, zone))
    assert a["clip"].startswith(cid + "/") and a["clip"].endswith(a["id"] + ".mp4")
    assert (data / "clips" / cid).is_dir()
    # The other camera was down from the start (maybe before the subscriber
    # joined): its video_loss is in the journal, its open event on disk.
    db = sqlite3.connect("file:%s/journal.db?mode=ro" % data, uri=True)
    try:
        rows = db.execute("SELECT topic, payload FROM alerts").fetchall()
    finally:
        db.close()
    losses = [json.loads(p) for t, p in rows
              if t == "alert.medium.%s.%s.%s.video_loss" % (district, grid, lid)]
    assert len(losses) == 1 and losses[0]["camera"] == lid, rows
    assert (data / "events" / (lid + ".video_loss")).exists()
    assert "dropped" not in d.text() and "cannot write" not in d.text(), d.text()


def test_wrapping_integers_and_bad_utf8_are_refused(tmp_path):
    """issue 20 D12: 4294967298 is not read as 2; names are UTF-8."""
    conf = tmp_path / "wrap.conf"
    conf.write_bytes(
        b'workers = 4294967298;\n'
        b'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        b'cameras = ( { id = "a"; url = "rtsp://h/a";\n'
        b'  name = "gate \xff\xfe"; } );\n')
    r = subprocess.run([VIGILD, "-t", "-c", str(conf)], capture_output=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.decode("utf-8", "replace").splitlines()
    assert "%s:1: workers must be between 0 and 256, not 4294967298" % conf in lines
    assert "%s:4: camera 'a': name is not valid UTF-8" % conf in lines
