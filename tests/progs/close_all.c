/* A daemon-style program closes every fd above 2 (as many do before
 * serving), then keeps working: threads, a socket pair, a sleep, a file
 * read. Prints the fd numbers open() gives, and what close() said for the
 * fd numbers it did not open. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int sv[2];
static void *echo(void *x)
{
	(void)x;
	char buf[16];
	ssize_t n = read(sv[1], buf, sizeof(buf));
	write(sv[1], buf, (size_t)n);
	return NULL;
}

int main(int argc, char **argv)
{
	(void)argc;
	/* The runtime's fds must not take the numbers the program would get. */
	int first = open("/dev/null", O_RDONLY);
	close(first);
	usleep(1000);  /* the runtime starts here */
	int second = open("/dev/null", O_RDONLY);
	close(second);
	printf("first open: fd %d; after the runtime started: fd %d\n", first, second);
	int fd = open(argv[0], O_RDONLY);
	char c;
	read(fd, &c, 1);
	close(fd);
	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	int closed = 0;
	for (int i = 3; i < (int)rl.rlim_cur; i++)
		closed += close(i) == 0;
	printf("fds above 2 that close() closed: %d\n", closed);
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_t t;
	pthread_create(&t, NULL, echo, NULL);
	usleep(20000);
	write(sv[0], "still here", 10);
	char buf[16] = { 0 };
	read(sv[0], buf, sizeof(buf) - 1);
	pthread_join(t, NULL);
	printf("after closing everything: %s\n", buf);
	return 0;
}
