"""Many servers from one inventory: scripts/inventory2conf turns a CSV
into the camera list, vigilctl shard-plan splits it over the nodes (every
camera exactly once, N -> N+1 moves about 1/(N+1)), and a daemon with
cluster = { node; nodes; } runs exactly its node's share.
"""
import csv
import os
import re
import subprocess

from conftest import BUILD, ROOT, free_port, scene, write_config
from svc import all_streaming, cameras, start_vigild, wait_status

CONVERT = os.path.join(ROOT, "scripts", "inventory2conf")
VIGILCTL = os.path.join(BUILD, "vigilctl")
VIGILD = os.path.join(BUILD, "vigild")
CAMERAS = 1800


def write_inventory(path, n):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "name", "district", "grid", "site", "detect_url", "record_url",
                    "lat", "lon"])
        for i in range(n):
            w.writerow(["sz%04d" % i, "Street %d, north" % i, "d%d" % (i % 9), "g%03d" % (i % 200),
                        ("key", "public", "normal")[i % 3],
                        "rtsp://viewer:pw%d@10.1.%d.%d/sub" % (i, i // 250, i % 250),
                        "rtsp://viewer:pw%d@10.1.%d.%d/main" % (i, i // 250, i % 250),
                        "%.5f" % (31.2 + i * 1e-4), "%.5f" % (120.5 + i * 1e-4)])


def config_with(tmp_path, name, cameras_text, node=None, nodes=None):
    path = str(tmp_path / name)
    cluster = "" if nodes is None else "cluster = { node = %d; nodes = %d; };\n" % (node, nodes)
    with open(path, "w") as f:
        f.write('instance = "t";\nworkers = 2;\ndata_dir = "%s";\n'
                'alerts = { publish = "tcp://127.0.0.1:7700"; insecure = true; };\n%s%s'
                % (tmp_path / "data", cluster, cameras_text))
    return path


def shard_plan(path, nodes):
    r = subprocess.run([VIGILCTL, "shard-plan", "-c", path, "--nodes", str(nodes)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    owners, moved = {}, None
    for line in r.stdout.splitlines():
        m = re.match(r"# \d+ -> \d+ nodes: (\d+) of (\d+) camera", line)
        if m:
            moved = int(m.group(1)) / int(m.group(2))
        elif not line.startswith("#"):
            cid, node = line.split()
            assert cid not in owners, "camera %s listed twice" % cid
            owners[cid] = int(node)
    return owners, moved


def test_inventory_to_shards(tmp_path):
    inv = str(tmp_path / "inventory.csv")
    write_inventory(inv, CAMERAS)
    out = subprocess.run([CONVERT, inv], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    path = config_with(tmp_path, "all.conf", out.stdout)
    check = subprocess.run([VIGILD, "-t", "-c", path], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stderr
    assert "%d camera(s)" % CAMERAS in check.stdout
    ids = {"sz%04d" % i for i in range(CAMERAS)}

    plans = {}
    for n in range(1, 7):
        owners, moved = shard_plan(path, n)
        # The union over all nodes is every camera exactly once.
        assert set(owners) == ids
        assert set(owners.values()) == set(range(n))
        counts = [list(owners.values()).count(k) for k in range(n)]
        assert min(counts) > 0.8 * CAMERAS / n and max(counts) < 1.2 * CAMERAS / n, counts
        assert 0.8 / (n + 1) < moved < 1.2 / (n + 1), (n, moved)
        plans[n] = owners
    for n in range(1, 6):
        # Measured, not taken from the tool: who moves from n to n+1, and where.
        movers = [c for c in ids if plans[n][c] != plans[n + 1][c]]
        share = len(movers) / CAMERAS
        print("shards: %d -> %d nodes moves %d of %d cameras (%.1f%%, ideal %.1f%%)"
              % (n, n + 1, len(movers), CAMERAS, 100 * share, 100 / (n + 1)))
        assert all(plans[n + 1][c] == n for c in movers), "a camera moved between old nodes"
        assert 0.8 / (n + 1) < share < 1.2 / (n + 1)


def test_inventory_errors_name_lines(tmp_path):
    inv = tmp_path / "bad.csv"
    inv.write_text(
        "id,name,district,grid,site,detect_url,record_url,lat,lon\n"
        "c1,Gate,xc,g1,key,rtsp://u:Secr3t@h/1,,31.3,120.6\n"
        "c2,Bad,x.y,g1,vip,ftp://h/2,,95,abc\n"
        "c1,Dup,xc,g1,key,rtsp://h/3,,,\n"
        "short,row\n"
        "c9,Pw,xc,g1,key,ftp://u:p@Leak2@h/x,,,\n"
        "%s,Long,xc,g1,key,rtsp://h/7,,,\n" % ("c" * 33))
    r = subprocess.run([CONVERT, str(inv)], capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert "%s:3: district 'x.y' may only contain letters, digits, '_' and '-'" % inv in lines
    assert "%s:3: site must be one of key, public, normal, not 'vip'" % inv in lines
    assert "%s:3: lat '95' is not a number between -90 and 90" % inv in lines
    assert "%s:4: duplicate camera id 'c1' (first at line 2)" % inv in lines
    assert any(l.startswith("%s:5: expected 9 columns" % inv) for l in lines)
    assert not any(l.startswith("%s:2:" % inv) for l in lines)
    assert "Secr3t" not in r.stderr
    assert "%s:6: detect_url 'ftp://u:***@h/x' has an unsupported scheme" % inv in r.stderr
    assert "Leak2" not in r.stderr
    assert "%s:7: id '%s' is 33 characters long, at most 32 are allowed" % (inv, "c" * 33) \
        in lines


def test_daemon_runs_its_nodes_share(tmp_path, procs):
    files = {k: scene(k)["file"] for k in ("walker", "static", "lights")}
    cams = [dict(id="n%02d" % i, url=files[("walker", "static", "lights")[i % 3]])
            for i in range(6)]
    base = write_config(str(tmp_path / "base.conf"), cams, "tcp://127.0.0.1:7700",
                        str(tmp_path / "data"))
    owners, _ = shard_plan(base, 2)
    text = open(base).read().replace("cameras = (", "cluster = { node = 1; nodes = 2; };\ncameras = (")
    path = str(tmp_path / "node1.conf")
    with open(path, "w") as f:
        f.write(text.replace("tcp://127.0.0.1:7700", "tcp://127.0.0.1:%d" % free_port()))
    mine = sorted(c for c, n in owners.items() if n == 1)
    assert mine and len(mine) < len(cams)
    d = start_vigild(path)
    procs.append(d)
    r = wait_status(path, all_streaming(mine), 30)
    assert sorted(cameras(r)) == mine
    assert r["node"] == 1 and r["nodes"] == 2
    for c in set(owners) - set(mine):
        assert "%s: connected" % c not in d.text()
    assert d.stop() == 0

