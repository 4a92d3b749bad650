/* lone_sigwait: a single-threaded process waiting in sigwait,
 * sigwaitinfo and sigtimedwait, as daemons' signal loops do. Under the
 * shim a process's only task waits in the kernel itself (rt/lonewait.c);
 * what the program sees must not change:
 *   - timeouts: sigtimedwait with nothing sent ends with EAGAIN;
 *   - a signal already pending is taken at once;
 *   - rounds: a child sends SIGUSR2 (handled, never blocked), then SIGUSR1
 *     (blocked, waited for). Natively, whenever the wait returns SIGUSR1,
 *     SIGUSR2's handler has already run: either before the call, or on
 *     the call's way out (the kernel runs handlers before the program
 *     sees the result); a wait that SIGUSR2 cut short ends with EINTR.
 *     Under the shim SIGUSR2 often lands between the runtime's last look
 *     and the kernel, or during the kernel's wait: a handler that runs
 *     late shows as a round where the count is short.
 * Prints counts only, the same natively and under the shim. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 2000

static volatile sig_atomic_t handled;

static void on_usr2(int sig)
{
	(void)sig;
	handled++;
}

static int take(int kind, const sigset_t *set, siginfo_t *si)
{
	struct timespec ts = { 5, 0 };
	int sig = 0;
	switch (kind) {
	case 0: {
		int e = sigwait(set, &sig);
		if (e) {
			errno = e;
			return -1;
		}
		si->si_signo = sig;
		si->si_code = SI_USER;
		return sig;
	}
	case 1:
		return sigwaitinfo(set, si);
	default:
		return sigtimedwait(set, si, &ts);
	}
}

static const char *code(const siginfo_t *si)
{
	return si->si_code == SI_USER ? "SI_USER" : si->si_code == SI_TKILL ? "SI_TKILL" : "other";
}

static const char *const names[] = { "sigwait", "sigwaitinfo", "sigtimedwait" };

static void *nothing(void *arg)
{
	return arg;
}

static void *reader(void *arg)
{
	char c;
	return read((int)(long)arg, &c, 1) < 0 ? arg : NULL;
}

/* argv[1] "started": a thread made and joined first, so that under the
 * shim the runtime (workers, monitor) runs while the one task waits.
 * "other": started, and a second thread that blocks every signal stays,
 * parked in a read until the process ends: the main thread is still the
 * only one that takes SIGUSR2, but no longer the only task. */
int main(int argc, char **argv)
{
	int other = argc > 1 && !strcmp(argv[1], "other");
	int started = other || (argc > 1 && !strcmp(argv[1], "started"));
	if (started) {
		pthread_t th;
		if (pthread_create(&th, NULL, nothing, NULL) || pthread_join(th, NULL))
			return 1;
	}
	int hold[2];
	if (other) {
		sigset_t all, old;
		sigfillset(&all);
		pthread_t th;
		if (pipe(hold) || pthread_sigmask(SIG_SETMASK, &all, &old) ||
		    pthread_create(&th, NULL, reader, (void *)(long)hold[0]) ||
		    pthread_sigmask(SIG_SETMASK, &old, NULL))
			return 1;
	}
	int ready[2];
	if (pipe(ready))
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, NULL);
	alarm(60);

	/* timeouts: nothing sent, 5 waits of 20 ms */
	struct timespec t20 = { 0, 20 * 1000000L };
	siginfo_t si;
	int eagain = 0;
	for (int i = 0; i < 5; i++)
		eagain += sigtimedwait(&usr1, &si, &t20) < 0 && errno == EAGAIN;
	printf("sigtimedwait with nothing sent: %d EAGAIN of 5\n", eagain);
	/* already pending, sent by raise (tgkill): glibc's sigtimedwait
	 * reports SI_USER, the system call SI_TKILL */
	raise(SIGUSR1);
	int r = sigtimedwait(&usr1, &si, &t20);
	printf("a pending SIGUSR1: %s, code %s\n", r == SIGUSR1 ? "taken" : "not taken", code(&si));
	raise(SIGUSR1);
	r = (int)syscall(SYS_rt_sigtimedwait, &usr1, &si, &t20, 8);
	printf("the same by syscall(): %s, code %s\n", r == SIGUSR1 ? "taken" : "not taken", code(&si));

	for (int k = 0; k < 3; k++) {
		pid_t parent = getpid(), child = fork();
		if (child == 0) {
			char c;
			for (int i = 0; i < ROUNDS; i++) {
				if (read(ready[0], &c, 1) != 1)
					_exit(1);
				kill(parent, SIGUSR2);
				kill(parent, SIGUSR1);
			}
			_exit(0);
		}
		handled = 0;
		int taken = 0, late = 0, from_child = 0, other = 0;
		for (int i = 0; i < ROUNDS; i++) {
			if (write(ready[1], "r", 1) != 1)
				return 1;
			for (;;) {
				memset(&si, 0, sizeof(si));
				r = take(k, &usr1, &si);
				if (r == SIGUSR1)
					break;
				if (!(r < 0 && errno == EINTR)) {
					other++;
					break;
				}
			}
			if (r != SIGUSR1)
				continue;
			taken++;
			late += handled != i + 1;
			from_child += k == 0 || (si.si_code == SI_USER && si.si_pid == child);
		}
		int st = 0;
		waitpid(child, &st, 0);
		printf("%s: SIGUSR1 taken %d, from the child %d, other %d, SIGUSR2's handler late %d, "
		       "handler runs %d, child exit %d\n",
		       names[k], taken, from_child, other, late, (int)handled, WEXITSTATUS(st));
	}
	if (started)
		return 0;
	FILE *s = fopen("/proc/self/status", "r");
	char line[256];
	while (s && fgets(line, sizeof(line), s))
		if (!strncmp(line, "Threads:", 8))
			fputs(line, stdout);
	return 0;
}
