# Shared bats helpers: run a program natively and under the shim and
# compare what it printed and how it exited.
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

# Port helpers for servers: a free loopback port chosen by the kernel.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
		echo $((20000 + RANDOM % 20000))
}
