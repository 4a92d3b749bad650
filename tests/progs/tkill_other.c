/* syscall(SYS_tkill) of another process's thread, as gdb stops and
 * kills its inferior's threads (its kill_lwp): the kernel's call. The
 * shim made every tkill a tgkill of its own process, so each one failed
 * with ESRCH and gdb, waiting for the SIGSTOP it had sent, hung at its
 * first breakpoint in a threaded program. A tkill of one of the
 * process's own threads still reaches that thread. Run from a thread,
 * so the runtime has started. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t ran;

static void on_usr1(int sig)
{
	(void)sig;
	ran++;
}

static const char *res(long r)
{
	return r == 0 ? "0" : strerrorname_np(errno);
}

static const char *how(int st)
{
	static char buf[64];
	if (WIFSTOPPED(st))
		snprintf(buf, sizeof(buf), "stopped by %s", sigabbrev_np(WSTOPSIG(st)));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof(buf), "killed by %s", sigabbrev_np(WTERMSIG(st)));
	else if (WIFCONTINUED(st))
		snprintf(buf, sizeof(buf), "continued");
	else
		snprintf(buf, sizeof(buf), "exit %d", WEXITSTATUS(st));
	return buf;
}

static void *run(void *x)
{
	(void)x;
	pid_t child = fork();
	if (child == 0) {
		for (int i = 0; i < 40; i++)
			usleep(50 * 1000);
		_exit(9);
	}
	int st;
	printf("tkill(child, 0): %s\n", res(syscall(SYS_tkill, child, 0)));
	printf("tkill(child, SIGSTOP): %s\n", res(syscall(SYS_tkill, child, SIGSTOP)));
	waitpid(child, &st, WUNTRACED);
	printf("child %s\n", how(st));
	printf("tkill(child, SIGCONT): %s\n", res(syscall(SYS_tkill, child, SIGCONT)));
	waitpid(child, &st, WCONTINUED);
	printf("child %s\n", how(st));
	printf("tkill(child, SIGTERM): %s\n", res(syscall(SYS_tkill, child, SIGTERM)));
	waitpid(child, &st, 0);
	printf("child %s\n", how(st));
	printf("tkill(reaped child, 0): %s\n", res(syscall(SYS_tkill, child, 0)));
	long me = syscall(SYS_gettid);
	const char *r = res(syscall(SYS_tkill, me, SIGUSR1));
	printf("tkill(own thread, SIGUSR1): %s, handler ran %d time(s)\n", r, (int)ran);
	return NULL;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	pthread_t t;
	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, NULL);
	return 0;
}
