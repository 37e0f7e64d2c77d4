#!/bin/sh
# Detection cost against decode cost, measured in the same run.
#
# build/detect-bench decodes a scene the way a camera thread does
# (libavcodec, one thread, loop filter skipped), and the way DESIGN.md's
# reference `ffmpeg -threads 1` does (loop filter on), then decodes again
# and runs the luma downscale and the detector plugins on every frame,
# timing each with the thread's CPU clock. It prints microseconds per
# frame and the share of the decode cost. Each run is repeated; the
# median of the runs is printed last. Target: detection under 10% of the
# decode cost of a 720p stream at 320 px analysis width.
#
# Usage: scripts/bench-detect.sh [SCENE.mp4] [RUNS]
set -eu
cd "$(dirname "$0")/.."
file=${1:-build/scenes/walker.mp4}
runs=${2:-5}
make -s all scenes >/dev/null
echo "bench-detect: $file, $runs runs, detectors motion,tamper at 320 px"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
i=0
while [ "$i" -lt "$runs" ]; do
	./build/detect-bench --repeat 2 "$file" | tee -a "$out" | sed 's/^/  /'
	i=$((i + 1))
done
for what in decode full downscale detect; do
	grep "^$what " "$out" | awk -v w="$what" '{ print $2 }' | sort -n |
		awk -v w="$what" '{ v[NR] = $1 } END { printf "median %-9s %8.1f us/frame\n", w, v[int((NR + 1) / 2)] }'
done | tee "$out.med"
awk '/decode/ { d = $3 } /full/ { f = $3 } /downscale/ { s = $3 } /detect / { t = $3 }
     END { printf "median ratio: downscale %.1f%%, detection %.1f%% of decode as vigild decodes\n", 100 * s / d, 100 * t / d
           printf "median ratio: downscale %.1f%%, detection %.1f%% of full decode (ffmpeg -threads 1)\n", 100 * s / f, 100 * t / f }' "$out.med"
rm -f "$out.med"
