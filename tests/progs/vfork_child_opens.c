/* CPython's subprocess (and so concurrent.futures' process pools and
 * multiprocessing's spawn) starts children with vfork(); between vfork
 * and exec the child, which shares the parent's memory, opens
 * /proc/self/fd to close the fds it must not keep (when close_range
 * cannot express the gaps). Here: before the program has any thread, a
 * vfork child opens /proc/self/fd, closes it and execs /bin/true; then the
 * parent makes a thread that writes to a pipe main reads. Natively the
 * read gets the byte. If the child's open starts a runtime, its event fds
 * are made in the child's fd table while their numbers are written into
 * memory the parent shares: the parent is left with no such fds. An
 * alarm bounds the program at 10 s. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static int p[2];
static void *writer(void *x)
{
	usleep(50000);
	(void)!write(p[1], "x", 1);
	return x;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(10);
	pid_t pid = vfork();
	if (pid == 0) {
		int d = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (d >= 0)
			close(d);
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("vfork child exited with %d\n", WEXITSTATUS(st));
	pipe(p);
	pthread_t t;
	pthread_create(&t, NULL, writer, NULL);
	char c = 0;
	ssize_t n = read(p[0], &c, 1);
	pthread_join(t, NULL);
	printf("parent's read from its thread: %zd '%c'\n", n, c);
	return 0;
}
