/* A daemon-style program closes every fd above 2 with one call, after its
 * threads have run (varnishd's children call closefrom(3); glibc's
 * closefrom is close_range(3, ~0U, 0) made inside libc), then keeps
 * working: a thread, a socket pair, a sleep, a file read.
 * argv[1]: closefrom (default), close_range, syscall (syscall(SYS_close_range))
 * or cloexec (CLOSE_RANGE_CLOEXEC: marks, closes nothing). */
#include <fcntl.h>
#include <linux/close_range.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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

/* A thread echoes a word over a fresh socket pair. */
static void round_trip(const char *word, const char *when)
{
	pthread_t t;
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	pthread_create(&t, NULL, echo, NULL);
	usleep(20000);  /* the echo thread parks in its read */
	write(sv[0], word, strlen(word));
	char buf[16] = { 0 };
	read(sv[0], buf, sizeof(buf) - 1);
	pthread_join(t, NULL);
	printf("%s: %s\n", when, buf);
}

int main(int argc, char **argv)
{
	const char *how = argc > 1 ? argv[1] : "closefrom";
	setvbuf(stdout, NULL, _IONBF, 0);
	round_trip("one", "before");  /* the runtime has started */
	int keep[2] = { sv[0], sv[1] };
	long r = 0;
	if (!strcmp(how, "close_range"))
		r = close_range(3, ~0U, 0);
	else if (!strcmp(how, "syscall"))
		r = syscall(SYS_close_range, 3, ~0U, 0);
	else if (!strcmp(how, "cloexec"))
		r = close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
	else
		closefrom(3);
	printf("%s: %ld\n", how, r);
	for (int i = 0; i < 2; i++) {
		int fl = fcntl(keep[i], F_GETFD);
		printf("the pair's %s fd: %s\n", i ? "second" : "first", fl < 0 ? "closed" : fl & FD_CLOEXEC ? "open, close-on-exec" : "open");
	}
	if (!strcmp(how, "cloexec")) {
		close(keep[0]);
		close(keep[1]);
	}
	int fd = open(argv[0], O_RDONLY);
	char c = 0;
	printf("next open: fd %d, read %zd\n", fd, read(fd, &c, 1));
	close(fd);
	usleep(1000);
	round_trip("still here", "after");
	return 0;
}
