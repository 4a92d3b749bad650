/* pshared_barrier: a process-shared barrier in shared memory, which stays
 * glibc's (another process may wait on it), for THREADS threads of this
 * process and a forked child, ROUNDS rounds. glibc's wait is in the
 * kernel, and a task that made it held its worker: the monitor added
 * workers up to its bound, the tasks past them never arrived, and the
 * barrier never opened. Prints results only, the same natively and under
 * the shim. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 40
#define ROUNDS 20

struct shared {
	pthread_barrier_t b;
	int serial, passed, errors;
};
static struct shared *s;

static void wait_once(void)
{
	int r = pthread_barrier_wait(&s->b);
	if (r == PTHREAD_BARRIER_SERIAL_THREAD)
		__atomic_add_fetch(&s->serial, 1, __ATOMIC_RELAXED);
	else if (r)
		__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
	__atomic_add_fetch(&s->passed, 1, __ATOMIC_RELAXED);
}

static void *thread(void *arg)
{
	(void)arg;
	for (int i = 0; i < ROUNDS; i++)
		wait_once();
	return NULL;
}

int main(void)
{
	pthread_barrierattr_t a;
	pthread_t t[THREADS];
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return 1;
	setvbuf(stdout, NULL, _IONBF, 0);
	alarm(30);  /* a hang ends the run */
	pthread_barrierattr_init(&a);
	pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	pthread_barrier_init(&s->b, &a, THREADS + 1);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(30);
		thread(NULL);
		_exit(0);
	}
	for (int i = 0; i < THREADS; i++)
		if (pthread_create(&t[i], NULL, thread, NULL)) {
			printf("pthread_create failed\n");
			return 1;
		}
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	int st;
	waitpid(pid, &st, 0);
	printf("barrier: %d threads and a child, %d rounds: %d passed, %d serial, %d errors, child exit %d\n",
	       THREADS, ROUNDS, s->passed, s->serial, s->errors, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	return 0;
}
