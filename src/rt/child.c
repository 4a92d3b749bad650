/* Waiting for child processes without blocking the worker: wait, waitpid,
 * wait3, wait4, waitid.
 *
 * The answer always comes from the kernel's own wait4/waitid with WNOHANG,
 * made by the task itself, so reaping stays exact (which child, its status,
 * its rusage). Only the waiting is the runtime's: the task parks on a
 * pidfd (Linux 5.3+) of each child it may reap, which becomes readable when
 * that child exits, and looks again. A wait for any child (pid -1, 0, or a
 * process group) reads the children from /proc/self/task/N/children (every
 * thread of ours that forked), and also looks again every
 * EVS_CHILD_RESCAN_NS for children forked meanwhile; a wait that also wants
 * stopped or continued children looks every EVS_CHILD_STOP_NS, since a
 * pidfd says nothing of those. WNOHANG never parks. A signal interrupts
 * the wait as natively: EINTR, or a restart under SA_RESTART. A wait for
 * a vfork child that called _exit (evs_vfork_exited) does not park: the
 * child is a zombie microseconds after vfork returns, sooner than a pidfd
 * is made and parked on, so the kernel's own wait is made, on the worker
 * (evs_brief_syscall). */
#include "../evs.h"
#include "child.h"
#include "fdtab.h"
#include "sched.h"
#include "signal.h"
#include "task.h"
#include "timer.h"
#include "../arch/window.h"
#include "../io/poller.h"
#include "../libc/sys.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

#define EVS_CHILD_RESCAN_NS (50 * 1000000LL)
#define EVS_CHILD_STOP_NS (10 * 1000000LL)
#define EVS_CHILD_MAX 64   /* children watched at once; past that, the rescan timer */

/* The pids of our children (up to max), from every thread's list. */
static int children(pid_t *out, int max)
{
	char path[300], buf[4096];
	int n = 0;
	long dfd = evs_sys6(SYS_openat, AT_FDCWD, "/proc/self/task",
			    O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0, 0, 0);
	if (dfd < 0)
		return 0;
	for (;;) {
		char dents[4096];
		long len = evs_sys3(SYS_getdents64, dfd, dents, sizeof(dents));
		if (len <= 0)
			break;
		for (long off = 0; off < len && n < max;) {
			struct dirent64 *d = (struct dirent64 *)(dents + off);
			off += d->d_reclen;
			if (d->d_name[0] < '0' || d->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/self/task/%s/children", d->d_name);
			long fd = evs_sys6(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
			if (fd < 0)
				continue;
			long got = evs_sys_read((int)fd, buf, sizeof(buf) - 1);
			evs_sys_close((int)fd);
			if (got <= 0)
				continue;
			buf[got] = 0;
			for (char *p = buf; *p && n < max;) {
				char *end;
				long pid = strtol(p, &end, 10);
				if (end == p)
					break;
				out[n++] = (pid_t)pid;
				p = end;
			}
		}
	}
	evs_sys_close((int)dfd);
	return n;
}

/* A pidfd for pid, moved out of the program's fd numbers; -1 if none.
 * Its record says what it is, so the wait asks the kernel nothing more
 * about it (fstat, F_GETFL). */
static int pidfd(pid_t pid)
{
	long fd = evs_sys3(SYS_pidfd_open, pid, 0, 0);
	if (fd < 0 || (fd = evs_poller_hide_fd((int)fd)) < 0)
		return -1;
	evs_fd_reset((int)fd, EVS_FD_OTHER, 0, 1);
	return (int)fd;
}

static void drop_pidfd(int fd)
{
	evs_fd_closing(fd);  /* forget its registrations before the number goes */
	evs_poller_close_fd(fd);
}

/* Park until one of the children we may reap changes (or the rescan
 * time): 0 to look again, -EINTR when a signal came for the task (its
 * handlers not run yet: see the callers), -ECANCELED. */
static long park_for_child(pid_t pid, bool stops)
{
	pid_t kids[EVS_CHILD_MAX];
	int n = pid > 0 ? (kids[0] = pid, 1) : children(kids, EVS_CHILD_MAX);
	struct evs_pollreq req[EVS_CHILD_MAX];
	int m = 0;
	for (int i = 0; i < n; i++) {
		int fd = pidfd(kids[i]);
		if (fd >= 0)
			req[m++] = (struct evs_pollreq){ .fd = fd, .dirs = 1 << EVS_IN };
	}
	int64_t step = stops ? EVS_CHILD_STOP_NS : pid > 0 && m ? INT64_MAX : EVS_CHILD_RESCAN_NS;
	int64_t deadline = step == INT64_MAX ? INT64_MAX : evs_now_ns() + step;
	long r;
	for (;;) {
		evs_fd_snapshot(req, m);
		r = evs_fd_wait_many(req, m, deadline, NULL);
		if (r != EVS_USE_REAL)
			break;
		/* epoll refused a pidfd: fall back on the timer alone */
		for (int i = 0; i < m; i++)
			drop_pidfd(req[i].fd);
		m = 0;
		deadline = evs_now_ns() + EVS_CHILD_STOP_NS;
	}
	for (int i = 0; i < m; i++)
		drop_pidfd(req[i].fd);
	if (r == -EINTR || r == -ECANCELED)
		return r;
	return 0;  /* an exit, or the time to look again */
}

static int tracing;

void evs_child_tracing(void)
{
	__atomic_store_n(&tracing, 1, __ATOMIC_RELAXED);
}

int evs_vfork_exited;

void evs_child_forking(void)
{
	if (__atomic_load_n(&evs_vfork_exited, __ATOMIC_RELAXED))
		__atomic_store_n(&evs_vfork_exited, 0, __ATOMIC_RELAXED);
}

/* pid is a vfork child that called _exit (evs_vfork_exited): true. The
 * mark goes once the child is reaped or gone. */
static bool exiting(pid_t pid)
{
	return evs_window_usable && pid > 0 &&
	       pid == __atomic_load_n(&evs_vfork_exited, __ATOMIC_RELAXED) &&
	       !__atomic_load_n(&evs_current()->cancel_pending, __ATOMIC_ACQUIRE);
}

static void reaped(pid_t pid, long r)
{
	int want = r > 0 ? (int)r : r == -ECHILD && pid > 0 ? pid : 0;
	if (want && want == __atomic_load_n(&evs_vfork_exited, __ATOMIC_RELAXED))
		__atomic_compare_exchange_n(&evs_vfork_exited, &want, 0, 0, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED);
}

/* A signal came for the task while it waited (parked, or in the kernel's
 * wait for an exiting vfork child), and the children were looked at once
 * more (`answered`: the look found a child or an error). The handlers run
 * now, after that look, as the kernel runs them on its way out of a wait
 * that found the child whose exit sent the SIGCHLD: that wait returns the
 * child, it does not fail with EINTR. true: the wait fails with EINTR (a
 * handler without SA_RESTART ran and the look found nothing). */
static bool handlers_interrupt(bool answered)
{
	int ran = evs_sig_run();
	return !answered && (ran & EVS_SIG_NORESTART);
}

/* The process's only task waits in the kernel itself (sched.h): one
 * system call, as natively, and no runtime started for it (a shell, make,
 * a pre-forking server's master). The call restarts after a handler
 * installed with SA_RESTART, as the kernel's own; -ERESTART when the task
 * is no longer alone (its handler made a thread): the runtime's way. */
static long lone_wait(long nr, long a0, long a1, long a2, long a3, long a4)
{
	for (;;) {
		long r = evs_lone_syscall(nr, a0, a1, a2, a3, a4, 0);
		if (r != -EINTR)
			return r;
		if (evs_sig_run() & EVS_SIG_NORESTART)
			return -EINTR;
		if (!evs_lone_may_wait(INT64_MAX))
			return -ERESTART;
	}
}

long evs_wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (__atomic_load_n(&tracing, __ATOMIC_RELAXED) && !(options & WNOHANG))
		return EVS_USE_REAL;
	if (!(options & WNOHANG) && evs_lone_may_wait(INT64_MAX)) {
		long r = lone_wait(SYS_wait4, pid, (long)status, options, (long)ru, 0);
		if (r != -ERESTART) {
			reaped(pid, r);
			return r;
		}
	}
	for (bool signalled = false;;) {
		long r = evs_sys6(SYS_wait4, pid, status, options | WNOHANG, ru, 0, 0);
		if (signalled && handlers_interrupt(r != 0))
			return -EINTR;
		signalled = false;
		if (r == 0 && !(options & WNOHANG) && exiting(pid)) {
			r = evs_brief_syscall(SYS_wait4, pid, (long)status, options, (long)ru);
			if (r == -EINTR) {
				signalled = true;
				continue;
			}
		}
		if (r != 0 || (options & WNOHANG)) {
			reaped(pid, r);
			return r;
		}
		r = park_for_child(pid, options & (WUNTRACED | WCONTINUED));
		if (r == -ECANCELED)
			return r;
		signalled = r == -EINTR;
	}
}

long evs_waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	if (__atomic_load_n(&tracing, __ATOMIC_RELAXED) && !(options & WNOHANG))
		return EVS_USE_REAL;
	if (!(options & WNOHANG) && evs_lone_may_wait(INT64_MAX)) {
		long r = lone_wait(SYS_waitid, type, id, (long)info, options, 0);
		if (r != -ERESTART)
			return r;
	}
	pid_t pid = type == P_PID ? (pid_t)id : -1;
	for (bool signalled = false;;) {
		if (info)
			info->si_pid = 0;
		long r = evs_sys6(SYS_waitid, type, id, info, options | WNOHANG, 0, 0);
		bool answered = r < 0 || (info && info->si_pid);
		if (signalled && handlers_interrupt(answered))
			return -EINTR;
		signalled = false;
		if (!answered && info && !(options & WNOHANG) && exiting(pid)) {
			r = evs_brief_syscall(SYS_waitid, type, id, (long)info, options);
			if (r == -EINTR) {
				signalled = true;
				continue;
			}
			answered = true;  /* a blocking waitid's 0 comes with the child */
		}
		if (answered || (options & WNOHANG)) {
			reaped(pid, r < 0 ? r : info ? info->si_pid : 0);
			return r;
		}
		if (!info) {  /* no way to tell whether it reaped: the real call */
			return EVS_USE_REAL;
		}
		r = park_for_child(pid, options & (WSTOPPED | WCONTINUED));
		if (r == -ECANCELED)
			return r;
		signalled = r == -EINTR;
	}
}
