"""The monitoring room's console in a real browser.

One set-up for the module: camsim serving the walker scene, vigild
recording its camera (clips and snapshots, HTTP API behind a token),
vigil-console following that vigild, and headless Chromium driven by
Selenium (Debian's chromium and chromium-driver; nothing is downloaded).
Alerts besides the walker's come from the relay's own worker protocol
(the ipc socket), so that the test chooses district, severity and site.

- wrong password refused, right one signs in; the API and media need the
  session cookie (401 without);
- an alert shows in the page within 1 s of its publication (the ZeroMQ
  subscriber's receipt time against the moment the row is in the DOM);
  camera names are shown as text, never as markup; critical alerts sound;
- an acknowledgement in browser A shows in browser B within 1 s;
  an unacknowledged alert escalates when its response time is up
  (key sites: 3 s here), an acknowledged one does not;
- a district-limited operator's page, event stream and API hold nothing of
  the other districts;
- the walker's clip plays in the page while it is still being recorded,
  and once complete it plays and seeks; the snapshot shows its boxes;
- path traversal in media and static URLs, cross-site POSTs, oversized and
  malformed requests are refused and the console keeps serving.

Screenshots of the live, replay, wall and response views go to
build/console-*.png.
"""
import http.client
import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest
import zmq

from conftest import (BUILD, ROOT, Camsim, Proc, Subscriber, Vigild, free_port,
                      sanitizer_reports, scene, write_config)

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
CONSOLE = os.path.join(BUILD, "vigil-console")
VIGILCTL = os.path.join(BUILD, "vigilctl")
SHOTS = os.path.join(ROOT, "build")
KEY_TARGET = 3          # seconds: response target of key sites in this test
NODE = "n1"

try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    HAVE_SELENIUM = True
except ImportError:
    HAVE_SELENIUM = False

pytestmark = pytest.mark.skipif(
    not (HAVE_SELENIUM and os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)),
    reason="needs Debian's chromium, chromium-driver and python3-selenium "
           "(scripts/install-deps.sh)")

PASSWORDS = {"alice": "alice-correct-horse", "bob": "bob-battery-staple",
             "carol": "carol-gusu-only-1"}


# ---------------------------------------------------------------- helpers

def wait_for(pred, timeout, what, step=0.05):
    """Poll pred until it returns something true; its value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError("%s: not within %.1f s" % (what, timeout))
        time.sleep(step)


class Http:
    """Plain HTTP to the console, with or without a session."""

    def __init__(self, port):
        self.port = port
        self.cookie = None
        self.csrf = None

    def request(self, method, path, body=None, headers=None, raw_body=None):
        h = dict(headers or {})
        if self.cookie:
            h.setdefault("Cookie", self.cookie)
        data = raw_body
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            # skip_host etc. not needed; the path goes out byte for byte
            c.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                c.putheader(k, v)
            if data is not None:
                c.putheader("Content-Length", str(len(data)))
            c.endheaders()
            if data is not None:
                c.send(data)
            r = c.getresponse()
            payload = r.read()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), payload
        finally:
            c.close()

    def json(self, method, path, body=None, headers=None):
        st, hd, payload = self.request(method, path, body, headers)
        try:
            return st, json.loads(payload) if payload else None
        except ValueError:
            return st, None

    def login(self, user, password):
        st, hd, payload = self.request("POST", "/api/login", {"user": user, "password": password})
        if st != 200:
            return st, None
        cookie = hd.get("set-cookie", "")
        self.cookie = cookie.split(";", 1)[0]
        me = json.loads(payload)
        self.csrf = me["csrf"]
        return st, (me, cookie)

    def post(self, path, body, headers=None):
        h = {"X-CSRF-Token": self.csrf or ""}
        h.update(headers or {})
        return self.json("POST", path, body, h)


def iso_now():
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + ".%03dZ" % (now % 1 * 1000)


class Injector:
    """Alerts of made-up cameras, given to vigild's relay the way a worker
    does (DEALER on DATA_DIR/relay.ipc, kept and resent until acknowledged);
    the relay numbers, journals and publishes them like any other."""

    def __init__(self, data_dir):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect("ipc://%s/relay.ipc" % data_dir)
        self.n = 0
        self.boot = os.urandom(4).hex()

    def send(self, camera, district="xiangcheng", grid="g07", severity="critical",
             site="key", name=None, type_="motion", zone="gate"):
        self.n += 1
        ident = "%s-%s-%d" % (camera, self.boot, self.n)
        topic = "alert.%s.%s.%s.%s.%s" % (severity, district, grid, camera, type_)
        payload = {
            "id": ident, "phase": "start", "type": type_, "severity": severity,
            "camera": camera, "name": name or ("Camera " + camera), "district": district,
            "grid": grid, "site": site,
            "ts": iso_now(),
            "score": 0.8, "zone": zone, "boxes": [[0.25, 0.5, 0.1, 0.3]],
            "clip": None, "snapshot": None}
        key = ("web-%s-%d" % (self.boot, self.n)).encode()
        msg = [key, topic.encode(), json.dumps(payload, separators=(",", ":")).encode()]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self.sock.send_multipart(msg)
            if self.sock.poll(1000):
                frames = self.sock.recv_multipart()
                if frames[0] == key:
                    return ident
        raise AssertionError("the relay did not take alert %s" % ident)

    def close(self):
        self.sock.close()
        self.ctx.term()


class SubscriberThread:
    """A ZeroMQ subscriber polled continuously, so that each alert's
    receipt time is taken when it arrives."""

    def __init__(self, endpoint):
        self.sub = Subscriber(endpoint)
        self.stop = threading.Event()
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop.is_set():
            self.sub.poll(0.05)

    def wait(self, pred, timeout):
        def find():
            for a in list(self.sub.alerts):
                if pred(a):
                    return a
            return None
        return wait_for(find, timeout, "alert on the subscriber")

    def close(self):
        self.stop.set()
        self.t.join(5)
        self.sub.close()


def new_browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1400,1000", "--mute-audio",
              "--autoplay-policy=no-user-gesture-required"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=o)


# In-page clock of what appears: the moment (Date.now(), same host clock as
# the test's time.time()) a row of a camera is in the list, is acknowledged,
# is escalated. A MutationObserver takes it as it happens.
OBSERVE = """
if (!window.__obs) {
  window.__t = {};
  const scan = function () {
    for (const li of document.querySelectorAll('#alerts li.alert')) {
      const c = li.dataset.camera;
      if (!c) continue;
      const now = Date.now();
      if (!(c in __t)) __t[c] = now;
      if (li.classList.contains('acked') && !(('ack:' + c) in __t)) __t['ack:' + c] = now;
      if (li.classList.contains('escalated') && !(('esc:' + c) in __t)) __t['esc:' + c] = now;
    }
  };
  window.__obs = new MutationObserver(scan);
  window.__obs.observe(document.getElementById('alerts'),
    {childList: true, subtree: true, attributes: true, attributeFilter: ['class']});
  scan();
}
"""


def seen_at(drv, what):
    return drv.execute_script("return window.__t ? window.__t[arguments[0]] || null : null;", what)


def row_of(drv, camera):
    rows = drv.find_elements(By.CSS_SELECTOR, '#alerts li.alert[data-camera="%s"]' % camera)
    return rows[0] if rows else None


def browser_login(drv, base, user, password):
    drv.get(base + "/login")
    drv.find_element(By.ID, "login-user").send_keys(user)
    drv.find_element(By.ID, "login-password").send_keys(password)
    drv.find_element(By.ID, "login-submit").click()
    wait_for(lambda: drv.execute_script(
        "return location.pathname === '/' && document.body.dataset.ready === '1';"),
        10, "%s signed in" % user)
    wait_for(lambda: drv.execute_script(
        "return document.getElementById('conn').dataset.state === 'live';"),
        10, "%s's event stream open" % user)
    drv.execute_script(OBSERVE)


def script_errors(drv):
    """The page's errors so far: exceptions, CSP violations (not failed
    requests, which the tests make on purpose)."""
    return [e for e in drv.get_log("browser")
            if e.get("level") == "SEVERE" and e.get("source") != "network"]


def shot(drv, name):
    path = os.path.join(SHOTS, "console-%s.png" % name)
    drv.save_screenshot(path)
    assert os.path.getsize(path) > 10000, path


# ---------------------------------------------------------------- set-up

class Stack:
    pass


def add_user(db, name, role, districts=None):
    args = [VIGILCTL, "user", "add", name, "--role", role, "--db", db]
    if districts:
        args += ["--districts", districts]
    r = subprocess.run(args, input=PASSWORDS[name] + "\n", capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 0, r.stderr


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console")
    started = []
    drivers = []
    s = Stack()
    try:
        walker = scene("walker")
        cam = Camsim({"walker": walker["file"]})
        started.append(cam)
        s.data = str(tmp / "data")
        s.publish = "tcp://127.0.0.1:%d" % free_port()
        replay = "tcp://127.0.0.1:%d" % free_port()
        s.http_port = free_port()
        token = tmp / "node.token"
        token.write_text(os.urandom(16).hex() + "\n")
        os.chmod(str(token), 0o600)
        conf = write_config(
            str(tmp / "vigil.conf"),
            [dict(id="camw", name="Walker street", district="xiangcheng", grid="g01",
                  site="key", url=cam.url("walker")),
             # nothing answers there: a camera that is down
             dict(id="camd", name="Dead end", district="gusu", grid="g09", site="normal",
                  url="rtsp://127.0.0.1:%d/none" % free_port())],
            s.publish, s.data, workers=1, instance="web", replay=replay)
        with open(conf, "a") as f:
            f.write("recording = { pre_seconds = 2; post_seconds = 2; };\n")
            f.write('http = { port = %d; token_file = "%s"; };\n' % (s.http_port, token))
        s.sub = SubscriberThread(s.publish)
        s.vigild = Vigild(conf)
        started.append(s.vigild)
        s.vigild.wait_line(lambda l: "relay: publishing alerts on" in l, 20)
        wait_for(lambda: s.sub.sub.heartbeats, 10, "heartbeat on the subscriber")

        db = str(tmp / "console.db")
        add_user(db, "alice", "supervisor")
        add_user(db, "bob", "supervisor")
        add_user(db, "carol", "operator", "gusu")
        s.port = free_port()
        cconf = tmp / "console.conf"
        cconf.write_text(
            'listen = { bind = "127.0.0.1"; port = %d; };\n'
            'db = "%s";\nweb_root = "%s";\n'
            'response_targets = { key = %d; public = 180; normal = 600; };\n'
            'nodes = ( { name = "%s"; alerts = "%s"; replay = "%s"; '
            'http = "http://127.0.0.1:%d"; token_file = "%s"; } );\n'
            % (s.port, db, os.path.join(ROOT, "web"), KEY_TARGET, NODE, s.publish, replay,
               s.http_port, token))
        s.console = Proc([CONSOLE, "-c", str(cconf)], "vigil-console")
        started.append(s.console)
        s.base = "http://127.0.0.1:%d" % s.port

        def up():
            try:
                return Http(s.port).request("GET", "/login")[0] == 200
            except OSError:
                assert s.console.p.poll() is None, s.console.text()
                return False
        wait_for(up, 15, "console serving")
        s.inject = Injector(s.data)

        s.a, s.b = new_browser(), new_browser()
        drivers += [s.a, s.b]
        s.new_browser = lambda: drivers.append(new_browser()) or drivers[-1]
        yield s
    finally:
        for d in drivers:
            try:
                d.quit()
            except Exception:
                pass
        if hasattr(s, "inject"):
            s.inject.close()
        if hasattr(s, "sub"):
            s.sub.close()
        for p in reversed(started):
            p.stop()
        reports = [(p.name, l) for p in started for l in sanitizer_reports(p)]
        assert not reports, "sanitizer reports:\n" + "\n".join("%s: %s" % r for r in reports)


# ---------------------------------------------------------------- tests

def test_login_and_unauthenticated_requests(stack):
    anon = Http(stack.port)
    for path in ("/api/me", "/api/alerts", "/api/events", "/api/cameras",
                 "/api/stats/response", "/media/%s/clips/camw/x.mp4" % NODE,
                 "/media/%s/picture/camw.jpg" % NODE):
        st, _, _ = anon.request("GET", path)
        assert st == 401, (path, st)
    st, _, _ = anon.request("POST", "/api/ack", {"key": "x", "note": ""})
    assert st in (401, 403), st

    st, _ = Http(stack.port).login("alice", "not-the-password")
    assert st == 401
    st, got = Http(stack.port).login("alice", PASSWORDS["alice"])
    assert st == 200, st
    me, cookie = got
    assert me["user"] == "alice" and me["role"] == "supervisor" and me["csrf"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie, cookie

    a = stack.a
    a.get(stack.base + "/")
    wait_for(lambda: a.current_url.endswith("/login"), 10, "unauthenticated page sent to /login")
    a.find_element(By.ID, "login-user").send_keys("alice")
    a.find_element(By.ID, "login-password").send_keys("wrong-password")
    a.find_element(By.ID, "login-submit").click()
    err = wait_for(lambda: a.find_element(By.ID, "login-error").is_displayed()
                   and a.find_element(By.ID, "login-error").text, 10, "login error shown")
    assert "wrong" in err.lower(), err
    assert a.current_url.endswith("/login")
    browser_login(a, stack.base, "alice", PASSWORDS["alice"])
    # the session cookie is not visible to scripts
    name = cookie.split("=", 1)[0].strip()
    assert name and name not in a.execute_script("return document.cookie;")
    browser_login(stack.b, stack.base, "bob", PASSWORDS["bob"])


def test_alert_shows_within_a_second(stack):
    a = stack.a
    critical = "return Number(document.body.dataset.beepsCritical || 0);"
    beeps = a.execute_script(critical)
    name = '<img src=x onerror="window.__xss=1">Gate "7" & <b>bold</b>'
    cam = "webcam1"
    ident = stack.inject.send(cam, name=name)
    got = stack.sub.wait(lambda x: x["id"] == ident, 5)
    shown = wait_for(lambda: seen_at(a, cam), 5, "row of %s in the page" % cam, step=0.02)
    latency = shown / 1000.0 - got["_received"]
    print("publish-to-page latency %.3f s" % latency)
    assert latency < 1.0, latency

    row = row_of(a, cam)
    assert row.get_attribute("data-severity") == "critical"
    assert row.find_element(By.CSS_SELECTOR, ".cam").text == name
    assert row.find_elements(By.CSS_SELECTOR, ".cam *") == []
    assert a.execute_script("return window.__xss === undefined;")
    assert "xiangcheng / g07" in row.text and "gate" in row.text and "motion" in row.text
    assert a.execute_script(critical) > beeps, "no sound on a critical alert"
    # newest first (by the time of each event's first alert)
    firsts = a.execute_script(
        "return Array.from(document.querySelectorAll('#alerts li.alert'), r => r.dataset.first);")
    assert len(firsts) >= 1 and firsts == sorted(firsts, reverse=True), firsts

    # the filters hide and show it
    a.execute_script("""
        const s = document.getElementById('f-severity'); s.value = 'medium';
        s.dispatchEvent(new Event('change', {bubbles: true}));""")
    assert not row_of(a, cam).is_displayed()
    a.execute_script("""
        const s = document.getElementById('f-severity'); s.value = '';
        s.dispatchEvent(new Event('change', {bubbles: true}));""")
    assert row_of(a, cam).is_displayed()


def test_ack_in_one_browser_shows_in_another(stack):
    a, b = stack.a, stack.b
    cam = "webcam2"
    ident = stack.inject.send(cam, district="xiangcheng", grid="g02")
    stack.sub.wait(lambda x: x["id"] == ident, 5)
    wait_for(lambda: seen_at(a, cam) and seen_at(b, cam), 5, "row in both browsers")
    row = row_of(a, cam)
    key = row.get_attribute("data-key")
    assert key and row_of(b, cam).get_attribute("data-key") == key
    row.find_element(By.CSS_SELECTOR, ".ack-note").send_keys("patrol 12 sent")
    clicked = a.execute_script("""
        const btn = arguments[0].querySelector('.ack-btn');
        const t = Date.now(); btn.click(); return t;""", row)
    acked_b = wait_for(lambda: seen_at(b, "ack:" + cam), 5, "ack shown in browser B", step=0.02)
    print("ack A->B %.3f s" % ((acked_b - clicked) / 1000.0))
    assert acked_b - clicked < 1000
    rb = row_of(b, cam)
    assert "alice" in rb.find_element(By.CSS_SELECTOR, ".ack-by").text
    assert "patrol 12 sent" in rb.find_element(By.CSS_SELECTOR, ".ack-note-text").text
    wait_for(lambda: seen_at(a, "ack:" + cam), 5, "ack shown in browser A")
    assert rb.find_elements(By.CSS_SELECTOR, ".ack-btn") == []

    # the acknowledgement is stored: a second one is refused, the API shows it
    bob = Http(stack.port)
    bob.login("bob", PASSWORDS["bob"])
    st, body = bob.post("/api/ack", {"key": key, "note": "me too"})
    assert st == 409, (st, body)
    st, body = bob.json("GET", "/api/alerts?camera=" + cam)
    assert st == 200
    acks = [x["ack"] for x in body["alerts"] if x["key"] == key]
    assert acks and acks[0]["user"] == "alice" and acks[0]["note"] == "patrol 12 sent"
    stack.acked_cam = cam


def test_unacknowledged_alert_escalates_when_due(stack):
    a = stack.a
    cam = "webcam3"
    ident = stack.inject.send(cam, severity="high", site="public", district="xiangcheng")
    cam_key = "webcam4"
    ident_key = stack.inject.send(cam_key, severity="critical", site="key")
    stack.sub.wait(lambda x: x["id"] == ident_key, 5)
    wait_for(lambda: seen_at(a, cam) and seen_at(a, cam_key), 5, "rows shown")
    due = row_of(a, cam_key).get_attribute("data-due")
    count = "return Number(document.body.dataset.beepsEscalation || 0);"
    beeps = a.execute_script(count)
    esc = wait_for(lambda: seen_at(a, "esc:" + cam_key), KEY_TARGET + 5, "escalation")
    due_ms = a.execute_script("return Date.parse(arguments[0]);", due)
    print("escalated %.3f s after due" % ((esc - due_ms) / 1000.0))
    assert 0 <= esc - due_ms <= 1500, (esc, due_ms)
    row = row_of(a, cam_key)
    assert "escalated" in row.get_attribute("class")
    assert a.execute_script(count) > beeps, "escalation not sounded"
    # a public site's alert (180 s) has not escalated; nor has the acknowledged one
    assert seen_at(a, "esc:" + cam) is None
    assert "escalated" not in row_of(a, cam).get_attribute("class")
    acked = getattr(stack, "acked_cam", None)
    if acked:
        assert seen_at(a, "esc:" + acked) is None
    # escalated in the other browser too (each page checks on its own)
    wait_for(lambda: seen_at(stack.b, "esc:" + cam_key), 3, "escalation in browser B")
    shot(a, "live")

    # acknowledged late: no longer highlighted, in either browser
    row.find_element(By.CSS_SELECTOR, ".ack-btn").click()
    for drv in (a, stack.b):
        wait_for(lambda: seen_at(drv, "ack:" + cam_key), 3, "late ack shown")
        assert "escalated" not in row_of(drv, cam_key).get_attribute("class")
    bob = Http(stack.port)
    bob.login("bob", PASSWORDS["bob"])
    st, _ = bob.post("/api/ack", {"key": row_of(a, cam).get_attribute("data-key"), "note": ""})
    assert st == 200
    wait_for(lambda: seen_at(a, "ack:" + cam), 3, "bob's ack shown to alice")


def test_district_limited_operator_sees_only_its_districts(stack):
    c = stack.new_browser()
    browser_login(c, stack.base, "carol", PASSWORDS["carol"])
    carol = Http(stack.port)
    carol.login("carol", PASSWORDS["carol"])

    other = "webcamx"      # xiangcheng
    mine = "webcamg"       # gusu
    # carol's raw event stream, read in a thread for the length of the test
    lines = []
    stop = threading.Event()

    def read_stream():
        # until carol's own alert (published last) has come, for at most 10 s
        conn = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=10)
        try:
            conn.request("GET", "/api/events", headers={"Cookie": carol.cookie,
                                                        "Accept": "text/event-stream"})
            r = conn.getresponse()
            lines.append("status %d" % r.status)
            while not stop.is_set():
                line = r.readline()
                if not line:
                    break
                lines.append(line.decode("utf-8", "replace").rstrip("\n"))
                if mine in lines[-1]:
                    break
        except OSError as e:
            lines.append("error %s" % e)
        finally:
            conn.close()
    t = threading.Thread(target=read_stream, daemon=True)
    t.start()
    wait_for(lambda: lines, 5, "carol's event stream answered")
    assert lines[0] == "status 200", lines

    stack.inject.send(other, district="xiangcheng", severity="critical")
    ident = stack.inject.send(mine, district="gusu", grid="g03", severity="high", site="public")
    stack.sub.wait(lambda x: x["id"] == ident, 5)
    wait_for(lambda: seen_at(c, mine), 5, "gusu alert in carol's page")
    wait_for(lambda: any(mine in l for l in lines), 5, "gusu alert in carol's stream")
    # the xiangcheng alert was published first: by now it reached the others
    wait_for(lambda: seen_at(stack.a, other), 5, "xiangcheng alert in alice's page")
    stop.set()
    t.join(5)

    districts = c.execute_script(
        "return Array.from(document.querySelectorAll('#alerts li.alert'), r => r.dataset.district);")
    assert districts and set(districts) == {"gusu"}, districts
    data = [l for l in lines if l.startswith("data:")]
    assert data and not any("xiangcheng" in l for l in data), data
    st, body = carol.json("GET", "/api/alerts")
    assert st == 200 and {x["district"] for x in body["alerts"]} == {"gusu"}, body
    st, body = carol.json("GET", "/api/alerts?district=xiangcheng")
    assert st in (200, 403) and (st == 403 or body["alerts"] == []), body
    # nor can carol acknowledge someone else's alert
    st, body = Http(stack.port).json("GET", "/api/alerts")  # no session
    assert st == 401
    alice = Http(stack.port)
    alice.login("alice", PASSWORDS["alice"])
    st, body = alice.json("GET", "/api/alerts?camera=" + other)
    key = body["alerts"][0]["key"]
    st, body = carol.post("/api/ack", {"key": key, "note": ""})
    assert st in (403, 404), (st, body)
    c.quit()


def video_state(drv):
    return drv.execute_script("""
        const v = document.getElementById('replay-video');
        return {t: v.currentTime, err: v.error ? v.error.code : null, ready: v.readyState,
                duration: v.duration, paused: v.paused, src: v.currentSrc};""")


def test_clip_plays_while_recording_and_seeks(stack):
    a = stack.a
    # a new event of the walker (one every 16 s), so that its clip is
    # still being recorded when the page opens it
    begin = time.time()
    start = stack.sub.wait(lambda x: x["camera"] == "camw" and x["type"] == "motion"
                           and x["phase"] == "start" and x.get("clip")
                           and x["_received"] > begin, 25)
    clip = start["clip"]
    alice = Http(stack.port)
    alice.login("alice", PASSWORDS["alice"])
    key = wait_for(lambda: next((x["key"] for x in alice.json(
        "GET", "/api/alerts?camera=camw")[1]["alerts"] if x["id"] == start["id"]), None),
        5, "walker alert in the console")
    st, _, _ = Http(stack.port).request("GET", "/media/%s/clips/%s" % (NODE, clip))
    assert st == 401

    a.get(stack.base + "/#replay/" + urllib.request.quote(key, safe=""))
    complete = "camw: clip %s complete" % clip
    wait_for(lambda: video_state(a)["t"] > 0.5, 15, "recording clip playing")
    still_recording = complete not in stack.vigild.text()
    print("clip playing %.1f s after its start alert; recording: %s; %s" % (
        time.time() - start["_received"], still_recording, video_state(a)))
    st = video_state(a)
    assert st["err"] is None, st
    assert st["src"].endswith("/media/%s/clips/%s" % (NODE, clip)), st
    # the snapshot with its boxes
    wait_for(lambda: a.execute_script(
        "return document.getElementById('replay-snapshot').naturalWidth;") == 1280,
        10, "snapshot loaded")
    assert start["boxes"] and len(a.find_elements(By.CSS_SELECTOR, "#snap-boxes .box")) >= 1
    href = a.find_element(By.ID, "replay-download").get_attribute("href")
    assert href.endswith("/media/%s/clips/%s" % (NODE, clip))
    shot(a, "replay")
    assert still_recording, "the clip was complete before it played: nothing shown " \
        "about a clip being recorded"

    # complete: play from the start, seek, the position holds
    stack.vigild.wait_seen(lambda l: complete in l, 30)
    a.refresh()             # a new page, a new video element
    wait_for(lambda: video_state(a)["ready"] >= 2 and video_state(a)["t"] > 0.2, 15,
             "complete clip playing")
    dur = video_state(a)["duration"]
    target = min(4.0, dur - 1.0) if dur == dur and dur not in (None, float("inf")) else 4.0
    a.execute_script("""
        const v = document.getElementById('replay-video');
        v.pause(); window.__seeked = false;
        v.addEventListener('seeked', () => { window.__seeked = true; }, {once: true});
        v.currentTime = arguments[0];""", target)
    wait_for(lambda: a.execute_script("return window.__seeked;"), 10, "seeked")
    t1 = video_state(a)["t"]
    assert abs(t1 - target) < 0.25, (t1, target)
    time.sleep(0.3)   # paused: the position must not move (not a synchronisation)
    st = video_state(a)
    assert abs(st["t"] - target) < 0.25 and st["err"] is None, st
    a.execute_script("document.getElementById('replay-video').play();")
    wait_for(lambda: video_state(a)["t"] > target + 0.3, 10, "plays on after the seek")
    assert video_state(a)["err"] is None

    # the bytes are the clip's, with ranges
    path = os.path.join(stack.data, "clips", clip)
    st, hd, body = alice.request("GET", "/media/%s/clips/%s" % (NODE, clip),
                                 headers={"Range": "bytes=100-199"})
    assert st == 206 and len(body) == 100, (st, hd)
    with open(path, "rb") as f:
        f.seek(100)
        assert f.read(100) == body
    stack.clip = clip


def test_camera_wall_and_response_panel(stack):
    a = stack.a
    a.get(stack.base + "/#wall")
    card = wait_for(lambda: a.find_elements(
        By.CSS_SELECTOR, '#wall .camera[data-camera="camw"][data-state="streaming"]'),
        15, "camw streaming on the wall")[0]
    assert "Walker street" in card.text and "fps" in card.text
    last = card.find_element(By.CSS_SELECTOR, ".last-alert").text
    assert "object" not in last and ("none" in last or ":" in last), last
    card.find_element(By.CSS_SELECTOR, ".picture-btn").click()
    wait_for(lambda: a.execute_script(
        "const i = document.querySelector('#wall .camera[data-camera=\"camw\"] .picture img');"
        "return i && i.complete && i.naturalWidth > 0;"), 10, "latest picture")
    cards = a.execute_script("return Array.from(document.querySelectorAll('#wall .camera'),"
                             " c => [c.dataset.camera, c.dataset.state]);")
    assert [c for c, _ in cards] == ["camd", "camw"], cards      # down first
    assert cards[0][1] in ("down", "connecting"), cards
    shot(a, "wall")

    a.get(stack.base + "/#response")
    wait_for(lambda: a.execute_script(
        "return document.getElementById('response-body').dataset.loaded;"), 10, "figures")
    key_row = a.find_element(By.CSS_SELECTOR, '#response-body tr[data-site="key"]')
    n_today = int(key_row.find_element(By.CSS_SELECTOR, "td.today.n").text)
    assert n_today >= 2, key_row.text      # the acknowledgements made above
    assert key_row.find_element(By.CSS_SELECTOR, "td.target").text == "%d s" % KEY_TARGET
    # one key-site ack within 3 s, one after: half within the target
    within = key_row.find_element(By.CSS_SELECTOR, "td.today.within").text
    assert within != "100 %" and within.endswith("%"), within
    public = a.find_element(By.CSS_SELECTOR, '#response-body tr[data-site="public"]')
    assert public.find_element(By.CSS_SELECTOR, "td.today.n").text == "1", public.text
    assert public.find_element(By.CSS_SELECTOR, "td.today.within").text == "100 %"
    assert key_row.find_element(By.CSS_SELECTOR, "td.today.median").text.endswith("s")
    assert key_row.find_element(By.CSS_SELECTOR, "td.week.within").text.endswith("%")
    shot(a, "response")

    # search by camera
    a.get(stack.base + "/#search")
    a.find_element(By.ID, "s-camera").send_keys("webcam2")
    a.find_element(By.ID, "s-submit").click()
    wait_for(lambda: a.execute_script(
        "return document.getElementById('search-results').dataset.loaded;"), 10, "search")
    cams = a.execute_script("return Array.from(document.querySelectorAll("
                            "'#search-results tr'), r => r.dataset.camera);")
    assert cams and set(cams) == {"webcam2"}, cams
    # by type and time range: a tamper alert since an hour ago, nothing
    # from an hour ahead on
    ident = stack.inject.send("webcam7", type_="tamper.covered", severity="high", site="public")
    stack.sub.wait(lambda x: x["id"] == ident, 5)
    def search(**fields):
        a.execute_script(
            "document.getElementById('search-results').dataset.loaded = '';"
            "for (const [k, v] of Object.entries(arguments[0]))"
            "  document.getElementById('s-' + k).value = v;"
            "document.getElementById('s-submit').click();", fields)
        wait_for(lambda: a.execute_script(
            "return document.getElementById('search-results').dataset.loaded;"), 10, "search")
        return a.execute_script("return Array.from(document.querySelectorAll("
                                "'#search-results tr'), r => r.dataset.camera);")
    local = ("return (function (d) { d.setMinutes(d.getMinutes() - d.getTimezoneOffset());"
             " return d.toISOString().slice(0, 19); })(new Date(Date.now() + arguments[0]));")
    hour_ago, hour_ahead = a.execute_script(local, -3600e3), a.execute_script(local, 3600e3)
    cams = wait_for(lambda: search(camera="", type="tamper.covered", **{"from": hour_ago}),
                    5, "tamper alert found")
    assert cams == ["webcam7"], cams
    assert search(type="", **{"from": "", "to": hour_ago}) == []
    assert search(type="", to="", **{"from": hour_ahead}) == []
    assert "0 alerts" in a.find_element(By.ID, "search-status").text

    # a phone: nothing wider than the screen
    a.set_window_size(390, 844)
    try:
        for view in ("live", "wall", "response"):
            a.get(stack.base + "/#" + view)
            wait_for(lambda: a.execute_script(
                "return document.body.dataset.view === arguments[0];", view), 5, view)
            over = a.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth;")
            assert over <= 0, "%s view %d px wider than a phone" % (view, over)
            if view == "live":
                shot(a, "phone")
    finally:
        a.set_window_size(1400, 1000)


def test_hostile_requests_are_refused(stack):
    alice = Http(stack.port)
    alice.login("alice", PASSWORDS["alice"])
    clip = getattr(stack, "clip", "camw/x.mp4")
    day = os.path.dirname(clip)
    for path in ("/media/%s/clips/../../../../etc/passwd" % NODE,
                 "/media/%s/clips/%%2e%%2e/%%2e%%2e/journal.db" % NODE,
                 "/media/%s/clips/%s/..%%2f..%%2f..%%2fjournal.db" % (NODE, day),
                 "/media/%s/clips//etc/passwd" % NODE,
                 "/media/%s/clips/%%2fetc%%2fpasswd" % NODE,
                 "/media/%s/picture/..%%2f..%%2fjournal.db" % NODE,
                 "/media/..%2f..%2fetc/clips/passwd",
                 "/static/../../../etc/passwd",
                 "/static/%2e%2e/Makefile",
                 "/static/..%2f..%2fconsole.db"):
        st, _, body = alice.request("GET", path)
        assert st in (400, 403, 404), (path, st)
        assert b"root:" not in body and b"SQLite" not in body, path

    # another district's clip, snapshot and picture: not for carol
    carol = Http(stack.port)
    carol.login("carol", PASSWORDS["carol"])
    if hasattr(stack, "clip"):
        assert alice.request("GET", "/media/%s/clips/%s" % (NODE, clip),
                             headers={"Range": "bytes=0-99"})[0] == 206
        for path in (clip, clip[:-4] + ".jpg"):
            st, _, _ = carol.request("GET", "/media/%s/clips/%s" % (NODE, path))
            assert st in (403, 404), (path, st)
    assert alice.request("GET", "/media/%s/picture/camw.jpg" % NODE)[0] == 200
    st, _, _ = carol.request("GET", "/media/%s/picture/camw.jpg" % NODE)
    assert st in (403, 404), st

    # cross-site POSTs: no token, a wrong token, a foreign origin
    cam = "webcam5"
    stack.inject.send(cam)
    key = wait_for(lambda: next((x["key"] for x in alice.json(
        "GET", "/api/alerts?camera=" + cam)[1]["alerts"]), None), 5, "alert stored")
    st, _ = alice.json("POST", "/api/ack", {"key": key, "note": "x"})
    assert st == 403, st
    st, _ = alice.json("POST", "/api/ack", {"key": key, "note": "x"},
                       {"X-CSRF-Token": "0" * 32})
    assert st == 403, st
    st, _ = alice.post("/api/ack", {"key": key, "note": "x"},
                       {"Origin": "http://evil.example"})
    assert st == 403, st
    st, _ = alice.post("/api/logout", {}, {"Origin": "http://evil.example"})
    assert st == 403, st
    st, body = alice.json("GET", "/api/alerts?camera=" + cam)
    assert body["alerts"][0]["ack"] is None

    # malformed and oversized
    st, _, _ = alice.request("POST", "/api/ack", raw_body=b"{\"key\": ",
                             headers={"X-CSRF-Token": alice.csrf,
                                      "Content-Type": "application/json"})
    assert st == 400, st
    st, _, _ = alice.request("POST", "/api/ack", raw_body=b"[1,2,3]",
                             headers={"X-CSRF-Token": alice.csrf,
                                      "Content-Type": "application/json"})
    assert st == 400, st
    big = b'{"user":"alice","password":"' + b"a" * (1 << 20) + b'"}'
    try:
        st, _, _ = alice.request("POST", "/api/login", raw_body=big,
                                 headers={"Content-Type": "application/json"})
        assert st in (400, 413), st
    except (ConnectionError, BrokenPipeError, http.client.HTTPException):
        pass        # cut off mid-body: refused too
    for raw in (b"GARBAGE\r\n\r\n", b"GET /login HTTP/1.1\r\nHost: x\r\nX-Big: " +
                b"b" * (256 << 10) + b"\r\n\r\n", b"\x00\x01\x02\xff\r\n\r\n"):
        s = socket.create_connection(("127.0.0.1", stack.port), timeout=5)
        try:
            s.sendall(raw)
            reply = s.recv(64)
        except (ConnectionError, socket.timeout):
            reply = b""
        finally:
            s.close()
        assert not reply.startswith(b"HTTP/1.1 200") and not reply.startswith(b"HTTP/1.0 200"), \
            (raw[:20], reply)

    # still serving: pages, API, live alerts in the browser
    assert stack.console.p.poll() is None, stack.console.text()
    assert Http(stack.port).request("GET", "/login")[0] == 200
    st, me = alice.json("GET", "/api/me")
    assert st == 200 and me["user"] == "alice"
    st, _ = alice.post("/api/ack", {"key": key, "note": "after the noise"})
    assert st == 200, st
    a = stack.a
    a.get(stack.base + "/#live")
    wait_for(lambda: a.execute_script("return document.body.dataset.ready === '1';"), 10, "page")
    a.execute_script(OBSERVE)
    cam = "webcam6"
    stack.inject.send(cam)
    wait_for(lambda: seen_at(a, cam), 5, "alert after the hostile requests")


def test_sign_out(stack):
    b = stack.b
    b.get(stack.base + "/#live")
    wait_for(lambda: b.execute_script("return document.body.dataset.ready === '1';"), 10, "page")
    b.find_element(By.ID, "logout").click()
    wait_for(lambda: b.current_url.endswith("/login"), 10, "signed out to /login")
    b.get(stack.base + "/")
    wait_for(lambda: b.current_url.endswith("/login"), 10, "no way back without signing in")
    st = b.execute_script(
        "return fetch('/api/me', {credentials: 'same-origin'}).then(r => r.status);")
    assert st == 401


def test_no_script_errors(stack):
    """Nothing the pages did raised an error or broke their CSP."""
    for drv in (stack.a, stack.b):
        errors = script_errors(drv)
        assert not errors, errors
