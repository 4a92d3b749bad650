/* Many threads sleeping at once (argv[1], default 10000). Prints how many
 * woke; the kernel thread count at the peak goes to stderr as
 * "kernel-threads N" for the test to check. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common.h"

static int woke;

static void *nap(void *x)
{
	(void)x;
	usleep(300000);
	__atomic_fetch_add(&woke, 1, __ATOMIC_RELAXED);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 10000;
	pthread_t *t = calloc(n, sizeof(*t));
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], &a, nap, NULL)) {
			printf("create %d failed\n", i);
			return 1;
		}
	fprintf(stderr, "kernel-threads %d\n", threads_of(0));
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("%d threads slept and woke: %d\n", n, woke);
	return 0;
}
