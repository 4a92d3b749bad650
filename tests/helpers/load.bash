# Shared bats helpers: run a program natively and under the shim and
# compare what it printed and how it exited; run a case on several worker
# counts; read counters from a stats report; start servers.
ROOT="$(cd "$BATS_TEST_DIRNAME/.." && pwd)"
SHIM="$ROOT/build/libevshim.so"
PROGS="$ROOT/build/progs"
DEMO="$ROOT/build/demo"
# Generous bound on any one run: a hang fails the test instead of CI.
T=${EVSHIM_TEST_TIMEOUT:-120}

run_native() { timeout "$T" "$@"; }
# LD_PRELOAD reaches only the program, not timeout(1) itself.
run_shim() { timeout "$T" env LD_PRELOAD="$SHIM" "$@"; }

# same_output PROG ARGS...: stdout and exit status must match byte for
# byte with and without the shim (EVSHIM_* in the environment apply to the
# shim run). The native transcript is left in $native for more checks.
same_output() {
	native="$(timeout "$T" "$@" 2>/dev/null; echo "exit=$?")"
	shimmed="$(timeout "$T" env LD_PRELOAD="$SHIM" "$@" 2>"$BATS_TEST_TMPDIR/shim.err"; echo "exit=$?")"
	if [ "$native" != "$shimmed" ]; then
		echo "--- native vs shim differ:"
		diff <(echo "$native") <(echo "$shimmed") || true
		echo "--- shim stderr:"; cat "$BATS_TEST_TMPDIR/shim.err"
		return 1
	fi
}

# on_workers N... -- CMD...: run CMD once for each worker count, with
# EVSHIM_WORKERS=N in its environment, as a plain command: the test's
# errexit applies inside it, and a failure ends the test after the line
# naming the count it failed on. Variables CMD sets ($native from
# same_output) are those of the last count.
on_workers() {
	local counts=() n
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do counts+=("$1"); shift; done
	shift
	for n in "${counts[@]}"; do
		echo "--- on $n worker(s)${EVSHIM_SWITCH:+, EVSHIM_SWITCH=$EVSHIM_SWITCH}: $*"
		EVSHIM_WORKERS=$n "$@"
	done
}

# stat_of NAME [FILE]: counter NAME of the EVSHIM_STATS report(s) in FILE
# (default $BATS_TEST_TMPDIR/st), summed over every report in it (each
# process of a program that forks appends its own); 0 when absent.
stat_of() {
	local f=${2:-$BATS_TEST_TMPDIR/st}
	if [ -f "$f" ]; then
		awk -v k="$1" '$1 == k {s += $2} END {print s + 0}' "$f"
	else
		echo 0
	fi
}

# Bounded waits: wait_until, catches, and for servers start_server,
# wait_server, listening (a plain-bash file scripts/serve-load.sh shares).
source "$BATS_TEST_DIRNAME/helpers/wait.bash"

# A free loopback port chosen by the kernel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}

# serve_and_load MODE CONNS ROUNDS LOADGEN-ARGS... -- SERVER ARGS...: start
# a demo server (MODE native, or shim: under the shim with the EVSHIM_* of
# the environment) that ends by itself after CONNS connections, drive it
# with loadgen (CONNS connections at once, ROUNDS rounds each, every
# response checked; "-s 1000" for echo, "-m http -u /FILE -F COPY" for
# http), and check that both succeeded.
serve_and_load() {
	local mode=$1 conns=$2 rounds=$3 load=() run=(timeout "$T")
	shift 3
	while [ "$#" -gt 0 ] && [ "$1" != -- ]; do load+=("$1"); shift; done
	shift
	[ "$mode" = shim ] && run+=(env LD_PRELOAD="$SHIM")
	local pf="$BATS_TEST_TMPDIR/port.$RANDOM"
	start_server "$pf" "${run[@]}" "$@" -n "$conns" -P "$pf"
	if ! "$DEMO/loadgen" -p "$port" -c "$conns" -r "$rounds" -t 100 "${load[@]}"; then
		kill "$server_pid"
		return 1
	fi
	wait "$server_pid"
}
