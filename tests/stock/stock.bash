# Helpers shared by the stock-program suites (tests/stock/*.bats): stock
# Debian programs run natively and under the shim on 127.0.0.1, a bounded
# load, every answer checked, figures recorded (never asserted).
ROOT="$(cd "$BATS_TEST_DIRNAME/../.." && pwd)"
SHIM="$ROOT/build/libevshim.so"
PROGS="$ROOT/build/progs"
DEMO="$ROOT/build/demo"
# Bound on one program run: a hang fails the test instead of CI.
TS=${EVSHIM_STOCK_TIMEOUT:-300}
# Figures (throughput, context switches, kernel threads) go here, one
# "suite<TAB>mode<TAB>name<TAB>value" line each; docs/compatibility.md is
# written from them.
FIG=${EVSHIM_STOCK_FIGURES:-$ROOT/build/stock/figures.tsv}
# No process of a server may grow past this (KiB): the watchdog kills the
# whole process group (Apache under a broken shim was seen at 20 GB).
RSS_LIMIT=${EVSHIM_STOCK_RSS_LIMIT:-1048576}
# Address-space bound (ulimit -v, KiB) for servers started with start_bg
# when a suite sets VMEM_LIMIT: a runaway fails its allocations instead of
# taking the machine's memory before the watchdog's next look.
mkdir -p "$(dirname "$FIG")"

free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# record SUITE MODE NAME VALUE: one figure, kept in $FIG and shown in the
# TAP output as a comment.
record() {
	printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >> "$FIG"
	echo "# figure: $1 $2 $3 = $4" >&3
}

# The shim's statistics file (every process under the shim appends its
# report at exit); a suite whose programs change user moves it.
stats_file() { echo "${STATS:-$BATS_TEST_TMPDIR/stats}"; }

# shim_env MODE: the words that put a command under the shim (nothing
# natively). Statistics are appended to stats_file.
shim_env() {
	if [ "$1" = shim ]; then
		echo env LD_PRELOAD="$SHIM" EVSHIM_STATS="$(stats_file)"
	else
		echo env
	fi
}

# stat_max NAME: the largest value of a counter over every report in the
# statistics file (one report per process that ran under the shim).
stat_max() {
	awk -v n="$1" '$1 == n && $2 + 0 > m {m = $2 + 0} END {print m + 0}' "$(stats_file)" 2>/dev/null || echo 0
}
stat_sum() {
	awk -v n="$1" '$1 == n {s += $2} END {print s + 0}' "$(stats_file)" 2>/dev/null || echo 0
}
stat_reports() {
	awk '/^evshim stats:/ {c++} END {print c + 0}' "$(stats_file)" 2>/dev/null || echo 0
}

# kthreads PID: the kernel threads of one process now (0 when gone).
kthreads() {
	awk '/^Threads:/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0
}

# tree PID: "processes threads rss_max_kib rss_sum_kib" of PID and every
# descendant, now.
tree() {
	ps -e -o pid=,ppid=,nlwp=,rss= | awk -v r="$1" '
		{ p[$1] = $2; n[$1] = $3; s[$1] = $4 }
		END {
			for (i in p) {
				j = i; k = 0
				while (j != r && j in p && k++ < 64) j = p[j]
				if (j == r) { c++; t += n[i]; if (s[i] > m) m = s[i]; sum += s[i] }
			}
			print c + 0, t + 0, m + 0, sum + 0
		}'
}

# child PID: the first child of a process (the server under time/timeout).
child() {
	pgrep -P "$1" | head -n 1
}

# watch_start PID OUT: in the background, every 0.2 s until PID is gone
# (at most $TS s), keep the peak of the tree's kernel threads and of any
# one process's RSS in OUT ("threads rss_max_kib rss_sum_kib"); a process
# past $RSS_LIMIT KiB gets its whole process group killed and OUT.runaway
# says so. watch_stop ends it.
watch_start() {
	local pid=$1 out=$2
	(
		pt=0 pr=0 ps=0 end=$((SECONDS + TS))
		while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$end" ]; do
			read -r _ t r s < <(tree "$pid")
			[ "$t" -gt "$pt" ] && pt=$t
			[ "$r" -gt "$pr" ] && pr=$r
			[ "$s" -gt "$ps" ] && ps=$s
			echo "$pt $pr $ps" > "$out.tmp" && mv "$out.tmp" "$out"
			if [ "$r" -gt "$RSS_LIMIT" ]; then
				echo "a process passed $RSS_LIMIT KiB RSS: killed" > "$out.runaway"
				kill -KILL -- "-$pid" 2>/dev/null
				kill -KILL "$pid" 2>/dev/null
				break
			fi
			sleep 0.2
		done
	) 3>&- &
	echo $! > "$out.watcher"
}
watch_stop() {
	local w
	w=$(cat "$1.watcher" 2>/dev/null) || return 0
	kill "$w" 2>/dev/null || true
	wait "$w" 2>/dev/null || true
}

# threads_now PID: kernel threads of the tree now.
threads_now() {
	tree "$1" | awk '{print $2}'
}

# start_bg NAME CMD...: start a server in a process group of its own
# (setsid: the group id is the pid; timeout --foreground keeps the server
# in it, where plain timeout would make a group of its own that the
# watchdog and teardown would miss), under GNU time (its rusage, with the
# server's waited-for children, goes to $BATS_TEST_TMPDIR/NAME.time) and
# timeout; output to $BATS_TEST_TMPDIR/NAME.log. Sets BGPID (time's pid,
# the group). teardown's kill_groups ends whatever is left.
start_bg() {
	local name=$1
	shift
	local limit=()
	[ -n "${VMEM_LIMIT:-}" ] && limit=(/bin/sh -c 'ulimit -v "$0" && exec "$@"' "$VMEM_LIMIT")
	setsid /usr/bin/time -o "$BATS_TEST_TMPDIR/$name.time" -f '%w %c %M %e' \
		timeout --foreground -k 10 "$TS" "${limit[@]}" "$@" > "$BATS_TEST_TMPDIR/$name.log" 2>&1 3>&- &
	BGPID=$!
	echo "$BGPID" >> "$BATS_TEST_TMPDIR/groups"
}

# rusage_of NAME: "voluntary involuntary maxrss_kib elapsed_s" of a
# finished start_bg run (empty if it was killed).
rusage_of() {
	tail -n 1 "$BATS_TEST_TMPDIR/$1.time" 2>/dev/null
}

kill_groups() {
	local g
	for g in $(cat "$BATS_TEST_TMPDIR/groups" 2>/dev/null); do
		kill -KILL -- "-$g" 2>/dev/null || true
	done
	rm -f "$BATS_TEST_TMPDIR/groups"
}

# wait_gone PID SECONDS: wait until a process has exited; 1 if it has not.
wait_gone() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# need FILE...: skip when a program is missing (make test-stock installs
# them as root; scripts/stock-deps.sh prints the apt-get line otherwise).
need() {
	local f
	for f in "$@"; do
		[ -e "$f" ] || skip "$f is missing: run scripts/stock-deps.sh"
	done
}

# shim_was_used: the statistics show the shim ran the program's threads
# as tasks (the file exists only if the shim ran and reached exit).
shim_was_used() {
	local created
	created=$(stat_max tasks_created)
	echo "shim: $(stat_reports) report(s), tasks_created max $created, fallbacks sum $(stat_sum fallbacks)"
	[ "$created" -ge "${1:-1}" ]
}

# answers_http PORT URL FILE [LOADGEN-ARGS...]: waits up to 30 s for the
# server started by start_bg to answer one GET of URL with FILE's bytes;
# fails when it never does, or exits first.
answers_http() {
	local port=$1 url=$2 file=$3 end=$((SECONDS + 30))
	shift 3
	while [ "$SECONDS" -lt "$end" ]; do
		"$DEMO/loadgen" -p "$port" -c 1 -r 1 -m http -u "$url" -F "$file" -t 2 "$@" \
			> /dev/null 2>&1 && return 0
		kill -0 "$BGPID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# shim_served NAME CONNS PEAK [sum]: a server's run under the shim made at
# least CONNS tasks in one process, and its peak kernel threads (PEAK)
# stayed under CONNS, as they would not had each connection kept a kernel
# thread; tasks_created (the largest process's, or with "sum" all of them)
# and fallbacks go to the figures.
shim_served() {
	shim_was_used "$2"
	record "$1" shim tasks_created "$(stat_"${4:-max}" tasks_created)"
	record "$1" shim fallbacks "$(stat_sum fallbacks)"
	[ "$3" -lt "$2" ] || { echo "$1: kernel threads peak $3 with $2 connections: the threads were not tasks"; return 1; }
}

# dump_stacks PID: on a failure, each kernel thread's top frames (gdb),
# so the test output shows where a hung server waits.
dump_stacks() {
	[ -x /usr/bin/gdb ] && kill -0 "$1" 2>/dev/null || return 0
	echo "--- kernel threads of $1 (gdb):"
	timeout 30 gdb -p "$1" -batch -ex 'thread apply all bt 6' 2>/dev/null |
		grep -E '^Thread|^#[0-5] ' | sed 's/ (.*) at / at /' | cut -c1-140 | head -n 60
}

# reap_bg: wait for the start_bg server (time and timeout exit with it,
# and time writes the rusage); if anything else of its process group is
# still there 2 s on, kill the group first.
reap_bg() {
	local i
	for ((i = 0; i < 20; i++)); do
		[ "$(pgrep -g "$BGPID" | wc -l)" -le 2 ] && break
		sleep 0.1
	done
	[ "$(pgrep -g "$BGPID" | wc -l)" -le 2 ] || kill -KILL -- "-$BGPID" 2>/dev/null || true
	wait "$BGPID" 2>/dev/null || true
}
