"""The fault suite, shortened for CI (scripts/fault-suite.py runs 50
cameras for 5 minutes by default): 20 cameras, 90 s of rotating faults,
a worker and the relay killed."""
import os
import subprocess
import sys

from conftest import BUILD, ROOT


def test_fault_suite_short():
    env = dict(os.environ, VIGIL_BUILD=BUILD)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "fault-suite.py"),
                        "--cameras", "20", "--minutes", "1.5"],
                       capture_output=True, text=True, timeout=600, env=env)
    print(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "fault suite: passed" in r.stdout
    assert "kills: worker, relay" in r.stdout
