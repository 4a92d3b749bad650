/* Handing off a blocking system call the shim could not see.
 *
 * A task blocked in a system call made with the `syscall` instruction
 * itself (a program's own system-call code, not libc's wrappers, which
 * are interposed) holds its worker. When the monitor finds such a worker
 * with other work waiting, its signal interrupts the call; the kernel
 * sets the thread up to restart it (SA_RESTART), which leaves the call's
 * number and arguments in the saved context. If it is one of the blocking
 * calls below, and none of its arguments points into a swapped TLS block
 * (another task's copy would be there while this one waits), the call is
 * made again on a helper thread while the task parks, and the task
 * resumes as if its own call had returned that result. The worker is
 * free meanwhile. Calls that act on the calling thread itself (signal
 * masks, gettid...) are left alone: the task goes back to its call (the
 * monitor's preemption, monitor.c).
 *
 * A call the kernel never restarts (io_uring_enter, epoll_wait, poll...)
 * comes back from the signal with -EINTR, which the program would never
 * have seen natively: fio 3.33 waits for its io_uring completions with
 * its own `syscall` instruction, took the -EINTR for "no completion"
 * (it reads errno, which a raw call does not set) and ended a job's
 * I/O early. Its number is gone from the context by then (rax holds the
 * result), so the monitor notes what the thread is blocked in just
 * before it signals it (/proc/self/task/TID/syscall: number, arguments,
 * sp, pc); the handler then sets the context to make that call again,
 * as the kernel does for a call it restarts, when the call waits without
 * a time limit and gave nothing back (so making it again is what the
 * kernel's restart would have done), and no handler of the program's
 * ran with this signal. The task then yields or goes back to its call as
 * for any other preempted call. A thread that was woken for a moment
 * (the kernel reports it "running" then, as it does while the woken
 * thread waits for a CPU) and is back in its call when the signal comes
 * is told by its site: the monitor keeps the number it saw at each site
 * outside libc and the shim, and a site seen with two numbers (a
 * program's generic stub) is not trusted. */
#include "../evs.h"
#include "handoff.h"
#include "sitetrap.h"
#include "offload.h"
#include "monitor.h"
#include "sched.h"
#include "tls.h"
#include "safepoint.h"
#include "signal.h"
#include "task.h"
#include "worker.h"
#include "../arch/cpu.h"
#include "../arch/window.h"
#include "../libc/sys.h"
#include <fcntl.h>
#include <signal.h>
#include <linux/futex.h>
#include <linux/io_uring.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif

static bool handed_off(long nr)
{
	switch (nr) {
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_pread64: case SYS_pwrite64: case SYS_preadv: case SYS_pwritev:
	case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
	case SYS_accept: case SYS_accept4: case SYS_connect:
	case SYS_wait4: case SYS_waitid: case SYS_futex: case SYS_flock:
	case SYS_fsync: case SYS_fdatasync: case SYS_open: case SYS_openat: case SYS_openat2:
		return true;
	default:
		return false;
	}
}

long evs_handoff_raw(void *p)
{
	long *c = p;
	return evs_sys6(c[0], c[1], c[2], c[3], c[4], c[5], c[6]);
}

bool evs_handoff_call_ok(const long call[7])
{
	if (!handed_off(call[0]))
		return false;
	for (int i = 1; i < 7; i++)
		if (evs_tls_overlaps((const void *)call[i], 1))
			return false;
	return true;
}

/* The runtime's own call on a pool thread, through the window, with the
 * runtime's signal let in meanwhile: a signal for the task ends it with
 * -EINTR (rt/offload.h evs_offload_intr). */
static long offable_raw(void *p)
{
	long *c = p;
	struct evs_window win = {
		.head = evs_offload_intr_word(),
		.seen = 0,
		.pend = &(const uint64_t){ 0 },
		.blocked = ~0ULL,
		.nr = c[0],
		.a = { c[1], c[2], c[3], c[4], c[5], c[6] },
	};
	return evs_window_syscall(&win);
}

bool evs_handoff_offable(ucontext_t *uc)
{
	long call[7];
	if (!evs_window_usable || !evs_offable_at(uc) || !evs_uc_restart_syscall(uc, call) ||
	    !evs_handoff_call_ok(call))
		return false;
	evs_stat_add(EVS_ST_handoffs, 1);
	evs_uc_finish_syscall(uc, evs_offload_intr(offable_raw, call, 0, NULL));
	return true;
}

/* --- a signal for a task whose call was handed off --------------------- */

/* Calls a signal ends in the kernel (they wait interruptibly): a
 * transfer on a pipe, socket, terminal or other device, a child wait, a
 * futex wait, a flock. A regular file's or block device's transfer, an
 * fsync, an open (a raw open of a FIFO aside, differences.md) are left
 * to finish: the kernel lets only a fatal signal end those. */
static bool interruptible(const long call[7])
{
	switch (call[0]) {
	case SYS_wait4: case SYS_waitid: case SYS_flock:
		return true;
	case SYS_futex: {
		int cmd = (int)call[2] & FUTEX_CMD_MASK;
		return cmd == FUTEX_WAIT || cmd == FUTEX_WAIT_BITSET;
	}
	case SYS_read: case SYS_write: case SYS_readv: case SYS_writev:
	case SYS_recvfrom: case SYS_sendto: case SYS_recvmsg: case SYS_sendmsg:
	case SYS_accept: case SYS_accept4: case SYS_connect: {
		struct stat st;
		if (evs_sys6(SYS_fstat, call[1], (long)&st, 0, 0, 0, 0) < 0)
			return false;
		return !S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode);
	}
	default:
		return false;
	}
}

/* After a handler with SA_RESTART: whether the kernel makes the call
 * again. A timed futex wait ends with EINTR after any handler, and so
 * does a socket call under a timeout set with SO_RCVTIMEO or SO_SNDTIMEO
 * (signal(7)). */
static bool restarts(const long call[7])
{
	int opt;
	switch (call[0]) {
	case SYS_futex:
		return call[4] == 0;
	case SYS_read: case SYS_readv: case SYS_recvfrom: case SYS_recvmsg:
	case SYS_accept: case SYS_accept4:
		opt = SO_RCVTIMEO;
		break;
	case SYS_write: case SYS_writev: case SYS_sendto: case SYS_sendmsg: case SYS_connect:
		opt = SO_SNDTIMEO;
		break;
	default:
		return true;
	}
	struct timeval tv = { 0, 0 };
	socklen_t len = sizeof(tv);
	if (evs_sys6(SYS_getsockopt, call[1], SOL_SOCKET, opt, (long)&tv, (long)&len, 0) < 0)
		return true;  /* not a socket */
	return !tv.tv_sec && !tv.tv_usec;
}

/* The call returned r: the task resumes after it, and a signal that came
 * for it meanwhile (held while the call could not be ended) has its
 * handler run now, with that context, as the kernel runs it on the
 * call's way back to the program (nothing else would before the task's
 * next hooked call or preemption). */
static void finish(ucontext_t *uc, struct evs_task *t, long r)
{
	evs_uc_finish_syscall(uc, r);
	if (t && evs_sig_deliverable(&t->sig))
		evs_sig_run_at(evs_self, t, uc);
}

void evs_handoff_run(ucontext_t *uc, long call[7])
{
	evs_stat_add(EVS_ST_handoffs, 1);
	struct evs_task *t = evs_current();
	if (!evs_window_usable || !t || !interruptible(call)) {
		finish(uc, t, evs_offload_call(evs_handoff_raw, call, true));
		return;
	}
	/* A signal for the task ends the call on the pool thread (its
	 * window, offable_raw); the handlers then run here with this context
	 * as the kernel would have framed it (the call set up to be made
	 * again where a handler with SA_RESTART lets it be, else ended with
	 * -EINTR: the first handler, if it asked for none, ends it there,
	 * rt/signal.c), and the call is made again when the kernel would
	 * have: no handler ran (the signal was ignored meanwhile), or the
	 * first asked for restarts and the call is restarted after one.
	 * Not a cancellation: a raw call is no cancellation point. */
	for (;;) {
		bool ended;
		long r = evs_offload_intr(offable_raw, call, EVS_WAIT_NOCANCEL, &ended);
		if (r != -EINTR || !ended) {
			finish(uc, t, r);
			return;
		}
		evs_stat_add(EVS_ST_handoffs_intr, 1);
		bool again = restarts(call);
		if (!again)
			evs_uc_finish_syscall(uc, -EINTR);
		uintptr_t pc = evs_uc_pc(uc);
		int ran = evs_sig_run_at(evs_self, t, uc);
		if (evs_uc_pc(uc) != pc)
			return;  /* a handler sent the task elsewhere, or ended the call */
		if (!again) {
			if (ran & EVS_SIG_RAN)
				return;
			evs_uc_redo_syscall(uc, call[0]);
		}
	}
}

bool evs_handoff_syscall(ucontext_t *uc)
{
	long call[7];
	if (!evs_uc_restart_syscall(uc, call) || !evs_handoff_call_ok(call))
		return false;
	/* its next calls there come to the runtime at once (rt/sitetrap.c) */
	evs_sitetrap_learn(uc);
	evs_handoff_run(uc, call);
	return true;
}

/* --- calls the kernel does not restart --------------------------------- */

/* Made again after -EINTR, as a restart would: waits without a time
 * limit, or until an absolute time, whose -EINTR means nothing was done
 * (io_uring_enter returns the count it submitted when it submitted any;
 * io_getevents the events it took when it took any). */
static bool redone(const long call[7], bool in_libc)
{
	if (in_libc && call[0] != SYS_futex)
		return false;
	switch (call[0]) {
	case SYS_io_uring_enter:
		return (call[4] & IORING_ENTER_GETEVENTS) && !(call[4] & IORING_ENTER_EXT_ARG) &&
		       (unsigned)call[3] > 0;
	case SYS_epoll_wait:
	case SYS_epoll_pwait:
		return (int)call[4] < 0;
	case SYS_poll:
		return (int)call[3] < 0;
	case SYS_ppoll:
		return call[3] == 0;
	case SYS_io_getevents:
		return call[5] == 0;
	case SYS_futex:
		/* A wait until an absolute time (glibc's own timed waits inside
		 * libc: aio_suspend, gai_suspend): the kernel ends it with
		 * -EINTR after a handler, and made again it ends when it would
		 * have; -EINTR says it took nothing. aio_suspend returned that
		 * EINTR before (tests/progs/aio_suspend_intr.c). A relative
		 * FUTEX_WAIT would wait its whole time again: left alone. */
		return ((int)call[2] & FUTEX_CMD_MASK) == FUTEX_WAIT_BITSET;
	default:
		return false;
	}
}

/* "0x1f" or "42" from *p on; false at anything else. */
static bool number(const char **p, bool hex, unsigned long *v)
{
	const char *s = *p;
	int base = 10;
	if (hex) {
		if (s[0] != '0' || s[1] != 'x')
			return false;
		s += 2;
		base = 16;
	}
	unsigned long n = 0;
	const char *start = s;
	for (;; s++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else
			break;
		n = n * (unsigned long)base + (unsigned long)d;
	}
	if (s == start)
		return false;
	*v = n;
	*p = s;
	return true;
}

/* Looks at most this many times while the thread is on a CPU: a thread
 * blocked in a call wakes for moments (the runtime's own ring posting a
 * completion to it, which it does when the timer the monitor saw due
 * fires), and a look then finds it running. */
#define EVS_NOTE_LOOKS 4

/* Sites where the monitor found a thread blocked in a call: the pc
 * after the `syscall` instruction and the call's number; written by the
 * monitor only, read by the handlers. */
#define EVS_INTR_SITES 64
static struct intr_site {
	uintptr_t pc;
	long nr;
	int mixed;  /* atomic: seen with two numbers */
} intr_sites[EVS_INTR_SITES];
static int n_intr_sites;  /* atomic: filled entries (written then published) */

static void site_seen(uintptr_t pc, long nr)
{
	int n = __atomic_load_n(&n_intr_sites, __ATOMIC_RELAXED);
	for (int i = 0; i < n; i++)
		if (intr_sites[i].pc == pc) {
			if (intr_sites[i].nr != nr)
				__atomic_store_n(&intr_sites[i].mixed, 1, __ATOMIC_RELEASE);
			return;
		}
	if (n == EVS_INTR_SITES || evs_safepoint_at_ip(pc) != EVS_AT_PROGRAM)
		return;
	intr_sites[n] = (struct intr_site){ pc, nr, 0 };
	__atomic_store_n(&n_intr_sites, n + 1, __ATOMIC_RELEASE);
}

static long site_nr(uintptr_t pc)
{
	int n = __atomic_load_n(&n_intr_sites, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++)
		if (intr_sites[i].pc == pc)
			return __atomic_load_n(&intr_sites[i].mixed, __ATOMIC_ACQUIRE) ? -1 : intr_sites[i].nr;
	return -1;
}

/* Looks at most this many times while the thread is on a CPU (a thread
 * blocked in a call that is woken for a moment). */
#define EVS_NOTE_LOOKS 4

void evs_handoff_note(struct evs_worker *w)
{
	long call[7] = { -1 };
	unsigned long v[8] = { 0 };
	char path[64] = "/proc/self/task/", digits[16], buf[256];
	int tid = __atomic_load_n(&w->ktid, __ATOMIC_RELAXED);
	int nd = 0, len = (int)strlen(path);
	for (; tid > 0; tid /= 10)
		digits[nd++] = (char)('0' + tid % 10);
	if (!nd)
		goto out;
	while (nd)
		path[len++] = digits[--nd];
	memcpy(path + len, "/syscall", 9);
	long fd = evs_sys6(SYS_openat, AT_FDCWD, (long)path, O_RDONLY | O_CLOEXEC, 0, 0, 0);
	if (fd < 0)
		goto out;
	long n = 0;
	for (int look = 0; look < EVS_NOTE_LOOKS; look++) {
		if (look)
			evs_sys6(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
		n = evs_sys6(SYS_pread64, fd, (long)buf, sizeof(buf) - 1, 0, 0, 0);
		if (n <= 0 || buf[0] != 'r')  /* "running" */
			break;
	}
	evs_sys_close((int)fd);
	if (n <= 0)
		goto out;
	buf[n] = 0;
	/* "running", "-1 sp pc" (blocked, not in a call), or "nr a1..a6 sp pc" */
	const char *p = buf;
	unsigned long nr;
	if (!number(&p, false, &nr))
		goto out;
	for (int i = 0; i < 8; i++)
		if (*p++ != ' ' || !number(&p, true, &v[i]))
			goto out;
	call[0] = (long)nr;
	for (int i = 0; i < 6; i++)
		call[i + 1] = (long)v[i];
	site_seen(v[7], call[0]);
out:
	__atomic_add_fetch(&w->intr_gen, 1, __ATOMIC_ACQ_REL);
	memcpy(w->intr_call, call, sizeof(call));
	w->intr_sp = call[0] >= 0 ? v[6] : 0;
	w->intr_pc = call[0] >= 0 ? v[7] : 0;
	__atomic_add_fetch(&w->intr_gen, 1, __ATOMIC_RELEASE);
}

bool evs_handoff_redo(struct evs_worker *w, ucontext_t *uc, bool in_libc)
{
	long call[7];
	uintptr_t pc, sp;
	if (!evs_uc_intr_syscall(uc, call, &pc, &sp))
		return false;
	/* the call the monitor saw, if this is still it */
	long seen[7] = { -1 };
	uintptr_t seen_pc = 0, seen_sp = 0;
	uint32_t g = __atomic_load_n(&w->intr_gen, __ATOMIC_ACQUIRE);
	if (!(g & 1)) {
		memcpy(seen, w->intr_call, sizeof(seen));
		seen_pc = w->intr_pc;
		seen_sp = w->intr_sp;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&w->intr_gen, __ATOMIC_RELAXED) != g)
			seen[0] = -1;
	}
	if (seen[0] >= 0 && seen_pc == pc && seen_sp == sp && !memcmp(seen + 1, call + 1, 6 * sizeof(long)))
		call[0] = seen[0];
	else
		call[0] = site_nr(pc);  /* it was back in its call when the signal came */
	if (call[0] < 0 || !redone(call, in_libc))
		return false;
	evs_uc_redo_syscall(uc, call[0]);
	evs_stat_add(EVS_ST_calls_redone, 1);
	return true;
}
