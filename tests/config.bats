#!/usr/bin/env bats
# Configuration: bad values get one clear line and change nothing else;
# EVSHIM_DISABLE passes everything through; only hooks are exported.
load helpers/load

@test "a bad EVSHIM_WORKERS is rejected with one line and the program still runs" {
	EVSHIM_WORKERS=lots run_shim "$PROGS/threads_many" > "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	grep -q "created 5000 threads" "$BATS_TEST_TMPDIR/out"
	[ "$(wc -l < "$BATS_TEST_TMPDIR/err")" -eq 1 ]
	grep -q "EVSHIM_WORKERS=lots rejected: expects a whole number from 1 to 64" "$BATS_TEST_TMPDIR/err"
}

@test "bad values of every variable are named with what they accept" {
	for kv in EVSHIM_STACK_SIZE=12x EVSHIM_STATS=maybe EVSHIM_LOG=loud \
		  EVSHIM_SWITCH=fast EVSHIM_DISABLE=yes EVSHIM_WORKERS=0 EVSHIM_STACK_SIZE=1k \
		  EVSHIM_SPIN=-1 EVSHIM_POOL_MAX=0 EVSHIM_IO=kaio EVSHIM_MONITOR=2 \
		  EVSHIM_MAX_WORKERS=100 EVSHIM_STATS_FORMAT=xml EVSHIM_DUMP=SIGKILL \
		  EVSHIM_DUMP=SIGSEGV EVSHIM_DUMP=USR9 EVSHIM_NET=fast EVSHIM_PIPES=fast; do
		env "$kv" LD_PRELOAD="$SHIM" "$PROGS/threads_many" > /dev/null 2> "$BATS_TEST_TMPDIR/err"
		echo "$kv: $(cat "$BATS_TEST_TMPDIR/err")"
		grep -q "^evshim\[[0-9]*\]: ${kv} rejected: expects .*; using the default, " "$BATS_TEST_TMPDIR/err"
	done
}

@test "EVSHIM_STATS=1 reports tasks at exit; EVSHIM_DISABLE=1 makes the shim a no-op" {
	EVSHIM_STATS=1 run_shim "$PROGS/threads_many" 2> "$BATS_TEST_TMPDIR/err"
	grep -Eq "^  tasks_created +5000$" "$BATS_TEST_TMPDIR/err"
	EVSHIM_DISABLE=1 EVSHIM_STATS=1 run_shim "$PROGS/threads_many" 2> "$BATS_TEST_TMPDIR/err2"
	! grep -q "tasks_created" "$BATS_TEST_TMPDIR/err2"
}

@test "EVSHIM_STATS=path writes the report to that file" {
	EVSHIM_STATS="$BATS_TEST_TMPDIR/stats.txt" run_shim "$PROGS/threads_many" > /dev/null
	grep -Eq "^  tasks_created +5000$" "$BATS_TEST_TMPDIR/stats.txt"
}

@test "the library exports exactly the hooked names and the public API" {
	nm -D --defined-only "$SHIM" | awk '{print $3}' | sort > "$BATS_TEST_TMPDIR/exported"
	{ sed -n 's/^R(\([A-Za-z_0-9]*\),.*/\1/p' "$ROOT/src/libc/real.def"
	  grep -o 'evshim_[a-z_]*(' "$ROOT/include/evshim.h" | tr -d '(' ; } | sort -u > "$BATS_TEST_TMPDIR/expected"
	diff "$BATS_TEST_TMPDIR/expected" "$BATS_TEST_TMPDIR/exported"
}

@test "interposition happens for versioned requests (pthread_create@GLIBC_2.34)" {
	# the program binds pthread_create@GLIBC_2.34; the stats prove the
	# shim's unversioned definition served it.
	objdump -T "$PROGS/threads_many" | grep -q 'pthread_create'
	EVSHIM_STATS=1 run_shim "$PROGS/threads_many" 2> "$BATS_TEST_TMPDIR/err" > /dev/null
	grep -Eq "^  tasks_created +5000$" "$BATS_TEST_TMPDIR/err"
}

@test "a command that never parks nor makes a thread starts light: no io_uring ring, no thread, at most 120 page faults more than natively (/bin/true, ls)" {
	# rt/worker.c: the runtime starts at the first park or pthread_create;
	# rt/fileio.c: the file backend is chosen then; rt/signal.c: the signal
	# records are touched when used (building their free list at start-up
	# faulted in 160 pages of every process)
	command -v strace > /dev/null || skip "strace not installed"
	for prog in /bin/true "ls /"; do
		strace -f -o "$BATS_TEST_TMPDIR/tr" env LD_PRELOAD="$SHIM" $prog > /dev/null
		! grep -E 'io_uring_setup|clone' "$BATS_TEST_TMPDIR/tr"
		native=$(python3 "$BATS_TEST_DIRNAME/helpers/minflt.py" env $prog)
		shimmed=$(python3 "$BATS_TEST_DIRNAME/helpers/minflt.py" env LD_PRELOAD="$SHIM" $prog)
		echo "$prog: $native page faults natively, $shimmed under the shim"
		[ "$shimmed" -le $((native + 120)) ]
	done
}

@test "a cgroup CPU quota below the CPUs sets the default worker count (rounded up); EVSHIM_WORKERS still overrides it; the program runs the same" {
	[ "$(nproc)" -ge 2 ] || skip "one CPU: a quota cannot lower the count"
	local base=
	for d in /sys/fs/cgroup/cpu /sys/fs/cgroup/cpu,cpuacct; do
		[ -w "$d/cgroup.procs" ] && base=$d && break
	done
	[ -n "$base" ] || skip "no writable cgroup v1 cpu hierarchy (root, cgroup v1 cpu controller)"
	local cg=$base/evshim-test-$$
	mkdir "$cg"
	echo 100000 > "$cg/cpu.cfs_period_us"
	echo 100000 > "$cg/cpu.cfs_quota_us"   # one CPU
	# shellcheck disable=SC2016
	inside() { sh -c 'echo $$ > "$0/cgroup.procs"; shift; exec "$@"' "$cg" x "$@"; }
	EVSHIM_STATS=1 run_shim "$PROGS/threads_many" > "$BATS_TEST_TMPDIR/out0" 2> "$BATS_TEST_TMPDIR/err0"
	inside env EVSHIM_STATS=1 LD_PRELOAD="$SHIM" "$PROGS/threads_many" > "$BATS_TEST_TMPDIR/out1" 2> "$BATS_TEST_TMPDIR/err1"
	echo 150000 > "$cg/cpu.cfs_quota_us"   # 1.5 CPUs: rounded up
	inside env EVSHIM_STATS=1 LD_PRELOAD="$SHIM" "$PROGS/threads_many" > "$BATS_TEST_TMPDIR/out2" 2> "$BATS_TEST_TMPDIR/err2"
	echo 100000 > "$cg/cpu.cfs_quota_us"
	inside env EVSHIM_WORKERS=2 EVSHIM_STATS=1 LD_PRELOAD="$SHIM" "$PROGS/threads_many" > "$BATS_TEST_TMPDIR/out3" 2> "$BATS_TEST_TMPDIR/err3"
	rmdir "$cg" 2>/dev/null || true
	grep -h 'workers configured' "$BATS_TEST_TMPDIR"/err[0-3]
	grep -q ", $(nproc) workers configured" "$BATS_TEST_TMPDIR/err0"
	grep -q ", 1 workers configured" "$BATS_TEST_TMPDIR/err1"
	grep -q ", 2 workers configured" "$BATS_TEST_TMPDIR/err2"
	grep -q ", 2 workers configured" "$BATS_TEST_TMPDIR/err3"
	for i in 1 2 3; do cmp "$BATS_TEST_TMPDIR/out0" "$BATS_TEST_TMPDIR/out$i"; done
	grep -q "created 5000 threads" "$BATS_TEST_TMPDIR/out1"
}
