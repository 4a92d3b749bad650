#!/bin/bash
# Run every test: the C unit tests (exit 0 pass, 77 skip, else fail) and
# the bats suites (TAP). The last line is the plain summary CI reads.
cd "$(dirname "$0")/.." || exit 2
pass=0 fail=0 skip=0
if [ -n "${EVSHIM_ASAN:-}" ]; then
	# The programs carry ASan; the shim is preloaded ahead of its runtime
	# (docs/testing.md), which ASan accepts with this option. Leak checks
	# are off: test programs end with detached threads still running.
	export ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}
fi
log=build/test.log
: > "$log"

# The layer check: no include or call goes up a layer (docs/design.md).
out=$(scripts/check-layers.sh 2>&1); rc=$?
echo "$out" >> "$log"
if [ $rc = 0 ]; then
	pass=$((pass + 1)); echo "ok   check-layers"
else
	fail=$((fail + 1)); echo "FAIL check-layers"; echo "$out" | sed 's/^/    /'
fi

# The unit tests of this tree's sources only: a binary left in build/unit
# by another checkout (a test since removed or renamed) does not count.
for src in tests/unit/test-*.c; do
	name=$(basename "$src" .c)
	u=build/unit/$name
	if [ ! -x "$u" ]; then
		fail=$((fail + 1)); echo "FAIL unit/$name (not built)"; continue
	fi
	out=$(timeout 120 "$u" 2>&1); rc=$?
	echo "$out" >> "$log"
	case $rc in
	0) pass=$((pass + 1)); echo "ok   unit/$name" ;;
	77) skip=$((skip + 1)); echo "skip unit/$name: $(echo "$out" | tail -n 1)" ;;
	*) fail=$((fail + 1)); echo "FAIL unit/$name (exit $rc)"; echo "$out" | tail -n 20 | sed 's/^/    /' ;;
	esac
done

# run_bats FILE LABEL [VAR=VALUE...]: one suite, its TAP lines counted.
run_bats() {
	local f=$1 label=$2; shift 2
	while IFS= read -r line; do
		echo "$line" >> "$log"
		case $line in
		"not ok "*) fail=$((fail + 1)); echo "FAIL $label: ${line#not ok }" ;;
		"ok "*"# skip"*) skip=$((skip + 1)); echo "skip $label: ${line#ok }" ;;
		"ok "*) pass=$((pass + 1)); echo "ok   $label: ${line#ok }" ;;
		"#"*) [ "$fail" -gt 0 ] && echo "    $line" ;;
		esac
	done < <(env "$@" bats --tap "$f" 2>&1)
}

for f in tests/*.bats; do
	[ -n "$EVSHIM_TESTS" ] && [[ "$f" != *"$EVSHIM_TESTS"* ]] && continue
	run_bats "$f" "${f#tests/}"
done

# The socket and synchronization suites once more with the other way a
# socket call waits (EVSHIM_NET, docs/testing.md): uring when the run
# above used the default (epoll), epoll when the caller chose uring for
# the whole run.
other_net=uring
[ "${EVSHIM_NET:-}" = uring ] && other_net=epoll
for f in tests/net.bats tests/sync.bats; do
	[ -n "$EVSHIM_TESTS" ] && [[ "$f" != *"$EVSHIM_TESTS"* ]] && continue
	run_bats "$f" "${f#tests/} [EVSHIM_NET=$other_net]" EVSHIM_NET=$other_net
done

# The last line is always the plain summary CI reads; skips go just above.
[ "$skip" -gt 0 ] && echo "($skip skipped: their reasons are on the skip lines above)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
