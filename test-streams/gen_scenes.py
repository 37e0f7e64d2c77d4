#!/usr/bin/python3
"""Generate synthetic surveillance scenes with ground truth.

For every scene in SCENES this writes DIR/NAME.mp4 (H.264 or HEVC, encoded
by the ffmpeg command line tool) and DIR/NAME.json (what happens in the
scene and when).  Both the ffmpeg filter graph and the ground truth are
derived from the same scene description, so they cannot drift apart.

The background is a procedural street (sky, buildings with windows, a
tiled sidewalk and a road) rendered once per run as a single image and
then repeated; temporal sensor noise is added on top of every frame.

To add a scene, append a Scene to SCENES.  New kinds of content go into
Mover (moving objects) or into EFFECTS (changes of the picture such as a
lighting step): each effect kind is one small function that returns its
filter and its nuisance entry.

The activity files (weeks of a street, time in their timestamps) are
made by activity_scene.py into DIR/activity/, apart from the accuracy
set: `--only activity` makes only them.

Usage: gen_scenes.py --out DIR [--only NAME,...] [--size WxH] [--fps N]
"""

import argparse
import concurrent.futures
import dataclasses
import json
import zlib
import math
import os
import re
import subprocess
import sys
import tempfile

import activity_scene

REF_HEIGHT = 720          # object sizes below are given at this height
TRACK_STEP = 0.5          # seconds between ground-truth track samples
BITRATE = "2M"


@dataclasses.dataclass(frozen=True)
class Mover:
    """An object crossing the frame horizontally at constant speed,
    perhaps stopping once on the way.

    enter: time its leading edge reaches the entry edge (first visible)
    leave: time its trailing edge passes the far edge (fully gone)
    stop_at, stop_for: it stands still from stop_at for stop_for seconds
            (0: never), moving at one speed before and after
    width, height: size in pixels at REF_HEIGHT (scaled with the frame)
    ground: where its bottom edge sits, as a fraction of frame height
    direction: +1 enters on the left, -1 enters on the right
    look: name of the texture in LOOKS
    expect: whether a detector should alert on it (False: too small, or
            in a zone that is not armed; it is listed as a nuisance)
    """
    enter: float
    leave: float
    width: int = 110
    height: int = 240
    ground: float = 0.86
    direction: int = 1
    look: str = "person"
    expect: bool = True
    stop_at: float = 0.0
    stop_for: float = 0.0


@dataclasses.dataclass(frozen=True)
class Effect:
    """A change of the picture from time `at` (a lighting step, headlights,
    tampering); kind selects a function in EFFECTS."""
    kind: str
    at: float
    amount: float = 0.0
    box: tuple = None              # prop: x, y, w, h normalised; grey level


@dataclasses.dataclass(frozen=True)
class Zone:
    """A zone the camera watching the scene is configured with.

    armed: whether its schedule is to be on while the scene plays (the
    configuration makes the schedule from the current time).
    dwell: seconds one object may stay in it before `loitering` (0: none)."""
    name: str
    polygon: tuple
    armed: bool = True
    dwell: float = 0.0


@dataclasses.dataclass(frozen=True)
class Line:
    """A tripwire the camera is configured with: points x1, y1, x2, y2
    (normalised); side a is on the left going from the first point to the
    second, as seen on the picture."""
    name: str
    points: tuple
    direction: str = "both"


@dataclasses.dataclass(frozen=True)
class Scene:
    name: str
    duration: float = 16.0
    codec: str = "h264"            # "h264" or "hevc"
    noise: int = 9                 # ffmpeg noise strength (luma sigma ~0.53x)
    movers: tuple = ()
    effects: tuple = ()
    size: tuple = None             # (w, h); None: the --size option
    zones: tuple = ()
    lines: tuple = ()
    judge: tuple = ()              # alert types judged (none: all)
    detect: tuple = ()             # (plugin, ((option, value), ...)), ...
    gated_limit: str = ""          # why gated mode cannot see it (not a target)
    eval_only: bool = False        # too long for every test run: make eval only


# The accuracy set is smaller and shorter than the 720p demo scenes so
# that generating and evaluating all of it stays quick.
SMALL = (640, 360)
YARD = (0.0, 0.45, 1.0, 0.45, 1.0, 1.0, 0.0, 1.0)

SCENES = [
    Scene("static"),
    Scene("walker", movers=(Mover(enter=4.0, leave=11.0),)),
    Scene("lights", effects=(Effect("lights", at=6.0, amount=25),)),
    Scene("two_objects", duration=14.0, size=SMALL,
          movers=(Mover(enter=4.0, leave=10.0),
                  Mover(enter=6.0, leave=12.0, direction=-1, ground=0.80,
                        width=90, height=200))),
    Scene("small", duration=12.0, size=SMALL,
          movers=(Mover(enter=4.0, leave=10.0, width=22, height=48, expect=False),)),
    Scene("flicker", duration=12.0, size=SMALL,
          effects=(Effect("flicker", at=4.0, amount=0.07),)),
    Scene("headlights", duration=12.0, size=SMALL,
          effects=(Effect("headlights", at=3.0, amount=0.8),)),
    Scene("noise_heavy", duration=12.0, size=SMALL, noise=24),
    Scene("zone_armed", duration=12.0, size=SMALL,
          movers=(Mover(enter=4.0, leave=10.0),),
          zones=(Zone("yard", YARD, armed=True),)),
    Scene("zone_unarmed", duration=12.0, size=SMALL,
          movers=(Mover(enter=4.0, leave=10.0, expect=False),),
          zones=(Zone("yard", YARD, armed=False),)),
    Scene("covered", duration=12.0, size=SMALL,
          effects=(Effect("covered", at=5.0, amount=10.0),)),
    Scene("defocus", duration=12.0, size=SMALL,
          effects=(Effect("defocus", at=5.0, amount=10.0),)),
    Scene("moved", duration=12.0, size=SMALL,
          effects=(Effect("moved", at=5.0, amount=10.0),)),
    Scene("frozen", duration=12.0, size=SMALL,
          effects=(Effect("frozen", at=5.0, amount=10.0),)),
    Scene("lowfps", duration=12.0, size=SMALL,
          effects=(Effect("lowfps", at=0.0, amount=2.0),)),
    # Tripwires and loitering: judged on their own types only. The
    # vertical line's side a is the right half (it runs downwards).
    Scene("tripwire", duration=16.0, size=SMALL,
          movers=(Mover(enter=0.5, leave=5.5),
                  Mover(enter=5.0, leave=10.0, direction=-1, ground=0.80,
                        width=90, height=200),
                  Mover(enter=10.0, leave=15.0)),
          lines=(Line("gate", (0.5, 0.3, 0.5, 1.0)),),
          judge=("line.crossed",)),
    Scene("tripwire_paths", duration=12.0, size=SMALL,
          movers=(Mover(enter=1.0, leave=11.0),
                  Mover(enter=1.0, leave=11.0, direction=-1, ground=0.80,
                        width=90, height=200)),
          lines=(Line("gate", (0.45, 0.3, 0.45, 1.0)),),
          judge=("line.crossed",)),
    Scene("tripwire_along", duration=12.0, size=SMALL,
          movers=(Mover(enter=1.0, leave=11.0),),
          lines=(Line("kerb", (0.05, 0.69, 0.95, 0.69)),),
          judge=("line.crossed",)),
    Scene("loiter", duration=18.0, size=SMALL,
          movers=(Mover(enter=0.5, leave=4.5),
                  Mover(enter=3.0, leave=17.0, direction=-1)),
          zones=(Zone("square", (0.3, 0.0, 0.7, 0.0, 0.7, 1.0, 0.3, 1.0), dwell=3.0),),
          judge=("loitering",)),
    # A bag left at 2 s and taken at 16 s; someone standing 5 s; with
    # stationary 7 s only the bag is reported, from 9 s to its removal.
    # (The default, 30 s, would make the scene, and every run of the
    # accuracy set, three times as long.)
    Scene("left_bag", duration=20.0, size=SMALL,
          effects=(Effect("prop", at=2.0, amount=14.0, box=(0.30, 0.74, 0.08, 0.10, 40)),
                   Effect("prop", at=4.0, amount=5.0, box=(0.70, 0.50, 0.06, 0.30, 170))),
          detect=(("still", (("stationary", 7), ("absorb", 120))),),
          judge=("object.left",)),
    # Hard for a gate that decodes keyframes only while quiet: a small
    # person far away, walking slowly; a person who appears one frame
    # after a keyframe (GOP 2 s); lights coming up slowly while someone
    # crosses.
    # A car stopping a minute in a no-stopping zone, with the still
    # detector at its defaults (stationary 30 s): object.left from 30 s
    # after it stops until it drives off. Someone on the pavement, inside
    # the zone too, stands 10 s: nothing. A minute and more per loop is
    # too long for the accuracy test of every run: `make eval` only.
    Scene("stopped_car", duration=72.0, size=SMALL, eval_only=True,
          movers=(Mover(enter=1.0, leave=69.0, stop_at=4.0, stop_for=60.0, look="car",
                        width=300, height=130, ground=0.97),
                  Mover(enter=16.0, leave=34.0, stop_at=20.0, stop_for=10.0,
                        direction=-1, ground=0.70, width=90, height=200)),
          zones=(Zone("no_stopping", (0.2, 0.45, 0.95, 0.45, 0.95, 1.0, 0.2, 1.0)),),
          detect=(("still", ()),),
          judge=("object.left",)),
    Scene("far_slow", duration=16.0, size=SMALL,
          movers=(Mover(enter=3.0, leave=15.0, width=48, height=104, ground=0.66),)),
    Scene("after_key", duration=12.0, size=SMALL,
          movers=(Mover(enter=4.04, leave=9.0),)),
    Scene("slow_light", duration=14.0, size=SMALL,
          movers=(Mover(enter=8.0, leave=13.0),),
          effects=(Effect("ramp", at=2.0, amount=40),)),
    # Beyond any gate that reads the compressed stream: a person crossing
    # close by in 1.9 s, between two keyframes. With sensor noise taking
    # the bitrate the camera is allowed, neither the packet sizes nor the
    # frames' quantiser change while the person is there, and neither
    # keyframe shows the person. Full mode must see it; gated mode is
    # expected to miss it, which is why full stays the default.
    Scene("within_gop", duration=12.0, size=SMALL,
          movers=(Mover(enter=4.04, leave=5.9),),
          gated_limit="an object that comes and goes between two keyframes"),
]


# ---------------------------------------------------------------- geometry

def even(v):
    """Round to the nearest even integer (4:2:0 chroma needs even sizes)."""
    return int(round(v / 2.0)) * 2


class Placed:
    """A Mover placed in a frame of a given size: pixel size and path."""

    def __init__(self, mover, width, height):
        self.m = mover
        self.fw, self.fh = width, height
        scale = height / REF_HEIGHT
        self.w = even(mover.width * scale)
        self.h = even(mover.height * scale)
        self.y = even(mover.ground * height - self.h)
        if mover.direction > 0:
            self.x0, self.x1 = -self.w, width
        else:
            self.x0, self.x1 = width, -self.w
        self.speed = (self.x1 - self.x0) / (mover.leave - mover.enter - mover.stop_for)

    def x_expr(self):
        """Overlay x position as an ffmpeg expression of t."""
        m = self.m
        if not m.stop_for:
            return "%r+%r*(t-%r)" % (float(self.x0), self.speed, m.enter)
        # Time spent moving: up to the stop, then from its end on.
        return "%r+%r*(min(t,%r)-%r+max(0,t-%r))" % (
            float(self.x0), self.speed, m.stop_at, m.enter, m.stop_at + m.stop_for)

    def x_at(self, t):
        """Left edge at time t, evaluated exactly like x_expr."""
        m = self.m
        if not m.stop_for:
            return self.x0 + self.speed * (t - m.enter)
        return self.x0 + self.speed * (min(t, m.stop_at) - m.enter
                                       + max(0, t - (m.stop_at + m.stop_for)))

    def visible_box(self, t):
        """Visible part of the object at time t in pixels, or None."""
        if not (self.m.enter <= t <= self.m.leave):
            return None
        x = self.x_at(t)
        left, right = max(0.0, x), min(float(self.fw), x + self.w)
        top, bottom = max(0, self.y), min(self.fh, self.y + self.h)
        if right - left <= 0 or bottom - top <= 0:
            return None
        return (left, float(top), right - left, float(bottom - top))

    def norm(self, box):
        x, y, w, h = box
        return [round(x / self.fw, 4), round(y / self.fh, 4),
                round(w / self.fw, 4), round(h / self.fh, 4)]


def mover_event(placed, fps):
    """Ground truth motion event for one placed mover.

    The box is the union of the visible boxes at every frame time inside
    the event; the track samples the visible box every TRACK_STEP seconds.
    """
    m = placed.m
    boxes = []
    n0, n1 = int(math.ceil(m.enter * fps)), int(math.floor(m.leave * fps))
    for n in range(n0, n1 + 1):
        b = placed.visible_box(n / fps)
        if b:
            boxes.append(b)
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    track = []
    k = 0
    while m.enter + k * TRACK_STEP <= m.leave + 1e-9:
        t = round(m.enter + k * TRACK_STEP, 3)
        b = placed.visible_box(t)
        if b:
            track.append([t] + placed.norm(b))
        k += 1
    return {"type": "motion", "start": m.enter, "end": m.leave,
            "box": placed.norm((x0, y0, x1 - x0, y1 - y0)), "track": track}


# ------------------------------------------------------------------ images

def hash01(n):
    """ffmpeg expression: a pseudo-random value in [0,1) from number n."""
    return "mod(abs(sin((%s)*12.9898+4.1)*43758.5453),1)" % n


def street_geq():
    """geq filter drawing the street background (YUV planes).

    Registers: 0 = building index, 1 = roof line of that building,
    2/3 = position inside the window grid.
    """
    cols = 8
    roof = "st(0,floor(X*%d/W));st(1,H*(0.06+0.30*%s));" % (cols, hash01("ld(0)"))
    window = "between(ld(2),7,24)*between(ld(3),10,30)"
    lit = hash01("ld(0)*31+floor(X/32)+floor((Y-ld(1))/40)*7")
    lum = (roof + "st(2,mod(X,32));st(3,mod(Y-ld(1),40));"
           "if(lt(Y,ld(1)),215-70*Y/H+6*sin(X/37)*sin(Y/23),"
           " if(lt(Y,0.62*H),"
           "  if(%s,35+150*gt(%s,0.6)+20*%s,"
           "   60+90*%s+12*sin(Y/3)*lt(mod(X,W/%d),8)),"
           "  if(lt(Y,0.72*H),150-40*(lt(mod(X,64),3)+lt(mod(Y,24),3)),"
           "   70+6*sin(X/3+Y/5)+4*sin(X/41-Y/17)"
           "   +146*between(Y,0.84*H,0.855*H)*lt(mod(X,200),120))))"
           % (window, lit, hash01("floor(X/32)*3+floor(Y/40)"),
              hash01("ld(0)+0.5"), cols))
    # Sky is bluish, buildings get a per-building tint, the ground is grey.
    tint = lambda seed, amp: ("%d*(%s-0.5)" % (amp, hash01("ld(0)+%s" % seed)))
    region = roof + "if(lt(Y,ld(1)),0,if(lt(Y,0.62*H),1,2))"
    cb = "st(4,%s);128+if(eq(ld(4),0),14,if(eq(ld(4),1),%s,0))" % (region, tint("0.5", 20))
    cr = "st(4,%s);128+if(eq(ld(4),0),-6,if(eq(ld(4),1),%s,0))" % (region, tint("0.7", 16))
    return "geq=lum='%s':cb='%s':cr='%s'" % (lum, cb, cr)


def person_geq():
    """geq filter drawing a person (RGBA): head, striped shirt with arms
    spanning the full width, two legs reaching the bottom edge."""
    u, v = "(X/W)", "(Y/H)"
    head = "lt(%s,0.16)*lt(pow((%s-0.5)/0.24,2)+pow((%s-0.08)/0.08,2),1)" % (v, u, v)
    torso = "between(%s,0.16,0.58)" % v
    legs = "gte(%s,0.58)*(between(%s,0.12,0.46)+between(%s,0.54,0.88))" % (v, u, u)
    stripe = "lt(mod(Y,14),5)"

    def chan(skin, shirt, dark, jeans):
        return ("if(%s,%d,if(%s,if(%s,%d,%d),if(%s,%d+12*sin(X*1.7+Y*0.9),0)))"
                % (head, skin, torso, stripe, dark, shirt, legs, jeans))
    alpha = "255*gt(%s+%s+%s,0)" % (head, torso, legs)
    return ("geq=r='%s':g='%s':b='%s':a='%s'"
            % (chan(222, 235, 120, 40), chan(180, 165, 40, 50),
               chan(150, 40, 30, 95), alpha))


def car_geq():
    """geq filter drawing a car seen from the side (RGBA): a light body
    with a door line and a sheen, a cabin with dark windows, two black
    wheels reaching the bottom edge. Textured, so that it does not look
    still while it moves."""
    u, v = "(X/W)", "(Y/H)"
    wheel = ("lt(min(pow((%s-0.22)/0.09,2),pow((%s-0.78)/0.09,2))+pow((%s-0.82)/0.18,2),1)"
             % (u, u, v))
    body = "between(%s,0.40,0.86)*between(%s,0.02,0.98)" % (v, u)
    cabin = "between(%s,0.04,0.40)*between(%s,0.24+0.12*(0.40-%s),0.74)" % (v, u, v)
    glass = ("between(%s,0.10,0.38)*between(%s,0.30,0.70)*gt(abs(%s-0.50),0.015)"
             % (v, u, u))
    seam = "lt(abs(%s-0.50),0.006)+lt(abs(%s-0.58),0.02)" % (u, v)

    def chan(paint, window, tyre):
        return ("if(%s,%d+10*sin(X*0.7),if(%s+%s,if(%s,%d+8*sin(Y*1.1),"
                "if(%s,%d,%d+14*sin(X*0.45+Y*0.8))),0))"
                % (wheel, tyre, body, cabin, glass, window, seam, tyre, paint))
    alpha = "255*gt(%s+%s+%s,0)" % (wheel, body, cabin)
    return ("geq=r='%s':g='%s':b='%s':a='%s'"
            % (chan(214, 45, 28), chan(206, 60, 28), chan(176, 80, 30), alpha))


LOOKS = {"person": person_geq, "car": car_geq}


def render_image(path, size, filt, work_fmt, out_fmt):
    """Render a single frame of `filt` (drawn in work_fmt) into a PNG."""
    graph = "nullsrc=s=%dx%d,format=%s,%s" % (size[0], size[1], work_fmt, filt)
    run_ffmpeg(["-f", "lavfi", "-i", graph, "-frames:v", "1",
                "-pix_fmt", out_fmt, path])


def look_key(placed):
    """Name of the image for a mover: its look at its pixel size."""
    return "%s_%dx%d" % (placed.m.look, placed.w, placed.h)


# ----------------------------------------------------------------- effects

# Each effect returns (filter, stage, truth): stage "pre" filters run
# before the sensor noise, "post" after it; truth is ("nuisance", entry)
# or ("event", entry) with an expected alert.

def effect_lights(effect, fps):
    """Global brightness step of `amount` luma levels from `at` on."""
    filt = "lutyuv=y='clip(val+%d,0,255)':enable='gte(t,%r)'" % (
        int(effect.amount), effect.at)
    return filt, "pre", ("nuisance", {"type": "lights", "at": effect.at})


def effect_ramp(effect, fps):
    """Brightness rising by `amount` luma levels over 8 s from `at` (dusk
    lights, a cloud passing)."""
    filt = "eq=brightness='%r*clip((t-%r)/8,0,1)':eval=frame" % (
        effect.amount / 255.0, effect.at)
    return filt, "pre", ("nuisance", {"type": "ramp", "start": effect.at,
                                      "end": effect.at + 8.0})


def effect_flicker(effect, fps):
    """Brightness swinging by +-amount (fraction of full scale) at 1.5 Hz."""
    filt = "eq=brightness='if(gte(t,%r),%r*sin(2*PI*1.5*t),0)':eval=frame" % (
        effect.at, effect.amount)
    return filt, "pre", ("nuisance", {"type": "flicker", "at": effect.at})


# A car's headlights: where its beams fall the street is lit. Reflected
# light multiplies, so the road keeps its texture and only gets brighter,
# most in the middle of the beam and not at all at its rim. One patch
# crosses the road from left to right, then a second car's from right to
# left. The patch is drawn once (geq on one frame); per frame it is only
# placed on a black mask, and a lookup table of (picture, mask) applies it.
HEADLIGHT_SWEEP = 3.0      # seconds for a patch to cross the frame
HEADLIGHT_GAP = 2.0        # seconds between the two crossings


def effect_headlights(effect, fps):
    """Two headlight patches crossing the road, from `at` on; `amount` is
    the gain added in the middle of a beam (0.8: road 70 -> 126)."""
    second = effect.at + HEADLIGHT_SWEEP + HEADLIGHT_GAP
    # The mask and the patch are cut from the picture itself, so they
    # have its size and format without being told.
    patch = ("crop=w=iw*0.44:h=ih*0.22,trim=end_frame=1,"
             "geq=lum='255*pow(max(0,1-pow(2*X/W-1,2)-pow(2*Y/H-1,2)),2)':cb=128:cr=128,"
             "loop=loop=-1:size=1,setpts=N/(%d*TB)" % fps)
    place = ("overlay=x='%s':y='0.86*H-h/2':eval=frame:enable='between(t,%r,%r)'")
    ltr = "-w+(W+w)*(t-%r)/%r" % (effect.at, HEADLIGHT_SWEEP)
    rtl = "W-(W+w)*(t-%r)/%r" % (second, HEADLIGHT_SWEEP)
    filt = ("split=3[hl_pic][hl_black][hl_src];"
            "[hl_black]lutyuv=y=0:u=128:v=128[hl_mask0];"
            "[hl_src]%s,split[hl_p1][hl_p2];"
            "[hl_mask0][hl_p1]%s[hl_mask1];"
            "[hl_mask1][hl_p2]%s[hl_mask];"
            "[hl_pic][hl_mask]lut2=c0='clip(x*(1+%r*y/255),0,255)':c1=x:c2=x"
            % (patch,
               place % (ltr, effect.at, effect.at + HEADLIGHT_SWEEP),
               place % (rtl, second, second + HEADLIGHT_SWEEP),
               effect.amount))
    return filt, "pre", ("nuisance", {"type": "headlights", "start": effect.at,
                                      "end": second + HEADLIGHT_SWEEP})


def tamper_window(effect):
    return effect.at, effect.at + effect.amount


def effect_covered(effect, fps):
    """Lens covered from `at` for `amount` seconds: a dark, flat picture."""
    a, b = tamper_window(effect)
    filt = "drawbox=x=0:y=0:w=iw:h=ih:color=0x1c1c1c@1:t=fill:enable='between(t,%r,%r)'" % (a, b)
    return filt, "pre", ("event", {"type": "tamper.covered", "start": a, "end": b})


def effect_defocus(effect, fps):
    """Out of focus from `at` for `amount` seconds."""
    a, b = tamper_window(effect)
    filt = "gblur=sigma=7:enable='between(t,%r,%r)'" % (a, b)
    return filt, "pre", ("event", {"type": "tamper.defocus", "start": a, "end": b})


def effect_moved(effect, fps):
    """Camera knocked at `at`: the view pans and tilts for `amount` s."""
    a, b = tamper_window(effect)
    on = "between(t,%r,%r)" % (a, b)
    filt = ("crop=w=iw*0.75:h=ih*0.75:x='if(%s,iw*0.25,0)':y='if(%s,ih*0.2,0)'"
            ",scale=iw/0.75:ih/0.75" % (on, on))
    return filt, "pre", ("event", {"type": "tamper.moved", "start": a, "end": b})


def effect_frozen(effect, fps):
    """The encoder hangs at `at`: the same picture for `amount` seconds
    (noise included, as a real hung encoder repeats its last frame)."""
    a, b = tamper_window(effect)
    fa, fb = int(round(a * fps)), int(round(b * fps))
    filt = ("split[fa][fb];[fa]trim=end_frame=%d,tpad=stop_mode=clone:stop=%d[fz];"
            "[fb]trim=start_frame=%d,setpts=PTS-STARTPTS[fr];[fz][fr]concat=n=2:v=1:a=0"
            % (fa + 1, fb - fa - 1, fb))
    return filt, "post", ("event", {"type": "frozen", "start": a, "end": b})


def effect_lowfps(effect, fps):
    """A slow shutter or a re-streamer: from `at` on the picture changes
    only `amount` times a second, the frames between repeating it (noise
    included). Nothing is frozen: it must not alert."""
    filt = "fps=%r,fps=%d" % (effect.amount, fps)
    return filt, "post", ("nuisance", {"type": "lowfps", "at": effect.at,
                                       "changes_per_s": effect.amount,
                                       "forbid": "frozen"})


def effect_prop(effect, fps):
    """A thing standing still from `at` for `amount` seconds at `box`
    (x, y, w, h normalised, then its grey level): a bag left and taken
    away, or someone standing. Props of grey level 60 or darker are bags
    (object.left expected once it stood `stationary` seconds); lighter
    ones are people standing a while (nuisance)."""
    a, b = effect.at, effect.at + effect.amount
    x, y, w, h, grey = effect.box
    filt = ("drawbox=x=iw*%r:y=ih*%r:w=iw*%r:h=ih*%r:color=0x%02x%02x%02x@1:t=fill"
            ":enable='between(t,%r,%r)'" % (x, y, w, h, grey, grey, grey, a, b))
    if grey <= 60:
        return filt, "pre", ("event", {"type": "object.left", "placed": a, "start": a,
                                       "end": b, "box": [x, y, w, h]})
    return filt, "pre", ("nuisance", {"type": "standing", "start": a, "end": b})


EFFECTS = {"lights": effect_lights, "flicker": effect_flicker, "ramp": effect_ramp,
           "headlights": effect_headlights,
           "covered": effect_covered, "defocus": effect_defocus,
           "moved": effect_moved, "frozen": effect_frozen,
           "lowfps": effect_lowfps, "prop": effect_prop}


# ----------------------------------------------------------- scene → files

def filter_graph(scene, size, fps):
    """Build the -filter_complex graph for a scene.

    Input 0 is the background image, input 1+i the look of mover i.
    Each image is a single frame repeated in memory by the loop filter.
    """
    w, h = size
    rep = "loop=loop=-1:size=1,setpts=N/(%d*TB)" % fps
    parts = ["[0:v]%s,format=yuv420p[v0]" % rep]
    cur = "v0"
    for i, m in enumerate(scene.movers):
        p = Placed(m, w, h)
        parts.append("[%d:v]%s,format=yuva420p[m%d]" % (i + 1, rep, i))
        parts.append("[%s][m%d]overlay=x='%s':y=%d:eval=frame"
                     ":enable='between(t,%r,%r)'[v%d]"
                     % (cur, i, p.x_expr(), p.y, m.enter, m.leave, i + 1))
        cur = "v%d" % (i + 1)
    fx = [EFFECTS[e.kind](e, fps) for e in scene.effects]
    chain = [f for f, stage, _ in fx if stage == "pre"]
    n = scene.noise
    # A fixed seed per scene: the same scene is the same file on every
    # machine, so test results do not depend on a noise draw.
    chain.append("noise=c0s=%d:c0f=t:c1s=%d:c1f=t:c2s=%d:c2f=t:all_seed=%d"
                 % (n, max(1, n // 3), max(1, n // 3), zlib.crc32(scene.name.encode()) & 0x7fffffff))
    chain.append("format=yuv420p")
    chain += [f for f, stage, _ in fx if stage == "post"]
    parts.append("[%s]%s[out]" % (cur, ",".join(chain)))
    return ";".join(parts)


def centre_at(placed, t):
    """Centre of a mover's whole box at time t, normalised."""
    return ((placed.x_at(t) + placed.w / 2.0) / placed.fw,
            (placed.y + placed.h / 2.0) / placed.fh)


def crossing_events(scene, size, fps):
    """line.crossed events: when a mover's centre passes each line, and
    which way (the line's side of the centre before and after)."""
    out = []
    for line in scene.lines:
        x1, y1, x2, y2 = line.points
        for m in scene.movers:
            p = Placed(m, *size)
            side = lambda t: ((x2 - x1) * (centre_at(p, t)[1] - y1)
                              - (y2 - y1) * (centre_at(p, t)[0] - x1))
            prev = None
            for n in range(int(math.ceil(m.enter * fps)), int(math.floor(m.leave * fps)) + 1):
                t = n / fps
                cx, cy = centre_at(p, t)
                s = side(t)
                if prev is not None and (s < 0) != (prev < 0):
                    # Through the segment itself (its extension is no line).
                    lo, hi = sorted((x1, x2)), sorted((y1, y2))
                    if lo[0] - 0.01 <= cx <= lo[1] + 0.01 and hi[0] - 0.01 <= cy <= hi[1] + 0.01:
                        d = "a-b" if prev < 0 else "b-a"
                        if line.direction in ("both", d):
                            out.append({"type": "line.crossed", "line": line.name,
                                        "direction": d, "start": round(t, 3),
                                        "end": round(t + 1.0, 3)})
                prev = s
    return out


def loitering_events(scene, size, fps):
    """loitering events: a mover whose centre stays in a dwell zone (a
    rectangle here) longer than its dwell, from entry + dwell to exit."""
    out = []
    for z in scene.zones:
        if not z.dwell:
            continue
        xs, ys = z.polygon[0::2], z.polygon[1::2]
        for m in scene.movers:
            p = Placed(m, *size)
            inside = []
            for n in range(int(math.ceil(m.enter * fps)), int(math.floor(m.leave * fps)) + 1):
                cx, cy = centre_at(p, n / fps)
                if min(xs) <= cx <= max(xs) and min(ys) <= cy <= max(ys):
                    inside.append(n / fps)
            if inside and inside[-1] - inside[0] >= z.dwell:
                out.append({"type": "loitering", "zone": z.name,
                            "start": round(inside[0] + z.dwell, 3),
                            "end": round(inside[-1], 3)})
    return out


def inside(polygon, x, y):
    """Whether point (x, y) is inside a polygon (x0, y0, x1, y1, ...)."""
    pts = list(zip(polygon[0::2], polygon[1::2]))
    out = False
    for (xi, yi), (xj, yj) in zip(pts, pts[-1:] + pts[:-1]):
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            out = not out
    return out


def stop_events(scene, size, stationary):
    """Movers that stop: the still detector cannot tell a parked car from
    a bag, so a stop longer than `stationary` is an object.left from its
    start + stationary to its end, with the mover's box and the zone
    holding its centre; a shorter one is someone standing (nuisance)."""
    events, nuisance = [], []
    for m in scene.movers:
        if not m.stop_for:
            continue
        p = Placed(m, *size)
        a, b = m.stop_at, m.stop_at + m.stop_for
        if m.stop_for <= stationary:
            nuisance.append({"type": "standing", "look": m.look, "start": a, "end": b})
            continue
        ev = {"type": "object.left", "look": m.look, "placed": a, "start": a + stationary,
              "end": b, "box": p.norm(p.visible_box(a))}
        cx, cy = centre_at(p, a)
        zone = [z.name for z in scene.zones if inside(z.polygon, cx, cy)]
        if zone:
            ev["zone"] = zone[0]
        events.append(ev)
    return events, nuisance


def ground_truth(scene, size, fps):
    """Expected alerts (events) and things that must not alert (nuisance)."""
    w, h = size
    events, nuisance = [], []
    if scene.judge:
        # Judged on these types only: the movers are there for them.
        events = crossing_events(scene, size, fps) + loitering_events(scene, size, fps)
        opts = dict((k, v) for p, o in scene.detect for k, v in o)
        stopped, nuisance = stop_events(scene, size, opts.get("stationary", 30))
        events += stopped
        for e in scene.effects:
            kind, entry = EFFECTS[e.kind](e, fps)[2]
            if kind == "event" and entry["type"] == "object.left":
                # Reported once it stood `stationary` seconds.
                entry = dict(entry, start=entry["start"] + opts.get("stationary", 30))
            (events if kind == "event" else nuisance).append(entry)
        events.sort(key=lambda e: e["start"])
        zones = [{"name": z.name, "polygon": list(z.polygon), "armed": z.armed,
                  "dwell": z.dwell} for z in scene.zones]
        truth = {"scene": scene.name, "width": w, "height": h, "fps": fps,
                 "duration": float(scene.duration), "codec": scene.codec,
                 "judge": list(scene.judge), "events": events, "nuisance": nuisance,
                 "detect": {p: dict(o) for p, o in scene.detect},
                 "zones": zones,
                 "lines": [{"name": l.name, "points": list(l.points),
                            "direction": l.direction} for l in scene.lines]}
        return scene_flags(scene, truth)
    for m in scene.movers:
        ev = mover_event(Placed(m, w, h), fps)
        if scene.zones:
            ev["zone"] = scene.zones[0].name
        (events if m.expect else nuisance).append(ev)
    for e in scene.effects:
        kind, entry = EFFECTS[e.kind](e, fps)[2]
        if "end" in entry:
            entry["end"] = min(entry["end"], float(scene.duration))
        (events if kind == "event" else nuisance).append(entry)
    events.sort(key=lambda e: e["start"])
    zones = [{"name": z.name, "polygon": list(z.polygon), "armed": z.armed}
             for z in scene.zones]
    truth = {"scene": scene.name, "width": w, "height": h, "fps": fps,
             "duration": float(scene.duration), "codec": scene.codec,
             "events": events, "nuisance": nuisance, "zones": zones}
    return scene_flags(scene, truth)


def scene_flags(scene, truth):
    """What the truth says about how a scene is judged, where set."""
    if scene.eval_only:
        truth["eval_only"] = True
    if scene.gated_limit:
        truth["gated_limit"] = scene.gated_limit
    return truth


def encoder_args(codec, fps):
    """Encoder options: GOP of 2 s, no B-frames, ~2 Mb/s, fast preset."""
    gop = 2 * fps
    if codec == "h264":
        return ["-c:v", "libx264", "-threads", "1", "-preset", "veryfast", "-g", str(gop),
                "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0"]
    if codec == "hevc":
        return ["-c:v", "libx265", "-preset", "veryfast", "-tag:v", "hvc1",
                "-x265-params", "keyint=%d:min-keyint=%d:scenecut=0:bframes=0:log-level=error"
                % (gop, gop)]
    raise ValueError("unknown codec %r" % codec)


# One filter thread: sliced noise is then drawn in a fixed order, and
# a scene is the same file every time it is made.
FFMPEG = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
          "-filter_threads", "1", "-filter_complex_threads", "1"]


def run_ffmpeg(args):
    cmd = FFMPEG + ["-nostdin"] + args
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        sys.stderr.write(r.stderr.decode(errors="replace"))
        raise RuntimeError("ffmpeg failed: %s" % " ".join(cmd))


def encode(scene, size, fps, images, out_path):
    """Render and encode one scene into out_path (written atomically)."""
    inputs = ["-framerate", str(fps), "-i", images["background_%dx%d" % size]]
    for m in scene.movers:
        key = look_key(Placed(m, *size))
        inputs += ["-framerate", str(fps), "-i", images[key]]
    tmp = out_path + ".part"
    run_ffmpeg(inputs + [
        "-filter_complex", filter_graph(scene, size, fps), "-map", "[out]",
        "-frames:v", str(int(round(scene.duration * fps))), "-r", str(fps),
        "-pix_fmt", "yuv420p"] + encoder_args(scene.codec, fps) + [
        "-b:v", BITRATE, "-maxrate", BITRATE, "-bufsize", BITRATE,
        "-movflags", "+faststart", "-an", "-f", "mp4", tmp])
    os.replace(tmp, out_path)


def truth_json(truth):
    """Ground truth as indented JSON with number lists kept on one line."""
    text = json.dumps(truth, indent=2)
    return re.sub(r"\[[-0-9.,\s]*\]",
                  lambda m: re.sub(r"\s+", "", m.group(0)).replace(",", ", "),
                  text) + "\n"


def recipe(scene, size, fps):
    """What the video of a scene is made from (filter graph, encoder,
    length), as a short hash: a scene whose recipe did not change need
    not be encoded again when this generator changes elsewhere."""
    text = repr((filter_graph(scene, size, fps), encoder_args(scene.codec, fps),
                 scene.duration, BITRATE, [look_key(Placed(m, *size)) for m in scene.movers],
                 street_geq(), [LOOKS[m.look]() for m in scene.movers]))
    return "%08x" % zlib.crc32(text.encode())


def recipe_path(js):
    return os.path.join(os.path.dirname(js), "." + os.path.basename(js)[:-5] + ".recipe")


def up_to_date(mp4, js, truth_text, made_from=None):
    """True when both outputs exist, the stored ground truth matches what
    would be written now, and they were made from this recipe (without a
    stored recipe: are newer than this generator)."""
    try:
        if min(os.path.getmtime(mp4), os.path.getmtime(js)) < os.path.getmtime(
                os.path.abspath(__file__)):
            with open(recipe_path(js)) as f:
                if f.read().strip() != made_from:
                    return False
        with open(js) as f:
            return f.read() == truth_text
    except OSError:
        return False


def parse_size(text):
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError("size must look like 1280x720")
    if w <= 0 or h <= 0 or w % 2 or h % 2:
        raise argparse.ArgumentTypeError("size must be positive and even")
    return w, h


def main():
    ap = argparse.ArgumentParser(description="Generate synthetic scenes with ground truth.")
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--only", help="comma-separated scene names")
    ap.add_argument("--size", type=parse_size, default=(1280, 720), help="WxH")
    ap.add_argument("--fps", type=int, default=25)
    args = ap.parse_args()

    scenes = SCENES
    activity = True
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        activity = "activity" in wanted
        wanted = [n for n in wanted if n != "activity"]
        known = {s.name for s in SCENES}
        bad = [n for n in wanted if n not in known]
        if bad:
            ap.error("unknown scene(s): %s (known: %s)"
                     % (", ".join(bad), ", ".join(sorted(known) + ["activity"])))
        scenes = [s for s in SCENES if s.name in wanted]

    os.makedirs(args.out, exist_ok=True)
    todo = []
    for s in scenes:
        truth = truth_json(ground_truth(s, s.size or args.size, args.fps))
        mp4 = os.path.join(args.out, s.name + ".mp4")
        js = os.path.join(args.out, s.name + ".json")
        made_from = recipe(s, s.size or args.size, args.fps)
        if up_to_date(mp4, js, truth, made_from):
            print("gen_scenes: %s up to date" % s.name)
        else:
            todo.append((s, mp4, js, truth, made_from))
    if activity:
        activity_scene.make(args.out, street_geq(), FFMPEG)
    if not todo:
        return 0

    with tempfile.TemporaryDirectory(prefix="scenes-") as tmp:
        images = {}
        for s, _, _, _, _ in todo:
            size = s.size or args.size
            bg = "background_%dx%d" % size
            if bg not in images:
                images[bg] = os.path.join(tmp, bg + ".png")
                # Fine static grain on top of the drawn street gives
                # texture at the smallest scale.
                render_image(images[bg], size,
                             street_geq() + ",noise=alls=6:all_seed=7", "yuv444p", "rgb24")
            for m in s.movers:
                p = Placed(m, *size)
                key = look_key(p)
                if key not in images:
                    images[key] = os.path.join(tmp, key + ".png")
                    render_image(images[key], (p.w, p.h), LOOKS[m.look](), "rgba", "rgba")
        # Scenes are independent: encode two at a time.
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(write_scene, s, s.size or args.size, args.fps,
                                images, mp4, js, truth, made_from)
                    for s, mp4, js, truth, made_from in todo]
            for j in jobs:
                j.result()
    return 0


def write_scene(s, size, fps, images, mp4, js, truth, made_from):
    print("gen_scenes: %s ..." % s.name, flush=True)
    encode(s, size, fps, images, mp4)
    with open(js + ".part", "w") as f:
        f.write(truth)
    os.replace(js + ".part", js)
    with open(recipe_path(js), "w") as f:
        f.write(made_from + "\n")


if __name__ == "__main__":
    sys.exit(main())
