/* A blocking open of a FIFO waits in the kernel for its other end. Two
 * threads here: one opens a FIFO for reading, the other (main) opens it
 * for writing 30 ms later; then the reverse, a writer's open waiting for
 * a reader. Under the shim the first open, made by the runtime on the
 * worker, held it: on one worker main never ran again to open the other
 * end (a hang; the monitor's spare worker cannot run main, which stays
 * on its worker). The monitor now has such an open made elsewhere.
 * Then a signal to a thread waiting in such an open: EINTR without
 * SA_RESTART, the open going on with it (under the shim it waited for
 * ever either way: the signal waited for the open). */
#include <errno.h>
#include <signal.h>
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

static volatile int handled;

static void on_usr1(int s)
{
	(void)s;
	handled++;
}

/* A reader's open that a signal interrupts: without SA_RESTART it fails
 * with EINTR; with SA_RESTART it goes on and returns once main opens the
 * other end. */
static void *signalled_reader(void *p)
{
	int fd = open(path, O_RDONLY);
	printf("signalled reader (%s): open %s, handler ran %d\n", p ? "SA_RESTART" : "no SA_RESTART",
	       fd < 0 ? strerrorname_np(errno) : "ok", handled);
	if (fd >= 0)
		close(fd);
	return p;
}

static void signalled(int restart)
{
	struct sigaction sa = { .sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0 };
	sigaction(SIGUSR1, &sa, NULL);
	handled = 0;
	pthread_t t;
	pthread_create(&t, NULL, signalled_reader, restart ? path : NULL);
	usleep(100000);
	pthread_kill(t, SIGUSR1);
	usleep(100000);
	int fd = -1;
	if (restart)
		fd = open(path, O_WRONLY);
	pthread_join(t, NULL);
	if (fd >= 0)
		close(fd);
}

static void *cancelled_reader(void *p)
{
	open(path, O_RDONLY);  /* a cancellation point: never returns here */
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
	signalled(0);
	signalled(1);
	pthread_t t2;
	pthread_create(&t2, NULL, cancelled_reader, NULL);
	usleep(100000);
	pthread_cancel(t2);
	void *ret;
	pthread_join(t2, &ret);
	printf("a reader waiting in open, cancelled: %s\n", ret == PTHREAD_CANCELED ? "yes" : "no");
	unlink(path);
	return 0;
}
