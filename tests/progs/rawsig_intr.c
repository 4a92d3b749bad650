/* A signal for a thread blocked in a system call it made with the
 * `syscall` instruction itself (not libc's wrappers, which the shim
 * interposes): natively its handler runs at once, and then the call goes
 * on (SA_RESTART) or fails with -EINTR (no SA_RESTART; after any handler
 * for a socket call under SO_RCVTIMEO and for a timed futex wait). A
 * handler that leaves with siglongjmp leaves the call.
 *
 * Under the shim such a call holds its worker until the monitor hands it
 * to a pool thread (rt/handoff.c): the signal then waited for the call's
 * end (the handler never ran until the data came: 1 worker); on its
 * worker, the runtime's own signal (which asks for restarts) carried the
 * program's, so a handler without SA_RESTART left the call going on
 * instead of failing (2 workers).
 *
 * Each case: a thread blocks in the call, main sends it SIGUSR1 100 ms
 * later and waits up to 5 s for the handler, then ends the call (a byte
 * written, the futex word changed and woken, the child killed). Printed:
 * whether the handler ran before the call ended and what its context
 * showed (the call set up to be made again, or ended with -EINTR), the
 * result seen before the end, the final result. */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static long raw6(long nr, long a, long b, long c, long d, long e, long f)
{
	long r;
	register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return r;
}

enum { READ, FUTEX, RECV, WAIT4, RCVTIMEO, TIMED_FUTEX, LONGJMP, NKINDS };
static const char *names[] = { "read", "futex", "recv", "wait4", "recv, SO_RCVTIMEO",
			       "timed futex", "siglongjmp" };
#define NOTHING (-999L)
#define JUMPED (-1000L)

static sigjmp_buf jb;
static volatile int handled, jumping, started;
static volatile long result;
static int kind, fds[2];
static unsigned fword;
static char buf[16];

static volatile int saw_eintr;

static void on_usr1(int s, siginfo_t *si, void *ucv)
{
	(void)s;
	(void)si;
	ucontext_t *uc = ucv;
	/* the context as the kernel framed it: a call it will make again
	 * is set up to be made (its number in rax), one it ended has -EINTR */
	if (!handled)
		saw_eintr = uc->uc_mcontext.gregs[REG_RAX] == -EINTR;
	handled++;
	if (jumping) {
		jumping = 0;
		siglongjmp(jb, 1);
	}
}

static void *blocker(void *a)
{
	(void)a;
	struct timeval tv = { 20, 0 };
	struct timespec ts = { 20, 0 };
	started = 1;
	switch (kind) {
	case READ:
		result = raw6(SYS_read, fds[0], (long)buf, sizeof(buf), 0, 0, 0);
		break;
	case FUTEX:
		result = raw6(SYS_futex, (long)&fword, FUTEX_WAIT_PRIVATE, 0, 0, 0, 0);
		break;
	case RECV:
		result = raw6(SYS_recvfrom, fds[0], (long)buf, sizeof(buf), 0, 0, 0);
		break;
	case WAIT4:
		result = raw6(SYS_wait4, -1, 0, 0, 0, 0, 0);
		break;
	case RCVTIMEO:
		setsockopt(fds[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		result = raw6(SYS_recvfrom, fds[0], (long)buf, sizeof(buf), 0, 0, 0);
		break;
	case TIMED_FUTEX:
		result = raw6(SYS_futex, (long)&fword, FUTEX_WAIT_PRIVATE, 0, (long)&ts, 0, 0);
		break;
	case LONGJMP:
		if (sigsetjmp(jb, 1)) {
			result = JUMPED;
			break;
		}
		jumping = 1;
		result = raw6(SYS_read, fds[0], (long)buf, sizeof(buf), 0, 0, 0);
		break;
	}
	return NULL;
}

static void ms(int n)
{
	struct timespec t = { n / 1000, (n % 1000) * 1000000L };
	while (nanosleep(&t, &t))
		;
}

static const char *said(long r, pid_t child)
{
	if (r == NOTHING)
		return "none";
	if (r == -EINTR)
		return "-EINTR";
	if (r == JUMPED)
		return "left by siglongjmp";
	if (kind == WAIT4 && r == child)
		return "the child";
	if (r == 1 || r == 0)
		return r ? "1" : "0";
	return "other";
}

static void one(int k, int restart)
{
	kind = k;
	handled = started = jumping = saw_eintr = 0;
	fword = 0;
	result = NOTHING;
	bool sock = k == RECV || k == RCVTIMEO;
	if (sock ? socketpair(AF_UNIX, SOCK_STREAM, 0, fds) : pipe(fds)) {
		perror("pipe");
		return;
	}
	pid_t child = 0;
	if (k == WAIT4 && !(child = fork())) {
		pause();
		_exit(3);
	}
	struct sigaction sa = { 0 };
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO | (restart ? SA_RESTART : 0);
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t th;
	pthread_create(&th, NULL, blocker, NULL);
	while (!started)
		ms(1);
	ms(100);
	pthread_kill(th, SIGUSR1);
	for (int waited = 0; !handled && waited < 5000; waited += 10)
		ms(10);
	int before = handled;
	ms(50);
	long early = result;
	if (k == FUTEX || k == TIMED_FUTEX) {
		__atomic_store_n(&fword, 1, __ATOMIC_SEQ_CST);
		syscall(SYS_futex, &fword, FUTEX_WAKE_PRIVATE, 1, 0, 0, 0);
	} else if (k == WAIT4) {
		kill(child, SIGKILL);
	} else if (write(fds[1], "x", 1) != 1) {
		perror("write");
	}
	pthread_join(th, NULL);
	if (k == WAIT4 && result != child)
		waitpid(child, NULL, 0);
	printf("%-17s %-10s handler before the call ended: %-3s (it saw %s); before the end: %-18s; "
	       "result: %s\n",
	       names[k], restart ? "SA_RESTART" : "no restart", before ? "yes" : "no",
	       saw_eintr ? "-EINTR" : "the call", said(early, child), said(result, child));
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int k = 0; k < NKINDS; k++)
		for (int r = 1; r >= 0; r--)
			one(k, r);
	/* the same sites again (the runtime may have learned them) */
	one(READ, 1);
	one(FUTEX, 0);
	return 0;
}
