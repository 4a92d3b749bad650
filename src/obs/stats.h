/* Counters. Each worker bumps its own array (owner-only, no atomics); a
 * thread that is not a worker bumps the shared array here atomically. obs
 * is a leaf: it knows the counters' names and how to print a report; the
 * runtime (rt/report.c) adds up the workers' arrays and hands the totals
 * over. */
#ifndef EVS_STATS_H
#define EVS_STATS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVS_STATS_LIST(X) \
	X(tasks_created, "tasks created by pthread_create") \
	X(tasks_exited, "tasks that ended") \
	X(switches, "task switches") \
	X(parks, "times a task parked") \
	X(wakes_remote, "wake-ups sent to another worker") \
	X(steals, "new tasks an idle worker took from another") \
	X(given_away, "new tasks a worker handed to an idle one before starting them") \
	X(moved, "tasks woken from a hand-off (lock, condition...) handed to an idle worker") \
	X(worker_sleeps, "times a worker slept in epoll_wait") \
	X(worker_pokes, "eventfd pokes to wake a sleeping worker") \
	X(timer_fires, "timers that fired") \
	X(stack_reuse, "stacks reused from the cache") \
	X(stack_mmap, "stacks mapped anew") \
	X(offloads, "calls run on the blocking pool") \
	X(lone_waits, "poll, select and epoll_wait calls a process's only task made in the kernel itself") \
	X(lone_calls, "file and other pool calls made on the spot: the process had one task, nothing else to run") \
	X(uring_ops, "file operations done by io_uring") \
	X(aio_ops, "O_DIRECT reads/writes done by Linux AIO") \
	X(file_fast, "file reads/writes served from the page cache at once") \
	X(open_fast, "opens served from the dentry cache at once") \
	X(write_slow, "buffered writes on the worker that waited (the fd's writes then go to the backend for 1 s)") \
	X(open_local, "lookups the cache refused but the worker answered (ENOTDIR, /proc, /sys, tmpfs)") \
	X(sendfile_ahead, "sendfile ranges read ahead by the backend first") \
	X(sendfile_copies, "small sendfile pieces sent by copy (preadv2 + send)") \
	X(fallbacks, "calls passed to the real blocking function") \
	X(stdio_parks, "times a stdio call parked until its FILE's fd was ready") \
	X(peer_wakes, "tasks woken by a transfer on the other end of a pipe or socketpair of this process") \
	X(pipe_handoffs, "pipe writes handed straight to a parked reader of this process (no system call)") \
	X(tries_skipped, "socket/pipe calls that parked at once: the fd was empty, no event since") \
	X(futex_kernel, "futex and semaphore waits on process-shared words also made in the kernel (io_uring)") \
	X(net_ring_ops, "socket operations done by io_uring (EVSHIM_NET=uring)") \
	X(net_ring_cancels, "of those, taken back (timeout, close, signal, cancellation)") \
	X(net_ring_bounced, "of those, through a bounce buffer (the program's was in swapped TLS)") \
	X(stalls, "times the monitor found a worker stalled") \
	X(stall_ms_total, "milliseconds workers spent stalled") \
	X(stall_ms_max, "longest stall, milliseconds") \
	X(preempt_signals, "preemption signals sent to stalled workers") \
	X(preempts, "tasks preempted at a safe point") \
	X(preempt_refused, "signals that found no safe point or nothing to run") \
	X(handoffs, "unseen blocking system calls handed to a helper thread") \
	X(handoffs_intr, "of those, ended there by a signal for the task (then made again or EINTR)") \
	X(sites_learned, "syscall instructions outside libc rewritten to trap after one blocked (rt/sitetrap.c)") \
	X(site_calls, "calls made at those sites, handed off at once") \
	X(calls_redone, "unseen waits the kernel does not restart, ended by the monitor's signal, made again") \
	X(workers_added, "spare workers started because all were stalled") \
	X(workers_retired, "spare workers that left once the stall was over")

/* Why a task parks: counted per cause (the report's "parks" lines) and
 * named in the task dump. */
#define EVS_WAIT_LIST(X) \
	X(yield, "gave its turn to the others (sched_yield, preemption)") \
	X(sleep, "sleep, nanosleep, clock_nanosleep") \
	X(fd_in, "waiting to read or accept on an fd") \
	X(fd_out, "waiting to write or connect on an fd") \
	X(poll, "poll, select, epoll_wait on several fds") \
	X(mutex, "pthread_mutex_lock and its timed forms") \
	X(rwlock, "reader-writer lock") \
	X(cond, "condition variable") \
	X(sem, "semaphore") \
	X(barrier, "pthread_barrier_wait") \
	X(once, "pthread_once run by another thread") \
	X(join, "pthread_join") \
	X(signal, "sigwait, sigsuspend, pause") \
	X(lock, "flock, fcntl(F_SETLKW): a file lock held elsewhere") \
	X(futex, "futex(FUTEX_WAIT) made through syscall()") \
	X(file, "a file operation in io_uring or Linux AIO") \
	X(pool, "a call on the blocking pool") \
	X(ipc, "msgrcv, msgsnd, semop: a System V queue or semaphore")

enum evs_wait {
#define X(name, text) EVS_WAIT_##name,
	EVS_WAIT_LIST(X)
#undef X
	EVS_WAIT__N
};
const char *evs_wait_name(int kind);

enum evs_stat {
#define X(name, text) EVS_ST_##name,
	EVS_STATS_LIST(X)
#undef X
	EVS_ST__N
};

/* Counters bumped by threads that are not workers (atomic). */
void evs_stat_add_slow(enum evs_stat s, uint64_t n);
void evs_stat_max_slow(enum evs_stat s, uint64_t v);
uint64_t evs_stat_shared(enum evs_stat s);
/* Raise *peak to v if v is larger (atomic). */
void evs_stat_peak(uint64_t *peak, uint64_t v);

/* Fallbacks by call: each call name (a string literal: the hook's name)
 * gets a slot the first time it falls back; lock-free, any thread. Past
 * EVS_FALLBACK_CALLS names, the rest are counted under "other". Returns
 * the call's count after this one. */
#define EVS_FALLBACK_CALLS 64
uint64_t evs_fallback_by_call(const char *call);
/* fork(): the child's report counts from zero, as its workers' counters
 * do (the shared counters and the fallbacks by call were the parent's). */
void evs_stats_atfork_child(void);

/* What the exit report says, gathered by the runtime. */
struct evs_report {
	const char *program;     /* argv[0] */
	int pid;
	int workers;             /* configured */
	int slots;               /* worker slots used (spares included) */
	const char *file_backend;
	const char *net;                 /* EVSHIM_NET in force: uring or epoll */
	uint64_t total[EVS_ST__N];
	uint64_t parks_by[EVS_WAIT__N];
	uint64_t tasks_peak;
	uint64_t kthreads_peak;  /* kernel threads at most: main + the runtime's */
	long vol_ctxsw, invol_ctxsw, maxrss_kib;
};
/* The report as "name value" lines into buf (json: one JSON object on
 * one line); returns the length. The fallbacks by call come from the
 * table above. */
size_t evs_report_format(const struct evs_report *r, bool json, char *buf, size_t len);
#endif
