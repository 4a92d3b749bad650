/* A thread sends its process a signal, then posts the semaphore the main
 * thread waits on (CPython's test_threadsignals: os.kill, then a lock
 * release). The kernel runs the handler before the main thread's
 * sem_wait returns, whichever of the two woke it. Printed, over 300
 * rounds: how many times sem_wait returned before the handler had run
 * (0 natively), and that every signal was handled. */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#define ROUNDS 300

static sem_t go, done;
static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled++;
}

static void *sender(void *x)
{
	(void)x;
	for (int i = 0; i < ROUNDS; i++) {
		while (sem_wait(&go))
			;
		kill(getpid(), SIGUSR1);
		sem_post(&done);
	}
	return NULL;
}

int main(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sem_init(&go, 0, 0);
	sem_init(&done, 0, 0);
	pthread_t t;
	pthread_create(&t, NULL, sender, NULL);
	int early = 0;
	for (int i = 0; i < ROUNDS; i++) {
		int before = handled;
		sem_post(&go);
		while (sem_wait(&done))
			;  /* EINTR: the handler ran; wait on */
		if (handled == before)
			early++;
	}
	pthread_join(t, NULL);
	printf("sem_wait returned before the handler ran: %d of %d rounds\n", early, ROUNDS);
	printf("signals handled: %d\n", (int)handled);
	return 0;
}
