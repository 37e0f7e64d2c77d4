"""A client of vigil's replay endpoint (docs/alerts.md, "Replay"), for the
tests and the fault suite: ask for the stored alerts after a position and
follow the batches to the newest one."""
import json

import zmq


class ReplayClient:
    """A DEALER on the replay endpoint, as docs/alerts.md describes."""

    def __init__(self, endpoint):
        self.ctx = zmq.Context()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def ask(self, frames, timeout=5.0):
        self.sock.send_multipart([b""] + list(frames))
        assert self.sock.poll(int(timeout * 1000)), "no replay answer within %.0f s" % timeout
        reply = self.sock.recv_multipart()
        assert reply[0] == b"", reply[:2]
        return reply[1:]

    def since(self, epoch, seq, *prefixes):
        """One reply: (alerts [(topic, payload)], end marker)."""
        req = " ".join(["since", str(epoch), str(seq)] + list(prefixes))
        reply = self.ask([req.encode()])
        assert reply[0] == b"alerts", reply
        assert reply[-2] == b"end"
        pairs = reply[1:-2]
        alerts = [(pairs[i].decode(), json.loads(pairs[i + 1])) for i in range(0, len(pairs), 2)]
        return alerts, json.loads(reply[-1])

    def all_since(self, epoch, seq, *prefixes):
        """Every stored alert after seq, following 'last' batch by batch."""
        out, rounds = [], 0
        while True:
            alerts, end = self.since(epoch, seq, *prefixes)
            out += alerts
            rounds += 1
            seq, epoch = end["last"], end["epoch"]
            if end["last"] >= end["seq"]:
                return out, end, rounds

    def close(self):
        self.sock.close()
        self.ctx.term()
