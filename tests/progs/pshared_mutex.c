/* pshared_mutex: process-shared mutexes (plain and robust) in shared
 * memory, contended by a parent and its forked child, as LMDB's and other
 * shared-memory programs' locks are. glibc's unlock in the other process
 * wakes only the kernel's waiters, and only when the word says there are
 * some: under the shim the waiting task marks the word as glibc's waiter
 * does and waits in the kernel as well (sync/mutex.c), so it is woken at
 * once; before, it looked at the word every 1-20 ms, and a process with
 * one task started the runtime for it. What the program sees must not
 * change:
 *   - rounds: parent and child each take the lock ROUNDS times and bump a
 *     shared counter while holding it: the counter ends at 2 x ROUNDS;
 *   - held: the child holds the lock for 20 ms each of 10 times; the
 *     parent's lock returns only after each unlock (the flag it sees is
 *     the child's "released");
 *   - robust: the child dies holding it: the parent's lock says
 *     EOWNERDEAD, then it makes the mutex consistent.
 * argv[1] "started": a second thread runs in the parent throughout, so the
 * waits are parks of one task among two (the runtime's kernel futex wait).
 * Prints results only, the same natively and under the shim. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 3000

struct shared {
	pthread_mutex_t m;
	volatile long counter;
	volatile int released;  /* the child set it just before its unlock */
	volatile int child_holds;
};

static void make(struct shared *s, int robust)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (robust)
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&s->m, &a);
	s->counter = 0;
	s->released = 0;
	s->child_holds = 0;
}

static void hold_briefly(void)
{
	for (volatile int i = 0; i < 200; i++)
		;
}

static void rounds(struct shared *s, const char *name)
{
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < ROUNDS; i++) {
			pthread_mutex_lock(&s->m);
			s->counter++;
			hold_briefly();
			pthread_mutex_unlock(&s->m);
		}
		_exit(0);
	}
	for (int i = 0; i < ROUNDS; i++) {
		pthread_mutex_lock(&s->m);
		s->counter++;
		hold_briefly();
		pthread_mutex_unlock(&s->m);
	}
	int st = 0;
	waitpid(c, &st, 0);
	printf("%s, %d rounds each: counter %ld, child exit %d\n", name, ROUNDS, s->counter,
	       WEXITSTATUS(st));
}

/* A child that takes the lock and holds it until the parent waits for it
 * and 20 ms more, then lets go (`unlock`) or exits holding it; returned
 * once it holds it. */
static pid_t child_holding(struct shared *s, int unlock)
{
	s->released = 0;
	s->child_holds = 0;
	pid_t c = fork();
	if (c == 0) {
		pthread_mutex_lock(&s->m);
		s->child_holds = 1;
		/* until the parent waits (it marked the word, as glibc's waiter
		 * does: 2, or FUTEX_WAITERS on a robust owner's id), so its
		 * wait is certain on a loaded machine too; at most 5 s */
		for (int i = 0; i < 5000; i++) {
			int w = __atomic_load_n(&s->m.__data.__lock, __ATOMIC_ACQUIRE);
			if (w == 2 || (w & 0x80000000))
				break;
			usleep(1000);
		}
		struct timespec d = { 0, 20 * 1000000L };
		nanosleep(&d, NULL);
		if (unlock) {
			s->released = 1;
			pthread_mutex_unlock(&s->m);
		}
		_exit(0);
	}
	while (!s->child_holds)
		usleep(100);
	return c;
}

static void held(struct shared *s, const char *name)
{
	int after = 0;
	for (int i = 0; i < 10; i++) {
		pid_t c = child_holding(s, 1);
		pthread_mutex_lock(&s->m);
		after += s->released;
		pthread_mutex_unlock(&s->m);
		waitpid(c, NULL, 0);
	}
	printf("%s, held 20 ms by the child 10 times: locked after its unlock %d times\n", name, after);
}

static void owner_dies(struct shared *s)
{
	pid_t c = child_holding(s, 0);
	int r = pthread_mutex_lock(&s->m);
	int k = r == EOWNERDEAD ? pthread_mutex_consistent(&s->m) : -1;
	pthread_mutex_unlock(&s->m);
	waitpid(c, NULL, 0);
	r = r == EOWNERDEAD ? 0 : r;
	printf("robust, the owner dies holding it: %s, consistent %d, then lock %d\n",
	       r == 0 ? "EOWNERDEAD" : "other", k, pthread_mutex_lock(&s->m));
	pthread_mutex_unlock(&s->m);
}

static volatile int stop;

static void *companion(void *arg)
{
	while (!stop) {
		struct timespec d = { 0, 5 * 1000000L };
		nanosleep(&d, NULL);
	}
	return arg;
}

int main(int argc, char **argv)
{
	int started = argc > 1 && !strcmp(argv[1], "started");
	struct shared *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	alarm(120);
	pthread_t th;
	if (started && pthread_create(&th, NULL, companion, NULL))
		return 1;
	make(s, 0);
	rounds(s, "plain");
	held(s, "plain");
	make(s, 1);
	rounds(s, "robust");
	held(s, "robust");
	owner_dies(s);
	if (started) {
		stop = 1;
		pthread_join(th, NULL);
	}
	return 0;
}
