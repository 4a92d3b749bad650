/* Process-shared semaphores (sem_init with pshared=1 in shared memory, as
 * sem_open makes them): CPython's multiprocessing locks are these.
 * A Pool's main thread, at its end, waits on such a lock that one of its
 * worker processes holds; the process lets it go only after a thread of
 * the main process (the pool's task handler) has woken up from a pipe
 * read and sent it a message. A runtime that makes that wait glibc's
 * blocking futex call keeps the whole worker of the waiting task, so the
 * thread that would end the wait never runs again there: a hang (CPython
 * `with Pool(n): p.map(...)` never returned).
 *
 *   same: a thread that has run (a reader of a pipe) posts the semaphore
 *         after main writes to the pipe; main waits on it
 *   cross: a child process posts it 50 ms after it starts; the parent's
 *         main waits, and a thread of the parent counts its 2 ms ticks
 *         meanwhile (they go on natively)
 *   timed: sem_timedwait of 30 ms with nobody posting: ETIMEDOUT
 *   eintr: SIGALRM (a handler without SA_RESTART) 30 ms into a sem_wait
 *          nobody posts: -1 EINTR, as natively
 *   held: value 2 taken twice, then trywait EAGAIN, then a post by a child
 *         and the value read back
 * Each wait is bounded (alarm 10 s ends a hung run). */
#include "common.h"
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static sem_t *sem;
static int pfd[2];

static void *poster(void *arg)
{
	(void)arg;
	char c;
	if (read(pfd[0], &c, 1) != 1)
		return NULL;
	sem_post(sem);
	return NULL;
}

static volatile int stop;
static void *ticker(void *arg)
{
	int *ticks = arg;
	while (!stop) {
		sleep_ms(2);
		++*ticks;
	}
	return NULL;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static const char *err(int r)
{
	static char b[64];
	if (r == 0)
		return "0";
	snprintf(b, sizeof(b), "-1 %s", errno == EINTR ? "EINTR" : errno == ETIMEDOUT ? "ETIMEDOUT"
				       : errno == EAGAIN ? "EAGAIN" : strerror(errno));
	return b;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	sem = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sem == MAP_FAILED || sem_init(sem, 1, 0) || pipe(pfd))
		return 1;

	/* same: the poster has run (it is blocked in read) before main waits */
	pthread_t t;
	pthread_create(&t, NULL, poster, NULL);
	sleep_ms(20);
	alarm(10);
	if (write(pfd[1], "x", 1) != 1)
		return 1;
	int r = sem_wait(sem);
	printf("same: sem_wait %s\n", err(r));
	pthread_join(t, NULL);

	/* cross: a child process posts */
	int ticks = 0;
	pthread_create(&t, NULL, ticker, &ticks);
	pid_t pid = fork();
	if (pid == 0) {
		sleep_ms(50);
		sem_post(sem);
		_exit(0);
	}
	r = sem_wait(sem);
	int st;
	waitpid(pid, &st, 0);
	stop = 1;
	pthread_join(t, NULL);
	printf("cross: sem_wait %s, the other thread ticked during it: %s\n", err(r),
	       ticks >= 2 ? "yes" : "no");

	/* timed */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 30000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	r = sem_timedwait(sem, &ts);
	printf("timed: sem_timedwait 30ms %s\n", err(r));

	/* eintr */
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 30000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	r = sem_wait(sem);
	printf("eintr: sem_wait %s\n", err(r));
	alarm(10);

	/* held */
	sem_post(sem);
	sem_post(sem);
	int a = sem_wait(sem), b = sem_wait(sem), c = sem_trywait(sem);
	printf("held: %d %d, trywait %s\n", a, b, err(c));
	pid = fork();
	if (pid == 0) {
		sem_post(sem);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	int v = -1;
	sem_getvalue(sem, &v);
	printf("held: after the child's post, value %d\n", v);
	r = sem_wait(sem);
	printf("held: sem_wait %s\n", err(r));
	return 0;
}
