/* A thread stopped by a signal whose handler waits (sigsuspend until a
 * second signal), the way Mono's collector stops the world: the signal
 * may land while the thread is inside malloc, holding the arena's lock,
 * and natively that thread just sleeps there with the lock until it is
 * let go; the others that want the lock wait for it. Under the shim the
 * handler's wait parked the task and its worker ran its other tasks: one
 * of them called malloc, waited for the lock in the kernel inside libc
 * (no hook sees that wait), and held the worker, so the stopped task,
 * pinned to that worker, never ran again when its release came: the
 * process hung (Mono's Process.Start, about 1 run in 5).
 * One arena (M_ARENA_MAX 1) so that every thread's malloc takes the same
 * lock; 4 threads allocate and free blocks too big for the tcache; main
 * stops and releases each in turn, 300 times. Prints the rounds done; a
 * round that does not end within 5 s fails the program. */
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NT 4
#define ROUNDS 300

static pthread_t th[NT];
static volatile sig_atomic_t stopped[NT], released[NT];
static __thread int me = -1;
static volatile int quit;

static void on_stop(int sig)
{
	(void)sig;
	sigset_t wait;
	pthread_sigmask(SIG_SETMASK, NULL, &wait);
	sigdelset(&wait, SIGUSR2);
	stopped[me] = 1;
	while (!released[me])
		sigsuspend(&wait);
	stopped[me] = 0;
}

static void on_release(int sig)
{
	(void)sig;
}

static void *allocator(void *arg)
{
	me = (int)(long)arg;
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_UNBLOCK, &usr1, NULL);  /* me is set now */
	unsigned seed = (unsigned)me * 7919u + 1;
	void *keep[8] = { 0 };
	for (unsigned k = 1; !quit; k++) {
		if (k % 64 == 0)
			sched_yield();  /* a call the shim sees, now and then */
		int slot = (int)(rand_r(&seed) % 8);
		free(keep[slot]);
		size_t n = 2048 + rand_r(&seed) % 60000;
		keep[slot] = malloc(n);
		memset(keep[slot], me, 64);
	}
	for (int i = 0; i < 8; i++)
		free(keep[i]);
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait (sleeping 100 us at a time) until *flag is want; 0 on time out. */
static int wait_for(volatile sig_atomic_t *flag, int want)
{
	double end = now() + 5.0;
	struct timespec nap = { 0, 100000 };
	while (*flag != want) {
		if (now() > end)
			return 0;
		nanosleep(&nap, NULL);
	}
	return 1;
}

int main(void)
{
	mallopt(M_ARENA_MAX, 1);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigfillset(&sa.sa_mask);
	sigdelset(&sa.sa_mask, SIGUSR2);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_release;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR2, &sa, NULL);
	sigset_t usr1;
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, NULL);  /* each thread unblocks it */
	for (long i = 0; i < NT; i++)
		pthread_create(&th[i], NULL, allocator, (void *)i);
	int done = 0;
	for (int r = 0; r < ROUNDS; r++) {
		int i = r % NT;
		released[i] = 0;
		pthread_kill(th[i], SIGUSR1);
		if (!wait_for(&stopped[i], 1)) {
			printf("round %d: thread %d never stopped\n", r, i);
			return 1;
		}
		struct timespec nap = { 0, 500000 };  /* the others go on meanwhile */
		nanosleep(&nap, NULL);
		released[i] = 1;
		pthread_kill(th[i], SIGUSR2);
		if (!wait_for(&stopped[i], 0)) {
			printf("round %d: thread %d never went on after its release\n", r, i);
			fflush(stdout);
			_exit(1);
		}
		done++;
	}
	quit = 1;
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	printf("%d of %d stops and releases done\n", done, ROUNDS);
	return 0;
}
