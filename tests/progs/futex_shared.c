/* Futex waits on a word in memory shared with another process, woken by
 * that process through the kernel (FUTEX_WAKE without the private flag),
 * the word left as it was: stress-ng's futex stressor works so. A runtime
 * that sees only wakes made in its own process, and otherwise only a
 * change of the word, leaves each such wait to run out its timeout.
 *
 *   timed: a 50 ms wait nobody wakes: -1 ETIMEDOUT
 *   wake: the child waits (10 s at most); the parent wakes the word until
 *         one waiter was woken (FUTEX_WAKE's answer): the child's wait
 *         returns 0
 *   bitset: the child waits with bits 0x2; wakes with bits 0x1 wake
 *           nobody (0), then wakes with 0x2 end the wait
 *   sem: a process-shared semaphore: the child waits, the parent posts;
 *        then 200 posts back and forth between the two processes, the
 *        count of rounds printed
 * A hung run ends by alarm (20 s). */
#include "common.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

struct shared {
	uint32_t word;
	uint32_t bits_word;
	sem_t ping, pong;
	char said[4][64];  /* the child's results, printed by the parent */
};

static long fx(uint32_t *w, int op, uint32_t val, const struct timespec *ts, uint32_t bits)
{
	return syscall(SYS_futex, w, op, val, ts, NULL, bits);
}

static const char *res(long r)
{
	static char b[64];
	if (r < 0)
		snprintf(b, sizeof(b), "-1 %s", errno == ETIMEDOUT ? "ETIMEDOUT" :
			 errno == EAGAIN ? "EAGAIN" : errno == EINTR ? "EINTR" : strerror(errno));
	else
		snprintf(b, sizeof(b), "%ld", r);
	return b;
}

/* Wake w (with bits) until the kernel says one waiter woke; 0 if none
 * ever did within about 5 s. */
static int wake_one(uint32_t *w, uint32_t bits)
{
	for (int i = 0; i < 5000; i++) {
		if (fx(w, FUTEX_WAKE_BITSET, 1, NULL, bits) == 1)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

/* A second thread parked in a read for the whole run (not in `alone`
 * mode): with it the parent has two tasks under the shim and its waits
 * are the runtime's (a park plus the kernel's wait in the worker's ring);
 * alone, its waits are the kernel's own (rt/lonewait.c). A forked child
 * has one task either way. */
static int companion_pipe[2];

static void *companion(void *arg)
{
	(void)arg;
	char c;
	return (void *)(long)read(companion_pipe[0], &c, 1);
}

int main(int argc, char **argv)
{
	alarm(20);
	pthread_t comp;
	int alone = argc > 1 && !strcmp(argv[1], "alone");
	if (!alone && (pipe(companion_pipe) || pthread_create(&comp, NULL, companion, NULL)))
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				-1, 0);
	if (s == MAP_FAILED)
		return 1;
	sem_init(&s->ping, 1, 0);
	sem_init(&s->pong, 1, 0);

	struct timespec short_ts = { 0, 50 * 1000000 };
	long r = fx(&s->word, FUTEX_WAIT, 0, &short_ts, 0);
	printf("timed: %s\n", res(r));

	pid_t pid = fork();
	if (pid == 0) {
		struct timespec ts = { 10, 0 };
		long c = fx(&s->word, FUTEX_WAIT, 0, &ts, 0);
		snprintf(s->said[0], 64, "wake: child's wait %s", res(c));
		c = fx(&s->bits_word, FUTEX_WAIT_BITSET, 0, NULL, 0x2);
		snprintf(s->said[1], 64, "bitset: child's wait %s", res(c));
		c = sem_wait(&s->ping);
		snprintf(s->said[2], 64, "sem: child's sem_wait %s", res(c));
		int rounds = 0;
		for (int i = 0; i < 200; i++) {
			sem_post(&s->pong);
			if (sem_wait(&s->ping) == 0)
				rounds++;
		}
		snprintf(s->said[3], 64, "sem: child's rounds %d", rounds);
		_exit(0);
	}
	printf("wake: parent woke one: %d\n", wake_one(&s->word, FUTEX_BITSET_MATCH_ANY));
	/* the child's next wait may not be there yet: wrong bits wake nobody
	 * either way */
	int wrong = 0;
	for (int i = 0; i < 3; i++) {
		wrong += (int)fx(&s->bits_word, FUTEX_WAKE_BITSET, 1, NULL, 0x1);
		sleep_ms(10);
	}
	printf("bitset: woken by bits 0x1: %d\n", wrong);
	printf("bitset: parent woke one with 0x2: %d\n", wake_one(&s->bits_word, 0x2));
	sleep_ms(20);
	sem_post(&s->ping);
	int rounds = 0;
	for (int i = 0; i < 200; i++) {
		if (sem_wait(&s->pong) == 0)
			rounds++;
		sem_post(&s->ping);
	}
	int st;
	waitpid(pid, &st, 0);
	for (int i = 0; i < 4; i++)
		printf("%s\n", s->said[i]);
	printf("sem: parent's rounds %d, child exit %d\n", rounds,
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	if (!alone) {
		if (write(companion_pipe[1], "x", 1) != 1)
			return 1;
		pthread_join(comp, NULL);
	}
	return 0;
}
