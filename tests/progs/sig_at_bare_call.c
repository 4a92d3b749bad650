/* A signal that a system call itself raises (here the directory
 * notification of a chmod, fcntl F_NOTIFY with F_SETSIG) is delivered as
 * that call returns: its handler has run when chmod returns. The kernel
 * hands it over inside libc's chmod, a bare system-call wrapper the shim
 * does not hook, and the shim only noted it there and ran the handler at
 * the task's next hooked call (or a millisecond later): stress-ng
 * --dnotify, which waits in 1 ms sleeps until the handler has seen the
 * event, slept in half its rounds (x0.05). Alone (the runtime never
 * started), then with a second thread. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS 200

static volatile int seen_fd = -1;

static void on_note(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	seen_fd = si->si_fd;
}

static int run(const char *dir, const char *file)
{
	int at_return = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int d = open(dir, O_RDONLY);
		if (d < 0 || fcntl(d, F_SETSIG, SIGRTMIN + 1) || fcntl(d, F_NOTIFY, DN_ATTRIB))
			return -1;
		seen_fd = -1;
		chmod(file, (i & 1) ? 0600 : 0644);
		if (seen_fd == d)  /* nothing between chmod's return and this look */
			at_return++;
		for (int w = 0; w < 2000 && seen_fd != d; w++)
			usleep(1000);  /* a hooked call: the shim delivers it by now */
		close(d);
	}
	return at_return;
}

static void *idle(void *arg)
{
	(void)arg;
	pause();
	return NULL;
}

int main(void)
{
	char dir[] = "/tmp/sig_at_bare_call.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char file[sizeof(dir) + 8];
	snprintf(file, sizeof(file), "%s/f", dir);
	int f = open(file, O_CREAT | O_WRONLY, 0600);
	if (f < 0)
		return 1;
	close(f);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_note;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);

	/* Natively every round; allow a little for a notification the kernel
	 * could not send at once. */
	int n = run(dir, file);
	printf("alone: the handler had run when chmod returned in at least 95%% of %d rounds: %s\n",
	       ROUNDS, n >= ROUNDS * 95 / 100 ? "yes" : "no");
	fprintf(stderr, "alone: %d of %d\n", n, ROUNDS);
	pthread_t th;
	if (pthread_create(&th, NULL, idle, NULL))
		return 1;
	n = run(dir, file);
	printf("beside a thread: the handler had run when chmod returned in at least 95%% of %d rounds: %s\n",
	       ROUNDS, n >= ROUNDS * 95 / 100 ? "yes" : "no");
	fprintf(stderr, "beside a thread: %d of %d\n", n, ROUNDS);
	unlink(file);
	rmdir(dir);
	return 0;
}
