/* io_uring per worker: one ring, made by and owned by that worker.
 *
 * File ring (EVSHIM_NET=epoll): made the first time a task of that worker
 * needs the file backend. Its completions signal an eventfd in the
 * worker's epoll set (tag EVS_POLLER_URING), so they arrive through the
 * same poller loop as socket readiness and neither starves the other.
 *
 * Net ring (EVSHIM_NET=uring): made when the worker starts; it carries
 * socket operations that would block (io/nop.h) as well as file ones, and
 * the worker waits here instead of in epoll_wait. The epoll set (pipes,
 * ttys, poll() and friends, the signalfd, AIO's eventfd) and the worker's
 * poke eventfd are watched by multishot polls in the ring; the eventfd is
 * taken out of the epoll set and never read (each write wakes the poll).
 * Socket operations are queued, not submitted: the scheduler submits them
 * in one batch per round (evs_uring_flush), or with its wait. Completions
 * are read from the ring's memory, without a system call; an idle worker
 * spins by looking at that memory.
 *
 * io/ does not call up: the reaper hands each completion to a callback the
 * scheduler passes, and the flush asks a callback whether each queued
 * operation still stands. All functions return >= 0 or -errno. */
#ifndef EVS_URING_H
#define EVS_URING_H
#include "fop.h"
#include "nop.h"
#include <stdbool.h>
#include <stdint.h>

#define EVS_POLLER_URING (UINT64_MAX - 1)

struct evs_uring;

/* Every operation's user_data points at one of these, first in the
 * caller's wait record: the reaper keeps count of file operations. */
struct evs_uring_user {
	bool file;               /* set by evs_uring_submit */
};

int evs_uring_probe(void);   /* 0 when io_uring can be used here */
/* 0 when sockets can go through io_uring here: the operations, multishot
 * polls, waits with a timeout, poll-driven sockets (FAST_POLL) and
 * IORING_RECVSEND_POLL_FIRST (Linux 5.19). */
int evs_uring_probe_net(void);
/* A net ring for the worker with epfd and the poke eventfd evfd. Before
 * each submission, still(user) is asked about each queued socket
 * operation; one it refuses becomes a no-op (its fd was closed after it
 * was queued: the number may be another file's by now). Any thread may
 * make it (the runtime's start makes every worker's, so their fds are
 * hidden before the program opens any); the worker's own thread arms it:
 * evs_uring_arm_net puts in the multishot polls on epfd and evfd (takes
 * evfd out of epfd), so their wake-ups are that thread's to reap. */
int evs_uring_new_net(struct evs_uring **out, int epfd, int evfd, bool (*still)(void *user));
int evs_uring_arm_net(struct evs_uring *u);
/* Could a completion interrupt the thread's system calls (its work sent
 * as a signal: an operation in flight on a ring made without
 * COOP_TASKRUN)? Its EINTR is then not a stop's. */
bool evs_uring_may_interrupt(const struct evs_uring *u);
/* A net ring, armed: the worker waits in it. */
bool evs_uring_is_net(const struct evs_uring *u);
/* Queue a socket operation (not submitted: see evs_uring_flush). `user`
 * comes back to the reaper, and to the flush's check. -EBUSY: no room. */
int evs_uring_queue_net(struct evs_uring *u, const struct evs_nop *op, void *user);
/* Queue a cancellation of the operation `user` and submit at once. */
int evs_uring_cancel(struct evs_uring *u, void *user);
/* Submit what is queued (no system call when nothing is). */
int evs_uring_flush(struct evs_uring *u);
/* Submit and wait for a completion, up to timeout_ns (-1: no limit):
 * 0, -ETIME, -EINTR. kmask: the thread's signal mask while it waits (the
 * kernel's 64-bit sigset), NULL to keep it. */
int evs_uring_wait(struct evs_uring *u, int64_t timeout_ns, const uint64_t *kmask);
/* Completions are waiting (a look at the ring's memory). */
bool evs_uring_ready(struct evs_uring *u);
/* The epoll set's poll fired since the last call: ask epoll. */
bool evs_uring_take_epoll(struct evs_uring *u);
/* Operations queued and not submitted. */
unsigned evs_uring_queued(struct evs_uring *u);
int evs_uring_new(struct evs_uring **out, int epfd);
void evs_uring_free(struct evs_uring *u);
/* Queue op and submit it; `user` comes back to the reaper. READ and WRITE
 * at off -1 use and move the file position, as read() and write() do.
 * -EBUSY: the ring is full. */
int evs_uring_submit(struct evs_uring *u, const struct evs_fop *op, void *user);
/* Wait in the kernel on the futex word (32 bits; `shared`: reached by
 * other processes' wakes too) while it holds val, for a wake matching
 * mask; the completion (0 woken, -EAGAIN the word differed, -ECANCELED
 * after evs_uring_cancel) comes back to the reaper with `user`. -ENOSYS
 * when the kernel has no such operation (before 6.7), -EBUSY when the
 * ring has no room. */
int evs_uring_futex_wait(struct evs_uring *u, const uint32_t *word, uint32_t val, uint32_t mask,
			 bool shared, void *user);
/* Hand every completion to done(user, res). `drain` reads the eventfd
 * first (the poller reported it); without it, only the completion queue is
 * looked at (right after a submit: opens that found everything cached
 * complete inline, and need not wait for the poller; a net ring's every
 * round). The ring's own entries (its polls, cancellations) are not
 * handed on. */
int evs_uring_reap(struct evs_uring *u, int drain, void (*done)(void *user, int res));
#endif
