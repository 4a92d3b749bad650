/* The latency a stalled worker adds: a thread asks for 5 ms sleeps 100
 * times while two threads spin on the CPU; prints the mean and the worst
 * interval between ticks in microseconds. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile int stop;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void *spin(void *x)
{
	(void)x;
	while (!stop)
		;
	return NULL;
}

int main(void)
{
	pthread_t a, b;
	pthread_create(&a, NULL, spin, NULL);
	pthread_create(&b, NULL, spin, NULL);
	usleep(1000);
	double worst = 0, sum = 0, t0 = now_us();
	for (int i = 0; i < 100; i++) {
		usleep(5000);
		double t1 = now_us(), d = t1 - t0;
		t0 = t1;
		sum += d;
		if (d > worst)
			worst = d;
	}
	stop = 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("tick_mean_us %.0f\ntick_worst_us %.0f\n", sum / 100, worst);
	return 0;
}
