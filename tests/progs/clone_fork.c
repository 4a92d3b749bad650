/* A fork made with the raw clone system call through syscall(), without
 * CLONE_VM (vsftpd forks its session processes as
 * syscall(__NR_clone, CLONE_NEWIPC | SIGCHLD, NULL)): glibc's fork
 * handlers do not run, yet the child is a new process with one thread.
 * While a thread of the parent waits on a pipe, the child sleeps, writes
 * and syncs a file, talks to the parent over two pipes and makes a thread;
 * both then go on. Also clone3 with the same meaning, and glibc's clone()
 * with a stack of its own and no CLONE_VM. Printed: what each side got,
 * the child's exit status. */
#include <fcntl.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int up[2], down[2];
static char got[64];
static const char *dir;

static void *reader(void *x)
{
	(void)x;
	ssize_t n = read(up[0], got, sizeof(got) - 1);  /* parks until the child writes */
	if (n > 0)
		write(down[1], "ack", 3);
	return NULL;
}

static void *child_thread(void *x)
{
	usleep(5000);
	return x;
}

static int child(int round)
{
	char path[512], buf[8] = { 0 };
	usleep(20000);
	snprintf(path, sizeof(path), "%s/clone_fork.%d", dir, round);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	for (int i = 0; i < 64; i++)
		write(fd, path, strlen(path));
	fsync(fd);
	close(fd);
	unlink(path);
	pthread_t t;
	pthread_create(&t, NULL, child_thread, NULL);
	pthread_join(t, NULL);
	write(up[1], "hello from the child", 20);
	if (read(down[0], buf, sizeof(buf) - 1) != 3)  /* parks: the parent answers */
		return 1;
	usleep(10000);
	printf("child %d: got \"%s\"\n", round, buf);
	fflush(stdout);
	return 7;
}

static int child_fn(void *arg)
{
	return child((int)(intptr_t)arg);
}

static void once(int round)
{
	pipe(up);
	pipe(down);
	memset(got, 0, sizeof(got));
	pthread_t t;
	pthread_create(&t, NULL, reader, NULL);
	usleep(10000);  /* the reader waits in the parent */
	fflush(stdout);
	long pid;
	if (round == 0) {
		pid = syscall(SYS_clone, SIGCHLD, NULL, NULL, NULL, 0);
	} else if (round == 1) {
		struct clone_args ca = { .exit_signal = SIGCHLD };
		pid = syscall(SYS_clone3, &ca, sizeof(ca));
	} else {
		static char stack[256 << 10] __attribute__((aligned(16)));
		pid = clone(child_fn, stack + sizeof(stack), SIGCHLD, (void *)(intptr_t)round);
	}
	if (pid == 0)
		_exit(child(round));
	pthread_join(t, NULL);
	int st = 0;
	waitpid((pid_t)pid, &st, 0);
	printf("parent %d: got \"%s\", child exited with %d\n", round, got,
	       WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	for (int i = 0; i < 2; i++) {
		close(up[i]);
		close(down[i]);
	}
}

int main(int argc, char **argv)
{
	dir = argc > 1 ? argv[1] : "/tmp";
	for (int r = 0; r < 3; r++)
		once(r);
	return 0;
}
