/* Every live thread has a kernel thread id of its own: gettid() (Python's
 * threading.get_native_id) differs between threads that are alive at the
 * same time. 8 threads report their id, all still alive (a barrier holds
 * them), and the program counts the distinct ids. */
#include <pthread.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

#define N 8
static pthread_barrier_t bar;
static pid_t ids[N + 1];

static void *run(void *x)
{
	long i = (long)x;
	ids[i] = gettid();
	pthread_barrier_wait(&bar);  /* all alive together */
	pthread_barrier_wait(&bar);
	return NULL;
}

int main(void)
{
	pthread_t t[N];
	pthread_barrier_init(&bar, NULL, N + 1);
	ids[N] = gettid();
	for (long i = 0; i < N; i++)
		pthread_create(&t[i], NULL, run, (void *)i);
	pthread_barrier_wait(&bar);
	int distinct = 0;
	for (int i = 0; i <= N; i++) {
		int seen = 0;
		for (int j = 0; j < i; j++)
			seen |= ids[j] == ids[i];
		distinct += !seen;
	}
	printf("%d live threads (main included), %d distinct gettid() values\n", N + 1, distinct);
	printf("main's gettid() == getpid(): %s\n", ids[N] == getpid() ? "yes" : "no");
	pthread_barrier_wait(&bar);
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	return 0;
}
