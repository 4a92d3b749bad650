/* accept() and accept4() on fds that are not sockets (dovecot's services
 * accept on every listener they inherit and take ENOTSOCK to mean a FIFO
 * listener): a FIFO, a pipe, a regular file, /dev/null. Natively each call
 * fails at once with ENOTSOCK; it must do so under the shim too, from a
 * thread, without the runtime counting a blocking call it did not serve.
 * Printed: each call's result and errno. Argument: a directory for the
 * FIFO and the file. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *dir;

static void try(const char *what, int fd)
{
	errno = 0;
	int a = accept(fd, NULL, NULL);
	int e1 = errno;
	errno = 0;
	int b = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
	int e2 = errno;
	printf("%s: accept %d %s, accept4 %d %s\n", what, a, strerror(e1), b, strerror(e2));
}

static void *run(void *x)
{
	(void)x;
	char path[512];
	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	if (mkfifo(path, 0600) < 0)
		return perror("mkfifo"), NULL;
	int fifo = open(path, O_RDWR | O_NONBLOCK);
	try("fifo (non-blocking)", fifo);
	int fifo2 = open(path, O_RDWR);
	try("fifo", fifo2);
	int p[2];
	if (pipe(p) < 0)
		return perror("pipe"), NULL;
	try("pipe", p[0]);
	snprintf(path, sizeof(path), "%s/file", dir);
	int f = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	try("file", f);
	int n = open("/dev/null", O_RDWR);
	try("/dev/null", n);
	close(fifo);
	close(fifo2);
	close(p[0]);
	close(p[1]);
	close(f);
	close(n);
	return NULL;
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "/tmp";
	pthread_t t;
	pthread_create(&t, NULL, run, NULL);
	pthread_join(t, NULL);
	return 0;
}
