#!/usr/bin/env bats
# PostgreSQL 15 (Debian's postgresql-15): a process per connection, each
# a single thread; its lightweight locks wait on process-shared
# semaphores (sem_wait in shared memory, posted by other backends), its
# latches on a signalfd woken by kill(SIGUSR1), its commits on fdatasync.
# A private cluster in the test's directory (initdb, then the server, run
# as the postgres user, listening on 127.0.0.1 only), driven by pgbench's
# tpcb-like script: 8 clients x 150 transactions with a fixed seed. Each
# client's statements are then the same in every run, whatever their
# interleaving, so the balances' sums and the history's count are the
# same natively and under the shim; both runs must print the same line,
# with every transaction processed, none failed, and a clean shutdown.
load stock

PGB=/usr/lib/postgresql/15/bin
PGCLIENTS=${EVSHIM_STOCK_PG_CLIENTS:-8}
PGTX=${EVSHIM_STOCK_PG_TX:-150}

setup() {
	need "$PGB/postgres" "$PGB/initdb" "$PGB/pg_ctl" "$PGB/pgbench" "$PGB/psql" /usr/sbin/runuser
	id postgres > /dev/null 2>&1 || skip "no postgres user (Debian's postgresql-15 makes it)"
	D=$(mktemp -d /tmp/evshim-pg.XXXXXX)
	chmod 777 "$D"
}
teardown() {
	kill_groups
	rm -rf "$D"
}

as_pg() { timeout -k 5 120 /usr/sbin/runuser -u postgres -- "$@"; }

# pg MODE: initdb (itself under the shim in shim mode), the server, the
# load and the check; the check's line goes to $D/MODE.result.
pg() {
	local mode=$1 port
	port=$(free_port)
	STATS="$D/stats"
	: > "$STATS"
	chmod 666 "$STATS"
	# shellcheck disable=SC2046
	as_pg $(shim_env "$mode") "$PGB/initdb" -D "$D/$mode" -A trust > "$D/initdb.log" 2>&1 ||
		{ tail -n 20 "$D/initdb.log"; return 1; }
	# shellcheck disable=SC2046
	start_bg postgres /usr/sbin/runuser -u postgres -- $(shim_env "$mode") "$PGB/postgres" \
		-D "$D/$mode" -p "$port" -k "$D" -c listen_addresses=127.0.0.1 -c max_connections=40
	watch_start "$BGPID" "$BATS_TEST_TMPDIR/watch"
	local up=0 end=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$end" ]; do
		as_pg "$PGB/pg_isready" -q -h 127.0.0.1 -p "$port" && { up=1; break; }
		kill -0 "$BGPID" 2>/dev/null || break
		sleep 0.2
	done
	[ "$up" = 1 ] || { echo "postgres did not answer in 60 s"; cat "$BATS_TEST_TMPDIR/postgres.log"; return 1; }
	as_pg "$PGB/pgbench" -h 127.0.0.1 -p "$port" -i -s 1 -q postgres > "$D/init.log" 2>&1 ||
		{ tail -n 20 "$D/init.log"; return 1; }
	local rc=0
	as_pg "$PGB/pgbench" -h 127.0.0.1 -p "$port" -n -c "$PGCLIENTS" -j 2 -t "$PGTX" --random-seed=7 \
		postgres > "$D/$mode.bench" 2>&1 || rc=1
	grep -E 'processed|failed|^tps' "$D/$mode.bench" || cat "$D/$mode.bench"
	local want=$((PGCLIENTS * PGTX))
	grep -q "number of transactions actually processed: $want/$want" "$D/$mode.bench" || rc=1
	grep -q "number of failed transactions: 0 " "$D/$mode.bench" || rc=1
	record postgres "$mode" tps "$(awk '/^tps/ {print int($3)}' "$D/$mode.bench")"
	as_pg "$PGB/psql" -h 127.0.0.1 -p "$port" -At -c \
		"SELECT (SELECT sum(abalance) FROM pgbench_accounts), (SELECT sum(bbalance) FROM pgbench_branches), (SELECT sum(tbalance) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_history)" \
		postgres > "$D/$mode.result" 2>&1 || rc=1
	echo "$mode: $(cat "$D/$mode.result")"
	as_pg "$PGB/pg_ctl" -D "$D/$mode" -m fast -w stop > "$D/stop.log" 2>&1 || { cat "$D/stop.log"; rc=1; }
	wait_gone "$BGPID" 30 || { echo "postgres did not exit"; rc=1; }
	reap_bg
	return $rc
}

@test "postgres natively: pgbench tpcb-like, every transaction, balances summed" {
	pg native
}

@test "postgres under the shim: the same sums and count as natively, every transaction, clean stop" {
	pg native
	pg shim
	# a single-threaded program: no task is created, but every process
	# ran under the shim and wrote its report
	echo "shim reports: $(stat_reports), fallbacks $(stat_sum fallbacks)"
	[ "$(stat_reports)" -ge 3 ]
	diff "$D/native.result" "$D/shim.result"
	[ "$(cut -d'|' -f4 "$D/shim.result")" = "$((PGCLIENTS * PGTX))" ]
}
