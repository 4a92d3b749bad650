/* stop_eintr: a process waiting in epoll_wait, epoll_pwait, sigtimedwait
 * or sigwaitinfo is stopped (SIGSTOP) 300 ms in and continued 200 ms
 * later, as a shell's job is by ^Z and fg. Linux ends those calls with
 * EINTR once the process runs again, with no handler involved
 * (signal(7)); poll, ppoll and sigwait (glibc's loops) wait on to their
 * end. Under the shim a lone task makes the kernel's own call
 * (rt/lonewait.c), whose EINTR is its own; with the runtime started
 * (`started`: a second thread waits in a pipe read meanwhile) the task
 * parks, and the monitor's sleep, which the stop ends too, tells it.
 * Before: under the shim every one of them waited on to its end.
 * Prints each call's result; no timing is printed. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int p[2], q[2];

static void *reader(void *x)
{
	char c;
	(void)x;
	return (void *)(long)read(q[0], &c, 1);  /* until main writes */
}

/* The child: stop the parent 300 ms in, continue it 200 ms later. */
static pid_t stopper(void)
{
	pid_t c = fork();
	if (c == 0) {
		pid_t parent = getppid();
		usleep(300000);
		kill(parent, SIGSTOP);
		usleep(200000);
		kill(parent, SIGCONT);
		_exit(0);
	}
	return c;
}

int main(int argc, char **argv)
{
	int started = argc > 1 && strcmp(argv[1], "started") == 0;
	pthread_t th;
	if (pipe(p) || pipe(q))
		return 1;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = p[0] }, out[4];
	epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
	sigset_t usr1, none;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigemptyset(&none);
	sigprocmask(SIG_BLOCK, &usr1, NULL);  /* the thread inherits it */
	if (started && pthread_create(&th, NULL, reader, NULL))
		return 1;
	const char *names[] = { "epoll_wait", "epoll_pwait", "sigtimedwait", "sigwaitinfo",
				"poll", "sigwait" };
	for (int k = 0; k < 6; k++) {
		pid_t c = stopper();
		pid_t late = 0;
		if (k == 3 || k == 5) {
			/* no timeout: a second child ends the wait at 1 s */
			late = fork();
			if (late == 0) {
				usleep(1000000);
				kill(getppid(), SIGUSR1);
				_exit(0);
			}
		}
		struct pollfd pf = { p[0], POLLIN, 0 };
		struct timespec ts = { 1, 0 };
		siginfo_t si;
		int sig = 0;
		int r = k == 0 ? epoll_wait(ep, out, 4, 1000)
		      : k == 1 ? epoll_pwait(ep, out, 4, 1000, &none)
		      : k == 2 ? sigtimedwait(&usr1, &si, &ts)
		      : k == 3 ? sigwaitinfo(&usr1, &si)
		      : k == 4 ? poll(&pf, 1, 1000)
				: sigwait(&usr1, &sig);
		int e = errno;
		waitpid(c, NULL, 0);
		if (late) {
			waitpid(late, NULL, 0);
			if (r < 0 || k == 5) {  /* the late signal, taken now */
				struct timespec zero = { 0, 0 };
				sigtimedwait(&usr1, NULL, &zero);
			}
		}
		if (k == 5)
			printf("%s: %d, signal %d\n", names[k], r, sig);
		else
			printf("%s: %d%s\n", names[k], r,
			       r < 0 ? (e == EINTR ? " (EINTR)" : " (another error)") : "");
	}
	if (started) {
		void *res;
		write(q[1], "x", 1);
		pthread_join(th, &res);
		printf("reader: %ld\n", (long)res);
	}
	return 0;
}
