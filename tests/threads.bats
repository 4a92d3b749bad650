#!/usr/bin/env bats
# Threads as tasks: unmodified pthread programs, native vs shim.
load helpers/load

@test "5000 threads created and joined, sum of join values (1 and 2 workers; the ucontext switch)" {
	on_workers 1 2 -- same_output "$PROGS/threads_many"
	EVSHIM_SWITCH=ucontext same_output "$PROGS/threads_many"
	[[ "$native" == *"created 5000 threads, joined all, sum 37497500"* ]]
}

@test "join values, detach, tryjoin, timedjoin, exit from depth, cancel (1 and 2 workers; ucontext on 1)" {
	on_workers 1 2 -- same_output "$PROGS/join_detach"
	EVSHIM_SWITCH=ucontext on_workers 1 -- same_output "$PROGS/join_detach"
	[[ "$native" == *"cleanups: 1 2 3"* ]]
	[[ "$native" == *"cancelled thread: PTHREAD_CANCELED, cleanup 99"* ]]
}

@test "asynchronous cancellation: of threads waiting in pthread_mutex_lock, plain and robust process-shared (uWSGI's graceful reload), by setcancelstate/setcanceltype with a cancel pending, not in a condition wait's relock (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/async_cancel"
	[[ "$native" == *"4 lockers cancelled in pthread_mutex_lock (plain): 4 PTHREAD_CANCELED, cleanups 4, got the lock 0"* ]]
	[[ "$native" == *"(robust, process-shared): 4 PTHREAD_CANCELED, cleanups 4, got the lock 0"* ]]
	[[ "$native" == *"setcancelstate(ENABLE): cleanups 1, went past it 0"* ]]
	[[ "$native" == *"setcanceltype(ASYNCHRONOUS): PTHREAD_CANCELED, cleanups 1, went past it 0"* ]]
	[[ "$native" == *"unlock in its cleanup: 0"* ]]
}

@test "keys, destructor rounds, key delete, errno kept across a sleep (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/keys_errno"
	[[ "$native" == *"wrong values 0, errno lost 0"* ]]
}

@test "sched_yield turns, pthread_self identity, names, getattr_np stack (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/yield_ident"
	[[ "$native" == *"turns taken with sched_yield: 2000"* ]]
	[[ "$native" == *"holds its locals: yes, size >= asked: yes"* ]]
}

@test "10000 threads sleep at once on 1 worker: a handful of kernel threads" {
	EVSHIM_WORKERS=1 EVSHIM_STATS="$BATS_TEST_TMPDIR/st" run_shim "$PROGS/sleepers" 10000 \
		> "$BATS_TEST_TMPDIR/out" 2> "$BATS_TEST_TMPDIR/err"
	grep -qx "10000 threads slept and woke: 10000" "$BATS_TEST_TMPDIR/out"
	k=$(awk '/^kernel-threads/ {print $2}' "$BATS_TEST_TMPDIR/err")
	added=$(stat_of workers_added)
	echo "kernel threads at the peak: $k; spare workers added: $added"
	# the worker and the monitor, and the spares the monitor added (making
	# 10,000 threads without a switch can look like a stall, more often on
	# a busy machine): never a kernel thread per thread
	[ "$k" -ge 1 ] && [ "$k" -le $((2 + added)) ]
}

@test "exit(3) from a thread while main is joining: status and atexit once" {
	same_output "$PROGS/exit_paths" thread-exit
	[[ "$native" == *"exit=3"* ]]
	[ "$(grep -c 'atexit handler ran' <<<"$native")" -eq 1 ]
}

@test "main returns 7 while threads sleep: status and atexit once" {
	EVSHIM_WORKERS=1 same_output "$PROGS/exit_paths" main-return
	[[ "$native" == *"exit=7"* ]]
}

@test "main calls pthread_exit: the last thread's end exits with 0" {
	same_output "$PROGS/main_pexit"
	[[ "$native" == *"thread 2 ends"*"atexit handler ran"*"exit=0" ]]
}

@test "fork from a thread: the child sleeps, makes threads, uses pipes; popen and system work (1 and 2 workers)" {
	# ASan's allocator is not fork-safe: a fork while another thread holds
	# its lock leaves the child stuck on it, natively too (seen in make asan)
	[ -z "${EVSHIM_ASAN:-}" ] || skip "fork with threads allocating deadlocks ASan's allocator"
	on_workers 1 2 -- same_output "$PROGS/fork_child"
	[[ "$native" == *'child: got "from a thread of the child"'*"child exited with 5"* ]]
	[[ "$native" == *"system: 3"* ]]
}

@test "a fork made by the raw clone or clone3 call through syscall(), or by glibc's clone() without CLONE_VM: the child gets a runtime of its own (vsftpd's session processes) (1 and 2 workers)" {
	# the child kept the parent's epoll sets: its waits were heard by the
	# parent, which hung, or crashed taking the child's ring completions
	on_workers 1 2 -- same_output "$PROGS/clone_fork" "$BATS_TEST_TMPDIR"
	[[ "$native" == *'child 0: got "ack"'*'parent 0: got "hello from the child", child exited with 7'* ]]
	[[ "$native" == *'parent 2: got "hello from the child", child exited with 7'* ]]
}

@test "pthread_create is held to RLIMIT_NPROC: EAGAIN once the process's threads reach it, as natively (GLib's /thread/thread4) (1 and 2 workers)" {
	# a thread was made where natively none may be: GLib skipped its case
	on_workers 1 2 -- same_output "$PROGS/nproc_thread"
	[[ "$native" == *'limit 1: Resource temporarily unavailable'*'limit back: made'* ]]
	[[ "$native" == *'4 alive, limit 4: Resource temporarily unavailable'* ]]
}

@test "a process that lowers its open-files or process limit to 0 and then waits on the fds it has: a forked child leaves the runtime, a running runtime keeps its fds (vsftpd's session processes) (1 and 2 workers)" {
	# the child's first park could not make the runtime's poller: fatal
	on_workers 1 2 -- same_output "$PROGS/nofile_low"
	[[ "$native" == *'child: read 12 "to the child", a new pipe: Too many open files'* ]]
	[[ "$native" == *'parent: got "back", child exited with 0'* ]]
	[[ "$native" == *'helper: got "back"'* ]]
}

# 200 threads alive at once, each with 512 KiB of stack touched (100 MiB
# in all): once joined, what stays resident must be about the warm tops
# the stack cache keeps (64 KiB each), not the 100 MiB. Both ways a task
# can reach that depth: waiting down there, or computing down there after
# waiting shallow (a pool thread), which a depth seen at switches misses.
@test "a burst of threads that each used 512 KiB of stack gives it back when they end (parked deep, or computing after a shallow wait; 1 and 2 workers)" {
	for mode in park compute; do
		for w in 1 2; do
			run_native "$PROGS/stack_trim" 200 512 $mode > "$BATS_TEST_TMPDIR/n"
			EVSHIM_WORKERS=$w run_shim "$PROGS/stack_trim" 200 512 $mode > "$BATS_TEST_TMPDIR/s"
			grep -qx 'sum 19900' "$BATS_TEST_TMPDIR/n"
			grep -qx 'sum 19900' "$BATS_TEST_TMPDIR/s"
			rss=$(awk '$1 == "rss_mib" {print $2}' "$BATS_TEST_TMPDIR/s")
			echo "$mode, $w worker(s): $rss MiB resident after the join (native: $(awk '$1 == "rss_mib" {print $2}' "$BATS_TEST_TMPDIR/n"))"
			[ "$rss" -lt 48 ]
		done
	done
}

@test "an allocator of the program's own that sets a pthread key from its first malloc in a thread (jemalloc, rustc): every destructor runs (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/keys_alloc_reenter"
	[[ "$native" == *"both keys read back in 40; state destructors 40, user destructors 40"* ]]
}

@test "a program's allocator that takes a lock, and threads with __thread data: their TLS areas are made with the lock taken elsewhere (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/alloc_lock_tls"
	[[ "$native" == *"20 rounds, 20 threads saw their own TLS"* ]]
}

# Names: a new thread starts with its creator's, prctl and
# pthread_setname_np name the calling thread only, however many threads
# share its worker.
@test "thread names: inherited at creation, per thread through prctl(PR_SET_NAME/PR_GET_NAME) and pthread_setname_np, cut or refused past 15 characters (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/thread_names"
	[[ "$native" == *"new thread A: prctl says \"names-main\""* ]]
	[[ "$native" == *"main reads the others: \"by-prctl\", \"by-setname\""* ]]
}

@test "scheduling calls given the caller's own gettid (GLib's new threads copy their creator's sched_setattr): they succeed on the worker, counted as fallbacks (1 and 2 workers)" {
	# the kernel does not know a task's number: ESRCH, and GLib printed
	# "Failed to set scheduler settings: No such process"
	on_workers 1 2 -- same_output "$PROGS/tid_sched"
	[[ "$native" == *"thread 2:"*"syscall sched_setattr(gettid), unchanged     ok"* ]]
	[[ "$native" != *"No such process"* ]]
}

@test "a Go-like program (Go's build-id note; pthreads that wait on each other with raw futex calls): the shim steps aside, same kernel threads as natively (1 and 2 workers, monitor off too)" {
	on_workers 1 2 -- same_output "$PROGS/go_like"
	[[ "$native" == *"4 threads started; kernel threads: 5"* ]]
	# without the monitor's spare workers, main's raw wait hung its worker
	EVSHIM_MONITOR=0 EVSHIM_WORKERS=1 same_output "$PROGS/go_like"
	EVSHIM_LOG=info run_shim "$PROGS/go_like" 2>&1 >/dev/null | grep -q "a Go program: .* the shim steps aside"
}

# A join returned while the ending task was still on its stack (it woke
# the joiner, then left): a program that frees the stack it gave after
# the join (SBCL) had the task's last steps, or the runtime's signal
# frame, land in unmapped memory (SIGSEGV in evs_poller_poke).
@test "threads on stacks the program maps, each unmapped right after its join, while two processes keep the CPUs busy: no crash (1 and 2 workers)" {
	T=60 on_workers 1 2 -- same_output "$PROGS/join_frees_stack"
	[[ "$native" == *"4000 threads on stacks of their own, each unmapped after its join: 2000 odd"* ]]
}

@test "set_tid_address through syscall() from threads: it answers with the thread's gettid, and the word is 0 and woken when the thread ends (stress-ng's pthread stressor; 1 and 2 workers)" {
	# hook/syscall.c, rt/task.c: the kernel's answer was the worker's
	# thread id, and the worker's own word (glibc joins it by that) was
	# replaced; the word was never cleared, so the waits ran out
	on_workers 1 2 -- same_output "$PROGS/clear_tid"
	[ "$(echo "$native" | grep -c 'its gettid: yes; its word cleared at its end: yes')" -eq 4 ]
}

@test "a program that defines gettid() itself as syscall(SYS_gettid) (netdata 1.37): every thread gets a stable id of its own (1 and 2 workers)" {
	# the shim's syscall() answered SYS_gettid with a call of gettid(),
	# which found the program's: endless recursion, SIGSEGV at start-up
	on_workers 1 2 -- same_output "$PROGS/own_gettid"
	[[ "$native" == *"main: the process id: yes"* ]]
	[[ "$native" == *"threads: 8 of 8 with a positive, stable id of their own; all distinct: yes"* ]]
}
