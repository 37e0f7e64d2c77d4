#!/bin/sh
# Recording cost against decode cost, per camera, on the walker scene (or
# the file given): prints CPU per second of video for single-thread
# decode (the reference) and for the recorder (ring only; ring + clip +
# snapshot + index), and their ratios, measured in the same run.
# The target is a recording cost under 2% of the decode cost.
set -eu
cd "$(dirname "$0")/.."
make -s build/bench-recorder scenes >/dev/null
exec build/bench-recorder "${1:-build/scenes/walker.mp4}" "${2:-5}"
