/* poll, ppoll, select, pselect and the program's own epoll_wait: thin
 * translations of rt/pollwait.c. A zero timeout never parks (the real
 * call answers at once).
 * The signal mask argument of ppoll, pselect and epoll_pwait is the
 * task's mask while it waits (a signal it lets through ends the wait with
 * EINTR once its handler ran, which is the point of those calls); with a
 * mask, even a zero timeout goes through the runtime, so the signals the
 * mask lets through are taken as natively. */
#include "fdio.h"
#include "../rt/timer.h"
#include "../rt/signal.h"
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

static int64_t deadline_ms(int ms)
{
	return ms < 0 ? INT64_MAX : evs_now_ns() + (int64_t)ms * 1000000;
}

static int64_t deadline_ts(const struct timespec *ts)
{
	if (!ts)
		return INT64_MAX;
	return evs_now_ns() + (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

static int do_poll(struct pollfd *fds, nfds_t n, int64_t deadline, bool ppoll)
{
	long r = evs_poll(fds, n, deadline, ppoll);
	if (r != EVS_USE_REAL)
		return (int)evs_ret(r);
	EVS_FALLBACK();
	return REAL(poll)(fds, n, evs_ms_until(deadline));
}

EVS_HOOK int poll(struct pollfd *fds, nfds_t n, int ms)
{
	if (!evs_current() || ms == 0)
		return REAL(poll)(fds, n, ms);
	return do_poll(fds, n, deadline_ms(ms), false);
}

EVS_HOOK int __poll_chk(struct pollfd *fds, nfds_t n, int ms, size_t fdslen)
{
	if (fdslen / sizeof(*fds) < n)
		return REAL(__poll_chk)(fds, n, ms, fdslen);
	return poll(fds, n, ms);
}

/* Run a wait with the task's mask set to *mask (when given), as the
 * p-forms do: the signals it lets through interrupt it. */
struct masked {
	bool on;
	evs_sigbits old;
};

static struct masked mask_on(const sigset_t *mask)
{
	struct masked m = { mask != NULL, 0 };
	if (m.on)
		m.old = evs_sig_swap_mask(evs_sigset_bits(mask));
	return m;
}

static void mask_off(struct masked m)
{
	if (!m.on)
		return;
	evs_sig_swap_mask(m.old);
	evs_sig_run();  /* what the old mask lets through, on the way out */
}

static bool zero_ts(const struct timespec *ts)
{
	return ts && ts->tv_sec == 0 && ts->tv_nsec == 0;
}

EVS_HOOK int ppoll(struct pollfd *fds, nfds_t n, const struct timespec *ts,
		   const sigset_t *mask)
{
	if (!evs_current() || (zero_ts(ts) && !mask))
		return REAL(ppoll)(fds, n, ts, mask);
	if (ts && (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)) {
		errno = EINVAL;
		return -1;
	}
	struct masked m = mask_on(mask);
	int r = do_poll(fds, n, deadline_ts(ts), true);
	int e = errno;
	mask_off(m);
	errno = e;
	return r;
}

static void set_remaining(struct timeval *tv, int64_t deadline)
{
	int64_t left = deadline - evs_now_ns();
	if (left < 0)
		left = 0;
	tv->tv_sec = left / 1000000000;
	tv->tv_usec = (left % 1000000000) / 1000;
}

EVS_HOOK int select(int nfds, fd_set *r, fd_set *w, fd_set *e, struct timeval *tv)
{
	if (!evs_current() || (tv && tv->tv_sec == 0 && tv->tv_usec == 0) || nfds < 0)
		return REAL(select)(nfds, r, w, e, tv);
	if (tv && (tv->tv_sec < 0 || tv->tv_usec < 0)) {
		errno = EINVAL;
		return -1;
	}
	int64_t deadline = tv ? evs_now_ns() + (int64_t)tv->tv_sec * 1000000000 +
				(int64_t)tv->tv_usec * 1000 : INT64_MAX;
	long got = evs_select(nfds, r, w, e, deadline);
	if (got == EVS_USE_REAL) {
		EVS_FALLBACK();
		struct timeval left;
		if (tv)
			set_remaining(&left, deadline);
		got = REAL(select)(nfds, r, w, e, tv ? &left : NULL);
	} else {
		got = evs_ret(got);
	}
	if (tv)  /* Linux reports the time not slept */
		set_remaining(tv, deadline);
	return (int)got;
}

EVS_HOOK int pselect(int nfds, fd_set *r, fd_set *w, fd_set *e,
		     const struct timespec *ts, const sigset_t *mask)
{
	if (!evs_current() || (zero_ts(ts) && !mask) || nfds < 0)
		return REAL(pselect)(nfds, r, w, e, ts, mask);
	struct masked m = mask_on(mask);
	long got = evs_select(nfds, r, w, e, deadline_ts(ts));
	if (got == EVS_USE_REAL) {
		mask_off(m);  /* the real call applies the mask itself */
		m.on = false;
		EVS_FALLBACK();
		got = REAL(pselect)(nfds, r, w, e, ts, mask);
	} else {
		got = evs_ret(got);
	}
	int err = errno;
	mask_off(m);
	errno = err;
	return (int)got;
}

static int do_epoll(int epfd, struct epoll_event *ev, int max, int ms)
{
	int64_t deadline = deadline_ms(ms);
	long got = evs_epoll_wait(epfd, ev, max, deadline);
	if (got != EVS_USE_REAL)
		return (int)evs_ret(got);
	EVS_FALLBACK();
	return REAL(epoll_wait)(epfd, ev, max, evs_ms_until(deadline));
}

EVS_HOOK int epoll_wait(int epfd, struct epoll_event *ev, int max, int ms)
{
	if (!evs_current() || ms == 0 || max <= 0)
		return REAL(epoll_wait)(epfd, ev, max, ms);
	return do_epoll(epfd, ev, max, ms);
}

EVS_HOOK int epoll_pwait(int epfd, struct epoll_event *ev, int max, int ms,
			 const sigset_t *mask)
{
	if (!evs_current() || (ms == 0 && !mask) || max <= 0)
		return REAL(epoll_pwait)(epfd, ev, max, ms, mask);
	struct masked m = mask_on(mask);
	int r = do_epoll(epfd, ev, max, ms);
	int e = errno;
	mask_off(m);
	errno = e;
	return r;
}
