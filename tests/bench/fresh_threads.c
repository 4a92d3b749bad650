/* Start N threads that are all alive at once, as a server's burst of new
 * connections does, each first using KIB KiB of its stack; then let them
 * all end. Prints the page faults and nanoseconds per thread of the
 * start-up (until every thread has used its stack), the figure a fresh
 * process pays for each connection before its stack cache has any.
 *   fresh_threads [N [KIB]]   (defaults: 1000, 1) */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static long kib;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static long started;
static int go;

static void *run(void *x)
{
	char *buf = __builtin_alloca((size_t)kib << 10);
	memset(buf, 1, (size_t)kib << 10);
	__asm__ volatile("" : : "r"(buf) : "memory");
	pthread_mutex_lock(&mu);
	started++;
	pthread_cond_broadcast(&cv);
	while (!go)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return x;
}

static long minflt(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;
	kib = argc > 2 ? atol(argv[2]) : 1;
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	struct timespec t0, t1;
	long f0 = minflt();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, run, NULL) != 0) {
			fprintf(stderr, "fresh_threads: pthread_create %ld failed\n", i);
			return 1;
		}
	pthread_mutex_lock(&mu);
	while (started < n)
		pthread_cond_wait(&cv, &mu);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long f1 = minflt();
	go = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("faults_per_thread %.2f\n", (double)(f1 - f0) / n);
	printf("start_ns %.0f\n", ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n);
	return 0;
}
