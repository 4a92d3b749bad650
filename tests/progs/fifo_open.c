/* A blocking open of a FIFO waits in the kernel for its other end. Two
 * threads here: one opens a FIFO for reading, the other (main) opens it
 * for writing 30 ms later; then the reverse, a writer's open waiting for
 * a reader. Under the shim the first open, made by the runtime on the
 * worker, held it: on one worker main never ran again to open the other
 * end (a hang; the monitor's spare worker cannot run main, which stays
 * on its worker). The monitor now has such an open made elsewhere. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char path[256];

static void *reader(void *p)
{
	int fd = open(path, O_RDONLY);
	char b[16] = { 0 };
	long n = fd < 0 ? -1 : read(fd, b, sizeof(b) - 1);
	printf("reader: open %s, read %ld \"%s\"\n", fd < 0 ? "failed" : "ok", n, b);
	close(fd);
	return p;
}

static void *writer(void *p)
{
	int fd = open(path, O_WRONLY);
	long n = fd < 0 ? -1 : write(fd, "back", 4);
	printf("writer: open %s, wrote %ld\n", fd < 0 ? "failed" : "ok", n);
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	snprintf(path, sizeof(path), "%s/fifo_open.%d", argc > 1 ? argv[1] : "/tmp", (int)getpid());
	unlink(path);
	if (mkfifo(path, 0600) < 0) {
		perror("mkfifo");
		return 1;
	}
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	usleep(30000);
	int fd = open(path, O_WRONLY);
	write(fd, "hello", 5);
	close(fd);
	pthread_join(t, NULL);

	pthread_create(&t, NULL, writer, NULL);
	usleep(30000);
	fd = open(path, O_RDONLY);
	char b[16] = { 0 };
	long n = read(fd, b, sizeof(b) - 1);
	close(fd);
	pthread_join(t, NULL);
	printf("main: read %ld \"%s\"\n", n, b);
	unlink(path);
	return 0;
}
