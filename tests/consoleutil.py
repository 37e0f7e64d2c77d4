"""Helpers for the console tests: a real vigil-console following real
vigild instances (relayutil.Instance, alerts from alertgen), users made
with vigilctl user, and HTTP clients on http.client (one per session,
with its cookie), including an event-stream reader."""
import http.client
import json
import os
import socket
import subprocess
import time

from alertgen import AlertGen
from conftest import BUILD, Proc, free_port

CONSOLE = os.path.join(BUILD, "vigil-console")
VIGILCTL = os.path.join(BUILD, "vigilctl")


def add_user(db, name, password, role="operator", districts=None, action="add"):
    args = [VIGILCTL, "user", action, name, "--db", db]
    if role and action == "add":
        args += ["--role", role]
    if districts and action == "add":
        args += ["--districts", districts]
    return subprocess.run(args, input=password + "\n", capture_output=True, text=True,
                          timeout=30)


class Gen(AlertGen):
    """alertgen with event ids unique per district (its own ids are not),
    site classes to match the severities, and optionally clip and
    snapshot paths."""

    clips = False

    def message(self, n):
        topic, payload = super().message(n)
        p = json.loads(payload)
        p["id"] = "%s-%s" % (self.district, p["id"])
        p["site"] = ("key", "public", "normal")[n % 3]
        if self.clips:
            p["clip"] = "%s/%s.mp4" % (p["camera"], p["id"])
            p["snapshot"] = "%s/%s.jpg" % (p["camera"], p["id"])
        return [topic, json.dumps(p, separators=(",", ":")).encode()]


def send_alerts(inst, count, district, timeout=30, clips=False, **kw):
    g = Gen(inst.data, count, district=district, **kw)
    g.clips = clips
    g.run(time.monotonic() + timeout)
    assert g.done(), g.status()
    g.close()


def write_console_config(path, port, db, web_root, nodes, client_key=None, extra="", tls=None):
    """tls: (certificate file, key file) or None."""
    tls_conf = ' tls_cert = "%s"; tls_key = "%s";' % tls if tls else ""
    lines = ['listen = { bind = "127.0.0.1"; port = %d;%s };' % (port, tls_conf),
             'db = "%s";' % db, 'web_root = "%s";' % web_root]
    if client_key:
        lines.append('client_key = "%s";' % client_key)
    lines.append('response_targets = { key = 60; public = 180; normal = 600; };')
    lines.append(extra)
    items = []
    for n in nodes:
        items.append("{ " + " ".join('%s = "%s";' % (k, v) for k, v in n.items()) + " }")
    lines.append("nodes = ( %s );" % ",\n".join(items))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


class Console(Proc):
    """vigil-console, once it serves and (contact=True) has heard from
    its nodes: alerts published from then on reach it live."""

    def __init__(self, config, port, contact=True):
        super().__init__([CONSOLE, "-c", config], "vigil-console")
        self.port = port
        self.wait_line(lambda l: "vigil-console: serving http" in l, 20)
        if contact:
            self.wait_line(lambda l: "in contact with instance" in l, 20)


def web_root(tmp_path):
    """A small web_root: the two pages, a script, and a secret beside it."""
    root = tmp_path / "web"
    (root / "static").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>live</title>")
    (root / "login.html").write_text("<!doctype html><title>login</title>")
    (root / "static" / "app.js").write_text("console.log('vigil');\n")
    (tmp_path / "secret.txt").write_text("SECRET-OUTSIDE")
    os.symlink(str(tmp_path / "secret.txt"), str(root / "static" / "link.txt"))
    return str(root)


class Client:
    """One browser's worth of HTTP: a cookie and the csrf value."""

    def __init__(self, port, origin=True, tls=False):
        self.port = port
        self.cookie = None
        self.csrf = None
        self.tls = tls
        self.origin = "http%s://127.0.0.1:%d" % ("s" if tls else "", port) if origin else None

    def request(self, method, path, body=None, headers=None, raw=None, timeout=10):
        if self.tls:
            import ssl
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        else:
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = {"Host": "127.0.0.1:%d" % self.port}
        if self.cookie:
            h["Cookie"] = self.cookie
        if body is not None:
            raw = json.dumps(body).encode()
        if raw is not None:
            h["Content-Type"] = "application/json"
        if method == "POST":
            if self.csrf:
                h["X-CSRF-Token"] = self.csrf
            if self.origin:
                h["Origin"] = self.origin
        h.update(headers or {})
        c.request(method, path, body=raw, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = None
        return r.status, js, r, data

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body=body, **kw)

    def login(self, user, password):
        status, js, r, _ = self.post("/api/login", {"user": user, "password": password})
        if status == 200:
            cookie = r.getheader("Set-Cookie")
            self.set_cookie = cookie
            self.cookie = cookie.split(";")[0]
            self.csrf = js["csrf"]
        return status, js


class Stream:
    """An open /api/events stream, read as events arrive."""

    def __init__(self, client, headers=None):
        self.sock = socket.create_connection(("127.0.0.1", client.port), timeout=10)
        h = "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % client.port
        if client.cookie:
            h += "Cookie: %s\r\n" % client.cookie
        for k, v in (headers or {}).items():
            h += "%s: %s\r\n" % (k, v)
        self.sock.sendall((h + "Accept: text/event-stream\r\n\r\n").encode())
        self.buf = b""
        self.events = []        # (event, data as JSON, time received)
        self.status = None
        self.text = ""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(head.split()[1]) if head else None
        self.head = head.decode(errors="replace")

    def _parse(self):
        # Chunked transfer: take the text of complete chunks.
        while True:
            line, sep, rest = self.buf.partition(b"\r\n")
            if not sep:
                return
            size = int(line.split(b";")[0], 16)
            if size == 0:
                raise EOFError("stream ended")
            if len(rest) < size + 2:
                return
            self.text += rest[:size].decode()
            self.buf = rest[size + 2:]
            while "\n\n" in self.text:
                block, self.text = self.text.split("\n\n", 1)
                ev, data = "message", None
                for l in block.split("\n"):
                    if l.startswith("event: "):
                        ev = l[7:]
                    elif l.startswith("data: "):
                        data = json.loads(l[6:])
                    elif l.startswith("id: "):
                        self.last_id = l[4:]
                if data is not None:
                    self.events.append((ev, data, time.time()))

    def poll(self, timeout):
        # What came with the response head is parsed first.
        self._parse()
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return
        if not chunk:
            raise EOFError("stream closed")
        self.buf += chunk
        self._parse()

    def wait(self, pred, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for e in self.events:
                if pred(e):
                    return e
            self.poll(max(0.01, min(0.5, deadline - time.monotonic())))
        for e in self.events:
            if pred(e):
                return e
        raise AssertionError("no matching event in %.1f s: %s" % (timeout, self.events[-5:]))

    def close(self):
        self.sock.close()
