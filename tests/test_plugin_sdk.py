"""The plugin SDK: `make install` (staged) installs vigil_plugin.h and
vigil-plugin.pc; the example detector (examples/plugin), copied out of
the tree, builds against them with pkg-config alone, installs into the
plugin directory pkg-config names, passes `vigild -t`, and its alert
reaches a ZeroMQ subscriber."""
import os
import shutil
import subprocess

from conftest import BUILD, ROOT, VIGILD, Subscriber, Vigild, free_port, scene, write_config


def test_example_plugin_built_out_of_tree(tmp_path, procs):
    stage = tmp_path / "stage"
    make = ["make", "-s", "install", "DESTDIR=%s" % stage, "PREFIX=/usr/local",
            "SYSCONFDIR=/etc", "LOCALSTATEDIR=/var"]
    if os.path.realpath(BUILD).startswith(os.path.realpath(ROOT) + os.sep):
        make.append("BUILD=%s" % os.path.relpath(os.path.realpath(BUILD), os.path.realpath(ROOT)))
    r = subprocess.run(make, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (stage / "usr/local/include/vigil/vigil_plugin.h").is_file()
    env = dict(os.environ, PKG_CONFIG_PATH=str(stage / "usr/local/lib/pkgconfig"),
               PKG_CONFIG_SYSROOT_DIR=str(stage))
    r = subprocess.run(["pkg-config", "--cflags", "vigil-plugin"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and r.stdout.split() == ["-I%s/usr/local/include/vigil" % stage], \
        r.stdout + r.stderr
    r = subprocess.run(["pkg-config", "--variable=plugindir", "vigil-plugin"], env=env,
                       capture_output=True, text=True, timeout=30)
    plugindir = r.stdout.strip()
    assert plugindir == "%s/usr/local/lib/vigil/plugins" % stage, r.stdout + r.stderr

    # Out of the tree: only the installed header can be found.
    src, out = tmp_path / "src", tmp_path / "out"
    shutil.copytree(os.path.join(ROOT, "examples", "plugin"), src)
    out.mkdir()
    r = subprocess.run(["make", "-C", str(src), "O=%s" % out, "install"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "-I%s/usr/local/include/vigil" % stage in r.stdout
    assert os.path.isfile(os.path.join(plugindir, "brightness.so"))

    # Any picture but black is lighter than 1 %: brightness.high holds from
    # the start.
    publish = "tcp://127.0.0.1:%d" % free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [
        dict(id="cam1", name="Yard", district="d1", grid="g1", site="key",
             url=scene("walker")["file"], loop=True,
             detect=dict(brightness=dict(high=1, low=0, report_low=False, statistic="median",
                                         note="sdk test"))),
    ], publish, str(tmp_path / "data"), workers=1, extra='plugin_dir = "%s";' % plugindir)
    r = subprocess.run([VIGILD, "-t", "-c", conf], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr

    sub = Subscriber(publish)
    d = Vigild(conf)
    procs.append(d)
    a = sub.wait_alert(lambda a: a["phase"] == "start", 30)
    assert a["_topic"] == "alert.critical.d1.g1.cam1.brightness.high"
    assert a["type"] == "brightness.high" and a["camera"] == "cam1"
    assert d.wait_seen(lambda l: "cam1: brightness: watching lightness outside 0..1%: sdk test"
                       in l, 5)
    sub.close()
