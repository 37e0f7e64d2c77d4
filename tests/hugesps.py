"""A stream that lies about its size: an MP4 whose H.264 sequence parameter
set claims a huge picture while its slices are those of a small one. The
file stays small; a decoder believing the SPS allocates for the claim.

huge_sps_mp4(src, dst, width, height) rewrites the SPS in src's avcC (and
the sizes in avc1 and tkhd) and writes dst. src must be a Baseline or Main
profile MP4 with its moov after the mdat (ffmpeg's default), so that the
chunk offsets stay valid when the moov grows.
"""
import struct


def _unescape(b):
    """NAL payload to RBSP: drop emulation prevention bytes."""
    out, zeros = bytearray(), 0
    for x in b:
        if zeros >= 2 and x == 3:
            zeros = 0
            continue
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


def _escape(b):
    out, zeros = bytearray(), 0
    for x in b:
        if zeros >= 2 and x <= 3:
            out.append(3)
            zeros = 0
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    return bytes(out)


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def u(self, n):
        v = 0
        for _ in range(n):
            v = v << 1 | (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
            self.pos += 1
        return v

    def ue(self):
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
        return (1 << zeros) - 1 + self.u(zeros)


def _put_ue(bits, v):
    v += 1
    n = v.bit_length()
    bits.extend([0] * (n - 1))
    bits.extend((v >> i) & 1 for i in range(n - 1, -1, -1))


def patch_sps(nal, width_mbs, height_mbs):
    """An SPS NAL unit (header byte first) claiming width_mbs x height_mbs
    macroblocks; everything else is kept bit for bit."""
    rbsp = _unescape(nal[1:])
    r = _Reader(rbsp)
    profile = r.u(8)
    r.u(16)                       # constraint flags, level
    r.ue()                        # seq_parameter_set_id
    assert profile in (66, 77), "Baseline or Main profile only, not %d" % profile
    r.ue()                        # log2_max_frame_num_minus4
    poc_type = r.ue()
    assert poc_type in (0, 2), poc_type
    if poc_type == 0:
        r.ue()
    r.ue()                        # max_num_ref_frames
    r.u(1)                        # gaps_in_frame_num_allowed
    start = r.pos
    r.ue()
    r.ue()
    end = r.pos
    bits = [(rbsp[i >> 3] >> (7 - (i & 7))) & 1 for i in range(len(rbsp) * 8)]
    stop = max(i for i, b in enumerate(bits) if b)     # rbsp_stop_one_bit
    out = bits[:start]
    _put_ue(out, width_mbs - 1)
    _put_ue(out, height_mbs - 1)
    out += bits[end:stop] + [1]
    out += [0] * (-len(out) % 8)
    data = bytes(int("".join(map(str, out[i:i + 8])), 2) for i in range(0, len(out), 8))
    return nal[:1] + _escape(data)


_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl"}


def _boxes(data, leaf):
    """Rebuild a list of boxes, descending to avcC; leaf(type, body) may
    replace a body. Sizes are recomputed."""
    out, i = bytearray(), 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        assert size >= 8, "64-bit or open-ended boxes are not handled"
        body = data[i + 8:i + size]
        if kind in _CONTAINERS:
            body = _boxes(body, leaf)
        elif kind == b"stsd":
            body = body[:8] + _boxes(body[8:], leaf)
        elif kind == b"avc1":
            body = leaf(kind, body[:78]) + _boxes(body[78:], leaf)
        else:
            body = leaf(kind, body)
        out += struct.pack(">I4s", len(body) + 8, kind) + body
        i += size
    return bytes(out)


def huge_sps_mp4(src, dst, width, height):
    def leaf(kind, body):
        if kind == b"avcC":
            assert body[5] & 31 == 1, "one SPS expected"
            n = struct.unpack(">H", body[6:8])[0]
            sps = patch_sps(body[8:8 + n], width // 16, height // 16)
            return body[:6] + struct.pack(">H", len(sps)) + sps + body[8 + n:]
        if kind == b"avc1":
            return body[:24] + struct.pack(">HH", width, height) + body[28:]
        if kind == b"tkhd":
            return body[:-8] + struct.pack(">II", width << 16, height << 16)
        return body

    with open(src, "rb") as f:
        data = f.read()
    assert data.find(b"mdat") < data.find(b"moov"), "moov must follow mdat"
    with open(dst + ".part", "wb") as f:
        f.write(_boxes(data, leaf))
    import os
    os.rename(dst + ".part", dst)
