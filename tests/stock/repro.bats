#!/usr/bin/env bats
# The smallest programs that show, without the stock programs around them,
# what breaks those programs under the shim (/work/notes/stock-triage.md
# and docs/compatibility.md say which program each one stands for). Each
# is an ordinary pthread/socket program in tests/progs/; its transcript
# with the shim must be the native one, byte for byte. They fail until the
# runtime is fixed; that is their point.
load stock

# same PROG ARGS: run natively and under the shim, compare; the native
# transcript stays in $native so a test can check it shows the behaviour.
same() {
	local shimmed
	native="$(timeout 60 "$@" 2>/dev/null; echo "exit=$?")"
	shimmed="$(timeout 60 env LD_PRELOAD="$SHIM" "$@" 2>"$BATS_TEST_TMPDIR/shim.err"; echo "exit=$?")"
	echo "--- native:"; echo "$native"
	if [ "$native" != "$shimmed" ]; then
		echo "--- under the shim:"; echo "$shimmed"
		echo "--- shim stderr:"; tail -n 20 "$BATS_TEST_TMPDIR/shim.err"
		return 1
	fi
}

@test "pselect applies its signal mask (GNU make -j2)" {
	same "$PROGS/pselect_sigmask"
	[[ "$native" == *"mask: -1 EINTR"* ]]
}

@test "a signal cuts a blocking call short with EINTR (CPython signal, selectors, socketserver, socket)" {
	same "$PROGS/signal_eintr"
	[ "$(grep -c -- '-1 EINTR, handler ran, at once' <<< "$native")" = 5 ]
}

@test "live threads have distinct gettid() (CPython threading.get_native_id)" {
	same "$PROGS/gettid_unique"
	[[ "$native" == *"9 distinct"* ]]
}

@test "a listening socket shared by two processes stays blocking for both (Apache worker MPM)" {
	same "$PROGS/listener_two_procs"
	[[ "$native" == *"child B: listener blocking, accept() got a connection"* ]]
}

@test "a thread in sigtimedwait() does not stop the other threads (MariaDB signal thread, CPython test_sigwait_thread)" {
	same "$PROGS/sigwait_starves"
	[[ "$native" == *"main: 4"* ]]
}

@test "pause() returns only after the program's signal (CPython test_itimer_real)" {
	same "$PROGS/pause_wakes_early"
	[[ "$native" == *"had run: yes"* ]]
}

@test "a vfork child that opens a file leaves the parent's runtime alone (CPython subprocess, concurrent.futures)" {
	same "$PROGS/vfork_child_opens"
	[[ "$native" == *"from its thread: 1 'x'"* ]]
}

@test "a vfork child's close() leaves the parent's fd and its waiters alone (CPython subprocess)" {
	same "$PROGS/vfork_child_closes"
	[[ "$native" == *"read: 1 the byte"* ]]
}

@test "a __thread waiter whose address another thread uses gets its own answer (MariaDB group commit: sysbench prepare hung in COMMIT)" {
	same "$PROGS/tls_waiters"
	[[ "$native" == *"distinct waiters on the list 40"* ]]
}

@test "a thread that computes does not keep a thread in read() from its data (CPython concurrent.futures test_hang_global_shutdown_lock)" {
	EVSHIM_WORKERS=1 same "$PROGS/spin_fd_wake"
	[[ "$native" == *"the reader saw its byte: yes"* ]]
}
