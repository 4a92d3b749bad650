/* Processes: waiting for children parks the task (rt/child.c); exec and
 * posix_spawn give the new program this task's signal mask and the fds'
 * own flags; vfork is in vfork_x86_64.S. */
#include "hook.h"
#include "../rt/child.h"
#include "../rt/config.h"
#include "../rt/fdtab.h"
#include "../rt/monitor.h"
#include "../rt/report.h"
#include "../rt/signal.h"
#include "../libc/sys.h"
#include "../obs/log.h"
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <stdarg.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* glibc's clone() without CLONE_VM makes a process, as fork does, but
 * runs none of the fork handlers: the child would keep the parent's
 * runtime (its epoll sets are shared instances) and its waits would be
 * heard by the parent. The runtime's fork handlers run around it, the
 * child's before the program's function, on the stack the program gave
 * (the program's pthread_atfork handlers do not, as natively). The
 * child's copy of the parent's memory holds `start`. When the function
 * returns, glibc ends the calling thread (SYS_exit), which natively ends
 * a child that made no thread; under the shim the child's runtime may
 * have kernel threads of its own by then, so such a child ends with
 * _exit, and one whose program made threads ends the task alone. */
struct clone_start {
	int (*fn)(void *);
	void *arg;
};

static int clone_child(void *p)
{
	struct clone_start *s = p;
	evs_sched_atfork_child();
	int r = s->fn(s->arg);
	if (!evs_config.disable && __atomic_load_n(&evs_live_tasks, __ATOMIC_ACQUIRE) > 1)
		pthread_exit((void *)(intptr_t)r);
	_exit(r);
}

EVS_HOOK int clone(int (*fn)(void *), void *stack, int flags, void *arg, ...)
{
	va_list ap;
	va_start(ap, arg);  /* read whether passed or not, as glibc's clone does */
	pid_t *ptid = va_arg(ap, pid_t *);
	void *tls = va_arg(ap, void *);
	pid_t *ctid = va_arg(ap, pid_t *);
	va_end(ap);
	if (!REAL(clone)) {
		errno = ENOSYS;
		return -1;
	}
	if (evs_config.disable || (flags & CLONE_VM) || !fn)
		return REAL(clone)(fn, stack, flags, arg, ptid, tls, ctid);
	struct clone_start start = { fn, arg };
	evs_report_prefork();
	evs_child_forking();
	return REAL(clone)(clone_child, stack, flags, &start, ptid, tls, ctid);
}

/* A process that gives up root or confines itself without forking
 * (chronyd -Q drops root to _chrony) could no longer open its EVSHIM_STATS
 * file at exit: the file is opened before, as for a fork. The group calls
 * are left alone (the user, still root, opens the file). */
EVS_HOOK int setuid(uid_t u)
{
	evs_report_prefork();
	return REAL(setuid)(u);
}

EVS_HOOK int seteuid(uid_t u)
{
	evs_report_prefork();
	return REAL(seteuid)(u);
}

EVS_HOOK int setreuid(uid_t r, uid_t e)
{
	evs_report_prefork();
	return REAL(setreuid)(r, e);
}

EVS_HOOK int setresuid(uid_t r, uid_t e, uid_t s)
{
	evs_report_prefork();
	return REAL(setresuid)(r, e, s);
}

EVS_HOOK int chroot(const char *path)
{
	evs_report_prefork();
	return REAL(chroot)(path);
}

/* _exit and _Exit run no destructor, so the exit report is written here
 * (h2o and nghttpx's worker process leave this way). glibc's exit calls
 * its own _exit inside libc, after the destructors, not this one. A
 * vfork child that leaves so tells its parent (rt/child.h,
 * evs_vfork_exited): the mark is in the parent's memory, which it runs
 * on. */
EVS_HOOK void _exit(int status)
{
	if (evs_vfork_child)
		evs_vfork_child = 2;
	evs_report_exit();
	REAL(_exit)(status);
	__builtin_unreachable();
}

EVS_HOOK void _Exit(int status)
{
	if (evs_vfork_child)
		evs_vfork_child = 2;
	evs_report_exit();
	REAL(_Exit)(status);
	__builtin_unreachable();
}

/* The runtime's wait `call` as the hook's answer of `type`: the real call
 * (counted) when it says EVS_USE_REAL; a cancellation point, so
 * -ECANCELED acts on the cancellation and, if that returns, waits on. */
#define WAIT_TASK(type, call, name, real) \
	for (;;) { \
		long r_ = (call); \
		if (r_ == EVS_USE_REAL) { \
			evs_fallback(name, NULL); \
			return (real); \
		} \
		if (r_ != -ECANCELED) \
			return (type)evs_ret(r_); \
		evs_task_testcancel(); \
	}

static pid_t wait_task(pid_t pid, int *status, int options, struct rusage *ru)
{
	WAIT_TASK(pid_t, evs_wait4(pid, status, options, ru), "wait4", REAL(wait4)(pid, status, options, ru));
}

EVS_HOOK pid_t wait4(pid_t pid, int *status, int options, struct rusage *ru)
{
	if (evs_config.disable || !evs_current())
		return REAL(wait4)(pid, status, options, ru);
	return wait_task(pid, status, options, ru);
}

EVS_HOOK pid_t waitpid(pid_t pid, int *status, int options)
{
	if (evs_config.disable || !evs_current())
		return REAL(waitpid)(pid, status, options);
	return wait_task(pid, status, options, NULL);
}

EVS_HOOK pid_t wait(int *status)
{
	if (evs_config.disable || !evs_current())
		return REAL(wait)(status);
	return wait_task(-1, status, 0, NULL);
}

EVS_HOOK pid_t wait3(int *status, int options, struct rusage *ru)
{
	if (evs_config.disable || !evs_current())
		return REAL(wait3)(status, options, ru);
	return wait_task(-1, status, options, ru);
}

EVS_HOOK int waitid(idtype_t type, id_t id, siginfo_t *info, int options)
{
	if (evs_config.disable || !evs_current())
		return REAL(waitid)(type, id, info, options);
	WAIT_TASK(int, evs_waitid(type, id, info, options), "waitid", REAL(waitid)(type, id, info, options));
}

/* ptrace: a tracer's waits must see its tracees' stops (rt/child.h).
 * glibc's ptrace takes its three other arguments from the variable list
 * whatever the request; they are passed on as they came. */
EVS_HOOK long ptrace(enum __ptrace_request req, ...)
{
	va_list ap;
	va_start(ap, req);
	pid_t pid = va_arg(ap, pid_t);
	void *addr = va_arg(ap, void *);
	void *data = va_arg(ap, void *);
	va_end(ap);
	if (req == PTRACE_ATTACH || req == PTRACE_SEIZE || req == PTRACE_TRACEME)
		evs_child_tracing();
	return REAL(ptrace)(req, pid, addr, data);
}

/* --- exec and posix_spawn ------------------------------------------------ */

/* The new program starts with what this task set: its signal mask (the
 * worker's kernel mask is every task's common part) and the fds' flags
 * as the program left them. Undone if exec fails. */
static void exec_prepare(void)
{
	if (evs_config.disable || !evs_current())
		return;
	sigset_t m;
	evs_bits_sigset(evs_current()->sig.mask, &m);
	evs_monitor_exec_mask(&m);
	REAL(pthread_sigmask)(SIG_SETMASK, &m, NULL);
	evs_monitor_exec_drain();
	evs_fdtab_exec_flags(false);
}

static void exec_failed(void)
{
	if (evs_config.disable || !evs_current())
		return;
	evs_fdtab_exec_flags(true);
	evs_monitor_exec_failed();
	evs_current()->w->kgen_seen = (uint64_t)-1;  /* the worker's mask again */
	evs_sig_worker_poll(evs_current()->w);
}

/* The real exec between the two; it returns only on failure, with errno
 * as exec left it. */
#define EXEC_AROUND(call) \
	do { \
		exec_prepare(); \
		int r_ = (call); \
		int e_ = errno; \
		exec_failed(); \
		errno = e_; \
		return r_; \
	} while (0)

EVS_HOOK int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_AROUND(REAL(execve)(path, argv, envp));
}

EVS_HOOK int execv(const char *path, char *const argv[])
{
	EXEC_AROUND(REAL(execv)(path, argv));
}

EVS_HOOK int execvp(const char *file, char *const argv[])
{
	EXEC_AROUND(REAL(execvp)(file, argv));
}

EVS_HOOK int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_AROUND(REAL(execvpe)(file, argv, envp));
}

EVS_HOOK int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_AROUND(REAL(fexecve)(fd, argv, envp));
}

/* execl, execlp, execle: their arguments as an array (counted first, so
 * the array fits a small task stack), then the v forms above. */
static size_t count_args(const char *arg0, va_list ap)
{
	size_t n = 1;
	if (arg0)
		while (va_arg(ap, char *))
			n++;
	return n + 1;  /* with the NULL */
}

static char **fill_args(char **argv, const char *arg0, va_list ap, char ***envp)
{
	size_t n = 0;
	argv[n++] = (char *)arg0;
	if (arg0)
		while ((argv[n++] = va_arg(ap, char *)))
			;
	else
		argv[n++] = NULL;
	if (envp)
		*envp = va_arg(ap, char **);
	return argv;
}

/* Declares char *argv[] in the caller's frame, filled from arg and the
 * arguments after it (and envp after the NULL, when envp is not NULL). */
#define ARGS_ARRAY(argv, arg, envp) \
	va_list ap, cp; \
	va_start(ap, arg); \
	va_copy(cp, ap); \
	char *argv[count_args(arg, cp)]; \
	va_end(cp); \
	fill_args(argv, arg, ap, envp); \
	va_end(ap)

EVS_HOOK int execl(const char *path, const char *arg, ...)
{
	ARGS_ARRAY(argv, arg, NULL);
	return execv(path, argv);
}

EVS_HOOK int execlp(const char *file, const char *arg, ...)
{
	ARGS_ARRAY(argv, arg, NULL);
	return execvp(file, argv);
}

EVS_HOOK int execle(const char *path, const char *arg, ...)
{
	char **envp;
	ARGS_ARRAY(argv, arg, &envp);
	return execve(path, argv, envp);
}

/* posix_spawn: glibc's child takes the calling thread's signal mask (the
 * worker's) unless the attributes set one; give it this task's. */
static int spawn(int (*real)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			     const posix_spawnattr_t *, char *const[], char *const[]),
		 pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
		 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	struct evs_task *t = evs_current();
	short flags = 0;
	evs_child_forking();
	if (evs_config.disable || !t || (attr && (posix_spawnattr_getflags(attr, &flags) ||
						 (flags & POSIX_SPAWN_SETSIGMASK))))
		return real(pid, path, fa, attr, argv, envp);
	posix_spawnattr_t a;
	if (attr)
		a = *attr;  /* glibc's attributes are plain data */
	else
		posix_spawnattr_init(&a);
	sigset_t m;
	evs_bits_sigset(t->sig.mask, &m);
	posix_spawnattr_setsigmask(&a, &m);
	posix_spawnattr_setflags(&a, (short)(flags | POSIX_SPAWN_SETSIGMASK));
	int r = real(pid, path, fa, &a, argv, envp);
	if (!attr)
		posix_spawnattr_destroy(&a);
	return r;
}

EVS_HOOK int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(REAL(posix_spawn), pid, path, fa, attr, argv, envp);
}

EVS_HOOK int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return spawn(REAL(posix_spawnp), pid, file, fa, attr, argv, envp);
}

/* --- seccomp: a process confining itself ------------------------------- */

/* Before a seccomp mode is set: the process leaves the runtime if it can
 * (rt/sched.h, evs_sched_leave); otherwise the runtime's threads keep
 * running under whatever the filter allows, said once. */
void evs_hook_before_seccomp(void)
{
	if (evs_config.disable)
		return;
	if (evs_sched_leave() == 0)
		return;
	static int said;
	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		evs_log(EVS_LOG_WARN, "a seccomp filter is being set while the runtime's threads run "
			"(the process has more than one task, or has parked before): the calls "
			"the runtime makes must be allowed by it");
}

void evs_hook_after_seccomp(int failed)
{
	if (failed)
		evs_sched_rejoin();
}

/* --- limits: a process confining itself ------------------------------- */

/* The runtime makes fds and kernel threads of its own when it starts (an
 * epoll set and an eventfd per worker, the file backend's ring, the
 * workers, the monitor). A process that lowers its open-files or process
 * limit below what that needs before it first parks (vsftpd's session
 * processes: chroot, RLIMIT_NOFILE 0 or RLIMIT_NPROC 0, setuid, then reads
 * and writes the socket they have) would have the runtime fail at that
 * park (no poller: fatal; no monitor: a warning on fd 2, their client's
 * socket), where natively it waits on what it has. Such a process leaves
 * the runtime, as one setting a seccomp filter does (evs_sched_leave);
 * one whose runtime has started keeps what it made. */
static rlim_t runtime_needs(void)
{
	return 2 * (rlim_t)evs_config.workers + 8;
}

static bool too_few_fds(rlim_t lim)
{
	rlim_t need = runtime_needs(), free = 0;
	if (lim >= 1024)
		return false;
	for (rlim_t fd = 0; fd < lim && free < need; fd++)
		if (evs_sys_fcntl((int)fd, F_GETFD, 0) == -EBADF)
			free++;
	return free < need;
}

/* Before the process's own limit is set; true when it left the runtime
 * (undone by nofile_after when the call fails). */
static bool nofile_before(pid_t pid, int res, rlim_t cur)
{
	if (evs_config.disable || (res != RLIMIT_NOFILE && res != RLIMIT_NPROC) ||
	    (pid && pid != getpid()) || evs_sched_left)
		return false;
	if (res == RLIMIT_NOFILE ? !too_few_fds(cur) : cur >= runtime_needs())
		return false;
	if (evs_sched_leave() == 0)
		return evs_sched_left;
	static int said;
	if (!__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
		evs_log(EVS_LOG_INFO, "the %s limit is lowered to %llu while the runtime's threads "
			"run: what it may need later (a worker's poller or thread) may fail",
			res == RLIMIT_NOFILE ? "open-files" : "process", (unsigned long long)cur);
	return false;
}

static void nofile_after(bool left, int r)
{
	if (left && r != 0)
		evs_sched_rejoin();
}

/* --- RLIMIT_NPROC and new threads ------------------------------------- */

/* Natively the kernel refuses a new thread (EAGAIN) once its user's
 * processes and threads number the soft RLIMIT_NPROC, unless the real uid
 * is 0 or the caller has CAP_SYS_RESOURCE or CAP_SYS_ADMIN. A task is no
 * kernel thread, so the kernel never refuses one, and GLib's
 * /thread/thread4 (the limit lowered to 1, g_thread_try_new expected to
 * fail) saw it made. pthread_create asks here: the user's other processes
 * are unknown, but this process's live tasks are what the kernel would
 * count of it, a lower bound, so a refusal here is one the kernel would
 * make too. The soft limit is read at the first ask and kept by the limit
 * hooks below (another process's prlimit on this one is not seen). */
static rlim_t nproc_cur;
static int nproc_known;  /* release: nproc_cur is set */

static void nproc_set(pid_t pid, int res, rlim_t cur, long r)
{
	if (res != RLIMIT_NPROC || r != 0 || (pid && pid != getpid()))
		return;
	__atomic_store_n(&nproc_cur, cur, __ATOMIC_RELAXED);
	__atomic_store_n(&nproc_known, 1, __ATOMIC_RELEASE);
}

static bool nproc_exempt(void)
{
	struct { uint32_t version; int pid; } head = { 0x20080522, 0 };  /* _LINUX_CAPABILITY_VERSION_3 */
	struct { uint32_t effective, permitted, inheritable; } caps[2] = { 0 };
	if (getuid() == 0 || evs_sys6(SYS_capget, &head, caps, 0, 0, 0, 0) < 0)
		return true;  /* unknown: allow, as before */
	uint64_t eff = caps[0].effective | (uint64_t)caps[1].effective << 32;
	return eff & (1ULL << 24 | 1ULL << 21);  /* CAP_SYS_RESOURCE, CAP_SYS_ADMIN */
}

int evs_hook_nproc_refuses(uint64_t live)
{
	if (!__atomic_load_n(&nproc_known, __ATOMIC_ACQUIRE)) {
		struct rlimit rl;
		if (getrlimit(RLIMIT_NPROC, &rl) < 0)
			return 0;
		nproc_set(0, RLIMIT_NPROC, rl.rlim_cur, 0);
	}
	rlim_t cur = __atomic_load_n(&nproc_cur, __ATOMIC_RELAXED);
	return cur != RLIM_INFINITY && live >= cur && !nproc_exempt();
}

EVS_HOOK int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	bool left = nofile_before(0, (int)res, rl->rlim_cur);
	int r = REAL(setrlimit)(res, rl);
	nofile_after(left, r);
	nproc_set(0, (int)res, rl->rlim_cur, r);
	return r;
}

EVS_HOOK int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl)
{
	bool left = nofile_before(0, (int)res, (rlim_t)rl->rlim_cur);
	int r = REAL(setrlimit64)(res, rl);
	nofile_after(left, r);
	nproc_set(0, (int)res, (rlim_t)rl->rlim_cur, r);
	return r;
}

EVS_HOOK int prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *rl,
		     struct rlimit *old)
{
	bool left = rl && nofile_before(pid, (int)res, rl->rlim_cur);
	int r = REAL(prlimit)(pid, res, rl, old);
	nofile_after(left, r);
	if (rl)
		nproc_set(pid, (int)res, rl->rlim_cur, r);
	return r;
}

EVS_HOOK int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *rl,
		       struct rlimit64 *old)
{
	bool left = rl && nofile_before(pid, (int)res, (rlim_t)rl->rlim_cur);
	int r = REAL(prlimit64)(pid, res, rl, old);
	nofile_after(left, r);
	if (rl)
		nproc_set(pid, (int)res, (rlim_t)rl->rlim_cur, r);
	return r;
}

/* The same through syscall() (hook/syscall.c): prlimit64 and setrlimit. */
long evs_hook_raw_rlimit(long n, long pid, long res, const struct rlimit *rl, long d)
{
	bool left = rl && nofile_before((pid_t)pid, (int)res, rl->rlim_cur);
	long r = n == SYS_setrlimit ? REAL(syscall)(n, res, (long)rl, 0, 0, 0, 0)
				    : REAL(syscall)(n, pid, res, (long)rl, d, 0, 0);
	nofile_after(left, (int)r);
	if (rl)
		nproc_set(n == SYS_setrlimit ? 0 : (pid_t)pid, (int)res, rl->rlim_cur, r);
	return r;
}

/* A task's name is its own (the kernel's is its worker's), as
 * pthread_setname_np keeps it (hook/thread.c): prctl cuts it to 15
 * characters as the kernel does; main's is also the process's name. */
static int task_name(struct evs_task *t, int option, char *name)
{
	if (option == PR_GET_NAME) {
		memcpy(name, t->name, sizeof(t->name));
		return 0;
	}
	char cut[sizeof(t->name)];
	strncpy(cut, name, sizeof(cut) - 1);
	cut[sizeof(cut) - 1] = 0;
	memcpy(t->name, cut, sizeof(cut));
	if (t == &evs_main_task)
		REAL(pthread_setname_np)(t->w->thread, cut);
	return 0;
}

EVS_HOOK int prctl(int option, ...)
{
	va_list ap;
	va_start(ap, option);
	unsigned long a = va_arg(ap, unsigned long), b = va_arg(ap, unsigned long);
	unsigned long c = va_arg(ap, unsigned long), d = va_arg(ap, unsigned long);
	va_end(ap);
	struct evs_task *t;
	if ((option == PR_SET_NAME || option == PR_GET_NAME) && (t = evs_current()) && a)
		return task_name(t, option, (char *)a);
	if (option != PR_SET_SECCOMP)
		return REAL(prctl)(option, a, b, c, d);
	evs_hook_before_seccomp();
	int r = REAL(prctl)(option, a, b, c, d);
	evs_hook_after_seccomp(r != 0);  /* errno untouched */
	return r;
}
