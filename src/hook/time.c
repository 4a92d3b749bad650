/* Sleeps park the task on its worker's timers (rt/timer.c). glibc's
 * sleep() and usleep() call the clock_nanosleep system call directly, not
 * the nanosleep symbol, so each is interposed on its own.
 *
 * A signal handler that runs during a sleep ends it, as natively (sleeps
 * are never restarted): nanosleep and relative clock_nanosleep say EINTR
 * and write the time left to `rem`, sleep returns the whole seconds left,
 * usleep says EINTR. Absolute CLOCK_REALTIME deadlines are converted to
 * the monotonic clock once, when the sleep starts (docs/differences.md). */
#include "hook.h"
#include "../rt/timer.h"
#include <time.h>

#define NSEC 1000000000LL

static int bad_ts(const struct timespec *ts)
{
	return ts->tv_nsec < 0 || ts->tv_nsec >= NSEC || ts->tv_sec < 0;
}

static int64_t add_sat(int64_t now, const struct timespec *ts)
{
	if (ts->tv_sec >= (INT64_MAX - now) / NSEC - 1)
		return INT64_MAX - 1;
	return now + ts->tv_sec * NSEC + ts->tv_nsec;
}

/* Sleep until the deadline; -EINTR when a handler ended it, with the time
 * left in *rem (if given). */
static long sleep_until(int64_t deadline, struct timespec *rem)
{
	for (;;) {
		long r = evs_sleep_until(deadline);
		if (r == -ECANCELED) {
			evs_task_testcancel();
			continue;
		}
		if (r == -EINTR && rem) {
			int64_t left = deadline - evs_now_ns();
			if (left < 0)
				left = 0;
			rem->tv_sec = left / NSEC;
			rem->tv_nsec = left % NSEC;
		}
		return r;
	}
}

EVS_HOOK int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (!evs_current())
		return REAL(nanosleep)(req, rem);
	if (!req) {
		errno = EFAULT;
		return -1;
	}
	if (bad_ts(req)) {
		errno = EINVAL;
		return -1;
	}
	return (int)evs_ret(sleep_until(add_sat(evs_now_ns(), req), rem));
}

EVS_HOOK int clock_nanosleep(clockid_t clk, int flags, const struct timespec *req,
			     struct timespec *rem)
{
	if (!evs_current())
		return REAL(clock_nanosleep)(clk, flags, req, rem);
	if (clk != CLOCK_MONOTONIC && clk != CLOCK_REALTIME &&
	    clk != CLOCK_BOOTTIME && clk != CLOCK_TAI) {
		/* CPU-time clocks and the like: the kernel's business. */
		EVS_FALLBACK();
		return REAL(clock_nanosleep)(clk, flags, req, rem);
	}
	if (!req)
		return EFAULT;
	if (req->tv_nsec < 0 || req->tv_nsec >= NSEC)
		return EINVAL;
	if (!(flags & TIMER_ABSTIME)) {
		if (req->tv_sec < 0)
			return 0;  /* the kernel returns at once */
		return (int)-sleep_until(add_sat(evs_now_ns(), req), rem);
	}
	/* absolute: nothing is written to rem */
	return (int)-sleep_until(evs_abs_deadline(clk, req), NULL);
}

EVS_HOOK unsigned int sleep(unsigned int s)
{
	if (!evs_current())
		return REAL(sleep)(s);
	struct timespec ts = { s, 0 }, rem;
	if (sleep_until(add_sat(evs_now_ns(), &ts), &rem) == -EINTR)
		return (unsigned int)rem.tv_sec;  /* glibc: the whole seconds left */
	return 0;
}

EVS_HOOK int usleep(useconds_t us)
{
	if (!evs_current())
		return REAL(usleep)(us);
	struct timespec ts = { us / 1000000, (long)(us % 1000000) * 1000 };
	return (int)evs_ret(sleep_until(add_sat(evs_now_ns(), &ts), NULL));
}
