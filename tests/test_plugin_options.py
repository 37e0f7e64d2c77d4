"""Detector options of every type checked by `vigild -t` against the
plugin's own table (the test detectors of build/test-plugins), plugins
that break the ABI refused with their line, and an observation type a
plugin did not declare refused at run time and logged once."""
import os
import re
import subprocess

from conftest import BUILD, VIGILD, Subscriber, Vigild, free_port, scene, write_config

TEST_PLUGINS = os.path.join(BUILD, "test-plugins")


def check(tmp_path, detect):
    conf = tmp_path / "opts.conf"
    conf.write_text(
        'plugin_dir = "%s";\n'
        'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n'
        'cameras = ( { id = "a"; url = "rtsp://h/a";\n'
        '  detect = {\n%s\n  }; } );\n' % (TEST_PLUGINS, detect))
    r = subprocess.run([VIGILD, "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=30)
    assert "Sanitizer" not in r.stderr and "runtime error:" not in r.stderr, r.stderr
    return conf, r


def test_valid_values_of_every_type(tmp_path):
    _, r = check(tmp_path, '    testdet = { count = 4; ratio = 0.75; flag = false;\n'
                           '                label = "north gate"; mode = "off"; };')
    assert r.returncode == 0, r.stderr
    assert "ok, 1 camera(s)" in r.stdout


def test_invalid_values_name_file_and_line(tmp_path):
    conf, r = check(tmp_path,
                    '    testdet = {\n'                  # line 5
                    '      count = "three";\n'           # 6
                    '      ratio = true;\n'              # 7
                    '      flag = 1;\n'                  # 8
                    '      label = "seventeen bytes!!";\n'   # 9
                    '      mode = "warp";\n'             # 10
                    '      colour = "red";\n'            # 11
                    '    };')
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    p = "%s:" % conf
    assert p + "6: camera 'a': detect.testdet.count must be a number" in lines
    assert p + "7: camera 'a': detect.testdet.ratio must be a number" in lines
    assert p + "8: camera 'a': detect.testdet.flag must be true or false" in lines
    assert p + "9: camera 'a': detect.testdet.label must be 0 to 16 bytes long, not 17" \
        in lines
    assert p + "10: camera 'a': detect.testdet.mode must be one of slow, fast or off, " \
        "not 'warp'" in lines
    assert p + "11: camera 'a': detect.testdet: unknown option 'colour' (known: count, " \
        "ratio, flag, label, mode, stray)" in lines
    assert lines[-1] == "%s: 6 errors" % conf, lines


def test_broken_plugins_refused_at_their_line(tmp_path):
    conf, r = check(tmp_path, '    badabi = { };\n'
                              '    misnamed = { };\n'
                              '    small = { };')
    assert r.returncode == 2
    lines = r.stderr.splitlines()
    assert any(l.startswith("%s:5: camera 'a': " % conf) and
               "has plugin ABI 1, this vigild needs 2: rebuild it" in l for l in lines), lines
    assert any(l.startswith("%s:6: camera 'a': " % conf) and
               "calls itself 'other'" in l for l in lines), lines
    assert any(l.startswith("%s:7: camera 'a': " % conf) and
               "ABI 2 needs at least" in l for l in lines), lines


def test_unlisted_type_refused_and_logged_once(tmp_path, procs):
    """testdet with stray = true reports "not.listed" on every frame
    besides its own "test.seen": subscribers get test.seen only, and the
    camera says once that it refused the other."""
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="cam1", district="d1", grid="g1", site="public",
             url=scene("static")["file"], loop=True,
             detect=dict(testdet=dict(stray=True))),
    ], publish, str(tmp_path / "data"), workers=1,
        extra='plugin_dir = "%s";\nstats_interval = 1;' % TEST_PLUGINS)
    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    # Any phase: the start may go out before the subscriber has joined
    # (PUB/SUB), the updates follow every few seconds.
    seen = sub.wait_alert(lambda a: a["type"] == "test.seen", 30)
    assert seen["_topic"] == "alert.high.d1.g1.cam1.test.seen"
    # Wait until the camera has analysed a few seconds of frames.
    d.wait_seen(lambda l: re.search(r"cam1: stats: .*analysed ([5-9]\d|\d{3,})", l), 30)
    refused = [l for l in d.lines if "reported 'not.listed', which is not among its kinds" in l]
    assert len(refused) == 1, refused
    assert "cam1: detector 'testdet'" in refused[0]
    sub.poll(0.2)
    assert not [a for a in sub.alerts if a["type"] != "test.seen"], sub.alerts
    sub.close()
