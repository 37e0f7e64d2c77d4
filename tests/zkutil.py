"""A private ZooKeeper for the tests: Debian's zookeeper package, its own
data directory and a free port."""
import os
import signal
import socket
import subprocess
import time

import pytest

from conftest import free_port

ZKSERVER = "/usr/share/zookeeper/bin/zkServer.sh"
ZKCLI = "/usr/share/zookeeper/bin/zkCli.sh"


def zk_ask(port, word="srvr", timeout=1.0):
    """A four-letter word's answer, or '' when the server does not answer."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(word.encode())
            out = b""
            while True:
                b = s.recv(4096)
                if not b:
                    return out.decode(errors="replace")
                out += b
    except OSError:
        return ""


class ZooKeeper:
    """One ZooKeeper server (standalone, or member `myid` of an ensemble)."""

    def __init__(self, root, port=None, ensemble=None, myid=None):
        self.dir = str(root)
        self.port = port or free_port()
        os.makedirs(os.path.join(self.dir, "data"), exist_ok=True)
        self.cfg = os.path.join(self.dir, "zoo.cfg")
        lines = ["tickTime=1000", "initLimit=10", "syncLimit=5",
                 "dataDir=%s/data" % self.dir, "clientPort=%d" % self.port,
                 "admin.enableServer=false", "4lw.commands.whitelist=srvr,ruok"]
        if ensemble:
            with open(os.path.join(self.dir, "data", "myid"), "w") as f:
                f.write("%d\n" % myid)
            for i, (peer, elect) in enumerate(ensemble, 1):
                lines.append("server.%d=127.0.0.1:%d:%d" % (i, peer, elect))
        with open(self.cfg, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.p = None

    @property
    def hosts(self):
        return "127.0.0.1:%d" % self.port

    def start(self):
        env = dict(os.environ, ZOO_LOG_DIR=self.dir, JVMFLAGS="-Xmx128m -XX:+UseSerialGC")
        log = open(os.path.join(self.dir, "server.log"), "a")
        self.p = subprocess.Popen([ZKSERVER, "start-foreground", self.cfg], stdout=log,
                                  stderr=subprocess.STDOUT, env=env, start_new_session=True)
        log.close()

    def wait_up(self, timeout=40):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.p.poll() is None, "ZooKeeper exited: see %s/server.log" % self.dir
            if "Mode:" in zk_ask(self.port):
                return
            time.sleep(0.2)
        raise AssertionError("ZooKeeper on port %d not up within %d s" % (self.port, timeout))

    def mode(self):
        for line in zk_ask(self.port).splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return ""

    def stop(self):
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        self.p = None

    def cli(self, commands):
        """Run zkCli.sh commands (one per line) against this server."""
        r = subprocess.run([ZKCLI, "-server", self.hosts], input="\n".join(commands) + "\nquit\n",
                           capture_output=True, text=True, timeout=60,
                           env=dict(os.environ, ZOO_LOG_DIR=self.dir))
        return r.stdout + r.stderr


# For the modules that need a ZooKeeper: skip them when it is not
# installed, and one server for the whole module (import both names).
needs_zookeeper = pytest.mark.skipif(
    not os.path.exists(ZKSERVER),
    reason="ZooKeeper server not installed (scripts/install-deps.sh)")


@pytest.fixture(scope="module")
def zk(tmp_path_factory):
    z = ZooKeeper(tmp_path_factory.mktemp("zk"))
    z.start()
    z.wait_up()
    yield z
    z.stop()
