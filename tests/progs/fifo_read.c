/* A named FIFO (mkfifo, then open: no RWF_NOWAIT on such pipes) read by
 * main while another thread ticks three times and only then opens it for
 * writing and writes. Main opens it O_RDWR (on Linux that never waits, and
 * keeps a writer, so the read waits for data instead of seeing EOF). On
 * one worker with no monitor, a read that blocked the worker would stop
 * the ticker, and with it the writer: the program would hang. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static char path[64];

static void *ticker(void *p)
{
	struct timespec ms = { 0, 10 * 1000000 };
	for (int i = 0; i < 3; i++) {
		printf("tick %d\n", i);
		fflush(stdout);
		nanosleep(&ms, NULL);
	}
	int fd = open(path, O_WRONLY);
	if (fd < 0 || write(fd, "done\n", 5) != 5)
		perror("writer");
	close(fd);
	return p;
}

int main(void)
{
	snprintf(path, sizeof(path), "/tmp/evshim-fifo.%d", (int)getpid());
	unlink(path);
	if (mkfifo(path, 0600))
		return 1;
	int fd = open(path, O_RDWR);
	pthread_t t;
	pthread_create(&t, NULL, ticker, NULL);
	char buf[16];
	long n = read(fd, buf, sizeof(buf));
	pthread_join(t, NULL);
	printf("got %.*s", n > 0 ? (int)n : 0, buf);
	unlink(path);
	return 0;
}
