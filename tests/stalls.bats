#!/usr/bin/env bats
# The monitor: blocking the shim cannot see must not stop other tasks.
# Each case hangs on one worker without the monitor (the last test shows
# one); with it, the output matches the native run.
load helpers/load

# stall_case MODE [ARG] (the worker count from the caller: on_workers):
# the same output as natively; the shim run's stats report left in st.
stall_case() {
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/stalls" "$@"
	cat "$BATS_TEST_TMPDIR/st"
}

# stall_case_of PROG [ARG]: the same for another program of tests/progs.
stall_case_of() {
	local prog=$1
	shift
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/$prog" "$@"
	cat "$BATS_TEST_TMPDIR/st"
}

# On one worker (the stats of the last stall_case), only the monitor can
# have let the other task run: by preempting the blocked one, by handing
# its unseen system call to a helper thread (rt/handoff.c), by a spare
# worker taking (stealing) the other task, or by a spare the other task
# was made on. Which one depends on timing (on a busy machine main itself
# can look stalled while it creates the threads, and the spare comes
# first), so only their sum is checked.
monitor_acted() {
	[ $(( $(stat_of preempts) + $(stat_of handoffs) + $(stat_of steals) +
	      $(stat_of workers_added) )) -ge 1 ]
}

@test "a read made with the syscall instruction (unseen) blocks a task while another sleeps and ticks (1 and 2 workers)" {
	on_workers 2 -- stall_case rawsyscall
	on_workers 1 -- stall_case rawsyscall
	[[ "$native" == *"ticker ticked 20 times"* ]]
	monitor_acted
}

# fio 3.33's io_uring engine waits for completions with its own syscall
# instruction; the kernel never restarts io_uring_enter, so the monitor's
# signal ended the wait with -EINTR, which fio took for "no completion"
# and stopped a job's I/O early (its verify pass read back a few blocks).
# The handler makes such a call again, as a restart (rt/handoff.c).
@test "an io_uring wait made with the syscall instruction (fio) beside a 2 ms ticker: never ends with EINTR (1 and 2 workers)" {
	on_workers 1 2 -- stall_case_of raw_uring_intr
	[[ "$native" == *"waits ended by EINTR: 0; other errors: 0; completions not ETIME: 0"* ||
	   "$native" == *"no io_uring here"* ]]
	echo "calls redone: $(stat_of calls_redone)"
}

# glibc's aio_suspend waits inside libc with a futex wait until an
# absolute time, which the kernel ends with EINTR after any handler and
# does not restart: the monitor's signal (sent for the ticker's due
# timer) made aio_suspend fail with EINTR before its timeout. The handler
# makes such a wait of libc's again (rt/handoff.c).
@test "aio_suspend with a timeout beside a 2 ms ticker: EAGAIN at the timeout, EINTR only for the program's own SIGALRM (1 and 2 workers, uring)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/aio_suspend_intr"
	[[ "$native" == *"aio_suspend 100ms, nothing done: -1 EAGAIN"*"SIGALRM at 50ms: -1 EINTR"* ]]
	EVSHIM_NET=uring T=30 same_output "$PROGS/aio_suspend_intr"
}

@test "two CPU spinners and a 5 ms ticker: the monitor preempts or moves them (1 and 2 workers)" {
	on_workers 2 -- stall_case spin
	on_workers 1 -- stall_case spin
	[[ "$native" == *"ticker ticked 20 times; spinners ran: 1 1"* ]]
	monitor_acted
}

@test "two spinners inside libc's memcpy and a 5 ms ticker: preempted there, not refused (1 worker)" {
	on_workers 1 -- stall_case memspin
	[[ "$native" == *"ticker ticked 20 times; spinners ran: 1 1"* ]]
	# on one worker the ticker runs only when a spinner is preempted; a
	# spinner is nearly always inside memcpy, so refusing there would
	# show as many refusals per preemption
	echo "preempts $(stat_of preempts), refused $(stat_of preempt_refused)"
	[ "$(stat_of preempts)" -ge 1 ]
	[ "$(stat_of preempt_refused)" -le "$(stat_of preempts)" ]
}

@test "a thread busy with calls that never wait (sends that succeed, polls already ready) beside a 2 ms sleeper: it yields on its way out of a call (icecast; 1 and 2 workers)" {
	for how in send poll; do
		on_workers 1 2 -- same_output "$PROGS/busy_calls" "$how"
		[[ "$native" == *"the sleeper woke at least 25 times beside it: yes"* ]]
	done
}

@test "main joins a sleeping thread while a spinner runs (1 and 2 workers)" {
	on_workers 1 2 -- stall_case joinspin
	[[ "$native" == *"joined the sleeper while a spinner ran: 42"* ]]
}

@test "a FILE's lock held while its write blocks; another writer and a reader get through (1 and 2 workers)" {
	on_workers 2 -- stall_case stdio
	on_workers 1 -- stall_case stdio
	[[ "$native" == *"reader got 200029 bytes, 200000 of them from the big write"* ]]
	# on one worker the conductor the big writer makes ran on a spare, and
	# the reader it makes once the pipe is full on another (stalls.c says
	# why nothing runs on the writer's worker before its write blocks)
	[ "$(stat_of workers_added)" -ge 1 ]
}

@test "spinners preempted even when the program blocks every signal (1 worker)" {
	EVSHIM_WORKERS=1 stall_case spin masked
	[[ "$native" == *"ticker ticked 20 times; spinners ran: 1 1"* ]]
}

@test "spare workers added during a stall retire once it is over (1 worker)" {
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/stalls" stdio shrink \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	cat "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/st"
	grep -q "reader got 200029 bytes, 200000 of them from the big write" "$BATS_TEST_TMPDIR/out"
	added=$(stat_of workers_added) retired=$(stat_of workers_retired)
	[ "$added" -ge 1 ]
	[ "$retired" -eq "$added" ]
	# main's worker and the monitor are left
	[ "$(awk '/^kernel-threads/ {print $2}' "$BATS_TEST_TMPDIR/err")" -le 2 ]
}

@test "a second stall after the spares retired gets spares again (1 worker)" {
	EVSHIM_WORKERS=1 stall_case stdio twice
	[ "$(grep -c 'reader got 200029 bytes' <<<"$native")" -eq 2 ]
	[ "$(stat_of workers_added)" -ge 2 ]
	[ "$(stat_of workers_retired)" -ge 1 ]
}

@test "control: without the monitor, CPU spinners starve the ticker on one worker" {
	EVSHIM_MONITOR=0 EVSHIM_WORKERS=1 run timeout 3 env LD_PRELOAD="$SHIM" "$PROGS/stalls" spin
	[ "$status" -eq 124 ]
}

# redis with io-threads: the main thread makes its I/O thread, then waits
# in epoll, and the two hand work over by spinning on a counter. A new
# task starts on an idle worker when its creator parks in anything but a
# join of it; left on the creator's worker, every hand-off would wait for
# the monitor to preempt a spinner.
@test "a helper made before its creator waits in poll starts on the idle worker; spinning hand-offs need no preemption (2 workers; 1 worker: preempted)" {
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_WORKERS=2 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/spin_handoff" 200
	[[ "$native" == *"handoffs 200"* ]]
	echo "given away $(stat_of given_away), stolen $(stat_of steals), preempts $(stat_of preempts)"
	[ $(( $(stat_of given_away) + $(stat_of steals) )) -ge 1 ]
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/spin_handoff" 50
	[ "$(stat_of given_away)" -eq 0 ]
}

# pbzip2 -d: four threads made before main computes wait on a condition;
# main's worker is stalled, so the other steals them all and they park
# there. When main lets them go and joins, its worker idles: the tasks the
# monitor preempts there move to it (sched.c), where each task has a
# thread pointer of its own (moved_wakers has __thread data). Before, all
# four computed on one worker. The control: without TLS of the program's
# own (steal_pinned), tasks that have run never move. (Not with
# EVSHIM_SWITCH=ucontext: the monitor's preemption is refused there.)
@test "computing threads stolen onto one worker move to an idle one when each has its own thread pointer; never without (pbzip2 -d; 2 workers)" {
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_WORKERS=2 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output "$PROGS/moved_wakers"
	[[ "$native" == *"more than one kernel thread: yes"* ]]
	[[ "$native" == *"kept its __thread data and errno address: yes"* ]]
	echo "moved $(stat_of moved), stolen $(stat_of steals), given away $(stat_of given_away)"
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_WORKERS=2 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" LD_PRELOAD="$SHIM" \
		timeout "$T" "$PROGS/steal_pinned" >/dev/null 2>&1
	echo "steal_pinned: moved $(stat_of moved)"
	[ "$(stat_of moved)" -eq 0 ]
}

# GNU OpenMP waits on its barriers with the syscall instruction itself:
# after the monitor has handed off one such wait, its site traps and the
# next waits are handed off at once (rt/sitetrap.c). With every signal
# blocked by every thread (SIGILL too), then a call of another kind
# through the same stub (the site gets its instruction back), then the
# program's own ud2 reaching its SIGILL handler.
@test "raw futex waits of 4 threads at a barrier, 300 rounds, on 1 and 2 workers: same results, the site learned and trapping" {
	for w in 1 2; do
		rm -f "$BATS_TEST_TMPDIR/st"
		EVSHIM_WORKERS=$w EVSHIM_STATS="$BATS_TEST_TMPDIR/st" T=60 same_output "$PROGS/raw_futex_sites"
		[ "$(stat_of sites_learned)" -ge 1 ]
		[ "$(stat_of site_calls)" -ge 1 ]
	done
	[[ "$native" == *"4 threads met 300 times; sum 269100"* ]]
	[[ "$native" == *"getppid: the parent's pid"*"SIGILL handler ran 1 time(s), si_code ILL_ILLOPN"* ]]
}

# The monitor's spare worker starts as worker 0 stalls on the first wait,
# which is about when that wait is handed off and SIGILL leaves K: a spare
# started just before it kept SIGILL blocked (it was not yet among the
# workers a new K reaches), and its task's next trap at the site ended the
# process (about 1 run in 60 on one worker). The window is a fraction of
# a millisecond between the spare's thread starting and the monitor
# publishing it, which a program cannot aim at: many runs instead, a net
# and not a proof (before the fix, 40 runs had about one chance in two of
# a death on a machine with a load average near 4, few on a quiet one).
@test "raw futex waits at a barrier, 40 runs on 1 worker: none dies of SIGILL (a spare worker started as SIGILL left K)" {
	for i in $(seq 40); do
		out="$(EVSHIM_WORKERS=1 run_shim "$PROGS/raw_futex_sites" 2>&1)" || {
			echo "run $i: exit $?"; echo "$out"; return 1; }
		[[ "$out" == *"4 threads met 300 times; sum 269100"*"SIGILL handler ran 1 time(s)"* ]]
	done
}

# Erlang's JIT runs each Erlang process on its own small stack inside the
# process's heap and gives every handler SA_ONSTACK: the monitor's signal
# must not write its frame there, nor yield there (erl +S 2 died of
# SIGSEGV in 1 run of 6).
@test "code on a stack of its own with SA_ONSTACK handlers (Erlang's JIT): no signal frame written below its stack pointer, its handler on the alternate stack (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/altstack_jit"
	[[ "$native" == *"handler ran 1 time(s), on the alternate stack: yes"* ]]
	[[ "$native" == *"bytes changed below the spinner's stack pointer: none"* ]]
}

# SBCL runs Lisp on stacks of its own, and its stop-for-GC handler waits
# there: delivered on the worker's alternate stack, the waiting handler's
# frame was overwritten by the next signal the worker took (the sbcl test
# on 1 worker: "Memory fault" in the scheduler in 1 run of 8).
@test "a handler that waits, delivered to a task computing on a stack of its own, while another task on the worker takes write faults (SBCL's stop-for-GC): same output (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/altstack_wait"
	[[ "$native" == *"handler waited and returned: yes"*"write faults handled: 50"*"spinner stopped when told: yes"*"exit=0" ]]
}

@test "each thread's sigaltstack is its own, and the runtime's signal never lands on one (2 KiB stacks of threads preempted on one worker; CPython's faulthandler stack): same answers as natively (1 and 2 workers)" {
	# given to the kernel, a 2 KiB stack cannot take the runtime's
	# signal frame: SIGSEGV at the first preemption
	on_workers 1 2 -- same_output "$PROGS/altstack_small"
	[[ "$native" == *"small-a  after set              set, 2048 bytes"* ]]
	[[ "$native" == *"main     SA_ONSTACK handler     ran"* ]]
}

# Code in no loaded module (a JIT's output, SBCL's compiled Lisp in its
# heap) has no unwind information: the stack walk stopped there and every
# preemption was refused, so a task computing in it kept the tasks behind
# it on its worker waiting until it stopped by itself (SBCL: a 50 ms
# sleep behind a spinning Lisp thread never ended on one worker).
@test "a thread computing in generated code (a leaf, and a frame of its own) is preempted: main, behind it on its worker, wakes from its sleep and stops it (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/jit_spin"
	[[ "$native" == *"a leaf loop in generated code: stopped by main's flag"*"a framed loop in generated code: stopped by main's flag"* ]]
}

# Chez Scheme's generated code (Racket CS) uses rbp as a plain register:
# crossing such a frame, the walk took -8 for a frame pointer, its bounds
# check (bp + 16 > hi) wrapped and it read address 0, SIGSEGV in the
# monitor's signal handler (racket with places, 1 run in 6 on one worker).
@test "a thread computing in generated code that keeps -8 or -16 in rbp: the stack walk does not fault (Racket CS) (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/jit_spin" badfp
	[[ "$native" == *"rbp = -16 in generated code: returned"*"rbp = -8 in generated code: returned"*"rbp = 8 in generated code: returned"* ]]
}

# The module map the monitor's stack walk goes by was made at start-up: a
# library loaded later with dlopen was unknown code, crossed only by
# frame pointers, which Debian's libraries do not keep, so every
# preemption of a task with such a frame on its stack was refused.
# OCaml's bytecode threads run the interpreter under dllthreads.so's
# thread start, which ocamlrun loads with dlopen: a computing thread
# kept its worker, the tick thread behind it never ran, and the program
# hung at its first Thread.join.
@test "a thread computing in a dlopen'd library, or in the program's code called back from one (OCaml bytecode threads), is preempted: main wakes from its sleep and stops it (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/dlopen_spin"
	[ "$(echo "$native" | grep -c ": stopped by main's flag")" -eq 4 ]
}

# The preemption copies the signal frame from the worker's alternate
# stack to the task's own and goes on there. It copied what the kernel's
# layout says a frame holds; valgrind, which delivers the signals of the
# program it runs, keeps a record of its own past the FPU state and
# checks it at sigreturn: it killed the program at the first preemption
# ("return signal frame corrupted"). The whole frame is now copied, up to
# the top of the alternate stack.
#
# valgrind_preempted MODE WANT: stalls MODE under valgrind on one worker:
# same output, the native one holding WANT, and at least one preemption.
# --fair-sched=yes: valgrind runs one thread at a time under a lock that
# is not fair by default, and the spinner took it back for seconds at a
# time, starving the monitor's thread (preemptions 8-20 s apart, over the
# time bound in most runs; 1-2 s with a fair lock). No spare worker: a
# preemption is the only way the others run (with spares allowed one may
# take the spinners' place, and then none is needed: the count was 0 in
# some runs).
valgrind_preempted() {
	command -v valgrind >/dev/null || skip "valgrind is not installed"
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_WORKERS=1 EVSHIM_MAX_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" same_output valgrind -q --fair-sched=yes "$PROGS/stalls" "$1"
	[[ "$native" == *"$2"* ]]
	[ "$(stat_of preempts)" -ge 1 ]
}

@test "under valgrind, two CPU spinners and a 5 ms ticker on one worker: preempted, same output (the frame copied whole)" {
	valgrind_preempted spin "ticker ticked 20 times; spinners ran: 1 1"
}

@test "under valgrind, main spinning on a page of its stack never touched before is preempted: same output (the frame copied below its stack pointer)" {
	valgrind_preempted deepspin "ticker ticked 20 times; main spun: 1"
}
