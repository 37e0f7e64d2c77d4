#!/bin/bash
# The built-in demo: camsim serves the synthetic scenes over RTSP, vigild
# watches them, vigil-console serves the monitoring room's pages on
# http://127.0.0.1:8490/ (login demo / demo-password), vigil-tail shows the
# alerts live. Ctrl-C stops everything
# this script started. Run through `make demo`, which builds first.
set -eu

cd "$(dirname "$0")/.."
B=build
LOG=$B/demo-data
CONF=config/demo.conf
mkdir -p "$LOG" "$LOG/thumbs"

for port in 8554 7700 7701 8490; do
	if (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
		echo "demo: port $port on 127.0.0.1 is in use; stop what uses it first" >&2
		exit 1
	fi
done

CAMSIM_PID=""
VIGILD_PID=""
CONSOLE_PID=""
stop() {
	trap - INT TERM EXIT
	[ -n "$CONSOLE_PID" ] && kill "$CONSOLE_PID" 2>/dev/null && wait "$CONSOLE_PID" 2>/dev/null
	[ -n "$VIGILD_PID" ] && kill "$VIGILD_PID" 2>/dev/null && wait "$VIGILD_PID" 2>/dev/null
	[ -n "$CAMSIM_PID" ] && kill "$CAMSIM_PID" 2>/dev/null && wait "$CAMSIM_PID" 2>/dev/null
	echo
	echo "demo: stopped (logs in $LOG/)"
}
trap stop INT TERM EXIT

"$B/camsim" --port 8554 walker=$B/scenes/walker.mp4 static=$B/scenes/static.mp4 \
	lights=$B/scenes/lights.mp4 >"$LOG/camsim.log" 2>&1 &
CAMSIM_PID=$!
# Wait (bounded) for the simulator to listen.
i=0
until grep -q '^camsim: ready' "$LOG/camsim.log" 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$CAMSIM_PID" 2>/dev/null; then
		echo "demo: camsim did not start:" >&2
		cat "$LOG/camsim.log" >&2
		exit 1
	fi
	sleep 0.1
done

ROOT_FLAG=""
[ "$(id -u)" -eq 0 ] && ROOT_FLAG=--allow-root
"$B/vigild" -c "$CONF" $ROOT_FLAG >"$LOG/vigild.log" 2>&1 &
VIGILD_PID=$!

# The console follows the demo instance; media come from vigild's HTTP
# API (its http group, token in the data directory) when configured.
cat >"$LOG/console.conf" <<CONF
listen = { bind = "127.0.0.1"; port = 8490; };
db = "$PWD/$LOG/console.db";
web_root = "$PWD/web";
nodes = ( { name = "demo"; alerts = "tcp://127.0.0.1:7700"; replay = "tcp://127.0.0.1:7701";
            http = "http://127.0.0.1:8491"; token_file = "$PWD/$LOG/http.token"; } );
CONF
if ! "$B/vigilctl" user passwd demo --db "$LOG/console.db" <<<"demo-password" >/dev/null 2>&1; then
	"$B/vigilctl" user add demo --role supervisor --db "$LOG/console.db" <<<"demo-password" >/dev/null
fi
"$B/vigil-console" -c "$LOG/console.conf" >"$LOG/console.log" 2>&1 &
CONSOLE_PID=$!

cat <<MSG
demo: console on http://127.0.0.1:8490/ (user demo, password demo-password);
demo: its log is $LOG/console.log
demo: camsim serves rtsp://127.0.0.1:8554/{walker,static,lights}
demo: vigild (pid $VIGILD_PID) watches them; its log is $LOG/vigild.log
demo: cam01 (walker) alerts for each person crossing, every 16 s;
demo: cam02 (static) and cam03 (lights switched on) stay quiet.
demo: thumbnails of start/update alerts go to $LOG/thumbs/.
demo: live alerts below; Ctrl-C stops the demo.

MSG
"$B/vigil-tail" -c "$CONF" --thumbnails "$LOG/thumbs" || true
