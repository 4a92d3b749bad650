/* main calls pthread_exit: the process lives on until its last thread
 * ends, then exits with status 0 and runs atexit handlers once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void bye(void) { printf("atexit handler ran\n"); fflush(stdout); }
static void *last(void *x)
{
	usleep(100000 * (1 + (long)x));
	printf("thread %ld ends\n", (long)x);
	fflush(stdout);
	return NULL;
}

int main(void)
{
	pthread_t t;
	atexit(bye);
	for (long i = 0; i < 3; i++)
		pthread_create(&t, NULL, last, (void *)i);
	printf("main calls pthread_exit\n");
	fflush(stdout);
	pthread_exit(NULL);
}
