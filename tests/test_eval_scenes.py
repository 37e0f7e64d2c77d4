"""Without scenes the accuracy measurement fails, and says why: the
accuracy test (tests/test_e2e_accuracy.py) must not pass having
measured nothing, nor must `make eval` (scripts/eval.py)."""
import json
import os
import subprocess
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, "scripts"))
import eval as vigil_eval  # noqa: E402

PYTHON = sys.executable


def run(args, scenes):
    env = dict(os.environ, VIGIL_SCENES=scenes)
    return subprocess.run([PYTHON] + args, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("kind", ["empty", "missing"])
def test_accuracy_test_fails_without_scenes(tmp_path, kind):
    scenes = tmp_path / "scenes"
    if kind == "empty":
        scenes.mkdir()
    r = run(["-m", "pytest", "-q", "-p", "no:cacheprovider",
             os.path.join("tests", "test_e2e_accuracy.py")], str(scenes))
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert "accuracy test: no scene" in out and str(scenes) in out, out
    assert " passed" not in out, out


@pytest.mark.parametrize("kind", ["empty", "missing"])
def test_eval_fails_without_scenes(tmp_path, kind):
    scenes = tmp_path / "scenes"
    if kind == "empty":
        scenes.mkdir()
    r = run([os.path.join("scripts", "eval.py")], str(scenes))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "eval.py: no scene" in r.stderr and str(scenes) in r.stderr, r.stderr


def test_scene_names_and_names_asked_for(tmp_path):
    for name in ("b", "a"):
        (tmp_path / (name + ".json")).write_text(json.dumps({"scene": name}))
        (tmp_path / (name + ".mp4")).write_bytes(b"")
    assert vigil_eval.scene_names(str(tmp_path)) == ["a", "b"]
    assert [t["scene"] for t in vigil_eval.load_scenes(str(tmp_path), {"b"})] == ["b"]
    with pytest.raises(vigil_eval.NoScenes, match="no scene c in"):
        vigil_eval.load_scenes(str(tmp_path), {"a", "c"})
