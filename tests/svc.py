"""Helpers for the service tests: a NOTIFY_SOCKET listener, a vigild with
a chosen environment, and the daemon's status through vigilctl."""
import json
import os
import socket
import subprocess
import time

from conftest import BUILD, VIGILD, Proc

VIGILCTL = os.path.join(BUILD, "vigilctl")


class NotifyListener:
    """The datagram socket systemd would listen on for sd_notify()."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.messages = []      # (monotonic time, {key: value})
        self.cursor = 0         # messages before it were consumed by wait()

    def poll(self, timeout):
        """Receive for up to timeout seconds; returns the new messages."""
        new = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return new
            self.sock.settimeout(left)
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                return new
            fields = dict(l.split("=", 1) for l in data.split("\n") if "=" in l)
            self.messages.append((time.monotonic(), fields))
            new.append(fields)

    def drain(self):
        """Take every message already queued; returns them."""
        new = []
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(4096).decode()
                new.append(dict(l.split("=", 1) for l in data.split("\n") if "=" in l))
        except BlockingIOError:
            pass
        self.messages += [(time.monotonic(), m) for m in new]
        self.cursor = len(self.messages)
        return new

    def wait(self, pred, timeout):
        """The first message after the previous match that satisfies pred."""
        deadline = time.monotonic() + timeout
        while True:
            while self.cursor < len(self.messages):
                m = self.messages[self.cursor][1]
                self.cursor += 1
                if pred(m):
                    return m
            if time.monotonic() >= deadline:
                break
            self.poll(min(0.5, max(0.0, deadline - time.monotonic())))
        raise AssertionError("no matching sd_notify message within %.0f s; got %s"
                             % (timeout, [m for _, m in self.messages[-20:]]))

    def close(self):
        self.sock.close()


def vigild_args(config):
    """vigild refuses to run as root unless told (tests may run as root)."""
    return [VIGILD, "-c", config] + (["--allow-root"] if os.geteuid() == 0 else [])


def start_vigild(config, **env):
    e = dict(os.environ)
    e.pop("NOTIFY_SOCKET", None)
    e.pop("WATCHDOG_USEC", None)
    e.update(env)
    d = Proc(vigild_args(config), "vigild", env=e)
    d.wait_line(lambda l: "supervisor: status on" in l, 10)
    return d


def status(config):
    """The running daemon's report, as vigilctl status --json prints it."""
    r = subprocess.run([VIGILCTL, "status", "--json", "-c", config],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def wait_status(config, pred, timeout):
    """Poll the status until pred(report) holds; returns the report."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = status(config)
        if pred(last):
            return last
        time.sleep(0.2)
    raise AssertionError("status never matched within %.0f s; last: %s" % (timeout, last))


def cameras(report):
    return {c["id"]: c for c in report["cameras"]}


def all_streaming(ids):
    return lambda r: all(cameras(r).get(i, {}).get("state") == "streaming" for i in ids)


def count_lines(proc, prefix):
    return sum(1 for l in list(proc.lines) if l.startswith(prefix))


def running(pid):
    """Whether pid exists and is not a zombie."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def wait_gone(pids, timeout):
    """Wait until none of pids runs; returns those still running."""
    deadline = time.monotonic() + timeout
    alive = list(pids)
    while alive and time.monotonic() < deadline:
        alive = [p for p in alive if running(p)]
        if alive:
            time.sleep(0.1)
    return alive
