#!/bin/bash
# scripts/pg-per-tx.sh MODE [LIB] [CLIENTS] [TX]: PostgreSQL 15's cost per
# pgbench transaction, natively (MODE native) or under the shim (MODE
# shim, LIB defaults to build/libevshim.so). A private cluster on
# 127.0.0.1 (made once in $PGW, default /tmp/evshim-pgw), the server tree
# under `perf stat` (CPU time, context switches, system calls, page
# faults, pgbench -i included), then pgbench tpcb-like -c CLIENTS -t TX
# (defaults 16 and 300). Needs root, postgresql-15 and perf. By hand
# only: the figures depend on the machine's load; compare runs made one
# after the other, alternating.
set -u
mode=${1:?native or shim}
lib=$(realpath "${2:-build/libevshim.so}")
c=${3:-16}
tx=${4:-300}
PGB=/usr/lib/postgresql/15/bin
D=${PGW:-/tmp/evshim-pgw}
port=${PGPORT:-15432}  # below the ephemeral range: a load just before leaves it full of client ports
if [ ! -d "$D/data" ]; then
	mkdir -p "$D" && chmod 777 "$D"
	runuser -u postgres -- "$PGB/initdb" -D "$D/data" -A trust > "$D/initdb.log" 2>&1 || exit 1
fi
env=()
[ "$mode" = shim ] && env=("LD_PRELOAD=$lib")
perf stat -e task-clock,context-switches,raw_syscalls:sys_enter,page-faults -o "$D/perf.$mode" \
	runuser -u postgres -- env "${env[@]}" "$PGB/postgres" -D "$D/data" -p $port -k "$D" \
	-c listen_addresses=127.0.0.1 -c max_connections=40 > "$D/server.log" 2>&1 &
for _ in $(seq 1 100); do
	runuser -u postgres -- "$PGB/pg_isready" -q -h 127.0.0.1 -p $port && break
	sleep 0.2
done
runuser -u postgres -- "$PGB/pgbench" -h 127.0.0.1 -p $port -i -s 1 -q postgres > "$D/init.log" 2>&1
timeout 600 runuser -u postgres -- "$PGB/pgbench" -h 127.0.0.1 -p $port -n -c "$c" -j 2 -t "$tx" \
	--random-seed=7 postgres > "$D/bench.$mode" 2>&1
if ! grep -E "^tps|processed" "$D/bench.$mode"; then
	echo "pgbench failed:"
	tail -n 3 "$D/init.log" "$D/bench.$mode" "$D/server.log"
fi
runuser -u postgres -- "$PGB/pg_ctl" -D "$D/data" -m fast -w stop > /dev/null 2>&1
wait
awk -v n=$((c * tx)) -v m="$mode" '
	{ gsub(",", "", $1) }
	/task-clock/ { cpu = $1 } /context-switches/ { cs = $1 } /sys_enter/ { sc = $1 }
	END { printf "%s per transaction: %.3f ms CPU, %.1f context switches, %.1f system calls\n", m, cpu / n, cs / n, sc / n }' "$D/perf.$mode"
