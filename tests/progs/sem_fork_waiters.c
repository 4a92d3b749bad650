/* Threads wait on a process-shared semaphore; then the process forks and
 * the child posts it once per waiter. The child has one thread (the
 * forking one): the waiters are the parent's, and each post must reach
 * the parent through the kernel. A runtime that carries its record of
 * the parent's waiters into the child finds them there at the child's
 * post: it runs copies of them in the child (which then crashes) and the
 * parent's waiters are never woken.
 *
 *   got N of N, child exit 0
 * A hung run ends by alarm (20 s). */
#include "common.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define WAITERS 20

static sem_t *sem;
static sem_t waiting;  /* private: counts waiters about to wait */
static int got;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static void *waiter(void *arg)
{
	(void)arg;
	sem_post(&waiting);
	if (sem_wait(sem) == 0) {
		pthread_mutex_lock(&m);
		got++;
		pthread_mutex_unlock(&m);
	}
	return NULL;
}

int main(void)
{
	alarm(20);
	sem = mmap(NULL, sizeof(*sem), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sem_init(sem, 1, 0);
	sem_init(&waiting, 0, 0);
	pthread_t t[WAITERS];
	for (int i = 0; i < WAITERS; i++)
		pthread_create(&t[i], NULL, waiter, NULL);
	for (int i = 0; i < WAITERS; i++)
		sem_wait(&waiting);
	/* each waiter is in sem_wait or about to be: a post before it waits
	 * is kept by the semaphore, so the count comes out the same */
	fflush(stdout);
	pid_t c = fork();
	if (c == 0) {
		for (int i = 0; i < WAITERS; i++)
			sem_post(sem);
		_exit(0);
	}
	int st = 0;
	waitpid(c, &st, 0);
	for (int i = 0; i < WAITERS; i++)
		pthread_join(t[i], NULL);
	printf("got %d of %d, child %s %d\n", got, WAITERS, WIFEXITED(st) ? "exit" : "signal",
	       WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
	return 0;
}
