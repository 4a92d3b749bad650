/* Sockets through the worker's io_uring (EVSHIM_NET=uring, where the
 * kernel has what it needs). The default is EVSHIM_NET=epoll, the
 * readiness loop for everything: every test passes both ways, but the
 * stock programs (tests/stock) have not been run on the ring yet
 * (docs/design.md, decision 17).
 *
 * When a blocking socket call would block (its non-blocking attempt said
 * EAGAIN, or the fd was last seen empty: fdtab.h, invariant 5), the
 * operation itself goes into the worker's ring (recv, send, recvmsg,
 * sendmsg, accept, with IORING_RECVSEND_POLL_FIRST: the kernel waits for
 * readiness, then makes the call) and the task parks; the completion
 * carries the call's result, so there is no second attempt. The worker
 * submits a round's operations in one system call and waits in the ring
 * (sched.c).
 *
 * The program's memory: while the operation is in the kernel's hands the
 * task is parked inside the call, so its buffers stay put. A buffer in
 * swapped TLS (rt/tls.h) would hold another task's bytes then: the ring
 * gets a bounce buffer instead, filled or copied back while the task runs
 * (rt/xfer.c; an address or a msghdr transfer there stays on the
 * readiness path, rt/fdwait.c). The iovec array and the msghdr handed
 * over are the runtime's copies on the task's stack.
 *
 * Ending a wait early (close() of the fd by another task, SO_RCVTIMEO or
 * SO_SNDTIMEO, pthread_cancel, a signal): the task cancels its operation
 * and waits, uncancellable, until the kernel has answered for it; only
 * then does the call return, so the kernel never writes into the buffer
 * after it. If the operation completed after all, its result stands (a
 * receive that got bytes returns them; the signal's handler runs first, a
 * cancellation acts at the next cancellation point). An operation queued
 * but not yet submitted when its fd is closed goes as a no-op (the flush
 * checks the fd's generation), so it never reaches a file that reused the
 * number. */
#ifndef EVS_NETRING_H
#define EVS_NETRING_H
#include "../evs.h"
#include "fdtab.h"
#include "../io/nop.h"

enum { EVS_NET_AUTO = 0, EVS_NET_URING, EVS_NET_EPOLL };

struct evs_worker;
struct evs_uring;

/* At start-up: EVSHIM_NET; uring is probed, and falls back to epoll with
 * a line on stderr where the kernel cannot carry sockets. */
void evs_net_init(void);
const char *evs_net_name(void);
/* The worker's ring: a net ring under EVSHIM_NET=uring, made for every
 * worker at the runtime's start (evs_net_worker_init, with the epoll sets:
 * their fds are hidden before the program opens any) and armed by the
 * worker's own thread on first use; else a file ring, made on first use.
 * NULL when it cannot be had, or asked by another thread before it is
 * armed (then the worker uses epoll and the pool). */
struct evs_uring *evs_worker_ring(struct evs_worker *w);
void evs_net_worker_init(struct evs_worker *w);
/* The calling worker's net ring, made if need be; NULL under
 * EVSHIM_NET=epoll or when it cannot be had. */
struct evs_uring *evs_net_ring(void);

/* How a socket operation in the ring ended. */
struct evs_netres {
	bool completed;          /* the operation ran: res is its result */
	long res;
	int why;                 /* the wake reason that ended the park */
};
/* Queue op, park until its completion or until the wait ends otherwise
 * (deadline, close, cancellation, signal: the operation is then cancelled
 * and reaped before this returns). Returns 0 with *out filled, or, when
 * the operation did not run: -ETIME, -EBADF, -ECANCELED, -EINTR (the
 * signal's handler not run yet), 0 with !completed (try again), or
 * EVS_USE_REAL when the ring cannot take it (use the readiness path). */
long evs_net_park(struct evs_fd *f, int fd, int dir, const struct evs_nop *op,
		  int64_t deadline, struct evs_netres *out);
#endif
