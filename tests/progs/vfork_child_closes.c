/* Between vfork() and exec, a child closes the fds it must not keep
 * (CPython's subprocess closes its copy of the error pipe's read end, and
 * of pipes other threads of the parent may be reading). The child's fd
 * table is its own: the parent's fd stays open. Here a thread of the
 * parent is blocked reading a pipe; a vfork child closes its copy of the
 * pipe's read end and execs /bin/true; the parent then writes a byte.
 * Natively the thread reads it. A runtime whose close() hook (which wakes
 * tasks waiting on the fd) runs in the vfork child, on memory the parent
 * shares, ends the parent's read with EBADF. An alarm bounds it at 10 s. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int p[2];

static void *reader(void *x)
{
	char c = 0;
	ssize_t n = read(p[0], &c, 1);
	printf("the parent's thread read: %zd %s\n", n, n < 0 ? strerrorname_np(errno) : "the byte");
	return x;
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(10);
	pipe(p);
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	usleep(100000);  /* the thread is blocked in read() by now */
	pid_t pid = vfork();
	if (pid == 0) {
		close(p[0]);  /* the child's copy only */
		execl("/bin/true", "true", (char *)NULL);
		_exit(127);
	}
	int st;
	waitpid(pid, &st, 0);
	printf("vfork child exited with %d\n", WEXITSTATUS(st));
	usleep(100000);
	(void)!write(p[1], "x", 1);
	pthread_join(t, NULL);
	return 0;
}
