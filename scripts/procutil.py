"""Helpers shared by the benchmark, soak and fault scripts and the tests:
a free TCP port, a thread that collects a child's output lines, and what
/proc says about a tree of processes (members, CPU time, memory, open
descriptors, threads). Standard library only."""
import os
import re
import socket
import threading
import time

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lines:
    """The output lines of a process (started with stdout=PIPE, text=True),
    collected by a thread as they come."""

    def __init__(self, proc):
        self.lines = []
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self.thread.start()

    def _read(self, proc):
        for line in proc.stdout:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait(self, pred, timeout, start=0):
        """Whether a line from the start-th on satisfies pred within timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not any(pred(l) for l in self.lines[start:]):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def expect(self, pred, timeout):
        """Like wait, but a timeout raises RuntimeError with the last lines."""
        if not self.wait(pred, timeout):
            with self.cond:
                last = self.lines[-20:]
            raise RuntimeError("timed out; last lines:\n" + "\n".join(last))


def _stat_named(pid):
    """The command name in /proc/PID/stat and the fields after it: [0] is
    the state, [1] the parent pid, [11] and [12] user and system time.
    pid may also be "PID/task/TID" for one thread."""
    with open("/proc/%s/stat" % pid) as f:
        st = f.read()
    return st[st.index("(") + 1:st.rindex(")")], st.rsplit(")", 1)[1].split()


def _stat(pid):
    """The fields of /proc/PID/stat after the command name."""
    return _stat_named(pid)[1]


def _cpu(fields):
    """User plus system time of a stat line's fields, in seconds."""
    return (int(fields[11]) + int(fields[12])) / TICK


def children():
    """Every running process's children: {parent pid: [child pids]}."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                out.setdefault(int(_stat(d)[1]), []).append(int(d))
            except (OSError, ValueError, IndexError):
                pass
    return out


def tree(pids):
    """pids and all their descendants."""
    kids = children()
    out, todo = [], list(pids)
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cmdline(pid):
    """A process's arguments, [] once it has gone."""
    try:
        with open("/proc/%d/cmdline" % pid) as f:
            return f.read().split("\0")
    except OSError:
        return []


def cpu_seconds(pids):
    """User plus system CPU time of the processes, in seconds."""
    total = 0
    for p in pids:
        try:
            total += _cpu(_stat(p))
        except OSError:
            pass
    return total


def thread_cpu(pids):
    """CPU seconds of every thread of the processes, by thread name:
    {(pid, tid): (name, seconds)}."""
    out = {}
    for p in pids:
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            try:
                name, fields = _stat_named("%d/task/%s" % (p, t))
            except OSError:
                continue
            out[(p, int(t))] = (name, _cpu(fields))
    return out


def thread_cpu_by_kind(before, after):
    """CPU seconds spent between two thread_cpu() samples, summed by the
    first word of each thread's name ("cam", "rec", "vigild", "ZMQbg",
    ...)."""
    kinds = {}
    for key, (name, sec) in after.items():
        kind = re.split(r"[ /]", name)[0]
        kinds[kind] = kinds.get(kind, 0.0) + sec - before.get(key, (name, 0.0))[1]
    return kinds


def _status(pids, key):
    """Sum over the processes of a number in /proc/PID/status."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/status" % p) as f:
                m = re.search(key + r":\s+(\d+)", f.read())
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total


def rss_mb(pids):
    """Resident memory of the processes, in MB."""
    return _status(pids, "VmRSS") / 1024


def anon_mb(pids):
    """Anonymous resident memory of the processes (heap, stacks, private
    mappings; no file pages), in MB."""
    return _status(pids, "RssAnon") / 1024


def pss_mb(pids):
    """Proportional set size of the processes, in MB: private pages plus
    each shared page divided by the number of processes mapping it, so
    that libraries mapped by several processes are counted once."""
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
            total += int(m.group(1)) if m else 0
        except OSError:
            pass
    return total / 1024


def thread_count(pids):
    return _status(pids, "Threads")


def fd_count(pids):
    total = 0
    for p in pids:
        try:
            total += len(os.listdir("/proc/%d/fd" % p))
        except OSError:
            pass
    return total
