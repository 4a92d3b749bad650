/* The only poller (Linux). See poller.h for the contract. */
#include "../evs.h"
#include "poller.h"
#include "../libc/sys.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* The runtime's fds, as fd + 1 (0: free slot). Workers, rings and
 * eventfds are few: 64 workers x 4 fds at most. lowest is a cheap filter
 * for the close() hook, which asks on every close. */
#define EVS_MAX_INTERNAL_FDS 512
static int internal[EVS_MAX_INTERNAL_FDS];
static int lowest = INT32_MAX;

static void remember(int fd)
{
	for (int i = 0; i < EVS_MAX_INTERNAL_FDS; i++) {
		int zero = 0;
		if (__atomic_compare_exchange_n(&internal[i], &zero, fd + 1, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			break;
	}
	int lo = __atomic_load_n(&lowest, __ATOMIC_RELAXED);
	while (fd < lo && !__atomic_compare_exchange_n(&lowest, &lo, fd, 1, __ATOMIC_RELAXED,
						       __ATOMIC_RELAXED))
		;
}

void evs_poller_forget_fd(int fd)
{
	for (int i = 0; i < EVS_MAX_INTERNAL_FDS; i++) {
		int want = fd + 1;
		if (__atomic_compare_exchange_n(&internal[i], &want, 0, 0, __ATOMIC_ACQ_REL,
						__ATOMIC_RELAXED))
			return;
	}
}

void evs_poller_close_fd(int fd)
{
	if (fd < 0)
		return;
	evs_poller_forget_fd(fd);
	evs_sys_close(fd);
}

bool evs_poller_is_internal(int fd)
{
	if (fd < __atomic_load_n(&lowest, __ATOMIC_RELAXED))
		return false;
	for (int i = 0; i < EVS_MAX_INTERNAL_FDS; i++)
		if (__atomic_load_n(&internal[i], __ATOMIC_ACQUIRE) == fd + 1)
			return true;
	return false;
}

int evs_poller_internal_in(unsigned first, unsigned last, int *out, int max)
{
	int n = 0;
	if (last < (unsigned)__atomic_load_n(&lowest, __ATOMIC_RELAXED))
		return 0;
	for (int i = 0; i < EVS_MAX_INTERNAL_FDS && n < max; i++) {
		int v = __atomic_load_n(&internal[i], __ATOMIC_ACQUIRE) - 1;
		if (v < 0 || (unsigned)v < first || (unsigned)v > last)
			continue;
		int k = n++;  /* insertion sort: they are few */
		for (; k > 0 && out[k - 1] > v; k--)
			out[k] = out[k - 1];
		out[k] = v;
	}
	return n;
}

/* Where internal fds go: the lowest free numbers from the open-files soft
 * limit the process started with, FD_SETSIZE at most (evs_poller_fd_base;
 * 0: not set, the top of the limit). A program that works natively within
 * that limit never has an fd there (the runtime raised the limit to the
 * hard one), so one that numbers its own fds from 3 up, dup2s onto low
 * numbers or keeps select()'s fds below FD_SETSIZE never meets them. Not
 * at the top of the raised limit, as before 2026-12-03: each fork copies
 * the fd table up to the highest open fd, and there a vfork cost 167 us
 * against 26-36 natively with a limit of 20,000 (a common hard limit of
 * 524,288 makes that table 4 MiB).
 * A new fd holds a low number for the few microseconds until it is moved:
 * if the program closes that number meanwhile (a close-everything loop
 * racing the monitor adding a worker), the dup fails and so does the
 * caller, with -EBADF, instead of going on with a dead fd. */
static long fd_base;

void evs_poller_fd_base(unsigned long soft_at_start)
{
	fd_base = soft_at_start < FD_SETSIZE ? (long)soft_at_start : FD_SETSIZE;
}

/* The limit is read only when fd_base does not serve: a dup past the
 * limit fails (EINVAL), and a pidfd per child wait (rt/child.c) should
 * cost no more than the dup and the close. */
static int move_high(int fd)
{
	if (fd_base >= 256) {
		if (fd >= fd_base) {  /* the lowest free from there already */
			evs_sys_fcntl(fd, F_SETFD, FD_CLOEXEC);
			return fd;
		}
		long nfd = evs_sys_fcntl(fd, F_DUPFD_CLOEXEC, fd_base);
		if (nfd == -EBADF)
			return -EBADF;
		if (nfd >= 0) {
			evs_sys_close(fd);
			return (int)nfd;
		}
		/* past the limit the program lowered it to (EINVAL), or none
		 * free from there (EMFILE): from the top, as below */
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < 256)
		return fd;
	/* Search down from the top for a free slot. */
	for (long want = (long)rl.rlim_cur - 1; want > (long)rl.rlim_cur - 512; want--) {
		if (evs_sys_fcntl(want, F_GETFD, 0) >= 0)
			continue;
		long nfd = evs_sys_fcntl(fd, F_DUPFD_CLOEXEC, want);
		if (nfd == -EBADF)
			return -EBADF;
		if (nfd < 0)
			return fd;
		if (nfd != want) {  /* lost a race for the slot: keep looking */
			evs_sys_close((int)nfd);
			continue;
		}
		evs_sys_close(fd);
		return (int)nfd;
	}
	return fd;
}

int evs_poller_hide_fd(int fd)
{
	fd = move_high(fd);
	if (fd >= 0)
		remember(fd);
	return fd;
}

int evs_poller_eventfd(int epfd, uint64_t tag)
{
	int ev = (int)evs_sys3(SYS_eventfd2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0);
	if (ev < 0)
		return ev;
	if ((ev = evs_poller_hide_fd(ev)) < 0)
		return ev;
	/* Level-triggered: its owner reads it (evs_poller_drain) each time it
	 * fires, and whatever is left unread is reported again. */
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = tag };
	long r = evs_sys6(SYS_epoll_ctl, epfd, EPOLL_CTL_ADD, ev, &e, 0, 0);
	if (r < 0) {
		evs_poller_close_fd(ev);
		return (int)r;
	}
	return ev;
}

int evs_poller_init(int *epfd, int *evfd)
{
	int ep = (int)evs_sys3(SYS_epoll_create1, EPOLL_CLOEXEC, 0, 0);
	if (ep < 0)
		return ep;
	if ((ep = evs_poller_hide_fd(ep)) < 0)
		return ep;
	int ev = evs_poller_eventfd(ep, EVS_POLLER_POKE);
	if (ev < 0) {
		evs_poller_close_fd(ep);
		return ev;
	}
	*epfd = ep;
	*evfd = ev;
	return 0;
}

static int ctl(int epfd, int op, int fd, uint64_t tag)
{
	struct epoll_event e = {
		.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
		.data.u64 = tag,
	};
	return (int)evs_sys6(SYS_epoll_ctl, epfd, op, fd, &e, 0, 0);
}

int evs_poller_add(int epfd, int fd, uint64_t tag)
{
	return ctl(epfd, EPOLL_CTL_ADD, fd, tag);
}

int evs_poller_retag(int epfd, int fd, uint64_t tag)
{
	return ctl(epfd, EPOLL_CTL_MOD, fd, tag);
}

int evs_poller_wait(int epfd, int64_t timeout_ns, struct epoll_event *ev, int max)
{
	return evs_poller_wait_masked(epfd, timeout_ns, ev, max, NULL);
}

int evs_poller_wait_masked(int epfd, int64_t timeout_ns, struct epoll_event *ev, int max,
			   const uint64_t *kmask)
{
	static int no_pwait2;
	long ksize = kmask ? (long)sizeof(*kmask) : 0;
	long r;
	if (timeout_ns > 0 && !no_pwait2) {
		/* epoll_pwait2 takes a timespec: sleeps end on time, not on the
		 * next whole millisecond. */
		struct timespec ts = { timeout_ns / 1000000000, timeout_ns % 1000000000 };
		r = evs_sys6(SYS_epoll_pwait2, epfd, ev, max, &ts, kmask, ksize);
		if (r != -ENOSYS)
			return (int)r;
		no_pwait2 = 1;
	}
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
	r = evs_sys6(SYS_epoll_pwait, epfd, ev, max, ms, kmask, ksize);
	return (int)r;
}

bool evs_poller_has_events(int epfd)
{
	if (epfd < 0)
		return false;
	struct pollfd p = { .fd = epfd, .events = POLLIN };
	return evs_sys3(SYS_poll, &p, 1, 0) > 0;
}

void evs_poller_poke(int evfd)
{
	uint64_t one = 1;
	(void)evs_sys_write(evfd, &one, sizeof(one));
}

void evs_poller_drain(int evfd)
{
	uint64_t v;
	(void)evs_sys_read(evfd, &v, sizeof(v));
}
