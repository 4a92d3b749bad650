/* The blocking pool: kernel threads that make calls no task may make on
 * its worker (a regular file read that misses the page cache, a name
 * lookup). A task hands over a job and parks; a pool thread runs it and
 * wakes the task through its worker's inbox, like any other wake-up.
 *
 * Size (how big, does it shrink, how is growth bounded): the pool starts empty, adds a thread when a
 * job finds no idle one, up to EVSHIM_POOL_MAX (default 16); a thread idle
 * for EVS_POOL_IDLE_NS ends, so the pool shrinks back. At the bound, jobs
 * queue (FIFO) instead of adding threads: growth is bounded, and the queue
 * cannot deadlock because pool jobs never wait for tasks. A thread that
 * finished a job stays awake for EVS_POOL_SPIN_NS (20 µs) before it
 * sleeps, so a task making a series of calls (log writes on ext4, each a
 * job) does not pay a futex wake-up on each: 4 KiB appends went from
 * about 0.56x to 0.72x native (build/bench/file_write, three runs each). */
#ifndef EVS_OFFLOAD_H
#define EVS_OFFLOAD_H
#include <stdbool.h>

/* Run fn(arg) on a pool thread and return its result; the calling task
 * parks meanwhile. Called from a task only. */
long evs_offload(long (*fn)(void *), void *arg);
/* The same; unbounded: a job that may wait for other tasks (a system
 * call handed off by the monitor, rt/handoff.c) gets a thread even past
 * EVSHIM_POOL_MAX, so it can never wait behind jobs that wait for it. */
long evs_offload_call(long (*fn)(void *), void *arg, bool unbounded);
/* The same for a call a signal for the task must end (unbounded, too):
 * fn makes its system call through the window (arch/window.h) with
 * evs_offload_intr_word() as its head and 0 as seen, and the pool thread
 * takes the runtime's signal meanwhile; a signal for the task sets the
 * word and signals that thread, whose call then returns -EINTR, and the
 * task waits for that result. wait_flags: the park's (task.h
 * EVS_WAIT_NOCANCEL: a cancellation does not end it); *ended (may be
 * NULL) tells whether the task asked the call to end (its result is then
 * -EINTR, or what the call gave if it was done first). */
long evs_offload_intr(long (*fn)(void *), void *arg, unsigned wait_flags, bool *ended);
const unsigned *evs_offload_intr_word(void);
/* The same (bounded), and the task's signal handlers run while fn runs,
 * as natively they run during a call that goes on after them (a name
 * lookup: glibc's resolver waits again after EINTR), and a cancellation
 * of the task acts at once (the call is a cancellation point). arg must
 * be heap memory holding all fn reads and writes, freed by the caller
 * after the return: a handler that leaves by longjmp, or the
 * cancellation's unwinding, leaves it and the job to the pool thread
 * (never freed then). */
long evs_offload_handled(long (*fn)(void *), void *arg);
/* This thread is a pool thread running such a call that its task asked
 * to end (its signal handler ends it). */
bool evs_offload_intr_running(void);
void evs_offload_atfork_child(void);
#endif
