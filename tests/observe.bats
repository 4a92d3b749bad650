#!/usr/bin/env bats
# Seeing inside (issue 15): the task dump, the crash report, the logs and
# the statistics, on real programs.
load helpers/load

# seen FILE PATTERN: FILE has a line matching PATTERN (for wait_until).
seen() { grep -q "$2" "$1" 2> /dev/null; }

# dumps N: err holds N task dumps at least.
dumps() { [ "$(grep -c 'end of task dump' err)" -ge "$1" ]; }

@test "EVSHIM_DUMP=SIGUSR2: every task, what it waits on, the parking function and the program's in each backtrace" {
	cd "$BATS_TEST_TMPDIR"
	native=$(echo go | run_native "$PROGS/dump_waits")
	mkfifo in
	# timeout(1) is the background job; the program is its child
	(exec timeout 60 env EVSHIM_DUMP=SIGUSR2 LD_PRELOAD="$SHIM" "$PROGS/dump_waits" < in > out 2> err) &
	pid=$!
	exec 5> in
	wait_until "'waiting' in out" seen out '^waiting$' || { cat out; return 1; }
	# "waiting" is printed just before main's read: ask again until the
	# dump finds main parked in it (each dump ends with its own line)
	prog=$(pgrep -P "$pid")
	for i in $(seq 20); do
		kill -USR2 "$prog"
		wait_until "task dump $i" dumps "$i" || true
		awk '/: task dump \(/{d=""} {d=d $0 "\n"} END{printf "%s", d}' err > last
		grep -q '^task 0 .*: parked .* fd_in on fd 0' last && break
	done
	cp last err
	echo go >&5
	exec 5>&-
	wait "$pid"
	cat err
	[ "$(cat out)" = "$native" ]
	grep -Eq '^evshim\[[0-9]+\]: task dump \(SIGUSR2\): 5 tasks, [0-9]+ workers$' err
	# one entry per wait, each naming its object
	grep -Eq '^task [0-9]+ "on-socket" .*: parked [0-9.]+ s: fd_in on fd [0-9]+ \(socket\)' err
	grep -Eq '^task [0-9]+ "on-mutex" .*: parked [0-9.]+ s: mutex at 0x[0-9a-f]+' err
	grep -Eq '^task [0-9]+ "on-cond" .*: parked [0-9.]+ s: cond at 0x[0-9a-f]+' err
	grep -Eq '^task [0-9]+ "on-sleep" .*: parked [0-9.]+ s: sleep, until \+[0-9.]+ s' err
	grep -Eq '^task 0 "dump_waits" .*: parked [0-9.]+ s: fd_in on fd 0 \((pipe|other)\)' err
	# each backtrace: evs_park on top, the program's own function below
	for f in wait_socket wait_mutex wait_cond wait_sleep main; do
		awk -v f="$f" '/^task /{top=""; n=0} /^    #/{n++; if (n==1) top=$3} $3 ~ ("^" f "\\+") {print top}' err |
			grep -q '^evs_park+' || { echo "no evs_park above $f"; return 1; }
	done
}

# dump_target PROG...: PROG under the shim with EVSHIM_DUMP=USR2, in the
# background as $pid itself (env execs it), killed after 20 s if it hangs.
dump_target() {
	EVSHIM_DUMP=USR2 LD_PRELOAD="$SHIM" "$@" &
	pid=$!
	(sleep 20; kill -KILL "$pid" 2> /dev/null) > /dev/null 2>&1 &
	watchdog=$!
}

@test "the dump signal is the runtime's: the program's own sigaction for it is kept but not run" {
	cd "$BATS_TEST_TMPDIR"
	# sleep(1) under the shim: SIGUSR2 would kill it natively. Its one
	# task sleeps in the kernel itself and never starts the runtime
	# (docs/design.md, decision 21): the dump says so.
	dump_target sleep 2 2> err
	wait_until "a SIGUSR2 handler in $pid" catches "$pid" 12
	kill -USR2 "$pid"
	rc=0
	wait "$pid" || rc=$?
	kill "$watchdog" 2> /dev/null || true
	cat err
	[ "$rc" = 0 ]
	grep -q "task dump: the runtime has not started" err
	# two threads sleeping: the runtime runs (main, worker 1, the monitor
	# and the dump thread), and the dump lists the tasks
	dump_target python3 -c 'import threading, time
t = threading.Thread(target=time.sleep, args=(2,))
t.start()
time.sleep(2)
t.join()' 2> err2
	wait_until "a SIGUSR2 handler in $pid" catches "$pid" 12
	wait_until "the runtime's threads in $pid" more_threads_than "$pid" 3
	kill -USR2 "$pid"
	rc=0
	wait "$pid" || rc=$?
	kill "$watchdog" 2> /dev/null || true
	cat err2
	[ "$rc" = 0 ]
	grep -q "task dump (SIGUSR2)" err2
}

@test "a provable deadlock (two mutexes in opposite orders, main joining) prints the dump by itself" {
	cd "$BATS_TEST_TMPDIR"
	rc=0
	timeout 20 env LD_PRELOAD="$SHIM" "$PROGS/deadlock_ab" > out 2> err &
	pid=$!
	wait_until "a task dump in err" seen err 'end of task dump' || { cat err; return 1; }
	kill "$pid"
	wait "$pid" || rc=$?
	cat err
	[ "$(cat out)" = started ]
	grep -Eq '^evshim\[[0-9]+\]: deadlock: all 3 tasks wait on locks' err
	[ "$(grep -Ec '^task [0-9]+ .*: parked [0-9.]+ s: mutex at 0x' err)" -eq 2 ]
	grep -Eq '^task 0 .*: parked [0-9.]+ s: join for task [0-9]+' err
	grep -q ' ab+0x' err && grep -q ' ba+0x' err
}

@test "a busy program that is not deadlocked gets no dump" {
	run_shim "$PROGS/sync_prodcons" > /dev/null 2> "$BATS_TEST_TMPDIR/err"
	! grep -q "deadlock\|task dump" "$BATS_TEST_TMPDIR/err"
}

@test "a task that overflows its stack: the report names it, its size and the variable; status 139" {
	cd "$BATS_TEST_TMPDIR"
	# natively the default 8 MiB stack is plenty
	run_native "$PROGS/stack_hog" 4 > native
	grep -q '^sum ' native
	rc=0
	EVSHIM_STACK_SIZE=16k run_shim "$PROGS/stack_hog" 4 > out 2> err || rc=$?
	cat err
	[ "$rc" -eq 139 ]
	grep -Eq '^evshim\[[0-9]+\]: task 1 "stack_hog" \(tid [0-9]+\) on worker [0-9]+ overflowed its stack: 16 KiB' err
	grep -q 'EVSHIM_STACK_SIZE (now 16 KiB)' err
	grep -Eq '^    #[0-9]+ +0x[0-9a-f]+ deep\+0x[0-9a-f]+ \(stack_hog\)$' err
	# the shell sees the kernel's SIGSEGV
	sh -c "EVSHIM_STACK_SIZE=16k LD_PRELOAD='$SHIM' '$PROGS/stack_hog' 4 2> /dev/null; echo \$?" > status
	[ "$(cat status)" = 139 ]
	# and with a bigger stack it runs
	EVSHIM_STACK_SIZE=1m run_shim "$PROGS/stack_hog" 4 > big
	diff native big
}

# Natively a crash prints nothing: the report of a program's own fatal
# signal is opt-in (EVSHIM_LOG=info), so its stderr stays its own (CPython's
# test_faulthandler compares it; the default level printed it before).
@test "abort() in a task: silent at the default level as natively, status 134; its backtrace with EVSHIM_LOG=info" {
	cd "$BATS_TEST_TMPDIR"
	printf '#include <pthread.h>\n#include <stdlib.h>\nstatic void *run(void *p) { abort(); return p; }\nint main(void) { pthread_t t; pthread_create(&t, 0, run, 0); pthread_join(t, 0); return 0; }\n' > ab.c
	gcc -g -o ab ab.c -lpthread
	rc=0; ./ab 2> native.err || rc=$?
	[ "$rc" -eq 134 ] && [ ! -s native.err ]
	rc=0; EVSHIM_LOG=info env LD_PRELOAD="$SHIM" ./ab 2> err || rc=$?
	cat err
	[ "$rc" -eq 134 ]
	grep -Eq '^evshim\[[0-9]+\]: task 1 "ab" \(tid [0-9]+\) on worker [0-9]+: SIGABRT raised by the process itself' err
	grep -q ' abort+0x' err && grep -q ' run+0x' err
	rc=0; env LD_PRELOAD="$SHIM" ./ab 2> quiet || rc=$?
	[ "$rc" -eq 134 ] && [ ! -s quiet ]
	# a SIGSEGV sent from outside is not the task's: no report, the kernel's end
	env LD_PRELOAD="$SHIM" sleep 5 2> sent.err &
	pid=$!
	# once the shim's crash handler is in: the signal must meet it
	wait_until "a SIGSEGV handler in $pid" catches "$pid" 11
	kill -SEGV "$pid"
	rc=0; wait "$pid" || rc=$?
	[ "$rc" -eq 139 ] && [ ! -s sent.err ]
}

@test "the report survives a program that closes stderr (ls), names the program, breaks down fallbacks and parks" {
	cd "$BATS_TEST_TMPDIR"
	EVSHIM_STATS=1 run_shim ls / > /dev/null 2> err
	cat err
	grep -Eq '^evshim stats: ls \(pid [0-9]+\), ' err
	EVSHIM_STATS=1 run_shim "$PROGS/count_ops" 4 10 > out 2> err
	cat err
	grep -Eq '^  tasks_created +4$' err
	grep -Eq '^    park sleep +40$' err
	grep -Eq '^    fallback clock_nanosleep +4$' err
	grep -Eq '^  fallbacks +4$' err
	grep -Eq '^  kthreads_peak +[0-9]+$' err
}

@test "EVSHIM_STATS_FORMAT=json: one JSON object per process with the same counts" {
	cd "$BATS_TEST_TMPDIR"
	# bash, unlike dash, ends with exit(): its report is written too
	EVSHIM_STATS="$BATS_TEST_TMPDIR/s.json" EVSHIM_STATS_FORMAT=json \
		run_shim bash -c "'$PROGS/count_ops' 3 5 > /dev/null; true"
	cat s.json
	[ "$(wc -l < s.json)" -eq 2 ]   # bash and count_ops
	python3 - s.json <<'PY'
import json, sys
reps = [json.loads(l) for l in open(sys.argv[1])]
r = [x for x in reps if x["program"].endswith("count_ops")][0]
assert r["counters"]["tasks_created"] == 3, r
assert r["parks"]["sleep"] == 15, r
assert r["fallbacks"] == {"clock_nanosleep": 3}, r
assert r["counters"]["fallbacks"] == 3, r
assert r["kernel_threads_peak"] >= 2 and r["tasks_peak"] >= 3, r
for k in ("pid", "workers", "file_backend", "vol_ctxsw", "invol_ctxsw", "maxrss_kib"):
    assert k in r, k
assert any(x["program"] == "bash" for x in reps), reps
PY
}

@test "a forked child's report counts only the child: not its parent's fallbacks, stalls, tasks or kernel threads (varnishd)" {
	cd "$BATS_TEST_TMPDIR"
	same_output "$PROGS/fork_report"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/s.json" EVSHIM_STATS_FORMAT=json run_shim "$PROGS/fork_report"
	cat s.json
	[ "$(wc -l < s.json)" -eq 2 ]   # the child's line comes first: the parent waits for it
	python3 - s.json <<'PY'
import json, sys
child, parent = [json.loads(l) for l in open(sys.argv[1])]
assert parent["fallbacks"] == {"pthread_getcpuclockid": 4}, parent
assert parent["counters"]["fallbacks"] == 4, parent
assert child["fallbacks"] == {}, child
assert child["counters"]["fallbacks"] == 0, child
assert child["counters"]["tasks_created"] == 1, child
assert child["tasks_peak"] == 2, child
PY
}

@test "a process that leaves with _exit or _Exit still writes its report; a vfork child writes none (h2o, nghttpx)" {
	cd "$BATS_TEST_TMPDIR"
	for mode in main Exit child vfork; do
		same_output "$PROGS/exit_underscore" "$mode"
		rm -f s.json
		EVSHIM_STATS="$BATS_TEST_TMPDIR/s.json" EVSHIM_STATS_FORMAT=json run_shim "$PROGS/exit_underscore" "$mode" > /dev/null || true
		echo "$mode:"; cat s.json
		python3 - s.json "$mode" <<'PY'
import json, sys
reps = [json.loads(l) for l in open(sys.argv[1])]
mode = sys.argv[2]
created = [r["counters"]["tasks_created"] for r in reps]
# the child's report comes first: its parent waits for it
want = {"main": [3], "Exit": [3], "child": [2, 0], "vfork": [1]}[mode]
assert created == want, (mode, created)
PY
	done
}

@test "logs: silent by default, the start-up choices at info, each fallback at debug, all prefixed evshim[pid]:" {
	cd "$BATS_TEST_TMPDIR"
	run_shim "$PROGS/count_ops" 2 2 > out 2> err
	[ ! -s err ]
	EVSHIM_LOG=info run_shim "$PROGS/count_ops" 2 2 > out 2> err
	cat err
	grep -Eq '^evshim\[[0-9]+\]: evshim [0-9.]+ in count_ops: [0-9]+ workers .*file backend [a-z]+ \(' err
	grep -Eq '^evshim\[[0-9]+\]: runtime started: [0-9]+ workers? running tasks' err
	! grep -q fallback err
	EVSHIM_LOG=debug run_shim "$PROGS/count_ops" 2 2 > out 2> err
	grep -Eq '^evshim\[[0-9]+\]: fallback to the real clock_nanosleep ' err
	[ "$(grep -v '^evshim\[[0-9]*\]: ' err | wc -l)" -eq 0 ]
	[ "$(cat out)" = "2 threads x 2 sleeps" ]
}

@test "a rejected variable is reported once per process tree, with the value used" {
	cd "$BATS_TEST_TMPDIR"
	EVSHIM_WORKERS=lots run_shim sh -c 'sh -c true; true | cat' 2> err
	cat err
	[ "$(wc -l < err)" -eq 1 ]
	grep -Eq '^evshim\[[0-9]+\]: EVSHIM_WORKERS=lots rejected: expects a whole number from 1 to 64; using the default, [0-9]+$' err
}

@test "a forked child that gives up root writes its report to the EVSHIM_STATS file root created (apache's and nginx's workers); no fd of it before the first fork" {
	[ "$(id -u)" = 0 ] || skip "needs root"
	cd "$BATS_TEST_TMPDIR"
	same_output "$PROGS/drop_child"
	[[ "$native" == *"child: uid 65534"*"parent: child exited with 0"* ]]
	: > st  # root's, as after an earlier run
	EVSHIM_STATS="$PWD/st" run_shim "$PROGS/drop_child" > /dev/null 2> err
	cat st err
	[ "$(grep -c '^evshim stats: drop_child' st)" -eq 2 ]
	! grep -q 'cannot open the EVSHIM_STATS file' err
	# held from the first fork, not from start-up: a program that lists
	# its fds finds none of the runtime's (CPython's test_pass_fds_redirected)
	EVSHIM_STATS="$PWD/st" same_output ls /proc/self/fd
}

@test "a process that gives up root without forking (setuid, seteuid, setreuid, setresuid, chroot) still writes its report to a file only root may open (chronyd -Q)" {
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	cd "$BATS_TEST_TMPDIR"
	mkdir -m 700 private empty
	for how in setuid seteuid setreuid setresuid chroot; do
		same_output "$PROGS/drop_report" "$how" "$BATS_TEST_TMPDIR/empty"
		[[ "$native" == *"$how: 0"* ]]
		rm -f private/st
		EVSHIM_STATS="$BATS_TEST_TMPDIR/private/st" run run_shim "$PROGS/drop_report" "$how" "$BATS_TEST_TMPDIR/empty"
		echo "$how: $output"
		[ "$status" -eq 0 ]
		grep -q "drop_report" private/st
		[ "$(awk '$1 == "tasks_created" {print $2}' private/st)" -eq 1 ]
	done
}

@test "a vfork child that calls setuid leaves the parent's fds alone: every close of the parent's succeeds afterwards (the stats file is not opened in the child)" {
	cd "$BATS_TEST_TMPDIR"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/drop_report" vfork
	[[ "$native" == *"vfork: closes that failed: 0"* ]]
}
