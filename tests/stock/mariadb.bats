#!/usr/bin/env bats
# MariaDB (Debian's mariadb-server: one thread per connection) driven by
# sysbench oltp_read_only and oltp_read_write through its UNIX socket. A
# private instance: its own datadir, socket and pid file in the test's
# directory, no TCP at all (--skip-networking), run as root (--user=root).
# Every sysbench run must finish with 0 errors and 0 reconnects; after the
# read-write run the table must still hold every row and pass CHECK TABLE;
# the server must shut down cleanly.
load stock

MYSQLD=/usr/sbin/mariadbd
SB=/usr/bin/sysbench
ROWS=${EVSHIM_STOCK_DB_ROWS:-10000}
# Client connections: natively one kernel thread each.
DBCONNS=${EVSHIM_STOCK_DB_CONNS:-32}
DBTIME=${EVSHIM_STOCK_DB_TIME:-10}

setup() {
	need "$MYSQLD" /usr/bin/mariadb-install-db /usr/bin/mariadb /usr/bin/mariadb-admin "$SB"
	D="$BATS_TEST_TMPDIR/db"
	SOCK="$D/mysqld.sock"
}
teardown() { kill_groups; }

sql() {
	timeout -k 5 60 /usr/bin/mariadb --no-defaults -uroot --socket="$SOCK" "$@"
}

sysb() {  # test-name command [options]
	timeout -k 5 $((DBTIME + 120)) "$SB" "$1" --db-driver=mysql --mysql-socket="$SOCK" --mysql-user=root \
		--mysql-db=sbtest --tables=1 --table-size="$ROWS" "${@:2}"
}

mariadb() {
	local mode=$1
	mkdir -p "$D"
	timeout -k 5 120 /usr/bin/mariadb-install-db --no-defaults --user=root --datadir="$D/data" \
		--auth-root-authentication-method=socket --skip-test-db > "$BATS_TEST_TMPDIR/install.log" 2>&1 ||
		{ tail -n 20 "$BATS_TEST_TMPDIR/install.log"; return 1; }
	# shellcheck disable=SC2046
	start_bg mysqld $(shim_env "$mode") "$MYSQLD" --no-defaults --user=root --datadir="$D/data" \
		--socket="$SOCK" --pid-file="$D/mysqld.pid" --skip-networking --log-error="$D/error.log" \
		--innodb-buffer-pool-size=128M --max-connections=$((DBCONNS + 100))
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	local up=0 end=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$end" ]; do
		timeout -k 5 5 /usr/bin/mariadb-admin --no-defaults -uroot --socket="$SOCK" ping > /dev/null 2>&1 && { up=1; break; }
		kill -0 "$BGPID" 2>/dev/null || break
		sleep 0.2
	done
	if [ "$up" != 1 ]; then
		echo "mariadbd did not answer on $SOCK in 60 s"
		tail -n 5 "$D/error.log" "$BATS_TEST_TMPDIR/mysqld.log"
		dump_stacks "$(cat "$D/mysqld.pid" 2>/dev/null || pgrep -P "$(child "$BGPID")")"
		return 1
	fi
	local pid
	pid=$(cat "$D/mysqld.pid")
	sql -e 'CREATE DATABASE sbtest'
	sysb oltp_read_write --threads=4 prepare > "$BATS_TEST_TMPDIR/prepare.log" 2>&1 ||
		{ tail -n 20 "$BATS_TEST_TMPDIR/prepare.log"; return 1; }
	local t rc=0 peak=0 hung=0
	for t in oltp_read_only oltp_read_write; do
		# The thread count is sampled in the middle of the run.
		( sleep $((DBTIME / 2)); kthreads "$pid" > "$BATS_TEST_TMPDIR/threads.$t" ) 3>&- &
		if ! sysb "$t" --threads="$DBCONNS" --time="$DBTIME" --events=2000000 --report-interval=0 \
			--rand-type=uniform run > "$BATS_TEST_TMPDIR/$t.log" 2>&1; then
			rc=1 hung=1
			echo "$t: sysbench did not finish (exit status above 0):"
			tail -n 5 "$BATS_TEST_TMPDIR/$t.log"
			dump_stacks "$pid"
		fi
		wait $! || true
		sed -n '/SQL statistics/,$p' "$BATS_TEST_TMPDIR/$t.log" |
			grep -E 'transactions:|queries:|ignored errors|reconnects|avg:|95th|max:' || true
		local tps lat err rec th
		tps=$(awk '/transactions:/ {gsub(/\(/, "", $3); print $3}' "$BATS_TEST_TMPDIR/$t.log")
		lat=$(awk '/avg:/ {a = $2} /95th percentile:/ {p = $3} END {print a "/" p}' "$BATS_TEST_TMPDIR/$t.log")
		err=$(awk '/ignored errors:/ {print $3}' "$BATS_TEST_TMPDIR/$t.log")
		rec=$(awk '/reconnects:/ {print $2}' "$BATS_TEST_TMPDIR/$t.log")
		th=$(cat "$BATS_TEST_TMPDIR/threads.$t" 2>/dev/null || echo 0)
		[ "$th" -gt "$peak" ] && peak=$th
		record mariadb "$mode" "$t transactions/s" "${tps:-none}"
		record mariadb "$mode" "$t latency avg/p95 ms" "$lat"
		record mariadb "$mode" "$t kernel threads (mid-run)" "$th"
		[ "$err" = 0 ] && [ "$rec" = 0 ] || { echo "$t: errors ${err:-?}, reconnects ${rec:-?}"; rc=1; }
	done
	if [ "$hung" = 1 ]; then
		# A hung server would only make each check below wait for its bound.
		watch_stop "$BATS_TEST_TMPDIR/watch"
		return 1
	fi
	# The read-write transactions delete and re-insert the same ids: every
	# row must still be there, and the table and its index must agree.
	local rows check
	rows=$(sql -N -e 'SELECT COUNT(*) FROM sbtest.sbtest1')
	check=$(sql -N -e 'CHECK TABLE sbtest.sbtest1' | awk '{print $NF}')
	echo "rows $rows, CHECK TABLE $check"
	[ "$rows" = "$ROWS" ] && [ "$check" = OK ] || rc=1
	timeout -k 5 120 /usr/bin/mariadb-admin --no-defaults -uroot --socket="$SOCK" shutdown || rc=1
	wait_gone "$pid" 60 || { echo "mariadbd did not stop in 60 s"; rc=1; }
	reap_bg
	watch_stop "$BATS_TEST_TMPDIR/watch"
	record mariadb "$mode" "context switches vol/invol (rusage, whole run)" "$(rusage_of mysqld | awk '{print $1 "/" $2}')"
	record mariadb "$mode" "max RSS KiB" "$(rusage_of mysqld | awk '{print $3}')"
	grep -q 'Shutdown complete' "$D/error.log" || { echo "no clean shutdown in the error log"; rc=1; }
	grep -E '\[(ERROR|Warning)\]' "$D/error.log" | tail -n 10 || true
	[ "$rc" = 0 ]
	# 32 connections, each a kernel thread natively; as tasks, a few workers.
	[ "$mode" != shim ] || shim_served mariadb "$DBCONNS" "$peak"
}

@test "mariadb + sysbench oltp_read_only/read_write natively: 0 errors, clean shutdown" {
	mariadb native
}

@test "mariadb + sysbench oltp_read_only/read_write under the shim: 0 errors, few kernel threads" {
	mariadb shim
}
