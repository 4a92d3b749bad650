/* Process exit from any thread: argv[1] picks the path.
 *   thread-exit   a thread calls exit(3) while main is blocked in join and
 *                 others sleep
 *   main-return   main returns 7 while threads sleep
 * atexit handlers must run exactly once. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void bye(void) { printf("atexit handler ran\n"); fflush(stdout); }

static void *forever(void *x) { (void)x; for (;;) sleep(100); return NULL; }
static void *exiter(void *x) { (void)x; usleep(50000); printf("thread calls exit(3)\n"); exit(3); }

int main(int argc, char **argv)
{
	pthread_t t;
	atexit(bye);
	const char *mode = argc > 1 ? argv[1] : "main-return";
	for (int i = 0; i < 5; i++)
		pthread_create(&t, NULL, forever, NULL);
	if (!strcmp(mode, "thread-exit")) {
		pthread_create(&t, NULL, exiter, NULL);
		pthread_join(t, NULL);
		printf("not reached\n");
	}
	usleep(10000);
	printf("main returns 7\n");
	return 7;
}
