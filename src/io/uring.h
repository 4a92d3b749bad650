/* The io_uring file backend: one ring per worker, made the first time a
 * task of that worker misses the page cache, owned by that worker. Its
 * completions signal an eventfd in the worker's epoll set (tag
 * EVS_POLLER_URING), so they arrive through the same poller loop as
 * socket readiness (seed 000's merged loop, with the eventfd in place of
 * expect_aio) and neither starves the other. io/ does not call up: the
 * reaper hands each completion to a callback the scheduler passes.
 * All functions return >= 0 or -errno. */
#ifndef EVS_URING_H
#define EVS_URING_H
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define EVS_POLLER_URING (UINT64_MAX - 1)

struct evs_uring;

int evs_uring_probe(void);   /* 0 when io_uring can be used here */
int evs_uring_new(struct evs_uring **out, int epfd);
void evs_uring_free(struct evs_uring *u);
/* Queue a vectored read (off -1: at the file position, which moves as a
 * read() would move it) and submit it; `user` comes back to the reaper. */
int evs_uring_readv(struct evs_uring *u, int fd, const struct iovec *iov, int cnt,
		    off_t off, void *user);
/* The eventfd fired: hand every completion to done(user, res). */
int evs_uring_reap(struct evs_uring *u, void (*done)(void *user, int res));
#endif
