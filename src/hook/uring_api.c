/* liburing's waits, for programs that use io_uring themselves (MariaDB's
 * InnoDB waits for its completions in io_uring_wait_cqe). Without these
 * hooks the wait is a system call inside liburing that the shim cannot
 * see, and its worker stops. For a task, each wait first submits and
 * looks without waiting (the real function with nothing to wait for),
 * then parks on the ring's fd (rt/ringwait.h) until enough completions are
 * there, then lets the real function take them. Rings the runtime cannot
 * wait for this way go to the real function: the shim's own rings,
 * polled (IOPOLL) rings, and rings whose completions only come in when
 * their owner enters the kernel (DEFER_TASKRUN). */
#include "hook.h"
#include "../io/poller.h"
#include "../rt/config.h"
#include "../rt/ringwait.h"
#include "../rt/timer.h"
#include <liburing.h>

static bool ours(struct io_uring *ring)
{
	return !evs_config.disable && evs_current() && ring &&
	       !(ring->flags & (IORING_SETUP_IOPOLL | IORING_SETUP_DEFER_TASKRUN)) &&
	       !evs_poller_is_internal(ring->ring_fd);
}

struct want {
	struct io_uring *ring;
	unsigned n;
};

static bool enough(void *p)
{
	struct want *w = p;
	return io_uring_cq_ready(w->ring) >= w->n;
}

static int64_t deadline_of(struct __kernel_timespec *ts)
{
	if (!ts)
		return INT64_MAX;
	return evs_now_ns() + ts->tv_sec * 1000000000LL + ts->tv_nsec;
}

/* Park until wait_nr completions are in (0), or -ETIME, -EINTR, or
 * EVS_USE_REAL. */
static long wait_for(struct io_uring *ring, unsigned wait_nr, int64_t deadline)
{
	struct want w = { ring, wait_nr ? wait_nr : 1 };
	return evs_ring_wait(ring->ring_fd, enough, &w, deadline);
}

EVS_HOOK int __io_uring_get_cqe(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				unsigned submit, unsigned wait_nr, sigset_t *sigmask)
{
	if (!ours(ring) || sigmask || !wait_nr)
		return REAL(__io_uring_get_cqe)(ring, cqe_ptr, submit, wait_nr, sigmask);
	if (submit) {  /* in without waiting */
		int r = REAL(__io_uring_get_cqe)(ring, cqe_ptr, submit, 0, NULL);
		if (r < 0 && r != -EAGAIN)
			return r;
	}
	long r = wait_for(ring, wait_nr, INT64_MAX);
	if (r == EVS_USE_REAL)
		return REAL(__io_uring_get_cqe)(ring, cqe_ptr, 0, wait_nr, NULL);
	if (r < 0)
		return (int)r;
	return REAL(__io_uring_get_cqe)(ring, cqe_ptr, 0, 0, NULL);
}

EVS_HOOK int io_uring_submit_and_wait(struct io_uring *ring, unsigned wait_nr)
{
	if (!ours(ring) || !wait_nr)
		return REAL(io_uring_submit_and_wait)(ring, wait_nr);
	int n = REAL(io_uring_submit_and_wait)(ring, 0);
	if (n < 0)
		return n;
	long r = wait_for(ring, wait_nr, INT64_MAX);
	if (r == EVS_USE_REAL)
		return REAL(io_uring_submit_and_wait)(ring, wait_nr);
	return r < 0 ? (int)r : n;
}

/* The timed and multi-completion forms: one shape. */
static int timed(int (*real)(struct io_uring *, struct io_uring_cqe **, unsigned,
			     struct __kernel_timespec *, sigset_t *),
		 struct io_uring *ring, struct io_uring_cqe **cqe_ptr, unsigned wait_nr,
		 struct __kernel_timespec *ts, sigset_t *sigmask)
{
	if (!ours(ring) || sigmask || !wait_nr)
		return real(ring, cqe_ptr, wait_nr, ts, sigmask);
	struct __kernel_timespec zero = { 0, 0 };
	long r = wait_for(ring, wait_nr, deadline_of(ts));
	if (r == EVS_USE_REAL)
		return real(ring, cqe_ptr, wait_nr, ts, sigmask);
	if (r == -ETIME)
		r = -ETIME;  /* liburing's answer for a timeout */
	if (r < 0 && r != -ETIME)
		return (int)r;
	/* submit what is queued and take what is there, without waiting */
	int got = real(ring, cqe_ptr, r == -ETIME ? 1 : wait_nr, &zero, NULL);
	return got;
}

EVS_HOOK int io_uring_submit_and_wait_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
					      unsigned wait_nr, struct __kernel_timespec *ts,
					      sigset_t *sigmask)
{
	return timed(REAL(io_uring_submit_and_wait_timeout), ring, cqe_ptr, wait_nr, ts, sigmask);
}

EVS_HOOK int io_uring_wait_cqes(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				unsigned wait_nr, struct __kernel_timespec *ts, sigset_t *sigmask)
{
	return timed(REAL(io_uring_wait_cqes), ring, cqe_ptr, wait_nr, ts, sigmask);
}

EVS_HOOK int io_uring_wait_cqe_timeout(struct io_uring *ring, struct io_uring_cqe **cqe_ptr,
				       struct __kernel_timespec *ts)
{
	if (!ours(ring))
		return REAL(io_uring_wait_cqe_timeout)(ring, cqe_ptr, ts);
	long r = wait_for(ring, 1, deadline_of(ts));
	if (r == EVS_USE_REAL)
		return REAL(io_uring_wait_cqe_timeout)(ring, cqe_ptr, ts);
	if (r < 0)
		return (int)r;
	struct __kernel_timespec zero = { 0, 0 };
	return REAL(io_uring_wait_cqe_timeout)(ring, cqe_ptr, &zero);
}
