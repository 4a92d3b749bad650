#!/bin/bash
# make bench: figures, native vs evshim, measured side by side in one run.
# Never pass/fail on a number. Writes the table to stdout and, with
# gnuplot installed, build/bench/echo.png and build/bench/http.png.
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
B=$root/build/bench
S=$root/build/libevshim.so
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
shim() { env LD_PRELOAD="$S" "$@"; }
val() { awk -v k="$1" '$1 == k {print $2; exit}'; }
# BENCH_SECTIONS="micro files static monitor servers" (the default: all)
# runs a subset; BENCH_MODES sets the server rows (see below).
want() { [[ " ${BENCH_SECTIONS:-micro files static monitor servers postgres} " == *" $1 "* ]]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.1fx", a/b; else print "-" }'; }

echo "evshim benchmarks ($(date -u +%Y-%m-%d), $(nproc) CPUs, $(uname -r))"
echo
if want micro; then
echo "== the switch itself (build/bench/bench-switch, no preload)"
"$B/bench-switch"
echo
echo "== trapping unseen system calls (build/bench/trap_cost, no preload; docs/design.md decision 17)"
"$B/trap_cost"
echo
printf "%-44s %12s %12s %10s\n" "micro-benchmark (lower is better)" "native" "evshim" "native/shim"
# micro LABEL KEY NATIVE-PREFIX SHIM-ENV PROGRAM ARGS...: one row
micro() {
	local label=$1 key=$2 npre=$3 senv=$4; shift 4
	local n s
	n=$($npre "$@" | val "$key")
	s=$(env $senv LD_PRELOAD="$S" "$@" | val "$key")
	printf "%-44s %12s %12s %10s\n" "$label" "$n" "$s" "$(ratio "$n" "$s")"
}
one="taskset -c 0"
micro "thread hand-off, sched_yield, 1 CPU (ns)" handoff_ns "$one" EVSHIM_WORKERS=1 "$B/yield_turns" 200000
micro "  same, with 4 KiB of __thread data (ns)" handoff_ns "$one" EVSHIM_WORKERS=1 "$B/tls4k_turns" 200000
micro "semaphore hand-off, 1 CPU (ns)" handoff_ns "$one" EVSHIM_WORKERS=1 "$B/sem_pingpong" 100000
micro "mutex+condvar hand-off, 1 CPU (ns)" handoff_ns "$one" EVSHIM_WORKERS=1 "$B/cond_pingpong" 100000
micro "semaphore hand-off, $(nproc) CPUs/workers (ns)" handoff_ns "" "" "$B/sem_pingpong" 100000
micro "spawn+join, 1 worker (ns)" spawn_join_ns "" EVSHIM_WORKERS=1 "$B/spawn_join" 20000
micro "spawn+join, $(nproc) workers (ns)" spawn_join_ns "" "" "$B/spawn_join" 20000
micro "  same, each thread writing 32 KiB of stack (ns)" spawn_join_ns "" "" "$B/spawn_join" 5000 32
# A burst of new connections in a fresh process: no stack to reuse yet,
# so each first touch of a page is a page fault (20-40 us on this VM);
# each thread uses 16 KiB of its stack.
micro "1,000 threads at once: page faults each" faults_per_thread "" "" "$B/fresh_threads" 1000 16
micro "  same: start until all ran (ns per thread)" start_ns "" "" "$B/fresh_threads" 1000 16
"$B/sleep_wake" 100 100 > "$out/sn"; shim "$B/sleep_wake" 100 100 > "$out/ss"
printf "%-44s %12s %12s %10s\n" "sleep 1ms x100 x100 threads: oversleep (us)" "$(val oversleep_us < "$out/sn")" "$(val oversleep_us < "$out/ss")" ""
printf "%-44s %12s %12s %10s\n" "  CPU time used (ms)" "$(val cpu_ms < "$out/sn")" "$(val cpu_ms < "$out/ss")" "$(ratio "$(val cpu_ms < "$out/sn")" "$(val cpu_ms < "$out/ss")")"
n3=$("$B/pipe_pingpong" 100000 | val roundtrip_ns)
s3=$(shim "$B/pipe_pingpong" 100000 | val roundtrip_ns)
printf "%-44s %12s %12s %10s\n" "pipe ping-pong round trip (ns)" "$n3" "$s3" "$(ratio "$n3" "$s3")"
# A process's start and exit (exec, the loader, the shim's constructor,
# exit): 200 runs of /bin/true, both through env(1).
starts() {
	local t0 t1
	t0=$(date +%s%N)
	for _ in $(seq 200); do "$@" /bin/true; done
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 200000))
}
n4=$(starts env) s4=$(starts env LD_PRELOAD="$S")
printf "%-44s %12s %12s %10s\n" "exec of /bin/true, start to exit (us)" "$n4" "$s4" "$(ratio "$n4" "$s4")"
# A child made and waited for while a second thread exists (the waiter
# is not the process's only task): build/bench/fork_wait. posix_spawn's
# /bin/true inherits LD_PRELOAD, as a real child does.
micro "vfork + _exit + waitpid (us)" vfork_wait_us "" "" "$B/fork_wait" vfork 2000
micro "fork + _exit + waitpid (us)" fork_wait_us "" "" "$B/fork_wait" fork 300
micro "posix_spawn /bin/true + waitpid (us)" spawn_wait_us "" "" "$B/fork_wait" spawn 300
echo
fi

if want files; then
echo
echo "== files (4 threads; reads: 16 MiB x 3 passes in 64 KiB preads; writes: 16 MiB each in 4 KiB appends + fsync; MB/s, higher is better)"
printf "%-16s %8s %11s %11s %11s   %s\n" "" "native" "shim uring" "shim aio" "shim pool" "fast path (uring run)"
for mode in cached uncached direct write pwrite; do
	prog=file_read arg=$mode
	[ $mode = cached ] && arg=""
	[ $mode = write ] && prog=file_write arg=""
	[ $mode = pwrite ] && prog=file_write arg=pwrite
	nat=$("$B/$prog" "$out" $arg | val mb_per_s)
	EVSHIM_IO=uring EVSHIM_STATS="$out/fst" shim "$B/$prog" "$out" $arg > "$out/fu"
	EVSHIM_IO=aio shim "$B/$prog" "$out" $arg > "$out/fa"
	EVSHIM_IO=pool shim "$B/$prog" "$out" $arg > "$out/fp"
	fast=$(awk '$1 == "file_fast" {print $2}' "$out/fst"); miss=$(awk '$1 == "uring_ops" || $1 == "offloads" || $1 == "aio_ops" {s += $2} END {print s + 0}' "$out/fst")
	printf "%-16s %8s %11s %11s %11s   %s\n" "$mode" "$nat" "$(val mb_per_s < "$out/fu")" "$(val mb_per_s < "$out/fa")" \
		"$(val mb_per_s < "$out/fp")" \
		"$(awk -v f="$fast" -v m="$miss" 'BEGIN{ if (f + m) printf "%.0f%% of %d calls", 100 * f / (f + m), f + m }')"
	rm -f "$out/fst"
done
echo "uncached: pages dropped before each pass; direct: O_DIRECT (AIO serves it under EVSHIM_IO=aio); write, pwrite: 4 KiB appends, 4 KiB pwrites; ext4 refuses RWF_NOWAIT buffered writes, so every one goes to the backend"
fi

if want static; then
echo
echo "== static file server (http_server -s: open + fstat + sendfile per request; 100 connections x 20 requests of one file)"
mkdir -p "$out/static"
printf "%-24s %10s %10s %10s   %s\n" "" "native" "shim" "ratio" "shim: opens at once / sendfile read-aheads"
for f in 16k:16384 1m:1048576; do
	name=${f%%:*}; size=${f#*:}
	head -c "$size" /dev/urandom > "$out/static/$name.bin"
	mkdir -p "$out/expect"
	cp "$out/static/$name.bin" "$out/expect/$name.bin"  # loadgen reads this copy, not the served file
	sync "$out/static/$name.bin"  # dirty pages cannot be dropped
	for evict in cached uncached; do
		for mode in native shim; do
			[ $evict = uncached ] && dd if="$out/static/$name.bin" iflag=nocache count=0 status=none 2>/dev/null
			EVSHIM_STATS="$out/sst" "$root/scripts/serve-load.sh" $mode "$out" 100 20 "http:$out/expect/$name.bin" \
				"$root/build/demo/http_server" -s -d "$out/static" > /dev/null 2>&1 || true
			eval "r_$mode=\$(awk '\$1==\"elapsed_s\"{print \$4}' \"$out/$mode.load\")"
		done
		extra=""
		[ -f "$out/sst" ] && extra="$(awk '$1=="open_fast"{o=$2} $1=="sendfile_ahead"{a=$2} END{print o+0 " / " a+0}' "$out/sst")"
		rm -f "$out/sst"
		printf "%-24s %10s %10s %10s   %s\n" "$name $evict (req/s)" "$r_native" "$r_shim" "$(ratio "$r_shim" "$r_native")" "$extra"
	done
done
echo "uncached: the file's pages are dropped before the run (the first requests miss, the rest hit)"
# Against nginx (Debian's nginx-light, when installed): the same 16 KiB
# file, 1,000 connections x 10 keep-alive requests, every body checked.
NGINX=${BENCH_NGINX:-/usr/sbin/nginx}
if [ -x "$NGINX" ]; then
	echo
	echo "static files, 1000 connections x 10 requests of 16 KiB (req/s, p99 us): the thread-per-connection http_server -s vs nginx (2 worker processes, sendfile on, access log off)"
	for mode in native shim; do
		"$root/scripts/serve-load.sh" $mode "$out" 1000 10 "http:$out/expect/16k.bin" \
			"$root/build/demo/http_server" -s -d "$out/static" > /dev/null 2>&1 || true
		printf "  http_server %-8s %8s %9s\n" "$mode" "$(awk '$1=="elapsed_s"{print $4}' "$out/$mode.load")" \
			"$(awk '$1=="latency_us"{print $5}' "$out/$mode.load")"
	done
	nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	mkdir -p "$out/nginx"
	cat > "$out/nginx/nginx.conf" <<-EOF
	user root;
	worker_processes 2;
	worker_rlimit_nofile 8192;
	daemon off;
	pid $out/nginx/nginx.pid;
	error_log $out/nginx/error.log;
	events { worker_connections 4096; }
	http {
		access_log off;
		sendfile on;
		keepalive_requests 100000;
		client_body_temp_path $out/nginx;
		proxy_temp_path $out/nginx;
		fastcgi_temp_path $out/nginx;
		uwsgi_temp_path $out/nginx;
		scgi_temp_path $out/nginx;
		server { listen 127.0.0.1:$nport; root $out/static; }
	}
	EOF
	timeout 120 "$NGINX" -p "$out/nginx" -c "$out/nginx/nginx.conf" 2>/dev/null &
	npid=$!
	for _ in $(seq 100); do
		"$root/build/demo/loadgen" -p "$nport" -c 1 -r 1 -m http -u /16k.bin -F "$out/expect/16k.bin" -t 2 \
			> /dev/null 2>&1 && break
		sleep 0.1
	done
	"$root/build/demo/loadgen" -p "$nport" -c 1000 -r 10 -m http -u /16k.bin -F "$out/expect/16k.bin" -t 120 \
		> "$out/nginx.load" 2>&1
	kill -QUIT "$(cat "$out/nginx/nginx.pid" 2>/dev/null)" 2>/dev/null
	wait $npid 2>/dev/null
	printf "  nginx                %8s %9s   (%s)\n" "$(awk '$1=="elapsed_s"{print $4}' "$out/nginx.load")" \
		"$(awk '$1=="latency_us"{print $5}' "$out/nginx.load")" "$(awk '$1=="requests"{print $4 "/" $2 " verified"}' "$out/nginx.load")"
fi
fi

if want monitor; then
echo
echo "== the monitor (5 ms sleeps while two threads spin on the CPU; asked for 5000 us)"
printf "%-44s %12s %12s\n" "" "mean_us" "worst_us"
for m in native "shim 1 worker" "shim $(nproc) workers"; do
	case $m in
	native) "$B/tick_latency" > "$out/tl" ;;
	"shim 1 worker") EVSHIM_WORKERS=1 shim "$B/tick_latency" > "$out/tl" ;;
	*) shim "$B/tick_latency" > "$out/tl" ;;
	esac
	printf "%-44s %12s %12s\n" "$m" "$(val tick_mean_us < "$out/tl")" "$(val tick_worst_us < "$out/tl")"
done
echo "monitor cost on a busy server (echo, 1000 connections x 30 rounds, requests/s):"
for mon in 1 0; do
	EVSHIM_MONITOR=$mon "$root/scripts/serve-load.sh" shim "$out" 1000 30 echo "$root/build/demo/echo_server" ||
		echo "  (run failed)"
	printf "  EVSHIM_MONITOR=%s %10s\n" "$mon" "$(awk '$1=="elapsed_s"{print $4}' "$out/shim.load")"
done
echo
fi

if want servers; then
mkdir -p "$out/www"
head -c 16384 /dev/urandom > "$out/www/page.bin"
# Server rows: the thread-per-connection demo natively and under the shim
# with each EVSHIM_NET (sockets through the worker's io_uring, or epoll
# readiness), and the hand-written one-thread epoll server
# (demo/epoll_server.c, never preloaded) as the reference the shim is
# measured against.
MODES=${BENCH_MODES:-"native shim-uring shim-epoll ref"}
printf "%-6s %6s %-10s %8s %9s %9s %7s %7s %7s %7s %7s %8s %13s\n" server conns mode "req/s" "p50_us" "p99_us" \
	"sys/req" "cpu_us" "vcs/req" "ics/req" threads "rss_MiB" verified
run_case() {  # server conns rounds
	local srv=$1 conns=$2 rounds=$3
	for mode in $MODES; do
		local prog
		if [ "$srv" = echo ]; then
			prog=$root/build/demo/echo_server
			[ $mode = ref ] && prog=$root/build/demo/epoll_server
			"$root/scripts/serve-load.sh" $mode "$out" "$conns" "$rounds" echo "$prog"
		else
			prog=$root/build/demo/http_server
			[ $mode = ref ] && prog=$root/build/demo/epoll_server
			"$root/scripts/serve-load.sh" $mode "$out" "$conns" "$rounds" "http:$out/www/page.bin" \
				"$prog" -d "$out/www"
		fi
		local rc=$?
		local L=$out/$mode.load T=$out/$mode.stat
		local reqs=$((conns * rounds))
		local okn=$(awk '$1=="requests"{print $4}' "$L")
		local vcs=$(val vol_ctxsw < "$T") ics=$(val invol_ctxsw < "$T")
		local cs=$((vcs + ics))
		printf "%-6s %6s %-10s %8s %9s %9s %7s %7s %7s %7s %7s %8s %13s\n" "$srv" "$conns" "$mode" \
			"$(awk '$1=="elapsed_s"{print $4}' "$L")" "$(awk '$1=="latency_us"{print $3}' "$L")" \
			"$(awk '$1=="latency_us"{print $5}' "$L")" \
			"$(awk -v a="$(val syscalls < "$out/$mode.sys")" -v n=$reqs 'BEGIN{ if (a == "-") print "-"; else printf "%.2f", a/n}')" \
			"$(awk -v a="$(val cpu_s < "$T")" -v n=$reqs 'BEGIN{printf "%.1f", a * 1e6 / n}')" \
			"$(awk -v a=$vcs -v n=$reqs 'BEGIN{printf "%.3f", a/n}')" \
			"$(awk -v a=$ics -v n=$reqs 'BEGIN{printf "%.3f", a/n}')" \
			"$(val peak_threads < "$T")" "$(awk -v k="$(val maxrss_kib < "$T")" 'BEGIN{printf "%.1f", k/1024}')" \
			"$okn/$reqs$([ $rc = 0 ] || echo ' FAIL')"
		echo "$conns $(awk '$1=="elapsed_s"{print $4}' "$L") $(awk '$1=="latency_us"{print $5}' "$L") $(awk -v a=$cs -v n=$reqs 'BEGIN{printf "%.4f", a/n}') $(awk -v a="$(val syscalls < "$out/$mode.sys")" -v n=$reqs 'BEGIN{ if (a == "-") print "NaN"; else printf "%.3f", a/n}')" >> "$out/p.$srv.$mode"
		echo "$srv $conns $mode $(awk '$1=="elapsed_s"{print $4}' "$L") $(val syscalls < "$out/$mode.sys") $reqs" >> "$out/rows.dat"
	done
}
run_case echo 10 2000
run_case echo 100 300
run_case echo 1000 30
run_case echo 10000 3
run_case http 10 1000
run_case http 100 100
run_case http 1000 10
run_case http 10000 2
# One worker, at 1,000 connections: the load generator (one thread) runs
# on the same 2 CPUs, and a second worker competes with it for them
# (docs/benchmarks.md, 2026-12-03).
MODES="shim1-uring" run_case echo 1000 30
MODES="shim1-uring" run_case http 1000 10
echo
echo "requests/s against the epoll reference, and system calls per request, in this run:"
awk '{ rps[$1" "$2" "$3] = $4; sys[$1" "$2" "$3] = ($5 == "-" ? "-" : sprintf("%.2f", $5 / $6)); k[$1" "$2] = 1; m[$3] = 1 }
     END { for (c in k) { line = sprintf("  %-11s", c); r = rps[c" ref"];
		for (x in m) if (x != "ref" && (c" "x) in rps)
			line = line sprintf("  %s %.2fx ref, %s sys/req", x, r > 0 ? rps[c" "x] / r : 0, sys[c" "x]);
		print line } }' "$out/rows.dat" | sort -k1,1 -k2n
echo "ref: demo/epoll_server (one thread, epoll, level-triggered), not preloaded"
echo "sys/req: the server's system calls per request, from listening to exit (perf stat -e raw_syscalls:sys_enter; strace -c -f without perf)"
echo "cpu_us: the server's CPU time (user + system) per request, in microseconds (wait4 rusage)"
echo "vcs/req, ics/req: voluntary and involuntary context switches of the server process per request (wait4 rusage)"
echo "threads: peak kernel threads of the server (/proc, sampled every 2 ms)"
# Plots: for each server, requests/s, p99 latency, context switches and
# system calls per request against connections, one line per mode.
if command -v gnuplot >/dev/null; then
	for srv in echo http; do
		gnuplot -e "dir='$out'; srv='$srv'; modes='$MODES'; outfile='$B/$srv.png'" \
			"$root/scripts/bench-plot.gp" && echo "plot: build/bench/$srv.png"
	done
fi
fi

if want postgres; then
echo
echo "== PostgreSQL 15, a process per connection, each one task (scripts/pg-per-tx.sh: pgbench tpcb-like -c 16 -t 300, the server tree under perf stat, pgbench -i included)"
if [ -x /usr/lib/postgresql/15/bin/postgres ] && id postgres > /dev/null 2>&1 && [ "$(id -u)" = 0 ] &&
	perf stat -e raw_syscalls:sys_enter -o /dev/null true 2> /dev/null; then
	pgw=$(mktemp -d /tmp/evshim-pg.XXXXXX)  # the postgres user must reach it
	for mode in native shim native shim; do
		PGW="$pgw" "$root/scripts/pg-per-tx.sh" $mode "$root/build/libevshim.so" 16 300 2>&1 |
			grep -E "^tps|per transaction" | tr '\n' ' '
		echo
	done
	rm -rf "$pgw"
else
	echo "(skipped: needs root, perf and Debian's postgresql-15; make test-stock installs it)"
fi
fi
