#!/usr/bin/env bats
# Stock third-party programs, unmodified, natively and under the shim.
load helpers/load

PY=/usr/bin/python3

# CPython's http.server is a ThreadingHTTPServer: a thread per connection,
# GIL and all (mutex + condition variable with timed waits), poll() in the
# accept loop, HTTP/1.0 (one request per connection, listen backlog 5, so
# the load comes in batches of 4 connections).
python_http() {  # mode
	local pre=()
	[ "$1" = shim ] && pre=(env LD_PRELOAD="$SHIM" EVSHIM_STATS="$BATS_TEST_TMPDIR/stats")
	mkdir -p "$BATS_TEST_TMPDIR/www"
	[ -f "$BATS_TEST_TMPDIR/www/f.bin" ] || head -c 30000 /dev/urandom > "$BATS_TEST_TMPDIR/www/f.bin"
	port=$(free_port)
	start_server "$port" timeout 120 "${pre[@]}" "$PY" -m http.server "$port" --bind 127.0.0.1 \
		--directory "$BATS_TEST_TMPDIR/www" 2> "$BATS_TEST_TMPDIR/py.$1.log" ||
		{ cat "$BATS_TEST_TMPDIR/py.$1.log"; return 1; }
	local spid=$server_pid ok=0
	for _ in $(seq 25); do
		"$DEMO/loadgen" -p "$port" -c 4 -r 1 -m http -u /f.bin -F "$BATS_TEST_TMPDIR/www/f.bin" -t 30 \
			> /dev/null && ok=$((ok + 4))
	done
	# SIGINT to python itself: timeout(1) would pass it on to python and
	# to its whole process group, a second SIGINT that can end python
	# by the signal mid-shutdown (then no exit report is written)
	kill -INT "$(pgrep -P "$spid")" 2> /dev/null || kill -INT "$spid"
	local st=0
	wait "$spid" || st=$?
	echo "$1: $ok/100 responses byte-checked; the server exited with status $st"
	[ "$ok" -eq 100 ]
	# http.server ends with sys.exit(0) on the KeyboardInterrupt
	[ "$st" -eq 0 ]
}

@test "python3 -m http.server: 100 requests natively" {
	[ -x "$PY" ] || skip "no $PY"
	python_http native
}

@test "python3 -m http.server: 100 requests under the shim, each in a task" {
	[ -x "$PY" ] || skip "no $PY"
	python_http shim
	cat "$BATS_TEST_TMPDIR/stats"
	[ "$(stat_of tasks_created "$BATS_TEST_TMPDIR/stats")" -ge 100 ]
}
