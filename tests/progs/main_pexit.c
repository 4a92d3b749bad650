/* main calls pthread_exit: the process lives on until its last thread
 * ends, then exits with status 0 and runs atexit handlers once. The
 * threads outlive main by a sleep, and each waits for the one before it
 * (a join, not a longer sleep), so they end in the same order however
 * busy the machine is. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_t t[3];

static void bye(void) { printf("atexit handler ran\n"); fflush(stdout); }
static void *last(void *x)
{
	long i = (long)x;
	usleep(100000);
	if (i > 0)
		pthread_join(t[i - 1], NULL);
	printf("thread %ld ends\n", i);
	fflush(stdout);
	return NULL;
}

int main(void)
{
	atexit(bye);
	printf("main calls pthread_exit\n");
	fflush(stdout);
	for (long i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, last, (void *)i);
	pthread_exit(NULL);
}
