"""The HTTP API (docs/http.md), against the real vigild recording the
walker camera from the real camsim.

- the bearer token is required (401 without it or with a wrong one), GET
  and HEAD only;
- /api/v1/cameras and /api/v1/clips (filters, bad parameters: 400);
- clip files: whole, byte ranges (a-b, a-, suffix, 416), bytes equal to
  the file, the download plays; a clip still recording is served up to
  the end of a complete fragment and plays;
- a camera's latest picture is a JPEG of its size;
- hostile clients: traversal in every spelling, symlinks out of the clip
  directory, huge headers, a trickling client (cut at its deadline), more
  connections than slots, early closes; the API answers afterwards;
- a token file others can read is refused and the API stays off.
"""
import http.client
import json
import os
import socket
import sqlite3
import struct
import subprocess
import threading
import time

import pytest

from conftest import (Camsim, Subscriber, Vigild, ffprobe, free_port, sanitizer_reports,
                      scene, write_config)
from svc import status

HEADERS_DEADLINE = 10.0    # HTTPAPI_DEADLINE_MS


class Api:
    def __init__(self, port, token, data, d, sub, start, conf):
        self.port, self.token, self.data, self.d, self.sub = port, token, data, d, sub
        self.conf = conf
        self.start = start          # the motion start alert of the clip
        self.clip = start["clip"]
        self.done = False

    def get(self, path, token=True, headers=None, method="GET"):
        """(status, headers dict with lower-case names, body)."""
        h = dict(headers or {})
        if token is True:
            h["Authorization"] = "Bearer " + self.token
        elif token:
            h["Authorization"] = token
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, headers=h)
            r = c.getresponse()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
        finally:
            c.close()

    def json(self, path):
        st, h, body = self.get(path)
        assert h["content-type"] == "application/json", (st, h)
        return st, json.loads(body)

    def complete(self):
        """Wait until the clip is finished (its end alert and index row)."""
        if not self.done:
            self.sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "end"
                                and a["id"] == self.start["id"], 30)
            self.d.wait_line(lambda l: "camw: clip %s complete" % self.clip in l, 20)
            self.done = True
        return os.path.join(self.data, "clips", self.clip)


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("http")
    walker = scene("walker")
    cam = Camsim({"walker": walker["file"]})
    port = free_port()
    publish = "tcp://127.0.0.1:%d" % free_port()
    data = str(tmp / "data")
    # camd's camera is not there: it never streams.
    conf = write_config(str(tmp / "vigil.conf"), [dict(
        id="camw", name="Walker street", district="xiangcheng", grid="g01", site="key",
        url=cam.url("walker")), dict(id="camd", url="rtsp://127.0.0.1:%d/none" % free_port(),
                                     open_timeout=1)], publish, data, workers=1)
    with open(conf, "a") as f:
        f.write("recording = { pre_seconds = 1; post_seconds = 4; };\n")
        f.write('http = { port = %d; bind = "127.0.0.1"; };\n' % port)
    sub = Subscriber(publish)
    d = Vigild(conf)
    started = [cam, d]
    try:
        d.wait_line(lambda l: "HTTP API on 127.0.0.1 port %d" % port in l, 20)
        token_file = os.path.join(data, "http.token")
        assert os.stat(token_file).st_mode & 0o777 == 0o600
        token = open(token_file).read().strip()
        assert len(token) == 64 and int(token, 16) >= 0
        start = sub.wait_alert(lambda a: a["camera"] == "camw" and a["type"] == "motion"
                               and a["phase"] == "start", walker["duration"] * 2 + 10)
        yield Api(port, token, data, d, sub, start, conf)
        assert d.p.poll() is None, "vigild died:\n" + d.text()
        assert d.stop() == 0
    finally:
        sub.close()
        for p in reversed(started):
            p.stop()
        reports = [(p.name, l) for p in started for l in sanitizer_reports(p)]
        assert not reports, reports


def boxes(data):
    """Top-level MP4 boxes of data: [(type, start, end)]; a partial box at
    the end fails."""
    out, pos = [], 0
    while pos < len(data):
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        assert size >= 8 and pos + size <= len(data), (typ, pos, size, len(data))
        out.append((typ.decode(), pos, pos + size))
        pos += size
    return out


def test_recording_clip_served_to_a_fragment_boundary(api, tmp_path):
    # 5 s into the event; the clip is open for a while yet (post-roll 4 s).
    api.sub.wait_alert(lambda a: a["type"] == "motion" and a["phase"] == "update"
                       and a["id"] == api.start["id"], 15)
    st, listed = api.json("/api/v1/clips?camera=camw")
    row = [c for c in listed["clips"] if c["path"] == api.clip]
    assert st == 200 and len(row) == 1 and row[0]["state"] == "recording", listed
    st, h, body = api.get("/clips/" + api.clip)
    on_disk = os.path.getsize(os.path.join(api.data, "clips", api.clip))
    assert st == 200 and h["content-type"] == "video/mp4", (st, h)
    assert int(h["content-length"]) == len(body) <= on_disk
    kinds = [b[0] for b in boxes(body)]
    assert kinds[:2] == ["ftyp", "moov"] and kinds[-1] == "mdat", kinds
    assert kinds.count("moof") == kinds.count("mdat") >= 2, kinds
    assert h["cache-control"] == "no-store"
    # What was served plays to its end.
    part = tmp_path / "recording.mp4"
    part.write_bytes(body)
    frames = ffprobe(str(part), "-count_frames", "-select_streams", "v",
                     "-show_entries", "stream=nb_read_frames")["streams"][0]
    assert int(frames["nb_read_frames"]) >= 25, frames
    # Ranges apply to what is served, not to the file's current size.
    st, h, tail = api.get("/clips/" + api.clip, headers={"Range": "bytes=-100"})
    assert st == 206 and len(tail) == 100


def test_token_required(api):
    for token in (None, "Bearer " + "0" * 64, "Bearer " + api.token[:-1],
                  "Bearer " + api.token + "0", "Basic " + api.token, api.token):
        for path in ("/api/v1/cameras", "/clips/" + api.clip, "/api/v1/clips",
                     "/api/v1/cameras/camw/picture.jpg", "/nothing"):
            st, h, body = api.get(path, token=token)
            assert st == 401, (token, path, st)
            assert h["www-authenticate"].startswith("Bearer"), h
            assert b"error" in body
    st, h, _ = api.get("/api/v1/cameras", method="POST")
    assert st == 405 and "GET" in h["allow"]
    assert api.get("/api/v1/cameras", method="DELETE")[0] == 405
    st, _, body = api.get("/api/v1/cameras", token="bearer " + api.token)
    assert st == 200


def test_cameras(api):
    st, j = api.json("/api/v1/cameras")
    assert st == 200 and j["instance"] == "test"
    c, dead = j["cameras"]
    assert (c["id"], c["name"], c["district"], c["grid"], c["site"]) == \
        ("camw", "Walker street", "xiangcheng", "g01", "key")
    assert c["state"] == "streaming" and c["fps"] > 0, c
    assert dead["id"] == "camd" and dead["state"] in ("connecting", "down"), dead
    assert dead["last_alert_ts"] is None or dead["last_alert_ts"].endswith("Z"), dead
    # The same cameras and states as the status report (camd's may move
    # between connecting and down in between).
    report = {r["id"]: r["state"] for r in status(api.conf)["cameras"]}
    assert sorted(report) == ["camd", "camw"]
    assert report["camw"] == "streaming" and report["camd"] in ("connecting", "down")
    # The motion start is its last alert at least.
    assert c["last_alert_ts"] and c["last_alert_ts"].endswith("Z"), c
    st, h, body = api.get("/api/v1/cameras", method="HEAD")
    assert st == 200 and body == b"" and h["content-type"] == "application/json"


def test_clips_query(api):
    path = api.complete()
    st, j = api.json("/api/v1/clips")
    assert st == 200
    (row,) = [c for c in j["clips"] if c["path"] == api.clip]
    assert row["camera"] == "camw" and row["event_id"] == api.start["id"]
    assert row["type"] == "motion" and row["state"] == "complete"
    assert row["end_us"] > row["start_us"] > 0
    snap = os.path.join(api.data, "clips", api.start["snapshot"])
    assert row["size"] == os.path.getsize(path) + os.path.getsize(snap)
    starts = [c["start_us"] for c in j["clips"]]
    assert starts == sorted(starts, reverse=True)
    s, e = row["start_us"], row["end_us"]
    assert api.json("/api/v1/clips?camera=other")[1]["clips"] == []
    assert api.json("/api/v1/clips?to=%d" % (s - 1))[1]["clips"] == []
    # Later clips (the scene loops) are newer; this one ended before.
    later = api.json("/api/v1/clips?from=%d" % (e + 1))[1]["clips"]
    assert api.clip not in [c["path"] for c in later]
    assert all(c["end_us"] is None or c["end_us"] > e for c in later), later
    within = api.json("/api/v1/clips?camera=camw&from=%d&to=%d&limit=1" % (s, e))[1]
    assert [c["path"] for c in within["clips"]] == [api.clip]
    for query, name in (("limit=0", "limit"), ("limit=1001", "limit"), ("limit=x", "limit"),
                        ("from=-5", "from"), ("to=1e9", "to"), ("from=9&to=8", "to"),
                        ("camera=a%2fb", "camera"), ("camera=" + "x" * 300, "camera"),
                        ("cam=camw", "cam"), ("limit=1&limit=2", "limit"),
                        ("from=99999999999999999999999", "from")):
        st, j = api.json("/api/v1/clips?" + query)
        assert st == 400 and name in j["error"], (query, st, j)


def test_clip_file_and_ranges(api, tmp_path):
    path = api.complete()
    want = open(path, "rb").read()
    n = len(want)
    url = "/clips/" + api.clip
    st, h, body = api.get(url)
    assert st == 200 and body == want
    assert h["content-type"] == "video/mp4" and h["accept-ranges"] == "bytes"
    for rng, a, b in (("bytes=0-99", 0, 99), ("bytes=100-", 100, n - 1),
                      ("bytes=-500", n - 500, n - 1), ("bytes=%d-%d" % (n - 10, n + 50),
                                                       n - 10, n - 1)):
        st, h, body = api.get(url, headers={"Range": rng})
        assert st == 206, (rng, st)
        assert h["content-range"] == "bytes %d-%d/%d" % (a, b, n), (rng, h)
        assert body == want[a:b + 1], rng
    for rng in ("bytes=%d-" % n, "bytes=-0"):
        st, h, body = api.get(url, headers={"Range": rng})
        assert st == 416 and h["content-range"] == "bytes */%d" % n, (rng, st, h)
    # Several ranges: served whole, as the RFC allows.
    st, _, body = api.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert st == 200 and body == want
    st, h, body = api.get(url, method="HEAD")
    assert st == 200 and body == b"" and int(h["content-length"]) == n
    out = tmp_path / "dl.mp4"
    out.write_bytes(api.get(url)[2])
    info = ffprobe(str(out), "-show_streams")["streams"][0]
    assert (info["codec_name"], info["width"], info["height"]) == ("h264", 1280, 720)
    st, h, body = api.get("/clips/" + api.start["snapshot"])
    assert st == 200 and h["content-type"] == "image/jpeg"
    assert body == open(os.path.join(api.data, "clips", api.start["snapshot"]), "rb").read()


def test_truncated_clip_served_to_its_last_whole_fragment(api, tmp_path):
    """A clip cut in the middle of a box (a killed writer), indexed
    truncated: served up to the end of its last whole fragment."""
    path = api.complete()
    whole = open(path, "rb").read()
    kinds = boxes(whole)
    mdats = [b for b in kinds if b[0] == "mdat"]
    cut = mdats[-2][2] + 100        # 100 bytes into the last fragment
    rel = os.path.join(os.path.dirname(api.clip), "cut-clip.mp4")
    with open(os.path.join(api.data, "clips", rel), "wb") as f:
        f.write(whole[:cut])
    db = sqlite3.connect(os.path.join(api.data, "clips.db"), timeout=10)
    with db:
        db.execute("INSERT INTO clips (camera, event_id, type, events, start_us, end_us, "
                   "path, size, state) VALUES ('camw', 'cut', 'motion', 'cut', 1, 2, ?, ?, "
                   "'truncated')", (rel, cut))
    db.close()
    st, h, body = api.get("/clips/" + rel)
    assert st == 200 and body == whole[:mdats[-2][2]], (st, len(body), mdats[-2][2])
    out = tmp_path / "cut.mp4"
    out.write_bytes(body)
    assert ffprobe(str(out), "-show_streams")["streams"][0]["codec_name"] == "h264"


def test_picture(api, tmp_path):
    st, h, body = api.get("/api/v1/cameras/camw/picture.jpg")
    assert st == 200 and h["content-type"] == "image/jpeg", (st, body[:200])
    out = tmp_path / "pic.jpg"
    out.write_bytes(body)
    s = ffprobe(str(out), "-show_streams")["streams"][0]
    assert (s["codec_name"], s["width"], s["height"]) == ("mjpeg", 1280, 720)
    # Each request gets a picture of its own: a newer file.
    before = os.stat(os.path.join(api.data, "pictures", "camw.jpg")).st_mtime_ns
    assert api.get("/api/v1/cameras/camw/picture.jpg")[0] == 200
    assert os.stat(os.path.join(api.data, "pictures", "camw.jpg")).st_mtime_ns > before
    assert api.get("/api/v1/cameras/nope/picture.jpg")[0] == 404
    st, _, body = api.get("/api/v1/cameras/camd/picture.jpg")
    assert st == 503 and b"not streaming" in body, (st, body)
    assert api.get("/api/v1/cameras/../picture.jpg")[0] == 404


def raw(port, data, timeout=10):
    """Send data, return everything until the server closes."""
    s = socket.create_connection(("127.0.0.1", port), timeout)
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            out += chunk
        return out
    finally:
        s.close()


def trickle(port, result):
    """Send a request's headers one byte every half second; record when
    the server closed the connection (seconds after connecting)."""
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), 5)
    line = b"GET /api/v1/cameras HTTP/1.1\r\nX-Slow: " + b"a" * 100
    try:
        for b in line:
            s.send(bytes([b]))
            time.sleep(0.5)
            if time.monotonic() - t0 > 30:
                break
    except OSError:
        pass
    try:
        s.settimeout(5)
        result["read"] = s.recv(100)
    except OSError as e:
        result["read"] = repr(e)
    result["closed_after"] = time.monotonic() - t0
    s.close()


def slow_reader(port, token, clip, size, result):
    """Read clip (size bytes) as a player does, over one kept-alive
    connection: 12 successive ranges, one a second, so longer than the
    deadline in all; record the bytes and how long it took."""
    t0 = time.monotonic()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    out, step = b"", size // 12 + 1
    try:
        for a in range(0, size, step):
            c.request("GET", "/clips/" + clip, headers={
                "Authorization": "Bearer " + token,
                "Range": "bytes=%d-%d" % (a, a + step - 1)})
            r = c.getresponse()
            assert r.status == 206, r.status
            out += r.read()
            time.sleep(1.0)
    except (OSError, AssertionError, http.client.HTTPException) as e:
        result["error"] = repr(e)
    c.close()
    result["data"] = out
    result["took"] = time.monotonic() - t0


def test_hostile_clients(api, tmp_path):
    api.complete()
    clips = os.path.join(api.data, "clips")
    # A secret outside the clip directory, reachable by symlinks inside it.
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"SECRET-BYTES")
    os.symlink(str(outside / "secret.jpg"), os.path.join(clips, "camw", "evil.jpg"))
    os.symlink(str(outside), os.path.join(clips, "outdir"))
    os.symlink(os.path.join(api.data, "http.token"), os.path.join(clips, "token.jpg"))
    slow, reader = {}, {}
    t = threading.Thread(target=trickle, args=(api.port, slow))
    t.start()
    # A client reading a clip for longer than the deadline keeps its
    # connection.
    r = threading.Thread(target=slow_reader, args=(api.port, api.token, api.clip,
                                                   os.path.getsize(os.path.join(clips, api.clip)),
                                                   reader))
    r.start()
    day = os.path.dirname(api.clip)
    bad = ["/clips/../http.token", "/clips/camw/../../http.token", "/clips/%2e%2e/http.token",
           "/clips/..%2fhttp.token", "/clips/%2E%2E%2Fhttp.token", "/clips/%2fetc%2fpasswd",
           "/clips//etc/passwd", "/clips/" + os.path.join(api.data, "http.token"),
           "/clips/camw/evil.jpg", "/clips/outdir/secret.jpg", "/clips/token.jpg",
           "/clips/" + api.clip + "%00.jpg", "/clips/" + api.clip[:-4] + "%00.mp4",
           "/clips/./" + api.clip, "/clips/" + day + "/./" + os.path.basename(api.clip),
           "/clips/" + "a/" * 200 + "x.mp4", "/clips/" + "b" * 5000 + ".jpg",
           "/clips/camw", "/clips/", "/clips/%252e%252e/http.token",
           "/clips/" + api.clip + ".tmp", "/clips/clips.db", "/clips/../clips.db"]
    for url in bad:
        st, h, body = api.get(url)
        assert st in (404, 414), (url, st)
        assert b"SECRET" not in body and api.token.encode() not in body, url
    # The same over a raw socket, unnormalised.
    for url in (b"/clips/../http.token", b"/clips/camw/%2e%2e/%2e%2e/http.token",
                b"/clips/\x00x.jpg", b"/clips/camw/evil.jpg%00"):
        out = raw(api.port, b"GET " + url + b" HTTP/1.0\r\nAuthorization: Bearer " +
                  api.token.encode() + b"\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 4") and b"SECRET" not in out, (url, out[:100])
    # Headers far over the connection's memory: refused.
    big = raw(api.port, b"GET /api/v1/cameras HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
              api.token.encode() + b"\r\nX-A: " + b"a" * 200000 + b"\r\n\r\n")
    assert not big.startswith(b"HTTP/1.1 200"), big[:100]
    # Garbage instead of a request line.
    assert not raw(api.port, b"\x16\x03\x01\x02\x00garbage\r\n\r\n").startswith(b"HTTP/1.1 200")
    # Early closes: after the request, in the middle of the headers, with an RST.
    for data in (b"GET /clips/" + api.clip.encode() + b" HTTP/1.1\r\nAuthorization: Bearer " +
                 api.token.encode() + b"\r\n\r\n", b"GET /api/v1/cam"):
        s = socket.create_connection(("127.0.0.1", api.port), 5)
        s.sendall(data)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    # More connections than slots; a real request gets through once they go.
    idle = [socket.create_connection(("127.0.0.1", api.port), 5) for _ in range(40)]
    for s in idle:
        s.close()
    assert api.get("/api/v1/cameras")[0] == 200
    # The trickling client is cut at its deadline, not served.
    t.join(40)
    assert HEADERS_DEADLINE - 1 <= slow["closed_after"] <= HEADERS_DEADLINE + 4, slow
    assert not str(slow["read"]).startswith("b'HTTP/1.1 200"), slow
    r.join(70)
    want = open(os.path.join(clips, api.clip), "rb").read()
    assert reader["data"] == want, (len(reader["data"]), len(want), reader.get("error"))
    assert reader["took"] > HEADERS_DEADLINE, reader["took"]
    assert api.get("/api/v1/cameras")[0] == 200
    assert api.get("/clips/" + api.clip)[0] == 200
    assert api.d.p.poll() is None


def test_token_file_readable_by_others_is_refused(tmp_path, procs):
    data = tmp_path / "data"
    data.mkdir()
    token = data / "http.token"
    token.write_text("f" * 64 + "\n")
    token.chmod(0o644)
    port = free_port()
    conf = write_config(str(tmp_path / "vigil.conf"), [dict(id="s1", url=scene("static")["file"])],
                        "tcp://127.0.0.1:%d" % free_port(), str(data), workers=1)
    with open(conf, "a") as f:
        f.write("http = { port = %d; };\n" % port)
    d = Vigild(conf)
    procs.append(d)
    line = d.wait_line(lambda l: "refusing the token file" in l, 20)
    assert str(token) in line and "mode 0644" in line and "stays off" in line, line
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), 2).close()
    # The daemon runs on without the API.
    d.wait_line(lambda l: "all 2 children ready" in l, 20)
    assert d.p.poll() is None
    assert d.stop() == 0


def test_config_check_names_file_and_line(tmp_path):
    from conftest import VIGILD
    conf = write_config(str(tmp_path / "vigil.conf"), [dict(id="s1", url="x.mp4")],
                        "tcp://127.0.0.1:1", str(tmp_path / "data"), workers=1)
    with open(conf, "a") as f:
        f.write('http = { port = 8091; bind = "example.org"; };\n')
    out = subprocess.run([VIGILD, "-t", "-c", conf], capture_output=True, text=True, timeout=20)
    assert out.returncode != 0
    n = len(open(conf).read().splitlines())
    assert "%s:%d: http.bind must be an IPv4 or IPv6 address, not 'example.org'" % (conf, n) \
        in out.stderr + out.stdout, out.stderr


def test_ipv6_token_file_and_reload(tmp_path, procs):
    """http.bind on ::1, http.token_file created where configured, and a
    reload that moves the API to another port."""
    data = tmp_path / "data"
    token = tmp_path / "keys" / "api.token"
    token.parent.mkdir()
    port, port2 = free_port(), free_port()
    conf = str(tmp_path / "vigil.conf")

    def write(p):
        write_config(conf, [dict(id="s1", url=scene("static")["file"])],
                     "tcp://127.0.0.1:%d" % pub, str(data), workers=1)
        with open(conf, "a") as f:
            f.write('http = { port = %d; bind = "::1"; token_file = "%s"; };\n' % (p, token))

    pub = free_port()
    write(port)
    d = Vigild(conf)
    procs.append(d)
    d.wait_line(lambda l: "HTTP API on ::1 port %d" % port in l, 20)
    assert os.stat(token).st_mode & 0o777 == 0o600
    secret = token.read_text().strip()
    assert len(secret) == 64 and not (data / "http.token").exists()

    def get(p, path="/api/v1/cameras"):
        c = http.client.HTTPConnection("::1", p, timeout=10)
        try:
            c.request("GET", path, headers={"Authorization": "Bearer " + secret})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    st, body = get(port)
    assert st == 200 and json.loads(body)["cameras"][0]["id"] == "s1"
    write(port2)
    d.p.send_signal(1)   # SIGHUP
    d.wait_line(lambda l: "HTTP API on ::1 port %d" % port2 in l, 20)
    assert get(port2)[0] == 200
    with pytest.raises(OSError):
        get(port)
    assert d.stop() == 0
