#!/usr/bin/env bats
# Task-aware synchronization: mutexes, condition variables, semaphores,
# rwlocks, barriers, once, spinlocks. Native vs shim, byte for byte.
load helpers/load

@test "producer/consumer, mutex held across a sleep, timed wait signalled (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/sync_prodcons"
	[[ "$native" == *"consumed 40000 items, sum 799980000 (expected 799980000)"* ]]
	[[ "$native" == *"then 3 waiters got it"* ]]
}

@test "every error return matches glibc's (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/sync_errors"
	[[ "$native" == *"errorcheck: lock again"*"EDEADLK"* ]]
	[[ "$native" == *"normal: timedlock 30ms by another thread"*"ETIMEDOUT"* ]]
	[[ "$native" == *"sem_timedwait 30ms at 0"*"ETIMEDOUT"* ]]
}

@test "stress: random sleeps in and out of critical sections, exact counts (1 and 2 workers; ucontext on 1)" {
	on_workers 1 2 -- same_output "$PROGS/sync_stress"
	EVSHIM_SWITCH=ucontext on_workers 1 -- same_output "$PROGS/sync_stress"
	[[ "$native" == *"mutex counter 6400 (expected 6400)"* ]]
	[[ "$native" == *"torn reads 0"* ]]
}

@test "a contended hand-off between tasks costs no system call" {
	# semaphore ping-pong between two tasks on one worker: 20,000 hand-offs
	# and no futex for them (natively each is a kernel round trip; glibc
	# itself makes one futex call at start-up).
	command -v strace >/dev/null || skip "strace not installed"
	EVSHIM_WORKERS=1 strace -f -c -o "$BATS_TEST_TMPDIR/st" env LD_PRELOAD="$SHIM" \
		"$ROOT/build/bench/sem_pingpong" 10000 > /dev/null
	cat "$BATS_TEST_TMPDIR/st"
	futex=$(awk '$NF == "futex" {print $4}' "$BATS_TEST_TMPDIR/st")
	echo "futex calls: ${futex:-0}"
	[ "${futex:-0}" -lt 10 ]
	strace -f -c -o "$BATS_TEST_TMPDIR/native" "$ROOT/build/bench/sem_pingpong" 10000 > /dev/null
	nfutex=$(awk '$NF == "futex" {print $4}' "$BATS_TEST_TMPDIR/native")
	echo "natively: $nfutex"
	[ "$nfutex" -gt 1000 ]
}

@test "robust, process-shared and PI mutexes: a task waiting while the holder blocks in a call parks; a condition variable with one (1 and 2 workers)" {
	# LMDB's writer lock (robust, process-shared): slapd's thread waited
	# in glibc's kernel wait, holding the worker the holder (parked in a
	# call) had to run on to unlock: a hang for good
	on_workers 1 2 -- same_output "$PROGS/robust_wait"
	[[ "$native" == *"robust process-shared (LMDB's): second locker got it: 0 (after the holder let go: yes)"* ]]
	[[ "$native" == *"priority inheritance: second locker got it: 0"* ]]
	[[ "$native" == *"timedlock while held: Connection timed out, trylock: Device or resource busy"* ]]
	[[ "$native" == *"condition: signalled waiter woke: yes; timedwait 30 ms: Connection timed out"* ]]
}

# glibc's unlock in another process wakes only the kernel's waiters, and
# only when the word is marked: a task waiting on a process-shared mutex
# now marks it as glibc's waiter does and waits in the kernel too
# (sync/mutex.c). Before, it looked at the word every 1-20 ms (no kernel
# futex wait), and a process with one task started the runtime for it.
# The parent exits last: its counters are the file's last record.
@test "process-shared mutexes (plain, robust) contended with a forked child: same counts and EOWNERDEAD; the waits are the kernel's (alone: lone waits, no runtime started; with a second thread: kernel futex waits) (1 and 2 workers)" {
	T=120 on_workers 1 2 -- same_output "$PROGS/pshared_mutex"
	[[ "$native" == *"plain, 3000 rounds each: counter 6000, child exit 0"*"plain, held 20 ms by the child 10 times: locked after its unlock 10 times"* ]]
	[[ "$native" == *"robust, 3000 rounds each: counter 6000, child exit 0"*"robust, held 20 ms by the child 10 times: locked after its unlock 10 times"* ]]
	[[ "$native" == *"robust, the owner dies holding it: EOWNERDEAD, consistent 0, then lock 0"* ]]
	T=120 on_workers 1 2 -- same_output "$PROGS/pshared_mutex" started
	last() { awk -v k="$1" '/^evshim stats/ { v = 0 } $1 == k { v = $2 } END { print v + 0 }' "$BATS_TEST_TMPDIR/st"; }
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/pshared_mutex" > /dev/null
	awk '/^evshim stats/ { l = $0 } END { print l }' "$BATS_TEST_TMPDIR/st" | grep -q "never started"
	[ "$(last lone_waits)" -ge 21 ]  # the 20 waits for a held lock, the dead owner's
	rm "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/pshared_mutex" started > /dev/null
	[ "$(last futex_kernel)" -ge 21 ]
}

@test "threads computing while they hold robust or PI mutexes, more than CPUs, with __thread data: each unlock succeeds (a holder is not handed to another worker; 1 and 2 workers)" {
	# glibc lets only the kernel thread it recorded unlock such a mutex: a
	# preempted holder moved to an idle worker got EPERM and the mutex
	# stayed locked for good
	on_workers 1 2 -- same_output "$PROGS/robust_move"
	[[ "$native" == *"robust 3: lock Success, unlock after computing Success, trylock then Success"* ]]
	[[ "$native" != *"not permitted"* ]]
}

# glibc records the worker's kernel thread as the owner of a mutex left to
# it, the same for every task of that worker: a second task's lock said
# EDEADLK at once and its unlock freed the holder's (pshared_cond's turns
# hung about 1 run in 5 on one worker with EVSHIM_NET=uring).
@test "an error-checking or robust mutex left to glibc, held by one thread: another's trylock says EBUSY, its unlock EPERM, its lock waits for the holder, as natively (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/errcheck_owner"
	[[ "$native" == *"error-checking, process-shared: trylock Device or resource busy, unlock of the holder's Operation not permitted, lock 0, then unlock 0"* ]]
	[[ "$native" == *"error-checking, robust: trylock Device or resource busy, unlock of the holder's Operation not permitted, lock 0, then unlock 0"* ]]
}

@test "process-shared condition variables: 64 threads wait on one and all wake, turns with signal on an error-checking mutex, a timed wait, a forked child's signal (1 and 2 workers)" {
	# glibc's wait on such a condition is its own futex wait in the
	# kernel: each waiting task held its worker, the monitor added workers
	# up to its bound and the tasks past it never ran (yadifad never
	# answered a query); the wait is now made on a pool thread (sync/cond.c)
	on_workers 1 2 -- same_output "$PROGS/pshared_cond"
	[[ "$native" == *"herd: 64 threads waited, 64 woke, unlock errors 0"* ]]
	[[ "$native" == *"turns: 2000 rounds each on an error-checking mutex, unlock errors 0"* ]]
	[[ "$native" == *"timed: 30 ms, nobody signals: ETIMEDOUT"* ]]
	[[ "$native" == *"fork: the child's signal woke the parent's waiter, child exit 0"* ]]
}

@test "process-shared rwlocks: 40 threads wait for a forked child's write lock, take turns sleeping while they hold it, time out on it; the writer's own EDEADLK (1 and 2 workers)" {
	# glibc's rdlock and wrlock wait in the kernel: each waiting task held
	# its worker, the tasks past the monitor's bound never ran (a hang),
	# and glibc, which names the writer by its kernel thread, said EDEADLK
	# to a task whose worker's other task held it; the wait is now made on
	# a pool thread and the writer recorded as the task's worker
	on_workers 1 2 -- same_output "$PROGS/pshared_rwlock"
	[[ "$native" == *"other: a child held it, 40 threads waited, counter 1000, errors 0, child exit 0"* ]]
	[[ "$native" == *"sleepy: holders sleep, counter 100, errors 0"* ]]
	[[ "$native" == *"timed: a child held it, 120 of 120 timed locks ETIMEDOUT, errors 0, child exit 0"* ]]
	[[ "$native" == *"self: wrlock EDEADLK, rdlock EDEADLK, trywrlock EBUSY, unlock 0, a reader after 0"* ]]
}

@test "a process-shared barrier for 40 threads and a forked child, 20 rounds (1 and 2 workers)" {
	# glibc's wait is in the kernel: each waiting task held its worker, the
	# threads past the monitor's bound never arrived and the barrier never
	# opened; the wait is now made on a pool thread
	on_workers 1 2 -- same_output "$PROGS/pshared_barrier"
	[[ "$native" == *"barrier: 40 threads and a child, 20 rounds: 820 passed, 20 serial, 0 errors, child exit 0"* ]]
}

@test "the only task waits 1.5 s on a process-shared semaphore a child posts: no deadlock report (1 and 2 workers)" {
	# the wait is in the kernel too, where another process's post ends
	# it: the monitor's deadlock check saw only tasks parked on the
	# program's synchronization and printed a task dump
	no_report() {
		same_output "$@"
		if grep deadlock "$BATS_TEST_TMPDIR/shim.err"; then return 1; fi
	}
	on_workers 1 2 -- no_report "$PROGS/sem_shared_late_post"
	[ "$native" = "$(printf 'sem_wait 0, child exit 0\nexit=0')" ]
}

@test "tasks waiting on a process-shared semaphore, then a fork whose child posts once per waiter: every waiter of the parent wakes, the child exits 0 (1 and 2 workers)" {
	# the child inherited the parent's parking lot: its posts found the
	# parent's waiters there, ran copies of them in the child (SIGSEGV)
	# and never woke the parent's (the deadlock report, then a hang)
	on_workers 1 2 -- same_output "$PROGS/sem_fork_waiters"
	[ "$native" = "$(printf 'got 20 of 20, child exit 0\nexit=0')" ]
}

@test "process-shared semaphores: a task's wait parks; posts by a thread, a child process; timed, EINTR (1 and 2 workers)" {
	# CPython's multiprocessing locks: a Pool's end waited in glibc's
	# futex call on the task's worker and starved the thread that would
	# end the wait (a hang)
	on_workers 1 2 -- same_output "$PROGS/sem_shared"
	[[ "$native" == *"same: sem_wait 0"* ]]
	[[ "$native" == *"cross: sem_wait 0, the other thread ticked during it: yes"* ]]
	[[ "$native" == *"eintr: sem_wait -1 EINTR"* ]]
	[[ "$native" == *"held: sem_wait 0"* ]]
}

@test "futex waits on memory shared with another process end at that process's wake, the word unchanged; bitsets; shared semaphores back and forth" {
	# stress-ng's futex stressor: a wake from another process reached a
	# parked task only through a change of the word, so each wait ran to
	# its timeout (here: the alarm)
	on_workers 1 2 -- same_output "$PROGS/futex_shared"
	[[ "$native" == *"wake: child's wait 0"* ]]
	[[ "$native" == *"bitset: woken by bits 0x1: 0"* ]]
	[[ "$native" == *"bitset: child's wait 0"* ]]
	[[ "$native" == *"sem: parent's rounds 200, child exit 0"* ]]
	# the parent (two tasks) waits through its worker's ring, its
	# children (one task each) in the kernel itself
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/futex_shared" > /dev/null
	[ "$(stat_of futex_kernel)" -gt 0 ]
	[ "$(stat_of lone_waits)" -gt 0 ]
	# and with the parent alone too: every wait the kernel's own
	on_workers 1 2 -- same_output "$PROGS/futex_shared" alone
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/futex_shared" alone > /dev/null
	[ "$(stat_of futex_kernel)" = 0 ]
	[ "$(stat_of lone_waits)" -ge 200 ]
}

# System V queues and semaphores: the waits were glibc's, in the kernel,
# on the worker, and the runtime's own signal ended them with an EINTR the
# program never sees natively (sync/sysvipc.c).
@test "System V msgrcv, msgsnd, semop, semtimedop waiting on threads and a child: same answers, EINTR from a handler as natively (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/sysv_ipc"
	[[ "$native" == *"msgrcv, a thread sends 30ms later                6"*"msgrcv type 5, a child sends 30ms later          6"* ]]
	[[ "$native" == *"semop -1, SIGALRM (SA_RESTART) at 30ms           -1 EINTR"* ]]
	[[ "$native" == *"msgrcv cancelled by pthread_cancel               1"* ]]
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/sysv_ipc" > /dev/null
	grep -Eq "park ipc +[1-9]" "$BATS_TEST_TMPDIR/st"
	[ "$(stat_of fallbacks)" -eq 0 ]
}

# POSIX message queues: glibc's mq_receive and mq_send waited in the
# kernel on the worker, so main, which had run there, never sent (a hang
# on 1 and 2 workers), and a handler or a cancel never ended the wait;
# mq_close, glibc's own close, left the queue's record behind for the
# next queue with its number (rt/mqueue.c).
@test "POSIX mq_receive, mq_send, mq_timedreceive waiting on threads: same answers, EINTR and cancel as natively, fd reuse after mq_close (1 and 2 workers, uring)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/mq_wait"
	[[ "$native" == *"3 receivers, main sends 50ms later: prios    7"* ]]
	[[ "$native" == *"receive, SIGUSR1 (no SA_RESTART)             EINTR"* ]]
	[[ "$native" == *"receive on it, main sends 50ms later         5"* ]]
	EVSHIM_NET=uring T=20 same_output "$PROGS/mq_wait"
	rm -f "$BATS_TEST_TMPDIR/st"
	EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/mq_wait" > /dev/null
	[ "$(stat_of fallbacks)" -eq 0 ]
}
