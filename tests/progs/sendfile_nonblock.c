/* sendfile from a file to the program's own non-blocking socket (Ruby's
 * IO.copy_stream, event loops): the call must come back with EAGAIN when
 * the socket is full, as natively, and the program polls. A reader thread
 * drains the other end. Printed: bytes sent, whether EAGAIN was seen, and
 * the reader's byte count and checksum. Argument: a directory for the
 * file. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>
#include "common.h"

#define SIZE (3 << 20)

static int sv[2];
static uint64_t sum = FNV_START;
static size_t got;

static void *reader(void *x)
{
	(void)x;
	unsigned char buf[4096];
	ssize_t n;
	while ((n = read(sv[1], buf, sizeof(buf))) > 0) {
		sum = fnv(buf, (size_t)n, sum);
		got += (size_t)n;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/sf.bin", argc > 1 ? argv[1] : "/tmp");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	unsigned char *data = malloc(SIZE);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 11));
	if (fd < 0 || write(fd, data, SIZE) != SIZE)
		return 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 1;
	fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	off_t off = 0;
	int eagain = 0;
	while (off < SIZE) {
		ssize_t r = sendfile(sv[0], fd, &off, SIZE - (size_t)off);
		if (r < 0 && errno == EAGAIN) {
			eagain = 1;
			struct pollfd p = { sv[0], POLLOUT, 0 };
			poll(&p, 1, 5000);
		} else if (r <= 0) {
			perror("sendfile");
			break;
		}
	}
	close(sv[0]);
	pthread_join(t, NULL);
	printf("sent %ld bytes, EAGAIN seen: %s\n", (long)off, eagain ? "yes" : "no");
	printf("reader got %zu bytes, sum %016llx (expected %016llx)\n", got,
	       (unsigned long long)sum, (unsigned long long)fnv(data, SIZE, FNV_START));
	unlink(path);
	return 0;
}
