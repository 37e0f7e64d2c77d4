"""make install into a staging prefix: programs, plugin directory, unit,
sysusers entry, example config and data directory layout; the installed
unit passes systemd-analyze verify and the installed daemon accepts the
installed config."""
import os
import shutil
import subprocess

import pytest

from conftest import ROOT


def test_make_install(tmp_path):
    prefix = tmp_path / "usr"
    etc = tmp_path / "etc"
    var = tmp_path / "var"
    r = subprocess.run(["make", "-s", "install", "PREFIX=%s" % prefix,
                        "SYSCONFDIR=%s" % etc, "LOCALSTATEDIR=%s" % var],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for prog in ("vigild", "vigilctl", "vigil-tail"):
        assert os.access(prefix / "bin" / prog, os.X_OK), prog
    assert (prefix / "lib" / "vigil" / "plugins").is_dir()
    for plugin in ("motion.so", "tamper.so"):
        assert (prefix / "lib" / "vigil" / "plugins" / plugin).is_file(), plugin
    assert (var / "lib" / "vigil" / "clips").is_dir()
    assert oct((var / "lib" / "vigil").stat().st_mode & 0o777) == "0o750"
    assert (prefix / "lib" / "sysusers.d" / "vigil.conf").read_text().startswith("#")
    tmpfiles = (prefix / "lib" / "tmpfiles.d" / "vigil.conf").read_text()
    assert "z %s/vigil/vigil.conf 0640 root vigil -" % etc in tmpfiles
    assert "d %s/lib/vigil 0750 vigil vigil -" % var in tmpfiles
    conf = etc / "vigil" / "vigil.conf"
    assert conf.is_file() and (etc / "vigil" / "vigil.conf.example").is_file()
    unit = (prefix / "lib" / "systemd" / "system" / "vigild.service").read_text()
    assert "ExecStart=%s/bin/vigild -c %s/vigil/vigil.conf" % (prefix, etc) in unit
    for key in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "User=vigil",
                "NoNewPrivileges=yes", "ProtectSystem=strict", "ProtectHome=yes",
                "PrivateTmp=yes", "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6"):
        assert key in unit, key
    r = subprocess.run([str(prefix / "bin" / "vigild"), "-t", "-c", str(conf)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr

    # A local edit of vigil.conf survives a second install.
    conf.write_text(conf.read_text() + "# local edit\n")
    r = subprocess.run(["make", "-s", "install", "PREFIX=%s" % prefix,
                        "SYSCONFDIR=%s" % etc, "LOCALSTATEDIR=%s" % var],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert conf.read_text().endswith("# local edit\n")


def test_unit_verifies(tmp_path):
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed (package systemd)")
    prefix = tmp_path / "usr"
    r = subprocess.run(["make", "-s", "install", "PREFIX=%s" % prefix,
                        "SYSCONFDIR=%s" % (tmp_path / "etc"),
                        "LOCALSTATEDIR=%s" % (tmp_path / "var")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    unit = prefix / "lib" / "systemd" / "system" / "vigild.service"
    r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "vigild.service" not in r.stderr, r.stderr


def test_console_installed(tmp_path):
    prefix, etc = tmp_path / "usr", tmp_path / "etc"
    r = subprocess.run(["make", "-s", "install", "PREFIX=%s" % prefix, "SYSCONFDIR=%s" % etc,
                        "LOCALSTATEDIR=%s" % (tmp_path / "var")],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    console = prefix / "bin" / "vigil-console"
    assert os.access(console, os.X_OK)
    unit = prefix / "lib" / "systemd" / "system" / "vigil-console.service"
    text = unit.read_text()
    assert "ExecStart=%s -c %s/vigil/console.conf" % (console, etc) in text
    conf = etc / "vigil" / "console.conf"
    assert str(prefix / "share" / "vigil" / "web") in conf.read_text()
    # The installed example passes the installed console's check.
    r = subprocess.run([str(console), "-t", "-c", str(conf)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    if shutil.which("systemd-analyze"):
        r = subprocess.run(["systemd-analyze", "verify", str(unit)],
                           capture_output=True, text=True, timeout=60)
        assert "vigil-console.service" not in r.stderr, r.stderr
