/* select and pselect cut short by a signal (-1 EINTR) leave the program's
 * fd sets as they were: the kernel writes the sets back only when the
 * call succeeds. kwsys (CMake's process runner) counts on it: its SIGCHLD
 * handler writes to a pipe, and it calls select again on the same set
 * while the answer is EINTR. Under the shim the sets came back cleared
 * (its first, zero-timeout look had cleared them), so the next select
 * waited on no fd at all: `cmake` hung at its first try_compile.
 * "select": rounds of the kwsys loop: select on a pipe, while a helper
 * thread's kill() makes the handler (SA_RESTART, which select ignores)
 * write a byte into it; the loop must see the byte whether the signal
 * came before or during the select. "pselect": the program's first
 * blocking call, a pselect whose mask lets a pending SIGUSR1 in (EINTR
 * for certain); printed, the answer, whether the handler ran and whether
 * the fd is still in its set. Under the shim the handler ran inside the
 * runtime's start (libunwind's set-up changed the mask through the
 * hooks) and the call then waited its whole 5 s timeout. */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#define ROUNDS 5

static int sigpipe[2];
static sem_t go;
static volatile sig_atomic_t handled;

static void on_usr1(int s)
{
	(void)s;
	handled++;
}

static void on_chld_like(int s)
{
	(void)s;
	char b = 1;
	if (write(sigpipe[1], &b, 1) != 1)
		handled = -1000;
}

static void *kicker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++) {
		while (sem_wait(&go))
			;
		kill(getpid(), SIGUSR2);
	}
	return NULL;
}

/* The program's first blocking call: a pselect whose mask lets the
 * pending SIGUSR1 in. */
static void first_pselect(void)
{
	sigset_t usr1, old;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	sigprocmask(SIG_BLOCK, &usr1, &old);
	kill(getpid(), SIGUSR1);
	fd_set rd;
	FD_ZERO(&rd);
	FD_SET(sigpipe[0], &rd);
	struct timespec ts = { 5, 0 };
	int r = pselect(sigpipe[0] + 1, &rd, NULL, NULL, &ts, &old);
	int e = errno;
	printf("pselect: %d %s, handler ran %d time(s), the fd still in the set: %s\n", r,
	       r < 0 ? strerror(e) : "", (int)handled, FD_ISSET(sigpipe[0], &rd) ? "yes" : "no");
	sigprocmask(SIG_SETMASK, &old, NULL);
}

/* kwsys's loop: the same set again while select says EINTR. */
static int rounds(void)
{
	sem_init(&go, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, kicker, NULL);
	for (int i = 0; i < ROUNDS; i++) {
		fd_set rd;
		FD_ZERO(&rd);
		FD_SET(sigpipe[0], &rd);
		sem_post(&go);
		struct timeval tv = { 3, 0 };
		int r;
		while ((r = select(sigpipe[0] + 1, &rd, NULL, NULL, &tv)) < 0 && errno == EINTR)
			;
		printf("round %d: select %d, the pipe ready: %s\n", i, r,
		       r == 1 && FD_ISSET(sigpipe[0], &rd) ? "yes" : "no");
		char b;
		if (r == 1 && read(sigpipe[0], &b, 1) != 1)
			return 1;
	}
	pthread_join(t, NULL);
	return 0;
}

int main(int argc, char **argv)
{
	if (pipe(sigpipe))
		return 1;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_chld_like;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR2, &sa, NULL);
	if (argc > 1 && !strcmp(argv[1], "pselect")) {
		first_pselect();
		return 0;
	}
	return rounds();
}
