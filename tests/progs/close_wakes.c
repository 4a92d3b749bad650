/* close() of an fd another thread is blocked reading. Linux leaves the
 * reader blocked (the read holds its own reference to the file); evshim
 * wakes it with EBADF, as Go's netpoller does, so a server can stop a
 * connection's thread by closing its socket. docs/differences.md. This
 * program exits when the reader returns; under the kernel alone it would
 * hang, so the test runs it under the shim only (on one worker, where the
 * reader is surely parked in its read when main closes the fd). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];
static int reading;

static void *reader(void *x)
{
	char c;
	(void)x;
	__atomic_store_n(&reading, 1, __ATOMIC_RELEASE);
	ssize_t r = read(sv[0], &c, 1);
	printf("blocked read after close: %zd %s\n", r, r < 0 ? strerrorname_np(errno) : "");
	return NULL;
}

int main(void)
{
	pthread_t t;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_create(&t, NULL, reader, NULL);
	/* close only once the reader is at its read (on one worker, the
	 * reader has then parked: it ran to its park while main slept) */
	while (!__atomic_load_n(&reading, __ATOMIC_ACQUIRE))
		usleep(1000);
	usleep(50000);
	close(sv[0]);
	pthread_join(t, NULL);
	return 0;
}
