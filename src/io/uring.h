/* The io_uring file backend: one ring per worker, made the first time a
 * task of that worker needs it, owned by that worker. Its completions
 * signal an eventfd in the worker's epoll set (tag EVS_POLLER_URING), so
 * they arrive through the same poller loop as socket readiness (one loop
 * for both kinds of event) and neither starves the other. io/ does not call up: the reaper hands each
 * completion to a callback the scheduler passes.
 * All functions return >= 0 or -errno. */
#ifndef EVS_URING_H
#define EVS_URING_H
#include "fop.h"
#include <stdint.h>

#define EVS_POLLER_URING (UINT64_MAX - 1)

struct evs_uring;

int evs_uring_probe(void);   /* 0 when io_uring can be used here */
int evs_uring_new(struct evs_uring **out, int epfd);
void evs_uring_free(struct evs_uring *u);
/* Queue op and submit it; `user` comes back to the reaper. READ and WRITE
 * at off -1 use and move the file position, as read() and write() do.
 * -EBUSY: the ring is full. */
int evs_uring_submit(struct evs_uring *u, const struct evs_fop *op, void *user);
/* Hand every completion to done(user, res). `drain` reads the eventfd
 * first (the poller reported it); without it, only the completion queue is
 * looked at (right after a submit: opens that found everything cached
 * complete inline, and need not wait for the poller). */
int evs_uring_reap(struct evs_uring *u, int drain, void (*done)(void *user, int res));
#endif
