#!/usr/bin/env bats
# Signals per task, delivered as the kernel would: compared byte for byte
# with the run without the shim.
load helpers/load

@test "a handler interrupting blocked calls: EINTR or restart as signal(7) says, on the calling thread (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/sig_interrupt"
	[[ "$native" == *"read, no SA_RESTART: returned -1 EINTR, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"read, SA_RESTART: returned 1, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"recv_timeo, SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"cond, no SA_RESTART: returned 0, handler ran 1 time(s) on the caller"* ]]
	[[ "$native" == *"sem, no SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"sem_timed, SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"futex, SA_RESTART: returned 0"*"futex_timed, SA_RESTART: returned -1 EINTR"* ]]
	[[ "$native" == *"sem, SA_RESTART: returned 0"* ]]
}

# misc_case CASE: sig_misc CASE natively and under the shim (the worker
# count from on_workers), and what the native transcript must say.
misc_case() {
	same_output "$PROGS/sig_misc" "$1"
	case $1 in
	kill_parked) [[ "$native" == *"returned -1 EINTR; handler ran 1 time(s) on that thread"* ]] ;;
	sigwait) [[ "$native" == *"sigwait took SIGTERM"* ]] ;;
	stop_server) [[ "$native" == *"accept: EINTR, stop flag 1"* ]] ;;
	exec_mask) [[ "$native" == *"posix_spawn child: SIGUSR1 blocked, SIGUSR2 not blocked"* ]] ;;
	reset_write) [[ "$native" == *"write 2: -1 ECONNRESET"*"write 3: -1 EPIPE"* ]] ;;
	reset_nosig) [[ "$native" == *"write 2: -1 ECONNRESET"*"died of SIGPIPE"* ]] ;;
	pause_timer) [[ "$native" == *"pause(): returned EINTR, handler ran 1 time(s), after 0.3 s or more: yes"* ]] ;;
	waitpid) [[ "$native" == *"reaped the child, exit 5"*"answered during the wait: yes"* ]]
		# without the monitor too: the wait itself parks
		EVSHIM_MONITOR=0 same_output "$PROGS/sig_misc" "$1" ;;
	esac
}

@test "pthread_kill, sigwait thread, raise, sigqueue, a server stopped by SIGTERM, exec masks, reset-during-write, waitpid while serving, pause not cut short (1 and 2 workers)" {
	for c in kill_parked sigwait raise queue stop_server exec_mask reset_write reset_nosig waitpid pause_timer sigpipe; do
		on_workers 1 2 -- misc_case "$c"
	done
}

@test "vfork and posix_spawn from threads (and before any thread): the child never touches the runtime" {
	on_workers 1 2 -- same_output "$PROGS/vfork_spawn"
	[[ "$native" == *"vfork 100: child 100 says hello"* ]]
	[[ "$native" == *"afterwards: ticker ticked 20 times, pipe says ok"* ]]
}

# vfork returns to the parent once the child has left its memory, before
# the child is a zombie: 9 in 10 of the waits right after found none and
# parked on a pidfd (94 us a round against 26-36 natively). A child that
# called _exit is waited for in the kernel instead (rt/child.c); the
# answers must stay the kernel's. A wait the child's own SIGCHLD ended
# (a handler without SA_RESTART) failed with EINTR in about 1 in 100
# rounds: the kernel looks at the children before it looks at signals.
@test "waits for vfork children that leave by _exit: same answers (waitpid, wait4, waitid, pid -1, WNOHANG, reaped by another thread, a SIGCHLD handler without SA_RESTART, SIGCHLD ignored, a fork after) and none parks on a pidfd (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/vfork_exit_wait"
	for c in "waitpid after vfork + _exit:" "wait4 with rusage:" "waitid(P_PID):" "waitpid(-1):"; do
		[[ "$native" == *"$c"*"100 of 100 right"* ]]
	done
	[[ "$native" == *"WNOHANG, then waiting: the child, exit 9"* ]]
	[[ "$native" == *"reaped by another thread (exit 11): waitpid says -1 No child processes"* ]]
	[[ "$native" == *"SIGCHLD handler without SA_RESTART: vfork 300 of 300, fork 40 of 40 returned the child, 0 EINTR, handler ran: yes"* ]]
	[[ "$native" == *"SIGCHLD ignored: waitpid says -1 No child processes"* ]]
	[[ "$native" == *"a fork afterwards: the child, exit 17"* ]]
	for w in 1 2; do
		rm -f "$BATS_TEST_TMPDIR/st"
		out=$(EVSHIM_WORKERS=$w EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/vfork_exit_wait" loop 300)
		[ "$out" = "loop: 300 of 300 right" ]
		parked=$(grep "park poll" "$BATS_TEST_TMPDIR/st" || true)
		echo "workers $w: ${parked:-no park poll}"
		[ -z "$parked" ]
	done
}

# make keeps SIGCHLD blocked and waits for it in pselect with an empty
# mask: the mask must be applied while the task waits.
@test "GNU make -j2: 40 targets, and a small C project (1 and 2 workers), same output" {
	command -v make >/dev/null && command -v cc >/dev/null || skip "no make or cc"
	d="$BATS_TEST_TMPDIR/mk"
	mkdir -p "$d/many" "$d/proj"
	printf 'all: %s\n\nt%%:\n\t@echo made $@\n' "$(seq -f 't%g' 1 40 | tr '\n' ' ')" > "$d/many/Makefile"
	for i in 1 2 3 4 5 6; do printf 'int f%d(int x) { return x * %d; }\n' $i $i > "$d/proj/f$i.c"; done
	{ for i in 1 2 3 4 5 6; do echo "int f$i(int);"; done
	  echo '#include <stdio.h>'
	  echo 'int main(void) { printf("%d\n", f1(1)+f2(2)+f3(3)+f4(4)+f5(5)+f6(6)); return 0; }'; } > "$d/proj/main.c"
	printf 'OBJ = main.o f1.o f2.o f3.o f4.o f5.o f6.o\nprog: $(OBJ)\n\t@$(CC) -o $@ $(OBJ)\n%%.o: %%.c\n\t@$(CC) -c -o $@ $<\nclean:\n\t@rm -f prog *.o\n' > "$d/proj/Makefile"
	on_workers 1 2 -- make_case "$d"
}

# make_case DIR (the worker count from on_workers): both Makefiles of the
# test above under the shim.
make_case() {
	same_output sh -c "make -s -j2 -C '$1/many' | sort"
	[[ "$native" == *"made t40"* ]]
	make -s -C "$1/proj" clean
	run_shim make -s -j2 -C "$1/proj"
	[ "$("$1/proj/prog")" = 91 ]
}

@test "a signal sent just before the post that wakes a waiter is handled before its sem_wait returns (CPython test_threadsignals; 1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/kill_then_post"
	[[ "$native" == *"sem_wait returned before the handler ran: 0 of 300 rounds"* ]]
}

@test "strace -f under the shim (tracer and tracee): its waits see every ptrace stop, the traced program's output is the same (1 and 2 workers)" {
	command -v strace >/dev/null || skip "no strace"
	on_workers 1 2 -- same_output strace -f -o /dev/null "$PROGS/join_detach"
	[[ "$native" == *"cleanups: 1 2 3"* ]]
}

@test "eventfd, timerfd, signalfd, inotify and pty reads, flock and F_SETLKW park the task, not the worker (1 worker, no monitor)" {
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/waits_other" "$BATS_TEST_TMPDIR"
	for c in eventfd timerfd signalfd inotify pty flock setlkw; do
		echo "$native" | grep -q "^$c .*ticked while it waited: yes"
	done
}

# kill(2): a signal sent to the own process that the sender does not block
# is handled before the call returns; so is a pending one that
# pthread_sigmask unblocks (CPython test_signal: test_pthread_sigmask,
# test_sigpending, test_pidfd_send_signal).
@test "kill, sigqueue, pidfd_send_signal to the own process, and unblocking a pending signal: the handler has run when the call returns (alone and with a thread, 1 and 2 workers)" {
	for w in 1 2; do
		for m in alone thread; do
			EVSHIM_WORKERS=$w same_output "$PROGS/sig_self" "$m" || { echo "$m, $w worker(s)"; return 1; }
		done
	done
	[[ "$native" == *"kill(getpid(), SIGUSR1)"*"handler ran 1 time(s) by then"* ]]
	[[ "$native" == *"pthread_sigmask(SIG_UNBLOCK, SIGUSR1)          returned 0, handler ran 1 time(s)"* ]]
}

@test "a timer signal landing inside pthread lock and key calls or in libc is handled soon in a process without the monitor: a loop on them until the handler clears a flag ends (alone and with a thread, 1 and 2 workers)" {
	for w in 1 2; do
		for m in libc rwlock mutex key thread; do
			EVSHIM_WORKERS=$w T=60 same_output "$PROGS/sig_in_lock_loop" "$m" || { echo "$m, $w worker(s)"; return 1; }
		done
	done
	[[ "$native" == "thread: 300 of 300 rounds ended by the handler"* ]]
}

@test "a thread stopped by a signal whose handler sigsuspends (Mono's collector) while inside malloc: the others that malloc wait, and it goes on when released (300 stops, one arena, 1 and 2 workers)" {
	T=40 on_workers 1 2 -- same_output "$PROGS/sig_suspend_in_libc"
	[[ "$native" == "300 of 300 stops and releases done"* ]]
}

@test "exec while the runtime signals the exec'ing worker: the new program is not ended by that signal, starts with nothing extra blocked (40 generations, 1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/exec_busy"
	[[ "$native" == *"generation 40: 3002 args, 0 signals blocked"* ]]
}

@test "a SIGSEGV handler with SA_RESETHAND that returns, in a thread: it runs once, then the process ends by SIGSEGV (1 and 2 workers)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/fault_resethand"
	[[ "$native" == *"handler ran"*"exit=139" ]]
}

# glibc's setuid with threads signals every kernel thread and waits for
# each to take the call; a worker on a task's thread pointer must too
# (squid drops privileges so: it hung under the shim).
@test "setuid and setgid family with threads parked and computing: every thread has the new ids, none hangs (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/setxid_threads"
	[[ "$native" == *"100 round trips and a last change, 0 failed"*"sees euid"*": yes"* ]]
}

# Each mask change is told to the other workers with the runtime's own
# real-time signal; queued by the thousand, their handlers nested until
# the stack ran out (mosquitto died of SIGSEGV so).
@test "200,000 signal-mask changes while another thread computes with the signal blocked: no crash, the signal still handled (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/ipi_flood"
	[[ "$native" == *"200000 mask changes, 0 failed; SIGUSR1 handled 1 time(s)"* ]]
}

# A worker that cannot take the runtime's signal for long (its thread in
# vfork's wait; stunnel's, unscheduled on a loaded machine) was sent it
# again every 10 ms, and took all the queued ones at once, nested, until
# its alternate stack ran out.
@test "a worker that cannot take the runtime's signal for 1 s (its vfork child sleeps) gets at most two, not a nested flood (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/vfork_wait_ipi"
	[[ "$native" == *"the vfork child slept 1 s and exited 3; the busy thread ended"* ]]
}

# glibc's lockf makes its F_SETLKW inside libc, past the fcntl hook: the
# wait was the kernel's and a signal taken during it was never handled
# (stress-ng --lockf hung until killed).
@test "lockf(F_LOCK) on a region another process holds: a SIGALRM without SA_RESTART ends it with EINTR after its handler ran, as natively; F_TLOCK, F_TEST (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/lockf_signal"
	[[ "$native" == *"returned -1 (Interrupted system call), alarm handler ran 1 time(s)"*"exit=0" ]]
}

# A signal noted inside the runtime stays blocked on the worker's thread
# until routed: a 1 us timer otherwise re-fired into the runtime's handler
# for ever and the retry signals nested until the alternate stack overflowed
# (stress-ng --timer died of SIGSEGV, --hrtimers hung).
@test "a POSIX timer firing every microsecond, its handler on a small sigaltstack: main's sleeps go on and the process ends as natively, no SIGSEGV (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/timer_flood"
	[[ "$native" == *"slept 1 s under a 1 us timer; its handler ran: yes"*"exit=0" ]]
}

# The kernel knows only the worker's alternate stack: the runtime's frame
# of a signal whose handler ran on the task's own alternate stack stayed at
# its top, where the kernel framed the next signal (the program's, or the
# runtime's preemption), and a nested handler ran at the top of the task's
# alternate stack, over the first one (SIGSEGV when the first returned).
@test "SA_ONSTACK handlers on a thread's own sigaltstack, a second and a third signal nested inside them (the first from a timer, or raise), a preemption inside one: each on that stack below the last, as natively, no SIGSEGV (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/onstack_nested"
	[[ "$native" == *"timer: 10 of 10 rounds"*"raise: 10 of 10 rounds"*"preempt: 10 of 10 rounds"*"timed out: no"*"exit=0" ]]
}

# The same frame, in a single-threaded program: the monitor does not run,
# and the retry timer's signal for a signal noted inside the runtime was
# framed over it (SIGSEGV in about 1 run in 3).
@test "a single-threaded program computing under a 100 us timer, its SA_ONSTACK handler on its own sigaltstack: same output, no SIGSEGV (3 runs, 1 and 2 workers)" {
	for i in 1 2 3; do
		on_workers 1 2 -- same_output "$PROGS/onstack_main"
	done
	[[ "$native" == *"computed: yes; the handler ran: yes, off the alternate stack: 0 time(s)"*"exit=0" ]]
}

@test "a write's SIGPIPE (and SIGXFSZ) is the writing thread's and its handler has run when the write returns: write, writev, stdio (fflush, fwrite, fprintf, fputc), a thread, a thread that blocks it; sort's handler ends the process by it (1 and 2 workers)" {
	# The signal came while the write was inside the runtime, or in
	# glibc's stdio under the shim's hook: it was only noted, and routed
	# to the process later (GNU sort printed "write failed: Broken pipe"
	# and exited 2; natively SIGPIPE ends it silently)
	on_workers 1 2 -- same_output "$PROGS/sigpipe_write"
	[[ "$native" == *"fputs, then fflush                   returned -1 (Broken pipe); handler ran 1 time(s) by then"* ]]
	[[ "$native" == *"a thread blocking SIGPIPE: write returned -1 (Broken pipe); pending for it: yes"* ]]
	[[ "$native" == *"the main thread's handler ran 0 time(s) meanwhile"*"exit=141" ]]
	# and SIGXFSZ, from a file write past RLIMIT_FSIZE
	on_workers 1 2 -- same_output "$PROGS/sigxfsz_write" "$BATS_TEST_TMPDIR/big" default
	[[ "$native" == *"thread: a write past it"*"-1 (File too large), handler saw 25"* ]]
	[[ "$native" == *"main: a fflush past it"*"handler saw 25"*"exit=153" ]]
	for workers in 1 2; do
		out=$(seq 1 200000 | EVSHIM_WORKERS=$workers run_shim sort -rn 2> "$BATS_TEST_TMPDIR/err" | head -n 1; echo "${PIPESTATUS[1]}")
		cat "$BATS_TEST_TMPDIR/err"
		[ "$out" = "$(printf '200000\n141')" ]
		[ ! -s "$BATS_TEST_TMPDIR/err" ]
	done
}

# A conservative collector stops the world with a signal and scans each
# thread's stack from the stack pointer its handler's context holds; the
# runtime gave a handler it ran itself a zeroed context (SBCL's GC died:
# "garbage_collect: no SP known for thread").
@test "a stop-the-world by signals: each handler's context has the thread's stack pointer and a pc, parked or computing, own or given stack; a handler's change of the pc is where the thread goes on (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/sig_context"
	[[ "$native" == *"thread 0 (parked in sem_wait, its own stack): context on its stack with a pc in 3 of 3 rounds"* ]]
	[[ "$native" == *"thread 5 (computing, given stack): context on its stack with a pc in 3 of 3 rounds"* ]]
	[[ "$native" == *"handler ran 1, went on there 1"* ]]
}

# SBCL's trap handler (int3 at the end of a pseudo-atomic section) checks
# that the signals its sa_mask names are blocked, and its deferral blocks
# signals through the context's uc_sigmask: a fault's handler ran with
# the task's mask unchanged, and a mask set in the context was dropped
# (SBCL died: "blockables unblocked").
@test "a handler's mask: sa_mask and the signal blocked while it runs (a pthread_kill to a parked thread, a thread's own int3), the context's uc_sigmask the mask after it (1 and 2 workers)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/sig_handler_mask"
	[[ "$native" == *"SIGUSR1 by pthread_kill to a thread in sem_wait: handler ran 1; inside it blocked: sa_mask's SIGUSR2 yes, the signal yes, SIGHUP no; after it SIGALRM blocked yes"* ]]
	[[ "$native" == *"SIGTRAP of its own int3: handler ran 1; inside it blocked: sa_mask's SIGUSR2 yes, the signal yes, SIGHUP no; after it SIGALRM blocked yes"* ]]
}

# A process signal that comes while its own handler blocks it went to the
# process's queue, and the handler's return put the task's mask back
# without looking there: the signal waited for some later sigprocmask
# (stress-ng --sigio: its SIGIOs stopped, 222/s against 38,857 natively).
@test "a process signal that comes while its own handler runs is delivered when the handler returns: kill from the handler, an O_ASYNC pipe written from its SIGIO handler; alone and beside a thread blocking both (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/sig_in_own_handler"
	[[ "$native" == *"main thread alone: kill(SIGUSR1) from its own handler: handler ran 2 time(s) when kill returned, 2 after waiting"* ]]
	[[ "$native" == *"beside a thread blocking both: O_ASYNC pipe written from its own SIGIO handler: handler ran 3 time(s)"*"exit=0" ]]
}

# The kernel hands over a signal a system call raised as that call
# returns, inside libc's bare wrapper (chmod, unlink, rename: not hooked).
# The shim only noted it there and ran the handler at the next hooked call
# (stress-ng --dnotify slept 1 ms per round waiting for it).
@test "a signal raised by an unhooked system call (a chmod's directory notification) has run its handler when the call returns: alone, and beside a thread (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/sig_at_bare_call"
	[[ "$native" == *"alone: the handler had run when chmod returned in at least 95% of 200 rounds: yes"*"beside a thread: the handler had run when chmod returned in at least 95% of 200 rounds: yes"*"exit=0" ]]
}

# SBCL's collector runs inside its SIGTRAP handler (the int3 ending an
# allocation's pseudo-atomic section), writes to pages it protected, and
# waits there for the other threads to stop. The runtime's handler left
# every signal blocked in the kernel while a fault's handler ran, so the
# nested SIGSEGV ended the process ("nested"; SBCL 2.2.9 died at its
# first collection from a thread), and a handler that waited left the
# worker running its other tasks with everything blocked, so their own
# int3 ended it too ("wait").
@test "a fault inside a fault's handler, and faults of other threads while that handler waits: taken as natively (SBCL's GC in its SIGTRAP handler; 1 and 2 workers)" {
	for m in nested wait; do
		T=20 on_workers 1 2 -- same_output "$PROGS/fault_in_fault" "$m"
		[[ "$native" == *"round 2: all 3 trap handlers are waiting"*"thread 2: 3 traps"*"SIGSEGV blocked in 0"*"exit=0" ]]
		[ "$m" = wait ] || [[ "$native" == *"thread 2: 3 traps, 3 page faults fixed"* ]]
	done
	[[ "$native" == *"thread 2: 3 traps, 0 page faults fixed"* ]]
}

@test "signals to a thread that has ended but is not joined: pthread_kill says 0 and sends nothing, pthread_sigqueue says ESRCH, as glibc 2.36 (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/kill_exited"
	[[ "$native" == *"pthread_kill(ended, SIGUSR1): 0"*"pthread_sigqueue(ended, SIGUSR1): ESRCH"*"handler ran 0 time(s)"* ]]
}

# select cut short by a signal leaves the program's fd sets as they were
# (the kernel writes them back only on success); the shim's own
# zero-timeout look had cleared them, and kwsys (CMake's process runner),
# which selects on the same set again while the answer is EINTR, then
# waited on no fd for ever: cmake hung at its first try_compile.
@test "select interrupted by a SIGCHLD-like handler that writes to a pipe: the sets are intact after EINTR and the same-set retry sees the pipe (kwsys, CMake; 1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/select_eintr_sets" select
	[ "$(echo "$native" | grep -c 'the pipe ready: yes')" -eq 5 ]
}

# libunwind's one-time set-up, made when the runtime starts (the
# program's first wait), blocks every signal and puts the mask back: it
# went through the hooks, so a signal pending for the task and let in by
# a pselect's mask ran its handler there, inside the runtime, and the
# pselect waited its whole timeout instead of failing with EINTR.
@test "the program's first blocking call, a pselect whose mask lets a pending signal in: EINTR at once, the handler run once, the set intact (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/select_eintr_sets" pselect
	[[ "$native" == *"pselect: -1 Interrupted system call, handler ran 1 time(s), the fd still in the set: yes"* ]]
}

# glibc makes the BSD and System V mask calls with its internal
# sigprocmask, sigaction and sigsuspend, out of the shim's sight: dash
# clears its mask with sigsetmask(0) after blocking everything around a
# vfork, and under the shim everything stayed blocked, in the shell and
# in every child it forked afterwards (cmake --build in a pipeline
# waited for ever for its SIGCHLD).
@test "sigsetmask, sigblock, sighold, sigrelse, sigignore, sigset and sigpause change the mask the runtime keeps: dash's vfork sequence leaves nothing blocked, in the shell and its children (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/bsd_sigmask"
	[[ "$native" == *"after sigsetmask(0): SIGINT blocked 0, SIGCHLD blocked 0"*"SIGUSR1 handled: 1"*"a child forked then: SigBlk:	0000000000000000"*"sigpause: -1, handled 5"* ]]
	# dash itself: a pipeline after a simple command
	out=$(timeout "$T" env LD_PRELOAD="$SHIM" sh -c '/bin/true; grep SigBlk /proc/self/status | cat')
	[ "$out" = "$(printf 'SigBlk:\t0000000000000000')" ]
}

# sigsetjmp(env, 1) saves the task's mask (glibc reads the worker thread's,
# what every task blocks), and the jumps put it back: in a thread that
# blocks more than the main one, inside a handler (its signal and
# sa_mask), with siglongjmp, longjmp, __longjmp_chk and glibc's setjmp
# function; sigsetjmp(env, 0) and _setjmp keep the current mask.
@test "sigsetjmp saves the task's own mask, also inside a handler; the jumps put it back (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/sigjmp_mask"
	[[ "$native" == *"savemask 1: after siglongjmp                 10"*"setjmp (function): after longjmp             10"*"handler: after siglongjmp to its sigsetjmp   1 10 12"*"after the jump out of the handler            10"* ]]
}

# siglongjmp (and longjmp, __longjmp_chk) puts back the mask sigsetjmp
# saved with glibc's internal sigprocmask: the task's mask kept the
# signal the handler had blocked, and every later alarm stayed queued.
@test "a handler that leaves with siglongjmp unblocks its signal again: each wait (poll, read, nanosleep, waitpid, select) and a spin is cut short by every alarm, alone and with a second thread (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/siglongjmp_wait"
	[[ "$native" == *"poll: 3 jumps out of 3"*"waitpid: 3 jumps out of 3"*"spin: 3 jumps out of 3"*"SIGALRM blocked at the end: 0"* ]]
	[[ "$native" != *"not interrupted"* ]]
	T=60 on_workers 1 2 -- same_output "$PROGS/siglongjmp_wait" 2
}

@test "a process's only thread waits in the kernel itself (poll, select, epoll_wait, waitpid, sigsuspend, pause): same timeouts, data, EINTRs and handler runs; one thread, no runtime started (1 and 2 workers)" {
	T=120 on_workers 1 2 -- same_output "$PROGS/lone_poll"
	[[ "$native" == *"poll with a mask: 3000 EINTR, 0 other, 3000 handler runs, child exit 0"* ]]
	[[ "$native" == *"waitpid, handler without SA_RESTART: EINTR, handler runs 1, then the child, exit 3"* ]]
	[[ "$native" == *"waitpid, handler with SA_RESTART: the child, handler runs 1"* ]]
	[[ "$native" == *"sigsuspend: -1 EINTR, handler runs 1"*"pause: -1 EINTR, handler runs 1"* ]]
	[[ "$native" == *"Threads:"*1* ]]
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/lone_poll" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# the parent's 9,000 masked waits, its 15 timeouts, 3 waits for data
	# and 4 waitpid calls: each a single system call; its runtime never
	# started
	[ "$(stat_of lone_waits)" -ge 9020 ]
	grep -q "lone_poll (pid [0-9]*), .*the runtime never started" "$BATS_TEST_TMPDIR/st"
}

# sigwait, sigwaitinfo and sigtimedwait in a process's only thread: the
# kernel's own rt_sigtimedwait (rt/sigwait.c, lone_take), in the window.
# Each round a child sends SIGUSR2 (handled) then SIGUSR1 (waited for):
# natively SIGUSR2's handler has always run when the wait returns. Before:
# under the shim sigwait returned with SIGUSR2 noted but its handler not
# run (1,895 late rounds, 23 handler runs lost), sigtimedwait reported
# raise()'s signal as SI_TKILL where glibc folds it to SI_USER, and the
# runtime started (3 threads). `lone_sigwait started` runs the same rounds
# with the runtime's workers running, `other` with a second thread too,
# which blocks every signal and waits in a read: SIGUSR2 could land on
# another worker's (or a spare's) thread, whose handler noted it and whose
# worker routed it to the main task after its sigwait had returned SIGUSR1
# (before: started late in 4 runs of 40, other in 3 of 40; now idle
# workers sleep with what their tasks all block blocked, and a sigwait
# waits for a signal in transit: rt/signal.h, evs_sig_sleep_bits).
@test "sigwait, sigwaitinfo and sigtimedwait alone: a handled signal's handler has run when the wait returns, SI_USER for raise, timeouts; one thread, no runtime started; and with the runtime started, with or without another thread (1 and 2 workers)" {
	T=120 on_workers 1 2 -- same_output "$PROGS/lone_sigwait"
	[[ "$native" == *"5 EAGAIN of 5"*"taken, code SI_USER"*"syscall(): taken, code SI_TKILL"* ]]
	for k in sigwait sigwaitinfo sigtimedwait; do
		[[ "$native" == *"$k: SIGUSR1 taken 2000, from the child 2000, other 0, SIGUSR2's handler late 0, handler runs 2000, child exit 0"* ]]
	done
	[[ "$native" == *"Threads:"*1* ]]
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/lone_sigwait" > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	# the parent's 6,000 rounds and 6 timed waits, each in the kernel
	grep -q "lone_sigwait (pid [0-9]*), .*the runtime never started" "$BATS_TEST_TMPDIR/st"
	[ "$(awk '/^  lone_waits/ { if ($2 > m) m = $2 } END { print m + 0 }' "$BATS_TEST_TMPDIR/st")" -ge 6006 ]
	# the runtime started, alone or with another thread: two runs of each
	# per worker count (a late round showed in about 1 run in 10)
	for mode in started other started other; do
		T=120 on_workers 1 2 -- same_output "$PROGS/lone_sigwait" "$mode"
		for k in sigwait sigwaitinfo sigtimedwait; do
			[[ "$native" == *"$k: SIGUSR1 taken 2000, from the child 2000, other 0, SIGUSR2's handler late 0, handler runs 2000, child exit 0"* ]]
		done
	done
}

# gdb stops its inferior's threads with syscall(SYS_tkill, lwp, SIGSTOP);
# the shim sent every tkill to its own process, so each failed with ESRCH
# and gdb under the shim hung at its first breakpoint in a threaded
# program, waiting for a stop that never came.
@test "syscall(SYS_tkill) of another process's thread is the kernel's (stop, continue, kill a child); of an own thread it reaches that thread (1 and 2 workers)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/tkill_other"
	[[ "$native" == *"tkill(child, SIGSTOP): 0"*"child stopped by STOP"*"child continued"*"child killed by TERM"*"handler ran 1 time(s)"* ]]
}

# Stopped and continued (^Z, fg) in the middle of its wait: the kernel
# restarts poll with its end kept, ppoll and select with the time left
# (the stop's time added). The lone wait made every poll as ppoll.
@test "a process's only thread stopped and continued in poll, ppoll and select: each ends as natively (poll on time, ppoll and select with the stop's time added) (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/lone_poll_stop"
	[[ "$native" == *"poll: 0 (errno 0), on time"*"ppoll: 0 (errno 0), the stop added"*"select: 0 (errno 0), the stop added"* ]]
}

# abort() raises SIGABRT with glibc's internal raise, past the shim's
# hook: the signal came inside libc, was only noted, and abort's second
# raise (the default action) ended the process before the program's
# handler ran (CPython's faulthandler printed nothing for SIGABRT).
@test "abort() and assert() with a SIGABRT handler: the handler runs before abort goes on (returning, jumping out with siglongjmp, in a thread) (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/abort_handler"
	[[ "$native" == *"handler: signal 6"*"case 0: killed by signal 6"*"main: back from abort"*"case 1: exit 3"*"thread: back from abort"*"case 2: exit 4"*"handler: signal 6"*"case 3: killed by signal 6"* ]]
}

# Stopped and continued (^Z, fg) in epoll_wait, epoll_pwait, sigtimedwait
# or sigwaitinfo: Linux ends them with EINTR, no handler involved
# (signal(7)); poll and sigwait go on. Before, under the shim all waited
# on to their end: the lone wait took the kernel's EINTR for one of its
# own signals, and a parked task never heard of the stop. Alone (the
# kernel's own call) and started (the task parks: the runtime's sleeping
# threads hear of the stop), with both EVSHIM_NET settings.
@test "stopped and continued in epoll_wait, epoll_pwait, sigtimedwait, sigwaitinfo: EINTR as natively; poll and sigwait go on (alone; with a thread on 1 and 2 workers, both EVSHIM_NET)" {
	T=40 on_workers 1 -- same_output "$PROGS/stop_eintr"
	EVSHIM_NET=epoll T=40 on_workers 1 2 -- same_output "$PROGS/stop_eintr" started
	EVSHIM_NET=uring T=40 on_workers 2 -- same_output "$PROGS/stop_eintr" started
	[[ "$native" == *"epoll_wait: -1 (EINTR)"*"epoll_pwait: -1 (EINTR)"*"sigtimedwait: -1 (EINTR)"*"sigwaitinfo: -1 (EINTR)"*"poll: 0"*"sigwait: 0, signal 10"*"reader: 1"* ]]
}

# The main thread waits (sigtimedwait, sigwaitinfo, sigwait) for SIGTERM
# and SIGHUP at their default action, blocked there and in four threads,
# while one thread made before the block leaves them open; a child sends
# each to the process. Natively the kernel offers a process signal to the
# main thread first and the wait takes it. Before, under the shim the
# kernel handed it to a worker's thread whose mask (K) let it through,
# and the default action ended the process (exit 143: e2guardian, whose
# main thread waits so, died at SIGTERM). Now every worker blocks a signal
# at the kernel's disposition while a task waits for it (rt/signal.c,
# waited), and the waiter takes it from the kernel.
@test "sigwait for SIGTERM at its default action in the main thread while another thread leaves it open: the wait takes it, the process goes on (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/sigwait_dfl_open"
	[[ "$native" == *"round 0: took Terminated"*"round 1: took Hangup"*"round 2: took Terminated"*"done"* ]]
}

# A thread blocked in its own raw system call: handed to a pool thread (1
# worker), the signal waited for the call's end; on its worker, the
# runtime's signal (which asks for restarts) carried the program's, and a
# handler without SA_RESTART left the call going on (2 workers).
@test "a signal for a thread blocked in its own raw syscall (read, recv, futex, wait4; SO_RCVTIMEO, timed futex, siglongjmp out): the handler runs at once, sees the call as the kernel framed it, and the call goes on or fails with EINTR as natively (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/rawsig_intr"
	[[ "$native" == *"read              no restart handler before the call ended: yes (it saw -EINTR); before the end: -EINTR"* ]]
	[[ "$native" == *"wait4             SA_RESTART handler before the call ended: yes (it saw the call); before the end: none              ; result: the child"* ]]
	[[ "$native" == *"timed futex       SA_RESTART handler before the call ended: yes (it saw -EINTR); before the end: -EINTR"*"exit=0" ]]
}

# A name lookup ran on a pool thread while the task waited with its
# signals held: the handler ran only after the lookup, and a siglongjmp
# out of it (an alarm() timeout) could not cut the lookup short.
@test "a signal during a slow getaddrinfo or gethostbyname (a preloaded name service takes 1.5 s): the handler runs during the lookup, a siglongjmp leaves it, pthread_cancel cancels there, later lookups and getnameinfo answer as natively (1 and 2 workers)" {
	slow="$PROGS/libslowgai.so"
	native="$(LD_PRELOAD="$slow" run_native "$PROGS/gai_signal"; echo "exit=$?")"
	[[ "$native" == *"returning handler: handler ran 1 time(s), during the lookup: yes"*"left the lookup by siglongjmp"*"cancelled: yes, during the lookup: yes"*"gethostbyname: handler ran 1 time(s), during the lookup: yes"*"exit=0" ]]
	for w in 1 2; do
		shimmed="$(EVSHIM_WORKERS=$w LD_PRELOAD="$SHIM $slow" run_native "$PROGS/gai_signal"; echo "exit=$?")"
		diff <(echo "$native") <(echo "$shimmed")
	done
}

# sigsuspend with signals already pending: the kernel's frame blocks the
# handler's signal, and its sigreturn puts back the mask sigsuspend
# replaced, so a real-time signal queued three times runs its handler
# once there. Before, under the shim, the mask went back to sigsuspend's
# between handlers and all three ran there (rt/signal.c,
# evs_sig_run_through).
@test "sigsuspend with a real-time signal queued 3 times runs its handler once, the rest at the unblock; two different pending signals both run; SA_NODEFER all three (alone, 2 threads; 1 and 2 workers, uring)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/sigsuspend_queued"
	[[ "$native" == *"alone: 3 queued, sigsuspend -1 EINTR, handlers 1"* ]]
	[[ "$native" == *"2 threads: SIGUSR1 and SIGUSR2 pending, sigsuspend -1, handlers 1 1"* ]]
	EVSHIM_NET=uring T=20 same_output "$PROGS/sigsuspend_queued"
}

# A signalfd reads the kernel's pending signals; a signal sent from inside
# the process to a task that blocks it (pthread_kill, raise; kill or
# sigqueue while a handler is installed) sat in a queue of the runtime's,
# and each read (or poll) of the program's signalfd waited for ever. Now
# such a signal, when every task blocks it and some signalfd reads it, is
# held in the kernel (rt/signal.c, to_kernel).
@test "signalfd read and polled while every thread blocks its signals, sent by pthread_kill, raise, kill and sigqueue of the process (handler installed): same signals as natively (1 and 2 workers, uring)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/signalfd_held"
	[[ "$native" == *"pthread_kill to main from a thread           128: User defined signal 1"* ]]
	[[ "$native" == *"a thread sigqueues the process (handler)     128: User defined signal 2, from this process 1, value 42"* ]]
	EVSHIM_NET=uring T=20 same_output "$PROGS/signalfd_held"
}
