"""A short soak (the full one is scripts/soak.py, 30 minutes by default):
six cameras for 90 s, and no growth of memory, descriptors or threads
after the warm-up."""
import os
import subprocess
import sys

from conftest import BUILD, ROOT


def test_short_soak():
    env = dict(os.environ, VIGIL_BUILD=BUILD)
    # Under ASan, freed memory waits in a quarantine (256 MB a process by
    # default) that fills for minutes on a busy machine and reads as RSS
    # growth; a small quarantine keeps use-after-free detection and lets
    # real growth show.
    if env.get("ASAN_OPTIONS"):
        env["ASAN_OPTIONS"] += ":quarantine_size_mb=8"
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "soak.py"),
                        "--cameras", "6", "--minutes", "1.5", "--interval", "3"],
                       capture_output=True, text=True, timeout=300, env=env)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "RSS MB" in r.stdout and "GREW" not in r.stdout
