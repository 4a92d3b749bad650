/* Sleep wake-up cost: T threads each sleep 1 ms, R times; reports the mean
 * time past the requested millisecond (oversleep) in microseconds, and the
 * CPU time the whole run used. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long rounds;
static double over_total;
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *sleeper(void *x)
{
	double over = 0;
	(void)x;
	for (long i = 0; i < rounds; i++) {
		double t0 = now_us();
		usleep(1000);
		over += now_us() - t0 - 1000;
	}
	pthread_mutex_lock(&m);
	over_total += over;
	pthread_mutex_unlock(&m);
	return NULL;
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 100;
	rounds = argc > 2 ? atol(argv[2]) : 100;
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, sleeper, NULL);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("oversleep_us %.1f\n", over_total / (threads * rounds));
	printf("cpu_ms %.0f\n", (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
				       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3);
	return 0;
}
