/* syscall(): the generic system-call entry of libc, through which some
 * programs and libraries make calls that block (a read, a futex wait, a
 * sleep) or that name a thread (gettid, tgkill). Those numbers go to the
 * same hooks as the named calls, so they park the task instead of the
 * worker and keep the fd table and the tasks' identities right; every
 * other number is the kernel's. The named hooks and syscall() both report
 * failure as -1 and errno, except clock_nanosleep, whose error number is
 * its result. */
#include "hook.h"
#include "../rt/child.h"
#include "../rt/config.h"
#include "../rt/signal.h"
#include "../sync/futex.h"
#include <fcntl.h>
#include <linux/futex.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/resource.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/file.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EVS_KSIGSET 8     /* the kernel's sigset_t: 64 bits */

/* pselect6's sixth argument. */
struct pselect_data {
	const sigset_t *ss;
	size_t len;
};

/* A task's set_tid_address word, at its end (rt/task.c): woken as a
 * FUTEX_WAKE made through syscall() would be. */
static void wake_word(uint32_t *word)
{
	(void)evs_futex(word, FUTEX_WAKE, 1, NULL, 0);
}

/* A call whose first argument is a thread id, for the kernel with a
 * task's number replaced by its worker's (rt/signal.h). */
static long by_tid(long n, const char *name, long a, long b, long c, long d, long e, long f)
{
	long k = a > 0 ? evs_sig_kernel_tid((int)a) : a;
	if (k != a)
		evs_fallback(name, NULL);
	return REAL(syscall)(n, k, b, c, d, e, f);
}

static long task_call(long n, long a, long b, long c, long d, long e, long f, bool *done)
{
	*done = true;
	switch (n) {
	case SYS_read: return read((int)a, (void *)b, (size_t)c);
	case SYS_write: return write((int)a, (const void *)b, (size_t)c);
	case SYS_readv: return readv((int)a, (const struct iovec *)b, (int)c);
	case SYS_writev: return writev((int)a, (const struct iovec *)b, (int)c);
	case SYS_pread64: return pread((int)a, (void *)b, (size_t)c, (off_t)d);
	case SYS_pwrite64: return pwrite((int)a, (const void *)b, (size_t)c, (off_t)d);
	case SYS_preadv: return preadv((int)a, (const struct iovec *)b, (int)c, (off_t)d);
	case SYS_pwritev: return pwritev((int)a, (const struct iovec *)b, (int)c, (off_t)d);
	case SYS_recvfrom:
		return recvfrom((int)a, (void *)b, (size_t)c, (int)d, (struct sockaddr *)e,
				(socklen_t *)f);
	case SYS_sendto:
		return sendto((int)a, (const void *)b, (size_t)c, (int)d,
			      (const struct sockaddr *)e, (socklen_t)f);
	case SYS_recvmsg: return recvmsg((int)a, (struct msghdr *)b, (int)c);
	case SYS_sendmsg: return sendmsg((int)a, (const struct msghdr *)b, (int)c);
	case SYS_accept: return accept((int)a, (struct sockaddr *)b, (socklen_t *)c);
	case SYS_accept4: return accept4((int)a, (struct sockaddr *)b, (socklen_t *)c, (int)d);
	case SYS_connect: return connect((int)a, (const struct sockaddr *)b, (socklen_t)c);
	case SYS_socket: return socket((int)a, (int)b, (int)c);
	case SYS_socketpair: return socketpair((int)a, (int)b, (int)c, (int *)d);
	case SYS_pipe: return pipe((int *)a);
	case SYS_pipe2: return pipe2((int *)a, (int)b);
	case SYS_close: return close((int)a);
	case SYS_dup: return dup((int)a);
	case SYS_dup2: return dup2((int)a, (int)b);
	case SYS_dup3: return dup3((int)a, (int)b, (int)c);
	case SYS_fcntl: return fcntl((int)a, (int)b, c);
	case SYS_flock: return flock((int)a, (int)b);
	case SYS_poll: return poll((struct pollfd *)a, (nfds_t)b, (int)c);
	case SYS_select:
		return select((int)a, (fd_set *)b, (fd_set *)c, (fd_set *)d, (struct timeval *)e);
	case SYS_pselect6: {
		const struct pselect_data *pd = (const void *)f;
		return pselect((int)a, (fd_set *)b, (fd_set *)c, (fd_set *)d,
			       (const struct timespec *)e, pd ? pd->ss : NULL);
	}
	case SYS_epoll_wait: return epoll_wait((int)a, (struct epoll_event *)b, (int)c, (int)d);
	case SYS_epoll_pwait:
		return epoll_pwait((int)a, (struct epoll_event *)b, (int)c, (int)d,
				   (const sigset_t *)e);
	case SYS_nanosleep: return nanosleep((const struct timespec *)a, (struct timespec *)b);
	case SYS_clock_nanosleep: {
		int r = clock_nanosleep((clockid_t)a, (int)b, (const struct timespec *)c,
					(struct timespec *)d);
		return r ? evs_ret(-r) : 0;
	}
	case SYS_sched_yield: return sched_yield();
	case SYS_wait4: return wait4((pid_t)a, (int *)b, (int)c, (struct rusage *)d);
	case SYS_waitid: return waitid((idtype_t)a, (id_t)b, (siginfo_t *)c, (int)d);
	/* not gettid(): a program's own gettid() (written before glibc had
	 * one) comes first in the lookup and calls syscall() again */
	case SYS_gettid: return evs_sig_gettid();
	case SYS_set_tid_address: {
		/* The task's word, not the worker's: the kernel's is the
		 * worker thread's (glibc joins that thread through it); the
		 * runtime clears and wakes the task's word when the task ends
		 * (rt/task.c) and answers with the task's thread id. */
		struct evs_task *t = evs_current();
		if (!t)
			break;
		__atomic_store_n(&evs_task_word_wake, wake_word, __ATOMIC_RELEASE);
		t->clear_tid = (uint32_t *)a;
		return evs_sig_gettid();
	}
	/* a thread id: a task's number names its worker (hook/thread.c) */
	case SYS_sched_setaffinity: return by_tid(n, "sched_setaffinity", a, b, c, d, e, f);
	case SYS_sched_getaffinity: return by_tid(n, "sched_getaffinity", a, b, c, d, e, f);
	case SYS_sched_setscheduler: return by_tid(n, "sched_setscheduler", a, b, c, d, e, f);
	case SYS_sched_getscheduler: return by_tid(n, "sched_getscheduler", a, b, c, d, e, f);
	case SYS_sched_setparam: return by_tid(n, "sched_setparam", a, b, c, d, e, f);
	case SYS_sched_getparam: return by_tid(n, "sched_getparam", a, b, c, d, e, f);
	case SYS_sched_rr_get_interval: return by_tid(n, "sched_rr_get_interval", a, b, c, d, e, f);
	case SYS_sched_setattr: return by_tid(n, "sched_setattr", a, b, c, d, e, f);
	case SYS_sched_getattr: return by_tid(n, "sched_getattr", a, b, c, d, e, f);
	case SYS_setpriority:
	case SYS_getpriority:  /* the kernel's answer, 20 - nice: not glibc's */
		if (a != PRIO_PROCESS)
			break;
		{
			long k = b > 0 ? evs_sig_kernel_tid((int)b) : b;
			if (k != b)
				evs_fallback(n == SYS_setpriority ? "setpriority" : "getpriority", NULL);
			return REAL(syscall)(n, a, k, c, d, e, f);
		}
	case SYS_tgkill: return tgkill((pid_t)a, (pid_t)b, (int)c);
	case SYS_tkill: {
		/* a task's gettid reaches the task; any other thread id (another
		 * process's, as gdb stops its inferior's threads) is the kernel's */
		bool task;
		long r = evs_hook_tgkill_task(getpid(), (pid_t)a, (int)b, &task);
		if (!task)
			break;
		return evs_ret(r);
	}
	case SYS_kill: return kill((pid_t)a, (int)b);
	case SYS_pidfd_send_signal:
		return pidfd_send_signal((int)a, (int)b, (siginfo_t *)c, (unsigned int)d);
	case SYS_futex: {
		long r = evs_futex((uint32_t *)a, (int)b, (uint32_t)c, (const struct timespec *)d,
				   (uint32_t)f);
		if (r == EVS_USE_REAL)
			break;
		return evs_ret(r);
	}
	case SYS_rt_sigprocmask:
		if (d != EVS_KSIGSET)
			break;
		return sigprocmask((int)a, (const sigset_t *)b, (sigset_t *)c);
	case SYS_rt_sigsuspend:
		if (b != EVS_KSIGSET)
			break;
		return sigsuspend((const sigset_t *)a);
	case SYS_pause: return pause();
	case SYS_rt_sigtimedwait:
		if (d != EVS_KSIGSET)
			break;
		if (evs_config.disable || !evs_current())
			break;
		return evs_ret(evs_hook_sigtimedwait((const sigset_t *)a, (siginfo_t *)b,
						     (const struct timespec *)c));
	}
	*done = false;
	return 0;
}

/* A raw clone or clone3 without CLONE_VM is a fork: the child is a new
 * process whose one thread is the caller (vsftpd makes its session
 * processes with syscall(__NR_clone, CLONE_NEWIPC | SIGCHLD, NULL)). But
 * glibc's fork handlers do not run, the runtime's among them: the child
 * kept the parent's epoll sets (shared instances), its workers' state and
 * tasks, and its waits were heard by the parent (whose worker then took
 * the child's ring completions for its own, and crashed). So the runtime's
 * handlers run around the call, as fork() runs them; the program's own
 * pthread_atfork handlers do not, as natively. */
static bool makes_a_process(long n, long a, long b)
{
	if (n == SYS_clone)
		return !(a & CLONE_VM);
	if (n == SYS_clone3 && a && (size_t)b >= CLONE_ARGS_SIZE_VER0)
		return !(((const struct clone_args *)a)->flags & CLONE_VM);
	return false;
}

static long raw_fork(long n, long a, long b, long c, long d, long e, long f)
{
	evs_report_prefork();
	evs_child_forking();
	long r = REAL(syscall)(n, a, b, c, d, e, f);
	if (r == 0) {
		int saved = errno;
		evs_sched_atfork_child();
		errno = saved;
	}
	return r;
}

EVS_HOOK long syscall(long n, ...)
{
	va_list ap;
	va_start(ap, n);
	long a = va_arg(ap, long), b = va_arg(ap, long), c = va_arg(ap, long);
	long d = va_arg(ap, long), e = va_arg(ap, long), f = va_arg(ap, long);
	va_end(ap);
	if (n == SYS_seccomp && (a == SECCOMP_SET_MODE_STRICT || a == SECCOMP_SET_MODE_FILTER)) {
		evs_hook_before_seccomp();
		long r = REAL(syscall)(n, a, b, c, d, e, f);
		evs_hook_after_seccomp(r != 0);  /* errno untouched */
		return r;
	}
	if ((n == SYS_clone || n == SYS_clone3) && !evs_config.disable && makes_a_process(n, a, b))
		return raw_fork(n, a, b, c, d, e, f);
	if (n == SYS_prlimit64 && !evs_config.disable)
		return evs_hook_raw_rlimit(n, a, b, (const struct rlimit *)c, d);
	if (n == SYS_setrlimit && !evs_config.disable)
		return evs_hook_raw_rlimit(n, 0, a, (const struct rlimit *)b, 0);
	if (n == SYS_close_range && !evs_config.disable)  /* from any thread, as close() */
		return evs_ret(evs_hook_close_range((unsigned)a, (unsigned)b, (int)c));
#ifdef SYS_getdents
	if (n == SYS_getdents)
		return evs_hook_getdents(n, (int)a, (void *)b, (size_t)c);
#endif
	if (n == SYS_getdents64)  /* from any thread, as getdents64() */
		return evs_hook_getdents(n, (int)a, (void *)b, (size_t)c);
	if (!evs_config.disable && evs_current()) {
		bool done;
		long r = task_call(n, a, b, c, d, e, f, &done);
		if (done)
			return r;
	}
	return REAL(syscall)(n, a, b, c, d, e, f);
}
