#!/usr/bin/env bats
# GLib's own regression tests (Debian's libglib2.0-tests, GLib 2.74: the
# installed tests in /usr/libexec/installed-tests/glib), run natively and
# under the shim. Each binary is a GTest program that speaks TAP; under
# the shim it must end with the same exit status and the same TAP lines
# (every test case's number, path, ok / not ok / SKIP; a skip's reason and
# the timing are left out). The set covers what the shim takes over:
# threads, GMutex/GCond/GPrivate/GOnce, GAsyncQueue, GThreadPool,
# GMainContext across threads, timeouts, unix signal and fd sources, child
# watches, GSubprocess, GSocket, GCancellable, GTask's pool, and GDBus
# over a private dbus-daemon (GTestDBus) and peer-to-peer. About 65 s
# natively and 70 s under the shim on the 2-CPU CI machine.
load stock

GT=/usr/libexec/installed-tests/glib

# Test cases left out by request (-s), in both runs: fixed-duration or
# timing-heavy cases that would lengthen the suite without exercising more.
extra() {
	case $1 in
	timeout) echo "-s /timeout/rounding" ;;  # counts g_timeout_add_seconds for 10 s
	esac
}

setup() {
	need "$GT/mainloop" /usr/bin/dbus-daemon
}
teardown() { kill_groups; }

# tap_of LOG: the TAP results of a GTest run, one line each: "ok N path",
# "not ok N path", "ok N path # SKIP" (the reason dropped: some name the
# iterations a race took), the plan, and any bail-out.
tap_of() {
	sed -E -n -e 's/^((not )?ok [0-9]+)( [^#]*[^ #])? *# *SKIP.*/\1\3 # SKIP/p' \
		-e '/# *SKIP/!{/^(not )?ok [0-9]+( |$)/p}' -e '/^1\.\.[0-9]+/p' -e '/^Bail out!/p' "$1"
}

# glib MODE BINARY: run one test program in a fresh directory (its HOME
# and XDG_RUNTIME_DIR too, no display, no session bus) natively or under
# the shim, bounded; the native run must pass, the shim's must match it.
glib() {
	local mode=$1 prog=$2 dir log rc s
	dir="$BATS_TEST_TMPDIR/$prog.$mode"
	local STATS="$dir.stats"  # each program's own reports (stats_file)
	log="$dir.log"
	mkdir -p "$dir"
	cd "$dir"
	s=$SECONDS
	# shellcheck disable=SC2046
	TS=${EVSHIM_STOCK_GLIB_TIMEOUT:-90} start_bg glib env -u DISPLAY -u WAYLAND_DISPLAY \
		-u DBUS_SESSION_BUS_ADDRESS HOME="$dir" XDG_RUNTIME_DIR="$dir" \
		$(shim_env "$mode") "$GT/$prog" --tap -k $(extra "$prog")
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	rc=0
	wait "$BGPID" || rc=$?
	watch_stop "$BATS_TEST_TMPDIR/watch"
	cp "$BATS_TEST_TMPDIR/glib.log" "$log"
	mkdir -p "$ROOT/build/stock/glib"
	cp "$log" "$ROOT/build/stock/glib/"
	tap_of "$log" > "$BATS_TEST_TMPDIR/$prog.$mode.tap"
	echo "exit=$rc" >> "$BATS_TEST_TMPDIR/$prog.$mode.tap"
	local ok notok skip
	# (grep -c counts 0 with status 1)
	ok=$(grep -c '^ok [0-9]' "$log" || true)
	notok=$(grep -c '^not ok [0-9]' "$log" || true)
	skip=$(grep -c '# SKIP$' "$BATS_TEST_TMPDIR/$prog.$mode.tap" || true)
	record "glib/$prog" "$mode" seconds $((SECONDS - s))
	record "glib/$prog" "$mode" result "rc=$rc,ok=$ok,not_ok=$notok,skip=$skip"
	echo "$prog $mode: exit $rc, $ok ok ($skip skipped), $notok not ok"
	if [ "$mode" = native ]; then
		cp "$BATS_TEST_TMPDIR/$prog.$mode.tap" "$BATS_FILE_TMPDIR/$prog.native.tap"
		if [ "$rc" -ne 0 ] || [ "$notok" -ne 0 ]; then
			tail -n 25 "$log"
			return 1
		fi
		return 0
	fi
	record "glib/$prog" shim tasks_created "$(stat_max tasks_created)"
	record "glib/$prog" shim fallbacks "$(stat_sum fallbacks)"
	# The native results, from this file's native test (or made now when
	# only the shim's test was picked).
	if [ ! -f "$BATS_FILE_TMPDIR/$prog.native.tap" ]; then
		(glib native "$prog") > /dev/null || { echo "$prog fails natively"; return 1; }
	fi
	if ! diff "$BATS_FILE_TMPDIR/$prog.native.tap" "$BATS_TEST_TMPDIR/$prog.$mode.tap"; then
		echo "--- the TAP results differ (< native, > shim); last lines under the shim ($log):"
		tail -n 25 "$log"
		return 1
	fi
	# The shim ran the program (a report at exit) and, for the threaded
	# programs, its threads were tasks.
	[ "$(stat_reports)" -ge 1 ] || { echo "$prog: no report from the shim"; return 1; }
	shim_was_used "${MIN_TASKS:-1}"
}

# group MODE PROG...: each program in turn (a failure does not stop the
# others); fails naming every program that failed.
group() {
	local mode=$1 prog failed=""
	shift
	for prog in "$@"; do
		echo "--- $prog"
		glib "$mode" "$prog" || failed="$failed $prog"
	done
	[ -z "$failed" ] || { echo "failed:$failed"; return 1; }
}

# Threads and their synchronization.
THREADS=(asyncqueue cond thread thread-pool once private slice-concurrent)
@test "glib threads, locks, queues, pools natively" { group native "${THREADS[@]}"; }
@test "glib threads, locks, queues, pools under the shim" { group shim "${THREADS[@]}"; }
# Main loops, timeouts, signals, children.
LOOPS=(contexts mainloop unix spawn-multithreaded gsubprocess)
@test "glib main loops, unix signals, child watches, GSubprocess natively" { group native "${LOOPS[@]}"; }
@test "glib main loops, unix signals, child watches, GSubprocess under the shim" { group shim "${LOOPS[@]}"; }
# timeout and spawn-singlethread make no thread: under the shim their
# waits are the kernel's own (a lone task).
LONE=(timeout spawn-singlethread)
@test "glib single-threaded timeouts and spawns natively" { group native "${LONE[@]}"; }
@test "glib single-threaded timeouts and spawns under the shim" { MIN_TASKS=0 group shim "${LONE[@]}"; }
# Sockets and GIO's asynchronous machinery.
GIO=(socket socket-service unix-streams pollable cancellable task)
@test "glib GSocket, streams, GCancellable, GTask natively" { group native "${GIO[@]}"; }
@test "glib GSocket, streams, GCancellable, GTask under the shim" { group shim "${GIO[@]}"; }
# GDBus: a private dbus-daemon started by the test (GTestDBus), and
# peer-to-peer connections.
GDBUS=(gdbus-connection gdbus-connection-flush gdbus-connection-loss gdbus-close-pending
	gdbus-exit-on-close gdbus-non-socket gdbus-auth gdbus-peer gdbus-names gdbus-proxy-threads)
@test "glib GDBus natively" { group native "${GDBUS[@]}"; }
@test "glib GDBus under the shim" { group shim "${GDBUS[@]}"; }
