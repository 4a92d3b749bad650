/* The poller: epoll, one set per worker, edge-triggered.
 *
 * io/ never calls up into the scheduler: evs_poller_wait hands raw events
 * back and the scheduler (rt/sched.c) dispatches them. Each worker's set
 * holds its eventfd (the cross-worker poke, like kqueue's EVFILT_USER)
 * tagged EVS_POLLER_POKE, and every fd a task of this worker has waited on,
 * tagged with (generation << 32 | fd) so that an event for a closed and
 * reused fd number is recognised as stale (rt/fdtab.c).
 *
 * All functions return >= 0 or -errno. */
#ifndef EVS_POLLER_H
#define EVS_POLLER_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/epoll.h>

#define EVS_POLLER_POKE UINT64_MAX
/* UINT64_MAX - 1 and - 2: io/uring.h, io/aio.h */
#define EVS_POLLER_SIGNAL (UINT64_MAX - 3)  /* the process signalfd (rt/sigwait.c) */

int evs_poller_init(int *epfd, int *evfd);
/* A runtime eventfd (hidden, non-blocking) in epfd's set, reported with
 * `tag`: the worker's poke, and the io_uring and AIO completion signals.
 * Returns the fd or -errno. */
int evs_poller_eventfd(int epfd, uint64_t tag);
/* Wait up to timeout_ns (-1: forever, 0: just look). */
int evs_poller_wait(int epfd, int64_t timeout_ns, struct epoll_event *ev, int max);
/* The same with the thread's signal mask replaced by *kmask (the kernel's
 * 64-bit sigset) while it waits; kmask NULL: the mask as it is. */
int evs_poller_wait_masked(int epfd, int64_t timeout_ns, struct epoll_event *ev, int max,
			   const uint64_t *kmask);
void evs_poller_poke(int evfd);
/* Would evs_poller_wait(epfd, 0, ...) report something? Asked from
 * another thread (the monitor): looks at the set without taking any of
 * its events (poll(2) on the epoll fd). */
bool evs_poller_has_events(int epfd);
void evs_poller_drain(int evfd);
/* Register fd once, edge-triggered for input, output and peer hang-up. */
int evs_poller_add(int epfd, int fd, uint64_t tag);
/* The same fd, registered before under an older tag: change the tag. */
int evs_poller_retag(int epfd, int fd, uint64_t tag);
/* Every fd the runtime owns (epoll sets, eventfds, io_uring rings) goes
 * through evs_poller_hide_fd: moved out of the program's way (above the
 * soft limit the process started with, CLOEXEC) and recorded, so close()
 * and dup2() from the program answer EBADF for it, as they would natively
 * where it does not exist.
 * evs_poller_close_fd closes and forgets one; evs_poller_forget_fd only
 * forgets (for an fd a library closes itself). */
int evs_poller_hide_fd(int fd);
/* The open-files soft limit the process started with (before the runtime
 * raised it): hidden fds go from there up (FD_SETSIZE at most). */
void evs_poller_fd_base(unsigned long soft_at_start);
void evs_poller_close_fd(int fd);
void evs_poller_forget_fd(int fd);
bool evs_poller_is_internal(int fd);
/* The runtime's fds in [first, last], ascending, at most max of them. */
int evs_poller_internal_in(unsigned first, unsigned last, int *out, int max);
#endif
