"""The fault suite, shortened for CI (scripts/fault-suite.py runs 50
cameras for 5 minutes by default): 20 cameras, 90 s of rotating faults,
a worker and the relay killed, the disk full for a while, and the journal
compared with what the workers logged, through replay."""
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
    assert "gap-free, lost 0, stored twice 0" in r.stdout
