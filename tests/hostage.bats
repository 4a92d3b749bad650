#!/usr/bin/env bats
# No hostages: calls real programs block in that the shim once could not
# see (futex waits through libc's syscall(), liburing's completion waits)
# park the task, so the other tasks of its worker go on. One worker, no
# monitor: a wait that blocked the worker would stop the ticker.
load helpers/load

@test "futex waits through syscall(): raw pairs, timeouts, C++ atomic::wait, counting_semaphore, latch" {
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/futex_wait"
	[ "$(echo "$native" | grep -c 'ticked meanwhile: yes')" -eq 4 ]
	[[ "$native" == *"timed futex wait: returned -1 ETIMEDOUT"* ]]
}

@test "a program's own io_uring: io_uring_wait_cqe, a timed wait, submit_and_wait" {
	out="$("$PROGS/uring_wait")"
	[[ "$out" != "no io_uring here" ]] || skip "io_uring is not usable here"
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/uring_wait"
	[ "$(echo "$native" | grep -c 'ticked meanwhile: yes')" -eq 3 ]
}

@test "a read on a named FIFO (no RWF_NOWAIT for it) parks: the ticker that feeds it runs" {
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 T=30 same_output "$PROGS/fifo_read"
	[ "$native" = "$(printf 'tick 0\ntick 1\ntick 2\ngot done\nexit=0')" ]
}

@test "an eventfd made non-blocking, dup'd and made blocking through the copy: a read on the original waits for the writer, then EAGAIN once the copy is non-blocking again (1 and 2 workers)" {
	# O_NONBLOCK is the description's: the original's recorded flag said
	# non-blocking, its read went to the kernel without a poll and held
	# the worker the writer needed
	EVSHIM_MONITOR=0 T=30 on_workers 1 2 -- same_output "$PROGS/eventfd_dup_block"
	[ "$native" = "$(printf 'block: read 8, value 7\nagain: read -1 EAGAIN\nexit=0')" ]
}

@test "glibc stdio on pipes: fgets, getchar, scanf, getline, fread, getc wait for input; fwrite, fprintf, fputs, fputc, printf, puts fill a slow reader's pipe" {
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/stdio_pipes"
	[ "$(echo "$native" | grep -c 'ticked meanwhile: yes')" -eq 16 ]
	[[ "$native" == *"handler without SA_RESTART: NULL, ferror 1, EINTR"* ]]
	# the default configuration (more workers, the monitor) gives the same
	same_output "$PROGS/stdio_pipes"
}

@test "fclose and pclose close inside glibc: the next popen's pipe, with the same number, is waited on anew (PostgreSQL initdb) (1 and 2 workers)" {
	on_workers 1 2 -- same_output "$PROGS/fclose_reuse"
	[[ "$native" == *"fdopen: popen's pipe has the same number: yes"* ]]
	[[ "$native" == *"popen: pclose exited 1 status 3"* ]]
	[[ "$native" == *"popen: the next popen's pipe has the same number: yes"* ]]
}

@test "glibc stdio on pipes, _FORTIFY_SOURCE forms: __fgets_chk, __fread_chk, __printf_chk, __fprintf_chk" {
	nm -D "$PROGS/stdio_pipes_fortify" | grep -q __fread_chk
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/stdio_pipes_fortify"
	[ "$(echo "$native" | grep -c 'ticked meanwhile: yes')" -eq 16 ]
}

@test "splice and tee between pipes and sockets park on the side in the way: an empty input, a full output, a socket either way; SPLICE_F_NONBLOCK, SO_RCVTIMEO and a handler without SA_RESTART as natively" {
	# rt/splice.c: made as they were, each call held its worker, and the
	# ticker that feeds or drains it never ran (a hang, ended by its alarm)
	EVSHIM_WORKERS=1 EVSHIM_MONITOR=0 same_output "$PROGS/splice_wait"
	[ "$(echo "$native" | grep -c 'ticker ran meanwhile: yes')" -eq 5 ]
	[[ "$native" == *"the peer got 8 bytes: abcdefgh"* ]]
	[[ "$native" == *"splice from a socket with SO_RCVTIMEO        -1 (Resource temporarily unavailable)"* ]]
	[[ "$native" == *"splice cut short by a handler                -1 (Interrupted system call)"* ]]
	EVSHIM_NET=uring on_workers 1 2 -- same_output "$PROGS/splice_wait"
}

# rt/splice.c: a blocking splice on a pipe last seen empty parked before
# its first attempt, so arguments the kernel refuses before it waits (a
# pipe spliced to itself, an offset on a pipe) waited for ever instead.
@test "splice and tee with arguments refused before any wait (a pipe to itself, an offset on a pipe, the wrong ends) on an input last seen empty: the kernel's errors at once (alone, 2 threads; 1 and 2 workers, uring)" {
	T=20 on_workers 1 2 -- same_output "$PROGS/splice_args"
	[[ "$native" == *"with a second thread:"*"splice of a pipe to itself               -1 EINVAL"* ]]
	EVSHIM_NET=uring T=20 same_output "$PROGS/splice_args"
}

# The runtime opens a file on the worker when its path is cached; the open
# of a FIFO then waits there for the other end. On 1 worker (and on 2 when
# both threads share one) main, pinned to that worker, never ran to open
# the other end: a hang. The monitor hands such an open off, and a signal
# for the task ends it wherever it waits (the worker, a pool thread).
@test "a thread's blocking open of a FIFO waits for main to open the other end, both ways; a signal ends it (EINTR) or it goes on (SA_RESTART) (1 and 2 workers)" {
	T=30 on_workers 1 2 -- same_output "$PROGS/fifo_open" "$BATS_TEST_TMPDIR"
	[[ "$native" == *'reader: open ok, read 5 "hello"'*'writer: open ok, wrote 4'*'main: read 4 "back"'* ]]
	[[ "$native" == *"signalled reader (no SA_RESTART): open EINTR, handler ran 1"*"signalled reader (SA_RESTART): open ok, handler ran 1"* ]]
	[[ "$native" == *"a reader waiting in open, cancelled: yes"* ]]
}
